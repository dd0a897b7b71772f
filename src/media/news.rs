//! What the media engine tells the core about PeerConnections, and how it gets there without
//! loss: the shard posts each leg's reports to an [`Inbox`] keyed by the leg, where repeats
//! fold into one [`PeerNews`] per leg until the core drains it. A mass disconnect is then one
//! entry per leg, every hangup is heard, and the packet path never waits for the core.

use crate::core::event::MediaKind;
use crate::core::seams::PeerOwner;
use crate::sync::inbox::{Inbox, News};
use crate::sync::ParkingLot;

/// One report of a leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// ICE and DTLS are up (Janus's `webrtcup`).
    Up(PeerOwner),
    /// An incoming stream started (its first packet) or stopped (Janus's `media` event).
    Media { owner: PeerOwner, mid: String, kind: MediaKind, receiving: bool },
    /// An outgoing stream now forwards another simulcast substream or temporal layer (with
    /// `svc`: another VP9 SVC spatial or temporal layer).
    Layer { owner: PeerOwner, mid: String, svc: bool, substream: Option<u8>, temporal: Option<u8> },
    /// A publisher's audio stream started or stopped talking; the average level that decided
    /// it is `level_sum / packets` (`talk.rs`).
    Talking { owner: PeerOwner, mid: String, talking: bool, level_sum: u64, packets: u32 },
    /// A stream lost at least `slowlink_threshold` packets in the last second (`uplink`: one
    /// vroom sends, as Janus says it).
    SlowLink { owner: PeerOwner, mid: String, kind: MediaKind, uplink: bool, lost: u64 },
    /// The PeerConnection failed or closed.
    Down(PeerOwner, String),
}

/// Each leg's number, unique for the engine's life: what the inbox keys news by (a handle may
/// have a new leg while its old one's news waits).
pub(crate) type LegSerial = u64;

/// Reports collected by one wake-up of the shard.
pub(crate) type Reports = Vec<(LegSerial, PeerEvent)>;

/// A stream's `media` news.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaNews {
    pub mid: String,
    pub kind: MediaKind,
    pub receiving: bool,
}

/// A stream's simulcast news: the substream or temporal layer it forwards now (with `svc`: the
/// spatial or temporal layer of a VP9 SVC stream, as Janus names them apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerNews {
    pub mid: String,
    pub svc: bool,
    pub substream: Option<u8>,
    pub temporal: Option<u8>,
}

/// A stream's talking news (`PeerEvent::Talking`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TalkNews {
    pub mid: String,
    pub talking: bool,
    pub level_sum: u64,
    pub packets: u32,
}

/// A stream's `slowlink` news (`PeerEvent::SlowLink`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlowNews {
    pub mid: String,
    pub kind: MediaKind,
    pub uplink: bool,
    pub lost: u64,
}

/// The most talking changes a leg's news keeps until the core drains it.
const TALK_NEWS: usize = 32;

/// What one leg reported since the core last drained it. Delivered in the order a leg lives:
/// up, then its streams, then down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerNews {
    pub owner: PeerOwner,
    pub up: bool,
    /// The latest `receiving` of each stream that changed (a flap between drains is its end).
    pub media: Vec<MediaNews>,
    /// The latest layers of each stream whose layers changed.
    pub layers: Vec<LayerNews>,
    /// Each stream's changes of talking, in order: each is an event Janus sends.
    pub talking: Vec<TalkNews>,
    /// Each stream's latest slow link, per direction.
    pub slow: Vec<SlowNews>,
    /// Why it went down (the first reason, if it was given twice).
    pub down: Option<String>,
}

