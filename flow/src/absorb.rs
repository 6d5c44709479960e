//! Register absorption for the ECP5: moves flip-flops into the hard blocks' own registers in
//! the netlist `synth_ecp5` writes, before nextpnr places it.
//!
//! Why: an ECP5 block RAM (`DP16KD`) read without its output register has a clock-to-output
//! of 5.8 ns in nextpnr's timing model (speed grade 6), most of a 6.7 ns clock at 150 MHz;
//! with the register (`REGMODE = OUTREG`) it is 1.0 ns. A `MULT18X18D` without registers
//! costs 3.9 ns of logic alone. Yosys 0.23 infers the block RAM's read register but never a
//! second, output register, and maps multipliers without their registers, so an engine built
//! with `hard_block_registers` carries those registers as plain flip-flops (`word_q` behind
//! every memory, the neuron units' operand and product registers), and this pass moves them
//! in.
//!
//! Each move keeps the netlist's behaviour cycle for cycle, because it only happens where the
//! flip-flop is a plain register (clock not inverted, clock enable tied to 1, reset tied to 0)
//! on the hard block's own clock, and the hard block's register is configured the same way
//! (output clock enable 1, reset 0):
//! * **block RAM output:** a read port (write enable tied to 0) of at most 18 bits whose every
//!   used data bit drives exactly one such flip-flop and nothing else. The flip-flops go, the
//!   port's data pins drive their loads, `REGMODE` becomes `OUTREG`.
//! * **multiplier input:** an operand (`A` or `B`) whose every bit is a constant or the output
//!   of such a flip-flop. The operand pins take the flip-flops' inputs instead and
//!   `REG_INPUTx_CLK` becomes `CLK0`; a flip-flop that then drives nothing is removed (one
//!   that drives other logic too stays: the DSP holds a copy of it).
//! * **multiplier output:** a product whose every used bit drives exactly one such flip-flop
//!   and nothing else; as for the block RAM, with `REG_OUTPUT_CLK = CLK0`.
//!
//! A port that does not qualify is left as it is and counted in [`Absorbed`], so a report can
//! say what stayed slow.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

/// What the pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Absorbed {
    /// Block RAM read ports now using their output register.
    pub bram_output_registers: usize,
    /// Block RAM read ports left without one (their data does not feed plain registers only).
    pub bram_ports_left: usize,
    /// Multiplier operands now registered inside the DSP.
    pub dsp_input_registers: usize,
    pub dsp_inputs_left: usize,
    /// Multiplier products now registered inside the DSP.
    pub dsp_output_registers: usize,
    pub dsp_outputs_left: usize,
    /// Flip-flops removed from the fabric.
    pub flip_flops_removed: usize,
}

/// Why the netlist could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AbsorbError {
    #[error("not a Yosys JSON netlist: {0}")]
    Format(String),
}

type Bit = i64;

/// A pin of a cell: (cell, port, bit index).
type Pin = (String, String, usize);

fn bits(conn: &Value) -> Vec<Option<Bit>> {
    conn.as_array()
        .map(|a| a.iter().map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn constant(conn: &Value) -> Option<char> {
    match conn.as_array().map(|a| a.as_slice()) {
        Some([Value::String(s)]) => s.chars().next(),
        _ => None,
    }
}

fn param<'a>(cell: &'a Value, name: &str) -> Option<&'a str> {
    cell["parameters"][name].as_str().map(str::trim_end)
}

/// A Yosys integer parameter (a string of binary digits).
fn int_param(cell: &Value, name: &str) -> Option<u64> {
    param(cell, name).and_then(|s| u64::from_str_radix(s, 2).ok())
}

struct Netlist {
    cells: Map<String, Value>,
    /// Every load of a net: cell input pins, and `None` for a module output port.
    loads: HashMap<Bit, Vec<Option<Pin>>>,
    /// The cell output pin that drives a net.
    driver: HashMap<Bit, Pin>,
}

