#![cfg(not(loom))]
//! Random single-thread operation sequences on a channel (handles cloned and dropped along the
//! way), checked step by step against a `VecDeque` model with handle counts, and a drop counter
//! proving every value is received, handed back, or dropped exactly once.

mod common;

use common::{DropCounter, Tracked};
use proptest::prelude::*;
use ringfence::channel::{
    Receiver, RecvError, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError, bounded,
};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
enum Op {
    TrySend(usize),
    /// A blocking send, issued only when the model says it cannot block.
    Send(usize),
    SendTimeoutZero(usize),
    SendDeadlinePast(usize),
    TryRecv(usize),
    /// A blocking receive, issued only when the model says it cannot block.
    Recv(usize),
    RecvTimeoutZero(usize),
    TryIter(usize),
    Queries(usize),
    CloneSender(usize),
    DropSender(usize),
    CloneReceiver(usize),
    DropReceiver(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..4;
    prop_oneof![
        6 => i.clone().prop_map(Op::TrySend),
        2 => i.clone().prop_map(Op::Send),
        2 => i.clone().prop_map(Op::SendTimeoutZero),
        1 => i.clone().prop_map(Op::SendDeadlinePast),
        5 => i.clone().prop_map(Op::TryRecv),
        2 => i.clone().prop_map(Op::Recv),
        2 => i.clone().prop_map(Op::RecvTimeoutZero),
        1 => i.clone().prop_map(Op::TryIter),
        2 => i.clone().prop_map(Op::Queries),
        1 => i.clone().prop_map(Op::CloneSender),
        1 => i.clone().prop_map(Op::DropSender),
        1 => i.clone().prop_map(Op::CloneReceiver),
        1 => i.prop_map(Op::DropReceiver),
    ]
}

/// The model: what is buffered and how many handles each side has.
struct Model {
    capacity: usize,
    queue: VecDeque<u64>,
    senders: usize,
    receivers: usize,
}

impl Model {
    fn disconnected(&self) -> bool {
        self.senders == 0 || self.receivers == 0
    }

    /// What a non-blocking send does: `Ok`, or `Err(true)` for full, `Err(false)` for
    /// disconnected. A rendezvous channel has no waiting receiver in a single thread: full.
    fn send(&mut self, id: u64) -> Result<(), bool> {
        if self.receivers == 0 {
            Err(false)
        } else if self.queue.len() >= self.capacity {
            Err(true)
        } else {
            self.queue.push_back(id);
            Ok(())
        }
    }

