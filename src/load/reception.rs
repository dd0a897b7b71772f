//! What a load subscriber measures of each stream it receives (a publisher's audio or video,
//! told apart by the payload's [`Stamp`]): loss from the publisher's counters, end-to-end
//! latency and RFC 3550 interarrival jitter from the send times, and how long the first
//! keyframe took after the subscription started or switched.
//!
//! A stream that comes back after the subscriber changed its subscription (a `switch` back, an
//! `unsubscribe` and `subscribe`) starts a new segment: the packets sent while it was not
//! subscribed are not lost, and its wait for a keyframe is measured again. A stream that stops
//! with no change of the subscriber's doing counts every missing packet as lost.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use super::stamp::{Kind, Stamp};

/// How many counters behind the highest a late packet is still told apart from a duplicate.
const WINDOW: u32 = 1024;

/// A latency histogram in µs (1 µs to 100 s, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds")
}

/// One received stream.
#[derive(Clone, Debug)]
pub struct StreamReception {
    /// Packets expected in the segments before this one.
    expected_before: u64,
    first: u32,
    highest: u32,
    /// Which of the last [`WINDOW`] counters arrived (bit `highest - c`).
    seen: [u64; (WINDOW / 64) as usize],
    pub received: u64,
    pub duplicates: u64,
    /// End-to-end latency, µs.
    pub latency: Histogram<u64>,
    /// RFC 3550 interarrival jitter, µs.
    pub jitter_us: f64,
    last_transit: Option<i64>,
    /// Since when this segment of a video stream waits for its first keyframe (µs since
    /// the subscription changed), and each segment's wait.
    awaiting_since: Option<u64>,
    pub keyframe_waits: Vec<u64>,
    /// When the last packet arrived (µs).
    pub last_us: u64,
}

impl StreamReception {
    fn new(kind: Kind, first: u32, since_us: u64) -> Self {
        StreamReception {
            expected_before: 0,
            first,
            highest: first,
            seen: [0; (WINDOW / 64) as usize],
            received: 0,
            duplicates: 0,
            latency: histogram(),
            jitter_us: 0.0,
            last_transit: None,
            awaiting_since: (kind == Kind::Video).then_some(since_us),
            keyframe_waits: Vec::new(),
            last_us: 0,
        }
    }

    /// The stream comes back at `counter` after the subscription changed at `since_us`.
    fn rebase(&mut self, kind: Kind, counter: u32, since_us: u64) {
        self.expected_before = self.expected();
        self.first = counter;
        self.highest = counter;
        self.seen = [0; (WINDOW / 64) as usize];
        self.awaiting_since = (kind == Kind::Video).then_some(since_us);
    }

    /// Packets expected: between the first and the highest counter of each segment.
    pub fn expected(&self) -> u64 {
        self.expected_before + self.highest.wrapping_sub(self.first) as u64 + 1
    }

    /// Packets that never arrived (of those expected).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    fn bit(&mut self, behind: u32) -> (usize, u64) {
        ((behind / 64) as usize, 1u64 << (behind % 64))
    }

    fn record(&mut self, s: &Stamp, now_us: u64) {
        let ahead = s.counter.wrapping_sub(self.highest);
        if self.received > 0 && ahead != 0 && ahead < u32::MAX / 2 {
            // Newer than the highest: slide the window.
            shift_left(&mut self.seen, ahead.min(WINDOW));
            self.highest = s.counter;
        } else if self.received > 0 && ahead != 0 {
            let behind = self.highest.wrapping_sub(s.counter);
            if behind >= WINDOW {
                return; // too late to tell: not counted
            }
            if s.counter.wrapping_sub(self.first) > u32::MAX / 2 {
                self.first = s.counter; // earlier than the first seen
            }
        }
        let behind = self.highest.wrapping_sub(s.counter);
        let (word, mask) = self.bit(behind);
        if self.seen[word] & mask != 0 {
            self.duplicates += 1;
            return;
        }
        self.seen[word] |= mask;
        self.received += 1;
        let latency = now_us.saturating_sub(s.sent_us);
        let _ = self.latency.record(latency.max(1));
        let transit = now_us as i64 - s.sent_us as i64;
        if let Some(last) = self.last_transit {
            self.jitter_us += ((transit - last).abs() as f64 - self.jitter_us) / 16.0;
        }
        self.last_transit = Some(transit);
        self.last_us = now_us;
        if s.keyframe {
            if let Some(since) = self.awaiting_since.take() {
                self.keyframe_waits.push(now_us.saturating_sub(since));
            }
        }
    }
}

/// Shifts a little-endian bit set left by `n` bits (bits past the end fall off).
fn shift_left(words: &mut [u64], n: u32) {
    let (by_words, by_bits) = ((n / 64) as usize, n % 64);
    for i in (0..words.len()).rev() {
        let hi = i.checked_sub(by_words).map_or(0, |j| words[j]);
        let lo = i.checked_sub(by_words + 1).map_or(0, |j| words[j]);
        words[i] = if by_bits == 0 { hi } else { (hi << by_bits) | (lo >> (64 - by_bits)) };
    }
}

