//! A WebRTC peer on webrtc-rs's sans-IO `rtc`, cheap enough to run hundreds in one process:
//! ICE, DTLS-SRTP, receiver reports and NACK come from the stack, and this drives it from one
//! task with its own UDP socket. As a publisher it sends synthetic VP8 and Opus RTP at set
//! rates, each payload stamped (`stamp.rs`), a keyframe first and whenever a PLI asks; as a
//! subscriber it measures what arrives (`reception.rs`) and sends a PLI for a video stream
//! whose first keyframe is late.
//!
//! Every method returns errors rather than panicking: a load run counts failures.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use serde_json::{json, Value};

use super::reception::{histogram, Reception, Totals};
use super::stamp::{now_us, Kind, Stamp};

/// A subscriber asks for a keyframe when a video stream has none this long after it started,
/// and again at this interval until one comes.
const KEYFRAME_PATIENCE: Duration = Duration::from_millis(500);

/// One RTP packet a recording peer received (tests check exact numbering).
#[derive(Clone, Debug)]
pub struct Received {
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    /// The tag of the publisher that sent it, and the simulcast substream (from its stamp).
    pub tag: u32,
    pub layer: u8,
    /// Its VP8 payload descriptor (video), or VP9's (SVC).
    pub vp8: Option<crate::media::vp8::Descriptor>,
    pub vp9: Option<crate::media::vp9::Descriptor>,
    pub marker: bool,
}

/// A track to publish: one packet of `payload_len` bytes every `interval`.
#[derive(Clone, Copy, Debug)]
pub struct Track {
    pub kind: Kind,
    pub payload_len: usize,
    pub interval: Duration,
    /// One encoding, or video in layers.
    pub layers: Layers,
}

/// How a video track sends its layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layers {
    /// One encoding, no layers.
    Single,
    /// Three simulcast encodings, each packet's frame on each, in a half and a quarter of
    /// `payload_len` below the top. Named by rid (`h`, `m`, `l`, as janus.js sends them) in
    /// the mid and rid header extensions.
    SimulcastByRid,
    /// The same three encodings named by SSRC only: the offer lists them lowest first in
    /// `a=ssrc-group:SIM`, as libwebrtc clients that munge their SDP do.
    SimulcastBySsrc,
    /// VP9 SVC: each frame in three spatial layers (a quarter, a half and all of
    /// `payload_len`, one packet each, the marker bit on the top one) on one SSRC.
    Vp9Svc,
}

impl Layers {
    fn simulcast(self) -> bool {
        matches!(self, Layers::SimulcastByRid | Layers::SimulcastBySsrc)
    }
}

impl Track {
    /// Opus at 50 packets/s.
    pub fn audio(payload_len: usize) -> Track {
        Track { kind: Kind::Audio, payload_len, interval: Duration::from_millis(20), layers: Layers::Single }
    }

    /// VP8 at `bitrate` bits/s in packets of `payload_len` bytes.
    pub fn video(bitrate: u64, payload_len: usize) -> Track {
        let pps = (bitrate as f64 / (payload_len as f64 * 8.0)).max(1.0);
        let interval = Duration::from_secs_f64(1.0 / pps);
        Track { kind: Kind::Video, payload_len, interval, layers: Layers::Single }
    }

    /// The same track sending `layers` (video only).
    pub fn with(self, layers: Layers) -> Track {
        Track { layers, ..self }
    }
}

/// A simulcast track's rids, highest first (janus.js's order), and their substreams.
const RIDS: [(&str, u8); 3] = [("h", 2), ("m", 1), ("l", 0)];

/// What a publisher sends.
#[derive(Clone, Debug)]
pub struct Publish {
    /// Stamped into every payload: which publisher sent it.
    pub tag: u32,
    pub tracks: Vec<Track>,
}

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    New,
    Connected,
    Failed,
    Closed,
}

struct Sending {
    kind: Kind,
    sender: RTCRtpSenderId,
    ts: u32,
    ts_step: u32,
    counter: u32,
    tag: u32,
    next: Instant,
    interval: Duration,
    /// One encoding, or a simulcast track's three.
    encodings: Vec<Encoding>,
    /// VP9 SVC: the one encoding sends three spatial layers of each frame.
    svc: bool,
    /// The ids of the mid and rid header extensions, once negotiated (simulcast only).
    extensions: Option<(u8, u8, Bytes)>,
}

