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

/// What one leg reported since the core last drained it. Delivered in the order a leg lives:
/// up, then its streams, then down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerNews {
    pub owner: PeerOwner,
    pub up: bool,
    /// The latest `receiving` of each stream that changed (a flap between drains is its end).
    pub media: Vec<MediaNews>,
    /// Why it went down (the first reason, if it was given twice).
    pub down: Option<String>,
}

impl From<PeerEvent> for PeerNews {
    fn from(ev: PeerEvent) -> PeerNews {
        match ev {
            PeerEvent::Up(owner) => PeerNews { owner, up: true, media: Vec::new(), down: None },
            PeerEvent::Media { owner, mid, kind, receiving } => {
                PeerNews { owner, up: false, media: vec![MediaNews { mid, kind, receiving }], down: None }
            }
            PeerEvent::Down(owner, reason) => PeerNews { owner, up: false, media: Vec::new(), down: Some(reason) },
        }
    }
}

impl News for PeerNews {
    fn merge(&mut self, later: PeerNews) {
        self.up |= later.up;
        for m in later.media {
            match self.media.iter_mut().find(|old| old.mid == m.mid && old.kind == m.kind) {
                Some(old) => old.receiving = m.receiving,
                None => self.media.push(m),
            }
        }
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
    fn news_of_a_leg_folds_to_up_last_media_state_and_first_down() {
        let o = owner();
        let media =
            |mid: &str, receiving| PeerEvent::Media { owner: o, mid: mid.into(), kind: MediaKind::Video, receiving };
        let mut n = PeerNews::from(PeerEvent::Up(o));
        for ev in [media("0", true), media("1", true), media("0", false), PeerEvent::Down(o, "ICE failed".into())] {
            n.merge(ev.into());
        }
        n.merge(PeerEvent::Down(o, "Close PC".into()).into());
        assert!(n.up);
        assert_eq!(
            n.media.iter().map(|m| (m.mid.as_str(), m.receiving)).collect::<Vec<_>>(),
            [("0", false), ("1", true)]
        );
        assert_eq!(n.down.as_deref(), Some("ICE failed"));
    }
}
