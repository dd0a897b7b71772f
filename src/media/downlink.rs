//! A subscriber's downlink, from its transport-wide congestion control feedback (TWCC,
//! draft-holmer-rmcat-transport-wide-cc-extensions-01): the leg numbers every packet it sends,
//! the subscriber reports when each arrived, and the delay trend of those arrivals (`rtc`'s
//! Google congestion control parts: arrival groups, a trendline filter, an adaptive-threshold
//! overuse detector) says whether a queue builds up on the way. What arrives per second while
//! it does is what the link carries. A subscriber that sends REMB instead gives its own
//! estimate. Sans-IO: the caller passes the time.
//!
//! This says what the link carries, not how much more it could: a forwarder cannot pad to probe
//! as an encoder's pacer does. The layer policy (`adapt.rs`) goes down to what the link
//! carried when it congests; to go up it sends some packets twice for a moment, and a probe
//! here says whether the link delivered those as fast as they were sent.

use std::time::{Duration, Instant};

use std::collections::VecDeque;

use rtc::interceptor::{convert_twcc, History, OveruseDetector, SlopeEstimator, Usage};
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;

/// Packets never acknowledged are forgotten after this long.
const HISTORY_SPAN: Duration = Duration::from_secs(2);

/// A share of lost packets over one feedback batch that counts as congestion.
const LOSSY: f64 = 0.1;

/// How long after the last sign of congestion the link still counts as congested.
const CONGESTION_MEMORY: Duration = Duration::from_secs(1);

/// What the link delivers is measured over this much of the subscriber's clock.
const DELIVERY_WINDOW: Duration = Duration::from_millis(500);

/// A probe of the link (`adapt.rs`): the packets sent from `from` to `until` carried extra
/// copies, and what feedback said of them.
struct Probe {
    from: Instant,
    until: Instant,
    packets: usize,
    lost: usize,
    /// The first and last departure (our clock) and arrival (the subscriber's) of those that
    /// arrived.
    departures: Option<(Instant, Instant)>,
    arrivals: Option<(Duration, Duration)>,
    /// Feedback reached a packet sent after the probe.
    done: bool,
}

/// The share of the probe's sending rate the link must deliver for the probe to count as
/// taken: a link that queues it delivers it slower than it was sent.
const PROBE_DELIVERED: f64 = 0.9;

/// The share of a probe's packets that may be reported lost with the probe still taken.
const PROBE_LOSS: f64 = 0.05;

/// What feedback said of the link.
pub struct Downlink {
    next_seq: u16,
    history: History,
    slope: SlopeEstimator,
    detector: OveruseDetector,
    /// Packets that arrived lately: when (the subscriber's clock) and how big.
    delivered: VecDeque<(Duration, usize)>,
    /// When feedback last showed a growing queue or heavy loss, and what arrived then (bit/s).
    congested: Option<(Instant, f64)>,
    /// The subscriber's own estimate (REMB), if it sends one.
    remb: Option<f64>,
    probe: Option<Probe>,
    last_prune: Option<Instant>,
}

impl Default for Downlink {
    fn default() -> Downlink {
        Downlink {
            next_seq: 0,
            history: History::new(),
            slope: SlopeEstimator::new(),
            detector: OveruseDetector::new(),
            delivered: VecDeque::new(),
            congested: None,
            remb: None,
            probe: None,
            last_prune: None,
        }
    }
}

impl Downlink {
    /// Numbers a packet about to be sent (`size` bytes on the wire, of stream `ssrc`):
    /// returns its transport-wide sequence number, for its header extension.
    pub fn sent(&mut self, now: Instant, ssrc: u32, seq: u16, size: usize) -> u16 {
        let twcc = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.history.add_outgoing(ssrc, seq, true, twcc, size, now);
        if self.last_prune.is_none_or(|t| now.saturating_duration_since(t) >= HISTORY_SPAN) {
            if let Some(cutoff) = now.checked_sub(HISTORY_SPAN) {
                self.history.prune_before(cutoff);
            }
            self.last_prune = Some(now);
        }
        twcc
    }

