//! The NSM engine: the array with its memories, sequencer and host ports, built from one
//! block per job. Ports and protocol: `docs/hardware.md`.
//!
//! ```text
//!  cfg ──► ConfigPort ──► WeightMemory, NeuronMemory (writes); layer table entry ─┐
//!  in  ──► Sequencer ──► DenseWalk (steps, addresses, token) ◄────────────────────┘
//!              │  ▲            │
//!              │  └ PassControl (groups of passes)
//!              ▼               ▼
//!           PeArray (PEs, chains, row ends) ◄── weights, A/B
//!              ▼
//!           LogitWalker (sum over rows and groups) ──► ResultStream ──► out
//! ```
//!
//! This file only builds the blocks and wires them; each block's file says what it computes.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use crate::{check_supported, EngineOptions, HdlError};

pub mod config_port;
pub mod dense_walk;
pub mod logit_walker;
pub mod neuron_memory;
pub mod passes;
pub mod pe_array;
pub mod ports;
pub mod result_stream;
pub mod sequencer;
pub mod weight_memory;

use config_port::ConfigPort;
use dense_walk::DenseWalk;
use logit_walker::LogitWalker;
use neuron_memory::NeuronMemory;
use passes::PassControl;
use pe_array::PeArray;
use ports::{ConfigTarget, InputSink, ResultSource};
use result_stream::ResultStream;
use sequencer::Sequencer;
use weight_memory::WeightMemory;

/// Sequencer states.
pub const IDLE: u64 = 0;
pub const START: u64 = 1;
pub const RUN: u64 = 2;
pub const DRAIN: u64 = 3;
pub const OUTPUT: u64 = 4;
pub const START2: u64 = 5;
/// The extra clock of START with `hard_block_registers` (the registered table lookup).
pub const START3: u64 = 6;

/// The drain and start counts, defined with the cycle model in the model crate.
pub use nsm_model::engine::cycles::{drain_count, start_cycles};
/// The configuration port's regions (`cfg_address[31:28]`), defined with the rest of the
/// host interface in the model crate.
pub use nsm_model::engine::host_interface::{
    REGION_CONTROL, REGION_LAYERS, REGION_NEURONS, REGION_WEIGHTS,
};

/// The sizes an engine is built with, all derived from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLayout {
    pub rows: usize,
    pub cols: usize,
    /// Synapses per PE per step.
    pub lanes: usize,
    /// Inputs of one array step, `cols * lanes`: the width of activation and input words.
    pub step_inputs: usize,
    pub weight_bits: u32,
    pub groups: usize,
    pub last_live: usize,
    /// Words of one activation region (`ceil(max(max_fan_in, max_neurons) / step_inputs)`).
    pub region_words: usize,
    pub weight_words: usize,
    pub neuron_words: usize,
    pub logit_words: usize,
    pub max_layers: usize,
    /// Most steps of a neuron (`max(ceil(max_fan_in / step_inputs), rows)`).
    pub max_steps: usize,
    /// The drain counter's last value ([`drain_count`]).
    pub drain: usize,
}

impl EngineLayout {
    pub fn new(cfg: &EngineConfig) -> Result<Self, HdlError> {
        check_supported(cfg)?;
        let (rows, cols, n_step) = (cfg.rows, cfg.cols, cfg.step_inputs());
        let groups = cfg.mc_samples.div_ceil(rows);
        Ok(Self {
            rows,
            cols,
            lanes: cfg.lanes,
            step_inputs: n_step,
            weight_bits: cfg.weight_bits,
            groups,
            last_live: cfg.mc_samples - (groups - 1) * rows,
            region_words: cfg.max_fan_in.max(cfg.max_neurons).div_ceil(n_step),
            weight_words: cfg.weight_memory_words,
            neuron_words: cfg.neuron_memory_words,
            logit_words: cfg.max_neurons,
            max_layers: cfg.max_layers,
            max_steps: cfg.max_fan_in.div_ceil(n_step).max(rows),
            drain: drain_count(rows, cols, cfg.hard_block_registers),
        })
    }
}

