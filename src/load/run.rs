//! A load run from start to end: create the rooms, bring the media clients up, run the churn
//! and the clients' actions for the scenario's duration while sampling a timeline each second,
//! then let everyone leave, destroy the rooms and read what the server holds afterwards.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::watch;

use super::actors::{self, Shared};
use super::client::{Client, Requests};
use super::reception::{histogram, Totals};
use super::report::{Counted, MediaSummary, Point, Report, ServerSummary, Summary};
use super::scenario::Scenario;
use crate::observe::process::ProcessSample;

/// How long the media clients may take to come up before the measurement starts anyway.
const SETUP_WAIT: Duration = Duration::from_secs(120);
/// How long everyone may take to leave at the end.
const TEARDOWN_WAIT: Duration = Duration::from_secs(30);

/// Runs `scenario` against its server and reports.
pub async fn run(scenario: Scenario) -> Result<Report, String> {
    scenario.check()?;
    let (stop_tx, stop) = watch::channel(false);
    let shared = Shared::new(scenario.clone(), stop);
    let rooms: Vec<u64> = (0..scenario.rooms as u64).map(|i| scenario.first_room + i).collect();
    // The baseline is the server before this run touched it.
    let accounting_before = match &scenario.admin_url {
        Some(url) => Some(accounting(url, &scenario.admin_secret).await?),
        None => None,
    };
    let server_before = scenario.server_pid.and_then(ProcessSample::of);
    let (owner, _owner_events) = Client::connect(&scenario.url, Arc::new(Requests::default())).await?;
    let owner = Arc::new(owner);
    let owner_session = owner.create().await.map_err(|e| format!("create: {e}"))?;
    let keepalive = {
        let owner = owner.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(20)).await;
                let _ = owner.keepalive(owner_session).await;
            }
        })
    };
    let owner_handle =
        owner.attach(owner_session, "janus.plugin.videoroom").await.map_err(|e| format!("attach: {e}"))?;
    let room_ids: Vec<u64> = if rooms.is_empty() { vec![scenario.first_room] } else { rooms.clone() };
    for &room in &room_ids {
        let body = json!({
            "request": "create", "room": room, "publishers": scenario.publishers * 2 + 16,
            "videocodec": "vp8", "audiocodec": "opus", "permanent": false,
        });
        match owner.message("create room", owner_session, owner_handle, body).await {
            Ok(_) => {}
            Err(super::client::RequestError::Janus(427, _)) => {} // it exists: use it
            Err(e) => return Err(format!("creating room {room}: {e}")),
        }
    }

    let mut tasks = Vec::new();
    for &room in &rooms {
        for _ in 0..scenario.publishers {
            tasks.push(tokio::spawn(actors::publisher(shared.clone(), room)));
        }
    }
    let publishers = (scenario.rooms * scenario.publishers) as u64;
    wait_for(&shared, publishers).await;
    for &room in &rooms {
        for _ in 0..scenario.subscribers {
            tasks.push(tokio::spawn(actors::subscriber(shared.clone(), room)));
        }
    }
    wait_for(&shared, scenario.media_clients() as u64).await;
    tracing::info!(connected = shared.counts.connected.load(Relaxed), "media clients up: measuring");

    let churn = (scenario.churn > 0.0).then(|| tokio::spawn(churn(shared.clone(), room_ids.clone())));
    let poison = scenario.poison_at_s.map(|at| {
        let (url, room) = (scenario.url.clone(), scenario.first_room + 1000);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs_f64(at)).await;
            tracing::info!(room, "the poison client (JCB-04) starts");
            super::poison::poison(&url, room).await
        })
    });
    let (timeline, requests, server_peak) = sample(&shared, scenario.duration()).await;
    let measured = scenario.duration().as_secs_f64();
    let server_during = scenario.server_pid.and_then(ProcessSample::of);

    let _ = stop_tx.send(true);
    if let Some(c) = churn {
        c.abort();
    }
    // A stalled server never answers the poison client: what it got by now is the result.
    let poison = match poison {
        Some(p) => Some(match tokio::time::timeout(Duration::from_secs(1), p).await {
            Ok(Ok(v)) => v,
            _ => serde_json::json!({ "stalled": "the poison client was still waiting for an answer" }),
        }),
        None => None,
    };
    let end = Instant::now() + TEARDOWN_WAIT;
    for t in tasks {
        if tokio::time::timeout(end.saturating_duration_since(Instant::now()), t).await.is_err() {
            shared.fail("teardown", "a client did not leave in time");
        }
    }
    // Churn cycles still running get their time to finish.
    while shared.counts.sessions.load(Relaxed) > 0 && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    keepalive.abort();
    for &room in &room_ids {
        let body = json!({ "request": "destroy", "room": room });
        if let Err(e) = owner.message("destroy room", owner_session, owner_handle, body).await {
            shared.fail("destroy room", e);
        }
    }
    let _ = owner.destroy(owner_session).await;
    drop(owner);
    let accounting_after = match (&scenario.admin_url, &accounting_before) {
        (Some(url), Some(before)) => Some(settled_accounting(url, &scenario.admin_secret, before).await?),
        _ => None,
    };
    let server_after = scenario.server_pid.and_then(ProcessSample::of);

    let c = &shared.counts;
    let counted = Counted {
        sessions_peak: timeline.iter().map(|p| p.sessions).max().unwrap_or(0),
        media_setups: c.media_setups.load(Relaxed),
        media_failed: c.media_failed.load(Relaxed),
        churn_cycles: c.churn_cycles.load(Relaxed),
        churn_failed: c.churn_failed.load(Relaxed),
        switches: c.switches.load(Relaxed),
        configures: c.configures.load(Relaxed),
        resubscribes: c.resubscribes.load(Relaxed),
        republishes: c.republishes.load(Relaxed),
        rejoins: c.rejoins.load(Relaxed),
    };
    let server = match (server_before, server_during, server_after) {
        (Some(b), Some(d), Some(a)) => Some(ServerSummary {
            cpu_seconds: (d.cpu - b.cpu).as_secs_f64(),
            cpu_pct_mean: timeline.iter().filter_map(|p| p.server_cpu_pct).sum::<f64>() / timeline.len().max(1) as f64,
            rss_mb_before: mb(b.resident_bytes),
            rss_mb_peak: mb(server_peak.max(b.resident_bytes)),
            rss_mb_after: mb(a.resident_bytes),
            fds_before: b.open_fds,
            fds_after: a.open_fds,
            threads_before: b.threads,
            threads_after: a.threads,
        }),
        _ => None,
    };
    let r = &shared.requests;
    Ok(Report {
        scenario,
        measured_s: measured,
        requests_sent: r.sent.load(Relaxed),
        requests_unanswered: r.unanswered.load(Relaxed),
        request_errors: r.errors.load(Relaxed),
        requests: requests.iter().map(|(k, h)| (k.clone(), Summary::of(h))).collect(),
        media: MediaSummary::of(&shared.receptions()),
        counted,
        failures: shared.failures().into_iter().collect(),
        server,
        accounting_before,
        accounting_after,
        poison,
        timeline,
    })
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Waits until `n` media clients are up (or the setup time is over).
async fn wait_for(shared: &Shared, n: u64) {
    let end = Instant::now() + SETUP_WAIT;
    while shared.counts.connected.load(Relaxed) < n && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts churn cycles at the scenario's rate, round the rooms.
async fn churn(shared: Arc<Shared>, rooms: Vec<u64>) {
    let every = Duration::from_secs_f64(1.0 / shared.scenario.churn);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0usize.. {
        tick.tick().await;
        tokio::spawn(actors::churn_cycle(shared.clone(), rooms[i % rooms.len()]));
    }
}

/// Samples the run each second for `duration`; returns the timeline, every request's latency
/// by name, and the server's peak resident memory.
async fn sample(
    shared: &Shared,
    duration: Duration,
) -> (Vec<Point>, BTreeMap<String, hdrhistogram::Histogram<u64>>, u64) {
    let start = Instant::now();
    let pid = shared.scenario.server_pid;
    let mut last_cpu = pid.and_then(ProcessSample::of).map(|p| p.cpu);
    let mut last_totals = shared.reception_totals();
    let mut last_at = start;
    let mut all: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    let _ = shared.take_latency_window();
    let _ = shared.requests.take();
    let mut timeline = Vec::new();
    let mut peak = 0;
    let mut tick = tokio::time::interval_at((start + Duration::from_secs(1)).into(), Duration::from_secs(1));
    while start.elapsed() < duration {
        tick.tick().await;
        let now = Instant::now();
        let window = now.duration_since(last_at).as_secs_f64();
        last_at = now;
        let server = pid.and_then(ProcessSample::of);
        let cpu_pct = match (server, last_cpu) {
            (Some(s), Some(l)) => Some((s.cpu.saturating_sub(l)).as_secs_f64() * 100.0 / window),
            _ => None,
        };
        last_cpu = server.map(|s| s.cpu);
        peak = peak.max(server.map_or(0, |s| s.resident_bytes));
        let latency = shared.take_latency_window();
        let totals = shared.reception_totals();
        let delta = Totals {
            expected: totals.expected.saturating_sub(last_totals.expected),
            lost: totals.lost.saturating_sub(last_totals.lost),
            ..Totals::default()
        };
        last_totals = totals;
        let requests = shared.requests.take();
        let answered = requests.values().map(|h| h.len()).sum();
        let create = requests.get("create").cloned().unwrap_or_else(histogram);
        for (name, h) in requests {
            let _ = all.entry(name).or_insert_with(histogram).add(&h);
        }
        let ms =
            |h: &hdrhistogram::Histogram<u64>, q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0);
        let p = Point {
            t_s: start.elapsed().as_secs_f64(),
            sessions: shared.counts.sessions.load(Relaxed),
            connected: shared.counts.connected.load(Relaxed),
            server_cpu_pct: cpu_pct,
            server_rss_mb: server.map(|s| mb(s.resident_bytes)),
            latency_p50_ms: ms(&latency, 0.5),
            latency_p99_ms: ms(&latency, 0.99),
            loss_pct: (delta.expected > 0).then(|| delta.lost as f64 * 100.0 / delta.expected as f64),
            create_p50_ms: ms(&create, 0.5),
            create_p99_ms: ms(&create, 0.99),
            requests: answered,
            unanswered: shared.requests.unanswered.load(Relaxed),
        };
        tracing::info!(
            t = format!("{:.0}s", p.t_s),
            sessions = p.sessions,
            connected = p.connected,
            cpu = p.server_cpu_pct.map(|c| format!("{c:.0}%")),
            latency_p99_ms = p.latency_p99_ms,
            loss = p.loss_pct.map(|l| format!("{l:.2}%")),
            create_p99_ms = p.create_p99_ms,
            unanswered = p.unanswered,
            churn = shared.counts.churn_cycles.load(Relaxed),
            "progress"
        );
        timeline.push(p);
    }
    (timeline, all, peak)
}

/// vroom's admin `accounting`.
pub async fn accounting(url: &str, secret: &str) -> Result<Value, String> {
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", "janus-admin-protocol".parse().expect("a header value"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.map_err(|e| format!("admin {url}: {e}"))?;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let msg = json!({ "janus": "accounting", "transaction": "a", "admin_secret": secret });
    ws.send(Message::Text(msg.to_string().into())).await.map_err(|e| e.to_string())?;
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
            let _ = ws.close(None).await;
            return v.get("accounting").cloned().ok_or_else(|| format!("accounting: {v}"));
        }
    }
    Err("the admin WebSocket closed".into())
}

/// The accounting once it is back to `before` in what clients own (sessions, handles, rooms,
/// PeerConnections), or after 15 s.
async fn settled_accounting(url: &str, secret: &str, before: &Value) -> Result<Value, String> {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let a = accounting(url, secret).await?;
        let settled = ["sessions", "handles", "rooms"].iter().all(|k| a["core"][k] == before["core"][k])
            && ["connecting", "connected", "legs_alive", "routes", "timers"]
                .iter()
                .all(|k| a["media"][k] == before["media"][k]);
        if settled || Instant::now() >= end {
            return Ok(a);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
