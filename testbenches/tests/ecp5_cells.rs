//! The ECP5 carry-cell form of the PE sums ([`nsm_hdl::Cells::Ecp5`]), proved with Yosys's
//! SAT solver rather than sampled:
//! * the sum module (`nsm_hdl::pe::ECP5_ADDER_MODULE`) equals
//!   `acc + (en ? (z ? w : -w) : 0)` for every input, at every width a PE sum can have (2 to
//!   22 bits: `step_sum_bits` of up to 32 columns of 16-bit weights is 21), both on Yosys's
//!   own `CCU2C` model (`+/ecp5/cells_sim.v`, the semantics `synth_ecp5` and nextpnr work
//!   with) and on this project's simulation model (`CCU2C.v`, what Icarus and Verilator run);
//! * the two `CCU2C` models agree with each other on random tables and every `INJECT1`
//!   setting;
//! * a wrong table in the sum module, and a wrong carry rule in the project's model, each fail
//!   their proof (the checks can fail).
//!
//! Needs yosys (scripts/install-tools.sh): a missing tool fails the test. The scripts and logs
//! stay under `target/tmp/ecp5-cells/` for replay (`yosys -s <case>.ys`).

use std::path::{Path, PathBuf};
use std::process::Command;

use nsm_flow::find_tool;
use nsm_hdl::pe::{ECP5_ADDER_MODULE, ECP5_ADDER_MODULE_NAME};
use nsm_verilog::cells::{CCU2C_MODEL, CCU2C_MODEL_FILE};

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ecp5-cells");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `script` (saved as `<name>.ys` in `dir`) and returns whether Yosys succeeded, and
/// its log.
fn yosys(dir: &Path, name: &str, script: &str) -> (bool, String) {
    let yosys = find_tool("yosys", "NSM_YOSYS")
        .expect("yosys not found (set NSM_YOSYS or run scripts/install-tools.sh)");
    let ys = dir.join(format!("{name}.ys"));
    std::fs::write(&ys, script).unwrap();
    let out = Command::new(&yosys)
        .arg("-s")
        .arg(&ys)
        .current_dir(dir)
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(dir.join(format!("{name}.log")), &log).unwrap();
    (out.status.success(), log)
}

/// The reference and the carry-cell sum of width `p`, as modules `gold_<p>` and `gate_<p>`
/// with the same ports.
fn sum_pair(p: u32) -> String {
    format!(
        "module gold_{p}(input wire [{h}:0] acc, input wire [{h}:0] w, input wire z, input wire en, output wire [{h}:0] sum);\n    assign sum = acc + (en ? (z ? w : -w) : {p}'d0);\nendmodule\nmodule gate_{p}(input wire [{h}:0] acc, input wire [{h}:0] w, input wire z, input wire en, output wire [{h}:0] sum);\n    {ECP5_ADDER_MODULE_NAME} #(.P({p})) dut(.acc(acc), .w(w), .z(z), .en(en), .sum(sum));\nendmodule\n",
        h = p - 1
    )
}

/// A script proving `gold_<p>` = `gate_<p>` for every `p` in `widths`, with the `CCU2C` of
/// `cell_model` (a Verilog file in the run folder or a Yosys path) and the sum module in
/// `adder_file`.
fn proof_script(widths: &[u32], cell_model: &str, adder_file: &str, pairs_file: &str) -> String {
    let mut s = format!("read_verilog {cell_model}\nread_verilog {adder_file}\nread_verilog {pairs_file}\nhierarchy\nproc\nflatten\nopt_clean\n");
    for p in widths {
        s.push_str(&format!(
            "miter -equiv -flatten -make_assert gold_{p} gate_{p} miter_{p}\nsat -verify -prove-asserts miter_{p}\n"
        ));
    }
    s
}

/// Every width a PE sum can have: `step_sum_bits` is at least 2, and at most 21 for the
/// hardware's 32 columns of 16-bit weights (22 leaves a margin).
fn widths() -> Vec<u32> {
    (2..=22).collect()
}

