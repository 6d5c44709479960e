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
