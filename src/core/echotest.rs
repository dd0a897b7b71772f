//! The EchoTest plugin's state: a handle whose PeerConnection (once it offers) is answered by
//! its own endpoint, which sends back what it receives (the media issue adds the echoing).

use std::mem;

use crate::sync::Runtime;

use super::error::{Error, Result};
use super::event::{EchoEvent, Event, EventBody, Jsep, LayerChoice, SdpKind, Transaction};
use super::outbox::Outbox;
use super::room::Role;
use super::seams::LegKind;
use super::session::Handle;
use super::Core;

pub(crate) fn result(handle: &Handle<impl Runtime>, transaction: Option<Transaction>, result: &str) -> Event {
    Event::new(Some(handle.id), transaction, EventBody::EchoTest(EchoEvent::Result(result.into())))
}

impl<R: Runtime> Core<R> {
    /// EchoTest's one request: with an offer, a new endpoint answers it (replacing any earlier
    /// one); the simulcast layers asked for apply to its video (a layer already in effect is
    /// confirmed at once, as Janus does); `result: ok` follows, with the answer.
    pub fn echo(
        &self,
        h: &Handle<R>,
        offer: Option<&str>,
        layers: LayerChoice,
        txn: Option<Transaction>,
    ) -> Result<()> {
        let mut t = Self::enter();
        let endpoint = match offer {
            Some(sdp) => {
                let port = self.open_media(&mut t, h.peer(LegKind::Echo))?;
                let answer = port.answer(&mut t.media(), sdp).map_err(Error::InvalidSdp)?;
                Some((port, answer))
            }
            None => None,
        };
        let mut out = Outbox::new();
        {
            let mut hg = h.state.lock(&mut t);
            if hg.detached {
                return Err(h.gone());
            }
            let jsep = endpoint.map(|(port, sdp)| {
                if let Role::Echo { port: Some(old) } = mem::replace(&mut hg.role, Role::Echo { port: Some(port) }) {
                    out.discard(old);
                }
                Jsep { kind: SdpKind::Answer, sdp }
            });
            let (hs, ht) = hg.split();
            if let (false, Role::Echo { port: Some(port) }) = (layers.is_empty(), &hs.role) {
                for s in port.info(&mut ht.media()).streams.iter().filter(|s| s.kind == "video") {
                    let (substream, temporal) = port.set_layers(&mut ht.media(), &s.mid, layers);
                    let videocodec = s.codec.as_ref().map_or("", |(name, _)| name.as_str());
                    // What the leg reports later knows; a confirmation now goes by the codec.
                    let svc = matches!(videocodec, "vp9" | "av1");
                    for e in EchoEvent::layers(videocodec, svc, substream, temporal) {
                        out.push(&h.queue, Event::new(Some(h.id), None, EventBody::EchoTest(e)));
                    }
                }
            }
            out.push(&h.queue, result(h, txn, "ok").with_jsep(jsep));
        }
        out.deliver(&mut t);
        self.flush_early_candidates(h);
        Ok(())
    }
}