fn write_pairs(dir: &Path) {
    let pairs: String = widths().iter().map(|&p| sum_pair(p)).collect();
    std::fs::write(dir.join("pairs.v"), pairs).unwrap();
    std::fs::write(dir.join("sum.v"), ECP5_ADDER_MODULE).unwrap();
    std::fs::write(dir.join(CCU2C_MODEL_FILE), CCU2C_MODEL).unwrap();
}

#[test]
fn the_carry_cell_sum_equals_the_conditional_negation_sum_on_both_cell_models() {
    let dir = dir().join("sum");
    std::fs::create_dir_all(&dir).unwrap();
    write_pairs(&dir);
    for (name, model) in [
        ("yosys-model", "+/ecp5/cells_sim.v"),
        ("project-model", CCU2C_MODEL_FILE),
    ] {
        let (ok, log) = yosys(
            &dir,
            name,
            &proof_script(&widths(), model, "sum.v", "pairs.v"),
        );
        assert!(ok, "{name}: the proof failed:\n{log}");
        assert_eq!(
            log.matches("SAT proof finished - no model found: SUCCESS!")
                .count(),
            widths().len(),
            "{name}: one proof per width expected:\n{log}"
        );
    }
}

#[test]
fn a_wrong_table_fails_the_proof() {
    // the bit cells' low quarter 0xA (the generate, and the propagate when D = 0) becomes
    // 0x8; the carry-in cell's generate `~z & en` becomes 0 (no +1 for -w)
    for (name, from, to) in [
        ("bit-table", "16'h69AA", "16'h69A8"),
        ("carry-in-table", "16'h0004", "16'h0000"),
    ] {
        let dir = dir().join("mutant").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        write_pairs(&dir);
        assert!(ECP5_ADDER_MODULE.contains(from));
        std::fs::write(dir.join("sum.v"), ECP5_ADDER_MODULE.replace(from, to)).unwrap();
        let (ok, log) = yosys(
            &dir,
            "mutant",
            &proof_script(&[12], "+/ecp5/cells_sim.v", "sum.v", "pairs.v"),
        );
        assert!(!ok, "{name}: a wrong table passed the proof:\n{log}");
        assert!(log.contains("proof did fail"), "{name}: {log}");
    }
}

/// Proves `model` (the text of a `CCU2C` module) equal to Yosys's `CCU2C` on random tables
/// and the sum module's, under every `INJECT1` setting, in `dir`; returns whether every
/// proof held, the log, and the number of proofs.
fn compare_models(dir: &Path, model: &str) -> (bool, String, usize) {
    std::fs::create_dir_all(dir).unwrap();
    // the model under another name, beside Yosys's
    std::fs::write(
        dir.join("project_ccu2c.v"),
        model.replace("module CCU2C", "module PROJECT_CCU2C"),
    )
    .unwrap();
    let ports = "input wire CIN, input wire A0, input wire B0, input wire C0, input wire D0, input wire A1, input wire B1, input wire C1, input wire D1, output wire S0, output wire S1, output wire COUT";
    let pins = ".CIN(CIN), .A0(A0), .B0(B0), .C0(C0), .D0(D0), .A1(A1), .B1(B1), .C1(C1), .D1(D1), .S0(S0), .S1(S1), .COUT(COUT)";
    // tables from a fixed linear congruential sequence, and the two used by the sum module
    let mut x: u32 = 12345;
    let mut tables = vec![(0x0004u32, 0x69AAu32), (0x69AA, 0x0000)];
    for _ in 0..6 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let a = x >> 16;
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        tables.push((a, x >> 16));
    }
    let mut verilog = String::new();
    let mut script = "read_verilog +/ecp5/cells_sim.v\nread_verilog project_ccu2c.v\nread_verilog pairs.v\nhierarchy\nproc\nflatten\nopt_clean\n".to_string();
    let mut n = 0;
    for (i0, i1) in &tables {
        for (j0, j1) in [("NO", "NO"), ("YES", "NO"), ("NO", "YES"), ("YES", "YES")] {
            let params = format!(".INIT0(16'h{i0:04x}), .INIT1(16'h{i1:04x}), .INJECT1_0(\"{j0}\"), .INJECT1_1(\"{j1}\")");
            verilog.push_str(&format!("module gold_{n}({ports});\n    CCU2C #({params}) c({pins});\nendmodule\nmodule gate_{n}({ports});\n    PROJECT_CCU2C #({params}) c({pins});\nendmodule\n"));
            script.push_str(&format!(
                "miter -equiv -flatten -make_assert gold_{n} gate_{n} miter_{n}\nsat -verify -prove-asserts miter_{n}\n"
            ));
            n += 1;
        }
    }
    std::fs::write(dir.join("pairs.v"), verilog).unwrap();
    let (ok, log) = yosys(dir, "models", &script);
    (ok, log, n)
}

