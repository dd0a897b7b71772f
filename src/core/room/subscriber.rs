//! Subscribers: join with a list of feed streams, start, pause, subscribe, unsubscribe, update,
//! switch, leave. One subscription may carry streams of many publishers.
//!
//! Every change to which publisher streams a subscriber receives happens under the room's write
//! lock, so a subscriber's stream list read under the room lock stays valid while the publishers
//! (an earlier level than subscribers) are locked to change their fan-out.

use std::sync::Arc;

use crate::sync::levels;
use crate::sync::order::{MediaCall, Mutex, Token};
use crate::sync::Runtime;

use super::access::Request;
use super::publisher::{FanoutTarget, Media};
use super::{reply, Role, RoomState, Seat};
use crate::core::error::{Error, Result};
use crate::core::event::{Jsep, LayerChoice, MediaKind, RoomEvent, SdpKind, SubStreamInfo, Transaction};
use crate::core::ids::{HandleId, ParticipantId, PrivateId, RoomId};
use crate::core::outbox::{Outbox, SessionQueue};
use crate::core::seams::{LegKind, MediaPort};
use crate::core::session::{Handle, HandleState};
use crate::core::Core;

pub struct Subscriber<R: Runtime> {
    pub handle: HandleId,
    pub(crate) queue: Arc<SessionQueue<R>>,
    pub(crate) state: Mutex<levels::Subscriber, SubscriberState, R>,
}

pub(crate) struct SubscriberState {
    pub streams: Vec<SubStreamInfo>,
    /// vroom sent an offer the client has not answered (with `start`) yet.
    pub offer_pending: bool,
    /// The subscription changed while an offer was pending: offer again after `start`.
    pub update_pending: bool,
    pub started: bool,
    pub paused: bool,
    pub port: Option<Box<dyn MediaPort>>,
    pub left: bool,
}

/// What a VideoRoom handle has joined as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinedAs {
    Nothing,
    Publisher,
    Subscriber,
    Left,
}

/// One entry of a subscriber's `streams` in `join` or `subscribe`: a feed, and one of its mids
/// (all of its streams when `mid` is `None`).
#[derive(Clone, Debug, Default)]
pub struct FeedSel {
    pub feed: ParticipantId,
    pub mid: Option<String>,
    /// The simulcast layers wanted from its video.
    pub layers: LayerChoice,
}

/// One entry of a subscriber's `configure`: a stream (every stream when `mid` is `None`) and
/// what changes on it. Layers apply to video streams only.
#[derive(Clone, Debug, Default)]
pub struct StreamConfigure {
    pub mid: Option<String>,
    pub send: Option<bool>,
    pub layers: LayerChoice,
}

/// One entry of `unsubscribe`: by subscription mid, or by feed (and mid).
#[derive(Clone, Debug, Default)]
pub struct UnsubSel {
    pub feed: Option<ParticipantId>,
    pub mid: Option<String>,
    pub sub_mid: Option<String>,
}

/// One entry of `switch`: subscription stream `sub_mid` now carries `feed`'s `mid`.
#[derive(Clone, Debug)]
pub struct SwitchSel {
    pub feed: ParticipantId,
    pub mid: String,
    pub sub_mid: String,
}

/// `join` as a subscriber.
#[derive(Clone, Debug, Default)]
pub struct SubscribeJoin {
    pub room: RoomId,
    pub pin: Option<String>,
    pub private_id: Option<PrivateId>,
    pub streams: Vec<FeedSel>,
}

impl UnsubSel {
    fn matches(&self, s: &SubStreamInfo) -> bool {
        match (&self.sub_mid, self.feed) {
            (Some(sub_mid), _) => &s.mid == sub_mid,
            (None, Some(feed)) => s.feed_id == feed && self.mid.as_ref().is_none_or(|m| &s.feed_mid == m),
            (None, None) => false,
        }
    }
}

impl<R: Runtime> HandleState<R> {
    pub(crate) fn subscriber(&self, h: &Handle<R>) -> Result<Seat<R, Subscriber<R>>> {
        match &self.role {
            _ if self.detached => Err(h.gone()),
            Role::Subscriber { room, me } => Ok((room.clone(), me.clone())),
            Role::Idle => Err(Error::JoinFirst),
            Role::Publisher { .. } => Err(Error::InvalidRequest("Invalid request on a publisher handle".into())),
            Role::Spent { room } => Err(Error::NoSuchRoom(*room)),
            Role::Echo { .. } => Err(super::publisher::not_videoroom()),
        }
    }
}

