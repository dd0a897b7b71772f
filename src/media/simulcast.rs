//! Simulcast at one subscriber stream: which of a publisher's encodings ("substreams", 0 the
//! lowest) and which of its temporal layers the stream forwards. The rules are Janus's
//! (`janus_rtp_simulcasting_context_process_rtp`), so that a janus.js page sees what it expects:
//!
//! - nothing goes out before a keyframe; the first keyframe of a substream up to the target
//!   starts the stream (of any substream if none up to the target arrives: Janus takes the
//!   first keyframe of any);
//! - a change of substream happens at a keyframe of a substream between the current and the
//!   target one (Janus takes any substream past the current one in the target's direction, and
//!   may overshoot the target; vroom stops at the target);
//! - when the current substream stops arriving for `fallback` (250 ms by default) while a lower
//!   one still arrives, the stream falls back one substream at a time, and goes back up as soon
//!   as a higher substream arrives again;
//! - with nothing forwarded for a second, the publisher is asked for a keyframe again; so is it
//!   every second while a change waits for the target's keyframe (a request can be lost).
//!
//! Temporal layers are `vp8::TemporalFilter`'s. The selector is sans-IO: the caller passes the
//! time and what it read of each packet.

use std::time::{Duration, Instant};

use super::vp8::{Descriptor, TemporalFilter};
use crate::core::event::LayerChoice;

/// Janus's default `fallback`: how long the current substream may be silent before the stream
/// drops to a lower one.
pub const DEFAULT_FALLBACK: Duration = Duration::from_micros(250_000);

/// With nothing forwarded for this long, the stream asks for a keyframe again (Janus's rule).
const STARVED: Duration = Duration::from_secs(1);

/// How often a change waiting for the target's keyframe asks for one again.
const ASK_AGAIN: Duration = Duration::from_secs(1);

/// How long each substream's bitrate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// What a subscriber asked for: the substream and temporal layer (0-2) it wants at most, and
/// how long a silent substream is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub substream: u8,
    pub temporal: u8,
    pub fallback: Duration,
    /// Below `substream`, the substream is chosen by the subscriber's bandwidth.
    pub adaptive: bool,
}

impl Default for Choice {
    /// The highest substream and every temporal layer, as Janus starts a subscriber.
    fn default() -> Choice {
        Choice { substream: 2, temporal: 2, fallback: DEFAULT_FALLBACK, adaptive: false }
    }
}

impl From<LayerChoice> for Choice {
    fn from(c: LayerChoice) -> Choice {
        let d = Choice::default();
        Choice {
            substream: c.substream.unwrap_or(d.substream),
            temporal: c.temporal.unwrap_or(d.temporal),
            fallback: c.fallback_us.map_or(d.fallback, Duration::from_micros),
            adaptive: c.adaptive.unwrap_or(d.adaptive),
        }
    }
}

/// What to do with one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Send it.
    pub forward: bool,
    /// It is the first packet of another substream (a keyframe): the stream's numbering must
    /// continue from the last packet sent.
    pub switched: bool,
    /// It is of the current substream but of a temporal layer above the filter's: its sequence
    /// number must be closed up (`Rewriter::skip`).
    pub dropped_layer: bool,
    /// Ask the publisher for a keyframe.
    pub keyframe: bool,
}

/// The layers one subscriber stream forwards.
#[derive(Clone, Debug)]
pub struct Selector {
    choice: Choice,
    /// A lower target taken while the chosen substream does not arrive (Janus's
    /// `substream_target_temp`).
    fallen_to: Option<u8>,
    /// The highest substream the subscriber's bandwidth allows (`adapt.rs`).
    cap: Option<u8>,
    /// Each substream's bitrate as it arrives.
    rates: [LayerRate; 3],
    /// The substream being forwarded (`None` before the first keyframe).
    current: Option<u8>,
    temporal: TemporalFilter,
    /// Whether the source carries temporal layers at all (a TID seen).
    layered: bool,
    last_forwarded: Option<Instant>,
    /// When a packet of a substream up to the target last arrived.
    within_target: Option<Instant>,
    /// Keyframe requests while a change waits for the target's keyframe.
    asking: AskAgain,
    /// What the subscriber was last told: substream, temporal layer.
    told: Told,
}

impl Selector {
    pub fn new(choice: Choice) -> Selector {
        Selector {
            choice,
            fallen_to: None,
            cap: None,
            rates: [LayerRate::default(); 3],
            current: None,
            temporal: TemporalFilter::new(choice.temporal),
            layered: false,
            last_forwarded: None,
            within_target: None,
            asking: AskAgain::default(),
            told: Told::default(),
        }
    }

