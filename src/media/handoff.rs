//! How media shards hand a publisher's packets to each other.
//!
//! Each shard runs its own legs for their life. A publisher's packet is read and decrypted on
//! the publisher's shard, which hands it once to every other shard that has subscribers of it,
//! then forwards it to its own. Every ordered pair of shards has its own ring
//! (`sync::ring`: one producer, one consumer, no lock); a full ring drops the packet and the
//! shard counts it, it never waits. The receiving shard forwards to its own subscribers in the
//! publisher's fan-out *as it is when it forwards*, not as it was when the packet was handed.
//! So:
//!
//! - a subscriber is only ever forwarded to by the shard that runs it, which also carries out
//!   its close: no packet reaches a leg after its close, by construction;
//! - a subscriber taken off a fan-out gets none of the packets still in flight to its shard;
//! - a publisher's packets reach each shard in the order they were read (one FIFO per pair of
//!   shards, and a publisher is read on one shard only).
//!
//! The snapshot a shard fans out from is a [`Split`]: the targets of one publisher stream by
//! the shard that runs each, so neither side scans the other's. `handoff_*` in
//! `model-tests/scenarios.rs` checks the hand-off with loom and shuttle against this code.

use crate::sync::ring::{ring, Consumer, Producer};
use crate::sync::{RtSwap, Runtime};

/// A publisher stream's targets, by the shard that runs each.
pub struct Split<T> {
    by_shard: Box<[Box<[T]>]>,
}

impl<T> Split<T> {
    /// `targets` sorted into `shards` shards by `shard_of` (a shard past the last is the last).
    pub fn new(shards: usize, targets: impl IntoIterator<Item = T>, shard_of: impl Fn(&T) -> usize) -> Split<T> {
        let shards = shards.max(1);
        let mut by_shard: Vec<Vec<T>> = (0..shards).map(|_| Vec::new()).collect();
        for t in targets {
            by_shard[shard_of(&t).min(shards - 1)].push(t);
        }
        Split { by_shard: by_shard.into_iter().map(Vec::into_boxed_slice).collect() }
    }

    /// The targets shard `shard` runs.
    pub fn on(&self, shard: usize) -> &[T] {
        self.by_shard.get(shard).map_or(&[], |t| t)
    }

    /// Every target, shard by shard.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.by_shard.iter().flat_map(|t| t.iter())
    }

    /// The shards other than `me` that have targets.
    pub fn elsewhere(&self, me: usize) -> impl Iterator<Item = usize> + '_ {
        self.by_shard.iter().enumerate().filter(move |(k, t)| *k != me && !t.is_empty()).map(|(k, _)| k)
    }
}

/// One shard's ends of the hand-off: a ring to each other shard, and one from each.
pub struct Ends<I: Send, R: Runtime> {
    me: usize,
    /// By destination shard (`None` at `me`).
    to: Vec<Option<Producer<I, R>>>,
    from: Vec<Consumer<I, R>>,
    /// Which ring [`Ends::take`] looks at first: each in turn, so one busy shard cannot starve
    /// another.
    next: usize,
    /// The shards handed something since [`Ends::handed_to`] last said so.
    handed: Vec<bool>,
}

/// The ends of every shard of `shards`, each ring holding up to `capacity` items.
pub fn mesh<I: Send, R: Runtime>(shards: usize, capacity: usize) -> Vec<Ends<I, R>> {
    let shards = shards.max(1);
    let mut ends: Vec<Ends<I, R>> = (0..shards)
        .map(|me| Ends {
            me,
            to: (0..shards).map(|_| None).collect(),
            from: Vec::new(),
            next: 0,
            handed: vec![false; shards],
        })
        .collect();
    for a in 0..shards {
        for b in (0..shards).filter(|&b| b != a) {
            let (tx, rx) = ring(capacity);
            ends[a].to[b] = Some(tx);
            ends[b].from.push(rx);
        }
    }
    ends
}

impl<I: Send, R: Runtime> Ends<I, R> {
    /// The shard these ends belong to.
    pub fn me(&self) -> usize {
        self.me
    }

    /// Hands `item` to shard `to`. False if that shard's ring is full (the item is dropped,
    /// and counted in [`Ends::refused`]) or there is no such other shard.
    pub fn hand(&mut self, to: usize, item: I) -> bool {
        let Some(Some(ring)) = self.to.get_mut(to) else { return false };
        let taken = ring.push(item).is_ok();
        self.handed[to] |= taken;
        taken
    }

    /// The next item handed to this shard, taking the rings in turn.
    pub fn take(&mut self) -> Option<I> {
        for _ in 0..self.from.len() {
            let k = self.next;
            self.next = (self.next + 1) % self.from.len();
            if let Some(item) = self.from[k].pop() {
                return Some(item);
            }
        }
        None
    }

    /// Whether nothing waits for this shard.
    pub fn is_idle(&self) -> bool {
        self.from.iter().all(Consumer::is_empty)
    }

    /// The shards handed something since the last call: those to wake.
    pub fn handed_to(&mut self) -> impl Iterator<Item = usize> + '_ {
        self.handed.iter_mut().enumerate().filter_map(|(k, h)| std::mem::take(h).then_some(k))
    }

    /// Items dropped so far because a ring to another shard was full.
    pub fn refused(&self) -> u64 {
        self.to.iter().flatten().map(Producer::refused).sum()
    }
}

/// How many other shards one packet was handed to, and how many could not take it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handed {
    pub handed: usize,
    pub refused: usize,
}

