//! Faster settling in rust-hdl's simulator, with the same Verilog.
//!
//! rust-hdl's derived `Block::update_all` runs a block's `update` and then latches its fields
//! (ports, locals, children): an input its parent drives in a settle pass reaches the block's
//! `update` only in the next pass, and every block boundary a signal crosses costs a pass of
//! the whole design (the PEs included). [`block_inputs_first!`] implements `Block` so that the
//! block latches its input ports *before* its `update`, which lets a value cross a boundary
//! within a pass. The settled values are the same (a combinational network has one fixed
//! point; the equivalence and co-simulation suites check it); only the number of passes, the
//! simulation's cost, changes. `accept` visits the fields in declaration order, which the
//! Verilog generator relies on, exactly as the derive does.
//!
//! Latching an input twice in a pass is harmless: the second latch finds nothing new, and
//! whatever the first one changed has already been computed by `update` and flagged on the
//! signals it drove.

/// `block_inputs_first!(Type { inputs: [in ports], fields: [every field, in declaration
/// order] })`.
#[macro_export]
macro_rules! block_inputs_first {
    ($ty:ident { inputs: [$($i:ident),* $(,)?], fields: [$($f:ident),* $(,)?] $(,)? }) => {
        impl rust_hdl::prelude::Block for $ty {
            fn connect_all(&mut self) {
                rust_hdl::prelude::Logic::connect(self);
                $(rust_hdl::prelude::Block::connect_all(&mut self.$f);)*
            }
            fn update_all(&mut self) {
                $(rust_hdl::prelude::Block::update_all(&mut self.$i);)*
                rust_hdl::prelude::Logic::update(self);
                $(rust_hdl::prelude::Block::update_all(&mut self.$f);)*
            }
            fn has_changed(&self) -> bool {
                false $(|| rust_hdl::prelude::Block::has_changed(&self.$f))*
            }
            fn accept(&self, name: &str, probe: &mut dyn rust_hdl::prelude::Probe) {
                probe.visit_start_scope(name, self);
                $(rust_hdl::prelude::Block::accept(&self.$f, stringify!($f), probe);)*
                probe.visit_end_scope(name, self);
            }
        }
    };
}
