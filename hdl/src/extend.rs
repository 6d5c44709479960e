//! Sign extension from 32 to 64 bits as a leaf block: rust-hdl's generator can only emit
//! `$signed(x)` into a wider target, which Verilog extends implicitly and Verilator's WIDTH
//! rule rightly flags. Here the Verilog says what it means: `{{32{x[31]}}, x}`.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct SignExtend {
    pub x: Signal<In, Signed<32>>,
    pub y: Signal<Out, Signed<64>>,
}

impl Logic for SignExtend {
    fn update(&mut self) {
        self.y.next = crate::to_i64(self.x.val()).into();
    }

    fn connect(&mut self) {
        self.y.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom("always @(*) begin\n   y = {{32{x[31]}}, x};\nend\n".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extends_the_sign() {
        let mut e = SignExtend::default();
        e.connect_all();
        for v in [
            0i64,
            1,
            -1,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            -12345,
        ] {
            e.x.next = v.into();
            assert!(simulate(&mut e, 10));
            assert_eq!(e.y.val(), Signed::<64>::from(v));
        }
    }
}
