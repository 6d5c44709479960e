// Self-checking testbench for the generated nsm_engine.
//
// It replays vectors written by the golden model (nsm-testbenches): configuration-port writes
// that load a quantized network, the input words of every input, and the result beats the
// bit-exact model expects. Every beat is compared as it arrives; the run ends with one line
//   NSM_TB PASS beats=<n> cycles=<c>      or      NSM_TB FAIL errors=<e> ...
// The PASS/FAIL line also gives bad_images (inputs with any wrong beat) and compute_cycles
// (from the first input word taken to the last result beat).
// Files, read from the working directory: vectors.vh (counts), nsm_host_interface.vh (the
// host interface's field positions, written from nsm_model::engine::host_interface), cfg.hex,
// in.hex, out.hex. An out.hex word is {last, class, index, logit}, an in.hex word {last, data}.
// Inputs change on the falling edge, outputs are sampled on the rising edge. Deterministic
// pseudo-random gaps on in_valid and stalls on out_ready exercise the handshakes.
`timescale 1ns / 1ps

module nsm_tb;
`include "nsm_host_interface.vh"
`include "vectors.vh"

    reg clock = 1'b0;
    reg reset = 1'b1;
    reg cfg_write = 1'b0;
    reg [31:0] cfg_address = 32'h0;
    reg [31:0] cfg_data = 32'h0;
    reg in_valid = 1'b0;
    reg [31:0] in_data = 32'h0;
    reg in_last = 1'b0;
    wire in_ready;
    wire out_valid;
    reg out_ready = 1'b0;
    wire signed [63:0] out_logit;
    wire [19:0] out_index;
    wire out_last;
    wire [19:0] out_class;
    wire busy;
    wire step_issued;

    nsm_engine dut (
        .clock(clock), .reset(reset),
        .cfg_write(cfg_write), .cfg_address(cfg_address), .cfg_data(cfg_data),
        .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data), .in_last(in_last),
        .out_valid(out_valid), .out_ready(out_ready), .out_logit(out_logit),
        .out_index(out_index), .out_last(out_last), .out_class(out_class),
        .busy(busy), .step_issued(step_issued)
    );

    // cfg.hex: {address, data}; in.hex: {last, data}; out.hex: {last, class, index, logit}
    reg [63:0] cfg_mem [0:N_CFG-1];
    reg [`NSM_INPUT_WORD_BITS:0] in_mem [0:N_IN-1];
    reg [`NSM_RESULT_BEAT_BITS-1:0] out_mem [0:N_OUT-1];

    integer ci = 0;
    integer ii = 0;
    integer oi = 0;
    integer errors = 0;
    integer cycles = 0;
    integer first_input = -1;
    integer bad_images = 0;
    reg image_bad = 1'b0;
    reg [15:0] noise = 16'hace1;
    reg gap = 1'b0;
    reg hold = 1'b0;

    initial begin
        $readmemh("cfg.hex", cfg_mem);
        $readmemh("in.hex", in_mem);
        $readmemh("out.hex", out_mem);
    end

    always #5 clock = ~clock;

    // drive on the falling edge
    always @(negedge clock) begin
        noise <= {noise[14:0], noise[15] ^ noise[13] ^ noise[12] ^ noise[10]};
        gap = STALLS && noise[0] && noise[3];
        hold = STALLS && noise[1];
        if (cycles < 3) begin
            reset <= 1'b1;
        end else begin
            reset <= 1'b0;
            if (ci < N_CFG) begin
                cfg_write <= 1'b1;
                cfg_address <= cfg_mem[ci][63:32];
                cfg_data <= cfg_mem[ci][31:0];
                ci = ci + 1;
            end else begin
                cfg_write <= 1'b0;
            end
        end
        in_valid <= (ci >= N_CFG) && !cfg_write && (ii < N_IN) && !gap;
        in_data <= in_mem[ii][`NSM_INPUT_WORD_BITS-1:0];
        in_last <= in_mem[ii][`NSM_INPUT_WORD_BITS];
        out_ready <= !hold;
    end

    // sample on the rising edge
    always @(posedge clock) begin
        cycles <= cycles + 1;
        if (in_valid && in_ready) begin
            if (first_input < 0) first_input = cycles;
            ii = ii + 1;
        end
        if (out_valid && out_ready) begin
            if (out_logit !== out_mem[oi][`NSM_RESULT_LOGIT_BITS-1:0] || out_index !== out_mem[oi][`NSM_RESULT_INDEX_SHIFT +: `NSM_RESULT_INDEX_BITS]
                || out_last !== out_mem[oi][`NSM_RESULT_LAST_SHIFT]
                || (out_last && out_class !== out_mem[oi][`NSM_RESULT_CLASS_SHIFT +: `NSM_RESULT_INDEX_BITS])) begin
                errors = errors + 1;
                image_bad = 1'b1;
                if (errors <= 10)
                    $display("NSM_TB MISMATCH beat %0d: got index %0d logit %0d last %0d class %0d, expected index %0d logit %0d last %0d class %0d",
                        oi, out_index, out_logit, out_last, out_class, out_mem[oi][`NSM_RESULT_INDEX_SHIFT +: `NSM_RESULT_INDEX_BITS],
                        $signed(out_mem[oi][`NSM_RESULT_LOGIT_BITS-1:0]), out_mem[oi][`NSM_RESULT_LAST_SHIFT], out_mem[oi][`NSM_RESULT_CLASS_SHIFT +: `NSM_RESULT_INDEX_BITS]);
            end
            if (out_mem[oi][`NSM_RESULT_LAST_SHIFT]) begin
                if (image_bad) bad_images = bad_images + 1;
                image_bad = 1'b0;
            end
            oi = oi + 1;
            if (oi == N_OUT) begin
                if (errors == 0)
                    $display("NSM_TB PASS beats=%0d cycles=%0d compute_cycles=%0d bad_images=0",
                        oi, cycles, cycles + 1 - first_input);
                else
                    $display("NSM_TB FAIL errors=%0d beats=%0d cycles=%0d compute_cycles=%0d bad_images=%0d",
                        errors, oi, cycles, cycles + 1 - first_input, bad_images);
                $finish;
            end
        end
        if (cycles > MAX_CYCLES) begin
            $display("NSM_TB FAIL timeout after %0d cycles, %0d of %0d beats", cycles, oi, N_OUT);
            $finish;
        end
    end
endmodule
