//! The recorder: one thread that writes every recording's file. The packet path only queues a
//! copy of each packet on a spool (`sync::spool`, never waiting: past [`QUEUE_BYTES`] queued, a
//! packet is dropped and counted), so a slow or full disk never slows forwarding. A file that
//! cannot be opened or written ends its recording with a log line; the others go on.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::mjr;
use crate::core::seams::{PacketSink, RecordSpec};
use crate::sync::spool::{Put, Spool};
use crate::sync::ParkingLot;

/// The most packet bytes waiting for the writer, across every recording: a few seconds of a
/// room's media. Beyond it packets are dropped rather than held.
pub const QUEUE_BYTES: usize = 32 << 20;

enum Msg {
    Open {
        id: u64,
        spec: RecordSpec,
    },
    Packet {
        id: u64,
        at: Instant,
        bytes: Vec<u8>,
    },
    Close {
        id: u64,
    },
    /// The recorder is gone: the writer ends.
    Stop,
}

/// What the recorder did, for `/metrics`.
#[derive(Default)]
pub struct RecorderStats {
    pub packets_written: AtomicU64,
    /// Packets dropped because the queue to the writer was full.
    pub packets_dropped: AtomicU64,
    /// Recordings ended by an error (a file that could not be opened or written).
    pub failed: AtomicU64,
}

/// The way to the writer thread: its spool, and the thread to wake.
#[derive(Clone)]
struct ToWriter {
    spool: Arc<Spool<Msg, ParkingLot>>,
    thread: Thread,
    stats: Arc<RecorderStats>,
}

impl ToWriter {
    /// Queues `msg` of `size` bytes; whether it was queued.
    fn put(&self, msg: Msg, size: usize) -> bool {
        match self.spool.put(msg, size) {
            Put::Queued => true,
            Put::Wake => {
                self.thread.unpark();
                true
            }
            Put::Refused => false,
        }
    }
}

/// The recorder: its writer thread starts with it, and ends when it is dropped.
pub struct Recorder {
    to: ToWriter,
    next_id: AtomicU64,
    pub stats: Arc<RecorderStats>,
}

/// One recording: the sink a publisher stream's packets go to. Dropping it closes the file.
pub struct Recording {
    id: u64,
    to: ToWriter,
}

impl Recorder {
    pub fn start() -> io::Result<Recorder> {
        let spool = Arc::new(Spool::new(QUEUE_BYTES));
        let stats = Arc::new(RecorderStats::default());
        let (sp, st) = (spool.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("vroom-recorder".into())
            .spawn(move || write_all(&sp, &st))?
            .thread()
            .clone();
        Ok(Recorder { to: ToWriter { spool, thread, stats: stats.clone() }, next_id: AtomicU64::new(1), stats })
    }

    /// A recording into `spec.path` (created, or truncated): opened by the writer, so this
    /// does no I/O and may be called under locks.
    pub fn open(&self, spec: RecordSpec) -> Recording {
        let id = self.next_id.fetch_add(1, Relaxed);
        self.to.put(Msg::Open { id, spec }, 0);
        Recording { id, to: self.to.clone() }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.to.put(Msg::Stop, 0);
    }
}

/// The process's recorder, started with the first recording.
static RECORDER: OnceLock<Option<Recorder>> = OnceLock::new();

/// A recording by the process's recorder. If its thread cannot start, nothing is recorded
/// (and that is logged once).
pub fn open(spec: RecordSpec) -> Arc<dyn PacketSink> {
    let recorder = RECORDER.get_or_init(|| {
        Recorder::start()
            .map_err(|e| tracing::error!(error = %e, "the recorder cannot start: nothing is recorded"))
            .ok()
    });
    match recorder {
        Some(r) => Arc::new(r.open(spec)),
        None => Arc::new(Nowhere),
    }
}

/// What the process's recorder did (nothing before its first recording).
pub fn stats() -> Option<Arc<RecorderStats>> {
    RECORDER.get()?.as_ref().map(|r| r.stats.clone())
}

/// A sink that drops everything.
pub struct Nowhere;

impl PacketSink for Nowhere {
    fn send(&self, _packet: &[u8]) {}
}

impl PacketSink for Recording {
    fn send(&self, packet: &[u8]) {
        let msg = Msg::Packet { id: self.id, at: Instant::now(), bytes: packet.to_vec() };
        if !self.to.put(msg, packet.len()) {
            self.to.stats.packets_dropped.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        self.to.put(Msg::Close { id: self.id }, 0);
    }
}

/// An open recording on the writer's side. Its `file` is gone once an error ended it: its
/// packets are then dropped until it is closed.
struct Open {
    spec: RecordSpec,
    file: Option<BufWriter<File>>,
    /// When its first packet came (the header is written then).
    first: Option<Instant>,
    packets: u64,
    frame: Vec<u8>,
}

impl Open {
    fn write(&mut self, at: Instant, packet: &[u8]) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else { return Err(io::ErrorKind::NotConnected.into()) };
        let first = *self.first.get_or_insert(at);
        if self.packets == 0 {
            file.write_all(&mjr::start(&self.spec, unix_us()))?;
        }
        self.frame.clear();
        let ms = at.saturating_duration_since(first).as_millis().min(u128::from(u32::MAX)) as u32;
        mjr::frame(&mut self.frame, ms, packet);
        file.write_all(&self.frame)?;
        self.packets += 1;
        Ok(())
    }
}

/// The writer thread: until its recorder is dropped.
fn write_all(spool: &Spool<Msg, ParkingLot>, stats: &RecorderStats) {
    let mut open: HashMap<u64, Open> = HashMap::new();
    let mut batch = Vec::new();
    loop {
        spool.take_all(&mut batch);
        if batch.is_empty() {
            // Buffered writes are flushed whenever the spool runs dry: a recording on disk
            // lags its media by at most what one wake-up wrote.
            for o in open.values_mut() {
                flush(o, stats);
            }
            std::thread::park();
            continue;
        }
        for msg in batch.drain(..) {
            match msg {
                Msg::Open { id, spec } => {
                    let path = spec.path.display().to_string();
                    let file = match File::create(&spec.path) {
                        Ok(f) => Some(BufWriter::with_capacity(64 << 10, f)),
                        Err(e) => {
                            tracing::error!(path, error = %e, "recording not started: its file cannot be created");
                            stats.failed.fetch_add(1, Relaxed);
                            None
                        }
                    };
                    if file.is_some() {
                        tracing::info!(path, codec = spec.codec, "recording started");
                    }
                    open.insert(id, Open { spec, file, first: None, packets: 0, frame: Vec::new() });
                }
                Msg::Packet { id, at, bytes } => {
                    // A failed recording's packets are dropped until it is closed.
                    let Some(o) = open.get_mut(&id).filter(|o| o.file.is_some()) else { continue };
                    match o.write(at, &bytes) {
                        Ok(()) => {
                            stats.packets_written.fetch_add(1, Relaxed);
                        }
                        Err(e) => fail(o, &e, stats),
                    }
                }
                Msg::Close { id } => {
                    if let Some(mut o) = open.remove(&id) {
                        flush(&mut o, stats);
                        if o.file.is_some() {
                            tracing::info!(path = %o.spec.path.display(), packets = o.packets, "recording closed");
                        }
                    }
                }
                Msg::Stop => return,
            }
        }
    }
}

fn flush(o: &mut Open, stats: &RecorderStats) {
    if let Some(Err(e)) = o.file.as_mut().map(|f| f.flush()) {
        fail(o, &e, stats);
    }
}

/// An error ends the recording: what was written stays, nothing more is.
fn fail(o: &mut Open, e: &io::Error, stats: &RecorderStats) {
    tracing::error!(path = %o.spec.path.display(), error = %e, packets = o.packets, "recording stopped: its file cannot be written");
    stats.failed.fetch_add(1, Relaxed);
    o.file = None;
}

fn unix_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::MediaKind;
    use std::path::PathBuf;