impl Netlist {
    fn new(module: &Value) -> Result<Self, AbsorbError> {
        let cells = module["cells"]
            .as_object()
            .ok_or_else(|| AbsorbError::Format("top module without cells".into()))?
            .clone();
        let mut loads: HashMap<Bit, Vec<Option<Pin>>> = HashMap::new();
        let mut driver = HashMap::new();
        for (name, cell) in &cells {
            let dirs = &cell["port_directions"];
            for (port, conn) in cell["connections"].as_object().into_iter().flatten() {
                let output = dirs[port].as_str() == Some("output");
                for (i, b) in bits(conn).into_iter().enumerate() {
                    let Some(b) = b else { continue };
                    let pin = (name.clone(), port.clone(), i);
                    if output {
                        driver.insert(b, pin);
                    } else {
                        loads.entry(b).or_default().push(Some(pin));
                    }
                }
            }
        }
        for port in module["ports"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|p| p.1)
        {
            if port["direction"].as_str() != Some("input") {
                for b in bits(&port["bits"]).into_iter().flatten() {
                    loads.entry(b).or_default().push(None);
                }
            }
        }
        Ok(Self {
            cells,
            loads,
            driver,
        })
    }

    fn net(&self, cell: &str, port: &str) -> Option<Bit> {
        self.cells[cell]["connections"][port]
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_i64)
    }

    fn tied(&self, cell: &str, port: &str, value: char) -> bool {
        constant(&self.cells[cell]["connections"][port]) == Some(value)
    }

    /// `ff` is a plain register on `clock`: not inverted, always enabled, never reset.
    fn plain_register(&self, ff: &str, clock: Bit) -> bool {
        let c = &self.cells[ff];
        c["type"] == "TRELLIS_FF"
            && param(c, "CLKMUX") == Some("CLK")
            && self.net(ff, "CLK") == Some(clock)
            && (param(c, "CEMUX") == Some("1") || self.tied(ff, "CE", '1'))
            && (self.tied(ff, "LSR", '0') || c["connections"]["LSR"].is_null())
            && param(c, "LSRMUX").is_none_or(|m| m == "LSR")
    }

    /// The plain register on `clock` that is the only load of net `b`, if there is one.
    fn sole_register_load(&self, b: Bit, clock: Bit) -> Option<String> {
        match self.loads.get(&b).map(Vec::as_slice) {
            Some([Some((ff, port, 0))]) if port == "DI" && self.plain_register(ff, clock) => {
                Some(ff.clone())
            }
            _ => None,
        }
    }

    /// The pins among `pins` of `cell` whose nets have loads, with their nets.
    fn used_outputs(&self, cell: &str, pins: impl Iterator<Item = String>) -> Vec<(String, Bit)> {
        pins.filter_map(|p| self.net(cell, &p).map(|b| (p, b)))
            .filter(|(_, b)| self.loads.get(b).is_some_and(|l| !l.is_empty()))
            .collect()
    }

    /// The plain register on `clock` behind each pin of `used`, if every pin has one as its
    /// only load.
    fn sole_registers(&self, used: &[(String, Bit)], clock: Bit) -> Option<Vec<(String, String)>> {
        used.iter()
            .map(|(p, b)| self.sole_register_load(*b, clock).map(|ff| (p.clone(), ff)))
            .collect()
    }

    fn set_param(&mut self, cell: &str, name: &str, value: &str) {
        self.cells[cell]["parameters"][name] = Value::String(value.to_string());
    }

    fn connect(&mut self, cell: &str, port: &str, conn: Value) {
        self.cells[cell]["connections"][port] = conn;
    }

    /// Connects an input pin that Yosys left unconnected (and so did not list).
    fn connect_input(&mut self, cell: &str, port: &str, conn: Value) {
        self.cells[cell]["port_directions"][port] = Value::from("input");
        self.connect(cell, port, conn);
    }
}

/// Output-register absorption on read port `port` (`A` or `B`) of a `DP16KD`: `None` if the
/// port is not a read port in use, else whether its register was absorbed.
fn absorb_bram_port(
    n: &mut Netlist,
    cell: &str,
    port: char,
    removed: &mut BTreeSet<String>,
) -> Option<bool> {
    let c = &n.cells[cell];
    let width = int_param(c, &format!("DATA_WIDTH_{port}"))?;
    let used = n.used_outputs(cell, (0..18).map(|i| format!("DO{port}{i}")));
    if used.is_empty() || !n.tied(cell, &format!("WE{port}"), '0') {
        return None; // not a read port in use
    }
    let clock = n.net(cell, &format!("CLK{port}"))?;
    let ok_port = width <= 18
        && param(c, &format!("REGMODE_{port}")) == Some("NOREG")
        && param(c, &format!("CLK{port}MUX")) == Some(&format!("CLK{port}"))
        && n.tied(cell, &format!("OCE{port}"), '1')
        && n.tied(cell, &format!("RST{port}"), '0');
    let (true, Some(regs)) = (ok_port, n.sole_registers(&used, clock)) else {
        return Some(false);
    };
    take_registers(n, cell, regs, removed);
    n.set_param(cell, &format!("REGMODE_{port}"), "OUTREG");
    Some(true)
}

