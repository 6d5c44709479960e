//! The engine's host interface, defined once: the configuration port's address map, the
//! packing of input words, the layout of a result beat and the board protocol's bytes.
//!
//! Everything that talks to the engine from outside (the simulators in `sim/`, the host
//! library `nsm_sim::host`, the Verilog testbenches through [`verilog_include`]) encodes and
//! decodes with the constants and functions here; `docs/hardware.md` describes the same map
//! in prose. Pure Rust: no hardware description is needed to drive the engine.
//!
//! **Configuration port.** A write carries a 32-bit `cfg_address` and a 32-bit `cfg_data`.
//! The region sits in `cfg_address[31:28]`, the index below it:
//!
//! | region | index | data |
//! |---|---|---|
//! | [`Region::Weights`] | weight-memory word `<< 6` \| slot `c * lanes + l` | the weight, 16-bit two's complement |
//! | [`Region::Neurons`] | neuron `<< 1` \| 0 for `A`, 1 for `B` | the value, 32-bit two's complement |
//! | [`Region::Layers`] | layer `<< 3` \| [`LayerField`] | the field, 20 bits |
//! | [`Region::Control`] | 0 | the number of layers, 8 bits |
//!
//! A weight slot is lane `l` of column `c`. The weight memory stores a column's `lanes`
//! weights as one packed word when its last lane is written, so the lanes of a column word
//! are written in lane order, one after the other ([`load_writes`] does); it keeps a weight's
//! low `weight_bits` bits, or for 1-bit weights the complement of its sign bit
//! (`super::memory::weight_code`).
//!
//! **Input words.** With `N = cols * lanes` inputs per array step, input `j` of an image is
//! bit `j % N` of word `j / N`, 1 for `+1`; an image of `n_in` inputs is `ceil(n_in / N)`
//! words ([`pack_input_words`]).
//!
//! **Result beats.** One beat per class, in class order: the Monte Carlo logit sum (64 bits,
//! signed), the class index (20 bits), `last` on the final beat and the winning class
//! (20 bits, valid with `last`) ([`ResultBeat`]).
//!
//! **Board protocol.** Opcodes, reply bytes and error codes of the UART host link
//! ([`Opcode`], [`REPLY_ACK`], [`REPLY_ERROR`], [`ErrorCode`], [`FILLER`], [`check_byte`]).

use super::qnet::{LayerView, QNet};
use super::Inference;

// ---- configuration port: regions ----

/// The region field's lowest bit: `cfg_address[31:28]`.
pub const REGION_SHIFT: u32 = 28;
/// Width of the region field.
pub const REGION_BITS: u32 = 4;
/// Width of the index below the region.
pub const INDEX_BITS: u32 = REGION_SHIFT;
/// Width of the memory address fields (weight word, neuron index) and of a layer-table value.
pub const MEMORY_ADDRESS_BITS: u32 = 20;

/// A region of the configuration port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Region {
    /// The weight memory, one weight per write.
    Weights = 0,
    /// The neuron memory: `A_i` and `B_i` of every neuron of every layer.
    Neurons = 1,
    /// The layer table.
    Layers = 2,
    /// The layer count.
    Control = 3,
}

impl Region {
    pub const ALL: [Region; 4] = [
        Region::Weights,
        Region::Neurons,
        Region::Layers,
        Region::Control,
    ];

    /// The region's code in `cfg_address[31:28]`.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The region of a code, if it names one.
    pub fn from_code(code: u32) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Region codes as the hardware description compares them.
pub const REGION_WEIGHTS: u64 = Region::Weights as u64;
pub const REGION_NEURONS: u64 = Region::Neurons as u64;
pub const REGION_LAYERS: u64 = Region::Layers as u64;
pub const REGION_CONTROL: u64 = Region::Control as u64;

// ---- configuration port: fields inside the regions ----

/// Weights: the slot (`column * lanes + lane`) is `index[5:0]`.
pub const WEIGHT_COLUMN_BITS: u32 = 6;
/// Weights: the word starts at `index[6]`.
pub const WEIGHT_WORD_SHIFT: u32 = WEIGHT_COLUMN_BITS;
/// Weights: the data's low bits that hold the weight.
pub const WEIGHT_DATA_BITS: u32 = 16;
/// Neurons: `index[0]` selects `A` (0) or `B` (1).
pub const NEURON_SELECT_BITS: u32 = 1;
/// Neurons: the neuron starts at `index[1]`.
pub const NEURON_INDEX_SHIFT: u32 = NEURON_SELECT_BITS;
/// Layers: the field is `index[2:0]`.
pub const LAYER_FIELD_BITS: u32 = 3;
/// Layers: the layer starts at `index[3]`.
pub const LAYER_INDEX_SHIFT: u32 = LAYER_FIELD_BITS;
/// Layers: width of the layer number.
pub const LAYER_INDEX_BITS: u32 = 8;
/// Layers: the data's low bits that hold the field.
pub const LAYER_DATA_BITS: u32 = MEMORY_ADDRESS_BITS;
/// Control: the data's low bits that hold the layer count.
pub const CONTROL_DATA_BITS: u32 = 8;

/// Which of a neuron's two parameters a write sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum NeuronParam {
    /// `A_i` (0 for output neurons).
    A = 0,
    /// `B_i` (`C_k` for output neurons).
    B = 1,
}

