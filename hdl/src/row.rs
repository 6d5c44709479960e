//! The end of one array row: accumulators of `S` and `T`, the neuron unit, the output-layer
//! logit register, and the row's activation buffer. The row's PEs live in the engine's flat PE
//! list (rust-hdl's Verilog generator resolves only one index per name, so the 2-D array is
//! wired from one level with flat indices).
//!
//! Row `r` runs Monte Carlo pass `g*rows + r` of the current group. Its activation buffer holds
//! three regions of `region_words` words of `cols` bits: region 0 the input (written by the
//! host stream), regions 1 and 2 the outputs of alternate layers (`docs/hardware.md`).

use rust_hdl::prelude::*;

use crate::chain::ShiftChain;
use crate::neuron::NeuronUnit;
use crate::pe::PSUM_BITS;
use crate::ram::{BitRam, ADDR_BITS};

#[derive(LogicBlock)]
pub struct RowEnd {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, bool>,
    /// Read address of the activation word of this row's next step.
    pub act_read_address: Signal<In, Bits<ADDR_BITS>>,
    /// The activation word read (to the row's first PE).
    pub act_data: Signal<Out, Bits<32>>,
    /// The step's sums from the row's last PE.
    pub step_s: Signal<In, Signed<PSUM_BITS>>,
    pub step_t: Signal<In, Signed<PSUM_BITS>>,
    // ---- token at the row end (arrives with the step's sums) ----
    pub tok_valid: Signal<In, bool>,
    pub tok_first: Signal<In, bool>,
    pub tok_last: Signal<In, bool>,
    pub tok_output: Signal<In, bool>,
    pub tok_neuron: Signal<In, Bits<ADDR_BITS>>,
    pub tok_word: Signal<In, Bits<ADDR_BITS>>,
    pub tok_bit: Signal<In, Bits<5>>,
    /// This row's pass is a real one (`g*rows + r < K`).
    pub tok_live: Signal<In, bool>,
    /// `A_i` and `B_i` (or `C_k`) of the neuron whose last step's token came one clock ago.
    pub tok_a: Signal<In, Signed<32>>,
    pub tok_b: Signal<In, Signed<32>>,
    // ---- input image writes (region 0) ----
    pub image_write: Signal<In, bool>,
    pub image_address: Signal<In, Bits<ADDR_BITS>>,
    pub image_data: Signal<In, Bits<32>>,
    // ---- output-layer results ----
    pub logit_valid: Signal<Out, bool>,
    pub logit: Signal<Out, Signed<32>>,
    pub logit_neuron: Signal<Out, Bits<ADDR_BITS>>,
    pub logit_live: Signal<Out, bool>,
    /// An output neuron finished last clock: `tok_b` is its `C_k` now (the engine keeps it).
    pub logit_pending: Signal<Out, bool>,
    act: BitRam,
    neuron: NeuronUnit,
    acc_s: DFF<Signed<32>>,
    acc_t: DFF<Signed<32>>,
    // A neuron finishes in three stages: `fin_*` one clock after its last step's token (the
    // accumulators hold its sums), `hid_*` while the neuron unit computes (one register per
    // clock of its latency after the first), `fire_*` when its output bit is written.
    fin_valid: DFF<bool>,
    fin_output: DFF<bool>,
    fin_word: DFF<Bits<ADDR_BITS>>,
    fin_bit: DFF<Bits<5>>,
    fin_neuron: DFF<Bits<ADDR_BITS>>,
    fin_live: DFF<bool>,
    hid_pending: ShiftChain<bool>,
    hid_word: ShiftChain<Bits<ADDR_BITS>>,
    hid_bit: ShiftChain<Bits<5>>,
    deep: Constant<bool>,
    fire_pending: DFF<bool>,
    fire_word: DFF<Bits<ADDR_BITS>>,
    fire_bit: DFF<Bits<5>>,
    logit_valid_r: DFF<bool>,
    logit_r: DFF<Signed<32>>,
    /// The length of the `hid_*` chains (the neuron unit's latency less one), and the bound of
    /// the loop that binds it.
    _hid: usize,
    _hid_end: usize,
    logit_neuron_r: DFF<Bits<ADDR_BITS>>,
    logit_live_r: DFF<bool>,
    raw_s: Signal<Local, Signed<32>>,
    raw_t: Signal<Local, Signed<32>>,
    sum_s: Signal<Local, Signed<32>>,
    sum_t: Signal<Local, Signed<32>>,
    // differences whose sign bits detect saturation (Verilog cannot bit-select an expression)
    above_s: Signal<Local, Signed<32>>,
    below_s: Signal<Local, Signed<32>>,
    above_t: Signal<Local, Signed<32>>,
    below_t: Signal<Local, Signed<32>>,
    saturate: Constant<bool>,
    z32: Constant<Bits<32>>,
    one32: Constant<Bits<32>>,
    /// Masks that cut the accumulators to their width (`crate::fit_masks`).
    acc_low: Constant<Bits<32>>,
    acc_sign: Constant<Bits<32>>,
    acc_high: Constant<Bits<32>>,
    acc_max: Constant<Signed<32>>,
    acc_min: Constant<Signed<32>>,
}

