//! What the media path counts, lock-free: forwarded packets, and how long each forwarded copy
//! waited in vroom (from the publisher's datagram arriving to the subscriber's copy being handed
//! to the kernel). Read through the admin API's `media_stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Buckets per power of two of microseconds (so a bucket spans at most 1/4 of its value).
const SUB: usize = 4;
const BUCKETS: usize = 32 * SUB;

pub struct MediaStats {
    /// Packets sent to subscribers.
    pub forwarded: AtomicU64,
    /// Packets received from publishers.
    pub received: AtomicU64,
    /// Timer expirations handled (all legs).
    pub timer_ticks: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

/// A copy of the counters, to subtract one from another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub forwarded: u64,
    pub received: u64,
    pub timer_ticks: u64,
    latency: Vec<u64>,
}

fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let pow = 63 - us.leading_zeros() as usize; // us >= 2^pow
    let frac = ((us >> (pow - 2)) & (SUB as u64 - 1)) as usize; // the next two bits
    ((pow - 1) * SUB + frac).min(BUCKETS - 1)
}

/// The smallest value (µs) that falls in bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let pow = b / SUB + 1;
    (1u64 << pow) + ((b % SUB) as u64) * (1u64 << (pow - 2))
}

impl Default for MediaStats {
    fn default() -> Self {
        MediaStats {
            forwarded: AtomicU64::new(0),
            received: AtomicU64::new(0),
            timer_ticks: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl MediaStats {
    pub fn record_latency(&self, d: Duration) {
        self.latency[bucket(d.as_micros() as u64)].fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            forwarded: self.forwarded.load(Relaxed),
            received: self.received.load(Relaxed),
            timer_ticks: self.timer_ticks.load(Relaxed),
            latency: self.latency.iter().map(|b| b.load(Relaxed)).collect(),
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
            latency: self.latency.iter().zip(&earlier.latency).map(|(a, b)| a - b).collect(),
        }
    }

    /// The latency (µs, rounded down to its bucket) below which a share `q` of the copies fall.
    pub fn latency_quantile_us(&self, q: f64) -> Option<u64> {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, n) in self.latency.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_floor(b));
            }
        }
        None
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "received": self.received,
            "forwarded": self.forwarded,
            "timer_ticks": self.timer_ticks,
            "latency_us": {
                "p50": self.latency_quantile_us(0.5),
                "p99": self.latency_quantile_us(0.99),
                "p999": self.latency_quantile_us(0.999),
                "buckets": self.latency.iter().enumerate().filter(|(_, n)| **n > 0)
                    .map(|(b, n)| serde_json::json!([bucket_floor(b), n])).collect::<Vec<_>>(),
            },
        })
    }

    pub fn from_json(v: &serde_json::Value) -> Option<StatsSnapshot> {
        let mut latency = vec![0; BUCKETS];
        for pair in v["latency_us"]["buckets"].as_array()? {
            let floor = pair[0].as_u64()?;
            latency[bucket(floor)] = pair[1].as_u64()?;
        }
        Some(StatsSnapshot {
            forwarded: v["forwarded"].as_u64()?,
            received: v["received"].as_u64()?,
            timer_ticks: v["timer_ticks"].as_u64()?,
            latency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut last = 0;
        for us in 0..1_000_000u64 {
            let b = bucket(us);
            assert!(b >= last, "bucket order at {us}");
            last = b;
            assert!(bucket_floor(b) <= us, "{us} below its bucket's floor");
            assert!(us < 4 || (us - bucket_floor(b)) * 4 <= us, "{us} in a bucket wider than a quarter");
        }
    }

    #[test]
    fn quantiles_come_from_the_counts() {
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
