//! The on-chip learning update unit: one row at a time, the row norm (sum of squares, inverse
//! square root by a seed table and Newton steps), the erf table for `P` and the table of its
//! derivative, and the fixed-point update of the row's weights, `a_i` and bias
//! (`nsm_model::learn::update`, `docs/learning.md`).
//!
//! A leaf block with its own Verilog, like [`crate::neuron::NeuronUnit`]: its datapath
//! multiplies up to 36 x 17 bits and shifts by a data-dependent amount, which rust-hdl's
//! `#[hdl_gen]` cannot express (16 x 16 multiplies only) or simulates slowly (shifts through
//! big integers). The Rust model below is cycle-accurate at the ports and computes with
//! `nsm_model::learn::update`; the Verilog is written independently, stage by stage, and the
//! co-simulation test (`nsm-testbenches`, `tests/update_unit.rs`) holds it to the mirror.
//!
//! # Protocol
//!
//! 1. `start` for one cycle with `linear`, `err`, `a_in`, `b_in` (stored values).
//! 2. Stochastic rows: the stored weights stream in, one per cycle with `w_valid`, `z_in` the
//!    row's input state, `w_last` on the last one (the first pass: `Q`, `S`). Linear rows skip
//!    this pass.
//! 3. The unit computes for `calc_cycles` cycles, then raises `ready`; `a_out`, `b_out`,
//!    `p_out`, `d_out`, `delta_out`, `dback_out` and `flags_out` are valid.
//! 4. The same weights stream in again (second pass); each updated weight appears on `w_out`
//!    three cycles later with `w_out_valid` (and `w_clip` if it saturated). With the last
//!    weight's result `ready` falls and `flags_out` includes the weight clips of the row.
//!
//! The multiplier's output and the rounded product are registered: a row quantity takes three
//! cycles (product, rounding shift, use); the passes over the row are pipelined.

use nsm_model::learn::update::{flags, row_coefficients, update_weight, RowCoeffs, RowMode};
use nsm_model::learn::UpdateSpec;
use rust_hdl::prelude::*;

use crate::to_i64;

/// Widest port value: stored weights, `a_i` and biases must fit 32-bit ports.
pub const MAX_PORT_BITS: u32 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Idle,
    Acc,
    Calc(u32),
    Upd,
}

#[derive(LogicBlock)]
pub struct UpdateUnit {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: back to idle.
    pub reset: Signal<In, bool>,
    pub start: Signal<In, bool>,
    pub linear: Signal<In, bool>,
    pub err: Signal<In, Signed<32>>,
    pub a_in: Signal<In, Signed<32>>,
    pub b_in: Signal<In, Signed<32>>,
    pub w_valid: Signal<In, bool>,
    pub w_last: Signal<In, bool>,
    pub w_in: Signal<In, Signed<32>>,
    pub z_in: Signal<In, bool>,
    pub ready: Signal<Out, bool>,
    pub w_out: Signal<Out, Signed<32>>,
    pub w_out_valid: Signal<Out, bool>,
    pub w_clip: Signal<Out, bool>,
    pub a_out: Signal<Out, Signed<32>>,
    pub b_out: Signal<Out, Signed<32>>,
    pub p_out: Signal<Out, Signed<32>>,
    pub d_out: Signal<Out, Signed<32>>,
    pub delta_out: Signal<Out, Signed<32>>,
    pub dback_out: Signal<Out, Signed<32>>,
    pub flags_out: Signal<Out, Bits<8>>,
    _spec: UpdateSpec,
    _st: St,
    _mode: RowMode,
    _err: i64,
    _ma: i64,
    _mb: i64,
    _q: i64,
    _s: i64,
    _c: RowCoeffs,
    _w_out: i64,
    _w_out_valid: bool,
    _w_clip: bool,
    _flags: u32,
    /// Second pass: the weights taken one and two cycles ago (stored value, z, last).
    _pipe: Option<(i32, i8, bool)>,
    _pipe2: Option<(i32, i8, bool)>,
}

impl UpdateUnit {
    /// A unit for `spec` (the stored formats must fit 32-bit ports; see [`check_ports`]).
    pub fn new(spec: &UpdateSpec) -> Self {
        assert!(check_ports(spec).is_ok());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            linear: Default::default(),
            err: Default::default(),
            a_in: Default::default(),
            b_in: Default::default(),
            w_valid: Default::default(),
            w_last: Default::default(),
            w_in: Default::default(),
            z_in: Default::default(),
            ready: Default::default(),
            w_out: Default::default(),
            w_out_valid: Default::default(),
            w_clip: Default::default(),
            a_out: Default::default(),
            b_out: Default::default(),
            p_out: Default::default(),
            d_out: Default::default(),
            delta_out: Default::default(),
            dback_out: Default::default(),
            flags_out: Default::default(),
            _spec: spec.clone(),
            _st: St::Idle,
            _mode: RowMode::Linear,
            _err: 0,
            _ma: 0,
            _mb: 0,
            _q: 0,
            _s: 0,
            _c: RowCoeffs::default(),
            _w_out: 0,
            _w_out_valid: false,
            _w_clip: false,
            _flags: 0,
            _pipe: None,
            _pipe2: None,
        }
    }
}

/// Cycles from the end of the first pass (or `start`, for a linear row) to `ready`.
pub fn calc_cycles(spec: &UpdateSpec, mode: RowMode) -> u32 {
    match mode {
        RowMode::Linear => 1,
        RowMode::Stochastic => 46 + 9 * spec.learn.newton_steps,
    }
}

