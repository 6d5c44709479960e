//! Proofs of the engine's stream protocol and accumulator widths with Yosys's formal flow:
//! `yosys` reads the engine's Verilog and a harness ([`harness`]), writes an SMT-LIB model,
//! and `yosys-smtbmc` checks it with the `z3` solver by bounded model checking.
//!
//! | property | what is proved | how |
//! |---|---|---|
//! | [`Property::ResetToIdle`] | the cycle after a reset the engine is idle: `in_ready`, not `busy`, no beat | from any state (`--noinit`), one step |
//! | [`Property::Stream`] | `in_ready` exactly when no accepted input awaits its beats; beats in class order `0..classes-1`, none lost or repeated, `out_last` on the last; a beat not taken is held unchanged | a loaded network, every input stream, reset and `out_ready` pattern, up to `depth` cycles; the rows' logits are free values |
//! | [`Property::AccumulatorWidth`] | every step's sums fit `step_sum_bits`, every accumulated `S` and `T` fits `acc_bits` and is stored without loss, every beat's logit sum fits `logit_sum_bits` | a loaded network with the largest weights, every input, up to `depth` cycles |
//!
//! The loaded harnesses start from the state after the network was written: Yosys simulates
//! the configuration writes (`sim -w`) and then removes the loader, so the memories become
//! constants and the solver's work starts at the first input. Bounded proofs hold for the
//! first `depth` cycles of every run; `depth` is chosen to cover whole inferences
//! ([`ProofOptions`]).

pub mod harness;

use std::path::{Path, PathBuf};
use std::time::Instant;

use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::host_interface::load_writes;
use nsm_model::engine::qnet::{QLayer, QNet, QOutput};

use crate::tool::{self, Cmd, Tool};
use crate::{write_files, FlowError};

/// A property the proofs check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    ResetToIdle,
    Stream,
    AccumulatorWidth,
}

impl Property {
    pub const ALL: [Property; 3] = [
        Property::ResetToIdle,
        Property::Stream,
        Property::AccumulatorWidth,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Property::ResetToIdle => "reset_to_idle",
            Property::Stream => "stream",
            Property::AccumulatorWidth => "accumulator_width",
        }
    }
}

/// How deep a proof goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofOptions {
    /// Cycles of bounded model checking after the load (the reset proof always takes one).
    pub depth: usize,
    /// Also show that an input's last beat is reachable within `depth` (the proof is not
    /// vacuous); costs about as much as the proof.
    pub cover: bool,
}

/// What a proof found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofReport {
    pub property: Property,
    /// Cycles checked.
    pub depth: usize,
    /// `None`: every assertion held; else the assertion that failed and the cycle.
    pub failure: Option<Failure>,
    /// With [`ProofOptions::cover`]: the cycle at which an input's last beat was taken, or
    /// `None` if it was not reached within `depth`.
    pub answered_at: Option<usize>,
    pub seconds: f64,
    pub dir: PathBuf,
}

/// A failed assertion: its label in the harness (e.g. `beats_in_order`) and the step; the
/// counterexample is `trace.vcd` in the proof's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub assertion: String,
    pub step: usize,
}

/// The solver and the model checker, found through their `NSM_*` overrides or the `PATH`.
pub const YOSYS_SMTBMC: Tool = Tool::new("yosys-smtbmc", "NSM_YOSYS_SMTBMC");
pub const Z3: Tool = Tool::new("z3", "NSM_Z3");

/// A network of the shape `widths` (inputs, hidden layers, classes) for `cfg` with every
/// weight at `+-Wmax` (signs alternating), `a = 0` and zero biases: the largest sums the
/// configuration allows. The widths must be within the configuration's limits (checked by
/// the caller: `BitExact::new` names what does not fit).
pub fn sample_network(cfg: &EngineConfig, widths: &[usize]) -> QNet {
    let wmax = cfg.widths().weight_max as i32;
    let weights = |n_in: usize, n_out: usize| -> Vec<i32> {
        (0..n_in * n_out)
            .map(|i| if i % 2 == 0 { wmax } else { -wmax })
            .collect()
    };
    let last = widths.len() - 1;
    let hidden = widths[..last]
        .windows(2)
        .map(|p| QLayer {
            n_in: p[0],
            n_out: p[1],
            w: weights(p[0], p[1]),
            a: vec![0; p[1]],
            b: vec![0; p[1]],
        })
        .collect();
    let (n_in, n_out) = (widths[last - 1], widths[last]);
    QNet::with_formats(
        cfg,
        hidden,
        QOutput {
            n_in,
            n_out,
            w: weights(n_in, n_out),
            b: vec![0; n_out],
        },
    )
}

