//! Building and querying `rtc` peer connections the way vroom uses them: vroom is the DTLS server
//! on every leg (the only role in which Chrome agrees to AES-GCM), offers a host candidate for
//! each of the engine's addresses (`addresses.rs`) on its shard's port, and picks its own ICE credentials so the shard can route STUN by ufrag.

use std::sync::Arc;
use std::time::Instant;

use rtc::dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc::interceptor::{Attribute, Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, CandidateServerReflexiveConfig, RTCDtlsRole, RTCDtlsTransportState,
    RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpHeaderExtensionCapability, TYPE_RTCP_FB_NACK, TYPE_RTCP_FB_TRANSPORT_CC,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpTransceiverDirection};
use rtc::sansio::Protocol;
use rtc::sdp::extmap::{AUDIO_LEVEL_URI, TRANSPORT_CC_URI};
use rtc::statistics::StatsSelector;

use super::av1;
use super::sender::{Codec, Sender};
use super::settings::Site;
use super::srtp_out::KeyTap;
use crate::core::event::{MediaKind, SubStreamInfo};
use crate::core::seams::{LegKind, TrickleCandidate};

/// A new peer connection for a leg of `kind`, with our credentials and host candidate. A
/// subscriber leg's connection derives its keys through `tap`, so that the leg can encrypt what
/// it forwards itself (`srtp_out.rs`).
pub(crate) fn build(
    site: &Site,
    ufrag: &str,
    pwd: &str,
    kind: LegKind,
    tap: Option<Arc<KeyTap>>,
) -> Result<RTCPeerConnection, String> {
    // The DTLS client's order decides among the profiles we accept, and browsers rank AES-CM
    // above GCM: accepting only GCM is how they end up on GCM.
    let mut profiles = vec![SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm, SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm];
    if site.settings.allow_aes_cm {
        profiles.push(SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80);
    }
    let mut settings = SettingEngineBuilder::new()
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_ice_credentials(ufrag.to_string(), pwd.to_string())
        .with_srtp_protection_profiles(profiles);
    if let Some(tap) = tap {
        settings = settings.with_crypto_provider(tap);
    }
    let settings = settings.build();
    let mut media = MediaEngine::default();
    media.register_default_codecs().map_err(|e| e.to_string())?;
    for (pt, mime, fmtp) in EXTRA_VIDEO {
        let rtp_codec = RTCRtpCodec {
            mime_type: mime.to_string(),
            clock_rate: 90000,
            channels: 0,
            sdp_fmtp_line: fmtp.to_string(),
            rtcp_feedback: vec![],
        };
        let codec = RTCRtpCodecParameters { rtp_codec, payload_type: pt, ..Default::default() };
        media.register_codec(codec, RtpCodecKind::Video).map_err(|e| e.to_string())?;
    }
    // AV1 SVC's layers are read from the Dependency Descriptor, and subscribers' decoders
    // need it too.
    let dd = RTCRtpHeaderExtensionCapability { uri: av1::DEPENDENCY_DESCRIPTOR_URI.to_owned() };
    media.register_header_extension(dd, RtpCodecKind::Video, None).map_err(|e| e.to_string())?;
    let registry = match kind {
        // A subscriber leg only sends, and sends its media past the stack: it answers NACKs
        // from its own history and writes its own sender reports (`sender.rs`). It offers
        // transport-wide congestion control feedback, for layers chosen by bandwidth
        // (`downlink.rs` numbers the packets and reads the feedback).
        LegKind::Subscriber => {
            for parameter in ["", "pli"] {
                let nack = RTCPFeedback { typ: TYPE_RTCP_FB_NACK.into(), parameter: parameter.into() };
                media.register_feedback(nack, RtpCodecKind::Video);
            }
            for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
                let twcc = RTCPFeedback { typ: TYPE_RTCP_FB_TRANSPORT_CC.into(), parameter: String::new() };
                media.register_feedback(twcc, kind);
                let extension = RTCRtpHeaderExtensionCapability { uri: TRANSPORT_CC_URI.to_owned() };
                media.register_header_extension(extension, kind, None).map_err(|e| e.to_string())?;
            }
            rtcp_to_application()
        }
        LegKind::Publisher | LegKind::Echo => {
            if kind == LegKind::Publisher {
                // Who is talking is read from it (`talk.rs`); the room's `audiolevel_ext`
                // takes it out of the offer where it is off.
                let level = RTCRtpHeaderExtensionCapability { uri: AUDIO_LEVEL_URI.to_owned() };
                media.register_header_extension(level, RtpCodecKind::Audio, None).map_err(|e| e.to_string())?;
            }
            register_default_interceptors(rtcp_to_application(), &mut media).map_err(|e| e.to_string())?
        }
    };
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .build(Instant::now())
        .map_err(|e| e.to_string())?;
    let udp = |address: String, port: u16| CandidateConfig {
        network: "udp".to_owned(),
        address,
        port,
        component: 1,
        ..Default::default()
    };
    let mut candidates = Vec::new();
    for address in site.addresses.candidates() {
        let host =
            CandidateHostConfig { base_config: udp(address.to_string(), site.local.port()), ..Default::default() };
        candidates.push(host.new_candidate_host().map_err(|e| e.to_string())?);
    }
    if let Some((mapped, base)) = site.addresses.reflexive {
        let srflx = CandidateServerReflexiveConfig {
            base_config: udp(mapped.ip().to_string(), mapped.port()),
            rel_addr: base.to_string(),
            rel_port: site.local.port(),
            url: None,
        };
        candidates.push(srflx.new_candidate_server_reflexive().map_err(|e| e.to_string())?);
    }
    for candidate in &candidates {
        let init = RTCIceCandidate::from(candidate).to_json().map_err(|e| e.to_string())?;
        pc.add_local_candidate(init).map_err(|e| e.to_string())?;
    }
    Ok(pc)
}

