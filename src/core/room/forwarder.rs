//! RTP forwarders: `rtp_forward`, `stop_rtp_forward`, `listforwarders`.
//!
//! This is where Janus leaked `streams_mutex` when `socket()` failed (#3468): it created the
//! socket while holding four locks. vroom validates under the locks, releases them, opens the
//! sockets holding nothing (the root token proves it), then takes the locks again to install
//! them, so a failed socket leaves no lock behind by construction; closing a socket also happens
//! only after release.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::sync::order::{Token, Unlocked};
use crate::sync::Runtime;

use super::Room;
use crate::core::error::{Error, Result};
use crate::core::event::MediaKind;
use crate::core::ids::{ParticipantId, RoomId};
use crate::core::seams::{ForwardTo, ForwarderSocket};
use crate::core::Core;

pub(crate) struct Forwarder {
    pub stream_id: u32,
    pub kind: MediaKind,
    pub socket: Arc<dyn ForwarderSocket>,
    /// Where the media engine sends it (the same socket).
    pub to: ForwardTo,
}

/// Tells the publisher's media endpoint where its packets go now: its forwarders and its
/// recordings.
pub(crate) fn publish_forwarders(p: &super::publisher::PublisherState) {
    if let Some(port) = &p.port {
        let forwarders = p.forwarders.iter().map(|f| f.to.clone());
        let targets: Vec<ForwardTo> = forwarders.chain(p.recordings.iter().cloned()).collect();
        port.set_forwarders(&targets);
    }
}

/// `rtp_forward`: send these mids of a publisher to these addresses.
#[derive(Clone, Debug)]
pub struct ForwardRequest {
    pub room: RoomId,
    pub secret: Option<String>,
    pub publisher: ParticipantId,
    pub streams: Vec<ForwardStream>,
}

/// One forwarder asked for: a publisher stream to a target. Janus's `port`, `port_2` and
/// `port_3` of a stream are its simulcast substreams 0, 1 and 2 (`port` alone forwards a
/// stream without simulcast).
#[derive(Clone, Debug)]
pub struct ForwardStream {
    pub mid: String,
    pub target: SocketAddr,
    pub substream: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwarderInfo {
    pub stream_id: u32,
    pub mid: String,
    pub kind: MediaKind,
    pub target: SocketAddr,
    pub local: SocketAddr,
    pub substream: Option<u8>,
}

impl Forwarder {
    fn info(&self) -> ForwarderInfo {
        ForwarderInfo {
            stream_id: self.stream_id,
            mid: self.to.mid.clone(),
            kind: self.kind.clone(),
            target: self.socket.target(),
            local: self.socket.local_addr(),
            substream: self.to.substream,
        }
    }
}

impl<R: Runtime> Room<R> {
    /// Runs `f` on a publisher of this live room, under the room (read) and publisher locks.
    fn with_publisher<T>(
        &self,
        t: &mut Token<Unlocked>,
        secret: Option<&str>,
        publisher: ParticipantId,
        f: impl FnOnce(&mut super::publisher::PublisherState) -> Result<T>,
    ) -> Result<T> {
        let mut rg = self.state.read(t);
        let (st, rt) = rg.split_ref();
        st.live(self.id)?;
        st.config.check_secret(secret)?;
        let p = st.publishers.get(&publisher).ok_or(Error::NoSuchFeed(publisher))?;
        let mut pg = p.state.lock(rt);
        f(&mut pg)
    }
}

impl<R: Runtime> Core<R> {
    pub fn rtp_forward(&self, req: ForwardRequest) -> Result<Vec<ForwarderInfo>> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, req.room)?;
        let secret = req.secret.as_deref();
        // Each stream's kind, and the substream each forwarder carries (none without simulcast,
        // where `port_2` and `port_3` are ignored, as Janus does).
        let planned = room.with_publisher(&mut t, secret, req.publisher, |p| {
            let mut planned = Vec::new();
            for f in &req.streams {
                let s =
                    p.streams.iter().find(|s| s.info.mid == f.mid).ok_or_else(|| Error::NoSuchStream(f.mid.clone()))?;
                match (s.info.simulcast, f.substream) {
                    (true, n) => planned.push((f, s.info.kind.clone(), Some(n))),
                    (false, 0) => planned.push((f, s.info.kind.clone(), None)),
                    (false, _) => {}
                }
            }
            Ok(planned)
        })?;
        // No lock is held here. On failure the sockets opened so far are closed as they drop.
        let mut sockets =
            planned.iter().map(|(f, ..)| self.open_forwarder(&mut t, f.target)).collect::<Result<Vec<_>>>()?;
        // The publisher may have gone meanwhile: then the sockets stay in `sockets` and are
        // closed when it drops, after the locks.
        room.with_publisher(&mut t, secret, req.publisher, |p| {
            if req.streams.iter().any(|f| p.streams.iter().all(|s| s.info.mid != f.mid)) {
                return Err(Error::NoSuchFeed(req.publisher));
            }
            let mut infos = Vec::new();
            for ((f, kind, substream), socket) in planned.iter().zip(sockets.drain(..)) {
                let to = ForwardTo { mid: f.mid.clone(), substream: *substream, sink: socket.clone() };
                let fwd = Forwarder { stream_id: p.next_forwarder_id, kind: kind.clone(), socket, to };
                p.next_forwarder_id += 1;
                infos.push(fwd.info());
                p.forwarders.push(fwd);
            }
            publish_forwarders(p);
            Ok(infos)
        })
    }

    pub fn stop_rtp_forward(
        &self,
        room: RoomId,
        secret: Option<&str>,
        publisher: ParticipantId,
        stream_id: u32,
    ) -> Result<()> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, room)?;
        let stopped = room.with_publisher(&mut t, secret, publisher, |p| {
            let i = p
                .forwarders
                .iter()
                .position(|f| f.stream_id == stream_id)
                .ok_or_else(|| Error::NoSuchStream(stream_id.to_string()))?;
            let stopped = p.forwarders.remove(i);
            publish_forwarders(p);
            Ok(stopped)
        })?;
        drop(stopped); // closes the socket, with no lock held
        Ok(())
    }

    /// `listforwarders`: (publisher, its forwarders) for every publisher that has some.
    pub fn list_forwarders(
        &self,
        room: RoomId,
        secret: Option<&str>,
    ) -> Result<Vec<(ParticipantId, Vec<ForwarderInfo>)>> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, room)?;
        let mut rg = room.state.read(&mut t);
        let (st, rt) = rg.split_ref();
        st.live(room.id)?;
        st.config.check_secret(secret)?;
        let mut all = Vec::new();
        for p in st.publishers.values() {
            let pg = p.state.lock(rt);
            if !pg.forwarders.is_empty() {
                all.push((p.id, pg.forwarders.iter().map(Forwarder::info).collect()));
            }
        }
        Ok(all)
    }
}
