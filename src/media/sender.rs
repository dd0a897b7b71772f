//! One outgoing stream of a leg: which of a publisher's packets it sends (the simulcast layers
//! its subscriber gets, `simulcast.rs`), its numbering, what it sent (for sender reports), and
//! the packets it keeps to answer NACKs when the leg encrypts its own packets (`srtp_out.rs`).
//!
//! The history keeps packets as they were before encryption: a header and the publisher's
//! payload, which every subscriber's history shares. A NACKed packet is encrypted again; SRTP's
//! IV comes from the SSRC, rollover counter and sequence number, so the same packet gives the
//! same bytes. (LiveKit's down tracks likewise keep only what to rebuild a packet from.) Keeping
//! the encrypted datagrams instead held 256 buffers of 1.2 KB per subscriber stream: 70 KiB
//! more per subscriber in the 1 → 100 benchmark.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::shared::marshal::MarshalSize;

use super::adapt::{Adaptive, Share, Step, PROBE};
use super::rewrite::Rewriter;
use super::simulcast::{Choice, Selector};
use super::svc::{LayerPacket, SvcSelector};
use super::vp8::Renumber;
use super::{av1, h264, vp8, vp9};

/// The most sent packets kept per video stream for retransmission: 2.5 s at 100 packets/s. A
/// stream keeps only what is younger than [`RESEND_WITHIN`], so this bounds only streams of
/// more than 512 packets/s (about 5 Mbit/s).
const HISTORY: usize = 256;

/// A packet is not sent again once it is this old (Janus's default `max_nack_queue`): a frame
/// that late is of no use to the decoder, and resending what a congested link dropped only
/// congests it more.
const RESEND_WITHIN: Duration = Duration::from_millis(500);

/// A packet is sent again at most once in this long, however often it is NACKed (a receiver
/// repeats its NACK until the packet comes).
const RESEND_GAP: Duration = Duration::from_millis(150);

/// A packet kept for NACKs: when it went out, and when it was last sent again.
#[derive(Clone)]
struct Kept {
    packet: rtp::Packet,
    renumber: Option<Renumber>,
    sent: Instant,
    resent: Option<Instant>,
}

pub(crate) struct Sender {
    pub id: RTCRtpSenderId,
    pub ssrc: u32,
    /// The payload type negotiated for this stream (known once the answer is in).
    pub pt: Option<u8>,
    pub clock_rate: u32,
    pub codec: Codec,
    pub rewrite: Rewriter,
    /// The simulcast layers it forwards, and its VP8 picture numbering across their changes.
    selector: Selector,
    numbering: vp8::Numbering,
    /// The spatial and temporal layers it forwards of a VP9 or AV1 SVC source.
    svc: SvcSelector,
    /// Packets with SVC layers came (VP9's descriptor, AV1's Dependency Descriptor).
    svc_seen: bool,
    /// With layers chosen by bandwidth: what the subscriber's share of the downlink allows,
    /// and a running probe (until when, extra copies per packet, copies owed).
    adaptive: Option<Adaptive>,
    probe: Option<(Instant, f64, f64)>,
    /// Video streams keep what they sent, for NACKs (vroom offers NACK feedback on video only).
    answers_nacks: bool,
    /// What was sent, oldest first, younger than [`RESEND_WITHIN`] (at most [`HISTORY`]):
    /// consecutive sequence numbers, so a number's place is its distance from the first.
    history: VecDeque<Kept>,
    packets: u64,
    /// Payload bytes (a sender report's octet count), and whole packets' bytes.
    octets: u64,
    bytes: u64,
    /// Packets the peer NACKed.
    nacked: u64,
    /// Packets the peer's receiver reports say it lost so far (cumulative).
    pub reported_lost: u64,
    /// The last packet's RTP timestamp and when it went out: a sender report's clock pair.
    last: Option<(u32, Instant)>,
}

impl Sender {
    pub fn new(id: RTCRtpSenderId, ssrc: u32, pt: Option<u8>, clock_rate: u32, codec: Codec) -> Sender {
        Sender {
            id,
            ssrc,
            pt,
            clock_rate,
            codec,
            rewrite: Rewriter::default(),
            selector: Selector::new(Choice::default()),
            numbering: vp8::Numbering::default(),
            svc: SvcSelector::new(Choice::default()),
            svc_seen: false,
            adaptive: None,
            probe: None,
            answers_nacks: codec != Codec::Audio,
            history: VecDeque::new(),
            packets: 0,
            octets: 0,
            bytes: 0,
            nacked: 0,
            reported_lost: 0,
            last: None,
        }
    }

