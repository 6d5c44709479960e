//! Monte Carlo evaluation: every test input goes through the network `K` times with fresh
//! noise; the `K` softmax outputs are averaged and the class is their argmax (NSM Table 1 uses
//! K = 100).

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::forward::{argmax, softmax_in_place, BinarizedSet, NoiseKey, Pass, Prepared};
use crate::net::Network;
use crate::seeds::domain;

/// Default number of Monte Carlo passes per input.
pub const DEFAULT_MC_SAMPLES: usize = 100;

/// The most neuron values the `K` batched passes of one input may hold (`K` x the sum of the
/// layer widths): 2^28, about 1 GiB of `f32` per array and per worker thread.
pub const MAX_MC_VALUES: usize = 1 << 28;

/// Refuses `mc_samples` batched passes through `net` that would hold more than
/// [`MAX_MC_VALUES`] neuron values.
pub fn check_mc_samples(net: &Network, mc_samples: usize) -> Result<()> {
    let widths = net.widths();
    let values = widths
        .iter()
        .try_fold(0usize, |acc, &w| acc.checked_add(w))
        .and_then(|sum| sum.checked_mul(mc_samples));
    match values {
        Some(n) if n <= MAX_MC_VALUES => Ok(()),
        _ => Err(ModelError::TooLarge(format!(
            "{mc_samples} Monte Carlo passes through layer widths {widths:?} hold more than \
             {MAX_MC_VALUES} neuron values at once"
        ))),
    }
}

/// How to evaluate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalOptions {
    /// Passes per input (`K`).
    pub mc_samples: usize,
    /// Seed of the evaluation noise (the noise of image `i` depends only on this and `i`).
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            mc_samples: DEFAULT_MC_SAMPLES,
            seed: 0,
        }
    }
}

/// Result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub images: usize,
    pub mc_samples: usize,
    pub errors: usize,
    pub test_error_pct: f64,
    /// Predicted class of every input.
    #[serde(skip)]
    pub predictions: Vec<u8>,
}

/// Averaged softmax of `K` sampled passes of one input (`K` copies batched together).
pub fn mc_class_probabilities(
    prep: &Prepared<'_>,
    input: &[f32],
    mc_samples: usize,
    key: NoiseKey,
) -> Vec<f32> {
    let batch: Vec<f32> = input
        .iter()
        .copied()
        .cycle()
        .take(input.len() * mc_samples)
        .collect();
    let mut logits = prep.logits(&batch, mc_samples, Pass::Sample, key);
    let n_classes = prep.net.n_classes();
    let mut avg = vec![0f64; n_classes];
    for row in logits.chunks_exact_mut(n_classes) {
        softmax_in_place(row);
        for (a, &p) in avg.iter_mut().zip(row.iter()) {
            *a += f64::from(p);
        }
    }
    avg.iter()
        .map(|&a| (a / mc_samples as f64) as f32)
        .collect()
}

/// Monte Carlo test error of `net` on `data`.
pub fn evaluate_mc(net: &Network, data: &BinarizedSet, opts: EvalOptions) -> Result<EvalReport> {
    net.validate()?;
    if opts.mc_samples == 0 {
        return Err(ModelError::TrainOption(
            "Monte Carlo samples must be at least 1".into(),
        ));
    }
    check_mc_samples(net, opts.mc_samples)?;
    if data.dim != net.n_inputs() {
        return Err(ModelError::InputSize {
            expected: net.n_inputs(),
            found: data.dim,
        });
    }
    let prep = Prepared::new(net);
    let predictions: Vec<u8> = (0..data.len())
        .into_par_iter()
        .map(|i| {
            let key = NoiseKey {
                seed: opts.seed,
                domain: domain::EVAL_NOISE,
                a: i as u64,
                b: 0,
            };
            let probs = mc_class_probabilities(&prep, data.row(i), opts.mc_samples, key);
            argmax(&probs) as u8
        })
        .collect();
    let errors = predictions
        .iter()
        .zip(&data.labels)
        .filter(|(p, l)| p != l)
        .count();
    Ok(EvalReport {
        images: data.len(),
        mc_samples: opts.mc_samples,
        errors,
        test_error_pct: if data.is_empty() {
            0.0
        } else {
            100.0 * errors as f64 / data.len() as f64
        },
        predictions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{ModelKind, OutputLayer, NET_SCHEMA};

    #[test]
    fn too_many_batched_passes_are_refused_before_allocating() {
        let net = Network {
            schema: NET_SCHEMA.to_string(),
            model: ModelKind::Stnn,
            noise: None,
            hidden: Vec::new(),
            output: OutputLayer {
                n_in: 2,
                n_out: 2,
                w: vec![1.0, 0.0, 0.0, 1.0],
                b: vec![0.0, 0.0],
            },
            training: None,
        };
        check_mc_samples(&net, MAX_MC_VALUES / 4).unwrap();
        let data = BinarizedSet {
            x: vec![1.0, -1.0],
            labels: vec![0],
            dim: 2,
            gray: Vec::new(),
        };
        for mc in [MAX_MC_VALUES / 4 + 1, usize::MAX] {
            let opts = EvalOptions {
                mc_samples: mc,
                seed: 0,
            };
            let e = evaluate_mc(&net, &data, opts).unwrap_err().to_string();
            assert!(e.contains(&mc.to_string()) && e.contains("[2, 2]"), "{e}");
        }
    }
}
