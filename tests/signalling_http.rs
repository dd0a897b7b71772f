//! The Janus API over HTTP REST and long-poll (janus.js's default transport), against the real
//! `vroom` binary on loopback, mixed with a WebSocket participant in the same room.

mod common;

use std::time::Duration;

use common::{data, Http, Server, Ws};
use serde_json::json;

#[test]
fn http_rest_and_long_poll() {
    let server = Server::start("");
    let mut http = Http::new(&server.http);
    let (status, info) = http.get("/info");
    assert_eq!((status, info["janus"].as_str()), (200, Some("server_info")));
    assert_eq!(http.get("").0, 404, "GET on the base path");
    assert_eq!(http.post_raw("/info", "{}").0, 400, "info is GET only");
    let (status, bad_method) = http.delete("");
    assert_eq!((status, bad_method["error"]["code"].as_u64()), (200, Some(450)));
    assert_eq!(http.post_raw("", "[1,2]").1["error"]["code"], 455, "HTTP: not an object");
    assert_eq!(http.post_raw("", "{").1["error"]["code"], 454);

    let (_, created) = http.post("", json!({ "janus": "create" }));
    let s = created["data"]["id"].as_u64().unwrap();
    let (_, attached) = http.post(&format!("/{s}"), json!({ "janus": "attach", "plugin": "janus.plugin.videoroom" }));
    let h = attached["data"]["id"].as_u64().unwrap();
    let (_, listed) = http.post(&format!("/{s}/{h}"), json!({ "janus": "message", "body": { "request": "list" } }));
    assert_eq!(data(&listed)["list"][0]["room"], 1234, "the demo room exists on the defaults");

    // An async request: the POST gets the ack, the event comes through the long-poll.
    let (_, ack) = http.post(&format!("/{s}/{h}"), json!({ "janus": "message", "body": { "request": "join", "ptype": "publisher", "room": 1234, "display": "web" } }));
    assert_eq!(ack["janus"], "ack");
    let (_, joined) = http.get(&format!("/{s}?maxev=1"));
    assert_eq!((joined["janus"].as_str(), data(&joined)["videoroom"].as_str()), (Some("event"), Some("joined")));
    assert_eq!(joined["transaction"], ack["transaction"]);

    // A WebSocket participant joins: nothing is sent to the HTTP publisher (no notify_joining),
    // then it changes its display and the HTTP side hears it, as an array with maxev > 1.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut ws = Ws::connect(&server.ws).await;
        let ws_s = ws.create().await;
        let ws_h = ws.attach(ws_s, "janus.plugin.videoroom").await;
        ws.message_async(
            ws_s,
            ws_h,
            json!({ "request": "join", "ptype": "publisher", "room": 1234, "id": 77, "display": "a" }),
            None,
        )
        .await;
        ws.message_async(ws_s, ws_h, json!({ "request": "configure", "display": "b" }), None).await;
    });
    let (_, polled) = http.get(&format!("/{s}?maxev=5"));
    let events = polled.as_array().expect("maxev > 1 gives an array");
    assert_eq!(
        events.iter().map(data).collect::<Vec<_>>(),
        vec![&json!({ "videoroom": "event", "id": 77, "display": "b" })]
    );

    // Unknown sessions: 404 on the long-poll, 458 on requests.
    assert_eq!(http.get("/12345").0, 404);
    assert_eq!(http.post("/12345", json!({ "janus": "keepalive" })).1["error"]["code"], 458);
    let (_, destroyed) = http.post(&format!("/{s}"), json!({ "janus": "destroy" }));
    assert_eq!(destroyed["janus"], "success");
}

#[test]
fn http_long_poll_delivers_the_timeout() {
    let server = Server::start("[general]\nsession_timeout = 2\nmax_message_bytes = 1000\n");
    let mut http = Http::new(&server.http);
    let (_, created) = http.post("", json!({ "janus": "create" }));
    let s = created["data"]["id"].as_u64().unwrap();
    let too_big = format!("{{\"janus\":\"keepalive\",\"transaction\":\"{}\"}}", "x".repeat(2000));
    assert_eq!(http.post_raw(&format!("/{s}"), &too_big).1["error"]["code"], 450, "a body over the limit is refused");
    // The poll waits; the idle session times out and the poll carries its last event.
    let started = std::time::Instant::now();
    let (status, polled) = http.get(&format!("/{s}"));
    assert_eq!((status, polled), (200, json!({ "janus": "timeout", "session_id": s })));
    assert!(started.elapsed() >= Duration::from_millis(1500), "the poll waited for the timeout");
    assert_eq!(http.post(&format!("/{s}"), json!({ "janus": "keepalive" })).1["error"]["code"], 458);
}
