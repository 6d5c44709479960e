//! `nsm synth-report`'s rendering: the markdown table and the figure of a series of
//! [`SynthReport`]s at several array sizes.

use nsm_verilog::cells::Cells;

use crate::plot::{side_by_side, Chart};
use crate::synth::{SynthReport, Target};

/// How a series of syntheses was asked for: what the report's last line repeats.
#[derive(Debug, Clone, Default)]
pub struct SeriesSource {
    /// The configuration's file name, as the table's caption names it.
    pub config_file: String,
    /// The array sizes (`--sizes`).
    pub sizes: Vec<usize>,
    /// `--config` as given, if it was.
    pub config_arg: Option<String>,
    pub seed: Option<u64>,
    /// `--cells` as given, if it was.
    pub cells: Option<Cells>,
}

/// The markdown table of `reports` (one row per array size) with its notes and the command.
pub fn markdown(target: Target, source: &SeriesSource, reports: &[SynthReport]) -> String {
    let name = target.name();
    let mut md = format!(
        "Synthesis of the engine for `{name}` (Yosys, nextpnr; the engine inside the four-pin measurement harness), from `{}` with rows = cols = n.\n\n| array | PEs | LUT4 | LUT4 / PE | all LUT4 / PE | FFs | carries | block RAMs | DSPs | Fmax (MHz) | target (MHz) | fits |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        source.config_file
    );
    for r in reports {
        md.push_str(&format!(
            "| {}x{} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.0} | {} |\n",
            r.rows,
            r.cols,
            r.rows * r.cols,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total_per_pe,
            r.ffs,
            r.carries,
            r.brams,
            r.dsps,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1}")),
            r.target_mhz,
            if target == Target::Generic {
                "-".to_string()
            } else if r.fits {
                "yes".to_string()
            } else {
                format!(
                    "no: {}",
                    r.pnr_error.clone().unwrap_or_default().replace('|', "/")
                )
            }
        ));
    }
    md.push_str(&format!(
        "\nLUT4 counts the logic LUTs; *all LUT4* adds, on the ECP5, the two LUT4s inside each carry cell and the six of each distributed RAM (nextpnr's \"Total LUT4s\"; an iCE40 adder bit is a LUT of its own, already counted). PE sums: {}.\n",
        match reports.first().map(|r| r.cells) {
            Some("ecp5") => "on the ECP5's carry cells (`--cells ecp5`)",
            Some(_) => "portable Verilog",
            None => "-",
        }
    ));
    md.push_str(&format!(
        "\nCommand: `nsm synth-report --target {name} --sizes {}{}{}{}`; figure: `synth-{name}.svg`.\n",
        source
            .sizes
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(","),
        source
            .config_arg
            .as_ref()
            .map_or(String::new(), |p| format!(" --config {p}")),
        source.seed.map_or(String::new(), |s| format!(" --seed {s}")),
        source.cells.map_or(String::new(), |c| format!(
            " --cells {}",
            nsm_verilog::cells::name(c)
        ))
    ));
    md
}

/// The figure: resources (all LUT4s, flip-flops) and Fmax against the number of PEs, side by
/// side (SVG).
pub fn figure(target: Target, reports: &[SynthReport]) -> String {
    let name = target.name();
    let pes = |r: &SynthReport| (r.rows * r.cols) as f64;
    let max_pes = reports.iter().map(pes).fold(1.0, f64::max);
    let max_res = reports
        .iter()
        .map(|r| r.lut4s_total.max(r.ffs) as f64)
        .fold(1.0, f64::max);
    let resources = Chart {
        title: &format!("{name}: resources against array size"),
        x_label: "PEs (rows x cols)",
        y_label: "cells",
        x_range: (0.0, max_pes * 1.05),
        y_range: (0.0, max_res * 1.1),
        lines: vec![
            (
                "LUT4 (all, with the carry cells')",
                reports
                    .iter()
                    .map(|r| (pes(r), r.lut4s_total as f64))
                    .collect(),
            ),
            (
                "flip-flops",
                reports.iter().map(|r| (pes(r), r.ffs as f64)).collect(),
            ),
        ],
        dots: vec![],
    };
    let fmax: Vec<(f64, f64)> = reports
        .iter()
        .filter_map(|r| r.fmax_mhz.map(|f| (pes(r), f)))
        .collect();
    let max_f = fmax
        .iter()
        .map(|p| p.1)
        .fold(target.target_mhz(), f64::max)
        .max(1.0);
    let speed = Chart {
        title: &format!("{name}: Fmax against array size"),
        x_label: "PEs (rows x cols)",
        y_label: "MHz",
        x_range: (0.0, max_pes * 1.05),
        y_range: (0.0, max_f * 1.2),
        lines: vec![
            ("Fmax (nextpnr)", fmax),
            (
                "target",
                vec![
                    (0.0, target.target_mhz()),
                    (max_pes * 1.05, target.target_mhz()),
                ],
            ),
        ],
        dots: vec![],
    };
    side_by_side(&resources, &speed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize, fmax: Option<f64>) -> SynthReport {
        SynthReport {
            target: "up5k",
            rows: n,
            cols: n,
            lanes: 1,
            weight_bits: 8,
            luts: 100 * n as u64,
            ffs: 120 * n as u64,
            carries: 10,
            brams: 2,
            dsps: 1,
            luts_per_pe: 100.0 / n as f64,
            lut4s_total: 100 * n as u64,
            lut4s_total_per_pe: 100.0 / n as f64,
            synapses_per_cycle: (n * n) as u64,
            synapses_per_lut4_cycle: n as f64 / 100.0,
            cells: "portable",
            fmax_mhz: fmax,
            target_mhz: 40.0,
            fits: fmax.is_some(),
            pnr_error: fmax.is_none().then(|| "ERROR: a | b".to_string()),
            absorbed: None,
            seed: None,
            seconds: 1.0,
        }
    }

    #[test]
    fn the_table_has_a_row_per_size_and_repeats_the_command() {
        let source = SeriesSource {
            config_file: "up5k.json".into(),
            sizes: vec![1, 2],
            config_arg: None,
            seed: Some(3),
            cells: Some(Cells::Portable),
        };
        let rs = [report(1, Some(41.5)), report(2, None)];
        let md = markdown(Target::Up5k, &source, &rs);
        assert!(md.contains("from `up5k.json`"), "{md}");
        assert!(md.contains("| 1x1 | 1 | 100 | 100.0 |") && md.contains("| 41.5 | 40 | yes |"));
        assert!(md.contains("| no: ERROR: a / b |"), "{md}");
        assert!(md.contains("PE sums: portable Verilog."));
        assert!(md.contains(
            "Command: `nsm synth-report --target up5k --sizes 1,2 --seed 3 --cells portable`"
        ));
        let svg = figure(Target::Up5k, &rs);
        assert!(svg.starts_with("<svg") && svg.contains("Fmax") && svg.contains("LUT4"));
    }
}
