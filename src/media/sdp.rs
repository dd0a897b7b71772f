//! SDP for Janus clients: reading a client's offer (checked as Janus checks it, parsed with
//! `rtc-sdp`) and writing vroom's answers and subscriber offers.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::net::SocketAddr;

/// The audio level header extension (RFC 6464): who is talking.
pub use rtc::sdp::extmap::AUDIO_LEVEL_URI;
use rtc_sdp::SessionDescription;

use crate::core::event::{MediaKind, SubStreamInfo};
use crate::core::room::StreamSpec;

/// Codecs vroom negotiates, in order of preference within each kind: (name, clock rate,
/// channels, the payload type vroom offers).
const CODECS: &[(&str, u32, Option<u32>, u8)] = &[
    ("opus", 48000, Some(2), 111),
    ("G722", 8000, None, 9),
    ("PCMU", 8000, None, 0),
    ("PCMA", 8000, None, 8),
    ("VP8", 90000, None, 96),
    ("VP9", 90000, None, 98),
    ("H264", 90000, None, 102),
    ("AV1", 90000, None, 45),
];

/// One m-line of a client's offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offered {
    pub kind: MediaKind,
    pub mid: String,
    /// The negotiated codec (lower case, as Janus reports it) and its payload type.
    pub codec: Option<(String, u8)>,
    /// That codec's profile: VP9's `profile-id`, H.264's `profile-level-id`.
    pub profile: Option<String>,
    pub disabled: bool,
    /// The simulcast encodings it sends (`a=rid:<id> send`), in the offer's order.
    pub rids: Vec<String>,
    /// Without rids, the SSRCs of SSRC-based simulcast (`a=ssrc-group:SIM`), lowest first.
    pub sim_ssrcs: Vec<u32>,
    /// An audio m-line that offers the audio level extension (who is talking).
    pub audio_level: bool,
}

impl Offered {
    /// Whether it sends several encodings, by rid or by SSRC.
    pub fn simulcast(&self) -> bool {
        !self.rids.is_empty() || !self.sim_ssrcs.is_empty()
    }
}

/// The most simulcast encodings a stream may have (Janus's substreams 0-2).
pub const MAX_ENCODINGS: usize = 3;

/// Checks a JSEP's SDP as Janus does (465 texts) and reads its m-lines.
/// The id `sdp`'s `a=extmap` lines give the header extension `uri`, if any.
pub fn extmap_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let (id, rest) = line.trim_end().strip_prefix("a=extmap:")?.split_once(' ')?;
        let id = id.split('/').next()?.parse().ok()?;
        (rest.split_whitespace().next() == Some(uri)).then_some(id)
    })
}

pub fn parse_offer(sdp: &str) -> Result<Vec<Offered>, String> {
    if !sdp.starts_with("v=") {
        return Err("Invalid SDP (doesn't start with v=)".into());
    }
    let has = |p: &str| sdp.lines().any(|l| l.starts_with(p));
    if !has("o=") || !has("s=") || !has("m=") {
        return Err("Missing mandatory lines (o=, s= or m=)".into());
    }
    let desc =
        SessionDescription::unmarshal(&mut Cursor::new(sdp.as_bytes())).map_err(|e| format!("Invalid SDP ({e})"))?;
    let mut out = Vec::new();
    for (i, m) in desc.media_descriptions.iter().enumerate() {
        let kind = match m.media_name.media.as_str() {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Data,
            other => return Err(format!("Unsupported media type {other}")),
        };
        let mid = m.attribute("mid").flatten().map(String::from).unwrap_or_else(|| i.to_string());
        let codec = m
            .media_name
            .formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter_map(|pt| desc.get_codec_for_payload_type(pt).ok().map(|c| (pt, c.name)))
            .find(|(_, name)| CODECS.iter().any(|(n, ..)| n.eq_ignore_ascii_case(name)))
            .map(|(pt, name)| (name.to_lowercase(), pt));
        let disabled = m.media_name.port.value == 0;
        let profile = codec.as_ref().and_then(|(name, pt)| {
            let fmtp = desc.get_codec_for_payload_type(*pt).ok()?.fmtp;
            profile_of(name, &fmtp)
        });
        let mut rids: Vec<String> = Vec::new();
        for a in m.attributes.iter().filter(|a| a.key == "rid") {
            let mut words = a.value.as_deref().unwrap_or_default().split_whitespace();
            let (Some(rid), Some("send")) = (words.next(), words.next()) else { continue };
            if rids.iter().any(|r| r == rid) {
                return Err(format!("Invalid SDP (rid {rid} given twice)"));
            }
            rids.push(rid.to_string());
        }
        // rids win where an offer has both (Firefox lists its encodings' SSRCs as well).
        let sim_ssrcs = if rids.is_empty() { sim_group(m)? } else { Vec::new() };
        let encodings = rids.len().max(sim_ssrcs.len());
        if encodings > MAX_ENCODINGS {
            return Err(format!("Too many simulcast encodings ({encodings}, at most {MAX_ENCODINGS})"));
        }
        let audio_level = kind == MediaKind::Audio
            && m.attributes.iter().any(|a| {
                a.key == "extmap"
                    && a.value.as_deref().is_some_and(|v| v.split_whitespace().nth(1) == Some(AUDIO_LEVEL_URI))
            });
        out.push(Offered { kind, mid, codec, profile, disabled, rids, sim_ssrcs, audio_level });
    }
    Ok(out)
}

