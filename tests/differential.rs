//! The same request script against vroom and against the real Janus 1.1.2 (Debian's `janus`),
//! over real WebSocket and HTTP clients: every reply and every event, normalized (random ids
//! replaced by their order of appearance, SDP bodies dropped), must be the same, except for
//! the differences listed in `DELIBERATE`, each with its reason.

mod common;

use std::time::Duration;

use common::janus::Janus;
use common::{av_offer, Http, Server, Ws};
use serde_json::{json, Value};

/// Where vroom answers differently on purpose: (step, JSON pointer in the normalized record).
const DELIBERATE: &[(&str, &str, &str)] = &[
    ("info", "/reply", "server_info names vroom and its own plugins' descriptions, not Janus's build"),
    (
        "invalid json",
        "/reply/error/reason",
        "the parser's message text differs (serde_json vs jansson); the code 454 is the same",
    ),
];

/// Moves the PeerConnection `hangup` events, which Janus sends asynchronously (when its
/// PeerConnection is torn down, some time after the request that closed it), out of the steps
/// into one record at the end: they are compared as a whole, not by when they came.
fn hangups_at_end(mut steps: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut hangups = Vec::new();
    for (_, rec) in steps.iter_mut() {
        for who in ["a", "b", "c"] {
            if let Some(events) = rec.get_mut(who).and_then(Value::as_array_mut) {
                hangups.extend(events.iter().filter(|e| e["janus"] == "hangup").cloned());
                events.retain(|e| e["janus"] != "hangup");
                if events.is_empty() {
                    rec.as_object_mut().unwrap().remove(who);
                }
            }
        }
    }
    steps.push(("hangups".into(), Value::Array(hangups)));
    steps
}

struct Recorder {
    steps: Vec<(String, Value)>,
}

impl Recorder {
    fn record(&mut self, step: &str, reply: Value, events: Vec<(&str, Vec<Value>)>) {
        let mut rec = json!({ "reply": reply });
        for (who, evs) in events {
            if !evs.is_empty() {
                rec[who] = Value::Array(evs);
            }
        }
        self.steps.push((step.to_string(), rec));
    }
}

const QUIET: Duration = Duration::from_millis(150);

async fn settle(ws: &mut Ws) -> Vec<Value> {
    ws.events_for(QUIET).await
}

