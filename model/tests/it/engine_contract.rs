//! Properties of the hardware contract: gate statistics, the quantizer, and the firing curve
//! of quantized neurons.

use nsm_model::engine::config::{BlankOutConfig, EngineConfig, LfsrConfig};
use nsm_model::engine::firing::firing_vs_drive;
use nsm_model::engine::gates::{exact_period_frequency, gate_frequency, neighbour_correlations};
use nsm_model::engine::qnet::{noise_mismatch, quantize, QuantError};
use nsm_model::engine::BitExact;
use nsm_model::equations::{normalized_drive, row_norm, Noise};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::{HiddenLayer, ModelKind, Network, OutputLayer, NET_SCHEMA};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn cfg_with(width: u32, k: u32, threshold: u32) -> EngineConfig {
    EngineConfig {
        lfsr: LfsrConfig { width, taps: None },
        blank_out: BlankOutConfig {
            threshold_bits: k,
            threshold,
        },
        ..EngineConfig::default_config()
    }
}

#[test]
fn gates_open_with_frequency_threshold_over_2_to_the_k() {
    let n = 20_000;
    for (width, k, t) in [
        (16, 1, 1),
        (16, 8, 77),
        (16, 8, 0),
        (16, 8, 255),
        (32, 12, 1000),
        (20, 3, 5),
    ] {
        let cfg = cfg_with(width, k, t);
        let p = f64::from(t) / f64::from(1u32 << k);
        let f = gate_frequency(&cfg, n).unwrap();
        let exact = exact_period_frequency(&cfg.lfsr_spec().unwrap(), k, t);
        // 64 PEs x n gates; 5 standard deviations plus the all-zero-state correction
        let sd = (p * (1.0 - p) / (64 * n) as f64).sqrt();
        assert!(
            (f - p).abs() <= 5.0 * sd + (exact - p).abs() + 1e-12,
            "width {width}, k {k}, threshold {t}: frequency {f}, p {p}"
        );
        if t == 0 {
            assert_eq!(f, 0.0, "threshold 0 never opens");
        }
    }
}

#[test]
fn neighbouring_pe_streams_are_uncorrelated_at_lags_0_to_16() {
    for (width, k, t) in [(16, 1, 1), (16, 8, 77), (32, 1, 1), (32, 4, 3)] {
        let cfg = cfg_with(width, k, t);
        let table = neighbour_correlations(&cfg, 40_000, 16, None).unwrap();
        assert_eq!(table.len(), 17);
        for row in &table {
            let worst = row.row_neighbours.max(row.col_neighbours).max(row.same_pe);
            assert!(
                worst <= 0.05,
                "width {width} k {k}: lag {}: |corr| = {worst}",
                row.lag
            );
        }
    }
    // The check can fail: seeds one step apart make row neighbours copies at lag 1.
    let cfg = cfg_with(16, 1, 1);
    let naive = neighbour_correlations(&cfg, 5_000, 16, Some(1)).unwrap();
    assert!(naive[1].row_neighbours > 0.99);
}

/// A one-hidden-layer float NSM with random rows of the given fan-in.
fn random_net(fan_in: usize, width: usize, seed: u64) -> Network {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let w: Vec<f32> = (0..fan_in * width)
        .map(|_| rng.gen_range(-1.0f32..1.0) * 0.05)
        .collect();
    Network {
        schema: NET_SCHEMA.into(),
        model: ModelKind::Nsm,
        noise: Some(Noise::BlankOut { transmit_p: 0.5 }),
        hidden: vec![HiddenLayer {
            n_in: fan_in,
            n_out: width,
            w,
            beta: (0..width).map(|_| rng.gen_range(0.3f32..3.0)).collect(),
            b: (0..width).map(|_| rng.gen_range(-0.3f32..0.3)).collect(),
        }],
        output: OutputLayer {
            n_in: width,
            n_out: 10,
            w: (0..width * 10)
                .map(|_| rng.gen_range(-1.0f32..1.0))
                .collect(),
            b: (0..10).map(|_| rng.gen_range(-1.0f32..1.0)).collect(),
        },
        training: None,
    }
}

/// Drive of neuron `i` of the quantized first layer for input `z`, in the engine's terms.
fn quantized_drive(
    cfg: &EngineConfig,
    q: &nsm_model::engine::qnet::QNet,
    i: usize,
    z: &[f32],
) -> f64 {
    let l = &q.hidden[0];
    let p = cfg.transmit_p();
    let s: f64 = l
        .row(i)
        .iter()
        .zip(z)
        .map(|(&w, &z)| f64::from(w) * f64::from(z))
        .sum();
    let norm = l
        .row(i)
        .iter()
        .map(|&w| f64::from(w).powi(2))
        .sum::<f64>()
        .sqrt();
    let a = f64::from(l.a[i]) / f64::from(1u32 << cfg.a_frac_bits);
    ((p + a) * s + f64::from(l.b[i])) / ((2.0 * p * (1.0 - p)).sqrt() * norm)
}

