//! The result stream: one beat per class, in class order, each carrying the class's logit
//! (summed over every pass) and, with the last beat, the winning class (ties to the lowest).
//! A beat is read from the logit memory (one clock, two with `hard_block_registers`), loaded,
//! judged against the best so far from registers, then offered; every output is a register.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use crate::ram::ADDR_BITS;

pub struct ResultStream {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, bool>,
    /// The sequencer is in its output state.
    pub active: Signal<In, bool>,
    /// The first beat is next (class 0).
    pub start: Signal<In, bool>,
    /// The output layer's last neuron.
    pub last_neuron: Signal<In, Bits<ADDR_BITS>>,
    /// The logit memory's read port.
    pub read_request: Signal<Out, bool>,
    pub read_address: Signal<Out, Bits<ADDR_BITS>>,
    pub read_data: Signal<In, Signed<64>>,
    /// The last beat was taken.
    pub done: Signal<Out, bool>,
    pub out_valid: Signal<Out, bool>,
    pub out_ready: Signal<In, bool>,
    pub out_logit: Signal<Out, Signed<64>>,
    pub out_index: Signal<Out, Bits<ADDR_BITS>>,
    pub out_last: Signal<Out, bool>,
    pub out_class: Signal<Out, Bits<ADDR_BITS>>,
    out_k: DFF<Bits<ADDR_BITS>>,
    fetch: DFF<bool>,
    /// The second clock of a logit read through the memory's output register.
    fetch2: DFF<bool>,
    /// The beat in `beat_logit` is judged against the best so far.
    judge: DFF<bool>,
    /// Its verdict is in `beat_better`.
    judged: DFF<bool>,
    fetched: Signal<Local, bool>,
    beat_valid: DFF<bool>,
    beat_logit: DFF<Signed<64>>,
    beat_k: DFF<Bits<ADDR_BITS>>,
    best_val: DFF<Signed<64>>,
    best_k: DFF<Bits<ADDR_BITS>>,
    beat_last: DFF<bool>,
    beat_better: DFF<bool>,
    beat_class: DFF<Bits<ADDR_BITS>>,
    best_minus_beat: Signal<Local, Signed<64>>,
    /// Bit W (the logit memory's width) of a 64-bit word: the sign of a difference of logits.
    diff_sign: Constant<Bits<64>>,
    beat_wins: Signal<Local, bool>,
    c_deep: Constant<bool>,
    m_neurons: Constant<Bits<ADDR_BITS>>,
    c_one20: Constant<Bits<ADDR_BITS>>,
    z20: Constant<Bits<ADDR_BITS>>,
    zs64: Constant<Signed<64>>,
}

crate::block_inputs_first!(ResultStream {
    inputs: [
        clock,
        reset,
        active,
        start,
        last_neuron,
        read_data,
        out_ready
    ],
    fields: [
        clock,
        reset,
        active,
        start,
        last_neuron,
        read_request,
        read_address,
        read_data,
        done,
        out_valid,
        out_ready,
        out_logit,
        out_index,
        out_last,
        out_class,
        out_k,
        fetch,
        fetch2,
        judge,
        judged,
        fetched,
        beat_valid,
        beat_logit,
        beat_k,
        best_val,
        best_k,
        beat_last,
        beat_better,
        beat_class,
        best_minus_beat,
        diff_sign,
        beat_wins,
        c_deep,
        m_neurons,
        c_one20,
        z20,
        zs64
    ],
});

impl ResultStream {
    pub fn new(cfg: &EngineConfig) -> Self {
        let widths = cfg.widths();
        Self {
            clock: Default::default(),
            reset: Default::default(),
            active: Default::default(),
            start: Default::default(),
            last_neuron: Default::default(),
            read_request: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            done: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_logit: Default::default(),
            out_index: Default::default(),
            out_last: Default::default(),
            out_class: Default::default(),
            out_k: Default::default(),
            fetch: Default::default(),
            fetch2: Default::default(),
            judge: Default::default(),
            judged: Default::default(),
            fetched: Default::default(),
            beat_valid: Default::default(),
            beat_logit: Default::default(),
            beat_k: Default::default(),
            best_val: Default::default(),
            best_k: Default::default(),
            beat_last: Default::default(),
            beat_better: Default::default(),
            beat_class: Default::default(),
            best_minus_beat: Default::default(),
            diff_sign: Constant::new(Bits::<64>::from(1u64 << widths.logit_sum_bits.min(63))),
            beat_wins: Default::default(),
            c_deep: Constant::new(cfg.hard_block_registers),
            m_neurons: crate::low_mask(crate::unsigned_bits(cfg.max_neurons as u64)),
            c_one20: Constant::new(Bits::<ADDR_BITS>::from(1u64)),
            z20: Constant::new(Bits::<ADDR_BITS>::from(0u64)),
            zs64: Constant::new(Signed::<64>::from(0i64)),
        }
    }
}

