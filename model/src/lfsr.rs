//! Linear-feedback shift registers: the random source of the hardware NSM engine.
//!
//! Every processing element (PE) of the engine's systolic array owns one LFSR. A Bernoulli
//! blank-out *gate* consumes `k` fresh bits of that LFSR's sequence, reads them as an unsigned
//! `k`-bit number `r` and compares it with a threshold. This module is the bit-exact software
//! model of that circuit; the conventions below are the hardware's and must not drift.
//!
//! # Conventions
//!
//! * **Register.** A Fibonacci LFSR that shifts left. Its state is a `u32` `s` whose bits
//!   `0..width` are meaningful (`2 <= width <= 32`); bits at `width` and above are always 0.
//! * **Taps.** A set of integers `t` with `1 <= t <= width`, without duplicates, that contains
//!   `width` itself. One step computes the feedback bit as the XOR of bit `t - 1` of `s` over
//!   all taps, shifts left and inserts the feedback at bit 0:
//!   `s' = ((s << 1) | fb) & mask(width)`.
//!   The bits produced step after step therefore obey `a_n = XOR_{t in taps} a_{n-t}`: the
//!   connection polynomial is `C(x) = 1 + sum_{t in taps} x^t`, of degree `width`. The register
//!   has maximal length (period `2^width - 1` from every nonzero state) exactly when `C(x)` is
//!   primitive over GF(2); [`LfsrSpec::new`] accepts only such tap sets.
//! * **Leap.** A leap by `k` (`1 <= k <= width`) is `k` consecutive steps. Afterwards the `k`
//!   bits just produced are the low `k` bits of the state, the first of them at bit `k - 1`
//!   (the most significant bit of the field) and the last at bit 0.
//! * **Gate.** The gate value is `r = s' & (2^k - 1)` with `s'` the state after the leap, an
//!   unsigned `k`-bit number; the gate is open (true) when `r < threshold`. A threshold in
//!   `0..2^k` gives probability `threshold / 2^k` (up to the missing all-zero state); larger
//!   thresholds simply make every gate open.
//! * **Zero state.** The all-zero state maps to itself and is never legal: seeds are nonzero.
//!
//! # Contents
//!
//! * [`LfsrSpec`]: a validated (width, taps) pair with the scalar reference operations: one step,
//!   a leap, a gate, and a jump by any number of steps through GF(2) matrix powers.
//! * [`is_primitive`]: the primitivity test behind maximal length.
//! * [`STANDARD_TAPS`]: one maximal-length tap set per width, from Xilinx XAPP052.
//! * [`Leaper`]: a table-driven leap by a fixed `k` for scalar hot loops.
//! * [`LfsrBank`]: up to 64 registers of one spec stepped together in bit-sliced form, with a
//!   bit-sliced comparator producing the gates of all lanes in one `u64`.

use serde::{Deserialize, Serialize};

/// Errors from building an LFSR description or checking a seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LfsrError {
    /// The register width lies outside `2..=32`.
    #[error("LFSR width {0} is not supported (supported: 2 to 32 bits)")]
    Width(u32),
    /// No entry of [`STANDARD_TAPS`] for this width.
    #[error("no built-in maximal-length polynomial for LFSR width {0}; give taps explicitly")]
    NoPolynomial(u32),
    /// The tap list breaks one of the structural rules (range, duplicates, top tap).
    #[error("LFSR taps {taps:?} are invalid for width {width}: {reason}")]
    Taps {
        width: u32,
        taps: Vec<u32>,
        reason: String,
    },
    /// The taps are well formed but the register would not have maximal length.
    #[error(
        "LFSR taps {taps:?} of width {width} are not maximal-length: the connection polynomial is not primitive"
    )]
    NotMaximal { width: u32, taps: Vec<u32> },
    /// A seed that is zero or does not fit in the register.
    #[error("LFSR seed must be a nonzero value below 2^{width}, got {seed:#x}")]
    Seed { width: u32, seed: u32 },
}

