//! The races of `../shared/reference/janus-concurrency-bugs.md`, written once against the real
//! core and run by loom (`loom_core.rs`), shuttle (`shuttle_core.rs`) and real threads.
//!
//! Each scenario builds its world inside the model, races two or three operations, joins the
//! threads (liveness: a deadlock fails the checker), checks the invariant the bug broke, and ends
//! with a quiescence check (no lock left held, no event left undelivered: a leaked guard fails).

#![allow(dead_code)]

use vroom::core::event::RoomEvent;
use vroom::core::room::{FeedSel, JoinPublisher, PublisherConfigure, RoomConfig, SubscribeJoin, SwitchSel};
use vroom::core::{EventBody, Plugin};

use crate::common::*;

fn notify_joining() -> RoomConfig {
    RoomConfig { notify_joining: true, ..RoomConfig::default() }
}

/// JCB-01 (#3463): publisher P's media comes up and the room is told, while someone lists the
/// participants. Both finish; the list shows P once, entirely before or after; Q hears of P once.
pub fn notify_publisher_vs_listparticipants<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Negotiated);
    let q = w.publisher(2, Stage::Joined);
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let notifier = R::spawn(move || core.media_up(&ph));
    let listed = w.core.list_participants(ROOM).unwrap();
    assert!(notifier().unwrap(), "P was negotiated: media_up announces it");
    assert_eq!(listed.iter().filter(|e| e.id == 1).count(), 1);
    assert!(w.core.list_participants(ROOM).unwrap().iter().any(|e| e.id == 1 && e.publisher));
    assert_eq!(times_told_of_feed(&room_events(&q.session), 1), 1, "Q hears of P exactly once");
    w.assert_quiescent();
}

/// JCB-01, configure variant: P changes its display while someone lists: the list shows the old
/// or the new name, never anything else.
pub fn configure_vs_listparticipants<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Active);
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let configurer = R::spawn(move || {
        let c = PublisherConfigure {
            display: Some("renamed".into()),
            descriptions: vec![("1".into(), "cam".into())],
            ..Default::default()
        };
        core.configure_publisher(&ph, c, None)
    });
    let listed = w.core.list_participants(ROOM).unwrap();
    configurer().unwrap();
    let display = listed.iter().find(|e| e.id == 1).and_then(|e| e.display.clone());
    assert!(matches!(display.as_deref(), Some("p1") | Some("renamed")), "half state: {display:?}");
    w.assert_quiescent();
}

/// A participant joins while a publisher's media comes up: it learns of that publisher exactly
/// once (in `joined` or in one later event), and `joined` comes first.
pub fn join_vs_media_up<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Negotiated);
    let j = w.attach();
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let notifier = R::spawn(move || core.media_up(&ph));
    let join = JoinPublisher { room: ROOM, id: Some(2), ..Default::default() };
    w.core.join_publisher(&j.handle, join, Some("t".into())).unwrap();
    notifier().unwrap();
    let seen = room_events(&j.session);
    assert!(matches!(seen.first(), Some(RoomEvent::Joined { .. })), "joined must come first: {seen:?}");
    assert_eq!(times_told_of_feed(&seen, 1), 1, "told of P exactly once: {seen:?}");
    w.assert_quiescent();
}

/// How a feed goes away.
#[derive(Clone, Copy, Debug)]
pub enum FeedEnd {
    Unpublish,
    Leave,
    Kick,
    Detach,
}

fn end_feed<R: Model>(w: &World<R>, p: &Member<R>, how: FeedEnd) -> Box<dyn FnOnce()> {
    let (core, ph, session, id) = (w.core.clone(), p.handle.clone(), p.session.id, p.id);
    let ender = R::spawn(move || match how {
        FeedEnd::Unpublish => core.unpublish(&ph, None),
        FeedEnd::Leave => core.leave(&ph, None),
        FeedEnd::Kick => core.kick(ROOM, None, id),
        FeedEnd::Detach => core.detach(session, ph.id),
    });
    Box::new(move || ender().unwrap())
}

/// After a subscriber's streams lost their feed, it must have been told: its last `updated`
/// lists every stream of feed 1 as inactive.
fn assert_told_inactive(seen: &[RoomEvent]) {
    let last = seen.iter().rev().find_map(|e| match e {
        RoomEvent::Updated { streams, .. } => Some(streams),
        _ => None,
    });
    let streams = last.unwrap_or_else(|| panic!("subscriber never told its feed went away: {seen:?}"));
    assert!(streams.iter().filter(|s| s.feed_id == 1).all(|s| !s.active), "{seen:?}");
}

