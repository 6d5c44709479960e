//! The rust-hdl engine against the bit-exact model: every output of every input, on random
//! configurations and networks; and the board top driven through its serial pins.

mod board;
mod equivalence;
mod trace;