    /// The packet to send for a publisher's packet: its SSRC, payload type and numbering,
    /// VP8's picture numbering too; `None` if this stream does not send it. A new header (the
    /// publisher leg's extension ids mean nothing here); the payload is the publisher's,
    /// shared, with the change its VP8 numbering needs beside it (`Outgoing::renumber`).
    pub fn outgoing(&mut self, now: Instant, incoming: &Incoming) -> Outgoing {
        let Some(pt) = self.pt else { return Outgoing::default() };
        let (layer, packet) = (incoming.layer, &incoming.packet);
        let payload = packet.payload.clone();
        let mut renumber = None;
        let mut keyframe = false;
        let mut news = (None, None);
        let mut marker = packet.header.marker;
        // An AV1 stream's descriptor goes on to the subscriber (its decoder reads the frame
        // dependencies there); a simulcast encoding's would not follow on from the last one.
        let dependency =
            incoming.dependency.as_ref().filter(|_| self.codec == Codec::Av1 && layer.is_none()).map(|d| &d.raw);
        let layers = match self.codec {
            _ if layer.is_some() => None,
            Codec::Vp9 => vp9::Descriptor::parse(&payload).as_ref().and_then(LayerPacket::vp9),
            Codec::Av1 => incoming
                .dependency
                .as_ref()
                .and_then(|d| d.frame)
                .map(|f| LayerPacket::av1(&f, av1::starts_keyframe(&payload))),
            _ => None,
        };
        self.svc_seen |= layers.is_some();
        let svc = self.codec == Codec::Vp9 || layers.is_some();
        if let Some(d) = layers {
            let v = self.svc.admit(now, &d);
            keyframe = v.keyframe;
            news = self.svc.news();
            if v.dropped {
                self.rewrite.skip(packet.header.ssrc, packet.header.sequence_number);
            }
            if !v.forward {
                return Outgoing { keyframe, news, svc, ..Outgoing::default() };
            }
            marker |= v.marker;
        } else if let Some(layer) = layer {
            let vp8 = (self.codec == Codec::Vp8).then(|| vp8::Descriptor::parse(&payload)).flatten();
            let key = match self.codec {
                Codec::Vp8 => vp8.is_some_and(|d| d.keyframe),
                Codec::Vp9 => vp9::Descriptor::parse(&payload).is_some_and(|d| d.keyframe),
                Codec::H264 => h264::is_keyframe(&payload),
                Codec::Av1 => av1::starts_keyframe(&payload),
                _ => false,
            };
            let v =
                self.selector.admit(now, layer, packet.header.marshal_size() + packet.payload.len(), key, vp8.as_ref());
            keyframe = v.keyframe;
            news = self.selector.news();
            if v.dropped_layer {
                self.rewrite.skip(packet.header.ssrc, packet.header.sequence_number);
                if let Some(d) = &vp8 {
                    self.numbering.drop_picture(d);
                }
            }
            if !v.forward {
                return Outgoing { keyframe, news, svc, ..Outgoing::default() };
            }
            if v.switched {
                self.numbering.switch();
            }
            renumber = vp8.and_then(|d| self.numbering.renumber(&d));
        }
        let (seq, ts) =
            self.rewrite.rewrite(packet.header.ssrc, packet.header.sequence_number, packet.header.timestamp);
        let header = rtp::header::Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc: self.ssrc,
            ..Default::default()
        };
        let dependency = dependency.cloned();
        Outgoing { packet: Some(rtp::Packet { header, payload }), renumber, dependency, keyframe, news, svc }
    }

    /// The subscriber's simulcast choice from now on. Returns whether the publisher should send
    /// a keyframe, and what is already in effect (substream, temporal layer).
    pub fn choose(&mut self, choice: Choice) -> (bool, (Option<u8>, Option<u8>)) {
        if choice.adaptive != self.adaptive.is_some() {
            self.adaptive = choice.adaptive.then(Adaptive::default);
            self.selector.set_cap(None);
        }
        let svc = self.svc.choose(choice);
        let simulcast = self.selector.choose(choice);
        if self.codec == Codec::Vp9 || self.svc_seen {
            svc
        } else {
            simulcast
        }
    }

    /// The one simulcast substream this stream needs to see, if it is settled on it
    /// (`gate.rs`); a stream whose layers are chosen by bandwidth measures them all.
    pub fn settled_on(&self) -> Option<u8> {
        self.selector.settled_on().filter(|_| self.adaptive.is_none())
    }

    /// Whether its substream is chosen by bandwidth.
    pub fn adaptive(&self) -> bool {
        self.adaptive.is_some()
    }

    /// Applies what the stream's share of the downlink allows. Returns what follows from it.
    pub fn adapt(&mut self, now: Instant, share: Share) -> Adapted {
        let Some(adaptive) = self.adaptive.as_mut() else { return Adapted::Nothing };
        let rates = self.selector.rates(now);
        match adaptive.update(now, share, rates, self.selector.choice().substream) {
            Some(Step::Cap(cap)) => {
                tracing::info!(ssrc = self.ssrc, cap, ?share, ?rates, "substream by bandwidth");
                self.probe = None;
                if self.selector.set_cap(Some(cap)) {
                    return Adapted::Keyframe;
                }
            }
            Some(Step::Probe(extra)) => {
                let current = self.selector.current().and_then(|c| rates[usize::from(c)]);
                if let Some(current) = current.filter(|r| *r > 0.0) {
                    tracing::debug!(ssrc = self.ssrc, extra, current, "probing the downlink");
                    self.probe = Some((now + PROBE, extra / current, 0.0));
                    return Adapted::Probe(now + PROBE);
                }
            }
            None => {}
        }
        Adapted::Nothing
    }

    /// How many extra copies of the packet just sent a running probe sends.
    pub fn probe_copies(&mut self, now: Instant) -> usize {
        let Some((until, per_packet, owed)) = self.probe.as_mut() else { return 0 };
        if now >= *until {
            self.probe = None;
            return 0;
        }
        *owed += *per_packet;
        let copies = owed.floor();
        *owed -= copies;
        copies as usize
    }

    /// The stream's packets come from another publisher stream from now on (`switch`): its
    /// layers start over, at the new source's first keyframe.
    pub fn new_source(&mut self) {
        self.selector = Selector::new(self.selector.choice());
        self.svc = SvcSelector::new(self.selector.choice());
        self.adaptive = self.adaptive.take().map(|_| Adaptive::default());
        self.numbering.switch();
    }

    /// Notes a packet this stream sent (as it was before encryption, with the change its
    /// payload got), and keeps it if the stream answers NACKs.
    pub fn sent(&mut self, now: Instant, packet: rtp::Packet, renumber: Option<Renumber>) {
        self.packets += 1;
        self.octets += packet.payload.len() as u64;
        self.bytes += (rtc::shared::marshal::MarshalSize::marshal_size(&packet.header) + packet.payload.len()) as u64;
        self.last = Some((packet.header.timestamp, now));
        if self.answers_nacks {
            let too_old = |k: &Kept| now.saturating_duration_since(k.sent) >= RESEND_WITHIN;
            while self.history.front().is_some_and(too_old) || self.history.len() >= HISTORY {
                self.history.pop_front();
            }
            let seq = packet.header.sequence_number;
            if self.history.back().is_some_and(|k| k.packet.header.sequence_number.wrapping_add(1) != seq) {
                self.history.clear(); // numbering restarted: nothing before is asked for again
            }
            self.history.push_back(Kept { packet, renumber, sent: now, resent: None });
        }
    }

    /// The packet sent as `seq`, if it is still kept, went out less than [`RESEND_WITHIN`] ago
    /// and was not sent again in the last [`RESEND_GAP`]; the request counts as a NACK.
    pub fn resend(&mut self, now: Instant, seq: u16) -> Option<(&rtp::Packet, Option<Renumber>)> {
        self.nacked += 1;
        let first = self.history.front()?.packet.header.sequence_number;
        let kept = self.history.get_mut(seq.wrapping_sub(first) as usize)?;
        let fresh = now.saturating_duration_since(kept.sent) < RESEND_WITHIN;
        let due = kept.resent.is_none_or(|t| now.saturating_duration_since(t) >= RESEND_GAP);
        if kept.packet.header.sequence_number != seq || !fresh || !due {
            return None;
        }
        kept.resent = Some(now);
        Some((&kept.packet, kept.renumber))
    }

    /// What this stream sent: (packets, bytes, packets the peer NACKed).
    pub fn counts(&self) -> (u64, u64, u64) {
        (self.packets, self.bytes, self.nacked)
    }

    /// A sender report for this stream (RFC 3550 §6.4.1), once it has sent anything: the RTP
    /// timestamp that corresponds to now, extrapolated from the last packet.
    pub fn report(&self, now: Instant) -> Option<SenderReport> {
        let (ts, at) = self.last?;
        let elapsed = now.saturating_duration_since(at);
        let ticks = (elapsed.as_secs_f64() * self.clock_rate as f64) as u64;
        Some(SenderReport {
            ssrc: self.ssrc,
            ntp_time: ntp_now(),
            rtp_time: ts.wrapping_add(ticks as u32),
            // RFC 3550: both counts wrap around at 32 bits.
            packet_count: self.packets as u32,
            octet_count: self.octets as u32,
            ..Default::default()
        })
    }
}

