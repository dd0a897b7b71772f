//! SVC at one subscriber stream: which spatial and temporal layers of a publisher's VP9 or AV1
//! SVC stream (one SSRC carries them all) the stream forwards. The rules are Janus's
//! (`janus_rtp_svc_context_process_rtp`, after medooze's `VP9LayerSelector`):
//!
//! - a higher spatial layer is taken at a keyframe, the highest asked for that arrived within
//!   `fallback`; a lower one at the end of a frame (VP9 flexible mode, AV1) or at a keyframe;
//! - packets of a higher spatial layer than the current are dropped, and the current layer's
//!   frame end carries the marker bit (the layer above, which had it, is not sent);
//! - a higher temporal layer is taken at a switching-up point that begins a frame (any AV1
//!   frame start: its descriptor names no switching points), a lower one at the end of one of
//!   its frames; packets of higher temporal layers are dropped.
//!
//! vroom also starts every layer at a keyframe (nothing before it can be decoded) and, while a
//! change up waits for one, asks the publisher again each second (`simulcast::AskAgain`).
//! Sans-IO, like `simulcast.rs`.

use std::time::Instant;

use super::simulcast::{AskAgain, Choice, Told};
use super::{av1, vp9};

/// What the selector reads of one packet: from its VP9 payload descriptor, or its AV1
/// Dependency Descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerPacket {
    pub spatial: u8,
    pub temporal: u8,
    /// It begins or ends its layer's frame.
    pub begin: bool,
    pub end: bool,
    /// A higher temporal layer may start here.
    pub switch_up: bool,
    /// It begins a keyframe.
    pub keyframe: bool,
    /// A lower spatial layer may be taken at the end of any frame (VP9's flexible mode, AV1),
    /// else only at a keyframe.
    pub down_at_frame_end: bool,
}

impl LayerPacket {
    /// A VP9 packet's layers; `None` if its descriptor names none (not SVC).
    pub fn vp9(d: &vp9::Descriptor) -> Option<LayerPacket> {
        Some(LayerPacket {
            spatial: d.spatial?,
            temporal: d.temporal?,
            begin: d.begin,
            end: d.end,
            switch_up: d.switch_up,
            keyframe: d.keyframe,
            down_at_frame_end: d.flexible,
        })
    }

    /// An AV1 packet's layers, from its Dependency Descriptor; `keyframe` from its payload.
    pub fn av1(f: &av1::Frame, keyframe: bool) -> LayerPacket {
        LayerPacket {
            spatial: f.spatial,
            temporal: f.temporal,
            begin: f.start,
            end: f.end,
            switch_up: true,
            keyframe,
            down_at_frame_end: true,
        }
    }
}

/// What to do with one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SvcVerdict {
    /// Send it.
    pub forward: bool,
    /// Set its marker bit: it ends the highest spatial layer sent of its picture.
    pub marker: bool,
    /// It is dropped: its sequence number must be closed up.
    pub dropped: bool,
    /// Ask the publisher for a keyframe.
    pub keyframe: bool,
}

/// The layers one subscriber stream forwards.
#[derive(Clone, Debug)]
pub struct SvcSelector {
    choice: Choice,
    /// The layers forwarded now (`None` before the first keyframe).
    spatial: Option<u8>,
    temporal: Option<u8>,
    /// When each spatial layer last arrived.
    seen: [Option<Instant>; 3],
    /// Keyframe requests while a change up waits for a keyframe.
    asking: AskAgain,
    /// What the subscriber was last told: spatial, temporal layer.
    told: Told,
}

impl SvcSelector {
    pub fn new(choice: Choice) -> SvcSelector {
        let (asking, told) = (AskAgain::default(), Told::default());
        SvcSelector { choice, spatial: None, temporal: None, seen: [None; 3], asking, told }
    }

    /// A new choice (`substream` is the spatial layer). Returns whether the publisher should
    /// send a keyframe (a higher spatial layer waits for one), and what to tell the subscriber
    /// at once: a layer asked for that is already in effect.
    pub fn choose(&mut self, choice: Choice) -> (bool, (Option<u8>, Option<u8>)) {
        let before = self.choice;
        self.choice = choice;
        let keyframe = self.spatial.is_some_and(|s| s < choice.substream);
        let spatial = (before.substream != choice.substream && self.spatial == Some(choice.substream))
            .then_some(choice.substream);
        let temporal =
            (before.temporal != choice.temporal && self.temporal == Some(choice.temporal)).then_some(choice.temporal);
        (keyframe, (spatial, temporal))
    }

