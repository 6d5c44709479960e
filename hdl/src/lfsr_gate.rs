//! The random source of one PE: a Fibonacci LFSR that leaps `k` steps per gate and the
//! Bernoulli gate `r < threshold` on the `k` fresh bits (`docs/engine-spec.md`, section 3).
//! With `lanes` gates per step it leaps `lanes * k` steps and lane `l` reads the `l`-th group
//! of `k` fresh bits (lane 0 the first produced, the most significant group).
//!
//! A leaf block in the style of rust-hdl's `DFF` and `RAM`: a native Rust model for
//! simulation (rust-hdl's shift operators go through arbitrary-precision integers on every
//! evaluation, which made this the hot spot of the simulation) and a generated Verilog body with
//! the `k` steps unrolled. The Rust model is checked against `nsm_model::lfsr` here and in the
//! engine equivalence tests; the Verilog, by the co-simulation of the emitted design.

use nsm_model::lfsr::LfsrSpec;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct LfsrGate {
    pub clock: Signal<In, Clock>,
    /// Synchronous reset: the register returns to the seed.
    pub reset: Signal<In, bool>,
    /// Take this cycle's gate: the register leaps `k` steps at the clock edge.
    pub step: Signal<In, bool>,
    /// The gate of the leap from the current register value (combinational).
    pub gate: Signal<Out, bool>,
    _spec: LfsrSpec,
    _seed: u32,
    _k: u32,
    _threshold: u32,
    _lanes: u32,
    _state: u32,
}

impl LfsrGate {
    pub fn new(spec: &LfsrSpec, seed: u32, k: u32, threshold: u32) -> Self {
        assert!((1..=spec.width()).contains(&k));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            step: Default::default(),
            gate: Default::default(),
            _spec: spec.clone(),
            _seed: seed,
            _k: k,
            _threshold: threshold,
            _lanes: 1,
            _state: 0,
        }
    }

    /// `lanes` gates per step (at most the LFSR width over `k`).
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.set_lanes(lanes);
        self
    }

    /// As [`Self::with_lanes`], in place.
    pub fn set_lanes(&mut self, lanes: usize) {
        assert!(lanes >= 1 && lanes as u32 * self._k <= self._spec.width());
        self._lanes = lanes as u32;
    }

    fn gate_of(&self, state: u32) -> bool {
        let mut s = state;
        self._spec.gate(&mut s, self._k, self._threshold)
    }
}

impl Logic for LfsrGate {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            if self.reset.val() {
                self._state = self._seed;
            } else if self.step.val() {
                self._state = self.leap(self._state);
            }
        }
        self.gate.next = self.gate_of(self._state);
    }

    fn connect(&mut self) {
        self.gate.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(self.verilog_body("step", "gate", false))
    }
}

impl LfsrGate {
    /// The seed the register returns to on reset.
    pub fn seed(&self) -> u32 {
        self._seed
    }

    /// The register after one step's leap of `lanes * k` steps.
    pub fn leap(&self, state: u32) -> u32 {
        self._spec.leap(state, self._k * self._lanes)
    }

    /// The gate drawn from `state` (the `k` bits its leap produces against the threshold); with
    /// lanes, lane 0's.
    pub fn gate_from(&self, state: u32) -> bool {
        self.gate_of(state)
    }

    /// The gates of every lane drawn from `state`, lane `l` in bit `l`: the draws one after
    /// the other, as the model's `LfsrSpec::gate` makes them.
    pub fn gates_from(&self, state: u32) -> u64 {
        let mut s = state;
        (0..self._lanes).fold(0u64, |g, l| {
            g | (u64::from(self._spec.gate(&mut s, self._k, self._threshold)) << l)
        })
    }

