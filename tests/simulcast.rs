//! Simulcast with a WebRTC peer of our own (`common/rtc_peer.rs`): a publisher sending three
//! rid encodings of VP8 (`h`, `m`, `l`, as janus.js does) with three temporal layers, and a
//! subscriber that moves between them with Janus's requests. What it receives must be one
//! stream: one SSRC, sequence numbers without a gap, timestamps that only move forward, VP8
//! picture IDs that run on. Switches ask the publisher for a keyframe of the new encoding, and
//! a substream that stops arriving makes the subscriber fall back.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::netns::Netns;
use common::rtc_peer::{missing, Received, RtcPeer, Waits};
use common::{data, Server, Ws};
use serde_json::{json, Value};
use vroom::load::peer::{Layers, Publish, Track};
use vroom::load::stamp::Kind;

const ROOM: u64 = 1234;
const WAIT: Duration = Duration::from_secs(10);
/// The publisher's tag, stamped into its payloads.
const TAG: u32 = 7;

/// A simulcast publisher (by rid), joined and up: the peer, its feed id, and its `joined` event.
async fn publish(ws: &mut Ws, s: u64) -> (RtcPeer, u64, Value) {
    publish_layers(ws, s, Layers::SimulcastByRid).await
}

/// As [`publish`], its encodings named as `layers` says.
async fn publish_layers(ws: &mut Ws, s: u64, layers: Layers) -> (RtcPeer, u64, Value) {
    // 30 frames a second on each encoding, 800-byte packets on the top one.
    let video = Track { kind: Kind::Video, payload_len: 800, interval: Duration::from_millis(33), layers };
    publish_from(ws, s, ROOM, RtcPeer::new().await, video).await
}

