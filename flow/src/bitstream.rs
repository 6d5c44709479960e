//! Board bitstreams: the board top of `nsm_verilog::board` through Yosys, nextpnr at the
//! board's clock and the family's packer (`icepack`, `ecppack`), all read from the family
//! table ([`crate::family`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use nsm_model::engine::config::EngineConfig;
use nsm_verilog::board::{board_verilog, board_vlt, Board};
use serde::Serialize;

use crate::family::{read_pnr_report, Device, LFE5U_25F, LFE5U_85F, UP5K_SG48};
use crate::tool::{self, Cmd, Tool};
use nsm_model::fsutil::OutputSet;

use crate::{read_err, write_files, FlowError};

/// The FPGA on `board`, as nextpnr selects it.
pub fn board_device(board: Board) -> &'static Device {
    match board {
        Board::Icebreaker => &UP5K_SG48,
        Board::Ulx3s => &LFE5U_25F,
        Board::Ulx3s85f => &LFE5U_85F,
    }
}

/// What a bitstream build produced and measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BitstreamReport {
    pub board: &'static str,
    pub device: &'static str,
    pub top: &'static str,
    pub rows: usize,
    pub cols: usize,
    pub mc_samples: usize,
    /// The bitstream written into the output folder.
    pub bitstream: PathBuf,
    pub bitstream_bytes: u64,
    /// Yosys cell counts: LUT4s, flip-flops, carry cells, block RAMs, DSPs.
    pub luts: u64,
    pub ffs: u64,
    pub carries: u64,
    pub brams: u64,
    /// Single-port RAM blocks (UP5K SPRAMs), not counted in `brams`.
    pub sprams: u64,
    pub dsps: u64,
    /// nextpnr's utilization: resource name, used, available.
    pub utilization: Vec<(String, u64, u64)>,
    pub fmax_mhz: Option<f64>,
    pub clock_mhz: f64,
    pub baud: u32,
    /// The board Verilog with its lint waivers, the constraint file and the tools' logs, in
    /// the output folder.
    pub logs: Vec<PathBuf>,
    pub seconds: f64,
}

/// A tool's name in error messages.
fn tool_label(t: Tool) -> &'static str {
    match t {
        Tool::NEXTPNR_ECP5 => "nextpnr-ecp5",
        Tool::ECPPACK => "ecppack",
        other => other.name,
    }
}

/// The tools [`build_bitstream`] runs for `board`.
fn tools(board: Board) -> [Tool; 3] {
    let family = board_device(board).family;
    [
        Tool::YOSYS,
        family
            .nextpnr
            .expect("a board's FPGA has a place-and-route tool"),
        family
            .packer
            .expect("a board's FPGA has a bitstream packer"),
    ]
}

/// Finds every tool [`build_bitstream`] runs for `board`, so that a missing one (or an
/// `NSM_*` override naming nothing) is reported before any work.
pub fn check_tools(board: Board) -> Result<(), FlowError> {
    tool::find_all(&tools(board)).map(drop)
}

/// The names [`build_bitstream`] writes into its output folder for `board`, the bitstream
/// last: the board Verilog, its waivers and the constraint file, one log per tool,
/// `report.json` and the bitstream.
pub fn output_names(board: Board) -> Vec<String> {
    let top = board.top();
    let (c_file, _) = board.constraints();
    let mut names: Vec<String> = vec![format!("{top}.v"), format!("{top}.vlt"), c_file.into()];
    names.extend(
        [
            "yosys.log",
            "yosys-stat.txt",
            "nextpnr.log",
            "pack.log",
            "report.json",
        ]
        .map(String::from),
    );
    names.push(format!("{top}.{}", board.bitstream_ext()));
    names
}

