//! The on-chip learning update unit's emitted Verilog under Icarus and Verilator:
//! `verilog/update_tb.v` streams row requests from a file through `nsm_update_unit` and writes
//! every output to a file; [`UpdateBench`] writes the folder, builds once, runs a batch of rows
//! and parses the results, which the callers compare with the fixed-point mirror
//! (`nsm_model::learn::update::update_row`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use nsm_model::learn::mirror::RowEngine;
use nsm_model::learn::update::{RowMode, RowRequest, RowResult};
use nsm_model::learn::UpdateSpec;

use crate::{CosimError, Simulator};

/// The testbench source.
pub const UPDATE_TESTBENCH: &str = include_str!("../verilog/update_tb.v");

/// A built update-unit testbench in a folder.
pub struct UpdateBench {
    pub dir: PathBuf,
    pub simulator: Simulator,
    /// Simulated clock cycles of the last run.
    pub cycles: u64,
    remove_on_drop: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CosimError + '_ {
    move |source| CosimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn exec(dir: &Path, simulator: Simulator, cmd: &[String]) -> Result<String, CosimError> {
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .current_dir(dir)
        .output()
        .map_err(io(Path::new(&cmd[0])))?;
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(CosimError::Failed {
            simulator,
            dir: dir.to_path_buf(),
            log,
        });
    }
    Ok(log)
}

impl UpdateBench {
    /// Writes the unit's Verilog and the testbench into `dir` and builds them with
    /// `simulator` (the tool missing is an error naming it and its environment override).
    pub fn new(
        dir: &Path,
        spec: &UpdateSpec,
        simulator: Simulator,
        remove_on_drop: bool,
    ) -> Result<Self, CosimError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let v = nsm_codegen::update_unit_verilog(spec)?;
        let p = dir.join(nsm_codegen::UPDATE_VERILOG_FILE);
        std::fs::write(&p, v).map_err(io(&p))?;
        let p = dir.join("update_tb.v");
        std::fs::write(&p, UPDATE_TESTBENCH).map_err(io(&p))?;
        let bench = crate::Bench {
            tb: "update_tb.v",
            design: nsm_codegen::UPDATE_VERILOG_FILE,
            top: "update_tb",
            stem: "update",
        };
        let mut cmds = crate::sim_commands(simulator, &bench, "-O2")?;
        let run = cmds.pop().expect("a run command");
        let build = cmds.pop().expect("a build command");
        let p = dir.join("run.sh");
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n{}\n{}\n",
                build.join(" "),
                run.join(" ")
            ),
        )
        .map_err(io(&p))?;
        exec(dir, simulator, &build)?;
        let p = dir.join("run.cmd");
        std::fs::write(&p, run.join("\n")).map_err(io(&p))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            simulator,
            cycles: 0,
            remove_on_drop,
        })
    }

    /// Runs `reqs` through the simulated unit, in order.
    pub fn run(&mut self, reqs: &[RowRequest]) -> Result<Vec<RowResult>, CosimError> {
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
        std::fs::write(&p, text).map_err(io(&p))?;
        let _ = std::fs::remove_file(self.dir.join("results.txt"));
        let p = self.dir.join("run.cmd");
        let cmd: Vec<String> = std::fs::read_to_string(&p)
            .map_err(io(&p))?
            .lines()
            .map(String::from)
            .collect();
        let log = exec(&self.dir, self.simulator, &cmd)?;
        let p = self.dir.join("results.txt");
        let out = std::fs::read_to_string(&p).map_err(io(&p))?;
        let fail = |why: &str| CosimError::Failed {
            simulator: self.simulator,
            dir: self.dir.clone(),
            log: format!("{why}\n{log}"),
        };
        let mut results = Vec::with_capacity(reqs.len());
        let mut cur: Option<RowResult> = None;
        let mut ended = false;
        for line in out.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| -> Result<i64, CosimError> {
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

impl Drop for UpdateBench {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
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
