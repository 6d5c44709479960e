//! Where the weights come from: one block RAM per array column, each word the column's
//! `lanes` weights packed at the weight width (`lanes * weight_bits` bits, lane 0 lowest).
//! Column `c` reads its word at its own address (the array staggers the addresses, one clock
//! per column).
//!
//! The configuration port writes one weight (slot `c * lanes + l`) at a time. With one lane
//! the slot is the column and the weight is stored as it comes (sign-extended on reads, or as
//! its 1-bit code). With several, a shift register (`pack`) takes every weight's code in from
//! the top, and a column's word is stored when its last lane is written: the host writes the
//! lanes of a word in lane order, one after the other (`host_interface::load_writes`), so the
//! register then holds exactly that word's lanes.
//!
//! With [`WeightRam::SinglePort`] each column's RAM has one address port, which Yosys maps
//! to the UP5K's SPRAMs. This block is the seam for other weight stores: the array sees only
//! `read_address` and `read_data` per column.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::ram::{SyncRam, ADDR_BITS};
use crate::WeightRam;

pub struct WeightMemory {
    pub clock: Signal<In, Clock>,
    pub read_address: Vec<Signal<In, Bits<ADDR_BITS>>>,
    /// The word of each column, one clock after its address (two with
    /// `hard_block_registers`): with one lane of `weight_bits >= 2` the weight sign-extended,
    /// else the packed codes, zero-extended.
    pub read_data: Vec<Signal<Out, Signed<32>>>,
    pub write: Signal<In, bool>,
    /// The slot written, `column * lanes + lane`.
    pub write_column: Signal<In, Bits<6>>,
    pub write_word: Signal<In, Bits<ADDR_BITS>>,
    pub write_data: Signal<In, Signed<32>>,
    weights: Vec<SyncRam<Signed<32>>>,
    /// The codes of the lanes written so far, the latest in the top lane.
    pack: DFF<Bits<32>>,
    pack_next: Signal<Local, Bits<32>>,
    /// The slot whose write stores each column's word (its last lane).
    col_index: Vec<Constant<Bits<6>>>,
    /// Several lanes: words are packed (else each write is a whole word).
    c_packed: Constant<bool>,
    c_code_mask: Constant<Bits<32>>,
    c_weight_bits: Constant<Bits<6>>,
    c_top_lane: Constant<Bits<6>>,
    _lanes: usize,
    _weight_bits: usize,
    _signed: bool,
}

crate::block_inputs_first!(WeightMemory {
    inputs: [
        clock,
        read_address,
        write,
        write_column,
        write_word,
        write_data
    ],
    fields: [
        clock,
        read_address,
        read_data,
        write,
        write_column,
        write_word,
        write_data,
        weights,
        pack,
        pack_next,
        col_index,
        c_packed,
        c_code_mask,
        c_weight_bits,
        c_top_lane
    ],
});

impl WeightMemory {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout, ram: WeightRam) -> Self {
        let (cols, lanes, wb) = (lay.cols, lay.lanes, cfg.weight_bits as usize);
        // one lane of multi-bit weights: the word is the weight, read sign-extended (the PE
        // takes the low bits it needs); otherwise packed codes, which the PE unpacks
        let signed = lanes == 1 && wb >= 2;
        let b6 = |v: usize| Constant::new(Bits::<6>::from(v as u64));
        Self {
            clock: Default::default(),
            read_address: (0..cols).map(|_| Default::default()).collect(),
            read_data: (0..cols).map(|_| Default::default()).collect(),
            write: Default::default(),
            write_column: Default::default(),
            write_word: Default::default(),
            write_data: Default::default(),
            weights: (0..cols)
                .map(|_| {
                    SyncRam::new(lay.weight_words, signed, lanes * wb)
                        .with_output_register(cfg.hard_block_registers)
                        .with_single_port(ram == WeightRam::SinglePort)
                })
                .collect(),
            pack: Default::default(),
            pack_next: Default::default(),
            col_index: (0..cols).map(|c| b6(c * lanes + lanes - 1)).collect(),
            c_packed: Constant::new(lanes > 1),
            c_code_mask: Constant::new(Bits::<32>::from((1u64 << wb) - 1)),
            c_weight_bits: b6(wb),
            c_top_lane: b6((lanes - 1) * wb),
            _lanes: lanes,
            _weight_bits: wb,
            _signed: signed,
        }
    }

    /// Simulation back door: store the weight of slot `slot` of a word directly (what
    /// `$readmemh` does), as the configuration port would.
    pub fn preload(&mut self, word: usize, slot: usize, weight: i64) {
        let (lanes, wb) = (self._lanes, self._weight_bits);
        let code = nsm_model::engine::memory::weight_code(weight as i32, wb as u32);
        let (column, lane) = (slot / lanes, slot % lanes);
        if self._signed {
            self.weights[column].preload(word, weight.into());
            return;
        }
        let old = self.weights[column].peek(word).inner().to_u64() as u32 as u64;
        let mask = ((1u64 << wb) - 1) << (lane * wb);
        let new = (old & !mask) | (code << (lane * wb));
        self.weights[column].preload(word, (new as u32 as i64).into());
    }
}

impl Logic for WeightMemory {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, pack);
        // the new code enters the top lane, the others move down one lane
        self.pack_next.next = unsigned_cast(self.write_data.val());
        if self.c_packed.val() {
            self.pack_next.next = (self.pack.q.val() >> self.c_weight_bits.val())
                | ((unsigned_cast(self.write_data.val()) & self.c_code_mask.val())
                    << self.c_top_lane.val());
        }
        if self.write.val() {
            self.pack.d.next = self.pack_next.val();
        }
        for c in 0..self.weights.len() {
            self.weights[c].clock.next = self.clock.val();
            self.weights[c].read_address.next = self.read_address[c].val();
            self.read_data[c].next = self.weights[c].read_data.val();
            self.weights[c].write_address.next = self.write_word.val();
            self.weights[c].write_data.next = signed_cast(self.pack_next.val());
            self.weights[c].write_enable.next =
                self.write.val() & (self.write_column.val() == self.col_index[c].val());
        }
    }
}