/// One encoding of a track being sent.
struct Encoding {
    ssrc: u32,
    /// Its rid and substream (simulcast), else empty and 0.
    rid: &'static str,
    layer: u8,
    seq: u16,
    /// Added to the track's timestamps: each encoder has its own clock base.
    ts_offset: u32,
    payload_len: usize,
    keyframe_due: bool,
    /// Sends nothing for now (a browser that turned the encoding off).
    paused: bool,
}

struct Inner {
    pc: RTCPeerConnection,
    local: SocketAddr,
    state: Connection,
    connected_at: Option<Instant>,
    sending: Vec<Sending>,
    paused: bool,
    reception: Reception,
    /// Latency of what arrived since the last [`Peer::take_window`], µs.
    window: hdrhistogram::Histogram<u64>,
    /// Every packet, when recording (tests); a load run keeps only [`Reception`].
    record: bool,
    received: Vec<Received>,
    /// Incoming tracks' receivers, and each video stream's (track, SSRC) for its PLIs.
    receivers: HashMap<String, RTCRtpReceiverId>,
    video_sources: HashMap<u32, (String, u32)>,
    last_pli: HashMap<u32, Instant>,
    plis_sent: u64,
    plis_received: u64,
    /// The SSRC of every PLI received, in order.
    plis_by_ssrc: Vec<u32>,
    /// Drop this share (0..1) of incoming RTP datagrams before the stack sees them.
    loss: f64,
    dropped: u64,
    rng: u64,
    /// Stop reading the socket: the kernel then drops what arrives once its buffer is full.
    deaf: bool,
    /// Where the last datagram came from.
    remote: Option<SocketAddr>,
}

pub struct Peer {
    inner: Arc<Mutex<Inner>>,
    /// Wakes the task after a call changed the stack (it sleeps until its next timer).
    wake: Arc<tokio::sync::Notify>,
    socket: Arc<tokio::net::UdpSocket>,
    task: tokio::task::JoinHandle<()>,
}

const VP8: &str = "video/VP8";
const VP9: &str = "video/VP9";
const OPUS: &str = "audio/opus";

impl Peer {
    /// A peer on 127.0.0.1 that records every packet it receives.
    pub async fn new() -> Peer {
        Self::bind(IpAddr::from([127, 0, 0, 1]), true).await.expect("a peer on 127.0.0.1")
    }

    /// A peer whose socket (and only host candidate) is on `ip`.
    pub async fn bind(ip: IpAddr, record: bool) -> Result<Peer, String> {
        let socket = tokio::net::UdpSocket::bind((ip, 0)).await.map_err(|e| format!("UDP socket on {ip}: {e}"))?;
        Self::on(socket, record)
    }

    /// A peer on a socket made elsewhere (in another network namespace, say).
    pub fn on(socket: tokio::net::UdpSocket, record: bool) -> Result<Peer, String> {
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        let mut media = MediaEngine::default();
        media.register_default_codecs().map_err(|e| e.to_string())?;
        // Keyframe requests must reach the publisher: the chain hands RTCP to the application.
        let registry = register_default_interceptors(crate::media::rtcp_to_application(), &mut media)
            .map_err(|e| e.to_string())?;
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_setting_engine(SettingEngineBuilder::new().build())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .build(Instant::now())
            .map_err(|e| e.to_string())?;
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
        .map_err(|e| e.to_string())?;
        let init = RTCIceCandidate::from(&candidate).to_json().map_err(|e| e.to_string())?;
        pc.add_local_candidate(init).map_err(|e| e.to_string())?;
        let inner = Arc::new(Mutex::new(Inner {
            pc,
            local,
            state: Connection::New,
            connected_at: None,
            sending: Vec::new(),
            paused: false,
            reception: Reception::default(),
            window: histogram(),
            record,
            received: Vec::new(),
            receivers: HashMap::new(),
            video_sources: HashMap::new(),
            last_pli: HashMap::new(),
            plis_sent: 0,
            plis_received: 0,
            plis_by_ssrc: Vec::new(),
            loss: 0.0,
            dropped: 0,
            rng: 0x2545_F491_4F6C_DD1D ^ local.port() as u64,
            deaf: false,
            remote: None,
        }));
        let wake = Arc::new(tokio::sync::Notify::new());
        let socket = Arc::new(socket);
        let task = tokio::spawn(run(inner.clone(), socket.clone(), wake.clone()));
        Ok(Peer { inner, wake, socket, task })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the stack, then has the task drive it.
    fn drive<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let r = f(&mut self.lock());
        self.wake.notify_one();
        r
    }

