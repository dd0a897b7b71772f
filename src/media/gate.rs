//! Which of a simulcast publisher's substreams one subscriber stream needs to see, readable
//! by the fan-out without the subscriber's lock.
//!
//! A subscriber settled on its substream forwards that one and drops the others, yet without
//! this gate every packet of every substream would take the subscriber's lock and look up its
//! stream just to be dropped: with three substreams, three times the fan-out's fixed cost per
//! forwarded packet. The selector (under the subscriber's lock) says what it needs after each
//! packet; the fan-out lets the others through only once per [`PEEK`], which is all the
//! selector needs of them then (noticing the substream it forwards went silent, for
//! `fallback`). A stream that is not settled (before its first keyframe, during a change,
//! fallen back, or with layers chosen by bandwidth, which measures every substream) sees them
//! all.
//!
//! The gate is a hint: a stale value lets a packet through that the selector then drops, or
//! holds back one of a substream the selector no longer needs, never more.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How often a settled stream still sees a packet of the substreams it does not forward.
pub const PEEK: Duration = Duration::from_millis(100);

/// Every substream passes.
const ALL: u8 = u8::MAX;

#[derive(Debug)]
pub(crate) struct Gate {
    /// The substream the stream is settled on, or [`ALL`].
    only: AtomicU8,
    /// When (ms since `born`) the next packet of another substream passes.
    peek_at: AtomicU64,
    born: Instant,
}

impl Gate {
    pub fn new(now: Instant) -> Gate {
        Gate { only: AtomicU8::new(ALL), peek_at: AtomicU64::new(0), born: now }
    }

    /// What the stream needs from now on: one substream (`Some`), or all of them.
    pub fn set(&self, only: Option<u8>) {
        self.only.store(only.unwrap_or(ALL), Relaxed);
    }

    /// Whether a packet of substream `layer` (`None`: not simulcast) goes to the stream.
    pub fn passes(&self, now: Instant, layer: Option<u8>) -> bool {
        let only = self.only.load(Relaxed);
        let Some(layer) = layer.filter(|_| only != ALL) else { return true };
        if layer == only {
            return true;
        }
        let ms = now.saturating_duration_since(self.born).as_millis() as u64;
        if ms < self.peek_at.load(Relaxed) {
            return false;
        }
        self.peek_at.store(ms + PEEK.as_millis() as u64, Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsettled_stream_sees_every_substream() {
        let t0 = Instant::now();
        let gate = Gate::new(t0);
        assert!((0..3).all(|l| gate.passes(t0, Some(l))));
        assert!(gate.passes(t0, None));
    }

    #[test]
    fn a_settled_stream_sees_others_once_per_peek() {
        let t0 = Instant::now();
        let gate = Gate::new(t0);
        gate.set(Some(2));
        assert!(gate.passes(t0, Some(2)));
        assert!(gate.passes(t0, Some(0)), "the first peek");
        assert!(!gate.passes(t0 + Duration::from_millis(50), Some(1)));
        assert!(gate.passes(t0 + Duration::from_millis(60), Some(2)));
        assert!(gate.passes(t0 + PEEK, Some(1)), "the next peek");
        assert!(!gate.passes(t0 + PEEK, Some(0)));
        gate.set(None);
        assert!(gate.passes(t0 + PEEK, Some(0)));
    }
}
