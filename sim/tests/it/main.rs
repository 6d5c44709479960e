//! The rust-hdl engine against the bit-exact model: every output of every input, on random
//! configurations and networks.

mod equivalence;
