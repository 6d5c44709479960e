//! Where the weights come from: one block RAM per array column, at the weight width. Column
//! `c` reads its word at its own address (the array staggers the addresses, one clock per
//! column); the configuration port writes one column's word at a time.
//!
//! This block is the seam for other weight stores (wider words, the UP5K's SPRAMs): the array
//! sees only `read_address` and `read_data` per column.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::ram::{SyncRam, ADDR_BITS};

pub struct WeightMemory {
    pub clock: Signal<In, Clock>,
    pub read_address: Vec<Signal<In, Bits<ADDR_BITS>>>,
    /// The word of each column, one clock after its address (two with
    /// `hard_block_registers`).
    pub read_data: Vec<Signal<Out, Signed<32>>>,
    pub write: Signal<In, bool>,
    pub write_column: Signal<In, Bits<6>>,
    pub write_word: Signal<In, Bits<ADDR_BITS>>,
    pub write_data: Signal<In, Signed<32>>,
    weights: Vec<SyncRam<Signed<32>>>,
    col_index: Vec<Constant<Bits<6>>>,
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
        col_index
    ],
});

impl WeightMemory {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout) -> Self {
        let cols = lay.cols;
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
                    SyncRam::new(lay.weight_words, true, cfg.weight_bits as usize)
                        .with_output_register(cfg.hard_block_registers)
                })
                .collect(),
            col_index: (0..cols)
                .map(|c| Constant::new(Bits::<6>::from(c as u64)))
                .collect(),
        }
    }

    /// Simulation back door: store a word directly (what `$readmemh` does).
    pub fn preload(&mut self, word: usize, column: usize, value: i64) {
        self.weights[column].preload(word, value.into());
    }
}

impl Logic for WeightMemory {
    #[hdl_gen]
    fn update(&mut self) {
        for c in 0..self.weights.len() {
            self.weights[c].clock.next = self.clock.val();
            self.weights[c].read_address.next = self.read_address[c].val();
            self.read_data[c].next = self.weights[c].read_data.val();
            self.weights[c].write_address.next = self.write_word.val();
            self.weights[c].write_data.next = self.write_data.val();
            self.weights[c].write_enable.next =
                self.write.val() & (self.write_column.val() == self.col_index[c].val());
        }
    }
}
