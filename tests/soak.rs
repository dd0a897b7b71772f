//! The soak, a minute of it (the ten-minute run is `vroom-load` by hand, BENCHMARKS.md): 100
//! PeerConnections carrying media in ten rooms while 50 sessions a second come and go. Every
//! request is answered within 5 s, the peers that stay lose nothing, and once everyone has
//! left the server holds what it held before: sessions, handles, rooms, PeerConnections,
//! timers and routes exactly, descriptors within 5, threads equal, memory within 5%.
//!
//! The baseline is taken after a short warm-up run of the same scenario: the first load grows
//! the allocator's arenas and the runtime's buffers once, which is not a leak. Latency and
//! session-create times are reported, not asserted: this is a debug build on a shared machine.

mod common;

use std::process::Stdio;

use common::{prereq, Server};
use serde_json::Value;

/// Runs `vroom-load` against `server` for `seconds`; returns its report.
fn load(server: &Server, seconds: u32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vroom-load"));
    command
        .args(["--url", &server.ws, "--admin-url", &server.admin])
        .args(["--server-pid", &server.pid().to_string(), "--duration", &seconds.to_string()])
        .args(["--rooms", "10", "--publishers", "2", "--subscribers", "8", "--churn", "50", "--video-kbps", "300"])
        .arg("--report")
        .arg(&report)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let status = prereq::spawn(&mut command).expect("vroom-load starts").wait().unwrap();
    assert!(status.success(), "vroom-load failed: {status}");
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

fn mb(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

#[test]
fn a_minute_of_100_peer_connections_and_50_sessions_a_second_leaves_nothing_behind() {
    let server = Server::start("");
    let warm = load(&server, 20);
    assert_eq!(warm["requests_unanswered"], 0, "warm-up: {}", warm["failures"]);
    let r = load(&server, 60);
    let summary = |k: &str| r[k].to_string();
    eprintln!(
        "soak: create {} media {} counted {} server {}",
        r["requests"]["create"],
        summary("media"),
        summary("counted"),
        summary("server")
    );
    assert_eq!(r["requests_unanswered"], 0, "requests unanswered after 5 s; failures {}", r["failures"]);
    assert_eq!(r["counted"]["media_failed"], 0, "{}", r["failures"]);
    assert_eq!(r["counted"]["churn_failed"], 0, "{}", r["failures"]);
    assert!(r["counted"]["churn_cycles"].as_u64().unwrap() >= 2500, "{}", r["counted"]);
    let media = &r["media"];
    assert!(media["received"].as_u64().unwrap() > 300_000, "{media}");
    assert!(media["loss_pct"].as_f64().unwrap() < 0.1, "{media}");

    let (before, after) = (&r["accounting_before"], &r["accounting_after"]);
    assert_eq!(before["core"], after["core"], "what the core holds");
    for k in ["connecting", "connected", "legs_alive", "routes", "timers", "news_waiting"] {
        assert_eq!(after["media"][k], 0, "media {k}: {after}");
    }
    let s = &r["server"];
    let fds = s["fds_after"].as_i64().unwrap() - s["fds_before"].as_i64().unwrap();
    assert!(fds.abs() <= 5, "descriptors: {s}");
    assert_eq!(s["threads_after"], s["threads_before"], "{s}");
    let (rss_before, rss_after) = (mb(&s["rss_mb_before"]), mb(&s["rss_mb_after"]));
    assert!(rss_after <= rss_before * 1.05, "memory: {rss_before:.1} MB before, {rss_after:.1} MB after");
}
