//! Janus's `slowlink` events: once a second, each stream whose packets lost since the last look
//! reach the configured threshold (`[media] slowlink_threshold`, 0: never, Janus's default) is
//! told to its handle, with `uplink` as Janus sets it: true for what vroom sends (the peer's
//! receiver reports say what it lost), false for what vroom receives (counted here from the
//! sequence numbers, as RFC 3550's receiver statistics do).

use std::collections::HashMap;

/// A received stream's loss so far: packets expected from its sequence numbers, less those that
/// came (duplicates and reordering can make it go down again, as RFC 3550's does).
#[derive(Default)]
pub(crate) struct Arrivals {
    /// The first sequence number, and the highest, extended by the wraps seen.
    first: Option<u64>,
    highest: u64,
    received: u64,
}

impl Arrivals {
    pub fn arrived(&mut self, seq: u16) {
        self.received += 1;
        let Some(first) = self.first else {
            self.first = Some(u64::from(seq));
            self.highest = u64::from(seq);
            return;
        };
        // The extension of `seq` nearest the highest so far.
        let cycle = self.highest & !0xffff;
        let near = [cycle.wrapping_sub(0x1_0000), cycle, cycle + 0x1_0000]
            .into_iter()
            .map(|c| c.wrapping_add(u64::from(seq)))
            .filter(|ext| *ext >= first)
            .min_by_key(|ext| ext.abs_diff(self.highest));
        if let Some(ext) = near {
            self.highest = self.highest.max(ext);
        }
    }

    /// Packets lost so far.
    pub fn lost(&self) -> u64 {
        let expected = self.first.map_or(0, |f| self.highest - f + 1);
        expected.saturating_sub(self.received)
    }
}

/// The totals at the last look, per stream and direction.
#[derive(Default)]
pub(crate) struct LossWatch {
    seen: HashMap<(String, bool), u64>,
}

impl LossWatch {
    /// A look at stream `mid` (`uplink`: one vroom sends) that has lost `total` packets so far:
    /// how many since the last look, if they reach `threshold` (0: never).
    pub fn look(&mut self, mid: &str, uplink: bool, total: u64, threshold: u32) -> Option<u64> {
        let last = self.seen.insert((mid.to_string(), uplink), total).unwrap_or(0);
        let recent = total.saturating_sub(last);
        (threshold > 0 && recent >= u64::from(threshold)).then_some(recent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_across_a_wrap_and_reordering() {
        let mut a = Arrivals::default();
        for seq in [65_530u16, 65_531, 65_533, 65_535, 0, 2, 1, 5] {
            a.arrived(seq);
        }
        // 65,530 to 5 is 12 packets; 8 came.
        assert_eq!(a.lost(), 4);
        // A late one fills a hole.
        a.arrived(65_532);
        assert_eq!(a.lost(), 3);
    }

    #[test]
    fn only_losses_since_the_last_look_that_reach_the_threshold_are_told() {
        let mut w = LossWatch::default();
        assert_eq!(w.look("0", true, 3, 4), None);
        assert_eq!(w.look("0", true, 7, 4), Some(4));
        assert_eq!(w.look("0", true, 9, 4), None);
        assert_eq!(w.look("0", false, 9, 4), Some(9), "each direction apart");
        assert_eq!(w.look("0", true, 100, 0), None, "0: never");
    }
}
