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
use nsm_sim::host::{self, decode_replies, filler_bytes, Expect, HostStream, Reply};
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
        if cfg.cols > 8 {
            break (cfg, q);
        }
    };
    cases.push(wide);
    for (case, (cfg, q)) in cases.iter().enumerate() {
        let model = BitExact::new(cfg, q).unwrap();
        let mut states = model.seeds().to_vec();
        let classes = *q.widths().last().unwrap();
        let mut stream = HostStream::new();
        stream.ping();
        stream.load(q, cfg.cols);
        let mut expected: Vec<Inference> = Vec::new();
        for n in 0..3 {
            let x = samples::random_input(&mut rng, q.n_inputs());
            let logits = n == 1;
            // the stream is sent in one go: fillers cover each inference
            let fillers = filler_bytes(cfg, q, logits, PARAMS.clocks_per_bit);
            stream.classify(&x, cfg.cols, classes, logits, fillers);
            expected.push(model.infer(&x, &mut states).unwrap());
        }
        stream.ping();
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
    stream.load(&q, cfg.cols);
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
    let half = host::infer_command(&x, cfg.cols, false);
    expect_error(&mut sim, &half[..half.len() - 1], 0, ErrorCode::Timeout);

    // a ping clears the error LED; classifications match the model whose random streams
    // restart from their seeds (every error reset the engine)
    let mut stream = HostStream::new();
    stream.ping();
    let mut states = model.seeds().to_vec();
    let mut expected = Vec::new();
    for _ in 0..2 {
        let x = samples::random_input(&mut rng, q.n_inputs());
        stream.classify(&x, cfg.cols, classes, false, 0);
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
