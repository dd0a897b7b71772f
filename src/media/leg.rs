//! One PeerConnection ("leg"): the `rtc` peer connection and what vroom keeps beside it. A leg
//! is shared by the core (through its port, `port.rs`: SDP, candidates, fan-outs) and by the
//! shard that moves its packets. Its state sits behind one lock, of the last level of the
//! declared order (`sync::levels::Leg`): nothing else can be taken while it is held, no socket
//! is touched under it (datagrams are collected and sent after release), and each hold is one
//! bounded computation of the sans-IO stack.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::{Bytes, BytesMut};
use rtc::data_channel::{RTCDataChannelId, RTCDataChannelMessage, RTCDataChannelState};
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtcp;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::sansio::Protocol;
use rtc::shared::marshal::MarshalSize;
use rtc::shared::util::match_dtls;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tokio::sync::mpsc;

use super::adapt::Share;
use super::av1;
use super::by_mid::{ByMid, Slot};
use super::downlink::Downlink;
use super::gate::Gate;
use super::handoff::Split;
use super::news::{LegSerial, PeerEvent, Reports};
use super::peer;
use super::sender::{Adapted, Incoming, Sender};
use super::settings::Site;
use super::simulcast::Choice;
use super::slowlink::{Arrivals, LossWatch};
use super::srtp_out::{KeyTap, SrtpOut};
use super::stats::MediaStats;
use super::talk::Talk;
use crate::core::event::MediaKind;
use crate::core::seams::{ForwardTo, LegKind, PeerOwner, TrickleCandidate};
use crate::sync::order::{self, Before, Token};
use crate::sync::{levels, ParkingLot};

/// A leg's state, locked (`sync::levels::Leg`).
pub(crate) type LegGuard<'a> = order::MutexGuard<'a, levels::Leg, LegState, ParkingLot>;

/// How often a connected leg does its housekeeping (`Leg::housekeeping`). Each leg keeps its own
/// phase, on its own timer: all legs at once, once a second, held up every packet behind them.
const HOUSEKEEPING: std::time::Duration = std::time::Duration::from_secs(1);

/// Janus's `no_media_timer`: a stream with no packet for this long is reported not receiving.
const NO_MEDIA: std::time::Duration = std::time::Duration::from_secs(1);

/// The label of the channel that puts the data m-line in a subscriber's first offer.
pub(super) const DATA_LABEL: &str = "JanusDataChannel";

/// Data-channel messages a subscriber keeps while its channel opens.
const WAITING_DATA: usize = 64;

/// The shortest gap between two keyframe requests for one stream.
const KEYFRAME_GAP: std::time::Duration = std::time::Duration::from_millis(300);

/// The authentication tag SRTP adds to each packet (AES-GCM's; AES-CM's is 10 bytes).
const SRTP_TAG: usize = 16;

/// What Janus's EchoTest puts before the text it sends back on a data channel.
const ECHO_PREFIX: &str = "Janus EchoTest here! You wrote: ";

/// Where a datagram goes: from which of our addresses (as ICE knows it: the advertised one),
/// to which peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub from: IpAddr,
    pub to: SocketAddr,
}

/// Datagrams to send.
pub(crate) type Datagrams = Vec<(Route, Bytes)>;

/// A subscriber stream a publisher stream is forwarded to.
pub(crate) struct Target {
    pub leg: Arc<Leg>,
    pub mid: String,
    /// Where the stream of `mid` sits in the leg (`LegState::senders`).
    pub slot: Slot,
    /// Which simulcast substreams the stream needs to see.
    pub gate: Gate,
}

/// What the shard that runs a leg is asked to do with it, outside the packet path.
pub(crate) enum Cmd {
    /// The leg changed outside the packet path: drain it, and route its STUN from now on.
    Poke(Arc<Leg>),
    /// Ask the publisher behind `leg` for a keyframe on this mid.
    Keyframe(Arc<Leg>, String),
    Close(Arc<Leg>),
}

/// A publisher's fan-out: incoming mid to the subscriber streams it goes to, by the shard that
/// runs each (`handoff.rs`). Published by the core (under the publisher's lock, so in the order
/// of its changes) and read by the shards without a lock.
pub(crate) type Fanout = HashMap<String, Arc<Split<Target>>>;

/// The shard that runs a leg, for the leg's life.
#[derive(Clone)]
pub(crate) struct ShardRef {
    pub index: usize,
    /// Its commands.
    pub cmds: mpsc::UnboundedSender<Cmd>,
}

pub(crate) struct Leg {
    pub owner: PeerOwner,
    /// Unique for the engine's life: the key of this leg's news for the core (`news.rs`).
    pub serial: LegSerial,
    /// When it was made.
    pub created: Instant,
    /// Our ICE username fragment: how the shard recognises this leg's first STUN checks.
    pub ufrag: String,
    /// The shard that runs it.
    pub shard: ShardRef,
    /// The engine's counters (NACKs, keyframe requests, REMB).
    stats: Arc<MediaStats>,
    /// How a subscriber leg learns its SRTP keys (`srtp_out.rs`).
    tap: Option<Arc<KeyTap>>,
    state: order::Mutex<levels::Leg, LegState, ParkingLot>,
    pub fanout: ArcSwap<Fanout>,
    /// A publisher's RTP forwarders, published by the core like the fan-out.
    pub forwarders: ArcSwap<Vec<ForwardTo>>,
    /// Packets lost in a second on a stream that make a `slowlink` event (0: none).
    slowlink_threshold: u32,
    pub(super) paused: AtomicBool,
    pub closed: AtomicBool,
}

