//! loom explores every interleaving (within a preemption bound) of the races in
//! `scenarios.rs`, run against the real core on the loom backend.
//!
//! Bounds: two-thread scenarios use preemption bound 3, three-thread ones 2 (never below 2: a
//! bound of 1 misses real bugs). `LOOM_MAX_PREEMPTIONS` overrides both.

#[path = "common/mod.rs"]
mod common;
mod scenarios;

use common::loom_rt::{model, Loom};
use scenarios::*;

macro_rules! loom_tests {
    ($($name:ident: $bound:expr => $body:expr;)*) => {$(
        #[test]
        fn $name() {
            model(stringify!($name), $bound, || $body);
        }
    )*};
}

loom_tests! {
    loom_notify_publisher_vs_listparticipants: 3 => notify_publisher_vs_listparticipants::<Loom>();
    loom_configure_vs_listparticipants: 3 => configure_vs_listparticipants::<Loom>();
    loom_join_vs_media_up: 3 => join_vs_media_up::<Loom>();
    loom_unpublish_vs_subscriber_join: 3 => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Unpublish);
    loom_leave_vs_subscriber_join: 3 => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Leave);
    loom_kick_vs_subscriber_join: 3 => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Kick);
    loom_publisher_detach_vs_subscriber_join: 3 => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Detach);
    loom_unpublish_vs_switch: 3 => feed_end_vs_switch::<Loom>();
    loom_room_destroy_vs_join_and_list: 2 => room_destroy_vs_join_and_list::<Loom>();
    loom_room_destroy_vs_publish: 3 => room_destroy_vs_publish::<Loom>();
    loom_session_destroy_vs_notification: 3 => session_destroy_vs_notification::<Loom>();
    loom_session_timeout_vs_keepalive: 3 => session_timeout_vs_keepalive::<Loom>();
    loom_transport_close_vs_timeout: 3 => transport_close_vs_timeout::<Loom>();
    loom_kick_vs_leave: 3 => kick_vs_leave::<Loom>();
    loom_socket_failure_in_publish: 3 => socket_failure_in_publish::<Loom>();
    loom_socket_failure_in_rtp_forward: 3 => socket_failure_in_rtp_forward::<Loom>();
    loom_subscriber_join_vs_detach: 3 => subscriber_join_vs_detach::<Loom>();
    loom_malformed_join_vs_other_rooms: 3 => malformed_join_vs_other_rooms::<Loom>();
    loom_room_destroy_ends_everyone: 3 => room_destroy_ends_everyone::<Loom>();
    loom_event_queue_close_is_last: 3 => event_queue_close_is_last::<Loom>();
}
