//! Lint waivers of the generated Verilog: a Verilator configuration file (`nsm_engine.vlt`
//! for the engine, `<top>.vlt` for a board top, [`crate::board`]) with one `lint_off` per
//! justified finding, each naming the rule, the file, the line and the reason.
//!
//! Width findings (`WIDTH`, `UNSIGNED`) are never waived: the description is written so that
//! Verilator finds none. What remains are signals that are unused by design in some
//! instances: ports as wide as the widest configuration of which a memory uses the low bits,
//! the taps of shift chains that a given timing does not need, the sign-only use of a
//! difference. Each has an entry in [`WAIVERS`]; the generator finds the declaration lines
//! of the signals it names and writes a waiver for each. A finding that no entry explains is
//! not waived, so the lint test (`verilator --lint-only -Wall`, run by `nsm_flow::lint`)
//! fails on it.

/// One kind of justified finding.
pub struct Waiver {
    /// Verilator rule.
    pub rule: &'static str,
    /// Modules it applies to: the last component of the module's name with instance numbers
    /// removed (`nsm_engine$pes$3$lfsr` is `lfsr`), a group (`@memories`, `@chains`), or `*` for every module.
    pub module: &'static str,
    /// Declared names it applies to: an exact name, or a prefix ending in `*`.
    pub signals: &'static [&'static str],
    pub reason: &'static str,
}

const MEMORIES: &[&str] = &["weights", "a_ram", "b_ram", "logits", "act"];
const CHAINS: &[&str] = &[
    "w_chain",
    "valid_chain",
    "live_chain",
    "n_chain",
    "tok_flags_chain",
    "tok_word_chain",
    "tok_bit_chain",
    "tok_neuron_chain",
    "tok_live_chain",
    "hid_pending",
    "hid_word",
    "hid_bit",
];

/// The justified findings.
pub const WAIVERS: &[Waiver] = &[
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "array",
        signals: &["pes$*$gate"],
        reason: "a PE's gate output is for inspection (tests, waveforms); the array does not read it",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "array",
        signals: &["pes$*$z_out"],
        reason: "only the last PE of a row drives this: its activation word has no further PE",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "array",
        signals: &[
            "w_chain$*", "valid_chain$*", "live_chain$*", "n_chain$*", "tok_flags_chain$*", "tok_word_chain$*",
            "tok_bit_chain$*", "tok_neuron_chain$*", "tok_live_chain$*",
        ],
        reason: "a shift chain offers a tap after every stage; the engine reads the stages its timing needs",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "array",
        signals: &[
            "row_ends$*$logit_valid",
            "row_ends$*$logit_neuron",
            "row_ends$*$logit_pending",
        ],
        reason: "the rows finish an output neuron together: row 0's strobe and neuron index stand for every row",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "config_port",
        signals: &["host$address"],
        reason: "address bits between a region's index field and the region number are reserved and ignored",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "results",
        signals: &["best_minus_beat"],
        reason: "only the sign of the difference decides the argmax",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "row_ends",
        signals: &["hid_pending$*", "hid_word$*", "hid_bit$*"],
        reason: "a shift chain offers a tap after every stage; the row end reads the one its neuron unit's latency needs",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "row_ends",
        signals: &["above_s", "below_s", "above_t", "below_t"],
        reason: "only the sign of a saturation difference is used",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "pes",
        signals: &["live_in"],
        reason: "only the PEs of 1-bit weights mask padding slots; multi-bit padding weights are 0",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "pes",
        signals: &["w_in", "s_in", "t_in"],
        reason: "a PE computes at the configuration's step-sum width, the low bits of its 32-bit ports",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "neuron",
        signals: &["a", "s", "t", "b", "u"],
        reason: "the neuron unit cuts its 32-bit inputs to the contract widths and keeps only the sign of u' (eq. 1)",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "@memories",
        signals: &["read_address", "write_address", "write_data", "write_bit"],
        reason: "ports are as wide as the widest configuration; a memory uses the address and data bits its depth and word need",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "@chains",
        signals: &["link$*", "clock", "reset"],
        reason: "the last link of a shift chain feeds no stage; a chain of no stages (the weight-address chain of a one-column array) uses neither clock nor reset",
    },
    Waiver {
        rule: "UNUSEDPARAM",
        module: "@chains",
        signals: &["zero"],
        reason: "a chain of no stages (the weight-address chain of a one-column array) has nothing to clear",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "link",
        signals: &["out_stream$index"],
        reason: "the result beats come in class order; the host link sends the logits in that order and needs no index",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "nsm_board",
        signals: &["engine$step_issued"],
        reason: "the array-step strobe feeds the simulations' utilization counts; a board has no counter for it",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "link",
        signals: &["out_stream$class"],
        reason: "the reply carries the class in two bytes (docs/hardware.md, host link): the link sends bits 15:0 of the engine's class",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "nsm_update_unit",
        signals: &["err", "a_in", "b_in"],
        reason: "the ports are 32 bits; the update unit keeps the bits of the configuration's error, stored a_i and stored bias formats",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "nsm_update_unit",
        signals: &["r"],
        reason: "a saturation compares at 64 bits; the clamped value fits the register or port it feeds, which takes its low bits",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "nsm_update_unit",
        signals: &["g1", "b_f", "q16", "dw64"],
        reason: "computed at 64 bits like the fixed-point mirror; the value fits the multiplier operand or register it feeds, which takes its low bits",
    },
    Waiver {
        rule: "UNUSEDSIGNAL",
        module: "nsm_update_unit",
        signals: &["x_abs"],
        reason: "|x| <= X_MAX: the P and D table index is the low lut_index_bits bits of |x|",
    },
    Waiver {
        rule: "DECLFILENAME",
        module: "*",
        signals: &[],
        reason: "rust-hdl emits every module of the design into one file",
    },
];

