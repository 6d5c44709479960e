//! The neuron unit of one row: eq. 5 in integers, `u' = 2^F (T + B) + A S`, and the sign unit
//! of eq. 1, `z = +1` iff `u' >= 0`, registered. A leaf block with its own Verilog because
//! rust-hdl multiplies only 16 x 16 bits. Inputs are 32-bit (the engine refuses wider
//! accumulators and parameters); `u'` is formed in 64 bits, where the widths of the engine
//! contract keep it exact.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct NeuronUnit {
    pub clock: Signal<In, Clock>,
    pub s: Signal<In, Signed<32>>,
    pub t: Signal<In, Signed<32>>,
    pub a: Signal<In, Signed<32>>,
    pub b: Signal<In, Signed<32>>,
    /// `u' >= 0`, one clock after the inputs.
    pub fire: Signal<Out, bool>,
    _frac_bits: u32,
    /// Verilog widths: `a_i`, the accumulators, the bias, and `u'` (the contract's derived
    /// widths; the Rust model computes in 64 bits, where the same values are exact).
    _a_bits: u32,
    _acc_bits: u32,
    _bias_bits: u32,
    _u_bits: u32,
}

impl NeuronUnit {
    /// A unit for `a_i` of `a_bits` bits with `frac_bits` fractional bits, accumulators of
    /// `acc_bits`, biases of `bias_bits`, and `u'` of `u_bits` bits.
    pub fn new(frac_bits: u32, a_bits: u32, acc_bits: u32, bias_bits: u32, u_bits: u32) -> Self {
        assert!(
            frac_bits < 62 && u_bits <= 64 && a_bits <= 32 && acc_bits <= 32 && bias_bits <= 32
        );
        Self {
            clock: Default::default(),
            s: Default::default(),
            t: Default::default(),
            a: Default::default(),
            b: Default::default(),
            fire: Default::default(),
            _frac_bits: frac_bits,
            _a_bits: a_bits,
            _acc_bits: acc_bits,
            _bias_bits: bias_bits,
            _u_bits: u_bits,
        }
    }
}

fn to_i64(x: Signed<32>) -> i64 {
    i64::from(x.inner().to_u64() as u32 as i32)
}

impl Logic for NeuronUnit {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let u = (to_i64(self.t.val()).wrapping_add(to_i64(self.b.val())) << self._frac_bits)
                .wrapping_add(to_i64(self.a.val()).wrapping_mul(to_i64(self.s.val())));
            self.fire.next = u >= 0;
        }
    }

    fn connect(&mut self) {
        self.fire.connect();
    }

    fn hdl(&self) -> Verilog {
        // Each operand is cut to its contract width (the engine never drives more), extended
        // explicitly to the width of u', which the contract derives so that u' is exact, and
        // only u's sign is kept (eq. 1).
        use crate::ram::extend;
        let (a, s, b, u, f) = (
            self._a_bits as usize,
            self._acc_bits as usize,
            self._bias_bits as usize,
            self._u_bits as usize,
            self._frac_bits,
        );
        assert!(u >= a.max(s).max(b));
        Verilog::Custom(format!(
            "wire signed [{am}:0] a_n = a[{am}:0];\nwire signed [{sm}:0] s_n = s[{sm}:0];\nwire signed [{sm}:0] t_n = t[{sm}:0];\nwire signed [{bm}:0] b_n = b[{bm}:0];\nwire signed [{um}:0] prod = {ax} * {sx};\nwire signed [{um}:0] tb = {tx} + {bx};\nwire signed [{um}:0] u = (tb <<< {f}) + prod;\n\nalways @(posedge clock) begin\n   fire <= ~u[{um}];\nend\n",
            am = a - 1,
            sm = s - 1,
            bm = b - 1,
            um = u - 1,
            ax = extend("a_n", a, u, true),
            sx = extend("s_n", s, u, true),
            tx = extend("t_n", s, u, true),
            bx = extend("b_n", b, u, true),
        ))
    }
}
