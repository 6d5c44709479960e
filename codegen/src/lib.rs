//! # nsm-verilog: Verilog, memory images and manifest of an NSM engine
//!
//! [`generate`] turns an engine configuration (and optionally a quantized network) into the
//! files a hardware flow needs; `gen-verilog` writes them. Output is deterministic: the same
//! inputs give the same bytes. Besides the engine this crate writes the FuseSoC core, the
//! cell models ([`cells`]), the lint waivers ([`lint`]), the learning update unit and the
//! board tops ([`board`]). It runs no tool: the flows that do (Yosys, nextpnr, Verilator,
//! Icarus) are `nsm-flow`.

use std::path::{Path, PathBuf};

use nsm_hdl::engine::{EngineLayout, NsmEngine};
use nsm_hdl::Cells;
use nsm_model::engine::config::{EngineConfig, EngineError};
use nsm_model::engine::memory::memory_images;
use nsm_model::engine::qnet::{QNet, QuantError};
use nsm_model::fsutil::OutputSet;
use rust_hdl::prelude::*;
use serde::Serialize;

pub mod board;
pub mod cells;
pub mod lint;

/// Name of the generated top module.
pub const TOP: &str = "nsm_engine";
/// File of the generated Verilog.
pub const VERILOG_FILE: &str = "nsm_engine.v";
/// File of its lint waivers (a Verilator configuration file, see [`lint`]).
pub const VLT_FILE: &str = "nsm_engine.vlt";

/// How the engine's Verilog is written. `VerilogOptions::default()` is the portable form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerilogOptions {
    /// How the PEs' sums are built: portable Verilog, or the ECP5's carry cells (then the
    /// text ends with the sum module and simulators need [`cells::simulation_models`]).
    pub cells: Cells,
    /// How the weight memory's RAMs are written (single-port: the UP5K's SPRAMs).
    pub weight_ram: nsm_hdl::WeightRam,
}

