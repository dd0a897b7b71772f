//! The engine's open legs: the shards that run them (each reached at its own [`Site`]), their
//! ICE credentials and serials, and the map from handle to leg that resolves the fan-out targets
//! the core names by handle. The core's ports hold it (`port.rs`); legs do not (they reach their
//! shard through its commands, `leg::Cmd`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use super::leg::{Cmd, Leg, ShardRef};
use super::settings::Site;
use super::stats::MediaStats;
use crate::core::ids::{HandleId, IdGen};
use crate::core::seams::PeerOwner;
use crate::sync::order::{self, Before, Token};
use crate::sync::{levels, ParkingLot};

/// A shard as the registry sees it.
pub(crate) struct ShardSite {
    /// Where its legs are reached.
    pub site: Site,
    pub shard: ShardRef,
    /// How many open legs it runs: a new leg goes to the shard with fewest.
    load: AtomicU64,
}

impl ShardSite {
    pub fn new(site: Site, index: usize, cmds: mpsc::UnboundedSender<Cmd>) -> ShardSite {
        ShardSite { site, shard: ShardRef { index, cmds }, load: AtomicU64::new(0) }
    }
}

pub(crate) struct Registry {
    /// The shards, by index.
    pub shards: Vec<ShardSite>,
    /// Open legs by handle. Held only to read or change the map (`sync::levels::Legs`).
    legs: order::Mutex<levels::Legs, HashMap<HandleId, Weak<Leg>>, ParkingLot>,
    seed: AtomicU64,
    serials: AtomicU64,
    pub stats: Arc<MediaStats>,
}

impl Registry {
    /// The legs of `shards` (at least one); `seed` seeds their ICE credentials.
    pub fn new(shards: Vec<ShardSite>, seed: u64) -> Arc<Registry> {
        assert!(!shards.is_empty(), "a registry has a shard");
        Arc::new(Registry {
            shards,
            legs: order::Mutex::new(HashMap::new()),
            seed: AtomicU64::new(seed),
            serials: AtomicU64::new(1),
            stats: Arc::new(MediaStats::default()),
        })
    }

    /// The first shard's site: what the engine reports as its address.
    pub fn site(&self) -> &Site {
        &self.shards[0].site
    }

    /// A new leg for `owner`, on the shard that runs fewest, with fresh ICE credentials and a
    /// serial unique for the engine's life, listed under its handle.
    pub fn open(&self, held: &mut Token<impl Before<levels::Legs>>, owner: PeerOwner) -> Result<Arc<Leg>, String> {
        let credentials = credentials_of(self.seed.fetch_add(SEED_STEP, Ordering::Relaxed));
        let serial = self.serials.fetch_add(1, Ordering::Relaxed);
        // Two legs opened at once may both pick the same shard: a balance, not an invariant.
        let on = self.shards.iter().min_by_key(|s| s.load.load(Ordering::Relaxed)).expect("a shard");
        let leg = Leg::new(owner, &on.site, credentials, serial, self.stats.clone(), on.shard.clone())?;
        on.load.fetch_add(1, Ordering::Relaxed);
        self.legs.lock(held).insert(owner.handle, Arc::downgrade(&leg));
        Ok(leg)
    }

    pub fn leg(&self, held: &mut Token<impl Before<levels::Legs>>, handle: HandleId) -> Option<Arc<Leg>> {
        self.legs.lock(held).get(&handle)?.upgrade()
    }

    /// The legs still open.
    pub fn open_legs(&self, held: &mut Token<impl Before<levels::Legs>>) -> Vec<Arc<Leg>> {
        self.legs.lock(held).values().filter_map(Weak::upgrade).collect()
    }

    /// Takes `leg` off the map (unless its handle has a newer one) and has its shard close it.
    pub fn close(&self, held: &mut Token<impl Before<levels::Legs>>, leg: Arc<Leg>) {
        {
            let mut legs = self.legs.lock(held);
            if legs.get(&leg.owner.handle).is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&leg))) {
                legs.remove(&leg.owner.handle);
            }
        }
        if let Some(on) = self.shards.get(leg.shard.index) {
            on.load.fetch_sub(1, Ordering::Relaxed);
        }
        leg.command(Cmd::Close(leg.clone()));
    }
}

/// How far the seed moves from one leg's credentials to the next.
pub(crate) const SEED_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// The ICE credentials (ufrag, password) drawn from `seed`: an engine started with seed `s`
/// gives its first leg `credentials_of(s)`, its second `credentials_of(s + SEED_STEP)`.
pub(crate) fn credentials_of(seed: u64) -> (String, String) {
    let mut ids = IdGen::new(seed);
    (ids.hex(1), ids.hex(3))
}
