//! The bit-exact engine model's commands: `nsm quantize`, `nsm eval --qnet`, `nsm gates`,
//! `nsm plot-firing` and `nsm sweep`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use nsm_flow::plot::Chart;
use nsm_model::data::Split;
use nsm_model::engine::config::LfsrConfig;
use nsm_model::engine::cycles::CycleModel;
use nsm_model::engine::firing::firing_vs_drive;
use nsm_model::engine::gates::{
    check_gate_count, gate_frequency, neighbour_correlations, MAX_GATES,
};
use nsm_model::engine::memory::{memory_images, MemMap};
use nsm_model::engine::qnet::{self, QNet};
use nsm_model::engine::schedule::seed_spacing;
use nsm_model::engine::{uncertainty, BitExact};
use nsm_model::eval::{evaluate_mc, EvalOptions};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::Network;
use serde_json::json;

use super::{outputs, side_file};
use crate::configs;
use crate::flags::{EvalArgs, GatesArgs, PlotFiringArgs, QuantizeArgs, SweepArgs};
use nsm_model::engine::gates::{gates_table, max_abs_correlation};
use nsm_model::engine::sweep::{sweep_markdown, SweepPoint, SweepSetting};

pub fn quantize(a: QuantizeArgs) -> Result<()> {
    let side = |suffix: &str| side_file(&a.out, suffix);
    let mut out = outputs([&a.net, &a.config])?;
    for suffix in ["weights.hex", "neurons.hex", "memmap.json"] {
        out.file("--out", &side(suffix))?;
    }
    out.primary("--out", &a.out)?;
    let cfg = configs::load_required(&a.config)?;
    let net = Network::load(&a.net)?;
    let q = qnet::quantize(&net, &cfg)?;
    if let Some(w) = qnet::noise_mismatch(&net, &cfg) {
        eprintln!("warning: {w}");
    }
    let mem = memory_images(&q, &cfg);
    let memmap = MemMap::new(&cfg, &mem);
    // one set: the quantized network goes into place last, so a complete QNET.json always
    // comes with its own memory images
    out.write(&side("weights.hex"), mem.weights_hex.as_bytes())?;
    out.write(&side("neurons.hex"), mem.neurons_hex.as_bytes())?;
    out.write(
        &side("memmap.json"),
        serde_json::to_string_pretty(&memmap)?.as_bytes(),
    )?;
    out.write(&a.out, q.to_json().as_bytes())?;
    out.commit()?;
    let r = &q.report;
    eprintln!(
        "quantized {:?} to {}-bit weights: {} a_i and {} biases saturated ({} in the output layer); wrote {}",
        q.widths(),
        cfg.weight_bits,
        r.a_saturated,
        r.bias_saturated,
        r.output_bias_saturated,
        a.out.display()
    );
    Ok(())
}

pub fn eval_bit_exact(a: &EvalArgs, qpath: &Path) -> Result<()> {
    let cfg_path = a
        .config
        .as_ref()
        .expect("clap requires --config with --qnet");
    let mut cfg = configs::load_required(cfg_path)?;
    if let Some(mc) = a.mc {
        cfg.mc_samples = mc;
        cfg.validate().context("--mc")?;
    }
    if a.scale.is_some() {
        bail!("--scale applies to float networks (--net); a quantized row has no float scale");
    }
    let mut out = outputs(a.data.files(Split::Test))?;
    out.inputs([qpath, cfg_path])?;
    if let Some(p) = &a.outcomes {
        out.primary("--outcomes", p)?;
    }
    let q = QNet::load(qpath, &cfg)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let engine = BitExact::new(&cfg, &q)?;
    let report = engine.evaluate(&data)?;
    if let Some(p) = &a.outcomes {
        let rows: Vec<serde_json::Value> = report
            .outcomes
            .iter()
            .zip(&data.labels)
            .map(|(o, &label)| {
                json!({
                    "label": label, "class": o.inference.class, "passes": o.passes,
                    "votes": o.votes, "confidence": uncertainty::confidence(o),
                    "logit_sums": o.inference.logit_sums,
                })
            })
            .collect();
        out.write(p, serde_json::to_string(&rows)?.as_bytes())?;
        out.commit()?;
    }
    let rate = report.synapse_samples as f64 / report.seconds;
    // confidence: the reported class's vote frequency; ten bins as in Guo et al. (2017)
    let calibration = uncertainty::calibration(&report.outcomes, &data.labels, 10);
    // the cycle model at the passes each input ran (the rule's own cost not included)
    let cycles = CycleModel::new(&cfg, &q);
    let mean_cycles = cycles.mean_total(&report.outcomes);
    if a.json {
        println!(
            "{}",
            json!({
                "qnet": qpath,
                "config": cfg_path,
                "engine": "bit-exact",
                "test_error_pct": report.test_error_pct,
                "errors": report.errors,
                "images": report.images,
                "mc_samples": report.mc_samples,
                "early_stop": cfg.early_stop,
                "mean_passes": report.mean_passes,
                "mean_cycles_per_input": mean_cycles,
                "pass_histogram": report.pass_histogram,
                "mean_confidence": calibration.mean_confidence,
                "expected_calibration_error": calibration.ece,
                "synapse_samples": report.synapse_samples,
                "seconds": report.seconds,
                "synapse_samples_per_second": rate,
            })
        );
    } else {
        println!(
            "test error {:.2}% ({} of {} images, {} Monte Carlo samples{}, bit-exact engine model, {:.2e} synapse-samples/s)",
            report.test_error_pct,
            report.errors,
            report.images,
            report.mc_samples,
            if cfg.early_stop.is_some() {
                format!(" at most, {:.2} on average (early stop)", report.mean_passes)
            } else {
                String::new()
            },
            rate
        );
    }
    Ok(())
}

