//! Events collected under locks, delivered after they are released.
//!
//! A state change pushes into an [`Outbox`] while it holds its locks: that reserves the
//! event's place in each recipient session's queue (an atomic increment, no wait). Once every
//! lock is released, [`Outbox::deliver`] fills the reserved places. `deliver` needs the root
//! token, so delivering while a lock is held does not compile. An outbox dropped without
//! delivery (an early return, a panic) fills its places with nothing, so no queue stalls.

use std::sync::Arc;

use crate::sync::order::{Token, Unlocked};
use crate::sync::queue::{EventQueue, Fill, Ticket};
use crate::sync::Runtime;

use super::event::Event;

pub type SessionQueue<R> = EventQueue<Event, R>;

/// What one delivery did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub queued: usize,
    pub dropped: usize,
}

pub struct Outbox<R: Runtime> {
    items: Vec<(Arc<SessionQueue<R>>, Ticket, Event)>,
    /// Resources (sockets) given up under a lock, closed only after the locks are released.
    discarded: Vec<Box<dyn Send>>,
}

impl<R: Runtime> Default for Outbox<R> {
    fn default() -> Self {
        Outbox { items: Vec::new(), discarded: Vec::new() }
    }
}

impl<R: Runtime> Outbox<R> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `event` for `queue`, in the order of the state change being made now.
    pub fn push(&mut self, queue: &Arc<SessionQueue<R>>, event: Event) {
        let ticket = queue.reserve();
        self.items.push((queue.clone(), ticket, event));
    }

    /// Keeps `resource` until delivery, so that closing it (a syscall) happens with no lock held.
    pub fn discard<T: Send + 'static>(&mut self, resource: T) {
        self.discarded.push(Box::new(resource));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Delivers every event. Needs the root token: no lock may be held.
    pub fn deliver(mut self, _nothing_held: &mut Token<Unlocked>) -> Delivered {
        let mut d = Delivered::default();
        for (queue, ticket, event) in self.items.drain(..) {
            match queue.fill(ticket, Some(event)) {
                Fill::Queued => d.queued += 1,
                Fill::Closed | Fill::Full | Fill::Skipped => d.dropped += 1,
            }
        }
        self.discarded.clear();
        d
    }
}

impl<R: Runtime> Drop for Outbox<R> {
    fn drop(&mut self) {
        for (queue, ticket, _) in self.items.drain(..) {
            queue.fill(ticket, None);
        }
    }
}
