//! The core's typed results and events in the JSON shapes Janus 1.1.2 sends.

use serde_json::{json, Map, Value};

use crate::core::event::{
    Attendee, EchoEvent, Jsep, MediaKind, PublisherInfo, RoomEvent, SdpKind, StreamInfo, SubStreamInfo,
};
use crate::core::ids::SessionId;
use crate::core::room::{ParticipantInfo, RoomInfo};
use crate::core::{Error, Event, EventBody, Plugin};

fn kind(k: &MediaKind) -> &'static str {
    match k {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Data => "data",
    }
}

/// Inserts `value` under `key` unless it is `None`.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.into(), v);
    }
}

/// Janus's `vp9_profile` / `h264_profile` of a video stream, when its codec has one.
fn put_profile(m: &mut Map<String, Value>, codec: Option<&str>, profile: Option<&str>) {
    let key = match codec {
        Some("vp9") => "vp9_profile",
        Some("h264") => "h264_profile",
        _ => return,
    };
    put(m, key, profile.map(Value::from));
}

pub(crate) fn stream_info(s: &StreamInfo) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), kind(&s.kind).into());
    m.insert("mindex".into(), s.mindex.into());
    m.insert("mid".into(), s.mid.clone().into());
    put(&mut m, "codec", s.codec.clone().map(Value::from));
    put_profile(&mut m, s.codec.as_deref(), s.profile.as_deref());
    put(&mut m, "description", s.description.clone().map(Value::from));
    put(&mut m, "disabled", s.disabled.then_some(true.into()));
    put(&mut m, "moderated", s.moderated.then_some(true.into()));
    put(&mut m, "simulcast", s.simulcast.then_some(true.into()));
    put(&mut m, "svc", s.svc.then_some(true.into()));
    Value::Object(m)
}

/// A publisher in `joined`: as in the `publishers` event, and whether it is talking, per
/// audio stream with the audio level extension and in all, as Janus lists them there.
fn joined_publisher(p: &PublisherInfo) -> Value {
    let mut v = publisher(p);
    let levels: Vec<(usize, bool)> = p.streams.iter().enumerate().filter_map(|(i, s)| Some((i, s.talking?))).collect();
    for (i, talking) in &levels {
        v["streams"][*i]["talking"] = (*talking).into();
    }
    if !levels.is_empty() {
        v["talking"] = levels.iter().any(|(_, t)| *t).into();
    }
    v
}

pub fn publisher(p: &PublisherInfo) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), p.id.into());
    put(&mut m, "display", p.display.clone().map(Value::from));
    put(&mut m, "dummy", p.dummy.then_some(true.into()));
    for (field, kind) in [("audio_codec", MediaKind::Audio), ("video_codec", MediaKind::Video)] {
        put(&mut m, field, p.streams.iter().find(|s| s.kind == kind).and_then(|s| s.codec.clone()).map(Value::from));
    }
    m.insert("streams".into(), p.streams.iter().map(stream_info).collect());
    Value::Object(m)
}

fn attendee(a: &Attendee) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), a.id.into());
    put(&mut m, "display", a.display.clone().map(Value::from));
    Value::Object(m)
}

pub(crate) fn sub_stream(s: &SubStreamInfo) -> Value {
    let mut m = Map::new();
    m.insert("mindex".into(), s.mindex.into());
    m.insert("mid".into(), s.mid.clone().into());
    m.insert("type".into(), kind(&s.kind).into());
    if s.kind == MediaKind::Data {
        m.insert("sources".into(), s.sources.len().into());
        m.insert("source_ids".into(), s.sources.iter().map(|(feed, _)| *feed).collect::<Vec<_>>().into());
    } else {
        m.insert("feed_id".into(), s.feed_id.into());
        m.insert("feed_mid".into(), s.feed_mid.clone().into());
        put(&mut m, "feed_display", s.feed_display.clone().map(Value::from));
        put(&mut m, "codec", s.codec.clone().map(Value::from));
        put_profile(&mut m, s.codec.as_deref(), s.profile.as_deref());
    }
    m.insert("active".into(), s.active.into());
    m.insert("send".into(), s.send.into());
    m.insert("ready".into(), s.ready.into());
    Value::Object(m)
}

pub fn participant(p: &ParticipantInfo) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), p.id.into());
    put(&mut m, "display", p.display.clone().map(Value::from));
    put(&mut m, "dummy", p.dummy.then_some(true.into()));
    m.insert("publisher".into(), p.publisher.into());
    put(&mut m, "talking", p.talking.map(Value::from));
    Value::Object(m)
}

