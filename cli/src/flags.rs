//! The command line: every subcommand's flags as clap definitions, and how a flag value maps
//! onto the libraries' types. The command bodies are in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nsm_model::net::ModelKind;
use nsm_model::train::TrainOptions;
use nsm_verilog::cells::CellsArg;

#[derive(Debug, Parser)]
#[command(
    name = "nsm",
    version,
    about = "Neural Sampling Machines: golden model, training and evaluation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Test error against mean Monte Carlo passes with the early-stop rule (vote margins
    /// swept) beside fixed pass counts, and the votes' calibration (markdown, SVG, JSON).
    EarlyStopSweep(EarlyStopSweepArgs),
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
    TrainOnchip(TrainOnchipArgs),
    /// Prove the engine's stream protocol and accumulator widths with yosys-smtbmc and z3:
    /// bounded proofs over --depth cycles after a network with the largest weights is loaded.
    Prove(ProveArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoardArg {
    /// iCEBreaker v1.0 (iCE40 UP5K), 12 MHz.
    Icebreaker,
    /// ULX3S with an ECP5 LFE5U-25F, 25 MHz.
    Ulx3s,
    /// ULX3S with an ECP5 LFE5U-85F, 25 MHz.
    #[value(name = "ulx3s-85f")]
    Ulx3s85f,
}

#[derive(Debug, Args)]
pub struct BitstreamArgs {
    #[arg(long, value_enum)]
    pub board: BoardArg,
    /// Engine configuration [configs/icebreaker.json or configs/ulx3s.json].
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Folder for the bitstream, report.json and the tools' logs [bitstream-<board>].
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Folder for the tool runs (kept); default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BoardStreamArgs {
    /// The board the bytes are for (its clock sets how many filler bytes cover an inference).
    #[arg(long, value_enum)]
    pub board: BoardArg,
    #[command(flatten)]
    pub session: BoardSessionArgs,
    /// No filler bytes after each input: for a host that waits for each reply.
    #[arg(long)]
    pub no_fillers: bool,
    /// The byte stream to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the reply bytes the bit-exact model predicts.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
}

/// What a board session is: `board-decode` must be given the same as `board-stream` was.
#[derive(Debug, Args)]
pub struct BoardSessionArgs {
    /// The quantized network (`nsm quantize`) loaded onto the board.
    #[arg(long, value_name = "QNET.json")]
    pub qnet: PathBuf,
    /// The engine configuration the board was built with.
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Test images to classify.
    #[arg(long, default_value_t = 10)]
    pub images: usize,
    /// Ask for every class's logit sum too (`'L'` instead of `'I'`).
    #[arg(long)]
    pub logits: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct BoardDecodeArgs {
    #[command(flatten)]
    pub session: BoardSessionArgs,
    /// The bytes the board sent back.
    #[arg(long, value_name = "FILE")]
    pub replies: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    Up5k,
    Hx8k,
    #[value(name = "ecp5-25f")]
    Ecp525f,
    Generic,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[arg(long, value_enum)]
    pub target: TargetArg,
    /// Engine configuration [configs/<target>.json; generic: configs/default.json].
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Folder for the tool runs (kept); default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Synthesize the on-chip learning update unit instead of the engine (its formats from
    /// --config and --learn).
    #[arg(long)]
    pub update_unit: bool,
    /// Learning formats of the update unit (nsm-learn/1 JSON) [built-in defaults].
    #[arg(long, value_name = "LEARN.json", requires = "update_unit")]
    pub learn: Option<PathBuf>,
    /// Synthesis only: skip place-and-route (no Fmax).
    #[arg(long)]
    pub no_pnr: bool,
    /// The placer's seed (`nextpnr --seed`) [nextpnr's default].
    #[arg(long, conflicts_with = "no_pnr")]
    pub seed: Option<u64>,
    /// How the PEs' sums are written [ecp5-25f: ecp5 (its carry cells); others: portable].
    #[arg(long, value_enum, conflicts_with = "update_unit")]
    pub cells: Option<CellsArg>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SynthReportArgs {
    #[arg(long, value_enum)]
    pub target: TargetArg,
    /// Array sizes n (n x n, or n x C with --cols), comma-separated [2,4,8; ecp5-25f: 4,8,16].
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub sizes: Option<Vec<usize>>,
    /// Columns at every size (the arrays are n x C) [n].
    #[arg(long, value_name = "C")]
    pub cols: Option<usize>,
    /// Lane counts to sweep at every size; the files are then `synth-<target>-lanes.*`
    /// [the configuration's lanes, files `synth-<target>.*`].
    #[arg(long, value_delimiter = ',', value_name = "L,L,...")]
    pub lanes: Option<Vec<usize>>,
    /// Configuration the sizes are applied to [the target's shipped one].
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Where `synth-<target>.md`, `.svg` and `.json` (or `synth-<target>-lanes.*`) go.
    #[arg(long, value_name = "DIR", default_value = "docs/reports")]
    pub out_dir: PathBuf,
    /// Folder for the tool runs (kept, one subfolder per size); default: temporary.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// The placer's seed (`nextpnr --seed`) for every size [nextpnr's default].
    #[arg(long)]
    pub seed: Option<u64>,
    /// How the PEs' sums are written [ecp5-25f: ecp5 (its carry cells); others: portable].
    #[arg(long, value_enum)]
    pub cells: Option<CellsArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimEngine {
    /// rust-hdl's own simulator (cycle by cycle, in process).
    RustHdl,
    /// The emitted Verilog, compiled by Verilator, driven by the self-checking testbench.
    Verilator,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Which simulator runs the engine.
    #[arg(long, value_enum, default_value_t = SimEngine::RustHdl)]
    pub engine: SimEngine,
    /// Folder for the Verilator run (Verilog, vectors, build, logs); default: a fresh
    /// temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[arg(long, value_name = "QNET.json")]
    pub qnet: PathBuf,
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Test images to run.
    #[arg(long, default_value_t = 20)]
    pub images: usize,
    /// Write a VCD trace of every signal (opens in GTKWave; large for long runs).
    #[arg(long, value_name = "FILE")]
    pub vcd: Option<PathBuf>,
    /// Load the network through the configuration port (as a host would) instead of the
    /// memory back door.
    #[arg(long)]
    pub load_through_port: bool,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GatesArgs {
    /// Engine configuration [configs/default.json].
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Gates per PE to analyse, at least 100; at most 2^31 gates over all PEs (2 GiB).
    #[arg(long, default_value_t = 100_000)]
    pub gates: usize,
    /// Also show PE seeds spaced this many LFSR steps apart (e.g. 1: naive adjacent seeds).
    #[arg(long, value_name = "STEPS")]
    pub compare_spacing: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlotFiringArgs {
    #[arg(long, value_name = "QNET.json")]
    pub qnet: PathBuf,
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Test images to run: --limit N [200].
    #[command(flatten)]
    pub data: DataArgs,
    /// SVG file to write (the bins go to the same name with .json).
    #[arg(long, value_name = "FILE.svg")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Float network to quantize at every point.
    #[arg(long, value_name = "NET.json")]
    pub net: PathBuf,
    /// Base engine configuration [configs/default.json]; weight bits and LFSR width vary.
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Monte Carlo samples per image [the configuration's].
    #[arg(long)]
    pub mc: Option<usize>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Markdown report to write (the numbers also go to the same name with .json).
    #[arg(long, value_name = "REPORT.md")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EarlyStopSweepArgs {
    /// Quantized network (nsm-qnet/1).
    #[arg(long, value_name = "QNET.json")]
    pub qnet: PathBuf,
    /// Engine configuration; its rows set how often the rule judges.
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Vote margins of the rule, comma separated (at most mc_samples).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,6,8")]
    pub margins: Vec<u32>,
    /// Passes every input gets before it may stop.
    #[arg(long, default_value_t = 8)]
    pub min_passes: usize,
    /// Fixed pass counts to compare with, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "8,16,32,100")]
    pub fixed: Vec<usize>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Markdown report to write (the figure goes to `<stem>.svg`, the numbers to `.json`).
    #[arg(long, value_name = "REPORT.md")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// Float network file (nsm-net/1).
    #[arg(long, value_name = "NET.json")]
    pub net: PathBuf,
    /// Engine configuration (nsm-engine/1).
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Quantized network to write; `<stem>.weights.hex`, `<stem>.neurons.hex` and
    /// `<stem>.memmap.json` are written next to it.
    #[arg(long, value_name = "QNET.json")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
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
    pub data_dir: Option<PathBuf>,
    /// Override the images file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    pub image_file: Option<PathBuf>,
    /// Override the labels file of the split used by this command.
    #[arg(long, value_name = "IDX")]
    pub label_file: Option<PathBuf>,
    /// Use only the first N examples of the split.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Hidden layer widths, comma separated: each at most 1048576 (2^20) neurons, and at
    /// most 268435456 (2^28) weights in the whole network.
    #[arg(long, value_delimiter = ',', default_value = "300,300,300")]
    pub hidden: Vec<usize>,
    /// Passes over the training split.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// Seed of initialization, shuffling and noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = ModelArg::Nsm)]
    pub model: ModelArg,
    /// Transmit probability p of the nsm model's synapses, in (0, 1): each synapse passes its
    /// input (xi = 1) with probability p and blanks out with probability 1 - p. An engine runs
    /// the network as trained when its blank_out.threshold / 2^threshold_bits equals p.
    #[arg(
        long = "transmit-p",
        visible_alias = "p",
        value_name = "P",
        default_value_t = 0.5,
        allow_negative_numbers = true
    )]
    pub transmit_p: f64,
    /// Standard deviation of the gnsm model's noise xi ~ N(1, sigma^2).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub sigma: f64,
    /// Adam step size.
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    pub lr: f64,
    /// Step size factor applied after every epoch.
    #[arg(long, default_value_t = TrainOptions::default().lr_decay)]
    pub lr_decay: f64,
    /// Examples per minibatch; a batch larger than the training split is the whole split.
    /// A batch holds at most 2^28 neuron values (batch x the sum of the layer widths).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Gaussian noise (fraction of full scale) added to pixels before binarizing, training only.
    #[arg(long, default_value_t = TrainOptions::default().input_noise, allow_negative_numbers = true)]
    pub input_noise: f64,
    /// Quantization-aware training for an engine with this weight_bits (1 to 16; 1 is +-1
    /// weights, no zero): the forward and backward passes use the weights rounded to the
    /// quantizer's levels, the steps go to the float weights (straight-through), and the
    /// network is written with its weights on the levels, so `nsm quantize` for that width
    /// rounds nothing further.
    #[arg(long, value_name = "N")]
    pub weight_bits: Option<u32>,
    #[command(flatten)]
    pub data: DataArgs,
    /// No progress bar or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
    /// Network file to write (JSON, schema nsm-net/1).
    #[arg(long, value_name = "NET.json")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Float network file (JSON, schema nsm-net/1).
    #[arg(
        long,
        value_name = "NET.json",
        required_unless_present = "qnet",
        conflicts_with = "qnet"
    )]
    pub net: Option<PathBuf>,
    /// Quantized network (nsm-qnet/1), run on the bit-exact engine model; needs --config.
    #[arg(long, value_name = "QNET.json", requires = "config")]
    pub qnet: Option<PathBuf>,
    /// Engine configuration for --qnet.
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Monte Carlo passes per test image [float: 100; engine: the configuration's mc_samples].
    /// Float: at most 2^28 neuron values at once (passes x the sum of the layer widths);
    /// engine: at most 65536.
    #[arg(long)]
    pub mc: Option<usize>,
    /// Multiply every stochastic row and its bias by this factor first ("NSM scaled").
    #[arg(long, allow_negative_numbers = true)]
    pub scale: Option<f64>,
    /// Seed of the evaluation noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub data: DataArgs,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// With --qnet: write every input's result to this JSON file (label, class, passes run,
    /// votes per class, confidence, logit sums).
    #[arg(long, value_name = "OUT.json", requires = "qnet")]
    pub outcomes: Option<PathBuf>,
}

impl BoardArg {
    pub fn board(self) -> nsm_verilog::board::Board {
        use nsm_verilog::board::Board;
        match self {
            BoardArg::Icebreaker => Board::Icebreaker,
            BoardArg::Ulx3s => Board::Ulx3s,
            BoardArg::Ulx3s85f => Board::Ulx3s85f,
        }
    }

    /// The shipped configuration for the board (`configs/<name>.json`).
    pub fn default_config(self) -> &'static str {
        match self {
            BoardArg::Icebreaker => "icebreaker",
            BoardArg::Ulx3s | BoardArg::Ulx3s85f => "ulx3s",
        }
    }
}

impl TargetArg {
    pub fn target(self) -> nsm_flow::synth::Target {
        use nsm_flow::synth::Target;
        match self {
            TargetArg::Up5k => Target::Up5k,
            TargetArg::Hx8k => Target::Hx8k,
            TargetArg::Ecp525f => Target::Ecp5_25f,
            TargetArg::Generic => Target::Generic,
        }
    }

    /// The target's shipped configuration (`configs/<target>.json`; generic: the default).
    pub fn default_config(self) -> &'static str {
        match self.target() {
            nsm_flow::synth::Target::Generic => "default",
            t => t.name(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdateEngineArg {
    /// The fixed-point mirror computes the unit's outputs.
    Golden,
    /// The update unit in rust-hdl's simulator.
    RustHdl,
    /// The update unit's emitted Verilog, compiled by Verilator.
    Verilator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitOutputArg {
    /// Keep the quantized network's output layer.
    Keep,
    /// Small random integer weights (uniform in +-8, biases 0): learning from scratch.
    Random,
}

#[derive(Debug, Args)]
pub struct TrainOnchipArgs {
    #[arg(long, value_name = "QNET.json")]
    pub qnet: PathBuf,
    #[arg(long, value_name = "ENGINE.json")]
    pub config: PathBuf,
    /// Learning formats and step sizes (nsm-learn/1 JSON) [built-in defaults].
    #[arg(long, value_name = "LEARN.json")]
    pub learn: Option<PathBuf>,
    /// Who computes the update unit's outputs (forward passes always run on the bit-exact
    /// engine model).
    #[arg(long, value_enum, default_value_t = UpdateEngineArg::Golden)]
    pub engine: UpdateEngineArg,
    /// Training steps; one step is one training image (a forward pass and every row updated).
    #[arg(long, default_value_t = 8000)]
    pub steps: u64,
    /// Measure the test error every N steps [steps / 8].
    #[arg(long, value_name = "N")]
    pub eval_every: Option<u64>,
    #[arg(long, value_enum, default_value_t = InitOutputArg::Keep)]
    pub init_output: InitOutputArg,
    /// Seed of the image order and of --init-output random.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Override the learning configuration's lr_shift, lr_a_shift and lr_out_shift.
    #[arg(long, value_name = "SHIFT")]
    pub lr_shift: Option<u32>,
    /// Override the learning configuration's logit_shift (the host's softmax reads the
    /// integer logits as L 2^-SHIFT; about log2 of the quantizer's output scale).
    #[arg(long, value_name = "SHIFT")]
    pub logit_shift: Option<u32>,
    /// Use only the first N training images.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// The float network the quantized one was made from: train it too, on the same images in
    /// the same order (Adam, one image per step), for the float learning curve.
    #[arg(long, value_name = "NET.json")]
    pub net: Option<PathBuf>,
    /// Adam step size of the float comparison.
    #[arg(long, default_value_t = 1e-4)]
    pub float_lr: f64,
    /// Write the trained quantized network here.
    #[arg(long, value_name = "QNET.json")]
    pub out: Option<PathBuf>,
    /// Write the learning curves (JSON).
    #[arg(long, value_name = "FILE")]
    pub curves: Option<PathBuf>,
    /// Plot the fixed-point (and float) learning curves (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Folder for the Verilator build [a temporary folder].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long)]
    pub json: bool,
}

/// A property `nsm prove` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PropertyArg {
    /// The cycle after a reset the engine is idle, from any state.
    ResetToIdle,
    /// in_ready exactly when idle; result beats in order, none lost, repeated or withdrawn.
    Stream,
    /// Step sums, accumulators and logit sums within their derived widths.
    AccumulatorWidth,
}

impl PropertyArg {
    pub fn property(self) -> nsm_flow::formal::Property {
        use nsm_flow::formal::Property;
        match self {
            PropertyArg::ResetToIdle => Property::ResetToIdle,
            PropertyArg::Stream => Property::Stream,
            PropertyArg::AccumulatorWidth => Property::AccumulatorWidth,
        }
    }
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// Engine configuration [configs/formal.json: 2x2, 3-bit weights, two passes]. Proof
    /// time grows fast with the array and the widths: start small.
    #[arg(long, value_name = "ENGINE.json")]
    pub config: Option<PathBuf>,
    /// Layer widths of the loaded network, inputs first, classes last.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "N,N,...",
        default_value = "4,2"
    )]
    pub widths: Vec<usize>,
    /// Cycles checked after the load (an inference must fit in them for the stream proof to
    /// reach its beats: the report gives the cycle of the first last beat).
    #[arg(long, default_value_t = 32)]
    pub depth: usize,
    /// Properties to prove, comma-separated [all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub property: Option<Vec<PropertyArg>>,
    /// Folder for the proof runs (kept); default: a temporary folder, removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}
