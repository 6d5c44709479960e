//! The network file: a trained NSM, gNSM or StNN as versioned JSON.
//!
//! Schema `nsm-net/1` (see `docs/network-format.md`): an object with
//! * `schema`: the string `"nsm-net/1"`;
//! * `model`: `"nsm"` (blank-out synapses), `"gnsm"` (Gaussian synapses) or `"stnn"`
//!   (stochastic sigmoid baseline);
//! * `noise`: `{"kind": "blank_out", "transmit_p": p}` for `nsm` (`p` the probability that a
//!   synapse transmits; the older key `blank_out_p` is read as the same `p`),
//!   `{"kind": "gaussian", "sigma": s}` for `gnsm`, absent or `null` for `stnn`;
//! * `hidden`: the stochastic layers in order, each `{n_in, n_out, w, beta, b}` with `w` the
//!   row-major `n_out x n_in` weights (one row per neuron), `beta` the per-neuron magnitudes and
//!   `b` the biases in the units of `u` (eq. 5); for `stnn`, `beta` and `b` are empty;
//! * `output`: the deterministic softmax layer `{n_in, n_out, w, b}`;
//! * `training`: optional record of how the network was made (free-form object).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::equations::{row_norm, Noise};
use crate::error::{ModelError, Result};
use crate::json::{read_document, Format};

/// The schema tag this build reads and writes.
pub const NET_SCHEMA: &str = "nsm-net/1";

/// The network format, for [`crate::json::read_document`].
pub const NET_FORMAT: Format = Format {
    what: "network",
    schema: NET_SCHEMA,
    schema_required: true,
};

/// Which stochastic neuron the hidden layers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Neural Sampling Machine with blank-out (Bernoulli) synapses.
    Nsm,
    /// NSM with multiplicative Gaussian synapses `xi ~ N(1, sigma^2)`.
    Gnsm,
    /// Stochastic sigmoid network: `P(z = 1) = sigmoid(w . z)`, no bias (NSM Table 1 baseline).
    Stnn,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Nsm => "nsm",
            ModelKind::Gnsm => "gnsm",
            ModelKind::Stnn => "stnn",
        })
    }
}

/// One stochastic layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenLayer {
    pub n_in: usize,
    pub n_out: usize,
    /// Row-major `n_out x n_in`.
    pub w: Vec<f32>,
    /// Per-neuron magnitude `beta_i` (empty for StNN).
    #[serde(default)]
    pub beta: Vec<f32>,
    /// Per-neuron bias `b_i`, in units of `u` (empty for StNN).
    #[serde(default)]
    pub b: Vec<f32>,
}

impl HiddenLayer {
    /// Row `i` of the weights.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.w[i * self.n_in..(i + 1) * self.n_in]
    }
}

/// The deterministic softmax output layer: `logits = W z + b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputLayer {
    pub n_in: usize,
    pub n_out: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// A whole network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub schema: String,
    pub model: ModelKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<Noise>,
    pub hidden: Vec<HiddenLayer>,
    pub output: OutputLayer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

fn check_finite(what: &str, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(ModelError::InvalidNetwork(format!(
            "{what}[{i}] is not a finite number"
        ))),
        None => Ok(()),
    }
}

/// The weight count `n_out x n_in` of a layer named `name`, refused when the product does not
/// fit in `usize` (a file may hold any two sizes; only their product is bounded, by the weight
/// array's length, which is checked next and before anything is sized from them).
fn weight_count(name: &str, n_in: usize, n_out: usize) -> Result<usize> {
    n_in.checked_mul(n_out).ok_or_else(|| {
        ModelError::InvalidNetwork(format!(
            "{name} has n_in = {n_in} and n_out = {n_out}: n_in x n_out overflows \
             (at most {} weights)",
            usize::MAX
        ))
    })
}

fn check_len(what: &str, v: &[f32], expected: usize) -> Result<()> {
    if v.len() == expected {
        Ok(())
    } else {
        Err(ModelError::InvalidNetwork(format!(
            "{what} has {} values, expected {expected}",
            v.len()
        )))
    }
}

