//! Recordings of publishers' streams in Janus's MJR format, so that Janus's own `janus-pp-rec`
//! makes WebM, Opus or MP4 files of them (`mjr`), written by a thread of their own off the
//! packet path (`writer`).

pub mod mjr;
mod writer;

pub use writer::{open, stats, Nowhere, Recorder, RecorderStats, Recording, QUEUE_BYTES};