/// An m-line's `a=ssrc-group:SIM` SSRCs, in its order (lowest encoding first, as Janus takes
/// them); empty without one, or with a group of one SSRC (that is no simulcast).
fn sim_group(m: &rtc_sdp::MediaDescription) -> Result<Vec<u32>, String> {
    let mut groups =
        m.attributes.iter().filter(|a| a.key == "ssrc-group").filter_map(|a| a.value.as_deref()?.strip_prefix("SIM "));
    let Some(group) = groups.next() else { return Ok(Vec::new()) };
    if groups.next().is_some() {
        return Err("Invalid SDP (more than one ssrc-group:SIM in an m-line)".into());
    }
    let mut ssrcs: Vec<u32> = Vec::new();
    for word in group.split_whitespace() {
        let ssrc = word.parse().map_err(|_| format!("Invalid SDP (ssrc-group:SIM SSRC {word})"))?;
        if ssrcs.contains(&ssrc) {
            return Err(format!("Invalid SDP (SSRC {ssrc} given twice in ssrc-group:SIM)"));
        }
        ssrcs.push(ssrc);
    }
    Ok(if ssrcs.len() > 1 { ssrcs } else { Vec::new() })
}

/// The profile a codec's `a=fmtp` names: VP9's `profile-id` (0 when absent, RFC 9628) or
/// H.264's `profile-level-id` (lower case).
pub fn profile_of(codec: &str, fmtp: &str) -> Option<String> {
    let param = |name: &str| {
        fmtp.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).map(str::to_lowercase)
    };
    match codec.to_lowercase().as_str() {
        "vp9" => Some(param("profile-id").unwrap_or_else(|| "0".into())),
        "h264" => param("profile-level-id"),
        _ => None,
    }
}

/// A publisher's offer with the room's VP9 and H.264 profiles chosen: on each video m-line that
/// offers the wanted profile of a codec, that codec's payload types with another profile (and
/// their RTX) are removed, so the answer can only take the room's. An m-line without the
/// wanted profile is left as it is. Janus does this choice in its answer (`vp9_profile`,
/// `h264_profile`).
pub fn prefer_profiles(offer: &str, vp9: Option<&str>, h264: Option<&str>) -> String {
    if vp9.is_none() && h264.is_none() {
        return offer.to_string();
    }
    each_section(offer, |section| prefer_in_section(section, vp9, h264))
}

/// An offer whose video m-lines list `codec`'s payload types first, where they offer it: the
/// answer then takes it, as Janus's EchoTest does with `videocodec`.
pub fn prefer_codec(offer: &str, codec: &str) -> String {
    let codec = codec.to_lowercase();
    each_section(offer, |section| {
        let mut out: Vec<String> = section.iter().map(|l| l.to_string()).collect();
        if !section.first().is_some_and(|m| m.starts_with("m=video")) {
            return out;
        }
        let codec_of = |pt: &str| {
            let rtpmap = section.iter().find_map(|l| l.strip_prefix("a=rtpmap:")?.strip_prefix(pt)?.strip_prefix(' '));
            rtpmap.unwrap_or_default().split('/').next().unwrap_or_default().to_lowercase()
        };
        let words: Vec<&str> = section[0].split_whitespace().collect();
        let (head, formats) = words.split_at(3.min(words.len()));
        let (mut first, rest): (Vec<&str>, Vec<&str>) = formats.iter().partition(|pt| codec_of(pt) == codec);
        first.extend(rest);
        out[0] = head.iter().chain(first.iter()).copied().collect::<Vec<_>>().join(" ");
        out
    })
}

