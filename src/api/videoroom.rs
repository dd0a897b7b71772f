//! `janus.plugin.videoroom`: requests read from JSON, carried out by the core, answered in
//! Janus's shapes. Synchronous requests answer in the `success`; asynchronous ones get an `ack`
//! and their result (or error) as an event with the same transaction.

use std::net::{IpAddr, SocketAddr};

use serde_json::{json, Value};

use super::fields::Fields;
use super::render;
use super::{Api, PluginReply};
use crate::core::event::{EventBody, Jsep, LayerChoice, SdpKind};
use crate::core::room::{
    AllowedAction, FeedSel, ForwardRequest, ForwardStream, JoinPublisher, JoinedAs, Publish, PublisherConfigure,
    RecordWish, RoomConfig, RoomEdit, StreamConfigure, SubscribeJoin, SwitchSel, TalkOverrides, UnsubSel,
};
use crate::core::{Error, Handle, Plugin, Result};
use crate::media::sdp;
use crate::sync::Runtime;

const SYNC: &[&str] = &[
    "create",
    "edit",
    "destroy",
    "exists",
    "list",
    "listparticipants",
    "allowed",
    "kick",
    "moderate",
    "enable_recording",
    "listforwarders",
    "rtp_forward",
    "stop_rtp_forward",
];

const ASYNC: &[&str] = &[
    "join",
    "joinandconfigure",
    "configure",
    "publish",
    "unpublish",
    "start",
    "pause",
    "switch",
    "subscribe",
    "unsubscribe",
    "update",
    "leave",
];

impl<R: Runtime> Api<R> {
    pub(crate) fn videoroom(&self, h: &Handle<R>, body: Fields<'_>, jsep: Option<Jsep>, txn: &str) -> PluginReply {
        let request = match body.req_str("request") {
            Ok(r) => r,
            Err(e) => return PluginReply::Sync(render::plugin_error(Plugin::VideoRoom, &e)),
        };
        if !ASYNC.contains(&request) && !SYNC.contains(&request) {
            let e = Error::InvalidRequest(format!("Unknown request '{request}'"));
            return PluginReply::Sync(render::plugin_error(Plugin::VideoRoom, &e));
        }
        if SYNC.contains(&request) {
            let data =
                self.videoroom_sync(request, body).unwrap_or_else(|e| render::plugin_error(Plugin::VideoRoom, &e));
            return PluginReply::Sync(data);
        }
        if let Err(e) = self.videoroom_async(h, request, body, jsep, Some(txn.to_string())) {
            h.send(Some(txn.to_string()), EventBody::PluginError { plugin: Plugin::VideoRoom, error: e });
        }
        PluginReply::Async
    }

    /// A request of the admin API's `message_plugin`: the VideoRoom answers its synchronous
    /// requests (create, list, listparticipants, ...), as Janus's `handle_admin_message` does.
    pub(crate) fn videoroom_admin(&self, body: Fields<'_>) -> Value {
        let reply = body.req_str("request").and_then(|request| {
            if SYNC.contains(&request) {
                self.videoroom_sync(request, body)
            } else {
                Err(Error::InvalidRequest(format!("Unknown request '{request}'")))
            }
        });
        reply.unwrap_or_else(|e| render::plugin_error(Plugin::VideoRoom, &e))
    }

