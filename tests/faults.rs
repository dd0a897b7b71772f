//! Faults against the real binary, each with bystanders: a publisher and a subscriber whose
//! media must flow through it untouched. After each fault the accounting (admin API
//! `accounting`) returns to its baseline.

mod common;

use std::time::{Duration, Instant};

use common::rtc_peer::{RtcPeer, Waits};
use common::{data, Server, Ws};
use futures_util::future::join_all;
use serde_json::{json, Value};
use vroom::load::reception::Totals;

const ROOM: u64 = 1234;
const WAIT: Duration = Duration::from_secs(10);

/// Sessions outlive the slowest fault here; each test ends them itself.
const CONFIG: &str = "[general]\nsession_timeout = 600";

/// A publisher and a subscriber of it in room 1234, on their own session.
struct Bystanders {
    ws: Ws,
    _publisher: RtcPeer,
    subscriber: RtcPeer,
    /// What the subscriber had received when the fault began.
    at_fault: Totals,
    since: Instant,
}

impl Bystanders {
    async fn join(url: &str) -> Bystanders {
        let mut ws = Ws::connect(url).await;
        let s = ws.create().await;
        let h = ws.attach(s, "janus.plugin.videoroom").await;
        let publisher = RtcPeer::new().await;
        let offer = publisher.publish_offer(7).unwrap();
        let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": ROOM, "display": "bystander" });
        let ev = ws.message_async(s, h, body, Some(offer)).await;
        let feed = data(&ev)["id"].as_u64().unwrap_or_else(|| panic!("{ev}"));
        publisher.accept_answer(&ev["jsep"]).unwrap();
        publisher.wait_connected(WAIT).await;
        let hs = ws.attach(s, "janus.plugin.videoroom").await;
        let mut subscriber = None;
        for _ in 0..100 {
            let join = json!({ "request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{ "feed": feed }] });
            let ev = ws.message_async(s, hs, join, None).await;
            if ev["jsep"].is_object() {
                let peer = RtcPeer::new().await;
                let answer = peer.answer(&ev["jsep"]).unwrap();
                ws.message_async(s, hs, json!({ "request": "start" }), Some(answer)).await;
                subscriber = Some(peer);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // the feed is not up yet
        }
        let subscriber = subscriber.expect("subscribed to the bystander publisher");
        subscriber.wait_connected(WAIT).await;
        subscriber.wait_received(WAIT, |r| r.len() >= 25).await;
        subscriber.forget_received();
        Bystanders { ws, _publisher: publisher, at_fault: subscriber.totals(), subscriber, since: Instant::now() }
    }

    /// The fault begins now.
    fn mark(&mut self) {
        self.at_fault = self.subscriber.totals();
        self.since = Instant::now();
    }

    /// Nothing the bystanders do was disturbed: their media kept flowing and the server still
    /// answers them.
    async fn assert_undisturbed(&mut self) {
        self.assert_media_kept();
        self.assert_served().await;
    }

    /// Media kept flowing since [`Bystanders::mark`]: nothing lost, and most of what was sent
    /// (50 packets/s) arrived. One packet of slack: over a fault that lasts a few tens of
    /// milliseconds, where a packet falls against the window's edges decides the count (a
    /// 60 ms fault counted 2 of "about 3" in CI).
    fn assert_media_kept(&self) {
        let now = self.subscriber.totals();
        let (got, lost) = (now.received - self.at_fault.received, now.lost - self.at_fault.lost);
        let sent = self.since.elapsed().as_secs_f64() * 50.0;
        assert_eq!(lost, 0, "the bystander subscriber lost packets during the fault");
        assert!(got as f64 + 1.0 >= sent * 0.8, "the bystander got {got} packets of about {sent:.0}");
    }

    /// The server still answers the bystanders' requests.
    async fn assert_served(&mut self) {
        let r = self.ws.request(json!({ "janus": "info" })).await;
        assert_eq!(r["janus"], "server_info", "{r}");
    }
}

/// A server with bystanders up, and the baseline to return to (taken with them up).
async fn start() -> (Server, Bystanders, Value) {
    let server = Server::start(CONFIG);
    let mut by = Bystanders::join(&server.ws).await;
    let base = server.accounting().await;
    by.mark();
    (server, by, base)
}

/// A client on its own WebSocket: a session and a handle of `plugin`.
async fn client(url: &str, plugin: &str) -> (Ws, u64, u64) {
    let mut ws = Ws::connect(url).await;
    let s = ws.create().await;
    let h = ws.attach(s, plugin).await;
    (ws, s, h)
}

/// What clients own: equal to the baseline when a fault left nothing behind.
fn owned(a: &Value) -> Value {
    let media = &a["media"];
    json!({
        "core": a["core"],
        "media": [media["connecting"], media["connected"], media["legs_alive"], media["routes"], media["timers"], media["news_waiting"]],
    })
}

/// Waits until what clients own is back to `base` on the server whose admin API is `admin`.
async fn assert_back_to(admin: &str, base: &Value, what: &str) {
    let want = owned(base);
    let r = common::accounting_until(admin, Duration::from_secs(20), |a| owned(a) == want).await;
    if let Err(a) = r {
        panic!("after {what}, the server still holds more than before:\nbefore {want}\nafter  {}", owned(&a));
    }
}

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

/// A client that offers, gets vroom's answer and then never does ICE (it is gone before its
/// first check): vroom hangs the PeerConnection up instead of keeping it connecting for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_that_never_completes_is_hung_up() {
    let (server, mut by, base) = start().await;
    let (mut ws, s, h) = client(&server.ws, "janus.plugin.echotest").await;
    let offer = {
        let gone = RtcPeer::new().await;
        gone.publish_offer(9).unwrap()
    };
    let ev = ws.message_async(s, h, json!({ "audio": true, "video": true }), Some(offer)).await;
    assert!(ev["jsep"].is_object(), "{ev}");
    let connecting = server.accounting().await;
    assert_eq!(connecting["media"]["connecting"], base["media"]["connecting"].as_u64().unwrap() + 1);
    let mut hangup = None;
    while hangup.is_none() {
        let ev =
            ws.try_event(Duration::from_secs(60)).await.expect("a hangup for the PeerConnection that never came up");
        if ev["janus"] == "hangup" && ev["sender"] == h {
            hangup = Some(ev);
        }
    }
    by.assert_undisturbed().await;
    ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    assert_back_to(&server.admin, &base, "a PeerConnection that never came up").await;
}

/// A subscriber that joins and never answers vroom's offer: its PeerConnection waits, and
/// goes with its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_an_offer_leaves_nothing_when_it_goes() {
    let (server, mut by, base) = start().await;
    let (mut ws, s, h) = client(&server.ws, "janus.plugin.videoroom").await;
    let list = ws.message(s, h, json!({ "request": "listparticipants", "room": ROOM })).await;
    let feed = data(&list)["participants"][0]["id"].as_u64().unwrap();
    let join = json!({ "request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{ "feed": feed }] });
    let ev = ws.message_async(s, h, join, None).await;
    assert!(ev["jsep"].is_object(), "{ev}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    by.assert_undisturbed().await;
    drop(ws); // the WebSocket closes: its session goes, and the offer with it
    assert_back_to(&server.admin, &base, "an offer never answered").await;
}

/// A WebSocket that closes right after sending a publisher's offer, before the answer: the
/// session, its handle and the PeerConnection being set up all go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_closed_mid_request_leaves_nothing() {
    let (server, mut by, base) = start().await;
    for i in 0..20 {
        let (mut ws, s, h) = client(&server.ws, "janus.plugin.videoroom").await;
        let peer = RtcPeer::new().await;
        let msg = json!({ "janus": "message", "session_id": s, "handle_id": h, "transaction": "gone",
            "body": { "request": "joinandconfigure", "ptype": "publisher", "room": ROOM, "display": format!("gone{i}") },
            "jsep": peer.publish_offer(100 + i).unwrap() });
        ws.send_raw(&msg.to_string()).await;
        drop(ws);
    }
    by.assert_undisturbed().await;
    assert_back_to(&server.admin, &base, "WebSockets closed mid-request").await;
}

/// Garbage on an established PeerConnection's 5-tuple (DTLS-, RTP-, RTCP- and STUN-looking
/// datagrams, and bytes that are none of them): nobody else is disturbed, and the server
/// keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_a_live_peer_connection_disturbs_nobody() {
    let (server, mut by, base) = start().await;
    let (mut ws, s, h) = client(&server.ws, "janus.plugin.echotest").await;
    let peer = RtcPeer::new().await;
    let offer = peer.publish_offer(11).unwrap();
    let ev = ws.message_async(s, h, json!({ "audio": true, "video": true }), Some(offer)).await;
    peer.accept_answer(&ev["jsep"]).unwrap();
    peer.wait_connected(WAIT).await;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..3000u32 {
        let len = 1 + (i as usize * 7) % 300;
        let mut d: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        d[0] = match i % 5 {
            0 => 20 + (d[0] % 44),  // DTLS
            1 => 128 + (d[0] % 64), // RTP or RTCP
            2 => d[0] % 4,          // STUN
            3 => 0x80,              // RTP header, random rest
            _ => d[0],
        };
        assert!(peer.inject(&d), "the peer knows vroom's address");
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    by.assert_undisturbed().await;
    ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    assert_back_to(&server.admin, &base, "garbage on a PeerConnection").await;
}

/// A client stopped mid-call (SIGSTOP: its process freezes with its sockets open): its
/// PeerConnections fail ICE and are hung up, events for it pile into a socket nobody reads,
/// and nobody else notices. Killed, it leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stopped_mid_call_disturbs_nobody_and_leaves_nothing() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let server = Server::start(CONFIG);
    let mut by = Bystanders::join(&server.ws).await;
    let base = server.accounting().await;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vroom-load"));
    command
        .args(["--url", &server.ws, "--duration", "600", "--rooms", "1", "--publishers", "1", "--subscribers", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut victim = common::prereq::spawn(&mut command).expect("vroom-load starts");
    let pid = Pid::from_raw(victim.id() as i32);
    let connected = |n: u64| move |a: &Value| a["media"]["connected"].as_u64() == Some(n);
    let bystanding = base["media"]["connected"].as_u64().unwrap();
    server
        .accounting_until(Duration::from_secs(30), connected(bystanding + 3))
        .await
        .expect("the victim's calls are up");
    by.mark();
    kill(pid, Signal::SIGSTOP).unwrap();
    // Its PeerConnections stop answering: vroom hangs them up once ICE fails.
    let hung = server.accounting_until(Duration::from_secs(60), connected(bystanding)).await;
    by.assert_undisturbed().await;
    kill(pid, Signal::SIGKILL).unwrap();
    let _ = victim.wait();
    hung.unwrap_or_else(|a| panic!("the stopped client's PeerConnections are still up: {a}"));
    // Its WebSockets are closed by the kill: its sessions go; the room it made is ours to end.
    let (s, h) = {
        let s = by.ws.create().await;
        (s, by.ws.attach(s, "janus.plugin.videoroom").await)
    };
    let destroyed = by.ws.message(s, h, json!({ "request": "destroy", "room": 5000 })).await;
    assert_eq!(data(&destroyed)["videoroom"], "destroyed", "{destroyed}");
    by.ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    assert_back_to(&server.admin, &base, "a client stopped and killed").await;
}

/// Long-polls the client walks away from (the TCP connection closes while the server holds
/// the GET): their waits end, and the server keeps no task or descriptor for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_long_polls_leave_nothing() {
    use std::io::Write;
    let (server, mut by, base) = start().await;
    let mut http = common::Http::new(&server.http);
    let (_, created) = tokio::task::block_in_place(|| http.post("", json!({ "janus": "create" })));
    let s = created["data"]["id"].as_u64().unwrap();
    let addr = server.http.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let mut polls = Vec::new();
    for _ in 0..50 {
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        write!(tcp, "GET /janus/{s}?maxev=1 HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        polls.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = server.accounting().await;
    assert!(held["process"]["open_fds"].as_u64() >= base["process"]["open_fds"].as_u64().map(|f| f + 40), "{held}");
    drop(polls);
    let (_, destroyed) = tokio::task::block_in_place(|| http.post(&format!("/{s}"), json!({ "janus": "destroy" })));
    assert_eq!(destroyed["janus"], "success", "{destroyed}");
    by.assert_undisturbed().await;
    assert_back_to(&server.admin, &base, "abandoned long-polls").await;
    let fds = |a: &Value| a["process"]["open_fds"].as_i64().unwrap();
    let tasks = |a: &Value| a["process"]["tokio_tasks"].as_i64().unwrap();
    let after = server
        .accounting_until(Duration::from_secs(10), |a| fds(a) <= fds(&base) + 2 && tasks(a) <= tasks(&base) + 2)
        .await
        .unwrap_or_else(|a| panic!("long-polls left descriptors or tasks: before {base}\nafter {a}"));
    assert!(fds(&after) <= fds(&base) + 2);
}

/// A room destroyed while people join it and publish into it: each of them is told (or
/// refused), the room's media goes, and the bystanders in another room never notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_destroyed_while_people_join_and_publish_leaves_nothing() {
    const DOOMED: u64 = 4321;
    let (server, mut by, base) = start().await;
    let (s, h) = {
        let s = by.ws.create().await;
        (s, by.ws.attach(s, "janus.plugin.videoroom").await)
    };
    let created = by.ws.message(s, h, json!({ "request": "create", "room": DOOMED, "publishers": 20 })).await;
    assert_eq!(data(&created)["videoroom"], "created", "{created}");
    let url = server.ws.clone();
    let joiners = (0..12u32).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let mut ws = Ws::connect(&url).await;
            let s = ws.create().await;
            let h = ws.attach(s, "janus.plugin.videoroom").await;
            let peer = RtcPeer::new().await;
            let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": DOOMED, "display": format!("j{i}") });
            let ev = ws.message_async(s, h, body, Some(peer.publish_offer(200 + i).unwrap())).await;
            if ev["jsep"].is_object() {
                let _ = peer.accept_answer(&ev["jsep"]);
            }
            // Joined and told of the end, or refused: never left hanging.
            let told = data(&ev)["error_code"].is_u64()
                || ws.events_for(Duration::from_secs(3)).await.iter().any(|e| data(e)["videoroom"] == "destroyed");
            ws.request(json!({ "janus": "destroy", "session_id": s })).await;
            told
        })
    });
    let joiners: Vec<_> = joiners.collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let destroyed = by.ws.message(s, h, json!({ "request": "destroy", "room": DOOMED })).await;
    assert_eq!(data(&destroyed)["videoroom"], "destroyed", "{destroyed}");
    for j in joiners {
        assert!(j.await.unwrap(), "a joiner was neither refused nor told the room was destroyed");
    }
    by.ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    by.assert_undisturbed().await;
    assert_back_to(&server.admin, &base, "a room destroyed under its joiners").await;
}

