//! The fixed-point row update: what the update unit computes for one row, exactly. The RTL
//! (`nsm_hdl::update`) matches these functions bit for bit.
//!
//! A row is processed in two passes over its stored weights: the first forms `Q = sum W_j^2`
//! and `S = sum W_j z_j`, then [`row_coefficients`] computes the per-row quantities (the drive
//! `x`, `P(x)`, `D(x)`, `delta`, the updated `a_i` and `b_i`, the backpropagated signal and the
//! two coefficients of the weight update), then the second pass applies [`update_weight`] to
//! every weight. `docs/learning.md` derives each formula from eq. 3-7.

use super::formats::{rshr, sat_range, sat_signed, UpdateSpec};
use super::row_norm::inv_sqrt;
use crate::equations::fixed_mean_preactivation;

/// Which update a row gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RowMode {
    /// A stochastic NSM row: weight normalization, eq. 6-7.
    Stochastic,
    /// A row of the deterministic output layer: plain gradient `dL/dV_kj = E_k z_j`.
    Linear,
}

/// Saturation flags of a row (bit set = at least one clip).
pub mod flags {
    /// A stored weight hit its range.
    pub const WEIGHT: u32 = 1;
    /// The stored `a_i` hit its range.
    pub const A: u32 = 2;
    /// The stored bias hit its range.
    pub const B: u32 = 4;
    /// `delta` was clipped to the error format.
    pub const DELTA: u32 = 8;
    /// The backpropagated signal was clipped to the error format.
    pub const DBACK: u32 = 16;
}

/// Register widths of the unit (signed unless noted), from the bounds of each quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UnitWidths {
    pub m: u32,
    pub ma: u32,
    pub mb: u32,
    pub q: u32,
    pub s: u32,
    pub u: u32,
    pub y: u32,
    pub n: u32,
    pub x: u32,
    pub pd: u32,
    pub err: u32,
    pub kappa: u32,
    pub sr: u32,
    pub g1: u32,
    pub gk: u32,
    pub gy: u32,
    pub xc: u32,
    pub cw1: u32,
    pub cw2: u32,
}

impl UpdateSpec {
    /// The unit's register widths.
    pub fn widths(&self) -> UnitWidths {
        let l = &self.learn;
        let g = l.guard_bits;
        let ib = l.lut_index_bits;
        let kappa = self.u_bits.div_ceil(2) + l.norm_frac_bits + 2;
        let g1 = self.a_bits + 1;
        let gk = kappa + self.a_bits - self.a_frac + 1;
        let xc = ib + 1;
        UnitWidths {
            m: self.weight_bits + g,
            ma: self.a_bits + g,
            mb: self.bias_bits + g,
            q: self.q_bits + 1,
            s: self.s_bits,
            u: self.u_bits + 1,
            y: l.isqrt_frac_bits + 3,
            n: (g1 + self.s_bits).max(self.bias_bits + self.a_frac + 1) + 1,
            x: ib + 1,
            pd: l.lut_frac_bits + 2,
            err: l.err_bits,
            kappa,
            sr: super::formats::bit_length(self.max_fan_in as u64).div_ceil(2)
                + self.k
                + l.lut_x_frac_bits
                + 2,
            g1,
            gk,
            gy: l.isqrt_frac_bits + 3 + self.a_bits - self.a_frac + 1,
            xc,
            cw1: l.err_bits + gk - l.norm_frac_bits + 1,
            cw2: l.err_bits + xc - l.lut_x_frac_bits + 1,
        }
    }

    /// Shift of the weight update (`ΔM = rshr(cw2 W - z cw1, shift)`) for a row mode.
    pub fn weight_shift(&self, mode: RowMode) -> u32 {
        let l = &self.learn;
        match mode {
            RowMode::Stochastic => l.err_frac_bits + l.lr_shift - l.guard_bits,
            RowMode::Linear => l.err_frac_bits + l.lr_out_shift - l.guard_bits,
        }
    }
}

