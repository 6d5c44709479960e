use super::*;
use crate::engine::samples::{self, Limits, Weights};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

#[test]
fn addresses_follow_the_documented_map() {
    // docs/hardware.md: region in [31:28]; weights word << 6 | column; neurons
    // neuron << 1 | A/B; layers layer << 3 | field; control 0
    assert_eq!(weight_address(0, 0), 0x0000_0000);
    assert_eq!(weight_address(5, 3), (5 << 6) | 3);
    assert_eq!(weight_address((1 << 20) - 1, 63), 0x03ff_ffff);
    assert_eq!(neuron_address(0, NeuronParam::A), 0x1000_0000);
    assert_eq!(neuron_address(7, NeuronParam::B), 0x1000_000f);
    assert_eq!(layer_address(0, LayerField::Steps), 0x2000_0000);
    assert_eq!(layer_address(2, LayerField::NeuronBase), 0x2000_0013);
    assert_eq!(control_address(), 0x3000_0000);
    assert_eq!(join_address(2, 9), 0x2000_0009);
    assert_eq!(split_address(0x2000_0009), (2, 9));
}

#[test]
#[should_panic(expected = "weight slot")]
fn a_slot_past_the_field_is_refused() {
    weight_address(0, 64);
}

#[test]
#[should_panic(expected = "layer")]
fn a_layer_past_the_field_is_refused() {
    layer_address(256, LayerField::Steps);
}

#[test]
fn addresses_decode_back() {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(2);
    for _ in 0..2000 {
        let (word, slot) = (rng.gen_range(0..1 << 20), rng.gen_range(0..64));
        assert_eq!(
            decode_address(weight_address(word, slot)),
            Some(ConfigTarget::Weight { word, slot })
        );
        let neuron = rng.gen_range(0..1 << 20);
        for which in [NeuronParam::A, NeuronParam::B] {
            assert_eq!(
                decode_address(neuron_address(neuron, which)),
                Some(ConfigTarget::Neuron { neuron, which })
            );
        }
        let layer = rng.gen_range(0..256);
        for field in LayerField::ALL {
            assert_eq!(
                decode_address(layer_address(layer, field)),
                Some(ConfigTarget::Layer { layer, field })
            );
        }
    }
    assert_eq!(
        decode_address(control_address()),
        Some(ConfigTarget::Control)
    );
    // unknown region, unknown layer field, bits the engine ignores
    assert_eq!(decode_address(0x4000_0000), None);
    assert_eq!(decode_address(0x2000_0005), None);
    assert_eq!(decode_address(0x0400_0000), None);
    assert_eq!(decode_address(0x3000_0001), None);
}

#[test]
fn data_words_round_trip() {
    for w in [-32767, -128, -1, 0, 1, 127, 32767] {
        assert_eq!(weight_from_data(weight_data(w)), i64::from(w));
        assert!(weight_data(w) < 1 << WEIGHT_DATA_BITS);
    }
    assert_eq!(weight_data(-1), 0xffff);
    for v in [i32::MIN, -5, 0, 9, i32::MAX] {
        assert_eq!(neuron_from_data(neuron_data(v)), i64::from(v));
    }
}

#[test]
fn input_words_pack_low_bit_first() {
    // 5 inputs on 3 columns: words {+1,-1,+1} and {+1,+1}
    assert_eq!(pack_input_words(&[1, -1, 1, 1, 1], 3), vec![0b101, 0b011]);
    assert_eq!(input_word_count(5, 3), 2);
    assert_eq!(input_word_count(784, 16), 49);
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
    for _ in 0..200 {
        let cols = rng.gen_range(1..=32);
        let n = rng.gen_range(1..200);
        let x = samples::random_input(&mut rng, n);
        let words = pack_input_words(&x, cols);
        assert_eq!(words.len(), input_word_count(n, cols));
        assert!(cols == 32 || words.iter().all(|w| w >> cols == 0));
        assert_eq!(unpack_input_words(&words, cols, n), x);
    }
}

