//! The reading path on a small document of its own, then on every format that uses it: each
//! refusal names the file, the field, the value and the line.

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

// ---- networks ----

fn small_net(noise: Option<Noise>) -> Network {
    let model = match noise {
        Some(Noise::BlankOut { .. }) => ModelKind::Nsm,
        Some(Noise::Gaussian { .. }) => ModelKind::Gnsm,
        None => ModelKind::Stnn,
    };
    let per_neuron = if noise.is_some() {
        vec![1.0, 0.5]
    } else {
        Vec::new()
    };
    Network {
        schema: NET_SCHEMA.to_string(),
        model,
        noise,
        hidden: vec![HiddenLayer {
            n_in: 3,
            n_out: 2,
            w: vec![0.5, -0.375, 1.0, -1.0, 0.75, 0.125],
            beta: per_neuron.clone(),
            b: per_neuron.iter().map(|b| b - 0.75).collect(),
        }],
        output: OutputLayer {
            n_in: 2,
            n_out: 2,
            w: vec![1.0, -1.0, 0.5, 2.0],
            b: vec![0.0, 0.25],
        },
        training: Some(serde_json::json!({"options": {"epochs": 3, "hidden": [2]}})),
    }
}

fn nsm_net() -> Network {
    small_net(Some(Noise::BlankOut { transmit_p: 0.5 }))
}

fn net_err(text: &str) -> JsonError {
    match Network::from_json(text, std::path::Path::new("n.json")) {
        Err(ModelError::NetJson(e)) => e,
        other => panic!("expected a JSON refusal, got {other:?}"),
    }
}

#[test]
fn networks_round_trip_for_every_model() {
    for noise in [
        Some(Noise::BlankOut { transmit_p: 0.25 }),
        Some(Noise::Gaussian { sigma: 0.7 }),
        None,
    ] {
        let net = small_net(noise);
        let p = std::path::Path::new("n.json");
        assert_eq!(Network::from_json(&net.to_json(), p).unwrap(), net);
        let pretty = serde_json::to_string_pretty(&net).unwrap();
        assert_eq!(Network::from_json(&pretty, p).unwrap(), net);
    }
}

#[test]
fn network_fields_are_named_and_unknown_keys_refused_at_every_depth() {
    let text = serde_json::to_string_pretty(&nsm_net()).unwrap();
    let bad = edit(&text, "-0.375", "\"-0.375\"");
    names(
        &net_err(&bad),
        "n.json",
        "hidden[0].w[1]",
        &bad,
        "-0.375",
        &["invalid type: string \"-0.375\", expected f32"],
    );
    for (from, to, path) in [
        (
            "\"n_in\": 3,",
            "\"n_in\": 3, \"bias\": [],",
            "hidden[0].bias",
        ),
        (
            "\"transmit_p\": 0.5",
            "\"transmit_p\": 0.5, \"seed\": 1",
            "noise.seed",
        ),
        (
            "\"n_in\": 2,",
            "\"n_in\": 2, \"softmax\": true,",
            "output.softmax",
        ),
        (
            "\"model\": \"nsm\",",
            "\"model\": \"nsm\", \"note\": \"x\",",
            "note",
        ),
    ] {
        let text = edit(&text, from, to);
        let key = path.rsplit('.').next().unwrap();
        names(
            &net_err(&text),
            "n.json",
            path,
            &text,
            &format!("\"{key}\""),
            &[&format!("unknown field `{key}`")],
        );
    }
    // a noise kind with the other kind's parameter
    let e = net_err(&edit(&text, "\"transmit_p\": 0.5", "\"sigma\": 0.5"));
    assert_eq!(e.path, "noise", "{e}");
    assert!(
        e.message
            .contains("takes transmit_p, not sigma (found sigma = 0.5)"),
        "{e}"
    );
}

#[test]
fn the_old_key_blank_out_p_reads_as_transmit_p() {
    let net = small_net(Some(Noise::BlankOut { transmit_p: 0.25 }));
    let text = serde_json::to_string_pretty(&net).unwrap();
    let old = edit(&text, "\"transmit_p\": 0.25", "\"blank_out_p\": 0.25");
    let p = std::path::Path::new("n.json");
    assert_eq!(Network::from_json(&old, p).unwrap(), net);
    // written back under the new name only
    assert!(net.to_json().contains("\"transmit_p\":0.25"));
    assert!(!net.to_json().contains("blank_out_p"));
    // both names at once is one field given twice
    let both = edit(
        &text,
        "\"transmit_p\": 0.25",
        "\"transmit_p\": 0.25, \"blank_out_p\": 0.25",
    );
    let e = net_err(&both);
    assert_eq!(e.path, "noise", "{e}");
    assert!(e.message.contains("duplicate field `transmit_p`"), "{e}");
}