    pub fn choice(&self) -> Choice {
        self.choice
    }

    /// The substream forwarded now, if any.
    pub fn current(&self) -> Option<u8> {
        self.current
    }

    /// The one substream whose packets the stream needs, if it is settled on it: forwarding
    /// its target, not fallen back, not capped by bandwidth (`gate.rs`).
    pub fn settled_on(&self) -> Option<u8> {
        self.current.filter(|c| *c == self.target() && self.fallen_to.is_none() && self.cap.is_none())
    }

    /// The substream the stream moves to.
    fn target(&self) -> u8 {
        self.fallen_to.unwrap_or(self.choice.substream).min(self.cap.unwrap_or(u8::MAX))
    }

    /// The highest substream the subscriber's bandwidth allows from now on (`None`: any).
    /// Returns whether the publisher should send a keyframe (the substream must change).
    pub fn set_cap(&mut self, cap: Option<u8>) -> bool {
        let before = self.target();
        self.cap = cap;
        self.target() != before && self.current.is_some_and(|c| c != self.target())
    }

    /// Each substream's bitrate (bit/s) over the last second, where it arrives.
    pub fn rates(&self, now: Instant) -> [Option<f64>; 3] {
        self.rates.map(|r| r.rate(now))
    }

    /// A new choice. Returns whether the publisher should send a keyframe (the substream must
    /// change), and what to tell the subscriber at once: Janus confirms a choice that is
    /// already in effect right away (substream, temporal layer).
    pub fn choose(&mut self, choice: Choice) -> (bool, (Option<u8>, Option<u8>)) {
        let before = self.choice;
        self.choice = choice;
        self.fallen_to = None;
        self.temporal.target = choice.temporal;
        let keyframe = self.current.is_some_and(|c| c != choice.substream);
        let substream = (before.substream != choice.substream && self.current == Some(choice.substream))
            .then_some(choice.substream);
        let temporal =
            (before.temporal != choice.temporal && self.layered && self.temporal.current() == choice.temporal)
                .then_some(choice.temporal);
        (keyframe, (substream, temporal))
    }

    /// Decides on a packet of substream `layer`, `size` bytes; `keyframe` if it starts one,
    /// `vp8` its descriptor if the codec is VP8.
    pub fn admit(&mut self, now: Instant, layer: u8, size: usize, keyframe: bool, vp8: Option<&Descriptor>) -> Verdict {
        let mut v = Verdict::default();
        if let Some(rate) = self.rates.get_mut(usize::from(layer)) {
            rate.add(now, size);
        }
        if self.fallen_to.is_some_and(|f| layer > f || self.choice.substream <= f) {
            // The chosen substream arrives again (or a lower one was chosen since): back up,
            // at its next keyframe.
            self.fallen_to = None;
            v.keyframe = true;
        }
        let target = self.target();
        let last = *self.last_forwarded.get_or_insert(now);
        let silent = now.saturating_duration_since(last);
        if layer <= target {
            self.within_target = Some(now);
        }
        let none_within_target = self.within_target.is_none_or(|t| now.saturating_duration_since(t) >= STARVED);
        let moves = match self.current {
            // The first keyframe up to the target; of any substream, if none up to the
            // target arrives.
            None => keyframe && (layer <= target || (none_within_target && silent >= STARVED)),
            Some(c) if c < target => keyframe && layer > c && layer <= target,
            Some(c) if c > target => keyframe && layer < c && layer >= target,
            Some(_) => false,
        };
        if moves {
            self.current = Some(layer);
            self.last_forwarded = Some(now);
            v.switched = true;
        }
        if self.current.is_some_and(|c| c != target) && layer == target {
            v.keyframe |= self.asking.due(now);
        } else if self.current == Some(target) {
            self.asking.done();
        }
        if let Some(c) = self.current {
            if c > 0 && layer != c && silent > self.choice.fallback && self.choice.substream > layer {
                self.last_forwarded = Some(now);
                let lower = self.target().saturating_sub(1);
                if self.fallen_to != Some(lower) && self.fallen_to != Some(0) {
                    tracing::debug!(from = c, to = lower, silent_ms = silent.as_millis() as u64, "simulcast fallback");
                    self.fallen_to = Some(lower);
                    v.keyframe = true;
                }
            }
        }
        if self.current != Some(layer) {
            v.keyframe |= silent >= STARVED;
            return v;
        }
        self.last_forwarded = Some(now);
        if let Some(d) = vp8.filter(|d| d.temporal.is_some()) {
            self.layered = true;
            if !self.temporal.admit(d) {
                v.dropped_layer = true;
                return v;
            }
        }
        v.forward = true;
        v
    }

