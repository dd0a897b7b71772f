//! The synchronous VideoRoom requests: create, edit, destroy, exists, list, listparticipants,
//! allowed, kick, moderate.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::sync::Runtime;

use super::config::{AllowedAction, ParticipantInfo, RoomConfig, RoomEdit, RoomInfo};
use super::publisher::{Departure, Media};
use super::{notification, Room, RoomMap};
use crate::core::error::{Error, Result};
use crate::core::event::RoomEvent;
use crate::core::ids::{ParticipantId, RoomId};
use crate::core::outbox::Outbox;
use crate::core::Core;

/// What a room asks of a publisher's offer, for the answer to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferRules {
    /// The profiles it chooses (`vp9_profile`, `h264_profile`).
    pub vp9_profile: Option<String>,
    pub h264_profile: Option<String>,
    /// The video codecs it allows, in its order of preference (`videocodec`).
    pub videocodecs: Vec<String>,
    /// Whether it negotiates the audio level extension (`audiolevel_ext`).
    pub audio_level: bool,
}

impl Default for OfferRules {
    /// Janus's defaults: no profile or codec chosen, the audio level negotiated.
    fn default() -> Self {
        OfferRules { vp9_profile: None, h264_profile: None, videocodecs: Vec::new(), audio_level: true }
    }
}

