//! What a load run does: a TOML file (every key has a default) whose keys the command line can
//! override. Two kinds of clients run side by side:
//!
//! * **media clients**, who stay: in each of `rooms` rooms, `publishers` publishers send VP8
//!   (and Opus) and `subscribers` subscribers receive every publisher of their room, each its
//!   own session, WebSocket and PeerConnection. With a `lifetime` they leave and come back,
//!   and the `*_every` keys make them switch, configure, resubscribe and republish meanwhile;
//! * **churn clients**, `churn` sessions a second that create, attach, join a room, list its
//!   participants, leave and destroy: the signalling load of people coming and going.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// A name for the report and plot titles.
    pub name: String,
    /// The server's Janus API WebSocket.
    pub url: String,
    /// The server's admin WebSocket and secret: vroom's `accounting` is read before and after
    /// (Janus has none; its process is still read by `server_pid`).
    pub admin_url: Option<String>,
    pub admin_secret: String,
    /// The server's process, for its CPU, memory, descriptors and threads.
    pub server_pid: Option<u32>,
    /// How long the load runs once the media clients are up, in seconds.
    pub duration_s: f64,
    /// The rooms are created by the run (ids from `first_room`) and destroyed after it.
    pub rooms: u32,
    pub first_room: u64,
    pub publishers: u32,
    pub subscribers: u32,
    /// The media a publisher sends: VP8 at this bitrate in packets of this size, and Opus.
    pub video_kbps: u64,
    pub video_payload: usize,
    pub audio: bool,
    /// The address the peers' sockets bind to (their host candidate).
    pub bind: IpAddr,
    /// Signalling-only sessions started per second.
    pub churn: f64,
    /// Media clients leave and rejoin after this many seconds (none: they stay).
    pub lifetime_s: Option<f64>,
    /// Each subscriber switches one stream to another publisher of its room this often.
    pub switch_every_s: Option<f64>,
    /// Each publisher reconfigures (its bitrate cap) this often.
    pub configure_every_s: Option<f64>,
    /// Each subscriber unsubscribes from one feed and subscribes to it again this often.
    pub subscribe_every_s: Option<f64>,
    /// Each publisher unpublishes and publishes again this often.
    pub unpublish_every_s: Option<f64>,
    /// How many media clients connect at once while the run sets up.
    pub setup_parallel: usize,
    /// This many seconds into the measurement, a client does what stalls Janus 1.1.2's
    /// VideoRoom (JCB-04, `poison.rs`); none: it does not.
    pub poison_at_s: Option<f64>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "load".into(),
            url: "ws://127.0.0.1:8188".into(),
            admin_url: None,
            admin_secret: "janusoverlord".into(),
            server_pid: None,
            duration_s: 30.0,
            rooms: 1,
            first_room: 5000,
            publishers: 2,
            subscribers: 4,
            video_kbps: 500,
            video_payload: 1000,
            audio: true,
            bind: IpAddr::from([127, 0, 0, 1]),
            churn: 0.0,
            lifetime_s: None,
            switch_every_s: None,
            configure_every_s: None,
            subscribe_every_s: None,
            unpublish_every_s: None,
            setup_parallel: 8,
            poison_at_s: None,
        }
    }
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s.max(0.0))
    }

    /// Media clients in the run (PeerConnections).
    pub fn media_clients(&self) -> u32 {
        self.rooms * (self.publishers + self.subscribers)
    }

    /// Refuses what cannot run.
    pub fn check(&self) -> Result<(), String> {
        if self.rooms == 0 && self.churn <= 0.0 {
            return Err("nothing to do: no rooms and no churn".into());
        }
        if self.subscribers > 0 && self.publishers == 0 {
            return Err("subscribers need publishers to subscribe to".into());
        }
        if self.video_payload < super::stamp::MIN_PAYLOAD || self.video_payload > 1200 {
            return Err(format!("video_payload must be within {}..=1200 bytes", super::stamp::MIN_PAYLOAD));
        }
        for (key, v) in [
            ("lifetime_s", self.lifetime_s),
            ("switch_every_s", self.switch_every_s),
            ("configure_every_s", self.configure_every_s),
            ("subscribe_every_s", self.subscribe_every_s),
            ("unpublish_every_s", self.unpublish_every_s),
        ] {
            if v.is_some_and(|v| v.is_nan() || v <= 0.0) {
                return Err(format!("{key} must be a positive number of seconds"));
            }
        }
        if self.setup_parallel == 0 {
            return Err("setup_parallel must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_keys_have_defaults_and_unknown_ones_are_refused() {
        let s: Scenario = toml::from_str("rooms = 3\nchurn = 50.0\nswitch_every_s = 2.5").unwrap();
        assert_eq!((s.rooms, s.publishers, s.churn, s.switch_every_s), (3, 2, 50.0, Some(2.5)));
        assert_eq!(s.media_clients(), 18);
        assert!(s.check().is_ok());
        assert!(toml::from_str::<Scenario>("room = 3").is_err());
        let bad = Scenario { switch_every_s: Some(0.0), ..Scenario::default() };
        assert!(bad.check().unwrap_err().contains("switch_every_s"));
    }
}
