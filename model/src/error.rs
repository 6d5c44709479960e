//! Typed errors of the golden model. Every variant names the offending file, field or value so
//! that a command-line user can fix the input without reading the source.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, reading or validating a network, or training.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file that could not be read; the OS error is the source (printed once, by the
    /// caller's error chain).
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file that could not be written. The OS error is part of the message and not a
    /// source, so an error chain prints it once.
    #[error("{path} could not be written: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// An output path refused before any work: the flag (or role), the path and why.
    #[error("{label} {path}: {reason}")]
    Output {
        label: String,
        path: PathBuf,
        reason: String,
    },
    #[error("{path}: not an IDX file of the expected kind: {reason}")]
    IdxFormat { path: PathBuf, reason: String },
    #[error(
        "{path}: truncated IDX data: header promises {expected} bytes of data, file has {found}"
    )]
    IdxTruncated {
        path: PathBuf,
        expected: usize,
        found: usize,
    },
    #[error("dataset mismatch: {0}")]
    DatasetMismatch(String),
    #[error(transparent)]
    NetJson(#[from] crate::json::JsonError),
    #[error("unsupported network schema: found {found:?}, this build reads {expected:?}")]
    NetSchema { found: String, expected: String },
    /// A network file that parsed but failed validation: names the file, then the cause.
    #[error("{path}: {reason}")]
    NetFile {
        path: PathBuf,
        reason: Box<ModelError>,
    },
    #[error("invalid network: {0}")]
    InvalidNetwork(String),
    #[error("layer sizes must be at least 1: {what} is 0")]
    ZeroSizeLayer { what: String },
    #[error("transmit probability p (xi = 1) must lie strictly between 0 and 1, got {0}")]
    TransmitP(f64),
    #[error("Gaussian noise standard deviation sigma must be finite and > 0, got {0}")]
    GaussianSigma(f64),
    #[error("invalid training option: {0}")]
    TrainOption(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("input size mismatch: network expects {expected} inputs, data has {found}")]
    InputSize { expected: usize, found: usize },
}

/// Result alias of the model crate.
pub type Result<T> = std::result::Result<T, ModelError>;