    /// Verilog of the register (`state`, its leaps `s1..sk`), the gate assigned to the
    /// `output reg` named `gate`, leaping when `step` is high. Also used inside the PE.
    ///
    /// With `registered_gate` the gate is a flip-flop of its own (`gate_r`), loaded with the
    /// draw of the state the register is about to take (two leaps ahead, `s(2k)`), so that the
    /// gate's users start from a flip-flop that placement can put beside them; the gate seen
    /// in every cycle is the same.
    pub(crate) fn verilog_body(&self, step: &str, gate: &str, registered_gate: bool) -> String {
        if self._lanes > 1 {
            return self.verilog_body_lanes(step, gate, registered_gate);
        }
        let w = self._spec.width();
        assert!(w >= 2, "LFSR widths start at 2");
        let taps = self
            ._spec
            .taps()
            .iter()
            .fold(0u64, |m, &t| m | (1u64 << (t - 1)));
        let mask = self._spec.mask();
        let k = self._k;
        let mut v = format!("reg [{hi}:0] state;\n", hi = w - 1);
        v.push_str(&format!("wire [{hi}:0] s0 = state;\n", hi = w - 1));
        // the registered gate reads the low k bits of s(2k): the words up to s(2k-1) and the
        // feedback bits of the last leap (a full s(2k) would leave bits unused)
        let leaps = if registered_gate { 2 * k - 1 } else { k };
        for i in 0..leaps {
            v.push_str(&format!(
                "wire [{hi}:0] s{n} = {{s{i}[{hi1}:0], ^(s{i} & {w}'h{taps:x})}};\n",
                hi = w - 1,
                n = i + 1,
                hi1 = w - 2,
                w = w,
                taps = taps & u64::from(mask),
            ));
        }
        // the k fresh bits against the threshold, at k bits; threshold 0 never opens (the
        // state bit is there so that Icarus' `@*` has something to wait for: a block with a
        // constant right-hand side never runs there)
        let draw_from = |bits: &str| {
            if self._threshold == 0 {
                format!("1'b0 & {bits}[0]")
            } else {
                format!("{bits}[{}:0] < {k}'d{}", k - 1, self._threshold)
            }
        };
        if registered_gate {
            let last = 2 * k - 1;
            let fresh = if k == 1 {
                format!("^(s{last} & {w}'h{t:x})", t = taps & u64::from(mask))
            } else {
                format!(
                    "{{s{last}[{}:0], ^(s{last} & {w}'h{t:x})}}",
                    k - 2,
                    t = taps & u64::from(mask)
                )
            };
            v.push_str(&format!("wire [{}:0] next_bits = {fresh};\n", k - 1));
            v.push_str(&format!(
                "reg gate_r;\n\nalways @(*) begin\n   {gate} = gate_r;\nend\n\nalways @(posedge clock) begin\n   if (reset) begin\n      state <= {w}'h{seed:x};\n      gate_r <= 1'b{g0};\n   end else if ({step}) begin\n      state <= s{k};\n      gate_r <= {next};\n   end\nend\n",
                seed = self._seed,
                g0 = u8::from(self.gate_from(self._seed)),
                // threshold 0 never opens; the reduction reads every fresh bit (lint-clean)
                next = if self._threshold == 0 {
                    "1'b0 & (^next_bits)".to_string()
                } else {
                    draw_from("next_bits")
                },
            ));
            return v;
        }
        let draw = draw_from(&format!("s{k}"));
        v.push_str(&format!(
            "\nalways @(*) begin\n   {gate} = {draw};\nend\n\nalways @(posedge clock) begin\n   if (reset) state <= {w}'h{seed:x};\n   else if ({step}) state <= s{k};\nend\n",
            seed = self._seed,
        ));
        v
    }
}