/// The fields of a layer-table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum LayerField {
    /// Array steps per neuron, `ceil(n_in / (cols * lanes))`.
    Steps = 0,
    /// Neurons of the layer, `n_out`.
    NOut = 1,
    /// The layer's first weight-memory word.
    WeightBase = 2,
    /// The layer's first neuron-memory word.
    NeuronBase = 3,
    /// Real inputs of the last step of a neuron, `n_in - (steps - 1) cols lanes` (1 to
    /// `cols * lanes`): the 1-bit engines mask the padding slots with it.
    LastStepInputs = 4,
}

impl LayerField {
    pub const ALL: [LayerField; 5] = [
        LayerField::Steps,
        LayerField::NOut,
        LayerField::WeightBase,
        LayerField::NeuronBase,
        LayerField::LastStepInputs,
    ];

    pub fn from_code(code: u32) -> Option<LayerField> {
        LayerField::ALL.into_iter().find(|f| *f as u32 == code)
    }
}

fn low_mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

fn checked(value: usize, bits: u32, what: &str) -> u32 {
    assert!(
        value as u64 <= u64::from(low_mask(bits)),
        "{what} {value} does not fit the configuration port's {bits}-bit field"
    );
    value as u32
}

/// `cfg_address` of a region code and an index (`code << 28 | index`).
pub fn join_address(region_code: u32, index: u32) -> u32 {
    assert!(
        region_code <= low_mask(REGION_BITS) && index <= low_mask(INDEX_BITS),
        "region {region_code} or index {index} does not fit cfg_address"
    );
    (region_code << REGION_SHIFT) | index
}

/// The region code and the index of a `cfg_address`.
pub fn split_address(address: u32) -> (u32, u32) {
    (address >> REGION_SHIFT, address & low_mask(INDEX_BITS))
}

/// `cfg_address` of `index` in `region`.
pub fn config_address(region: Region, index: u32) -> u32 {
    join_address(region.code(), index)
}

/// `cfg_address` of one weight: slot `slot` (`column * lanes + lane`) of weight-memory word
/// `word`.
pub fn weight_address(word: usize, slot: usize) -> u32 {
    let index = (checked(word, MEMORY_ADDRESS_BITS, "weight word") << WEIGHT_WORD_SHIFT)
        | checked(slot, WEIGHT_COLUMN_BITS, "weight slot");
    config_address(Region::Weights, index)
}

/// `cfg_address` of parameter `which` of neuron `neuron` (counted over all layers).
pub fn neuron_address(neuron: usize, which: NeuronParam) -> u32 {
    let index =
        (checked(neuron, MEMORY_ADDRESS_BITS, "neuron") << NEURON_INDEX_SHIFT) | which as u32;
    config_address(Region::Neurons, index)
}

/// `cfg_address` of field `field` of layer `layer`'s table entry.
pub fn layer_address(layer: usize, field: LayerField) -> u32 {
    let index = (checked(layer, LAYER_INDEX_BITS, "layer") << LAYER_INDEX_SHIFT) | field as u32;
    config_address(Region::Layers, index)
}

/// `cfg_address` of the layer count.
pub fn control_address() -> u32 {
    config_address(Region::Control, 0)
}

/// `cfg_data` of a weight: its 16-bit two's complement, zero-extended.
pub fn weight_data(weight: i32) -> u32 {
    u32::from(weight as i16 as u16)
}

/// The weight a `cfg_data` word carries (the inverse of [`weight_data`]).
pub fn weight_from_data(data: u32) -> i64 {
    i64::from(data as u16 as i16)
}

/// `cfg_data` of a neuron parameter: its 32-bit two's complement.
pub fn neuron_data(value: i32) -> u32 {
    value as u32
}

/// The neuron parameter a `cfg_data` word carries.
pub fn neuron_from_data(data: u32) -> i64 {
    i64::from(data as i32)
}

