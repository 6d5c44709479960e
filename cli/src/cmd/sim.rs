//! `nsm sim`: test images through the cycle-accurate rust-hdl engine, or through the emitted
//! Verilog in Verilator (`nsm_flow::sim`), every result compared with the bit-exact model.

use anyhow::{bail, Result};
use nsm_flow::sim::RunOptions;
use nsm_flow::{Tool, WorkDir};
use nsm_model::data::Split;
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::BitExact;
use nsm_model::forward::BinarizedSet;
use nsm_sim::{CycleModel, EngineSim, LoadPath};
use serde_json::json;

use super::outputs;
use crate::configs;
use crate::flags::{SimArgs, SimEngine};

/// A binarized image as the engine's `+1`/`-1` inputs.
fn signs_of(row: &[f32]) -> Vec<i8> {
    row.iter().map(|&v| if v > 0.0 { 1 } else { -1 }).collect()
}

pub fn sim(a: SimArgs) -> Result<()> {
    if a.images == 0 {
        bail!("--images must be at least 1");
    }
    if a.engine == SimEngine::Verilator && a.vcd.is_some() {
        bail!("--vcd traces the rust-hdl engine; for Verilator, add --trace to the run.sh in --work-dir");
    }
    let mut out = outputs(a.data.files(Split::Test))?;
    out.inputs([&a.qnet, &a.config])?;
    if let Some(path) = &a.vcd {
        out.primary("--vcd", path)?;
    }
    if a.engine == SimEngine::Verilator {
        // found before the run folder is written
        Tool::VERILATOR.path()?;
    }
    let cfg = configs::load_required(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let images = a.images.min(data.len());
    if a.engine == SimEngine::Verilator {
        return sim_verilator(&a, &cfg, &q, &data, images);
    }
    let model = BitExact::new(&cfg, &q)?;
    let mut states = model.seeds().to_vec();
    let mut engine = EngineSim::new(&cfg)?;
    engine.load(
        &q,
        if a.load_through_port {
            LoadPath::Port
        } else {
            LoadPath::Backdoor
        },
    )?;
    // the trace is staged and goes into place once every image has run; a write error
    // (a full disk) ends the run with an error naming the file
    let vcd_error = |e: nsm_sim::SimError, path: &std::path::Path| -> anyhow::Error {
        match e {
            nsm_sim::SimError::Vcd(cause) => nsm_model::fsutil::write_error(path, cause).into(),
            other => other.into(),
        }
    };
    if let Some(path) = &a.vcd {
        let file = out.create(path)?;
        engine
            .trace_to(Box::new(file))
            .map_err(|e| vcd_error(e, path))?;
    }
    let cycle_model = CycleModel::new(&cfg, &q);
    let limit = cycle_model.total() * 4 + 10_000;
    let start = std::time::Instant::now();
    let first_cycle = engine.cycles;
    let (mut mismatches, mut errors, mut cycles) = (0usize, 0usize, 0u64);
    for n in 0..images {
        let x: Vec<i8> = signs_of(data.row(n));
        let expect = model.infer(&x, &mut states)?;
        let (got, c) = engine
            .infer::<rand_xoshiro::Xoshiro256PlusPlus>(&x, None, limit)
            .map_err(|e| match &a.vcd {
                Some(path) => vcd_error(e, path),
                None => e.into(),
            })?;
        cycles += c;
        if got != expect {
            mismatches += 1;
            let shown = |inf| nsm_sim::host::Reply::from_inference(inf, true).to_string();
            eprintln!(
                "image {n}: engine {}, bit-exact model {}",
                shown(&got),
                shown(&expect)
            );
        }
        if got.class != data.labels[n] as usize {
            errors += 1;
        }
        if !a.json {
            eprint!("\rimage {}/{images}", n + 1);
        }
    }
    if let Some(path) = &a.vcd {
        engine.finish_trace().map_err(|e| vcd_error(e, path))?;
    }
    out.commit()?;
    if !a.json {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    let total_cycles = engine.cycles - first_cycle;
    let outcome = SimOutcome {
        engine: "rust-hdl",
        images,
        mismatches,
        errors,
        cycles_per_inference: cycles as f64 / images as f64,
        simulated_cycles: total_cycles,
        seconds,
    };
    outcome.print(a.json, &cfg, &q);
    if mismatches > 0 {
        bail!("{mismatches} of {images} results differ from the bit-exact model");
    }
    Ok(())
}

/// What one `nsm sim` run measured, printed the same way whichever engine ran it.
struct SimOutcome {
    engine: &'static str,
    images: usize,
    /// Inputs whose result differs from the bit-exact model.
    mismatches: usize,
    /// Inputs classified wrongly.
    errors: usize,
    cycles_per_inference: f64,
    simulated_cycles: u64,
    seconds: f64,
}

impl SimOutcome {
    fn print(&self, as_json: bool, cfg: &EngineConfig, q: &QNet) {
        let model = CycleModel::new(cfg, q);
        let error_pct = 100.0 * self.errors as f64 / self.images as f64;
        let utilization = model.ideal_cycles / self.cycles_per_inference;
        let rate = self.simulated_cycles as f64 / self.seconds;
        if as_json {
            println!(
                "{}",
                json!({
                    "engine": self.engine,
                    "images": self.images,
                    "mismatches_vs_golden": self.mismatches,
                    "test_error_pct": error_pct,
                    "cycles_per_inference": self.cycles_per_inference,
                    "predicted_cycles_per_inference": model.total(),
                    "ideal_cycles_per_inference": model.ideal_cycles,
                    "utilization": utilization,
                    "cycles_per_second": rate,
                    "seconds": self.seconds,
                    "rows": cfg.rows, "cols": cfg.cols, "lanes": cfg.lanes, "mc_samples": cfg.mc_samples,
                    "network": q.widths(),
                })
            );
        } else {
            println!(
                "{} images on {}: {} mismatches vs the bit-exact model, {error_pct:.2}% test error, {:.0} cycles per inference (utilization {:.1}%), {rate:.0} simulated cycles/s",
                self.images,
                self.engine,
                self.mismatches,
                self.cycles_per_inference,
                100.0 * utilization
            );
        }
    }
}

fn sim_verilator(
    a: &SimArgs,
    cfg: &EngineConfig,
    q: &QNet,
    data: &BinarizedSet,
    images: usize,
) -> Result<()> {
    let work = WorkDir::new(a.work_dir.as_deref(), "verilator")?;
    let dir = work.path();
    let inputs = super::signs(data, images);
    let ran = nsm_flow::sim::prepare(dir, cfg, q, &inputs, &RunOptions::default())
        .and_then(|p| Ok((p, nsm_flow::sim::run_verilator_timed(dir)?)));
    let (prepared, (summary, seconds)) = match ran {
        Ok(r) => r,
        Err(e) => {
            // the error names the folder's replay script: keep it
            work.keep();
            return Err(e.into());
        }
    };
    let errors = prepared
        .expected
        .iter()
        .zip(&data.labels)
        .filter(|(inf, &l)| inf.class != l as usize)
        .count();
    drop(work);
    let outcome = SimOutcome {
        engine: "verilator",
        images,
        mismatches: summary.bad_images as usize,
        errors,
        cycles_per_inference: summary.compute_cycles as f64 / images as f64,
        simulated_cycles: summary.cycles,
        seconds,
    };
    outcome.print(a.json, cfg, q);
    if summary.bad_images > 0 || !summary.pass {
        bail!(
            "{} of {images} results differ from the bit-exact model",
            summary.bad_images
        );
    }
    Ok(())
}
