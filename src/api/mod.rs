//! The Janus API: JSON requests in, JSON replies out, over the core. Pure and synchronous (no
//! sockets, no tokio): a transport hands [`Api::handle`] one parsed request and sends back the
//! immediate reply; events follow on the session's queue, rendered by [`render::event`].
//!
//! Errors follow Janus 1.1.2 (`../shared/reference/janus-api.md` §2): which field is checked
//! first, which code, which reason text, and whether `session_id`/`transaction` are echoed.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::core::event::{Jsep, SdpKind};
use crate::core::ids::{SessionId, TransportId};
use crate::core::seams::TrickleCandidate;
use crate::core::{Core, Error, Handle, Plugin, Session};
use crate::media::sdp;
use crate::sync::Runtime;

mod admin;
mod echotest;
pub mod fields;
pub mod fuzzing;
mod introspect;
pub mod render;
pub mod tokens;
mod videoroom;

use fields::Fields;

/// API settings from the server's configuration.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub api_secret: Option<String>,
    /// Requests must carry a token stored with the admin API's `add_token`.
    pub token_auth: bool,
    pub server_name: String,
    pub local_ip: String,
}

/// What a transport must do besides sending the reply.
pub enum SessionChange<R: Runtime> {
    /// Deliver this session's events on this connection from now on (create, claim).
    Owned(Arc<Session<R>>),
    /// This session is gone (destroy).
    Gone(SessionId),
}

/// The reply to one request.
pub struct Handled<R: Runtime> {
    pub reply: Value,
    pub change: Option<SessionChange<R>>,
}

/// A core API error, with the context Janus echoes in it.
struct ApiError {
    code: u16,
    reason: String,
    session: Option<SessionId>,
    transaction: Option<String>,
}

impl ApiError {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        ApiError { code, reason: reason.into(), session: None, transaction: None }
    }

    fn render(&self) -> Value {
        let mut m = json!({ "janus": "error", "error": { "code": self.code, "reason": self.reason } });
        if let Some(s) = self.session {
            m["session_id"] = s.into();
        }
        if let Some(t) = &self.transaction {
            m["transaction"] = t.clone().into();
        }
        m
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::new(e.code(), e.to_string())
    }
}

/// What every request names: its transaction and where it is addressed.
struct Request<'a> {
    verb: &'a str,
    transaction: &'a str,
    fields: Fields<'a>,
}

pub struct Api<R: Runtime> {
    pub core: Arc<Core<R>>,
    pub config: ApiConfig,
    pub tokens: tokens::Tokens<R>,
    /// The media engine, for the admin API's `media_stats` and `accounting` (none without media).
    pub media: Option<Arc<crate::media::MediaEngine>>,
    /// The process's logger, for the admin API's `set_log_level` (none in tests of the API alone).
    pub logging: Option<Arc<crate::observe::log::Logging>>,
    /// Whether `create` makes sessions (the admin API's `accept_new_sessions`).
    accepting: std::sync::atomic::AtomicBool,
}

/// Parses a request's text. Invalid JSON is Janus's 454, with the parser's message.
pub fn parse(text: &str) -> Result<Value, Value> {
    serde_json::from_str(text).map_err(|e| ApiError::new(454, format!("Invalid Janus API request - {e}")).render())
}

/// The reply to a request that is JSON but not an object, on HTTP (455). WebSocket requests
/// that are not objects go through [`Api::handle`] (456, as Janus does).
pub fn not_an_object() -> Value {
    ApiError::new(455, "JSON error: not an object").render()
}

impl<R: Runtime> Api<R> {
    pub fn new(core: Arc<Core<R>>, config: ApiConfig) -> Self {
        let tokens = tokens::Tokens::new(config.token_auth);
        Api { core, config, tokens, media: None, logging: None, accepting: true.into() }
    }

    /// Handles one request from `transport`.
    pub fn handle(&self, transport: TransportId, msg: &Value) -> Handled<R> {
        let _doing = crate::observe::locks::doing(|| describe(msg));
        let mut change = None;
        let reply = match self.dispatch(transport, msg, &mut change) {
            Ok(reply) => reply,
            Err(e) => {
                change = None;
                e.render()
            }
        };
        Handled { reply, change }
    }

