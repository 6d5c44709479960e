//! `nsm train-onchip`: fine-tune (or train the output layer of) a quantized network with the
//! fixed-point learning mirror, the update unit's outputs computed by the golden model, the
//! rust-hdl unit or the Verilator-compiled Verilog; optionally the float trainer on the same
//! images for comparison.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nsm_flow::plot::{side_by_side, Chart};
use nsm_flow::WorkDir;
use serde_json::json;

use nsm_model::data::Split;
use nsm_model::engine::qnet::QNet;
use nsm_model::eval::{evaluate_mc, EvalOptions};
use nsm_model::forward::{BinarizedSet, NoiseKey, Pass};
use nsm_model::learn::mirror::{train, CurvePoint, Golden, Mirror, RowEngine, TrainPlan};
use nsm_model::learn::{LearnConfig, UpdateSpec};
use nsm_model::net::Network;
use nsm_model::seeds::stream_rng;
use nsm_model::train::{gradients, Adam};

use crate::configs;
use crate::flags::{DataArgs, InitOutputArg, TrainOnchipArgs, UpdateEngineArg};

fn binarized(a: &DataArgs, split: Split, limit: Option<usize>) -> Result<BinarizedSet> {
    let set = BinarizedSet::from_dataset(&a.load(split)?);
    Ok(match limit {
        Some(0) => bail!("limits must be at least 1"),
        Some(n) => set.take(n.min(set.len())),
        None => set,
    })
}

/// The float comparison: the same images in the same order, Adam on one image per step.
fn float_curve(
    a: &TrainOnchipArgs,
    train_set: &BinarizedSet,
    test: &BinarizedSet,
    mc: usize,
    eval_every: u64,
) -> Result<Vec<CurvePoint>> {
    use rand::seq::SliceRandom;
    use rand::Rng;
    let path = a.net.as_ref().expect("called with --net");
    let mut net = Network::load(path)?;
    if a.init_output == InitOutputArg::Random {
        let mut rng = stream_rng(a.seed, &[nsm_model::seeds::domain::ONCHIP, 3]);
        let r = 1.0 / (net.output.n_in as f32).sqrt();
        for v in net.output.w.iter_mut() {
            *v = rng.gen_range(-r..=r);
        }
        net.output.b.fill(0.0);
    }
    let eval = |net: &Network| -> Result<f64> {
        Ok(evaluate_mc(
            net,
            test,
            EvalOptions {
                mc_samples: mc,
                seed: 0,
            },
        )?
        .test_error_pct)
    };
    let mut curve = vec![CurvePoint {
        step: 0,
        test_error_pct: eval(&net)?,
        mean_loss: f64::NAN,
    }];
    let mut adam = Adam::new(&net);
    let n = train_set.len() as u64;
    let mut order: Vec<usize> = Vec::new();
    let (mut loss, mut count) = (0f64, 0u64);
    for s in 0..a.steps {
        if s % n == 0 {
            // the mirror's order (nsm_model::learn::mirror::train)
            order = (0..train_set.len()).collect();
            order.shuffle(&mut stream_rng(
                a.seed,
                &[nsm_model::seeds::domain::ONCHIP, 2, s / n],
            ));
        }
        let i = order[(s % n) as usize];
        let key = NoiseKey {
            seed: a.seed,
            domain: nsm_model::seeds::domain::ONCHIP,
            a: 4,
            b: s,
        };
        let mut g = gradients(
            &net,
            train_set.row(i),
            &train_set.labels[i..i + 1],
            Pass::Sample,
            key,
        );
        loss += g.loss;
        count += 1;
        adam.step(&mut net, &mut g.grads, a.float_lr);
        if (s + 1) % eval_every == 0 || s + 1 == a.steps {
            curve.push(CurvePoint {
                step: s + 1,
                test_error_pct: eval(&net)?,
                mean_loss: loss / count as f64,
            });
            loss = 0.0;
            count = 0;
        }
    }
    Ok(curve)
}

