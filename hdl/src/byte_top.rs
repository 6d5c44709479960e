//! A byte placed in the top eight bits of an `N`-bit word (the rest zero) as a leaf block.
//! The host link assembles little-endian fields by shifting a register right one byte and
//! putting the received byte on top; in rust-hdl that takes `bit_cast` (emitted as
//! `(byte & N'h..)`, an 8-bit operand in an `N`-bit operation, which Verilator's WIDTH rule
//! flags) and a shift. Here the Verilog says what it means: `{x, {N-8{1'b0}}}`.

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct ByteOnTop<const N: usize> {
    pub x: Signal<In, Bits<8>>,
    pub y: Signal<Out, Bits<N>>,
}

impl<const N: usize> Logic for ByteOnTop<N> {
    fn update(&mut self) {
        // N is 16 or 32 in this design; the assertion keeps the shift in range
        assert!((9..=64).contains(&N));
        let v = self.x.val().to_u64() << (N - 8);
        self.y.next = v.into();
    }

    fn connect(&mut self) {
        self.y.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "always @(*) begin\n   y = {{x, {{{}{{1'b0}}}}}};\nend\n",
            N - 8
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_the_byte_on_top() {
        let mut b = ByteOnTop::<32>::default();
        b.connect_all();
        for v in [0u64, 1, 0x5a, 0x80, 0xff] {
            b.x.next = v.into();
            assert!(simulate(&mut b, 10));
            assert_eq!(b.y.val(), Bits::<32>::from(v << 24));
        }
        let mut h = ByteOnTop::<16>::default();
        h.connect_all();
        h.x.next = 0xa5u64.into();
        assert!(simulate(&mut h, 10));
        assert_eq!(h.y.val(), Bits::<16>::from(0xa500u64));
        assert!(matches!(h.hdl(), Verilog::Custom(ref s) if s.contains("y = {x, {8{1'b0}}};")));
    }
}
