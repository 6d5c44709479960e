//! One meaning of `p` from training to the engine: `p` is the probability that a synapse
//! transmits (`xi = 1`). At `p = 1/2` a swapped convention (training blanking out with
//! probability `p`, the engine transmitting with it) would go unseen, so these tests train at
//! `p = 1/4` and run the network on an engine whose gates open with `t / 2^k = 1/4`.

use std::path::{Path, PathBuf};
use std::process::Output;

use nsm_model::data::{MnistPaths, Split};
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::QNet;
use nsm_model::equations::{
    a_from_fixed, drive_from_mean, firing_probability, mean_preactivation, normalized_drive,
    row_norm, Noise,
};
use nsm_model::forward::{BinarizedSet, NoiseKey, Pass, Prepared};
use nsm_model::net::Network;

use super::{config_path, data_dir, edited_config, nsm, quantize_as, stderr};

/// Runs `nsm args`, expects success, and returns the process output.
fn ok(args: &[&str]) -> Output {
    let o = nsm(args);
    assert!(o.status.success(), "nsm {args:?} failed: {}", stderr(&o));
    o
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("one JSON object on stdout")
}

/// Trains a small network with `--transmit-p 0.25` (or its alias `--p` when `alias`) on the
/// first `limit` training images, into `dir/<name>.json`.
fn train_at_one_quarter(
    dir: &Path,
    name: &str,
    hidden: &str,
    limit: &str,
    epochs: &str,
    alias: bool,
) -> PathBuf {
    let out = dir.join(format!("{name}.json"));
    let flag = if alias { "--p" } else { "--transmit-p" };
    ok(&[
        "train",
        flag,
        "0.25",
        "--hidden",
        hidden,
        "--epochs",
        epochs,
        "--limit",
        limit,
        "--batch-size",
        "50",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let net: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(net["noise"]["kind"], "blank_out");
    assert_eq!(
        net["noise"]["transmit_p"], 0.25,
        "{flag} 0.25 must be the file's p"
    );
    out
}

/// The default engine with gates that open with `1 / 2^2` and 32 Monte Carlo passes.
fn quarter_engine(dir: &Path) -> PathBuf {
    edited_config(
        dir,
        "quarter",
        serde_json::json!({"blank_out": {"threshold_bits": 2, "threshold": 1}, "mc_samples": 32}),
    )
}

/// Binomial tolerance of a mean firing frequency over `count` pairs x `passes` passes, plus
/// the spread of the prediction within a bin.
fn firing_tolerance(predicted: f64, count: usize, passes: usize) -> f64 {
    0.02 + 4.0 * (predicted * (1.0 - predicted) / (count * passes) as f64).sqrt()
}

/// What the network files say about the first layer on the first `images` test images, read
/// with the library from the files the commands wrote: the float model's sampled firing
/// against `1/2 (1 + erf(x))` of the drive at the network's own `p` (the noise the network
/// was trained with), and how far the quantized network's drive at the engine's `p` lies from
/// that drive. Returns the bins checked, the largest firing deviation and the largest drive
/// difference.
fn float_firing_and_quantized_drive(
    net: &Path,
    q: &Path,
    cfg: &Path,
    images: usize,
) -> (usize, f64, f64) {
    let net = Network::load(net).unwrap();
    let cfg = EngineConfig::load(cfg).unwrap();
    let q = QNet::load(q, &cfg).unwrap();
    let test = MnistPaths::in_dir(&data_dir()).load(Split::Test).unwrap();
    let data = BinarizedSet::from_dataset(&test.take(images));
    let (l, ql) = (&net.hidden[0], &q.hidden[0]);
    let c_net = net.noise.unwrap().drive_scale();
    let p = cfg.transmit_p();
    let c_engine = Noise::BlankOut { transmit_p: p }.drive_scale();

    // every image repeated `passes` times, sampled once each
    let passes = 64;
    let batch: Vec<f32> = (0..images)
        .flat_map(|n| std::iter::repeat_n(data.row(n), passes).flatten().copied())
        .collect();
    let key = NoiseKey {
        seed: 7,
        domain: 0,
        a: 0,
        b: 0,
    };
    let z = Prepared::new(&net)
        .hidden_forward(0, &batch, images * passes, Pass::Sample, key, false)
        .z;

    let bins = 60;
    let (mut freq, mut pred, mut count) = (vec![0f64; bins], vec![0f64; bins], vec![0; bins]);
    let mut drive_diff = 0f64;
    for n in 0..images {
        let x_in = data.row(n);
        for i in 0..l.n_out {
            let s: f64 = l
                .row(i)
                .iter()
                .zip(x_in)
                .map(|(&w, &z)| f64::from(w * z))
                .sum();
            let norm = row_norm(l.row(i));
            let x = normalized_drive(f64::from(l.beta[i]), s, f64::from(l.b[i]), norm, c_net);
            let s_q: f64 = ql
                .row(i)
                .iter()
                .zip(x_in)
                .map(|(&w, &z)| f64::from(w) * f64::from(z))
                .sum();
            let a = a_from_fixed(ql.a[i], cfg.a_frac_bits);
            let mean = mean_preactivation(p, a, s_q, f64::from(ql.b[i]));
            let x_q = drive_from_mean(mean, c_engine, row_norm(ql.row(i)));
            if x.abs() < 3.0 {
                drive_diff = drive_diff.max((x - x_q).abs());
                let b = (((x + 3.0) / 6.0 * bins as f64) as usize).min(bins - 1);
                let fired = (0..passes)
                    .filter(|&k| z[(n * passes + k) * l.n_out + i] > 0.0)
                    .count();
                freq[b] += fired as f64 / passes as f64;
                pred[b] += firing_probability(x);
                count[b] += 1;
            }
        }
    }
    let mut checked = 0;
    let mut worst = 0f64;
    for b in (0..bins).filter(|&b| count[b] >= 40) {
        let (f, pr) = (freq[b] / count[b] as f64, pred[b] / count[b] as f64);
        let x = -3.0 + (b as f64 + 0.5) * 0.1;
        assert!(
            (f - pr).abs() <= firing_tolerance(pr, count[b], passes),
            "float model at x = {x:.2}: fires {f:.4}, 1/2 (1 + erf x) = {pr:.4} over {} pairs",
            count[b]
        );
        worst = worst.max((f - pr).abs());
        checked += 1;
    }
    (checked, worst, drive_diff)
}

#[test]
fn a_network_trained_at_p_one_quarter_keeps_its_error_and_firing_on_a_one_quarter_engine() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = train_at_one_quarter(d, "net", "64", "4000", "3", false);
    let cfg = quarter_engine(d);
    let (q, said) = quantize_as(d, &net, &cfg, "q");
    assert!(!said.contains("warning"), "same p on both sides: {said}");

    // The engine's gates open with 1/4: 64 PEs x 20,000 gates, standard deviation 0.0004.
    let g = json(&ok(&[
        "gates",
        "--config",
        cfg.to_str().unwrap(),
        "--gates",
        "20000",
        "--json",
    ]));
    assert_eq!(g["p"], 0.25);
    let open = g["open_frequency"].as_f64().unwrap();
    assert!(
        (open - 0.25).abs() < 0.002,
        "gates open with {open}, not 1/4"
    );

    // The same 1,000 test images, 32 passes each, on the float model and the bit-exact engine.
    let eval = |what: &str, file: &Path, extra: &[&str]| {
        let mut args = vec![
            "eval",
            what,
            file.to_str().unwrap(),
            "--limit",
            "1000",
            "--json",
        ];
        args.extend_from_slice(extra);
        json(&ok(&args))["test_error_pct"].as_f64().unwrap()
    };
    let float = eval("--net", &net, &["--mc", "32"]);
    let engine = eval("--qnet", &q, &["--config", cfg.to_str().unwrap()]);
    eprintln!("p = 1/4: float error {float}%, engine error {engine}%, gates open {open}");
    // Chance is 90%; the tolerance is about four standard deviations of the difference of two
    // classifiers that disagree on a few percent of the images.
    assert!(float < 30.0, "float error {float}%");
    assert!(
        (engine - float).abs() <= 2.5,
        "engine {engine}% against float {float}%"
    );

    // The first layer's neurons fire with 1/2 (1 + erf(x)) of their drive at p = 1/4.
    let svg = d.join("firing.svg");
    ok(&[
        "plot-firing",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--limit",
        "100",
        "--out",
        svg.to_str().unwrap(),
    ]);
    let bins: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(svg.with_extension("json")).unwrap())
            .unwrap();
    let mut checked = 0;
    let mut worst = 0f64;
    for b in bins["bins"].as_array().unwrap() {
        let count = b["count"].as_u64().unwrap();
        if count < 40 {
            continue;
        }
        let (x, f, pred) = (
            b["x"].as_f64().unwrap(),
            b["frequency"].as_f64().unwrap(),
            b["predicted"].as_f64().unwrap(),
        );
        assert!(
            (f - pred).abs() <= firing_tolerance(pred, count as usize, 32),
            "x = {x:.2}: fires {f:.4}, 1/2 (1 + erf x) = {pred:.4} over {count} pairs"
        );
        worst = worst.max((f - pred).abs());
        checked += 1;
    }
    eprintln!("engine firing: {checked} bins, largest |frequency - prediction| {worst:.4}");
    assert!(checked >= 30, "only {checked} bins with 40 or more pairs");

    // The same neurons in the float model, at the p of the network file, and the drive the
    // quantized network gives them at the engine's p: the chain float firing = P(x),
    // x = quantized x, engine firing = P(quantized x) holds only if every level means the same
    // p (a trainer that blanked out with p, or a quantizer that took p for 1 - p, breaks it).
    let (checked, worst, drive_diff) = float_firing_and_quantized_drive(&net, &q, &cfg, 100);
    eprintln!(
        "float firing: {checked} bins, largest |frequency - prediction| {worst:.4}; \
         largest |float x - quantized x| {drive_diff:.4}"
    );
    assert!(checked >= 30, "only {checked} bins with 40 or more pairs");
    // 8-bit weights move a drive by a few hundredths; 1 - p for p would move it by about 1
    assert!(
        drive_diff < 0.1,
        "quantization moved a drive by {drive_diff}"
    );
}

