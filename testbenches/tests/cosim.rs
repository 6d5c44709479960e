//! Four-way agreement: bit-exact model, rust-hdl simulation, Icarus and Verilator on the
//! emitted Verilog, on random small configurations. Each run keeps its folder under
//! `target/tmp/cosim/` for replay. Needs iverilog and verilator (scripts/install-tools.sh):
//! a missing tool fails the test. Every configuration generated here is also linted with
//! `verilator --lint-only -Wall` and the generated waivers: zero findings.

use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_sim::{EngineSim, LoadPath};
use nsm_testbenches::{lint, prepare, run, write_engine, Simulator};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

#[test]
fn model_rust_hdl_icarus_and_verilator_agree_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5150);
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cosim");
    let cases = 10;
    for case in 0..cases {
        let cfg = samples::random_config(&mut rng, &Limits::TINY);
        // every fifth case: u' = 0 everywhere, the sign unit's tie
        let weights = if case % 5 == 4 {
            Weights::Zero
        } else {
            Weights::Random
        };
        let q = samples::random_qnet(&mut rng, &cfg, &Limits::TINY, weights);
        let inputs: Vec<Vec<i8>> = (0..2)
            .map(|_| samples::random_input(&mut rng, q.n_inputs()))
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
        if let Err(e) = lint(&dir) {
            panic!("case {case}: {e}");
        }
        // the emitted Verilog, in both simulators
        for simulator in [Simulator::Icarus, Simulator::Verilator] {
            if let Err(e) = run(&dir, simulator) {
                panic!("case {case}: {e}");
            }
        }
    }
}

#[test]
fn shipped_and_random_configurations_lint_clean() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lint");
    let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut cases: Vec<(String, EngineConfig)> = ["default", "up5k", "hx8k", "ecp5-25f"]
        .iter()
        .map(|name| {
            let path = configs.join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path).unwrap();
            let cfg = EngineConfig::from_json(&text, &path.display().to_string()).unwrap();
            (name.to_string(), cfg)
        })
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(77);
    for i in 0..6 {
        cases.push((
            format!("random{i}"),
            samples::random_config(&mut rng, &Limits::SMALL),
        ));
    }
    for (name, cfg) in cases {
        let dir = root.join(&name);
        write_engine(&dir, &cfg).unwrap();
        if let Err(e) = lint(&dir) {
            panic!("{name}: {e}");
        }
    }
}
