//! Layers chosen by bandwidth, for one subscriber stream: the highest simulcast substream its
//! share of the downlink allows, never above what the subscriber asked for. Janus leaves this
//! to the application; LiveKit and mediasoup do it in the server.
//!
//! - When feedback says the link congests (`downlink.rs`), the stream drops to the highest
//!   substream whose bitrate fits in what the link carried.
//! - With the subscriber's own estimate (REMB), the stream takes the highest substream that
//!   fits in it, up or down.
//! - Otherwise nothing says how much more the link could carry, so after a quiet while the
//!   stream probes: for [`PROBE`] its packets go out more than once, adding what the next
//!   substream would add (the copies are byte for byte the same, so the subscriber drops them,
//!   and SRTP never encrypts two plaintexts under one packet index). If the link delivers
//!   them as fast as they were sent (`Downlink::probe_taken`), the stream moves up; if it
//!   queues or loses them, the next probe waits twice as long (up to [`LONGEST_WAIT`]).

use std::time::{Duration, Instant};

/// How long the link must stay quiet before the first probe, and after a change.
const FIRST_WAIT: Duration = Duration::from_secs(3);
/// The longest wait between probes.
const LONGEST_WAIT: Duration = Duration::from_secs(12);
/// How long after a change congestion is not acted on.
const SETTLE: Duration = Duration::from_secs(2);
/// How long a probe sends its extra copies.
pub const PROBE: Duration = Duration::from_millis(600);
/// How long a probe waits for the feedback that says whether the link took it; without it,
/// the link did not.
const PROBE_OUTCOME: Duration = Duration::from_secs(3);
/// A substream fits a budget when its bitrate is below this share of it (headroom for audio
/// and bursts).
const FILL: f64 = 0.9;

/// What a stream's share of the downlink allows.
#[derive(Clone, Debug)]
pub struct Adaptive {
    cap: Option<u8>,
    changed_at: Option<Instant>,
    wait: Duration,
    /// When the running probe started.
    probing: Option<Instant>,
}

impl Default for Adaptive {
    fn default() -> Adaptive {
        Adaptive { cap: None, changed_at: None, wait: FIRST_WAIT, probing: None }
    }
}

/// What the downlink says, for this stream's share of it (bit/s).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Share {
    /// The link congested lately: when it last showed, and what the link carried then.
    pub congested: Option<(Instant, f64)>,
    /// The subscriber's own estimate (REMB).
    pub estimate: Option<f64>,
    /// The feedback on a probe that ended: whether the link took it.
    pub probe_taken: Option<bool>,
    /// No other stream of the subscriber probes now.
    pub may_probe: bool,
}

/// What the stream does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Forward substreams up to this one from now on.
    Cap(u8),
    /// Send this many extra bits a second for [`PROBE`].
    Probe(f64),
}

impl Adaptive {
    /// Decides, from the downlink's word, each substream's bitrate and the substream asked
    /// for.
    pub fn update(&mut self, now: Instant, share: Share, rates: [Option<f64>; 3], asked: u8) -> Option<Step> {
        let top = self.cap.map_or(asked, |c| c.min(asked));
        let fits = |budget: f64, upto: u8| {
            (0..=upto).rev().find(|&l| rates[usize::from(l)].is_some_and(|r| r <= budget * FILL)).unwrap_or(0)
        };
        // Signs of congestion from before the last change settled tell of the old layer (its
        // queue drains, its losses are reported late).
        let settled = |at: Instant| self.changed_at.is_none_or(|c| at >= c + SETTLE);
        if let Some((at, carried)) = share.congested.filter(|(at, _)| settled(*at)) {
            match self.probing {
                Some(started) if at >= started => return self.refused(now),
                Some(_) => {}
                None => {
                    let to = fits(carried, top);
                    return (to < top).then(|| self.set(now, to));
                }
            }
        }
        if let Some(estimate) = share.estimate {
            let to = fits(estimate, asked);
            return (Some(to) != self.cap).then(|| self.set(now, to));
        }
        if let Some(started) = self.probing {
            let gave_up = now.saturating_duration_since(started) >= PROBE_OUTCOME;
            return match share.probe_taken.or(gave_up.then_some(false)) {
                Some(true) => {
                    self.probing = None;
                    self.wait = FIRST_WAIT;
                    Some(self.set(now, top + 1))
                }
                Some(false) => self.refused(now),
                None => None,
            };
        }
        let quiet = self.changed_at.is_none_or(|t| now.saturating_duration_since(t) >= self.wait);
        let (current, next) = (rates[usize::from(top)], rates.get(usize::from(top) + 1).copied().flatten());
        match (self.cap, current, next) {
            (Some(_), Some(current), Some(next)) if top < asked && quiet && share.may_probe => {
                self.probing = Some(now);
                Some(Step::Probe((next - current).max(0.0)))
            }
            _ => None,
        }
    }

