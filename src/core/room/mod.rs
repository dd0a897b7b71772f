//! VideoRoom: rooms, their publishers and subscribers, as state machines over `sync/`.
//!
//! Locks, in order (see `sync::levels`): a request takes its handle, looks the room up in the
//! registry (released at once: the registry is never held while a room is taken, JCB-07),
//! then takes the room, then publishers, then subscribers. Every change of membership or of a
//! publisher's media state happens under the room's write lock, so it is one atomic step for
//! every other request on the room; read-only requests (`listparticipants`, `list`) and
//! participant-local changes (`configure`, `moderate`) take it for reading.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::sync::levels;
use crate::sync::order::{Before, RwLock, Token};
use crate::sync::Runtime;

use super::error::{Error, Result};
use super::event::{Event, EventBody, RoomEvent};
use super::ids::{HandleId, IdGen, ParticipantId, PrivateId, RoomId};
use super::outbox::Outbox;
use super::seams::MediaPort;
use super::Core;

mod access;
mod admin;
pub mod config;
mod forwarder;
mod publisher;
mod recording;
mod subscriber;
mod view;

#[cfg(test)]
mod tests;

pub use admin::OfferRules;
pub use config::{AllowedAction, ParticipantInfo, RoomConfig, RoomEdit, RoomInfo};
pub use forwarder::{ForwardRequest, ForwardStream, ForwarderInfo};
pub use publisher::{FanoutTarget, JoinPublisher, Publish, Publisher, PublisherConfigure, StreamSpec, TalkOverrides};
pub use recording::RecordWish;
pub use subscriber::{FeedSel, JoinedAs, StreamConfigure, SubscribeJoin, Subscriber, SwitchSel, UnsubSel};
pub use view::{PublisherView, RoomView};

pub struct Room<R: Runtime> {
    pub id: RoomId,
    pub(crate) state: RwLock<levels::Room, RoomState<R>, R>,
}

pub(crate) struct RoomState<R: Runtime> {
    pub config: RoomConfig,
    /// Set by `destroy`; a destroyed room refuses everything with 426.
    pub destroyed: bool,
    /// Publisher-role participants, publishing or not.
    pub publishers: BTreeMap<ParticipantId, Arc<Publisher<R>>>,
    pub subscribers: BTreeMap<HandleId, Arc<Subscriber<R>>>,
    pub private_ids: BTreeMap<PrivateId, ParticipantId>,
    /// Publishers whose media is negotiated or up: what `max_publishers` limits.
    pub publishing: BTreeSet<ParticipantId>,
    pub ids: IdGen,
}

/// The room registry.
pub(crate) struct RoomMap<R: Runtime> {
    pub rooms: BTreeMap<RoomId, Arc<Room<R>>>,
    pub ids: IdGen,
}

impl<R: Runtime> RoomMap<R> {
    pub fn new(ids: IdGen) -> Self {
        RoomMap { rooms: BTreeMap::new(), ids }
    }
}

/// A participant's room and its own record in it.
pub(crate) type Seat<R, T> = (Arc<Room<R>>, Arc<T>);

/// What a handle is.
pub(crate) enum Role<R: Runtime> {
    Idle,
    /// An EchoTest handle, with the endpoint of its PeerConnection once it made an offer.
    Echo {
        port: Option<Box<dyn MediaPort>>,
    },
    Publisher {
        room: Arc<Room<R>>,
        me: Arc<Publisher<R>>,
    },
    Subscriber {
        room: Arc<Room<R>>,
        me: Arc<Subscriber<R>>,
    },
    /// The handle left its room; Janus wants a new handle for a new join.
    Spent {
        room: RoomId,
    },
}

impl<R: Runtime> Room<R> {
    fn new(id: RoomId, config: RoomConfig, mut ids: IdGen) -> Self {
        let mut publishers = BTreeMap::new();
        if config.dummy_publisher {
            let dummy = Publisher::dummy(ids.id(|_| false), ids.private_id(|_| false), &config);
            publishers.insert(dummy.id, Arc::new(dummy));
        }
        Room {
            id,
            state: RwLock::new(RoomState {
                config,
                destroyed: false,
                publishers,
                subscribers: BTreeMap::new(),
                private_ids: BTreeMap::new(),
                publishing: BTreeSet::new(),
                ids,
            }),
        }
    }
}

impl<R: Runtime> Room<R> {
    /// True if neither the room nor any of its members' locks is held.
    pub(crate) fn is_quiescent(&self, t: &mut Token<crate::sync::order::Unlocked>) -> bool {
        if !self.state.is_unlocked() {
            return false;
        }
        let st = self.state.read(t);
        st.publishers.values().all(|p| p.state.is_unlocked()) && st.subscribers.values().all(|s| s.state.is_unlocked())
    }
}

impl<R: Runtime> RoomState<R> {
    pub fn live(&self, room: RoomId) -> Result<()> {
        if self.destroyed {
            Err(Error::NoSuchRoom(room))
        } else {
            Ok(())
        }
    }

    pub fn has_publisher(&self, me: &Arc<Publisher<R>>) -> bool {
        self.publishers.get(&me.id).is_some_and(|p| Arc::ptr_eq(p, me))
    }

    pub fn has_subscriber(&self, me: &Arc<Subscriber<R>>) -> bool {
        self.subscribers.get(&me.handle).is_some_and(|s| Arc::ptr_eq(s, me))
    }

    /// Queues `body` for every publisher-role participant but `except`.
    pub fn notify_publishers(&self, except: Option<ParticipantId>, out: &mut Outbox<R>, body: RoomEvent) {
        for p in self.publishers.values().filter(|p| Some(p.id) != except) {
            out.push(&p.queue, notification(p.handle, body.clone()));
        }
    }
}

pub(crate) fn notification(sender: HandleId, body: RoomEvent) -> Event {
    Event::new(Some(sender), None, EventBody::VideoRoom(body))
}

pub(crate) fn reply(sender: HandleId, transaction: Option<String>, body: RoomEvent) -> Event {
    Event::new(Some(sender), transaction, EventBody::VideoRoom(body))
}

impl<R: Runtime> Core<R> {
    /// Looks a room up; the registry lock is released before this returns.
    pub(crate) fn find_room<P: Before<levels::Rooms>>(&self, t: &mut Token<P>, id: RoomId) -> Result<Arc<Room<R>>> {
        self.rooms.read(t).rooms.get(&id).cloned().ok_or(Error::NoSuchRoom(id))
    }
}
