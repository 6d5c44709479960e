//! The walk of a dense layer: which step the array takes next. A dense layer of `n_out`
//! neurons with `steps` steps per neuron (`ceil(fan_in / cols)`) takes, for each neuron, its
//! steps in order; step `s` of neuron `i` reads activation word `s` of the layer's input
//! region and weight word `w_base + i*steps + s`, and the neuron's bit is written to bit
//! `i mod cols` of word `i / cols` of the output region (`docs/engine-spec.md`, "The fold").
//!
//! This block is the seam for other layer kinds: a convolution or pooling walk produces the
//! same outputs (`issue`, the addresses and the token) from its own table entry.

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::ram::ADDR_BITS;

pub struct DenseWalk {
    pub clock: Signal<In, Clock>,
    /// The layer the array is on, and its table entry.
    pub layer: Signal<In, Bits<8>>,
    pub steps: Signal<In, Bits<ADDR_BITS>>,
    pub n_out: Signal<In, Bits<ADDR_BITS>>,
    pub w_base: Signal<In, Bits<ADDR_BITS>>,
    pub n_base: Signal<In, Bits<ADDR_BITS>>,
    pub short: Signal<In, bool>,
    pub output_layer: Signal<In, bool>,
    /// Real inputs of a neuron's last step (the table's `last_step_inputs`).
    pub last_inputs: Signal<In, Bits<7>>,
    /// The group's live rows.
    pub live: Signal<In, Bits<9>>,
    /// Load the layer's first step (the sequencer's START2).
    pub load: Signal<In, bool>,
    /// Issue steps (the sequencer's RUN).
    pub run: Signal<In, bool>,
    // ---- the step issued ----
    pub issue: Signal<Out, bool>,
    pub act_address: Signal<Out, Bits<ADDR_BITS>>,
    pub w_address: Signal<Out, Bits<ADDR_BITS>>,
    pub n_address: Signal<Out, Bits<ADDR_BITS>>,
    /// The control token: flags (bit 0 valid, 1 first, 2 last, 3 output), the neuron's
    /// activation word and bit, the neuron, and the group's live rows.
    pub tok_flags: Signal<Out, Bits<4>>,
    pub tok_word: Signal<Out, Bits<ADDR_BITS>>,
    pub tok_bit: Signal<Out, Bits<5>>,
    pub tok_neuron: Signal<Out, Bits<ADDR_BITS>>,
    pub tok_live: Signal<Out, Bits<9>>,
    /// Real inputs of the step issued: `cols * lanes`, or the table's `last_step_inputs` on a
    /// neuron's last step (the 1-bit PEs mask the slots at and above it).
    pub live_inputs: Signal<Out, Bits<7>>,
    /// The last step of the layer's last neuron is at hand.
    pub layer_done: Signal<Out, bool>,
    /// The layer being walked is the output layer.
    pub layer_output: Signal<Out, bool>,
    /// Its last neuron's index.
    pub last_neuron: Signal<Out, Bits<ADDR_BITS>>,
    s: DFF<Bits<ADDR_BITS>>,
    i: DFF<Bits<ADDR_BITS>>,
    i_word: DFF<Bits<ADDR_BITS>>,
    i_bit: DFF<Bits<5>>,
    w_addr: DFF<Bits<ADDR_BITS>>,
    n_addr: DFF<Bits<ADDR_BITS>>,
    /// `s` is below the layer's step count: the step is issued (not an idle step of an
    /// output layer shorter than the array's rows).
    in_steps: DFF<bool>,
    /// The current layer's table entry and what derives from it, registered.
    lay_last_step: DFF<Bits<ADDR_BITS>>,
    lay_last_step_eff: DFF<Bits<ADDR_BITS>>,
    lay_last_neuron: DFF<Bits<ADDR_BITS>>,
    /// One before the last step, effective step and neuron, and whether each count is 1.
    lay_last_step_m1: DFF<Bits<ADDR_BITS>>,
    lay_last_step_eff_m1: DFF<Bits<ADDR_BITS>>,
    lay_last_neuron_m1: DFF<Bits<ADDR_BITS>>,
    lay_steps_one: DFF<bool>,
    lay_eff_one: DFF<bool>,
    lay_n_out_one: DFF<bool>,
    lay_w_base: DFF<Bits<ADDR_BITS>>,
    lay_n_base: DFF<Bits<ADDR_BITS>>,
    lay_output: DFF<bool>,
    lay_in_base: DFF<Bits<ADDR_BITS>>,
    lay_out_base: DFF<Bits<ADDR_BITS>>,
    lay_live: DFF<Bits<9>>,
    lay_last_inputs: DFF<Bits<7>>,
    /// The table entry registered once more (used with `c_deep`).
    sel_steps: DFF<Bits<ADDR_BITS>>,
    sel_n_out: DFF<Bits<ADDR_BITS>>,
    sel_w_base: DFF<Bits<ADDR_BITS>>,
    sel_n_base: DFF<Bits<ADDR_BITS>>,
    sel_output: DFF<bool>,
    sel_short: DFF<bool>,
    sel_last_inputs: DFF<Bits<7>>,
    /// `s == 0`, `s == last step`, `s == last effective step`, `i == last neuron`, one clock
    /// ahead (`c_deep`).
    flag_first: DFF<bool>,
    flag_last: DFF<bool>,
    flag_last_eff: DFF<bool>,
    flag_last_neuron: DFF<bool>,
    at_first: Signal<Local, bool>,
    at_last: Signal<Local, bool>,
    at_last_eff: Signal<Local, bool>,
    at_last_neuron: Signal<Local, bool>,
    cur_short: Signal<Local, bool>,
    cur_steps: Signal<Local, Bits<ADDR_BITS>>,
    cur_n_out: Signal<Local, Bits<ADDR_BITS>>,
    cur_w_base: Signal<Local, Bits<ADDR_BITS>>,
    cur_n_base: Signal<Local, Bits<ADDR_BITS>>,
    cur_last_inputs: Signal<Local, Bits<7>>,
    is_output: Signal<Local, bool>,
    steps_eff: Signal<Local, Bits<ADDR_BITS>>,
    in_base: Signal<Local, Bits<ADDR_BITS>>,
    out_base: Signal<Local, Bits<ADDR_BITS>>,
    f_valid: Signal<Local, Bits<4>>,
    f_first: Signal<Local, Bits<4>>,
    f_last: Signal<Local, Bits<4>>,
    f_output: Signal<Local, Bits<4>>,
    c_deep: Constant<bool>,
    m_steps: Constant<Bits<ADDR_BITS>>,
    m_neurons: Constant<Bits<ADDR_BITS>>,
    m_waddr: Constant<Bits<ADDR_BITS>>,
    m_naddr: Constant<Bits<ADDR_BITS>>,
    m_region: Constant<Bits<ADDR_BITS>>,
    m_act: Constant<Bits<ADDR_BITS>>,
    c_rows: Constant<Bits<ADDR_BITS>>,
    c_cols_m1: Constant<Bits<5>>,
    /// `cols * lanes`: the real inputs of every step but a neuron's last.
    c_full_inputs: Constant<Bits<7>>,
    c_region0: Constant<Bits<ADDR_BITS>>,
    c_region1: Constant<Bits<ADDR_BITS>>,
    c_region2: Constant<Bits<ADDR_BITS>>,
    c_flag_valid: Constant<Bits<4>>,
    c_flag_first: Constant<Bits<4>>,
    c_flag_last: Constant<Bits<4>>,
    c_flag_output: Constant<Bits<4>>,
    c_one20: Constant<Bits<ADDR_BITS>>,
    c_two20: Constant<Bits<ADDR_BITS>>,
    c_one5: Constant<Bits<5>>,
    z4: Constant<Bits<4>>,
    z5: Constant<Bits<5>>,
    z8: Constant<Bits<8>>,
    z20: Constant<Bits<ADDR_BITS>>,
}

