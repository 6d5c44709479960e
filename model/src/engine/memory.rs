//! `$readmemh` images of a quantized network, in the order the engine reads them.
//!
//! * Weight memory: one word per (layer, neuron, array step), layers in order (stochastic
//!   layers, then the output layer), neurons in order, steps in order. A word holds the
//!   `cols` weights of the step; column `c` occupies bits `[c*wb, (c+1)*wb)` as a `wb`-bit two's
//!   complement number; slots past the layer's fan-in are 0. Word width `cols * wb` bits.
//! * Neuron memory: one word per (layer, neuron): `A_i` in the upper `a_bits`, `B_i` in the
//!   lower `bias_bits` (two's complement each). The output layer stores `A = 0`, `B = C_k`.
//!
//! Each line of a `.hex` file is one word, most significant digit first, zero-padded to the
//! word width, as Verilog's `$readmemh` reads it.
//!
//! `nsm quantize` writes a [`MemMap`] (`nsm-memmap/1`) beside the images: the configuration,
//! its derived widths and the [`MemoryLayout`]; [`MemMap::load`] reads one back and checks
//! that every number in it follows from the configuration.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::{DerivedWidths, EngineConfig, EngineError};
use super::qnet::{LayerView, QNet};
use crate::json::{read_document, Format, JsonError};

/// Schema tag of memory maps.
pub const MEMMAP_SCHEMA: &str = "nsm-memmap/1";

/// The memory map format, for [`crate::json::read_document`].
pub const MEMMAP_FORMAT: Format = Format {
    what: "memory map",
    schema: MEMMAP_SCHEMA,
    schema_required: true,
};

/// Where each layer starts in the two memories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerMap {
    pub n_in: usize,
    pub n_out: usize,
    pub steps_per_neuron: usize,
    pub weight_base: usize,
    pub neuron_base: usize,
}

/// The shape of both memories: word widths, depths used and each layer's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayout {
    pub weight_word_bits: u32,
    pub neuron_word_bits: u32,
    pub weight_words: usize,
    pub neuron_words: usize,
    pub layers: Vec<LayerMap>,
}

/// Both memory images and their map (serialized as the map alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryImages {
    #[serde(flatten)]
    pub layout: MemoryLayout,
    #[serde(skip)]
    pub weights_hex: String,
    #[serde(skip)]
    pub neurons_hex: String,
}

/// The layout of layers of `(n_in, n_out)`, in engine order, in the memories of `cfg`.
pub fn memory_layout(cfg: &EngineConfig, layers: &[(usize, usize)]) -> MemoryLayout {
    let (mut wbase, mut nbase) = (0, 0);
    let mut maps = Vec::with_capacity(layers.len());
    for &(n_in, n_out) in layers {
        let steps = n_in.div_ceil(cfg.step_inputs());
        maps.push(LayerMap {
            n_in,
            n_out,
            steps_per_neuron: steps,
            weight_base: wbase,
            neuron_base: nbase,
        });
        wbase += n_out * steps;
        nbase += n_out;
    }
    MemoryLayout {
        weight_word_bits: cfg.step_inputs() as u32 * cfg.weight_bits,
        neuron_word_bits: cfg.a_bits + cfg.bias_bits,
        weight_words: wbase,
        neuron_words: nbase,
        layers: maps,
    }
}

/// How a weight is stored in `weight_bits` bits (the memory images, the weight memory): its
/// two's complement, and for 1-bit weights the bit `1` for `+1` and `0` for `-1`, the
/// activations' code, so that a product is an XNOR. The 1-bit code of a weight is the
/// complement of its sign bit (`w >= 0`), which is also what the configuration port stores
/// from a weight's 16-bit two's complement; padding slots (weight 0) hold `1` there and are
/// masked (`docs/engine-spec.md`, section 6).
pub fn weight_code(w: i32, weight_bits: u32) -> u64 {
    if weight_bits == 1 {
        u64::from(w >= 0)
    } else {
        twos(i64::from(w), weight_bits) as u64
    }
}

/// The weight a stored code stands for (the inverse of [`weight_code`] on the levels).
pub fn weight_from_code(code: u64, weight_bits: u32) -> i64 {
    if weight_bits == 1 {
        if code & 1 == 1 {
            1
        } else {
            -1
        }
    } else {
        let shift = 64 - weight_bits;
        ((code << shift) as i64) >> shift
    }
}

fn twos(v: i64, bits: u32) -> u128 {
    (v as i128 as u128) & ((1u128 << bits) - 1)
}

fn hex_line(out: &mut String, word: &[u64], bits: u32) {
    let digits = bits.div_ceil(4) as usize;
    let mut s = String::with_capacity(digits);
    for d in (0..digits).rev() {
        let bit = d * 4;
        let nib = (word[bit / 64] >> (bit % 64)) & 0xf;
        s.push(char::from_digit(nib as u32, 16).expect("a nibble is a hex digit"));
    }
    out.push_str(&s);
    out.push('\n');
}

