//! The hardware contract: what an NSM engine computes, bit for bit.
//!
//! * [`config`]: the engine configuration and its derived register widths;
//! * [`qnet`]: the quantized network and the quantizer;
//! * [`schedule`]: how layers, passes and LFSR steps fold onto the array;
//! * [`host_interface`]: the configuration port's address map, input words, result beats and
//!   the board protocol's bytes, defined once; [`cycles`]: the exact cycle count per input;
//! * [`reference`]: the plain bit-exact model; [`fast`]: the same, fast;
//! * [`memory`]: `$readmemh` images of a quantized network;
//! * [`gates`]: statistics of the PE gate streams;
//! * [`samples`]: random configurations and networks for tests and benchmarks.
//!
//! `docs/engine-spec.md` is the prose version of this module.

pub mod config;
pub mod cycles;
pub mod early_stop;
pub mod fast;
pub mod firing;
pub mod gates;
pub mod host_interface;
pub mod memory;
pub mod qnet;
pub mod reference;
pub mod samples;
pub mod schedule;
pub mod sweep;
pub mod uncertainty;

use rayon::prelude::*;
use serde::Serialize;

use self::config::{EngineConfig, EngineError};
pub use self::early_stop::Outcome;
use self::fast::FastModel;
use self::qnet::{QNet, QuantError};
use self::schedule::{pe_seeds, states_at_input, Schedule};
use crate::forward::BinarizedSet;
use crate::lfsr::LfsrSpec;

/// The outcome of one input: Monte Carlo sums of the output logits and the chosen class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inference {
    /// `sum over passes of (sum_j V_kj z_j + C_k)`, per class `k`.
    pub logit_sums: Vec<i64>,
    /// `argmax_k logit_sums[k]`, ties to the lowest `k`.
    pub class: usize,
}

impl Inference {
    pub fn from_logit_sums(logit_sums: Vec<i64>) -> Self {
        let mut class = 0;
        for (k, &v) in logit_sums.iter().enumerate() {
            if v > logit_sums[class] {
                class = k;
            }
        }
        Self { logit_sums, class }
    }
}

/// Anything that stops a bit-exact run.
#[derive(Debug, thiserror::Error)]
pub enum BitExactError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Quant(#[from] QuantError),
    #[error("input has {found} values, the network expects {expected}")]
    InputSize { expected: usize, found: usize },
}

/// A quantized network on an engine configuration, ready to run bit-exactly.
#[derive(Debug, Clone)]
pub struct BitExact {
    pub cfg: EngineConfig,
    pub spec: LfsrSpec,
    pub qnet: QNet,
    pub schedule: Schedule,
    fast: FastModel,
    seeds: Vec<u32>,
}

/// Result of a bit-exact evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BitExactReport {
    pub images: usize,
    pub mc_samples: usize,
    pub errors: usize,
    pub test_error_pct: f64,
    pub synapse_samples: u64,
    /// Monte Carlo passes per input, on average: `mc_samples` without an early stop.
    pub mean_passes: f64,
    /// Inputs by the passes they ran.
    pub pass_histogram: std::collections::BTreeMap<usize, usize>,
    pub seconds: f64,
    /// Each input's result with its passes and votes, in input order.
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

impl BitExact {
    pub fn new(cfg: &EngineConfig, qnet: &QNet) -> Result<Self, BitExactError> {
        cfg.validate()?;
        qnet.check_against(cfg)?;
        let spec = cfg.lfsr_spec()?;
        let seeds = pe_seeds(&spec, cfg.pes());
        Ok(Self {
            cfg: cfg.clone(),
            fast: FastModel::new(cfg, &spec, qnet),
            schedule: Schedule::new(cfg, qnet),
            spec,
            qnet: qnet.clone(),
            seeds,
        })
    }

    /// Reset states of the PE LFSRs.
    pub fn seeds(&self) -> &[u32] {
        &self.seeds
    }

    /// PE LFSR states at the start of input `n` after reset, for fixed K (with `early_stop`
    /// the start depends on the passes of every earlier input: run the inputs in order).
    pub fn states_at_input(&self, n: u64) -> Vec<u32> {
        states_at_input(
            &self.spec,
            &self.seeds,
            self.cfg.lfsr_steps_per_step(),
            self.schedule.steps_per_input(),
            n,
        )
    }

