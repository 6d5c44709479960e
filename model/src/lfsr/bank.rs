//! Up to 64 registers of one spec stepped together in bit-sliced form.

use super::{LfsrError, LfsrSpec};

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
