//! `GET /metrics`: what the core holds, what the packet path did, and how the ordered locks
//! behave, in Prometheus's text format. Gathered at each scrape from counters that are kept
//! anyway; the core's census takes one lock at a time.

use std::sync::atomic::Ordering::Relaxed;

use super::accounting::Accounting;
use super::exposition::{Exposition, Labels};
use super::locks::WATCH;
use crate::core::Core;
use crate::media::{DropReason, MediaEngine};
use crate::sync::Runtime;

/// Lock waits and holds: buckets up to 2^24 µs (16.8 s).
const LOCK_MAX_POW: u32 = 24;
/// Media latency and loop lag: up to 2^20 µs (1 s).
const MEDIA_MAX_POW: u32 = 20;

pub fn render<R: Runtime>(core: &Core<R>, media: Option<&MediaEngine>) -> String {
    let mut e = Exposition::default();
    let a = Accounting::now(core, media);
    let c = a.core;
    let none: Labels<'_> = &[];
    e.gauge("vroom_sessions", "Janus API sessions.", &[(none, c.sessions)]);
    e.gauge("vroom_handles", "Plugin handles attached to sessions.", &[(none, c.handles)]);
    e.gauge("vroom_rooms", "VideoRoom rooms.", &[(none, c.rooms)]);
    e.gauge(
        "vroom_participants",
        "VideoRoom publisher-role participants, publishing or not.",
        &[(none, c.participants)],
    );
    e.gauge("vroom_publishers", "VideoRoom publishers whose media is negotiated or up.", &[(none, c.publishers)]);
    e.gauge("vroom_subscribers", "VideoRoom subscriptions.", &[(none, c.subscribers)]);
    e.gauge(
        "vroom_event_queue_depth",
        "Events waiting in the sessions' queues for their clients.",
        &[(none, c.queued_events)],
    );
    e.counter(
        "vroom_events_dropped_total",
        "Events dropped for a client a whole queue behind (its session is then closed).",
        &[(&[("reason", "client_too_slow")], crate::sync::queue::DROPPED_FULL.load(Relaxed))],
    );
    process_metrics(&mut e, &a);
    if let Some(m) = media {
        media_metrics(&mut e, m);
    }
    recording_metrics(&mut e);
    lock_metrics(&mut e);
    e.into_text()
}

/// The process, under the names Prometheus's client libraries give it.
fn process_metrics(e: &mut Exposition, a: &Accounting) {
    let p = &a.process;
    let none: Labels<'_> = &[];
    e.gauge("process_open_fds", "Open file descriptors.", &[(none, p.open_fds)]);
    e.gauge("process_threads", "Threads of the process.", &[(none, p.threads)]);
    e.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", &[(none, p.resident_bytes)]);
    e.counter_seconds("process_cpu_seconds_total", "User and system CPU time spent.", p.cpu.as_secs_f64());
    if let Some(tasks) = a.tokio_tasks {
        e.gauge("vroom_tokio_tasks", "Tasks alive on the signalling runtime.", &[(none, tasks)]);
    }
    if let Some(m) = &a.media {
        e.gauge(
            "vroom_media_legs_alive",
            "PeerConnection legs in memory, open or not yet freed.",
            &[(none, m.legs_alive)],
        );
        e.gauge("vroom_media_timers", "PeerConnections with a timer pending in the media shards.", &[(none, m.timers)]);
        e.gauge(
            "vroom_media_routes",
            "ICE username fragments and peer addresses the media loop routes by.",
            &[(none, m.routes)],
        );
    }
}