    /// Decides on a packet of layers `d`.
    pub fn admit(&mut self, now: Instant, d: &LayerPacket) -> SvcVerdict {
        let (sid, tid) = (d.spatial, d.temporal);
        let mut v = SvcVerdict::default();
        if let Some(seen) = self.seen.get_mut(usize::from(sid)) {
            *seen = Some(now);
        }
        let target = self.choice.substream;
        match self.spatial {
            current if current.is_none_or(|c| c < target) && d.keyframe => {
                // The highest layer asked for that still arrives.
                let arrives = |l: u8| {
                    self.seen[usize::from(l)].is_some_and(|t| now.saturating_duration_since(t) < self.choice.fallback)
                };
                let to = (1..=target).rev().find(|&l| arrives(l)).unwrap_or(0);
                if current.is_none_or(|c| to > c) {
                    self.spatial = Some(to);
                    self.temporal = Some(self.choice.temporal);
                }
            }
            Some(current) if current > target && !d.down_at_frame_end && d.keyframe => {
                self.spatial = Some(target);
            }
            _ => {}
        }
        // A change down at a frame's end takes effect after this packet, which ends the frame:
        // dropping it would leave the frame cut short, and the decoder waiting for a keyframe.
        let sending = self.spatial;
        let ends_here = d.down_at_frame_end && d.end && self.spatial.is_some_and(|c| c > target);
        if ends_here {
            self.spatial = Some(target);
        }
        // A change up waits for a keyframe, and so does a stream that has none yet (the one its
        // start asked for may have come before it was wired): asked for again each second.
        if self.spatial.is_none_or(|s| s < self.choice.substream) {
            v.keyframe = self.asking.due(now);
        } else {
            self.asking.done();
        }
        let Some(spatial) = sending.filter(|&s| sid <= s) else {
            v.dropped = sending.is_some();
            return v;
        };
        let temporal = self.temporal.unwrap_or(self.choice.temporal);
        let target = self.choice.temporal;
        if target > temporal && d.switch_up && d.begin && tid > temporal && tid <= target {
            self.temporal = Some(tid);
        } else if target < temporal && d.end && tid == target {
            self.temporal = Some(target);
        }
        if tid > self.temporal.unwrap_or(target) {
            v.dropped = true;
            return v;
        }
        v.forward = true;
        v.marker = d.end && (sid == spatial || ends_here);
        v
    }

