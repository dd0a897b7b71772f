//! The load generator's WebRTC peer (`vroom::load::peer`), with what the tests wait for and
//! check: exact RTP numbering across `switch`, renegotiation, packet loss and NACK.

use std::collections::HashSet;
use std::time::{Duration, Instant};

pub use vroom::load::peer::{Peer as RtcPeer, Received};

/// Waits that fail the test.
#[allow(async_fn_in_trait)]
pub trait Waits {
    async fn wait_connected(&self, within: Duration);
    /// Waits until `pred` holds for what was received so far.
    async fn wait_received(&self, within: Duration, pred: impl Fn(&[Received]) -> bool);
}

impl Waits for RtcPeer {
    async fn wait_connected(&self, within: Duration) {
        assert!(self.connected_within(within).await, "the peer did not connect: {:?}", self.connection());
    }

    async fn wait_received(&self, within: Duration, pred: impl Fn(&[Received]) -> bool) {
        let end = Instant::now() + within;
        loop {
            if self.with_received(&pred) {
                return;
            }
            assert!(Instant::now() < end, "not received in time: {} packets", self.received_count());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Sequence numbers in `received` with the given tag, in arrival order.
pub fn seqs(received: &[Received], tag: u32) -> Vec<u16> {
    received.iter().filter(|r| r.tag == tag).map(|r| r.seq).collect()
}

/// How many distinct sequence numbers are missing between the first and the last received.
pub fn missing(seqs: &[u16]) -> usize {
    let set: HashSet<u16> = seqs.iter().copied().collect();
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.iter().max_by_key(|s| s.wrapping_sub(seqs[0]))) else {
        return 0;
    };
    let span = last.wrapping_sub(first) as usize + 1;
    span - (0..span).filter(|i| set.contains(&first.wrapping_add(*i as u16))).count()
}
