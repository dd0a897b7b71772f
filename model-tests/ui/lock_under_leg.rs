// Nothing is taken under a PeerConnection's lock (level `Leg`, the last): here, the media
// engine's map of PeerConnections. Must not compile.
use vroom::sync::levels::{Leg, Legs};
use vroom::sync::order::{Mutex, Token};
use vroom::sync::ParkingLot;

fn main() {
    let leg: Mutex<Leg, u32, ParkingLot> = Mutex::new(0);
    let legs: Mutex<Legs, u32, ParkingLot> = Mutex::new(0);
    let mut t = Token::root::<ParkingLot>();
    let mut state = leg.lock(&mut t);
    let _map = legs.lock(state.token()); // the map after a leg: the order is map, then leg
}