/// Video profiles a room may choose (`vp9_profile`, `h264_profile`) that `rtc`'s defaults lack
/// (VP9 profiles 2 and 3, H.264 Main), on payload types its defaults leave free.
const EXTRA_VIDEO: [(u8, &str, &str); 3] = [
    (112, "video/VP9", "profile-id=2"),
    (113, "video/VP9", "profile-id=3"),
    (114, "video/H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
];

/// The codecs vroom forwards, by the names Janus gives them.
const CODECS: [&str; 8] = ["opus", "pcmu", "pcma", "g722", "vp8", "vp9", "h264", "av1"];

/// The codec vroom sends a stream of codec `name` (as Janus names codecs) with, in `profile`
/// (VP9's `profile-id`, H.264's `profile-level-id`) when given. Each is one that
/// `register_default_codecs` or [`EXTRA_VIDEO`] registers, so the sender's codec is negotiable.
fn codec_of(name: &str, profile: Option<&str>) -> Option<(RtpCodecKind, RTCRtpCodec)> {
    let vp9 = format!("profile-id={}", profile.unwrap_or("0"));
    let h264 =
        format!("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id={}", profile.unwrap_or("42001f"));
    let (kind, mime, rate, channels, fmtp) = match name {
        "opus" => (RtpCodecKind::Audio, "audio/opus", 48000, 2, "minptime=10;useinbandfec=1"),
        "pcmu" => (RtpCodecKind::Audio, "audio/PCMU", 8000, 0, ""),
        "pcma" => (RtpCodecKind::Audio, "audio/PCMA", 8000, 0, ""),
        "g722" => (RtpCodecKind::Audio, "audio/G722", 8000, 0, ""),
        "vp8" => (RtpCodecKind::Video, "video/VP8", 90000, 0, ""),
        "vp9" => (RtpCodecKind::Video, "video/VP9", 90000, 0, vp9.as_str()),
        "h264" => (RtpCodecKind::Video, "video/H264", 90000, 0, h264.as_str()),
        "av1" => (RtpCodecKind::Video, "video/AV1", 90000, 0, "profile-id=0"),
        _ => return None,
    };
    let codec = RTCRtpCodec {
        mime_type: mime.to_string(),
        clock_rate: rate,
        channels,
        sdp_fmtp_line: fmtp.to_string(),
        rtcp_feedback: vec![],
    };
    Some((kind, codec))
}

fn track(id: &str, kind: RtpCodecKind, codec: RTCRtpCodec, ssrc: u32) -> MediaStreamTrack {
    let ids = [format!("vroom-{id}"), format!("vroom-track-{id}"), format!("vroom-{id}")];
    sending_track(ids, kind, codec, &[(ssrc, "")])
}

/// A track that sends `codec` under SSRCs we pick (vroom's subscriber streams, the load
/// generator's publishers): one encoding per (SSRC, rid), a rid only for simulcast. `ids` are
/// its stream id, track id and label.
pub(crate) fn sending_track(
    ids: [String; 3],
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    encodings: &[(u32, &str)],
) -> MediaStreamTrack {
    let [stream_id, track_id, label] = ids;
    let encodings = encodings
        .iter()
        .map(|(ssrc, rid)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(*ssrc),
                rid: rid.to_string(),
                ..Default::default()
            },
            codec: codec.clone(),
            active: true,
            ..Default::default()
        })
        .collect();
    MediaStreamTrack::new(stream_id, track_id, label, kind, encodings)
}

