//! Command-line definitions and their implementations.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::plot::Chart;
use nsm_codegen::cells::CellsArg;
use nsm_sim::{CycleModel, EngineSim, LoadPath};

use nsm_model::data::{Dataset, MnistPaths, Split};
use nsm_model::engine::config::{EngineConfig, LfsrConfig};
use nsm_model::engine::firing::firing_vs_drive;
use nsm_model::engine::gates::{gate_frequency, neighbour_correlations, LagRow};
use nsm_model::engine::memory::memory_images;
use nsm_model::engine::qnet::{self, QNet};
use nsm_model::engine::schedule::seed_spacing;
use nsm_model::engine::BitExact;
use nsm_model::equations::Noise;
use nsm_model::eval::{evaluate_mc, EvalOptions, DEFAULT_MC_SAMPLES};
use nsm_model::forward::BinarizedSet;
use nsm_model::fsutil::atomic_write;
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
    /// Monte Carlo test error on the MNIST test split: of a float network (--net), or of a
    /// quantized network on the bit-exact engine model (--qnet with --config).
    Eval(EvalArgs),
    /// Quantize a float network for an engine configuration; writes the quantized network
    /// (JSON) and its memory images ($readmemh hex) beside it.
    Quantize(QuantizeArgs),
    /// Statistics of the PE gate streams of an engine: open frequency and the correlation of
    /// neighbouring PEs' streams at lags 0..=16.
    Gates(GatesArgs),
    /// Plot the firing frequency of the quantized first-layer neurons against
    /// 1/2 (1 + erf(x)), measured on the bit-exact model (SVG, plus the bins as JSON).
    PlotFiring(PlotFiringArgs),
    /// Accuracy of the bit-exact model over weight bits 2..=8 and LFSR widths 8/16/32
    /// (a markdown table and JSON).
    Sweep(SweepArgs),
    /// Run test images through the cycle-accurate rust-hdl engine and compare every result
    /// with the bit-exact model.
    Sim(SimArgs),
    /// Synthesize (Yosys) and place and route (nextpnr) the engine; report LUTs, flip-flops,
    /// block RAMs, DSPs, LUTs per PE, Fmax and whether it fits.
    Synth(SynthArgs),
    /// Synthesize a target at several array sizes; write a markdown table and a figure
    /// (resources and Fmax against array size).
    SynthReport(SynthReportArgs),
    /// Build a board's bitstream: the engine with a UART host link (Yosys, nextpnr, icepack or
    /// ecppack); report utilization and Fmax.
    Bitstream(BitstreamArgs),
    /// Write the bytes that load a quantized network onto a board and classify test images
    /// (send them with any serial tool); optionally the replies the bit-exact model predicts.
    BoardStream(BoardStreamArgs),
    /// Decode a board's replies to a `board-stream` file and compare them with the bit-exact
    /// model.
    BoardDecode(BoardDecodeArgs),
    /// Train a quantized network with the on-chip learning rule (fixed-point mirror of the
    /// update unit); prints the test error before and after.
    TrainOnchip(crate::onchip::TrainOnchipArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BoardArg {
    /// iCEBreaker v1.0 (iCE40 UP5K), 12 MHz.
    Icebreaker,
    /// ULX3S with an ECP5 LFE5U-25F, 25 MHz.
    Ulx3s,
    /// ULX3S with an ECP5 LFE5U-85F, 25 MHz.
    #[value(name = "ulx3s-85f")]
    Ulx3s85f,
}

impl BoardArg {
    fn board(self) -> nsm_codegen::board::Board {
        use nsm_codegen::board::Board;
        match self {
            BoardArg::Icebreaker => Board::Icebreaker,
            BoardArg::Ulx3s => Board::Ulx3s,
            BoardArg::Ulx3s85f => Board::Ulx3s85f,
        }
    }

    /// The shipped configuration for the board.
    fn default_config(self) -> PathBuf {
        let name = match self {
            BoardArg::Icebreaker => "icebreaker",
            BoardArg::Ulx3s | BoardArg::Ulx3s85f => "ulx3s",
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{name}.json"))
    }
}

#[derive(Debug, Args)]
struct BitstreamArgs {
    #[arg(long, value_enum)]
    board: BoardArg,
    /// Engine configuration [configs/icebreaker.json or configs/ulx3s.json].
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Folder for the bitstream, report.json and the tools' logs [bitstream-<board>].
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Folder for the tool runs (kept); default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BoardStreamArgs {
    /// The board the bytes are for (its clock sets how many filler bytes cover an inference).
    #[arg(long, value_enum)]
    board: BoardArg,
    #[command(flatten)]
    session: BoardSessionArgs,
    /// No filler bytes after each input: for a host that waits for each reply.
    #[arg(long)]
    no_fillers: bool,
    /// The byte stream to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the reply bytes the bit-exact model predicts.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
}

/// What a board session is: `board-decode` must be given the same as `board-stream` was.
#[derive(Debug, Args)]
struct BoardSessionArgs {
    /// The quantized network (`nsm quantize`) loaded onto the board.
    #[arg(long, value_name = "QNET.json")]
    qnet: PathBuf,
    /// The engine configuration the board was built with.
    #[arg(long, value_name = "ENGINE.json")]
    config: PathBuf,
    /// Test images to classify.
    #[arg(long, default_value_t = 10)]
    images: usize,
    /// Ask for every class's logit sum too (`'L'` instead of `'I'`).
    #[arg(long)]
    logits: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Debug, Args)]
struct BoardDecodeArgs {
    #[command(flatten)]
    session: BoardSessionArgs,
    /// The bytes the board sent back.
    #[arg(long, value_name = "FILE")]
    replies: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    Up5k,
    Hx8k,
    #[value(name = "ecp5-25f")]
    Ecp525f,
    Generic,
}

#[derive(Debug, Args)]
struct SynthArgs {
    #[arg(long, value_enum)]
    target: TargetArg,
    /// Engine configuration [configs/<target>.json; generic: configs/default.json].
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Folder for the tool runs (kept); default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Synthesize the on-chip learning update unit instead of the engine (its formats from
    /// --config and --learn).
    #[arg(long)]
    update_unit: bool,
    /// Learning formats of the update unit (nsm-learn/1 JSON) [built-in defaults].
    #[arg(long, value_name = "LEARN.json", requires = "update_unit")]
    learn: Option<PathBuf>,
    /// Synthesis only: skip place-and-route (no Fmax).
    #[arg(long)]
    no_pnr: bool,
    /// The placer's seed (`nextpnr --seed`) [nextpnr's default].
    #[arg(long, conflicts_with = "no_pnr")]
    seed: Option<u64>,
    /// How the PEs' sums are written [ecp5-25f: ecp5 (its carry cells); others: portable].
    #[arg(long, value_enum, conflicts_with = "update_unit")]
    cells: Option<CellsArg>,
    #[arg(long)]
    json: bool,
}

/// `--cells` if given, else the target's own form.
fn cells_for(
    arg: Option<CellsArg>,
    target: nsm_codegen::synth::Target,
) -> nsm_codegen::cells::Cells {
    arg.map_or(target.cells(), Into::into)
}

#[derive(Debug, Args)]
struct SynthReportArgs {
    #[arg(long, value_enum)]
    target: TargetArg,
    /// Array sizes n (n x n), comma-separated [2,4,8; ecp5-25f: 4,8,16].
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    sizes: Option<Vec<usize>>,
    /// Configuration the sizes are applied to [the target's shipped one].
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Where `synth-<target>.md`, `.svg` and `.json` go.
    #[arg(long, value_name = "DIR", default_value = "docs/reports")]
    out_dir: PathBuf,
    /// Folder for the tool runs (kept, one subfolder per size); default: temporary.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// The placer's seed (`nextpnr --seed`) for every size [nextpnr's default].
    #[arg(long)]
    seed: Option<u64>,
    /// How the PEs' sums are written [ecp5-25f: ecp5 (its carry cells); others: portable].
    #[arg(long, value_enum)]
    cells: Option<CellsArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SimEngine {
    /// rust-hdl's own simulator (cycle by cycle, in process).
    RustHdl,
    /// The emitted Verilog, compiled by Verilator, driven by the self-checking testbench.
    Verilator,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Which simulator runs the engine.
    #[arg(long, value_enum, default_value_t = SimEngine::RustHdl)]
    engine: SimEngine,
    /// Folder for the Verilator run (Verilog, vectors, build, logs); default: a fresh
    /// temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    #[arg(long, value_name = "QNET.json")]
    qnet: PathBuf,
    #[arg(long, value_name = "ENGINE.json")]
    config: PathBuf,
    /// Test images to run.
    #[arg(long, default_value_t = 20)]
    images: usize,
    /// Write a VCD trace of every signal (opens in GTKWave; large for long runs).
    #[arg(long, value_name = "FILE")]
    vcd: Option<PathBuf>,
    /// Load the network through the configuration port (as a host would) instead of the
    /// memory back door.
    #[arg(long)]
    load_through_port: bool,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GatesArgs {
    /// Engine configuration [configs/default.json].
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Gates per PE to analyse.
    #[arg(long, default_value_t = 100_000)]
    gates: usize,
    /// Also show PE seeds spaced this many LFSR steps apart (e.g. 1: naive adjacent seeds).
    #[arg(long, value_name = "STEPS")]
    compare_spacing: Option<u64>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PlotFiringArgs {
    #[arg(long, value_name = "QNET.json")]
    qnet: PathBuf,
    #[arg(long, value_name = "ENGINE.json")]
    config: PathBuf,
    /// Test images to run: --limit N [200].
    #[command(flatten)]
    data: DataArgs,
    /// SVG file to write (the bins go to the same name with .json).
    #[arg(long, value_name = "FILE.svg")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Float network to quantize at every point.
    #[arg(long, value_name = "NET.json")]
    net: PathBuf,
    /// Base engine configuration [configs/default.json]; weight bits and LFSR width vary.
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Monte Carlo samples per image [the configuration's].
    #[arg(long)]
    mc: Option<usize>,
    #[command(flatten)]
    data: DataArgs,
    /// Markdown report to write (the numbers also go to the same name with .json).
    #[arg(long, value_name = "REPORT.md")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct QuantizeArgs {
    /// Float network file (nsm-net/1).
    #[arg(long, value_name = "NET.json")]
    net: PathBuf,
    /// Engine configuration (nsm-engine/1).
    #[arg(long, value_name = "ENGINE.json")]
    config: PathBuf,
    /// Quantized network to write; `<stem>.weights.hex`, `<stem>.neurons.hex` and
    /// `<stem>.memmap.json` are written next to it.
    #[arg(long, value_name = "QNET.json")]
    out: PathBuf,
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
pub struct DataArgs {
    /// Folder holding the four IDX files (gzip or raw; full-MNIST `t10k-*` names work too).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Override the images file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    image_file: Option<PathBuf>,
    /// Override the labels file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    label_file: Option<PathBuf>,
    /// Use only the first N examples of the split.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
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
    /// Float network file (JSON, schema nsm-net/1).
    #[arg(
        long,
        value_name = "NET.json",
        required_unless_present = "qnet",
        conflicts_with = "qnet"
    )]
    net: Option<PathBuf>,
    /// Quantized network (nsm-qnet/1), run on the bit-exact engine model; needs --config.
    #[arg(long, value_name = "QNET.json", requires = "config")]
    qnet: Option<PathBuf>,
    /// Engine configuration for --qnet.
    #[arg(long, value_name = "ENGINE.json")]
    config: Option<PathBuf>,
    /// Monte Carlo passes per test image [float: 100; engine: the configuration's mc_samples].
    #[arg(long)]
    mc: Option<usize>,
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
        Command::Quantize(a) => quantize(a),
        Command::Gates(a) => gates(a),
        Command::PlotFiring(a) => plot_firing(a),
        Command::Sweep(a) => sweep(a),
        Command::Sim(a) => sim(a),
        Command::Synth(a) => synth(a),
        Command::SynthReport(a) => synth_report(a),
        Command::Bitstream(a) => bitstream(a),
        Command::BoardStream(a) => board_stream(a),
        Command::BoardDecode(a) => board_decode(a),
        Command::TrainOnchip(a) => crate::onchip::train_onchip(a),
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

fn quantize(a: QuantizeArgs) -> Result<()> {
    let cfg = EngineConfig::load(&a.config)?;
    let net = Network::load(&a.net)?;
    check_output_path(&a.out)?;
    let q = qnet::quantize(&net, &cfg)?;
    let mem = memory_images(&q, &cfg);
    let stem = a.out.with_extension("");
    let side = |suffix: &str| PathBuf::from(format!("{}.{suffix}", stem.display()));
    let memmap = json!({
        "schema": "nsm-memmap/1",
        "config": cfg,
        "derived_widths": cfg.widths(),
        "memories": mem,
    });
    // Write the side files first and the quantized network last, each atomically, so a
    // complete QNET.json always comes with its memory images.
    atomic_write(&side("weights.hex"), mem.weights_hex.as_bytes())?;
    atomic_write(&side("neurons.hex"), mem.neurons_hex.as_bytes())?;
    atomic_write(
        &side("memmap.json"),
        serde_json::to_string_pretty(&memmap)?.as_bytes(),
    )?;
    atomic_write(&a.out, q.to_json().as_bytes())?;
    let r = &q.report;
    eprintln!(
        "quantized {:?} to {}-bit weights: {} a_i and {} biases saturated ({} in the output layer); wrote {}",
        q.widths(),
        cfg.weight_bits,
        r.a_saturated,
        r.bias_saturated,
        r.output_bias_saturated,
        a.out.display()
    );
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    if a.mc == Some(0) {
        bail!("--mc must be at least 1");
    }
    if let Some(qpath) = &a.qnet {
        return eval_bit_exact(&a, qpath);
    }
    let net_path = a.net.clone().expect("clap requires --net without --qnet");
    let mut net = Network::load(&net_path)?;
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
            mc_samples: a.mc.unwrap_or(DEFAULT_MC_SAMPLES),
            seed: a.seed,
        },
    )?;
    if a.json {
        println!(
            "{}",
            json!({
                "net": net_path,
                "engine": "float",
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

fn eval_bit_exact(a: &EvalArgs, qpath: &Path) -> Result<()> {
    let cfg_path = a
        .config
        .as_ref()
        .expect("clap requires --config with --qnet");
    let mut cfg = EngineConfig::load(cfg_path)?;
    if let Some(mc) = a.mc {
        cfg.mc_samples = mc;
        cfg.validate().context("--mc")?;
    }
    if a.scale.is_some() {
        bail!("--scale applies to float networks (--net); a quantized row has no float scale");
    }
    let q = QNet::load(qpath, &cfg)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let engine = BitExact::new(&cfg, &q)?;
    let report = engine.evaluate(&data)?;
    let rate = report.synapse_samples as f64 / report.seconds;
    if a.json {
        println!(
            "{}",
            json!({
                "qnet": qpath,
                "config": cfg_path,
                "engine": "bit-exact",
                "test_error_pct": report.test_error_pct,
                "errors": report.errors,
                "images": report.images,
                "mc_samples": report.mc_samples,
                "synapse_samples": report.synapse_samples,
                "seconds": report.seconds,
                "synapse_samples_per_second": rate,
            })
        );
    } else {
        println!(
            "test error {:.2}% ({} of {} images, {} Monte Carlo samples, bit-exact engine model, {:.2e} synapse-samples/s)",
            report.test_error_pct, report.errors, report.images, report.mc_samples, rate
        );
    }
    Ok(())
}

impl TargetArg {
    fn target(self) -> nsm_codegen::synth::Target {
        use nsm_codegen::synth::Target;
        match self {
            TargetArg::Up5k => Target::Up5k,
            TargetArg::Hx8k => Target::Hx8k,
            TargetArg::Ecp525f => Target::Ecp5_25f,
            TargetArg::Generic => Target::Generic,
        }
    }

    /// The target's shipped configuration (`configs/<target>.json`; generic: the default).
    fn default_config(self) -> PathBuf {
        let target = self.target();
        let name = if target == nsm_codegen::synth::Target::Generic {
            "default"
        } else {
            target.name()
        };
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{name}.json"))
    }
}

fn synth_report(a: SynthReportArgs) -> Result<()> {
    use nsm_codegen::synth::{synthesize_with_cells, Target};
    let target = a.target.target();
    let sizes = a.sizes.clone().unwrap_or_else(|| {
        if target == Target::Ecp5_25f {
            vec![4, 8, 16]
        } else {
            vec![2, 4, 8]
        }
    });
    if sizes.is_empty() || sizes.contains(&0) {
        bail!("--sizes needs one or more array sizes of at least 1");
    }
    let cfg_path = a
        .config
        .clone()
        .unwrap_or_else(|| a.target.default_config());
    let base = EngineConfig::load(&cfg_path)?;
    let work = a.work_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("nsm-synth-report-{}", std::process::id()))
    });
    let mut reports = Vec::new();
    for &n in &sizes {
        let cfg = EngineConfig {
            rows: n,
            cols: n,
            ..base.clone()
        };
        cfg.validate()
            .with_context(|| format!("the {n}x{n} variant of {}", cfg_path.display()))?;
        eprintln!("synthesizing {n}x{n} for {} ...", target.name());
        let r = synthesize_with_cells(
            &cfg,
            target,
            cells_for(a.cells, target),
            &work.join(format!("{n}x{n}")),
            a.seed,
        )?;
        eprintln!(
            "  {} LUTs, {} FFs, Fmax {}",
            r.luts,
            r.ffs,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1} MHz"))
        );
        reports.push(r);
    }
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let name = target.name();
    let mut md = format!(
        "Synthesis of the engine for `{name}` (Yosys, nextpnr; the engine inside the four-pin measurement harness), from `{}` with rows = cols = n.\n\n| array | PEs | LUT4 | LUT4 / PE | all LUT4 / PE | FFs | carries | block RAMs | DSPs | Fmax (MHz) | target (MHz) | fits |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        cfg_path.file_name().map_or("?".into(), |f| f.to_string_lossy())
    );
    for r in &reports {
        md.push_str(&format!(
            "| {}x{} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.0} | {} |\n",
            r.rows,
            r.cols,
            r.rows * r.cols,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total_per_pe,
            r.ffs,
            r.carries,
            r.brams,
            r.dsps,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1}")),
            r.target_mhz,
            if target == Target::Generic {
                "-".to_string()
            } else if r.fits {
                "yes".to_string()
            } else {
                format!(
                    "no: {}",
                    r.pnr_error.clone().unwrap_or_default().replace('|', "/")
                )
            }
        ));
    }
    md.push_str(&format!(
        "\nLUT4 counts the logic LUTs; *all LUT4* adds, on the ECP5, the two LUT4s inside each carry cell and the six of each distributed RAM (nextpnr's \"Total LUT4s\"; an iCE40 adder bit is a LUT of its own, already counted). PE sums: {}.\n",
        match reports.first().map(|r| r.cells) {
            Some("ecp5") => "on the ECP5's carry cells (`--cells ecp5`)",
            Some(_) => "portable Verilog",
            None => "-",
        }
    ));
    md.push_str(&format!(
        "\nCommand: `nsm synth-report --target {name} --sizes {}{}{}{}`; figure: `synth-{name}.svg`.\n",
        sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(","),
        a.config
            .as_ref()
            .map_or(String::new(), |p| format!(" --config {}", p.display())),
        a.seed.map_or(String::new(), |s| format!(" --seed {s}")),
        a.cells.map_or(String::new(), |c| format!(
            " --cells {}",
            nsm_codegen::cells::name(c.into())
        ))
    ));
    let pes = |r: &nsm_codegen::synth::SynthReport| (r.rows * r.cols) as f64;
    let max_pes = reports.iter().map(pes).fold(1.0, f64::max);
    let max_res = reports
        .iter()
        .map(|r| r.lut4s_total.max(r.ffs) as f64)
        .fold(1.0, f64::max);
    let resources = Chart {
        title: &format!("{name}: resources against array size"),
        x_label: "PEs (rows x cols)",
        y_label: "cells",
        x_range: (0.0, max_pes * 1.05),
        y_range: (0.0, max_res * 1.1),
        lines: vec![
            (
                "LUT4 (all, with the carry cells')",
                reports
                    .iter()
                    .map(|r| (pes(r), r.lut4s_total as f64))
                    .collect(),
            ),
            (
                "flip-flops",
                reports.iter().map(|r| (pes(r), r.ffs as f64)).collect(),
            ),
        ],
        dots: vec![],
    };
    let fmax: Vec<(f64, f64)> = reports
        .iter()
        .filter_map(|r| r.fmax_mhz.map(|f| (pes(r), f)))
        .collect();
    let max_f = fmax
        .iter()
        .map(|p| p.1)
        .fold(target.target_mhz(), f64::max)
        .max(1.0);
    let speed = Chart {
        title: &format!("{name}: Fmax against array size"),
        x_label: "PEs (rows x cols)",
        y_label: "MHz",
        x_range: (0.0, max_pes * 1.05),
        y_range: (0.0, max_f * 1.2),
        lines: vec![
            ("Fmax (nextpnr)", fmax),
            (
                "target",
                vec![
                    (0.0, target.target_mhz()),
                    (max_pes * 1.05, target.target_mhz()),
                ],
            ),
        ],
        dots: vec![],
    };
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("creating {}", a.out_dir.display()))?;
    let md_path = a.out_dir.join(format!("synth-{name}.md"));
    atomic_write(&md_path, md.as_bytes())?;
    atomic_write(
        &a.out_dir.join(format!("synth-{name}.svg")),
        crate::plot::side_by_side(&resources, &speed).as_bytes(),
    )?;
    atomic_write(
        &a.out_dir.join(format!("synth-{name}.json")),
        serde_json::to_string_pretty(&reports)?.as_bytes(),
    )?;
    print!("{md}");
    eprintln!("wrote {}", md_path.display());
    Ok(())
}

fn synth(a: SynthArgs) -> Result<()> {
    use nsm_codegen::synth::{synthesize_with_cells, Target};
    let target = a.target.target();
    let cfg_path = a
        .config
        .clone()
        .unwrap_or_else(|| a.target.default_config());
    let cfg = EngineConfig::load(&cfg_path)?;
    let dir = a
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("nsm-synth-{}", std::process::id())));
    if a.update_unit {
        return synth_update_unit(&a, &cfg, target, &dir);
    }
    if a.no_pnr {
        bail!("--no-pnr applies to --update-unit");
    }
    let report = synthesize_with_cells(&cfg, target, cells_for(a.cells, target), &dir, a.seed);
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let r = report?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} {}x{}: {} LUTs ({:.1} per PE; {:.1} with the carry cells' LUTs), {} FFs, {} carries, {} block RAMs, {} DSPs, Fmax {}, {}",
            r.target,
            r.rows,
            r.cols,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total_per_pe,
            r.ffs,
            r.carries,
            r.brams,
            r.dsps,
            r.fmax_mhz.map_or("-".to_string(), |f| format!("{f:.1} MHz (target {:.0})", r.target_mhz)),
            if target == Target::Generic { "no place-and-route".to_string() } else if r.fits { "fits".to_string() } else { format!("does not fit: {}", r.pnr_error.clone().unwrap_or_default()) }
        );
    }
    Ok(())
}

