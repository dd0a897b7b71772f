//! Media: the endpoints of PeerConnections and their SDP. Until WebRTC media lands, an endpoint
//! is a bound UDP socket whose SDP offers and answers carry its address and fresh ICE
//! credentials.

pub mod sdp;
mod udp;

pub use udp::{SystemClock, UdpSockets};