/// Brings a subscriber's transceivers in line with its streams: a sending track for each new
/// stream (in m-line order), inactive for streams that stopped.
pub(crate) fn sync_subscriber_tracks(pc: &mut RTCPeerConnection, streams: &[SubStreamInfo]) -> Result<(), String> {
    let existing: Vec<_> = pc.get_transceivers().collect();
    for s in streams.iter().skip(existing.len()) {
        let name = s.codec.as_deref().unwrap_or(match s.kind {
            MediaKind::Audio => "opus",
            _ => "vp8",
        });
        let (kind, codec) = codec_of(name, s.profile.as_deref()).ok_or_else(|| format!("unsupported codec {name}"))?;
        let ssrc = ssrc_for(s);
        pc.add_track(track(&s.mid, kind, codec.clone(), ssrc)).map_err(|e| e.to_string())?;
        // The m-line lists the stream's codec first and every other codec of its kind after it:
        // `rtc` negotiates a PeerConnection's codecs once, so a codec no m-line carried in the
        // first negotiation could not be added by a later `subscribe`.
        let preferences: Vec<RTCRtpCodecParameters> = std::iter::once(codec.clone())
            .chain(
                CODECS
                    .iter()
                    .filter_map(|n| codec_of(n, None))
                    .filter(|(k, c)| *k == kind && c != &codec)
                    .map(|(_, c)| c),
            )
            .map(|rtp_codec| RTCRtpCodecParameters { rtp_codec, ..Default::default() })
            .collect();
        if let Some(id) = pc.get_transceivers().last() {
            if let Some(mut t) = pc.rtp_transceiver(id) {
                t.set_codec_preferences(preferences).map_err(|e| e.to_string())?;
            }
        }
    }
    let ids: Vec<_> = pc.get_transceivers().collect();
    for (s, id) in streams.iter().zip(ids) {
        if !s.active {
            if let Some(mut t) = pc.rtp_transceiver(id) {
                t.set_direction(RTCRtpTransceiverDirection::Inactive);
            }
        }
    }
    Ok(())
}

