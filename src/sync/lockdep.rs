//! Run-time lock checks for what the types cannot see (debug and test builds only).
//!
//! The type-level order of [`super::order`] covers every acquisition made through one token
//! chain. Two things escape it: a fresh root token made while the thread holds a lock (a core
//! entry point called from under a lock, i.e. re-entry), and any future escape hatch that
//! takes two locks of one level. Each thread keeps a stack of the ordered locks it holds; every
//! acquisition must rank strictly after the top of the stack, and a root token may only be made
//! on an empty stack. Release builds compile all of this away.

/// One lock the thread holds.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub rank: u16,
    pub name: &'static str,
    pub addr: usize,
}

/// The ordered locks the current thread holds, oldest first.
#[derive(Default, Debug)]
pub struct HeldLocks {
    stack: Vec<Held>,
}

impl HeldLocks {
    pub fn held(&self) -> &[Held] {
        &self.stack
    }
}

#[track_caller]
pub(crate) fn acquired<R: super::Runtime>(rank: u16, name: &'static str, addr: usize) {
    if cfg!(debug_assertions) {
        R::with_held(|h| {
            if let Some(top) = h.stack.last() {
                assert!(
                    rank > top.rank,
                    "lock order violated: taking {name} (level {rank}) while holding {} (level {}); \
                     see specs/lock-order.md",
                    top.name,
                    top.rank
                );
            }
            h.stack.push(Held { rank, name, addr });
        });
    }
}

pub(crate) fn released<R: super::Runtime>(addr: usize) {
    if cfg!(debug_assertions) {
        R::with_held(|h| {
            if let Some(i) = h.stack.iter().rposition(|l| l.addr == addr) {
                h.stack.remove(i);
            }
        });
    }
}

/// Panics (debug builds) if the calling thread holds any ordered lock.
#[track_caller]
pub fn assert_none_held<R: super::Runtime>(doing: &str) {
    if cfg!(debug_assertions) {
        R::with_held(|h| {
            if let Some(top) = h.stack.last() {
                panic!(
                    "{doing} while holding {} (level {}): nothing may re-enter the core or do I/O \
                     under a lock; see specs/lock-order.md",
                    top.name, top.rank
                );
            }
        });
    }
}
