//! A leap by a fixed number of steps through byte lookup tables.

use super::{low_mask, LfsrSpec};

/// A leap by a fixed `k` through byte lookup tables.
///
/// The leap is linear over GF(2), so `leap(s)` is the XOR of the leaps of the four bytes of `s`
/// taken separately; each table holds those 256 partial results for one byte position.
#[derive(Clone)]
pub struct Leaper {
    tables: Box<[[u32; 256]; 4]>,
    k: u32,
    width: u32,
}

impl std::fmt::Debug for Leaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaper")
            .field("width", &self.width)
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

impl Leaper {
    /// Tables for leaps of `k` steps of `spec`.
    ///
    /// # Panics
    /// If `k == 0` or `k > spec.width()`, as [`LfsrSpec::leap`].
    pub fn new(spec: &LfsrSpec, k: u32) -> Self {
        spec.assert_leap(k);
        let mut tables = Box::new([[0u32; 256]; 4]);
        for (byte, table) in tables.iter_mut().enumerate() {
            for (value, entry) in table.iter_mut().enumerate() {
                // Bits at or above the width are zero in legal states and, being outside the
                // taps and masked off by the step, contribute nothing anyway.
                *entry = spec.leap((value as u32) << (8 * byte), k);
            }
        }
        Self {
            tables,
            k,
            width: spec.width(),
        }
    }

    /// Leap length in steps.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// `spec.leap(s, k)`.
    #[inline]
    pub fn leap(&self, s: u32) -> u32 {
        let [b0, b1, b2, b3] = s.to_le_bytes();
        self.tables[0][b0 as usize]
            ^ self.tables[1][b1 as usize]
            ^ self.tables[2][b2 as usize]
            ^ self.tables[3][b3 as usize]
    }

    /// `spec.gate(s, k, threshold)`.
    #[inline]
    pub fn gate(&self, s: &mut u32, threshold: u32) -> bool {
        *s = self.leap(*s);
        (*s & low_mask(self.k)) < threshold
    }
}