pub struct NsmEngine {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: sequencer to idle, LFSRs to their seeds, pipelines cleared.
    /// Memories and the layer table keep their contents.
    pub reset: Signal<In, bool>,
    /// The memory-mapped configuration port (write only).
    pub cfg: ConfigTarget,
    /// The input stream: one word of `cols * lanes` binarized inputs per beat.
    pub in_stream: InputSink,
    /// The result stream: one beat per class.
    pub out_stream: ResultSource,
    pub busy: Signal<Out, bool>,
    /// An array step is issued this cycle (for utilization counts).
    pub step_issued: Signal<Out, bool>,
    config_port: ConfigPort,
    seq: Sequencer,
    passes: PassControl,
    walk: DenseWalk,
    weight_memory: WeightMemory,
    neuron_memory: NeuronMemory,
    array: PeArray,
    walker: LogitWalker,
    results: ResultStream,
}

/// rust-hdl's `Block` for the engine, written out instead of derived: after the host ports,
/// the blocks settle in dataflow order, with the wiring (`update`) run again after each block
/// whose outputs a later block reads combinationally, so a value crosses from block to block
/// within one settle pass (`crate::settle`; the pass control's and the memories' outputs come
/// from registers, and re-wiring after them measured slower for no fewer passes). `accept`
/// visits the fields in declaration order, as the derive does; the Verilog is the derive's.
impl Block for NsmEngine {
    fn connect_all(&mut self) {
        self.connect();
        self.clock.connect_all();
        self.reset.connect_all();
        self.cfg.connect_all();
        self.in_stream.connect_all();
        self.out_stream.connect_all();
        self.busy.connect_all();
        self.step_issued.connect_all();
        self.config_port.connect_all();
        self.seq.connect_all();
        self.passes.connect_all();
        self.walk.connect_all();
        self.weight_memory.connect_all();
        self.neuron_memory.connect_all();
        self.array.connect_all();
        self.walker.connect_all();
        self.results.connect_all();
    }

    fn update_all(&mut self) {
        self.clock.update_all();
        self.reset.update_all();
        self.cfg.update_all();
        self.in_stream.update_all();
        self.out_stream.update_all();
        self.update();
        self.seq.update_all();
        self.update();
        self.passes.update_all();
        self.config_port.update_all();
        self.update();
        self.walk.update_all();
        self.update();
        self.neuron_memory.update_all();
        self.array.update_all();
        self.update();
        self.weight_memory.update_all();
        self.walker.update_all();
        self.update();
        self.results.update_all();
        self.update();
        self.in_stream.update_all();
        self.out_stream.update_all();
        self.busy.update_all();
        self.step_issued.update_all();
    }

    fn has_changed(&self) -> bool {
        self.clock.has_changed()
            || self.reset.has_changed()
            || self.cfg.has_changed()
            || self.in_stream.has_changed()
            || self.out_stream.has_changed()
            || self.busy.has_changed()
            || self.step_issued.has_changed()
            || self.config_port.has_changed()
            || self.seq.has_changed()
            || self.passes.has_changed()
            || self.walk.has_changed()
            || self.weight_memory.has_changed()
            || self.neuron_memory.has_changed()
            || self.array.has_changed()
            || self.walker.has_changed()
            || self.results.has_changed()
    }

    fn accept(&self, name: &str, probe: &mut dyn Probe) {
        probe.visit_start_scope(name, self);
        self.clock.accept("clock", probe);
        self.reset.accept("reset", probe);
        self.cfg.accept("cfg", probe);
        self.in_stream.accept("in_stream", probe);
        self.out_stream.accept("out_stream", probe);
        self.busy.accept("busy", probe);
        self.step_issued.accept("step_issued", probe);
        self.config_port.accept("config_port", probe);
        self.seq.accept("seq", probe);
        self.passes.accept("passes", probe);
        self.walk.accept("walk", probe);
        self.weight_memory.accept("weight_memory", probe);
        self.neuron_memory.accept("neuron_memory", probe);
        self.array.accept("array", probe);
        self.walker.accept("walker", probe);
        self.results.accept("results", probe);
        probe.visit_end_scope(name, self);
    }
}

