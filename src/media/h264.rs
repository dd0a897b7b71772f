//! H.264 over RTP (RFC 6184), as far as a simulcast forwarder reads it: whether a packet starts
//! a keyframe. A keyframe starts with its SPS or IDR slice, alone (NAL unit types 7, 5), in an
//! aggregation packet (STAP-A, 24) or as the first fragment of a fragmented unit (FU-A, 28).

const IDR: u8 = 5;
const SPS: u8 = 7;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Whether `payload` (an RTP packet's) starts an H.264 keyframe.
pub fn is_keyframe(payload: &[u8]) -> bool {
    let starts = |nal: u8| matches!(nal & 0x1f, IDR | SPS);
    let Some(&header) = payload.first() else { return false };
    match header & 0x1f {
        STAP_A => {
            let mut at = 1;
            while let (Some(&hi), Some(&lo)) = (payload.get(at), payload.get(at + 1)) {
                let size = usize::from(hi) << 8 | usize::from(lo);
                if payload.get(at + 2).is_some_and(|&nal| starts(nal)) {
                    return true;
                }
                at += 2 + size;
            }
            false
        }
        FU_A => payload.get(1).is_some_and(|&fu| fu & 0x80 != 0 && starts(fu)),
        _ => starts(header),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_keyframes_are_recognised_in_every_packetization() {
        assert!(is_keyframe(&[0x67, 0x42]), "SPS alone");
        assert!(is_keyframe(&[0x65, 0x88]), "IDR slice alone");
        assert!(!is_keyframe(&[0x41, 0x9a]), "a P slice");
        // STAP-A: an SEI (6), then the SPS.
        assert!(is_keyframe(&[0x78, 0x00, 0x02, 0x06, 0x01, 0x00, 0x02, 0x67, 0x42]));
        assert!(!is_keyframe(&[0x78, 0x00, 0x02, 0x06, 0x01, 0x00, 0x02, 0x41, 0x42]));
        // FU-A: the start of an IDR slice, and a later fragment of one.
        assert!(is_keyframe(&[0x7c, 0x85, 0x88]));
        assert!(!is_keyframe(&[0x7c, 0x05, 0x88]));
        assert!(!is_keyframe(&[]));
        assert!(!is_keyframe(&[0x78, 0xff]), "a cut STAP-A");
    }
}