    fn spec(path: PathBuf) -> RecordSpec {
        RecordSpec {
            path,
            kind: MediaKind::Audio,
            codec: "opus".into(),
            fmtp: None,
            description: None,
            created_us: unix_us(),
        }
    }

    fn wait_for(what: impl Fn() -> bool) {
        let until = Instant::now() + std::time::Duration::from_secs(5);
        while !what() && Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn packets_are_written_as_framed_mjr_and_the_file_is_complete_once_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mjr");
        let recorder = Recorder::start().unwrap();
        let rec = recorder.open(spec(path.clone()));
        for i in 0..3u8 {
            rec.send(&[0x80, 111, 0, i]);
        }
        drop(rec);
        wait_for(|| recorder.stats.packets_written.load(Relaxed) == 3);
        wait_for(|| std::fs::metadata(&path).map_or(0, |m| m.len()) > 3 * 14);
        let file = std::fs::read(&path).unwrap();
        assert_eq!(&file[..8], mjr::MAGIC);
        let len = u16::from_be_bytes([file[8], file[9]]) as usize;
        let frames = &file[10 + len..];
        assert_eq!(frames.len(), 3 * 14);
        assert_eq!(&frames[28 + 10..], &[0x80, 111, 0, 2]);
    }

    #[test]
    fn a_file_that_cannot_be_created_fails_that_recording_only() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start().unwrap();
        let bad = recorder.open(spec(dir.path().join("no/such/dir/a.mjr")));
        let good = recorder.open(spec(dir.path().join("b.mjr")));
        bad.send(&[0x80, 111, 0, 0]);
        good.send(&[0x80, 111, 0, 0]);
        wait_for(|| recorder.stats.packets_written.load(Relaxed) == 1);
        assert_eq!(recorder.stats.failed.load(Relaxed), 1);
        assert_eq!(recorder.stats.packets_written.load(Relaxed), 1);
    }

    #[test]
    fn a_full_disk_stops_that_recording_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = Recorder::start().unwrap();
        // /dev/full takes the file's creation and fails every write with ENOSPC.
        let full = recorder.open(spec(PathBuf::from("/dev/full")));
        let good = recorder.open(spec(dir.path().join("c.mjr")));
        for i in 0..3u8 {
            full.send(&[0x80, 111, 0, i]);
            good.send(&[0x80, 111, 0, i]);
        }
        wait_for(|| recorder.stats.failed.load(Relaxed) == 1 && recorder.stats.packets_written.load(Relaxed) >= 3);
        assert_eq!(recorder.stats.failed.load(Relaxed), 1);
        drop(good);
        let c = dir.path().join("c.mjr");
        wait_for(|| std::fs::metadata(&c).map_or(0, |m| m.len()) > 3 * 14);
        let len = std::fs::read(&c).unwrap().len();
        assert!(len > 3 * 14, "the other recording has its three packets ({len} bytes)");
    }

    #[test]
    fn past_the_queue_bound_packets_are_dropped_not_held() {
        let recorder = Recorder::start().unwrap();
        let rec = recorder.open(spec(PathBuf::from("/dev/null")));
        // A packet the size of the whole bound: it cannot be queued.
        rec.send(&vec![0; QUEUE_BYTES + 1]);
        assert_eq!(recorder.stats.packets_dropped.load(Relaxed), 1);
        rec.send(&[0x80, 111, 0, 1]);
        wait_for(|| recorder.stats.packets_written.load(Relaxed) == 1);
        assert_eq!(recorder.stats.packets_written.load(Relaxed), 1);
    }
}
