//! The equations of the Neural Sampling Machine, each in one place, named as in the papers.
//!
//! References: Detorakis et al., "Inherent Weight Normalization in Stochastic Neural Networks",
//! NeurIPS 2019 (below "NSM"), and Neftci, "Stochastic Synapses as Resource for Efficient Deep
//! Learning Machines" (below "S2M"). Equation numbers are those of the NSM paper.
//!
//! * eq. 1  `z_i = sgn(u_i)`, with `sgn(0) = +1`: [`sign_unit`].
//! * eq. 5  `u_i = sum_j (xi_ij + a_i) w_ij z_j + b_i`, split as `u_i = T_i + a_i S_i + b_i` with
//!   `S_i = sum_j w_ij z_j` and `T_i = sum_j xi_ij w_ij z_j`: [`preactivation`].
//! * eq. 3/4 firing probability `P(z_i = 1 | z) = 1/2 (1 + erf(x_i))`: [`firing_probability`],
//!   with `x_i = beta_i S_i / ||w_i|| + b_i / (sqrt(2 Var xi) ||w_i||)`: [`normalized_drive`].
//! * `beta_i = (a_i + E xi) / sqrt(2 Var xi)`: [`Noise::beta_from_a`] / [`Noise::a_from_beta`];
//!   for blank-out noise `E xi = p`, `Var xi = p (1 - p)`; for Gaussian noise `E xi = 1`,
//!   `Var xi = sigma^2`.
//! * straight-through backward pass `d(2P - 1)/dx = (2 / sqrt(pi)) exp(-x^2)`:
//!   [`d_two_p_minus_one`].
//! * eq. 6-7 weight-normalization gradients: [`crate::train`] (`weight_norm_gradients`).
//! * eq. 8 data-dependent initialization: [`crate::train::data_dependent_init`].
//! * StNN baseline (NSM Table 1): `P = sigmoid(w . z)`, no bias: [`sigmoid`].
//!
//! The engine's fixed-point forms (`docs/engine-spec.md`, sections 2 and 5), used by both
//! bit-exact models, the quantizer, the firing statistics and the learning unit:
//!
//! * eq. 5 scaled by `2^F`: `u' = 2^F (T + B) + A S`: [`fixed_preactivation`]; eq. 1 on it:
//!   [`fixed_fires`]; its mean over the blank-out gates, `(A + p 2^F) S + 2^F B`:
//!   [`fixed_mean_preactivation`].
//! * `A = round(a 2^F)` and back: [`fixed_point_scale`], [`a_from_fixed`]; `p 2^F`:
//!   [`transmit_p_fixed`]; the squared drive scale `2 p (1 - p)` in units of `2^-2k`:
//!   [`drive_scale_squared_fixed`].
//! * The drive from the mean pre-activation, `x = E u / (sqrt(2 Var xi) ||w||)`:
//!   [`mean_preactivation`], [`drive_from_mean`] (the same `x` as [`normalized_drive`]).

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// `2 / sqrt(pi)`.
pub const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

/// The multiplicative synaptic noise `xi_ij` of eq. 5.
///
/// Written `{"kind": "blank_out", "transmit_p": p}` or `{"kind": "gaussian", "sigma": s}`;
/// read through `RawNoise` so that an unknown key, or the other kind's parameter, is refused
/// by name. Files written before the rename call `transmit_p` `blank_out_p`; they still load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RawNoise")]
pub enum Noise {
    /// Blank-out synapses: `xi ~ Bernoulli(p)`, `p = transmit_p`: a synapse transmits
    /// (`xi = 1`) with probability `p` and blanks out with probability `1 - p`.
    BlankOut { transmit_p: f64 },
    /// gNSM: `xi ~ N(1, sigma^2)`.
    Gaussian { sigma: f64 },
}

/// How a `noise` object is written: the tag and the parameters of every kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNoise {
    kind: NoiseKind,
    /// The old name `blank_out_p` meant the same `p` (the probability of transmitting).
    #[serde(default, alias = "blank_out_p")]
    transmit_p: Option<f64>,
    #[serde(default)]
    sigma: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum NoiseKind {
    BlankOut,
    Gaussian,
}

