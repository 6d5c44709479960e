//! The fast bit-exact model against the plain reference model, on random configurations,
//! random networks and random inputs, including worst-case weights, edge thresholds,
//! saturating accumulators and LFSR states carried across inputs.

use nsm_model::engine::config::{Accumulator, BlankOutConfig, EngineConfig, LfsrConfig};
use nsm_model::engine::qnet::{QLayer, QNet, QOutput};
use nsm_model::engine::BitExact;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Weight pattern of a random network.
#[derive(Debug, Clone, Copy)]
pub enum Weights {
    Random,
    AllMax,
    AllMin,
}

pub fn random_config(rng: &mut Xoshiro256PlusPlus) -> EngineConfig {
    loop {
        let c = random_config_once(rng);
        if c.validate().is_ok() {
            return c;
        }
    }
}

fn random_config_once(rng: &mut Xoshiro256PlusPlus) -> EngineConfig {
    let width = [8u32, 11, 16, 20, 24, 31, 32][rng.gen_range(0..7)];
    let rows = rng.gen_range(1..=6);
    let cols = [1usize, 2, 3, 5, 8, 13, 64][rng.gen_range(0..7)];
    let k = rng.gen_range(1..=width.min(12));
    let threshold = match rng.gen_range(0..4) {
        0 => 0,
        1 => (1u32 << k) - 1,
        _ => rng.gen_range(0..(1u32 << k)),
    };
    let weight_bits = rng.gen_range(2..=10);
    let a_bits = rng.gen_range(4..=20);
    let accumulator = if rng.gen_bool(0.3) {
        let step = nsm_model::engine::config::signed_bits_for(
            cols as u128 * ((1u128 << (weight_bits - 1)) - 1),
        );
        Accumulator::Saturate {
            bits: step.max(weight_bits) + rng.gen_range(0..4),
        }
    } else {
        Accumulator::Exact
    };
    EngineConfig {
        rows,
        cols,
        weight_bits,
        a_bits,
        a_frac_bits: rng.gen_range(0..a_bits - 1),
        bias_bits: rng.gen_range(4..=20),
        max_fan_in: 256,
        max_neurons: 256,
        max_layers: 4,
        accumulator,
        lfsr: LfsrConfig { width, taps: None },
        blank_out: BlankOutConfig {
            threshold_bits: k,
            threshold,
        },
        mc_samples: rng.gen_range(1..=12),
        ..EngineConfig::default_config()
    }
}

pub fn random_qnet(rng: &mut Xoshiro256PlusPlus, cfg: &EngineConfig, weights: Weights) -> QNet {
    let n_layers = rng.gen_range(1..=3);
    let mut widths = vec![rng.gen_range(1..=70)];
    for _ in 0..n_layers {
        widths.push(rng.gen_range(1..=20));
    }
    let n_classes = rng.gen_range(2..=10);
    let wmax = (1i32 << (cfg.weight_bits - 1)) - 1;
    let range = |bits: u32| (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    let w = |rng: &mut Xoshiro256PlusPlus, n: usize| -> Vec<i32> {
        (0..n)
            .map(|_| match weights {
                Weights::Random => rng.gen_range(-wmax..=wmax),
                Weights::AllMax => wmax,
                Weights::AllMin => -wmax,
            })
            .collect()
    };
    let (bmin, bmax) = range(cfg.bias_bits);
    let (amin, amax) = range(cfg.a_bits);
    let hidden = widths
        .windows(2)
        .map(|p| QLayer {
            n_in: p[0],
            n_out: p[1],
            w: w(rng, p[0] * p[1]),
            a: (0..p[1])
                .map(|_| rng.gen_range(amin..=amax) as i32)
                .collect(),
            b: (0..p[1])
                .map(|_| rng.gen_range(bmin..=bmax) as i32 / 8)
                .collect(),
        })
        .collect();
    let last = *widths.last().unwrap();
    QNet::with_formats(
        cfg,
        hidden,
        QOutput {
            n_in: last,
            n_out: n_classes,
            w: w(rng, last * n_classes),
            b: (0..n_classes)
                .map(|_| rng.gen_range(bmin..=bmax) as i32)
                .collect(),
        },
    )
}

pub fn random_input(rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<i8> {
    (0..n).map(|_| if rng.gen() { 1 } else { -1 }).collect()
}

#[test]
fn fast_model_equals_reference_on_random_configurations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    for case in 0..60 {
        let cfg = random_config(&mut rng);
        cfg.validate()
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        let weights = match case % 6 {
            4 => Weights::AllMax,
            5 => Weights::AllMin,
            _ => Weights::Random,
        };
        let q = random_qnet(&mut rng, &cfg, weights);
        let be = BitExact::new(&cfg, &q).unwrap();
        let mut ref_states = be.seeds().to_vec();
        let mut fast_states = be.seeds().to_vec();
        for img in 0..3 {
            let x = random_input(&mut rng, q.n_inputs());
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
}