fn bitstream(a: BitstreamArgs) -> Result<()> {
    use nsm_codegen::board::build_bitstream;
    let board = a.board.board();
    let cfg_path = a.config.clone().unwrap_or_else(|| a.board.default_config());
    let cfg = EngineConfig::load(&cfg_path)?;
    let out_dir = a
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bitstream-{}", board.name())));
    let work = a.work_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("nsm-bitstream-{}", std::process::id()))
    });
    let report = build_bitstream(board, &cfg, &out_dir, &work);
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    let r = report.with_context(|| format!("building the {} bitstream", board.name()))?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let util: Vec<String> = r
            .utilization
            .iter()
            .map(|(k, used, avail)| {
                format!(
                    "{k} {used}/{avail} ({:.0}%)",
                    100.0 * *used as f64 / (*avail).max(1) as f64
                )
            })
            .collect();
        println!(
            "{} ({}), {}x{} engine: {} LUTs, {} FFs, {} block RAMs, {} DSPs; {}; Fmax {} at a {:.0} MHz clock\nwrote {} ({} bytes) in {:.0} s",
            r.board,
            r.device,
            r.rows,
            r.cols,
            r.luts,
            r.ffs,
            r.brams,
            r.dsps,
            util.join(", "),
            r.fmax_mhz.map_or("-".to_string(), |f| format!("{f:.1} MHz")),
            r.clock_mhz,
            r.bitstream.display(),
            r.bitstream_bytes,
            r.seconds
        );
    }
    Ok(())
}

