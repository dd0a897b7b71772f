//! A shard: one thread, one UDP socket per address family, the legs it runs for their life. It
//! routes each datagram to its leg (STUN by our ufrag, the rest by the sender's address),
//! forwards publishers' packets to its own subscribers in the fan-out snapshot right there (a
//! loop, no channel or task per subscriber) and hands them to the other shards that have
//! subscribers of them (`handoff.rs`), runs its legs' timers from one heap, and sends what the
//! legs produced (`dispatch.rs`: a fan-out's copies a run at a time, the rest once per
//! wake-up).
//!
//! A shard touches another shard's legs only through that shard: a keyframe request for a
//! publisher elsewhere goes as its command (`leg::Cmd`), a packet for subscribers elsewhere
//! through the hand-off.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{self, Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::data_channel::RTCDataChannelMessage;
use tokio::io::Interest;
use tokio::sync::{mpsc, Notify};

use super::addresses::Addresses;
use super::demux::Demux;
use super::dispatch::Dispatch;
use super::handoff::{self, Ends};
use super::leg::{Cmd, Drained, Leg};
use super::netio;
use super::news::PeerInbox;
use super::sender::Incoming;
use super::stats::{DropReason, MediaStats};
use crate::core::seams::{ForwardTo, LegKind};
use crate::sync::ParkingLot;
use rtc::shared::marshal::Marshal;

/// What one shard hands another: a publisher's packet or data-channel message, for the
/// receiving shard's own subscribers of it.
pub(crate) enum HandedOver {
    Rtp { from: Arc<Leg>, packet: Arc<Incoming>, arrived: Instant },
    Data { from: Arc<Leg>, message: Arc<(String, String, RTCDataChannelMessage)> },
}

/// How many items each ring between two shards holds: at 100 packets per ms, 5 ms of a busy
/// publisher's; past it the packets are dropped and counted (`handoff_full`).
pub(crate) const HANDOFF_RING: usize = 512;

/// What a shard starts with.
pub(crate) struct ShardStart {
    pub socket: std::net::UdpSocket,
    pub socket_v6: Option<std::net::UdpSocket>,
    pub addresses: Arc<Addresses>,
    pub cmds: mpsc::UnboundedReceiver<Cmd>,
    pub ends: Ends<HandedOver, ParkingLot>,
    /// Every shard's doorbell, by index: rung when it was handed something.
    pub doorbells: Arc<[Notify]>,
    pub news: Arc<PeerInbox>,
    pub stats: Arc<MediaStats>,
}

