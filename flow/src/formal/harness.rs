//! The Verilog around the engine that the proofs check: a loader that writes a network into
//! the engine through its configuration port, a reference of the stream protocol, the
//! assertions of each property, and the accumulator checks placed inside the row ends.
//!
//! Everything here is text; the engine's own Verilog is not changed except where
//! [`cut_row_logits`] and [`with_accumulator_checks`] say so.

use nsm_model::engine::config::{Accumulator, EngineConfig};
use nsm_model::engine::host_interface::PortWrite;

use super::Property;

/// Top module of the harness.
pub const TOP: &str = "nsm_formal";
/// The cell that carries the loader's write strobe to the engine: removed after the load
/// has been simulated, so the proof starts from a loaded engine whose memories are constants.
pub const LOAD_GATE: &str = "load_gate";

/// What the harness is built for.
pub struct HarnessSpec<'a> {
    pub cfg: &'a EngineConfig,
    /// The configuration writes of the loaded network, in order.
    pub writes: &'a [PortWrite],
    /// Classes of the loaded network (beats per input).
    pub classes: usize,
    pub property: Property,
}

/// `v` as a signed Verilog literal of `bits` bits (`-32'sd16`).
fn lit(v: i128, bits: u32) -> String {
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{bits}'sd{}", v.unsigned_abs())
}

/// `(lo, hi)` of a signed register of `bits` bits.
fn range(bits: u32) -> (i128, i128) {
    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
}

/// The harness module. Its ports are free inputs: the solver chooses the reset, the input
/// words, `in_valid`, `in_last` and `out_ready` in every cycle.
pub fn harness(spec: &HarnessSpec) -> String {
    match spec.property {
        Property::ResetToIdle => reset_harness(),
        _ => loaded_harness(spec),
    }
}

const ENGINE_INSTANCE: &str =
    "    nsm_engine dut(.clock(clock), .reset(reset), .cfg_write(cfg_write),
        .cfg_address(cfg_address), .cfg_data(cfg_data), .in_valid(in_valid),
        .in_ready(in_ready), .in_data(in_data), .in_last(in_last), .out_valid(out_valid),
        .out_ready(out_ready), .out_logit(out_logit), .out_index(out_index),
        .out_last(out_last), .out_class(out_class), .busy(busy), .step_issued(step_issued));
";

const ENGINE_WIRES: &str = "    wire in_ready, out_valid, out_last, busy, step_issued;
    wire signed [63:0] out_logit;
    wire [19:0] out_index, out_class;
";

/// Reset from any state: every input free, including the configuration port; proved with no
/// initial state (`--noinit`), so the state before the reset is any state at all.
fn reset_harness() -> String {
    format!(
        "// Formal harness of nsm_engine: reset from any state (written by nsm-flow).
module {TOP}(input clock, input reset, input cfg_write, input [31:0] cfg_address,
    input [31:0] cfg_data, input in_valid, input [31:0] in_data, input in_last,
    input out_ready);
{ENGINE_WIRES}{ENGINE_INSTANCE}
    reg was_reset;
    always @(posedge clock) was_reset <= reset;
    // reset_to_idle: the cycle after a reset the engine is idle and offers no beat
    always @(*) if (was_reset) reset_to_idle: assert(in_ready && !busy && !out_valid);
endmodule
"
    )
}