/// As [`publish`], in `room`, from `peer` sending `video`.
async fn publish_from(ws: &mut Ws, s: u64, room: u64, peer: RtcPeer, video: Track) -> (RtcPeer, u64, Value) {
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let offer = peer.offer(&Publish { tag: TAG, tracks: vec![video] }).unwrap();
    let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": room, "display": "sim" });
    let joined = ws.message_async(s, h, body, Some(offer)).await;
    let feed = data(&joined)["id"].as_u64().unwrap_or_else(|| panic!("{joined}"));
    peer.accept_answer(&joined["jsep"]).unwrap();
    peer.wait_connected(WAIT).await;
    for _ in 0..100 {
        let list = ws.message(s, h, json!({ "request": "listparticipants", "room": room })).await;
        if data(&list)["participants"].as_array().unwrap().iter().any(|p| p["id"] == feed && p["publisher"] == true) {
            return (peer, feed, joined);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("feed {feed} never became a publisher");
}

/// A subscriber of `feed`'s video with the given `join` stream fields, started.
async fn subscribe(ws: &mut Ws, s: u64, feed: u64, fields: Value) -> (RtcPeer, u64) {
    subscribe_from(ws, s, ROOM, RtcPeer::new().await, feed, fields).await
}

/// As [`subscribe`], in `room`, receiving on `peer`.
async fn subscribe_from(ws: &mut Ws, s: u64, room: u64, peer: RtcPeer, feed: u64, fields: Value) -> (RtcPeer, u64) {
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let mut stream = json!({ "feed": feed });
    stream.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let body = json!({ "request": "join", "ptype": "subscriber", "room": room, "streams": [stream] });
    let ev = ws.message_async(s, h, body, None).await;
    assert_eq!(data(&ev)["videoroom"], "attached", "{ev}");
    let answer = peer.answer(&ev["jsep"]).unwrap();
    let started = ws.message_async(s, h, json!({ "request": "start" }), Some(answer)).await;
    assert_eq!(data(&started)["started"], "ok", "{started}");
    peer.wait_connected(WAIT).await;
    (peer, h)
}

/// Waits for the subscriber's event saying it now gets `field` (`substream` or `temporal`)
/// `value`; fails on any other value of that field first.
async fn layer_event(ws: &mut Ws, field: &str, value: u64) {
    assert_eq!(next_layer(ws, field, WAIT).await, Some(value), "the next {field} event");
}

/// The value of `field` in the subscriber's next event that has one, within `within`.
async fn next_layer(ws: &mut Ws, field: &str, within: Duration) -> Option<u64> {
    let end = tokio::time::Instant::now() + within;
    while let Some(ev) = ws.try_event(end.saturating_duration_since(tokio::time::Instant::now())).await {
        let d = data(&ev);
        if d["videoroom"] == "event" && !d[field].is_null() {
            assert_eq!(d["mid"], "0", "{ev}");
            return d[field].as_u64();
        }
    }
    None
}

async fn configure(ws: &mut Ws, s: u64, h: u64, fields: Value) {
    let ev = ws.message_async(s, h, json!({ "request": "configure", "streams": [fields] }), None).await;
    assert_eq!(data(&ev)["configured"], "ok", "{ev}");
}

/// Checks what arrived is one continuous stream: one SSRC, no sequence gap, forward-moving
/// timestamps, and picture IDs that advance by one (also where temporal layers were dropped)
/// with TL0PICIDX following.
fn assert_one_stream(got: &[Received]) {
    assert!(got.iter().all(|r| r.ssrc == got[0].ssrc), "one SSRC throughout");
    let seqs: Vec<u16> = got.iter().map(|r| r.seq).collect();
    assert_eq!(missing(&seqs), 0, "no gap in the sequence numbers");
    for w in got.windows(2) {
        let step = w[1].ts.wrapping_sub(w[0].ts);
        assert!(step > 0 && step < 90_000, "timestamps move forward ({} to {})", w[0].ts, w[1].ts);
        let (a, b) = (w[0].vp8.unwrap(), w[1].vp8.unwrap());
        let pictures = b.picture_id.unwrap().wrapping_sub(a.picture_id.unwrap()) & 0x7fff;
        assert_eq!(pictures, 1, "picture IDs run on: {a:?} then {b:?} (substreams {} {})", w[0].layer, w[1].layer);
        let tl0 = b.tl0_pic_idx.unwrap().wrapping_sub(a.tl0_pic_idx.unwrap());
        assert!(tl0 <= 1, "TL0PICIDX runs on: {a:?} then {b:?}");
    }
}

/// Received packets of substream `layer` from index `from` on.
fn count(got: &[Received], from: usize, layer: u8) -> usize {
    got.iter().skip(from).filter(|r| r.layer == layer).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_moves_between_substreams_and_temporal_layers_in_one_stream() {
    moves_between_layers(Layers::SimulcastByRid).await
}

/// The same with a publisher that names its encodings by SSRC only (`a=ssrc-group:SIM`, no
/// rids, no rid header extension), as libwebrtc clients that munge their SDP do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_moves_between_the_substreams_of_an_ssrc_group_simulcast_publisher() {
    moves_between_layers(Layers::SimulcastBySsrc).await
}

async fn moves_between_layers(layers: Layers) {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let (publisher, feed, joined) = publish_layers(&mut ws, s, layers).await;
    let video = &data(&joined)["streams"][0];
    assert_eq!(video["simulcast"], true, "the publisher's stream is listed as simulcast: {joined}");

    // Substream 0 from the start: only the lowest encoding arrives.
    let (sub, h) = subscribe(&mut ws, s, feed, json!({ "substream": 0 })).await;
    layer_event(&mut ws, "substream", 0).await;
    sub.wait_received(WAIT, |r| r.len() >= 30).await;
    assert!(
        sub.with_received(|r| r.iter().all(|p| p.layer == 0)),
        "only substream 0: {:?}",
        sub.with_received(|r| r.iter().map(|p| (p.layer, p.seq, p.vp8.map(|d| d.keyframe))).collect::<Vec<_>>())
    );

    // Up to 2: a keyframe is asked of that encoding, and it follows on the same stream.
    let plis_before = publisher.plis_by_ssrc().len();
    let mark = sub.received_count();
    configure(&mut ws, s, h, json!({ "mid": "0", "substream": 2 })).await;
    // A keyframe of substream 1 that comes first is a step on the way, as in Janus.
    let mut step = next_layer(&mut ws, "substream", WAIT).await;
    if step == Some(1) {
        step = next_layer(&mut ws, "substream", WAIT).await;
    }
    assert_eq!(step, Some(2), "the next substream event after 0, past an optional 1");
    sub.wait_received(WAIT, |r| count(r, mark, 2) >= 30).await;
    let got = sub.received();
    let first_top = got.iter().position(|r| r.layer == 2).unwrap();
    assert!(got[first_top].vp8.unwrap().keyframe, "the switch happens at a keyframe");
    let first_new = got.iter().position(|r| r.layer != 0).unwrap();
    assert!(got[first_new].vp8.unwrap().keyframe, "a step through 1 also starts at a keyframe");
    assert!(got[first_top..].iter().all(|r| r.layer == 2), "nothing of substream 0 after the switch");
    let plis: Vec<u32> = publisher.plis_by_ssrc()[plis_before..].to_vec();
    let top = publisher.layer_ssrc(2).unwrap();
    assert!(plis.contains(&top), "the switch asked substream 2 ({top}) for a keyframe: {plis:?}");

    // Temporal layer 0 only: frames of layers 1 and 2 are dropped without a gap.
    let mark = sub.received_count();
    configure(&mut ws, s, h, json!({ "mid": "0", "temporal": 0 })).await;
    layer_event(&mut ws, "temporal", 0).await;
    let settled = sub.received_count();
    sub.wait_received(WAIT, |r| r.len() >= settled + 15).await;
    let got = sub.received();
    assert!(got[settled..].iter().all(|r| r.vp8.unwrap().temporal == Some(0)), "temporal layer 0 only");
    assert!(got[mark..].len() >= 15);

    // All temporal layers again, then the top encoding stops: the stream falls back to 1.
    configure(&mut ws, s, h, json!({ "mid": "0", "temporal": 2 })).await;
    layer_event(&mut ws, "temporal", 2).await;
    publisher.pause_layer(2, true);
    let mark = sub.received_count();
    layer_event(&mut ws, "substream", 1).await;
    sub.wait_received(WAIT, |r| count(r, mark, 1) >= 30).await;

    // It comes back: so does the subscriber.
    publisher.pause_layer(2, false);
    let mark = sub.received_count();
    layer_event(&mut ws, "substream", 2).await;
    sub.wait_received(WAIT, |r| count(r, mark, 2) >= 10).await;

    assert_one_stream(&sub.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_requests_out_of_range_get_janus_errors() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let (_publisher, feed, _) = publish(&mut ws, s).await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let body = json!({ "request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{ "feed": feed, "substream": 3 }] });
    let ev = ws.message_async(s, h, body, None).await;
    assert_eq!(data(&ev)["error_code"], 430, "{ev}");
    assert_eq!(data(&ev)["error"], "Invalid value (substream/spatial_layer should be 0, 1 or 2)", "{ev}");

    let (_sub, h) = subscribe(&mut ws, s, feed, json!({})).await;
    let bad = json!({ "request": "configure", "streams": [{ "mid": "0", "temporal": 7 }] });
    let ev = ws.message_async(s, h, bad, None).await;
    assert_eq!(data(&ev)["error_code"], 430, "{ev}");
    let unknown = json!({ "request": "configure", "streams": [{ "mid": "9", "substream": 1 }] });
    let ev = ws.message_async(s, h, unknown, None).await;
    assert_eq!(data(&ev)["error_code"], 428, "{ev}");
    // The older form, with the fields at the top level, is still a configure.
    let legacy = ws.message_async(s, h, json!({ "request": "configure", "substream": 1 }), None).await;
    assert_eq!(data(&legacy)["configured"], "ok", "{legacy}");
}

/// janus.js's `videoroomtest.html?simulcast=yes` in two headless Chromium tabs (Debian's
/// `chromium` and `janus-demos`): each publishes its fake camera in simulcast, and the first
/// asks for substreams 0, 1 and 2 of the other's video with the page's own buttons, then for
/// temporal layers 0 and 1 (the page's buttons on Chromium). It must decode three distinct
/// widths in that order, and fewer frames a second on temporal layer 0.
#[test]
fn chromium_videoroomtest_simulcast_substreams_and_temporal_layers() {
    // A room with no bitrate cap: under the demo room's 128 kbit/s (sent as REMB, as Janus
    // does) a browser sends only its lowest encoding.
    let room = "[[videoroom.rooms]]\nid = 4321\ndescription = \"Simulcast\"\npublishers = 6\nbitrate = 0\n";
    chromium_layers("simulcast", room, "libvpx", true);
}

/// The same with H.264 (`vcodec=h264`, the publishers' `videocodec`): Chromium's three H.264
/// encodings, switched at their IDR frames (substreams only: OpenH264 sends no temporal layers).
#[test]
fn chromium_videoroomtest_h264_simulcast_substreams() {
    let room = "[[videoroom.rooms]]\nid = 4321\ndescription = \"Simulcast\"\npublishers = 6\nbitrate = 0\n\
                videocodec = \"vp8,h264\"\n";
    chromium_layers("simulcast264", room, "OpenH264", false);
}

/// The same with SSRC-group simulcast: janus.js publishes one encoding, its offer munged as
/// libwebrtc clients that simulcast by SSRC munge theirs (`a=ssrc-group:SIM`, no rids), so
/// Chromium sends three VP8 encodings named by SSRC only.
#[test]
fn chromium_videoroomtest_ssrc_group_simulcast_substreams_and_temporal_layers() {
    let room = "[[videoroom.rooms]]\nid = 4321\ndescription = \"Simulcast\"\npublishers = 6\nbitrate = 0\n";
    let summary = chromium_layers("simulcastssrc", room, "libvpx", true);
    let seen = summary["status"].as_array().unwrap();
    let publisher = seen.last().unwrap()["publisher"].as_array().unwrap();
    let encodings: Vec<&Value> = publisher.iter().filter(|e| !e["encoder"].is_null()).collect();
    assert_eq!(encodings.len(), 3, "three encodings: {summary}");
    assert!(encodings.iter().all(|e| e["rid"].is_null()), "named by SSRC, not rid: {summary}");
}

/// janus.js's `echotest.html?simulcast=yes` in headless Chromium: the page asks for the same
/// layers of its own echo, and must see the same.
#[test]
fn chromium_echotest_simulcast_substreams_and_temporal_layers() {
    chromium_layers("echosimulcast", "", "libvpx", true);
}

/// janus.js's `echotest.html?vcodec=av1&svc=L3T3` in headless Chromium: the browser encodes
/// AV1 with three spatial and three temporal layers in one stream, described by the Dependency
/// Descriptor extension; the page asks for spatial layers 0, 1, 2 and temporal layers 0, 1 of
/// its own echo, and must see the same as with simulcast.
#[test]
fn chromium_echotest_av1_svc_spatial_and_temporal_layers() {
    chromium_layers("echosvc", "", "libaom", true);
}

/// Runs a demo page's layer switches (`demos_chromium.py MODE`) against vroom with `config`:
/// the publisher's video encoded by `encoder` (Chromium's name for it), three distinct decoded
/// widths on substreams 0, 1 and 2 in that order, and fewer frames a second on temporal layer
/// 0 than on 0 and 1 (if `temporal`). Returns the page's summary.
fn chromium_layers(mode: &str, config: &str, encoder: &str, temporal: bool) -> Value {
    // One browser at a time: two on these two cores blur the frame rates measured.
    static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ONE_BROWSER.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    common::prereq::require(&["chromium", "/usr/share/janus/demos", common::prereq::VENV]);
    let ns = common::netns::Netns::new();
    let server = Server::start_in(Some(&ns), config);
    let summary = common::peers::run_plain(Some(&ns), "demos_chromium.py", &[mode, &server.http]);
    println!("{summary}");
    assert_eq!(summary["ok"], true, "{summary}");
    let seen = summary["status"].as_array().unwrap();
    let publisher = seen.last().map(|p| p["publisher"].to_string()).unwrap_or_default();
    assert!(publisher.contains(encoder), "the video is encoded by {encoder}: {summary}");
    let width = |i: usize| seen[i]["width"].as_u64().unwrap_or_else(|| panic!("{summary}"));
    assert!(width(0) < width(1) && width(1) < width(2), "substreams 0, 1, 2 decode growing widths: {summary}");
    let fps = |i: usize| seen[i]["fps"].as_f64().unwrap_or_else(|| panic!("{summary}"));
    if temporal {
        assert!(fps(3) < 0.75 * fps(4), "temporal layer 0 has fewer frames a second than 0 and 1: {summary}");
    }
    summary
}

/// `rtp_forward` of a simulcast stream as Janus does it: `port`, `port_2` and `port_3` get
/// substreams 0, 1 and 2, each only its own; `listforwarders` names the substream of the
/// second and third.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forwarders_carry_one_substream_each() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let (_publisher, feed, _) = publish(&mut ws, s).await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let sockets: Vec<std::net::UdpSocket> = (0..3).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    let port = |i: usize| sockets[i].local_addr().unwrap().port();
    let forward = json!({ "request": "rtp_forward", "room": ROOM, "secret": "adminpwd", "publisher_id": feed,
        "host": "127.0.0.1", "streams": [{ "mid": "0", "port": port(0), "port_2": port(1), "port_3": port(2) }] });
    let made = ws.message(s, h, forward).await;
    assert_eq!(data(&made)["forwarders"].as_array().map(Vec::len), Some(3), "{made}");
    for (i, socket) in sockets.iter().enumerate() {
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 2048];
        for _ in 0..20 {
            let n = socket.recv(&mut buf).unwrap_or_else(|e| panic!("substream {i} forwarded nothing: {e}"));
            let packet = <rtc::rtp::Packet as rtc::shared::marshal::Unmarshal>::unmarshal(&mut &buf[..n]).unwrap();
            let stamp = vroom::load::stamp::Stamp::read(&packet.payload).unwrap();
            assert_eq!(stamp.layer as usize, i, "port {} carries substream {i} only", port(i));
        }
    }
    let list = ws.message(s, h, json!({ "request": "listforwarders", "room": ROOM, "secret": "adminpwd" })).await;
    let fwds = &data(&list)["publishers"][0]["forwarders"];
    let substreams: Vec<Value> = (0..3).map(|i| fwds[i]["substream"].clone()).collect();
    assert_eq!(substreams, [Value::Null, json!(1), json!(2)], "{list}");
}

/// A simulcast offer with a rid or a SIM SSRC given twice, with four encodings, or with two SIM
/// groups in an m-line is refused as Janus's core refuses an SDP it cannot take (465); the
/// handle can publish a good offer afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_offers_with_repeated_rids_or_too_many_encodings_are_refused() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let peer = RtcPeer::new().await;
    let video = Track {
        kind: Kind::Video,
        payload_len: 800,
        interval: Duration::from_millis(33),
        layers: Layers::SimulcastByRid,
    };
    let offer = peer.offer(&Publish { tag: TAG, tracks: vec![video] }).unwrap();
    let sdp = offer["sdp"].as_str().unwrap();
    assert!(sdp.contains("a=rid:l send\r\n"), "{sdp}");
    let join = json!({ "request": "join", "ptype": "publisher", "room": ROOM });
    assert_eq!(data(&ws.message_async(s, h, join, None).await)["videoroom"], "joined");
    let twice = sdp.replace("a=rid:l send\r\n", "a=rid:l send\r\na=rid:l send\r\n");
    let four = sdp.replace("a=rid:l send\r\n", "a=rid:l send\r\na=rid:x send\r\n");
    // The same by SSRC: the SIM group of another peer's offer, with an SSRC repeated or added.
    let by_ssrc = RtcPeer::new().await;
    let video = Track { layers: Layers::SimulcastBySsrc, ..video };
    let sim_offer = by_ssrc.offer(&Publish { tag: TAG, tracks: vec![video] }).unwrap();
    let sim_sdp = sim_offer["sdp"].as_str().unwrap();
    let group = sim_sdp.lines().find(|l| l.starts_with("a=ssrc-group:SIM ")).unwrap_or_else(|| panic!("{sim_sdp}"));
    let first = group.split(' ').nth(1).unwrap();
    let sim_twice = sim_sdp.replace(group, &format!("{group} {first}"));
    let sim_four = sim_sdp.replace(group, &format!("{group} 99"));
    let two_groups = sim_sdp.replace(group, &format!("{group}\r\n{group}"));
    for (bad, reason) in [
        (twice, "rid l given twice"),
        (four, "Too many simulcast encodings (4, at most 3)"),
        (sim_twice, &format!("SSRC {first} given twice in ssrc-group:SIM")),
        (sim_four, "Too many simulcast encodings (4, at most 3)"),
        (two_groups, "more than one ssrc-group:SIM"),
    ] {
        let publish = json!({ "janus": "message", "session_id": s, "handle_id": h, "body": { "request": "publish" },
            "jsep": { "type": "offer", "sdp": bad } });
        let reply = ws.request(publish).await;
        assert_eq!(reply["error"]["code"], 465, "{reply}");
        assert!(reply["error"]["reason"].as_str().unwrap().contains(reason), "{reply}");
    }
    let ev = ws.message_async(s, h, json!({ "request": "publish" }), Some(offer)).await;
    assert_eq!(data(&ev)["configured"], "ok", "{ev}");
}

/// The substream the subscriber's events say it moved to first that `wanted` holds for, within
/// `within` of `since`.
async fn moved_to(
    ws: &mut Ws,
    wanted: impl Fn(u64) -> bool,
    since: std::time::Instant,
    within: Duration,
) -> Option<u64> {
    while let Some(layer) = next_layer(ws, "substream", within.saturating_sub(since.elapsed())).await {
        if wanted(layer) {
            return Some(layer);
        }
    }
    None
}

/// Layers chosen by bandwidth (vroom's own `adaptive_layers`). The publisher sends 50 frames
/// a second of one packet each on three substreams (about 420, 220 and 120 kbit/s on the
/// wire) from beside the server; the subscriber, in its own namespace across a veth pair from
/// the server, gets the top one. When a token bucket on the server's end cuts its downlink to
/// 300 kbit/s, it must move down by itself within 10 s and then get at least 90% of its new
/// substream's frames; when the limit is lifted, it must move back up within 20 s.
#[test]
fn a_subscriber_behind_a_slow_link_moves_down_by_itself_and_back_up() {
    common::prereq::require(&["tc"]);
    let (server_ns, client_ns) = (Netns::new(), Netns::new());
    server_ns.link("sv0", "10.81.0.1/24", &client_ns, "cl0", "10.81.0.2/24");
    let server = Server::start_listening(Some(&server_ns), "10.81.0.1", "[media]\nice_enforce_list = \"sv0\"\n");
    let limit = |on: bool| {
        let tbf =
            ["qdisc", "add", "dev", "sv0", "root", "tbf", "rate", "300kbit", "burst", "32kbit", "latency", "400ms"];
        let del = ["qdisc", "del", "dev", "sv0", "root"];
        server_ns.exec("tc", if on { &tbf[..] } else { &del[..] });
    };
    // The publisher's socket is on the server's side of the link: only the subscriber's
    // downlink is limited.
    let publisher_socket = server_ns.run(|| std::net::UdpSocket::bind("10.81.0.1:0").unwrap());
    publisher_socket.set_nonblocking(true).unwrap();
    client_ns.run(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let ip = std::net::IpAddr::from([10, 81, 0, 2]);
            let mut ws = Ws::connect(&server.ws).await;
            let s = ws.create().await;
            let video = Track {
                kind: Kind::Video,
                payload_len: 1000,
                interval: Duration::from_millis(20),
                layers: Layers::SimulcastByRid,
            };
            let publisher = RtcPeer::on(tokio::net::UdpSocket::from_std(publisher_socket).unwrap(), false).unwrap();
            let (_publisher, feed, _) = publish_from(&mut ws, s, ROOM, publisher, video).await;
            let peer = RtcPeer::bind(ip, true).await.unwrap();
            let (subscriber, _) =
                subscribe_from(&mut ws, s, ROOM, peer, feed, json!({ "adaptive_layers": true })).await;
            subscriber.wait_received(WAIT, |got| count(got, 0, 2) > 100).await;
            assert_eq!(
                subscriber.with_received(|got| got.last().map(|r| r.layer)),
                Some(2),
                "the top substream at first"
            );

            limit(true);
            let limited = std::time::Instant::now();
            let down = moved_to(&mut ws, |l| l < 2, limited, Duration::from_secs(10)).await;
            let down = down.expect("a move down within 10 s of the limit");
            let moved_down = limited.elapsed();

            // A few seconds to settle, then ten seconds on the new substream.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let from = subscriber.received_count();
            let window = Duration::from_secs(10);
            tokio::time::sleep(window).await;
            let (kept, lost, others) = subscriber.with_received(|got| {
                let got = &got[from..];
                // Sequence numbers relative to the window's first (NACKed packets resent from
                // before it may come late).
                let seqs: HashSet<i16> = got.iter().map(|r| r.seq.wrapping_sub(got[0].seq) as i16).collect();
                let span = (seqs.iter().max().unwrap() - seqs.iter().min().unwrap()) as usize + 1;
                let kept = got.iter().filter(|r| u64::from(r.layer) == down).count();
                (kept, span - seqs.len(), got.len() - kept)
            });
            let sent = (window.as_millis() / 20) as usize;
            let stats = server_ns.command("tc").args(["-s", "qdisc", "show", "dev", "sv0"]).output().unwrap();
            limit(false);
            let lifted = std::time::Instant::now();
            let up = moved_to(&mut ws, |l| l == 2, lifted, Duration::from_secs(20)).await.map(|_| lifted.elapsed());
            println!(
                "limited to 300 kbit/s: substream {down} after {moved_down:?}; then in {window:?}: {kept} frames of \
                 it (the publisher sent {sent}), {lost} lost on the link, {others} of other substreams; \
                 lifted: substream 2 after {up:?}\n{}",
                String::from_utf8_lossy(&stats.stdout)
            );
            let told = ["substream by bandwidth", "probing the downlink", "probe outcome", "downlink congested"];
            for line in server.logs().iter().filter(|l| told.iter().any(|m| l["message"] == *m)) {
                println!("{line}");
            }
            assert!(kept * 10 >= sent * 9, "at least 90% of substream {down}'s frames: {kept} of {sent}");
            assert!(up.is_some(), "back on substream 2 within 20 s of the limit lifted");
        })
    });
}

