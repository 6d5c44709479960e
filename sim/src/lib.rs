//! # nsm-sim: cycle-accurate simulation of the NSM engine
//!
//! [`EngineSim`] drives the rust-hdl description ([`nsm_hdl::engine::NsmEngine`]) with
//! rust-hdl's own simulator in a plain loop: load a quantized network through the
//! configuration port (or a back door that fills the memories directly), stream inputs, collect
//! results, count cycles. Every result can be compared with the bit-exact model.

use nsm_hdl::engine::{
    EngineLayout, NsmEngine, REGION_CONTROL, REGION_LAYERS, REGION_NEURONS, REGION_WEIGHTS,
};
use nsm_model::engine::config::{EngineConfig, EngineError};
use nsm_model::engine::qnet::{LayerView, QNet, QuantError};
use nsm_model::engine::Inference;
use rand::Rng;
use rust_hdl::core::vcd_probe::{write_vcd_change, write_vcd_dump, write_vcd_header, VCDProbe};
use rust_hdl::prelude::*;
use std::io::{BufWriter, Write};

pub mod board_sim;
pub mod host;

/// One write on the engine's configuration port (`docs/hardware.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigWrite {
    pub region: u64,
    pub index: u64,
    pub data: u32,
}

impl ConfigWrite {
    /// The `cfg_address` of this write.
    pub fn address(&self) -> u32 {
        ((self.region << 28) | self.index) as u32
    }
}

/// The configuration-port writes that load `qnet` on an engine with `cols` columns, in order:
/// per layer its table entry, every weight slot (padding included: a real memory holds no
/// zeros until written), every neuron's `A` then `B`; last, the layer count.
pub fn config_writes(qnet: &QNet, cols: usize) -> Vec<ConfigWrite> {
    let mut out = Vec::new();
    let layers = qnet.layers();
    let (mut w_base, mut n_base) = (0usize, 0usize);
    for (
        l,
        &LayerView {
            n_in,
            n_out,
            w,
            b,
            a,
        },
    ) in layers.iter().enumerate()
    {
        let steps = n_in.div_ceil(cols);
        for (field, value) in [(0u64, steps), (1, n_out), (2, w_base), (3, n_base)] {
            out.push(ConfigWrite {
                region: REGION_LAYERS,
                index: ((l as u64) << 3) | field,
                data: value as u32,
            });
        }
        for i in 0..n_out {
            for s in 0..steps {
                let word = w_base + i * steps + s;
                for c in 0..cols {
                    let j = s * cols + c;
                    let v = if j < n_in { w[i * n_in + j] } else { 0 };
                    out.push(ConfigWrite {
                        region: REGION_WEIGHTS,
                        index: ((word as u64) << 6) | c as u64,
                        data: u32::from(v as i16 as u16),
                    });
                }
            }
            let index = ((n_base + i) as u64) << 1;
            out.push(ConfigWrite {
                region: REGION_NEURONS,
                index,
                data: a.map_or(0, |a| a[i]) as u32,
            });
            out.push(ConfigWrite {
                region: REGION_NEURONS,
                index: index | 1,
                data: b[i] as u32,
            });
        }
        w_base += n_out * steps;
        n_base += n_out;
    }
    out.push(ConfigWrite {
        region: REGION_CONTROL,
        index: 0,
        data: layers.len() as u32,
    });
    out
}

/// The input words of one input (`+1`/`-1` values) on an engine with `cols` columns: bit `c`
/// of word `w` is input `w * cols + c`, 1 for +1.
pub fn input_words(input: &[i8], cols: usize) -> Vec<u32> {
    input
        .chunks(cols)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u32, |w, (c, &v)| if v > 0 { w | (1u32 << c) } else { w })
        })
        .collect()
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
    #[error("writing the VCD trace: {0}")]
    Vcd(#[from] std::io::Error),
}

/// Where a VCD trace goes.
type Trace = VCDProbe<BufWriter<Box<dyn Write>>>;

