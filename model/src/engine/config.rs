//! The engine configuration (`nsm-engine/1`): the parameters a generated NSM engine is built
//! with, validated with named errors, and the register widths derived from them.
//!
//! See `docs/engine-spec.md` for the meaning of every field.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::json::{read_document, Format, JsonError};
use crate::lfsr::{LfsrError, LfsrSpec};

/// Schema tag of engine configuration files.
pub const ENGINE_SCHEMA: &str = "nsm-engine/1";

/// Largest array dimension (a row's gate field must fit a u64 in the models).
pub const MAX_COLS: usize = 64;
/// Most inputs one array step consumes, `cols * lanes` (a row's slots of a step must fit a
/// u64 in the models).
pub const MAX_STEP_INPUTS: usize = 64;
/// Most synapses a PE handles per array step.
pub const MAX_LANES: usize = 64;

/// The largest weight magnitude of `weight_bits`-bit weights: `2^(wb-1) - 1`, and 1 for
/// `weight_bits = 1`, whose two levels are `-1` and `+1` (no zero; `docs/engine-spec.md`,
/// section 1). The one definition: the widths, the quantizer and the memory images use it.
pub fn weight_max(weight_bits: u32) -> i64 {
    if weight_bits <= 1 {
        1
    } else {
        (1i64 << (weight_bits.min(32) - 1)) - 1
    }
}
/// Largest number of array rows.
pub const MAX_ROWS: usize = 256;
/// Widest integer the bit-exact models carry in `u` (signed).
pub const MAX_U_BITS: u32 = 62;

/// The engine configuration format, for [`crate::json::read_document`].
pub const ENGINE_FORMAT: Format = Format {
    what: "engine configuration",
    schema: ENGINE_SCHEMA,
    schema_required: true,
};

/// What the row accumulators do at the edge of their range.
///
/// Written `{"overflow": "exact"}` or `{"overflow": "saturate", "bits": B}`; read through
/// `RawAccumulator` so that an unknown key, or `bits` beside `exact`, is refused by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "overflow",
    rename_all = "snake_case",
    try_from = "RawAccumulator"
)]
pub enum Accumulator {
    /// Accumulators are as wide as the largest fan-in needs: overflow is impossible.
    Exact,
    /// Accumulators of `bits` bits that saturate at their range after every array step.
    Saturate { bits: u32 },
}

/// How an `accumulator` object is written: the tag and the fields of every kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccumulator {
    overflow: OverflowKind,
    #[serde(default)]
    bits: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum OverflowKind {
    Exact,
    Saturate,
}

impl TryFrom<RawAccumulator> for Accumulator {
    type Error = String;
    fn try_from(raw: RawAccumulator) -> Result<Self, String> {
        match (raw.overflow, raw.bits) {
            (OverflowKind::Exact, None) => Ok(Accumulator::Exact),
            (OverflowKind::Exact, Some(bits)) => Err(format!(
                "overflow \"exact\" takes no bits (found bits = {bits}); \
                 \"saturate\" accumulators have a width"
            )),
            (OverflowKind::Saturate, Some(bits)) => Ok(Accumulator::Saturate { bits }),
            (OverflowKind::Saturate, None) => {
                Err("overflow \"saturate\" needs the accumulator width bits".to_string())
            }
        }
    }
}

/// The LFSR of every processing element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LfsrConfig {
    /// Register width, 2 to 32 bits.
    pub width: u32,
    /// Fibonacci taps (`docs/engine-spec.md`); absent: the built-in maximal-length set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taps: Option<Vec<u32>>,
}

/// The blank-out gates: the transmit probability as a k-bit threshold,
/// `p = threshold / 2^threshold_bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlankOutConfig {
    /// `k`: bits consumed from the LFSR sequence per gate, 1 to the LFSR width.
    pub threshold_bits: u32,
    /// A synapse transmits when the k fresh bits, read as a number, are below this.
    pub threshold: u32,
}