/// A subscriber stream's SSRC: distinct per stream and stable across renegotiations.
fn ssrc_for(s: &SubStreamInfo) -> u32 {
    let mut x = (s.feed_id ^ ((s.mindex as u64) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    (x as u32).max(1)
}

/// For an echo: a sending track on every transceiver that receives, with the codec it receives.
pub(crate) fn echo_tracks(pc: &mut RTCPeerConnection) -> Result<(), String> {
    let ids: Vec<_> = pc.get_transceivers().collect();
    for (i, id) in ids.into_iter().enumerate() {
        let Some(receiver) = pc.rtp_transceiver(id).and_then(|t| t.receiver()) else { continue };
        let Some(mut r) = pc.rtp_receiver(receiver) else { continue };
        let Some(mime) = r.get_parameters().rtp_parameters.codecs.first().map(|c| c.rtp_codec.mime_type.clone()) else {
            continue;
        };
        let name = mime.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
        let Some((kind, codec)) = codec_of(&name, None) else { continue };
        pc.add_track(track(&format!("echo{i}"), kind, codec, 0x0E00_0000 + i as u32)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Every negotiated outgoing stream by mid, as a fresh [`Sender`] (its payload type once
/// negotiated).
pub(crate) fn senders(pc: &mut RTCPeerConnection) -> Vec<(String, Sender)> {
    let ids: Vec<_> = pc.get_transceivers().collect();
    let mut out = Vec::new();
    for id in ids {
        let Some(t) = pc.rtp_transceiver(id) else { continue };
        let (Some(mid), Some(sender)) = (t.mid().clone(), t.sender()) else { continue };
        let Some(mut s) = pc.rtp_sender(sender) else { continue };
        let Some(ssrc) = s.track().ssrcs().next() else { continue };
        let wanted = s.track().codec(ssrc).map(|c| c.mime_type.to_ascii_lowercase());
        let video = s.track().kind() == RtpCodecKind::Video;
        let codecs = &s.get_parameters().rtp_parameters.codecs;
        let codec =
            codecs.iter().find(|c| Some(c.rtp_codec.mime_type.to_ascii_lowercase()) == wanted).or(codecs.first());
        let (pt, clock_rate) = codec.map_or((None, 90_000), |c| (Some(c.payload_type), c.rtp_codec.clock_rate));
        let codec = Codec::of(codec.map_or("", |c| c.rtp_codec.mime_type.as_str()), video);
        out.push((mid, Sender::new(sender, ssrc, pt, clock_rate, codec)));
    }
    out
}

/// The id the transport-wide sequence number extension got on the leg's outgoing streams, if
/// the peer accepted it.
pub(crate) fn twcc_extension(pc: &mut RTCPeerConnection) -> Option<u8> {
    let ids: Vec<_> = pc.get_transceivers().collect();
    ids.into_iter().find_map(|id| {
        let sender = pc.rtp_transceiver(id)?.sender()?;
        let mut s = pc.rtp_sender(sender)?;
        let extensions = &s.get_parameters().rtp_parameters.header_extensions;
        extensions.iter().find(|e| e.uri == TRANSPORT_CC_URI).map(|e| e.id as u8)
    })
}

/// The SRTP profile the DTLS handshake settled on, as `rtc`'s statistics name it.
pub(crate) fn srtp_cipher(pc: &mut RTCPeerConnection) -> Option<String> {
    let report = pc.get_stats(Instant::now(), StatsSelector::None);
    report.transport().map(|t| t.srtp_cipher.clone()).filter(|c| !c.is_empty())
}

/// The receiver of incoming stream `mid` and the SSRC it receives.
pub(crate) fn receiver_of(pc: &mut RTCPeerConnection, mid: &str) -> Option<(RTCRtpReceiverId, u32)> {
    let ids: Vec<_> = pc.get_transceivers().collect();
    for id in ids {
        let t = pc.rtp_transceiver(id)?;
        if t.mid().as_deref() != Some(mid) {
            continue;
        }
        let receiver = t.receiver()?;
        let r = pc.rtp_receiver(receiver)?;
        let ssrc = r.track().ssrcs().next()?;
        return Some((receiver, ssrc));
    }
    None
}

/// The kind of incoming stream `mid`.
pub(crate) fn kind_of(pc: &mut RTCPeerConnection, mid: &str) -> MediaKind {
    let ids: Vec<_> = pc.get_transceivers().collect();
    for id in ids {
        let Some(t) = pc.rtp_transceiver(id) else { continue };
        if t.mid().as_deref() != Some(mid) {
            continue;
        }
        let Some(receiver) = t.receiver() else { continue };
        if let Some(r) = pc.rtp_receiver(receiver) {
            return match r.track().kind() {
                RtpCodecKind::Audio => MediaKind::Audio,
                _ => MediaKind::Video,
            };
        }
    }
    MediaKind::Video
}

/// True once the peer closed DTLS (its close_notify arrived).
pub(crate) fn dtls_closed(pc: &mut RTCPeerConnection) -> bool {
    let ids: Vec<_> = pc.get_transceivers().collect();
    for id in ids {
        let Some(t) = pc.rtp_transceiver(id) else { continue };
        let receiver = t.receiver();
        let sender = t.sender();
        if let Some(r) = receiver.and_then(|r| pc.rtp_receiver(r)) {
            if let Some(transport) = r.transport() {
                return transport.state() == RTCDtlsTransportState::Closed;
            }
        }
        if let Some(s) = sender.and_then(|s| pc.rtp_sender(s)) {
            if let Some(transport) = s.transport() {
                return transport.state() == RTCDtlsTransportState::Closed;
            }
        }
    }
    false
}

pub(crate) fn candidate_init(c: &TrickleCandidate) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: c.candidate.clone(),
        sdp_mid: c.sdp_mid.clone(),
        sdp_mline_index: c.sdp_mline_index,
        ..Default::default()
    }
}

/// An interceptor registry whose chain hands inbound RTCP to the application: keyframe
/// requests (PLI, FIR) and NACKs must reach vroom (and the load generator's publishers), and
/// `rtc`'s chain ends by dropping inbound RTCP that no interceptor marked for the application.
pub fn rtcp_to_application() -> Registry {
    Registry::new().with(Slot::from(14_000), DeliverRtcp::default())
}

/// Marks inbound RTCP for delivery to the application.
#[derive(Default)]
struct DeliverRtcp {
    read: std::collections::VecDeque<TaggedPacket>,
    write: std::collections::VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for DeliverRtcp {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
    fn handle_timeout(&mut self, _now: Instant) -> Result<(), Self::Error> {
        Ok(())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for DeliverRtcp {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
