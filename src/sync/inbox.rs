//! A lossless, bounded hand-off of news from producers to one reader.
//!
//! The media shard reports what happens to PeerConnections (up, media, down) and the core must
//! hear every hangup: a bounded channel that drops when full would let the core believe a dead
//! PeerConnection is up after a mass disconnect, and an unbounded one grows with a stalled
//! reader. Here each *source* (a PeerConnection) has at most one waiting entry, and what it
//! reports while that entry waits is merged into it ([`News::merge`]). So nothing is ever
//! dropped, and the inbox never holds more entries than there are sources with news, whatever
//! the reader's pace. Entries come out in the order their sources first had news.
//!
//! The waker is called, after the lock is released, when a post finds the inbox empty: a reader
//! that drains everything each time it is woken never misses news (`inbox_wakes_for_what_is_left`
//! in the model tests). The internal lock is a leaf, outside the ordered levels, as the event
//! queue's is.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

use super::{RtMutex, Runtime};

/// What a source reports; a later report folds into a waiting one.
pub trait News {
    fn merge(&mut self, later: Self);
}

/// Counters, for accounting and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboxStats {
    /// Reports posted.
    pub posted: u64,
    /// Reports folded into an entry already waiting.
    pub merged: u64,
    /// Entries handed to the reader.
    pub delivered: u64,
    /// The most entries ever waiting at once.
    pub high_water: u64,
}

type Waker = Arc<dyn Fn() + Send + Sync>;

struct State<K, N> {
    order: VecDeque<K>,
    waiting: HashMap<K, N>,
    stats: InboxStats,
    waker: Option<Waker>,
}

pub struct Inbox<K: Send, N: Send, R: Runtime> {
    state: R::Mutex<State<K, N>>,
}

impl<K: Hash + Eq + Clone + Send, N: News + Send, R: Runtime> Default for Inbox<K, N, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq + Clone + Send, N: News + Send, R: Runtime> Inbox<K, N, R> {
    pub fn new() -> Self {
        Inbox {
            state: R::Mutex::new(State {
                order: VecDeque::new(),
                waiting: HashMap::new(),
                stats: InboxStats::default(),
                waker: None,
            }),
        }
    }

    /// Posts one report of `source`. Never blocks on the reader, never drops.
    pub fn post(&self, source: K, news: N) {
        self.post_all(std::iter::once((source, news)));
    }

    /// Posts reports under one taking of the lock (a shard wake-up's worth).
    pub fn post_all(&self, reports: impl IntoIterator<Item = (K, N)>) {
        let waker = {
            let mut st = self.state.lock();
            let was_empty = st.order.is_empty();
            for (source, news) in reports {
                st.stats.posted += 1;
                match st.waiting.get_mut(&source) {
                    Some(waiting) => {
                        waiting.merge(news);
                        st.stats.merged += 1;
                    }
                    None => {
                        st.order.push_back(source.clone());
                        st.waiting.insert(source, news);
                    }
                }
            }
            st.stats.high_water = st.stats.high_water.max(st.order.len() as u64);
            if was_empty && !st.order.is_empty() {
                st.waker.clone()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w();
        }
    }

    /// Takes every waiting entry, in the order their sources first had news.
    pub fn drain(&self) -> Vec<(K, N)> {
        let mut st = self.state.lock();
        let st = &mut *st;
        let out: Vec<(K, N)> = st
            .order
            .drain(..)
            .map(|k| {
                let n = st.waiting.remove(&k).expect("every queued source has an entry");
                (k, n)
            })
            .collect();
        st.stats.delivered += out.len() as u64;
        out
    }

    /// Entries waiting for the reader.
    pub fn len(&self) -> usize {
        self.state.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `waker` (after the lock is released) whenever a post finds the inbox empty.
    pub fn set_waker(&self, waker: Waker) {
        self.state.lock().waker = Some(waker);
    }

    pub fn stats(&self) -> InboxStats {
        self.state.lock().stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ParkingLot;
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

    /// Reports as a list, merged by appending, so the tests see exactly what was folded.
    impl News for Vec<u32> {
        fn merge(&mut self, later: Self) {
            self.extend(later);
        }
    }

    #[test]
    fn inbox_merges_per_source_and_keeps_first_news_order() {
        let inbox = Inbox::<u8, Vec<u32>, ParkingLot>::new();
        inbox.post(2, vec![1]);
        inbox.post(1, vec![2]);
        inbox.post(2, vec![3]);
        assert_eq!(inbox.len(), 2);
        assert_eq!(inbox.drain(), vec![(2, vec![1, 3]), (1, vec![2])]);
        assert!(inbox.is_empty());
        let s = inbox.stats();
        assert_eq!((s.posted, s.merged, s.delivered, s.high_water), (3, 1, 2, 2));
    }

    /// The old channel dropped past 4,096 waiting reports; a stalled reader here loses nothing
    /// and the inbox holds one entry per source.
    #[test]
    fn inbox_with_a_stalled_reader_holds_one_entry_per_source_and_loses_nothing() {
        let inbox = Inbox::<u32, Vec<u32>, ParkingLot>::new();
        for round in 0..10 {
            inbox.post_all((0..10_000).map(|source| (source, vec![round])));
        }
        assert_eq!(inbox.len(), 10_000);
        let got = inbox.drain();
        assert_eq!(got.len(), 10_000);
        assert!(got.iter().enumerate().all(|(i, (k, n))| *k == i as u32 && *n == (0..10).collect::<Vec<_>>()));
    }

    #[test]
    fn inbox_wakes_only_when_a_post_finds_it_empty() {
        let inbox = Inbox::<u8, Vec<u32>, ParkingLot>::new();
        let wakes = Arc::new(AtomicU64::new(0));
        let w = wakes.clone();
        inbox.set_waker(Arc::new(move || {
            w.fetch_add(1, SeqCst);
        }));
        inbox.post(1, vec![1]);
        inbox.post(2, vec![2]);
        assert_eq!(wakes.load(SeqCst), 1);
        inbox.drain();
        inbox.post_all([(1, vec![3]), (1, vec![4])]);
        assert_eq!(wakes.load(SeqCst), 2);
        inbox.drain();
        inbox.post_all(std::iter::empty());
        assert_eq!(wakes.load(SeqCst), 2, "an empty post wakes nobody");
    }
}
