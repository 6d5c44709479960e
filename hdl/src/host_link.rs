//! The host link: a byte protocol that bridges a UART to the engine's ports, so a host can load
//! a network, send inputs and read classes over a serial line. `docs/hardware.md` ("Boards")
//! documents it byte by byte; in short (multi-byte fields little-endian):
//!
//! | command | bytes | reply |
//! |---|---|---|
//! | ping | `'P'` check | `'K'` |
//! | write a configuration word | `'W'` address:u32 data:u32 check | `'K'` |
//! | classify | `'I'` n:u16, n words of `word_bytes` bytes, check | `'K'` class:u16 |
//! | classify, with logits | `'L'` n:u16, n words, check | `'K'` (logit:i64 per class) class:u16 |
//! | any error | | `'E'` code:u8 |
//!
//! `check` is the XOR of every earlier byte of the command, opcode included. A write happens
//! only once its check byte matched. Input words go to the engine as they arrive, except the
//! last, which is held until the check byte matched; on any error the link pulses the
//! engine's reset (which drops a half-sent input; the network stays loaded, the random
//! streams restart from their seeds) and replies `'E'` with an [`ErrorCode`]. A command that
//! stops arriving for `timeout_cycles` clocks is dropped with [`ErrorCode::Timeout`].
//!
//! Bytes are buffered one deep: the next command may follow a write or a ping at once (the
//! reply of one byte goes out while the next command comes in), but after `'I'` or `'L'` the
//! host either waits for the reply or sends [`FILLER`] bytes (`0xFF`, dropped between
//! commands and while an input is classified) for as long as the inference and the reply
//! take; a byte that finds the buffer full is lost and reported as [`ErrorCode::Overrun`] when
//! the link is next idle.

use rust_hdl::prelude::*;

use crate::byte_top::ByteOnTop;
use crate::engine::ports::{ConfigSource, InputSource, ResultSink};

/// The protocol's opcodes, reply bytes and error codes, defined with the rest of the host
/// interface in the model crate (`nsm_model::engine::host_interface`).
pub use nsm_model::engine::host_interface::{
    ErrorCode, FILLER, OP_INFER, OP_INFER_LOGITS, OP_PING, OP_WRITE, REPLY_ACK, REPLY_ERROR,
};

/// Most clocks the timeout counter holds.
pub const MAX_TIMEOUT_CYCLES: u32 = (1 << 24) - 1;

// The link's states: a 4-bit register compared with typed constants (rust-hdl emits an
// enum's values as untyped integers and its register's initial value as a 64-bit literal).
const IDLE: u64 = 0;
const FIELD: u64 = 1;
const WORDS: u64 = 2;
const OFFER: u64 = 3;
const CHECK: u64 = 4;
const WRITE: u64 = 5;
const SEND_ACK: u64 = 6;
const LAST_WORD: u64 = 7;
const WAIT_BEAT: u64 = 8;
const SEND_LOGIT: u64 = 9;
const SEND_CLASS_LO: u64 = 10;
const SEND_CLASS_HI: u64 = 11;
const SEND_ERR: u64 = 12;
const SEND_ERR_CODE: u64 = 13;

