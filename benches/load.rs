//! vroom and the real Janus 1.1.2 side by side under `vroom-load`: the same scenarios, the
//! same harness, the same run. Each server runs alone in a network namespace with one veth
//! interface (Janus gathers no loopback candidates; both get `ice_enforce_list` on it), and
//! `vroom-load` runs in a second namespace at the veth pair's other end: its WebSocket and its
//! peers' media cross the pair.
//!
//! `cargo bench --bench load [-- SECONDS [SCENARIO...]]` (default 60 s, every scenario) prints
//! a Markdown table per scenario and writes each server's JSON report and a side-by-side SVG
//! timeline to `target/load-bench/`. The scenarios:
//! * `media`: 30 PeerConnections (5 rooms of 2 publishers and 4 subscribers) and 20 sessions a
//!   second of churn;
//! * `soak`: the soak's shape, 100 PeerConnections (10 rooms of 2 and 8) and 50 sessions a second;
//! * `jcb04`: 20 sessions a second of churn, and the client that stalls Janus 1.1.2 (JCB-04)
//!   20 s in.
//!
//! Needs root (namespaces) and Debian's `janus`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::janus::Janus;
use common::netns::Netns;
use common::Server;
use serde_json::Value;

/// The server side of the veth pair, and the load generator's side.
const SERVER_IP: &str = "10.79.0.1";
const LOAD_IP: &str = "10.79.0.2";

struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "media", args: &["--rooms", "5", "--publishers", "2", "--subscribers", "4", "--churn", "20"] },
    Scenario { name: "soak", args: &["--rooms", "10", "--publishers", "2", "--subscribers", "8", "--churn", "50"] },
    // JCB-04 needs no media: signalling churn, and the poison client 20 s in.
    Scenario { name: "jcb04", args: &["--rooms", "0", "--churn", "20", "--poison-at", "20"] },
];

/// The server's namespace and the load generator's, joined by a veth pair. They must be two:
/// Janus's ICE agent (libnice) pairs no candidate with a remote one on an address of its own
/// host, so a load generator beside it never connects.
fn namespaces() -> (Netns, Netns) {
    let (server, load) = (Netns::new(), Netns::new());
    server.link("v0", &format!("{SERVER_IP}/24"), &load, "v1", &format!("{LOAD_IP}/24"));
    (server, load)
}