/// Builds the memory images of `qnet` for `cfg` (checked against each other beforehand).
pub fn memory_images(qnet: &QNet, cfg: &EngineConfig) -> MemoryImages {
    let views = qnet.layers();
    let sizes: Vec<(usize, usize)> = views.iter().map(|l| (l.n_in, l.n_out)).collect();
    let layout = memory_layout(cfg, &sizes);
    let wb = cfg.weight_bits;
    let n_step = cfg.step_inputs();
    let mut weights_hex = String::new();
    let mut neurons_hex = String::new();
    let mut word = vec![0u64; (layout.weight_word_bits as usize).div_ceil(64) + 1];
    for LayerView {
        n_in,
        n_out,
        w,
        b,
        a,
    } in views
    {
        let steps = n_in.div_ceil(n_step);
        for i in 0..n_out {
            for s in 0..steps {
                word.fill(0);
                // slot q = c * lanes + l holds input s * n_step + q; padding slots hold the
                // code of 0
                for q in 0..n_step {
                    let j = s * n_step + q;
                    let v = weight_code(if j < n_in { w[i * n_in + j] } else { 0 }, wb);
                    let bit = q * wb as usize;
                    word[bit / 64] |= v << (bit % 64);
                    if bit % 64 + wb as usize > 64 {
                        word[bit / 64 + 1] |= v >> (64 - bit % 64);
                    }
                }
                hex_line(&mut weights_hex, &word, layout.weight_word_bits);
            }
            let a_val = a.map_or(0, |a| i64::from(a[i]));
            let nword =
                (twos(a_val, cfg.a_bits) << cfg.bias_bits) | twos(i64::from(b[i]), cfg.bias_bits);
            hex_line(
                &mut neurons_hex,
                &[nword as u64, (nword >> 64) as u64],
                layout.neuron_word_bits,
            );
        }
    }
    MemoryImages {
        layout,
        weights_hex,
        neurons_hex,
    }
}

/// The memory map file (`QNET.memmap.json`): what the memory images were built for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemMap {
    pub schema: String,
    pub config: EngineConfig,
    pub derived_widths: DerivedWidths,
    pub memories: MemoryLayout,
}

/// Why a memory map was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemMapError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("{origin}: field config: {reason}")]
    Config { origin: String, reason: EngineError },
    #[error(
        "{origin}: field {field} = {found} does not follow from the configuration, which gives \
         {expected}"
    )]
    Mismatch {
        origin: String,
        field: String,
        found: String,
        expected: String,
    },
}

impl MemMap {
    /// The map of `images`, built for `cfg`.
    pub fn new(cfg: &EngineConfig, images: &MemoryImages) -> MemMap {
        MemMap {
            schema: MEMMAP_SCHEMA.to_string(),
            config: cfg.clone(),
            derived_widths: cfg.widths(),
            memories: images.layout.clone(),
        }
    }

    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a memory map always serializes")
    }

    /// Reads a memory map file and checks it.
    pub fn load(path: &Path) -> Result<MemMap, MemMapError> {
        let origin = path.display().to_string();
        let text = crate::fsutil::read_text(path).map_err(|e| MemMapError::Read {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        Self::from_json(&text, &origin)
    }

    /// Parses a memory map (`origin` names it in errors) and checks that its configuration is
    /// valid and that its widths and layout are the ones that configuration gives.
    pub fn from_json(text: &str, origin: &str) -> Result<MemMap, MemMapError> {
        let m: MemMap = read_document(text, origin, &MEMMAP_FORMAT)?;
        m.config.validate().map_err(|reason| MemMapError::Config {
            origin: origin.to_string(),
            reason,
        })?;
        let sizes: Vec<(usize, usize)> = m
            .memories
            .layers
            .iter()
            .map(|l| (l.n_in, l.n_out))
            .collect();
        let expected = MemMap {
            derived_widths: m.config.widths(),
            memories: memory_layout(&m.config, &sizes),
            ..m.clone()
        };
        let as_value = |m: &MemMap| serde_json::to_value(m).expect("a memory map serializes");
        if let Some((field, found, expected)) =
            first_difference("", &as_value(&m), &as_value(&expected))
        {
            return Err(MemMapError::Mismatch {
                origin: origin.to_string(),
                field,
                found,
                expected,
            });
        }
        Ok(m)
    }
}

/// The first place where `a` and `b` differ: its field path and both values as JSON.
fn first_difference(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().find_map(|(k, v)| {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match y.get(k) {
                    Some(w) => first_difference(&p, v, w),
                    None => Some((p, v.to_string(), "nothing".to_string())),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(&format!("{path}[{i}]"), v, w)),
        _ if a == b => None,
        _ => Some((path.to_string(), a.to_string(), b.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::qnet::{QLayer, QOutput, QuantReport, QNET_SCHEMA};

    #[test]
    fn words_hold_weights_in_column_order() {
        let cfg = EngineConfig {
            cols: 2,
            weight_bits: 4,
            a_bits: 8,
            a_frac_bits: 4,
            bias_bits: 8,
            ..EngineConfig::default_config()
        };
        let q = QNet {
            schema: QNET_SCHEMA.into(),
            weight_bits: 4,
            a_bits: 8,
            a_frac_bits: 4,
            bias_bits: 8,
            threshold_bits: 1,
            threshold: 1,
            hidden: vec![QLayer {
                n_in: 3,
                n_out: 1,
                w: vec![1, -1, 7],
                a: vec![-2],
                b: vec![5],
            }],
            output: QOutput {
                n_in: 1,
                n_out: 2,
                w: vec![-7, 3],
                b: vec![0, -1],
            },
            report: QuantReport::default(),
        };
        let m = memory_images(&q, &cfg);
        // step 0: c0 = 1, c1 = -1 (0xf) -> 0xf1; step 1: c0 = 7, c1 = pad -> 0x07
        assert_eq!(m.weights_hex, "f1\n07\n09\n03\n");
        // A = -2 (0xfe) above B = 5 (0x05); output: A = 0, B = 0 / -1
        assert_eq!(m.neurons_hex, "fe05\n0000\n00ff\n");
        assert_eq!(m.layout.layers[1].weight_base, 2);
        assert_eq!(m.layout.layers[1].neuron_base, 1);
    }
}