/// Clock cycles of one input, predicted from the fold and the sequencer's fixed costs
/// (`docs/hardware.md`): streaming the input words, then per group and layer two start cycles,
/// `n_out * max(steps, rows if output layer)` issue cycles and `drain + 1` drain cycles, then
/// three cycles per result beat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleModel {
    pub input_cycles: u64,
    pub compute_cycles: u64,
    pub output_cycles: u64,
    /// Cycles the array would need at one useful synapse per PE per cycle.
    pub ideal_cycles: f64,
}

impl CycleModel {
    pub fn new(cfg: &EngineConfig, qnet: &QNet) -> Self {
        let (rows, cols) = (cfg.rows as u64, cfg.cols as u64);
        let widths = qnet.widths();
        let layers = widths.len() - 1;
        let drain =
            nsm_hdl::engine::drain_count(cfg.rows, cfg.cols, cfg.hard_block_registers) as u64;
        let start = nsm_hdl::engine::start_cycles(cfg.hard_block_registers) as u64;
        let groups = cfg.mc_samples.div_ceil(cfg.rows) as u64;
        let per_group: u64 = widths
            .windows(2)
            .enumerate()
            .map(|(l, w)| {
                let steps = (w[0] as u64).div_ceil(cols);
                let eff = if l + 1 == layers {
                    steps.max(rows)
                } else {
                    steps
                };
                start + w[1] as u64 * eff + drain + 1
            })
            .sum();
        let synapses: u64 = widths.windows(2).map(|w| (w[0] * w[1]) as u64).sum();
        Self {
            input_cycles: (widths[0] as u64).div_ceil(cols),
            compute_cycles: groups * per_group,
            // a beat: read, load, judge, class, offer (a clock more with
            // hard_block_registers: the memory's output register)
            output_cycles: (5 + u64::from(cfg.hard_block_registers))
                * *widths.last().expect("a network has an output layer") as u64,
            ideal_cycles: (cfg.mc_samples as u64 * synapses) as f64 / (rows * cols) as f64,
        }
    }

    /// All cycles of one input.
    pub fn total(&self) -> u64 {
        self.input_cycles + self.compute_cycles + self.output_cycles
    }

