//! loom explores every interleaving (within a preemption bound) of the races in
//! `scenarios.rs`, run against the real core on the loom backend.
//!
//! Bounds: two-thread scenarios and `room_destroy_vs_join_and_list` are explored with no
//! preemption bound, i.e. every interleaving; `room_soup` (three threads, six requests) with
//! bound 4, which keeps it at seconds (unbounded it takes 139,508 executions and ~160 s here:
//! `LOOM_MAX_PREEMPTIONS=50 cargo test --test loom_core loom_room_soup`). `LOOM_MAX_PREEMPTIONS`
//! overrides every bound.

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
    loom_notify_publisher_vs_listparticipants: None => notify_publisher_vs_listparticipants::<Loom>();
    loom_configure_vs_listparticipants: None => configure_vs_listparticipants::<Loom>();
    loom_join_vs_media_up: None => join_vs_media_up::<Loom>();
    loom_unpublish_vs_subscriber_join: None => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Unpublish);
    loom_leave_vs_subscriber_join: None => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Leave);
    loom_kick_vs_subscriber_join: None => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Kick);
    loom_publisher_detach_vs_subscriber_join: None => feed_end_vs_subscriber_join::<Loom>(FeedEnd::Detach);
    loom_unpublish_vs_switch: None => feed_end_vs_switch::<Loom>();
    loom_room_destroy_vs_join_and_list: None => room_destroy_vs_join_and_list::<Loom>();
    loom_room_destroy_vs_publish: None => room_destroy_vs_publish::<Loom>();
    loom_session_destroy_vs_notification: None => session_destroy_vs_notification::<Loom>();
    loom_session_timeout_vs_keepalive: None => session_timeout_vs_keepalive::<Loom>();
    loom_transport_close_vs_timeout: None => transport_close_vs_timeout::<Loom>();
    loom_kick_vs_leave: None => kick_vs_leave::<Loom>();
    loom_socket_failure_in_publish: None => socket_failure_in_publish::<Loom>();
    loom_socket_failure_in_rtp_forward: None => socket_failure_in_rtp_forward::<Loom>();
    loom_subscriber_join_vs_detach: None => subscriber_join_vs_detach::<Loom>();
    loom_malformed_join_vs_other_rooms: None => malformed_join_vs_other_rooms::<Loom>();
    loom_room_destroy_ends_everyone: None => room_destroy_ends_everyone::<Loom>();
    loom_event_queue_close_is_last: None => event_queue_close_is_last::<Loom>();
    loom_inbox_wakes_for_what_is_left: None => inbox_wakes_for_what_is_left::<Loom>();
    loom_ring_hands_over_in_order: None => ring_hands_over_in_order::<Loom>();
    loom_ring_dropped_with_items_in_flight: None => ring_dropped_with_items_in_flight::<Loom>();
    loom_spool_keeps_order_and_never_sleeps_through_a_put: Some(3) => spool_keeps_order_and_never_sleeps_through_a_put::<Loom>();
    loom_handoff_keeps_order_and_nothing_passes_a_move_or_a_close: Some(3) => handoff_keeps_order_and_nothing_passes_a_move_or_a_close::<Loom>();
    loom_room_soup: Some(4) => room_soup::<Loom>();
}