    fn dispatch(
        &self,
        transport: TransportId,
        msg: &Value,
        change: &mut Option<SessionChange<R>>,
    ) -> Result<Value, ApiError> {
        // The envelope is checked first, as Janus does: `transaction` and `janus` present and
        // strings, `id` a positive integer. Its errors carry no transaction, but the session_id
        // if the request has a numeric one.
        let missing = |what| ApiError::new(456, format!("Missing mandatory element ({what})"));
        let obj = msg.as_object().ok_or_else(|| missing("transaction"))?;
        let session = obj.get("session_id").and_then(Value::as_u64);
        let in_envelope = |mut e: ApiError| {
            e.session = session;
            e
        };
        let string = |name| match obj.get(name) {
            None => Err(in_envelope(missing(name))),
            Some(v) => v.as_str().ok_or_else(|| {
                in_envelope(ApiError::new(467, format!("Invalid element type ({name} should be a string)")))
            }),
        };
        let transaction = string("transaction")?;
        let verb = string("janus")?;
        if obj.get("id").is_some_and(|id| id.as_u64().is_none()) {
            return Err(in_envelope(ApiError::new(467, "Invalid element type (id should be a positive integer)")));
        }
        let req = Request { verb, transaction, fields: Fields(obj) };
        let with_txn = |mut e: ApiError| {
            e.transaction = Some(transaction.to_string());
            e
        };
        if !matches!(verb, "info" | "ping") && !self.authorized(obj) {
            return Err(with_txn(Error::Unauthorized.into()));
        }
        let handle = obj.get("handle_id").and_then(Value::as_u64);
        match session {
            None => self.root(&req, transport, change).map_err(with_txn),
            Some(sid) => {
                let in_session = |mut e: ApiError| {
                    e.session = Some(sid);
                    with_txn(e)
                };
                match handle {
                    None => self.session_level(&req, sid, transport, change).map_err(in_session),
                    Some(hid) => self.handle_level(&req, sid, hid).map_err(in_session),
                }
            }
        }
    }

    /// With an `api_secret` or `token_auth` configured, a request needs the right `apisecret`
    /// or a stored `token` (either will do, as in Janus).
    fn authorized(&self, obj: &Map<String, Value>) -> bool {
        let secret = self.config.api_secret.as_deref();
        if secret.is_none() && !self.tokens.enabled {
            return true;
        }
        let given = |k: &str| obj.get(k).and_then(Value::as_str);
        secret.is_some_and(|s| given("apisecret") == Some(s))
            || (self.tokens.enabled && given("token").is_some_and(|t| self.tokens.is_valid(t)))
    }

    fn root(
        &self,
        req: &Request<'_>,
        transport: TransportId,
        change: &mut Option<SessionChange<R>>,
    ) -> Result<Value, ApiError> {
        match req.verb {
            "info" => Ok(self.server_info(req.transaction)),
            "ping" => Ok(json!({ "janus": "pong", "transaction": req.transaction })),
            "create" if !self.accepting_sessions() => Err(ApiError::new(472, "Currently not accepting new sessions")),
            "create" => {
                // A non-numeric id was refused with the envelope.
                let id = req.fields.get("id").and_then(Value::as_u64);
                let session = self.core.create_session(id, transport).map_err(|e| {
                    let mut e = ApiError::from(e);
                    e.session = id; // Janus echoes the id it could not give
                    e
                })?;
                tracing::info!(session = session.id, transport, "session created");
                let reply = json!({ "janus": "success", "transaction": req.transaction, "data": { "id": session.id } });
                *change = Some(SessionChange::Owned(session));
                Ok(reply)
            }
            verb => Err(ApiError::new(457, format!("Unhandled request '{verb}' at this path"))),
        }
    }

