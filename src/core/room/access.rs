//! The one way a participant's request reaches its room: take the handle, find the handle's
//! publisher or subscriber, take the room (write or read), check the participant is still in it,
//! run the request, and deliver the events it queued once every lock is released.

use std::sync::Arc;

use crate::sync::levels;
use crate::sync::order::Token;
use crate::sync::Runtime;

use super::{Publisher, RoomState, Seat, Subscriber};
use crate::core::error::Result;
use crate::core::ids::RoomId;
use crate::core::outbox::Outbox;
use crate::core::session::{Handle, HandleState};
use crate::core::Core;

/// A participant kind: what a handle can be in a room.
pub(crate) trait Member<R: Runtime>: Sized {
    /// The handle's room and participant, or the Janus error for a handle that is not one.
    fn seat(hs: &HandleState<R>, h: &Handle<R>) -> Result<Seat<R, Self>>;
    /// Fails unless `me` is still in the live room.
    fn check(st: &RoomState<R>, room: RoomId, me: &Self, t: &mut Token<levels::Room>) -> Result<()>;
}

impl<R: Runtime> Member<R> for Publisher<R> {
    fn seat(hs: &HandleState<R>, h: &Handle<R>) -> Result<Seat<R, Self>> {
        hs.publisher(h)
    }
    fn check(st: &RoomState<R>, room: RoomId, me: &Self, t: &mut Token<levels::Room>) -> Result<()> {
        st.check_publisher(room, me, t)
    }
}

impl<R: Runtime> Member<R> for Subscriber<R> {
    fn seat(hs: &HandleState<R>, h: &Handle<R>) -> Result<Seat<R, Self>> {
        hs.subscriber(h)
    }
    fn check(st: &RoomState<R>, room: RoomId, me: &Self, _: &mut Token<levels::Room>) -> Result<()> {
        st.check_subscriber(room, me)
    }
}

/// Where a request runs: the room's state, the room's id, the participant, the token of the
/// room level (to take the participants' locks), and the outbox for its events.
pub(crate) type Request<'a, R, S, M> = (S, RoomId, &'a Arc<M>, &'a mut Token<levels::Room>, &'a mut Outbox<R>);

impl<R: Runtime> Core<R> {
    /// Runs `f` as `h`'s participant with its room write-locked.
    pub(crate) fn as_member<M: Member<R>, T>(
        &self,
        h: &Handle<R>,
        f: impl FnOnce(Request<'_, R, &mut RoomState<R>, M>) -> Result<T>,
    ) -> Result<T> {
        let mut t = Self::enter();
        let mut out = Outbox::new();
        let done = {
            let mut hg = h.state.lock(&mut t);
            let (hs, ht) = hg.split();
            let (room, me) = M::seat(hs, h)?;
            let mut rg = room.state.write(ht);
            let (st, rt) = rg.split();
            M::check(st, room.id, &me, rt)?;
            f((st, room.id, &me, rt, &mut out))?
        };
        out.deliver(&mut t);
        Ok(done)
    }

    /// Runs `f` as `h`'s participant with its room read-locked.
    pub(crate) fn as_member_reading<M: Member<R>, T>(
        &self,
        h: &Handle<R>,
        f: impl FnOnce(Request<'_, R, &RoomState<R>, M>) -> Result<T>,
    ) -> Result<T> {
        let mut t = Self::enter();
        let mut out = Outbox::new();
        let done = {
            let mut hg = h.state.lock(&mut t);
            let (hs, ht) = hg.split();
            let (room, me) = M::seat(hs, h)?;
            let mut rg = room.state.read(ht);
            let (st, rt) = rg.split_ref();
            M::check(st, room.id, &me, rt)?;
            f((st, room.id, &me, rt, &mut out))?
        };
        out.deliver(&mut t);
        Ok(done)
    }
}

impl<R: Runtime> Core<R> {
    /// Runs an administrative request (one that needs the room's `secret`) with the room
    /// write-locked; delivers its events once every lock is released.
    pub(crate) fn as_room_admin<T>(
        &self,
        id: RoomId,
        secret: Option<&str>,
        f: impl FnOnce(&mut RoomState<R>, &mut Token<levels::Room>, &mut Outbox<R>) -> Result<T>,
    ) -> Result<T> {
        let mut t = Self::enter();
        let room = self.find_room(&mut t, id)?;
        let mut out = Outbox::new();
        let done = {
            let mut rg = room.state.write(&mut t);
            let (st, rt) = rg.split();
            st.live(id)?;
            st.config.check_secret(secret)?;
            f(st, rt, &mut out)?
        };
        out.deliver(&mut t);
        Ok(done)
    }
}
