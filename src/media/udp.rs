//! The production implementations of the core's seams: the system clock and real UDP sockets.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::sdp::{self, Transport};
use crate::core::event::{LayerChoice, SubStreamInfo};
use crate::core::ids::IdGen;
use crate::core::room::FanoutTarget;
use crate::core::seams::{
    Clock, ForwardTo, ForwarderSocket, MediaPort, PacketSink, PeerInfo, PeerOwner, PublisherLimits, RecordSpec,
    SocketFactory, TrickleCandidate,
};
use crate::sync::order::{MediaCall, Token};

/// Milliseconds since the server started.
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    fn unix_us(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
    }
}

/// Binds UDP sockets on the media address.
pub struct UdpSockets {
    pub media_ip: IpAddr,
    counter: AtomicU64,
}

impl UdpSockets {
    pub fn new(media_ip: IpAddr) -> Self {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        UdpSockets { media_ip, counter: AtomicU64::new(seed) }
    }

    fn credentials(&self) -> (String, String, String) {
        let mut ids = IdGen::new(self.counter.fetch_add(0x9E37_79B9, Ordering::Relaxed));
        let ufrag = ids.hex(1);
        let pwd = ids.hex(3);
        let fp = ids.hex(8);
        let fingerprint = fp
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        (ufrag, pwd, fingerprint)
    }
}

/// A PeerConnection's endpoint: its socket and ICE credentials. (The DTLS fingerprint is a
/// placeholder until DTLS lands with the media issue.)
struct Endpoint {
    socket: UdpSocket,
    ufrag: String,
    pwd: String,
    fingerprint: String,
    session_id: u64,
}

impl Endpoint {
    fn transport(&self) -> Transport<'_> {
        Transport {
            addr: self.local_addr(),
            ufrag: &self.ufrag,
            pwd: &self.pwd,
            fingerprint: &self.fingerprint,
            session_id: self.session_id,
        }
    }
}

impl MediaPort for Endpoint {
    fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound socket has an address")
    }
    fn answer(&self, _held: &mut Token<MediaCall>, offer: &str) -> Result<String, String> {
        sdp::answer(offer, &self.transport())
    }
    fn offer(&self, _held: &mut Token<MediaCall>, streams: &[SubStreamInfo]) -> Result<String, String> {
        Ok(sdp::offer(streams, &self.transport()))
    }
    fn accept_answer(&self, _held: &mut Token<MediaCall>, _answer: &str) -> Result<(), String> {
        Ok(())
    }
    fn add_candidate(&self, _held: &mut Token<MediaCall>, _candidate: Option<&TrickleCandidate>) -> Result<(), String> {
        Ok(())
    }
    fn set_fanout(&self, _held: &mut Token<MediaCall>, _mid: &str, _targets: &[FanoutTarget]) {}
    fn set_paused(&self, _paused: bool) {}
    fn set_send(&self, _held: &mut Token<MediaCall>, _mid: &str, _send: bool) {}
    /// No media flows here: no layer is ever in effect.
    fn set_layers(&self, _held: &mut Token<MediaCall>, _mid: &str, _layers: LayerChoice) -> (Option<u8>, Option<u8>) {
        (None, None)
    }
    fn set_limits(&self, _held: &mut Token<MediaCall>, _limits: PublisherLimits) {}
    fn set_forwarders(&self, _forwarders: &[ForwardTo]) {}
    fn request_keyframe(&self, _mid: &str) {}
    fn info(&self, _held: &mut Token<MediaCall>) -> PeerInfo {
        PeerInfo {
            local_candidates: vec![format!(
                "1 1 udp 2130706431 {} {} typ host",
                self.local_addr().ip(),
                self.local_addr().port()
            )],
            ..PeerInfo::default()
        }
    }
}

struct Forwarder {
    socket: UdpSocket,
    target: SocketAddr,
}

impl PacketSink for Forwarder {
    fn send(&self, packet: &[u8]) {
        let _ = self.socket.send(packet);
    }
}

impl ForwarderSocket for Forwarder {
    fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound socket has an address")
    }
    fn target(&self) -> SocketAddr {
        self.target
    }
}

impl SocketFactory for UdpSockets {
    fn open_media(&self, owner: PeerOwner) -> io::Result<Box<dyn MediaPort>> {
        let socket = UdpSocket::bind((self.media_ip, 0))?;
        let (ufrag, pwd, fingerprint) = self.credentials();
        Ok(Box::new(Endpoint { socket, ufrag, pwd, fingerprint, session_id: owner.handle }))
    }

    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>> {
        open_forwarder(target)
    }
    fn open_recording(&self, spec: RecordSpec) -> Arc<dyn PacketSink> {
        crate::record::open(spec)
    }
}

/// A socket that sends to `target` (an RTP forwarder's).
pub(crate) fn open_forwarder(target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>> {
    let local: IpAddr = if target.is_ipv4() { [0, 0, 0, 0].into() } else { [0u16; 8].into() };
    let socket = UdpSocket::bind((local, 0))?;
    socket.connect(target)?;
    socket.set_nonblocking(true)?;
    Ok(Arc::new(Forwarder { socket, target }))
}
