//! Training of the float golden model: straight-through gradients through `2P - 1`, the
//! weight-normalization gradients of eq. 6-7, the data-dependent initialization of eq. 8, Adam,
//! softmax cross-entropy, minibatches of 100.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::BINARIZE_THRESHOLD;
use crate::engine::qnet::round_to_levels;
use crate::equations::Noise;
use crate::error::{ModelError, Result};
use crate::forward::{
    argmax, matmul_a_b, matmul_a_bt, matmul_at_b, softmax_in_place, BinarizedSet, HiddenTrace,
    NoiseKey, Pass, Prepared,
};
use crate::net::{HiddenLayer, ModelKind, Network, OutputLayer, NET_SCHEMA};
use crate::seeds::{domain, stream_rng};
use rand_distr::StandardNormal;

/// Classes of the output layer (the ten digits).
const N_CLASSES: usize = 10;

/// The widest layer training accepts: 2^20 neurons.
pub const MAX_LAYER_WIDTH: usize = 1 << 20;

/// The most weights a trained network may hold, all layers together: 2^28 (1 GiB of `f32`;
/// training keeps about five copies: the network, its gradients, Adam's two moments, and
/// the gradients' scratch), so that a run fits a 24 GiB machine.
pub const MAX_WEIGHTS: usize = 1 << 28;

/// The most neuron values one minibatch may hold over all layers (batch x the sum of the
/// layer widths): 2^28, the forward trace and the backward pass keep a few of each.
pub const MAX_BATCH_VALUES: usize = 1 << 28;

/// Total weight count of dense layers of `widths` (input first), `None` if it overflows.
fn weight_total(widths: &[usize]) -> Option<usize> {
    widths.windows(2).try_fold(0usize, |acc, w| {
        w[0].checked_mul(w[1]).and_then(|n| acc.checked_add(n))
    })
}

/// Refuses a network of `widths` (input first, the 10 classes last) with more than
/// [`MAX_WEIGHTS`] weights.
fn check_weight_total(widths: &[usize]) -> Result<()> {
    match weight_total(widths) {
        Some(n) if n <= MAX_WEIGHTS => Ok(()),
        n => Err(ModelError::TrainOption(format!(
            "layer widths {widths:?} need {} weights, more than the limit of {MAX_WEIGHTS}",
            n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
        ))),
    }
}

/// Refuses a minibatch of `batch` examples through layers of `widths` holding more than
/// [`MAX_BATCH_VALUES`] neuron values.
fn check_batch_values(batch: usize, widths: &[usize]) -> Result<()> {
    let values = widths
        .iter()
        .try_fold(0usize, |acc, &w| acc.checked_add(w))
        .and_then(|sum| sum.checked_mul(batch));
    match values {
        Some(n) if n <= MAX_BATCH_VALUES => Ok(()),
        _ => Err(ModelError::TrainOption(format!(
            "a batch of {batch} examples through layer widths {widths:?} holds more than \
             {MAX_BATCH_VALUES} neuron values; use a smaller batch size"
        ))),
    }
}