/// The test images of a board run, as `+1`/`-1` values.
fn board_images(data: &DataArgs, images: usize) -> Result<(Vec<Vec<i8>>, Vec<u8>)> {
    if images == 0 {
        bail!("--images must be at least 1");
    }
    let set = BinarizedSet::from_dataset(&data.load(Split::Test)?);
    let n = images.min(set.len());
    let inputs = (0..n)
        .map(|i| {
            set.row(i)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        })
        .collect();
    Ok((inputs, set.labels[..n].to_vec()))
}

/// The byte stream of a board run (ping, network, one classify command per input, ping)
/// and the model's results for the inputs.
/// A board session: its test images (`+1`/`-1`) and labels, its byte stream, and the
/// model's results for the images.
struct BoardSession {
    inputs: Vec<Vec<i8>>,
    labels: Vec<u8>,
    stream: nsm_sim::host::HostStream,
    results: Vec<nsm_model::engine::Inference>,
}

/// The session `a` describes, with `fillers` filler bytes after each input when given.
fn board_session(a: &BoardSessionArgs, fillers: Option<u32>) -> Result<BoardSession> {
    use nsm_sim::host::{filler_bytes, HostStream};
    let cfg = EngineConfig::load(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let (inputs, labels) = board_images(&a.data, a.images)?;
    let model = BitExact::new(&cfg, &q)?;
    let mut states = model.seeds().to_vec();
    let classes = *q.widths().last().expect("a network has an output layer");
    let per_input = fillers.map_or(0, |cpb| filler_bytes(&cfg, &q, a.logits, cpb));
    let mut stream = HostStream::new();
    stream.ping();
    stream.load(&q, cfg.cols);
    let mut results = Vec::new();
    for x in &inputs {
        stream.classify(x, cfg.cols, classes, a.logits, per_input);
        results.push(model.infer(x, &mut states)?);
    }
    stream.ping();
    Ok(BoardSession {
        inputs,
        labels,
        stream,
        results,
    })
}

fn board_stream(a: BoardStreamArgs) -> Result<()> {
    use nsm_hdl::board::BoardParams;
    check_output_path(&a.out)?;
    if let Some(e) = &a.expect {
        check_output_path(e)?;
    }
    let params = BoardParams::for_board(&a.board.board().spec())?;
    let fillers = (!a.no_fillers).then_some(params.clocks_per_bit);
    let BoardSession {
        inputs,
        stream,
        results,
        ..
    } = board_session(&a.session, fillers)?;
    atomic_write(&a.out, &stream.bytes)?;
    if let Some(e) = &a.expect {
        atomic_write(e, &stream.expected_replies(&results))?;
    }
    eprintln!(
        "wrote {} ({} bytes: ping, {} configuration writes, {} inputs, ping); expect {} reply bytes",
        a.out.display(),
        stream.bytes.len(),
        stream.expect.len() - 2 - inputs.len(),
        inputs.len(),
        stream.expected_replies(&results).len()
    );
    Ok(())
}

fn board_decode(a: BoardDecodeArgs) -> Result<()> {
    use nsm_sim::host::{decode_replies, Reply};
    let BoardSession {
        labels,
        stream,
        results,
        ..
    } = board_session(&a.session, None)?;
    let bytes =
        std::fs::read(&a.replies).with_context(|| format!("reading {}", a.replies.display()))?;
    let replies = decode_replies(&bytes, &stream.expect)
        .with_context(|| format!("decoding {}", a.replies.display()))?;
    let errors = replies
        .iter()
        .filter(|r| matches!(r, Reply::Error(_)))
        .count();
    let mut classes = Vec::new();
    let (mut mismatches, mut wrong) = (0usize, 0usize);
    let mut result_replies = replies.iter().filter(|r| !matches!(r, Reply::Ack));
    for (n, (inf, &label)) in results.iter().zip(&labels).enumerate() {
        let got = result_replies.next();
        let want = Reply::from_inference(inf, a.session.logits);
        let class = match got {
            Some(Reply::Result { class, .. }) => Some(*class),
            _ => None,
        };
        if got != Some(&want) {
            mismatches += 1;
            if !a.json {
                eprintln!("image {n}: board {got:?}, bit-exact model {want:?}");
            }
        }
        if class != Some(u16::from(label)) {
            wrong += 1;
        }
        classes.push(class);
    }
    if a.json {
        println!(
            "{}",
            json!({
                "images": results.len(),
                "classes": classes,
                "labels": labels,
                "error_replies": errors,
                "mismatches_vs_golden": mismatches,
                "test_error_pct": 100.0 * wrong as f64 / results.len() as f64,
            })
        );
    } else {
        println!(
            "{} images: classes {:?}; {} error replies, {} mismatches vs the bit-exact model, {:.1}% test error",
            results.len(),
            classes,
            errors,
            mismatches,
            100.0 * wrong as f64 / results.len() as f64
        );
    }
    if mismatches > 0 || errors > 0 {
        bail!(
            "{mismatches} of {} results differ from the bit-exact model ({errors} error replies)",
            results.len()
        );
    }
    Ok(())
}

fn synth_update_unit(
    a: &SynthArgs,
    cfg: &EngineConfig,
    target: nsm_codegen::synth::Target,
    dir: &Path,
) -> Result<()> {
    let learn = crate::onchip::load_learn(&a.learn)?;
    let spec = nsm_model::learn::UpdateSpec::new(cfg, &learn).context("learning configuration")?;
    use nsm_codegen::synth::Pnr;
    let report = nsm_codegen::synth::synthesize_update_unit(
        &spec,
        target,
        dir,
        if a.no_pnr {
            Pnr::Skip
        } else {
            Pnr::Run { seed: a.seed }
        },
    );
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
    let r = report?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let f = &r.flow;
        println!(
            "update unit on {}: {} LUTs, {} FFs, {} carries, {} block RAMs, {} DSPs, Fmax {}",
            r.target,
            f.luts,
            f.ffs,
            f.carries,
            f.brams,
            f.dsps,
            f.fmax_mhz.map_or("-".to_string(), |m| format!(
                "{m:.1} MHz (target {:.0})",
                r.target_mhz
            )),
        );
    }
    Ok(())
}

