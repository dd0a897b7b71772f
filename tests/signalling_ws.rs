//! The Janus API over a real WebSocket, against the real `vroom` binary on loopback: the core
//! verbs and their errors, and VideoRoom flows across several sessions (who is told what, in
//! which order, exactly once).

mod common;

use std::time::Duration;

use common::{av_offer, data, Server, Ws};
use serde_json::{json, Value};

const VR: &str = "janus.plugin.videoroom";

#[tokio::test]
async fn ws_core_api_and_its_errors() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let info = ws.request(json!({ "janus": "info" })).await;
    assert_eq!(info["janus"], "server_info");
    assert!(info["plugins"]["janus.plugin.videoroom"].is_object());
    assert_eq!(ws.request(json!({ "janus": "ping" })).await["janus"], "pong");

    let s = ws.create().await;
    assert!(s > 0 && s < 1 << 53);
    let chosen = ws.request(json!({ "janus": "create", "id": 424242 })).await;
    assert_eq!(chosen["data"]["id"], 424242);
    let taken = ws.request(json!({ "janus": "create", "id": 424242 })).await;
    assert_eq!(taken["error"]["code"], 468);
    assert_eq!(ws.request(json!({ "janus": "keepalive", "session_id": s })).await["janus"], "ack");

    // Errors, in Janus's words.
    ws.send_raw("{\"janus\": \"info\", \"transaction\": ").await;
    let bad = ws.recv().await;
    assert_eq!(bad["error"]["code"], 454);
    assert!(bad.get("transaction").is_none());
    ws.send_raw("[1,2,3]").await;
    assert_eq!(ws.recv().await["error"]["reason"], "Missing mandatory element (transaction)");
    ws.send_raw(r#"{"transaction": "x"}"#).await;
    let no_verb = ws.recv().await;
    assert_eq!((no_verb["error"]["code"].as_u64(), no_verb.get("transaction")), (Some(456), None));
    // As Janus: the envelope's errors name the session, not the transaction.
    ws.send_raw(&format!(r#"{{"transaction": "x", "session_id": {s}}}"#)).await;
    let no_verb = ws.recv().await;
    assert_eq!((no_verb["session_id"].as_u64(), no_verb.get("transaction")), (Some(s), None), "{no_verb}");
    ws.send_raw(r#"{"janus": 5, "transaction": "x"}"#).await;
    assert_eq!(ws.recv().await["error"]["reason"], "Invalid element type (janus should be a string)");
    let at_root = ws.request(json!({ "janus": "frobnicate" })).await;
    assert_eq!(at_root["error"]["reason"], "Unhandled request 'frobnicate' at this path");
    let in_session = ws.request(json!({ "janus": "frobnicate", "session_id": s })).await;
    assert_eq!((in_session["error"]["code"].as_u64(), in_session["session_id"].as_u64()), (Some(453), Some(s)));
    assert_eq!(
        ws.request(json!({ "janus": "keepalive", "session_id": 1234567 })).await["error"]["reason"],
        "No such session 1234567"
    );
    assert_eq!(ws.request(json!({ "janus": "keepalive", "session_id": "abc" })).await["error"]["code"], 457);
    assert_eq!(
        ws.request(json!({ "janus": "attach", "session_id": s })).await["error"]["reason"],
        "Missing mandatory element (plugin)"
    );
    let nope = ws.request(json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.nope" })).await;
    assert_eq!(nope["error"]["reason"], "No such plugin 'janus.plugin.nope'");
    let h = ws.attach(s, "janus.plugin.echotest").await;
    let no_handle = ws.request(json!({ "janus": "message", "session_id": s, "handle_id": 99999, "body": {} })).await;
    assert_eq!(no_handle["error"]["reason"], format!("No such handle 99999 in session {s}"));
    let no_body = ws.request(json!({ "janus": "message", "session_id": s, "handle_id": h })).await;
    assert_eq!(no_body["error"]["reason"], "Missing mandatory element (body)");
    let bad_body = ws.request(json!({ "janus": "message", "session_id": s, "handle_id": h, "body": "x" })).await;
    assert_eq!(bad_body["error"]["reason"], "Invalid element type (body should be an object)");
    let short_sdp = json!({ "janus": "message", "session_id": s, "handle_id": h, "body": {}, "jsep": { "type": "answer", "sdp": "v=0" } });
    assert_eq!(ws.request(short_sdp).await["error"]["reason"], "Missing mandatory lines (o=, s= or m=)");
    let garbage = json!({ "janus": "message", "session_id": s, "handle_id": h, "body": {}, "jsep": { "type": "offer", "sdp": "garbage" } });
    assert_eq!(ws.request(garbage).await["error"]["reason"], "Invalid SDP (doesn't start with v=)");
    let trickle = ws.request(json!({ "janus": "trickle", "session_id": s, "handle_id": h })).await;
    assert_eq!(trickle["error"]["reason"], "Missing mandatory element (candidate|candidates)");
    let done = json!({ "janus": "trickle", "session_id": s, "handle_id": h, "candidate": { "completed": true } });
    assert_eq!(ws.request(done).await["janus"], "ack");
    let ping_in_handle = ws.request(json!({ "janus": "ping", "session_id": s, "handle_id": h })).await;
    assert_eq!(ping_in_handle["error"]["reason"], "Unknown request 'ping'");

    // EchoTest: an offer is answered; hangup says done; detach says detached.
    let echo = ws.message_async(s, h, json!({ "audio": true, "video": true }), Some(av_offer())).await;
    assert_eq!((data(&echo)["echotest"].as_str(), data(&echo)["result"].as_str()), (Some("event"), Some("ok")));
    assert_eq!(echo["jsep"]["type"], "answer");
    assert!(echo["jsep"]["sdp"].as_str().unwrap().contains("a=mid:1"));
    assert_eq!(ws.request(json!({ "janus": "hangup", "session_id": s, "handle_id": h })).await["janus"], "success");
    assert_eq!(data(&ws.event().await)["result"], "done");
    let hangup = ws.event().await;
    assert_eq!(
        (hangup["janus"].as_str(), hangup["reason"].as_str()),
        (Some("hangup"), Some("Janus API")),
        "the PeerConnection existed"
    );
    assert_eq!(ws.request(json!({ "janus": "detach", "session_id": s, "handle_id": h })).await["janus"], "success");
    let detached = ws.event().await;
    assert_eq!((detached["janus"].as_str(), detached["sender"].as_u64()), (Some("detached"), Some(h)));
    assert_eq!(ws.request(json!({ "janus": "detach", "session_id": s, "handle_id": h })).await["error"]["code"], 459);
    assert_eq!(ws.request(json!({ "janus": "destroy", "session_id": s })).await["janus"], "success");
    assert_eq!(ws.request(json!({ "janus": "destroy", "session_id": s })).await["error"]["code"], 458);
}

#[tokio::test]
async fn ws_claim_and_close() {
    let server = Server::start("");
    let mut a = Ws::connect(&server.ws).await;
    let mut b = Ws::connect(&server.ws).await;
    let s = a.create().await;
    assert_eq!(b.request(json!({ "janus": "claim", "session_id": s })).await["janus"], "success");
    // The session's events now go to B.
    let h = b.attach(s, "janus.plugin.echotest").await;
    b.request(json!({ "janus": "hangup", "session_id": s, "handle_id": h })).await;
    assert_eq!(data(&b.event().await)["result"], "done");
    assert!(a.try_event(Duration::from_millis(300)).await.is_none(), "the old connection hears nothing");
    // Closing the owning connection destroys the session.
    let s2 = b.create().await;
    drop(b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in [s, s2] {
        assert_eq!(a.request(json!({ "janus": "keepalive", "session_id": id })).await["error"]["code"], 458);
    }
    // Without the subprotocol the upgrade is refused.
    assert!(Ws::connect_with(&server.ws, None).await.is_err());
}

#[tokio::test]
async fn ws_session_timeout_sends_timeout_then_forgets() {
    let server = Server::start("[general]\nsession_timeout = 1\n");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let timeout = ws.try_event(Duration::from_secs(4)).await.expect("a timeout event");
    assert_eq!(timeout, json!({ "janus": "timeout", "session_id": s }));
    assert_eq!(ws.request(json!({ "janus": "keepalive", "session_id": s })).await["error"]["code"], 458);
}

/// A VideoRoom with three participants on three connections: joined replies, joining,
/// display, publish, kick, leave and destroy notifications reach exactly the right handles,
/// once each, with transactions only on replies.
#[tokio::test]
async fn ws_videoroom_publishers_are_told_exactly_once() {
    let server = Server::start("");
    let (mut a, mut b, mut c) =
        (Ws::connect(&server.ws).await, Ws::connect(&server.ws).await, Ws::connect(&server.ws).await);
    let (sa, sb, sc) = (a.create().await, b.create().await, c.create().await);
    let (ha, hb, hc) = (a.attach(sa, VR).await, b.attach(sb, VR).await, c.attach(sc, VR).await);

    let created = a
        .message(
            sa,
            ha,
            json!({ "request": "create", "room": 4242, "secret": "s", "pin": "p", "notify_joining": true }),
        )
        .await;
    assert_eq!(data(&created), &json!({ "videoroom": "created", "room": 4242, "permanent": false }));
    assert_eq!(data(&a.message(sa, ha, json!({ "request": "create", "room": 4242 })).await)["error_code"], 427);
    assert_eq!(data(&a.message(sa, ha, json!({ "request": "exists", "room": 4242 })).await)["exists"], true);

    let join = |id: u64, name: &str| json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "p", "id": id, "display": name });
    let no_pin = a.message_async(sa, ha, json!({ "request": "join", "ptype": "publisher", "room": 4242 }), None).await;
    assert_eq!(data(&no_pin)["error"], "Missing mandatory element (pin)");
    let joined = a.message_async(sa, ha, join(1, "alice"), None).await;
    assert_eq!((data(&joined)["videoroom"].as_str(), data(&joined)["id"].as_u64()), (Some("joined"), Some(1)));
    assert_eq!(data(&a.message_async(sa, ha, join(1, "again"), None).await)["error_code"], 425);
    assert_eq!(data(&b.message_async(sb, hb, join(1, "dup"), None).await)["error"], "User ID 1 already exists");
    let joined_b = b.message_async(sb, hb, join(2, "bob"), None).await;
    assert_eq!(data(&joined_b)["attendees"], json!([{ "id": 1, "display": "alice" }]));
    let joining = a.event().await;
    assert_eq!(data(&joining)["joining"], json!({ "id": 2, "display": "bob" }));
    assert!(joining.get("transaction").is_none(), "notifications carry no transaction");

    // Publishing is answered with the streams and an SDP answer; the feed is announced only
    // when its media comes up, so the others hear nothing yet and it cannot be subscribed.
    let published = b.message_async(sb, hb, json!({ "request": "publish" }), Some(av_offer())).await;
    assert_eq!(data(&published)["configured"], "ok");
    assert_eq!(data(&published)["streams"][1]["codec"], "vp8");
    assert_eq!(data(&published)["video_codec"], "vp8");
    assert_eq!(published["jsep"]["type"], "answer");
    let listed = a.message(sa, ha, json!({ "request": "listparticipants", "room": 4242 })).await;
    assert_eq!(
        data(&listed)["participants"],
        json!([{ "id": 1, "display": "alice", "publisher": false }, { "id": 2, "display": "bob", "publisher": false }])
    );
    let sub = c
        .message_async(
            sc,
            hc,
            json!({ "request": "join", "ptype": "subscriber", "room": 4242, "pin": "p", "streams": [{ "feed": 2 }] }),
            None,
        )
        .await;
    assert_eq!(data(&sub)["error"], "No such feed (2)");

    let renamed = b.message_async(sb, hb, json!({ "request": "configure", "display": "robert" }), None).await;
    assert_eq!(data(&renamed)["configured"], "ok");
    assert_eq!(data(&a.event().await), &json!({ "videoroom": "event", "id": 2, "display": "robert" }));

    // Kick: everyone hears `kicked` once, the requester too, and (as Janus sends it) before the
    // kick's `success`; the kicked handle is told it left.
    let kick = json!({ "request": "kick", "room": 4242, "secret": "s", "id": 2 });
    let [first, second] = <[Value; 2]>::try_from(a.message_then(sa, ha, kick, 2).await).unwrap();
    assert_eq!(data(&first), &json!({ "videoroom": "event", "room": 4242, "kicked": 2 }), "{first}");
    assert_eq!((second["janus"].as_str(), data(&second)), (Some("success"), &json!({ "videoroom": "success" })));
    assert_eq!(
        data(&b.event().await),
        &json!({ "videoroom": "event", "room": 4242, "leaving": "ok", "reason": "kicked" })
    );
    assert_eq!(
        data(&b.message_async(sb, hb, json!({ "request": "configure", "display": "x" }), None).await)["error_code"],
        433
    );

    // Destroy: the remaining participant hears it once; the room is gone.
    let wrong = a.message(sa, ha, json!({ "request": "destroy", "room": 4242, "secret": "nope" })).await;
    assert_eq!(data(&wrong)["error"], "Unauthorized (wrong secret)");
    let destroy = json!({ "request": "destroy", "room": 4242, "secret": "s" });
    let [first, second] = <[Value; 2]>::try_from(a.message_then(sa, ha, destroy, 2).await).unwrap();
    assert_eq!(
        (first["janus"].as_str(), data(&first)),
        (Some("event"), &json!({ "videoroom": "destroyed", "room": 4242 }))
    );
    assert_eq!((second["janus"].as_str(), data(&second)["videoroom"].as_str()), (Some("success"), Some("destroyed")));
    assert!(a.events_for(Duration::from_millis(300)).await.is_empty(), "the room's end is told once");
    assert!(b.events_for(Duration::from_millis(100)).await.is_empty(), "a kicked participant is not told twice");
    assert_eq!(data(&a.message(sa, ha, json!({ "request": "exists", "room": 4242 })).await)["exists"], false);
}

/// A room's `publishers` limit counts what Janus 1.1.2 counts: publishers whose PeerConnection
/// is up. Offers answered whose connections never come up hold no place, so in a room of one,
/// a second such publisher is let in (Janus let an 8th into a room of 6), where vroom used to
/// answer 432.
#[tokio::test]
async fn ws_publishers_that_never_connect_hold_no_place() {
    let server = Server::start("");
    let mut a = Ws::connect(&server.ws).await;
    let s = a.create().await;
    let h = a.attach(s, VR).await;
    let created = a.message(s, h, json!({ "request": "create", "room": 77, "publishers": 1 })).await;
    assert_eq!(data(&created)["videoroom"], "created", "{created}");
    for id in [1, 2] {
        let h = a.attach(s, VR).await;
        let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": 77, "id": id });
        let published = a.message_async(s, h, body, Some(av_offer())).await;
        assert_eq!(data(&published)["videoroom"], "joined", "publisher {id}: {published}");
    }
}

/// Malformed input never takes the server down or disturbs another session.
#[tokio::test]
async fn ws_bad_input_disturbs_nobody() {
    let server = Server::start("[general]\nmax_message_bytes = 65536\n");
    let mut good = Ws::connect(&server.ws).await;
    let s = good.create().await;
    let h = good.attach(s, VR).await;
    let mut bad = Ws::connect(&server.ws).await;
    let bs = bad.create().await;
    let bh = bad.attach(bs, VR).await;
    let junk = [
        json!({ "request": 5 }),
        json!({ "request": "join", "ptype": "publisher", "room": "1234" }),
        json!({ "request": "join", "ptype": "listener", "room": 1234 }),
        json!({ "request": "join", "ptype": "subscriber", "room": 1234 }),
        json!({ "request": "create", "room": -1 }),
        json!({ "request": "rtp_forward", "room": 1234, "publisher_id": 1, "host": "nowhere", "streams": [{ "mid": "0", "port": 5000 }] }),
        json!({ "request": "switch", "streams": [{ "feed": 1 }] }),
        json!({ "request": "frobnicate" }),
    ];
    let expected = [430, 430, 430, 429, 430, 430, 424, 423];
    for (body, code) in junk.iter().zip(expected) {
        let reply = bad.request(json!({ "janus": "message", "session_id": bs, "handle_id": bh, "body": body })).await;
        let plugin_reply = if reply["janus"] == "ack" { bad.event().await } else { reply };
        assert_eq!(data(&plugin_reply)["error_code"], code, "{body} -> {plugin_reply}");
    }
    bad.send_raw(&"x".repeat(70_000)).await;
    assert!(bad.try_event(Duration::from_millis(500)).await.is_none(), "an oversized frame closes that connection");
    let joined = good
        .message_async(s, h, json!({ "request": "join", "ptype": "publisher", "room": 1234, "display": "ok" }), None)
        .await;
    assert_eq!(data(&joined)["videoroom"], "joined");
}

/// The subscriber's whole signalling flow over the wire, on a room's placeholder publisher:
/// attach with an offer, start with the answer, pause, subscribe / unsubscribe / update with
/// renegotiation (`updated` + offer, or `updating` while an answer is owed), switch, leave.
#[tokio::test]
async fn ws_subscriber_flow_on_a_dummy_publisher() {
    let server = Server::start("");
    let mut admin = Ws::connect(&server.ws).await;
    let sa = admin.create().await;
    let ha = admin.attach(sa, VR).await;
    admin
        .message(sa, ha, json!({ "request": "create", "room": 7, "dummy_publisher": true, "videocodec": "vp8,vp9" }))
        .await;
    let listed = admin.message(sa, ha, json!({ "request": "listparticipants", "room": 7 })).await;
    let dummy = data(&listed)["participants"][0].clone();
    assert_eq!((dummy["dummy"].as_bool(), dummy["publisher"].as_bool()), (Some(true), Some(true)), "{dummy}");
    let feed = dummy["id"].as_u64().unwrap();

    let mut sub = Ws::connect(&server.ws).await;
    let ss = sub.create().await;
    let hs = sub.attach(ss, VR).await;
    let attached = sub
        .message_async(
            ss,
            hs,
            json!({ "request": "join", "ptype": "subscriber", "room": 7, "streams": [{ "feed": feed, "mid": "1" }] }),
            None,
        )
        .await;
    assert_eq!(data(&attached)["videoroom"], "attached");
    assert_eq!(data(&attached)["streams"][0]["feed_mid"], "1");
    assert_eq!(attached["jsep"]["type"], "offer");
    // While the offer is unanswered, a change is accepted but only announced (`updating`).
    let updating = sub
        .message_async(ss, hs, json!({ "request": "subscribe", "streams": [{ "feed": feed, "mid": "2" }] }), None)
        .await;
    assert_eq!(data(&updating)["videoroom"], "updating");
    let answer = json!({ "type": "answer", "sdp": attached["jsep"]["sdp"].as_str().unwrap().replace("a=sendonly", "a=recvonly") });
    let started = sub.message_async(ss, hs, json!({ "request": "start" }), Some(answer)).await;
    assert_eq!(data(&started)["started"], "ok");
    let updated = sub.event().await;
    assert_eq!(
        (data(&updated)["videoroom"].as_str(), updated["jsep"]["type"].as_str()),
        (Some("updated"), Some("offer"))
    );
    assert_eq!(data(&updated)["streams"].as_array().unwrap().len(), 2, "the deferred subscribe is offered after start");
    sub.message_async(ss, hs, json!({ "request": "start" }), None).await;
    assert_eq!(data(&sub.message_async(ss, hs, json!({ "request": "pause" }), None).await)["paused"], "ok");
    let configured = sub
        .message_async(ss, hs, json!({ "request": "configure", "streams": [{ "mid": "0", "send": false }] }), None)
        .await;
    assert_eq!(data(&configured)["configured"], "ok");
    let switched = sub
        .message_async(
            ss,
            hs,
            json!({ "request": "switch", "streams": [{ "feed": feed, "mid": "2", "sub_mid": "0" }] }),
            None,
        )
        .await;
    assert_eq!((data(&switched)["switched"].as_str(), data(&switched)["changes"].as_u64()), (Some("ok"), Some(1)));
    assert_eq!(data(&switched)["streams"][0]["feed_mid"], "2");
    let unsubscribed =
        sub.message_async(ss, hs, json!({ "request": "unsubscribe", "streams": [{ "sub_mid": "1" }] }), None).await;
    assert_eq!(data(&unsubscribed)["streams"][1]["active"], false);
    let nothing = sub.message_async(ss, hs, json!({ "request": "update" }), None).await;
    assert_eq!(data(&nothing)["error_code"], 429);
    let bad_switch = sub
        .message_async(
            ss,
            hs,
            json!({ "request": "switch", "streams": [{ "feed": feed, "mid": "0", "sub_mid": "0" }] }),
            None,
        )
        .await;
    assert_eq!(data(&bad_switch)["error_code"], 430, "audio onto a video m-line: {bad_switch}");
    assert_eq!(data(&sub.message_async(ss, hs, json!({ "request": "leave" }), None).await)["left"], "ok");
    let hangup = sub.event().await;
    assert_eq!((hangup["janus"].as_str(), hangup["reason"].as_str()), (Some("hangup"), Some("Close PC")));
    // A publisher joining the room sees the placeholder as a feed.
    let hp = admin.attach(sa, VR).await;
    let joined = admin.message_async(sa, hp, json!({ "request": "join", "ptype": "publisher", "room": 7 }), None).await;
    assert_eq!(data(&joined)["publishers"][0]["dummy"], true);
}

/// api_secret and stored tokens: either lets a request in; a token limited to one plugin
/// cannot attach another (405); the admin API manages the tokens.
#[tokio::test]
async fn ws_api_secret_and_tokens() {
    let server = Server::start("[general]\napi_secret = \"sec\"\ntoken_auth = true\n");
    let mut ws = Ws::connect(&server.ws).await;
    let mut admin = Ws::connect_with(&server.admin, Some("janus-admin-protocol")).await.unwrap();
    assert_eq!(ws.request(json!({ "janus": "info" })).await["janus"], "server_info", "info needs no secret");
    assert_eq!(ws.request(json!({ "janus": "create" })).await["error"]["code"], 403);
    assert_eq!(
        admin.request(json!({ "janus": "add_token", "token": "tok" })).await["error"]["code"],
        403,
        "admin needs its secret"
    );
    let added = admin.request(json!({ "janus": "add_token", "token": "tok", "plugins": ["janus.plugin.echotest"], "admin_secret": "janusoverlord" })).await;
    assert_eq!(added["data"]["plugins"], json!(["janus.plugin.echotest"]));
    let s = ws.request(json!({ "janus": "create", "token": "tok" })).await["data"]["id"].as_u64().unwrap();
    let vr = ws
        .request(json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.videoroom", "token": "tok" }))
        .await;
    assert_eq!(vr["error"]["reason"], "Provided token can't access plugin 'janus.plugin.videoroom'");
    let echo = ws
        .request(json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.echotest", "token": "tok" }))
        .await;
    assert_eq!(echo["janus"], "success");
    let with_secret = ws
        .request(json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.videoroom", "apisecret": "sec" }))
        .await;
    assert_eq!(with_secret["janus"], "success");
    let listed = admin.request(json!({ "janus": "list_tokens", "admin_secret": "janusoverlord" })).await;
    assert_eq!(listed["data"]["tokens"], json!([{ "token": "tok", "allowed_plugins": ["janus.plugin.echotest"] }]));
    admin.request(json!({ "janus": "remove_token", "token": "tok", "admin_secret": "janusoverlord" })).await;
    assert_eq!(
        ws.request(json!({ "janus": "keepalive", "session_id": s, "token": "tok" })).await["error"]["code"],
        403
    );
    let sessions = admin.request(json!({ "janus": "list_sessions", "admin_secret": "janusoverlord" })).await;
    assert_eq!(sessions["sessions"], json!([s]));
}

/// A bad configuration stops the server at start, naming the key; `--help` documents the flag.
#[test]
fn ws_bad_config_names_the_key() {
    let mut config = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut config, b"[general]\nsesion_timeout = 5\n").unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_vroom")).arg("--config").arg(config.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("ERROR") && err.contains("sesion_timeout"), "{err}");
    let mut config = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut config, b"[websocket]\nlisten = \"not an address\"\n").unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_vroom")).arg("--config").arg(config.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("listen"), "{}", String::from_utf8_lossy(&out.stdout));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_vroom")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
}

/// A publisher's SDP offer whose video m-line has VP9 in profiles 0 and 2 and H.264 in
/// Constrained Baseline and Main.
fn profiles_offer() -> serde_json::Value {
    let common = "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n";
    let sdp = format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
         m=video 9 UDP/TLS/RTP/SAVPF 98 100 102 103\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n\
         a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\na=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\n\
         a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
         a=rtpmap:103 H264/90000\r\na=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f\r\n{common}"
    );
    json!({ "type": "offer", "sdp": sdp })
}

/// Room options that end up in SDP are checked, then used. Janus 1.1.2 writes `vp9_profile`
/// into its SDP unchecked: a line break there injects `a=msid:x`, which stalls its VideoRoom
/// (JCB-04). vroom refuses what is not a profile (430) and chooses the room's profile in the
/// publisher's answer, its stream list and subscribers' offers.
#[tokio::test]
async fn ws_video_profiles_are_checked_then_chosen_in_answers_and_offers() {
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, VR).await;
    for (field, value) in
        [("vp9_profile", "2\r\na=msid:x"), ("vp9_profile", "4"), ("h264_profile", "42e01"), ("h264_profile", "zzzzzz")]
    {
        let r = ws.message(s, h, json!({ "request": "create", "room": 7001, field: value })).await;
        assert_eq!(data(&r)["error_code"], 430, "{field} {value:?}: {r}");
        assert_eq!(data(&r)["error"], format!("Invalid element ({field})"));
    }
    let exists = ws.message(s, h, json!({ "request": "exists", "room": 7001 })).await;
    assert_eq!(data(&exists)["exists"], false);
    let create = json!({ "request": "create", "room": 7002, "videocodec": "vp9,h264", "vp9_profile": "2",
        "h264_profile": "4d001f", "dummy_publisher": true });
    assert_eq!(data(&ws.message(s, h, create).await)["videoroom"], "created");

    // The publisher's answer takes the room's VP9 profile; its stream says which.
    let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": 7002 });
    let joined = ws.message_async(s, h, body, Some(profiles_offer())).await;
    let answer = joined["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {joined}"));
    assert!(!answer.contains("profile-id=0") && !answer.contains("a=rtpmap:98 "), "{answer}");
    let m_video = answer.lines().find(|l| l.starts_with("m=video")).unwrap();
    assert!(m_video.split_whitespace().skip(3).all(|pt| pt == "100" || pt == "103"), "{m_video}");
    assert_eq!(data(&joined)["streams"][0]["vp9_profile"], "2", "{joined}");

    // A subscriber of the dummy publisher is offered the room's profiles.
    let sh = ws.attach(s, VR).await;
    let list = ws.message(s, sh, json!({ "request": "listparticipants", "room": 7002 })).await;
    let dummy = data(&list)["participants"].as_array().unwrap().iter().find(|p| p["dummy"] == true).cloned();
    let dummy = dummy.unwrap_or_else(|| panic!("a dummy publisher: {list}"))["id"].clone();
    let body = json!({ "request": "join", "ptype": "subscriber", "room": 7002, "streams": [{ "feed": dummy }] });
    let attached = ws.message_async(s, sh, body, None).await;
    let offer = attached["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {attached}"));
    assert!(offer.contains("profile-id=2"), "{offer}");
    assert!(offer.contains("profile-level-id=4d001f"), "{offer}");
}
