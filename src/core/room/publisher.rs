//! Publishers: join, publish, configure, unpublish, leave, and the moment their media comes up
//! (the new-publisher notification of Janus #3463).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::sync::levels;
use crate::sync::order::{Mutex, Token};
use crate::sync::Runtime;

use super::access::Request;
use super::forwarder::Forwarder;
use super::recording::{RecordSite, RecordWish};
use super::{notification, reply, Role, RoomState, Seat};
use crate::core::error::{Error, Result};
use crate::core::event::{
    Attendee, EventBody, Jsep, MediaKind, PublisherInfo, RoomEvent, SdpKind, StreamInfo, Transaction,
};
use crate::core::ids::{HandleId, ParticipantId, PrivateId, RoomId};
use crate::core::outbox::{Outbox, SessionQueue};
use crate::core::seams::{ForwardTo, LegKind, MediaPort, PublisherLimits, TalkSettings};
use crate::core::session::{Handle, HandleState};
use crate::core::Core;

pub struct Publisher<R: Runtime> {
    pub id: ParticipantId,
    pub private_id: PrivateId,
    pub handle: HandleId,
    pub(crate) queue: Arc<SessionQueue<R>>,
    pub(crate) state: Mutex<levels::Publisher, PublisherState, R>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Media {
    /// Joined, not publishing.
    Idle,
    /// Published (offer answered), PeerConnection not up yet: not a feed others can see.
    Negotiated,
    /// PeerConnection up: a feed, announced to the room.
    Active,
}

/// Why a publisher is no longer in its room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Departure {
    Left,
    Kicked,
    RoomDestroyed,
    /// Its handle was detached or its session ended.
    Gone,
}

pub(crate) struct PublisherState {
    pub display: Option<String>,
    pub media: Media,
    pub streams: Vec<PubStream>,
    pub port: Option<Box<dyn MediaPort>>,
    pub forwarders: Vec<Forwarder>,
    pub next_forwarder_id: u32,
    pub departed: Option<Departure>,
    /// The room's placeholder publisher: always a feed, never sends anything, hears nothing.
    pub dummy: bool,
    /// Its own `audio_active_packets` and `audio_level_average`, over the room's.
    pub talk: TalkOverrides,
    /// Recording is on for it (from the room's `record`, its own `record`, `enable_recording`),
    /// the base of its files' names (`filename`), and its streams' recordings while they run
    /// (`recording.rs`).
    pub recording: bool,
    pub recording_base: Option<String>,
    pub recordings: Vec<ForwardTo>,
}

/// A publisher's own `audio_active_packets` and `audio_level_average` (`join`, `publish`,
/// `configure`); 0 or none is the room's, as in Janus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TalkOverrides {
    pub packets: Option<u32>,
    pub average: Option<u32>,
}

impl PublisherState {
    /// Starts or stops the publisher's recordings to match its state: recording while its
    /// media is up and recording is on for it. The media engine is told where its packets go
    /// now, and a recording of video that starts asks for a keyframe to start from.
    pub(crate) fn sync_recordings(&mut self, site: &RecordSite<'_>) {
        let wanted = self.media == Media::Active && self.recording && !self.dummy;
        match (wanted, self.recordings.is_empty()) {
            (true, true) => {
                let streams = self.streams.iter().map(|s| &s.info);
                self.recordings = super::recording::open(streams, self.recording_base.as_deref(), site);
                let video = self.streams.iter().filter(|s| s.info.kind == MediaKind::Video);
                for s in video.filter(|s| self.recordings.iter().any(|r| r.mid == s.info.mid)) {
                    if let Some(port) = &self.port {
                        port.request_keyframe(&s.info.mid);
                    }
                }
            }
            (false, false) => self.recordings.clear(),
            _ => return,
        }
        super::forwarder::publish_forwarders(self);
    }

