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
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};

use super::histogram::{Counts, Histogram};

/// More than the levels of `sync::levels`; a level's rank indexes its stats.
pub const MAX_LEVELS: usize = 16;

/// How long one level's locks were waited for and held (µs).
#[derive(Default)]
struct Times {
    wait_us: Histogram,
    hold_us: Histogram,
}

impl Times {
    fn add_to(&self, wait: &mut Counts, hold: &mut Counts) {
        for (into, from) in [(wait, self.wait_us.snapshot()), (hold, self.hold_us.snapshot())] {
            into.sum += from.sum;
            into.buckets.iter_mut().zip(&from.buckets).for_each(|(a, b)| *a += b);
        }
    }
}

/// What one level's locks did, summed over every thread.
pub struct LevelStats {
    pub name: &'static str,
    pub wait_us: Counts,
    pub hold_us: Counts,
    /// Holds and waits the watchdog reported (longer than the threshold).
    pub held_too_long: u64,
    pub waited_too_long: u64,
}

/// One lock of a thread's: `since << 1 | held`, or 0 when the thread has none of that level.
#[derive(Default)]
struct Entry {
    word: AtomicU64,
    /// The `word` last reported, so each wait and each hold is reported once.
    reported: AtomicU64,
}

/// A thread's locks, their times, and what it is doing. Only its thread writes it (but the
/// `reported` marks, which the watchdog sets too), so recording touches no shared cache line.
#[derive(Default)]
struct Slot {
    alive: AtomicBool,
    request: ArcSwapOption<String>,
    levels: [Entry; MAX_LEVELS],
    times: [Times; MAX_LEVELS],
}

pub struct LockWatch {
    /// Off: the locks are not timed at all (`lock_watchdog_ms = 0`).
    enabled: AtomicBool,
    /// The CPU's time-stamp counter, calibrated: a read costs a few ns where a monotonic
    /// clock read costs about 40 on this kind of VM, and every lock reads it three times.
    clock: quanta::Clock,
    epoch: u64,
    threshold_us: AtomicU64,
    names: [OnceLock<&'static str>; MAX_LEVELS],
    slots: ArcSwap<Vec<Arc<Slot>>>,
    held_too_long: [AtomicU64; MAX_LEVELS],
    waited_too_long: [AtomicU64; MAX_LEVELS],
}

/// The process's watch (the production backend's locks report here).
pub static WATCH: LazyLock<LockWatch> = LazyLock::new(|| {
    let clock = quanta::Clock::new();
    let epoch = clock.raw();
    LockWatch {
        enabled: AtomicBool::new(true),
        clock,
        epoch,
        threshold_us: AtomicU64::new(1_000_000),
        names: Default::default(),
        slots: ArcSwap::from_pointee(Vec::new()),
        held_too_long: Default::default(),
        waited_too_long: Default::default(),
    }
});

/// This thread's slot, registered on first use. It stays registered when the thread ends, so
/// that its times keep counting in `/metrics` (whose histograms must never go down); vroom's
/// threads are a fixed set, so the list does not grow with load.
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
            let mut all: Vec<_> = all.iter().cloned().collect();
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
        self.clock.delta_as_nanos(self.epoch, self.clock.raw()) / 1000 + 1
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

    /// What each level's locks did so far (the levels taken at least once), over all threads.
    pub fn level_stats(&self) -> Vec<LevelStats> {
        let slots = self.slots.load();
        let mut out = Vec::new();
        for (rank, name) in self.names.iter().enumerate() {
            let Some(name) = name.get() else { continue };
            let (mut wait_us, mut hold_us) = (Counts::default(), Counts::default());
            for slot in slots.iter() {
                slot.times[rank].add_to(&mut wait_us, &mut hold_us);
            }
            out.push(LevelStats {
                name,
                wait_us,
                hold_us,
                held_too_long: self.held_too_long[rank].load(Relaxed),
                waited_too_long: self.waited_too_long[rank].load(Relaxed),
            });
        }
        out
    }

    /// The index of level `rank`, its name noted the first time.
    fn level(&self, rank: u16, name: &'static str) -> usize {
        let rank = usize::from(rank) % MAX_LEVELS;
        if self.names[rank].get().is_none() {
            let _ = self.names[rank].set(name);
        }
        rank
    }

    /// A thread starts waiting for a lock of level `rank` named `name`.
    pub fn waiting(&self, rank: u16, name: &'static str) -> Waiting {
        let rank = self.level(rank, name);
        let since = self.now_us();
        with_slot(|s| s.levels[rank].word.store(since << 1, Relaxed));
        Waiting { rank, since }
    }

    /// A lock of level `rank` taken at once, without waiting.
    pub fn uncontended(&'static self, rank: u16, name: &'static str) -> Held {
        let rank = self.level(rank, name);
        let now = self.now_us();
        with_slot(|s| {
            s.times[rank].wait_us.record_own(0);
            s.levels[rank].word.store(now << 1 | 1, Relaxed);
        });
        Held { watch: self, rank, since: now }
    }

    /// The lock waited for is now held.
    pub fn acquired(&'static self, w: Waiting) -> Held {
        let now = self.now_us();
        let waited = now - w.since;
        with_slot(|s| {
            s.times[w.rank].wait_us.record_own(waited);
            if waited > self.threshold_us.load(Relaxed) {
                self.report(s, w.rank, w.since << 1, waited);
            }
            s.levels[w.rank].word.store(now << 1 | 1, Relaxed);
        });
        Held { watch: self, rank: w.rank, since: now }
    }

    /// The lock is released.
    fn released(&self, h: Held) {
        let held = self.now_us() - h.since;
        with_slot(|s| {
            s.times[h.rank].hold_us.record_own(held);
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
        if held { &self.held_too_long[rank] } else { &self.waited_too_long[rank] }.fetch_add(1, Relaxed);
        let name = self.names[rank].get().copied().unwrap_or("?");
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
        for slot in self.slots.load().iter().filter(|s| s.alive.load(Relaxed)) {
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
    // Only a watched thread's request can be named; unwatched, no string is made.
    if WATCH.is_enabled() {
        with_slot(|s| s.request.store(Some(Arc::new(what()))));
    }
    Doing(())
}

impl Drop for Doing {
    fn drop(&mut self) {
        with_slot(|s| s.request.store(None));
    }
}
