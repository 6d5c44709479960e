//! # nsm-model: the golden software model of Neural Sampling Machines
//!
//! The float reference everything in nsm-hdl is checked against: NSM layers with per-synapse
//! blank-out noise (eq. 5 of Detorakis et al., NeurIPS 2019), the Gaussian variant (gNSM), the
//! stochastic sigmoid baseline (StNN), their training (straight-through gradients through
//! `2P - 1`, weight normalization eq. 6-7, data-dependent init eq. 8, Adam) and Monte Carlo
//! evaluation. [`equations`] holds each equation of the paper in one place.
//!
//! ```no_run
//! use nsm_model::{data::{MnistPaths, Split}, forward::BinarizedSet, train, eval};
//! let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
//! let train_set = BinarizedSet::from_dataset(&paths.load(Split::Train)?);
//! let opts = train::TrainOptions { epochs: 1, ..Default::default() };
//! let net = train::init_network(&opts, &train_set)?;
//! let mut trainer = train::Trainer::new(net, opts)?;
//! trainer.train_epoch(&train_set, 0, &mut |_, _| {})?;
//! let test_set = BinarizedSet::from_dataset(&paths.load(Split::Test)?);
//! let report = eval::evaluate_mc(&trainer.net, &test_set, eval::EvalOptions::default())?;
//! println!("{:.2}% test error", report.test_error_pct);
//! # Ok::<(), nsm_model::error::ModelError>(())
//! ```

pub mod blank_out;
pub mod data;
pub mod engine;
pub mod equations;
pub mod error;
pub mod eval;
pub mod forward;
pub mod fsutil;
pub mod idx;
pub mod json;
pub mod learn;
pub mod lfsr;
pub mod net;
pub mod seeds;
pub mod train;

pub use error::{ModelError, Result};
