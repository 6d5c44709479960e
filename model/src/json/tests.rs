//! The reading path on a small document of its own, then on the engine configuration (the
//! other formats are in `formats.rs`): each refusal names the file, the field, the value and
//! the line.

use super::*;
use crate::engine::config::{Accumulator, EngineConfig, EngineError};
use crate::engine::memory::{memory_images, MemMap, MemMapError};
use crate::engine::qnet::{quantize, QNet, QuantError};
use crate::equations::Noise;
use crate::error::ModelError;
use crate::learn::{LearnConfig, LearnError};
use crate::net::{HiddenLayer, ModelKind, Network, OutputLayer, NET_SCHEMA};

const DOC: Format = Format {
    what: "test document",
    schema: "t/1",
    schema_required: true,
};

#[derive(Debug, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Doc {
    schema: String,
    n: u32,
    #[serde(default)]
    free: Option<serde_json::Value>,
}

fn doc_err(text: &str) -> JsonError {
    read_document::<Doc>(text, "t.json", &DOC).unwrap_err()
}

/// `text` with its one occurrence of `from` replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} once in {text}");
    text.replace(from, to)
}

/// The 1-based line of the one occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    assert_eq!(text.matches(needle).count(), 1, "{needle:?} once in {text}");
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

/// Expects `e` to name `origin`, `path`, the line of `needle` in `text`, and each of `words`.
fn names(e: &JsonError, origin: &str, path: &str, text: &str, needle: &str, words: &[&str]) {
    let shown = e.to_string();
    assert_eq!(e.origin, origin, "{shown}");
    assert_eq!(e.path, path, "{shown}");
    assert_eq!(e.line, line_of(text, needle), "{shown}");
    assert!(
        shown.starts_with(&format!("{origin}: field {path}: ")),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("(line {}, column {})", e.line, e.column)),
        "{shown}"
    );
    for w in words {
        assert!(shown.contains(w), "{w:?} in {shown}");
    }
    for debug in ["Some(", "None", " { ", "\\\""] {
        assert!(
            !shown.contains(debug),
            "Rust debug text {debug:?} in {shown}"
        );
    }
}

#[test]
fn a_wrong_type_names_the_field_the_value_and_the_line() {
    let text = "{\n  \"schema\": \"t/1\",\n  \"n\": \"8\"\n}";
    let e = doc_err(text);
    names(
        &e,
        "t.json",
        "n",
        text,
        "\"n\"",
        &["invalid type: string \"8\", expected u32"],
    );
    assert_eq!(
        e.to_string(),
        "t.json: field n: invalid type: string \"8\", expected u32 (line 3, column 10)"
    );
}

#[test]
fn duplicate_keys_are_refused_at_the_top_and_inside_free_form_values() {
    let text = "{\"schema\": \"t/1\",\n\"n\": 8,\n\"n\": 9}";
    names(
        &doc_err(text),
        "t.json",
        "n",
        text,
        "\"n\": 9",
        &["duplicate key \"n\""],
    );
    let text = "{\"schema\": \"t/1\", \"n\": 8, \"free\": {\"a\": [{\"b\": 1,\n\"b\": 2}]}}";
    names(
        &doc_err(text),
        "t.json",
        "free.a[0].b",
        text,
        "\"b\": 2",
        &["duplicate key \"b\""],
    );
    // the same key in two different objects is no duplicate
    let ok: Doc = read_document(
        r#"{"schema":"t/1","n":1,"free":{"a":{"n":1},"b":{"n":2}}}"#,
        "t",
        &DOC,
    )
    .unwrap();
    assert_eq!(ok.n, 1);
}