pub(crate) fn spawn(start: ShardStart) -> io::Result<()> {
    let name = format!("vroom-media-{}", start.ends.me());
    std::thread::Builder::new().name(name).spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime");
        rt.block_on(async move {
            let ShardStart { socket, socket_v6, addresses, cmds, ends, doorbells, news, stats } = start;
            let socket = tokio::net::UdpSocket::from_std(socket).expect("a socket on this runtime");
            let socket_v6 = socket_v6.map(|s| tokio::net::UdpSocket::from_std(s).expect("a socket on this runtime"));
            let port = socket.local_addr().expect("a bound socket").port();
            let v6 = socket_v6.as_ref().map(|s| s.as_raw_fd());
            let tx = Dispatch::new(socket.as_raw_fd(), v6, addresses.clone(), stats.clone());
            let mut shard = Shard {
                me: ends.me(),
                socket,
                socket_v6,
                demux: Demux::new(addresses, port),
                timers: BinaryHeap::new(),
                pending: 0,
                ends,
                doorbells,
                news,
                stats,
                reported: (0, 0),
                tx,
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
    /// Its index among the engine's shards.
    me: usize,
    /// The media socket, and its IPv6 twin on the same port when IPv6 addresses are offered.
    socket: tokio::net::UdpSocket,
    socket_v6: Option<tokio::net::UdpSocket>,
    /// Which leg each datagram is for.
    demux: Demux,
    timers: BinaryHeap<Reverse<Timer>>,
    /// Legs with a timer pending (the heap also holds entries of legs rescheduled since, which
    /// are skipped when they come up).
    pending: usize,
    /// Its ends of the hand-off between shards.
    ends: Ends<HandedOver, ParkingLot>,
    doorbells: Arc<[Notify]>,
    /// Where the core hears of PeerConnections (never full, never waited on).
    news: Arc<PeerInbox>,
    stats: Arc<MediaStats>,
    /// Its share of the engine's gauges as last reported: (timers, routes).
    reported: (u64, u64),
    /// What it sends.
    tx: Dispatch,
}

/// How many datagrams one wake-up reads before sending what they produced.
const BATCH: usize = 64;

/// How many handed packets one wake-up forwards before reading its socket again.
const HANDED_BATCH: usize = 64;

impl Shard {
    async fn run(&mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let mut buf = vec![0u8; 2048];
        let doorbells = self.doorbells.clone();
        let doorbell = &doorbells[self.me];
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
                _ = doorbell.notified() => {}
                _ = sleep => self.expire(),
            }
            // What other shards handed over is taken on every wake-up, a bounded batch at a
            // time; what is left rings the shard's own doorbell to come back to it.
            self.take_handed();
            if !self.ends.is_idle() {
                doorbell.notify_one();
            }
            self.flush();
            self.report();
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
        let tx = &mut self.tx;
        let drained = leg.receive(&mut tx.held, now, local, peer, data, &mut tx.out, &mut tx.events);
        self.after(&leg, drained, now);
    }

    /// Fans out what a leg handed over (handing it to the shards with subscribers of it first,
    /// then forwarding to this shard's own), sends its keyframe requests, and reschedules it.
    fn after(&mut self, leg: &Arc<Leg>, drained: Drained, now: Instant) {
        if !drained.rtp.is_empty() {
            let forwarders = leg.forwarders.load();
            self.stats.received.fetch_add(drained.rtp.len() as u64, Relaxed);
            for incoming in drained.rtp {
                let packet = Arc::new(incoming);
                let (tx, mut keyframe) = (&mut self.tx, false);
                let fanned = handoff::fan_out(
                    &mut self.ends,
                    &leg.fanout,
                    |f| f.get(&packet.mid).map(|s| &**s),
                    || HandedOver::Rtp { from: leg.clone(), packet: packet.clone(), arrived: now },
                    |t| keyframe |= tx.copy(t, &packet, now, now),
                );
                self.count_handed(fanned);
                self.tx.send();
                if keyframe {
                    self.keyframe(leg, &packet.mid, now);
                }
                forward_plain(&forwarders, &packet);
            }
        }
        for message in drained.data {
            let message = Arc::new(message);
            let tx = &mut self.tx;
            let fanned = handoff::fan_out(
                &mut self.ends,
                &leg.fanout,
                |f| f.get(&message.0).map(|s| &**s),
                || HandedOver::Data { from: leg.clone(), message: message.clone() },
                |t| t.leg.forward_data(&mut tx.held, &message.1, &message.2, &mut tx.out),
            );
            self.count_handed(fanned);
        }
        self.wake_handed();
        for (publisher, mid) in drained.keyframes {
            self.keyframe(&publisher, &mid, now);
        }
        if drained.connected && leg.owner.kind == LegKind::Subscriber {
            for (publisher, mid) in leg.sources(&mut self.tx.held) {
                self.keyframe(&publisher, &mid, now);
            }
        }
        self.schedule(leg);
    }

    /// Forwards what other shards handed over to this shard's own subscribers, as the
    /// publishers' fan-outs stand now.
    fn take_handed(&mut self) {
        for _ in 0..HANDED_BATCH {
            let Some(handed) = self.ends.take() else { return };
            let tx = &mut self.tx;
            match handed {
                HandedOver::Rtp { from, packet, arrived } => {
                    let (now, mut keyframe) = (Instant::now(), false);
                    handoff::fan_in::<_, _, ParkingLot>(
                        self.me,
                        &from.fanout,
                        |f| f.get(&packet.mid).map(|s| &**s),
                        |t| keyframe |= tx.copy(t, &packet, now, arrived),
                    );
                    self.tx.send();
                    if keyframe {
                        self.keyframe(&from, &packet.mid, now);
                    }
                }
                HandedOver::Data { from, message } => handoff::fan_in::<_, _, ParkingLot>(
                    self.me,
                    &from.fanout,
                    |f| f.get(&message.0).map(|s| &**s),
                    |t| t.leg.forward_data(&mut tx.held, &message.1, &message.2, &mut tx.out),
                ),
            }
        }
    }

    /// Asks `publisher` for a keyframe of `mid`: here if this shard runs it, else through its
    /// own shard.
    fn keyframe(&mut self, publisher: &Arc<Leg>, mid: &str, now: Instant) {
        if publisher.shard.index == self.me {
            publisher.keyframe(&mut self.tx.held, now, mid, &mut self.tx.out);
        } else {
            publisher.command(Cmd::Keyframe(publisher.clone(), mid.to_string()));
        }
    }

    /// Counts what was handed to other shards, and what their full rings refused.
    fn count_handed(&self, fanned: handoff::Handed) {
        if fanned.handed > 0 {
            self.stats.handed.fetch_add(fanned.handed as u64, Relaxed);
        }
        for _ in 0..fanned.refused {
            self.stats.count_drop(DropReason::HandoffFull);
        }
    }

    /// Rings the doorbell of each shard handed something since the last time.
    fn wake_handed(&mut self) {
        for k in self.ends.handed_to() {
            self.doorbells[k].notify_one();
        }
    }

    fn schedule(&mut self, leg: &Arc<Leg>) {
        let mut st = leg.lock(&mut self.tx.held);
        let next = st.next_timeout();
        if next != st.deadline {
            match (st.deadline.is_some(), next.is_some()) {
                (false, true) => self.pending += 1,
                (true, false) => self.pending -= 1,
                _ => {}
            }
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
            {
                let mut st = leg.lock(&mut self.tx.held);
                if st.deadline != Some(at) {
                    continue; // rescheduled since
                }
                st.deadline = None;
                self.pending -= 1;
            }
            if leg.closed.load(Ordering::Relaxed) {
                continue;
            }
            self.stats.timer_ticks.fetch_add(1, Relaxed);
            let tx = &mut self.tx;
            let drained = leg.tick(&mut tx.held, now, &mut tx.out, &mut tx.events);
            self.after(&leg, drained, now);
        }
    }

    fn command(&mut self, c: Cmd) {
        let now = Instant::now();
        let tx = &mut self.tx;
        match c {
            Cmd::Poke(leg) => {
                if leg.closed.load(Ordering::Relaxed) {
                    return;
                }
                self.demux.learn(&leg);
                let drained = leg.tick(&mut tx.held, now, &mut tx.out, &mut tx.events);
                self.after(&leg, drained, now);
            }
            Cmd::Keyframe(leg, mid) => leg.keyframe(&mut tx.held, now, &mid, &mut tx.out),
            Cmd::Close(leg) => {
                leg.close(&mut tx.held);
                let _ = leg.tick(&mut tx.held, now, &mut tx.out, &mut Vec::new());
                self.demux.forget(&leg);
            }
        }
    }

    /// Sends what the legs produced; then hands the core what it must hear.
    fn flush(&mut self) {
        self.tx.send();
        self.wake_handed();
        if !self.tx.events.is_empty() {
            self.news.post_all(self.tx.events.drain(..).map(|(leg, ev)| (leg, ev.into())));
        }
    }

    /// Moves this shard's share of the engine's gauges (timers, routes) to what it holds now.
    fn report(&mut self) {
        let (timers, routes) = (self.pending as u64, self.demux.routes() as u64);
        move_gauge(&self.stats.timers, &mut self.reported.0, timers);
        move_gauge(&self.stats.routes, &mut self.reported.1, routes);
    }
}

/// Adds to `gauge` what one shard's part of it changed by since `last`.
fn move_gauge(gauge: &AtomicU64, last: &mut u64, now: u64) {
    if now > *last {
        gauge.fetch_add(now - *last, Relaxed);
    } else if now < *last {
        gauge.fetch_sub(*last - now, Relaxed);
    }
    *last = now;
}

/// Sends a publisher's packet, as plain RTP, to the RTP forwarders of its stream (and
/// substream).
fn forward_plain(forwarders: &[ForwardTo], incoming: &Incoming) {
    let mut wire = None;
    for f in forwarders.iter().filter(|f| f.carries(&incoming.mid, incoming.layer)) {
        let bytes = wire.get_or_insert_with(|| incoming.packet.marshal().ok());
        if let Some(bytes) = bytes {
            f.sink.send(bytes);
        }
    }
}
