//! `handle_info` in the shape Janus 1.1.2 gives it (`tests/janus-wire/handle_info_connected.jsonl`):
//! the session and handle, the plugin's view (`plugin_specific`), Janus's flags, the SDPs and
//! the PeerConnection's ICE, DTLS and per-stream counters. Times are microseconds on the
//! server's clock, as Janus's monotonic ones. What vroom does not have is left out rather than
//! made up; `tests/differential.rs` lists each such key and why.

use serde_json::{json, Map, Value};

use super::render;
use crate::core::introspect::{HandleInfo, PluginView};
use crate::core::seams::{PeerInfo, PeerStream};

const US: u64 = 1000;

fn transport_name(transport: u64) -> &'static str {
    if transport == crate::core::ids::HTTP_TRANSPORT {
        "janus.transport.http"
    } else {
        "janus.transport.websockets"
    }
}

fn plugin_specific(view: &PluginView, peer: Option<&PeerInfo>) -> Value {
    let codec_of = |kind: &str| {
        peer.and_then(|p| p.streams.iter().find(|s| s.kind == kind && s.codec.is_some()))
            .and_then(|s| s.codec.as_ref().map(|(c, _)| c.clone()))
    };
    let mut m = match view {
        PluginView::Idle => Map::new(),
        PluginView::Echo => {
            let mut m = Map::new();
            m.insert("audio_active".into(), true.into());
            m.insert("video_active".into(), true.into());
            for (key, kind) in [("audio_codec", "audio"), ("video_codec", "video")] {
                if let Some(c) = codec_of(kind) {
                    m.insert(key.into(), c.into());
                }
            }
            m.insert("bitrate".into(), 0.into());
            m.insert("peer-bitrate".into(), 0.into());
            m.insert("slowlink_count".into(), 0.into());
            m
        }
        PluginView::Publisher { room, id, private_id, display, bitrate, streams } => {
            let streams: Vec<Value> = streams
                .iter()
                .map(|(s, subscribers)| {
                    let mut v = render::stream_info(s);
                    v["subscribers"] = (*subscribers).into();
                    v
                })
                .collect();
            let mut m = json!({ "type": "publisher", "room": room, "id": id, "private_id": private_id,
                "bitrate": bitrate, "streams": streams });
            if let Some(d) = display {
                m["display"] = d.clone().into();
            }
            m.as_object().cloned().unwrap_or_default()
        }
        PluginView::Subscriber { room, streams, paused } => {
            let streams: Vec<Value> = streams.iter().map(render::sub_stream).collect();
            json!({ "type": "subscriber", "room": room, "paused": paused, "streams": streams })
                .as_object()
                .cloned()
                .unwrap_or_default()
        }
        PluginView::Left { room } => json!({ "type": "none", "left": room }).as_object().cloned().unwrap_or_default(),
    };
    m.insert("hangingup".into(), 0.into());
    m.insert("destroyed".into(), 0.into());
    Value::Object(m)
}

fn flags(peer: Option<&PeerInfo>) -> Value {
    let p = peer.cloned().unwrap_or_default();
    let has = |kind: &str| p.streams.iter().any(|s| s.kind == kind);
    let connected = p.connected_ms_ago.is_some();
    json!({
        "got-offer": p.remote_sdp.is_some(), "got-answer": p.local_sdp.is_some(),
        "negotiated": p.local_sdp.is_some() && p.remote_sdp.is_some(), "processing-offer": false,
        "starting": false, "ice-restart": false, "ready": connected, "stopped": false, "alert": false,
        "trickle": true, "all-trickles": false, "resend-trickles": false, "trickle-synced": false,
        "data-channels": has("data"), "has-audio": has("audio"), "has-video": has("video"),
        "new-datachan-sdp": false, "rfc4588-rtx": false, "cleaning": false, "e2ee": false,
    })
}

