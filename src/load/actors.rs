//! The clients of a load run, each a task: publishers and subscribers that hold a
//! PeerConnection (and come back after their lifetime), and churn clients that come and go.
//! They speak only the Janus API, so any Janus-API server can be loaded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};

use super::client::{Client, RequestError, Requests};
use super::peer::{Peer, Publish, Track};
use super::reception::{histogram, Reception, Totals};
use super::scenario::Scenario;

const VIDEOROOM: &str = "janus.plugin.videoroom";
/// How long a PeerConnection may take to come up.
const CONNECT_WAIT: Duration = Duration::from_secs(20);
/// Janus's default session timeout is 60 s: clients keep their sessions alive well within it.
const KEEPALIVE: Duration = Duration::from_secs(20);

/// What the clients of a run share.
pub struct Shared {
    pub scenario: Scenario,
    pub requests: Arc<Requests>,
    /// Publishers' feeds, by room.
    feeds: Mutex<HashMap<u64, Vec<u64>>>,
    /// Subscribers' peers while they are up, and what those that ended received.
    live: Mutex<HashMap<u64, Arc<Peer>>>,
    ended: Mutex<(Totals, Vec<Reception>)>,
    next_id: AtomicU64,
    next_tag: AtomicU32,
    pub counts: Counts,
    failures: Mutex<HashMap<String, u64>>,
    setup: Semaphore,
    pub stop: watch::Receiver<bool>,
}

/// What the clients did, counted.
#[derive(Default)]
pub struct Counts {
    pub sessions: AtomicU64,
    pub connected: AtomicU64,
    pub churn_cycles: AtomicU64,
    pub churn_failed: AtomicU64,
    pub media_setups: AtomicU64,
    pub media_failed: AtomicU64,
    pub switches: AtomicU64,
    pub configures: AtomicU64,
    pub resubscribes: AtomicU64,
    pub republishes: AtomicU64,
    pub rejoins: AtomicU64,
}