    /// What changed since the subscriber was last told (substream, temporal layer), once.
    pub fn news(&mut self) -> (Option<u8>, Option<u8>) {
        self.told.news((self.current, self.layered.then(|| self.temporal.current())))
    }
}

/// Keyframe requests while a layer change waits for its keyframe: the first went out when the
/// change was decided (`choose`, `set_cap`), then one each [`ASK_AGAIN`] (a request can be
/// lost).
#[derive(Clone, Debug, Default)]
pub(super) struct AskAgain(Option<Instant>);

impl AskAgain {
    /// Whether to ask again now, the change still waiting.
    pub fn due(&mut self, now: Instant) -> bool {
        let asked = *self.0.get_or_insert(now);
        let due = now.saturating_duration_since(asked) >= ASK_AGAIN;
        if due {
            self.0 = Some(now);
        }
        due
    }

    /// The change happened: the next starts over.
    pub fn done(&mut self) {
        self.0 = None;
    }
}

/// What a subscriber was last told of the two layers it gets: each, once, when it changes.
#[derive(Clone, Debug, Default)]
pub(super) struct Told((Option<u8>, Option<u8>));

impl Told {
    /// The layers in effect now: those the subscriber has not been told yet.
    pub fn news(&mut self, now: (Option<u8>, Option<u8>)) -> (Option<u8>, Option<u8>) {
        let told = std::mem::replace(&mut self.0, now);
        (now.0.filter(|_| now.0 != told.0), now.1.filter(|_| now.1 != told.1))
    }
}

/// One substream's bitrate, counted over consecutive windows of [`RATE_WINDOW`].
#[derive(Clone, Copy, Debug, Default)]
struct LayerRate {
    window_start: Option<Instant>,
    bytes: u64,
    /// The last full window's rate, and when it ended.
    last: Option<(f64, Instant)>,
}

