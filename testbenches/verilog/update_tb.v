// Vector-driven testbench of the on-chip learning update unit (nsm_update_unit).
// Reads requests.txt: per row "mode n err a b" (mode 0 stochastic, 1 linear), then n lines
// "z w" (z = +1/-1, w the stored weight). Drives the unit's protocol (docs/learning.md) and
// writes results.txt: per row "R a b p d delta dback", one "W w clip" per updated weight,
// "F flags"; "END cycles" at the end. The Rust side compares with the mirror.
`timescale 1ns/1ps
module update_tb;
   reg clock = 1'b0;
   reg reset = 1'b1;
   reg start = 1'b0;
   reg linear = 1'b0;
   reg w_valid = 1'b0;
   reg w_last = 1'b0;
   reg z_in = 1'b0;
   reg signed [31:0] err = 0;
   reg signed [31:0] a_in = 0;
   reg signed [31:0] b_in = 0;
   reg signed [31:0] w_in = 0;
   wire ready;
   wire w_out_valid;
   wire w_clip;
   wire signed [31:0] w_out;
   wire signed [31:0] a_out;
   wire signed [31:0] b_out;
   wire signed [31:0] p_out;
   wire signed [31:0] d_out;
   wire signed [31:0] delta_out;
   wire signed [31:0] dback_out;
   wire [7:0] flags_out;

   nsm_update_unit dut(
      .clock(clock), .reset(reset), .start(start), .linear(linear), .err(err), .a_in(a_in),
      .b_in(b_in), .w_valid(w_valid), .w_last(w_last), .w_in(w_in), .z_in(z_in),
      .ready(ready), .w_out(w_out), .w_out_valid(w_out_valid), .w_clip(w_clip),
      .a_out(a_out), .b_out(b_out), .p_out(p_out), .d_out(d_out), .delta_out(delta_out),
      .dback_out(dback_out), .flags_out(flags_out));

   always #5 clock = ~clock;

   integer fin, fout, r, mode, n, j, waited;
   integer cycles = 0;
   reg signed [63:0] e64, a64, b64, w64, z64;
   reg signed [31:0] ws [0:65535];
   reg zs [0:65535];

   always @(posedge clock) begin
      cycles <= cycles + 1;
      if (w_out_valid) $fdisplay(fout, "W %0d %0d", w_out, w_clip);
   end

   task stream;
      begin
         for (j = 0; j < n; j = j + 1) begin
            w_valid = 1'b1;
            w_last = (j == n - 1);
            w_in = ws[j];
            z_in = zs[j];
            @(negedge clock);
         end
         w_valid = 1'b0;
         w_last = 1'b0;
      end
   endtask

   initial begin
      fin = $fopen("requests.txt", "r");
      fout = $fopen("results.txt", "w");
      if (fin == 0) begin
         $display("UPDATE_TB FAIL cannot open requests.txt");
         $finish;
      end
      @(negedge clock);
      @(negedge clock);
      reset = 1'b0;
      while ($fscanf(fin, "%d %d %d %d %d", mode, n, e64, a64, b64) == 5) begin
         for (j = 0; j < n; j = j + 1) begin
            r = $fscanf(fin, "%d %d", z64, w64);
            ws[j] = w64;
            zs[j] = z64 > 0;
         end
         start = 1'b1;
         linear = (mode == 1);
         err = e64;
         a_in = a64;
         b_in = b64;
         @(negedge clock);
         start = 1'b0;
         if (mode == 0) stream;
         waited = 0;
         while (!ready && waited < 1000) begin
            @(negedge clock);
            waited = waited + 1;
         end
         $fdisplay(fout, "R %0d %0d %0d %0d %0d %0d", a_out, b_out, p_out, d_out, delta_out, dback_out);
         stream;
         // the last result leaves three cycles after the last weight
         @(negedge clock);
         @(negedge clock);
         @(negedge clock);
         $fdisplay(fout, "F %0d", flags_out);
      end
      $fdisplay(fout, "END %0d", cycles);
      $fclose(fout);
      $display("UPDATE_TB DONE cycles=%0d", cycles);
      $finish;
   end
endmodule
