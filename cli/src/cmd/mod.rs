//! The command bodies, one file per group of commands; [`run`] dispatches a parsed command
//! line to them.

mod board;
mod engine;
mod onchip;
mod sim;
mod synth;
mod train;

use std::path::Path;

use anyhow::{bail, Context, Result};
use nsm_model::data::{Dataset, MnistPaths, Split};
use nsm_model::forward::BinarizedSet;

use crate::flags::{Cli, Command, DataArgs};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::train(a),
        Command::Eval(a) => train::eval(a),
        Command::Quantize(a) => engine::quantize(a),
        Command::Gates(a) => engine::gates(a),
        Command::PlotFiring(a) => engine::plot_firing(a),
        Command::Sweep(a) => engine::sweep(a),
        Command::Sim(a) => sim::sim(a),
        Command::Synth(a) => synth::synth(a),
        Command::SynthReport(a) => synth::synth_report(a),
        Command::Bitstream(a) => board::bitstream(a),
        Command::BoardStream(a) => board::board_stream(a),
        Command::BoardDecode(a) => board::board_decode(a),
        Command::TrainOnchip(a) => onchip::train_onchip(a),
    }
}

/// Refuses an output file whose folder does not exist, before any work is done.
fn check_output_path(out: &Path) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("output folder {} does not exist", dir.display());
        }
    }
    Ok(())
}

impl DataArgs {
    pub fn load(&self, split: Split) -> Result<Dataset> {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(MnistPaths::default_dir);
        let paths = MnistPaths::in_dir(&dir);
        let (images, labels) = match split {
            Split::Train => (paths.train_images, paths.train_labels),
            Split::Test => (paths.test_images, paths.test_labels),
        };
        let images = self.image_file.clone().unwrap_or(images);
        let labels = self.label_file.clone().unwrap_or(labels);
        let data = Dataset::load(&images, &labels).with_context(|| {
            let name = match split {
                Split::Train => "training",
                Split::Test => "test",
            };
            format!("loading the {name} split")
        })?;
        Ok(match self.limit {
            Some(0) => bail!("--limit must be at least 1"),
            Some(n) => data.take(n),
            None => data,
        })
    }
}

/// The first `n` images of `data` as the engine's `+1`/`-1` inputs.
fn signs(data: &BinarizedSet, n: usize) -> Vec<Vec<i8>> {
    (0..n)
        .map(|i| {
            data.row(i)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        crate::flags::Cli::command().debug_assert();
    }
}