impl Logic for ResultStream {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            out_k,
            fetch,
            fetch2,
            judge,
            judged,
            beat_valid,
            beat_logit,
            beat_k,
            best_val,
            best_k,
            beat_last,
            beat_better,
            beat_class
        );
        self.out_valid.next = self.beat_valid.q.val();
        self.out_logit.next = self.beat_logit.q.val();
        self.out_index.next = self.beat_k.q.val();
        self.out_last.next = self.beat_last.q.val();
        self.out_class.next = self.beat_class.q.val();
        self.best_minus_beat.next = self.zs64.val();
        self.beat_wins.next = false;
        self.read_request.next = false;
        self.read_address.next = self.out_k.q.val();
        self.done.next = false;
        if self.start.val() {
            self.out_k.d.next = self.z20.val();
            self.fetch.d.next = false;
        }
        self.fetched.next = (self.fetch.q.val() & !self.c_deep.val()) | self.fetch2.q.val();
        self.fetch2.d.next = false;
        self.judge.d.next = false;
        self.judged.d.next = false;
        if self.active.val() {
            self.fetch.d.next = false;
            self.fetch2.d.next = self.fetch.q.val() & self.c_deep.val();
            if self.fetched.val() {
                self.beat_logit.d.next = self.read_data.val();
                self.beat_k.d.next = self.out_k.q.val();
                self.judge.d.next = true;
            }
            if self.judge.q.val() {
                // the best of beats 0..k (ties to the lowest k): beat k wins if it is the first
                // or above every earlier one
                self.best_minus_beat.next = self.best_val.q.val() - self.beat_logit.q.val();
                // both logits lie in the memory's W-bit range, so their difference fits W + 1
                // bits and bit W is its sign: synthesis builds a (W+1)-bit subtractor, not a
                // 64-bit one
                self.beat_wins.next = (self.beat_k.q.val() == self.z20.val())
                    | (unsigned_cast(self.best_minus_beat.val()) & self.diff_sign.val()).any();
                self.beat_better.d.next = self.beat_wins.val();
                self.judged.d.next = true;
            }
            // the verdict is registered (`beat_better`) before the class and flags use it
            if self.judged.q.val() {
                self.beat_valid.d.next = true;
                self.beat_last.d.next = self.beat_k.q.val() == self.last_neuron.val();
                self.beat_class.d.next = self.best_k.q.val();
                if self.beat_better.q.val() {
                    self.beat_class.d.next = self.beat_k.q.val();
                }
            }
            if !self.fetch.q.val()
                & !self.fetch2.q.val()
                & !self.judge.q.val()
                & !self.judged.q.val()
                & !self.beat_valid.q.val()
            {
                self.read_request.next = true;
                self.fetch.d.next = true;
            }
            if self.beat_valid.q.val() & self.out_ready.val() {
                self.beat_valid.d.next = false;
                if self.beat_better.q.val() {
                    self.best_val.d.next = self.beat_logit.q.val();
                    self.best_k.d.next = self.beat_k.q.val();
                }
                self.out_k.d.next =
                    (self.out_k.q.val() + self.c_one20.val()) & self.m_neurons.val();
                if self.beat_last.q.val() {
                    self.done.next = true;
                }
            }
        }
        if self.reset.val() {
            self.beat_valid.d.next = false;
            self.fetch.d.next = false;
            self.fetch2.d.next = false;
            self.judge.d.next = false;
            self.judged.d.next = false;
        }
    }
}
