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
use nsm_sim::host::{filler_bytes, HostStream};
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
        let cfg = samples::random_config(&mut rng, &limits);
        let q = samples::random_qnet(&mut rng, &cfg, &limits, Weights::Random);
        let model = BitExact::new(&cfg, &q).unwrap();
        let mut states = model.seeds().to_vec();
        let classes = *q.widths().last().unwrap();
        let mut stream = HostStream::new();
        stream.ping();
        stream.load(&q, cfg.step_inputs());
        let mut results = Vec::new();
        for n in 0..2 {
            let x = samples::random_input(&mut rng, q.n_inputs());
            let logits = n == 0;
            let fillers = filler_bytes(&cfg, &q, logits, PARAMS.clocks_per_bit);
            stream.classify(&x, cfg.step_inputs(), classes, logits, fillers);
            results.push(model.infer(&x, &mut states).unwrap());
        }
        stream.ping();
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
