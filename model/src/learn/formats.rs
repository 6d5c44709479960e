//! The number formats of the on-chip learning unit: a validated [`LearnConfig`] (JSON, every
//! field defaulted) and the constants it derives together with an engine configuration
//! ([`UpdateSpec`]).
//!
//! `docs/learning.md` gives the meaning of every field and the equations they quantize.

use serde::{Deserialize, Serialize};

use super::erf_lut::ErfLuts;
use super::row_norm::SeedLut;
use crate::engine::config::{EngineConfig, EngineError};
use crate::equations::{drive_scale_squared_fixed, transmit_p_fixed};
use crate::json::{read_document, Format, JsonError};

/// Schema tag of learning configurations.
pub const LEARN_SCHEMA: &str = "nsm-learn/1";

/// The learning configuration format, for [`crate::json::read_document`]: every field,
/// `schema` included, may be left out.
pub const LEARN_FORMAT: Format = Format {
    what: "learning configuration",
    schema: LEARN_SCHEMA,
    schema_required: false,
};

/// The learning unit's formats and step sizes. Shifts are powers of two: a step size
/// `2^-lr_shift`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearnConfig {
    pub schema: String,
    /// `log2` of the entries of each of the two tables (P and its derivative), indexed by
    /// `|x|`: the tables cover `0 <= |x| < 2^(lut_index_bits - lut_x_frac_bits)`.
    pub lut_index_bits: u32,
    /// Fractional bits of the table index `x` (the step between entries is `2^-lut_x_frac_bits`).
    pub lut_x_frac_bits: u32,
    /// Fractional bits of the table outputs `P` and `D`.
    pub lut_frac_bits: u32,
    /// Index bits of the inverse-square-root seed table.
    pub isqrt_seed_bits: u32,
    /// Fractional bits of the inverse-square-root mantissa `y`.
    pub isqrt_frac_bits: u32,
    /// Newton steps after the seed.
    pub newton_steps: u32,
    /// Signed width of the error signals `E`, `delta`.
    pub err_bits: u32,
    /// Fractional bits of the error signals.
    pub err_frac_bits: u32,
    /// Fractional bits of `kappa = sqrt(2p(1-p)) ||W_i||`.
    pub norm_frac_bits: u32,
    /// Guard bits: every parameter is stored with this many extra fractional bits; the engine
    /// uses the stored value shifted right by `guard_bits` (floor).
    pub guard_bits: u32,
    /// Step size of the stochastic rows' weights and biases.
    pub lr_shift: u32,
    /// Step size of `a_i`.
    pub lr_a_shift: u32,
    /// Step size of the output layer.
    pub lr_out_shift: u32,
    /// The host's softmax reads the integer logits as `L_k 2^-logit_shift`.
    pub logit_shift: u32,
}

impl Default for LearnConfig {
    fn default() -> Self {
        Self {
            schema: LEARN_SCHEMA.into(),
            lut_index_bits: 10,
            lut_x_frac_bits: 8,
            lut_frac_bits: 12,
            isqrt_seed_bits: 6,
            isqrt_frac_bits: 14,
            newton_steps: 2,
            err_bits: 16,
            err_frac_bits: 12,
            norm_frac_bits: 4,
            guard_bits: 8,
            lr_shift: 12,
            lr_a_shift: 12,
            lr_out_shift: 3,
            logit_shift: 8,
        }
    }
}

