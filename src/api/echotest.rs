//! `janus.plugin.echotest`: one asynchronous request, optionally with an offer.

use super::fields::Fields;
use super::{Api, PluginReply};
use crate::core::event::{EventBody, Jsep, LayerChoice, SdpKind};
use crate::core::{Error, Handle, Plugin, Result};
use crate::sync::Runtime;

impl<R: Runtime> Api<R> {
    pub(crate) fn echotest(&self, h: &Handle<R>, body: Fields<'_>, jsep: Option<Jsep>, txn: &str) -> PluginReply {
        if let Err(e) = self.echo(h, body, jsep, txn) {
            h.send(Some(txn.to_string()), EventBody::PluginError { plugin: Plugin::EchoTest, error: e });
        }
        PluginReply::Async
    }

    fn echo(&self, h: &Handle<R>, b: Fields<'_>, jsep: Option<Jsep>, txn: &str) -> Result<()> {
        for flag in ["audio", "video", "data", "record"] {
            b.bool(flag)?;
        }
        for text in ["audiocodec", "videocodec", "videoprofile", "filename"] {
            b.str(text)?;
        }
        b.u32("bitrate")?;
        let layers = LayerChoice {
            substream: layer(&b, "substream", "substream should be 0, 1 or 2")?,
            temporal: layer(&b, "temporal", "temporal should be 0, 1 or 2")?,
            ..LayerChoice::default()
        };
        let offer = match &jsep {
            Some(j) if j.kind == SdpKind::Offer => Some(j.sdp.as_str()),
            Some(_) => return Err(Error::InvalidSdp("an answer where an offer was expected".into())),
            None => None,
        };
        self.core.echo(h, offer, layers, Some(txn.to_string()))
    }
}

/// A simulcast layer the echo should carry: as Janus checks it, anything but 0, 1 or 2 is one
/// error.
fn layer(b: &Fields<'_>, name: &str, rule: &'static str) -> Result<Option<u8>> {
    match b.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().filter(|v| *v <= 2).map(|v| Some(v as u8)).ok_or(Error::OutOfRange(rule)),
    }
}