/// Every stream a peer receives, by (publisher tag, kind).
#[derive(Clone, Debug, Default)]
pub struct Reception {
    pub streams: HashMap<(u32, Kind), StreamReception>,
    /// When the subscription started or last switched (µs).
    since_us: u64,
    /// Payloads without a stamp.
    pub unstamped: u64,
}

/// Packet counts over every stream of a reception.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub expected: u64,
    pub received: u64,
    pub lost: u64,
    pub duplicates: u64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.expected += o.expected;
        self.received += o.received;
        self.lost += o.lost;
        self.duplicates += o.duplicates;
    }
}

impl Reception {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in self.streams.values() {
            t += Totals { expected: s.expected(), received: s.received, lost: s.lost(), duplicates: s.duplicates };
        }
        t
    }

    /// The subscription started or switched at `now_us`: streams that appear from now on
    /// measure their first keyframe from here.
    pub fn restart(&mut self, now_us: u64) {
        self.since_us = now_us;
    }

    pub fn record(&mut self, payload: &[u8], now_us: u64) -> Option<Stamp> {
        let Some(s) = Stamp::read(payload) else {
            self.unstamped += 1;
            return None;
        };
        let since = self.since_us;
        match self.streams.get_mut(&(s.tag, s.kind)) {
            Some(stream) => {
                if since > stream.last_us {
                    stream.rebase(s.kind, s.counter, since);
                }
                stream.record(&s, now_us);
            }
            None => {
                let mut stream = StreamReception::new(s.kind, s.counter, since);
                stream.record(&s, now_us);
                self.streams.insert((s.tag, s.kind), stream);
            }
        }
        Some(s)
    }

    /// Video streams still without a keyframe this segment, waiting at least `after_us`.
    pub fn awaiting_keyframe(&self, now_us: u64, after_us: u64) -> impl Iterator<Item = u32> + '_ {
        self.streams.iter().filter_map(move |((tag, _), r)| {
            r.awaiting_since.is_some_and(|since| now_us.saturating_sub(since) >= after_us).then_some(*tag)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(counter: u32, sent_us: u64, keyframe: bool) -> Stamp {
        Stamp { tag: 1, kind: Kind::Video, counter, sent_us, keyframe, layer: 0, svc: false }
    }

    #[test]
    fn reception_counts_loss_duplicates_reordering_and_keyframe_wait() {
        let mut r = Reception::default();
        r.restart(1_000);
        for (c, key) in [(10, false), (11, false), (13, true), (12, false), (13, false), (16, false)] {
            r.record(&stamp(c, 5_000 + c as u64 * 20_000, key).payload(60), 5_500 + c as u64 * 20_000);
        }
        let s = &r.streams[&(1, Kind::Video)];
        assert_eq!((s.expected(), s.received, s.lost(), s.duplicates), (7, 5, 2, 1));
        assert_eq!(s.keyframe_waits, [5_500 + 13 * 20_000 - 1_000]);
        assert_eq!(s.latency.value_at_quantile(0.5), 500);
        assert_eq!(s.jitter_us, 0.0, "constant transit: no jitter");
        r.record(&[0u8; 40], 0);
        assert_eq!(r.unstamped, 1);
    }

    /// Switched away at 20 and back at 50: the packets between were not the subscriber's to
    /// get, and the stream's new segment waits for a keyframe again. A gap with no change of
    /// subscription is loss.
    #[test]
    fn reception_starts_a_segment_when_a_stream_comes_back_after_a_change() {
        let mut r = Reception::default();
        let at = |c: u32| 1_000_000 + c as u64 * 20_000;
        r.restart(at(0));
        for c in 0..20 {
            r.record(&stamp(c, at(c), c == 0).payload(60), at(c) + 300);
        }
        r.restart(at(30));
        for c in 50..60 {
            r.record(&stamp(c, at(c), c == 52).payload(60), at(c) + 300);
        }
        for c in 70..80 {
            r.record(&stamp(c, at(c), false).payload(60), at(c) + 300);
        }
        let s = &r.streams[&(1, Kind::Video)];
        assert_eq!((s.expected(), s.received, s.lost()), (20 + 30, 40, 10));
        assert_eq!(s.keyframe_waits, [300, at(52) + 300 - at(30)]);
    }

    #[test]
    fn shift_left_carries_across_words() {
        let mut w = [1u64 << 63, 1, 0];
        shift_left(&mut w, 1);
        assert_eq!(w, [0, 3, 0]);
        shift_left(&mut w, 64 + 2);
        assert_eq!(w, [0, 0, 12]);
        shift_left(&mut w, 200);
        assert_eq!(w, [0, 0, 0]);
    }

    #[test]
    fn reception_ignores_what_is_too_late_to_tell() {
        let mut r = Reception::default();
        r.record(&stamp(5000, 0, false).payload(60), 10);
        r.record(&stamp(5000 + WINDOW + 10, 0, false).payload(60), 10);
        r.record(&stamp(5001, 0, false).payload(60), 10);
        let s = &r.streams[&(1, Kind::Video)];
        assert_eq!((s.received, s.duplicates), (2, 0));
    }
}
