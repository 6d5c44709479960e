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
    let extra = serde_json::from_str::<LfsrSpec>(r#"{"width":16,"taps":[16,15,13,4],"seed":1}"#);
    assert!(extra
        .unwrap_err()
        .to_string()
        .contains("unknown field `seed`"));
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
