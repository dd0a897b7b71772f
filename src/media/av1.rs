//! AV1 as a forwarder reads it. The payload's aggregation header says where a keyframe
//! starts; for SVC, the Dependency Descriptor header extension (AV1 RTP specification,
//! appendix A) says which frame template each packet's frame follows, and the template
//! structure (sent with keyframes) says each template's spatial and temporal layer. As
//! Janus's `janus_av1_svc_context_process_dd`, only the template layers are read: the rest of
//! the structure (decode targets, chains, frame diffs) is what the subscriber's decoder reads
//! from the extension, which is forwarded as it came.
//!
//! ```text
//! mandatory fields (3 bytes):  S | E | template id (6) | frame number (16)
//! extended (if longer):        structure? | active targets? | custom dtis | fdiffs | chains
//! structure:                   template id offset (6) | decode targets - 1 (5) |
//!                              next_layer_idc (2) per template, until 3 | ...
//! ```

/// The Dependency Descriptor extension's URI, in `a=extmap`.
pub const DEPENDENCY_DESCRIPTOR_URI: &str =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";

/// Whether an AV1 payload starts a keyframe: its aggregation header's N bit (the first packet
/// of a coded video sequence) with Z clear (it does not continue an OBU), as Janus reads it.
pub fn starts_keyframe(payload: &[u8]) -> bool {
    payload.first().is_some_and(|h| h & 0x80 == 0 && h & 0x08 != 0)
}

/// A packet's Dependency Descriptor: as it came (subscribers get it unchanged), and what it
/// says of the packet's frame if its templates are known.
#[derive(Clone, Debug)]
pub struct Dependency {
    pub raw: bytes::Bytes,
    pub frame: Option<Frame>,
}

/// What one packet's descriptor says of its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The packet starts (S) or ends (E) its frame.
    pub start: bool,
    pub end: bool,
    pub spatial: u8,
    pub temporal: u8,
}

/// A publisher stream's frame templates: (spatial, temporal) layer of each, from the last
/// template structure it sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Templates {
    offset: u8,
    layers: Vec<(u8, u8)>,
}

/// At most 64 templates (template ids are 6 bits).
const MAX_TEMPLATES: usize = 64;

impl Templates {
    /// Reads one packet's descriptor `dd`, keeping a template structure it carries. `None` if
    /// it is cut short or names a template no structure has given yet.
    pub fn read(&mut self, dd: &[u8]) -> Option<Frame> {
        let mut bits = Bits { data: dd, at: 0 };
        let start = bits.flag()?;
        let end = bits.flag()?;
        let template_id = bits.take(6)? as u8;
        let _frame_number = bits.take(16)?;
        if dd.len() > 3 && bits.flag()? {
            bits.take(4)?; // active decode targets, custom dtis, fdiffs, chains flags
            *self = Templates::parse(&mut bits)?;
        }
        let index = usize::from(template_id.wrapping_sub(self.offset) % 64);
        let &(spatial, temporal) = self.layers.get(index)?;
        Some(Frame { start, end, spatial, temporal })
    }

    /// The start of a template dependency structure: its id offset and template layers.
    fn parse(bits: &mut Bits) -> Option<Templates> {
        let offset = bits.take(6)? as u8;
        bits.take(5)?; // decode targets - 1
        let (mut spatial, mut temporal) = (0u8, 0u8);
        let mut layers = Vec::new();
        loop {
            if layers.len() == MAX_TEMPLATES {
                return None;
            }
            layers.push((spatial, temporal));
            match bits.take(2)? {
                0 => {}
                1 => temporal += 1,
                2 => (spatial, temporal) = (spatial + 1, 0),
                _ => break,
            }
        }
        Some(Templates { offset, layers })
    }
}

/// Reads bits, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..n {
            let byte = self.data.get(self.at / 8)?;
            value = value << 1 | u32::from(byte >> (7 - self.at % 8) & 1);
            self.at += 1;
        }
        Some(value)
    }

    fn flag(&mut self) -> Option<bool> {
        self.take(1).map(|b| b == 1)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes bits, most significant first.
    #[derive(Default)]
    struct Writer(Vec<u8>, usize);

    impl Writer {
        fn put(&mut self, n: usize, value: u32) -> &mut Writer {
            for i in (0..n).rev() {
                if self.1 % 8 == 0 {
                    self.0.push(0);
                }
                let bit = (value >> i & 1) as u8;
                *self.0.last_mut().unwrap() |= bit << (7 - self.1 % 8);
                self.1 += 1;
            }
            self
        }
    }

    /// A descriptor for template `template` (S, E set as given); with `structure`, the L3T3
    /// structure libwebrtc sends (one template per layer pair, spatial-major) at id offset
    /// `offset`.
    pub(crate) fn descriptor(start: bool, end: bool, template: u8, frame: u16, structure: Option<u8>) -> Vec<u8> {
        let mut w = Writer::default();
        w.put(1, start.into()).put(1, end.into()).put(6, template.into()).put(16, frame.into());
        if let Some(offset) = structure {
            w.put(1, 1).put(4, 0).put(6, offset.into()).put(5, 8);
            for spatial in 0..3 {
                for temporal in 0..3 {
                    let next = match (spatial, temporal) {
                        (2, 2) => 3,
                        (_, 2) => 2,
                        _ => 1,
                    };
                    w.put(2, next);
                }
            }
        }
        w.0
    }

    #[test]
    fn a_structure_gives_each_template_its_layers() {
        let mut t = Templates::default();
        let first = t.read(&descriptor(true, false, 5, 1, Some(5))).unwrap();
        assert_eq!(first, Frame { start: true, end: false, spatial: 0, temporal: 0 });
        // Template ids count from the offset, modulo 64: id 5 + 4 is (1, 1), id 5 + 8 is (2, 2).
        assert_eq!(t.read(&descriptor(false, true, 9, 2, None)).map(|f| (f.spatial, f.temporal)), Some((1, 1)));
        assert_eq!(
            t.read(&descriptor(true, true, 13, 3, None)).map(|f| (f.spatial, f.temporal, f.end)),
            Some((2, 2, true))
        );
        assert_eq!(t.read(&descriptor(true, true, 14, 3, None)), None, "past the last template");
        let mut wrapped = Templates::default();
        wrapped.read(&descriptor(true, true, 62, 1, Some(62))).unwrap();
        assert_eq!(wrapped.read(&descriptor(true, true, 1, 2, None)).map(|f| f.spatial), Some(1), "62 + 3 wraps to 1");
    }

    #[test]
    fn without_a_structure_nothing_is_known_and_short_input_is_refused() {
        let mut t = Templates::default();
        assert_eq!(t.read(&descriptor(true, true, 0, 1, None)), None);
        assert_eq!(t.read(&[0x80, 0]), None);
        assert_eq!(t.read(&[]), None);
        // A structure cut short leaves the templates known before.
        t.read(&descriptor(true, true, 0, 1, Some(0))).unwrap();
        let cut = &descriptor(true, true, 0, 2, Some(0))[..5];
        assert_eq!(t.read(cut), None);
        assert_eq!(t.read(&descriptor(true, true, 3, 3, None)).map(|f| f.spatial), Some(1));
    }

    #[test]
    fn keyframes_start_with_n_set_and_z_clear() {
        assert!(starts_keyframe(&[0x18, 0, 0]));
        assert!(!starts_keyframe(&[0x98, 0, 0]), "Z: continues an OBU");
        assert!(!starts_keyframe(&[0x10, 0, 0]), "no N");
        assert!(!starts_keyframe(&[]));
    }
}
