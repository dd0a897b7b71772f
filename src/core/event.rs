//! The events the core delivers to sessions: replies to asynchronous requests and the
//! notifications Janus sends. Typed here; `api/` renders them into Janus's JSON shapes.

use super::error::Error;
use super::ids::{HandleId, ParticipantId, RoomId};
use super::session::Plugin;

/// The opaque `transaction` of the request an event answers.
pub type Transaction = String;

/// One event for one session, from one of its handles (`sender`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub sender: Option<HandleId>,
    /// Set on the reply to an asynchronous request; notifications have none.
    pub transaction: Option<Transaction>,
    pub body: EventBody,
    /// An SDP offer or answer that travels with the event.
    pub jsep: Option<Jsep>,
}

impl Event {
    pub fn new(sender: Option<HandleId>, transaction: Option<Transaction>, body: EventBody) -> Self {
        Event { sender, transaction, body, jsep: None }
    }

    pub fn with_jsep(mut self, jsep: Option<Jsep>) -> Self {
        self.jsep = jsep;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpKind {
    Offer,
    Answer,
}

/// A JSEP: the SDP of an offer or an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jsep {
    pub kind: SdpKind,
    pub sdp: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventBody {
    /// The session timed out (the last event it gets).
    Timeout,
    /// The handle was detached.
    Detached,
    /// The handle's PeerConnection is up: ICE and DTLS done (`webrtcup`).
    WebrtcUp,
    /// Media started (or stopped) arriving on one of the PeerConnection's m-lines (`media`).
    Media {
        mid: String,
        kind: MediaKind,
        receiving: bool,
    },
    /// A stream of the handle's PeerConnection lost packets past `slowlink_threshold` in the
    /// last second (`slowlink`; `uplink`: one the server sends, as Janus says it).
    SlowLink {
        mid: String,
        kind: MediaKind,
        uplink: bool,
        lost: u64,
    },
    /// The handle's PeerConnection went away.
    Hangup {
        reason: String,
    },
    /// An asynchronous request to `plugin` failed.
    PluginError {
        plugin: Plugin,
        error: Error,
    },
    VideoRoom(RoomEvent),
    EchoTest(EchoEvent),
}

/// The EchoTest plugin's events: `result` is "ok" after a request, "done" once its
/// PeerConnection is gone; with simulcast or SVC (`svc`), the substream or spatial layer, or
/// the temporal layer, the echo now carries (one of the two per event, with the video codec's
/// name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EchoEvent {
    Result(String),
    Layer { videocodec: String, svc: bool, substream: Option<u8>, temporal: Option<u8> },
}

impl EchoEvent {
    /// The `Layer` events for a change of substream and temporal layer: one for each that
    /// changed, substream first (as Janus 1.1.2 sends them).
    pub fn layers(videocodec: &str, svc: bool, substream: Option<u8>, temporal: Option<u8>) -> Vec<EchoEvent> {
        let layer =
            |(substream, temporal)| EchoEvent::Layer { videocodec: videocodec.to_string(), svc, substream, temporal };
        one_per_change(substream, temporal).map(layer).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
    Data,
}

/// A publisher stream as other participants see it (`publishers[].streams[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    pub kind: MediaKind,
    pub mindex: u32,
    pub mid: String,
    pub codec: Option<String>,
    /// VP9's `profile-id` or H.264's `profile-level-id` (Janus's `vp9_profile`/`h264_profile`).
    pub profile: Option<String>,
    pub description: Option<String>,
    pub disabled: bool,
    pub moderated: bool,
    /// The publisher sends it in several encodings (rid-based simulcast).
    pub simulcast: bool,
    /// VP9 in a room with `video_svc`: its layers are SVC's.
    pub svc: bool,
    /// An audio stream with the audio level extension: whether it is talking (Janus lists it
    /// only for those).
    pub talking: Option<bool>,
}

/// An entry of `publishers` in `joined` and in the new-publisher notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublisherInfo {
    pub id: ParticipantId,
    pub display: Option<String>,
    /// The room's placeholder publisher (`dummy_publisher`).
    pub dummy: bool,
    pub streams: Vec<StreamInfo>,
}

/// An entry of `attendees` (participants that are not publishing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attendee {
    pub id: ParticipantId,
    pub display: Option<String>,
}

/// A stream of a subscription (`attached`/`updated`/`switched` `streams[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubStreamInfo {
    pub mindex: u32,
    pub mid: String,
    pub kind: MediaKind,
    pub feed_id: ParticipantId,
    pub feed_mid: String,
    pub feed_display: Option<String>,
    pub codec: Option<String>,
    /// The feed's codec profile: what the subscriber is offered.
    pub profile: Option<String>,
    /// False once the feed went away: the m-line stays, inactive, until the subscriber
    /// renegotiates.
    pub active: bool,
    pub send: bool,
    /// Negotiated: the subscriber answered an offer that had this stream.
    pub ready: bool,
    /// A subscription has one data stream, carrying the data of every feed it subscribed to
    /// (as Janus does): those (feed, feed mid). `feed_id`/`feed_mid` name the first. Empty for
    /// audio and video.
    pub sources: Vec<(ParticipantId, String)>,
    /// The simulcast layers the subscriber asked for on this stream.
    pub layers: LayerChoice,
}

