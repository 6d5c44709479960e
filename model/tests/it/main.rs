//! Integration tests of the golden float model (one test binary, several modules).

mod bit_exact;
mod engine_contract;
mod gradients;
mod self_normalization;
mod training;

use nsm_model::equations::Noise;
use nsm_model::forward::BinarizedSet;
use nsm_model::net::ModelKind;
use nsm_model::train::TrainOptions;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A synthetic +-1 data set: `n` examples of `dim` inputs, 10 classes given by a fixed random
/// linear rule, so there is something to learn.
pub fn synthetic_set(n: usize, dim: usize, seed: u64) -> BinarizedSet {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let proto: Vec<f32> = (0..10 * dim)
        .map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 })
        .collect();
    let mut x = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.gen_range(0..10usize);
        for j in 0..dim {
            // 85% of the pixels follow the class prototype
            let v = proto[c * dim + j];
            x.push(if rng.gen::<f64>() < 0.85 { v } else { -v });
        }
        labels.push(c as u8);
    }
    BinarizedSet {
        x,
        labels,
        dim,
        gray: Vec::new(),
    }
}

pub fn options(model: ModelKind, hidden: Vec<usize>) -> TrainOptions {
    TrainOptions {
        model,
        noise: match model {
            ModelKind::Gnsm => Noise::Gaussian { sigma: 0.6 },
            _ => Noise::BlankOut { transmit_p: 0.5 },
        },
        hidden,
        epochs: 1,
        batch_size: 20,
        learning_rate: 3e-3,
        // synthetic sets have no gray levels to perturb
        input_noise: 0.0,
        seed: 5,
        ..TrainOptions::default()
    }
}
