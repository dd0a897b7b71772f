// A call into the media engine (a `MediaPort` method, given `token.media()`) may take only the
// media's locks, never a core lock. Must not compile.
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
    let mut media = t.media();
    let _room = room.read(&mut *media); // a room, from inside a call into the media
}