/// A loaded engine under any input stream: phase 0 resets, phases 1..=N write the network,
/// then the stream and the reset are free.
fn loaded_harness(spec: &HarnessSpec) -> String {
    let n = spec.writes.len();
    let mut rom = String::new();
    for (i, w) in spec.writes.iter().enumerate() {
        rom.push_str(&format!(
            "            {}: begin cfg_address = 32'h{:08x}; cfg_data = 32'h{:08x}; end\n",
            i + 1,
            w.address,
            w.data
        ));
    }
    let last_beat = spec.classes - 1;
    let checks = match spec.property {
        Property::Stream => format!(
            "    // in_ready_idle: in_ready is high exactly when no accepted input awaits its beats
    // beats_in_order: each beat is the next class of a pending input, the last one marked
    // beat_held: a beat offered and not taken stays, unchanged, until it is taken
    always @(*) if (checking) begin
        in_ready_idle: assert(in_ready == !pending);
        if (out_valid) beats_in_order: assert(pending && out_index == beat
            && out_last == (beat == 20'd{last_beat}));
        if (!was_reset && was_offered && !was_taken) beat_held: assert(out_valid
            && out_logit == held_logit && out_index == held_index && out_last == held_last
            && out_class == held_class);
    end
"
        ),
        _ => {
            let (lo, hi) = range(spec.cfg.widths().logit_sum_bits);
            format!(
                "    // logit_sum_width: a beat's Monte Carlo logit sum fits its derived width
    always @(*) if (checking && out_valid)
        logit_sum_width: assert(out_logit >= {} && out_logit <= {});
",
                lit(lo, 64),
                lit(hi, 64)
            )
        }
    };
    format!(
        "// Formal harness of nsm_engine: a loaded network under any input stream (written by
// nsm-flow).
module {TOP}(input clock, input reset_in, input in_valid_in, input [31:0] in_data,
    input in_last, input out_ready);
    localparam LOAD_WRITES = {n};
    reg [15:0] phase = 16'd0;
    wire loaded = phase > LOAD_WRITES;
    reg checking = 1'b0;
    always @(posedge clock) if (!loaded) phase <= phase + 16'd1;
    reg [31:0] cfg_address, cfg_data;
    always @(*) begin
        cfg_address = 32'h0;
        cfg_data = 32'h0;
        case (phase)
{rom}            default: ;
        endcase
    end
    wire cfg_write;
    nsm_formal_load_gate {LOAD_GATE}(.a(phase != 16'd0 && !loaded), .y(cfg_write));
    // the stream and the reset are free from the cycle after the load (`checking`), so the
    // simulated load never sees them
    wire reset = phase == 16'd0 || (checking && reset_in);
    wire in_valid = checking && in_valid_in;
{ENGINE_WIRES}{ENGINE_INSTANCE}
    // the protocol's reference: an input is pending from the handshake of its last word to
    // the handshake of its last beat
    reg pending = 1'b0, was_reset = 1'b1;
    reg was_offered = 1'b0, was_taken = 1'b0, held_last = 1'b0;
    reg [19:0] beat = 20'd0, held_index = 20'd0, held_class = 20'd0;
    reg signed [63:0] held_logit = 64'sd0;
    always @(posedge clock) begin
        checking <= loaded;
        was_reset <= reset;
        was_offered <= out_valid;
        was_taken <= out_ready;
        held_logit <= out_logit;
        held_index <= out_index;
        held_last <= out_last;
        held_class <= out_class;
        if (reset) begin
            pending <= 1'b0;
            beat <= 20'd0;
        end else begin
            if (in_valid && in_ready && in_last) pending <= 1'b1;
            if (out_valid && out_ready) begin
                beat <= out_last ? 20'd0 : beat + 20'd1;
                if (out_last) pending <= 1'b0;
            end
        end
    end
{checks}    // an input's last beat is reachable: the proof is not vacuous
    always @(*) if (checking) answered: cover(out_valid && out_ready && out_last);
endmodule

(* keep_hierarchy *)
module nsm_formal_load_gate(input a, output y);
    assign y = a;
endmodule
"
    )
}

/// The engine with every row's logit replaced by a free value at the logit walker's input:
/// the stream protocol must hold whatever the rows compute, and without the datapath the
/// proof is several times faster.
pub fn cut_row_logits(verilog: &str, rows: usize) -> Result<String, String> {
    let mut out = verilog.to_string();
    for r in 0..rows {
        let from = format!("walker$row_logit${r} = array$logit${r};");
        let to = format!("walker$row_logit${r} = $anyseq;");
        out = replace_once(&out, &from, &to)?;
    }
    Ok(out)
}

/// The engine with the accumulator checks inside each row end: whenever a step is added,
/// the exact sums `S` and `T` fit the derived width (`acc_bits`), the value stored is that
/// sum (no bit lost), and the step's own sums fit `step_sum_bits`.
pub fn with_accumulator_checks(verilog: &str, cfg: &EngineConfig) -> Result<String, String> {
    let w = cfg.widths();
    let (acc_lo, acc_hi) = range(w.acc_bits);
    let (step_lo, step_hi) = range(w.step_sum_bits);
    let exact = cfg.accumulator == Accumulator::Exact;
    let mut out = verilog.to_string();
    for r in 0..cfg.rows {
        let mut body = String::from("    // accumulator_width (formal harness of nsm-flow)\n");
        body.push_str("    always @(*) if (tok_valid && !reset) begin\n");
        for x in ["s", "t"] {
            body.push_str(&format!(
                "        accumulator_width_step_{x}: assert(step_{x} >= {} && step_{x} <= {});\n",
                lit(step_lo, 32),
                lit(step_hi, 32)
            ));
            if exact {
                body.push_str(&format!(
                    "        accumulator_width_{x}: assert(raw_{x} >= {} && raw_{x} <= {} && acc_{x}$d == raw_{x});\n",
                    lit(acc_lo, 32),
                    lit(acc_hi, 32)
                ));
            } else {
                body.push_str(&format!(
                    "        accumulator_width_{x}: assert(acc_{x}$d >= {} && acc_{x}$d <= {});\n",
                    lit(acc_lo, 32),
                    lit(acc_hi, 32)
                ));
            }
        }
        body.push_str("    end\n");
        let end = format!("endmodule // nsm_engine$array$row_ends${r}\n");
        out = replace_once(&out, &end, &format!("{body}{end}"))?;
    }
    Ok(out)
}

/// `text` with the one occurrence of `from` replaced, or which text was not found once.
pub fn replace_once(text: &str, from: &str, to: &str) -> Result<String, String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!(
            "expected `{from}` once in the engine's Verilog, found it {n} times"
        )),
    }
}