/// What a `cfg_address` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigTarget {
    Weight { word: usize, slot: usize },
    Neuron { neuron: usize, which: NeuronParam },
    Layer { layer: usize, field: LayerField },
    Control,
}

/// Decodes a `cfg_address` as the engine does (the bits above each field are ignored there;
/// here an address with a non-zero bit the engine ignores, or an unknown region or layer
/// field, is `None`, so a round trip through [`weight_address`] and friends is exact).
pub fn decode_address(address: u32) -> Option<ConfigTarget> {
    let (code, index) = split_address(address);
    let fits = |v: u32, bits: u32| v <= low_mask(bits);
    match Region::from_code(code)? {
        Region::Weights => {
            let word = index >> WEIGHT_WORD_SHIFT;
            fits(word, MEMORY_ADDRESS_BITS).then_some(ConfigTarget::Weight {
                word: word as usize,
                slot: (index & low_mask(WEIGHT_COLUMN_BITS)) as usize,
            })
        }
        Region::Neurons => {
            let neuron = index >> NEURON_INDEX_SHIFT;
            let which = if index & low_mask(NEURON_SELECT_BITS) == NeuronParam::B as u32 {
                NeuronParam::B
            } else {
                NeuronParam::A
            };
            fits(neuron, MEMORY_ADDRESS_BITS).then_some(ConfigTarget::Neuron {
                neuron: neuron as usize,
                which,
            })
        }
        Region::Layers => {
            let layer = index >> LAYER_INDEX_SHIFT;
            let field = LayerField::from_code(index & low_mask(LAYER_FIELD_BITS))?;
            fits(layer, LAYER_INDEX_BITS).then_some(ConfigTarget::Layer {
                layer: layer as usize,
                field,
            })
        }
        Region::Control => (index == 0).then_some(ConfigTarget::Control),
    }
}

/// One write of the configuration port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortWrite {
    pub address: u32,
    pub data: u32,
}

/// The configuration-port writes that load `qnet` on an engine with `step_inputs = cols *
/// lanes` inputs per array step, in order: per layer its table entry, every weight slot in
/// slot order (padding included: a real memory holds no zeros until written; a column's
/// lanes one after the other, as the weight memory packs them), every neuron's `A` then `B`;
/// last, the layer count. The bases are those of the memory images (`super::memory`).
pub fn load_writes(qnet: &QNet, step_inputs: usize) -> Vec<PortWrite> {
    let mut out = Vec::new();
    let layers = qnet.layers();
    let (mut w_base, mut n_base) = (0usize, 0usize);
    for (
        l,
        &LayerView {
            n_in,
            n_out,
            w,
            b,
            a,
        },
    ) in layers.iter().enumerate()
    {
        let steps = n_in.div_ceil(step_inputs);
        let last_step_inputs = n_in - (steps - 1) * step_inputs;
        for (f, value) in
            LayerField::ALL
                .into_iter()
                .zip([steps, n_out, w_base, n_base, last_step_inputs])
        {
            out.push(PortWrite {
                address: layer_address(l, f),
                data: checked(value, LAYER_DATA_BITS, "layer-table value"),
            });
        }
        for i in 0..n_out {
            for s in 0..steps {
                let word = w_base + i * steps + s;
                for q in 0..step_inputs {
                    let j = s * step_inputs + q;
                    let v = if j < n_in { w[i * n_in + j] } else { 0 };
                    out.push(PortWrite {
                        address: weight_address(word, q),
                        data: weight_data(v),
                    });
                }
            }
            out.push(PortWrite {
                address: neuron_address(n_base + i, NeuronParam::A),
                data: neuron_data(a.map_or(0, |a| a[i])),
            });
            out.push(PortWrite {
                address: neuron_address(n_base + i, NeuronParam::B),
                data: neuron_data(b[i]),
            });
        }
        w_base += n_out * steps;
        n_base += n_out;
    }
    out.push(PortWrite {
        address: control_address(),
        data: checked(layers.len(), CONTROL_DATA_BITS, "layer count"),
    });
    out
}

// ---- input stream ----

/// Width of `in_data`: the engine takes at most this many inputs per word.
pub const INPUT_WORD_BITS: u32 = 32;

/// Words of one input of `n_in` values on an engine with `cols` inputs per array step
/// (`cols * lanes`): `ceil(n_in / cols)`.
pub fn input_word_count(n_in: usize, cols: usize) -> usize {
    n_in.div_ceil(cols)
}

