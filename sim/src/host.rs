//! The host side of a board's serial protocol ([`nsm_hdl::host_link`], `docs/hardware.md`
//! "Boards"): [`HostStream`] turns a quantized network and inputs into the bytes to send, and
//! remembers what each command answers, so [`decode_replies`] can parse the bytes that come
//! back; [`expected_replies`] gives the bytes the bit-exact model predicts. The protocol's
//! bytes are those of [`nsm_model::engine::host_interface`].

use nsm_model::engine::config::EngineConfig;
pub use nsm_model::engine::host_interface::ErrorCode;
use nsm_model::engine::host_interface::{
    check_byte, input_word_bytes, result_reply_bytes, CLASS_BYTES, FILLER, LOGIT_BYTES, OP_INFER,
    OP_INFER_LOGITS, OP_PING, OP_WRITE, REPLY_ACK, REPLY_ERROR,
};
use nsm_model::engine::qnet::QNet;
use nsm_model::engine::{BitExact, BitExactError, Inference};

use crate::{config_writes, input_words, ConfigWrite, CycleModel};

/// A command's bytes with its check byte (the XOR of all bytes) appended.
pub fn command(opcode: u8, fields: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.len() + 2);
    out.push(opcode);
    out.extend_from_slice(fields);
    out.push(check_byte(&out));
    out
}

/// `'P'`: answers `'K'`.
pub fn ping() -> Vec<u8> {
    command(OP_PING, &[])
}

/// `'W'`: one configuration-port write.
pub fn write_command(w: &ConfigWrite) -> Vec<u8> {
    let mut fields = w.address.to_le_bytes().to_vec();
    fields.extend_from_slice(&w.data.to_le_bytes());
    command(OP_WRITE, &fields)
}

/// `'I'` (or `'L'` with `logits`): one input of `+1`/`-1` values on an engine with `cols`
/// inputs per array step (`cols * lanes`); each word is `ceil(cols / 8)` bytes, little-endian.
pub fn infer_command(input: &[i8], cols: usize, logits: bool) -> Vec<u8> {
    let words = input_words(input, cols);
    let bytes = input_word_bytes(cols);
    let mut fields = (words.len() as u16).to_le_bytes().to_vec();
    for w in &words {
        fields.extend_from_slice(&w.to_le_bytes()[..bytes]);
    }
    command(if logits { OP_INFER_LOGITS } else { OP_INFER }, &fields)
}

/// What a command answers when it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Ack,
    Result { classes: usize, logits: bool },
}

/// One reply, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ack,
    Result {
        class: u16,
        /// The Monte Carlo logit sums (only for `'L'`).
        logits: Option<Vec<i64>>,
    },
    Error(u8),
}

impl Reply {
    /// The reply the board sends for a model result.
    pub fn from_inference(inf: &Inference, logits: bool) -> Self {
        Reply::Result {
            class: inf.class as u16,
            logits: logits.then(|| inf.logit_sums.clone()),
        }
    }

    /// The bytes of this reply.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Ack => vec![REPLY_ACK],
            Reply::Error(code) => vec![REPLY_ERROR, *code],
            Reply::Result { class, logits } => {
                let mut out = vec![REPLY_ACK];
                for l in logits.iter().flatten() {
                    out.extend_from_slice(&l.to_le_bytes());
                }
                out.extend_from_slice(&class.to_le_bytes());
                out
            }
        }
    }

    /// The error, if this is one.
    pub fn error(&self) -> Option<ErrorCode> {
        match self {
            Reply::Error(c) => ErrorCode::from_byte(*c),
            _ => None,
        }
    }
}

