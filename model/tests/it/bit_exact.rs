//! The fast bit-exact model against the plain reference model, on random configurations,
//! random networks and random inputs, including worst-case weights, edge thresholds,
//! saturating accumulators and LFSR states carried across inputs.

use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_model::engine::BitExact;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Wider than the hardware tests: the bit-exact models allow up to 64 columns and long rows.
const MODEL_LIMITS: Limits = Limits {
    max_rows: 6,
    max_cols: 64,
    max_lanes: 8,
    max_k: 12,
    max_weight_bits: 10,
    max_mc_samples: 12,
    max_inputs: 70,
    max_hidden: 20,
    max_hidden_layers: 3,
    max_classes: 10,
};

#[test]
fn fast_model_equals_reference_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    let (mut multi_lane, mut binary) = (0, 0);
    for case in 0..60 {
        let mut cfg = samples::random_config(&mut rng, &MODEL_LIMITS);
        if case % 8 == 7 {
            // the widest array row: gate fields that fill a whole u64 word
            cfg.cols = 64;
            cfg.lanes = 1;
            cfg.rows = cfg.rows.min(2);
            cfg.lfsr.width = 16;
            cfg.blank_out.threshold_bits = cfg.blank_out.threshold_bits.min(16);
            cfg.blank_out.threshold &= (1u32 << cfg.blank_out.threshold_bits) - 1;
            cfg.accumulator = nsm_model::engine::config::Accumulator::Exact;
            cfg.weight_memory_words = 4 * 70 * 70;
        }
        cfg.validate()
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        multi_lane += usize::from(cfg.lanes > 1);
        binary += usize::from(cfg.weight_bits == 1);
        let weights = match case % 6 {
            3 => Weights::Zero,
            4 => Weights::AllMax,
            5 => Weights::AllMin,
            _ => Weights::Random,
        };
        let q = samples::random_qnet(&mut rng, &cfg, &MODEL_LIMITS, weights);
        let be = BitExact::new(&cfg, &q).unwrap();
        let mut ref_states = be.seeds().to_vec();
        let mut fast_states = be.seeds().to_vec();
        for img in 0..3 {
            let x = samples::random_input(&mut rng, q.n_inputs());
            let r = be.infer_reference(&x, &mut ref_states).unwrap();
            let f = be.infer(&x, &mut fast_states).unwrap();
            assert_eq!(r, f, "case {case} input {img}: {cfg:?}");
            assert_eq!(
                ref_states, fast_states,
                "case {case} input {img}: LFSR states"
            );
            // the jump to input img+1 lands where stepping did
            assert_eq!(
                be.states_at_input(img + 1),
                ref_states,
                "case {case}: jump-ahead"
            );
        }
    }
    // the mix covers the lanes and the 1-bit weights
    assert!(
        multi_lane >= 5 && binary >= 5,
        "{multi_lane} multi-lane, {binary} binary"
    );
}

#[test]
fn fast_model_equals_reference_with_early_stops() {
    use nsm_model::engine::config::EarlyStop;
    use rand::Rng;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(16);
    let (mut early, mut full) = (0, 0);
    for case in 0..40 {
        let mut cfg = samples::random_config(&mut rng, &MODEL_LIMITS);
        let k = cfg.mc_samples;
        cfg.early_stop = Some(EarlyStop {
            vote_margin: rng.gen_range(1..=(k as u32 / 3).max(1)),
            min_passes: rng.gen_range(1..=k),
        });
        cfg.validate()
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let q = samples::random_qnet(&mut rng, &cfg, &MODEL_LIMITS, Weights::Random);
        let be = BitExact::new(&cfg, &q).unwrap();
        let mut ref_states = be.seeds().to_vec();
        let mut fast_states = be.seeds().to_vec();
        for img in 0..4 {
            let x = samples::random_input(&mut rng, q.n_inputs());
            let r = be.infer_reference_outcome(&x, &mut ref_states).unwrap();
            let f = be.infer_outcome(&x, &mut fast_states).unwrap();
            assert_eq!(r, f, "case {case} input {img}: {cfg:?}");
            assert_eq!(
                ref_states, fast_states,
                "case {case} input {img}: LFSR states"
            );
            // the votes account for every pass run, and an early stop ends a group
            assert_eq!(r.votes.iter().sum::<u32>() as usize, r.passes);
            assert!(
                r.passes == k || r.passes.is_multiple_of(cfg.rows),
                "case {case}"
            );
            if r.passes < k {
                early += 1;
            } else {
                full += 1;
            }
        }
    }
    assert!(
        early >= 20 && full >= 20,
        "{early} early stops, {full} full runs"
    );
}

#[test]
fn an_early_stop_that_cannot_fire_before_k_matches_the_fixed_evaluation() {
    use nsm_model::engine::config::{EarlyStop, EngineConfig};
    use nsm_model::forward::BinarizedSet;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let cfg = EngineConfig {
        rows: 3,
        cols: 4,
        mc_samples: 8,
        ..EngineConfig::default_config()
    };
    let q = samples::random_qnet(&mut rng, &cfg, &MODEL_LIMITS, Weights::Random);
    let n = 40;
    let mut pixels = Vec::new();
    for _ in 0..n {
        let x = samples::random_input(&mut rng, q.n_inputs());
        pixels.extend(x.iter().map(|&v| f32::from(v)));
    }
    let data = BinarizedSet {
        x: pixels,
        labels: vec![0; n],
        dim: q.n_inputs(),
        gray: Vec::new(),
    };
    let fixed = BitExact::new(&cfg, &q).unwrap().evaluate(&data).unwrap();
    // min_passes = K: the rule may only judge after the last group, so nothing changes,
    // but the evaluation runs as one ordered stream
    let late = EngineConfig {
        early_stop: Some(EarlyStop {
            vote_margin: 1,
            min_passes: 8,
        }),
        ..cfg.clone()
    };
    let stream = BitExact::new(&late, &q).unwrap().evaluate(&data).unwrap();
    // results, passes and votes alike
    assert_eq!(fixed.outcomes, stream.outcomes);
    assert_eq!(fixed.mean_passes, 8.0);
    assert_eq!(stream.pass_histogram.get(&8), Some(&n));
}