impl<R: Runtime> Subscriber<R> {
    /// A feed this subscriber receives went away: its streams go inactive and it is offered
    /// the new state (now, or after the answer to the offer it still owes).
    pub(crate) fn feed_gone(
        &self,
        t: &mut Token<levels::Publisher>,
        room: RoomId,
        feed: ParticipantId,
        out: &mut Outbox<R>,
    ) {
        let mut sg = self.state.lock(t);
        if sg.left {
            return;
        }
        let mut changed = false;
        for s in sg.streams.iter_mut().filter(|s| s.active) {
            if s.kind == MediaKind::Data {
                // The data stream stays while it has other sources.
                s.sources.retain(|(f, _)| *f != feed);
                if s.sources.is_empty() {
                    s.active = false;
                    changed = true;
                } else if let Some((f, mid)) = s.sources.first() {
                    (s.feed_id, s.feed_mid) = (*f, mid.clone());
                }
            } else if s.feed_id == feed {
                s.active = false;
                changed = true;
            }
        }
        if changed {
            let (sg, t) = sg.split();
            self.offer_update(sg, &mut t.media(), room, None, out);
        }
    }

    /// The subscription changed: send `updated` with a new offer, or `updating` if the client
    /// still owes an answer to the previous offer.
    fn offer_update(
        &self,
        sg: &mut SubscriberState,
        held: &mut Token<MediaCall>,
        room: RoomId,
        txn: Option<Transaction>,
        out: &mut Outbox<R>,
    ) {
        if sg.offer_pending {
            sg.update_pending = true;
            if txn.is_some() {
                out.push(&self.queue, reply(self.handle, txn, RoomEvent::Updating { room }));
            }
        } else {
            sg.offer_pending = true;
            let offer = sg.port.as_ref().and_then(|p| offer_jsep(&**p, held, &sg.streams));
            let updated = reply(self.handle, txn, RoomEvent::Updated { room, streams: sg.streams.clone() });
            out.push(&self.queue, updated.with_jsep(offer));
        }
    }
}

/// The offer for a subscription's streams; `None` (logged) if the media engine could not make one.
fn offer_jsep(port: &dyn MediaPort, held: &mut Token<MediaCall>, streams: &[SubStreamInfo]) -> Option<Jsep> {
    match port.offer(held, streams) {
        Ok(sdp) => Some(Jsep { kind: SdpKind::Offer, sdp }),
        Err(e) => {
            tracing::error!("could not make a subscriber offer: {e}");
            None
        }
    }
}

impl<R: Runtime> RoomState<R> {
    pub(crate) fn check_subscriber(&self, room: RoomId, me: &Subscriber<R>) -> Result<()> {
        self.live(room)?;
        if self.subscribers.get(&me.handle).is_some_and(|s| std::ptr::eq(&**s, me)) {
            Ok(())
        } else {
            Err(Error::NoSuchRoom(room))
        }
    }

    /// The subscription streams `sels` asks for, after the `current` ones; 428 unless every
    /// feed is an active publisher with the asked mids. Data goes into the one data stream of the
    /// subscription: the returned sources are for the current one if there is one, else a new
    /// data stream comes last among the new streams (so it is also last in the SDP).
    fn plan_subscription(
        &self,
        t: &mut Token<levels::Room>,
        sels: &[FeedSel],
        current: &[SubStreamInfo],
    ) -> Result<(Vec<SubStreamInfo>, Vec<(ParticipantId, String)>)> {
        let (data, mut media): (Vec<_>, Vec<_>) =
            self.plan_streams(t, sels, 0)?.into_iter().partition(|s| s.kind == MediaKind::Data);
        let mut sources: Vec<(ParticipantId, String)> = Vec::new();
        for d in &data {
            if !sources.contains(&(d.feed_id, d.feed_mid.clone())) {
                sources.push((d.feed_id, d.feed_mid.clone()));
            }
        }
        if let Some(existing) = current.iter().find(|s| s.kind == MediaKind::Data) {
            sources.retain(|src| !existing.sources.contains(src));
        } else if let Some(first) = data.into_iter().next() {
            media.push(SubStreamInfo { sources: std::mem::take(&mut sources), ..first });
        }
        for (i, s) in media.iter_mut().enumerate() {
            s.mindex = (current.len() + i) as u32;
            s.mid = s.mindex.to_string();
        }
        Ok((media, sources))
    }