/// A reply as a message shows it: `class 3`, `class 3, logit sums -5 700 12`,
/// `error 5 (wrong check byte)`.
impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Ack => f.write_str("acknowledged"),
            Reply::Result { class, logits } => {
                write!(f, "class {class}")?;
                if let Some(l) = logits {
                    let sums: Vec<String> = l.iter().map(i64::to_string).collect();
                    write!(f, ", logit sums {}", sums.join(" "))?;
                }
                Ok(())
            }
            Reply::Error(c) => match ErrorCode::from_byte(*c) {
                Some(code) => write!(f, "error {c} ({code})"),
                None => write!(f, "error {c} (not a known code)"),
            },
        }
    }
}

/// The bytes a host sends, and the replies they ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStream {
    pub bytes: Vec<u8>,
    pub expect: Vec<Expect>,
}

/// Filler bytes that cover one inference and its reply at `clocks_per_bit`: the engine's
/// exact cycle count ([`CycleModel`]) plus the reply's transmission, with a 10% margin and
/// two bytes to spare.
pub fn filler_bytes(cfg: &EngineConfig, qnet: &QNet, logits: bool, clocks_per_bit: u32) -> usize {
    let model = CycleModel::new(cfg, qnet);
    let byte = 10 * u64::from(clocks_per_bit);
    let classes = qnet.widths().last().copied().unwrap_or(0) as u64;
    let reply_bytes = result_reply_bytes(classes as usize, logits) as u64;
    let cycles = model.compute_cycles + model.output_cycles + reply_bytes * byte;
    ((cycles as f64 * 1.1 / byte as f64).ceil() as usize) + 2
}

impl HostStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a ping.
    pub fn ping(&mut self) {
        self.bytes.extend(ping());
        self.expect.push(Expect::Ack);
    }

    /// Appends the writes that load `qnet` on an engine with `cols` inputs per array step
    /// ([`config_writes`]).
    pub fn load(&mut self, qnet: &QNet, cols: usize) {
        for w in config_writes(qnet, cols) {
            self.bytes.extend(write_command(&w));
            self.expect.push(Expect::Ack);
        }
    }

    /// Appends one input, followed by `fillers` filler bytes (0 when the host waits for each
    /// reply before sending on; [`filler_bytes`] for a stream sent in one go).
    pub fn classify(
        &mut self,
        input: &[i8],
        cols: usize,
        classes: usize,
        logits: bool,
        fillers: usize,
    ) {
        self.bytes.extend(infer_command(input, cols, logits));
        self.bytes.extend(std::iter::repeat_n(FILLER, fillers));
        self.expect.push(Expect::Result { classes, logits });
    }

    /// A whole board session: a ping, the writes that load `qnet` on `cfg`'s engine, each
    /// input (with its `logits` flag) and a ping. With `clocks_per_bit`, each input is
    /// followed by its [`filler_bytes`], for a stream sent in one go.
    pub fn session(
        cfg: &EngineConfig,
        qnet: &QNet,
        inputs: &[(&[i8], bool)],
        clocks_per_bit: Option<u32>,
    ) -> Self {
        let classes = qnet.widths().last().copied().unwrap_or(0);
        let mut s = Self::new();
        s.ping();
        s.load(qnet, cfg.step_inputs());
        for &(x, logits) in inputs {
            let fillers = clocks_per_bit.map_or(0, |cpb| filler_bytes(cfg, qnet, logits, cpb));
            s.classify(x, cfg.step_inputs(), classes, logits, fillers);
        }
        s.ping();
        s
    }

    /// The reply bytes if every command succeeds with the given results, in order.
    pub fn expected_replies(&self, results: &[Inference]) -> Vec<u8> {
        expected_replies(&self.expect, results)
    }
}

/// The reply bytes of `expect` when every command succeeds: `results` are the inputs'
/// results in order.
pub fn expected_replies(expect: &[Expect], results: &[Inference]) -> Vec<u8> {
    let mut results = results.iter();
    let mut out = Vec::new();
    for e in expect {
        match e {
            Expect::Ack => out.push(REPLY_ACK),
            Expect::Result { logits, .. } => {
                let inf = results.next().expect("one result per classify command");
                out.extend(Reply::from_inference(inf, *logits).encode());
            }
        }
    }
    out
}

