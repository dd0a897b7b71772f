//! The synchronous VideoRoom requests and the per-handle rules, with the error codes and texts
//! Janus 1.1.2 gives (`../shared/reference/janus-api.md` §3.4). Real UDP sockets on 127.0.0.1.

use std::sync::Arc;

use super::{AllowedAction, FeedSel, JoinPublisher, Publish, RoomConfig, RoomEdit, StreamSpec, SubscribeJoin};
use crate::core::event::{EventBody, MediaKind, RoomEvent};
use crate::core::{Core, CoreConfig, Handle, Plugin, Session};
use crate::media::{SystemClock, UdpSockets};
use crate::sync::ParkingLot;

type TestCore = Core<ParkingLot>;

fn core(admin_key: Option<&str>) -> TestCore {
    let config = CoreConfig { admin_key: admin_key.map(String::from), ..CoreConfig::default() };
    Core::new(config, Arc::new(SystemClock::default()), Arc::new(UdpSockets::new([127, 0, 0, 1].into())))
}

fn handle(core: &TestCore) -> (Arc<Session<ParkingLot>>, Arc<Handle<ParkingLot>>) {
    let s = core.create_session(None, 1).unwrap();
    let h = core.attach(s.id, Plugin::VideoRoom, None).unwrap();
    (s, h)
}

fn join(room: u64, id: u64) -> JoinPublisher {
    JoinPublisher { room, id: Some(id), display: Some(format!("p{id}")), ..Default::default() }
}

fn video() -> Publish {
    let stream = StreamSpec {
        kind: MediaKind::Video,
        mid: "0".into(),
        codec: Some("vp8".into()),
        profile: None,
        description: None,
        disabled: false,
        simulcast: false,
        audio_level: false,
    };
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\n";
    Publish { streams: vec![stream], display: None, offer: offer.into(), ..Default::default() }
}

fn fail<T: std::fmt::Debug>(r: crate::core::Result<T>) -> (u16, String) {
    let e = r.unwrap_err();
    (e.code(), e.to_string())
}

#[test]
fn create_edit_exists_list() {
    let c = core(None);
    assert_eq!(
        c.create_room(Some(4242), RoomConfig { secret: Some("s".into()), ..Default::default() }, None),
        Ok(4242)
    );
    assert_eq!(fail(c.create_room(Some(4242), RoomConfig::default(), None)), (427, "Room 4242 already exists".into()));
    assert!(c.room_exists(4242) && !c.room_exists(1));
    assert_eq!(fail(c.edit_room(4242, None, RoomEdit::default())), (429, "Missing mandatory element (secret)".into()));
    assert_eq!(fail(c.edit_room(4242, Some("x"), RoomEdit::default())), (433, "Unauthorized (wrong secret)".into()));
    let edit = RoomEdit { description: Some("Renamed".into()), is_private: Some(true), ..Default::default() };
    c.edit_room(4242, Some("s"), edit).unwrap();
    assert!(c.list_rooms(None).is_empty(), "private rooms are not listed");
    assert_eq!(fail(c.list_participants(999999)), (426, "No such room (999999)".into()));
    let auto = c.create_room(None, RoomConfig::default(), None).unwrap();
    assert!(auto > 0 && auto <= crate::core::ids::MAX_ID);
    assert_eq!(c.list_rooms(None).len(), 1);
}

#[test]
fn admin_key_guards_create_and_private_rooms() {
    let c = core(Some("k"));
    assert_eq!(fail(c.create_room(None, RoomConfig::default(), None)).0, 429);
    assert_eq!(fail(c.create_room(None, RoomConfig::default(), Some("bad"))).0, 433);
    c.create_room(Some(1), RoomConfig { is_private: true, ..Default::default() }, Some("k")).unwrap();
    assert!(c.list_rooms(None).is_empty());
    assert_eq!(c.list_rooms(Some("k")).len(), 1);
}

