//! The media side of the fuzz targets (`fuzz/`, replayed by `tests/fuzz_corpus.rs`): untrusted
//! datagrams through the shard's demultiplexer into real legs, and untrusted SDP into legs'
//! answers and offers. Each call builds a detached engine (`MediaEngine::detached`) afresh, with
//! the same seed, so an input does the same thing whenever it is replayed.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rtc::stun::attributes::{ATTR_FINGERPRINT, ATTR_MESSAGE_INTEGRITY};
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{Message, Setter, BINDING_REQUEST, BINDING_SUCCESS};
use rtc::stun::xoraddr::XorMappedAddress;

use super::engine::MediaEngine;
use super::port::LegPort;
use super::registry::{credentials_of, SEED_STEP};
use super::sdp;
use crate::core::event::{MediaKind, SubStreamInfo};
use crate::core::seams::{LegKind, MediaPort, PeerOwner};
use crate::sync::order::{Token, Unlocked};
use crate::sync::ParkingLot;

/// The detached engine's seed: its first leg's credentials are `credentials_of(SEED)`.
const SEED: u64 = 0xF022;

/// The remote peer's offer the fuzzed legs answer: audio, video and a data channel, ICE
/// credentials "fuzz" / "fuzzfuzzfuzzfuzzfuzzfuzz".
pub const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n\
a=ice-ufrag:fuzz\r\na=ice-pwd:fuzzfuzzfuzzfuzzfuzzfuzz\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=setup:actpass\r\n\
a=msid:s a\r\na=ssrc:1111 cname:fuzz\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=setup:actpass\r\n\
a=msid:s v\r\na=ssrc:2222 cname:fuzz\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n\
a=rtcp-fb:96 goog-remb\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=setup:actpass\r\n\
a=sctp-port:5000\r\n";

/// The ICE password in [`OFFER`].
const REMOTE_PASSWORD: &str = "fuzzfuzzfuzzfuzzfuzzfuzz";

/// Where the fuzzed datagrams come from: two peers, one of them on IPv6, and a stranger.
const PEERS: [&str; 4] = ["127.0.0.1:50000", "127.0.0.1:50001", "[::1]:50002", "127.0.0.2:50003"];

/// One of our addresses, and one the engine does not offer.
const OURS: [&str; 2] = ["127.0.0.1", "10.9.9.9"];

/// Datagrams to a publisher leg and an echo leg that answered [`OFFER`], through the shard's
/// demultiplexer. The input is a run of records `[selector, length (2 bytes, big-endian),
/// datagram]`; the selector's bits choose the sender (0–1), our address (2), whether a STUN
/// message is first signed with the publisher's or the echo leg's password (3–4), so that the
/// fuzzer gets past MESSAGE-INTEGRITY, and whether time then jumps to the leg's next timers
/// and runs them, three times over (5). The harness plays the rest of the remote ICE agent's
/// part: it answers every check a leg sends, so that ICE completes and the datagrams that follow
/// reach DTLS.
pub fn datagrams(data: &[u8]) {
    let _ = datagrams_sent(data);
}

/// As [`datagrams`]; returns what the legs sent, but for the answered checks.
fn datagrams_sent(data: &[u8]) -> Vec<Vec<u8>> {
    let engine = MediaEngine::detached(SEED);
    // The harness is the shard's thread: it holds no lock between steps.
    let mut held = Token::root::<ParkingLot>();
    let owner = |handle, kind| PeerOwner { session: 1, handle, kind };
    let legs = [owner(1, LegKind::Publisher), owner(2, LegKind::Echo)].map(|o| {
        let port = engine.open_leg(o).expect("a leg");
        port.answer(&mut held.media(), OFFER).expect("the fuzz offer is answered");
        port
    });
    let passwords = [credentials_of(SEED).1, credentials_of(SEED.wrapping_add(SEED_STEP)).1];
    let mut demux = engine.demux();
    for port in &legs {
        demux.learn(&port.leg);
    }
    let (mut out, mut events, mut sent) = (Vec::new(), Vec::new(), Vec::new());
    // The harness's clock: it moves only when the input says that time passes.
    let mut now = Instant::now();
    for (selector, datagram) in records(data) {
        let peer: SocketAddr = PEERS[usize::from(selector & 3)].parse().expect("an address");
        let to: IpAddr = OURS[usize::from(selector >> 2 & 1)].parse().expect("an address");
        let signed = match selector >> 3 & 3 {
            k @ (1 | 2) => signed(datagram, &passwords[usize::from(k - 1)]),
            _ => None,
        };
        let datagram = signed.as_deref().unwrap_or(datagram);
        let Ok((leg, local)) = demux.route(datagram, peer, Some(to)) else { continue };
        let _ = leg.receive(&mut held, now, local, peer, datagram, &mut out, &mut events);
        answer_checks(&leg, &mut held, now, local, &mut out, &mut events, &mut sent);
        for _ in 0..if selector & 32 != 0 { 3 } else { 0 } {
            let Some(at) = leg.lock(&mut held).next_timeout() else { break };
            now = now.max(at);
            let _ = leg.tick(&mut held, now, &mut out, &mut events);
            answer_checks(&leg, &mut held, now, local, &mut out, &mut events, &mut sent);
        }
    }
    sent
}

