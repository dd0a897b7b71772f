//! The Janus API over HTTP: REST requests at `<base>`, `<base>/<session>`,
//! `<base>/<session>/<handle>`, and long-polling for events with `GET <base>/<session>`.
//! Every API reply, errors included, is HTTP 200, as in Janus.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::App;
use crate::api::{self, render};

/// All HTTP sessions belong to one transport: they end by timeout or `destroy`, never because a
/// connection closed.
pub use crate::core::ids::HTTP_TRANSPORT;

/// How long a long-poll waits for an event before answering `keepalive`.
const LONG_POLL: Duration = Duration::from_secs(30);

fn janus_reply(v: Value) -> Response {
    Json(v).into_response()
}

fn transport_error(reason: String) -> Response {
    janus_reply(json!({ "janus": "error", "error": { "code": 450, "reason": reason } }))
}

/// Runs one request addressed by the URL path (which overrides ids in the body).
async fn request(app: Arc<App>, method: Method, body: Body, session: Option<u64>, handle: Option<u64>) -> Response {
    if method != Method::POST {
        return transport_error(format!("Unsupported method {method}"));
    }
    let bytes = match to_bytes(body, app.max_message_bytes).await {
        Ok(b) => b,
        Err(_) => return transport_error(format!("Request body larger than {} bytes", app.max_message_bytes)),
    };
    let mut msg = match api::parse(&String::from_utf8_lossy(&bytes)) {
        Ok(v) => v,
        Err(error) => return janus_reply(error),
    };
    let Some(obj) = msg.as_object_mut() else { return janus_reply(api::not_an_object()) };
    obj.remove("session_id");
    obj.remove("handle_id");
    if let Some(s) = session {
        obj.insert("session_id".into(), s.into());
    }
    if let Some(h) = handle {
        obj.insert("handle_id".into(), h.into());
    }
    janus_reply(app.api.handle(HTTP_TRANSPORT, &msg).reply)
}

pub async fn root(State(app): State<Arc<App>>, method: Method, body: Body) -> Response {
    if method == Method::GET {
        return StatusCode::NOT_FOUND.into_response();
    }
    request(app, method, body, None, None).await
}

pub async fn info(State(app): State<Arc<App>>, method: Method) -> Response {
    if method != Method::GET {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let transaction = format!("vroom-{}", app.next_transport.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    janus_reply(app.api.handle(HTTP_TRANSPORT, &json!({ "janus": "info", "transaction": transaction })).reply)
}

#[derive(Deserialize)]
pub struct Poll {
    maxev: Option<usize>,
}

pub async fn session(
    State(app): State<Arc<App>>,
    Path(sid): Path<u64>,
    Query(poll): Query<Poll>,
    method: Method,
    body: Body,
) -> Response {
    if method == Method::GET {
        return long_poll(app, sid, poll.maxev.unwrap_or(1).max(1)).await;
    }
    request(app, method, body, Some(sid), None).await
}

pub async fn handle(
    State(app): State<Arc<App>>,
    Path((sid, hid)): Path<(u64, u64)>,
    method: Method,
    body: Body,
) -> Response {
    if method == Method::GET {
        return StatusCode::NOT_FOUND.into_response();
    }
    request(app, method, body, Some(sid), Some(hid)).await
}

/// Waits up to 30 s for the session's events; one event is a bare object, `maxev > 1` an array.
/// The poll counts as activity on the session.
async fn long_poll(app: Arc<App>, sid: u64, maxev: usize) -> Response {
    let Ok(session) = app.api.core.session(sid) else { return StatusCode::NOT_FOUND.into_response() };
    let wake = Arc::new(Notify::new());
    let waker = wake.clone();
    session.events().set_waker(Arc::new(move || waker.notify_one()));
    let deadline = tokio::time::Instant::now() + LONG_POLL;
    loop {
        let events: Vec<Value> =
            std::iter::from_fn(|| session.events().pop()).take(maxev).map(|e| render::event(sid, &e)).collect();
        if !events.is_empty() {
            return janus_reply(if maxev == 1 {
                events.into_iter().next().unwrap_or_default()
            } else {
                Value::Array(events)
            });
        }
        if session.events().is_closed() || tokio::time::timeout_at(deadline, wake.notified()).await.is_err() {
            return janus_reply(json!({ "janus": "keepalive" }));
        }
    }
}

/// CORS on every response, as Janus's HTTP transport does by default.
pub async fn cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    response
}