/// JCB-05/JCB-17 family: P's feed ends (unpublish, leave, kick or detach) while a subscriber
/// joins it. Either a clear 428, or the subscriber is attached and then told the streams went
/// inactive; P's fan-out never keeps a subscriber of a gone feed.
pub fn feed_end_vs_subscriber_join<R: Model>(how: FeedEnd) {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Active);
    let s = w.attach();
    let ender = end_feed(&w, &p, how);
    let join = SubscribeJoin {
        room: ROOM,
        streams: vec![FeedSel { feed: 1, mid: None, ..Default::default() }],
        ..Default::default()
    };
    let joined = w.core.join_subscriber(&s.handle, join, None);
    ender();
    match joined {
        Err(e) => assert_eq!(e.code(), 428, "{e}"),
        Ok(()) => {
            w.core.start(&s.handle, None, None).unwrap();
            assert_told_inactive(&room_events(&s.session));
        }
    }
    assert!(w.core.fanout(ROOM, 1).unwrap().iter().all(|(_, targets)| targets.is_empty()));
    w.assert_quiescent();
}

/// P unpublishes while a started subscriber switches a stream onto P: a clear 428, or the
/// switched stream is then marked inactive and the subscriber told.
pub fn feed_end_vs_switch<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Active);
    let _q = w.publisher(2, Stage::Active);
    let s = w.attach();
    let join = SubscribeJoin {
        room: ROOM,
        streams: vec![FeedSel { feed: 2, mid: Some("1".into()), ..Default::default() }],
        ..Default::default()
    };
    w.core.join_subscriber(&s.handle, join, None).unwrap();
    w.core.start(&s.handle, None, None).unwrap();
    s.session.events().drain();
    let ender = end_feed(&w, &p, FeedEnd::Unpublish);
    let switched = w.core.switch(&s.handle, &[SwitchSel { feed: 1, mid: "1".into(), sub_mid: "0".into() }], None);
    ender();
    match switched {
        Err(e) => assert_eq!(e.code(), 428, "{e}"),
        Ok(()) => assert_told_inactive(&room_events(&s.session)),
    }
    assert!(w.core.fanout(ROOM, 1).unwrap().iter().all(|(_, t)| t.is_empty()));
    w.assert_quiescent();
}

/// JCB-06/JCB-18: the room is destroyed while a publisher joins and someone lists. After
/// destroy nothing can join, and every participant hears `destroyed` exactly once.
pub fn room_destroy_vs_join_and_list<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Active);
    let j = w.attach();
    let core = w.core.clone();
    let destroyer = R::spawn(move || core.destroy_room(ROOM, None));
    let (core, jh) = (w.core.clone(), j.handle.clone());
    let joiner = R::spawn(move || {
        core.join_publisher(&jh, JoinPublisher { room: ROOM, id: Some(2), ..Default::default() }, None)
    });
    let listed = w.core.list_participants(ROOM);
    destroyer().unwrap();
    let joined = joiner();
    if let Err(e) = &listed {
        assert_eq!(e.code(), 426);
    }
    let destroyed = |evs: &[RoomEvent]| evs.iter().filter(|e| matches!(e, RoomEvent::Destroyed { .. })).count();
    assert_eq!(destroyed(&room_events(&p.session)), 1);
    match joined {
        Ok(()) => assert_eq!(destroyed(&room_events(&j.session)), 1),
        Err(e) => assert_eq!(e.code(), 426, "{e}"),
    }
    let late = w.attach();
    let e = w.core.join_publisher(&late.handle, JoinPublisher { room: ROOM, ..Default::default() }, None).unwrap_err();
    assert_eq!(e.code(), 426);
    assert_eq!(w.core.list_participants(ROOM).unwrap_err().code(), 426);
    assert_eq!(w.sockets.open(), 0, "the destroyed room's media endpoints are closed");
    w.assert_quiescent();
}

/// The room is destroyed while its publisher publishes: publish succeeds before or fails with
/// 426 after; the publisher hears `destroyed` once; no endpoint is left open.
pub fn room_destroy_vs_publish<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Joined);
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let publisher = R::spawn(move || core.publish(&ph, av_publish(), None));
    w.core.destroy_room(ROOM, None).unwrap();
    if let Err(e) = publisher() {
        assert_eq!(e.code(), 426, "{e}");
    }
    let evs = room_events(&p.session);
    assert_eq!(evs.iter().filter(|e| matches!(e, RoomEvent::Destroyed { .. })).count(), 1);
    assert_eq!(w.sockets.open(), 0);
    w.assert_quiescent();
}

