//! A lock-free histogram of whole numbers (microseconds, mostly): four buckets per power of two,
//! so a bucket spans at most a quarter of its value. Recording is one atomic add; reading
//! copies the counts. The media path's latency and the locks' hold and wait times use it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Buckets per power of two.
const SUB: usize = 4;
pub const BUCKETS: usize = 32 * SUB;

pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    sum: AtomicU64,
}

/// The bucket of `v`.
pub fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let pow = 63 - v.leading_zeros() as usize; // v >= 2^pow
    let frac = ((v >> (pow - 2)) & (SUB as u64 - 1)) as usize; // the next two bits
    ((pow - 1) * SUB + frac).min(BUCKETS - 1)
}

/// The smallest value that falls in bucket `b`.
pub fn bucket_floor(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let pow = b / SUB + 1;
    (1u64 << pow) + ((b % SUB) as u64) * (1u64 << (pow - 2))
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: std::array::from_fn(|_| AtomicU64::new(0)), sum: AtomicU64::new(0) }
    }
}

impl Histogram {
    pub fn record(&self, v: u64) {
        self.counts[bucket(v)].fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
    }

    /// [`Histogram::record`] for a histogram only one thread writes (a thread's own lock
    /// times): plain loads and stores, no locked read-modify-write. Readers on other threads
    /// see each count whole, at most one record behind.
    pub fn record_own(&self, v: u64) {
        let bucket = &self.counts[bucket(v)];
        bucket.store(bucket.load(Relaxed) + 1, Relaxed);
        self.sum.store(self.sum.load(Relaxed) + v, Relaxed);
    }

    pub fn snapshot(&self) -> Counts {
        Counts { buckets: self.counts.iter().map(|b| b.load(Relaxed)).collect(), sum: self.sum.load(Relaxed) }
    }
}

/// A copy of a histogram's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub buckets: Vec<u64>,
    pub sum: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts { buckets: vec![0; BUCKETS], sum: 0 }
    }
}

impl Counts {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// What was recorded between `earlier` and this copy.
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            buckets: self.buckets.iter().zip(&earlier.buckets).map(|(a, b)| a - b).collect(),
            sum: self.sum - earlier.sum,
        }
    }

    /// The value (rounded down to its bucket) below which a share `q` of the records fall.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(bucket_floor(b));
            }
        }
        None
    }

    /// Cumulative counts at each power of two up to `2^max_pow` (Prometheus's `le` buckets:
    /// how many records were below that bound), then the total.
    pub fn cumulative_powers_of_two(&self, max_pow: u32) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        for pow in 0..=max_pow {
            let bound = 1u64 << pow;
            // Records in buckets whose values are all below `bound`: buckets before bound's own.
            let below: u64 = self.buckets[..bucket(bound)].iter().sum();
            out.push((bound, below));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut last = 0;
        for v in 0..1_000_000u64 {
            let b = bucket(v);
            assert!(b >= last, "bucket order at {v}");
            last = b;
            assert!(bucket_floor(b) <= v, "{v} below its bucket's floor");
            assert!(v < 4 || (v - bucket_floor(b)) * 4 <= v, "{v} in a bucket wider than a quarter");
        }
    }

    #[test]
    fn quantiles_and_cumulative_buckets_come_from_the_counts() {
        let h = Histogram::default();
        for _ in 0..99 {
            h.record(10);
        }
        h.record(900);
        let c = h.snapshot();
        assert_eq!(c.quantile(0.5), Some(10));
        assert_eq!(c.quantile(0.99), Some(10));
        assert_eq!(c.quantile(1.0), Some(896));
        assert_eq!(c.sum, 99 * 10 + 900);
        let cumulative = c.cumulative_powers_of_two(10);
        assert_eq!(cumulative[3], (8, 0)); // nothing below 8
        assert_eq!(cumulative[4], (16, 99)); // the 10s are below 16
        assert_eq!(cumulative[9], (512, 99));
        assert_eq!(cumulative[10], (1024, 100));
    }
}
