//! One processing element of the array.
//!
//! The array is systolic along its rows: PE `(r, c)` sees array step `n` one cycle after PE
//! `(r, c-1)`, and the partial sums of a step ripple to the right through one register per PE.
//! Down the columns the weights are broadcast: every row handles the same step (with its own
//! Monte Carlo pass's activations) in the same cycle. On a valid step a PE
//! * leaps its LFSR `k` steps and opens its gate iff the `k` fresh bits are below the threshold
//!   (`docs/engine-spec.md`, section 3);
//! * forms `term = +w` if its activation bit is set (`z = +1`) else `-w`: a conditional
//!   negation (`sign(w) XNOR z`), no multiplier: the adder takes `w` or `!w` with a carry-in
//!   of 1 (`-w = !w + 1`), so each sum is one adder;
//! * adds `term` to the row's partial sum `S` and, if the gate is open, to `T`.
//!
//! The PE is the inner loop of the simulation (256 of them at 16x16, each evaluated about ten
//! times a cycle), so it is a leaf block in the style of rust-hdl's own `DFF` and `RAM`: a
//! native Rust model in [`Logic::update`] and its Verilog in [`Logic::hdl`]. The two are held
//! equal cycle by cycle by the test below and by the four-way co-simulation (model, rust-hdl,
//! Icarus, Verilator) of the whole engine. Ports are 32 bits; the sums are formed at the
//! configuration's step-sum width `P` and sign-extended, so synthesis builds `P`-bit adders and
//! registers.
//!
//! With [`Pe::with_operand_registers`] (engines with `hard_block_registers`) the PE registers
//! its weight and activation word a clock before it adds them: the adders then start from
//! flip-flops inside the PE instead of from a block RAM across the chip, and the weight's
//! broadcast down the column gets a clock period of its own. The step reaches the PE's adders
//! one clock later. `valid_in` then comes a clock ahead of the adding clock: the LFSR draws the
//! gate early and the PE delays it beside its adders (`gate_q`).
//!
//! [`Pe::with_lanes`] makes a PE of several synapses per step, or of 1-bit weights: `w_in`
//! then holds the column's `lanes` weight codes packed (lane 0 lowest), the PE's activation
//! bits are `z_in[c*lanes + l]`, its LFSR leaps `lanes * k` steps and draws a gate per lane
//! (`docs/engine-spec.md`, section 3), and each sum adds the lanes' terms: conditional
//! negations of sign-extended codes, or for 1-bit weights XNORs counted as
//! `2 popcount(x) - popcount(live)`. 1-bit PEs mask the slots at and above `live_in` (the
//! padding of a neuron's last step; multi-bit padding weights are 0 and need no mask).
//!
//! [`Pe::with_cells`] chooses how the Verilog writes the two sums: portable (`+`, for every
//! tool) or, for the ECP5, as chains of its carry cells with the conditional negation and the
//! gate inside the cells' LUTs ([`ECP5_ADDER_MODULE`]; `docs/hardware.md`, "The PE sums on the
//! ECP5's carry cells"). The Rust model is the same for both.

use nsm_model::lfsr::LfsrSpec;
use rust_hdl::prelude::*;

use crate::{to_i64, Cells};

use crate::lfsr_gate::LfsrGate;

/// Width of the weight and partial-sum ports: one machine word, the widest rust-hdl simulates
/// natively, and the accumulators' width, so no port changes width on its way to the row end.
/// One step's sum needs at most `32 * (2^15 - 1) < 2^21`; a configuration uses
/// `step_sum_bits` of the 32 (the weight memory sign-extends its words to 32 bits).
pub const PSUM_BITS: usize = 32;

/// Name of the module [`ECP5_ADDER_MODULE`] defines.
pub const ECP5_ADDER_MODULE_NAME: &str = "nsm_ecp5_pe_sum";

