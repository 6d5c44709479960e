//! One processing element of the array.
//!
//! The array is systolic along its rows: PE `(r, c)` sees array step `n` one cycle after PE
//! `(r, c-1)`, and the partial sums of a step ripple to the right through one register per PE.
//! Down the columns the weights are broadcast: every row handles the same step (with its own
//! Monte Carlo pass's activations) in the same cycle. On a valid step a PE
//! * leaps its LFSR `k` steps and opens its gate iff the `k` fresh bits are below the threshold
//!   (`docs/engine-spec.md`, section 3);
//! * forms `term = +w` if its activation bit is set (`z = +1`) else `-w`: a conditional
//!   negation (`sign(w) XNOR z`), no multiplier;
//! * adds `term` to the row's partial sum `S` and, if the gate is open, to `T`.
//!
//! The ports are as wide as the widest configuration; each partial sum is cut to the step-sum
//! width the configuration derives and sign-extended back ([`crate::fit_masks`]), so synthesis keeps
//! only the bits a configuration needs.

use nsm_model::lfsr::LfsrSpec;
use rust_hdl::prelude::*;

use crate::fit_masks;
use crate::lfsr_gate::LfsrGate;

/// Width of the weight and partial-sum ports: one machine word, the widest rust-hdl simulates
/// natively, and the accumulators' width, so no port changes width on its way to the row end.
/// One step's sum needs at most `32 * (2^15 - 1) < 2^21`; a configuration uses
/// `step_sum_bits` of the 32 (the weight memory sign-extends its words to 32 bits).
pub const PSUM_BITS: usize = 32;

#[derive(LogicBlock)]
pub struct Pe {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: the LFSR returns to its seed.
    pub reset: Signal<In, bool>,
    /// A valid array step reaches this PE in this cycle.
    pub valid_in: Signal<In, bool>,
    /// This column's weight of the step (broadcast down the column), sign-extended.
    pub w_in: Signal<In, Signed<PSUM_BITS>>,
    /// The row's activation word of this step; bit `c` is PE `(r, c)`'s.
    pub z_in: Signal<In, Bits<32>>,
    pub s_in: Signal<In, Signed<PSUM_BITS>>,
    pub t_in: Signal<In, Signed<PSUM_BITS>>,
    pub z_out: Signal<Out, Bits<32>>,
    pub s_out: Signal<Out, Signed<PSUM_BITS>>,
    pub t_out: Signal<Out, Signed<PSUM_BITS>>,
    /// This cycle's gate (valid only with `valid_in`), for inspection.
    pub gate: Signal<Out, bool>,
    z_r: DFF<Bits<32>>,
    s_r: DFF<Signed<PSUM_BITS>>,
    t_r: DFF<Signed<PSUM_BITS>>,
    lfsr: LfsrGate,
    /// One-hot mask of this PE's column in the activation word.
    col_mask: Constant<Bits<32>>,
    /// The addends of S and T: the weight or its complement, and the carry that completes
    /// the two's-complement negation (`-w = !w + 1`), so each sum is one adder.
    add_s: Signal<Local, Bits<PSUM_BITS>>,
    carry_s: Signal<Local, Bits<PSUM_BITS>>,
    add_t: Signal<Local, Bits<PSUM_BITS>>,
    carry_t: Signal<Local, Bits<PSUM_BITS>>,
    sum_s: Signal<Local, Bits<PSUM_BITS>>,
    sum_t: Signal<Local, Bits<PSUM_BITS>>,
    zero: Constant<Bits<PSUM_BITS>>,
    one: Constant<Bits<PSUM_BITS>>,
    /// Masks that cut a sum to the step-sum width: its bits, its sign bit, the bits above.
    psum_low: Constant<Bits<PSUM_BITS>>,
    psum_sign: Constant<Bits<PSUM_BITS>>,
    psum_high: Constant<Bits<PSUM_BITS>>,
}

impl Pe {
    /// The PE of column `col` whose LFSR (`spec`) starts at `seed` and draws gates of `k`
    /// bits against `threshold`; its partial sums are `psum_bits` wide.
    pub fn new(
        spec: &LfsrSpec,
        seed: u32,
        k: u32,
        threshold: u32,
        col: usize,
        psum_bits: u32,
    ) -> Self {
        assert!(col < 32);
        let (psum_low, psum_sign, psum_high) = fit_masks(psum_bits);
        Self {
            clock: Default::default(),
            reset: Default::default(),
            valid_in: Default::default(),
            w_in: Default::default(),
            z_in: Default::default(),
            s_in: Default::default(),
            t_in: Default::default(),
            z_out: Default::default(),
            s_out: Default::default(),
            t_out: Default::default(),
            gate: Default::default(),
            z_r: Default::default(),
            s_r: Default::default(),
            t_r: Default::default(),
            lfsr: LfsrGate::new(spec, seed, k, threshold),
            col_mask: Constant::new((1u64 << col).into()),
            add_s: Default::default(),
            carry_s: Default::default(),
            add_t: Default::default(),
            carry_t: Default::default(),
            sum_s: Default::default(),
            sum_t: Default::default(),
            zero: Constant::new(0u64.into()),
            one: Constant::new(1u64.into()),
            psum_low,
            psum_sign,
            psum_high,
        }
    }
}

