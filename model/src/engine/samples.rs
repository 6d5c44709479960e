//! Random engine configurations and quantized networks, for the randomized equivalence tests
//! and the benchmarks of every crate (one generator instead of one per test file).
//!
//! Everything is drawn from the caller's generator, so a seed reproduces a case. Configurations
//! are redrawn until they validate.

use rand::Rng;

use super::config::{
    signed_bits_for, weight_max, Accumulator, BlankOutConfig, EngineConfig, LfsrConfig,
};
use super::qnet::{QLayer, QNet, QOutput};

/// The environment variable that sets how many random cases the randomized suites run (the
/// equivalence suite of `nsm-sim`, the co-simulation suite of `nsm-testbenches`): a soak run.
pub const SOAK_CASES_VAR: &str = "NSM_SOAK_CASES";

/// How many random cases a randomized suite runs: its own `default`, or more when
/// [`SOAK_CASES_VAR`] asks for more (`NSM_SOAK_CASES=1000 cargo test ...`). A value below the
/// default runs the default (the suites' mix checks need their cases); a value that is not a
/// count stops the suite with a message naming the variable.
pub fn soak_cases(default: usize) -> usize {
    match std::env::var(SOAK_CASES_VAR) {
        Err(_) => default,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) => n.max(default),
            Err(_) => panic!("{SOAK_CASES_VAR}={v:?} is not a case count"),
        },
    }
}

/// Bounds of a random case.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rows: usize,
    pub max_cols: usize,
    /// Most lanes per PE (about half the cases draw 1 lane).
    pub max_lanes: usize,
    /// Largest threshold width `k` (also at most the LFSR width).
    pub max_k: u32,
    pub max_weight_bits: u32,
    pub max_mc_samples: usize,
    /// Largest network input count.
    pub max_inputs: usize,
    /// Largest stochastic layer.
    pub max_hidden: usize,
    /// Most stochastic layers.
    pub max_hidden_layers: usize,
    /// Largest number of classes.
    pub max_classes: usize,
}

impl Limits {
    /// Small cases: simulations of the rust-hdl engine stay fast.
    pub const SMALL: Limits = Limits {
        max_rows: 4,
        max_cols: 6,
        max_lanes: 4,
        max_k: 10,
        max_weight_bits: 10,
        max_mc_samples: 6,
        max_inputs: 20,
        max_hidden: 10,
        max_hidden_layers: 2,
        max_classes: 5,
    };
    /// Tiny cases: each one is compiled by Verilator.
    pub const TINY: Limits = Limits {
        max_rows: 3,
        max_cols: 4,
        max_lanes: 3,
        max_k: 8,
        max_weight_bits: 8,
        max_mc_samples: 4,
        max_inputs: 12,
        max_hidden: 6,
        max_hidden_layers: 1,
        max_classes: 4,
    };
}

/// How the weights of a random network are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    Random,
    /// Every weight at `+Wmax` (`+(2^(wb-1) - 1)`, `+1` for 1-bit weights).
    AllMax,
    /// Every weight at `-Wmax`.
    AllMin,
    /// Stochastic layers with weights, `a` and biases all zero, so `u' = 0` for every neuron
    /// (eq. 1: `u = 0` fires); the output layer stays random so the states are observable.
    /// With 1-bit weights (no zero level) the weights are random and `a`, the biases zero.
    Zero,
}

/// A random valid configuration within `limits`: LFSR width, threshold (0 and `2^k - 1`
/// included), lanes (1 in about half the cases), weight (1-bit in about a fifth), `a` and
/// bias formats, exact or saturating accumulators, memories sized for `limits`.
pub fn random_config<R: Rng>(rng: &mut R, limits: &Limits) -> EngineConfig {
    loop {
        let width = [8u32, 11, 16, 20, 24, 32][rng.gen_range(0..6)];
        let k = rng.gen_range(1..=width.min(limits.max_k));
        let threshold = match rng.gen_range(0..4) {
            0 => 0,
            1 => (1u32 << k) - 1,
            _ => rng.gen_range(0..(1u32 << k)),
        };
        let weight_bits = if rng.gen_bool(0.2) {
            1
        } else {
            rng.gen_range(2..=limits.max_weight_bits)
        };
        let cols = rng.gen_range(1..=limits.max_cols);
        // a column's packed weights fit the hardware's 32-bit weight port
        let max_lanes = limits.max_lanes.min(32 / weight_bits as usize);
        let lanes = if max_lanes > 1 && rng.gen_bool(0.5) {
            rng.gen_range(2..=max_lanes)
        } else {
            1
        };
        let a_bits = rng.gen_range(4..=20);
        let accumulator = if rng.gen_bool(0.25) {
            let step = signed_bits_for((cols * lanes) as u128 * weight_max(weight_bits) as u128);
            Accumulator::Saturate {
                bits: step.max(weight_bits) + rng.gen_range(0..3),
            }
        } else {
            Accumulator::Exact
        };
        let max_width = limits
            .max_inputs
            .max(limits.max_hidden)
            .max(limits.max_classes);
        let cfg = EngineConfig {
            rows: rng.gen_range(1..=limits.max_rows),
            cols,
            lanes,
            weight_bits,
            a_bits,
            a_frac_bits: rng.gen_range(0..a_bits - 1),
            bias_bits: rng.gen_range(4..=16),
            max_fan_in: max_width,
            max_neurons: max_width,
            max_layers: limits.max_hidden_layers + 1,
            weight_memory_words: (limits.max_hidden_layers + 1) * max_width * max_width,
            neuron_memory_words: (limits.max_hidden_layers + 1) * max_width,
            accumulator,
            lfsr: LfsrConfig { width, taps: None },
            blank_out: BlankOutConfig {
                threshold_bits: k,
                threshold,
            },
            mc_samples: rng.gen_range(1..=limits.max_mc_samples),
            hard_block_registers: rng.gen_bool(0.5),
            ..EngineConfig::default_config()
        };
        if cfg.validate().is_ok() {
            return cfg;
        }
    }
}