impl LayerRate {
    fn add(&mut self, now: Instant, size: usize) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            self.last = Some((self.bytes as f64 * 8.0 / elapsed.as_secs_f64(), now));
            self.bytes = 0;
            self.window_start = Some(now);
        }
        self.bytes += size as u64;
    }

    /// The last full window's rate, unless the substream stopped since.
    fn rate(&self, now: Instant) -> Option<f64> {
        self.last.filter(|(_, at)| now.saturating_duration_since(*at) < 3 * RATE_WINDOW).map(|(rate, _)| rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn nothing_is_forwarded_before_a_keyframe() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice::default());
        assert!(!s.admit(t0, 2, 100, false, None).forward);
        let v = s.admit(t0, 1, 100, true, None);
        assert!(v.forward && v.switched);
        assert_eq!(s.current(), Some(1));
        assert_eq!(s.news(), (Some(1), None));
        assert_eq!(s.news(), (None, None), "told once");
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_of_the_target() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 0, ..Choice::default() });
        s.admit(t0, 0, 100, true, None);
        let (keyframe, now) = s.choose(Choice { substream: 2, ..Choice::default() });
        assert!(keyframe);
        assert_eq!(now, (None, None));
        assert!(s.admit(ms(t0, 10), 0, 100, false, None).forward, "the old substream until the switch");
        assert!(!s.admit(ms(t0, 10), 2, 100, false, None).forward);
        let v = s.admit(ms(t0, 20), 2, 100, true, None);
        assert!(v.forward && v.switched);
        assert!(!s.admit(ms(t0, 21), 0, 100, false, None).forward);
        assert_eq!(s.news().0, Some(2));
    }

    #[test]
    fn a_switch_stops_at_the_target() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 0, ..Choice::default() });
        s.admit(t0, 0, 100, true, None);
        s.choose(Choice { substream: 1, ..Choice::default() });
        assert!(!s.admit(t0, 2, 100, true, None).forward, "Janus would overshoot to 2");
        assert!(s.admit(t0, 1, 100, true, None).switched);
    }

    #[test]
    fn a_choice_already_in_effect_is_confirmed_at_once() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 1, ..Choice::default() });
        s.admit(t0, 1, 100, true, None);
        s.news();
        s.choose(Choice { substream: 0, ..Choice::default() });
        let (keyframe, now) = s.choose(Choice { substream: 1, ..Choice::default() });
        assert!(!keyframe);
        assert_eq!(now, (Some(1), None));
    }

    #[test]
    fn a_silent_substream_falls_back_and_comes_back() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice::default());
        assert!(s.admit(t0, 2, 100, true, None).forward);
        assert!(!s.admit(ms(t0, 100), 1, 100, false, None).keyframe);
        // Substream 2 stops; 1 and 0 go on.
        let v = s.admit(ms(t0, 300), 1, 100, false, None);
        assert!(v.keyframe && !v.forward, "fell back, asks for a keyframe");
        assert!(s.admit(ms(t0, 310), 1, 100, true, None).switched);
        assert_eq!(s.current(), Some(1));
        // 2 comes back with a keyframe: up again.
        let v = s.admit(ms(t0, 400), 2, 100, true, None);
        assert!(v.switched && v.forward);
        assert_eq!(s.current(), Some(2));
    }

    #[test]
    fn the_first_keyframe_above_the_target_waits_while_the_target_arrives() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 0, ..Choice::default() });
        assert!(!s.admit(t0, 0, 100, false, None).forward);
        assert!(!s.admit(ms(t0, 1400), 0, 100, false, None).forward);
        assert!(!s.admit(ms(t0, 1500), 2, 100, true, None).forward, "substream 0 still arrives");
        assert!(!s.admit(ms(t0, 1500), 0, 100, false, None).forward);
        assert!(s.admit(ms(t0, 1510), 0, 100, true, None).switched);
        // With only higher substreams arriving, the first keyframe of any starts the stream.
        let mut s = Selector::new(Choice { substream: 0, ..Choice::default() });
        assert!(!s.admit(t0, 1, 100, false, None).forward);
        assert!(!s.admit(ms(t0, 500), 1, 100, true, None).forward, "not yet");
        assert!(s.admit(ms(t0, 1000), 1, 100, true, None).switched);
    }

    #[test]
    fn a_long_silence_asks_for_keyframes() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 0, ..Choice::default() });
        assert!(!s.admit(t0, 0, 100, false, None).keyframe);
        assert!(s.admit(ms(t0, 1000), 0, 100, false, None).keyframe);
    }

    #[test]
    fn a_change_waiting_for_its_keyframe_asks_again_each_second() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice::default());
        assert!(s.admit(t0, 2, 100, true, None).forward);
        assert!(s.set_cap(Some(1)), "the change asks for a keyframe");
        // Both substreams arrive every 20 ms; substream 1's keyframe comes after 1,060 ms.
        let mut asked = Vec::new();
        for t in (20..=3000).step_by(20) {
            assert!(!s.admit(ms(t0, t), 2, 100, false, None).keyframe, "the current substream arrives");
            let v = s.admit(ms(t0, t), 1, 100, t == 1060, None);
            if v.keyframe {
                asked.push(t);
            }
        }
        assert_eq!(asked, [1020], "asked again once a second until the keyframe came");
        assert_eq!(s.current(), Some(1));
    }

    #[test]
    fn temporal_layers_above_the_choice_are_dropped() {
        let t0 = Instant::now();
        let mut s = Selector::new(Choice { substream: 0, temporal: 0, ..Choice::default() });
        let d = |tid: u8, keyframe: bool| {
            let mut d = Descriptor::default();
            (d.temporal, d.keyframe) = (Some(tid), keyframe);
            d
        };
        assert!(s.admit(t0, 0, 100, true, Some(&d(0, true))).forward);
        let v = s.admit(t0, 0, 100, false, Some(&d(1, false)));
        assert!(!v.forward && v.dropped_layer);
        assert_eq!(s.news(), (Some(0), Some(0)));
    }

    proptest! {
        /// Whatever packets arrive and whatever is chosen, the stream forwards one substream
        /// at a time, changes substream only at a keyframe, never moves away from what was
        /// chosen.
        #[test]
        fn prop_switches_only_at_keyframes_towards_the_choice(
            packets in proptest::collection::vec((0u8..3, any::<bool>(), 0u64..400, proptest::option::of(0u8..3)), 1..200)
        ) {
            let t0 = Instant::now();
            let mut t = t0;
            let mut s = Selector::new(Choice::default());
            let mut current = None;
            for (layer, keyframe, gap, choose) in packets {
                t += Duration::from_millis(gap);
                if let Some(c) = choose {
                    s.choose(Choice { substream: c, ..Choice::default() });
                }
                let v = s.admit(t, layer, 100, keyframe, None);
                if v.switched {
                    prop_assert!(keyframe);
                    if let Some(c) = current {
                        // Down, or up to no more than the choice.
                        prop_assert!(layer != c && (layer < c || layer <= s.choice.substream));
                    }
                }
                if v.forward {
                    prop_assert_eq!(Some(layer), s.current());
                }
                prop_assert!(!v.forward || v.switched || current == Some(layer));
                current = s.current();
            }
        }
    }
}
