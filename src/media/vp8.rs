//! The VP8 payload descriptor (RFC 7741 §4.2) as a simulcast forwarder needs it: which temporal
//! layer a packet is in, whether it starts a keyframe, and the picture ID and TL0PICIDX that a
//! subscriber's decoder must see run on without a jump when the layer it gets changes (as
//! Janus's `janus_vp8_simulcast_descriptor_update` and mediasoup's VP8 encoding context do).
//! `rtc`'s own `Vp8Packet` reads these fields, but keeps neither their width nor their place in
//! the payload, so it cannot rewrite them in place.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |X|R|N|S|R| PID |  (required)
//!      +-+-+-+-+-+-+-+-+
//! X:   |I|L|T|K| RSV   |  (if X)
//!      +-+-+-+-+-+-+-+-+
//! I:   |M| PictureID   |  (if I; M: a second byte, 15 bits in all)
//!      +-+-+-+-+-+-+-+-+
//! L:   |   TL0PICIDX   |  (if L)
//!      +-+-+-+-+-+-+-+-+
//! T/K: |TID|Y| KEYIDX  |  (if T or K)
//!      +-+-+-+-+-+-+-+-+
//! ```

/// What a packet's descriptor says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    /// The packet starts a partition (S), and which (PID).
    pub start: bool,
    pub partition: u8,
    /// The picture ID and whether it is 15 bits wide (else 7); where it is in the payload.
    pub picture_id: Option<u16>,
    pub long_picture_id: bool,
    picture_id_at: usize,
    /// TL0PICIDX, and where it is.
    pub tl0_pic_idx: Option<u8>,
    tl0_at: usize,
    /// The temporal layer (TID), and whether a switch up to it may happen here (Y).
    pub temporal: Option<u8>,
    pub layer_sync: bool,
    /// The descriptor's length: the VP8 payload starts here.
    pub len: usize,
    /// The packet starts a keyframe: the first partition's first packet, with the VP8 payload
    /// header's inverse key frame bit clear.
    pub keyframe: bool,
}

impl Descriptor {
    /// Reads the descriptor at the start of an RTP payload; `None` if it is cut short.
    pub fn parse(payload: &[u8]) -> Option<Descriptor> {
        let first = *payload.first()?;
        let mut d = Descriptor { start: first & 0x10 != 0, partition: first & 0x07, ..Descriptor::default() };
        let mut at = 1;
        if first & 0x80 != 0 {
            let x = *payload.get(at)?;
            at += 1;
            if x & 0x80 != 0 {
                let b = *payload.get(at)?;
                d.picture_id_at = at;
                if b & 0x80 != 0 {
                    let b2 = *payload.get(at + 1)?;
                    d.picture_id = Some(u16::from(b & 0x7f) << 8 | u16::from(b2));
                    d.long_picture_id = true;
                    at += 2;
                } else {
                    d.picture_id = Some(u16::from(b));
                    at += 1;
                }
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(*payload.get(at)?);
                d.tl0_at = at;
                at += 1;
            }
            if x & 0x30 != 0 {
                let tk = *payload.get(at)?;
                if x & 0x20 != 0 {
                    d.temporal = Some(tk >> 6);
                    d.layer_sync = tk & 0x20 != 0;
                }
                at += 1;
            }
        }
        d.len = at;
        d.keyframe = d.start && d.partition == 0 && payload.get(at).is_some_and(|h| h & 0x01 == 0);
        Some(d)
    }

    /// Writes `picture_id` (in the field's own width) and `tl0_pic_idx` where this descriptor
    /// has them, in the payload it was read from.
    pub fn write(&self, payload: &mut [u8], picture_id: u16, tl0_pic_idx: u8) {
        if self.picture_id.is_some() {
            if self.long_picture_id {
                payload[self.picture_id_at] = 0x80 | (picture_id >> 8) as u8 & 0x7f;
                payload[self.picture_id_at + 1] = picture_id as u8;
            } else {
                payload[self.picture_id_at] = picture_id as u8 & 0x7f;
            }
        }
        if self.tl0_pic_idx.is_some() {
            payload[self.tl0_at] = tl0_pic_idx;
        }
    }
}