/// Refuses formats whose stored values do not fit the unit's 32-bit ports.
pub fn check_ports(spec: &UpdateSpec) -> Result<(), crate::HdlError> {
    let w = spec.widths();
    for (what, bits) in [
        ("stored weight width (weight_bits + guard_bits)", w.m),
        ("stored a_i width (a_bits + guard_bits)", w.ma),
        ("stored bias width (bias_bits + guard_bits)", w.mb),
        ("error width (err_bits)", w.err),
    ] {
        if bits > MAX_PORT_BITS {
            return Err(crate::HdlError::Unsupported {
                what,
                value: bits.into(),
                limit: MAX_PORT_BITS.into(),
            });
        }
    }
    Ok(())
}

impl Logic for UpdateUnit {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let spec = &self._spec;
            self._w_out_valid = false;
            if self.reset.val() {
                self._st = St::Idle;
                self._pipe = None;
                self._pipe2 = None;
            } else {
                match self._st {
                    St::Idle => {
                        if self.start.val() {
                            self._mode = if self.linear.val() {
                                RowMode::Linear
                            } else {
                                RowMode::Stochastic
                            };
                            self._err = to_i64(self.err.val());
                            self._ma = to_i64(self.a_in.val());
                            self._mb = to_i64(self.b_in.val());
                            self._q = 0;
                            self._s = 0;
                            self._st = match self._mode {
                                RowMode::Linear => St::Calc(calc_cycles(spec, RowMode::Linear)),
                                RowMode::Stochastic => St::Acc,
                            };
                        }
                    }
                    St::Acc => {
                        if self.w_valid.val() {
                            let w = spec.unguard(to_i64(self.w_in.val()));
                            self._q += w * w;
                            self._s += if self.z_in.val() { w } else { -w };
                            if self.w_last.val() {
                                self._st = St::Calc(calc_cycles(spec, self._mode));
                            }
                        }
                    }
                    St::Calc(r) => {
                        if r == 1 {
                            self._c = row_coefficients(
                                spec, self._mode, self._q, self._s, self._err, self._ma, self._mb,
                            );
                            self._flags = self._c.flags;
                            self._st = St::Upd;
                        } else {
                            self._st = St::Calc(r - 1);
                        }
                    }
                    St::Upd => {
                        // the weight taken two cycles ago leaves the pipeline
                        if let Some((m, z, last)) = self._pipe2.take() {
                            let (v, clip) =
                                update_weight(spec, &self._c, spec.weight_shift(self._mode), m, z);
                            self._w_out = i64::from(v);
                            self._w_out_valid = true;
                            self._w_clip = clip;
                            if clip {
                                self._flags |= flags::WEIGHT;
                            }
                            if last {
                                self._st = St::Idle;
                            }
                        }
                        self._pipe2 = self._pipe.take();
                        if self._st == St::Upd && self.w_valid.val() {
                            self._pipe = Some((
                                to_i64(self.w_in.val()) as i32,
                                if self.z_in.val() { 1 } else { -1 },
                                self.w_last.val(),
                            ));
                        }
                    }
                }
            }
        }
        let c = &self._c;
        self.ready.next = self._st == St::Upd;
        self.w_out.next = self._w_out.into();
        self.w_out_valid.next = self._w_out_valid;
        self.w_clip.next = self._w_clip;
        self.a_out.next = c.a.into();
        self.b_out.next = c.b.into();
        self.p_out.next = c.p.into();
        self.d_out.next = c.d.into();
        self.delta_out.next = c.delta.into();
        self.dback_out.next = c.dback.into();
        self.flags_out.next = u64::from(self._flags).into();
    }

    fn connect(&mut self) {
        self.ready.connect();
        self.w_out.connect();
        self.w_out_valid.connect();
        self.w_clip.connect();
        self.a_out.connect();
        self.b_out.connect();
        self.p_out.connect();
        self.d_out.connect();
        self.delta_out.connect();
        self.dback_out.connect();
        self.flags_out.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(&self._spec))
    }
}

mod row_engine;
mod verilog;

pub use row_engine::RustHdlEngine;
pub use verilog::verilog_body;

#[cfg(test)]
mod tests {
    use super::*;
    use nsm_model::engine::config::EngineConfig;
    use nsm_model::learn::mirror::count_mismatches;
    use nsm_model::learn::{random_request, update_row, LearnConfig};
    use rand::{Rng, SeedableRng};

    #[test]
    fn rust_hdl_unit_matches_the_mirror_on_random_rows() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(66);
        let (mut rows, mut active) = (0, 0);
        for (case, (newton, lr)) in [(2u32, 12u32), (1, 9), (0, 14), (3, 12)]
            .into_iter()
            .enumerate()
        {
            let learn = LearnConfig {
                newton_steps: newton,
                lr_shift: lr,
                lr_a_shift: lr,
                ..Default::default()
            };
            let spec = UpdateSpec::new(&EngineConfig::default_config(), &learn).unwrap();
            let mut e = RustHdlEngine::new(&spec);
            for _ in 0..40 {
                let mode = if rng.gen_range(0..4) == 0 {
                    RowMode::Linear
                } else {
                    RowMode::Stochastic
                };
                let n = rng.gen_range(1..80);
                let req = random_request(&mut rng, &spec, n, mode);
                let want = update_row(&spec, &req);
                let got = e.row(&req).unwrap();
                assert_eq!(
                    count_mismatches(&want, &got),
                    0,
                    "case {case}: {req:?}\n{want:?}\n{got:?}"
                );
                assert_eq!(got.weight_clips, want.weight_clips);
                assert_eq!(got.w.len(), req.w.len());
                rows += 1;
                active += usize::from(got.delta != 0 && got.w != req.w);
            }
        }
        assert!(rows >= 100);
        // many rows have a drive inside the tables and move their weights (small rows at
        // large step shifts move by less than a guard-bit step)
        assert!(active >= rows / 4, "{active} of {rows}");
    }
}