/// Each output pin of `cell` in `regs` takes over the loads of the register it fed: it now
/// drives the register's output net (the driver map records it), and the register is marked
/// for removal.
fn take_registers(
    n: &mut Netlist,
    cell: &str,
    regs: Vec<(String, String)>,
    removed: &mut BTreeSet<String>,
) {
    for (pin, ff) in regs {
        let q = n.cells[&ff]["connections"]["Q"].clone();
        if let Some(b) = q.as_array().and_then(|a| a.first()).and_then(Value::as_i64) {
            n.driver.insert(b, (cell.to_string(), pin.clone(), 0));
        }
        n.connect(cell, &pin, q);
        removed.insert(ff);
    }
}

/// The DSP's register clock `CLK0`: set to `clock` (with `CE0` = 1, `RST0` = 0) unless it
/// already carries another clock.
fn claim_clk0(n: &mut Netlist, cell: &str, clock: Bit) -> bool {
    match n.net(cell, "CLK0") {
        Some(c) if c != clock => return false,
        Some(_) => {}
        None => {
            if !(n.tied(cell, "CLK0", '0') || n.cells[cell]["connections"]["CLK0"].is_null()) {
                return false;
            }
        }
    }
    if !(n.tied(cell, "CE0", '1') || n.tied(cell, "CE0", '0') || n.net(cell, "CE0").is_none())
        || !(n.tied(cell, "RST0", '0') || n.net(cell, "RST0").is_none())
    {
        return false;
    }
    n.connect_input(cell, "CLK0", Value::Array(vec![Value::from(clock)]));
    n.connect_input(cell, "CE0", Value::Array(vec![Value::from("1")]));
    n.connect_input(cell, "RST0", Value::Array(vec![Value::from("0")]));
    true
}

/// Input-register absorption of operand `op` (`A` or `B`) of a `MULT18X18D`.
fn absorb_dsp_input(n: &mut Netlist, cell: &str, op: char) -> bool {
    // an absent parameter has its default, NONE
    if param(&n.cells[cell], &format!("REG_INPUT{op}_CLK")).unwrap_or("NONE") != "NONE" {
        return false;
    }
    let mut moves = Vec::new();
    let mut clock = None;
    for i in 0..18 {
        let pin = format!("{op}{i}");
        let Some(b) = n.net(cell, &pin) else {
            continue; // a constant bit needs no register
        };
        let Some((ff, port, _)) = n.driver.get(&b).cloned() else {
            return false;
        };
        let ck = n.net(&ff, "CLK");
        if port != "Q" || ck.is_none() || (clock.is_some() && clock != ck) {
            return false;
        }
        clock = ck;
        if !n.plain_register(&ff, ck.unwrap()) {
            return false;
        }
        moves.push((pin, ff));
    }
    let Some(clock) = clock else { return false };
    if !claim_clk0(n, cell, clock) {
        return false;
    }
    for (pin, ff) in moves {
        let d = n.cells[&ff]["connections"]["DI"].clone();
        n.connect(cell, &pin, d);
    }
    n.set_param(cell, &format!("REG_INPUT{op}_CLK"), "CLK0");
    true
}

/// Output-register absorption of a `MULT18X18D`'s product.
fn absorb_dsp_output(n: &mut Netlist, cell: &str, removed: &mut BTreeSet<String>) -> bool {
    if param(&n.cells[cell], "REG_OUTPUT_CLK").unwrap_or("NONE") != "NONE" {
        return false;
    }
    let used = n.used_outputs(cell, (0..36).map(|i| format!("P{i}")));
    let Some(first) = used.first() else {
        return false;
    };
    // the clock of the register the first product bit feeds
    let clock = match n.loads.get(&first.1).map(Vec::as_slice) {
        Some([Some((ff, _, _))]) => match n.net(ff, "CLK") {
            Some(c) => c,
            None => return false,
        },
        _ => return false,
    };
    let Some(regs) = n.sole_registers(&used, clock) else {
        return false;
    };
    if !claim_clk0(n, cell, clock) {
        return false;
    }
    take_registers(n, cell, regs, removed);
    n.set_param(cell, "REG_OUTPUT_CLK", "CLK0");
    true
}

