//! Throughput of the bit-exact engine model: Monte Carlo inference of the paper's network
//! (784-300-300-300-10, freshly initialized and quantized; speed does not depend on training)
//! on the default engine configuration, in synapse-samples per second, plus the reference
//! model's speed for comparison.
//!
//! `cargo bench -p nsm-model --bench bit_exact` (env `NSM_BENCH_IMAGES`, default 100).

use std::time::Instant;

use nsm_model::data::{MnistPaths, Split};
use nsm_model::engine::config::EngineConfig;
use nsm_model::engine::qnet::quantize;
use nsm_model::engine::BitExact;
use nsm_model::forward::BinarizedSet;
use nsm_model::train::{init_network, TrainOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let images: usize = std::env::var("NSM_BENCH_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let paths = MnistPaths::in_dir(&MnistPaths::default_dir());
    let test = BinarizedSet::from_dataset(&paths.load(Split::Test)?.take(images));
    let net = init_network(&TrainOptions::default(), &test)?;
    for (name, cfg) in [
        (
            "default (8x8, 8-bit, LFSR 16, k = 1)",
            EngineConfig::default_config(),
        ),
        (
            "k = 8, threshold 77 (p = 0.30)",
            EngineConfig {
                blank_out: nsm_model::engine::config::BlankOutConfig {
                    threshold_bits: 8,
                    threshold: 77,
                },
                ..EngineConfig::default_config()
            },
        ),
        (
            "16x16 array",
            EngineConfig {
                rows: 16,
                cols: 16,
                ..EngineConfig::default_config()
            },
        ),
    ] {
        let q = quantize(&net, &cfg)?;
        let be = BitExact::new(&cfg, &q)?;
        let r = be.evaluate(&test)?;
        println!(
            "bit_exact {name}: {} images x {} passes, {:.2} s, {:.3e} synapse-samples/s",
            r.images,
            r.mc_samples,
            r.seconds,
            r.synapse_samples as f64 / r.seconds
        );
    }
    let cfg = EngineConfig::default_config();
    let q = quantize(&net, &cfg)?;
    let be = BitExact::new(&cfg, &q)?;
    let x: Vec<i8> = test
        .row(0)
        .iter()
        .map(|&v| if v > 0.0 { 1 } else { -1 })
        .collect();
    let mut states = be.seeds().to_vec();
    let t = Instant::now();
    be.infer_reference(&x, &mut states)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "reference model (one thread, one image): {:.3e} synapse-samples/s",
        be.schedule.synapse_ops_per_input() as f64 / secs
    );
    Ok(())
}
