//! The tables `nsm gates` and `nsm sweep` print, rendered from their data (the statistics are
//! `nsm_model::engine::gates`; the sweep's points are gathered by the command).

use std::fmt::Write as _;

use nsm_model::engine::gates::LagRow;

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

/// One point of `nsm sweep`.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub weight_bits: u32,
    pub lfsr_width: u32,
    pub test_error_pct: f64,
    pub errors: usize,
    pub a_saturated: usize,
    pub bias_saturated: usize,
}

/// What the sweep's caption states.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSetting {
    pub images: usize,
    pub mc_samples: usize,
    pub rows: usize,
    pub cols: usize,
    pub p: f64,
    pub float_test_error_pct: f64,
}

/// The weight-bits x LFSR-width table of `nsm sweep` (a missing point shows as NaN).
pub fn sweep_markdown(
    setting: &SweepSetting,
    weight_bits: &[u32],
    lfsr_widths: &[u32],
    points: &[SweepPoint],
) -> String {
    let s = setting;
    let mut md = format!(
        "Bit-exact test error (%), {} test images, {} Monte Carlo samples, {}x{} array, p = {}; float model: {:.2}%\n\n",
        s.images, s.mc_samples, s.rows, s.cols, s.p, s.float_test_error_pct
    );
    md.push_str("| weight bits |");
    for lw in lfsr_widths {
        let _ = write!(md, " LFSR {lw} |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(lfsr_widths.len()));
    md.push('\n');
    for &wb in weight_bits {
        let _ = write!(md, "| {wb} |");
        for &lw in lfsr_widths {
            let e = points
                .iter()
                .find(|p| p.weight_bits == wb && p.lfsr_width == lw)
                .map_or(f64::NAN, |p| p.test_error_pct);
            let _ = write!(md, " {e:.2} |");
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_table_has_a_row_per_weight_width_and_a_column_per_lfsr() {
        let setting = SweepSetting {
            images: 10,
            mc_samples: 4,
            rows: 8,
            cols: 8,
            p: 0.5,
            float_test_error_pct: 4.0,
        };
        let point = |wb, lw, e| SweepPoint {
            weight_bits: wb,
            lfsr_width: lw,
            test_error_pct: e,
            errors: 0,
            a_saturated: 0,
            bias_saturated: 0,
        };
        let md = sweep_markdown(
            &setting,
            &[2, 3],
            &[8, 16],
            &[point(2, 8, 9.5), point(2, 16, 9.25), point(3, 8, 5.0)],
        );
        assert_eq!(
            md,
            "Bit-exact test error (%), 10 test images, 4 Monte Carlo samples, 8x8 array, p = 0.5; float model: 4.00%\n\n| weight bits | LFSR 8 | LFSR 16 |\n|---|---|---|\n| 2 | 9.50 | 9.25 |\n| 3 | 5.00 | NaN |\n"
        );
    }

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
