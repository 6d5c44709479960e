//! Who decides how many Monte Carlo passes an input gets. The array runs `rows` passes at a
//! time (a group); this block counts the groups of the current input and says which is the
//! last, and how many of the group's rows run a real pass (`K` need not be a multiple of
//! `rows`). Today the count is fixed: `ceil(K / rows)` groups. A rule that stops early plugs
//! in here, with the same ports.

use rust_hdl::prelude::*;

use super::EngineLayout;

pub struct PassControl {
    pub clock: Signal<In, Clock>,
    /// A new input: the first group is next.
    pub restart: Signal<In, bool>,
    /// The current group is done and was not the last: the next group follows.
    pub advance: Signal<In, bool>,
    /// The current group is the input's last.
    pub last_group: Signal<Out, bool>,
    /// The current group is the input's first.
    pub first_group: Signal<Out, bool>,
    /// How many of the group's rows run a real pass (`g*rows + r < K`).
    pub live: Signal<Out, Bits<9>>,
    g: DFF<Bits<16>>,
    m_groups: Constant<Bits<16>>,
    c_groups_m1: Constant<Bits<16>>,
    c_last_live: Constant<Bits<9>>,
    c_full_live: Constant<Bits<9>>,
    c_one16: Constant<Bits<16>>,
    z16: Constant<Bits<16>>,
}

crate::block_inputs_first!(PassControl {
    inputs: [clock, restart, advance],
    fields: [
        clock,
        restart,
        advance,
        last_group,
        first_group,
        live,
        g,
        m_groups,
        c_groups_m1,
        c_last_live,
        c_full_live,
        c_one16,
        z16
    ],
});

impl PassControl {
    pub fn new(lay: &EngineLayout) -> Self {
        Self {
            clock: Default::default(),
            restart: Default::default(),
            advance: Default::default(),
            last_group: Default::default(),
            first_group: Default::default(),
            live: Default::default(),
            g: Default::default(),
            m_groups: crate::low_mask(crate::unsigned_bits(lay.groups as u64)),
            c_groups_m1: Constant::new(Bits::<16>::from((lay.groups - 1) as u64)),
            c_last_live: Constant::new(Bits::<9>::from(lay.last_live as u64)),
            c_full_live: Constant::new(Bits::<9>::from(lay.rows as u64)),
            c_one16: Constant::new(Bits::<16>::from(1u64)),
            z16: Constant::new(Bits::<16>::from(0u64)),
        }
    }
}

impl Logic for PassControl {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, g);
        self.last_group.next = self.g.q.val() == self.c_groups_m1.val();
        self.first_group.next = self.g.q.val() == self.z16.val();
        self.live.next = self.c_full_live.val();
        if self.g.q.val() == self.c_groups_m1.val() {
            self.live.next = self.c_last_live.val();
        }
        if self.advance.val() {
            self.g.d.next = (self.g.q.val() + self.c_one16.val()) & self.m_groups.val();
        }
        if self.restart.val() {
            self.g.d.next = self.z16.val();
        }
    }
}