/// Everything that defines a training run. Defaults are the PI-MNIST network of NSM Table 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub model: ModelKind,
    /// Noise of the stochastic synapses (ignored for the StNN).
    pub noise: Noise,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// The step size is multiplied by this factor after every epoch.
    pub lr_decay: f64,
    /// Standard deviation, in units of full scale (255), of Gaussian noise added to the gray
    /// pixels before they are binarized, in training only (S2M paper, section III.A: "Inputs
    /// were added with Gaussian noise and discretized"). 0 binarizes deterministically.
    #[serde(default)]
    pub input_noise: f64,
    pub seed: u64,
    /// Quantization-aware training for an engine of this weight width (1 to 16; 1 is `+-1`,
    /// no zero level): every minibatch runs forward and backward with the weights on the
    /// quantizer's levels ([`crate::engine::qnet::round_to_levels`]), and Adam's step goes to
    /// the latent float weights as if the rounding were the identity (the plain
    /// straight-through estimator, Bengio, Leonard and Courville 2013; at 1 bit the rule of
    /// BinaryConnect, Courbariaux, Bengio and David 2015, through `sign` and XNOR-Net's scale
    /// `alpha = mean |w|`, Rastegari et al. 2016, with no gradient through `alpha`).
    /// [`Trainer::network`] returns the weights on the levels. [`init_network`] runs eq. 8 on
    /// the network on the levels.
    ///
    /// The latent weights are not clipped. BinaryConnect clips them to `[-1, 1]` (and Hubara et
    /// al. 2016 cancel the gradient beyond it, the hardtanh estimator) so that they stay where a
    /// step can still flip a sign; clipping to this trainer's init range `+-1/sqrt(n_in)` after
    /// every step was measured on 784-300-300-300-10 at 1 bit and was no better (test error
    /// 4.85% and 4.90% against 4.45% and 4.80% unclipped, two seeds;
    /// `docs/reports/weight-bits-qat.md`). Unclipped, the latent weights stay bounded anyway:
    /// Adam moves each by at most about the step size, which decays, and `mean |w|` grew by
    /// 1.3 to 1.8 times over 50 epochs. The per-row scale matters to a stochastic layer only
    /// through `b / ||w||` (eq. 3-4, self-normalization), and the trainer learns `b` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_bits: Option<u32>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            model: ModelKind::Nsm,
            noise: Noise::BlankOut { transmit_p: 0.5 },
            hidden: vec![300, 300, 300],
            epochs: 50,
            batch_size: 100,
            learning_rate: 1e-3,
            lr_decay: 0.95,
            input_noise: 0.2,
            seed: 1,
            weight_bits: None,
        }
    }
}

