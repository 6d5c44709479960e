//! The two tables of the update unit, indexed by `|x|` in steps of `2^-x_frac`:
//! `P(x) = 1/2 (1 + erf(x))` (eq. 3-4, the firing probability; negative `x` by symmetry,
//! `P(-x) = 1 - P(x)`) and its straight-through derivative `D(x) = d(2P - 1)/dx =
//! (2/sqrt(pi)) exp(-x^2)` (even). Entries are rounded to `out_frac` fractional bits; an index
//! beyond the table reads the last entry.

use crate::equations::{d_two_p_minus_one, firing_probability};

/// The firing-probability and derivative tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErfLuts {
    pub index_bits: u32,
    pub x_frac: u32,
    pub out_frac: u32,
    /// `round(2^out_frac P(i 2^-x_frac))`, `i = 0 .. 2^index_bits`.
    pub p: Vec<u32>,
    /// `round(2^out_frac D(i 2^-x_frac))`.
    pub d: Vec<u32>,
}

impl ErfLuts {
    pub fn new(index_bits: u32, x_frac: u32, out_frac: u32) -> Self {
        let n = 1usize << index_bits;
        let one = (1u64 << out_frac) as f64;
        let step = 1.0 / (1u64 << x_frac) as f64;
        let p = (0..n)
            .map(|i| (firing_probability(i as f64 * step) * one).round() as u32)
            .collect();
        let d = (0..n)
            .map(|i| (d_two_p_minus_one(i as f64 * step) * one).round() as u32)
            .collect();
        Self {
            index_bits,
            x_frac,
            out_frac,
            p,
            d,
        }
    }

    /// Table index of a drive `x_fix` (fractional bits `x_frac`).
    #[inline]
    pub fn index(&self, x_fix: i64) -> usize {
        (x_fix.unsigned_abs() as usize).min(self.p.len() - 1)
    }

    /// `(P, D)` of the drive `x_fix`, with `out_frac` fractional bits.
    #[inline]
    pub fn lookup(&self, x_fix: i64) -> (u32, u32) {
        let i = self.index(x_fix);
        let p = if x_fix >= 0 {
            self.p[i]
        } else {
            (1u32 << self.out_frac) - self.p[i]
        };
        (p, self.d[i])
    }

    /// Width of a table entry (unsigned): `D(0) = 2/sqrt(pi) > 1` needs one integer bit.
    pub fn out_bits(&self) -> u32 {
        self.out_frac + 1
    }

    /// Quantizes a real drive the way the unit does (round half up).
    pub fn quantize_x(&self, x: f64) -> i64 {
        (x * (1u64 << self.x_frac) as f64 + 0.5).floor() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest |table - exact| over a grid 16 times finer than the table, on
    /// `[-2 range, 2 range]` (twice the table's span: clamping is covered too).
    fn max_errors(l: &ErfLuts) -> (f64, f64) {
        let one = (1u64 << l.out_frac) as f64;
        let span = (1u64 << (l.index_bits - l.x_frac)) as f64;
        let n = (1i64 << l.index_bits) * 16 * 2;
        let (mut ep, mut ed) = (0f64, 0f64);
        for i in -n..=n {
            let x = i as f64 * span / (n as f64 / 2.0);
            let (p, d) = l.lookup(l.quantize_x(x));
            let p_exact = 0.5 * (1.0 + libm::erf(x));
            let d_exact = 2.0 / std::f64::consts::PI.sqrt() * libm::exp(-x * x);
            ep = ep.max((f64::from(p) / one - p_exact).abs());
            ed = ed.max((f64::from(d) / one - d_exact).abs());
        }
        (ep, ed)
    }

    #[test]
    fn default_tables_within_2_pow_minus_8_of_libm() {
        let l = ErfLuts::new(10, 8, 12);
        let (ep, ed) = max_errors(&l);
        assert!(ep <= 2f64.powi(-8), "P max error {ep}");
        assert!(ed <= 2f64.powi(-8), "D max error {ed}");
        // the bound is met with room: half a step times the largest slope, plus rounding
        assert!(ep < 0.0015 && ed < 0.0025, "{ep} {ed}");
    }

    #[test]
    fn coarse_tables_exceed_the_bound() {
        // 2^-5 steps: half a step of D's slope (0.97) alone is 0.015
        let l = ErfLuts::new(7, 5, 12);
        let (ep, ed) = max_errors(&l);
        assert!(ep > 2f64.powi(-8) && ed > 2f64.powi(-8), "{ep} {ed}");
    }

    #[test]
    fn symmetry_and_ends() {
        let l = ErfLuts::new(10, 8, 12);
        assert_eq!(l.lookup(0), (2048, 4622));
        for x in [1i64, 37, 255, 1023, 5000] {
            let (p, d) = l.lookup(x);
            let (pn, dn) = l.lookup(-x);
            assert_eq!(p + pn, 4096);
            assert_eq!(d, dn);
        }
        assert_eq!(l.lookup(1 << 20), (4096, 0));
        assert_eq!(l.lookup(-(1 << 20)), (0, 0));
    }
}
