//! Run folders for the emitted Verilog under Icarus Verilog and Verilator, driven by the
//! self-checking testbenches in `testbenches/verilog/` (compiled into this crate).
//!
//! [`engine`] writes a folder for the engine: its Verilog, `nsm_tb.v` and vectors from the
//! bit-exact model (the configuration-port writes that load the network, every input word,
//! every expected result beat), and simulates it; the testbench compares every beat and
//! prints `NSM_TB PASS` or `NSM_TB FAIL`. [`board`] does the same for the board top through
//! its serial pins, [`update`] for the learning update unit on rows. The folders stay behind
//! when the caller keeps them, so a failing run can be replayed by hand (`run.sh` repeats
//! the commands). `nsm sim --engine verilator` and `nsm train-onchip --engine verilator` run
//! through here; the tests that hold all of it to the models are in `nsm-testbenches`.

pub mod board;
pub mod engine;
pub mod update;

pub use engine::{
    prepare, run, run_verilator_timed, summary, write_engine, Prepared, RunOptions, TbSummary,
};

use std::path::Path;

use crate::tool::{self, Cmd, Tool};
use crate::{write_err, FlowError};

/// A Verilog simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulator {
    Icarus,
    Verilator,
}

impl std::fmt::Display for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Simulator::Icarus => "icarus",
            Simulator::Verilator => "verilator",
        })
    }
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> Result<(), FlowError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(write_err(&path))
}

/// Runs `cmds` in `dir` (all of them written into `run.sh` first); on success the log goes
/// to `<simulator>.log`, on a failure it is in the error.
pub(crate) fn exec(dir: &Path, simulator: Simulator, cmds: &[Cmd]) -> Result<String, FlowError> {
    let out = tool::run_all(dir, "run", cmds)?;
    if !out.ok {
        return Err(FlowError::SimFailed {
            simulator,
            dir: dir.to_path_buf(),
            log: out.log,
        });
    }
    write(dir, &format!("{simulator}.log"), &out.log)?;
    Ok(out.log)
}

/// A self-checking testbench and the design it drives: their files, the testbench's top
/// module, and the stem of the build products (`<stem>.vvp`, `obj_<stem>/`).
pub(crate) struct Bench<'a> {
    pub tb: &'a str,
    pub design: &'a str,
    pub top: &'a str,
    pub stem: &'a str,
}

/// The Verilator command that builds `bench` into `mdir` at optimization `opt` (`-O1` builds
/// fast, `-O3` runs fast). Lint findings are the lint's business, not this build's.
pub(crate) fn verilator_build(verilator: &Path, bench: &Bench, opt: &str, mdir: &str) -> Cmd {
    Cmd::new(
        verilator,
        [
            "--binary",
            "--timing",
            "-Wno-fatal",
            "-Wno-lint",
            "-Wno-style",
            "-Wno-UNOPTFLAT",
            opt,
            "-j",
            "2",
            "--top-module",
            bench.top,
            "-I.",
            // cell models (`CCU2C.v`) are library modules in the run folder
            "-y",
            ".",
            "-Mdir",
            mdir,
            bench.tb,
            bench.design,
        ],
    )
}

/// The commands that build and run `bench` in `simulator` (Verilator at `opt`).
pub(crate) fn sim_commands(
    simulator: Simulator,
    bench: &Bench,
    opt: &str,
) -> Result<Vec<Cmd>, FlowError> {
    Ok(match simulator {
        Simulator::Icarus => {
            let iverilog = Tool::IVERILOG.path()?;
            let vvp = Tool::VVP.path()?;
            let vvp_file = format!("{}.vvp", bench.stem);
            vec![
                Cmd::new(
                    iverilog,
                    [
                        "-g2012",
                        "-I.",
                        "-y.",
                        "-o",
                        &vvp_file,
                        bench.tb,
                        bench.design,
                    ],
                ),
                Cmd::new(vvp, ["-n", vvp_file.as_str()]),
            ]
        }
        Simulator::Verilator => {
            let verilator = Tool::VERILATOR.path()?;
            let mdir = format!("obj_{}", bench.stem);
            vec![
                verilator_build(&verilator, bench, opt, &mdir),
                Cmd::new(format!("./{mdir}/V{}", bench.top), Vec::<String>::new()),
            ]
        }
    })
}