/// The Verilog module a PE built with [`Cells::Ecp5`] instantiates for each of its two sums;
/// the code generator appends it to the engine's file once.
///
/// `sum = acc + (en ? (z ? w : -w) : 0)` at `P` bits, as a chain of `P / 2 + 1` `CCU2C`
/// cells. Each cell is two half cells; a half cell's LUT4 (inputs `A B C D`, table `INIT`)
/// gives the carry chain its propagate signal, and the low quarter of the same table (`C = D
/// = 0`, a LUT2 of `A B`) its generate signal. Half cell 0 only makes the carry-in of
/// `-w = ~w + 1`: its propagate is 0 and its generate `~z & en` (`A = z`, `B = en`, `D` tied
/// to 1, table `0x0004`). Half cell `i >= 1` adds bit `i - 1` with `A = acc`, `B = w`,
/// `C = z`, `D = en` and table `0x69AA`: with `D = 1` the propagate is `acc ^ ~(w ^ z)`, that
/// is `acc` against the bit of `z ? w : ~w`; with `D = 0` it is `acc` against 0. In both
/// cases, when the propagate is 0 the two added bits are equal to `acc`, which is the
/// generate (`0xA`: the table's low quarter is `A`), as an adder's carry needs. A spare half
/// cell at the top (even `P`) is tied off with table 0.
pub const ECP5_ADDER_MODULE: &str = r#"
// One PE sum on the ECP5 carry chain (nsm-hdl, hdl/src/pe.rs, ECP5_ADDER_MODULE):
//    sum = acc + (en ? (z ? w : -w) : 0), P bits, wrapping
// the conditional negation and the gate inside the CCU2C cells' own LUTs.
module nsm_ecp5_pe_sum #(
    parameter P = 12
) (
    input wire [P-1:0] acc,
    input wire [P-1:0] w,
    input wire z,
    input wire en,
    output wire [P-1:0] sum
);
    localparam N = P / 2 + 1;
    wire [2*N-1:0] a;
    wire [2*N-1:0] b;
    wire [2*N-1:0] c;
    wire [2*N-1:0] d;
    wire [2*N-1:0] s;
    wire [N:0] carry;
    assign carry[0] = 1'b0;
    // half cell 0: the carry-in ~z & en
    assign a[0] = z;
    assign b[0] = en;
    assign c[0] = 1'b0;
    assign d[0] = 1'b1;
    // half cells 1..P: the bits
    assign a[P:1] = acc;
    assign b[P:1] = w;
    assign c[P:1] = {P{z}};
    assign d[P:1] = {P{en}};
    assign sum = s[P:1];
    genvar i;
    generate
        if (2 * N - 1 > P) begin : spare
            assign a[2*N-1] = 1'b0;
            assign b[2*N-1] = 1'b0;
            assign c[2*N-1] = 1'b0;
            assign d[2*N-1] = 1'b0;
            wire unused = &{1'b0, s[0], s[2*N-1], carry[N]};
        end else begin : no_spare
            wire unused = &{1'b0, s[0], carry[N]};
        end
        for (i = 0; i < N; i = i + 1) begin : half_cells
            CCU2C #(
                .INIT0(i == 0 ? 16'h0004 : 16'h69AA),
                .INIT1(2 * i + 1 > P ? 16'h0000 : 16'h69AA),
                .INJECT1_0("NO"),
                .INJECT1_1("NO")
            ) ccu2c (
                .CIN(carry[i]),
                .A0(a[2*i]), .B0(b[2*i]), .C0(c[2*i]), .D0(d[2*i]),
                .A1(a[2*i+1]), .B1(b[2*i+1]), .C1(c[2*i+1]), .D1(d[2*i+1]),
                .S0(s[2*i]), .S1(s[2*i+1]),
                .COUT(carry[i+1])
            );
        end
    endgenerate
endmodule
"#;

#[derive(LogicBlock)]
pub struct Pe {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: the LFSR returns to its seed.
    pub reset: Signal<In, bool>,
    /// A valid array step reaches this PE in this cycle (a clock before its adders with
    /// operand registers).
    pub valid_in: Signal<In, bool>,
    /// This column's weight of the step (broadcast down the column), sign-extended.
    pub w_in: Signal<In, Signed<PSUM_BITS>>,
    /// The row's activation word of this step; bit `c` is PE `(r, c)`'s (bits
    /// `c*lanes .. c*lanes + lanes` with lanes).
    pub z_in: Signal<In, Bits<32>>,
    /// Real inputs of this step (`cols * lanes` but on a neuron's last step), arriving with
    /// `w_in`; only 1-bit PEs read it.
    pub live_in: Signal<In, Bits<7>>,
    pub s_in: Signal<In, Signed<PSUM_BITS>>,
    pub t_in: Signal<In, Signed<PSUM_BITS>>,
    pub z_out: Signal<Out, Bits<32>>,
    pub s_out: Signal<Out, Signed<PSUM_BITS>>,
    pub t_out: Signal<Out, Signed<PSUM_BITS>>,
    /// This cycle's gate (valid only with `valid_in`), for inspection.
    pub gate: Signal<Out, bool>,
    _lfsr: LfsrGate,
    _col: usize,
    _psum_bits: u32,
    // registers of the Rust model, and the output values they give (converted once per
    // clock, not once per settle pass)
    _state: u32,
    /// This step's gates, lane `l` in bit `l`.
    _gate: u64,
    /// The registered weight, when the PE registers its operands.
    _w: Option<i64>,
    /// The gates delayed a clock (with operand registers the LFSR runs a clock ahead).
    _gate_q: u64,
    /// The registered live count, with operand registers.
    _live_q: u64,
    _lanes: usize,
    _weight_bits: u32,
    _z: Bits<32>,
    _s: Signed<PSUM_BITS>,
    _t: Signed<PSUM_BITS>,
    _cells: Cells,
}

/// `v` cut to `bits` bits and sign-extended (two's complement wrap-around).
fn wrap(v: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (v << shift) >> shift
}

impl Pe {
    /// The PE of column `col` whose LFSR (`spec`) starts at `seed` and draws gates of `k`
    /// bits against `threshold`; its partial sums are `psum_bits` wide.
    pub fn new(
        spec: &LfsrSpec,
        seed: u32,
        k: u32,
        threshold: u32,
        col: usize,
        psum_bits: u32,
    ) -> Self {
        assert!(col < 32);
        assert!((2..=PSUM_BITS as u32).contains(&psum_bits));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            valid_in: Default::default(),
            w_in: Default::default(),
            z_in: Default::default(),
            live_in: Default::default(),
            s_in: Default::default(),
            t_in: Default::default(),
            z_out: Default::default(),
            s_out: Default::default(),
            t_out: Default::default(),
            gate: Default::default(),
            _lfsr: LfsrGate::new(spec, seed, k, threshold),
            _col: col,
            _psum_bits: psum_bits,
            _state: 0,
            _gate: 0,
            _w: None,
            _gate_q: 0,
            _live_q: 0,
            _lanes: 1,
            _weight_bits: 8,
            _z: Default::default(),
            _s: Default::default(),
            _t: Default::default(),
            _cells: Cells::Portable,
        }
    }
}

