//! The on-chip learning update unit's emitted Verilog under Icarus and Verilator:
//! `verilog/update_tb.v` streams row requests from a file through `nsm_update_unit` and writes
//! every output to a file; [`UpdateBench`] writes the folder, builds once, runs a batch of rows
//! and parses the results, which the callers compare with the fixed-point mirror
//! (`nsm_model::learn::update::update_row`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nsm_model::learn::mirror::RowEngine;
use nsm_model::learn::update::{RowMode, RowRequest, RowResult};
use nsm_model::learn::UpdateSpec;

use super::{Bench, Simulator};
use crate::tool::{self, Cmd};
use crate::FlowError;
use crate::{read_err, write_err};

/// The testbench source.
pub const UPDATE_TESTBENCH: &str = include_str!("../../../testbenches/verilog/update_tb.v");

/// A built update-unit testbench in a folder (which the caller keeps or removes: see
/// [`crate::WorkDir`]).
pub struct UpdateBench {
    pub dir: PathBuf,
    pub simulator: Simulator,
    /// Simulated clock cycles of the last run.
    pub cycles: u64,
    /// The command that runs the built testbench.
    run: Cmd,
}

/// Runs `cmd` in `dir`; its output, or [`FlowError::SimFailed`].
fn exec(dir: &Path, simulator: Simulator, cmd: &Cmd) -> Result<String, FlowError> {
    let out = tool::exec(dir, cmd)?;
    if !out.ok {
        return Err(FlowError::SimFailed {
            simulator,
            dir: dir.to_path_buf(),
            log: out.log,
        });
    }
    Ok(out.log)
}

impl UpdateBench {
    /// Writes the unit's Verilog and the testbench into `dir` and builds them with
    /// `simulator` (the tool missing is an error naming it and its environment override).
    pub fn new(dir: &Path, spec: &UpdateSpec, simulator: Simulator) -> Result<Self, FlowError> {
        let bench = Bench {
            tb: "update_tb.v",
            design: nsm_verilog::UPDATE_VERILOG_FILE,
            top: "update_tb",
            stem: "update",
        };
        // the tools are found before anything is written
        let cmds = super::sim_commands(simulator, &bench, "-O2")?;
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let v = nsm_verilog::update_unit_verilog(spec)?;
        let p = dir.join(nsm_verilog::UPDATE_VERILOG_FILE);
        std::fs::write(&p, v).map_err(write_err(&p))?;
        let p = dir.join("update_tb.v");
        std::fs::write(&p, UPDATE_TESTBENCH).map_err(write_err(&p))?;
        tool::write_replay(dir, "run", &cmds)?;
        let [build, run]: [Cmd; 2] = cmds.try_into().expect("a build and a run command");
        exec(dir, simulator, &build)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            simulator,
            cycles: 0,
            run,
        })
    }

    /// Runs `reqs` through the simulated unit, in order.
    pub fn run(&mut self, reqs: &[RowRequest]) -> Result<Vec<RowResult>, FlowError> {
        let mut text = String::new();
        for r in reqs {
            let mode = match r.mode {
                RowMode::Stochastic => 0,
                RowMode::Linear => 1,
            };
            let _ = writeln!(text, "{mode} {} {} {} {}", r.w.len(), r.err, r.a, r.b);
            for (&w, &z) in r.w.iter().zip(&r.z) {
                let _ = writeln!(text, "{z} {w}");
            }
        }
        let p = self.dir.join("requests.txt");
        std::fs::write(&p, text).map_err(write_err(&p))?;
        let _ = std::fs::remove_file(self.dir.join("results.txt"));
        let log = exec(&self.dir, self.simulator, &self.run)?;
        let p = self.dir.join("results.txt");
        let out = std::fs::read_to_string(&p).map_err(read_err(&p))?;
        let fail = |why: &str| FlowError::SimFailed {
            simulator: self.simulator,
            dir: self.dir.clone(),
            log: format!("{why}\n{log}"),
        };
        let mut results = Vec::with_capacity(reqs.len());
        let mut cur: Option<RowResult> = None;
        let mut ended = false;
        for line in out.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| -> Result<i64, FlowError> {
                f.get(i)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| fail(&format!("bad line {line:?}")))
            };
            match f.first().copied() {
                Some("R") => {
                    cur = Some(RowResult {
                        w: Vec::new(),
                        a: num(1)?,
                        b: num(2)?,
                        p: num(3)?,
                        d: num(4)?,
                        delta: num(5)?,
                        dback: num(6)?,
                        flags: 0,
                        weight_clips: 0,
                    })
                }
                Some("W") => {
                    let r = cur.as_mut().ok_or_else(|| fail("W before R"))?;
                    r.w.push(num(1)? as i32);
                    r.weight_clips += num(2)? as u32;
                }
                Some("F") => {
                    let mut r = cur.take().ok_or_else(|| fail("F before R"))?;
                    r.flags = num(1)? as u32;
                    results.push(r);
                }
                Some("END") => {
                    self.cycles = num(1)? as u64;
                    ended = true;
                }
                _ => return Err(fail(&format!("unexpected line {line:?}"))),
            }
        }
        if !ended || results.len() != reqs.len() {
            return Err(fail(&format!(
                "{} results for {} requests",
                results.len(),
                reqs.len()
            )));
        }
        Ok(results)
    }
}

impl RowEngine for UpdateBench {
    fn update_rows(
        &mut self,
        _spec: &UpdateSpec,
        reqs: &[RowRequest],
    ) -> Result<Vec<RowResult>, String> {
        self.run(reqs).map_err(|e| e.to_string())
    }
}
