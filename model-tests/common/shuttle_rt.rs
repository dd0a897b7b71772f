//! The shuttle backend of `vroom::sync::Runtime`. Test-only: production never compiles shuttle.

use std::cell::RefCell;
use std::sync::atomic::Ordering;

use vroom::sync::lockdep::HeldLocks;
use vroom::sync::{RtAtomicU64, RtMutex, RtRwLock, Runtime};

use super::Model;

pub struct Shuttle;

pub struct ShuttleMutex<T>(shuttle::sync::Mutex<T>);
pub struct ShuttleRwLock<T>(shuttle::sync::RwLock<T>);
pub struct ShuttleAtomicU64(shuttle::sync::atomic::AtomicU64);

impl Runtime for Shuttle {
    type Mutex<T: Send> = ShuttleMutex<T>;
    type RwLock<T: Send + Sync> = ShuttleRwLock<T>;
    type AtomicU64 = ShuttleAtomicU64;

    fn with_held<T>(f: impl FnOnce(&mut HeldLocks) -> T) -> T {
        shuttle::thread_local! {
            static HELD: RefCell<HeldLocks> = RefCell::new(HeldLocks::default());
        }
        HELD.with(|h| f(&mut h.borrow_mut()))
    }
}

impl Model for Shuttle {
    fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T> {
        let h = shuttle::thread::spawn(f);
        Box::new(move || h.join().expect("model thread panicked"))
    }
    fn yield_now() {
        shuttle::thread::yield_now()
    }
}

impl<T: Send> RtMutex<T> for ShuttleMutex<T> {
    type Guard<'a>
        = shuttle::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        ShuttleMutex(shuttle::sync::Mutex::new(value))
    }
    fn lock(&self) -> Self::Guard<'_> {
        self.0.lock().unwrap()
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        self.0.try_lock().ok()
    }
}

impl<T: Send + Sync> RtRwLock<T> for ShuttleRwLock<T> {
    type Read<'a>
        = shuttle::sync::RwLockReadGuard<'a, T>
    where
        T: 'a;
    type Write<'a>
        = shuttle::sync::RwLockWriteGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        ShuttleRwLock(shuttle::sync::RwLock::new(value))
    }
    fn read(&self) -> Self::Read<'_> {
        self.0.read().unwrap()
    }
    fn write(&self) -> Self::Write<'_> {
        self.0.write().unwrap()
    }
    fn try_write(&self) -> Option<Self::Write<'_>> {
        self.0.try_write().ok()
    }
}

impl RtAtomicU64 for ShuttleAtomicU64 {
    fn new(value: u64) -> Self {
        ShuttleAtomicU64(shuttle::sync::atomic::AtomicU64::new(value))
    }
    fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }
    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order)
    }
    fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
        self.0.fetch_add(value, order)
    }
    fn fetch_max(&self, value: u64, order: Ordering) -> u64 {
        self.0.fetch_max(value, order)
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
