//! A chain of registers with a tap after every stage: `taps[i]` is the input delayed by `i`
//! clocks (`taps[0]` is the input itself). Carries the control token and delays the weight and
//! neuron-memory addresses to where the array needs them.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct ShiftChain<T: Synth> {
    pub clock: Signal<In, Clock>,
    /// Clears every stage (synchronous).
    pub reset: Signal<In, bool>,
    pub data_in: Signal<In, T>,
    pub taps: Vec<Signal<Out, T>>,
    stages: Vec<DFF<T>>,
    link: Vec<Signal<Local, T>>,
    zero: Constant<T>,
}

impl<T: Synth> ShiftChain<T> {
    /// A chain of `len` registers (`len` may be 0: then the input is the only tap).
    pub fn new(len: usize) -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            data_in: Default::default(),
            taps: (0..=len).map(|_| Default::default()).collect(),
            stages: (0..len).map(|_| Default::default()).collect(),
            link: (0..=len).map(|_| Default::default()).collect(),
            zero: Constant::new(T::default()),
        }
    }
}

impl<T: Synth> Logic for ShiftChain<T> {
    #[hdl_gen]
    fn update(&mut self) {
        self.link[0].next = self.data_in.val();
        self.taps[0].next = self.data_in.val();
        for i in 0..self.stages.len() {
            self.stages[i].clock.next = self.clock.val();
            self.stages[i].d.next = self.link[i].val();
            if self.reset.val() {
                self.stages[i].d.next = self.zero.val();
            }
            self.link[i + 1].next = self.stages[i].q.val();
            self.taps[i + 1].next = self.stages[i].q.val();
        }
    }
}
