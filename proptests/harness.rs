//! Drives the real core with the requests of `spec.rs` and reports its answers as `Ret`s.

#![allow(dead_code)]

use std::collections::BTreeMap;

use vroom::core::event::RoomEvent;
use vroom::core::room::{FeedSel, JoinPublisher, PublisherConfigure, RoomConfig, SubscribeJoin};
use vroom::core::{Error, EventBody, Session};

use crate::common::{av_publish, Member, Model, World, ROOM};
use crate::spec::{id_of, Op, Ret, MAX_PUBLISHERS, PUBS, SUBS};

pub struct Sut<R: Model> {
    pub world: World<R>,
    pub pubs: Vec<Member<R>>,
    pub subs: Vec<Member<R>>,
}

/// What one thread has drained from the queues of the publisher handles it owns.
#[derive(Default)]
pub struct Inbox {
    told: BTreeMap<u8, Vec<u64>>,
}

impl<R: Model> Sut<R> {
    pub fn new() -> Self {
        let world = World::<R>::new(RoomConfig { max_publishers: MAX_PUBLISHERS as u32, ..RoomConfig::default() });
        let pubs = (0..PUBS).map(|_| world.attach()).collect();
        let subs = (0..SUBS).map(|_| world.attach()).collect();
        Sut { world, pubs, subs }
    }

    fn sub_index(&self, handle: u64) -> Option<u8> {
        self.subs.iter().position(|m| m.handle.id == handle).map(|i| i as u8)
    }

    /// Subscriber streams per (feed id, subscriber index), read from the publishers' fan-out.
    pub fn fanout(&self) -> BTreeMap<(u64, u8), usize> {
        let mut m = BTreeMap::new();
        for h in 0..PUBS {
            let Ok(streams) = self.world.core.fanout(ROOM, id_of(h)) else { continue };
            for target in streams.into_iter().flat_map(|(_, targets)| targets) {
                let s = self.sub_index(target.subscriber).expect("fan-out to a known subscriber");
                *m.entry((id_of(h), s)).or_insert(0) += 1;
            }
        }
        m
    }

    /// Runs `op` on the core. `inbox` keeps the notifications drained from the owned queues.
    pub fn exec(&self, op: &Op, inbox: &mut Inbox) -> Ret {
        let core = &self.world.core;
        let p = |h: u8| &self.pubs[h as usize].handle;
        let s = |i: u8| &self.subs[i as usize].handle;
        let all = |f: u8| vec![FeedSel { feed: id_of(f), mid: None, ..Default::default() }];
        let done = |r: Result<(), Error>| r.map_or_else(|e| Ret::Err(e.code()), |()| Ret::Ok);
        match *op {
            Op::Join(h) => {
                let join = JoinPublisher {
                    room: ROOM,
                    id: Some(id_of(h)),
                    display: Some(format!("p{}", id_of(h))),
                    ..Default::default()
                };
                match core.join_publisher(p(h), join, None) {
                    Err(e) => Ret::Err(e.code()),
                    Ok(()) => Ret::Joined(self.drain(h, inbox).expect("joined is queued")),
                }
            }
            Op::JoinAndPublish(h) => {
                let join = JoinPublisher {
                    room: ROOM,
                    id: Some(id_of(h)),
                    display: Some(format!("p{}", id_of(h))),
                    ..Default::default()
                };
                match core.join_and_publish(p(h), join, av_publish(), None) {
                    Err(e) => Ret::Err(e.code()),
                    Ok(()) => Ret::Joined(self.drain(h, inbox).expect("joined is queued")),
                }
            }
            Op::Publish(h) => done(core.publish(p(h), av_publish(), None)),
            Op::MediaUp(h) => core.media_up(p(h)).map_or_else(|e| Ret::Err(e.code()), Ret::Up),
            Op::Unpublish(h) => done(core.unpublish(p(h), None)),
            Op::Leave(h) => done(core.leave(p(h), None)),
            Op::Kick(h) => done(core.kick(ROOM, None, id_of(h))),
            Op::Rename(h, n) => done(core.configure_publisher(
                p(h),
                PublisherConfigure { display: Some(format!("name{n}")), ..Default::default() },
                None,
            )),
            Op::SubJoin(i, f) => done(core.join_subscriber(
                s(i),
                SubscribeJoin { room: ROOM, streams: all(f), ..Default::default() },
                None,
            )),
            Op::SubAdd(i, f) => done(core.update_subscription(s(i), &all(f), &[], None)),
            Op::SubLeave(i) => done(core.leave(s(i), None)),
            Op::List => match core.list_participants(ROOM) {
                Err(e) => Ret::Err(e.code()),
                Ok(list) => {
                    Ret::Listed(list.into_iter().map(|e| (e.id, e.publisher, e.display.unwrap_or_default())).collect())
                }
            },
            Op::Told(h) => {
                // An event is committed when its place in the queue is reserved, under the lock
                // of the change that caused it; the sender fills the place right after releasing
                // its locks. A reader sees it once filled: wait for places already reserved.
                while !self.pubs[h as usize].session.events().is_settled() {
                    R::yield_now();
                }
                self.drain(h, inbox);
                let mut told = inbox.told.get(&h).cloned().unwrap_or_default();
                told.sort();
                told.dedup();
                Ret::Told(told)
            }
            Op::Destroy => done(core.destroy_room(ROOM, None)),
        }
    }

    /// Drains publisher handle `h`'s queue: new-feed notifications go to `inbox`; returns the
    /// publishers of a `joined` reply if there was one.
    fn drain(&self, h: u8, inbox: &mut Inbox) -> Option<Vec<u64>> {
        let session: &Session<R> = &self.pubs[h as usize].session;
        let mut joined = None;
        for e in session.events().drain() {
            match e.body {
                EventBody::VideoRoom(RoomEvent::Joined { publishers, .. }) => {
                    joined = Some(publishers.iter().map(|p| p.id).collect())
                }
                EventBody::VideoRoom(RoomEvent::NewPublishers { publishers, .. }) => {
                    inbox.told.entry(h).or_default().extend(publishers.iter().map(|p| p.id))
                }
                _ => {}
            }
        }
        joined
    }
}
