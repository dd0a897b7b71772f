//! Recording a publisher, as Janus's VideoRoom does: while its media is up and recording is on
//! for it (the room's `record`, its own `record`, `enable_recording`), each of its audio and
//! video streams goes to a file of its own in the room's `rec_dir`, named after its `filename`
//! or, without one, `videoroom-<room>-user-<id>-<µs>-<audio|video>-<mindex>`. The files are
//! written off the packet path (`crate::record`); here they are only opened and closed, which
//! does no I/O, so it happens under the room's and the publisher's locks.

use std::path::PathBuf;

use super::config::RoomConfig;
use crate::core::event::{MediaKind, StreamInfo};
use crate::core::ids::{ParticipantId, RoomId};
use crate::core::seams::{Clock, ForwardTo, RecordSpec, SocketFactory};

/// A publisher's recording wishes: its own `record`, and the base of its files' names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordWish {
    pub record: Option<bool>,
    pub filename: Option<String>,
    /// The room's secret, which a room with `lock_record` asks for.
    pub secret: Option<String>,
}

/// What the recording of one publisher needs to know of the world.
pub(crate) struct RecordSite<'a> {
    pub config: &'a RoomConfig,
    pub room: RoomId,
    pub id: ParticipantId,
    pub sockets: &'a dyn SocketFactory,
    pub clock: &'a dyn Clock,
}

/// A recording of each audio and video stream of `streams` (of a publisher whose files are
/// named after `base`, if it gave one).
pub(crate) fn open<'s>(
    streams: impl Iterator<Item = &'s StreamInfo>,
    base: Option<&str>,
    site: &RecordSite<'_>,
) -> Vec<ForwardTo> {
    let now = site.clock.unix_us();
    let mut recordings = Vec::new();
    for s in streams.filter(|s| !s.disabled) {
        let kind = match s.kind {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Data => continue,
        };
        let Some(codec) = s.codec.clone() else { continue };
        let name = match base {
            Some(base) => format!("{base}-{kind}-{}.mjr", s.mindex),
            None => format!("videoroom-{}-user-{}-{now}-{kind}-{}.mjr", site.room, site.id, s.mindex),
        };
        let path = match &site.config.rec_dir {
            Some(dir) => PathBuf::from(dir).join(name),
            None => PathBuf::from(name),
        };
        let spec = RecordSpec {
            path,
            kind: s.kind.clone(),
            codec,
            fmtp: None,
            description: s.description.clone(),
            created_us: now,
        };
        // Of a simulcast stream, the lowest substream (every publisher sends it).
        let substream = s.simulcast.then_some(0);
        recordings.push(ForwardTo { mid: s.mid.clone(), substream, sink: site.sockets.open_recording(spec) });
    }
    recordings
}
