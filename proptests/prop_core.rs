//! proptest state-machine test: random request sequences against the real core (parking_lot
//! backend), each answer compared with the sequential reference model of `spec.rs`; after every
//! step the publishers' fan-out must match the model's subscriptions, and the core must be
//! quiescent.

#[path = "../model-tests/common/mod.rs"]
mod common;
mod harness;
mod spec;

use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};

use harness::{Inbox, Sut};
use spec::{Op, Ret, RoomSpec, PUBS, SUBS};
use vroom::sync::ParkingLot;

/// The model's state, plus the answer its last step predicted.
#[derive(Clone, Debug, Default)]
struct Model {
    spec: RoomSpec,
    expected: Option<Ret>,
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PUBS;
    let s = 0..SUBS;
    prop_oneof![
        4 => p.clone().prop_map(Op::Join),
        4 => p.clone().prop_map(Op::Publish),
        2 => p.clone().prop_map(Op::JoinAndPublish),
        4 => p.clone().prop_map(Op::MediaUp),
        2 => p.clone().prop_map(Op::Unpublish),
        2 => p.clone().prop_map(Op::Leave),
        1 => p.clone().prop_map(Op::Kick),
        1 => (p.clone(), 0..3u8).prop_map(|(h, n)| Op::Rename(h, n)),
        3 => (s.clone(), p.clone()).prop_map(|(i, f)| Op::SubJoin(i, f)),
        2 => (s.clone(), p.clone()).prop_map(|(i, f)| Op::SubAdd(i, f)),
        1 => s.prop_map(Op::SubLeave),
        2 => Just(Op::List),
        2 => p.prop_map(Op::Told),
        1 => Just(Op::Destroy),
    ]
}

struct RoomModel;

impl ReferenceStateMachine for RoomModel {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Op> {
        op().boxed()
    }

    fn apply(mut state: Model, op: &Op) -> Model {
        state.expected = Some(state.spec.step(op));
        state
    }
}

struct CoreUnderTest {
    sut: Sut<ParkingLot>,
    inbox: Inbox,
}

impl StateMachineTest for CoreUnderTest {
    type SystemUnderTest = CoreUnderTest;
    type Reference = RoomModel;

    fn init_test(_: &Model) -> Self {
        CoreUnderTest { sut: Sut::new(), inbox: Inbox::default() }
    }

    fn apply(mut t: Self, model: &Model, op: Op) -> Self {
        let got = t.sut.exec(&op, &mut t.inbox);
        assert_eq!(Some(&got), model.expected.as_ref(), "{op:?}");
        t
    }

    fn check_invariants(t: &Self, model: &Model) {
        if !model.spec.destroyed {
            assert_eq!(t.sut.fanout(), model.spec.fanout(), "fan-out differs from the subscriptions");
        }
        t.sut.world.assert_quiescent();
    }
}

prop_state_machine! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]
    #[test]
    fn prop_core_matches_model(sequential 1..40 => CoreUnderTest);
}