/// What a row end is built with.
#[derive(Debug, Clone)]
pub struct RowSpec {
    pub frac_bits: u32,
    pub a_bits: u32,
    /// Accumulator width (exact or saturating), from the configuration's derived widths.
    pub acc_bits: u32,
    pub bias_bits: u32,
    /// Width of `u'`, from the configuration's derived widths.
    pub u_bits: u32,
    /// Saturating accumulator width, or `None` for exact accumulators.
    pub saturate_bits: Option<u32>,
    /// Activation buffer depth (all three regions).
    pub act_words: usize,
    /// Activation word width: the inputs of one array step (`cols * lanes`).
    pub step_inputs: usize,
    /// Output register on the activation buffer, input registers on the neuron unit.
    pub hard_block_registers: bool,
}

impl RowEnd {
    pub fn new(spec: &RowSpec) -> Self {
        let (max, min) = match spec.saturate_bits {
            Some(b) => ((1i64 << (b - 1)) - 1, -(1i64 << (b - 1))),
            None => (i64::from(i32::MAX), i64::from(i32::MIN) + 1),
        };
        let (acc_low, acc_sign, acc_high) = crate::fit_masks(spec.acc_bits);
        let neuron = NeuronUnit::new(
            spec.frac_bits,
            spec.a_bits,
            spec.acc_bits,
            spec.bias_bits,
            spec.u_bits,
        )
        .with_input_registers(spec.hard_block_registers);
        let hid_stages = neuron.latency() - 1;
        Self {
            clock: Default::default(),
            reset: Default::default(),
            act_read_address: Default::default(),
            act_data: Default::default(),
            step_s: Default::default(),
            step_t: Default::default(),
            tok_valid: Default::default(),
            tok_first: Default::default(),
            tok_last: Default::default(),
            tok_output: Default::default(),
            tok_neuron: Default::default(),
            tok_word: Default::default(),
            tok_bit: Default::default(),
            tok_live: Default::default(),
            tok_a: Default::default(),
            tok_b: Default::default(),
            image_write: Default::default(),
            image_address: Default::default(),
            image_data: Default::default(),
            logit_valid: Default::default(),
            logit: Default::default(),
            logit_neuron: Default::default(),
            logit_live: Default::default(),
            logit_pending: Default::default(),
            act: BitRam::new(spec.act_words, spec.step_inputs)
                .with_output_register(spec.hard_block_registers),
            neuron,
            hid_pending: ShiftChain::new(hid_stages),
            hid_word: ShiftChain::new(hid_stages),
            hid_bit: ShiftChain::new(hid_stages),
            _hid: hid_stages,
            _hid_end: hid_stages + 1,
            acc_s: Default::default(),
            acc_t: Default::default(),
            fin_valid: Default::default(),
            fin_output: Default::default(),
            fin_word: Default::default(),
            fin_bit: Default::default(),
            fin_neuron: Default::default(),
            fin_live: Default::default(),
            deep: Constant::new(spec.hard_block_registers),
            fire_pending: Default::default(),
            fire_word: Default::default(),
            fire_bit: Default::default(),
            logit_valid_r: Default::default(),
            logit_r: Default::default(),
            logit_neuron_r: Default::default(),
            logit_live_r: Default::default(),
            raw_s: Default::default(),
            raw_t: Default::default(),
            sum_s: Default::default(),
            sum_t: Default::default(),
            above_s: Default::default(),
            below_s: Default::default(),
            above_t: Default::default(),
            below_t: Default::default(),
            saturate: Constant::new(spec.saturate_bits.is_some()),
            z32: Constant::new(Bits::<32>::from(0u64)),
            one32: Constant::new(Bits::<32>::from(1u64)),
            acc_low,
            acc_sign,
            acc_high,
            acc_max: Constant::new(max.into()),
            acc_min: Constant::new(min.into()),
        }
    }
}

