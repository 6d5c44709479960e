//! # nsm-testbenches: the emitted Verilog under Icarus and Verilator
//!
//! [`prepare`] writes one run folder: the engine's Verilog (from `gen-verilog`'s generator),
//! the self-checking testbench `verilog/nsm_tb.v`, and vectors from the bit-exact model (the
//! configuration-port writes that load the network, every input word, every expected result
//! beat). [`run`] simulates the folder with Icarus Verilog or Verilator; the testbench compares
//! every beat and prints `NSM_TB PASS` or `NSM_TB FAIL`. The folder stays behind, so a failing
//! run can be replayed by hand (`run.sh` in it repeats the last command).

pub mod update;

use std::path::{Path, PathBuf};
use std::process::Command;

use nsm_codegen::cells::Cells;
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::{BitExact, BitExactError, Inference};
use nsm_sim::{config_writes, input_words, CycleModel};

pub mod board;

/// The testbench source.
pub const TESTBENCH: &str = include_str!("../verilog/nsm_tb.v");

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

/// Why a co-simulation could not run or did not pass.
#[derive(Debug, thiserror::Error)]
pub enum CosimError {
    #[error("{tool} not found (set {env} to its path, or install the tools with scripts/install-tools.sh)")]
    ToolMissing {
        tool: &'static str,
        env: &'static str,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Model(#[from] BitExactError),
    #[error("{0}")]
    Codegen(#[from] nsm_codegen::CodegenError),
    #[error("{simulator} failed in {dir} (replay: sh {dir}/run.sh):\n{log}")]
    Failed {
        simulator: Simulator,
        dir: PathBuf,
        log: String,
    },
}

/// A tool from its environment override or the `PATH` ([`nsm_codegen::find_tool`]).
pub fn find_tool(tool: &'static str, env: &'static str) -> Result<PathBuf, CosimError> {
    nsm_codegen::find_tool(tool, env).ok_or(CosimError::ToolMissing { tool, env })
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), CosimError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| CosimError::Io { path, source })
}

/// What the golden model expects from one run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub dir: PathBuf,
    pub expected: Vec<Inference>,
}

/// Writes a run folder for `inputs` (`+1`/`-1` values) on `cfg` with `qnet`. With `stalls`,
/// the testbench inserts pseudo-random gaps and stalls on both streams.
pub fn prepare(
    dir: &Path,
    cfg: &EngineConfig,
    qnet: &QNet,
    inputs: &[Vec<i8>],
    stalls: bool,
) -> Result<Prepared, CosimError> {
    prepare_with_cells(dir, cfg, qnet, inputs, stalls, Cells::Portable)
}

