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

/// `host:port` of a `ws://host:port` address.
fn host_port(url: &str) -> &str {
    url.trim_start_matches("ws://").trim_end_matches('/')
}

/// `GET /metrics` on the admin listener: what the core holds is counted, Debian's `promtool`
/// finds nothing to say about the text, and a real Prometheus scrapes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_a_real_prometheus_scrapes_them() {
    common::prereq::require(&["promtool"]);
    let server = Server::start("");
    let mut ws = Ws::connect(&server.ws).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let joined = ws
        .message_async(s, h, json!({ "request": "join", "ptype": "publisher", "room": 1234, "display": "m" }), None)
        .await;
    assert_eq!(common::data(&joined)["videoroom"], "joined", "{joined}");
    let admin = host_port(&server.admin).to_string();
    let url = format!("http://{admin}/metrics");
    let text =
        tokio::task::spawn_blocking(move || ureq::get(&url).call().unwrap().body_mut().read_to_string().unwrap())
            .await
            .unwrap();
    for line in [
        "vroom_sessions 1\n",
        "vroom_handles 1\n",
        "vroom_rooms 2\n",
        "vroom_participants 1\n",
        "vroom_peer_connections{state=\"connected\"} 0\n",
        "# TYPE vroom_lock_hold_seconds histogram\n",
        "vroom_lock_watchdog_total{level=\"Room\",state=\"held\"} 0\n",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    let mut promtool = std::process::Command::new("promtool");
    promtool
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = common::prereq::spawn(&mut promtool).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");

    // A real Prometheus, on loopback, scraping every second.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vroom\n    static_configs:\n      - targets: ['{admin}']\n"),
    )
    .unwrap();
    let web: &'static str = Box::leak(format!("127.0.0.1:{}", common::janus::free_port()).into_boxed_str());
    let mut prometheus = std::process::Command::new("prometheus");
    prometheus
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut prometheus = common::prereq::spawn(&mut prometheus).expect("prometheus starts");
    let query = move |q: &str| -> Option<Value> {
        let mut r = ureq::get(&format!("http://{web}/api/v1/query")).query("query", q).call().ok()?;
        serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()
    };
    let started = std::time::Instant::now();
    let value = loop {
        let answer = tokio::task::spawn_blocking({
            let query = query.clone();
            move || query("vroom_sessions")
        })
        .await
        .unwrap();
        if let Some(v) = answer.as_ref().and_then(|a| a["data"]["result"][0]["value"][1].as_str().map(String::from)) {
            break v;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "Prometheus never scraped vroom_sessions: {answer:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(value, "1");
    let up = tokio::task::spawn_blocking(move || query("up{job=\"vroom\"}")).await.unwrap().unwrap();
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let _ = prometheus.kill();
    let _ = prometheus.wait();
}