    /// Takes a request's own talk settings and recording wishes; returns what its media is
    /// asked to do from now on.
    pub(crate) fn take_asks(
        &mut self,
        config: &super::RoomConfig,
        talk: TalkOverrides,
        record: &RecordWish,
    ) -> PublisherLimits {
        self.talk = self.talk.then(talk);
        self.wish(config, record);
        limits(config, self.talk)
    }

    /// Applies a request's `record` and `filename`: in a room with `lock_record` (and a
    /// secret), only with the room's secret; otherwise they are ignored, as Janus does.
    fn wish(&mut self, config: &super::RoomConfig, wish: &RecordWish) {
        let wants = wish.record.is_some() || wish.filename.is_some();
        if wants && config.lock_record && config.check_secret(wish.secret.as_deref()).is_err() {
            return;
        }
        if let Some(record) = wish.record {
            self.recording = record;
        }
        if let Some(base) = &wish.filename {
            self.recording_base = Some(base.clone());
        }
    }
}

impl TalkOverrides {
    /// These, with what `later` sets in their place.
    pub fn then(self, later: TalkOverrides) -> TalkOverrides {
        TalkOverrides { packets: later.packets.or(self.packets), average: later.average.or(self.average) }
    }
}

/// What a publisher's media is asked to do in a room of `config`.
fn limits(config: &super::RoomConfig, own: TalkOverrides) -> PublisherLimits {
    let talk = config.audiolevel_event.then(|| TalkSettings {
        packets: own.packets.filter(|p| *p > 0).unwrap_or(config.audio_active_packets),
        average: own.average.filter(|a| *a > 0).unwrap_or(config.audio_level_average),
    });
    PublisherLimits { bitrate: config.bitrate, fir_freq: config.fir_freq, talk }
}

pub(crate) struct PubStream {
    pub info: StreamInfo,
    /// The subscriber streams this stream is forwarded to.
    pub fanout: Vec<FanoutTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FanoutTarget {
    pub subscriber: HandleId,
    pub sub_mid: String,
}

impl PublisherState {
    pub fn info(&self, id: ParticipantId) -> PublisherInfo {
        PublisherInfo {
            id,
            display: self.display.clone(),
            dummy: self.dummy,
            streams: self.streams.iter().map(|s| s.info.clone()).collect(),
        }
    }

    fn new(display: Option<String>) -> Self {
        PublisherState {
            display,
            media: Media::Idle,
            streams: Vec::new(),
            port: None,
            forwarders: Vec::new(),
            next_forwarder_id: 1,
            departed: None,
            dummy: false,
            talk: TalkOverrides::default(),
            recording: false,
            recording_base: None,
            recordings: Vec::new(),
        }
    }