/// Runs the pass on the top module of a Yosys JSON netlist (`synth_ecp5 -json`), in place.
pub fn absorb_registers(netlist: &mut Value) -> Result<Absorbed, AbsorbError> {
    let modules = netlist["modules"]
        .as_object_mut()
        .ok_or_else(|| AbsorbError::Format("no modules".into()))?;
    let top = modules
        .iter()
        .find(|(_, m)| {
            m["attributes"]["top"]
                .as_str()
                .and_then(|s| u64::from_str_radix(s, 2).ok())
                == Some(1)
        })
        .map(|(k, _)| k.clone())
        .ok_or_else(|| AbsorbError::Format("no top module".into()))?;
    let module = modules.get_mut(&top).expect("found above");
    let mut n = Netlist::new(module)?;
    let mut out = Absorbed::default();
    let mut removed = BTreeSet::new();
    let by_type = |t: &str| -> Vec<String> {
        n.cells
            .iter()
            .filter(|(_, c)| c["type"] == t)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let brams = by_type("DP16KD");
    let dsps = by_type("MULT18X18D");
    for cell in &brams {
        for port in ['A', 'B'] {
            match absorb_bram_port(&mut n, cell, port, &mut removed) {
                Some(true) => out.bram_output_registers += 1,
                Some(false) => out.bram_ports_left += 1,
                None => {}
            }
        }
    }
    // outputs before inputs: a register that moved into a block's output is no longer a
    // flip-flop an operand could take (the driver map says so)
    for cell in &dsps {
        if absorb_dsp_output(&mut n, cell, &mut removed) {
            out.dsp_output_registers += 1;
        } else {
            out.dsp_outputs_left += 1;
        }
    }
    for cell in &dsps {
        for op in ['A', 'B'] {
            if absorb_dsp_input(&mut n, cell, op) {
                out.dsp_input_registers += 1;
            } else {
                out.dsp_inputs_left += 1;
            }
        }
    }
    // operand registers whose every load moved into DSPs drive nothing now
    let mut live_loads: BTreeMap<Bit, usize> = BTreeMap::new();
    for (name, cell) in &n.cells {
        if removed.contains(name) {
            continue;
        }
        let dirs = &cell["port_directions"];
        for (port, conn) in cell["connections"].as_object().into_iter().flatten() {
            if dirs[port].as_str() != Some("output") {
                for b in bits(conn).into_iter().flatten() {
                    *live_loads.entry(b).or_default() += 1;
                }
            }
        }
    }
    let port_bits: BTreeSet<Bit> = n
        .loads
        .iter()
        .filter(|(_, l)| l.iter().any(Option::is_none))
        .map(|(b, _)| *b)
        .collect();
    for (name, cell) in &n.cells {
        if cell["type"] == "TRELLIS_FF" && !removed.contains(name) {
            if let Some(q) = n.net(name, "Q") {
                if !live_loads.contains_key(&q) && !port_bits.contains(&q) {
                    removed.insert(name.clone());
                }
            }
        }
    }
    out.flip_flops_removed = removed.len();
    for name in &removed {
        n.cells.remove(name);
    }
    module["cells"] = Value::Object(n.cells);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory read through two registers, a multiplier between registered operands and a
    /// registered product, and registers that must stay: one with an enable behind a second
    /// memory, one with a reset behind a third.
    const DESIGN: &str = r#"
module top(input clock, input we, input en, input rst, input [7:0] wa, input [7:0] ra,
           input [7:0] wd, input [15:0] a, input [17:0] s,
           output [7:0] q, output [7:0] q_en, output [7:0] q_rst, output [33:0] p);
    (* no_rw_check *) reg [7:0] mem [0:255];
    (* no_rw_check *) reg [7:0] mem_en [0:255];
    (* no_rw_check *) reg [7:0] mem_rst [0:255];
    reg [7:0] word, word_q, w_en, w_en_q, w_rst, w_rst_q;
    reg signed [15:0] a_n;
    reg signed [17:0] s_n;
    reg signed [33:0] prod_n;
    always @(posedge clock) begin
        if (we) begin mem[wa] <= wd; mem_en[wa] <= wd; mem_rst[wa] <= wd; end
        word <= mem[ra];
        word_q <= word;
        w_en <= mem_en[ra];
        if (en) w_en_q <= w_en;
        w_rst <= mem_rst[ra];
        w_rst_q <= rst ? 8'd0 : w_rst;
        a_n <= a;
        s_n <= s;
        prod_n <= a_n * s_n;
    end
    assign q = word_q;
    assign q_en = w_en_q;
    assign q_rst = w_rst_q;
    assign p = prod_n;
endmodule
"#;

    fn synthesize(dir: &std::path::Path) -> Value {
        std::fs::write(dir.join("top.v"), DESIGN).unwrap();
        let yosys = crate::Tool::YOSYS.path().expect("yosys is needed");
        let out = crate::tool::run(
            dir,
            "yosys",
            &crate::tool::Cmd::new(
                yosys,
                [
                    "-q",
                    "-p",
                    "read_verilog top.v; synth_ecp5 -top top -json top.json",
                ],
            ),
        )
        .unwrap();
        assert!(out.ok, "{}", out.log);
        serde_json::from_str(&std::fs::read_to_string(dir.join("top.json")).unwrap()).unwrap()
    }

    fn cells_of<'a>(netlist: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        netlist["modules"]["top"]["cells"]
            .as_object()
            .unwrap()
            .values()
            .filter(move |c| c["type"] == ty)
    }

    #[test]
    fn plain_registers_move_into_block_rams_and_dsps_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut netlist = synthesize(dir.path());
        let ffs_before = cells_of(&netlist, "TRELLIS_FF").count();
        let absorbed = absorb_registers(&mut netlist).unwrap();
        assert_eq!(absorbed.bram_output_registers, 1, "{absorbed:?}");
        assert_eq!(
            absorbed.bram_ports_left, 2,
            "enable and reset stay: {absorbed:?}"
        );
        assert_eq!(absorbed.dsp_input_registers, 2, "{absorbed:?}");
        assert_eq!(absorbed.dsp_output_registers, 1, "{absorbed:?}");
        // word_q (8), a_n (16), s_n (18), prod_n (34)
        assert_eq!(
            absorbed.flip_flops_removed,
            8 + 16 + 18 + 34,
            "{absorbed:?}"
        );
        assert_eq!(
            cells_of(&netlist, "TRELLIS_FF").count(),
            ffs_before - absorbed.flip_flops_removed
        );
        let regmodes: Vec<&str> = cells_of(&netlist, "DP16KD")
            .map(|c| param(c, "REGMODE_B").unwrap())
            .collect();
        assert_eq!(
            regmodes.iter().filter(|m| **m == "OUTREG").count(),
            1,
            "{regmodes:?}"
        );
        let dsp = cells_of(&netlist, "MULT18X18D").next().unwrap();
        for p in ["REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_OUTPUT_CLK"] {
            assert_eq!(param(dsp, p), Some("CLK0"), "{p}");
        }
        // the DSP's registers run on the design's clock, always enabled, never reset
        let clock = netlist["modules"]["top"]["ports"]["clock"]["bits"][0].clone();
        assert_eq!(dsp["connections"]["CLK0"][0], clock);
        assert_eq!(dsp["connections"]["CE0"][0], "1");
        assert_eq!(dsp["connections"]["RST0"][0], "0");
        // every output bit is still driven
        let n = Netlist::new(&netlist["modules"]["top"]).unwrap();
        for port in ["q", "q_en", "q_rst", "p"] {
            for b in bits(&netlist["modules"]["top"]["ports"][port]["bits"]) {
                let b = b.unwrap();
                assert!(n.driver.contains_key(&b), "{port} bit {b} lost its driver");
            }
        }
        // a second pass finds nothing more to move
        let again = absorb_registers(&mut netlist).unwrap();
        assert_eq!(again.flip_flops_removed, 0, "{again:?}");
    }

    #[test]
    fn a_netlist_without_a_top_module_is_refused() {
        let mut v = serde_json::json!({"modules": {"m": {"attributes": {}, "cells": {}}}});
        let e = absorb_registers(&mut v).unwrap_err();
        assert!(e.to_string().contains("no top module"), "{e}");
    }
}
