//! gen-verilog end to end: determinism, the files and manifest it writes, named errors with
//! nothing written, and the reviewed snapshot of a small configuration.

use std::process::Command;

use nsm_model::engine::config::EngineConfig;
use nsm_verilog::VerilogOptions;

fn tiny() -> EngineConfig {
    EngineConfig {
        rows: 1,
        cols: 2,
        max_fan_in: 8,
        max_neurons: 8,
        max_layers: 2,
        weight_memory_words: 16,
        neuron_memory_words: 16,
        mc_samples: 2,
        lfsr: nsm_model::engine::config::LfsrConfig {
            width: 8,
            taps: None,
        },
        ..EngineConfig::default_config()
    }
}

fn gen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gen-verilog"))
        .args(args)
        .output()
        .unwrap()
}

/// The lines of the module whose declaration starts with `head`, up to its `endmodule`.
fn module_text(verilog: &str, head: &str) -> String {
    verilog
        .lines()
        .skip_while(|l| !l.starts_with(head))
        .take_while(|l| !l.starts_with("endmodule"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn output_is_deterministic_and_complete() {
    let a = nsm_verilog::generate(&tiny(), None, &VerilogOptions::default()).unwrap();
    let b = nsm_verilog::generate(&tiny(), None, &VerilogOptions::default()).unwrap();
    assert_eq!(a.files, b.files);
    let names: Vec<&str> = a.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "nsm_engine.v",
            "nsm_engine.vlt",
            "nsm_engine.core",
            "manifest.json"
        ]
    );
    let vlt = &a.files[1].1;
    assert!(vlt.starts_with("`verilator_config"));
    assert!(vlt.contains("lint_off -rule UNUSEDSIGNAL -file \"*nsm_engine.v\" -lines "));
    assert!(!vlt.contains("WIDTH") && !vlt.contains("UNSIGNED"));
    let core = &a.files[2].1;
    assert!(core.starts_with("CAPI=2:"));
    assert!(core.contains("      - nsm_engine.v\n") && core.contains("toplevel: nsm_engine"));
    assert!(core.contains("      - nsm_engine.vlt\n") && core.contains("file_type: vlt"));
    let v = &a.files[0].1;
    assert!(v.contains("module nsm_engine("));
    assert!(!v.contains("module top("));
    // every port of the manifest is declared in the top module with the manifest's width
    let top = module_text(v, "module nsm_engine(");
    for port in nsm_verilog::ports() {
        let decl = top
            .lines()
            .map(str::trim)
            .find(|l| {
                (l.starts_with("input ") || l.starts_with("output "))
                    && l.ends_with(&format!(" {};", port.name))
            })
            .unwrap_or_else(|| panic!("port {} missing", port.name));
        let bits = match decl.split_once('[') {
            Some((_, rest)) => {
                let hi: usize = rest.split(':').next().unwrap().parse().unwrap();
                hi + 1
            }
            None => 1,
        };
        assert_eq!(bits, port.bits, "width of port {}: {decl}", port.name);
        assert!(decl.starts_with(port.direction), "{decl}");
    }
    let m: serde_json::Value = serde_json::from_str(&a.files[3].1).unwrap();
    assert_eq!(m["top"], "nsm_engine");
    assert_eq!(m["parameters"]["cols"], 2);
    assert_eq!(m["files"][0], "nsm_engine.v");
    assert_eq!(m["generator"]["rust_hdl"], "0.46.0");
    assert!(m["generator"]["tools"]
        .as_object()
        .unwrap()
        .contains_key("yosys"));
}

#[test]
fn tiny_engine_verilog_snapshot() {
    let g = nsm_verilog::generate(&tiny(), None, &VerilogOptions::default()).unwrap();
    insta::assert_snapshot!("tiny_1x2_engine", g.files[0].1);
}

#[test]
fn ecp5_cells_form_writes_the_cell_model_and_says_so() {
    use nsm_verilog::cells::Cells;
    let g = nsm_verilog::generate(
        &tiny(),
        None,
        &VerilogOptions {
            cells: Cells::Ecp5,
            ..Default::default()
        },
    )
    .unwrap();
    let names: Vec<&str> = g.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "nsm_engine.v",
            "nsm_engine.vlt",
            "CCU2C.v",
            "nsm_engine.core",
            "manifest.json"
        ]
    );
    let v = &g.files[0].1;
    // the two sums of each PE on the carry cells, and the module they use, once
    let portable = nsm_verilog::verilog(&tiny(), &VerilogOptions::default()).unwrap();
    let pes = portable.matches("s_r <= s_in[").count();
    assert_eq!(pes, tiny().pes());
    assert_eq!(v.matches("nsm_ecp5_pe_sum #(.P(").count(), 2 * pes);
    assert_eq!(v.matches("module nsm_ecp5_pe_sum").count(), 1);
    assert!(!v.contains("add_s"), "no portable adder left");
    assert!(
        !v.contains("module CCU2C"),
        "the cell model is not part of the design"
    );
    let core = &g.files[3].1;
    assert!(core.contains("  cell_models:\n    files:\n      - CCU2C.v\n"));
    assert!(core.contains("filesets: [rtl, cell_models, lint_waivers]"));
    // simulators reach the model through the default target, synthesis never
    assert!(core.contains(
        "filesets: [rtl, \"tool_icarus? (cell_models)\", \"tool_verilator? (cell_models)\"]"
    ));
    assert!(core.contains("  synth_ecp5:\n    default_tool: trellis\n    filesets: [rtl]\n"));
    assert!(!core.contains("synth_ice40"), "{core}");
    let m: serde_json::Value = serde_json::from_str(&g.files[4].1).unwrap();
    assert_eq!(m["cells"], "ecp5");
    assert_eq!(m["files"][2], "CCU2C.v");
    assert_eq!(m["simulation_models"], serde_json::json!(["CCU2C.v"]));
    let portable_manifest =
        nsm_verilog::generate(&tiny(), None, &VerilogOptions::default()).unwrap();
    let m: serde_json::Value = serde_json::from_str(&portable_manifest.files[3].1).unwrap();
    assert_eq!(m["cells"], "portable");
    assert_eq!(m["simulation_models"], serde_json::json!([]));
    // the sum module and one PE, reviewed
    let pe = module_text(v, "module nsm_engine$array$pes$1(");
    let sum = &v[v.find("// One PE sum on the ECP5").unwrap()..];
    insta::assert_snapshot!("tiny_1x2_ecp5_pe_and_sum", format!("{pe}\n...\n{sum}"));
}

