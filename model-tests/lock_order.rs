//! The lock order is checked by the compiler (trybuild: the inverted #3463 order and two locks
//! of one level do not compile, nor does delivering events under a lock) and, for what types
//! cannot see, at run time in debug builds (re-entering the core under a lock).

use std::sync::Arc;

use vroom::core::{Core, CoreConfig};
use vroom::net::{SystemClock, UdpSockets};
use vroom::sync::order::Token;
use vroom::sync::ParkingLot;

#[test]
fn compile_fail_lock_order() {
    let t = trybuild::TestCases::new();
    t.pass("model-tests/ui/room_then_publisher.rs");
    t.compile_fail("model-tests/ui/publisher_then_room.rs");
    t.compile_fail("model-tests/ui/two_rooms.rs");
    t.compile_fail("model-tests/ui/deliver_under_lock.rs");
}

fn core() -> Core<ParkingLot> {
    let sockets = Arc::new(UdpSockets { media_ip: [127, 0, 0, 1].into() });
    let core = Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets);
    core.create_room(Some(1234), Default::default(), None).unwrap();
    core
}

/// JCB-11/12/13 are a core function called again from under a lock the caller holds. Types
/// cannot see a fresh entry point; the run-time check does.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "entering the core while holding Room")]
fn lockdep_reentry_under_a_lock_is_reported() {
    let core = core();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    let _held = room.read(&mut t);
    let _ = core.list_participants(1234);
}

/// Once the guard is gone, the same call is fine.
#[test]
fn lockdep_entry_after_release_is_fine() {
    let core = core();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    drop(room.read(&mut t));
    assert!(core.list_participants(1234).unwrap().is_empty());
}
