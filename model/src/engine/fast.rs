//! The fast bit-exact model: the same fold as [`super::reference`], computed with bit-sliced
//! LFSR banks (64 PEs per u64) and masked integer sums over whole rows. Equal to the reference
//! on every output (tested on random configurations).

use super::config::{Accumulator, EngineConfig};
use super::early_stop::{Outcome, Votes};
use super::qnet::{LayerView, QNet};
use super::reference::saturate;
use super::schedule::Schedule;
use super::Inference;
use crate::blank_out::LANE_MASKS;
use crate::equations::{fixed_fires, fixed_preactivation};
use crate::lfsr::{LfsrBank, LfsrSpec};

/// One layer laid out for the fast model: rows padded with zeros to a multiple of 64 inputs.
#[derive(Debug, Clone)]
struct FastLayer {
    n_in: usize,
    n_out: usize,
    /// Padded row length (multiple of 64, at least `steps * cols`).
    stride: usize,
    steps: usize,
    w: Vec<i32>,
    a: Vec<i64>,
    b: Vec<i64>,
}

/// A quantized network prepared for fast bit-exact inference on one engine configuration.
#[derive(Debug, Clone)]
pub struct FastModel {
    cfg: EngineConfig,
    spec: LfsrSpec,
    sched: Schedule,
    layers: Vec<FastLayer>,
    acc_bits: u32,
}

/// `bits` (<= 64) bits of `words` starting at bit `offset`.
#[inline]
fn extract(words: &[u64], offset: usize, bits: usize) -> u64 {
    let (w, o) = (offset / 64, offset % 64);
    let mut v = words[w] >> o;
    if o + bits > 64 {
        v |= words[w + 1] << (64 - o);
    }
    if bits < 64 {
        v &= (1u64 << bits) - 1;
    }
    v
}

/// ORs the low `bits` bits of `v` into `words` at bit `offset`.
#[inline]
fn deposit(words: &mut [u64], offset: usize, bits: usize, v: u64) {
    let (w, o) = (offset / 64, offset % 64);
    words[w] |= v << o;
    if o + bits > 64 {
        words[w + 1] |= v >> (64 - o);
    }
}

/// The gates of row `r`'s `cols * lanes` slots of one step, slot `c * lanes + l` in bit
/// `c * lanes + l`, from the lanes' gate words (`gate_words[l]`, bit `q` PE `q`'s).
#[inline]
fn step_gates(gate_words: &[Vec<u64>], r: usize, cols: usize) -> u64 {
    let lanes = gate_words.len();
    if lanes == 1 {
        return extract(&gate_words[0], r * cols, cols);
    }
    let mut slots = 0u64;
    for (l, words) in gate_words.iter().enumerate() {
        let pes = extract(words, r * cols, cols);
        for c in 0..cols {
            slots |= ((pes >> c) & 1) << (c * lanes + l);
        }
    }
    slots
}

/// `S = sum_j W_j z_j` and `T = sum_j g_j W_j z_j` over one padded row, with `z_j = +1` where
/// bit j of `z` is set, else -1, and `g_j` bit j of `g`.
#[inline]
fn masked_row_sums(w: &[i32], z: &[u64], g: &[u64]) -> (i64, i64) {
    let (mut s, mut t) = (0i64, 0i64);
    for ((w64, &zw), &gw) in w.chunks_exact(64).zip(z).zip(g) {
        let mut sv = [0i32; 8];
        let mut tv = [0i32; 8];
        for (byte, w8) in w64.chunks_exact(8).enumerate() {
            let zl = &LANE_MASKS[((zw >> (8 * byte)) & 0xff) as usize];
            let gl = &LANE_MASKS[((gw >> (8 * byte)) & 0xff) as usize];
            for l in 0..8 {
                // z = -1: negate (two's complement: flip and add one)
                let neg = !zl[l] as i32;
                let v = (w8[l] ^ neg).wrapping_sub(neg);
                sv[l] = sv[l].wrapping_add(v);
                tv[l] = tv[l].wrapping_add(v & gl[l] as i32);
            }
        }
        s += sv.iter().map(|&v| i64::from(v)).sum::<i64>();
        t += tv.iter().map(|&v| i64::from(v)).sum::<i64>();
    }
    (s, t)
}