/// Runs `vroom-load` in `ns` (the load generator's namespace) against the server at `url` (process `pid`); returns its report.
fn load(ns: &Netns, url: &str, admin: Option<&str>, pid: u32, seconds: &str, s: &Scenario, out: &Path) -> Value {
    let server = if admin.is_some() { "vroom" } else { "janus" };
    let report = out.join(format!("{}-{server}.json", s.name));
    let mut command = ns.command(env!("CARGO_BIN_EXE_vroom-load"));
    command
        .args(["--url", url, "--server-pid", &pid.to_string(), "--duration", seconds, "--bind", LOAD_IP])
        .args(["--video-kbps", "300", "--name", &format!("{} on {server}", s.name)])
        .args(s.args)
        .arg("--report")
        .arg(&report);
    if let Some(a) = admin {
        command.args(["--admin-url", a]);
    }
    let status = common::prereq::spawn(&mut command).expect("vroom-load starts").wait().unwrap();
    assert!(status.success(), "vroom-load against {server}: {status}");
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

fn f(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

/// How a table's cell is read from a report.
type Cell = fn(&Value) -> String;

/// The table's rows: what each server showed.
fn table(s: &Scenario, runs: &[(&str, &Value)]) -> String {
    let mut t = format!(
        "\n### {}\n\n| | {} |\n|---|{}\n",
        s.name,
        runs.iter().map(|r| r.0).collect::<Vec<_>>().join(" | "),
        "---|".repeat(runs.len())
    );
    let rows: &[(&str, Cell)] = &[
        ("requests sent", |r| f(&r["requests_sent"])),
        ("unanswered after 5 s", |r| f(&r["requests_unanswered"])),
        ("request errors", |r| f(&r["request_errors"])),
        ("churn cycles done / failed", |r| {
            format!("{} / {}", f(&r["counted"]["churn_cycles"]), f(&r["counted"]["churn_failed"]))
        }),
        ("session create p50 / p99 / max, ms", |r| {
            let c = &r["requests"]["create"];
            format!("{} / {} / {}", f(&c["p50_ms"]), f(&c["p99_ms"]), f(&c["max_ms"]))
        }),
        ("PeerConnections up / failed", |r| {
            format!("{} / {}", f(&r["counted"]["media_setups"]), f(&r["counted"]["media_failed"]))
        }),
        ("media loss, %", |r| format!("{:.3}", r["media"]["loss_pct"].as_f64().unwrap_or(0.0))),
        ("end-to-end latency p50 / p99, ms", |r| {
            format!("{} / {}", f(&r["media"]["latency"]["p50_ms"]), f(&r["media"]["latency"]["p99_ms"]))
        }),
        ("first keyframe p50 / p99, ms", |r| {
            format!("{} / {}", f(&r["media"]["keyframe_wait"]["p50_ms"]), f(&r["media"]["keyframe_wait"]["p99_ms"]))
        }),
        ("server CPU, % of a core (mean)", |r| f(&r["server"]["cpu_pct_mean"])),
        ("server memory before / peak / after, MB", |r| {
            let s = &r["server"];
            format!(
                "{:.1} / {:.1} / {:.1}",
                s["rss_mb_before"].as_f64().unwrap_or(0.0),
                s["rss_mb_peak"].as_f64().unwrap_or(0.0),
                s["rss_mb_after"].as_f64().unwrap_or(0.0)
            )
        }),
        ("descriptors before / after", |r| {
            format!("{} / {}", f(&r["server"]["fds_before"]), f(&r["server"]["fds_after"]))
        }),
        ("threads before / after", |r| {
            format!("{} / {}", f(&r["server"]["threads_before"]), f(&r["server"]["threads_after"]))
        }),
        ("failures (kinds)", |r| r["failures"].as_object().map_or(0, |m| m.len()).to_string()),
    ];
    for (name, cell) in rows {
        t += &format!("| {name} | {} |\n", runs.iter().map(|(_, r)| cell(r)).collect::<Vec<_>>().join(" | "));
    }
    for (server, r) in runs {
        if !r["poison"].is_null() {
            t += &format!("\nThe poison client on {server}: `{}`\n", r["poison"]);
        }
    }
    t
}

fn main() {
    common::prereq::require(&["janus", "ip"]);
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let seconds = args.first().cloned().unwrap_or_else(|| "60".into());
    let wanted: Vec<&Scenario> =
        SCENARIOS.iter().filter(|s| args.len() < 2 || args[1..].iter().any(|a| a == s.name)).collect();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/load-bench");
    std::fs::create_dir_all(&out).unwrap();
    let mut all = String::new();
    for s in wanted {
        let (ns, load_ns) = namespaces();
        let vroom = {
            let server = Server::start_listening(Some(&ns), SERVER_IP, "[media]\nice_enforce_list = \"v0\"\n");
            load(&load_ns, &server.ws, Some(&server.admin), server.pid(), &seconds, s, &out)
        };
        let janus = {
            let janus = Janus::start_listening(Some(&ns), Some("v0"), SERVER_IP);
            load(&load_ns, &janus.ws, None, janus.pid(), &seconds, s, &out)
        };
        let reports =
            |v: &Value| -> vroom::load::report::Report { serde_json::from_value(v.clone()).expect("a report") };
        let (rv, rj) = (reports(&vroom), reports(&janus));
        let svg = out.join(format!("{}.svg", s.name));
        vroom::load::plot::plot(&svg, s.name, &[("vroom", &rv), ("janus", &rj)]).unwrap();
        let t = table(s, &[("vroom", &vroom), ("Janus 1.1.2", &janus)]);
        println!("{t}");
        all += &t;
    }
    std::fs::write(out.join("tables.md"), all).unwrap();
}
