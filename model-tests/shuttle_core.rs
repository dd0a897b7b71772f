//! shuttle runs the races of `scenarios.rs` against the real core on the shuttle backend under
//! random and PCT schedules, from a fixed, printed seed (`SHUTTLE_SEED` and
//! `SHUTTLE_ITERATIONS` override). A failure prints the schedule for `shuttle::replay`.

#[path = "common/mod.rs"]
mod common;
mod scenarios;

use common::shuttle_rt::{check, Shuttle};
use scenarios::*;

const ITERATIONS: usize = 500;

macro_rules! shuttle_tests {
    ($($name:ident => $body:expr;)*) => {$(
        #[test]
        fn $name() {
            check(stringify!($name), ITERATIONS, || $body);
        }
    )*};
}

shuttle_tests! {
    shuttle_notify_publisher_vs_listparticipants => notify_publisher_vs_listparticipants::<Shuttle>();
    shuttle_configure_vs_listparticipants => configure_vs_listparticipants::<Shuttle>();
    shuttle_join_vs_media_up => join_vs_media_up::<Shuttle>();
    shuttle_unpublish_vs_subscriber_join => feed_end_vs_subscriber_join::<Shuttle>(FeedEnd::Unpublish);
    shuttle_leave_vs_subscriber_join => feed_end_vs_subscriber_join::<Shuttle>(FeedEnd::Leave);
    shuttle_kick_vs_subscriber_join => feed_end_vs_subscriber_join::<Shuttle>(FeedEnd::Kick);
    shuttle_publisher_detach_vs_subscriber_join => feed_end_vs_subscriber_join::<Shuttle>(FeedEnd::Detach);
    shuttle_unpublish_vs_switch => feed_end_vs_switch::<Shuttle>();
    shuttle_room_destroy_vs_join_and_list => room_destroy_vs_join_and_list::<Shuttle>();
    shuttle_room_destroy_vs_publish => room_destroy_vs_publish::<Shuttle>();
    shuttle_session_destroy_vs_notification => session_destroy_vs_notification::<Shuttle>();
    shuttle_session_timeout_vs_keepalive => session_timeout_vs_keepalive::<Shuttle>();
    shuttle_transport_close_vs_timeout => transport_close_vs_timeout::<Shuttle>();
    shuttle_kick_vs_leave => kick_vs_leave::<Shuttle>();
    shuttle_socket_failure_in_publish => socket_failure_in_publish::<Shuttle>();
    shuttle_socket_failure_in_rtp_forward => socket_failure_in_rtp_forward::<Shuttle>();
    shuttle_subscriber_join_vs_detach => subscriber_join_vs_detach::<Shuttle>();
    shuttle_malformed_join_vs_other_rooms => malformed_join_vs_other_rooms::<Shuttle>();
    shuttle_event_queue_close_is_last => event_queue_close_is_last::<Shuttle>();
    shuttle_inbox_wakes_for_what_is_left => inbox_wakes_for_what_is_left::<Shuttle>();
    shuttle_ring_hands_over_in_order => ring_hands_over_in_order::<Shuttle>();
    shuttle_ring_dropped_with_items_in_flight => ring_dropped_with_items_in_flight::<Shuttle>();
    shuttle_spool_keeps_order_and_never_sleeps_through_a_put => spool_keeps_order_and_never_sleeps_through_a_put::<Shuttle>();
    shuttle_handoff_keeps_order_and_nothing_passes_a_move_or_a_close => handoff_keeps_order_and_nothing_passes_a_move_or_a_close::<Shuttle>();
    shuttle_room_soup => room_soup::<Shuttle>();
}
