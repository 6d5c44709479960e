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

use serde::Serialize;

use super::config::EngineConfig;
use super::qnet::{LayerView, QNet};

/// Where each layer starts in the two memories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerMap {
    pub n_in: usize,
    pub n_out: usize,
    pub steps_per_neuron: usize,
    pub weight_base: usize,
    pub neuron_base: usize,
}

/// Both memory images and their map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryImages {
    pub weight_word_bits: u32,
    pub neuron_word_bits: u32,
    pub weight_words: usize,
    pub neuron_words: usize,
    pub layers: Vec<LayerMap>,
    #[serde(skip)]
    pub weights_hex: String,
    #[serde(skip)]
    pub neurons_hex: String,
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
    let wb = cfg.weight_bits;
    let cols = cfg.cols;
    let weight_word_bits = cols as u32 * wb;
    let neuron_word_bits = cfg.a_bits + cfg.bias_bits;
    let mut layers = Vec::new();
    let mut weights_hex = String::new();
    let mut neurons_hex = String::new();
    let (mut wbase, mut nbase) = (0, 0);
    let mut word = vec![0u64; (weight_word_bits as usize).div_ceil(64) + 1];
    for LayerView {
        n_in,
        n_out,
        w,
        b,
        a,
    } in qnet.layers()
    {
        let steps = n_in.div_ceil(cols);
        layers.push(LayerMap {
            n_in,
            n_out,
            steps_per_neuron: steps,
            weight_base: wbase,
            neuron_base: nbase,
        });
        for i in 0..n_out {
            for s in 0..steps {
                word.fill(0);
                for c in 0..cols {
                    let j = s * cols + c;
                    if j < n_in {
                        let v = twos(i64::from(w[i * n_in + j]), wb);
                        let bit = c * wb as usize;
                        word[bit / 64] |= (v as u64) << (bit % 64);
                        if bit % 64 + wb as usize > 64 {
                            word[bit / 64 + 1] |= (v >> (64 - bit % 64)) as u64;
                        }
                    }
                }
                hex_line(&mut weights_hex, &word, weight_word_bits);
            }
            let a_val = a.map_or(0, |a| i64::from(a[i]));
            let nword =
                (twos(a_val, cfg.a_bits) << cfg.bias_bits) | twos(i64::from(b[i]), cfg.bias_bits);
            hex_line(
                &mut neurons_hex,
                &[nword as u64, (nword >> 64) as u64],
                neuron_word_bits,
            );
        }
        wbase += n_out * steps;
        nbase += n_out;
    }
    MemoryImages {
        weight_word_bits,
        neuron_word_bits,
        weight_words: wbase,
        neuron_words: nbase,
        layers,
        weights_hex,
        neurons_hex,
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
        assert_eq!(m.layers[1].weight_base, 2);
        assert_eq!(m.layers[1].neuron_base, 1);
    }
}
