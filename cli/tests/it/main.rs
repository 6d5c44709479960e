//! End-to-end tests of the `nsm` binary: a tiny train/eval round trip, and every kind of bad
//! input giving a clear message and a non-zero exit without leaving files behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod early_stop;
mod json_errors;
mod outputs;
mod prove;
mod qat;
mod transmit_p;

fn nsm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nsm"))
        .args(args)
        .env_remove("NSM_MNIST_DIR")
        .output()
        .expect("the nsm binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `nsm args`, expects failure, and returns stderr.
fn fails(args: &[&str]) -> String {
    let o = nsm(args);
    assert!(
        !o.status.success(),
        "nsm {args:?} should fail but exited 0; stdout: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    stderr(&o)
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist-10k")
}

/// Trains a tiny network (1,000 images, 3 epochs of 20 batches) into `dir`.
fn tiny_net(dir: &Path) -> PathBuf {
    let out = dir.join("net.json");
    let o = nsm(&[
        "train",
        "--hidden",
        "24",
        "--epochs",
        "3",
        "--limit",
        "1000",
        "--batch-size",
        "50",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    out
}

#[test]
fn train_then_eval_json_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let o = nsm(&[
        "eval",
        "--net",
        net.to_str().unwrap(),
        "--mc",
        "5",
        "--limit",
        "100",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(v["images"], 100);
    assert_eq!(v["mc_samples"], 5);
    let err = v["test_error_pct"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&err));
    // A tiny network after three short epochs is far better than chance (90% error).
    assert!(err < 60.0, "test error {err}%");

    // Scaling rows and biases by 0.1 does not change the result (self-normalization).
    let o2 = nsm(&[
        "eval",
        "--net",
        net.to_str().unwrap(),
        "--mc",
        "5",
        "--limit",
        "100",
        "--json",
        "--scale",
        "0.1",
    ]);
    let v2: serde_json::Value = serde_json::from_slice(&o2.stdout).unwrap();
    let err2 = v2["test_error_pct"].as_f64().unwrap();
    assert!((err - err2).abs() <= 2.0, "unscaled {err}%, scaled {err2}%");

    // The network file records its schema and how it was trained.
    let text = std::fs::read_to_string(&net).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["schema"], "nsm-net/1");
    assert_eq!(j["model"], "nsm");
    assert_eq!(j["training"]["options"]["hidden"][0], 24);
}

#[test]
fn eval_prints_a_sentence_without_json() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let o = nsm(&[
        "eval",
        "--net",
        net.to_str().unwrap(),
        "--mc",
        "2",
        "--limit",
        "20",
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("test error "), "{out}");
}

#[test]
fn missing_idx_file_is_named() {
    let e = fails(&[
        "eval",
        "--net",
        "whatever.json",
        "--image-file",
        "/nonexistent/imgs.idx",
    ]);
    // the network is read first; give it a valid one
    assert!(e.contains("whatever.json"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let e = fails(&[
        "eval",
        "--net",
        net.to_str().unwrap(),
        "--image-file",
        "/nonexistent/imgs.idx",
    ]);
    assert!(e.contains("/nonexistent/imgs.idx"), "{e}");
}

#[test]
fn truncated_and_wrong_magic_idx_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data_dir().join("test-images-idx3-ubyte.gz")).unwrap();
    let mut raw = Vec::new();
    {
        use std::io::Read;
        flate2::read::GzDecoder::new(&good[..])
            .read_to_end(&mut raw)
            .unwrap();
    }
    let truncated = dir.path().join("truncated.idx");
    std::fs::write(&truncated, &raw[..raw.len() / 2]).unwrap();
    let out = dir.path().join("n.json");
    let e = fails(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--quiet",
        "--image-file",
        truncated.to_str().unwrap(),
        "--label-file",
        data_dir()
            .join("test-labels-idx1-ubyte.gz")
            .to_str()
            .unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("truncated"), "{e}");
    assert!(!out.exists());

    let mut bad = raw.clone();
    bad[2] = 0x0d; // float type code instead of unsigned byte
    let wrong = dir.path().join("wrong.idx");
    std::fs::write(&wrong, &bad).unwrap();
    let e = fails(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--quiet",
        "--image-file",
        wrong.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("type code"), "{e}");

    let mut bad = raw;
    bad[0] = 0x42;
    std::fs::write(&wrong, &bad).unwrap();
    let e = fails(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--quiet",
        "--image-file",
        wrong.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("magic"), "{e}");
    assert!(!out.exists());
}

#[test]
fn bad_network_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    std::fs::write(&p, "{ not json").unwrap();
    let e = fails(&["eval", "--net", p.to_str().unwrap()]);
    assert!(
        e.contains("invalid network JSON") && e.contains("bad.json"),
        "{e}"
    );

    std::fs::write(&p, r#"{"schema": "nsm-net/99"}"#).unwrap();
    let e = fails(&["eval", "--net", p.to_str().unwrap()]);
    assert!(e.contains("nsm-net/99"), "{e}");
    // a tag of the wrong type is shown as written, not called missing
    std::fs::write(&p, r#"{"schema": 1}"#).unwrap();
    let e = fails(&["eval", "--net", p.to_str().unwrap()]);
    assert!(
        e.contains("1 (not a string)") && !e.contains("<missing>"),
        "{e}"
    );

    // Structurally valid JSON whose sizes disagree.
    let net = tiny_net(dir.path());
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&net).unwrap()).unwrap();
    j["hidden"][0]["n_out"] = serde_json::json!(0);
    std::fs::write(&p, j.to_string()).unwrap();
    let e = fails(&["eval", "--net", p.to_str().unwrap()]);
    assert!(e.contains("hidden layer 0 n_out is 0"), "{e}");

    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&net).unwrap()).unwrap();
    j["noise"]["transmit_p"] = serde_json::json!(1.5);
    std::fs::write(&p, j.to_string()).unwrap();
    let e = fails(&["eval", "--net", p.to_str().unwrap()]);
    assert!(e.contains("between 0 and 1"), "{e}");
}