impl LfsrGate {
    /// [`Self::verilog_body`] for several lanes: the register leaps `n = lanes * k` steps
    /// (`s1..sn`) and `gate` is a `lanes`-bit vector, lane `l` in bit `l`, compared on bits
    /// `[(lanes - l) k - 1 : (lanes - 1 - l) k]` of `sn`. With `registered_gate` the vector is a
    /// register (`gate_r`) loaded with the draws of the state the register is about to take:
    /// the low `n` bits of `s(2n)`.
    fn verilog_body_lanes(&self, step: &str, gate: &str, registered_gate: bool) -> String {
        let w = self._spec.width();
        let taps = self
            ._spec
            .taps()
            .iter()
            .fold(0u64, |m, &t| m | (1u64 << (t - 1)))
            & u64::from(self._spec.mask());
        let (k, lanes) = (self._k, self._lanes);
        let n = k * lanes;
        let mut v = format!(
            "reg [{hi}:0] state;\nwire [{hi}:0] s0 = state;\n",
            hi = w - 1
        );
        let leaps = if registered_gate { 2 * n - 1 } else { n };
        for i in 0..leaps {
            v.push_str(&format!(
                "wire [{hi}:0] s{m} = {{s{i}[{hi1}:0], ^(s{i} & {w}'h{taps:x})}};\n",
                hi = w - 1,
                m = i + 1,
                hi1 = w - 2,
            ));
        }
        // lane l's draw from the n fresh bits `bits`; threshold 0 never opens (reading the
        // bits keeps `@*` and the lint satisfied)
        let draws = |bits: &str| -> String {
            (0..lanes)
                .rev()
                .map(|l| {
                    let (hi, lo) = ((lanes - l) * k - 1, (lanes - 1 - l) * k);
                    if self._threshold == 0 {
                        format!("1'b0 & (^{bits}[{hi}:{lo}])")
                    } else {
                        format!("({bits}[{hi}:{lo}] < {k}'d{})", self._threshold)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lm = lanes - 1;
        if registered_gate {
            let last = 2 * n - 1;
            let fresh = if n == 1 {
                format!("^(s{last} & {w}'h{taps:x})")
            } else {
                format!("{{s{last}[{}:0], ^(s{last} & {w}'h{taps:x})}}", n - 2)
            };
            v.push_str(&format!("wire [{}:0] next_bits = {fresh};\n", n - 1));
            v.push_str(&format!(
                "reg [{lm}:0] gate_r;\n\nalways @(*) begin\n   {gate} = gate_r;\nend\n\nalways @(posedge clock) begin\n   if (reset) begin\n      state <= {w}'h{seed:x};\n      gate_r <= {lanes}'d{g0};\n   end else if ({step}) begin\n      state <= s{n};\n      gate_r <= {{{next}}};\n   end\nend\n",
                seed = self._seed,
                g0 = self.gates_from(self._seed),
                next = draws("next_bits"),
            ));
            return v;
        }
        v.push_str(&format!(
            "\nalways @(*) begin\n   {gate} = {{{d}}};\nend\n\nalways @(posedge clock) begin\n   if (reset) state <= {w}'h{seed:x};\n   else if ({step}) state <= s{n};\nend\n",
            d = draws(&format!("s{n}")),
            seed = self._seed,
        ));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_follow_the_model_and_reset_returns_to_the_seed() {
        for (width, k, threshold) in [
            (16u32, 1u32, 1u32),
            (16, 8, 77),
            (32, 5, 0),
            (8, 8, 255),
            (20, 3, 5),
        ] {
            let spec = LfsrSpec::standard(width).unwrap();
            let seed = spec.jump(1, 999);
            let mut g = LfsrGate::new(&spec, seed, k, threshold);
            g.connect_all();
            let tick = |g: &mut LfsrGate| {
                g.clock.next = true.into();
                assert!(simulate(g, 10));
                g.clock.next = false.into();
                assert!(simulate(g, 10));
            };
            g.reset.next = true;
            tick(&mut g);
            g.reset.next = false;
            let mut state = seed;
            for n in 0..500 {
                let step = n % 4 != 3;
                g.step.next = step;
                assert!(simulate(&mut g, 10));
                if step {
                    assert_eq!(
                        g.gate.val(),
                        spec.gate(&mut state, k, threshold),
                        "width {width} k {k} gate {n}"
                    );
                }
                tick(&mut g);
            }
        }
    }

    #[test]
    fn verilog_unrolls_k_steps() {
        let spec = LfsrSpec::standard(16).unwrap();
        let g = LfsrGate::new(&spec, 1, 3, 5);
        let Verilog::Custom(v) = g.hdl() else {
            panic!("custom Verilog expected")
        };
        assert!(
            v.contains("wire [15:0] s3 = {s2[14:0], ^(s2 & 16'hd008)};"),
            "{v}"
        );
        assert!(v.contains("else if (step) state <= s3;"));
        let g32 = LfsrGate::new(&LfsrSpec::standard(32).unwrap(), 1, 2, 1);
        let Verilog::Custom(v32) = g32.hdl() else {
            panic!("custom Verilog expected")
        };
        assert!(v32.contains("gate = s2[1:0] < 2'd1;"), "{v32}");
        let never = LfsrGate::new(&spec, 1, 4, 0);
        let Verilog::Custom(v0) = never.hdl() else {
            panic!("custom Verilog expected")
        };
        assert!(v0.contains("gate = 1'b0 & s4[0];"), "{v0}");
    }
}
