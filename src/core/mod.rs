//! vroom's core: Janus sessions, plugin handles and VideoRoom rooms as state machines over
//! `crate::sync`. No tokio, sockets or JSON in here: each operation takes typed input, changes
//! state under ordered locks, returns a typed result or a Janus-coded [`Error`], and delivers the
//! events it caused to the sessions' bounded queues after every lock is released.
//!
//! The public methods of [`Core`] are the entry points: each starts from the root token, so none
//! may be called while a core lock is held (checked at run time in debug builds).

use std::sync::Arc;

use crate::sync::order::{RwLock, Token, Unlocked};
use crate::sync::Runtime;

pub mod census;
mod echotest;
pub mod error;
pub mod event;
pub mod ids;
pub mod introspect;
pub mod outbox;
mod peer;
pub mod room;
pub mod seams;
pub mod session;

pub use error::{Error, Result};
pub use event::{Event, EventBody, RoomEvent};
pub use session::{Handle, Plugin, Session};

use ids::IdGen;
use room::RoomMap;
use seams::{Clock, SocketFactory};
use session::SessionMap;

/// Settings the core needs (the server's TOML config maps onto this).
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// A session with no request for this long is destroyed with a `timeout` event; 0 = never.
    pub session_timeout_ms: u64,
    /// Events a session may have waiting before it counts as a slow client.
    pub event_queue_capacity: usize,
    /// When set, `create` (and listing private rooms) needs this `admin_key`.
    pub admin_key: Option<String>,
    /// Seed of the id generators (random in production, fixed in tests).
    pub id_seed: u64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig { session_timeout_ms: 60_000, event_queue_capacity: 1024, admin_key: None, id_seed: 0x5eed }
    }
}

pub struct Core<R: Runtime> {
    pub(crate) config: CoreConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sockets: Arc<dyn SocketFactory>,
    pub(crate) sessions: RwLock<crate::sync::levels::Sessions, SessionMap<R>, R>,
    pub(crate) rooms: RwLock<crate::sync::levels::Rooms, RoomMap<R>, R>,
    /// The session timeout in force (ms; 0 = never): the configuration's, until the admin API's
    /// `set_session_timeout` changes it.
    pub(crate) session_timeout_ms: R::AtomicU64,
}

impl<R: Runtime> Core<R> {
    pub fn new(config: CoreConfig, clock: Arc<dyn Clock>, sockets: Arc<dyn SocketFactory>) -> Self {
        let mut ids = IdGen::new(config.id_seed);
        let sessions = RwLock::new(SessionMap::new(ids.fork()));
        let rooms = RwLock::new(RoomMap::new(ids.fork()));
        let session_timeout_ms = <R::AtomicU64 as crate::sync::RtAtomicU64>::new(config.session_timeout_ms);
        Core { config, clock, sockets, sessions, rooms, session_timeout_ms }
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The session timeout in force, ms (0: never).
    pub fn session_timeout_ms(&self) -> u64 {
        crate::sync::RtAtomicU64::load(&self.session_timeout_ms, std::sync::atomic::Ordering::Relaxed)
    }

    /// Changes the session timeout (the admin API's `set_session_timeout`); 0: never.
    pub fn set_session_timeout_ms(&self, ms: u64) {
        crate::sync::RtAtomicU64::store(&self.session_timeout_ms, ms, std::sync::atomic::Ordering::Relaxed)
    }

    /// The token of an entry point (panics in debug builds if a core lock is held).
    #[track_caller]
    pub(crate) fn enter() -> Token<Unlocked> {
        Token::root::<R>()
    }

    /// True if no core lock is held and no event is waiting to be delivered. Tests call it
    /// after their threads are joined: a lock leaked on an error path (Janus #3468) fails it.
    pub fn is_quiescent(&self) -> bool {
        if !self.sessions.is_unlocked() || !self.rooms.is_unlocked() {
            return false;
        }
        let mut t = Self::enter();
        let sessions: Vec<_> = self.sessions.read(&mut t).sessions.values().cloned().collect();
        let rooms: Vec<_> = self.rooms.read(&mut t).rooms.values().cloned().collect();
        sessions.iter().all(|s| s.is_quiescent(&mut t)) && rooms.iter().all(|r| r.is_quiescent(&mut t))
    }
}

impl<R: Runtime> Core<R> {
    /// Opens a PeerConnection's media endpoint. Needs the root token: never under a lock.
    pub(crate) fn open_media(
        &self,
        _t: &mut Token<Unlocked>,
        owner: seams::PeerOwner,
    ) -> Result<Box<dyn seams::MediaPort>> {
        self.sockets.open_media(owner).map_err(|e| Error::Internal(format!("Could not open media socket ({e})")))
    }

    /// Opens an RTP forwarder's socket. Needs the root token: never under a lock.
    pub(crate) fn open_forwarder(
        &self,
        _t: &mut Token<Unlocked>,
        target: std::net::SocketAddr,
    ) -> Result<Arc<dyn seams::ForwarderSocket>> {
        self.sockets
            .open_forwarder(target)
            .map_err(|e| Error::Internal(format!("Could not open UDP socket for RTP forwarder ({e})")))
    }
}