/// `a=extmap` ids of an SDP, by URI.
fn extensions(sdp: &str) -> Map<String, Value> {
    let mut m = Map::new();
    for l in sdp.lines().filter_map(|l| l.strip_prefix("a=extmap:")) {
        let mut w = l.split_whitespace();
        if let (Some(id), Some(uri)) = (w.next(), w.next()) {
            if let Ok(id) = id.split('/').next().unwrap_or(id).parse::<u32>() {
                m.insert(uri.into(), id.into());
            }
        }
    }
    m
}

/// The `a=msid` of m-line `mindex` of an SDP: (stream, track).
fn msid(sdp: &str, mindex: u32) -> Option<(String, String)> {
    let section = sdp.split("\r\nm=").nth(mindex as usize + 1)?;
    let line = section.lines().find_map(|l| l.strip_prefix("a=msid:"))?;
    let mut w = line.split_whitespace();
    Some((w.next()?.to_string(), w.next().unwrap_or_default().to_string()))
}

fn media(s: &PeerStream, remote_sdp: Option<&str>) -> Value {
    let mut m = json!({
        "type": s.kind, "mindex": s.mindex, "mid": s.mid, "do_nacks": s.nacks,
        "direction": { "send": s.send, "recv": s.recv },
        "stats": {
            "in": { "packets": s.packets_in, "bytes": s.bytes_in, "nacks": s.nacks_sent },
            "out": { "packets": s.packets_out, "bytes": s.bytes_out, "nacks": s.nacks_received },
        },
    });
    if let Some((stream, track)) = remote_sdp.and_then(|sdp| msid(sdp, s.mindex)) {
        m["msid"] = json!({ "remote-stream": stream, "remote-track": track });
    }
    let mut ssrc = Map::new();
    if let Some(v) = s.ssrc {
        ssrc.insert("ssrc".into(), v.into());
    }
    if let Some(v) = s.ssrc_peer {
        ssrc.insert("ssrc-peer".into(), v.into());
    }
    if !ssrc.is_empty() {
        m["ssrc"] = Value::Object(ssrc);
    }
    if let Some((codec, pt)) = &s.codec {
        m["codecs"] = json!({ "pt": pt, "codec": codec });
        let base = if s.kind == "audio" && codec != "opus" {
            8000
        } else if s.kind == "audio" {
            48000
        } else {
            90000
        };
        m["rtcp"] = json!({ "main": { "base": base, "lost": s.lost_in, "jitter-local": s.jitter_in } });
    }
    m
}

fn webrtc(p: &PeerInfo, now_ms: u64) -> Value {
    let at = |ms_ago: u64| now_ms.saturating_sub(ms_ago) * US;
    let connected = p.connected_ms_ago.map(at);
    let mut ice = json!({
        "stream_id": 1, "component_id": 1, "state": p.ice_state, "gathered": at(p.age_ms),
        "local-candidates": p.local_candidates, "remote-candidates": p.remote_candidates,
        "ready": if connected.is_some() { 1 } else { 0 },
    });
    if let Some(c) = connected {
        ice["connected"] = c.into();
    }
    if let Some(pair) = &p.selected_pair {
        ice["selected-pair"] = pair.clone().into();
    }
    let mut dtls = json!({
        "dtls-role": p.dtls_role, "dtls-state": p.dtls_state, "valid": connected.is_some(),
        "ready": connected.is_some(), "sctp-association": p.streams.iter().any(|s| s.kind == "data" && s.send),
        "stats": {
            "in": { "packets": p.transport_in.0, "bytes": p.transport_in.1 },
            "out": { "packets": p.transport_out.0, "bytes": p.transport_out.1 },
        },
    });
    if let Some(f) = &p.fingerprint {
        dtls["fingerprint"] = f.clone().into();
    }
    if let Some(f) = &p.remote_fingerprint {
        dtls["remote-fingerprint"] = f.clone().into();
        dtls["remote-fingerprint-hash"] = "sha-256".into();
    }
    if let Some(s) = &p.srtp_profile {
        dtls["srtp-profile"] = s.clone().into();
    }
    if let Some(c) = connected {
        dtls["connected"] = c.into();
    }
    let extensions = extensions(p.local_sdp.as_deref().unwrap_or_default());
    let twcc = extensions.get("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").cloned();
    let media: Map<String, Value> = p
        .streams
        .iter()
        .filter(|s| s.kind != "data")
        .map(|s| (s.mindex.to_string(), media(s, p.remote_sdp.as_deref())))
        .collect();
    json!({
        "ice": ice, "dtls": dtls, "extensions": extensions,
        "bwe": { "twcc": twcc.is_some(), "twcc-ext-id": twcc.unwrap_or(0.into()) },
        "media": media,
    })
}