    fn videoroom_sync(&self, request: &str, b: Fields<'_>) -> Result<Value> {
        let core = &self.core;
        let secret = || b.str("secret");
        Ok(match request {
            "create" => {
                let config = room_config(b)?;
                let room = core.create_room(b.u64("room")?, config, b.str("admin_key")?)?;
                json!({ "videoroom": "created", "room": room, "permanent": false })
            }
            "edit" => {
                let room = b.req_u64("room")?;
                let edit = RoomEdit {
                    description: b.string("new_description")?,
                    secret: b.string("new_secret")?,
                    pin: b.string("new_pin")?,
                    is_private: b.bool("new_is_private")?,
                    require_pvtid: b.bool("new_require_pvtid")?,
                    bitrate: b.u32("new_bitrate")?,
                    fir_freq: b.u32("new_fir_freq")?,
                    max_publishers: b.u32("new_publishers")?,
                    lock_record: b.bool("new_lock_record")?,
                    rec_dir: b.string("new_rec_dir")?,
                };
                core.edit_room(room, secret()?, edit)?;
                json!({ "videoroom": "edited", "room": room, "permanent": false })
            }
            "destroy" => {
                let room = b.req_u64("room")?;
                core.destroy_room(room, secret()?)?;
                json!({ "videoroom": "destroyed", "room": room, "permanent": false })
            }
            "exists" => {
                let room = b.req_u64("room")?;
                json!({ "videoroom": "success", "room": room, "exists": core.room_exists(room) })
            }
            "list" => {
                let list: Vec<Value> = core.list_rooms(b.str("admin_key")?).iter().map(render::room).collect();
                json!({ "videoroom": "success", "list": list })
            }
            "listparticipants" => {
                let room = b.req_u64("room")?;
                let list: Vec<Value> = core.list_participants(room)?.iter().map(render::participant).collect();
                json!({ "videoroom": "participants", "room": room, "participants": list })
            }
            "allowed" => {
                let room = b.req_u64("room")?;
                let action = match b.req_str("action")? {
                    "enable" => AllowedAction::Enable,
                    "disable" => AllowedAction::Disable,
                    "add" => AllowedAction::Add,
                    "remove" => AllowedAction::Remove,
                    _ => return Err(Error::InvalidValue("action")),
                };
                let tokens = b.strings("allowed")?.unwrap_or_default();
                if matches!(action, AllowedAction::Add | AllowedAction::Remove) && tokens.is_empty() {
                    return Err(Error::MissingElement("allowed"));
                }
                match core.allowed(room, secret()?, action, &tokens)? {
                    Some(allowed) => json!({ "videoroom": "success", "room": room, "allowed": allowed }),
                    None => json!({ "videoroom": "success", "room": room }),
                }
            }
            "kick" => {
                let (room, id) = (b.req_u64("room")?, b.req_u64("id")?);
                core.kick(room, secret()?, id)?;
                json!({ "videoroom": "success" })
            }
            "enable_recording" => {
                let room = b.req_u64("room")?;
                let record = b.bool("record")?.ok_or(Error::MissingElement("record"))?;
                core.enable_recording(room, secret()?, record)?;
                json!({ "videoroom": "success", "record": record })
            }
            "moderate" => {
                let (room, id, mid) = (b.req_u64("room")?, b.req_u64("id")?, b.req_str("mid")?);
                let mute = b.bool("mute")?.ok_or(Error::MissingElement("mute"))?;
                core.moderate(room, secret()?, id, mid, mute)?;
                json!({ "videoroom": "success" })
            }
            "listforwarders" => {
                let room = b.req_u64("room")?;
                let publishers: Vec<Value> = core
                    .list_forwarders(room, secret()?)?
                    .into_iter()
                    .map(|(id, fwds)| json!({ "publisher_id": id, "forwarders": fwds.iter().map(forwarder).collect::<Vec<_>>() }))
                    .collect();
                json!({ "videoroom": "forwarders", "room": room, "publishers": publishers })
            }
            "rtp_forward" => {
                let (room, publisher) = (b.req_u64("room")?, b.req_u64("publisher_id")?);
                let host = b.req_str("host")?;
                let mut streams = Vec::new();
                for s in b.objects("streams")? {
                    let ip: IpAddr = s.str("host")?.unwrap_or(host).parse().map_err(|_| Error::InvalidValue("host"))?;
                    if s.bool("simulcast")? == Some(true) {
                        // Janus's single forwarder that follows substreams as a subscriber does.
                        return Err(Error::InvalidRequest(
                            "simulcast forwarders are not supported: use port, port_2 and port_3".into(),
                        ));
                    }
                    let mid = s.req_str("mid")?;
                    let port = |name| Ok::<_, Error>(s.u32(name)?.filter(|p| *p <= 65535).map(|p| p as u16));
                    let first = port("port")?.ok_or(Error::MissingElement("port"))?;
                    for (substream, port) in [(0, Some(first)), (1, port("port_2")?), (2, port("port_3")?)] {
                        if let Some(port) = port {
                            let target = SocketAddr::new(ip, port);
                            streams.push(ForwardStream { mid: mid.to_string(), target, substream });
                        }
                    }
                }
                if streams.is_empty() {
                    return Err(Error::MissingElement("streams"));
                }
                let secret = secret()?.map(String::from);
                let made = core.rtp_forward(ForwardRequest { room, secret, publisher, streams })?;
                let fwds: Vec<Value> = made.iter().map(forwarder).collect();
                json!({ "videoroom": "rtp_forward", "room": room, "publisher_id": publisher, "forwarders": fwds })
            }
            "stop_rtp_forward" => {
                let (room, publisher) = (b.req_u64("room")?, b.req_u64("publisher_id")?);
                let stream_id = b.req_u64("stream_id")? as u32;
                core.stop_rtp_forward(room, secret()?, publisher, stream_id)?;
                json!({ "videoroom": "stop_rtp_forward", "room": room, "publisher_id": publisher, "stream_id": stream_id })
            }
            _ => unreachable!("only the requests in SYNC come here"),
        })
    }