/// JCB-09/JCB-20: a session is destroyed while the room notifies it. Its queue gets the event
/// before the close or not at all; nothing after the close; the room forgets it.
pub fn session_destroy_vs_notification<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let gone = w.publisher(1, Stage::Joined);
    let p = w.publisher(2, Stage::Negotiated);
    let (core, sid) = (w.core.clone(), gone.session.id);
    let destroyer = R::spawn(move || core.destroy_session(sid));
    w.core.media_up(&p.handle).unwrap();
    destroyer().unwrap();
    assert!(gone.session.events().is_closed());
    let seen = room_events(&gone.session);
    assert!(times_told_of_feed(&seen, 2) <= 1 && seen.len() == times_told_of_feed(&seen, 2), "{seen:?}");
    assert_eq!(w.core.keepalive(sid).unwrap_err().code(), 458);
    let ids: Vec<_> = w.core.list_participants(ROOM).unwrap().iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![2]);
    w.assert_quiescent();
}

/// JCB-11: the timeout sweep races a keepalive. Exactly one wins: kept alive, or timed out with
/// `timeout` as its last event and 458 afterwards.
pub fn session_timeout_vs_keepalive<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let m = w.publisher(1, Stage::Joined);
    w.clock.set(TIMEOUT_MS);
    let core = w.core.clone();
    let sweeper = R::spawn(move || core.sweep_timeouts());
    let kept = w.core.keepalive(m.session.id);
    let swept = sweeper();
    assert_eq!(kept.is_ok(), swept.is_empty(), "exactly one outcome: {kept:?} {swept:?}");
    if !swept.is_empty() {
        let evs = events(&m.session);
        assert!(matches!(evs.last().map(|e| &e.body), Some(EventBody::Timeout)), "{evs:?}");
        assert_eq!(w.core.keepalive(m.session.id).unwrap_err().code(), 458);
        assert!(w.core.list_participants(ROOM).unwrap().is_empty());
    }
    w.assert_quiescent();
}

/// JCB-10: the transport closes while the timeout sweep runs: the session is destroyed exactly
/// once, with a `timeout` event only if the sweep won.
pub fn transport_close_vs_timeout<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let m = w.attach_on(9);
    w.clock.set(TIMEOUT_MS);
    let core = w.core.clone();
    let sweeper = R::spawn(move || core.sweep_timeouts());
    let closed = w.core.transport_gone(9);
    let swept = sweeper();
    assert_eq!(closed.len() + swept.len(), 1, "destroyed exactly once: {closed:?} {swept:?}");
    let timeouts = events(&m.session).iter().filter(|e| e.body == EventBody::Timeout).count();
    assert_eq!(timeouts, swept.len());
    w.assert_quiescent();
}

/// Kick races the participant's own leave: exactly one succeeds; the others hear exactly one
/// of `kicked` / `leaving`; the participant gets exactly one `leaving ok`.
pub fn kick_vs_leave<R: Model>() {
    let w = World::<R>::new(notify_joining());
    let p = w.publisher(1, Stage::Joined);
    let other = w.publisher(2, Stage::Joined);
    let core = w.core.clone();
    let kicker = R::spawn(move || core.kick(ROOM, None, 1));
    let left = w.core.leave(&p.handle, None);
    let kicked = kicker();
    assert!(left.is_ok() != kicked.is_ok(), "exactly one wins: {left:?} {kicked:?}");
    if let Err(e) = &left {
        assert_eq!(e.code(), 433);
    }
    if let Err(e) = &kicked {
        assert_eq!(e.code(), 428);
    }
    let heard = room_events(&other.session);
    let about_p = heard
        .iter()
        .filter(|e| matches!(e, RoomEvent::Kicked { id: 1, .. } | RoomEvent::Leaving { id: 1, .. }))
        .count();
    assert_eq!(about_p, 1, "{heard:?}");
    let mine = room_events(&p.session);
    assert_eq!(mine.iter().filter(|e| matches!(e, RoomEvent::LeavingOk { .. })).count(), 1, "{mine:?}");
    w.assert_quiescent();
}