/// Why reply bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("reply byte {offset} is 0x{byte:02x}, expected 'K' (0x4b) or 'E' (0x45): the stream is out of step")]
    Desync { offset: usize, byte: u8 },
    #[error("the replies end after {got} of {expected} commands (byte {offset})")]
    Truncated {
        got: usize,
        expected: usize,
        offset: usize,
    },
    #[error("{0} bytes follow the last expected reply")]
    Trailing(usize),
}

/// Decodes the replies to the commands described by `expect`. An error reply stands for the
/// command it answers (the rest of that command's reply is not sent).
pub fn decode_replies(bytes: &[u8], expect: &[Expect]) -> Result<Vec<Reply>, HostError> {
    let mut out = Vec::with_capacity(expect.len());
    let mut at = 0usize;
    let truncated = |got: usize, offset: usize| HostError::Truncated {
        got,
        expected: expect.len(),
        offset,
    };
    for e in expect {
        let Some(&first) = bytes.get(at) else {
            return Err(truncated(out.len(), at));
        };
        match first {
            REPLY_ERROR => {
                let code = *bytes.get(at + 1).ok_or(truncated(out.len(), at + 1))?;
                out.push(Reply::Error(code));
                at += 2;
            }
            REPLY_ACK => {
                at += 1;
                match *e {
                    Expect::Ack => out.push(Reply::Ack),
                    Expect::Result { classes, logits } => {
                        // the acknowledgement is read already
                        let n = result_reply_bytes(classes, logits) - 1;
                        let body = bytes.get(at..at + n).ok_or(truncated(out.len(), at))?;
                        let (logit_bytes, class_bytes) = body.split_at(n - CLASS_BYTES);
                        let logit_values = logits.then(|| {
                            logit_bytes
                                .chunks(LOGIT_BYTES)
                                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                                .collect()
                        });
                        let class = u16::from_le_bytes(
                            class_bytes.try_into().expect("a class is two bytes"),
                        );
                        out.push(Reply::Result {
                            class,
                            logits: logit_values,
                        });
                        at += n;
                    }
                }
            }
            byte => return Err(HostError::Desync { offset: at, byte }),
        }
    }
    if at < bytes.len() {
        return Err(HostError::Trailing(bytes.len() - at));
    }
    Ok(out)
}

/// One classify command's reply beside the bit-exact model's reply for the same input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputReply {
    /// What the board answered: a result, or an error (the board then dropped the input).
    pub reply: Reply,
    /// What the model answers for the input as the board saw it; `None` after an error reply,
    /// when the board did not classify the input.
    pub model: Option<Reply>,
}

impl InputReply {
    /// Whether the board classified the input differently from the model.
    pub fn mismatch(&self) -> bool {
        self.model.as_ref().is_some_and(|m| *m != self.reply)
    }
}

/// A session's replies matched to its commands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionReplies {
    /// One per classify command, in order: input `n`'s reply is the `n`-th classify reply,
    /// whatever the pings and writes around it answered.
    pub inputs: Vec<InputReply>,
    /// Error replies to the other commands (pings and writes): the command's position in the
    /// stream, counted from 0, and its reply.
    pub command_errors: Vec<(usize, Reply)>,
}

impl SessionReplies {
    /// Inputs the board classified differently from the model.
    pub fn mismatches(&self) -> usize {
        self.inputs.iter().filter(|i| i.mismatch()).count()
    }

    /// Error replies to any command.
    pub fn errors(&self) -> usize {
        let inputs = self.inputs.iter().filter(|i| i.model.is_none()).count();
        inputs + self.command_errors.len()
    }
}

