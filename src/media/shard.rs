//! The shard: one thread, one UDP socket per address family, every leg's packets. It routes each datagram to its
//! leg (STUN by our ufrag, the rest by the sender's address), forwards publishers' packets to
//! the fan-out snapshot right there (a loop, no channel or task per subscriber), runs the legs'
//! timers from one heap, and sends what the legs produced with one `sendmmsg` per run of
//! datagrams (`batch.rs`): a fan-out's copies in runs of [`FANOUT_RUN`], the rest once per
//! wake-up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::{self, Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::sync::mpsc;

use super::addresses::Addresses;
use super::batch::BatchSender;
use super::demux::Demux;
use super::leg::{Cmd, Datagrams, Drained, Leg};
use super::netio;
use super::news::{PeerInbox, Reports};
use super::sender::Incoming;
use super::stats::{DropReason, MediaStats};
use crate::core::seams::{ForwardTo, LegKind};
use crate::sync::order::{Token, Unlocked};
use crate::sync::ParkingLot;
use rtc::shared::marshal::Marshal;

pub(crate) fn spawn(
    socket: std::net::UdpSocket,
    socket_v6: Option<std::net::UdpSocket>,
    addresses: Arc<Addresses>,
    cmds: mpsc::UnboundedReceiver<Cmd>,
    news: Arc<PeerInbox>,
    stats: Arc<MediaStats>,
) -> io::Result<()> {
    std::thread::Builder::new().name("vroom-media".into()).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime");
        rt.block_on(async move {
            let socket = tokio::net::UdpSocket::from_std(socket).expect("a socket on this runtime");
            let socket_v6 = socket_v6.map(|s| tokio::net::UdpSocket::from_std(s).expect("a socket on this runtime"));
            let port = socket.local_addr().expect("a bound socket").port();
            let mut shard = Shard {
                socket,
                socket_v6,
                demux: Demux::new(addresses.clone(), port),
                addresses,
                timers: BinaryHeap::new(),
                out: Vec::new(),
                batch: BatchSender::new(),
                sent: Vec::new(),
                stamps: Vec::new(),
                events: Vec::new(),
                news,
                stats,
                held: Token::root::<ParkingLot>(),
            };
            shard.run(cmds).await;
        });
    })?;
    Ok(())
}

struct Timer {
    at: Instant,
    leg: Arc<Leg>,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.at.cmp(&o.at)
    }
}

struct Shard {
    /// The media socket, and its IPv6 twin on the same port when IPv6 addresses are offered.
    socket: tokio::net::UdpSocket,
    socket_v6: Option<tokio::net::UdpSocket>,
    /// Our host addresses: which of ours an address ICE knows stands for.
    addresses: Arc<Addresses>,
    /// Which leg each datagram is for.
    demux: Demux,
    timers: BinaryHeap<Reverse<Timer>>,
    out: Datagrams,
    batch: BatchSender,
    /// Which of `out` the kernel took, after a send.
    sent: Vec<bool>,
    /// Ranges of `out` that are forwarded copies of one publisher packet, and when that packet
    /// arrived: (start, end, arrival).
    stamps: Vec<(usize, usize, Instant)>,
    events: Reports,
    /// Where the core hears of PeerConnections (never full, never waited on).
    news: Arc<PeerInbox>,
    stats: Arc<MediaStats>,
    /// The shard thread's token: it holds no lock between its steps, and takes one leg's lock
    /// at a time (`sync::levels::Leg`).
    held: Token<Unlocked>,
}

/// How many datagrams one wake-up reads before sending what they produced.
const BATCH: usize = 64;

/// How many forwarded copies go to the kernel in one call. Measured at N = 100 (receivers
/// dropping, 20 s): one call per copy 18.7–19.8 CPU-µs per forwarded packet, runs of 32
/// 17.3–18.3, with the same p50. Longer runs delay the first copies for little more gain.
const FANOUT_RUN: usize = 32;