    fn videoroom_async(
        &self,
        h: &Handle<R>,
        request: &str,
        b: Fields<'_>,
        jsep: Option<Jsep>,
        txn: Option<String>,
    ) -> Result<()> {
        let core = &self.core;
        // A publisher's offer, with the room's VP9 and H.264 profiles chosen in it.
        let offer = |jsep: &Option<Jsep>, room: Option<crate::core::ids::RoomId>| -> Result<Option<Publish>> {
            match jsep {
                Some(j) if j.kind == SdpKind::Offer => {
                    let rules = room.map(|r| core.offer_rules(r)).unwrap_or_default();
                    let (vp9, h264) = (rules.vp9_profile.as_deref(), rules.h264_profile.as_deref());
                    let mut sdp = sdp::prefer_profiles(&j.sdp, vp9, h264);
                    // The publisher's `videocodec`, else the room's first that is offered, is
                    // the one answered (as Janus chooses).
                    let codecs = match b.str("videocodec")? {
                        Some(codec) => vec![codec.to_string()],
                        None => rules.videocodecs,
                    };
                    for codec in codecs.iter().rev() {
                        sdp = sdp::prefer_codec(&sdp, codec);
                    }
                    // A room without `audiolevel_ext` does not negotiate the audio level.
                    if !rules.audio_level {
                        sdp = sdp::without_extension(&sdp, sdp::AUDIO_LEVEL_URI);
                    }
                    let offered = sdp::parse_offer(&sdp).map_err(Error::InvalidSdp)?;
                    let mut streams = sdp::publisher_streams(&offered);
                    for (mid, text) in descriptions(b)? {
                        if let Some(s) = streams.iter_mut().find(|s| s.mid == mid) {
                            s.description = Some(text);
                        }
                    }
                    Ok(Some(Publish {
                        streams,
                        display: b.string("display")?,
                        offer: sdp,
                        talk: talk_overrides(b)?,
                        record: record_wish(b)?,
                    }))
                }
                Some(_) => Err(Error::InvalidRequest("Unexpected JSEP type: answer".into())),
                None => Ok(None),
            }
        };
        let role = core.joined_as(h);
        if role == JoinedAs::Nothing && !matches!(request, "join" | "joinandconfigure") {
            return Err(Error::JoinFirst);
        }
        match request {
            "join" | "joinandconfigure" => match b.str("ptype")? {
                None => Err(Error::MissingElement("ptype")),
                Some("publisher") => {
                    let join = JoinPublisher {
                        room: b.req_u64("room")?,
                        id: b.u64("id")?,
                        display: b.string("display")?,
                        pin: b.string("pin")?,
                        token: b.string("token")?,
                        talk: talk_overrides(b)?,
                    };
                    match offer(&jsep, Some(join.room))? {
                        Some(publish) if request == "joinandconfigure" => core.join_and_publish(h, join, publish, txn),
                        _ => core.join_publisher(h, join, txn),
                    }
                }
                Some("subscriber") if request == "join" => {
                    let room = b.req_u64("room")?;
                    let streams = feed_selection(b)?;
                    let private_id = b.u64("private_id")?.map(|p| p as u32);
                    core.join_subscriber(h, SubscribeJoin { room, pin: b.string("pin")?, private_id, streams }, txn)
                }
                Some(_) => Err(Error::InvalidValue("ptype")),
            },
            "publish" | "configure" if role != JoinedAs::Subscriber => match offer(&jsep, core.room_of(h))? {
                Some(publish) => core.publish(h, publish, txn),
                None => {
                    let configure = PublisherConfigure {
                        display: b.string("display")?,
                        descriptions: descriptions(b)?,
                        talk: talk_overrides(b)?,
                        record: record_wish(b)?,
                    };
                    core.configure_publisher(h, configure, txn)
                }
            },
            "configure" => {
                let entry = |s: Fields<'_>| -> Result<StreamConfigure> {
                    Ok(StreamConfigure { mid: s.string("mid")?, send: s.bool("send")?, layers: layer_choice(s)? })
                };
                let streams = b.objects("streams")?;
                let changes = match streams.len() {
                    // The older form: one stream's fields at the top level.
                    0 => vec![entry(b)?],
                    1 => vec![entry(streams[0])?],
                    _ => streams
                        .into_iter()
                        .map(|s| match s.string("mid")? {
                            Some(_) => entry(s),
                            None => Err(Error::OutOfRange("mid can't be null in a streams array")),
                        })
                        .collect::<Result<_>>()?,
                };
                core.configure_subscriber(h, &changes, txn)
            }
            "unpublish" => core.unpublish(h, txn),
            "leave" => core.leave(h, txn),
            "start" => match &jsep {
                Some(j) if j.kind != SdpKind::Answer => {
                    Err(Error::InvalidRequest("Unexpected JSEP type: offer".into()))
                }
                _ => core.start(h, jsep.as_ref().map(|j| j.sdp.as_str()), txn),
            },
            "pause" => core.pause(h, txn),
            "switch" => {
                let mut sels = Vec::new();
                for s in b.objects("streams")? {
                    let feed = s.req_u64("feed")?;
                    sels.push(SwitchSel {
                        feed,
                        mid: s.req_str("mid")?.to_string(),
                        sub_mid: s.req_str("sub_mid")?.to_string(),
                    });
                }
                if sels.is_empty() {
                    return Err(Error::MissingElement("streams"));
                }
                core.switch(h, &sels, txn)
            }
            "subscribe" => core.update_subscription(h, &feeds(b, "streams")?, &[], txn),
            "unsubscribe" => core.update_subscription(h, &[], &unsubscriptions(b, "streams")?, txn),
            "update" => {
                let (add, drop) = (feeds(b, "subscribe")?, unsubscriptions(b, "unsubscribe")?);
                if add.is_empty() && drop.is_empty() {
                    return Err(Error::MissingElement("subscribe|unsubscribe"));
                }
                core.update_subscription(h, &add, &drop, txn)
            }
            _ => unreachable!("only the requests in ASYNC come here"),
        }
    }
}