impl TryFrom<RawNoise> for Noise {
    type Error = String;
    fn try_from(raw: RawNoise) -> std::result::Result<Self, String> {
        match (raw.kind, raw.transmit_p, raw.sigma) {
            (NoiseKind::BlankOut, Some(transmit_p), None) => Ok(Noise::BlankOut { transmit_p }),
            (NoiseKind::Gaussian, None, Some(sigma)) => Ok(Noise::Gaussian { sigma }),
            (NoiseKind::BlankOut, _, Some(s)) => Err(format!(
                "kind \"blank_out\" takes transmit_p, not sigma (found sigma = {s})"
            )),
            (NoiseKind::Gaussian, Some(p), _) => Err(format!(
                "kind \"gaussian\" takes sigma, not transmit_p (found transmit_p = {p})"
            )),
            (NoiseKind::BlankOut, None, None) => {
                Err("kind \"blank_out\" needs transmit_p".to_string())
            }
            (NoiseKind::Gaussian, None, None) => Err("kind \"gaussian\" needs sigma".to_string()),
        }
    }
}

impl Noise {
    /// The `kind` tag as files write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Noise::BlankOut { .. } => "blank_out",
            Noise::Gaussian { .. } => "gaussian",
        }
    }

    /// Checks the parameter range: `0 < p < 1`, `sigma > 0`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Noise::BlankOut { transmit_p: p } => {
                if p.is_finite() && p > 0.0 && p < 1.0 {
                    Ok(())
                } else {
                    Err(ModelError::TransmitP(p))
                }
            }
            Noise::Gaussian { sigma } => {
                if sigma.is_finite() && sigma > 0.0 {
                    Ok(())
                } else {
                    Err(ModelError::GaussianSigma(sigma))
                }
            }
        }
    }

    /// `E xi`.
    pub fn mean(&self) -> f64 {
        match *self {
            Noise::BlankOut { transmit_p } => transmit_p,
            Noise::Gaussian { .. } => 1.0,
        }
    }

    /// `Var xi`.
    pub fn variance(&self) -> f64 {
        match *self {
            Noise::BlankOut { transmit_p: p } => p * (1.0 - p),
            Noise::Gaussian { sigma } => sigma * sigma,
        }
    }

    /// `sqrt(2 Var xi)`: the factor between the standard deviation of `u_i` and `||w_i||`,
    /// times `sqrt(2)` (the erf argument of eq. 3).
    pub fn drive_scale(&self) -> f64 {
        (2.0 * self.variance()).sqrt()
    }

    /// `a_i = beta_i sqrt(2 Var xi) - E xi` (for blank-out: `beta sqrt(2p(1-p)) - p`).
    pub fn a_from_beta(&self, beta: f64) -> f64 {
        beta * self.drive_scale() - self.mean()
    }

    /// `beta_i = (a_i + E xi) / sqrt(2 Var xi)`.
    pub fn beta_from_a(&self, a: f64) -> f64 {
        (a + self.mean()) / self.drive_scale()
    }
}

/// Eq. 1: the sign unit, `+1` for `u >= 0`, else `-1`.
#[inline]
pub fn sign_unit(u: f32) -> f32 {
    if u >= 0.0 {
        1.0
    } else {
        -1.0
    }
}

/// Eq. 5 split into its parts: `u = T + a S + b`.
#[inline]
pub fn preactivation(t: f32, a: f32, s: f32, b: f32) -> f32 {
    t + a * s + b
}

/// The erf argument of eq. 3: `x = beta S / ||w|| + b / (sqrt(2 Var xi) ||w||)`.
#[inline]
pub fn normalized_drive(beta: f64, s: f64, b: f64, row_norm: f64, drive_scale: f64) -> f64 {
    beta * s / row_norm + b / (drive_scale * row_norm)
}

/// Eq. 3/4: `P(z = 1) = 1/2 (1 + erf(x))`.
#[inline]
pub fn firing_probability(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x))
}

