//! Self-normalization (NSM section 2.1-2.2): with per-synapse noise, a neuron fires with
//! probability 1/2 (1 + erf(x)), and that probability does not change when its row and bias
//! are scaled by a positive factor.

use nsm_model::equations::{firing_probability, normalized_drive, row_norm, Noise};
use nsm_model::forward::{NoiseKey, Pass, Prepared};
use nsm_model::net::{HiddenLayer, ModelKind, Network, OutputLayer, NET_SCHEMA};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const FAN_IN: usize = 512;
const PASSES: usize = 20_000;

/// One hidden layer with a neuron per target drive `x`: random rows, random `beta`, and the
/// bias chosen so that the neuron's drive for input `z` is exactly `x`.
fn grid_network(model: ModelKind, noise: Noise, grid: &[f64], z: &[f32], seed: u64) -> Network {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = grid.len();
    let w: Vec<f32> = (0..n * FAN_IN)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let mut beta = Vec::new();
    let mut b = Vec::new();
    for (i, &x) in grid.iter().enumerate() {
        let row = &w[i * FAN_IN..(i + 1) * FAN_IN];
        let norm = row_norm(row);
        let s: f64 = row.iter().zip(z).map(|(&w, &z)| f64::from(w * z)).sum();
        let bt = rng.gen_range(0.3..2.0);
        beta.push(bt as f32);
        // x = beta s / norm + b / (c norm)  =>  b = (x - beta s / norm) c norm
        b.push(((x - bt * s / norm) * noise.drive_scale() * norm) as f32);
    }
    Network {
        schema: NET_SCHEMA.into(),
        model,
        noise: Some(noise),
        hidden: vec![HiddenLayer {
            n_in: FAN_IN,
            n_out: n,
            w,
            beta,
            b,
        }],
        output: OutputLayer {
            n_in: n,
            n_out: 10,
            w: vec![0.0; 10 * n],
            b: vec![0.0; 10],
        },
        training: None,
    }
}

/// Fraction of `PASSES` sampled passes in which each neuron fired, and each neuron's drive.
fn firing(net: &Network, z: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let prep = Prepared::new(net);
    let batch: Vec<f32> = z.iter().copied().cycle().take(z.len() * PASSES).collect();
    let key = NoiseKey {
        seed: 99,
        domain: 0,
        a: 0,
        b: 0,
    };
    let out = prep
        .hidden_forward(0, &batch, PASSES, Pass::Sample, key, false)
        .z;
    let l = &net.hidden[0];
    let freq = (0..l.n_out)
        .map(|i| (0..PASSES).filter(|&n| out[n * l.n_out + i] > 0.0).count() as f64 / PASSES as f64)
        .collect();
    let c = net.noise.unwrap().drive_scale();
    let drive = (0..l.n_out)
        .map(|i| {
            let s: f64 = l
                .row(i)
                .iter()
                .zip(z)
                .map(|(&w, &z)| f64::from(w * z))
                .sum();
            normalized_drive(
                f64::from(l.beta[i]),
                s,
                f64::from(l.b[i]),
                row_norm(l.row(i)),
                c,
            )
        })
        .collect();
    (freq, drive)
}

fn check(model: ModelKind, noise: Noise) {
    let grid: Vec<f64> = (0..17).map(|k| -2.0 + 0.25 * k as f64).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let z: Vec<f32> = (0..FAN_IN)
        .map(|_| if rng.gen() { 1.0 } else { -1.0 })
        .collect();
    let net = grid_network(model, noise, &grid, &z, 2);
    let (freq, drive) = firing(&net, &z);
    for (i, &x) in grid.iter().enumerate() {
        assert!(
            (drive[i] - x).abs() < 1e-4,
            "drive {} != target {x}",
            drive[i]
        );
        let p = firing_probability(x);
        assert!(
            (freq[i] - p).abs() <= 0.02,
            "{model} {noise:?}: x = {x}: empirical {:.4} vs 1/2(1+erf(x)) = {p:.4}",
            freq[i]
        );
    }
    for factor in [0.1f32, 3.7] {
        let scaled = net.scaled(factor);
        let (freq_s, drive_s) = firing(&scaled, &z);
        for i in 0..grid.len() {
            assert!(
                (drive_s[i] - drive[i]).abs() < 1e-4,
                "scaling by {factor} moved the drive of neuron {i}: {} -> {}",
                drive[i],
                drive_s[i]
            );
            // Same noise draws, scaled u: the sampled states agree up to float rounding of
            // u values at zero.
            assert!(
                (freq_s[i] - freq[i]).abs() <= 0.002,
                "scaling by {factor} changed neuron {i}'s firing frequency {} -> {}",
                freq[i],
                freq_s[i]
            );
        }
    }
}

#[test]
fn blank_out_firing_frequency_follows_erf() {
    check(ModelKind::Nsm, Noise::BlankOut { transmit_p: 0.5 });
}

#[test]
fn blank_out_firing_frequency_follows_erf_for_other_p() {
    check(ModelKind::Nsm, Noise::BlankOut { transmit_p: 0.3 });
    check(ModelKind::Nsm, Noise::BlankOut { transmit_p: 0.8 });
}

#[test]
fn gaussian_firing_frequency_follows_erf() {
    check(ModelKind::Gnsm, Noise::Gaussian { sigma: 0.7 });
}
