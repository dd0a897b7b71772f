// Events are delivered only after every lock is released: delivering under a room lock must
// not compile.
use std::sync::Arc;
use vroom::core::outbox::Outbox;
use vroom::core::{Core, CoreConfig};
use vroom::media::{SystemClock, UdpSockets};
use vroom::sync::order::Token;
use vroom::sync::ParkingLot;

fn main() {
    let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
    let core: Core<ParkingLot> = Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets);
    core.create_room(Some(1), Default::default(), None).unwrap();
    let room = core.room(1).unwrap();
    let mut t = Token::root::<ParkingLot>();
    let mut r = room.read(&mut t);
    let out: Outbox<ParkingLot> = Outbox::new();
    out.deliver(r.token());
}
