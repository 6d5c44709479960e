//! `gen-verilog`: writes the NSM engine's Verilog, memory images and manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::QNet;
use nsm_verilog::cells::CellsArg;
use nsm_verilog::VerilogOptions;

/// Generate the Verilog of an NSM engine (top module `nsm_engine`), its manifest.json and,
/// with --qnet, the $readmemh memory images of a quantized network.
#[derive(Debug, Parser)]
#[command(name = "gen-verilog", version)]
struct Args {
    /// Engine configuration (nsm-engine/1 JSON).
    #[arg(long, value_name = "ENGINE.json")]
    config: PathBuf,
    /// Quantized network whose memory images to write too.
    #[arg(long, value_name = "QNET.json")]
    qnet: Option<PathBuf>,
    /// Also write the on-chip learning update unit (nsm_update_unit.v, nsm_update_unit.vlt).
    #[arg(long)]
    update_unit: bool,
    /// Learning formats of the update unit (nsm-learn/1 JSON) [built-in defaults].
    #[arg(long, value_name = "LEARN.json", requires = "update_unit")]
    learn: Option<PathBuf>,
    /// How the PEs' sums are written: portable Verilog, or the ECP5's carry cells (CCU2C)
    /// instantiated directly, for synth_ecp5 (fewer LUTs; simulators take the CCU2C.v model
    /// written beside it).
    #[arg(long, value_enum, default_value_t = CellsArg::Portable)]
    cells: CellsArg,
    /// Folder to write into (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

fn run(args: Args) -> Result<()> {
    // everything is read, checked and generated before the first file is written
    let cfg = EngineConfig::load(&args.config)?;
    let qnet = match &args.qnet {
        Some(p) => Some(QNet::load(p, &cfg)?),
        None => None,
    };
    let opts = VerilogOptions {
        cells: args.cells.into(),
        ..Default::default()
    };
    let mut generated = nsm_verilog::generate(&cfg, qnet.as_ref(), &opts)?;
    if args.update_unit {
        let learn = match &args.learn {
            Some(p) => nsm_model::learn::LearnConfig::load(p)?,
            None => nsm_model::learn::LearnConfig::default(),
        };
        let spec =
            nsm_model::learn::UpdateSpec::new(&cfg, &learn).with_context(|| match &args.learn {
                Some(p) => format!("--learn {}", p.display()),
                None => "the built-in learning formats".to_string(),
            })?;
        let v = nsm_verilog::update_unit_verilog(&spec)?;
        let waivers = nsm_verilog::update_unit_vlt(&v);
        // before the manifest, which stays the last file of the folder
        let at = generated.files.len() - 1;
        generated
            .files
            .insert(at, (nsm_verilog::UPDATE_VERILOG_FILE.to_string(), v));
        generated
            .files
            .insert(at + 1, (nsm_verilog::UPDATE_VLT_FILE.to_string(), waivers));
    }
    let mut inputs = vec![args.config.as_path()];
    inputs.extend(args.qnet.as_deref());
    inputs.extend(args.learn.as_deref());
    let mut set = nsm_verilog::output_set(&generated, &args.out_dir, "--out-dir", &inputs)?;
    for (name, text) in &generated.files {
        set.write(&args.out_dir.join(name), text.as_bytes())?;
    }
    set.commit()?;
    for (name, text) in &generated.files {
        eprintln!(
            "wrote {} ({} bytes)",
            args.out_dir.join(name).display(),
            text.len()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
