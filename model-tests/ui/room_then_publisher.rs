// The order every vroom path uses, on the real core: room, then publisher. Compiles and runs.
use std::sync::Arc;
use vroom::core::{Core, CoreConfig};
use vroom::media::{SystemClock, UdpSockets};
use vroom::sync::order::Token;
use vroom::sync::ParkingLot;

fn main() {
    let sockets = Arc::new(UdpSockets::new([127, 0, 0, 1].into()));
    let core: Core<ParkingLot> = Core::new(CoreConfig::default(), Arc::new(SystemClock::default()), sockets);
    core.create_room(Some(1234), Default::default(), None).unwrap();
    let room = core.room(1234).unwrap();
    let mut t = Token::root::<ParkingLot>();
    let mut r = room.read(&mut t);
    let publishers: Vec<_> = r.publishers().cloned().collect();
    for p in &publishers {
        let _p = p.lock(r.token());
    }
}
