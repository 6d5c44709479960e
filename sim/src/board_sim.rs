//! The whole board top ([`nsm_hdl::board::NsmBoard`]) under rust-hdl simulation, driven
//! through its serial pins only: bytes queued with [`BoardSim::send`] go onto `uart_rx` bit by
//! bit ([`nsm_hdl::serial::LineEncoder`]), and what the board sends on `uart_tx` is decoded by
//! an ideal receiver ([`nsm_hdl::serial::LineDecoder`]) into [`BoardSim::replies`].

use nsm_hdl::board::{BoardParams, NsmBoard};
use nsm_hdl::serial::{LineDecoder, LineEncoder, Received};
use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use crate::SimError;

const SETTLE_PASSES: usize = 200;

pub struct BoardSim {
    pub board: NsmBoard,
    pub params: BoardParams,
    /// Clock cycles since power-up.
    pub cycles: u64,
    /// Bytes received from the board so far.
    pub replies: Vec<u8>,
    /// Frames from the board whose stop bit was low (should stay 0).
    pub framing_errors: usize,
    /// Cycles with the busy LED on.
    pub busy_cycles: u64,
    line_in: LineEncoder,
    line_out: LineDecoder,
}

impl BoardSim {
    /// The board for `cfg` at power-up (every register at its initial value; the board's own
    /// power-on reset runs in the first cycles).
    pub fn new(cfg: &EngineConfig, params: &BoardParams) -> Result<Self, SimError> {
        let mut board = NsmBoard::new(cfg, params, Default::default())?;
        board.connect_all();
        board.uart_rx.next = true;
        let cpb = params.clocks_per_bit as usize;
        Ok(Self {
            board,
            params: *params,
            cycles: 0,
            replies: Vec::new(),
            framing_errors: 0,
            busy_cycles: 0,
            line_in: LineEncoder::new(cpb),
            line_out: LineDecoder::new(cpb),
        })
    }

    fn settle(&mut self) -> Result<(), SimError> {
        for _ in 0..SETTLE_PASSES {
            self.board.update_all();
            if !self.board.has_changed() {
                return Ok(());
            }
        }
        Err(SimError::NoSettle(SETTLE_PASSES))
    }

    /// Queues `bytes` for the serial line, each after `gap(i)` idle clocks.
    pub fn send(&mut self, bytes: &[u8], mut gap: impl FnMut(usize) -> usize) {
        for (i, &b) in bytes.iter().enumerate() {
            self.line_in.push(b, gap(i));
        }
    }

    /// Clocks of serial data still queued.
    pub fn pending_clocks(&self) -> usize {
        self.line_in.pending()
    }

    /// One clock cycle.
    pub fn cycle(&mut self) -> Result<(), SimError> {
        self.board.uart_rx.next = self.line_in.next_level();
        self.settle()?;
        match self.line_out.sample(self.board.uart_tx.val()) {
            Some(Received::Byte(b)) => self.replies.push(b),
            Some(Received::FramingError(_)) => self.framing_errors += 1,
            None => {}
        }
        if self.board.led_busy.val() {
            self.busy_cycles += 1;
        }
        self.board.clock.next = true.into();
        self.settle()?;
        self.board.clock.next = false.into();
        self.cycles += 1;
        Ok(())
    }

    /// Runs until `n` reply bytes have arrived and the line is quiet, or fails after
    /// `max_cycles` more cycles.
    pub fn run_until_replies(&mut self, n: usize, max_cycles: u64) -> Result<(), SimError> {
        let start = self.cycles;
        while self.replies.len() < n || self.line_in.pending() > 0 {
            if self.cycles - start > max_cycles {
                return Err(SimError::Timeout(max_cycles));
            }
            self.cycle()?;
        }
        Ok(())
    }

    /// Runs `n` cycles.
    pub fn run(&mut self, n: u64) -> Result<(), SimError> {
        for _ in 0..n {
            self.cycle()?;
        }
        Ok(())
    }
}
