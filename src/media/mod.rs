//! Media: WebRTC PeerConnections on webrtc-rs's sans-IO stack (`rtc`), driven by vroom's own
//! UDP I/O. `engine` is what the core sees (a socket factory handing out legs), `leg` one
//! PeerConnection (`port` its side the core calls, `registry` the engine's open legs), `shard`
//! a thread that moves its legs' packets (`dispatch` what it sends, `handoff` what it hands
//! other shards), `peer` how vroom sets up and queries an `rtc` peer connection. A leg's outgoing streams are `sender`s (numbered by `rewrite`); a subscriber leg
//! encrypts what it forwards itself (`srtp_out`), past the stack. `addresses` chooses the host
//! candidates (interfaces, 1:1 NAT) and `netio` reads which of them each datagram reached.
//!
//! `udp` keeps the signalling-only endpoint (vroom's own SDP, no media) that the core's unit
//! tests use, and the system clock.
//!
//! The files are layered: each uses only files of the layers before it, or before it in its
//! own layer (no import circle; `media_modules_import_no_circle` checks it).
//!
//! 1. Packets and numbers: `by_mid`, `vp8`, `vp9`, `av1`, `h264`, `rewrite`, `gate`, `adapt`,
//!    `downlink`, `stats`, `news`, `talk`, `slowlink`, `addresses`, `netio`, `handoff` (between shards).
//! 2. Streams, SDP and settings: `simulcast`, `svc`, `srtp_out`, `sender`, `sdp`, `udp`,
//!    `settings`, `stun`.
//! 3. `peer`: an `rtc` peer connection, built and queried.
//! 4. `leg`: one PeerConnection, and the commands its shard takes.
//! 5. Around a leg: `introspect`, `demux`, `batch`, `registry`, `dispatch` (what a shard sends).
//! 6. Its users: `shard` (the packet path), `port` (the core's side).
//! 7. `engine`, which starts the shard and opens legs; `fuzzing`, its harnesses.

mod adapt;
pub mod addresses;
pub mod av1;
mod batch;
mod by_mid;
mod demux;
mod dispatch;
mod downlink;
mod engine;
pub mod fuzzing;
mod gate;
mod h264;
pub mod handoff;
mod introspect;
mod leg;
mod netio;
mod news;
mod peer;
mod port;
mod registry;
pub mod rewrite;
pub mod sdp;
mod sender;
mod settings;
mod shard;
pub mod simulcast;
mod slowlink;
mod srtp_out;
mod stats;
mod stun;
mod svc;
mod talk;
mod udp;
pub mod vp8;
pub mod vp9;

pub use engine::{MediaAccounting, MediaEngine};
pub use news::{LayerNews, MediaNews, PeerEvent, PeerInbox, PeerNews, SlowNews, TalkNews};
pub use peer::rtcp_to_application;
pub(crate) use peer::sending_track;
pub use settings::MediaSettings;
pub use stats::{DropReason, MediaStats, StatsSnapshot};
pub use udp::{SystemClock, UdpSockets};
