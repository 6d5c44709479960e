//! The quantized network (`nsm-qnet/1`) and the quantizer that makes it from a trained float
//! network.
//!
//! Self-normalization (NSM section 2.2) makes the firing probability of a neuron independent
//! of a positive scale on its row and bias, so each stochastic row gets its own scale that maps
//! its largest weight to the largest integer: the hardware needs no scale factors. `a_i` is a
//! fixed-point number; the deterministic output layer gets one scale for the whole layer (its
//! argmax is invariant to it).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::{weight_max, EngineConfig};
use crate::equations::{fixed_point_scale, Noise};
use crate::json::{read_document, Format, JsonError};
use crate::net::{ModelKind, Network};

/// Schema tag of quantized network files.
pub const QNET_SCHEMA: &str = "nsm-qnet/1";

/// The quantized network format, for [`crate::json::read_document`].
pub const QNET_FORMAT: Format = Format {
    what: "quantized network",
    schema: QNET_SCHEMA,
    schema_required: true,
};

/// One stochastic layer in integers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QLayer {
    pub n_in: usize,
    pub n_out: usize,
    /// Row-major `n_out x n_in` weights `W_ij`.
    pub w: Vec<i32>,
    /// `A_i = round(a_i 2^a_frac_bits)`.
    pub a: Vec<i32>,
    /// Biases `B_i` in the units of the row's integer weights.
    pub b: Vec<i32>,
}

impl QLayer {
    /// Row `i` of the weights.
    pub fn row(&self, i: usize) -> &[i32] {
        &self.w[i * self.n_in..(i + 1) * self.n_in]
    }
}

/// The deterministic output layer in integers: `logit_k = sum_j V_kj z_j + C_k`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QOutput {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<i32>,
    pub b: Vec<i32>,
}

/// What quantization had to clip (a clipped value changes the network; zero is the goal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantReport {
    pub a_saturated: usize,
    pub bias_saturated: usize,
    pub output_bias_saturated: usize,
}

/// A quantized network, tied to the number formats it was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QNet {
    pub schema: String,
    pub weight_bits: u32,
    pub a_bits: u32,
    pub a_frac_bits: u32,
    pub bias_bits: u32,
    /// The transmit probability `p` the `a_i` were computed for, as
    /// `threshold / 2^threshold_bits`.
    pub threshold_bits: u32,
    pub threshold: u32,
    pub hidden: Vec<QLayer>,
    pub output: QOutput,
    pub report: QuantReport,
}

/// Why a float network cannot be quantized, or a quantized one does not fit an engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    #[error("the engine runs blank-out NSMs; a {0} network has no stochastic synapses to map")]
    Model(ModelKind),
    #[error(
        "quantized network was made for {field} = {qnet}, the engine configuration has {config}"
    )]
    FormatMismatch {
        field: &'static str,
        qnet: u64,
        config: u64,
    },
    #[error("layer {layer}: {what} = {value} exceeds the engine's {limit_name} = {limit}")]
    TooBig {
        layer: usize,
        what: &'static str,
        value: usize,
        limit_name: &'static str,
        limit: usize,
    },
    #[error("the network needs {needed} {what} words, the engine's {limit_name} is {limit}")]
    MemoryTooSmall {
        what: &'static str,
        needed: usize,
        limit_name: &'static str,
        limit: usize,
    },
    #[error("{count} layers exceed the engine's max_layers = {limit}")]
    TooManyLayers { count: usize, limit: usize },
    #[error("invalid quantized network: {0}")]
    Invalid(String),
    #[error("unsupported quantized network schema {found:?} (this build reads {QNET_SCHEMA:?})")]
    Schema { found: String },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A quantized network file that is JSON of the right shape but does not fit the engine
    /// (or itself): names the file, then the cause.
    #[error("{origin}: {reason}")]
    File {
        origin: String,
        reason: Box<QuantError>,
    },
}

