//! A vroom server started from its real binary on loopback, and real Janus API clients for it:
//! WebSocket (tokio-tungstenite) and HTTP (ureq).

#![allow(dead_code)]

pub mod janus;
pub mod netns;
pub mod peers;
pub mod prereq;
pub mod rtc_peer;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A running `vroom` process; killed when dropped.
pub struct Server {
    child: Child,
    pub ws: String,
    pub http: String,
    pub admin: String,
    logs: Arc<Mutex<Vec<Value>>>,
    _config: tempfile::NamedTempFile,
}

impl Server {
    /// Starts the server with `extra` TOML appended to a loopback config on free ports.
    pub fn start(extra: &str) -> Server {
        Self::start_in(None, extra)
    }

    /// As [`Server::start`], inside network namespace `ns`.
    pub fn start_in(ns: Option<&netns::Netns>, extra: &str) -> Server {
        Self::start_listening(ns, "127.0.0.1", extra)
    }

    /// As [`Server::start_in`], its listeners on `host` (free ports).
    pub fn start_listening(ns: Option<&netns::Netns>, host: &str, extra: &str) -> Server {
        let mut config = tempfile::NamedTempFile::new().unwrap();
        write!(
            config,
            "[websocket]\nlisten = \"{host}:0\"\n[http]\nlisten = \"{host}:0\"\nbase_path = \"/janus\"\n\
             [admin]\nlisten = \"{host}:0\"\nsecret = \"janusoverlord\"\n{extra}\n"
        )
        .unwrap();
        let mut command = match ns {
            Some(ns) => ns.command(env!("CARGO_BIN_EXE_vroom")),
            None => Command::new(env!("CARGO_BIN_EXE_vroom")),
        };
        command.arg("--config").arg(config.path()).args(["--log-format", "json"]);
        let mut child = prereq::spawn(command.stdout(Stdio::piped()).stderr(Stdio::inherit())).expect("vroom starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let keep = logs.clone();
        std::thread::spawn(move || {
            for line in lines.by_ref().map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else { continue };
                if entry["message"] == "listening" {
                    let _ = tx.send(entry.clone());
                }
                keep.lock().unwrap().push(entry);
            }
        });
        let listening = rx.recv_timeout(Duration::from_secs(20)).expect("vroom logs the addresses it listens on");
        let url = |k: &str| listening[k].as_str().unwrap_or_default().to_string();
        Server { child, ws: url("websocket"), http: url("http"), admin: url("admin"), logs, _config: config }
    }

    /// The server's log so far, one JSON object a line (`message`, `level`, fields).
    pub fn logs(&self) -> Vec<Value> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until the server has logged a line with `message` whose fields
    /// include `fields`; returns it.
    pub async fn logged(&self, message: &str, fields: Value) -> Value {
        let started = std::time::Instant::now();
        loop {
            let hit = self
                .logs()
                .into_iter()
                .find(|l| l["message"] == message && fields.as_object().unwrap().iter().all(|(k, v)| &l[k] == v));
            if let Some(line) = hit {
                return line;
            }
            assert!(started.elapsed() < WAIT, "no {message:?} line with {fields}: {:#?}", self.logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open file descriptors of the server process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map(|d| d.count()).unwrap_or(0)
    }

    /// Resident memory of the server process, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or("VmRSS: 0 kB");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The admin API's `accounting`: everything the server holds.
    pub async fn accounting(&self) -> Value {
        accounting(&self.admin).await
    }

    /// Waits (up to `within`) until `pred` holds for the accounting; returns the last one read.
    pub async fn accounting_until(&self, within: Duration, pred: impl Fn(&Value) -> bool) -> Result<Value, Value> {
        accounting_until(&self.admin, within, pred).await
    }

    /// Threads of the server process.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid())).map(|d| d.count()).unwrap_or(0)
    }

    /// The names of the server's threads.
    pub fn thread_names(&self) -> Vec<String> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else { return Vec::new() };
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect()
    }

