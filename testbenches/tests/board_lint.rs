//! The board tops' Verilog passes `verilator --lint-only -Wall` with nothing but its generated
//! waivers (`<top>.vlt`: one per unused-by-design signal, naming file, line and reason; no
//! `-Wno-*` flag), and elaborates in Icarus; for both boards, on a tiny configuration and on
//! the shipped one of each board. Needs verilator and iverilog (scripts/install-tools.sh): a
//! missing tool fails the test. The files stay under `target/tmp/board-lint/` for inspection.

use std::path::Path;
use std::process::Command;

use nsm_flow::find_tool;
use nsm_model::engine::config::EngineConfig;
use nsm_verilog::board::{write_board_verilog, Board};

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

fn shipped(name: &str) -> EngineConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs")
        .join(name);
    EngineConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn lint_and_elaborate(board: Board, cfg: &EngineConfig, case: &str) {
    let iverilog = find_tool("iverilog", "NSM_IVERILOG")
        .expect("iverilog not found (set NSM_IVERILOG or run scripts/install-tools.sh)");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("board-lint")
        .join(format!("{}-{case}", board.name()));
    let (v, vlt) = write_board_verilog(board, cfg, &dir).unwrap();
    let file = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    let (v, vlt) = (file(&v), file(&vlt));
    // a missing verilator fails here too, with install instructions
    if let Err(e) = nsm_flow::lint::verilator_lint(&dir, board.top(), &vlt, &v) {
        panic!("{} ({case}): {e}", board.name());
    }
    let out = Command::new(&iverilog)
        .args(["-g2012", "-y.", "-o", "elab.vvp", "-s", board.top(), &v])
        .current_dir(&dir)
        .output()
        .expect("iverilog runs");
    assert!(
        out.status.success(),
        "{} ({case}): icarus elaboration failed:\n{}",
        board.name(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn board_verilog_is_lint_clean_in_verilator_and_elaborates_in_icarus() {
    for board in [Board::Icebreaker, Board::Ulx3s] {
        lint_and_elaborate(board, &tiny(), "tiny");
    }
    lint_and_elaborate(Board::Icebreaker, &shipped("icebreaker.json"), "shipped");
    lint_and_elaborate(Board::Ulx3s, &shipped("ulx3s.json"), "shipped");
}