/// Derivative of the expected state `2P - 1 = erf(x)`: `(2 / sqrt(pi)) exp(-x^2)`.
#[inline]
pub fn d_two_p_minus_one(x: f64) -> f64 {
    TWO_OVER_SQRT_PI * (-x * x).exp()
}

/// Logistic sigmoid, the firing probability of the StNN baseline.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `||w_i||`, the L2 norm of a weight row (float or integer weights).
pub fn row_norm<T: Copy + Into<f64>>(row: &[T]) -> f64 {
    row.iter().map(|&w| w.into() * w.into()).sum::<f64>().sqrt()
}

/// The mean of eq. 5 over the noise: `E u = (E xi + a) S + b`.
#[inline]
pub fn mean_preactivation(mean_xi: f64, a: f64, s: f64, b: f64) -> f64 {
    (mean_xi + a) * s + b
}

/// The erf argument of eq. 3 from the mean pre-activation: `x = E u / (sqrt(2 Var xi) ||w||)`.
/// With `E u = (E xi + a) S + b` and `beta = (a + E xi) / sqrt(2 Var xi)` this is
/// [`normalized_drive`].
#[inline]
pub fn drive_from_mean(mean_u: f64, drive_scale: f64, row_norm: f64) -> f64 {
    mean_u / (drive_scale * row_norm)
}

// ---- the engine's fixed point ----

/// `2^F`, the scale of the engine's fixed-point `a_i`: `A_i = round(a_i 2^F)`.
#[inline]
pub fn fixed_point_scale(frac_bits: u32) -> f64 {
    (1u64 << frac_bits) as f64
}

/// `a_i` of a fixed-point `A_i`: `A / 2^F` (exact).
#[inline]
pub fn a_from_fixed(a_fixed: i32, frac_bits: u32) -> f64 {
    f64::from(a_fixed) / fixed_point_scale(frac_bits)
}

/// Eq. 5 as the engine's neuron unit computes it, scaled by `2^F` so that no rounding
/// happens anywhere: `u' = 2^F (T + B) + A S`, with `T = sum_j xi_ij W_ij z_j`,
/// `S = sum_j W_ij z_j`, `A = round(a 2^F)` and the integer bias `B`. Its sign is that of
/// `T + (A / 2^F) S + B`. The configuration's derived width of `u'` bounds it (at most 62
/// bits), so the `i64` arithmetic never overflows.
#[inline]
pub fn fixed_preactivation(t: i64, a: i64, s: i64, b: i64, frac_bits: u32) -> i64 {
    ((t + b) << frac_bits) + a * s
}

/// Eq. 1 on `u'`: the neuron fires (`z = +1`) iff `u' >= 0`.
#[inline]
pub fn fixed_fires(u_fixed: i64) -> bool {
    u_fixed >= 0
}

/// The mean of `u'` over the blank-out gates (`E T = p S`): `(A + p 2^F) S + 2^F B`, with
/// `p_fixed = p 2^F` ([`transmit_p_fixed`]); the numerator of the drive the update unit
/// looks up `P` at.
#[inline]
pub fn fixed_mean_preactivation(a: i64, p_fixed: i64, s: i64, b: i64, frac_bits: u32) -> i64 {
    (a + p_fixed) * s + (b << frac_bits)
}

/// `p 2^F` for the engine's `p = t / 2^k`: `t 2^(F - k)`, an integer when `F >= k`.
#[inline]
pub fn transmit_p_fixed(threshold: u32, threshold_bits: u32, frac_bits: u32) -> i64 {
    i64::from(threshold) << (frac_bits - threshold_bits)
}

