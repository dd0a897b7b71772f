//! What every model test shares: the test seams (a manual clock, a socket factory that fails on
//! demand and counts open sockets), the `Model` trait that adds thread spawning to a backend,
//! and helpers that build a room with participants in a given state.
//!
//! The test seams use std atomics on purpose: they are test instruments, not part of the
//! synchronization being checked, so they add no scheduling points.

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use vroom::core::event::{MediaKind, RoomEvent, SubStreamInfo};
use vroom::core::ids::{ParticipantId, RoomId};
use vroom::core::room::{FanoutTarget, JoinPublisher, Publish, RoomConfig, StreamSpec};
use vroom::core::seams::{Clock, ForwarderSocket, MediaPort, PeerOwner, SocketFactory, TrickleCandidate};
use vroom::core::{Core, CoreConfig, Event, EventBody, Handle, Plugin, Session};
use vroom::sync::Runtime;

/// Implements `Runtime` and `Model` for a model checker whose API mirrors std's (loom and
/// shuttle do), as newtypes: the traits are vroom's and the types the checker's.
macro_rules! model_backend {
    ($backend:ident, $krate:ident) => {
        use std::cell::RefCell;
        use std::sync::atomic::Ordering;

        use vroom::sync::lockdep::HeldLocks;
        use vroom::sync::{RtAtomicU64, RtCell, RtMutex, RtRwLock, RtSwap, Runtime};

        use $crate::common::Model;

        pub struct $backend;
        pub struct Mutex<T>($krate::sync::Mutex<T>);
        pub struct RwLock<T>($krate::sync::RwLock<T>);
        pub struct AtomicU64($krate::sync::atomic::AtomicU64);
        /// The checker's lock around the shared pointer: a load or store is one step, as an
        /// atomic pointer swap is.
        pub struct Swap<T>($krate::sync::Mutex<std::sync::Arc<T>>);

        impl Runtime for $backend {
            type Mutex<T: Send> = Mutex<T>;
            type RwLock<T: Send + Sync> = RwLock<T>;
            type AtomicU64 = AtomicU64;
            type Cell<T: Send> = Cell<T>;
            type Swap<T: Send + Sync> = Swap<T>;

            fn with_held<T>(f: impl FnOnce(&mut HeldLocks) -> T) -> T {
                $krate::thread_local! {
                    static HELD: RefCell<HeldLocks> = RefCell::new(HeldLocks::default());
                }
                HELD.with(|h| f(&mut h.borrow_mut()))
            }
        }

        impl Model for $backend {
            fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T> {
                let h = $krate::thread::spawn(f);
                Box::new(move || h.join().expect("model thread panicked"))
            }
            fn yield_now() {
                $krate::thread::yield_now()
            }
        }

        impl<T: Send> RtMutex<T> for Mutex<T> {
            type Guard<'a>
                = $krate::sync::MutexGuard<'a, T>
            where
                T: 'a;
            fn new(value: T) -> Self {
                Mutex($krate::sync::Mutex::new(value))
            }
            #[track_caller]
            fn lock(&self) -> Self::Guard<'_> {
                self.0.lock().unwrap()
            }
            fn try_lock(&self) -> Option<Self::Guard<'_>> {
                self.0.try_lock().ok()
            }
        }

        impl<T: Send + Sync> RtRwLock<T> for RwLock<T> {
            type Read<'a>
                = $krate::sync::RwLockReadGuard<'a, T>
            where
                T: 'a;
            type Write<'a>
                = $krate::sync::RwLockWriteGuard<'a, T>
            where
                T: 'a;
            fn new(value: T) -> Self {
                RwLock($krate::sync::RwLock::new(value))
            }
            #[track_caller]
            fn read(&self) -> Self::Read<'_> {
                self.0.read().unwrap()
            }
            #[track_caller]
            fn write(&self) -> Self::Write<'_> {
                self.0.write().unwrap()
            }
            fn try_write(&self) -> Option<Self::Write<'_>> {
                self.0.try_write().ok()
            }
        }

        impl<T: Send + Sync> RtSwap<T> for Swap<T> {
            type Loaded<'a>
                = Box<std::sync::Arc<T>>
            where
                T: 'a;
            fn new(value: std::sync::Arc<T>) -> Self {
                Swap($krate::sync::Mutex::new(value))
            }
            fn load(&self) -> Self::Loaded<'_> {
                Box::new(self.0.lock().unwrap().clone())
            }
            fn store(&self, value: std::sync::Arc<T>) {
                *self.0.lock().unwrap() = value;
            }
        }

        impl RtAtomicU64 for AtomicU64 {
            fn new(value: u64) -> Self {
                AtomicU64($krate::sync::atomic::AtomicU64::new(value))
            }
            fn load(&self, order: Ordering) -> u64 {
                self.0.load(order)
            }
            fn store(&self, value: u64, order: Ordering) {
                self.0.store(value, order)
            }
            fn fetch_add(&self, value: u64, order: Ordering) -> u64 {
                self.0.fetch_add(value, order)
            }
            fn fetch_max(&self, value: u64, order: Ordering) -> u64 {
                self.0.fetch_max(value, order)
            }
        }
    };
}

