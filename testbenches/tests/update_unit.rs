//! The update unit's emitted Verilog, in Icarus and in Verilator, against the fixed-point
//! mirror on random rows (every output compared), and its lint. Needs iverilog and verilator
//! (scripts/install-tools.sh): a missing tool fails the test. Folders stay under
//! `target/tmp/update-unit/` for replay (`sh run.sh`).

use nsm_flow::sim::update::UpdateBench;
use nsm_flow::sim::Simulator;
use nsm_model::engine::config::EngineConfig;
use nsm_model::learn::mirror::count_mismatches;
use nsm_model::learn::{random_request, update_row, LearnConfig, RowMode, UpdateSpec};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

#[test]
fn icarus_and_verilator_match_the_mirror_on_random_rows() {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("update-unit");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(606);
    // default formats, then other table, Newton and step-size choices
    let configs = [
        LearnConfig::default(),
        LearnConfig {
            newton_steps: 1,
            lut_index_bits: 9,
            lut_x_frac_bits: 7,
            lr_shift: 9,
            lr_a_shift: 10,
            guard_bits: 6,
            ..Default::default()
        },
    ];
    let mut rows = 0;
    for (c, learn) in configs.iter().enumerate() {
        let spec = UpdateSpec::new(&EngineConfig::default_config(), learn).unwrap();
        let reqs: Vec<_> = (0..60)
            .map(|_| {
                let mode = if rng.gen_range(0..4) == 0 {
                    RowMode::Linear
                } else {
                    RowMode::Stochastic
                };
                let n = rng.gen_range(1..100);
                random_request(&mut rng, &spec, n, mode)
            })
            .collect::<Vec<_>>();
        // saturation: weights at the edges of their range pushed past them, a bias at its edge
        let mut reqs = reqs;
        let emax = (1i64 << (spec.learn.err_bits - 1)) - 1;
        let bmin = -(1i64 << (spec.bias_bits + spec.learn.guard_bits - 1));
        for (mode, err) in [(RowMode::Linear, emax), (RowMode::Stochastic, -emax - 1)] {
            reqs.push(nsm_model::learn::RowRequest {
                mode,
                w: vec![spec.m_hi as i32, spec.m_lo as i32, 0, spec.m_hi as i32],
                z: vec![-1, 1, 1, 1],
                err,
                a: 0,
                b: bmin,
            });
        }
        assert!(reqs
            .iter()
            .any(|r| update_row(&spec, r).flags & nsm_model::learn::update::flags::WEIGHT != 0));
        for simulator in [Simulator::Icarus, Simulator::Verilator] {
            let dir = root.join(format!("cfg{c}-{simulator}"));
            let mut bench =
                UpdateBench::new(&dir, &spec, simulator).unwrap_or_else(|e| panic!("{e}"));
            let got = bench.run(&reqs).unwrap_or_else(|e| panic!("{e}"));
            for (i, (req, g)) in reqs.iter().zip(&got).enumerate() {
                let want = update_row(&spec, req);
                assert_eq!(
                    count_mismatches(&want, g),
                    0,
                    "config {c} {simulator} row {i} ({}):\n{req:?}\nwant {want:?}\ngot  {g:?}",
                    dir.display()
                );
                assert_eq!(g.weight_clips, want.weight_clips);
            }
            rows += reqs.len();
        }
    }
    assert!(rows >= 200);
}

/// The update unit's Verilog for `engine` (a file under configs/) and the learning formats
/// `learn` (JSON, `None` for the defaults), as `gen-verilog --update-unit` writes it, then
/// `verilator --lint-only -Wall` on the unit with nothing but its generated waivers
/// (`nsm_update_unit.vlt`): no finding. Needs verilator (scripts/install-tools.sh); a missing
/// tool fails the test. The files stay under `target/tmp/update-unit-lint/<case>` for
/// inspection.
fn lint_update_unit(engine: &str, learn: Option<&str>, case: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("update-unit-lint")
        .join(case);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(engine);
    let cfg = EngineConfig::load(&cfg).unwrap();
    let learn = match learn {
        Some(json) => LearnConfig::from_json(json, "learn.json").unwrap(),
        None => LearnConfig::default(),
    };
    let spec = UpdateSpec::new(&cfg, &learn).unwrap();
    let v = nsm_verilog::update_unit_verilog(&spec).unwrap();
    let vlt = nsm_verilog::update_unit_vlt(&v);
    std::fs::write(dir.join(nsm_verilog::UPDATE_VERILOG_FILE), &v).unwrap();
    std::fs::write(dir.join(nsm_verilog::UPDATE_VLT_FILE), &vlt).unwrap();
    for l in vlt.lines().filter(|l| l.starts_with("lint_off")) {
        assert!(!l.contains("WIDTH") && !l.contains("UNSIGNED"), "{l}");
    }
    // a missing verilator fails here too, with install instructions
    if let Err(e) = nsm_flow::lint::verilator_lint(
        &dir,
        nsm_verilog::UPDATE_TOP,
        nsm_verilog::UPDATE_VLT_FILE,
        nsm_verilog::UPDATE_VERILOG_FILE,
    ) {
        panic!("update unit ({case}): {e}");
    }
}

#[test]
fn update_unit_verilog_is_lint_clean_in_verilator() {
    lint_update_unit("default.json", None, "default");
    // 4-bit weights, fewer guard bits, a 512-entry table, one Newton step
    lint_update_unit(
        "up5k.json",
        Some(
            r#"{"newton_steps": 1, "lut_index_bits": 9, "lut_x_frac_bits": 7, "lr_shift": 9, "lr_a_shift": 10, "guard_bits": 6}"#,
        ),
        "up5k-small",
    );
    // more guard bits
    lint_update_unit("default.json", Some(r#"{"guard_bits": 12}"#), "wide-guard");
}
