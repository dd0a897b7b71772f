//! The media path under load: one publisher to N subscribers through the real server binary, on
//! loopback. For N = 10, 100, 500 (or `MEDIA_BENCH_N=a,b,..`) it reports:
//!
//! - server CPU-µs per forwarded packet: user + system CPU of the vroom process (from
//!   `/proc/<pid>/stat`) over the packets it forwarded (its admin API's `media_stats`), SRTP
//!   (AES-GCM) on both legs; on loopback this includes the kernel's receive path of every copy;
//! - forwarded packets per second on one core: 10^6 / CPU-µs per forwarded packet;
//! - added latency p50 / p99: from the publisher's datagram arriving at vroom to each
//!   subscriber's copy handed to the kernel (measured inside vroom, `media_stats`);
//! - memory per subscriber: growth of vroom's resident set when the N subscribers join, / N;
//! - the loopback floor, measured the same way in the same run: the CPU one thread on vroom's
//!   core spends per datagram sending the same 1,200-byte datagrams at the same rate to the
//!   same N subscriber sockets (which drop them). On loopback the sender pays for the
//!   receiver's side of the kernel too; this is what one `sendto` per forwarded packet costs
//!   here before vroom does anything. Then the same sends back to back for 3 s, without the
//!   idle gaps that let the kernel's send path fall out of cache: the cheapest a `sendto` gets
//!   on this machine.
//!
//! The server runs pinned to CPU 0 and this load generator (webrtc-rs `rtc` peers, each with its
//! own socket) to CPU 1. The publisher sends `MEDIA_BENCH_PPS` (default 50) packets/s of 1,200
//! bytes, measured for `MEDIA_BENCH_SECS` (default 10) per N. `cargo bench --bench media`.
//!
//! `MEDIA_BENCH_SERVER_CONFIG`: configuration text the server starts with (TOML), e.g.
//! `"[general]\nlock_watchdog_ms = 0"` to measure without the lock watch timing every lock.
//!
//! `MEDIA_BENCH_SHARDS` (default `1,2`): each case runs once per shard count (`[media] shards`).
//! With two shards the publisher's leg is on one and the subscribers are spread over both, so
//! half of them are fed through the hand-off between shards; both shards still run on CPU 0,
//! so the CPU per forwarded packet compares with one shard's, and the difference over the
//! packets handed is the hand-off's own cost. The last table compares the two.
//!
//! `MEDIA_BENCH_DEAF=1`: once every subscriber receives, they stop reading their sockets, so the
//! kernel drops what vroom sends them and vroom's CPU no longer includes waking receivers (the
//! reference fan-out floor's "drop" rows are measured this way).
//!
//! Each N runs two cases (`MEDIA_BENCH_CASES=plain,simulcast`): `plain`, the publisher's one
//! VP8 encoding to every subscriber; `simulcast`, the publisher sends three encodings (the
//! same packet rate on each, 1,200, 600 and 300 bytes) and every subscriber, which joined on
//! substream 0, has moved to substream 2: each packet it gets went through the layer selector
//! and had its VP8 picture ID rewritten (a copy of the payload per subscriber), and the other
//! encodings' packets were received and dropped. The last table compares the two per N.
//!
//! `MEDIA_BENCH_SERVERS=vroom,janus`: each plain case also runs against the real Janus 1.1.2
//! (Debian's), in the same run and the same harness. Janus gathers no loopback candidates, so
//! then every server runs in a network namespace of its own and the peers (this process) in
//! another, joined by a veth pair, with `ice_enforce_list` on it. Both servers are measured the
//! same way: process CPU over the packets the subscribers received, and resident memory growth
//! per subscriber. `MEDIA_BENCH_REPEAT` (default 1) runs everything that many times, for the
//! median of several same-run vroom/Janus pairs. Needs root (namespaces) and Debian's `janus`.