#[derive(LogicBlock)]
pub struct HostLink {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: idle, nothing pending.
    pub reset: Signal<In, bool>,
    // ---- from the UART receiver ----
    pub rx_data: Signal<In, Bits<8>>,
    pub rx_valid: Signal<In, bool>,
    pub rx_error: Signal<In, bool>,
    // ---- to the UART transmitter ----
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_start: Signal<Out, bool>,
    pub tx_ready: Signal<In, bool>,
    // ---- to the engine (docs/hardware.md) ----
    /// The engine's configuration port, input stream and result stream, driven from the
    /// host's commands.
    pub cfg: ConfigSource,
    pub in_stream: InputSource,
    pub out_stream: ResultSink,
    /// Resets the engine (one or more clocks) when a command fails.
    pub engine_reset: Signal<Out, bool>,
    /// On from an error reply to the next acknowledged command.
    pub error_flag: Signal<Out, bool>,
    pending: DFF<bool>,
    pend_byte: DFF<Bits<8>>,
    overrun: DFF<bool>,
    framing: DFF<bool>,
    state: DFF<Bits<4>>,
    is_write: DFF<bool>,
    is_infer: DFF<bool>,
    with_logits: DFF<bool>,
    bad_length: DFF<bool>,
    /// Bytes left in the current field or word.
    left: DFF<Bits<4>>,
    address: DFF<Bits<32>>,
    data: DFF<Bits<32>>,
    words_left: DFF<Bits<16>>,
    word: DFF<Bits<32>>,
    in_word: DFF<Bits<32>>,
    check: DFF<Bits<8>>,
    timer: DFF<Bits<24>>,
    err_code: DFF<Bits<8>>,
    err_flag: DFF<bool>,
    logit: DFF<Bits<64>>,
    beat_last: DFF<bool>,
    win_class: DFF<Bits<16>>,
    take: Signal<Local, bool>,
    filler_ok: Signal<Local, bool>,
    c_op_ping: Constant<Bits<8>>,
    c_op_write: Constant<Bits<8>>,
    c_op_infer: Constant<Bits<8>>,
    c_op_logits: Constant<Bits<8>>,
    c_ack: Constant<Bits<8>>,
    c_filler: Constant<Bits<8>>,
    c_error: Constant<Bits<8>>,
    c_err_opcode: Constant<Bits<8>>,
    c_err_overrun: Constant<Bits<8>>,
    c_err_framing: Constant<Bits<8>>,
    c_err_length: Constant<Bits<8>>,
    c_err_check: Constant<Bits<8>>,
    c_err_timeout: Constant<Bits<8>>,
    c_word_bytes: Constant<Bits<4>>,
    c_word_shift: Constant<Bits<8>>,
    c_timeout: Constant<Bits<24>>,
    s_idle: Constant<Bits<4>>,
    s_field: Constant<Bits<4>>,
    s_words: Constant<Bits<4>>,
    s_offer: Constant<Bits<4>>,
    s_check: Constant<Bits<4>>,
    s_write: Constant<Bits<4>>,
    s_send_ack: Constant<Bits<4>>,
    s_last_word: Constant<Bits<4>>,
    s_wait_beat: Constant<Bits<4>>,
    s_send_logit: Constant<Bits<4>>,
    s_send_class_lo: Constant<Bits<4>>,
    s_send_class_hi: Constant<Bits<4>>,
    s_send_err: Constant<Bits<4>>,
    s_send_err_code: Constant<Bits<4>>,
    c_one4: Constant<Bits<4>>,
    c_two4: Constant<Bits<4>>,
    c_four4: Constant<Bits<4>>,
    c_eight4: Constant<Bits<4>>,
    c_zero16: Constant<Bits<16>>,
    c_one16: Constant<Bits<16>>,
    c_zero24: Constant<Bits<24>>,
    c_one24: Constant<Bits<24>>,
    /// The received byte in the top byte of a field register (little-endian fields fill
    /// from the top as they shift right).
    top32: ByteOnTop<32>,
    top16: ByteOnTop<16>,
}

