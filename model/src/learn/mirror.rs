//! The fixed-point training mirror: one training step per image.
//!
//! 1. **Forward** (the array): one sampled pass of the bit-exact engine model
//!    ([`crate::engine::fast`], held equal to the RTL engine by the equivalence suites) on a
//!    copy of the engine configuration with `mc_samples = 1`; the PE LFSRs run on from one
//!    image to the next exactly as in inference. The pass's hidden states and integer logits
//!    are recorded.
//! 2. **Output error** (host): `p = softmax(L 2^-logit_shift)`, `E_k = round((p_k - [k = y])
//!    2^err_frac_bits)`, saturated to `err_bits`.
//! 3. **Backpropagation** (host, integer multiply-accumulate through the transposed stored
//!    weights, before they are updated): to the last hidden layer
//!    `E_j = rshr(sum_k E_k V_kj, logit_shift)`, further down `E_j = sum_i dback_i W_ij`.
//! 4. **Update** (the unit): every row of the output layer (linear mode), then every row of each
//!    stochastic layer from the last to the first (stochastic mode), through a [`RowEngine`].
//!
//! The host keeps the softmax (an exponential per class per image) and the transposed products
//! (the engine's weight memory is read row-wise, one word of `cols` weights per neuron and
//! step; a transposed read would need a second port or a second copy of the weights).

use serde::Serialize;

use super::formats::{rshr, sat_signed, UpdateSpec};
use super::update::{update_row, RowMode, RowRequest, RowResult};
use crate::engine::config::EngineConfig;
use crate::engine::fast::FastModel;
use crate::engine::qnet::QNet;
use crate::engine::schedule::pe_seeds;
use crate::engine::{BitExact, BitExactError};
use crate::forward::BinarizedSet;
use crate::lfsr::LfsrSpec;
use crate::seeds::stream_rng;

/// A layer's stored (guarded) parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<i32>,
    /// Stored `a_i` (empty for the output layer).
    pub a: Vec<i64>,
    pub b: Vec<i64>,
}

impl StoredLayer {
    pub fn row(&self, i: usize) -> &[i32] {
        &self.w[i * self.n_in..(i + 1) * self.n_in]
    }
}

/// Who computes the unit's outputs.
pub trait RowEngine {
    /// Updates `reqs` in order (one row after the other through the unit).
    fn update_rows(
        &mut self,
        spec: &UpdateSpec,
        reqs: &[RowRequest],
    ) -> Result<Vec<RowResult>, String>;
}

/// The golden engine: [`update_row`].
pub struct Golden;

impl RowEngine for Golden {
    fn update_rows(
        &mut self,
        spec: &UpdateSpec,
        reqs: &[RowRequest],
    ) -> Result<Vec<RowResult>, String> {
        Ok(reqs.iter().map(|r| update_row(spec, r)).collect())
    }
}

/// Outputs of `got` that differ from `want`: every weight, `a`, `b`, `P`, `D`, `delta`,
/// `dback` and the flags count one each.
pub fn count_mismatches(want: &RowResult, got: &RowResult) -> u64 {
    let mut n = want.w.iter().zip(&got.w).filter(|(a, b)| a != b).count() as u64;
    n += want.w.len().abs_diff(got.w.len()) as u64;
    for (a, b) in [
        (want.a, got.a),
        (want.b, got.b),
        (want.p, got.p),
        (want.d, got.d),
        (want.delta, got.delta),
        (want.dback, got.dback),
        (i64::from(want.flags), i64::from(got.flags)),
    ] {
        n += u64::from(a != b);
    }
    n
}

/// What one training step did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepReport {
    /// Cross-entropy of the step's forward pass (host softmax).
    pub loss: f64,
    pub correct: bool,
    pub rows: usize,
    pub mismatches: u64,
    pub weight_clips: u64,
    /// OR of the rows' saturation flags.
    pub flags: u32,
}

