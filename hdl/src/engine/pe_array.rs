//! The PE array with its chains and row ends. `rows x cols` PEs, systolic along the rows
//! (activation word, `S` and `T` move one PE per clock) with each column's weight broadcast
//! down the column; the chains delay the step's weight address (one clock per column), its
//! valid bit, its control token and its neuron-memory address to where each stage needs them.
//!
//! rust-hdl's Verilog generator resolves only one index per name, so the 2-D array is one
//! flat `Vec<Pe>` indexed `r * nc + c`, with a one-iteration loop binding `nc = cols`. The
//! PE's arithmetic is the [`crate::pe::Pe`] block's: a PE of another arithmetic (several
//! lanes, 1-bit weights) takes the same chain ports.

use nsm_model::engine::config::{Accumulator, EngineConfig};
use nsm_model::engine::schedule::pe_seeds;
use rust_hdl::prelude::*;

use super::EngineLayout;
use crate::chain::ShiftChain;
use crate::pe::Pe;
use crate::ram::ADDR_BITS;
use crate::row::{RowEnd, RowSpec};
use crate::{Cells, HdlError};

pub struct PeArray {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, bool>,
    // ---- the step issued (from the layer walk) ----
    pub issue: Signal<In, bool>,
    pub act_address: Signal<In, Bits<ADDR_BITS>>,
    pub w_address: Signal<In, Bits<ADDR_BITS>>,
    pub n_address: Signal<In, Bits<ADDR_BITS>>,
    pub tok_flags: Signal<In, Bits<4>>,
    pub tok_word: Signal<In, Bits<ADDR_BITS>>,
    pub tok_bit: Signal<In, Bits<5>>,
    pub tok_neuron: Signal<In, Bits<ADDR_BITS>>,
    pub tok_live: Signal<In, Bits<9>>,
    /// Real inputs of the step (the 1-bit PEs mask the slots above).
    pub live_inputs: Signal<In, Bits<7>>,
    // ---- memories ----
    /// Column `c`'s weight address, `c` clocks after column 0's.
    pub w_read_address: Vec<Signal<Out, Bits<ADDR_BITS>>>,
    pub w_data: Vec<Signal<In, Signed<32>>>,
    /// The neuron-memory address, timed so that `a`, `b` hold the finishing neuron's values
    /// when its sums reach the row ends.
    pub n_read_address: Signal<Out, Bits<ADDR_BITS>>,
    pub a: Signal<In, Signed<32>>,
    pub b: Signal<In, Signed<32>>,
    // ---- input words into region 0 ----
    pub image_write: Signal<In, bool>,
    pub image_address: Signal<In, Bits<ADDR_BITS>>,
    pub image_data: Signal<In, Bits<32>>,
    // ---- the rows' output-layer results ----
    pub logit: Vec<Signal<Out, Signed<32>>>,
    pub logit_live: Vec<Signal<Out, bool>>,
    /// Row 0's strobe, neuron and pending flag, which stand for every row (the rows finish an
    /// output neuron together).
    pub logit_valid: Signal<Out, bool>,
    pub logit_neuron: Signal<Out, Bits<ADDR_BITS>>,
    pub logit_pending: Signal<Out, bool>,
    pes: Vec<Pe>,
    row_ends: Vec<RowEnd>,
    /// The weight address, delayed one clock per column: column `c` reads its weight `c`
    /// clocks after column 0, when the step's partial sums reach it (cheaper than delaying
    /// the weights).
    w_chain: ShiftChain<Bits<ADDR_BITS>>,
    valid_chain: ShiftChain<bool>,
    /// The step's live inputs, beside the valid bit.
    live_chain: ShiftChain<Bits<7>>,
    tok_flags_chain: ShiftChain<Bits<4>>,
    tok_word_chain: ShiftChain<Bits<ADDR_BITS>>,
    tok_bit_chain: ShiftChain<Bits<5>>,
    tok_neuron_chain: ShiftChain<Bits<ADDR_BITS>>,
    tok_live_chain: ShiftChain<Bits<9>>,
    /// The neuron-memory address of each step, delayed so that `A_i`, `B_i` are read when the
    /// step's sums reach the row ends (cheaper than carrying the values).
    n_chain: ShiftChain<Bits<ADDR_BITS>>,
    row_index: Vec<Constant<Bits<9>>>,
    zs32: Constant<Signed<32>>,
    _rows: usize,
    _cols: usize,
    /// `cols + 1`: the bound of the one-iteration loop that binds `nc = cols`.
    _cols_end: usize,
    /// The extra clocks from a step's addresses to the PEs' adders (0 or 2), and the bound of
    /// the loop that binds it.
    _d: usize,
    _d_end: usize,
    /// The PEs' operand-register clock (0 or 1), and the bound of the loop that binds it.
    _dp: usize,
    _dp_end: usize,
}

