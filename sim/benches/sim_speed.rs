//! Simulation speed of the rust-hdl engine in clock cycles per second, at 4x4, 8x8 and 16x16,
//! running a 64-32-10 network with one group of Monte Carlo passes (`mc_samples = rows`).
//!
//! `cargo bench -p nsm-sim --bench sim_speed` (env `NSM_BENCH_SECONDS`, default 3 per size).

use std::time::Instant;

use nsm_model::engine::samples;
use nsm_sim::{EngineSim, LoadPath};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::var("NSM_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for n in [4usize, 8, 16] {
        let cfg = samples::benchmark_config(n);
        let q = samples::benchmark_qnet(&mut rng, &cfg);
        let mut sim = EngineSim::new(&cfg)?;
        sim.load(&q, LoadPath::Backdoor)?;
        let x: Vec<i8> = (0..64).map(|_| if rng.gen() { 1 } else { -1 }).collect();
        let c0 = sim.cycles;
        let p0 = sim.passes;
        let f0 = sim.falling_passes;
        let t = Instant::now();
        let mut inferences = 0;
        while t.elapsed().as_secs_f64() < seconds {
            sim.infer::<Xoshiro256PlusPlus>(&x, None, 1_000_000)?;
            inferences += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "sim_speed rust-hdl {n}x{n}: {:.0} cycles/s ({} cycles, {inferences} inferences in {secs:.2} s, {:.1} settle passes per cycle, {:.1} of them before the rising edge)",
            (sim.cycles - c0) as f64 / secs,
            sim.cycles - c0,
            (sim.passes - p0) as f64 / (sim.cycles - c0) as f64,
            (sim.falling_passes - f0) as f64 / (sim.cycles - c0) as f64
        );
    }
    Ok(())
}