/// JCB-02 (#3468): publishing fails because the media socket cannot be created, while other
/// requests use the room. The error comes back; afterwards every lock can be taken, nothing is
/// left open, and a retry succeeds.
pub fn socket_failure_in_publish<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Joined);
    let q = w.publisher(2, Stage::Active);
    w.sockets.fail_media.store(true, std::sync::atomic::Ordering::SeqCst);
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let publisher = R::spawn(move || core.publish(&ph, av_publish(), None));
    let c = PublisherConfigure { display: Some("q".into()), ..Default::default() };
    w.core.configure_publisher(&q.handle, c, None).unwrap();
    w.core.list_participants(ROOM).unwrap();
    assert_eq!(publisher().unwrap_err().code(), 499);
    w.assert_quiescent();
    assert_eq!(w.sockets.open(), 1, "only Q's endpoint is open");
    w.sockets.fail_media.store(false, std::sync::atomic::Ordering::SeqCst);
    w.core.publish(&p.handle, av_publish(), None).unwrap();
    assert_eq!(w.sockets.open(), 2);
    w.assert_quiescent();
}

/// JCB-02 (#3468) itself: `rtp_forward` cannot create its socket while the room is listed. The
/// error comes back; the room stays usable; no forwarder or socket is left behind.
pub fn socket_failure_in_rtp_forward<R: Model>() {
    use vroom::core::room::{ForwardRequest, ForwardStream};
    let w = World::<R>::new(RoomConfig::default());
    let _p = w.publisher(1, Stage::Active);
    w.sockets.fail_forwarders.store(true, std::sync::atomic::Ordering::SeqCst);
    let req = ForwardRequest {
        room: ROOM,
        secret: None,
        publisher: 1,
        streams: vec![ForwardStream { mid: "1".into(), target: ([127, 0, 0, 1], 5004).into(), substream: 0 }],
    };
    let core = w.core.clone();
    let r = req.clone();
    let forwarder = R::spawn(move || core.rtp_forward(r));
    w.core.list_participants(ROOM).unwrap();
    assert_eq!(forwarder().unwrap_err().code(), 499);
    w.assert_quiescent();
    assert!(w.core.list_forwarders(ROOM, None).unwrap().is_empty());
    assert_eq!(w.sockets.open(), 1, "only the publisher's endpoint");
    w.sockets.fail_forwarders.store(false, std::sync::atomic::Ordering::SeqCst);
    let made = w.core.rtp_forward(req).unwrap();
    assert_eq!(w.sockets.open(), 2);
    w.core.stop_rtp_forward(ROOM, None, 1, made[0].stream_id).unwrap();
    assert_eq!(w.sockets.open(), 1);
    w.assert_quiescent();
}

/// JCB-17: a subscriber's join races the detach of its own handle: no ghost subscriber is left
/// in the room or in the publisher's fan-out.
pub fn subscriber_join_vs_detach<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let _p = w.publisher(1, Stage::Active);
    let s = w.attach();
    let (core, sid, hid) = (w.core.clone(), s.session.id, s.handle.id);
    let detacher = R::spawn(move || core.detach(sid, hid));
    let join = SubscribeJoin {
        room: ROOM,
        streams: vec![FeedSel { feed: 1, mid: None, ..Default::default() }],
        ..Default::default()
    };
    if let Err(e) = w.core.join_subscriber(&s.handle, join, None) {
        assert_eq!(e.code(), 459, "{e}");
    }
    detacher().unwrap();
    assert!(w.core.fanout(ROOM, 1).unwrap().iter().all(|(_, t)| t.is_empty()));
    {
        let mut t = vroom::sync::order::Token::root::<R>();
        assert_eq!(w.core.room(ROOM).unwrap().read(&mut t).subscriber_count(), 0);
    }
    assert_eq!(w.sockets.open(), 1, "only the publisher's endpoint");
    w.assert_quiescent();
}

/// JCB-07: a malformed join on one room never blocks requests on other rooms.
pub fn malformed_join_vs_other_rooms<R: Model>() {
    let w = World::<R>::new(RoomConfig { pin: Some("1234".into()), ..RoomConfig::default() });
    let j = w.attach();
    let (core, jh) = (w.core.clone(), j.handle.clone());
    let joiner = R::spawn(move || {
        core.join_publisher(&jh, JoinPublisher { room: ROOM, pin: Some("wrong".into()), ..Default::default() }, None)
    });
    let other = w.core.create_room(Some(7), RoomConfig::default(), None).unwrap();
    assert!(w.core.room_exists(other));
    w.core.destroy_room(other, None).unwrap();
    assert_eq!(joiner().unwrap_err().code(), 433);
    w.assert_quiescent();
}

