//! UART receiver, 8N1, `clocks_per_bit` clocks per bit.
//!
//! `rx` is asynchronous to the clock: it passes a two-flop synchronizer first (both flops
//! reset to the idle level, high). A falling edge of the synchronized line starts a frame; the
//! receiver samples it in the middle of the start bit (`clocks_per_bit / 2` clocks later; a high
//! level there is a glitch and is ignored), then in the middle of every data bit and of the
//! stop bit. After the stop bit it strobes `valid` for one clock with the byte on `data`
//! (held until the next byte's first data bit), or `frame_error` if the stop bit was low. It
//! is ready for the next start bit from the middle of the stop bit on.

use rust_hdl::prelude::*;

pub use crate::uart_tx::{MAX_CLOCKS_PER_BIT, MIN_CLOCKS_PER_BIT};

// The receiver's states (a 2-bit register compared with typed constants: rust-hdl emits an
// enum's values as untyped integers and its register's initial value as a 64-bit literal).
const IDLE: u64 = 0;
const START: u64 = 1;
const DATA: u64 = 2;
const STOP: u64 = 3;

#[derive(LogicBlock)]
pub struct UartRx {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle.
    pub reset: Signal<In, bool>,
    pub rx: Signal<In, bool>,
    pub data: Signal<Out, Bits<8>>,
    pub valid: Signal<Out, bool>,
    pub frame_error: Signal<Out, bool>,
    sync0: DFF<bool>,
    sync1: DFF<bool>,
    state: DFF<Bits<2>>,
    count: DFF<Bits<16>>,
    bit_idx: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    valid_r: DFF<bool>,
    error_r: DFF<bool>,
    c_half: Constant<Bits<16>>,
    c_last: Constant<Bits<16>>,
    c_msb: Constant<Bits<8>>,
    c_idle: Constant<Bits<2>>,
    c_start: Constant<Bits<2>>,
    c_data: Constant<Bits<2>>,
    c_stop: Constant<Bits<2>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero3: Constant<Bits<3>>,
    c_one3: Constant<Bits<3>>,
    c_last_bit: Constant<Bits<3>>,
}

impl UartRx {
    /// A receiver for bits of `clocks_per_bit` clocks
    /// ([`MIN_CLOCKS_PER_BIT`]..=[`MAX_CLOCKS_PER_BIT`], checked by the caller; panics
    /// outside).
    pub fn new(clocks_per_bit: u32) -> Self {
        assert!((MIN_CLOCKS_PER_BIT..=MAX_CLOCKS_PER_BIT).contains(&clocks_per_bit));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_error: Default::default(),
            sync0: Default::default(),
            sync1: Default::default(),
            state: Default::default(),
            count: Default::default(),
            bit_idx: Default::default(),
            shift: Default::default(),
            valid_r: Default::default(),
            error_r: Default::default(),
            // the edge is seen two clocks late (synchronizer): sample `cpb / 2` after it
            c_half: Constant::new(Bits::from(u64::from(clocks_per_bit / 2 - 1))),
            c_last: Constant::new(Bits::from(u64::from(clocks_per_bit - 1))),
            c_msb: Constant::new(Bits::from(0x80)),
            c_idle: Constant::new(Bits::from(IDLE)),
            c_start: Constant::new(Bits::from(START)),
            c_data: Constant::new(Bits::from(DATA)),
            c_stop: Constant::new(Bits::from(STOP)),
            c_zero16: Constant::new(Bits::from(0u64)),
            c_one16: Constant::new(Bits::from(1u64)),
            c_zero3: Constant::new(Bits::from(0u64)),
            c_one3: Constant::new(Bits::from(1u64)),
            c_last_bit: Constant::new(Bits::from(7u64)),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, sync0, sync1, state, count, bit_idx, shift, valid_r, error_r);
        self.sync0.d.next = self.rx.val();
        self.sync1.d.next = self.sync0.q.val();
        self.data.next = self.shift.q.val();
        self.valid.next = self.valid_r.q.val();
        self.frame_error.next = self.error_r.q.val();
        self.valid_r.d.next = false;
        self.error_r.d.next = false;
        self.count.d.next = self.count.q.val() + self.c_one16.val();
        if self.state.q.val() == self.c_idle.val() {
            self.count.d.next = self.c_zero16.val();
            if !self.sync1.q.val() {
                self.state.d.next = self.c_start.val();
            }
        }
        if (self.state.q.val() == self.c_start.val()) & (self.count.q.val() == self.c_half.val()) {
            self.count.d.next = self.c_zero16.val();
            self.bit_idx.d.next = self.c_zero3.val();
            if self.sync1.q.val() {
                self.state.d.next = self.c_idle.val();
            } else {
                self.state.d.next = self.c_data.val();
            }
        }
        if (self.state.q.val() == self.c_data.val()) & (self.count.q.val() == self.c_last.val()) {
            self.count.d.next = self.c_zero16.val();
            if self.sync1.q.val() {
                self.shift.d.next = (self.shift.q.val() >> 1) | self.c_msb.val();
            } else {
                self.shift.d.next = self.shift.q.val() >> 1;
            }
            self.bit_idx.d.next = self.bit_idx.q.val() + self.c_one3.val();
            if self.bit_idx.q.val() == self.c_last_bit.val() {
                self.state.d.next = self.c_stop.val();
            }
        }
        if (self.state.q.val() == self.c_stop.val()) & (self.count.q.val() == self.c_last.val()) {
            self.count.d.next = self.c_zero16.val();
            self.valid_r.d.next = self.sync1.q.val();
            self.error_r.d.next = !self.sync1.q.val();
            self.state.d.next = self.c_idle.val();
        }
        if self.reset.val() {
            self.sync0.d.next = true;
            self.sync1.d.next = true;
            self.state.d.next = self.c_idle.val();
            self.count.d.next = self.c_zero16.val();
            self.valid_r.d.next = false;
            self.error_r.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::LineEncoder;
    use crate::uart_tx::UartTx;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn settle<B: Block>(uut: &mut B) {
        for _ in 0..100 {
            uut.update_all();
            if !uut.has_changed() {
                return;
            }
        }
        panic!("no settle");
    }

    fn reset(uut: &mut UartRx) {
        uut.rx.next = true;
        uut.reset.next = true;
        settle(uut);
        uut.clock.next = true.into();
        settle(uut);
        uut.clock.next = false.into();
        uut.reset.next = false;
    }

    /// Random bytes with random idle gaps from the golden line encoder, some with a slightly
    /// fast or slow far end (one clock per bit off at 32 clocks per bit: 3%).
    #[test]
    fn uart_rx_receives_random_bytes_with_random_gaps() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for (cpb, far_cpb) in [(4u32, 4usize), (5, 5), (8, 8), (16, 16), (32, 31), (32, 33)] {
            let mut uut = UartRx::new(cpb);
            uut.connect_all();
            reset(&mut uut);
            let bytes: Vec<u8> = (0..80).map(|_| rng.gen()).collect();
            let mut enc = LineEncoder::new(far_cpb);
            for &b in &bytes {
                let gap = if rng.gen_bool(0.5) {
                    rng.gen_range(0..40)
                } else {
                    0
                };
                enc.push(b, gap);
            }
            enc.idle(4 * cpb as usize);
            let mut got = Vec::new();
            while enc.pending() > 0 {
                uut.rx.next = enc.next_level();
                settle(&mut uut);
                assert!(!uut.frame_error.val(), "clocks per bit {cpb}/{far_cpb}");
                if uut.valid.val() {
                    got.push(uut.data.val().index() as u8);
                }
                uut.clock.next = true.into();
                settle(&mut uut);
                uut.clock.next = false.into();
            }
            assert_eq!(got, bytes, "clocks per bit {cpb}, far end {far_cpb}");
        }
    }

