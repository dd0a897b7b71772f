//! Teeth, loom side: loom must report the miniatures of Janus #3463 and #3468 (see
//! `miniatures.rs`) as deadlocks, and the quiescence check must catch an untouched leak.

#[path = "common/mod.rs"]
mod common;
mod miniatures;

use common::loom_rt::{model, Loom};
use miniatures::*;

#[test]
#[should_panic(expected = "deadlock; threads")]
fn loom_abba_3463_is_reported() {
    model("loom_abba_3463_is_reported", Some(2), abba::<Loom>);
}

#[test]
#[should_panic(expected = "deadlock; threads")]
fn loom_leaked_guard_3468_is_reported() {
    model("loom_leaked_guard_3468_is_reported", Some(2), leaked_guard::<Loom>);
}

#[test]
#[should_panic(expected = "lock still held")]
fn loom_untouched_leak_is_reported_by_quiescence() {
    model("loom_untouched_leak_is_reported_by_quiescence", Some(2), leaked_guard_untouched::<Loom>);
}

#[test]
fn loom_abba_fixed_passes() {
    model("loom_abba_fixed_passes", None, abba_fixed::<Loom>);
}