crate::block_inputs_first!(DenseWalk {
    inputs: [
        clock,
        layer,
        steps,
        n_out,
        w_base,
        n_base,
        short,
        output_layer,
        last_inputs,
        live,
        load,
        run
    ],
    fields: [
        clock,
        layer,
        steps,
        n_out,
        w_base,
        n_base,
        short,
        output_layer,
        last_inputs,
        live,
        load,
        run,
        issue,
        act_address,
        w_address,
        n_address,
        tok_flags,
        tok_word,
        tok_bit,
        tok_neuron,
        tok_live,
        live_inputs,
        layer_done,
        layer_output,
        last_neuron,
        s,
        i,
        i_word,
        i_bit,
        w_addr,
        n_addr,
        in_steps,
        lay_last_step,
        lay_last_step_eff,
        lay_last_neuron,
        lay_last_step_m1,
        lay_last_step_eff_m1,
        lay_last_neuron_m1,
        lay_steps_one,
        lay_eff_one,
        lay_n_out_one,
        lay_w_base,
        lay_n_base,
        lay_output,
        lay_in_base,
        lay_out_base,
        lay_live,
        lay_last_inputs,
        sel_steps,
        sel_n_out,
        sel_w_base,
        sel_n_base,
        sel_output,
        sel_short,
        sel_last_inputs,
        flag_first,
        flag_last,
        flag_last_eff,
        flag_last_neuron,
        at_first,
        at_last,
        at_last_eff,
        at_last_neuron,
        cur_short,
        cur_steps,
        cur_n_out,
        cur_w_base,
        cur_n_base,
        cur_last_inputs,
        is_output,
        steps_eff,
        in_base,
        out_base,
        f_valid,
        f_first,
        f_last,
        f_output,
        c_deep,
        m_steps,
        m_neurons,
        m_waddr,
        m_naddr,
        m_region,
        m_act,
        c_rows,
        c_cols_m1,
        c_full_inputs,
        c_region0,
        c_region1,
        c_region2,
        c_flag_valid,
        c_flag_first,
        c_flag_last,
        c_flag_output,
        c_one20,
        c_two20,
        c_one5,
        z4,
        z5,
        z8,
        z20
    ],
});

