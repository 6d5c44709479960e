//! Board top-levels and their bitstreams with the open tools.
//!
//! [`board_verilog`] emits the board top ([`nsm_hdl::board::NsmBoard`]: UART, host link,
//! engine, power-on reset, LEDs) as module `nsm_board` plus a small wrapper module named after
//! the board (`nsm_icebreaker`, `nsm_ulx3s`) whose ports are the pin names of the board's
//! constraint file in `constraints/` (LED polarities and fixed pins are set there).
//! `nsm_flow::bitstream` runs Yosys, nextpnr and the bitstream packer on it.

use std::path::{Path, PathBuf};

use nsm_hdl::board::{BoardParams, BoardSpec, NsmBoard};
use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;
use serde::Serialize;

use crate::cells::Cells;
use crate::{VerilogError, VerilogOptions};

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

    /// How the weight memory is written for this board's FPGA and `cfg`: the iCEBreaker's
    /// UP5K keeps a deep one in its SPRAMs ([`nsm_hdl::WeightRam::on_spram_device`]).
    pub fn weight_ram(&self, cfg: &EngineConfig) -> nsm_hdl::WeightRam {
        match self {
            Board::Icebreaker => nsm_hdl::WeightRam::on_spram_device(cfg),
            _ => nsm_hdl::WeightRam::DualPort,
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

/// The Verilog of `NsmBoard` for `cfg` and `params`, top module named [`BOARD_MODULE`], with
/// the engine's PE sums written as `opts` says (with [`Cells::Ecp5`] the text ends with the
/// sum module, and simulators need [`crate::cells::simulation_models`]).
pub fn board_core_verilog(
    cfg: &EngineConfig,
    params: &BoardParams,
    opts: &VerilogOptions,
) -> Result<String, VerilogError> {
    nsm_hdl::check_supported(cfg)?;
    let cells = opts.cells;
    let mut board = NsmBoard::new(cfg, params, opts.engine())?;
    board.connect_all();
    Ok(
        crate::rename_module(&generate_verilog(&board), BOARD_MODULE)
            + crate::cells::design_modules(cells),
    )
}

/// The complete board Verilog: the board's pin wrapper (its top module) and `nsm_board`.
pub fn board_verilog(board: Board, cfg: &EngineConfig) -> Result<String, VerilogError> {
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
    let opts = VerilogOptions {
        cells: board.cells(),
        weight_ram: board.weight_ram(cfg),
    };
    Ok(header + board.wrapper() + &board_core_verilog(cfg, &params, &opts)?)
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
) -> Result<(PathBuf, PathBuf), VerilogError> {
    let verilog = board_verilog(board, cfg)?;
    let vlt = board_vlt(board, &verilog);
    let v_path = dir.join(format!("{}.v", board.top()));
    let vlt_path = dir.join(format!("{}.vlt", board.top()));
    let models = crate::cells::simulation_models(board.cells());
    let mut files = vec![
        (v_path.clone(), verilog.as_str()),
        (vlt_path.clone(), vlt.as_str()),
    ];
    files.extend(models.iter().map(|&(name, text)| (dir.join(name), text)));
    let mut set = nsm_model::fsutil::OutputSet::new();
    set.folder("output folder", dir)?;
    for (path, _) in &files {
        set.file("output folder", path)?;
    }
    for (path, text) in &files {
        set.write(path, text.as_bytes())?;
    }
    set.commit()?;
    Ok((v_path, vlt_path))
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
