//! The update unit's Verilog body, written stage by stage and cut to the configuration's
//! widths (the co-simulation test holds it to the fixed-point mirror).

use std::collections::HashMap;

use nsm_model::learn::update::RowMode;
use nsm_model::learn::UpdateSpec;

fn rom(name: &str, bits: u32, values: &[u32]) -> String {
    let mut v = format!(
        "reg [{hi}:0] {name} [0:{n}];\ninitial begin\n",
        hi = bits - 1,
        n = values.len() - 1
    );
    for (i, x) in values.iter().enumerate() {
        v.push_str(&format!("   {name}[{i}] = {bits}'d{x};\n"));
    }
    v.push_str("end\n");
    v
}

/// The unit's Verilog body (rust-hdl generates the module header from the ports).
pub fn verilog_body(spec: &UpdateSpec) -> String {
    let l = &spec.learn;
    let w = spec.widths();
    let lit = |v: i64| {
        if v < 0 {
            format!("-64'sd{}", v.unsigned_abs())
        } else {
            format!("64'sd{v}")
        }
    };
    let mut v = String::new();
    v.push_str(&format!(
        "// NSM update unit: {} seed bits, {} Newton steps, {} x {}-bit P and D tables\n",
        l.isqrt_seed_bits,
        l.newton_steps,
        1u32 << l.lut_index_bits,
        w.pd - 1
    ));
    for (name, val) in [
        ("G", i64::from(l.guard_bits)),
        ("F", i64::from(spec.a_frac)),
        ("K", i64::from(spec.k)),
        ("FX", i64::from(l.lut_x_frac_bits)),
        ("FY", i64::from(l.isqrt_frac_bits)),
        ("FK", i64::from(l.norm_frac_bits)),
        ("FO", i64::from(l.lut_frac_bits)),
        ("SB", i64::from(l.isqrt_seed_bits)),
        ("UB", i64::from(w.u)),
        ("NEWTON", i64::from(l.newton_steps)),
        ("XI", i64::from(l.lut_index_bits)),
        (
            "SA",
            i64::from(
                l.err_frac_bits + l.lut_x_frac_bits + l.lr_a_shift - spec.a_frac - l.guard_bits,
            ),
        ),
        (
            "SBI",
            i64::from(l.err_frac_bits + l.norm_frac_bits + l.lr_shift - l.guard_bits),
        ),
        ("SW", i64::from(spec.weight_shift(RowMode::Stochastic))),
        ("SO", i64::from(spec.weight_shift(RowMode::Linear))),
    ] {
        v.push_str(&format!("localparam integer {name} = {val};\n"));
    }
    let emax = (1i64 << (l.err_bits - 1)) - 1;
    let amax = (1i64 << (w.ma - 1)) - 1;
    let bmax = (1i64 << (w.mb - 1)) - 1;
    let xmax = (1i64 << l.lut_index_bits) - 1;
    for (name, val) in [
        ("P0", spec.p0),
        ("MC", spec.m),
        ("M_LO", spec.m_lo),
        ("M_HI", spec.m_hi),
        ("E_LO", -emax - 1),
        ("E_HI", emax),
        ("A_LO", -amax - 1),
        ("A_HI", amax),
        ("B_LO", -bmax - 1),
        ("B_HI", bmax),
        ("X_MAX", xmax),
        ("ONE", 1i64 << l.lut_frac_bits),
        ("Y_MAX", 1i64 << (l.isqrt_frac_bits + 1)),
        ("THREE_Y", 3i64 << l.isqrt_frac_bits),
    ] {
        v.push_str(&format!(
            "localparam signed [63:0] {name} = {};\n",
            lit(val)
        ));
    }
    v.push_str(
        r#"
// round half up, then arithmetic shift right; a shift of 0 is the identity
function signed [63:0] rshr(input signed [63:0] x, input integer s);
   begin
      rshr = (s == 0) ? x : ((x + (64'sd1 <<< (s - 1))) >>> s);
   end
endfunction

function [6:0] bitlen(input [63:0] x);
   integer i;
   begin
      bitlen = 7'd0;
      for (i = 0; i < UB; i = i + 1)
         if (x[i]) bitlen = i[6:0] + 7'd1;
   end
endfunction

"#,
    );
    v.push_str(&rom("p_rom", w.pd - 1, &spec.luts.p));
    v.push_str(&rom("d_rom", w.pd - 1, &spec.luts.d));
    v.push_str(&rom("seed_rom", l.isqrt_frac_bits + 2, &spec.seed.table));
    let decl = |name: &str, bits: u32| format!("reg signed [{}:0] {name};\n", bits - 1);
    let regs = [
        ("e_r", w.err),
        ("ma_r", w.ma),
        ("mb_r", w.mb),
        ("q_r", w.q),
        ("s_r", w.s),
        ("u_r", w.u),
        ("q16_r", 18),
        ("y_r", w.y),
        ("t_r", l.isqrt_frac_bits + 4),
        ("np_r", w.n),
        ("n_r", w.n),
        ("x_r", w.x),
        ("pm_r", w.pd),
        ("dm_r", w.pd),
        ("delta_r", w.err),
        ("kappa_r", w.kappa),
        ("sr_r", w.sr),
        ("gy_r", w.gy),
        ("gk_r", w.gk),
        ("xc_r", w.xc),
        ("cw1_r", w.cw1),
        ("cw2_r", w.cw2),
    ];
    for (name, bits) in regs {
        v.push_str(&decl(name, bits));
    }
    // the shared multiplier's operand widths
    let pa = [
        w.q,
        w.g1,
        w.y,
        18,
        w.n,
        w.x,
        w.err + 1,
        w.u,
        w.s,
        w.gk,
        w.cw2,
    ]
    .into_iter()
    .max()
    .unwrap_or(64);
    let pb = [
        nsm_model::learn::formats::bit_length(spec.m as u64) + 1,
        w.s,
        w.y,
        l.isqrt_frac_bits + 5,
        w.pd,
        w.kappa,
        w.xc,
        w.gy,
        w.err,
        w.sr,
        spec.weight_bits + 1,
    ]
    .into_iter()
    .max()
    .unwrap_or(64);
    v.push_str(&format!(
        "localparam integer PA = {pa};\nlocalparam integer PB = {pb};\nlocalparam integer WB = {wb};\n",
        wb = spec.weight_bits
    ));
    let mut bits: HashMap<&str, u32> = HashMap::new();
    bits.extend(regs);
    for (name, b) in [
        ("PA", pa),
        ("PB", pb),
        ("PAB1", pa + pb + 1),
        ("PAB2", pa + pb + 2),
        ("PAB3", pa + pb + 3),
        ("Q", w.q),
        ("S", w.s),
        ("U", w.u),
        ("N", w.n),
        ("T", l.isqrt_frac_bits + 4),
        ("Y", w.y),
        ("ERR", w.err),
        ("MA", w.ma),
        ("MB", w.mb),
        ("XC", w.xc),
        ("KAPPA", w.kappa),
        ("SR", w.sr),
        ("GY", w.gy),
        ("GK", w.gk),
        ("CW1", w.cw1),
        ("CW2", w.cw2),
        ("err", 32),
        ("a_in", 32),
        ("b_in", 32),
        ("sw2_r", 32),
        ("w_e", spec.weight_bits + 1),
        ("wz", spec.weight_bits + 1),
        ("seed", l.isqrt_frac_bits + 2),
        ("MC", 64),
        ("ONE", 64),
        ("THREE_Y", 64),
        ("g1", 64),
        ("q16", 64),
        ("b_f", 64),
        ("dw64", 64),
        ("prod_r", pa + pb),
        ("prod_x", pa + pb + 1),
        ("res_r", pa + pb + 1),
        ("wv_r", pa + pb + 2),
        ("dw", pa + pb + 2),
        ("w_new", pa + pb + 3),
        ("rr", 64),
    ] {
        bits.insert(name, b);
    }
    assert!(pa + pb + 3 <= 64, "the update unit's datapath fits 64 bits");
    // saturation to the widths of the registers and ports it feeds
    let sat_widths: std::collections::BTreeMap<&str, u32> =
        [("32", 32), ("Y", w.y), ("X", w.x), ("E", w.err)].into();
    for (name, b) in sat_widths {
        v.push_str(&format!(
            "function signed [{hi}:0] sat_{name}(input signed [63:0] x, input signed [63:0] lo, input signed [63:0] hi);\n   reg signed [63:0] r;\n   begin\n      r = (x < lo) ? lo : ((x > hi) ? hi : x);\n      sat_{name} = r[{hi}:0];\n   end\nendfunction\n\n",
            hi = b - 1
        ));
    }
    // the weight the engine sees: the stored weight shifted right by the guard bits
    let (wb, g) = (spec.weight_bits, l.guard_bits);
    let w_e = if wb + g <= 31 {
        format!("$signed(w_in[{}:{g}])", wb + g)
    } else {
        format!("$signed({{w_in[31], w_in[31:{g}]}})")
    };
    let body = r#"reg [4:0] st;
reg [2:0] nk;
reg lin;
reg [1:0] ph;
reg [6:0] h_r;
reg [6:0] us_r;
// the multiplier's output register and what travels with it
reg signed [PA+PB-1:0] prod_r;
reg [6:0] sh_r;
reg signed [PA+PB:0] half_r;
reg sv_r;
reg sacc_r;
reg signed [31:0] sw_r;
reg sz_r;
reg sl_r;
reg signed [PA+PB:0] res_r;
reg signed [PA+PB+1:0] wv_r;
reg signed [31:0] sw2_r;
reg sl2_r;
reg sv2_r;

localparam [4:0] S_IDLE = 0, S_ACC = 1, S_C0 = 2, S_C0B = 3, S_C1 = 4, S_C2 = 5, S_NA = 6,
   S_NB = 7, S_NC = 8, S_X = 9, S_LUT = 10, S_D1 = 11, S_D1B = 12, S_D1C = 13, S_D1D = 14,
   S_D2 = 15, S_D2B = 16, S_D2C = 17, S_D3 = 18, S_D3B = 19, S_D3C = 20, S_UPD = 21,
   S_LIN = 22, S_ACCD = 23, S_C1A = 24;

// stored values seen by the engine: shift right by the guard bits
wire signed [WB:0] w_e = W_E_EXPR;
wire signed [63:0] ma64 = %{ma_r:64};
wire signed [63:0] g1 = (ma64 >>> G) + P0;
wire signed [63:0] mb64 = %{mb_r:64};
wire signed [63:0] b_f = (mb64 >>> G) <<< F;
// first pass (w^2 comes from the shared multiplier)
wire signed [WB:0] wz = z_in ? w_e : -w_e;
// normalization of u = m Q (u = 0 reads as 1) to q in [1/4, 1)
wire signed [63:0] u64 = %{u_r:64};
wire signed [63:0] ue = (u64 == 64'sd0) ? 64'sd1 : u64;
wire [6:0] ul = bitlen(ue);
wire [6:0] us = ul + {6'd0, ul[0]};
wire signed [63:0] q16 = (us_r <= 7'd16) ? (ue <<< (7'd16 - us_r)) : (ue >>> (us_r - 7'd16));
wire signed [63:0] x64 = %{x_r:64};
wire x_neg = x64 < 64'sd0;
wire [63:0] x_abs = x_neg ? -x64 : x64;
wire [XI-1:0] x_idx = x_abs[XI-1:0];
wire [SB-1:0] seed_idx = q16_r[15:16-SB];
wire [SEEDW-1:0] seed = seed_rom[seed_idx];
wire signed [PA-1:0] neg_delta = -%{delta_r:PA};

// Everything goes through one multiplier and one rounding shifter, one product per cycle:
// res = (opa * opb + (rnd ? 2^(sh-1) : 0)) >>> sh. The passes over the row use it for w^2
// and for cw2 w; the row quantities take one state each.
reg signed [PA-1:0] opa;
reg signed [PB-1:0] opb;
reg [6:0] sh;
reg rnd;
always @(*) begin
   opa = 0;
   opb = 0;
   sh = 0;
   rnd = 1'b1;
   case (st)
      S_ACC: begin opa = %{w_e:PA}; opb = %{w_e:PB}; end
      S_UPD: begin opa = %{cw2_r:PA}; opb = %{w_e:PB}; end
      S_C0: begin opa = %{q_r:PA}; opb = %{MC:PB}; end
      S_C0B: begin opa = %{g1:PA}; opb = %{s_r:PB}; end
      S_NA: begin opa = %{y_r:PA}; opb = %{y_r:PB}; sh = FY[6:0]; rnd = 1'b0; end
      S_NB: begin opa = %{q16_r:PA}; opb = %{t_r:PB}; sh = 7'd16; rnd = 1'b0; end
      S_NC: begin opa = %{y_r:PA}; opb = %{THREE_Y:PB} - %{t_r:PB}; sh = FY[6:0] + 7'd1; rnd = 1'b0; end
      S_X: begin opa = %{n_r:PA}; opb = %{y_r:PB}; sh = FY[6:0] + h_r + F[6:0] - K[6:0] - FX[6:0]; end
      S_LUT: begin opa = %{x_r:PA}; opb = %{MC:PB}; sh = 7'd2 * K[6:0]; end
      S_D1: begin opa = %{e_r:PA}; opb = %{dm_r:PB}; sh = FO[6:0]; end
      S_D1B: begin opa = %{u_r:PA}; opb = %{y_r:PB}; sh = FY[6:0] + h_r + K[6:0] - FK[6:0]; end
      S_D1C: begin opa = %{s_r:PA}; opb = %{y_r:PB}; sh = FY[6:0] + h_r - K[6:0] - FX[6:0]; end
      S_D1D: begin opa = %{g1:PA}; opb = %{y_r:PB}; sh = F[6:0]; end
      S_D2: begin opa = %{g1:PA}; opb = %{kappa_r:PB}; sh = F[6:0]; end
      S_D2B: begin opa = %{delta_r:PA}; opb = %{xc_r:PB}; sh = FX[6:0]; end
      S_D2C: begin opa = %{delta_r:PA}; opb = %{gy_r:PB}; sh = FY[6:0] + h_r - K[6:0]; end
      S_D3: begin opa = %{gk_r:PA}; opb = %{delta_r:PB}; sh = FK[6:0]; end
      S_D3B: begin opa = neg_delta; opb = %{sr_r:PB}; sh = SA[6:0]; end
      S_D3C: begin opa = neg_delta; opb = %{kappa_r:PB}; sh = SBI[6:0]; end
      default: ;
   endcase
end
// product registered; the rounding shift of last cycle's product feeds the consumers
// (the rounding constant is formed with the product, off the path behind the register)
wire signed [PA+PB:0] prod_x = %{prod_r:PAB1};
wire signed [PA+PB:0] half = (rnd && (sh != 7'd0)) ? ({{(PA+PB){1'b0}}, 1'b1} <<< (sh - 7'd1)) : 0;
wire signed [PA+PB:0] res_n = (prod_x + half_r) >>> sh_r;
// the rounded product, registered: what the row-quantity states take
wire signed [63:0] rr = %{res_r:64};
wire res_e_clip = (rr < E_LO) || (rr > E_HI);
wire signed [63:0] a_new = ma64 + rr;
wire signed [63:0] b_new = mb64 + rr;
wire signed [63:0] e64 = %{e_r:64};
wire signed [63:0] bl_new = mb64 + rshr(-e64, SO);
// second pass: one multiply per weight
// (the product of the second pass is taken unshifted: no rounding shifter on this path)
wire signed [PA+PB+1:0] zc = sz_r ? %{cw1_r:PAB2} : -%{cw1_r:PAB2};
wire signed [PA+PB+1:0] wv = prod_x - zc;
wire signed [63:0] wvr64 = %{wv_r:64};
wire signed [63:0] dw64 = lin ? rshr(wvr64, SO) : rshr(wvr64, SW);
wire signed [PA+PB+1:0] dw = %{dw64:PAB2};
wire signed [PA+PB+2:0] w_new = %{sw2_r:PAB3} + %{dw:PAB3};
wire signed [63:0] w_new64 = %{w_new:64};
wire w_sat = (w_new64 < M_LO) || (w_new64 > M_HI);

always @(posedge clock) begin
   w_out_valid <= 1'b0;
   prod_r <= opa * opb;
   sh_r <= sh;
   half_r <= half;
   sv_r <= w_valid && ((st == S_ACC) || (st == S_UPD));
   sacc_r <= (st == S_ACC);
   sw_r <= w_in;
   sz_r <= z_in;
   sl_r <= w_last;
   res_r <= res_n;
   // second pass, stage 2: the weight's product minus the z term
   wv_r <= wv;
   sw2_r <= sw_r;
   sl2_r <= sl_r;
   sv2_r <= sv_r && !sacc_r && (st == S_UPD);
   // first pass: w^2 of last cycle's weight (taken unshifted: no rounding adder on this path)
   if (sv_r && sacc_r) q_r <= q_r + %{prod_x:Q};
   if (reset) begin
      st <= S_IDLE;
      ready <= 1'b0;
      w_clip <= 1'b0;
      ph <= 2'd0;
      sv_r <= 1'b0;
      sv2_r <= 1'b0;
   end else begin
      case (st)
         S_IDLE: if (start) begin
            lin <= linear;
            e_r <= %{err:ERR};
            ma_r <= %{a_in:MA};
            mb_r <= %{b_in:MB};
            q_r <= 0;
            s_r <= 0;
            ph <= 2'd0;
            st <= linear ? S_LIN : S_ACC;
         end
         S_ACC: if (w_valid) begin
            s_r <= s_r + %{wz:S};
            if (w_last) st <= S_ACCD;
         end
         // the last square leaves the multiplier
         S_ACCD: st <= S_C0;
         // the normalizing shift: its amount first, then the shift
         S_C1A: begin
            us_r <= us;
            st <= S_C1;
         end
         S_C1: begin
            q16_r <= %{q16:18};
            h_r <= us_r >> 1;
            n_r <= np_r + %{b_f:N};
            st <= S_C2;
         end
         S_C2: begin
            y_r <= %u{seed:Y};
            nk <= 0;
            st <= (NEWTON == 0) ? S_X : S_NA;
         end
         S_LIN: begin
            cw1_r <= %{e_r:CW1};
            cw2_r <= 0;
            a_out <= %{ma_r:32};
            b_out <= sat_32(bl_new, B_LO, B_HI);
            p_out <= 0;
            d_out <= 0;
            delta_out <= %{e_r:32};
            dback_out <= 0;
            flags_out <= {5'd0, ((bl_new < B_LO) || (bl_new > B_HI)), 2'd0};
            ready <= 1'b1;
            st <= S_UPD;
         end
         S_UPD: if (sv2_r) begin
            w_out <= sat_32(w_new64, M_LO, M_HI);
            w_out_valid <= 1'b1;
            w_clip <= w_sat;
            if (w_sat) flags_out[0] <= 1'b1;
            if (sl2_r) begin
               st <= S_IDLE;
               ready <= 1'b0;
            end
         end
         // the row quantities: phase 0 multiplies, phase 1 rounds, phase 2 takes the result
         default: if (ph != 2'd2) begin
            ph <= ph + 2'd1;
         end else begin
            ph <= 2'd0;
            case (st)
               S_C0: begin
                  u_r <= %{rr:U};
                  st <= S_C0B;
               end
               S_C0B: begin
                  np_r <= %{rr:N};
                  st <= S_C1A;
               end
               S_NA: begin
                  t_r <= %{rr:T};
                  st <= S_NB;
               end
               S_NB: begin
                  t_r <= %{rr:T};
                  st <= S_NC;
               end
               S_NC: begin
                  y_r <= sat_Y(rr, 64'sd0, Y_MAX);
                  nk <= nk + 3'd1;
                  st <= ({29'd0, nk} + 32'd1 < NEWTON) ? S_NA : S_X;
               end
               S_X: begin
                  x_r <= sat_X(rr, -X_MAX, X_MAX);
                  st <= S_LUT;
               end
               S_LUT: begin
                  pm_r <= {1'b0, p_rom[x_idx]};
                  dm_r <= {1'b0, d_rom[x_idx]};
                  xc_r <= %{rr:XC};
                  st <= S_D1;
               end
               S_D1: begin
                  p_out <= x_neg ? %{ONE:32} - %{pm_r:32} : %{pm_r:32};
                  d_out <= %{dm_r:32};
                  delta_r <= sat_E(rr, E_LO, E_HI);
                  flags_out <= {4'd0, res_e_clip, 3'd0};
                  st <= S_D1B;
               end
               S_D1B: begin
                  kappa_r <= %{rr:KAPPA};
                  st <= S_D1C;
               end
               S_D1C: begin
                  sr_r <= %{rr:SR};
                  st <= S_D1D;
               end
               S_D1D: begin
                  gy_r <= %{rr:GY};
                  st <= S_D2;
               end
               S_D2: begin
                  gk_r <= %{rr:GK};
                  delta_out <= %{delta_r:32};
                  st <= S_D2B;
               end
               S_D2B: begin
                  cw2_r <= %{rr:CW2};
                  st <= S_D2C;
               end
               S_D2C: begin
                  dback_out <= sat_32(rr, E_LO, E_HI);
                  if (res_e_clip) flags_out[4] <= 1'b1;
                  st <= S_D3;
               end
               S_D3: begin
                  cw1_r <= %{rr:CW1};
                  st <= S_D3B;
               end
               S_D3B: begin
                  a_out <= sat_32(a_new, A_LO, A_HI);
                  if ((a_new < A_LO) || (a_new > A_HI)) flags_out[1] <= 1'b1;
                  st <= S_D3C;
               end
               S_D3C: begin
                  b_out <= sat_32(b_new, B_LO, B_HI);
                  if ((b_new < B_LO) || (b_new > B_HI)) flags_out[2] <= 1'b1;
                  ready <= 1'b1;
                  st <= S_UPD;
               end
               default: st <= S_IDLE;
            endcase
         end
      endcase
   end
end
"#;
    let body = body
        .replace("W_E_EXPR", &w_e)
        .replace("SEEDW", &(l.isqrt_frac_bits + 2).to_string());
    v.push_str(&fit_widths(&body, &bits));
    v
}

/// `name` (of `from` bits) at `to` bits: sign-extended (zero-extended if `unsigned`), or its
/// low `to` bits.
fn extend(name: &str, from: u32, to: u32, unsigned: bool) -> String {
    use std::cmp::Ordering::*;
    match (from.cmp(&to), unsigned) {
        (Equal, _) => name.to_string(),
        (Less, true) => format!("{{{}'d0, {name}}}", to - from),
        (Less, false) => format!(
            "$signed({{{{{}{{{name}[{}]}}}}, {name}}})",
            to - from,
            from - 1
        ),
        (Greater, true) => format!("{name}[{}:0]", to - 1),
        (Greater, false) => format!("$signed({name}[{}:0])", to - 1),
    }
}

/// Replaces `%{x:W}` in `text` by signed `x` at `W` bits and `%u{x:W}` by unsigned `x` at `W`
/// bits; `W` is a number or a name in `bits`, as is the width of `x`.
fn fit_widths(text: &str, bits: &HashMap<&str, u32>) -> String {
    let width = |t: &str| -> u32 {
        t.parse()
            .unwrap_or_else(|_| *bits.get(t).unwrap_or_else(|| panic!("no width for {t}")))
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let r = &rest[at + 1..];
        let (unsigned, r) = match r.strip_prefix('u') {
            Some(r) => (true, r),
            None => (false, r),
        };
        let r = r.strip_prefix('{').expect("%{ in the template");
        let end = r.find('}').expect("%{name:width}");
        let (name, to) = r[..end].split_once(':').expect("%{name:width}");
        out.push_str(&extend(name, width(name), width(to), unsigned));
        rest = &r[end + 1..];
    }
    out.push_str(rest);
    out
}
