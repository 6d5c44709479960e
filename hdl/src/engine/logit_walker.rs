//! The logit walker and aggregation: the output layer's logits, summed over the rows of a
//! group and then over the groups, into the logit memory (one word per class).
//!
//! All rows finish an output neuron in the same clock and hold their logits until the next
//! one (at least `rows` clocks later: an output neuron takes at least `rows` steps). Row 0's
//! logit is taken at once, the others one per clock by the walker. A live row's logit is
//! `S + C_k` (`C_k` is the same for every row: one adder here, none in the row ends).

use nsm_model::engine::config::EngineConfig;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::extend::SignExtend;
use crate::ram::{SyncRam, ADDR_BITS};

pub struct LogitWalker {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, bool>,
    /// The rows' logits `S` and live flags, and row 0's strobe, neuron and pending flag.
    pub row_logit: Vec<Signal<In, Signed<32>>>,
    pub row_live: Vec<Signal<In, bool>>,
    pub row_valid: Signal<In, bool>,
    pub row_neuron: Signal<In, Bits<ADDR_BITS>>,
    pub row_pending: Signal<In, bool>,
    /// `C_k` of the neuron the rows are finishing (the neuron memory's `B`).
    pub c_k: Signal<In, Signed<32>>,
    /// The current group is the input's first: its sums are stored, not added.
    pub first_group: Signal<In, bool>,
    /// The result stream's read of a class's logit (it wins over the walker's own read).
    pub read_request: Signal<In, bool>,
    pub read_address: Signal<In, Bits<ADDR_BITS>>,
    pub read_data: Signal<Out, Signed<64>>,
    logits: SyncRam<Signed<64>>,
    /// `C_k` of the output neuron the rows have just finished (the same for every row).
    logit_c: DFF<Signed<32>>,
    agg_cur: DFF<Signed<64>>,
    agg_raddr: DFF<Bits<ADDR_BITS>>,
    fin_pending: DFF<bool>,
    fin_total: DFF<Signed<64>>,
    fin_k: DFF<Bits<ADDR_BITS>>,
    fin_g0: DFF<bool>,
    walk_active: DFF<bool>,
    walk_r: DFF<Bits<9>>,
    walk_neuron: DFF<Bits<ADDR_BITS>>,
    /// The logits (and live flags) of rows 1.. as a shift register (`c_deep`; one unused
    /// stage otherwise), read at `walk_q[0]`.
    walk_q: Vec<DFF<Signed<32>>>,
    walk_live_q: Vec<DFF<bool>>,
    pick_valid: DFF<bool>,
    pick_first: DFF<bool>,
    pick_last: DFF<bool>,
    pick_neuron: DFF<Bits<ADDR_BITS>>,
    pick_s: DFF<Signed<32>>,
    pick_live: DFF<bool>,
    pick_c: DFF<Signed<32>>,
    /// The picked row's logit `S + C_k`, registered.
    term_valid: DFF<bool>,
    term_first: DFF<bool>,
    term_last: DFF<bool>,
    term_neuron: DFF<Bits<ADDR_BITS>>,
    term_logit: DFF<Signed<32>>,
    /// The walker stage the sum over the rows takes (`term_*`).
    sum_valid: Signal<Local, bool>,
    sum_first: Signal<Local, bool>,
    sum_last: Signal<Local, bool>,
    sum_neuron: Signal<Local, Bits<ADDR_BITS>>,
    agg_valid: Signal<Local, bool>,
    walk_s: Signal<Local, Signed<32>>,
    walk_live: Signal<Local, bool>,
    walk_sum: Signal<Local, Bits<32>>,
    agg_logit32: Signal<Local, Signed<32>>,
    agg_logit: Signal<Local, Signed<64>>,
    logit_ext: SignExtend,
    agg_neuron: Signal<Local, Bits<ADDR_BITS>>,
    agg_first: Signal<Local, bool>,
    agg_last: Signal<Local, bool>,
    agg_sum: Signal<Local, Signed<64>>,
    logit_low: Constant<Bits<32>>,
    logit_sign: Constant<Bits<32>>,
    logit_high: Constant<Bits<32>>,
    c_deep: Constant<bool>,
    c_one_row: Constant<bool>,
    row_index: Vec<Constant<Bits<9>>>,
    c_rows_m1: Constant<Bits<9>>,
    c_one9: Constant<Bits<9>>,
    z20: Constant<Bits<ADDR_BITS>>,
    zs32: Constant<Signed<32>>,
    zs64: Constant<Signed<64>>,
    /// The row `walk_q[0]` is loaded from (1; 0 without `c_deep`), and its loop bound.
    _walk_off: usize,
    _walk_off_end: usize,
}

