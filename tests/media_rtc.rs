//! Media cases checked with a WebRTC peer of our own (webrtc-rs's `rtc`, see
//! `common/rtc_peer.rs`): RTP numbering across `switch`, renegotiation when a subscription
//! grows or its publisher leaves, and NACKs answered from vroom's packet history.

mod common;

use std::time::Duration;

use common::rtc_peer::{missing, seqs, RtcPeer, Waits};
use common::{data, Server, Ws};
use serde_json::{json, Value};

const ROOM: u64 = 1234;
const WAIT: Duration = Duration::from_secs(10);

/// A server and a session on it, over WebSocket.
async fn start() -> (Server, Ws, u64) {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    (server, ws, s)
}

/// A publisher peer sending packets tagged `tag`, joined and up; returns it and its feed id.
async fn publish(ws: &mut Ws, s: u64, tag: u8) -> (RtcPeer, u64, u64) {
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let peer = RtcPeer::new().await;
    let offer = peer.publish_offer(tag as u32).unwrap();
    let body =
        json!({ "request": "joinandconfigure", "ptype": "publisher", "room": ROOM, "display": format!("p{tag}") });
    let ev = ws.message_async(s, h, body, Some(offer)).await;
    let feed = data(&ev)["id"].as_u64().unwrap_or_else(|| panic!("{ev}"));
    peer.accept_answer(&ev["jsep"]).unwrap();
    peer.wait_connected(WAIT).await;
    // The feed exists once vroom has seen the PeerConnection come up.
    for _ in 0..100 {
        let list = ws.message(s, h, json!({ "request": "listparticipants", "room": ROOM })).await;
        if data(&list)["participants"].as_array().unwrap().iter().any(|p| p["id"] == feed && p["publisher"] == true) {
            return (peer, h, feed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("feed {feed} never became a publisher");
}

/// A subscriber peer of `feeds` (all their streams), started.
async fn subscribe(ws: &mut Ws, s: u64, feeds: &[u64]) -> (RtcPeer, u64) {
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let streams: Vec<Value> = feeds.iter().map(|f| json!({ "feed": f })).collect();
    let body = json!({ "request": "join", "ptype": "subscriber", "room": ROOM, "streams": streams });
    let ev = ws.message_async(s, h, body, None).await;
    assert_eq!(data(&ev)["videoroom"], "attached", "{ev}");
    let peer = RtcPeer::new().await;
    let answer = peer.answer(&ev["jsep"]).unwrap();
    let started = ws.message_async(s, h, json!({ "request": "start" }), Some(answer)).await;
    assert_eq!(data(&started)["started"], "ok", "{started}");
    peer.wait_connected(WAIT).await;
    (peer, h)
}

/// The next event of the session whose plugin data is `videoroom: kind`.
async fn next_videoroom(ws: &mut Ws, kind: &str) -> Value {
    for _ in 0..20 {
        let ev = ws.event().await;
        if data(&ev)["videoroom"] == kind {
            return ev;
        }
    }
    panic!("no {kind} event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_keeps_ssrc_sequence_and_timestamps_continuous() {
    let (_server, mut ws, s) = start().await;
    let (_a, _, feed_a) = publish(&mut ws, s, 1).await;
    let (_b, _, feed_b) = publish(&mut ws, s, 2).await;
    let (sub, hs) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| seqs(r, 1).len() >= 50).await;

    let switch = json!({ "request": "switch", "streams": [{ "feed": feed_b, "mid": "0", "sub_mid": "0" }] });
    let switched = ws.message_async(s, hs, switch, None).await;
    assert_eq!(data(&switched)["switched"], "ok", "{switched}");
    sub.wait_received(WAIT, |r| seqs(r, 2).len() >= 50).await;

    let got = sub.received();
    assert!(got.iter().all(|r| r.ssrc == got[0].ssrc), "one SSRC across the switch");
    let all: Vec<u16> = got.iter().map(|r| r.seq).collect();
    assert_eq!(missing(&all), 0, "no gap in the sequence numbers across the switch");
    let last_a = got.iter().rposition(|r| r.tag == 1).unwrap();
    let first_b = got.iter().position(|r| r.tag == 2).unwrap();
    assert_eq!(got[first_b].seq, got[last_a].seq.wrapping_add(1), "B continues right after A");
    let step = got[first_b].ts.wrapping_sub(got[last_a].ts);
    assert!(step > 0 && step < 90_000, "timestamps run on across the switch (step {step})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_renegotiates_and_unpublish_makes_the_stream_inactive() {
    let (_server, mut ws, s) = start().await;
    let (_a, _, feed_a) = publish(&mut ws, s, 1).await;
    let (_b, hb, feed_b) = publish(&mut ws, s, 2).await;
    let (sub, hs) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| seqs(r, 1).len() >= 20).await;

    // Adding B's stream: `updated` with a new offer; once answered, B's packets arrive too.
    let more = json!({ "request": "subscribe", "streams": [{ "feed": feed_b }] });
    let updated = ws.message_async(s, hs, more, None).await;
    assert_eq!(data(&updated)["videoroom"], "updated", "{updated}");
    assert_eq!(data(&updated)["streams"].as_array().unwrap().len(), 2);
    let answer = sub.answer(&updated["jsep"]).unwrap();
    ws.message_async(s, hs, json!({ "request": "start" }), Some(answer)).await;
    sub.wait_received(WAIT, |r| seqs(r, 2).len() >= 20).await;
    let a_before = seqs(&sub.received(), 1).len();
    sub.wait_received(WAIT, |r| seqs(r, 1).len() >= a_before + 20).await;

    // B unpublishes: the subscriber's second stream goes inactive in a new offer.
    ws.message_async(s, hb, json!({ "request": "unpublish" }), None).await;
    let updated = next_videoroom(&mut ws, "updated").await;
    let sdp = updated["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("{updated}"));
    let second = sdp.split("m=video").nth(2).expect("two video m-lines");
    assert!(second.contains("a=inactive"), "{sdp}");
    assert_eq!(data(&updated)["streams"][1]["active"], false, "{updated}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_packets_are_resent_when_the_subscriber_nacks() {
    let (_server, mut ws, s) = start().await;
    let (_a, _, feed_a) = publish(&mut ws, s, 1).await;
    let (sub, _) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| !r.is_empty()).await;
    sub.set_loss(0.1);
    sub.wait_received(WAIT, |r| seqs(r, 1).len() >= 300).await;
    sub.set_loss(0.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = seqs(&sub.received(), 1);
    assert!(sub.dropped() >= 15, "the test dropped {} packets", sub.dropped());
    let gaps = missing(&got[..got.len() - 10]);
    println!("dropped {} packets of {}, {gaps} never came back", sub.dropped(), got.len());
    assert!(gaps * 10 < sub.dropped() as usize, "{gaps} of {} dropped packets never came back", sub.dropped());
}

/// `slowlink_threshold`: a subscriber that loses half of what it is sent says so in its
/// receiver reports, and once a second vroom tells its handle `slowlink` with what was lost in
/// that second (`uplink: true`: a stream vroom sends, as Janus names it). While it loses
/// nothing it hears none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_loses_packets_gets_slowlink_events() {
    let server = Server::start("[media]\nslowlink_threshold = 2\n");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let (_a, _, feed_a) = publish(&mut ws, s, 1).await;
    let (sub, hs) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| r.len() >= 20).await;
    let slow = |e: &Value| e["janus"] == "slowlink" || data(e)["videoroom"] == "slow_link";
    let quiet = ws.events_for(Duration::from_millis(2500)).await;
    assert!(!quiet.iter().any(slow), "nothing lost, no slowlink: {quiet:?}");
    sub.set_loss(0.5);
    let mut seen = None;
    for _ in 0..50 {
        if let Some(e) = ws.try_event(Duration::from_millis(200)).await.filter(slow) {
            seen = Some(e);
            break;
        }
    }
    let plugin = seen.expect("the VideoRoom's slow_link within 10 s of losing half the packets");
    assert_eq!((&plugin["sender"], data(&plugin)), (&json!(hs), &json!({ "videoroom": "slow_link" })), "{plugin}");
    let e = ws.try_event(Duration::from_secs(1)).await.filter(|e| e["janus"] == "slowlink");
    let e = e.expect("Janus's core slowlink right after the plugin's");
    println!("{plugin}\n{e}");
    assert_eq!(
        (&e["sender"], &e["mid"], &e["media"], &e["uplink"]),
        (&json!(hs), &json!("0"), &json!("video"), &json!(true)),
        "{e}"
    );
    assert!(e["lost"].as_u64().unwrap() >= 2, "{e}");
    assert_eq!(e["session_id"], s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_send_false_stops_a_stream_until_true() {
    let (_server, mut ws, s) = start().await;
    let (_a, _, feed_a) = publish(&mut ws, s, 1).await;
    let (sub, hs) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| r.len() >= 10).await;
    let off = json!({ "request": "configure", "streams": [{ "mid": "0", "send": false }] });
    ws.message_async(s, hs, off, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = sub.received().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sub.received().len(), stopped, "nothing arrives while send is false");
    let on = json!({ "request": "configure", "streams": [{ "mid": "0", "send": true }] });
    ws.message_async(s, hs, on, None).await;
    sub.wait_received(WAIT, |r| r.len() >= stopped + 10).await;
}

/// A publisher that closes its PeerConnection gets `hangup` and stops being a feed: its
/// subscriber's stream goes inactive, as after `unpublish`. Each step is in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_peer_connection_hangs_up() {
    let (server, mut ws, s) = start().await;
    let (a, ha, feed_a) = publish(&mut ws, s, 1).await;
    let (sub, _) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| r.len() >= 10).await;
    a.close();
    let mut hangup = false;
    let mut updated = false;
    for _ in 0..20 {
        let Some(ev) = ws.try_event(WAIT).await else { break };
        hangup |= ev["janus"] == "hangup" && ev["sender"] == ha;
        updated |= data(&ev)["videoroom"] == "updated" && data(&ev)["streams"][0]["active"] == false;
        if hangup && updated {
            break;
        }
    }
    assert!(hangup && updated, "hangup {hangup}, updated {updated}");
    let ids = json!({ "session": s, "handle": ha });
    server.logged("PeerConnection created", json!({ "session": s, "handle": ha, "kind": "Publisher" })).await;
    server.logged("PeerConnection state", json!({ "session": s, "handle": ha, "state": "connected" })).await;
    server.logged("webrtcup", ids.clone()).await;
    server.logged("media", json!({ "session": s, "handle": ha, "kind": "Video", "receiving": true })).await;
    server.logged("PeerConnection down", ids.clone()).await;
    server.logged("PeerConnection closed", ids).await;
}

/// Janus's `media` events: a publisher's stream is reported receiving when its first packet
/// arrives, not receiving after a second without one (each leg's housekeeping, on its own
/// timer), and receiving again when packets resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_events_follow_a_publisher_that_pauses() {
    let (_server, mut ws, s) = start().await;
    let (a, ha, _) = publish(&mut ws, s, 1).await;
    let media = |ev: &Value, receiving: bool| {
        ev["janus"] == "media" && ev["sender"] == ha && ev["type"] == "video" && ev["receiving"] == receiving
    };
    let mut seen = Vec::new();
    for receiving in [true, false, true] {
        if !receiving {
            a.pause_sending(true);
        } else if !seen.is_empty() {
            a.pause_sending(false);
        }
        let mut found = false;
        while let Some(ev) = ws.try_event(WAIT).await {
            if ev["janus"] == "media" {
                seen.push(ev.clone());
            }
            if media(&ev, receiving) {
                found = true;
                break;
            }
        }
        assert!(found, "no media receiving={receiving}; media events so far: {seen:?}");
    }
    assert_eq!(seen.len(), 3, "one event per change: {seen:?}");
    assert_eq!(seen[0]["mid"], "0", "{seen:?}");
}

/// A subscriber's first keyframe: vroom asks the publisher for one when the subscriber comes
/// up, the load peer's publisher answers a PLI with a keyframe, and the subscriber measures
/// how long it waited (what `vroom-load` reports after `start` and `switch`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_gets_a_keyframe_soon_after_start() {
    let (_server, mut ws, s) = start().await;
    let (a, _, feed_a) = publish(&mut ws, s, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the first keyframe is long gone
    let (sub, _) = subscribe(&mut ws, s, &[feed_a]).await;
    sub.wait_received(WAIT, |r| seqs(r, 1).len() >= 25).await;
    let (_, plis_received) = a.plis();
    assert!(plis_received >= 1, "the publisher was asked for a keyframe");
    let wait = sub.reception().streams.values().find_map(|s| s.keyframe_waits.first().copied());
    let wait = wait.unwrap_or_else(|| panic!("no keyframe reached the subscriber: {:?}", sub.plis()));
    assert!(wait < 2_000_000, "waited {wait} µs");
}