crate::block_inputs_first!(PeArray {
    inputs: [
        clock,
        reset,
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
        w_data,
        a,
        b,
        image_write,
        image_address,
        image_data
    ],
    fields: [
        clock,
        reset,
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
        w_read_address,
        w_data,
        n_read_address,
        a,
        b,
        image_write,
        image_address,
        image_data,
        logit,
        logit_live,
        logit_valid,
        logit_neuron,
        logit_pending,
        pes,
        row_ends,
        w_chain,
        valid_chain,
        live_chain,
        tok_flags_chain,
        tok_word_chain,
        tok_bit_chain,
        tok_neuron_chain,
        tok_live_chain,
        n_chain,
        row_index,
        zs32
    ],
});

impl PeArray {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout, cells: Cells) -> Result<Self, HdlError> {
        let spec = cfg.lfsr_spec()?;
        let seeds = pe_seeds(&spec, cfg.pes());
        let (rows, cols) = (lay.rows, lay.cols);
        let k = cfg.blank_out.threshold_bits;
        let widths = cfg.widths();
        let row_spec = RowSpec {
            frac_bits: cfg.a_frac_bits,
            a_bits: cfg.a_bits,
            acc_bits: widths.acc_bits,
            bias_bits: cfg.bias_bits,
            u_bits: widths.u_bits,
            saturate_bits: match cfg.accumulator {
                Accumulator::Exact => None,
                Accumulator::Saturate { bits } => Some(bits),
            },
            act_words: 3 * lay.region_words,
            step_inputs: lay.step_inputs,
            hard_block_registers: cfg.hard_block_registers,
        };
        // `hard_block_registers`: every memory read takes a clock more (`dm`), and every PE
        // registers its operands (`dp`), so a step reaches the adders `d = dm + dp` clocks
        // later than in the plain pipeline
        let dm = usize::from(cfg.hard_block_registers);
        let dp = dm;
        let d = dm + dp;
        Ok(Self {
            clock: Default::default(),
            reset: Default::default(),
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
            w_read_address: (0..cols).map(|_| Default::default()).collect(),
            w_data: (0..cols).map(|_| Default::default()).collect(),
            n_read_address: Default::default(),
            a: Default::default(),
            b: Default::default(),
            image_write: Default::default(),
            image_address: Default::default(),
            image_data: Default::default(),
            logit: (0..rows).map(|_| Default::default()).collect(),
            logit_live: (0..rows).map(|_| Default::default()).collect(),
            logit_valid: Default::default(),
            logit_neuron: Default::default(),
            logit_pending: Default::default(),
            pes: seeds
                .iter()
                .enumerate()
                .map(|(q, &seed)| {
                    Pe::new(
                        &spec,
                        seed,
                        k,
                        cfg.blank_out.threshold,
                        q % cols,
                        widths.step_sum_bits,
                    )
                    .with_lanes(cfg.lanes, cfg.weight_bits)
                    .with_operand_registers(dp == 1)
                    .with_cells(cells)
                })
                .collect(),
            row_ends: (0..rows).map(|_| RowEnd::new(&row_spec)).collect(),
            w_chain: ShiftChain::new(cols - 1),
            valid_chain: ShiftChain::new(cols + d),
            live_chain: ShiftChain::new(cols + d),
            tok_flags_chain: ShiftChain::new(cols + 1 + d),
            tok_word_chain: ShiftChain::new(cols + 1 + d),
            tok_bit_chain: ShiftChain::new(cols + 1 + d),
            tok_neuron_chain: ShiftChain::new(cols + 1 + d),
            tok_live_chain: ShiftChain::new(cols + 1 + d),
            n_chain: ShiftChain::new(cols + dp),
            row_index: (0..rows)
                .map(|r| Constant::new(Bits::<9>::from(r as u64)))
                .collect(),
            zs32: Constant::new(Signed::<32>::from(0i64)),
            _rows: rows,
            _cols: cols,
            _cols_end: cols + 1,
            _d: d,
            _d_end: d + 1,
            _dp: dp,
            _dp_end: dp + 1,
        })
    }
}