pub fn gates(a: GatesArgs) -> Result<()> {
    if a.gates < 100 {
        bail!("--gates must be at least 100 for meaningful statistics");
    }
    let cfg = configs::load(a.config.as_deref(), "default")?.cfg;
    // The correlation table reads 16 gates past the last one analysed.
    if check_gate_count(&cfg, a.gates.saturating_add(16)).is_err() {
        bail!(
            "--gates {}: at most {} gates per PE for {} PEs ({MAX_GATES} gates in all, counting \
             the 16 more per PE the lags read)",
            a.gates,
            (MAX_GATES / cfg.pes()).saturating_sub(16),
            cfg.pes()
        );
    }
    let spec = cfg.lfsr_spec()?;
    let freq = gate_frequency(&cfg, a.gates)?;
    let table = neighbour_correlations(&cfg, a.gates, 16, None)?;
    let spacing = seed_spacing(&spec, cfg.pes());
    let naive = match a.compare_spacing {
        Some(0) => bail!("--compare-spacing must be at least 1"),
        Some(d) => Some(neighbour_correlations(&cfg, a.gates, 16, Some(d))?),
        None => None,
    };
    let worst = max_abs_correlation;
    if a.json {
        println!(
            "{}",
            json!({
                "rows": cfg.rows, "cols": cfg.cols, "lfsr_width": spec.width(),
                "taps": spec.taps(), "threshold_bits": cfg.blank_out.threshold_bits,
                "threshold": cfg.blank_out.threshold, "p": cfg.transmit_p(),
                "gates_per_pe": a.gates, "seed_spacing_steps": spacing,
                "open_frequency": freq,
                "max_abs_correlation": worst(&table),
                "correlations": table,
                "compare": naive.as_ref().map(|t| json!({
                    "seed_spacing_steps": a.compare_spacing,
                    "max_abs_correlation": worst(t),
                    "correlations": t,
                })),
            })
        );
        return Ok(());
    }
    println!(
        "{}x{} PEs, LFSR width {} taps {:?}, p = {}/2^{} = {}, seeds {} steps apart, {} gates per PE",
        cfg.rows, cfg.cols, spec.width(), spec.taps(), cfg.blank_out.threshold,
        cfg.blank_out.threshold_bits, cfg.transmit_p(), spacing, a.gates
    );
    println!("open frequency {freq:.5} (p = {:.5})", cfg.transmit_p());
    println!();
    print!("{}", gates_table(&table, naive.as_deref()));
    println!();
    println!("largest |correlation|: {:.4}", worst(&table));
    Ok(())
}

