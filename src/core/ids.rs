//! Identifiers, and the generator that draws them.
//!
//! Janus ids are random integers below 2^53 (a JavaScript double holds them exactly); private
//! ids are 32-bit. Each registry draws ids from its own generator, kept *inside* the data its
//! lock guards, so drawing an id is never a synchronization point of its own.

pub type SessionId = u64;
pub type HandleId = u64;
pub type RoomId = u64;
pub type ParticipantId = u64;
pub type PrivateId = u32;
/// A transport connection (one WebSocket, or the HTTP transport's long-poll owner).
pub type TransportId = u64;

/// The transport id of every HTTP session (WebSocket connections count from 1).
pub const HTTP_TRANSPORT: TransportId = 0;

/// Largest id Janus hands out: 2^53 - 1.
pub const MAX_ID: u64 = (1 << 53) - 1;

/// splitmix64: small, fast, and good enough for ids that only need to be unpredictable-ish and
/// unique (uniqueness is checked against the registry anyway).
#[derive(Clone, Debug)]
pub struct IdGen(u64);

impl IdGen {
    pub fn new(seed: u64) -> Self {
        IdGen(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh id in 1..=MAX_ID that `taken` rejects.
    pub fn id(&mut self, taken: impl Fn(u64) -> bool) -> u64 {
        loop {
            let v = self.next_u64() & MAX_ID;
            if v != 0 && !taken(v) {
                return v;
            }
        }
    }

    /// `words` random 32-bit words as lowercase hex (ICE credentials, test fingerprints).
    pub fn hex(&mut self, words: usize) -> String {
        (0..words).map(|_| format!("{:08x}", (self.next_u64() >> 32) as u32)).collect()
    }

    /// A fresh nonzero 32-bit private id that `taken` rejects.
    pub fn private_id(&mut self, taken: impl Fn(u32) -> bool) -> u32 {
        loop {
            let v = (self.next_u64() >> 32) as u32;
            if v != 0 && !taken(v) {
                return v;
            }
        }
    }

    /// A generator for a child registry (e.g. a room's participants), seeded from this one.
    pub fn fork(&mut self) -> IdGen {
        IdGen(self.next_u64())
    }
}
