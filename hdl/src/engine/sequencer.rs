//! The sequencer: takes an input from the input stream into the rows' activation buffers, then
//! walks the layers of the network once per group of Monte Carlo passes, drains the array
//! after each layer, and hands the output layer's logits to the result stream.
//!
//! States are `Bits<3>` constants ([`super::IDLE`] ..), not a `LogicState` enum: rust-hdl 0.46
//! emits an enum's variants as 32-bit literals compared with a narrower state register, which
//! Verilator's WIDTH lint rejects (ARCHITECTURE.md). What a layer's steps are (the step and
//! neuron counters, the addresses, the token) is the layer walk's job ([`super::dense_walk`]);
//! how many groups an input gets is the pass control's ([`super::passes`]).

use rust_hdl::prelude::*;

use super::{EngineLayout, DRAIN, IDLE, OUTPUT, RUN, START, START2, START3};
use crate::ram::ADDR_BITS;

pub struct Sequencer {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, bool>,
    // ---- input stream ----
    pub in_valid: Signal<In, bool>,
    pub in_last: Signal<In, bool>,
    pub in_data: Signal<In, Bits<32>>,
    pub in_ready: Signal<Out, bool>,
    pub busy: Signal<Out, bool>,
    /// The input word's write to every row's activation buffer (region 0).
    pub image_write: Signal<Out, bool>,
    pub image_address: Signal<Out, Bits<ADDR_BITS>>,
    pub image_data: Signal<Out, Bits<32>>,
    // ---- the layer walk ----
    /// The layer the array is on.
    pub layer: Signal<Out, Bits<8>>,
    /// The walk loads the layer's first step (state START2).
    pub load: Signal<Out, bool>,
    /// The walk issues the layer's steps (state RUN).
    pub run: Signal<Out, bool>,
    /// The walk is at the layer's last step of its last neuron.
    pub layer_done: Signal<In, bool>,
    /// The current layer is the output layer.
    pub layer_output: Signal<In, bool>,
    // ---- passes and results ----
    pub last_group: Signal<In, bool>,
    pub restart_passes: Signal<Out, bool>,
    pub advance_passes: Signal<Out, bool>,
    /// The last group's logits are complete: the result stream starts.
    pub begin_output: Signal<Out, bool>,
    /// The result stream owns the clock (state OUTPUT).
    pub output_mode: Signal<Out, bool>,
    /// The result stream's last beat was taken.
    pub results_done: Signal<In, bool>,
    state: DFF<Bits<3>>,
    l: DFF<Bits<8>>,
    drain_cnt: DFF<Bits<16>>,
    in_cnt: DFF<Bits<ADDR_BITS>>,
    /// An input word's write to every row's activation buffer, registered (`c_deep`).
    img_we: DFF<bool>,
    img_addr: DFF<Bits<ADDR_BITS>>,
    img_data: DFF<Bits<32>>,
    drain_end: Signal<Local, bool>,
    /// `hard_block_registers`: START waits a clock more, image writes are registered.
    c_deep: Constant<bool>,
    m_region: Constant<Bits<ADDR_BITS>>,
    m_drain: Constant<Bits<16>>,
    m_layers: Constant<Bits<8>>,
    c_drain: Constant<Bits<16>>,
    c_region0: Constant<Bits<ADDR_BITS>>,
    c_one20: Constant<Bits<ADDR_BITS>>,
    c_one16: Constant<Bits<16>>,
    c_one8: Constant<Bits<8>>,
    z8: Constant<Bits<8>>,
    z16: Constant<Bits<16>>,
    z20: Constant<Bits<ADDR_BITS>>,
    c_idle: Constant<Bits<3>>,
    c_start: Constant<Bits<3>>,
    c_start2: Constant<Bits<3>>,
    c_start3: Constant<Bits<3>>,
    c_run: Constant<Bits<3>>,
    c_drain_state: Constant<Bits<3>>,
    c_output: Constant<Bits<3>>,
}

crate::block_inputs_first!(Sequencer {
    inputs: [
        clock,
        reset,
        in_valid,
        in_last,
        in_data,
        layer_done,
        layer_output,
        last_group,
        results_done
    ],
    fields: [
        clock,
        reset,
        in_valid,
        in_last,
        in_data,
        in_ready,
        busy,
        image_write,
        image_address,
        image_data,
        layer,
        load,
        run,
        layer_done,
        layer_output,
        last_group,
        restart_passes,
        advance_passes,
        begin_output,
        output_mode,
        results_done,
        state,
        l,
        drain_cnt,
        in_cnt,
        img_we,
        img_addr,
        img_data,
        drain_end,
        c_deep,
        m_region,
        m_drain,
        m_layers,
        c_drain,
        c_region0,
        c_one20,
        c_one16,
        c_one8,
        z8,
        z16,
        z20,
        c_idle,
        c_start,
        c_start2,
        c_start3,
        c_run,
        c_drain_state,
        c_output
    ],
});