impl NsmEngine {
    /// The engine for a configuration (validated first), emitted as `options` say. The
    /// simulation is the same for every choice of options; only the emitted Verilog differs.
    pub fn new(cfg: &EngineConfig, options: EngineOptions) -> Result<Self, HdlError> {
        let lay = EngineLayout::new(cfg)?;
        if options.weight_ram == crate::WeightRam::SinglePort && cfg.hard_block_registers {
            return Err(HdlError::Options(
                "single-port weight RAMs (the UP5K's SPRAMs) have no output register: they cannot be built with hard_block_registers",
            ));
        }
        Ok(Self {
            clock: Default::default(),
            reset: Default::default(),
            cfg: Default::default(),
            in_stream: Default::default(),
            out_stream: Default::default(),
            busy: Default::default(),
            step_issued: Default::default(),
            config_port: ConfigPort::new(cfg, &lay),
            seq: Sequencer::new(&lay, cfg.hard_block_registers),
            passes: PassControl::new(&lay),
            walk: DenseWalk::new(cfg, &lay),
            weight_memory: WeightMemory::new(cfg, &lay, options.weight_ram),
            neuron_memory: NeuronMemory::new(cfg, &lay),
            array: PeArray::new(cfg, &lay, options.cells)?,
            walker: LogitWalker::new(cfg, &lay),
            results: ResultStream::new(cfg),
        })
    }

    /// Simulation back door: store a weight-memory word directly (what `$readmemh` does).
    pub fn preload_weight(&mut self, word: usize, slot: usize, value: i64) {
        self.weight_memory.preload(word, slot, value);
    }

    /// Simulation back door: store one neuron's `A` and `B`.
    pub fn preload_neuron(&mut self, index: usize, a: i64, b: i64) {
        self.neuron_memory.preload(index, a, b);
    }
}