#[test]
fn cli_writes_files_and_refuses_invalid_configs_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("engine.json");
    std::fs::write(&cfg_path, tiny().to_json()).unwrap();
    let out = dir.path().join("out");
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("nsm_engine.v").exists() && out.join("manifest.json").exists());
    assert!(out.join("nsm_engine.core").exists());
    assert!(!out.join("CCU2C.v").exists());
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--cells",
        "ecp5",
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("CCU2C.v").exists());
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--cells",
        "ice40",
        "--out-dir",
        dir.path().join("out-bad").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("ice40") && e.contains("portable, ecp5"), "{e}");
    assert!(!dir.path().join("out-bad").exists());

    let mut bad = tiny();
    bad.blank_out.threshold = 2; // k = 1: threshold must be below 2
    std::fs::write(&cfg_path, serde_json::to_string(&bad).unwrap()).unwrap();
    let out2 = dir.path().join("out2");
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--out-dir",
        out2.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("threshold = 2 must be below 2^1"), "{e}");
    assert!(
        !out2.exists(),
        "nothing may be written for an invalid configuration"
    );

    std::fs::write(&cfg_path, "{").unwrap();
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--out-dir",
        out2.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid engine configuration JSON"));
    assert!(!out2.exists());

    let help = gen(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--out-dir"));
}