impl Logic for Pe {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, z_r, s_r, t_r);
        self.lfsr.clock.next = self.clock.val();
        self.lfsr.reset.next = self.reset.val();
        self.lfsr.step.next = self.valid_in.val();
        self.gate.next = self.lfsr.gate.val();
        // Conditional negation as the adders' operands: z = +1 adds w, z = -1 adds !w with a
        // carry of 1; T takes the same addend when the gate is open. One adder per sum (half
        // the area of an add and a subtract behind a multiplexer).
        self.z_r.d.next = self.z_in.val();
        self.add_s.next = unsigned_cast(self.w_in.val());
        self.carry_s.next = self.zero.val();
        self.add_t.next = self.zero.val();
        self.carry_t.next = self.zero.val();
        if (self.z_in.val() & self.col_mask.val()).any() {
            if self.lfsr.gate.val() {
                self.add_t.next = unsigned_cast(self.w_in.val());
            }
        } else {
            self.add_s.next = !unsigned_cast(self.w_in.val());
            self.carry_s.next = self.one.val();
            if self.lfsr.gate.val() {
                self.add_t.next = !unsigned_cast(self.w_in.val());
                self.carry_t.next = self.one.val();
            }
        }
        self.sum_s.next = unsigned_cast(self.s_in.val()) + self.add_s.val() + self.carry_s.val();
        self.sum_t.next = unsigned_cast(self.t_in.val()) + self.add_t.val() + self.carry_t.val();
        // cut to the configuration's step-sum width (a no-op on every reachable value)
        self.s_r.d.next = signed_cast(self.sum_s.val() & self.psum_low.val());
        if (self.sum_s.val() & self.psum_sign.val()).any() {
            self.s_r.d.next =
                signed_cast((self.sum_s.val() & self.psum_low.val()) | self.psum_high.val());
        }
        self.t_r.d.next = signed_cast(self.sum_t.val() & self.psum_low.val());
        if (self.sum_t.val() & self.psum_sign.val()).any() {
            self.t_r.d.next =
                signed_cast((self.sum_t.val() & self.psum_low.val()) | self.psum_high.val());
        }
        self.z_out.next = self.z_r.q.val();
        self.s_out.next = self.s_r.q.val();
        self.t_out.next = self.t_r.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsm_model::lfsr::LfsrSpec;

    fn tick(pe: &mut Pe) {
        pe.clock.next = true.into();
        assert!(simulate(pe, 100));
        pe.clock.next = false.into();
        assert!(simulate(pe, 100));
    }

    #[test]
    fn gates_and_partial_sums_follow_the_model() {
        for (width, k, threshold) in [(16u32, 1u32, 1u32), (16, 8, 77), (32, 5, 0), (8, 3, 7)] {
            let spec = LfsrSpec::standard(width).unwrap();
            let seed = spec.jump(1, 12345);
            let mut pe = Pe::new(&spec, seed, k, threshold, 2, 12);
            pe.connect_all();
            pe.reset.next = true;
            tick(&mut pe);
            pe.reset.next = false;
            let mut state = seed;
            for n in 0..300u32 {
                let valid = n % 3 != 1;
                let w = (n as i64 * 37 % 255) - 127;
                let z = n % 5 < 2;
                pe.valid_in.next = valid;
                pe.w_in.next = w.into();
                pe.z_in.next = (if z { 0b101u64 } else { 0b001u64 }).into();
                pe.s_in.next = 1000i64.into();
                pe.t_in.next = (-7i64).into();
                assert!(simulate(&mut pe, 100));
                if valid {
                    let expect = spec.gate(&mut state, k, threshold);
                    assert_eq!(pe.gate.val(), expect, "width {width} k {k} gate {n}");
                }
                let gate = pe.gate.val();
                tick(&mut pe);
                let term = if z { w } else { -w };
                assert_eq!(pe.s_out.val(), (1000 + term).into());
                assert_eq!(pe.t_out.val(), (if gate { -7 + term } else { -7 }).into());
                assert_eq!(
                    pe.z_out.val(),
                    Bits::<32>::from(if z { 0b101u64 } else { 0b001u64 })
                );
            }
        }
    }

    #[test]
    fn partial_sums_cannot_overflow() {
        let worst = crate::MAX_COLS as i64 * i64::from(i16::MAX);
        assert!(worst < 1 << (PSUM_BITS - 1));
        assert!(worst < 1 << (crate::MAX_ACC_BITS - 1));
    }

    #[test]
    fn verilog_is_generated() {
        let spec = LfsrSpec::standard(16).unwrap();
        let mut pe = Pe::new(&spec, 1, 2, 1, 0, 12);
        pe.connect_all();
        let v = generate_verilog(&pe);
        assert!(v.contains("module top"), "{v}");
    }
}
#[cfg(test)]
mod dump {
    #[test]
    #[ignore]
    fn dump_verilog() {
        use super::*;
        let spec = nsm_model::lfsr::LfsrSpec::standard(16).unwrap();
        let mut pe = Pe::new(&spec, 1, 2, 1, 0, 12);
        pe.connect_all();
        println!("{}", generate_verilog(&pe));
    }
}
