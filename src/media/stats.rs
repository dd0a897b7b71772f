//! What the media path counts, lock-free: forwarded packets, and how long each forwarded copy
//! waited in vroom (from the publisher's datagram arriving to the subscriber's copy being handed
//! to the kernel). Read through the admin API's `media_stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::observe::histogram::{bucket, bucket_floor, Counts, Histogram};

pub struct MediaStats {
    /// Packets sent to subscribers.
    pub forwarded: AtomicU64,
    /// Packets received from publishers.
    pub received: AtomicU64,
    /// Timer expirations handled (all legs).
    pub timer_ticks: AtomicU64,
    /// Packets handed from one shard to another (one per packet and receiving shard).
    pub handed: AtomicU64,
    /// Bytes of every datagram received, and of the copies forwarded to subscribers.
    pub bytes_received: AtomicU64,
    pub bytes_forwarded: AtomicU64,
    /// Datagrams dropped, by [`DropReason`].
    pub dropped: [AtomicU64; DropReason::ALL.len()],
    /// NACKed packets subscribers asked for, and those resent from the history.
    pub nacked: AtomicU64,
    pub resent: AtomicU64,
    /// Keyframe requests (PLI) and bitrate caps (REMB) sent to publishers.
    pub pli_sent: AtomicU64,
    pub remb_sent: AtomicU64,
    /// Legs in memory (made and not yet freed: a leak shows here), the legs with a timer
    /// pending in the shards, and their routes (ICE username fragments and peer addresses they
    /// know).
    pub legs_alive: AtomicU64,
    pub timers: AtomicU64,
    pub routes: AtomicU64,
    /// How late the media loop ran each leg's timer (µs): a loop that falls behind shows here.
    pub loop_lag_us: Histogram,
    latency: Histogram,
}

/// Why the packet path dropped a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// From an address no PeerConnection knows (and not a STUN check for one).
    UnknownSource,
    /// To an address of the machine vroom does not offer (`ice_enforce_list`, `ice_ignore_list`).
    NotOffered,
    /// For a PeerConnection that is closing.
    Closed,
    /// The kernel refused to send it.
    SendFailed,
    /// Another shard's ring was full: a packet for its subscribers was not handed over.
    HandoffFull,
}

impl DropReason {
    pub const ALL: [DropReason; 5] = [
        DropReason::UnknownSource,
        DropReason::NotOffered,
        DropReason::Closed,
        DropReason::SendFailed,
        DropReason::HandoffFull,
    ];

    pub fn label(self) -> &'static str {
        match self {
            DropReason::UnknownSource => "unknown_source",
            DropReason::NotOffered => "not_offered",
            DropReason::Closed => "closed",
            DropReason::SendFailed => "send_failed",
            DropReason::HandoffFull => "handoff_full",
        }
    }
}

/// A copy of the counters, to subtract one from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub forwarded: u64,
    pub received: u64,
    pub timer_ticks: u64,
    pub handed: u64,
    latency: Counts,
}

impl Default for MediaStats {
    fn default() -> Self {
        MediaStats {
            forwarded: AtomicU64::new(0),
            received: AtomicU64::new(0),
            timer_ticks: AtomicU64::new(0),
            handed: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_forwarded: AtomicU64::new(0),
            dropped: Default::default(),
            nacked: AtomicU64::new(0),
            resent: AtomicU64::new(0),
            pli_sent: AtomicU64::new(0),
            remb_sent: AtomicU64::new(0),
            legs_alive: AtomicU64::new(0),
            timers: AtomicU64::new(0),
            routes: AtomicU64::new(0),
            loop_lag_us: Histogram::default(),
            latency: Histogram::default(),
        }
    }
}

impl MediaStats {
    pub fn count_drop(&self, why: DropReason) {
        self.dropped[why as usize].fetch_add(1, Relaxed);
    }

    /// The forwarded copies' latency through vroom (µs).
    pub fn latency(&self) -> Counts {
        self.latency.snapshot()
    }

    pub fn record_latency(&self, d: Duration) {
        self.latency.record(d.as_micros() as u64);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            forwarded: self.forwarded.load(Relaxed),
            received: self.received.load(Relaxed),
            timer_ticks: self.timer_ticks.load(Relaxed),
            handed: self.handed.load(Relaxed),
            latency: self.latency.snapshot(),
        }
    }
}

impl StatsSnapshot {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            forwarded: self.forwarded - earlier.forwarded,
            received: self.received - earlier.received,
            timer_ticks: self.timer_ticks - earlier.timer_ticks,
            handed: self.handed - earlier.handed,
            latency: self.latency.since(&earlier.latency),
        }
    }

    /// The latency (µs, rounded down to its bucket) below which a share `q` of the copies fall.
    pub fn latency_quantile_us(&self, q: f64) -> Option<u64> {
        self.latency.quantile(q)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "received": self.received,
            "forwarded": self.forwarded,
            "timer_ticks": self.timer_ticks,
            "handed": self.handed,
            "latency_us": {
                "p50": self.latency_quantile_us(0.5),
                "p99": self.latency_quantile_us(0.99),
                "p999": self.latency_quantile_us(0.999),
                "sum": self.latency.sum,
                "buckets": self.latency.buckets.iter().enumerate().filter(|(_, n)| **n > 0)
                    .map(|(b, n)| serde_json::json!([bucket_floor(b), n])).collect::<Vec<_>>(),
            },
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<StatsSnapshot> {
        let mut latency = Counts { sum: v["latency_us"]["sum"].as_u64()?, ..Counts::default() };
        for pair in v["latency_us"]["buckets"].as_array()? {
            let floor = pair[0].as_u64()?;
            latency.buckets[bucket(floor)] = pair[1].as_u64()?;
        }
        Some(StatsSnapshot {
            forwarded: v["forwarded"].as_u64()?,
            received: v["received"].as_u64()?,
            timer_ticks: v["timer_ticks"].as_u64()?,
            handed: v["handed"].as_u64().unwrap_or(0),
            latency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_survive_json() {
        let s = MediaStats::default();
        for _ in 0..99 {
            s.record_latency(Duration::from_micros(10));
        }
        s.record_latency(Duration::from_micros(900));
        let snap = s.snapshot();
        assert_eq!(snap.latency_quantile_us(0.5), Some(10));
        assert_eq!(snap.latency_quantile_us(0.99), Some(10));
        assert_eq!(snap.latency_quantile_us(1.0), Some(896));
        assert_eq!(StatsSnapshot::from_json(&snap.to_json()), Some(snap));
    }
}
