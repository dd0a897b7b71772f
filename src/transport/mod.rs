//! The transports: the Janus API over WebSocket and HTTP, and the admin API, on tokio. They
//! only move JSON between sockets and [`crate::api::Api`]; no room state lives here.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;

use crate::api::Api;
use crate::media::{LayerNews, MediaEngine, MediaNews, PeerInbox, PeerNews, SlowNews, TalkNews};
use crate::sync::ParkingLot;

mod http;
mod ws;

/// vroom's own page: join room 1234 with the camera, see the others (served at `/`).
const PAGE: &str = include_str!("page.html");

/// What every connection task shares.
pub struct App {
    pub api: Api<ParkingLot>,
    pub admin_secret: String,
    pub max_message_bytes: usize,
    /// Ids for WebSocket connections (0 is the HTTP transport).
    pub next_transport: AtomicU64,
    /// The media engine, for `/metrics` (none when the core runs on another socket factory).
    pub media: Option<Arc<MediaEngine>>,
}

/// The addresses the server listens on (useful when the configuration asked for port 0).
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    pub websocket: SocketAddr,
    pub http: SocketAddr,
    pub admin: SocketAddr,
}

/// Where to listen.
pub struct Listen {
    pub websocket: SocketAddr,
    pub http: SocketAddr,
    pub http_base: String,
    pub admin: SocketAddr,
    /// Where the admin listener serves `/metrics` (`None`: nowhere).
    pub metrics_path: Option<String>,
}

/// Binds every listener and starts serving; returns the bound addresses. Also starts the
/// session-timeout sweep.
pub async fn start(app: Arc<App>, listen: Listen) -> std::io::Result<Bound> {
    let base = listen.http_base.trim_end_matches('/').to_string();
    let mut http = Router::new();
    if !base.is_empty() {
        // vroom's own page at the root (`page.html`), pointed at this API path.
        let page = axum::response::Html(PAGE.replace("BASE_PATH", &base));
        http = http.route("/", get(move || async move { page }));
    }
    let http = http
        .route(&base, any(http::root))
        .route(&format!("{base}/info"), any(http::info))
        .route(&format!("{base}/{{session}}"), any(http::session))
        .route(&format!("{base}/{{session}}/{{handle}}"), any(http::handle))
        .layer(axum::middleware::map_response(http::cors))
        .with_state(app.clone());
    let websocket = Router::new().route("/", get(ws::janus)).with_state(app.clone());
    let mut admin = Router::new().route("/", get(ws::admin));
    if let Some(path) = &listen.metrics_path {
        admin = admin.route(path, get(metrics));
    }
    let admin = admin.with_state(app.clone());
    let bound = Bound {
        websocket: serve(listen.websocket, websocket).await?,
        http: serve(listen.http, http).await?,
        admin: serve(listen.admin, admin).await?,
    };
    tokio::spawn(sweep(app));
    tokio::spawn(return_freed_memory());
    Ok(bound)
}

/// Every ten seconds, hands memory freed since back to the system. glibc keeps what a burst of
/// load freed in its per-thread arenas: after a wave of PeerConnections left, the resident size
/// stayed 3 to 6 % above where it started on some runs of the soak, and not on others.
async fn return_freed_memory() {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim takes no pointers; it only releases free heap pages.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

async fn serve(addr: SocketAddr, router: Router) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // Replies are small and latency-bound: never wait for Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(%bound, "listener stopped: {e}");
        }
    });
    Ok(bound)
}

/// Prometheus's scrape.
async fn metrics(axum::extract::State(app): axum::extract::State<Arc<App>>) -> impl axum::response::IntoResponse {
    let text = crate::observe::metrics::render(&app.api.core, app.media.as_deref());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// Hands the media engine's news to the core (`webrtcup`, `media`, a failed PeerConnection):
/// everything waiting each time the shard wakes it, each leg's news in the order a leg lives.
pub async fn peer_news(app: Arc<App>, inbox: Arc<PeerInbox>) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let w = wake.clone();
    inbox.set_waker(Arc::new(move || w.notify_one()));
    let core = &app.api.core;
    loop {
        // Drain before waiting: news posted before the waker was set is not missed, and a post
        // that finds the inbox empty after this drain leaves a permit for the wait below.
        for (_, news) in inbox.drain() {
            let PeerNews { owner, up, media, layers, talking, slow, down } = news;
            let _doing = crate::observe::locks::doing(|| format!("media news of handle {}", owner.handle));
            // A handle that is gone by now has nothing to hear.
            if up {
                tracing::info!(session = owner.session, handle = owner.handle, "webrtcup");
                let _ = core.peer_up(owner);
            }
            for MediaNews { mid, kind, receiving } in media {
                tracing::info!(session = owner.session, handle = owner.handle, mid, ?kind, receiving, "media");
                let _ = core.peer_media(owner, mid, kind, receiving);
            }
            for LayerNews { mid, svc, substream, temporal } in layers {
                let _ = core.peer_layer(owner, mid, svc, substream, temporal);
            }
            for TalkNews { mid, talking, level_sum, packets } in talking {
                tracing::info!(session = owner.session, handle = owner.handle, mid, talking, "talking");
                let _ = core.peer_talking(owner, &mid, talking, level_sum, packets);
            }
            for SlowNews { mid, kind, uplink, lost } in slow {
                let _ = core.peer_slowlink(owner, mid, kind, uplink, lost);
            }
            if let Some(reason) = down {
                tracing::info!(session = owner.session, handle = owner.handle, reason, "PeerConnection down");
                let _ = core.peer_down(owner, &reason);
            }
        }
        wake.notified().await;
    }
}

/// Destroys idle sessions (each gets its `timeout` event first), once a second.
async fn sweep(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let _doing = crate::observe::locks::doing(|| "session timeout sweep".into());
        for session in app.api.core.sweep_timeouts() {
            tracing::info!(session, "session timed out");
        }
    }
}