#[test]
fn zero_size_layers_and_bad_p_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.json");
    let o = out.to_str().unwrap();
    let e = fails(&["train", "--hidden", "300,0,300", "--out", o]);
    assert!(e.contains("hidden layer 1 is 0"), "{e}");
    for p in ["0", "1", "1.5", "-0.2"] {
        let e = fails(&["train", "--p", p, "--out", o]);
        assert!(e.contains("strictly between 0 and 1"), "p={p}: {e}");
    }
    let e = fails(&["train", "--model", "gnsm", "--sigma", "0", "--out", o]);
    assert!(e.contains("sigma"), "{e}");
    let e = fails(&["train", "--batch-size", "0", "--out", o]);
    assert!(e.contains("batch size"), "{e}");
    assert!(!out.exists(), "nothing may be written on refusal");
}

/// Messages are plain text: no Rust debug text (`Some(3)`, `None`, `BlankOut { .. }`,
/// `Inference { class: .. }`) in what the user reads.
#[test]
fn refusals_read_as_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let n = net.to_str().unwrap();
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&net).unwrap()).unwrap();
    j["model"] = serde_json::json!("gnsm");
    let gnsm = dir.path().join("gnsm.json");
    std::fs::write(&gnsm, j.to_string()).unwrap();
    let q = dir.path().join("q.json");
    let messages = [
        fails(&["eval", "--net", gnsm.to_str().unwrap()]),
        fails(&["eval", "--net", n, "--scale", "1e39"]),
        fails(&["eval", "--net", n, "--image-file", "/nonexistent/x.idx"]),
        fails(&["train", "--transmit-p", "1.5", "--out", q.to_str().unwrap()]),
        fails(&["train", "--p", "0", "--out", q.to_str().unwrap()]),
    ];
    let expected = [
        "model gnsm does not go with noise blank_out",
        "--scale 1e39 makes ",
        "loading the test split",
        "--transmit-p: transmit probability p (xi = 1) must lie strictly between 0 and 1, got 1.5",
        "got 0",
    ];
    for (m, want) in messages.iter().zip(expected) {
        assert!(m.contains(want), "{want:?} missing: {m}");
        for debug in ["Some(", "None", "{ ", " }", "BlankOut", "Gaussian {"] {
            assert!(!m.contains(debug), "debug text {debug:?} in: {m}");
        }
    }
}

#[test]
fn missing_output_folder_is_refused_before_training() {
    let e = fails(&["train", "--out", "/nonexistent-folder/net.json"]);
    assert!(e.contains("/nonexistent-folder"), "{e}");
}

#[test]
fn eval_refuses_zero_samples_and_bad_scale() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let n = net.to_str().unwrap();
    assert!(fails(&["eval", "--net", n, "--mc", "0"]).contains("--mc"));
    assert!(fails(&["eval", "--net", n, "--scale", "-1"]).contains("--scale"));
    assert!(fails(&["eval", "--net", n, "--scale", "0"]).contains("--scale"));
    // a factor that overflows or flushes the f32 weights is the flag's fault, not the file's
    let e = fails(&["eval", "--net", n, "--scale", "1e39"]);
    assert!(
        e.contains("--scale 1e39 makes ") && e.contains(" infinite in f32"),
        "{e}"
    );
    assert!(!e.contains("invalid network"), "{e}");
    let e = fails(&["eval", "--net", n, "--scale", "1e-50"]);
    assert!(e.contains("--scale 1e-50 rounds weight w["), "{e}");
    assert!(!e.contains("invalid network"), "{e}");
}

fn config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/default.json")
}

/// The default engine configuration with the fields of `edits` replaced, written to
/// `dir/<name>.json`.
fn edited_config(dir: &Path, name: &str, edits: serde_json::Value) -> PathBuf {
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_path()).unwrap()).unwrap();
    for (k, v) in edits.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

/// A 1x2 engine with small memories, quick to place and route, written into `dir`.
fn tiny_synth_config(dir: &Path) -> PathBuf {
    edited_config(
        dir,
        "tiny",
        serde_json::json!({"rows": 1, "cols": 2, "max_fan_in": 16, "max_neurons": 16,
            "max_layers": 2, "weight_memory_words": 64, "neuron_memory_words": 32,
            "mc_samples": 2}),
    )
}

