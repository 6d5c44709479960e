//! The NSM engine: the whole array with its memories, sequencer and host interface. Ports and
//! protocol: `docs/hardware.md`.

use nsm_model::engine::config::{Accumulator, EngineConfig};
use nsm_model::engine::schedule::pe_seeds;
use rust_hdl::prelude::*;

use crate::chain::ShiftChain;
use crate::extend::SignExtend;
use crate::pe::Pe;
use crate::ram::{SyncRam, ADDR_BITS};
use crate::row::{RowEnd, RowSpec};
use crate::{check_supported, Cells, HdlError};

/// Sequencer states.
pub const IDLE: u64 = 0;
pub const START: u64 = 1;
pub const RUN: u64 = 2;
pub const DRAIN: u64 = 3;
pub const OUTPUT: u64 = 4;
pub const START2: u64 = 5;
/// The extra clock of START with `hard_block_registers` (the registered table lookup).
pub const START3: u64 = 6;

/// Host configuration-port regions (`cfg_address[31:28]`).
pub const REGION_WEIGHTS: u64 = 0;
pub const REGION_NEURONS: u64 = 1;
pub const REGION_LAYERS: u64 = 2;
pub const REGION_CONTROL: u64 = 3;

/// The value of the sequencer's drain counter that ends a layer: the idle cycles between a
/// layer's last step and the next layer's start cover the array (`cols`), the row ends'
/// pipelines and the logit walker (`rows`), with room to spare (`docs/hardware.md`, "Timing").
pub fn drain_count(rows: usize, cols: usize, hard_block_registers: bool) -> usize {
    // `hard_block_registers` adds two clocks before the array's adders, two in the neuron
    // unit (one in the logit walker) and one in the memory writes after them: five, and
    // three to spare
    cols + rows + 8 + 8 * usize::from(hard_block_registers)
}

/// Cycles from one layer's drain to its first step: START, then START2 while the layer's
/// table entry is registered (and START3 between them with `hard_block_registers`, while the
/// table lookup is).
pub fn start_cycles(hard_block_registers: bool) -> usize {
    2 + usize::from(hard_block_registers)
}

/// The sizes an engine is built with, all derived from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLayout {
    pub rows: usize,
    pub cols: usize,
    pub groups: usize,
    pub last_live: usize,
    /// Words of one activation region (`ceil(max(max_fan_in, max_neurons) / cols)`).
    pub region_words: usize,
    pub weight_words: usize,
    pub neuron_words: usize,
    pub logit_words: usize,
    pub max_layers: usize,
    /// The drain counter's last value ([`drain_count`]).
    pub drain: usize,
}

impl EngineLayout {
    pub fn new(cfg: &EngineConfig) -> Result<Self, HdlError> {
        check_supported(cfg)?;
        let (rows, cols) = (cfg.rows, cfg.cols);
        let groups = cfg.mc_samples.div_ceil(rows);
        Ok(Self {
            rows,
            cols,
            groups,
            last_live: cfg.mc_samples - (groups - 1) * rows,
            region_words: cfg.max_fan_in.max(cfg.max_neurons).div_ceil(cols),
            weight_words: cfg.weight_memory_words,
            neuron_words: cfg.neuron_memory_words,
            logit_words: cfg.max_neurons,
            max_layers: cfg.max_layers,
            drain: drain_count(rows, cols, cfg.hard_block_registers),
        })
    }
}