/// Builds the bitstream of `board` for `cfg`: Yosys (`synth_ice40`/`synth_ecp5`), nextpnr at
/// the board's clock (failing if timing is not met), then `icepack` or `ecppack`. The tools
/// run in `work_dir`; the files of [`output_names`] go into `out_dir` as one output set
/// ([`OutputSet`]): the bitstream (`<top>.bin`/`.bit`), `report.json`, one log per tool, the
/// board Verilog (`<top>.v`) with its lint waivers (`<top>.vlt`) and the constraint file.
/// Checks the configuration and the output folder (none of whose files may be one of
/// `inputs`) and finds every tool before creating anything. A tool that fails leaves the
/// logs so far in `out_dir` and no bitstream or report (an earlier run's are removed, so the
/// folder never mixes two runs).
pub fn build_bitstream(
    board: Board,
    cfg: &EngineConfig,
    out_dir: &Path,
    work_dir: &Path,
    inputs: &[&Path],
) -> Result<BitstreamReport, FlowError> {
    let start = Instant::now();
    let verilog = board_verilog(board, cfg)?;
    let device = board_device(board);
    let family = device.family;
    let [_, pnr_tool, pack_tool] = tools(board);
    let [yosys, pnr, pack]: [PathBuf; 3] = tool::find_all(&tools(board))?
        .try_into()
        .expect("three tools");
    let names = output_names(board);
    let (bit_file, _) = names.split_last().expect("a bitstream");
    let mut out = OutputSet::new();
    out.inputs(inputs)?;
    out.folder("output folder", out_dir)?;
    for n in &names[..names.len() - 1] {
        out.file("output folder", &out_dir.join(n))?;
    }
    out.primary("output folder", &out_dir.join(bit_file))?;
    let top = board.top();
    let v_file = format!("{top}.v");
    let vlt_file = format!("{top}.vlt");
    let vlt = board_vlt(board, &verilog);
    let (c_file, c_text) = board.constraints();
    write_files(
        work_dir,
        &[
            (v_file.as_str(), verilog.as_str()),
            (vlt_file.as_str(), vlt.as_str()),
            (c_file, c_text),
        ],
    )?;
    let mut logs = Vec::new();
    let mut keep_log = |out: &mut OutputSet, name: &str| -> Result<(), FlowError> {
        if let Ok(text) = std::fs::read(work_dir.join(name)) {
            let to = out_dir.join(name);
            out.write(&to, &text)?;
            logs.push(to);
        }
        Ok(())
    };
    // the sources of the bitstream, for inspection and replay
    keep_log(&mut out, &v_file)?;
    keep_log(&mut out, &vlt_file)?;
    keep_log(&mut out, c_file)?;
    // a failed tool: its log and those before it go into place, no bitstream or report
    let failed = |out: OutputSet, tool: &'static str, log: String| {
        let e = FlowError::ToolFailed {
            tool,
            dir: work_dir.to_path_buf(),
            log: log
                .lines()
                .filter(|l| l.contains("ERROR") || l.contains("rror:"))
                .take(20)
                .collect::<Vec<_>>()
                .join("\n"),
        };
        match out.commit() {
            Ok(()) => e,
            Err(w) => w.into(),
        }
    };

    // ---- synthesis ----
    let script = format!(
        "read_verilog {v_file}; hierarchy -top {top}; {}; tee -q -o stat.json stat -json; tee -q -o yosys-stat.txt stat",
        family.synth_command(top, device.dsp, device.spram)
    );
    let run = tool::run(work_dir, "yosys", &Cmd::new(yosys, ["-q", "-p", &script]))?;
    keep_log(&mut out, "yosys.log")?;
    keep_log(&mut out, "yosys-stat.txt")?;
    if !run.ok {
        return Err(failed(out, "yosys", run.log));
    }
    let counts = family.count_stat_file(work_dir).unwrap_or_default();

    // ---- place and route ----
    let spec = board.spec();
    let clock_mhz = f64::from(spec.clock_hz) / 1e6;
    let args = device.nextpnr_args(Some(c_file), clock_mhz, &[]);
    let run = tool::run(work_dir, "nextpnr", &Cmd::new(pnr, args))?;
    keep_log(&mut out, "nextpnr.log")?;
    if !run.ok {
        return Err(failed(out, tool_label(pnr_tool), run.log));
    }
    let placed = read_pnr_report(work_dir).unwrap_or_default();

    // ---- bitstream ----
    let pack_args = [family.pnr_output.1.to_string(), bit_file.clone()];
    let run = tool::run(work_dir, "pack", &Cmd::new(pack, pack_args))?;
    keep_log(&mut out, "pack.log")?;
    if !run.ok {
        return Err(failed(out, tool_label(pack_tool), run.log));
    }
    let from = work_dir.join(bit_file);
    let bytes = std::fs::read(&from).map_err(read_err(&from))?;
    let bitstream = out_dir.join(bit_file);
    out.write(&bitstream, &bytes)?;
    let r = BitstreamReport {
        board: board.name(),
        device: board.device(),
        top,
        rows: cfg.rows,
        cols: cfg.cols,
        mc_samples: cfg.mc_samples,
        bitstream,
        bitstream_bytes: bytes.len() as u64,
        luts: counts.luts,
        ffs: counts.ffs,
        carries: counts.carries,
        brams: counts.brams,
        sprams: counts.sprams,
        dsps: counts.dsps,
        utilization: placed.utilization,
        fmax_mhz: placed.fmax_mhz,
        clock_mhz,
        baud: spec.baud,
        logs,
        seconds: start.elapsed().as_secs_f64(),
    };
    let path = out_dir.join("report.json");
    let text = serde_json::to_string_pretty(&r).expect("the report serializes") + "\n";
    out.write(&path, text.as_bytes())?;
    out.commit()?;
    Ok(r)
}