fn round_sat(x: f64, bits: u32, saturated: &mut usize) -> i32 {
    let max = ((1i64 << (bits - 1)) - 1) as f64;
    let min = -(1i64 << (bits - 1)) as f64;
    let r = x.round();
    if r > max {
        *saturated += 1;
        max as i32
    } else if r < min {
        *saturated += 1;
        min as i32
    } else {
        r as i32
    }
}

/// The engine's weight levels of one group of weights (a stochastic row, or the whole output
/// layer): `scale = (2^(wb-1) - 1) / max |w|` and `W = round(w scale)`, half away from zero.
/// An all-zero group has scale 1. This is the one rounding rule of the quantizer and of
/// quantization-aware training ([`round_to_levels`]).
pub fn weight_levels(w: &[f32], weight_bits: u32) -> (f64, Vec<i32>) {
    if weight_bits == 1 {
        return binary_levels(w);
    }
    let wmax = weight_max(weight_bits) as f64;
    let m = w.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let scale = if m > 0.0 { wmax / m } else { 1.0 };
    (
        scale,
        w.iter()
            .map(|&v| (f64::from(v) * scale).round() as i32)
            .collect(),
    )
}

/// The levels of 1-bit weights: `W = +1` for `w >= 0`, else `-1` (there is no zero level),
/// with `scale = 1 / mean |w|`: `W / scale` is the nearest group of the form `+-alpha` to `w` in
/// the least-squares sense (Rastegari et al., "XNOR-Net", ECCV 2016, eq. 2-4). A network
/// trained on these levels has `|w| = alpha` everywhere, so quantizing it again rounds nothing.
/// An all-zero group has scale 1.
fn binary_levels(w: &[f32]) -> (f64, Vec<i32>) {
    let mean = w.iter().map(|&v| f64::from(v).abs()).sum::<f64>() / w.len().max(1) as f64;
    let scale = if mean > 0.0 { 1.0 / mean } else { 1.0 };
    (
        scale,
        w.iter().map(|&v| if v >= 0.0 { 1 } else { -1 }).collect(),
    )
}

/// `net` with every weight moved onto the levels the quantizer gives it for `weight_bits`
/// (`W / scale`, [`weight_levels`]): the forward pass of quantization-aware training, and the
/// weights such a network is saved with, which the quantizer maps to the same integers.
pub fn round_to_levels(net: &Network, weight_bits: u32) -> Network {
    let snap = |w: &mut [f32]| {
        let (scale, levels) = weight_levels(w, weight_bits);
        for (v, q) in w.iter_mut().zip(levels) {
            *v = (f64::from(q) / scale) as f32;
        }
    };
    let mut out = net.clone();
    for l in &mut out.hidden {
        let n = l.n_in;
        for row in l.w.chunks_mut(n) {
            snap(row);
        }
    }
    snap(&mut out.output.w);
    out
}