fn default_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/default.json")
}

fn load_config(path: &Option<PathBuf>) -> Result<EngineConfig> {
    let p = path.clone().unwrap_or_else(default_config_path);
    Ok(EngineConfig::load(&p)?)
}

fn gates(a: GatesArgs) -> Result<()> {
    if a.gates < 100 {
        bail!("--gates must be at least 100 for meaningful statistics");
    }
    let cfg = load_config(&a.config)?;
    let spec = cfg.lfsr_spec()?;
    let freq = gate_frequency(&cfg, a.gates)?;
    let table = neighbour_correlations(&cfg, a.gates, 16, None)?;
    let spacing = seed_spacing(&spec, cfg.pes());
    let naive = match a.compare_spacing {
        Some(0) => bail!("--compare-spacing must be at least 1"),
        Some(d) => Some(neighbour_correlations(&cfg, a.gates, 16, Some(d))?),
        None => None,
    };
    let worst = |t: &[LagRow]| {
        t.iter()
            .map(|r| r.row_neighbours.max(r.col_neighbours).max(r.same_pe))
            .fold(0f64, f64::max)
    };
    if a.json {
        println!(
            "{}",
            json!({
                "rows": cfg.rows, "cols": cfg.cols, "lfsr_width": spec.width(),
                "taps": spec.taps(), "threshold_bits": cfg.blank_out.threshold_bits,
                "threshold": cfg.blank_out.threshold, "p": cfg.blank_out_p(),
                "gates_per_pe": a.gates, "seed_spacing_steps": spacing,
                "open_frequency": freq,
                "max_abs_correlation": worst(&table),
                "correlations": table,
                "compare": naive.as_ref().map(|t| json!({
                    "seed_spacing_steps": a.compare_spacing,
                    "max_abs_correlation": worst(t),
                    "correlations": t,
                })),
            })
        );
        return Ok(());
    }
    println!(
        "{}x{} PEs, LFSR width {} taps {:?}, p = {}/2^{} = {}, seeds {} steps apart, {} gates per PE",
        cfg.rows, cfg.cols, spec.width(), spec.taps(), cfg.blank_out.threshold,
        cfg.blank_out.threshold_bits, cfg.blank_out_p(), spacing, a.gates
    );
    println!("open frequency {freq:.5} (p = {:.5})", cfg.blank_out_p());
    println!();
    let mut header = String::from("| lag | row neighbours | column neighbours | same PE |");
    if naive.is_some() {
        header.push_str(" row neighbours, seeds spaced --compare-spacing |");
    }
    println!("{header}");
    println!(
        "|---|---|---|---|{}",
        if naive.is_some() { "---|" } else { "" }
    );
    for (i, r) in table.iter().enumerate() {
        let extra = naive
            .as_ref()
            .map(|t| format!(" {:.4} |", t[i].row_neighbours.max(t[i].col_neighbours)))
            .unwrap_or_default();
        let same = if r.lag == 0 {
            "-".to_string()
        } else {
            format!("{:.4}", r.same_pe)
        };
        println!(
            "| {} | {:.4} | {:.4} | {} |{extra}",
            r.lag, r.row_neighbours, r.col_neighbours, same
        );
    }
    println!();
    println!("largest |correlation|: {:.4}", worst(&table));
    Ok(())
}

