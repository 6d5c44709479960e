//! The reading path on networks, quantized networks, learning configurations and memory
//! maps: each refusal names the file, the field, the value and the line.

use super::*;

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