impl Network {
    /// Number of inputs of the first layer.
    pub fn n_inputs(&self) -> usize {
        self.hidden.first().map_or(self.output.n_in, |l| l.n_in)
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.output.n_out
    }

    /// Layer widths from input to output, e.g. `[784, 300, 300, 300, 10]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut v = vec![self.n_inputs()];
        v.extend(self.hidden.iter().map(|l| l.n_out));
        v.push(self.output.n_out);
        v
    }

    /// Checks the schema tag, the model/noise pairing, every size and every value.
    pub fn validate(&self) -> Result<()> {
        if self.schema != NET_SCHEMA {
            return Err(ModelError::NetSchema {
                found: self.schema.clone(),
                expected: NET_SCHEMA.to_string(),
            });
        }
        match (self.model, self.noise) {
            (ModelKind::Nsm, Some(n @ Noise::BlankOut { .. }))
            | (ModelKind::Gnsm, Some(n @ Noise::Gaussian { .. })) => n.validate()?,
            (ModelKind::Stnn, None) => {}
            (m, n) => {
                let n = n.map_or("none", |n| n.kind());
                return Err(ModelError::InvalidNetwork(format!(
                    "model {m} does not go with noise {n} (nsm takes blank_out, gnsm gaussian, \
                     stnn none)"
                )));
            }
        }
        let mut n_prev = None;
        for (k, l) in self.hidden.iter().enumerate() {
            let name = format!("hidden layer {k}");
            if l.n_in == 0 {
                return Err(ModelError::ZeroSizeLayer {
                    what: format!("{name} n_in"),
                });
            }
            if l.n_out == 0 {
                return Err(ModelError::ZeroSizeLayer {
                    what: format!("{name} n_out"),
                });
            }
            if let Some(p) = n_prev {
                if p != l.n_in {
                    return Err(ModelError::InvalidNetwork(format!(
                        "{name} has n_in = {} but the previous layer has {p} outputs",
                        l.n_in
                    )));
                }
            }
            n_prev = Some(l.n_out);
            check_len(
                &format!("{name} w"),
                &l.w,
                weight_count(&name, l.n_in, l.n_out)?,
            )?;
            check_finite(&format!("{name} w"), &l.w)?;
            let per_neuron = if self.model == ModelKind::Stnn {
                0
            } else {
                l.n_out
            };
            check_len(&format!("{name} beta"), &l.beta, per_neuron)?;
            check_len(&format!("{name} b"), &l.b, per_neuron)?;
            check_finite(&format!("{name} beta"), &l.beta)?;
            check_finite(&format!("{name} b"), &l.b)?;
            if self.model != ModelKind::Stnn {
                if let Some(i) = (0..l.n_out).find(|&i| row_norm(l.row(i)) == 0.0) {
                    return Err(ModelError::InvalidNetwork(format!(
                        "{name} row {i} is all zero: an NSM row needs a non-zero norm"
                    )));
                }
            }
        }
        let o = &self.output;
        if o.n_in == 0 {
            return Err(ModelError::ZeroSizeLayer {
                what: "output layer n_in".into(),
            });
        }
        if o.n_out == 0 {
            return Err(ModelError::ZeroSizeLayer {
                what: "output layer n_out".into(),
            });
        }
        if let Some(p) = n_prev {
            if p != o.n_in {
                return Err(ModelError::InvalidNetwork(format!(
                    "output layer has n_in = {} but the last hidden layer has {p} outputs",
                    o.n_in
                )));
            }
        }
        check_len(
            "output w",
            &o.w,
            weight_count("output layer", o.n_in, o.n_out)?,
        )?;
        check_len("output b", &o.b, o.n_out)?;
        check_finite("output w", &o.w)?;
        check_finite("output b", &o.b)?;
        Ok(())
    }

    /// Parses and validates a network from JSON text (`path` names it in errors).
    pub fn from_json(text: &str, path: &Path) -> Result<Network> {
        let net: Network = read_document(text, &path.display().to_string(), &NET_FORMAT)?;
        net.validate().map_err(|reason| ModelError::NetFile {
            path: path.to_path_buf(),
            reason: Box::new(reason),
        })?;
        Ok(net)
    }

    /// Reads and validates a network file.
    pub fn load(path: &Path) -> Result<Network> {
        let text = crate::fsutil::read_text(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// JSON text of the network.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a network always serializes")
    }

    /// Validates, then writes the network atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate()?;
        crate::fsutil::atomic_write(path, self.to_json().as_bytes())
    }

    /// The "NSM scaled" network of NSM Table 1: every stochastic row multiplied by `factor`
    /// together with its bias (eq. 5 is linear in the row and its bias, so for `factor > 0` the
    /// firing probabilities, and with the same noise draws the sampled states, are unchanged
    /// for NSMs; for the StNN the weights alone are scaled, which changes its probabilities).
    /// The deterministic output layer is not touched.
    pub fn scaled(&self, factor: f32) -> Network {
        let mut n = self.clone();
        for l in &mut n.hidden {
            l.w.iter_mut().for_each(|w| *w *= factor);
            l.b.iter_mut().for_each(|b| *b *= factor);
        }
        n
    }

    /// [`Network::scaled`] by a factor from the command line: each value is scaled in `f64`
    /// and stored as `f32`, and the factor is refused when the `f32` network would not be the
    /// scaled one: a weight or bias beyond the `f32` range, a non-zero one that rounds to 0, or
    /// a row whose pre-activation could overflow `f32` for some input (`(1 + |a_i|) sum_j
    /// |w_ij| + |b_i|` beyond the `f32` range). The refusal names the first value at fault and
    /// reads after the factor: `"makes weight w[3] = 0.07 of hidden layer 0 infinite ..."`.
    pub fn scaled_checked(&self, factor: f64) -> std::result::Result<Network, String> {
        let max = f64::from(f32::MAX);
        let mut n = self.clone();
        for (k, l) in n.hidden.iter_mut().enumerate() {
            let scale = |what: &str, values: &mut [f32]| -> std::result::Result<(), String> {
                for (j, v) in values.iter_mut().enumerate() {
                    let x = f64::from(*v) * factor;
                    if x.abs() > max {
                        return Err(format!(
                            "makes {what}[{j}] = {v} of hidden layer {k} infinite in f32 \
                             ({v} x {factor:e} = {x:.2e}, beyond the largest f32, about 3.4e38)"
                        ));
                    }
                    if *v != 0.0 && x as f32 == 0.0 {
                        return Err(format!(
                            "rounds {what}[{j}] = {v} of hidden layer {k} to 0 in f32 \
                             ({v} x {factor:e} = {x:.2e}, below the smallest f32, about 1.4e-45)"
                        ));
                    }
                    *v = x as f32;
                }
                Ok(())
            };
            scale("weight w", &mut l.w)?;
            scale("bias b", &mut l.b)?;
        }
        for (k, l) in n.hidden.iter().enumerate() {
            for i in 0..l.n_out {
                let sum: f64 = l.row(i).iter().map(|&w| f64::from(w.abs())).sum();
                let a = match (self.noise, l.beta.get(i)) {
                    (Some(noise), Some(&beta)) => noise.a_from_beta(f64::from(beta)).abs(),
                    _ => 0.0,
                };
                let bound = (1.0 + a) * sum + l.b.get(i).map_or(0.0, |&b| f64::from(b.abs()));
                if bound > max {
                    return Err(format!(
                        "lets the pre-activation of neuron {i} of hidden layer {k} overflow f32 \
                         for some inputs ((1 + |a|) sum |w| + |b| = {bound:.2e}, beyond the \
                         largest f32, about 3.4e38)"
                    ));
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Network {
        Network {
            schema: NET_SCHEMA.to_string(),
            model: ModelKind::Stnn,
            noise: None,
            hidden: vec![HiddenLayer {
                n_in: 2,
                n_out: 1,
                w: vec![0.5, -0.5],
                beta: Vec::new(),
                b: Vec::new(),
            }],
            output: OutputLayer {
                n_in: 1,
                n_out: 2,
                w: vec![1.0, -1.0],
                b: vec![0.0, 0.0],
            },
            training: None,
        }
    }

    #[test]
    fn a_weight_count_that_overflows_is_refused_by_name() {
        tiny().validate().unwrap();
        let mut n = tiny();
        n.hidden[0].n_in = usize::MAX / 2 + 1;
        n.hidden[0].n_out = 2;
        n.output.n_in = 2;
        let e = n.validate().unwrap_err().to_string();
        assert!(
            e.contains("hidden layer 0") && e.contains("overflows"),
            "{e}"
        );
        assert!(e.contains(&format!("n_in = {}", usize::MAX / 2 + 1)), "{e}");

        let mut n = tiny();
        n.hidden[0].n_out = 2;
        n.hidden[0].w = vec![0.5, -0.5, 0.25, 1.0];
        n.output.n_in = 2;
        n.output.n_out = usize::MAX;
        let e = n.validate().unwrap_err().to_string();
        assert!(e.contains("output layer") && e.contains("overflows"), "{e}");
    }

    #[test]
    fn a_scale_that_breaks_the_f32_network_is_refused_with_the_value_at_fault() {
        let mut n = tiny();
        n.model = ModelKind::Nsm;
        n.noise = Some(Noise::BlankOut { transmit_p: 0.5 });
        n.hidden[0].w = vec![0.5, -2.0];
        n.hidden[0].beta = vec![1.0];
        n.hidden[0].b = vec![0.25];
        let s = n.scaled_checked(0.1).unwrap();
        assert_eq!(s.hidden[0].w, vec![0.05, -0.2]);
        assert_eq!(s.hidden[0].b, vec![0.025]);
        assert_eq!(s.output, n.output, "the output layer is not scaled");
        let e = n.scaled_checked(1e39).unwrap_err();
        assert!(
            e.starts_with("makes weight w[0] = 0.5 of hidden layer 0 infinite in f32 (0.5 x 1e39"),
            "{e}"
        );
        let e = n.scaled_checked(1e-46).unwrap_err();
        assert!(
            e.starts_with("rounds weight w[0] = 0.5 of hidden layer 0 to 0"),
            "{e}"
        );
        // |u| <= (1 + |a|) (0.5 + 2) s + 0.25 s with a = sqrt(1/2) - 1/2
        let e = n.scaled_checked(1.3e38).unwrap_err();
        assert!(
            e.contains("pre-activation of neuron 0 of hidden layer 0 overflow"),
            "{e}"
        );
        n.scaled_checked(1e37).unwrap();
    }

    #[test]
    fn sizes_whose_product_wraps_to_the_array_length_are_refused() {
        // 2^32 x 2^32 wraps to 0 on 64 bits: an empty weight array must not pass for it.
        let mut n = tiny();
        n.hidden[0].n_in = 1 << 32;
        n.hidden[0].n_out = 1 << 32;
        n.hidden[0].w.clear();
        n.output.n_in = 1 << 32;
        assert!(n.validate().unwrap_err().to_string().contains("overflows"));
    }

    #[test]
    fn sizes_that_disagree_with_the_weights_are_refused_before_use() {
        let mut n = tiny();
        n.hidden[0].n_in = 1 << 40;
        n.output.n_in = 1;
        let e = n.validate().unwrap_err().to_string();
        assert!(e.contains("hidden layer 0 w has 2 values"), "{e}");
    }

    #[test]
    fn a_loaded_file_is_named_in_validation_errors() {
        let mut n = tiny();
        n.output.b.pop();
        let e = Network::from_json(&n.to_json(), Path::new("some/net.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("some/net.json: invalid network: output b has 1 values"),
            "{e}"
        );
    }
}