#[test]
fn beats_carry_one_result() {
    let inf = Inference::from_logit_sums(vec![-3, 12, 12, i64::MIN]);
    let beats = ResultBeat::of_inference(&inf);
    assert_eq!(beats.len(), 4);
    assert!(beats[3].last && !beats[2].last);
    assert_eq!(beats[3].class, 1);
    assert_eq!(inference_from_beats(&beats), Ok(inf));
    for b in &beats {
        let v = b.pack();
        assert!(v >> RESULT_BEAT_BITS == 0);
        assert_eq!(ResultBeat::unpack(v), *b);
    }
    // the layout the Verilog testbench reads: {last, class[19:0], index[19:0], logit[63:0]}
    let b = ResultBeat {
        logit: -1,
        index: 2,
        last: true,
        class: 5,
    };
    assert_eq!(
        b.pack(),
        (1u128 << 104) | (5u128 << 84) | (2u128 << 64) | u128::from(u64::MAX)
    );
    let mut swapped = beats.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        inference_from_beats(&swapped),
        Err(BeatError::OutOfOrder { position: 0, .. })
    ));
    assert_eq!(inference_from_beats(&beats[..2]), Err(BeatError::NoLast));
    assert_eq!(inference_from_beats(&[]), Err(BeatError::Empty));
    let mut early = beats.clone();
    early[1].last = true;
    assert!(matches!(
        inference_from_beats(&early),
        Err(BeatError::EarlyLast { position: 1, .. })
    ));
}

#[test]
fn protocol_bytes() {
    assert_eq!(
        [OP_PING, OP_WRITE, OP_INFER, OP_INFER_LOGITS],
        [b'P', b'W', b'I', b'L']
    );
    assert_eq!((REPLY_ACK, REPLY_ERROR, FILLER), (0x4b, 0x45, 0xff));
    for op in Opcode::ALL {
        assert_eq!(Opcode::from_byte(op.byte()), Some(op));
    }
    assert_eq!(Opcode::from_byte(FILLER), None);
    for (i, code) in ErrorCode::ALL.into_iter().enumerate() {
        assert_eq!(code.byte() as usize, i + 1);
        assert_eq!(ErrorCode::from_byte(code.byte()), Some(code));
    }
    assert_eq!(ErrorCode::from_byte(0), None);
    assert_eq!(check_byte(b"P"), b'P');
    assert_eq!(check_byte(&[1, 2, 3]), 0);
    assert_eq!(
        (1..=40).map(input_word_bytes).collect::<Vec<_>>()[..],
        [[1; 8], [2; 8], [3; 8], [4; 8], [4; 8]].concat()[..]
    );
    assert_eq!(result_reply_bytes(10, false), 3);
    assert_eq!(result_reply_bytes(10, true), 83);
}

#[test]
fn load_writes_cover_every_slot_once() {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(4);
    for _ in 0..30 {
        let cfg = samples::random_config(&mut rng, &Limits::SMALL);
        let q = samples::random_qnet(&mut rng, &cfg, &Limits::SMALL, Weights::Random);
        let writes = load_writes(&q, cfg.step_inputs());
        let mut seen = HashMap::new();
        for w in &writes {
            let target = decode_address(w.address).expect("a valid address");
            assert!(seen.insert(target, w.data).is_none(), "{target:?} twice");
        }
        assert_eq!(writes.last().unwrap().address, control_address());
        assert_eq!(writes.last().unwrap().data as usize, q.layers().len());
        // the layer table and the weights agree with the memory images' map
        let images = crate::engine::memory::memory_images(&q, &cfg);
        for (l, m) in images.layout.layers.iter().enumerate() {
            let get = |f| seen[&ConfigTarget::Layer { layer: l, field: f }] as usize;
            assert_eq!(get(LayerField::Steps), m.steps_per_neuron);
            assert_eq!(get(LayerField::NOut), m.n_out);
            assert_eq!(get(LayerField::WeightBase), m.weight_base);
            assert_eq!(get(LayerField::NeuronBase), m.neuron_base);
            let last = get(LayerField::LastStepInputs);
            assert_eq!(
                (m.steps_per_neuron - 1) * cfg.step_inputs() + last,
                m.n_in,
                "layer {l}"
            );
            assert!((1..=cfg.step_inputs()).contains(&last));
        }
        let weights = seen
            .keys()
            .filter(|t| matches!(t, ConfigTarget::Weight { .. }))
            .count();
        assert_eq!(weights, images.layout.weight_words * cfg.step_inputs());
        for (l, view) in q.layers().iter().enumerate() {
            let m = &images.layout.layers[l];
            for i in 0..view.n_out {
                for j in 0..view.n_in {
                    let word = m.weight_base + i * m.steps_per_neuron + j / cfg.step_inputs();
                    let slot = j % cfg.step_inputs();
                    let d = seen[&ConfigTarget::Weight { word, slot }];
                    assert_eq!(weight_from_data(d), i64::from(view.w[i * view.n_in + j]));
                }
                let n = m.neuron_base + i;
                let a = seen[&ConfigTarget::Neuron {
                    neuron: n,
                    which: NeuronParam::A,
                }];
                let b = seen[&ConfigTarget::Neuron {
                    neuron: n,
                    which: NeuronParam::B,
                }];
                assert_eq!(neuron_from_data(a), view.a.map_or(0, |a| i64::from(a[i])));
                assert_eq!(neuron_from_data(b), i64::from(view.b[i]));
            }
        }
    }
}

