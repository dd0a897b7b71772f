//! The admin API's `handle_info`: what the core knows of a handle (its session, its plugin's
//! view of it) and what its PeerConnection is doing (asked of its media endpoint). Taken in
//! the lock order: the session, then the handle, then its room and publisher or subscriber;
//! the endpoint's own leaf lock last. Looking is not activity: the session's timeout is not
//! pushed back.

use std::sync::Arc;

use super::event::{StreamInfo, SubStreamInfo};
use super::ids::{HandleId, ParticipantId, PrivateId, RoomId, SessionId, TransportId};
use super::room::Role;
use super::seams::PeerInfo;
use super::session::{Handle, Plugin};
use super::{Core, Result};
use crate::sync::order::{Token, Unlocked};
use crate::sync::Runtime;

pub struct HandleInfo {
    pub session: SessionId,
    pub session_last_activity_ms: u64,
    pub session_transport: TransportId,
    pub handle: HandleId,
    pub opaque_id: Option<String>,
    pub created_ms: u64,
    pub now_ms: u64,
    pub plugin: Plugin,
    pub view: PluginView,
    /// The handle's PeerConnection, once it has one.
    pub peer: Option<PeerInfo>,
}

/// The plugin's own view of the handle.
pub enum PluginView {
    /// Attached, nothing asked of the plugin yet.
    Idle,
    Echo,
    Publisher {
        room: RoomId,
        id: ParticipantId,
        private_id: PrivateId,
        display: Option<String>,
        /// The room's bitrate cap.
        bitrate: u32,
        /// Each stream, with how many subscriber streams it is forwarded to.
        streams: Vec<(StreamInfo, usize)>,
    },
    Subscriber {
        room: RoomId,
        streams: Vec<SubStreamInfo>,
        paused: bool,
    },
    /// The handle left its room.
    Left {
        room: RoomId,
    },
}

impl<R: Runtime> Core<R> {
    pub fn handle_info(&self, session: SessionId, handle: HandleId) -> Result<HandleInfo> {
        let mut t = Self::enter();
        let s = self.find_session(&mut t, session)?;
        let (h, last_activity, transport) = s.peek_handle(&mut t, handle)?;
        let (view, peer) = self.plugin_view(&mut t, &h)?;
        Ok(HandleInfo {
            session,
            session_last_activity_ms: last_activity,
            session_transport: transport,
            handle,
            opaque_id: h.opaque_id.clone(),
            created_ms: h.created_ms,
            now_ms: self.clock.now_ms(),
            plugin: h.plugin,
            view,
            peer,
        })
    }

    fn plugin_view(&self, t: &mut Token<Unlocked>, h: &Arc<Handle<R>>) -> Result<(PluginView, Option<PeerInfo>)> {
        let mut hg = h.state.lock(t);
        let (hs, ht) = hg.split();
        if hs.detached {
            return Err(h.gone());
        }
        Ok(match &hs.role {
            // An EchoTest handle is the plugin's session from its attach on, as in Janus.
            Role::Idle if h.plugin == Plugin::EchoTest => (PluginView::Echo, None),
            Role::Idle => (PluginView::Idle, None),
            Role::Echo { port } => (PluginView::Echo, port.as_ref().map(|p| p.info(&mut ht.media()))),
            Role::Spent { room } => (PluginView::Left { room: *room }, None),
            Role::Publisher { room, me } => {
                let mut rg = room.state.read(ht);
                let (st, rt) = rg.split_ref();
                let bitrate = st.config.bitrate;
                let mut pg = me.state.lock(rt);
                let (pg, pt) = pg.split();
                let streams = pg.streams.iter().map(|s| (s.info.clone(), s.fanout.len())).collect();
                let view = PluginView::Publisher {
                    room: room.id,
                    id: me.id,
                    private_id: me.private_id,
                    display: pg.display.clone(),
                    bitrate,
                    streams,
                };
                (view, pg.port.as_ref().map(|p| p.info(&mut pt.media())))
            }
            Role::Subscriber { room, me } => {
                let mut sg = me.state.lock(ht);
                let (sg, st) = sg.split();
                let view = PluginView::Subscriber { room: room.id, streams: sg.streams.clone(), paused: sg.paused };
                (view, sg.port.as_ref().map(|p| p.info(&mut st.media())))
            }
        })
    }
}