#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::janus::Janus;
use common::netns::Netns;
use common::rtc_peer::{RtcPeer, Waits};
use common::{data, Server, Ws};
use serde_json::json;
use vroom::load::peer::{Layers, Publish, Track};
use vroom::load::stamp::Kind;
use vroom::media::StatsSnapshot;

const ROOM: u64 = 1234;

/// The ends of the veth pair when the servers run in a namespace: the server's, the peers'.
const SERVER_IP: &str = "10.78.0.1";
const PEERS_IP: &str = "10.78.0.2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sfu {
    Vroom,
    Janus,
}

/// Where the servers and the peers run: on loopback, or each server in a namespace joined to
/// the peers' by a veth pair (Janus needs an interface that is not loopback).
struct Place {
    /// (the servers', the peers').
    namespaces: Option<(Netns, Netns)>,
}

impl Place {
    fn server_ns(&self) -> Option<&Netns> {
        self.namespaces.as_ref().map(|(s, _)| s)
    }

    fn peer_ip(&self) -> std::net::IpAddr {
        if self.namespaces.is_some() {
            PEERS_IP.parse().unwrap()
        } else {
            [127, 0, 0, 1].into()
        }
    }

    /// Runs `f` on a thread where the servers are (its sockets and threads belong there).
    fn at_server<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match self.server_ns() {
            Some(ns) => ns.run(f),
            None => f(),
        }
    }

    /// Runs `f` on a thread where the peers are.
    fn at_peers<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.namespaces {
            Some((_, ns)) => ns.run(f),
            None => f(),
        }
    }
}

/// A server under test, running.
enum Running {
    Vroom(Server),
    Janus(Janus),
}

