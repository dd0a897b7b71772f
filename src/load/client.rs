//! A Janus API client over one WebSocket (`janus-protocol`), for any Janus-API server. Many
//! requests may be in flight at once: a reader task hands each reply to the request that
//! carries its transaction, and everything else (`webrtcup`, `hangup`, plugin events) to the
//! client's event stream. Every request is timed ([`Requests`]); one with no answer after
//! [`UNANSWERED`] counts as unanswered, the figure a stalled server shows first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::reception::histogram;

/// A request with no answer after this long is unanswered (it may still come later).
pub const UNANSWERED: Duration = Duration::from_secs(5);
/// How long a request waits for its answer before giving up.
pub const GIVE_UP: Duration = Duration::from_secs(30);

/// What went wrong with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestError {
    /// The server answered with a Janus error (`janus: error`, or a plugin's `error_code`).
    Janus(u64, String),
    /// No answer within [`GIVE_UP`].
    Timeout,
    /// The WebSocket is closed.
    Closed,
    /// The answer was not what the request expects.
    Unexpected(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Janus(code, reason) => write!(f, "error {code}: {reason}"),
            RequestError::Timeout => write!(f, "no answer in {} s", GIVE_UP.as_secs()),
            RequestError::Closed => write!(f, "the connection is closed"),
            RequestError::Unexpected(m) => write!(f, "unexpected answer: {m}"),
        }
    }
}

/// How requests fared, by name (`create`, `attach`, `join`, ...), shared by every client of a
/// run.
#[derive(Default)]
pub struct Requests {
    by_name: Mutex<HashMap<String, hdrhistogram::Histogram<u64>>>,
    /// Requests with no answer after [`UNANSWERED`] (answered later, or never).
    pub unanswered: AtomicU64,
    pub errors: AtomicU64,
    pub sent: AtomicU64,
}

impl Requests {
    fn record(&self, name: &str, took: Duration) {
        let mut m = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        let h = m.entry(name.to_string()).or_insert_with(histogram);
        let _ = h.record((took.as_micros() as u64).max(1));
    }

