//! The validated register and its scalar reference operations, jump-ahead included.

use serde::{Deserialize, Serialize};

use super::taps::{is_primitive, tap_mask, STANDARD_TAPS};
use super::{low_mask, LfsrError, MAX_WIDTH, MIN_WIDTH};

/// A validated LFSR description: width and maximal-length taps (stored in descending order).
///
/// Deserialization runs the same validation as [`LfsrSpec::new`], so a spec read from a
/// configuration file is always maximal-length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawLfsrSpec")]
pub struct LfsrSpec {
    pub(super) width: u32,
    pub(super) taps: Vec<u32>,
    /// Bit `t - 1` set for every tap `t` (derived; not serialized).
    #[serde(skip)]
    pub(super) tap_mask: u32,
}

/// The unvalidated serialized form of [`LfsrSpec`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLfsrSpec {
    width: u32,
    taps: Vec<u32>,
}

impl TryFrom<RawLfsrSpec> for LfsrSpec {
    type Error = LfsrError;
    fn try_from(raw: RawLfsrSpec) -> Result<Self, LfsrError> {
        LfsrSpec::new(raw.width, &raw.taps)
    }
}

impl LfsrSpec {
    /// Validates `width` (2 to 32) and `taps` (each in `1..=width`, no duplicates, `width`
    /// included, in any order) and checks that the register has maximal length.
    pub fn new(width: u32, taps: &[u32]) -> Result<Self, LfsrError> {
        let tap_mask = tap_mask(width, taps)?;
        if !is_primitive(width, taps) {
            return Err(LfsrError::NotMaximal {
                width,
                taps: taps.to_vec(),
            });
        }
        let mut sorted = taps.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Self {
            width,
            taps: sorted,
            tap_mask,
        })
    }

    /// The built-in maximal-length register of this width (see [`STANDARD_TAPS`]).
    pub fn standard(width: u32) -> Result<Self, LfsrError> {
        if !(MIN_WIDTH..=MAX_WIDTH).contains(&width) {
            return Err(LfsrError::Width(width));
        }
        let (_, taps) = STANDARD_TAPS
            .iter()
            .find(|(w, _)| *w == width)
            .ok_or(LfsrError::NoPolynomial(width))?;
        Self::new(width, taps)
    }

    /// Register width in bits.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Taps, in descending order (the first is the width).
    pub fn taps(&self) -> &[u32] {
        &self.taps
    }

    /// Mask of the meaningful state bits, `2^width - 1`.
    pub fn mask(&self) -> u32 {
        low_mask(self.width)
    }

    /// Length of the state sequence from any nonzero state, `2^width - 1`.
    pub fn period(&self) -> u64 {
        (1u64 << self.width) - 1
    }

    /// One step: feedback = parity of the tapped bits, shifted in at bit 0.
    #[inline]
    pub fn step(&self, s: u32) -> u32 {
        let fb = (s & self.tap_mask).count_ones() & 1;
        ((s << 1) | fb) & self.mask()
    }

    /// `k` consecutive steps; afterwards the produced bits are the low `k` bits of the state,
    /// the first one at bit `k - 1`.
    ///
    /// # Panics
    /// If `k == 0` or `k > width` (a programmer error: gate widths are validated upstream).
    #[inline]
    pub fn leap(&self, s: u32, k: u32) -> u32 {
        self.assert_leap(k);
        let mut s = s;
        for _ in 0..k {
            s = self.step(s);
        }
        s
    }

    /// One gate: leaps `*s` by `k` and returns whether the produced `k`-bit value
    /// `r = *s & (2^k - 1)` is below `threshold`.
    ///
    /// # Panics
    /// As [`LfsrSpec::leap`].
    #[inline]
    pub fn gate(&self, s: &mut u32, k: u32, threshold: u32) -> bool {
        *s = self.leap(*s, k);
        (*s & low_mask(k)) < threshold
    }

    /// The state after `n` single steps from `s`, in `O(width^2 log n)` time: the step is a
    /// linear map over GF(2), applied here through repeated squaring of its matrix. Equal to
    /// calling [`LfsrSpec::step`] `n` times (`n` is not reduced modulo the period).
    pub fn jump(&self, s: u32, n: u64) -> u32 {
        let w = self.width as usize;
        // Column j of the matrix is the image of the basis state 1 << j.
        let mut power = [0u32; MAX_WIDTH as usize];
        for (j, col) in power.iter_mut().enumerate().take(w) {
            *col = self.step(1u32 << j);
        }
        let apply = |m: &[u32; MAX_WIDTH as usize], v: u32| -> u32 {
            let mut out = 0u32;
            let mut bits = v & low_mask(w as u32);
            while bits != 0 {
                out ^= m[bits.trailing_zeros() as usize];
                bits &= bits - 1;
            }
            out
        };
        let mut v = s & self.mask();
        let mut n = n;
        while n != 0 {
            if n & 1 != 0 {
                v = apply(&power, v);
            }
            n >>= 1;
            if n != 0 {
                let mut squared = [0u32; MAX_WIDTH as usize];
                for j in 0..w {
                    squared[j] = apply(&power, power[j]);
                }
                power = squared;
            }
        }
        v
    }

    /// Returns `seed` if it is a legal state (nonzero and below `2^width`).
    pub fn check_seed(&self, seed: u32) -> Result<u32, LfsrError> {
        if seed == 0 || seed & !self.mask() != 0 {
            return Err(LfsrError::Seed {
                width: self.width,
                seed,
            });
        }
        Ok(seed)
    }

    pub(super) fn assert_leap(&self, k: u32) {
        assert!(
            k >= 1 && k <= self.width,
            "LFSR leap of {k} bits is outside 1..={} (the register width)",
            self.width
        );
    }
}