fn plot_firing(a: PlotFiringArgs) -> Result<()> {
    let cfg = EngineConfig::load(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    check_output_path(&a.out)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let images = if a.data.limit.is_some() {
        data.len()
    } else {
        data.len().min(200)
    };
    let engine = BitExact::new(&cfg, &q)?;
    let bins = firing_vs_drive(&engine, &data, images, 60, 3.0)?;
    let erf_curve: Vec<(f64, f64)> = (0..=120)
        .map(|i| {
            let x = -3.0 + 0.05 * f64::from(i);
            (x, nsm_model::equations::firing_probability(x))
        })
        .collect();
    let title = format!(
        "First-layer firing, {}-bit weights, LFSR {}, p = {}, {} images x {} passes",
        cfg.weight_bits,
        cfg.lfsr.width,
        cfg.blank_out_p(),
        images,
        cfg.mc_samples
    );
    let chart = Chart {
        title: &title,
        x_label: "drive x = ((p + a) S + b) / (sqrt(2p(1-p)) ||W||)",
        y_label: "firing frequency",
        x_range: (-3.0, 3.0),
        y_range: (0.0, 1.0),
        lines: vec![("1/2 (1 + erf(x))", erf_curve)],
        dots: vec![(
            "bit-exact engine (mean per bin)",
            bins.iter().map(|b| (b.x, b.frequency)).collect(),
        )],
    };
    let worst = bins
        .iter()
        .filter(|b| b.count >= 20)
        .map(|b| (b.frequency - b.predicted).abs())
        .fold(0f64, f64::max);
    atomic_write(
        &a.out.with_extension("json"),
        serde_json::to_string_pretty(&json!({
            "bins": bins, "max_abs_deviation_bins_with_20_or_more": worst,
        }))?
        .as_bytes(),
    )?;
    atomic_write(&a.out, chart.to_svg().as_bytes())?;
    eprintln!(
        "wrote {} ({} bins; largest |frequency - erf prediction| over bins with >= 20 samples: {worst:.4})",
        a.out.display(),
        bins.len()
    );
    Ok(())
}

fn sweep(a: SweepArgs) -> Result<()> {
    let base = load_config(&a.config)?;
    let net = Network::load(&a.net)?;
    check_output_path(&a.out)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let float = evaluate_mc(
        &net,
        &data,
        EvalOptions {
            mc_samples: a.mc.unwrap_or(base.mc_samples),
            seed: 0,
        },
    )?;
    let widths = [8u32, 16, 32];
    let mut results = Vec::new();
    for wb in 2..=8u32 {
        for &lw in &widths {
            let mut cfg = base.clone();
            cfg.weight_bits = wb;
            cfg.lfsr = LfsrConfig {
                width: lw,
                taps: None,
            };
            if let Some(mc) = a.mc {
                cfg.mc_samples = mc;
            }
            cfg.validate()
                .with_context(|| format!("sweep point {wb}-bit weights, LFSR {lw}"))?;
            let q = qnet::quantize(&net, &cfg)?;
            let r = BitExact::new(&cfg, &q)?.evaluate(&data)?;
            eprintln!(
                "weight bits {wb}, LFSR {lw}: {:.2}% ({:.1} s)",
                r.test_error_pct, r.seconds
            );
            results.push(json!({
                "weight_bits": wb, "lfsr_width": lw, "test_error_pct": r.test_error_pct,
                "errors": r.errors, "a_saturated": q.report.a_saturated,
                "bias_saturated": q.report.bias_saturated,
            }));
        }
    }
    let mut md = format!(
        "Bit-exact test error (%), {} test images, {} Monte Carlo samples, {}x{} array, p = {}; float model: {:.2}%\n\n",
        data.len(), a.mc.unwrap_or(base.mc_samples), base.rows, base.cols, base.blank_out_p(), float.test_error_pct
    );
    md.push_str("| weight bits | LFSR 8 | LFSR 16 | LFSR 32 |\n|---|---|---|---|\n");
    for (i, wb) in (2..=8u32).enumerate() {
        let cell = |j: usize| {
            format!(
                "{:.2}",
                results[i * 3 + j]["test_error_pct"]
                    .as_f64()
                    .unwrap_or(f64::NAN)
            )
        };
        md.push_str(&format!(
            "| {wb} | {} | {} | {} |\n",
            cell(0),
            cell(1),
            cell(2)
        ));
    }
    atomic_write(
        &a.out.with_extension("json"),
        serde_json::to_string_pretty(&json!({
            "float_test_error_pct": float.test_error_pct, "points": results,
        }))?
        .as_bytes(),
    )?;
    atomic_write(&a.out, md.as_bytes())?;
    print!("{md}");
    Ok(())
}

fn sim(a: SimArgs) -> Result<()> {
    if a.images == 0 {
        bail!("--images must be at least 1");
    }
    let cfg = EngineConfig::load(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let images = a.images.min(data.len());
    if a.engine == SimEngine::Verilator {
        return sim_verilator(&a, &cfg, &q, &data, images);
    }
    let model = BitExact::new(&cfg, &q)?;
    let mut states = model.seeds().to_vec();
    let mut engine = EngineSim::new(&cfg)?;
    engine.load(
        &q,
        if a.load_through_port {
            LoadPath::Port
        } else {
            LoadPath::Backdoor
        },
    )?;
    if let Some(path) = &a.vcd {
        check_output_path(path)?;
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        engine.trace_to(Box::new(file))?;
    }
    let cycle_model = CycleModel::new(&cfg, &q);
    let limit = cycle_model.total() * 4 + 10_000;
    let start = std::time::Instant::now();
    let first_cycle = engine.cycles;
    let (mut mismatches, mut errors, mut cycles) = (0usize, 0usize, 0u64);
    for n in 0..images {
        let x: Vec<i8> = data
            .row(n)
            .iter()
            .map(|&v| if v > 0.0 { 1 } else { -1 })
            .collect();
        let expect = model.infer(&x, &mut states)?;
        let (got, c) = engine.infer::<rand_xoshiro::Xoshiro256PlusPlus>(&x, None, limit)?;
        cycles += c;
        if got != expect {
            mismatches += 1;
            eprintln!(
                "image {n}: engine {:?} != bit-exact model {:?}",
                got, expect
            );
        }
        if got.class != data.labels[n] as usize {
            errors += 1;
        }
        if !a.json {
            eprint!("\rimage {}/{images}", n + 1);
        }
    }
    engine.finish_trace()?;
    if !a.json {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    let total_cycles = engine.cycles - first_cycle;
    let outcome = SimOutcome {
        engine: "rust-hdl",
        images,
        mismatches,
        errors,
        cycles_per_inference: cycles as f64 / images as f64,
        simulated_cycles: total_cycles,
        seconds,
    };
    outcome.print(a.json, &cfg, &q);
    if mismatches > 0 {
        bail!("{mismatches} of {images} results differ from the bit-exact model");
    }
    Ok(())
}

/// What one `nsm sim` run measured, printed the same way whichever engine ran it.
struct SimOutcome {
    engine: &'static str,
    images: usize,
    /// Inputs whose result differs from the bit-exact model.
    mismatches: usize,
    /// Inputs classified wrongly.
    errors: usize,
    cycles_per_inference: f64,
    simulated_cycles: u64,
    seconds: f64,
}

impl SimOutcome {
    fn print(&self, as_json: bool, cfg: &EngineConfig, q: &QNet) {
        let model = CycleModel::new(cfg, q);
        let error_pct = 100.0 * self.errors as f64 / self.images as f64;
        let utilization = model.ideal_cycles / self.cycles_per_inference;
        let rate = self.simulated_cycles as f64 / self.seconds;
        if as_json {
            println!(
                "{}",
                json!({
                    "engine": self.engine,
                    "images": self.images,
                    "mismatches_vs_golden": self.mismatches,
                    "test_error_pct": error_pct,
                    "cycles_per_inference": self.cycles_per_inference,
                    "predicted_cycles_per_inference": model.total(),
                    "ideal_cycles_per_inference": model.ideal_cycles,
                    "utilization": utilization,
                    "cycles_per_second": rate,
                    "seconds": self.seconds,
                    "rows": cfg.rows, "cols": cfg.cols, "mc_samples": cfg.mc_samples,
                    "network": q.widths(),
                })
            );
        } else {
            println!(
                "{} images on {}: {} mismatches vs the bit-exact model, {error_pct:.2}% test error, {:.0} cycles per inference (utilization {:.1}%), {rate:.0} simulated cycles/s",
                self.images,
                self.engine,
                self.mismatches,
                self.cycles_per_inference,
                100.0 * utilization
            );
        }
    }
}

fn sim_verilator(
    a: &SimArgs,
    cfg: &EngineConfig,
    q: &QNet,
    data: &BinarizedSet,
    images: usize,
) -> Result<()> {
    if a.vcd.is_some() {
        bail!("--vcd traces the rust-hdl engine; for Verilator, add --trace to the run.sh in --work-dir");
    }
    let temp;
    let dir = match &a.work_dir {
        Some(d) => d.clone(),
        None => {
            temp = std::env::temp_dir().join(format!("nsm-verilator-{}", std::process::id()));
            temp.clone()
        }
    };
    let inputs: Vec<Vec<i8>> = (0..images)
        .map(|n| {
            data.row(n)
                .iter()
                .map(|&v| if v > 0.0 { 1 } else { -1 })
                .collect()
        })
        .collect();
    let prepared = nsm_testbenches::prepare(&dir, cfg, q, &inputs, false)?;
    let (summary, seconds) = nsm_testbenches::run_verilator_timed(&dir)?;
    let errors = prepared
        .expected
        .iter()
        .zip(&data.labels)
        .filter(|(inf, &l)| inf.class != l as usize)
        .count();
    if a.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let outcome = SimOutcome {
        engine: "verilator",
        images,
        mismatches: summary.bad_images as usize,
        errors,
        cycles_per_inference: summary.compute_cycles as f64 / images as f64,
        simulated_cycles: summary.cycles,
        seconds,
    };
    outcome.print(a.json, cfg, q);
    if summary.bad_images > 0 || !summary.pass {
        bail!(
            "{} of {images} results differ from the bit-exact model",
            summary.bad_images
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