/// An entry of `list`.
pub fn room(r: &RoomInfo) -> Value {
    let c = &r.config;
    let mut m = json!({
        "room": r.room,
        "description": c.description_or_default(r.room),
        "pin_required": c.pin.is_some(),
        "is_private": c.is_private,
        "max_publishers": c.max_publishers,
        "bitrate": c.bitrate,
        "fir_freq": c.fir_freq,
        "require_pvtid": c.require_pvtid,
        "require_e2ee": c.require_e2ee,
        "dummy_publisher": c.dummy_publisher,
        "notify_joining": c.notify_joining,
        "audiocodec": c.audiocodec,
        "videocodec": c.videocodec,
        "opus_fec": c.opus_fec,
        "record": c.record,
        "lock_record": c.lock_record,
        "num_participants": r.num_participants,
        "audiolevel_ext": c.audiolevel_ext,
        "audiolevel_event": c.audiolevel_event,
        "videoorient_ext": c.videoorient_ext,
        "playoutdelay_ext": c.playoutdelay_ext,
        "transport_wide_cc_ext": c.transport_wide_cc_ext,
    });
    if c.videocodec.contains("vp9") {
        m["video_svc"] = c.video_svc.into();
    }
    if c.adaptive_layers {
        m["adaptive_layers"] = true.into();
    }
    m
}

/// Adds a publisher's own streams, and its audio and video codecs, to a reply.
fn with_streams(mut m: Value, streams: Option<&[StreamInfo]>) -> Value {
    if let Some(streams) = streams {
        m["streams"] = streams.iter().map(stream_info).collect();
        for (field, k) in [("audio_codec", MediaKind::Audio), ("video_codec", MediaKind::Video)] {
            if let Some(c) = streams.iter().find(|s| s.kind == k).and_then(|s| s.codec.clone()) {
                m[field] = c.into();
            }
        }
    }
    m
}

/// The `data` of a VideoRoom event.
pub fn room_event(e: &RoomEvent) -> Value {
    use RoomEvent::*;
    match e {
        Joined { room, description, id, private_id, publishers, attendees, streams, talk } => {
            let mut m = json!({
                "videoroom": "joined", "room": room, "description": description, "id": id,
                "private_id": private_id, "publishers": publishers.iter().map(joined_publisher).collect::<Vec<_>>(),
            });
            let o = m.as_object_mut().expect("an object");
            put(o, "audio_active_packets", talk.0.map(Value::from));
            put(o, "audio_level_average", talk.1.map(Value::from));
            if let Some(a) = attendees {
                m["attendees"] = a.iter().map(attendee).collect();
            }
            with_streams(m, streams.as_deref())
        }
        Configured { room, streams } => {
            with_streams(json!({ "videoroom": "event", "room": room, "configured": "ok" }), streams.as_deref())
        }
        UnpublishedOk { room } => json!({ "videoroom": "event", "room": room, "unpublished": "ok" }),
        LeavingOk { room, kicked: false } => json!({ "videoroom": "event", "room": room, "leaving": "ok" }),
        LeavingOk { room, kicked: true } => {
            json!({ "videoroom": "event", "room": room, "leaving": "ok", "reason": "kicked" })
        }
        Attached { room, streams } => {
            json!({ "videoroom": "attached", "room": room, "streams": streams.iter().map(sub_stream).collect::<Vec<_>>() })
        }
        Started { room } => json!({ "videoroom": "event", "room": room, "started": "ok" }),
        Paused { room } => json!({ "videoroom": "event", "room": room, "paused": "ok" }),
        Updated { room, streams } => {
            json!({ "videoroom": "updated", "room": room, "streams": streams.iter().map(sub_stream).collect::<Vec<_>>() })
        }
        Updating { room } => json!({ "videoroom": "updating", "room": room }),
        Switched { room, changes, streams } => json!({
            "videoroom": "event", "room": room, "switched": "ok", "changes": changes,
            "streams": streams.iter().map(sub_stream).collect::<Vec<_>>(),
        }),
        Left { room } => json!({ "videoroom": "event", "room": room, "left": "ok" }),
        NewPublishers { room, publishers } => {
            json!({ "videoroom": "event", "room": room, "publishers": publishers.iter().map(publisher).collect::<Vec<_>>() })
        }
        Unpublished { room, id } => json!({ "videoroom": "event", "room": room, "unpublished": id }),
        Leaving { room, id } => json!({ "videoroom": "event", "room": room, "leaving": id }),
        Joining { room, id, display } => {
            let mut who = json!({ "id": id });
            if let Some(d) = display {
                who["display"] = d.clone().into();
            }
            json!({ "videoroom": "event", "room": room, "joining": who })
        }
        Kicked { room, id } => json!({ "videoroom": "event", "room": room, "kicked": id }),
        Display { id, display } => json!({ "videoroom": "event", "id": id, "display": display }),
        Moderation { room, id, mid, muted } => json!({
            "videoroom": "event", "room": room, "id": id, "moderation": if *muted { "muted" } else { "unmuted" }, "mid": mid,
        }),
        Layer { room, mid, svc, substream, temporal } => {
            let mut e = json!({ "videoroom": "event", "room": room, "mid": mid });
            let (spatial_name, temporal_name) = layer_names(*svc);
            put(e.as_object_mut().expect("an object"), spatial_name, substream.map(Value::from));
            put(e.as_object_mut().expect("an object"), temporal_name, temporal.map(Value::from));
            e
        }
        Talking { room, id, mindex, mid, talking, level_sum, packets } => json!({
            "videoroom": if *talking { "talking" } else { "stopped-talking" }, "room": room, "id": id,
            "mindex": mindex, "mid": mid, "audio-level-dBov-avg": *level_sum as f64 / f64::from((*packets).max(1)),
        }),
        SlowLink { current_bitrate: None } => json!({ "videoroom": "slow_link" }),
        SlowLink { current_bitrate: Some(b) } => json!({ "videoroom": "slow_link", "current-bitrate": b }),
        Destroyed { room } => json!({ "videoroom": "destroyed", "room": room }),
    }
}