    /// The probe congested the link, not the stream: it stays, and waits longer before the
    /// next.
    fn refused(&mut self, now: Instant) -> Option<Step> {
        self.probing = None;
        self.wait = (self.wait * 2).min(LONGEST_WAIT);
        self.changed_at = Some(now);
        None
    }

    fn set(&mut self, now: Instant, cap: u8) -> Step {
        self.cap = Some(cap);
        self.changed_at = Some(now);
        Step::Cap(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [Option<f64>; 3] = [Some(150_000.0), Some(500_000.0), Some(1_500_000.0)];

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// Congestion seen at `at`, the link carrying `bps`.
    fn congested(at: Instant, bps: f64) -> Share {
        Share { congested: Some((at, bps)), ..QUIET }
    }

    const QUIET: Share = Share { congested: None, estimate: None, probe_taken: None, may_probe: true };

    /// The feedback on the probe says the link took it (or not).
    fn probe(taken: bool) -> Share {
        Share { probe_taken: Some(taken), ..QUIET }
    }

    #[test]
    fn congestion_drops_to_what_the_link_carried() {
        let t0 = Instant::now();
        let mut a = Adaptive::default();
        assert_eq!(a.update(t0, QUIET, RATES, 2), None, "nothing known: no cap");
        assert_eq!(a.update(t0, congested(t0, 600_000.0), RATES, 2), Some(Step::Cap(1)));
        let late = congested(at(t0, 1500), 300_000.0);
        assert_eq!(a.update(at(t0, 1500), late, RATES, 2), None, "the old layer's queue still drains");
        let settled = congested(at(t0, 2500), 300_000.0);
        assert_eq!(a.update(at(t0, 2500), settled, RATES, 2), Some(Step::Cap(0)), "the new layer congests too");
        let more = congested(at(t0, 5000), 2_000_000.0);
        assert_eq!(a.update(at(t0, 5000), more, RATES, 2), None, "congestion never moves up");
    }

    #[test]
    fn probes_after_a_quiet_while_moves_up_when_the_link_takes_it_and_backs_off_when_not() {
        let t0 = Instant::now();
        let mut a = Adaptive::default();
        a.update(t0, congested(t0, 300_000.0), RATES, 2);
        assert_eq!(a.update(at(t0, 2000), QUIET, RATES, 2), None, "not quiet long enough");
        let busy = Share { may_probe: false, ..QUIET };
        assert_eq!(a.update(at(t0, 3000), busy, RATES, 2), None, "another stream probes");
        assert_eq!(a.update(at(t0, 3000), QUIET, RATES, 2), Some(Step::Probe(350_000.0)), "what substream 1 adds");
        assert_eq!(a.update(at(t0, 3500), QUIET, RATES, 2), None, "its outcome is not in yet");
        assert_eq!(a.update(at(t0, 4000), congested(at(t0, 3800), 300_000.0), RATES, 2), None, "it congested: stays");
        assert_eq!(a.update(at(t0, 9000), QUIET, RATES, 2), None, "the next probe waits 6 s");
        assert_eq!(a.update(at(t0, 10_000), QUIET, RATES, 2), Some(Step::Probe(350_000.0)));
        assert_eq!(a.update(at(t0, 11_000), probe(false), RATES, 2), None, "it queued: stays");
        assert_eq!(a.update(at(t0, 22_000), QUIET, RATES, 2), None, "the next probe waits 12 s (the longest)");
        assert_eq!(a.update(at(t0, 23_000), QUIET, RATES, 2), Some(Step::Probe(350_000.0)));
        assert_eq!(a.update(at(t0, 24_000), probe(true), RATES, 2), Some(Step::Cap(1)), "the link took it");
        assert_eq!(a.update(at(t0, 27_000), QUIET, RATES, 2), Some(Step::Probe(1_000_000.0)), "the wait is 3 s again");
        assert_eq!(a.update(at(t0, 30_000), QUIET, RATES, 2), None, "no word on the probe in 3 s: refused");
        assert_eq!(a.update(at(t0, 36_000), QUIET, RATES, 2), Some(Step::Probe(1_000_000.0)));
        assert_eq!(a.update(at(t0, 37_000), probe(true), RATES, 2), Some(Step::Cap(2)));
        assert_eq!(a.update(at(t0, 60_000), QUIET, RATES, 2), None, "at what was asked");
    }

    #[test]
    fn a_remb_estimate_moves_both_ways_at_once() {
        let t0 = Instant::now();
        let mut a = Adaptive::default();
        let estimate = |bps| Share { estimate: Some(bps), ..QUIET };
        assert_eq!(a.update(t0, estimate(700_000.0), RATES, 2), Some(Step::Cap(1)));
        assert_eq!(a.update(t0, estimate(2_000_000.0), RATES, 2), Some(Step::Cap(2)));
        assert_eq!(a.update(t0, estimate(100_000.0), RATES, 2), Some(Step::Cap(0)), "at least the lowest");
        assert_eq!(a.update(t0, estimate(2_000_000.0), RATES, 1), Some(Step::Cap(1)), "never above what was asked");
    }
}
