//! The whole board top (UART, host link, engine, power-on reset) in rust-hdl simulation,
//! driven bit by bit through its serial pins with the byte stream the host library encodes,
//! its replies decoded off the TX pin and compared byte for byte with the bit-exact model.

use nsm_hdl::board::BoardParams;
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::host_interface::{
    control_address, ErrorCode, OP_INFER, OP_WRITE, REPLY_ACK,
};
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_model::engine::{BitExact, Inference};
use nsm_sim::board_sim::BoardSim;
use nsm_sim::host::{self, decode_replies, match_replies, Expect, HostStream, Reply};
use nsm_sim::ConfigWrite;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Four clocks per bit keeps the simulation short; the timeout is 100 bit times.
const PARAMS: BoardParams = BoardParams {
    clocks_per_bit: 4,
    timeout_cycles: 400,
    heartbeat_bit: 3,
};

fn tiny_case(
    rng: &mut Xoshiro256PlusPlus,
    max_rows: usize,
    max_cols: usize,
) -> (EngineConfig, QNet) {
    let limits = Limits {
        max_rows,
        max_cols,
        ..Limits::TINY
    };
    let cfg = samples::random_config(rng, &limits);
    let q = samples::random_qnet(rng, &cfg, &limits, Weights::Random);
    (cfg, q)
}

fn powered_up(cfg: &EngineConfig) -> BoardSim {
    let mut sim = BoardSim::new(cfg, &PARAMS).unwrap();
    // the power-on reset, then the line idle for a while
    sim.run(40).unwrap();
    sim
}

#[test]
fn board_top_over_uart_classifies_like_the_bit_exact_model() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    // tiny random engines, then one with 9 columns (two bytes per input word)
    let mut cases: Vec<(EngineConfig, QNet)> = (0..3).map(|_| tiny_case(&mut rng, 2, 2)).collect();
    let wide = loop {
        let (cfg, q) = tiny_case(&mut rng, 1, 12);
        if cfg.step_inputs() > 8 {
            break (cfg, q);
        }
    };
    cases.push(wide);
    for (case, (cfg, q)) in cases.iter().enumerate() {
        let model = BitExact::new(cfg, q).unwrap();
        let mut states = model.seeds().to_vec();
        let inputs: Vec<Vec<i8>> = (0..3)
            .map(|_| samples::random_input(&mut rng, q.n_inputs()))
            .collect();
        let expected: Vec<Inference> = inputs
            .iter()
            .map(|x| model.infer(x, &mut states).unwrap())
            .collect();
        // the second reply carries the logits; the stream is sent in one go: fillers cover
        // each inference
        let session: Vec<(&[i8], bool)> = inputs
            .iter()
            .enumerate()
            .map(|(n, x)| (x.as_slice(), n == 1))
            .collect();
        let stream = HostStream::session(cfg, q, &session, Some(PARAMS.clocks_per_bit));
        let want = stream.expected_replies(&expected);
        let mut sim = powered_up(cfg);
        let mut gap_rng = Xoshiro256PlusPlus::seed_from_u64(case as u64);
        sim.send(&stream.bytes, |_| {
            if gap_rng.gen_bool(0.2) {
                gap_rng.gen_range(0..12)
            } else {
                0
            }
        });
        sim.run_until_replies(want.len(), 2_000_000)
            .unwrap_or_else(|e| {
                panic!(
                    "case {case} ({}x{}): {e}; got {} of {} reply bytes",
                    cfg.rows,
                    cfg.cols,
                    sim.replies.len(),
                    want.len()
                )
            });
        sim.run(20 * PARAMS.clocks_per_bit as u64).unwrap();
        assert_eq!(sim.framing_errors, 0);
        let replies = decode_replies(&sim.replies, &stream.expect)
            .unwrap_or_else(|e| panic!("case {case}: {e}"));
        assert_eq!(sim.replies, want, "case {case}: replies {replies:?}");
        assert!(sim.busy_cycles > 0, "the busy LED lit");
        eprintln!(
            "case {case}: {}x{} engine, {} bytes sent, {} reply bytes, {} cycles",
            cfg.rows,
            cfg.cols,
            stream.bytes.len(),
            want.len(),
            sim.cycles
        );
    }
}

