//! The Janus API over WebSocket (subprotocol `janus-protocol`), and the admin API
//! (`janus-admin-protocol`). One task per connection: it answers each request, and delivers the
//! events of the sessions it owns when their queues wake it. Closing the connection destroys
//! those sessions (JCB-09/10: the core is told after the connection's state is gone, and no
//! lock is held while sending).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::Notify;

use super::App;
use crate::api::{self, render, SessionChange};
use crate::core::ids::{SessionId, TransportId};
use crate::core::Session;
use crate::sync::ParkingLot;

/// Upgrades a connection that asks for `protocol`; refuses one that does not, as Janus does.
fn upgrade(ws: WebSocketUpgrade, protocol: &'static str, app: Arc<App>, admin: bool) -> Response {
    let ws = ws.protocols([protocol]);
    if ws.selected_protocol().is_none() {
        return (StatusCode::BAD_REQUEST, format!("missing WebSocket subprotocol {protocol}")).into_response();
    }
    ws.max_message_size(app.max_message_bytes).on_upgrade(move |socket| async move {
        if admin {
            admin_connection(socket, app).await
        } else {
            connection(socket, app).await
        }
    })
}

pub async fn janus(ws: WebSocketUpgrade, State(app): State<Arc<App>>) -> Response {
    upgrade(ws, "janus-protocol", app, false)
}

pub async fn admin(ws: WebSocketUpgrade, State(app): State<Arc<App>>) -> Response {
    upgrade(ws, "janus-admin-protocol", app, true)
}

async fn connection(socket: WebSocket, app: Arc<App>) {
    let transport: TransportId = app.next_transport.fetch_add(1, Ordering::Relaxed);
    let wake = Arc::new(Notify::new());
    let mut owned: BTreeMap<SessionId, Arc<Session<ParkingLot>>> = BTreeMap::new();
    let (mut tx, mut rx) = socket.split();
    tracing::debug!(transport, "WebSocket connected");
    loop {
        tokio::select! {
            incoming = rx.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                };
                let reply = match api::parse(&text) {
                    Err(error) => error,
                    Ok(request) => {
                        let handled = app.api.handle(transport, &request);
                        match handled.change {
                            Some(SessionChange::Owned(s)) => {
                                let wake = wake.clone();
                                s.events().set_waker(Arc::new(move || wake.notify_one()));
                                owned.insert(s.id, s);
                            }
                            Some(SessionChange::Gone(id)) => {
                                owned.remove(&id);
                            }
                            None => {}
                        }
                        handled.reply
                    }
                };
                // Janus's order: an `ack` comes before the events of the request it acknowledges
                // (its async reply among them); any other reply comes after the events its
                // request caused (a `kick`'s `kicked` before its `success`).
                let ack = reply["janus"] == "ack";
                if !ack && deliver(&mut tx, &mut owned, transport).await.is_err() {
                    break;
                }
                if send(&mut tx, &reply).await.is_err() {
                    break;
                }
                if deliver(&mut tx, &mut owned, transport).await.is_err() {
                    break;
                }
            }
            _ = wake.notified() => {
                if deliver(&mut tx, &mut owned, transport).await.is_err() {
                    break;
                }
            }
        }
    }
    let _doing = crate::observe::locks::doing(|| format!("WebSocket {transport} closed"));
    for session in app.api.core.transport_gone(transport) {
        tracing::info!(session, transport, "session destroyed: its WebSocket closed");
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// How long one message may wait for a client that does not read (its TCP window is shut)
/// before the connection is dropped: a frozen client must not keep a task, a descriptor and
/// its sessions forever, and its events would only pile up meanwhile.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn send(tx: &mut Sink, value: &Value) -> Result<(), axum::Error> {
    match tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Text(value.to_string().into()))).await {
        Ok(sent) => sent,
        Err(_) => {
            tracing::warn!(seconds = SEND_TIMEOUT.as_secs(), "a WebSocket client is not reading: closing it");
            Err(axum::Error::new("the client stopped reading"))
        }
    }
}

/// Sends every ready event of the sessions this connection owns; forgets sessions that are
/// gone or were claimed by another connection.
async fn deliver(
    tx: &mut Sink,
    owned: &mut BTreeMap<SessionId, Arc<Session<ParkingLot>>>,
    transport: TransportId,
) -> Result<(), axum::Error> {
    let mut gone = Vec::new();
    for (id, s) in owned.iter() {
        for event in s.events().drain() {
            send(tx, &render::event(*id, &event)).await?;
        }
        if s.events().overflowed() {
            // The client fell a whole queue behind and lost events: drop it (its sessions go
            // with the connection) rather than let it fall further.
            tracing::warn!(session = *id, transport, "event queue overflowed: closing the WebSocket");
            return Err(axum::Error::new("event queue overflowed"));
        }
        if s.owner() != Some(transport) {
            gone.push(*id);
        }
    }
    for id in gone {
        owned.remove(&id);
    }
    Ok(())
}

async fn admin_connection(socket: WebSocket, app: Arc<App>) {
    let (mut tx, mut rx) = socket.split();
    while let Some(Ok(msg)) = rx.next().await {
        let text = match msg {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = match api::parse(&text) {
            Err(error) => error,
            Ok(request) => app.api.handle_admin(&request, &app.admin_secret),
        };
        if send(&mut tx, &reply).await.is_err() {
            break;
        }
    }
}
