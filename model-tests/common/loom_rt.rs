//! The loom backend of `vroom::sync::Runtime`. Test-only: production never compiles loom.

use std::cell::RefCell;
use std::sync::atomic::Ordering;

use vroom::sync::lockdep::HeldLocks;
use vroom::sync::{RtAtomicU64, RtMutex, RtRwLock, Runtime};

use super::Model;

pub struct Loom;

pub struct LoomMutex<T>(loom::sync::Mutex<T>);
pub struct LoomRwLock<T>(loom::sync::RwLock<T>);
pub struct LoomAtomicU64(loom::sync::atomic::AtomicU64);

impl Runtime for Loom {
    type Mutex<T: Send> = LoomMutex<T>;
    type RwLock<T: Send + Sync> = LoomRwLock<T>;
    type AtomicU64 = LoomAtomicU64;

    fn with_held<T>(f: impl FnOnce(&mut HeldLocks) -> T) -> T {
        loom::thread_local! {
            static HELD: RefCell<HeldLocks> = RefCell::new(HeldLocks::default());
        }
        HELD.with(|h| f(&mut h.borrow_mut()))
    }
}

impl Model for Loom {
    fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T> {
        let h = loom::thread::spawn(f);
        Box::new(move || h.join().expect("model thread panicked"))
    }
    fn yield_now() {
        loom::thread::yield_now()
    }
}

impl<T: Send> RtMutex<T> for LoomMutex<T> {
    type Guard<'a>
        = loom::sync::MutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        LoomMutex(loom::sync::Mutex::new(value))
    }
    #[track_caller]
    fn lock(&self) -> Self::Guard<'_> {
        self.0.lock().unwrap()
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        self.0.try_lock().ok()
    }
}

impl<T: Send + Sync> RtRwLock<T> for LoomRwLock<T> {
    type Read<'a>
        = loom::sync::RwLockReadGuard<'a, T>
    where
        T: 'a;
    type Write<'a>
        = loom::sync::RwLockWriteGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        LoomRwLock(loom::sync::RwLock::new(value))
    }
    #[track_caller]
    fn read(&self) -> Self::Read<'_> {
        self.0.read().unwrap()
    }
    #[track_caller]
    fn write(&self) -> Self::Write<'_> {
        self.0.write().unwrap()
    }
    fn try_write(&self) -> Option<Self::Write<'_>> {
        self.0.try_write().ok()
    }
}

impl RtAtomicU64 for LoomAtomicU64 {
    fn new(value: u64) -> Self {
        LoomAtomicU64(loom::sync::atomic::AtomicU64::new(value))
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
