//! The neuron unit of one row: eq. 5 in integers, `u' = 2^F (T + B) + A S`, and the sign unit
//! of eq. 1, `z = +1` iff `u' >= 0`, registered. A leaf block with its own Verilog because
//! rust-hdl multiplies only 16 x 16 bits; the widths of the engine contract keep `u'` within
//! 62 bits, so the 64-bit product is exact.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct NeuronUnit {
    pub clock: Signal<In, Clock>,
    pub s: Signal<In, Signed<64>>,
    pub t: Signal<In, Signed<64>>,
    pub a: Signal<In, Signed<64>>,
    pub b: Signal<In, Signed<64>>,
    /// `u' >= 0`, one clock after the inputs.
    pub fire: Signal<Out, bool>,
    _frac_bits: u32,
}

impl NeuronUnit {
    /// A unit for `a_i` with `frac_bits` fractional bits.
    pub fn new(frac_bits: u32) -> Self {
        assert!(frac_bits < 62);
        Self {
            clock: Default::default(),
            s: Default::default(),
            t: Default::default(),
            a: Default::default(),
            b: Default::default(),
            fire: Default::default(),
            _frac_bits: frac_bits,
        }
    }
}

fn to_i64(x: Signed<64>) -> i64 {
    x.inner().to_u64() as i64
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
        Verilog::Custom(format!(
            "wire signed [63:0] u = ((t + b) <<< {f}) + a * s;\n\nalways @(posedge clock) begin\n   fire <= ~u[63];\nend\n",
            f = self._frac_bits
        ))
    }
}
