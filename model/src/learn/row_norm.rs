//! The row norm in fixed point: `Q = sum_j W_ij^2` (integer, exact), then
//! `1/sqrt(u)` for `u = m Q` by a seed table and Newton steps.
//!
//! `u` is normalized by an even shift `s` so that `q = u 2^-s` lies in `[1/4, 1)` (16
//! fractional bits, `q16`); a table on the top `seed_bits` bits of `q16` gives
//! `y0 ~ 1/sqrt(q)` (`frac` fractional bits, bin midpoints), and each Newton step computes
//! `y <- y (3 - q y^2) / 2` as `t1 = (y y) >> frac`, `t2 = (q16 t1) >> 16`,
//! `y = (y ((3 << frac) - t2)) >> (frac + 1)`, clamped to `[0, 2^(frac+1)]`. Then
//! `1/sqrt(u) = y 2^-frac 2^-h` with `h = s/2`.

/// The seed table of the inverse square root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedLut {
    pub seed_bits: u32,
    pub frac: u32,
    /// Entry `i` (only `i >= 2^(seed_bits-2)` is used): `round(2^frac / sqrt((i + 1/2) 2^-seed_bits))`.
    pub table: Vec<u32>,
}

impl SeedLut {
    pub fn new(seed_bits: u32, frac: u32) -> Self {
        let n = 1usize << seed_bits;
        let table = (0..n)
            .map(|i| {
                if i < n / 4 {
                    0
                } else {
                    let q = (i as f64 + 0.5) / n as f64;
                    ((1u64 << frac) as f64 / q.sqrt()).round() as u32
                }
            })
            .collect();
        Self {
            seed_bits,
            frac,
            table,
        }
    }
}

/// The inverse square root of `u` (`u = 0` is read as 1) as a mantissa and an exponent:
/// `1/sqrt(u) ~ y 2^-frac 2^-h`. Also returns `q16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvSqrt {
    pub y: i64,
    pub h: u32,
    pub q16: i64,
}

/// `(s, q16)`: the even shift and the normalized `u` (16 fractional bits, in `[2^14, 2^16)`).
pub fn normalize(u: u64) -> (u32, i64) {
    let u = u.max(1);
    let l = super::formats::bit_length(u);
    let s = l + (l & 1);
    let q16 = if s <= 16 {
        u << (16 - s)
    } else {
        u >> (s - 16)
    };
    (s, q16 as i64)
}

/// One Newton step on `y ~ 1/sqrt(q16 2^-16)` with `frac` fractional bits.
#[inline]
pub fn newton(y: i64, q16: i64, frac: u32) -> i64 {
    let t1 = (y * y) >> frac;
    let t2 = (q16 * t1) >> 16;
    let t3 = (3i64 << frac) - t2;
    ((y * t3) >> (frac + 1)).clamp(0, 1i64 << (frac + 1))
}

/// `1/sqrt(u)` by the seed table and `steps` Newton steps.
pub fn inv_sqrt(u: u64, seed: &SeedLut, steps: u32) -> InvSqrt {
    let (s, q16) = normalize(u);
    let mut y = i64::from(seed.table[(q16 >> (16 - seed.seed_bits)) as usize]);
    for _ in 0..steps {
        y = newton(y, q16, seed.frac);
    }
    InvSqrt { y, h: s / 2, q16 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_error(u: u64, r: InvSqrt, frac: u32) -> f64 {
        let approx = r.y as f64 / (1u64 << frac) as f64 / (1u64 << r.h) as f64;
        let exact = 1.0 / (u as f64).sqrt();
        (approx / exact - 1.0).abs()
    }

    #[test]
    fn normalize_puts_q_in_a_quarter_to_one() {
        for u in [
            1u64,
            2,
            3,
            4,
            5,
            255,
            256,
            65535,
            65536,
            1 << 40,
            (1 << 41) - 1,
        ] {
            let (s, q16) = normalize(u);
            assert_eq!(s % 2, 0);
            assert!((1 << 14..1 << 16).contains(&q16), "u {u} q16 {q16}");
        }
        assert_eq!(normalize(0), normalize(1));
    }

    #[test]
    fn inverse_sqrt_accuracy_seed_and_newton() {
        let seed = SeedLut::new(6, 14);
        let mut worst = [0f64; 3];
        let mut u = 1u64;
        while u < 1 << 40 {
            for v in [u, u + u / 3, u + u / 7 + 1] {
                for (steps, w) in worst.iter_mut().enumerate() {
                    *w = w.max(rel_error(v, inv_sqrt(v, &seed, steps as u32), 14));
                }
            }
            u = u * 5 / 4 + 1;
        }
        // seed: half a bin of 1/64 at q = 1/4 is about 1.6 %; each Newton step squares it
        assert!(worst[0] < 0.017, "{worst:?}");
        assert!(worst[1] < 1e-3, "{worst:?}");
        assert!(worst[2] < 3e-4, "{worst:?}"); // limited by the 14-bit mantissa
                                               // exhaustive over the default rows' range of sums of squares for small rows
        for v in 1..200_000u64 {
            assert!(rel_error(v, inv_sqrt(v, &seed, 2), 14) < 3e-4, "{v}");
        }
    }
}
