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
        Verilog::Custom(format!(
            "wire signed [63:0] s64 = s;\nwire signed [63:0] t64 = t;\nwire signed [63:0] a64 = a;\nwire signed [63:0] b64 = b;\nwire signed [63:0] u = ((t64 + b64) <<< {f}) + a64 * s64;\n\nalways @(posedge clock) begin\n   fire <= ~u[63];\nend\n",
            f = self._frac_bits
        ))
    }
}