    fn session_level(
        &self,
        req: &Request<'_>,
        sid: SessionId,
        transport: TransportId,
        change: &mut Option<SessionChange<R>>,
    ) -> Result<Value, ApiError> {
        let session = self.core.session(sid)?;
        let success = || json!({ "janus": "success", "session_id": sid, "transaction": req.transaction });
        match req.verb {
            "keepalive" => Ok(json!({ "janus": "ack", "session_id": sid, "transaction": req.transaction })),
            "attach" => {
                let name =
                    req.fields.get("plugin").ok_or_else(|| ApiError::new(456, "Missing mandatory element (plugin)"))?;
                let name = name
                    .as_str()
                    .ok_or_else(|| ApiError::new(467, "Invalid element type (plugin should be a string)"))?;
                let plugin = Plugin::from_package(name)?;
                self.tokens.check_plugin(req.fields.str("token").ok().flatten(), plugin)?;
                let opaque = req.fields.str("opaque_id").ok().flatten().map(String::from);
                let handle = self.core.attach(sid, plugin, opaque)?;
                tracing::info!(session = sid, handle = handle.id, plugin = plugin.package(), "handle attached");
                Ok(
                    json!({ "janus": "success", "session_id": sid, "transaction": req.transaction, "data": { "id": handle.id } }),
                )
            }
            "claim" => {
                self.core.claim(sid, transport)?;
                tracing::info!(session = sid, transport, "session claimed");
                *change = Some(SessionChange::Owned(session));
                Ok(success())
            }
            "destroy" => {
                self.core.destroy_session(sid)?;
                tracing::info!(session = sid, "session destroyed");
                *change = Some(SessionChange::Gone(sid));
                Ok(success())
            }
            verb @ ("message" | "trickle" | "hangup" | "detach") => {
                Err(ApiError::new(457, format!("Unhandled request '{verb}' at this path")))
            }
            verb => Err(ApiError::new(453, format!("Unknown request '{verb}'"))),
        }
    }

    fn handle_level(&self, req: &Request<'_>, sid: SessionId, hid: u64) -> Result<Value, ApiError> {
        let handle = self.core.handle(sid, hid)?;
        let success = json!({ "janus": "success", "session_id": sid, "transaction": req.transaction });
        let ack = json!({ "janus": "ack", "session_id": sid, "transaction": req.transaction });
        match req.verb {
            "message" => self.message(req, sid, &handle),
            "trickle" => {
                let f = req.fields;
                let candidates: Vec<&Value> = match (f.get("candidate"), f.get("candidates")) {
                    (Some(c), _) => vec![c],
                    (None, Some(Value::Array(cs))) => cs.iter().collect(),
                    _ => return Err(ApiError::new(456, "Missing mandatory element (candidate|candidates)")),
                };
                let parsed: Vec<_> = candidates.into_iter().map(trickle_candidate).collect::<Result<_, _>>()?;
                self.core.trickle(sid, hid, &parsed)?;
                Ok(ack)
            }
            "hangup" => {
                self.core.hangup(sid, hid, "Janus API")?;
                tracing::info!(session = sid, handle = hid, "handle hung up");
                Ok(success)
            }
            "detach" => {
                self.core.detach(sid, hid)?;
                tracing::info!(session = sid, handle = hid, "handle detached");
                Ok(success)
            }
            verb => Err(ApiError::new(453, format!("Unknown request '{verb}'"))),
        }
    }

    fn message(&self, req: &Request<'_>, sid: SessionId, handle: &Handle<R>) -> Result<Value, ApiError> {
        let body = req.fields.get("body").ok_or_else(|| ApiError::new(456, "Missing mandatory element (body)"))?;
        let body =
            body.as_object().ok_or_else(|| ApiError::new(467, "Invalid element type (body should be an object)"))?;
        let jsep = match req.fields.get("jsep") {
            None => None,
            Some(j) => Some(read_jsep(j)?),
        };
        let txn = req.transaction;
        let reply = match handle.plugin {
            Plugin::VideoRoom => self.videoroom(handle, Fields(body), jsep, txn),
            Plugin::EchoTest => self.echotest(handle, Fields(body), jsep, txn),
        };
        Ok(match reply {
            PluginReply::Sync(data) => {
                render::plugin_message("success", sid, Some(txn), handle.id, handle.plugin, data, None)
            }
            PluginReply::Async => json!({ "janus": "ack", "session_id": sid, "transaction": txn }),
        })
    }