    fn check_input(&self, input: &[i8]) -> Result<(), BitExactError> {
        if input.len() != self.qnet.n_inputs() {
            return Err(BitExactError::InputSize {
                expected: self.qnet.n_inputs(),
                found: input.len(),
            });
        }
        Ok(())
    }

    /// One input through the fast model, from the given PE states (advanced in place).
    pub fn infer(&self, input: &[i8], states: &mut [u32]) -> Result<Inference, BitExactError> {
        self.check_input(input)?;
        Ok(self.fast.infer(input, states))
    }

    /// As [`Self::infer`], counting per neuron of the first stochastic layer the passes in
    /// which it fired (`counts` has that layer's width).
    pub fn infer_counting(
        &self,
        input: &[i8],
        states: &mut [u32],
        counts: &mut [u32],
    ) -> Result<Inference, BitExactError> {
        self.check_input(input)?;
        Ok(self.fast.infer_counting(input, states, counts))
    }

    /// As [`Self::infer`], recording the first pass's stochastic-layer states in `trace`
    /// ([`FastModel::infer_trace`]).
    pub fn infer_trace(
        &self,
        input: &[i8],
        states: &mut [u32],
        trace: &mut Vec<Vec<i8>>,
    ) -> Result<Inference, BitExactError> {
        self.check_input(input)?;
        Ok(self.fast.infer_trace(input, states, trace))
    }

    /// One input through the reference model, from the given PE states (advanced in place).
    pub fn infer_reference(
        &self,
        input: &[i8],
        states: &mut [u32],
    ) -> Result<Inference, BitExactError> {
        Ok(self.infer_reference_outcome(input, states)?.inference)
    }

    /// As [`Self::infer_reference`], with the passes run and their votes.
    pub fn infer_reference_outcome(
        &self,
        input: &[i8],
        states: &mut [u32],
    ) -> Result<Outcome, BitExactError> {
        self.check_input(input)?;
        Ok(reference::infer(
            &self.cfg, &self.spec, &self.qnet, input, states,
        ))
    }

    /// As [`Self::infer`], with the passes run and their votes.
    pub fn infer_outcome(
        &self,
        input: &[i8],
        states: &mut [u32],
    ) -> Result<Outcome, BitExactError> {
        self.check_input(input)?;
        Ok(self.fast.infer_outcome(input, states))
    }

    /// Every input of `data` in order from reset, as the hardware would see them streamed,
    /// computed in parallel chunks (each chunk jumps its LFSRs to where the stream puts it).
    pub fn evaluate(&self, data: &BinarizedSet) -> Result<BitExactReport, BitExactError> {
        if data.dim != self.qnet.n_inputs() {
            return Err(BitExactError::InputSize {
                expected: self.qnet.n_inputs(),
                found: data.dim,
            });
        }
        let start = std::time::Instant::now();
        let n = data.len();
        let input = |i: usize| -> Vec<i8> {
            data.row(i)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        };
        let outcomes: Vec<Outcome> = if self.cfg.early_stop.is_some() {
            // an input starts where the previous one stopped: one stream, in order
            let mut states = self.seeds.clone();
            (0..n)
                .map(|i| self.fast.infer_outcome(&input(i), &mut states))
                .collect()
        } else {
            let chunk = n.div_ceil(rayon::current_num_threads() * 4).max(1);
            (0..n)
                .collect::<Vec<_>>()
                .par_chunks(chunk)
                .flat_map_iter(|idx| {
                    let mut states = self.states_at_input(idx[0] as u64);
                    idx.iter()
                        .map(|&i| self.fast.infer_outcome(&input(i), &mut states))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let mut pass_histogram = std::collections::BTreeMap::new();
        for o in &outcomes {
            *pass_histogram.entry(o.passes).or_insert(0) += 1;
        }
        let total_passes: usize = outcomes.iter().map(|o| o.passes).sum();
        let errors = outcomes
            .iter()
            .zip(&data.labels)
            .filter(|(o, &l)| o.inference.class != l as usize)
            .count();
        Ok(BitExactReport {
            images: n,
            mc_samples: self.cfg.mc_samples,
            errors,
            test_error_pct: if n == 0 {
                0.0
            } else {
                100.0 * errors as f64 / n as f64
            },
            synapse_samples: total_passes as u64 * self.schedule.synapses_per_pass(),
            mean_passes: if n == 0 {
                0.0
            } else {
                total_passes as f64 / n as f64
            },
            pass_histogram,
            seconds: start.elapsed().as_secs_f64(),
            outcomes,
        })
    }
}
