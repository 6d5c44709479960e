//! The host interface as a Verilog include file: one `` `define `` per constant of
//! [`super`], so a Verilog testbench encodes addresses, input words and protocol bytes with
//! the same numbers as the Rust host side.

use super::*;

/// One `` `define ``: a name (without the `NSM_` prefix), a value, its width in bits and what
/// it means. Only bytes are sized (`8'h50`): a field code, shift or width is a plain decimal,
/// which Verilog and Verilator's lint extend to any context without a width warning.
struct Define {
    name: &'static str,
    value: u64,
    width: Option<u32>,
    doc: &'static str,
}

fn number(name: &'static str, value: u32, doc: &'static str) -> Define {
    Define {
        name,
        value: u64::from(value),
        width: None,
        doc,
    }
}

fn code(name: &'static str, value: u64, doc: &'static str) -> Define {
    Define {
        name,
        value,
        width: None,
        doc,
    }
}

fn byte(name: &'static str, value: u8, doc: &'static str) -> Define {
    Define {
        name,
        value: u64::from(value),
        width: Some(8),
        doc,
    }
}

fn sections() -> Vec<(&'static str, Vec<Define>)> {
    vec![
        (
            "configuration port: cfg_address = region << NSM_REGION_SHIFT | index",
            vec![
                number(
                    "REGION_SHIFT",
                    REGION_SHIFT,
                    "lowest bit of the region field",
                ),
                number("REGION_BITS", REGION_BITS, "width of the region field"),
                number("INDEX_BITS", INDEX_BITS, "width of the index below it"),
                code("REGION_WEIGHTS", REGION_WEIGHTS, "weight memory"),
                code("REGION_NEURONS", REGION_NEURONS, "A_i and B_i"),
                code("REGION_LAYERS", REGION_LAYERS, "layer table"),
                code("REGION_CONTROL", REGION_CONTROL, "layer count"),
                number(
                    "MEMORY_ADDRESS_BITS",
                    MEMORY_ADDRESS_BITS,
                    "width of a weight word or neuron number",
                ),
            ],
        ),
        (
            "weights: index = word << NSM_WEIGHT_WORD_SHIFT | column",
            vec![
                number(
                    "WEIGHT_WORD_SHIFT",
                    WEIGHT_WORD_SHIFT,
                    "lowest bit of the word",
                ),
                number(
                    "WEIGHT_COLUMN_BITS",
                    WEIGHT_COLUMN_BITS,
                    "width of the column",
                ),
                number(
                    "WEIGHT_DATA_BITS",
                    WEIGHT_DATA_BITS,
                    "cfg_data bits of the weight (two's complement)",
                ),
            ],
        ),
        (
            "neurons: index = neuron << NSM_NEURON_INDEX_SHIFT | (A or B)",
            vec![
                number(
                    "NEURON_INDEX_SHIFT",
                    NEURON_INDEX_SHIFT,
                    "lowest bit of the neuron",
                ),
                code("NEURON_A", NeuronParam::A as u64, "selects A_i"),
                code("NEURON_B", NeuronParam::B as u64, "selects B_i"),
            ],
        ),
        (
            "layer table: index = layer << NSM_LAYER_INDEX_SHIFT | field",
            vec![
                number(
                    "LAYER_INDEX_SHIFT",
                    LAYER_INDEX_SHIFT,
                    "lowest bit of the layer",
                ),
                number("LAYER_INDEX_BITS", LAYER_INDEX_BITS, "width of the layer"),
                number("LAYER_FIELD_BITS", LAYER_FIELD_BITS, "width of the field"),
                number(
                    "LAYER_DATA_BITS",
                    LAYER_DATA_BITS,
                    "cfg_data bits of a field",
                ),
                code(
                    "LAYER_STEPS",
                    LayerField::Steps as u64,
                    "ceil(n_in / (cols * lanes))",
                ),
                code("LAYER_N_OUT", LayerField::NOut as u64, "neurons"),
                code(
                    "LAYER_WEIGHT_BASE",
                    LayerField::WeightBase as u64,
                    "first weight word",
                ),
                code(
                    "LAYER_NEURON_BASE",
                    LayerField::NeuronBase as u64,
                    "first neuron",
                ),
                code(
                    "LAYER_LAST_STEP_INPUTS",
                    LayerField::LastStepInputs as u64,
                    "real inputs of a neuron's last step",
                ),
                number(
                    "CONTROL_DATA_BITS",
                    CONTROL_DATA_BITS,
                    "cfg_data bits of the layer count",
                ),
            ],
        ),
        (
            "input stream: bit c of word w is input w * N + c (N = cols * lanes), 1 for +1",
            vec![number(
                "INPUT_WORD_BITS",
                INPUT_WORD_BITS,
                "width of in_data",
            )],
        ),
        (
            "result stream: a beat packed as {last, class, index, logit}",
            vec![
                number("RESULT_LOGIT_BITS", RESULT_LOGIT_BITS, "width of out_logit"),
                number(
                    "RESULT_INDEX_BITS",
                    RESULT_INDEX_BITS,
                    "width of out_index and out_class",
                ),
                number(
                    "RESULT_INDEX_SHIFT",
                    RESULT_INDEX_SHIFT,
                    "lowest bit of index",
                ),
                number(
                    "RESULT_CLASS_SHIFT",
                    RESULT_CLASS_SHIFT,
                    "lowest bit of class",
                ),
                number("RESULT_LAST_SHIFT", RESULT_LAST_SHIFT, "the last flag"),
                number(
                    "RESULT_BEAT_BITS",
                    RESULT_BEAT_BITS,
                    "width of a packed beat",
                ),
            ],
        ),
        (
            "board protocol: opcodes, replies, error codes",
            vec![
                byte("OP_PING", OP_PING, "'P'"),
                byte("OP_WRITE", OP_WRITE, "'W'"),
                byte("OP_INFER", OP_INFER, "'I'"),
                byte("OP_INFER_LOGITS", OP_INFER_LOGITS, "'L'"),
                byte("REPLY_ACK", REPLY_ACK, "'K'"),
                byte("REPLY_ERROR", REPLY_ERROR, "'E', then an error code"),
                byte("FILLER", FILLER, "dropped between commands"),
                byte(
                    "ERR_UNKNOWN_OPCODE",
                    ErrorCode::UnknownOpcode.byte(),
                    "not an opcode",
                ),
                byte("ERR_OVERRUN", ErrorCode::Overrun.byte(), "a byte was lost"),
                byte(
                    "ERR_FRAMING",
                    ErrorCode::Framing.byte(),
                    "a stop bit was low",
                ),
                byte(
                    "ERR_BAD_LENGTH",
                    ErrorCode::BadLength.byte(),
                    "classify with n = 0",
                ),
                byte(
                    "ERR_BAD_CHECK",
                    ErrorCode::BadCheck.byte(),
                    "wrong check byte",
                ),
                byte("ERR_TIMEOUT", ErrorCode::Timeout.byte(), "command stopped"),
            ],
        ),
    ]
}

