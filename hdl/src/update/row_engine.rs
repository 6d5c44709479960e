//! The update unit in rust-hdl's simulator, as the learning mirror's row engine.

use nsm_model::learn::mirror::RowEngine;
use nsm_model::learn::update::{RowMode, RowRequest, RowResult};
use nsm_model::learn::UpdateSpec;
use rust_hdl::prelude::*;

use super::UpdateUnit;
use crate::to_i64;

/// The update unit in rust-hdl's simulator, as a [`RowEngine`].
pub struct RustHdlEngine {
    unit: Box<UpdateUnit>,
    /// Clock cycles simulated so far.
    pub cycles: u64,
}

impl RustHdlEngine {
    pub fn new(spec: &UpdateSpec) -> Self {
        let mut unit = Box::new(UpdateUnit::new(spec));
        unit.connect_all();
        let mut e = Self { unit, cycles: 0 };
        e.unit.reset.next = true;
        e.tick();
        e.unit.reset.next = false;
        e
    }

    fn tick(&mut self) {
        let u = self.unit.as_mut();
        assert!(simulate(u, 10));
        u.clock.next = true.into();
        assert!(simulate(u, 10));
        u.clock.next = false.into();
        assert!(simulate(u, 10));
        self.cycles += 1;
    }

    fn stream(&mut self, req: &RowRequest, out: &mut Vec<i32>, clips: &mut u32) {
        let n = req.w.len();
        for (j, (&m, &z)) in req.w.iter().zip(&req.z).enumerate() {
            let u = self.unit.as_mut();
            u.w_valid.next = true;
            u.w_last.next = j + 1 == n;
            u.w_in.next = i64::from(m).into();
            u.z_in.next = z > 0;
            self.tick();
            self.collect(out, clips);
        }
        self.unit.w_valid.next = false;
        self.unit.w_last.next = false;
    }

    fn collect(&mut self, out: &mut Vec<i32>, clips: &mut u32) {
        if self.unit.w_out_valid.val() {
            out.push(to_i64(self.unit.w_out.val()) as i32);
            *clips += u32::from(self.unit.w_clip.val());
        }
    }

    /// One row through the unit.
    pub fn row(&mut self, req: &RowRequest) -> Result<RowResult, String> {
        let u = self.unit.as_mut();
        u.start.next = true;
        u.linear.next = req.mode == RowMode::Linear;
        u.err.next = req.err.into();
        u.a_in.next = req.a.into();
        u.b_in.next = req.b.into();
        self.tick();
        self.unit.start.next = false;
        let mut sink = Vec::new();
        let mut clips = 0;
        if req.mode == RowMode::Stochastic {
            if req.w.is_empty() {
                return Err("a stochastic row needs at least one weight".into());
            }
            self.stream(req, &mut sink, &mut clips);
        }
        let mut waited = 0;
        while !self.unit.ready.val() {
            self.tick();
            waited += 1;
            if waited > 1000 {
                return Err("the update unit never raised ready".into());
            }
        }
        let row = |u: &UpdateUnit| {
            (
                to_i64(u.a_out.val()),
                to_i64(u.b_out.val()),
                to_i64(u.p_out.val()),
                to_i64(u.d_out.val()),
                to_i64(u.delta_out.val()),
                to_i64(u.dback_out.val()),
            )
        };
        let (a, b, p, d, delta, dback) = row(&self.unit);
        let mut w = Vec::with_capacity(req.w.len());
        clips = 0;
        if !req.w.is_empty() {
            self.stream(req, &mut w, &mut clips);
            for _ in 0..4 {
                if w.len() == req.w.len() {
                    break;
                }
                self.tick();
                self.collect(&mut w, &mut clips);
            }
        }
        Ok(RowResult {
            w,
            a,
            b,
            p,
            d,
            delta,
            dback,
            flags: self.unit.flags_out.val().index() as u32,
            weight_clips: clips,
        })
    }
}

impl RowEngine for RustHdlEngine {
    fn update_rows(
        &mut self,
        _spec: &UpdateSpec,
        reqs: &[RowRequest],
    ) -> Result<Vec<RowResult>, String> {
        reqs.iter().map(|r| self.row(r)).collect()
    }
}
