//! `nsm train --weight-bits N`: the network is written on the quantizer's levels, so
//! `nsm quantize` for N-bit weights gives the same integers the training used, and the
//! quantized network runs on the bit-exact engine.

use nsm_model::engine::qnet::{weight_levels, QNet};
use nsm_model::net::Network;

use super::{edited_config, fails, nsm, quantize_as, stderr};

#[test]
fn a_network_trained_for_three_bits_is_quantized_without_further_rounding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = d.join("net.json");
    let n = net.to_str().unwrap();
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
        "3",
        "--quiet",
        "--out",
        n,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = edited_config(
        d,
        "cfg3.json",
        serde_json::json!({"weight_bits": 3, "mc_samples": 16}),
    );
    let (q_path, _) = quantize_as(d, &net, &cfg, "q3");
    let float = Network::load(&net).unwrap();
    let engine = nsm_model::engine::config::EngineConfig::load(&cfg).unwrap();
    let q = QNet::load(&q_path, &engine).unwrap();
    for (l, ql) in float.hidden.iter().zip(&q.hidden) {
        for i in 0..l.n_out {
            let (scale, levels) = weight_levels(l.row(i), 3);
            assert_eq!(levels, ql.row(i), "row {i}");
            for (&w, &k) in l.row(i).iter().zip(&levels) {
                assert!(
                    (f64::from(w) * scale - f64::from(k)).abs() < 1e-4,
                    "{w} is off its level {k}"
                );
            }
        }
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
    let err = v["test_error_pct"].as_f64().expect("an error rate");
    assert!(err < 50.0, "3-bit QAT network at {err}% error");
}

#[test]
fn weight_bits_outside_two_to_sixteen_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.json");
    let e = fails(&[
        "train",
        "--weight-bits",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(e.contains("weight bits 1") && e.contains("2 to 16"), "{e}");
    assert!(!out.exists());
}