/// Answers the checks among what `leg` sent, as the remote agent; moves the rest to `sent`.
fn answer_checks(
    leg: &std::sync::Arc<super::leg::Leg>,
    held: &mut Token<Unlocked>,
    now: Instant,
    local: SocketAddr,
    out: &mut super::leg::Datagrams,
    events: &mut super::news::Reports,
    sent: &mut Vec<Vec<u8>>,
) {
    let mut i = 0;
    while i < out.len() {
        let (route, bytes) = out[i].clone();
        i += 1;
        match check_answered(&bytes, SocketAddr::new(route.from, local.port())) {
            Some(success) => {
                let _ = leg.receive(held, now, local, route.to, &success, out, events);
            }
            None => sent.push(bytes.to_vec()),
        }
    }
    out.clear();
}

/// The remote agent's success response to `check`, a binding request from our `local` address,
/// signed with the remote password of [`OFFER`]; `None` if `check` is not a binding request.
fn check_answered(check: &[u8], local: SocketAddr) -> Option<Vec<u8>> {
    let mut m = Message::new();
    m.raw = check.to_vec();
    m.decode().ok()?;
    if m.typ != BINDING_REQUEST {
        return None;
    }
    let provider = rtc::crypto::default_provider().ok()?;
    let mut success = Message::new();
    success
        .build(&[
            Box::new(BINDING_SUCCESS),
            Box::new(m.transaction_id),
            Box::new(XorMappedAddress { ip: local.ip(), port: local.port() }),
            Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                REMOTE_PASSWORD.to_string(),
                provider.crypto(),
            )),
            Box::new(FINGERPRINT),
        ])
        .ok()?;
    Some(success.raw)
}

/// The records of a [`datagrams`] input.
fn records(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&selector, rest) = data.split_first()?;
        let (len, rest) = match rest {
            [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
            _ => (rest.len(), &rest[rest.len()..]),
        };
        let (datagram, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        Some((selector, datagram))
    })
}

/// A STUN message re-signed with `password` (MESSAGE-INTEGRITY and FINGERPRINT), if it decodes.
fn signed(datagram: &[u8], password: &str) -> Option<Vec<u8>> {
    let mut m = Message::new();
    m.raw = datagram.to_vec();
    m.decode().ok()?;
    let mut out = Message::new();
    out.typ = m.typ;
    out.transaction_id = m.transaction_id;
    out.write_header();
    for a in m.attributes.0.iter().filter(|a| a.typ != ATTR_MESSAGE_INTEGRITY && a.typ != ATTR_FINGERPRINT) {
        out.add(a.typ, &a.value);
    }
    let provider = rtc::crypto::default_provider().ok()?;
    MessageIntegrity::new_short_term_integrity_with_provider(password.to_string(), provider.crypto())
        .add_to(&mut out)
        .ok()?;
    FINGERPRINT.add_to(&mut out).ok()?;
    Some(out.raw)
}