impl FastModel {
    /// Prepares `qnet` for `cfg` (both already checked against each other).
    pub fn new(cfg: &EngineConfig, spec: &LfsrSpec, qnet: &QNet) -> Self {
        let sched = Schedule::new(cfg, qnet);
        let mut layers = Vec::new();
        for LayerView {
            n_in,
            n_out,
            w,
            b,
            a,
        } in qnet.layers()
        {
            let steps = sched.steps_per_neuron(n_in);
            let stride = (steps * cfg.step_inputs()).div_ceil(64) * 64 + 64;
            let mut wp = vec![0i32; n_out * stride];
            for i in 0..n_out {
                wp[i * stride..i * stride + n_in].copy_from_slice(&w[i * n_in..(i + 1) * n_in]);
            }
            layers.push(FastLayer {
                n_in,
                n_out,
                stride,
                steps,
                w: wp,
                a: a.map_or_else(Vec::new, |a| a.iter().map(|&v| i64::from(v)).collect()),
                b: b.iter().map(|&v| i64::from(v)).collect(),
            });
        }
        Self {
            cfg: cfg.clone(),
            spec: spec.clone(),
            sched,
            layers,
            acc_bits: cfg.widths().acc_bits,
        }
    }

    /// Runs one input (`+1`/`-1` values), stepping the PE LFSR `states` as the hardware does.
    pub fn infer(&self, input: &[i8], states: &mut [u32]) -> Inference {
        self.run(input, states, None, None).inference
    }

    /// As [`Self::infer`], with the passes run and the per-pass votes ([`Outcome`]).
    pub fn infer_outcome(&self, input: &[i8], states: &mut [u32]) -> Outcome {
        self.run(input, states, None, None)
    }

    /// As [`Self::infer`], and adds to `counts[i]` the number of passes in which neuron `i` of
    /// the first stochastic layer fired.
    pub fn infer_counting(
        &self,
        input: &[i8],
        states: &mut [u32],
        counts: &mut [u32],
    ) -> Inference {
        self.run(input, states, Some(counts), None).inference
    }

    /// As [`Self::infer`], and records in `trace` the states (`+1`/`-1`) of every stochastic
    /// layer in the first Monte Carlo pass (row 0 of group 0): `trace[l][i]` is neuron `i` of
    /// layer `l`. The on-chip learning mirror trains on that pass (`crate::learn`).
    pub fn infer_trace(
        &self,
        input: &[i8],
        states: &mut [u32],
        trace: &mut Vec<Vec<i8>>,
    ) -> Inference {
        trace.clear();
        self.run(input, states, None, Some(trace)).inference
    }