impl Logic for RowEnd {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            acc_s,
            acc_t,
            fin_valid,
            fin_output,
            fin_word,
            fin_bit,
            fin_neuron,
            fin_live,
            fire_pending,
            fire_word,
            fire_bit,
            logit_valid_r,
            logit_r,
            logit_neuron_r,
            logit_live_r
        );
        self.act.clock.next = self.clock.val();
        self.neuron.clock.next = self.clock.val();
        self.hid_pending.clock.next = self.clock.val();
        self.hid_word.clock.next = self.clock.val();
        self.hid_bit.clock.next = self.clock.val();
        self.hid_pending.reset.next = self.reset.val();
        self.hid_word.reset.next = false;
        self.hid_bit.reset.next = false;
        self.act_data.next = self.act.read_data.val();
        // ---- row end: accumulate the step sums ----
        // Every signal is written before it is read and none reads itself, so rust-hdl's
        // settle loop and Verilog's blocking assignments agree. The saturation tests are
        // computed from the inputs, not from `raw_*`, to keep the chain of locals short: each
        // level costs the simulation one settle pass.
        if self.tok_first.val() {
            self.raw_s.next = self.step_s.val();
            self.raw_t.next = self.step_t.val();
            self.above_s.next = self.acc_max.val() - self.step_s.val();
            self.below_s.next = self.step_s.val() - self.acc_min.val();
            self.above_t.next = self.acc_max.val() - self.step_t.val();
            self.below_t.next = self.step_t.val() - self.acc_min.val();
        } else {
            self.raw_s.next = self.acc_s.q.val() + self.step_s.val();
            self.raw_t.next = self.acc_t.q.val() + self.step_t.val();
            self.above_s.next = (self.acc_max.val() - self.acc_s.q.val()) - self.step_s.val();
            self.below_s.next = (self.acc_s.q.val() + self.step_s.val()) - self.acc_min.val();
            self.above_t.next = (self.acc_max.val() - self.acc_t.q.val()) - self.step_t.val();
            self.below_t.next = (self.acc_t.q.val() + self.step_t.val()) - self.acc_min.val();
        }
        self.sum_s.next = self.raw_s.val();
        self.sum_t.next = self.raw_t.val();
        if self.saturate.val() {
            if self.above_s.val().get_bit(31) {
                self.sum_s.next = self.acc_max.val();
            }
            if self.below_s.val().get_bit(31) {
                self.sum_s.next = self.acc_min.val();
            }
            if self.above_t.val().get_bit(31) {
                self.sum_t.next = self.acc_max.val();
            }
            if self.below_t.val().get_bit(31) {
                self.sum_t.next = self.acc_min.val();
            }
        }
        self.acc_s.d.next = self.acc_s.q.val();
        self.acc_t.d.next = self.acc_t.q.val();
        if self.tok_valid.val() {
            // cut to the accumulator width (the identity on every value the contract allows)
            self.acc_s.d.next = signed_cast(unsigned_cast(self.sum_s.val()) & self.acc_low.val());
            if (unsigned_cast(self.sum_s.val()) & self.acc_sign.val()).any() {
                self.acc_s.d.next = signed_cast(
                    (unsigned_cast(self.sum_s.val()) & self.acc_low.val()) | self.acc_high.val(),
                );
            }
            self.acc_t.d.next = signed_cast(unsigned_cast(self.sum_t.val()) & self.acc_low.val());
            if (unsigned_cast(self.sum_t.val()) & self.acc_sign.val()).any() {
                self.acc_t.d.next = signed_cast(
                    (unsigned_cast(self.sum_t.val()) & self.acc_low.val()) | self.acc_high.val(),
                );
            }
        }
        // ---- the neuron's last step: three stages ----
        self.fin_valid.d.next = self.tok_valid.val() & self.tok_last.val() & !self.reset.val();
        self.fin_output.d.next = self.tok_output.val();
        self.fin_word.d.next = self.tok_word.val();
        self.fin_bit.d.next = self.tok_bit.val();
        self.fin_neuron.d.next = self.tok_neuron.val();
        self.fin_live.d.next = self.tok_live.val();
        // stochastic layer: the neuron unit takes the accumulators (its result comes with
        // `fire_*`, `NeuronUnit::latency` clocks later: the `hid_*` chains are one shorter)
        self.neuron.s.next = self.acc_s.q.val();
        self.neuron.t.next = self.acc_t.q.val();
        self.neuron.a.next = self.tok_a.val();
        self.neuron.b.next = self.tok_b.val();
        self.hid_pending.data_in.next = self.fin_valid.q.val() & !self.fin_output.q.val();
        self.hid_word.data_in.next = self.fin_word.q.val();
        self.hid_bit.data_in.next = self.fin_bit.q.val();
        for h in self._hid..self._hid_end {
            self.fire_pending.d.next = self.hid_pending.taps[h].val() & !self.reset.val();
            self.fire_word.d.next = self.hid_word.taps[h].val();
            self.fire_bit.d.next = self.hid_bit.taps[h].val();
        }
        // output layer: S of this pass, held until the row's next output neuron (the
        // aggregator reads the rows in turn and adds C_k)
        self.logit_pending.next = self.fin_valid.q.val() & self.fin_output.q.val();
        self.logit_valid_r.d.next =
            self.fin_valid.q.val() & self.fin_output.q.val() & !self.reset.val();
        self.logit_r.d.next = self.logit_r.q.val();
        self.logit_neuron_r.d.next = self.logit_neuron_r.q.val();
        self.logit_live_r.d.next = self.logit_live_r.q.val();
        if self.fin_valid.q.val() & self.fin_output.q.val() {
            self.logit_r.d.next = self.acc_s.q.val();
            self.logit_neuron_r.d.next = self.fin_neuron.q.val();
            self.logit_live_r.d.next = self.fin_live.q.val();
        }
        // With `deep` the engine copies every row's logit into a shift register in the clock
        // it appears, so nothing needs holding here: the registers load every clock (no
        // enable fanned out to every row's logit bits)
        if self.deep.val() {
            self.logit_r.d.next = self.acc_s.q.val();
            self.logit_neuron_r.d.next = self.fin_neuron.q.val();
            self.logit_live_r.d.next = self.fin_live.q.val();
        }
        self.logit_valid.next = self.logit_valid_r.q.val();
        self.logit.next = self.logit_r.q.val();
        self.logit_neuron.next = self.logit_neuron_r.q.val();
        self.logit_live.next = self.logit_live_r.q.val();
        // ---- activation buffer: image words or this row's neuron outputs ----
        self.act.read_address.next = self.act_read_address.val();
        self.act.write_enable.next = false;
        self.act.write_address.next = self.fire_word.q.val();
        self.act.write_word.next = false;
        self.act.write_bit.next = self.fire_bit.q.val();
        self.act.write_data.next = self.z32.val();
        if self.neuron.fire.val() {
            self.act.write_data.next = self.one32.val();
        }
        if self.fire_pending.q.val() {
            self.act.write_enable.next = true;
        }
        if self.image_write.val() {
            self.act.write_enable.next = true;
            self.act.write_address.next = self.image_address.val();
            self.act.write_word.next = true;
            self.act.write_data.next = self.image_data.val();
        }
    }
}
