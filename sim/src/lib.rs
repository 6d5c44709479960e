//! # nsm-sim: cycle-accurate simulation of the NSM engine
//!
//! [`EngineSim`] drives the rust-hdl description ([`nsm_hdl::engine::NsmEngine`]) with
//! rust-hdl's own simulator in a plain loop: load a quantized network through the
//! configuration port (or a back door that fills the memories directly), stream inputs, collect
//! results, count cycles. Every result can be compared with the bit-exact model.

use nsm_hdl::engine::{EngineLayout, NsmEngine};
use nsm_model::engine::config::{EngineConfig, EngineError};
use nsm_model::engine::host_interface::{
    self as hi, decode_address, inference_from_beats, load_writes, pack_input_words, ConfigTarget,
    NeuronParam, ResultBeat,
};
use nsm_model::engine::qnet::{QNet, QuantError};
use nsm_model::engine::Inference;
use rand::Rng;
use rust_hdl::core::vcd_probe::{write_vcd_change, write_vcd_dump, write_vcd_header, VCDProbe};
use rust_hdl::prelude::*;
use std::io::{BufWriter, Write};

pub mod board_sim;
pub mod host;

/// The cycle model lives with the engine contract ([`nsm_model::engine::cycles`]).
pub use nsm_model::engine::cycles::CycleModel;

/// One write on the engine's configuration port: the host interface's own
/// ([`nsm_model::engine::host_interface::PortWrite`], address and data).
pub use nsm_model::engine::host_interface::PortWrite as ConfigWrite;

/// The configuration-port writes that load `qnet` on an engine with `cols` inputs per array
/// step (`cols * lanes`, `EngineConfig::step_inputs`), in order
/// ([`nsm_model::engine::host_interface::load_writes`]).
pub fn config_writes(qnet: &QNet, cols: usize) -> Vec<ConfigWrite> {
    load_writes(qnet, cols)
}

