//! Four-way agreement: bit-exact model, rust-hdl simulation, Icarus and Verilator on the
//! emitted Verilog, on random small configurations. Each run keeps its folder under
//! `target/tmp/cosim/` for replay. Needs iverilog and verilator (scripts/install-tools.sh):
//! a missing tool fails the test. Every configuration generated here is also linted with
//! `verilator --lint-only -Wall` and the generated waivers: zero findings. Both forms of the
//! PE sums are covered (`nsm_verilog::cells`): portable, and on the ECP5's carry cells with
//! the `CCU2C.v` simulation model beside the Verilog.

use nsm_flow::lint::lint_engine as lint;
use nsm_flow::sim::{prepare, run, write_engine, RunOptions, Simulator};
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_sim::{EngineSim, LoadPath};
use nsm_verilog::cells::Cells;
use nsm_verilog::VerilogOptions;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

#[test]
fn model_rust_hdl_icarus_and_verilator_agree_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5150);
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cosim");
    let cases = nsm_model::engine::samples::soak_cases(10);
    let (mut deep, mut multi_lane, mut binary, mut binary_lanes) = (0, 0, 0, 0);
    let mut single_port = 0;
    for case in 0..cases {
        // cases 0, 1, 4, 5, 8, 9: the PEs' sums on the ECP5's carry cells (with and without
        // stalls); the others portable
        let cells = if (case / 2) % 2 == 0 {
            Cells::Ecp5
        } else {
            Cells::Portable
        };
        let mut cfg = samples::random_config(&mut rng, &Limits::TINY);
        // case 3: a PE of several 1-bit lanes, whose padding slots the PEs mask
        while case == 3 && !(cfg.weight_bits == 1 && cfg.lanes > 1) {
            cfg = samples::random_config(&mut rng, &Limits::TINY);
        }
        deep += usize::from(cfg.hard_block_registers);
        multi_lane += usize::from(cfg.lanes > 1);
        binary += usize::from(cfg.weight_bits == 1);
        binary_lanes += usize::from(cfg.weight_bits == 1 && cfg.lanes > 1);
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
        // the single-port weight RAMs of the UP5K (its SPRAMs) where the configuration allows
        // them: every case without the hard blocks' registers but case 0
        let weight_ram = if !cfg.hard_block_registers && case > 0 {
            single_port += 1;
            nsm_hdl::WeightRam::SinglePort
        } else {
            nsm_hdl::WeightRam::DualPort
        };
        let opts = RunOptions {
            stalls: case % 2 == 1,
            verilog: VerilogOptions { cells, weight_ram },
        };
        let prepared = prepare(&dir, &cfg, &q, &inputs, &opts).unwrap();
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
    // both pipelines: with and without the hard blocks' registers
    assert!(
        (2..=cases - 2).contains(&deep),
        "{deep} of {cases} with hard_block_registers"
    );
    // and the PEs of several lanes and of 1-bit weights
    assert!(
        multi_lane >= 2 && binary >= 2 && binary_lanes >= 1 && single_port >= 2,
        "{multi_lane} multi-lane, {binary} 1-bit ({binary_lanes} of them multi-lane), {single_port} single-port of {cases}"
    );
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
    // the PEs of several lanes: 1-bit weights (with and without the hard blocks' registers)
    // and multi-bit ones
    for (name, lanes, weight_bits, hbr) in [
        ("binary-lanes", 8, 1, false),
        ("binary-lanes-hbr", 8, 1, true),
        ("binary", 1, 1, true),
        ("lanes", 3, 5, true),
    ] {
        let cfg = EngineConfig {
            rows: 3,
            cols: 4,
            lanes,
            weight_bits,
            hard_block_registers: hbr,
            max_fan_in: 64,
            max_neurons: 64,
            weight_memory_words: 256,
            neuron_memory_words: 128,
            ..EngineConfig::default_config()
        };
        cases.push((name.to_string(), cfg));
    }
    // each in both forms: portable, and the PEs' sums on ECP5 carry cells (with the CCU2C
    // model, which is linted too)
    for (name, cfg) in cases {
        let dir = root.join(&name);
        write_engine(&dir, &cfg, &VerilogOptions::default()).unwrap();
        if let Err(e) = lint(&dir) {
            panic!("{name}: {e}");
        }
        let dir = root.join(format!("{name}-ecp5"));
        let ecp5 = VerilogOptions {
            cells: Cells::Ecp5,
            ..Default::default()
        };
        write_engine(&dir, &cfg, &ecp5).unwrap();
        if let Err(e) = lint(&dir) {
            panic!("{name} (ECP5 cells): {e}");
        }
    }
}

/// On demand (`cargo test -p nsm-testbenches --test cosim -- --ignored`): a real MNIST network
/// through all four levels. A 784-16-10 NSM is trained on 1,000 of the committed training
/// digits, quantized for an 8x8 engine (K = 8 passes, to keep Icarus to minutes), and three
/// test digits go through the bit-exact model, rust-hdl, Icarus and Verilator. The run folder
/// is `target/tmp/cosim/mnist`.
#[test]
#[ignore = "minutes: a real MNIST network in Icarus"]
fn mnist_network_four_way_on_demand() {
    use nsm_model::data::{MnistPaths, Split};
    use nsm_model::engine::qnet::quantize;
    use nsm_model::equations::Noise;
    use nsm_model::forward::BinarizedSet;
    use nsm_model::net::ModelKind;
    use nsm_model::train::{init_network, TrainOptions, Trainer};

    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let train = BinarizedSet::from_dataset(&paths.load(Split::Train).unwrap().take(1000));
    let test = BinarizedSet::from_dataset(&paths.load(Split::Test).unwrap().take(3));
    let opts = TrainOptions {
        model: ModelKind::Nsm,
        noise: Noise::BlankOut { transmit_p: 0.5 },
        hidden: vec![16],
        epochs: 1,
        seed: 3,
        ..TrainOptions::default()
    };
    let mut t = Trainer::new(init_network(&opts, &train).unwrap(), opts).unwrap();
    t.train_epoch(&train, 0, &mut |_, _| {}).unwrap();
    let cfg = EngineConfig {
        max_fan_in: 784,
        max_neurons: 16,
        max_layers: 2,
        weight_memory_words: 2048,
        neuron_memory_words: 64,
        mc_samples: 8,
        ..EngineConfig::default_config()
    };
    let q = quantize(&t.net, &cfg).unwrap();
    let inputs: Vec<Vec<i8>> = (0..test.len())
        .map(|i| {
            test.row(i)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cosim/mnist");
    let prepared = prepare(&dir, &cfg, &q, &inputs, &RunOptions::default()).unwrap();
    let mut sim = EngineSim::new(&cfg).unwrap();
    sim.load(&q, LoadPath::Backdoor).unwrap();
    for (n, x) in inputs.iter().enumerate() {
        let (got, _) = sim
            .infer::<Xoshiro256PlusPlus>(x, None, 10_000_000)
            .unwrap();
        assert_eq!(got, prepared.expected[n], "image {n}: rust-hdl vs model");
    }
    lint(&dir).unwrap();
    for simulator in [Simulator::Verilator, Simulator::Icarus] {
        if let Err(e) = run(&dir, simulator) {
            panic!("{e}");
        }
    }
}
