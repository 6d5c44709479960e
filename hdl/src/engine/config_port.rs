//! The configuration port and the layer table: decodes the host's configuration writes into
//! weight, neuron and layer-table writes (address map: `docs/hardware.md`, "Configuration
//! port"), keeps the layer table, and looks up the entry of the layer the sequencer is on.
//!
//! Everything is decoded only in write cycles: rust-hdl evaluates `get_bits` through
//! arbitrary-precision shifts, too slow for every settle pass.

use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::host_interface::{self, LayerField};
use rust_hdl::prelude::*;

use super::ports::ConfigTarget;
use super::{EngineLayout, REGION_CONTROL, REGION_LAYERS, REGION_NEURONS, REGION_WEIGHTS};
use crate::ram::ADDR_BITS;

// rust-hdl's Verilog generator copies a bit index verbatim, so the decoder below spells the
// field positions as literals; this ties each of them to the host interface's one definition
// (`nsm_model::engine::host_interface`) when the crate compiles.
const _: () = assert!(
    host_interface::REGION_SHIFT == 28
        && host_interface::REGION_BITS == 4
        && host_interface::WEIGHT_WORD_SHIFT == 6
        && host_interface::WEIGHT_COLUMN_BITS == 6
        && host_interface::NEURON_INDEX_SHIFT == 1
        && host_interface::LAYER_INDEX_SHIFT == 3
        && host_interface::LAYER_INDEX_BITS == 8
        && host_interface::LAYER_FIELD_BITS == 3
        && host_interface::CONTROL_DATA_BITS == 8
);

pub struct ConfigPort {
    pub clock: Signal<In, Clock>,
    pub host: ConfigTarget,
    /// The layer the sequencer is on (`l`), whose table entry is looked up.
    pub layer: Signal<In, Bits<8>>,
    // ---- weight-memory write (a column's word) ----
    pub w_write: Signal<Out, bool>,
    /// The weight's slot, `column * lanes + lane`.
    pub w_column: Signal<Out, Bits<6>>,
    pub w_word: Signal<Out, Bits<ADDR_BITS>>,
    /// The weight cut to the weight width and sign-extended; with 1-bit weights its code
    /// (`memory::weight_code`: 1 for a weight `>= 0`, the complement of the sign bit).
    pub w_data: Signal<Out, Signed<32>>,
    // ---- neuron-memory write (`A_i` or `B_i`) ----
    pub a_write: Signal<Out, bool>,
    pub b_write: Signal<Out, bool>,
    pub n_index: Signal<Out, Bits<ADDR_BITS>>,
    pub a_data: Signal<Out, Signed<32>>,
    pub b_data: Signal<Out, Signed<32>>,
    // ---- the table entry of `layer` ----
    pub steps: Signal<Out, Bits<ADDR_BITS>>,
    pub n_out: Signal<Out, Bits<ADDR_BITS>>,
    pub w_base: Signal<Out, Bits<ADDR_BITS>>,
    pub n_base: Signal<Out, Bits<ADDR_BITS>>,
    /// Real inputs of a neuron's last step.
    pub last_inputs: Signal<Out, Bits<7>>,
    /// The layer has fewer steps than the array has rows.
    pub short: Signal<Out, bool>,
    /// The layer is the network's last (its outputs are logits).
    pub output_layer: Signal<Out, bool>,
    tab_steps: Vec<DFF<Bits<ADDR_BITS>>>,
    /// Set when the layer's steps are written: fewer steps than the array has rows.
    tab_short: Vec<DFF<bool>>,
    tab_n_out: Vec<DFF<Bits<ADDR_BITS>>>,
    tab_w_base: Vec<DFF<Bits<ADDR_BITS>>>,
    tab_n_base: Vec<DFF<Bits<ADDR_BITS>>>,
    tab_last_inputs: Vec<DFF<Bits<7>>>,
    n_layers: DFF<Bits<8>>,
    region: Signal<Local, Bits<4>>,
    /// A layer table `steps` field being written, cut to its width.
    cfg_steps: Signal<Local, Bits<ADDR_BITS>>,
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
    /// Masks of the table fields: each holds exactly the range the configuration allows.
    m_steps: Constant<Bits<ADDR_BITS>>,
    m_neurons: Constant<Bits<ADDR_BITS>>,
    m_waddr: Constant<Bits<ADDR_BITS>>,
    m_naddr: Constant<Bits<ADDR_BITS>>,
    c_rows: Constant<Bits<ADDR_BITS>>,
    /// 1-bit weights: the configuration port stores a weight's code.
    c_binary: Constant<bool>,
    c_one32: Constant<Bits<32>>,
    z7: Constant<Bits<7>>,
    layer_index: Vec<Constant<Bits<8>>>,
    /// The layer-table field numbers.
    field: Vec<Constant<Bits<3>>>,
    c_reg_weights: Constant<Bits<4>>,
    c_reg_neurons: Constant<Bits<4>>,
    c_reg_layers: Constant<Bits<4>>,
    c_reg_control: Constant<Bits<4>>,
    c_one8: Constant<Bits<8>>,
    z4: Constant<Bits<4>>,
    z6: Constant<Bits<6>>,
    z20: Constant<Bits<ADDR_BITS>>,
    z32: Constant<Bits<32>>,
    zs32: Constant<Signed<32>>,
}

