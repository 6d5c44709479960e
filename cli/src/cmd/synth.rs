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
    let loaded = configs::load(a.config.as_deref(), a.target.default_config())?;
    let base = loaded.cfg.clone();
    let name = target.name();
    let file = |ext: &str| a.out_dir.join(format!("synth-{name}.{ext}"));
    let md_path = file("md");
    let mut out = super::outputs(a.config.iter())?;
    out.folder("--out-dir", &a.out_dir)?;
    out.file("--out-dir", &file("svg"))?;
    out.file("--out-dir", &file("json"))?;
    out.primary("--out-dir", &md_path)?;
    let opts = SynthOptions {
        cells: a.cells.map(Into::into),
        seed: a.seed,
    };
    // every size is checked, and every tool found, before the first synthesis
    let mut cfgs = Vec::new();
    for &n in &sizes {
        let cfg = EngineConfig {
            rows: n,
            cols: n,
            ..base.clone()
        };
        cfg.validate()
            .with_context(|| format!("the {n}x{n} variant of {}", loaded.label))?;
        nsm_hdl::check_supported(&cfg)
            .with_context(|| format!("--sizes {n}: the {n}x{n} variant of {}", loaded.label))?;
        cfgs.push(cfg);
    }
    nsm_flow::synth::check_tools(target, Pnr::Run { seed: a.seed })?;
    let work = WorkDir::new(a.work_dir.as_deref(), "synth-report")?;
    let mut reports = Vec::new();
    for cfg in &cfgs {
        let n = cfg.rows;
        eprintln!("synthesizing {n}x{n} for {} ...", target.name());
        let r = synthesize(cfg, target, &work.path().join(format!("{n}x{n}")), &opts)?;
        eprintln!(
            "  {} LUTs, {} FFs, Fmax {}",
            r.luts,
            r.ffs,
            r.fmax_mhz.map_or("-".into(), |f| format!("{f:.1} MHz"))
        );
        reports.push(r);
    }
    drop(work);
    let source = SeriesSource {
        config_file: loaded.file_name.clone(),
        sizes: sizes.clone(),
        config_arg: a.config.as_ref().map(|p| p.display().to_string()),
        seed: a.seed,
        cells: opts.cells,
    };
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
            "{} {}x{}: {} LUTs ({:.1} per PE; {:.1} with the carry cells' LUTs), {} FFs, {} carries, {} block RAMs, {} DSPs, Fmax {}, {}",
            r.target,
            r.rows,
            r.cols,
            r.luts,
            r.luts_per_pe,
            r.lut4s_total_per_pe,
            r.ffs,
            r.carries,
            r.brams,
            r.dsps,
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
