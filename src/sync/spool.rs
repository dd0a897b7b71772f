//! A queue from many producers to one consumer that sleeps while it is empty: how the media
//! shards and the core hand the recorder thread what to write (`crate::record`).
//!
//! Items come out in the order they went in. Each has a size; past the spool's budget of
//! queued bytes an item is refused (the producer drops and counts it), so a stalled consumer
//! holds at most the budget, and no producer ever waits for it. Items of size 0 (opening and
//! closing a file) are never refused.
//!
//! The consumer sleeps only after [`Spool::take_all`] found nothing, which marks it asleep under
//! the lock; the first put after that is told to wake it ([`Put::Wake`]). So a put is never
//! slept through (`spool_*` in `model-tests/scenarios.rs`). The internal lock is a leaf,
//! outside the ordered levels, as the inbox's is.

use std::collections::VecDeque;

use super::{RtMutex, Runtime};

struct State<T> {
    items: VecDeque<(T, usize)>,
    bytes: usize,
    /// The consumer found nothing and may be asleep.
    asleep: bool,
    refused: u64,
}

pub struct Spool<T: Send, R: Runtime> {
    state: R::Mutex<State<T>>,
    budget: usize,
}

/// What became of a put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    Queued,
    /// Queued while the consumer may be asleep: the producer wakes it.
    Wake,
    /// Past the budget: not queued.
    Refused,
}

impl<T: Send, R: Runtime> Spool<T, R> {
    /// A spool that holds at most `budget` bytes of items.
    pub fn new(budget: usize) -> Self {
        Spool { state: R::Mutex::new(State { items: VecDeque::new(), bytes: 0, asleep: false, refused: 0 }), budget }
    }

    /// Puts `item` of `size` bytes at the end, unless that passes the budget.
    pub fn put(&self, item: T, size: usize) -> Put {
        let mut st = self.state.lock();
        if size > 0 && st.bytes + size > self.budget {
            st.refused += 1;
            return Put::Refused;
        }
        st.bytes += size;
        st.items.push_back((item, size));
        if std::mem::take(&mut st.asleep) {
            Put::Wake
        } else {
            Put::Queued
        }
    }

    /// Moves everything queued into `into`, in order. Finding nothing marks the consumer
    /// asleep: it may then sleep until a put says [`Put::Wake`].
    pub fn take_all(&self, into: &mut Vec<T>) {
        let mut st = self.state.lock();
        if st.items.is_empty() {
            st.asleep = true;
            return;
        }
        st.bytes = 0;
        into.extend(st.items.drain(..).map(|(item, _)| item));
    }

    /// Items refused so far.
    pub fn refused(&self) -> u64 {
        self.state.lock().refused
    }

    /// Bytes queued now.
    pub fn bytes(&self) -> usize {
        self.state.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ParkingLot;

    #[test]
    fn items_come_out_in_order_and_past_the_budget_are_refused_but_not_size_0() {
        let s = Spool::<u32, ParkingLot>::new(10);
        let mut out = Vec::new();
        s.take_all(&mut out);
        assert_eq!(s.put(1, 6), Put::Wake, "the consumer found nothing");
        assert_eq!(s.put(2, 6), Put::Refused);
        assert_eq!(s.put(3, 0), Put::Queued);
        assert_eq!(s.put(4, 4), Put::Queued);
        assert_eq!((s.bytes(), s.refused()), (10, 1));
        s.take_all(&mut out);
        assert_eq!(out, [1, 3, 4]);
        assert_eq!(s.bytes(), 0);
        assert_eq!(s.put(5, 10), Put::Queued, "room again, and the consumer did not sleep");
    }
}
