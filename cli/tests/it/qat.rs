//! `nsm train --weight-bits N`: the network is written on the quantizer's levels, so
//! `nsm quantize` for N-bit weights gives the same integers the training used, and the
//! quantized network runs on the bit-exact engine.

use std::path::Path;

use nsm_model::engine::qnet::{weight_levels, QNet};
use nsm_model::net::Network;

use super::{edited_config, fails, nsm, quantize_as, stderr};

/// Trains a tiny network for `bits`-bit weights, quantizes it at `bits` and checks that every
/// written weight (stochastic rows and the output layer) is on its level (`w * scale` is the
/// integer itself) and that the quantized network holds exactly those integers; then runs it on
/// the bit-exact engine and returns the engine's test error.
fn trained_for_bits_is_quantized_without_further_rounding(d: &Path, bits: u32) -> f64 {
    let net = d.join(format!("net{bits}.json"));
    let o = nsm(&[
        "train",
        "--hidden",
        "24",
        "--epochs",
        "2",
        "--limit",
        "1000",
        "--batch-size",
        "50",
        "--weight-bits",
        &bits.to_string(),
        "--quiet",
        "--out",
        net.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = edited_config(
        d,
        &format!("cfg{bits}"),
        serde_json::json!({"weight_bits": bits, "mc_samples": 16}),
    );
    let (q_path, _) = quantize_as(d, &net, &cfg, &format!("q{bits}"));
    let float = Network::load(&net).unwrap();
    let engine = nsm_model::engine::config::EngineConfig::load(&cfg).unwrap();
    let q = QNet::load(&q_path, &engine).unwrap();
    let on_levels = |w: &[f32], quantized: &[i32], what: &str| {
        let (scale, levels) = weight_levels(w, bits);
        assert_eq!(levels, quantized, "{what}");
        for (&v, &k) in w.iter().zip(&levels) {
            assert!(
                (f64::from(v) * scale - f64::from(k)).abs() < 1e-4,
                "{what}: {v} is off its level {k} (scale {scale})"
            );
        }
    };
    for (k, (l, ql)) in float.hidden.iter().zip(&q.hidden).enumerate() {
        for i in 0..l.n_out {
            on_levels(l.row(i), ql.row(i), &format!("layer {k} row {i}"));
        }
    }
    on_levels(&float.output.w, &q.output.w, "output layer");
    let all: Vec<i32> = q
        .hidden
        .iter()
        .flat_map(|l| l.w.iter().copied())
        .chain(q.output.w.iter().copied())
        .collect();
    if bits == 1 {
        // +-1, no zero level
        assert!(all.iter().all(|w| w.abs() == 1));
    } else {
        let wmax = (1 << (bits - 1)) - 1;
        assert!(all.iter().all(|w| w.abs() <= wmax));
    }
    let o = nsm(&[
        "eval",
        "--qnet",
        q_path.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--limit",
        "200",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["test_error_pct"].as_f64().expect("an error rate")
}

#[test]
fn a_network_trained_for_one_bit_is_quantized_to_plus_minus_one_without_further_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let err = trained_for_bits_is_quantized_without_further_rounding(dir.path(), 1);
    assert!(err < 50.0, "1-bit QAT network at {err}% error");
}

#[test]
fn a_network_trained_for_two_bits_is_quantized_without_further_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let err = trained_for_bits_is_quantized_without_further_rounding(dir.path(), 2);
    assert!(err < 50.0, "2-bit QAT network at {err}% error");
}

#[test]
fn a_network_trained_for_three_bits_is_quantized_without_further_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let err = trained_for_bits_is_quantized_without_further_rounding(dir.path(), 3);
    assert!(err < 50.0, "3-bit QAT network at {err}% error");
}

#[test]
fn weight_bits_outside_one_to_sixteen_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.json");
    for bits in ["0", "17"] {
        let e = fails(&[
            "train",
            "--weight-bits",
            bits,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            e.contains(&format!("weight bits {bits}")) && e.contains("1 to 16"),
            "{e}"
        );
        assert!(!out.exists());
    }
}