/// Untrusted SDP: the first byte says what it is. 0: a publisher's offer, 1: an echo client's
/// offer, both answered by a leg and read by the SDP helpers the API uses; otherwise a
/// subscriber's answer to the leg's offer of an audio, a video and a data stream.
pub fn descriptions(data: &[u8]) {
    let Some((&which, text)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(text);
    let engine = MediaEngine::detached(SEED);
    let mut held = Token::root::<ParkingLot>();
    let owner = |kind| PeerOwner { session: 1, handle: 1, kind };
    match which {
        0 | 1 => {
            let offer = sdp::normalize_offer(&text);
            if let Ok(offered) = sdp::parse_offer(&offer) {
                let _ = sdp::publisher_streams(&offered);
            }
            let _ = sdp::prefer_profiles(&offer, Some("2"), Some("42e01f"));
            let kind = if which == 0 { LegKind::Publisher } else { LegKind::Echo };
            let port: LegPort = engine.open_leg(owner(kind)).expect("a leg");
            let _ = port.answer(&mut held.media(), &offer);
        }
        _ => {
            let port = engine.open_leg(owner(LegKind::Subscriber)).expect("a leg");
            if port.offer(&mut held.media(), &subscription()).is_ok() {
                let _ = port.accept_answer(&mut held.media(), &text);
            }
        }
    }
}

/// What the fuzzed subscriber leg is offered: one feed's audio, video and data.
fn subscription() -> Vec<SubStreamInfo> {
    let stream = |mindex: u32, kind: MediaKind, codec: Option<&str>| SubStreamInfo {
        sources: if kind == MediaKind::Data { vec![(7, "2".to_string())] } else { Vec::new() },
        mindex,
        mid: mindex.to_string(),
        kind,
        feed_id: 7,
        feed_mid: mindex.to_string(),
        feed_display: None,
        codec: codec.map(str::to_string),
        profile: None,
        active: true,
        send: true,
        ready: false,
        layers: Default::default(),
    };
    vec![
        stream(0, MediaKind::Audio, Some("opus")),
        stream(1, MediaKind::Video, Some("vp8")),
        stream(2, MediaKind::Data, None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(selector: u8, datagram: &[u8]) -> Vec<u8> {
        let mut r = vec![selector];
        r.extend_from_slice(&(datagram.len() as u16).to_be_bytes());
        r.extend_from_slice(datagram);
        r
    }

    /// A check from the controlling remote agent to the publisher leg, nominating or not.
    fn check(nominating: bool) -> Vec<u8> {
        let (ufrag, _) = credentials_of(SEED);
        let mut check = Message::new();
        check
            .build(&[
                Box::new(BINDING_REQUEST),
                Box::new(rtc::stun::message::TransactionId([nominating as u8; 12])),
                Box::new(rtc::stun::textattrs::Username::new(
                    rtc::stun::attributes::ATTR_USERNAME,
                    format!("{ufrag}:fuzz"),
                )),
            ])
            .unwrap();
        check.add(rtc::stun::attributes::ATTR_PRIORITY, &1_853_824_767u32.to_be_bytes());
        check.add(rtc::stun::attributes::ATTR_ICE_CONTROLLING, &[1; 8]);
        if nominating {
            check.add(rtc::stun::attributes::ATTR_USE_CANDIDATE, &[]);
        }
        check.raw
    }

    /// What the datagram corpus's seeds do: a check the harness signs, a nominating one, then a
    /// DTLS ClientHello. The harness must carry them past ICE, or the fuzzer never reaches DTLS.
    #[test]
    fn fuzz_datagrams_harness_gets_a_client_hello_to_the_dtls_server() {
        // A ClientHello as OpenSSL's DTLS 1.2 client sends it.
        let hello = include_bytes!("../../fuzz/seeds/dtls_client_hello.bin");
        let mut input = record(1 << 3, &check(false));
        input.extend(record(1 << 3, &check(true)));
        input.extend(record(0, hello));
        let sent = datagrams_sent(&input);
        let is_stun_success = |d: &[u8]| d.len() > 20 && d[0] == 0x01 && d[1] == 0x01;
        let is_dtls_handshake = |d: &[u8]| d.first() == Some(&22);
        assert!(sent.iter().any(|d| is_stun_success(d)), "the signed check was not answered: {sent:?}");
        assert!(sent.iter().any(|d| is_dtls_handshake(d)), "the ClientHello got no DTLS answer: {sent:?}");
    }
}