impl Logic for PeArray {
    #[hdl_gen]
    fn update(&mut self) {
        self.valid_chain.clock.next = self.clock.val();
        self.live_chain.clock.next = self.clock.val();
        self.live_chain.reset.next = self.reset.val();
        self.live_chain.data_in.next = self.live_inputs.val();
        self.tok_flags_chain.clock.next = self.clock.val();
        self.tok_word_chain.clock.next = self.clock.val();
        self.tok_bit_chain.clock.next = self.clock.val();
        self.tok_neuron_chain.clock.next = self.clock.val();
        self.tok_live_chain.clock.next = self.clock.val();
        self.n_chain.clock.next = self.clock.val();
        self.w_chain.clock.next = self.clock.val();
        self.w_chain.reset.next = self.reset.val();
        self.valid_chain.reset.next = self.reset.val();
        self.tok_flags_chain.reset.next = self.reset.val();
        self.tok_word_chain.reset.next = self.reset.val();
        self.tok_bit_chain.reset.next = self.reset.val();
        self.tok_neuron_chain.reset.next = self.reset.val();
        self.tok_live_chain.reset.next = self.reset.val();
        self.n_chain.reset.next = self.reset.val();
        self.w_chain.data_in.next = self.w_address.val();
        self.valid_chain.data_in.next = self.issue.val();
        self.tok_flags_chain.data_in.next = self.tok_flags.val();
        self.tok_word_chain.data_in.next = self.tok_word.val();
        self.tok_bit_chain.data_in.next = self.tok_bit.val();
        self.tok_neuron_chain.data_in.next = self.tok_neuron.val();
        self.tok_live_chain.data_in.next = self.tok_live.val();
        self.n_chain.data_in.next = self.n_address.val();
        for c in 0..self.w_read_address.len() {
            self.w_read_address[c].next = self.w_chain.taps[c].val();
        }
        // A step issued at clock I reads the activation word and column 0's weight at I, and
        // column c's weight at I + c; column c adds them at I + c + 1 + d.
        for d in self._d..self._d_end {
            for dp in self._dp..self._dp_end {
                for nc in self._cols..self._cols_end {
                    for r in 0..self._rows {
                        for c in 0..self._cols {
                            self.pes[r * nc + c].clock.next = self.clock.val();
                            self.pes[r * nc + c].reset.next = self.reset.val();
                        }
                        for c in 0..self._cols {
                            // a clock ahead of the step with operand registers (the
                            // gate is drawn early and delayed beside the adders)
                            self.pes[r * nc + c].valid_in.next =
                                self.valid_chain.taps[c + 1 + d - dp].val();
                            self.pes[r * nc + c].live_in.next =
                                self.live_chain.taps[c + 1 + d - dp].val();
                            self.pes[r * nc + c].w_in.next = self.w_data[c].val();
                        }
                        self.pes[r * nc].z_in.next = self.row_ends[r].act_data.val();
                        self.pes[r * nc].s_in.next = self.zs32.val();
                        self.pes[r * nc].t_in.next = self.zs32.val();
                        for c in 1..self._cols {
                            self.pes[r * nc + c].z_in.next = self.pes[r * nc + c - 1].z_out.val();
                            self.pes[r * nc + c].s_in.next = self.pes[r * nc + c - 1].s_out.val();
                            self.pes[r * nc + c].t_in.next = self.pes[r * nc + c - 1].t_out.val();
                        }
                        self.row_ends[r].step_s.next = self.pes[r * nc + nc - 1].s_out.val();
                        self.row_ends[r].step_t.next = self.pes[r * nc + nc - 1].t_out.val();
                    }
                    // read a clock (1 + d) before the step's token reaches the row ends: A, B are
                    // registered in the neuron memory when the accumulators hold the finished
                    // neuron's sums
                    self.n_read_address.next = self.n_chain.taps[nc + dp].val();
                    // ---- row ends ----
                    for r in 0..self._rows {
                        self.row_ends[r].clock.next = self.clock.val();
                        self.row_ends[r].reset.next = self.reset.val();
                        self.row_ends[r].act_read_address.next = self.act_address.val();
                        self.row_ends[r].tok_valid.next =
                            self.tok_flags_chain.taps[nc + 1 + d].val().get_bit(0);
                        self.row_ends[r].tok_first.next =
                            self.tok_flags_chain.taps[nc + 1 + d].val().get_bit(1);
                        self.row_ends[r].tok_last.next =
                            self.tok_flags_chain.taps[nc + 1 + d].val().get_bit(2);
                        self.row_ends[r].tok_output.next =
                            self.tok_flags_chain.taps[nc + 1 + d].val().get_bit(3);
                        self.row_ends[r].tok_bit.next = self.tok_bit_chain.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_word.next = self.tok_word_chain.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_neuron.next =
                            self.tok_neuron_chain.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_live.next =
                            self.tok_live_chain.taps[nc + 1 + d].val() > self.row_index[r].val();
                        self.row_ends[r].tok_a.next = self.a.val();
                        self.row_ends[r].tok_b.next = self.b.val();
                        self.row_ends[r].image_write.next = self.image_write.val();
                        self.row_ends[r].image_address.next = self.image_address.val();
                        self.row_ends[r].image_data.next = self.image_data.val();
                    }
                }
            }
        }
        for r in 0..self.row_ends.len() {
            self.logit[r].next = self.row_ends[r].logit.val();
            self.logit_live[r].next = self.row_ends[r].logit_live.val();
        }
        self.logit_valid.next = self.row_ends[0].logit_valid.val();
        self.logit_neuron.next = self.row_ends[0].logit_neuron.val();
        self.logit_pending.next = self.row_ends[0].logit_pending.val();
    }
}
