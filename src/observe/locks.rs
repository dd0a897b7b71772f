//! The ordered locks, watched: for each level of `sync::levels`, how long threads waited for a
//! lock and held it (histograms, µs), and a watchdog that names a lock held or waited on
//! longer than a threshold *while it still is*, with the request of the thread doing it. A
//! server that stalls explains itself in one log line and a counter
//! (`vroom_lock_watchdog_total`), instead of going quiet as Janus did.
//!
//! Only the production backend is watched (`sync::Runtime::lock_watch`); the model checkers'
//! schedules stay free of clocks. Recording takes no lock: each thread writes its own slot of
//! atomics, which the watchdog thread reads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};

use super::histogram::Histogram;

/// More than the levels of `sync::levels`; a level's rank indexes its stats.
pub const MAX_LEVELS: usize = 16;

/// What one level's locks did.
#[derive(Default)]
pub struct LevelStats {
    pub wait_us: Histogram,
    pub hold_us: Histogram,
    /// Holds and waits the watchdog reported (longer than the threshold).
    pub held_too_long: AtomicU64,
    pub waited_too_long: AtomicU64,
}

/// One lock of a thread's: `since << 1 | held`, or 0 when the thread has none of that level.
#[derive(Default)]
struct Entry {
    word: AtomicU64,
    /// The `word` last reported, so each wait and each hold is reported once.
    reported: AtomicU64,
}

/// A thread's locks and what it is doing.
#[derive(Default)]
struct Slot {
    alive: AtomicBool,
    request: ArcSwapOption<String>,
    levels: [Entry; MAX_LEVELS],
}

pub struct LockWatch {
    /// Off: the locks are not timed at all (`lock_watchdog_ms = 0`).
    enabled: AtomicBool,
    epoch: Instant,
    threshold_us: AtomicU64,
    names: [ArcSwapOption<&'static str>; MAX_LEVELS],
    levels: [LevelStats; MAX_LEVELS],
    slots: ArcSwap<Vec<Arc<Slot>>>,
    /// Every report the watchdog made, for tests and the admin API.
    pub reports: AtomicU64,
}

/// The process's watch (the production backend's locks report here).
pub static WATCH: LazyLock<LockWatch> = LazyLock::new(|| LockWatch {
    enabled: AtomicBool::new(true),
    epoch: Instant::now(),
    threshold_us: AtomicU64::new(1_000_000),
    names: Default::default(),
    levels: Default::default(),
    slots: ArcSwap::from_pointee(Vec::new()),
    reports: AtomicU64::new(0),
});

/// This thread's slot, registered on first use and marked dead when the thread ends.
struct Registered(Arc<Slot>);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.alive.store(false, Relaxed);
    }
}

thread_local! {
    static SLOT: Registered = {
        let slot = Arc::new(Slot { alive: AtomicBool::new(true), ..Slot::default() });
        WATCH.slots.rcu(|all| {
            let mut all: Vec<_> = all.iter().filter(|s| s.alive.load(Relaxed)).cloned().collect();
            all.push(slot.clone());
            all
        });
        Registered(slot)
    };
}

fn with_slot<T>(f: impl FnOnce(&Slot) -> T) -> Option<T> {
    SLOT.try_with(|s| f(&s.0)).ok()
}

/// A lock being waited for.
pub struct Waiting {
    rank: usize,
    since: u64,
}

/// A lock held; [`Held::release`] when it is released.
pub struct Held {
    watch: &'static LockWatch,
    rank: usize,
    since: u64,
}

impl Held {
    pub fn release(self) {
        self.watch.released(self)
    }
}

impl LockWatch {
    fn now_us(&self) -> u64 {
        // +1: a word of 0 means "none".
        self.epoch.elapsed().as_micros() as u64 + 1
    }

