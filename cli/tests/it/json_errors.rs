//! Every JSON input of the `nsm` commands is refused the same way: exit 1, and a message that
//! names the file, the field, the value and the line (`FILE: field PATH: ... (line L, ...)`).

use std::path::{Path, PathBuf};

use super::{config_path, nsm, stderr};

/// A small blank-out network, one field per line.
const NET: &str = r#"{
  "schema": "nsm-net/1",
  "model": "nsm",
  "noise": {
    "kind": "blank_out",
    "transmit_p": 0.5
  },
  "hidden": [
    {
      "n_in": 3,
      "n_out": 2,
      "w": [0.5, -0.375, 1.0, -1.0, 0.75, 0.125],
      "beta": [1.0, 0.5],
      "b": [0.25, -0.25]
    }
  ],
  "output": {
    "n_in": 2,
    "n_out": 2,
    "w": [1.0, -1.0, 0.5, 2.0],
    "b": [0.0, 0.25]
  },
  "training": {
    "options": {
      "epochs": 3
    }
  }
}"#;

/// `text` written to `dir/name`.
fn written(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `text` with its one occurrence of `from` replaced by `to`, written to `dir/name`.
fn edited(dir: &Path, name: &str, text: &str, from: &str, to: &str) -> PathBuf {
    assert_eq!(text.matches(from).count(), 1, "{from:?} once");
    written(dir, name, &text.replace(from, to))
}

/// The line of the one occurrence of `needle` in the file at `p`.
fn line_of(p: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(p).unwrap();
    assert_eq!(text.matches(needle).count(), 1, "{needle:?} once");
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// Runs `nsm args`, expects exit 1 and a message naming `file`, `field`, the line of `needle`
/// in `file`, and each of `words`, with no Rust debug text; returns the message.
fn refused(args: &[&str], file: &Path, field: &str, needle: &str, words: &[&str]) -> String {
    let o = nsm(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "nsm {args:?}: {e}");
    let line = line_of(file, needle);
    let head = format!("error: {}: field {field}: ", file.display());
    assert!(e.starts_with(&head), "{head:?} at the start of {e}");
    assert!(
        e.contains(&format!("(line {line}, column ")),
        "line {line} in {e}"
    );
    for w in words {
        assert!(e.contains(w), "{w:?} in {e}");
    }
    for debug in ["Some(", "BlankOut {", "panicked", "\\\""] {
        assert!(!e.contains(debug), "{debug:?} in {e}");
    }
    // one refusal, printed once (not repeated by the error chain)
    assert_eq!(e.matches(&format!("field {field}:")).count(), 1, "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    e
}

fn config_text() -> String {
    std::fs::read_to_string(config_path()).unwrap()
}

#[test]
fn quantize_names_a_wrong_typed_or_unknown_configuration_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let net = written(dir.path(), "net.json", NET);
    let out = dir.path().join("q.json");
    let quantize = |cfg: &Path| {
        vec![
            "quantize".to_string(),
            "--config".into(),
            cfg.to_str().unwrap().into(),
            "--net".into(),
            net.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let cfg = edited(
        dir.path(),
        "bad.json",
        &config_text(),
        r#""width": 16"#,
        r#""width": "16""#,
    );
    let args = quantize(&cfg);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(
        &args,
        &cfg,
        "lfsr.width",
        "\"width\"",
        &["invalid type: string \"16\", expected u32"],
    );
    for (from, to, field, needle, words) in [
        (
            r#""overflow": "exact""#,
            r#""overflow": "exact", "bits": 20"#,
            "accumulator",
            "\"bits\"",
            "\"exact\" takes no bits (found bits = 20)",
        ),
        (
            r#""width": 16"#,
            r#""width": 16, "seed": 7"#,
            "lfsr.seed",
            "\"seed\"",
            "unknown field `seed`",
        ),
        (
            r#""threshold": 1 }"#,
            r#""threshold": 1, "p": 0.5 }"#,
            "blank_out.p",
            "\"p\"",
            "unknown field `p`",
        ),
    ] {
        let cfg = edited(dir.path(), "bad.json", &config_text(), from, to);
        let args = quantize(&cfg);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, &cfg, field, needle, &[words]);
    }
    assert!(!out.exists(), "nothing may be written on refusal");
}

#[test]
fn duplicate_keys_are_refused_in_configurations_and_networks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = edited(
        dir.path(),
        "dup.json",
        &config_text(),
        r#""rows": 8,"#,
        "\"rows\": 8,\n  \"rows\": 16,",
    );
    refused(
        &["gates", "--config", cfg.to_str().unwrap()],
        &cfg,
        "rows",
        "\"rows\": 16",
        &["duplicate key \"rows\""],
    );
    // inside the free-form training record too
    let net = edited(
        dir.path(),
        "dup-net.json",
        NET,
        "\"epochs\": 3",
        "\"epochs\": 3,\n\"epochs\": 4",
    );
    refused(
        &["eval", "--net", net.to_str().unwrap()],
        &net,
        "training.options.epochs",
        "\"epochs\": 4",
        &["duplicate key \"epochs\""],
    );
}

#[test]
fn eval_names_a_wrong_typed_or_unknown_network_field() {
    let dir = tempfile::tempdir().unwrap();
    let net = edited(
        dir.path(),
        "bad.json",
        NET,
        "\"transmit_p\": 0.5",
        "\"transmit_p\": \"0.5\"",
    );
    refused(
        &["eval", "--net", net.to_str().unwrap()],
        &net,
        "noise.transmit_p",
        "\"transmit_p\"",
        &["invalid type: string \"0.5\", expected f64"],
    );
    let net = edited(
        dir.path(),
        "bad.json",
        NET,
        "\"n_out\": 2,\n      \"w\"",
        "\"n_out\": 2,\n      \"bias\": [0],\n      \"w\"",
    );
    refused(
        &["eval", "--net", net.to_str().unwrap()],
        &net,
        "hidden[0].bias",
        "\"bias\"",
        &["unknown field `bias`"],
    );
    let net = edited(
        dir.path(),
        "bad.json",
        NET,
        "\"schema\": \"nsm-net/1\"",
        "\"schema\": 1",
    );
    refused(
        &["eval", "--net", net.to_str().unwrap()],
        &net,
        "schema",
        "\"schema\"",
        &["1 (not a string)", "\"nsm-net/1\""],
    );
}

#[test]
fn quantized_networks_and_learning_configurations_are_read_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let net = written(dir.path(), "net.json", NET);
    let q = dir.path().join("q.json");
    let o = nsm(&[
        "quantize",
        "--config",
        config_path().to_str().unwrap(),
        "--net",
        net.to_str().unwrap(),
        "--out",
        q.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // the memory map quantize writes reads back through the model's typed reader
    let map = nsm_model::engine::memory::MemMap::load(&dir.path().join("q.memmap.json")).unwrap();
    assert_eq!(map.memories.layers.len(), 2);
    assert_eq!(map.config.rows, 8);

    let pretty = {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&q).unwrap()).unwrap();
        serde_json::to_string_pretty(&v).unwrap()
    };
    let cfg = config_path();
    let cfg = cfg.to_str().unwrap();
    let bad = edited(
        dir.path(),
        "bad-q.json",
        &pretty,
        "\"a_saturated\": 0,",
        "\"a_saturated\": 0,\n    \"w_saturated\": 0,",
    );
    refused(
        &["eval", "--qnet", bad.to_str().unwrap(), "--config", cfg],
        &bad,
        "report.w_saturated",
        "\"w_saturated\"",
        &["unknown field `w_saturated`"],
    );
    let learn = dir.path().join("learn.json");
    std::fs::write(&learn, "{\n  \"lr_shift\": 9,\n  \"guard_bits\": \"8\"\n}").unwrap();
    refused(
        &[
            "train-onchip",
            "--qnet",
            q.to_str().unwrap(),
            "--config",
            cfg,
            "--learn",
            learn.to_str().unwrap(),
        ],
        &learn,
        "guard_bits",
        "\"guard_bits\"",
        &["invalid type: string \"8\", expected u32"],
    );
}

#[test]
fn a_learning_configuration_out_of_range_is_named_by_its_flag_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let learn = written(
        dir.path(),
        "learn.json",
        r#"{"schema": "nsm-learn/1", "lut_index_bits": 40}"#,
    );
    let l = learn.to_str().unwrap();
    let o = nsm(&[
        "synth",
        "--target",
        "generic",
        "--update-unit",
        "--learn",
        l,
        "--no-pnr",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains(&format!("--learn {l}")), "{e}");
    assert!(e.contains("lut_index_bits = 40"), "{e}");
}
