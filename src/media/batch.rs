//! Sends a run of datagrams to different addresses with one `sendmmsg` call. A fan-out's copies
//! go to as many subscribers, so UDP GSO (one destination per call) cannot batch them; one
//! system call per run at least keeps the kernel's send path hot across the run instead of
//! alternating with the encryption of the next copy.

use std::net::IpAddr;
use std::os::fd::RawFd;

use bytes::Bytes;
use nix::libc;
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
use std::io::IoSlice;

use super::leg::Route;

/// The most datagrams one call hands the kernel.
pub(crate) const MAX_RUN: usize = 64;

pub(crate) struct BatchSender {
    headers: MultiHeaders<SockaddrStorage>,
    addrs: Vec<Option<SockaddrStorage>>,
}

/// The source-address control message of a run (`IP_PKTINFO`, `IPV6_PKTINFO`): the media
/// sockets listen on the wildcard addresses, and a reply must leave from the address the peer
/// sent to.
enum PacketInfo {
    V4(libc::in_pktinfo),
    V6(libc::in6_pktinfo),
}

fn pktinfo(from: Option<IpAddr>) -> Option<PacketInfo> {
    Some(match from? {
        IpAddr::V4(v4) => PacketInfo::V4(libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr { s_addr: u32::from(v4).to_be() },
            ipi_addr: libc::in_addr { s_addr: 0 },
        }),
        IpAddr::V6(v6) => {
            PacketInfo::V6(libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: v6.octets() }, ipi6_ifindex: 0 })
        }
    })
}

impl BatchSender {
    pub fn new() -> BatchSender {
        let cmsg = nix::cmsg_space!(libc::in6_pktinfo);
        BatchSender { headers: MultiHeaders::preallocate(MAX_RUN, Some(cmsg)), addrs: Vec::with_capacity(MAX_RUN) }
    }

    /// Sends `datagrams`, each from the socket `fd_for` gives for its destination's family and
    /// from the address `source` gives for its route (`None`: as the kernel chooses), and sets
    /// `sent[i]` to whether the kernel took the i-th. A datagram the kernel refuses (a full
    /// socket buffer) is dropped, as a congested network would, and the rest still go.
    pub fn send(
        &mut self,
        fd_for: impl Fn(bool) -> Option<RawFd>,
        datagrams: &[(Route, Bytes)],
        sent: &mut Vec<bool>,
        source: impl Fn(IpAddr) -> Option<IpAddr>,
    ) {
        sent.clear();
        sent.resize(datagrams.len(), false);
        let mut at = 0;
        while at < datagrams.len() {
            // A run: up to MAX_RUN datagrams that leave from one address of one family.
            let from = source(datagrams[at].0.from);
            let v6 = datagrams[at].0.to.is_ipv6();
            let len = datagrams[at..]
                .iter()
                .take(MAX_RUN)
                .take_while(|(r, _)| source(r.from) == from && r.to.is_ipv6() == v6)
                .count();
            let Some(fd) = fd_for(v6) else {
                at += len; // no socket of that family: never sent
                continue;
            };
            let run = &datagrams[at..at + len];
            self.addrs.clear();
            self.addrs.extend(run.iter().map(|(route, _)| Some(SockaddrStorage::from(route.to))));
            let slices: Vec<[IoSlice<'_>; 1]> = run.iter().map(|(_, data)| [IoSlice::new(data)]).collect();
            let info = pktinfo(from);
            let cmsgs: Vec<ControlMessage<'_>> = match &info {
                Some(PacketInfo::V4(i)) => vec![ControlMessage::Ipv4PacketInfo(i)],
                Some(PacketInfo::V6(i)) => vec![ControlMessage::Ipv6PacketInfo(i)],
                None => Vec::new(),
            };
            match sendmmsg(fd, &mut self.headers, &slices, &self.addrs, &cmsgs, MsgFlags::MSG_DONTWAIT) {
                Ok(results) => {
                    let n = results.count();
                    sent[at..at + n].fill(true);
                    // Stopped short: the next one was refused. Drop it and go on after it.
                    at += if n == run.len() { n } else { n + 1 };
                }
                Err(_) => at += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    fn route(to: SocketAddr) -> Route {
        Route { from: [127, 0, 0, 1].into(), to }
    }

    #[test]
    fn each_run_leaves_from_its_own_address() {
        // A wildcard socket sending to one receiver from two loopback addresses in turn.
        let tx = super::super::netio::bind([0, 0, 0, 0].into(), 0).unwrap();
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let froms: [IpAddr; 4] = ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.2"].map(|a| a.parse().unwrap());
        let datagrams: Vec<(Route, Bytes)> =
            froms.iter().map(|f| (Route { from: *f, to }, Bytes::from_static(b"x"))).collect();
        let mut sent = Vec::new();
        BatchSender::new().send(|_| Some(tx.as_raw_fd()), &datagrams, &mut sent, Some);
        assert_eq!(sent, vec![true; 4]);
        let mut buf = [0u8; 4];
        for from in froms {
            let (_, source) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(source.ip(), from);
        }
    }

    #[test]
    fn every_datagram_reaches_its_own_address() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx: Vec<_> = (0..3).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        // More than one run's worth, spread over the three receivers.
        let datagrams: Vec<(Route, Bytes)> = (0..MAX_RUN + 5)
            .map(|i| (route(rx[i % 3].local_addr().unwrap()), Bytes::from(vec![i as u8; 10 + i])))
            .collect();
        let mut sent = Vec::new();
        BatchSender::new().send(|_| Some(tx.as_raw_fd()), &datagrams, &mut sent, Some);
        assert_eq!(sent, vec![true; datagrams.len()]);
        let mut buf = [0u8; 100];
        for (i, (_, data)) in datagrams.iter().enumerate() {
            let n = rx[i % 3].recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &data[..], "datagram {i}");
        }
    }

    #[test]
    fn a_refused_datagram_is_dropped_and_the_rest_still_go() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let too_big = Bytes::from(vec![0u8; 70_000]); // over UDP's 65,507-byte limit: EMSGSIZE
        let datagrams =
            vec![(route(to), Bytes::from_static(b"a")), (route(to), too_big), (route(to), Bytes::from_static(b"c"))];
        let mut sent = Vec::new();
        BatchSender::new().send(|_| Some(tx.as_raw_fd()), &datagrams, &mut sent, Some);
        assert_eq!(sent, vec![true, false, true]);
        let mut buf = [0u8; 10];
        assert_eq!(rx.recv(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'a');
        assert_eq!(rx.recv(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'c');
    }
}