    /// Ideal over actual cycles.
    pub fn utilization(&self) -> f64 {
        self.ideal_cycles / self.total() as f64
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
}

const SETTLE_PASSES: usize = 200;

/// Depth of the deepest register below the engine's top (engine, row end or PE, register).
const CLOCK_DEPTH: usize = 3;

impl EngineSim {
    /// Builds the engine for `cfg` and applies a reset.
    pub fn new(cfg: &EngineConfig) -> Result<Self, SimError> {
        let mut engine = NsmEngine::new(cfg)?;
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
    /// timestamp per clock edge, 10 time units per cycle.
    pub fn trace_to(&mut self, writer: Box<dyn Write>) -> Result<(), SimError> {
        let vcd = write_vcd_header(BufWriter::new(writer), &self.engine);
        self.trace = Some(write_vcd_dump(vcd, &self.engine));
        Ok(())
    }

    /// Flushes and closes the trace.
    pub fn finish_trace(&mut self) -> Result<(), SimError> {
        if let Some(t) = self.trace.take() {
            drop(t);
        }
        Ok(())
    }

    fn record(&mut self, time: u64) -> Result<(), SimError> {
        if let Some(mut t) = self.trace.take() {
            t.timestamp(time)?;
            self.trace = Some(write_vcd_change(t, &self.engine));
        }
        Ok(())
    }

    /// One clock cycle with the inputs as they are now: settle, rising edge, settle.
    pub fn cycle(&mut self) -> Result<(), SimError> {
        // The clock went low at the end of the previous cycle. Every register of the engine
        // sits at most CLOCK_DEPTH blocks below the top, and each block boundary costs one
        // pass, so that many passes bring the low level to every register; the new inputs
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

    fn cfg_write(&mut self, region: u64, index: u64, data: u64) -> Result<(), SimError> {
        self.engine.cfg_write.next = true;
        self.engine.cfg_address.next = ((region << 28) | index).into();
        self.engine.cfg_data.next = data.into();
        self.cycle()?;
        self.engine.cfg_write.next = false;
        Ok(())
    }

    /// Loads a quantized network (checked against the configuration).
    pub fn load(&mut self, qnet: &QNet, path: LoadPath) -> Result<(), SimError> {
        qnet.check_against(&self.cfg)?;
        let backdoor = path == LoadPath::Backdoor;
        let mut pending_a = 0i64;
        for w in config_writes(qnet, self.layout.cols) {
            match w.region {
                REGION_WEIGHTS if backdoor => {
                    let (word, column) = ((w.index >> 6) as usize, (w.index & 63) as usize);
                    self.engine
                        .preload_weight(word, column, i64::from(w.data as u16 as i16));
                }
                // `A` (index bit 0 clear) always comes right before its `B`
                REGION_NEURONS if backdoor && w.index & 1 == 0 => {
                    pending_a = i64::from(w.data as i32)
                }
                REGION_NEURONS if backdoor => {
                    self.engine.preload_neuron(
                        (w.index >> 1) as usize,
                        pending_a,
                        i64::from(w.data as i32),
                    );
                }
                _ => self.cfg_write(w.region, w.index, u64::from(w.data))?,
            }
        }
        self.n_inputs = qnet.n_inputs();
        Ok(())
    }

    /// Streams `input` and runs `cycles` clock cycles without collecting anything (to abort
    /// a run with [`Self::reset`] in the middle).
    pub fn start_and_run(&mut self, input: &[i8], cycles: u64) -> Result<(), SimError> {
        let words = input_words(input, self.layout.cols);
        let mut next_word = 0;
        for _ in 0..cycles {
            let offer = next_word < words.len();
            self.engine.in_valid.next = offer;
            self.engine.in_data.next = u64::from(words.get(next_word).copied().unwrap_or(0)).into();
            self.engine.in_last.next = next_word + 1 == words.len();
            self.engine.out_ready.next = true;
            // in_ready and the result outputs come from registers: settled since the last edge
            let took = offer && self.engine.in_ready.val();
            self.cycle()?;
            if took {
                next_word += 1;
            }
        }
        self.engine.in_valid.next = false;
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
        let words = input_words(input, self.layout.cols);
        let mut stalls = stalls;
        let start = self.cycles;
        let mut next_word = 0;
        let mut logits: Vec<i64> = Vec::new();
        let mut class = None;
        while class.is_none() {
            if self.cycles - start > max_cycles {
                return Err(SimError::Timeout(max_cycles));
            }
            let (gap, hold) = match stalls.as_mut() {
                Some((s, rng)) => (rng.gen_bool(s.input_gap), rng.gen_bool(s.output_stall)),
                None => (false, false),
            };
            let offer = next_word < words.len() && !gap;
            self.engine.in_valid.next = offer;
            self.engine.in_data.next = u64::from(words.get(next_word).copied().unwrap_or(0)).into();
            self.engine.in_last.next = next_word + 1 == words.len();
            self.engine.out_ready.next = !hold;
            // in_ready and the result outputs come from registers: settled since the last edge
            let took_input = offer && self.engine.in_ready.val();
            let beat = self.engine.out_valid.val() && !hold;
            let (logit, last, cls) = (
                self.engine.out_logit.val(),
                self.engine.out_last.val(),
                self.engine.out_class.val(),
            );
            self.cycle()?;
            if took_input {
                next_word += 1;
            }
            if beat {
                logits.push(logit.inner().to_u64() as i64);
                if last {
                    class = Some(cls.index());
                }
            }
        }
        self.engine.in_valid.next = false;
        self.engine.out_ready.next = false;
        let inference = Inference::from_logit_sums(logits);
        Ok((
            Inference {
                class: class.unwrap_or(inference.class),
                ..inference
            },
            self.cycles - start,
        ))
    }
}