impl TrainOptions {
    /// Refuses sizes of zero, layers wider than [`MAX_LAYER_WIDTH`], hidden and output layers
    /// with more than [`MAX_WEIGHTS`] weights, a bad noise parameter and non-positive step
    /// sizes. (The input layer's weights are checked by [`init_network`], which knows the
    /// input size.)
    pub fn validate(&self) -> Result<()> {
        if let Some(b) = self.weight_bits {
            if !(1..=16).contains(&b) {
                return Err(ModelError::TrainOption(format!(
                    "weight bits {b}: quantization-aware training takes 1 to 16 bits (the engine's weight_bits range)"
                )));
            }
        }
        if let Some(k) = self.hidden.iter().position(|&h| h == 0) {
            return Err(ModelError::ZeroSizeLayer {
                what: format!("hidden layer {k}"),
            });
        }
        if let Some(k) = self.hidden.iter().position(|&h| h > MAX_LAYER_WIDTH) {
            return Err(ModelError::TrainOption(format!(
                "hidden layer {k} has {} neurons, more than the limit of {MAX_LAYER_WIDTH}",
                self.hidden[k]
            )));
        }
        let mut widths = self.hidden.clone();
        widths.push(N_CLASSES);
        check_weight_total(&widths)?;
        if self.model != ModelKind::Stnn {
            self.noise.validate()?;
            let matches = matches!(
                (self.model, self.noise),
                (ModelKind::Nsm, Noise::BlankOut { .. })
                    | (ModelKind::Gnsm, Noise::Gaussian { .. })
            );
            if !matches {
                return Err(ModelError::TrainOption(format!(
                    "model {} needs {} noise",
                    self.model,
                    if self.model == ModelKind::Nsm {
                        "blank-out"
                    } else {
                        "Gaussian"
                    }
                )));
            }
        }
        if self.batch_size == 0 {
            return Err(ModelError::TrainOption(
                "batch size must be at least 1".into(),
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::TrainOption(format!(
                "learning rate must be > 0, got {}",
                self.learning_rate
            )));
        }
        if !(self.lr_decay.is_finite() && self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return Err(ModelError::TrainOption(format!(
                "learning-rate decay must lie in (0, 1], got {}",
                self.lr_decay
            )));
        }
        if !(self.input_noise.is_finite() && self.input_noise >= 0.0) {
            return Err(ModelError::TrainOption(format!(
                "input noise must be >= 0, got {}",
                self.input_noise
            )));
        }
        Ok(())
    }

    fn net_noise(&self) -> Option<Noise> {
        (self.model != ModelKind::Stnn).then_some(self.noise)
    }
}

/// A freshly initialized network: uniform weights in `+-1/sqrt(n_in)`, then, for NSMs, eq. 8 on
/// the first `batch_size` examples of `data`.
pub fn init_network(opts: &TrainOptions, data: &BinarizedSet) -> Result<Network> {
    opts.validate()?;
    if data.is_empty() {
        return Err(ModelError::TrainOption("the training set is empty".into()));
    }
    let mut rng = stream_rng(opts.seed, &[domain::INIT]);
    let mut widths = vec![data.dim];
    widths.extend(&opts.hidden);
    widths.push(N_CLASSES);
    check_weight_total(&widths)?;
    check_batch_values(opts.batch_size.min(data.len()), &widths)?;
    widths.pop();
    let per_neuron = opts.model != ModelKind::Stnn;
    let mut uniform = |n_in: usize, n: usize| -> Vec<f32> {
        let r = 1.0 / (n_in as f64).sqrt();
        (0..n).map(|_| rng.gen_range(-r..r) as f32).collect()
    };
    let hidden = widths
        .windows(2)
        .map(|w| HiddenLayer {
            n_in: w[0],
            n_out: w[1],
            w: uniform(w[0], w[0] * w[1]),
            beta: if per_neuron {
                vec![1.0; w[1]]
            } else {
                Vec::new()
            },
            b: if per_neuron {
                vec![0.0; w[1]]
            } else {
                Vec::new()
            },
        })
        .collect();
    let last = *widths.last().expect("widths holds the input size");
    let output = OutputLayer {
        n_in: last,
        n_out: N_CLASSES,
        w: uniform(last, last * N_CLASSES),
        b: vec![0.0; N_CLASSES],
    };
    let mut net = Network {
        schema: NET_SCHEMA.to_string(),
        model: opts.model,
        noise: opts.net_noise(),
        hidden,
        output,
        training: None,
    };
    if per_neuron {
        let batch = opts.batch_size.min(data.len());
        let input = &data.x[..batch * data.dim];
        match opts.weight_bits {
            // Eq. 8 normalizes the drives of the network the forward pass runs: with
            // quantization-aware training, the one on the levels. Its beta and b are kept;
            // the latent weights stay as drawn.
            Some(bits) => {
                let mut on_levels = round_to_levels(&net, bits);
                data_dependent_init(&mut on_levels, input, batch, opts.seed);
                for (l, q) in net.hidden.iter_mut().zip(on_levels.hidden) {
                    l.beta = q.beta;
                    l.b = q.b;
                }
            }
            None => data_dependent_init(&mut net, input, batch, opts.seed),
        }
    }
    net.validate()?;
    Ok(net)
}

/// Eq. 8 (after Salimans & Kingma): layer by layer, on one batch, set
/// `beta_i = 1 / sigma_i` and `b_i = -mu_i ||w_i|| sqrt(2 Var xi) / sigma_i`, where `mu_i`,
/// `sigma_i` are the batch mean and standard deviation of `w_i . z / ||w_i||`, so that the
/// drives `x_i` have zero mean and unit variance over the batch. The batch is then propagated
/// (sampled) to initialize the next layer.
pub fn data_dependent_init(net: &mut Network, input: &[f32], batch: usize, seed: u64) {
    let drive_scale = net.noise.map_or(1.0, |n| n.drive_scale());
    let mut z = input.to_vec();
    for k in 0..net.hidden.len() {
        {
            let prep = Prepared::new(net);
            let l = &net.hidden[k];
            let mut s = vec![0f32; batch * l.n_out];
            matmul_a_bt(batch, l.n_in, l.n_out, &z, &l.w, &mut s);
            let mut beta = vec![0f32; l.n_out];
            let mut b = vec![0f32; l.n_out];
            for i in 0..l.n_out {
                let norm = prep.hidden[k].norm[i];
                let t: Vec<f64> = (0..batch)
                    .map(|n| f64::from(s[n * l.n_out + i]) / norm)
                    .collect();
                let mu = t.iter().sum::<f64>() / batch as f64;
                let var = t.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / batch as f64;
                // A neuron whose drive does not vary over the batch keeps beta = 1.
                let sigma = if var > 1e-12 { var.sqrt() } else { 1.0 };
                beta[i] = (1.0 / sigma) as f32;
                b[i] = (-mu * norm * drive_scale / sigma) as f32;
            }
            let l = &mut net.hidden[k];
            l.beta = beta;
            l.b = b;
        }
        let prep = Prepared::new(net);
        let key = NoiseKey {
            seed,
            domain: domain::INIT,
            a: 1,
            b: 0,
        };
        z = prep
            .hidden_forward(k, &z, batch, Pass::Sample, key, false)
            .z;
    }
}

/// Parameters of a network as flat slices, in a fixed order (hidden layers' `w`, `beta`, `b`,
/// then the output `w`, `b`). Gradients and Adam moments use the same shape.
fn param_slices_mut(net: &mut Network) -> Vec<&mut [f32]> {
    let mut v: Vec<&mut [f32]> = Vec::new();
    for l in &mut net.hidden {
        v.push(&mut l.w);
        v.push(&mut l.beta);
        v.push(&mut l.b);
    }
    v.push(&mut net.output.w);
    v.push(&mut net.output.b);
    v
}

fn zeros_like(net: &Network) -> Network {
    let mut z = net.clone();
    for s in param_slices_mut(&mut z) {
        s.fill(0.0);
    }
    z
}

/// Softmax cross-entropy of a batch: mean loss, and `d loss / d logits` (already divided by
/// the batch size).
pub fn cross_entropy(logits: &[f32], labels: &[u8], n_classes: usize) -> (f64, Vec<f32>) {
    let batch = labels.len();
    let mut d = logits.to_vec();
    let mut loss = 0f64;
    for (row, &y) in d.chunks_exact_mut(n_classes).zip(labels) {
        softmax_in_place(row);
        loss -= f64::from(row[y as usize].max(1e-30)).ln();
        row[y as usize] -= 1.0;
        for v in row.iter_mut() {
            *v /= batch as f32;
        }
    }
    (loss / batch as f64, d)
}

/// Loss, errors and gradients of one batch. With [`Pass::Sample`] these are the straight-through
/// gradients used in training; with [`Pass::MeanField`] they are the exact gradients of the
/// mean-field network (states `2P - 1`), which the finite-difference test checks.
///
/// For an NSM layer with `g_i = dL/dz_i (2/sqrt(pi)) exp(-x_i^2)` (summed over the batch):
/// * `dL/db_i = g_i / (sqrt(2 Var xi) ||w_i||)`
/// * eq. 6: `dL/dbeta_i = sum_j w_ij dL/dv_ij / ||w_i||` with `dL/dv_ij = g_i z_j`
/// * eq. 7: `dL/dw_ij = beta_i/||w_i|| dL/dv_ij - beta_i/||w_i||^2 dL/dbeta_i w_ij`, plus
///   `- b_i/||w_i||^2 dL/db_i w_ij` because the bias enters `x_i` divided by `||w_i||`.
pub fn gradients(
    net: &Network,
    input: &[f32],
    labels: &[u8],
    pass: Pass,
    key: NoiseKey,
) -> BatchGradients {
    let batch = labels.len();
    let prep = Prepared::new(net);
    let mut traces: Vec<HiddenTrace> = Vec::with_capacity(net.hidden.len());
    for k in 0..net.hidden.len() {
        let z_in: &[f32] = if k == 0 { input } else { &traces[k - 1].z };
        let t = prep.hidden_forward(k, z_in, batch, pass, key, true);
        traces.push(t);
    }
    let last: &[f32] = traces.last().map_or(input, |t| &t.z);
    let logits = prep.output_logits(last, batch);
    let o = &net.output;
    let (loss, d_logits) = cross_entropy(&logits, labels, o.n_out);
    let errors = logits
        .chunks_exact(o.n_out)
        .zip(labels)
        .filter(|(row, &y)| argmax(row) != y as usize)
        .count();

    let mut grads = zeros_like(net);
    matmul_at_b(o.n_out, batch, o.n_in, &d_logits, last, &mut grads.output.w);
    for row in d_logits.chunks_exact(o.n_out) {
        for (g, &d) in grads.output.b.iter_mut().zip(row) {
            *g += d;
        }
    }
    let mut dz = vec![0f32; batch * o.n_in];
    matmul_a_b(batch, o.n_out, o.n_in, &d_logits, &o.w, &mut dz);

    let drive_scale = net.noise.map_or(1.0, |n| n.drive_scale());
    for k in (0..net.hidden.len()).rev() {
        let l = &net.hidden[k];
        let ph = &prep.hidden[k];
        let (n_in, n_out) = (l.n_in, l.n_out);
        let z_in: &[f32] = if k == 0 { input } else { &traces[k - 1].z };
        let tr = &traces[k];
        // g = dL/dz * d(expected state)/d(drive)
        let g: Vec<f32> = dz.iter().zip(&tr.deriv).map(|(a, b)| a * b).collect();
        let gl = &mut grads.hidden[k];
        // dL/dv = g^T z_in  (n_out x n_in)
        let mut dv = vec![0f32; n_out * n_in];
        matmul_at_b(n_out, batch, n_in, &g, z_in, &mut dv);
        let mut g_back = g.clone();
        match net.model {
            ModelKind::Stnn => {
                gl.w.copy_from_slice(&dv);
            }
            ModelKind::Nsm | ModelKind::Gnsm => {
                for i in 0..n_out {
                    let norm = ph.norm[i];
                    let beta = f64::from(l.beta[i]);
                    let bias = f64::from(l.b[i]);
                    let (mut sum_gs, mut sum_g) = (0f64, 0f64);
                    for n in 0..batch {
                        let gi = f64::from(g[n * n_out + i]);
                        sum_gs += gi * f64::from(tr.s[n * n_out + i]);
                        sum_g += gi;
                    }
                    let d_beta = sum_gs / norm;
                    let d_b = sum_g / (drive_scale * norm);
                    gl.beta[i] = d_beta as f32;
                    gl.b[i] = d_b as f32;
                    let c_v = beta / norm;
                    let c_w = (beta * d_beta + bias * d_b) / (norm * norm);
                    for j in 0..n_in {
                        let idx = i * n_in + j;
                        gl.w[idx] = (c_v * f64::from(dv[idx]) - c_w * f64::from(l.w[idx])) as f32;
                    }
                    // Effective weight v_ij = beta_i w_ij / ||w_i||: scale g instead of W.
                    for n in 0..batch {
                        g_back[n * n_out + i] *= c_v as f32;
                    }
                }
            }
        }
        if k > 0 {
            let mut dz_in = vec![0f32; batch * n_in];
            matmul_a_b(batch, n_out, n_in, &g_back, &l.w, &mut dz_in);
            dz = dz_in;
        }
    }
    BatchGradients {
        loss,
        errors,
        grads,
    }
}

/// Result of [`gradients`] on one batch.
#[derive(Debug, Clone)]
pub struct BatchGradients {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Misclassified examples of this forward pass.
    pub errors: usize,
    /// Gradients, in the shape of the network.
    pub grads: Network,
}

/// Adam (Kingma & Ba) with the usual constants.
#[derive(Debug, Clone)]
pub struct Adam {
    m: Network,
    v: Network,
    t: u64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Adam {
    pub fn new(net: &Network) -> Self {
        Self {
            m: zeros_like(net),
            v: zeros_like(net),
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// One step of size `lr` against `grads`.
    pub fn step(&mut self, net: &mut Network, grads: &mut Network, lr: f64) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        let (b1, b2, eps) = (self.beta1 as f32, self.beta2 as f32, self.eps);
        let ps = param_slices_mut(net);
        let gs = param_slices_mut(grads);
        let ms = param_slices_mut(&mut self.m);
        let vs = param_slices_mut(&mut self.v);
        for (((p, g), m), v) in ps.into_iter().zip(gs).zip(ms).zip(vs) {
            for j in 0..p.len() {
                m[j] = b1 * m[j] + (1.0 - b1) * g[j];
                v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
                let m_hat = f64::from(m[j]) / c1;
                let v_hat = f64::from(v[j]) / c2;
                p[j] -= (lr * m_hat / (v_hat.sqrt() + eps)) as f32;
            }
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, Serialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub mean_loss: f64,
    /// Error of the sampled training forward passes, in percent.
    pub train_error_pct: f64,
    pub learning_rate: f64,
    pub seconds: f64,
}

/// A training run in progress.
pub struct Trainer {
    pub net: Network,
    pub opts: TrainOptions,
    adam: Adam,
}

impl Trainer {
    /// Starts from `net` (usually [`init_network`]).
    pub fn new(net: Network, opts: TrainOptions) -> Result<Self> {
        opts.validate()?;
        net.validate()?;
        let adam = Adam::new(&net);
        Ok(Self { net, opts, adam })
    }

    /// The trained network as it is used: with [`TrainOptions::weight_bits`], its weights on
    /// the levels (which the quantizer maps to the integers training used), else as trained.
    pub fn network(&self) -> Network {
        match self.opts.weight_bits {
            Some(bits) => round_to_levels(&self.net, bits),
            None => self.net.clone(),
        }
    }

    /// Step size of epoch `epoch` (0-based).
    pub fn learning_rate(&self, epoch: usize) -> f64 {
        self.opts.learning_rate * self.opts.lr_decay.powi(epoch as i32)
    }

    /// One pass over `data` in a seeded random order. `on_batch(done, total)` is called after
    /// every minibatch. A trailing partial batch is used as is.
    pub fn train_epoch(
        &mut self,
        data: &BinarizedSet,
        epoch: usize,
        on_batch: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochReport> {
        if data.dim != self.net.n_inputs() {
            return Err(ModelError::InputSize {
                expected: self.net.n_inputs(),
                found: data.dim,
            });
        }
        if self.opts.input_noise > 0.0 && data.gray.len() != data.x.len() {
            return Err(ModelError::TrainOption(
                "input noise needs the gray-level pixels of the data set".into(),
            ));
        }
        let start = std::time::Instant::now();
        let lr = self.learning_rate(epoch);
        let mut order: Vec<usize> = (0..data.len()).collect();
        order.shuffle(&mut stream_rng(
            self.opts.seed,
            &[domain::SHUFFLE, epoch as u64],
        ));
        // A batch larger than the data set is the whole data set.
        let bs = self.opts.batch_size.min(data.len()).max(1);
        check_batch_values(bs, &self.net.widths())?;
        let n_batches = order.len().div_ceil(bs);
        let (mut loss_sum, mut errors) = (0f64, 0usize);
        let mut x = Vec::with_capacity(bs * data.dim);
        let mut y = Vec::with_capacity(bs);
        for (bi, idx) in order.chunks(bs).enumerate() {
            x.clear();
            y.clear();
            if self.opts.input_noise > 0.0 {
                let mut rng = stream_rng(
                    self.opts.seed,
                    &[domain::INPUT_NOISE, epoch as u64, bi as u64],
                );
                let sd = self.opts.input_noise * 255.0;
                let threshold = f64::from(BINARIZE_THRESHOLD);
                for &i in idx {
                    for &g in &data.gray[i * data.dim..(i + 1) * data.dim] {
                        let eps: f64 = rng.sample(StandardNormal);
                        x.push(if f64::from(g) + sd * eps >= threshold {
                            1.0
                        } else {
                            -1.0
                        });
                    }
                }
            } else {
                for &i in idx {
                    x.extend_from_slice(data.row(i));
                }
            }
            y.extend(idx.iter().map(|&i| data.labels[i]));
            let key = NoiseKey {
                seed: self.opts.seed,
                domain: domain::TRAIN_NOISE,
                a: epoch as u64,
                b: bi as u64,
            };
            let mut r = match self.opts.weight_bits {
                Some(bits) => {
                    let on_levels = round_to_levels(&self.net, bits);
                    gradients(&on_levels, &x, &y, Pass::Sample, key)
                }
                None => gradients(&self.net, &x, &y, Pass::Sample, key),
            };
            loss_sum += r.loss * idx.len() as f64;
            errors += r.errors;
            self.adam.step(&mut self.net, &mut r.grads, lr);
            on_batch(bi + 1, n_batches);
        }
        Ok(EpochReport {
            epoch,
            mean_loss: loss_sum / data.len() as f64,
            train_error_pct: 100.0 * errors as f64 / data.len() as f64,
            learning_rate: lr,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize, dim: usize) -> BinarizedSet {
        BinarizedSet {
            x: (0..n * dim)
                .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
                .collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            dim,
            gray: Vec::new(),
        }
    }

    #[test]
    fn quantization_aware_training_writes_weights_the_quantizer_does_not_round_further() {
        use crate::engine::config::EngineConfig;
        use crate::engine::qnet::{quantize, weight_levels};
        let data = set(40, 12);
        for bits in [1u32, 2, 3, 4] {
            let opts = TrainOptions {
                weight_bits: Some(bits),
                epochs: 1,
                batch_size: 10,
                ..with_hidden(vec![6])
            };
            let net = init_network(&opts, &data).unwrap();
            let mut t = Trainer::new(net, opts).unwrap();
            t.train_epoch(&data, 0, &mut |_, _| {}).unwrap();
            let trained = t.network();
            // the latent float weights moved off the levels; the written ones are on them
            assert_ne!(trained.hidden[0].w, t.net.hidden[0].w);
            let cfg = EngineConfig {
                weight_bits: bits,
                ..EngineConfig::default_config()
            };
            let q = quantize(&trained, &cfg).unwrap();
            let row = trained.hidden[0].row(2);
            let (scale, levels) = weight_levels(row, bits);
            assert_eq!(levels, q.hidden[0].row(2));
            for (&w, &l) in row.iter().zip(&levels) {
                // on a level: w * scale is the integer itself, no rounding left to do
                assert!(
                    (f64::from(w) * scale - f64::from(l)).abs() < 1e-4,
                    "{w} {l}"
                );
            }
            let (scale, levels) = weight_levels(&trained.output.w, bits);
            assert_eq!(levels, q.output.w);
            for (&w, &l) in trained.output.w.iter().zip(&levels) {
                assert!(
                    (f64::from(w) * scale - f64::from(l)).abs() < 1e-4,
                    "{w} {l}"
                );
            }
            let all = || q.hidden[0].w.iter().chain(&q.output.w);
            if bits == 1 {
                assert!(all().all(|w| w.abs() == 1), "1 bit is +-1, no zero");
            } else {
                let wmax = (1i32 << (bits - 1)) - 1;
                assert!(all().all(|w| w.abs() <= wmax));
            }
            // the trainer's own forward pass used exactly these weights
            assert_eq!(round_to_levels(&trained, bits), trained);
        }
        for b in [0, 17] {
            let bad = TrainOptions {
                weight_bits: Some(b),
                ..with_hidden(vec![6])
            };
            let e = bad.validate().unwrap_err().to_string();
            assert!(
                e.contains(&format!("weight bits {b}")) && e.contains("1 to 16 bits"),
                "{e}"
            );
        }
    }

    /// `n` examples of `dim` pixels in a scrambled +-1 pattern (inputs vary across examples).
    fn scrambled_set(n: usize, dim: usize) -> BinarizedSet {
        BinarizedSet {
            x: (0..n * dim)
                .map(|i| {
                    if (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 63 == 1 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            dim,
            gray: Vec::new(),
        }
    }

    /// The drives `x_i` of layer 0's neuron `i` over the first `batch` examples, mean field.
    fn first_layer_drives(net: &Network, data: &BinarizedSet, batch: usize, i: usize) -> Vec<f64> {
        let l = &net.hidden[0];
        let row = l.row(i);
        let norm = row
            .iter()
            .map(|&w| f64::from(w).powi(2))
            .sum::<f64>()
            .sqrt();
        let ds = net.noise.unwrap().drive_scale();
        (0..batch)
            .map(|n| {
                let s: f64 = row
                    .iter()
                    .zip(data.row(n))
                    .map(|(&w, &z)| f64::from(w) * f64::from(z))
                    .sum();
                f64::from(l.beta[i]) * s / norm + f64::from(l.b[i]) / (ds * norm)
            })
            .collect()
    }

    #[test]
    fn quantization_aware_init_normalizes_the_drives_of_the_network_on_the_levels() {
        let data = scrambled_set(40, 64);
        for bits in [1u32, 2] {
            let opts = TrainOptions {
                weight_bits: Some(bits),
                batch_size: 20,
                ..with_hidden(vec![5])
            };
            let net = init_network(&opts, &data).unwrap();
            let on_levels = round_to_levels(&net, bits);
            for i in 0..5 {
                // eq. 8 on the init batch: zero mean, unit variance, for the weights the
                // forward pass runs
                let x = first_layer_drives(&on_levels, &data, 20, i);
                let mean = x.iter().sum::<f64>() / 20.0;
                let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 20.0;
                assert!(
                    mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
                    "{bits} bits, neuron {i}: {mean} {var}"
                );
            }
            // the latent weights are the float init's (same seed), only beta and b differ
            let float_opts = TrainOptions {
                batch_size: 20,
                ..with_hidden(vec![5])
            };
            let float = init_network(&float_opts, &data).unwrap();
            assert_eq!(net.hidden[0].w, float.hidden[0].w);
            assert_ne!(net.hidden[0].beta, float.hidden[0].beta);
        }
    }

    fn with_hidden(hidden: Vec<usize>) -> TrainOptions {
        TrainOptions {
            hidden,
            input_noise: 0.0,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn absurd_widths_are_refused_before_anything_is_allocated() {
        for h in [MAX_LAYER_WIDTH + 1, 1 << 62, usize::MAX] {
            let e = with_hidden(vec![8, h]).validate().unwrap_err().to_string();
            assert!(
                e.contains("hidden layer 1") && e.contains(&h.to_string()),
                "{e}"
            );
            assert!(e.contains(&MAX_LAYER_WIDTH.to_string()), "{e}");
        }
        with_hidden(vec![MAX_LAYER_WIDTH]).validate().unwrap();
        // Two wide layers: each width is allowed, their product is not.
        let e = with_hidden(vec![MAX_LAYER_WIDTH, MAX_LAYER_WIDTH])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("weights") && e.contains(&MAX_WEIGHTS.to_string()),
            "{e}"
        );
        // The input layer's weights count too, once the input size is known.
        let opts = with_hidden(vec![MAX_LAYER_WIDTH]);
        let e = init_network(&opts, &set(2, 300)).unwrap_err().to_string();
        assert!(e.contains("[300, 1048576, 10]"), "{e}");
    }

    #[test]
    fn the_weight_total_is_a_checked_sum_of_checked_products() {
        assert_eq!(weight_total(&[3, 4, 10]), Some(52));
        assert_eq!(weight_total(&[1 << 33, 1 << 33]), None);
        assert_eq!(weight_total(&[usize::MAX, 1, 1]), None);
    }

    #[test]
    fn a_batch_larger_than_the_data_is_the_whole_data() {
        let data = set(20, 6);
        let opts = TrainOptions {
            batch_size: usize::MAX,
            epochs: 1,
            ..with_hidden(vec![4])
        };
        let net = init_network(&opts, &data).unwrap();
        let mut t = Trainer::new(net, opts).unwrap();
        let mut calls = Vec::new();
        t.train_epoch(&data, 0, &mut |d, n| calls.push((d, n)))
            .unwrap();
        assert_eq!(calls, [(1, 1)]);
    }

    #[test]
    fn a_batch_of_too_many_values_is_refused() {
        let e = check_batch_values(1 << 20, &[784, 300, 10])
            .unwrap_err()
            .to_string();
        assert!(e.contains("1048576") && e.contains("batch"), "{e}");
        check_batch_values(100, &[784, 300, 300, 300, 10]).unwrap();
        assert!(check_batch_values(usize::MAX, &[1, 1]).is_err());
    }
}
