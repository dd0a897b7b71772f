//! Janus sessions and plugin handles: create, keepalive, claim, timeout, destroy; attach,
//! detach, hangup.
//!
//! A session is alive until one of destroy, timeout or its transport going away flips `alive`
//! under the session's lock; exactly one of them wins, and it alone tears the handles down.
//! At that moment it reserves the session queue's closing place: events linearized before it are
//! delivered, later ones are dropped, and a timeout's `timeout` event is the last one.

use std::collections::BTreeMap;
use std::mem;
use std::sync::Arc;

use crate::sync::levels;
use crate::sync::lockdep;
use crate::sync::order::{Mutex, Token, Unlocked};
use crate::sync::queue::Ticket;
use crate::sync::Runtime;

use super::error::{Error, Result};
use super::event::{Event, EventBody, Transaction};
use super::ids::{HandleId, IdGen, SessionId, TransportId};
use super::outbox::{Outbox, SessionQueue};
use super::room::Role;
use super::Core;

/// The plugins a handle can attach to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plugin {
    VideoRoom,
    EchoTest,
}

impl Plugin {
    pub fn package(self) -> &'static str {
        match self {
            Plugin::VideoRoom => "janus.plugin.videoroom",
            Plugin::EchoTest => "janus.plugin.echotest",
        }
    }

    pub fn from_package(name: &str) -> Result<Plugin> {
        match name {
            "janus.plugin.videoroom" => Ok(Plugin::VideoRoom),
            "janus.plugin.echotest" => Ok(Plugin::EchoTest),
            other => Err(Error::NoSuchPlugin(other.to_string())),
        }
    }
}

pub(crate) struct SessionMap<R: Runtime> {
    pub sessions: BTreeMap<SessionId, Arc<Session<R>>>,
    ids: IdGen,
}

impl<R: Runtime> SessionMap<R> {
    pub fn new(ids: IdGen) -> Self {
        SessionMap { sessions: BTreeMap::new(), ids }
    }
}

pub struct Session<R: Runtime> {
    pub id: SessionId,
    queue: Arc<SessionQueue<R>>,
    state: Mutex<levels::Session, SessionState<R>, R>,
}

struct SessionState<R: Runtime> {
    alive: bool,
    transport: TransportId,
    last_activity_ms: u64,
    handles: BTreeMap<HandleId, Arc<Handle<R>>>,
    ids: IdGen,
}

pub struct Handle<R: Runtime> {
    pub id: HandleId,
    pub session: SessionId,
    pub plugin: Plugin,
    pub opaque_id: Option<String>,
    /// When it was attached (the core's clock, ms).
    pub created_ms: u64,
    pub(crate) queue: Arc<SessionQueue<R>>,
    pub(crate) state: Mutex<levels::Handle, HandleState<R>, R>,
}

impl<R: Runtime> Handle<R> {
    /// The owner of a PeerConnection this handle opens.
    pub fn peer(&self, kind: super::seams::LegKind) -> super::seams::PeerOwner {
        super::seams::PeerOwner { session: self.session, handle: self.id, kind }
    }
}

pub(crate) struct HandleState<R: Runtime> {
    pub detached: bool,
    pub role: Role<R>,
    /// Candidates trickled before the handle's PeerConnection existed (bounded).
    pub early_candidates: Vec<super::seams::TrickleCandidate>,
}

/// A session that lost its `alive` flag and still has to be torn down.
struct Dying<R: Runtime> {
    handles: Vec<Arc<Handle<R>>>,
    close: Ticket,
}

impl<R: Runtime> Session<R> {
    /// The queue of events for this session's client.
    pub fn events(&self) -> &Arc<SessionQueue<R>> {
        &self.queue
    }

    fn kill_if(&self, t: &mut Token<Unlocked>, pred: impl FnOnce(&SessionState<R>) -> bool) -> Option<Dying<R>> {
        let mut s = self.state.lock(t);
        if !s.alive || !pred(&s) {
            return None;
        }
        s.alive = false;
        let handles = mem::take(&mut s.handles).into_values().collect();
        Some(Dying { handles, close: self.queue.reserve() })
    }