/// The input words of one input (`+1`/`-1` values) on an engine with `cols` inputs per array
/// step (`cols * lanes`)
/// ([`nsm_model::engine::host_interface::pack_input_words`]).
pub fn input_words(input: &[i8], cols: usize) -> Vec<u32> {
    pack_input_words(input, cols)
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Hdl(#[from] nsm_hdl::HdlError),
    #[error(transparent)]
    Quant(#[from] QuantError),
    #[error(transparent)]
    Board(#[from] nsm_hdl::board::BoardError),
    #[error("the simulation did not settle within {0} passes (a combinational loop?)")]
    NoSettle(usize),
    #[error("no result after {0} cycles")]
    Timeout(u64),
    #[error("input has {found} values, the network expects {expected}")]
    InputSize { expected: usize, found: usize },
    #[error("the engine's result beats")]
    Beats(#[from] hi::BeatError),
    /// The VCD trace could not be written (the OS error; the caller names the file).
    #[error("the VCD trace could not be written: {0}")]
    Vcd(std::io::Error),
}

/// Where a VCD trace goes: rust-hdl's VCD writer unwraps every write, so it writes into a
/// [`Latch`], which never fails and keeps the first error for [`EngineSim::finish_trace`].
type Trace = VCDProbe<BufWriter<Latch>>;

/// A writer that never fails: the first error of the writer inside is kept in a shared slot,
/// and every write after it is dropped.
pub struct Latch {
    inner: Box<dyn Write>,
    error: std::rc::Rc<std::cell::RefCell<Option<std::io::Error>>>,
}

impl Latch {
    fn failed(&self) -> bool {
        self.error.borrow().is_some()
    }
}

impl Write for Latch {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.failed() {
            if let Err(e) = self.inner.write_all(buf) {
                *self.error.borrow_mut() = Some(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.failed() {
            if let Err(e) = self.inner.flush() {
                *self.error.borrow_mut() = Some(e);
            }
        }
        Ok(())
    }
}

/// How the network reaches the engine's memories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPath {
    /// Word by word through the configuration port, as a host would.
    Port,
    /// Weights and neuron parameters written into the memory models directly (what
    /// `$readmemh` does in Verilog); the layer table still goes through the port.
    Backdoor,
}

/// Random back-pressure on the two streams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stalls {
    /// Probability that the host withholds `in_valid` in a cycle.
    pub input_gap: f64,
    /// Probability that the host withholds `out_ready` in a cycle.
    pub output_stall: f64,
}

/// The engine under simulation.
pub struct EngineSim {
    pub engine: NsmEngine,
    pub layout: EngineLayout,
    pub cfg: EngineConfig,
    /// Clock cycles since construction.
    pub cycles: u64,
    /// Cycles in which an array step was issued.
    pub steps_issued: u64,
    /// Settle passes so far (each re-evaluates the whole design; simulation cost).
    pub passes: u64,
    /// Of those, the passes that settled the inputs and the falling clock edge.
    pub falling_passes: u64,
    n_inputs: usize,
    max_passes: usize,
    trace: Option<Trace>,
    /// The first error of the trace's writer.
    trace_error: std::rc::Rc<std::cell::RefCell<Option<std::io::Error>>>,
}

const SETTLE_PASSES: usize = 200;

/// Depth of the deepest register below the engine's top (engine, row end or PE, register).
const CLOCK_DEPTH: usize = 3;

impl EngineSim {
    /// Builds the engine for `cfg` and applies a reset.
    pub fn new(cfg: &EngineConfig) -> Result<Self, SimError> {
        let mut engine = NsmEngine::new(cfg, Default::default())?;
        engine.connect_all();
        let mut sim = Self {
            engine,
            layout: EngineLayout::new(cfg)?,
            cfg: cfg.clone(),
            cycles: 0,
            steps_issued: 0,
            passes: 0,
            falling_passes: 0,
            n_inputs: 0,
            max_passes: SETTLE_PASSES,
            trace: None,
            trace_error: Default::default(),
        };
        sim.reset()?;
        Ok(sim)
    }

    fn settle(&mut self) -> Result<(), SimError> {
        for pass in 0..self.max_passes {
            self.engine.update_all();
            if !self.engine.has_changed() {
                self.passes += pass as u64 + 1;
                return Ok(());
            }
        }
        Err(SimError::NoSettle(self.max_passes))
    }

    /// Starts writing every signal of the engine as a VCD trace (GTKWave reads it): one
    /// timestamp per clock edge, 10 time units per cycle. A write error of `writer` stops the
    /// simulation at the next cycle with [`SimError::Vcd`] (never a panic).
    pub fn trace_to(&mut self, writer: Box<dyn Write>) -> Result<(), SimError> {
        self.trace_error = Default::default();
        let latch = Latch {
            inner: writer,
            error: self.trace_error.clone(),
        };
        let vcd = write_vcd_header(BufWriter::new(latch), &self.engine);
        self.trace = Some(write_vcd_dump(vcd, &self.engine));
        self.trace_failed()
    }

    /// The trace's first write error, if any.
    fn trace_failed(&mut self) -> Result<(), SimError> {
        if self.trace_error.borrow().is_none() {
            return Ok(());
        }
        // closed first: its last flush goes to the latch, which drops it after an error
        self.trace = None;
        let error = self.trace_error.borrow_mut().take();
        error.map_or(Ok(()), |e| Err(SimError::Vcd(e)))
    }

    /// Flushes and closes the trace; the first write error of its writer, if any.
    pub fn finish_trace(&mut self) -> Result<(), SimError> {
        if let Some(t) = self.trace.take() {
            // dropping the probe flushes its buffer into the latch
            drop(t);
        }
        self.trace_failed()
    }

    fn record(&mut self, time: u64) -> Result<(), SimError> {
        if let Some(mut t) = self.trace.take() {
            // the latch never fails: a write error is in `trace_error`
            let _ = t.timestamp(time);
            self.trace = Some(write_vcd_change(t, &self.engine));
            self.trace_failed()?;
        }
        Ok(())
    }

    /// One clock cycle with the inputs as they are now: settle, rising edge, settle.
    pub fn cycle(&mut self) -> Result<(), SimError> {
        // The clock went low at the end of the previous cycle. Every register of the engine
        // sits at most CLOCK_DEPTH derived block boundaries below the top (the engine's own
        // blocks latch their inputs before they update, `nsm_hdl::block_inputs_first!`, and
        // cost no pass), and each such boundary costs one pass, so that many passes bring the
        // low level to every register; the new inputs
        // reach the registers' inputs within those passes and the first passes after the
        // rising edge (before the edge reaches the registers). The settle after the edge runs
        // to convergence.
        for _ in 0..CLOCK_DEPTH {
            self.engine.update_all();
        }
        self.passes += CLOCK_DEPTH as u64;
        self.falling_passes += CLOCK_DEPTH as u64;
        if self.engine.step_issued.val() {
            self.steps_issued += 1;
        }
        self.engine.clock.next = true.into();
        self.settle()?;
        self.record(self.cycles * 10)?;
        self.engine.clock.next = false.into();
        if self.trace.is_some() {
            self.settle()?;
            self.record(self.cycles * 10 + 5)?;
        }
        self.cycles += 1;
        Ok(())
    }

    /// Holds `reset` for two cycles.
    pub fn reset(&mut self) -> Result<(), SimError> {
        self.engine.reset.next = true;
        self.cycle()?;
        self.cycle()?;
        self.engine.reset.next = false;
        Ok(())
    }

    fn cfg_write(&mut self, address: u32, data: u32) -> Result<(), SimError> {
        self.engine.cfg.write.next = true;
        self.engine.cfg.address.next = u64::from(address).into();
        self.engine.cfg.data.next = u64::from(data).into();
        self.cycle()?;
        self.engine.cfg.write.next = false;
        Ok(())
    }

    /// Loads a quantized network (checked against the configuration).
    pub fn load(&mut self, qnet: &QNet, path: LoadPath) -> Result<(), SimError> {
        qnet.check_against(&self.cfg)?;
        let backdoor = path == LoadPath::Backdoor;
        let mut pending_a = 0i64;
        for w in load_writes(qnet, self.layout.step_inputs) {
            match decode_address(w.address) {
                Some(ConfigTarget::Weight { word, slot }) if backdoor => {
                    self.engine
                        .preload_weight(word, slot, hi::weight_from_data(w.data));
                }
                // `A` always comes right before its `B`
                Some(ConfigTarget::Neuron {
                    which: NeuronParam::A,
                    ..
                }) if backdoor => pending_a = hi::neuron_from_data(w.data),
                Some(ConfigTarget::Neuron { neuron, .. }) if backdoor => {
                    self.engine
                        .preload_neuron(neuron, pending_a, hi::neuron_from_data(w.data));
                }
                _ => self.cfg_write(w.address, w.data)?,
            }
        }
        self.n_inputs = qnet.n_inputs();
        Ok(())
    }

    /// Streams `input` and runs `cycles` clock cycles without collecting anything (to abort
    /// a run with [`Self::reset`] in the middle).
    pub fn start_and_run(&mut self, input: &[i8], cycles: u64) -> Result<(), SimError> {
        let words = pack_input_words(input, self.layout.step_inputs);
        let mut next_word = 0;
        for _ in 0..cycles {
            let offer = next_word < words.len();
            self.engine.in_stream.valid.next = offer;
            self.engine.in_stream.data.next =
                u64::from(words.get(next_word).copied().unwrap_or(0)).into();
            self.engine.in_stream.last.next = next_word + 1 == words.len();
            self.engine.out_stream.ready.next = true;
            // in_ready and the result outputs come from registers: settled since the last edge
            let took = offer && self.engine.in_stream.ready.val();
            self.cycle()?;
            if took {
                next_word += 1;
            }
        }
        self.engine.in_stream.valid.next = false;
        Ok(())
    }

    /// Streams one input (`+1`/`-1` values) and collects its result, with optional random
    /// stalls on both streams. Returns the result and the cycles from the first input beat to
    /// the last result beat.
    pub fn infer<R: Rng>(
        &mut self,
        input: &[i8],
        stalls: Option<(Stalls, &mut R)>,
        max_cycles: u64,
    ) -> Result<(Inference, u64), SimError> {
        if input.len() != self.n_inputs {
            return Err(SimError::InputSize {
                expected: self.n_inputs,
                found: input.len(),
            });
        }
        let words = pack_input_words(input, self.layout.step_inputs);
        let mut stalls = stalls;
        let start = self.cycles;
        let mut next_word = 0;
        let mut beats: Vec<ResultBeat> = Vec::new();
        while !beats.last().is_some_and(|b| b.last) {
            if self.cycles - start > max_cycles {
                return Err(SimError::Timeout(max_cycles));
            }
            let (gap, hold) = match stalls.as_mut() {
                Some((s, rng)) => (rng.gen_bool(s.input_gap), rng.gen_bool(s.output_stall)),
                None => (false, false),
            };
            let offer = next_word < words.len() && !gap;
            self.engine.in_stream.valid.next = offer;
            self.engine.in_stream.data.next =
                u64::from(words.get(next_word).copied().unwrap_or(0)).into();
            self.engine.in_stream.last.next = next_word + 1 == words.len();
            self.engine.out_stream.ready.next = !hold;
            // in_ready and the result outputs come from registers: settled since the last edge
            let took_input = offer && self.engine.in_stream.ready.val();
            let beat = self.engine.out_stream.valid.val() && !hold;
            let offered = ResultBeat {
                logit: self.engine.out_stream.logit.val().inner().to_u64() as i64,
                index: self.engine.out_stream.index.val().index() as u32,
                last: self.engine.out_stream.last.val(),
                class: self.engine.out_stream.class.val().index() as u32,
            };
            self.cycle()?;
            if took_input {
                next_word += 1;
            }
            if beat {
                beats.push(offered);
            }
        }
        self.engine.in_stream.valid.next = false;
        self.engine.out_stream.ready.next = false;
        Ok((inference_from_beats(&beats)?, self.cycles - start))
    }
}