/// `nsm quantize` of `net` for the engine configuration `cfg`, into `dir/q.json`.
fn quantize(dir: &Path, net: &Path, cfg: &Path) -> PathBuf {
    quantize_as(dir, net, cfg, "q").0
}

/// `nsm quantize` of `net` for `cfg` into `dir/<name>.json`: the file and what was printed on
/// stderr.
fn quantize_as(dir: &Path, net: &Path, cfg: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.json"));
    let o = nsm(&[
        "quantize",
        "--net",
        net.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "quantize failed: {}", stderr(&o));
    (out, stderr(&o))
}

/// Quantizes the tiny network for the default engine into `dir`.
fn tiny_qnet(dir: &Path) -> PathBuf {
    let net = tiny_net(dir);
    quantize(dir, &net, &config_path())
}

#[test]
fn quantize_writes_qnet_and_memory_images_and_eval_runs_them() {
    let dir = tempfile::tempdir().unwrap();
    let q = tiny_qnet(dir.path());
    for side in ["q.weights.hex", "q.neurons.hex", "q.memmap.json"] {
        assert!(dir.path().join(side).exists(), "{side} missing");
    }
    let weights = std::fs::read_to_string(dir.path().join("q.weights.hex")).unwrap();
    // 784 -> 24 -> 10 on 8 columns: 24*98 + 10*3 words of 8 x 8 bits = 16 hex digits
    assert_eq!(weights.lines().count(), 24 * 98 + 10 * 3);
    assert!(weights.lines().all(|l| l.len() == 16));
    let o = nsm(&[
        "eval",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        config_path().to_str().unwrap(),
        "--mc",
        "8",
        "--limit",
        "50",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"], 50);
    assert_eq!(v["mc_samples"], 8);
    assert_eq!(v["engine"], "bit-exact");
    assert!(v["test_error_pct"].as_f64().unwrap() < 60.0, "{v}");
}

#[test]
fn engine_inputs_are_validated_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let q = tiny_qnet(dir.path());
    let qs = q.to_str().unwrap();
    let bad_cfg = dir.path().join("bad.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_path()).unwrap()).unwrap();
    cfg["blank_out"] = serde_json::json!({"threshold_bits": 4, "threshold": 16});
    std::fs::write(&bad_cfg, cfg.to_string()).unwrap();
    let e = fails(&["eval", "--qnet", qs, "--config", bad_cfg.to_str().unwrap()]);
    assert!(e.contains("threshold = 16 must be below 2^4"), "{e}");

    // a quantized network made for 8-bit weights does not run on a 6-bit engine
    cfg["blank_out"] = serde_json::json!({"threshold_bits": 1, "threshold": 1});
    cfg["weight_bits"] = serde_json::json!(6);
    std::fs::write(&bad_cfg, cfg.to_string()).unwrap();
    let e = fails(&["eval", "--qnet", qs, "--config", bad_cfg.to_str().unwrap()]);
    assert!(e.contains("weight_bits = 8"), "{e}");

    std::fs::write(&bad_cfg, "{\"schema\": \"nsm-engine/1\"").unwrap();
    let e = fails(&["gates", "--config", bad_cfg.to_str().unwrap()]);
    assert!(e.contains("invalid engine configuration JSON"), "{e}");

    // --qnet needs --config; --net and --qnet exclude each other
    assert!(!nsm(&["eval", "--qnet", qs]).status.success());
    let out = dir.path().join("never.json");
    let e = fails(&[
        "quantize",
        "--net",
        "/nonexistent/net.json",
        "--config",
        config_path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("/nonexistent/net.json"), "{e}");
    assert!(!out.exists());
}

#[test]
fn quantize_refuses_stnn_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("stnn.json");
    let o = nsm(&[
        "train",
        "--model",
        "stnn",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--limit",
        "200",
        "--quiet",
        "--out",
        net.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("q.json");
    let e = fails(&[
        "quantize",
        "--net",
        net.to_str().unwrap(),
        "--config",
        config_path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("stnn"), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "only the network may remain: {left:?}");
}

#[test]
fn gates_prints_a_correlation_table_within_bounds() {
    let o = nsm(&["gates", "--gates", "20000", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["correlations"].as_array().unwrap().len(), 17);
    assert!(v["max_abs_correlation"].as_f64().unwrap() <= 0.05);
    assert!((v["open_frequency"].as_f64().unwrap() - 0.5).abs() < 0.01);
    let o = nsm(&["gates", "--gates", "2000"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("| 16 |"), "{text}");
}

#[test]
fn plot_firing_writes_svg_and_bins() {
    let dir = tempfile::tempdir().unwrap();
    let q = tiny_qnet(dir.path());
    let svg = dir.path().join("firing.svg");
    let o = nsm(&[
        "plot-firing",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        config_path().to_str().unwrap(),
        "--limit",
        "5",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("<polyline") && text.contains("<circle"));
    let bins: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(svg.with_extension("json")).unwrap())
            .unwrap();
    assert!(!bins["bins"].as_array().unwrap().is_empty());
}

#[test]
fn sim_runs_the_rust_hdl_engine_and_reports_zero_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    // a small engine keeps the cycle-accurate run short: 2x8 array, 2 passes
    let cfg_path = edited_config(
        dir.path(),
        "small",
        serde_json::json!({"rows": 2, "mc_samples": 2}),
    );
    let q = quantize(dir.path(), &net, &cfg_path);
    let vcd = dir.path().join("trace.vcd");
    let o = nsm(&[
        "sim",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg_path.to_str().unwrap(),
        "--images",
        "2",
        "--json",
        "--load-through-port",
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["engine"], "rust-hdl");
    assert_eq!(v["images"], 2);
    assert_eq!(v["mismatches_vs_golden"], 0);
    assert_eq!(
        v["cycles_per_inference"].as_f64().unwrap(),
        v["predicted_cycles_per_inference"].as_f64().unwrap()
    );
    let u = v["utilization"].as_f64().unwrap();
    assert!(u > 0.5 && u <= 1.0, "utilization {u}");
    assert!(v["cycles_per_second"].as_f64().unwrap() > 0.0);
    let trace = std::fs::read_to_string(&vcd).unwrap();
    assert!(
        trace.contains("$enddefinitions") && trace.contains("\n#"),
        "not a VCD"
    );
}

#[test]
fn sim_on_verilator_reports_the_same_fields_and_zero_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let cfg_path = edited_config(
        dir.path(),
        "small",
        serde_json::json!({"rows": 2, "cols": 4, "mc_samples": 2, "max_fan_in": 784,
            "max_neurons": 64, "weight_memory_words": 8192}),
    );
    let q = quantize(dir.path(), &net, &cfg_path);
    let work = dir.path().join("verilator");
    let o = nsm(&[
        "sim",
        "--engine",
        "verilator",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg_path.to_str().unwrap(),
        "--images",
        "3",
        "--json",
        "--work-dir",
        work.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["engine"], "verilator");
    assert_eq!(v["images"], 3);
    assert_eq!(v["mismatches_vs_golden"], 0);
    assert_eq!(
        v["cycles_per_inference"].as_f64().unwrap(),
        v["predicted_cycles_per_inference"].as_f64().unwrap()
    );
    assert!(
        work.join("run.sh").exists(),
        "the run folder is kept for replay"
    );
    let e = fails(&[
        "sim",
        "--engine",
        "verilator",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg_path.to_str().unwrap(),
        "--vcd",
        "x.vcd",
    ]);
    assert!(e.contains("--vcd"), "{e}");
}

#[test]
fn synth_reports_resources_for_generic_and_up5k() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = tiny_synth_config(dir.path());
    for target in ["generic", "up5k"] {
        let o = nsm(&[
            "synth",
            "--target",
            target,
            "--config",
            cfg_path.to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{target}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for field in [
            "rows",
            "cols",
            "luts",
            "ffs",
            "luts_per_pe",
            "fmax_mhz",
            "fits",
        ] {
            assert!(v.get(field).is_some(), "{target}: {field} missing in {v}");
        }
        assert_eq!(v["cols"], 2);
        assert!(v["luts"].as_u64().unwrap() > 100, "{target}: {v}");
        // iCE40 and generic: a carry's LUT is a LUT of its own, already counted
        assert_eq!(v["lut4s_total"], v["luts"], "{target}: {v}");
        // one synapse per PE per cycle; its area efficiency over every LUT4
        let pes = v["rows"].as_u64().unwrap() * v["cols"].as_u64().unwrap();
        assert_eq!(v["synapses_per_cycle"].as_u64(), Some(pes), "{v}");
        let eff = v["synapses_per_lut4_cycle"].as_f64().unwrap();
        let expect = pes as f64 / v["lut4s_total"].as_f64().unwrap();
        assert!((eff - expect).abs() < 1e-12, "{v}");
        assert_eq!(v["cells"], "portable", "{target}: {v}");
        if target == "up5k" {
            assert_eq!(v["fits"], true, "a 1x2 engine fits the UP5K: {v}");
            assert!(v["fmax_mhz"].as_f64().unwrap() > 5.0, "{v}");
        }
    }
    let e = fails(&["synth", "--target", "up5k", "--config", "/nonexistent.json"]);
    assert!(e.contains("/nonexistent.json"), "{e}");
}

#[test]
fn synth_places_and_routes_the_ecp5_with_its_carry_cells() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = tiny_synth_config(dir.path());
    // (JSON report, nextpnr's log)
    let run = |cells: Option<&str>| -> (serde_json::Value, String) {
        let work = dir
            .path()
            .join(format!("work-{}", cells.unwrap_or("default")));
        let mut args = vec![
            "synth",
            "--target",
            "ecp5-25f",
            "--config",
            cfg_path.to_str().unwrap(),
            "--work-dir",
            work.to_str().unwrap(),
            "--json",
        ];
        if let Some(c) = cells {
            args.extend(["--cells", c]);
        }
        let o = nsm(&args);
        assert!(o.status.success(), "{cells:?}: {}", stderr(&o));
        let log = std::fs::read_to_string(work.join("nextpnr.log")).unwrap();
        (serde_json::from_slice(&o.stdout).unwrap(), log)
    };
    let (ecp5, ecp5_log) = run(None);
    let (portable, portable_log) = run(Some("portable"));
    for (v, log, cells) in [
        (&ecp5, &ecp5_log, "ecp5"),
        (&portable, &portable_log, "portable"),
    ] {
        assert_eq!(v["cells"], cells, "{v}");
        assert_eq!(v["fits"], true, "a 1x2 engine fits the ECP5-25F: {v}");
        assert!(v["fmax_mhz"].as_f64().unwrap() > 5.0, "{v}");
        // every LUT4, as nextpnr counts them ("Total LUT4s: used/available")
        let total: u64 = log
            .lines()
            .find_map(|l| l.split("Total LUT4s:").nth(1))
            .and_then(|rest| rest.trim().split('/').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{cells}: no \"Total LUT4s\" in nextpnr's log"));
        assert_eq!(v["lut4s_total"].as_u64().unwrap(), total, "{cells}: {v}");
    }
    // the operand LUTs in front of the PE of column 1's chains are gone
    assert!(
        ecp5["luts"].as_u64().unwrap() < portable["luts"].as_u64().unwrap(),
        "ecp5 {ecp5}\nportable {portable}"
    );
}

#[test]
fn synth_refuses_the_ecp5_cells_on_an_ice40_target() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = tiny_synth_config(dir.path());
    let work = dir.path().join("work");
    let e = fails(&[
        "synth",
        "--target",
        "up5k",
        "--cells",
        "ecp5",
        "--config",
        cfg_path.to_str().unwrap(),
        "--work-dir",
        work.to_str().unwrap(),
    ]);
    assert!(
        e.contains("ecp5") && e.contains("up5k") && e.contains("--cells portable"),
        "{e}"
    );
    assert!(!work.join("nsm_engine.v").exists(), "nothing synthesized");
}

#[test]
fn synth_passes_the_seed_to_nextpnr_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = tiny_synth_config(dir.path());
    // nextpnr behind a wrapper that records its arguments (NSM_NEXTPNR_ICE40 overrides PATH)
    let real = nsm_flow::find_tool("nextpnr-ice40", "NSM_NEXTPNR_ICE40")
        .expect("nextpnr-ice40 is installed (scripts/install-tools.sh)");
    let args_file = dir.path().join("nextpnr-args.txt");
    let wrapper = dir.path().join("nextpnr-wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
            args_file.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_nsm"))
        .args([
            "synth",
            "--target",
            "up5k",
            "--config",
            cfg_path.to_str().unwrap(),
            "--seed",
            "7",
            "--json",
        ])
        .env("NSM_NEXTPNR_ICE40", &wrapper)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seed"], 7, "{v}");
    assert_eq!(v["fits"], true, "{v}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(args.contains("--seed 7"), "nextpnr ran with: {args}");
    let e = fails(&["synth", "--target", "up5k", "--seed", "seven"]);
    assert!(e.contains("--seed"), "{e}");
    let e = fails(&["synth", "--target", "up5k", "--no-pnr", "--seed", "7"]);
    assert!(e.contains("--seed") && e.contains("--no-pnr"), "{e}");
}

#[test]
fn synth_report_writes_a_table_and_a_figure_per_size() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = edited_config(
        dir.path(),
        "tiny",
        serde_json::json!({"max_fan_in": 16, "max_neurons": 16, "max_layers": 2,
            "weight_memory_words": 64, "neuron_memory_words": 32, "mc_samples": 2}),
    );
    let out = dir.path().join("reports");
    // runs the generic synth-report with `args`; the markdown and numbers of `stem`
    let report = |args: &[&str], stem: &str| -> (String, serde_json::Value) {
        let mut all = vec!["synth-report", "--target", "generic"];
        all.extend_from_slice(args);
        all.extend(["--config", cfg_path.to_str().unwrap()]);
        all.extend(["--out-dir", out.to_str().unwrap()]);
        let o = nsm(&all);
        assert!(o.status.success(), "{}", stderr(&o));
        let read = |ext: &str| std::fs::read_to_string(out.join(format!("{stem}.{ext}"))).unwrap();
        (read("md"), serde_json::from_str(&read("json")).unwrap())
    };
    let (md, json) = report(&["--sizes", "1,2"], "synth-generic");
    // array, lanes, weight bits, PEs, synapses per cycle
    assert!(
        md.contains("| 1x1 | 1 | 8 | 1 | 1 |") && md.contains("| 2x2 | 1 | 8 | 4 | 4 |"),
        "{md}"
    );
    let svg = std::fs::read_to_string(out.join("synth-generic.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("LUT4") && svg.contains("Fmax"));
    assert_eq!(json.as_array().unwrap().len(), 2);
    // more PEs, more LUTs
    assert!(
        json[1]["luts"].as_u64() > json[0]["luts"].as_u64(),
        "{json}"
    );
    let e = fails(&["synth-report", "--target", "generic", "--sizes", "0"]);
    assert!(e.contains("--sizes"), "{e}");

    // a sweep of lanes at a fixed column count, into its own files
    let (md, json) = report(
        &["--sizes", "1", "--cols", "2", "--lanes", "1,2"],
        "synth-generic-lanes",
    );
    assert!(
        md.contains("| 1x2 | 1 | 8 | 2 | 2 |") && md.contains("| 1x2 | 2 | 8 | 2 | 4 |"),
        "{md}"
    );
    assert!(md.contains("--sizes 1 --cols 2 --lanes 1,2"), "{md}");
    assert!(
        json[1]["luts"].as_u64() > json[0]["luts"].as_u64(),
        "{json}"
    );
    let e = fails(&["synth-report", "--target", "generic", "--lanes", "0"]);
    assert!(e.contains("--lanes"), "{e}");
}

#[test]
fn bitstream_refuses_unknown_boards_and_bad_configs_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    // an unknown board is a usage error that lists the boards
    let o = nsm(&["bitstream", "--board", "de0-nano", "--out-dir", out_s]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("de0-nano") && e.contains("icebreaker") && e.contains("ulx3s"),
        "{e}"
    );
    // a missing configuration is named
    let e = fails(&[
        "bitstream",
        "--board",
        "icebreaker",
        "--config",
        "/nonexistent/engine.json",
        "--out-dir",
        out_s,
    ]);
    assert!(e.contains("/nonexistent/engine.json"), "{e}");
    // an invalid configuration, and one the hardware does not build, are refused by name
    let zero = edited_config(dir.path(), "zero", serde_json::json!({"rows": 0}));
    let e = fails(&[
        "bitstream",
        "--board",
        "ulx3s",
        "--config",
        zero.to_str().unwrap(),
        "--out-dir",
        out_s,
    ]);
    assert!(e.contains("rows"), "{e}");
    let wide = edited_config(dir.path(), "wide", serde_json::json!({"cols": 40}));
    let e = fails(&[
        "bitstream",
        "--board",
        "icebreaker",
        "--config",
        wide.to_str().unwrap(),
        "--out-dir",
        out_s,
    ]);
    assert!(e.contains("cols") && e.contains("32"), "{e}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let e = fails(&[
        "bitstream",
        "--board",
        "icebreaker",
        "--config",
        garbage.to_str().unwrap(),
        "--out-dir",
        out_s,
    ]);
    assert!(e.contains("garbage.json"), "{e}");
    assert!(!out.exists(), "nothing is written when the inputs are bad");
}

#[test]
fn board_stream_and_decode_round_trip_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let cfg_path = edited_config(
        dir.path(),
        "board",
        serde_json::json!({"rows": 2, "cols": 4, "mc_samples": 3, "max_fan_in": 784,
            "max_neurons": 64, "weight_memory_words": 8192}),
    );
    let q = quantize(dir.path(), &net, &cfg_path);
    let (q_s, c_s) = (q.to_str().unwrap(), cfg_path.to_str().unwrap());
    let bytes = dir.path().join("stream.bin");
    let expect = dir.path().join("expect.bin");
    let o = nsm(&[
        "board-stream",
        "--board",
        "icebreaker",
        "--qnet",
        q_s,
        "--config",
        c_s,
        "--images",
        "4",
        "--logits",
        "--out",
        bytes.to_str().unwrap(),
        "--expect",
        expect.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stream = std::fs::read(&bytes).unwrap();
    // ping first, then writes ('W' + 8 bytes + check), ping last
    assert_eq!(&stream[..2], b"PP");
    assert_eq!(stream[2], b'W');
    assert_eq!(&stream[stream.len() - 2..], b"PP");
    // the model's replies decode as a clean run
    let decode = |replies: &Path| {
        nsm(&[
            "board-decode",
            "--qnet",
            q_s,
            "--config",
            c_s,
            "--images",
            "4",
            "--logits",
            "--replies",
            replies.to_str().unwrap(),
            "--json",
        ])
    };
    let o = decode(&expect);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"], 4);
    assert_eq!(v["mismatches_vs_golden"], 0);
    assert_eq!(v["classes"].as_array().unwrap().len(), 4);
    // a changed logit byte is a mismatch, a missing byte a clear decoding error
    let mut replies = std::fs::read(&expect).unwrap();
    let n = replies.len();
    replies[n - 5] ^= 1;
    let changed = dir.path().join("changed.bin");
    std::fs::write(&changed, &replies).unwrap();
    let o = decode(&changed);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("differ from the bit-exact model"),
        "{}",
        stderr(&o)
    );
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &replies[..n - 1]).unwrap();
    let o = decode(&cut);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("end after"), "{}", stderr(&o));

    // Error replies are their own commands': one to a configuration write (reply 5), and one
    // to the last image (its 'K', 10 logit sums and class: 83 bytes before the final ping's
    // 'K'), which the board then dropped. The other images keep their own replies.
    let clean = std::fs::read(&expect).unwrap();
    let n = clean.len();
    let with_errors = [
        &clean[..5],
        b"E\x05",
        &clean[6..n - 84],
        b"E\x06",
        &clean[n - 1..],
    ]
    .concat();
    let errors = dir.path().join("errors.bin");
    std::fs::write(&errors, &with_errors).unwrap();
    let o = decode(&errors);
    assert_eq!(o.status.code(), Some(1), "an error reply fails the run");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mismatches_vs_golden"], 0, "{v}");
    assert_eq!(v["error_replies"], 2, "{v}");
    let classes = v["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 4);
    assert!(
        classes[..3].iter().all(|c| c.is_u64()) && classes[3].is_null(),
        "{v}"
    );
    let o = nsm(&[
        "board-decode",
        "--qnet",
        q_s,
        "--config",
        c_s,
        "--images",
        "4",
        "--logits",
        "--replies",
        errors.to_str().unwrap(),
    ]);
    let (out, err) = (String::from_utf8_lossy(&o.stdout), stderr(&o));
    for part in [
        "command 5 (configuration write): error 5 (wrong check byte)",
        "image 3: error 6 (timeout); the board dropped the image",
        "0 of 4 results differ from the bit-exact model (2 error replies)",
    ] {
        assert!(err.contains(part), "{part:?} missing: {err}");
    }
    assert!(out.contains(" - (- for an error reply)"), "{out}");
    for debug in ["Some(", "None", "Result {", "Error("] {
        assert!(
            !out.contains(debug) && !err.contains(debug),
            "{debug}: {out}{err}"
        );
    }
    // bad arguments write nothing
    let none = dir.path().join("none.bin");
    let e = fails(&[
        "board-stream",
        "--board",
        "ulx3s",
        "--qnet",
        q_s,
        "--config",
        c_s,
        "--images",
        "0",
        "--out",
        none.to_str().unwrap(),
    ]);
    assert!(e.contains("--images"), "{e}");
    assert!(!none.exists());
}

#[test]
fn train_onchip_reports_json_curves_and_zero_mismatches_on_rust_hdl_and_verilator() {
    let dir = tempfile::tempdir().unwrap();
    let net = tiny_net(dir.path());
    let q = quantize(dir.path(), &net, &config_path());
    let q = q.to_str().unwrap();
    let cfg = config_path();
    let cfg = cfg.to_str().unwrap();
    let svg = dir.path().join("curves.svg");
    let curves = dir.path().join("curves.json");
    let trained = dir.path().join("trained.json");
    for engine in ["rust-hdl", "verilator"] {
        let o = nsm(&[
            "train-onchip",
            "--qnet",
            q,
            "--config",
            cfg,
            "--engine",
            engine,
            "--steps",
            "4",
            "--eval-every",
            "2",
            "--train-limit",
            "100",
            "--test-limit",
            "40",
            "--init-output",
            "random",
            "--seed",
            "3",
            "--net",
            net.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
            "--curves",
            curves.to_str().unwrap(),
            "--out",
            trained.to_str().unwrap(),
            "--json",
        ]);
        assert!(o.status.success(), "{engine}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["engine"], engine);
        assert_eq!(v["steps"], 4);
        assert_eq!(v["mismatches_vs_golden"], 0);
        assert_eq!(v["compared"], true);
        for key in ["test_error_before_pct", "test_error_after_pct"] {
            let e = v[key].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&e), "{key} {e}");
        }
        // 4 steps of a 24-10 output layer and 24 rows of 784: every row through the unit
        assert_eq!(v["rows_updated"], 4 * (10 + 24));
        let fixed = v["curves"]["fixed_point"].as_array().unwrap();
        let float = v["curves"]["float"].as_array().unwrap();
        assert_eq!(fixed.len(), 3);
        assert_eq!(float.len(), 3);
        assert_eq!(fixed[2]["step"], 4);
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<polyline"));
        assert!(std::fs::read_to_string(&curves)
            .unwrap()
            .contains("fixed_point"));
    }
    // the trained network is a valid quantized network for the engine
    let o = nsm(&[
        "eval",
        "--qnet",
        trained.to_str().unwrap(),
        "--config",
        cfg,
        "--limit",
        "20",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn train_onchip_refuses_bad_learning_inputs_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_path();
    let cfg = cfg.to_str().unwrap();
    let q = dir.path().join("missing.json");
    let e = fails(&[
        "train-onchip",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg,
        "--steps",
        "0",
    ]);
    assert!(e.contains("--steps must be at least 1"), "{e}");
    let net = tiny_net(dir.path());
    let q = quantize(dir.path(), &net, &config_path());
    let learn = dir.path().join("learn.json");
    std::fs::write(&learn, r#"{"guard_bits": 16, "lr_out_shift": 0}"#).unwrap();
    let e = fails(&[
        "train-onchip",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg,
        "--learn",
        learn.to_str().unwrap(),
    ]);
    assert!(e.contains("output update") && e.contains("negative"), "{e}");
    std::fs::write(&learn, r#"{"lut_bits": 3}"#).unwrap();
    let e = fails(&[
        "train-onchip",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        cfg,
        "--learn",
        learn.to_str().unwrap(),
    ]);
    assert!(e.contains("lut_bits"), "{e}");
}

mod limits {
    //! Sizes from files and flags are checked before anything is sized from them: an absurd
    //! value is refused by name (exit 1, or 2 for a clap range), never a panic or an abort.

    use super::{config_path, nsm, stderr};
    use std::process::Output;

    /// Expects exit `code`, no panic, and every one of `names` in stderr.
    fn refused(o: &Output, code: i32, names: &[&str]) {
        let e = stderr(o);
        assert_eq!(o.status.code(), Some(code), "stderr: {e}");
        assert!(!e.contains("panicked"), "{e}");
        for n in names {
            assert!(e.contains(n), "{n:?} not in: {e}");
        }
    }

    /// A blank-out network file whose first layer claims `n_in` inputs and 2 outputs, with
    /// 4 weights.
    fn net_claiming(dir: &std::path::Path, n_in: &str) -> std::path::PathBuf {
        let p = dir.join("huge.json");
        let text = format!(
            r#"{{"schema": "nsm-net/1", "model": "nsm",
               "noise": {{"kind": "blank_out", "transmit_p": 0.5}},
               "hidden": [{{"n_in": {n_in}, "n_out": 2, "w": [1, 2, 3, 4],
                            "beta": [1, 1], "b": [0, 0]}}],
               "output": {{"n_in": 2, "n_out": 2, "w": [1, 0, 0, 1], "b": [0, 0]}}}}"#
        );
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_network_whose_weight_count_overflows_is_refused_by_eval_and_quantize() {
        let dir = tempfile::tempdir().unwrap();
        let big = (usize::MAX / 2 + 1).to_string();
        let net = net_claiming(dir.path(), &big);
        let n = net.to_str().unwrap();
        let names = ["huge.json", "hidden layer 0", big.as_str(), "overflows"];
        refused(&nsm(&["eval", "--net", n]), 1, &names);
        let out = dir.path().join("q.json");
        let o = nsm(&[
            "quantize",
            "--net",
            n,
            "--config",
            config_path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        refused(&o, 1, &names);
        assert!(!out.exists());

        // Sizes that fit but disagree with the weights are named the same way.
        let net = net_claiming(dir.path(), "4294967296");
        refused(
            &nsm(&["eval", "--net", net.to_str().unwrap()]),
            1,
            &["huge.json", "hidden layer 0 w has 4 values"],
        );
    }

    #[test]
    fn absurd_train_sizes_are_refused_by_flag_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("n.json");
        let o = out.to_str().unwrap();
        for h in ["4611686018427387904", "1000000000", "4,1048577"] {
            let v = h.rsplit(',').next().unwrap();
            let flag = format!("--hidden {v}");
            refused(
                &nsm(&["train", "--hidden", h, "--out", o]),
                1,
                &[flag.as_str(), "1048576"],
            );
        }
        // Each width within the limit, the weights between them not.
        refused(
            &nsm(&["train", "--hidden", "1000000,1000000", "--out", o]),
            1,
            &["[1000000, 1000000, 10]", "weights", "268435456"],
        );
        // The input layer's weights fit, a batch of 1,000 images through them does not.
        refused(
            &nsm(&[
                "train",
                "--hidden",
                "300000",
                "--limit",
                "1000",
                "--batch-size",
                "1000",
                "--quiet",
                "--out",
                o,
            ]),
            1,
            &["batch of 1000", "300000", "268435456"],
        );
        assert!(!out.exists());
    }

    #[test]
    fn a_batch_larger_than_the_data_trains_on_the_whole_split() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("n.json");
        for bs in ["1000000000", "18446744073709551615"] {
            let o = nsm(&[
                "train",
                "--hidden",
                "4",
                "--epochs",
                "1",
                "--limit",
                "20",
                "--batch-size",
                bs,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "--batch-size {bs}: {}", stderr(&o));
            assert!(out.exists());
        }
    }

    #[test]
    fn absurd_gate_counts_are_refused_by_flag_before_allocating() {
        for g in [
            "18446744073709551615",
            "18446744073709551610",
            "100000000000",
        ] {
            let flag = format!("--gates {g}");
            refused(
                &nsm(&["gates", "--gates", g]),
                1,
                &[flag.as_str(), "2147483648"],
            );
            refused(
                &nsm(&["gates", "--gates", g, "--compare-spacing", "1"]),
                1,
                &[flag.as_str()],
            );
        }
    }

    #[test]
    fn absurd_monte_carlo_counts_are_refused_by_flag() {
        let dir = tempfile::tempdir().unwrap();
        let net = super::tiny_net(dir.path());
        for mc in ["18446744073709551615", "1000000000"] {
            let flag = format!("--mc {mc}");
            refused(
                &nsm(&["eval", "--net", net.to_str().unwrap(), "--mc", mc]),
                1,
                &[flag.as_str(), "[784, 24, 10]", "268435456"],
            );
        }
    }
}

mod layout {
    //! The repository's layout promises (ARCHITECTURE.md): the `nsm` binary depends on no test
    //! crate, and no library source file outgrows 700 lines (tests excluded).

    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_binary_depends_on_no_test_crate() {
        let manifest = std::fs::read_to_string(root().join("cli/Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap()
            .split("\n[")
            .next()
            .unwrap();
        assert!(deps.contains("nsm-flow"), "{deps}");
        assert!(!deps.contains("nsm-testbenches"), "{deps}");
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_library_source_file_is_over_700_lines() {
        let mut files = Vec::new();
        for krate in ["model", "hdl", "sim", "codegen", "flow", "cli"] {
            rust_files(&root().join(krate).join("src"), &mut files);
        }
        assert!(files.len() > 50, "{} files", files.len());
        let mut long = Vec::new();
        for f in files {
            if f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            // a file's unit tests (`#[cfg(test)] mod tests` at its end) do not count
            let code = text.split("\n#[cfg(test)]\nmod ").next().unwrap();
            let lines = code.lines().count();
            if lines > 700 {
                long.push(format!("{} ({lines} lines)", f.display()));
            }
        }
        assert!(long.is_empty(), "library files over 700 lines: {long:?}");
    }
}
