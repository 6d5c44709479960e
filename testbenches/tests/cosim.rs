//! Four-way agreement: bit-exact model, rust-hdl simulation, Icarus and Verilator on the
//! emitted Verilog, on random small configurations. Each run keeps its folder under
//! `target/tmp/cosim/` for replay. Needs iverilog and verilator (scripts/install-tools.sh):
//! a missing tool fails the test.

use nsm_model::engine::config::{Accumulator, BlankOutConfig, EngineConfig, LfsrConfig};
use nsm_model::engine::qnet::{QLayer, QNet, QOutput};
use nsm_sim::{EngineSim, LoadPath};
use nsm_testbenches::{prepare, run, Simulator};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A random configuration and network; with `zero_hidden`, the stochastic layer's weights,
/// `a` and `b` are all zero, so `u' = 0` for every neuron (eq. 1: `u = 0` fires).
fn random_case(rng: &mut Xoshiro256PlusPlus, zero_hidden: bool) -> (EngineConfig, QNet) {
    let cfg = loop {
        let width = [8u32, 12, 16, 24, 32][rng.gen_range(0..5)];
        let k = rng.gen_range(1..=width.min(8));
        let weight_bits = rng.gen_range(2..=8);
        let cols = rng.gen_range(1..=4);
        let a_bits = rng.gen_range(6..=16);
        let cfg = EngineConfig {
            rows: rng.gen_range(1..=3),
            cols,
            weight_bits,
            a_bits,
            a_frac_bits: rng.gen_range(0..a_bits - 2),
            bias_bits: rng.gen_range(6..=16),
            max_fan_in: 16,
            max_neurons: 16,
            max_layers: 3,
            weight_memory_words: 128,
            neuron_memory_words: 32,
            accumulator: if rng.gen_bool(0.3) {
                let wmax = (1u128 << (weight_bits - 1)) - 1;
                Accumulator::Saturate {
                    bits: nsm_model::engine::config::signed_bits_for(cols as u128 * wmax)
                        .max(weight_bits)
                        + 1,
                }
            } else {
                Accumulator::Exact
            },
            lfsr: LfsrConfig { width, taps: None },
            blank_out: BlankOutConfig {
                threshold_bits: k,
                threshold: rng.gen_range(0..(1u32 << k)),
            },
            mc_samples: rng.gen_range(1..=4),
            ..EngineConfig::default_config()
        };
        if cfg.validate().is_ok() {
            break cfg;
        }
    };
    let wmax = (1i32 << (cfg.weight_bits - 1)) - 1;
    let widths = [rng.gen_range(2..=12), rng.gen_range(1..=6)];
    let classes = rng.gen_range(2..=4);
    let bmax = (1i32 << (cfg.bias_bits - 2)) - 1;
    let amax = (1i32 << (cfg.a_bits - 2)) - 1;
    let mut q = QNet::with_formats(
        &cfg,
        vec![QLayer {
            n_in: widths[0],
            n_out: widths[1],
            w: (0..widths[0] * widths[1])
                .map(|_| rng.gen_range(-wmax..=wmax))
                .collect(),
            a: (0..widths[1])
                .map(|_| rng.gen_range(-amax..=amax))
                .collect(),
            b: (0..widths[1])
                .map(|_| rng.gen_range(-bmax..=bmax))
                .collect(),
        }],
        QOutput {
            n_in: widths[1],
            n_out: classes,
            w: (0..widths[1] * classes)
                .map(|_| rng.gen_range(-wmax..=wmax))
                .collect(),
            b: (0..classes).map(|_| rng.gen_range(-bmax..=bmax)).collect(),
        },
    );
    if zero_hidden {
        let h = &mut q.hidden[0];
        h.w.iter_mut().for_each(|w| *w = 0);
        h.a.iter_mut().for_each(|a| *a = 0);
        h.b.iter_mut().for_each(|b| *b = 0);
    }
    (cfg, q)
}

#[test]
fn model_rust_hdl_icarus_and_verilator_agree_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5150);
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cosim");
    let cases = 10;
    for case in 0..cases {
        let (cfg, q) = random_case(&mut rng, case % 5 == 4);
        let inputs: Vec<Vec<i8>> = (0..2)
            .map(|_| {
                (0..q.n_inputs())
                    .map(|_| if rng.gen() { 1 } else { -1 })
                    .collect()
            })
            .collect();
        let dir = root.join(format!("case{case:02}"));
        let prepared = prepare(&dir, &cfg, &q, &inputs, case % 2 == 1).unwrap();
        // rust-hdl
        let mut sim = EngineSim::new(&cfg).unwrap();
        sim.load(&q, LoadPath::Port).unwrap();
        for (n, x) in inputs.iter().enumerate() {
            let (got, _) = sim.infer::<Xoshiro256PlusPlus>(x, None, 1_000_000).unwrap();
            assert_eq!(
                got,
                prepared.expected[n],
                "case {case} input {n}: rust-hdl vs model ({})",
                dir.display()
            );
        }
        // the emitted Verilog, in both simulators
        for simulator in [Simulator::Icarus, Simulator::Verilator] {
            if let Err(e) = run(&dir, simulator) {
                panic!("case {case}: {e}");
            }
        }
    }
}