/// The sequential stopping rule (`docs/engine-spec.md`, section 4, "Early stop"): after each
/// group of `rows` passes, an input whose per-pass votes lead by `vote_margin` (the leading
/// class's votes minus the runner-up's), with at least `min_passes` passes run, is decided;
/// `mc_samples` stays the most passes an input gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStop {
    /// Votes by which the leading class must lead the runner-up, 1 to `mc_samples`.
    pub vote_margin: u32,
    /// Passes every input gets before it may stop, 1 to `mc_samples`.
    pub min_passes: usize,
}

/// An engine configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    pub schema: String,
    /// PE rows: Monte Carlo passes computed side by side.
    pub rows: usize,
    /// PE columns.
    pub cols: usize,
    /// Synapses per PE per array step: a step consumes `cols * lanes` inputs, and every PE
    /// draws `lanes` gates from its LFSR. Omitted: 1.
    #[serde(default = "one_lane", skip_serializing_if = "is_one_lane")]
    pub lanes: usize,
    /// Signed weight width; weights lie in `+-(2^(weight_bits-1) - 1)`, or are `+-1` (no
    /// zero) for `weight_bits = 1`.
    pub weight_bits: u32,
    /// Signed width of the fixed-point `a_i`.
    pub a_bits: u32,
    /// Fractional bits of `a_i` (`A_i = round(a_i 2^a_frac_bits)`).
    pub a_frac_bits: u32,
    /// Signed width of the integer biases.
    pub bias_bits: u32,
    /// Largest fan-in of any layer the engine accepts.
    pub max_fan_in: usize,
    /// Largest layer width the engine accepts.
    pub max_neurons: usize,
    /// Largest number of layers (stochastic layers plus the output layer).
    pub max_layers: usize,
    /// Depth of the weight memory, in words of `cols * lanes` weights (one word per neuron and
    /// array step): a network needs `sum over layers of n_out * ceil(n_in / (cols * lanes))`.
    pub weight_memory_words: usize,
    /// Depth of the neuron memory (one `A_i`, `B_i` pair per neuron of every layer).
    pub neuron_memory_words: usize,
    pub accumulator: Accumulator,
    pub lfsr: LfsrConfig,
    pub blank_out: BlankOutConfig,
    /// Monte Carlo passes per input.
    pub mc_samples: usize,
    /// One more register behind every memory read and around the neuron unit's multiplier,
    /// which place-and-route folds into the block RAMs' output registers and the DSPs'
    /// input and output registers (`docs/hardware.md`, "Clock speed"). Costs two clocks of
    /// latency per layer and one per output beat, nothing in throughput or results; needs
    /// `rows >= 2`. Off by default (on the iCE40 those registers would be plain flip-flops).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hard_block_registers: bool,
    /// The sequential stopping rule; absent: every input gets `mc_samples` passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<EarlyStop>,
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error(
        "unsupported engine configuration schema {found:?} (this build reads {ENGINE_SCHEMA:?})"
    )]
    Schema { found: String },
    #[error("{field} must be at least 1")]
    ZeroSize { field: &'static str },
    #[error("{field} = {value} is above the supported maximum {max}")]
    TooLarge {
        field: &'static str,
        value: u64,
        max: u64,
    },
    #[error("weight_bits = {0} is outside the supported range 1 to 16")]
    WeightBits(u32),
    #[error("weight_bits = {weight_bits} exceeds the accumulator width {acc_bits}")]
    WeightBitsExceedAccumulator { weight_bits: u32, acc_bits: u32 },
    #[error("saturating accumulator of {bits} bits cannot hold one array step's sum (needs {needed} bits for {inputs} inputs per step of {weight_bits}-bit weights)")]
    AccumulatorTooNarrow {
        bits: u32,
        needed: u32,
        inputs: usize,
        weight_bits: u32,
    },
    #[error("cols x lanes = {cols} x {lanes} = {} inputs per array step is above the supported maximum {MAX_STEP_INPUTS}", cols * lanes)]
    StepInputs { cols: usize, lanes: usize },
    #[error("lanes x blank_out.threshold_bits = {lanes} x {bits} = {} LFSR bits per PE and step is above the LFSR width {lfsr_width} (a PE's gates of one step come from one leap)", lanes * *bits as usize)]
    LaneBits {
        lanes: usize,
        bits: u32,
        lfsr_width: u32,
    },
    #[error("a_frac_bits = {frac} must be smaller than a_bits = {bits} (a_i needs a sign and integer bits)")]
    AFormat { bits: u32, frac: u32 },
    #[error("{field} = {value} bits is outside 2 to 32")]
    FieldWidth { field: &'static str, value: u32 },
    #[error(transparent)]
    Lfsr(#[from] LfsrError),
    #[error(
        "blank_out.threshold_bits = {bits} must lie between 1 and the LFSR width {lfsr_width}"
    )]
    ThresholdBits { bits: u32, lfsr_width: u32 },
    #[error("blank_out.threshold = {threshold} must be below 2^{bits} = {limit}")]
    ThresholdTooLarge {
        threshold: u32,
        bits: u32,
        limit: u64,
    },
    #[error("the pre-activation u needs {needed} bits, more than the {MAX_U_BITS} the engine supports; narrow a_bits, bias_bits, weight_bits or max_fan_in")]
    UTooWide { needed: u32 },
    #[error("an LFSR of width {width} has {states} states, fewer than the {pes} PEs that each need their own starting point")]
    LfsrTooShort { width: u32, states: u64, pes: usize },
    #[error("{per_pe} gates for each of {pes} PEs is more than the limit of {limit} gates in all")]
    TooManyGates {
        per_pe: usize,
        pes: usize,
        limit: usize,
    },
    #[error("hard_block_registers needs rows >= 2 (the logit memory's read-modify-write takes two clocks), found rows = {rows}")]
    HardBlockRegistersRows { rows: usize },
    #[error("early_stop.{field} = {value} must lie between 1 and mc_samples = {mc_samples}")]
    EarlyStop {
        field: &'static str,
        value: u64,
        mc_samples: usize,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A configuration file that is JSON of the right shape but fails validation: names the
    /// file, then the field and value.
    #[error("{origin}: {reason}")]
    File {
        origin: String,
        reason: Box<EngineError>,
    },
}

/// Register widths that follow from a configuration (all signed, two's complement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedWidths {
    /// Largest weight magnitude, `2^(weight_bits-1) - 1` (1 for `weight_bits = 1`).
    pub weight_max: i64,
    /// Width of one array step's row sum (`cols * lanes` products).
    pub step_sum_bits: u32,
    /// Width of the row accumulators `S` and `T`.
    pub acc_bits: u32,
    /// Width that `S`/`T` would need for `max_fan_in` without saturation.
    pub exact_acc_bits: u32,
    /// Width of `u' = 2^F (T + B) + A S` (exact, never overflows).
    pub u_bits: u32,
    /// Width of one output logit `S + C`.
    pub logit_bits: u32,
    /// Width of a logit summed over all Monte Carlo passes.
    pub logit_sum_bits: u32,
}