/// The engine's Verilog for `cfg`, as `gen-verilog` writes it.
pub fn engine_verilog(cfg: &EngineConfig) -> Result<String, FlowError> {
    let generated = nsm_verilog::generate(cfg, None, &nsm_verilog::VerilogOptions::default())?;
    Ok(generated
        .files
        .into_iter()
        .find(|(name, _)| name == nsm_verilog::VERILOG_FILE)
        .map(|(_, text)| text)
        .expect("generate writes the engine's Verilog"))
}

/// Proves `property` of `verilog` (an `nsm_engine` for `cfg`, normally [`engine_verilog`];
/// the tests pass broken variants) with `qnet` loaded, in the folder `dir`.
pub fn prove(
    dir: &Path,
    verilog: &str,
    cfg: &EngineConfig,
    qnet: &QNet,
    property: Property,
    opts: &ProofOptions,
) -> Result<ProofReport, FlowError> {
    let tools = tool::find_all(&[Tool::YOSYS, YOSYS_SMTBMC, Z3])?;
    let (yosys, smtbmc, z3) = (&tools[0], &tools[1], &tools[2]);
    let started = Instant::now();
    let writes = load_writes(qnet, cfg.step_inputs());
    let classes = qnet.output.n_out;
    let spec = harness::HarnessSpec {
        cfg,
        writes: &writes,
        classes,
        property,
    };
    let engine = match property {
        Property::ResetToIdle => Ok(verilog.to_string()),
        Property::Stream => harness::cut_row_logits(verilog, cfg.rows),
        Property::AccumulatorWidth => harness::with_accumulator_checks(verilog, cfg),
    }
    .map_err(|reason| FlowError::ToolFailed {
        tool: "formal harness",
        dir: dir.to_path_buf(),
        log: reason,
    })?;
    let script = yosys_script(property, writes.len());
    write_files(
        dir,
        &[
            ("nsm_engine.v", &engine),
            ("nsm_formal.v", &harness::harness(&spec)),
            ("prove.ys", &script),
        ],
    )?;
    let out = tool::run(
        dir,
        "yosys",
        &Cmd::new(yosys, ["-q", "-l", "yosys.log", "prove.ys"]),
    )?;
    if !out.ok {
        return Err(FlowError::ToolFailed {
            tool: "yosys",
            dir: dir.to_path_buf(),
            log: out.log,
        });
    }
    let depth = match property {
        Property::ResetToIdle => 1,
        _ => opts.depth,
    };
    // smtbmc starts the solver by name, so the folder of the z3 found goes first on its PATH
    let path_env = solver_path(z3);
    let smtbmc_run = |stem: &str, mode: &[&str], steps: String| {
        let args = ["-s", "z3", "--unroll"]
            .iter()
            .chain(mode)
            .map(|a| a.to_string())
            .chain(["-t".to_string(), steps, "design.smt2".to_string()]);
        let cmd = Cmd::new(smtbmc, args);
        tool::run_with_env(dir, stem, &cmd, &[("PATH", path_env.as_os_str())])
    };
    let check = match property {
        // from any state: no initial values, the assertion checked at step 1 only
        Property::ResetToIdle => smtbmc_run(
            "smtbmc",
            &["--dump-vcd", "trace.vcd", "--noinit"],
            "1:2".into(),
        )?,
        _ => smtbmc_run(
            "smtbmc",
            &["--dump-vcd", "trace.vcd"],
            (depth + 1).to_string(),
        )?,
    };
    let failure = parse_failure(&check.log);
    if failure.is_none() && !check.log.contains("Status: PASSED") {
        return Err(FlowError::ToolFailed {
            tool: "yosys-smtbmc",
            dir: dir.to_path_buf(),
            log: check.log,
        });
    }
    let answered_at = if opts.cover && property != Property::ResetToIdle && failure.is_none() {
        parse_cover(&smtbmc_run("cover", &["-c"], (depth + 1).to_string())?.log)
    } else {
        None
    };
    Ok(ProofReport {
        property,
        depth,
        failure,
        answered_at,
        seconds: started.elapsed().as_secs_f64(),
        dir: dir.to_path_buf(),
    })
}

