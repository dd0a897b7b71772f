//! The core's side of a leg: the [`MediaPort`] through which the core gets SDP from a
//! PeerConnection, hands it the client's candidates, and publishes fan-outs, forwarders and
//! limits to the packet path. Each call is one hold of the leg's lock (`sync::levels::Leg`),
//! then a poke to the shard, which sends whatever the call made the stack want to send.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Instant;

use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::sdp::extmap::AUDIO_LEVEL_URI;

use super::av1;
use super::gate::Gate;
use super::handoff::Split;
use super::leg::{Cmd, Fanout, Leg, Target, DATA_LABEL};
use super::peer;
use super::registry::Registry;
use super::simulcast::Choice;
use super::talk::Talk;
use crate::core::event::{LayerChoice, MediaKind, SubStreamInfo};
use crate::core::room::FanoutTarget;
use crate::core::seams::{ForwardTo, LegKind, MediaPort, PeerInfo, PublisherLimits, TrickleCandidate};
use crate::sync::order::{MediaCall, Token};
use crate::sync::ParkingLot;

/// The core's handle on a leg. Dropping it (the core discards an endpoint after releasing its
/// locks) closes the PeerConnection.
pub(crate) struct LegPort {
    pub leg: Arc<Leg>,
    /// The engine's legs: where the fan-out's subscribers are found, and the leg taken off.
    pub registry: Weak<Registry>,
}

impl Drop for LegPort {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            // The core drops a port only once it has released its locks.
            registry.close(&mut Token::root::<ParkingLot>(), self.leg.clone());
        }
    }
}

impl MediaPort for LegPort {
    fn local_addr(&self) -> SocketAddr {
        let registry = self.registry.upgrade();
        let site = registry.as_ref().and_then(|r| r.shards.get(self.leg.shard.index)).map(|s| s.site.local);
        site.unwrap_or_else(|| ([0, 0, 0, 0], 0).into())
    }

    fn answer(&self, held: &mut Token<MediaCall>, offer: &str) -> Result<String, String> {
        let sdp = {
            let mut st = self.leg.lock(held);
            let offered = super::sdp::parse_offer(offer)?;
            st.data_mid = offered.iter().find(|s| s.kind == MediaKind::Data).map(|s| s.mid.clone());
            // Simulcast encodings, lowest first: janus.js lists them highest first (`h`, `m`,
            // `l`), as Janus assumes unless told `rid_order: "lmh"`.
            st.rids = offered
                .iter()
                .filter(|s| !s.rids.is_empty())
                .map(|s| (s.mid.clone(), s.rids.iter().rev().cloned().collect()))
                .collect();
            // SSRC-based simulcast: each SSRC's substream is known now (rids' wait for the
            // first packet that names one).
            for s in &offered {
                for (layer, ssrc) in s.sim_ssrcs.iter().enumerate() {
                    st.layers.insert(*ssrc, (s.mid.clone(), layer as u8));
                }
            }
            let offer = super::sdp::dependency_descriptor_for_av1_only(&super::sdp::normalize_offer(offer));
            let offer = RTCSessionDescription::offer(offer).map_err(|e| e.to_string())?;
            st.pc.set_remote_description(Instant::now(), offer).map_err(|e| e.to_string())?;
            st.apply_early_candidates();
            if self.leg.owner.kind == LegKind::Echo {
                peer::echo_tracks(&mut st.pc)?;
            }
            let answer = st.pc.create_answer(None).map_err(|e| e.to_string())?;
            let sdp = answer.sdp.clone();
            st.pc.set_local_description(Instant::now(), answer).map_err(|e| e.to_string())?;
            st.dd_ext = super::sdp::extmap_id(&sdp, av1::DEPENDENCY_DESCRIPTOR_URI);
            st.audio_level_ext = super::sdp::extmap_id(&sdp, AUDIO_LEVEL_URI);
            for (mid, sender) in peer::senders(&mut st.pc) {
                st.senders.insert(&mid, sender);
            }
            sdp
        };
        self.leg.poke();
        Ok(sdp)
    }

    fn offer(&self, held: &mut Token<MediaCall>, streams: &[SubStreamInfo]) -> Result<String, String> {
        let sdp = {
            let mut st = self.leg.lock(held);
            peer::sync_subscriber_tracks(&mut st.pc, streams)?;
            for s in streams.iter().filter(|s| s.kind == MediaKind::Video) {
                st.choices.insert(s.mid.clone(), Choice::from(s.layers));
            }
            if st.channels.is_empty() && streams.iter().any(|s| s.kind == MediaKind::Data) {
                // The data m-line: Janus's subscribers get one, whatever the number of sources.
                let id = st.pc.create_data_channel(DATA_LABEL, None).map_err(|e| e.to_string())?.id();
                st.channels.insert(DATA_LABEL.to_string(), id);
            }
            let offer = st.pc.create_offer(None).map_err(|e| e.to_string())?;
            let sdp = offer.sdp.clone();
            st.pc.set_local_description(Instant::now(), offer).map_err(|e| e.to_string())?;
            // The subscriber's answer then leaves it out where it is not AV1.
            super::sdp::dependency_descriptor_for_av1_only(&sdp)
        };
        self.leg.poke();
        Ok(sdp)
    }

