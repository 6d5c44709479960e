//! The engine's cycle model: how many clock cycles one input takes, exactly (the simulation
//! suites check every prediction), and the sequencer's fixed costs it is made of.
//!
//! Per input: the input words stream in (one per cycle), then for each group of `rows`
//! Monte Carlo passes and each layer the sequencer spends [`start_cycles`] starting the
//! layer, `n_out * steps_eff` issuing array steps (`steps_eff = max(steps, rows)` for the
//! output layer, whose rows the logit walker reads one per cycle) and `drain_count + 1`
//! draining the pipelines; then each class's result beat takes [`beat_cycles`]
//! (`docs/hardware.md`, "Timing").

use super::config::EngineConfig;
use super::qnet::QNet;
use super::Outcome;

/// The value of the sequencer's drain counter that ends a layer: the idle cycles between a
/// layer's last step and the next layer's start cover the array (`cols`), the row ends'
/// pipelines and the logit walker (`rows`), with room to spare.
pub fn drain_count(rows: usize, cols: usize, hard_block_registers: bool) -> usize {
    // `hard_block_registers` adds two clocks before the array's adders, two in the neuron
    // unit (one in the logit walker) and one in the memory writes after them: five, and
    // three to spare
    cols + rows + 8 + 8 * usize::from(hard_block_registers)
}

/// Cycles from one layer's drain to its first step: START, then START2 while the layer's
/// table entry is registered (and START3 between them with `hard_block_registers`, while the
/// table lookup is).
pub fn start_cycles(hard_block_registers: bool) -> usize {
    2 + usize::from(hard_block_registers)
}

/// Cycles of one result beat: read, load, judge, class, offer (one more with
/// `hard_block_registers`: the memory's output register).
pub fn beat_cycles(hard_block_registers: bool) -> usize {
    5 + usize::from(hard_block_registers)
}

/// Clock cycles of one input, predicted from the fold and the sequencer's fixed costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleModel {
    /// Streaming the input words: `ceil(n_in / (cols * lanes))`.
    pub input_cycles: u64,
    /// All groups and layers: start, issue and drain cycles.
    pub compute_cycles: u64,
    /// The result beats: [`beat_cycles`] per class.
    pub output_cycles: u64,
    /// Cycles the array would need at one useful synapse per PE per cycle.
    pub ideal_cycles: f64,
    /// Compute cycles of one group of `rows` passes (all layers once).
    pub group_cycles: u64,
    pub rows: u64,
}

impl CycleModel {
    pub fn new(cfg: &EngineConfig, qnet: &QNet) -> Self {
        // a step consumes `cols * lanes` inputs; the pipeline is `cols` PEs long
        let (rows, n_step) = (cfg.rows as u64, cfg.step_inputs() as u64);
        let hbr = cfg.hard_block_registers;
        let widths = qnet.widths();
        let layers = widths.len() - 1;
        let drain = drain_count(cfg.rows, cfg.cols, hbr) as u64;
        let start = start_cycles(hbr) as u64;
        let groups = cfg.mc_samples.div_ceil(cfg.rows) as u64;
        let per_group: u64 = widths
            .windows(2)
            .enumerate()
            .map(|(l, w)| {
                let steps = (w[0] as u64).div_ceil(n_step);
                let eff = if l + 1 == layers {
                    steps.max(rows)
                } else {
                    steps
                };
                start + w[1] as u64 * eff + drain + 1
            })
            .sum();
        let synapses: u64 = widths.windows(2).map(|w| (w[0] * w[1]) as u64).sum();
        Self {
            input_cycles: (widths[0] as u64).div_ceil(n_step),
            compute_cycles: groups * per_group,
            output_cycles: beat_cycles(hbr) as u64
                * *widths.last().expect("a network has an output layer") as u64,
            ideal_cycles: (cfg.mc_samples as u64 * synapses) as f64 / (rows * n_step) as f64,
            group_cycles: per_group,
            rows,
        }
    }

    /// All cycles of an input that ran `passes` passes (`ceil(passes / rows)` groups): what
    /// an early stop saves. The stopping rule's own cost is not in it (the hardware does not
    /// build the rule yet).
    pub fn total_for_passes(&self, passes: u64) -> u64 {
        self.input_cycles + passes.div_ceil(self.rows) * self.group_cycles + self.output_cycles
    }

    /// Mean cycles per input over `outcomes`, each at the passes it ran.
    pub fn mean_total(&self, outcomes: &[Outcome]) -> f64 {
        let sum: u64 = outcomes
            .iter()
            .map(|o| self.total_for_passes(o.passes as u64))
            .sum();
        sum as f64 / outcomes.len().max(1) as f64
    }

    /// All cycles of one input.
    pub fn total(&self) -> u64 {
        self.input_cycles + self.compute_cycles + self.output_cycles
    }

    /// Ideal over actual cycles.
    pub fn utilization(&self) -> f64 {
        self.ideal_cycles / self.total() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::samples::{self, Limits, Weights};
    use rand::SeedableRng;

    #[test]
    fn fixed_costs() {
        assert_eq!(drain_count(8, 8, false), 24);
        assert_eq!(drain_count(16, 16, true), 48);
        assert_eq!(start_cycles(false), 2);
        assert_eq!(start_cycles(true), 3);
        assert_eq!(beat_cycles(false), 5);
        assert_eq!(beat_cycles(true), 6);
    }

    #[test]
    fn the_documented_formula() {
        // docs/hardware.md, "Timing": ceil(n_in/N) + ceil(K/rows) * sum_l (2 + h +
        // n_out(l) steps_eff(l) + cols + rows + 9 + 8h) + (5 + h) classes, N = cols * lanes
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(13);
        for _ in 0..40 {
            let cfg = samples::random_config(&mut rng, &Limits::SMALL);
            let q = samples::random_qnet(&mut rng, &cfg, &Limits::SMALL, Weights::Random);
            let h = u64::from(cfg.hard_block_registers);
            let (rows, cols, k) = (cfg.rows as u64, cfg.cols as u64, cfg.mc_samples as u64);
            let n = cfg.step_inputs() as u64;
            let widths = q.widths();
            let n_layers = widths.len() - 1;
            let per_group: u64 = (0..n_layers)
                .map(|l| {
                    let steps = (widths[l] as u64).div_ceil(n);
                    let eff = if l + 1 == n_layers {
                        steps.max(rows)
                    } else {
                        steps
                    };
                    2 + h + widths[l + 1] as u64 * eff + cols + rows + 9 + 8 * h
                })
                .sum();
            let want = (widths[0] as u64).div_ceil(n)
                + k.div_ceil(rows) * per_group
                + (5 + h) * *widths.last().unwrap() as u64;
            let m = CycleModel::new(&cfg, &q);
            assert_eq!(m.total(), want, "{cfg:?}");
            assert_eq!(m.total_for_passes(k), want, "all passes: {cfg:?}");
            let one_group = (widths[0] as u64).div_ceil(n)
                + per_group
                + (5 + h) * *widths.last().unwrap() as u64;
            assert_eq!(m.total_for_passes(1), one_group);
            assert!(m.utilization() > 0.0 && m.utilization() <= 1.0);
        }
    }
}