impl HostLink {
    /// A link whose input words are `word_bytes` bytes (1..=4: `ceil(cols / 8)`), dropping a
    /// command after `timeout_cycles` clocks without a byte (1..=[`MAX_TIMEOUT_CYCLES`]).
    /// Panics outside those ranges (the board checks them first).
    pub fn new(word_bytes: usize, timeout_cycles: u32) -> Self {
        assert!((1..=4).contains(&word_bytes));
        assert!((1..=MAX_TIMEOUT_CYCLES).contains(&timeout_cycles));
        let b8 = |v: u8| Constant::new(Bits::<8>::from(u64::from(v)));
        let b4 = |v: u64| Constant::new(Bits::<4>::from(v));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx_data: Default::default(),
            rx_valid: Default::default(),
            rx_error: Default::default(),
            tx_data: Default::default(),
            tx_start: Default::default(),
            tx_ready: Default::default(),
            cfg: Default::default(),
            in_stream: Default::default(),
            out_stream: Default::default(),
            engine_reset: Default::default(),
            error_flag: Default::default(),
            pending: Default::default(),
            pend_byte: Default::default(),
            overrun: Default::default(),
            framing: Default::default(),
            state: Default::default(),
            is_write: Default::default(),
            is_infer: Default::default(),
            with_logits: Default::default(),
            bad_length: Default::default(),
            left: Default::default(),
            address: Default::default(),
            data: Default::default(),
            words_left: Default::default(),
            word: Default::default(),
            in_word: Default::default(),
            check: Default::default(),
            timer: Default::default(),
            err_code: Default::default(),
            err_flag: Default::default(),
            logit: Default::default(),
            beat_last: Default::default(),
            win_class: Default::default(),
            take: Default::default(),
            filler_ok: Default::default(),
            c_op_ping: b8(OP_PING),
            c_op_write: b8(OP_WRITE),
            c_op_infer: b8(OP_INFER),
            c_op_logits: b8(OP_INFER_LOGITS),
            c_ack: b8(REPLY_ACK),
            c_filler: b8(FILLER),
            c_error: b8(REPLY_ERROR),
            c_err_opcode: b8(ErrorCode::UnknownOpcode as u8),
            c_err_overrun: b8(ErrorCode::Overrun as u8),
            c_err_framing: b8(ErrorCode::Framing as u8),
            c_err_length: b8(ErrorCode::BadLength as u8),
            c_err_check: b8(ErrorCode::BadCheck as u8),
            c_err_timeout: b8(ErrorCode::Timeout as u8),
            c_word_bytes: Constant::new(Bits::from(word_bytes as u64)),
            c_word_shift: Constant::new(Bits::from(32 - 8 * word_bytes as u64)),
            c_timeout: Constant::new(Bits::from(u64::from(timeout_cycles))),
            s_idle: b4(IDLE),
            s_field: b4(FIELD),
            s_words: b4(WORDS),
            s_offer: b4(OFFER),
            s_check: b4(CHECK),
            s_write: b4(WRITE),
            s_send_ack: b4(SEND_ACK),
            s_last_word: b4(LAST_WORD),
            s_wait_beat: b4(WAIT_BEAT),
            s_send_logit: b4(SEND_LOGIT),
            s_send_class_lo: b4(SEND_CLASS_LO),
            s_send_class_hi: b4(SEND_CLASS_HI),
            s_send_err: b4(SEND_ERR),
            s_send_err_code: b4(SEND_ERR_CODE),
            c_one4: b4(1),
            c_two4: b4(2),
            c_four4: b4(4),
            c_eight4: b4(8),
            c_zero16: Constant::new(Bits::from(0u64)),
            c_one16: Constant::new(Bits::from(1u64)),
            c_zero24: Constant::new(Bits::from(0u64)),
            c_one24: Constant::new(Bits::from(1u64)),
            top32: Default::default(),
            top16: Default::default(),
        }
    }
}

