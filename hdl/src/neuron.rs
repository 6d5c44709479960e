//! The neuron unit of one row: eq. 5 in integers, `u' = 2^F (T + B) + A S`
//! (`nsm_model::equations::fixed_preactivation`, the function both bit-exact models use), and
//! the sign unit of eq. 1, `z = +1` iff `u' >= 0`. A leaf block with its own Verilog because rust-hdl
//! multiplies only 16 x 16 bits. Inputs are 32-bit (the engine refuses wider accumulators and
//! parameters); `u'` is formed at the contract's width, which keeps it exact (64 bits in the
//! Rust model).
//!
//! Two pipeline stages ([`NEURON_LATENCY`]): the product `A S` and the sum `T + B` are
//! registered (the multiplier's own output register in a DSP block), then `u'` and its sign.
//! The inputs are expected to come from registers (the row's accumulators), so the multiplier
//! starts a clock period of its own. With [`NeuronUnit::with_input_registers`] the operands
//! pass one more register first, which drives nothing but the multiplier, and the sign one
//! more after `u'`: `nsm synth` moves the operand and product registers into the ECP5 DSP's
//! own registers (`nsm_flow::absorb`), which takes the DSP's slow combinational path out of
//! the clock period.

use rust_hdl::prelude::*;

use crate::to_i64;

/// Clocks from the inputs to `fire` without input registers ([`NeuronUnit::latency`]).
pub const NEURON_LATENCY: usize = 2;

#[derive(LogicBlock)]
pub struct NeuronUnit {
    pub clock: Signal<In, Clock>,
    pub s: Signal<In, Signed<32>>,
    pub t: Signal<In, Signed<32>>,
    pub a: Signal<In, Signed<32>>,
    pub b: Signal<In, Signed<32>>,
    /// `u' >= 0`, [`NeuronUnit::latency`] clocks after the inputs.
    pub fire: Signal<Out, bool>,
    _frac_bits: u32,
    /// Verilog widths: `a_i`, the accumulators, the bias, and `u'` (the contract's derived
    /// widths; the Rust model computes in 64 bits, where the same values are exact).
    _a_bits: u32,
    _acc_bits: u32,
    _bias_bits: u32,
    _u_bits: u32,
    /// The registered `A S` and `T + B` (Rust model).
    _prod: i64,
    _tb: i64,
    /// The registered operands `(A, S, T, B)`, when the unit has input registers.
    _inputs: Option<(i64, i64, i64, i64)>,
    /// The sign, registered once more (with input registers).
    _fire: bool,
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
            _prod: 0,
            _tb: 0,
            _inputs: None,
            _fire: false,
        }
    }

    /// The operands pass a register of their own before the multiplier, and the sign one
    /// after `u'` (so that neither the DSP's product nor `fire` has to cross the chip within
    /// the clock that forms `u'`): two clocks more.
    pub fn with_input_registers(mut self, on: bool) -> Self {
        self._inputs = on.then_some((0, 0, 0, 0));
        self
    }

    /// Clocks from the inputs to `fire`.
    pub fn latency(&self) -> usize {
        NEURON_LATENCY + 2 * usize::from(self._inputs.is_some())
    }
}

impl Logic for NeuronUnit {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let u = (self._tb << self._frac_bits).wrapping_add(self._prod);
            self.fire.next = if self._inputs.is_some() {
                std::mem::replace(&mut self._fire, u >= 0)
            } else {
                u >= 0
            };
            let now = (
                to_i64(self.a.val()),
                to_i64(self.s.val()),
                to_i64(self.t.val()),
                to_i64(self.b.val()),
            );
            let (a, s, t, b) = match self._inputs.as_mut() {
                Some(held) => std::mem::replace(held, now),
                None => now,
            };
            self._prod = a.wrapping_mul(s);
            self._tb = t.wrapping_add(b);
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
        // the product at its natural width (a single DSP multiplier), or at u' if narrower
        let p = (a + s).min(u);
        // T + B, exact
        let tbw = (s.max(b) + 1).min(u);
        // the operands as the multiplier sees them: the ports, or their registers
        let (fire_reg, fire_d) = if self._inputs.is_some() {
            (
                "reg fire_u;\n\nalways @(posedge clock) begin\n   fire <= fire_u;\nend\n",
                "fire_u",
            )
        } else {
            ("", "fire")
        };
        let operands = if self._inputs.is_some() {
            format!("reg signed [{am}:0] a_n;\nreg signed [{sm}:0] s_n;\nreg signed [{sm}:0] t_n;\nreg signed [{bm}:0] b_n;\n\nalways @(posedge clock) begin\n   a_n <= a[{am}:0];\n   s_n <= s[{sm}:0];\n   t_n <= t[{sm}:0];\n   b_n <= b[{bm}:0];\nend\n\n",
                am = a - 1, sm = s - 1, bm = b - 1)
        } else {
            format!("wire signed [{am}:0] a_n = a[{am}:0];\nwire signed [{sm}:0] s_n = s[{sm}:0];\nwire signed [{sm}:0] t_n = t[{sm}:0];\nwire signed [{bm}:0] b_n = b[{bm}:0];\n",
                am = a - 1, sm = s - 1, bm = b - 1)
        };
        Verilog::Custom(format!(
            "{operands}{fire_reg}reg signed [{pm}:0] prod_n;\nreg signed [{tbm}:0] tb;\nwire signed [{um}:0] prod = {px};\nwire signed [{um}:0] tb_u = {tbx};\n// u' = 2^F (T + B) + A S: eq. 5 in fixed point (nsm_model::equations::fixed_preactivation)\nwire signed [{um}:0] u = (tb_u <<< {f}) + prod;\n\nalways @(posedge clock) begin\n   prod_n <= a_n * s_n;\n   tb <= {tx} + {bx};\n   {fire_d} <= ~u[{um}];\nend\n",
            um = u - 1,
            pm = p - 1,
            px = extend("prod_n", p, u, true),
            tbm = tbw - 1,
            tx = extend("t_n", s, tbw, true),
            bx = extend("b_n", b, tbw, true),
            tbx = extend("tb", tbw, u, true),
        ))
    }
}
