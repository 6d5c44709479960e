# Timing constraints of the NSM engine (top module `nsm_engine` from gen-verilog) for ASIC
# flows (OpenROAD/OpenLane, or any SDC-reading synthesis and STA tool).
#
# Clock: 10 ns (100 MHz). The engine is one clock domain with a synchronous reset; every
# port is sampled or driven on the rising edge of `clock`. 100 MHz is a target a 130 nm
# standard-cell flow reaches with the engine's 32-bit accumulator adders; set
# NSM_CLOCK_PERIOD to retarget.
#
# I/O: the engine's host ports (configuration port, input and result streams) are meant to
# be driven by registers of the surrounding SoC in the same clock domain, so 20% of the
# period is reserved outside the engine on each side (input delay: the SoC's clock-to-out and
# wiring; output delay: the SoC's setup and wiring).

if {[info exists ::env(NSM_CLOCK_PERIOD)]} {
    set period $::env(NSM_CLOCK_PERIOD)
} else {
    set period 10.0
}
set io_delay [expr {0.2 * $period}]

create_clock -name clock -period $period [get_ports clock]
set_clock_uncertainty 0.25 [get_clocks clock]
set_clock_transition 0.15 [get_clocks clock]

# every input but the clock (lsearch/lreplace rather than remove_from_collection, which
# OpenSTA lacks)
set clock_index [lsearch [all_inputs] [get_ports clock]]
set data_inputs [lreplace [all_inputs] $clock_index $clock_index]
set_input_delay $io_delay -clock clock $data_inputs
set_output_delay $io_delay -clock clock [all_outputs]

# Ports driven by a standard buffer, loaded by a small fan-out
set_load 0.02 [all_outputs]
