//! Teeth, shuttle side: shuttle must report the miniatures of Janus #3463 and #3468 (see
//! `miniatures.rs`) as deadlocks, and the quiescence check must catch an untouched leak.

#[path = "common/mod.rs"]
mod common;
mod miniatures;

use common::shuttle_rt::{check, Shuttle};
use miniatures::*;

#[test]
#[should_panic(expected = "deadlock! blocked tasks")]
fn shuttle_abba_3463_is_reported() {
    check("shuttle_abba_3463_is_reported", 200, abba::<Shuttle>);
}

#[test]
#[should_panic(expected = "deadlock! blocked tasks")]
fn shuttle_leaked_guard_3468_is_reported() {
    check("shuttle_leaked_guard_3468_is_reported", 200, leaked_guard::<Shuttle>);
}

#[test]
#[should_panic(expected = "lock still held")]
fn shuttle_untouched_leak_is_reported_by_quiescence() {
    check("shuttle_untouched_leak_is_reported_by_quiescence", 10, leaked_guard_untouched::<Shuttle>);
}

#[test]
fn shuttle_abba_fixed_passes() {
    check("shuttle_abba_fixed_passes", 200, abba_fixed::<Shuttle>);
}