impl<R: Runtime> Core<R> {
    fn check_admin_key(&self, given: Option<&str>) -> Result<()> {
        match (&self.config.admin_key, given) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(Error::MissingElement("admin_key")),
            (Some(k), Some(g)) if k == g => Ok(()),
            (Some(_), Some(_)) => Err(Error::NotAllowed("wrong admin_key")),
        }
    }

    /// `create`. Returns the room id (the asked one, or a fresh one).
    pub fn create_room(&self, id: Option<RoomId>, config: RoomConfig, admin_key: Option<&str>) -> Result<RoomId> {
        self.check_admin_key(admin_key)?;
        let mut t = Self::enter();
        let mut map = self.rooms.write(&mut t);
        let RoomMap { rooms, ids } = &mut *map;
        let id = match id {
            Some(id) if rooms.contains_key(&id) => return Err(Error::RoomExists(id)),
            Some(id) => id,
            None => ids.id(|v| rooms.contains_key(&v)),
        };
        let room = Arc::new(Room::new(id, config, ids.fork()));
        rooms.insert(id, room);
        Ok(id)
    }

    /// `edit`.
    pub fn edit_room(&self, id: RoomId, secret: Option<&str>, edit: RoomEdit) -> Result<()> {
        self.as_room_admin(id, secret, |st, _, _| {
            edit.apply(&mut st.config);
            Ok(())
        })
    }

    /// `destroy`: every participant and subscriber gets `destroyed` exactly once; afterwards the
    /// room refuses everything with 426 and is gone from the registry.
    pub fn destroy_room(&self, id: RoomId, secret: Option<&str>) -> Result<()> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, id)?;
        let mut out = Outbox::new();
        {
            let mut rg = room.state.write(&mut t);
            let (st, rt) = rg.split();
            st.live(id)?;
            st.config.check_secret(secret)?;
            st.destroyed = true;
            st.publishing.clear();
            st.private_ids.clear();
            for p in std::mem::take(&mut st.publishers).into_values() {
                let mut pg = p.state.lock(rt);
                pg.departed = Some(Departure::RoomDestroyed);
                pg.media = Media::Idle;
                pg.streams.clear();
                out.discard(pg.port.take());
                out.discard(std::mem::take(&mut pg.forwarders));
                out.push(&p.queue, notification(p.handle, RoomEvent::Destroyed { room: id }));
            }
            for s in std::mem::take(&mut st.subscribers).into_values() {
                let mut sg = s.state.lock(rt);
                sg.left = true;
                out.discard(sg.port.take());
                out.push(&s.queue, notification(s.handle, RoomEvent::Destroyed { room: id }));
            }
        }
        {
            // The registry is taken only after the room is released (never both: JCB-07). A
            // lookup in between finds the room destroyed and answers 426.
            let mut map = self.rooms.write(&mut t);
            if map.rooms.get(&id).is_some_and(|r| Arc::ptr_eq(r, &room)) {
                map.rooms.remove(&id);
            }
        }
        out.deliver(&mut t);
        Ok(())
    }

    /// `exists`: an unknown (or destroyed) room is not an error.
    pub fn room_exists(&self, id: RoomId) -> bool {
        let mut t = Self::enter();
        match self.find_room(&mut t, id) {
            Ok(room) => !room.state.read(&mut t).destroyed,
            Err(_) => false,
        }
    }

    /// What room `id` asks of a publisher's offer; a room that does not exist asks nothing.
    pub fn offer_rules(&self, id: RoomId) -> OfferRules {
        let mut t = Self::enter();
        let Ok(room) = self.find_room(&mut t, id) else { return OfferRules::default() };
        let c = &room.state.read(&mut t).config;
        OfferRules {
            vp9_profile: c.vp9_profile.clone(),
            h264_profile: c.h264_profile.clone(),
            videocodecs: c.videocodec.split(',').map(|c| c.trim().to_string()).collect(),
            audio_level: c.audiolevel_ext,
        }
    }

    /// `list`: private rooms only with the right `admin_key`.
    pub fn list_rooms(&self, admin_key: Option<&str>) -> Vec<RoomInfo> {
        let show_private = self.config.admin_key.is_some() && self.check_admin_key(admin_key).is_ok();
        let mut t = Self::enter();
        let rooms: Vec<_> = self.rooms.read(&mut t).rooms.values().cloned().collect();
        rooms
            .iter()
            .filter_map(|room| {
                let st = room.state.read(&mut t);
                (!st.destroyed && (!st.config.is_private || show_private)).then(|| RoomInfo {
                    room: room.id,
                    config: st.config.clone(),
                    num_participants: st.publishers.len(),
                })
            })
            .collect()
    }

    /// `listparticipants`: every publisher-role participant, `publisher: true` once its media
    /// is up. The list side of Janus #3463: room, then each publisher.
    pub fn list_participants(&self, id: RoomId) -> Result<Vec<ParticipantInfo>> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, id)?;
        let mut rg = room.state.read(&mut t);
        let (st, rt) = rg.split_ref();
        st.live(id)?;
        let mut list = Vec::with_capacity(st.publishers.len());
        for p in st.publishers.values() {
            let pg = p.state.lock(rt);
            let publisher = pg.media == Media::Active;
            // As Janus: once its media is up, if an audio stream tells its level.
            let levels = pg.streams.iter().filter_map(|s| s.info.talking);
            let talking = levels.clone().next().filter(|_| publisher).map(|_| levels.clone().any(|t| t));
            list.push(ParticipantInfo { id: p.id, display: pg.display.clone(), publisher, dummy: pg.dummy, talking });
        }
        Ok(list)
    }

    /// `allowed`: edits the token list; returns it (`None` when the room checks no tokens).
    pub fn allowed(
        &self,
        id: RoomId,
        secret: Option<&str>,
        action: AllowedAction,
        tokens: &[String],
    ) -> Result<Option<Vec<String>>> {
        self.as_room_admin(id, secret, |st, _, _| {
            let acl = &mut st.config.allowed;
            match action {
                AllowedAction::Enable => {
                    acl.get_or_insert_with(BTreeSet::new);
                }
                AllowedAction::Disable => *acl = None,
                AllowedAction::Add => acl.get_or_insert_with(BTreeSet::new).extend(tokens.iter().cloned()),
                AllowedAction::Remove => {
                    if let Some(list) = acl.as_mut() {
                        for tok in tokens {
                            list.remove(tok);
                        }
                    }
                }
            }
            Ok(acl.as_ref().map(|list| list.iter().cloned().collect()))
        })
    }

    /// `kick`: everyone hears `kicked`, the kicked handle gets `leaving` with reason `kicked`.
    pub fn kick(&self, id: RoomId, secret: Option<&str>, participant: ParticipantId) -> Result<()> {
        self.as_room_admin(id, secret, |st, rt, out| {
            let p = st.publishers.get(&participant).cloned().ok_or(Error::NoSuchUser { room: id, id: participant })?;
            st.retire_publisher(id, &p, Departure::Kicked, rt, out);
            Ok(())
        })
    }

    /// `enable_recording`: the room's `record` from now on, and every publisher's with it
    /// (those whose media is up start or stop recording at once).
    pub fn enable_recording(&self, id: RoomId, secret: Option<&str>, record: bool) -> Result<()> {
        self.as_room_admin(id, secret, |st, rt, _out| {
            if st.config.record == record {
                return Ok(());
            }
            st.config.record = record;
            for p in st.publishers.values() {
                let mut pg = p.state.lock(rt);
                pg.recording = record;
                pg.sync_recordings(&self.record_site(st, id, p.id));
            }
            Ok(())
        })
    }

    /// `moderate`: mutes or unmutes one of a publisher's streams; the room hears `moderation`.
    pub fn moderate(
        &self,
        id: RoomId,
        secret: Option<&str>,
        participant: ParticipantId,
        mid: &str,
        mute: bool,
    ) -> Result<()> {
        self.as_room_admin(id, secret, |st, rt, out| {
            let p = st.publishers.get(&participant).ok_or(Error::NoSuchUser { room: id, id: participant })?;
            let mut pg = p.state.lock(rt);
            let s = pg.stream_mut(mid).ok_or_else(|| Error::NoSuchStream(mid.to_string()))?;
            if s.info.moderated != mute {
                s.info.moderated = mute;
                let ev = RoomEvent::Moderation { room: id, id: participant, mid: mid.to_string(), muted: mute };
                st.notify_publishers(None, out, ev);
            }
            Ok(())
        })
    }
}