/// The 15-bit picture ID space.
const PICTURE_ID_MASK: u16 = 0x7fff;

/// The picture IDs and TL0PICIDX one subscriber stream sends: the source's, shifted so that a
/// change of source (another simulcast layer, another feed) continues right after the last
/// picture sent.
#[derive(Clone, Debug, Default)]
pub struct Numbering {
    /// The shifts, and the last values sent (`None` before the first packet).
    picture_offset: u16,
    tl0_offset: u8,
    last: Option<(u16, u8)>,
    /// The next packet comes from a new source.
    rebase: bool,
    /// The source's last picture not forwarded (a temporal layer dropped).
    dropped: Option<u16>,
}

impl Numbering {
    /// The packets from now on come from another source: its first picture follows the last
    /// one sent. Call it at the switch, before the new source's keyframe is rewritten.
    pub fn switch(&mut self) {
        self.rebase = true;
    }

    /// The picture whose packet has descriptor `d` is not forwarded (its temporal layer is
    /// dropped): the pictures after it close the gap. A receiver that finds a picture ID
    /// missing cannot tell a dropped layer from a lost frame, and holds back the frames that
    /// might depend on it (libwebrtc's VP8 reference finder does; so LiveKit's VP8 munger also
    /// closes the gap). A picture older than the last one sent leaves its gap.
    pub fn drop_picture(&mut self, d: &Descriptor) {
        let Some(pid) = d.picture_id else { return };
        if self.dropped == Some(pid) || self.rebase {
            return; // a later packet of the same picture, or a source not yet rebased on
        }
        self.dropped = Some(pid);
        let out = pid.wrapping_add(self.picture_offset) & PICTURE_ID_MASK;
        if self.last.is_some_and(|(last, _)| (out.wrapping_sub(last) & PICTURE_ID_MASK).wrapping_sub(1) < 0x3fff) {
            self.picture_offset = self.picture_offset.wrapping_sub(1) & PICTURE_ID_MASK;
        }
    }

    /// Rewrites the descriptor `d` of `payload` into this stream's numbering.
    pub fn rewrite(&mut self, d: &Descriptor, payload: &mut [u8]) {
        if let Some(r) = self.renumber(d) {
            r.apply(payload);
        }
    }

    /// What must change in the payload whose descriptor is `d` for it to carry this stream's
    /// numbering; `None` if its numbers stay as they are.
    pub fn renumber(&mut self, d: &Descriptor) -> Option<Renumber> {
        let (picture_id, tl0_pic_idx) = self.numbers(d)?;
        let same = d.picture_id == Some(picture_id) && d.tl0_pic_idx.is_none_or(|t| t == tl0_pic_idx);
        (!same).then_some(Renumber { descriptor: *d, picture_id, tl0_pic_idx })
    }

    /// The picture ID and TL0PICIDX this stream sends for a packet whose descriptor is `d`
    /// (`None` if it has no picture ID).
    fn numbers(&mut self, d: &Descriptor) -> Option<(u16, u8)> {
        let (pid, tl0) = (d.picture_id?, d.tl0_pic_idx.unwrap_or(0));
        if self.rebase || self.last.is_none() {
            self.rebase = false;
            match self.last {
                Some((last_pid, last_tl0)) => {
                    self.picture_offset = last_pid.wrapping_add(1).wrapping_sub(pid) & PICTURE_ID_MASK;
                    self.tl0_offset = last_tl0.wrapping_add(1).wrapping_sub(tl0);
                }
                None => (self.picture_offset, self.tl0_offset) = (0, 0),
            }
        }
        let out_pid = pid.wrapping_add(self.picture_offset) & PICTURE_ID_MASK;
        let out_tl0 = tl0.wrapping_add(self.tl0_offset);
        // Keep the newest picture sent, so that a late packet does not move the base back.
        let newer = self.last.is_none_or(|(last, _)| (out_pid.wrapping_sub(last) & PICTURE_ID_MASK) < 0x4000);
        if newer {
            self.last = Some((out_pid, out_tl0));
        }
        Some((out_pid, out_tl0))
    }
}