    /// A TWCC feedback packet from the subscriber.
    pub fn on_twcc(&mut self, now: Instant, feedback: &TransportLayerCc) {
        for ack in convert_twcc(feedback) {
            self.history.on_twcc_feedback(now, ack);
        }
        let reports = self.history.take_reports();
        if reports.is_empty() {
            return;
        }
        let mut usage = self.detector.usage();
        for r in &reports {
            if let (true, Some(arrival)) = (r.arrived, r.arrival) {
                self.delivered.push_back((arrival, r.size));
            }
            if let Some(p) = self.probe.as_mut() {
                p.note(r.departure, r.arrived.then_some(r.arrival).flatten());
            }
            if let Some(trend) = self.slope.accumulate(r) {
                usage = self.detector.update(trend.at, trend.estimate_ms);
            }
        }
        let lost = reports.iter().filter(|r| !r.arrived).count() as f64 / reports.len() as f64;
        while self.delivered.len() > 2
            && self
                .delivered
                .back()
                .zip(self.delivered.front())
                .is_some_and(|(b, f)| b.0.saturating_sub(f.0) > DELIVERY_WINDOW)
        {
            self.delivered.pop_front();
        }
        if usage == Usage::Over || lost > LOSSY {
            let carried = self.delivery_rate();
            tracing::debug!(?usage, lost, reports = reports.len(), ?carried, "downlink congested");
            // Keep the lowest rate seen while it stays congested.
            let floor = self.congested.filter(|(t, _)| now.saturating_duration_since(*t) < CONGESTION_MEMORY);
            let carried = match (carried, floor) {
                (Some(c), Some((_, f))) => c.min(f),
                (Some(c), None) => c,
                (None, Some((_, f))) => f,
                (None, None) => return,
            };
            self.congested = Some((now, carried));
        }
    }

    /// What the link delivered over the last [`DELIVERY_WINDOW`] of arrivals (bit/s): the bytes
    /// after the first arrival over the time since it.
    fn delivery_rate(&self) -> Option<f64> {
        let (first, last) = (self.delivered.front()?, self.delivered.back()?);
        let span = last.0.saturating_sub(first.0);
        if span < Duration::from_millis(50) {
            return None;
        }
        let bytes: usize = self.delivered.iter().skip(1).map(|(_, size)| size).sum();
        Some(bytes as f64 * 8.0 / span.as_secs_f64())
    }

    /// The packets sent from `from` to `until` carry extra copies: [`Downlink::probe_taken`]
    /// will say whether the link delivered them as fast as they were sent.
    pub fn start_probe(&mut self, from: Instant, until: Instant) {
        self.probe = Some(Probe { from, until, packets: 0, lost: 0, departures: None, arrivals: None, done: false });
    }

    /// Whether a probe is waiting for its feedback.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// Once feedback covers the whole probe: whether the link took it (delivered it about as
    /// fast as it was sent, losing next to nothing). Said once.
    pub fn probe_taken(&mut self) -> Option<bool> {
        if !self.probe.as_ref()?.done {
            return None;
        }
        let p = self.probe.take()?;
        let sent = p.departures.map(|(a, b)| b.saturating_duration_since(a));
        let delivered = p.arrivals.map(|(a, b)| b.saturating_sub(a));
        let kept_pace = match (sent, delivered) {
            (Some(sent), Some(delivered)) => sent.as_secs_f64() >= delivered.as_secs_f64() * PROBE_DELIVERED,
            _ => false,
        };
        let taken = kept_pace && (p.lost as f64) <= p.packets as f64 * PROBE_LOSS;
        tracing::debug!(?sent, ?delivered, packets = p.packets, lost = p.lost, taken, "probe outcome");
        Some(taken)
    }

    /// A REMB from the subscriber: its own estimate of what it can receive.
    pub fn on_remb(&mut self, bitrate: f32) {
        self.remb = Some(f64::from(bitrate));
    }

    /// When feedback last said the link congested, if within the last second, and what the
    /// link carried then (bit/s).
    pub fn congested(&self, now: Instant) -> Option<(Instant, f64)> {
        self.congested.filter(|(t, _)| now.saturating_duration_since(*t) < CONGESTION_MEMORY)
    }

