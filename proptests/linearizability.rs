//! Concurrent histories of the real core, run under shuttle, checked for linearizability
//! against the same sequential model as `prop_core.rs` (stateright's `LinearizabilityTester`
//! as a plain history checker).
//!
//! Teeth: Janus's rejected fix for #3463 (PR #3473) broke the deadlock by releasing the
//! publisher's lock before taking the room's. On vroom's ordered locks that "fix" compiles and
//! cannot deadlock, but a new participant can then see the publisher as a feed in `joined` *and*
//! be told of it again. The same checker must reject it.

#[path = "../model-tests/common/mod.rs"]
mod common;
mod harness;
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex as StdMutex};

use proptest::prelude::*;
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};

use common::shuttle_rt::{check, Shuttle};
use common::Model;
use harness::{Inbox, Sut};
use spec::{id_of, Op, Ret, RoomSpec};
use vroom::sync::levels;
use vroom::sync::order::{Mutex, Token};
use vroom::sync::Runtime;

#[derive(Clone, Debug)]
struct Spec(RoomSpec);

impl SequentialSpec for Spec {
    type Op = Op;
    type Ret = Ret;
    fn invoke(&mut self, op: &Op) -> Ret {
        self.0.step(op)
    }
}

type Tester = Arc<StdMutex<LinearizabilityTester<usize, Spec>>>;

/// Publishers 0 and 1 joined and published (media not up), publisher 2 joined.
const SETUP: [Op; 5] = [Op::Join(0), Op::Join(1), Op::Join(2), Op::Publish(0), Op::Publish(1)];

/// Anything that answers the spec's requests, called from one thread with its own inbox.
trait System: Send + Sync + 'static {
    fn exec(&self, op: &Op, inbox: &mut Inbox) -> Ret;
}

impl<R: Model> System for Sut<R> {
    fn exec(&self, op: &Op, inbox: &mut Inbox) -> Ret {
        Sut::exec(self, op, inbox)
    }
}

/// Runs one program per thread on `system`, recording the history; panics with the history if
/// it is not linearizable.
fn run_history<R: Model, S: System>(system: S, programs: &[Vec<Op>]) {
    let mut spec = RoomSpec::default();
    let mut inbox = Inbox::default();
    for op in &SETUP {
        assert_eq!(system.exec(op, &mut inbox), spec.step(op), "setup {op:?}");
    }
    let tester: Tester = Arc::new(StdMutex::new(LinearizabilityTester::new(Spec(spec))));
    let system = Arc::new(system);
    let threads: Vec<_> = programs
        .iter()
        .cloned()
        .enumerate()
        .map(|(tid, program)| {
            let (system, tester) = (system.clone(), tester.clone());
            R::spawn(move || {
                let mut inbox = Inbox::default();
                for op in program {
                    tester.lock().unwrap().on_invoke(tid, op.clone()).expect("one op in flight per thread");
                    let ret = system.exec(&op, &mut inbox);
                    tester.lock().unwrap().on_return(tid, ret).expect("returns follow invokes");
                }
            })
        })
        .collect();
    for t in threads {
        t();
    }
    let tester = tester.lock().unwrap();
    assert!(tester.is_consistent(), "not linearizable: {tester:?}");
}

