//! The shuttle backend of `vroom::sync::Runtime`. Test-only: production never compiles shuttle.

model_backend!(Shuttle, shuttle);

/// shuttle has no checked cell: std's, trusted to the protocol (loom checks it).
pub struct Cell<T>(std::cell::UnsafeCell<T>);

// SAFETY: reached only through `with_mut`, whose callers keep accesses apart.
unsafe impl<T: Send> Sync for Cell<T> {}

impl<T: Send> RtCell<T> for Cell<T> {
    fn new(value: T) -> Self {
        Cell(std::cell::UnsafeCell::new(value))
    }
    fn with_mut<U>(&self, f: impl FnOnce(*mut T) -> U) -> U {
        f(self.0.get())
    }
}

/// Seed of the random and PCT schedulers: `SHUTTLE_SEED` if set, else a fixed one, so a run is
/// reproducible from the seed it prints.
pub fn seed() -> u64 {
    std::env::var("SHUTTLE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x7652_6f6f_6d21)
}

/// Iterations per scheduler: `SHUTTLE_ITERATIONS` if set, else `default`.
pub fn iterations(default: usize) -> usize {
    std::env::var("SHUTTLE_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Runs `f` under `iters` random schedules and `iters` PCT (depth 3) schedules from the printed
/// seed. A failure prints shuttle's schedule string, which `shuttle::replay` replays.
pub fn check<F: Fn() + Sync + Send + 'static>(name: &str, iters: usize, f: F) {
    use shuttle::scheduler::{PctScheduler, RandomScheduler};
    let seed = seed();
    let iters = iterations(iters);
    let f = std::sync::Arc::new(f);
    let started = std::time::Instant::now();
    let g = f.clone();
    let random =
        shuttle::Runner::new(RandomScheduler::new_from_seed(seed, iters), shuttle::Config::new()).run(move || g());
    let g = f.clone();
    let pct =
        shuttle::Runner::new(PctScheduler::new_from_seed(seed, 3, iters), shuttle::Config::new()).run(move || g());
    println!(
        "shuttle {name}: {random} random + {pct} PCT(3) schedules, seed {seed}, {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
