//! The server's configuration: a TOML file whose every key has an embedded default, so that
//! `vroom` with no file serves a developer on one machine. Unknown keys are refused, and every
//! error names the key it is about.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;

use crate::core::room::RoomConfig;
use crate::core::CoreConfig;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub general: General,
    pub websocket: Listener,
    pub http: HttpListener,
    pub admin: AdminListener,
    pub media: Media,
    pub videoroom: VideoRoom,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// Seconds without a request before a session is destroyed (0: never).
    pub session_timeout: u64,
    /// Events a session may have waiting before its client counts as too slow.
    pub event_queue_capacity: usize,
    /// Requests must carry this `apisecret` (all but info and ping).
    pub api_secret: Option<String>,
    /// Requests must carry a `token` stored with the admin API's `add_token` (or the apisecret).
    pub token_auth: bool,
    /// Largest WebSocket message or HTTP body accepted, in bytes.
    pub max_message_bytes: usize,
    /// `server-name` in `info`.
    pub server_name: String,
    /// Log level or per-module directives (`info`, `vroom=debug,rtc=warn`); `RUST_LOG` and
    /// `--log-level` win over it.
    pub log_level: String,
    /// `text` or `json` (one object a line, for log shippers); `--log-format` wins over it.
    pub log_format: crate::observe::log::LogFormat,
    /// An ordered lock held or waited for longer than this (ms) is logged once, with the
    /// request holding it, and counted in `vroom_lock_watchdog_total`. 0: the locks are not
    /// timed at all (no lock histograms either).
    pub lock_watchdog_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub listen: SocketAddr,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpListener {
    pub listen: SocketAddr,
    pub base_path: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminListener {
    pub listen: SocketAddr,
    pub secret: String,
    /// Where the admin listener serves Prometheus metrics over HTTP (`""`: nowhere).
    #[serde(default = "metrics_path")]
    pub metrics_path: String,
}

fn metrics_path() -> String {
    "/metrics".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Media {
    /// The address the media socket binds to: `0.0.0.0` (every interface that is up, as
    /// `ice_enforce_list` / `ice_ignore_list` keep them) or one address, offered alone.
    pub ip: IpAddr,
    /// Comma-separated interface names or address prefixes to use only (Janus's setting).
    pub ice_enforce_list: String,
    /// Comma-separated interface names or address prefixes to skip, unless an enforce list is set.
    pub ice_ignore_list: String,
    /// Comma-separated public addresses of a 1:1 NAT: host candidates advertise them instead of
    /// the private addresses.
    pub nat_1_1_mapping: String,
    /// With `nat_1_1_mapping`, offer the private addresses as well.
    pub keep_private_host: bool,
    /// A STUN server (`host:port`) that tells vroom its server-reflexive address at start,
    /// offered as a candidate; no answer stops the start.
    pub stun_server: Option<String>,
    /// The UDP port of the first shard's media socket (shard k listens on `port + k`, each
    /// shard's PeerConnections share its socket); 0 picks free ones.
    pub port: u16,
    /// How many media shard threads forward packets, each with its own socket and the
    /// PeerConnections it was given at their creation; 0 (the default): one per core.
    pub shards: usize,
    /// Also accept SRTP AES_CM_128_HMAC_SHA1_80, for clients without AES-GCM. Browsers rank
    /// AES-CM first, so with this on they negotiate it (about 3x GCM's per-packet cost).
    pub allow_aes_cm: bool,
    /// Packets lost on a stream within a second that make a `slowlink` event to its handle, as
    /// Janus's `slowlink_threshold` (0, the default: none).
    pub slowlink_threshold: u32,
}

impl Media {
    /// The public addresses of `nat_1_1_mapping`.
    pub fn nat_1_1(&self) -> Result<Vec<IpAddr>, String> {
        crate::media::addresses::list(&self.nat_1_1_mapping)
            .iter()
            .map(|a| a.parse().map_err(|_| format!("media.nat_1_1_mapping: {a:?} is not an IP address")))
            .collect()
    }

    pub fn settings(&self) -> crate::media::MediaSettings {
        use crate::media::addresses::{list, AddressRules};
        crate::media::MediaSettings {
            ip: self.ip,
            rules: AddressRules {
                enforce: list(&self.ice_enforce_list),
                ignore: list(&self.ice_ignore_list),
                nat_1_1: self.nat_1_1().unwrap_or_default(),
                keep_private_host: self.keep_private_host,
            },
            stun_server: self.stun_server.clone(),
            port: self.port,
            allow_aes_cm: self.allow_aes_cm,
            shards: self.shards,
            slowlink_threshold: self.slowlink_threshold,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoRoom {
    pub admin_key: Option<String>,
    pub rooms: Vec<StaticRoom>,
}

/// A room that exists from start-up (Janus's `room-<id>` sections).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoom {
    pub id: u64,
    pub description: Option<String>,
    pub secret: Option<String>,
    pub pin: Option<String>,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default = "three")]
    pub publishers: u32,
    #[serde(default)]
    pub bitrate: u32,
    #[serde(default)]
    pub fir_freq: u32,
    #[serde(default)]
    pub notify_joining: bool,
    #[serde(default)]
    pub require_pvtid: bool,
    /// Record every publisher (`rec_dir`: where; `lock_record`: only the secret changes it).
    #[serde(default)]
    pub record: bool,
    pub rec_dir: Option<String>,
    #[serde(default)]
    pub lock_record: bool,
    pub audiocodec: Option<String>,
    pub videocodec: Option<String>,
    #[serde(default)]
    pub video_svc: bool,
    /// The VP9 profile (0-3) and H.264 profile-level-id this room chooses.
    pub vp9_profile: Option<String>,
    pub h264_profile: Option<String>,
    /// Subscribers' simulcast substreams follow their bandwidth (vroom's own).
    #[serde(default)]
    pub adaptive_layers: bool,
}

fn three() -> u32 {
    3
}

impl Default for Config {
    fn default() -> Self {
        Config {
            general: General::default(),
            websocket: Listener { listen: ([127, 0, 0, 1], 8188).into() },
            http: HttpListener { listen: ([127, 0, 0, 1], 8088).into(), base_path: "/janus".into() },
            admin: AdminListener {
                listen: ([127, 0, 0, 1], 7188).into(),
                secret: "janusoverlord".into(),
                metrics_path: metrics_path(),
            },
            media: Media::default(),
            videoroom: VideoRoom::default(),
        }
    }
}

impl Default for General {
    fn default() -> Self {
        General {
            session_timeout: 60,
            event_queue_capacity: 1024,
            api_secret: None,
            token_auth: false,
            max_message_bytes: 1 << 20,
            server_name: "vroom".into(),
            log_level: "info".into(),
            log_format: Default::default(),
            lock_watchdog_ms: 1000,
        }
    }
}

impl Default for Media {
    fn default() -> Self {
        Media {
            ip: [0, 0, 0, 0].into(),
            ice_enforce_list: String::new(),
            ice_ignore_list: "vmnet".into(),
            nat_1_1_mapping: String::new(),
            keep_private_host: false,
            stun_server: None,
            port: 0,
            allow_aes_cm: false,
            slowlink_threshold: 0,
            shards: 0,
        }
    }
}

impl Default for VideoRoom {
    /// Janus's sample configuration: the demo rooms 1234 and 5678 (VP9 SVC).
    fn default() -> Self {
        let demo = StaticRoom {
            id: 1234,
            description: Some("Demo Room".into()),
            secret: Some("adminpwd".into()),
            pin: None,
            is_private: false,
            publishers: 6,
            bitrate: 128_000,
            fir_freq: 10,
            notify_joining: false,
            require_pvtid: false,
            record: false,
            rec_dir: None,
            lock_record: false,
            audiocodec: None,
            videocodec: None,
            video_svc: false,
            vp9_profile: None,
            h264_profile: None,
            adaptive_layers: false,
        };
        let svc = StaticRoom {
            id: 5678,
            description: Some("VP9-SVC Demo Room".into()),
            bitrate: 512_000,
            videocodec: Some("vp9".into()),
            video_svc: true,
            ..demo.clone()
        };
        VideoRoom { admin_key: None, rooms: vec![demo, svc] }
    }
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.media.nat_1_1()?;
        for room in &config.videoroom.rooms {
            use crate::core::room::config::{h264_profile, vp9_profile};
            let bad = |e: crate::core::Error| format!("videoroom room {}: {e}", room.id);
            vp9_profile(room.vp9_profile.clone()).map_err(bad)?;
            h264_profile(room.h264_profile.clone()).map_err(bad)?;
        }
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn core(&self, id_seed: u64) -> CoreConfig {
        CoreConfig {
            session_timeout_ms: self.general.session_timeout * 1000,
            event_queue_capacity: self.general.event_queue_capacity,
            admin_key: self.videoroom.admin_key.clone(),
            id_seed,
        }
    }
}

impl StaticRoom {
    pub fn room_config(&self) -> RoomConfig {
        let d = RoomConfig::default();
        RoomConfig {
            description: self.description.clone(),
            secret: self.secret.clone(),
            pin: self.pin.clone(),
            is_private: self.is_private,
            max_publishers: self.publishers,
            bitrate: self.bitrate,
            fir_freq: self.fir_freq,
            notify_joining: self.notify_joining,
            require_pvtid: self.require_pvtid,
            record: self.record,
            rec_dir: self.rec_dir.clone(),
            lock_record: self.lock_record,
            audiocodec: self.audiocodec.clone().unwrap_or(d.audiocodec.clone()),
            videocodec: self.videocodec.clone().unwrap_or(d.videocodec.clone()),
            video_svc: self.video_svc,
            vp9_profile: self.vp9_profile.clone(),
            h264_profile: self.h264_profile.clone(),
            adaptive_layers: self.adaptive_layers,
            ..d
        }
    }
}