/// `sdp` without the AV1 Dependency Descriptor extension on video m-lines whose first codec is
/// not AV1. Where it is negotiated Chromium's VP8 loses its temporal layers to vroom (the
/// simulcast tests stop seeing them), so it is offered and answered only for AV1.
pub fn dependency_descriptor_for_av1_only(sdp: &str) -> String {
    each_section(sdp, |section| {
        let first_pt = section.first().and_then(|m| m.split_whitespace().nth(3)).unwrap_or_default();
        let av1 = section.first().is_some_and(|m| m.starts_with("m=video"))
            && section.iter().any(|l| {
                l.strip_prefix("a=rtpmap:")
                    .and_then(|rest| rest.strip_prefix(first_pt)?.strip_prefix(' '))
                    .is_some_and(|codec| codec.to_lowercase().starts_with("av1/"))
            });
        let dd = |l: &&&str| l.starts_with("a=extmap:") && l.contains(super::av1::DEPENDENCY_DESCRIPTOR_URI);
        section.iter().filter(|l| av1 || !dd(l)).map(|l| l.to_string()).collect()
    })
}

/// `sdp` without the header extension `uri` (an offer without it gets an answer without it).
pub fn without_extension(sdp: &str, uri: &str) -> String {
    each_section(sdp, |section| {
        let named = |l: &&&str| l.starts_with("a=extmap:") && l.split_whitespace().nth(1) == Some(uri);
        section.iter().filter(|l| !named(l)).map(|l| l.to_string()).collect()
    })
}

/// `sdp` with each section (the session part, then each m-line's) replaced by `f`'s lines.
fn each_section(sdp: &str, mut f: impl FnMut(&[&str]) -> Vec<String>) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = sdp.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let end = (start + 1..lines.len()).find(|&i| lines[i].starts_with("m=")).unwrap_or(lines.len());
        out.extend(f(&lines[start..end]));
        start = end;
    }
    let mut text = out.join(eol);
    text.push_str(eol);
    text
}

fn prefer_in_section(section: &[&str], vp9: Option<&str>, h264: Option<&str>) -> Vec<String> {
    let keep = |s: &[&str]| s.iter().map(|l| l.to_string()).collect();
    if !section.first().is_some_and(|m| m.starts_with("m=video")) {
        return keep(section);
    }
    let attr = |prefix: &str, pt: &str| {
        section.iter().find_map(|l| l.strip_prefix(prefix)?.strip_prefix(pt)?.strip_prefix(' ')).unwrap_or_default()
    };
    let formats: Vec<&str> = section[0].split_whitespace().skip(3).collect();
    let codec_of = |pt: &str| attr("a=rtpmap:", pt).split('/').next().unwrap_or_default().to_lowercase();
    let mut dropped: Vec<&str> = Vec::new();
    for (codec, wanted) in [("vp9", vp9), ("h264", h264)] {
        let Some(wanted) = wanted.map(str::to_lowercase) else { continue };
        let of_codec: Vec<&str> = formats.iter().copied().filter(|pt| codec_of(pt) == codec).collect();
        let matching = |pt: &&str| profile_of(codec, attr("a=fmtp:", pt)).as_deref() == Some(wanted.as_str());
        if of_codec.iter().any(matching) {
            dropped.extend(of_codec.iter().filter(|pt| !matching(pt)));
        }
    }
    // The RTX of a dropped payload type goes with it.
    let rtx: Vec<&str> = formats
        .iter()
        .copied()
        .filter(|pt| codec_of(pt) == "rtx" && dropped.iter().any(|d| attr("a=fmtp:", pt) == format!("apt={d}")))
        .collect();
    dropped.extend(rtx);
    if dropped.is_empty() {
        return keep(section);
    }
    let mut m_line: Vec<&str> = section[0].split_whitespace().take(3).collect();
    m_line.extend(formats.iter().filter(|pt| !dropped.contains(pt)));
    let mut out = vec![m_line.join(" ")];
    for l in &section[1..] {
        let about_dropped = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"].iter().any(|p| {
            l.strip_prefix(p).and_then(|rest| rest.split([' ', ':']).next()).is_some_and(|pt| dropped.contains(&pt))
        });
        if !about_dropped {
            out.push(l.to_string());
        }
    }
    out
}

