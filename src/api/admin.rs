//! The admin API (`janus-admin-protocol`): every request but `info` and `ping` needs the
//! `admin_secret`.

use serde_json::{json, Value};

use super::Api;
use crate::core::Session;
use crate::sync::Runtime;

impl<R: Runtime> Api<R> {
    /// A plugin's answer to the admin API's `message_plugin`. The EchoTest has nothing to say
    /// and echoes the request back, as Janus's does.
    fn plugin_admin_message(&self, plugin: crate::core::Plugin, request: super::fields::Fields<'_>) -> Value {
        match plugin {
            crate::core::Plugin::VideoRoom => self.videoroom_admin(request),
            crate::core::Plugin::EchoTest => Value::Object(request.0.clone()),
        }
    }

    pub fn handle_admin(&self, msg: &Value, admin_secret: &str) -> Value {
        let error = |txn: Option<&str>, code: u16, reason: &str| {
            let mut m = json!({ "janus": "error", "error": { "code": code, "reason": reason } });
            if let Some(t) = txn {
                m["transaction"] = t.into();
            }
            m
        };
        let Some(obj) = msg.as_object() else { return error(None, 456, "Missing mandatory element (transaction)") };
        let Some(txn) = obj.get("transaction").and_then(Value::as_str) else {
            return error(None, 456, "Missing mandatory element (transaction)");
        };
        let Some(verb) = obj.get("janus").and_then(Value::as_str) else {
            return error(Some(txn), 456, "Missing mandatory element (janus)");
        };
        if !matches!(verb, "info" | "ping") && obj.get("admin_secret").and_then(Value::as_str) != Some(admin_secret) {
            return error(Some(txn), 403, "Unauthorized request (wrong or missing secret/token)");
        }
        let session = || -> Result<std::sync::Arc<Session<R>>, Value> {
            let id = obj
                .get("session_id")
                .and_then(Value::as_u64)
                .ok_or_else(|| error(Some(txn), 456, "Missing mandatory element (session_id)"))?;
            self.core.session(id).map_err(|e| error(Some(txn), e.code(), &e.to_string()))
        };
        let success = |extra: Value| {
            let mut m = json!({ "janus": "success", "transaction": txn });
            if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
                m.extend(e.clone());
            }
            m
        };
        let sid = obj.get("session_id").and_then(Value::as_u64);
        let hid = obj.get("handle_id").and_then(Value::as_u64);
        // A handle-level request: Janus echoes the session id in its reply, errors included.
        let in_session = |mut reply: Value| {
            if let (Some(s), Some(m)) = (sid, reply.as_object_mut()) {
                let mut echoed = serde_json::Map::new();
                echoed.insert("janus".into(), m.remove("janus").unwrap_or_default());
                echoed.insert("session_id".into(), s.into());
                echoed.extend(std::mem::take(m));
                return Value::Object(echoed);
            }
            reply
        };
        if matches!(verb, "handle_info" | "detach_handle" | "hangup_webrtc") {
            let (Some(s), Some(h)) = (sid, hid) else {
                return match sid {
                    Some(_) => in_session(error(Some(txn), 457, &format!("Unhandled request '{verb}' at this path"))),
                    None => error(Some(txn), 458, "Session not found"),
                };
            };
            let core_error = |e: crate::core::Error| in_session(error(Some(txn), e.code(), &e.to_string()));
            return match verb {
                "handle_info" => match self.core.handle_info(s, h) {
                    Ok(info) => {
                        let plugin_only = obj.get("plugin_only").and_then(Value::as_bool).unwrap_or(false);
                        let info =
                            super::introspect::handle_info(&info, self.core.session_timeout_ms() / 1000, plugin_only);
                        in_session(success(json!({ "handle_id": h, "info": info })))
                    }
                    Err(e) => core_error(e),
                },
                "detach_handle" => match self.core.detach(s, h) {
                    Ok(()) => in_session(success(json!({}))),
                    Err(e) => core_error(e),
                },
                _ => match self.core.hangup(s, h, "Admin API") {
                    Ok(()) => in_session(success(json!({}))),
                    Err(e) => core_error(e),
                },
            };
        }
        match verb {
            "info" => {
                let mut info = self.handle(0, &json!({ "janus": "info", "transaction": txn })).reply;
                info["janus"] = "server_info".into();
                info
            }
            "ping" => json!({ "janus": "pong", "transaction": txn }),
            "list_sessions" => success(json!({ "sessions": self.core.list_sessions() })),
            // vroom's own: what the packet path forwarded and how long copies waited in it.
            "media_stats" => match &self.media {
                Some(media) => success(json!({ "media_stats": media.stats().snapshot().to_json() })),
                None => success(json!({ "media_stats": null })),
            },
            // vroom's own: everything it holds, to compare with a baseline (nothing leaks).
            "accounting" => success(json!({ "accounting": super::introspect::accounting(
                &crate::observe::accounting::Accounting::now(&self.core, self.media.as_deref())
            ) })),
            "list_handles" => in_session(match session() {
                Ok(s) => success(json!({ "handles": s.handle_ids() })),
                Err(e) => e,
            }),
            "destroy_session" => in_session(
                match session().and_then(|s| {
                    self.core.destroy_session(s.id).map_err(|e| error(Some(txn), e.code(), &e.to_string()))
                }) {
                    Ok(()) => success(json!({})),
                    Err(e) => e,
                },
            ),
            "add_token" | "remove_token" | "allow_token" | "disallow_token" | "list_tokens" if !self.tokens.enabled => {
                error(Some(txn), 490, "Stored-Token based authentication disabled")
            }
            "add_token" | "remove_token" | "allow_token" | "disallow_token" => {
                let f = super::fields::Fields(obj);
                let token = match f.req_str("token") {
                    Ok(t) => t,
                    Err(_) => return error(Some(txn), 456, "Missing mandatory element (token)"),
                };
                let plugins = match f.strings("plugins") {
                    Ok(p) => p,
                    Err(_) => {
                        return error(Some(txn), 467, "Invalid element type (plugins should be an array of strings)")
                    }
                };
                let result = match verb {
                    "add_token" => self.tokens.add(token, plugins.as_deref()).map(Some),
                    "remove_token" => self.tokens.remove(token).map(|()| None),
                    _ => match plugins {
                        None => return error(Some(txn), 456, "Missing mandatory element (plugins)"),
                        Some(p) => self.tokens.change(token, &p, verb == "allow_token").map(Some),
                    },
                };
                match result {
                    Ok(Some(plugins)) => success(json!({ "data": { "plugins": plugins } })),
                    Ok(None) => success(json!({})),
                    Err(e) => error(Some(txn), e.code(), &e.to_string()),
                }
            }
            "list_tokens" => {
                let tokens: Vec<Value> =
                    self.tokens.list().into_iter().map(|(t, p)| json!({ "token": t, "allowed_plugins": p })).collect();
                success(json!({ "data": { "tokens": tokens } }))
            }
            "get_status" => success(json!({ "status": {
                "token_auth": self.tokens.enabled, "session_timeout": self.core.session_timeout_ms() / 1000,
                "reclaim_session_timeout": 0, "log_level": self.logging.as_ref().map_or(4, |l| l.janus_level()),
                "log_timestamps": true, "log_colors": false, "locking_debug": false, "refcount_debug": false,
                "libnice_debug": false, "nack-optimizations": false, "no_media_timer": 1, "slowlink_threshold": 0,
            } })),
            "accept_new_sessions" => match obj.get("accept") {
                None => error(Some(txn), 456, "Missing mandatory element (accept)"),
                Some(v) => match v.as_bool() {
                    None => error(Some(txn), 467, "Invalid element type (accept should be a boolean)"),
                    Some(accept) => {
                        self.accept_sessions(accept);
                        tracing::info!(accept, "accepting new sessions");
                        success(json!({ "accept": accept }))
                    }
                },
            },
            "set_session_timeout" => match obj.get("timeout") {
                None => error(Some(txn), 456, "Missing mandatory element (timeout)"),
                Some(v) => match v.as_u64() {
                    None => error(Some(txn), 467, "Invalid element type (timeout should be a positive integer)"),
                    Some(timeout) => {
                        self.core.set_session_timeout_ms(timeout * 1000);
                        tracing::info!(timeout, "session timeout set");
                        success(json!({ "timeout": timeout }))
                    }
                },
            },
            "message_plugin" => {
                let f = super::fields::Fields(obj);
                let plugin = match f.get("plugin") {
                    None => return error(Some(txn), 456, "Missing mandatory element (plugin)"),
                    Some(p) => p.as_str().and_then(|p| crate::core::Plugin::from_package(p).ok()),
                };
                let Some(plugin) = plugin else { return error(Some(txn), 460, "Invalid plugin") };
                let Some(request) = obj.get("request").and_then(Value::as_object) else {
                    return error(Some(txn), 456, "Missing mandatory element (request)");
                };
                success(json!({ "response": self.plugin_admin_message(plugin, super::fields::Fields(request)) }))
            }
            "query_logger" => match obj.get("logger") {
                None => error(Some(txn), 456, "Missing mandatory element (logger)"),
                Some(_) => error(Some(txn), 460, "Invalid logger"),
            },
            "query_eventhandler" => match obj.get("handler") {
                None => error(Some(txn), 456, "Missing mandatory element (handler)"),
                Some(_) => error(Some(txn), 460, "Invalid event handler"),
            },
            "custom_logline" => match obj.get("line").and_then(Value::as_str) {
                None => error(Some(txn), 456, "Missing mandatory element (line)"),
                Some(line) => {
                    // Janus's levels: 0-2 error, 3 warning, 4 info (the default), more is debug.
                    match obj.get("level").and_then(Value::as_u64).unwrap_or(4) {
                        0..=2 => tracing::error!(target: "vroom::custom", "{line}"),
                        3 => tracing::warn!(target: "vroom::custom", "{line}"),
                        4 => tracing::info!(target: "vroom::custom", "{line}"),
                        _ => tracing::debug!(target: "vroom::custom", "{line}"),
                    }
                    success(json!({}))
                }
            },
            "set_log_level" => {
                let level = match obj.get("level") {
                    None => return error(Some(txn), 456, "Missing mandatory element (level)"),
                    Some(v) => match v.as_u64() {
                        Some(l) if l <= 7 => l as u8,
                        Some(_) => {
                            return error(Some(txn), 467, "Invalid element type (level should be between 0 and 7)")
                        }
                        None => {
                            return error(Some(txn), 467, "Invalid element type (level should be a positive integer)")
                        }
                    },
                };
                match &self.logging {
                    Some(logging) => match logging.set_janus_level(level) {
                        Ok(()) => success(json!({ "level": level })),
                        Err(e) => error(Some(txn), 490, &e),
                    },
                    None => success(json!({ "level": level })),
                }
            }
            other => error(Some(txn), 457, &format!("Unhandled request '{other}' at this path")),
        }
    }
}