/// The learning configuration at `path`, or the defaults.
pub fn load_learn(path: &Option<PathBuf>) -> Result<LearnConfig> {
    Ok(match path {
        Some(p) => LearnConfig::load(p)?,
        None => LearnConfig::default(),
    })
}

/// How a refusal of the learning formats names them: the `--learn` file, or the built-in
/// defaults.
pub fn learn_origin(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("--learn {}", p.display()),
        None => "the built-in learning formats".to_string(),
    }
}

pub fn train_onchip(a: TrainOnchipArgs) -> Result<()> {
    if a.steps == 0 {
        bail!("--steps must be at least 1");
    }
    // the outputs are checked, and the tools found, before any step; the trained network
    // goes into place last
    let mut out = super::outputs(
        a.data
            .files(Split::Train)
            .into_iter()
            .chain(a.data.files(Split::Test)),
    )?;
    out.inputs(
        [
            Some(&a.qnet),
            Some(&a.config),
            a.learn.as_ref(),
            a.net.as_ref(),
        ]
        .into_iter()
        .flatten(),
    )?;
    if let Some(p) = &a.curves {
        out.file("--curves", p)?;
    }
    if let Some(p) = &a.plot {
        out.file("--plot", p)?;
    }
    if let Some(p) = &a.out {
        out.primary("--out", p)?;
    }
    if a.engine == UpdateEngineArg::Verilator {
        nsm_flow::Tool::VERILATOR.path()?;
    }
    let cfg = configs::load_required(&a.config)?;
    let q = QNet::load(&a.qnet, &cfg)?;
    let mut learn = load_learn(&a.learn)?;
    if let Some(s) = a.lr_shift {
        learn.lr_shift = s;
        learn.lr_a_shift = s;
        learn.lr_out_shift = s;
    }
    if let Some(s) = a.logit_shift {
        learn.logit_shift = s;
    }
    let spec = UpdateSpec::new(&cfg, &learn).with_context(|| {
        let flags = if a.lr_shift.is_some() || a.logit_shift.is_some() {
            " with --lr-shift/--logit-shift"
        } else {
            ""
        };
        format!("{}{flags}", learn_origin(&a.learn))
    })?;
    let train_set = binarized(&a.data, Split::Train, a.train_limit)?;
    let test = binarized(&a.data, Split::Test, a.test_limit)?;
    let eval_every = a.eval_every.unwrap_or((a.steps / 8).max(1)).max(1);
    let mut mirror = Mirror::new(&cfg, &q, &spec)?;
    if a.init_output == InitOutputArg::Random {
        mirror.randomize_output(a.seed, 8);
    }
    // declared before the engine, so the folder outlives the Verilator build in it
    let mut work: Option<WorkDir> = None;
    let mut engine: Box<dyn RowEngine> = match a.engine {
        UpdateEngineArg::Golden => Box::new(Golden),
        UpdateEngineArg::RustHdl => {
            nsm_hdl::update::check_ports(&spec)?;
            Box::new(nsm_hdl::update::RustHdlEngine::new(&spec))
        }
        UpdateEngineArg::Verilator => {
            let w = work.insert(WorkDir::new(a.work_dir.as_deref(), "update")?);
            let bench = nsm_flow::sim::update::UpdateBench::new(
                w.path(),
                &spec,
                nsm_flow::sim::Simulator::Verilator,
            );
            match bench {
                Ok(b) => Box::new(b),
                Err(e) => {
                    // the error names the folder's replay script: keep it
                    if let Some(w) = work.take() {
                        w.keep();
                    }
                    return Err(e.into());
                }
            }
        }
    };
    let check = a.engine != UpdateEngineArg::Golden;
    let start = std::time::Instant::now();
    let (mut weight_clips, mut flags, mut rows) = (0u64, 0u32, 0u64);
    let quiet = a.json;
    let steps = a.steps;
    let curve = train(
        &mut mirror,
        &train_set,
        &test,
        TrainPlan {
            steps,
            eval_every,
            seed: a.seed,
            check,
        },
        engine.as_mut(),
        &mut |s, r| {
            weight_clips += r.weight_clips;
            flags |= r.flags;
            rows += r.rows as u64;
            if !quiet && (s % 500 == 0 || s == steps) {
                eprint!("\rstep {s}/{steps}");
            }
        },
    )?;
    if !quiet {
        eprintln!();
    }
    let seconds = start.elapsed().as_secs_f64();
    let float = match &a.net {
        Some(_) => Some(float_curve(
            &a,
            &train_set,
            &test,
            cfg.mc_samples,
            eval_every,
        )?),
        None => None,
    };
    if let Some(p) = &a.out {
        out.write(p, mirror.qnet().to_json().as_bytes())?;
    }
    let before = curve[0].test_error_pct;
    let after = curve.last().expect("at least two points").test_error_pct;
    let curves = json!({
        "fixed_point": curve,
        "float": float,
    });
    if let Some(p) = &a.curves {
        out.write(p, serde_json::to_string_pretty(&curves)?.as_bytes())?;
    }
    if let Some(p) = &a.plot {
        let pts = |c: &[CurvePoint]| -> Vec<(f64, f64)> {
            c.iter()
                .map(|p| (p.step as f64, p.test_error_pct))
                .collect()
        };
        let fixed_pts = pts(&curve);
        let float_pts = float.as_deref().map(pts);
        let ymax = fixed_pts
            .iter()
            .chain(float_pts.iter().flatten())
            .map(|&(_, y)| y)
            .fold(1.0f64, f64::max);
        let chart = |title, lines| Chart {
            title,
            x_label: "training images (steps)",
            y_label: "test error (%)",
            x_range: (0.0, steps as f64),
            y_range: (0.0, (ymax * 1.1).ceil().min(100.0)),
            lines,
            dots: vec![],
        };
        let left = chart(
            "Fixed point: on-chip rule (bit-exact)",
            vec![("fixed point, MC test error", fixed_pts.clone())],
        );
        let svg = match float_pts {
            Some(f) => side_by_side(
                &left,
                &chart(
                    "Float: model/src/train.rs, Adam",
                    vec![("float, MC test error", f)],
                ),
            ),
            None => left.to_svg(),
        };
        out.write(p, svg.as_bytes())?;
    }
    out.commit()?;
    let engine_name = match a.engine {
        UpdateEngineArg::Golden => "golden",
        UpdateEngineArg::RustHdl => "rust-hdl",
        UpdateEngineArg::Verilator => "verilator",
    };
    if a.json {
        println!(
            "{}",
            json!({
                "engine": engine_name,
                "steps": steps,
                "test_error_before_pct": before,
                "test_error_after_pct": after,
                "mismatches_vs_golden": mirror.mismatches,
                "compared": check,
                "rows_updated": rows,
                "weight_clips": weight_clips,
                "saturation_flags": flags,
                "train_images": train_set.len(),
                "test_images": test.len(),
                "mc_samples": cfg.mc_samples,
                "init_output": match a.init_output {
                    InitOutputArg::Keep => "keep",
                    InitOutputArg::Random => "random",
                },
                "seconds": seconds,
                "learn": spec.learn,
                "curves": curves,
            })
        );
    } else {
        println!(
            "test error {before:.2}% -> {after:.2}% after {steps} on-chip steps ({engine_name} update unit, {} mismatches vs golden, {weight_clips} weight clips, {seconds:.1} s)",
            mirror.mismatches
        );
        if let Some(f) = &float {
            println!(
                "float comparison: {:.2}% -> {:.2}%",
                f[0].test_error_pct,
                f.last().expect("points").test_error_pct
            );
        }
    }
    Ok(())
}