/// The streams a publisher's offer proposes, as the core records them.
pub fn publisher_streams(offered: &[Offered]) -> Vec<StreamSpec> {
    offered
        .iter()
        .map(|o| StreamSpec {
            kind: o.kind.clone(),
            mid: o.mid.clone(),
            codec: o.codec.as_ref().map(|(c, _)| c.clone()),
            profile: o.profile.clone(),
            description: None,
            disabled: o.disabled,
            simulcast: o.simulcast(),
            audio_level: o.audio_level,
        })
        .collect()
}

/// The transport half of an endpoint's SDP.
pub struct Transport<'a> {
    pub addr: SocketAddr,
    pub ufrag: &'a str,
    pub pwd: &'a str,
    pub fingerprint: &'a str,
    pub session_id: u64,
}

fn header(t: &Transport<'_>, mids: &[&str]) -> String {
    format!(
        "v=0\r\no=- {} 1 IN IP4 {}\r\ns=vroom\r\nt=0 0\r\na=group:BUNDLE {}\r\na=ice-options:trickle\r\na=msid-semantic: WMS *\r\n",
        t.session_id,
        t.addr.ip(),
        mids.join(" ")
    )
}

fn media_section(t: &Transport<'_>, kind: &MediaKind, mid: &str, codec: Option<(&str, u8)>, direction: &str) -> String {
    let (media, proto) = match kind {
        MediaKind::Audio => ("audio", "UDP/TLS/RTP/SAVPF"),
        MediaKind::Video => ("video", "UDP/TLS/RTP/SAVPF"),
        MediaKind::Data => ("application", "UDP/DTLS/SCTP"),
    };
    let port = if direction == "inactive" && codec.is_none() && *kind != MediaKind::Data { 0 } else { 9 };
    let fmt = match (kind, codec) {
        (MediaKind::Data, _) => "webrtc-datachannel".to_string(),
        (_, Some((_, pt))) => pt.to_string(),
        (_, None) => "0".to_string(),
    };
    let mut s = format!(
        "m={media} {port} {proto} {fmt}\r\nc=IN IP4 {ip}\r\na=mid:{mid}\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n\
         a=fingerprint:sha-256 {fp}\r\na=setup:passive\r\n",
        ip = t.addr.ip(),
        ufrag = t.ufrag,
        pwd = t.pwd,
        fp = t.fingerprint
    );
    if *kind == MediaKind::Data {
        s.push_str("a=sctp-port:5000\r\n");
    } else {
        s.push_str(&format!("a={direction}\r\na=rtcp-mux\r\n"));
        if let Some((name, pt)) = codec {
            let (n, rate, ch, _) =
                CODECS.iter().find(|(n, ..)| n.eq_ignore_ascii_case(name)).copied().unwrap_or(("VP8", 90000, None, 96));
            let ch = ch.map(|c| format!("/{c}")).unwrap_or_default();
            s.push_str(&format!("a=rtpmap:{pt} {n}/{rate}{ch}\r\n"));
        }
    }
    s.push_str(&format!(
        "a=candidate:1 1 udp 2130706431 {} {} typ host\r\na=end-of-candidates\r\n",
        t.addr.ip(),
        t.addr.port()
    ));
    s
}

/// vroom's answer to a publisher's offer: it receives every stream it can decode.
pub fn answer(offer: &str, t: &Transport<'_>) -> Result<String, String> {
    let offered = parse_offer(offer)?;
    let mids: Vec<&str> = offered.iter().map(|o| o.mid.as_str()).collect();
    let mut sdp = header(t, &mids);
    for o in &offered {
        let codec = o.codec.as_ref().map(|(c, pt)| (c.as_str(), *pt));
        let direction =
            if o.disabled || (codec.is_none() && o.kind != MediaKind::Data) { "inactive" } else { "recvonly" };
        sdp.push_str(&media_section(t, &o.kind, &o.mid, codec, direction));
    }
    Ok(sdp)
}