crate::block_inputs_first!(LogitWalker {
    inputs: [
        clock,
        reset,
        row_logit,
        row_live,
        row_valid,
        row_neuron,
        row_pending,
        c_k,
        first_group,
        read_request,
        read_address
    ],
    fields: [
        clock,
        reset,
        row_logit,
        row_live,
        row_valid,
        row_neuron,
        row_pending,
        c_k,
        first_group,
        read_request,
        read_address,
        read_data,
        logits,
        logit_c,
        agg_cur,
        agg_raddr,
        fin_pending,
        fin_total,
        fin_k,
        fin_g0,
        walk_active,
        walk_r,
        walk_neuron,
        walk_q,
        walk_live_q,
        pick_valid,
        pick_first,
        pick_last,
        pick_neuron,
        pick_s,
        pick_live,
        pick_c,
        term_valid,
        term_first,
        term_last,
        term_neuron,
        term_logit,
        sum_valid,
        sum_first,
        sum_last,
        sum_neuron,
        agg_valid,
        walk_s,
        walk_live,
        walk_sum,
        agg_logit32,
        agg_logit,
        logit_ext,
        agg_neuron,
        agg_first,
        agg_last,
        agg_sum,
        logit_low,
        logit_sign,
        logit_high,
        c_deep,
        c_one_row,
        row_index,
        c_rows_m1,
        c_one9,
        z20,
        zs32,
        zs64
    ],
});

impl LogitWalker {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout) -> Self {
        let rows = lay.rows;
        let deep = cfg.hard_block_registers;
        let widths = cfg.widths();
        let (logit_low, logit_sign, logit_high) = crate::fit_masks(widths.logit_bits);
        let queue = if deep { rows - 1 } else { 1 };
        Self {
            clock: Default::default(),
            reset: Default::default(),
            row_logit: (0..rows).map(|_| Default::default()).collect(),
            row_live: (0..rows).map(|_| Default::default()).collect(),
            row_valid: Default::default(),
            row_neuron: Default::default(),
            row_pending: Default::default(),
            c_k: Default::default(),
            first_group: Default::default(),
            read_request: Default::default(),
            read_address: Default::default(),
            read_data: Default::default(),
            logits: SyncRam::new(
                lay.logit_words,
                true,
                widths.logit_sum_bits.min(64) as usize,
            )
            .with_output_register(deep),
            logit_c: Default::default(),
            agg_cur: Default::default(),
            agg_raddr: Default::default(),
            fin_pending: Default::default(),
            fin_total: Default::default(),
            fin_k: Default::default(),
            fin_g0: Default::default(),
            walk_active: Default::default(),
            walk_r: Default::default(),
            walk_neuron: Default::default(),
            walk_q: (0..queue).map(|_| Default::default()).collect(),
            walk_live_q: (0..queue).map(|_| Default::default()).collect(),
            pick_valid: Default::default(),
            pick_first: Default::default(),
            pick_last: Default::default(),
            pick_neuron: Default::default(),
            pick_s: Default::default(),
            pick_live: Default::default(),
            pick_c: Default::default(),
            term_valid: Default::default(),
            term_first: Default::default(),
            term_last: Default::default(),
            term_neuron: Default::default(),
            term_logit: Default::default(),
            sum_valid: Default::default(),
            sum_first: Default::default(),
            sum_last: Default::default(),
            sum_neuron: Default::default(),
            agg_valid: Default::default(),
            walk_s: Default::default(),
            walk_live: Default::default(),
            walk_sum: Default::default(),
            agg_logit32: Default::default(),
            agg_logit: Default::default(),
            logit_ext: Default::default(),
            agg_neuron: Default::default(),
            agg_first: Default::default(),
            agg_last: Default::default(),
            agg_sum: Default::default(),
            logit_low,
            logit_sign,
            logit_high,
            c_deep: Constant::new(deep),
            c_one_row: Constant::new(rows == 1),
            row_index: (0..rows)
                .map(|r| Constant::new(Bits::<9>::from(r as u64)))
                .collect(),
            c_rows_m1: Constant::new(Bits::<9>::from((rows - 1) as u64)),
            c_one9: Constant::new(Bits::<9>::from(1u64)),
            z20: Constant::new(Bits::<ADDR_BITS>::from(0u64)),
            zs32: Constant::new(Signed::<32>::from(0i64)),
            zs64: Constant::new(Signed::<64>::from(0i64)),
            _walk_off: usize::from(deep),
            _walk_off_end: usize::from(deep) + 1,
        }
    }
}

