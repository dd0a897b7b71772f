//! What a load publisher writes into each RTP payload, so a subscriber can tell which stream
//! a packet belongs to, which of its packets are missing, and how long it took to arrive.
//!
//! The payload looks like media to an SFU: video starts with a VP8 payload descriptor (picture
//! ID, TL0PICIDX and temporal layer, in a pattern of three layers: 0 2 1 2) and payload header
//! (a keyframe has the start code and a size, as a real one does), or for VP9 SVC with a VP9
//! payload descriptor in flexible mode (picture ID, spatial and temporal layer), audio with an
//! Opus TOC byte.
//! The stamp follows at [`STAMP_AT`]: publisher tag, packet counter, send time (µs on the load
//! generator's clock; publishers and subscribers share the process) and simulcast substream.
//! Every substream of a simulcast publisher stamps its frame with the same counter, so that a
//! subscriber moving between them sees one stream.

use std::sync::OnceLock;
use std::time::Instant;

/// Where the stamp starts in every payload (after the VP8 descriptor and keyframe header).
pub const STAMP_AT: usize = 16;
/// The stamp's length.
pub const STAMP_LEN: usize = 17;
/// The smallest payload that carries a stamp.
pub const MIN_PAYLOAD: usize = STAMP_AT + STAMP_LEN;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The publisher's tag (unique in a run).
    pub tag: u32,
    pub kind: Kind,
    /// The publisher's packet counter for this stream, from 0.
    pub counter: u32,
    /// When it was sent: µs since [`epoch`].
    pub sent_us: u64,
    pub keyframe: bool,
    /// The simulcast substream it was sent on (0 without simulcast), or with `svc` its VP9
    /// spatial layer.
    pub layer: u8,
    pub svc: bool,
}

/// The temporal layer of each frame, by its counter: a keyframe's group of four.
const TEMPORAL_PATTERN: [u8; 4] = [0, 2, 1, 2];

/// Where a substream's VP8 picture IDs and TL0PICIDX start: each substream is its own
/// encoder, as in a browser.
fn picture_base(layer: u8) -> (u16, u8) {
    (u16::from(layer) * 10_000, layer.wrapping_mul(80))
}

/// The load generator's clock origin.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// µs since [`epoch`].
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