    /// What the subscriber said it can receive (REMB), if it says so.
    pub fn remb(&self) -> Option<f64> {
        self.remb
    }
}

impl Probe {
    /// Feedback on a packet that left at `departure` (and arrived at `arrival`, if it did).
    fn note(&mut self, departure: Instant, arrival: Option<Duration>) {
        if departure >= self.until {
            self.done = true;
            return;
        }
        if departure < self.from {
            return;
        }
        self.packets += 1;
        let Some(arrival) = arrival else {
            self.lost += 1;
            return;
        };
        self.departures = Some(self.departures.map_or((departure, departure), |(first, _)| (first, departure)));
        self.arrivals = Some(self.arrivals.map_or((arrival, arrival), |(a, b)| (a.min(arrival), b.max(arrival))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::transport_feedbacks::transport_layer_cc::{
        PacketStatusChunk, RecvDelta, RunLengthChunk, StatusChunkTypeTcc, SymbolTypeTcc,
    };

    /// Feedback saying packets `base..` all arrived, at these times (µs on the subscriber's
    /// clock).
    fn feedback(base: u16, arrivals: &[i64]) -> TransportLayerCc {
        const TICK: i64 = 64_000; // the reference time's unit
        let reference = arrivals[0] / TICK;
        let mut last = reference * TICK;
        let deltas = arrivals.iter().map(|&a| {
            let delta = a - last;
            last = a;
            RecvDelta { type_tcc_packet: SymbolTypeTcc::PacketReceivedLargeDelta, delta }
        });
        TransportLayerCc {
            base_sequence_number: base,
            packet_status_count: arrivals.len() as u16,
            reference_time: reference as u32,
            packet_chunks: vec![PacketStatusChunk::RunLengthChunk(RunLengthChunk {
                type_tcc: StatusChunkTypeTcc::RunLengthChunk,
                packet_status_symbol: SymbolTypeTcc::PacketReceivedLargeDelta,
                run_length: arrivals.len() as u16,
            })],
            recv_deltas: deltas.collect(),
            ..Default::default()
        }
    }

    /// Sends 1,200-byte packets every `send_ms` for `secs` seconds while the link delivers one
    /// every `arrive_ms`, with feedback every ten packets; whether the link ever read as
    /// congested, and at what rate.
    fn run(send_ms: u64, arrive_ms: u64, secs: u64) -> Option<f64> {
        let t0 = Instant::now();
        let mut d = Downlink::default();
        let mut seen = None;
        let n = secs * 1000 / send_ms;
        for batch in 0..n / 10 {
            for i in 0..10 {
                let k = batch * 10 + i;
                d.sent(t0 + Duration::from_millis(k * send_ms), 1, k as u16, 1200);
            }
            // The link delivers one packet every `arrive_ms` (or as they are sent, if slower).
            let arrivals: Vec<i64> =
                (0..10).map(|i| ((batch * 10 + i + 1) * arrive_ms.max(send_ms) * 1000) as i64).collect();
            let now = t0 + Duration::from_millis((batch * 10 + 10) * arrive_ms.max(send_ms));
            d.on_twcc(now, &feedback((batch * 10) as u16, &arrivals));
            seen = seen.or(d.congested(now).map(|(_, rate)| rate));
        }
        seen
    }

    #[test]
    fn a_link_that_keeps_up_is_not_congested() {
        assert_eq!(run(10, 10, 5), None);
    }

    #[test]
    fn a_queue_that_builds_up_reads_as_congestion_at_what_arrives() {
        // 960 kbit/s sent into a link that delivers 240 kbit/s.
        let carried = run(10, 40, 5).expect("congestion");
        assert!((150_000.0..=400_000.0).contains(&carried), "carried {carried}");
    }

    #[test]
    fn remb_is_the_subscribers_own_estimate() {
        let mut d = Downlink::default();
        assert_eq!(d.remb(), None);
        d.on_remb(500_000.0);
        assert_eq!(d.remb(), Some(500_000.0));
    }
}