/// The publisher's shard's part in fanning one packet out: `fanout` is the publisher's
/// snapshot, `stream` picks the packet's stream from it. The packet is handed (as `item()`) to
/// every other shard with targets, then `local` runs for each of this shard's own.
pub fn fan_out<F: Send + Sync, T, I: Send, R: Runtime>(
    ends: &mut Ends<I, R>,
    fanout: &R::Swap<F>,
    stream: impl FnOnce(&F) -> Option<&Split<T>>,
    mut item: impl FnMut() -> I,
    local: impl FnMut(&T),
) -> Handed {
    let snapshot = fanout.load();
    let Some(split) = stream(&snapshot) else { return Handed::default() };
    let mut n = Handed::default();
    for shard in split.elsewhere(ends.me) {
        if ends.hand(shard, item()) {
            n.handed += 1;
        } else {
            n.refused += 1;
        }
    }
    split.on(ends.me).iter().for_each(local);
    n
}

/// The receiving shard's part, for a packet handed to it: `forward` runs for each of its own
/// targets in the publisher's fan-out as it is *now* (loaded here, not carried with the packet:
/// a subscriber taken off meanwhile gets nothing).
pub fn fan_in<F: Send + Sync, T, R: Runtime>(
    me: usize,
    fanout: &R::Swap<F>,
    stream: impl FnOnce(&F) -> Option<&Split<T>>,
    forward: impl FnMut(&T),
) {
    let snapshot = fanout.load();
    if let Some(split) = stream(&snapshot) {
        split.on(me).iter().for_each(forward);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arc_swap::ArcSwap;

    use super::*;
    use crate::sync::ParkingLot;

    #[test]
    fn a_split_sorts_targets_by_shard() {
        let split = Split::new(3, [(0, 'a'), (2, 'b'), (0, 'c'), (9, 'd')], |t| t.0);
        assert_eq!(split.on(0), [(0, 'a'), (0, 'c')]);
        assert_eq!(split.on(1), []);
        assert_eq!(split.on(2), [(2, 'b'), (9, 'd')], "past the last shard is the last");
        assert_eq!(split.elsewhere(0).collect::<Vec<_>>(), [2]);
        assert_eq!(split.elsewhere(2).collect::<Vec<_>>(), [0]);
        assert_eq!(split.all().count(), 4);
        assert_eq!(split.on(7), [], "no such shard: no targets");
    }

    fn swap(split: Split<usize>) -> ArcSwap<Split<usize>> {
        ArcSwap::from_pointee(split)
    }

    #[test]
    fn fan_out_hands_each_other_shard_one_item_and_runs_its_own() {
        let mut ends = mesh::<u32, ParkingLot>(3, 1);
        let fanout = swap(Split::new(3, [0usize, 0, 1, 1, 2], |&s| s));
        let mut own = 0;
        assert_eq!(fan_out(&mut ends[0], &fanout, |f| Some(f), || 7, |_| own += 1), Handed { handed: 2, refused: 0 });
        assert_eq!(own, 2);
        assert_eq!(ends[0].handed_to().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(ends[0].handed_to().count(), 0, "said once");
        // The rings hold one item: the next packet finds them full.
        assert_eq!(fan_out(&mut ends[0], &fanout, |f| Some(f), || 8, |_| ()), Handed { handed: 0, refused: 2 });
        assert_eq!(ends[0].refused(), 2);
        assert_eq!((ends[1].take(), ends[1].take()), (Some(7), None));
        assert_eq!(ends[2].take(), Some(7));
        assert!(ends[1].is_idle() && ends[2].is_idle());
    }

    #[test]
    fn a_shard_takes_from_each_ring_in_turn() {
        let mut ends = mesh::<u32, ParkingLot>(3, 8);
        for i in 0..3 {
            assert!(ends[1].hand(0, 10 + i));
            assert!(ends[2].hand(0, 20 + i));
        }
        assert!(!ends[0].hand(0, 1), "no ring to itself");
        let got: Vec<u32> = std::iter::from_fn(|| ends[0].take()).collect();
        assert_eq!(got, [10, 20, 11, 21, 12, 22]);
    }

    #[test]
    fn fan_in_forwards_to_this_shards_targets_as_they_are_now() {
        let fanout = swap(Split::new(2, [0usize, 1, 1], |&s| s));
        let mut got = Vec::new();
        fan_in::<_, _, ParkingLot>(1, &fanout, |f| Some(f), |&t| got.push(t));
        assert_eq!(got, [1, 1]);
        fanout.store(Arc::new(Split::new(2, [0usize], |&s| s)));
        fan_in::<_, _, ParkingLot>(1, &fanout, |f| Some(f), |&t| got.push(t));
        assert_eq!(got, [1, 1], "taken off since: nothing");
        fan_in::<_, _, ParkingLot>(1, &fanout, |_| None::<&Split<usize>>, |&t| got.push(t));
        assert_eq!(got, [1, 1], "no such stream: nothing");
    }

    #[test]
    fn one_shard_has_no_rings() {
        let mut ends = mesh::<u32, ParkingLot>(1, 8);
        let fanout = swap(Split::new(1, [0usize, 0], |&s| s));
        let mut own = 0;
        assert_eq!(fan_out(&mut ends[0], &fanout, |f| Some(f), || 1, |_| own += 1), Handed::default());
        assert_eq!((own, ends[0].take()), (2, None));
        assert!(ends[0].is_idle());
    }
}