/// JCB-12/JCB-13 (single thread): destroying a room with publishers and subscribers, and a
/// join with notify_joining, finish; every handle is told once and stays usable for detach.
pub fn room_destroy_ends_everyone<R: Model>() {
    let w = World::<R>::new(notify_joining());
    let a = w.publisher(1, Stage::Active);
    let b = w.publisher(2, Stage::Joined);
    let s = w.attach();
    let join = SubscribeJoin {
        room: ROOM,
        streams: vec![FeedSel { feed: 1, mid: None, ..Default::default() }],
        ..Default::default()
    };
    w.core.join_subscriber(&s.handle, join, None).unwrap();
    for m in [&a, &b, &s] {
        m.session.events().drain();
    }
    w.core.destroy_room(ROOM, None).unwrap();
    for m in [&a, &b, &s] {
        let evs = room_events(&m.session);
        assert_eq!(evs, vec![RoomEvent::Destroyed { room: ROOM }]);
        w.core.detach(m.session.id, m.handle.id).unwrap();
    }
    assert_eq!(w.sockets.open(), 0);
    let other = w.core.attach(a.session.id, Plugin::EchoTest, None).unwrap();
    w.core.detach(a.session.id, other.id).unwrap();
    w.assert_quiescent();
}

/// The event queue itself: an event racing the queue's close is either delivered before the
/// closing event or dropped, never after it.
pub fn event_queue_close_is_last<R: Model>() {
    use std::sync::Arc;
    use vroom::sync::queue::{EventQueue, Fill};
    let q = Arc::new(EventQueue::<u32, R>::new(4));
    let sender = q.clone();
    let send = R::spawn(move || {
        let t = sender.reserve();
        sender.fill(t, Some(1))
    });
    let t = q.reserve();
    q.close_at(t, Some(99));
    let sent = send();
    let got = q.drain();
    // Accepted events come before the closing one. An event may be accepted provisionally and
    // still dropped, if the close took an earlier place but settled later.
    match sent {
        Fill::Queued => assert!(got == vec![1, 99] || got == vec![99], "{got:?}"),
        Fill::Closed => assert_eq!(got, vec![99]),
        other => panic!("unexpected {other:?}"),
    }
    let stats = q.stats();
    assert_eq!(stats.queued as usize, got.len(), "{stats:?}");
    assert!(q.is_settled());
}

/// Three participants' worth of requests at once: P's media comes up then it unpublishes; a
/// newcomer joins and lists; a subscriber joins P and leaves. Everything finishes, the newcomer
/// hears of P at most once, and nothing is left in P's fan-out or locked.
pub fn room_soup<R: Model>() {
    let w = World::<R>::new(RoomConfig::default());
    let p = w.publisher(1, Stage::Negotiated);
    let j = w.attach();
    let s = w.attach();
    let (core, ph) = (w.core.clone(), p.handle.clone());
    let publisher = R::spawn(move || {
        core.media_up(&ph).unwrap();
        core.unpublish(&ph, None).unwrap();
    });
    let (core, jh) = (w.core.clone(), j.handle.clone());
    let joiner = R::spawn(move || {
        core.join_publisher(&jh, JoinPublisher { room: ROOM, id: Some(2), ..Default::default() }, None).unwrap();
        core.list_participants(ROOM).unwrap()
    });
    let join = SubscribeJoin {
        room: ROOM,
        streams: vec![FeedSel { feed: 1, mid: None, ..Default::default() }],
        ..Default::default()
    };
    if w.core.join_subscriber(&s.handle, join, None).is_ok() {
        w.core.leave(&s.handle, None).unwrap();
    }
    publisher();
    let listed = joiner();
    assert!(listed.iter().any(|e| e.id == 2));
    assert!(times_told_of_feed(&room_events(&j.session), 1) <= 1);
    assert!(w.core.fanout(ROOM, 1).unwrap().iter().all(|(_, t)| t.is_empty()));
    assert_eq!(w.sockets.open(), 0, "P unpublished and S left: no endpoint stays open");
    w.assert_quiescent();
}

