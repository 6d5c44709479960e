//! Golden model of an 8N1 serial line (one start bit, eight data bits least significant
//! first, one stop bit, no parity) sampled once per clock at `clocks_per_bit` clocks per bit.
//! The UART blocks ([`crate::uart_rx`], [`crate::uart_tx`]) and the board top
//! ([`crate::board`]) are tested against it: [`LineEncoder`] plays the far end that sends,
//! [`LineDecoder`] the far end that receives.

use std::collections::VecDeque;

/// The ten line levels of one 8N1 frame: start (low), data bits 0..7, stop (high).
pub fn frame(byte: u8) -> [bool; 10] {
    let mut f = [true; 10];
    f[0] = false;
    for (b, level) in f[1..9].iter_mut().enumerate() {
        *level = (byte >> b) & 1 == 1;
    }
    f
}

/// Produces the line level clock by clock for queued bytes; the line idles high.
#[derive(Debug, Clone)]
pub struct LineEncoder {
    clocks_per_bit: usize,
    levels: VecDeque<bool>,
}

impl LineEncoder {
    pub fn new(clocks_per_bit: usize) -> Self {
        assert!(clocks_per_bit >= 1);
        Self {
            clocks_per_bit,
            levels: VecDeque::new(),
        }
    }

    /// Queues `gap` idle clocks, then the frame of `byte`.
    pub fn push(&mut self, byte: u8, gap: usize) {
        self.levels.extend(std::iter::repeat_n(true, gap));
        for level in frame(byte) {
            self.levels
                .extend(std::iter::repeat_n(level, self.clocks_per_bit));
        }
    }

    /// Queues `clocks` idle clocks.
    pub fn idle(&mut self, clocks: usize) {
        self.levels.extend(std::iter::repeat_n(true, clocks));
    }

    /// The level of the next clock (high once everything queued has been sent).
    pub fn next_level(&mut self) -> bool {
        self.levels.pop_front().unwrap_or(true)
    }

    /// Clocks still queued.
    pub fn pending(&self) -> usize {
        self.levels.len()
    }
}

/// What a receiver makes of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Byte(u8),
    /// The stop bit was low; the data bits read are given.
    FramingError(u8),
}

/// An ideal receiver: on a falling edge of the idle line it samples the middle of every bit
/// (`clocks_per_bit / 2` clocks after the edge, then every `clocks_per_bit`).
#[derive(Debug, Clone)]
pub struct LineDecoder {
    clocks_per_bit: usize,
    /// Clocks since the start edge, while in a frame.
    clock_in_frame: Option<usize>,
    bits: u16,
    previous: bool,
}

impl LineDecoder {
    pub fn new(clocks_per_bit: usize) -> Self {
        assert!(clocks_per_bit >= 2);
        Self {
            clocks_per_bit,
            clock_in_frame: None,
            bits: 0,
            previous: true,
        }
    }

    /// Feeds the level of one clock; returns a frame when its stop bit has been sampled.
    pub fn sample(&mut self, level: bool) -> Option<Received> {
        let previous = std::mem::replace(&mut self.previous, level);
        let Some(t) = self.clock_in_frame else {
            if previous && !level {
                self.clock_in_frame = Some(0);
                self.bits = 0;
            }
            return None;
        };
        let t = t + 1;
        self.clock_in_frame = Some(t);
        let half = self.clocks_per_bit / 2;
        if t < half || !(t - half).is_multiple_of(self.clocks_per_bit) {
            return None;
        }
        let bit = (t - half) / self.clocks_per_bit;
        match bit {
            0 if level => {
                // a glitch, not a start bit
                self.clock_in_frame = None;
                None
            }
            0 => None,
            1..=8 => {
                if level {
                    self.bits |= 1 << (bit - 1);
                }
                None
            }
            _ => {
                self.clock_in_frame = None;
                let byte = self.bits as u8;
                Some(if level {
                    Received::Byte(byte)
                } else {
                    Received::FramingError(byte)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_and_decoder_agree() {
        for cpb in [2, 3, 4, 7, 16] {
            let mut enc = LineEncoder::new(cpb);
            let bytes: Vec<u8> = (0..=255u8).step_by(7).chain([0, 255, 0x55]).collect();
            for (i, &b) in bytes.iter().enumerate() {
                enc.push(b, i % 3);
            }
            let mut dec = LineDecoder::new(cpb);
            let mut got = Vec::new();
            while enc.pending() > 0 {
                if let Some(r) = dec.sample(enc.next_level()) {
                    got.push(r);
                }
            }
            for _ in 0..cpb {
                if let Some(r) = dec.sample(enc.next_level()) {
                    got.push(r);
                }
            }
            let want: Vec<Received> = bytes.iter().map(|&b| Received::Byte(b)).collect();
            assert_eq!(got, want, "clocks per bit {cpb}");
        }
    }
}