    /// What a non-blocking receive does: `Ok(id)`, or `Err(true)` for empty, `Err(false)` for
    /// disconnected.
    fn recv(&mut self) -> Result<u64, bool> {
        match self.queue.pop_front() {
            Some(id) => Ok(id),
            None if self.senders == 0 => Err(false),
            None => Err(true),
        }
    }
}

fn check_sequence(capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let counter = DropCounter::new();
    let (tx, rx) = bounded::<Tracked>(capacity);
    let mut senders: Vec<Sender<Tracked>> = vec![tx];
    let mut receivers: Vec<Receiver<Tracked>> = vec![rx];
    let mut model = Model { capacity, queue: VecDeque::new(), senders: 1, receivers: 1 };
    let mut next_id = 0u64;
    let past = Instant::now();

    for op in ops {
        match op {
            Op::TrySend(i) | Op::Send(i) | Op::SendTimeoutZero(i) | Op::SendDeadlinePast(i) => {
                if senders.is_empty() {
                    continue;
                }
                let tx = &senders[i % senders.len()];
                let id = next_id;
                next_id += 1;
                let expected = model.send(id);
                let value = counter.make(id);
                // Ok, or (is_full, handed-back id)
                let got: Result<(), (bool, u64)> = match op {
                    Op::TrySend(_) => tx.try_send(value).map_err(|err| match err {
                        TrySendError::Full(v) => (true, v.into_id()),
                        TrySendError::Disconnected(v) => (false, v.into_id()),
                    }),
                    Op::Send(_) if expected == Err(true) => {
                        // Would block forever in a single thread: use the timed form instead.
                        tx.send_timeout(value, Duration::from_micros(200)).map_err(|err| match err {
                            SendTimeoutError::Timeout(v) => (true, v.into_id()),
                            SendTimeoutError::Disconnected(v) => (false, v.into_id()),
                        })
                    }
                    Op::Send(_) => tx.send(value).map_err(|err| (false, err.into_inner().into_id())),
                    Op::SendTimeoutZero(_) => {
                        tx.send_timeout(value, Duration::ZERO).map_err(|err| match err {
                            SendTimeoutError::Timeout(v) => (true, v.into_id()),
                            SendTimeoutError::Disconnected(v) => (false, v.into_id()),
                        })
                    }
                    _ => tx.send_deadline(value, past).map_err(|err| match err {
                        SendTimeoutError::Timeout(v) => (true, v.into_id()),
                        SendTimeoutError::Disconnected(v) => (false, v.into_id()),
                    }),
                };
                match (expected, got) {
                    (Ok(()), Ok(())) => {}
                    (Err(full), Err((got_full, back))) => {
                        prop_assert_eq!(full, got_full, "full/disconnected mixed up ({:?})", op);
                        prop_assert_eq!(back, id, "the error carried another value");
                    }
                    (expected, got) => {
                        return Err(TestCaseError::fail(format!(
                            "{op:?}: model {expected:?}, channel {got:?}"
                        )));
                    }
                }
            }
            Op::TryRecv(i) | Op::Recv(i) | Op::RecvTimeoutZero(i) => {
                if receivers.is_empty() {
                    continue;
                }
                let rx = &receivers[i % receivers.len()];
                let expected = model.recv();
                let got: Result<u64, bool> = match op {
                    Op::TryRecv(_) => rx.try_recv().map(Tracked::into_id).map_err(|err| match err {
                        TryRecvError::Empty => true,
                        TryRecvError::Disconnected => false,
                    }),
                    Op::Recv(_) if expected == Err(true) => rx
                        .recv_timeout(Duration::from_micros(200))
                        .map(Tracked::into_id)
                        .map_err(|err| match err {
                            RecvTimeoutError::Timeout => true,
                            RecvTimeoutError::Disconnected => false,
                        }),
                    Op::Recv(_) => rx.recv().map(Tracked::into_id).map_err(|RecvError| false),
                    _ => rx.recv_timeout(Duration::ZERO).map(Tracked::into_id).map_err(|err| match err {
                        RecvTimeoutError::Timeout => true,
                        RecvTimeoutError::Disconnected => false,
                    }),
                };
                prop_assert_eq!(got, expected, "{:?}", op);
            }
            Op::TryIter(i) => {
                if receivers.is_empty() {
                    continue;
                }
                let got: Vec<u64> = receivers[i % receivers.len()].try_iter().map(Tracked::into_id).collect();
                let expected: Vec<u64> = model.queue.drain(..).collect();
                prop_assert_eq!(got, expected);
            }
            Op::Queries(i) => {
                let full = model.queue.len() == capacity;
                if let Some(tx) = senders.get(i % senders.len().max(1)) {
                    prop_assert_eq!(tx.len(), model.queue.len());
                    prop_assert_eq!(tx.is_empty(), model.queue.is_empty());
                    prop_assert_eq!(tx.is_full(), full);
                    prop_assert_eq!(tx.capacity(), Some(capacity));
                    prop_assert_eq!(tx.is_disconnected(), model.disconnected());
                }
                if let Some(rx) = receivers.get(i % receivers.len().max(1)) {
                    prop_assert_eq!(rx.len(), model.queue.len());
                    prop_assert_eq!(rx.is_empty(), model.queue.is_empty());
                    prop_assert_eq!(rx.is_full(), full);
                    prop_assert_eq!(rx.capacity(), Some(capacity));
                    prop_assert_eq!(rx.is_disconnected(), model.disconnected());
                }
            }
            Op::CloneSender(i) => {
                if !senders.is_empty() {
                    let clone = senders[i % senders.len()].clone();
                    prop_assert!(clone.same_channel(&senders[0]));
                    senders.push(clone);
                    model.senders += 1;
                }
            }
            Op::DropSender(i) => {
                if !senders.is_empty() {
                    let index = i % senders.len();
                    drop(senders.swap_remove(index));
                    model.senders -= 1;
                }
            }
            Op::CloneReceiver(i) => {
                if !receivers.is_empty() {
                    let clone = receivers[i % receivers.len()].clone();
                    prop_assert!(clone.same_channel(&receivers[0]));
                    receivers.push(clone);
                    model.receivers += 1;
                }
            }
            Op::DropReceiver(i) => {
                if !receivers.is_empty() {
                    let index = i % receivers.len();
                    drop(receivers.swap_remove(index));
                    model.receivers -= 1;
                    if model.receivers == 0 {
                        // The last receiver drops what is buffered.
                        model.queue.clear();
                    }
                }
            }
        }
        // Every value the model does not hold was received, handed back or dropped: once.
        prop_assert_eq!(counter.live(), model.queue.len(), "after {:?}", op);
    }
    drop(senders);
    drop(receivers);
    prop_assert_eq!(counter.live(), 0);
    prop_assert_eq!(counter.dropped(), counter.created());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn buffered_channel_matches_a_vecdeque_model(
        capacity in 1usize..=8,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        check_sequence(capacity, ops)?;
    }

    /// With one thread no receiver is ever waiting, so a rendezvous send can never complete:
    /// every send is full (or disconnected), every receive empty (or disconnected).
    #[test]
    fn rendezvous_channel_matches_the_model(ops in prop::collection::vec(op(), 0..100)) {
        check_sequence(0, ops)?;
    }
}
