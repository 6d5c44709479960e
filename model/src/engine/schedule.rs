//! The fold: how a network's synapses, Monte Carlo passes and LFSR steps map onto the
//! `rows x cols` array. Both bit-exact models and the RTL follow this one definition.
//!
//! For one input, in this order:
//!
//! ```text
//! for group g in 0 .. ceil(K / rows):            // rows run MC passes g*rows .. g*rows+rows-1
//!   for layer l in stochastic layers, then the output layer:
//!     for neuron i in 0 .. n_out(l):
//!       for step s in 0 .. ceil(n_in(l) / N):     // one array step, N = cols * lanes
//!         lane l of PE (r, c) serves pass m = g*rows + r and input j = s*N + c*lanes + l;
//!         every PE draws `lanes` gates in lane order (its LFSR leaps k steps each), used or
//!         not; the slot is real iff m < K and j < n_in(l), else it adds nothing.
//! ```
//!
//! PE `(r, c)` has index `q = r * cols + c`. Its LFSR starts (after reset) at the state
//! reached from `1` after `q * D` single steps, `D = floor((2^w - 1) / (rows * cols))`: the PEs
//! sit evenly spaced along the one maximal-length sequence, so neighbours read windows that are
//! far apart instead of shifted copies a few bits away. LFSRs are never reset between inputs:
//! input `n` (counted from reset) starts at array step `n * steps_per_input`.

use super::config::EngineConfig;
use super::qnet::QNet;
use crate::lfsr::LfsrSpec;

/// The loop bounds of one engine running one quantized network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub rows: usize,
    pub cols: usize,
    /// Synapses per PE per step.
    pub lanes: usize,
    pub mc_samples: usize,
    /// `(n_in, n_out)` of every layer, the output layer last.
    pub layers: Vec<(usize, usize)>,
}

impl Schedule {
    pub fn new(cfg: &EngineConfig, qnet: &QNet) -> Self {
        let mut layers: Vec<(usize, usize)> =
            qnet.hidden.iter().map(|l| (l.n_in, l.n_out)).collect();
        layers.push((qnet.output.n_in, qnet.output.n_out));
        Self {
            rows: cfg.rows,
            cols: cfg.cols,
            lanes: cfg.lanes,
            mc_samples: cfg.mc_samples,
            layers,
        }
    }

    /// Inputs of one array step, `cols * lanes`.
    pub fn step_inputs(&self) -> usize {
        self.cols * self.lanes
    }

    /// Array steps per neuron of a layer with `n_in` inputs.
    pub fn steps_per_neuron(&self, n_in: usize) -> usize {
        n_in.div_ceil(self.step_inputs())
    }

    /// Groups of `rows` Monte Carlo passes.
    pub fn groups(&self) -> usize {
        self.mc_samples.div_ceil(self.rows)
    }

    /// Array steps of one group (all layers once).
    pub fn steps_per_group(&self) -> u64 {
        self.layers
            .iter()
            .map(|&(n_in, n_out)| (n_out * self.steps_per_neuron(n_in)) as u64)
            .sum()
    }

    /// Array steps of one input (all passes).
    pub fn steps_per_input(&self) -> u64 {
        self.groups() as u64 * self.steps_per_group()
    }

    /// Synapses of one pass through the network: `sum(n_in * n_out)`.
    pub fn synapses_per_pass(&self) -> u64 {
        self.layers.iter().map(|&(a, b)| (a * b) as u64).sum()
    }

    /// Synapse operations of one input (real slots only) at `K` passes: `K * sum(n_in * n_out)`.
    pub fn synapse_ops_per_input(&self) -> u64 {
        self.mc_samples as u64 * self.synapses_per_pass()
    }

    /// Real slots over all slots: how well the fold uses the array (before pipeline effects).
    pub fn fold_efficiency(&self) -> f64 {
        self.synapse_ops_per_input() as f64
            / (self.steps_per_input() as f64 * (self.rows * self.step_inputs()) as f64)
    }
}

/// Spacing of the PE seeds along the LFSR sequence.
pub fn seed_spacing(spec: &LfsrSpec, pes: usize) -> u64 {
    (spec.period() / pes as u64).max(1)
}

/// Reset state of every PE's LFSR, by PE index `q = r * cols + c`.
pub fn pe_seeds(spec: &LfsrSpec, pes: usize) -> Vec<u32> {
    let d = seed_spacing(spec, pes);
    let mut seeds = Vec::with_capacity(pes);
    let mut s = 1u32;
    for _ in 0..pes {
        seeds.push(s);
        s = spec.jump(s, d);
    }
    seeds
}

/// LFSR states at the start of input number `n` (counted from reset), each array step moving
/// every LFSR `lfsr_steps_per_step` single steps (`lanes * k`).
pub fn states_at_input(
    spec: &LfsrSpec,
    seeds: &[u32],
    lfsr_steps_per_step: u32,
    steps_per_input: u64,
    n: u64,
) -> Vec<u32> {
    let single_steps =
        u128::from(n) * u128::from(steps_per_input) * u128::from(lfsr_steps_per_step);
    let reduced = (single_steps % u128::from(spec.period())) as u64;
    seeds.iter().map(|&s| spec.jump(s, reduced)).collect()
}