pub(crate) struct LegState {
    pub(super) pc: RTCPeerConnection,
    /// Incoming track id to its mid (publishers and echo).
    track_mids: HashMap<String, String>,
    /// A publisher's simulcast encodings by mid, lowest first (from its offer's `a=rid`s).
    pub(super) rids: HashMap<String, Vec<String>>,
    /// Each simulcast encoding's SSRC: its mid and substream (from the offer's
    /// `a=ssrc-group:SIM`, or as its first packet named its rid).
    pub(super) layers: HashMap<u32, (String, u8)>,
    /// A subscriber's simulcast choices by mid (its streams' senders follow them).
    pub(super) choices: HashMap<String, Choice>,
    /// A subscriber's transport-wide sequence number extension, once negotiated, and what its
    /// feedback says of the downlink (kept while a stream's layers follow bandwidth).
    pub(super) twcc_ext: Option<u8>,
    /// The AV1 Dependency Descriptor extension's id, once negotiated, and each incoming mid's
    /// frame templates (publishers and echo).
    pub(super) dd_ext: Option<u8>,
    templates: HashMap<String, av1::Templates>,
    downlink: Option<Downlink>,
    /// Incoming mids already reported as receiving (the `media` event).
    receiving: HashSet<String>,
    /// Outgoing streams by mid (subscribers and echo), each at the slot its fan-out targets
    /// name (`Target::slot`).
    pub(super) senders: ByMid<Sender>,
    /// Where each outgoing mid's media comes from, for keyframe requests (subscribers).
    pub(super) sources: HashMap<String, (Weak<Leg>, String)>,
    connected: bool,
    /// The core was told the PeerConnection is down (it is told once).
    down: bool,
    /// When ICE and DTLS came up.
    pub(super) connected_at: Option<Instant>,
    /// A subscriber's own SRTP for what it forwards, from the handshake on; until then, or if
    /// the keys cannot be had, its packets go through the stack.
    srtp: Option<SrtpOut>,
    /// Where the stack sends this leg's datagrams (the selected candidate pair).
    pub(super) route: Option<Route>,
    /// A publisher's room limits: REMB bitrate (0: none) and keyframe interval in s (0: none).
    pub(super) bitrate: u32,
    pub(super) fir_freq: u32,
    /// A publisher's audio level extension id, once negotiated, and who of its streams is
    /// talking, while the room tells it (`audiolevel_event`).
    pub(super) audio_level_ext: Option<u8>,
    pub(super) talk: Option<Talk>,
    /// What each incoming mid lost (publishers and echo, with `slowlink_threshold`), and the
    /// losses at the last look (`slowlink.rs`).
    arrivals: HashMap<String, Arrivals>,
    losses: LossWatch,
    /// When each incoming mid last got a packet, and when a keyframe was last asked for.
    last_rx: HashMap<String, Instant>,
    last_keyframe: HashMap<String, Instant>,
    /// A subscriber's streams whose packets are dropped (`configure` with `send: false`).
    pub(super) muted: HashSet<String>,
    /// A publisher's data m-line (from its offer): where its data-channel messages fan out.
    pub(super) data_mid: Option<String>,
    /// A subscriber's data channels by label, and what waits for a channel to open.
    pub(super) channels: HashMap<String, RTCDataChannelId>,
    waiting_data: Vec<(String, RTCDataChannelMessage)>,
    /// Candidates trickled before the remote description was set (applied with it).
    pub(super) early_candidates: Vec<TrickleCandidate>,
    /// Every candidate the peer trickled (for `handle_info`; its SDP's are in the SDP), bounded.
    pub(super) trickled: Vec<String>,
    /// When the leg's next housekeeping is due (from when it connects).
    next_housekeeping: Option<Instant>,
    /// The stack's own next timer, as last asked (`rtc`'s `poll_timeout` visits every handler).
    stack_deadline: Option<Instant>,
    /// The leg's next timer, as the shard last scheduled it.
    pub deadline: Option<Instant>,
}

