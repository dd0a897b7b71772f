//! The sequential reference model of one VideoRoom, shared by the proptest state-machine test
//! (`prop_core.rs`) and the linearizability check of concurrent histories
//! (`linearizability.rs`): one model, two checkers.
//!
//! Four publisher handles (`P0..P3`, participant ids 1..4) and two subscriber handles (`S0`,
//! `S1`) live in one room that allows two publishers at once. `step` says what the real core
//! must answer to each request, Janus error codes included.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

pub const PUBS: u8 = 4;
pub const SUBS: u8 = 2;
pub const MAX_PUBLISHERS: usize = 2;

pub fn id_of(h: u8) -> u64 {
    h as u64 + 1
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Publisher handle joins with id `h + 1`.
    Join(u8),
    Publish(u8),
    /// `joinandconfigure`: join and publish at once, all or nothing.
    JoinAndPublish(u8),
    /// The media engine reports the handle's PeerConnection up.
    MediaUp(u8),
    Unpublish(u8),
    Leave(u8),
    Kick(u8),
    Rename(u8, u8),
    /// Subscriber handle `s` joins to all streams of publisher handle `f`.
    SubJoin(u8, u8),
    /// Subscriber handle `s` adds all streams of publisher handle `f`.
    SubAdd(u8, u8),
    SubLeave(u8),
    List,
    /// The feeds publisher handle `h` was told of by notifications, so far.
    Told(u8),
    Destroy,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ret {
    Ok,
    Err(u16),
    Up(bool),
    Joined(Vec<u64>),
    Listed(Vec<(u64, bool, String)>),
    Told(Vec<u64>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Media {
    Idle,
    Negotiated,
    Active,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PubRole {
    Idle,
    /// In the room (or kicked from it, or in a room since destroyed).
    In {
        media: Media,
        display: String,
        kicked: bool,
    },
    Spent,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubRole {
    Idle,
    /// Subscribed to these feeds (by publisher handle), once per subscription.
    In {
        feeds: Vec<u8>,
    },
    Spent,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomSpec {
    pub destroyed: bool,
    pub pubs: Vec<PubRole>,
    pub subs: Vec<SubRole>,
    pub told: Vec<BTreeSet<u64>>,
}

impl Default for RoomSpec {
    fn default() -> Self {
        RoomSpec {
            destroyed: false,
            pubs: vec![PubRole::Idle; PUBS as usize],
            subs: vec![SubRole::Idle; SUBS as usize],
            told: vec![BTreeSet::new(); PUBS as usize],
        }
    }
}

impl RoomSpec {
    /// Publisher handles that are members of the live room.
    pub fn members(&self) -> Vec<u8> {
        if self.destroyed {
            return Vec::new();
        }
        (0..PUBS).filter(|&h| matches!(self.pubs[h as usize], PubRole::In { kicked: false, .. })).collect()
    }

    fn media(&self, h: u8) -> Option<Media> {
        match &self.pubs[h as usize] {
            PubRole::In { media, kicked: false, .. } if !self.destroyed => Some(*media),
            _ => None,
        }
    }

    /// The checks every request of a joined publisher goes through first.
    fn check_publisher(&self, h: u8) -> Result<(), u16> {
        match &self.pubs[h as usize] {
            PubRole::Idle => Err(424),
            PubRole::Spent => Err(426),
            PubRole::In { .. } if self.destroyed => Err(426),
            PubRole::In { kicked: true, .. } => Err(433),
            PubRole::In { .. } => Ok(()),
        }
    }

    /// Publishers whose PeerConnection is up: what the room's limit counts (as Janus 1.1.2
    /// does), so an answered offer that never connects holds no place.
    fn live(&self) -> usize {
        self.members().iter().filter(|&&h| self.media(h) == Some(Media::Active)).count()
    }

    /// The feed of `h` stops: subscriptions to it lose it.
    fn feed_stops(&mut self, h: u8) {
        for s in &mut self.subs {
            if let SubRole::In { feeds } = s {
                feeds.retain(|&f| f != h);
            }
        }
    }

    fn set_media(&mut self, h: u8, to: Media) {
        if let PubRole::In { media, .. } = &mut self.pubs[h as usize] {
            *media = to;
        }
    }

    /// Applies `op`; returns what the core must answer.
    pub fn step(&mut self, op: &Op) -> Ret {
        match *op {
            Op::Join(h) => match self.pubs[h as usize] {
                PubRole::In { .. } | PubRole::Spent => Ret::Err(425),
                PubRole::Idle if self.destroyed => Ret::Err(426),
                PubRole::Idle => {
                    let active = self
                        .members()
                        .into_iter()
                        .filter(|&m| self.media(m) == Some(Media::Active))
                        .map(id_of)
                        .collect();
                    self.pubs[h as usize] =
                        PubRole::In { media: Media::Idle, display: format!("p{}", id_of(h)), kicked: false };
                    Ret::Joined(active)
                }
            },
            Op::JoinAndPublish(h) => match self.pubs[h as usize] {
                PubRole::In { .. } | PubRole::Spent => Ret::Err(425),
                PubRole::Idle if self.destroyed => Ret::Err(426),
                PubRole::Idle if self.live() >= MAX_PUBLISHERS => Ret::Err(432),
                PubRole::Idle => {
                    let joined = self.step(&Op::Join(h));
                    self.set_media(h, Media::Negotiated);
                    joined
                }
            },
            Op::Publish(h) => match self.check_publisher(h) {
                Err(code) => Ret::Err(code),
                Ok(()) if self.media(h) != Some(Media::Idle) => Ret::Err(434),
                Ok(()) if self.live() >= MAX_PUBLISHERS => Ret::Err(432),
                Ok(()) => {
                    self.set_media(h, Media::Negotiated);
                    Ret::Ok
                }
            },
            Op::MediaUp(h) => match self.check_publisher(h) {
                Err(code) => Ret::Err(code),
                Ok(()) if self.media(h) != Some(Media::Negotiated) => Ret::Up(false),
                Ok(()) => {
                    self.set_media(h, Media::Active);
                    for m in self.members().into_iter().filter(|&m| m != h) {
                        self.told[m as usize].insert(id_of(h));
                    }
                    Ret::Up(true)
                }
            },
            Op::Unpublish(h) => match self.check_publisher(h) {
                Err(code) => Ret::Err(code),
                Ok(()) if self.media(h) == Some(Media::Idle) => Ret::Err(435),
                Ok(()) => {
                    self.set_media(h, Media::Idle);
                    self.feed_stops(h);
                    Ret::Ok
                }
            },
            Op::Leave(h) => match self.check_publisher(h) {
                Err(code) => Ret::Err(code),
                Ok(()) => {
                    self.feed_stops(h);
                    self.pubs[h as usize] = PubRole::Spent;
                    Ret::Ok
                }
            },
            Op::Kick(h) => {
                if self.destroyed {
                    Ret::Err(426)
                } else if !self.members().contains(&h) {
                    Ret::Err(428)
                } else {
                    self.feed_stops(h);
                    if let PubRole::In { kicked, media, .. } = &mut self.pubs[h as usize] {
                        *kicked = true;
                        *media = Media::Idle;
                    }
                    Ret::Ok
                }
            }
            Op::Rename(h, n) => match self.check_publisher(h) {
                Err(code) => Ret::Err(code),
                Ok(()) => {
                    if let PubRole::In { display, .. } = &mut self.pubs[h as usize] {
                        *display = format!("name{n}");
                    }
                    Ret::Ok
                }
            },
            Op::SubJoin(s, f) => match self.subs[s as usize] {
                SubRole::In { .. } | SubRole::Spent => Ret::Err(425),
                SubRole::Idle if self.destroyed => Ret::Err(426),
                SubRole::Idle if self.media(f) != Some(Media::Active) => Ret::Err(428),
                SubRole::Idle => {
                    self.subs[s as usize] = SubRole::In { feeds: vec![f] };
                    Ret::Ok
                }
            },
            Op::SubAdd(s, f) => match &self.subs[s as usize] {
                SubRole::Idle => Ret::Err(424),
                SubRole::Spent => Ret::Err(426),
                SubRole::In { .. } if self.destroyed => Ret::Err(426),
                SubRole::In { .. } if self.media(f) != Some(Media::Active) => Ret::Err(428),
                SubRole::In { .. } => {
                    if let SubRole::In { feeds } = &mut self.subs[s as usize] {
                        feeds.push(f);
                    }
                    Ret::Ok
                }
            },
            Op::SubLeave(s) => match self.subs[s as usize] {
                SubRole::Idle => Ret::Err(424),
                SubRole::Spent => Ret::Err(426),
                SubRole::In { .. } if self.destroyed => Ret::Err(426),
                SubRole::In { .. } => {
                    self.subs[s as usize] = SubRole::Spent;
                    Ret::Ok
                }
            },
            Op::List => {
                if self.destroyed {
                    return Ret::Err(426);
                }
                let list = self
                    .members()
                    .into_iter()
                    .map(|h| match &self.pubs[h as usize] {
                        PubRole::In { media, display, .. } => (id_of(h), *media == Media::Active, display.clone()),
                        _ => unreachable!("members are in the room"),
                    })
                    .collect();
                Ret::Listed(list)
            }
            Op::Told(h) => Ret::Told(self.told[h as usize].iter().copied().collect()),
            Op::Destroy => {
                if self.destroyed {
                    return Ret::Err(426);
                }
                self.destroyed = true;
                for s in &mut self.subs {
                    if let SubRole::In { feeds } = s {
                        feeds.clear();
                    }
                }
                Ret::Ok
            }
        }
    }

    /// How many subscriber streams of subscriber `s` each live feed forwards to (two streams,
    /// audio and video, per subscription).
    pub fn fanout(&self) -> BTreeMap<(u64, u8), usize> {
        let mut m = BTreeMap::new();
        for (s, role) in self.subs.iter().enumerate() {
            if let SubRole::In { feeds } = role {
                for &f in feeds {
                    *m.entry((id_of(f), s as u8)).or_insert(0) += 2;
                }
            }
        }
        m
    }
}
