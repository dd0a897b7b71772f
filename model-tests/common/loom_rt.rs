//! The loom backend of `vroom::sync::Runtime`. Test-only: production never compiles loom.

model_backend!(Loom, loom);

/// loom's checked cell: two accesses that overlap in some interleaving fail the model.
pub struct Cell<T>(loom::cell::UnsafeCell<T>);

// SAFETY: reached only through `with_mut`, which loom checks for overlapping accesses.
unsafe impl<T: Send> Sync for Cell<T> {}

impl<T: Send> RtCell<T> for Cell<T> {
    fn new(value: T) -> Self {
        Cell(loom::cell::UnsafeCell::new(value))
    }
    fn with_mut<U>(&self, f: impl FnOnce(*mut T) -> U) -> U {
        self.0.with_mut(f)
    }
}

/// Explores every interleaving of `f`, or every one within a preemption bound:
/// `LOOM_MAX_PREEMPTIONS` if set, else `bound` (`None`: unbounded, fully exhaustive; never below
/// 2: a bound of 1 misses real bugs). Prints how many executions it explored.
pub fn model<F: Fn() + Sync + Send + 'static>(name: &str, bound: Option<usize>, f: F) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = bound;
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    let started = std::time::Instant::now();
    b.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f()
    });
    let bound = b.preemption_bound.map_or("none (exhaustive)".to_string(), |p| p.to_string());
    println!(
        "loom {name}: {} executions, preemption bound {bound}, {:.2} s",
        runs.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}