/// The media news inbox (`sync/inbox.rs`): a reader that drains whenever it is woken, as the
/// core's news task does, misses nothing the shard posts, and a leg's up never comes after its
/// down. A post that left news without a wake would leave it stranded at the end.
pub fn inbox_wakes_for_what_is_left<R: Model>() {
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::Arc;
    use vroom::sync::inbox::{Inbox, News};
    use vroom::sync::RtAtomicU64;

    /// What one leg said, in order: 'u' up, 'd' down.
    #[derive(Debug)]
    struct Said(Vec<char>);
    impl News for Said {
        fn merge(&mut self, later: Said) {
            self.0.extend(later.0);
        }
    }
    let inbox = Arc::new(Inbox::<u8, Said, R>::new());
    let wakes = Arc::new(R::AtomicU64::new(0));
    let w = wakes.clone();
    inbox.set_waker(Arc::new(move || {
        w.fetch_add(1, SeqCst);
    }));
    let done = Arc::new(R::AtomicU64::new(0));
    let (shard, finished) = (inbox.clone(), done.clone());
    let producer = R::spawn(move || {
        shard.post(1, Said(vec!['u']));
        shard.post_all([(2, Said(vec!['u'])), (1, Said(vec!['d']))]);
        finished.store(1, SeqCst);
    });
    let mut got = inbox.drain();
    let mut seen = 0;
    loop {
        let woken = wakes.load(SeqCst);
        if woken > seen {
            seen = woken;
            got.extend(inbox.drain());
        } else if done.load(SeqCst) == 1 && wakes.load(SeqCst) == seen {
            break;
        } else {
            R::yield_now();
        }
    }
    producer();
    assert!(inbox.is_empty(), "news left with no wake for it");
    let said =
        |leg: u8| -> Vec<char> { got.iter().filter(|(k, _)| *k == leg).flat_map(|(_, n)| n.0.clone()).collect() };
    assert_eq!(said(1), ['u', 'd']);
    assert_eq!(said(2), ['u']);
    let stats = inbox.stats();
    assert_eq!(stats.posted, 3);
    assert_eq!(stats.delivered, got.len() as u64);
}

/// The hand-off between media shards (`sync/ring.rs`), its producer and consumer on two
/// threads: what the producer put in and the ring did not refuse comes out once and in order,
/// and the producer never waits (a full ring refuses). With loom, a slot touched by both sides
/// at once fails the model.
pub fn ring_hands_over_in_order<R: Model>() {
    use vroom::sync::ring::ring;
    let (mut tx, mut rx) = ring::<u64, R>(2);
    let producer = R::spawn(move || {
        let mut put = Vec::new();
        for i in 1..=4 {
            if tx.push(i).is_ok() {
                put.push(i);
            }
        }
        (put, tx.refused())
    });
    let mut got = Vec::new();
    // Takes while the producer runs (a bounded number of tries keeps the model finite).
    for _ in 0..3 {
        match rx.pop() {
            Some(i) => got.push(i),
            None => R::yield_now(),
        }
    }
    let (put, refused) = producer();
    while let Some(i) = rx.pop() {
        got.push(i);
    }
    assert_eq!(got, put, "everything put comes out once, in order");
    assert_eq!(put.len() as u64 + refused, 4, "each item was put or refused");
    assert!(put.len() >= 2, "an empty ring of two takes two: {put:?}");
}

/// The consumer goes (its shard closed the leg) while items are in flight: each item is
/// dropped exactly once, whether it was taken, refused, or left in the ring.
pub fn ring_dropped_with_items_in_flight<R: Model>() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use vroom::sync::ring::ring;

    /// Counts its drops (a test instrument: std atomics, no scheduling point).
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = ring::<Counted, R>(2);
    let d = drops.clone();
    let producer = R::spawn(move || {
        for _ in 0..3 {
            let _ = tx.push(Counted(d.clone()));
        }
    });
    // A yield gives loom a point to run the producer first: without one it explored a single
    // order (measured: 1 execution against 48).
    R::yield_now();
    drop(rx.pop());
    drop(rx);
    producer();
    assert_eq!(drops.load(SeqCst), 3, "every item dropped once");
}