/// A subscriber join's feeds: `streams`, or the legacy single `feed`.
/// A publisher's `descriptions`: (mid, description) pairs.
fn descriptions(b: Fields<'_>) -> Result<Vec<(String, String)>> {
    b.objects("descriptions")?
        .into_iter()
        .map(|d| Ok((d.req_str("mid")?.to_string(), d.req_str("description")?.to_string())))
        .collect()
}

/// A publisher's `record` and `filename` (and the room's `secret`, for `lock_record`).
fn record_wish(b: Fields<'_>) -> Result<RecordWish> {
    Ok(RecordWish { record: b.bool("record")?, filename: b.string("filename")?, secret: b.string("secret")? })
}

/// A publisher's own `audio_active_packets` and `audio_level_average`.
fn talk_overrides(b: Fields<'_>) -> Result<TalkOverrides> {
    Ok(TalkOverrides { packets: b.u32("audio_active_packets")?, average: b.u32("audio_level_average")? })
}

fn feed_selection(b: Fields<'_>) -> Result<Vec<FeedSel>> {
    let streams = feeds(b, "streams")?;
    if !streams.is_empty() {
        return Ok(streams);
    }
    match b.u64("feed")? {
        Some(feed) => Ok(vec![FeedSel { feed, mid: None, layers: layer_choice(b)? }]),
        None => Err(Error::MissingElement("feed")),
    }
}

fn feeds(b: Fields<'_>, name: &str) -> Result<Vec<FeedSel>> {
    b.objects(name)?
        .into_iter()
        .map(|s| Ok(FeedSel { feed: s.req_u64("feed")?, mid: s.string("mid")?, layers: layer_choice(s)? }))
        .collect()
}

/// A request's simulcast fields, checked as Janus checks them.
fn layer_choice(b: Fields<'_>) -> Result<LayerChoice> {
    // Simulcast's names, or SVC's (one slot each: a stream is one or the other).
    let layer = |names: [&str; 2], rule: &'static str| {
        let given = match b.u32(names[0])? {
            None => b.u32(names[1])?,
            v => v,
        };
        match given {
            Some(v) if v > 2 => Err(Error::OutOfRange(rule)),
            v => Ok(v.map(|v| v as u8)),
        }
    };
    Ok(LayerChoice {
        substream: layer(["substream", "spatial_layer"], "substream/spatial_layer should be 0, 1 or 2")?,
        temporal: layer(["temporal", "temporal_layer"], "temporal/temporal_layer should be 0, 1 or 2")?,
        fallback_us: b.u32("fallback")?.map(u64::from),
        adaptive: b.bool("adaptive_layers")?,
    })
}

