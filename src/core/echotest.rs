//! The EchoTest plugin's state: a handle whose PeerConnection (once it offers) is answered by
//! its own endpoint, which sends back what it receives (the media issue adds the echoing).

use std::mem;

use crate::sync::Runtime;

use super::error::{Error, Result};
use super::event::{EchoEvent, Event, EventBody, Jsep, SdpKind, Transaction};
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
    /// one); `result: ok` follows, with the answer.
    pub fn echo(&self, h: &Handle<R>, offer: Option<&str>, txn: Option<Transaction>) -> Result<()> {
        let mut t = Self::enter();
        let endpoint = match offer {
            Some(sdp) => {
                let port = self.open_media(&mut t, h.peer(LegKind::Echo))?;
                let answer = port.answer(sdp).map_err(Error::InvalidSdp)?;
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
            out.push(&h.queue, result(h, txn, "ok").with_jsep(jsep));
        }
        out.deliver(&mut t);
        self.flush_early_candidates(h);
        Ok(())
    }
}
