//! What an operator sees of the real `vroom` binary: its log lines (JSON, one object a line, as
//! the harness runs it), and the admin API's control of them.

mod common;

use std::time::Duration;

use common::{Server, Ws};
use serde_json::{json, Value};

#[tokio::test]
async fn logs_say_each_session_and_handle_step_with_its_ids() {
    let server = Server::start("[general]\nsession_timeout = 1\n");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.echotest").await;
    let line = server.logged("session created", json!({ "session": s })).await;
    assert_eq!(line["level"], "INFO");
    server.logged("handle attached", json!({ "session": s, "handle": h, "plugin": "janus.plugin.echotest" })).await;
    ws.request(json!({ "janus": "hangup", "session_id": s, "handle_id": h })).await;
    server.logged("handle hung up", json!({ "session": s, "handle": h })).await;
    ws.request(json!({ "janus": "detach", "session_id": s, "handle_id": h })).await;
    server.logged("handle detached", json!({ "session": s, "handle": h })).await;
    ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    server.logged("session destroyed", json!({ "session": s })).await;
    // A session whose WebSocket closes, and one that times out.
    let closed = ws.create().await;
    drop(ws);
    server.logged("session destroyed: its WebSocket closed", json!({ "session": closed })).await;
    let mut ws = Ws::connect(&server.ws).await;
    let idle = ws.create().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.logged("session timed out", json!({ "session": idle })).await;
}

#[tokio::test]
async fn the_log_level_is_set_by_configuration_and_changed_by_the_admin_api() {
    let server = Server::start("[general]\nlog_level = \"debug\"\n");
    let mut ws = Ws::connect(&server.ws).await;
    let mut admin = Ws::connect_with(&server.admin, Some("janus-admin-protocol")).await.unwrap();
    let secret = "janusoverlord";
    let level = |status: &Value| status["status"]["log_level"].clone();
    // Janus's levels: 3 warning, 4 info, 5 verbose (debug).
    assert_eq!(level(&admin.request(json!({ "janus": "get_status", "admin_secret": secret })).await), 5);
    let set = admin.request(json!({ "janus": "set_log_level", "level": 3, "admin_secret": secret })).await;
    assert_eq!((&set["janus"], &set["level"]), (&json!("success"), &json!(3)), "{set}");
    let quiet = ws.create().await;
    admin.request(json!({ "janus": "set_log_level", "level": 4, "admin_secret": secret })).await;
    let loud = ws.create().await;
    server.logged("session created", json!({ "session": loud })).await;
    assert!(
        !server.logs().iter().any(|l| l["message"] == "session created" && l["session"] == quiet),
        "a session created at level 3 (warning) was logged"
    );
    assert_eq!(level(&admin.request(json!({ "janus": "get_status", "admin_secret": secret })).await), 4);
    for (level, code) in [(json!(8), 467), (json!("x"), 467), (Value::Null, 456)] {
        let mut req = json!({ "janus": "set_log_level", "admin_secret": secret });
        if !level.is_null() {
            req["level"] = level.clone();
        }
        let r = admin.request(req).await;
        assert_eq!(r["error"]["code"], code, "level {level}: {r}");
    }
}