/// Bits of a signed two's-complement register that holds every value in `-m ..= m`.
pub fn signed_bits_for(m: u128) -> u32 {
    // m <= 2^(b-1) - 1  <=>  b >= bits(m) + 1
    (128 - m.leading_zeros()) + 1
}

fn one_lane() -> usize {
    1
}

fn is_one_lane(lanes: &usize) -> bool {
    *lanes == 1
}

fn signed_max(bits: u32) -> u128 {
    (1u128 << (bits - 1)) - 1
}

impl EngineConfig {
    /// The shipped default configuration (`configs/default.json`).
    pub fn default_config() -> Self {
        Self {
            schema: ENGINE_SCHEMA.to_string(),
            rows: 8,
            cols: 8,
            lanes: 1,
            weight_bits: 8,
            a_bits: 16,
            a_frac_bits: 11,
            bias_bits: 20,
            max_fan_in: 1024,
            max_neurons: 1024,
            max_layers: 8,
            weight_memory_words: 65536,
            neuron_memory_words: 4096,
            accumulator: Accumulator::Exact,
            lfsr: LfsrConfig {
                width: 16,
                taps: None,
            },
            blank_out: BlankOutConfig {
                threshold_bits: 1,
                threshold: 1,
            },
            mc_samples: 100,
            hard_block_registers: false,
            early_stop: None,
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let text = crate::fsutil::read_text(path).map_err(|e| EngineError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses and validates configuration JSON (`origin` names it in errors).
    pub fn from_json(text: &str, origin: &str) -> Result<Self, EngineError> {
        let cfg: EngineConfig = read_document(text, origin, &ENGINE_FORMAT)?;
        cfg.validate().map_err(|reason| EngineError::File {
            origin: origin.to_string(),
            reason: Box::new(reason),
        })?;
        Ok(cfg)
    }

    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a configuration always serializes")
    }

    /// The LFSR every PE carries.
    pub fn lfsr_spec(&self) -> Result<LfsrSpec, EngineError> {
        Ok(match &self.lfsr.taps {
            Some(t) => LfsrSpec::new(self.lfsr.width, t)?,
            None => LfsrSpec::standard(self.lfsr.width)?,
        })
    }

    /// The transmit probability `p` the hardware realizes (a gate is open, `xi = 1`, with
    /// probability `p`): `threshold / 2^k`.
    pub fn transmit_p(&self) -> f64 {
        f64::from(self.blank_out.threshold) / (1u64 << self.blank_out.threshold_bits) as f64
    }

    /// Number of processing elements.
    pub fn pes(&self) -> usize {
        self.rows * self.cols
    }

    /// Inputs one array step consumes: `cols * lanes` (the width of an activation word, of
    /// an input word and of a weight-memory word in weights).
    pub fn step_inputs(&self) -> usize {
        self.cols * self.lanes
    }

    /// LFSR steps one PE takes per array step: `lanes * threshold_bits`.
    pub fn lfsr_steps_per_step(&self) -> u32 {
        self.lanes as u32 * self.blank_out.threshold_bits
    }

    /// Synapse slots the array computes per array step: `rows * cols * lanes`.
    pub fn synapses_per_step(&self) -> usize {
        self.rows * self.step_inputs()
    }

    /// Checks every field; the first problem found is returned by name.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.schema != ENGINE_SCHEMA {
            return Err(EngineError::Schema {
                found: self.schema.clone(),
            });
        }
        for (field, v) in [
            ("rows", self.rows),
            ("cols", self.cols),
            ("lanes", self.lanes),
            ("max_fan_in", self.max_fan_in),
            ("max_neurons", self.max_neurons),
            ("max_layers", self.max_layers),
            ("mc_samples", self.mc_samples),
            ("weight_memory_words", self.weight_memory_words),
            ("neuron_memory_words", self.neuron_memory_words),
        ] {
            if v == 0 {
                return Err(EngineError::ZeroSize { field });
            }
        }
        for (field, v, max) in [
            ("rows", self.rows, MAX_ROWS),
            ("cols", self.cols, MAX_COLS),
            ("lanes", self.lanes, MAX_LANES),
            ("max_fan_in", self.max_fan_in, 1 << 20),
            ("max_neurons", self.max_neurons, 1 << 20),
            ("max_layers", self.max_layers, 64),
            ("mc_samples", self.mc_samples, 1 << 16),
            ("weight_memory_words", self.weight_memory_words, 1 << 20),
            ("neuron_memory_words", self.neuron_memory_words, 1 << 20),
        ] {
            if v > max {
                return Err(EngineError::TooLarge {
                    field,
                    value: v as u64,
                    max: max as u64,
                });
            }
        }
        if self.step_inputs() > MAX_STEP_INPUTS {
            return Err(EngineError::StepInputs {
                cols: self.cols,
                lanes: self.lanes,
            });
        }
        if !(1..=16).contains(&self.weight_bits) {
            return Err(EngineError::WeightBits(self.weight_bits));
        }
        for (field, v) in [("a_bits", self.a_bits), ("bias_bits", self.bias_bits)] {
            if !(2..=32).contains(&v) {
                return Err(EngineError::FieldWidth { field, value: v });
            }
        }
        if self.a_frac_bits >= self.a_bits {
            return Err(EngineError::AFormat {
                bits: self.a_bits,
                frac: self.a_frac_bits,
            });
        }
        if self.hard_block_registers && self.rows < 2 {
            return Err(EngineError::HardBlockRegistersRows { rows: self.rows });
        }
        if let Some(e) = self.early_stop {
            for (field, value) in [
                ("vote_margin", u64::from(e.vote_margin)),
                ("min_passes", e.min_passes as u64),
            ] {
                if value == 0 || value > self.mc_samples as u64 {
                    return Err(EngineError::EarlyStop {
                        field,
                        value,
                        mc_samples: self.mc_samples,
                    });
                }
            }
        }
        let spec = self.lfsr_spec()?;
        if (self.pes() as u64) > spec.period() {
            return Err(EngineError::LfsrTooShort {
                width: spec.width(),
                states: spec.period(),
                pes: self.pes(),
            });
        }
        let k = self.blank_out.threshold_bits;
        if k == 0 || k > spec.width() {
            return Err(EngineError::ThresholdBits {
                bits: k,
                lfsr_width: spec.width(),
            });
        }
        if self.lfsr_steps_per_step() > spec.width() {
            return Err(EngineError::LaneBits {
                lanes: self.lanes,
                bits: k,
                lfsr_width: spec.width(),
            });
        }
        if u64::from(self.blank_out.threshold) >= 1u64 << k {
            return Err(EngineError::ThresholdTooLarge {
                threshold: self.blank_out.threshold,
                bits: k,
                limit: 1u64 << k,
            });
        }
        let w = self.widths_unchecked();
        if let Accumulator::Saturate { bits } = self.accumulator {
            if bits < self.weight_bits {
                return Err(EngineError::WeightBitsExceedAccumulator {
                    weight_bits: self.weight_bits,
                    acc_bits: bits,
                });
            }
            if bits < w.step_sum_bits {
                return Err(EngineError::AccumulatorTooNarrow {
                    bits,
                    needed: w.step_sum_bits,
                    inputs: self.step_inputs(),
                    weight_bits: self.weight_bits,
                });
            }
            if bits > 48 {
                return Err(EngineError::FieldWidth {
                    field: "accumulator.bits",
                    value: bits,
                });
            }
        }
        if w.u_bits > MAX_U_BITS || w.logit_sum_bits > MAX_U_BITS {
            return Err(EngineError::UTooWide {
                needed: w.u_bits.max(w.logit_sum_bits),
            });
        }
        Ok(())
    }