    pub fn stream_mut(&mut self, mid: &str) -> Option<&mut PubStream> {
        self.streams.iter_mut().find(|s| s.info.mid == mid)
    }
}

/// `join` as a publisher.
#[derive(Clone, Debug, Default)]
pub struct JoinPublisher {
    pub room: RoomId,
    pub id: Option<ParticipantId>,
    pub display: Option<String>,
    pub pin: Option<String>,
    pub token: Option<String>,
    pub talk: TalkOverrides,
}

/// One m-line of a publisher's offer.
#[derive(Clone, Debug)]
pub struct StreamSpec {
    pub kind: MediaKind,
    pub mid: String,
    pub codec: Option<String>,
    /// The codec's profile, for VP9 (`profile-id`) and H.264 (`profile-level-id`).
    pub profile: Option<String>,
    pub description: Option<String>,
    pub disabled: bool,
    pub simulcast: bool,
    /// An audio stream whose level the publisher sends (the audio level extension).
    pub audio_level: bool,
}

/// `publish` (or the publishing half of `joinandconfigure` / `configure` with an offer).
#[derive(Clone, Debug, Default)]
pub struct Publish {
    pub streams: Vec<StreamSpec>,
    pub display: Option<String>,
    /// The client's SDP offer (its m-lines are `streams`); answered by the media endpoint.
    pub offer: String,
    pub talk: TalkOverrides,
    pub record: RecordWish,
}

/// `configure` of a publisher without renegotiation.
#[derive(Clone, Debug, Default)]
pub struct PublisherConfigure {
    pub display: Option<String>,
    /// (mid, description) pairs.
    pub descriptions: Vec<(String, String)>,
    pub talk: TalkOverrides,
    pub record: RecordWish,
}

impl<R: Runtime> Publisher<R> {
    /// A room's placeholder publisher (Janus's `dummy_publisher`): a feed with one stream per
    /// codec the room allows, which subscribers can take as placeholders and later `switch`.
    /// Its queue is closed, so whatever the room tells it is dropped.
    /// Its VP9 and H.264 streams are in the room's profiles.
    pub(crate) fn dummy(id: ParticipantId, private_id: PrivateId, config: &super::RoomConfig) -> Self {
        let (audiocodec, videocodec) = (config.audiocodec.as_str(), config.videocodec.as_str());
        let queue = Arc::new(SessionQueue::new(0));
        queue.close();
        let mut state = PublisherState::new(Some("Dummy publisher".into()));
        state.dummy = true;
        state.media = Media::Active;
        let codecs = audiocodec
            .split(',')
            .map(|c| (MediaKind::Audio, c))
            .chain(videocodec.split(',').map(|c| (MediaKind::Video, c)));
        state.streams = codecs
            .filter(|(_, c)| !c.trim().is_empty())
            .enumerate()
            .map(|(i, (kind, codec))| {
                let spec = StreamSpec {
                    kind,
                    mid: i.to_string(),
                    codec: Some(codec.trim().to_string()),
                    profile: match codec.trim() {
                        "vp9" => config.vp9_profile.clone(),
                        "h264" => config.h264_profile.clone(),
                        _ => None,
                    },
                    description: None,
                    disabled: false,
                    simulcast: false,
                    audio_level: false,
                };
                new_stream(i, spec, config.video_svc)
            })
            .collect();
        Publisher { id, private_id, handle: 0, queue, state: Mutex::new(state) }
    }
}

impl<R: Runtime> HandleState<R> {
    /// The room and publisher of a publisher handle, or the error Janus gives otherwise.
    pub(crate) fn publisher(&self, h: &Handle<R>) -> Result<Seat<R, Publisher<R>>> {
        match &self.role {
            _ if self.detached => Err(h.gone()),
            Role::Publisher { room, me } => Ok((room.clone(), me.clone())),
            Role::Idle => Err(Error::JoinFirst),
            Role::Subscriber { .. } => Err(Error::InvalidRequest("Invalid request on a subscriber handle".into())),
            Role::Spent { room } => Err(Error::NoSuchRoom(*room)),
            Role::Echo { .. } => Err(not_videoroom()),
        }
    }

    /// Fails unless the handle can still join a room.
    pub(crate) fn check_can_join(&self, h: &Handle<R>) -> Result<()> {
        match &self.role {
            _ if self.detached => Err(h.gone()),
            Role::Idle => Ok(()),
            Role::Publisher { .. } => Err(Error::AlreadyJoined { as_publisher: true }),
            Role::Subscriber { .. } => Err(Error::AlreadyJoined { as_publisher: false }),
            Role::Spent { .. } => Err(Error::NotInRoom),
            Role::Echo { .. } => Err(not_videoroom()),
        }
    }
}

impl<R: Runtime> RoomState<R> {
    /// Fails unless `me` is still a publisher of this live room.
    pub(crate) fn check_publisher(&self, room: RoomId, me: &Publisher<R>, t: &mut Token<levels::Room>) -> Result<()> {
        self.live(room)?;
        if self.publishers.get(&me.id).is_some_and(|p| std::ptr::eq(&**p, me)) {
            return Ok(());
        }
        match me.state.lock(t).departed {
            Some(Departure::Kicked) => Err(Error::Kicked),
            _ => Err(Error::NoSuchRoom(room)),
        }
    }

