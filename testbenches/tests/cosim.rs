//! Four-way agreement: bit-exact model, rust-hdl simulation, Icarus and Verilator on the
//! emitted Verilog, on random small configurations. Each run keeps its folder under
//! `target/tmp/cosim/` for replay. Needs iverilog and verilator (scripts/install-tools.sh):
//! a missing tool fails the test.

use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_sim::{EngineSim, LoadPath};
use nsm_testbenches::{prepare, run, Simulator};
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
        // the emitted Verilog, in both simulators
        for simulator in [Simulator::Icarus, Simulator::Verilator] {
            if let Err(e) = run(&dir, simulator) {
                panic!("case {case}: {e}");
            }
        }
    }
}