crate::block_inputs_first!(ConfigPort {
    inputs: [clock, host, layer],
    fields: [
        clock,
        host,
        layer,
        w_write,
        w_column,
        w_word,
        w_data,
        a_write,
        b_write,
        n_index,
        a_data,
        b_data,
        steps,
        n_out,
        w_base,
        n_base,
        last_inputs,
        short,
        output_layer,
        tab_steps,
        tab_short,
        tab_n_out,
        tab_w_base,
        tab_n_base,
        tab_last_inputs,
        n_layers,
        region,
        cfg_steps,
        cfg_w,
        cfg_w_fit,
        cfg_a_fit,
        cfg_b_fit,
        w_low,
        w_sign,
        w_high,
        a_low,
        a_sign,
        a_high,
        b_low,
        b_sign,
        b_high,
        m_steps,
        m_neurons,
        m_waddr,
        m_naddr,
        c_rows,
        c_binary,
        c_one32,
        z7,
        layer_index,
        field,
        c_reg_weights,
        c_reg_neurons,
        c_reg_layers,
        c_reg_control,
        c_one8,
        z4,
        z6,
        z20,
        z32,
        zs32
    ],
});

impl ConfigPort {
    pub fn new(cfg: &EngineConfig, lay: &EngineLayout) -> Self {
        let (w_low, w_sign, w_high) = crate::fit_masks(cfg.weight_bits);
        let (a_low, a_sign, a_high) = crate::fit_masks(cfg.a_bits);
        let (b_low, b_sign, b_high) = crate::fit_masks(cfg.bias_bits);
        let ubits = |n: usize| crate::low_mask::<ADDR_BITS>(crate::unsigned_bits(n as u64));
        let reg = |n: usize| -> Vec<DFF<Bits<ADDR_BITS>>> {
            (0..n).map(|_| Default::default()).collect()
        };
        let b4 = |v: u64| Constant::new(Bits::<4>::from(v));
        Self {
            clock: Default::default(),
            host: Default::default(),
            layer: Default::default(),
            w_write: Default::default(),
            w_column: Default::default(),
            w_word: Default::default(),
            w_data: Default::default(),
            a_write: Default::default(),
            b_write: Default::default(),
            n_index: Default::default(),
            a_data: Default::default(),
            b_data: Default::default(),
            steps: Default::default(),
            n_out: Default::default(),
            w_base: Default::default(),
            n_base: Default::default(),
            last_inputs: Default::default(),
            short: Default::default(),
            output_layer: Default::default(),
            tab_steps: reg(lay.max_layers),
            tab_short: (0..lay.max_layers).map(|_| Default::default()).collect(),
            tab_n_out: reg(lay.max_layers),
            tab_w_base: reg(lay.max_layers),
            tab_n_base: reg(lay.max_layers),
            tab_last_inputs: (0..lay.max_layers).map(|_| Default::default()).collect(),
            n_layers: Default::default(),
            region: Default::default(),
            cfg_steps: Default::default(),
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
            m_steps: ubits(lay.max_steps),
            m_neurons: ubits(cfg.max_neurons),
            m_waddr: ubits(lay.weight_words),
            m_naddr: ubits(lay.neuron_words),
            c_rows: Constant::new(Bits::<ADDR_BITS>::from(lay.rows as u64)),
            c_binary: Constant::new(cfg.weight_bits == 1),
            c_one32: Constant::new(Bits::<32>::from(1u64)),
            z7: Constant::new(Bits::<7>::from(0u64)),
            layer_index: (0..lay.max_layers)
                .map(|j| Constant::new(Bits::<8>::from(j as u64)))
                .collect(),
            field: [
                LayerField::Steps,
                LayerField::NOut,
                LayerField::WeightBase,
                LayerField::NeuronBase,
                LayerField::LastStepInputs,
            ]
            .iter()
            .map(|&f| Constant::new(Bits::<3>::from(f as u64)))
            .collect(),
            c_reg_weights: b4(REGION_WEIGHTS),
            c_reg_neurons: b4(REGION_NEURONS),
            c_reg_layers: b4(REGION_LAYERS),
            c_reg_control: b4(REGION_CONTROL),
            c_one8: Constant::new(Bits::<8>::from(1u64)),
            z4: Constant::new(Bits::<4>::from(0u64)),
            z6: Constant::new(Bits::<6>::from(0u64)),
            z20: Constant::new(Bits::<ADDR_BITS>::from(0u64)),
            z32: Constant::new(Bits::<32>::from(0u64)),
            zs32: Constant::new(Signed::<32>::from(0i64)),
        }
    }
}