#[derive(LogicBlock)]
pub struct NsmEngine {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: sequencer to idle, LFSRs to their seeds, pipelines cleared.
    /// Memories and the layer table keep their contents.
    pub reset: Signal<In, bool>,
    // ---- memory-mapped configuration port (write only) ----
    pub cfg_write: Signal<In, bool>,
    pub cfg_address: Signal<In, Bits<32>>,
    pub cfg_data: Signal<In, Bits<32>>,
    // ---- input stream: one word of `cols` binarized inputs per beat ----
    pub in_valid: Signal<In, bool>,
    pub in_ready: Signal<Out, bool>,
    pub in_data: Signal<In, Bits<32>>,
    pub in_last: Signal<In, bool>,
    // ---- result stream: one beat per class ----
    pub out_valid: Signal<Out, bool>,
    pub out_ready: Signal<In, bool>,
    pub out_logit: Signal<Out, Signed<64>>,
    pub out_index: Signal<Out, Bits<ADDR_BITS>>,
    pub out_last: Signal<Out, bool>,
    /// The winning class (valid with `out_last`).
    pub out_class: Signal<Out, Bits<ADDR_BITS>>,
    pub busy: Signal<Out, bool>,
    /// An array step is issued this cycle (for utilization counts).
    pub step_issued: Signal<Out, bool>,
    // ---- array ----
    pes: Vec<Pe>,
    row_ends: Vec<RowEnd>,
    weights: Vec<SyncRam<Signed<32>>>,
    a_ram: SyncRam<Signed<32>>,
    b_ram: SyncRam<Signed<32>>,
    logits: SyncRam<Signed<64>>,
    /// The weight address, delayed one clock per column: column `c` reads its weight `c`
    /// clocks after column 0, when the step's partial sums reach it (cheaper than delaying
    /// the weights).
    w_chain: ShiftChain<Bits<ADDR_BITS>>,
    /// `C_k` of the output neuron the rows have just finished (the same for every row).
    logit_c: DFF<Signed<32>>,
    valid_chain: ShiftChain<bool>,
    /// The control token, one chain per field: flags (bit 0 valid, 1 first, 2 last, 3 output),
    /// the neuron's activation word and bit, the neuron, and the group's live rows.
    tok_flags: ShiftChain<Bits<4>>,
    tok_word: ShiftChain<Bits<ADDR_BITS>>,
    tok_bit: ShiftChain<Bits<5>>,
    tok_neuron: ShiftChain<Bits<ADDR_BITS>>,
    tok_live: ShiftChain<Bits<9>>,
    /// The neuron-memory address of each step, delayed so that `A_i`, `B_i` are read when the
    /// step's sums reach the row ends (cheaper than carrying the values).
    n_chain: ShiftChain<Bits<ADDR_BITS>>,
    // ---- layer table ----
    tab_steps: Vec<DFF<Bits<ADDR_BITS>>>,
    /// The layer has fewer steps than the array has rows (set when its steps are written).
    tab_short: Vec<DFF<bool>>,
    tab_n_out: Vec<DFF<Bits<ADDR_BITS>>>,
    tab_w_base: Vec<DFF<Bits<ADDR_BITS>>>,
    tab_n_base: Vec<DFF<Bits<ADDR_BITS>>>,
    n_layers: DFF<Bits<8>>,
    // ---- sequencer ----
    state: DFF<Bits<3>>,
    g: DFF<Bits<16>>,
    l: DFF<Bits<8>>,
    i: DFF<Bits<ADDR_BITS>>,
    s: DFF<Bits<ADDR_BITS>>,
    i_word: DFF<Bits<ADDR_BITS>>,
    i_bit: DFF<Bits<5>>,
    w_addr: DFF<Bits<ADDR_BITS>>,
    n_addr: DFF<Bits<ADDR_BITS>>,
    drain_cnt: DFF<Bits<16>>,
    /// `s` is below the layer's step count: the step is issued (not an idle step of an
    /// output layer shorter than the array's rows).
    in_steps: DFF<bool>,
    in_cnt: DFF<Bits<ADDR_BITS>>,
    /// An input word's write to every row's activation buffer, registered (`c_deep`).
    img_we: DFF<bool>,
    img_addr: DFF<Bits<ADDR_BITS>>,
    img_data: DFF<Bits<32>>,
    // ---- logit aggregation ----
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
    // ---- result stream ----
    out_k: DFF<Bits<ADDR_BITS>>,
    fetch: DFF<bool>,
    /// The second clock of a logit read through the memory's output register.
    fetch2: DFF<bool>,
    /// The beat in `beat_logit` is judged against the best so far.
    judge: DFF<bool>,
    /// Its verdict is in `beat_better`.
    judged: DFF<bool>,
    /// `hard_block_registers`: every memory read takes two clocks.
    c_deep: Constant<bool>,
    fetched: Signal<Local, bool>,
    beat_valid: DFF<bool>,
    beat_logit: DFF<Signed<64>>,
    beat_k: DFF<Bits<ADDR_BITS>>,
    best_val: DFF<Signed<64>>,
    best_k: DFF<Bits<ADDR_BITS>>,
    beat_last: DFF<bool>,
    beat_better: DFF<bool>,
    beat_class: DFF<Bits<ADDR_BITS>>,
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
    c_two20: Constant<Bits<ADDR_BITS>>,
    /// `A_i`, `B_i` of the neuron the rows finish, read a clock early and registered once
    /// for all rows (the block RAM's output is slow; the multipliers take them from here).
    a_hold: DFF<Signed<32>>,
    b_hold: DFF<Signed<32>>,
    lay_w_base: DFF<Bits<ADDR_BITS>>,
    lay_n_base: DFF<Bits<ADDR_BITS>>,
    lay_output: DFF<bool>,
    lay_in_base: DFF<Bits<ADDR_BITS>>,
    lay_out_base: DFF<Bits<ADDR_BITS>>,
    lay_live: DFF<Bits<9>>,
    /// The layer table's entry for `l`, registered (used with `c_deep`).
    sel_steps: DFF<Bits<ADDR_BITS>>,
    sel_n_out: DFF<Bits<ADDR_BITS>>,
    sel_w_base: DFF<Bits<ADDR_BITS>>,
    sel_n_base: DFF<Bits<ADDR_BITS>>,
    sel_output: DFF<bool>,
    sel_short: DFF<bool>,
    // ---- combinational helpers ----
    look_steps: Signal<Local, Bits<ADDR_BITS>>,
    look_n_out: Signal<Local, Bits<ADDR_BITS>>,
    look_w_base: Signal<Local, Bits<ADDR_BITS>>,
    look_n_base: Signal<Local, Bits<ADDR_BITS>>,
    look_output: Signal<Local, bool>,
    /// The layer has fewer steps than the array has rows.
    look_short: Signal<Local, bool>,
    cur_short: Signal<Local, bool>,
    cur_steps: Signal<Local, Bits<ADDR_BITS>>,
    /// A layer table `steps` field being written, cut to its width.
    cfg_steps: Signal<Local, Bits<ADDR_BITS>>,
    cur_n_out: Signal<Local, Bits<ADDR_BITS>>,
    cur_w_base: Signal<Local, Bits<ADDR_BITS>>,
    cur_n_base: Signal<Local, Bits<ADDR_BITS>>,
    is_output: Signal<Local, bool>,
    steps_eff: Signal<Local, Bits<ADDR_BITS>>,
    in_base: Signal<Local, Bits<ADDR_BITS>>,
    out_base: Signal<Local, Bits<ADDR_BITS>>,
    live_count: Signal<Local, Bits<9>>,
    issue: Signal<Local, bool>,
    f_valid: Signal<Local, Bits<4>>,
    f_first: Signal<Local, Bits<4>>,
    f_last: Signal<Local, Bits<4>>,
    f_output: Signal<Local, Bits<4>>,
    agg_valid: Signal<Local, bool>,
    walk_s: Signal<Local, Signed<32>>,
    walk_live: Signal<Local, bool>,
    walk_sum: Signal<Local, Bits<32>>,
    agg_logit32: Signal<Local, Signed<32>>,
    logit_low: Constant<Bits<32>>,
    logit_sign: Constant<Bits<32>>,
    logit_high: Constant<Bits<32>>,
    agg_logit: Signal<Local, Signed<64>>,
    logit_ext: SignExtend,
    agg_neuron: Signal<Local, Bits<ADDR_BITS>>,
    agg_first: Signal<Local, bool>,
    agg_last: Signal<Local, bool>,
    agg_sum: Signal<Local, Signed<64>>,
    best_minus_beat: Signal<Local, Signed<64>>,
    /// Bit W (the logit memory's width) of a 64-bit word: the sign of a difference of logits.
    diff_sign: Constant<Bits<64>>,
    beat_wins: Signal<Local, bool>,
    region: Signal<Local, Bits<4>>,
    act_addr: Signal<Local, Bits<ADDR_BITS>>,
    cfg_w: Signal<Local, Bits<32>>,
    cfg_w_fit: Signal<Local, Bits<32>>,
    cfg_a_fit: Signal<Local, Bits<32>>,
    cfg_b_fit: Signal<Local, Bits<32>>,
    /// Masks that cut configuration data to the weight, `A` and `B` widths.
    w_low: Constant<Bits<32>>,
    w_sign: Constant<Bits<32>>,
    w_high: Constant<Bits<32>>,
    a_low: Constant<Bits<32>>,
    a_sign: Constant<Bits<32>>,
    a_high: Constant<Bits<32>>,
    b_low: Constant<Bits<32>>,
    b_sign: Constant<Bits<32>>,
    b_high: Constant<Bits<32>>,
    // ---- constants ----
    row_index: Vec<Constant<Bits<9>>>,
    c_rows_m1: Constant<Bits<9>>,
    c_one20: Constant<Bits<ADDR_BITS>>,
    c_one5: Constant<Bits<5>>,
    /// Zeros of each width (an integer literal would be emitted 32 bits wide).
    z4: Constant<Bits<4>>,
    z5: Constant<Bits<5>>,
    z8: Constant<Bits<8>>,
    z16: Constant<Bits<16>>,
    z20: Constant<Bits<ADDR_BITS>>,
    z32: Constant<Bits<32>>,
    zs32: Constant<Signed<32>>,
    zs64: Constant<Signed<64>>,
    /// The layer-table field numbers.
    field: Vec<Constant<Bits<3>>>,
    c_one16: Constant<Bits<16>>,
    c_one8: Constant<Bits<8>>,
    /// Masks of the counters and table fields: each holds exactly the range the configuration
    /// allows (`crate::low_mask`), so synthesis keeps no flip-flop above it.
    m_steps: Constant<Bits<ADDR_BITS>>,
    m_neurons: Constant<Bits<ADDR_BITS>>,
    m_waddr: Constant<Bits<ADDR_BITS>>,
    m_naddr: Constant<Bits<ADDR_BITS>>,
    m_region: Constant<Bits<ADDR_BITS>>,
    m_act: Constant<Bits<ADDR_BITS>>,
    m_drain: Constant<Bits<16>>,
    m_groups: Constant<Bits<16>>,
    m_layers: Constant<Bits<8>>,
    c_one9: Constant<Bits<9>>,
    c_one_row: Constant<bool>,
    col_index: Vec<Constant<Bits<6>>>,
    layer_index: Vec<Constant<Bits<8>>>,
    c_rows: Constant<Bits<ADDR_BITS>>,
    c_cols_m1: Constant<Bits<5>>,
    c_groups_m1: Constant<Bits<16>>,
    c_last_live: Constant<Bits<9>>,
    c_full_live: Constant<Bits<9>>,
    c_drain: Constant<Bits<16>>,
    c_region0: Constant<Bits<ADDR_BITS>>,
    c_region1: Constant<Bits<ADDR_BITS>>,
    c_region2: Constant<Bits<ADDR_BITS>>,
    c_flag_valid: Constant<Bits<4>>,
    c_flag_first: Constant<Bits<4>>,
    c_flag_last: Constant<Bits<4>>,
    c_flag_output: Constant<Bits<4>>,
    c_idle: Constant<Bits<3>>,
    c_start: Constant<Bits<3>>,
    c_start2: Constant<Bits<3>>,
    c_start3: Constant<Bits<3>>,
    c_run: Constant<Bits<3>>,
    c_drain_state: Constant<Bits<3>>,
    c_output: Constant<Bits<3>>,
    c_reg_weights: Constant<Bits<4>>,
    c_reg_neurons: Constant<Bits<4>>,
    c_reg_layers: Constant<Bits<4>>,
    c_reg_control: Constant<Bits<4>>,
    _rows: usize,
    _cols: usize,
    /// `cols + 1`: the bound of the one-iteration loop that binds `nc = cols` for flat indices.
    _cols_end: usize,
    /// The extra clocks from a step's addresses to the PEs' adders (0 or 2), and the bound of
    /// the loop that binds it.
    _d: usize,
    _d_end: usize,
    /// The PEs' operand-register clock (0 or 1), and the bound of the loop that binds it.
    _dp: usize,
    _dp_end: usize,
    /// The row `walk_q[0]` is loaded from (1; 0 without `c_deep`), and its loop bound.
    _walk_off: usize,
    _walk_off_end: usize,
}