#[test]
fn quantizing_for_another_p_warns_with_both_values_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `--p` is the old name of `--transmit-p` and means the same p
    let net = train_at_one_quarter(d, "net", "8", "300", "1", true);
    let (_, said) = quantize_as(d, &net, &config_path(), "half");
    for part in [
        "warning: ",
        "trained with transmit probability p = 0.25 (noise.transmit_p)",
        "p = blank_out.threshold / 2^threshold_bits = 1/2^1 = 0.5",
        "blank_out {\"threshold_bits\": 2, \"threshold\": 1} runs it at its own p",
    ] {
        assert!(said.contains(part), "missing {part:?} in: {said}");
    }
    let (_, said) = quantize_as(d, &net, &quarter_engine(d), "quarter-q");
    assert!(!said.contains("warning"), "{said}");

    // A network file written before the rename (`blank_out_p`) loads with the same p.
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&net).unwrap()).unwrap();
    let p = j["noise"]
        .as_object_mut()
        .unwrap()
        .remove("transmit_p")
        .unwrap();
    j["noise"]["blank_out_p"] = p;
    let old = d.join("old.json");
    std::fs::write(&old, j.to_string()).unwrap();
    let (_, said) = quantize_as(d, &old, &quarter_engine(d), "old-quarter");
    assert!(!said.contains("warning"), "{said}");
    let (_, said) = quantize_as(d, &old, &config_path(), "old-half");
    assert!(said.contains("p = 0.25 (noise.transmit_p)"), "{said}");
}