/// The real media engine behind the core's socket-factory seam, with a limit on open
/// PeerConnections: past it, opening one fails as a machine out of ports does.
struct Limited {
    engine: std::sync::Arc<vroom::media::MediaEngine>,
    limit: std::sync::atomic::AtomicU64,
}

impl vroom::core::seams::SocketFactory for Limited {
    fn open_media(
        &self,
        owner: vroom::core::seams::PeerOwner,
    ) -> std::io::Result<Box<dyn vroom::core::seams::MediaPort>> {
        let (connecting, connected) = self.engine.peer_connections();
        if connecting + connected >= self.limit.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::from_raw_os_error(nix::libc::EADDRINUSE));
        }
        self.engine.open_media(owner)
    }
    fn open_forwarder(
        &self,
        target: std::net::SocketAddr,
    ) -> std::io::Result<std::sync::Arc<dyn vroom::core::seams::ForwarderSocket>> {
        self.engine.open_forwarder(target)
    }
    fn open_recording(
        &self,
        spec: vroom::core::seams::RecordSpec,
    ) -> std::sync::Arc<dyn vroom::core::seams::PacketSink> {
        self.engine.open_recording(spec)
    }
}

/// The whole server in this process (`main.rs`'s wiring), on a [`Limited`] socket factory.
async fn in_process(limit: u64) -> (std::sync::Arc<Limited>, String, String) {
    use std::sync::Arc;
    use vroom::api::{Api, ApiConfig};
    use vroom::transport::{self, App, Listen};
    let mut config = vroom::config::Config::default();
    config.media.ip = [127, 0, 0, 1].into();
    let engine = Arc::new(vroom::media::MediaEngine::start(config.media.settings()).unwrap());
    let news = engine.news();
    let sockets = Arc::new(Limited { engine: engine.clone(), limit: limit.into() });
    let clock = Arc::new(vroom::media::SystemClock::default());
    let core = Arc::new(vroom::ProdCore::new(config.core(1), clock, sockets.clone()));
    core.create_room(Some(ROOM), vroom::core::room::RoomConfig::default(), None).unwrap();
    let api_config =
        ApiConfig { api_secret: None, token_auth: false, server_name: "test".into(), local_ip: "127.0.0.1".into() };
    let mut api = Api::new(core, api_config);
    api.media = Some(engine.clone());
    let app = Arc::new(App {
        api,
        admin_secret: "janusoverlord".into(),
        max_message_bytes: 1 << 20,
        next_transport: 1.into(),
        media: Some(engine),
    });
    let any = "127.0.0.1:0".parse().unwrap();
    let listen = Listen { websocket: any, http: any, http_base: "/janus".into(), admin: any, metrics_path: None };
    let bound = transport::start(app.clone(), listen).await.unwrap();
    tokio::spawn(transport::peer_news(app, news));
    (sockets, format!("ws://{}", bound.websocket), format!("ws://{}", bound.admin))
}

