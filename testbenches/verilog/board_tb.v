// Self-checking testbench for the generated board top nsm_board (UART, host link, engine).
//
// It plays the host through the serial pins only: the bytes of rx.hex (written by the host
// library, nsm_sim::host) go onto uart_rx as 8N1 frames of CPB clocks per bit, and every frame
// the board sends on uart_tx is decoded by an ideal receiver (middle-of-bit sampling) and
// compared with the reply bytes the bit-exact model predicts (expect.hex). The run ends with
//   NSM_BOARD_TB PASS bytes=<n> cycles=<c>     or     NSM_BOARD_TB FAIL ...
// Files, read from the working directory: board_tb.vh (CPB, N_RX, N_EXPECT, MAX_CYCLES),
// rx.hex, expect.hex. The board is not reset by the testbench: it starts from its power-on
// reset, as on the FPGA.
`timescale 1ns / 1ps

module board_tb;
`include "board_tb.vh"

    reg clock = 1'b0;
    reg uart_rx = 1'b1;
    wire uart_tx, led_heartbeat, led_busy, led_error;

    nsm_board dut (
        .clock(clock), .uart_rx(uart_rx), .uart_tx(uart_tx),
        .led_heartbeat(led_heartbeat), .led_busy(led_busy), .led_error(led_error)
    );

    reg [7:0] rx_mem [0:N_RX-1];
    reg [7:0] expect_mem [0:N_EXPECT-1];
    initial begin
        $readmemh("rx.hex", rx_mem);
        $readmemh("expect.hex", expect_mem);
    end

    always #5 clock = ~clock;

    integer cycles = 0;
    integer errors = 0;
    integer framing = 0;
    integer busy_cycles = 0;

    // ---- host to board: one frame after the other, after the power-on reset ----
    integer ti = 0;
    integer tbit = 0;
    integer tcnt = 0;
    reg sending = 1'b0;
    reg [9:0] tframe = 10'h3ff;
    always @(posedge clock) begin
        cycles <= cycles + 1;
        if (led_busy) busy_cycles <= busy_cycles + 1;
        if (cycles >= 40) begin
            if (!sending) begin
                if (ti < N_RX) begin
                    tframe <= {1'b1, rx_mem[ti], 1'b0};
                    sending <= 1'b1;
                    tbit <= 0;
                    tcnt <= 0;
                    uart_rx <= 1'b0;
                    ti <= ti + 1;
                end
            end else if (tcnt == CPB - 1) begin
                tcnt <= 0;
                if (tbit == 9) begin
                    sending <= 1'b0;
                    uart_rx <= 1'b1;
                end else begin
                    tbit <= tbit + 1;
                    uart_rx <= tframe[tbit + 1];
                end
            end else begin
                tcnt <= tcnt + 1;
            end
        end
    end

    // ---- board to host: an ideal receiver ----
    integer ri = 0;
    integer rcnt = 0;
    integer rbit = 0;
    reg receiving = 1'b0;
    reg prev_tx = 1'b1;
    reg [7:0] rbyte = 8'h00;
    integer quiet = 0;
    always @(posedge clock) begin
        prev_tx <= uart_tx;
        if (!receiving) begin
            if (prev_tx && !uart_tx) begin
                receiving <= 1'b1;
                rcnt <= 1;
                rbit <= 0;
            end
        end else begin
            rcnt <= rcnt + 1;
            if (rcnt == CPB / 2 + CPB * rbit) begin
                rbit <= rbit + 1;
                if (rbit == 0 && uart_tx) receiving <= 1'b0;  // a glitch
                if (rbit >= 1 && rbit <= 8) rbyte[rbit - 1] <= uart_tx;
                if (rbit == 9) begin
                    receiving <= 1'b0;
                    if (!uart_tx) framing = framing + 1;
                    if (ri >= N_EXPECT) begin
                        errors = errors + 1;
                        $display("NSM_BOARD_TB EXTRA byte %0d: 0x%02h", ri, rbyte);
                    end else if (rbyte !== expect_mem[ri]) begin
                        errors = errors + 1;
                        if (errors <= 10)
                            $display("NSM_BOARD_TB MISMATCH byte %0d: got 0x%02h, expected 0x%02h",
                                ri, rbyte, expect_mem[ri]);
                    end
                    ri = ri + 1;
                end
            end
        end
        // done: everything sent and received, and the line quiet for 20 bit times
        if (ti == N_RX && !sending && ri >= N_EXPECT && !receiving) quiet = quiet + 1;
        else quiet = 0;
        if (quiet > 20 * CPB || cycles > MAX_CYCLES) begin
            if (errors == 0 && framing == 0 && ri == N_EXPECT && busy_cycles > 0)
                $display("NSM_BOARD_TB PASS bytes=%0d cycles=%0d busy_cycles=%0d", ri, cycles,
                    busy_cycles);
            else
                $display("NSM_BOARD_TB FAIL errors=%0d framing=%0d bytes=%0d expected=%0d sent=%0d of %0d cycles=%0d",
                    errors, framing, ri, N_EXPECT, ti, N_RX, cycles);
            $finish;
        end
    end
endmodule