/// Everything the unit computes for one row between its two passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCoeffs {
    pub q: i64,
    pub s: i64,
    pub u: i64,
    pub y: i64,
    pub h: u32,
    /// Drive `x` with `lut_x_frac_bits` fractional bits, clamped to the table span.
    pub x: i64,
    /// `P(x)` and `D(x)`, `lut_frac_bits` fractional bits.
    pub p: i64,
    pub d: i64,
    /// `delta = dL/dx = E D(x)`, error format.
    pub delta: i64,
    /// `kappa = sqrt(2p(1-p)) ||W||`, `norm_frac_bits` fractional bits.
    pub kappa: i64,
    pub sr: i64,
    pub gk: i64,
    pub gy: i64,
    pub xc: i64,
    /// Weight update coefficients: `ΔM_j = rshr(cw2 W_j - z_j cw1, shift)`.
    pub cw1: i64,
    pub cw2: i64,
    /// Updated stored `a_i` and bias.
    pub a: i64,
    pub b: i64,
    /// `delta g_i / (sqrt(2p(1-p)) ||W_i||)`, error format: the host multiplies it by the
    /// transposed weights to get the error signal of the layer below.
    pub dback: i64,
    /// [`flags`] raised by the row quantities (weight clips are added by the second pass).
    pub flags: u32,
}

/// `(Q, S)` of a row of stored weights `m` and input states `z` (`+1`/`-1`).
pub fn row_sums(spec: &UpdateSpec, m: &[i32], z: &[i8]) -> (i64, i64) {
    let (mut q, mut s) = (0i64, 0i64);
    for (&mj, &zj) in m.iter().zip(z) {
        let w = spec.unguard(i64::from(mj));
        q += w * w;
        s += if zj > 0 { w } else { -w };
    }
    (q, s)
}

fn fits(v: i64, bits: u32) -> bool {
    bits >= 64 || (v >= -(1i64 << (bits - 1)) && v < (1i64 << (bits - 1)))
}

/// The per-row quantities from `Q`, `S`, the error signal `err` (`dL/dz_i`, or `dL/dlogit_k`
/// for a linear row) and the stored `a_i` (`ma`) and bias (`mb`).
pub fn row_coefficients(
    spec: &UpdateSpec,
    mode: RowMode,
    q: i64,
    s: i64,
    err: i64,
    ma: i64,
    mb: i64,
) -> RowCoeffs {
    let l = &spec.learn;
    let wd = spec.widths();
    let mut c = RowCoeffs {
        q,
        s,
        ..Default::default()
    };
    let mut f = 0u32;
    if mode == RowMode::Linear {
        let sh = spec.weight_shift(mode);
        c.delta = err;
        c.cw1 = err;
        c.cw2 = 0;
        c.a = ma;
        c.b = sat_signed(mb + rshr(-err, sh), wd.mb, &mut f);
        c.flags = if f > 0 { flags::B } else { 0 };
        return c;
    }
    let (fe, fx, fy, fk, fo) = (
        l.err_frac_bits,
        l.lut_x_frac_bits,
        l.isqrt_frac_bits,
        l.norm_frac_bits,
        l.lut_frac_bits,
    );
    let (ff, k, g) = (spec.a_frac, spec.k, l.guard_bits);
    let a = spec.unguard(ma);
    let b = spec.unguard(mb);
    c.u = spec.m * q;
    let inv = inv_sqrt(c.u as u64, &spec.seed, l.newton_steps);
    c.y = inv.y;
    c.h = inv.h;
    let h = inv.h;
    let g1 = a + spec.p0;
    let n = fixed_mean_preactivation(a, spec.p0, s, b, ff);
    let xmax = (1i64 << l.lut_index_bits) - 1;
    c.x = rshr(n * c.y, fy + h + ff - k - fx).clamp(-xmax, xmax);
    let (p, d) = spec.luts.lookup(c.x);
    c.p = i64::from(p);
    c.d = i64::from(d);
    let mut fd = 0;
    c.delta = sat_signed(rshr(err * c.d, fo), l.err_bits, &mut fd);
    c.kappa = rshr(c.u * c.y, fy + h + k - fk);
    c.sr = rshr(s * c.y, fy + h - k - fx);
    c.gk = rshr(g1 * c.kappa, ff);
    c.gy = rshr(g1 * c.y, ff);
    c.xc = rshr(c.x * spec.m, 2 * k);
    c.cw1 = rshr(c.delta * c.gk, fk);
    c.cw2 = rshr(c.delta * c.xc, fx);
    let (mut fa, mut fb, mut fdb) = (0, 0, 0);
    c.a = sat_signed(
        ma + rshr(-c.delta * c.sr, fe + fx + l.lr_a_shift - ff - g),
        wd.ma,
        &mut fa,
    );
    c.b = sat_signed(
        mb + rshr(-c.delta * c.kappa, fe + fk + l.lr_shift - g),
        wd.mb,
        &mut fb,
    );
    c.dback = sat_signed(rshr(c.delta * c.gy, fy + h - k), l.err_bits, &mut fdb);
    c.flags = (if fa > 0 { flags::A } else { 0 })
        | (if fb > 0 { flags::B } else { 0 })
        | (if fd > 0 { flags::DELTA } else { 0 })
        | (if fdb > 0 { flags::DBACK } else { 0 });
    debug_assert!(
        fits(c.q, wd.q)
            && fits(c.s, wd.s)
            && fits(c.u, wd.u)
            && fits(c.y, wd.y)
            && fits(n, wd.n)
            && fits(c.kappa, wd.kappa)
            && fits(c.sr, wd.sr)
            && fits(g1, wd.g1)
            && fits(c.gk, wd.gk)
            && fits(c.gy, wd.gy)
            && fits(c.xc, wd.xc)
            && fits(c.cw1, wd.cw1)
            && fits(c.cw2, wd.cw2),
        "a row quantity exceeds its register width: {c:?} {wd:?}"
    );
    c
}