/// What a stream's layers by bandwidth need after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Adapted {
    Nothing,
    /// Its substream changes: the publisher should send a keyframe.
    Keyframe,
    /// It probes the downlink until then.
    Probe(Instant),
}

/// What a codec lets a forwarder read: VP8's and VP9's payload descriptors, H.264's keyframes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Audio,
    Vp8,
    Vp9,
    H264,
    Av1,
    /// Another video codec: forwarded as it comes.
    Video,
}

impl Codec {
    /// The codec of a MIME type (`video/VP8`), of a stream of the given kind.
    pub fn of(mime: &str, video: bool) -> Codec {
        match mime.rsplit('/').next().unwrap_or_default().to_ascii_lowercase().as_str() {
            _ if !video => Codec::Audio,
            "vp8" => Codec::Vp8,
            "vp9" => Codec::Vp9,
            "h264" => Codec::H264,
            "av1" => Codec::Av1,
            _ => Codec::Video,
        }
    }
}

/// What a stream makes of a publisher's packet (`Sender::outgoing`).
#[derive(Default)]
pub(crate) struct Outgoing {
    pub packet: Option<rtp::Packet>,
    /// The change the packet's payload needs (VP8 picture numbering), made as it is sent.
    pub renumber: Option<Renumber>,
    /// The AV1 Dependency Descriptor to send with it.
    pub dependency: Option<Bytes>,
    /// The publisher should send a keyframe (a layer change waits for one).
    pub keyframe: bool,
    /// The substream or temporal layer forwarded changed: to tell the subscriber.
    pub news: (Option<u8>, Option<u8>),
    /// They are a VP9 SVC stream's spatial and temporal layers.
    pub svc: bool,
}