/// A subscriber's simulcast choice for one stream, as Janus's requests carry it: the substream
/// and temporal layer (0-2) it wants at most, and after how many microseconds without packets
/// of its substream it falls back to a lower one (`fallback`). What is not given keeps its
/// value (at first: the highest layers, 250 ms, not by bandwidth unless the room says so).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LayerChoice {
    pub substream: Option<u8>,
    pub temporal: Option<u8>,
    pub fallback_us: Option<u64>,
    /// vroom's own: below `substream`, the substream follows the subscriber's bandwidth.
    pub adaptive: Option<bool>,
}

impl LayerChoice {
    /// This choice with what `later` sets.
    pub fn then(self, later: LayerChoice) -> LayerChoice {
        LayerChoice {
            substream: later.substream.or(self.substream),
            temporal: later.temporal.or(self.temporal),
            fallback_us: later.fallback_us.or(self.fallback_us),
            adaptive: later.adaptive.or(self.adaptive),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == LayerChoice::default()
    }
}

impl SubStreamInfo {
    /// The publisher streams this subscription stream carries.
    pub fn origins(&self) -> Vec<(ParticipantId, String)> {
        if self.kind == MediaKind::Data {
            self.sources.clone()
        } else {
            vec![(self.feed_id, self.feed_mid.clone())]
        }
    }
}

impl RoomEvent {
    /// The `Layer` events for a stream's change of substream and temporal layer (`svc`: of
    /// spatial and temporal layer): one for each that changed, substream first (as Janus sends
    /// them).
    pub fn layers(room: RoomId, mid: &str, svc: bool, substream: Option<u8>, temporal: Option<u8>) -> Vec<RoomEvent> {
        let layer = |(substream, temporal)| RoomEvent::Layer { room, mid: mid.to_string(), svc, substream, temporal };
        one_per_change(substream, temporal).map(layer).collect()
    }
}

/// A change of substream and temporal layer as Janus tells it: one event for each that
/// changed, the substream first.
fn one_per_change(substream: Option<u8>, temporal: Option<u8>) -> impl Iterator<Item = (Option<u8>, Option<u8>)> {
    let substream = substream.map(|s| (Some(s), None));
    substream.into_iter().chain(temporal.map(|t| (None, Some(t))))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomEvent {
    // Replies to the request's own handle.
    Joined {
        room: RoomId,
        description: String,
        id: ParticipantId,
        private_id: u32,
        publishers: Vec<PublisherInfo>,
        attendees: Option<Vec<Attendee>>,
        /// The joiner's own streams, when it published as it joined (`joinandconfigure`).
        streams: Option<Vec<StreamInfo>>,
        /// The joiner's own `audio_active_packets` and `audio_level_average`, if it gave them.
        talk: (Option<u32>, Option<u32>),
    },
    /// Reply to publish and configure; `streams` is set when the publisher's streams changed.
    Configured {
        room: RoomId,
        streams: Option<Vec<StreamInfo>>,
    },
    UnpublishedOk {
        room: RoomId,
    },
    /// Reply to leave; also sent to a kicked publisher (`kicked: true`).
    LeavingOk {
        room: RoomId,
        kicked: bool,
    },
    Attached {
        room: RoomId,
        streams: Vec<SubStreamInfo>,
    },
    Started {
        room: RoomId,
    },
    Paused {
        room: RoomId,
    },
    /// The subscription changed (subscribe, unsubscribe, update, or a feed went away): a new
    /// offer follows.
    Updated {
        room: RoomId,
        streams: Vec<SubStreamInfo>,
    },
    /// A change was accepted while an offer is still unanswered; the new offer follows `start`.
    Updating {
        room: RoomId,
    },
    Switched {
        room: RoomId,
        changes: u32,
        streams: Vec<SubStreamInfo>,
    },
    Left {
        room: RoomId,
    },

    // Notifications to the other participants (no transaction).
    NewPublishers {
        room: RoomId,
        publishers: Vec<PublisherInfo>,
    },
    Unpublished {
        room: RoomId,
        id: ParticipantId,
    },
    Leaving {
        room: RoomId,
        id: ParticipantId,
    },
    Joining {
        room: RoomId,
        id: ParticipantId,
        display: Option<String>,
    },
    Kicked {
        room: RoomId,
        id: ParticipantId,
    },
    Display {
        id: ParticipantId,
        display: String,
    },
    Moderation {
        room: RoomId,
        id: ParticipantId,
        mid: String,
        muted: bool,
    },
    /// A subscriber stream now forwards another simulcast substream or temporal layer (one of
    /// the two is set: Janus sends an event for each); `svc`: VP9 SVC's spatial or temporal
    /// layer.
    Layer {
        room: RoomId,
        mid: String,
        svc: bool,
        substream: Option<u8>,
        temporal: Option<u8>,
    },
    /// A publisher's audio stream started or stopped talking (`audiolevel_event`), told to
    /// every publisher of the room, itself included; the average level over the packets that
    /// decided it is `level_sum / packets` (-dBov).
    Talking {
        room: RoomId,
        id: ParticipantId,
        mindex: u32,
        mid: String,
        talking: bool,
        level_sum: u64,
        packets: u32,
    },
    /// A stream lost packets past `slowlink_threshold` in the last second: to a subscriber,
    /// of what it is sent; to a publisher, of what it sends, with the room's bitrate cap.
    SlowLink {
        current_bitrate: Option<u32>,
    },
    Destroyed {
        room: RoomId,
    },
}
