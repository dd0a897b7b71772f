//! The vroom server: the Janus API over WebSocket and HTTP, and the admin API, on the core.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::io::Write;

use clap::Parser;

use vroom::api::{Api, ApiConfig};
use vroom::config::Config;
use vroom::media::{MediaEngine, SystemClock};
use vroom::observe::locks::WATCH;
use vroom::observe::log::{LogFormat, Logging};
use vroom::transport::{self, App, Listen};
use vroom::ProdCore;

/// A WebRTC SFU that speaks the Janus Gateway API.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TOML configuration file; every key has a default (see README.md).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Log level or per-module directives (`debug`, `vroom=debug,rtc=warn`); wins over
    /// `RUST_LOG`, which wins over `[general] log_level`.
    #[arg(long)]
    log_level: Option<String>,
    /// `text` for people, `json` (one object a line) for log shippers; wins over `[general] log_format`.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

/// Logs why the server cannot start, flushes the log, and exits.
fn fail(logging: Arc<Logging>, what: &str, e: impl std::fmt::Display) -> ! {
    tracing::error!("{what}: {e}");
    logging.flush_and_stop();
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let config = match &args.config {
        Some(path) => Config::load(path),
        None => Ok(Config::default()),
    };
    let general = config.as_ref().map(|c| c.general.clone()).unwrap_or_default();
    let directive = args.log_level.clone().or_else(|| std::env::var("RUST_LOG").ok()).unwrap_or(general.log_level);
    let logging = match Logging::install(&directive, args.log_format.unwrap_or(general.log_format)) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            // No logger yet: standard error is all there is.
            let _ = writeln!(std::io::stderr(), "vroom: {e}");
            std::process::exit(2);
        }
    };
    let config = config.unwrap_or_else(|e| fail(logging.clone(), "bad configuration", e));
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! { fail(logging.clone(), what, e) };
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
    let media =
        MediaEngine::start(config.media.settings()).unwrap_or_else(|e| fail("cannot open the media socket", &e));
    let media_addrs: Vec<String> = media.shard_addrs().iter().map(|a| format!("udp://{a}")).collect();
    let peer_news = media.news();
    let local_ip = media.local_ip();
    let media = Arc::new(media);
    let core = Arc::new(ProdCore::new(config.core(seed), Arc::new(SystemClock::default()), media.clone()));
    for room in &config.videoroom.rooms {
        if let Err(e) = core.create_room(Some(room.id), room.room_config(), config.videoroom.admin_key.as_deref()) {
            fail(&format!("static room {}", room.id), &e);
        }
    }
    let mut api = Api::new(
        core,
        ApiConfig {
            api_secret: config.general.api_secret.clone(),
            token_auth: config.general.token_auth,
            server_name: config.general.server_name.clone(),
            local_ip: local_ip.to_string(),
        },
    );
    api.media = Some(media.clone());
    api.logging = Some(logging.clone());
    let app = Arc::new(App {
        api,
        admin_secret: config.admin.secret.clone(),
        max_message_bytes: config.general.max_message_bytes,
        next_transport: AtomicU64::new(1),
        media: Some(media),
    });
    match config.general.lock_watchdog_ms {
        0 => WATCH.set_enabled(false), // no timing of the locks at all
        ms => WATCH
            .start_watchdog(Duration::from_millis(ms))
            .unwrap_or_else(|e| fail("cannot start the lock watchdog", &e)),
    }
    let listen = Listen {
        websocket: config.websocket.listen,
        http: config.http.listen,
        http_base: config.http.base_path.clone(),
        admin: config.admin.listen,
        metrics_path: Some(config.admin.metrics_path.clone()).filter(|p| !p.is_empty()),
    };
    let bound = transport::start(app.clone(), listen).await.unwrap_or_else(|e| fail("cannot listen", &e));
    tokio::spawn(transport::peer_news(app.clone(), peer_news));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        websocket = %format_args!("ws://{}", bound.websocket),
        http = %format_args!("http://{}{}", bound.http, config.http.base_path),
        admin = %format_args!("ws://{}", bound.admin),
        media = %media_addrs.join(" "),
        "listening"
    );
    for r in app.api.core.list_rooms(config.videoroom.admin_key.as_deref()) {
        tracing::info!(room = r.room, description = %r.config.description_or_default(r.room), "room ready");
    }
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping (interrupted)");
}
