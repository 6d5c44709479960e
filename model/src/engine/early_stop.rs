//! The sequential stopping rule (`docs/engine-spec.md`, section 4, "Early stop"): every pass
//! votes for the class of its own largest output logit; after each group of `rows` passes an
//! input is decided once the leading class's votes lead the runner-up's by the configured
//! margin. Both bit-exact models count votes their own way and judge them here.

use super::config::EarlyStop;
use super::Inference;

/// The leading class's votes minus the runner-up's (the runner-up of a single class has 0).
pub fn vote_margin(votes: &[u32]) -> u32 {
    let (mut first, mut second) = (0, 0);
    for &v in votes {
        if v > first {
            second = first;
            first = v;
        } else if v > second {
            second = v;
        }
    }
    first - second
}

/// Whether an input with these `votes` after `passes` passes stops here (`None`: never early).
pub fn decided(votes: &[u32], passes: usize, rule: Option<EarlyStop>) -> bool {
    rule.is_some_and(|r| passes >= r.min_passes && vote_margin(votes) >= r.vote_margin)
}

/// One input's result with what the sampling did: the passes it ran and their votes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub inference: Inference,
    /// Monte Carlo passes run: `mc_samples`, or fewer after an early stop.
    pub passes: usize,
    /// Per class, the passes whose own largest logit was that class's (ties to the lowest).
    pub votes: Vec<u32>,
}

/// Vote counting as the output layer's logits come out, neuron by neuron, for every row.
#[derive(Debug, Clone)]
pub struct Votes {
    pub counts: Vec<u32>,
    /// Per row, the largest logit of its current pass so far and its class.
    best: Vec<(i64, usize)>,
}

impl Votes {
    pub fn new(classes: usize, rows: usize) -> Self {
        Self {
            counts: vec![0; classes],
            best: vec![(0, 0); rows],
        }
    }

    /// Row `r`'s logit of class `k` (classes in order, from 0, once per group).
    pub fn see(&mut self, r: usize, k: usize, logit: i64) {
        if k == 0 || logit > self.best[r].0 {
            self.best[r] = (logit, k);
        }
    }

    /// Counts the votes of the group's `live_rows` rows; whether the input stops after
    /// `passes` passes.
    pub fn count_group(
        &mut self,
        live_rows: usize,
        passes: usize,
        rule: Option<EarlyStop>,
    ) -> bool {
        for &(_, k) in &self.best[..live_rows] {
            self.counts[k] += 1;
        }
        decided(&self.counts, passes, rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_the_lead_over_the_runner_up() {
        assert_eq!(vote_margin(&[3, 9, 4]), 5);
        assert_eq!(vote_margin(&[9, 9, 1]), 0);
        assert_eq!(vote_margin(&[7]), 7);
        assert_eq!(vote_margin(&[0, 0]), 0);
        let rule = Some(EarlyStop {
            vote_margin: 5,
            min_passes: 8,
        });
        assert!(decided(&[3, 9, 4], 16, rule));
        assert!(!decided(&[3, 9, 4], 7, rule), "before min_passes");
        assert!(!decided(&[3, 8, 4], 16, rule), "a lead of 4");
        assert!(!decided(&[0, 100], 100, None), "fixed K never stops early");
    }

    #[test]
    fn a_pass_votes_for_its_largest_logit_ties_to_the_lowest_class() {
        let mut v = Votes::new(3, 2);
        for (k, (a, b)) in [(5, -1), (5, 4), (2, 4)].into_iter().enumerate() {
            v.see(0, k, a);
            v.see(1, k, b);
        }
        assert!(!v.count_group(2, 2, None));
        assert_eq!(v.counts, vec![1, 1, 0]);
        // a second group starts afresh at class 0; only live rows vote
        for (k, a) in [-9, -8, -7].into_iter().enumerate() {
            v.see(0, k, a);
        }
        let rule = Some(EarlyStop {
            vote_margin: 1,
            min_passes: 3,
        });
        assert!(!v.count_group(1, 3, rule), "a three-way tie is not decided");
        assert_eq!(v.counts, vec![1, 1, 1]);
    }
}