    /// Whether locks are timed. A lock taken while it was on is still accounted when released.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Relaxed)
    }

    pub fn threshold(&self) -> Duration {
        Duration::from_micros(self.threshold_us.load(Relaxed))
    }

    pub fn set_threshold(&self, threshold: Duration) {
        self.threshold_us.store(threshold.as_micros().max(1) as u64, Relaxed);
    }

    /// The name of level `rank` (as the lock order declares it), once one was taken.
    pub fn level_stats(&self) -> impl Iterator<Item = (&'static str, &LevelStats)> {
        self.names.iter().zip(&self.levels).filter_map(|(n, s)| n.load().as_ref().map(|n| (**n, s)))
    }

    /// A thread starts waiting for a lock of level `rank` named `name`.
    pub fn waiting(&self, rank: u16, name: &'static str) -> Waiting {
        let rank = usize::from(rank) % MAX_LEVELS;
        if self.names[rank].load().is_none() {
            self.names[rank].store(Some(Arc::new(name)));
        }
        let since = self.now_us();
        with_slot(|s| s.levels[rank].word.store(since << 1, Relaxed));
        Waiting { rank, since }
    }

    /// The lock waited for is now held.
    pub fn acquired(&'static self, w: Waiting) -> Held {
        let now = self.now_us();
        let waited = now - w.since;
        self.levels[w.rank].wait_us.record(waited);
        if waited > self.threshold_us.load(Relaxed) {
            with_slot(|s| self.report(s, w.rank, w.since << 1, waited));
        }
        with_slot(|s| s.levels[w.rank].word.store(now << 1 | 1, Relaxed));
        Held { watch: self, rank: w.rank, since: now }
    }

    /// The lock is released.
    fn released(&self, h: Held) {
        let held = self.now_us() - h.since;
        self.levels[h.rank].hold_us.record(held);
        with_slot(|s| {
            if held > self.threshold_us.load(Relaxed) {
                self.report(s, h.rank, h.since << 1 | 1, held);
            }
            s.levels[h.rank].word.store(0, Relaxed);
        });
    }

    /// One log line and a count for the wait or hold `word` of `slot`, unless already reported.
    fn report(&self, slot: &Slot, rank: usize, word: u64, for_us: u64) {
        if slot.levels[rank].reported.swap(word, Relaxed) == word {
            return;
        }
        let held = word & 1 == 1;
        let stats = &self.levels[rank];
        if held { &stats.held_too_long } else { &stats.waited_too_long }.fetch_add(1, Relaxed);
        self.reports.fetch_add(1, Relaxed);
        let name = self.names[rank].load().as_ref().map_or("?", |n| **n);
        let request = slot.request.load();
        tracing::warn!(
            level = name,
            state = if held { "held" } else { "waited for" },
            request = request.as_deref().map_or("none", |r| r.as_str()),
            seconds = for_us as f64 / 1e6,
            threshold_seconds = self.threshold().as_secs_f64(),
            "lock watchdog: a lock {} longer than the threshold",
            if held { "held" } else { "waited for" },
        );
    }

    /// Looks once at every thread's locks; reports those held or waited on past the threshold.
    pub fn scan(&self) {
        let now = self.now_us();
        let threshold = self.threshold_us.load(Relaxed);
        for slot in self.slots.load().iter() {
            for (rank, e) in slot.levels.iter().enumerate() {
                let word = e.word.load(Relaxed);
                if word != 0 && now.saturating_sub(word >> 1) > threshold {
                    self.report(slot, rank, word, now - (word >> 1));
                }
            }
        }
    }

    /// Starts the watchdog thread: scans a few times per threshold, for the life of the process.
    pub fn start_watchdog(&'static self, threshold: Duration) -> std::io::Result<()> {
        self.set_threshold(threshold);
        std::thread::Builder::new().name("vroom-watchdog".into()).spawn(move || loop {
            let period = (self.threshold() / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
            std::thread::sleep(period);
            self.scan();
        })?;
        Ok(())
    }
}

/// What the current thread is doing (a request, a media event), named in watchdog reports
/// while this lives.
pub struct Doing(());

/// Names what this thread is about to do; see [`Doing`].
pub fn doing(what: impl FnOnce() -> String) -> Doing {
    with_slot(|s| s.request.store(Some(Arc::new(what()))));
    Doing(())
}

impl Drop for Doing {
    fn drop(&mut self) {
        with_slot(|s| s.request.store(None));
    }
}
