// Two locks of one level (two rooms) can never be held at once. Must not compile.
use std::sync::Arc;
use vroom::core::{Core, CoreConfig};
use vroom::media::{SystemClock, UdpSockets};
use vroom::sync::order::Token;
use vroom::sync::ParkingLot;

fn main() {
    let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
    let core: Core<ParkingLot> = Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets);
    core.create_room(Some(1), Default::default(), None).unwrap();
    core.create_room(Some(2), Default::default(), None).unwrap();
    let (a, b) = (core.room(1).unwrap(), core.room(2).unwrap());
    let mut t = Token::root::<ParkingLot>();
    let mut first = a.read(&mut t);
    let _second = b.read(first.token());
}
