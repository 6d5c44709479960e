//! End-to-end tests of the `nsm` binary: a tiny train/eval round trip, and every kind of bad
//! input giving a clear message and a non-zero exit without leaving files behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        "--images",
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
        "--images",
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
        "--images",
        truncated.to_str().unwrap(),
        "--labels",
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
        "--images",
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
        "--images",
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
    j["noise"]["blank_out_p"] = serde_json::json!(1.5);
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
}
