//! The production implementations of the core's seams: the system clock and real UDP sockets.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Instant;

use crate::core::ids::HandleId;
use crate::core::seams::{Clock, ForwarderSocket, MediaPort, SocketFactory};

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
}

/// Binds UDP sockets on the media address.
pub struct UdpSockets {
    pub media_ip: IpAddr,
}

struct Bound {
    socket: UdpSocket,
    target: Option<SocketAddr>,
}

impl MediaPort for Bound {
    fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().expect("a bound socket has an address")
    }
}

impl ForwarderSocket for Bound {
    fn local_addr(&self) -> SocketAddr {
        MediaPort::local_addr(self)
    }
    fn target(&self) -> SocketAddr {
        self.target.expect("a forwarder socket has a target")
    }
}

impl SocketFactory for UdpSockets {
    fn open_media(&self, _handle: HandleId) -> io::Result<Box<dyn MediaPort>> {
        let socket = UdpSocket::bind((self.media_ip, 0))?;
        Ok(Box::new(Bound { socket, target: None }))
    }

    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Box<dyn ForwarderSocket>> {
        let local: IpAddr = if target.is_ipv4() { [0, 0, 0, 0].into() } else { [0u16; 8].into() };
        let socket = UdpSocket::bind((local, 0))?;
        socket.connect(target)?;
        Ok(Box::new(Bound { socket, target: Some(target) }))
    }
}
