//! # nsm-hdl: the NSM engine in rust-hdl
//!
//! The hardware that computes `docs/engine-spec.md`: a systolic array of [`pe::Pe`]s with
//! row ends ([`row::RowEnd`]), memories, a sequencer and host ports ([`engine::NsmEngine`]).
//! `docs/hardware.md` documents the ports and the protocol.

use nsm_model::engine::config::{Accumulator, EngineConfig, EngineError};
use rust_hdl::prelude::{Bits, Constant};

/// Why an engine cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HdlError {
    #[error(transparent)]
    Config(#[from] EngineError),
    #[error("{0}")]
    Options(&'static str),
    #[error("early_stop: the hardware does not build the stopping rule yet; the bit-exact models (nsm eval --qnet) run it; remove early_stop to build the engine with mc_samples passes per input")]
    EarlyStop,
    #[error("the hardware supports {what} up to {limit}, the configuration needs {value}")]
    Unsupported {
        what: &'static str,
        value: u64,
        limit: u64,
    },
}

/// Widest accumulator (`S`, `T`) the hardware builds: sums, differences and logits then stay
/// in 32-bit registers.
pub const MAX_ACC_BITS: u32 = 30;
/// Widest bias the hardware builds.
pub const MAX_BIAS_BITS: u32 = 30;
/// Most columns: a row's activation word is 32 bits.
pub const MAX_COLS: usize = 32;
/// Most inputs per array step (`cols * lanes`): a row's activation word is 32 bits.
pub const MAX_STEP_INPUTS: usize = 32;
/// Widest packed weight word of one column (`lanes * weight_bits`): the PE's weight port.
pub const MAX_COLUMN_WEIGHT_BITS: usize = 32;

/// How the emitted Verilog builds the PEs' two adders. The choice changes the Verilog text,
/// never what the hardware computes: the Rust models are the same, and the co-simulation
/// suites run both forms against the golden model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cells {
    /// Portable Verilog (`+`): any simulator, any synthesis flow.
    #[default]
    Portable,
    /// The ECP5's carry cells (`CCU2C`) instantiated directly, with the conditional negation
    /// and the Bernoulli gate inside the cells' own LUTs ([`pe::ECP5_ADDER_MODULE`]). Yosys
    /// would put each of them in a LUT4 of its own in front of the carry chain. Only
    /// `synth_ecp5` knows the cell; simulators take a model of it.
    Ecp5,
}

/// How an engine is emitted, beyond what its configuration says: choices that change the
/// Verilog text, never what the hardware computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// How the PEs' two adders are written.
    pub cells: Cells,
    /// How the weight memory's RAMs are written.
    pub weight_ram: WeightRam,
}

/// How the weight memory's RAMs are written: a choice of Verilog form for the target's
/// memories, never of what the engine computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightRam {
    /// One read and one write port (block RAM on every target).
    #[default]
    DualPort,
    /// One address port shared by reads and writes ([`ram::SyncRam::with_single_port`]):
    /// what Yosys maps to the iCE40 UltraPlus's four 256-kbit SPRAMs (`synth_ice40 -spram`),
    /// each 16K words of 16 bits. Not with `hard_block_registers`.
    SinglePort,
}

impl WeightRam {
    /// Deepest weight memory kept in block RAM on a device with SPRAMs: below this the
    /// SPRAMs' depth does not pay for the address multiplexer of each column (measured on the
    /// UP5K: `configs/up5k.json`'s 512 words went from fitting to 5,299 of 5,280 logic cells
    /// single-port).
    pub const SPRAM_MIN_WORDS: usize = 4096;

    /// The form for `cfg` on a device that has SPRAMs: single-port for a weight memory deeper
    /// than [`Self::SPRAM_MIN_WORDS`] words without `hard_block_registers`, else dual-port.
    pub fn on_spram_device(cfg: &EngineConfig) -> WeightRam {
        if cfg.weight_memory_words > Self::SPRAM_MIN_WORDS && !cfg.hard_block_registers {
            WeightRam::SinglePort
        } else {
            WeightRam::DualPort
        }
    }
}

/// Checks that `cfg` is valid and within what the hardware builds.
pub fn check_supported(cfg: &EngineConfig) -> Result<(), HdlError> {
    cfg.validate()?;
    if cfg.early_stop.is_some() {
        return Err(HdlError::EarlyStop);
    }
    let acc = match cfg.accumulator {
        Accumulator::Exact => cfg.widths().exact_acc_bits,
        Accumulator::Saturate { bits } => bits,
    };
    for (what, value, limit) in [
        ("cols", cfg.cols as u64, MAX_COLS as u64),
        (
            "inputs per array step (cols x lanes)",
            cfg.step_inputs() as u64,
            MAX_STEP_INPUTS as u64,
        ),
        (
            "bits of a column's weights (lanes x weight_bits)",
            (cfg.lanes as u64) * u64::from(cfg.weight_bits),
            MAX_COLUMN_WEIGHT_BITS as u64,
        ),
        (
            "accumulator width (bits)",
            u64::from(acc),
            u64::from(MAX_ACC_BITS),
        ),
        (
            "bias_bits",
            u64::from(cfg.bias_bits),
            u64::from(MAX_BIAS_BITS),
        ),
    ] {
        if value > limit {
            return Err(HdlError::Unsupported { what, value, limit });
        }
    }
    Ok(())
}

/// Masks that cut an `N`-bit two's-complement vector to its low `bits` bits and sign-extend
/// it back: `(low, sign, high)` = the low `bits` bits, bit `bits - 1`, and the bits above.
/// Blocks keep ports as wide as the widest configuration and apply these where a value is
/// formed, as
///
/// ```text
/// x = v & low;  if (v & sign).any() { x = x | high }
/// ```
///
/// which is the identity on every value that fits in `bits` (the engine contract guarantees
/// that), and tells synthesis that the upper bits are copies of the sign bit: Yosys then keeps
/// one flip-flop for them and trims the adders that feed them.
pub fn fit_masks<const N: usize>(
    bits: u32,
) -> (Constant<Bits<N>>, Constant<Bits<N>>, Constant<Bits<N>>) {
    let bits = (bits as usize).clamp(1, N);
    let all = if N == 64 { u64::MAX } else { (1u64 << N) - 1 };
    let low = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (
        Constant::new(low.into()),
        Constant::new((1u64 << (bits - 1)).into()),
        Constant::new((all & !low).into()),
    )
}

/// A mask of the low `bits` bits of an `N`-bit unsigned vector (a counter or an address that
/// never exceeds `2^bits - 1`): synthesis drops the flip-flops above it.
pub fn low_mask<const N: usize>(bits: u32) -> Constant<Bits<N>> {
    let bits = (bits as usize).clamp(1, N);
    Constant::new(
        (if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        })
        .into(),
    )
}

/// The value of a 32-bit signed port, for the leaf blocks' Rust models.
pub(crate) fn to_i64(x: rust_hdl::prelude::Signed<32>) -> i64 {
    i64::from(x.inner().to_u64() as u32 as i32)
}

/// Bits of an unsigned value that holds `0..=n`.
pub fn unsigned_bits(n: u64) -> u32 {
    (64 - n.leading_zeros()).max(1)
}

#[macro_use]
mod settle;

pub mod board;
pub mod byte_top;
pub mod chain;
pub mod engine;
pub mod extend;
pub mod host_link;
pub mod lfsr_gate;
pub mod neuron;
pub mod pe;
pub mod ram;
pub mod row;
pub mod serial;
pub mod uart_rx;
pub mod uart_tx;
pub mod update;