/// The wall clock as a 64-bit NTP timestamp (seconds since 1900 in the high half).
fn ntp_now() -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since_unix.as_secs() + NTP_UNIX_OFFSET;
    let frac = ((since_unix.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// A publisher's packet on its way to the fan-out: its mid, its simulcast substream if the
/// stream has several, and its AV1 Dependency Descriptor if it carries one.
pub(crate) struct Incoming {
    pub mid: String,
    pub layer: Option<u8>,
    pub packet: rtp::Packet,
    pub dependency: Option<av1::Dependency>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(RTCRtpSenderId::default(), 7, Some(96), 90_000, Codec::Vp8)
    }

    fn packet(seq: u16, ts: u32, payload: Vec<u8>) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header { sequence_number: seq, timestamp: ts, ..Default::default() },
            payload: payload.into(),
        }
    }

    #[test]
    fn resend_finds_kept_packets_and_not_dropped_ones() {
        let mut s = sender();
        let now = Instant::now();
        for i in 0..336u32 {
            let seq = (65_500 + i) as u16;
            s.sent(now, packet(seq, 0, vec![seq as u8]), None);
        }
        // 336 sent across the wrap of the sequence numbers (65,500 to 299): the last 256 kept.
        assert_eq!(s.resend(now, 299).map(|(p, _)| p.payload[0]), Some(299u16 as u8));
        assert_eq!(s.resend(now, 44).map(|(p, _)| p.payload[0]), Some(44));
        assert!(s.resend(now, 43).is_none(), "the 257th before the last: no longer kept");
        assert!(s.resend(now, 300).is_none(), "never sent");
    }

    #[test]
    fn only_what_can_still_be_resent_is_kept() {
        let mut s = sender();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        for seq in 0..60u16 {
            s.sent(at(u64::from(seq) * 20), packet(seq, 0, vec![seq as u8]), None);
        }
        // One packet every 20 ms: at 1,180 ms the last 500 ms are 25 packets.
        assert_eq!(s.history.len(), 25);
        assert!(s.resend(at(1_180), 34).is_none(), "510 ms old");
        assert!(s.resend(at(1_180), 35).is_some());
        // A jump in the numbering (a new source numbers from elsewhere) forgets the old ones.
        s.sent(at(1_200), packet(1_000, 0, vec![0]), None);
        assert!(s.resend(at(1_200), 59).is_none());
        assert!(s.resend(at(1_200), 1_000).is_some());
    }

    #[test]
    fn a_packet_is_sent_again_at_most_once_in_150_ms_and_not_once_500_ms_old() {
        let mut s = sender();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        s.sent(t0, packet(7, 0, vec![7]), None);
        assert!(s.resend(at(10), 7).is_some());
        assert!(s.resend(at(110), 7).is_none(), "NACKed again 100 ms later: just sent");
        assert!(s.resend(at(170), 7).is_some());
        assert!(s.resend(at(499), 7).is_some());
        s.sent(t0, packet(8, 0, vec![8]), None);
        assert!(s.resend(at(500), 8).is_none(), "too old to be of use");
        assert_eq!(s.counts().2, 5, "every request counts as a NACK");
    }

    fn simulcast(layer: u8, packet: rtp::Packet) -> Incoming {
        Incoming { mid: "0".into(), layer: Some(layer), packet, dependency: None }
    }

    /// A VP8 keyframe's first packet with a 15-bit picture ID.
    fn vp8_keyframe(seq: u16, picture_id: u16) -> rtp::Packet {
        packet(seq, u32::from(seq) * 3000, vec![0x90, 0x80, 0x80 | (picture_id >> 8) as u8, picture_id as u8, 0x00])
    }

    #[test]
    fn a_packet_sent_again_carries_the_picture_id_it_was_first_sent_with() {
        let mut s = sender();
        let now = Instant::now();
        let first = s.outgoing(now, &simulcast(0, vp8_keyframe(1, 100)));
        assert!(first.renumber.is_none(), "the first source keeps its numbers");
        // Substream 1's keyframe moves the stream up: its picture follows the last one sent.
        let o = s.outgoing(now, &simulcast(1, vp8_keyframe(2, 5000)));
        let (p, renumber) = (o.packet.unwrap(), o.renumber);
        assert_eq!(p.payload[2..4], [0x80 | (5000u16 >> 8) as u8, 5000u16 as u8], "the payload stays shared");
        let seq = p.header.sequence_number;
        s.sent(now, p, renumber);
        let (kept, renumber) = s.resend(now, seq).unwrap();
        let resent = renumber.expect("renumbered").applied(&kept.payload);
        assert_eq!(vp8::Descriptor::parse(&resent).unwrap().picture_id, Some(101));
    }

    #[test]
    fn report_counts_and_extrapolates_the_rtp_clock() {
        let mut s = sender();
        let t0 = Instant::now();
        assert!(s.report(t0).is_none(), "nothing sent yet");
        s.sent(t0, packet(1, 1000, vec![0; 100]), None);
        s.sent(t0, packet(2, 4000, vec![0; 50]), None);
        let r = s.report(t0 + Duration::from_millis(100)).unwrap();
        assert_eq!((r.ssrc, r.packet_count, r.octet_count), (7, 2, 150));
        assert_eq!(r.rtp_time, 4000 + 9000, "100 ms at 90 kHz after the last packet");
        assert!(r.ntp_time >> 32 > 3_900_000_000, "NTP seconds since 1900");
    }
}
