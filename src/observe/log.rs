//! Logs through `tracing`: text for people or JSON lines for log shippers, on standard output,
//! written by a thread of their own so that a log call never waits on a terminal or a pipe (it
//! may be made under a lock or on the packet path). The level can change while the server runs
//! (the admin API's `set_log_level`).
//!
//! Levels are also known by Janus's numbers (`set_log_level`, `debug_level`): 0 none, 1 fatal,
//! 2 error, 3 warning, 4 info, 5 verbose, 6 huge, 7 debug.

use std::sync::atomic::{AtomicU8, Ordering};

use serde::Deserialize;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Registry;

/// How each line is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-12-06T21:56:29.123Z  INFO vroom::api: session created session=…`
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// A `tracing` filter directive (`info`, `vroom=debug,rtc=warn`, ...) for a Janus level number.
pub fn directive_for_janus_level(level: u8) -> &'static str {
    match level {
        0 => "off",
        1 | 2 => "error",
        3 => "warn",
        4 => "info",
        5 | 6 => "debug",
        _ => "trace",
    }
}

/// Janus's number for the most verbose `tracing` level a directive lets through.
fn janus_level_of(filter: &EnvFilter) -> u8 {
    use tracing::level_filters::LevelFilter;
    match filter.max_level_hint() {
        Some(LevelFilter::OFF) => 0,
        Some(LevelFilter::ERROR) => 2,
        Some(LevelFilter::WARN) => 3,
        Some(LevelFilter::INFO) => 4,
        Some(LevelFilter::DEBUG) => 5,
        _ => 7,
    }
}

/// The running logger: keeps the writer thread alive and changes the level.
pub struct Logging {
    filter: reload::Handle<EnvFilter, Registry>,
    janus_level: AtomicU8,
    /// Dropping the guard flushes and stops the writer thread (held lock-free: no lock to order).
    writer: arc_swap::ArcSwapOption<tracing_appender::non_blocking::WorkerGuard>,
}

impl Logging {
    /// Installs the process's logger. `directive` is an `EnvFilter` directive (a level, or
    /// per-module levels); an invalid one is an error naming it.
    pub fn install(directive: &str, format: LogFormat) -> Result<Logging, String> {
        let filter = EnvFilter::try_new(directive).map_err(|e| format!("log level {directive:?}: {e}"))?;
        let janus_level = AtomicU8::new(janus_level_of(&filter));
        let (filter, handle) = reload::Layer::new(filter);
        let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
        let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
        let registry = tracing_subscriber::registry().with(filter);
        match format {
            LogFormat::Text => registry.with(fmt).try_init(),
            LogFormat::Json => registry.with(fmt.json().flatten_event(true)).try_init(),
        }
        .map_err(|e| e.to_string())?;
        Ok(Logging { filter: handle, janus_level, writer: arc_swap::ArcSwapOption::from_pointee(guard) })
    }

    /// Sets the level by Janus's number (0–7), as the admin API's `set_log_level` does.
    pub fn set_janus_level(&self, level: u8) -> Result<(), String> {
        let filter = EnvFilter::try_new(directive_for_janus_level(level)).map_err(|e| e.to_string())?;
        self.filter.reload(filter).map_err(|e| e.to_string())?;
        self.janus_level.store(level, Ordering::Relaxed);
        tracing::info!(level, "log level set");
        Ok(())
    }

    /// Writes out every line logged so far and stops the writer; for a process about to exit
    /// (`std::process::exit` runs no destructors). Later lines are lost.
    pub fn flush_and_stop(&self) {
        drop(self.writer.swap(None));
    }

    /// The level by Janus's number.
    pub fn janus_level(&self) -> u8 {
        self.janus_level.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn janus_levels_round_trip_through_directives() {
        for (janus, back) in [(0, 0), (1, 2), (2, 2), (3, 3), (4, 4), (5, 5), (7, 7)] {
            let filter = EnvFilter::try_new(directive_for_janus_level(janus)).unwrap();
            assert_eq!(janus_level_of(&filter), back, "level {janus}");
        }
    }
}