    pub fn accepting_sessions(&self) -> bool {
        self.accepting.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn accept_sessions(&self, accept: bool) {
        self.accepting.store(accept, std::sync::atomic::Ordering::Relaxed)
    }

    fn server_info(&self, transaction: &str) -> Value {
        let plugin = |name: &str, description: &str, version: u32| json!({ "name": name, "author": "vroom", "description": description, "version_string": format!("0.0.{version}"), "version": version });
        json!({
            "janus": "server_info", "transaction": transaction,
            "name": "vroom", "version": 1102, "version_string": "1.1.2", "author": "vroom",
            "commit-hash": "not-a-git-repo", "compile-time": "", "log-to-stdout": true, "log-to-file": false,
            "data_channels": true, "accepting-new-sessions": self.accepting_sessions(),
            "session-timeout": self.core.session_timeout_ms() / 1000,
            "reclaim-session-timeout": 0, "candidates-timeout": 45, "server-name": self.config.server_name,
            "local-ip": self.config.local_ip, "ipv6": false, "ice-lite": false, "ice-tcp": false,
            "full-trickle": false, "mdns-enabled": false, "api_secret": self.config.api_secret.is_some(),
            "auth_token": self.tokens.enabled, "event_handlers": false, "opaqueid_in_api": false,
            "dependencies": {}, "events": {}, "loggers": {},
            "transports": {
                "janus.transport.http": plugin("JANUS REST (HTTP/HTTPS) transport plugin", "REST over HTTP with long polling", 2),
                "janus.transport.websockets": plugin("JANUS WebSockets transport plugin", "The Janus API over WebSockets", 1),
            },
            "plugins": {
                "janus.plugin.videoroom": plugin("JANUS VideoRoom plugin", "A videoconferencing SFU", 9),
                "janus.plugin.echotest": plugin("JANUS EchoTest plugin", "Echoes back what it receives", 7),
            },
        })
    }
}

/// A plugin's answer to a message: synchronous data (`success`), or an `ack` with events to
/// follow on the session's queue.
pub(crate) enum PluginReply {
    Sync(Value),
    Async,
}

/// A request as the lock watchdog names it: its verb, ids, plugin request and transaction.
fn describe(msg: &Value) -> String {
    let field = |k: &str| msg.get(k).map(|v| format!(" {k}={v}")).unwrap_or_default();
    let request = msg.pointer("/body/request").map(|v| format!(" request={v}")).unwrap_or_default();
    format!(
        "{}{}{}{request}{}",
        msg.get("janus").and_then(Value::as_str).unwrap_or("?"),
        field("session_id"),
        field("handle_id"),
        field("transaction")
    )
}

/// Checks a request's `jsep` as Janus does: 455 for a malformed object, 464 for an unknown
/// type, 465 for an SDP that is not one.
fn read_jsep(j: &Value) -> Result<Jsep, ApiError> {
    let obj: &Map<String, Value> =
        j.as_object().ok_or_else(|| ApiError::new(455, "JSON error: jsep is not an object"))?;
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("offer") => SdpKind::Offer,
        Some("answer") => SdpKind::Answer,
        Some(other) => return Err(ApiError::new(464, format!("JSEP error: unknown message type '{other}'"))),
        None => return Err(ApiError::new(456, "Missing mandatory element (type)")),
    };
    let sdp_text =
        obj.get("sdp").and_then(Value::as_str).ok_or_else(|| ApiError::new(456, "Missing mandatory element (sdp)"))?;
    sdp::parse_offer(sdp_text).map_err(|reason| ApiError::new(465, reason))?;
    Ok(Jsep { kind, sdp: sdp_text.to_string() })
}

/// One trickled candidate: `{candidate, sdpMid, sdpMLineIndex}`, or `{completed: true}` (`None`).
fn trickle_candidate(c: &Value) -> Result<Option<TrickleCandidate>, ApiError> {
    if c.get("completed").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let Some(candidate) = c.get("candidate").and_then(Value::as_str) else {
        return Err(ApiError::new(456, "Missing mandatory element (candidate)"));
    };
    Ok(Some(TrickleCandidate {
        candidate: candidate.to_string(),
        sdp_mid: c.get("sdpMid").and_then(Value::as_str).map(str::to_string),
        sdp_mline_index: c.get("sdpMLineIndex").and_then(Value::as_u64).and_then(|i| u16::try_from(i).ok()),
    }))
}