/// Why a learning configuration cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LearnError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("unsupported learning schema {found:?} (this build reads {LEARN_SCHEMA:?})")]
    Schema { found: String },
    #[error("learning configuration: {field} = {value} is outside {min}..={max}")]
    Range {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    #[error("learning configuration: the shift {name} = {value} would be negative; {hint}")]
    NegativeShift {
        name: &'static str,
        value: i64,
        hint: &'static str,
    },
    #[error(
        "learning needs a_frac_bits ({a_frac}) >= threshold_bits ({k}) so that p 2^F is an integer"
    )]
    PNotRepresentable { a_frac: u32, k: u32 },
    #[error(
        "learning needs a transmit probability p = t / 2^k strictly between 0 and 1 \
         (blank_out.threshold {t} of 2^{k})"
    )]
    NoNoise { t: u32, k: u32 },
    #[error("{what} needs {bits} bits; the update unit computes within {limit}")]
    TooWide {
        what: &'static str,
        bits: u32,
        limit: u32,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Json(#[from] JsonError),
}

/// Widest intermediate value of the update unit (signed); the Verilog computes row-level
/// intermediates in 64-bit signed wires.
pub const MAX_INTERMEDIATE_BITS: u32 = 62;

impl LearnConfig {
    /// Parses a JSON configuration (missing fields take their defaults; `origin` names it in
    /// errors).
    pub fn from_json(text: &str, origin: &str) -> Result<Self, LearnError> {
        Ok(read_document(text, origin, &LEARN_FORMAT)?)
    }

    /// Reads a configuration file.
    pub fn load(path: &std::path::Path) -> Result<Self, LearnError> {
        let origin = path.display().to_string();
        let text = crate::fsutil::read_text(path).map_err(|e| LearnError::Read {
            path: origin.clone(),
            message: e.to_string(),
        })?;
        Self::from_json(&text, &origin)
    }
}

fn range(field: &'static str, value: u32, min: u32, max: u32) -> Result<(), LearnError> {
    if value < min || value > max {
        return Err(LearnError::Range {
            field,
            value: value.into(),
            min: min.into(),
            max: max.into(),
        });
    }
    Ok(())
}

fn shift(name: &'static str, value: i64, hint: &'static str) -> Result<u32, LearnError> {
    if value < 0 {
        return Err(LearnError::NegativeShift { name, value, hint });
    }
    Ok(value as u32)
}

/// Bits of an unsigned value.
pub fn bit_length(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Round half up, then shift right (arithmetic): `(v + 2^(s-1)) >> s`; `s = 0` is `v`.
#[inline]
pub fn rshr(v: i64, s: u32) -> i64 {
    if s == 0 {
        v
    } else {
        (v + (1i64 << (s - 1))) >> s
    }
}

/// Saturates `v` to a signed `bits`-bit range, counting a clip in `sat`.
#[inline]
pub fn sat_signed(v: i64, bits: u32, sat: &mut u32) -> i64 {
    sat_range(v, -(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1, sat)
}

/// Clamps `v` to `lo..=hi`, counting a clip in `sat`.
#[inline]
pub fn sat_range(v: i64, lo: i64, hi: i64, sat: &mut u32) -> i64 {
    if v < lo {
        *sat += 1;
        lo
    } else if v > hi {
        *sat += 1;
        hi
    } else {
        v
    }
}

/// Everything the update unit needs, derived from an engine and a learning configuration:
/// constants, shifts, saturation limits and tables.
#[derive(Debug, Clone)]
pub struct UpdateSpec {
    pub learn: LearnConfig,
    pub weight_bits: u32,
    /// `F`, fractional bits of `A`.
    pub a_frac: u32,
    pub a_bits: u32,
    pub bias_bits: u32,
    /// `k`, threshold bits.
    pub k: u32,
    /// `P0 = p 2^F`.
    pub p0: i64,
    /// `m = 2 t (2^k - t)`, so that `2p(1-p) = m / 2^(2k)`.
    pub m: i64,
    /// Largest `|W|`: `2^(wb-1) - 1`.
    pub wmax: i64,
    /// Range of a stored weight (`W 2^G + guard`): `[-wmax 2^G, wmax 2^G + 2^G - 1]`.
    pub m_lo: i64,
    pub m_hi: i64,
    /// Largest row length and `Q = sum W^2` the unit accepts.
    pub max_fan_in: usize,
    pub q_bits: u32,
    /// `u = m Q` width (unsigned).
    pub u_bits: u32,
    /// Signed width of `S`.
    pub s_bits: u32,
    pub luts: ErfLuts,
    pub seed: SeedLut,
}

impl UpdateSpec {
    /// Validates `learn` against `cfg` and derives the unit's constants.
    pub fn new(cfg: &EngineConfig, learn: &LearnConfig) -> Result<Self, LearnError> {
        cfg.validate()?;
        let l = learn;
        if l.schema != LEARN_SCHEMA {
            return Err(LearnError::Schema {
                found: l.schema.clone(),
            });
        }
        range("lut_index_bits", l.lut_index_bits, 2, 16)?;
        range("lut_x_frac_bits", l.lut_x_frac_bits, 0, l.lut_index_bits)?;
        range("lut_frac_bits", l.lut_frac_bits, 2, 20)?;
        range("isqrt_seed_bits", l.isqrt_seed_bits, 3, 12)?;
        range("isqrt_frac_bits", l.isqrt_frac_bits, l.isqrt_seed_bits, 24)?;
        range("newton_steps", l.newton_steps, 0, 4)?;
        range("err_bits", l.err_bits, 4, 24)?;
        range("err_frac_bits", l.err_frac_bits, 1, l.err_bits - 2)?;
        range("norm_frac_bits", l.norm_frac_bits, 0, 16)?;
        range("guard_bits", l.guard_bits, 0, 16)?;
        range("lr_shift", l.lr_shift, 0, 30)?;
        range("lr_a_shift", l.lr_a_shift, 0, 30)?;
        range("lr_out_shift", l.lr_out_shift, 0, 30)?;
        range("logit_shift", l.logit_shift, 0, 24)?;
        let (k, t) = (cfg.blank_out.threshold_bits, cfg.blank_out.threshold);
        if t == 0 {
            return Err(LearnError::NoNoise { t, k });
        }
        let f = cfg.a_frac_bits;
        if f < k {
            return Err(LearnError::PNotRepresentable { a_frac: f, k });
        }
        let g = l.guard_bits;
        for (what, bits) in [
            (
                "a stored weight (weight_bits + guard_bits)",
                cfg.weight_bits + g,
            ),
            ("a stored a_i (a_bits + guard_bits)", cfg.a_bits + g),
            ("a stored bias (bias_bits + guard_bits)", cfg.bias_bits + g),
        ] {
            if bits > 48 {
                return Err(LearnError::TooWide {
                    what,
                    bits,
                    limit: 48,
                });
            }
        }
        let spec = Self::derive(cfg, learn);
        // Shifts must be non-negative for the smallest exponent h = 1.
        let (fe, fx, fy, fk) = (
            i64::from(l.err_frac_bits),
            i64::from(l.lut_x_frac_bits),
            i64::from(l.isqrt_frac_bits),
            i64::from(l.norm_frac_bits),
        );
        let (fi, ki, gi) = (i64::from(f), i64::from(k), i64::from(g));
        shift(
            "x: isqrt_frac_bits + a_frac_bits - threshold_bits - lut_x_frac_bits",
            fy + 1 + fi - ki - fx - 1,
            "raise isqrt_frac_bits",
        )?;
        shift(
            "kappa: isqrt_frac_bits + threshold_bits - norm_frac_bits",
            fy + 1 + ki - fk,
            "lower norm_frac_bits",
        )?;
        shift(
            "S rho: isqrt_frac_bits - threshold_bits - lut_x_frac_bits",
            fy + 1 - ki - fx,
            "raise isqrt_frac_bits",
        )?;
        shift(
            "a update: err_frac_bits + lut_x_frac_bits - a_frac_bits - guard_bits + lr_a_shift",
            fe + fx - fi - gi + i64::from(l.lr_a_shift),
            "raise lr_a_shift",
        )?;
        shift(
            "bias update: err_frac_bits + norm_frac_bits + lr_shift - guard_bits",
            fe + fk + i64::from(l.lr_shift) - gi,
            "raise lr_shift",
        )?;
        shift(
            "weight update: err_frac_bits + lr_shift - guard_bits",
            fe + i64::from(l.lr_shift) - gi,
            "raise lr_shift",
        )?;
        shift(
            "output update: err_frac_bits + lr_out_shift - guard_bits",
            fe + i64::from(l.lr_out_shift) - gi,
            "raise lr_out_shift",
        )?;
        // The widest products: N y and u y.
        let n_bits = (cfg.a_bits + 1 + spec.s_bits).max(cfg.bias_bits + f) + 1;
        for (what, bits) in [
            (
                "N y (drive numerator times inverse norm)",
                n_bits + fy as u32 + 2,
            ),
            (
                "u y (norm^2 times inverse norm)",
                spec.u_bits + fy as u32 + 2,
            ),
        ] {
            if bits > MAX_INTERMEDIATE_BITS {
                return Err(LearnError::TooWide {
                    what,
                    bits,
                    limit: MAX_INTERMEDIATE_BITS,
                });
            }
        }
        Ok(spec)
    }

    fn derive(cfg: &EngineConfig, l: &LearnConfig) -> Self {
        let (k, t) = (cfg.blank_out.threshold_bits, cfg.blank_out.threshold);
        let wmax = (1i64 << (cfg.weight_bits - 1)) - 1;
        let g = l.guard_bits;
        let q_max = cfg.max_fan_in as u64 * (wmax * wmax) as u64;
        let m = drive_scale_squared_fixed(t, k);
        Self {
            learn: l.clone(),
            weight_bits: cfg.weight_bits,
            a_frac: cfg.a_frac_bits,
            a_bits: cfg.a_bits,
            bias_bits: cfg.bias_bits,
            k,
            p0: transmit_p_fixed(t, k, cfg.a_frac_bits),
            m,
            wmax,
            m_lo: -(wmax << g),
            m_hi: (wmax << g) + (1i64 << g) - 1,
            max_fan_in: cfg.max_fan_in,
            q_bits: bit_length(q_max),
            u_bits: bit_length(q_max * m as u64),
            s_bits: crate::engine::config::signed_bits_for(cfg.max_fan_in as u128 * wmax as u128),
            luts: ErfLuts::new(l.lut_index_bits, l.lut_x_frac_bits, l.lut_frac_bits),
            seed: SeedLut::new(l.isqrt_seed_bits, l.isqrt_frac_bits),
        }
    }

    /// Stored (guarded) value of an engine weight, `a_i` or bias.
    pub fn guard(&self, v: i64) -> i64 {
        v << self.learn.guard_bits
    }

    /// Engine value of a stored parameter (floor).
    pub fn unguard(&self, v: i64) -> i64 {
        v >> self.learn.guard_bits
    }
}