    /// The streams `sels` asks for, one per publisher stream, numbered from `base`.
    fn plan_streams(&self, t: &mut Token<levels::Room>, sels: &[FeedSel], base: usize) -> Result<Vec<SubStreamInfo>> {
        let mut planned = Vec::new();
        for sel in sels {
            let p = self.publishers.get(&sel.feed).ok_or(Error::NoSuchFeed(sel.feed))?;
            let pg = p.state.lock(t);
            if pg.media != Media::Active {
                return Err(Error::NoSuchFeed(sel.feed));
            }
            let chosen: Vec<_> = match &sel.mid {
                Some(mid) => {
                    vec![pg
                        .streams
                        .iter()
                        .find(|s| &s.info.mid == mid)
                        .ok_or_else(|| Error::NoSuchStream(mid.clone()))?]
                }
                None => pg.streams.iter().filter(|s| !s.info.disabled).collect(),
            };
            for s in chosen {
                let mindex = (base + planned.len()) as u32;
                planned.push(SubStreamInfo {
                    mindex,
                    mid: mindex.to_string(),
                    kind: s.info.kind.clone(),
                    feed_id: p.id,
                    feed_mid: s.info.mid.clone(),
                    feed_display: pg.display.clone(),
                    codec: s.info.codec.clone(),
                    profile: s.info.profile.clone(),
                    active: true,
                    send: true,
                    ready: false,
                    sources: vec![(p.id, s.info.mid.clone())],
                    layers: LayerChoice {
                        adaptive: sel.layers.adaptive.or(Some(self.config.adaptive_layers)),
                        ..sel.layers
                    },
                });
            }
        }
        Ok(planned)
    }

    /// Adds (or removes) `subscriber`'s streams to (from) their publishers' fan-out.
    fn wire(&self, t: &mut Token<levels::Room>, subscriber: HandleId, streams: &[SubStreamInfo], connect: bool) {
        for s in streams.iter().filter(|s| s.active) {
            for (feed, feed_mid) in s.origins() {
                self.wire_one(t, subscriber, feed, &feed_mid, &s.mid, connect);
            }
        }
    }

    fn wire_one(
        &self,
        t: &mut Token<levels::Room>,
        subscriber: HandleId,
        feed: ParticipantId,
        feed_mid: &str,
        sub_mid: &str,
        connect: bool,
    ) {
        let Some(p) = self.publishers.get(&feed) else { return };
        let mut pg = p.state.lock(t);
        let (pg, t) = pg.split();
        let Some(ps) = pg.stream_mut(feed_mid) else { return };
        let target = FanoutTarget { subscriber, sub_mid: sub_mid.to_string() };
        if connect {
            ps.fanout.push(target);
        } else {
            ps.fanout.retain(|f| f != &target);
        }
        let (fanout, mid) = (ps.fanout.clone(), ps.info.mid.clone());
        if let Some(port) = &pg.port {
            port.set_fanout(&mut t.media(), &mid, &fanout);
        }
    }

    /// Takes a subscriber out of the room: off every fan-out, endpoint closed after release.
    pub(crate) fn retire_subscriber(&mut self, me: &Subscriber<R>, t: &mut Token<levels::Room>, out: &mut Outbox<R>) {
        self.subscribers.remove(&me.handle);
        let streams = me.state.lock(t).streams.clone();
        self.wire(t, me.handle, &streams, false);
        let mut sg = me.state.lock(t);
        sg.left = true;
        if let Some(port) = sg.port.take() {
            out.discard(port);
        }
    }
}