/// Smallest supported register width.
pub const MIN_WIDTH: u32 = 2;
/// Largest supported register width (the state is a `u32`).
pub const MAX_WIDTH: u32 = 32;

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
fn low_mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Checks the structural rules on a tap list and returns the mask of state bits it reads
/// (bit `t - 1` for every tap `t`).
fn tap_mask(width: u32, taps: &[u32]) -> Result<u32, LfsrError> {
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
fn distinct_prime_factors(mut n: u64) -> Vec<u64> {
    let mut primes = Vec::new();
    let mut p = 2u64;
    while p * p <= n {
        if n % p == 0 {
            primes.push(p);
            while n % p == 0 {
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

/// A validated LFSR description: width and maximal-length taps (stored in descending order).
///
/// Deserialization runs the same validation as [`LfsrSpec::new`], so a spec read from a
/// configuration file is always maximal-length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawLfsrSpec")]
pub struct LfsrSpec {
    width: u32,
    taps: Vec<u32>,
    /// Bit `t - 1` set for every tap `t` (derived; not serialized).
    #[serde(skip)]
    tap_mask: u32,
}

/// The unvalidated serialized form of [`LfsrSpec`].
#[derive(Deserialize)]
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

    fn assert_leap(&self, k: u32) {
        assert!(
            k >= 1 && k <= self.width,
            "LFSR leap of {k} bits is outside 1..={} (the register width)",
            self.width
        );
    }
}

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

/// Number of planes in the bank's ring buffer (a power of two >= [`MAX_WIDTH`]).
const RING: usize = 32;

/// Up to 64 LFSRs of one spec stepped together in bit-sliced form.
///
/// Plane `b` holds bit `b` of every lane's state: lane `q` is bit `q` of the `u64`. A step
/// shifts every register left by one, which in this layout only renames the planes: the planes
/// live in a ring buffer, logical bit `b` at slot `(head + b) mod 32`, and a step moves `head`
/// back by one slot and writes the new bit-0 plane (the XOR of the tapped planes) there,
/// overwriting the plane of the bit that falls off the top. A step thus costs `#taps - 1`
/// XORs and an index update.
#[derive(Debug, Clone)]
pub struct LfsrBank {
    spec: LfsrSpec,
    /// Tap offsets `t - 1`, i.e. the logical bit each tap reads.
    tap_bits: Vec<usize>,
    planes: [u64; RING],
    head: usize,
    lanes: usize,
}

impl LfsrBank {
    /// A bank whose lane `q` starts in `states[q]`; lanes from `states.len()` to 63 are unused
    /// (state 0, gates always 0).
    ///
    /// # Panics
    /// If `states.len() > 64` or a state is not a legal seed (zero or at least `2^width`). Use
    /// [`LfsrBank::try_new`] when the states come from user input.
    pub fn new(spec: &LfsrSpec, states: &[u32]) -> Self {
        match Self::try_new(spec, states) {
            Ok(bank) => bank,
            Err(e) => panic!("invalid LFSR bank state: {e}"),
        }
    }

    /// As [`LfsrBank::new`] but reports an illegal state as [`LfsrError::Seed`].
    ///
    /// # Panics
    /// If `states.len() > 64` (the bank capacity, a programmer error).
    pub fn try_new(spec: &LfsrSpec, states: &[u32]) -> Result<Self, LfsrError> {
        assert!(
            states.len() <= 64,
            "an LFSR bank holds at most 64 lanes, got {}",
            states.len()
        );
        let mut planes = [0u64; RING];
        for (lane, &s) in states.iter().enumerate() {
            spec.check_seed(s)?;
            for (b, plane) in planes.iter_mut().enumerate().take(spec.width() as usize) {
                *plane |= u64::from(s >> b & 1) << lane;
            }
        }
        Ok(Self {
            spec: spec.clone(),
            tap_bits: spec.taps().iter().map(|&t| (t - 1) as usize).collect(),
            planes,
            head: 0,
            lanes: states.len(),
        })
    }

    /// The shared register description.
    pub fn spec(&self) -> &LfsrSpec {
        &self.spec
    }

    /// Number of lanes in use.
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Mask of the lanes in use.
    pub fn lane_mask(&self) -> u64 {
        if self.lanes >= 64 {
            u64::MAX
        } else {
            (1u64 << self.lanes) - 1
        }
    }

    /// Plane of logical state bit `b`.
    #[inline(always)]
    fn plane(&self, b: usize) -> u64 {
        self.planes[(self.head + b) & (RING - 1)]
    }

    /// The current per-lane states (one per lane in use).
    pub fn states(&self) -> Vec<u32> {
        (0..self.lanes)
            .map(|lane| {
                (0..self.spec.width() as usize)
                    .fold(0u32, |s, b| s | (((self.plane(b) >> lane) & 1) as u32) << b)
            })
            .collect()
    }

    /// One step of every lane.
    #[inline]
    pub fn step(&mut self) {
        let mut fb = 0u64;
        for &t in &self.tap_bits {
            fb ^= self.plane(t);
        }
        self.head = self.head.wrapping_sub(1) & (RING - 1);
        self.planes[self.head] = fb;
    }

    /// Leaps every lane by `k` steps and returns the mask of lanes whose gate is open, i.e.
    /// whose produced value `r` (first produced bit most significant) is below `threshold`.
    /// Unused lanes always give 0.
    ///
    /// The comparison is bit-sliced: walking from the most significant bit of `r` down, `less`
    /// collects lanes already known to be below the threshold and `equal` those still tied.
    ///
    /// # Panics
    /// If `k == 0` or `k > width`, as [`LfsrSpec::leap`].
    pub fn gates(&mut self, k: u32, threshold: u32) -> u64 {
        self.spec.assert_leap(k);
        for _ in 0..k {
            self.step();
        }
        if k < 32 && threshold >> k != 0 {
            return self.lane_mask();
        }
        let mut less = 0u64;
        let mut equal = u64::MAX;
        for b in (0..k as usize).rev() {
            let r = self.plane(b);
            if threshold >> b & 1 != 0 {
                less |= equal & !r;
                equal &= r;
            } else {
                equal &= !r;
            }
        }
        less & self.lane_mask()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    /// A spec that skips validation, to step registers that are not maximal-length.
    fn unchecked(width: u32, taps: &[u32]) -> LfsrSpec {
        let tap_mask = tap_mask(width, taps).expect("well-formed taps");
        LfsrSpec {
            width,
            taps: taps.to_vec(),
            tap_mask,
        }
    }

    /// Steps from `seed` until the state comes back, giving up after `limit` steps.
    fn brute_period(spec: &LfsrSpec, seed: u32, limit: u64) -> Option<u64> {
        let mut s = seed;
        for n in 1..=limit {
            s = spec.step(s);
            if s == seed {
                return Some(n);
            }
        }
        None
    }

    fn random_seed(spec: &LfsrSpec, rng: &mut impl Rng) -> u32 {
        loop {
            let s = rng.gen::<u32>() & spec.mask();
            if s != 0 {
                return s;
            }
        }
    }

    #[test]
    fn standard_taps_are_primitive_and_complete() {
        for (i, &(w, taps)) in STANDARD_TAPS.iter().enumerate() {
            assert_eq!(w, i as u32 + 2);
            assert!(is_primitive(w, taps), "width {w} taps {taps:?}");
        }
        for w in 2..=32 {
            let spec = LfsrSpec::standard(w).unwrap();
            assert_eq!(spec.width(), w);
            assert_eq!(spec.taps()[0], w);
            assert!(spec.taps().windows(2).all(|p| p[0] > p[1]));
            assert_eq!(spec.period(), (1u64 << w) - 1);
            assert_eq!(u64::from(spec.mask()), (1u64 << w) - 1);
        }
        for w in [0, 1, 33] {
            assert_eq!(LfsrSpec::standard(w), Err(LfsrError::Width(w)));
            assert_eq!(LfsrSpec::new(w, &[w]).unwrap_err(), LfsrError::Width(w));
        }
        assert!(LfsrSpec::standard(1)
            .unwrap_err()
            .to_string()
            .contains("LFSR width 1"));
    }

    #[test]
    fn standard_periods_by_stepping_up_to_width_22() {
        for w in 2..=22 {
            let spec = LfsrSpec::standard(w).unwrap();
            assert_eq!(
                brute_period(&spec, 1, spec.period()),
                Some(spec.period()),
                "width {w}"
            );
        }
    }

    #[test]
    // Exhaustive: steps 2^33 states in all, about 20 s in the optimized test profile.
    fn standard_periods_by_stepping_widths_23_to_32() {
        for w in 23..=32 {
            let spec = LfsrSpec::standard(w).unwrap();
            assert_eq!(
                brute_period(&spec, 1, spec.period()),
                Some(spec.period()),
                "width {w}"
            );
        }
    }

    #[test]
    fn standard_periods_by_jumping_widths_23_to_32() {
        for w in 23..=32 {
            let spec = LfsrSpec::standard(w).unwrap();
            let n = spec.period();
            assert_eq!(spec.jump(1, n), 1, "width {w}");
            for q in distinct_prime_factors(n) {
                assert_ne!(spec.jump(1, n / q), 1, "width {w}, prime {q}");
            }
        }
    }

    #[test]
    fn jump_agrees_with_stepping() {
        let mut rng = rng(11);
        for w in [2, 5, 8, 13, 16, 24, 31, 32] {
            let spec = LfsrSpec::standard(w).unwrap();
            for _ in 0..20 {
                let seed = random_seed(&spec, &mut rng);
                let n = rng.gen_range(0..=10_000u64);
                let mut s = seed;
                for _ in 0..n {
                    s = spec.step(s);
                }
                assert_eq!(spec.jump(seed, n), s, "width {w}, n {n}");
            }
            assert_eq!(spec.jump(0, 12345), 0);
        }
    }

    #[test]
    fn prime_factors() {
        assert_eq!(distinct_prime_factors(1), Vec::<u64>::new());
        assert_eq!(distinct_prime_factors(255), vec![3, 5, 17]);
        assert_eq!(distinct_prime_factors((1 << 31) - 1), vec![(1 << 31) - 1]);
        assert_eq!(
            distinct_prime_factors((1 << 32) - 1),
            vec![3, 5, 17, 257, 65537]
        );
    }

    /// For small widths, the primitivity test agrees with exhaustive stepping on every tap set,
    /// and finds the known number phi(2^w - 1) / w of primitive polynomials.
    #[test]
    fn primitivity_matches_stepping_on_all_small_tap_sets() {
        let expected_counts = [1, 2, 2, 6, 6, 18, 16, 48, 60, 176, 144];
        for w in 2..=12u32 {
            let mut count = 0;
            for lower in 0u32..(1 << (w - 1)) {
                let mut taps = vec![w];
                taps.extend((1..w).filter(|t| lower >> (t - 1) & 1 != 0));
                let spec = unchecked(w, &taps);
                let period = (1u64 << w) - 1;
                let maximal = brute_period(&spec, 1, period) == Some(period);
                assert_eq!(is_primitive(w, &taps), maximal, "width {w} taps {taps:?}");
                count += maximal as usize;
            }
            assert_eq!(count, expected_counts[w as usize - 2], "width {w}");
        }
    }

    #[test]
    fn validation_errors() {
        // 1 + x^4 + x^8 = (1 + x^2 + x^4)^2 is reducible.
        assert_eq!(
            LfsrSpec::new(8, &[8, 4]),
            Err(LfsrError::NotMaximal {
                width: 8,
                taps: vec![8, 4]
            })
        );
        assert!(LfsrSpec::new(8, &[8, 4])
            .unwrap_err()
            .to_string()
            .contains("not maximal-length"));
        // 1 + x + x^2 + x^3 + x^4 is irreducible but x has order 5, not 15.
        assert!(matches!(
            LfsrSpec::new(4, &[4, 3, 2, 1]),
            Err(LfsrError::NotMaximal { .. })
        ));
        assert_eq!(brute_period(&unchecked(4, &[4, 3, 2, 1]), 1, 15), Some(5));
        // 1 + x^2 + x^4 = (1 + x + x^2)^2.
        assert!(!is_primitive(4, &[4, 2]));

        let taps_err = |w: u32, taps: &[u32]| match LfsrSpec::new(w, taps) {
            Err(LfsrError::Taps {
                width,
                taps: t,
                reason,
            }) => {
                assert_eq!(width, w);
                assert_eq!(t, taps);
                reason
            }
            other => panic!("expected a Taps error for {taps:?}, got {other:?}"),
        };
        assert!(taps_err(8, &[6, 5, 4]).contains("include the width"));
        assert!(taps_err(8, &[]).contains("include the width"));
        assert!(taps_err(8, &[8, 0, 5]).contains("tap 0"));
        assert!(taps_err(8, &[9, 8, 6]).contains("exceeds"));
        assert!(taps_err(8, &[8, 6, 6, 5, 4]).contains("more than once"));
        assert!(!is_primitive(8, &[8, 6, 6, 5, 4]));
        assert!(!is_primitive(40, &[40, 38]));

        // Taps in any order are accepted and stored descending.
        let spec = LfsrSpec::new(8, &[4, 8, 5, 6]).unwrap();
        assert_eq!(spec.taps(), &[8, 6, 5, 4]);
        assert_eq!(spec, LfsrSpec::standard(8).unwrap());

        let spec = LfsrSpec::standard(8).unwrap();
        assert_eq!(
            spec.check_seed(0),
            Err(LfsrError::Seed { width: 8, seed: 0 })
        );
        assert_eq!(
            spec.check_seed(256),
            Err(LfsrError::Seed {
                width: 8,
                seed: 256
            })
        );
        assert_eq!(spec.check_seed(255), Ok(255));
        assert_eq!(spec.check_seed(1), Ok(1));
        let spec32 = LfsrSpec::standard(32).unwrap();
        assert_eq!(spec32.check_seed(u32::MAX), Ok(u32::MAX));
        assert!(spec32.check_seed(0).is_err());
        assert!(LfsrBank::try_new(&spec, &[1, 0]).is_err());
    }

    #[test]
    fn serde_round_trip_validates() {
        let spec = LfsrSpec::standard(16).unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(json, r#"{"width":16,"taps":[16,15,13,4]}"#);
        let back: LfsrSpec = serde_json::from_str(&json).unwrap();
        assert_eq!(back, spec);
        assert_eq!(back.step(0x8000), spec.step(0x8000));
        let bad = serde_json::from_str::<LfsrSpec>(r#"{"width":8,"taps":[8,4]}"#);
        assert!(bad.unwrap_err().to_string().contains("not maximal-length"));
    }

    #[test]
    fn leap_is_repeated_step_and_first_bit_is_msb() {
        let mut rng = rng(5);
        for w in [2, 4, 8, 16, 31, 32] {
            let spec = LfsrSpec::standard(w).unwrap();
            for k in 1..=w {
                let s0 = random_seed(&spec, &mut rng);
                let mut s = s0;
                for _ in 0..k {
                    s = spec.step(s);
                }
                assert_eq!(spec.leap(s0, k), s);
            }
        }

        // Width 4, taps [4, 3]: feedback = bit 3 XOR bit 2. From 0b0100:
        //   0100 -> fb 1 -> 1001
        //   1001 -> fb 1 -> 0011
        //   0011 -> fb 0 -> 0110
        // The bits come out 1, 1, 0, so with k = 3, r = 0b110 = 6 (first bit most significant;
        // the reverse order would give 3).
        let spec = LfsrSpec::new(4, &[4, 3]).unwrap();
        assert_eq!(spec.step(0b0100), 0b1001);
        assert_eq!(spec.step(0b1001), 0b0011);
        assert_eq!(spec.step(0b0011), 0b0110);
        assert_eq!(spec.leap(0b0100, 3), 0b0110);
        let mut s = 0b0100;
        assert!(!spec.gate(&mut s, 3, 6));
        assert_eq!(s, 0b0110);
        let mut s = 0b0100;
        assert!(spec.gate(&mut s, 3, 7));
        let mut s = 0b0100;
        assert!(!spec.gate(&mut s, 3, 4));
        // Thresholds at or above 2^k open every gate; 0 closes them all.
        let mut s = 0b0100;
        assert!(spec.gate(&mut s, 3, 8));
        let mut s = 0b0100;
        assert!(!spec.gate(&mut s, 3, 0));
        // With k = 1 the gate value is the single bit produced.
        let mut s = 0b0011;
        assert!(!spec.gate(&mut s, 1, 0));
        assert_eq!(s & 1, 0);
    }

    #[test]
    #[should_panic(expected = "outside 1..=8")]
    fn leap_zero_panics() {
        LfsrSpec::standard(8).unwrap().leap(1, 0);
    }

    #[test]
    #[should_panic(expected = "outside 1..=8")]
    fn leap_too_long_panics() {
        LfsrSpec::standard(8).unwrap().leap(1, 9);
    }

    #[test]
    fn leaper_matches_leap() {
        let mut rng = rng(7);
        for (w, k) in [
            (2, 1),
            (2, 2),
            (5, 3),
            (8, 1),
            (8, 8),
            (12, 7),
            (16, 8),
            (24, 13),
            (31, 31),
            (32, 1),
            (32, 8),
            (32, 32),
        ] {
            let spec = LfsrSpec::standard(w).unwrap();
            let leaper = Leaper::new(&spec, k);
            assert_eq!(leaper.k(), k);
            let mut a = random_seed(&spec, &mut rng);
            let mut b = a;
            for _ in 0..2000 {
                let s = random_seed(&spec, &mut rng);
                assert_eq!(leaper.leap(s), spec.leap(s, k), "width {w} k {k}");
                let t = rng.gen::<u32>() & low_mask(k);
                assert_eq!(leaper.gate(&mut a, t), spec.gate(&mut b, k, t));
                assert_eq!(a, b);
            }
        }
    }

    fn check_bank_against_scalar(width: u32, lanes: usize, seed: u64) {
        let mut rng = rng(seed);
        let spec = LfsrSpec::standard(width).unwrap();
        let seeds: Vec<u32> = (0..lanes).map(|_| random_seed(&spec, &mut rng)).collect();
        let mut bank = LfsrBank::new(&spec, &seeds);
        assert_eq!(bank.states(), seeds);
        assert_eq!(bank.lanes(), lanes);
        let mut scalar = seeds.clone();

        let mut ks = vec![1, 3, 8, width];
        ks.dedup();
        for &k in &ks {
            let full = low_mask(k);
            let thresholds = [0, 1, 1u32 << (k - 1), full, rng.gen::<u32>() & full];
            for &t in &thresholds {
                for _ in 0..1000 {
                    let got = bank.gates(k, t);
                    let mut want = 0u64;
                    for (lane, s) in scalar.iter_mut().enumerate() {
                        want |= u64::from(spec.gate(s, k, t)) << lane;
                    }
                    assert_eq!(got, want, "width {width} lanes {lanes} k {k} t {t}");
                }
                assert_eq!(bank.states(), scalar);
            }
            // A threshold past 2^k opens every used lane.
            if k < 32 {
                assert_eq!(bank.gates(k, 1 << k), bank.lane_mask());
                for s in scalar.iter_mut() {
                    *s = spec.leap(*s, k);
                }
            }
        }
        bank.step();
        for s in scalar.iter_mut() {
            *s = spec.step(*s);
        }
        assert_eq!(bank.states(), scalar);
        // Rebuilding from the current states continues the same sequences.
        let mut rebuilt = LfsrBank::new(&spec, &bank.states());
        assert_eq!(
            rebuilt.gates(width.min(8), 77),
            bank.gates(width.min(8), 77)
        );
    }

    #[test]
    fn bank_matches_scalar_gates() {
        for (i, &w) in [8, 16, 31, 32].iter().enumerate() {
            check_bank_against_scalar(w, 64, 100 + i as u64);
            check_bank_against_scalar(w, 5, 200 + i as u64);
        }
        let spec = LfsrSpec::standard(4).unwrap();
        let mut empty = LfsrBank::new(&spec, &[]);
        assert_eq!(empty.gates(4, 15), 0);
        assert!(empty.states().is_empty());
    }

    #[test]
    #[should_panic(expected = "at most 64 lanes")]
    fn bank_too_many_lanes_panics() {
        let spec = LfsrSpec::standard(8).unwrap();
        LfsrBank::new(&spec, &[1; 65]);
    }

    #[test]
    fn gate_frequency() {
        let spec = LfsrSpec::standard(16).unwrap();
        let (n, k, threshold) = (200_000u32, 8, 77u32);
        let mut s = 0xACE1;
        let open = (0..n).filter(|_| spec.gate(&mut s, k, threshold)).count() as f64;
        let p = f64::from(threshold) / 256.0;
        let mean = f64::from(n) * p;
        let sd = (f64::from(n) * p * (1.0 - p)).sqrt();
        assert!(
            (open - mean).abs() < 5.0 * sd,
            "{open} open gates, expected {mean} +- {sd}"
        );
    }
}
