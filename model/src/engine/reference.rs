//! The reference bit-exact model: the fold of [`super::schedule`] written as plainly as
//! possible, one PE and one LFSR step at a time. It is slow on purpose; the fast model
//! ([`super::fast`]) must agree with it on every output, and the RTL must agree with both.

use super::config::{Accumulator, EngineConfig};
use super::early_stop::{decided, Outcome};
use super::qnet::QNet;
use super::schedule::Schedule;
use super::Inference;
use crate::equations::{fixed_fires, fixed_preactivation};
use crate::lfsr::LfsrSpec;

/// Saturates `v` to a signed `bits`-bit range.
pub fn saturate(v: i64, bits: u32) -> i64 {
    let max = (1i64 << (bits - 1)) - 1;
    v.clamp(-max - 1, max)
}

/// Runs one input (`+1`/`-1` values) through the engine, stepping `states` (one LFSR state per
/// PE, index `r * cols + c`) exactly as the hardware does.
pub fn infer(
    cfg: &EngineConfig,
    spec: &LfsrSpec,
    qnet: &QNet,
    input: &[i8],
    states: &mut [u32],
) -> Outcome {
    let sched = Schedule::new(cfg, qnet);
    let (rows, cols, lanes, k_mc) = (cfg.rows, cfg.cols, cfg.lanes, cfg.mc_samples);
    let k = cfg.blank_out.threshold_bits;
    let threshold = cfg.blank_out.threshold;
    let acc_bits = cfg.widths().acc_bits;
    let frac = cfg.a_frac_bits;
    let accumulate = |acc: i64, delta: i64| match cfg.accumulator {
        Accumulator::Exact => acc + delta,
        Accumulator::Saturate { .. } => saturate(acc + delta, acc_bits),
    };
    let n_layers = sched.layers.len();
    let mut logit_sums = vec![0i64; qnet.output.n_out];
    let mut votes = vec![0u32; qnet.output.n_out];
    let mut passes = 0;
    for g in 0..sched.groups() {
        // each pass's own output logits, for its vote
        let mut pass_logits = vec![vec![0i64; qnet.output.n_out]; rows];
        // z of every row (pass); the input is the same for all passes
        let mut act: Vec<Vec<i8>> = vec![input.to_vec(); rows];
        for (l, &(n_in, n_out)) in sched.layers.iter().enumerate() {
            let is_output = l == n_layers - 1;
            let (w, b) = if is_output {
                (&qnet.output.w, &qnet.output.b)
            } else {
                (&qnet.hidden[l].w, &qnet.hidden[l].b)
            };
            let mut next: Vec<Vec<i8>> = vec![vec![0; n_out]; rows];
            for i in 0..n_out {
                let mut s_acc = vec![0i64; rows];
                let mut t_acc = vec![0i64; rows];
                for s in 0..sched.steps_per_neuron(n_in) {
                    for r in 0..rows {
                        let (mut ds, mut dt) = (0i64, 0i64);
                        for c in 0..cols {
                            // the PE's lanes draw their gates in lane order
                            for lane in 0..lanes {
                                let gate = spec.gate(&mut states[r * cols + c], k, threshold);
                                let m = g * rows + r;
                                let j = (s * cols + c) * lanes + lane;
                                if m < k_mc && j < n_in {
                                    let wz = i64::from(w[i * n_in + j]) * i64::from(act[r][j]);
                                    ds += wz;
                                    if gate {
                                        dt += wz;
                                    }
                                }
                            }
                        }
                        s_acc[r] = accumulate(s_acc[r], ds);
                        t_acc[r] = accumulate(t_acc[r], dt);
                    }
                }
                for r in 0..rows {
                    if g * rows + r >= k_mc {
                        continue;
                    }
                    if is_output {
                        logit_sums[i] += s_acc[r] + i64::from(b[i]);
                        pass_logits[r][i] = s_acc[r] + i64::from(b[i]);
                    } else {
                        let a = i64::from(qnet.hidden[l].a[i]);
                        let u = fixed_preactivation(t_acc[r], a, s_acc[r], i64::from(b[i]), frac);
                        next[r][i] = if fixed_fires(u) { 1 } else { -1 };
                    }
                }
            }
            act = next;
        }
        // every real pass of the group votes; then the stopping rule judges the votes
        let live = rows.min(k_mc - g * rows);
        for logits in pass_logits.into_iter().take(live) {
            votes[Inference::from_logit_sums(logits).class] += 1;
        }
        passes += live;
        if decided(&votes, passes, cfg.early_stop) {
            break;
        }
    }
    Outcome {
        inference: Inference::from_logit_sums(logit_sums),
        passes,
        votes,
    }
}