/// Out of ports: a publisher whose PeerConnection cannot be opened gets a Janus error (499,
/// an internal failure) and keeps its handle, nobody else notices, nothing is left half-made,
/// and once ports are free again the same handle publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_ports_a_publisher_gets_an_error_and_nobody_else_notices() {
    use std::sync::atomic::Ordering::SeqCst;
    let (sockets, ws_url, admin) = in_process(2).await;
    let mut by = Bystanders::join(&ws_url).await;
    let base = common::accounting(&admin).await;
    by.mark();
    let mut ws = Ws::connect(&ws_url).await;
    let s = ws.create().await;
    let h = ws.attach(s, "janus.plugin.videoroom").await;
    let join = json!({ "request": "join", "ptype": "publisher", "room": ROOM, "display": "late" });
    let joined = ws.message_async(s, h, join, None).await;
    assert_eq!(data(&joined)["videoroom"], "joined", "{joined}");
    let peer = RtcPeer::new().await;
    let offer = peer.publish_offer(31).unwrap();
    for _ in 0..50 {
        let refused = ws.message_async(s, h, json!({ "request": "publish" }), Some(offer.clone())).await;
        assert_eq!(data(&refused)["error_code"], 499, "{refused}");
    }
    by.assert_undisturbed().await;
    let during = common::accounting(&admin).await;
    assert_eq!(owned(&during)["media"], owned(&base)["media"], "no half-made PeerConnection");
    let listed = ws.message(s, h, json!({ "request": "listparticipants", "room": ROOM })).await;
    let late = data(&listed)["participants"].as_array().unwrap().iter().find(|p| p["display"] == "late").cloned();
    assert_eq!(late.map(|p| p["publisher"].clone()), Some(json!(false)), "{listed}");

    sockets.limit.store(3, SeqCst);
    let ev = ws.message_async(s, h, json!({ "request": "publish" }), Some(offer)).await;
    peer.accept_answer(&ev["jsep"]).unwrap_or_else(|e| panic!("{e}: {ev}"));
    peer.wait_connected(WAIT).await;
    ws.request(json!({ "janus": "destroy", "session_id": s })).await;
    assert_back_to(&admin, &base, "a publisher out of ports").await;
}