/// vroom's offer to a subscriber: one m-line per subscription stream, inactive once its feed
/// is gone.
pub fn offer(streams: &[SubStreamInfo], t: &Transport<'_>) -> String {
    let mids: Vec<&str> = streams.iter().map(|s| s.mid.as_str()).collect();
    let mut sdp = header(t, &mids);
    for s in streams {
        let codec = s
            .codec
            .as_deref()
            .and_then(|c| CODECS.iter().find(|(n, ..)| n.eq_ignore_ascii_case(c)))
            .map(|(n, _, _, pt)| (*n, *pt));
        let direction = if s.active { "sendonly" } else { "inactive" };
        sdp.push_str(&media_section(t, &s.kind, &s.mid, codec, direction));
    }
    sdp
}

/// An offer in the form the WebRTC stack takes. Two older forms that Janus accepts are
/// rewritten (both seen from aiortc before 1.11):
/// - a data channel described the draft way, `m=application <port> DTLS/SCTP 5000` with
///   `a=sctpmap:5000 webrtc-datachannel <streams>`, becomes `UDP/DTLS/SCTP webrtc-datachannel`
///   with `a=sctp-port:5000`;
/// - a BUNDLE offer whose m-lines still carry their own ICE credentials and candidates (JSEP's
///   "balanced" offers) keeps only the first bundled m-line's: once the answer accepts BUNDLE
///   the offerer uses that transport for every m-line.
pub fn normalize_offer(sdp: &str) -> std::borrow::Cow<'_, str> {
    let ufrags: BTreeSet<&str> = sdp.lines().filter_map(|l| l.strip_prefix("a=ice-ufrag:")).collect();
    let bundled = sdp.lines().any(|l| l.starts_with("a=group:BUNDLE "));
    let split_transports = bundled && ufrags.len() > 1;
    if !sdp.contains(" DTLS/SCTP ") && !split_transports {
        return sdp.into();
    }
    let first = |prefix: &str| sdp.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_string);
    let (ufrag, pwd) = (first("a=ice-ufrag:"), first("a=ice-pwd:"));
    let mut out = String::with_capacity(sdp.len());
    let mut section = 0;
    for line in sdp.split_inclusive('\n') {
        let (text, end) = line.split_at(line.trim_end_matches(['\r', '\n']).len());
        let fields: Vec<&str> = text.split(' ').collect();
        if text.starts_with("m=") {
            section += 1;
        }
        if text.starts_with("m=application ") && fields.len() == 4 && fields[2] == "DTLS/SCTP" {
            out.push_str(&format!("m=application {} UDP/DTLS/SCTP webrtc-datachannel{end}", fields[1]));
            out.push_str(&format!("a=sctp-port:{}{end}", fields[3]));
        } else if text.starts_with("a=sctpmap:") {
        } else if split_transports && section > 1 && (text.starts_with("a=candidate:") || text == "a=end-of-candidates")
        {
        } else if let (true, Some(u)) = (split_transports && text.starts_with("a=ice-ufrag:"), &ufrag) {
            out.push_str(&format!("a=ice-ufrag:{u}{end}"));
        } else if let (true, Some(p)) = (split_transports && text.starts_with("a=ice-pwd:"), &pwd) {
            out.push_str(&format!("a=ice-pwd:{p}{end}"));
        } else {
            out.push_str(line);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 100 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:100 X-FOO/90000\r\na=rtpmap:96 VP8/90000\r\n";

    fn transport() -> Transport<'static> {
        Transport { addr: ([127, 0, 0, 1], 4000).into(), ufrag: "uf", pwd: "pw", fingerprint: "AA:BB", session_id: 7 }
    }

    #[test]
    fn offers_are_checked_like_janus() {
        assert_eq!(parse_offer("x=0").unwrap_err(), "Invalid SDP (doesn't start with v=)");
        assert_eq!(parse_offer("v=0\r\ns=-\r\n").unwrap_err(), "Missing mandatory lines (o=, s= or m=)");
        let streams = parse_offer(OFFER).unwrap();
        assert_eq!(streams[0].codec, Some(("opus".into(), 111)));
        assert_eq!(streams[1].codec, Some(("vp8".into(), 96)), "the unknown codec is skipped");
    }

    #[test]
    fn ssrc_group_simulcast_is_read_in_its_order_and_rids_win() {
        let with = |extra: &str| parse_offer(&format!("{OFFER}{extra}")).unwrap().remove(1);
        let sim = with("a=ssrc-group:FID 30 31\r\na=ssrc-group:SIM 30 20 10\r\na=ssrc:30 cname:x\r\n");
        assert_eq!(sim.sim_ssrcs, [30, 20, 10], "lowest first, as the group lists them");
        assert!(sim.simulcast());
        let one = with("a=ssrc-group:SIM 30\r\n");
        assert!(one.sim_ssrcs.is_empty() && !one.simulcast(), "a group of one is no simulcast");
        let both = with("a=rid:h send\r\na=rid:l send\r\na=ssrc-group:SIM 30 20\r\n");
        assert_eq!((both.rids.len(), both.sim_ssrcs.len()), (2, 0), "rids win");
        let bad = parse_offer(&format!("{OFFER}a=ssrc-group:SIM 30 x\r\n")).unwrap_err();
        assert_eq!(bad, "Invalid SDP (ssrc-group:SIM SSRC x)");
    }

    proptest::proptest! {
        /// A client's SDP is untrusted: whatever follows the mandatory lines, checking and
        /// answering it returns a result, never a panic.
        #[test]
        fn prop_any_offer_is_answered_or_refused(tail in "[ -~\r\n]{0,300}", lines in proptest::collection::vec("[a-z]=[ -~]{0,40}", 0..12)) {
            let sdp = format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n{}\r\n{tail}", lines.join("\r\n"));
            let _ = answer(&sdp, &transport());
        }
    }

    #[test]
    fn draft_data_channel_offers_are_rewritten() {
        let old = "v=0\r\nm=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctpmap:5000 webrtc-datachannel 65535\r\na=max-message-size:65536\r\n";
        assert_eq!(
            normalize_offer(old),
            "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:5000\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=max-message-size:65536\r\n"
        );
        assert!(matches!(normalize_offer(OFFER), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn balanced_bundle_offers_keep_the_first_transport() {
        let offer = "v=0\r\na=group:BUNDLE 0 1\r\nm=audio 1 UDP/TLS/RTP/SAVPF 0\r\na=candidate:a 1 udp 1 1.2.3.4 1 typ host\r\na=end-of-candidates\r\na=ice-ufrag:AAAA\r\na=ice-pwd:pa\r\nm=video 2 UDP/TLS/RTP/SAVPF 96\r\na=candidate:b 1 udp 1 1.2.3.4 2 typ host\r\na=end-of-candidates\r\na=ice-ufrag:BBBB\r\na=ice-pwd:pb\r\n";
        let n = normalize_offer(offer);
        assert_eq!(n.matches("a=ice-ufrag:AAAA").count(), 2, "{n}");
        assert_eq!(n.matches("a=ice-pwd:pa").count(), 2, "{n}");
        assert!(!n.contains("BBBB") && !n.contains("candidate:b"), "{n}");
        assert!(n.contains("candidate:a"), "{n}");
    }

    #[test]
    fn answers_and_offers_parse_back() {
        let answer = answer(OFFER, &transport()).unwrap();
        let back = parse_offer(&answer).unwrap();
        assert_eq!(back.iter().map(|s| s.mid.as_str()).collect::<Vec<_>>(), vec!["0", "1"]);
        assert!(
            answer.contains("a=recvonly") && answer.contains("a=candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host")
        );
        let sub = SubStreamInfo {
            mindex: 0,
            mid: "0".into(),
            kind: MediaKind::Video,
            feed_id: 1,
            feed_mid: "1".into(),
            feed_display: None,
            codec: Some("vp8".into()),
            profile: None,
            active: false,
            send: true,
            ready: false,
            sources: vec![],
            layers: Default::default(),
        };
        let o = offer(&[sub], &transport());
        assert!(o.contains("a=inactive") && o.contains("a=rtpmap:96 VP8/90000"), "{o}");
        assert_eq!(parse_offer(&o).unwrap().len(), 1);
    }

    /// A video m-line offering VP9 profiles 0 and 2 (each with RTX) and H.264 42e01f and 640032.
    const PROFILES: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98 99 100 101 102 103\r\n\
        a=mid:0\r\na=rtpmap:98 VP9/90000\r\na=rtcp-fb:98 nack\r\na=fmtp:98 profile-id=0\r\n\
        a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\n\
        a=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n\
        a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
        a=rtpmap:103 H264/90000\r\na=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032\r\n";

    #[test]
    fn the_rooms_profiles_are_the_only_ones_left_to_answer() {
        let sdp = prefer_profiles(PROFILES, Some("2"), Some("640032"));
        assert!(sdp.contains("m=video 9 UDP/TLS/RTP/SAVPF 100 101 103\r\n"), "{sdp}");
        for gone in ["a=rtpmap:98 ", "a=rtcp-fb:98 ", "a=fmtp:98 ", "a=fmtp:99 ", "a=rtpmap:102 "] {
            assert!(!sdp.contains(gone), "{gone} left in {sdp}");
        }
        assert_eq!(parse_offer(&sdp).unwrap()[0].profile.as_deref(), Some("2"));
        // A profile nobody offers changes nothing; no profile changes nothing.
        assert_eq!(prefer_profiles(PROFILES, Some("3"), None), PROFILES);
        assert_eq!(prefer_profiles(PROFILES, None, None), PROFILES);
    }

    #[test]
    fn a_preferred_codec_moves_to_the_front_of_video_m_lines() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
                     m=video 9 UDP/TLS/RTP/SAVPF 96 97 45 46\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\n\
                     a=rtpmap:45 AV1/90000\r\na=rtpmap:46 rtx/90000\r\n";
        let preferred = prefer_codec(offer, "av1");
        assert!(preferred.contains("m=video 9 UDP/TLS/RTP/SAVPF 45 96 97 46\r\n"), "{preferred}");
        assert!(preferred.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"));
        assert_eq!(prefer_codec(offer, "h264"), offer, "not offered: unchanged");
    }

    #[test]
    fn the_dependency_descriptor_stays_only_where_av1_comes_first() {
        let dd = crate::media::av1::DEPENDENCY_DESCRIPTOR_URI;
        let offer = format!(
            "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 45 96\r\na=rtpmap:45 AV1/90000\r\na=rtpmap:96 VP8/90000\r\n\
             a=extmap:11 {dd}\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 45\r\na=rtpmap:96 VP8/90000\r\n\
             a=rtpmap:45 AV1/90000\r\na=extmap:11 {dd}\r\n"
        );
        let kept = dependency_descriptor_for_av1_only(&offer);
        assert_eq!(kept.matches(dd).count(), 1, "{kept}");
        assert!(kept.split("m=video").nth(1).unwrap().contains(dd), "the AV1 m-line keeps it");
    }

    #[test]
    fn the_audio_level_is_read_from_audio_m_lines_and_can_be_taken_out() {
        let offer = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\na=extmap:1 {AUDIO_LEVEL_URI}\r\n\
             m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=rtpmap:111 opus/48000/2\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=rtpmap:96 VP8/90000\r\na=extmap:1 {AUDIO_LEVEL_URI}\r\n"
        );
        let levels = |sdp: &str| parse_offer(sdp).unwrap().iter().map(|o| o.audio_level).collect::<Vec<_>>();
        assert_eq!(levels(&offer), [true, false, false], "audio m-lines only");
        let without = without_extension(&offer, AUDIO_LEVEL_URI);
        assert_eq!(levels(&without), [false, false, false]);
        assert!(!without.contains(AUDIO_LEVEL_URI) && without.contains("a=mid:2\r\n"), "{without}");
    }

    #[test]
    fn extmap_ids_are_found_by_uri() {
        let sdp = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                   a=extmap:11/sendonly https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension\r\n";
        assert_eq!(extmap_id(sdp, crate::media::av1::DEPENDENCY_DESCRIPTOR_URI), Some(11));
        assert_eq!(extmap_id(sdp, "urn:ietf:params:rtp-hdrext:sdes:mid"), Some(3));
        assert_eq!(extmap_id(sdp, "urn:nothing"), None);
        assert_eq!(parse_offer(PROFILES).unwrap()[0].profile.as_deref(), Some("0"));
    }
}
