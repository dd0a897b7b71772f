//! The one place in vroom that names a concurrency backend.
//!
//! The core (`crate::core`) is generic over [`Runtime`]: production instantiates it with
//! [`ParkingLot`]; the model tests instantiate the *same code* with loom and shuttle backends
//! that live in `model-tests/` (so the production binary carries no model-checker code).
//!
//! The core never touches a backend lock directly. It uses the ordered wrappers of [`order`],
//! whose lock levels are declared once in [`levels`]: taking locks out of order does not
//! compile, and [`lockdep`] checks at run time (debug and test builds) what types cannot see.
//!
//! `Arc` is `std::sync::Arc` for every backend: shuttle's `Arc` *is* std's, and loom's `Arc`
//! turns a reported deadlock into a process abort (measured, see `specs/lock-order.md`).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub mod inbox;
pub mod levels;
pub mod lockdep;
pub mod order;
mod parking;
pub mod queue;
pub mod ring;
pub mod spool;

pub use parking::ParkingLot;

/// A mutual-exclusion lock of some backend. Never blocks forever on its own: the lock order
/// (see [`order`]) is what keeps every wait finite.
pub trait RtMutex<T>: Send + Sync {
    type Guard<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    fn new(value: T) -> Self;
    fn lock(&self) -> Self::Guard<'_>;
    fn try_lock(&self) -> Option<Self::Guard<'_>>;
}

/// A reader-writer lock of some backend.
pub trait RtRwLock<T>: Send + Sync {
    type Read<'a>: Deref<Target = T>
    where
        Self: 'a;
    type Write<'a>: DerefMut<Target = T>
    where
        Self: 'a;
    fn new(value: T) -> Self;
    fn read(&self) -> Self::Read<'_>;
    fn write(&self) -> Self::Write<'_>;
    fn try_write(&self) -> Option<Self::Write<'_>>;
}

/// A 64-bit atomic of some backend (loom and shuttle schedule around its operations).
pub trait RtAtomicU64: Send + Sync {
    fn new(value: u64) -> Self;
    fn load(&self, order: Ordering) -> u64;
    fn store(&self, value: u64, order: Ordering);
    fn fetch_add(&self, value: u64, order: Ordering) -> u64;
    fn fetch_max(&self, value: u64, order: Ordering) -> u64;
}

/// A cell whose owner hands out access by a protocol of its own (the lock-free ring's slots):
/// loom checks that no two accesses overlap, the other backends trust the protocol.
pub trait RtCell<T>: Send + Sync {
    fn new(value: T) -> Self;
    /// Runs `f` on a pointer to the value. The caller keeps every access exclusive; through
    /// loom's cell, two that overlap fail the model.
    fn with_mut<U>(&self, f: impl FnOnce(*mut T) -> U) -> U;
}

/// A shared value replaced whole and read without a lock: readers get the value as it was at
/// some instant, writers publish a new one (the media shards' fan-out snapshots).
pub trait RtSwap<T>: Send + Sync {
    /// A loaded value: production's avoids touching the shared reference count (which every
    /// shard reading the same snapshot would contend on).
    type Loaded<'a>: Deref<Target = Arc<T>>
    where
        Self: 'a;
    fn new(value: Arc<T>) -> Self;
    fn load(&self) -> Self::Loaded<'_>;
    fn store(&self, value: Arc<T>);
}

/// A concurrency backend: the primitives the core is built from.
pub trait Runtime: Sized + Send + Sync + 'static {
    type Mutex<T: Send>: RtMutex<T>;
    type RwLock<T: Send + Sync>: RtRwLock<T>;
    type AtomicU64: RtAtomicU64;
    type Cell<T: Send>: RtCell<T>;
    type Swap<T: Send + Sync>: RtSwap<T>;

    /// Runs `f` on the calling thread's record of held locks. Each backend keeps it in its own
    /// thread-local storage, because loom and shuttle threads are coroutines on one OS thread.
    fn with_held<T>(f: impl FnOnce(&mut lockdep::HeldLocks) -> T) -> T;

    /// Where this backend's ordered locks report how long they were waited for and held
    /// (`observe::locks`): the production backend's do; the model checkers' schedules stay
    /// free of clocks.
    fn lock_watch() -> Option<&'static crate::observe::locks::LockWatch> {
        None
    }
}
