//! Faults against the real binary: clients that vanish, in bulk and one at a time. After each,
//! the accounting (admin API `accounting`) returns to its baseline and everyone else kept
//! their media.

mod common;

use std::time::Duration;

use common::rtc_peer::RtcPeer;
use common::{Server, Ws};
use futures_util::future::join_all;
use serde_json::{json, Value};

/// An EchoTest PeerConnection per handle: the cheapest connected PeerConnection there is.
async fn echo_peer(ws: &mut Ws, session: u64) -> (RtcPeer, u64) {
    let handle = ws.attach(session, "janus.plugin.echotest").await;
    let peer = RtcPeer::new().await;
    let offer = peer.publish_offer(handle as u32).unwrap();
    peer.pause_sending(true);
    let ev = ws.message_async(session, handle, json!({ "audio": true, "video": true }), Some(offer)).await;
    peer.accept_answer(&ev["jsep"]).unwrap_or_else(|e| panic!("{e}: {ev}"));
    (peer, handle)
}

fn media(a: &Value, key: &str) -> u64 {
    a["media"][key].as_u64().unwrap_or(u64::MAX)
}

/// The lossless media news (issue: "after a mass disconnect the core may believe dead
/// PeerConnections are up"): 1,000 connected PeerConnections whose clients vanish at once
/// (no DTLS close, sockets gone) all fail ICE together, and every one is hung up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_peer_connections_that_vanish_at_once_are_all_hung_up() {
    const SESSIONS: usize = 10;
    const PER_SESSION: usize = 100;
    // Setting up 1,000 PeerConnections may take longer than a session's idle timeout.
    let server = Server::start("[general]\nsession_timeout = 600");
    let base = server.accounting().await;
    let mut clients = Vec::new();
    for _ in 0..SESSIONS {
        let mut ws = Ws::connect(&server.ws).await;
        let s = ws.create().await;
        clients.push((ws, s));
    }
    // Each client sets up its handles in turn, the clients side by side.
    let setups = clients.iter_mut().map(|(ws, s)| async move {
        let mut peers = Vec::new();
        for _ in 0..PER_SESSION {
            peers.push(echo_peer(ws, *s).await);
        }
        peers
    });
    let peers: Vec<(RtcPeer, u64)> = join_all(setups).await.into_iter().flatten().collect();
    let up = server
        .accounting_until(Duration::from_secs(120), |a| media(a, "connected") == (SESSIONS * PER_SESSION) as u64)
        .await
        .unwrap_or_else(|a| {
            let warnings: Vec<Value> =
                server.logs().into_iter().filter(|l| l["level"] != "INFO" && l["level"] != "DEBUG").take(20).collect();
            panic!("not all connected: {a}\n{warnings:#?}")
        });
    assert_eq!(up["core"]["handles"], (SESSIONS * PER_SESSION) as u64);

    drop(peers);
    let hangups = join_all(clients.iter_mut().map(|(ws, _)| async move {
        let mut hung = std::collections::HashSet::new();
        while hung.len() < PER_SESSION {
            let Some(ev) = ws.try_event(Duration::from_secs(60)).await else { break };
            if ev["janus"] == "hangup" {
                hung.insert(ev["sender"].as_u64().unwrap());
            }
        }
        hung.len()
    }))
    .await;
    assert_eq!(hangups, vec![PER_SESSION; SESSIONS], "hangups heard per session");
    let after = server
        .accounting_until(Duration::from_secs(20), |a| {
            ["connecting", "connected", "legs_alive", "routes", "timers", "news_waiting"]
                .iter()
                .all(|k| media(a, k) == 0)
        })
        .await
        .unwrap_or_else(|a| panic!("media state left after every hangup: {a}"));
    assert_eq!(after["core"]["handles"], (SESSIONS * PER_SESSION) as u64, "a hangup keeps the handle");
    for (ws, s) in &mut clients {
        let r = ws.request(json!({ "janus": "destroy", "session_id": *s })).await;
        assert_eq!(r["janus"], "success", "{r}");
    }
    let back = server
        .accounting_until(Duration::from_secs(10), |a| a["core"]["sessions"] == 0 && a["core"]["handles"] == 0)
        .await
        .unwrap_or_else(|a| panic!("{a}"));
    assert_eq!(back["process"]["threads"], base["process"]["threads"], "{base} {back}");
}
