//! The standard maximal-length taps and the primitivity test behind them.

use super::{LfsrError, MAX_WIDTH, MIN_WIDTH};

/// Built-in maximal-length tap sets, one per width from 2 to 32, in increasing width order.
///
/// Widths 3 to 32 are the table of Xilinx application note XAPP052, "Efficient Shift Registers,
/// LFSR Counters, and Long Pseudo-Random Sequence Generators" (Peter Alfke, 1996), Table 3.
/// That note numbers register bits from 1 and uses XNOR feedback; the tap *numbers* carry over
/// unchanged to the XOR convention of this module (with XOR the lock-up state is all zeros
/// instead of all ones, and the polynomial is the same). Width 2, absent from the note, uses
/// `1 + x + x^2`, the only primitive polynomial of degree 2. Every entry is checked by a unit
/// test against [`is_primitive`] and, up to width 22, by exhaustive stepping.
pub const STANDARD_TAPS: [(u32, &[u32]); 31] = [
    (2, &[2, 1]),
    (3, &[3, 2]),
    (4, &[4, 3]),
    (5, &[5, 3]),
    (6, &[6, 5]),
    (7, &[7, 6]),
    (8, &[8, 6, 5, 4]),
    (9, &[9, 5]),
    (10, &[10, 7]),
    (11, &[11, 9]),
    (12, &[12, 6, 4, 1]),
    (13, &[13, 4, 3, 1]),
    (14, &[14, 5, 3, 1]),
    (15, &[15, 14]),
    (16, &[16, 15, 13, 4]),
    (17, &[17, 14]),
    (18, &[18, 11]),
    (19, &[19, 6, 2, 1]),
    (20, &[20, 17]),
    (21, &[21, 19]),
    (22, &[22, 21]),
    (23, &[23, 18]),
    (24, &[24, 23, 22, 17]),
    (25, &[25, 22]),
    (26, &[26, 6, 2, 1]),
    (27, &[27, 5, 2, 1]),
    (28, &[28, 25]),
    (29, &[29, 27]),
    (30, &[30, 6, 4, 1]),
    (31, &[31, 28]),
    (32, &[32, 22, 2, 1]),
];

/// Mask of the low `bits` bits of a `u32` (`bits` may be 32).
#[inline]
pub(super) fn low_mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Checks the structural rules on a tap list and returns the mask of state bits it reads
/// (bit `t - 1` for every tap `t`).
pub(super) fn tap_mask(width: u32, taps: &[u32]) -> Result<u32, LfsrError> {
    if !(MIN_WIDTH..=MAX_WIDTH).contains(&width) {
        return Err(LfsrError::Width(width));
    }
    let invalid = |reason: String| LfsrError::Taps {
        width,
        taps: taps.to_vec(),
        reason,
    };
    let mut mask = 0u32;
    for &t in taps {
        if t == 0 {
            return Err(invalid("tap 0 is not allowed (taps count from 1)".into()));
        }
        if t > width {
            return Err(invalid(format!("tap {t} exceeds the width")));
        }
        let bit = 1u32 << (t - 1);
        if mask & bit != 0 {
            return Err(invalid(format!("tap {t} appears more than once")));
        }
        mask |= bit;
    }
    if mask >> (width - 1) != 1 {
        return Err(invalid(format!("the taps must include the width {width}")));
    }
    Ok(mask)
}

/// Carry-less product of two polynomials of degree < `width` reduced modulo `modulus`, a
/// polynomial of degree exactly `width` (bit `width` set). All as GF(2) bit vectors.
fn mul_mod(a: u64, b: u64, modulus: u64, width: u32) -> u64 {
    let mut product = 0u64;
    let mut b = b;
    let mut shifted = a;
    while b != 0 {
        if b & 1 != 0 {
            product ^= shifted;
        }
        shifted <<= 1;
        b >>= 1;
    }
    // The product has degree <= 2 width - 2 <= 62; clear the bits from the top down.
    let mut bit = 2 * width - 2;
    while bit >= width {
        if product >> bit & 1 != 0 {
            product ^= modulus << (bit - width);
        }
        bit -= 1;
    }
    product
}

/// `x^e mod modulus` by square-and-multiply (`modulus` of degree `width >= 2`).
fn x_pow_mod(e: u64, modulus: u64, width: u32) -> u64 {
    let mut result = 1u64;
    let mut base = 0b10u64; // x, already reduced since width >= 2
    let mut e = e;
    while e != 0 {
        if e & 1 != 0 {
            result = mul_mod(result, base, modulus, width);
        }
        base = mul_mod(base, base, modulus, width);
        e >>= 1;
    }
    result
}

/// The distinct prime factors of `n` (n >= 1), by trial division.
pub(super) fn distinct_prime_factors(mut n: u64) -> Vec<u64> {
    let mut primes = Vec::new();
    let mut p = 2u64;
    while p * p <= n {
        if n.is_multiple_of(p) {
            primes.push(p);
            while n.is_multiple_of(p) {
                n /= p;
            }
        }
        p += if p == 2 { 1 } else { 2 };
    }
    if n > 1 {
        primes.push(n);
    }
    primes
}

/// Whether `C(x) = 1 + sum_{t in taps} x^t` is primitive over GF(2), i.e. whether the LFSR of
/// this width and taps has maximal length.
///
/// Uses the order criterion: a polynomial of degree `w` with constant term 1 is primitive iff
/// the order of `x` modulo it is exactly `N = 2^w - 1`, that is `x^N = 1 (mod C)` and
/// `x^(N/q) != 1` for every prime `q` dividing `N` (found by trial division; `sqrt(N) < 2^16`).
///
/// Returns `false` for anything that is not a well-formed tap set of a supported width (see
/// [`LfsrSpec::new`]), since such an input describes no valid register.
pub fn is_primitive(width: u32, taps: &[u32]) -> bool {
    let Ok(mask) = tap_mask(width, taps) else {
        return false;
    };
    // Bit t of the polynomial is the coefficient of x^t; tap t is mask bit t - 1.
    let poly = (u64::from(mask) << 1) | 1;
    let order = (1u64 << width) - 1;
    if x_pow_mod(order, poly, width) != 1 {
        return false;
    }
    distinct_prime_factors(order)
        .into_iter()
        .all(|q| x_pow_mod(order / q, poly, width) != 1)
}