    #[test]
    fn uart_rx_flags_a_low_stop_bit_and_ignores_glitches() {
        let cpb = 8usize;
        let mut uut = UartRx::new(cpb as u32);
        uut.connect_all();
        reset(&mut uut);
        // a 2-clock glitch, then a frame whose stop bit is low, then a good byte
        let mut levels = vec![true; 10];
        levels.extend([false, false]);
        levels.extend(vec![true; 20]);
        levels.extend(vec![false; 9 * cpb + cpb / 2 + 1]);
        levels.extend(vec![true; 3 * cpb]);
        let mut enc = LineEncoder::new(cpb);
        enc.push(0xA5, 0);
        enc.idle(2 * cpb);
        while enc.pending() > 0 {
            levels.push(enc.next_level());
        }
        let (mut bytes, mut errors) = (Vec::new(), 0);
        for level in levels {
            uut.rx.next = level;
            settle(&mut uut);
            if uut.valid.val() {
                bytes.push(uut.data.val().index() as u8);
            }
            if uut.frame_error.val() {
                errors += 1;
            }
            uut.clock.next = true.into();
            settle(&mut uut);
            uut.clock.next = false.into();
        }
        assert_eq!(errors, 1);
        assert_eq!(bytes, vec![0xA5]);
    }

    /// Transmitter into receiver, bit by bit, random bytes with random pauses.
    #[test]
    fn uart_loopback_random_bytes() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        for cpb in [4u32, 7, 12] {
            let mut tx = UartTx::new(cpb);
            let mut rx = UartRx::new(cpb);
            tx.connect_all();
            rx.connect_all();
            reset(&mut rx);
            tx.reset.next = true;
            settle(&mut tx);
            tx.clock.next = true.into();
            settle(&mut tx);
            tx.clock.next = false.into();
            tx.reset.next = false;
            let bytes: Vec<u8> = (0..50).map(|_| rng.gen()).collect();
            let (mut sent, mut got, mut pause) = (0, Vec::new(), 0u32);
            for _ in 0..100_000 {
                let offer = sent < bytes.len() && pause == 0;
                tx.start.next = offer;
                tx.data.next = u64::from(*bytes.get(sent).unwrap_or(&0)).into();
                settle(&mut tx);
                rx.rx.next = tx.tx.val();
                settle(&mut rx);
                let took = offer && tx.ready.val();
                if rx.valid.val() {
                    got.push(rx.data.val().index() as u8);
                }
                tx.clock.next = true.into();
                rx.clock.next = true.into();
                settle(&mut tx);
                settle(&mut rx);
                tx.clock.next = false.into();
                rx.clock.next = false.into();
                if took {
                    sent += 1;
                    pause = if rng.gen_bool(0.3) {
                        rng.gen_range(0..50)
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
            assert_eq!(got, bytes, "clocks per bit {cpb}");
        }
    }
}