/// [`prepare`] with the engine's PEs written as `cells` says (and the cell models beside it).
pub fn prepare_with_cells(
    dir: &Path,
    cfg: &EngineConfig,
    qnet: &QNet,
    inputs: &[Vec<i8>],
    stalls: bool,
    cells: Cells,
) -> Result<Prepared, CosimError> {
    std::fs::create_dir_all(dir).map_err(|source| CosimError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let model = BitExact::new(cfg, qnet)?;
    let mut states = model.seeds().to_vec();
    let mut expected = Vec::new();
    let mut out = String::new();
    for x in inputs {
        let inf = model.infer_reference(x, &mut states)?;
        let n = inf.logit_sums.len();
        for (k, &logit) in inf.logit_sums.iter().enumerate() {
            let last = k + 1 == n;
            let class = if last { inf.class as u128 } else { 0 };
            let word = (u128::from(last) << 104)
                | (class << 84)
                | ((k as u128) << 64)
                | u128::from(logit as u64);
            out.push_str(&format!("{word:027x}\n"));
        }
        expected.push(inf);
    }
    let cfg_hex: String = config_writes(qnet, cfg.cols)
        .iter()
        .map(|w| format!("{:08x}{:08x}\n", w.address(), w.data))
        .collect();
    let mut in_hex = String::new();
    for x in inputs {
        let words = input_words(x, cfg.cols);
        for (i, w) in words.iter().enumerate() {
            let last = u64::from(i + 1 == words.len());
            in_hex.push_str(&format!("{:09x}\n", (last << 32) | u64::from(*w)));
        }
    }
    let per_input = CycleModel::new(cfg, qnet).total();
    let max_cycles =
        (cfg_hex.lines().count() as u64 + 100) + 4 * per_input * inputs.len() as u64 + 1000;
    let vh = format!(
        "localparam N_CFG = {};\nlocalparam N_IN = {};\nlocalparam N_OUT = {};\nlocalparam MAX_CYCLES = {};\nlocalparam STALLS = {};\n",
        cfg_hex.lines().count(),
        in_hex.lines().count(),
        out.lines().count(),
        max_cycles,
        u8::from(stalls)
    );
    write(dir, "cfg.hex", &cfg_hex)?;
    write(dir, "in.hex", &in_hex)?;
    write(dir, "out.hex", &out)?;
    write(dir, "vectors.vh", &vh)?;
    write(dir, "nsm_tb.v", TESTBENCH)?;
    write_engine_with_cells(dir, cfg, cells)?;
    write(dir, "engine.json", &cfg.to_json())?;
    Ok(Prepared {
        dir: dir.to_path_buf(),
        expected,
    })
}

/// Writes the engine's Verilog and its lint waivers (`nsm_engine.v`, `nsm_engine.vlt`).
pub fn write_engine(dir: &Path, cfg: &EngineConfig) -> Result<(), CosimError> {
    write_engine_with_cells(dir, cfg, Cells::Portable)
}

/// [`write_engine`] with the PEs written as `cells` says, and the cell models that Verilog
/// needs (found by the simulators and the lint as library modules, `-y .`; a model the
/// Verilog does not instantiate is never read).
pub fn write_engine_with_cells(
    dir: &Path,
    cfg: &EngineConfig,
    cells: Cells,
) -> Result<(), CosimError> {
    std::fs::create_dir_all(dir).map_err(|source| CosimError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let v = nsm_codegen::verilog_with_cells(cfg, cells)?;
    let vlt = nsm_codegen::lint::vlt(&v, nsm_codegen::VERILOG_FILE, nsm_codegen::TOP);
    write(dir, nsm_codegen::VERILOG_FILE, &v)?;
    write(dir, nsm_codegen::VLT_FILE, &vlt)?;
    for (name, text) in nsm_codegen::cells::simulation_models(cells) {
        write(dir, name, text)?;
    }
    Ok(())
}

/// `verilator --lint-only -Wall` on the engine in `dir` (written by [`write_engine`]), with
/// its waivers and nothing else: `Ok` only if Verilator reports no finding at all. The
/// command is left in `lint.sh`, its output in `lint.log`.
pub fn lint(dir: &Path) -> Result<(), CosimError> {
    Ok(nsm_codegen::lint::verilator_lint(
        dir,
        nsm_codegen::TOP,
        nsm_codegen::VLT_FILE,
        nsm_codegen::VERILOG_FILE,
    )?)
}

fn exec(dir: &Path, simulator: Simulator, cmds: &[Vec<String>]) -> Result<String, CosimError> {
    let script: String = cmds.iter().map(|c| c.join(" ") + "\n").collect();
    write(
        dir,
        "run.sh",
        &format!("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n{script}"),
    )?;
    let mut log = String::new();
    for c in cmds {
        let out = Command::new(&c[0])
            .args(&c[1..])
            .current_dir(dir)
            .output()
            .map_err(|source| CosimError::Io {
                path: PathBuf::from(&c[0]),
                source,
            })?;
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(CosimError::Failed {
                simulator,
                dir: dir.to_path_buf(),
                log,
            });
        }
    }
    write(dir, &format!("{simulator}.log"), &log)?;
    Ok(log)
}

/// A self-checking testbench and the design it drives: their files, the testbench's top
/// module, and the stem of the build products (`<stem>.vvp`, `obj_<stem>/`).
pub(crate) struct Bench<'a> {
    pub tb: &'a str,
    pub design: &'a str,
    pub top: &'a str,
    pub stem: &'a str,
}

/// The engine's testbench.
const ENGINE_BENCH: Bench<'static> = Bench {
    tb: "nsm_tb.v",
    design: nsm_codegen::VERILOG_FILE,
    top: "nsm_tb",
    stem: "tb",
};

