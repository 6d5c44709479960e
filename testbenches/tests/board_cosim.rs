//! The emitted board top (UART, host link, engine) in Icarus and Verilator, driven through
//! its serial pins with the host library's byte stream, against the bit-exact model's reply
//! bytes: the same check as the rust-hdl board simulation (nsm-sim tests/it/board.rs), on the
//! Verilog. Needs iverilog and verilator (scripts/install-tools.sh): a missing tool fails the
//! test. Each run keeps its folder under `target/tmp/board-cosim/` (replay: run.sh).

use nsm_flow::sim::board::{prepare_board, run_board};
use nsm_flow::sim::Simulator;
use nsm_hdl::board::BoardParams;
use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_model::engine::BitExact;
use nsm_sim::host::HostStream;
use nsm_verilog::cells::Cells;
use nsm_verilog::VerilogOptions;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

const PARAMS: BoardParams = BoardParams {
    clocks_per_bit: 4,
    timeout_cycles: 400,
    heartbeat_bit: 3,
};

#[test]
fn board_verilog_over_uart_matches_the_bit_exact_model_in_icarus_and_verilator() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(31337);
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-cosim");
    let limits = Limits {
        max_rows: 2,
        max_cols: 2,
        ..Limits::TINY
    };
    for case in 0..2 {
        let mut cfg = samples::random_config(&mut rng, &limits);
        // case 0: PEs of several 1-bit lanes
        while case == 0 && !(cfg.weight_bits == 1 && cfg.lanes > 1) {
            cfg = samples::random_config(&mut rng, &limits);
        }
        let q = samples::random_qnet(&mut rng, &cfg, &limits, Weights::Random);
        let model = BitExact::new(&cfg, &q).unwrap();
        let mut states = model.seeds().to_vec();
        let inputs: Vec<Vec<i8>> = (0..2)
            .map(|_| samples::random_input(&mut rng, q.n_inputs()))
            .collect();
        let results: Vec<_> = inputs
            .iter()
            .map(|x| model.infer(x, &mut states).unwrap())
            .collect();
        // the first input's reply carries the logits
        let session: Vec<(&[i8], bool)> = inputs
            .iter()
            .enumerate()
            .map(|(n, x)| (x.as_slice(), n == 0))
            .collect();
        let stream = HostStream::session(&cfg, &q, &session, Some(PARAMS.clocks_per_bit));
        let expect = stream.expected_replies(&results);
        let max_cycles = 40 * PARAMS.clocks_per_bit as u64 * stream.bytes.len() as u64 + 10_000;
        let dir = root.join(format!("case{case}"));
        // case 1 in the ULX3S's form: the PE sums on the ECP5's carry cells
        let cells = if case == 1 {
            Cells::Ecp5
        } else {
            Cells::Portable
        };
        prepare_board(
            &dir,
            &cfg,
            &PARAMS,
            &stream.bytes,
            &expect,
            max_cycles,
            &VerilogOptions {
                cells,
                ..Default::default()
            },
        )
        .unwrap();
        for simulator in [Simulator::Icarus, Simulator::Verilator] {
            if let Err(e) = run_board(&dir, simulator) {
                panic!("case {case} ({}x{}): {e}", cfg.rows, cfg.cols);
            }
        }
    }
}

/// An MNIST network at the board's serial pins in `cargo test`: a 784-16-10 NSM trained for
/// 1-bit weights (one short epoch on 500 digits), on a 2x2 board engine of 4 one-bit lanes per
/// PE, loaded over the UART and classifying two test digits in Verilator against the
/// bit-exact model's reply bytes (Icarus would take minutes for the 5 million clocks).
#[test]
fn a_small_mnist_network_classifies_over_the_board_uart_in_verilator() {
    let cfg = nsm_model::engine::config::EngineConfig {
        rows: 2,
        cols: 2,
        lanes: 4,
        weight_bits: 1,
        max_fan_in: 784,
        max_neurons: 16,
        max_layers: 2,
        weight_memory_words: 2048,
        neuron_memory_words: 32,
        mc_samples: 4,
        ..nsm_model::engine::config::EngineConfig::default_config()
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-cosim/mnist-small");
    mnist_over_the_uart(&cfg, &[16], 500, &dir);
}

/// Trains a network of `hidden` layers for `cfg`'s weight width on `train` digits (one
/// epoch), streams it and two test digits to the board top of `cfg` over its UART, and checks
/// every reply byte in Verilator against the bit-exact model.
fn mnist_over_the_uart(
    cfg: &nsm_model::engine::config::EngineConfig,
    hidden: &[usize],
    train: usize,
    dir: &std::path::Path,
) {
    use nsm_model::data::{MnistPaths, Split};
    use nsm_model::engine::qnet::quantize;
    use nsm_model::forward::BinarizedSet;
    use nsm_model::train::{init_network, TrainOptions, Trainer};

    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let train = BinarizedSet::from_dataset(&paths.load(Split::Train).unwrap().take(train));
    let test = BinarizedSet::from_dataset(&paths.load(Split::Test).unwrap().take(2));
    let opts = TrainOptions {
        hidden: hidden.to_vec(),
        epochs: 1,
        weight_bits: Some(cfg.weight_bits),
        ..TrainOptions::default()
    };
    let mut t = Trainer::new(init_network(&opts, &train).unwrap(), opts).unwrap();
    t.train_epoch(&train, 0, &mut |_, _| {}).unwrap();
    let q = quantize(&t.network(), cfg).unwrap();
    let model = BitExact::new(cfg, &q).unwrap();
    let mut states = model.seeds().to_vec();
    let inputs: Vec<Vec<i8>> = (0..test.len())
        .map(|i| {
            test.row(i)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        })
        .collect();
    let results: Vec<_> = inputs
        .iter()
        .map(|x| model.infer(x, &mut states).unwrap())
        .collect();
    let session: Vec<(&[i8], bool)> = inputs.iter().map(|x| (x.as_slice(), true)).collect();
    let stream = HostStream::session(cfg, &q, &session, Some(PARAMS.clocks_per_bit));
    let expect = stream.expected_replies(&results);
    let max_cycles = 40 * PARAMS.clocks_per_bit as u64 * stream.bytes.len() as u64 + 1_000_000;
    prepare_board(
        dir,
        cfg,
        &PARAMS,
        &stream.bytes,
        &expect,
        max_cycles,
        &VerilogOptions::default(),
    )
    .unwrap();
    if let Err(e) = run_board(dir, Simulator::Verilator) {
        panic!("{e}");
    }
}

/// On demand (`cargo test --release -p nsm-testbenches --test board_cosim -- --ignored`,
/// about twenty minutes): the paper's 784-300-300-300-10 network, trained for 1-bit weights
/// (one short epoch: bit-exactness is the point, not accuracy), loaded into the ULX3S board
/// top of `configs/ulx3s-mnist.json` through its serial pins (435,200 weight writes) and
/// classifying two MNIST test images, in Verilator, against the bit-exact model's reply
/// bytes. The run folder is `target/tmp/board-cosim/paper`.
#[test]
#[ignore = "about twenty minutes: the paper's network over the board's UART in Verilator"]
fn paper_network_classifies_mnist_over_the_board_uart_on_demand() {
    let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let cfg =
        nsm_model::engine::config::EngineConfig::load(&configs.join("ulx3s-mnist.json")).unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-cosim/paper");
    mnist_over_the_uart(&cfg, &[300, 300, 300], 2000, &dir);
}
