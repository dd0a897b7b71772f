//! A bounded single-producer, single-consumer ring without locks: how one media shard hands a
//! publisher's packets to another shard that has subscribers of it. The producer never waits: a
//! full ring refuses the item (the caller drops it and counts it). Items come out in the order
//! they went in.
//!
//! Each side owns one counter: the producer `tail` (items put so far), the consumer `head`
//! (items taken so far). The producer writes slot `tail % capacity` only while `tail - head` is
//! below the capacity, then publishes it by storing `tail + 1` (release); the consumer reads
//! slot `head % capacity` only while `head < tail` (acquire), then frees it by storing
//! `head + 1` (release). So no slot is ever touched by both sides at once: loom checks exactly
//! that (its cells fail the model on an overlap) in `ring_*` of `model-tests/scenarios.rs`.
//!
//! One producer and one consumer are types, not a convention: [`Producer::push`] and
//! [`Consumer::pop`] take `&mut self`, and neither half is `Clone`.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;

use super::{RtAtomicU64, RtCell, Runtime};

struct Ring<T: Send, R: Runtime> {
    slots: Box<[R::Cell<Option<T>>]>,
    /// Items taken so far: written by the consumer only.
    head: R::AtomicU64,
    /// Items put so far: written by the producer only.
    tail: R::AtomicU64,
    /// Items refused because the ring was full.
    refused: R::AtomicU64,
}

/// The putting half of a ring.
pub struct Producer<T: Send, R: Runtime> {
    ring: Arc<Ring<T, R>>,
}

/// The taking half of a ring.
pub struct Consumer<T: Send, R: Runtime> {
    ring: Arc<Ring<T, R>>,
}

/// A ring of `capacity` items (at least 1), as its two halves.
pub fn ring<T: Send, R: Runtime>(capacity: usize) -> (Producer<T, R>, Consumer<T, R>) {
    let ring = Arc::new(Ring {
        slots: (0..capacity.max(1)).map(|_| R::Cell::new(None)).collect(),
        head: R::AtomicU64::new(0),
        tail: R::AtomicU64::new(0),
        refused: R::AtomicU64::new(0),
    });
    (Producer { ring: ring.clone() }, Consumer { ring })
}

impl<T: Send, R: Runtime> Ring<T, R> {
    fn slot(&self, n: u64) -> &R::Cell<Option<T>> {
        &self.slots[(n % self.slots.len() as u64) as usize]
    }
}

impl<T: Send, R: Runtime> Producer<T, R> {
    /// Puts `item` in, or hands it back if the ring is full (counted in [`Producer::refused`]).
    /// Never waits.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        let ring = &*self.ring;
        let tail = ring.tail.load(Relaxed);
        // Acquire: the consumer's take of the slot we may reuse happened before.
        if tail - ring.head.load(Acquire) >= ring.slots.len() as u64 {
            ring.refused.fetch_add(1, Relaxed);
            return Err(item);
        }
        // SAFETY: slot `tail` is free (the consumer took it, or it was never used) and the
        // consumer reads it only after the release store below.
        ring.slot(tail).with_mut(|slot| unsafe { *slot = Some(item) });
        ring.tail.store(tail + 1, Release);
        Ok(())
    }

    /// Items refused so far because the ring was full.
    pub fn refused(&self) -> u64 {
        self.ring.refused.load(Relaxed)
    }
}

impl<T: Send, R: Runtime> Consumer<T, R> {
    /// The oldest item, if any.
    pub fn pop(&mut self) -> Option<T> {
        let ring = &*self.ring;
        let head = ring.head.load(Relaxed);
        // Acquire: the producer's write of slot `head` happened before.
        if head == ring.tail.load(Acquire) {
            return None;
        }
        // SAFETY: slot `head` was published by the producer, which writes it again only after
        // the release store below.
        let item = ring.slot(head).with_mut(|slot| unsafe { (*slot).take() });
        ring.head.store(head + 1, Release);
        item
    }

    /// Items waiting (a snapshot: the producer may be adding one).
    pub fn len(&self) -> usize {
        let ring = &*self.ring;
        (ring.tail.load(Acquire) - ring.head.load(Relaxed)) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ParkingLot;

    #[test]
    fn items_come_out_in_order_and_a_full_ring_refuses() {
        let (mut tx, mut rx) = ring::<u32, ParkingLot>(2);
        assert_eq!(tx.push(1), Ok(()));
        assert_eq!(tx.push(2), Ok(()));
        assert_eq!(tx.push(3), Err(3), "full: handed back");
        assert_eq!(tx.refused(), 1);
        assert_eq!(rx.len(), 2);
        assert_eq!(rx.pop(), Some(1));
        assert_eq!(tx.push(4), Ok(()), "a slot freed is used again");
        assert_eq!((rx.pop(), rx.pop(), rx.pop()), (Some(2), Some(4), None));
        assert!(rx.is_empty());
    }

    #[test]
    fn items_left_in_a_dropped_ring_are_dropped_once() {
        let item = Arc::new(());
        let (mut tx, mut rx) = ring::<Arc<()>, ParkingLot>(4);
        for _ in 0..3 {
            tx.push(item.clone()).unwrap();
        }
        drop(rx.pop());
        assert_eq!(Arc::strong_count(&item), 3);
        drop((tx, rx));
        assert_eq!(Arc::strong_count(&item), 1, "the two left in the ring were dropped with it");
    }

    #[test]
    fn the_counters_wrap_around_the_slots_many_times() {
        let (mut tx, mut rx) = ring::<u64, ParkingLot>(3);
        for i in 0..1000 {
            tx.push(i).unwrap();
            if i % 2 == 1 {
                assert_eq!(rx.pop(), Some(i - 1));
                assert_eq!(rx.pop(), Some(i));
            }
        }
        assert!(rx.is_empty());
        assert_eq!(tx.refused(), 0);
    }
}
