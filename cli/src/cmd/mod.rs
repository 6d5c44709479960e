//! The command bodies, one file per group of commands; [`run`] dispatches a parsed command
//! line to them.

mod board;
mod early_stop;
mod engine;
mod onchip;
mod prove;
mod sim;
mod synth;
mod train;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nsm_model::data::{Dataset, MnistPaths, Split};
use nsm_model::forward::BinarizedSet;
use nsm_model::fsutil::OutputSet;

use crate::flags::{Cli, Command, DataArgs};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::train(a),
        Command::Eval(a) => train::eval(a),
        Command::Quantize(a) => engine::quantize(a),
        Command::Gates(a) => engine::gates(a),
        Command::PlotFiring(a) => engine::plot_firing(a),
        Command::Sweep(a) => engine::sweep(a),
        Command::EarlyStopSweep(a) => early_stop::early_stop_sweep(a),
        Command::Sim(a) => sim::sim(a),
        Command::Synth(a) => synth::synth(a),
        Command::SynthReport(a) => synth::synth_report(a),
        Command::Bitstream(a) => board::bitstream(a),
        Command::BoardStream(a) => board::board_stream(a),
        Command::BoardDecode(a) => board::board_decode(a),
        Command::TrainOnchip(a) => onchip::train_onchip(a),
        Command::Prove(a) => prove::prove(a),
    }
}

/// A new output set ([`OutputSet`]) of a command that reads `inputs`: no output may be one
/// of them. Plan every output on it before the work starts, write them when done, commit.
fn outputs<P: AsRef<Path>>(inputs: impl IntoIterator<Item = P>) -> Result<OutputSet> {
    let mut set = OutputSet::new();
    set.inputs(inputs)?;
    Ok(set)
}

/// `path` with `.suffix` in place of its extension: the name of a side file of an output
/// (`q.json` -> `q.weights.hex`).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.with_extension("");
    let mut name = stem.into_os_string();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

impl DataArgs {
    /// The image and label files of `split` this command reads.
    pub fn files(&self, split: Split) -> [PathBuf; 2] {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(MnistPaths::default_dir);
        let paths = MnistPaths::in_dir(&dir);
        let (images, labels) = match split {
            Split::Train => (paths.train_images, paths.train_labels),
            Split::Test => (paths.test_images, paths.test_labels),
        };
        [
            self.image_file.clone().unwrap_or(images),
            self.label_file.clone().unwrap_or(labels),
        ]
    }

    pub fn load(&self, split: Split) -> Result<Dataset> {
        let [images, labels] = self.files(split);
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
