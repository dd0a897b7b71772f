//! The media sockets' system calls beyond `std`: reading a datagram together with the local
//! address it was sent to (`IP_PKTINFO`, `IPV6_RECVPKTINFO`), which a socket bound to the
//! wildcard address needs to tell the ICE stack which of its host candidates a datagram reached;
//! and an IPv6 socket that takes IPv6 only, beside the IPv4 one on the same port.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};

use nix::sys::socket::{
    bind as bind_fd, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag,
    SockType, SockaddrIn6, SockaddrStorage,
};

/// A non-blocking UDP socket on `ip:port` that reports each datagram's arrival address. An
/// IPv6 one takes only IPv6 (the IPv4 socket beside it has the same port).
pub fn bind(ip: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let socket = match ip {
        IpAddr::V4(_) => {
            let s = UdpSocket::bind((ip, port))?;
            setsockopt(&s, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
            s
        }
        IpAddr::V6(v6) => {
            let fd = socket(AddressFamily::Inet6, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
                .map_err(io::Error::from)?;
            setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(io::Error::from)?;
            setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true).map_err(io::Error::from)?;
            bind_fd(fd.as_raw_fd(), &SockaddrIn6::from(SocketAddrV6::new(v6, port, 0, 0))).map_err(io::Error::from)?;
            // SAFETY: the descriptor is a bound UDP socket this function owns and hands over.
            unsafe { UdpSocket::from_raw_fd(fd.into_raw_fd()) }
        }
    };
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// One datagram: its length in `buf`, who sent it, and the address of ours it was sent to.
pub fn recv(socket: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<IpAddr>)> {
    let mut space = nix::cmsg_space!(nix::libc::in6_pktinfo);
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
        match c {
            ControlMessageOwned::Ipv4PacketInfo(info) => {
                to = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
            }
            ControlMessageOwned::Ipv6PacketInfo(info) => to = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr))),
            _ => {}
        }
    }
    Ok((msg.bytes, peer, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr, Option<IpAddr>) {
        let mut buf = [0u8; 16];
        loop {
            match recv(socket, &mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                r => {
                    let (n, peer, to) = r.unwrap();
                    return (buf[..n].to_vec(), peer, to);
                }
            }
        }
    }

    #[test]
    fn a_wildcard_socket_learns_which_address_each_datagram_reached() {
        let socket = bind([0, 0, 0, 0].into(), 0).unwrap();
        let port = socket.local_addr().unwrap().port();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"hello", ("127.0.0.2", port)).unwrap();
        let (data, peer, to) = receive(&socket);
        assert_eq!(data, b"hello");
        assert_eq!(peer, sender.local_addr().unwrap());
        assert_eq!(to, Some("127.0.0.2".parse().unwrap()));
    }

    #[test]
    fn an_ipv6_socket_shares_the_port_of_the_ipv4_one_and_learns_its_address() {
        let v4 = bind([0, 0, 0, 0].into(), 0).unwrap();
        let port = v4.local_addr().unwrap().port();
        let Ok(v6) = bind(Ipv6Addr::UNSPECIFIED.into(), port) else {
            return; // no IPv6 on this machine
        };
        let sender = UdpSocket::bind("[::1]:0").unwrap();
        sender.send_to(b"six", ("::1", port)).unwrap();
        let (data, peer, to) = receive(&v6);
        assert_eq!(
            (data.as_slice(), peer, to),
            (&b"six"[..], sender.local_addr().unwrap(), Some("::1".parse().unwrap()))
        );
    }
}