#[test]
fn the_schema_tag_is_checked_first_and_named_as_written() {
    // a wrong tag is reported even though the rest of the document is wrong too
    let text = "{\"n\": \"x\", \"colz\": 1,\n\"schema\": 1}";
    let e = doc_err(text);
    names(
        &e,
        "t.json",
        "schema",
        text,
        "\"schema\"",
        &["1 (not a string)", "\"t/1\""],
    );
    assert!(!e.to_string().contains("missing"), "{e}");
    let e = doc_err(r#"{"schema": "t/0", "n": 1}"#);
    assert_eq!(e.path, "schema");
    assert!(
        e.message
            .contains("schema \"t/0\", this build reads \"t/1\""),
        "{e}"
    );
    let e = doc_err(r#"{"schema": null, "n": 1}"#);
    assert!(e.message.contains("null (not a string)"), "{e}");
    let e = doc_err(r#"{"n": 1}"#);
    assert_eq!(e.path, "");
    assert!(e.message.contains("missing field `schema`"), "{e}");
    // a format whose tag may be left out
    let optional = Format {
        schema_required: false,
        ..DOC
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Opt {
        #[serde(default)]
        n: u32,
    }
    assert_eq!(read_document::<Opt>("{}", "o", &optional).unwrap().n, 0);
    let e = read_document::<Opt>(r#"{"schema": "t/2"}"#, "o", &optional)
        .err()
        .unwrap();
    assert!(e.message.contains("\"t/2\""), "{e}");
}

#[test]
fn text_that_is_not_json_is_named_with_its_position() {
    for (text, line, words) in [
        (
            "{\"schema\": \"t/1\",\n\"n\": 8",
            2,
            "EOF while parsing an object",
        ),
        (
            "{\"schema\": \"t/1\", \"n\": 8}\n x",
            2,
            "trailing characters",
        ),
        (
            "{\"schema\": \"t/1\", \"n\": 8,\n\"free\": [1,]}",
            2,
            "trailing comma",
        ),
        (
            "{\"schema\": \"t/1\", \"n\": 8,\n\"free\": [1, 2 3]}",
            2,
            "expected `,` or `]`",
        ),
    ] {
        let e = doc_err(text);
        assert_eq!((e.path.as_str(), e.line), ("", line), "{e}");
        let shown = e.to_string();
        assert!(
            shown.starts_with("t.json: invalid test document JSON: ") && shown.contains(words),
            "{shown}"
        );
    }
    let e = doc_err("[1]");
    assert!(e.to_string().contains("expected a JSON object"), "{e}");
    assert_eq!(e.column, 1, "{e}");
}

// ---- the engine configuration ----

fn default_text() -> &'static str {
    include_str!("../../../configs/default.json")
}

fn engine_err(text: &str) -> JsonError {
    match EngineConfig::from_json(text, "x.json") {
        Err(EngineError::Json(e)) => e,
        other => panic!("expected a JSON refusal, got {other:?}"),
    }
}

#[test]
fn engine_configuration_fields_are_named_at_every_depth() {
    let t = default_text();
    let text = edit(t, r#""width": 16"#, r#""width": "16""#);
    names(
        &engine_err(&text),
        "x.json",
        "lfsr.width",
        &text,
        "\"width\"",
        &["invalid type: string \"16\", expected u32"],
    );
    let text = edit(t, r#""rows": 8"#, r#""rows": -8"#);
    names(
        &engine_err(&text),
        "x.json",
        "rows",
        &text,
        "\"rows\"",
        &["-8"],
    );
    let text = edit(t, r#""threshold": 1 }"#, r#""threshold": 1.5 }"#);
    names(
        &engine_err(&text),
        "x.json",
        "blank_out.threshold",
        &text,
        "1.5",
        &["1.5"],
    );
}

#[test]
fn unknown_engine_configuration_keys_are_refused_at_every_depth() {
    let t = default_text();
    for (from, to, path) in [
        (r#""rows": 8"#, r#""rows": 8, "colz": 3"#, "colz"),
        (
            r#""width": 16"#,
            r#""width": 16, "tapz": [16]"#,
            "lfsr.tapz",
        ),
        (
            r#""threshold": 1 }"#,
            r#""threshold": 1, "p": 0.5 }"#,
            "blank_out.p",
        ),
        (
            r#""overflow": "exact""#,
            r#""overflow": "exact", "mode": 1"#,
            "accumulator.mode",
        ),
    ] {
        let text = edit(t, from, to);
        let key = path.rsplit('.').next().unwrap();
        names(
            &engine_err(&text),
            "x.json",
            path,
            &text,
            &format!("\"{key}\""),
            &[&format!("unknown field `{key}`")],
        );
    }
    // an accumulator kind with another kind's field
    let text = edit(
        t,
        r#""overflow": "exact""#,
        r#""overflow": "exact", "bits": 20"#,
    );
    let e = engine_err(&text);
    assert_eq!(e.path, "accumulator", "{e}");
    assert!(
        e.message
            .contains("\"exact\" takes no bits (found bits = 20)"),
        "{e}"
    );
    let text = edit(t, r#""overflow": "exact""#, r#""overflow": "saturate""#);
    assert!(engine_err(&text)
        .message
        .contains("needs the accumulator width bits"));
    let text = edit(t, r#""overflow": "exact""#, r#""overflow": "wrap""#);
    let e = engine_err(&text);
    assert_eq!(e.path, "accumulator.overflow", "{e}");
    assert!(e.message.contains("unknown variant `wrap`"), "{e}");
}

#[test]
fn duplicate_engine_configuration_keys_are_refused() {
    let t = default_text();
    let text = edit(t, r#""rows": 8,"#, "\"rows\": 8,\n  \"rows\": 16,");
    names(
        &engine_err(&text),
        "x.json",
        "rows",
        &text,
        "\"rows\": 16",
        &["duplicate key \"rows\""],
    );
    let text = edit(t, r#"{ "width": 16 }"#, r#"{ "width": 16, "width": 8 }"#);
    names(
        &engine_err(&text),
        "x.json",
        "lfsr.width",
        &text,
        "\"width\": 8",
        &["duplicate"],
    );
}

#[test]
fn engine_configuration_schema_errors_name_the_file_and_the_tag() {
    let text = edit(
        default_text(),
        r#""schema": "nsm-engine/1""#,
        r#""schema": 1"#,
    );
    let e = engine_err(&text);
    names(
        &e,
        "x.json",
        "schema",
        &text,
        "\"schema\"",
        &["1 (not a string)", "nsm-engine/1"],
    );
    // a valid shape that fails validation names the file too
    let text = edit(default_text(), r#""threshold": 1 }"#, r#""threshold": 2 }"#);
    let e = EngineConfig::from_json(&text, "x.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.json: blank_out.threshold = 2 must be below 2^1"),
        "{e}"
    );
}

#[test]
fn every_shipped_configuration_loads_and_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let cfg = EngineConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                EngineConfig::from_json(&cfg.to_json(), "again").unwrap(),
                cfg
            );
            n += 1;
        }
    }
    assert!(n >= 6, "{n} configurations");
    let sat = EngineConfig {
        accumulator: Accumulator::Saturate { bits: 16 },
        ..EngineConfig::default_config()
    };
    assert_eq!(EngineConfig::from_json(&sat.to_json(), "s").unwrap(), sat);
}

mod formats;
