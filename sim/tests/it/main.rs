//! The rust-hdl engine against the bit-exact model.

use nsm_model::engine::config::{BlankOutConfig, EngineConfig, LfsrConfig};
use nsm_model::engine::qnet::{QLayer, QNet, QOutput, QuantReport, QNET_SCHEMA};
use nsm_model::engine::BitExact;
use nsm_sim::{EngineSim, LoadPath};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn small_qnet(
    rng: &mut Xoshiro256PlusPlus,
    cfg: &EngineConfig,
    widths: &[usize],
    classes: usize,
) -> QNet {
    let wmax = (1i32 << (cfg.weight_bits - 1)) - 1;
    let hidden = widths
        .windows(2)
        .map(|p| QLayer {
            n_in: p[0],
            n_out: p[1],
            w: (0..p[0] * p[1])
                .map(|_| rng.gen_range(-wmax..=wmax))
                .collect(),
            a: (0..p[1]).map(|_| rng.gen_range(-300..300)).collect(),
            b: (0..p[1]).map(|_| rng.gen_range(-50..50)).collect(),
        })
        .collect();
    let last = *widths.last().unwrap();
    QNet {
        schema: QNET_SCHEMA.into(),
        weight_bits: cfg.weight_bits,
        a_bits: cfg.a_bits,
        a_frac_bits: cfg.a_frac_bits,
        bias_bits: cfg.bias_bits,
        threshold_bits: cfg.blank_out.threshold_bits,
        threshold: cfg.blank_out.threshold,
        hidden,
        output: QOutput {
            n_in: last,
            n_out: classes,
            w: (0..last * classes)
                .map(|_| rng.gen_range(-wmax..=wmax))
                .collect(),
            b: (0..classes).map(|_| rng.gen_range(-100..100)).collect(),
        },
        report: QuantReport::default(),
    }
}

#[test]
fn one_small_engine_matches_the_model() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let cfg = EngineConfig {
        rows: 2,
        cols: 3,
        mc_samples: 3,
        max_fan_in: 64,
        max_neurons: 64,
        max_layers: 4,
        weight_memory_words: 256,
        neuron_memory_words: 64,
        lfsr: LfsrConfig {
            width: 16,
            taps: None,
        },
        blank_out: BlankOutConfig {
            threshold_bits: 1,
            threshold: 1,
        },
        ..EngineConfig::default_config()
    };
    let q = small_qnet(&mut rng, &cfg, &[7, 5], 3);
    let model = BitExact::new(&cfg, &q).unwrap();
    let mut states = model.seeds().to_vec();
    let mut sim = EngineSim::new(&cfg).unwrap();
    sim.load(&q, LoadPath::Port).unwrap();
    for n in 0..3 {
        let x: Vec<i8> = (0..q.n_inputs())
            .map(|_| if rng.gen() { 1 } else { -1 })
            .collect();
        let expect = model.infer_reference(&x, &mut states).unwrap();
        let (got, cycles) = sim.infer::<Xoshiro256PlusPlus>(&x, None, 100_000).unwrap();
        assert_eq!(got, expect, "input {n} ({cycles} cycles)");
    }
}