#[test]
fn the_project_ccu2c_model_matches_yosys_model() {
    let (ok, log, n) = compare_models(&dir().join("models"), CCU2C_MODEL);
    assert!(ok, "the CCU2C models differ:\n{log}");
    assert_eq!(
        log.matches("SAT proof finished - no model found: SUCCESS!")
            .count(),
        n,
        "{log}"
    );
    // and the comparison can fail: a model whose second half cell ignores the carry from the
    // first
    let wrong = "assign S1 = p1 ^ (CUT1 ? 1'b0 : mid);";
    assert!(CCU2C_MODEL.contains(wrong));
    let mutant = CCU2C_MODEL.replace(wrong, "assign S1 = p1 ^ (CUT1 ? 1'b0 : CIN);");
    let (ok, log, _) = compare_models(&dir().join("models-mutant"), &mutant);
    assert!(!ok && log.contains("proof did fail"), "{log}");
}

/// LUT4 and CCU2C counts of `synth_ecp5` on `verilog` (top `nsm_engine`).
fn ecp5_cells(dir: &Path, name: &str, verilog: &str) -> (u64, u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("{name}.v")), verilog).unwrap();
    let (ok, log) = yosys(
        dir,
        name,
        &format!("read_verilog {name}.v\nsynth_ecp5 -top nsm_engine\ntee -q -o {name}.stat.json stat -json\n"),
    );
    assert!(ok, "{name}: synth_ecp5 failed:\n{log}");
    let stat: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.stat.json"))).unwrap(),
    )
    .unwrap();
    let cells = &stat["design"]["num_cells_by_type"];
    (
        cells["LUT4"].as_u64().unwrap_or(0),
        cells["CCU2C"].as_u64().unwrap_or(0),
    )
}

#[test]
fn synth_ecp5_takes_the_operand_logic_into_the_carry_cells() {
    use nsm_model::engine::config::EngineConfig;
    use nsm_verilog::cells::Cells;
    use nsm_verilog::VerilogOptions;
    let cfg = EngineConfig {
        rows: 2,
        cols: 3,
        max_fan_in: 16,
        max_neurons: 16,
        max_layers: 2,
        weight_memory_words: 64,
        neuron_memory_words: 32,
        mc_samples: 2,
        ..EngineConfig::default_config()
    };
    let dir = dir().join("synth");
    let portable = nsm_verilog::verilog(&cfg, &VerilogOptions::default()).unwrap();
    let ecp5 = nsm_verilog::verilog(
        &cfg,
        &VerilogOptions {
            cells: Cells::Ecp5,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!portable.contains("CCU2C"));
    let (luts_p, carries_p) = ecp5_cells(&dir, "portable", &portable);
    let (luts_e, carries_e) = ecp5_cells(&dir, "ecp5", &ecp5);
    // the portable PE spends a LUT4 per bit and sum on its operand (`z ? w : ~w`, gated for
    // T); in the carry cells those LUTs go. Column 0's PEs add to a constant 0, which Yosys
    // folds in both forms, so count the other columns' PEs only, and ask for half the bits.
    let p = u64::from(cfg.widths().step_sum_bits);
    let adding_pes = (cfg.rows * (cfg.cols - 1)) as u64;
    assert!(
        luts_e + adding_pes * p <= luts_p,
        "LUT4s: {luts_e} on carry cells, {luts_p} portable ({adding_pes} PEs adding {p} bits)"
    );
    // and the chains are no longer than Yosys's own: at most one carry cell more per sum
    assert!(
        carries_e <= carries_p + 2 * (cfg.rows * cfg.cols) as u64,
        "CCU2C: {carries_e} on carry cells, {carries_p} portable"
    );
}