/// The script: the requests of `../shared/reference/janus-wire/*.jsonl`, on three WebSockets
/// and an HTTP client.
#[allow(unused_assignments)]
async fn script(ws_url: &str, http_url: &str) -> Vec<(String, Value)> {
    let mut r = Recorder { steps: Vec::new() };
    let (mut a, mut b, mut c) = (Ws::connect(ws_url).await, Ws::connect(ws_url).await, Ws::connect(ws_url).await);
    let mut last_events: Vec<Value> = Vec::new();
    macro_rules! step {
        ($name:expr, $ws:expr, $msg:expr) => {{
            let reply = $ws.request($msg).await;
            let (ea, eb, ec) = tokio::join!(settle(&mut a), settle(&mut b), settle(&mut c));
            last_events = ea.iter().chain(&eb).chain(&ec).cloned().collect();
            r.record($name, reply.clone(), vec![("a", ea), ("b", eb), ("c", ec)]);
            reply
        }};
    }
    macro_rules! raw {
        ($name:expr, $text:expr) => {{
            a.send_raw($text).await;
            let reply = a.recv().await;
            r.record($name, reply, vec![]);
        }};
    }
    // Core API.
    step!("info", a, json!({ "janus": "info" }));
    step!("ping", a, json!({ "janus": "ping" }));
    let s = step!("create", a, json!({ "janus": "create" }))["data"]["id"].as_u64().unwrap();
    step!("create with id", a, json!({ "janus": "create", "id": 424242 }));
    step!("create taken id", a, json!({ "janus": "create", "id": 424242 }));
    step!("destroy chosen", a, json!({ "janus": "destroy", "session_id": 424242 }));
    step!("keepalive", a, json!({ "janus": "keepalive", "session_id": s }));
    let e = step!(
        "attach echotest",
        a,
        json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.echotest", "opaque_id": "x" })
    )["data"]["id"]
        .as_u64()
        .unwrap();
    raw!("invalid json", "{\"janus\": \"info\", \"transaction\": ");
    raw!("array", "[1,2,3]");
    raw!("no janus", r#"{"transaction": "t"}"#);
    raw!("no transaction", r#"{"janus": "info"}"#);
    // The envelope's errors carry the session_id, not the transaction.
    raw!("no janus in a session", &format!(r#"{{"transaction": "t", "session_id": {s}}}"#));
    raw!("janus not a string", r#"{"janus": 5, "transaction": "t"}"#);
    raw!("transaction not a string", &format!(r#"{{"janus": "keepalive", "transaction": 5, "session_id": {s}}}"#));
    raw!("id not a number", r#"{"janus": "create", "transaction": "t", "id": "x"}"#);
    step!("unknown at root", a, json!({ "janus": "frobnicate" }));
    step!("unknown in session", a, json!({ "janus": "frobnicate", "session_id": s }));
    step!("unknown session", a, json!({ "janus": "keepalive", "session_id": 1234567 }));
    step!("string session", a, json!({ "janus": "keepalive", "session_id": "abc" }));
    step!("attach no plugin", a, json!({ "janus": "attach", "session_id": s }));
    step!("attach unknown plugin", a, json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.nope" }));
    step!("unknown handle", a, json!({ "janus": "message", "session_id": s, "handle_id": 99999 }));
    step!("no body", a, json!({ "janus": "message", "session_id": s, "handle_id": e }));
    step!("body not object", a, json!({ "janus": "message", "session_id": s, "handle_id": e, "body": "x" }));
    step!(
        "short sdp",
        a,
        json!({ "janus": "message", "session_id": s, "handle_id": e, "body": {}, "jsep": { "type": "answer", "sdp": "v=0" } })
    );
    step!(
        "garbage sdp",
        a,
        json!({ "janus": "message", "session_id": s, "handle_id": e, "body": {}, "jsep": { "type": "offer", "sdp": "garbage" } })
    );
    step!("trickle nothing", a, json!({ "janus": "trickle", "session_id": s, "handle_id": e }));
    step!(
        "trickle completed",
        a,
        json!({ "janus": "trickle", "session_id": s, "handle_id": e, "candidate": { "completed": true } })
    );
    step!("hangup idle echotest", a, json!({ "janus": "hangup", "session_id": s, "handle_id": e }));
    step!("ping in handle", a, json!({ "janus": "ping", "session_id": s, "handle_id": e }));
    step!("create in session", a, json!({ "janus": "create", "session_id": s }));
    step!("claim", a, json!({ "janus": "claim", "session_id": s }));
    step!("detach", a, json!({ "janus": "detach", "session_id": s, "handle_id": e }));
    step!("detach again", a, json!({ "janus": "detach", "session_id": s, "handle_id": e }));

    // VideoRoom on three sessions.
    let sb = b.create().await;
    let sc = c.create().await;
    let attach = |sid| json!({ "janus": "attach", "session_id": sid, "plugin": "janus.plugin.videoroom" });
    let ha = step!("attach a", a, attach(s))["data"]["id"].as_u64().unwrap();
    let hb = step!("attach b", b, attach(sb))["data"]["id"].as_u64().unwrap();
    let hc = step!("attach c", c, attach(sc))["data"]["id"].as_u64().unwrap();
    let msg =
        |sid: u64, h: u64, body: Value| json!({ "janus": "message", "session_id": sid, "handle_id": h, "body": body });
    step!(
        "create room",
        a,
        msg(
            s,
            ha,
            json!({ "request": "create", "room": 4242, "pin": "1234", "secret": "s3", "notify_joining": true, "publishers": 2 })
        )
    );
    step!("create room again", a, msg(s, ha, json!({ "request": "create", "room": 4242 })));
    step!("exists", a, msg(s, ha, json!({ "request": "exists", "room": 4242 })));
    step!("exists not", a, msg(s, ha, json!({ "request": "exists", "room": 999 })));
    step!("join without pin", a, msg(s, ha, json!({ "request": "join", "ptype": "publisher", "room": 4242 })));
    step!(
        "join a",
        a,
        msg(
            s,
            ha,
            json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "1234", "id": 1, "display": "alice" })
        )
    );
    step!(
        "join a twice",
        a,
        msg(s, ha, json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "1234", "id": 3 }))
    );
    step!("listparticipants", a, msg(s, ha, json!({ "request": "listparticipants", "room": 4242 })));
    step!(
        "join b duplicate id",
        b,
        msg(sb, hb, json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "1234", "id": 1 }))
    );
    let hb = step!("attach b2", b, attach(sb))["data"]["id"].as_u64().unwrap();
    step!(
        "join b",
        b,
        msg(
            sb,
            hb,
            json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "1234", "id": 2, "display": "bob" })
        )
    );
    step!("configure b display", b, msg(sb, hb, json!({ "request": "configure", "display": "robert" })));
    step!(
        "subscribe to idle feed",
        c,
        msg(
            sc,
            hc,
            json!({ "request": "join", "ptype": "subscriber", "room": 4242, "pin": "1234", "streams": [{ "feed": 2 }] })
        )
    );
    let hc = step!("attach c2", c, attach(sc))["data"]["id"].as_u64().unwrap();
    step!("start unconfigured", c, msg(sc, hc, json!({ "request": "start" })));
    step!("unpublish unpublished", b, msg(sb, hb, json!({ "request": "unpublish" })));
    step!("publish without sdp", b, msg(sb, hb, json!({ "request": "publish" })));
    step!(
        "edit wrong secret",
        a,
        msg(s, ha, json!({ "request": "edit", "room": 4242, "secret": "x", "new_description": "d" }))
    );
    step!(
        "edit",
        a,
        msg(s, ha, json!({ "request": "edit", "room": 4242, "secret": "s3", "new_description": "Renamed" }))
    );
    step!(
        "allowed add",
        a,
        msg(s, ha, json!({ "request": "allowed", "room": 4242, "secret": "s3", "action": "add", "allowed": ["tok"] }))
    );
    step!(
        "allowed disable",
        a,
        msg(s, ha, json!({ "request": "allowed", "room": 4242, "secret": "s3", "action": "disable" }))
    );
    step!("listforwarders", a, msg(s, ha, json!({ "request": "listforwarders", "room": 4242, "secret": "s3" })));
    step!(
        "moderate unknown",
        a,
        msg(s, ha, json!({ "request": "moderate", "room": 4242, "secret": "s3", "id": 777, "mid": "0", "mute": true }))
    );
    step!("kick unknown", a, msg(s, ha, json!({ "request": "kick", "room": 4242, "secret": "s3", "id": 777 })));
    step!("kick b", a, msg(s, ha, json!({ "request": "kick", "room": 4242, "secret": "s3", "id": 2 })));
    step!("leave a", a, msg(s, ha, json!({ "request": "leave" })));
    step!(
        "join after leave",
        a,
        msg(s, ha, json!({ "request": "join", "ptype": "publisher", "room": 4242, "pin": "1234" }))
    );
    step!("destroy no secret", a, msg(s, ha, json!({ "request": "destroy", "room": 4242 })));
    step!("destroy", a, msg(s, ha, json!({ "request": "destroy", "room": 4242, "secret": "s3" })));

    // A placeholder publisher: subscribers can take its streams with no media flowing.
    step!("create dummy room", a, msg(s, ha, json!({ "request": "create", "room": 7777, "dummy_publisher": true })));
    let listed = step!("dummy listparticipants", a, msg(s, ha, json!({ "request": "listparticipants", "room": 7777 })));
    let dummy = listed["plugindata"]["data"]["participants"][0]["id"].clone();
    let hs = step!("attach subscriber", c, attach(sc))["data"]["id"].as_u64().unwrap();
    step!(
        "subscribe to dummy",
        c,
        msg(
            sc,
            hs,
            json!({ "request": "join", "ptype": "subscriber", "room": 7777, "streams": [{ "feed": dummy, "mid": "0" }] })
        )
    );
    let offer = last_events.iter().find_map(|e| e["jsep"]["sdp"].as_str().map(String::from)).unwrap_or_default();
    let start = json!({ "janus": "message", "session_id": sc, "handle_id": hs, "body": { "request": "start" }, "jsep": { "type": "answer", "sdp": answer_to(&offer) } });
    step!("start with answer", c, start);
    step!("pause", c, msg(sc, hs, json!({ "request": "pause" })));
    step!("start again", c, msg(sc, hs, json!({ "request": "start" })));
    step!(
        "subscribe more",
        c,
        msg(sc, hs, json!({ "request": "subscribe", "streams": [{ "feed": dummy, "mid": "1" }] }))
    );
    step!("leave subscriber", c, msg(sc, hs, json!({ "request": "leave" })));
    let hj = step!("attach joiner", b, attach(sb))["data"]["id"].as_u64().unwrap();
    step!("join dummy room", b, msg(sb, hj, json!({ "request": "join", "ptype": "publisher", "room": 7777, "id": 5 })));
    step!("destroy dummy room", a, msg(s, ha, json!({ "request": "destroy", "room": 7777 })));

    // Bad input, each on a fresh handle.
    let bad = [
        ("string room", json!({ "request": "join", "ptype": "publisher", "room": "1234" })),
        ("display not string", json!({ "request": "join", "ptype": "publisher", "room": 1234, "display": 5 })),
        ("join no room", json!({ "request": "join", "ptype": "publisher" })),
        ("join unknown room", json!({ "request": "join", "ptype": "publisher", "room": 999999 })),
        ("bad ptype", json!({ "request": "join", "ptype": "listener", "room": 1234 })),
        ("no ptype", json!({ "request": "join", "room": 1234 })),
        (
            "subscriber unknown feed",
            json!({ "request": "join", "ptype": "subscriber", "room": 1234, "streams": [{ "feed": 42 }] }),
        ),
        ("subscriber no feed", json!({ "request": "join", "ptype": "subscriber", "room": 1234 })),
        ("configure first", json!({ "request": "configure", "bitrate": 1000 })),
        ("leave first", json!({ "request": "leave" })),
        ("listparticipants no room", json!({ "request": "listparticipants" })),
        ("unknown request", json!({ "request": "frobnicate" })),
        ("no request", json!({ "foo": 1 })),
    ];
    for (name, body) in bad {
        let h = b.attach(sb, "janus.plugin.videoroom").await;
        step!(name, b, msg(sb, h, body));
    }
    let h = b.attach(sb, "janus.plugin.videoroom").await;
    step!(
        "publish with offer",
        b,
        json!({ "janus": "message", "session_id": sb, "handle_id": h, "body": { "request": "joinandconfigure", "ptype": "publisher", "room": 1234, "id": 9 }, "jsep": av_offer() })
    );
    step!("list", a, msg(s, ha, json!({ "request": "list" })));
    step!("destroy session", a, json!({ "janus": "destroy", "session_id": s }));
    step!("destroy session again", a, json!({ "janus": "destroy", "session_id": s }));

    // HTTP: REST, long-poll, and the transport's own errors.
    let http_steps = tokio::task::spawn_blocking({
        let http_url = http_url.to_string();
        move || {
            let mut h = Http::new(&http_url);
            let mut out = Vec::new();
            let (st, v) = h.post("", json!({ "janus": "create" }));
            let sid = v["data"]["id"].as_u64().unwrap();
            out.push(("http create".to_string(), json!({ "status": st, "reply": v })));
            let (st, v) = h.post(&format!("/{sid}"), json!({ "janus": "attach", "plugin": "janus.plugin.videoroom" }));
            let hid = v["data"]["id"].as_u64().unwrap();
            out.push(("http attach".into(), json!({ "status": st, "reply": v })));
            let (st, v) = h.post(&format!("/{sid}/{hid}"), json!({ "janus": "message", "body": { "request": "exists", "room": 1234 } }));
            out.push(("http sync".into(), json!({ "status": st, "reply": v })));
            let (st, v) = h.post(&format!("/{sid}/{hid}"), json!({ "janus": "message", "body": { "request": "join", "ptype": "publisher", "room": 1234, "id": 55 } }));
            out.push(("http async".into(), json!({ "status": st, "reply": v })));
            let (st, v) = h.get(&format!("/{sid}?maxev=2"));
            out.push(("http long-poll".into(), json!({ "status": st, "reply": v })));
            out.push(("http get base".into(), json!({ "status": h.get("").0 })));
            out.push(("http post info".into(), json!({ "status": h.post_raw("/info", "{}").0 })));
            let (st, v) = h.delete("");
            out.push(("http delete".into(), json!({ "status": st, "reply": v })));
            out.push(("http unknown session poll".into(), json!({ "status": h.get("/12345").0 })));
            let (st, v) = h.post_raw("", "[1]");
            out.push(("http array".into(), json!({ "status": st, "reply": v })));
            out
        }
    })
    .await
    .unwrap();
    r.steps.extend(http_steps);
    r.steps
}

/// A client's answer to a subscriber offer: every m-line received, our own ICE and DTLS.
fn answer_to(offer: &str) -> String {
    offer
        .lines()
        .filter(|l| {
            !l.starts_with("a=candidate")
                && !l.starts_with("a=end-of-candidates")
                && !l.starts_with("a=ssrc")
                && !l.starts_with("a=msid")
        })
        .map(|l| match l {
            "a=sendonly" => "a=recvonly".to_string(),
            "a=sendrecv" => "a=recvonly".to_string(),
            l if l.starts_with("a=setup:") => "a=setup:active".to_string(),
            l if l.starts_with("a=ice-ufrag:") => "a=ice-ufrag:cli1".to_string(),
            l if l.starts_with("a=ice-pwd:") => "a=ice-pwd:clientpassword0123456789".to_string(),
            l => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// Replaces random ids (sessions, handles, private ids: integers from 10^5 up) by their order
/// of first appearance, wherever they appear (also inside error texts), and drops SDP bodies.
fn normalize(steps: Vec<(String, Value)>) -> Vec<(String, Value)> {
    fn collect(v: &Value, ids: &mut Vec<u64>) {
        match v {
            Value::Number(n) => {
                if let Some(n) = n.as_u64().filter(|n| *n >= 100_000 && !ids.contains(n)) {
                    ids.push(n);
                }
            }
            Value::Object(m) => m.iter().filter(|(k, _)| *k != "bitrate").for_each(|(_, x)| collect(x, ids)),
            Value::Array(a) => a.iter().for_each(|x| collect(x, ids)),
            _ => {}
        }
    }
    fn rewrite(v: &mut Value, ids: &[u64], key: &str) {
        match v {
            Value::Number(n) if key != "bitrate" => {
                if let Some(i) = n.as_u64().and_then(|n| ids.iter().position(|x| *x == n)) {
                    *v = format!("#{i}").into();
                }
            }
            Value::String(s) if key == "sdp" => *s = "<sdp>".into(),
            Value::String(s) => {
                for (i, id) in ids.iter().enumerate() {
                    *s = s.replace(&id.to_string(), &format!("#{i}"));
                }
            }
            Value::Object(m) => m.iter_mut().for_each(|(k, x)| rewrite(x, ids, k)),
            Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, ids, key)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    steps.iter().for_each(|(_, v)| collect(v, &mut ids));
    steps
        .into_iter()
        .map(|(name, mut v)| {
            rewrite(&mut v, &ids, "");
            (name, v)
        })
        .collect()
}

/// Every place two JSON values differ, as (pointer, left, right).
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, Value, Value)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
            for k in keys {
                diff(&format!("{path}/{k}"), x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}/{i}"), p, q, out);
            }
        }
        _ if a != b => out.push((path.to_string(), a.clone(), b.clone())),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differential_vroom_matches_janus() {
    let janus = tokio::task::spawn_blocking(Janus::start).await.unwrap();
    let vroom = Server::start("");
    let (theirs, ours) = tokio::join!(script(&janus.ws, &janus.http), script(&vroom.ws, &vroom.http));
    let (theirs, ours) = (normalize(hangups_at_end(theirs)), normalize(hangups_at_end(ours)));
    assert_eq!(theirs.len(), ours.len());
    let mut unexpected = Vec::new();
    let mut deliberate = 0;
    for ((step, t), (_, o)) in theirs.iter().zip(&ours) {
        let mut d = Vec::new();
        diff("", t, o, &mut d);
        for (path, janus_says, vroom_says) in d {
            if DELIBERATE.iter().any(|(s, p, _)| s == step && path.starts_with(p)) {
                deliberate += 1;
            } else {
                unexpected.push(format!("{step} {path}:\n  janus: {janus_says}\n  vroom: {vroom_says}"));
            }
        }
    }
    println!("differential: {} steps compared, {deliberate} deliberate differences", theirs.len());
    for ((step, t), (_, o)) in theirs.iter().zip(&ours) {
        if std::env::var("DIFF_SHOW").is_ok_and(|v| v == *step) {
            println!("janus {step}: {t}\nvroom {step}: {o}");
        }
    }
    assert!(unexpected.is_empty(), "{} differences from Janus 1.1.2:\n{}", unexpected.len(), unexpected.join("\n"));
}

/// Every key path of a JSON value with the type found there (`/info/webrtc/ice/state string`).
/// Arrays are entered through their first element; the keys of `extensions` (header extension
/// URIs, which depend on the peer) and of `media` (m-line indexes) are generalized.
fn shape(v: &Value, path: &str, out: &mut std::collections::BTreeMap<String, &'static str>) {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    out.insert(path.to_string(), kind);
    match v {
        Value::Object(m) if path.ends_with("/extensions") => {
            if let Some((_, first)) = m.iter().next() {
                shape(first, &format!("{path}/*"), out);
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let key = if path.ends_with("/media") { "*" } else { k };
                shape(v, &format!("{path}/{key}"), out);
            }
        }
        Value::Array(a) => {
            if let Some(first) = a.first() {
                shape(first, &format!("{path}/[]"), out);
            }
        }
        _ => {}
    }
}

/// Keys of Janus's `handle_info` that vroom leaves out, by prefix, and why (`*` or the case
/// they apply to).
const NOT_IN_VROOM: &[(&str, &str, &str)] = &[
    ("*", "/info/plugin_specific/streams/[]/audio-level-dBov", "no audio-level events yet (talking, issue 17)"),
    ("*", "/info/plugin_specific/streams/[]/talking", "no audio-level events yet (talking, issue 17)"),
    ("*", "/info/webrtc/dtls/retransmissions", "rtc does not count DTLS retransmissions"),
    ("*", "/info/webrtc/dtls/handshake-started", "rtc does not report when the handshake began"),
    ("*", "/info/webrtc/media/*/nack-queue-ms", "vroom keeps the last 256 packets per video stream, not a time window"),
    (
        "*",
        "/info/webrtc/media/*/ssrc/ssrc-rtx",
        "vroom negotiates no RTX: NACKed packets are resent on the stream's SSRC",
    ),
    ("*", "/info/webrtc/media/*/ssrc/ssrc-peer-rtx", "no RTX"),
    ("*", "/info/webrtc/media/*/codecs/rtx-pt", "no RTX"),
    ("*", "/info/webrtc/media/*/stats/in/retransmissions", "no RTX"),
    ("*", "/info/webrtc/media/*/stats/in/bytes_lastsec", "no per-second rates kept yet"),
    ("*", "/info/webrtc/media/*/stats/out/bytes_lastsec", "no per-second rates kept yet"),
    ("*", "/info/webrtc/media/*/rtcp/main/rtt", "rtc does not report the round-trip time per stream"),
    ("*", "/info/webrtc/media/*/rtcp/main/lost-by-remote", "no remote loss kept yet"),
    ("*", "/info/webrtc/media/*/rtcp/main/jitter-remote", "no remote jitter kept yet"),
    ("*", "/info/webrtc/media/*/rtcp/main/in-link-quality", "Janus's own link-quality heuristic"),
    ("*", "/info/webrtc/media/*/rtcp/main/in-media-link-quality", "Janus's own link-quality heuristic"),
    ("*", "/info/webrtc/media/*/rtcp/main/out-link-quality", "Janus's own link-quality heuristic"),
    ("*", "/info/webrtc/media/*/rtcp/main/out-media-link-quality", "Janus's own link-quality heuristic"),
    (
        "publisher",
        "/info/webrtc/media/*/ssrc/ssrc",
        "a receive-only m-line has no SSRC of vroom's: its receiver reports carry the stack's",
    ),
];

/// `handle_info` for a connected EchoTest and a connected VideoRoom publisher, on vroom and on
/// Janus 1.1.2, from the same aiortc peer script: every key Janus gives, vroom gives with the
/// same JSON type, but for the keys `NOT_IN_VROOM` lists. Janus needs an interface other than
/// loopback for media, so both run in a namespace with a veth pair, and the peer with them.
#[test]
fn handle_info_has_janus_shape_for_a_connected_echotest_and_publisher() {
    common::prereq::require(&["janus", common::prereq::VENV]);
    let ns = common::netns::Netns::new();
    let other = common::netns::Netns::new();
    ns.link("v0", "10.77.0.1/24", &other, "v1", "10.77.0.2/24");
    let janus = Janus::start_in(Some(&ns), Some("v0"));
    let vroom = Server::start_in(Some(&ns), "[media]\nice_enforce_list = \"v0\"\n");
    let env = [("E2E_HOST_ADDRESSES", "10.77.0.1")];
    let mut failures = Vec::new();
    for mode in ["echo", "publisher"] {
        let info = |ws: &str, admin: &str| {
            let out = common::peers::run(Some(&ns), &env, "handle_info_aiortc.py", &[mode, ws, admin]);
            assert_eq!(out["reply"]["janus"], "success", "{mode}: {out}");
            assert_eq!(out["connection"], "connected", "{mode}: {out}");
            out["reply"].clone()
        };
        let (theirs, ours) = (info(&janus.ws, &janus.admin), info(&vroom.ws, &vroom.admin));
        let (mut t, mut o) = (Default::default(), Default::default());
        shape(&theirs, "", &mut t);
        shape(&ours, "", &mut o);
        for (path, kind) in &t {
            if NOT_IN_VROOM.iter().any(|(case, p, _)| (*case == "*" || *case == mode) && path.starts_with(p)) {
                continue;
            }
            match o.get(path) {
                Some(k) if k == kind => {}
                Some(k) => failures.push(format!("{mode}: {path} is {k} in vroom, {kind} in Janus")),
                None => failures.push(format!("{mode}: {path} ({kind}) missing in vroom")),
            }
        }
        // What vroom's says that matters, beyond the shape.
        let w = &ours["info"]["webrtc"];
        assert!(w["ice"]["selected-pair"].as_str().is_some_and(|p| p.contains("10.77.0.1")), "{mode}: {w}");
        assert!(w["dtls"]["srtp-profile"].as_str().is_some_and(|p| p.contains("GCM")), "{mode}: {w}");
        assert_eq!(w["dtls"]["dtls-state"], "connected", "{mode}: {w}");
        let video = w["media"].as_object().unwrap().values().find(|m| m["type"] == "video").unwrap();
        assert!(video["stats"]["in"]["packets"].as_u64().unwrap() > 10, "{mode}: {video}");
        if mode == "echo" {
            assert!(video["stats"]["out"]["packets"].as_u64().unwrap() > 10, "{mode}: the echo went out: {video}");
        }
    }
    assert!(failures.is_empty(), "handle_info differs from Janus's:\n{}", failures.join("\n"));
}

/// The admin API's requests (`janus-admin-protocol`) with what a user connection hears meanwhile.
async fn admin_script(ws_url: &str, admin_url: &str) -> Vec<(String, Value)> {
    let mut r = Recorder { steps: Vec::new() };
    let mut user = Ws::connect(ws_url).await;
    let mut admin = Ws::connect_with(admin_url, Some("janus-admin-protocol")).await.unwrap();
    macro_rules! admin {
        ($name:expr, $msg:expr) => {{
            let mut msg = $msg;
            msg["admin_secret"] = "janusoverlord".into();
            let reply = admin.request(msg).await;
            let heard = settle(&mut user).await;
            r.record($name, reply.clone(), vec![("user", heard)]);
            reply
        }};
    }
    for (name, level) in [("log level 5", json!(5)), ("log level 8", json!(8)), ("log level x", json!("x"))] {
        admin!(name, json!({ "janus": "set_log_level", "level": level }));
    }
    admin!("log level missing", json!({ "janus": "set_log_level" }));
    admin!("log level back", json!({ "janus": "set_log_level", "level": 4 }));
    admin!("refuse sessions", json!({ "janus": "accept_new_sessions", "accept": false }));
    r.record("create refused", user.request(json!({ "janus": "create" })).await, vec![]);
    admin!("accept x", json!({ "janus": "accept_new_sessions", "accept": "x" }));
    admin!("accept sessions", json!({ "janus": "accept_new_sessions", "accept": true }));
    let s = user.create().await;
    admin!("session timeout", json!({ "janus": "set_session_timeout", "timeout": 120 }));
    admin!("session timeout x", json!({ "janus": "set_session_timeout", "timeout": "x" }));
    admin!("session timeout back", json!({ "janus": "set_session_timeout", "timeout": 60 }));
    admin!("list sessions", json!({ "janus": "list_sessions" }));
    let h = user.attach(s, "janus.plugin.echotest").await;
    admin!("list handles", json!({ "janus": "list_handles", "session_id": s }));
    admin!("list handles unknown", json!({ "janus": "list_handles", "session_id": 987654321 }));
    admin!("handle_info without handle", json!({ "janus": "handle_info", "session_id": s }));
    admin!("handle_info unknown handle", json!({ "janus": "handle_info", "session_id": s, "handle_id": 987654321 }));
    admin!("handle_info unknown session", json!({ "janus": "handle_info", "session_id": 987654321, "handle_id": h }));
    admin!("hangup_webrtc", json!({ "janus": "hangup_webrtc", "session_id": s, "handle_id": h }));
    admin!("detach_handle", json!({ "janus": "detach_handle", "session_id": s, "handle_id": h }));
    admin!("detach_handle again", json!({ "janus": "detach_handle", "session_id": s, "handle_id": h }));
    admin!(
        "message_plugin list",
        json!({ "janus": "message_plugin", "plugin": "janus.plugin.videoroom", "request": { "request": "list" } })
    );
    admin!(
        "message_plugin exists",
        json!({ "janus": "message_plugin", "plugin": "janus.plugin.videoroom", "request": { "request": "exists", "room": 1234 } })
    );
    admin!(
        "message_plugin no request",
        json!({ "janus": "message_plugin", "plugin": "janus.plugin.videoroom", "request": {} })
    );
    admin!(
        "message_plugin echotest",
        json!({ "janus": "message_plugin", "plugin": "janus.plugin.echotest", "request": { "request": "list" } })
    );
    admin!(
        "message_plugin unknown",
        json!({ "janus": "message_plugin", "plugin": "janus.plugin.nope", "request": {} })
    );
    admin!("query_logger", json!({ "janus": "query_logger", "logger": "janus.logger.json", "request": {} }));
    admin!("query_logger missing", json!({ "janus": "query_logger" }));
    admin!(
        "query_eventhandler",
        json!({ "janus": "query_eventhandler", "handler": "janus.eventhandler.sample", "request": {} })
    );
    admin!(
        "custom_logline",
        json!({ "janus": "custom_logline", "line": "hello from the differential test", "level": 4 })
    );
    admin!("custom_logline missing", json!({ "janus": "custom_logline" }));
    admin!("get_status", json!({ "janus": "get_status" }));
    admin!("unknown", json!({ "janus": "frobnicate" }));
    admin!("no secret", json!({ "janus": "list_sessions", "admin_secret": null }));
    admin!("destroy_session", json!({ "janus": "destroy_session", "session_id": s }));
    r.steps
}

/// Where vroom's admin API answers differently on purpose: (step, pointer, why).
const ADMIN_DELIBERATE: &[(&str, &str, &str)] = &[
    ("get_status", "/reply/status/candidates_timeout", "vroom keeps early candidates without a timeout"),
    ("get_status", "/reply/status/min_nack_queue", "vroom keeps 256 packets per video stream, not a time window"),
    ("get_status", "/reply/status/log_timestamps", "vroom's log lines always carry a timestamp"),
    ("get_status", "/reply/status/log_colors", "vroom's log lines never carry colors"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_matches_janus() {
    let janus = tokio::task::spawn_blocking(Janus::start).await.unwrap();
    let vroom = Server::start("");
    let (theirs, ours) = tokio::join!(admin_script(&janus.ws, &janus.admin), admin_script(&vroom.ws, &vroom.admin));
    let (theirs, ours) = (normalize(theirs), normalize(ours));
    assert_eq!(theirs.len(), ours.len());
    let mut unexpected = Vec::new();
    for ((step, t), (_, o)) in theirs.iter().zip(&ours) {
        let mut d = Vec::new();
        diff("", t, o, &mut d);
        for (path, janus_says, vroom_says) in d {
            if !ADMIN_DELIBERATE.iter().any(|(s, p, _)| s == step && path.starts_with(p)) {
                unexpected.push(format!("{step} {path}: Janus {janus_says}, vroom {vroom_says}"));
            }
        }
    }
    assert!(unexpected.is_empty(), "admin API differences:\n{}", unexpected.join("\n"));
}
