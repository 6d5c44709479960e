//! The board tops' Verilog passes Verilator's lint (errors and the warnings that point at
//! real mistakes in hand-written or generated logic) and elaborates in Icarus. Needs verilator
//! and iverilog (scripts/install-tools.sh): a missing tool fails the test. The files stay
//! under `target/tmp/board-lint/` for inspection.

use std::process::Command;

use nsm_codegen::board::{board_verilog, Board};
use nsm_codegen::find_tool;
use nsm_model::engine::config::EngineConfig;

fn tiny() -> EngineConfig {
    EngineConfig {
        rows: 2,
        cols: 2,
        max_fan_in: 8,
        max_neurons: 8,
        max_layers: 2,
        weight_memory_words: 32,
        neuron_memory_words: 16,
        mc_samples: 3,
        ..EngineConfig::default_config()
    }
}

#[test]
fn board_verilog_lints_in_verilator_and_elaborates_in_icarus() {
    let verilator = find_tool("verilator", "NSM_VERILATOR")
        .expect("verilator not found (set NSM_VERILATOR or run scripts/install-tools.sh)");
    let iverilog = find_tool("iverilog", "NSM_IVERILOG")
        .expect("iverilog not found (set NSM_IVERILOG or run scripts/install-tools.sh)");
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("board-lint");
    for board in [Board::Icebreaker, Board::Ulx3s] {
        let dir = root.join(board.name());
        std::fs::create_dir_all(&dir).unwrap();
        let file = format!("{}.v", board.top());
        std::fs::write(dir.join(&file), board_verilog(board, &tiny()).unwrap()).unwrap();
        // Errors, plus the warnings that catch wiring and precedence mistakes; width and
        // style warnings of rust-hdl's generated code are not this test's subject.
        let out = Command::new(&verilator)
            .args([
                "--lint-only",
                "-Wno-fatal",
                "-Wno-style",
                "-Wno-WIDTH",
                "-Wno-UNOPTFLAT",
                "-Wno-UNUSEDSIGNAL",
                "-Wno-UNUSEDPARAM",
                "-Wno-UNSIGNED",
                "-Wno-CMPCONST",
                "-Wno-CASEINCOMPLETE",
                "--top-module",
                board.top(),
                &file,
            ])
            .current_dir(&dir)
            .output()
            .expect("verilator runs");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        std::fs::write(dir.join("verilator-lint.log"), &log).unwrap();
        assert!(
            out.status.success(),
            "{}: verilator lint failed:\n{log}",
            board.name()
        );
        let warnings: Vec<&str> = log.lines().filter(|l| l.starts_with("%Warning")).collect();
        assert!(
            warnings.is_empty(),
            "{}: lint warnings:\n{}",
            board.name(),
            warnings.join("\n")
        );
        let out = Command::new(&iverilog)
            .args(["-g2012", "-o", "elab.vvp", "-s", board.top(), &file])
            .current_dir(&dir)
            .output()
            .expect("iverilog runs");
        assert!(
            out.status.success(),
            "{}: icarus elaboration failed:\n{}",
            board.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
