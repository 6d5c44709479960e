//! Randomized equivalence of the cycle-accurate rust-hdl engine and the bit-exact model.

use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::{QLayer, QNet, QOutput};
use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_model::engine::BitExact;
use nsm_model::lfsr::LfsrSpec;
use nsm_sim::{EngineSim, LoadPath, Stalls};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn random_config(rng: &mut Xoshiro256PlusPlus) -> EngineConfig {
    samples::random_config(rng, &Limits::SMALL)
}

fn random_qnet(rng: &mut Xoshiro256PlusPlus, cfg: &EngineConfig, weights: Weights) -> QNet {
    samples::random_qnet(rng, cfg, &Limits::SMALL, weights)
}

#[test]
fn rust_hdl_engine_equals_bit_exact_model_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4242);
    let mut stall_rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let cases = nsm_model::engine::samples::soak_cases(56);
    let mut checked = 0;
    let (mut deep, mut multi_lane, mut binary) = (0, 0, 0);
    for case in 0..cases {
        let cfg = random_config(&mut rng);
        deep += usize::from(cfg.hard_block_registers);
        multi_lane += usize::from(cfg.lanes > 1);
        binary += usize::from(cfg.weight_bits == 1);
        let weights = match case % 7 {
            4 => Weights::Zero,
            5 => Weights::AllMax,
            6 => Weights::AllMin,
            _ => Weights::Random,
        };
        let q = random_qnet(&mut rng, &cfg, weights);
        let model = BitExact::new(&cfg, &q).unwrap();
        let mut states = model.seeds().to_vec();
        let mut sim = EngineSim::new(&cfg).unwrap();
        let path = if case % 2 == 0 {
            LoadPath::Port
        } else {
            LoadPath::Backdoor
        };
        sim.load(&q, path).unwrap();
        let stalls = (case % 3 == 1).then_some(Stalls {
            input_gap: 0.3,
            output_stall: 0.5,
        });
        for n in 0..3 {
            if case % 4 == 3 && n == 1 {
                // a reset in the middle of a run: the LFSRs go back to their seeds
                let x = samples::random_input(&mut rng, q.n_inputs());
                let partial = rng.gen_range(1..200);
                sim.start_and_run(&x, partial).unwrap();
                sim.reset().unwrap();
                states = model.seeds().to_vec();
            }
            let x = samples::random_input(&mut rng, q.n_inputs());
            let expect = model.infer_reference(&x, &mut states).unwrap();
            let got = match stalls {
                Some(s) => sim.infer(&x, Some((s, &mut stall_rng)), 1_000_000),
                None => sim.infer::<Xoshiro256PlusPlus>(&x, None, 1_000_000),
            }
            .unwrap_or_else(|e| panic!("case {case} input {n}: {e}\n{cfg:?}"));
            assert_eq!(
                got.0, expect,
                "case {case} input {n} ({:?}, {path:?}, stalls {stalls:?})\n{cfg:?}",
                weights
            );
            checked += 1;
        }
    }
    assert_eq!(checked, cases * 3);
    // both pipelines are exercised: with and without the hard blocks' registers
    assert!(
        (10..=cases - 10).contains(&deep),
        "{deep} of {cases} with hard_block_registers"
    );
    // and the PEs of several lanes and of 1-bit weights
    assert!(
        multi_lane >= 10 && binary >= 5,
        "{multi_lane} multi-lane and {binary} 1-bit cases of {cases}"
    );
}

#[test]
fn lfsr_spec_is_the_one_the_engine_uses() {
    // the engine's PEs take their taps from the configuration's LFSR spec
    let cfg = EngineConfig::default_config();
    assert_eq!(cfg.lfsr_spec().unwrap(), LfsrSpec::standard(16).unwrap());
}

#[test]
fn cycle_model_predicts_simulated_cycles_exactly() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    let mut deep = 0;
    for _ in 0..8 {
        let cfg = random_config(&mut rng);
        deep += usize::from(cfg.hard_block_registers);
        let q = random_qnet(&mut rng, &cfg, Weights::Random);
        let mut sim = EngineSim::new(&cfg).unwrap();
        sim.load(&q, LoadPath::Backdoor).unwrap();
        let x = samples::random_input(&mut rng, q.n_inputs());
        let (_, cycles) = sim
            .infer::<Xoshiro256PlusPlus>(&x, None, 1_000_000)
            .unwrap();
        let model = nsm_sim::CycleModel::new(&cfg, &q);
        assert_eq!(
            cycles,
            model.total(),
            "{model:?} for {:?} on {}x{}",
            q.widths(),
            cfg.rows,
            cfg.cols
        );
    }
    assert!(
        (1..8).contains(&deep),
        "{deep} of 8 with hard_block_registers"
    );
}

/// A quantized network of the given shape (all weights zero: only the shape matters here).
fn shaped_qnet(cfg: &EngineConfig, widths: &[usize]) -> QNet {
    let mut q = random_qnet(
        &mut Xoshiro256PlusPlus::seed_from_u64(0),
        cfg,
        Weights::Zero,
    );
    q.hidden = widths[..widths.len() - 1]
        .windows(2)
        .map(|p| QLayer {
            n_in: p[0],
            n_out: p[1],
            w: vec![0; p[0] * p[1]],
            a: vec![0; p[1]],
            b: vec![0; p[1]],
        })
        .collect();
    let n = widths.len();
    q.output = QOutput {
        n_in: widths[n - 2],
        n_out: widths[n - 1],
        w: vec![0; widths[n - 2] * widths[n - 1]],
        b: vec![0; widths[n - 1]],
    };
    q
}

#[test]
fn paper_network_uses_the_default_array_at_least_85_percent() {
    // The cycle model is exact (cycle_model_predicts_simulated_cycles_exactly above, and
    // `nsm sim` on a 784-64-10 network); here it is applied to the paper's network.
    let cfg = EngineConfig::default_config();
    let q = shaped_qnet(&cfg, &[784, 300, 300, 300, 10]);
    let m = nsm_sim::CycleModel::new(&cfg, &q);
    eprintln!(
        "784-300-300-300-10 on 8x8, K = 100: {} cycles per input, ideal {:.0}, utilization {:.1}%",
        m.total(),
        m.ideal_cycles,
        100.0 * m.utilization()
    );
    assert!(m.utilization() >= 0.85, "utilization {}", m.utilization());
}
