//! `janus.plugin.echotest`: one asynchronous request, optionally with an offer.

use super::fields::Fields;
use super::{Api, PluginReply};
use crate::core::event::{EventBody, Jsep, LayerChoice, SdpKind};
use crate::core::{Error, Handle, Plugin, Result};
use crate::media::sdp;
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
        for text in ["audiocodec", "videoprofile", "filename"] {
            b.str(text)?;
        }
        let videocodec = b.str("videocodec")?;
        b.u32("bitrate")?;
        // SVC's layers (`spatial_layer`, `temporal_layer`, as Janus's later EchoTest takes
        // them) are chosen as simulcast's are.
        let substream = layer(&b, "substream", "substream should be 0, 1 or 2")?;
        let temporal = layer(&b, "temporal", "temporal should be 0, 1 or 2")?;
        let layers = LayerChoice {
            substream: substream.or(layer(&b, "spatial_layer", "spatial_layer should be 0, 1 or 2")?),
            temporal: temporal.or(layer(&b, "temporal_layer", "temporal_layer should be 0, 1 or 2")?),
            ..LayerChoice::default()
        };
        let offer = match &jsep {
            // The codec asked for comes first, so the answer takes it where it is offered.
            Some(j) if j.kind == SdpKind::Offer => Some(match videocodec {
                Some(codec) => sdp::prefer_codec(&j.sdp, codec),
                None => j.sdp.clone(),
            }),
            Some(_) => return Err(Error::InvalidSdp("an answer where an offer was expected".into())),
            None => None,
        };
        self.core.echo(h, offer.as_deref(), layers, Some(txn.to_string()))
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
