//! `nsm synth-report`'s rendering: the markdown table and the figure of a series of
//! [`SynthReport`]s at several array sizes.

use nsm_verilog::cells::Cells;

use crate::plot::{in_a_row, Chart};
use crate::synth::{SynthReport, Target};

/// How a series of syntheses was asked for: what the report's last line repeats.
#[derive(Debug, Clone, Default)]
pub struct SeriesSource {
    /// The configuration's file name, as the table's caption names it.
    pub config_file: String,
    /// The array sizes (`--sizes`): the rows, and the columns unless `cols` is given.
    pub sizes: Vec<usize>,
    /// `--cols`: the columns at every size.
    pub cols: Option<usize>,
    /// `--lanes`: the lane counts swept.
    pub lanes: Option<Vec<usize>>,
    /// `--config` as given, if it was.
    pub config_arg: Option<String>,
    pub seed: Option<u64>,
    /// `--cells` as given, if it was.
    pub cells: Option<Cells>,
}

impl SeriesSource {
    /// The files' stem: `synth-<target>`, `synth-<target>-lanes` for a sweep of lanes.
    pub fn stem(&self, target: Target) -> String {
        match self.lanes {
            Some(_) => format!("synth-{}-lanes", target.name()),
            None => format!("synth-{}", target.name()),
        }
    }
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The markdown table of `reports` (one row per array size and lane count) with its notes and
/// the command.
pub fn markdown(target: Target, source: &SeriesSource, reports: &[SynthReport]) -> String {
    let name = target.name();
    let shape = match source.cols {
        Some(c) => format!("rows = n, cols = {c}"),
        None => "rows = cols = n".to_string(),
    };
    let mut md = format!(
        "Synthesis of the engine for `{name}` (Yosys, nextpnr; the engine inside the four-pin measurement harness), from `{}` with {shape}.\n\n| array | lanes | weight bits | PEs | synapses / cycle | LUT4 | LUT4 / PE | all LUT4 | all LUT4 / synapse | FFs | carries | block RAMs | SPRAMs | DSPs | Fmax (MHz) | target (MHz) | synapse-samples / LUT4 / cycle | fits |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        source.config_file
    );
    for r in reports {
        md.push_str(&format!(
            "| {}x{} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} | {} | {} | {} | {} | {} | {} | {:.0} | {:.3} | {} |\n",
            r.rows,
            r.cols,
            r.lanes,
            r.weight_bits,
            r.rows * r.cols,
            r.synapses_per_cycle,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total,
            r.lut4s_total as f64 / r.synapses_per_cycle.max(1) as f64,
            r.ffs,
            r.carries,
            r.brams,
            r.sprams,
            r.dsps,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1}")),
            r.target_mhz,
            r.synapses_per_lut4_cycle,
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
        "\nLUT4 counts the logic LUTs; *all LUT4* adds, on the ECP5, the two LUT4s inside each carry cell and the six of each distributed RAM (nextpnr's \"Total LUT4s\"; an iCE40 adder bit is a LUT of its own, already counted). A synapse-sample is one gated synapse term of one Monte Carlo pass: `rows * cols * lanes` per cycle, divided by all LUT4s. PE sums: {}.\n",
        match reports.first().map(|r| r.cells) {
            Some("ecp5") => "on the ECP5's carry cells (`--cells ecp5`)",
            Some(_) => "portable Verilog",
            None => "-",
        }
    ));
    md.push_str(&format!(
        "\nCommand: `nsm synth-report --target {name} --sizes {}{}{}{}{}{}`; figure: `{}.svg`.\n",
        list(&source.sizes),
        source
            .cols
            .map_or(String::new(), |c| format!(" --cols {c}")),
        source
            .lanes
            .as_ref()
            .map_or(String::new(), |l| format!(" --lanes {}", list(l))),
        source
            .config_arg
            .as_ref()
            .map_or(String::new(), |p| format!(" --config {p}")),
        source
            .seed
            .map_or(String::new(), |s| format!(" --seed {s}")),
        source.cells.map_or(String::new(), |c| format!(
            " --cells {}",
            nsm_verilog::cells::name(c)
        )),
        source.stem(target)
    ));
    md
}

/// The figure (SVG): all LUT4s, Fmax and synapse-samples per LUT4 per cycle against the
/// synapses per cycle (`rows * cols * lanes`; the PEs at one lane), one line per lane count,
/// three charts side by side.
pub fn figure(target: Target, reports: &[SynthReport]) -> String {
    let name = target.name();
    let mut lanes: Vec<usize> = reports.iter().map(|r| r.lanes).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let syn = |r: &SynthReport| r.synapses_per_cycle as f64;
    let max_syn = reports.iter().map(syn).fold(1.0, f64::max);
    let x_range = (0.0, max_syn * 1.05);
    let x_label = "synapses per cycle (rows x cols x lanes)";
    let legend: Vec<String> = lanes
        .iter()
        .map(|l| format!("{l} lane{}", if *l == 1 { "" } else { "s" }))
        .collect();
    let series = |value: &dyn Fn(&SynthReport) -> Option<f64>| -> Vec<(&str, Vec<(f64, f64)>)> {
        lanes
            .iter()
            .zip(&legend)
            .map(|(l, name)| {
                let mut pts: Vec<(f64, f64)> = reports
                    .iter()
                    .filter(|r| r.lanes == *l)
                    .filter_map(|r| value(r).map(|v| (syn(r), v)))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (name.as_str(), pts)
            })
            .collect()
    };
    let top = |lines: &[(&str, Vec<(f64, f64)>)], floor: f64| {
        lines
            .iter()
            .flat_map(|l| l.1.iter().map(|p| p.1))
            .fold(floor, f64::max)
            * 1.2
    };
    let luts = series(&|r| Some(r.lut4s_total as f64));
    let resources = Chart {
        title: &format!("{name}: all LUT4s"),
        x_label,
        y_label: "LUT4 (with the carry cells')",
        x_range,
        y_range: (0.0, top(&luts, 1.0)),
        lines: luts.clone(),
        dots: vec![],
    };
    let mut fmax = series(&|r| r.fmax_mhz);
    let y_fmax = top(&fmax, target.target_mhz());
    fmax.push((
        "target",
        vec![(0.0, target.target_mhz()), (x_range.1, target.target_mhz())],
    ));
    let speed = Chart {
        title: &format!("{name}: Fmax"),
        x_label,
        y_label: "MHz",
        x_range,
        y_range: (0.0, y_fmax),
        lines: fmax,
        dots: vec![],
    };
    let eff = series(&|r| Some(r.synapses_per_lut4_cycle));
    let efficiency = Chart {
        title: &format!("{name}: synapse-samples per LUT4 per cycle"),
        x_label,
        y_label: "per LUT4 per cycle",
        x_range,
        y_range: (0.0, top(&eff, 0.01)),
        lines: eff.clone(),
        dots: vec![],
    };
    in_a_row(&[&resources, &speed, &efficiency])
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
            sprams: 0,
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
            seed: Some(3),
            cells: Some(Cells::Portable),
            ..SeriesSource::default()
        };
        let rs = [report(1, Some(41.5)), report(2, None)];
        let md = markdown(Target::Up5k, &source, &rs);
        assert!(md.contains("from `up5k.json`"), "{md}");
        assert!(
            md.contains("| 1x1 | 1 | 8 | 1 | 1 | 100 | 100.0 | 100 | 100.0 |"),
            "{md}"
        );
        assert!(md.contains("| 41.5 | 40 | 0.010 | yes |"), "{md}");
        assert!(md.contains("| no: ERROR: a / b |"), "{md}");
        assert!(md.contains("PE sums: portable Verilog."));
        assert!(md.contains(
            "Command: `nsm synth-report --target up5k --sizes 1,2 --seed 3 --cells portable`"
        ));
        let svg = figure(Target::Up5k, &rs);
        assert!(svg.starts_with("<svg") && svg.contains("Fmax") && svg.contains("LUT4"));
        assert_eq!(source.stem(Target::Up5k), "synth-up5k");
    }

    #[test]
    fn a_sweep_of_lanes_has_a_line_per_lane_count_and_its_own_files() {
        let source = SeriesSource {
            config_file: "icebreaker-mnist.json".into(),
            sizes: vec![2, 4],
            cols: Some(4),
            lanes: Some(vec![1, 8]),
            ..SeriesSource::default()
        };
        let mut wide = report(2, Some(30.0));
        wide.cols = 4;
        wide.lanes = 8;
        wide.synapses_per_cycle = 64;
        wide.lut4s_total = 1600;
        wide.synapses_per_lut4_cycle = 0.04;
        let rs = [report(2, Some(40.0)), wide];
        let md = markdown(Target::Up5k, &source, &rs);
        assert!(md.contains("with rows = n, cols = 4."), "{md}");
        assert!(md.contains("| 2x4 | 8 | 8 | 8 | 64 |"), "{md}");
        assert!(
            md.contains("| 1600 | 25.0 |") && md.contains("| 0.040 | yes |"),
            "{md}"
        );
        assert!(md.contains("--sizes 2,4 --cols 4 --lanes 1,8`; figure: `synth-up5k-lanes.svg`"));
        let svg = figure(Target::Up5k, &rs);
        assert!(
            svg.contains(">1 lane<") && svg.contains(">8 lanes<"),
            "{svg}"
        );
        assert!(svg.contains("synapse-samples per LUT4 per cycle"));
    }
}
