//! A WebRTC peer of our own on webrtc-rs's sans-IO `rtc`, for the media cases browsers and
//! aiortc cannot reach: exact RTP numbering across `switch`, renegotiation, packet loss and
//! NACK. It runs on its own task with its own UDP socket on 127.0.0.1; as a publisher it sends
//! synthetic VP8 RTP at 50 packets/s whose first payload byte names the sender.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use serde_json::{json, Value};

/// One RTP packet the peer received.
#[derive(Clone, Debug)]
pub struct Received {
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    /// The first payload byte: the tag of the publisher that sent it.
    pub tag: u8,
}

struct Sending {
    sender: RTCRtpSenderId,
    ssrc: u32,
    seq: u16,
    ts: u32,
    tag: u8,
    next: Instant,
    payload_len: usize,
    interval: Duration,
    paused: bool,
}

struct Inner {
    pc: RTCPeerConnection,
    local: SocketAddr,
    connected: bool,
    received: Vec<Received>,
    sending: Option<Sending>,
    /// Drop this share (0..1) of incoming RTP datagrams before the stack sees them.
    loss: f64,
    dropped: u64,
    rng: u64,
    /// Stop reading the socket: the kernel then drops what arrives once its buffer is full.
    deaf: bool,
}

pub struct RtcPeer {
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

const VP8: &str = "video/VP8";

impl RtcPeer {
    pub async fn new() -> RtcPeer {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let local = socket.local_addr().unwrap();
        let mut media = MediaEngine::default();
        media.register_default_codecs().unwrap();
        let registry = register_default_interceptors(rtc::interceptor::Registry::new(), &mut media).unwrap();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(SettingEngineBuilder::new().build())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .build(Instant::now())
            .unwrap();
        let candidate = CandidateHostConfig {
            base_config: CandidateConfig {
                network: "udp".into(),
                address: local.ip().to_string(),
                port: local.port(),
                component: 1,
                ..Default::default()
            },
            ..Default::default()
        }
        .new_candidate_host()
        .unwrap();
        pc.add_local_candidate(RTCIceCandidate::from(&candidate).to_json().unwrap()).unwrap();
        let inner = Arc::new(Mutex::new(Inner {
            pc,
            local,
            connected: false,
            received: Vec::new(),
            sending: None,
            loss: 0.0,
            dropped: 0,
            rng: 0x2545_F491_4F6C_DD1D,
            deaf: false,
        }));
        let task = tokio::spawn(run(inner.clone(), socket));
        RtcPeer { inner, task }
    }

    /// Adds a VP8 track that sends packets tagged `tag` once connected; returns the offer.
    pub fn publish_offer(&self, tag: u8) -> Value {
        self.publish_offer_sized(tag, 200, Duration::from_millis(20))
    }