    /// The value of the metric sample `sample` (name and labels, as written) in `/metrics`.
    pub fn metric(&self, sample: &str) -> Option<f64> {
        let url = format!("http://{}/metrics", self.admin.trim_start_matches("ws://").trim_end_matches('/'));
        let text = ureq::get(&url).call().ok()?.body_mut().read_to_string().ok()?;
        let line = text.lines().find(|l| l.strip_prefix(sample).is_some_and(|rest| rest.starts_with(' ')))?;
        line.rsplit(' ').next()?.parse().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // What the server said that a failure may be about: its warnings and the
            // PeerConnections' lives, the last of them.
            let logs = self.logs();
            let telling = |e: &&Value| {
                let message = e["message"].as_str().unwrap_or_default();
                e["level"] != "INFO" && e["level"] != "DEBUG" || message.starts_with("PeerConnection")
            };
            let lines: Vec<String> = logs.iter().filter(telling).map(Value::to_string).collect();
            let from = lines.len().saturating_sub(60);
            println!("vroom's log, its last warnings and PeerConnection lines:\n{}", lines[from..].join("\n"));
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);

/// A Janus API client over one WebSocket.
pub struct Ws {
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    events: std::collections::VecDeque<Value>,
    next: u64,
}

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        Self::connect_with(url, Some("janus-protocol")).await.expect("connects")
    }

    pub async fn connect_with(url: &str, protocol: Option<&str>) -> Result<Ws, String> {
        let mut req = url.into_client_request().unwrap();
        if let Some(p) = protocol {
            req.headers_mut().insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        let (socket, _) =
            tokio_tungstenite::connect_async_with_config(req, None, true).await.map_err(|e| e.to_string())?;
        Ok(Ws { socket, events: Default::default(), next: 0 })
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    /// The next message from the server, if one comes within the wait.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.socket.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
                Ok(Some(Ok(_))) => continue,
                _ => return None,
            }
        }
    }

    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await.expect("a message from the server")
    }

    /// Sends `msg` with a fresh transaction; returns the reply (ack, success, error, ...).
    /// Events that arrive meanwhile are kept for [`Ws::event`].
    pub async fn request(&mut self, mut msg: Value) -> Value {
        self.next += 1;
        let txn = format!("t{}", self.next);
        msg["transaction"] = txn.clone().into();
        self.send_raw(&msg.to_string()).await;
        loop {
            let m = self.recv().await;
            if m["transaction"] == txn.as_str() && m["janus"] != "event" {
                return m;
            }
            self.events.push_back(m);
        }
    }

    /// The next event (anything that is not a reply), waiting up to 5 s.
    pub async fn event(&mut self) -> Value {
        self.try_event(WAIT).await.expect("an event")
    }

    pub async fn try_event(&mut self, wait: Duration) -> Option<Value> {
        match self.events.pop_front() {
            Some(e) => Some(e),
            None => self.recv_within(wait).await,
        }
    }

    /// Every event that arrives within `wait`.
    pub async fn events_for(&mut self, wait: Duration) -> Vec<Value> {
        let mut all: Vec<Value> = self.events.drain(..).collect();
        while let Some(e) = self.recv_within(wait).await {
            all.push(e);
        }
        all
    }

    pub async fn create(&mut self) -> u64 {
        let r = self.request(json!({ "janus": "create" })).await;
        r["data"]["id"].as_u64().unwrap_or_else(|| panic!("create: {r}"))
    }

    pub async fn attach(&mut self, session: u64, plugin: &str) -> u64 {
        let r = self.request(json!({ "janus": "attach", "session_id": session, "plugin": plugin })).await;
        r["data"]["id"].as_u64().unwrap_or_else(|| panic!("attach: {r}"))
    }

    /// A plugin message; returns the reply (a `success` with plugindata, or an `ack`).
    pub async fn message(&mut self, session: u64, handle: u64, body: Value) -> Value {
        self.request(json!({ "janus": "message", "session_id": session, "handle_id": handle, "body": body })).await
    }

    /// A plugin message, and the next `n` messages from the server in the order they came
    /// (the reply among them): for checking what comes before a reply.
    pub async fn message_then(&mut self, session: u64, handle: u64, body: Value, n: usize) -> Vec<Value> {
        self.next += 1;
        let msg = json!({ "janus": "message", "session_id": session, "handle_id": handle, "body": body,
            "transaction": format!("t{}", self.next) });
        self.send_raw(&msg.to_string()).await;
        let mut got = Vec::new();
        for _ in 0..n {
            got.push(self.recv().await);
        }
        got
    }

    /// A plugin message whose result comes as an event: returns that event's plugin data.
    pub async fn message_async(&mut self, session: u64, handle: u64, body: Value, jsep: Option<Value>) -> Value {
        let mut msg = json!({ "janus": "message", "session_id": session, "handle_id": handle, "body": body });
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        let ack = self.request(msg).await;
        assert_eq!(ack["janus"], "ack", "{ack}");
        let txn = ack["transaction"].clone();
        if let Some(i) = self.events.iter().position(|e| e["transaction"] == txn) {
            return self.events.remove(i).expect("found");
        }
        loop {
            let e = self.recv().await;
            if e["transaction"] == txn {
                return e;
            }
            self.events.push_back(e);
        }
    }
}

/// The admin API's `accounting` of the server whose admin WebSocket is `admin`.
pub async fn accounting(admin: &str) -> Value {
    let mut ws = Ws::connect_with(admin, Some("janus-admin-protocol")).await.expect("admin connects");
    let r = ws.request(json!({ "janus": "accounting", "admin_secret": "janusoverlord" })).await;
    assert_eq!(r["janus"], "success", "{r}");
    r["accounting"].clone()
}

/// Waits (up to `within`) until `pred` holds for the accounting; returns the last one read.
pub async fn accounting_until(admin: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Result<Value, Value> {
    let end = std::time::Instant::now() + within;
    loop {
        let a = accounting(admin).await;
        if pred(&a) {
            return Ok(a);
        }
        if std::time::Instant::now() >= end {
            return Err(a);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The plugin data of a reply or event.
pub fn data(m: &Value) -> &Value {
    &m["plugindata"]["data"]
}

/// A Janus API client over HTTP.
pub struct Http {
    pub base: String,
    next: u64,
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http { base: base.trim_end_matches('/').to_string(), next: 0 }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(40)))
            .build()
            .into()
    }

    /// POSTs `body` (with a fresh transaction) to `path`; returns (status, JSON).
    pub fn post(&mut self, path: &str, mut body: Value) -> (u16, Value) {
        self.next += 1;
        body["transaction"] = format!("h{}", self.next).into();
        self.post_raw(path, &body.to_string())
    }

    pub fn post_raw(&mut self, path: &str, body: &str) -> (u16, Value) {
        let mut r =
            Self::agent().post(&format!("{}{path}", self.base)).content_type("application/json").send(body).unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let mut r = Self::agent().get(&format!("{}{path}", self.base)).call().unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        let mut r = Self::agent().delete(&format!("{}{path}", self.base)).call().unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A publisher's SDP offer with an audio and a video m-line.
pub fn av_offer() -> Value {
    let sdp = "v=0\r\no=- 4215775240449105457 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef0123456789\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n";
    json!({ "type": "offer", "sdp": sdp })
}
