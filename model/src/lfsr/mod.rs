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
//!
//! Files: `taps.rs` (the standard taps and the primitivity proof), `spec.rs` (the validated
//! register, its step, leap and gate, and jump-ahead by GF(2) matrix powers), `leaper.rs` (the
//! table-driven leap), `bank.rs` (the bit-sliced bank).

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

mod bank;
mod leaper;
mod spec;
mod taps;

pub use bank::LfsrBank;
pub use leaper::Leaper;
pub use spec::LfsrSpec;
use taps::low_mask;
#[cfg(test)]
use taps::{distinct_prime_factors, tap_mask};
pub use taps::{is_primitive, STANDARD_TAPS};

#[cfg(test)]
mod tests;