#[test]
fn board_link_reports_errors_resets_the_engine_and_recovers() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(77);
    let (cfg, q) = tiny_case(&mut rng, 2, 2);
    let model = BitExact::new(&cfg, &q).unwrap();
    let classes = *q.widths().last().unwrap();
    let mut sim = powered_up(&cfg);
    let mut stream = HostStream::new();
    stream.load(&q, cfg.step_inputs());
    sim.send(&stream.bytes, |_| 0);
    sim.run_until_replies(stream.expect.len(), 2_000_000)
        .unwrap();
    assert!(sim.replies.iter().all(|&b| b == REPLY_ACK));
    sim.replies.clear();

    let expect_error = |sim: &mut BoardSim, bytes: &[u8], idle: u64, code: ErrorCode| {
        sim.send(bytes, |_| 0);
        sim.run_until_replies(2, 100_000).unwrap();
        sim.run(idle).unwrap();
        assert_eq!(
            decode_replies(&sim.replies, &[Expect::Ack]).unwrap(),
            vec![Reply::Error(code as u8)],
            "{bytes:02x?}"
        );
        assert!(sim.board.led_error.val(), "the error LED is on");
        sim.replies.clear();
    };
    // an unknown opcode
    expect_error(&mut sim, &[0x13], 0, ErrorCode::UnknownOpcode);
    // a write whose check byte is wrong is not performed: a layer count of 7 would break
    // the next inference
    let mut bad = host::write_command(&ConfigWrite {
        address: control_address(),
        data: 7,
    });
    *bad.last_mut().unwrap() ^= 0x40;
    expect_error(&mut sim, &bad, 0, ErrorCode::BadCheck);
    // a classify command with no words
    expect_error(
        &mut sim,
        &host::command(OP_INFER, &[0, 0]),
        0,
        ErrorCode::BadLength,
    );
    // a write that stops half way: dropped after the timeout
    expect_error(&mut sim, &[OP_WRITE, 1, 2, 3], 0, ErrorCode::Timeout);
    // half an input, then silence: the engine is reset (the input dropped)
    let x = samples::random_input(&mut rng, q.n_inputs());
    let half = host::infer_command(&x, cfg.step_inputs(), false);
    expect_error(&mut sim, &half[..half.len() - 1], 0, ErrorCode::Timeout);

    // a ping clears the error LED; classifications match the model whose random streams
    // restart from their seeds (every error reset the engine)
    let mut stream = HostStream::new();
    stream.ping();
    let mut states = model.seeds().to_vec();
    let mut expected = Vec::new();
    for _ in 0..2 {
        let x = samples::random_input(&mut rng, q.n_inputs());
        stream.classify(&x, cfg.step_inputs(), classes, false, 0);
        expected.push(model.infer(&x, &mut states).unwrap());
    }
    // the host waits for each reply (no fillers): send command by command
    let want = stream.expected_replies(&expected);
    let mut sent = 0;
    let ping_len = host::ping().len();
    sim.send(&stream.bytes[..ping_len], |_| 0);
    sim.run_until_replies(1, 100_000).unwrap();
    assert!(
        !sim.board.led_error.val(),
        "a good command clears the error LED"
    );
    sent += ping_len;
    let per_input = (stream.bytes.len() - ping_len) / 2;
    for n in 0..2 {
        sim.send(&stream.bytes[sent..sent + per_input], |_| 0);
        sent += per_input;
        sim.run_until_replies(1 + 3 * (n + 1), 1_000_000).unwrap();
    }
    assert_eq!(sim.replies, want);
}

/// The replies of a session in which one configuration write and one image were answered with
/// errors (the board resets its engine at each, so the images after an error start from the
/// seeds again), crafted byte by byte: every reply is matched to its own image, the error
/// reply is the dropped image's, and the images after it agree with the model.
#[test]
fn decoded_replies_stay_with_their_images_after_an_error_reply() {
    // a case whose image 2 gets other logit sums from the seeds than after images 0 and 1, so
    // that the reset matters
    let logits = |model: &BitExact, x: &[i8], states: &mut [u32]| {
        Reply::from_inference(&model.infer(x, states).unwrap(), true)
    };
    let (cfg, q, model, inputs) = (0..1000)
        .find_map(|seed| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let (cfg, q) = tiny_case(&mut rng, 2, 2);
            let model = BitExact::new(&cfg, &q).unwrap();
            let inputs: Vec<Vec<i8>> = (0..4)
                .map(|_| samples::random_input(&mut rng, q.n_inputs()))
                .collect();
            let mut states = model.seeds().to_vec();
            let run_on: Vec<Reply> = inputs
                .iter()
                .map(|x| logits(&model, x, &mut states))
                .collect();
            let from_seeds = logits(&model, &inputs[2], &mut model.seeds().to_vec());
            (run_on[2] != from_seeds).then_some((cfg, q, model, inputs))
        })
        .expect("a tiny case whose random streams change a result");
    let session: Vec<(&[i8], bool)> = inputs.iter().map(|x| (x.as_slice(), true)).collect();
    let stream = HostStream::session(&cfg, &q, &session, None);
    let first_input = stream.expect.len() - 5;
    assert!(first_input >= 3, "the stream has writes to break");

    let bad_check = Reply::Error(ErrorCode::BadCheck as u8);
    let mut states = model.seeds().to_vec();
    let mut bytes = Vec::new();
    let mut board = Vec::new();
    for (k, e) in stream.expect.iter().enumerate() {
        let reply = match e {
            // the third command, a write, is refused: the engine restarts from its seeds
            Expect::Ack if k == 2 => bad_check.clone(),
            Expect::Ack => Reply::Ack,
            // image 1 is refused and dropped: images 2 and 3 start from the seeds again
            Expect::Result { .. } if k == first_input + 1 => bad_check.clone(),
            Expect::Result { .. } => logits(&model, &inputs[k - first_input], &mut states),
        };
        if matches!(reply, Reply::Error(_)) {
            states.copy_from_slice(model.seeds());
        }
        bytes.extend(reply.encode());
        board.push(reply);
    }
    let replies = decode_replies(&bytes, &stream.expect).unwrap();
    assert_eq!(replies, board);
    let m = match_replies(&replies, &stream.expect, &inputs, &model).unwrap();
    assert_eq!(m.command_errors, vec![(2, bad_check.clone())]);
    assert_eq!(m.inputs.len(), 4);
    assert_eq!(m.inputs[1].reply, bad_check);
    assert_eq!(m.inputs[1].model, None, "a refused image is not classified");
    for n in [0, 2, 3] {
        assert_eq!(
            Some(&m.inputs[n].reply),
            m.inputs[n].model.as_ref(),
            "image {n}"
        );
    }
    assert_eq!((m.mismatches(), m.errors()), (0, 2));

    // and an image's reply compared with another image's result is a mismatch
    let mut shifted = replies.clone();
    shifted.swap(first_input + 2, first_input + 3);
    let m = match_replies(&shifted, &stream.expect, &inputs, &model).unwrap();
    assert_eq!(m.mismatches(), 2);
}
