//! Memories of the engine. Leaf blocks in the style of rust-hdl's own `RAM`: a Rust model for
//! simulation and a Verilog body written so that Yosys infers block RAM (one synchronous read
//! port, one synchronous write port, no reset, no asynchronous read). Contents are a `Vec`, which
//! simulates far faster than `RAM`'s map.

use rust_hdl::prelude::*;

/// Address width of every engine memory.
pub const ADDR_BITS: usize = 20;

/// Bits of an index into `n` things (at least 1).
pub(crate) fn index_bits(n: usize) -> usize {
    (usize::BITS - (n.max(2) - 1).leading_zeros()) as usize
}

/// `{{(to-from){x[from-1]}}, x}` (sign extension) or `{{(to-from){1'b0}}, x}`: an explicit
/// extension, so that no assignment changes width silently (Verilator's WIDTH rule).
pub(crate) fn extend(x: &str, from: usize, to: usize, signed: bool) -> String {
    assert!(from <= to);
    if from == to {
        x.to_string()
    } else if signed {
        format!("{{{{{}{{{x}[{}]}}}}, {x}}}", to - from, from - 1)
    } else {
        format!("{{{}'d0, {x}}}", to - from)
    }
}

/// The Verilog body of a memory of `depth` words of `width` bits behind ports of `port` bits:
/// reads are sign- or zero-extended to the port, writes keep the low `width` bits, addresses
/// use the low bits that index `depth` words. `no_rw_check` tells Yosys it need not build
/// bypass logic for a read of the word being written in the same cycle: the engine never does
/// that (inputs and weights are written while idle, neuron outputs into the region that is not
/// being read, logits two cycles after they are read).
///
/// With `output_register` the word passes one more register (`word_q`) before the port: read
/// latency two. No block RAM inference in Yosys takes that register into the RAM, so it stays
/// a flip-flop here and `nsm synth` moves it into the ECP5 block RAM's own output register
/// afterwards (`nsm_flow::absorb`).
fn verilog_ram(
    width: usize,
    port: usize,
    depth: usize,
    signed: bool,
    bit_write: bool,
    output_register: bool,
) -> String {
    let ab = index_bits(depth);
    let data = if width == port {
        "write_data".to_string()
    } else {
        format!("write_data[{}:0]", width - 1)
    };
    let write = if bit_write {
        format!(
            "   if (write_enable) begin\n      if (write_word) mem[write_address[{a}:0]] <= {data};\n      else begin\n         mem[write_address[{a}:0]] <= pack_next;\n         pack <= pack_next;\n      end\n   end",
            a = ab - 1,
        )
    } else {
        format!(
            "   if (write_enable) mem[write_address[{}:0]] <= {data};",
            ab - 1
        )
    };
    // A bit write stores the whole word: the bits packed since the last bit 0, the new bit,
    // zeros above it.
    let pack = if bit_write {
        let one = if width == 1 {
            "write_data[0]".to_string()
        } else {
            format!("{{{}'d0, write_data[0]}}", width - 1)
        };
        format!(
            "reg [{w}:0] pack;\nreg [{w}:0] pack_next;\n\nalways @(*) begin\n   pack_next = ((write_bit == 5'd0) ? {width}'d0 : pack) | ({one} << write_bit[{b}:0]);\nend\n",
            w = width - 1,
            b = index_bits(width) - 1,
        )
    } else {
        String::new()
    };
    if output_register {
        return verilog_ram_sliced(width, port, depth, signed, bit_write, &data, &pack);
    }
    format!(
        "(* no_rw_check *)\nreg [{w}:0] mem[0:{d}];\nreg [{w}:0] word;\n{pack}\nalways @(posedge clock) begin\n   word <= mem[read_address[{a}:0]];\nend\n\nalways @(*) begin\n   read_data = {ext};\nend\n\nalways @(posedge clock) begin\n{write}\nend\n",
        w = width - 1,
        d = depth - 1,
        a = ab - 1,
        ext = extend("word", width, port, signed),
    )
}

/// The Verilog body of a memory of one shared address port ([`SyncRam::with_single_port`]).
fn verilog_single_port_ram(width: usize, port: usize, depth: usize, signed: bool) -> String {
    let ab = index_bits(depth);
    let data = if width == port {
        "write_data".to_string()
    } else {
        format!("write_data[{}:0]", width - 1)
    };
    format!(
        "reg [{w}:0] mem[0:{d}];\nreg [{w}:0] word;\nwire [{a}:0] address = write_enable ? write_address[{a}:0] : read_address[{a}:0];\n\nalways @(posedge clock) begin\n   if (write_enable) mem[address] <= {data};\n   else word <= mem[address];\nend\n\nalways @(*) begin\n   read_data = {ext};\nend\n",
        w = width - 1,
        d = depth - 1,
        a = ab - 1,
        ext = extend("word", width, port, signed),
    )
}

/// Widest slice of a memory with an output register: the widest port of an ECP5 block RAM
/// (`DP16KD`) in true dual-port mode. A wider memory would map to the 36-bit pseudo dual-port
/// mode, whose output register `nsm_flow::absorb` does not use.
pub const OUTPUT_REGISTER_SLICE_BITS: usize = 18;