/// Packs one input (`+1`/`-1` values) into the engine's input words of `cols` bits, the
/// inputs of one array step (`cols * lanes`): bit `c` of word `w` is input `w * cols + c`, 1
/// for `+1`, 0 for `-1`; bits at and above `cols` are 0, and so are the slots of the last word
/// past the input.
pub fn pack_input_words(values: &[i8], cols: usize) -> Vec<u32> {
    assert!(
        cols >= 1 && cols as u32 <= INPUT_WORD_BITS,
        "{cols} inputs per step do not fit a {INPUT_WORD_BITS}-bit input word"
    );
    values
        .chunks(cols)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u32, |w, (c, &v)| if v > 0 { w | (1u32 << c) } else { w })
        })
        .collect()
}

/// The `+1`/`-1` values of `n_in` inputs packed by [`pack_input_words`].
pub fn unpack_input_words(words: &[u32], cols: usize, n_in: usize) -> Vec<i8> {
    (0..n_in)
        .map(|j| {
            if (words[j / cols] >> (j % cols)) & 1 == 1 {
                1
            } else {
                -1
            }
        })
        .collect()
}

// ---- result stream ----

/// Width of `out_logit` (signed).
pub const RESULT_LOGIT_BITS: u32 = 64;
/// Width of `out_index` and `out_class`.
pub const RESULT_INDEX_BITS: u32 = MEMORY_ADDRESS_BITS;
/// Where each field sits when a beat is packed into one vector ([`ResultBeat::pack`]):
/// `{last, class, index, logit}`, logit in the low 64 bits.
pub const RESULT_INDEX_SHIFT: u32 = RESULT_LOGIT_BITS;
pub const RESULT_CLASS_SHIFT: u32 = RESULT_INDEX_SHIFT + RESULT_INDEX_BITS;
pub const RESULT_LAST_SHIFT: u32 = RESULT_CLASS_SHIFT + RESULT_INDEX_BITS;
/// Width of a packed beat.
pub const RESULT_BEAT_BITS: u32 = RESULT_LAST_SHIFT + 1;

/// One beat of the result stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultBeat {
    /// `out_logit`: the Monte Carlo sum of class `index`'s logit.
    pub logit: i64,
    /// `out_index`: the class of this beat.
    pub index: u32,
    /// `out_last`: the last beat of the input.
    pub last: bool,
    /// `out_class`: the winning class (meaningful only with `last`).
    pub class: u32,
}

impl ResultBeat {
    /// The beats the engine sends for a result: one per class, the class only on the last.
    pub fn of_inference(inf: &Inference) -> Vec<ResultBeat> {
        let n = inf.logit_sums.len();
        inf.logit_sums
            .iter()
            .enumerate()
            .map(|(k, &logit)| {
                let last = k + 1 == n;
                ResultBeat {
                    logit,
                    index: checked(k, RESULT_INDEX_BITS, "class index"),
                    last,
                    class: if last {
                        checked(inf.class, RESULT_INDEX_BITS, "class")
                    } else {
                        0
                    },
                }
            })
            .collect()
    }

    /// The beat as one `RESULT_BEAT_BITS`-bit vector, `{last, class, index, logit}`.
    pub fn pack(&self) -> u128 {
        (u128::from(self.last) << RESULT_LAST_SHIFT)
            | (u128::from(self.class) << RESULT_CLASS_SHIFT)
            | (u128::from(self.index) << RESULT_INDEX_SHIFT)
            | u128::from(self.logit as u64)
    }

    /// The inverse of [`Self::pack`].
    pub fn unpack(v: u128) -> ResultBeat {
        let index_mask = u128::from(low_mask(RESULT_INDEX_BITS));
        ResultBeat {
            logit: v as u64 as i64,
            index: ((v >> RESULT_INDEX_SHIFT) & index_mask) as u32,
            class: ((v >> RESULT_CLASS_SHIFT) & index_mask) as u32,
            last: (v >> RESULT_LAST_SHIFT) & 1 == 1,
        }
    }
}

/// Why a sequence of beats is not one result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeatError {
    #[error("no result beats")]
    Empty,
    #[error("beat {position} carries class index {index}")]
    OutOfOrder { position: usize, index: u32 },
    #[error("beat {position} of {count} is marked last")]
    EarlyLast { position: usize, count: usize },
    #[error("the last beat is not marked last")]
    NoLast,
}

