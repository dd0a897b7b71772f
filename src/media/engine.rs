//! The media engine: the production [`SocketFactory`]. Each PeerConnection the core opens is a
//! leg (`leg.rs`), listed in the [`Registry`] and run for its life by one of the shards
//! (`[media] shards` threads, each with its own UDP socket), which route datagrams to legs, fan
//! publishers' packets out (handing them between shards, `handoff.rs`) and report connectivity
//! to the core through the [`PeerInbox`] (`news.rs`: lossless, and the packet path never waits
//! on a signalling lock).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, Notify};

use super::addresses::{self, AddressRules, Addresses};
use super::handoff;
use super::netio;
use super::news::PeerInbox;
use super::port::LegPort;
use super::registry::{Registry, ShardSite};
use super::settings::{MediaSettings, Site};
use super::shard::{self, ShardStart};
use super::stats::MediaStats;
use super::stun;
use super::udp::open_forwarder;
use crate::core::seams::{ForwarderSocket, MediaPort, PacketSink, PeerOwner, RecordSpec, SocketFactory};
use crate::sync::order::Token;
use crate::sync::ParkingLot;

/// How long the start waits for the STUN server (retrying every 250 ms).
const STUN_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// What the media engine holds (see [`MediaEngine::accounting`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaAccounting {
    /// Open PeerConnections the core holds, by state.
    pub connecting: u64,
    pub connected: u64,
    /// Legs still in memory, open or not yet freed.
    pub legs_alive: u64,
    /// PeerConnections with a timer pending in the shards.
    pub timers: u64,
    /// Routes the shard knows (ICE username fragments and peer addresses).
    pub routes: u64,
    /// PeerConnections whose news waits for the core.
    pub news_waiting: u64,
}

pub struct MediaEngine {
    registry: Arc<Registry>,
    stats: Arc<MediaStats>,
    news: Arc<PeerInbox>,
}

impl MediaEngine {
    /// Binds each shard's media socket on `ip` (shard k on `port + k`, or any free port with
    /// `port` 0) and starts the shard threads. The core hears of PeerConnections through
    /// [`MediaEngine::news`].
    pub fn start(settings: MediaSettings) -> io::Result<MediaEngine> {
        let count = settings.shard_count();
        let wildcard = settings.ip.is_unspecified();
        let interfaces =
            if wildcard { addresses::interfaces()? } else { vec![("configured".to_string(), settings.ip)] };
        let mut sockets = Vec::with_capacity(count);
        for k in 0..count {
            let port = match settings.port {
                0 => 0,
                p => u16::try_from(p as usize + k)
                    .map_err(|_| io::Error::other(format!("media port {p} + shard {k} is past 65535")))?,
            };
            sockets.push(open_sockets(&settings, port, &interfaces)?);
        }
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        let news = Arc::new(PeerInbox::new());
        let doorbells: Arc<[Notify]> = (0..count).map(|_| Notify::new()).collect();
        let mut starts = Vec::with_capacity(count);
        let mut sites = Vec::with_capacity(count);
        for (k, ((socket, socket_v6, addresses, local), ends)) in
            sockets.into_iter().zip(handoff::mesh(count, shard::HANDOFF_RING)).enumerate()
        {
            let (cmds, rx) = mpsc::unbounded_channel();
            sites.push(ShardSite::new(
                Site { settings: settings.clone(), addresses: addresses.clone(), local },
                k,
                cmds,
            ));
            starts.push((socket, socket_v6, addresses, rx, ends));
        }
        let registry = Registry::new(sites, seed);
        let stats = registry.stats.clone();
        for (socket, socket_v6, addresses, cmds, ends) in starts {
            let (doorbells, news, stats) = (doorbells.clone(), news.clone(), stats.clone());
            shard::spawn(ShardStart { socket, socket_v6, addresses, cmds, ends, doorbells, news, stats })?;
        }
        Ok(MediaEngine { registry, stats, news })
    }

    /// An engine with neither socket nor shard thread, whose legs answer and offer and are fed
    /// datagrams by hand (the fuzz targets): the same legs, with credentials drawn from `seed`.
    pub(crate) fn detached(seed: u64) -> MediaEngine {
        let local = SocketAddr::from(([127, 0, 0, 1], 9));
        let interfaces = [("lo".to_string(), local.ip())];
        let addresses = Arc::new(Addresses::choose(&interfaces, &AddressRules::default()));
        let settings = MediaSettings {
            ip: local.ip(),
            rules: AddressRules::default(),
            stun_server: None,
            port: local.port(),
            allow_aes_cm: true,
            shards: 1,
            slowlink_threshold: 0,
        };
        // Nothing reads the shard's commands: a poke or a close is dropped, which only means
        // that nothing sends what the legs want to send.
        let (cmds, _) = mpsc::unbounded_channel();
        let registry = Registry::new(vec![ShardSite::new(Site { settings, addresses, local }, 0, cmds)], seed);
        MediaEngine { stats: registry.stats.clone(), registry, news: Arc::new(PeerInbox::new()) }
    }

