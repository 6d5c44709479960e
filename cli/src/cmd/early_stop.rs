//! `nsm early-stop-sweep`: test error against mean Monte Carlo passes on the bit-exact model,
//! the stopping rule's vote margin swept beside fixed pass counts, and the reliability diagram
//! of the engine's votes (`docs/engine-spec.md`, section 4, "Early stop").

use anyhow::{bail, Context, Result};
use nsm_flow::plot::{side_by_side, Chart};
use nsm_model::data::Split;
use nsm_model::engine::config::{EarlyStop, EngineConfig};
use nsm_model::engine::cycles::CycleModel;
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::uncertainty::{calibration, Calibration};
use nsm_model::engine::{BitExact, BitExactReport};
use nsm_model::forward::BinarizedSet;
use serde_json::json;

use super::{outputs, side_file};
use crate::configs;
use crate::flags::EarlyStopSweepArgs;

/// One evaluated point of the sweep.
struct Point {
    label: String,
    early_stop: Option<EarlyStop>,
    mc_samples: usize,
    report: BitExactReport,
    calibration: Calibration,
    /// The cycle model's cycles per input at the passes each input ran.
    mean_cycles: f64,
}

pub fn early_stop_sweep(a: EarlyStopSweepArgs) -> Result<()> {
    let svg = side_file(&a.out, "svg");
    let numbers = a.out.with_extension("json");
    let mut out = outputs(a.data.files(Split::Test))?;
    out.inputs([&a.qnet, &a.config])?;
    out.primary("--out", &a.out)?;
    out.file("the figure of --out", &svg)?;
    out.file("the numbers of --out", &numbers)?;
    let base = configs::load_required(&a.config)?;
    if a.margins.is_empty() && a.fixed.is_empty() {
        bail!("--margins and --fixed are both empty: nothing to evaluate");
    }
    let mut cfgs: Vec<(String, EngineConfig)> = Vec::new();
    for &k in &a.fixed {
        let cfg = EngineConfig {
            mc_samples: k,
            early_stop: None,
            ..base.clone()
        };
        cfg.validate().with_context(|| format!("--fixed {k}"))?;
        cfgs.push((format!("fixed K = {k}"), cfg));
    }
    for &m in &a.margins {
        let cfg = EngineConfig {
            early_stop: Some(EarlyStop {
                vote_margin: m,
                min_passes: a.min_passes,
            }),
            ..base.clone()
        };
        cfg.validate()
            .with_context(|| format!("--margins {m} --min-passes {}", a.min_passes))?;
        cfgs.push((format!("vote margin {m}"), cfg));
    }
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let mut points = Vec::new();
    for (label, cfg) in cfgs {
        let q = QNet::load(&a.qnet, &cfg)?;
        let report = BitExact::new(&cfg, &q)?.evaluate(&data)?;
        let calibration = calibration(&report.outcomes, &data.labels, 10);
        let model = CycleModel::new(&cfg, &q);
        let mean_cycles = model.mean_total(&report.outcomes);
        eprintln!(
            "{label}: {:.2}% test error, {:.2} mean passes, ECE {:.4} ({:.0} s)",
            report.test_error_pct, report.mean_passes, calibration.ece, report.seconds
        );
        points.push(Point {
            label,
            early_stop: cfg.early_stop,
            mc_samples: cfg.mc_samples,
            report,
            calibration,
            mean_cycles,
        });
    }
    let md = markdown(&a, &base, data.len(), &points);
    out.write(&svg, figure(&points).as_bytes())?;
    let rows: Vec<serde_json::Value> = points
        .iter()
        .map(|p| {
            json!({
                "label": p.label, "early_stop": p.early_stop, "mc_samples": p.mc_samples,
                "test_error_pct": p.report.test_error_pct, "errors": p.report.errors,
                "mean_passes": p.report.mean_passes, "pass_histogram": p.report.pass_histogram,
                "calibration": p.calibration, "mean_cycles_per_input": p.mean_cycles,
            })
        })
        .collect();
    out.write(
        &numbers,
        serde_json::to_string_pretty(&json!({"images": data.len(), "points": rows}))?.as_bytes(),
    )?;
    out.write(&a.out, md.as_bytes())?;
    out.commit()?;
    print!("{md}");
    Ok(())
}

fn markdown(
    a: &EarlyStopSweepArgs,
    base: &EngineConfig,
    images: usize,
    points: &[Point],
) -> String {
    let mut md = format!(
        "Bit-exact engine model, `{}` on `{}` ({} rows: the rule judges after every {} passes), {images} test images. Confidence: the vote frequency of the reported class; ECE over 10 bins. Cycles: the cycle model at the groups each input ran (the rule's own cost, which the hardware does not build yet, not included).\n\n| setting | max passes | test error | mean passes | passes (count of inputs) | mean confidence | ECE | cycles per input (cycle model) |\n|---|---|---|---|---|---|---|---|\n",
        a.qnet.display(),
        a.config.display(),
        base.rows,
        base.rows
    );
    for p in points {
        let hist: Vec<String> = p
            .report
            .pass_histogram
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        md.push_str(&format!(
            "| {} | {} | {:.2}% | {:.2} | {} | {:.3} | {:.4} | {:.0} |\n",
            p.label,
            p.mc_samples,
            p.report.test_error_pct,
            p.report.mean_passes,
            hist.join(", "),
            p.calibration.mean_confidence,
            p.calibration.ece,
            p.mean_cycles
        ));
    }
    md.push_str(&format!(
        "\nCommand: `nsm early-stop-sweep --qnet {} --config {} --margins {} --min-passes {} --fixed {} --out {}`\n",
        a.qnet.display(),
        a.config.display(),
        a.margins.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(","),
        a.min_passes,
        a.fixed.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(","),
        a.out.display()
    ));
    md
}

/// Test error against mean passes (the rule's points as a line, fixed K as dots) beside the
/// reliability diagram of the first rule point (of the last fixed point without one).
fn figure(points: &[Point]) -> String {
    let curve = |adaptive: bool| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.early_stop.is_some() == adaptive)
            .map(|p| (p.report.mean_passes, p.report.test_error_pct))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    };
    let max_x = points
        .iter()
        .map(|p| p.report.mean_passes)
        .fold(1.0, f64::max);
    let max_y = points
        .iter()
        .map(|p| p.report.test_error_pct)
        .fold(1.0, f64::max);
    let error = Chart {
        title: "test error against mean Monte Carlo passes",
        x_label: "mean passes per input",
        y_label: "test error (%)",
        x_range: (0.0, max_x * 1.05),
        y_range: (0.0, max_y * 1.2),
        lines: vec![("early stop (vote margin swept)", curve(true))],
        dots: vec![("fixed passes", curve(false))],
    };
    let shown = points
        .iter()
        .find(|p| p.early_stop.is_some())
        .or(points.last())
        .expect("at least one point");
    let title = format!("reliability: {}", shown.label);
    let filled: Vec<(f64, f64)> = shown
        .calibration
        .bins
        .iter()
        .filter(|b| b.inputs > 0)
        .map(|b| (b.confidence, b.accuracy))
        .collect();
    let reliability = Chart {
        title: &title,
        x_label: "confidence (vote frequency of the reported class)",
        y_label: "accuracy",
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        lines: vec![("perfect calibration", vec![(0.0, 0.0), (1.0, 1.0)])],
        dots: vec![("bins (mean confidence, accuracy)", filled)],
    };
    side_by_side(&error, &reliability)
}