impl Pe {
    /// The weight and activation word are registered a clock before they are added.
    pub fn with_operand_registers(mut self, on: bool) -> Self {
        self._w = on.then_some(0);
        self
    }

    /// How the Verilog builds the two adders ([`Cells`]); the Rust model is the same. The
    /// carry-cell form exists for the one-lane PE of multi-bit weights; the others stay
    /// portable.
    pub fn with_cells(mut self, cells: Cells) -> Self {
        self._cells = cells;
        self
    }

    /// `lanes` synapses per step of `weight_bits`-bit weights (the default PE: one lane of
    /// multi-bit weights, `w_in` the sign-extended weight).
    pub fn with_lanes(mut self, lanes: usize, weight_bits: u32) -> Self {
        assert!(lanes >= 1 && self._col * lanes + lanes <= 32);
        assert!(lanes as u32 * weight_bits <= 32 && weight_bits >= 1);
        self._lanes = lanes;
        self._weight_bits = weight_bits;
        self._lfsr.set_lanes(lanes);
        self
    }

    /// The one-lane PE of multi-bit weights, whose Verilog is the measured original.
    fn is_plain(&self) -> bool {
        self._lanes == 1 && self._weight_bits >= 2
    }

    /// One step's sums `(dS, dT)` of the lanes: weights from the codes in `w`, activation bits
    /// from `z`, gates `gates` (lane `l` in bit `l`), slots at and above `live` masked with
    /// 1-bit weights.
    fn step_sums(&self, z: u64, w: i64, gates: u64, live: u64) -> (i64, i64) {
        if self.is_plain() {
            let term = if (z >> self._col) & 1 == 1 { w } else { -w };
            return (term, if gates & 1 == 1 { term } else { 0 });
        }
        let wb = self._weight_bits;
        let codes = w as u64 & 0xffff_ffff;
        let base = self._col * self._lanes;
        let (mut ds, mut dt) = (0i64, 0i64);
        for l in 0..self._lanes {
            let slot = base + l;
            if wb == 1 && slot as u64 >= live {
                continue;
            }
            let code = (codes >> (l as u32 * wb)) & ((1u64 << wb) - 1);
            let weight = nsm_model::engine::memory::weight_from_code(code, wb);
            let term = if (z >> slot) & 1 == 1 {
                weight
            } else {
                -weight
            };
            ds += term;
            if (gates >> l) & 1 == 1 {
                dt += term;
            }
        }
        (ds, dt)
    }
}

