//! The media socket's system calls beyond `std`: reading a datagram together with the local
//! address it was sent to (`IP_PKTINFO`), which a socket bound to the wildcard address needs
//! to tell the ICE stack which of its host candidates a datagram reached.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage};

/// A non-blocking UDP socket on `ip:port` that reports each datagram's arrival address.
pub fn bind(ip: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind((ip, port))?;
    setsockopt(&socket, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// One datagram: its length in `buf`, who sent it, and the address of ours it was sent to.
pub fn recv(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<IpAddr>)> {
    let mut space = nix::cmsg_space!(nix::libc::in_pktinfo);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_DONTWAIT)
        .map_err(io::Error::from)?;
    let peer = msg
        .address
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from((v6.ip(), v6.port()))))
        })
        .ok_or_else(|| io::Error::other("a datagram without a sender"))?;
    let mut to = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::Ipv4PacketInfo(info) = c {
            to = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
        }
    }
    Ok((msg.bytes, peer, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_socket_learns_which_address_each_datagram_reached() {
        let socket = bind([0, 0, 0, 0].into(), 0).unwrap();
        let port = socket.local_addr().unwrap().port();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"hello", ("127.0.0.2", port)).unwrap();
        let mut buf = [0u8; 16];
        let (n, peer, to) = loop {
            match recv(&socket, &mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                r => break r.unwrap(),
            }
        };
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(peer, sender.local_addr().unwrap());
        assert_eq!(to, Some("127.0.0.2".parse().unwrap()));
    }
}
