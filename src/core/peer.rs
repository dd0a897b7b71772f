//! What the media engine tells the core about PeerConnections: up, media arriving, gone. Each is
//! an entry point like a client request (root token), delivered from the engine's channel, so
//! the packet path never waits for a core lock.

use crate::sync::Runtime;

use super::event::{EventBody, MediaKind};
use super::seams::{LegKind, PeerOwner};
use super::{Core, Result};

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

    /// The PeerConnection failed: as a `hangup` request.
    pub fn peer_down(&self, owner: PeerOwner, reason: &str) -> Result<()> {
        self.hangup(owner.session, owner.handle, reason)
    }
}
