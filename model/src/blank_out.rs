//! Per-synapse blank-out noise as bit masks, and the masked accumulation it drives.
//!
//! Eq. 5 needs one Bernoulli(p) draw `xi_ij` per synapse and per pass. A draw is one bit: a u64
//! word carries the gates of 64 synapses. [`BlankOutSampler`] builds such words for any `p`
//! (resolved to 2^-32) from fair random words, and [`masked_signed_sum`] computes the blank-out
//! sum `T_i = sum_j xi_ij w_ij z_j` of one row without multiplications: `z_j = +-1` is a flip of
//! the sign bit of `w_ij`, and `xi_ij` selects the term with a bit mask.

use rand::RngCore;

/// Resolution of `p`: the sampler realizes `round(p 2^32) / 2^32`.
pub const P_BITS: u32 = 32;

/// Generates words of independent Bernoulli(p) bits.
///
/// With `p = 0.d1 d2 ... d32` in binary, a bit that starts at 0 and is folded with fresh fair
/// bits `x_k` from the least significant digit upwards, `r <- d_k ? (r | x_k) : (r & x_k)`,
/// ends with `P(r = 1) = p` (each step maps `P` to `(d_k + P) / 2`). Trailing zero digits leave
/// `r = 0`, so they are skipped: `p = 1/2` costs one random word per 64 synapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlankOutSampler {
    /// `round(p 2^32)`, in `1 ..= 2^32 - 1`.
    threshold: u64,
}

impl BlankOutSampler {
    /// Sampler for the transmit probability `p` in (0, 1): a bit is 1 (the synapse transmits,
    /// `xi = 1`) with probability `p`. The range is checked by the caller's validation; values
    /// are clamped to the representable range here.
    pub fn new(p: f64) -> Self {
        let scaled = (p * (1u64 << P_BITS) as f64).round();
        let threshold = scaled.clamp(1.0, ((1u64 << P_BITS) - 1) as f64) as u64;
        Self { threshold }
    }

    /// The probability actually realized: `threshold / 2^32`.
    pub fn realized_p(&self) -> f64 {
        self.threshold as f64 / (1u64 << P_BITS) as f64
    }

    /// Fair random words consumed per output word.
    pub fn words_per_mask_word(&self) -> u32 {
        P_BITS - self.threshold.trailing_zeros()
    }

    /// One word of 64 independent Bernoulli(p) bits.
    #[inline]
    pub fn next_word<R: RngCore + ?Sized>(&self, rng: &mut R) -> u64 {
        let lowest = self.threshold.trailing_zeros();
        let mut r = 0u64;
        for k in lowest..P_BITS {
            let x = rng.next_u64();
            r = if (self.threshold >> k) & 1 == 1 {
                r | x
            } else {
                r & x
            };
        }
        r
    }

    /// Fills `out` with mask words.
    #[inline]
    pub fn fill<R: RngCore + ?Sized>(&self, rng: &mut R, out: &mut [u64]) {
        for w in out {
            *w = self.next_word(rng);
        }
    }
}

/// Lane masks of one byte of gate bits: entry `b`, lane `l` is all ones where bit `l` of `b` is
/// set. Indexing this table turns 8 gate bits into 8 select masks with one load.
pub(crate) static LANE_MASKS: [[u32; 8]; 256] = build_lane_masks();