impl Logic for LogitWalker {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            logit_c,
            agg_cur,
            agg_raddr,
            fin_pending,
            fin_total,
            fin_k,
            fin_g0,
            walk_active,
            walk_r,
            walk_neuron,
            pick_valid,
            pick_first,
            pick_last,
            pick_neuron,
            pick_s,
            pick_live,
            pick_c,
            term_valid,
            term_first,
            term_last,
            term_neuron,
            term_logit
        );
        self.logits.clock.next = self.clock.val();
        self.agg_valid.next = false;
        self.walk_s.next = self.zs32.val();
        self.walk_live.next = false;
        self.agg_neuron.next = self.z20.val();
        self.agg_first.next = false;
        self.agg_last.next = false;
        // With `c_deep` the logits of rows 1.. are loaded into a shift register when they
        // appear and shifted towards `walk_q[0]`, which the walker reads (no multiplexer over
        // the rows)
        for r in 0..self.walk_q.len() {
            self.walk_q[r].clock.next = self.clock.val();
            self.walk_live_q[r].clock.next = self.clock.val();
            self.walk_q[r].d.next = self.zs32.val();
            self.walk_live_q[r].d.next = false;
        }
        for r in 1..self.walk_q.len() {
            self.walk_q[r - 1].d.next = self.walk_q[r].q.val();
            self.walk_live_q[r - 1].d.next = self.walk_live_q[r].q.val();
        }
        if self.row_valid.val() {
            for o in self._walk_off..self._walk_off_end {
                for r in 0..self.walk_q.len() {
                    self.walk_q[r].d.next = self.row_logit[r + o].val();
                    self.walk_live_q[r].d.next = self.row_live[r + o].val();
                }
            }
        }
        if self.walk_active.q.val() {
            self.agg_valid.next = true;
            for r in 0..self.row_logit.len() {
                if self.walk_r.q.val() == self.row_index[r].val() {
                    self.walk_s.next = self.row_logit[r].val();
                    self.walk_live.next = self.row_live[r].val();
                }
            }
            if self.c_deep.val() {
                self.walk_s.next = self.walk_q[0].q.val();
                self.walk_live.next = self.walk_live_q[0].q.val();
            }
            self.agg_neuron.next = self.walk_neuron.q.val();
            self.agg_last.next = self.walk_r.q.val() == self.c_rows_m1.val();
            self.walk_r.d.next = self.walk_r.q.val() + self.c_one9.val();
            if self.walk_r.q.val() == self.c_rows_m1.val() {
                self.walk_active.d.next = false;
            }
        }
        if self.row_valid.val() {
            self.agg_valid.next = true;
            self.walk_s.next = self.row_logit[0].val();
            self.walk_live.next = self.row_live[0].val();
            self.agg_neuron.next = self.row_neuron.val();
            self.agg_first.next = true;
            self.agg_last.next = self.c_one_row.val();
            self.walk_active.d.next = !self.c_one_row.val();
            self.walk_r.d.next = self.c_one9.val();
            self.walk_neuron.d.next = self.row_neuron.val();
        }
        // the walker's pick, registered (the row multiplexer and the adders below get a clock
        // period each)
        self.pick_valid.d.next = self.agg_valid.val() & !self.reset.val();
        self.pick_first.d.next = self.agg_first.val();
        self.pick_last.d.next = self.agg_last.val();
        self.pick_neuron.d.next = self.agg_neuron.val();
        self.pick_s.d.next = self.walk_s.val();
        self.pick_live.d.next = self.walk_live.val();
        self.pick_c.d.next = self.logit_c.q.val();
        // a live row's logit is S + C_k, cut to the logit width
        self.walk_sum.next = unsigned_cast(self.pick_s.q.val() + self.pick_c.q.val());
        self.agg_logit32.next = self.zs32.val();
        if self.pick_live.q.val() {
            self.agg_logit32.next = signed_cast(self.walk_sum.val() & self.logit_low.val());
            if (self.walk_sum.val() & self.logit_sign.val()).any() {
                self.agg_logit32.next = signed_cast(
                    (self.walk_sum.val() & self.logit_low.val()) | self.logit_high.val(),
                );
            }
        }
        if self.row_pending.val() {
            self.logit_c.d.next = self.c_k.val();
        }
        // the logit is registered once more before the sum over the rows
        self.term_valid.d.next = self.pick_valid.q.val() & !self.reset.val();
        self.term_first.d.next = self.pick_first.q.val();
        self.term_last.d.next = self.pick_last.q.val();
        self.term_neuron.d.next = self.pick_neuron.q.val();
        self.term_logit.d.next = self.agg_logit32.val();
        self.sum_valid.next = self.term_valid.q.val();
        self.sum_first.next = self.term_first.q.val();
        self.sum_last.next = self.term_last.q.val();
        self.sum_neuron.next = self.term_neuron.q.val();
        self.logit_ext.x.next = self.term_logit.q.val();
        self.agg_logit.next = self.logit_ext.y.val();
        // `agg_cur` is the sum of the neuron's rows so far: it is cleared the clock before a
        // neuron's first row arrives (`pick_first` is `sum_first` a clock early), and the sum is
        // formed every clock (only `agg_cur`'s enable and `fin_pending` look at `sum_valid`).
        // The loop `agg_cur -> adder -> agg_cur` is then a carry chain between flip-flops whose
        // clear and enable are their own pins: no LUT on it
        self.agg_sum.next = self.agg_cur.q.val() + self.agg_logit.val();
        self.logits.read_address.next = self.agg_raddr.q.val();
        if self.sum_valid.val() {
            self.agg_cur.d.next = self.agg_sum.val();
        }
        if self.pick_first.q.val() {
            self.agg_cur.d.next = self.zs64.val();
        }
        // nested, not `sum_valid & sum_first`: the same logic, but nextpnr placed the two
        // netlists differently in the measured 16x16 ECP5 builds (docs/hardware.md, "Clock
        // speed")
        #[allow(clippy::collapsible_if)]
        if self.sum_valid.val() {
            if self.sum_first.val() {
                self.agg_raddr.d.next = self.sum_neuron.val();
                self.logits.read_address.next = self.sum_neuron.val();
            }
        }
        self.fin_pending.d.next = self.sum_valid.val() & self.sum_last.val();
        self.fin_total.d.next = self.agg_sum.val();
        self.fin_k.d.next = self.sum_neuron.val();
        self.fin_g0.d.next = self.first_group.val();
        self.logits.write_enable.next = self.fin_pending.q.val();
        self.logits.write_address.next = self.fin_k.q.val();
        self.logits.write_data.next = self.fin_total.q.val();
        if self.fin_pending.q.val() & !self.fin_g0.q.val() {
            self.logits.write_data.next = self.logits.read_data.val() + self.fin_total.q.val();
        }
        // the result stream's reads
        if self.read_request.val() {
            self.logits.read_address.next = self.read_address.val();
        }
        self.read_data.next = self.logits.read_data.val();
        if self.reset.val() {
            self.fin_pending.d.next = false;
            self.walk_active.d.next = false;
        }
    }
}
