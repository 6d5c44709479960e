//! The board top (`nsm_board`: UART, host link, engine) under Icarus and Verilator, driven
//! through its serial pins by `verilog/board_tb.v` with the byte stream of the host library
//! and checked against the reply bytes the bit-exact model predicts.

use std::path::Path;

use nsm_hdl::board::BoardParams;
use nsm_model::engine::config::EngineConfig;
use nsm_verilog::VerilogOptions;

use super::{exec, write, Bench, Simulator};
use crate::{write_err, FlowError};

/// The board testbench source.
pub const BOARD_TESTBENCH: &str = include_str!("../../../testbenches/verilog/board_tb.v");

/// Writes a board run folder: `nsm_board.v` for `cfg` and `params` with the engine's PE sums
/// written as `opts` says (the ULX3S's form is `Cells::Ecp5`) and the cell models that
/// Verilog needs, the testbench, the bytes to send (`rx.hex`) and the reply bytes expected
/// (`expect.hex`). The run fails after `max_cycles` clocks.
pub fn prepare_board(
    dir: &Path,
    cfg: &EngineConfig,
    params: &BoardParams,
    send: &[u8],
    expect: &[u8],
    max_cycles: u64,
    opts: &VerilogOptions,
) -> Result<(), FlowError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}\n")).collect() };
    write(dir, "rx.hex", &hex(send))?;
    write(dir, "expect.hex", &hex(expect))?;
    write(
        dir,
        "board_tb.vh",
        &format!(
            "localparam CPB = {};\nlocalparam N_RX = {};\nlocalparam N_EXPECT = {};\nlocalparam MAX_CYCLES = {};\n",
            params.clocks_per_bit,
            send.len(),
            expect.len(),
            max_cycles
        ),
    )?;
    write(dir, "board_tb.v", BOARD_TESTBENCH)?;
    write(
        dir,
        "nsm_board.v",
        &nsm_verilog::board::board_core_verilog(cfg, params, opts)?,
    )?;
    for (name, text) in nsm_verilog::cells::simulation_models(opts.cells) {
        write(dir, name, text)?;
    }
    write(dir, "engine.json", &cfg.to_json())?;
    Ok(())
}

/// Simulates a board run folder; `Ok` (the log) only if the testbench printed
/// `NSM_BOARD_TB PASS`. `run.sh` in the folder replays it.
pub fn run_board(dir: &Path, simulator: Simulator) -> Result<String, FlowError> {
    let bench = Bench {
        tb: "board_tb.v",
        design: "nsm_board.v",
        top: "board_tb",
        stem: "board",
    };
    let cmds = super::sim_commands(simulator, &bench, "-O1")?;
    let log = exec(dir, simulator, &cmds)?;
    write(dir, &format!("board-{simulator}.log"), &log)?;
    if log.lines().any(|l| l.starts_with("NSM_BOARD_TB PASS")) {
        Ok(log)
    } else {
        Err(FlowError::SimFailed {
            simulator,
            dir: dir.to_path_buf(),
            log,
        })
    }
}
