//! The board top (`nsm_board`: UART, host link, engine) under Icarus and Verilator, driven
//! through its serial pins by `verilog/board_tb.v` with the byte stream of the host library
//! and checked against the reply bytes the bit-exact model predicts.

use std::path::Path;

use nsm_codegen::cells::Cells;
use nsm_hdl::board::BoardParams;
use nsm_model::engine::config::EngineConfig;

use crate::{exec, write, CosimError, Simulator};

/// The board testbench source.
pub const BOARD_TESTBENCH: &str = include_str!("../verilog/board_tb.v");

/// Writes a board run folder: `nsm_board.v` for `cfg` and `params` with the engine's PE sums
/// written as `cells` says (the ULX3S's form is [`Cells::Ecp5`]) and the cell models that
/// Verilog needs, the testbench, the bytes to send (`rx.hex`) and the reply bytes expected
/// (`expect.hex`). The run fails after `max_cycles` clocks.
pub fn prepare_board(
    dir: &Path,
    cfg: &EngineConfig,
    params: &BoardParams,
    send: &[u8],
    expect: &[u8],
    max_cycles: u64,
    cells: Cells,
) -> Result<(), CosimError> {
    std::fs::create_dir_all(dir).map_err(|source| CosimError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
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
        &nsm_codegen::board::board_core_verilog_with_cells(cfg, params, cells)?,
    )?;
    for (name, text) in nsm_codegen::cells::simulation_models(cells) {
        write(dir, name, text)?;
    }
    write(dir, "engine.json", &cfg.to_json())?;
    Ok(())
}

/// Simulates a board run folder; `Ok` (the log) only if the testbench printed
/// `NSM_BOARD_TB PASS`. `run.sh` in the folder replays it.
pub fn run_board(dir: &Path, simulator: Simulator) -> Result<String, CosimError> {
    let bench = crate::Bench {
        tb: "board_tb.v",
        design: "nsm_board.v",
        top: "board_tb",
        stem: "board",
    };
    let cmds = crate::sim_commands(simulator, &bench, "-O1")?;
    let log = exec(dir, simulator, &cmds)?;
    write(dir, &format!("board-{simulator}.log"), &log)?;
    if log.lines().any(|l| l.starts_with("NSM_BOARD_TB PASS")) {
        Ok(log)
    } else {
        Err(CosimError::Failed {
            simulator,
            dir: dir.to_path_buf(),
            log,
        })
    }
}
