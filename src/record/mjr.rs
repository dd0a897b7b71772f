//! Janus's recording format, MJR (version 2, `MJR00002`), as Janus 1.1.2's `record.c` writes
//! it and its `janus-pp-rec` reads it: the magic, a JSON header with its length, then each
//! RTP packet framed with `MEET`, the milliseconds since the first one, and its length.

use serde_json::{json, Value};

use crate::core::event::MediaKind;
use crate::core::seams::RecordSpec;

/// The first bytes of every MJR file.
pub const MAGIC: &[u8; 8] = b"MJR00002";

/// The file's start: the magic and the JSON header, `first_us` being when the first packet is
/// written (µs since the Unix epoch).
pub fn start(h: &RecordSpec, first_us: i64) -> Vec<u8> {
    let kind = match h.kind {
        MediaKind::Audio => "a",
        MediaKind::Video => "v",
        MediaKind::Data => "d",
    };
    let mut info = json!({ "t": kind, "c": h.codec });
    if let Some(f) = &h.fmtp {
        info["f"] = Value::from(f.as_str());
    }
    if let Some(d) = &h.description {
        info["d"] = Value::from(d.as_str());
    }
    info["s"] = h.created_us.into();
    info["u"] = first_us.into();
    let text = info.to_string();
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + text.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// One RTP packet's frame, `ms` after the first packet, appended to `out`. A packet longer
/// than a frame can say (64 KiB) is not a UDP datagram anyone sent, and is left out.
pub fn frame(out: &mut Vec<u8>, ms: u32, packet: &[u8]) {
    let Ok(len) = u16::try_from(packet.len()) else { return };
    out.extend_from_slice(b"MEET");
    out.extend_from_slice(&ms.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_the_magic_a_sized_json_header_then_framed_packets() {
        let h = RecordSpec {
            path: "x.mjr".into(),
            kind: MediaKind::Video,
            codec: "vp8".into(),
            fmtp: None,
            description: Some("cam".into()),
            created_us: 1_000,
        };
        let mut file = start(&h, 2_000);
        frame(&mut file, 40, &[0x80, 96, 0, 1]);
        assert_eq!(&file[..8], b"MJR00002");
        let len = u16::from_be_bytes([file[8], file[9]]) as usize;
        let info: Value = serde_json::from_slice(&file[10..10 + len]).unwrap();
        assert_eq!(info, json!({ "t": "v", "c": "vp8", "d": "cam", "s": 1_000, "u": 2_000 }));
        let f = &file[10 + len..];
        assert_eq!(&f[..4], b"MEET");
        assert_eq!(u32::from_be_bytes([f[4], f[5], f[6], f[7]]), 40);
        assert_eq!(u16::from_be_bytes([f[8], f[9]]), 4);
        assert_eq!(&f[10..], &[0x80, 96, 0, 1]);
        let before = file.len();
        frame(&mut file, 41, &vec![0; 70_000]);
        assert_eq!(file.len(), before, "too long for a frame");
    }
}
