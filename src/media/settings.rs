//! How the media engine runs (the `[media]` section of the configuration), and where a leg is
//! reached (its [`Site`]): what every leg is built with, below the legs themselves.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::addresses::{AddressRules, Addresses};

/// How the engine runs (the `[media]` section of the configuration).
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// The address the media socket binds to: the wildcard address (the default) listens on
    /// every interface and offers those [`AddressRules`] keep; one address offers only it.
    pub ip: IpAddr,
    /// Which interfaces are offered, and the 1:1 NAT mapping.
    pub rules: AddressRules,
    /// A STUN server (`host:port`) to learn the server-reflexive address from at start.
    pub stun_server: Option<String>,
    /// Its UDP port; 0 picks a free one.
    pub port: u16,
    /// Also accept SRTP AES_CM_128_HMAC_SHA1_80 (for clients without AES-GCM). The DTLS
    /// client's order decides between the profiles both sides accept, and browsers rank AES-CM
    /// first, so accepting it means browsers get AES-CM (3x the per-packet cost of GCM).
    pub allow_aes_cm: bool,
    /// How many shard threads carry the media, each with its own socket; 0: one per core.
    pub shards: usize,
    /// Packets lost in a second on a stream that make a `slowlink` event (0: none).
    pub slowlink_threshold: u32,
}

impl MediaSettings {
    /// The shard threads to start: as configured, or one per core.
    pub fn shard_count(&self) -> usize {
        match self.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// Where legs are reached: the settings, the host addresses they offer and the socket they
/// offer them on.
pub(crate) struct Site {
    pub settings: MediaSettings,
    pub addresses: Arc<Addresses>,
    /// The shard's socket (its port is every host candidate's of its legs).
    pub local: SocketAddr,
}
