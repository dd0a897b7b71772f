//! The core under contention: `listparticipants` latency in a room of 100 publishers while other
//! threads make participants join, publish, come up, unpublish, leave and detach in a loop.
//!
//! `cargo bench --bench contention` prints criterion's estimates for an idle room and for a room
//! under churn, then p50/p99 over 20,000 timed calls under churn and the churn rate reached;
//! each with the lock watch on (production's default: every ordered lock timed for the
//! watchdog and `/metrics`) and off (`lock_watchdog_ms = 0`), in the same run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

#[path = "../model-tests/common/mod.rs"]
mod common;

use common::{av_publish, Stage, World, ROOM};
use vroom::core::room::{JoinPublisher, RoomConfig};
use vroom::core::Plugin;
use vroom::observe::locks::WATCH;
use vroom::sync::ParkingLot;

const PARTICIPANTS: u64 = 100;
const CHURN_THREADS: usize = 1;

fn room() -> World<ParkingLot> {
    let w = World::<ParkingLot>::new(RoomConfig { max_publishers: 1000, ..RoomConfig::default() });
    for id in 1..=PARTICIPANTS {
        w.publisher(id, if id % 5 == 0 { Stage::Active } else { Stage::Joined });
    }
    w
}

/// Background threads cycling a participant through join → publish → media up → unpublish →
/// leave → detach until dropped. Counts completed cycles.
struct Churn {
    stop: Arc<AtomicBool>,
    cycles: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Churn {
    fn start(w: &World<ParkingLot>) -> Churn {
        let stop = Arc::new(AtomicBool::new(false));
        let cycles = Arc::new(AtomicU64::new(0));
        let threads = (0..CHURN_THREADS)
            .map(|n| {
                let (core, stop, cycles) = (w.core.clone(), stop.clone(), cycles.clone());
                std::thread::spawn(move || {
                    let session = core.create_session(None, 1).unwrap();
                    let id = 10_000 + n as u64;
                    while !stop.load(Relaxed) {
                        let h = core.attach(session.id, Plugin::VideoRoom, None).unwrap();
                        let join = JoinPublisher { room: ROOM, id: Some(id), ..Default::default() };
                        core.join_publisher(&h, join, None).unwrap();
                        core.publish(&h, av_publish(), None).unwrap();
                        core.media_up(&h).unwrap();
                        core.unpublish(&h, None).unwrap();
                        core.leave(&h, None).unwrap();
                        core.detach(session.id, h.id).unwrap();
                        session.events().drain();
                        cycles.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        Churn { stop, cycles, threads }
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

fn list_participants(c: &mut Criterion) {
    let mut g = c.benchmark_group("listparticipants_100");
    let w = room();
    for watched in [true, false] {
        WATCH.set_enabled(watched);
        let name = |what: &str| if watched { what.to_string() } else { format!("{what}_unwatched") };
        g.bench_function(name("idle"), |b| b.iter(|| w.core.list_participants(ROOM).unwrap()));
        let churn = Churn::start(&w);
        g.bench_function(name("under_churn"), |b| b.iter(|| w.core.list_participants(ROOM).unwrap()));
        drop(churn);
    }
    WATCH.set_enabled(true);
    g.finish();
}

/// p50 / p99 of single calls under churn (criterion reports means and medians of batches).
fn percentiles(watched: bool) {
    WATCH.set_enabled(watched);
    let w = room();
    let churn = Churn::start(&w);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let before = churn.cycles.load(Relaxed);
    let mut lat: Vec<Duration> = (0..20_000)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(w.core.list_participants(ROOM).unwrap());
            t.elapsed()
        })
        .collect();
    let elapsed = started.elapsed();
    let cycles = churn.cycles.load(Relaxed) - before;
    drop(churn);
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "listparticipants ({PARTICIPANTS} participants) under churn of {CHURN_THREADS} thread(s), lock watch {}: \
         p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs; churn {:.0} join→leave cycles/s",
        if watched { "on" } else { "off" },
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        lat.last().unwrap().as_secs_f64() * 1e6,
        cycles as f64 / elapsed.as_secs_f64()
    );
}

criterion_group!(benches, list_participants);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !std::env::args().any(|a| a == "--list") {
        for watched in [true, false, true, false] {
            percentiles(watched);
        }
    }
}
