//! The lock watchdog, through a seam: a media endpoint that stalls on a trickled candidate (as
//! a stuck stack would) while the core holds the handle's lock. The stall must explain itself: one log
//! line naming the lock's level, the request holding it and for how long, and a count in
//! `/metrics`, while the lock is still held; a request queued behind it is reported as waiting.

mod common;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use vroom::api::{Api, ApiConfig};
use vroom::core::event::SubStreamInfo;
use vroom::core::room::FanoutTarget;
use vroom::core::seams::{ForwarderSocket, MediaPort, PeerOwner, SocketFactory, TrickleCandidate};
use vroom::core::CoreConfig;
use vroom::media::{SystemClock, UdpSockets};
use vroom::observe::locks::WATCH;
use vroom::ProdCore;

const STALL: Duration = Duration::from_millis(800);
static STALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Real signalling-only sockets whose endpoints take `STALL` to take their first trickled
/// candidate.
struct StallingSockets(UdpSockets);
struct StallingPort(Box<dyn MediaPort>);

impl SocketFactory for StallingSockets {
    fn open_media(&self, owner: PeerOwner) -> io::Result<Box<dyn MediaPort>> {
        Ok(Box::new(StallingPort(self.0.open_media(owner)?)))
    }
    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>> {
        self.0.open_forwarder(target)
    }
    fn open_recording(&self, spec: vroom::core::seams::RecordSpec) -> Arc<dyn vroom::core::seams::PacketSink> {
        self.0.open_recording(spec)
    }
}

impl MediaPort for StallingPort {
    fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }
    fn answer(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        offer: &str,
    ) -> Result<String, String> {
        self.0.answer(held, offer)
    }
    fn offer(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        streams: &[SubStreamInfo],
    ) -> Result<String, String> {
        self.0.offer(held, streams)
    }
    fn accept_answer(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        answer: &str,
    ) -> Result<(), String> {
        self.0.accept_answer(held, answer)
    }
    fn add_candidate(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        candidate: Option<&TrickleCandidate>,
    ) -> Result<(), String> {
        if !STALLED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(STALL);
        }
        self.0.add_candidate(held, candidate)
    }
    fn set_fanout(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        mid: &str,
        targets: &[FanoutTarget],
    ) {
        self.0.set_fanout(held, mid, targets)
    }
    fn set_paused(&self, paused: bool) {
        self.0.set_paused(paused)
    }
    fn set_send(&self, held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>, mid: &str, send: bool) {
        self.0.set_send(held, mid, send)
    }
    fn set_layers(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        mid: &str,
        layers: vroom::core::event::LayerChoice,
    ) -> (Option<u8>, Option<u8>) {
        self.0.set_layers(held, mid, layers)
    }
    fn set_limits(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
        limits: vroom::core::seams::PublisherLimits,
    ) {
        self.0.set_limits(held, limits)
    }
    fn set_forwarders(&self, forwarders: &[vroom::core::seams::ForwardTo]) {
        self.0.set_forwarders(forwarders)
    }
    fn request_keyframe(&self, mid: &str) {
        self.0.request_keyframe(mid)
    }
    fn info(
        &self,
        held: &mut vroom::sync::order::Token<vroom::sync::order::MediaCall>,
    ) -> vroom::core::seams::PeerInfo {
        self.0.info(held)
    }
}

/// Log lines, as JSON objects, written by every thread of this test binary.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

#[test]
fn a_stalled_lock_is_logged_once_with_its_request_and_counted() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing_subscriber::fmt().json().flatten_event(true).with_writer(move || writer.clone()).init();
    WATCH.start_watchdog(Duration::from_millis(200)).unwrap();

    let sockets = Arc::new(StallingSockets(UdpSockets::new([127, 0, 0, 1].into())));
    let core = Arc::new(ProdCore::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets));
    let api = Arc::new(Api::new(
        core.clone(),
        ApiConfig { api_secret: None, token_auth: false, server_name: "test".into(), local_ip: "127.0.0.1".into() },
    ));
    let call = |msg: Value| api.handle(1, &msg).reply;
    let s = call(json!({ "janus": "create", "transaction": "c" }))["data"]["id"].as_u64().unwrap();
    let h = call(json!({ "janus": "attach", "session_id": s, "plugin": "janus.plugin.echotest", "transaction": "a" }))
        ["data"]["id"]
        .as_u64()
        .unwrap();
    let offer = json!({ "janus": "message", "session_id": s, "handle_id": h, "transaction": "offer",
        "body": { "audio": true }, "jsep": common::av_offer() });
    assert_eq!(call(offer)["janus"], "ack");
    // A trickled candidate stalls the endpoint, under the handle's lock; a second one waits for
    // that lock meanwhile.
    let trickle = |txn: &str| {
        let api = api.clone();
        let msg = json!({ "janus": "trickle", "session_id": s, "handle_id": h, "transaction": txn,
            "candidate": { "candidate": "candidate:1 1 udp 2013266431 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0 } });
        std::thread::spawn(move || api.handle(1, &msg).reply)
    };
    let stalled = trickle("stalled");
    std::thread::sleep(Duration::from_millis(100));
    let waiter = trickle("behind");
    // Reported while the lock is still held: well before the stall ends.
    std::thread::sleep(Duration::from_millis(500));
    let reports = |state: &str| -> Vec<Value> {
        lines
            .json()
            .into_iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with("lock watchdog")) && l["state"] == state)
            .collect()
    };
    let held = reports("held");
    assert_eq!(held.len(), 1, "one line for the stalled hold, while it lasts: {held:#?}");
    assert_eq!(held[0]["level"], "Handle", "{held:#?}");
    let request = held[0]["request"].as_str().unwrap();
    assert!(
        request.starts_with("trickle") && request.contains(&h.to_string()) && request.contains("\"stalled\""),
        "{request}"
    );
    assert!(held[0]["seconds"].as_f64().unwrap() >= 0.2, "{held:#?}");
    assert_eq!(stalled.join().unwrap()["janus"], "ack");
    assert_eq!(waiter.join().unwrap()["janus"], "ack");
    // After the stall: still one line for it, the wait behind it was reported once too, and
    // both are counted in /metrics.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reports("held").len(), 1, "{:#?}", reports("held"));
    let waited = reports("waited for");
    assert_eq!(waited.len(), 1, "{waited:#?}");
    assert_eq!(waited[0]["level"], "Handle");
    assert!(waited[0]["request"].as_str().unwrap().contains("\"behind\""), "{waited:#?}");
    let metrics = vroom::observe::metrics::render(&core, None);
    assert!(metrics.contains("vroom_lock_watchdog_total{level=\"Handle\",state=\"held\"} 1\n"), "{metrics}");
    assert!(metrics.contains("vroom_lock_watchdog_total{level=\"Handle\",state=\"waited\"} 1\n"), "{metrics}");
    assert!(metrics.contains("vroom_lock_hold_seconds_count{level=\"Handle\"}"), "{metrics}");
}
