//! Read access to rooms and publishers for the layers above the core (admin API, media
//! snapshots), through the same ordered locks: a caller holds a token, and the compiler checks
//! that it takes a room before its publishers, never the other way round.

use std::sync::Arc;

use crate::sync::levels;
use crate::sync::order::{Before, MutexGuard, ReadGuard, Token};
use crate::sync::Runtime;

use super::publisher::{FanoutTarget, Media, Publisher, PublisherState};
use super::{Room, RoomState};
use crate::core::error::Result;
use crate::core::event::PublisherInfo;
use crate::core::ids::{ParticipantId, RoomId};
use crate::core::Core;

/// A room, read-locked.
pub struct RoomView<'a, R: Runtime>(ReadGuard<'a, levels::Room, RoomState<R>, R>);

/// A publisher, locked.
pub struct PublisherView<'a, R: Runtime>(MutexGuard<'a, levels::Publisher, PublisherState, R>);

impl<R: Runtime> Room<R> {
    /// Read-locks the room; compiles only while holding nothing at or after the room level.
    pub fn read<'a, P: Before<levels::Room>>(&'a self, t: &'a mut Token<P>) -> RoomView<'a, R> {
        RoomView(self.state.read(t))
    }
}

impl<'a, R: Runtime> RoomView<'a, R> {
    pub fn destroyed(&self) -> bool {
        self.0.destroyed
    }

    /// The publisher-role participants, by id.
    pub fn publishers(&self) -> impl Iterator<Item = &Arc<Publisher<R>>> {
        self.0.publishers.values()
    }

    /// The room's bitrate cap for publishers (0: none).
    pub fn bitrate(&self) -> u32 {
        self.0.config.bitrate
    }

    pub fn subscriber_count(&self) -> usize {
        self.0.subscribers.len()
    }

    pub fn token(&mut self) -> &mut Token<levels::Room> {
        self.0.token()
    }
}

impl<R: Runtime> Publisher<R> {
    /// Locks the publisher; compiles only while holding nothing at or after the publisher level.
    pub fn lock<'a, P: Before<levels::Publisher>>(&'a self, t: &'a mut Token<P>) -> PublisherView<'a, R> {
        PublisherView(self.state.lock(t))
    }
}

impl<'a, R: Runtime> PublisherView<'a, R> {
    pub fn is_active(&self) -> bool {
        self.0.media == Media::Active
    }

    pub fn info(&self, id: ParticipantId) -> PublisherInfo {
        self.0.info(id)
    }

    /// Each stream's mid and the subscriber streams it is forwarded to.
    pub fn fanout(&self) -> Vec<(String, Vec<FanoutTarget>)> {
        self.0.streams.iter().map(|s| (s.info.mid.clone(), s.fanout.clone())).collect()
    }

    pub fn token(&mut self) -> &mut Token<levels::Publisher> {
        self.0.token()
    }
}

impl<R: Runtime> Core<R> {
    /// A room of the registry (the registry lock is released on return).
    pub fn room(&self, id: RoomId) -> Result<Arc<Room<R>>> {
        self.find_room(&mut Self::enter(), id)
    }

    /// Where each stream of a publisher is forwarded (for tests and the media layer).
    pub fn fanout(&self, room: RoomId, publisher: ParticipantId) -> Result<Vec<(String, Vec<FanoutTarget>)>> {
        let room = self.room(room)?;
        let mut t = Self::enter();
        let mut rv = room.read(&mut t);
        let p = rv.publishers().find(|p| p.id == publisher).cloned();
        Ok(match p {
            Some(p) => p.lock(rv.token()).fanout(),
            None => Vec::new(),
        })
    }
}
