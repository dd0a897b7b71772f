//! One outgoing stream of a leg: its numbering, what it sent (for sender reports), and the
//! packets it keeps to answer NACKs when the leg encrypts its own packets (`srtp_out.rs`).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::RTCRtpSenderId;

use super::rewrite::Rewriter;

/// Sent packets kept per video stream for retransmission: about 2.5 s at 100 packets/s, more
/// than a NACK's round trip (Janus keeps 200–1000 ms, `nack_queue_ms`). A power of two: the
/// slot of a sequence number is its low bits.
const HISTORY: usize = 256;

pub(crate) struct Sender {
    pub id: RTCRtpSenderId,
    pub ssrc: u32,
    /// The payload type negotiated for this stream (known once the answer is in).
    pub pt: Option<u8>,
    pub clock_rate: u32,
    pub rewrite: Rewriter,
    /// Video streams keep what they sent, for NACKs (vroom offers NACK feedback on video only).
    answers_nacks: bool,
    history: Vec<Option<(u16, Bytes)>>,
    packets: u32,
    octets: u32,
    /// The last packet's RTP timestamp and when it went out: a sender report's clock pair.
    last: Option<(u32, Instant)>,
}

impl Sender {
    pub fn new(id: RTCRtpSenderId, ssrc: u32, pt: Option<u8>, clock_rate: u32, answers_nacks: bool) -> Sender {
        Sender {
            id,
            ssrc,
            pt,
            clock_rate,
            rewrite: Rewriter::default(),
            answers_nacks,
            history: Vec::new(),
            packets: 0,
            octets: 0,
            last: None,
        }
    }

    /// Notes a packet this stream sent: its sequence number, RTP timestamp, payload size, and
    /// (if the stream answers NACKs) the datagram itself.
    pub fn sent(&mut self, now: Instant, seq: u16, ts: u32, payload: usize, datagram: &Bytes) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload as u32);
        self.last = Some((ts, now));
        if self.answers_nacks {
            if self.history.is_empty() {
                self.history = vec![None; HISTORY];
            }
            self.history[seq as usize % HISTORY] = Some((seq, datagram.clone()));
        }
    }

    /// The datagram that carried `seq`, if it is still kept.
    pub fn resend(&self, seq: u16) -> Option<&Bytes> {
        match self.history.get(seq as usize % HISTORY)? {
            Some((s, datagram)) if *s == seq => Some(datagram),
            _ => None,
        }
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
            packet_count: self.packets,
            octet_count: self.octets,
            ..Default::default()
        })
    }
}

/// The wall clock as a 64-bit NTP timestamp (seconds since 1900 in the high half).
fn ntp_now() -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since_unix.as_secs() + NTP_UNIX_OFFSET;
    let frac = ((since_unix.subsec_nanos() as u64) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(RTCRtpSenderId::default(), 7, Some(96), 90_000, true)
    }

    #[test]
    fn resend_finds_kept_packets_and_not_overwritten_ones() {
        let mut s = sender();
        let now = Instant::now();
        for seq in 0..300u16 {
            s.sent(now, seq, 0, 10, &Bytes::from(vec![seq as u8]));
        }
        assert_eq!(s.resend(299).map(|b| b[0]), Some(299u16 as u8));
        assert_eq!(s.resend(44).map(|b| b[0]), Some(44));
        assert!(s.resend(43).is_none(), "slot 43 now holds 299");
        assert!(s.resend(300).is_none(), "never sent");
    }

    #[test]
    fn report_counts_and_extrapolates_the_rtp_clock() {
        let mut s = sender();
        let t0 = Instant::now();
        assert!(s.report(t0).is_none(), "nothing sent yet");
        s.sent(t0, 1, 1000, 100, &Bytes::new());
        s.sent(t0, 2, 4000, 50, &Bytes::new());
        let r = s.report(t0 + Duration::from_millis(100)).unwrap();
        assert_eq!((r.ssrc, r.packet_count, r.octet_count), (7, 2, 150));
        assert_eq!(r.rtp_time, 4000 + 9000, "100 ms at 90 kHz after the last packet");
        assert!(r.ntp_time >> 32 > 3_900_000_000, "NTP seconds since 1900");
    }
}
