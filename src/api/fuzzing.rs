//! The request side of the fuzz targets (`fuzz/`, replayed by `tests/fuzz_corpus.rs`): untrusted
//! text through the JSON request path, as a transport hands it over, against a core with the
//! fixed id seed (so the ids a corpus entry names are the ones it gets) and real legs on a
//! detached media engine.

use std::sync::Arc;

use serde_json::Value;

use super::{Api, ApiConfig, SessionChange};
use crate::core::{Core, CoreConfig};
use crate::media::{MediaEngine, SystemClock};
use crate::sync::ParkingLot;

/// The admin secret of the fuzzed API.
pub const ADMIN_SECRET: &str = "janusoverlord";

/// One request per line, each parsed as the transports parse it; a line that starts with
/// `admin ` goes to the admin API. `"$session"` and `"$handle"` in a line stand for the ids of
/// the last session and handle created, so that a corpus entry outlives a change of ids. Every
/// event a request queues is rendered, as a transport would before sending it.
pub fn requests(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let core = Arc::new(Core::<ParkingLot>::new(
        CoreConfig::default(),
        Arc::new(SystemClock::default()),
        Arc::new(MediaEngine::detached(0xF022)),
    ));
    let config =
        ApiConfig { api_secret: None, token_auth: false, server_name: "fuzz".into(), local_ip: "127.0.0.1".into() };
    let api = Api::new(core, config);
    let mut sessions = Vec::new();
    let (mut session, mut handle) = (0, 0);
    for line in text.lines() {
        let line = line.replace("\"$session\"", &session.to_string()).replace("\"$handle\"", &handle.to_string());
        let line = line.as_str();
        if let Some(admin) = line.strip_prefix("admin ") {
            if let Ok(msg) = super::parse(admin) {
                let reply = api.handle_admin(&msg, ADMIN_SECRET);
                assert_janus_shaped(&reply);
                let _ = reply.to_string();
            }
            continue;
        }
        let msg = match super::parse(line) {
            Ok(msg) => msg,
            Err(error) => {
                let _ = error.to_string();
                continue;
            }
        };
        let handled = api.handle(1, &msg);
        assert_janus_shaped(&handled.reply);
        let _ = handled.reply.to_string();
        if msg["janus"] == "attach" {
            handle = handled.reply["data"]["id"].as_u64().unwrap_or(handle);
        }
        match handled.change {
            Some(SessionChange::Owned(owned)) => {
                session = owned.id;
                sessions.push(owned);
            }
            Some(SessionChange::Gone(id)) => sessions.retain(|s| s.id != id),
            None => {}
        }
        for session in &sessions {
            for event in session.events().drain() {
                let _ = super::render::event(session.id, &event).to_string();
            }
        }
    }
}

/// Every reply says what it is, and an error says its code and why.
fn assert_janus_shaped(reply: &Value) {
    assert!(reply["janus"].is_string(), "a reply without \"janus\": {reply}");
    if reply["janus"] == "error" {
        let error = &reply["error"];
        assert!(error["code"].is_u64() && error["reason"].is_string(), "an error without code and reason: {reply}");
    }
}
