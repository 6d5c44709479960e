//! Simulation speed of both engines on the same design: rust-hdl's simulator and Verilator on
//! the emitted Verilog, at 4x4, 8x8 and 16x16, running a 64-32-10 network (one group of
//! Monte Carlo passes, `mc_samples = rows`). Prints clock cycles per second.
//!
//! `cargo bench -p nsm-testbenches --bench engine_speed` (Verilator builds take a minute or two).

use std::time::Instant;

use nsm_model::engine::samples;
use nsm_sim::{EngineSim, LoadPath};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let work = nsm_flow::WorkDir::new(None, "engine-speed")?;
    let root = work.path();
    for n in [4usize, 8, 16] {
        let cfg = samples::benchmark_config(n);
        let q = samples::benchmark_qnet(&mut rng, &cfg);
        let inputs: Vec<Vec<i8>> = (0..400)
            .map(|_| (0..64).map(|_| if rng.gen() { 1 } else { -1 }).collect())
            .collect();

        let mut sim = EngineSim::new(&cfg)?;
        sim.load(&q, LoadPath::Backdoor)?;
        let (c0, t) = (sim.cycles, Instant::now());
        for x in inputs.iter().take(if n == 16 { 10 } else { 40 }) {
            sim.infer::<Xoshiro256PlusPlus>(x, None, 1_000_000)?;
        }
        let rust_hdl = (sim.cycles - c0) as f64 / t.elapsed().as_secs_f64();

        let dir = root.join(format!("{n}x{n}"));
        nsm_flow::sim::prepare(&dir, &cfg, &q, &inputs, &Default::default())?;
        let (summary, seconds) = nsm_flow::sim::run_verilator_timed(&dir)?;
        assert!(summary.pass, "Verilator run disagrees with the model");
        println!(
            "engine_speed {n}x{n}: rust-hdl {rust_hdl:.0} cycles/s, Verilator {:.0} cycles/s ({} cycles in {seconds:.2} s)",
            summary.cycles as f64 / seconds,
            summary.cycles
        );
    }
    Ok(())
}