impl Shard {
    async fn run(&mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let mut buf = vec![0u8; 2048];
        loop {
            let next = self.timers.peek().map(|t| t.0.at);
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            };
            tokio::select! {
                r = self.socket.readable() => {
                    if r.is_ok() {
                        self.read(false, &mut buf);
                    }
                }
                r = async { self.socket_v6.as_ref().expect("guarded").readable().await }, if self.socket_v6.is_some() => {
                    if r.is_ok() {
                        self.read(true, &mut buf);
                    }
                }
                c = cmds.recv() => match c {
                    Some(c) => self.command(c),
                    None => return,
                },
                _ = sleep => self.expire(),
            }
            self.flush();
            self.stats.timers.store(self.timers.len() as u64, Relaxed);
            self.stats.routes.store(self.demux.routes() as u64, Relaxed);
        }
    }

    /// Reads what is waiting on the IPv4 (or IPv6) socket, up to [`BATCH`] datagrams.
    fn read(&mut self, v6: bool, buf: &mut [u8]) {
        for _ in 0..BATCH {
            let socket = if v6 { self.socket_v6.as_ref() } else { Some(&self.socket) };
            let Some(socket) = socket else { return };
            match socket.try_io(Interest::READABLE, || netio::recv(socket, buf)) {
                Ok((n, peer, to)) => self.datagram(&buf[..n], peer, to),
                Err(_) => return,
            }
        }
    }

    /// A datagram from `peer` to our address `to`.
    fn datagram(&mut self, data: &[u8], peer: SocketAddr, to: Option<IpAddr>) {
        self.stats.bytes_received.fetch_add(data.len() as u64, Relaxed);
        match self.demux.route(data, peer, to) {
            Ok((leg, local)) => self.feed(leg, data, local, peer),
            Err(reason) => self.stats.count_drop(reason),
        }
    }

    fn feed(&mut self, leg: Arc<Leg>, data: &[u8], local: SocketAddr, peer: SocketAddr) {
        if leg.closed.load(Ordering::Relaxed) {
            self.stats.count_drop(DropReason::Closed);
            return;
        }
        let now = Instant::now();
        let drained = leg.receive(&mut self.held, now, local, peer, data, &mut self.out, &mut self.events);
        self.after(&leg, drained, now);
    }

    /// Fans out what a leg handed over, sends its keyframe requests, and reschedules it.
    fn after(&mut self, leg: &Arc<Leg>, drained: Drained, now: Instant) {
        if !drained.rtp.is_empty() {
            let fanout = leg.fanout.load();
            let forwarders = leg.forwarders.load();
            self.stats.received.fetch_add(drained.rtp.len() as u64, Relaxed);
            for incoming in &drained.rtp {
                // Copies go out a short run at a time: one system call per run, and the k-th
                // subscriber waits for the run it is in, not for every copy to be encrypted.
                let mut keyframe = false;
                for t in fanout.get(&incoming.mid).iter().flat_map(|targets| targets.iter()) {
                    if !t.gate.passes(now, incoming.layer) {
                        continue;
                    }
                    let start = self.out.len();
                    let (out, events) = (&mut self.out, &mut self.events);
                    keyframe |= t.leg.forward(&mut self.held, now, &t.mid, &t.gate, incoming, out, events);
                    self.stamps.push((start, self.out.len(), now));
                    if self.out.len() >= FANOUT_RUN {
                        self.send();
                    }
                }
                self.send();
                if keyframe {
                    leg.keyframe(&mut self.held, now, &incoming.mid, &mut self.out);
                }
                forward_plain(&forwarders, incoming);
            }
        }
        if !drained.data.is_empty() {
            let fanout = leg.fanout.load();
            for (mid, label, msg) in &drained.data {
                for t in fanout.get(mid).iter().flat_map(|targets| targets.iter()) {
                    t.leg.forward_data(&mut self.held, label, msg, &mut self.out);
                }
            }
        }
        for (publisher, mid) in drained.keyframes {
            publisher.keyframe(&mut self.held, now, &mid, &mut self.out);
        }
        if drained.connected && leg.owner.kind == LegKind::Subscriber {
            for (publisher, mid) in leg.sources(&mut self.held) {
                publisher.keyframe(&mut self.held, now, &mid, &mut self.out);
            }
        }
        self.schedule(leg);
    }

    fn schedule(&mut self, leg: &Arc<Leg>) {
        let mut st = leg.lock(&mut self.held);
        let next = st.next_timeout();
        if next != st.deadline {
            st.deadline = next;
            if let Some(at) = next {
                self.timers.push(Reverse(Timer { at, leg: leg.clone() }));
            }
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        while self.timers.peek().is_some_and(|t| t.0.at <= now) {
            let Reverse(Timer { at, leg }) = self.timers.pop().expect("peeked");
            self.stats.loop_lag_us.record(now.saturating_duration_since(at).as_micros() as u64);
            if leg.closed.load(Ordering::Relaxed) {
                continue;
            }
            {
                let mut st = leg.lock(&mut self.held);
                if st.deadline != Some(at) {
                    continue; // rescheduled since
                }
                st.deadline = None;
            }
            self.stats.timer_ticks.fetch_add(1, Relaxed);
            let drained = leg.tick(&mut self.held, now, &mut self.out, &mut self.events);
            self.after(&leg, drained, now);
        }
    }

    fn command(&mut self, c: Cmd) {
        let now = Instant::now();
        match c {
            Cmd::Poke(leg) => {
                if leg.closed.load(Ordering::Relaxed) {
                    return;
                }
                self.demux.learn(&leg);
                let drained = leg.tick(&mut self.held, now, &mut self.out, &mut self.events);
                self.after(&leg, drained, now);
            }
            Cmd::Keyframe(leg, mid) => leg.keyframe(&mut self.held, now, &mid, &mut self.out),
            Cmd::Close(leg) => {
                leg.close(&mut self.held);
                let _ = leg.tick(&mut self.held, now, &mut self.out, &mut Vec::new());
                self.demux.forget(&leg);
            }
        }
    }

    /// Sends what the legs produced; then hands the core what it must hear.
    fn flush(&mut self) {
        self.send();
        if !self.events.is_empty() {
            self.news.post_all(self.events.drain(..).map(|(leg, ev)| (leg, ev.into())));
        }
    }

    /// Sends the datagrams collected so far, and counts the forwarded ones.
    fn send(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let addresses = &self.addresses;
        let (v4, v6) = (self.socket.as_raw_fd(), self.socket_v6.as_ref().map(|s| s.as_raw_fd()));
        let fd_for = |ipv6: bool| if ipv6 { v6 } else { Some(v4) };
        self.batch.send(fd_for, &self.out, &mut self.sent, |ip| addresses.bound_address(ip));
        let done = Instant::now();
        let mut stamps = self.stamps.drain(..).peekable();
        let (mut forwarded, mut bytes) = (0, 0);
        for (i, &sent) in self.sent.iter().enumerate() {
            if !sent {
                self.stats.count_drop(DropReason::SendFailed);
            }
            while stamps.peek().is_some_and(|(_, end, _)| *end <= i) {
                stamps.next();
            }
            if let Some((start, _, arrived)) = stamps.peek() {
                if *start <= i && sent {
                    forwarded += 1;
                    bytes += self.out[i].1.len() as u64;
                    self.stats.record_latency(done.saturating_duration_since(*arrived));
                }
            }
        }
        self.out.clear();
        self.stats.bytes_forwarded.fetch_add(bytes, Relaxed);
        self.stats.forwarded.fetch_add(forwarded, Relaxed);
    }
}

/// Sends a publisher's packet, as plain RTP, to the RTP forwarders of its stream (and
/// substream).
fn forward_plain(forwarders: &[ForwardTo], incoming: &Incoming) {
    let mut wire = None;
    for f in forwarders.iter().filter(|f| f.carries(&incoming.mid, incoming.layer)) {
        let bytes = wire.get_or_insert_with(|| incoming.packet.marshal().ok());
        if let Some(bytes) = bytes {
            f.socket.send(bytes);
        }
    }
}