pub mod loom_rt;
pub mod shuttle_rt;

/// A backend that can also start threads (loom's, shuttle's, or real ones).
pub trait Model: Runtime {
    fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T>;
    fn yield_now();
}

impl Model for vroom::sync::ParkingLot {
    fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Box<dyn FnOnce() -> T> {
        let h = std::thread::spawn(f);
        Box::new(move || h.join().expect("thread panicked"))
    }
    fn yield_now() {
        std::thread::yield_now()
    }
}

#[derive(Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn set(&self, ms: u64) {
        self.0.store(ms, SeqCst)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(SeqCst)
    }
    fn unix_us(&self) -> i64 {
        self.0.load(SeqCst) as i64 * 1000
    }
}

/// Sockets that exist only as a count; `fail_*` makes the next creations fail.
#[derive(Default)]
pub struct FakeSockets {
    pub fail_media: AtomicBool,
    pub fail_forwarders: AtomicBool,
    open: Arc<AtomicI64>,
}

struct FakeSocket {
    open: Arc<AtomicI64>,
    target: SocketAddr,
}

impl Drop for FakeSocket {
    fn drop(&mut self) {
        self.open.fetch_sub(1, SeqCst);
    }
}

impl MediaPort for FakeSocket {
    fn local_addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], 40000).into()
    }
    fn answer(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _offer: &str,
    ) -> Result<String, String> {
        Ok("v=0 answer".into())
    }
    fn offer(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        streams: &[SubStreamInfo],
    ) -> Result<String, String> {
        Ok(format!("v=0 offer of {} streams", streams.len()))
    }
    fn accept_answer(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _answer: &str,
    ) -> Result<(), String> {
        Ok(())
    }
    fn add_candidate(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _candidate: Option<&TrickleCandidate>,
    ) -> Result<(), String> {
        Ok(())
    }
    // The model tests read fan-outs from the core itself (`Core::fanout`), not from the ports.
    fn set_fanout(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _mid: &str,
        _targets: &[FanoutTarget],
    ) {
    }
    fn set_paused(&self, _paused: bool) {}
    fn set_send(&self, _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>, _mid: &str, _send: bool) {}
    fn set_layers(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _mid: &str,
        _layers: vroom::core::event::LayerChoice,
    ) -> (Option<u8>, Option<u8>) {
        (None, None)
    }
    fn set_limits(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        _limits: vroom::core::seams::PublisherLimits,
    ) {
    }
    fn set_forwarders(&self, _forwarders: &[vroom::core::seams::ForwardTo]) {}
    fn request_keyframe(&self, _mid: &str) {}
    fn info(
        &self,
        _held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
    ) -> vroom::core::seams::PeerInfo {
        vroom::core::seams::PeerInfo::default()
    }
}

impl vroom::core::seams::PacketSink for FakeSocket {
    fn send(&self, _packet: &[u8]) {}
}

impl ForwarderSocket for FakeSocket {
    fn local_addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], 40001).into()
    }
    fn target(&self) -> SocketAddr {
        self.target
    }
}

impl FakeSockets {
    /// Sockets created and not yet closed.
    pub fn open(&self) -> i64 {
        self.open.load(SeqCst)
    }

    fn make(&self, fail: &AtomicBool, target: SocketAddr) -> io::Result<FakeSocket> {
        if fail.load(SeqCst) {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, "injected socket failure"));
        }
        self.open.fetch_add(1, SeqCst);
        Ok(FakeSocket { open: self.open.clone(), target })
    }
}