fn media_metrics(e: &mut Exposition, media: &MediaEngine) {
    let s = media.stats();
    let none: Labels<'_> = &[];
    let (connecting, connected) = media.peer_connections();
    e.gauge(
        "vroom_peer_connections",
        "Open PeerConnections by state.",
        &[(&[("state", "connecting")], connecting), (&[("state", "connected")], connected)],
    );
    let n = |a: &std::sync::atomic::AtomicU64| a.load(Relaxed);
    let news = media.news();
    let inbox = news.stats();
    e.gauge(
        "vroom_media_news_waiting",
        "PeerConnections whose news (up, media, down) waits for the core to take it.",
        &[(none, news.len() as u64)],
    );
    e.counter(
        "vroom_media_news_total",
        "PeerConnection reports from the packet path to the core: all posted, and those folded into news already waiting.",
        &[(&[("fate", "posted")], inbox.posted), (&[("fate", "merged")], inbox.merged)],
    );
    e.counter("vroom_packets_received_total", "RTP packets received from publishers.", &[(none, n(&s.received))]);
    e.counter("vroom_packets_forwarded_total", "RTP packets sent to subscribers.", &[(none, n(&s.forwarded))]);
    e.counter(
        "vroom_packets_handed_total",
        "Publishers' packets handed from their shard to another that runs subscribers of them (once per receiving shard).",
        &[(none, n(&s.handed))],
    );
    e.counter(
        "vroom_received_bytes_total",
        "Bytes of every datagram received on the media socket.",
        &[(none, n(&s.bytes_received))],
    );
    e.counter(
        "vroom_forwarded_bytes_total",
        "Bytes of the RTP packets sent to subscribers.",
        &[(none, n(&s.bytes_forwarded))],
    );
    let reasons: Vec<[(&str, &str); 1]> = DropReason::ALL.iter().map(|r| [("reason", r.label())]).collect();
    let dropped: Vec<(Labels<'_>, u64)> =
        reasons.iter().zip(DropReason::ALL).map(|(l, r)| (&l[..], n(&s.dropped[r as usize]))).collect();
    e.counter("vroom_packets_dropped_total", "Datagrams the packet path dropped, by reason.", &dropped);
    e.counter("vroom_nacks_received_total", "Packets subscribers asked for again (NACK).", &[(none, n(&s.nacked))]);
    e.counter("vroom_packets_resent_total", "NACKed packets resent from the history.", &[(none, n(&s.resent))]);
    e.counter(
        "vroom_keyframe_requests_sent_total",
        "Keyframe requests (PLI) sent to publishers.",
        &[(none, n(&s.pli_sent))],
    );
    e.counter("vroom_remb_sent_total", "Bitrate caps (REMB) sent to publishers.", &[(none, n(&s.remb_sent))]);
    e.histogram_us(
        "vroom_forward_latency_seconds",
        "From a publisher's datagram arriving to a subscriber's copy going to the kernel.",
        MEDIA_MAX_POW,
        &[(none, &s.latency())],
    );
    e.histogram_us(
        "vroom_media_loop_lag_seconds",
        "How late the media loop ran a PeerConnection's timer.",
        MEDIA_MAX_POW,
        &[(none, &s.loop_lag_us.snapshot())],
    );
}

/// The recorder's counts, all zero until the first recording.
fn recording_metrics(e: &mut Exposition) {
    let s = crate::record::stats().unwrap_or_default();
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
    e.counter(
        "vroom_recorded_packets_total",
        "RTP packets of recordings: written to their file, or dropped because the queue to the writer was full.",
        &[(&[("result", "written")], n(&s.packets_written)), (&[("result", "dropped")], n(&s.packets_dropped))],
    );
    e.counter(
        "vroom_recordings_failed_total",
        "Recordings ended because their file could not be created or written (each logged).",
        &[(&[], n(&s.failed))],
    );
}

fn lock_metrics(e: &mut Exposition) {
    let levels = WATCH.level_stats();
    let names: Vec<[(&str, &str); 1]> = levels.iter().map(|l| [("level", l.name)]).collect();
    e.histogram_us(
        "vroom_lock_wait_seconds",
        "Time waited to take an ordered lock, by level of the lock order.",
        LOCK_MAX_POW,
        &names.iter().zip(&levels).map(|(n, l)| (&n[..], &l.wait_us)).collect::<Vec<_>>(),
    );
    e.histogram_us(
        "vroom_lock_hold_seconds",
        "Time an ordered lock was held, by level of the lock order.",
        LOCK_MAX_POW,
        &names.iter().zip(&levels).map(|(n, l)| (&n[..], &l.hold_us)).collect::<Vec<_>>(),
    );
    let mut stalls = Vec::new();
    for l in &levels {
        stalls.push(([("level", l.name), ("state", "held")], l.held_too_long));
        stalls.push(([("level", l.name), ("state", "waited")], l.waited_too_long));
    }
    e.counter(
        "vroom_lock_watchdog_total",
        "Ordered locks held or waited for longer than the watchdog's threshold (each logged once).",
        &stalls.iter().map(|(l, v)| (&l[..], *v)).collect::<Vec<_>>(),
    );
}