/// The `info` of a `handle_info` reply; with `plugin_only`, up to `plugin_specific`.
pub fn handle_info(i: &HandleInfo, session_timeout_s: u64, plugin_only: bool) -> Value {
    let mut m = Map::new();
    m.insert("session_id".into(), i.session.into());
    m.insert("session_last_activity".into(), (i.session_last_activity_ms * US).into());
    m.insert("session_timeout".into(), session_timeout_s.into());
    m.insert("session_transport".into(), transport_name(i.session_transport).into());
    m.insert("handle_id".into(), i.handle.into());
    if let Some(o) = &i.opaque_id {
        m.insert("opaque_id".into(), o.clone().into());
    }
    m.insert("loop-running".into(), true.into());
    m.insert("created".into(), (i.created_ms * US).into());
    m.insert("current_time".into(), (i.now_ms * US).into());
    m.insert("plugin".into(), i.plugin.package().into());
    m.insert("plugin_specific".into(), plugin_specific(&i.view, i.peer.as_ref()));
    if plugin_only {
        return Value::Object(m);
    }
    m.insert("flags".into(), flags(i.peer.as_ref()));
    match &i.peer {
        Some(p) => {
            m.insert("agent-created".into(), (i.now_ms.saturating_sub(p.age_ms) * US).into());
            m.insert("agent-started".into(), (i.now_ms.saturating_sub(p.age_ms) * US).into());
            m.insert("ice-mode".into(), "full".into());
            m.insert("ice-role".into(), p.ice_role.clone().into());
            let mut sdps = json!({ "profile": "UDP/TLS/RTP/SAVPF" });
            if let Some(l) = &p.local_sdp {
                sdps["local"] = l.clone().into();
            }
            if let Some(r) = &p.remote_sdp {
                sdps["remote"] = r.clone().into();
            }
            m.insert("sdps".into(), sdps);
            m.insert("queued-packets".into(), 0.into());
            m.insert("webrtc".into(), webrtc(p, i.now_ms));
        }
        None => {
            m.insert("sdps".into(), json!({}));
            m.insert("queued-packets".into(), 0.into());
        }
    }
    Value::Object(m)
}

/// The admin API's `accounting`: vroom's own request, flat counts grouped by who holds them.
pub fn accounting(a: &crate::observe::accounting::Accounting) -> Value {
    let c = &a.core;
    let p = &a.process;
    let mut v = json!({
        "core": {
            "sessions": c.sessions, "handles": c.handles, "queued_events": c.queued_events, "rooms": c.rooms,
            "participants": c.participants, "publishers": c.publishers, "subscribers": c.subscribers,
        },
        "process": {
            "open_fds": p.open_fds, "threads": p.threads, "resident_bytes": p.resident_bytes,
            "cpu_seconds": p.cpu.as_secs_f64(), "tokio_tasks": a.tokio_tasks,
        },
        "media": null,
    });
    if let Some(m) = &a.media {
        v["media"] = json!({
            "connecting": m.connecting, "connected": m.connected, "legs_alive": m.legs_alive,
            "timers": m.timers, "routes": m.routes, "news_waiting": m.news_waiting,
        });
    }
    v
}
