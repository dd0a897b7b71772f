//! What the media engine tells the core about PeerConnections: up, media arriving, gone. Each is
//! an entry point like a client request (root token), delivered from the engine's channel, so
//! the packet path never waits for a core lock.

use crate::sync::order::{MediaCall, Token};
use crate::sync::{levels, Runtime};

use super::event::{EchoEvent, EventBody, MediaKind, RoomEvent};
use super::room::Role;
use super::seams::{LegKind, MediaPort, PeerOwner, TrickleCandidate};
use super::session::{Handle, HandleState};
use super::{Core, Result};

/// Candidates kept for a PeerConnection that does not exist yet (Janus keeps them too: a
/// client over HTTP may trickle before its offer was handled).
const EARLY_CANDIDATES: usize = 64;

impl<R: Runtime> Core<R> {
    /// ICE and DTLS are up: the handle hears `webrtcup`, and a publisher becomes a feed.
    pub fn peer_up(&self, owner: PeerOwner) -> Result<()> {
        let h = self.handle(owner.session, owner.handle)?;
        h.send(None, EventBody::WebrtcUp);
        if owner.kind == LegKind::Publisher {
            self.media_up(&h)?;
        }
        Ok(())
    }

    /// Media started (or stopped) arriving on `mid`.
    pub fn peer_media(&self, owner: PeerOwner, mid: String, kind: MediaKind, receiving: bool) -> Result<()> {
        let h = self.handle(owner.session, owner.handle)?;
        h.send(None, EventBody::Media { mid, kind, receiving });
        Ok(())
    }

    /// A stream of the handle's PeerConnection lost `lost` packets in the last second
    /// (`slowlink`; `uplink`: a stream vroom sends, as Janus says it).
    /// The VideoRoom tells its own `slow_link` first, as Janus's does: a subscriber of what it
    /// is sent, a publisher of what it sends (with the room's bitrate cap).
    pub fn peer_slowlink(&self, owner: PeerOwner, mid: String, kind: MediaKind, uplink: bool, lost: u64) -> Result<()> {
        let h = self.handle(owner.session, owner.handle)?;
        let plugin = match (owner.kind, uplink, self.room_of(&h)) {
            (LegKind::Subscriber, true, Some(_)) => Some(None),
            (LegKind::Publisher, false, Some(room)) => Some(Some(self.room(room)?.read(&mut Self::enter()).bitrate())),
            _ => None,
        };
        if let Some(current_bitrate) = plugin {
            h.send(None, EventBody::VideoRoom(RoomEvent::SlowLink { current_bitrate }));
        }
        h.send(None, EventBody::SlowLink { mid, kind, uplink, lost });
        Ok(())
    }

    /// A publisher's audio stream `mid` started or stopped talking; `level_sum / packets` is
    /// the average level that decided it.
    pub fn peer_talking(&self, owner: PeerOwner, mid: &str, talking: bool, level_sum: u64, packets: u32) -> Result<()> {
        let h = self.handle(owner.session, owner.handle)?;
        if owner.kind == LegKind::Publisher {
            self.talking(&h, mid, talking, level_sum, packets)?;
        }
        Ok(())
    }

    /// A subscriber stream (or an EchoTest's echo) now forwards another simulcast substream or
    /// temporal layer (`svc`: VP9 SVC spatial or temporal layer): its handle hears it as Janus
    /// tells it, one event per change.
    pub fn peer_layer(
        &self,
        owner: PeerOwner,
        mid: String,
        svc: bool,
        substream: Option<u8>,
        temporal: Option<u8>,
    ) -> Result<()> {
        let h = self.handle(owner.session, owner.handle)?;
        if owner.kind == LegKind::Echo {
            let videocodec = self.echo_codec(&h, &mid).unwrap_or_default();
            for e in EchoEvent::layers(&videocodec, svc, substream, temporal) {
                h.send(None, EventBody::EchoTest(e));
            }
            return Ok(());
        }
        let Some(room) = self.room_of(&h).filter(|_| owner.kind == LegKind::Subscriber) else { return Ok(()) };
        for e in RoomEvent::layers(room, &mid, svc, substream, temporal) {
            h.send(None, EventBody::VideoRoom(e));
        }
        Ok(())
    }

    /// The codec (Janus's name) of an EchoTest handle's stream `mid`.
    fn echo_codec(&self, h: &Handle<R>, mid: &str) -> Option<String> {
        let mut t = Self::enter();
        let mut hg = h.state.lock(&mut t);
        let (hs, ht) = hg.split();
        let Role::Echo { port: Some(port) } = &hs.role else { return None };
        port.info(&mut ht.media()).streams.into_iter().find(|s| s.mid == mid)?.codec.map(|(name, _)| name)
    }

    /// The PeerConnection failed: as a `hangup` request.
    pub fn peer_down(&self, owner: PeerOwner, reason: &str) -> Result<()> {
        self.hangup(owner.session, owner.handle, reason)
    }
}

impl<R: Runtime> Core<R> {
    /// `trickle`: the client's ICE candidates (`None`: its gathering is complete).
    pub fn trickle(
        &self,
        session: super::ids::SessionId,
        handle: super::ids::HandleId,
        candidates: &[Option<TrickleCandidate>],
    ) -> Result<()> {
        let h = self.handle(session, handle)?;
        let mut t = Self::enter();
        let mut hg = h.state.lock(&mut t);
        if hg.detached {
            return Err(h.gone());
        }
        let (st, ht) = hg.split();
        let applied = with_port(st, ht, |port, held| {
            for c in candidates {
                if let Err(e) = port.add_candidate(held, c.as_ref()) {
                    tracing::warn!(session, handle, "candidate refused: {e}");
                }
            }
        });
        if applied.is_none() {
            let room = EARLY_CANDIDATES.saturating_sub(st.early_candidates.len());
            st.early_candidates.extend(candidates.iter().flatten().take(room).cloned());
        }
        Ok(())
    }

    /// Hands a new PeerConnection the candidates trickled before it existed.
    pub(crate) fn flush_early_candidates(&self, h: &Handle<R>) {
        let mut t = Self::enter();
        let mut hg = h.state.lock(&mut t);
        let (st, ht) = hg.split();
        if st.early_candidates.is_empty() {
            return;
        }
        let early = std::mem::take(&mut st.early_candidates);
        let applied = with_port(st, ht, |port, held| {
            for c in &early {
                let _ = port.add_candidate(held, Some(c));
            }
        });
        if applied.is_none() {
            st.early_candidates = early;
        }
    }
}

/// Runs `f` on the handle's PeerConnection endpoint, if it has one, with the token to call it.
fn with_port<R: Runtime, T>(
    st: &HandleState<R>,
    t: &mut Token<levels::Handle>,
    f: impl FnOnce(&dyn MediaPort, &mut Token<MediaCall>) -> T,
) -> Option<T> {
    match &st.role {
        Role::Echo { port: Some(port) } => Some(f(&**port, &mut t.media())),
        Role::Publisher { me, .. } => {
            let mut pg = me.state.lock(t);
            let (state, token) = pg.split();
            state.port.as_deref().map(|port| f(port, &mut token.media()))
        }
        Role::Subscriber { me, .. } => {
            let mut sg = me.state.lock(t);
            let (state, token) = sg.split();
            state.port.as_deref().map(|port| f(port, &mut token.media()))
        }
        _ => None,
    }
}
