//! Who is talking, as Janus's VideoRoom decides it: each audio packet of a publisher carries
//! its level in the `ssrc-audio-level` header extension (RFC 6464: -dBov, 0 the loudest, 127
//! silence). Every `packets` packets of a stream, their average is compared with `average`:
//! below it (louder) the stream is talking, else not. Only a change is news
//! (`talking` / `stopped-talking`).

use std::collections::HashMap;

use crate::core::seams::TalkSettings;

/// What one stream's packets said since its last verdict.
#[derive(Default)]
struct Loudness {
    sum: u64,
    packets: u32,
    talking: bool,
}

/// A changed verdict: talking or not, and the average level of the packets that decided it
/// (their sum over their count, as Janus's `audio-level-dBov-avg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub talking: bool,
    pub level_sum: u64,
    pub packets: u32,
}

pub(crate) struct Talk {
    settings: TalkSettings,
    streams: HashMap<String, Loudness>,
}

impl Talk {
    pub fn new(settings: TalkSettings) -> Talk {
        Talk { settings, streams: HashMap::new() }
    }

    /// New settings keep what the streams heard so far, as Janus's `configure` does.
    pub fn set(&mut self, settings: TalkSettings) {
        self.settings = settings;
    }

    /// One packet of stream `mid` at `level` (the extension's low seven bits). Returns the new
    /// verdict if it changed.
    pub fn hear(&mut self, mid: &str, level: u8) -> Option<Verdict> {
        let s = match self.streams.get_mut(mid) {
            Some(s) => s,
            None => self.streams.entry(mid.to_string()).or_default(),
        };
        s.sum += u64::from(level & 0x7f);
        s.packets += 1;
        if self.settings.packets == 0 || s.packets < self.settings.packets {
            return None;
        }
        let (sum, packets) = (s.sum, s.packets);
        (s.sum, s.packets) = (0, 0);
        // Janus compares the average as a float: 24.99 is below 25.
        let talking = (sum as f64 / f64::from(packets)) < f64::from(self.settings.average);
        if talking == s.talking {
            return None;
        }
        s.talking = talking;
        Some(Verdict { talking, level_sum: sum, packets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk() -> Talk {
        Talk::new(TalkSettings { packets: 4, average: 25 })
    }

    #[test]
    fn every_packets_packets_the_average_decides_and_only_a_change_is_news() {
        let mut t = talk();
        // Silence: not talking, which it already was not.
        assert!((0..8).all(|_| t.hear("0", 127).is_none()));
        // Loud: the fourth packet decides.
        assert_eq!(t.hear("0", 10), None);
        assert_eq!(t.hear("0", 20), None);
        assert_eq!(t.hear("0", 30), None);
        assert_eq!(t.hear("0", 39), Some(Verdict { talking: true, level_sum: 99, packets: 4 }));
        // Still loud: no news.
        assert!((0..4).all(|_| t.hear("0", 5).is_none()));
        // An average of exactly 25 is not below it: stopped.
        assert_eq!(
            (0..4).filter_map(|_| t.hear("0", 25)).next(),
            Some(Verdict { talking: false, level_sum: 100, packets: 4 })
        );
    }

    #[test]
    fn streams_are_judged_apart_and_the_voice_bit_is_not_the_level() {
        let mut t = talk();
        for _ in 0..3 {
            t.hear("0", 0x80 | 3);
            t.hear("1", 127);
        }
        assert_eq!(t.hear("1", 127), None);
        assert_eq!(t.hear("0", 0x80 | 3), Some(Verdict { talking: true, level_sum: 12, packets: 4 }));
    }

    #[test]
    fn no_packet_count_decides_nothing() {
        let mut t = Talk::new(TalkSettings { packets: 0, average: 25 });
        assert!((0..500).all(|_| t.hear("0", 0).is_none()));
    }
}