impl VerilogOptions {
    /// The engine options these stand for.
    pub fn engine(&self) -> nsm_hdl::EngineOptions {
        nsm_hdl::EngineOptions {
            cells: self.cells,
            weight_ram: self.weight_ram,
        }
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum VerilogError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Hdl(#[from] nsm_hdl::HdlError),
    #[error(transparent)]
    Quant(#[from] QuantError),
    #[error(transparent)]
    Board(#[from] nsm_hdl::board::BoardError),
    /// An output refused before anything is written, or a file that could not be written.
    #[error(transparent)]
    Output(#[from] nsm_model::ModelError),
    #[error("{path} could not be written: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// One port of the top module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub name: &'static str,
    pub direction: &'static str,
    pub bits: usize,
    pub signed: bool,
    pub description: &'static str,
}

/// The ports of [`TOP`] (`docs/hardware.md` describes the protocol).
pub fn ports() -> Vec<Port> {
    let p = |name, direction, bits, signed, description| Port {
        name,
        direction,
        bits,
        signed,
        description,
    };
    vec![
        p(
            "clock",
            "input",
            1,
            false,
            "clock; everything is synchronous to its rising edge",
        ),
        p(
            "reset",
            "input",
            1,
            false,
            "synchronous reset, active high: idle, LFSRs to seeds",
        ),
        p("cfg_write", "input", 1, false, "configuration write strobe"),
        p(
            "cfg_address",
            "input",
            32,
            false,
            "[31:28] region (0 weights, 1 neurons, 2 layer table, 3 control), [27:0] index",
        ),
        p("cfg_data", "input", 32, false, "configuration write data"),
        p(
            "in_valid",
            "input",
            1,
            false,
            "input stream: a word of cols binarized inputs is offered",
        ),
        p(
            "in_ready",
            "output",
            1,
            false,
            "input stream: the engine takes the word (idle)",
        ),
        p(
            "in_data",
            "input",
            32,
            false,
            "input stream: bit c = input s*cols + c (1 for +1)",
        ),
        p(
            "in_last",
            "input",
            1,
            false,
            "input stream: last word of an input; starts the inference",
        ),
        p(
            "out_valid",
            "output",
            1,
            false,
            "result stream: a class's Monte Carlo logit sum is offered",
        ),
        p(
            "out_ready",
            "input",
            1,
            false,
            "result stream: the host takes the beat",
        ),
        p(
            "out_logit",
            "output",
            64,
            true,
            "result stream: sum over passes of the class's logit",
        ),
        p(
            "out_index",
            "output",
            20,
            false,
            "result stream: the class of this beat",
        ),
        p(
            "out_last",
            "output",
            1,
            false,
            "result stream: last class of this input",
        ),
        p(
            "out_class",
            "output",
            20,
            false,
            "result stream: argmax of the logit sums (valid with out_last)",
        ),
        p("busy", "output", 1, false, "an inference is in progress"),
        p(
            "step_issued",
            "output",
            1,
            false,
            "an array step was issued this cycle",
        ),
    ]
}

/// Everything `gen-verilog` writes, in memory.
#[derive(Debug, Clone)]
pub struct Generated {
    /// (file name, contents), in a fixed order.
    pub files: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    schema: &'static str,
    top: &'static str,
    files: Vec<&'a str>,
    ports: Vec<Port>,
    parameters: &'a EngineConfig,
    /// How the PEs' sums are written (`gen-verilog --cells`).
    cells: &'static str,
    /// Files of `files` that are simulation models only: never give them to synthesis.
    simulation_models: Vec<&'static str>,
    derived_widths: nsm_model::engine::config::DerivedWidths,
    layout: LayoutJson,
    generator: Generator,
    network: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct LayoutJson {
    rows: usize,
    cols: usize,
    groups: usize,
    region_words: usize,
    weight_words: usize,
    neuron_words: usize,
    drain_cycles: usize,
}

#[derive(Serialize)]
struct Generator {
    nsm_hdl: &'static str,
    rust_hdl: &'static str,
    /// First line of `--version` (`-V` for iverilog) of the open tools found on the `PATH`
    /// when generating, `null` where missing: what this output was meant to run with.
    tools: std::collections::BTreeMap<&'static str, Option<String>>,
}

fn tool_versions() -> std::collections::BTreeMap<&'static str, Option<String>> {
    [
        ("yosys", "--version"),
        ("verilator", "--version"),
        ("iverilog", "-V"),
        ("nextpnr-ice40", "--version"),
    ]
    .into_iter()
    .map(|(tool, flag)| {
        let v = std::process::Command::new(tool)
            .arg(flag)
            .output()
            .ok()
            .and_then(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr);
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(str::to_string)
            });
        (tool, v)
    })
    .collect()
}

/// Renames rust-hdl's `top` module (and its `top$...` children) to [`TOP`].
fn rename_top(v: &str) -> String {
    rename_module(v, TOP)
}

/// Renames rust-hdl's `top` module (and its `top$...` children) to `name`.
pub(crate) fn rename_module(v: &str, name: &str) -> String {
    v.lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with("module top")
                || t.starts_with("endmodule // top")
                || t.starts_with("top$")
            {
                line.replacen("top", name, 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The Verilog of the engine for `cfg`, written as `opts` says; with [`Cells::Ecp5`] the file
/// ends with the sum module ([`nsm_hdl::pe::ECP5_ADDER_MODULE`]) and simulators need
/// [`cells::simulation_models`] beside it.
pub fn verilog(cfg: &EngineConfig, opts: &VerilogOptions) -> Result<String, VerilogError> {
    let cells = opts.cells;
    let mut engine = NsmEngine::new(cfg, opts.engine())?;
    engine.connect_all();
    let header = format!(
        "// NSM engine generated by nsm-hdl {} (rust-hdl 0.46) from an nsm-engine/1 configuration:\n// {}x{} array, {}-bit weights, LFSR width {}, p = {}/2^{}, {} Monte Carlo passes.\n// Do not edit: regenerate with gen-verilog.\n",
        env!("CARGO_PKG_VERSION"),
        cfg.rows,
        cfg.cols,
        cfg.weight_bits,
        cfg.lfsr.width,
        cfg.blank_out.threshold,
        cfg.blank_out.threshold_bits,
        cfg.mc_samples
    );
    // a lanes line only where there are several (one-lane headers stay as they were)
    let lanes = if cfg.lanes > 1 {
        format!(
            "// {} synapses per PE per step: {} inputs per array step.\n",
            cfg.lanes,
            cfg.step_inputs()
        )
    } else {
        String::new()
    };
    let note = match cells {
        Cells::Portable => "",
        Cells::Ecp5 => "// PE sums on ECP5 carry cells (CCU2C): synthesize with synth_ecp5; simulate with CCU2C.v.\n",
    };
    Ok(header
        + &lanes
        + note
        + &rename_top(&nsm_hdl::engine::ports::verilog(&engine))
        + cells::design_modules(cells))
}

/// Name of the generated update unit module.
pub const UPDATE_TOP: &str = "nsm_update_unit";
/// File of the generated update unit Verilog.
pub const UPDATE_VERILOG_FILE: &str = "nsm_update_unit.v";

/// File of the update unit's lint waivers (Verilator configuration).
pub const UPDATE_VLT_FILE: &str = "nsm_update_unit.vlt";

/// The lint waivers of the update unit's Verilog `verilog` ([`update_unit_verilog`]).
pub fn update_unit_vlt(verilog: &str) -> String {
    lint::vlt(verilog, UPDATE_VERILOG_FILE, UPDATE_TOP)
}

/// The Verilog of the on-chip learning update unit for `spec` (module [`UPDATE_TOP`]).
pub fn update_unit_verilog(spec: &nsm_model::learn::UpdateSpec) -> Result<String, VerilogError> {
    nsm_hdl::update::check_ports(spec)?;
    let mut unit = nsm_hdl::update::UpdateUnit::new(spec);
    unit.connect_all();
    let l = &spec.learn;
    let header = format!(
        "// NSM on-chip learning update unit generated by nsm-hdl {} (rust-hdl 0.46) from an nsm-learn/1 configuration:\n// {}-bit weights + {} guard bits, P/D tables of 2^{} entries (x step 2^-{}, {} fractional bits), {} Newton steps.\n// Do not edit: regenerate with gen-verilog --update-unit.\n",
        env!("CARGO_PKG_VERSION"),
        spec.weight_bits,
        l.guard_bits,
        l.lut_index_bits,
        l.lut_x_frac_bits,
        l.lut_frac_bits,
        l.newton_steps,
    );
    let v: String = generate_verilog(&unit)
        .lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with("module top") || t.starts_with("endmodule // top") {
                line.replacen("top", UPDATE_TOP, 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(header + &v + "\n")
}

/// Name of the FuseSoC core description `gen-verilog` writes.
pub const CORE_FILE: &str = "nsm_engine.core";

/// A FuseSoC (CAPI2) description of the generated IP: the Verilog, the memory images when
/// there are some, a lint target (Verilator) and synthesis targets for the open flows. For
/// Verilog on [`Cells::Ecp5`] the lint and simulation targets take the cell models too, and
/// the only synthesis target is the ECP5's.
pub fn fusesoc_core(cfg: &EngineConfig, with_memories: bool, opts: &VerilogOptions) -> String {
    let mut core = format!(
        "CAPI=2:\n# Generated by gen-verilog (nsm-hdl {v}); do not edit.\nname: nsm-hdl:nsm:engine_{r}x{c}:{v}\ndescription: Neural Sampling Machine engine, {r}x{c} array, {wb}-bit weights, LFSR width {lw}, {k} Monte Carlo passes\n\nfilesets:\n  rtl:\n    files:\n      - {f}\n    file_type: verilogSource\n  lint_waivers:\n    files:\n      - {vlt}\n    file_type: vlt\n",
        v = env!("CARGO_PKG_VERSION"),
        r = cfg.rows,
        c = cfg.cols,
        wb = cfg.weight_bits,
        lw = cfg.lfsr.width,
        k = cfg.mc_samples,
        f = VERILOG_FILE,
        vlt = VLT_FILE,
    );
    if with_memories {
        core.push_str("  memories:\n    files:\n      - weights.hex: {copyto: weights.hex}\n      - neurons.hex: {copyto: neurons.hex}\n    file_type: user\n");
    }
    // synthesis takes the design (and memories); simulation and lint the cell models too
    let mut synth_sets = vec!["rtl"];
    if with_memories {
        synth_sets.push("memories");
    }
    let mut default_sets = synth_sets.clone();
    let mut lint_sets = vec!["rtl"];
    let cells = opts.cells;
    let models = cells::simulation_models(cells);
    if !models.is_empty() {
        core.push_str("  cell_models:\n    files:\n");
        for (name, _) in &models {
            core.push_str(&format!("      - {name}\n"));
        }
        core.push_str("    file_type: verilogSource\n");
        default_sets.extend([
            "\"tool_icarus? (cell_models)\"",
            "\"tool_verilator? (cell_models)\"",
        ]);
        lint_sets.push("cell_models");
    }
    lint_sets.push("lint_waivers");
    let list = |sets: &[&str]| format!("[{}]", sets.join(", "));
    let (filesets, default_sets, lint_sets) =
        (list(&synth_sets), list(&default_sets), list(&lint_sets));
    core.push_str(&format!(
        "\ntargets:\n  default:\n    filesets: {default_sets}\n    toplevel: {TOP}\n  lint:\n    default_tool: verilator\n    filesets: {lint_sets}\n    toplevel: {TOP}\n    tools:\n      verilator:\n        mode: lint-only\n        verilator_options: [-Wall]\n"
    ));
    // the ECP5's cells exist only for synth_ecp5
    if cells == Cells::Portable {
        core.push_str(&format!("  synth_ice40:\n    default_tool: icestorm\n    filesets: {filesets}\n    toplevel: {TOP}\n    tools:\n      icestorm:\n        pnr: none\n"));
    }
    core.push_str(&format!(
        "  synth_ecp5:\n    default_tool: trellis\n    filesets: {filesets}\n    toplevel: {TOP}\n"
    ));
    core
}

/// All files for `cfg` (and `qnet`, whose memory images are added when given), the Verilog
/// written as `opts` says, with the simulation models that Verilog needs
/// ([`cells::simulation_models`]).
pub fn generate(
    cfg: &EngineConfig,
    qnet: Option<&QNet>,
    opts: &VerilogOptions,
) -> Result<Generated, VerilogError> {
    let cells = opts.cells;
    nsm_hdl::check_supported(cfg)?;
    if let Some(q) = qnet {
        q.check_against(cfg)?;
    }
    let layout = EngineLayout::new(cfg)?;
    let v = verilog(cfg, opts)?;
    let waivers = lint::vlt(&v, VERILOG_FILE, TOP);
    let mut files = vec![
        (VERILOG_FILE.to_string(), v),
        (VLT_FILE.to_string(), waivers),
    ];
    for (name, text) in cells::simulation_models(cells) {
        files.push((name.to_string(), text.to_string()));
    }
    let mut network = None;
    if let Some(q) = qnet {
        let mem = memory_images(q, cfg);
        files.push(("weights.hex".into(), mem.weights_hex.clone()));
        files.push(("neurons.hex".into(), mem.neurons_hex.clone()));
        network = Some(serde_json::json!({
            "widths": q.widths(),
            "memories": mem,
        }));
    }
    files.push((CORE_FILE.into(), fusesoc_core(cfg, qnet.is_some(), opts)));
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let manifest = Manifest {
        schema: "nsm-manifest/1",
        top: TOP,
        files: names
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(MANIFEST_FILE))
            .collect(),
        ports: ports(),
        parameters: cfg,
        cells: cells::name(cells),
        simulation_models: cells::simulation_models(cells)
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        derived_widths: cfg.widths(),
        layout: LayoutJson {
            rows: layout.rows,
            cols: layout.cols,
            groups: layout.groups,
            region_words: layout.region_words,
            weight_words: layout.weight_words,
            neuron_words: layout.neuron_words,
            drain_cycles: layout.drain,
        },
        generator: Generator {
            nsm_hdl: env!("CARGO_PKG_VERSION"),
            rust_hdl: "0.46.0",
            tools: tool_versions(),
        },
        network,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("the manifest serializes") + "\n";
    files.push((MANIFEST_FILE.into(), text));
    Ok(Generated { files })
}

/// Every file name [`write`] and `gen-verilog` may put into a folder, whatever the options:
/// the files of a folder's earlier run that this run does not write are removed from it
/// (the memory images of a network no longer given, the `CCU2C.v` portable Verilog no
/// longer needs, the update unit).
pub fn folder_file_names() -> Vec<&'static str> {
    let mut names = vec![
        VERILOG_FILE,
        VLT_FILE,
        CORE_FILE,
        "weights.hex",
        "neurons.hex",
    ];
    for cells in [Cells::Portable, Cells::Ecp5] {
        names.extend(cells::simulation_models(cells).into_iter().map(|(n, _)| n));
    }
    names.extend([UPDATE_VERILOG_FILE, UPDATE_VLT_FILE, MANIFEST_FILE]);
    names
}

/// The manifest, written last into a folder: a folder without one is incomplete.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The output set of `generated` in `dir` (the flag or role `label` names it in refusals):
/// the folder checked (created if missing), every file planned with [`MANIFEST_FILE`] as the
/// primary one, the other [`folder_file_names`] stale, none of them one of `inputs`.
pub fn output_set(
    generated: &Generated,
    dir: &Path,
    label: &str,
    inputs: &[&Path],
) -> Result<OutputSet, VerilogError> {
    let mut set = OutputSet::new();
    set.inputs(inputs)?;
    set.folder(label, dir)?;
    for (name, _) in &generated.files {
        let path = dir.join(name);
        if name == MANIFEST_FILE {
            set.primary(label, &path)?;
        } else {
            set.file(label, &path)?;
        }
    }
    for name in folder_file_names() {
        if !generated.files.iter().any(|(n, _)| n == name) {
            set.stale(&dir.join(name));
        }
    }
    Ok(set)
}

/// Writes `generated` into `dir` (created if missing) as one output set ([`output_set`]):
/// each file staged under a temporary name, then all moved into place with the manifest
/// last and the stale files of an earlier run removed, so the folder is either the old one,
/// incomplete (no manifest), or complete.
pub fn write(generated: &Generated, dir: &Path) -> Result<(), VerilogError> {
    let mut set = output_set(generated, dir, "output folder", &[])?;
    for (name, text) in &generated.files {
        set.write(&dir.join(name), text.as_bytes())?;
    }
    Ok(set.commit()?)
}