impl SocketFactory for FakeSockets {
    fn open_media(&self, _owner: PeerOwner) -> io::Result<Box<dyn MediaPort>> {
        Ok(Box::new(self.make(&self.fail_media, ([127, 0, 0, 1], 9).into())?))
    }
    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>> {
        Ok(Arc::new(self.make(&self.fail_forwarders, target)?))
    }
    fn open_recording(&self, _spec: vroom::core::seams::RecordSpec) -> Arc<dyn vroom::core::seams::PacketSink> {
        Arc::new(vroom::record::Nowhere)
    }
}

pub const ROOM: RoomId = 1234;
pub const TIMEOUT_MS: u64 = 60_000;

/// How far along a publisher is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Joined,
    /// Published, media not up yet.
    Negotiated,
    /// Media up: a feed.
    Active,
}

pub struct Member<R: Runtime> {
    pub session: Arc<Session<R>>,
    pub handle: Arc<Handle<R>>,
    pub id: ParticipantId,
}

pub struct World<R: Runtime> {
    pub core: Arc<Core<R>>,
    pub sockets: Arc<FakeSockets>,
    pub clock: Arc<ManualClock>,
}

/// A publish request with an audio and a video stream.
pub fn av_publish() -> Publish {
    Publish { streams: audio_video(), display: None, offer: "v=0 offer".into(), ..Default::default() }
}

pub fn audio_video() -> Vec<StreamSpec> {
    let s = |kind, mid: &str, codec: &str| StreamSpec {
        kind,
        mid: mid.into(),
        codec: Some(codec.into()),
        profile: None,
        description: None,
        disabled: false,
        simulcast: false,
        audio_level: false,
    };
    vec![s(MediaKind::Audio, "0", "opus"), s(MediaKind::Video, "1", "vp8")]
}

impl<R: Runtime> World<R> {
    /// A core with room `ROOM` made with `config`.
    pub fn new(config: RoomConfig) -> Self {
        let sockets = Arc::new(FakeSockets::default());
        let clock = Arc::new(ManualClock::default());
        let core_config =
            CoreConfig { session_timeout_ms: TIMEOUT_MS, event_queue_capacity: 64, admin_key: None, id_seed: 7 };
        let core = Arc::new(Core::new(core_config, clock.clone(), sockets.clone()));
        core.create_room(Some(ROOM), config, None).unwrap();
        World { core, sockets, clock }
    }

    /// A session on `transport` with one VideoRoom handle.
    pub fn attach_on(&self, transport: u64) -> Member<R> {
        let session = self.core.create_session(None, transport).unwrap();
        let handle = self.core.attach(session.id, Plugin::VideoRoom, None).unwrap();
        Member { session, handle, id: 0 }
    }

    pub fn attach(&self) -> Member<R> {
        self.attach_on(1)
    }

    /// A publisher with id `id`, brought to `stage`; its events so far are drained.
    pub fn publisher(&self, id: ParticipantId, stage: Stage) -> Member<R> {
        let mut m = self.attach();
        let join = JoinPublisher { room: ROOM, id: Some(id), display: Some(format!("p{id}")), ..Default::default() };
        self.core.join_publisher(&m.handle, join, None).unwrap();
        m.id = id;
        if stage != Stage::Joined {
            self.core.publish(&m.handle, av_publish(), None).unwrap();
        }
        if stage == Stage::Active {
            assert!(self.core.media_up(&m.handle).unwrap());
        }
        m.session.events().drain();
        m
    }

    /// Passes when no lock is held and no event is left undelivered (a leaked guard fails it).
    pub fn assert_quiescent(&self) {
        assert!(self.core.is_quiescent(), "a core lock is still held, or an event was never delivered");
    }
}

/// The room events a session has received so far.
pub fn room_events<R: Runtime>(s: &Session<R>) -> Vec<RoomEvent> {
    s.events()
        .drain()
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::VideoRoom(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Every event a session has received so far.
pub fn events<R: Runtime>(s: &Session<R>) -> Vec<Event> {
    s.events().drain()
}

/// How many times `events` tell of publisher `id` as a feed (in `joined` or `publishers`).
pub fn times_told_of_feed(events: &[RoomEvent], id: ParticipantId) -> usize {
    events
        .iter()
        .map(|e| match e {
            RoomEvent::Joined { publishers, .. } | RoomEvent::NewPublishers { publishers, .. } => {
                publishers.iter().filter(|p| p.id == id).count()
            }
            _ => 0,
        })
        .sum()
}
