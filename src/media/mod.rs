//! Media: WebRTC PeerConnections on webrtc-rs's sans-IO stack (`rtc`), driven by vroom's own
//! UDP I/O. `engine` is what the core sees (a socket factory handing out legs), `leg` one
//! PeerConnection (`port` its side the core calls), `shard` the thread that moves every leg's
//! packets, `peer` how vroom sets up and queries an `rtc` peer connection. A leg's outgoing
//! streams are `sender`s (numbered by `rewrite`); a subscriber leg encrypts what it forwards
//! itself (`srtp_out`), past the stack. `addresses` chooses the host candidates (interfaces,
//! 1:1 NAT) and `netio` reads which of them each datagram reached.
//!
//! `udp` keeps the signalling-only endpoint (vroom's own SDP, no media) that the core's unit
//! tests use, and the system clock.

mod adapt;
pub mod addresses;
pub mod av1;
mod batch;
mod demux;
mod downlink;
mod engine;
pub mod fuzzing;
mod gate;
mod h264;
mod introspect;
mod leg;
mod netio;
mod news;
mod peer;
mod port;
pub mod rewrite;
pub mod sdp;
mod sender;
mod shard;
pub mod simulcast;
mod srtp_out;
mod stats;
mod stun;
mod svc;
mod udp;
pub mod vp8;
pub mod vp9;

pub use engine::{MediaAccounting, MediaEngine, MediaSettings};
pub use news::{LayerNews, MediaNews, PeerEvent, PeerInbox, PeerNews};
pub use peer::rtcp_to_application;
pub(crate) use peer::sending_track;
pub use stats::{DropReason, MediaStats, StatsSnapshot};
pub use udp::{SystemClock, UdpSockets};
