//! The engine's three host ports as interfaces: the write-only configuration port, the input
//! stream and the result stream (valid/ready). The host side of each (`*Source` for what the
//! host drives, `ResultSink` for what it takes) joins the engine's side in one call, as the
//! board's host link does. Protocol and timing: `docs/hardware.md`, "Ports".
//!
//! In the emitted Verilog the engine's ports keep flat names (`cfg_write`, `in_valid`,
//! `out_logit`, ...): [`verilog`] renames the top module's interface ports by [`PORT_NAMES`].

use rust_hdl::prelude::*;

use crate::ram::ADDR_BITS;

/// The host's side of the configuration port: one 32-bit word to one address per clock.
#[derive(LogicInterface, Default)]
#[join = "ConfigTarget"]
pub struct ConfigSource {
    pub write: Signal<Out, bool>,
    pub address: Signal<Out, Bits<32>>,
    pub data: Signal<Out, Bits<32>>,
}

/// The engine's side of [`ConfigSource`].
#[derive(LogicInterface, Default)]
#[join = "ConfigSource"]
pub struct ConfigTarget {
    pub write: Signal<In, bool>,
    pub address: Signal<In, Bits<32>>,
    pub data: Signal<In, Bits<32>>,
}

/// The host's side of the input stream: one word of `cols` binarized inputs per beat, `last`
/// on an image's last word.
#[derive(LogicInterface, Default)]
#[join = "InputSink"]
pub struct InputSource {
    pub valid: Signal<Out, bool>,
    pub ready: Signal<In, bool>,
    pub data: Signal<Out, Bits<32>>,
    pub last: Signal<Out, bool>,
}

/// The engine's side of [`InputSource`].
#[derive(LogicInterface, Default)]
#[join = "InputSource"]
pub struct InputSink {
    pub valid: Signal<In, bool>,
    pub ready: Signal<Out, bool>,
    pub data: Signal<In, Bits<32>>,
    pub last: Signal<In, bool>,
}

/// The engine's side of the result stream: one beat per class with its logit sum; the last
/// beat carries the winning class.
#[derive(LogicInterface, Default)]
#[join = "ResultSink"]
pub struct ResultSource {
    pub valid: Signal<Out, bool>,
    pub ready: Signal<In, bool>,
    pub logit: Signal<Out, Signed<64>>,
    pub index: Signal<Out, Bits<ADDR_BITS>>,
    pub last: Signal<Out, bool>,
    /// The winning class (valid with `last`).
    pub class: Signal<Out, Bits<ADDR_BITS>>,
}

/// The host's side of [`ResultSource`].
#[derive(LogicInterface, Default)]
#[join = "ResultSource"]
pub struct ResultSink {
    pub valid: Signal<In, bool>,
    pub ready: Signal<Out, bool>,
    pub logit: Signal<In, Signed<64>>,
    pub index: Signal<In, Bits<ADDR_BITS>>,
    pub last: Signal<In, bool>,
    pub class: Signal<In, Bits<ADDR_BITS>>,
}

/// The Verilog name of each interface port of the engine's top module (rust-hdl's name first).
pub const PORT_NAMES: &[(&str, &str)] = &[
    ("cfg$write", "cfg_write"),
    ("cfg$address", "cfg_address"),
    ("cfg$data", "cfg_data"),
    ("in_stream$valid", "in_valid"),
    ("in_stream$ready", "in_ready"),
    ("in_stream$data", "in_data"),
    ("in_stream$last", "in_last"),
    ("out_stream$valid", "out_valid"),
    ("out_stream$ready", "out_ready"),
    ("out_stream$logit", "out_logit"),
    ("out_stream$index", "out_index"),
    ("out_stream$last", "out_last"),
    ("out_stream$class", "out_class"),
];

/// The Verilog of `engine` (rust-hdl's, module `top`) with the top module's interface ports
/// named by [`PORT_NAMES`]. Only whole identifiers inside module `top` are renamed; the
/// engine's sub-modules keep their own port names.
pub fn verilog(engine: &super::NsmEngine) -> String {
    let text = generate_verilog(engine);
    let mut out = String::with_capacity(text.len());
    let mut in_top = false;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("module top(") {
            in_top = true;
        }
        if in_top {
            out.push_str(&rename_identifiers(line));
        } else {
            out.push_str(line);
        }
        if t.starts_with("endmodule // top") && !t.starts_with("endmodule // top$") {
            in_top = false;
        }
    }
    out
}

fn rename_identifiers(line: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(line.len());
    let mut word = String::new();
    // an identifier after `.` names a sub-module's port (`.host$write(cfg$write)`): kept
    let mut after_dot = false;
    let flush = |word: &mut String, out: &mut String, after_dot: bool| {
        let renamed = PORT_NAMES
            .iter()
            .find(|(from, _)| !after_dot && *from == word.as_str());
        out.push_str(renamed.map_or(word.as_str(), |(_, to)| to));
        word.clear();
    };
    for c in line.chars() {
        if is_ident(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out, after_dot);
            after_dot = c == '.';
            out.push(c);
        }
    }
    flush(&mut word, &mut out, after_dot);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_whole_identifiers_only() {
        assert_eq!(
            rename_identifiers("assign x = cfg$write & cfg$writes | out_stream$class;"),
            "assign x = cfg_write & cfg$writes | out_class;"
        );
        assert_eq!(
            rename_identifiers("    .cfg$write(cfg$write),"),
            "    .cfg$write(cfg_write),"
        );
    }
}
