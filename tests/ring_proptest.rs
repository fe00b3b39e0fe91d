#![cfg(not(loom))]
//! Random single-thread operation sequences on a `Ring`, checked step by step against a
//! `VecDeque` model, with a drop counter proving every value is dropped exactly once.

mod common;

use common::DropCounter;
use proptest::prelude::*;
use ringfence::ring::Ring;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
enum Op {
    TryPush,
    TryPop,
    ForcePush,
    Len,
    IsFull,
    IsEmpty,
    /// Pop everything that is there.
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::TryPush),
        3 => Just(Op::TryPop),
        2 => Just(Op::ForcePush),
        1 => Just(Op::Len),
        1 => Just(Op::IsFull),
        1 => Just(Op::IsEmpty),
        1 => Just(Op::Drain),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ring_matches_a_vecdeque_model(capacity in 1usize..=8, ops in prop::collection::vec(op(), 0..300)) {
        let counter = DropCounter::new();
        let ring = Ring::new(capacity);
        let mut model: VecDeque<u64> = VecDeque::with_capacity(capacity);
        let mut next_id = 0u64;
        prop_assert_eq!(ring.capacity(), capacity);
        for op in ops {
            match op {
                Op::TryPush => {
                    let id = next_id;
                    next_id += 1;
                    match ring.try_push(counter.make(id)) {
                        Ok(()) => {
                            prop_assert!(model.len() < capacity, "push accepted into a full ring");
                            model.push_back(id);
                        }
                        Err(back) => {
                            prop_assert_eq!(model.len(), capacity, "push refused with room");
                            prop_assert_eq!(back.id, id, "refused push handed back another value");
                        }
                    }
                }
                Op::TryPop => {
                    let got = ring.try_pop().map(|value| value.into_id());
                    prop_assert_eq!(got, model.pop_front());
                }
                Op::ForcePush => {
                    let id = next_id;
                    next_id += 1;
                    let evicted = ring.force_push(counter.make(id)).map(|value| value.into_id());
                    let expected = if model.len() == capacity { model.pop_front() } else { None };
                    model.push_back(id);
                    prop_assert_eq!(evicted, expected);
                }
                Op::Len => prop_assert_eq!(ring.len(), model.len()),
                Op::IsFull => prop_assert_eq!(ring.is_full(), model.len() == capacity),
                Op::IsEmpty => prop_assert_eq!(ring.is_empty(), model.is_empty()),
                Op::Drain => {
                    let got: Vec<u64> = std::iter::from_fn(|| ring.try_pop()).map(|v| v.into_id()).collect();
                    let expected: Vec<u64> = model.drain(..).collect();
                    prop_assert_eq!(got, expected);
                }
            }
            // Everything the model does not hold has been dropped, exactly once.
            prop_assert_eq!(counter.live(), model.len());
        }
        prop_assert_eq!(ring.len(), model.len());
        drop(ring);
        prop_assert_eq!(counter.live(), 0);
        prop_assert_eq!(counter.dropped(), counter.created());
    }

    /// Long runs at the smallest capacities go around the lap encoding many times.
    #[test]
    fn many_laps_at_small_capacities(
        capacity in 1usize..=3,
        pattern in prop::collection::vec((1usize..=3, 1usize..=3), 1..20),
        repeats in 50usize..200,
    ) {
        let ring = Ring::new(capacity);
        let mut model = VecDeque::new();
        let mut next = 0u64;
        for _ in 0..repeats {
            for &(pushes, pops) in &pattern {
                for _ in 0..pushes {
                    let pushed = ring.try_push(next).is_ok();
                    prop_assert_eq!(pushed, model.len() < capacity);
                    if pushed {
                        model.push_back(next);
                    }
                    next += 1;
                }
                for _ in 0..pops {
                    prop_assert_eq!(ring.try_pop(), model.pop_front());
                }
                prop_assert_eq!(ring.len(), model.len());
            }
        }
    }
}
