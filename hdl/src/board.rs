//! A board top: UART receiver and transmitter, the host link ([`crate::host_link`]) and the
//! engine, with a power-on reset and status LEDs. Five pins: `clock`, `uart_rx`, `uart_tx` and
//! the LEDs; `nsm_verilog::board` wraps it with a board's pin names and LED polarities.
//!
//! **Power-on reset.** rust-hdl has no reset primitive and no register of the design may rely
//! on its initial value, with one exception: the power-on counter `por` here. It counts from
//! its initial value 0 up to [`POR_CYCLES`] and holds every other block in synchronous reset
//! until then. FPGAs load that 0 from the bitstream (iCE40 and ECP5 both initialize every
//! flip-flop), so the board top is for FPGAs; an ASIC drives the engine's `reset` pin from a
//! real reset instead.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use crate::engine::ports::{ConfigSource, InputSource, ResultSink};
use crate::engine::NsmEngine;
use crate::host_link::{HostLink, MAX_TIMEOUT_CYCLES};
use crate::uart_rx::UartRx;
use crate::uart_tx::{UartTx, MAX_CLOCKS_PER_BIT, MIN_CLOCKS_PER_BIT};
use crate::HdlError;

/// Clocks the power-on reset lasts.
pub const POR_CYCLES: u64 = 15;

/// How a board clocks its serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardSpec {
    /// The board's oscillator, Hz.
    pub clock_hz: u32,
    pub baud: u32,
}

impl BoardSpec {
    /// iCEBreaker: 12 MHz oscillator, FTDI serial at 115200 baud.
    pub const ICEBREAKER: BoardSpec = BoardSpec {
        clock_hz: 12_000_000,
        baud: 115_200,
    };
    /// ULX3S: 25 MHz oscillator, FTDI serial at 115200 baud.
    pub const ULX3S: BoardSpec = BoardSpec {
        clock_hz: 25_000_000,
        baud: 115_200,
    };

    /// Clocks per bit, rounded to the nearest (12 MHz: 104, 0.16% fast; 25 MHz: 217, 0.01%).
    pub fn clocks_per_bit(&self) -> u32 {
        ((u64::from(self.clock_hz) + u64::from(self.baud) / 2) / u64::from(self.baud)) as u32
    }

    /// The link's timeout: 16 byte times.
    pub fn timeout_cycles(&self) -> u32 {
        (160 * self.clocks_per_bit()).min(MAX_TIMEOUT_CYCLES)
    }

    /// The counter bit that drives the heartbeat LED: about one blink per second.
    pub fn heartbeat_bit(&self) -> u32 {
        (31 - self.clock_hz.max(2).leading_zeros()).saturating_sub(1)
    }
}

/// Why a board top cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Hdl(#[from] HdlError),
    #[error("{clocks_per_bit} clocks per bit is outside {min}..={max} (clock {clock_hz} Hz, {baud} baud)")]
    Baud {
        clock_hz: u32,
        baud: u32,
        clocks_per_bit: u32,
        min: u32,
        max: u32,
    },
    #[error("{clocks_per_bit} clocks per bit is outside {min}..={max}")]
    ClocksPerBit {
        clocks_per_bit: u32,
        min: u32,
        max: u32,
    },
}

/// The parameters a board top is generated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardParams {
    pub clocks_per_bit: u32,
    pub timeout_cycles: u32,
    /// Bit of the free-running counter shown on the heartbeat LED (0..=31).
    pub heartbeat_bit: u32,
}

impl BoardParams {
    pub fn for_board(spec: &BoardSpec) -> Result<Self, BoardError> {
        let clocks_per_bit = if spec.baud == 0 {
            0
        } else {
            spec.clocks_per_bit()
        };
        if !(MIN_CLOCKS_PER_BIT..=MAX_CLOCKS_PER_BIT).contains(&clocks_per_bit) {
            return Err(BoardError::Baud {
                clock_hz: spec.clock_hz,
                baud: spec.baud,
                clocks_per_bit,
                min: MIN_CLOCKS_PER_BIT,
                max: MAX_CLOCKS_PER_BIT,
            });
        }
        Ok(Self {
            clocks_per_bit,
            timeout_cycles: spec.timeout_cycles(),
            heartbeat_bit: spec.heartbeat_bit(),
        })
    }
}

/// Input words of `cols * lanes` bits travel as this many bytes (the host interface's definition).
pub use nsm_model::engine::host_interface::input_word_bytes as word_bytes;

#[derive(LogicBlock)]
pub struct NsmBoard {
    pub clock: Signal<In, Clock>,
    /// Serial data from the host (idles high).
    pub uart_rx: Signal<In, bool>,
    /// Serial data to the host.
    pub uart_tx: Signal<Out, bool>,
    /// About one blink per second once out of reset.
    pub led_heartbeat: Signal<Out, bool>,
    /// The engine is classifying an input.
    pub led_busy: Signal<Out, bool>,
    /// From an error reply to the next acknowledged command.
    pub led_error: Signal<Out, bool>,
    receiver: UartRx,
    transmitter: UartTx,
    link: HostLink,
    engine: NsmEngine,
    /// The power-on counter: the one register that relies on its initial value (0).
    por: DFF<Bits<4>>,
    heart: DFF<Bits<32>>,
    reset: Signal<Local, bool>,
    c_por_done: Constant<Bits<4>>,
    c_heart_mask: Constant<Bits<32>>,
    c_one4: Constant<Bits<4>>,
    c_zero32: Constant<Bits<32>>,
    c_one32: Constant<Bits<32>>,
}