/// Quantizes `net` for `cfg` (which must be valid).
///
/// For stochastic row `i`: `scale_i = (2^(wb-1) - 1) / max_j |w_ij|`, `W_ij = round(w_ij
/// scale_i)`, `B_i = round(b'_i scale_i)`, `A_i = round(a_i 2^F)` with
/// `a_i = beta_i sqrt(2 p (1 - p)) - p` for the engine's `p = threshold / 2^k`. The bias is
/// first carried to the engine's noise, `b'_i = b_i sqrt(2 p (1 - p)) / sqrt(2 Var xi_net)`, so
/// that the drive `x_i` (and so the firing probability) is the one the network was trained
/// with, even when the engine's `p` (or a gNSM's Gaussian noise) differs. Rounding is half away
/// from zero; `A` and `B` saturate at their formats and the report counts every clip.
pub fn quantize(net: &Network, cfg: &EngineConfig) -> Result<QNet, QuantError> {
    let noise = match (net.model, net.noise) {
        (ModelKind::Nsm | ModelKind::Gnsm, Some(n)) => n,
        (m, _) => return Err(QuantError::Model(m)),
    };
    let p = cfg.transmit_p();
    let engine_noise = Noise::BlankOut { transmit_p: p };
    // p = 0 or 1 (threshold 0, or never blanking) has no variance; the drive is then a
    // comparison of means and the bias is carried over unscaled.
    let bias_factor = if p > 0.0 && p < 1.0 {
        engine_noise.drive_scale() / noise.drive_scale()
    } else {
        1.0
    };
    let frac = fixed_point_scale(cfg.a_frac_bits);
    let mut report = QuantReport::default();
    let mut hidden = Vec::with_capacity(net.hidden.len());
    for l in &net.hidden {
        let mut w = Vec::with_capacity(l.w.len());
        let mut a = Vec::with_capacity(l.n_out);
        let mut b = Vec::with_capacity(l.n_out);
        for i in 0..l.n_out {
            let (scale, levels) = weight_levels(l.row(i), cfg.weight_bits);
            w.extend(levels);
            let a_real = engine_noise.a_from_beta(f64::from(l.beta[i]));
            a.push(round_sat(
                a_real * frac,
                cfg.a_bits,
                &mut report.a_saturated,
            ));
            b.push(round_sat(
                f64::from(l.b[i]) * bias_factor * scale,
                cfg.bias_bits,
                &mut report.bias_saturated,
            ));
        }
        hidden.push(QLayer {
            n_in: l.n_in,
            n_out: l.n_out,
            w,
            a,
            b,
        });
    }
    let o = &net.output;
    let (scale, levels) = weight_levels(&o.w, cfg.weight_bits);
    let output = QOutput {
        n_in: o.n_in,
        n_out: o.n_out,
        w: levels,
        b: o.b
            .iter()
            .map(|&v| {
                round_sat(
                    f64::from(v) * scale,
                    cfg.bias_bits,
                    &mut report.output_bias_saturated,
                )
            })
            .collect(),
    };
    let q = QNet {
        report,
        ..QNet::with_formats(cfg, hidden, output)
    };
    q.check_against(cfg)?;
    Ok(q)
}

/// How the engine's synapses differ from the ones `net` was trained with, as a sentence for a
/// warning; `None` when the engine runs blank-out synapses at the training's `p`.
///
/// [`quantize`] carries a network over to the engine's noise (the bias rescaled, `a_i` from
/// `beta_i`), which keeps every neuron's drive `x_i` and so its firing probability in the
/// large-fan-in limit, but not the noise the network learned with: a user who meant to run the
/// network as trained should hear that the engine's `p` is another one.
pub fn noise_mismatch(net: &Network, cfg: &EngineConfig) -> Option<String> {
    let (t, k) = (cfg.blank_out.threshold, cfg.blank_out.threshold_bits);
    let engine_p = cfg.transmit_p();
    let engine = format!(
        "the engine's synapses transmit with p = blank_out.threshold / 2^threshold_bits = \
         {t}/2^{k} = {engine_p}"
    );
    let carried = "the quantizer carries the network over to the engine's p, which keeps each \
                   neuron's drive but not the noise it was trained with";
    match net.noise? {
        Noise::BlankOut { transmit_p } if transmit_p == engine_p => None,
        Noise::BlankOut { transmit_p } => {
            let hint = dyadic(transmit_p, cfg.lfsr.width.min(16))
                .map(|(t, k)| {
                    format!(
                        "; blank_out {{\"threshold_bits\": {k}, \"threshold\": {t}}} runs it \
                         at its own p"
                    )
                })
                .unwrap_or_default();
            Some(format!(
                "the network was trained with transmit probability p = {transmit_p} \
                 (noise.transmit_p), {engine}; {carried}{hint}"
            ))
        }
        Noise::Gaussian { sigma } => Some(format!(
            "the network was trained with Gaussian synapses (sigma = {sigma}), {engine}; \
             {carried}"
        )),
    }
}

/// `p = t / 2^k` with the smallest `k <= max_k`, if `p` is such a fraction.
fn dyadic(p: f64, max_k: u32) -> Option<(u64, u32)> {
    (1..=max_k).find_map(|k| {
        let t = p * (1u64 << k) as f64;
        (t.fract() == 0.0 && t >= 1.0).then_some((t as u64, k))
    })
}

