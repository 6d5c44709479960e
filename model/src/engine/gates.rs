//! Statistics of the PE gate streams: how often gates open, and how correlated the streams
//! of neighbouring PEs are. The decorrelation scheme (seeds spaced evenly along the LFSR
//! sequence, k fresh bits per gate) is what these numbers check; `seed_spacing_override`
//! lets a report show what naive seeding would do.

use serde::Serialize;
use std::fmt::Write as _;

use super::config::{EngineConfig, EngineError};
use super::schedule::pe_seeds;
use crate::lfsr::LfsrSpec;

/// The most gates the statistics hold in memory, over all PEs: 2^31 (2 GiB).
pub const MAX_GATES: usize = 1 << 31;

/// Refuses `per_pe` gates for each PE of `cfg` when they would be more than [`MAX_GATES`].
pub fn check_gate_count(cfg: &EngineConfig, per_pe: usize) -> Result<(), EngineError> {
    match per_pe.checked_mul(cfg.pes()) {
        Some(n) if n <= MAX_GATES => Ok(()),
        _ => Err(EngineError::TooManyGates {
            per_pe,
            pes: cfg.pes(),
            limit: MAX_GATES,
        }),
    }
}

/// Gate streams of every PE of `cfg`: `n` gates each, from the reset states (or from seeds
/// `spacing` single steps apart when given, to show the effect of the spacing).
pub fn gate_streams(
    cfg: &EngineConfig,
    n: usize,
    spacing: Option<u64>,
) -> Result<Vec<Vec<bool>>, EngineError> {
    check_gate_count(cfg, n)?;
    let spec = cfg.lfsr_spec()?;
    let seeds = match spacing {
        None => pe_seeds(&spec, cfg.pes()),
        Some(d) => {
            let mut v = Vec::with_capacity(cfg.pes());
            let mut s = 1u32;
            for _ in 0..cfg.pes() {
                v.push(s);
                s = spec.jump(s, d);
            }
            v
        }
    };
    Ok(seeds
        .into_iter()
        .map(|mut s| {
            (0..n)
                .map(|_| {
                    spec.gate(
                        &mut s,
                        cfg.blank_out.threshold_bits,
                        cfg.blank_out.threshold,
                    )
                })
                .collect()
        })
        .collect())
}

/// Pearson correlation of `a[t]` and `b[t + lag]`; 0 when either stream is constant.
pub fn lagged_correlation(a: &[bool], b: &[bool], lag: usize) -> f64 {
    let n = a.len().min(b.len()).saturating_sub(lag);
    if n == 0 {
        return 0.0;
    }
    let (mut sa, mut sb, mut sab) = (0f64, 0f64, 0f64);
    for t in 0..n {
        let x = f64::from(u8::from(a[t]));
        let y = f64::from(u8::from(b[t + lag]));
        sa += x;
        sb += y;
        sab += x * y;
    }
    let nf = n as f64;
    let (ma, mb) = (sa / nf, sb / nf);
    let cov = sab / nf - ma * mb;
    let va = ma * (1.0 - ma);
    let vb = mb * (1.0 - mb);
    if va <= 0.0 || vb <= 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// Largest |correlation| at one lag, over all neighbour pairs of one kind, both directions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LagRow {
    pub lag: usize,
    /// PE (r, c) against (r, c + 1).
    pub row_neighbours: f64,
    /// PE (r, c) against (r + 1, c).
    pub col_neighbours: f64,
    /// A PE against itself (lag >= 1): consecutive gates of one synapse slot.
    pub same_pe: f64,
}

/// Correlation table at lags `0..=max_lag` over `n` gates per PE.
pub fn neighbour_correlations(
    cfg: &EngineConfig,
    n: usize,
    max_lag: usize,
    spacing: Option<u64>,
) -> Result<Vec<LagRow>, EngineError> {
    let total = n.checked_add(max_lag).ok_or(EngineError::TooManyGates {
        per_pe: n,
        pes: cfg.pes(),
        limit: MAX_GATES,
    })?;
    let streams = gate_streams(cfg, total, spacing)?;
    let (rows, cols) = (cfg.rows, cfg.cols);
    let max_pair = |a: &[bool], b: &[bool], lag: usize| {
        lagged_correlation(a, b, lag)
            .abs()
            .max(lagged_correlation(b, a, lag).abs())
    };
    Ok((0..=max_lag)
        .map(|lag| {
            let mut row_n = 0f64;
            let mut col_n = 0f64;
            let mut same = 0f64;
            for r in 0..rows {
                for c in 0..cols {
                    let q = r * cols + c;
                    if c + 1 < cols {
                        row_n = row_n.max(max_pair(&streams[q], &streams[q + 1], lag));
                    }
                    if r + 1 < rows {
                        col_n = col_n.max(max_pair(&streams[q], &streams[q + cols], lag));
                    }
                    if lag > 0 {
                        same = same.max(lagged_correlation(&streams[q], &streams[q], lag).abs());
                    }
                }
            }
            LagRow {
                lag,
                row_neighbours: row_n,
                col_neighbours: col_n,
                same_pe: same,
            }
        })
        .collect())
}

