//! The VP9 payload descriptor (RFC 9628 §4.2) as an SVC forwarder needs it: the spatial and
//! temporal layer of a packet, whether it begins or ends its layer's frame, whether its
//! picture is predicted from earlier ones (a keyframe is not), and whether a higher temporal
//! layer may start at it. Picture IDs are left alone: one SSRC carries every layer, so
//! dropping spatial layers leaves no hole in them.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |I|P|L|F|B|E|V|Z|  (required)
//!      +-+-+-+-+-+-+-+-+
//! I:   |M| PICTURE ID  |  (if I; M: a second byte, 15 bits in all)
//!      +-+-+-+-+-+-+-+-+
//! L:   |  TID  |U| SID |D|  (if L)
//!      +-+-+-+-+-+-+-+-+
//! ```

/// What a packet's descriptor says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Descriptor {
    pub picture_id: Option<u16>,
    /// The picture is predicted from earlier pictures (P).
    pub predicted: bool,
    /// Flexible mode (F): references are listed per picture.
    pub flexible: bool,
    /// The packet begins (B) or ends (E) a frame of its spatial layer.
    pub begin: bool,
    pub end: bool,
    /// The packet's spatial (SID) and temporal (TID) layer, when the descriptor names them (L).
    pub spatial: Option<u8>,
    pub temporal: Option<u8>,
    /// A switching-up point (U): a higher temporal layer may start from here.
    pub switch_up: bool,
    /// The packet begins a keyframe: the base spatial layer's first packet of a picture that is
    /// not predicted from earlier ones.
    pub keyframe: bool,
}

impl Descriptor {
    /// Reads the descriptor at the start of an RTP payload; `None` if it is cut short.
    pub fn parse(payload: &[u8]) -> Option<Descriptor> {
        let first = *payload.first()?;
        let mut d = Descriptor {
            predicted: first & 0x40 != 0,
            flexible: first & 0x10 != 0,
            begin: first & 0x08 != 0,
            end: first & 0x04 != 0,
            ..Descriptor::default()
        };
        let mut at = 1;
        if first & 0x80 != 0 {
            let b = *payload.get(at)?;
            d.picture_id = Some(if b & 0x80 != 0 {
                at += 2;
                u16::from(b & 0x7f) << 8 | u16::from(*payload.get(at - 1)?)
            } else {
                at += 1;
                u16::from(b)
            });
        }
        if first & 0x20 != 0 {
            let l = *payload.get(at)?;
            d.temporal = Some(l >> 5);
            d.switch_up = l & 0x10 != 0;
            d.spatial = Some(l >> 1 & 0x07);
        }
        d.keyframe = !d.predicted && d.begin && d.spatial.unwrap_or(0) == 0;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp9_descriptor_fields_are_read() {
        // I, L, B, E set, flexible; picture ID 0x1234; TID 2, U, SID 1.
        let d = Descriptor::parse(&[0xbc, 0x92, 0x34, 2 << 5 | 0x10 | 1 << 1, 0xaa]).unwrap();
        assert_eq!(d.picture_id, Some(0x1234));
        assert_eq!((d.spatial, d.temporal, d.switch_up), (Some(1), Some(2), true));
        assert!(d.flexible && d.begin && d.end && !d.predicted);
        assert!(!d.keyframe, "not the base spatial layer");
        let key = Descriptor::parse(&[0xa8, 0x05, 0]).unwrap();
        assert_eq!((key.picture_id, key.spatial), (Some(5), Some(0)));
        assert!(key.keyframe);
        let predicted = Descriptor::parse(&[0xe8, 0x05, 0]).unwrap();
        assert!(!predicted.keyframe);
        assert!(Descriptor::parse(&[0xa8, 0x85]).is_none(), "cut short");
        assert_eq!(Descriptor::parse(&[0x08]).unwrap().spatial, None, "no layer indices");
    }
}