    /// Takes the latencies recorded so far (µs), by request name.
    pub fn take(&self) -> HashMap<String, hdrhistogram::Histogram<u64>> {
        std::mem::take(&mut *self.by_name.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

type Waiters = Arc<Mutex<HashMap<String, Waiter>>>;

struct Waiter {
    /// The first answer (a reply, or the `ack` of an asynchronous request).
    reply: Option<oneshot::Sender<Value>>,
    /// The event an asynchronous plugin request is answered with.
    event: Option<oneshot::Sender<Value>>,
}

/// One WebSocket to the server.
pub struct Client {
    out: mpsc::UnboundedSender<Message>,
    waiters: Waiters,
    next: AtomicU64,
    requests: Arc<Requests>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// A Janus error in a reply (`janus: error`) or in a plugin's data (`error_code`).
fn janus_error(m: &Value) -> Option<RequestError> {
    if m["janus"] == "error" {
        let e = &m["error"];
        return Some(RequestError::Janus(e["code"].as_u64().unwrap_or(0), e["reason"].as_str().unwrap_or("").into()));
    }
    let data = &m["plugindata"]["data"];
    data.get("error_code")
        .map(|code| RequestError::Janus(code.as_u64().unwrap_or(0), data["error"].as_str().unwrap_or("").to_string()))
}

impl Client {
    /// Connects to `url`; events that answer no request go to the returned receiver.
    pub async fn connect(
        url: &str,
        requests: Arc<Requests>,
    ) -> Result<(Client, mpsc::UnboundedReceiver<Value>), String> {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut().insert("Sec-WebSocket-Protocol", "janus-protocol".parse().expect("a header value"));
        let (socket, _) =
            tokio_tungstenite::connect_async_with_config(req, None, true).await.map_err(|e| e.to_string())?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
        let writer = tokio::spawn(async move {
            while let Some(m) = outgoing.recv().await {
                if sink.send(m).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let (events_tx, events) = mpsc::unbounded_channel();
        let waiters: Waiters = Arc::default();
        let w = waiters.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                let Message::Text(text) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                if let Some(v) = deliver(&w, v) {
                    let _ = events_tx.send(v);
                }
            }
            // Closed: every waiting request fails at once.
            w.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        Ok((Client { out, waiters, next: AtomicU64::new(1), requests, reader, writer }, events))
    }

    fn send(&self, mut msg: Value, wants_event: bool) -> (oneshot::Receiver<Value>, Option<oneshot::Receiver<Value>>) {
        let txn = format!("t{}", self.next.fetch_add(1, Relaxed));
        msg["transaction"] = txn.clone().into();
        let (reply_tx, reply) = oneshot::channel();
        let (event_tx, event) = if wants_event {
            let (t, r) = oneshot::channel();
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(txn, Waiter { reply: Some(reply_tx), event: event_tx });
        self.requests.sent.fetch_add(1, Relaxed);
        let _ = self.out.send(Message::Text(msg.to_string().into()));
        (reply, event)
    }

    async fn wait(&self, name: &str, start: Instant, mut rx: oneshot::Receiver<Value>) -> Result<Value, RequestError> {
        // Counted as unanswered the moment it passes 5 s, so a request still stuck when the run
        // ends counts too.
        let answer = match tokio::time::timeout(UNANSWERED, &mut rx).await {
            Ok(a) => Ok(a),
            Err(_) => {
                self.requests.unanswered.fetch_add(1, Relaxed);
                tokio::time::timeout(GIVE_UP - UNANSWERED, rx).await
            }
        };
        let r = match answer {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(RequestError::Closed),
            Err(_) => Err(RequestError::Timeout),
        };
        if let Ok(v) = &r {
            self.requests.record(name, start.elapsed());
            if let Some(e) = janus_error(v) {
                self.requests.errors.fetch_add(1, Relaxed);
                return Err(e);
            }
        }
        r
    }

    /// Sends a request and waits for its reply; `name` is what its latency is recorded under.
    pub async fn request(&self, name: &str, msg: Value) -> Result<Value, RequestError> {
        let start = Instant::now();
        let (reply, _) = self.send(msg, false);
        self.wait(name, start, reply).await
    }

    /// Creates a session; returns its id.
    pub async fn create(&self) -> Result<u64, RequestError> {
        let r = self.request("create", json!({ "janus": "create" })).await?;
        r["data"]["id"].as_u64().ok_or_else(|| RequestError::Unexpected(r.to_string()))
    }

    /// Attaches `plugin`; returns the handle id.
    pub async fn attach(&self, session: u64, plugin: &str) -> Result<u64, RequestError> {
        let r = self.request("attach", json!({ "janus": "attach", "session_id": session, "plugin": plugin })).await?;
        r["data"]["id"].as_u64().ok_or_else(|| RequestError::Unexpected(r.to_string()))
    }

    pub async fn destroy(&self, session: u64) -> Result<Value, RequestError> {
        self.request("destroy", json!({ "janus": "destroy", "session_id": session })).await
    }

    pub async fn keepalive(&self, session: u64) -> Result<Value, RequestError> {
        self.request("keepalive", json!({ "janus": "keepalive", "session_id": session })).await
    }

    /// A plugin request answered at once (`success` with plugin data).
    pub async fn message(&self, name: &str, session: u64, handle: u64, body: Value) -> Result<Value, RequestError> {
        let msg = json!({ "janus": "message", "session_id": session, "handle_id": handle, "body": body });
        self.request(name, msg).await
    }

    /// A plugin request answered by an event (after an `ack`): returns the event. Its latency
    /// is recorded under `name` to the event; the ack's under `ack`.
    pub async fn message_async(
        &self,
        name: &str,
        session: u64,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<Value, RequestError> {
        let mut msg = json!({ "janus": "message", "session_id": session, "handle_id": handle, "body": body });
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        let start = Instant::now();
        let (reply, event) = self.send(msg, true);
        let first = self.wait("ack", start, reply).await?;
        if first["janus"] != "ack" {
            return Ok(first); // answered at once after all
        }
        self.wait(name, start, event.expect("asked for")).await
    }
}

/// Hands `v` to the request it answers; returns it if it answers none (an event).
fn deliver(waiters: &Waiters, v: Value) -> Option<Value> {
    let Some(txn) = v["transaction"].as_str().map(str::to_string) else { return Some(v) };
    let mut w = waiters.lock().unwrap_or_else(|p| p.into_inner());
    let Some(waiter) = w.get_mut(&txn) else { return Some(v) };
    if let Some(reply) = waiter.reply.take() {
        let keep = v["janus"] == "ack" && waiter.event.is_some();
        if !keep {
            w.remove(&txn);
        }
        let _ = reply.send(v);
        return None;
    }
    if v["janus"] == "event" {
        if let Some(event) = w.remove(&txn).and_then(|waiter| waiter.event) {
            let _ = event.send(v);
            return None;
        }
    }
    Some(v)
}