/// The `PATH` with the folder of the solver `z3` first: smtbmc starts it by the name `z3`, so
/// an `NSM_Z3` override names a program called `z3` in the folder to use.
fn solver_path(z3: &Path) -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = z3.parent().map(Path::to_path_buf).into_iter().collect();
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap_or_default()
}

/// The Yosys script: read, flatten, map the memories to registers; for a loaded harness,
/// simulate the load, keep its final state as the initial state and remove the loader.
fn yosys_script(property: Property, load_writes: usize) -> String {
    let mut s = String::from(
        "read_verilog -formal nsm_engine.v nsm_formal.v\nprep -top nsm_formal\nflatten\nmemory_map\nopt -full\n",
    );
    if property != Property::ResetToIdle {
        s.push_str(&format!(
            "sim -clock clock -zinit -n {} -w\ndelete {}/{}\nsetundef -undriven -zero\nopt -full\nopt_dff\nopt -full\nwreduce\nopt_clean -purge\n",
            load_writes + 2,
            harness::TOP,
            harness::LOAD_GATE
        ));
    }
    s.push_str("async2sync\ndffunmap\nwrite_smt2 design.smt2\n");
    s
}

/// The failed assertion and its step, from smtbmc's log (`Checking assertions in step N..`
/// then `Assert failed in nsm_formal: <label>`).
fn parse_failure(log: &str) -> Option<Failure> {
    let mut step = 0;
    for line in log.lines() {
        if let Some(rest) = line.split("Checking assertions in step ").nth(1) {
            step = rest.trim_end_matches('.').trim().parse().unwrap_or(step);
        }
        if let Some(rest) = line.split("Assert failed in ").nth(1) {
            let label = rest.split(": ").nth(1).unwrap_or(rest).trim();
            let label = label.rsplit('.').next().unwrap_or(label);
            return Some(Failure {
                assertion: label.to_string(),
                step,
            });
        }
    }
    None
}

/// The step at which the cover statement was reached.
fn parse_cover(log: &str) -> Option<usize> {
    log.lines().find_map(|l| {
        let rest = l.split("Reached cover statement").nth(1)?;
        rest.split(" in step ")
            .nth(1)?
            .trim_end_matches('.')
            .trim()
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_covers_are_read_from_the_log() {
        let log = "##   0:00:00  Checking assertions in step 11..\n##   0:00:00  Checking assertions in step 12..\n##   0:00:01  BMC failed!\n##   0:00:01  Assert failed in nsm_formal: dut.array.row_ends$0.accumulator_width_s\n##   0:00:01  Status: FAILED\n";
        assert_eq!(
            parse_failure(log),
            Some(Failure {
                assertion: "accumulator_width_s".into(),
                step: 12
            })
        );
        assert_eq!(parse_failure("##  Status: PASSED\n"), None);
        let cover = "##   0:05:10  Reached cover statement at nsm_formal.v:81.14-81.70 ($cover$x) in step 46.\n";
        assert_eq!(parse_cover(cover), Some(46));
    }

    #[test]
    fn sample_networks_hold_the_largest_weights() {
        let cfg = EngineConfig::default_config();
        let q = sample_network(&cfg, &[4, 3, 2]);
        assert_eq!(q.hidden.len(), 1);
        assert_eq!(q.output.n_out, 2);
        let wmax = cfg.widths().weight_max as i32;
        assert!(q.hidden[0].w.iter().all(|w| w.abs() == wmax));
    }
}
