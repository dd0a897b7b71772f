//! Sends a run of datagrams to different addresses with one `sendmmsg` call. A fan-out's copies
//! go to as many subscribers, so UDP GSO (one destination per call) cannot batch them; one
//! system call per run at least keeps the kernel's send path hot across the run instead of
//! alternating with the encryption of the next copy.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use bytes::Bytes;
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
use std::io::IoSlice;

/// The most datagrams one call hands the kernel.
pub(crate) const MAX_RUN: usize = 64;

pub(crate) struct BatchSender {
    headers: MultiHeaders<SockaddrStorage>,
    addrs: Vec<Option<SockaddrStorage>>,
}

impl BatchSender {
    pub fn new() -> BatchSender {
        BatchSender { headers: MultiHeaders::preallocate(MAX_RUN, None), addrs: Vec::with_capacity(MAX_RUN) }
    }

    /// Sends `datagrams` from socket `fd`, and sets `sent[i]` to whether the kernel took the
    /// i-th. A datagram the kernel refuses (a full socket buffer) is dropped, as a congested
    /// network would, and the rest still go.
    pub fn send(&mut self, fd: RawFd, datagrams: &[(SocketAddr, Bytes)], sent: &mut Vec<bool>) {
        sent.clear();
        sent.resize(datagrams.len(), false);
        let mut at = 0;
        while at < datagrams.len() {
            let run = &datagrams[at..(at + MAX_RUN).min(datagrams.len())];
            self.addrs.clear();
            self.addrs.extend(run.iter().map(|(addr, _)| Some(SockaddrStorage::from(*addr))));
            let slices: Vec<[IoSlice<'_>; 1]> = run.iter().map(|(_, data)| [IoSlice::new(data)]).collect();
            let no_cmsgs: [ControlMessage<'_>; 0] = [];
            match sendmmsg(fd, &mut self.headers, &slices, &self.addrs, no_cmsgs, MsgFlags::MSG_DONTWAIT) {
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
    use std::os::fd::AsRawFd;

    #[test]
    fn every_datagram_reaches_its_own_address() {
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx: Vec<_> = (0..3).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        // More than one run's worth, spread over the three receivers.
        let datagrams: Vec<(SocketAddr, Bytes)> = (0..MAX_RUN + 5)
            .map(|i| (rx[i % 3].local_addr().unwrap(), Bytes::from(vec![i as u8; 10 + i])))
            .collect();
        let mut sent = Vec::new();
        BatchSender::new().send(tx.as_raw_fd(), &datagrams, &mut sent);
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
        let datagrams = vec![(to, Bytes::from_static(b"a")), (to, too_big), (to, Bytes::from_static(b"c"))];
        let mut sent = Vec::new();
        BatchSender::new().send(tx.as_raw_fd(), &datagrams, &mut sent);
        assert_eq!(sent, vec![true, false, true]);
        let mut buf = [0u8; 10];
        assert_eq!(rx.recv(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'a');
        assert_eq!(rx.recv(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], b'c');
    }
}