fn in_range(v: i32, bits: u32) -> bool {
    let v = i64::from(v);
    v >= -(1i64 << (bits - 1)) && v < (1i64 << (bits - 1))
}

/// One layer of a quantized network as the engine sees it: stochastic layers carry `a`, the
/// output layer does not.
#[derive(Debug, Clone, Copy)]
pub struct LayerView<'a> {
    pub n_in: usize,
    pub n_out: usize,
    /// Row-major `n_out x n_in`.
    pub w: &'a [i32],
    pub b: &'a [i32],
    pub a: Option<&'a [i32]>,
}

impl QNet {
    /// A quantized network with the number formats of `cfg` (nothing is checked; see
    /// [`QNet::check_against`]).
    pub fn with_formats(cfg: &EngineConfig, hidden: Vec<QLayer>, output: QOutput) -> QNet {
        QNet {
            schema: QNET_SCHEMA.to_string(),
            weight_bits: cfg.weight_bits,
            a_bits: cfg.a_bits,
            a_frac_bits: cfg.a_frac_bits,
            bias_bits: cfg.bias_bits,
            threshold_bits: cfg.blank_out.threshold_bits,
            threshold: cfg.blank_out.threshold,
            hidden,
            output,
            report: QuantReport::default(),
        }
    }

    /// Every layer in engine order: the stochastic layers, then the output layer.
    pub fn layers(&self) -> Vec<LayerView<'_>> {
        self.hidden
            .iter()
            .map(|l| LayerView {
                n_in: l.n_in,
                n_out: l.n_out,
                w: &l.w,
                b: &l.b,
                a: Some(&l.a),
            })
            .chain(std::iter::once(LayerView {
                n_in: self.output.n_in,
                n_out: self.output.n_out,
                w: &self.output.w,
                b: &self.output.b,
                a: None,
            }))
            .collect()
    }

    /// Layer widths from input to output.
    pub fn widths(&self) -> Vec<usize> {
        let mut v = vec![self.hidden.first().map_or(self.output.n_in, |l| l.n_in)];
        v.extend(self.hidden.iter().map(|l| l.n_out));
        v.push(self.output.n_out);
        v
    }

    /// Number of inputs.
    pub fn n_inputs(&self) -> usize {
        self.widths()[0]
    }

    /// Synapses per pass (all layers).
    pub fn synapses(&self) -> usize {
        self.widths().windows(2).map(|w| w[0] * w[1]).sum()
    }

    /// Structural checks, and that the network fits `cfg`'s formats and sizes.
    pub fn check_against(&self, cfg: &EngineConfig) -> Result<(), QuantError> {
        if self.schema != QNET_SCHEMA {
            return Err(QuantError::Schema {
                found: self.schema.clone(),
            });
        }
        for (field, q, c) in [
            ("weight_bits", self.weight_bits, cfg.weight_bits),
            ("a_bits", self.a_bits, cfg.a_bits),
            ("a_frac_bits", self.a_frac_bits, cfg.a_frac_bits),
            ("bias_bits", self.bias_bits, cfg.bias_bits),
            (
                "blank_out.threshold_bits",
                self.threshold_bits,
                cfg.blank_out.threshold_bits,
            ),
            (
                "blank_out.threshold",
                self.threshold,
                cfg.blank_out.threshold,
            ),
        ] {
            if q != c {
                return Err(QuantError::FormatMismatch {
                    field,
                    qnet: u64::from(q),
                    config: u64::from(c),
                });
            }
        }
        let layers = self.hidden.len() + 1;
        if layers > cfg.max_layers {
            return Err(QuantError::TooManyLayers {
                count: layers,
                limit: cfg.max_layers,
            });
        }
        let widths = self.widths();
        let weight_words: usize = widths
            .windows(2)
            .map(|w| w[1] * w[0].div_ceil(cfg.step_inputs()))
            .sum();
        let neuron_words: usize = widths[1..].iter().sum();
        if weight_words > cfg.weight_memory_words {
            return Err(QuantError::MemoryTooSmall {
                what: "weight memory",
                needed: weight_words,
                limit_name: "weight_memory_words",
                limit: cfg.weight_memory_words,
            });
        }
        if neuron_words > cfg.neuron_memory_words {
            return Err(QuantError::MemoryTooSmall {
                what: "neuron memory",
                needed: neuron_words,
                limit_name: "neuron_memory_words",
                limit: cfg.neuron_memory_words,
            });
        }
        let wmax = weight_max(cfg.weight_bits) as i32;
        let mut prev = None;
        for (
            k,
            LayerView {
                n_in,
                n_out,
                w,
                b,
                a,
            },
        ) in self.layers().into_iter().enumerate()
        {
            if n_in == 0 || n_out == 0 {
                return Err(QuantError::Invalid(format!("layer {k} has a zero size")));
            }
            if let Some(p) = prev {
                if p != n_in {
                    return Err(QuantError::Invalid(format!(
                        "layer {k} has {n_in} inputs but the layer before has {p} outputs"
                    )));
                }
            }
            prev = Some(n_out);
            if n_in > cfg.max_fan_in {
                return Err(QuantError::TooBig {
                    layer: k,
                    what: "fan-in",
                    value: n_in,
                    limit_name: "max_fan_in",
                    limit: cfg.max_fan_in,
                });
            }
            if n_out > cfg.max_neurons {
                return Err(QuantError::TooBig {
                    layer: k,
                    what: "width",
                    value: n_out,
                    limit_name: "max_neurons",
                    limit: cfg.max_neurons,
                });
            }
            if n_in.checked_mul(n_out) != Some(w.len())
                || b.len() != n_out
                || a.is_some_and(|a| a.len() != n_out)
            {
                return Err(QuantError::Invalid(format!(
                    "layer {k}: array lengths do not match {n_out} x {n_in}"
                )));
            }
            if let Some(v) = w.iter().find(|&&v| v.abs() > wmax) {
                return Err(QuantError::Invalid(format!(
                    "layer {k}: weight {v} outside +-{wmax} ({}-bit weights)",
                    cfg.weight_bits
                )));
            }
            if cfg.weight_bits == 1 && w.contains(&0) {
                return Err(QuantError::Invalid(format!(
                    "layer {k}: weight 0 on an engine with 1-bit weights (their levels are -1 and +1)"
                )));
            }
            if let Some(v) = b.iter().find(|&&v| !in_range(v, cfg.bias_bits)) {
                return Err(QuantError::Invalid(format!(
                    "layer {k}: bias {v} does not fit {} bits",
                    cfg.bias_bits
                )));
            }
            if let Some(v) = a.and_then(|a| a.iter().find(|&&v| !in_range(v, cfg.a_bits))) {
                return Err(QuantError::Invalid(format!(
                    "layer {k}: a = {v} does not fit {} bits",
                    cfg.a_bits
                )));
            }
        }
        Ok(())
    }

    /// Reads a quantized network file and checks it against `cfg`.
    pub fn load(path: &Path, cfg: &EngineConfig) -> Result<QNet, QuantError> {
        let origin = path.display().to_string();
        let text = crate::fsutil::read_text(path).map_err(|e| QuantError::Read {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        Self::from_json(&text, &origin, cfg)
    }

    /// Parses a quantized network (`origin` names it in errors) and checks it against `cfg`.
    pub fn from_json(text: &str, origin: &str, cfg: &EngineConfig) -> Result<QNet, QuantError> {
        let q: QNet = read_document(text, origin, &QNET_FORMAT)?;
        q.check_against(cfg).map_err(|reason| QuantError::File {
            origin: origin.to_string(),
            reason: Box::new(reason),
        })?;
        Ok(q)
    }

    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a quantized network always serializes")
    }
}