/// The address macros: `cfg_address` of a weight, a neuron parameter, a layer field and the
/// layer count, written with the defines above.
const ADDRESS_MACROS: &str = "\
// cfg_address of one write from 32-bit arguments (integers), e.g.
// `cfg_address = `NSM_WEIGHT_ADDRESS(word, column);`
`define NSM_CFG_ADDRESS(region, index) (((region) << `NSM_REGION_SHIFT) | (index))
`define NSM_WEIGHT_ADDRESS(word, column) `NSM_CFG_ADDRESS(`NSM_REGION_WEIGHTS, ((word) << `NSM_WEIGHT_WORD_SHIFT) | (column))
`define NSM_NEURON_ADDRESS(neuron, which) `NSM_CFG_ADDRESS(`NSM_REGION_NEURONS, ((neuron) << `NSM_NEURON_INDEX_SHIFT) | (which))
`define NSM_LAYER_ADDRESS(layer, field) `NSM_CFG_ADDRESS(`NSM_REGION_LAYERS, ((layer) << `NSM_LAYER_INDEX_SHIFT) | (field))
`define NSM_CONTROL_ADDRESS `NSM_CFG_ADDRESS(`NSM_REGION_CONTROL, 0)
";

/// The text of `nsm_host_interface.vh`: include-guarded `` `define `` lines, all prefixed
/// `NSM_` (`NSM_REGION_WEIGHTS`, `NSM_WEIGHT_WORD_SHIFT`, `NSM_OP_PING`, ...), and address
/// macros (`` `NSM_WEIGHT_ADDRESS(word, column) ``, `` `NSM_NEURON_ADDRESS(neuron, which) ``,
/// `` `NSM_LAYER_ADDRESS(layer, field) ``, `` `NSM_CONTROL_ADDRESS ``). Protocol bytes are
/// 8-bit literals (`8'h50`); field codes, shifts and widths are plain decimals.
pub fn verilog_include() -> String {
    let mut out = String::from(
        "// nsm_host_interface.vh: the NSM engine's host interface (docs/hardware.md).\n\
         // Written by nsm_model::engine::host_interface::verilog_include; do not edit.\n\
         `ifndef NSM_HOST_INTERFACE_VH\n\
         `define NSM_HOST_INTERFACE_VH\n",
    );
    for (title, defines) in sections() {
        out.push_str(&format!("\n// {title}\n"));
        for d in defines {
            let value = match d.width {
                None => d.value.to_string(),
                Some(w) => format!(
                    "{w}'h{:0digits$x}",
                    d.value,
                    digits = w.div_ceil(4) as usize
                ),
            };
            out.push_str(&format!("`define NSM_{} {value} // {}\n", d.name, d.doc));
        }
    }
    out.push('\n');
    out.push_str(ADDRESS_MACROS);
    out.push_str("\n`endif // NSM_HOST_INTERFACE_VH\n");
    out
}