impl<R: Runtime> Core<R> {
    /// `join` as a subscriber: `attached` with the subscription's streams (an offer follows).
    pub fn join_subscriber(&self, h: &Handle<R>, req: SubscribeJoin, txn: Option<Transaction>) -> Result<()> {
        if req.streams.is_empty() {
            return Err(Error::MissingElement("feed"));
        }
        let mut t = Self::enter();
        // Opened before any lock is taken; closed after the guards if the join fails.
        let port = self.open_media(&mut t, h.peer(LegKind::Subscriber))?;
        let mut out = Outbox::new();
        {
            let mut hg = h.state.lock(&mut t);
            let (hs, ht) = hg.split();
            hs.check_can_join(h)?;
            let room = self.find_room(ht, req.room)?;
            let mut rg = room.state.write(ht);
            let (st, rt) = rg.split();
            st.live(room.id)?;
            st.config.check_pin(req.pin.as_deref())?;
            if st.config.require_pvtid && !req.private_id.is_some_and(|p| st.private_ids.contains_key(&p)) {
                return Err(Error::NotAllowed("this room requires a valid private_id"));
            }
            let (streams, _) = st.plan_subscription(rt, &req.streams, &[])?;
            let offer = offer_jsep(&*port, &mut rt.media(), &streams)
                .ok_or(Error::Internal("Error generating offer".into()))?;
            st.wire(rt, h.id, &streams, true);
            let me = Arc::new(Subscriber {
                handle: h.id,
                queue: h.queue.clone(),
                state: Mutex::new(SubscriberState {
                    streams: streams.clone(),
                    offer_pending: true,
                    update_pending: false,
                    started: false,
                    paused: false,
                    port: Some(port),
                    left: false,
                }),
            });
            st.subscribers.insert(h.id, me.clone());
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Attached { room: room.id, streams }).with_jsep(Some(offer)));
            hs.role = Role::Subscriber { room: room.clone(), me };
        }
        out.deliver(&mut t);
        Ok(())
    }

    /// `subscribe`, `unsubscribe` and `update`: add and drop streams in one renegotiation.
    pub fn update_subscription(
        &self,
        h: &Handle<R>,
        subscribe: &[FeedSel],
        unsubscribe: &[UnsubSel],
        txn: Option<Transaction>,
    ) -> Result<()> {
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Subscriber<R>>| {
            let current = me.state.lock(rt).streams.clone();
            let by_sub_mid = |s: &SubStreamInfo| unsubscribe.iter().any(|u| u.sub_mid.as_ref() == Some(&s.mid));
            let mut dropped = Vec::new();
            // Sources leaving the data stream when their feed is unsubscribed (the stream stays).
            let mut data_removed = Vec::new();
            for s in current.iter().filter(|s| s.active) {
                if s.kind != MediaKind::Data || by_sub_mid(s) {
                    if unsubscribe.iter().any(|u| u.matches(s)) {
                        dropped.push(s.clone());
                    }
                    continue;
                }
                for (feed, mid) in &s.sources {
                    let gone = unsubscribe.iter().any(|u| {
                        u.sub_mid.is_none() && u.feed == Some(*feed) && u.mid.as_ref().is_none_or(|m| m == mid)
                    });
                    if gone {
                        data_removed.push((*feed, mid.clone()));
                    }
                }
            }
            let (added, data_added) = st.plan_subscription(rt, subscribe, &current)?;
            st.wire(rt, h.id, &dropped, false);
            st.wire(rt, h.id, &added, true);
            if let Some(data) = current.iter().find(|s| s.kind == MediaKind::Data) {
                for (feed, mid) in &data_removed {
                    st.wire_one(rt, h.id, *feed, mid, &data.mid, false);
                }
                for (feed, mid) in &data_added {
                    st.wire_one(rt, h.id, *feed, mid, &data.mid, true);
                }
            }
            let mut sg = me.state.lock(rt);
            for s in sg.streams.iter_mut() {
                if dropped.iter().any(|d| d.mid == s.mid) {
                    s.active = false;
                    s.sources.clear();
                }
                if s.kind == MediaKind::Data && (!data_removed.is_empty() || !data_added.is_empty()) {
                    s.sources.retain(|src| !data_removed.contains(src));
                    s.sources.extend(data_added.iter().cloned());
                    s.active = !s.sources.is_empty();
                    if let Some((feed, mid)) = s.sources.first() {
                        (s.feed_id, s.feed_mid) = (*feed, mid.clone());
                    }
                }
            }
            sg.streams.extend(added);
            let (sg, t) = sg.split();
            me.offer_update(sg, &mut t.media(), room, txn, out);
            Ok(())
        })
    }

    /// `switch`: subscription streams change feed without renegotiation.
    pub fn switch(&self, h: &Handle<R>, sels: &[SwitchSel], txn: Option<Transaction>) -> Result<()> {
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Subscriber<R>>| {
            let mut streams = me.state.lock(rt).streams.clone();
            let mut moves = Vec::new();
            for sel in sels {
                let i = streams
                    .iter()
                    .position(|s| s.mid == sel.sub_mid)
                    .ok_or_else(|| Error::NoSuchStream(sel.sub_mid.clone()))?;
                // The stream keeps the layers its subscriber chose.
                let feed = FeedSel { feed: sel.feed, mid: Some(sel.mid.clone()), layers: streams[i].layers };
                let mut new = st.plan_streams(rt, &[feed], 0)?.remove(0);
                if new.kind == MediaKind::Data {
                    return Err(Error::InvalidElement("data streams can't be switched".into()));
                }
                if new.kind != streams[i].kind {
                    return Err(Error::InvalidElement(format!(
                        "can't switch {} to a stream of another kind",
                        sel.sub_mid
                    )));
                }
                new.mindex = streams[i].mindex;
                new.mid = streams[i].mid.clone();
                moves.push((i, new));
            }
            for (i, new) in &moves {
                st.wire(rt, h.id, std::slice::from_ref(&streams[*i]), false);
                st.wire(rt, h.id, std::slice::from_ref(new), true);
                streams[*i] = new.clone();
            }
            me.state.lock(rt).streams = streams.clone();
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Switched { room, changes: moves.len() as u32, streams }));
            Ok(())
        })
    }

    /// `start` (with the answer to the pending offer, or to resume after `pause`).
    pub fn start(&self, h: &Handle<R>, answer: Option<&str>, txn: Option<Transaction>) -> Result<()> {
        self.as_member_reading(h, |(_, room, me, rt, out): Request<'_, R, _, Subscriber<R>>| {
            let mut sg = me.state.lock(rt);
            let (sg, t) = sg.split();
            if let (Some(answer), Some(port)) = (answer, &sg.port) {
                port.accept_answer(&mut t.media(), answer).map_err(Error::InvalidSdp)?;
            }
            if let Some(port) = &sg.port {
                port.set_paused(false);
            }
            sg.paused = false;
            sg.started = true;
            if std::mem::take(&mut sg.offer_pending) {
                sg.streams.iter_mut().for_each(|s| s.ready = true);
            }
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Started { room }));
            if std::mem::take(&mut sg.update_pending) {
                me.offer_update(sg, &mut t.media(), room, None, out);
            }
            Ok(())
        })
    }

    /// `pause`.
    pub fn pause(&self, h: &Handle<R>, txn: Option<Transaction>) -> Result<()> {
        self.as_member_reading(h, |(_, room, me, rt, out): Request<'_, R, _, Subscriber<R>>| {
            let mut sg = me.state.lock(rt);
            sg.paused = true;
            if let Some(port) = &sg.port {
                port.set_paused(true);
            }
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Paused { room }));
            Ok(())
        })
    }

    /// `configure` of a subscriber: which of its streams are sent (`send`), by subscription mid.
    pub fn configure_subscriber(
        &self,
        h: &Handle<R>,
        changes: &[StreamConfigure],
        txn: Option<Transaction>,
    ) -> Result<()> {
        self.as_member_reading(h, |(_, room, me, rt, out): Request<'_, R, _, Subscriber<R>>| {
            let mut sg = me.state.lock(rt);
            // Every mid is checked before anything changes, as Janus does.
            if let Some(mid) =
                changes.iter().filter_map(|c| c.mid.as_ref()).find(|m| !sg.streams.iter().any(|s| &s.mid == *m))
            {
                return Err(Error::NoSuchStream(mid.clone()));
            }
            let (sg, t) = sg.split();
            for c in changes {
                for s in sg.streams.iter_mut().filter(|s| c.mid.as_ref().is_none_or(|m| *m == s.mid)) {
                    if let Some(send) = c.send {
                        s.send = send;
                        if let Some(port) = &sg.port {
                            port.set_send(&mut t.media(), &s.mid, send);
                        }
                    }
                    if s.kind != MediaKind::Video || c.layers.is_empty() {
                        continue;
                    }
                    s.layers = s.layers.then(c.layers);
                    let Some(port) = &sg.port else { continue };
                    // A choice already in effect is confirmed at once, as Janus does.
                    let (substream, temporal) = port.set_layers(&mut t.media(), &s.mid, s.layers);
                    // VP9's layers are SVC's (spatial and temporal), named apart.
                    let svc = s.codec.as_deref() == Some("vp9");
                    for e in RoomEvent::layers(room, &s.mid, svc, substream, temporal) {
                        out.push(&h.queue, reply(h.id, None, e));
                    }
                }
            }
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Configured { room, streams: None }));
            Ok(())
        })
    }

    /// What the handle is in the VideoRoom (requests like `configure` mean different things for
    /// the two roles, and Janus checks the role before the request's fields).
    /// The room `h` joined as a publisher or subscriber.
    pub fn room_of(&self, h: &Handle<R>) -> Option<RoomId> {
        match &h.state.lock(&mut Self::enter()).role {
            Role::Publisher { room, .. } | Role::Subscriber { room, .. } => Some(room.id),
            _ => None,
        }
    }

    pub fn joined_as(&self, h: &Handle<R>) -> JoinedAs {
        match h.state.lock(&mut Self::enter()).role {
            Role::Publisher { .. } => JoinedAs::Publisher,
            Role::Subscriber { .. } => JoinedAs::Subscriber,
            Role::Spent { .. } => JoinedAs::Left,
            Role::Idle | Role::Echo { .. } => JoinedAs::Nothing,
        }
    }
}