/// The Verilator command that builds `bench` into `mdir` at optimization `opt` (`-O1` builds
/// fast, `-O3` runs fast). Lint findings are the lint test's business, not this build's.
fn verilator_build(verilator: &Path, bench: &Bench, opt: &str, mdir: &str) -> Vec<String> {
    [
        verilator.display().to_string().as_str(),
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
    ]
    .map(String::from)
    .to_vec()
}

/// The commands that build and run `bench` in `simulator` (Verilator at `opt`).
pub(crate) fn sim_commands(
    simulator: Simulator,
    bench: &Bench,
    opt: &str,
) -> Result<Vec<Vec<String>>, CosimError> {
    let s = |x: &str| x.to_string();
    Ok(match simulator {
        Simulator::Icarus => {
            let iverilog = find_tool("iverilog", "NSM_IVERILOG")?;
            let vvp = find_tool("vvp", "NSM_VVP")?;
            let vvp_file = format!("{}.vvp", bench.stem);
            vec![
                vec![
                    iverilog.display().to_string(),
                    s("-g2012"),
                    s("-I."),
                    s("-y."),
                    s("-o"),
                    vvp_file.clone(),
                    s(bench.tb),
                    s(bench.design),
                ],
                vec![vvp.display().to_string(), s("-n"), vvp_file],
            ]
        }
        Simulator::Verilator => {
            let verilator = find_tool("verilator", "NSM_VERILATOR")?;
            let mdir = format!("obj_{}", bench.stem);
            vec![
                verilator_build(&verilator, bench, opt, &mdir),
                vec![format!("./{mdir}/V{}", bench.top)],
            ]
        }
    })
}

/// The testbench's closing line, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbSummary {
    pub pass: bool,
    pub beats: u64,
    pub cycles: u64,
    /// From the first input word taken to the last result beat.
    pub compute_cycles: u64,
    /// Inputs with at least one wrong result beat.
    pub bad_images: u64,
}

/// Finds and parses the testbench's `NSM_TB PASS|FAIL ...` line in a log.
pub fn summary(log: &str) -> Option<TbSummary> {
    let line = log
        .lines()
        .find(|l| l.starts_with("NSM_TB PASS") || l.starts_with("NSM_TB FAIL"))?;
    let field = |name: &str| -> Option<u64> {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
    };
    Some(TbSummary {
        pass: line.starts_with("NSM_TB PASS"),
        beats: field("beats")?,
        cycles: field("cycles")?,
        compute_cycles: field("compute_cycles")?,
        bad_images: field("bad_images")?,
    })
}

/// Compiles a prepared folder with Verilator (optimized for speed) and runs it, timing the
/// run alone. Returns the summary and the seconds the simulation took.
pub fn run_verilator_timed(dir: &Path) -> Result<(TbSummary, f64), CosimError> {
    let verilator = find_tool("verilator", "NSM_VERILATOR")?;
    let compile = verilator_build(&verilator, &ENGINE_BENCH, "-O3", "obj_fast");
    exec(dir, Simulator::Verilator, &[compile])?;
    let start = std::time::Instant::now();
    let out = Command::new(dir.join("obj_fast/Vnsm_tb"))
        .current_dir(dir)
        .output()
        .map_err(|source| CosimError::Io {
            path: dir.join("obj_fast/Vnsm_tb"),
            source,
        })?;
    let seconds = start.elapsed().as_secs_f64();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    write(dir, "verilator-fast.log", &log)?;
    match summary(&log) {
        Some(s) => Ok((s, seconds)),
        None => Err(CosimError::Failed {
            simulator: Simulator::Verilator,
            dir: dir.to_path_buf(),
            log,
        }),
    }
}

/// Simulates a prepared folder; `Ok` only if the testbench printed `NSM_TB PASS`.
pub fn run(dir: &Path, simulator: Simulator) -> Result<String, CosimError> {
    let cmds = sim_commands(simulator, &ENGINE_BENCH, "-O1")?;
    let log = exec(dir, simulator, &cmds)?;
    if summary(&log).is_some_and(|s| s.pass) {
        Ok(log)
    } else {
        Err(CosimError::Failed {
            simulator,
            dir: dir.to_path_buf(),
            log,
        })
    }
}