fn module_kind(name: &str) -> &str {
    name.rsplit('$')
        .find(|part| !part.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or(name)
}

fn module_matches(pattern: &str, kind: &str) -> bool {
    match pattern {
        "*" => true,
        "@memories" => MEMORIES.contains(&kind),
        "@chains" => CHAINS.contains(&kind),
        p => p == kind,
    }
}

fn name_matches(pattern: &str, name: &str) -> bool {
    // `$*$` and a trailing `*` stand for any instance number / any rest
    let mut rest = name;
    let parts: Vec<&str> = pattern.split('*').collect();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i + 1 == parts.len() && part.is_empty() {
            return true;
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// The name a declaration line declares: `input wire signed [7:0] x;`, `reg [3:0] y;`,
/// `wire signed [9:0] z = ...;`, `localparam signed zero = 32'h0;`.
fn declared_name(line: &str) -> Option<(&'static str, &str)> {
    let t = line.trim();
    let (kind, rest) = if let Some(r) = t.strip_prefix("localparam ") {
        ("param", r)
    } else if let Some(r) = t
        .strip_prefix("input ")
        .or_else(|| t.strip_prefix("output "))
        .or_else(|| t.strip_prefix("wire "))
        .or_else(|| t.strip_prefix("reg "))
    {
        ("signal", r)
    } else {
        return None;
    };
    let decl = rest.split(['=', ';']).next()?.trim_end();
    let name = decl.rsplit([' ', ']']).next()?;
    (!name.is_empty()).then_some((kind, name))
}

/// The Verilator configuration that waives the justified findings of `verilog` (the text of
/// `file_name`).
pub fn vlt(verilog: &str, file_name: &str, top: &str) -> String {
    let mut out = String::from(
        "`verilator_config\n// Lint waivers of the generated Verilog, written by nsm-verilog (codegen/src/lint.rs).\n// One waiver per justified finding: rule, file, line, and the reason above it.\n",
    );
    let mut module = String::new();
    for (i, line) in verilog.lines().enumerate() {
        let n = i + 1;
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("module ") {
            module = rest.split('(').next().unwrap_or("").trim().to_string();
            if module != top {
                let w = WAIVERS.iter().find(|w| w.rule == "DECLFILENAME").unwrap();
                out.push_str(&format!(
                    "// {}\nlint_off -rule DECLFILENAME -file \"*{file_name}\" -lines {n}\n",
                    w.reason
                ));
            }
            continue;
        }
        let Some((decl, name)) = declared_name(line) else {
            continue;
        };
        let kind = module_kind(&module);
        for w in WAIVERS {
            let rule_fits = match decl {
                "param" => w.rule == "UNUSEDPARAM",
                _ => w.rule == "UNUSEDSIGNAL",
            };
            if rule_fits
                && module_matches(w.module, kind)
                && w.signals.iter().any(|p| name_matches(p, name))
            {
                out.push_str(&format!(
                    "// {}: {}\nlint_off -rule {} -file \"*{file_name}\" -lines {n}\n",
                    name, w.reason, w.rule
                ));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_kinds() {
        assert_eq!(module_kind("nsm_engine$pes$3$lfsr"), "lfsr");
        assert_eq!(module_kind("nsm_engine$row_ends$0"), "row_ends");
        assert_eq!(module_kind("nsm_engine"), "nsm_engine");
        assert_eq!(module_kind("nsm_board$engine"), "engine");
        assert_eq!(module_kind("nsm_engine$array$pes$3"), "pes");
        assert!(module_matches("@chains", "n_chain") && !module_matches("@chains", "array"));
        assert!(name_matches("pes$*$gate", "pes$12$gate"));
        assert!(!name_matches("pes$*$gate", "pes$12$z_out"));
        assert!(name_matches("skew$*", "skew$3$taps$2"));
        assert!(name_matches("a", "a"));
        assert!(!name_matches("a", "ab"));
        assert_eq!(
            declared_name("    input wire signed [7:0] x;"),
            Some(("signal", "x"))
        );
        assert_eq!(
            declared_name("wire signed [9:0] z = a + b;"),
            Some(("signal", "z"))
        );
        assert_eq!(
            declared_name("    localparam signed zero = 32'h0;"),
            Some(("param", "zero"))
        );
        assert_eq!(
            declared_name("    reg pes$0$gate;"),
            Some(("signal", "pes$0$gate"))
        );
    }

    #[test]
    fn waivers_name_file_line_and_reason() {
        let v = "module nsm_engine$array(clock);\n    wire pes$3$gate;\n    wire kept;\nendmodule\nmodule nsm_engine$array$pes$3(clock);\nendmodule\nmodule nsm_engine(clock);\nendmodule\n";
        let text = vlt(v, "nsm_engine.v", "nsm_engine");
        assert!(text.contains("lint_off -rule UNUSEDSIGNAL -file \"*nsm_engine.v\" -lines 2\n"));
        assert!(text.contains("lint_off -rule DECLFILENAME -file \"*nsm_engine.v\" -lines 5\n"));
        assert!(!text.contains("-lines 7\n"), "{text}");
        assert!(!text.contains("-lines 3\n"), "{text}");
        for l in text.lines().filter(|l| l.starts_with("lint_off")) {
            assert!(!l.contains("WIDTH") && !l.contains("UNSIGNED"));
        }
    }
}