/// What a layer event calls the layers: an SVC stream's spatial and temporal layers, or a
/// simulcast stream's substream and temporal layer.
fn layer_names(svc: bool) -> (&'static str, &'static str) {
    if svc {
        ("spatial_layer", "temporal_layer")
    } else {
        ("substream", "temporal")
    }
}

/// A plugin error, as Janus puts it in `plugindata.data`.
pub fn plugin_error(plugin: Plugin, e: &Error) -> Value {
    let (field, code) = match plugin {
        Plugin::VideoRoom => ("videoroom", e.code()),
        Plugin::EchoTest => ("echotest", echotest_code(e)),
    };
    json!({ field: "event", "error_code": code, "error": e.to_string() })
}

/// EchoTest's own codes (411-414, 499) for the errors it can meet.
fn echotest_code(e: &Error) -> u16 {
    match e {
        Error::InvalidElement(_) | Error::MissingElement(_) | Error::OutOfRange(_) => 413,
        Error::InvalidSdp(_) => 414,
        _ => 499,
    }
}

pub fn jsep(j: &Jsep) -> Value {
    let kind = match j.kind {
        SdpKind::Offer => "offer",
        SdpKind::Answer => "answer",
    };
    json!({ "type": kind, "sdp": j.sdp })
}

/// A plugin's reply or notification as a whole Janus message.
pub fn plugin_message(
    janus: &str,
    session: SessionId,
    transaction: Option<&str>,
    sender: u64,
    plugin: Plugin,
    data: Value,
    jsep_: Option<&Jsep>,
) -> Value {
    let mut m = json!({
        "janus": janus, "session_id": session, "sender": sender,
        "plugindata": { "plugin": plugin.package(), "data": data },
    });
    if let Some(t) = transaction {
        m["transaction"] = t.into();
    }
    if let Some(j) = jsep_ {
        m["jsep"] = jsep(j);
    }
    m
}

/// An event from a session's queue, as Janus sends it.
pub fn event(session: SessionId, e: &Event) -> Value {
    let sender = e.sender.unwrap_or_default();
    let txn = e.transaction.as_deref();
    match &e.body {
        EventBody::Timeout => json!({ "janus": "timeout", "session_id": session }),
        EventBody::Detached => json!({ "janus": "detached", "session_id": session, "sender": sender }),
        EventBody::WebrtcUp => json!({ "janus": "webrtcup", "session_id": session, "sender": sender }),
        EventBody::Media { mid, kind: k, receiving } => json!({
            "janus": "media", "session_id": session, "sender": sender,
            "mid": mid, "type": kind(k), "receiving": receiving,
        }),
        EventBody::SlowLink { mid, kind: k, uplink, lost } => json!({
            "janus": "slowlink", "session_id": session, "sender": sender,
            "mid": mid, "media": kind(k), "uplink": uplink, "lost": lost,
        }),
        EventBody::Hangup { reason } => {
            json!({ "janus": "hangup", "session_id": session, "sender": sender, "reason": reason })
        }
        EventBody::PluginError { plugin, error } => {
            plugin_message("event", session, txn, sender, *plugin, plugin_error(*plugin, error), None)
        }
        EventBody::VideoRoom(r) => {
            plugin_message("event", session, txn, sender, Plugin::VideoRoom, room_event(r), e.jsep.as_ref())
        }
        EventBody::EchoTest(EchoEvent::Result(result)) => {
            let data = json!({ "echotest": "event", "result": result });
            plugin_message("event", session, txn, sender, Plugin::EchoTest, data, e.jsep.as_ref())
        }
        EventBody::EchoTest(EchoEvent::Layer { videocodec, svc, substream, temporal }) => {
            let mut data = json!({ "echotest": "event", "videocodec": videocodec });
            let (spatial_name, temporal_name) = layer_names(*svc);
            put(data.as_object_mut().expect("an object"), spatial_name, substream.map(Value::from));
            put(data.as_object_mut().expect("an object"), temporal_name, temporal.map(Value::from));
            plugin_message("event", session, txn, sender, Plugin::EchoTest, data, None)
        }
    }
}