    /// Stops `me`'s media: its subscribers' streams go inactive (and they are told), its
    /// forwarders and media endpoint are closed once the locks are released, and the room hears
    /// `unpublished` if it had been told of the feed. Returns whether the feed was active.
    pub(crate) fn stop_media(
        &mut self,
        room: RoomId,
        me: &Publisher<R>,
        t: &mut Token<levels::Room>,
        out: &mut Outbox<R>,
    ) -> bool {
        self.publishing.remove(&me.id);
        let mut pg = me.state.lock(t);
        let (ps, pt) = pg.split();
        let was_active = ps.media == Media::Active;
        ps.media = Media::Idle;
        if let Some(port) = ps.port.take() {
            out.discard(port);
        }
        out.discard(std::mem::take(&mut ps.forwarders));
        out.discard(std::mem::take(&mut ps.recordings));
        let watchers: BTreeSet<HandleId> = ps.streams.drain(..).flat_map(|s| s.fanout).map(|f| f.subscriber).collect();
        for s in watchers.iter().filter_map(|h| self.subscribers.get(h)) {
            s.feed_gone(pt, room, me.id, out);
        }
        if was_active {
            self.notify_publishers(Some(me.id), out, RoomEvent::Unpublished { room, id: me.id });
        }
        was_active
    }

    /// Takes `me` out of the room for `why`, telling whoever Janus tells.
    pub(crate) fn retire_publisher(
        &mut self,
        room: RoomId,
        me: &Publisher<R>,
        why: Departure,
        t: &mut Token<levels::Room>,
        out: &mut Outbox<R>,
    ) {
        self.publishers.remove(&me.id);
        self.private_ids.remove(&me.private_id);
        let was_active = self.stop_media(room, me, t, out);
        me.state.lock(t).departed = Some(why);
        match why {
            Departure::Kicked => {
                self.notify_publishers(None, out, RoomEvent::Kicked { room, id: me.id });
                out.push(&me.queue, notification(me.handle, RoomEvent::LeavingOk { room, kicked: true }));
            }
            Departure::Left | Departure::Gone if was_active || self.config.notify_joining => {
                self.notify_publishers(None, out, RoomEvent::Leaving { room, id: me.id });
            }
            _ => {}
        }
    }
}

impl<R: Runtime> RoomState<R> {
    /// Lets `h` in as a publisher if the pin, token and id allow it; `joining` goes to the others
    /// when the room has `notify_joining`. Returns the publisher and its `joined` reply.
    pub(crate) fn admit_publisher(
        &mut self,
        room: RoomId,
        h: &Handle<R>,
        req: JoinPublisher,
        t: &mut Token<levels::Room>,
        out: &mut Outbox<R>,
    ) -> Result<(Arc<Publisher<R>>, RoomEvent)> {
        self.live(room)?;
        self.config.check_pin(req.pin.as_deref())?;
        self.config.check_token(req.token.as_deref())?;
        let RoomState { publishers, private_ids, ids, .. } = &mut *self;
        let id = match req.id {
            Some(id) if publishers.contains_key(&id) => return Err(Error::IdExists(id)),
            Some(id) => id,
            None => ids.id(|v| publishers.contains_key(&v)),
        };
        let private_id = ids.private_id(|v| private_ids.contains_key(&v));
        let mut active = Vec::new();
        let mut attendees = Vec::new();
        for p in self.publishers.values() {
            let pg = p.state.lock(t);
            if pg.media == Media::Active {
                active.push(pg.info(p.id));
            } else if self.config.notify_joining {
                attendees.push(Attendee { id: p.id, display: pg.display.clone() });
            }
        }
        if self.config.notify_joining {
            self.notify_publishers(None, out, RoomEvent::Joining { room, id, display: req.display.clone() });
        }
        let me = Arc::new(Publisher {
            id,
            private_id,
            handle: h.id,
            queue: h.queue.clone(),
            state: Mutex::new(PublisherState {
                talk: req.talk,
                recording: self.config.record,
                ..PublisherState::new(req.display)
            }),
        });
        self.publishers.insert(id, me.clone());
        self.private_ids.insert(private_id, id);
        let joined = RoomEvent::Joined {
            room,
            description: self.config.description_or_default(room),
            id,
            private_id,
            publishers: active,
            attendees: self.config.notify_joining.then_some(attendees),
            streams: None,
            talk: (req.talk.packets.filter(|p| *p > 0), req.talk.average.filter(|a| *a > 0)),
        };
        Ok((me, joined))
    }