/// Deepest activation buffer kept as one array with an output register: the depth of an ECP5
/// block RAM in its 36-bit mode (`PDPW16KD`, 512 x 36).
pub const ONE_SLICE_DEPTH: usize = 512;

/// [`verilog_ram`] with an output register: the word passes `word_q` after `word`, writes pass
/// a register too (so a write's address and data start from flip-flops beside the RAM), and the
/// memory is stored as slices of at most [`OUTPUT_REGISTER_SLICE_BITS`] bits (one array each,
/// written and read together), so that every slice maps to a block RAM port whose own output
/// register can take `word_q`.
fn verilog_ram_sliced(
    width: usize,
    port: usize,
    depth: usize,
    signed: bool,
    bit_write: bool,
    data: &str,
    pack: &str,
) -> String {
    let ab = index_bits(depth);
    let a = ab - 1;
    // an activation buffer (a bit-write memory) of at most 512 words stays one array: it maps
    // to one 36-bit block RAM (its output register then a flip-flop beside it) instead of two
    // 18-bit ones, which an engine of many rows and 32 inputs per step could not spare
    let n = if bit_write && depth <= ONE_SLICE_DEPTH {
        1
    } else {
        width.div_ceil(OUTPUT_REGISTER_SLICE_BITS)
    };
    let wdata = if bit_write {
        format!("write_word ? {data} : pack_next")
    } else {
        data.to_string()
    };
    // the write, registered: it lands a clock after it is presented
    let mut v = format!(
        "wire [{w}:0] wdata = {wdata};\nreg wr_en_r;\nreg [{a}:0] wr_addr_r;\nreg [{w}:0] wr_data_r;\n\ninitial begin\n   wr_en_r = 1'b0;\nend\n\nalways @(posedge clock) begin\n   wr_en_r <= write_enable;\n   wr_addr_r <= write_address[{a}:0];\n   wr_data_r <= wdata;\nend\n",
        w = width - 1
    );
    let mut read = String::new();
    let mut write = String::new();
    let mut parts = Vec::new();
    for k in 0..n {
        // balanced slices: bits lo..hi of the word
        let lo = k * width / n;
        let hi = (k + 1) * width / n - 1;
        let sw = hi - lo;
        v.push_str(&format!(
            "(* no_rw_check *)\nreg [{sw}:0] mem_{k}[0:{d}];\nreg [{sw}:0] word_{k};\nreg [{sw}:0] word_q_{k};\n",
            d = depth - 1
        ));
        read.push_str(&format!(
            "   word_{k} <= mem_{k}[read_address[{a}:0]];\n   word_q_{k} <= word_{k};\n"
        ));
        write.push_str(&format!(
            "   if (wr_en_r) mem_{k}[wr_addr_r] <= wr_data_r[{hi}:{lo}];\n"
        ));
        parts.push(format!("word_q_{k}"));
    }
    if bit_write {
        write.push_str("   if (write_enable & ~write_word) pack <= pack_next;\n");
    }
    parts.reverse();
    let word_q = if n == 1 {
        parts[0].clone()
    } else {
        format!("{{{}}}", parts.join(", "))
    };
    format!(
        "{pack}{v}wire [{w}:0] word_q = {word_q};\n\nalways @(posedge clock) begin\n{read}end\n\nalways @(*) begin\n   read_data = {ext};\nend\n\nalways @(posedge clock) begin\n{write}end\n",
        w = width - 1,
        ext = extend("word_q", width, port, signed),
    )
}

/// The Rust model of a memory's ports: reads and writes either act at the clock they are
/// presented, or pass one register each ([`verilog_ram_sliced`]'s `word_q` and `wr_*_r`).
#[derive(Clone, Debug, Default)]
struct PortModel<T> {
    registered: bool,
    /// The word read at the last clock.
    word_q: T,
    /// The write presented at the last clock (address, word).
    write_q: Option<(usize, T)>,
}

impl<T: Copy> PortModel<T> {
    /// What `read_data` shows after a clock that read `word`.
    fn read(&mut self, word: T) -> T {
        if self.registered {
            std::mem::replace(&mut self.word_q, word)
        } else {
            word
        }
    }

    /// Stores into `mem` the write that lands at a clock that presents `write` (out-of-range
    /// addresses are dropped).
    fn write(&mut self, mem: &mut [T], write: Option<(usize, T)>) {
        let lands = if self.registered {
            std::mem::replace(&mut self.write_q, write)
        } else {
            write
        };
        if let Some((address, word)) = lands {
            if let Some(slot) = mem.get_mut(address) {
                *slot = word;
            }
        }
    }
}

/// A simple dual-port RAM of `depth` words of type `D`: the word at `read_address` appears on
/// `read_data` one clock later (two with [`SyncRam::with_output_register`]); `write_data` is
/// stored at `write_address` when `write_enable`. Reading an address in the cycle it is
/// written returns the old word.
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
    _bits: usize,
    _ports: PortModel<D>,
    _single_port: bool,
}

