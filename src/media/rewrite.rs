//! Per-subscriber RTP header rewriting: each subscriber stream has its own SSRC, and its sequence
//! numbers and timestamps run on without a jump when the source behind it changes (`switch`, or
//! a publisher that restarts its stream), as Janus's `janus_rtp_switching_context` does.

/// The outgoing numbering of one subscriber stream.
#[derive(Clone, Debug, Default)]
pub struct Rewriter {
    /// The SSRC of the packets currently forwarded (`None` before the first).
    source: Option<u32>,
    seq_offset: u16,
    ts_offset: u32,
    last_seq: u16,
    last_ts: u32,
}

/// Added to the last timestamp when the source changes: one 90 kHz frame at 30 fps. The next
/// frame of the new source then plays right after the last one of the old.
const SWITCH_TS_STEP: u32 = 3000;

impl Rewriter {
    /// The (sequence number, timestamp) to send for a packet of `ssrc` numbered `seq`, `ts` by
    /// its publisher.
    pub fn rewrite(&mut self, ssrc: u32, seq: u16, ts: u32) -> (u16, u32) {
        match self.source {
            Some(s) if s == ssrc => {}
            Some(_) => {
                // A new source: continue right after the last packet sent.
                self.seq_offset = self.last_seq.wrapping_add(1).wrapping_sub(seq);
                self.ts_offset = self.last_ts.wrapping_add(SWITCH_TS_STEP).wrapping_sub(ts);
                self.source = Some(ssrc);
            }
            None => {
                self.source = Some(ssrc);
                self.last_seq = seq.wrapping_sub(1);
            }
        }
        let out = (seq.wrapping_add(self.seq_offset), ts.wrapping_add(self.ts_offset));
        // Keep the highest sequence number sent, so a late (reordered) packet does not move it back.
        if (out.0.wrapping_sub(self.last_seq) as i16) > 0 {
            self.last_seq = out.0;
            self.last_ts = out.1;
        }
        out
    }

    /// The packet of `ssrc` numbered `seq` is not forwarded (a temporal layer this subscriber
    /// does not get): the packets after it close the gap. A packet that arrives after newer
    /// ones were sent cannot be skipped without a gap, so it leaves one (the subscriber's NACK
    /// for it goes unanswered, as for a packet lost upstream).
    pub fn skip(&mut self, ssrc: u32, seq: u16) {
        if self.source != Some(ssrc) {
            return; // the next forwarded packet rebases anyway
        }
        if (seq.wrapping_add(self.seq_offset).wrapping_sub(self.last_seq) as i16) > 0 {
            self.seq_offset = self.seq_offset.wrapping_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_source_keeps_its_numbers() {
        let mut r = Rewriter::default();
        assert_eq!(r.rewrite(7, 100, 9000), (100, 9000));
        assert_eq!(r.rewrite(7, 101, 12000), (101, 12000));
    }

    #[test]
    fn a_switch_continues_the_sequence() {
        let mut r = Rewriter::default();
        r.rewrite(7, 65535, 4_294_967_000);
        let (seq, ts) = r.rewrite(8, 5, 100);
        assert_eq!(seq, 0);
        assert_eq!(ts, 4_294_967_000u32.wrapping_add(SWITCH_TS_STEP));
        assert_eq!(r.rewrite(8, 6, 3100), (1, ts.wrapping_add(3000)));
    }

    #[test]
    fn skipped_packets_leave_no_gap() {
        let mut r = Rewriter::default();
        assert_eq!(r.rewrite(7, 10, 0).0, 10);
        r.skip(7, 11);
        r.skip(7, 12);
        assert_eq!(r.rewrite(7, 13, 3000).0, 11);
        // A late packet older than what was sent leaves its number unused.
        r.skip(7, 9);
        assert_eq!(r.rewrite(7, 14, 6000).0, 12);
    }

    proptest! {
        /// Whatever packets of a run are skipped, the ones forwarded are numbered without a gap.
        #[test]
        fn prop_skipped_packets_leave_no_gap(start in any::<u16>(), forward in proptest::collection::vec(any::<bool>(), 1..60)) {
            let mut r = Rewriter::default();
            let mut last: Option<u16> = None;
            for (i, f) in forward.into_iter().enumerate() {
                let seq = start.wrapping_add(i as u16);
                if !f && last.is_some() {
                    r.skip(9, seq);
                    continue;
                }
                let (out, _) = r.rewrite(9, seq, 0);
                if let Some(l) = last {
                    prop_assert_eq!(out, l.wrapping_add(1));
                }
                last = Some(out);
            }
        }

        /// Whatever the sources and their numbering, every switch continues the outgoing
        /// sequence with the next number, and in-order packets of one source stay consecutive.
        #[test]
        fn prop_sequence_is_continuous_across_switches(
            runs in proptest::collection::vec((any::<u16>(), any::<u32>(), 1usize..20), 1..10)
        ) {
            let mut r = Rewriter::default();
            let mut last: Option<u16> = None;
            for (ssrc, (seq0, ts0, n)) in runs.into_iter().enumerate() {
                let ssrc = ssrc as u32;
                for i in 0..n {
                    let (seq, _) = r.rewrite(ssrc, seq0.wrapping_add(i as u16), ts0.wrapping_add(3000 * i as u32));
                    if let Some(l) = last {
                        prop_assert_eq!(seq, l.wrapping_add(1));
                    }
                    last = Some(seq);
                }
            }
        }
    }
}