impl Logic for NsmEngine {
    #[hdl_gen]
    fn update(&mut self) {
        self.config_port.clock.next = self.clock.val();
        self.seq.clock.next = self.clock.val();
        self.passes.clock.next = self.clock.val();
        self.walk.clock.next = self.clock.val();
        self.weight_memory.clock.next = self.clock.val();
        self.neuron_memory.clock.next = self.clock.val();
        self.array.clock.next = self.clock.val();
        self.walker.clock.next = self.clock.val();
        self.results.clock.next = self.clock.val();
        self.seq.reset.next = self.reset.val();
        self.array.reset.next = self.reset.val();
        self.walker.reset.next = self.reset.val();
        self.results.reset.next = self.reset.val();

        // ---- configuration port into the memories and the layer table ----
        ConfigTarget::link(&mut self.cfg, &mut self.config_port.host);
        self.config_port.layer.next = self.seq.layer.val();
        self.weight_memory.write.next = self.config_port.w_write.val();
        self.weight_memory.write_column.next = self.config_port.w_column.val();
        self.weight_memory.write_word.next = self.config_port.w_word.val();
        self.weight_memory.write_data.next = self.config_port.w_data.val();
        self.neuron_memory.a_write.next = self.config_port.a_write.val();
        self.neuron_memory.b_write.next = self.config_port.b_write.val();
        self.neuron_memory.write_index.next = self.config_port.n_index.val();
        self.neuron_memory.a_data.next = self.config_port.a_data.val();
        self.neuron_memory.b_data.next = self.config_port.b_data.val();

        // ---- sequencer, passes and the layer walk ----
        self.seq.in_valid.next = self.in_stream.valid.val();
        self.seq.in_last.next = self.in_stream.last.val();
        self.seq.in_data.next = self.in_stream.data.val();
        self.seq.layer_done.next = self.walk.layer_done.val();
        self.seq.layer_output.next = self.walk.layer_output.val();
        self.seq.last_group.next = self.passes.last_group.val();
        self.seq.results_done.next = self.results.done.val();
        self.passes.restart.next = self.seq.restart_passes.val();
        self.passes.advance.next = self.seq.advance_passes.val();
        self.walk.layer.next = self.seq.layer.val();
        self.walk.steps.next = self.config_port.steps.val();
        self.walk.n_out.next = self.config_port.n_out.val();
        self.walk.w_base.next = self.config_port.w_base.val();
        self.walk.n_base.next = self.config_port.n_base.val();
        self.walk.short.next = self.config_port.short.val();
        self.walk.last_inputs.next = self.config_port.last_inputs.val();
        self.walk.output_layer.next = self.config_port.output_layer.val();
        self.walk.live.next = self.passes.live.val();
        self.walk.load.next = self.seq.load.val();
        self.walk.run.next = self.seq.run.val();

        // ---- the array ----
        self.array.issue.next = self.walk.issue.val();
        self.array.act_address.next = self.walk.act_address.val();
        self.array.w_address.next = self.walk.w_address.val();
        self.array.n_address.next = self.walk.n_address.val();
        self.array.tok_flags.next = self.walk.tok_flags.val();
        self.array.tok_word.next = self.walk.tok_word.val();
        self.array.tok_bit.next = self.walk.tok_bit.val();
        self.array.tok_neuron.next = self.walk.tok_neuron.val();
        self.array.tok_live.next = self.walk.tok_live.val();
        self.array.live_inputs.next = self.walk.live_inputs.val();
        for c in 0..self.array.w_data.len() {
            self.weight_memory.read_address[c].next = self.array.w_read_address[c].val();
            self.array.w_data[c].next = self.weight_memory.read_data[c].val();
        }
        self.neuron_memory.read_address.next = self.array.n_read_address.val();
        self.array.a.next = self.neuron_memory.a.val();
        self.array.b.next = self.neuron_memory.b.val();
        self.array.image_write.next = self.seq.image_write.val();
        self.array.image_address.next = self.seq.image_address.val();
        self.array.image_data.next = self.seq.image_data.val();

        // ---- logits and results ----
        for r in 0..self.walker.row_logit.len() {
            self.walker.row_logit[r].next = self.array.logit[r].val();
            self.walker.row_live[r].next = self.array.logit_live[r].val();
        }
        self.walker.row_valid.next = self.array.logit_valid.val();
        self.walker.row_neuron.next = self.array.logit_neuron.val();
        self.walker.row_pending.next = self.array.logit_pending.val();
        self.walker.c_k.next = self.neuron_memory.b.val();
        self.walker.first_group.next = self.passes.first_group.val();
        self.walker.read_request.next = self.results.read_request.val();
        self.walker.read_address.next = self.results.read_address.val();
        self.results.active.next = self.seq.output_mode.val();
        self.results.start.next = self.seq.begin_output.val();
        self.results.last_neuron.next = self.walk.last_neuron.val();
        self.results.read_data.next = self.walker.read_data.val();
        self.results.out_ready.next = self.out_stream.ready.val();

        // ---- host ports ----
        self.in_stream.ready.next = self.seq.in_ready.val();
        self.busy.next = self.seq.busy.val();
        self.step_issued.next = self.walk.issue.val();
        self.out_stream.valid.next = self.results.out_valid.val();
        self.out_stream.logit.next = self.results.out_logit.val();
        self.out_stream.index.next = self.results.out_index.val();
        self.out_stream.last.next = self.results.out_last.val();
        self.out_stream.class.next = self.results.out_class.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "writes nsm_engine_small.v to the temporary folder for manual inspection"]
    fn dump_small_engine() {
        let cfg = EngineConfig {
            rows: 2,
            cols: 2,
            max_fan_in: 16,
            max_neurons: 16,
            max_layers: 2,
            weight_memory_words: 64,
            neuron_memory_words: 32,
            mc_samples: 4,
            ..EngineConfig::default_config()
        };
        let mut e = NsmEngine::new(&cfg, EngineOptions::default()).unwrap();
        e.connect_all();
        let path = std::env::temp_dir().join("nsm_engine_small.v");
        std::fs::write(path, ports::verilog(&e)).unwrap();
    }
}
