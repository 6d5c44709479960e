//! `nsm prove`: the reset proof runs (a second), and bad widths and depths are refused by
//! flag and value before any tool runs.

use super::{fails, nsm, stderr};

#[test]
fn the_reset_proof_runs_and_reports_as_json() {
    let o = nsm(&["prove", "--property", "reset-to-idle", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(v["config"], "configs/formal.json (built in)");
    assert_eq!(v["proofs"][0]["property"], "reset_to_idle");
    assert_eq!(v["proofs"][0]["proved"], true);
}

#[test]
fn bad_widths_and_depths_are_refused_by_flag() {
    let e = fails(&["prove", "--widths", "4"]);
    assert!(
        e.contains("--widths 4: give two or more layer widths"),
        "{e}"
    );
    let e = fails(&["prove", "--widths", "9,2"]);
    assert!(
        e.contains("--widths 9,2: a layer of 9 exceeds configs/formal.json"),
        "{e}"
    );
    let e = fails(&["prove", "--widths", "4,18446744073709551615"]);
    assert!(e.contains("a layer of 18446744073709551615 exceeds"), "{e}");
    let e = fails(&["prove", "--widths", "2,2,2,2"]);
    assert!(e.contains("3 layers exceed max_layers 2"), "{e}");
    let e = fails(&["prove", "--depth", "0"]);
    assert!(e.contains("--depth 0: give 1 to 10000 cycles"), "{e}");
}