/// A random dense layer of `n_out x n_in` weights in `+-wmax`, with `a` and `b` in the given
/// symmetric ranges.
pub fn random_layer<R: Rng>(
    rng: &mut R,
    n_in: usize,
    n_out: usize,
    wmax: i32,
    amax: i32,
    bmax: i32,
) -> QLayer {
    QLayer {
        n_in,
        n_out,
        w: (0..n_in * n_out)
            .map(|_| rng.gen_range(-wmax..=wmax))
            .collect(),
        a: (0..n_out).map(|_| rng.gen_range(-amax..=amax)).collect(),
        b: (0..n_out).map(|_| rng.gen_range(-bmax..=bmax)).collect(),
    }
}

/// A random network within `limits` in the formats of `cfg`.
pub fn random_qnet<R: Rng>(
    rng: &mut R,
    cfg: &EngineConfig,
    limits: &Limits,
    weights: Weights,
) -> QNet {
    let mut widths = vec![rng.gen_range(1..=limits.max_inputs)];
    for _ in 0..rng.gen_range(0..=limits.max_hidden_layers) {
        widths.push(rng.gen_range(1..=limits.max_hidden));
    }
    let classes = rng.gen_range(2..=limits.max_classes);
    let wmax = weight_max(cfg.weight_bits) as i32;
    let binary = cfg.weight_bits == 1;
    // a and biases over their whole range, both ends included
    let range = |bits: u32| (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    // a random weight on the engine's levels (1-bit weights have no zero)
    let random_weight = |rng: &mut R| -> i32 {
        if binary {
            if rng.gen() {
                1
            } else {
                -1
            }
        } else {
            rng.gen_range(-wmax..=wmax)
        }
    };
    let fill = |rng: &mut R, n: usize| -> Vec<i32> {
        (0..n)
            .map(|_| match weights {
                Weights::Random => random_weight(rng),
                Weights::AllMax => wmax,
                Weights::AllMin => -wmax,
                Weights::Zero if binary => random_weight(rng),
                Weights::Zero => 0,
            })
            .collect()
    };
    let (amin, amax) = range(cfg.a_bits);
    let (bmin, bmax) = range(cfg.bias_bits);
    let zero = weights == Weights::Zero;
    let hidden = widths
        .windows(2)
        .map(|p| QLayer {
            n_in: p[0],
            n_out: p[1],
            w: fill(rng, p[0] * p[1]),
            a: (0..p[1])
                .map(|_| {
                    if zero {
                        0
                    } else {
                        rng.gen_range(amin..=amax) as i32
                    }
                })
                .collect(),
            b: (0..p[1])
                .map(|_| {
                    if zero {
                        0
                    } else {
                        rng.gen_range(bmin..=bmax) as i32
                    }
                })
                .collect(),
        })
        .collect();
    let last = *widths.last().expect("widths holds the input count");
    let output = QOutput {
        n_in: last,
        n_out: classes,
        w: if zero {
            (0..last * classes).map(|_| random_weight(rng)).collect()
        } else {
            fill(rng, last * classes)
        },
        b: (0..classes)
            .map(|_| rng.gen_range(bmin..=bmax) as i32)
            .collect(),
    };
    QNet::with_formats(cfg, hidden, output)
}

/// The benchmarks' engine: an `n x n` array running `n` Monte Carlo passes (one group), with
/// memories for [`benchmark_qnet`].
pub fn benchmark_config(n: usize) -> EngineConfig {
    EngineConfig {
        rows: n,
        cols: n,
        mc_samples: n,
        max_fan_in: 64,
        max_neurons: 64,
        weight_memory_words: 1024,
        neuron_memory_words: 128,
        ..EngineConfig::default_config()
    }
}

/// The benchmarks' network: a random 64-32-10 network with 8-bit-range weights in the formats
/// of `cfg` (simulation speed does not depend on what the network computes).
pub fn benchmark_qnet<R: Rng>(rng: &mut R, cfg: &EngineConfig) -> QNet {
    let hidden = random_layer(rng, 64, 32, 127, 900, 100);
    let out = random_layer(rng, 32, 10, 127, 0, 100);
    let output = QOutput {
        n_in: 32,
        n_out: 10,
        w: out.w,
        b: out.b,
    };
    QNet::with_formats(cfg, vec![hidden], output)
}

/// A random +-1 input of `n` values.
pub fn random_input<R: Rng>(rng: &mut R, n: usize) -> Vec<i8> {
    (0..n).map(|_| if rng.gen() { 1 } else { -1 }).collect()
}