impl NsmBoard {
    /// The board top for an engine configuration and board parameters, its engine emitted as
    /// `options` say ([`NsmEngine::new`]).
    pub fn new(
        cfg: &EngineConfig,
        params: &BoardParams,
        options: crate::EngineOptions,
    ) -> Result<Self, BoardError> {
        let engine = NsmEngine::new(cfg, options)?;
        if !(MIN_CLOCKS_PER_BIT..=MAX_CLOCKS_PER_BIT).contains(&params.clocks_per_bit) {
            return Err(BoardError::ClocksPerBit {
                clocks_per_bit: params.clocks_per_bit,
                min: MIN_CLOCKS_PER_BIT,
                max: MAX_CLOCKS_PER_BIT,
            });
        }
        Ok(Self {
            clock: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led_heartbeat: Default::default(),
            led_busy: Default::default(),
            led_error: Default::default(),
            receiver: UartRx::new(params.clocks_per_bit),
            transmitter: UartTx::new(params.clocks_per_bit),
            link: HostLink::new(
                word_bytes(cfg.step_inputs()),
                params.timeout_cycles.clamp(1, MAX_TIMEOUT_CYCLES),
            ),
            engine,
            por: Default::default(),
            heart: Default::default(),
            reset: Default::default(),
            c_por_done: Constant::new(Bits::from(POR_CYCLES)),
            c_heart_mask: Constant::new(Bits::from(1u64 << params.heartbeat_bit.min(31))),
            c_one4: Constant::new(Bits::from(1u64)),
            c_zero32: Constant::new(Bits::from(0u64)),
            c_one32: Constant::new(Bits::from(1u64)),
        })
    }
}

impl Logic for NsmBoard {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, por, heart);
        clock!(self, clock, receiver, transmitter, link, engine);
        // ---- power-on reset ----
        self.reset.next = self.por.q.val() != self.c_por_done.val();
        if self.reset.val() {
            self.por.d.next = self.por.q.val() + self.c_one4.val();
        }
        self.heart.d.next = self.heart.q.val() + self.c_one32.val();
        if self.reset.val() {
            self.heart.d.next = self.c_zero32.val();
        }
        self.receiver.reset.next = self.reset.val();
        self.transmitter.reset.next = self.reset.val();
        self.link.reset.next = self.reset.val();
        self.engine.reset.next = self.reset.val() | self.link.engine_reset.val();
        // ---- serial line ----
        self.receiver.rx.next = self.uart_rx.val();
        self.uart_tx.next = self.transmitter.tx.val();
        self.link.rx_data.next = self.receiver.data.val();
        self.link.rx_valid.next = self.receiver.valid.val();
        self.link.rx_error.next = self.receiver.frame_error.val();
        self.transmitter.data.next = self.link.tx_data.val();
        self.transmitter.start.next = self.link.tx_start.val();
        self.link.tx_ready.next = self.transmitter.ready.val();
        // ---- engine ----
        ConfigSource::join(&mut self.link.cfg, &mut self.engine.cfg);
        InputSource::join(&mut self.link.in_stream, &mut self.engine.in_stream);
        ResultSink::join(&mut self.link.out_stream, &mut self.engine.out_stream);
        // ---- LEDs ----
        self.led_heartbeat.next =
            (self.heart.q.val() & self.c_heart_mask.val()) != self.c_zero32.val();
        self.led_busy.next = self.engine.busy.val();
        self.led_error.next = self.link.error_flag.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_specs_give_the_documented_divisors() {
        let ice = BoardParams::for_board(&BoardSpec::ICEBREAKER).unwrap();
        assert_eq!(ice.clocks_per_bit, 104);
        assert_eq!(ice.timeout_cycles, 16 * 10 * 104);
        assert_eq!(ice.heartbeat_bit, 22);
        let ulx = BoardParams::for_board(&BoardSpec::ULX3S).unwrap();
        assert_eq!(ulx.clocks_per_bit, 217);
        assert_eq!(ulx.heartbeat_bit, 23);
        let fast = BoardSpec {
            clock_hz: 1_000_000,
            baud: 1_000_000,
        };
        assert!(matches!(
            BoardParams::for_board(&fast),
            Err(BoardError::Baud {
                clocks_per_bit: 1,
                ..
            })
        ));
        let cfg = EngineConfig {
            rows: 1,
            cols: 1,
            max_fan_in: 4,
            max_neurons: 4,
            max_layers: 2,
            weight_memory_words: 16,
            neuron_memory_words: 8,
            mc_samples: 1,
            ..EngineConfig::default_config()
        };
        let bad = BoardParams {
            clocks_per_bit: 2,
            ..ice
        };
        assert!(matches!(
            NsmBoard::new(&cfg, &bad, Default::default()),
            Err(BoardError::ClocksPerBit {
                clocks_per_bit: 2,
                ..
            })
        ));
        assert_eq!(word_bytes(1), 1);
        assert_eq!(word_bytes(9), 2);
        assert_eq!(word_bytes(32), 4);
    }
}