/// The result that one input's beats carry: the logit sums in class order and the class of
/// the last beat (the engine's own argmax, not recomputed).
pub fn inference_from_beats(beats: &[ResultBeat]) -> Result<Inference, BeatError> {
    let last = beats.last().ok_or(BeatError::Empty)?;
    for (position, b) in beats.iter().enumerate() {
        if b.index as usize != position {
            return Err(BeatError::OutOfOrder {
                position,
                index: b.index,
            });
        }
        if b.last && position + 1 != beats.len() {
            return Err(BeatError::EarlyLast {
                position,
                count: beats.len(),
            });
        }
    }
    if !last.last {
        return Err(BeatError::NoLast);
    }
    Ok(Inference {
        logit_sums: beats.iter().map(|b| b.logit).collect(),
        class: last.class as usize,
    })
}

// ---- board protocol (the UART host link, `docs/hardware.md` "Boards") ----

/// A command's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// `'P'`: answers [`REPLY_ACK`].
    Ping = b'P',
    /// `'W'`: address (4 bytes), data (4 bytes): one configuration-port write.
    Write = b'W',
    /// `'I'`: n (2 bytes), n input words: classify.
    Infer = b'I',
    /// `'L'`: as `'I'`, and the reply carries the logit sums.
    InferLogits = b'L',
}

impl Opcode {
    pub const ALL: [Opcode; 4] = [
        Opcode::Ping,
        Opcode::Write,
        Opcode::Infer,
        Opcode::InferLogits,
    ];

    pub fn byte(self) -> u8 {
        self as u8
    }

    pub fn from_byte(b: u8) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| o.byte() == b)
    }
}

pub const OP_PING: u8 = Opcode::Ping as u8;
pub const OP_WRITE: u8 = Opcode::Write as u8;
pub const OP_INFER: u8 = Opcode::Infer as u8;
pub const OP_INFER_LOGITS: u8 = Opcode::InferLogits as u8;
/// A command succeeded (`'K'`); a result follows it for `'I'` and `'L'`.
pub const REPLY_ACK: u8 = b'K';
/// A command failed (`'E'`); an [`ErrorCode`] byte follows.
pub const REPLY_ERROR: u8 = b'E';
/// A byte that does nothing: dropped between commands and while an input is classified.
pub const FILLER: u8 = 0xFF;
/// Bytes of the address and of the data of `'W'`.
pub const WRITE_FIELD_BYTES: usize = 4;
/// Bytes of the word count of `'I'` and `'L'`.
pub const COUNT_BYTES: usize = 2;
/// Bytes of one logit sum in a `'L'` reply (two's complement).
pub const LOGIT_BYTES: usize = 8;
/// Bytes of the class in a result reply.
pub const CLASS_BYTES: usize = 2;

/// The byte after [`REPLY_ERROR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// The first byte of a command is not an opcode.
    UnknownOpcode = 1,
    /// A byte arrived while the one before it was still waiting: it was lost.
    Overrun = 2,
    /// A byte's stop bit was low (wrong baud rate, noise, a break).
    Framing = 3,
    /// `'I'`/`'L'` with zero words (reported after the check byte).
    BadLength = 4,
    /// The check byte does not match: nothing was written, the input was dropped.
    BadCheck = 5,
    /// The command stopped arriving for longer than the timeout.
    Timeout = 6,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::UnknownOpcode,
        ErrorCode::Overrun,
        ErrorCode::Framing,
        ErrorCode::BadLength,
        ErrorCode::BadCheck,
        ErrorCode::Timeout,
    ];

    pub fn byte(self) -> u8 {
        self as u8
    }

    pub fn from_byte(b: u8) -> Option<Self> {
        ErrorCode::ALL.into_iter().find(|c| c.byte() == b)
    }
}

/// What the code means, for messages: `wrong check byte`.
impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorCode::UnknownOpcode => "unknown opcode",
            ErrorCode::Overrun => "a byte was lost",
            ErrorCode::Framing => "framing error",
            ErrorCode::BadLength => "classify command with no words",
            ErrorCode::BadCheck => "wrong check byte",
            ErrorCode::Timeout => "timeout",
        })
    }
}

/// The check byte of a command: the XOR of all its earlier bytes, opcode included.
pub fn check_byte(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |x, b| x ^ b)
}

/// Input words of `cols` bits travel as this many bytes (little-endian).
pub fn input_word_bytes(cols: usize) -> usize {
    cols.div_ceil(8).clamp(1, 4)
}

/// Bytes of a successful classify reply: the acknowledgement, the logit sums if asked for,
/// the class.
pub fn result_reply_bytes(classes: usize, logits: bool) -> usize {
    1 + if logits { LOGIT_BYTES * classes } else { 0 } + CLASS_BYTES
}

mod verilog;
pub use verilog::verilog_include;

#[cfg(test)]
mod tests;