impl Logic for Pe {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let z_now = self.z_in.val();
            let w_now = to_i64(self.w_in.val());
            let live_now = self.live_in.val().to_u64();
            // the operands of this clock's sums: the ports, or their registers (and then the
            // gate drawn a clock earlier, `valid_in` arriving a clock ahead of the step)
            let (z, w, gates, live) = match self._w.as_mut() {
                Some(w_reg) => (
                    self._z,
                    std::mem::replace(w_reg, w_now),
                    std::mem::replace(&mut self._gate_q, self._gate),
                    std::mem::replace(&mut self._live_q, live_now),
                ),
                None => (z_now, w_now, self._gate, live_now),
            };
            let (ds, dt) = self.step_sums(z.to_u64(), w, gates, live);
            let p = self._psum_bits;
            self._s = wrap(to_i64(self.s_in.val()) + ds, p).into();
            self._t = wrap(to_i64(self.t_in.val()) + dt, p).into();
            self._z = z_now;
            if self.reset.val() {
                self._state = self._lfsr.seed();
            } else if self.valid_in.val() {
                self._state = self._lfsr.leap(self._state);
            }
            self._gate = self._lfsr.gates_from(self._state);
        }
        self.gate.next = self._gate & 1 == 1;
        self.z_out.next = self._z;
        self.s_out.next = self._s;
        self.t_out.next = self._t;
    }

    fn connect(&mut self) {
        self.z_out.connect();
        self.s_out.connect();
        self.t_out.connect();
        self.gate.connect();
    }

    fn hdl(&self) -> Verilog {
        if !self.is_plain() {
            return Verilog::Custom(self.verilog_lanes());
        }
        let p = self._psum_bits as usize;
        let pm = p - 1;
        let ext = |x: &str| crate::ram::extend(x, p, PSUM_BITS, true);
        let zeros = if p == 1 {
            String::new()
        } else {
            format!("{}'d0, ", p - 1)
        };
        // with operand registers the gate is a flip-flop (`LfsrGate::verilog_body`), drawn a
        // clock ahead (`valid_in` comes a clock early) and delayed once more beside the adders
        // (`gate_q`)
        let mut v = self
            ._lfsr
            .verilog_body("valid_in", "gate", self._w.is_some());
        // the operands: the ports, or registers of them (`z_r` is also the word passed on)
        let operands = if self._w.is_some() {
            format!("reg [{pm}:0] w_r;\nreg gate_q;\n\n// `keep`: every PE of a column has its own copy (Yosys would merge the identical\n// registers into one that drives the whole column)\n(* keep *)\nalways @(posedge clock) begin\n   w_r <= w_in[{pm}:0];\n   gate_q <= gate;\nend\n\nwire z_bit = z_r[{c}];\nwire [{pm}:0] w_n = w_r;\nwire gate_add = gate_q;\n", c = self._col)
        } else {
            format!(
                "wire z_bit = z_in[{c}];\nwire [{pm}:0] w_n = w_in[{pm}:0];\nwire gate_add = gate;\n",
                c = self._col
            )
        };
        // the two sums: the portable adders (this text is the one the iCE40 reports measured:
        // keep it as it is), or the carry-cell module
        let (sums, s_next, t_next) = match self._cells {
            Cells::Portable => (
                format!("// the conditional negation as the adders' operands: w or !w with a carry of 1\n{operands}wire [{pm}:0] add_s = z_bit ? w_n : ~w_n;\nwire [{pm}:0] add_t = gate_add ? add_s : {p}'d0;\nwire [{pm}:0] carry_s = {{{zeros}~z_bit}};\nwire [{pm}:0] carry_t = {{{zeros}~z_bit & gate_add}};\n"),
                format!("s_in[{pm}:0] + add_s + carry_s"),
                format!("t_in[{pm}:0] + add_t + carry_t"),
            ),
            Cells::Ecp5 => (
                format!("// the sums on the carry chain, the conditional negation and the gate inside its LUTs\n{operands}wire [{pm}:0] s_sum;\nwire [{pm}:0] t_sum;\n{m} #(.P({p})) s_add (.acc(s_in[{pm}:0]), .w(w_n), .z(z_bit), .en(1'b1), .sum(s_sum));\n{m} #(.P({p})) t_add (.acc(t_in[{pm}:0]), .w(w_n), .z(z_bit), .en(gate_add), .sum(t_sum));\n", m = ECP5_ADDER_MODULE_NAME),
                "s_sum".to_string(),
                "t_sum".to_string(),
            ),
        };
        v.push_str(&format!(
            "\nreg [31:0] z_r;\nreg [{pm}:0] s_r;\nreg [{pm}:0] t_r;\n{sums}\nalways @(posedge clock) begin\n   z_r <= z_in;\n   s_r <= {s_next};\n   t_r <= {t_next};\nend\n\nalways @(*) begin\n   z_out = z_r;\n   s_out = {es};\n   t_out = {et};\nend\n",
            es = ext("s_r"),
            et = ext("t_r"),
        ));
        Verilog::Custom(v)
    }
}

