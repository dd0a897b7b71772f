//! The lock order of vroom, declared once. A lock may be taken only while every lock the
//! thread holds is of an *earlier* level in this list. `specs/lock-order.md` explains each
//! level and the rules around it; the compile-fail tests in `model-tests/ui/` show that the
//! inverted orders of Janus's deadlocks do not build.
//!
//! The per-session event queues (`sync::queue`) have an internal leaf lock that is not in this
//! list: it is never held while anything else is taken, and events are pushed into a queue only
//! with no ordered lock held (`core::outbox::Outbox::deliver` needs the root token).
//!
//! The media engine's two locks come last: the core may call into the media while it holds any
//! of its own (it asks a leg for SDP while it holds its subscriber), through a
//! [`MediaCall`](super::order::MediaCall) token, which lets it take only these two.

crate::lock_order! {
    /// The API's stored tokens (`token_auth`): token to the plugins it may use.
    Tokens,
    /// The session registry: session id to session.
    Sessions,
    /// One Janus session: its handles, liveness and owning transport.
    Session,
    /// One plugin handle: serializes the requests made on that handle.
    Handle,
    /// The room registry: room id to room.
    Rooms,
    /// One room: its configuration and membership (publishers, subscribers, private ids).
    Room,
    /// One publisher: display, streams, media state, subscribers of its streams, forwarders.
    Publisher,
    /// One subscriber: its streams and negotiation state.
    Subscriber,
    /// The media engine's open PeerConnections by handle (`media::registry`): held only to
    /// read or change the map.
    Legs,
    /// One PeerConnection's state (`media::leg`): the sans-IO WebRTC stack and what the packet
    /// path keeps per stream. Nothing is taken under it.
    Leg,
}