    /// The transport connection that owns this session, or `None` once it is gone.
    pub fn owner(&self) -> Option<TransportId> {
        let mut t = Token::root::<R>();
        let st = self.state.lock(&mut t);
        st.alive.then_some(st.transport)
    }

    /// Handle `handle`, the session's last activity (ms) and its transport, without counting as
    /// activity (the admin API's introspection).
    pub(crate) fn peek_handle(
        &self,
        t: &mut Token<Unlocked>,
        handle: HandleId,
    ) -> Result<(Arc<Handle<R>>, u64, TransportId)> {
        let st = self.state.lock(t);
        if !st.alive {
            return Err(Error::NoSuchSession(self.id));
        }
        let h = st.handles.get(&handle).cloned().ok_or(Error::NoSuchHandle { session: self.id, handle })?;
        Ok((h, st.last_activity_ms, st.transport))
    }

    pub(crate) fn handle_count(&self, t: &mut Token<Unlocked>) -> usize {
        let st = self.state.lock(t);
        if st.alive {
            st.handles.len()
        } else {
            0
        }
    }

    /// The ids of this session's handles.
    pub fn handle_ids(&self) -> Vec<HandleId> {
        self.state.lock(&mut Token::root::<R>()).handles.keys().copied().collect()
    }

    pub(crate) fn is_quiescent(&self, t: &mut Token<Unlocked>) -> bool {
        if !self.state.is_unlocked() || !self.queue.is_settled() {
            return false;
        }
        let handles: Vec<_> = self.state.lock(t).handles.values().cloned().collect();
        handles.iter().all(|h| h.state.is_unlocked())
    }
}

impl<R: Runtime> Handle<R> {
    pub(crate) fn gone(&self) -> Error {
        Error::NoSuchHandle { session: self.session, handle: self.id }
    }

    /// Queues an event from this handle to its session (e.g. the error event of a failed
    /// asynchronous request). Like every delivery, only with no core lock held.
    pub fn send(&self, transaction: Option<Transaction>, body: EventBody) {
        lockdep::assert_none_held::<R>("sending an event");
        let ticket = self.queue.reserve();
        self.queue.fill(ticket, Some(Event::new(Some(self.id), transaction, body)));
    }
}

impl<R: Runtime> Core<R> {
    /// `create`: a new session owned by `transport`, with the client's `id` if it chose one.
    pub fn create_session(&self, id: Option<SessionId>, transport: TransportId) -> Result<Arc<Session<R>>> {
        let mut t = Self::enter();
        let now = self.clock.now_ms();
        let mut map = self.sessions.write(&mut t);
        let id = match id {
            Some(id) if map.sessions.contains_key(&id) => return Err(Error::SessionConflict(id)),
            Some(id) => id,
            None => {
                let SessionMap { sessions, ids } = &mut *map;
                ids.id(|v| sessions.contains_key(&v))
            }
        };
        let ids = map.ids.fork();
        let session = Arc::new(Session {
            id,
            queue: Arc::new(SessionQueue::new(self.config.event_queue_capacity)),
            state: Mutex::new(SessionState {
                alive: true,
                transport,
                last_activity_ms: now,
                handles: BTreeMap::new(),
                ids,
            }),
        });
        map.sessions.insert(id, session.clone());
        Ok(session)
    }

    pub(crate) fn find_session(&self, t: &mut Token<Unlocked>, id: SessionId) -> Result<Arc<Session<R>>> {
        self.sessions.read(t).sessions.get(&id).cloned().ok_or(Error::NoSuchSession(id))
    }

    /// Looks a live session up and counts the request as activity.
    pub fn session(&self, id: SessionId) -> Result<Arc<Session<R>>> {
        self.in_session(id, |s, _| s.clone())
    }

    /// Runs `f` on a live session's state, under its lock, counting the request as activity.
    fn in_session<T>(&self, id: SessionId, f: impl FnOnce(&Arc<Session<R>>, &mut SessionState<R>) -> T) -> Result<T> {
        let mut t = Self::enter();
        let s = self.find_session(&mut t, id)?;
        let mut st = s.state.lock(&mut t);
        if !st.alive {
            return Err(Error::NoSuchSession(id));
        }
        st.last_activity_ms = self.clock.now_ms();
        Ok(f(&s, &mut st))
    }

