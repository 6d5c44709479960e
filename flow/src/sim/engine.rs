//! The engine's run folder: `nsm_engine.v`, the testbench `nsm_tb.v` and the vectors the
//! bit-exact model expects.

use std::path::{Path, PathBuf};

use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::host_interface::{verilog_include, ResultBeat, INPUT_WORD_BITS};
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::{BitExact, Inference};
use nsm_sim::{config_writes, input_words, CycleModel};
use nsm_verilog::VerilogOptions;

use super::{exec, sim_commands, verilator_build, write, Bench, Simulator};
use crate::tool::{self, Cmd, Tool};
use crate::{write_err, FlowError};

/// The testbench source.
/// The host interface's Verilog include file, which the testbench reads its field positions
/// from.
pub const HOST_INTERFACE_INCLUDE: &str = "nsm_host_interface.vh";

pub const TESTBENCH: &str = include_str!("../../../testbenches/verilog/nsm_tb.v");

/// The engine's testbench.
const ENGINE_BENCH: Bench<'static> = Bench {
    tb: "nsm_tb.v",
    design: nsm_verilog::VERILOG_FILE,
    top: "nsm_tb",
    stem: "tb",
};

/// What the golden model expects from one run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub dir: PathBuf,
    pub expected: Vec<Inference>,
}

/// How [`prepare`] writes a run folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// The testbench inserts pseudo-random gaps and stalls on both streams.
    pub stalls: bool,
    /// How the engine's Verilog is written (the cell models it needs go beside it).
    pub verilog: VerilogOptions,
}

/// Writes a run folder for `inputs` (`+1`/`-1` values) on `cfg` with `qnet`.
pub fn prepare(
    dir: &Path,
    cfg: &EngineConfig,
    qnet: &QNet,
    inputs: &[Vec<i8>],
    opts: &RunOptions,
) -> Result<Prepared, FlowError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let model = BitExact::new(cfg, qnet)?;
    let mut states = model.seeds().to_vec();
    let mut expected = Vec::new();
    let mut out = String::new();
    for x in inputs {
        let inf = model.infer_reference(x, &mut states)?;
        for beat in ResultBeat::of_inference(&inf) {
            out.push_str(&format!("{:027x}\n", beat.pack()));
        }
        expected.push(inf);
    }
    let cfg_hex: String = config_writes(qnet, cfg.step_inputs())
        .iter()
        .map(|w| format!("{:08x}{:08x}\n", w.address, w.data))
        .collect();
    let mut in_hex = String::new();
    for x in inputs {
        let words = input_words(x, cfg.step_inputs());
        for (i, w) in words.iter().enumerate() {
            let last = u64::from(i + 1 == words.len());
            in_hex.push_str(&format!(
                "{:09x}\n",
                (last << INPUT_WORD_BITS) | u64::from(*w)
            ));
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
        u8::from(opts.stalls)
    );
    write(dir, "cfg.hex", &cfg_hex)?;
    write(dir, "in.hex", &in_hex)?;
    write(dir, "out.hex", &out)?;
    write(dir, "vectors.vh", &vh)?;
    write(dir, HOST_INTERFACE_INCLUDE, &verilog_include())?;
    write(dir, "nsm_tb.v", TESTBENCH)?;
    write_engine(dir, cfg, &opts.verilog)?;
    write(dir, "engine.json", &cfg.to_json())?;
    Ok(Prepared {
        dir: dir.to_path_buf(),
        expected,
    })
}

/// Writes the engine's Verilog and its lint waivers (`nsm_engine.v`, `nsm_engine.vlt`) and
/// the cell models that Verilog needs (found by the simulators and the lint as library
/// modules, `-y .`; a model the Verilog does not instantiate is never read).
pub fn write_engine(
    dir: &Path,
    cfg: &EngineConfig,
    opts: &VerilogOptions,
) -> Result<(), FlowError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let v = nsm_verilog::verilog(cfg, opts)?;
    let vlt = nsm_verilog::lint::vlt(&v, nsm_verilog::VERILOG_FILE, nsm_verilog::TOP);
    write(dir, nsm_verilog::VERILOG_FILE, &v)?;
    write(dir, nsm_verilog::VLT_FILE, &vlt)?;
    for (name, text) in nsm_verilog::cells::simulation_models(opts.cells) {
        write(dir, name, text)?;
    }
    Ok(())
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
pub fn run_verilator_timed(dir: &Path) -> Result<(TbSummary, f64), FlowError> {
    let verilator = Tool::VERILATOR.path()?;
    let compile = verilator_build(&verilator, &ENGINE_BENCH, "-O3", "obj_fast");
    exec(dir, Simulator::Verilator, &[compile])?;
    let start = std::time::Instant::now();
    let out = tool::exec(
        dir,
        &Cmd::new(dir.join("obj_fast/Vnsm_tb"), Vec::<String>::new()),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    write(dir, "verilator-fast.log", &out.log)?;
    match summary(&out.log) {
        Some(s) => Ok((s, seconds)),
        None => Err(FlowError::SimFailed {
            simulator: Simulator::Verilator,
            dir: dir.to_path_buf(),
            log: out.log,
        }),
    }
}

/// Simulates a prepared folder; `Ok` only if the testbench printed `NSM_TB PASS`.
pub fn run(dir: &Path, simulator: Simulator) -> Result<String, FlowError> {
    let cmds = sim_commands(simulator, &ENGINE_BENCH, "-O1")?;
    let log = exec(dir, simulator, &cmds)?;
    if summary(&log).is_some_and(|s| s.pass) {
        Ok(log)
    } else {
        Err(FlowError::SimFailed {
            simulator,
            dir: dir.to_path_buf(),
            log,
        })
    }
}