    fn accept_answer(&self, held: &mut Token<MediaCall>, answer: &str) -> Result<(), String> {
        {
            let mut st = self.leg.lock(held);
            st.dd_ext = super::sdp::extmap_id(answer, av1::DEPENDENCY_DESCRIPTOR_URI);
            let answer = RTCSessionDescription::answer(answer.to_string()).map_err(|e| e.to_string())?;
            st.pc.set_remote_description(Instant::now(), answer).map_err(|e| e.to_string())?;
            st.apply_early_candidates();
            for (mid, mut fresh) in peer::senders(&mut st.pc) {
                let (id, pt, clock_rate, codec) = (fresh.id, fresh.pt, fresh.clock_rate, fresh.codec);
                if let Some(choice) = st.choices.get(&mid) {
                    fresh.choose(*choice);
                }
                let s = st.senders.get_or_insert_with(&mid, || fresh);
                s.id = id;
                s.pt = pt;
                s.clock_rate = clock_rate;
                s.codec = codec;
            }
            st.twcc_ext = peer::twcc_extension(&mut st.pc);
            st.track_downlink();
        }
        self.leg.poke();
        Ok(())
    }

    fn add_candidate(&self, held: &mut Token<MediaCall>, candidate: Option<&TrickleCandidate>) -> Result<(), String> {
        let Some(c) = candidate else { return Ok(()) };
        {
            let mut st = self.leg.lock(held);
            if st.pc.remote_description().is_none() {
                // Over HTTP a client's candidates may overtake its answer.
                if st.early_candidates.len() < 64 {
                    st.early_candidates.push(c.clone());
                }
                return Ok(());
            }
            st.pc.add_remote_candidate(peer::candidate_init(c)).map_err(|e| e.to_string())?;
            if st.trickled.len() < 64 {
                st.trickled.push(c.candidate.trim_start_matches("candidate:").to_string());
            }
        }
        self.leg.poke();
        Ok(())
    }

    fn set_fanout(&self, held: &mut Token<MediaCall>, mid: &str, targets: &[FanoutTarget]) {
        let Some(registry) = self.registry.upgrade() else { return };
        let before = self.leg.fanout.load();
        let known = |t: &FanoutTarget| {
            let old = before.get(mid)?;
            old.all().find(|o| o.mid == t.sub_mid && o.leg.owner.handle == t.subscriber).map(|o| o.slot)
        };
        let mut added = false;
        let resolved: Vec<Target> = targets
            .iter()
            .filter_map(|t| {
                let leg = registry.leg(held, t.subscriber)?;
                let slot = match known(t) {
                    Some(slot) => slot,
                    None => {
                        // Only a new subscriber stream learns where its keyframes come from,
                        // and starts its layers over.
                        let mut st = leg.lock(held);
                        st.sources.insert(t.sub_mid.clone(), (Arc::downgrade(&self.leg), mid.to_string()));
                        if let Some(sender) = st.senders.get_mut(&t.sub_mid) {
                            sender.new_source();
                        }
                        added = true;
                        st.senders.slot(&t.sub_mid)
                    }
                };
                Some(Target { leg, mid: t.sub_mid.clone(), slot, gate: Gate::new(Instant::now()) })
            })
            .collect();
        let mut fanout = Fanout::clone(&before);
        let split = Split::new(registry.shards.len(), resolved, |t| t.leg.shard.index);
        fanout.insert(mid.to_string(), Arc::new(split));
        self.leg.fanout.store(Arc::new(fanout));
        if added {
            // A newly wired subscriber that is already connected (a `subscribe` or `switch`)
            // needs a keyframe to start decoding.
            self.leg.command(Cmd::Keyframe(self.leg.clone(), mid.to_string()));
        }
    }

    fn set_paused(&self, paused: bool) {
        self.leg.paused.store(paused, Ordering::Relaxed);
    }

    fn set_send(&self, held: &mut Token<MediaCall>, mid: &str, send: bool) {
        let mut st = self.leg.lock(held);
        if send {
            st.muted.remove(mid);
        } else {
            st.muted.insert(mid.to_string());
        }
    }

    fn set_layers(&self, held: &mut Token<MediaCall>, mid: &str, layers: LayerChoice) -> (Option<u8>, Option<u8>) {
        let choice = Choice::from(layers);
        let (keyframe, now, source) = {
            let mut st = self.leg.lock(held);
            st.choices.insert(mid.to_string(), choice);
            // The keyframe a change waits for comes from the publisher stream it forwards, or
            // for an echo, from the leg's own peer on the same mid.
            let source = match self.leg.owner.kind {
                LegKind::Echo => Some((self.leg.clone(), mid.to_string())),
                _ => st.sources.get(mid).and_then(|(leg, mid)| Some((leg.upgrade()?, mid.clone()))),
            };
            let chosen = match st.senders.get_mut(mid) {
                Some(sender) => {
                    let (keyframe, now) = sender.choose(choice);
                    (keyframe, now, source)
                }
                None => (false, (None, None), None),
            };
            st.track_downlink();
            chosen
        };
        if let (true, Some((publisher, publisher_mid))) = (keyframe, source) {
            publisher.command(Cmd::Keyframe(publisher.clone(), publisher_mid));
        }
        now
    }

    fn set_limits(&self, held: &mut Token<MediaCall>, limits: PublisherLimits) {
        let mut st = self.leg.lock(held);
        st.bitrate = limits.bitrate;
        st.fir_freq = limits.fir_freq;
        match (limits.talk, st.talk.as_mut()) {
            (Some(settings), Some(talk)) => talk.set(settings),
            (settings, _) => st.talk = settings.map(Talk::new),
        }
    }

    fn set_forwarders(&self, forwarders: &[ForwardTo]) {
        self.leg.forwarders.store(Arc::new(forwarders.to_vec()));
    }

    fn request_keyframe(&self, mid: &str) {
        self.leg.command(Cmd::Keyframe(self.leg.clone(), mid.to_string()));
    }

    fn info(&self, held: &mut Token<MediaCall>) -> PeerInfo {
        super::introspect::peer_info(&mut self.leg.lock(held), self.leg.created)
    }
}