#[test]
fn duplicate_network_keys_are_refused_inside_the_training_record() {
    let text = serde_json::to_string_pretty(&nsm_net()).unwrap();
    let text = edit(&text, "\"epochs\": 3,", "\"epochs\": 3,\n\"epochs\": 4,");
    names(
        &net_err(&text),
        "n.json",
        "training.options.epochs",
        &text,
        "\"epochs\": 4",
        &["duplicate key \"epochs\""],
    );
    let text = serde_json::to_string_pretty(&nsm_net()).unwrap();
    let text = edit(
        &text,
        "\"model\": \"nsm\",",
        "\"model\": \"nsm\",\n\"model\": \"gnsm\",",
    );
    names(
        &net_err(&text),
        "n.json",
        "model",
        &text,
        "\"gnsm\"",
        &["duplicate key \"model\""],
    );
}

#[test]
fn a_model_and_noise_mismatch_is_named_without_debug_text() {
    let mut net = nsm_net();
    net.noise = Some(Noise::Gaussian { sigma: 0.5 });
    let e = Network::from_json(&net.to_json(), std::path::Path::new("n.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("n.json: invalid network: model nsm does not go with noise gaussian"),
        "{e}"
    );
    net.noise = None;
    let e = net.validate().unwrap_err().to_string();
    assert!(e.contains("noise none") && !e.contains("None"), "{e}");
}

// ---- quantized networks ----

fn qnet_text() -> (EngineConfig, String) {
    let cfg = EngineConfig::default_config();
    let q = quantize(&nsm_net(), &cfg).unwrap();
    (cfg, serde_json::to_string_pretty(&q).unwrap())
}

fn qnet_err(text: &str, cfg: &EngineConfig) -> JsonError {
    match QNet::from_json(text, "q.json", cfg) {
        Err(QuantError::Json(e)) => e,
        other => panic!("expected a JSON refusal, got {other:?}"),
    }
}

#[test]
fn quantized_networks_round_trip_and_refuse_unknown_keys_at_every_depth() {
    let (cfg, text) = qnet_text();
    let q = QNet::from_json(&text, "q.json", &cfg).unwrap();
    assert_eq!(q, quantize(&nsm_net(), &cfg).unwrap());
    assert_eq!(QNet::from_json(&q.to_json(), "q.json", &cfg).unwrap(), q);
    for (from, to, path) in [
        (
            "\"n_in\": 3,",
            "\"n_in\": 3, \"beta\": [],",
            "hidden[0].beta",
        ),
        ("\"n_in\": 2,", "\"n_in\": 2, \"scale\": 1,", "output.scale"),
        (
            "\"a_saturated\": 0,",
            "\"a_saturated\": 0, \"w_saturated\": 0,",
            "report.w_saturated",
        ),
        (
            "\"weight_bits\": 8,",
            "\"weight_bits\": 8, \"cols\": 8,",
            "cols",
        ),
    ] {
        let text = edit(&text, from, to);
        let key = path.rsplit('.').next().unwrap();
        names(
            &qnet_err(&text, &cfg),
            "q.json",
            path,
            &text,
            &format!("\"{key}\""),
            &[&format!("unknown field `{key}`")],
        );
    }
    let bad = edit(&text, "\"a_bits\": 16,", "\"a_bits\": 16,\n\"a_bits\": 12,");
    names(
        &qnet_err(&bad, &cfg),
        "q.json",
        "a_bits",
        &bad,
        "\"a_bits\": 12",
        &["duplicate key \"a_bits\""],
    );
    let bad = edit(&text, "\"schema\": \"nsm-qnet/1\"", "\"schema\": [1]");
    assert!(qnet_err(&bad, &cfg).message.contains("[1] (not a string)"));
    // a quantized network that does not fit the engine names its file
    let small = EngineConfig {
        max_neurons: 1,
        ..cfg
    };
    let e = QNet::from_json(&text, "q.json", &small)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("q.json: layer 0: width = 2 exceeds"), "{e}");
}