const fn build_lane_masks() -> [[u32; 8]; 256] {
    let mut t = [[0u32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut l = 0;
        while l < 8 {
            if (b >> l) & 1 == 1 {
                t[b][l] = u32::MAX;
            }
            l += 1;
        }
        b += 1;
    }
    t
}

/// Sign-bit mask of a +-1 state: `0x8000_0000` for `z < 0`, else 0.
#[inline]
pub fn sign_mask(z: f32) -> u32 {
    z.to_bits() & 0x8000_0000
}

/// `sum_j xi_j w_j z_j` for one row, where `w_bits` are the f32 bit patterns of `w_j`, `z_sign`
/// the sign masks of `z_j` ([`sign_mask`]) and bit `j % 64` of `mask[j / 64]` is `xi_j`.
///
/// `w_bits.len()` and `z_sign.len()` must equal `64 * mask.len()` (rows are zero-padded to a
/// multiple of 64; padded weights contribute nothing whatever their gate). The summation order
/// is fixed (8 interleaved partial sums, then a fixed tree), so results are reproducible.
#[inline]
pub fn masked_signed_sum(w_bits: &[u32], z_sign: &[u32], mask: &[u64]) -> f32 {
    assert_eq!(w_bits.len(), mask.len() * 64);
    assert_eq!(z_sign.len(), mask.len() * 64);
    let mut acc = [0f32; 8];
    for ((w64, z64), &m) in w_bits
        .chunks_exact(64)
        .zip(z_sign.chunks_exact(64))
        .zip(mask.iter())
    {
        for (k, (w8, z8)) in w64.chunks_exact(8).zip(z64.chunks_exact(8)).enumerate() {
            let lanes = &LANE_MASKS[((m >> (8 * k)) & 0xff) as usize];
            for l in 0..8 {
                acc[l] += f32::from_bits((w8[l] ^ z8[l]) & lanes[l]);
            }
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Number of u64 gate words for a fan-in of `n_in`.
#[inline]
pub fn mask_words(n_in: usize) -> usize {
    n_in.div_ceil(64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn realized_p_and_cost() {
        assert_eq!(BlankOutSampler::new(0.5).words_per_mask_word(), 1);
        assert_eq!(BlankOutSampler::new(0.25).words_per_mask_word(), 2);
        assert_eq!(BlankOutSampler::new(0.75).words_per_mask_word(), 2);
        let s = BlankOutSampler::new(0.3);
        assert!((s.realized_p() - 0.3).abs() < 1e-9);
    }

    #[test]
    fn firing_frequency_matches_p() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for p in [0.5, 0.25, 0.1, 0.3, 0.9, 0.01] {
            let s = BlankOutSampler::new(p);
            let words = 20_000;
            let ones: u64 = (0..words)
                .map(|_| u64::from(s.next_word(&mut rng).count_ones()))
                .sum();
            let n = (words * 64) as f64;
            let freq = ones as f64 / n;
            let sd = (p * (1.0 - p) / n).sqrt();
            assert!((freq - p).abs() < 5.0 * sd, "p={p} freq={freq}");
        }
    }

    #[test]
    fn bits_within_a_word_are_uncorrelated() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let s = BlankOutSampler::new(0.3);
        let words: Vec<u64> = (0..50_000).map(|_| s.next_word(&mut rng)).collect();
        let p = s.realized_p();
        for lag in 1..4 {
            let mut both = 0u64;
            for w in &words {
                both += u64::from((w & (w >> lag)).count_ones());
            }
            let pairs = (words.len() * (64 - lag)) as f64;
            let joint = both as f64 / pairs;
            // independence: P(both) = p^2
            assert!((joint - p * p).abs() < 0.005, "lag {lag}: {joint}");
        }
    }

    #[test]
    fn masked_sum_equals_naive_sum() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for n in [1usize, 7, 64, 100, 300, 784] {
            let words = mask_words(n);
            let mut w = vec![0u32; words * 64];
            let mut z = vec![0u32; words * 64];
            let mut wf = vec![0f32; n];
            let mut zf = vec![0f32; n];
            for j in 0..n {
                wf[j] = (rng.next_u32() as f32 / u32::MAX as f32) - 0.5;
                zf[j] = if rng.next_u32() & 1 == 1 { 1.0 } else { -1.0 };
                w[j] = wf[j].to_bits();
                z[j] = sign_mask(zf[j]);
            }
            let mask: Vec<u64> = (0..words).map(|_| rng.next_u64()).collect();
            let fast = masked_signed_sum(&w, &z, &mask);
            let naive: f64 = (0..n)
                .filter(|&j| (mask[j / 64] >> (j % 64)) & 1 == 1)
                .map(|j| f64::from(wf[j]) * f64::from(zf[j]))
                .sum();
            assert!((f64::from(fast) - naive).abs() < 1e-4, "n={n}");
        }
    }
}