/// Anything that stops the mirror.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(transparent)]
    Learn(#[from] super::LearnError),
    #[error(transparent)]
    BitExact(#[from] BitExactError),
    #[error("update engine failed: {0}")]
    Engine(String),
    #[error("the network's output layer reads {found} inputs, the data has {expected}")]
    Shape { expected: usize, found: usize },
}

/// The network being trained, with its training state.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub cfg: EngineConfig,
    train_cfg: EngineConfig,
    lspec: LfsrSpec,
    pub spec: UpdateSpec,
    template: QNet,
    pub hidden: Vec<StoredLayer>,
    pub output: StoredLayer,
    /// PE LFSR states of the training forward passes.
    states: Vec<u32>,
    /// Update engine outputs compared with the golden model so far.
    pub mismatches: u64,
    pub steps: u64,
}

impl Mirror {
    /// Starts from `qnet` on `cfg` with the learning formats of `spec`.
    pub fn new(cfg: &EngineConfig, qnet: &QNet, spec: &UpdateSpec) -> Result<Self, MirrorError> {
        // validates both
        BitExact::new(cfg, qnet)?;
        let mut train_cfg = cfg.clone();
        train_cfg.mc_samples = 1;
        let lspec = cfg.lfsr_spec().map_err(BitExactError::from)?;
        let states = pe_seeds(&lspec, cfg.pes());
        let g = |v: i32| spec.guard(i64::from(v));
        let hidden = qnet
            .hidden
            .iter()
            .map(|l| StoredLayer {
                n_in: l.n_in,
                n_out: l.n_out,
                w: l.w.iter().map(|&v| g(v) as i32).collect(),
                a: l.a.iter().map(|&v| g(v)).collect(),
                b: l.b.iter().map(|&v| g(v)).collect(),
            })
            .collect();
        let o = &qnet.output;
        let output = StoredLayer {
            n_in: o.n_in,
            n_out: o.n_out,
            w: o.w.iter().map(|&v| g(v) as i32).collect(),
            a: Vec::new(),
            b: o.b.iter().map(|&v| g(v)).collect(),
        };
        Ok(Self {
            cfg: cfg.clone(),
            train_cfg,
            lspec,
            spec: spec.clone(),
            template: qnet.clone(),
            hidden,
            output,
            states,
            mismatches: 0,
            steps: 0,
        })
    }

    /// The engine's network now (stored values shifted right by the guard bits).
    pub fn qnet(&self) -> QNet {
        let mut q = self.template.clone();
        let u = |v: i64| self.spec.unguard(v) as i32;
        for (ql, sl) in q.hidden.iter_mut().zip(&self.hidden) {
            ql.w = sl.w.iter().map(|&v| u(i64::from(v))).collect();
            ql.a = sl.a.iter().map(|&v| u(v)).collect();
            ql.b = sl.b.iter().map(|&v| u(v)).collect();
        }
        q.output.w = self.output.w.iter().map(|&v| u(i64::from(v))).collect();
        q.output.b = self.output.b.iter().map(|&v| u(v)).collect();
        q
    }

    /// Replaces the output layer by small random integer weights (uniform in `+-range`) and
    /// zero biases: the "learns from scratch" starting point.
    pub fn randomize_output(&mut self, seed: u64, range: i32) {
        use rand::Rng;
        let mut rng = stream_rng(seed, &[crate::seeds::domain::ONCHIP, 1]);
        for v in self.output.w.iter_mut() {
            *v = self.spec.guard(i64::from(rng.gen_range(-range..=range))) as i32;
        }
        self.output.b.fill(0);
        self.template.output.w.fill(0);
    }

    /// Test error (percent) of the current network on `data`, `mc_samples` passes per image,
    /// the LFSRs from reset.
    pub fn test_error(&self, data: &BinarizedSet) -> Result<f64, MirrorError> {
        Ok(BitExact::new(&self.cfg, &self.qnet())?
            .evaluate(data)?
            .test_error_pct)
    }

