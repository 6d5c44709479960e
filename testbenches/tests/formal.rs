//! Proofs of the stream protocol and the accumulator widths with Yosys's formal flow
//! (`nsm_flow::formal`: yosys, yosys-smtbmc, z3), on a small configuration, and the same
//! proofs failing on deliberately broken engines, one per property. A missing tool fails the
//! test (scripts/install-tools.sh installs them). The folders stay under
//! `target/tmp/formal/` with their logs and replay scripts.
//!
//! Deeper on demand: `NSM_PROOF_DEPTH=60 cargo test -p nsm-testbenches --test formal --
//! --ignored` proves a two-layer network over several inferences.

use std::path::PathBuf;

use nsm_flow::formal::{self, ProofOptions, ProofReport, Property};
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::QNet;

/// The shipped proof configuration: two rows, two columns, 3-bit weights, two passes (one
/// group of passes per input).
fn small() -> EngineConfig {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/formal.json");
    EngineConfig::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Cycles checked: an inference of the one-layer network takes 29 (its last beat can be taken
/// at step 29), so every proof covers a whole inference and the start of the next.
const DEPTH: usize = 32;

fn dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("formal")
        .join(case)
}

fn prove(
    case: &str,
    verilog: &str,
    q: &QNet,
    property: Property,
    depth: usize,
    cover: bool,
) -> ProofReport {
    let cfg = small();
    let r = formal::prove(
        &dir(case),
        verilog,
        &cfg,
        q,
        property,
        &ProofOptions { depth, cover },
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    eprintln!(
        "{case}: {} depth {} {} ({:.1} s){}",
        property.name(),
        r.depth,
        match &r.failure {
            None => "passed".to_string(),
            Some(f) => format!("FAILED: {} at step {}", f.assertion, f.step),
        },
        r.seconds,
        r.answered_at
            .map(|s| format!(", last beat taken at step {s}"))
            .unwrap_or_default()
    );
    r
}

/// A one-layer network (4 inputs, 2 classes) with the largest weights.
fn one_layer() -> QNet {
    formal::sample_network(&small(), &[4, 2])
}

fn engine() -> String {
    formal::engine_verilog(&small()).unwrap()
}

/// `verilog` with `from` replaced by `to` inside the module `module` (exactly once).
fn broken(verilog: &str, module: &str, from: &str, to: &str) -> String {
    let start = verilog
        .find(&format!("module {module}("))
        .unwrap_or_else(|| panic!("module {module} not in the engine"));
    let end = start + verilog[start..].find("endmodule").unwrap();
    let body = &verilog[start..end];
    assert_eq!(body.matches(from).count(), 1, "`{from}` once in {module}");
    format!(
        "{}{}{}",
        &verilog[..start],
        body.replacen(from, to, 1),
        &verilog[end..]
    )
}

fn assert_fails(r: &ProofReport, label_prefix: &str) {
    let f = r
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("the broken design passed {}", r.property.name()));
    assert!(
        f.assertion.starts_with(label_prefix),
        "expected {label_prefix} to fail, {} failed at step {}",
        f.assertion,
        f.step
    );
}

#[test]
fn reset_reaches_idle_from_any_state() {
    let q = one_layer();
    let r = prove("reset", &engine(), &q, Property::ResetToIdle, 1, false);
    assert_eq!(r.failure, None);
    // broken: the sequencer ignores the reset
    let v = broken(
        &engine(),
        "nsm_engine$seq",
        "if (reset) begin",
        "if (1'b0) begin",
    );
    assert_fails(
        &prove("reset-broken", &v, &q, Property::ResetToIdle, 1, false),
        "reset_to_idle",
    );
}

#[test]
fn stream_protocol_holds_for_every_input_pattern() {
    let q = one_layer();
    let r = prove("stream", &engine(), &q, Property::Stream, DEPTH, true);
    assert_eq!(r.failure, None);
    let at = r.answered_at.expect("an input's last beat is reachable");
    assert!(at < DEPTH, "the last beat at step {at}");
}

#[test]
fn a_broken_in_ready_fails_the_stream_proof() {
    // in_ready also while the results stream out
    let v = broken(
        &engine(),
        "nsm_engine$seq",
        "in_ready = state$q == c_idle;",
        "in_ready = (state$q == c_idle) | (state$q == c_output);",
    );
    assert_fails(
        &prove(
            "in-ready-broken",
            &v,
            &one_layer(),
            Property::Stream,
            DEPTH,
            false,
        ),
        "in_ready_idle",
    );
}

#[test]
fn a_skipped_beat_fails_the_stream_proof() {
    // the class counter steps by two: a beat is lost
    let v = broken(
        &engine(),
        "nsm_engine$results",
        "out_k$d = (out_k$q + c_one20) & m_neurons;",
        "out_k$d = (out_k$q + c_one20 + c_one20) & m_neurons;",
    );
    assert_fails(
        &prove(
            "beat-lost",
            &v,
            &one_layer(),
            Property::Stream,
            DEPTH,
            false,
        ),
        "beats_in_order",
    );
}

#[test]
fn a_beat_dropped_without_out_ready_fails_the_stream_proof() {
    // the beat is withdrawn after a cycle whether or not it was taken
    let v = broken(
        &engine(),
        "nsm_engine$results",
        "if (beat_valid$q & out_ready) begin",
        "if (beat_valid$q) begin",
    );
    assert_fails(
        &prove(
            "beat-dropped",
            &v,
            &one_layer(),
            Property::Stream,
            DEPTH,
            false,
        ),
        "beat_held",
    );
}

#[test]
fn accumulators_fit_their_derived_widths() {
    let q = one_layer();
    let r = prove(
        "accumulators",
        &engine(),
        &q,
        Property::AccumulatorWidth,
        DEPTH,
        false,
    );
    assert_eq!(r.failure, None);
    // broken: accumulators one bit narrower than derived (the masks of a 4-bit register)
    let w = small().widths();
    let low = (1u32 << w.acc_bits) - 1;
    let mut v = engine();
    for r in 0..small().rows {
        let module = format!("nsm_engine$array$row_ends${r}");
        v = broken(
            &v,
            &module,
            &format!("localparam  acc_low = 32'h{low:x};"),
            &format!("localparam  acc_low = 32'h{:x};", low >> 1),
        );
        v = broken(
            &v,
            &module,
            &format!("localparam  acc_sign = 32'h{:x};", 1u32 << (w.acc_bits - 1)),
            &format!("localparam  acc_sign = 32'h{:x};", 1u32 << (w.acc_bits - 2)),
        );
        v = broken(
            &v,
            &module,
            &format!("localparam  acc_high = 32'h{:x};", !low),
            &format!("localparam  acc_high = 32'h{:x};", !(low >> 1)),
        );
    }
    assert_fails(
        &prove(
            "accumulators-broken",
            &v,
            &q,
            Property::AccumulatorWidth,
            DEPTH,
            false,
        ),
        "accumulator_width",
    );
}

/// Deeper on demand: a two-layer network, `NSM_PROOF_DEPTH` cycles (default 60).
#[test]
#[ignore]
fn deep_proofs_of_a_two_layer_network() {
    let depth = std::env::var("NSM_PROOF_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let q = formal::sample_network(&small(), &[4, 3, 2]);
    for p in [Property::Stream, Property::AccumulatorWidth] {
        let r = prove(
            &format!("deep-{}", p.name()),
            &engine(),
            &q,
            p,
            depth,
            p == Property::Stream,
        );
        assert_eq!(r.failure, None, "{}", p.name());
    }
}