/// Fraction of open gates over all PEs' first `n` gates.
pub fn gate_frequency(cfg: &EngineConfig, n: usize) -> Result<f64, EngineError> {
    let streams = gate_streams(cfg, n, None)?;
    let open: usize = streams
        .iter()
        .map(|s| s.iter().filter(|&&g| g).count())
        .sum();
    Ok(open as f64 / (streams.len() * n) as f64)
}

/// The fraction of gates that open over one full LFSR period, exactly:
/// `(threshold 2^(w-k) - 1) / (2^w - 1)` for `threshold > 0` (the all-zero state never occurs).
pub fn exact_period_frequency(spec: &LfsrSpec, k: u32, threshold: u32) -> f64 {
    if threshold == 0 {
        return 0.0;
    }
    let w = spec.width();
    (f64::from(threshold) * (1u64 << (w - k)) as f64 - 1.0) / spec.period() as f64
}

// ---- the table `nsm gates` prints ----

/// The largest |correlation| of a table, over every lag and kind of neighbour.
pub fn max_abs_correlation(t: &[LagRow]) -> f64 {
    t.iter()
        .map(|r| r.row_neighbours.max(r.col_neighbours).max(r.same_pe))
        .fold(0f64, f64::max)
}

/// The markdown table of `nsm gates`: one row per lag, with a column for the comparison
/// seeds' row neighbours when there is one (`compare` has the same lags as `table`).
pub fn gates_table(table: &[LagRow], compare: Option<&[LagRow]>) -> String {
    let mut s = String::from("| lag | row neighbours | column neighbours | same PE |");
    if compare.is_some() {
        s.push_str(" row neighbours, seeds spaced --compare-spacing |");
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "|---|---|---|---|{}",
        if compare.is_some() { "---|" } else { "" }
    );
    for (i, r) in table.iter().enumerate() {
        let extra = compare
            .map(|t| format!(" {:.4} |", t[i].row_neighbours.max(t[i].col_neighbours)))
            .unwrap_or_default();
        let same = if r.lag == 0 {
            "-".to_string()
        } else {
            format!("{:.4}", r.same_pe)
        };
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {} |{extra}",
            r.lag, r.row_neighbours, r.col_neighbours, same
        );
    }
    s
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn the_gates_table_adds_the_comparison_column_only_when_asked() {
        let row = |lag, x| LagRow {
            lag,
            row_neighbours: x,
            col_neighbours: -x,
            same_pe: x / 2.0,
        };
        let t = [row(0, 0.001), row(1, -0.002)];
        let plain = gates_table(&t, None);
        assert_eq!(
            plain,
            "| lag | row neighbours | column neighbours | same PE |\n|---|---|---|---|\n| 0 | 0.0010 | -0.0010 | - |\n| 1 | -0.0020 | 0.0020 | -0.0010 |\n"
        );
        let with = gates_table(&t, Some(&[row(0, 0.9), row(1, 0.8)]));
        assert!(
            with.lines().nth(2).unwrap().ends_with(" 0.9000 |"),
            "{with}"
        );
        assert_eq!(max_abs_correlation(&t), 0.002);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_counts_beyond_the_limit_are_refused_before_allocating() {
        let cfg = EngineConfig::default_config();
        let pes = cfg.pes();
        check_gate_count(&cfg, MAX_GATES / pes).unwrap();
        for n in [MAX_GATES / pes + 1, usize::MAX / 2, usize::MAX] {
            let e = gate_streams(&cfg, n, None).unwrap_err().to_string();
            assert!(
                e.contains(&n.to_string()) && e.contains(&MAX_GATES.to_string()),
                "{e}"
            );
        }
        // The lags read past the last gate: that sum is checked too.
        let e = neighbour_correlations(&cfg, usize::MAX, 16, None).unwrap_err();
        assert!(matches!(e, EngineError::TooManyGates { .. }), "{e}");
    }
}
