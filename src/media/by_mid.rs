//! A leg's streams by mid, each in a slot of its own for the leg's life. The packet path finds a
//! stream by its slot, an index the fan-out resolved when it was set, so no forwarded copy
//! hashes or compares a mid; everything else finds it by mid.

use rustc_hash::FxHashMap;

/// Where a mid's stream sits in its leg's [`ByMid`]: the same for the leg's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot(u32);

pub(crate) struct ByMid<T> {
    slots: FxHashMap<String, Slot>,
    /// By slot: its mid, and its stream once there is one.
    items: Vec<(String, Option<T>)>,
}

impl<T> Default for ByMid<T> {
    fn default() -> Self {
        ByMid { slots: FxHashMap::default(), items: Vec::new() }
    }
}

impl<T> ByMid<T> {
    /// The slot of `mid`, given it now if it has none (its stream may come later).
    pub fn slot(&mut self, mid: &str) -> Slot {
        if let Some(slot) = self.slots.get(mid) {
            return *slot;
        }
        let slot = Slot(self.items.len() as u32);
        self.items.push((mid.to_string(), None));
        self.slots.insert(mid.to_string(), slot);
        slot
    }

    pub fn at_mut(&mut self, slot: Slot) -> Option<&mut T> {
        self.items.get_mut(slot.0 as usize)?.1.as_mut()
    }

    pub fn get(&self, mid: &str) -> Option<&T> {
        self.items[self.slots.get(mid)?.0 as usize].1.as_ref()
    }

    pub fn get_mut(&mut self, mid: &str) -> Option<&mut T> {
        self.items[self.slots.get(mid)?.0 as usize].1.as_mut()
    }

    /// Puts `t` as the stream of `mid`, in place of any before.
    pub fn insert(&mut self, mid: &str, t: T) {
        let slot = self.slot(mid);
        self.items[slot.0 as usize].1 = Some(t);
    }

    /// The stream of `mid`, put there by `new` if there is none yet.
    pub fn get_or_insert_with(&mut self, mid: &str, new: impl FnOnce() -> T) -> &mut T {
        let slot = self.slot(mid);
        self.items[slot.0 as usize].1.get_or_insert_with(new)
    }

    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.iter().filter_map(|(_, t)| t.as_ref())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut().filter_map(|(_, t)| t.as_mut())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut T)> {
        self.items.iter_mut().filter_map(|(mid, t)| Some((mid.as_str(), t.as_mut()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_given_before_its_stream_finds_the_stream_put_there_later() {
        let mut streams = ByMid::default();
        let early = streams.slot("1");
        assert_eq!(streams.at_mut(early), None);
        streams.get_or_insert_with("0", || 'a');
        streams.get_or_insert_with("1", || 'b');
        assert_eq!(streams.at_mut(early), Some(&mut 'b'));
        assert_eq!(streams.slot("1"), early);
        assert_eq!(streams.get("0"), Some(&'a'));
        assert_eq!(streams.get("2"), None);
        // In the order the mids were first seen.
        assert_eq!(streams.values().collect::<String>(), "ba");
        // A stream put again keeps the first.
        *streams.get_or_insert_with("1", || 'c') = 'd';
        assert_eq!(streams.iter_mut().map(|(m, c)| format!("{m}{c}")).collect::<Vec<_>>(), ["1d", "0a"]);
    }
}
