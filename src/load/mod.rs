//! The load generator's parts (the `vroom-load` binary drives them; the tests use the peer):
//! [`client`], a Janus API client over WebSocket that times every request; [`peer`], a WebRTC
//! peer on `rtc` cheap enough to run hundreds at once; [`stamp`], what its publishers write
//! into each payload; [`reception`], what its subscribers measure.
//!
//! Nothing of the server is used here: the load generator speaks the Janus API to any server,
//! vroom or Janus, over the wire.

pub mod client;
pub mod peer;
pub mod reception;
pub mod stamp;
