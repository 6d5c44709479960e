//! Reproducible random streams. Every stream (an epoch's shuffle, one sample's noise in one
//! layer of one batch, one test image's Monte Carlo passes) gets its own generator whose seed is
//! a hash of the run seed and the stream's coordinates, so results do not depend on the number
//! of threads or on the order in which work is scheduled.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere in the model (fast, 256-bit state, stable across versions).
pub type NsmRng = Xoshiro256PlusPlus;

/// SplitMix64 finalizer: a bijective mixing of a 64-bit value.
#[inline]
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Seed of the stream at `coords` below `seed`.
pub fn stream_seed(seed: u64, coords: &[u64]) -> u64 {
    coords
        .iter()
        .fold(splitmix64(seed), |h, &c| splitmix64(h ^ splitmix64(c)))
}

/// Generator of the stream at `coords` below `seed`.
pub fn stream_rng(seed: u64, coords: &[u64]) -> NsmRng {
    NsmRng::seed_from_u64(stream_seed(seed, coords))
}

/// Stream domains, so that streams of different purposes never share coordinates.
pub mod domain {
    pub const INIT: u64 = 1;
    pub const SHUFFLE: u64 = 2;
    pub const TRAIN_NOISE: u64 = 3;
    pub const EVAL_NOISE: u64 = 4;
    pub const INPUT_NOISE: u64 = 5;
    pub const ONCHIP: u64 = 6;
}
