//! The early-stop rule through the command line: `nsm eval --qnet` reports the passes, the
//! sweep writes its table, figure and numbers, the hardware commands refuse the rule by name.

use super::{edited_config, fails, nsm, stderr, tiny_qnet};

#[test]
fn eval_reports_the_passes_and_the_sweep_compares_the_rule_with_fixed_k() {
    let d = tempfile::tempdir().unwrap();
    let q = tiny_qnet(d.path());
    let rule = edited_config(
        d.path(),
        "rule",
        serde_json::json!({"mc_samples": 32, "early_stop": {"vote_margin": 2, "min_passes": 8}}),
    );
    let o = nsm(&[
        "eval",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        rule.to_str().unwrap(),
        "--limit",
        "60",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mean = v["mean_passes"].as_f64().unwrap();
    // the rule judges after every group of 8 rows: 8 passes at least, 32 at most
    assert!((8.0..32.0).contains(&mean), "mean passes {mean}");
    let hist = v["pass_histogram"].as_object().unwrap();
    assert_eq!(hist.values().map(|n| n.as_u64().unwrap()).sum::<u64>(), 60);
    assert!(
        hist.keys()
            .all(|k| ["8", "16", "24", "32"].contains(&k.as_str())),
        "{hist:?}"
    );
    let c = v["mean_confidence"].as_f64().unwrap();
    // per input: passes, votes and confidence, in input order
    let per = d.path().join("outcomes.json");
    let o = nsm(&[
        "eval",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        rule.to_str().unwrap(),
        "--limit",
        "60",
        "--outcomes",
        per.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&per).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 60);
    for r in rows {
        let votes: u64 = r["votes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(votes, r["passes"].as_u64().unwrap(), "{r}");
        let class = r["class"].as_u64().unwrap() as usize;
        let conf = r["votes"][class].as_f64().unwrap() / votes as f64;
        assert!(
            (r["confidence"].as_f64().unwrap() - conf).abs() < 1e-12,
            "{r}"
        );
    }
    let mean = rows
        .iter()
        .map(|r| r["passes"].as_f64().unwrap())
        .sum::<f64>()
        / 60.0;
    assert!((mean - v["mean_passes"].as_f64().unwrap()).abs() < 1e-9);
    assert!(c > 0.1 && c <= 1.0 && v["expected_calibration_error"].as_f64().is_some());

    let report = d.path().join("es.md");
    let o = nsm(&[
        "early-stop-sweep",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        rule.to_str().unwrap(),
        "--margins",
        "1,4",
        "--fixed",
        "8,32",
        "--limit",
        "60",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains("| fixed K = 8 | 8 |") && md.contains("| vote margin 4 | 32 |"),
        "{md}"
    );
    let svg = std::fs::read_to_string(d.path().join("es.svg")).unwrap();
    assert!(svg.contains("reliability") && svg.contains("fixed passes"));
    let numbers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("es.json")).unwrap()).unwrap();
    let points = numbers["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    // fixed K runs every pass; a larger margin never stops sooner than a smaller one
    assert_eq!(points[0]["mean_passes"], 8.0);
    let (m1, m4) = (
        points[2]["mean_passes"].as_f64().unwrap(),
        points[3]["mean_passes"].as_f64().unwrap(),
    );
    assert!(m1 <= m4, "margin 1: {m1}, margin 4: {m4}");
}

#[test]
fn the_rule_is_refused_by_name_where_it_is_not_built() {
    let d = tempfile::tempdir().unwrap();
    // `nsm synth` on a configuration with the rule `{"vote_margin": m, "min_passes": 8}`
    let synth_error = |name: &str, margin: u32| {
        let cfg = edited_config(
            d.path(),
            name,
            serde_json::json!({"early_stop": {"vote_margin": margin, "min_passes": 8}}),
        );
        (
            fails(&[
                "synth",
                "--target",
                "generic",
                "--config",
                cfg.to_str().unwrap(),
            ]),
            cfg,
        )
    };
    let (e, _) = synth_error("bad", 0);
    assert!(e.contains("early_stop.vote_margin = 0"), "{e}");
    let (e, rule) = synth_error("rule", 3);
    assert!(
        e.contains("early_stop: the hardware does not build the stopping rule yet"),
        "{e}"
    );
    // a board session is refused before any byte is written
    let q = tiny_qnet(d.path());
    let out = d.path().join("session.bin");
    let e = fails(&[
        "board-stream",
        "--board",
        "icebreaker",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        rule.to_str().unwrap(),
        "--images",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        e.contains("--config") && e.contains("early_stop: the hardware"),
        "{e}"
    );
    assert!(!out.exists());
}