/// Counts a live thing while it lives.
struct Live<'a>(&'a AtomicU64);
impl<'a> Live<'a> {
    fn new(a: &'a AtomicU64) -> Self {
        a.fetch_add(1, Relaxed);
        Live(a)
    }
}
impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Shared {
    pub fn new(scenario: Scenario, stop: watch::Receiver<bool>) -> Arc<Shared> {
        let parallel = scenario.setup_parallel;
        Arc::new(Shared {
            scenario,
            requests: Arc::default(),
            feeds: Mutex::default(),
            live: Mutex::default(),
            ended: Mutex::default(),
            next_id: AtomicU64::new(1),
            next_tag: AtomicU32::new(1),
            counts: Counts::default(),
            failures: Mutex::default(),
            setup: Semaphore::new(parallel),
            stop,
        })
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Counts a failure under a short reason (and logs its first few).
    pub fn fail(&self, what: &str, e: impl std::fmt::Display) {
        let key = format!("{what}: {e}");
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = f.entry(key.chars().take(160).collect()).or_insert(0);
        *n += 1;
        if *n <= 3 {
            tracing::warn!(what, "{e}");
        }
    }

    pub fn failures(&self) -> HashMap<String, u64> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn feeds_of(&self, room: u64) -> Vec<u64> {
        self.feeds.lock().unwrap_or_else(|p| p.into_inner()).get(&room).cloned().unwrap_or_default()
    }

    fn set_feed(&self, room: u64, feed: u64, present: bool) {
        let mut f = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
        let list = f.entry(room).or_default();
        list.retain(|x| *x != feed);
        if present {
            list.push(feed);
        }
    }

    /// Every subscriber reception so far: totals, and the live peers' latency windows.
    pub fn reception_totals(&self) -> Totals {
        let mut t = self.ended.lock().unwrap_or_else(|p| p.into_inner()).0;
        for p in self.live.lock().unwrap_or_else(|p| p.into_inner()).values() {
            t += p.totals();
        }
        t
    }

    /// The latency of what subscribers received since the last call (µs).
    pub fn take_latency_window(&self) -> hdrhistogram::Histogram<u64> {
        let mut h = histogram();
        for p in self.live.lock().unwrap_or_else(|p| p.into_inner()).values() {
            let _ = h.add(p.take_window());
        }
        h
    }

    /// Every reception, ended and live (for the final report).
    pub fn receptions(&self) -> Vec<Reception> {
        let mut all = self.ended.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
        all.extend(self.live.lock().unwrap_or_else(|p| p.into_inner()).values().map(|p| p.reception()));
        all
    }

    fn retire(&self, id: u64) {
        let peer = self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if let Some(p) = peer {
            let r = p.reception();
            let mut e = self.ended.lock().unwrap_or_else(|p| p.into_inner());
            e.0 += r.totals();
            e.1.push(r);
        }
    }

    fn periods(&self) -> Vec<(Action, Duration)> {
        let s = &self.scenario;
        [
            (Action::Switch, s.switch_every_s),
            (Action::Configure, s.configure_every_s),
            (Action::Resubscribe, s.subscribe_every_s),
            (Action::Republish, s.unpublish_every_s),
        ]
        .into_iter()
        .filter_map(|(a, p)| p.map(|p| (a, Duration::from_secs_f64(p))))
        .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Switch,
    Configure,
    Resubscribe,
    Republish,
}

/// A session on its own WebSocket, kept alive while it lives.
struct Session {
    client: Arc<Client>,
    events: mpsc::UnboundedReceiver<Value>,
    id: u64,
    keepalive: tokio::task::JoinHandle<()>,
}

impl Session {
    async fn open(shared: &Shared) -> Result<Session, String> {
        let (client, events) = Client::connect(&shared.scenario.url, shared.requests.clone()).await?;
        let client = Arc::new(client);
        let id = client.create().await.map_err(|e| format!("create: {e}"))?;
        let c = client.clone();
        let keepalive = tokio::spawn(async move {
            loop {
                tokio::time::sleep(KEEPALIVE).await;
                let _ = c.keepalive(id).await;
            }
        });
        Ok(Session { client, events, id, keepalive })
    }

    async fn close(self) {
        self.keepalive.abort();
        let _ = self.client.destroy(self.id).await;
    }
}

fn plugin_data(m: &Value) -> &Value {
    &m["plugindata"]["data"]
}

fn jsep_of(m: &Value) -> Result<&Value, RequestError> {
    m.get("jsep").ok_or_else(|| RequestError::Unexpected(format!("no jsep in {m}")))
}

/// Returns when the run stops.
async fn stopped(shared: &Shared) {
    let mut stop = shared.stop.clone();
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Sleeps until `d` passes or the run stops; false if it stopped.
async fn pause(shared: &Shared, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => !shared.stopping(),
        _ = stopped(shared) => false,
    }
}

/// A publisher in `room`, for the whole run: it joins, publishes, acts, and after its
/// lifetime leaves and joins again as someone new.
pub async fn publisher(shared: Arc<Shared>, room: u64) {
    while !shared.stopping() {
        let _live = Live::new(&shared.counts.sessions);
        match publish_once(&shared, room).await {
            Ok(()) => {}
            Err(e) => {
                shared.counts.media_failed.fetch_add(1, Relaxed);
                shared.fail("publisher", e);
                if !pause(&shared, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
        shared.counts.rejoins.fetch_add(1, Relaxed);
    }
}

fn publish_spec(shared: &Shared) -> Publish {
    let s = &shared.scenario;
    let mut tracks = vec![Track::video(s.video_kbps * 1000, s.video_payload)];
    if s.audio {
        tracks.push(Track::audio(100));
    }
    Publish { tag: shared.next_tag.fetch_add(1, Relaxed), tracks }
}

/// Connects a new peer's offer through `request` (joinandconfigure or publish).
async fn connect_publisher(
    shared: &Shared,
    session: &Session,
    handle: u64,
    body: Value,
    name: &str,
) -> Result<(Peer, Value), String> {
    let _permit = shared.setup.acquire().await.map_err(|e| e.to_string())?;
    let peer = Peer::bind(shared.scenario.bind, false).await?;
    let offer = peer.offer(&publish_spec(shared))?;
    let offer_sdp = offer["sdp"].as_str().unwrap_or_default().to_string();
    let ev = session
        .client
        .message_async(name, session.id, handle, body, Some(offer))
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let answer = jsep_of(&ev).map_err(|e| e.to_string())?;
    peer.accept_answer(answer)?;
    if !peer.connected_within(CONNECT_WAIT).await {
        tracing::debug!(offer = %offer_sdp, answer = %answer["sdp"], "a publisher that did not connect");
        return Err(format!("publisher PeerConnection not up: {:?}", peer.connection()));
    }
    shared.counts.media_setups.fetch_add(1, Relaxed);
    Ok((peer, ev))
}

async fn publish_once(shared: &Shared, room: u64) -> Result<(), String> {
    let session = Session::open(shared).await?;
    let result = async {
        let handle = session.client.attach(session.id, VIDEOROOM).await.map_err(|e| format!("attach: {e}"))?;
        let join = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": room, "display": "load" });
        let (mut peer, ev) = connect_publisher(shared, &session, handle, join, "publish").await?;
        let feed = plugin_data(&ev)["id"].as_u64().ok_or_else(|| format!("no feed id in {ev}"))?;
        shared.set_feed(room, feed, true);
        let _connected = Live::new(&shared.counts.connected);
        let end = shared.scenario.lifetime_s.map(|l| Instant::now() + Duration::from_secs_f64(l));
        let mut timers = Timers::new(shared.periods(), &[Action::Configure, Action::Republish]);
        loop {
            let (action, at) = timers.next(end);
            if !pause(shared, at.saturating_duration_since(Instant::now())).await {
                break;
            }
            match action {
                None => break, // lifetime over
                Some(Action::Configure) => {
                    let bitrate = 128_000 * (1 + shared.next_id.fetch_add(1, Relaxed) % 8);
                    let body = json!({ "request": "configure", "bitrate": bitrate });
                    match session.client.message_async("configure", session.id, handle, body, None).await {
                        Ok(_) => shared.counts.configures.fetch_add(1, Relaxed),
                        Err(e) => {
                            shared.fail("configure", e);
                            0
                        }
                    };
                }
                Some(Action::Republish) => {
                    shared.set_feed(room, feed, false);
                    let r = session
                        .client
                        .message_async("unpublish", session.id, handle, json!({ "request": "unpublish" }), None)
                        .await;
                    drop(peer);
                    if let Err(e) = r {
                        return Err(format!("unpublish: {e}"));
                    }
                    let body = json!({ "request": "publish" });
                    peer = connect_publisher(shared, &session, handle, body, "publish").await?.0;
                    shared.set_feed(room, feed, true);
                    shared.counts.republishes.fetch_add(1, Relaxed);
                }
                Some(Action::Switch | Action::Resubscribe) => {}
            }
        }
        shared.set_feed(room, feed, false);
        let _ = session.client.message_async("leave", session.id, handle, json!({ "request": "leave" }), None).await;
        drop(peer);
        Ok(())
    }
    .await;
    session.close().await;
    result
}

/// When each periodic action is next due (each client starts at a random phase).
struct Timers {
    due: Vec<(Action, Duration, Instant)>,
}

impl Timers {
    fn new(periods: Vec<(Action, Duration)>, mine: &[Action]) -> Timers {
        let now = Instant::now();
        let mut seed = now.elapsed().as_nanos() as u64 ^ (&now as *const _ as u64);
        let due = periods
            .into_iter()
            .filter(|(a, _)| mine.contains(a))
            .map(|(a, p)| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let phase = p.mul_f64((seed >> 11) as f64 / (1u64 << 53) as f64);
                (a, p, now + phase)
            })
            .collect();
        Timers { due }
    }

    /// The next action and when; `None` at `end` (the lifetime's end).
    fn next(&mut self, end: Option<Instant>) -> (Option<Action>, Instant) {
        let next = self.due.iter_mut().min_by_key(|(_, _, at)| *at);
        match (next, end) {
            (Some((a, p, at)), end) if end.is_none_or(|e| *at < e) => {
                let r = (Some(*a), *at);
                *at += *p;
                r
            }
            (_, Some(e)) => (None, e),
            (None, None) => (None, Instant::now() + Duration::from_secs(365 * 24 * 3600)),
            (Some(_), None) => unreachable!("matched above"),
        }
    }
}

/// A subscriber in `room`, for the whole run: it subscribes to every publisher of its room,
/// acts, and after its lifetime leaves and subscribes again.
pub async fn subscriber(shared: Arc<Shared>, room: u64) {
    while !shared.stopping() {
        let _live = Live::new(&shared.counts.sessions);
        let id = shared.next_id.fetch_add(1, Relaxed);
        let r = subscribe_once(&shared, room, id).await;
        shared.retire(id);
        if let Err(e) = r {
            shared.counts.media_failed.fetch_add(1, Relaxed);
            shared.fail("subscriber", e);
            if !pause(&shared, Duration::from_secs(1)).await {
                return;
            }
        }
        shared.counts.rejoins.fetch_add(1, Relaxed);
    }
}

/// The subscription's streams, from the last event that listed them.
fn streams_of(ev: &Value) -> Option<Vec<Value>> {
    plugin_data(ev)["streams"].as_array().cloned()
}

async fn subscribe_once(shared: &Shared, room: u64, id: u64) -> Result<(), String> {
    let feeds = shared.feeds_of(room);
    if feeds.is_empty() {
        return Err("no publisher to subscribe to".into());
    }
    let mut session = Session::open(shared).await?;
    let client = session.client.clone();
    let sid = session.id;
    let result = async {
        let handle = client.attach(sid, VIDEOROOM).await.map_err(|e| format!("attach: {e}"))?;
        let streams: Vec<Value> = feeds.iter().map(|f| json!({ "feed": f })).collect();
        let join = json!({ "request": "join", "ptype": "subscriber", "room": room, "streams": streams });
        let permit = shared.setup.acquire().await.map_err(|e| e.to_string())?;
        let ev = client.message_async("subscribe", sid, handle, join, None).await.map_err(|e| format!("join: {e}"))?;
        let mut streams = streams_of(&ev).unwrap_or_default();
        let peer = Arc::new(Peer::bind(shared.scenario.bind, false).await?);
        let answer = peer.answer(jsep_of(&ev).map_err(|e| e.to_string())?)?;
        client
            .message_async("start", sid, handle, json!({ "request": "start" }), Some(answer))
            .await
            .map_err(|e| format!("start: {e}"))?;
        if !peer.connected_within(CONNECT_WAIT).await {
            return Err(format!("subscriber PeerConnection not up: {:?}", peer.connection()));
        }
        drop(permit);
        shared.counts.media_setups.fetch_add(1, Relaxed);
        shared.live.lock().unwrap_or_else(|p| p.into_inner()).insert(id, peer.clone());
        let _connected = Live::new(&shared.counts.connected);
        let end = shared.scenario.lifetime_s.map(|l| Instant::now() + Duration::from_secs_f64(l));
        let mut timers = Timers::new(shared.periods(), &[Action::Switch, Action::Resubscribe]);
        loop {
            let (action, at) = timers.next(end);
            // Offers the server sends unasked (a publisher left) are answered meanwhile.
            let due = tokio::time::sleep_until(at.into());
            tokio::pin!(due);
            loop {
                tokio::select! {
                    _ = &mut due => break,
                    _ = stopped(shared) => return Ok(()),
                    ev = session.events.recv() => match ev {
                        Some(ev) => {
                            if let Some(s) = streams_of(&ev) {
                                streams = s;
                            }
                            if ev.get("jsep").is_some_and(|j| j["type"] == "offer") {
                                renegotiate(shared, &client, sid, handle, &peer, &ev).await?;
                            }
                        }
                        None => return Err("the WebSocket closed".into()),
                    },
                }
            }
            match action {
                None => break,
                Some(Action::Switch) => {
                    let Some(body) = switch_target(&streams, &shared.feeds_of(room)) else { continue };
                    match client.message_async("switch", sid, handle, body, None).await {
                        Ok(ev) => {
                            peer.restart_reception();
                            if let Some(s) = streams_of(&ev) {
                                streams = s;
                            }
                            shared.counts.switches.fetch_add(1, Relaxed);
                        }
                        Err(e) => shared.fail("switch", e),
                    }
                }
                Some(Action::Resubscribe) => {
                    let subscribed: Vec<u64> = streams.iter().filter_map(|s| s["feed_id"].as_u64()).collect();
                    let Some(&feed) = subscribed.first() else { continue };
                    peer.restart_reception();
                    for (req, f) in [("unsubscribe", feed), ("subscribe", feed)] {
                        let body = json!({ "request": req, "streams": [{ "feed": f }] });
                        match client.message_async(req, sid, handle, body, None).await {
                            Ok(ev) => {
                                if let Some(s) = streams_of(&ev) {
                                    streams = s;
                                }
                                if ev.get("jsep").is_some() {
                                    renegotiate(shared, &client, sid, handle, &peer, &ev).await?;
                                }
                            }
                            Err(e) => shared.fail(req, e),
                        }
                    }
                    shared.counts.resubscribes.fetch_add(1, Relaxed);
                }
                Some(Action::Configure | Action::Republish) => {}
            }
        }
        let _ = client.message_async("leave", sid, handle, json!({ "request": "leave" }), None).await;
        Ok(())
    }
    .await;
    session.close().await;
    result
}

/// A `switch` of one video stream to a feed of the room it does not carry yet.
fn switch_target(streams: &[Value], feeds: &[u64]) -> Option<Value> {
    let video: Vec<&Value> = streams.iter().filter(|s| s["type"] == "video" && s["active"] != false).collect();
    let carried: Vec<u64> = video.iter().filter_map(|s| s["feed_id"].as_u64()).collect();
    // Only to a feed it does not carry: the same stream twice would arrive as duplicates.
    let to = feeds.iter().find(|f| !carried.contains(f))?;
    let from = video.first()?;
    Some(json!({ "request": "switch", "streams": [{
        "feed": to, "mid": from["feed_mid"].as_str().unwrap_or("0"), "sub_mid": from["mid"],
    }] }))
}

/// Answers the server's new offer with `start`.
async fn renegotiate(
    shared: &Shared,
    client: &Client,
    sid: u64,
    handle: u64,
    peer: &Peer,
    ev: &Value,
) -> Result<(), String> {
    // `answer` restarts the reception: streams that come back start a new segment.
    let answer = peer.answer(jsep_of(ev).map_err(|e| e.to_string())?)?;
    client.message_async("start", sid, handle, json!({ "request": "start" }), Some(answer)).await.map(|_| ()).map_err(
        |e| {
            shared.fail("renegotiate", &e);
            format!("start after an update: {e}")
        },
    )
}

/// One churn cycle: a newcomer creates a session, joins `room`, lists it, leaves and goes.
pub async fn churn_cycle(shared: Arc<Shared>, room: u64) {
    let _live = Live::new(&shared.counts.sessions);
    let r = async {
        let session = Session::open(&shared).await?;
        let c = session.client.clone();
        let r = async {
            let h = c.attach(session.id, VIDEOROOM).await.map_err(|e| format!("attach: {e}"))?;
            let join = json!({ "request": "join", "ptype": "publisher", "room": room, "display": "churn" });
            c.message_async("join", session.id, h, join, None).await.map_err(|e| format!("join: {e}"))?;
            let list = json!({ "request": "listparticipants", "room": room });
            c.message("listparticipants", session.id, h, list).await.map_err(|e| format!("listparticipants: {e}"))?;
            c.message_async("leave", session.id, h, json!({ "request": "leave" }), None)
                .await
                .map_err(|e| format!("leave: {e}"))?;
            Ok::<_, String>(())
        }
        .await;
        session.close().await;
        r
    }
    .await;
    match r {
        Ok(()) => shared.counts.churn_cycles.fetch_add(1, Relaxed),
        Err(e) => {
            shared.fail("churn", e);
            shared.counts.churn_failed.fetch_add(1, Relaxed)
        }
    };
}