/// Two media shards and the core (`media/handoff.rs`): shard 0 reads two publishers' packets
/// and fans them out, to its own subscriber directly and to shard 1's through the ring; the
/// core moves shard 1's subscriber from the first publisher to the second, then has shard 1
/// close it. Checked: each publisher's packets reach each subscriber in order; no packet of the
/// first publisher that shard 1 fans in after the move reaches the subscriber; nothing reaches
/// it after its close; every packet meant for shard 1 was taken or refused (counted), none
/// lost silently; and nothing waits (loom fails a deadlock).
pub fn handoff_keeps_order_and_nothing_passes_a_move_or_a_close<R: Model>() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    use vroom::media::handoff::{fan_in, fan_out, mesh, Split};
    use vroom::sync::{RtAtomicU64, RtSwap};

    /// A subscriber stream. Its record is a test instrument (std types: no scheduling point);
    /// `closed` is written and read by its own shard only, as a leg's is.
    struct Sub {
        shard: usize,
        closed: AtomicBool,
        got: Mutex<Vec<u64>>,
    }
    impl Sub {
        fn new(shard: usize) -> Arc<Sub> {
            Arc::new(Sub { shard, closed: AtomicBool::new(false), got: Mutex::new(Vec::new()) })
        }
        /// What `Leg::forward` does first: nothing for a closed leg.
        fn forward(&self, n: u64) {
            if !self.closed.load(SeqCst) {
                self.got.lock().unwrap().push(n);
            }
        }
    }
    type Fanout = Split<Arc<Sub>>;
    let split =
        |subs: &[&Arc<Sub>]| Arc::new(Split::new(2, subs.iter().map(|s| Arc::clone(s)), |s: &Arc<Sub>| s.shard));

    let (local, remote) = (Sub::new(0), Sub::new(1));
    let publishers: Arc<[R::Swap<Fanout>; 2]> =
        Arc::new([R::Swap::new(split(&[&local, &remote])), R::Swap::new(split(&[&local]))]);
    let moved = Arc::new(R::AtomicU64::new(0));
    let close = Arc::new(R::AtomicU64::new(0));
    let mut ends = mesh::<(usize, u64), R>(2, 2);
    let mut shard1 = ends.pop().unwrap();
    let mut shard0 = ends.pop().unwrap();

    // Shard 0 reads packets 1, 2 of publisher 0 and 101, 102 of publisher 1.
    let p = publishers.clone();
    let shard0 = R::spawn(move || {
        let (mut meant, mut refused) = (Vec::new(), Vec::new());
        for (publisher, n) in [(0, 1), (1, 101), (0, 2), (1, 102)] {
            let mut local_copies = 0;
            let fanned = fan_out(
                &mut shard0,
                &p[publisher],
                |f| Some(f),
                || (publisher, n),
                |s| {
                    local_copies += 1;
                    s.forward(n)
                },
            );
            assert_eq!(local_copies, 1, "one subscriber on shard 0");
            assert_eq!(fanned.handed > 0, shard0.handed_to().any(|k| k == 1), "handed, and said so");
            if fanned.refused > 0 {
                refused.push(n);
            }
            if fanned.handed + fanned.refused > 0 {
                meant.push(n);
            }
        }
        (meant, refused)
    });
    // The core moves the remote subscriber, then closes it through its shard.
    let (p, l, r, m, c) = (publishers.clone(), local.clone(), remote.clone(), moved.clone(), close.clone());
    let core = R::spawn(move || {
        p[0].store(split(&[&l]));
        p[1].store(split(&[&l, &r]));
        m.store(1, SeqCst);
        c.store(1, SeqCst);
    });

    // Shard 1: its commands, then what was handed to it.
    let mut taken = Vec::new();
    let mut step = |shard1: &mut vroom::media::handoff::Ends<(usize, u64), R>| {
        if close.load(SeqCst) == 1 {
            remote.closed.store(true, SeqCst);
        }
        let Some((publisher, n)) = shard1.take() else { return false };
        taken.push(n);
        let after_move = moved.load(SeqCst) == 1;
        fan_in::<_, _, R>(
            1,
            &publishers[publisher],
            |f| Some(f),
            |s: &Arc<Sub>| {
                assert!(!(after_move && publisher == 0), "packet {n} of the old publisher fanned in after the move");
                s.forward(n);
            },
        );
        true
    };
    for _ in 0..3 {
        if !step(&mut shard1) {
            R::yield_now();
        }
    }
    let (meant, refused) = shard0();
    core();
    while step(&mut shard1) {}
    step(&mut shard1);
    assert!(shard1.is_idle());

    // Every packet whose snapshot had shard 1's subscriber was taken there or refused, once.
    let mut accounted: Vec<u64> = taken.iter().chain(&refused).copied().collect();
    accounted.sort_unstable();
    let mut meant = meant;
    meant.sort_unstable();
    assert_eq!(accounted, meant, "taken or refused, once each");
    assert_eq!(shard1.refused(), 0, "shard 1 handed nothing");
    let got = remote.got.lock().unwrap().clone();
    let ordered = |from: u64| got.iter().filter(|&&n| (n >= 100) == (from >= 100)).is_sorted();
    assert!(ordered(1) && ordered(101), "each publisher's packets in order: {got:?}");
    assert!(got.iter().all(|n| taken.contains(n)), "only what was taken");
    assert_eq!(*local.got.lock().unwrap(), [1, 101, 2, 102], "the publisher's own shard forwards everything");
    // Closed: whatever is handed from now on reaches nobody on shard 1.
    assert!(remote.closed.load(SeqCst));
    let before = got.len();
    fan_in::<_, _, R>(1, &publishers[1], |f| Some(f), |s: &Arc<Sub>| s.forward(999));
    assert_eq!(remote.got.lock().unwrap().len(), before, "nothing after the close");
}

