//! A room's options (the `create` request and the `room-<id>` sections of Janus's
//! `janus.plugin.videoroom.jcfg`), with Janus's defaults.

use std::collections::BTreeSet;

use crate::core::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomConfig {
    pub description: Option<String>,
    pub is_private: bool,
    pub secret: Option<String>,
    pub pin: Option<String>,
    /// The `allowed` token list; `None` when the room checks no tokens.
    pub allowed: Option<BTreeSet<String>>,
    pub require_pvtid: bool,
    pub require_e2ee: bool,
    /// Maximum number of publishers with media at once (`publishers`).
    pub max_publishers: u32,
    pub bitrate: u32,
    pub bitrate_cap: bool,
    pub fir_freq: u32,
    pub audiocodec: String,
    pub videocodec: String,
    pub opus_fec: bool,
    pub opus_dtx: bool,
    pub video_svc: bool,
    pub audiolevel_ext: bool,
    pub audiolevel_event: bool,
    pub audio_active_packets: u32,
    pub audio_level_average: u32,
    pub videoorient_ext: bool,
    pub playoutdelay_ext: bool,
    pub transport_wide_cc_ext: bool,
    pub record: bool,
    pub rec_dir: Option<String>,
    pub lock_record: bool,
    pub notify_joining: bool,
    pub dummy_publisher: bool,
    /// The VP9 profile (`profile-id`, 0-3) and H.264 profile (`profile-level-id`, six hex
    /// digits) answers and offers use, when the publisher offers several.
    pub vp9_profile: Option<String>,
    pub h264_profile: Option<String>,
    /// vroom's own: subscribers' simulcast substreams follow their bandwidth unless they say
    /// otherwise (`adaptive_layers` in their streams).
    pub adaptive_layers: bool,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            description: None,
            is_private: false,
            secret: None,
            pin: None,
            allowed: None,
            require_pvtid: false,
            require_e2ee: false,
            max_publishers: 3,
            bitrate: 0,
            bitrate_cap: false,
            fir_freq: 0,
            audiocodec: "opus".into(),
            videocodec: "vp8".into(),
            opus_fec: true,
            opus_dtx: false,
            video_svc: false,
            audiolevel_ext: true,
            audiolevel_event: false,
            audio_active_packets: 100,
            audio_level_average: 25,
            videoorient_ext: true,
            playoutdelay_ext: true,
            transport_wide_cc_ext: true,
            record: false,
            rec_dir: None,
            lock_record: false,
            notify_joining: false,
            dummy_publisher: false,
            vp9_profile: None,
            h264_profile: None,
            adaptive_layers: false,
        }
    }
}

/// A `vp9_profile` value: a VP9 `profile-id` (0 to 3). Anything else ends up in SDP unchecked in
/// Janus 1.1.2 (JCB-04: a line break there stalls its VideoRoom), so it is refused (430).
pub fn vp9_profile(v: Option<String>) -> Result<Option<String>> {
    match v {
        Some(p) if !matches!(p.as_str(), "0" | "1" | "2" | "3") => Err(Error::InvalidValue("vp9_profile")),
        v => Ok(v),
    }
}

/// An `h264_profile` value: an H.264 `profile-level-id`, six hexadecimal digits.
pub fn h264_profile(v: Option<String>) -> Result<Option<String>> {
    match v {
        Some(p) if p.len() != 6 || !p.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(Error::InvalidValue("h264_profile"))
        }
        v => Ok(v),
    }
}

impl RoomConfig {
    /// Janus names an undescribed room "Room <id>".
    pub fn description_or_default(&self, room: u64) -> String {
        self.description.clone().unwrap_or_else(|| format!("Room {room}"))
    }

    pub(crate) fn check_secret(&self, given: Option<&str>) -> Result<()> {
        check(self.secret.as_deref(), given, "secret", Error::WrongSecret)
    }

    pub(crate) fn check_pin(&self, given: Option<&str>) -> Result<()> {
        check(self.pin.as_deref(), given, "pin", Error::WrongPin)
    }

    pub(crate) fn check_token(&self, token: Option<&str>) -> Result<()> {
        match (&self.allowed, token) {
            (None, _) => Ok(()),
            (Some(list), Some(t)) if list.contains(t) => Ok(()),
            (Some(_), _) => Err(Error::NotAllowed("not in the allowed list")),
        }
    }
}

fn check(expected: Option<&str>, given: Option<&str>, name: &'static str, wrong: Error) -> Result<()> {
    match (expected, given) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Error::MissingElement(name)),
        (Some(e), Some(g)) if e == g => Ok(()),
        (Some(_), Some(_)) => Err(wrong),
    }
}

/// The `new_*` fields of an `edit` request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomEdit {
    pub description: Option<String>,
    pub secret: Option<String>,
    pub pin: Option<String>,
    pub is_private: Option<bool>,
    pub require_pvtid: Option<bool>,
    pub bitrate: Option<u32>,
    pub fir_freq: Option<u32>,
    pub max_publishers: Option<u32>,
    pub lock_record: Option<bool>,
    pub rec_dir: Option<String>,
}

impl RoomEdit {
    pub(crate) fn apply(self, c: &mut RoomConfig) {
        if let Some(v) = self.description {
            c.description = Some(v);
        }
        if let Some(v) = self.secret {
            c.secret = Some(v);
        }
        if let Some(v) = self.pin {
            c.pin = if v.is_empty() { None } else { Some(v) };
        }
        if let Some(v) = self.is_private {
            c.is_private = v;
        }
        if let Some(v) = self.require_pvtid {
            c.require_pvtid = v;
        }
        if let Some(v) = self.bitrate {
            c.bitrate = v;
        }
        if let Some(v) = self.fir_freq {
            c.fir_freq = v;
        }
        if let Some(v) = self.max_publishers {
            c.max_publishers = v;
        }
        if let Some(v) = self.lock_record {
            c.lock_record = v;
        }
        if let Some(v) = self.rec_dir {
            c.rec_dir = Some(v);
        }
    }
}

/// The `action` of an `allowed` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedAction {
    Enable,
    Disable,
    Add,
    Remove,
}

/// One room as `list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomInfo {
    pub room: u64,
    pub config: RoomConfig,
    /// Publisher-role participants, publishing or not (subscribers are not counted).
    pub num_participants: usize,
}

/// One participant as `listparticipants` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantInfo {
    pub id: u64,
    pub display: Option<String>,
    /// True once the participant's media is up (Janus: a feed others can subscribe to).
    pub publisher: bool,
    /// The room's placeholder publisher.
    pub dummy: bool,
    /// Whether it is talking, for a publisher whose audio has the audio level extension.
    pub talking: Option<bool>,
}