    /// 434 if `me` publishes already, 432 if the room has no place for one more publisher.
    pub(crate) fn check_may_publish(&self, t: &mut Token<levels::Room>, me: &Publisher<R>) -> Result<()> {
        if self.publishing.contains(&me.id) {
            return Err(Error::AlreadyPublished);
        }
        self.check_room_for_publisher(t, Some(me.id))
    }

    /// 432 unless one more publisher may start publishing. Counted as Janus 1.1.2 counts: the
    /// other publishers whose PeerConnection is up, the room's dummy publisher aside. An offer
    /// answered whose connection never comes up holds no place (it is hung up when its ICE
    /// fails); unlike Janus, a room already past its limit refuses more.
    pub(crate) fn check_room_for_publisher(
        &self,
        t: &mut Token<levels::Room>,
        me: Option<ParticipantId>,
    ) -> Result<()> {
        let mut up = |p: &Publisher<R>| {
            let pg = p.state.lock(t);
            pg.media == Media::Active && !pg.dummy
        };
        let live = self.publishers.values().filter(|p| Some(p.id) != me).filter(|p| up(p)).count();
        if live >= self.config.max_publishers as usize {
            return Err(Error::PublishersFull(self.config.max_publishers));
        }
        Ok(())
    }
}

impl<R: Runtime> Core<R> {
    /// Where a publisher of `room` records.
    pub(crate) fn record_site<'a>(&'a self, st: &'a RoomState<R>, room: RoomId, id: ParticipantId) -> RecordSite<'a> {
        RecordSite { config: &st.config, room, id, sockets: &*self.sockets, clock: &*self.clock }
    }

    /// `join` as a publisher: `joined` (with the active publishers) to this handle; `joining`
    /// to the others when the room has `notify_joining`.
    pub fn join_publisher(&self, h: &Handle<R>, req: JoinPublisher, txn: Option<Transaction>) -> Result<()> {
        self.join_as_publisher(h, req, None, txn)
    }

    /// `joinandconfigure`: join and publish in one step (the join's display is used). All or
    /// nothing: if publishing is refused (432, room full), the handle has not joined either.
    pub fn join_and_publish(
        &self,
        h: &Handle<R>,
        req: JoinPublisher,
        publish: Publish,
        txn: Option<Transaction>,
    ) -> Result<()> {
        self.join_as_publisher(h, req, Some(publish), txn)
    }