impl From<PeerEvent> for PeerNews {
    fn from(ev: PeerEvent) -> PeerNews {
        match ev {
            PeerEvent::Up(owner) => PeerNews { up: true, ..PeerNews::empty(owner) },
            PeerEvent::Media { owner, mid, kind, receiving } => {
                PeerNews { media: vec![MediaNews { mid, kind, receiving }], ..PeerNews::empty(owner) }
            }
            PeerEvent::Layer { owner, mid, svc, substream, temporal } => {
                PeerNews { layers: vec![LayerNews { mid, svc, substream, temporal }], ..PeerNews::empty(owner) }
            }
            PeerEvent::Talking { owner, mid, talking, level_sum, packets } => {
                PeerNews { talking: vec![TalkNews { mid, talking, level_sum, packets }], ..PeerNews::empty(owner) }
            }
            PeerEvent::SlowLink { owner, mid, kind, uplink, lost } => {
                PeerNews { slow: vec![SlowNews { mid, kind, uplink, lost }], ..PeerNews::empty(owner) }
            }
            PeerEvent::Down(owner, reason) => PeerNews { down: Some(reason), ..PeerNews::empty(owner) },
        }
    }
}

impl PeerNews {
    fn empty(owner: PeerOwner) -> PeerNews {
        PeerNews {
            owner,
            up: false,
            media: Vec::new(),
            layers: Vec::new(),
            talking: Vec::new(),
            slow: Vec::new(),
            down: None,
        }
    }
}

impl News for PeerNews {
    fn merge(&mut self, later: PeerNews) {
        self.up |= later.up;
        for l in later.layers {
            match self.layers.iter_mut().find(|old| old.mid == l.mid) {
                Some(old) => {
                    old.svc = l.svc;
                    old.substream = l.substream.or(old.substream);
                    old.temporal = l.temporal.or(old.temporal);
                }
                None => self.layers.push(l),
            }
        }
        for m in later.media {
            match self.media.iter_mut().find(|old| old.mid == m.mid && old.kind == m.kind) {
                Some(old) => old.receiving = m.receiving,
                None => self.media.push(m),
            }
        }
        // A verdict changes at most once every `audio_active_packets` packets (2 s at
        // Janus's default): each is kept, up to a bound (the latest win; they alternate, so
        // the last one kept of a stream is still its state).
        self.talking.extend(later.talking);
        for s in later.slow {
            match self.slow.iter_mut().find(|old| old.mid == s.mid && old.uplink == s.uplink) {
                Some(old) => *old = s,
                None => self.slow.push(s),
            }
        }
        let over = self.talking.len().saturating_sub(TALK_NEWS);
        self.talking.drain(..over);
        if self.down.is_none() {
            self.down = later.down;
        }
    }
}

/// The engine's inbox of news for the core.
pub type PeerInbox = Inbox<LegSerial, PeerNews, ParkingLot>;

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> PeerOwner {
        PeerOwner { session: 1, handle: 2, kind: crate::core::seams::LegKind::Publisher }
    }

    #[test]
    fn news_of_a_leg_folds_to_up_last_media_state_last_layers_and_first_down() {
        let o = owner();
        let media =
            |mid: &str, receiving| PeerEvent::Media { owner: o, mid: mid.into(), kind: MediaKind::Video, receiving };
        let layer =
            |substream, temporal| PeerEvent::Layer { owner: o, mid: "1".into(), svc: false, substream, temporal };
        let mut n = PeerNews::from(PeerEvent::Up(o));
        for ev in [
            media("0", true),
            layer(Some(0), None),
            media("1", true),
            layer(None, Some(2)),
            layer(Some(1), None),
            media("0", false),
            PeerEvent::Down(o, "ICE failed".into()),
        ] {
            n.merge(ev.into());
        }
        n.merge(PeerEvent::Down(o, "Close PC".into()).into());
        assert!(n.up);
        assert_eq!(
            n.media.iter().map(|m| (m.mid.as_str(), m.receiving)).collect::<Vec<_>>(),
            [("0", false), ("1", true)]
        );
        assert_eq!(n.layers, [LayerNews { mid: "1".into(), svc: false, substream: Some(1), temporal: Some(2) }]);
        assert_eq!(n.down.as_deref(), Some("ICE failed"));
    }
}
