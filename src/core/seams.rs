//! The seams through which the core reaches the outside world: time and sockets. Production
//! plugs in the system clock and real UDP sockets; tests plug in a manual clock and a socket
//! factory that fails on demand (the #3468 scenario). The core calls a seam only while it holds
//! no lock: the calls that can do I/O take the root token.

use std::io;
use std::net::SocketAddr;

use super::event::SubStreamInfo;
use super::ids::HandleId;

/// Milliseconds on a monotonic clock.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// The media endpoint of one PeerConnection (a publisher's, a subscriber's or an echo's). Its
/// SDP methods are pure computations: the core may call them under a lock.
pub trait MediaPort: Send + Sync {
    fn local_addr(&self) -> SocketAddr;
    /// The SDP answer to a client's offer, or why the offer cannot be answered.
    fn answer(&self, offer: &str) -> Result<String, String>;
    /// The SDP offer for a subscription's streams.
    fn offer(&self, streams: &[SubStreamInfo]) -> String;
}

/// The socket of one RTP forwarder.
pub trait ForwarderSocket: Send + Sync {
    fn local_addr(&self) -> SocketAddr;
    fn target(&self) -> SocketAddr;
}

/// Where the core gets its sockets.
pub trait SocketFactory: Send + Sync {
    /// A media endpoint for the PeerConnection of `handle` (publish, subscriber join).
    fn open_media(&self, handle: HandleId) -> io::Result<Box<dyn MediaPort>>;
    /// A socket that sends a publisher's plain RTP to `target` (rtp_forward).
    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Box<dyn ForwarderSocket>>;
}
