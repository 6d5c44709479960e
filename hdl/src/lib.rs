//! # nsm-hdl: the NSM engine in rust-hdl
//!
//! The hardware that computes `docs/engine-spec.md`: a systolic array of [`pe::Pe`]s with
//! row ends ([`row::RowEnd`]), memories, a sequencer and host ports ([`engine::NsmEngine`]).
//! `docs/hardware.md` documents the ports and the protocol.

use nsm_model::engine::config::{Accumulator, EngineConfig, EngineError};

/// Why an engine cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HdlError {
    #[error(transparent)]
    Config(#[from] EngineError),
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

/// Checks that `cfg` is valid and within what the hardware builds.
pub fn check_supported(cfg: &EngineConfig) -> Result<(), HdlError> {
    cfg.validate()?;
    let acc = match cfg.accumulator {
        Accumulator::Exact => cfg.widths().exact_acc_bits,
        Accumulator::Saturate { bits } => bits,
    };
    for (what, value, limit) in [
        ("cols", cfg.cols as u64, MAX_COLS as u64),
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

pub mod chain;
pub mod engine;
pub mod lfsr_gate;
pub mod neuron;
pub mod pe;
pub mod ram;
pub mod row;
pub mod update;
