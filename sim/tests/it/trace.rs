//! The VCD trace: rust-hdl's VCD writer unwraps every write, so a writer that fails (a full
//! disk) must end the simulation with an error, never a panic.

use nsm_model::engine::samples::{self, Limits, Weights};
use nsm_sim::{EngineSim, LoadPath, SimError};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Accepts `budget` bytes, then fails as a full disk does.
struct FullAfter {
    budget: usize,
    written: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Write for FullAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.budget == 0 {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.written.set(self.written.get() + n);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_trace_writer_is_an_error_not_a_panic() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let cfg = samples::random_config(&mut rng, &Limits::TINY);
    let q = samples::random_qnet(&mut rng, &cfg, &Limits::TINY, Weights::Random);
    let x = samples::random_input(&mut rng, q.n_inputs());
    // full at once (the header), after some cycles, and only at the final flush
    for budget in [0, 20_000, usize::MAX] {
        let written = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut sim = EngineSim::new(&cfg).unwrap();
        sim.load(&q, LoadPath::Backdoor).unwrap();
        let started = sim.trace_to(Box::new(FullAfter {
            budget,
            written: written.clone(),
        }));
        let ran = started.and_then(|()| {
            sim.infer::<Xoshiro256PlusPlus>(&x, None, 1_000_000)
                .map(|_| ())
        });
        let finished = ran.and_then(|()| sim.finish_trace());
        if budget == usize::MAX {
            finished.unwrap();
            assert!(written.get() > 1000);
        } else {
            let e = finished.unwrap_err();
            assert!(matches!(e, SimError::Vcd(_)), "{e}");
            assert!(e.to_string().contains("could not be written"), "{e}");
            // a later finish reports nothing more, and the engine runs on untraced
            sim.finish_trace().unwrap();
            sim.infer::<Xoshiro256PlusPlus>(&x, None, 1_000_000)
                .unwrap();
        }
    }
}