    /// Every live session's id (the admin API's `list_sessions`).
    pub fn list_sessions(&self) -> Vec<SessionId> {
        self.sessions.read(&mut Self::enter()).sessions.keys().copied().collect()
    }

    /// `keepalive`.
    pub fn keepalive(&self, id: SessionId) -> Result<()> {
        self.session(id).map(drop)
    }

    /// `claim`: moves the session to another transport connection.
    pub fn claim(&self, id: SessionId, transport: TransportId) -> Result<()> {
        self.in_session(id, |_, st| st.transport = transport)
    }

    /// `destroy`: detaches every handle and closes the session's queue.
    pub fn destroy_session(&self, id: SessionId) -> Result<()> {
        let mut t = Self::enter();
        let s = self.find_session(&mut t, id)?;
        let dying = s.kill_if(&mut t, |_| true).ok_or(Error::NoSuchSession(id))?;
        self.bury(&mut t, &s, dying, None);
        Ok(())
    }

    /// Destroys every session idle for longer than the session timeout, each with a final
    /// `timeout` event, and every session whose client fell a whole queue behind (a slow
    /// client is dropped; it never holds a room back). Returns their ids.
    pub fn sweep_timeouts(&self) -> Vec<SessionId> {
        let timeout = self.session_timeout_ms();
        let now = self.clock.now_ms();
        let idle = |st: &SessionState<R>| timeout > 0 && now.saturating_sub(st.last_activity_ms) >= timeout;
        self.kill_where(|s, st| idle(st) || s.queue.overflowed(), Some(EventBody::Timeout))
    }

    /// The transport connection went away (e.g. a WebSocket closed): its sessions are destroyed.
    pub fn transport_gone(&self, transport: TransportId) -> Vec<SessionId> {
        self.kill_where(|_, st| st.transport == transport, None)
    }

    fn kill_where(
        &self,
        pred: impl Fn(&Session<R>, &SessionState<R>) -> bool,
        last: Option<EventBody>,
    ) -> Vec<SessionId> {
        let mut t = Self::enter();
        let all: Vec<_> = self.sessions.read(&mut t).sessions.values().cloned().collect();
        let mut killed = Vec::new();
        for s in all {
            if let Some(dying) = s.kill_if(&mut t, |st| pred(&s, st)) {
                let last = last.clone().map(|body| Event::new(None, None, body));
                self.bury(&mut t, &s, dying, last);
                killed.push(s.id);
            }
        }
        killed
    }

    /// Tears a dead session down: out of the registry, every handle ended, queue closed.
    fn bury(&self, t: &mut Token<Unlocked>, s: &Arc<Session<R>>, dying: Dying<R>, last: Option<Event>) {
        {
            let mut map = self.sessions.write(t);
            if map.sessions.get(&s.id).is_some_and(|x| Arc::ptr_eq(x, s)) {
                map.sessions.remove(&s.id);
            }
        }
        let mut out = Outbox::new();
        for h in &dying.handles {
            self.end_handle(t, h, &mut out);
        }
        s.queue.close_at(dying.close, last);
        out.deliver(t);
    }

    /// `attach`: a new handle on `plugin`.
    pub fn attach(&self, session: SessionId, plugin: Plugin, opaque_id: Option<String>) -> Result<Arc<Handle<R>>> {
        let created_ms = self.clock.now_ms();
        self.in_session(session, |s, st| {
            let SessionState { handles, ids, .. } = st;
            let id = ids.id(|v| handles.contains_key(&v));
            let handle = Arc::new(Handle {
                id,
                session,
                plugin,
                opaque_id,
                created_ms,
                queue: s.queue.clone(),
                state: Mutex::new(HandleState { detached: false, role: Role::Idle, early_candidates: Vec::new() }),
            });
            handles.insert(id, handle.clone());
            handle
        })
    }

    /// Looks a handle up (the request counts as session activity).
    pub fn handle(&self, session: SessionId, handle: HandleId) -> Result<Arc<Handle<R>>> {
        self.in_session(session, |_, st| st.handles.get(&handle).cloned())?
            .ok_or(Error::NoSuchHandle { session, handle })
    }