pub fn plot_firing(a: PlotFiringArgs) -> Result<()> {
    let bins_file = a.out.with_extension("json");
    let mut out = outputs(a.data.files(Split::Test))?;
    out.inputs([&a.qnet, &a.config])?;
    out.primary("--out", &a.out)?;
    out.file("the bins of --out", &bins_file)?;
    let cfg = configs::load_required(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let images = if a.data.limit.is_some() {
        data.len()
    } else {
        data.len().min(200)
    };
    let engine = BitExact::new(&cfg, &q)?;
    let bins = firing_vs_drive(&engine, &data, images, 60, 3.0)?;
    let erf_curve: Vec<(f64, f64)> = (0..=120)
        .map(|i| {
            let x = -3.0 + 0.05 * f64::from(i);
            (x, nsm_model::equations::firing_probability(x))
        })
        .collect();
    let title = format!(
        "First-layer firing, {}-bit weights, LFSR {}, p = {}, {} images x {} passes",
        cfg.weight_bits,
        cfg.lfsr.width,
        cfg.transmit_p(),
        images,
        cfg.mc_samples
    );
    let chart = Chart {
        title: &title,
        x_label: "drive x = ((p + a) S + b) / (sqrt(2p(1-p)) ||W||)",
        y_label: "firing frequency",
        x_range: (-3.0, 3.0),
        y_range: (0.0, 1.0),
        lines: vec![("1/2 (1 + erf(x))", erf_curve)],
        dots: vec![(
            "bit-exact engine (mean per bin)",
            bins.iter().map(|b| (b.x, b.frequency)).collect(),
        )],
    };
    let worst = bins
        .iter()
        .filter(|b| b.count >= 20)
        .map(|b| (b.frequency - b.predicted).abs())
        .fold(0f64, f64::max);
    out.write(
        &bins_file,
        serde_json::to_string_pretty(&json!({
            "bins": bins, "max_abs_deviation_bins_with_20_or_more": worst,
        }))?
        .as_bytes(),
    )?;
    out.write(&a.out, chart.to_svg().as_bytes())?;
    out.commit()?;
    eprintln!(
        "wrote {} ({} bins; largest |frequency - erf prediction| over bins with >= 20 samples: {worst:.4})",
        a.out.display(),
        bins.len()
    );
    Ok(())
}

pub fn sweep(a: SweepArgs) -> Result<()> {
    let numbers_file = a.out.with_extension("json");
    let mut out = outputs(a.data.files(Split::Test))?;
    out.inputs([Some(&a.net), a.config.as_ref()].into_iter().flatten())?;
    out.primary("--out", &a.out)?;
    out.file("the numbers of --out", &numbers_file)?;
    let base = configs::load(a.config.as_deref(), "default")?.cfg;
    let net = Network::load(&a.net)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let float = evaluate_mc(
        &net,
        &data,
        EvalOptions {
            mc_samples: a.mc.unwrap_or(base.mc_samples),
            seed: 0,
        },
    )?;
    if let Some(w) = qnet::noise_mismatch(&net, &base) {
        eprintln!("warning: {w}");
    }
    let widths = [8u32, 16, 32];
    let weight_bits: Vec<u32> = (2..=8).collect();
    let mut results = Vec::new();
    for &wb in &weight_bits {
        for &lw in &widths {
            let mut cfg = base.clone();
            cfg.weight_bits = wb;
            cfg.lfsr = LfsrConfig {
                width: lw,
                taps: None,
            };
            if let Some(mc) = a.mc {
                cfg.mc_samples = mc;
            }
            cfg.validate()
                .with_context(|| format!("sweep point {wb}-bit weights, LFSR {lw}"))?;
            let q = qnet::quantize(&net, &cfg)?;
            let r = BitExact::new(&cfg, &q)?.evaluate(&data)?;
            eprintln!(
                "weight bits {wb}, LFSR {lw}: {:.2}% ({:.1} s)",
                r.test_error_pct, r.seconds
            );
            results.push(SweepPoint {
                weight_bits: wb,
                lfsr_width: lw,
                test_error_pct: r.test_error_pct,
                errors: r.errors,
                a_saturated: q.report.a_saturated,
                bias_saturated: q.report.bias_saturated,
            });
        }
    }
    let setting = SweepSetting {
        images: data.len(),
        mc_samples: a.mc.unwrap_or(base.mc_samples),
        rows: base.rows,
        cols: base.cols,
        p: base.transmit_p(),
        float_test_error_pct: float.test_error_pct,
    };
    let md = sweep_markdown(&setting, &weight_bits, &widths, &results);
    let points: Vec<serde_json::Value> = results
        .iter()
        .map(|p| {
            json!({
                "weight_bits": p.weight_bits, "lfsr_width": p.lfsr_width,
                "test_error_pct": p.test_error_pct, "errors": p.errors,
                "a_saturated": p.a_saturated, "bias_saturated": p.bias_saturated,
            })
        })
        .collect();
    out.write(
        &numbers_file,
        serde_json::to_string_pretty(&json!({
            "float_test_error_pct": float.test_error_pct, "points": points,
        }))?
        .as_bytes(),
    )?;
    out.write(&a.out, md.as_bytes())?;
    out.commit()?;
    print!("{md}");
    Ok(())
}