    fn run(
        &self,
        input: &[i8],
        states: &mut [u32],
        mut counts: Option<&mut [u32]>,
        mut trace: Option<&mut Vec<Vec<i8>>>,
    ) -> Outcome {
        let cfg = &self.cfg;
        let (rows, cols, lanes, k_mc) = (cfg.rows, cfg.cols, cfg.lanes, cfg.mc_samples);
        let n_step = cols * lanes;
        let k = cfg.blank_out.threshold_bits;
        let threshold = cfg.blank_out.threshold;
        let frac = cfg.a_frac_bits;
        let pes = rows * cols;
        let mut banks: Vec<LfsrBank> = states
            .chunks(64)
            .map(|chunk| LfsrBank::new(&self.spec, chunk))
            .collect();
        // lane l's gate of every PE in this step: bit q of gate_words[l] is PE q's
        let mut gate_words = vec![vec![0u64; banks.len() + 1]; lanes];
        let saturating = matches!(cfg.accumulator, Accumulator::Saturate { .. });
        let max_stride = self.layers.iter().map(|l| l.stride).max().unwrap_or(64);
        let max_width = self.layers.iter().map(|l| l.n_out).max().unwrap_or(1);
        // per-row gate masks over the inputs of the current neuron
        let mut gmask = vec![vec![0u64; max_stride / 64]; rows];
        // per-row sums of the current neuron, used step by step in saturating mode
        let mut s_acc = vec![0i64; rows];
        let mut t_acc = vec![0i64; rows];
        let input_words = pack(input, max_stride.max(max_width.div_ceil(64) * 64 + 64));
        let mut logit_sums = vec![0i64; self.layers.last().map_or(0, |l| l.n_out)];
        let mut votes = Votes::new(logit_sums.len(), rows);
        let n_layers = self.layers.len();
        let mut passes = 0;
        for g in 0..self.sched.groups() {
            let live_rows = rows.min(k_mc - g * rows);
            let mut act: Vec<Vec<u64>> = vec![input_words.clone(); rows];
            for (l, layer) in self.layers.iter().enumerate() {
                let is_output = l == n_layers - 1;
                let words = layer.stride / 64;
                let mut next: Vec<Vec<u64>> =
                    vec![vec![0u64; act[0].len().max(layer.n_out.div_ceil(64) + 1)]; rows];
                for i in 0..layer.n_out {
                    let w_row = &layer.w[i * layer.stride..(i + 1) * layer.stride];
                    for m in gmask.iter_mut() {
                        m[..words].fill(0);
                    }
                    s_acc.fill(0);
                    t_acc.fill(0);
                    for s in 0..layer.steps {
                        for (b, bank) in banks.iter_mut().enumerate() {
                            for lane_words in gate_words.iter_mut() {
                                lane_words[b] = bank.gates(k, threshold);
                            }
                        }
                        if saturating {
                            // Saturation depends on the order of the step sums: add step by step.
                            for r in 0..live_rows {
                                let gates = step_gates(&gate_words, r, cols);
                                let (mut ds, mut dt) = (0i64, 0i64);
                                for c in 0..n_step {
                                    let j = s * n_step + c;
                                    if j >= layer.n_in {
                                        break;
                                    }
                                    let wz = if (act[r][j / 64] >> (j % 64)) & 1 == 1 {
                                        i64::from(w_row[j])
                                    } else {
                                        -i64::from(w_row[j])
                                    };
                                    ds += wz;
                                    if (gates >> c) & 1 == 1 {
                                        dt += wz;
                                    }
                                }
                                s_acc[r] = saturate(s_acc[r] + ds, self.acc_bits);
                                t_acc[r] = saturate(t_acc[r] + dt, self.acc_bits);
                            }
                        } else {
                            for (r, m) in gmask.iter_mut().enumerate().take(live_rows) {
                                deposit(m, s * n_step, n_step, step_gates(&gate_words, r, cols));
                            }
                        }
                    }
                    debug_assert!(pes <= banks.len() * 64);
                    for r in 0..live_rows {
                        let (s_val, t_val) = if saturating {
                            (s_acc[r], t_acc[r])
                        } else {
                            masked_row_sums(w_row, &act[r][..words], &gmask[r][..words])
                        };
                        if is_output {
                            logit_sums[i] += s_val + layer.b[i];
                            votes.see(r, i, s_val + layer.b[i]);
                        } else {
                            let u = fixed_preactivation(t_val, layer.a[i], s_val, layer.b[i], frac);
                            if fixed_fires(u) {
                                next[r][i / 64] |= 1u64 << (i % 64);
                                if l == 0 {
                                    if let Some(c) = counts.as_deref_mut() {
                                        c[i] += 1;
                                    }
                                }
                            }
                        }
                    }
                }
                if !is_output && g == 0 {
                    if let Some(tr) = trace.as_deref_mut() {
                        tr.push(
                            (0..layer.n_out)
                                .map(|i| {
                                    if (next[0][i / 64] >> (i % 64)) & 1 == 1 {
                                        1
                                    } else {
                                        -1
                                    }
                                })
                                .collect(),
                        );
                    }
                }
                if !is_output {
                    // inputs beyond the layer width must read as zero-weight padding only
                    for row in next.iter_mut() {
                        row.resize((max_stride / 64).max(row.len()), 0);
                    }
                    act = next;
                }
            }
            passes += live_rows;
            if votes.count_group(live_rows, passes, cfg.early_stop) {
                break;
            }
        }
        let mut i = 0;
        for bank in &banks {
            for s in bank.states() {
                if i < pes {
                    states[i] = s;
                }
                i += 1;
            }
        }
        Outcome {
            inference: Inference::from_logit_sums(logit_sums),
            passes,
            votes: votes.counts,
        }
    }
}

/// Packs +-1 values into bits (1 for +1), padded with zero words to `bits` bits.
fn pack(values: &[i8], bits: usize) -> Vec<u64> {
    let mut words = vec![0u64; bits.div_ceil(64).max(values.len().div_ceil(64))];
    for (j, &v) in values.iter().enumerate() {
        if v > 0 {
            words[j / 64] |= 1u64 << (j % 64);
        }
    }
    words
}