impl Logic for HostLink {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            pending,
            pend_byte,
            overrun,
            framing,
            state,
            is_write,
            is_infer,
            with_logits,
            bad_length,
            left,
            address,
            data,
            words_left,
            word,
            in_word,
            check,
            timer,
            err_code,
            err_flag,
            logit,
            beat_last,
            win_class
        );
        self.top32.x.next = self.pend_byte.q.val();
        self.top16.x.next = self.pend_byte.q.val();
        self.take.next = false;
        self.filler_ok.next = false;
        self.tx_start.next = false;
        self.tx_data.next = self.c_ack.val();
        self.cfg.write.next = false;
        self.cfg.address.next = self.address.q.val();
        self.cfg.data.next = self.data.q.val();
        self.in_stream.valid.next = false;
        self.in_stream.data.next = self.in_word.q.val();
        self.in_stream.last.next = false;
        self.out_stream.ready.next = false;
        self.engine_reset.next = false;
        self.error_flag.next = self.err_flag.q.val();
        self.timer.d.next = self.timer.q.val() + self.c_one24.val();
        if self.state.q.val() == self.s_idle.val() {
            self.filler_ok.next = true;
            self.timer.d.next = self.c_zero24.val();
            if self.overrun.q.val() {
                self.err_code.d.next = self.c_err_overrun.val();
                self.state.d.next = self.s_send_err.val();
            } else if self.framing.q.val() {
                self.err_code.d.next = self.c_err_framing.val();
                self.state.d.next = self.s_send_err.val();
            } else if self.pending.q.val() & (self.pend_byte.q.val() != self.c_filler.val()) {
                self.take.next = true;
                self.bad_length.d.next = false;
                self.check.d.next = self.pend_byte.q.val();
                self.is_write.d.next = self.pend_byte.q.val() == self.c_op_write.val();
                self.is_infer.d.next = (self.pend_byte.q.val() == self.c_op_infer.val())
                    | (self.pend_byte.q.val() == self.c_op_logits.val());
                self.with_logits.d.next = self.pend_byte.q.val() == self.c_op_logits.val();
                self.left.d.next = self.c_two4.val();
                self.state.d.next = self.s_field.val();
                if self.pend_byte.q.val() == self.c_op_write.val() {
                    self.left.d.next = self.c_eight4.val();
                }
                if self.pend_byte.q.val() == self.c_op_ping.val() {
                    self.state.d.next = self.s_check.val();
                }
                if (self.pend_byte.q.val() != self.c_op_ping.val())
                    & (self.pend_byte.q.val() != self.c_op_write.val())
                    & (self.pend_byte.q.val() != self.c_op_infer.val())
                    & (self.pend_byte.q.val() != self.c_op_logits.val())
                {
                    self.err_code.d.next = self.c_err_opcode.val();
                    self.state.d.next = self.s_send_err.val();
                }
            }
        }
        if self.state.q.val() == self.s_field.val() {
            if self.pending.q.val() {
                self.take.next = true;
                self.timer.d.next = self.c_zero24.val();
                self.check.d.next = self.check.q.val() ^ self.pend_byte.q.val();
                self.left.d.next = self.left.q.val() - self.c_one4.val();
                if self.is_write.q.val() {
                    if self.left.q.val() > self.c_four4.val() {
                        self.address.d.next = (self.address.q.val() >> 8) | self.top32.y.val();
                    } else {
                        self.data.d.next = (self.data.q.val() >> 8) | self.top32.y.val();
                    }
                } else {
                    self.words_left.d.next = (self.words_left.q.val() >> 8) | self.top16.y.val();
                }
                if self.left.q.val() == self.c_one4.val() {
                    if self.is_write.q.val() {
                        self.state.d.next = self.s_check.val();
                    } else {
                        self.left.d.next = self.c_word_bytes.val();
                        self.state.d.next = self.s_words.val();
                    }
                }
            } else if self.timer.q.val() == self.c_timeout.val() {
                self.err_code.d.next = self.c_err_timeout.val();
                self.state.d.next = self.s_send_err.val();
            }
        }
        if self.state.q.val() == self.s_words.val() {
            if self.words_left.q.val() == self.c_zero16.val() {
                // reported once the check byte is in, so it is not read as an opcode
                self.bad_length.d.next = true;
                self.state.d.next = self.s_check.val();
            } else if self.pending.q.val() {
                self.take.next = true;
                self.timer.d.next = self.c_zero24.val();
                self.check.d.next = self.check.q.val() ^ self.pend_byte.q.val();
                self.left.d.next = self.left.q.val() - self.c_one4.val();
                self.word.d.next = (self.word.q.val() >> 8) | self.top32.y.val();
                if self.left.q.val() == self.c_one4.val() {
                    self.in_word.d.next =
                        ((self.word.q.val() >> 8) | self.top32.y.val()) >> self.c_word_shift.val();
                    self.left.d.next = self.c_word_bytes.val();
                    self.words_left.d.next = self.words_left.q.val() - self.c_one16.val();
                    if self.words_left.q.val() == self.c_one16.val() {
                        self.state.d.next = self.s_check.val();
                    } else {
                        self.state.d.next = self.s_offer.val();
                    }
                }
            } else if self.timer.q.val() == self.c_timeout.val() {
                self.err_code.d.next = self.c_err_timeout.val();
                self.state.d.next = self.s_send_err.val();
            }
        }
        if self.state.q.val() == self.s_offer.val() {
            self.in_stream.valid.next = true;
            if self.in_stream.ready.val() {
                self.state.d.next = self.s_words.val();
            }
        }
        if self.state.q.val() == self.s_check.val() {
            if self.pending.q.val() {
                self.take.next = true;
                self.timer.d.next = self.c_zero24.val();
                if self.overrun.q.val() {
                    self.err_code.d.next = self.c_err_overrun.val();
                    self.state.d.next = self.s_send_err.val();
                } else if self.framing.q.val() {
                    self.err_code.d.next = self.c_err_framing.val();
                    self.state.d.next = self.s_send_err.val();
                } else if self.bad_length.q.val() {
                    self.err_code.d.next = self.c_err_length.val();
                    self.state.d.next = self.s_send_err.val();
                } else if self.pend_byte.q.val() != self.check.q.val() {
                    self.err_code.d.next = self.c_err_check.val();
                    self.state.d.next = self.s_send_err.val();
                } else if self.is_write.q.val() {
                    self.state.d.next = self.s_write.val();
                } else {
                    self.state.d.next = self.s_send_ack.val();
                }
            } else if self.timer.q.val() == self.c_timeout.val() {
                self.err_code.d.next = self.c_err_timeout.val();
                self.state.d.next = self.s_send_err.val();
            }
        }
        if self.state.q.val() == self.s_write.val() {
            self.filler_ok.next = true;
            self.cfg.write.next = true;
            self.state.d.next = self.s_send_ack.val();
        }
        if self.state.q.val() == self.s_send_ack.val() {
            self.filler_ok.next = true;
            self.tx_start.next = true;
            self.tx_data.next = self.c_ack.val();
            if self.tx_ready.val() {
                self.err_flag.d.next = false;
                if self.is_infer.q.val() {
                    self.state.d.next = self.s_last_word.val();
                } else {
                    self.state.d.next = self.s_idle.val();
                }
            }
        }
        if self.state.q.val() == self.s_last_word.val() {
            self.filler_ok.next = true;
            self.in_stream.valid.next = true;
            self.in_stream.last.next = true;
            if self.in_stream.ready.val() {
                self.state.d.next = self.s_wait_beat.val();
            }
        }
        if self.state.q.val() == self.s_wait_beat.val() {
            self.filler_ok.next = true;
            self.out_stream.ready.next = true;
            if self.out_stream.valid.val() {
                self.logit.d.next = unsigned_cast(self.out_stream.logit.val());
                self.beat_last.d.next = self.out_stream.last.val();
                self.win_class.d.next = self.out_stream.class.val().get_bits::<16>(0);
                self.left.d.next = self.c_eight4.val();
                if self.with_logits.q.val() {
                    self.state.d.next = self.s_send_logit.val();
                } else if self.out_stream.last.val() {
                    self.state.d.next = self.s_send_class_lo.val();
                }
            }
        }
        if self.state.q.val() == self.s_send_logit.val() {
            self.filler_ok.next = true;
            self.tx_start.next = true;
            self.tx_data.next = self.logit.q.val().get_bits::<8>(0);
            if self.tx_ready.val() {
                self.logit.d.next = self.logit.q.val() >> 8;
                self.left.d.next = self.left.q.val() - self.c_one4.val();
                if self.left.q.val() == self.c_one4.val() {
                    if self.beat_last.q.val() {
                        self.state.d.next = self.s_send_class_lo.val();
                    } else {
                        self.state.d.next = self.s_wait_beat.val();
                    }
                }
            }
        }
        if self.state.q.val() == self.s_send_class_lo.val() {
            self.filler_ok.next = true;
            self.tx_start.next = true;
            self.tx_data.next = self.win_class.q.val().get_bits::<8>(0);
            if self.tx_ready.val() {
                self.state.d.next = self.s_send_class_hi.val();
            }
        }
        if self.state.q.val() == self.s_send_class_hi.val() {
            self.filler_ok.next = true;
            self.tx_start.next = true;
            self.tx_data.next = self.win_class.q.val().get_bits::<8>(8);
            if self.tx_ready.val() {
                self.state.d.next = self.s_idle.val();
            }
        }
        if self.state.q.val() == self.s_send_err.val() {
            self.engine_reset.next = true;
            self.tx_start.next = true;
            self.tx_data.next = self.c_error.val();
            self.err_flag.d.next = true;
            if self.tx_ready.val() {
                self.state.d.next = self.s_send_err_code.val();
            }
        }
        if self.state.q.val() == self.s_send_err_code.val() {
            self.tx_start.next = true;
            self.tx_data.next = self.err_code.q.val();
            if self.tx_ready.val() {
                self.state.d.next = self.s_idle.val();
            }
        }
        // fillers are dropped between commands and while an input is being classified
        if self.filler_ok.val()
            & self.pending.q.val()
            & (self.pend_byte.q.val() == self.c_filler.val())
        {
            self.take.next = true;
        }
        // ---- the one-byte receive buffer ----
        if self.take.val() {
            self.pending.d.next = false;
        }
        if self.state.q.val() == self.s_send_err.val() {
            self.overrun.d.next = false;
            self.framing.d.next = false;
        }
        if self.rx_valid.val() {
            if self.pending.q.val() & !self.take.val() {
                self.overrun.d.next = true;
            } else {
                self.pending.d.next = true;
                self.pend_byte.d.next = self.rx_data.val();
            }
        }
        if self.rx_error.val() {
            self.framing.d.next = true;
        }
        if self.reset.val() {
            self.pending.d.next = false;
            self.overrun.d.next = false;
            self.framing.d.next = false;
            self.state.d.next = self.s_idle.val();
            self.err_flag.d.next = false;
            self.timer.d.next = self.c_zero24.val();
        }
    }
}