impl DenseWalk {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout) -> Self {
        let ubits = |n: usize| crate::low_mask::<ADDR_BITS>(crate::unsigned_bits(n as u64));
        let b20 = |v: usize| Constant::new(Bits::<ADDR_BITS>::from(v as u64));
        let b4 = |v: u64| Constant::new(Bits::<4>::from(v));
        Self {
            clock: Default::default(),
            layer: Default::default(),
            steps: Default::default(),
            n_out: Default::default(),
            w_base: Default::default(),
            n_base: Default::default(),
            short: Default::default(),
            output_layer: Default::default(),
            last_inputs: Default::default(),
            live: Default::default(),
            load: Default::default(),
            run: Default::default(),
            issue: Default::default(),
            act_address: Default::default(),
            w_address: Default::default(),
            n_address: Default::default(),
            tok_flags: Default::default(),
            tok_word: Default::default(),
            tok_bit: Default::default(),
            tok_neuron: Default::default(),
            tok_live: Default::default(),
            live_inputs: Default::default(),
            layer_done: Default::default(),
            layer_output: Default::default(),
            last_neuron: Default::default(),
            s: Default::default(),
            i: Default::default(),
            i_word: Default::default(),
            i_bit: Default::default(),
            w_addr: Default::default(),
            n_addr: Default::default(),
            in_steps: Default::default(),
            lay_last_step: Default::default(),
            lay_last_step_eff: Default::default(),
            lay_last_neuron: Default::default(),
            lay_last_step_m1: Default::default(),
            lay_last_step_eff_m1: Default::default(),
            lay_last_neuron_m1: Default::default(),
            lay_steps_one: Default::default(),
            lay_eff_one: Default::default(),
            lay_n_out_one: Default::default(),
            lay_w_base: Default::default(),
            lay_n_base: Default::default(),
            lay_output: Default::default(),
            lay_in_base: Default::default(),
            lay_out_base: Default::default(),
            lay_live: Default::default(),
            lay_last_inputs: Default::default(),
            sel_steps: Default::default(),
            sel_n_out: Default::default(),
            sel_w_base: Default::default(),
            sel_n_base: Default::default(),
            sel_output: Default::default(),
            sel_short: Default::default(),
            sel_last_inputs: Default::default(),
            flag_first: Default::default(),
            flag_last: Default::default(),
            flag_last_eff: Default::default(),
            flag_last_neuron: Default::default(),
            at_first: Default::default(),
            at_last: Default::default(),
            at_last_eff: Default::default(),
            at_last_neuron: Default::default(),
            cur_short: Default::default(),
            cur_steps: Default::default(),
            cur_n_out: Default::default(),
            cur_w_base: Default::default(),
            cur_n_base: Default::default(),
            cur_last_inputs: Default::default(),
            is_output: Default::default(),
            steps_eff: Default::default(),
            in_base: Default::default(),
            out_base: Default::default(),
            f_valid: Default::default(),
            f_first: Default::default(),
            f_last: Default::default(),
            f_output: Default::default(),
            c_deep: Constant::new(cfg.hard_block_registers),
            m_steps: ubits(lay.max_steps),
            m_neurons: ubits(cfg.max_neurons),
            m_waddr: ubits(lay.weight_words),
            m_naddr: ubits(lay.neuron_words),
            m_region: ubits(lay.region_words),
            m_act: ubits(3 * lay.region_words),
            c_rows: b20(lay.rows),
            c_cols_m1: Constant::new(Bits::<5>::from((lay.step_inputs - 1) as u64)),
            c_full_inputs: Constant::new(Bits::<7>::from(lay.step_inputs as u64)),
            c_region0: b20(0),
            c_region1: b20(lay.region_words),
            c_region2: b20(2 * lay.region_words),
            c_flag_valid: b4(1),
            c_flag_first: b4(2),
            c_flag_last: b4(4),
            c_flag_output: b4(8),
            c_one20: b20(1),
            c_two20: b20(2),
            c_one5: Constant::new(Bits::<5>::from(1u64)),
            z4: Constant::new(Bits::<4>::from(0u64)),
            z5: Constant::new(Bits::<5>::from(0u64)),
            z8: Constant::new(Bits::<8>::from(0u64)),
            z20: b20(0),
        }
    }
}