impl NsmEngine {
    /// The engine for a configuration (validated first), in portable Verilog.
    pub fn new(cfg: &EngineConfig) -> Result<Self, HdlError> {
        Self::with_cells(cfg, Cells::Portable)
    }

    /// The engine for a configuration whose PEs' adders are written as `cells` says. The
    /// simulation is the same for every choice; only the emitted Verilog differs.
    pub fn with_cells(cfg: &EngineConfig, cells: Cells) -> Result<Self, HdlError> {
        let lay = EngineLayout::new(cfg)?;
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
            cols,
            hard_block_registers: cfg.hard_block_registers,
        };
        // `hard_block_registers`: every memory read takes a clock more (`dm`), and every PE
        // registers its operands (`dp`), so a step reaches the adders `d = dm + dp` clocks
        // later than in the plain pipeline
        let dm = usize::from(cfg.hard_block_registers);
        let dp = dm;
        let d = dm + dp;
        let reg = |n: usize| -> Vec<DFF<Bits<ADDR_BITS>>> {
            (0..n).map(|_| Default::default()).collect()
        };
        let (w_low, w_sign, w_high) = crate::fit_masks(cfg.weight_bits);
        let (a_low, a_sign, a_high) = crate::fit_masks(cfg.a_bits);
        let (b_low, b_sign, b_high) = crate::fit_masks(cfg.bias_bits);
        let (logit_low, logit_sign, logit_high) = crate::fit_masks(widths.logit_bits);
        let ubits = |n: usize| crate::low_mask::<ADDR_BITS>(crate::unsigned_bits(n as u64));
        let b4f = |v: u64| Constant::new(Bits::<4>::from(v));
        let b20 = |v: usize| Constant::new(Bits::<ADDR_BITS>::from(v as u64));
        let b3 = |v: u64| Constant::new(Bits::<3>::from(v));
        let b4 = |v: u64| Constant::new(Bits::<4>::from(v));
        Ok(Self {
            clock: Default::default(),
            reset: Default::default(),
            cfg_write: Default::default(),
            cfg_address: Default::default(),
            cfg_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            in_last: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_logit: Default::default(),
            out_index: Default::default(),
            out_last: Default::default(),
            out_class: Default::default(),
            busy: Default::default(),
            step_issued: Default::default(),
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
                    .with_operand_registers(dp == 1)
                    .with_cells(cells)
                })
                .collect(),
            row_ends: (0..rows).map(|_| RowEnd::new(&row_spec)).collect(),
            weights: (0..cols)
                .map(|_| {
                    SyncRam::new(lay.weight_words, true, cfg.weight_bits as usize)
                        .with_output_register(dm == 1)
                })
                .collect(),
            a_ram: SyncRam::new(lay.neuron_words, true, cfg.a_bits as usize)
                .with_output_register(dm == 1),
            b_ram: SyncRam::new(lay.neuron_words, true, cfg.bias_bits as usize)
                .with_output_register(dm == 1),
            logits: SyncRam::new(
                lay.logit_words,
                true,
                widths.logit_sum_bits.min(64) as usize,
            )
            .with_output_register(dm == 1),
            w_chain: ShiftChain::new(cols - 1),
            logit_c: Default::default(),
            valid_chain: ShiftChain::new(cols + d),
            tok_flags: ShiftChain::new(cols + 1 + d),
            tok_word: ShiftChain::new(cols + 1 + d),
            tok_bit: ShiftChain::new(cols + 1 + d),
            tok_neuron: ShiftChain::new(cols + 1 + d),
            tok_live: ShiftChain::new(cols + 1 + d),
            n_chain: ShiftChain::new(cols + dp),
            tab_steps: reg(lay.max_layers),
            tab_short: (0..lay.max_layers).map(|_| Default::default()).collect(),
            cfg_steps: Default::default(),
            tab_n_out: reg(lay.max_layers),
            tab_w_base: reg(lay.max_layers),
            tab_n_base: reg(lay.max_layers),
            n_layers: Default::default(),
            state: Default::default(),
            g: Default::default(),
            l: Default::default(),
            i: Default::default(),
            s: Default::default(),
            i_word: Default::default(),
            i_bit: Default::default(),
            w_addr: Default::default(),
            n_addr: Default::default(),
            drain_cnt: Default::default(),
            in_steps: Default::default(),
            in_cnt: Default::default(),
            img_we: Default::default(),
            img_addr: Default::default(),
            img_data: Default::default(),
            agg_cur: Default::default(),
            agg_raddr: Default::default(),
            fin_pending: Default::default(),
            fin_total: Default::default(),
            fin_k: Default::default(),
            fin_g0: Default::default(),
            walk_active: Default::default(),
            walk_r: Default::default(),
            walk_neuron: Default::default(),
            walk_q: (0..if d > 0 { rows - 1 } else { 1 })
                .map(|_| Default::default())
                .collect(),
            walk_live_q: (0..if d > 0 { rows - 1 } else { 1 })
                .map(|_| Default::default())
                .collect(),
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
            out_k: Default::default(),
            fetch: Default::default(),
            fetch2: Default::default(),
            judge: Default::default(),
            judged: Default::default(),
            c_deep: Constant::new(dm == 1),
            beat_valid: Default::default(),
            beat_logit: Default::default(),
            beat_k: Default::default(),
            best_val: Default::default(),
            best_k: Default::default(),
            beat_last: Default::default(),
            beat_better: Default::default(),
            beat_class: Default::default(),
            lay_last_step: Default::default(),
            lay_last_step_eff: Default::default(),
            lay_last_neuron: Default::default(),
            lay_last_step_m1: Default::default(),
            lay_last_step_eff_m1: Default::default(),
            lay_last_neuron_m1: Default::default(),
            lay_steps_one: Default::default(),
            lay_eff_one: Default::default(),
            lay_n_out_one: Default::default(),
            flag_first: Default::default(),
            flag_last: Default::default(),
            flag_last_eff: Default::default(),
            flag_last_neuron: Default::default(),
            at_first: Default::default(),
            at_last: Default::default(),
            at_last_eff: Default::default(),
            at_last_neuron: Default::default(),
            c_two20: b20(2),
            a_hold: Default::default(),
            b_hold: Default::default(),
            lay_w_base: Default::default(),
            lay_n_base: Default::default(),
            lay_output: Default::default(),
            lay_in_base: Default::default(),
            lay_out_base: Default::default(),
            lay_live: Default::default(),
            sel_steps: Default::default(),
            sel_n_out: Default::default(),
            sel_w_base: Default::default(),
            sel_n_base: Default::default(),
            sel_output: Default::default(),
            sel_short: Default::default(),
            look_steps: Default::default(),
            look_n_out: Default::default(),
            look_w_base: Default::default(),
            look_n_base: Default::default(),
            look_output: Default::default(),
            look_short: Default::default(),
            cur_short: Default::default(),
            cur_steps: Default::default(),
            cur_n_out: Default::default(),
            cur_w_base: Default::default(),
            cur_n_base: Default::default(),
            is_output: Default::default(),
            steps_eff: Default::default(),
            in_base: Default::default(),
            out_base: Default::default(),
            live_count: Default::default(),
            issue: Default::default(),
            f_valid: Default::default(),
            f_first: Default::default(),
            f_last: Default::default(),
            f_output: Default::default(),
            agg_valid: Default::default(),
            walk_s: Default::default(),
            walk_live: Default::default(),
            walk_sum: Default::default(),
            agg_logit32: Default::default(),
            logit_low,
            logit_sign,
            logit_high,
            agg_logit: Default::default(),
            logit_ext: Default::default(),
            agg_neuron: Default::default(),
            agg_first: Default::default(),
            agg_last: Default::default(),
            agg_sum: Default::default(),
            best_minus_beat: Default::default(),
            diff_sign: Constant::new(Bits::<64>::from(1u64 << widths.logit_sum_bits.min(63))),
            fetched: Default::default(),
            beat_wins: Default::default(),
            region: Default::default(),
            act_addr: Default::default(),
            cfg_w: Default::default(),
            cfg_w_fit: Default::default(),
            cfg_a_fit: Default::default(),
            cfg_b_fit: Default::default(),
            w_low,
            w_sign,
            w_high,
            a_low,
            a_sign,
            a_high,
            b_low,
            b_sign,
            b_high,
            row_index: (0..rows)
                .map(|r| Constant::new(Bits::<9>::from(r as u64)))
                .collect(),
            c_rows_m1: Constant::new(Bits::<9>::from((rows - 1) as u64)),
            c_one20: b20(1),
            c_one5: Constant::new(Bits::<5>::from(1u64)),
            z4: Constant::new(Bits::<4>::from(0u64)),
            z5: Constant::new(Bits::<5>::from(0u64)),
            z8: Constant::new(Bits::<8>::from(0u64)),
            z16: Constant::new(Bits::<16>::from(0u64)),
            z20: b20(0),
            z32: Constant::new(Bits::<32>::from(0u64)),
            zs32: Constant::new(Signed::<32>::from(0i64)),
            zs64: Constant::new(Signed::<64>::from(0i64)),
            field: (0..4u64)
                .map(|f| Constant::new(Bits::<3>::from(f)))
                .collect(),
            c_one16: Constant::new(Bits::<16>::from(1u64)),
            c_one8: Constant::new(Bits::<8>::from(1u64)),
            m_steps: ubits(cfg.max_fan_in.div_ceil(cols).max(rows)),
            m_neurons: ubits(cfg.max_neurons),
            m_waddr: ubits(lay.weight_words),
            m_naddr: ubits(lay.neuron_words),
            m_region: ubits(lay.region_words),
            m_act: ubits(3 * lay.region_words),
            m_drain: crate::low_mask(crate::unsigned_bits(lay.drain as u64 + 1)),
            m_groups: crate::low_mask(crate::unsigned_bits(lay.groups as u64)),
            m_layers: crate::low_mask(crate::unsigned_bits(lay.max_layers as u64)),
            c_one9: Constant::new(Bits::<9>::from(1u64)),
            c_one_row: Constant::new(rows == 1),
            col_index: (0..cols)
                .map(|c| Constant::new(Bits::<6>::from(c as u64)))
                .collect(),
            layer_index: (0..lay.max_layers)
                .map(|j| Constant::new(Bits::<8>::from(j as u64)))
                .collect(),
            c_rows: b20(rows),
            c_cols_m1: Constant::new(Bits::<5>::from((cols - 1) as u64)),
            c_groups_m1: Constant::new(Bits::<16>::from((lay.groups - 1) as u64)),
            c_last_live: Constant::new(Bits::<9>::from(lay.last_live as u64)),
            c_full_live: Constant::new(Bits::<9>::from(rows as u64)),
            c_drain: Constant::new(Bits::<16>::from(lay.drain as u64)),
            c_region0: b20(0),
            c_region1: b20(lay.region_words),
            c_region2: b20(2 * lay.region_words),
            c_flag_valid: b4f(1),
            c_flag_first: b4f(2),
            c_flag_last: b4f(4),
            c_flag_output: b4f(8),
            c_idle: b3(IDLE),
            c_start: b3(START),
            c_start2: b3(START2),
            c_start3: b3(START3),
            c_run: b3(RUN),
            c_drain_state: b3(DRAIN),
            c_output: b3(OUTPUT),
            c_reg_weights: b4(REGION_WEIGHTS),
            c_reg_neurons: b4(REGION_NEURONS),
            c_reg_layers: b4(REGION_LAYERS),
            c_reg_control: b4(REGION_CONTROL),
            _rows: rows,
            _cols: cols,
            _cols_end: cols + 1,
            _d: d,
            _d_end: d + 1,
            _dp: dp,
            _dp_end: dp + 1,
            _walk_off: usize::from(d > 0),
            _walk_off_end: usize::from(d > 0) + 1,
        })
    }

    /// Simulation back door: store a weight-memory word directly (what `$readmemh` does).
    pub fn preload_weight(&mut self, word: usize, column: usize, value: i64) {
        self.weights[column].preload(word, value.into());
    }

    /// Simulation back door: store one neuron's `A` and `B`.
    pub fn preload_neuron(&mut self, index: usize, a: i64, b: i64) {
        self.a_ram.preload(index, a.into());
        self.b_ram.preload(index, b.into());
    }
}