    /// `detach`: ends the handle (leaving its room) and sends `detached`.
    pub fn detach(&self, session: SessionId, handle: HandleId) -> Result<()> {
        let h = self.in_session(session, |_, st| st.handles.remove(&handle))?;
        let h = h.ok_or(Error::NoSuchHandle { session, handle })?;
        let mut t = Self::enter();
        let mut out = Outbox::new();
        self.end_handle(&mut t, &h, &mut out);
        out.push(&h.queue, Event::new(Some(h.id), None, EventBody::Detached));
        out.deliver(&mut t);
        Ok(())
    }

    /// Ends a handle that was already removed from its session's table.
    fn end_handle(&self, t: &mut Token<Unlocked>, h: &Handle<R>, out: &mut Outbox<R>) {
        let mut hg = h.state.lock(t);
        if hg.detached {
            return;
        }
        hg.detached = true;
        let (st, ht) = hg.split();
        let role = mem::replace(&mut st.role, Role::Idle);
        self.end_role(ht, role, out);
    }

    /// `hangup`: the handle's PeerConnection is closed; a publisher stops publishing, a
    /// subscriber's streams stop. The handle stays attached.
    pub fn hangup(&self, session: SessionId, handle: HandleId, reason: &str) -> Result<()> {
        let h = self.handle(session, handle)?;
        let mut t = Self::enter();
        let mut out = Outbox::new();
        {
            let mut hg = h.state.lock(&mut t);
            if hg.detached {
                return Err(h.gone());
            }
            let (st, ht) = hg.split();
            if h.plugin == Plugin::EchoTest {
                out.push(&h.queue, super::echotest::result(&h, None, "done"));
            }
            if self.hangup_role(ht, &mut st.role, &mut out) {
                out.push(&h.queue, Event::new(Some(h.id), None, EventBody::Hangup { reason: reason.into() }));
            }
        }
        out.deliver(&mut t);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::CoreConfig;
    use crate::media::{SystemClock, UdpSockets};
    use crate::sync::ParkingLot;

    fn core() -> Core<ParkingLot> {
        let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
        Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets)
    }

    #[test]
    fn sessions_follow_janus() {
        let c = core();
        let s = c.create_session(Some(424242), 1).unwrap();
        assert_eq!(s.id, 424242);
        assert_eq!(c.create_session(Some(424242), 1).err().map(|e| e.code()), Some(468));
        let fresh = c.create_session(None, 1).unwrap();
        assert!(fresh.id > 0 && fresh.id <= crate::core::ids::MAX_ID);
        assert_eq!(c.keepalive(7).unwrap_err().to_string(), "No such session 7");
        let h = c.attach(s.id, Plugin::EchoTest, None).unwrap();
        assert_eq!(c.detach(s.id, 9).unwrap_err().to_string(), format!("No such handle 9 in session {}", s.id));
        c.claim(s.id, 2).unwrap();
        assert_eq!(c.transport_gone(1), vec![fresh.id], "the claimed session moved to transport 2");
        c.detach(s.id, h.id).unwrap();
        assert!(matches!(s.events().drain().last().map(|e| e.body.clone()), Some(EventBody::Detached)));
        assert_eq!(c.handle(s.id, h.id).err().map(|e| e.code()), Some(459));
        c.destroy_session(s.id).unwrap();
        assert!(s.events().is_closed());
        assert_eq!(c.destroy_session(s.id).unwrap_err().code(), 458);
        assert_eq!(Plugin::from_package("janus.plugin.nope").unwrap_err().code(), 460);
        assert!(c.is_quiescent());
    }

    #[test]
    fn queue_overflow_drops_only_the_slow_session() {
        let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
        let config = CoreConfig { event_queue_capacity: 2, ..CoreConfig::default() };
        let c: Core<ParkingLot> = Core::new(config, Arc::new(SystemClock::default()), sockets);
        let slow = c.create_session(None, 1).unwrap();
        let fine = c.create_session(None, 1).unwrap();
        for _ in 0..3 {
            let h = c.attach(slow.id, Plugin::EchoTest, None).unwrap();
            c.detach(slow.id, h.id).unwrap();
        }
        assert!(slow.events().overflowed());
        assert_eq!(c.sweep_timeouts(), vec![slow.id], "only the slow session goes");
        assert_eq!(c.keepalive(slow.id).unwrap_err().code(), 458);
        c.keepalive(fine.id).unwrap();
    }
}
