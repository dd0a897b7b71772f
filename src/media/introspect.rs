//! A leg's PeerConnection as the admin API's `handle_info` shows it: read from `rtc`'s own
//! statistics (ICE, DTLS, what came in), the negotiated SDPs (the m-lines, fingerprints), and
//! the leg's senders (what vroom forwarded past the stack).

use std::io::Cursor;
use std::time::Instant;

use rtc::statistics::report::RTCStatsReportEntry;
use rtc::statistics::StatsSelector;
use rtc_sdp::description::session::SessionDescription;

use super::leg::LegState;
use crate::core::seams::{PeerInfo, PeerStream};

/// A candidate as an SDP `candidate:` value without the prefix.
fn candidate_line(c: &rtc::statistics::stats::ice_candidate::RTCIceCandidateStats) -> String {
    format!(
        "{} 1 {} {} {} {} typ {}",
        c.foundation,
        c.protocol,
        c.priority,
        c.address.as_deref().unwrap_or("?"),
        c.port,
        c.candidate_type
    )
}

/// The `a=fingerprint:` value of an SDP (the first).
fn fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=fingerprint:"))
        .and_then(|f| f.split_whitespace().nth(1))
        .map(String::from)
}

pub(super) fn peer_info(st: &mut LegState, created: Instant) -> PeerInfo {
    let now = Instant::now();
    let report = st.pc.get_stats(now, StatsSelector::None);
    let local_sdp = st.pc.local_description().map(|d| d.sdp);
    let remote_sdp = st.pc.remote_description().map(|d| d.sdp.clone());
    let mut info = PeerInfo {
        age_ms: now.saturating_duration_since(created).as_millis() as u64,
        connected_ms_ago: st.connected_at.map(|t| now.saturating_duration_since(t).as_millis() as u64),
        fingerprint: local_sdp.as_deref().and_then(fingerprint),
        remote_fingerprint: remote_sdp.as_deref().and_then(fingerprint),
        ..PeerInfo::default()
    };
    if let Some(t) = report.transport() {
        info.ice_state = t.ice_state.to_string();
        info.ice_role = t.ice_role.to_string();
        info.dtls_state = t.dtls_state.to_string();
        // Janus's names: the DTLS client is "active", the server "passive".
        info.dtls_role = match t.dtls_role.to_string().as_str() {
            "client" => "active".into(),
            "server" => "passive".into(),
            other => other.into(),
        };
        info.srtp_profile = Some(t.srtp_cipher.clone()).filter(|c| !c.is_empty());
        info.transport_in = (t.packets_received, t.bytes_received);
        info.transport_out = (t.packets_sent, t.bytes_sent);
    }
    for entry in report.iter() {
        if let RTCStatsReportEntry::LocalCandidate(c) = entry {
            info.local_candidates.push(candidate_line(c));
        }
    }
    info.local_candidates.sort();
    // The peer's candidates: its SDP's and those it trickled (`rtc` reports none of them).
    let sdp_candidates = remote_sdp.iter().flat_map(|sdp| sdp.lines().filter_map(|l| l.strip_prefix("a=candidate:")));
    info.remote_candidates = sdp_candidates.map(String::from).chain(st.trickled.iter().cloned()).collect();
    // The selected pair, from where the leg sends (the pair's two addresses), each typed from
    // its candidate when listed (a peer-reflexive one is not).
    if let Some(route) = st.route {
        let to = route.to;
        let local = report.iter().find_map(|e| match e {
            RTCStatsReportEntry::LocalCandidate(c) if c.address.as_deref() == Some(&route.from.to_string()) => {
                Some(format!("{}:{} [{},{}]", route.from, c.port, c.candidate_type, c.protocol))
            }
            _ => None,
        });
        let typ = info
            .remote_candidates
            .iter()
            .map(|c| c.split_whitespace().collect::<Vec<_>>())
            .find(|w| {
                w.get(4) == Some(&to.ip().to_string().as_str()) && w.get(5) == Some(&to.port().to_string().as_str())
            })
            .and_then(|w| w.get(7).map(|t| t.to_string()))
            .unwrap_or_else(|| "prflx".into());
        let local = local.unwrap_or_else(|| format!("{} [host,udp]", route.from));
        info.selected_pair = Some(format!("{local} <-> {}:{} [{typ},udp]", to.ip(), to.port()));
    }
    // The m-lines, from our side of the negotiation.
    if let Some(sdp) = &local_sdp {
        if let Ok(desc) = SessionDescription::unmarshal(&mut Cursor::new(sdp.as_bytes())) {
            for (i, m) in desc.media_descriptions.iter().enumerate() {
                let mid = m.attribute("mid").flatten().unwrap_or_default().to_string();
                let has = |a: &str| m.attribute(a).is_some();
                let (send, recv) = if has("sendonly") {
                    (true, false)
                } else if has("recvonly") {
                    (false, true)
                } else if has("inactive") || m.media_name.port.value == 0 {
                    (false, false)
                } else {
                    (true, true)
                };
                let codec = m
                    .media_name
                    .formats
                    .first()
                    .and_then(|f| f.parse::<u8>().ok())
                    .and_then(|pt| desc.get_codec_for_payload_type(pt).ok().map(|c| (c.name.to_lowercase(), pt)));
                let kind = match m.media_name.media.as_str() {
                    "application" => "data".to_string(),
                    other => other.to_string(),
                };
                let nacks = kind == "video";
                info.streams.push(PeerStream {
                    mid,
                    mindex: i as u32,
                    kind,
                    codec,
                    send,
                    recv,
                    nacks,
                    ..PeerStream::default()
                });
            }
        }
    }
    for s in info.streams.iter_mut() {
        for inbound in report.inbound_rtp_streams().filter(|i| i.mid == s.mid) {
            let r = &inbound.received_rtp_stream_stats;
            s.ssrc_peer = Some(r.rtp_stream_stats.ssrc);
            s.packets_in += r.packets_received;
            s.bytes_in += inbound.bytes_received;
            s.lost_in += r.packets_lost;
            s.jitter_in = (r.jitter * 1000.0) as u32;
            s.nacks_sent += u64::from(inbound.nack_count);
            s.keyframe_requests_sent += u64::from(inbound.pli_count + inbound.fir_count);
        }
        for outbound in report.outbound_rtp_streams().filter(|o| o.mid == s.mid) {
            let sent = &outbound.sent_rtp_stream_stats;
            s.ssrc = Some(sent.rtp_stream_stats.ssrc);
            s.packets_out += sent.packets_sent;
            s.bytes_out += sent.bytes_sent;
            s.nacks_received += u64::from(outbound.nack_count);
            s.keyframe_requests_received += u64::from(outbound.pli_count + outbound.fir_count);
        }
        // What the leg forwarded itself, past the stack.
        if let Some(sender) = st.senders.get(&s.mid) {
            let (packets, bytes, nacked) = sender.counts();
            s.ssrc = Some(sender.ssrc);
            s.packets_out += packets;
            s.bytes_out += bytes;
            s.nacks_received += nacked;
        }
    }
    info.local_sdp = local_sdp;
    info.remote_sdp = remote_sdp;
    info
}
