//! Which leg a datagram is for (sans-IO, so the fuzz target drives it without a socket). STUN
//! checks are routed by the ufrag of ours they name, and teach the demultiplexer the address
//! they came from; everything else (DTLS, SRTP, SRTCP) is routed by that address alone, so a
//! datagram from an address no check came from reaches no leg.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rtc::stun::attributes::ATTR_USERNAME;
use rtc::stun::message::Message;
use rtc::stun::textattrs::TextAttribute;

use super::addresses::Addresses;
use super::leg::Leg;
use super::stats::DropReason;

pub(crate) struct Demux {
    /// Our host addresses: what ICE calls each address datagrams arrive at.
    addresses: Arc<Addresses>,
    /// The media port: every host candidate's.
    port: u16,
    by_ufrag: HashMap<String, Arc<Leg>>,
    by_addr: HashMap<SocketAddr, Arc<Leg>>,
}

impl Demux {
    pub fn new(addresses: Arc<Addresses>, port: u16) -> Demux {
        Demux { addresses, port, by_ufrag: HashMap::new(), by_addr: HashMap::new() }
    }

    /// Routes the leg's STUN checks to it from now on.
    pub fn learn(&mut self, leg: &Arc<Leg>) {
        self.by_ufrag.entry(leg.ufrag.clone()).or_insert_with(|| leg.clone());
    }

    /// Forgets every route to the leg.
    pub fn forget(&mut self, leg: &Arc<Leg>) {
        self.by_ufrag.remove(&leg.ufrag);
        self.by_addr.retain(|_, l| !Arc::ptr_eq(l, leg));
    }

    /// Routes known (ICE username fragments and peer addresses).
    pub fn routes(&self) -> usize {
        self.by_ufrag.len() + self.by_addr.len()
    }

    /// The leg a datagram from `peer` to our address `to` is for, and our address as ICE knows
    /// it; or why it is dropped.
    pub fn route(
        &mut self,
        data: &[u8],
        peer: SocketAddr,
        to: Option<IpAddr>,
    ) -> Result<(Arc<Leg>, SocketAddr), DropReason> {
        // What ICE calls the address it reached; one we do not offer is not ours to answer on.
        let local = to.and_then(|ip| self.addresses.ice_address(ip)).ok_or(DropReason::NotOffered)?;
        let local = SocketAddr::new(local, self.port);
        if is_stun(data) {
            if let Some(leg) = local_ufrag(data).and_then(|u| self.by_ufrag.get(&u).cloned()) {
                self.by_addr.insert(peer, leg.clone());
                return Ok((leg, local));
            }
            // Otherwise a STUN response to one of our checks: it comes from a known address.
        }
        let leg = self.by_addr.get(&peer).cloned().ok_or(DropReason::UnknownSource)?;
        Ok((leg, local))
    }
}

/// RFC 7983: a first byte of 0..=3 is STUN.
fn is_stun(data: &[u8]) -> bool {
    data.len() >= 20 && data[0] < 4
}

/// Our ufrag in a STUN request's USERNAME ("ours:theirs").
fn local_ufrag(data: &[u8]) -> Option<String> {
    let mut m = Message::new();
    m.raw = data.to_vec();
    m.decode().ok()?;
    let username = TextAttribute::get_from_as(&m, ATTR_USERNAME).ok()?;
    Some(username.text.split(':').next()?.to_string())
}
