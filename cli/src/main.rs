//! `nsm`: the command for the whole chain, from training to bitstreams.
//!
//! `flags` is the command line (clap), `cmd/` the command bodies, one file per group;
//! `configs` holds the shipped engine configurations, `tables` the tables the engine
//! commands print.

mod cmd;
mod configs;
mod flags;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match cmd::run(flags::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
