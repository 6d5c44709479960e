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