impl Running {
    fn pid(&self) -> u32 {
        match self {
            Running::Vroom(s) => s.pid(),
            Running::Janus(j) => j.pid(),
        }
    }
    fn ws(&self) -> &str {
        match self {
            Running::Vroom(s) => &s.ws,
            Running::Janus(j) => &j.ws,
        }
    }
    /// vroom's own packet-path counters (Janus has none).
    async fn media_stats(&self) -> Option<StatsSnapshot> {
        match self {
            Running::Vroom(s) => Some(media_stats(&s.admin).await),
            Running::Janus(_) => None,
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// utime + stime of the calling thread, in seconds.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    (fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()) / 100.0
}

/// CPU-µs per datagram of sending 1,200-byte datagrams from `from` to `targets` from a thread
/// pinned to CPU 0 (the server's) for `secs`: a burst to all of them `pps` times a second, or
/// (`pps` = 0) back to back, which keeps the kernel's send path in cache and is the cheapest it
/// gets here.
fn loopback_floor(from: &str, targets: &[SocketAddr], pps: u64, secs: u64) -> f64 {
    std::thread::scope(|s| {
        s.spawn(|| {
            let tid = std::fs::read_link("/proc/thread-self").unwrap();
            let tid: u32 = tid.file_name().unwrap().to_str().unwrap().parse().unwrap();
            pin(tid, 0);
            let socket = std::net::UdpSocket::bind((from, 0)).unwrap();
            let mut datagram = vec![0u8; 1200];
            datagram[0] = 0x80; // RTP-shaped, from an address no receiver knows
            let (cpu0, start) = (thread_cpu_seconds(), Instant::now());
            let mut rounds = 0u64;
            while start.elapsed() < Duration::from_secs(secs) {
                for t in targets {
                    let _ = socket.send_to(&datagram, t);
                }
                rounds += 1;
                if pps > 0 {
                    let next = start + Duration::from_micros(rounds * 1_000_000 / pps);
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            }
            (thread_cpu_seconds() - cpu0) * 1e6 / (rounds as f64 * targets.len() as f64)
        })
        .join()
        .unwrap()
    })
}

fn pin(pid: u32, cpu: u32) {
    let _ = Command::new("taskset").args(["-a", "-cp", &cpu.to_string(), &pid.to_string()]).output();
}

async fn media_stats(admin: &str) -> StatsSnapshot {
    let mut ws = Ws::connect_with(admin, Some("janus-admin-protocol")).await.unwrap();
    let r = ws.request(json!({ "janus": "media_stats", "admin_secret": "janusoverlord" })).await;
    StatsSnapshot::from_json(&r["media_stats"]).unwrap_or_else(|| panic!("{r}"))
}

struct Row {
    sfu: Sfu,
    /// Which repetition of the run it belongs to.
    round: usize,
    n: usize,
    simulcast: bool,
    shards: usize,
    /// Server CPU over the packets the subscribers received (the measure Janus has too).
    cpu_us_per_delivered: f64,
    handed_per_s: f64,
    forwarded_per_s: f64,
    cpu_us_per_packet: f64,
    p50: Option<u64>,
    p99: Option<u64>,
    kib_per_subscriber: f64,
    floor_us: f64,
    hot_floor_us: f64,
}

/// `MEDIA_BENCH_SERVER_CONFIG` with `[media] shards = shards` (and, in a namespace, the veth
/// as the only interface).
fn server_config(shards: usize, place: &Place) -> String {
    let config = std::env::var("MEDIA_BENCH_SERVER_CONFIG").unwrap_or_default();
    let mut setting = format!("shards = {shards}\n");
    if place.namespaces.is_some() {
        setting.push_str("ice_enforce_list = \"v0\"\n");
    }
    match config.find("[media]\n") {
        Some(at) => format!("{}{setting}{}", &config[..at + 8], &config[at + 8..]),
        None => format!("{config}\n[media]\n{setting}"),
    }
}

async fn run(place: &Place, sfu: Sfu, n: usize, pps: u64, simulcast: bool, shards: usize) -> Row {
    let server = match sfu {
        Sfu::Vroom => Running::Vroom(Server::start_listening(
            place.server_ns(),
            if place.namespaces.is_some() { SERVER_IP } else { "127.0.0.1" },
            &server_config(shards, place),
        )),
        Sfu::Janus => Running::Janus(Janus::start_listening(place.server_ns(), Some("v0"), SERVER_IP)),
    };
    pin(server.pid(), 0);
    let mut ws = Ws::connect(server.ws()).await;
    let s = ws.create().await;
    let peer = || async { RtcPeer::bind(place.peer_ip(), true).await.unwrap() };

    let publisher = peer().await;
    let ph = ws.attach(s, "janus.plugin.videoroom").await;
    let interval = Duration::from_micros(1_000_000 / pps);
    let offer = publisher
        .offer(&Publish {
            tag: 1,
            tracks: vec![Track {
                kind: Kind::Video,
                payload_len: 1188,
                interval,
                layers: if simulcast { Layers::SimulcastByRid } else { Layers::Single },
            }],
        })
        .unwrap();
    let body = json!({ "request": "joinandconfigure", "ptype": "publisher", "room": ROOM, "display": "load" });
    let ev = ws.message_async(s, ph, body, Some(offer)).await;
    let feed = data(&ev)["id"].as_u64().unwrap();
    publisher.accept_answer(&ev["jsep"]).unwrap();
    publisher.wait_connected(Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(server.pid());

    let mut subscribers = Vec::new();
    for _ in 0..n {
        let h = ws.attach(s, "janus.plugin.videoroom").await;
        let stream = if simulcast { json!({ "feed": feed, "substream": 0 }) } else { json!({ "feed": feed }) };
        let body = json!({ "request": "join", "ptype": "subscriber", "room": ROOM, "streams": [stream] });
        let ev = ws.message_async(s, h, body, None).await;
        let peer = peer().await;
        let answer = peer.answer(&ev["jsep"]).unwrap();
        let started = ws.message_async(s, h, json!({ "request": "start" }), Some(answer)).await;
        assert_eq!(data(&started)["started"], "ok", "{started}");
        subscribers.push((peer, h));
    }
    let joined = Instant::now();
    for (i, (peer, _)) in subscribers.iter().enumerate() {
        if i % 100 == 0 {
            eprintln!(
                "N={n}: waiting for subscriber {i} to connect ({:.1} s, vroom CPU {:.1} s)",
                joined.elapsed().as_secs_f64(),
                cpu_seconds(server.pid())
            );
        }
        peer.wait_connected(Duration::from_secs(60)).await;
    }
    // Warm up: every subscriber receiving (simulcast: substream 0, then moved to 2, so that
    // its picture IDs are rewritten from then on).
    let receives = |layer: u8| move |p: &RtcPeer| p.with_received(|r| r.last().is_some_and(|x| x.layer == layer));
    let warm = Instant::now() + Duration::from_secs(30);
    while !subscribers.iter().all(|(p, _)| receives(0)(p)) {
        assert!(Instant::now() < warm, "not every subscriber receives");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if simulcast {
        for (_, h) in &subscribers {
            let body = json!({ "request": "configure", "streams": [{ "mid": "0", "substream": 2 }] });
            let ev = ws.message_async(s, *h, body, None).await;
            assert_eq!(data(&ev)["configured"], "ok", "{ev}");
        }
        while !subscribers.iter().all(|(p, _)| receives(2)(p)) {
            assert!(Instant::now() < warm, "not every subscriber moved to substream 2");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let subscribers: Vec<RtcPeer> = subscribers.into_iter().map(|(p, _)| p).collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_kib(server.pid());
    subscribers.iter().for_each(|p| p.forget_received());
    if env_or("MEDIA_BENCH_DEAF", 0) == 1 {
        subscribers.iter().for_each(|p| p.go_deaf());
        tokio::time::sleep(Duration::from_secs(1)).await; // their socket buffers fill
    }

    let delivered = || subscribers.iter().map(|p| p.received_count()).sum::<usize>();
    let (cpu0, stats0, got0, t0) = (cpu_seconds(server.pid()), server.media_stats().await, delivered(), Instant::now());
    tokio::time::sleep(Duration::from_secs(env_or("MEDIA_BENCH_SECS", 10))).await;
    let (cpu1, stats1, got1, t1) = (cpu_seconds(server.pid()), server.media_stats().await, delivered(), Instant::now());
    let secs = (t1 - t0).as_secs_f64();
    let got = (got1 - got0) as f64;
    let d = stats0.zip(stats1).map(|(a, b)| b.since(&a));
    if let Some(d) = &d {
        eprintln!(
            "{sfu:?} N={n}, {shards} shard(s): forwarded {} packets in {secs:.1} s ({} received from the publisher, {} handed between shards, {} timer expirations); subscribers got {got}",
            d.forwarded, d.received, d.handed, d.timer_ticks
        );
    }
    // Janus counts nothing: what the subscribers received stands for what it forwarded.
    let forwarded = d.as_ref().map_or(got, |d| d.forwarded as f64);
    // The floor, with vroom idle: the publisher stops first.
    publisher.close();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let targets: Vec<SocketAddr> = subscribers.iter().map(|p| p.addr()).collect();
    let from = if place.namespaces.is_some() { SERVER_IP } else { "127.0.0.1" };
    let floor =
        |pps, secs| tokio::task::block_in_place(|| place.at_server(|| loopback_floor(from, &targets, pps, secs)));
    let floor_us = floor(pps, env_or("MEDIA_BENCH_SECS", 10));
    let hot_floor_us = floor(0, 3);
    Row {
        sfu,
        round: 0,
        cpu_us_per_delivered: (cpu1 - cpu0) * 1e6 / got.max(1.0),
        simulcast,
        shards,
        handed_per_s: d.as_ref().map_or(0.0, |d| d.handed as f64 / secs),
        floor_us,
        hot_floor_us,
        n,
        forwarded_per_s: forwarded / secs,
        cpu_us_per_packet: (cpu1 - cpu0) * 1e6 / forwarded.max(1.0),
        p50: d.as_ref().and_then(|d| d.latency_quantile_us(0.5)),
        p99: d.as_ref().and_then(|d| d.latency_quantile_us(0.99)),
        kib_per_subscriber: rss_after.saturating_sub(rss_before) as f64 / n as f64,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench -- --list: nothing to list
    }
    let ns: Vec<usize> = std::env::var("MEDIA_BENCH_N")
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|_| vec![10, 100, 500]);
    let pps: u64 = env_or("MEDIA_BENCH_PPS", 50);
    let cases: Vec<bool> = std::env::var("MEDIA_BENCH_CASES")
        .unwrap_or_else(|_| "plain,simulcast".into())
        .split(',')
        .map(|c| c.trim() == "simulcast")
        .collect();
    let shard_counts: Vec<usize> = std::env::var("MEDIA_BENCH_SHARDS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let servers: Vec<Sfu> = std::env::var("MEDIA_BENCH_SERVERS")
        .unwrap_or_else(|_| "vroom".into())
        .split(',')
        .map(|x| if x.trim() == "janus" { Sfu::Janus } else { Sfu::Vroom })
        .collect();
    let place = Place {
        namespaces: servers.contains(&Sfu::Janus).then(|| {
            common::prereq::require(&["janus", "ip"]);
            let (server, peers) = (Netns::new(), Netns::new());
            server.link("v0", &format!("{SERVER_IP}/24"), &peers, "v1", &format!("{PEERS_IP}/24"));
            (server, peers)
        }),
    };
    pin(std::process::id(), 1);
    // The runtime's threads, and so the peers' sockets and the API clients, are where the peers
    // are.
    let rows = place.at_peers(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let mut rows = Vec::new();
        for round in 0..env_or("MEDIA_BENCH_REPEAT", 1) {
            for &n in &ns {
                for &simulcast in &cases {
                    for &sfu in &servers {
                        let shards: &[usize] = if sfu == Sfu::Janus { &[0] } else { &shard_counts };
                        if sfu == Sfu::Janus && simulcast {
                            continue;
                        }
                        for &k in shards {
                            rows.push(Row { round, ..rt.block_on(run(&place, sfu, n, pps, simulcast, k)) });
                        }
                    }
                }
            }
        }
        rows
    });
    println!(
        "\n1 publisher -> N subscribers, {pps} packets/s of 1,200 B, SRTP AES-GCM, {}, {} s per N{}",
        if place.namespaces.is_some() { "servers in a namespace, peers across a veth pair" } else { "loopback" },
        env_or("MEDIA_BENCH_SECS", 10),
        if env_or("MEDIA_BENCH_DEAF", 0) == 1 { ", receivers dropping" } else { "" }
    );
    println!("| server | round | N | case | shards | forwarded packets/s | server CPU-µs per forwarded packet | packets/s per core (10^6 / CPU-µs) | added latency p50 | p99 | memory per subscriber | loopback floor: CPU-µs per `sendto` to the same receivers, same rate | back to back |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let case = |r: &Row| if r.simulcast { "simulcast" } else { "plain" };
    for r in &rows {
        let us = |v: Option<u64>| v.map(|v| format!("{v} µs")).unwrap_or("-".into());
        println!(
            "| {:?} | {} | {} | {} | {} | {:.0} | {:.2} | {:.0} | {} | {} | {:.0} KiB | {:.2} | {:.2} |",
            r.sfu,
            r.round,
            r.n,
            case(r),
            r.shards,
            r.forwarded_per_s,
            r.cpu_us_per_packet,
            1e6 / r.cpu_us_per_packet,
            us(r.p50),
            us(r.p99),
            r.kib_per_subscriber,
            r.floor_us,
            r.hot_floor_us
        );
    }
    let pairs: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|r| !r.simulcast && r.sfu == Sfu::Vroom)
        .filter_map(|p| {
            Some((p, rows.iter().find(|s| s.simulcast && s.n == p.n && s.shards == p.shards && s.round == p.round)?))
        })
        .collect();
    if !pairs.is_empty() {
        println!("\nSimulcast against plain forwarding, same run");
        println!("| N | shards | plain CPU-µs per forwarded packet | simulcast | simulcast / plain |");
        println!("|---|---|---|---|---|");
        for (p, s) in pairs {
            let ratio = s.cpu_us_per_packet / p.cpu_us_per_packet;
            println!(
                "| {} | {} | {:.2} | {:.2} | {:.3} |",
                p.n, p.shards, p.cpu_us_per_packet, s.cpu_us_per_packet, ratio
            );
        }
    }
    let sharded: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|r| r.shards == 1 && r.sfu == Sfu::Vroom)
        .filter_map(|one| {
            let same =
                |r: &&Row| r.sfu == Sfu::Vroom && r.n == one.n && r.simulcast == one.simulcast && r.round == one.round;
            Some((one, rows.iter().filter(same).find(|r| r.shards > 1)?))
        })
        .collect();
    if !sharded.is_empty() {
        println!("\nShards against one shard, same run (all on CPU 0)");
        println!("| N | case | shards | 1 shard: CPU-µs per forwarded packet | sharded | sharded / 1 | packets handed between shards per forwarded packet | hand-off cost: added CPU-µs per packet handed |");
        println!("|---|---|---|---|---|---|---|---|");
        for (one, more) in sharded {
            let handed_share = more.handed_per_s / more.forwarded_per_s.max(1.0);
            let added = (more.cpu_us_per_packet - one.cpu_us_per_packet) / handed_share.max(f64::MIN_POSITIVE);
            println!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} |",
                one.n,
                case(one),
                more.shards,
                one.cpu_us_per_packet,
                more.cpu_us_per_packet,
                more.cpu_us_per_packet / one.cpu_us_per_packet,
                handed_share,
                added
            );
        }
    }
    let janus_pairs: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|r| r.sfu == Sfu::Janus)
        .filter_map(|j| {
            let vroom = |r: &&Row| r.sfu == Sfu::Vroom && r.n == j.n && r.round == j.round && !r.simulcast;
            Some((rows.iter().filter(vroom).min_by_key(|r| r.shards)?, j))
        })
        .collect();
    if !janus_pairs.is_empty() {
        println!("\nvroom against Janus 1.1.2, same run, same harness: CPU over the packets the subscribers received, memory growth per subscriber");
        println!("| round | N | vroom shards | vroom CPU-µs per packet | Janus | Janus / vroom | vroom memory per subscriber | Janus | Janus / vroom |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let mut by_n: std::collections::BTreeMap<usize, (Vec<f64>, Vec<f64>)> = Default::default();
        for (v, j) in &janus_pairs {
            let (cpu, mem) =
                (j.cpu_us_per_delivered / v.cpu_us_per_delivered, j.kib_per_subscriber / v.kib_per_subscriber);
            println!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} KiB | {:.0} KiB | {:.2} |",
                v.round,
                v.n,
                v.shards,
                v.cpu_us_per_delivered,
                j.cpu_us_per_delivered,
                cpu,
                v.kib_per_subscriber,
                j.kib_per_subscriber,
                mem
            );
            let e = by_n.entry(v.n).or_default();
            e.0.push(cpu);
            e.1.push(mem);
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        for (n, (mut cpu, mut mem)) in by_n {
            println!(
                "\nN = {n}: median over {} pairs: Janus spends {:.2}x vroom's CPU per packet and {:.2}x its memory per subscriber",
                cpu.len(),
                median(&mut cpu),
                median(&mut mem)
            );
        }
    }
}
