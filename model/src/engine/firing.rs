//! Firing frequency of the engine's quantized neurons against the paper's
//! `P = 1/2 (1 + erf(x))`, measured on the bit-exact model.
//!
//! For a neuron of the first stochastic layer the input is the (deterministic) image, so its
//! drive is known exactly from the integers:
//! `x = ((p + A/2^F) S + B) / (sqrt(2 p (1 - p)) ||W||)` with `S = sum_j W_j z_j`; its firing
//! frequency is the fraction of the `K` Monte Carlo passes in which it fired.

use serde::Serialize;

use super::{BitExact, BitExactError};
use crate::equations::{
    a_from_fixed, drive_from_mean, firing_probability, mean_preactivation, row_norm, Noise,
};
use crate::forward::BinarizedSet;

/// Mean firing frequency of the neurons whose drive fell in one bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FiringBin {
    /// Bin centre.
    pub x: f64,
    /// Neuron-image pairs in the bin.
    pub count: usize,
    /// Mean firing frequency over them.
    pub frequency: f64,
    /// `1/2 (1 + erf(x))` averaged over the same drives.
    pub predicted: f64,
}

/// Drive and measured frequency of every (image, first-layer neuron) pair, binned by drive
/// into `bins` equal bins over `[-x_max, x_max]` (drives outside are dropped).
pub fn firing_vs_drive(
    engine: &BitExact,
    data: &BinarizedSet,
    images: usize,
    bins: usize,
    x_max: f64,
) -> Result<Vec<FiringBin>, BitExactError> {
    let layer = engine.qnet.hidden.first().ok_or_else(|| {
        BitExactError::Quant(super::qnet::QuantError::Invalid(
            "the network has no stochastic layer".into(),
        ))
    })?;
    let cfg = &engine.cfg;
    let p = cfg.transmit_p();
    let c = Noise::BlankOut { transmit_p: p }.drive_scale();
    let norms: Vec<f64> = (0..layer.n_out).map(|i| row_norm(layer.row(i))).collect();
    let mut sum_f = vec![0f64; bins];
    let mut sum_p = vec![0f64; bins];
    let mut count = vec![0usize; bins];
    let mut states = engine.seeds().to_vec();
    let k = cfg.mc_samples as f64;
    for n in 0..images.min(data.len()) {
        let x_in: Vec<i8> = data
            .row(n)
            .iter()
            .map(|&v| if v > 0.0 { 1 } else { -1 })
            .collect();
        let mut counts = vec![0u32; layer.n_out];
        engine.infer_counting(&x_in, &mut states, &mut counts)?;
        for i in 0..layer.n_out {
            let s: i64 = layer
                .row(i)
                .iter()
                .zip(&x_in)
                .map(|(&w, &z)| i64::from(w) * i64::from(z))
                .sum();
            let a = a_from_fixed(layer.a[i], cfg.a_frac_bits);
            let mean = mean_preactivation(p, a, s as f64, f64::from(layer.b[i]));
            let x = drive_from_mean(mean, c, norms[i]);
            if x.abs() >= x_max || norms[i] == 0.0 {
                continue;
            }
            let b = (((x + x_max) / (2.0 * x_max)) * bins as f64) as usize;
            let b = b.min(bins - 1);
            sum_f[b] += f64::from(counts[i]) / k;
            sum_p[b] += firing_probability(x);
            count[b] += 1;
        }
    }
    Ok((0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| FiringBin {
            x: -x_max + (b as f64 + 0.5) * 2.0 * x_max / bins as f64,
            count: count[b],
            frequency: sum_f[b] / count[b] as f64,
            predicted: sum_p[b] / count[b] as f64,
        })
        .collect())
}
