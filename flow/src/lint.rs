//! Verilator's lint on generated Verilog, with the waivers `nsm_verilog::lint` writes and
//! nothing else.

use std::path::Path;

use crate::tool::{self, Cmd, Tool};
use crate::FlowError;

/// `verilator --lint-only -Wall -y . --top-module top vlt verilog` in `dir`, with the waivers
/// and nothing else: `Ok` only if Verilator reports no finding at all. The command is left
/// in `lint.sh`, its output in `lint.log`. Verilator comes from `NSM_VERILATOR` or the `PATH`;
/// without it this fails with [`FlowError::ToolMissing`].
pub fn verilator_lint(dir: &Path, top: &str, vlt: &str, verilog: &str) -> Result<(), FlowError> {
    let verilator = Tool::VERILATOR.path()?;
    // `-y .`: cell models (`CCU2C.v`, `nsm_verilog::cells`) are library modules in `dir`
    let args = [
        "--lint-only",
        "-Wall",
        "-y",
        ".",
        "--top-module",
        top,
        vlt,
        verilog,
    ];
    let out = tool::run(dir, "lint", &Cmd::new(verilator, args))?;
    if out.ok && !out.log.contains("%Warning") && !out.log.contains("%Error") {
        Ok(())
    } else {
        Err(FlowError::LintFindings {
            dir: dir.to_path_buf(),
            log: out.log,
        })
    }
}

/// [`verilator_lint`] on the engine written into `dir` by `sim::write_engine`.
pub fn lint_engine(dir: &Path) -> Result<(), FlowError> {
    verilator_lint(
        dir,
        nsm_verilog::TOP,
        nsm_verilog::VLT_FILE,
        nsm_verilog::VERILOG_FILE,
    )
}
