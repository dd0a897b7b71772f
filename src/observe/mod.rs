//! What an operator sees of a running vroom: its logs ([`log`]).
//!
//! Nothing here decides anything: the core and the media engine say what happened, and this
//! module carries it out of the process without blocking them.

pub mod log;