/// Thread `k` owns publisher handle `k` (thread 2 also handle 3) and subscriber handle `k`;
/// any thread may list, kick, or report a publisher's media up (the media engine's call).
fn program(k: u8) -> impl Strategy<Value = Vec<Op>> {
    let own = prop_oneof![
        Just(Op::MediaUp(k)),
        Just(Op::Told(k)),
        Just(Op::Leave(k)),
        Just(Op::Unpublish(k)),
        (0..2u8).prop_map(move |n| Op::Rename(k, n)),
        Just(if k == 2 { Op::Join(3) } else { Op::SubJoin(k, 0) }),
        Just(if k == 2 { Op::Told(3) } else { Op::SubAdd(k, 1) }),
        (0..2u8).prop_map(Op::MediaUp),
        Just(Op::List),
        (0..3u8).prop_map(Op::Kick),
    ];
    prop::collection::vec(own, 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn shuttle_core_histories_are_linearizable(p0 in program(0), p1 in program(1), p2 in program(2)) {
        let programs = vec![p0, p1, p2];
        check("shuttle_core_histories_are_linearizable", 40, move || {
            run_history::<Shuttle, _>(Sut::<Shuttle>::new(), &programs)
        });
    }
}

/// A fixed history that exercises the race the teeth test is about, on the real core.
#[test]
fn shuttle_core_notify_vs_join_is_linearizable() {
    check("shuttle_core_notify_vs_join_is_linearizable", 300, || {
        run_history::<Shuttle, _>(
            Sut::<Shuttle>::new(),
            &[vec![Op::MediaUp(0)], vec![Op::Join(3), Op::Told(3)], vec![Op::List]],
        )
    });
}

/// Found by the random histories above (2026-12-06): two publishers renamed while another
/// thread lists the room. Renames took the room's read lock only, so a list walking the
/// publishers one by one could see the later rename and not the earlier one: no single moment
/// at which the list happened. A rename now takes the room's write lock.
#[test]
fn shuttle_renames_and_list_are_linearizable() {
    check("shuttle_renames_and_list_are_linearizable", 500, || {
        run_history::<Shuttle, _>(
            Sut::<Shuttle>::new(),
            &[vec![Op::List, Op::List], vec![Op::Rename(1, 0)], vec![Op::List, Op::Rename(2, 1)]],
        )
    });
}

/// The notify/join/list/told part of a room, with notify written either the way vroom does
/// (room, then publisher) or the way Janus's PR #3473 proposed (publisher, release, room).
struct MiniRoom<R: Runtime> {
    split_notify: bool,
    room: Mutex<levels::Room, MiniState, R>,
    media: Vec<Mutex<levels::Publisher, spec::Media, R>>,
}

#[derive(Default)]
struct MiniState {
    members: BTreeSet<u8>,
    told: BTreeMap<u8, BTreeSet<u64>>,
}

impl<R: Runtime> MiniRoom<R> {
    fn new(split_notify: bool) -> Self {
        MiniRoom {
            split_notify,
            room: Mutex::new(MiniState::default()),
            media: (0..spec::PUBS).map(|_| Mutex::new(spec::Media::Idle)).collect(),
        }
    }

    fn media_up(&self, h: u8) -> bool {
        let mut t = Token::root::<R>();
        if self.split_notify {
            {
                let mut m = self.media[h as usize].lock(&mut t);
                if *m != spec::Media::Negotiated {
                    return false;
                }
                *m = spec::Media::Active;
            }
            let mut room = self.room.lock(&mut t);
            room.tell_all_but(h);
            true
        } else {
            let mut room = self.room.lock(&mut t);
            let (st, rt) = room.split();
            let mut m = self.media[h as usize].lock(rt);
            if *m != spec::Media::Negotiated {
                return false;
            }
            *m = spec::Media::Active;
            st.tell_all_but(h);
            true
        }
    }
}

impl MiniState {
    fn tell_all_but(&mut self, h: u8) {
        for &m in self.members.iter().filter(|&&m| m != h) {
            self.told.entry(m).or_default().insert(id_of(h));
        }
    }
}

impl<R: Runtime> System for MiniRoom<R> {
    fn exec(&self, op: &Op, _: &mut Inbox) -> Ret {
        let mut t = Token::root::<R>();
        match *op {
            Op::Join(h) => {
                let mut room = self.room.lock(&mut t);
                let (st, rt) = room.split();
                let mut active = Vec::new();
                for &m in &st.members {
                    if *self.media[m as usize].lock(rt) == spec::Media::Active {
                        active.push(id_of(m));
                    }
                }
                st.members.insert(h);
                Ret::Joined(active)
            }
            Op::Publish(h) => {
                *self.media[h as usize].lock(&mut t) = spec::Media::Negotiated;
                Ret::Ok
            }
            Op::MediaUp(h) => Ret::Up(self.media_up(h)),
            Op::Told(h) => Ret::Told(self.room.lock(&mut t).told.get(&h).into_iter().flatten().copied().collect()),
            ref other => unimplemented!("the miniature answers join, publish, media up and told, not {other:?}"),
        }
    }
}

#[test]
fn shuttle_notify_in_lock_order_is_linearizable() {
    check("shuttle_notify_in_lock_order_is_linearizable", 300, || {
        run_history::<Shuttle, _>(
            MiniRoom::<Shuttle>::new(false),
            &[vec![Op::MediaUp(0)], vec![Op::Join(3), Op::Told(3)]],
        )
    });
}

#[test]
#[should_panic(expected = "not linearizable")]
fn shuttle_split_notify_fix_is_not_linearizable() {
    check("shuttle_split_notify_fix_is_not_linearizable", 300, || {
        run_history::<Shuttle, _>(
            MiniRoom::<Shuttle>::new(true),
            &[vec![Op::MediaUp(0)], vec![Op::Join(3), Op::Told(3)]],
        )
    });
}

/// Every failing schedule shuttle has found, replayed on the current code. Both came from
/// histories in which `Told` drained a queue while a notification, committed under the room lock
/// before it, was still being handed over; the harness's `Told` now waits for places already
/// reserved (see `harness.rs`). Replay follows the recorded schedule as far as the code still
/// matches it, then lets the execution finish.
#[test]
fn shuttle_replay_regressions() {
    use shuttle::scheduler::ReplayScheduler;
    let found: [(&str, Vec<Vec<Op>>); 2] = [
        (
            concat!(
                "91029f01ce8ff4fe94ee85fefa01000000000000000000000000000000000000000000000000",
                "000000000000000000000000000000004892926d92244949922449b66ddb364992940400"
            ),
            vec![vec![Op::MediaUp(0)], vec![Op::Join(3), Op::Told(3)], vec![Op::List]],
        ),
        (
            concat!(
                "9102c601aeadc798df99e4943500000000000000000000000000000000000000000000000000",
                "00000000000000000000000000000049922461dbb66ddbb66ddbb66ddbb66ddbb66ddbb66ddb",
                "922449922491a42449920000"
            ),
            vec![
                vec![Op::Told(0), Op::Kick(0), Op::SubJoin(0, 0)],
                vec![Op::MediaUp(1)],
                vec![Op::Join(3), Op::Leave(2), Op::Kick(1)],
            ],
        ),
    ];
    for (schedule, programs) in found {
        let mut scheduler = ReplayScheduler::new_from_encoded(schedule);
        scheduler.set_allow_incomplete();
        shuttle::Runner::new(scheduler, shuttle::Config::new())
            .run(move || run_history::<Shuttle, _>(Sut::<Shuttle>::new(), &programs));
    }
}
