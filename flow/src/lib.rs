//! # nsm-flow: the flows that run external tools
//!
//! Everything in the project that starts a program other than itself lives here: Yosys and
//! nextpnr ([`synth`], [`bitstream`]), the netlist rewrite between them ([`absorb`]),
//! Verilator's lint ([`lint`]), the Icarus and Verilator run folders ([`sim`]) and the
//! proofs with yosys-smtbmc ([`formal`]). The Verilog
//! itself comes from `nsm-verilog`; this crate never writes a line of the design.
//!
//! Every tool goes through [`tool`]: found by its `NSM_*` environment override or on the
//! `PATH`, run in a folder, its output logged there, and its command line left in a replay
//! script beside the log. What differs between FPGA families (synthesis command, cell names,
//! nextpnr binary and arguments, how LUT4s add up) is one table in [`family`], read by both
//! `nsm synth` and `nsm bitstream`. [`workdir::WorkDir`] is the one kind of work folder: the
//! one the user named (kept), or a temporary one (removed when dropped).

use std::path::PathBuf;

pub mod absorb;
pub mod bitstream;
pub mod family;
pub mod formal;
pub mod lint;
pub mod plot;
pub mod report;
pub mod sim;
pub mod synth;
pub mod tool;
pub mod workdir;

pub use tool::{find_tool, Tool};
pub use workdir::WorkDir;

/// Why a flow could not run, or what it found wrong.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Verilog(#[from] nsm_verilog::VerilogError),
    #[error(transparent)]
    Hdl(#[from] nsm_hdl::HdlError),
    #[error(transparent)]
    Model(#[from] nsm_model::engine::BitExactError),
    /// An output refused before the work, or a file of an output set not written.
    #[error(transparent)]
    Output(#[from] nsm_model::ModelError),
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} could not be written: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot run {path}: {cause}")]
    Run {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the {cells} cells exist only on the ECP5; target {target} cannot synthesize them (use --cells portable)")]
    CellsNotOnTarget {
        cells: &'static str,
        target: &'static str,
    },
    #[error("--work-dir {0}: exists and is not a folder")]
    NotAFolder(PathBuf),
    #[error("verilator --lint-only -Wall found problems in {} (replay: sh {}/lint.sh):\n{log}", dir.display(), dir.display())]
    LintFindings { dir: PathBuf, log: String },
    #[error("{tool} not found (set {env} to its path, or install the tools with scripts/install-tools.sh)")]
    ToolMissing {
        tool: &'static str,
        env: &'static str,
    },
    #[error(
        "{env}={value}: {reason} (the override of {tool}; unset it to look for {tool} on the PATH)"
    )]
    ToolOverride {
        tool: &'static str,
        env: &'static str,
        value: String,
        reason: String,
    },
    #[error("{tool} failed in {dir}:\n{log}")]
    ToolFailed {
        tool: &'static str,
        dir: PathBuf,
        log: String,
    },
    #[error("{simulator} failed in {dir} (replay: sh {dir}/run.sh):\n{log}")]
    SimFailed {
        simulator: sim::Simulator,
        dir: PathBuf,
        log: String,
    },
}

/// The [`FlowError::Read`] of `path`.
pub(crate) fn read_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> FlowError + '_ {
    move |cause| FlowError::Read {
        path: path.to_path_buf(),
        cause,
    }
}

/// The [`FlowError::Write`] of `path` (a file, or a folder that could not be created).
pub(crate) fn write_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> FlowError + '_ {
    move |cause| FlowError::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// Creates `dir` if missing and writes `files` (name, text) into it: a work folder's files,
/// which the tools then read (command outputs go through [`nsm_model::fsutil::OutputSet`]).
pub(crate) fn write_files(dir: &std::path::Path, files: &[(&str, &str)]) -> Result<(), FlowError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(write_err(&path))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary name and a rename.
pub(crate) fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> Result<(), FlowError> {
    Ok(nsm_model::fsutil::atomic_write(path, bytes)?)
}