impl LegState {
    /// The leg's next timer: the stack's, or its housekeeping.
    pub fn next_timeout(&mut self) -> Option<Instant> {
        self.stack_deadline = self.pc.poll_timeout();
        match (self.stack_deadline, self.next_housekeeping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Collects what the stack wants to send; whether there was any.
    fn flush(&mut self, out: &mut Datagrams) -> bool {
        let before = out.len();
        while let Some(w) = self.pc.poll_write() {
            let route = Route { from: w.transport.local_addr.ip(), to: w.transport.peer_addr };
            self.route = Some(route);
            out.push((route, w.message.freeze()));
        }
        out.len() > before
    }

    /// Keeps the downlink's feedback while a stream's layers follow bandwidth and the peer
    /// numbers packets for it; forgets it otherwise.
    pub(super) fn track_downlink(&mut self) {
        let wanted = self.twcc_ext.is_some() && self.senders.values().any(Sender::adaptive);
        match (wanted, self.downlink.is_some()) {
            (true, false) => self.downlink = Some(Downlink::default()),
            (false, true) => self.downlink = None,
            _ => {}
        }
    }

    pub(super) fn apply_early_candidates(&mut self) {
        for c in std::mem::take(&mut self.early_candidates) {
            if self.pc.add_remote_candidate(peer::candidate_init(&c)).is_ok() && self.trickled.len() < 64 {
                self.trickled.push(c.candidate.trim_start_matches("candidate:").to_string());
            }
        }
    }
}

/// What draining a leg produced besides datagrams.
#[derive(Default)]
pub(crate) struct Drained {
    /// Publisher packets to fan out.
    pub rtp: Vec<Incoming>,
    /// A publisher's data-channel messages to relay: (data mid, label, message).
    pub data: Vec<(String, String, RTCDataChannelMessage)>,
    /// Keyframe requests for the publishers behind these (leg, mid).
    pub keyframes: Vec<(Arc<Leg>, String)>,
    /// The leg just connected: its subscriber streams need keyframes.
    pub connected: bool,
}

impl Drop for Leg {
    fn drop(&mut self) {
        self.stats.legs_alive.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Leg {
    /// A leg for `owner`, reached at `site` with ICE `credentials` (ufrag, password), run by
    /// `shard`.
    pub fn new(
        owner: PeerOwner,
        site: &Site,
        (ufrag, pwd): (String, String),
        serial: LegSerial,
        stats: Arc<MediaStats>,
        shard: ShardRef,
    ) -> Result<Arc<Leg>, String> {
        let tap = if owner.kind == LegKind::Subscriber { Some(KeyTap::new()?) } else { None };
        let pc = peer::build(site, &ufrag, &pwd, owner.kind, tap.clone())?;
        stats.legs_alive.fetch_add(1, Ordering::Relaxed);
        tracing::info!(session = owner.session, handle = owner.handle, kind = ?owner.kind, ufrag, shard = shard.index, "PeerConnection created");
        Ok(Arc::new(Leg {
            owner,
            serial,
            created: Instant::now(),
            ufrag,
            shard,
            stats,
            tap,
            state: order::Mutex::new(LegState {
                pc,
                srtp: None,
                route: None,
                track_mids: HashMap::new(),
                rids: HashMap::new(),
                layers: HashMap::new(),
                choices: HashMap::new(),
                twcc_ext: None,
                dd_ext: None,
                templates: HashMap::new(),
                downlink: None,
                receiving: HashSet::new(),
                senders: ByMid::default(),
                sources: HashMap::new(),
                connected: false,
                down: false,
                connected_at: None,
                bitrate: 0,
                fir_freq: 0,
                audio_level_ext: None,
                talk: None,
                arrivals: HashMap::new(),
                losses: LossWatch::default(),
                last_rx: HashMap::new(),
                last_keyframe: HashMap::new(),
                muted: HashSet::new(),
                data_mid: None,
                channels: HashMap::new(),
                waiting_data: Vec::new(),
                early_candidates: Vec::new(),
                trickled: Vec::new(),
                next_housekeeping: None,
                stack_deadline: None,
                deadline: None,
            }),
            fanout: ArcSwap::from_pointee(Fanout::new()),
            forwarders: ArcSwap::from_pointee(Vec::new()),
            slowlink_threshold: site.settings.slowlink_threshold,
            paused: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }))
    }

    /// Its state, with `held` a token of a level before [`levels::Leg`] (the shard's root one,
    /// or a core caller's `MediaCall`).
    pub fn lock<'a>(&'a self, held: &'a mut Token<impl Before<levels::Leg>>) -> LegGuard<'a> {
        self.state.lock(held)
    }

    /// Tells the shard the leg changed outside the packet path (new description, candidate).
    pub(super) fn poke(self: &Arc<Self>) {
        self.command(Cmd::Poke(self.clone()));
    }

    /// Tells the shard that runs this leg to do `cmd`. A shard that stopped (or a detached
    /// engine's, which never ran) drops it: nothing is then sent, which is all a command does.
    pub(super) fn command(&self, cmd: Cmd) {
        let _ = self.shard.cmds.send(cmd);
    }

    /// Feeds one datagram and drains the leg.
    pub fn receive(
        self: &Arc<Self>,
        held: &mut Token<impl Before<levels::Leg>>,
        now: Instant,
        local: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        out: &mut Datagrams,
        events: &mut Reports,
    ) -> Drained {
        let mut st = self.lock(held);
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: peer,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        if let Err(e) = st.pc.handle_read(msg) {
            // A datagram the stack refuses (a replay, a stray packet) is dropped, as Janus does.
            let _ = e;
        }
        // A DTLS record (RFC 7983). A close_notify leaves the PeerConnection "connected" in
        // W3C terms; Janus hangs up on it ("DTLS alert"), and so does vroom.
        if match_dtls(data) && st.connected && peer::dtls_closed(&mut st.pc) {
            self.down(&mut st, events, "DTLS alert");
        }
        self.drain(&mut st, now, out, events)
    }

    /// Runs the leg's timers if due (the stack's, its housekeeping), and drains it.
    pub fn tick(
        self: &Arc<Self>,
        held: &mut Token<impl Before<levels::Leg>>,
        now: Instant,
        out: &mut Datagrams,
        events: &mut Reports,
    ) -> Drained {
        let mut st = self.lock(held);
        // The deadline the shard scheduled this tick by; one asked for too early only costs a
        // handler pass, one that moved earlier since is found when the leg is rescheduled.
        if st.stack_deadline.is_some_and(|t| t <= now) {
            let _ = st.pc.handle_timeout(now);
        }
        let mut keyframes = Vec::new();
        if st.next_housekeeping.is_some_and(|t| t <= now) {
            st.next_housekeeping = st.connected.then_some(now + HOUSEKEEPING);
            self.housekeeping(&mut st, now, events);
            keyframes = adapt_layers(&mut st, now);
        }
        let mut drained = self.drain(&mut st, now, out, events);
        drained.keyframes.extend(keyframes);
        drained
    }

    /// Everything the stack wants to send, tell or hand over, after an input.
    fn drain(self: &Arc<Self>, st: &mut LegState, now: Instant, out: &mut Datagrams, events: &mut Reports) -> Drained {
        let mut drained = Drained::default();
        loop {
            let mut progressed = false;
            progressed |= st.flush(out);
            while let Some(ev) = st.pc.poll_event() {
                progressed = true;
                self.on_event(st, now, ev, events, &mut drained);
            }
            while let Some(m) = st.pc.poll_read() {
                progressed = true;
                self.on_message(st, now, m.message, out, events, &mut drained);
            }
            if !progressed {
                break;
            }
        }
        drained
    }

    /// The PeerConnection's state moved: up once connected (`webrtcup`), down when it fails or closes.
    fn on_state(
        self: &Arc<Self>,
        st: &mut LegState,
        now: Instant,
        state: RTCPeerConnectionState,
        events: &mut Reports,
        drained: &mut Drained,
    ) {
        match state {
            RTCPeerConnectionState::Connected if !st.connected => {
                st.connected = true;
                st.connected_at = Some(now);
                st.next_housekeeping = Some(now + HOUSEKEEPING);
                if let Some(tap) = &self.tap {
                    st.srtp = peer::srtp_cipher(&mut st.pc).and_then(|c| tap.local_context(&c));
                }
                drained.connected = true;
                events.push((self.serial, PeerEvent::Up(self.owner)));
            }
            // Failed before it ever connected too (ICE or DTLS that never completes): as Janus,
            // the handle is hung up rather than left connecting for good.
            RTCPeerConnectionState::Failed => self.down(st, events, "ICE failed"),
            RTCPeerConnectionState::Closed if st.connected => self.down(st, events, "Close PC"),
            _ => {}
        }
    }

    /// Reports the PeerConnection down, once.
    fn down(&self, st: &mut LegState, events: &mut Reports, reason: &str) {
        st.connected = false;
        if !st.down {
            st.down = true;
            events.push((self.serial, PeerEvent::Down(self.owner, reason.into())));
        }
    }

    fn on_event(
        self: &Arc<Self>,
        st: &mut LegState,
        now: Instant,
        ev: RTCPeerConnectionEvent,
        events: &mut Reports,
        drained: &mut Drained,
    ) {
        match ev {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                let o = &self.owner;
                tracing::info!(session = o.session, handle = o.handle, kind = ?o.kind, %state, "PeerConnection state");
                self.on_state(st, now, state, events, drained)
            }
            RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(state) => {
                let o = &self.owner;
                tracing::debug!(session = o.session, handle = o.handle, kind = ?o.kind, %state, "ICE state");
            }
            RTCPeerConnectionEvent::OnDataChannel(RTCDataChannelEvent::OnOpen(id)) => {
                let Some(label) = st.pc.data_channel(id).map(|dc| dc.label().to_string()) else { return };
                st.channels.entry(label.clone()).or_insert(id);
                let (ready, rest): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut st.waiting_data).into_iter().partition(|(l, _)| *l == label);
                st.waiting_data = rest;
                for (_, msg) in ready {
                    send_data_now(st, id, msg);
                }
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                let receiver = init.receiver_id;
                let mid = st.pc.get_transceivers().collect::<Vec<_>>().into_iter().find_map(|id| {
                    let t = st.pc.rtp_transceiver(id)?;
                    (t.receiver() == Some(receiver)).then(|| t.mid().clone()).flatten()
                });
                if let Some(mid) = mid {
                    // A simulcast encoding: its substream is its rid's place in the offer.
                    if let Some(rid) = init.rid {
                        let layer = st.rids.get(&mid).and_then(|rids| rids.iter().position(|r| *r == rid));
                        let o = &self.owner;
                        tracing::info!(
                            session = o.session,
                            handle = o.handle,
                            mid,
                            rid,
                            ssrc = init.ssrc,
                            substream = layer,
                            "simulcast encoding"
                        );
                        if let Some(layer) = layer {
                            st.layers.insert(init.ssrc, (mid.clone(), layer as u8));
                        }
                    }
                    st.track_mids.insert(init.track_id, mid);
                }
            }
            _ => {}
        }
    }

    fn on_message(
        self: &Arc<Self>,
        st: &mut LegState,
        now: Instant,
        m: RTCMessage,
        out: &mut Datagrams,
        events: &mut Reports,
        drained: &mut Drained,
    ) {
        match m {
            RTCMessage::RtpPacket(track, packet) => {
                let Some(mid) = st.track_mids.get(&track).cloned() else { return };
                st.last_rx.insert(mid.clone(), now);
                if st.receiving.insert(mid.clone()) {
                    let kind = peer::kind_of(&mut st.pc, &mid);
                    events.push((
                        self.serial,
                        PeerEvent::Media { owner: self.owner, mid: mid.clone(), kind, receiving: true },
                    ));
                }
                if self.slowlink_threshold > 0 {
                    let seq = packet.header.sequence_number;
                    match st.arrivals.get_mut(&mid) {
                        Some(a) => a.arrived(seq),
                        None => st.arrivals.entry(mid.clone()).or_default().arrived(seq),
                    }
                }
                let layer = st.layers.get(&packet.header.ssrc).map(|(_, layer)| *layer);
                if layer.is_none() && st.rids.contains_key(&mid) {
                    return; // an encoding whose rid the offer did not name
                }
                // AV1 SVC's layers, read once here for every subscriber (not for simulcast:
                // each encoding has templates of its own).
                let dependency = st.dd_ext.filter(|_| layer.is_none()).and_then(|id| {
                    let raw = packet.header.get_extension(id)?;
                    // Looked up before inserting: a mid is copied once per stream, not per packet.
                    let frame = match st.templates.get_mut(&mid) {
                        Some(templates) => templates.read(&raw),
                        None => {
                            let mut templates = av1::Templates::default();
                            let frame = templates.read(&raw);
                            st.templates.insert(mid.clone(), templates);
                            frame
                        }
                    };
                    Some(av1::Dependency { raw, frame })
                });
                if let (Some(id), Some(talk)) = (st.audio_level_ext, st.talk.as_mut()) {
                    let level = packet.header.get_extension(id).and_then(|b| b.first().copied());
                    if let Some(v) = level.and_then(|level| talk.hear(&mid, level)) {
                        let (owner, mid) = (self.owner, mid.clone());
                        let (talking, level_sum, packets) = (v.talking, v.level_sum, v.packets);
                        events.push((self.serial, PeerEvent::Talking { owner, mid, talking, level_sum, packets }));
                    }
                }
                let incoming = Incoming { mid, layer, packet, dependency };
                match self.owner.kind {
                    LegKind::Publisher => drained.rtp.push(incoming),
                    LegKind::Echo => {
                        let (keyframe, news, svc) = send_rtp(st, now, &incoming.mid, &incoming);
                        self.tell_layers(&incoming.mid, svc, news, events);
                        if keyframe {
                            self.keyframe_locked(st, now, &incoming.mid);
                        }
                    }
                    LegKind::Subscriber => {}
                }
            }
            RTCMessage::DataChannelMessage(channel, msg) if self.owner.kind == LegKind::Publisher => {
                let label = st.pc.data_channel(channel).map(|dc| dc.label().to_string()).unwrap_or_default();
                if let Some(mid) = st.data_mid.clone() {
                    drained.data.push((mid, label, msg));
                }
            }
            RTCMessage::DataChannelMessage(channel, msg) if self.owner.kind == LegKind::Echo => {
                // As Janus's EchoTest: text comes back with a prefix, binary as it is.
                if let Some(mut dc) = st.pc.data_channel(channel) {
                    let _ = if msg.is_string {
                        dc.send_text(now, format!("{ECHO_PREFIX}{}", String::from_utf8_lossy(&msg.data)))
                    } else {
                        dc.send(now, msg.data)
                    };
                }
            }
            RTCMessage::RtcpPacket(_, packets) => {
                if let Some(downlink) = st.downlink.as_mut() {
                    for p in &packets {
                        let any = p.as_any();
                        if let Some(feedback) = any.downcast_ref::<TransportLayerCc>() {
                            downlink.on_twcc(now, feedback);
                        } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                            downlink.on_remb(remb.bitrate);
                        }
                    }
                }
                if self.owner.kind == LegKind::Subscriber {
                    note_reported_losses(st, &packets);
                    let (nacked, resent) = resend_nacked(st, now, &packets, out);
                    self.stats.nacked.fetch_add(nacked, Ordering::Relaxed);
                    self.stats.resent.fetch_add(resent, Ordering::Relaxed);
                }
                let wants_keyframe = packets.iter().any(|p| {
                    let any = p.as_any();
                    any.is::<rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication>()
                        || any.is::<rtcp::payload_feedbacks::full_intra_request::FullIntraRequest>()
                });
                if wants_keyframe {
                    match self.owner.kind {
                        LegKind::Subscriber => {
                            for (leg, mid) in st.sources.values() {
                                if let Some(leg) = leg.upgrade() {
                                    drained.keyframes.push((leg, mid.clone()));
                                }
                            }
                        }
                        LegKind::Echo => {
                            let mids: Vec<String> = st.track_mids.values().cloned().collect();
                            for mid in mids {
                                request_keyframe(st, now, &mid);
                            }
                        }
                        LegKind::Publisher => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// Sends a publisher's packet on one of this subscriber's streams (the fan-out step).
    /// Returns whether the stream waits for a keyframe of the publisher's (a simulcast layer
    /// change).
    pub fn forward(
        self: &Arc<Self>,
        held: &mut Token<impl Before<levels::Leg>>,
        now: Instant,
        target: &Target,
        incoming: &Incoming,
        out: &mut Datagrams,
        events: &mut Reports,
    ) -> bool {
        if self.paused.load(Ordering::Relaxed) || self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let (mid, gate) = (target.mid.as_str(), &target.gate);
        let mut st = self.lock(held);
        if !st.connected || (!st.muted.is_empty() && st.muted.contains(mid)) {
            return false;
        }
        let st = &mut *st;
        let (keyframe, news, svc) = match (st.srtp.as_mut(), st.route) {
            (Some(srtp), Some(route)) => {
                let Some(sender) = st.senders.at_mut(target.slot) else { return false };
                let mut o = sender.outgoing(now, incoming);
                gate.set(sender.settled_on());
                if let Some(mut p) = o.packet.take() {
                    if let (Some(id), Some(dependency)) = (st.dd_ext, o.dependency.take()) {
                        let _ = p.header.set_extension(id, dependency);
                    }
                    // A probe of the downlink sends the same bytes again (the subscriber drops
                    // them as duplicates); they take the link's room as much as the first.
                    let copies = sender.probe_copies(now);
                    if let (Some(id), Some(downlink)) = (st.twcc_ext, st.downlink.as_mut()) {
                        // Header, payload, the extension's 4 bytes and SRTP's tag.
                        let size = p.header.marshal_size() + p.payload.len() + 4 + SRTP_TAG;
                        let twcc = downlink.sent(now, p.header.ssrc, p.header.sequence_number, size * (1 + copies));
                        let _ = p.header.set_extension(id, Bytes::copy_from_slice(&twcc.to_be_bytes()));
                    }
                    if let Some(datagram) = srtp.protect(&p, o.renumber.as_ref()) {
                        sender.sent(now, p, o.renumber);
                        for _ in 0..copies {
                            out.push((route, datagram.clone()));
                        }
                        out.push((route, datagram));
                    }
                }
                (o.keyframe, o.news, o.svc)
            }
            _ => {
                let sent = send_rtp(st, now, mid, incoming);
                st.flush(out);
                sent
            }
        };
        self.tell_layers(mid, svc, news, events);
        keyframe
    }

    /// Tells the core a stream now forwards another simulcast substream or temporal layer
    /// (`svc`: VP9 SVC spatial or temporal layer).
    fn tell_layers(&self, mid: &str, svc: bool, (substream, temporal): (Option<u8>, Option<u8>), events: &mut Reports) {
        if substream.is_some() || temporal.is_some() {
            let o = &self.owner;
            tracing::debug!(session = o.session, handle = o.handle, mid, svc, ?substream, ?temporal, "simulcast layer");
            let (owner, mid) = (self.owner, mid.to_string());
            events.push((self.serial, PeerEvent::Layer { owner, mid, svc, substream, temporal }));
        }
    }

    /// Relays a publisher's data-channel message to this subscriber, on a channel with the same
    /// label (opened on first use; messages wait, a bounded few, until it is open).
    pub fn forward_data(
        self: &Arc<Self>,
        held: &mut Token<impl Before<levels::Leg>>,
        label: &str,
        msg: &RTCDataChannelMessage,
        out: &mut Datagrams,
    ) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let mut st = self.lock(held);
        if !st.connected {
            return;
        }
        let open = st
            .channels
            .get(label)
            .copied()
            .filter(|id| st.pc.data_channel(*id).is_some_and(|dc| dc.ready_state() == RTCDataChannelState::Open));
        match open {
            Some(id) => send_data_now(&mut st, id, msg.clone()),
            None => {
                if !st.channels.contains_key(label) {
                    if let Ok(dc) = st.pc.create_data_channel(label, None) {
                        let id = dc.id();
                        st.channels.insert(label.to_string(), id);
                    }
                }
                if st.waiting_data.len() < WAITING_DATA {
                    st.waiting_data.push((label.to_string(), msg.clone()));
                }
            }
        }
        st.flush(out);
    }

    /// Asks the publisher for a keyframe on `mid` (PLI), at most once per [`KEYFRAME_GAP`]:
    /// many subscribers asking at once make one request.
    pub fn keyframe(
        self: &Arc<Self>,
        held: &mut Token<impl Before<levels::Leg>>,
        now: Instant,
        mid: &str,
        out: &mut Datagrams,
    ) {
        let mut st = self.lock(held);
        self.keyframe_locked(&mut st, now, mid);
        st.flush(out);
    }

    fn keyframe_locked(&self, st: &mut LegState, now: Instant, mid: &str) {
        if st.last_keyframe.get(mid).is_some_and(|t| now.duration_since(*t) < KEYFRAME_GAP) {
            return;
        }
        st.last_keyframe.insert(mid.to_string(), now);
        request_keyframe(st, now, mid);
        self.stats.pli_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// `slowlink` events for the streams that lost at least the threshold since the last look
    /// (Janus looks once a second, as housekeeping runs).
    fn look_for_slow_links(&self, st: &mut LegState, events: &mut Reports) {
        let threshold = self.slowlink_threshold;
        if threshold == 0 {
            return;
        }
        let mut slow = Vec::new();
        for (mid, sender) in st.senders.iter_mut() {
            slow.extend(
                st.losses.look(mid, true, sender.reported_lost, threshold).map(|lost| (mid.to_string(), true, lost)),
            );
        }
        for (mid, arrivals) in &st.arrivals {
            slow.extend(st.losses.look(mid, false, arrivals.lost(), threshold).map(|lost| (mid.clone(), false, lost)));
        }
        for (mid, uplink, lost) in slow {
            let kind = peer::kind_of(&mut st.pc, &mid);
            let o = self.owner;
            tracing::info!(session = o.session, handle = o.handle, mid, uplink, lost, "slow link");
            events.push((self.serial, PeerEvent::SlowLink { owner: o, mid, kind, uplink, lost }));
        }
    }

    /// Every [`HOUSEKEEPING`], on the leg's own timer: `media` events with `receiving: false`
    /// for streams that went quiet, sender reports for what the leg forwarded, and the room's
    /// bitrate cap (REMB) and periodic keyframe requests to a publisher.
    fn housekeeping(self: &Arc<Self>, st: &mut LegState, now: Instant, events: &mut Reports) {
        if !st.connected {
            return;
        }
        let quiet: Vec<String> = st
            .receiving
            .iter()
            .filter(|m| st.last_rx.get(*m).is_none_or(|t| now.duration_since(*t) >= NO_MEDIA))
            .cloned()
            .collect();
        for mid in quiet {
            st.receiving.remove(&mid);
            let kind = peer::kind_of(&mut st.pc, &mid);
            events.push((self.serial, PeerEvent::Media { owner: self.owner, mid, kind, receiving: false }));
        }
        if st.srtp.is_some() {
            send_reports(st, now);
        }
        self.look_for_slow_links(st, events);
        if self.owner.kind == LegKind::Publisher {
            let mids: Vec<String> = st.track_mids.values().cloned().collect();
            let video: Vec<String> =
                mids.into_iter().filter(|m| peer::kind_of(&mut st.pc, m) == MediaKind::Video).collect();
            for mid in &video {
                if st.bitrate > 0 {
                    send_remb(st, now, mid);
                    self.stats.remb_sent.fetch_add(1, Ordering::Relaxed);
                }
                let due =
                    st.last_keyframe.get(mid).is_none_or(|t| now.duration_since(*t).as_secs() >= st.fir_freq as u64);
                if st.fir_freq > 0 && due {
                    st.last_keyframe.insert(mid.clone(), now);
                    request_keyframe(st, now, mid);
                    self.stats.pli_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// The publishers behind this subscriber's streams (for keyframe requests when it connects).
    pub fn sources(&self, held: &mut Token<impl Before<levels::Leg>>) -> Vec<(Arc<Leg>, String)> {
        self.lock(held).sources.values().filter_map(|(l, m)| Some((l.upgrade()?, m.clone()))).collect()
    }

    /// ICE and DTLS are up (since `webrtcup`, until it fails or closes).
    pub fn is_connected(&self, held: &mut Token<impl Before<levels::Leg>>) -> bool {
        self.lock(held).connected
    }

    pub fn close(&self, held: &mut Token<impl Before<levels::Leg>>) {
        tracing::info!(session = self.owner.session, handle = self.owner.handle, kind = ?self.owner.kind, "PeerConnection closed");
        self.closed.store(true, Ordering::Relaxed);
        let _ = self.lock(held).pc.close();
    }
}

/// Layers by bandwidth: each stream whose layers follow it gets its share of what the
/// downlink allows; one probes at a time. Returns the keyframe requests the changes need
/// (publisher, mid).
fn adapt_layers(st: &mut LegState, now: Instant) -> Vec<(Arc<Leg>, String)> {
    let Some(downlink) = st.downlink.as_mut() else { return Vec::new() };
    let streams = st.senders.values().filter(|s| s.adaptive()).count().max(1) as f64;
    let mut share = Share {
        congested: downlink.congested(now).map(|(at, bps)| (at, bps / streams)),
        estimate: downlink.remb().map(|bps| bps / streams),
        probe_taken: downlink.probe_taken(),
        may_probe: !downlink.probing(),
    };
    let mut keyframes = Vec::new();
    for (mid, sender) in st.senders.iter_mut().filter(|(_, s)| s.adaptive()) {
        match sender.adapt(now, share) {
            Adapted::Keyframe => {
                if let Some((leg, source)) = st.sources.get(mid) {
                    keyframes.extend(leg.upgrade().map(|leg| (leg, source.clone())));
                }
            }
            Adapted::Probe(until) => {
                downlink.start_probe(now, until);
                share.may_probe = false;
            }
            Adapted::Nothing => {}
        }
    }
    keyframes
}

/// Hands `incoming` to the stack as our outgoing stream `mid` sends it. Returns whether a
/// keyframe is wanted, and the layer news (`Outgoing`).
fn send_rtp(st: &mut LegState, now: Instant, mid: &str, incoming: &Incoming) -> (bool, (Option<u8>, Option<u8>), bool) {
    let Some(sender) = st.senders.get_mut(mid) else { return (false, (None, None), false) };
    let o = sender.outgoing(now, incoming);
    let id = sender.id;
    if let (Some(mut p), Some(mut s)) = (o.packet, st.pc.rtp_sender(id)) {
        if let Some(r) = o.renumber {
            p.payload = r.applied(&p.payload);
        }
        if let (Some(id), Some(dependency)) = (st.dd_ext, o.dependency) {
            let _ = p.header.set_extension(id, dependency);
        }
        let _ = s.write_rtp(now, p);
    }
    (o.keyframe, o.news, o.svc)
}

/// Answers a subscriber's NACKs from the packets its streams kept (the leg's own SRTP path;
/// the stack never saw those packets), encrypted again.
/// Returns how many packets were asked for and how many of them were resent.
fn resend_nacked(
    st: &mut LegState,
    now: Instant,
    packets: &[Box<dyn rtcp::Packet>],
    out: &mut Datagrams,
) -> (u64, u64) {
    let (mut nacked, mut resent) = (0, 0);
    let (Some(route), Some(srtp)) = (st.route, st.srtp.as_mut()) else { return (0, 0) };
    for p in packets {
        let Some(nack) =
            p.as_any().downcast_ref::<rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack>()
        else {
            continue;
        };
        let Some(sender) = st.senders.values_mut().find(|s| s.ssrc == nack.media_ssrc) else { continue };
        for seq in nack.nacks.iter().flat_map(|pair| pair.packet_list()) {
            nacked += 1;
            if let Some(datagram) = sender.resend(now, seq).and_then(|(p, renumber)| srtp.protect(p, renumber.as_ref()))
            {
                out.push((route, datagram));
                resent += 1;
            }
        }
    }
    (nacked, resent)
}

/// What the peer's receiver reports say each stream the leg sends lost so far.
fn note_reported_losses(st: &mut LegState, packets: &[Box<dyn rtcp::Packet>]) {
    for p in packets {
        let any = p.as_any();
        let reports = match (
            any.downcast_ref::<rtcp::receiver_report::ReceiverReport>(),
            any.downcast_ref::<rtcp::sender_report::SenderReport>(),
        ) {
            (Some(rr), _) => &rr.reports,
            (_, Some(sr)) => &sr.reports,
            _ => continue,
        };
        for r in reports {
            if let Some(sender) = st.senders.values_mut().find(|s| s.ssrc == r.ssrc) {
                sender.reported_lost = u64::from(r.total_lost);
            }
        }
    }
}

/// A sender report for each stream the leg sent past the stack.
fn send_reports(st: &mut LegState, now: Instant) {
    let reports: Vec<_> = st.senders.values().filter_map(|s| Some((s.id, s.report(now)?))).collect();
    for (id, report) in reports {
        if let Some(mut s) = st.pc.rtp_sender(id) {
            let _ = s.write_rtcp(now, vec![Box::new(report)]);
        }
    }
}

fn send_data_now(st: &mut LegState, id: RTCDataChannelId, msg: RTCDataChannelMessage) {
    if let Some(mut dc) = st.pc.data_channel(id) {
        let _ = if msg.is_string {
            dc.send_text(Instant::now(), String::from_utf8_lossy(&msg.data).into_owned())
        } else {
            dc.send(Instant::now(), msg.data)
        };
    }
}

/// The room's bitrate cap, as Janus sends it: a REMB for the stream.
fn send_remb(st: &mut LegState, now: Instant, mid: &str) {
    let Some((receiver, ssrcs)) = receiver_ssrcs(st, mid) else { return };
    let bitrate = st.bitrate as f32;
    if let Some(mut r) = st.pc.rtp_receiver(receiver) {
        let remb = rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 0,
            bitrate,
            ssrcs,
        };
        let _ = r.write_rtcp(now, vec![Box::new(remb)]);
    }
}

/// A PLI for each SSRC of incoming stream `mid`: every simulcast encoding's, as Janus asks.
fn request_keyframe(st: &mut LegState, now: Instant, mid: &str) {
    let Some((receiver, ssrcs)) = receiver_ssrcs(st, mid) else { return };
    if let Some(mut r) = st.pc.rtp_receiver(receiver) {
        let plis = ssrcs.into_iter().map(|media_ssrc| {
            Box::new(rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            }) as Box<dyn rtcp::Packet>
        });
        let _ = r.write_rtcp(now, plis.collect());
    }
}

/// The receiver of incoming stream `mid` and its SSRCs (one per simulcast encoding seen).
fn receiver_ssrcs(st: &mut LegState, mid: &str) -> Option<(rtc::rtp_transceiver::RTCRtpReceiverId, Vec<u32>)> {
    let (receiver, first) = peer::receiver_of(&mut st.pc, mid)?;
    let mut ssrcs: Vec<u32> = st.layers.iter().filter(|(_, (m, _))| m == mid).map(|(ssrc, _)| *ssrc).collect();
    if ssrcs.is_empty() {
        ssrcs.push(first);
    }
    ssrcs.sort_unstable();
    Some((receiver, ssrcs))
}
