//! Command-line definitions and their implementations.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use nsm_model::data::{Dataset, MnistPaths, Split};
use nsm_model::equations::Noise;
use nsm_model::eval::{evaluate_mc, EvalOptions, DEFAULT_MC_SAMPLES};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::{ModelKind, Network};
use nsm_model::train::{init_network, TrainOptions, Trainer};

#[derive(Debug, Parser)]
#[command(
    name = "nsm",
    version,
    about = "Neural Sampling Machines: golden model, training and evaluation"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a float NSM, gNSM or StNN on MNIST and write it as a network file.
    Train(TrainArgs),
    /// Monte Carlo test error of a network file on the MNIST test split.
    Eval(EvalArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModelArg {
    /// Blank-out (Bernoulli) synapses.
    Nsm,
    /// Gaussian multiplicative synapses.
    Gnsm,
    /// Stochastic sigmoid network baseline.
    Stnn,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Nsm => ModelKind::Nsm,
            ModelArg::Gnsm => ModelKind::Gnsm,
            ModelArg::Stnn => ModelKind::Stnn,
        }
    }
}

/// Where the MNIST files are. Defaults to the bundled 10k subset (or `$NSM_MNIST_DIR`).
#[derive(Debug, Args)]
struct DataArgs {
    /// Folder holding the four IDX files (gzip or raw; full-MNIST `t10k-*` names work too).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Override the images file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    images: Option<PathBuf>,
    /// Override the labels file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    labels: Option<PathBuf>,
    /// Use only the first N examples of the split.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

impl DataArgs {
    fn load(&self, split: Split) -> Result<Dataset> {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(MnistPaths::default_dir);
        let paths = MnistPaths::in_dir(&dir);
        let (images, labels) = match split {
            Split::Train => (paths.train_images, paths.train_labels),
            Split::Test => (paths.test_images, paths.test_labels),
        };
        let images = self.images.clone().unwrap_or(images);
        let labels = self.labels.clone().unwrap_or(labels);
        let data = Dataset::load(&images, &labels)
            .with_context(|| format!("loading the {split:?} split"))?;
        Ok(match self.limit {
            Some(0) => bail!("--limit must be at least 1"),
            Some(n) => data.take(n),
            None => data,
        })
    }
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "300,300,300")]
    hidden: Vec<usize>,
    /// Passes over the training split.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    epochs: usize,
    /// Seed of initialization, shuffling and noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = ModelArg::Nsm)]
    model: ModelArg,
    /// Blank-out probability p of the nsm model, in (0, 1).
    #[arg(long = "p", default_value_t = 0.5, allow_negative_numbers = true)]
    blank_out_p: f64,
    /// Standard deviation of the gnsm model's noise xi ~ N(1, sigma^2).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    sigma: f64,
    /// Adam step size.
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    lr: f64,
    /// Step size factor applied after every epoch.
    #[arg(long, default_value_t = TrainOptions::default().lr_decay)]
    lr_decay: f64,
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Gaussian noise (fraction of full scale) added to pixels before binarizing, training only.
    #[arg(long, default_value_t = TrainOptions::default().input_noise, allow_negative_numbers = true)]
    input_noise: f64,
    #[command(flatten)]
    data: DataArgs,
    /// No progress bar or per-epoch lines.
    #[arg(long)]
    quiet: bool,
    /// Network file to write (JSON, schema nsm-net/1).
    #[arg(long, value_name = "NET.json")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Network file (JSON, schema nsm-net/1).
    #[arg(long, value_name = "NET.json")]
    net: PathBuf,
    /// Monte Carlo passes per test image (softmax outputs averaged, then argmax).
    #[arg(long, default_value_t = DEFAULT_MC_SAMPLES)]
    mc: usize,
    /// Multiply every stochastic row and its bias by this factor first ("NSM scaled").
    #[arg(long, allow_negative_numbers = true)]
    scale: Option<f64>,
    /// Seed of the evaluation noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train(a),
        Command::Eval(a) => eval(a),
    }
}

fn check_output_path(out: &Path) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("output folder {} does not exist", dir.display());
        }
    }
    Ok(())
}

fn train(a: TrainArgs) -> Result<()> {
    let model: ModelKind = a.model.into();
    let noise = match model {
        ModelKind::Gnsm => Noise::Gaussian { sigma: a.sigma },
        _ => Noise::BlankOut {
            blank_out_p: a.blank_out_p,
        },
    };
    // Validate the p flag even for the StNN, which ignores it: a bad value is a typo.
    Noise::BlankOut {
        blank_out_p: a.blank_out_p,
    }
    .validate()
    .context("--p")?;
    let opts = TrainOptions {
        model,
        noise,
        hidden: a.hidden.clone(),
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.lr,
        lr_decay: a.lr_decay,
        input_noise: a.input_noise,
        seed: a.seed,
    };
    opts.validate()?;
    check_output_path(&a.out)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Train)?);
    let net = init_network(&opts, &data)?;
    let mut trainer = Trainer::new(net, opts.clone())?;
    if !a.quiet {
        eprintln!(
            "training {model} {:?} on {} images for {} epochs (seed {})",
            trainer.net.widths(),
            data.len(),
            opts.epochs,
            opts.seed
        );
    }
    let mut history = Vec::new();
    for epoch in 0..opts.epochs {
        let bar = if a.quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::new(data.len().div_ceil(opts.batch_size) as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix:>3} [{bar:30}] {pos}/{len} batches {elapsed}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_prefix(format!("{}", epoch + 1));
            b
        };
        let report =
            trainer.train_epoch(&data, epoch, &mut |done, _| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        if !a.quiet {
            eprintln!(
                "epoch {:>3}/{}: loss {:.4}, sampled train error {:.2}%, lr {:.2e}, {:.2} s",
                epoch + 1,
                opts.epochs,
                report.mean_loss,
                report.train_error_pct,
                report.learning_rate,
                report.seconds
            );
        }
        history.push(report);
    }
    let mut net = trainer.net;
    net.training = Some(json!({
        "tool": concat!("nsm ", env!("CARGO_PKG_VERSION")),
        "options": opts,
        "train_images": data.len(),
        "epochs": history,
    }));
    net.save(&a.out)
        .with_context(|| format!("writing {}", a.out.display()))?;
    if !a.quiet {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    if a.mc == 0 {
        bail!("--mc must be at least 1");
    }
    let mut net = Network::load(&a.net)?;
    if let Some(s) = a.scale {
        if !(s.is_finite() && s > 0.0) {
            bail!("--scale must be a positive number, got {s}");
        }
        net = net.scaled(s as f32);
    }
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let report = evaluate_mc(
        &net,
        &data,
        EvalOptions {
            mc_samples: a.mc,
            seed: a.seed,
        },
    )?;
    if a.json {
        println!(
            "{}",
            json!({
                "net": a.net,
                "model": net.model,
                "test_error_pct": report.test_error_pct,
                "errors": report.errors,
                "images": report.images,
                "mc_samples": report.mc_samples,
                "scale": a.scale.unwrap_or(1.0),
                "seed": a.seed,
            })
        );
    } else {
        println!(
            "test error {:.2}% ({} of {} images, {} Monte Carlo samples{})",
            report.test_error_pct,
            report.errors,
            report.images,
            report.mc_samples,
            a.scale
                .map(|s| format!(", rows scaled by {s}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
