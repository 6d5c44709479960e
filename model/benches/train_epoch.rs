//! Training-speed benchmark: seconds per epoch of the default PI-MNIST network
//! (784-300-300-300-10, p = 0.5, minibatch 100) on the 8,000-image training split, plus the
//! Monte Carlo inference rate in synapse-samples per second.
//!
//! `cargo bench -p nsm-model --bench train_epoch` (env `NSM_BENCH_EPOCHS`, default 3;
//! `NSM_BENCH_MODEL` = nsm | gnsm | stnn).

use std::time::Instant;

use nsm_model::data::{MnistPaths, Split};
use nsm_model::equations::Noise;
use nsm_model::eval::{evaluate_mc, EvalOptions};
use nsm_model::forward::BinarizedSet;
use nsm_model::net::ModelKind;
use nsm_model::train::{init_network, TrainOptions, Trainer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs: usize = std::env::var("NSM_BENCH_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let model = match std::env::var("NSM_BENCH_MODEL").as_deref() {
        Ok("gnsm") => ModelKind::Gnsm,
        Ok("stnn") => ModelKind::Stnn,
        _ => ModelKind::Nsm,
    };
    let noise = match model {
        ModelKind::Gnsm => Noise::Gaussian { sigma: 0.5 },
        _ => Noise::BlankOut { transmit_p: 0.5 },
    };
    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let train = BinarizedSet::from_dataset(&paths.load(Split::Train)?);
    let test = BinarizedSet::from_dataset(&paths.load(Split::Test)?);
    let opts = TrainOptions {
        model,
        noise,
        epochs,
        ..TrainOptions::default()
    };
    let net = init_network(&opts, &train)?;
    let mut trainer = Trainer::new(net, opts.clone())?;
    println!(
        "train_epoch: model {model}, network {:?}, {} training images, batch {}, {} threads",
        trainer.net.widths(),
        train.len(),
        opts.batch_size,
        rayon::current_num_threads()
    );
    let mut times = Vec::new();
    for e in 0..epochs {
        let r = trainer.train_epoch(&train, e, &mut |_, _| {})?;
        println!(
            "  epoch {e}: {:.3} s  (loss {:.4}, sampled train error {:.2}%)",
            r.seconds, r.mean_loss, r.train_error_pct
        );
        times.push(r.seconds);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "seconds_per_epoch (median of {epochs}): {:.3}",
        times[times.len() / 2]
    );

    // Monte Carlo inference: 200 test images x 100 passes.
    let images = 200;
    let sub = test.take(images);
    let t = Instant::now();
    let r = evaluate_mc(&trainer.net, &sub, EvalOptions::default())?;
    let secs = t.elapsed().as_secs_f64();
    let widths = trainer.net.widths();
    let synapses: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    let samples = (images * r.mc_samples * synapses) as f64;
    println!(
        "mc_inference: {images} images x {} passes in {secs:.2} s = {:.3e} synapse-samples/s",
        r.mc_samples,
        samples / secs
    );
    Ok(())
}
