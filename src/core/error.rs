//! Every way a core operation can fail, each mapped to exactly one Janus error code and the
//! reason text Janus 1.1.2 sends (see `../shared/reference/janus-api.md` §2.7 and §3.4).

use std::fmt;

use super::ids::{HandleId, ParticipantId, RoomId, SessionId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    // Core API errors (`"janus":"error"`).
    /// 403
    Unauthorized,
    /// 405: the request's token may not use this plugin.
    UnauthorizedPlugin(String),
    /// 470
    NoSuchToken,
    /// 458
    NoSuchSession(SessionId),
    /// 459
    NoSuchHandle { session: SessionId, handle: HandleId },
    /// 460
    NoSuchPlugin(String),
    /// 468
    SessionConflict(SessionId),
    /// 472
    NotAcceptingSessions,

    // VideoRoom errors (inside plugindata).
    /// 423
    InvalidRequest(String),
    /// 424
    JoinFirst,
    /// 425: a second join on a handle that is already in a room.
    AlreadyJoined { as_publisher: bool },
    /// 425: a join on a handle that already left its room.
    NotInRoom,
    /// 426
    NoSuchRoom(RoomId),
    /// 427
    RoomExists(RoomId),
    /// 428: a subscriber asked for a feed that is not an active publisher.
    NoSuchFeed(ParticipantId),
    /// 428: kick or moderate named an id that is not in the room.
    NoSuchUser { room: RoomId, id: ParticipantId },
    /// 428: a mid that the feed (or subscription) does not have.
    NoSuchStream(String),
    /// 429
    MissingElement(&'static str),
    /// 430: a field of the wrong type.
    InvalidElement(String),
    /// 430: a field with a value the request does not accept (e.g. `ptype`).
    InvalidValue(&'static str),
    /// A value outside what the field allows: what it should be.
    OutOfRange(&'static str),
    /// 432
    PublishersFull(u32),
    /// 433
    WrongPin,
    /// 433
    WrongSecret,
    /// 433: a `token` not in the room's allowed list, a bad `admin_key`, a missing `private_id`.
    NotAllowed(&'static str),
    /// 433: any request from a publisher that was kicked.
    Kicked,
    /// 434
    AlreadyPublished,
    /// 435
    NotPublished,
    /// 436
    IdExists(ParticipantId),
    /// 437
    InvalidSdp(String),
    /// 499: an internal failure, such as a socket that could not be created.
    Internal(String),
}

impl Error {
    /// The Janus error code.
    pub fn code(&self) -> u16 {
        use Error::*;
        match self {
            Unauthorized => 403,
            UnauthorizedPlugin(_) => 405,
            NoSuchToken => 470,
            NoSuchSession(_) => 458,
            NoSuchHandle { .. } => 459,
            NoSuchPlugin(_) => 460,
            SessionConflict(_) => 468,
            NotAcceptingSessions => 472,
            InvalidRequest(_) => 423,
            JoinFirst => 424,
            AlreadyJoined { .. } | NotInRoom => 425,
            NoSuchRoom(_) => 426,
            RoomExists(_) => 427,
            NoSuchFeed(_) | NoSuchUser { .. } | NoSuchStream(_) => 428,
            MissingElement(_) => 429,
            InvalidElement(_) | InvalidValue(_) | OutOfRange(_) => 430,
            PublishersFull(_) => 432,
            WrongPin | WrongSecret | NotAllowed(_) | Kicked => 433,
            AlreadyPublished => 434,
            NotPublished => 435,
            IdExists(_) => 436,
            InvalidSdp(_) => 437,
            Internal(_) => 499,
        }
    }

    /// True for errors of the core API (sent as `"janus":"error"`), false for plugin errors
    /// (sent inside `plugindata`).
    pub fn is_core(&self) -> bool {
        self.code() >= 450 && self.code() != 499 || matches!(self.code(), 403 | 405)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            Unauthorized => write!(f, "Unauthorized request (wrong or missing secret/token)"),
            UnauthorizedPlugin(p) => write!(f, "Provided token can't access plugin '{p}'"),
            NoSuchToken => write!(f, "Token not found"),
            NoSuchSession(s) => write!(f, "No such session {s}"),
            NoSuchHandle { session, handle } => write!(f, "No such handle {handle} in session {session}"),
            NoSuchPlugin(p) => write!(f, "No such plugin '{p}'"),
            SessionConflict(_) => write!(f, "Session ID already in use"),
            NotAcceptingSessions => write!(f, "Not accepting new sessions"),
            InvalidRequest(r) => write!(f, "{r}"),
            JoinFirst => write!(f, "Invalid request on unconfigured participant"),
            AlreadyJoined { as_publisher: true } => write!(f, "Already in as a publisher on this handle"),
            AlreadyJoined { as_publisher: false } => write!(f, "Already in as a subscriber on this handle"),
            NotInRoom => write!(f, "Not in a room (create a new handle)"),
            NoSuchRoom(r) => write!(f, "No such room ({r})"),
            RoomExists(r) => write!(f, "Room {r} already exists"),
            NoSuchFeed(p) => write!(f, "No such feed ({p})"),
            NoSuchUser { room, id } => write!(f, "No such user {id} in room {room}"),
            NoSuchStream(mid) => write!(f, "No such stream {mid}"),
            MissingElement(e) => write!(f, "Missing mandatory element ({e})"),
            InvalidElement(e) => write!(f, "Invalid element type ({e})"),
            InvalidValue(e) => write!(f, "Invalid element ({e})"),
            OutOfRange(e) => write!(f, "Invalid value ({e})"),
            PublishersFull(n) => write!(f, "Maximum number of publishers ({n}) already reached"),
            WrongPin => write!(f, "Unauthorized (wrong pin)"),
            WrongSecret => write!(f, "Unauthorized (wrong secret)"),
            NotAllowed(why) => write!(f, "Unauthorized ({why})"),
            Kicked => write!(f, "Unauthorized, you have been kicked"),
            AlreadyPublished => write!(f, "Can't publish, already published"),
            NotPublished => write!(f, "Can't unpublish, not published"),
            IdExists(id) => write!(f, "User ID {id} already exists"),
            InvalidSdp(why) => write!(f, "Invalid SDP ({why})"),
            Internal(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