    fn join_as_publisher(
        &self,
        h: &Handle<R>,
        req: JoinPublisher,
        publish: Option<Publish>,
        txn: Option<Transaction>,
    ) -> Result<()> {
        let mut t = Self::enter();
        // Opened holding nothing; on an error below it is closed after the guards, which are
        // declared later and so dropped first.
        let (port, answer) = match &publish {
            Some(p) => {
                let port = self.open_media(&mut t, h.peer(LegKind::Publisher))?;
                let answer = port.answer(&mut t.media(), &p.offer).map_err(Error::InvalidSdp)?;
                (Some(port), Some(Jsep { kind: SdpKind::Answer, sdp: answer }))
            }
            None => (None, None),
        };
        let mut out = Outbox::new();
        {
            let mut hg = h.state.lock(&mut t);
            let (hs, ht) = hg.split();
            hs.check_can_join(h)?;
            let room = self.find_room(ht, req.room)?;
            let mut rg = room.state.write(ht);
            let (st, rt) = rg.split();
            if publish.is_some() {
                st.live(room.id)?;
                st.check_room_for_publisher(rt, None)?;
            }
            let (me, mut joined) = st.admit_publisher(room.id, h, req, rt, &mut out)?;
            if let (Some(publish), Some(port)) = (publish, port) {
                st.publishing.insert(me.id);
                let mut pg = me.state.lock(rt);
                pg.streams = publish
                    .streams
                    .into_iter()
                    .enumerate()
                    .map(|(i, s)| new_stream(i, s, st.config.video_svc))
                    .collect();
                pg.media = Media::Negotiated;
                let limits = pg.take_asks(&st.config, publish.talk, &publish.record);
                port.set_limits(&mut pg.token().media(), limits);
                pg.port = Some(port);
                if let RoomEvent::Joined { streams, .. } = &mut joined {
                    *streams = Some(pg.streams.iter().map(|s| s.info.clone()).collect());
                }
            }
            out.push(&h.queue, reply(h.id, txn, joined).with_jsep(answer));
            hs.role = Role::Publisher { room: room.clone(), me };
        }
        out.deliver(&mut t);
        self.flush_early_candidates(h);
        Ok(())
    }

    /// `publish`: the publisher's streams are negotiated (`configured` with the streams). Others
    /// hear of the feed only once its media is up ([`Core::media_up`]), as in Janus.
    ///
    /// In three steps, so that no socket is created under a lock (Janus #3468): check under the
    /// locks, open the media endpoint holding nothing, then check again and install it. If the
    /// second check fails, the endpoint (owned by the closure) is dropped after the guards.
    pub fn publish(&self, h: &Handle<R>, req: Publish, txn: Option<Transaction>) -> Result<()> {
        self.as_member(h, |(st, _, me, rt, _): Request<'_, R, _, Publisher<R>>| st.check_may_publish(rt, me))?;
        let mut t = Self::enter();
        let port = self.open_media(&mut t, h.peer(LegKind::Publisher))?;
        let answer = port.answer(&mut t.media(), &req.offer).map_err(Error::InvalidSdp)?;
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Publisher<R>>| {
            st.check_may_publish(rt, me)?;
            st.publishing.insert(me.id);
            let mut pg = me.state.lock(rt);
            pg.streams =
                req.streams.into_iter().enumerate().map(|(i, s)| new_stream(i, s, st.config.video_svc)).collect();
            pg.media = Media::Negotiated;
            let limits = pg.take_asks(&st.config, req.talk, &req.record);
            port.set_limits(&mut pg.token().media(), limits);
            pg.port = Some(port);
            let streams = pg.streams.iter().map(|s| s.info.clone()).collect();
            if let Some(display) = req.display.filter(|d| pg.display.as_ref() != Some(d)) {
                pg.display = Some(display.clone());
                st.notify_publishers(Some(me.id), out, RoomEvent::Display { id: me.id, display });
            }
            let configured = reply(h.id, txn, RoomEvent::Configured { room, streams: Some(streams) });
            out.push(&h.queue, configured.with_jsep(Some(Jsep { kind: SdpKind::Answer, sdp: answer })));
            Ok(())
        })?;
        self.flush_early_candidates(h);
        Ok(())
    }

    /// The publisher's PeerConnection is up: it becomes a feed and every other participant hears
    /// `publishers: [it]` exactly once. Returns false if it was not waiting for media.
    ///
    /// This is the notify side of Janus #3463: it holds the room, then the publisher, the one
    /// order every path uses (`listparticipants` too).
    pub fn media_up(&self, h: &Handle<R>) -> Result<bool> {
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Publisher<R>>| {
            let mut pg = me.state.lock(rt);
            if pg.media != Media::Negotiated {
                return Ok(false);
            }
            pg.media = Media::Active;
            pg.sync_recordings(&self.record_site(st, room, me.id));
            let info = pg.info(me.id);
            st.notify_publishers(Some(me.id), out, RoomEvent::NewPublishers { room, publishers: vec![info] });
            Ok(true)
        })
    }

