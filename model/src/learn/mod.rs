//! On-chip learning: the fixed-point training mirror that the update unit's RTL
//! (`nsm_hdl::update`) matches bit for bit.
//!
//! * [`formats`]: the validated [`formats::LearnConfig`] and the constants it derives;
//! * [`erf_lut`]: the tables of `P = 1/2 (1 + erf x)` and `D = (2/sqrt pi) exp(-x^2)`;
//! * [`row_norm`]: `1/sqrt(m sum W^2)` by a seed table and Newton steps;
//! * [`update`]: the row update of eq. 6-7 in fixed point (what the RTL computes);
//! * [`mirror`]: the training loop: forward passes on the bit-exact engine model, the output
//!   error from softmax cross-entropy and backpropagation on the host, rows through the unit.
//!
//! `docs/learning.md` is the prose version.

pub mod erf_lut;
pub mod formats;
pub mod mirror;
pub mod row_norm;
pub mod update;

use rand::Rng;

pub use formats::{LearnConfig, LearnError, UpdateSpec};
pub use update::{update_row, RowMode, RowRequest, RowResult};

/// A random row request for tests: stored weights anywhere in their range (some rows
/// small, some at the edges), random states, error signal, `a_i` and bias.
pub fn random_request<R: Rng>(
    rng: &mut R,
    spec: &UpdateSpec,
    n: usize,
    mode: RowMode,
) -> RowRequest {
    let wd = spec.widths();
    let g = spec.learn.guard_bits;
    let scale = match rng.gen_range(0..4) {
        0 => 1i64,
        1 => 4,
        _ => spec.wmax,
    };
    let w = (0..n)
        .map(|_| {
            let v = rng.gen_range(-scale..=scale);
            ((v << g) + rng.gen_range(0..1i64 << g)).clamp(spec.m_lo, spec.m_hi) as i32
        })
        .collect();
    let z = (0..n)
        .map(|_| if rng.gen::<bool>() { 1 } else { -1 })
        .collect();
    let emax = 1i64 << (spec.learn.err_bits - 1);
    let err = match rng.gen_range(0..4) {
        0 => rng.gen_range(-emax..emax),
        _ => rng.gen_range(-(1i64 << spec.learn.err_frac_bits)..=1i64 << spec.learn.err_frac_bits),
    };
    let amax = 1i64 << (wd.ma - 1);
    let bmax = 1i64 << (wd.mb - 1);
    // typical rows: |a_i| below p and a bias within a few row norms, so that the drive
    // falls inside the tables; one in five at the edges of the stored formats
    let bspan = ((n as f64).sqrt() * scale as f64 * 2.0) as i64 + 1;
    let (a, b) = match rng.gen_range(0..10) {
        0 => (
            amax - 1 - rng.gen_range(0..4),
            bmax - 1 - rng.gen_range(0..4),
        ),
        1 => (-amax + rng.gen_range(0..4), -bmax + rng.gen_range(0..4)),
        _ => (
            rng.gen_range(-spec.p0..=spec.p0) << g | rng.gen_range(0..1i64 << g),
            rng.gen_range(-bspan..=bspan) << g | rng.gen_range(0..1i64 << g),
        ),
    };
    RowRequest {
        mode,
        w,
        z,
        err,
        a: if mode == RowMode::Linear { 0 } else { a },
        b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::EngineConfig;
    use crate::seeds::stream_rng;

    fn spec() -> UpdateSpec {
        UpdateSpec::new(&EngineConfig::default_config(), &LearnConfig::default()).unwrap()
    }

    #[test]
    fn default_config_is_valid_and_named_errors_refuse_bad_ones() {
        let cfg = EngineConfig::default_config();
        let s = spec();
        assert_eq!((s.p0, s.m, s.wmax), (1024, 2, 127));
        let bad = LearnConfig {
            lr_shift: 0,
            guard_bits: 16,
            ..Default::default()
        };
        assert!(matches!(
            UpdateSpec::new(&cfg, &bad),
            Err(LearnError::NegativeShift { .. })
        ));
        let bad = LearnConfig {
            lut_index_bits: 40,
            ..Default::default()
        };
        assert!(matches!(
            UpdateSpec::new(&cfg, &bad),
            Err(LearnError::Range {
                field: "lut_index_bits",
                ..
            })
        ));
        let mut c0 = cfg.clone();
        c0.blank_out.threshold = 0;
        assert!(matches!(
            UpdateSpec::new(&c0, &LearnConfig::default()),
            Err(LearnError::NoNoise { .. })
        ));
        assert!(matches!(
            LearnConfig::from_json(r#"{"schema":"nsm-learn/1","lr_shfit":3}"#, "t"),
            Err(LearnError::Json { .. })
        ));
        assert_eq!(
            LearnConfig::from_json(r#"{"lr_shift":9}"#, "t")
                .unwrap()
                .lr_shift,
            9
        );
    }

    #[test]
    fn weights_saturate_explicitly_at_the_format_edges() {
        let s = spec();
        let g = s.learn.guard_bits;
        // the largest error pushes weights at the edges of the range past them
        let bmin = -(1i64 << (s.bias_bits + g - 1));
        let req = RowRequest {
            mode: RowMode::Linear,
            w: vec![s.m_hi as i32, s.m_lo as i32, 0],
            z: vec![-1, 1, 1],
            err: (1 << (s.learn.err_bits - 1)) - 1,
            a: 0,
            b: bmin,
        };
        let r = update_row(&s, &req);
        // dL/dV = E z: z = -1 and E > 0 push up, z = +1 pushes down
        assert_eq!(r.w[0], s.m_hi as i32);
        assert_eq!(r.w[1], s.m_lo as i32);
        // -(z E) = -32767 at shift 12 + 3 - 8 = 7: -256
        assert_eq!(r.w[2], -256);
        assert_eq!(r.weight_clips, 2);
        assert_ne!(r.flags & update::flags::WEIGHT, 0);
        assert_eq!(r.b, bmin);
        assert_ne!(r.flags & update::flags::B, 0);
        // engine weights stay within +-Wmax
        assert_eq!(s.unguard(s.m_hi), s.wmax);
        assert_eq!(s.unguard(s.m_lo), -s.wmax);
    }

    #[test]
    fn stochastic_update_follows_the_float_gradient() {
        // the fixed-point update moves x (the drive) against the error, as eq. 6-7 do
        let s = spec();
        let mut rng = stream_rng(5, &[1]);
        let mut agree = 0;
        let n = 200;
        for _ in 0..n {
            let mut req = random_request(&mut rng, &s, 64, RowMode::Stochastic);
            req.err = rng.gen_range(-4096..=4096);
            req.a = rng.gen_range(-400i64..400) << s.learn.guard_bits;
            req.b = rng.gen_range(-200i64..200) << s.learn.guard_bits;
            let r = update_row(&s, &req);
            let before = update::row_coefficients(
                &s,
                RowMode::Stochastic,
                update::row_sums(&s, &req.w, &req.z).0,
                update::row_sums(&s, &req.w, &req.z).1,
                0,
                req.a,
                req.b,
            );
            let (q2, s2) = update::row_sums(&s, &r.w, &req.z);
            let after = update::row_coefficients(&s, RowMode::Stochastic, q2, s2, 0, r.a, r.b);
            let dx = after.x - before.x;
            if req.err == 0 || dx == 0 || (dx > 0) == (req.err < 0) {
                agree += 1;
            }
        }
        assert!(agree >= n * 95 / 100, "{agree} of {n}");
    }
}