impl Logic for DenseWalk {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            s,
            i,
            i_word,
            i_bit,
            w_addr,
            n_addr,
            in_steps,
            lay_last_step,
            lay_last_step_eff,
            lay_last_neuron,
            lay_last_step_m1,
            lay_last_step_eff_m1,
            lay_last_neuron_m1,
            lay_steps_one,
            lay_eff_one,
            lay_n_out_one,
            lay_w_base,
            lay_n_base,
            lay_output,
            lay_in_base,
            lay_out_base,
            lay_live,
            lay_last_inputs,
            sel_steps,
            sel_n_out,
            sel_w_base,
            sel_n_base,
            sel_output,
            sel_short,
            sel_last_inputs,
            flag_first,
            flag_last,
            flag_last_eff,
            flag_last_neuron
        );
        // with `c_deep` the table lookup is registered once more before what derives from it
        // (START waits a clock longer)
        self.sel_steps.d.next = self.steps.val();
        self.sel_n_out.d.next = self.n_out.val();
        self.sel_w_base.d.next = self.w_base.val();
        self.sel_n_base.d.next = self.n_base.val();
        self.sel_output.d.next = self.output_layer.val();
        self.sel_short.d.next = self.short.val();
        self.sel_last_inputs.d.next = self.last_inputs.val();
        self.cur_last_inputs.next = self.last_inputs.val();
        self.cur_steps.next = self.steps.val();
        self.cur_n_out.next = self.n_out.val();
        self.cur_w_base.next = self.w_base.val();
        self.cur_n_base.next = self.n_base.val();
        self.is_output.next = self.output_layer.val();
        self.cur_short.next = self.short.val();
        if self.c_deep.val() {
            self.cur_short.next = self.sel_short.q.val();
            self.cur_steps.next = self.sel_steps.q.val();
            self.cur_n_out.next = self.sel_n_out.q.val();
            self.cur_w_base.next = self.sel_w_base.q.val();
            self.cur_n_base.next = self.sel_n_base.q.val();
            self.is_output.next = self.sel_output.q.val();
            self.cur_last_inputs.next = self.sel_last_inputs.q.val();
        }
        // an output layer shorter than the array's rows takes `rows` steps per neuron (the
        // extra ones idle), so its rows finish no faster than the logit walker reads them
        self.steps_eff.next = self.cur_steps.val();
        if self.is_output.val() & self.cur_short.val() {
            self.steps_eff.next = self.c_rows.val();
        }
        // the layers alternate between regions 1 and 2; the first reads region 0 (the input)
        self.in_base.next = self.c_region2.val();
        if self.layer.val().get_bit(0) {
            self.in_base.next = self.c_region1.val();
        }
        if self.layer.val() == self.z8.val() {
            self.in_base.next = self.c_region0.val();
        }
        self.out_base.next = self.c_region1.val();
        if self.layer.val().get_bit(0) {
            self.out_base.next = self.c_region2.val();
        }
        // registered: the layer's entry changes only when the layer or group does (then START
        // waits a clock for it); the last step and neuron indices are kept, so the counters
        // are compared for equality (no adder)
        self.lay_last_step.d.next =
            (self.cur_steps.val() - self.c_one20.val()) & self.m_steps.val();
        self.lay_last_step_eff.d.next =
            (self.steps_eff.val() - self.c_one20.val()) & self.m_steps.val();
        self.lay_last_neuron.d.next =
            (self.cur_n_out.val() - self.c_one20.val()) & self.m_neurons.val();
        // the indices one before the last, and whether the last is 0 (for the flags below)
        self.lay_last_step_m1.d.next =
            (self.cur_steps.val() - self.c_two20.val()) & self.m_steps.val();
        self.lay_last_step_eff_m1.d.next =
            (self.steps_eff.val() - self.c_two20.val()) & self.m_steps.val();
        self.lay_last_neuron_m1.d.next =
            (self.cur_n_out.val() - self.c_two20.val()) & self.m_neurons.val();
        self.lay_steps_one.d.next = self.cur_steps.val() == self.c_one20.val();
        self.lay_eff_one.d.next = self.steps_eff.val() == self.c_one20.val();
        self.lay_n_out_one.d.next = self.cur_n_out.val() == self.c_one20.val();
        // Where `s` and `i` stand: compares of the counters, or (with `c_deep`) flags computed
        // a clock ahead, so that the decisions start from flip-flops
        self.at_first.next = self.s.q.val() == self.z20.val();
        self.at_last.next = self.s.q.val() == self.lay_last_step.q.val();
        self.at_last_eff.next = self.s.q.val() == self.lay_last_step_eff.q.val();
        self.at_last_neuron.next = self.i.q.val() == self.lay_last_neuron.q.val();
        if self.c_deep.val() {
            self.at_first.next = self.flag_first.q.val();
            self.at_last.next = self.flag_last.q.val();
            self.at_last_eff.next = self.flag_last_eff.q.val();
            self.at_last_neuron.next = self.flag_last_neuron.q.val();
        }
        self.layer_done.next = self.at_last_eff.val() & self.at_last_neuron.val();
        self.lay_w_base.d.next = self.cur_w_base.val();
        self.lay_n_base.d.next = self.cur_n_base.val();
        self.lay_output.d.next = self.is_output.val();
        self.lay_in_base.d.next = self.in_base.val();
        self.lay_out_base.d.next = self.out_base.val();
        self.lay_live.d.next = self.live.val();
        self.lay_last_inputs.d.next = self.cur_last_inputs.val();
        self.layer_output.next = self.lay_output.q.val();
        self.last_neuron.next = self.lay_last_neuron.q.val();
        // `s < steps`, kept in a flag (set where `s` restarts, cleared after its last step),
        // so issuing needs no magnitude compare
        self.issue.next = self.run.val() & self.in_steps.q.val();

        // ---- the token of this step ----
        self.tok_word.next = (self.lay_out_base.q.val() + self.i_word.q.val()) & self.m_act.val();
        self.tok_bit.next = self.i_bit.q.val();
        self.tok_neuron.next = self.i.q.val();
        self.tok_live.next = self.lay_live.q.val();
        self.live_inputs.next = self.c_full_inputs.val();
        if self.at_last.val() {
            self.live_inputs.next = self.lay_last_inputs.q.val();
        }
        self.f_valid.next = self.z4.val();
        self.f_first.next = self.z4.val();
        self.f_last.next = self.z4.val();
        self.f_output.next = self.z4.val();
        if self.issue.val() {
            self.f_valid.next = self.c_flag_valid.val();
        }
        if self.at_first.val() {
            self.f_first.next = self.c_flag_first.val();
        }
        if self.at_last.val() {
            self.f_last.next = self.c_flag_last.val();
        }
        if self.lay_output.q.val() {
            self.f_output.next = self.c_flag_output.val();
        }
        self.tok_flags.next =
            self.f_valid.val() | self.f_first.val() | self.f_last.val() | self.f_output.val();
        self.act_address.next = (self.lay_in_base.q.val() + self.s.q.val()) & self.m_act.val();
        self.w_address.next = self.w_addr.q.val();
        self.n_address.next = self.n_addr.q.val();

        // ---- the counters ----
        if self.load.val() {
            self.s.d.next = self.z20.val();
            self.i.d.next = self.z20.val();
            self.i_word.d.next = self.z20.val();
            self.i_bit.d.next = self.z5.val();
            self.w_addr.d.next = self.lay_w_base.q.val();
            self.n_addr.d.next = self.lay_n_base.q.val();
            self.in_steps.d.next = true;
            self.flag_first.d.next = true;
            self.flag_last.d.next = self.lay_steps_one.q.val();
            self.flag_last_eff.d.next = self.lay_eff_one.q.val();
            self.flag_last_neuron.d.next = self.lay_n_out_one.q.val();
        }
        if self.run.val() {
            if self.issue.val() {
                self.w_addr.d.next =
                    (self.w_addr.q.val() + self.c_one20.val()) & self.m_waddr.val();
            }
            self.s.d.next = (self.s.q.val() + self.c_one20.val()) & self.m_steps.val();
            self.flag_first.d.next = false;
            self.flag_last.d.next = self.s.q.val() == self.lay_last_step_m1.q.val();
            self.flag_last_eff.d.next = self.s.q.val() == self.lay_last_step_eff_m1.q.val();
            if self.at_last.val() {
                self.in_steps.d.next = false;
            }
            if self.at_last_eff.val() {
                self.flag_first.d.next = true;
                self.flag_last.d.next = self.lay_steps_one.q.val();
                self.flag_last_eff.d.next = self.lay_eff_one.q.val();
                self.flag_last_neuron.d.next = self.i.q.val() == self.lay_last_neuron_m1.q.val();
                self.in_steps.d.next = true;
                self.s.d.next = self.z20.val();
                self.i.d.next = (self.i.q.val() + self.c_one20.val()) & self.m_neurons.val();
                self.n_addr.d.next =
                    (self.n_addr.q.val() + self.c_one20.val()) & self.m_naddr.val();
                self.i_bit.d.next = self.i_bit.q.val() + self.c_one5.val();
                if self.i_bit.q.val() == self.c_cols_m1.val() {
                    self.i_bit.d.next = self.z5.val();
                    self.i_word.d.next =
                        (self.i_word.q.val() + self.c_one20.val()) & self.m_region.val();
                }
            }
        }
    }
}
