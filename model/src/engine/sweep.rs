//! The table `nsm sweep` prints: bit-exact test error over weight widths and LFSR widths.

use std::fmt::Write as _;

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
}
