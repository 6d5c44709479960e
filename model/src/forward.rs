//! Forward passes of a [`Network`] over a batch: sampled (the NSM's real inference, and the
//! training forward pass) or mean-field (states replaced by their expectation `2P - 1`, a
//! deterministic function whose exact gradient is what the straight-through backward pass
//! computes; used to check the gradients against finite differences).

use rayon::prelude::*;

use crate::blank_out::{mask_words, masked_signed_sum, sign_mask, BlankOutSampler};
use crate::data::Dataset;
use crate::equations::{
    d_two_p_minus_one, firing_probability, normalized_drive, preactivation, row_norm, sigmoid,
    sign_unit, Noise,
};
use crate::net::{HiddenLayer, ModelKind, Network};
use crate::seeds::stream_rng;
use rand::Rng;
use rand_distr::StandardNormal;

/// How the stochastic layers produce their states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Draw the noise and emit `z = sgn(u)` (eq. 1, 5).
    Sample,
    /// Emit the expected state `2P - 1` (deterministic).
    MeanField,
}

/// Names the random stream of one forward pass: sample `n` of layer `k` draws its noise from
/// `stream_rng(seed, [domain, a, b, k, n])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseKey {
    pub seed: u64,
    pub domain: u64,
    pub a: u64,
    pub b: u64,
}

/// A binarized data set: `x` holds `len` rows of `dim` values in {-1, +1}; `gray` keeps the
/// 8-bit pixels they came from (empty for data that never had gray levels), for training with
/// input noise.
#[derive(Debug, Clone)]
pub struct BinarizedSet {
    pub x: Vec<f32>,
    pub labels: Vec<u8>,
    pub dim: usize,
    pub gray: Vec<u8>,
}

impl BinarizedSet {
    /// Binarizes every image of `data` (pixel >= 128 gives +1).
    pub fn from_dataset(data: &Dataset) -> Self {
        let dim = data.pixels();
        let mut x = vec![0f32; data.len() * dim];
        for (i, row) in x.chunks_exact_mut(dim).enumerate() {
            data.binarized_into(i, row);
        }
        Self {
            x,
            labels: data.labels.clone(),
            dim,
            gray: data.images.clone(),
        }
    }