impl Pe {
    /// The Verilog of a PE of several lanes or of 1-bit weights (portable adders). With
    /// operand registers the packed weights, the live count and the gates are registered a
    /// clock before the sums, as in the one-lane PE.
    fn verilog_lanes(&self) -> String {
        let p = self._psum_bits as usize;
        let pm = p - 1;
        let (lanes, wb) = (self._lanes, self._weight_bits as usize);
        let lm = lanes - 1;
        let base = self._col * lanes;
        let registered = self._w.is_some();
        let ext = |x: &str| crate::ram::extend(x, p, PSUM_BITS, true);
        let mut v =
            format!("reg [{lm}:0] gates;\nreg [31:0] z_r;\nreg [{pm}:0] s_r;\nreg [{pm}:0] t_r;\n");
        v.push_str(&self._lfsr.verilog_body("valid_in", "gates", registered));
        v.push_str("\nalways @(*) begin\n   gate = gates[0];\nend\n");
        let wn = lanes * wb - 1;
        // only the 1-bit PEs read the live count (the others' padding weights are 0)
        let binary = wb == 1;
        if registered {
            // the live count is the same in every PE of a column: its register is not kept
            // apart, so synthesis shares it and the lane mask decoded from it
            let live = if binary {
                (
                    "reg [6:0] live_r;\n\nalways @(posedge clock) begin\n   live_r <= live_in;\nend\n",
                    "",
                    "wire [6:0] live_n = live_r;\n",
                )
            } else {
                ("", "", "")
            };
            v.push_str(&format!(
                "\nreg [{wn}:0] w_r;\nreg [{lm}:0] gate_q;\n{}\n// `keep`: every PE of a column has its own copy\n(* keep *)\nalways @(posedge clock) begin\n   w_r <= w_in[{wn}:0];\n   gate_q <= gates;\n{}end\n\nwire [{wn}:0] w_n = w_r;\nwire [{lm}:0] gate_add = gate_q;\n{}wire [{lm}:0] z_lanes = z_r[{zh}:{base}];\n",
                live.0, live.1, live.2, zh = base + lanes - 1
            ));
        } else {
            let live = if binary {
                "wire [6:0] live_n = live_in;\n"
            } else {
                ""
            };
            v.push_str(&format!(
                "\nwire [{wn}:0] w_n = w_in[{wn}:0];\nwire [{lm}:0] gate_add = gates;\n{live}wire [{lm}:0] z_lanes = z_in[{zh}:{base}];\n", zh = base + lanes - 1
            ));
        }
        let mut sums_s = vec![format!("s_in[{pm}:0]")];
        let mut sums_t = vec![format!("t_in[{pm}:0]")];
        if wb == 1 {
            // XNOR terms: +1 where the weight's bit equals the activation's, -1 elsewhere, so a
            // sum over the live lanes is 2 popcount(x & live) - popcount(live)
            let pw = crate::unsigned_bits(lanes as u64) as usize;
            let live_bits: Vec<String> = (0..lanes)
                .map(|l| format!("(live_n > 7'd{})", base + l))
                .collect();
            v.push_str(&format!(
                "wire [{lm}:0] live_lane = {{{}}};\nwire [{lm}:0] x = ~(w_n ^ z_lanes) & live_lane;\nwire [{lm}:0] xg = x & gate_add;\nwire [{lm}:0] lg = live_lane & gate_add;\n",
                live_bits.iter().rev().cloned().collect::<Vec<_>>().join(", "),
            ));
            for (name, bits) in [
                ("pc_x", "x"),
                ("pc_live", "live_lane"),
                ("pc_xg", "xg"),
                ("pc_lg", "lg"),
            ] {
                let inputs: Vec<String> = (0..lanes).map(|l| format!("{bits}[{l}]")).collect();
                v.push_str(&popcount_verilog(name, &inputs, pw));
            }
            // each step sum, 2 pc(a) - pc(b), formed at its own small width (from -L to 2L)
            // and sign-extended into the P-bit partial sum (P holds +-(cols lanes) >= L)
            let dw = pw + 2;
            for (d, a, b) in [("ds", "pc_x", "pc_live"), ("dt", "pc_xg", "pc_lg")] {
                v.push_str(&format!(
                    "wire [{dm}:0] {d} = {{1'b0, {a}, 1'b0}} - {{2'b0, {b}}};\n",
                    dm = dw - 1
                ));
            }
            let fit = |x: &str| {
                if dw <= p {
                    crate::ram::extend(x, dw, p, true)
                } else {
                    format!("{x}[{pm}:0]")
                }
            };
            sums_s.push(fit("ds"));
            sums_t.push(fit("dt"));
        } else {
            // each lane's term: its sign-extended weight, negated where z = -1
            for l in 0..lanes {
                v.push_str(&format!(
                    "wire [{}:0] code{l} = w_n[{}:{}];\nwire [{pm}:0] w{l} = {};\nwire [{pm}:0] term{l} = z_lanes[{l}] ? w{l} : -w{l};\n",
                    wb - 1,
                    (l + 1) * wb - 1,
                    l * wb,
                    crate::ram::extend(&format!("code{l}"), wb, p, true),
                ));
                sums_s.push(format!("term{l}"));
                sums_t.push(format!("(gate_add[{l}] ? term{l} : {p}'d0)"));
            }
        }
        let join = |terms: &[String]| -> String {
            let mut out = terms[0].clone();
            for t in &terms[1..] {
                match t.strip_prefix('-') {
                    Some(neg) => out.push_str(&format!(" - {neg}")),
                    None => out.push_str(&format!(" + {t}")),
                }
            }
            out
        };
        v.push_str(&format!(
            "\nalways @(posedge clock) begin\n   z_r <= z_in;\n   s_r <= {};\n   t_r <= {};\nend\n\nalways @(*) begin\n   z_out = z_r;\n   s_out = {es};\n   t_out = {et};\nend\n",
            join(&sums_s),
            join(&sums_t),
            es = ext("s_r"),
            et = ext("t_r"),
        ));
        v
    }
}