impl Sequencer {
    pub fn new(lay: &EngineLayout, hard_block_registers: bool) -> Self {
        let b3 = |v: u64| Constant::new(Bits::<3>::from(v));
        let b20 = |v: usize| Constant::new(Bits::<ADDR_BITS>::from(v as u64));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            in_valid: Default::default(),
            in_last: Default::default(),
            in_data: Default::default(),
            in_ready: Default::default(),
            busy: Default::default(),
            image_write: Default::default(),
            image_address: Default::default(),
            image_data: Default::default(),
            layer: Default::default(),
            load: Default::default(),
            run: Default::default(),
            layer_done: Default::default(),
            layer_output: Default::default(),
            last_group: Default::default(),
            restart_passes: Default::default(),
            advance_passes: Default::default(),
            begin_output: Default::default(),
            output_mode: Default::default(),
            results_done: Default::default(),
            state: Default::default(),
            l: Default::default(),
            drain_cnt: Default::default(),
            in_cnt: Default::default(),
            img_we: Default::default(),
            img_addr: Default::default(),
            img_data: Default::default(),
            drain_end: Default::default(),
            c_deep: Constant::new(hard_block_registers),
            m_region: crate::low_mask(crate::unsigned_bits(lay.region_words as u64)),
            m_drain: crate::low_mask(crate::unsigned_bits(lay.drain as u64 + 1)),
            m_layers: crate::low_mask(crate::unsigned_bits(lay.max_layers as u64)),
            c_drain: Constant::new(Bits::<16>::from(lay.drain as u64)),
            c_region0: b20(0),
            c_one20: b20(1),
            c_one16: Constant::new(Bits::<16>::from(1u64)),
            c_one8: Constant::new(Bits::<8>::from(1u64)),
            z8: Constant::new(Bits::<8>::from(0u64)),
            z16: Constant::new(Bits::<16>::from(0u64)),
            z20: b20(0),
            c_idle: b3(IDLE),
            c_start: b3(START),
            c_start2: b3(START2),
            c_start3: b3(START3),
            c_run: b3(RUN),
            c_drain_state: b3(DRAIN),
            c_output: b3(OUTPUT),
        }
    }
}

impl Logic for Sequencer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, l, drain_cnt, in_cnt, img_we, img_addr, img_data);
        self.layer.next = self.l.q.val();
        self.load.next = self.state.q.val() == self.c_start2.val();
        self.run.next = self.state.q.val() == self.c_run.val();
        self.output_mode.next = self.state.q.val() == self.c_output.val();
        self.in_ready.next = self.state.q.val() == self.c_idle.val();
        self.busy.next = self.state.q.val() != self.c_idle.val();
        self.restart_passes.next = false;
        self.advance_passes.next = false;
        self.begin_output.next = false;

        // ---- input words into region 0 of every row's activation buffer ----
        self.img_we.d.next =
            (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() & !self.reset.val();
        self.img_addr.d.next = self.c_region0.val() + self.in_cnt.q.val();
        self.img_data.d.next = self.in_data.val();
        self.image_write.next = false;
        self.image_address.next = self.c_region0.val() + self.in_cnt.q.val();
        self.image_data.next = self.in_data.val();
        if (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() {
            self.image_write.next = true;
        }
        // with `c_deep` the image write reaches the rows from registers
        if self.c_deep.val() {
            self.image_write.next = self.img_we.q.val();
            self.image_address.next = self.img_addr.q.val();
            self.image_data.next = self.img_data.q.val();
        }

        // ---- states ----
        if (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() {
            self.in_cnt.d.next = (self.in_cnt.q.val() + self.c_one20.val()) & self.m_region.val();
            if self.in_last.val() {
                self.in_cnt.d.next = self.z20.val();
                self.state.d.next = self.c_start.val();
                self.restart_passes.next = true;
                self.l.d.next = self.z8.val();
            }
        }
        if self.state.q.val() == self.c_start.val() {
            // the layer's registered table entry is valid from the next clock on (from the
            // one after with `c_deep`)
            self.state.d.next = self.c_start2.val();
            if self.c_deep.val() {
                self.state.d.next = self.c_start3.val();
            }
        }
        if self.state.q.val() == self.c_start3.val() {
            self.state.d.next = self.c_start2.val();
        }
        if self.state.q.val() == self.c_start2.val() {
            self.state.d.next = self.c_run.val();
        }
        if (self.state.q.val() == self.c_run.val()) & self.layer_done.val() {
            self.state.d.next = self.c_drain_state.val();
            self.drain_cnt.d.next = self.z16.val();
        }
        self.drain_end.next = false;
        if self.state.q.val() == self.c_drain_state.val() {
            self.drain_cnt.d.next =
                (self.drain_cnt.q.val() + self.c_one16.val()) & self.m_drain.val();
            self.drain_end.next = self.drain_cnt.q.val() == self.c_drain.val();
        }
        if self.drain_end.val() {
            if self.layer_output.val() {
                if self.last_group.val() {
                    self.state.d.next = self.c_output.val();
                    self.begin_output.next = true;
                } else {
                    self.advance_passes.next = true;
                    self.l.d.next = self.z8.val();
                    self.state.d.next = self.c_start.val();
                }
            } else {
                self.l.d.next = (self.l.q.val() + self.c_one8.val()) & self.m_layers.val();
                self.state.d.next = self.c_start.val();
            }
        }
        if (self.state.q.val() == self.c_output.val()) & self.results_done.val() {
            self.state.d.next = self.c_idle.val();
        }
        if self.reset.val() {
            self.state.d.next = self.c_idle.val();
            self.in_cnt.d.next = self.z20.val();
        }
    }
}