/// Matches `replies` ([`decode_replies`] of the bytes for `expect`) to their commands and
/// predicts each classify reply with `model`, running `inputs` (one per classify command, in
/// order) as the board does: an error reply to any command resets the engine, so the random
/// streams restart from their seeds, and an input answered with an error was dropped, not
/// classified. So a reply is compared with its own input's result, and an error does not shift
/// the images after it.
pub fn match_replies(
    replies: &[Reply],
    expect: &[Expect],
    inputs: &[Vec<i8>],
    model: &BitExact,
) -> Result<SessionReplies, BitExactError> {
    let mut out = SessionReplies::default();
    let mut states = model.seeds().to_vec();
    let mut next_input = inputs.iter();
    for (k, (reply, e)) in replies.iter().zip(expect).enumerate() {
        let is_error = matches!(reply, Reply::Error(_));
        match *e {
            Expect::Result { logits, .. } => {
                let x = next_input
                    .next()
                    .expect("one input per classify command of the stream");
                let predicted = if is_error {
                    None
                } else {
                    Some(Reply::from_inference(&model.infer(x, &mut states)?, logits))
                };
                out.inputs.push(InputReply {
                    reply: reply.clone(),
                    model: predicted,
                });
            }
            Expect::Ack if is_error => out.command_errors.push((k, reply.clone())),
            Expect::Ack => {}
        }
        if is_error {
            states.copy_from_slice(model.seeds());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_carry_their_check_byte() {
        assert_eq!(ping(), vec![b'P', b'P']);
        let w = ConfigWrite {
            // region 2 (layers), index 9: layer 1, field 1
            address: nsm_model::engine::host_interface::layer_address(
                1,
                nsm_model::engine::host_interface::LayerField::NOut,
            ),
            data: 0x0102_0304,
        };
        let c = write_command(&w);
        assert_eq!(c.len(), 10);
        assert_eq!(&c[..5], &[b'W', 9, 0, 0, 0x20]);
        assert_eq!(&c[5..9], &[4, 3, 2, 1]);
        assert_eq!(check_byte(&c), 0);
        // 5 inputs on 12 columns: one word of two bytes
        let i = infer_command(&[1, -1, 1, 1, -1], 12, false);
        assert_eq!(i, vec![b'I', 1, 0, 0b01101, 0, b'I' ^ 1 ^ 0b01101]);
    }

    #[test]
    fn replies_round_trip_and_desync_is_named() {
        let expect = [
            Expect::Ack,
            Expect::Result {
                classes: 3,
                logits: true,
            },
            Expect::Result {
                classes: 3,
                logits: false,
            },
            Expect::Ack,
        ];
        let results = [
            Inference::from_logit_sums(vec![-5, 700, i64::MIN]),
            Inference::from_logit_sums(vec![9, 9, 1]),
        ];
        let bytes = expected_replies(&expect, &results);
        let replies = decode_replies(&bytes, &expect).unwrap();
        assert_eq!(
            replies[1],
            Reply::Result {
                class: 1,
                logits: Some(vec![-5, 700, i64::MIN])
            }
        );
        assert_eq!(
            replies[2],
            Reply::Result {
                class: 0,
                logits: None
            }
        );
        let mut bad = bytes.clone();
        bad[0] = b'x';
        assert_eq!(
            decode_replies(&bad, &expect),
            Err(HostError::Desync {
                offset: 0,
                byte: b'x'
            })
        );
        assert!(matches!(
            decode_replies(&bytes[..5], &expect),
            Err(HostError::Truncated { .. })
        ));
        // replies read as plain text in messages
        assert_eq!(
            replies[1].to_string(),
            "class 1, logit sums -5 700 -9223372036854775808"
        );
        assert_eq!(replies[2].to_string(), "class 0");
        assert_eq!(Reply::Error(5).to_string(), "error 5 (wrong check byte)");
        assert_eq!(Reply::Error(99).to_string(), "error 99 (not a known code)");
        let errs = decode_replies(&[b'E', 5, b'K', b'E', 1, b'K'], &[Expect::Ack; 4]).unwrap();
        assert_eq!(errs[0].error(), Some(ErrorCode::BadCheck));
        assert_eq!(errs[2], Reply::Error(1));
    }
}