/// Verilog of `name = popcount(inputs)` at `width` bits, as a carry-save tree: full adders
/// (a sum and a majority of three bits of one weight) until every weight has at most two
/// bits, then one adder of the two remaining words. Yosys would chain one `width`-bit adder
/// per input for a sum written with `+`.
fn popcount_verilog(name: &str, inputs: &[String], width: usize) -> String {
    let mut v = String::new();
    // columns[w]: the bits of weight 2^w still to be added
    let mut columns: Vec<Vec<String>> = vec![inputs.to_vec()];
    let mut n = 0;
    let mut fresh = |v: &mut String, expr: String| -> String {
        let wire = format!("{name}_{n}");
        n += 1;
        v.push_str(&format!("wire {wire} = {expr};\n"));
        wire
    };
    let mut w = 0;
    while w < columns.len() {
        while columns[w].len() > 2 {
            let c = columns[w].pop().expect("three bits");
            let b = columns[w].pop().expect("three bits");
            let a = columns[w].pop().expect("three bits");
            let sum = fresh(&mut v, format!("{a} ^ {b} ^ {c}"));
            let carry = fresh(&mut v, format!("({a} & {b}) | ({a} & {c}) | ({b} & {c})"));
            columns[w].insert(0, sum);
            if columns.len() == w + 1 {
                columns.push(Vec::new());
            }
            columns[w + 1].push(carry);
        }
        w += 1;
    }
    // a sum of `inputs.len()` bits fits `width` bits: no carry leaves them
    assert!(
        columns.len() <= width,
        "{name}: {} bits in {width}",
        inputs.len()
    );
    // the two words left, bit w of each from column w (0 where a column is short)
    let word = |k: usize| -> String {
        let bits: Vec<String> = (0..width)
            .rev()
            .map(|w| {
                columns
                    .get(w)
                    .and_then(|c| c.get(k))
                    .cloned()
                    .unwrap_or_else(|| "1'b0".to_string())
            })
            .collect();
        format!("{{{}}}", bits.join(", "))
    };
    v.push_str(&format!(
        "wire [{}:0] {name} = {} + {};\n",
        width - 1,
        word(0),
        word(1)
    ));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use nsm_model::lfsr::LfsrSpec;

    fn tick(pe: &mut Pe) {
        pe.clock.next = true.into();
        assert!(simulate(pe, 100));
        pe.clock.next = false.into();
        assert!(simulate(pe, 100));
    }

    #[test]
    fn gates_and_partial_sums_follow_the_model() {
        for (width, k, threshold) in [(16u32, 1u32, 1u32), (16, 8, 77), (32, 5, 0), (8, 3, 7)] {
            let spec = LfsrSpec::standard(width).unwrap();
            let seed = spec.jump(1, 12345);
            let mut pe = Pe::new(&spec, seed, k, threshold, 2, 12);
            pe.connect_all();
            pe.reset.next = true;
            tick(&mut pe);
            pe.reset.next = false;
            let mut state = seed;
            for n in 0..300u32 {
                let valid = n % 3 != 1;
                let w = (n as i64 * 37 % 255) - 127;
                let z = n % 5 < 2;
                pe.valid_in.next = valid;
                pe.w_in.next = w.into();
                pe.z_in.next = (if z { 0b101u64 } else { 0b001u64 }).into();
                pe.s_in.next = 1000i64.into();
                pe.t_in.next = (-7i64).into();
                assert!(simulate(&mut pe, 100));
                if valid {
                    let expect = spec.gate(&mut state, k, threshold);
                    assert_eq!(pe.gate.val(), expect, "width {width} k {k} gate {n}");
                }
                let gate = pe.gate.val();
                tick(&mut pe);
                let term = if z { w } else { -w };
                assert_eq!(pe.s_out.val(), (1000 + term).into());
                assert_eq!(pe.t_out.val(), (if gate { -7 + term } else { -7 }).into());
                assert_eq!(
                    pe.z_out.val(),
                    Bits::<32>::from(if z { 0b101u64 } else { 0b001u64 })
                );
            }
        }
    }

    #[test]
    fn a_pe_of_lanes_draws_its_gates_in_lane_order_and_masks_padding() {
        use nsm_model::engine::memory::{weight_code, weight_from_code};
        for (lanes, wb, k, threshold, col) in [
            (4usize, 1u32, 1u32, 1u32, 1usize),
            (3, 5, 2, 3, 2),
            (8, 1, 2, 2, 0),
        ] {
            let spec = LfsrSpec::standard(16).unwrap();
            let seed = spec.jump(1, 777);
            let p = 12;
            let mut pe = Pe::new(&spec, seed, k, threshold, col, p).with_lanes(lanes, wb);
            pe.connect_all();
            pe.reset.next = true;
            tick(&mut pe);
            pe.reset.next = false;
            let mut state = seed;
            let wmax = nsm_model::engine::config::weight_max(wb);
            for n in 0..200u64 {
                // the column's weights packed, lane 0 lowest; +-1 at one bit
                let weights: Vec<i64> = (0..lanes as u64)
                    .map(|l| {
                        let v = ((n * 7 + l * 13) % (2 * wmax as u64 + 1)) as i64 - wmax;
                        if wb == 1 && v == 0 {
                            1
                        } else {
                            v
                        }
                    })
                    .collect();
                let packed = weights.iter().enumerate().fold(0u64, |acc, (l, &w)| {
                    acc | (weight_code(w as i32, wb) << (l as u32 * wb))
                });
                let z = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) & 0xffff_ffff;
                let live = n % 40;
                pe.valid_in.next = true;
                pe.w_in.next = (packed as u32 as i32 as i64).into();
                pe.z_in.next = z.into();
                pe.live_in.next = live.into();
                pe.s_in.next = 5i64.into();
                pe.t_in.next = (-3i64).into();
                assert!(simulate(&mut pe, 100));
                // the gates of this step, drawn one lane after the other
                let gates: Vec<bool> = (0..lanes)
                    .map(|_| spec.gate(&mut state, k, threshold))
                    .collect();
                tick(&mut pe);
                let (mut ds, mut dt) = (0i64, 0i64);
                for l in 0..lanes {
                    let slot = col * lanes + l;
                    if wb == 1 && slot as u64 >= live {
                        continue;
                    }
                    let w = weight_from_code(weight_code(weights[l] as i32, wb), wb);
                    let term = if (z >> slot) & 1 == 1 { w } else { -w };
                    ds += term;
                    if gates[l] {
                        dt += term;
                    }
                }
                assert_eq!(pe.s_out.val(), (5 + ds).into(), "lanes {lanes} step {n}");
                assert_eq!(pe.t_out.val(), (-3 + dt).into(), "lanes {lanes} step {n}");
            }
        }
    }

    #[test]
    fn partial_sums_cannot_overflow() {
        let worst = crate::MAX_COLS as i64 * i64::from(i16::MAX);
        assert!(worst < 1 << (PSUM_BITS - 1));
        assert!(worst < 1 << (crate::MAX_ACC_BITS - 1));
    }

    #[test]
    fn verilog_is_generated() {
        let spec = LfsrSpec::standard(16).unwrap();
        let mut pe = Pe::new(&spec, 1, 2, 1, 0, 12);
        pe.connect_all();
        let v = generate_verilog(&pe);
        assert!(v.contains("module top"), "{v}");
    }
}
#[cfg(test)]
mod dump {
    #[test]
    #[ignore]
    fn dump_verilog() {
        use super::*;
        let spec = nsm_model::lfsr::LfsrSpec::standard(16).unwrap();
        let mut pe = Pe::new(&spec, 1, 2, 1, 0, 12);
        pe.connect_all();
        println!("{}", generate_verilog(&pe));
    }
}
