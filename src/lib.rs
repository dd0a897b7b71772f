//! vroom: a WebRTC SFU that speaks the Janus Gateway API, built on a concurrency core whose
//! lock order is checked by the compiler and whose interleavings are explored by loom and
//! shuttle (see `specs/` and `model-tests/`).
//!
//! * [`sync`]: the concurrency abstraction, its production backend and the lock order.
//! * [`core`]: sessions, handles and VideoRoom state machines (sans-IO).
//! * [`config`]: the server's TOML configuration.
//! * [`load`]: the load generator's WebRTC peer and measurements (`vroom-load`).

pub mod api;
pub mod config;
pub mod core;
pub mod load;
pub mod media;
pub mod observe;
pub mod record;
pub mod sync;
pub mod transport;

/// The core as the server runs it.
pub type ProdCore = core::Core<sync::ParkingLot>;