impl Logic for ConfigPort {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, n_layers);
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
            self.tab_last_inputs[j].clock.next = self.clock.val();
            self.tab_last_inputs[j].d.next = self.tab_last_inputs[j].q.val();
        }
        // ---- the entry of the current layer ----
        self.steps.next = self.z20.val();
        self.n_out.next = self.z20.val();
        self.w_base.next = self.z20.val();
        self.n_base.next = self.z20.val();
        self.last_inputs.next = self.z7.val();
        self.short.next = false;
        for j in 0..self.tab_steps.len() {
            if self.layer.val() == self.layer_index[j].val() {
                self.steps.next = self.tab_steps[j].q.val();
                self.n_out.next = self.tab_n_out[j].q.val();
                self.w_base.next = self.tab_w_base[j].q.val();
                self.n_base.next = self.tab_n_base[j].q.val();
                self.last_inputs.next = self.tab_last_inputs[j].q.val();
                self.short.next = self.tab_short[j].q.val();
            }
        }
        self.output_layer.next = (self.layer.val() + self.c_one8.val()) == self.n_layers.q.val();

        // ---- configuration writes ----
        self.region.next = self.z4.val();
        self.cfg_steps.next = self.z20.val();
        self.cfg_w.next = self.z32.val();
        self.cfg_w_fit.next = self.z32.val();
        self.cfg_a_fit.next = self.z32.val();
        self.cfg_b_fit.next = self.z32.val();
        self.w_write.next = false;
        self.w_column.next = self.z6.val();
        self.w_word.next = self.z20.val();
        self.w_data.next = self.zs32.val();
        self.a_write.next = false;
        self.b_write.next = false;
        self.n_index.next = self.z20.val();
        self.a_data.next = self.zs32.val();
        self.b_data.next = self.zs32.val();
        if self.host.write.val() {
            self.region.next = self.host.address.val().get_bits::<4>(28);
            // data cut to the memories' widths, as the Verilog memories store it
            self.cfg_w.next = self.host.data.val();
            self.cfg_w_fit.next = self.cfg_w.val() & self.w_low.val();
            if (self.cfg_w.val() & self.w_sign.val()).any() {
                self.cfg_w_fit.next = (self.cfg_w.val() & self.w_low.val()) | self.w_high.val();
            }
            // 1-bit weights: the code, 1 for a weight >= 0 (16-bit two's complement data)
            if self.c_binary.val() {
                self.cfg_w_fit.next = self.c_one32.val();
                if self.cfg_w.val().get_bit(15) {
                    self.cfg_w_fit.next = self.z32.val();
                }
            }
            self.cfg_a_fit.next = self.host.data.val() & self.a_low.val();
            if (self.host.data.val() & self.a_sign.val()).any() {
                self.cfg_a_fit.next = (self.host.data.val() & self.a_low.val()) | self.a_high.val();
            }
            self.cfg_b_fit.next = self.host.data.val() & self.b_low.val();
            if (self.host.data.val() & self.b_sign.val()).any() {
                self.cfg_b_fit.next = (self.host.data.val() & self.b_low.val()) | self.b_high.val();
            }
            // weight region: word << 6 | column
            self.w_write.next = self.region.val() == self.c_reg_weights.val();
            self.w_column.next = self.host.address.val().get_bits::<6>(0);
            self.w_word.next = self.host.address.val().get_bits::<ADDR_BITS>(6);
            self.w_data.next = signed_cast(self.cfg_w_fit.val());
            // neuron region: index = neuron << 1 | 0 for A, 1 for B
            self.n_index.next = self.host.address.val().get_bits::<ADDR_BITS>(1);
            self.a_data.next = signed_cast(self.cfg_a_fit.val());
            self.b_data.next = signed_cast(self.cfg_b_fit.val());
            self.a_write.next = (self.region.val() == self.c_reg_neurons.val())
                & !self.host.address.val().get_bit(0);
            self.b_write.next = (self.region.val() == self.c_reg_neurons.val())
                & self.host.address.val().get_bit(0);
            // layer region: layer << 3 | field
            for j in 0..self.tab_steps.len() {
                if (self.region.val() == self.c_reg_layers.val())
                    & (self.host.address.val().get_bits::<8>(3) == self.layer_index[j].val())
                {
                    if self.host.address.val().get_bits::<3>(0) == self.field[0].val() {
                        self.cfg_steps.next =
                            self.host.data.val().get_bits::<ADDR_BITS>(0) & self.m_steps.val();
                        self.tab_steps[j].d.next = self.cfg_steps.val();
                        self.tab_short[j].d.next = self.cfg_steps.val() < self.c_rows.val();
                    }
                    if self.host.address.val().get_bits::<3>(0) == self.field[1].val() {
                        self.tab_n_out[j].d.next =
                            self.host.data.val().get_bits::<ADDR_BITS>(0) & self.m_neurons.val();
                    }
                    if self.host.address.val().get_bits::<3>(0) == self.field[2].val() {
                        self.tab_w_base[j].d.next =
                            self.host.data.val().get_bits::<ADDR_BITS>(0) & self.m_waddr.val();
                    }
                    if self.host.address.val().get_bits::<3>(0) == self.field[3].val() {
                        self.tab_n_base[j].d.next =
                            self.host.data.val().get_bits::<ADDR_BITS>(0) & self.m_naddr.val();
                    }
                    if self.host.address.val().get_bits::<3>(0) == self.field[4].val() {
                        self.tab_last_inputs[j].d.next = self.host.data.val().get_bits::<7>(0);
                    }
                }
            }
            if self.region.val() == self.c_reg_control.val() {
                self.n_layers.d.next = self.host.data.val().get_bits::<8>(0);
            }
        }
    }
}