/// The second pass: the updated stored weight and whether it clipped.
#[inline]
pub fn update_weight(spec: &UpdateSpec, c: &RowCoeffs, shift: u32, m: i32, z: i8) -> (i32, bool) {
    let w = spec.unguard(i64::from(m));
    let zc = if z > 0 { c.cw1 } else { -c.cw1 };
    let v = i64::from(m) + rshr(c.cw2 * w - zc, shift);
    let mut f = 0;
    let r = sat_range(v, spec.m_lo, spec.m_hi, &mut f);
    (r as i32, f > 0)
}

/// One row through the unit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowRequest {
    pub mode: RowMode,
    /// Stored weights `M_j = W_j 2^G + guard`.
    pub w: Vec<i32>,
    /// Input states of the row's pass (`+1`/`-1`).
    pub z: Vec<i8>,
    /// Error signal, `err_frac_bits` fractional bits.
    pub err: i64,
    /// Stored `a_i` (ignored for linear rows) and bias.
    pub a: i64,
    pub b: i64,
}

/// What the unit returns for a row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowResult {
    pub w: Vec<i32>,
    pub a: i64,
    pub b: i64,
    pub p: i64,
    pub d: i64,
    pub delta: i64,
    pub dback: i64,
    pub flags: u32,
    /// Stored weights that clipped.
    pub weight_clips: u32,
}

/// The golden row update.
pub fn update_row(spec: &UpdateSpec, req: &RowRequest) -> RowResult {
    let (q, s) = if req.mode == RowMode::Stochastic {
        row_sums(spec, &req.w, &req.z)
    } else {
        (0, 0)
    };
    let c = row_coefficients(spec, req.mode, q, s, req.err, req.a, req.b);
    let sh = spec.weight_shift(req.mode);
    let mut clips = 0;
    let w = req
        .w
        .iter()
        .zip(&req.z)
        .map(|(&m, &z)| {
            let (v, f) = update_weight(spec, &c, sh, m, z);
            clips += u32::from(f);
            v
        })
        .collect();
    RowResult {
        w,
        a: c.a,
        b: c.b,
        p: c.p,
        d: c.d,
        delta: c.delta,
        dback: c.dback,
        flags: c.flags | if clips > 0 { flags::WEIGHT } else { 0 },
        weight_clips: clips,
    }
}
