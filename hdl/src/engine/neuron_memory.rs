//! The neurons' `A_i` and `B_i` (for an output neuron `B` holds `C_k`), one block RAM each.
//! The word of the neuron the rows are finishing is read a clock early and registered once
//! for all rows (a block RAM's output is slow; the neuron units take the values from here).

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::ram::{SyncRam, ADDR_BITS};

pub struct NeuronMemory {
    pub clock: Signal<In, Clock>,
    pub read_address: Signal<In, Bits<ADDR_BITS>>,
    /// `A_i`, `B_i` of `read_address`, registered after the memory's read.
    pub a: Signal<Out, Signed<32>>,
    pub b: Signal<Out, Signed<32>>,
    pub a_write: Signal<In, bool>,
    pub b_write: Signal<In, bool>,
    pub write_index: Signal<In, Bits<ADDR_BITS>>,
    pub a_data: Signal<In, Signed<32>>,
    pub b_data: Signal<In, Signed<32>>,
    a_ram: SyncRam<Signed<32>>,
    b_ram: SyncRam<Signed<32>>,
    a_hold: DFF<Signed<32>>,
    b_hold: DFF<Signed<32>>,
}

crate::block_inputs_first!(NeuronMemory {
    inputs: [
        clock,
        read_address,
        a_write,
        b_write,
        write_index,
        a_data,
        b_data
    ],
    fields: [
        clock,
        read_address,
        a,
        b,
        a_write,
        b_write,
        write_index,
        a_data,
        b_data,
        a_ram,
        b_ram,
        a_hold,
        b_hold
    ],
});

impl NeuronMemory {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout) -> Self {
        let deep = cfg.hard_block_registers;
        Self {
            clock: Default::default(),
            read_address: Default::default(),
            a: Default::default(),
            b: Default::default(),
            a_write: Default::default(),
            b_write: Default::default(),
            write_index: Default::default(),
            a_data: Default::default(),
            b_data: Default::default(),
            a_ram: SyncRam::new(lay.neuron_words, true, cfg.a_bits as usize)
                .with_output_register(deep),
            b_ram: SyncRam::new(lay.neuron_words, true, cfg.bias_bits as usize)
                .with_output_register(deep),
            a_hold: Default::default(),
            b_hold: Default::default(),
        }
    }

    /// Simulation back door: store one neuron's `A` and `B`.
    pub fn preload(&mut self, index: usize, a: i64, b: i64) {
        self.a_ram.preload(index, a.into());
        self.b_ram.preload(index, b.into());
    }
}

impl Logic for NeuronMemory {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, a_hold, b_hold);
        self.a_ram.clock.next = self.clock.val();
        self.b_ram.clock.next = self.clock.val();
        self.a_ram.read_address.next = self.read_address.val();
        self.b_ram.read_address.next = self.read_address.val();
        self.a_hold.d.next = self.a_ram.read_data.val();
        self.b_hold.d.next = self.b_ram.read_data.val();
        self.a.next = self.a_hold.q.val();
        self.b.next = self.b_hold.q.val();
        self.a_ram.write_address.next = self.write_index.val();
        self.b_ram.write_address.next = self.write_index.val();
        self.a_ram.write_data.next = self.a_data.val();
        self.b_ram.write_data.next = self.b_data.val();
        self.a_ram.write_enable.next = self.a_write.val();
        self.b_ram.write_enable.next = self.b_write.val();
    }
}