/// The EchoTest's `substream` and `temporal` are checked as Janus 1.1.2 checks them: anything
/// but 0, 1 or 2 gets the EchoTest's 413 and "Invalid value (...)", and the handle answers
/// afterwards. (What the echo then carries is `chromium_echotest_simulcast_...`'s to check:
/// the load generator's peer does not take an echo on the transceiver it sends simulcast on.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echotest_layer_requests_out_of_range_get_janus_errors() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.echotest").await;
    for (bad, reason) in [
        (json!({ "substream": 3 }), "Invalid value (substream should be 0, 1 or 2)"),
        (json!({ "temporal": -1 }), "Invalid value (temporal should be 0, 1 or 2)"),
        (json!({ "substream": "1" }), "Invalid value (substream should be 0, 1 or 2)"),
        (json!({ "spatial_layer": 3 }), "Invalid value (spatial_layer should be 0, 1 or 2)"),
        (json!({ "temporal_layer": 5 }), "Invalid value (temporal_layer should be 0, 1 or 2)"),
    ] {
        let ev = ws.message_async(s, h, bad.clone(), None).await;
        assert_eq!(data(&ev)["error_code"], 413, "{bad}: {ev}");
        assert_eq!(data(&ev)["error"], reason, "{bad}: {ev}");
    }
    let ev = ws.message_async(s, h, json!({ "substream": 1, "temporal": 0 }), None).await;
    assert_eq!(data(&ev)["result"], "ok", "{ev}");
}