    /// The first `n` examples (all of them if `n >= len`).
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            x: self.x[..n * self.dim].to_vec(),
            labels: self.labels[..n].to_vec(),
            dim: self.dim,
            gray: if self.gray.is_empty() {
                Vec::new()
            } else {
                self.gray[..n * self.dim].to_vec()
            },
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Example `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.dim..(i + 1) * self.dim]
    }
}

/// A hidden layer with what its forward pass needs precomputed.
#[derive(Debug, Clone)]
pub(crate) struct PreparedHidden {
    pub n_in: usize,
    pub n_out: usize,
    /// `n_in` rounded up to a multiple of 64.
    pub stride: usize,
    /// f32 bit patterns of `w`, rows zero-padded to `stride`.
    pub w_bits: Vec<u32>,
    /// `||w_i||`.
    pub norm: Vec<f64>,
    /// `a_i` from `beta_i` (NSM, gNSM).
    pub a: Vec<f32>,
}

impl PreparedHidden {
    fn new(l: &HiddenLayer, noise: Option<Noise>) -> Self {
        let stride = mask_words(l.n_in) * 64;
        let mut w_bits = vec![0u32; l.n_out * stride];
        for i in 0..l.n_out {
            for (d, &w) in w_bits[i * stride..i * stride + l.n_in]
                .iter_mut()
                .zip(l.row(i))
            {
                *d = w.to_bits();
            }
        }
        let norm = (0..l.n_out).map(|i| row_norm(l.row(i))).collect();
        let a = match noise {
            Some(n) => l
                .beta
                .iter()
                .map(|&b| n.a_from_beta(f64::from(b)) as f32)
                .collect(),
            None => Vec::new(),
        };
        Self {
            n_in: l.n_in,
            n_out: l.n_out,
            stride,
            w_bits,
            norm,
            a,
        }
    }
}

/// What a hidden layer's forward pass leaves for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct HiddenTrace {
    /// `S = W z_in`, `batch x n_out`.
    pub s: Vec<f32>,
    /// Derivative of the expected state w.r.t. the pre-activation drive: `(2/sqrt(pi)) e^{-x^2}`
    /// for NSMs, `2 P (1 - P)` for the StNN; `batch x n_out`.
    pub deriv: Vec<f32>,
    /// Output states, `batch x n_out`.
    pub z: Vec<f32>,
}

/// A network ready for fast forward passes.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub net: &'a Network,
    pub(crate) hidden: Vec<PreparedHidden>,
    sampler: Option<BlankOutSampler>,
}

/// `C (m x n) = A (m x k) B^T` where `B` is row-major `n x k`.
pub(crate) fn matmul_a_bt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), n * k);
    assert_eq!(c.len(), m * n);
    // SAFETY: the slices have exactly the sizes the strides address (checked above).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `C (m x n) = A (m x k) B` where `B` is row-major `k x n`.
pub(crate) fn matmul_a_b(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), k * n);
    assert_eq!(c.len(), m * n);
    // SAFETY: as above.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `C (m x n) = A^T B` where `A` is row-major `k x m` and `B` row-major `k x n`.
pub(crate) fn matmul_at_b(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), k * m);
    assert_eq!(b.len(), k * n);
    assert_eq!(c.len(), m * n);
    // SAFETY: as above.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            1,
            m as isize,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

impl<'a> Prepared<'a> {
    /// Precomputes padded weights, row norms and `a_i`. The network must be valid.
    pub fn new(net: &'a Network) -> Self {
        let sampler = match net.noise {
            Some(Noise::BlankOut { transmit_p }) => Some(BlankOutSampler::new(transmit_p)),
            _ => None,
        };
        let hidden = net
            .hidden
            .iter()
            .map(|l| PreparedHidden::new(l, net.noise))
            .collect();
        Self {
            net,
            hidden,
            sampler,
        }
    }

    /// Forward pass of hidden layer `k` over `batch` inputs (`batch x n_in`). With
    /// `need_deriv`, also fills [`HiddenTrace::deriv`].
    pub fn hidden_forward(
        &self,
        k: usize,
        input: &[f32],
        batch: usize,
        pass: Pass,
        key: NoiseKey,
        need_deriv: bool,
    ) -> HiddenTrace {
        let layer = &self.net.hidden[k];
        let prep = &self.hidden[k];
        let (n_in, n_out) = (prep.n_in, prep.n_out);
        let mut s = vec![0f32; batch * n_out];
        matmul_a_bt(batch, n_in, n_out, input, &layer.w, &mut s);
        let mut z = vec![0f32; batch * n_out];
        let mut deriv = if need_deriv {
            vec![0f32; batch * n_out]
        } else {
            Vec::new()
        };
        let model = self.net.model;
        let noise = self.net.noise;
        let drive_scale = noise.map_or(1.0, |n| n.drive_scale());

        // Expected-state derivative (and the mean-field state) from the normalized drive.
        if need_deriv || pass == Pass::MeanField {
            for n in 0..batch {
                for i in 0..n_out {
                    let sv = f64::from(s[n * n_out + i]);
                    let (state, d) = match model {
                        ModelKind::Stnn => {
                            let p = sigmoid(sv);
                            (2.0 * p - 1.0, 2.0 * p * (1.0 - p))
                        }
                        ModelKind::Nsm | ModelKind::Gnsm => {
                            let x = normalized_drive(
                                f64::from(layer.beta[i]),
                                sv,
                                f64::from(layer.b[i]),
                                prep.norm[i],
                                drive_scale,
                            );
                            (2.0 * firing_probability(x) - 1.0, d_two_p_minus_one(x))
                        }
                    };
                    if pass == Pass::MeanField {
                        z[n * n_out + i] = state as f32;
                    }
                    if need_deriv {
                        deriv[n * n_out + i] = d as f32;
                    }
                }
            }
        }

        if pass == Pass::Sample {
            let sampler = self.sampler;
            z.par_chunks_mut(n_out)
                .zip(s.par_chunks(n_out))
                .enumerate()
                .for_each(|(n, (z_row, s_row))| {
                    let mut rng =
                        stream_rng(key.seed, &[key.domain, key.a, key.b, k as u64, n as u64]);
                    let x_row = &input[n * n_in..(n + 1) * n_in];
                    match (model, noise) {
                        (ModelKind::Nsm, _) => {
                            let sampler = sampler.expect("nsm networks carry blank-out noise");
                            let mut z_sign = vec![0u32; prep.stride];
                            for (d, &x) in z_sign.iter_mut().zip(x_row) {
                                *d = sign_mask(x);
                            }
                            let mut mask = vec![0u64; prep.stride / 64];
                            for i in 0..n_out {
                                sampler.fill(&mut rng, &mut mask);
                                let t = masked_signed_sum(
                                    &prep.w_bits[i * prep.stride..(i + 1) * prep.stride],
                                    &z_sign,
                                    &mask,
                                );
                                let u = preactivation(t, prep.a[i], s_row[i], layer.b[i]);
                                z_row[i] = sign_unit(u);
                            }
                        }
                        (ModelKind::Gnsm, Some(Noise::Gaussian { sigma })) => {
                            // Given z, sum_j xi_ij w_ij z_j with xi ~ N(1, sigma^2) i.i.d. is
                            // exactly N(S, sigma^2 ||w||^2): one normal draw per neuron samples
                            // the per-synapse noise without approximation.
                            for i in 0..n_out {
                                let eps: f64 = rng.sample(StandardNormal);
                                let u = (1.0 + f64::from(prep.a[i])) * f64::from(s_row[i])
                                    + f64::from(layer.b[i])
                                    + sigma * prep.norm[i] * eps;
                                z_row[i] = sign_unit(u as f32);
                            }
                        }
                        (ModelKind::Stnn, _) => {
                            for i in 0..n_out {
                                let p = sigmoid(f64::from(s_row[i]));
                                z_row[i] = if rng.gen::<f64>() < p { 1.0 } else { -1.0 };
                            }
                        }
                        (ModelKind::Gnsm, _) => unreachable!("validated: gnsm has Gaussian noise"),
                    }
                });
        }
        HiddenTrace { s, deriv, z }
    }

    /// Output logits `W z + b` of `batch` states of the last hidden layer.
    pub fn output_logits(&self, input: &[f32], batch: usize) -> Vec<f32> {
        let o = &self.net.output;
        let mut logits = vec![0f32; batch * o.n_out];
        matmul_a_bt(batch, o.n_in, o.n_out, input, &o.w, &mut logits);
        for row in logits.chunks_exact_mut(o.n_out) {
            for (l, &b) in row.iter_mut().zip(&o.b) {
                *l += b;
            }
        }
        logits
    }

    /// Full forward pass to logits, without traces.
    pub fn logits(&self, input: &[f32], batch: usize, pass: Pass, key: NoiseKey) -> Vec<f32> {
        let mut z = input.to_vec();
        for k in 0..self.hidden.len() {
            z = self.hidden_forward(k, &z, batch, pass, key, false).z;
        }
        self.output_logits(&z, batch)
    }
}

/// Softmax of one row of logits, in place (max-subtracted for stability).
pub fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f64;
    for v in row.iter_mut() {
        let e = f64::from(*v - max).exp();
        *v = e as f32;
        sum += e;
    }
    for v in row.iter_mut() {
        *v = (f64::from(*v) / sum) as f32;
    }
}

/// Index of the largest value; ties go to the lowest index.
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