#[test]
fn quantization_keeps_each_neurons_drive() {
    let net = random_net(300, 40, 1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let z: Vec<f32> = (0..300)
        .map(|_| if rng.gen() { 1.0 } else { -1.0 })
        .collect();
    for (k, t, tol) in [(1, 1, 0.03), (8, 77, 0.03)] {
        let cfg = EngineConfig {
            blank_out: BlankOutConfig {
                threshold_bits: k,
                threshold: t,
            },
            ..EngineConfig::default_config()
        };
        let q = quantize(&net, &cfg).unwrap();
        assert_eq!(q.report.a_saturated + q.report.bias_saturated, 0);
        let l = &net.hidden[0];
        for i in 0..l.n_out {
            // the largest weight of every row maps to the largest integer
            assert_eq!(q.hidden[0].row(i).iter().map(|w| w.abs()).max(), Some(127));
            let s: f64 = l
                .row(i)
                .iter()
                .zip(&z)
                .map(|(&w, &z)| f64::from(w * z))
                .sum();
            let x_float = normalized_drive(
                f64::from(l.beta[i]),
                s,
                f64::from(l.b[i]),
                row_norm(l.row(i)),
                0.5f64.sqrt(),
            );
            let x_q = quantized_drive(&cfg, &q, i, &z);
            // p retargeting (t = 77/256) keeps the drive too
            assert!(
                (x_float - x_q).abs() < tol,
                "k {k}: neuron {i}: float x {x_float}, quantized x {x_q}"
            );
        }
    }
}

#[test]
fn quantizer_refuses_what_the_engine_cannot_run() {
    let mut net = random_net(20, 5, 3);
    let cfg = EngineConfig::default_config();
    net.model = ModelKind::Stnn;
    net.noise = None;
    net.hidden[0].beta.clear();
    net.hidden[0].b.clear();
    assert!(matches!(
        quantize(&net, &cfg),
        Err(QuantError::Model(ModelKind::Stnn))
    ));

    let net = random_net(2000, 5, 3);
    let e = quantize(&net, &cfg).unwrap_err();
    assert!(
        e.to_string()
            .contains("fan-in = 2000 exceeds the engine's max_fan_in = 1024"),
        "{e}"
    );

    let q = quantize(&random_net(20, 5, 3), &cfg).unwrap();
    let other = EngineConfig {
        weight_bits: 6,
        ..cfg.clone()
    };
    let e = q.check_against(&other).unwrap_err().to_string();
    assert!(e.contains("weight_bits = 8") && e.contains("has 6"), "{e}");
    let small = EngineConfig {
        max_layers: 1,
        ..cfg
    };
    assert!(matches!(
        q.check_against(&small),
        Err(QuantError::TooManyLayers { .. })
    ));
}

#[test]
fn quantizing_for_another_noise_is_named_with_both_values() {
    let mut net = random_net(20, 5, 3);
    net.noise = Some(Noise::BlankOut { transmit_p: 0.25 });
    assert_eq!(noise_mismatch(&net, &cfg_with(16, 2, 1)), None);
    let w = noise_mismatch(&net, &cfg_with(16, 1, 1)).expect("p = 1/4 against 1/2");
    for part in [
        "transmit probability p = 0.25 (noise.transmit_p)",
        "p = blank_out.threshold / 2^threshold_bits = 1/2^1 = 0.5",
        "blank_out {\"threshold_bits\": 2, \"threshold\": 1} runs it at its own p",
    ] {
        assert!(w.contains(part), "{part:?} missing: {w}");
    }
    // a p no threshold of at most 16 bits realizes gets no suggestion
    net.noise = Some(Noise::BlankOut { transmit_p: 0.3 });
    let w = noise_mismatch(&net, &cfg_with(16, 8, 77)).unwrap();
    assert!(
        w.contains("p = 0.3 ") && w.contains("77/2^8 = 0.30078125"),
        "{w}"
    );
    assert!(!w.contains("runs it at its own p"), "{w}");
    net.model = ModelKind::Gnsm;
    net.noise = Some(Noise::Gaussian { sigma: 0.7 });
    let w = noise_mismatch(&net, &cfg_with(16, 1, 1)).unwrap();
    assert!(w.contains("Gaussian synapses (sigma = 0.7)"), "{w}");
}

#[test]
fn quantized_neurons_fire_as_1_2_1_plus_erf_x() {
    let fan_in = 512;
    let net = random_net(fan_in, 64, 4);
    let cfg = EngineConfig {
        mc_samples: 64,
        max_neurons: 1024,
        ..EngineConfig::default_config()
    };
    let q = quantize(&net, &cfg).unwrap();
    let be = BitExact::new(&cfg, &q).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let images = 60;
    let data = BinarizedSet {
        x: (0..images * fan_in)
            .map(|_| if rng.gen() { 1.0 } else { -1.0 })
            .collect(),
        labels: vec![0; images],
        dim: fan_in,
        gray: Vec::new(),
    };
    let bins = firing_vs_drive(&be, &data, images, 24, 3.0).unwrap();
    let mut checked = 0;
    for b in bins.iter().filter(|b| b.count >= 40) {
        // binomial noise of `count` neurons x 64 passes, plus the bin width
        let sd = (b.predicted * (1.0 - b.predicted) / (b.count * 64) as f64).sqrt();
        assert!(
            (b.frequency - b.predicted).abs() <= 0.02 + 4.0 * sd,
            "x = {:.2}: frequency {:.4}, 1/2(1+erf) {:.4} over {} samples",
            b.x,
            b.frequency,
            b.predicted,
            b.count
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} bins had enough samples");
}
