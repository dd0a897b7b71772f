//! Signalling load, vroom and the real Janus 1.1.2 side by side, over real WebSockets on
//! loopback (the client shares the machine's two cores with the server, for both alike).
//!
//! `cargo bench --bench signalling [-- SECONDS]` prints, for each server:
//! * create + attach + join (publisher, waiting for `joined`) + destroy cycles per second, with
//!   1 client and with 20 concurrent clients (one WebSocket each);
//! * `listparticipants` p50 / p99 over 2,000 sequential calls in a room that 1,000 participants
//!   join and leave meanwhile (10 connections × 100 participants, each joining then leaving).
//!
//! Needs Debian's `janus` (as the differential test does).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::janus::Janus;
use common::{data, Server, Ws};
use serde_json::json;

const VR: &str = "janus.plugin.videoroom";

async fn cycle(ws: &mut Ws, room: u64) {
    let s = ws.create().await;
    let h = ws.attach(s, VR).await;
    let joined = ws
        .message_async(s, h, json!({ "request": "join", "ptype": "publisher", "room": room, "display": "b" }), None)
        .await;
    assert_eq!(data(&joined)["videoroom"], "joined", "{joined}");
    ws.request(json!({ "janus": "destroy", "session_id": s })).await;
}

async fn make_room(url: &str, room: u64, publishers: u64) -> (Ws, u64, u64) {
    let mut admin = Ws::connect(url).await;
    let s = admin.create().await;
    let h = admin.attach(s, VR).await;
    admin.message(s, h, json!({ "request": "create", "room": room, "publishers": publishers })).await;
    (admin, s, h)
}

/// Cycles per second with `clients` concurrent connections for `secs`.
async fn cycles(url: &str, room: u64, clients: usize, secs: f64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (url, count) = (url.to_string(), count.clone());
            tokio::spawn(async move {
                let mut ws = Ws::connect(&url).await;
                while Instant::now() < stop {
                    cycle(&mut ws, room).await;
                    count.fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    count.load(Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// listparticipants latency (p50, p99 in ms) while 1,000 participants join and leave.
async fn list_under_churn(url: &str, room: u64) -> (f64, f64, u64) {
    let (mut admin, s, h) = make_room(url, room, 2000).await;
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicU64::new(0));
    let churners: Vec<_> = (0..10u64)
        .map(|c| {
            let (url, stop, churned) = (url.to_string(), stop.clone(), churned.clone());
            tokio::spawn(async move {
                let mut ws = Ws::connect(&url).await;
                let s = ws.create().await;
                let mut hs = Vec::new();
                for _ in 0..100 {
                    hs.push(ws.attach(s, VR).await);
                }
                while !stop.load(Relaxed) {
                    for (i, h) in hs.iter_mut().enumerate() {
                        let id = 1 + c * 100 + i as u64;
                        let join =
                            json!({ "request": "join", "ptype": "publisher", "room": room, "id": id, "display": "p" });
                        ws.message_async(s, *h, join, None).await;
                        if stop.load(Relaxed) {
                            return;
                        }
                    }
                    for h in hs.iter_mut() {
                        ws.message_async(s, *h, json!({ "request": "leave" }), None).await;
                        ws.request(json!({ "janus": "detach", "session_id": s, "handle_id": *h })).await;
                        *h = ws.attach(s, VR).await;
                        churned.fetch_add(1, Relaxed);
                    }
                    ws.events_for(Duration::from_millis(1)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        let r = admin.message(s, h, json!({ "request": "listparticipants", "room": room })).await;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(data(&r)["participants"].is_array(), "{r}");
        admin.events_for(Duration::ZERO).await;
    }
    stop.store(true, Relaxed);
    for c in churners {
        let _ = tokio::time::timeout(Duration::from_secs(10), c).await;
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (lat[1000], lat[1980], churned.load(Relaxed))
}

async fn measure(name: &str, url: &str, secs: f64) -> String {
    let _room = make_room(url, 9001, 200).await;
    let one = cycles(url, 9001, 1, secs).await;
    let twenty = cycles(url, 9001, 20, secs).await;
    let (p50, p99, churned) = list_under_churn(url, 9002).await;
    format!("| {name} | {one:.0} | {twenty:.0} | {p50:.2} | {p99:.2} | {churned} |")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: f64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10.0);
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!("| server | cycles/s, 1 client | cycles/s, 20 clients | listparticipants p50 ms | p99 ms | leaves during the 2,000 lists |");
    println!("|---|---|---|---|---|---|");
    let vroom = Server::start("");
    println!("{}", measure("vroom (release)", &vroom.ws, secs).await);
    drop(vroom);
    let janus = Janus::start();
    println!("{}", measure("Janus 1.1.2 (Debian)", &janus.ws, secs).await);
}
