//! The load generator's parts (the `vroom-load` binary drives them; the tests use the peer).
//!
//! From the bottom: [`stamp`], what publishers write into each payload; [`reception`], what
//! subscribers measure; [`peer`], a WebRTC peer on `rtc` cheap enough to run hundreds at once;
//! [`client`], a Janus API client over WebSocket that times every request; [`scenario`], what
//! a run does; [`actors`], its clients; [`poison`], the client that stalls Janus 1.1.2
//! (JCB-04); [`run`], a run from start to end; [`report`] and [`plot`], what it says.
//!
//! The load generator speaks the Janus API to any server, vroom or Janus, over the wire; of the
//! server's code it shares only the `rtc` interceptor that hands RTCP to the application.

pub mod actors;
pub mod client;
pub mod peer;
pub mod plot;
pub mod poison;
pub mod reception;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stamp;
