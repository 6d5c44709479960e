//! The board commands: `nsm bitstream` (through `nsm_flow::bitstream`), and the host side of
//! a board session, `nsm board-stream` and `nsm board-decode`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nsm_flow::bitstream::build_bitstream;
use nsm_flow::WorkDir;
use nsm_model::data::Split;
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::BitExact;
use nsm_model::forward::BinarizedSet;
use serde_json::json;

use super::outputs;
use crate::configs;
use crate::flags::{BitstreamArgs, BoardDecodeArgs, BoardSessionArgs, BoardStreamArgs, DataArgs};

pub fn bitstream(a: BitstreamArgs) -> Result<()> {
    let board = a.board.board();
    let cfg = configs::load(a.config.as_deref(), a.board.default_config())?.cfg;
    let out_dir = a
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bitstream-{}", board.name())));
    // the output folder is checked by its flag before any work (the flow checks it again)
    let inputs: Vec<&Path> = a.config.iter().map(PathBuf::as_path).collect();
    outputs(&inputs)?.folder("--out-dir", &out_dir)?;
    nsm_flow::bitstream::check_tools(board)?;
    let work = WorkDir::new(a.work_dir.as_deref(), "bitstream")?;
    let report = build_bitstream(board, &cfg, &out_dir, work.path(), &inputs);
    drop(work);
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
            "{} ({}), {}x{} engine: {} LUTs, {} FFs, {} block RAMs, {} SPRAMs, {} DSPs; {}; Fmax {} at a {:.0} MHz clock\nwrote {} ({} bytes) in {:.0} s",
            r.board,
            r.device,
            r.rows,
            r.cols,
            r.luts,
            r.ffs,
            r.brams,
            r.sprams,
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
    Ok((super::signs(&set, n), set.labels[..n].to_vec()))
}

/// A board session: its test images (`+1`/`-1`) and labels, its byte stream, and the
/// bit-exact model that predicts the board's replies.
struct BoardSession {
    inputs: Vec<Vec<i8>>,
    labels: Vec<u8>,
    stream: nsm_sim::host::HostStream,
    model: BitExact,
}

/// The session `a` describes, with `fillers` filler bytes after each input when given.
fn board_session(a: &BoardSessionArgs, fillers: Option<u32>) -> Result<BoardSession> {
    use nsm_sim::host::HostStream;
    let cfg = configs::load_required(&a.config)?;
    // the session is for a board's engine: a configuration the hardware cannot build (an
    // early stop) would predict replies no board gives
    nsm_hdl::check_supported(&cfg).with_context(|| format!("--config {}", a.config.display()))?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let (inputs, labels) = board_images(&a.data, a.images)?;
    let model = BitExact::new(&cfg, &q)?;
    let session: Vec<(&[i8], bool)> = inputs.iter().map(|x| (x.as_slice(), a.logits)).collect();
    let stream = HostStream::session(&cfg, &q, &session, fillers);
    Ok(BoardSession {
        inputs,
        labels,
        stream,
        model,
    })
}

pub fn board_stream(a: BoardStreamArgs) -> Result<()> {
    use nsm_hdl::board::BoardParams;
    let mut out = outputs(a.session.data.files(Split::Test))?;
    out.inputs([&a.session.qnet, &a.session.config])?;
    if let Some(e) = &a.expect {
        out.file("--expect", e)?;
    }
    out.primary("--out", &a.out)?;
    let params = BoardParams::for_board(&a.board.board().spec())?;
    let fillers = (!a.no_fillers).then_some(params.clocks_per_bit);
    let BoardSession {
        inputs,
        stream,
        model,
        ..
    } = board_session(&a.session, fillers)?;
    // every command succeeds: the random streams run on from input to input
    let mut states = model.seeds().to_vec();
    let results = inputs
        .iter()
        .map(|x| model.infer(x, &mut states))
        .collect::<Result<Vec<_>, _>>()?;
    out.write(&a.out, &stream.bytes)?;
    if let Some(e) = &a.expect {
        out.write(e, &stream.expected_replies(&results))?;
    }
    out.commit()?;
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

pub fn board_decode(a: BoardDecodeArgs) -> Result<()> {
    use nsm_sim::host::{decode_replies, match_replies, Reply};
    let BoardSession {
        inputs,
        labels,
        stream,
        model,
    } = board_session(&a.session, None)?;
    let bytes = nsm_model::fsutil::read_bytes(&a.replies, nsm_model::fsutil::MAX_TEXT_BYTES)
        .with_context(|| format!("reading {}", a.replies.display()))?;
    let replies = decode_replies(&bytes, &stream.expect)
        .with_context(|| format!("decoding {}", a.replies.display()))?;
    let matched = match_replies(&replies, &stream.expect, &inputs, &model)?;
    let (errors, mismatches) = (matched.errors(), matched.mismatches());
    if !a.json {
        for (k, reply) in &matched.command_errors {
            let what = if *k == 0 || *k + 1 == stream.expect.len() {
                "ping"
            } else {
                "configuration write"
            };
            eprintln!("command {k} ({what}): {reply}");
        }
    }
    let mut classes = Vec::new();
    let mut wrong = 0usize;
    for (n, (m, &label)) in matched.inputs.iter().zip(&labels).enumerate() {
        let class = match m.reply {
            Reply::Result { class, .. } => Some(class),
            _ => None,
        };
        if !a.json {
            match &m.model {
                None => eprintln!("image {n}: {}; the board dropped the image", m.reply),
                Some(want) if m.mismatch() => {
                    eprintln!("image {n}: board {}, bit-exact model {want}", m.reply)
                }
                Some(_) => {}
            }
        }
        if class != Some(u16::from(label)) {
            wrong += 1;
        }
        classes.push(class);
    }
    let images = matched.inputs.len();
    if a.json {
        println!(
            "{}",
            json!({
                "images": images,
                "classes": classes,
                "labels": labels,
                "error_replies": errors,
                "mismatches_vs_golden": mismatches,
                "test_error_pct": 100.0 * wrong as f64 / images as f64,
            })
        );
    } else {
        let shown: Vec<String> = classes
            .iter()
            .map(|c| c.map_or("-".to_string(), |c| c.to_string()))
            .collect();
        println!(
            "{images} images: classes {} (- for an error reply); {errors} error replies, \
             {mismatches} mismatches vs the bit-exact model, {:.1}% test error",
            shown.join(" "),
            100.0 * wrong as f64 / images as f64
        );
    }
    if mismatches > 0 || errors > 0 {
        bail!(
            "{mismatches} of {images} results differ from the bit-exact model ({errors} error replies)"
        );
    }
    Ok(())
}