    /// Adds the tracks of `p` and returns the offer (a JSEP object).
    pub fn offer(&self, p: &Publish) -> Result<Value, String> {
        self.drive(|g| Self::add_tracks(g, p))
    }

    fn add_tracks(g: &mut Inner, p: &Publish) -> Result<Value, String> {
        // The SSRCs of each track simulcast by SSRC, lowest substream first.
        let mut sim_groups: Vec<Vec<u32>> = Vec::new();
        for (i, t) in p.tracks.iter().enumerate() {
            let ssrc = 0x1000_0000u32.wrapping_add(p.tag.wrapping_mul(16)).wrapping_add(i as u32 * 4);
            let (mime, clock, kind, channels) = match t.kind {
                Kind::Video if t.layers == Layers::Vp9Svc => (VP9, 90_000, RtpCodecKind::Video, 0),
                Kind::Video => (VP8, 90_000, RtpCodecKind::Video, 0),
                Kind::Audio => (OPUS, 48_000, RtpCodecKind::Audio, 2),
            };
            let seq = (p.tag as u16).wrapping_mul(1000);
            let encoding = |n: u32, rid, layer: u8, payload_len| Encoding {
                ssrc: ssrc + n,
                rid,
                layer,
                seq: seq.wrapping_add(n as u16 * 20_000),
                ts_offset: n * 1_000_000,
                payload_len,
                keyframe_due: true,
                paused: false,
            };
            let encodings: Vec<Encoding> = if t.layers.simulcast() && t.kind == Kind::Video {
                // By SSRC, an encoding has no rid: its place in the SIM group says its substream.
                let by_rid = t.layers == Layers::SimulcastByRid;
                RIDS.iter()
                    .enumerate()
                    .map(|(n, (rid, layer))| {
                        encoding(n as u32, if by_rid { rid } else { "" }, *layer, t.payload_len >> (2 - layer))
                    })
                    .collect()
            } else {
                vec![encoding(0, "", 0, t.payload_len)]
            };
            let fmtp = if mime == VP9 { "profile-id=0" } else { "" };
            let codec = RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate: clock,
                channels,
                sdp_fmtp_line: fmtp.into(),
                ..Default::default()
            };
            let ids = [format!("s{}", p.tag), format!("t{}-{i}", p.tag), format!("t{}-{i}", p.tag)];
            if t.layers == Layers::SimulcastBySsrc && t.kind == Kind::Video {
                let mut by_layer: Vec<&Encoding> = encodings.iter().collect();
                by_layer.sort_by_key(|e| e.layer);
                sim_groups.push(by_layer.iter().map(|e| e.ssrc).collect());
            }
            let ssrcs: Vec<(u32, &str)> = encodings.iter().map(|e| (e.ssrc, e.rid)).collect();
            let track = crate::media::sending_track(ids, kind, codec, &ssrcs);
            let sender = g.pc.add_track(track).map_err(|e| e.to_string())?;
            g.sending.push(Sending {
                kind: t.kind,
                sender,
                ts: 0,
                ts_step: (t.interval.as_secs_f64() * clock as f64) as u32,
                counter: 0,
                tag: p.tag,
                next: Instant::now(),
                interval: t.interval,
                encodings,
                svc: t.layers == Layers::Vp9Svc && t.kind == Kind::Video,
                extensions: None,
            });
        }
        let offer = g.pc.create_offer(None).map_err(|e| e.to_string())?;
        g.pc.set_local_description(Instant::now(), offer.clone()).map_err(|e| e.to_string())?;
        // The SIM groups go into the copy sent: `rtc` takes back only the offer it wrote, and
        // has no use for them itself (a browser's munging goes into its local description).
        let sdp = sim_groups.iter().fold(offer.sdp, |sdp, ssrcs| with_sim_group(&sdp, ssrcs));
        Ok(json!({ "type": "offer", "sdp": sdp }))
    }

    /// A video-only publisher tagged `tag`: `payload_len`-byte packets every `interval`.
    pub fn publish_offer_sized(&self, tag: u32, payload_len: usize, interval: Duration) -> Result<Value, String> {
        let video = Track { kind: Kind::Video, payload_len, interval, layers: Layers::Single };
        self.offer(&Publish { tag, tracks: vec![video] })
    }

    /// Stops (or resumes) sending simulcast substream `layer` of every video track, as a
    /// browser does when it turns an encoding off.
    pub fn pause_layer(&self, layer: u8, paused: bool) {
        self.drive(|g| {
            for e in g.sending.iter_mut().flat_map(|s| s.encodings.iter_mut()).filter(|e| e.layer == layer) {
                e.paused = paused;
                e.keyframe_due |= !paused;
            }
        })
    }

    /// As [`Peer::publish_offer_sized`], 200-byte packets at 50 packets/s.
    pub fn publish_offer(&self, tag: u32) -> Result<Value, String> {
        self.publish_offer_sized(tag, 200, Duration::from_millis(20))
    }

    pub fn accept_answer(&self, jsep: &Value) -> Result<(), String> {
        let sdp = jsep["sdp"].as_str().ok_or("an answer without SDP")?;
        let sdp = RTCSessionDescription::answer(sdp.to_string()).map_err(|e| e.to_string())?;
        self.drive(|g| g.pc.set_remote_description(Instant::now(), sdp).map_err(|e| e.to_string()))
    }

    /// Answers an offer (a subscription, or its renegotiation); the reception's clock for the
    /// first keyframe restarts.
    pub fn answer(&self, jsep: &Value) -> Result<Value, String> {
        let sdp = jsep["sdp"].as_str().ok_or("an offer without SDP")?;
        let sdp = RTCSessionDescription::offer(sdp.to_string()).map_err(|e| e.to_string())?;
        self.drive(|g| {
            g.pc.set_remote_description(Instant::now(), sdp).map_err(|e| e.to_string())?;
            let answer = g.pc.create_answer(None).map_err(|e| e.to_string())?;
            g.pc.set_local_description(Instant::now(), answer.clone()).map_err(|e| e.to_string())?;
            g.reception.restart(now_us());
            Ok(json!({ "type": "answer", "sdp": answer.sdp }))
        })
    }

    /// The subscription switched (or started) now: streams that appear from now on measure
    /// their first keyframe from here.
    pub fn restart_reception(&self) {
        self.lock().reception.restart(now_us());
    }

    /// What was received so far.
    pub fn reception(&self) -> Reception {
        self.lock().reception.clone()
    }

    /// What was received so far, counted (no copy of the histograms).
    pub fn totals(&self) -> Totals {
        self.lock().reception.totals()
    }

    /// Latency of what arrived since the last call (µs), for a timeline.
    pub fn take_window(&self) -> hdrhistogram::Histogram<u64> {
        std::mem::replace(&mut self.lock().window, histogram())
    }

    pub fn connection(&self) -> Connection {
        self.lock().state
    }

    /// When ICE and DTLS came up.
    pub fn connected_at(&self) -> Option<Instant> {
        self.lock().connected_at
    }

    /// Waits until the connection is up; false if it failed, closed or took longer.
    pub async fn connected_within(&self, within: Duration) -> bool {
        let end = Instant::now() + within;
        loop {
            match self.connection() {
                Connection::Connected => return true,
                Connection::Failed | Connection::Closed => return false,
                Connection::New if Instant::now() >= end => return false,
                Connection::New => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Keyframe requests this peer sent (as a subscriber) and received (as a publisher).
    pub fn plis(&self) -> (u64, u64) {
        let g = self.lock();
        (g.plis_sent, g.plis_received)
    }

    /// The SSRC of the published video encoding that is simulcast substream `layer`.
    pub fn layer_ssrc(&self, layer: u8) -> Option<u32> {
        let g = self.lock();
        let video = g.sending.iter().filter(|s| s.kind == Kind::Video);
        video.flat_map(|s| &s.encodings).find(|e| e.layer == layer).map(|e| e.ssrc)
    }

    /// The SSRC of every PLI this peer received, in order.
    pub fn plis_by_ssrc(&self) -> Vec<u32> {
        self.lock().plis_by_ssrc.clone()
    }

    /// Stops reading the socket (timers and sends go on): a receiver that drops, for
    /// benchmarks that measure the sender alone.
    pub fn go_deaf(&self) {
        self.lock().deaf = true;
    }

    /// Stops (or resumes) sending the published tracks' packets; the connection stays up.
    pub fn pause_sending(&self, paused: bool) {
        self.drive(|g| g.paused = paused);
    }

    /// Sends `data` as it is from the peer's socket to the address it last heard the other
    /// side from (a fault: garbage on an established 5-tuple). False if it heard nobody yet.
    pub fn inject(&self, data: &[u8]) -> bool {
        let Some(to) = self.lock().remote else { return false };
        self.socket.try_send_to(data, to).is_ok()
    }

    /// The address of the peer's socket.
    pub fn addr(&self) -> SocketAddr {
        self.lock().local
    }

    /// Closes the PeerConnection (a DTLS close_notify goes out).
    pub fn close(&self) {
        let _ = self.drive(|g| g.pc.close());
    }

    pub fn set_loss(&self, loss: f64) {
        self.lock().loss = loss;
    }

    /// Incoming RTP datagrams dropped by [`Peer::set_loss`].
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// How many RTP packets arrived (recording peers).
    pub fn received_count(&self) -> usize {
        self.lock().received.len()
    }

    /// Forgets the packets recorded so far.
    pub fn forget_received(&self) {
        self.lock().received.clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Runs `f` on the packets recorded so far.
    pub fn with_received<T>(&self, f: impl FnOnce(&[Received]) -> T) -> T {
        f(&self.lock().received)
    }
}

/// Dropping a peer makes it vanish: its task and socket go, and nothing says goodbye.
impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The peer's loop: datagrams in and out, timers, the publisher's packets, the PLIs.
async fn run(inner: Arc<Mutex<Inner>>, socket: Arc<tokio::net::UdpSocket>, wake: Arc<tokio::sync::Notify>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let (out, wait, deaf) = {
            let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
            let g = &mut *g;
            let now = Instant::now();
            if g.state == Connection::Connected {
                send_due(g, now);
                ask_keyframes(g, now);
            }
            let mut out = Vec::new();
            while let Some(w) = g.pc.poll_write() {
                out.push((w.transport.peer_addr, w.message));
            }
            while let Some(ev) = g.pc.poll_event() {
                on_event(g, ev);
            }
            while let Some(m) = g.pc.poll_read() {
                on_message(g, m.message);
            }
            if g.pc.poll_timeout().is_some_and(|t| t <= now) {
                let _ = g.pc.handle_timeout(now);
            }
            // Sleep until the stack's next timer or the next packet to send (hundreds of peers
            // in one process must not spin).
            let mut wait = Duration::from_millis(50);
            if let Some(t) = g.pc.poll_timeout() {
                wait = wait.min(t.saturating_duration_since(now));
            }
            if g.state == Connection::Connected && !g.paused {
                for s in &g.sending {
                    wait = wait.min(s.next.saturating_duration_since(now));
                }
            }
            (out, wait.max(Duration::from_micros(200)), g.deaf)
        };
        for (addr, data) in out {
            let _ = socket.send_to(&data, addr).await;
        }
        let received = tokio::select! {
            r = socket.recv_from(&mut buf), if !deaf => r.ok(),
            _ = tokio::time::sleep(wait) => None,
            _ = wake.notified() => None,
        };
        if let Some((n, peer)) = received {
            let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
            if is_rtp(&buf[..n]) && g.loss > 0.0 {
                g.rng ^= g.rng << 13;
                g.rng ^= g.rng >> 7;
                g.rng ^= g.rng << 17;
                if (g.rng % 10_000) as f64 / 10_000.0 < g.loss {
                    g.dropped += 1;
                    continue;
                }
            }
            g.remote = Some(peer);
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

fn on_event(g: &mut Inner, ev: RTCPeerConnectionEvent) {
    match ev {
        RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
            g.state = match state {
                RTCPeerConnectionState::Connected => {
                    g.connected_at.get_or_insert_with(Instant::now);
                    Connection::Connected
                }
                RTCPeerConnectionState::Failed => Connection::Failed,
                RTCPeerConnectionState::Closed => Connection::Closed,
                _ => g.state,
            }
        }
        RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
            g.receivers.insert(init.track_id, init.receiver_id);
        }
        _ => {}
    }
}

fn on_message(g: &mut Inner, m: RTCMessage) {
    match m {
        RTCMessage::RtpPacket(track, p) => {
            let now = now_us();
            if let Some(s) = g.reception.record(&p.payload, now) {
                let _ = g.window.record(now.saturating_sub(s.sent_us).max(1));
                if s.kind == Kind::Video {
                    g.video_sources.entry(s.tag).or_insert_with(|| (track.clone(), p.header.ssrc));
                }
            }
            if g.record {
                let stamp = Stamp::read(&p.payload);
                g.received.push(Received {
                    ssrc: p.header.ssrc,
                    seq: p.header.sequence_number,
                    ts: p.header.timestamp,
                    tag: stamp.map_or(0, |s| s.tag),
                    layer: stamp.map_or(0, |s| s.layer),
                    vp8: stamp
                        .filter(|s| s.kind == Kind::Video && !s.svc)
                        .and_then(|_| crate::media::vp8::Descriptor::parse(&p.payload)),
                    vp9: stamp.filter(|s| s.svc).and_then(|_| crate::media::vp9::Descriptor::parse(&p.payload)),
                    marker: p.header.marker,
                });
            }
        }
        RTCMessage::RtcpPacket(_, packets) => {
            // A keyframe for each encoding a PLI or FIR names (for a FIR: every video one).
            let asked: Vec<Option<u32>> = packets
                .iter()
                .filter_map(|p| {
                    let any = p.as_any();
                    if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                        Some(Some(pli.media_ssrc))
                    } else {
                        any.is::<FullIntraRequest>().then_some(None)
                    }
                })
                .collect();
            if !asked.is_empty() {
                g.plis_received += 1;
                g.plis_by_ssrc.extend(asked.iter().flatten().copied());
                let video = g.sending.iter_mut().filter(|s| s.kind == Kind::Video);
                for e in video.flat_map(|s| s.encodings.iter_mut()) {
                    if asked.iter().any(|a| a.is_none_or(|ssrc| ssrc == e.ssrc)) {
                        e.keyframe_due = true;
                    }
                }
            }
        }
        _ => {}
    }
}

/// Sends the publisher's packets that are due (after a stall, from now on: no burst).
fn send_due(g: &mut Inner, now: Instant) {
    if g.paused {
        return;
    }
    for i in 0..g.sending.len() {
        if g.sending[i].encodings.len() > 1 && g.sending[i].extensions.is_none() {
            g.sending[i].extensions = simulcast_extensions(&mut g.pc, g.sending[i].sender);
        }
        loop {
            let (packets, id) = {
                let s = &mut g.sending[i];
                if s.next + s.interval * 50 < now {
                    s.next = now;
                }
                if s.next > now {
                    break;
                }
                let sent_us = now_us();
                let mut packets = Vec::new();
                // A VP9 SVC frame is three packets on the one encoding, lowest spatial layer first.
                let spatial: &[u8] = if s.svc { &[0, 1, 2] } else { &[0] };
                for e in s.encodings.iter_mut().filter(|e| !e.paused) {
                    for &sid in spatial {
                        let stamp = Stamp {
                            tag: s.tag,
                            kind: s.kind,
                            counter: s.counter,
                            sent_us,
                            keyframe: e.keyframe_due,
                            layer: if s.svc { sid } else { e.layer },
                            svc: s.svc,
                        };
                        let mut header = rtp::header::Header {
                            version: 2,
                            marker: sid == spatial[spatial.len() - 1],
                            payload_type: 96,
                            sequence_number: e.seq,
                            timestamp: s.ts.wrapping_add(e.ts_offset),
                            ssrc: e.ssrc,
                            ..Default::default()
                        };
                        // Simulcast encodings say which m-line and rid they are (RFC 8852).
                        if let Some((mid_id, rid_id, mid)) = &s.extensions {
                            let _ = header.set_extension(*mid_id, mid.clone());
                            if !e.rid.is_empty() {
                                let _ = header.set_extension(*rid_id, Bytes::from_static(e.rid.as_bytes()));
                            }
                        }
                        e.seq = e.seq.wrapping_add(1);
                        let len = if s.svc { e.payload_len >> (2 - sid) } else { e.payload_len };
                        packets.push(rtp::Packet { header, payload: Bytes::from(stamp.payload(len)) });
                    }
                    e.keyframe_due = false;
                }
                s.ts = s.ts.wrapping_add(s.ts_step);
                s.counter = s.counter.wrapping_add(1);
                s.next += s.interval;
                (packets, s.sender)
            };
            if let Some(mut sender) = g.pc.rtp_sender(id) {
                let pt = sender.get_parameters().rtp_parameters.codecs.first().map(|c| c.payload_type);
                for mut packet in packets {
                    packet.header.payload_type = pt.unwrap_or(96);
                    let _ = sender.write_rtp(now, packet);
                }
            }
        }
    }
}

/// `sdp` with `a=ssrc-group:SIM <ssrcs>` before the first `a=ssrc:` line of the m-line that
/// declares `ssrcs[0]`: the munging that turns on SSRC-based simulcast in libwebrtc.
fn with_sim_group(sdp: &str, ssrcs: &[u32]) -> String {
    let group = format!("a=ssrc-group:SIM {}", ssrcs.iter().map(u32::to_string).collect::<Vec<_>>().join(" "));
    let mut out = String::with_capacity(sdp.len() + group.len() + 2);
    let (mut section, mut done) = (Vec::new(), false);
    let mut flush = |section: &mut Vec<&str>, out: &mut String| {
        let declares = section.iter().any(|l| l.starts_with(&format!("a=ssrc:{} ", ssrcs[0])));
        for l in section.drain(..) {
            if declares && !done && l.starts_with("a=ssrc") {
                out.push_str(&group);
                out.push_str("\r\n");
                done = true;
            }
            out.push_str(l);
            out.push_str("\r\n");
        }
    };
    for line in sdp.lines() {
        if line.starts_with("m=") {
            flush(&mut section, &mut out);
        }
        section.push(line);
    }
    flush(&mut section, &mut out);
    out
}

/// The negotiated ids of the mid and rid header extensions on a sender, and its mid.
fn simulcast_extensions(pc: &mut RTCPeerConnection, id: RTCRtpSenderId) -> Option<(u8, u8, Bytes)> {
    let transceivers: Vec<_> = pc.get_transceivers().collect();
    let mid = transceivers.into_iter().find_map(|t| {
        let t = pc.rtp_transceiver(t)?;
        (t.sender() == Some(id)).then(|| t.mid().clone()).flatten()
    })?;
    let mut sender = pc.rtp_sender(id)?;
    let extensions = &sender.get_parameters().rtp_parameters.header_extensions;
    let id_of = |uri: &str| extensions.iter().find(|e| e.uri == uri).map(|e| e.id as u8);
    Some((
        id_of("urn:ietf:params:rtp-hdrext:sdes:mid")?,
        id_of("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")?,
        Bytes::from(mid),
    ))
}

/// Asks for a keyframe on each video stream still without one, at most every
/// [`KEYFRAME_PATIENCE`].
fn ask_keyframes(g: &mut Inner, now: Instant) {
    let late: Vec<u32> = g.reception.awaiting_keyframe(now_us(), KEYFRAME_PATIENCE.as_micros() as u64).collect();
    for tag in late {
        if g.last_pli.get(&tag).is_some_and(|t| now.duration_since(*t) < KEYFRAME_PATIENCE) {
            continue;
        }
        let Some((track, ssrc)) = g.video_sources.get(&tag).cloned() else { continue };
        let Some(receiver) = g.receivers.get(&track).copied() else { continue };
        if let Some(mut r) = g.pc.rtp_receiver(receiver) {
            let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
            if r.write_rtcp(now, vec![Box::new(pli)]).is_ok() {
                g.plis_sent += 1;
                g.last_pli.insert(tag, now);
            }
        }
    }
}

/// An SRTP (not SRTCP) datagram: RTP version 2, and a second byte outside RTCP's 192..=223.
fn is_rtp(b: &[u8]) -> bool {
    b.len() > 12 && (128..=191).contains(&b[0]) && !(192..=223).contains(&b[1])
}