/// A packet's new picture ID and TL0PICIDX. It is written where the payload is copied anyway
/// (marshalled for encryption), so that the publisher's payload is shared by every subscriber
/// and kept once for their NACKs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Renumber {
    descriptor: Descriptor,
    picture_id: u16,
    tl0_pic_idx: u8,
}

impl Renumber {
    /// Writes the new numbers into `payload`, the one the descriptor was read from.
    pub fn apply(&self, payload: &mut [u8]) {
        self.descriptor.write(payload, self.picture_id, self.tl0_pic_idx);
    }

    /// A copy of `payload` with the new numbers.
    pub fn applied(&self, payload: &[u8]) -> bytes::Bytes {
        let mut copy = bytes::BytesMut::from(payload);
        self.apply(&mut copy);
        copy.freeze()
    }
}

/// Which temporal layers one subscriber stream gets: up to `target`. Going down takes effect at
/// once; going up only where the decoder can follow, at a layer sync point of a layer above the
/// current one (or a keyframe).
#[derive(Clone, Copy, Debug)]
pub struct TemporalFilter {
    pub target: u8,
    current: u8,
}

impl TemporalFilter {
    pub fn new(target: u8) -> TemporalFilter {
        TemporalFilter { target, current: target }
    }

    /// The layer actually forwarded now.
    pub fn current(&self) -> u8 {
        self.current
    }

