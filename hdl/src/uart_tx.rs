//! UART transmitter, 8N1: one start bit, eight data bits least significant first, one stop
//! bit, each held for `clocks_per_bit` clocks (the clock frequency over the baud rate).
//!
//! A byte is taken on a rising edge where `start` and `ready` are both high; `ready` is low
//! until the stop bit has been on the line for a whole bit time. `tx` comes straight from a
//! register (no glitches) and idles high.

use rust_hdl::prelude::*;

/// Slowest divisor the 16-bit bit counter supports.
pub const MAX_CLOCKS_PER_BIT: u32 = 1 << 16;
/// Fastest divisor (the receiver needs a middle to sample).
pub const MIN_CLOCKS_PER_BIT: u32 = 4;

#[derive(LogicBlock)]
pub struct UartTx {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, line high.
    pub reset: Signal<In, bool>,
    pub data: Signal<In, Bits<8>>,
    pub start: Signal<In, bool>,
    pub ready: Signal<Out, bool>,
    pub tx: Signal<Out, bool>,
    busy: DFF<bool>,
    /// The data bits still to send, the next one in bit 0.
    shift: DFF<Bits<8>>,
    /// Bits of the frame still to send after the current one: 9 while the start bit is on
    /// the line, 8..=1 for the data bits, 0 for the stop bit.
    bits_left: DFF<Bits<4>>,
    count: DFF<Bits<16>>,
    line: DFF<bool>,
    c_last: Constant<Bits<16>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_start_bit: Constant<Bits<4>>,
    c_stop_bit: Constant<Bits<4>>,
    c_one4: Constant<Bits<4>>,
}

impl UartTx {
    /// A transmitter holding each bit for `clocks_per_bit` clocks
    /// ([`MIN_CLOCKS_PER_BIT`]..=[`MAX_CLOCKS_PER_BIT`], checked by the caller; panics
    /// outside).
    pub fn new(clocks_per_bit: u32) -> Self {
        assert!((MIN_CLOCKS_PER_BIT..=MAX_CLOCKS_PER_BIT).contains(&clocks_per_bit));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            data: Default::default(),
            start: Default::default(),
            ready: Default::default(),
            tx: Default::default(),
            busy: Default::default(),
            shift: Default::default(),
            bits_left: Default::default(),
            count: Default::default(),
            line: Default::default(),
            c_last: Constant::new(Bits::from(u64::from(clocks_per_bit - 1))),
            c_zero16: Constant::new(Bits::from(0u64)),
            c_one16: Constant::new(Bits::from(1u64)),
            c_start_bit: Constant::new(Bits::from(9u64)),
            c_stop_bit: Constant::new(Bits::from(0u64)),
            c_one4: Constant::new(Bits::from(1u64)),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, busy, shift, bits_left, count, line);
        self.ready.next = !self.busy.q.val();
        self.tx.next = self.line.q.val();
        self.line.d.next = true;
        if self.busy.q.val() {
            // the frame: start bit (low), the data bits from `shift`, stop bit (high)
            self.line.d.next = self.shift.q.val().get_bit(0);
            if self.bits_left.q.val() == self.c_start_bit.val() {
                self.line.d.next = false;
            }
            if self.bits_left.q.val() == self.c_stop_bit.val() {
                self.line.d.next = true;
            }
            self.count.d.next = self.count.q.val() + self.c_one16.val();
            if self.count.q.val() == self.c_last.val() {
                self.count.d.next = self.c_zero16.val();
                if self.bits_left.q.val() != self.c_start_bit.val() {
                    self.shift.d.next = self.shift.q.val() >> 1;
                }
                if self.bits_left.q.val() == self.c_stop_bit.val() {
                    self.busy.d.next = false;
                } else {
                    self.bits_left.d.next = self.bits_left.q.val() - self.c_one4.val();
                }
            }
        } else if self.start.val() {
            self.shift.d.next = self.data.val();
            self.bits_left.d.next = self.c_start_bit.val();
            self.count.d.next = self.c_zero16.val();
            self.busy.d.next = true;
        }
        if self.reset.val() {
            self.busy.d.next = false;
            self.count.d.next = self.c_zero16.val();
            self.line.d.next = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::{LineDecoder, Received};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn settle(uut: &mut UartTx) {
        for _ in 0..100 {
            uut.update_all();
            if !uut.has_changed() {
                return;
            }
        }
        panic!("no settle");
    }

    fn cycle(uut: &mut UartTx) {
        settle(uut);
        uut.clock.next = true.into();
        settle(uut);
        uut.clock.next = false.into();
    }

    /// Random bytes with random pauses between them, each checked bit by bit by the golden
    /// receiver, and the exact bit time checked by the frame length.
    #[test]
    fn uart_tx_sends_random_bytes_bit_exact() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for cpb in [4u32, 5, 9, 16] {
            let mut uut = UartTx::new(cpb);
            uut.connect_all();
            uut.reset.next = true;
            cycle(&mut uut);
            uut.reset.next = false;
            let bytes: Vec<u8> = (0..60).map(|_| rng.gen()).collect();
            let mut dec = LineDecoder::new(cpb as usize);
            let (mut sent, mut got) = (0, Vec::new());
            let mut low_run = 0usize;
            let mut pause = 0u32;
            for _ in 0..200_000 {
                settle(&mut uut);
                if let Some(r) = dec.sample(uut.tx.val()) {
                    got.push(r);
                }
                // a frame of 0x00 holds the line low for exactly nine bit times
                if uut.tx.val() {
                    if low_run > 0 {
                        assert!(
                            low_run <= 9 * cpb as usize && low_run.is_multiple_of(cpb as usize)
                        );
                    }
                    low_run = 0;
                } else {
                    low_run += 1;
                }
                let offer = sent < bytes.len() && pause == 0;
                uut.start.next = offer;
                uut.data.next = u64::from(*bytes.get(sent).unwrap_or(&0)).into();
                settle(&mut uut);
                let took = offer && uut.ready.val();
                cycle(&mut uut);
                if took {
                    sent += 1;
                    pause = if rng.gen_bool(0.5) {
                        rng.gen_range(0..30)
                    } else {
                        0
                    };
                } else {
                    pause = pause.saturating_sub(1);
                }
                if got.len() == bytes.len() {
                    break;
                }
            }
            let want: Vec<Received> = bytes.iter().map(|&b| Received::Byte(b)).collect();
            assert_eq!(got, want, "clocks per bit {cpb}");
        }
    }

    #[test]
    fn uart_tx_idles_high_after_reset() {
        let mut uut = UartTx::new(4);
        uut.connect_all();
        uut.reset.next = true;
        cycle(&mut uut);
        cycle(&mut uut);
        uut.reset.next = false;
        for _ in 0..20 {
            cycle(&mut uut);
            assert!(uut.tx.val() && uut.ready.val());
        }
    }
}