/// The recorder's spool (`sync/spool.rs`): a shard puts one recording's two packets (1 byte
/// each) and then its close (0 bytes), another puts a second recording's packet, against a writer
/// that takes everything and sleeps whenever it found nothing, until a put tells it to wake.
/// Each recording's items come out in order and the close after its packets; each item is
/// taken or refused (past the 2-byte budget), never both, and a close is never refused; no
/// more than the budget waits at once; and when the writer sleeps for good, nothing is left:
/// a put is never slept through.
pub fn spool_keeps_order_and_never_sleeps_through_a_put<R: Model>() {
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::Arc;
    use vroom::sync::spool::{Put, Spool};
    use vroom::sync::RtAtomicU64;

    const CLOSE: u32 = 99;
    let spool = Arc::new(Spool::<(u8, u32), R>::new(2));
    // Wake-ups owed to the writer (an unpark each), and the producers done.
    let wakes = Arc::new(R::AtomicU64::new(0));
    let done = Arc::new(R::AtomicU64::new(0));
    let producer = |recording: u8, items: Vec<(u32, usize)>| {
        let (spool, wakes, done) = (spool.clone(), wakes.clone(), done.clone());
        R::spawn(move || {
            let mut refused = Vec::new();
            for (n, size) in items {
                match spool.put((recording, n), size) {
                    Put::Refused => refused.push(n),
                    Put::Wake => {
                        wakes.fetch_add(1, SeqCst);
                    }
                    Put::Queued => {}
                }
            }
            done.fetch_add(1, SeqCst);
            refused
        })
    };
    let shard0 = producer(0, vec![(1, 1), (2, 1), (CLOSE, 0)]);
    let shard1 = producer(1, vec![(1, 1)]);

    // The writer.
    let (mut got, mut batch, mut woken) = (Vec::new(), Vec::new(), 0);
    loop {
        assert!(spool.bytes() <= 2, "at most the budget waits");
        spool.take_all(&mut batch);
        if !batch.is_empty() {
            got.append(&mut batch);
            continue;
        }
        // Asleep until a put says wake; with both producers done and no wake owed, for good.
        if wakes.load(SeqCst) > woken {
            woken += 1;
        } else if done.load(SeqCst) == 2 && wakes.load(SeqCst) == woken {
            break;
        } else {
            R::yield_now();
        }
    }
    let (refused0, refused1) = (shard0(), shard1());
    spool.take_all(&mut batch);
    assert!(batch.is_empty(), "the writer slept for good with {batch:?} waiting");

    for (recording, refused, all) in [(0u8, &refused0, vec![1, 2, CLOSE]), (1, &refused1, vec![1])] {
        let taken: Vec<u32> = got.iter().filter(|(r, _)| *r == recording).map(|(_, n)| *n).collect();
        assert!(taken.is_sorted(), "recording {recording} in order: {taken:?}");
        let mut accounted: Vec<u32> = taken.iter().chain(refused.iter()).copied().collect();
        accounted.sort_unstable();
        assert_eq!(accounted, all, "recording {recording}: each item taken or refused, once");
    }
    assert!(!refused0.contains(&CLOSE), "a close is never refused");
    assert_eq!(spool.refused(), (refused0.len() + refused1.len()) as u64);
}
