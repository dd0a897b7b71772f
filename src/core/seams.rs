//! The seams through which the core reaches the outside world: time and sockets. Production
//! plugs in the system clock and the WebRTC media engine; tests plug in a manual clock and a
//! socket factory that fails on demand (the #3468 scenario). The core opens and closes media
//! endpoints only while it holds no lock (those calls take the root token).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::event::{LayerChoice, MediaKind, SubStreamInfo};
use super::ids::{HandleId, SessionId};
use super::room::FanoutTarget;
use crate::sync::order::{MediaCall, Token};

/// Milliseconds on a monotonic clock.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
    /// The wall clock, µs since the Unix epoch (recordings' names and headers).
    fn unix_us(&self) -> i64;
}

/// Whose PeerConnection an endpoint is, and what it does with media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerOwner {
    pub session: SessionId,
    pub handle: HandleId,
    pub kind: LegKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegKind {
    /// Receives a publisher's media and forwards it to the fan-out the core publishes.
    Publisher,
    /// Sends a subscription's streams.
    Subscriber,
    /// Sends back what it receives (the EchoTest plugin).
    Echo,
}

/// The media endpoint of one PeerConnection. Every method is a computation on the endpoint's
/// own state (no socket I/O), so the core may call them while it holds its own locks: the
/// media engine does the sending on its own threads. Those that take the media's locks
/// (`sync::levels::Legs`, `Leg`, after every core lock) take the caller's token as `held`
/// (`Token::media`).
pub trait MediaPort: Send + Sync {
    fn local_addr(&self) -> SocketAddr;
    /// The SDP answer to a client's offer, or why the offer cannot be answered.
    fn answer(&self, held: &mut Token<MediaCall>, offer: &str) -> Result<String, String>;
    /// The SDP offer for a subscription's streams (all of them, in m-line order).
    fn offer(&self, held: &mut Token<MediaCall>, streams: &[SubStreamInfo]) -> Result<String, String>;
    /// The client's answer to our last offer.
    fn accept_answer(&self, held: &mut Token<MediaCall>, answer: &str) -> Result<(), String>;
    /// A trickled ICE candidate (`None`: the client's gathering is complete).
    fn add_candidate(&self, held: &mut Token<MediaCall>, candidate: Option<&TrickleCandidate>) -> Result<(), String>;
    /// The subscriber streams the publisher stream `mid` is forwarded to from now on.
    fn set_fanout(&self, held: &mut Token<MediaCall>, mid: &str, targets: &[FanoutTarget]);
    /// A subscriber's `pause` / `start`: nothing is sent while paused.
    fn set_paused(&self, paused: bool);
    /// A subscriber's `configure` of one stream (`send`): its packets are dropped while false.
    fn set_send(&self, held: &mut Token<MediaCall>, mid: &str, send: bool);
    /// The simulcast layers a subscriber stream forwards from now on (the whole choice, not a
    /// change). Returns the substream and temporal layer that are already in effect, if the
    /// choice asks for them: Janus confirms those at once.
    fn set_layers(&self, held: &mut Token<MediaCall>, mid: &str, layers: LayerChoice) -> (Option<u8>, Option<u8>);
    /// What a publisher's room (and its own requests) ask of its media from now on.
    fn set_limits(&self, held: &mut Token<MediaCall>, limits: PublisherLimits);
    /// The RTP forwarders of this publisher from now on.
    fn set_forwarders(&self, forwarders: &[ForwardTo]);
    /// Asks the publisher for a keyframe of stream `mid` (a recording that starts needs one).
    fn request_keyframe(&self, mid: &str);
    /// What the PeerConnection is doing, for the admin API's `handle_info`.
    fn info(&self, held: &mut Token<MediaCall>) -> PeerInfo;
}

/// What a publisher's room and its own requests ask of its media.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublisherLimits {
    /// The bitrate cap sent as REMB (0: none).
    pub bitrate: u32,
    /// The interval of keyframe requests in seconds (`fir_freq`, 0: none).
    pub fir_freq: u32,
    /// Who is talking is told (`audiolevel_event`), judged so; else `None`.
    pub talk: Option<TalkSettings>,
}

/// How talking is judged from the audio level extension: every `packets` audio packets of a
/// stream, their average level (-dBov, 0 the loudest, 127 silence) below `average` is talking
/// (Janus's `audio_active_packets`, `audio_level_average`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TalkSettings {
    pub packets: u32,
    pub average: u32,
}

