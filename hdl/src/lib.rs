//! # nsm-hdl: the NSM engine in rust-hdl
//!
//! The hardware that computes `docs/engine-spec.md`: a systolic array of [`pe::Pe`]s.

pub mod chain;
pub mod engine;
pub mod neuron;
pub mod pe;
pub mod ram;
pub mod row;
