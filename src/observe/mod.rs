//! What an operator sees of a running vroom: its logs ([`log`]), its Prometheus metrics
//! ([`metrics`]), the lock watchdog ([`locks`]), and the accounting of everything it holds
//! ([`accounting`], with the kernel's view of the process in [`process`]).
//!
//! Nothing here decides anything: the core and the media engine say what happened, and this
//! module carries it out of the process without blocking them.
//!
//! Layers: [`histogram`], [`log`] and [`locks`] import nothing of vroom's but each other (the
//! lock order's backend reports to [`locks`] from beneath the core); [`exposition`] writes the
//! text format; [`process`] reads `/proc`; [`accounting`] and [`metrics`] sit above the core and
//! the media engine and read them.

pub mod accounting;
pub mod exposition;
pub mod histogram;
pub mod locks;
pub mod log;
pub mod metrics;
pub mod process;