fn unsubscriptions(b: Fields<'_>, name: &str) -> Result<Vec<UnsubSel>> {
    b.objects(name)?
        .into_iter()
        .map(|s| Ok(UnsubSel { feed: s.u64("feed")?, mid: s.string("mid")?, sub_mid: s.string("sub_mid")? }))
        .collect()
}

fn forwarder(f: &crate::core::room::ForwarderInfo) -> Value {
    let mut v = json!({
        "stream_id": f.stream_id, "type": match f.kind { crate::core::event::MediaKind::Audio => "audio", crate::core::event::MediaKind::Video => "video", crate::core::event::MediaKind::Data => "data" },
        "host": f.target.ip().to_string(), "port": f.target.port(), "local_rtcp_port": f.local.port(), "srtp": false,
    });
    // Janus lists a forwarder's substream when it is not the first.
    if let Some(n) = f.substream.filter(|n| *n > 0) {
        v["substream"] = n.into();
    }
    v
}

/// The options of a `create` request, over Janus's defaults.
fn room_config(b: Fields<'_>) -> Result<RoomConfig> {
    let d = RoomConfig::default();
    Ok(RoomConfig {
        description: b.string("description")?,
        is_private: b.bool("is_private")?.unwrap_or(d.is_private),
        secret: b.string("secret")?,
        pin: b.string("pin")?,
        allowed: b.strings("allowed")?.map(|v| v.into_iter().collect()),
        require_pvtid: b.bool("require_pvtid")?.unwrap_or(d.require_pvtid),
        require_e2ee: b.bool("require_e2ee")?.unwrap_or(d.require_e2ee),
        max_publishers: b.u64("publishers")?.map(|n| n as u32).unwrap_or(d.max_publishers),
        bitrate: b.u32("bitrate")?.unwrap_or(d.bitrate),
        bitrate_cap: b.bool("bitrate_cap")?.unwrap_or(d.bitrate_cap),
        fir_freq: b.u32("fir_freq")?.unwrap_or(d.fir_freq),
        audiocodec: b.string("audiocodec")?.unwrap_or(d.audiocodec),
        videocodec: b.string("videocodec")?.unwrap_or(d.videocodec),
        vp9_profile: crate::core::room::config::vp9_profile(b.string("vp9_profile")?)?,
        h264_profile: crate::core::room::config::h264_profile(b.string("h264_profile")?)?,
        opus_fec: b.bool("opus_fec")?.unwrap_or(d.opus_fec),
        opus_dtx: b.bool("opus_dtx")?.unwrap_or(d.opus_dtx),
        video_svc: b.bool("video_svc")?.unwrap_or(d.video_svc),
        audiolevel_ext: b.bool("audiolevel_ext")?.unwrap_or(d.audiolevel_ext),
        audiolevel_event: b.bool("audiolevel_event")?.unwrap_or(d.audiolevel_event),
        audio_active_packets: b.u32("audio_active_packets")?.unwrap_or(d.audio_active_packets),
        audio_level_average: b.u32("audio_level_average")?.unwrap_or(d.audio_level_average),
        videoorient_ext: b.bool("videoorient_ext")?.unwrap_or(d.videoorient_ext),
        playoutdelay_ext: b.bool("playoutdelay_ext")?.unwrap_or(d.playoutdelay_ext),
        transport_wide_cc_ext: b.bool("transport_wide_cc_ext")?.unwrap_or(d.transport_wide_cc_ext),
        adaptive_layers: b.bool("adaptive_layers")?.unwrap_or(d.adaptive_layers),
        record: b.bool("record")?.unwrap_or(d.record),
        rec_dir: b.string("rec_dir")?,
        lock_record: b.bool("lock_record")?.unwrap_or(d.lock_record),
        notify_joining: b.bool("notify_joining")?.unwrap_or(d.notify_joining),
        dummy_publisher: b.bool("dummy_publisher")?.unwrap_or(d.dummy_publisher),
    })
}