/// A client that sends but never reads: once its socket is full, vroom stops waiting for it
/// (the WebSocket is dropped after a while, its session with it) instead of keeping a task
/// blocked on it; everyone else is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_dropped_and_nobody_waits() {
    let server = Server::start(CONFIG);
    let mut by = Bystanders::join(&server.ws).await;
    let (s, h) = {
        let s = by.ws.create().await;
        (s, by.ws.attach(s, "janus.plugin.videoroom").await)
    };
    // Rooms with long descriptions make `list` answers of some 100 KB.
    for i in 0..200 {
        let body = json!({ "request": "create", "room": 10_000 + i, "description": "d".repeat(400) });
        assert_eq!(data(&by.ws.message(s, h, body).await)["videoroom"], "created");
    }
    let base = server.accounting().await;
    by.mark();
    let mut slow = Ws::connect(&server.ws).await;
    let ss = slow.create().await;
    let sh = slow.attach(ss, "janus.plugin.videoroom").await;
    let list = json!({ "janus": "message", "session_id": ss, "handle_id": sh, "transaction": "l", "body": { "request": "list" } })
        .to_string();
    let flood = tokio::spawn(async move {
        for _ in 0..400 {
            // Once the server stops reading us, a send blocks: that is the point.
            if tokio::time::timeout(Duration::from_secs(1), slow.send_raw(&list)).await.is_err() {
                break;
            }
        }
        slow // kept open, never read
    });
    // Meanwhile everyone else is served, and the stuck client goes.
    let others = tokio::spawn({
        let url = server.ws.clone();
        async move {
            let mut ws = Ws::connect(&url).await;
            for _ in 0..100 {
                let s = ws.create().await;
                ws.request(json!({ "janus": "destroy", "session_id": s })).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let slow = flood.await.unwrap();
    others.await.unwrap();
    by.assert_undisturbed().await;
    let gone =
        server.accounting_until(Duration::from_secs(30), |a| a["core"]["sessions"] == base["core"]["sessions"]).await;
    let tasks = server.accounting().await["process"]["tokio_tasks"].clone();
    drop(slow);
    gone.unwrap_or_else(|a| panic!("the client that never reads still has its session: {a}"));
    assert!(tasks.as_i64() <= base["process"]["tokio_tasks"].as_i64().map(|t| t + 1), "tasks {tasks}: {base}");
    for i in 0..200 {
        by.ws.message(s, h, json!({ "request": "destroy", "room": 10_000 + i })).await;
    }
    by.ws.request(json!({ "janus": "destroy", "session_id": s })).await;
}