/// VP9 SVC in Janus's `video_svc` demo room (5678): the publisher sends each frame in three
/// spatial layers on one SSRC (the marker bit on the top one). A subscriber moved with Janus's
/// `spatial_layer` and `temporal_layer` hears events of those names, gets only the layers asked
/// for, the marker bit on the last packet of each picture it gets, the keyframe a move up
/// waits for, and one stream without a sequence gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vp9_svc_subscriber_moves_between_spatial_and_temporal_layers() {
    const SVC_ROOM: u64 = 5678;
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let video =
        Track { kind: Kind::Video, payload_len: 900, interval: Duration::from_millis(33), layers: Layers::Vp9Svc };
    let (publisher, feed, joined) = publish_from(&mut ws, s, SVC_ROOM, RtcPeer::new().await, video).await;
    assert_eq!(data(&joined)["streams"][0]["svc"], true, "listed as SVC: {joined}");
    let (sub, h) = subscribe_from(&mut ws, s, SVC_ROOM, RtcPeer::new().await, feed, json!({})).await;
    assert_eq!(next_layer(&mut ws, "spatial_layer", WAIT).await, Some(2));
    sub.wait_received(WAIT, |r| count(r, 0, 2) >= 30).await;
    // Each picture's layer frames in order, the marker on the top one.
    let markers_on = |from: usize| {
        sub.with_received(|r| r[from..].iter().filter(|p| p.marker).map(|p| p.layer).collect::<HashSet<u8>>())
    };
    assert_eq!(markers_on(0), HashSet::from([2]));

    let mark = sub.received_count();
    configure(&mut ws, s, h, json!({ "mid": "0", "spatial_layer": 0 })).await;
    assert_eq!(next_layer(&mut ws, "spatial_layer", WAIT).await, Some(0));
    let settled = sub.received_count();
    sub.wait_received(WAIT, |r| r.len() >= settled + 30).await;
    assert!(sub.with_received(|r| r[settled..].iter().all(|p| p.layer == 0)), "spatial layer 0 only");
    assert_eq!(markers_on(settled), HashSet::from([0]), "the marker bit moves to layer 0");

    let plis = publisher.plis_by_ssrc().len();
    configure(&mut ws, s, h, json!({ "mid": "0", "spatial_layer": 1 })).await;
    assert_eq!(next_layer(&mut ws, "spatial_layer", WAIT).await, Some(1));
    assert!(publisher.plis_by_ssrc().len() > plis, "the move up asked for a keyframe");
    let mark1 = sub.received_count();
    sub.wait_received(WAIT, |r| count(r, mark1, 1) >= 30).await;
    let got = sub.received();
    let first = mark + got[mark..].iter().position(|p| p.layer == 1).unwrap();
    assert!(got[first - 1].vp9.unwrap().keyframe, "layer 1 starts with a keyframe picture");
    assert!(got[first..].iter().all(|p| p.layer <= 1), "nothing of layer 2");

    configure(&mut ws, s, h, json!({ "mid": "0", "temporal_layer": 0 })).await;
    assert_eq!(next_layer(&mut ws, "temporal_layer", WAIT).await, Some(0));
    let settled = sub.received_count();
    sub.wait_received(WAIT, |r| r.len() >= settled + 20).await;
    assert!(sub.with_received(|r| r[settled..].iter().all(|p| p.vp9.unwrap().temporal == Some(0))));

    let got = sub.received();
    assert!(got.iter().all(|r| r.ssrc == got[0].ssrc), "one SSRC");
    let seqs: Vec<u16> = got.iter().map(|r| r.seq).collect();
    assert_eq!(missing(&seqs), 0, "no gap in the sequence numbers");
    assert!(got.windows(2).all(|w| w[1].ts.wrapping_sub(w[0].ts) < 90_000), "timestamps never go back");
}
