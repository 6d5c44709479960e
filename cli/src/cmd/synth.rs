//! `nsm synth` and `nsm synth-report`: the engine (or the update unit) through Yosys and
//! nextpnr (`nsm_flow::synth`), once or at several array sizes (`nsm_flow::report`).

use anyhow::{bail, Context, Result};
use nsm_flow::report::SeriesSource;
use nsm_flow::synth::{synthesize, Pnr, SynthOptions, Target};
use nsm_flow::WorkDir;
use nsm_model::engine::config::EngineConfig;

use crate::configs;
use crate::flags::{SynthArgs, SynthReportArgs};

pub fn synth_report(a: SynthReportArgs) -> Result<()> {
    let target = a.target.target();
    let sizes = a.sizes.clone().unwrap_or_else(|| {
        if target == Target::Ecp5_25f {
            vec![4, 8, 16]
        } else {
            vec![2, 4, 8]
        }
    });
    if sizes.is_empty() || sizes.contains(&0) {
        bail!("--sizes needs one or more array sizes of at least 1");
    }
    if a.cols == Some(0) {
        bail!("--cols needs at least 1 column");
    }
    if let Some(l) = &a.lanes {
        if l.is_empty() || l.contains(&0) {
            bail!("--lanes needs one or more lane counts of at least 1");
        }
    }
    let loaded = configs::load(a.config.as_deref(), a.target.default_config())?;
    let base = loaded.cfg.clone();
    let source = SeriesSource {
        config_file: loaded.file_name.clone(),
        sizes: sizes.clone(),
        cols: a.cols,
        lanes: a.lanes.clone(),
        config_arg: a.config.as_ref().map(|p| p.display().to_string()),
        seed: a.seed,
        cells: a.cells.map(Into::into),
    };
    let stem = source.stem(target);
    let file = |ext: &str| a.out_dir.join(format!("{stem}.{ext}"));
    let md_path = file("md");
    let mut out = super::outputs(a.config.iter())?;
    out.folder("--out-dir", &a.out_dir)?;
    out.file("--out-dir", &file("svg"))?;
    out.file("--out-dir", &file("json"))?;
    out.primary("--out-dir", &md_path)?;
    let opts = SynthOptions {
        cells: source.cells,
        seed: a.seed,
    };
    // every point is checked, and every tool found, before the first synthesis
    let mut cfgs = Vec::new();
    for &lanes in a.lanes.as_deref().unwrap_or(&[base.lanes]) {
        for &n in &sizes {
            let cols = a.cols.unwrap_or(n);
            let cfg = EngineConfig {
                rows: n,
                cols,
                lanes,
                ..base.clone()
            };
            let point = format!(
                "the {n}x{cols} variant of {} at {lanes} lanes",
                loaded.label
            );
            cfg.validate()
                .with_context(|| format!("--sizes {n} --lanes {lanes}: {point}"))?;
            nsm_hdl::check_supported(&cfg)
                .with_context(|| format!("--sizes {n} --lanes {lanes}: {point}"))?;
            cfgs.push(cfg);
        }
    }
    nsm_flow::synth::check_tools(target, Pnr::Run { seed: a.seed })?;
    let work = WorkDir::new(a.work_dir.as_deref(), "synth-report")?;
    let mut reports = Vec::new();
    for cfg in &cfgs {
        let point = format!("{}x{}x{}", cfg.rows, cfg.cols, cfg.lanes);
        eprintln!("synthesizing {point} for {} ...", target.name());
        let r = synthesize(cfg, target, &work.path().join(&point), &opts)?;
        eprintln!(
            "  {} LUT4 (all), {} FFs, Fmax {}, {:.3} synapse-samples per LUT4 per cycle",
            r.lut4s_total,
            r.ffs,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1} MHz")),
            r.synapses_per_lut4_cycle
        );
        reports.push(r);
    }
    drop(work);
    let md = nsm_flow::report::markdown(target, &source, &reports);
    out.write(&md_path, md.as_bytes())?;
    out.write(
        &file("svg"),
        nsm_flow::report::figure(target, &reports).as_bytes(),
    )?;
    out.write(
        &file("json"),
        serde_json::to_string_pretty(&reports)?.as_bytes(),
    )?;
    out.commit()?;
    print!("{md}");
    eprintln!("wrote {}", md_path.display());
    Ok(())
}

pub fn synth(a: SynthArgs) -> Result<()> {
    let target = a.target.target();
    let cfg = configs::load(a.config.as_deref(), a.target.default_config())?.cfg;
    let work = WorkDir::new(a.work_dir.as_deref(), "synth")?;
    if a.update_unit {
        return synth_update_unit(&a, &cfg, target, &work);
    }
    if a.no_pnr {
        bail!("--no-pnr applies to --update-unit");
    }
    let opts = SynthOptions {
        cells: a.cells.map(Into::into),
        seed: a.seed,
    };
    let report = synthesize(&cfg, target, work.path(), &opts);
    drop(work);
    let r = report?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} {}x{} x {} lanes: {} LUTs ({:.1} per PE; {:.1} with the carry cells' LUTs), {} FFs, {} carries, {} block RAMs, {} SPRAMs, {} DSPs, {:.3} synapse-samples per LUT4 per cycle, Fmax {}, {}",
            r.target,
            r.rows,
            r.cols,
            r.lanes,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total_per_pe,
            r.ffs,
            r.carries,
            r.brams,
            r.sprams,
            r.dsps,
            r.synapses_per_lut4_cycle,
            r.fmax_mhz.map_or("-".to_string(), |f| format!("{f:.1} MHz (target {:.0})", r.target_mhz)),
            if target == Target::Generic { "no place-and-route".to_string() } else if r.fits { "fits".to_string() } else { format!("does not fit: {}", r.pnr_error.clone().unwrap_or_default()) }
        );
    }
    Ok(())
}

fn synth_update_unit(
    a: &SynthArgs,
    cfg: &EngineConfig,
    target: Target,
    work: &WorkDir,
) -> Result<()> {
    let learn = super::onchip::load_learn(&a.learn)?;
    let spec = nsm_model::learn::UpdateSpec::new(cfg, &learn)
        .with_context(|| super::onchip::learn_origin(&a.learn))?;
    let pnr = if a.no_pnr {
        Pnr::Skip
    } else {
        Pnr::Run { seed: a.seed }
    };
    let r = nsm_flow::synth::synthesize_update_unit(&spec, target, work.path(), pnr)?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        let f = &r.flow;
        println!(
            "update unit on {}: {} LUTs, {} FFs, {} carries, {} block RAMs, {} DSPs, Fmax {}",
            r.target,
            f.luts,
            f.ffs,
            f.carries,
            f.brams,
            f.dsps,
            f.fmax_mhz.map_or("-".to_string(), |m| format!(
                "{m:.1} MHz (target {:.0})",
                r.target_mhz
            )),
        );
    }
    Ok(())
}