    /// The publisher's audio stream `mid` started or stopped talking (`audiolevel_event`): it
    /// is marked so (`joined`, `listparticipants`) and every publisher of the room hears it,
    /// itself included, as in Janus.
    pub fn talking(&self, h: &Handle<R>, mid: &str, talking: bool, level_sum: u64, packets: u32) -> Result<()> {
        self.as_member_reading(h, |(st, room, me, rt, out): Request<'_, R, _, Publisher<R>>| {
            let mut pg = me.state.lock(rt);
            let Some(s) = pg.stream_mut(mid).filter(|s| s.info.talking.is_some()) else { return Ok(()) };
            s.info.talking = Some(talking);
            let (id, mindex, mid) = (me.id, s.info.mindex, mid.to_string());
            st.notify_publishers(None, out, RoomEvent::Talking { room, id, mindex, mid, talking, level_sum, packets });
            Ok(())
        })
    }

    /// `configure` of a publisher: display name and stream descriptions.
    /// A rename takes the room's write lock: `listparticipants` reads the publishers one by
    /// one under the read lock, and must see renames as if each happened at one moment
    /// (`shuttle_renames_and_list_are_linearizable`).
    pub fn configure_publisher(&self, h: &Handle<R>, req: PublisherConfigure, txn: Option<Transaction>) -> Result<()> {
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Publisher<R>>| {
            let mut pg = me.state.lock(rt);
            if let Some(display) = req.display.filter(|d| pg.display.as_ref() != Some(d)) {
                pg.display = Some(display.clone());
                st.notify_publishers(Some(me.id), out, RoomEvent::Display { id: me.id, display });
            }
            let limits = pg.take_asks(&st.config, req.talk, &req.record);
            let (ps, pt) = pg.split();
            if let Some(port) = &ps.port {
                port.set_limits(&mut pt.media(), limits);
            }
            pg.sync_recordings(&self.record_site(st, room, me.id));
            let mut described = false;
            for (mid, text) in req.descriptions {
                if let Some(s) = pg.stream_mut(&mid) {
                    s.info.description = Some(text);
                    described = true;
                }
            }
            if described && pg.media == Media::Active {
                let info = pg.info(me.id);
                st.notify_publishers(Some(me.id), out, RoomEvent::NewPublishers { room, publishers: vec![info] });
            }
            out.push(&h.queue, reply(h.id, txn, RoomEvent::Configured { room, streams: None }));
            Ok(())
        })
    }

    /// `unpublish`.
    pub fn unpublish(&self, h: &Handle<R>, txn: Option<Transaction>) -> Result<()> {
        self.as_member(h, |(st, room, me, rt, out): Request<'_, R, _, Publisher<R>>| {
            if !st.publishing.contains(&me.id) {
                return Err(Error::NotPublished);
            }
            st.stop_media(room, me, rt, out);
            out.push(&h.queue, reply(h.id, txn, RoomEvent::UnpublishedOk { room }));
            Ok(())
        })
    }

    /// `leave`, for either role. The handle is spent afterwards.
    pub fn leave(&self, h: &Handle<R>, txn: Option<Transaction>) -> Result<()> {
        let mut t = Self::enter();
        let mut out = Outbox::new();
        {
            let mut hg = h.state.lock(&mut t);
            let (hs, ht) = hg.split();
            let room_id = match &hs.role {
                Role::Subscriber { room, me } => {
                    let (room, me) = (room.clone(), me.clone());
                    let mut rg = room.state.write(ht);
                    let (st, rt) = rg.split();
                    st.check_subscriber(room.id, &me)?;
                    let had_pc = me.state.lock(rt).started;
                    st.retire_subscriber(&me, rt, &mut out);
                    out.push(&h.queue, reply(h.id, txn, RoomEvent::Left { room: room.id }));
                    if had_pc {
                        let hangup = EventBody::Hangup { reason: "Close PC".into() };
                        out.push(&h.queue, crate::core::Event::new(Some(h.id), None, hangup));
                    }
                    room.id
                }
                _ => {
                    let (room, me) = hs.publisher(h)?;
                    let mut rg = room.state.write(ht);
                    let (st, rt) = rg.split();
                    st.check_publisher(room.id, &me, rt)?;
                    st.retire_publisher(room.id, &me, Departure::Left, rt, &mut out);
                    out.push(&h.queue, reply(h.id, txn, RoomEvent::LeavingOk { room: room.id, kicked: false }));
                    room.id
                }
            };
            hs.role = Role::Spent { room: room_id };
        }
        out.deliver(&mut t);
        Ok(())
    }

    /// A handle ends (detach, session destroyed or timed out): it leaves its room silently.
    pub(crate) fn end_role(&self, t: &mut Token<levels::Handle>, role: Role<R>, out: &mut Outbox<R>) {
        match role {
            Role::Publisher { room, me } => {
                let mut rg = room.state.write(t);
                let (st, rt) = rg.split();
                if !st.destroyed && st.has_publisher(&me) {
                    st.retire_publisher(room.id, &me, Departure::Gone, rt, out);
                }
            }
            Role::Subscriber { room, me } => {
                let mut rg = room.state.write(t);
                let (st, rt) = rg.split();
                if !st.destroyed && st.has_subscriber(&me) {
                    st.retire_subscriber(&me, rt, out);
                }
            }
            Role::Echo { port } => out.discard(port),
            Role::Idle | Role::Spent { .. } => {}
        }
    }

    /// The handle's PeerConnection went away. A publisher stops publishing; a subscriber's
    /// subscription ends. Returns whether there was media to stop.
    pub(crate) fn hangup_role(&self, t: &mut Token<levels::Handle>, role: &mut Role<R>, out: &mut Outbox<R>) -> bool {
        match role {
            Role::Publisher { room, me } => {
                let mut rg = room.state.write(t);
                let (st, rt) = rg.split();
                if st.destroyed || !st.has_publisher(me) || !st.publishing.contains(&me.id) {
                    return false;
                }
                st.stop_media(room.id, me, rt, out);
                true
            }
            Role::Subscriber { room, me } => {
                let id = room.id;
                {
                    let mut rg = room.state.write(t);
                    let (st, rt) = rg.split();
                    if st.destroyed || !st.has_subscriber(me) {
                        return false;
                    }
                    st.retire_subscriber(me, rt, out);
                }
                *role = Role::Spent { room: id };
                true
            }
            Role::Echo { port } => match port.take() {
                Some(port) => {
                    out.discard(port);
                    true
                }
                None => false,
            },
            Role::Idle | Role::Spent { .. } => false,
        }
    }
}

pub(crate) fn not_videoroom() -> Error {
    Error::InvalidRequest("Not a VideoRoom handle".into())
}

/// A publisher stream as offered; in a room with `video_svc`, VP9 is listed as SVC.
fn new_stream(mindex: usize, s: StreamSpec, video_svc: bool) -> PubStream {
    let svc = video_svc && s.codec.as_deref() == Some("vp9");
    let talking = (s.kind == MediaKind::Audio && s.audio_level).then_some(false);
    PubStream {
        info: StreamInfo {
            kind: s.kind,
            mindex: mindex as u32,
            mid: s.mid,
            codec: s.codec,
            profile: s.profile,
            description: s.description,
            disabled: s.disabled,
            moderated: false,
            simulcast: s.simulcast,
            svc,
            talking,
        },
        fanout: Vec::new(),
    }
}
