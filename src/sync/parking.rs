//! The production backend: parking_lot locks and std atomics.

use std::cell::{RefCell, UnsafeCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::lockdep::HeldLocks;
use super::{RtAtomicU64, RtCell, RtMutex, RtRwLock, RtSwap, Runtime};

/// The backend the server binary runs on.
pub struct ParkingLot;

thread_local! {
    static HELD: RefCell<HeldLocks> = RefCell::new(HeldLocks::default());
}

impl Runtime for ParkingLot {
    type Mutex<T: Send> = parking_lot::Mutex<T>;
    type RwLock<T: Send + Sync> = parking_lot::RwLock<T>;
    type AtomicU64 = AtomicU64;
    type Cell<T: Send> = Cell<T>;
    type Swap<T: Send + Sync> = ArcSwap<T>;

    fn with_held<T>(f: impl FnOnce(&mut HeldLocks) -> T) -> T {
        HELD.with(|h| f(&mut h.borrow_mut()))
    }

    fn lock_watch() -> Option<&'static crate::observe::locks::LockWatch> {
        let watch = &*crate::observe::locks::WATCH;
        watch.is_enabled().then_some(watch)
    }
}

impl<T: Send> RtMutex<T> for parking_lot::Mutex<T> {
    type Guard<'a>
        = parking_lot::MutexGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        parking_lot::Mutex::new(value)
    }
    fn lock(&self) -> Self::Guard<'_> {
        parking_lot::Mutex::lock(self)
    }
    fn try_lock(&self) -> Option<Self::Guard<'_>> {
        parking_lot::Mutex::try_lock(self)
    }
}

impl<T: Send + Sync> RtRwLock<T> for parking_lot::RwLock<T> {
    type Read<'a>
        = parking_lot::RwLockReadGuard<'a, T>
    where
        T: 'a;
    type Write<'a>
        = parking_lot::RwLockWriteGuard<'a, T>
    where
        T: 'a;
    fn new(value: T) -> Self {
        parking_lot::RwLock::new(value)
    }
    fn read(&self) -> Self::Read<'_> {
        parking_lot::RwLock::read(self)
    }
    fn write(&self) -> Self::Write<'_> {
        parking_lot::RwLock::write(self)
    }
    fn try_write(&self) -> Option<Self::Write<'_>> {
        parking_lot::RwLock::try_write(self)
    }
}

impl RtAtomicU64 for AtomicU64 {
    fn new(value: u64) -> Self {
        AtomicU64::new(value)
    }
    fn load(&self, order: Ordering) -> u64 {
        AtomicU64::load(self, order)
    }
    fn store(&self, value: u64, order: Ordering) {
        AtomicU64::store(self, value, order)
    }
    fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
        AtomicU64::fetch_add(self, value, order)
    }
    fn fetch_max(&self, value: u64, order: Ordering) -> u64 {
        AtomicU64::fetch_max(self, value, order)
    }
}

/// std's `UnsafeCell`, shared between threads: the ring's protocol keeps each slot's accesses
/// apart (loom checks that protocol, `model-tests`).
pub struct Cell<T>(UnsafeCell<T>);

// SAFETY: a `Cell` is only reached through `with_mut`, whose callers (the ring) keep every
// access to one value exclusive; the value itself crosses threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Cell<T> {}

impl<T: Send> RtCell<T> for Cell<T> {
    fn new(value: T) -> Self {
        Cell(UnsafeCell::new(value))
    }
    fn with_mut<U>(&self, f: impl FnOnce(*mut T) -> U) -> U {
        f(self.0.get())
    }
}

impl<T: Send + Sync> RtSwap<T> for ArcSwap<T> {
    type Loaded<'a>
        = arc_swap::Guard<Arc<T>>
    where
        T: 'a;
    fn new(value: Arc<T>) -> Self {
        ArcSwap::new(value)
    }
    fn load(&self) -> Self::Loaded<'_> {
        ArcSwap::load(self)
    }
    fn store(&self, value: Arc<T>) {
        ArcSwap::store(self, value)
    }
}