    /// Whether the packet is forwarded.
    pub fn admit(&mut self, d: &Descriptor) -> bool {
        let Some(tid) = d.temporal else { return true };
        if self.target < self.current {
            self.current = self.target;
        } else if self.target > self.current && tid > self.current && tid <= self.target && (d.layer_sync || d.keyframe)
        {
            self.current = tid;
        }
        tid <= self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A payload: a descriptor with a 15-bit picture ID, TL0PICIDX and TID/Y, then a VP8
    /// payload header byte (`key`: a keyframe's first packet).
    fn packet(pid: u16, tl0: u8, tid: u8, sync: bool, key: bool) -> Vec<u8> {
        let tk = tid << 6 | if sync { 0x20 } else { 0 };
        vec![0x90, 0xe0, 0x80 | (pid >> 8) as u8, pid as u8, tl0, tk, if key { 0x00 } else { 0x01 }, 0xaa]
    }

    #[test]
    fn vp8_descriptor_fields_are_read() {
        let d = Descriptor::parse(&packet(0x1234, 7, 2, true, true)).unwrap();
        assert_eq!(d.picture_id, Some(0x1234));
        assert!(d.long_picture_id);
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!((d.temporal, d.layer_sync), (Some(2), true));
        assert_eq!(d.len, 6);
        assert!(d.keyframe);
        assert!(!Descriptor::parse(&packet(1, 0, 0, false, false)).unwrap().keyframe);
        // A short picture ID, no extension at all, and a descriptor cut short.
        let short = Descriptor::parse(&[0x90, 0x80, 0x05, 0x00]).unwrap();
        assert_eq!((short.picture_id, short.long_picture_id, short.len), (Some(5), false, 3));
        assert_eq!(Descriptor::parse(&[0x10, 0x00]).unwrap().picture_id, None);
        assert_eq!(Descriptor::parse(&[0x90, 0xe0, 0x80]), None);
        assert_eq!(Descriptor::parse(&[]), None);
    }

    #[test]
    fn vp8_numbering_continues_across_a_switch() {
        let mut n = Numbering::default();
        let mut sent = Vec::new();
        for (pid, tl0) in [(100, 10), (101, 10), (102, 11)] {
            let mut p = packet(pid, tl0, 0, false, false);
            n.rewrite(&Descriptor::parse(&p).unwrap(), &mut p);
            sent.push(Descriptor::parse(&p).unwrap());
        }
        n.switch();
        for (pid, tl0) in [(32_000, 200), (32_767, 201), (0, 202)] {
            let mut p = packet(pid, tl0, 0, false, false);
            n.rewrite(&Descriptor::parse(&p).unwrap(), &mut p);
            sent.push(Descriptor::parse(&p).unwrap());
        }
        let pids: Vec<_> = sent.iter().map(|d| d.picture_id.unwrap()).collect();
        let tl0s: Vec<_> = sent.iter().map(|d| d.tl0_pic_idx.unwrap()).collect();
        assert_eq!(pids, [100, 101, 102, 103, 870, 871]);
        assert_eq!(tl0s, [10, 10, 11, 12, 13, 14]);
    }

    #[test]
    fn vp8_dropped_pictures_leave_no_gap() {
        let mut n = Numbering::default();
        let mut out = Vec::new();
        // Pictures 10..=17 in two packets each; 11, 13 and 15 (a dropped layer) go nowhere.
        for pid in 10..=17u16 {
            for _ in 0..2 {
                let mut p = packet(pid, 0, (pid % 2) as u8, false, false);
                let d = Descriptor::parse(&p).unwrap();
                if pid % 2 == 1 && pid < 17 {
                    n.drop_picture(&d);
                    continue;
                }
                n.rewrite(&d, &mut p);
                out.push(Descriptor::parse(&p).unwrap().picture_id.unwrap());
            }
        }
        assert_eq!(out, [10, 10, 11, 11, 12, 12, 13, 13, 14, 14]);
    }

    #[test]
    fn vp8_temporal_filter_goes_up_only_at_a_layer_sync() {
        let mut f = TemporalFilter::new(0);
        let d = |tid, sync| Descriptor::parse(&packet(1, 0, tid, sync, false)).unwrap();
        assert!(f.admit(&d(0, false)));
        assert!(!f.admit(&d(1, false)));
        f.target = 2;
        assert!(!f.admit(&d(2, false)), "no layer sync: stays on layer 0");
        assert!(f.admit(&d(1, true)), "a sync point of layer 1: up to 1");
        assert_eq!(f.current(), 1);
        assert!(!f.admit(&d(2, false)));
        assert!(f.admit(&d(2, true)));
        f.target = 0;
        assert!(!f.admit(&d(1, true)), "down at once");
        assert!(f.admit(&d(0, false)));
    }

    proptest! {
        /// Whatever the sources and where their picture IDs start, the picture IDs sent run on
        /// by one, across every switch and the 15-bit wrap.
        #[test]
        fn prop_vp8_picture_ids_are_continuous_across_switches(
            runs in proptest::collection::vec((0u16..0x8000, any::<u8>(), 1usize..40), 1..8)
        ) {
            let mut n = Numbering::default();
            let mut last: Option<(u16, u8)> = None;
            for (pid0, tl00, count) in runs {
                n.switch();
                for i in 0..count {
                    let pid = (pid0 + i as u16) & PICTURE_ID_MASK;
                    let tl0 = tl00.wrapping_add(i as u8);
                    let mut p = packet(pid, tl0, 0, false, i == 0);
                    n.rewrite(&Descriptor::parse(&p).unwrap(), &mut p);
                    let d = Descriptor::parse(&p).unwrap();
                    let out = (d.picture_id.unwrap(), d.tl0_pic_idx.unwrap());
                    if let Some((lp, lt)) = last {
                        prop_assert_eq!(out.0, (lp + 1) & PICTURE_ID_MASK);
                        prop_assert_eq!(out.1, lt.wrapping_add(1));
                    }
                    last = Some(out);
                }
            }
        }

        /// Any bytes: parsing never panics, and what it finds lies inside the payload.
        #[test]
        fn prop_vp8_descriptor_parse_stays_inside(payload in proptest::collection::vec(any::<u8>(), 0..12)) {
            if let Some(d) = Descriptor::parse(&payload) {
                prop_assert!(d.len <= payload.len());
                let mut copy = payload.clone();
                d.write(&mut copy, 0x7fff, 0xff);
            }
        }
    }
}
