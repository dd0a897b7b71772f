// Janus #3463 on vroom's real core: a publisher locked, then its room. Must not compile.
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
    let publisher = room.read(&mut t).publishers().next().cloned();
    if let Some(p) = publisher {
        let mut p = p.lock(&mut t);
        let _room = room.read(p.token()); // streams, then room: the AB-BA of #3463
    }
}