#[test]
fn pin_and_allowed_tokens() {
    let c = core(None);
    c.create_room(
        Some(1),
        RoomConfig { pin: Some("1234".into()), secret: Some("s".into()), ..Default::default() },
        None,
    )
    .unwrap();
    let (_, h) = handle(&c);
    assert_eq!(fail(c.join_publisher(&h, join(1, 7), None)), (429, "Missing mandatory element (pin)".into()));
    let wrong = JoinPublisher { pin: Some("0".into()), ..join(1, 7) };
    assert_eq!(fail(c.join_publisher(&h, wrong, None)), (433, "Unauthorized (wrong pin)".into()));
    assert_eq!(c.allowed(1, Some("s"), AllowedAction::Add, &["tok".into()]).unwrap(), Some(vec!["tok".to_string()]));
    let no_token = JoinPublisher { pin: Some("1234".into()), ..join(1, 7) };
    assert_eq!(fail(c.join_publisher(&h, no_token.clone(), None)).0, 433);
    let with_token = JoinPublisher { token: Some("tok".into()), ..no_token.clone() };
    c.join_publisher(&h, with_token, None).unwrap();
    assert_eq!(c.allowed(1, Some("s"), AllowedAction::Disable, &[]).unwrap(), None);
    let (_, h2) = handle(&c);
    c.join_publisher(&h2, JoinPublisher { id: Some(8), ..no_token }, None).unwrap();
}

#[test]
fn handle_rules_follow_janus() {
    let c = core(None);
    c.create_room(Some(1), RoomConfig::default(), None).unwrap();
    let (_, h) = handle(&c);
    assert_eq!(fail(c.unpublish(&h, None)), (424, "Invalid request on unconfigured participant".into()));
    c.join_publisher(&h, join(1, 101), None).unwrap();
    assert_eq!(
        fail(c.join_publisher(&h, join(1, 102), None)),
        (425, "Already in as a publisher on this handle".into())
    );
    let (_, other) = handle(&c);
    assert_eq!(fail(c.join_publisher(&other, join(1, 101), None)), (436, "User ID 101 already exists".into()));
    assert_eq!(fail(c.unpublish(&h, None)), (435, "Can't unpublish, not published".into()));
    c.publish(&h, video(), None).unwrap();
    assert_eq!(fail(c.publish(&h, video(), None)).0, 434);
    c.leave(&h, None).unwrap();
    assert_eq!(fail(c.join_publisher(&h, join(1, 103), None)), (425, "Not in a room (create a new handle)".into()));
    assert_eq!(fail(c.unpublish(&h, None)).0, 426);
}

