//! The seams through which the core reaches the outside world: time and sockets. Production
//! plugs in the system clock and the WebRTC media engine; tests plug in a manual clock and a
//! socket factory that fails on demand (the #3468 scenario). The core opens and closes media
//! endpoints only while it holds no lock (those calls take the root token).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use super::event::SubStreamInfo;
use super::ids::{HandleId, SessionId};
use super::room::FanoutTarget;

/// Milliseconds on a monotonic clock.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
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
/// own state behind a leaf lock (no socket I/O, no other lock), so the core may call them while
/// it holds its own locks: the media engine does the sending on its own threads.
pub trait MediaPort: Send + Sync {
    fn local_addr(&self) -> SocketAddr;
    /// The SDP answer to a client's offer, or why the offer cannot be answered.
    fn answer(&self, offer: &str) -> Result<String, String>;
    /// The SDP offer for a subscription's streams (all of them, in m-line order).
    fn offer(&self, streams: &[SubStreamInfo]) -> Result<String, String>;
    /// The client's answer to our last offer.
    fn accept_answer(&self, answer: &str) -> Result<(), String>;
    /// A trickled ICE candidate (`None`: the client's gathering is complete).
    fn add_candidate(&self, candidate: Option<&TrickleCandidate>) -> Result<(), String>;
    /// The subscriber streams the publisher stream `mid` is forwarded to from now on.
    fn set_fanout(&self, mid: &str, targets: &[FanoutTarget]);
    /// A subscriber's `pause` / `start`: nothing is sent while paused.
    fn set_paused(&self, paused: bool);
    /// A subscriber's `configure` of one stream (`send`): its packets are dropped while false.
    fn set_send(&self, mid: &str, send: bool);
    /// A publisher's room limits: the bitrate cap sent as REMB (0: none) and the interval of
    /// keyframe requests in seconds (`fir_freq`, 0: none).
    fn set_limits(&self, bitrate: u32, fir_freq: u32);
    /// The RTP forwarders of this publisher from now on: (mid, socket).
    fn set_forwarders(&self, forwarders: &[(String, Arc<dyn ForwarderSocket>)]);
}

/// One trickled candidate, as Janus's `trickle` request carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrickleCandidate {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_mline_index: Option<u16>,
}

/// The socket of one RTP forwarder.
pub trait ForwarderSocket: Send + Sync {
    fn local_addr(&self) -> SocketAddr;
    fn target(&self) -> SocketAddr;
    /// Sends one plain RTP packet, never blocking (a full buffer drops it).
    fn send(&self, packet: &[u8]);
}

/// Where the core gets its sockets.
pub trait SocketFactory: Send + Sync {
    /// A media endpoint for a PeerConnection (publish, subscriber join, echo).
    fn open_media(&self, owner: PeerOwner) -> io::Result<Box<dyn MediaPort>>;
    /// A socket that sends a publisher's plain RTP to `target` (rtp_forward).
    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>>;
}
