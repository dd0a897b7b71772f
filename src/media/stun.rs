//! `[media] stun_server`: at start, as Janus does, vroom asks a STUN server from its media
//! socket what address the world sees it at (its server-reflexive address), and offers that as
//! a candidate too. A server that does not answer stops the start, as in Janus.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::message::{Getter, Message, TransactionId, BINDING_REQUEST, BINDING_SUCCESS};
use rtc::stun::xoraddr::XorMappedAddress;

use super::netio;

/// What the STUN server saw: the mapped address, and which of our addresses the exchange
/// went through (the candidate's base).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reflexive {
    pub mapped: SocketAddr,
    pub base: IpAddr,
}

/// Asks `server` (`host:port`) for our server-reflexive address, from `socket` (the media
/// socket, before the shard takes it). Retries for up to `wait`.
pub fn server_reflexive(socket: &UdpSocket, server: &str, wait: Duration) -> io::Result<Reflexive> {
    let to = server
        .to_socket_addrs()
        .map_err(|e| io::Error::other(format!("stun_server {server:?}: {e}")))?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| io::Error::other(format!("stun_server {server:?}: no IPv4 address")))?;
    let mut request = Message::new();
    request
        .build(&[Box::new(BINDING_REQUEST), Box::new(TransactionId::new()), Box::new(FINGERPRINT)])
        .map_err(io::Error::other)?;
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 1500];
    let mut next_send = Instant::now();
    while Instant::now() < deadline {
        if Instant::now() >= next_send {
            socket.send_to(&request.raw, to)?;
            next_send = Instant::now() + Duration::from_millis(250);
        }
        match netio::recv(socket, &mut buf) {
            Ok((n, from, base)) if from == to => {
                let mut response = Message::new();
                if response.write(&buf[..n]).is_err()
                    || response.transaction_id != request.transaction_id
                    || response.typ != BINDING_SUCCESS
                {
                    continue;
                }
                let mut mapped = XorMappedAddress::default();
                mapped.get_from(&response).map_err(io::Error::other)?;
                let base = base.ok_or_else(|| io::Error::other("a STUN response without its arrival address"))?;
                return Ok(Reflexive { mapped: SocketAddr::new(mapped.ip, mapped.port), base });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::TimedOut, format!("stun_server {server}: no answer in {wait:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::Setter;

    /// A STUN server on loopback that answers one binding request with `mapped`.
    fn one_answer(mapped: SocketAddr) -> SocketAddr {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let mut request = Message::new();
            request.write(&buf[..n]).unwrap();
            let mut response = Message::new();
            let xor = XorMappedAddress { ip: mapped.ip(), port: mapped.port() };
            response
                .build(&[Box::new(BINDING_SUCCESS), Box::new(request.transaction_id), Box::new(xor) as Box<dyn Setter>])
                .unwrap();
            server.send_to(&response.raw, from).unwrap();
        });
        addr
    }

    #[test]
    fn the_mapped_address_and_its_base_come_back() {
        let mapped: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let server = one_answer(mapped);
        let socket = netio::bind([0, 0, 0, 0].into(), 0).unwrap();
        let r = server_reflexive(&socket, &server.to_string(), Duration::from_secs(5)).unwrap();
        assert_eq!(r, Reflexive { mapped, base: "127.0.0.1".parse().unwrap() });
    }

    #[test]
    fn a_silent_server_is_an_error_naming_it() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let socket = netio::bind([0, 0, 0, 0].into(), 0).unwrap();
        let e = server_reflexive(&socket, &silent.local_addr().unwrap().to_string(), Duration::from_millis(300))
            .unwrap_err();
        assert!(e.to_string().contains("stun_server"), "{e}");
    }
}