impl Stamp {
    /// A payload of `len` bytes (at least [`MIN_PAYLOAD`]) that carries this stamp.
    pub fn payload(&self, len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len.max(MIN_PAYLOAD)];
        match self.kind {
            Kind::Video if self.svc => {
                // VP9: I, P unless a keyframe's, L, F, and B and E (a layer frame is one
                // packet); a 15-bit picture ID; TID, U (as VP8's layer sync), SID, D (the upper
                // spatial layers use the lower); a reference to the previous picture (P_DIFF 1).
                let (tid, sync) = match self.counter % 4 {
                    _ if self.keyframe => (0, false),
                    n => (TEMPORAL_PATTERN[n as usize], n == 1 || n == 2),
                };
                let pid = self.counter as u16 & 0x7fff;
                let predicted = u8::from(!self.keyframe);
                p[0..5].copy_from_slice(&[
                    0x80 | predicted << 6 | 0x3c,
                    0x80 | (pid >> 8) as u8,
                    pid as u8,
                    tid << 5 | u8::from(sync) << 4 | (self.layer & 7) << 1 | u8::from(self.layer > 0),
                    0x02,
                ]);
            }
            Kind::Video => {
                // VP8 descriptor: X, start of partition 0; I, L, T; a 15-bit picture ID,
                // TL0PICIDX, TID and layer sync (the first frame of layers 1 and 2 after each
                // base frame: what a receiver may switch up at).
                let (tid, sync) = match self.counter % 4 {
                    _ if self.keyframe => (0, false),
                    n => (TEMPORAL_PATTERN[n as usize], n == 1 || n == 2),
                };
                let (pid0, tl00) = picture_base(self.layer);
                let pid = pid0.wrapping_add(self.counter as u16) & 0x7fff;
                let tl0 = tl00.wrapping_add((self.counter / 4) as u8);
                p[0..6].copy_from_slice(&[
                    0x90,
                    0xe0,
                    0x80 | (pid >> 8) as u8,
                    pid as u8,
                    tl0,
                    tid << 6 | u8::from(sync) << 5,
                ]);
                if self.keyframe {
                    // VP8 payload header with P = 0 (key frame), start code, 640x480.
                    p[6..16].copy_from_slice(&[0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
                } else {
                    p[6] = 0x51; // P = 1: an interframe
                }
            }
            Kind::Audio => p[0] = 0x78, // Opus TOC: SILK wideband, 20 ms, one frame
        }
        let s = &mut p[STAMP_AT..STAMP_AT + STAMP_LEN];
        s[0..4].copy_from_slice(&self.tag.to_be_bytes());
        s[4..8].copy_from_slice(&self.counter.to_be_bytes());
        s[8..16].copy_from_slice(&self.sent_us.to_be_bytes());
        s[16] = u8::from(self.kind == Kind::Video)
            | (u8::from(self.keyframe) << 1)
            | (self.layer & 3) << 2
            | u8::from(self.svc) << 4
            | 0xA0;
        p
    }

    /// The stamp in a payload, if it carries one.
    pub fn read(payload: &[u8]) -> Option<Stamp> {
        let s = payload.get(STAMP_AT..STAMP_AT + STAMP_LEN)?;
        if s[16] & 0xE0 != 0xA0 {
            return None;
        }
        Some(Stamp {
            tag: u32::from_be_bytes(s[0..4].try_into().ok()?),
            counter: u32::from_be_bytes(s[4..8].try_into().ok()?),
            sent_us: u64::from_be_bytes(s[8..16].try_into().ok()?),
            kind: if s[16] & 1 == 1 { Kind::Video } else { Kind::Audio },
            keyframe: s[16] & 2 == 2,
            layer: (s[16] >> 2) & 3,
            svc: s[16] & 0x10 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_survives_a_payload_and_a_keyframe_looks_like_vp8() {
        let s =
            Stamp { tag: 7, kind: Kind::Video, counter: 42, sent_us: 1 << 40, keyframe: true, layer: 2, svc: false };
        let p = s.payload(100);
        assert_eq!(p.len(), 100);
        let d = crate::media::vp8::Descriptor::parse(&p).expect("a VP8 descriptor");
        assert!(d.keyframe, "P bit clear: a key frame");
        assert_eq!((d.picture_id, d.tl0_pic_idx, d.temporal), (Some(20_042), Some(170), Some(0)));
        assert_eq!(&p[d.len + 3..d.len + 6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(Stamp::read(&p), Some(s));
        let next = crate::media::vp8::Descriptor::parse(&Stamp { counter: 45, keyframe: false, ..s }.payload(100));
        assert_eq!(next.map(|d| (d.temporal, d.layer_sync, d.keyframe)), Some((Some(2), true, false)));
        let a = Stamp { kind: Kind::Audio, keyframe: false, ..s };
        assert_eq!(Stamp::read(&a.payload(0)), Some(a));
        assert_eq!(Stamp::read(&[0u8; 40]), None);
    }

    #[test]
    fn a_vp9_svc_stamp_names_its_spatial_and_temporal_layer() {
        let s = Stamp { tag: 7, kind: Kind::Video, counter: 42, sent_us: 1, keyframe: true, layer: 0, svc: true };
        let d = crate::media::vp9::Descriptor::parse(&s.payload(100)).expect("a VP9 descriptor");
        assert!(d.keyframe && d.begin && d.end && d.flexible);
        assert_eq!((d.picture_id, d.spatial, d.temporal), (Some(42), Some(0), Some(0)));
        assert_eq!(Stamp::read(&s.payload(100)), Some(s));
        let upper = Stamp { counter: 45, keyframe: false, layer: 2, ..s };
        let d = crate::media::vp9::Descriptor::parse(&upper.payload(100)).unwrap();
        assert_eq!((d.spatial, d.temporal, d.switch_up, d.predicted), (Some(2), Some(2), true, true));
        assert!(!d.keyframe);
    }
}