#[test]
fn moderate_and_private_id_subscriptions() {
    let c = core(None);
    c.create_room(Some(1), RoomConfig { require_pvtid: true, ..Default::default() }, None).unwrap();
    let (ps, p) = handle(&c);
    c.join_publisher(&p, join(1, 5), None).unwrap();
    c.publish(&p, video(), None).unwrap();
    assert!(c.media_up(&p).unwrap());
    let private_id = match ps.events().drain().into_iter().next().map(|e| e.body) {
        Some(EventBody::VideoRoom(RoomEvent::Joined { private_id, .. })) => private_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(fail(c.moderate(1, None, 9, "0", true)), (428, "No such user 9 in room 1".into()));
    assert_eq!(fail(c.moderate(1, None, 5, "7", true)), (428, "No such stream 7".into()));
    c.moderate(1, None, 5, "0", true).unwrap();
    assert!(ps
        .events()
        .drain()
        .iter()
        .any(|e| matches!(e.body, EventBody::VideoRoom(RoomEvent::Moderation { muted: true, .. }))));
    let (_, s) = handle(&c);
    let sub = |private_id| SubscribeJoin {
        room: 1,
        private_id,
        streams: vec![FeedSel { feed: 5, mid: None, ..Default::default() }],
        ..Default::default()
    };
    assert_eq!(fail(c.join_subscriber(&s, sub(None), None)).0, 433);
    assert_eq!(fail(c.join_subscriber(&s, sub(Some(private_id ^ 1)), None)).0, 433);
    c.join_subscriber(&s, sub(Some(private_id)), None).unwrap();
    let missing = SubscribeJoin {
        room: 1,
        private_id: Some(private_id),
        streams: vec![FeedSel { feed: 6, mid: None, ..Default::default() }],
        ..Default::default()
    };
    let (_, s2) = handle(&c);
    assert_eq!(fail(c.join_subscriber(&s2, missing, None)), (428, "No such feed (6)".into()));
}

fn video_and_data() -> Publish {
    let stream = |kind, mid: &str, codec: Option<&str>| StreamSpec {
        kind,
        mid: mid.into(),
        codec: codec.map(String::from),
        profile: None,
        description: None,
        disabled: false,
        simulcast: false,
        audio_level: false,
    };
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:96 VP8/90000\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n";
    Publish {
        streams: vec![stream(MediaKind::Video, "0", Some("vp8")), stream(MediaKind::Data, "1", None)],
        display: None,
        offer: offer.into(),
        ..Default::default()
    }
}

/// As Janus: a subscription has one data stream, whatever the number of feeds whose data it
/// carries; it stays while one of them is left, and it comes last among the streams it was
/// planned with (so it is last in the SDP too).
#[test]
fn a_subscription_has_one_data_stream_for_all_its_feeds() {
    let c = core(None);
    c.create_room(Some(1), RoomConfig::default(), None).unwrap();
    let mut publishers = Vec::new();
    for id in [5, 6] {
        let (_, p) = handle(&c);
        c.join_publisher(&p, join(1, id), None).unwrap();
        c.publish(&p, video_and_data(), None).unwrap();
        assert!(c.media_up(&p).unwrap());
        publishers.push(p);
    }
    let (ss, s) = handle(&c);
    let feeds = vec![
        FeedSel { feed: 5, mid: None, ..Default::default() },
        FeedSel { feed: 6, mid: None, ..Default::default() },
    ];
    c.join_subscriber(&s, SubscribeJoin { room: 1, streams: feeds, ..Default::default() }, None).unwrap();
    let streams = match ss.events().drain().into_iter().next().map(|e| e.body) {
        Some(EventBody::VideoRoom(RoomEvent::Attached { streams, .. })) => streams,
        other => panic!("{other:?}"),
    };
    let kinds: Vec<_> = streams.iter().map(|s| (s.mid.as_str(), s.kind.clone())).collect();
    assert_eq!(kinds, vec![("0", MediaKind::Video), ("1", MediaKind::Video), ("2", MediaKind::Data)]);
    assert_eq!(streams[2].sources, vec![(5, "1".to_string()), (6, "1".to_string())]);
    assert_eq!(c.fanout(1, 5).unwrap()[1].1.len(), 1, "feed 5's data goes to the subscriber");
    assert_eq!(c.fanout(1, 6).unwrap()[1].1[0].sub_mid, "2");

    // Feed 5 leaves: the data stream keeps feed 6; when 6 leaves too it goes inactive.
    let updated = |ss: &Arc<Session<ParkingLot>>| {
        ss.events()
            .drain()
            .into_iter()
            .find_map(|e| match e.body {
                EventBody::VideoRoom(RoomEvent::Updated { streams, .. }) => Some(streams),
                _ => None,
            })
            .expect("an updated offer")
    };
    c.start(&s, None, None).unwrap();
    c.leave(&publishers[0], None).unwrap();
    let after_5 = updated(&ss);
    assert!(!after_5[0].active && after_5[1].active, "{after_5:?}");
    assert!(after_5[2].active && after_5[2].sources == vec![(6, "1".to_string())], "{after_5:?}");
    c.start(&s, None, None).unwrap();
    c.leave(&publishers[1], None).unwrap();
    let after_6 = updated(&ss);
    assert!(!after_6[2].active && after_6[2].sources.is_empty(), "{after_6:?}");
}
