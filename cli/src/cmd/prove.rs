//! `nsm prove`: the engine's stream protocol and accumulator widths through yosys-smtbmc
//! (`nsm_flow::formal`).

use anyhow::{bail, Context, Result};
use nsm_flow::formal::{self, ProofOptions, Property};
use nsm_flow::WorkDir;
use nsm_model::engine::BitExact;
use serde_json::json;

use crate::configs;
use crate::flags::ProveArgs;

pub fn prove(a: ProveArgs) -> Result<()> {
    let loaded = configs::load(a.config.as_deref(), "formal")?;
    let cfg = loaded.cfg;
    if a.widths.len() < 2 || a.widths.contains(&0) {
        bail!(
            "--widths {}: give two or more layer widths of at least 1 (inputs first, classes last)",
            join(&a.widths)
        );
    }
    if a.depth == 0 || a.depth > 10_000 {
        bail!("--depth {}: give 1 to 10000 cycles", a.depth);
    }
    nsm_hdl::check_supported(&cfg).with_context(|| loaded.label.clone())?;
    // sizes within the configuration's limits before the network is built
    let widest = cfg.max_fan_in.max(cfg.max_neurons);
    if let Some(w) = a.widths.iter().find(|&&w| w > widest) {
        bail!(
            "--widths {}: a layer of {w} exceeds {} (max_fan_in {}, max_neurons {})",
            join(&a.widths),
            loaded.label,
            cfg.max_fan_in,
            cfg.max_neurons
        );
    }
    if a.widths.len() - 1 > cfg.max_layers {
        bail!(
            "--widths {}: {} layers exceed max_layers {} of {}",
            join(&a.widths),
            a.widths.len() - 1,
            cfg.max_layers,
            loaded.label
        );
    }
    let qnet = formal::sample_network(&cfg, &a.widths);
    BitExact::new(&cfg, &qnet)
        .with_context(|| format!("--widths {} on {}", join(&a.widths), loaded.label))?;
    let properties: Vec<Property> = match &a.property {
        Some(p) => p.iter().map(|p| p.property()).collect(),
        None => Property::ALL.to_vec(),
    };
    nsm_flow::tool::find_all(&[nsm_flow::Tool::YOSYS, formal::YOSYS_SMTBMC, formal::Z3])?;
    let work = WorkDir::new(a.work_dir.as_deref(), "prove")?;
    let verilog = formal::engine_verilog(&cfg)?;
    let opts = ProofOptions {
        depth: a.depth,
        cover: true,
    };
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for p in properties {
        eprintln!("proving {} ...", p.name());
        let r = formal::prove(&work.path().join(p.name()), &verilog, &cfg, &qnet, p, &opts)?;
        let status = match &r.failure {
            None => "proved".to_string(),
            Some(f) => {
                failed.push(p.name());
                format!("FAILED: {} at cycle {}", f.assertion, f.step)
            }
        };
        if !a.json {
            println!(
                "{:<18} {:>5} cycles  {:<40} {:>7.1} s{}",
                p.name(),
                r.depth,
                status,
                r.seconds,
                match (p, r.answered_at) {
                    (Property::ResetToIdle, _) => " (from any state)".to_string(),
                    (_, Some(c)) => format!("  (last beat taken at cycle {c})"),
                    (_, None) => "  (no inference completes within --depth)".to_string(),
                }
            );
        }
        rows.push(json!({
            "property": p.name(),
            "depth": r.depth,
            "proved": r.failure.is_none(),
            "failed_assertion": r.failure.as_ref().map(|f| f.assertion.clone()),
            "failed_cycle": r.failure.as_ref().map(|f| f.step),
            "last_beat_cycle": r.answered_at,
            "seconds": r.seconds,
        }));
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "config": loaded.label,
                "widths": a.widths,
                "proofs": rows,
            }))?
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} failed (each counterexample is <work-dir>/<property>/trace.vcd: run with --work-dir to keep it)",
            failed.join(", ")
        );
    }
    Ok(())
}

fn join(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}