#[test]
fn update_unit_verilog_is_written_with_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("engine.json");
    std::fs::write(&cfg_path, EngineConfig::default_config().to_json()).unwrap();
    let learn = dir.path().join("learn.json");
    std::fs::write(&learn, r#"{"lut_index_bits": 9, "lut_x_frac_bits": 7}"#).unwrap();
    let out = dir.path().join("out");
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--update-unit",
        "--learn",
        learn.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = std::fs::read_to_string(out.join(nsm_verilog::UPDATE_VERILOG_FILE)).unwrap();
    assert!(v.contains("module nsm_update_unit("), "{}", &v[..400]);
    // 512-entry tables: P(0) = 1/2 and D(0) = 2/sqrt(pi) with 12 fractional bits
    assert!(v.contains("p_rom[0] = 13'd2048;") && v.contains("d_rom[0] = 13'd4622;"));
    assert!(v.contains("p_rom[511]") && !v.contains("p_rom[512]"));
    // deterministic
    let spec = nsm_model::learn::UpdateSpec::new(
        &EngineConfig::default_config(),
        &nsm_model::learn::LearnConfig::from_json(&std::fs::read_to_string(&learn).unwrap(), "t")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(nsm_verilog::update_unit_verilog(&spec).unwrap(), v);
    // a bad learning configuration is refused by name
    std::fs::write(&learn, r#"{"newton_steps": 9}"#).unwrap();
    let o = gen(&[
        "--config",
        cfg_path.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--update-unit",
        "--learn",
        learn.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("newton_steps"));
}

/// A tiny random engine configuration and a quantized network for it, written into `dir`.
fn tiny_case(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use nsm_model::engine::samples::{self, Limits, Weights};
    use rand::SeedableRng;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
    // one the update unit's default formats fit too
    let cfg = loop {
        let cfg = samples::random_config(&mut rng, &Limits::TINY);
        let learn = nsm_model::learn::LearnConfig::default();
        if nsm_model::learn::UpdateSpec::new(&cfg, &learn).is_ok() {
            break cfg;
        }
    };
    let q = samples::random_qnet(&mut rng, &cfg, &Limits::TINY, Weights::Random);
    let (c, qp) = (dir.join("engine.json"), dir.join("q.json"));
    std::fs::write(&c, cfg.to_json()).unwrap();
    std::fs::write(&qp, q.to_json()).unwrap();
    (c, qp)
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_regenerated_folder_loses_the_earlier_runs_files_and_keeps_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, q) = tiny_case(dir.path());
    let out = dir.path().join("out");
    let (c_s, q_s, out_s) = (
        cfg.to_str().unwrap(),
        q.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let o = gen(&[
        "--config",
        c_s,
        "--qnet",
        q_s,
        "--cells",
        "ecp5",
        "--update-unit",
        "--out-dir",
        out_s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "weights.hex",
        "neurons.hex",
        "CCU2C.v",
        "nsm_update_unit.v",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    std::fs::write(out.join("my_tb.v"), "// mine").unwrap();
    let o = gen(&["--config", c_s, "--out-dir", out_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        names(&out),
        [
            "manifest.json",
            "my_tb.v",
            "nsm_engine.core",
            "nsm_engine.v",
            "nsm_engine.vlt"
        ]
    );
    // and the manifest lists what is there
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["files"].as_array().unwrap().len(), 4);
}

#[test]
fn a_bad_learning_configuration_or_output_folder_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, q) = tiny_case(dir.path());
    let (c_s, q_s) = (cfg.to_str().unwrap(), q.to_str().unwrap());
    let learn = dir.path().join("learn.json");
    std::fs::write(&learn, r#"{"newton_steps": 9}"#).unwrap();
    let out = dir.path().join("out");
    let run = |out: &std::path::Path| {
        gen(&[
            "--config",
            c_s,
            "--qnet",
            q_s,
            "--update-unit",
            "--learn",
            learn.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ])
    };
    // a new folder is not even created
    let o = run(&out);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("newton_steps") && e.contains("learn.json"),
        "{e}"
    );
    assert!(!out.exists());
    // an earlier complete folder stays as it was
    let o = gen(&["--config", c_s, "--out-dir", out.to_str().unwrap()]);
    assert!(o.status.success());
    let before: Vec<Vec<u8>> = names(&out)
        .iter()
        .map(|n| std::fs::read(out.join(n)).unwrap())
        .collect();
    assert_eq!(run(&out).status.code(), Some(1));
    let after: Vec<Vec<u8>> = names(&out)
        .iter()
        .map(|n| std::fs::read(out.join(n)).unwrap())
        .collect();
    assert_eq!(before, after);
    // an output folder that is a file, or holds an input, is refused by its flag
    let o = gen(&["--config", c_s, "--out-dir", c_s]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!("--out-dir {c_s}: exists and is not a folder")),
        "{e}"
    );
    let inside = out.join("manifest.json");
    std::fs::copy(&cfg, out.join("nsm_engine.core")).unwrap();
    let o = gen(&[
        "--config",
        out.join("nsm_engine.core").to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("is the input"), "{e}");
    assert!(inside.exists());
}
