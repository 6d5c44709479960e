//! Memories of the engine. Leaf blocks in the style of rust-hdl's own `RAM`: a Rust model for
//! simulation and a Verilog body written so that Yosys infers block RAM (one synchronous read
//! port, one synchronous write port, no reset, no asynchronous read). Contents are a `Vec`, which
//! simulates far faster than `RAM`'s map.

use rust_hdl::prelude::*;

/// Address width of every engine memory.
pub const ADDR_BITS: usize = 20;

fn verilog_ram(width: usize, depth: usize, signed: bool, bit_write: bool) -> String {
    let sig = if signed { "signed " } else { "" };
    let write = if bit_write {
        format!(
            "   for (i = 0; i < {width}; i = i + 1) begin\n      if (write_enable && write_mask[i]) mem[write_address][i] <= write_data[i];\n   end"
        )
    } else {
        "   if (write_enable) mem[write_address] <= write_data;".to_string()
    };
    let int_decl = if bit_write { "integer i;\n" } else { "" };
    format!(
        "reg {sig}[{w}:0] mem[0:{d}];\n{int_decl}\nalways @(posedge clock) begin\n   read_data <= mem[read_address];\nend\n\nalways @(posedge clock) begin\n{write}\nend\n",
        w = width - 1,
        d = depth - 1,
    )
}

/// A simple dual-port RAM of `depth` words of type `D`: the word at `read_address` appears on
/// `read_data` one clock later; `write_data` is stored at `write_address` when
/// `write_enable`. Reading an address in the cycle it is written returns the old word.
#[derive(LogicBlock)]
pub struct SyncRam<D: Synth> {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<ADDR_BITS>>,
    pub read_data: Signal<Out, D>,
    pub write_enable: Signal<In, bool>,
    pub write_address: Signal<In, Bits<ADDR_BITS>>,
    pub write_data: Signal<In, D>,
    _mem: Vec<D>,
    _signed: bool,
}

impl<D: Synth> SyncRam<D> {
    /// `depth` words, all zero (`signed` selects the Verilog declaration).
    pub fn new(depth: usize, signed: bool) -> Self {
        assert!((1..=1 << ADDR_BITS).contains(&depth));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_enable: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            _mem: vec![D::default(); depth],
            _signed: signed,
        }
    }

    /// Simulation back door: set a word directly (what `$readmemh` does in Verilog).
    pub fn preload(&mut self, address: usize, value: D) {
        self._mem[address] = value;
    }

    /// Simulation back door: read a word directly.
    pub fn peek(&self, address: usize) -> D {
        self._mem[address]
    }

    pub fn depth(&self) -> usize {
        self._mem.len()
    }
}

impl<D: Synth> Logic for SyncRam<D> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let ra = self.read_address.val().index();
            self.read_data.next = self._mem.get(ra).copied().unwrap_or_default();
            if self.write_enable.val() {
                let wa = self.write_address.val().index();
                if wa < self._mem.len() {
                    self._mem[wa] = self.write_data.val();
                }
            }
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_ram(D::BITS, self._mem.len(), self._signed, false))
    }
}

/// A RAM of `depth` words of up to 64 bits whose writes set only the bits selected by
/// `write_mask` (the activation buffers: a whole word of inputs at once, or one neuron's bit).
#[derive(LogicBlock)]
pub struct BitRam {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<ADDR_BITS>>,
    pub read_data: Signal<Out, Bits<64>>,
    pub write_enable: Signal<In, bool>,
    pub write_address: Signal<In, Bits<ADDR_BITS>>,
    pub write_mask: Signal<In, Bits<64>>,
    pub write_data: Signal<In, Bits<64>>,
    _mem: Vec<u64>,
}

impl BitRam {
    pub fn new(depth: usize) -> Self {
        assert!((1..=1 << ADDR_BITS).contains(&depth));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_enable: Default::default(),
            write_address: Default::default(),
            write_mask: Default::default(),
            write_data: Default::default(),
            _mem: vec![0; depth],
        }
    }
}

impl Logic for BitRam {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let ra = self.read_address.val().index();
            self.read_data.next = self._mem.get(ra).copied().unwrap_or(0).into();
            if self.write_enable.val() {
                let wa = self.write_address.val().index();
                if wa < self._mem.len() {
                    let m = self.write_mask.val().to_u64();
                    let d = self.write_data.val().to_u64();
                    self._mem[wa] = (self._mem[wa] & !m) | (d & m);
                }
            }
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_ram(64, self._mem.len(), false, true))
    }
}