    /// As [`RtcPeer::publish_offer`], with `payload_len`-byte packets every `interval`.
    pub fn publish_offer_sized(&self, tag: u8, payload_len: usize, interval: Duration) -> Value {
        let mut g = self.inner.lock().unwrap();
        let ssrc = 0x1000_0000 + tag as u32;
        let codec = RTCRtpCodec { mime_type: VP8.into(), clock_rate: 90000, ..Default::default() };
        let track = MediaStreamTrack::new(
            format!("s{tag}"),
            format!("t{tag}"),
            format!("t{tag}"),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec,
                active: true,
                ..Default::default()
            }],
        );
        let sender = g.pc.add_track(track).unwrap();
        let next = Instant::now();
        g.sending = Some(Sending {
            sender,
            ssrc,
            seq: 1000 * tag as u16,
            ts: 0,
            tag,
            next,
            payload_len,
            interval,
            paused: false,
        });
        let offer = g.pc.create_offer(None).unwrap();
        g.pc.set_local_description(Instant::now(), offer.clone()).unwrap();
        json!({ "type": "offer", "sdp": offer.sdp })
    }

    pub fn accept_answer(&self, jsep: &Value) {
        let sdp = RTCSessionDescription::answer(jsep["sdp"].as_str().unwrap().to_string()).unwrap();
        self.inner.lock().unwrap().pc.set_remote_description(Instant::now(), sdp).unwrap();
    }

    /// Answers an offer from vroom (a subscription, or its renegotiation).
    pub fn answer(&self, jsep: &Value) -> Value {
        let mut g = self.inner.lock().unwrap();
        let sdp = RTCSessionDescription::offer(jsep["sdp"].as_str().unwrap().to_string()).unwrap();
        g.pc.set_remote_description(Instant::now(), sdp).unwrap();
        let answer = g.pc.create_answer(None).unwrap();
        g.pc.set_local_description(Instant::now(), answer.clone()).unwrap();
        json!({ "type": "answer", "sdp": answer.sdp })
    }

    /// Stops reading the socket (timers and sends go on): a receiver that drops, for
    /// benchmarks that measure the sender alone.
    pub fn go_deaf(&self) {
        self.inner.lock().unwrap().deaf = true;
    }

    /// Stops (or resumes) sending the published track's packets; the connection stays up.
    pub fn pause_sending(&self, paused: bool) {
        if let Some(s) = self.inner.lock().unwrap().sending.as_mut() {
            s.paused = paused;
        }
    }

    /// The address of the peer's socket.
    pub fn addr(&self) -> SocketAddr {
        self.inner.lock().unwrap().local
    }

    /// Closes the PeerConnection (a DTLS close_notify goes out).
    pub fn close(&self) {
        let _ = self.inner.lock().unwrap().pc.close();
    }

    pub fn set_loss(&self, loss: f64) {
        self.inner.lock().unwrap().loss = loss;
    }

    pub fn dropped(&self) -> u64 {
        self.inner.lock().unwrap().dropped
    }

    /// How many RTP packets arrived (cheaper than [`RtcPeer::received`]).
    pub fn received_count(&self) -> usize {
        self.inner.lock().unwrap().received.len()
    }

    /// Forgets the packets received so far (a long-running load keeps no history).
    pub fn forget_received(&self) {
        self.inner.lock().unwrap().received.clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub async fn wait_connected(&self, within: Duration) {
        let end = Instant::now() + within;
        while !self.inner.lock().unwrap().connected {
            assert!(Instant::now() < end, "the peer did not connect");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `pred` holds for what was received so far.
    pub async fn wait_received(&self, within: Duration, pred: impl Fn(&[Received]) -> bool) {
        let end = Instant::now() + within;
        loop {
            if pred(&self.inner.lock().unwrap().received) {
                return;
            }
            assert!(Instant::now() < end, "not received in time: {} packets", self.received().len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RtcPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The peer's loop: datagrams in and out, timers, and the publisher's packets.
async fn run(inner: Arc<Mutex<Inner>>, socket: tokio::net::UdpSocket) {
    let mut buf = vec![0u8; 2048];
    loop {
        let (out, wait) = {
            let mut g = inner.lock().unwrap();
            let g = &mut *g;
            let now = Instant::now();
            if g.connected {
                send_due(g, now);
            }
            let mut out = Vec::new();
            while let Some(w) = g.pc.poll_write() {
                out.push((w.transport.peer_addr, w.message));
            }
            while let Some(ev) = g.pc.poll_event() {
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(RTCPeerConnectionState::Connected) = ev {
                    g.connected = true;
                }
            }
            while let Some(m) = g.pc.poll_read() {
                if let RTCMessage::RtpPacket(_, p) = m.message {
                    let tag = p.payload.first().copied().unwrap_or(0);
                    g.received.push(Received {
                        ssrc: p.header.ssrc,
                        seq: p.header.sequence_number,
                        ts: p.header.timestamp,
                        tag,
                    });
                }
            }
            if let Some(t) = g.pc.poll_timeout() {
                if t <= now {
                    let _ = g.pc.handle_timeout(now);
                }
            }
            // Sleep until the stack's next timer or the next packet to send (a few hundred
            // peers in one load generator must not spin).
            let mut wait = Duration::from_millis(50);
            if let Some(t) = g.pc.poll_timeout() {
                wait = wait.min(t.saturating_duration_since(now));
            }
            if let Some(s) = g.sending.as_ref().filter(|_| g.connected) {
                wait = wait.min(s.next.saturating_duration_since(now));
            } else if !g.connected {
                wait = wait.min(Duration::from_millis(5));
            }
            (out, wait.max(Duration::from_micros(200)))
        };
        for (addr, data) in out {
            let _ = socket.send_to(&data, addr).await;
        }
        if inner.lock().unwrap().deaf {
            tokio::time::sleep(wait).await;
            continue;
        }
        if let Ok(Ok((n, peer))) = tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
            let mut g = inner.lock().unwrap();
            if is_rtp(&buf[..n]) && g.loss > 0.0 {
                g.rng ^= g.rng << 13;
                g.rng ^= g.rng >> 7;
                g.rng ^= g.rng << 17;
                if (g.rng % 10_000) as f64 / 10_000.0 < g.loss {
                    g.dropped += 1;
                    continue;
                }
            }
            let local = g.local;
            let msg = TaggedBytesMut {
                now: Instant::now(),
                transport: TransportContext {
                    local_addr: local,
                    peer_addr: peer,
                    ecn: None,
                    transport_protocol: TransportProtocol::UDP,
                },
                message: BytesMut::from(&buf[..n]),
            };
            let _ = g.pc.handle_read(msg);
        }
    }
}

/// Sends the publisher's packets that are due (after a stall, from now on: no burst).
fn send_due(g: &mut Inner, now: Instant) {
    loop {
        let (packet, id) = {
            let Some(s) = g.sending.as_mut().filter(|s| !s.paused) else { return };
            if s.next + s.interval * 50 < now {
                s.next = now;
            }
            if s.next > now {
                return;
            }
            let mut payload = vec![s.tag; s.payload_len];
            payload[1] = 0x10; // a VP8 payload descriptor byte: start of partition
            let header = rtp::header::Header {
                version: 2,
                marker: true,
                payload_type: 96,
                sequence_number: s.seq,
                timestamp: s.ts,
                ssrc: s.ssrc,
                ..Default::default()
            };
            s.seq = s.seq.wrapping_add(1);
            s.ts = s.ts.wrapping_add(1800);
            s.next += s.interval;
            (rtp::Packet { header, payload: Bytes::from(payload) }, s.sender)
        };
        if let Some(mut sender) = g.pc.rtp_sender(id) {
            let mut packet = packet;
            let pt = sender.get_parameters().rtp_parameters.codecs.first().map(|c| c.payload_type);
            packet.header.payload_type = pt.unwrap_or(96);
            let _ = sender.write_rtp(now, packet);
        }
    }
}

/// An SRTP (not SRTCP) datagram: RTP version 2, and a second byte outside RTCP's 192..=223.
fn is_rtp(b: &[u8]) -> bool {
    b.len() > 12 && (128..=191).contains(&b[0]) && !(192..=223).contains(&b[1])
}

/// Sequence numbers in `received` with the given tag, in arrival order.
pub fn seqs(received: &[Received], tag: u8) -> Vec<u16> {
    received.iter().filter(|r| r.tag == tag).map(|r| r.seq).collect()
}

/// How many distinct sequence numbers are missing between the first and the last received.
pub fn missing(seqs: &[u16]) -> usize {
    let set: HashSet<u16> = seqs.iter().copied().collect();
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.iter().max_by_key(|s| s.wrapping_sub(seqs[0]))) else {
        return 0;
    };
    let span = last.wrapping_sub(first) as usize + 1;
    span - (0..span).filter(|i| set.contains(&first.wrapping_add(*i as u16))).count()
}
