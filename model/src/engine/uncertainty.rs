//! What the engine's votes say about its certainty: per input, the vote frequency of the class
//! it reports (its confidence), and over a test set the reliability diagram and the expected
//! calibration error (ECE; Guo et al., "On Calibration of Modern Neural Networks", ICML
//! 2017: bins of equal width in confidence, `ECE = sum_b n_b / N |accuracy_b - confidence_b|`).

use serde::Serialize;

use super::Outcome;

/// The vote frequency of the reported class: the share of the passes run that voted for it.
pub fn confidence(o: &Outcome) -> f64 {
    f64::from(o.votes[o.inference.class]) / o.passes.max(1) as f64
}

/// One confidence bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// The bin's confidence range `[lo, hi)` (the last bin includes 1).
    pub lo: f64,
    pub hi: f64,
    pub inputs: usize,
    /// Mean confidence and accuracy of the bin's inputs (0 for an empty bin).
    pub confidence: f64,
    pub accuracy: f64,
}

/// A reliability diagram and its expected calibration error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub bins: Vec<Bin>,
    pub ece: f64,
    pub mean_confidence: f64,
}

/// The calibration of `outcomes` against `labels` (in input order) in `bins` equal bins.
pub fn calibration(outcomes: &[Outcome], labels: &[u8], bins: usize) -> Calibration {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (o, &label) in outcomes.iter().zip(labels) {
        let c = confidence(o);
        let b = ((c * bins as f64) as usize).min(bins - 1);
        sums[b].0 += 1;
        sums[b].1 += c;
        sums[b].2 += usize::from(o.inference.class == usize::from(label));
    }
    let n = outcomes.len().min(labels.len()).max(1) as f64;
    let mut ece = 0.0;
    let bins: Vec<Bin> = sums
        .iter()
        .enumerate()
        .map(|(b, &(inputs, conf, right))| {
            let (confidence, accuracy) = if inputs == 0 {
                (0.0, 0.0)
            } else {
                (conf / inputs as f64, right as f64 / inputs as f64)
            };
            ece += inputs as f64 / n * (accuracy - confidence).abs();
            Bin {
                lo: b as f64 / sums.len() as f64,
                hi: (b + 1) as f64 / sums.len() as f64,
                inputs,
                confidence,
                accuracy,
            }
        })
        .collect();
    let mean_confidence = outcomes.iter().map(confidence).sum::<f64>() / n;
    Calibration {
        bins,
        ece,
        mean_confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Inference;

    fn outcome(votes: Vec<u32>) -> Outcome {
        let logits = votes.iter().map(|&v| i64::from(v)).collect();
        Outcome {
            inference: Inference::from_logit_sums(logits),
            passes: votes.iter().sum::<u32>() as usize,
            votes,
        }
    }

    #[test]
    fn a_calibrated_set_has_no_error_and_an_overconfident_one_does() {
        // confidence 1, right; confidence 0.5, right once of twice
        let os = [
            outcome(vec![0, 4]),
            outcome(vec![2, 2]),
            outcome(vec![2, 2]),
        ];
        assert_eq!(confidence(&os[0]), 1.0);
        let cal = calibration(&os, &[1, 0, 1], 2);
        assert_eq!(cal.bins[1].inputs, 3, "0.5 and 1 fall in the upper bin");
        let good = calibration(&os[1..], &[0, 1], 4);
        assert!(good.ece.abs() < 1e-12, "{good:?}");
        // always confident, right half of the time: ECE 0.5
        let over = calibration(&[outcome(vec![0, 4]), outcome(vec![0, 4])], &[1, 0], 10);
        assert!((over.ece - 0.5).abs() < 1e-12 && over.mean_confidence == 1.0);
    }
}