    /// A new leg for `owner`, and the core's port on it.
    pub(crate) fn open_leg(&self, owner: PeerOwner) -> io::Result<LegPort> {
        // The core opens media holding no lock (`SocketFactory`).
        let leg = self.registry.open(&mut Token::root::<ParkingLot>(), owner).map_err(io::Error::other)?;
        Ok(LegPort { leg, registry: Arc::downgrade(&self.registry) })
    }

    /// The shard's demultiplexer over this engine's addresses (for a detached engine).
    pub(crate) fn demux(&self) -> super::demux::Demux {
        let site = self.registry.site();
        super::demux::Demux::new(site.addresses.clone(), site.local.port())
    }

    /// The packet path's counters (forwarded packets, their latency through vroom).
    pub fn stats(&self) -> Arc<MediaStats> {
        self.stats.clone()
    }

    /// What the shard reports about PeerConnections, for the core to drain.
    pub fn news(&self) -> Arc<PeerInbox> {
        self.news.clone()
    }

    /// The first shard's socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.registry.site().local
    }

    /// Every shard's socket address, by shard.
    pub fn shard_addrs(&self) -> Vec<SocketAddr> {
        self.registry.shards.iter().map(|s| s.site.local).collect()
    }

    /// The address `info` reports as `local-ip` (as Janus: the first that is not loopback).
    pub fn local_ip(&self) -> IpAddr {
        let site = self.registry.site();
        let all = site.addresses.candidates();
        all.iter().find(|a| !a.is_loopback()).or(all.first()).copied().unwrap_or(site.local.ip())
    }

    /// Open PeerConnections: (connecting, connected). Takes each leg's lock in turn.
    pub fn peer_connections(&self) -> (u64, u64) {
        let mut held = Token::root::<ParkingLot>();
        let legs = self.registry.open_legs(&mut held);
        let connected = legs.iter().filter(|l| l.is_connected(&mut held)).count() as u64;
        (legs.len() as u64 - connected, connected)
    }

    /// What the engine holds right now, for the accounting that proves nothing leaks.
    pub fn accounting(&self) -> MediaAccounting {
        let (connecting, connected) = self.peer_connections();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MediaAccounting {
            connecting,
            connected,
            legs_alive: load(&self.stats.legs_alive),
            timers: load(&self.stats.timers),
            routes: load(&self.stats.routes),
            news_waiting: self.news.len() as u64,
        }
    }
}

impl SocketFactory for MediaEngine {
    fn open_media(&self, owner: PeerOwner) -> io::Result<Box<dyn MediaPort>> {
        Ok(Box::new(self.open_leg(owner)?))
    }

    fn open_forwarder(&self, target: SocketAddr) -> io::Result<Arc<dyn ForwarderSocket>> {
        open_forwarder(target)
    }
    fn open_recording(&self, spec: RecordSpec) -> Arc<dyn PacketSink> {
        crate::record::open(spec)
    }
}

/// One shard's sockets on `port`: IPv4's, and IPv6's on the same port when the wildcard address
/// offers IPv6 addresses; the addresses it offers (with its own server-reflexive one, when a
/// STUN server is set), and its local address.
fn open_sockets(
    settings: &MediaSettings,
    port: u16,
    interfaces: &[(String, IpAddr)],
) -> io::Result<(std::net::UdpSocket, Option<std::net::UdpSocket>, Arc<Addresses>, SocketAddr)> {
    // The wildcard address means both families: IPv4's socket, and IPv6's on its port.
    let wildcard = settings.ip.is_unspecified();
    let v4_ip = if wildcard { IpAddr::from([0, 0, 0, 0]) } else { settings.ip };
    let socket = netio::bind(v4_ip, port)?;
    let local = socket.local_addr()?;
    let mut addresses = Addresses::choose(interfaces, &settings.rules);
    let mut socket_v6 = None;
    if wildcard && addresses.hosts.iter().any(|h| h.bound.is_ipv6()) {
        match netio::bind(std::net::Ipv6Addr::UNSPECIFIED.into(), local.port()) {
            Ok(s) => socket_v6 = Some(s),
            Err(e) => {
                tracing::warn!(
                    port = local.port(),
                    "no IPv6 socket on the media port, IPv6 addresses not offered: {e}"
                );
                addresses.hosts.retain(|h| h.bound.is_ipv4());
            }
        }
    }
    if let Some(server) = &settings.stun_server {
        let r = stun::server_reflexive(&socket, server, STUN_WAIT)?;
        match addresses.ice_address(r.base) {
            Some(base) => {
                tracing::info!(stun_server = server, mapped = %r.mapped, base = %base, "server-reflexive candidate");
                addresses.reflexive = Some((r.mapped, base));
            }
            None => tracing::warn!(
                stun_server = server, mapped = %r.mapped, base = %r.base,
                "the STUN exchange went through an address that is not offered: no server-reflexive candidate"
            ),
        }
    }
    if addresses.hosts.is_empty() {
        return Err(io::Error::other(format!(
            "no address to offer as an ICE candidate among {interfaces:?} (check ice_enforce_list and ice_ignore_list)"
        )));
    }
    for h in &addresses.hosts {
        tracing::info!(interface = h.interface, address = %h.bound, advertised = ?h.advertised, port = local.port(), "media host candidate");
    }
    Ok((socket, socket_v6, Arc::new(addresses), local))
}
