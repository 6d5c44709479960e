//! `nsm train` and `nsm eval`: the float golden model (`eval --qnet` hands over to the
//! bit-exact engine model in [`super::engine`]).

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use nsm_model::data::Split;
use nsm_model::equations::Noise;
use nsm_model::eval::{check_mc_samples, evaluate_mc, EvalOptions, DEFAULT_MC_SAMPLES};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::{ModelKind, Network};
use nsm_model::train::{init_network, TrainOptions, Trainer, MAX_LAYER_WIDTH};
use serde_json::json;

use super::outputs;
use crate::flags::{EvalArgs, TrainArgs};

pub fn train(a: TrainArgs) -> Result<()> {
    let model: ModelKind = a.model.into();
    let noise = match model {
        ModelKind::Gnsm => Noise::Gaussian { sigma: a.sigma },
        _ => Noise::BlankOut {
            transmit_p: a.transmit_p,
        },
    };
    // Validate --transmit-p even for the StNN, which ignores it: a bad value is a typo.
    Noise::BlankOut {
        transmit_p: a.transmit_p,
    }
    .validate()
    .context("--transmit-p")?;
    if let Some(&h) = a.hidden.iter().find(|&&h| h > MAX_LAYER_WIDTH) {
        bail!("--hidden {h}: a layer has at most {MAX_LAYER_WIDTH} neurons");
    }
    let opts = TrainOptions {
        model,
        noise,
        hidden: a.hidden.clone(),
        epochs: a.epochs,
        batch_size: a.batch_size,
        learning_rate: a.lr,
        lr_decay: a.lr_decay,
        input_noise: a.input_noise,
        seed: a.seed,
        weight_bits: a.weight_bits,
    };
    opts.validate()?;
    let mut out = outputs(a.data.files(Split::Train))?;
    out.primary("--out", &a.out)?;
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Train)?);
    let net = init_network(&opts, &data)?;
    let mut trainer = Trainer::new(net, opts.clone())?;
    if !a.quiet {
        eprintln!(
            "training {model} {:?} on {} images for {} epochs (seed {})",
            trainer.net.widths(),
            data.len(),
            opts.epochs,
            opts.seed
        );
    }
    let mut history = Vec::new();
    for epoch in 0..opts.epochs {
        let bar = if a.quiet {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::new(data.len().div_ceil(opts.batch_size.max(1)) as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix:>3} [{bar:30}] {pos}/{len} batches {elapsed}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_prefix(format!("{}", epoch + 1));
            b
        };
        let report =
            trainer.train_epoch(&data, epoch, &mut |done, _| bar.set_position(done as u64))?;
        bar.finish_and_clear();
        if !a.quiet {
            eprintln!(
                "epoch {:>3}/{}: loss {:.4}, sampled train error {:.2}%, lr {:.2e}, {:.2} s",
                epoch + 1,
                opts.epochs,
                report.mean_loss,
                report.train_error_pct,
                report.learning_rate,
                report.seconds
            );
        }
        history.push(report);
    }
    let mut net = trainer.network();
    net.training = Some(json!({
        "tool": concat!("nsm ", env!("CARGO_PKG_VERSION")),
        "options": opts,
        "train_images": data.len(),
        "epochs": history,
    }));
    net.validate()?;
    out.write(&a.out, net.to_json().as_bytes())?;
    out.commit()?;
    if !a.quiet {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}

pub fn eval(a: EvalArgs) -> Result<()> {
    if a.mc == Some(0) {
        bail!("--mc must be at least 1");
    }
    if let Some(qpath) = &a.qnet {
        return super::engine::eval_bit_exact(&a, qpath);
    }
    let net_path = a.net.clone().expect("clap requires --net without --qnet");
    let mut net = Network::load(&net_path)?;
    if let Some(mc) = a.mc {
        check_mc_samples(&net, mc).with_context(|| format!("--mc {mc}"))?;
    }
    if let Some(s) = a.scale {
        if !(s.is_finite() && s > 0.0) {
            bail!("--scale must be a positive number, got {s}");
        }
        net = net
            .scaled_checked(s)
            .map_err(|why| anyhow!("--scale {} {why}", short_number(s)))?;
    }
    let data = BinarizedSet::from_dataset(&a.data.load(Split::Test)?);
    let report = evaluate_mc(
        &net,
        &data,
        EvalOptions {
            mc_samples: a.mc.unwrap_or(DEFAULT_MC_SAMPLES),
            seed: a.seed,
        },
    )?;
    if a.json {
        println!(
            "{}",
            json!({
                "net": net_path,
                "engine": "float",
                "model": net.model,
                "test_error_pct": report.test_error_pct,
                "errors": report.errors,
                "images": report.images,
                "mc_samples": report.mc_samples,
                "scale": a.scale.unwrap_or(1.0),
                "seed": a.seed,
            })
        );
    } else {
        println!(
            "test error {:.2}% ({} of {} images, {} Monte Carlo samples{})",
            report.test_error_pct,
            report.errors,
            report.images,
            report.mc_samples,
            a.scale
                .map(|s| format!(", rows scaled by {}", short_number(s)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// A flag's number as a user would write it: `0.1`, `1e39` (Rust's `{}` writes every digit
/// of `1e39`).
fn short_number(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}
