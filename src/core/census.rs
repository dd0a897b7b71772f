//! How many of each thing the core holds right now, for `/metrics`: counted by visiting the
//! registries one lock at a time (a scrape is rare; the hot paths keep no extra counters).

use super::Core;
use crate::sync::Runtime;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub sessions: u64,
    pub handles: u64,
    /// Events waiting in the sessions' queues for their clients.
    pub queued_events: u64,
    pub rooms: u64,
    /// Publisher-role participants (joined; publishing or not).
    pub participants: u64,
    /// Publishers whose media is negotiated or up.
    pub publishers: u64,
    pub subscribers: u64,
}

impl<R: Runtime> Core<R> {
    pub fn census(&self) -> Census {
        let mut c = Census::default();
        let mut t = Self::enter();
        let sessions: Vec<_> = self.sessions.read(&mut t).sessions.values().cloned().collect();
        for s in sessions {
            c.sessions += 1;
            c.handles += s.handle_count(&mut t) as u64;
            c.queued_events += s.events().len() as u64;
        }
        let rooms: Vec<_> = self.rooms.read(&mut t).rooms.values().cloned().collect();
        for room in rooms {
            let st = room.state.read(&mut t);
            if st.destroyed {
                continue;
            }
            c.rooms += 1;
            c.participants += st.publishers.len() as u64;
            c.publishers += st.publishing.len() as u64;
            c.subscribers += st.subscribers.len() as u64;
        }
        c
    }
}