/// The `` `define `` lines of the include file, name to value text.
fn defines(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("`define ") {
            let rest = rest.split(" //").next().unwrap();
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(
                out.insert(name.to_string(), value.to_string()).is_none(),
                "{name} defined twice"
            );
        }
    }
    out
}

/// The value of a Verilog number literal (`28`, `4'd1`, `8'h4b`).
fn literal(v: &str) -> u64 {
    match v.split_once('\'') {
        None => v.parse().unwrap(),
        Some((_, x)) if x.starts_with('h') => u64::from_str_radix(&x[1..], 16).unwrap(),
        Some((_, x)) => x[1..].parse().unwrap(),
    }
}

#[test]
fn verilog_include_defines_the_same_numbers() {
    let text = verilog_include();
    assert!(text.contains("`ifndef NSM_HOST_INTERFACE_VH\n`define NSM_HOST_INTERFACE_VH\n"));
    assert!(text.trim_end().ends_with("`endif // NSM_HOST_INTERFACE_VH"));
    let d = defines(&text);
    let get = |name: &str| literal(&d[&format!("NSM_{name}")]);
    for (name, value) in [
        ("REGION_SHIFT", u64::from(REGION_SHIFT)),
        ("REGION_BITS", u64::from(REGION_BITS)),
        ("REGION_WEIGHTS", REGION_WEIGHTS),
        ("REGION_NEURONS", REGION_NEURONS),
        ("REGION_LAYERS", REGION_LAYERS),
        ("REGION_CONTROL", REGION_CONTROL),
        ("WEIGHT_WORD_SHIFT", 6),
        ("WEIGHT_COLUMN_BITS", 6),
        ("WEIGHT_DATA_BITS", 16),
        ("NEURON_INDEX_SHIFT", 1),
        ("NEURON_A", 0),
        ("NEURON_B", 1),
        ("LAYER_INDEX_SHIFT", 3),
        ("LAYER_INDEX_BITS", 8),
        ("LAYER_STEPS", 0),
        ("LAYER_N_OUT", 1),
        ("LAYER_WEIGHT_BASE", 2),
        ("LAYER_NEURON_BASE", 3),
        ("LAYER_DATA_BITS", 20),
        ("CONTROL_DATA_BITS", 8),
        ("INPUT_WORD_BITS", 32),
        ("RESULT_INDEX_SHIFT", 64),
        ("RESULT_CLASS_SHIFT", 84),
        ("RESULT_LAST_SHIFT", 104),
        ("RESULT_BEAT_BITS", 105),
        ("OP_PING", u64::from(b'P')),
        ("OP_WRITE", u64::from(b'W')),
        ("OP_INFER", u64::from(b'I')),
        ("OP_INFER_LOGITS", u64::from(b'L')),
        ("REPLY_ACK", u64::from(REPLY_ACK)),
        ("REPLY_ERROR", u64::from(REPLY_ERROR)),
        ("FILLER", 0xff),
        ("ERR_UNKNOWN_OPCODE", 1),
        ("ERR_TIMEOUT", 6),
    ] {
        assert_eq!(get(name), value, "NSM_{name}");
    }
    // bytes are sized, codes are plain (lint-clean in any context)
    assert_eq!(d["NSM_REGION_LAYERS"], "2");
    assert_eq!(d["NSM_LAYER_NEURON_BASE"], "3");
    assert_eq!(d["NSM_OP_PING"], "8'h50");
    assert_eq!(d["NSM_ERR_TIMEOUT"], "8'h06");
    for name in [
        "NSM_CFG_ADDRESS(region,",
        "NSM_WEIGHT_ADDRESS(word,",
        "NSM_NEURON_ADDRESS(neuron,",
        "NSM_LAYER_ADDRESS(layer,",
        "NSM_CONTROL_ADDRESS",
    ] {
        assert!(d.contains_key(name), "{name}");
    }
    // every macro a macro uses is defined
    for value in d.values() {
        for used in value.split('`').skip(1) {
            let name: String = used
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                d.keys().any(|k| k.split('(').next() == Some(name.as_str())),
                "`{name} is not defined"
            );
        }
    }
}