impl<D: Synth> SyncRam<D> {
    /// `depth` words of `bits` bits (at most the port width), all zero; `signed` selects
    /// sign extension on reads. Callers write only values that fit in `bits`.
    pub fn new(depth: usize, signed: bool, bits: usize) -> Self {
        assert!((1..=1 << ADDR_BITS).contains(&depth));
        assert!((1..=D::BITS).contains(&bits));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_enable: Default::default(),
            write_address: Default::default(),
            write_data: Default::default(),
            _mem: vec![D::default(); depth],
            _signed: signed,
            _bits: bits,
            _ports: PortModel::default(),
            _single_port: false,
        }
    }

    /// One address port shared by reads and writes (the write's address while
    /// `write_enable`, else the read's), the form Yosys maps to the iCE40 UltraPlus's
    /// single-port RAMs (`SB_SPRAM256KA`, `synth_ice40 -spram`). A clock that writes does not
    /// read: `read_data` keeps its word (the SPRAM's `no_change`). The weight memory is only
    /// written while the engine is idle, so the engine never sees the difference. Not with
    /// [`Self::with_output_register`].
    pub fn with_single_port(mut self, on: bool) -> Self {
        assert!(!(on && self._ports.registered));
        self._single_port = on;
        self
    }

    /// Reads pass one more register (`read_data` is the word addressed two clocks earlier)
    /// and so do writes (a write lands a clock after it is presented).
    pub fn with_output_register(mut self, on: bool) -> Self {
        self._ports.registered = on;
        self
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
            let word = self._mem.get(ra).copied().unwrap_or_default();
            if !(self._single_port && self.write_enable.val()) {
                self.read_data.next = self._ports.read(word);
            }
            let write = self
                .write_enable
                .val()
                .then(|| (self.write_address.val().index(), self.write_data.val()));
            self._ports.write(&mut self._mem, write);
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        if self._single_port {
            return Verilog::Custom(verilog_single_port_ram(
                self._bits,
                D::BITS,
                self._mem.len(),
                self._signed,
            ));
        }
        Verilog::Custom(verilog_ram(
            self._bits,
            D::BITS,
            self._mem.len(),
            self._signed,
            false,
            self._ports.registered,
        ))
    }
}

/// The activation buffers: a RAM of `depth` words of up to 32 bits that writes either a whole
/// word (`write_word`: a word of inputs) or a neuron's output bit (`write_data[0]`) at bit
/// `write_bit` of a word. Neuron outputs arrive in order, bit 0 first, so a bit write stores the
/// whole word: the bits written since the last bit 0 (held in a packing register), the new
/// bit, and zeros above it. Plain word writes need no per-bit write enables, which not every
/// block RAM has (the ECP5's has byte enables only).
#[derive(LogicBlock)]
pub struct BitRam {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<ADDR_BITS>>,
    pub read_data: Signal<Out, Bits<32>>,
    pub write_enable: Signal<In, bool>,
    pub write_address: Signal<In, Bits<ADDR_BITS>>,
    pub write_word: Signal<In, bool>,
    pub write_bit: Signal<In, Bits<5>>,
    pub write_data: Signal<In, Bits<32>>,
    _mem: Vec<u64>,
    _bits: usize,
    _pack: u64,
    _ports: PortModel<u64>,
}

impl BitRam {
    /// `depth` words of `bits` bits (at most 32; the upper bits of a read are zero).
    pub fn new(depth: usize, bits: usize) -> Self {
        assert!((1..=1 << ADDR_BITS).contains(&depth));
        assert!((1..=32).contains(&bits));
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            write_enable: Default::default(),
            write_address: Default::default(),
            write_word: Default::default(),
            write_bit: Default::default(),
            write_data: Default::default(),
            _mem: vec![0; depth],
            _bits: bits,
            _pack: 0,
            _ports: PortModel::default(),
        }
    }

    /// Reads pass one more register (`read_data` is the word addressed two clocks earlier)
    /// and so do writes (a write lands a clock after it is presented; the packing register
    /// packs as before).
    pub fn with_output_register(mut self, on: bool) -> Self {
        self._ports.registered = on;
        self
    }
}

impl Logic for BitRam {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let ra = self.read_address.val().index();
            let word = self._mem.get(ra).copied().unwrap_or(0);
            self.read_data.next = self._ports.read(word).into();
            let mut write = None;
            if self.write_enable.val() {
                let wa = self.write_address.val().index();
                let d = self.write_data.val().to_u64();
                if self.write_word.val() {
                    write = Some((wa, d & ((1u64 << self._bits) - 1)));
                } else {
                    // the Verilog indexes with the low bits that address a word's bits
                    let bit = self.write_bit.val().index() & ((1 << index_bits(self._bits)) - 1);
                    let base = if self.write_bit.val().index() == 0 {
                        0
                    } else {
                        self._pack
                    };
                    let packed = (base | ((d & 1) << bit)) & ((1u64 << self._bits) - 1);
                    write = Some((wa, packed));
                    self._pack = packed;
                }
            }
            self._ports.write(&mut self._mem, write);
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_ram(
            self._bits,
            32,
            self._mem.len(),
            false,
            true,
            self._ports.registered,
        ))
    }
}