    /// One training step on image `x` (`+1`/`-1`) with label `y`, rows computed by `engine`;
    /// with `check`, every row is also computed by the golden model and differences counted.
    pub fn step(
        &mut self,
        x: &[i8],
        y: usize,
        engine: &mut dyn RowEngine,
        check: bool,
    ) -> Result<StepReport, MirrorError> {
        let spec = &self.spec;
        let l = &spec.learn;
        let qnet = self.qnet();
        let fm = FastModel::new(&self.train_cfg, &self.lspec, &qnet);
        let mut trace = Vec::new();
        let inf = fm.infer_trace(x, &mut self.states, &mut trace);
        let mut rep = StepReport {
            correct: inf.class == y,
            ..Default::default()
        };
        // host: softmax cross-entropy of the pass's logits
        let scale = 1.0 / (1u64 << l.logit_shift) as f64;
        let lg: Vec<f64> = inf.logit_sums.iter().map(|&v| v as f64 * scale).collect();
        let mx = lg.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let ex: Vec<f64> = lg.iter().map(|&v| libm::exp(v - mx)).collect();
        let sum: f64 = ex.iter().sum();
        rep.loss = -(ex[y] / sum).max(1e-300).ln();
        let one = (1u64 << l.err_frac_bits) as f64;
        let mut sat = 0u32;
        let e_out: Vec<i64> = ex
            .iter()
            .enumerate()
            .map(|(k, &e)| {
                let t = if k == y { 1.0 } else { 0.0 };
                sat_signed(((e / sum - t) * one).round() as i64, l.err_bits, &mut sat)
            })
            .collect();
        let top: Vec<i8> = trace.last().cloned().unwrap_or_else(|| x.to_vec());
        if top.len() != self.output.n_in {
            return Err(MirrorError::Shape {
                expected: top.len(),
                found: self.output.n_in,
            });
        }
        // host: backprop through the transposed output weights (old values)
        let o = &self.output;
        let mut err: Vec<i64> = (0..o.n_in)
            .map(|j| {
                let acc: i64 = (0..o.n_out)
                    .map(|k| e_out[k] * spec.unguard(i64::from(o.w[k * o.n_in + j])))
                    .sum();
                sat_signed(rshr(acc, l.logit_shift), l.err_bits, &mut sat)
            })
            .collect();
        let reqs: Vec<RowRequest> = (0..o.n_out)
            .map(|k| RowRequest {
                mode: RowMode::Linear,
                w: o.row(k).to_vec(),
                z: top.clone(),
                err: e_out[k],
                a: 0,
                b: o.b[k],
            })
            .collect();
        let res = self.run_rows(engine, &reqs, check, &mut rep)?;
        for (k, r) in res.into_iter().enumerate() {
            let n = self.output.n_in;
            self.output.w[k * n..(k + 1) * n].copy_from_slice(&r.w);
            self.output.b[k] = r.b;
        }
        for li in (0..self.hidden.len()).rev() {
            let zin: Vec<i8> = if li == 0 {
                x.to_vec()
            } else {
                trace[li - 1].clone()
            };
            let layer = &self.hidden[li];
            let reqs: Vec<RowRequest> = (0..layer.n_out)
                .map(|i| RowRequest {
                    mode: RowMode::Stochastic,
                    w: layer.row(i).to_vec(),
                    z: zin.clone(),
                    err: err[i],
                    a: layer.a[i],
                    b: layer.b[i],
                })
                .collect();
            let res = self.run_rows(engine, &reqs, check, &mut rep)?;
            let layer = &mut self.hidden[li];
            if li > 0 {
                // host: backprop with the old weights
                let n_in = layer.n_in;
                let mut acc = vec![0i64; n_in];
                for (i, r) in res.iter().enumerate() {
                    for (a, &m) in acc.iter_mut().zip(&layer.w[i * n_in..(i + 1) * n_in]) {
                        *a += r.dback * spec.unguard(i64::from(m));
                    }
                }
                err = acc
                    .into_iter()
                    .map(|v| sat_signed(v, l.err_bits, &mut sat))
                    .collect();
            }
            let n = layer.n_in;
            for (i, r) in res.into_iter().enumerate() {
                layer.w[i * n..(i + 1) * n].copy_from_slice(&r.w);
                layer.a[i] = r.a;
                layer.b[i] = r.b;
            }
        }
        if sat > 0 {
            rep.flags |= super::update::flags::DBACK;
        }
        self.mismatches += rep.mismatches;
        self.steps += 1;
        Ok(rep)
    }