    /// Register widths of a valid configuration.
    pub fn widths(&self) -> DerivedWidths {
        self.widths_unchecked()
    }

    fn widths_unchecked(&self) -> DerivedWidths {
        let wmax = weight_max(self.weight_bits.clamp(1, 16)) as u128;
        let step_sum_bits = signed_bits_for(self.step_inputs() as u128 * wmax);
        let exact_acc_bits = signed_bits_for(self.max_fan_in as u128 * wmax);
        let acc_bits = match self.accumulator {
            Accumulator::Exact => exact_acc_bits,
            Accumulator::Saturate { bits } => bits.clamp(2, 64),
        };
        let acc_max = signed_max(acc_bits) + 1; // the most negative value's magnitude
        let b_max = signed_max(self.bias_bits.clamp(2, 32)) + 1;
        let a_max = signed_max(self.a_bits.clamp(2, 32)) + 1;
        let f = self.a_frac_bits.min(31);
        // |T + B| <= acc_max + b_max, |A S| <= a_max acc_max
        let u_bound = ((acc_max + b_max) << f) + a_max * acc_max;
        let logit_bound = self.max_fan_in as u128 * wmax + b_max;
        DerivedWidths {
            weight_max: wmax as i64,
            step_sum_bits,
            acc_bits,
            exact_acc_bits,
            u_bits: signed_bits_for(u_bound),
            logit_bits: signed_bits_for(logit_bound),
            logit_sum_bits: signed_bits_for(logit_bound * self.mc_samples as u128),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> EngineConfig {
        EngineConfig::default_config()
    }

    #[test]
    fn default_is_valid_and_matches_the_shipped_file() {
        ok().validate().unwrap();
        let shipped = include_str!("../../../configs/default.json");
        let parsed = EngineConfig::from_json(shipped, "configs/default.json").unwrap();
        assert_eq!(parsed, ok());
    }

    #[test]
    fn signed_bits() {
        assert_eq!(signed_bits_for(0), 1);
        assert_eq!(signed_bits_for(1), 2);
        assert_eq!(signed_bits_for(127), 8);
        assert_eq!(signed_bits_for(128), 9);
    }

    #[test]
    fn derived_widths_cover_the_worst_case() {
        let c = ok();
        let w = c.widths();
        // 1024 inputs x 127 = 130048 needs 18 bits signed
        assert_eq!(w.exact_acc_bits, 18);
        assert_eq!(w.acc_bits, 18);
        assert_eq!(w.step_sum_bits, signed_bits_for(8 * 127));
        let max = |b: u32| (1i128 << (b - 1)) - 1;
        let acc = -(1i128 << (w.acc_bits - 1));
        let u = ((acc + -(1i128 << (c.bias_bits - 1))) << c.a_frac_bits)
            + (-(1i128 << (c.a_bits - 1))) * acc;
        assert!(u <= max(w.u_bits) && -u - 1 <= max(w.u_bits));
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases: Vec<(EngineConfig, &str)> = vec![
            (EngineConfig { rows: 0, ..ok() }, "rows must be at least 1"),
            (EngineConfig { cols: 0, ..ok() }, "cols must be at least 1"),
            (EngineConfig { cols: 65, ..ok() }, "cols = 65"),
            (
                EngineConfig {
                    rows: 1,
                    hard_block_registers: true,
                    ..ok()
                },
                "hard_block_registers needs rows >= 2",
            ),
            (
                EngineConfig {
                    early_stop: Some(EarlyStop {
                        vote_margin: 0,
                        min_passes: 8,
                    }),
                    ..ok()
                },
                "early_stop.vote_margin = 0 must lie between 1 and mc_samples = 100",
            ),
            (
                EngineConfig {
                    early_stop: Some(EarlyStop {
                        vote_margin: 3,
                        min_passes: 101,
                    }),
                    ..ok()
                },
                "early_stop.min_passes = 101",
            ),
            (
                EngineConfig {
                    mc_samples: 0,
                    ..ok()
                },
                "mc_samples",
            ),
            (
                EngineConfig {
                    max_fan_in: 0,
                    ..ok()
                },
                "max_fan_in",
            ),
            (
                EngineConfig {
                    weight_bits: 0,
                    ..ok()
                },
                "weight_bits = 0 is outside the supported range 1 to 16",
            ),
            (
                EngineConfig { lanes: 0, ..ok() },
                "lanes must be at least 1",
            ),
            (
                EngineConfig { lanes: 9, ..ok() },
                "cols x lanes = 8 x 9 = 72 inputs per array step",
            ),
            (
                EngineConfig {
                    lanes: 4,
                    blank_out: BlankOutConfig {
                        threshold_bits: 5,
                        threshold: 3,
                    },
                    ..ok()
                },
                "lanes x blank_out.threshold_bits = 4 x 5 = 20 LFSR bits",
            ),
            (
                EngineConfig {
                    weight_bits: 17,
                    ..ok()
                },
                "weight_bits = 17",
            ),
            (
                EngineConfig {
                    accumulator: Accumulator::Saturate { bits: 6 },
                    ..ok()
                },
                "weight_bits = 8 exceeds the accumulator width 6",
            ),
            (
                EngineConfig {
                    accumulator: Accumulator::Saturate { bits: 10 },
                    ..ok()
                },
                "cannot hold one array step",
            ),
            (
                EngineConfig {
                    a_frac_bits: 16,
                    ..ok()
                },
                "a_frac_bits = 16",
            ),
            (
                EngineConfig {
                    bias_bits: 40,
                    ..ok()
                },
                "bias_bits = 40",
            ),
            (
                EngineConfig {
                    lfsr: LfsrConfig {
                        width: 40,
                        taps: None,
                    },
                    ..ok()
                },
                "LFSR width 40",
            ),
            (
                EngineConfig {
                    lfsr: LfsrConfig {
                        width: 1,
                        taps: None,
                    },
                    ..ok()
                },
                "LFSR width 1",
            ),
            (
                EngineConfig {
                    lfsr: LfsrConfig {
                        width: 8,
                        taps: Some(vec![8, 4]),
                    },
                    ..ok()
                },
                "not maximal-length",
            ),
            (
                EngineConfig {
                    blank_out: BlankOutConfig {
                        threshold_bits: 8,
                        threshold: 256,
                    },
                    ..ok()
                },
                "threshold = 256 must be below 2^8",
            ),
            (
                EngineConfig {
                    blank_out: BlankOutConfig {
                        threshold_bits: 17,
                        threshold: 1,
                    },
                    ..ok()
                },
                "threshold_bits = 17",
            ),
            (
                EngineConfig {
                    blank_out: BlankOutConfig {
                        threshold_bits: 0,
                        threshold: 0,
                    },
                    ..ok()
                },
                "threshold_bits = 0",
            ),
            (
                EngineConfig {
                    a_bits: 32,
                    a_frac_bits: 30,
                    bias_bits: 32,
                    max_fan_in: 1 << 20,
                    weight_bits: 16,
                    ..ok()
                },
                "bits, more than",
            ),
            (
                EngineConfig {
                    schema: "nsm-engine/0".into(),
                    ..ok()
                },
                "nsm-engine/0",
            ),
            (
                EngineConfig {
                    rows: 16,
                    cols: 16,
                    lfsr: LfsrConfig {
                        width: 8,
                        taps: None,
                    },
                    ..ok()
                },
                "fewer than the 256 PEs",
            ),
        ];
        for (cfg, needle) in cases {
            let err = cfg.validate().expect_err(needle).to_string();
            assert!(err.contains(needle), "expected {needle:?} in {err:?}");
        }
    }

    #[test]
    fn one_bit_weights_and_lanes_set_the_step_width() {
        let cfg = EngineConfig {
            weight_bits: 1,
            lanes: 4,
            ..ok()
        };
        cfg.validate().unwrap();
        assert_eq!(weight_max(1), 1);
        assert_eq!(weight_max(2), 1);
        assert_eq!(weight_max(8), 127);
        assert_eq!(cfg.step_inputs(), 32);
        assert_eq!(cfg.lfsr_steps_per_step(), 4);
        let w = cfg.widths();
        // 32 terms of +-1 and 1024 of them
        assert_eq!(
            (w.weight_max, w.step_sum_bits, w.exact_acc_bits),
            (1, 7, 12)
        );
        // one lane is the field's default and is not written
        assert!(!ok().to_json().contains("lanes"));
        assert!(cfg.to_json().contains("\"lanes\": 4"));
        let back = EngineConfig::from_json(&cfg.to_json(), "c.json").unwrap();
        assert_eq!(back, cfg);
    }

    #[test]
    fn thresholds_at_the_edges_are_valid() {
        for t in [0, 255] {
            EngineConfig {
                blank_out: BlankOutConfig {
                    threshold_bits: 8,
                    threshold: t,
                },
                ..ok()
            }
            .validate()
            .unwrap();
        }
    }

    #[test]
    fn json_errors_are_named() {
        let e = EngineConfig::from_json("{", "x.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.json") && e.contains("invalid engine configuration JSON"),
            "{e}"
        );
        let e = EngineConfig::from_json(r#"{"schema":"nsm-engine/1","rows":8}"#, "y.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field"), "{e}");
        let mut v: serde_json::Value = serde_json::from_str(&ok().to_json()).unwrap();
        v["colz"] = serde_json::json!(3);
        let e = EngineConfig::from_json(&v.to_string(), "z.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }
}