// ---- learning configurations ----

fn learn_err(text: &str) -> JsonError {
    match LearnConfig::from_json(text, "l.json") {
        Err(LearnError::Json(e)) => e,
        other => panic!("expected a JSON refusal, got {other:?}"),
    }
}

#[test]
fn learning_configurations_are_read_through_the_same_path() {
    let full = serde_json::to_string_pretty(&LearnConfig::default()).unwrap();
    assert_eq!(
        LearnConfig::from_json(&full, "l").unwrap(),
        LearnConfig::default()
    );
    assert_eq!(
        LearnConfig::from_json("{}", "l").unwrap(),
        LearnConfig::default()
    );
    let text = "{\n\"lr_shift\": 9,\n\"lr_shfit\": 3\n}";
    names(
        &learn_err(text),
        "l.json",
        "lr_shfit",
        text,
        "lr_shfit",
        &["unknown field `lr_shfit`"],
    );
    let text = "{\n\"lr_shift\": 9,\n\"lr_shift\": 3\n}";
    names(
        &learn_err(text),
        "l.json",
        "lr_shift",
        text,
        "3",
        &["duplicate key \"lr_shift\""],
    );
    let text = "{\n\"guard_bits\": true\n}";
    names(
        &learn_err(text),
        "l.json",
        "guard_bits",
        text,
        "true",
        &["boolean `true`"],
    );
    let e = learn_err(r#"{"schema": 1}"#);
    assert!(e.message.contains("1 (not a string)"), "{e}");
}

// ---- memory maps ----

fn memmap_text() -> String {
    let cfg = EngineConfig::default_config();
    let q = quantize(&nsm_net(), &cfg).unwrap();
    MemMap::new(&cfg, &memory_images(&q, &cfg)).to_json()
}

fn memmap_err(text: &str) -> JsonError {
    match MemMap::from_json(text, "m.json") {
        Err(MemMapError::Json(e)) => e,
        other => panic!("expected a JSON refusal, got {other:?}"),
    }
}

#[test]
fn memory_maps_round_trip_and_refuse_unknown_keys_at_every_depth() {
    let text = memmap_text();
    let m = MemMap::from_json(&text, "m.json").unwrap();
    assert_eq!(m.to_json(), text);
    assert_eq!(m.memories.layers[1].weight_base, 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.memmap.json");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(MemMap::load(&path).unwrap(), m);
    for (from, to, path) in [
        (
            "\"neuron_base\": 2",
            "\"neuron_base\": 2, \"end\": 4",
            "memories.layers[1].end",
        ),
        (
            "\"u_bits\": ",
            "\"v_bits\": 1, \"u_bits\": ",
            "derived_widths.v_bits",
        ),
        (
            "\"width\": 16",
            "\"width\": 16, \"seed\": 1",
            "config.lfsr.seed",
        ),
        (
            "\"memories\": {",
            "\"memories\": { \"depth\": 1,",
            "memories.depth",
        ),
    ] {
        let text = edit(&text, from, to);
        let key = path.rsplit('.').next().unwrap();
        names(
            &memmap_err(&text),
            "m.json",
            path,
            &text,
            &format!("\"{key}\""),
            &[&format!("unknown field `{key}`")],
        );
    }
    let bad = edit(
        &text,
        "\"schema\": \"nsm-memmap/1\"",
        "\"schema\": \"nsm-memmap/2\"",
    );
    assert!(memmap_err(&bad).message.contains("\"nsm-memmap/2\""));
}

#[test]
fn a_memory_map_whose_numbers_do_not_follow_from_its_configuration_is_refused() {
    let text = memmap_text();
    let bad = edit(&text, "\"weight_base\": 2", "\"weight_base\": 3");
    let e = MemMap::from_json(&bad, "m.json").unwrap_err().to_string();
    assert_eq!(
        e,
        "m.json: field memories.layers[1].weight_base = 3 does not follow from the \
         configuration, which gives 2"
    );
    let bad = edit(&text, "\"threshold\": 1", "\"threshold\": 5");
    let e = MemMap::from_json(&bad, "m.json").unwrap_err().to_string();
    assert!(
        e.starts_with("m.json: field config: blank_out.threshold = 5"),
        "{e}"
    );
}