    fn run_rows(
        &self,
        engine: &mut dyn RowEngine,
        reqs: &[RowRequest],
        check: bool,
        rep: &mut StepReport,
    ) -> Result<Vec<RowResult>, MirrorError> {
        let got = engine
            .update_rows(&self.spec, reqs)
            .map_err(MirrorError::Engine)?;
        if got.len() != reqs.len() {
            return Err(MirrorError::Engine(format!(
                "{} rows in, {} results out",
                reqs.len(),
                got.len()
            )));
        }
        for (req, r) in reqs.iter().zip(&got) {
            if check {
                rep.mismatches += count_mismatches(&update_row(&self.spec, req), r);
            }
            rep.weight_clips += u64::from(r.weight_clips);
            rep.flags |= r.flags;
        }
        rep.rows += reqs.len();
        Ok(got)
    }
}

/// A point of a learning curve.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    pub step: u64,
    pub test_error_pct: f64,
    /// Mean training loss since the previous point.
    pub mean_loss: f64,
}

/// How long and how a training run goes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrainPlan {
    /// Training steps (one image each).
    pub steps: u64,
    /// Test error measured every this many steps (and at the end).
    pub eval_every: u64,
    /// Seed of the image order.
    pub seed: u64,
    /// Compare every row with the golden model.
    pub check: bool,
}

/// `plan.steps` training steps over `data` in a seeded shuffled order (epochs repeat the set
/// in a new order), the test error measured on `test` before, every `plan.eval_every` steps
/// and at the end.
pub fn train(
    mirror: &mut Mirror,
    data: &BinarizedSet,
    test: &BinarizedSet,
    plan: TrainPlan,
    engine: &mut dyn RowEngine,
    on_step: &mut dyn FnMut(u64, &StepReport),
) -> Result<Vec<CurvePoint>, MirrorError> {
    use rand::seq::SliceRandom;
    let mut curve = vec![CurvePoint {
        step: 0,
        test_error_pct: mirror.test_error(test)?,
        mean_loss: f64::NAN,
    }];
    let n = data.len() as u64;
    let mut order: Vec<usize> = Vec::new();
    let TrainPlan {
        steps,
        eval_every,
        seed,
        check,
    } = plan;
    let (mut loss, mut count) = (0f64, 0u64);
    let mut x = vec![0i8; data.dim];
    for s in 0..steps {
        if s % n == 0 {
            order = (0..data.len()).collect();
            order.shuffle(&mut stream_rng(
                seed,
                &[crate::seeds::domain::ONCHIP, 2, s / n],
            ));
        }
        let i = order[(s % n) as usize];
        for (v, &p) in x.iter_mut().zip(data.row(i)) {
            *v = if p > 0.0 { 1 } else { -1 };
        }
        let r = mirror.step(&x, data.labels[i] as usize, engine, check)?;
        loss += r.loss;
        count += 1;
        on_step(s + 1, &r);
        if (s + 1) % eval_every.max(1) == 0 || s + 1 == steps {
            curve.push(CurvePoint {
                step: s + 1,
                test_error_pct: mirror.test_error(test)?,
                mean_loss: loss / count as f64,
            });
            loss = 0.0;
            count = 0;
        }
    }
    Ok(curve)
}
