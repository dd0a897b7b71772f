//! `janus.plugin.echotest`: one asynchronous request, optionally with an offer.

use super::fields::Fields;
use super::{Api, PluginReply};
use crate::core::event::{EventBody, Jsep, SdpKind};
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
        let offer = match &jsep {
            Some(j) if j.kind == SdpKind::Offer => Some(j.sdp.as_str()),
            Some(_) => return Err(Error::InvalidSdp("an answer where an offer was expected".into())),
            None => None,
        };
        self.core.echo(h, offer, Some(txn.to_string()))
    }
}