    /// What changed since the subscriber was last told (spatial, temporal layer), once.
    pub fn news(&mut self) -> (Option<u8>, Option<u8>) {
        self.told.news((self.spatial, self.temporal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// A packet of layer `sid`/`tid` that is a whole layer frame (begins and ends it).
    fn packet(sid: u8, tid: u8, key: bool) -> LayerPacket {
        LayerPacket {
            spatial: sid,
            temporal: tid,
            begin: true,
            end: true,
            down_at_frame_end: true,
            switch_up: true,
            keyframe: key && sid == 0,
        }
    }

    /// One picture: layer frames of spatial layers 0, 1, 2 at temporal layer `tid`; which were
    /// forwarded, and which carry the marker bit.
    fn picture(s: &mut SvcSelector, at: Instant, tid: u8, key: bool) -> (Vec<u8>, Vec<u8>) {
        let (mut sent, mut marked) = (Vec::new(), Vec::new());
        for sid in 0..3 {
            let v = s.admit(at, &packet(sid, tid, key));
            if v.forward {
                sent.push(sid);
            }
            if v.marker {
                marked.push(sid);
            }
        }
        (sent, marked)
    }

    #[test]
    fn nothing_before_a_keyframe_then_every_layer_asked_for() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice::default());
        assert_eq!(picture(&mut s, t0, 0, false).0, Vec::<u8>::new(), "nothing before a keyframe");
        assert_eq!(picture(&mut s, ms(t0, 33), 0, true), (vec![0, 1, 2], vec![2]));
        assert_eq!(s.news(), (Some(2), Some(2)));
    }

    #[test]
    fn a_lower_spatial_layer_drops_the_higher_ones_and_moves_the_marker() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice::default());
        picture(&mut s, t0, 0, false);
        picture(&mut s, ms(t0, 33), 0, true);
        s.news();
        let (keyframe, _) = s.choose(Choice { substream: 0, ..Choice::default() });
        assert!(!keyframe, "going down needs no keyframe");
        assert_eq!(picture(&mut s, ms(t0, 66), 1, false), (vec![0], vec![0]), "at the end of the next layer frame");
        assert_eq!(s.news(), (Some(0), None));
        let (keyframe, _) = s.choose(Choice { substream: 1, ..Choice::default() });
        assert!(keyframe, "going up waits for a keyframe");
        assert_eq!(picture(&mut s, ms(t0, 99), 2, false).0, vec![0]);
        assert_eq!(picture(&mut s, ms(t0, 132), 0, true), (vec![0, 1], vec![1]));
    }

    #[test]
    fn a_change_down_asked_for_mid_frame_lets_that_frame_end_with_the_marker() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice::default());
        picture(&mut s, t0, 0, false);
        assert_eq!(picture(&mut s, ms(t0, 10), 0, true).0, vec![0, 1, 2]);
        assert!(s.admit(ms(t0, 33), &packet(0, 0, false)).forward);
        s.choose(Choice { substream: 0, ..Choice::default() });
        // Layer 1's frame in two packets: it began before the change, so it ends whole.
        let begins = LayerPacket { end: false, ..packet(1, 0, false) };
        let ends = LayerPacket { begin: false, ..packet(1, 0, false) };
        assert!(s.admit(ms(t0, 34), &begins).forward);
        let end = s.admit(ms(t0, 35), &ends);
        assert!(end.forward && end.marker, "the frame's last packet goes, and ends the picture: {end:?}");
        assert!(s.admit(ms(t0, 36), &packet(2, 0, false)).dropped);
        assert_eq!(picture(&mut s, ms(t0, 66), 0, false), (vec![0], vec![0]));
    }

    #[test]
    fn temporal_layers_above_the_choice_are_dropped_and_taken_back_at_a_switching_point() {
        let t0 = Instant::now();
        let base = Choice { substream: 0, temporal: 0, ..Choice::default() };
        let mut s = SvcSelector::new(base);
        picture(&mut s, t0, 0, true);
        assert_eq!(s.news(), (Some(0), Some(0)));
        assert_eq!(s.admit(ms(t0, 33), &packet(0, 1, false)), SvcVerdict { dropped: true, ..SvcVerdict::default() });
        s.choose(Choice { temporal: 2, ..base });
        let mut not_yet = packet(0, 2, false);
        not_yet.switch_up = false;
        assert!(s.admit(ms(t0, 66), &not_yet).dropped, "not a switching-up point");
        assert!(s.admit(ms(t0, 99), &packet(0, 2, false)).forward, "a switching-up point");
        assert_eq!(s.news(), (None, Some(2)));
    }

    #[test]
    fn a_spatial_layer_that_stopped_arriving_is_not_taken() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice::default());
        // Only layers 0 and 1 arrive.
        s.admit(t0, &packet(0, 0, true));
        s.admit(t0, &packet(1, 0, true));
        assert!(s.admit(ms(t0, 33), &packet(0, 0, true)).forward);
        assert_eq!(s.news().0, Some(1), "layer 2 never arrived");
    }

    #[test]
    fn a_stream_without_a_keyframe_asks_for_one_each_second() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice::default());
        let asked: Vec<u64> = (0..=70)
            .map(|i| i * 33)
            .filter(|&t| (0..3).any(|sid| s.admit(ms(t0, t), &packet(sid, 0, false)).keyframe))
            .collect();
        assert_eq!(asked, vec![1023, 2046], "once a second while none came");
    }

    #[test]
    fn a_change_up_asks_for_a_keyframe_again_each_second() {
        let t0 = Instant::now();
        let mut s = SvcSelector::new(Choice { substream: 0, ..Choice::default() });
        picture(&mut s, t0, 0, true);
        s.choose(Choice::default());
        let asked: Vec<u64> = (1..=80)
            .map(|i| i * 33)
            .filter(|&t| (0..3).any(|sid| s.admit(ms(t0, t), &packet(sid, 0, false)).keyframe))
            .collect();
        assert_eq!(asked.len(), 2, "once a second after the first request: {asked:?}");
    }
}
