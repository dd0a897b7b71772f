//! A bounded, sequenced event queue: one per Janus session.
//!
//! State changes decide *under* their locks which events go to whom, but push them only
//! *after* releasing the locks. To keep each session's events in the order the state changes
//! happened, a sender reserves a [`Ticket`] while it still holds the lock (an atomic increment,
//! never a wait), and fills it after release; the queue hands events to its reader in ticket
//! order, holding back a filled ticket until every earlier one is filled. Every reserved ticket
//! must be filled exactly once, with an event or with `None` (see `core::outbox`, whose `Drop`
//! guarantees it).
//!
//! The queue never blocks a sender: over `capacity` the event is dropped and the queue marked
//! overflowed, so a slow client can be disconnected instead of stalling a room. Its internal
//! lock is a leaf (nothing is taken while it is held) and it is not part of the ordered levels.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use super::{RtAtomicU64, RtMutex, Runtime};

/// A place in a queue's order, reserved under a lock and filled after its release.
#[must_use = "a reserved ticket must be filled, or the queue stalls behind it"]
#[derive(Debug)]
pub struct Ticket(u64);

/// What became of a filled ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    Queued,
    /// The queue was closed before this ticket: the event is dropped.
    Closed,
    /// The queue was full: the event is dropped and the queue marked overflowed.
    Full,
    /// The ticket was filled with nothing.
    Skipped,
}

/// Events dropped, process-wide, because a reader fell a whole queue behind (`/metrics`).
pub static DROPPED_FULL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counters, for accounting and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub queued: u64,
    pub dropped_closed: u64,
    pub dropped_full: u64,
}

type Waker = Arc<dyn Fn() + Send + Sync>;

struct State<E> {
    next_out: u64,
    parked: BTreeMap<u64, Option<E>>,
    ready: VecDeque<E>,
    closed_at: Option<u64>,
    overflowed: bool,
    stats: QueueStats,
    waker: Option<Waker>,
}

pub struct EventQueue<E: Send, R: Runtime> {
    next_ticket: R::AtomicU64,
    state: R::Mutex<State<E>>,
    capacity: usize,
}

impl<E: Send, R: Runtime> EventQueue<E, R> {
    pub fn new(capacity: usize) -> Self {
        EventQueue {
            next_ticket: R::AtomicU64::new(0),
            state: R::Mutex::new(State {
                next_out: 0,
                parked: BTreeMap::new(),
                ready: VecDeque::new(),
                closed_at: None,
                overflowed: false,
                stats: QueueStats::default(),
                waker: None,
            }),
            capacity,
        }
    }

    /// Reserves the next place in this queue's order. Never blocks.
    pub fn reserve(&self) -> Ticket {
        Ticket(self.next_ticket.fetch_add(1, SeqCst))
    }

    /// Fills a reserved place with an event (or with nothing).
    pub fn fill(&self, ticket: Ticket, event: Option<E>) -> Fill {
        self.settle(ticket, event, false)
    }

    /// Closes the queue at `ticket`: `last` is its final event, every later ticket is dropped.
    pub fn close_at(&self, ticket: Ticket, last: Option<E>) -> Fill {
        self.settle(ticket, last, true)
    }

    /// Closes the queue now, with no final event.
    pub fn close(&self) {
        let t = self.reserve();
        self.close_at(t, None);
    }

    fn settle(&self, Ticket(seq): Ticket, event: Option<E>, closing: bool) -> Fill {
        let waker;
        let outcome;
        {
            let mut st = self.state.lock();
            if closing && st.closed_at.is_none_or(|c| seq < c) {
                st.closed_at = Some(seq + 1);
                // A later place may have been filled before this close was known (found by
                // loom_event_queue_close_is_last): it is dropped now, so the close stays last.
                let purged = st.parked.range_mut(seq + 1..).filter_map(|(_, e)| e.take()).count() as u64;
                st.stats.queued -= purged;
                st.stats.dropped_closed += purged;
            }
            let pending = st.ready.len() + st.parked.values().filter(|e| e.is_some()).count();
            let (kept, fill) = match event {
                None => (None, Fill::Skipped),
                Some(_) if st.closed_at.is_some_and(|c| seq >= c) => {
                    st.stats.dropped_closed += 1;
                    (None, Fill::Closed)
                }
                Some(_) if pending >= self.capacity => {
                    st.stats.dropped_full += 1;
                    DROPPED_FULL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    st.overflowed = true;
                    (None, Fill::Full)
                }
                Some(e) => {
                    st.stats.queued += 1;
                    (Some(e), Fill::Queued)
                }
            };
            outcome = fill;
            st.parked.insert(seq, kept);
            let before = st.ready.len();
            loop {
                let next = st.next_out;
                let Some(e) = st.parked.remove(&next) else { break };
                st.ready.extend(e);
                st.next_out += 1;
            }
            waker = if st.ready.len() > before { st.waker.clone() } else { None };
        }
        if let Some(w) = waker {
            w();
        }
        outcome
    }

    /// Takes every event that is ready, in order.
    pub fn drain(&self) -> Vec<E> {
        self.state.lock().ready.drain(..).collect()
    }

    /// Takes the next ready event.
    pub fn pop(&self) -> Option<E> {
        self.state.lock().ready.pop_front()
    }

    /// Events ready for the reader.
    pub fn len(&self) -> usize {
        self.state.lock().ready.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `waker` (after the queue's lock is released) whenever events become ready.
    pub fn set_waker(&self, waker: Waker) {
        self.state.lock().waker = Some(waker);
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().closed_at.is_some()
    }

    /// True once an event was dropped because the reader fell `capacity` events behind.
    pub fn overflowed(&self) -> bool {
        self.state.lock().overflowed
    }

    pub fn stats(&self) -> QueueStats {
        self.state.lock().stats
    }

    /// True if no reserved ticket is still unfilled (a quiescence check for tests).
    pub fn is_settled(&self) -> bool {
        let st = self.state.lock();
        st.parked.is_empty() && st.next_out == self.next_ticket.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ParkingLot;

    #[test]
    fn queue_holds_back_until_earlier_places_fill() {
        let q = EventQueue::<u32, ParkingLot>::new(8);
        let (a, b) = (q.reserve(), q.reserve());
        assert_eq!(q.fill(b, Some(2)), Fill::Queued);
        assert!(q.drain().is_empty(), "2 waits for the place reserved before it");
        assert!(!q.is_settled());
        assert_eq!(q.fill(a, Some(1)), Fill::Queued);
        assert_eq!(q.drain(), vec![1, 2]);
        let c = q.reserve();
        q.fill(c, None);
        assert!(q.is_settled());
    }

    #[test]
    fn queue_drops_when_full_and_marks_overflow() {
        let q = EventQueue::<u32, ParkingLot>::new(2);
        for i in 0..2 {
            assert_eq!(q.fill(q.reserve(), Some(i)), Fill::Queued);
        }
        assert!(!q.overflowed());
        assert_eq!(q.fill(q.reserve(), Some(9)), Fill::Full);
        assert!(q.overflowed());
        assert_eq!(q.drain(), vec![0, 1]);
        assert_eq!(q.stats(), QueueStats { queued: 2, dropped_closed: 0, dropped_full: 1 });
        q.close();
        assert_eq!(q.fill(q.reserve(), Some(3)), Fill::Closed);
    }
}
