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

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// `2 / sqrt(pi)`.
pub const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

/// The multiplicative synaptic noise `xi_ij` of eq. 5.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noise {
    /// Blank-out synapses: `xi ~ Bernoulli(blank_out_p)` (the synapse transmits with probability p).
    BlankOut { blank_out_p: f64 },
    /// gNSM: `xi ~ N(1, sigma^2)`.
    Gaussian { sigma: f64 },
}

impl Noise {
    /// Checks the parameter range: `0 < p < 1`, `sigma > 0`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Noise::BlankOut { blank_out_p: p } => {
                if p.is_finite() && p > 0.0 && p < 1.0 {
                    Ok(())
                } else {
                    Err(ModelError::BlankOutP(p))
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
            Noise::BlankOut { blank_out_p } => blank_out_p,
            Noise::Gaussian { .. } => 1.0,
        }
    }

    /// `Var xi`.
    pub fn variance(&self) -> f64 {
        match *self {
            Noise::BlankOut { blank_out_p: p } => p * (1.0 - p),
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

/// `||w_i||`, the L2 norm of a weight row.
pub fn row_norm(row: &[f32]) -> f64 {
    row.iter()
        .map(|&w| f64::from(w) * f64::from(w))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_and_beta_are_inverse() {
        for noise in [
            Noise::BlankOut { blank_out_p: 0.5 },
            Noise::BlankOut { blank_out_p: 0.1 },
            Noise::Gaussian { sigma: 0.7 },
        ] {
            for beta in [-2.0, 0.0, 0.3, 1.0, 5.0] {
                let a = noise.a_from_beta(beta);
                assert!((noise.beta_from_a(a) - beta).abs() < 1e-12);
            }
        }
        // beta = 1 at p = 1/2: a = sqrt(1/2) - 1/2.
        let n = Noise::BlankOut { blank_out_p: 0.5 };
        assert!((n.a_from_beta(1.0) - (0.5f64.sqrt() - 0.5)).abs() < 1e-12);
    }

    #[test]
    fn invalid_noise_is_refused() {
        for p in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                Noise::BlankOut { blank_out_p: p }.validate(),
                Err(ModelError::BlankOutP(_))
            ));
        }
        assert!(matches!(
            Noise::Gaussian { sigma: 0.0 }.validate(),
            Err(ModelError::GaussianSigma(_))
        ));
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