impl Logic for NsmEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            n_layers,
            state,
            g,
            l,
            i,
            s,
            i_word,
            i_bit,
            w_addr,
            n_addr,
            drain_cnt,
            in_steps,
            in_cnt,
            img_we,
            img_addr,
            img_data,
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
            term_logit,
            logit_c,
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
            beat_class,
            lay_last_step,
            lay_last_step_eff,
            lay_last_neuron,
            lay_last_step_m1,
            lay_last_step_eff_m1,
            lay_last_neuron_m1,
            lay_steps_one,
            lay_eff_one,
            lay_n_out_one,
            flag_first,
            flag_last,
            flag_last_eff,
            flag_last_neuron,
            a_hold,
            b_hold,
            lay_w_base,
            lay_n_base,
            lay_output,
            lay_in_base,
            lay_out_base,
            lay_live,
            sel_steps,
            sel_n_out,
            sel_w_base,
            sel_n_base,
            sel_output,
            sel_short
        );
        for j in 0..self.tab_steps.len() {
            self.tab_steps[j].clock.next = self.clock.val();
            self.tab_short[j].clock.next = self.clock.val();
            self.tab_short[j].d.next = self.tab_short[j].q.val();
            self.tab_n_out[j].clock.next = self.clock.val();
            self.tab_w_base[j].clock.next = self.clock.val();
            self.tab_n_base[j].clock.next = self.clock.val();
            self.tab_steps[j].d.next = self.tab_steps[j].q.val();
            self.tab_n_out[j].d.next = self.tab_n_out[j].q.val();
            self.tab_w_base[j].d.next = self.tab_w_base[j].q.val();
            self.tab_n_base[j].d.next = self.tab_n_base[j].q.val();
        }
        self.a_ram.clock.next = self.clock.val();
        self.b_ram.clock.next = self.clock.val();
        self.logits.clock.next = self.clock.val();
        self.valid_chain.clock.next = self.clock.val();
        self.tok_flags.clock.next = self.clock.val();
        self.tok_word.clock.next = self.clock.val();
        self.tok_bit.clock.next = self.clock.val();
        self.tok_neuron.clock.next = self.clock.val();
        self.tok_live.clock.next = self.clock.val();
        self.n_chain.clock.next = self.clock.val();
        self.w_chain.clock.next = self.clock.val();
        self.w_chain.reset.next = self.reset.val();
        self.w_chain.data_in.next = self.w_addr.q.val();
        self.valid_chain.reset.next = self.reset.val();
        self.tok_flags.reset.next = self.reset.val();
        self.tok_word.reset.next = self.reset.val();
        self.tok_bit.reset.next = self.reset.val();
        self.tok_neuron.reset.next = self.reset.val();
        self.tok_live.reset.next = self.reset.val();
        self.n_chain.reset.next = self.reset.val();

        // ---- the current layer's table entry ----
        self.look_steps.next = self.z20.val();
        self.look_n_out.next = self.z20.val();
        self.look_w_base.next = self.z20.val();
        self.look_n_base.next = self.z20.val();
        self.look_short.next = false;
        for j in 0..self.tab_steps.len() {
            if self.l.q.val() == self.layer_index[j].val() {
                self.look_steps.next = self.tab_steps[j].q.val();
                self.look_n_out.next = self.tab_n_out[j].q.val();
                self.look_w_base.next = self.tab_w_base[j].q.val();
                self.look_n_base.next = self.tab_n_base[j].q.val();
                self.look_short.next = self.tab_short[j].q.val();
            }
        }
        self.look_output.next = (self.l.q.val() + self.c_one8.val()) == self.n_layers.q.val();
        // with `c_deep` the table lookup is registered once more before what derives from it
        // (START waits a clock longer)
        self.sel_steps.d.next = self.look_steps.val();
        self.sel_n_out.d.next = self.look_n_out.val();
        self.sel_w_base.d.next = self.look_w_base.val();
        self.sel_n_base.d.next = self.look_n_base.val();
        self.sel_output.d.next = self.look_output.val();
        self.sel_short.d.next = self.look_short.val();
        self.cur_steps.next = self.look_steps.val();
        self.cur_n_out.next = self.look_n_out.val();
        self.cur_w_base.next = self.look_w_base.val();
        self.cur_n_base.next = self.look_n_base.val();
        self.is_output.next = self.look_output.val();
        self.cur_short.next = self.look_short.val();
        if self.c_deep.val() {
            self.cur_short.next = self.sel_short.q.val();
            self.cur_steps.next = self.sel_steps.q.val();
            self.cur_n_out.next = self.sel_n_out.q.val();
            self.cur_w_base.next = self.sel_w_base.q.val();
            self.cur_n_base.next = self.sel_n_base.q.val();
            self.is_output.next = self.sel_output.q.val();
        }
        self.steps_eff.next = self.cur_steps.val();
        if self.is_output.val() & self.cur_short.val() {
            self.steps_eff.next = self.c_rows.val();
        }
        self.in_base.next = self.c_region2.val();
        if self.l.q.val().get_bit(0) {
            self.in_base.next = self.c_region1.val();
        }
        if self.l.q.val() == self.z8.val() {
            self.in_base.next = self.c_region0.val();
        }
        self.out_base.next = self.c_region1.val();
        if self.l.q.val().get_bit(0) {
            self.out_base.next = self.c_region2.val();
        }
        self.live_count.next = self.c_full_live.val();
        if self.g.q.val() == self.c_groups_m1.val() {
            self.live_count.next = self.c_last_live.val();
        }
        // registered: the layer's entry changes only when `l` or `g` does (then START waits a
        // clock for it), and the sequencer's compares start from registers
        // the last step and neuron indices, so the sequencer compares for equality (no adder)
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
        // a clock ahead, so that the sequencer's decisions start from flip-flops
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
        self.lay_w_base.d.next = self.cur_w_base.val();
        self.lay_n_base.d.next = self.cur_n_base.val();
        self.lay_output.d.next = self.is_output.val();
        self.lay_in_base.d.next = self.in_base.val();
        self.lay_out_base.d.next = self.out_base.val();
        self.lay_live.d.next = self.live_count.val();
        // `s < lay_steps`, kept in a flag (set where `s` restarts, cleared after its last
        // step), so issuing needs no magnitude compare
        self.issue.next = (self.state.q.val() == self.c_run.val()) & self.in_steps.q.val();
        self.step_issued.next = self.issue.val();

        // ---- the token of this step ----
        self.tok_word.data_in.next =
            (self.lay_out_base.q.val() + self.i_word.q.val()) & self.m_act.val();
        self.tok_bit.data_in.next = self.i_bit.q.val();
        self.tok_neuron.data_in.next = self.i.q.val();
        self.tok_live.data_in.next = self.lay_live.q.val();
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
        self.tok_flags.data_in.next =
            self.f_valid.val() | self.f_first.val() | self.f_last.val() | self.f_output.val();
        self.valid_chain.data_in.next = self.issue.val();
        self.act_addr.next = (self.lay_in_base.q.val() + self.s.q.val()) & self.m_act.val();
        // ---- memories read at issue ----
        self.n_chain.data_in.next = self.n_addr.q.val();
        self.a_hold.d.next = self.a_ram.read_data.val();
        self.b_hold.d.next = self.b_ram.read_data.val();
        // Configuration writes. Decoded only in write cycles: rust-hdl evaluates `get_bits`
        // through arbitrary-precision shifts, too slow for every settle pass.
        self.region.next = self.z4.val();
        self.cfg_steps.next = self.z20.val();
        self.cfg_w.next = self.z32.val();
        self.cfg_w_fit.next = self.z32.val();
        self.cfg_a_fit.next = self.z32.val();
        self.cfg_b_fit.next = self.z32.val();
        for c in 0..self.weights.len() {
            self.weights[c].clock.next = self.clock.val();
            self.weights[c].read_address.next = self.w_chain.taps[c].val();
            self.weights[c].write_address.next = self.z20.val();
            self.weights[c].write_data.next = self.zs32.val();
            self.weights[c].write_enable.next = false;
        }
        self.a_ram.write_address.next = self.z20.val();
        self.b_ram.write_address.next = self.z20.val();
        self.a_ram.write_data.next = self.zs32.val();
        self.b_ram.write_data.next = self.zs32.val();
        self.a_ram.write_enable.next = false;
        self.b_ram.write_enable.next = false;
        if self.cfg_write.val() {
            self.region.next = self.cfg_address.val().get_bits::<4>(28);
            // data cut to the memories' widths, as the Verilog memories store it
            self.cfg_w.next = self.cfg_data.val();
            self.cfg_w_fit.next = self.cfg_w.val() & self.w_low.val();
            if (self.cfg_w.val() & self.w_sign.val()).any() {
                self.cfg_w_fit.next = (self.cfg_w.val() & self.w_low.val()) | self.w_high.val();
            }
            self.cfg_a_fit.next = self.cfg_data.val() & self.a_low.val();
            if (self.cfg_data.val() & self.a_sign.val()).any() {
                self.cfg_a_fit.next = (self.cfg_data.val() & self.a_low.val()) | self.a_high.val();
            }
            self.cfg_b_fit.next = self.cfg_data.val() & self.b_low.val();
            if (self.cfg_data.val() & self.b_sign.val()).any() {
                self.cfg_b_fit.next = (self.cfg_data.val() & self.b_low.val()) | self.b_high.val();
            }
            for c in 0..self.weights.len() {
                self.weights[c].write_address.next =
                    self.cfg_address.val().get_bits::<ADDR_BITS>(6);
                self.weights[c].write_data.next = signed_cast(self.cfg_w_fit.val());
                self.weights[c].write_enable.next = (self.region.val() == self.c_reg_weights.val())
                    & (self.cfg_address.val().get_bits::<6>(0) == self.col_index[c].val());
            }
            // neuron region: index = neuron << 1 | 0 for A, 1 for B
            self.a_ram.write_address.next = self.cfg_address.val().get_bits::<ADDR_BITS>(1);
            self.b_ram.write_address.next = self.cfg_address.val().get_bits::<ADDR_BITS>(1);
            self.a_ram.write_data.next = signed_cast(self.cfg_a_fit.val());
            self.b_ram.write_data.next = signed_cast(self.cfg_b_fit.val());
            self.a_ram.write_enable.next = (self.region.val() == self.c_reg_neurons.val())
                & !self.cfg_address.val().get_bit(0);
            self.b_ram.write_enable.next =
                (self.region.val() == self.c_reg_neurons.val()) & self.cfg_address.val().get_bit(0);
            for j in 0..self.tab_steps.len() {
                if (self.region.val() == self.c_reg_layers.val())
                    & (self.cfg_address.val().get_bits::<8>(3) == self.layer_index[j].val())
                {
                    if self.cfg_address.val().get_bits::<3>(0) == self.field[0].val() {
                        self.cfg_steps.next =
                            self.cfg_data.val().get_bits::<ADDR_BITS>(0) & self.m_steps.val();
                        self.tab_steps[j].d.next = self.cfg_steps.val();
                        self.tab_short[j].d.next = self.cfg_steps.val() < self.c_rows.val();
                    }
                    if self.cfg_address.val().get_bits::<3>(0) == self.field[1].val() {
                        self.tab_n_out[j].d.next =
                            self.cfg_data.val().get_bits::<ADDR_BITS>(0) & self.m_neurons.val();
                    }
                    if self.cfg_address.val().get_bits::<3>(0) == self.field[2].val() {
                        self.tab_w_base[j].d.next =
                            self.cfg_data.val().get_bits::<ADDR_BITS>(0) & self.m_waddr.val();
                    }
                    if self.cfg_address.val().get_bits::<3>(0) == self.field[3].val() {
                        self.tab_n_base[j].d.next =
                            self.cfg_data.val().get_bits::<ADDR_BITS>(0) & self.m_naddr.val();
                    }
                }
            }
            if self.region.val() == self.c_reg_control.val() {
                self.n_layers.d.next = self.cfg_data.val().get_bits::<8>(0);
            }
        }

        self.img_we.d.next =
            (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() & !self.reset.val();
        self.img_addr.d.next = self.c_region0.val() + self.in_cnt.q.val();
        self.img_data.d.next = self.in_data.val();
        // ---- the array (flat PE list, index r * cols + c) ----
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
                            self.pes[r * nc + c].w_in.next = self.weights[c].read_data.val();
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
                    // registered in `a_hold`, `b_hold` when the accumulators hold the finished
                    // neuron's sums
                    self.a_ram.read_address.next = self.n_chain.taps[nc + dp].val();
                    self.b_ram.read_address.next = self.n_chain.taps[nc + dp].val();
                    // ---- row ends ----
                    for r in 0..self._rows {
                        self.row_ends[r].clock.next = self.clock.val();
                        self.row_ends[r].reset.next = self.reset.val();
                        self.row_ends[r].act_read_address.next = self.act_addr.val();
                        self.row_ends[r].tok_valid.next =
                            self.tok_flags.taps[nc + 1 + d].val().get_bit(0);
                        self.row_ends[r].tok_first.next =
                            self.tok_flags.taps[nc + 1 + d].val().get_bit(1);
                        self.row_ends[r].tok_last.next =
                            self.tok_flags.taps[nc + 1 + d].val().get_bit(2);
                        self.row_ends[r].tok_output.next =
                            self.tok_flags.taps[nc + 1 + d].val().get_bit(3);
                        self.row_ends[r].tok_bit.next = self.tok_bit.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_word.next = self.tok_word.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_neuron.next = self.tok_neuron.taps[nc + 1 + d].val();
                        self.row_ends[r].tok_live.next =
                            self.tok_live.taps[nc + 1 + d].val() > self.row_index[r].val();
                        self.row_ends[r].tok_a.next = self.a_hold.q.val();
                        self.row_ends[r].tok_b.next = self.b_hold.q.val();
                        self.row_ends[r].image_write.next = false;
                        self.row_ends[r].image_address.next =
                            self.c_region0.val() + self.in_cnt.q.val();
                        self.row_ends[r].image_data.next = self.in_data.val();
                        if (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() {
                            self.row_ends[r].image_write.next = true;
                        }
                        // with `c_deep` the image write reaches the rows from registers
                        if self.c_deep.val() {
                            self.row_ends[r].image_write.next = self.img_we.q.val();
                            self.row_ends[r].image_address.next = self.img_addr.q.val();
                            self.row_ends[r].image_data.next = self.img_data.q.val();
                        }
                    }
                }
            }
        }

        // ---- logit aggregation over the rows of a group, then over groups ----
        self.agg_valid.next = false;
        self.walk_s.next = self.zs32.val();
        self.walk_live.next = false;
        self.agg_neuron.next = self.z20.val();
        self.agg_first.next = false;
        self.agg_last.next = false;
        // All rows finish an output neuron in the same cycle and hold their logits until the
        // next one (at least `rows` cycles later: output neurons take at least `rows` steps).
        // Row 0's logit is taken at once, the others one per cycle by the walker.
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
        if self.row_ends[0].logit_valid.val() {
            for o in self._walk_off..self._walk_off_end {
                for r in 0..self.walk_q.len() {
                    self.walk_q[r].d.next = self.row_ends[r + o].logit.val();
                    self.walk_live_q[r].d.next = self.row_ends[r + o].logit_live.val();
                }
            }
        }
        if self.walk_active.q.val() {
            self.agg_valid.next = true;
            for r in 0..self.row_ends.len() {
                if self.walk_r.q.val() == self.row_index[r].val() {
                    self.walk_s.next = self.row_ends[r].logit.val();
                    self.walk_live.next = self.row_ends[r].logit_live.val();
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
        if self.row_ends[0].logit_valid.val() {
            self.agg_valid.next = true;
            self.walk_s.next = self.row_ends[0].logit.val();
            self.walk_live.next = self.row_ends[0].logit_live.val();
            self.agg_neuron.next = self.row_ends[0].logit_neuron.val();
            self.agg_first.next = true;
            self.agg_last.next = self.c_one_row.val();
            self.walk_active.d.next = !self.c_one_row.val();
            self.walk_r.d.next = self.c_one9.val();
            self.walk_neuron.d.next = self.row_ends[0].logit_neuron.val();
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
        // a live row's logit is S + C_k (C_k is the same for every row: one adder here, none
        // in the row ends), cut to the logit width
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
        self.logit_c.d.next = self.logit_c.q.val();
        if self.row_ends[0].logit_pending.val() {
            self.logit_c.d.next = self.b_hold.q.val();
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
        // nested, not `sum_valid & sum_first`: the same logic, but nextpnr places the two
        // netlists differently: with the portable PE sums, this one's 16x16 ECP5 build met
        // 150 MHz and the other did not (151.2 against 141.8; docs/hardware.md, "Clock speed")
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
        self.fin_g0.d.next = self.g.q.val() == self.z16.val();
        self.logits.write_enable.next = self.fin_pending.q.val();
        self.logits.write_address.next = self.fin_k.q.val();
        self.logits.write_data.next = self.fin_total.q.val();
        if self.fin_pending.q.val() & !self.fin_g0.q.val() {
            self.logits.write_data.next = self.logits.read_data.val() + self.fin_total.q.val();
        }

        // ---- result stream ----
        self.out_valid.next = self.beat_valid.q.val();
        self.out_logit.next = self.beat_logit.q.val();
        self.out_index.next = self.beat_k.q.val();
        // every output is a register: the beat's `last` flag and the running argmax are
        // formed when the beat is loaded
        self.out_last.next = self.beat_last.q.val();
        self.out_class.next = self.beat_class.q.val();
        self.best_minus_beat.next = self.zs64.val();
        self.beat_wins.next = false;
        self.in_ready.next = self.state.q.val() == self.c_idle.val();
        self.busy.next = self.state.q.val() != self.c_idle.val();

        // ---- sequencer ----
        if (self.state.q.val() == self.c_idle.val()) & self.in_valid.val() {
            self.in_cnt.d.next = (self.in_cnt.q.val() + self.c_one20.val()) & self.m_region.val();
            if self.in_last.val() {
                self.in_cnt.d.next = self.z20.val();
                self.state.d.next = self.c_start.val();
                self.g.d.next = self.z16.val();
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
            self.s.d.next = self.z20.val();
            self.i.d.next = self.z20.val();
            self.i_word.d.next = self.z20.val();
            self.i_bit.d.next = self.z5.val();
            self.w_addr.d.next = self.lay_w_base.q.val();
            self.n_addr.d.next = self.lay_n_base.q.val();
            self.state.d.next = self.c_run.val();
            self.in_steps.d.next = true;
            self.flag_first.d.next = true;
            self.flag_last.d.next = self.lay_steps_one.q.val();
            self.flag_last_eff.d.next = self.lay_eff_one.q.val();
            self.flag_last_neuron.d.next = self.lay_n_out_one.q.val();
        }
        if self.state.q.val() == self.c_run.val() {
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
                if self.at_last_neuron.val() {
                    self.state.d.next = self.c_drain_state.val();
                    self.drain_cnt.d.next = self.z16.val();
                }
            }
        }
        if self.state.q.val() == self.c_drain_state.val() {
            self.drain_cnt.d.next =
                (self.drain_cnt.q.val() + self.c_one16.val()) & self.m_drain.val();
            if self.drain_cnt.q.val() == self.c_drain.val() {
                if self.lay_output.q.val() {
                    if self.g.q.val() == self.c_groups_m1.val() {
                        self.state.d.next = self.c_output.val();
                        self.out_k.d.next = self.z20.val();
                        self.fetch.d.next = false;
                    } else {
                        self.g.d.next = (self.g.q.val() + self.c_one16.val()) & self.m_groups.val();
                        self.l.d.next = self.z8.val();
                        self.state.d.next = self.c_start.val();
                    }
                } else {
                    self.l.d.next = (self.l.q.val() + self.c_one8.val()) & self.m_layers.val();
                    self.state.d.next = self.c_start.val();
                }
            }
        }
        // A result beat: the logit is read (one clock, two with `c_deep`), loaded into
        // `beat_logit`, then judged against the best so far from registers (`judge`), then
        // offered on the stream.
        self.fetched.next = (self.fetch.q.val() & !self.c_deep.val()) | self.fetch2.q.val();
        self.fetch2.d.next = false;
        self.judge.d.next = false;
        self.judged.d.next = false;
        if self.state.q.val() == self.c_output.val() {
            self.fetch.d.next = false;
            self.fetch2.d.next = self.fetch.q.val() & self.c_deep.val();
            if self.fetched.val() {
                self.beat_logit.d.next = self.logits.read_data.val();
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
                self.beat_last.d.next = self.beat_k.q.val() == self.lay_last_neuron.q.val();
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
                self.logits.read_address.next = self.out_k.q.val();
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
                    self.state.d.next = self.c_idle.val();
                }
            }
        }
        if self.reset.val() {
            self.state.d.next = self.c_idle.val();
            self.in_cnt.d.next = self.z20.val();
            self.fin_pending.d.next = false;
            self.walk_active.d.next = false;
            self.beat_valid.d.next = false;
            self.fetch.d.next = false;
            self.fetch2.d.next = false;
            self.judge.d.next = false;
            self.judged.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "writes /tmp/nsm_engine_small.v for manual inspection"]
    fn dump_small_engine() {
        let cfg = EngineConfig {
            rows: 2,
            cols: 2,
            max_fan_in: 16,
            max_neurons: 16,
            max_layers: 2,
            weight_memory_words: 64,
            neuron_memory_words: 32,
            mc_samples: 4,
            ..EngineConfig::default_config()
        };
        let mut e = NsmEngine::new(&cfg).unwrap();
        e.connect_all();
        std::fs::write("/tmp/nsm_engine_small.v", generate_verilog(&e)).unwrap();
    }
}
