//! What a load run reports: a timeline sampled each second, and the run's totals, as JSON.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::reception::Reception;
use super::scenario::Scenario;

/// A distribution in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// From a histogram of µs.
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }
}

/// One second of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Point {
    /// Seconds since the media clients were up.
    pub t_s: f64,
    /// Sessions the load holds, and PeerConnections up.
    pub sessions: u64,
    pub connected: u64,
    /// The server's CPU in this second, % of one core, and its resident memory.
    pub server_cpu_pct: Option<f64>,
    pub server_rss_mb: Option<f64>,
    /// End-to-end latency of what subscribers received in this second.
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    /// Packets lost in this second, % of those expected.
    pub loss_pct: Option<f64>,
    /// Session creation in this second.
    pub create_p50_ms: Option<f64>,
    pub create_p99_ms: Option<f64>,
    /// Requests answered in this second, and requests unanswered after 5 s so far.
    pub requests: u64,
    pub unanswered: u64,
}

/// What subscribers received over the whole run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MediaSummary {
    pub streams: u64,
    pub expected: u64,
    pub received: u64,
    pub lost: u64,
    pub loss_pct: f64,
    pub duplicates: u64,
    pub latency: Summary,
    /// Mean of the streams' RFC 3550 jitter.
    pub jitter_ms: f64,
    /// From `start` or `switch` to a video stream's first keyframe.
    pub keyframe_wait: Summary,
}

impl MediaSummary {
    pub fn of(receptions: &[Reception]) -> MediaSummary {
        let mut m = MediaSummary::default();
        let mut latency = super::reception::histogram();
        let mut waits = super::reception::histogram();
        let mut jitter = 0.0;
        for r in receptions {
            let t = r.totals();
            m.expected += t.expected;
            m.received += t.received;
            m.lost += t.lost;
            m.duplicates += t.duplicates;
            for s in r.streams.values() {
                m.streams += 1;
                let _ = latency.add(&s.latency);
                jitter += s.jitter_us;
                for w in &s.keyframe_waits {
                    let _ = waits.record((*w).max(1));
                }
            }
        }
        m.loss_pct = if m.expected > 0 { m.lost as f64 * 100.0 / m.expected as f64 } else { 0.0 };
        m.latency = Summary::of(&latency);
        m.keyframe_wait = Summary::of(&waits);
        m.jitter_ms = if m.streams > 0 { jitter / m.streams as f64 / 1000.0 } else { 0.0 };
        m
    }
}

/// The server's process over the run (read from `/proc` by pid).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServerSummary {
    pub cpu_seconds: f64,
    /// Mean CPU over the measured duration, % of one core.
    pub cpu_pct_mean: f64,
    pub rss_mb_before: f64,
    pub rss_mb_peak: f64,
    pub rss_mb_after: f64,
    pub fds_before: u64,
    pub fds_after: u64,
    pub threads_before: u64,
    pub threads_after: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counted {
    pub sessions_peak: u64,
    pub media_setups: u64,
    pub media_failed: u64,
    pub churn_cycles: u64,
    pub churn_failed: u64,
    pub switches: u64,
    pub configures: u64,
    pub resubscribes: u64,
    pub republishes: u64,
    pub rejoins: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub scenario: Scenario,
    /// Seconds the load ran with its media clients up.
    pub measured_s: f64,
    pub requests_sent: u64,
    /// Requests answered after 5 s, or never.
    pub requests_unanswered: u64,
    pub request_errors: u64,
    pub requests: BTreeMap<String, Summary>,
    pub media: MediaSummary,
    pub counted: Counted,
    /// Why things failed, and how often.
    pub failures: BTreeMap<String, u64>,
    pub server: Option<ServerSummary>,
    /// vroom's `accounting` before the load and after it left.
    pub accounting_before: Option<Value>,
    pub accounting_after: Option<Value>,
    /// What the poison client (JCB-04) was answered, step by step.
    pub poison: Option<Value>,
    pub timeline: Vec<Point>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_in_milliseconds() {
        let mut h = super::super::reception::histogram();
        for us in [1_000u64, 2_000, 3_000, 100_000] {
            h.record(us).unwrap();
        }
        let s = Summary::of(&h);
        assert_eq!(s.count, 4);
        assert!((s.p50_ms - 2.0).abs() < 0.01, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
        assert_eq!(Summary::of(&super::super::reception::histogram()), Summary::default());
    }
}