/// A PeerConnection as `handle_info` shows it: ICE, DTLS, the SDPs and each stream's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// How long ago (ms) the PeerConnection was made, and (if it did) connected.
    pub age_ms: u64,
    pub connected_ms_ago: Option<u64>,
    /// The ICE transport's state (`new`, `checking`, `connected`, ...) and our role.
    pub ice_state: String,
    pub ice_role: String,
    /// Candidates, as SDP `candidate:` values without the prefix.
    pub local_candidates: Vec<String>,
    pub remote_candidates: Vec<String>,
    /// `local:port [type,udp] <-> remote:port [type,udp]`, once ICE selected a pair.
    pub selected_pair: Option<String>,
    pub dtls_state: String,
    /// `active` (DTLS client) or `passive` (server), as Janus names them.
    pub dtls_role: String,
    pub srtp_profile: Option<String>,
    pub fingerprint: Option<String>,
    pub remote_fingerprint: Option<String>,
    /// Datagrams and bytes through the PeerConnection's transport.
    pub transport_in: (u64, u64),
    pub transport_out: (u64, u64),
    pub local_sdp: Option<String>,
    pub remote_sdp: Option<String>,
    pub streams: Vec<PeerStream>,
}

/// One m-line of a PeerConnection, as `handle_info` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStream {
    pub mid: String,
    pub mindex: u32,
    /// `audio`, `video` or `data`.
    pub kind: String,
    /// The codec (as Janus names it) and its payload type.
    pub codec: Option<(String, u8)>,
    pub send: bool,
    pub recv: bool,
    /// Our SSRC on it, and the peer's.
    pub ssrc: Option<u32>,
    pub ssrc_peer: Option<u32>,
    /// Whether vroom answers NACKs on what it sends here (and asks for lost packets it gets).
    pub nacks: bool,
    pub packets_in: u64,
    pub bytes_in: u64,
    /// NACKs and keyframe requests (PLI/FIR) vroom sent about what it receives.
    pub nacks_sent: u64,
    pub keyframe_requests_sent: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    /// NACKs and keyframe requests the peer sent about what vroom sends.
    pub nacks_received: u64,
    pub keyframe_requests_received: u64,
    pub lost_in: i64,
    pub jitter_in: u32,
}

/// One trickled candidate, as Janus's `trickle` request carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrickleCandidate {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_mline_index: Option<u16>,
}

/// Where an RTP forwarder sends what: a publisher stream's packets (of one simulcast
/// substream, if it has several) to a socket.
#[derive(Clone)]
pub struct ForwardTo {
    pub mid: String,
    pub substream: Option<u8>,
    pub sink: Arc<dyn PacketSink>,
}

impl ForwardTo {
    /// Whether a packet of stream `mid`, of substream `layer`, goes to this forwarder.
    pub fn carries(&self, mid: &str, layer: Option<u8>) -> bool {
        self.mid == mid && self.substream == layer
    }
}

/// A recording of one publisher stream: its file, and what the file's header says of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSpec {
    pub path: PathBuf,
    pub kind: MediaKind,
    /// The codec as Janus names it (`opus`, `vp8`, `h264`, ...).
    pub codec: String,
    pub fmtp: Option<String>,
    pub description: Option<String>,
    /// When the recording was created (µs since the Unix epoch).
    pub created_us: i64,
}

/// Where a publisher's plain RTP goes besides its subscribers: an RTP forwarder's socket, or
/// a recording.
pub trait PacketSink: Send + Sync {
    /// Takes one plain RTP packet, never blocking (a full buffer drops it).
    fn send(&self, packet: &[u8]);
}

/// The socket of one RTP forwarder.
pub trait ForwarderSocket: PacketSink {
    fn local_addr(&self) -> SocketAddr;
    fn target(&self) -> SocketAddr;
}

/// Where the core gets its sockets.
pub trait SocketFactory: Send + Sync {
    /// A media endpoint for a PeerConnection (publish, subscriber join, echo).
    fn open_media(&self, owner: PeerOwner) -> io::Result<Box<dyn MediaPort>>;
    /// A socket that sends a publisher's plain RTP to `target` (rtp_forward).
    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>>;
    /// A recording of a publisher stream into a file: it does no I/O (the file is opened and
    /// written elsewhere, and a failure there ends the recording), so it may be called under
    /// locks. The file is complete once the sink is dropped.
    fn open_recording(&self, spec: RecordSpec) -> Arc<dyn PacketSink>;
}