/// The squared drive scale `2 Var xi = 2 p (1 - p)` of the engine's `p = t / 2^k`, in units of
/// `2^-2k`: `2 t (2^k - t)`.
#[inline]
pub fn drive_scale_squared_fixed(threshold: u32, threshold_bits: u32) -> i64 {
    2 * i64::from(threshold) * ((1i64 << threshold_bits) - i64::from(threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_and_beta_are_inverse() {
        for noise in [
            Noise::BlankOut { transmit_p: 0.5 },
            Noise::BlankOut { transmit_p: 0.1 },
            Noise::Gaussian { sigma: 0.7 },
        ] {
            for beta in [-2.0, 0.0, 0.3, 1.0, 5.0] {
                let a = noise.a_from_beta(beta);
                assert!((noise.beta_from_a(a) - beta).abs() < 1e-12);
            }
        }
        // beta = 1 at p = 1/2: a = sqrt(1/2) - 1/2.
        let n = Noise::BlankOut { transmit_p: 0.5 };
        assert!((n.a_from_beta(1.0) - (0.5f64.sqrt() - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn invalid_noise_is_refused() {
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                Noise::BlankOut { transmit_p: p }.validate(),
                Err(ModelError::TransmitP(_))
            ));
        }
        assert!(matches!(
            Noise::Gaussian { sigma: 0.0 }.validate(),
            Err(ModelError::GaussianSigma(_))
        ));
    }

    #[test]
    fn fixed_point_forms() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        for _ in 0..10_000 {
            let frac = rng.gen_range(0..=20);
            let (t, a, s, b) = (
                rng.gen_range(-(1i64 << 20)..1 << 20),
                rng.gen_range(-(1i64 << 15)..1 << 15),
                rng.gen_range(-(1i64 << 20)..1 << 20),
                rng.gen_range(-(1i64 << 19)..1 << 19),
            );
            // the inline formula both bit-exact models used
            let u = ((t + b) << frac) + a * s;
            assert_eq!(fixed_preactivation(t, a, s, b, frac), u);
            assert_eq!(fixed_fires(u), u >= 0);
            // exact in the reals: u' / 2^F = T + (A / 2^F) S + B
            let scale = fixed_point_scale(frac);
            let real = t as f64 + a as f64 / scale * s as f64 + b as f64;
            assert!((u as f64 / scale - real).abs() <= 1e-6 * real.abs().max(1.0));
            // with every gate open (p = 1, T = S) the mean is u' itself
            let one = transmit_p_fixed(1, 0, frac);
            assert_eq!(one, 1 << frac);
            assert_eq!(
                fixed_mean_preactivation(a, one, s, b, frac),
                fixed_preactivation(s, a, s, b, frac)
            );
        }
        assert_eq!(a_from_fixed(-3, 2), -0.75);
        // p = 3/8 with F = 5: p 2^F = 12; 2 p (1 - p) 2^6 = 2 * 3 * 5 = 30
        assert_eq!(transmit_p_fixed(3, 3, 5), 12);
        assert_eq!(drive_scale_squared_fixed(3, 3), 30);
        let p = 3.0 / 8.0;
        let n = Noise::BlankOut { transmit_p: p };
        assert_eq!(n.drive_scale().powi(2) * 64.0, 30.0);
        // the old inline drive scale is the same float
        assert_eq!(n.drive_scale(), (2.0 * p * (1.0 - p)).sqrt());
        // the drive from the mean is the normalized drive
        let (beta, s, b, norm) = (0.8, 13.0, -2.5, 7.0);
        let a = n.a_from_beta(beta);
        let x = drive_from_mean(mean_preactivation(p, a, s, b), n.drive_scale(), norm);
        assert!((x - normalized_drive(beta, s, b, norm, n.drive_scale())).abs() < 1e-12);
        assert_eq!(row_norm(&[3i32, -4]), 5.0);
        assert_eq!(row_norm(&[3f32, -4.0]), 5.0);
    }

    #[test]
    fn the_derivative_constant_is_the_old_quotient() {
        // the erf tables used 2 / sqrt(pi); TWO_OVER_SQRT_PI is the same f64
        assert_eq!(
            TWO_OVER_SQRT_PI.to_bits(),
            (2.0 / std::f64::consts::PI.sqrt()).to_bits()
        );
    }

    #[test]
    fn derivative_matches_finite_difference() {
        for x in [-2.0, -0.5, 0.0, 0.3, 1.7] {
            let h = 1e-6;
            let fd = (libm::erf(x + h) - libm::erf(x - h)) / (2.0 * h);
            assert!((fd - d_two_p_minus_one(x)).abs() < 1e-8);
        }
    }
}
