#![cfg(not(loom))]
//! Small scenarios through the crate's `unsafe` code, sized for Miri (`scripts/miri.sh`), which
//! runs them on the shipping code with std's real atomics and threads and reports undefined
//! behaviour: a read of memory that was never written or already freed, a value dropped twice,
//! a data race on a non-atomic access, a reference that outlives what it borrows (Tree
//! Borrows), a leak. loom (`loom-tests/`) checks the same protocols' interleavings
//! exhaustively, but with its own atomics and cells and without those checks; these scenarios
//! are the other half (`docs/verification.md`, "Miri").
//!
//! Every value handed to the library is a [`Tracked`]: heap memory (so a double drop or a use
//! after free touches freed memory) whose drops are counted, so the same tests also check,
//! natively, that nothing handed over is lost or dropped twice. Natively they take
//! milliseconds and run with the rest of the suite.

mod async_util;

use async_util::block_on;
use ringfence::Semaphore;
use ringfence::channel::{self, RecvTimeoutError, SendTimeoutError, TryRecvError};
use ringfence::pool::Pool;
use ringfence::ring::Ring;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Counts the [`Tracked`] values alive.
#[derive(Clone, Default)]
struct Census(Arc<AtomicUsize>);

impl Census {
    fn value(&self, n: u64) -> Tracked {
        self.0.fetch_add(1, Ordering::SeqCst);
        Tracked { n: Box::new(n), census: self.clone() }
    }

    fn alive(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A value on the heap, counted while it lives.
struct Tracked {
    n: Box<u64>,
    census: Census,
}

impl Tracked {
    fn n(&self) -> u64 {
        *self.n
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let before = self.census.0.fetch_sub(1, Ordering::SeqCst);
        assert!(before > 0, "a value dropped more often than it was made");
    }
}

/// A value larger than the channels' inline paths take (they pop such values into the caller's
/// `Option` instead), tracked as well.
struct Large {
    tracked: Tracked,
    padding: [u64; 8],
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn ring_values_cross_the_wrap_are_overwritten_and_dropped_with_the_ring() {
    let census = Census::default();
    {
        let ring = Ring::new(3);
        for n in 0..10 {
            ring.try_push(census.value(n)).map_err(|_| "room").unwrap();
            assert_eq!(ring.try_pop().map(|v| v.n()), Some(n));
        }
        for n in 0..3 {
            ring.try_push(census.value(n)).map_err(|_| "room").unwrap();
        }
        let refused = ring.try_push(census.value(99)).expect_err("full");
        assert_eq!(refused.n(), 99);
        drop(refused);
        // The oldest comes back, the new one takes its place.
        assert_eq!(ring.force_push(census.value(3)).map(|v| v.n()), Some(0));
        assert_eq!(ring.try_pop().map(|v| v.n()), Some(1));
        assert_eq!(census.alive(), 2, "two values left in the ring");
    }
    assert_eq!(census.alive(), 0, "dropping the ring drops what it holds");
}

#[test]
fn ring_moves_values_between_threads() {
    let census = Census::default();
    let ring = Ring::new(2);
    let sum: u64 = thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..60 {
                let mut value = census.value(n);
                while let Err(back) = ring.try_push(value) {
                    value = back;
                    thread::yield_now();
                }
            }
        });
        let mut sum = 0;
        let mut received = 0;
        while received < 60 {
            match ring.try_pop() {
                Some(value) => {
                    sum += value.n();
                    received += 1;
                }
                None => thread::yield_now(),
            }
        }
        sum
    });
    assert_eq!(sum, (0..60).sum());
    assert_eq!(census.alive(), 0);
}

/// Two senders and two receivers on a buffered channel: the ring, the waiting layer, and on a
/// capacity-1 channel the parked send and receive.
fn buffered_mpmc(capacity: usize) {
    let census = Census::default();
    let (tx, rx) = channel::bounded(capacity);
    let sum: u64 = thread::scope(|scope| {
        for sender in 0..2 {
            let tx = tx.clone();
            let census = &census;
            scope.spawn(move || {
                for n in 0..40 {
                    tx.send(census.value(sender * 1000 + n)).map_err(|_| "receivers gone").unwrap();
                }
            });
        }
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                scope.spawn(move || rx.iter().map(|value| value.n()).sum::<u64>())
            })
            .collect();
        receivers.into_iter().map(|r| r.join().unwrap()).sum()
    });
    assert_eq!(sum, 2 * (0..40).sum::<u64>() + 1000 * 40);
    assert_eq!(census.alive(), 0);
}

#[test]
fn buffered_channel_of_capacity_one_moves_values_between_threads() {
    buffered_mpmc(1);
}

#[test]
fn buffered_channel_of_capacity_four_moves_values_between_threads() {
    buffered_mpmc(4);
}

#[test]
fn large_values_move_through_a_buffered_and_an_unbounded_channel() {
    let census = Census::default();
    for (tx, rx) in [channel::bounded(2), channel::unbounded()] {
        let sum: u64 = thread::scope(|scope| {
            scope.spawn(|| {
                for n in 0..30 {
                    let value = Large { tracked: census.value(n), padding: [n; 8] };
                    tx.send(value).map_err(|_| "receiver gone").unwrap();
                }
            });
            (0..30)
                .map(|_| {
                    let value = rx.recv().unwrap();
                    assert_eq!(value.padding, [value.tracked.n(); 8]);
                    value.tracked.n()
                })
                .sum()
        });
        assert_eq!(sum, (0..30).sum());
    }
    assert_eq!(census.alive(), 0);
}

#[test]
fn a_blocked_send_gets_its_value_back_when_the_receiver_leaves_or_time_runs_out() {
    let census = Census::default();
    let (tx, rx) = channel::bounded(1);
    tx.send(census.value(0)).map_err(|_| "room").unwrap();
    // Full: the send parks its value, then takes it back at its deadline.
    match tx.send_timeout(census.value(1), Duration::from_millis(5)) {
        Err(SendTimeoutError::Timeout(value)) => assert_eq!(value.n(), 1),
        other => panic!("expected a timeout, got {:?}", other.map_err(|e| e.to_string())),
    }
    thread::scope(|scope| {
        let blocked = scope.spawn(|| tx.send(census.value(2)).map_err(|e| e.into_inner().n()));
        thread::sleep(Duration::from_millis(5));
        drop(rx); // the buffered value is dropped with the channel's last receiver
        assert_eq!(blocked.join().unwrap(), Err(2), "the parked value comes back");
    });
    drop(tx);
    assert_eq!(census.alive(), 0);
}

#[test]
fn unbounded_channel_moves_values_across_blocks_and_frees_the_rest_on_drop() {
    let census = Census::default();
    let (tx, rx) = channel::unbounded();
    let sum: u64 = thread::scope(|scope| {
        for sender in 0..2 {
            let tx = tx.clone();
            let census = &census;
            scope.spawn(move || {
                for n in 0..70 {
                    tx.send(census.value(sender * 1000 + n)).map_err(|_| "receiver gone").unwrap();
                }
            });
        }
        // Half by waiting, half by polling: both ways of finding a value (peeks included).
        let mut sum = 0;
        let mut received = 0;
        while received < 140 {
            let value = if received % 2 == 0 {
                rx.recv().unwrap()
            } else {
                match rx.try_recv() {
                    Ok(value) => value,
                    Err(TryRecvError::Empty) => {
                        thread::yield_now();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => unreachable!("a sender is still here"),
                }
            };
            sum += value.n();
            received += 1;
        }
        sum
    });
    assert_eq!(sum, 2 * (0..70).sum::<u64>() + 1000 * 70);
    // More than a block's worth left behind: freed with the channel.
    for n in 0..70 {
        tx.send(census.value(n)).map_err(|_| "receiver here").unwrap();
    }
    assert_eq!(rx.try_recv().map(|v| v.n()).ok(), Some(0));
    drop((tx, rx));
    assert_eq!(census.alive(), 0);
}

#[test]
fn rendezvous_channel_hands_values_over_and_takes_back_unclaimed_ones() {
    let census = Census::default();
    let (tx, rx) = channel::bounded(0);
    match tx.send_timeout(census.value(7), Duration::from_millis(5)) {
        Err(SendTimeoutError::Timeout(value)) => assert_eq!(value.n(), 7),
        other => panic!("expected a timeout, got {:?}", other.map_err(|e| e.to_string())),
    }
    assert!(matches!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout)));
    let sum: u64 = thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..30 {
                tx.send(census.value(n)).map_err(|_| "receiver gone").unwrap();
            }
        });
        (0..30).map(|_| rx.recv().unwrap().n()).sum()
    });
    assert_eq!(sum, (0..30).sum());
    // An async send waiting in the hand-over slot, dropped: its value is taken back and dropped.
    {
        let mut send = pin!(tx.send_async(census.value(8)));
        assert!(poll_once(send.as_mut()).is_pending());
    }
    assert_eq!(census.alive(), 0);
    assert!(rx.try_recv().is_err(), "the dropped send did not send");
}

/// Async sends and receives on two threads, each with its own `block_on`.
fn async_pair(tx: channel::Sender<Tracked>, rx: channel::Receiver<Tracked>, census: &Census) {
    let sum: u64 = thread::scope(|scope| {
        scope.spawn(move || {
            block_on(async {
                for n in 0..40 {
                    tx.send_async(census.value(n)).await.map_err(|_| "receiver gone").unwrap();
                }
            })
        });
        block_on(async {
            let mut sum = 0;
            while let Ok(value) = rx.recv_async().await {
                sum += value.n();
            }
            sum
        })
    });
    assert_eq!(sum, (0..40).sum());
}

#[test]
fn async_sends_and_receives_move_values_between_threads() {
    let census = Census::default();
    // Capacity 1 and one receiver: an async receive parks a request there (the front).
    for capacity in [Some(1), Some(16), None] {
        let (tx, rx) = capacity.map_or_else(channel::unbounded, channel::bounded);
        async_pair(tx, rx, &census);
    }
    assert_eq!(census.alive(), 0);
}

#[test]
fn dropped_async_futures_lose_nothing() {
    let census = Census::default();
    let (tx, rx) = channel::bounded(1);
    // A receive parks its request, a send fills it, the future is dropped: the value stays.
    {
        let mut recv = pin!(rx.recv_async());
        assert!(poll_once(recv.as_mut()).is_pending());
        tx.try_send(census.value(1)).map_err(|_| "room").unwrap();
    }
    assert_eq!(rx.try_recv().map(|v| v.n()).ok(), Some(1), "the filled value stayed the channel's");
    // A send waiting for room, dropped: its value is dropped with it, not sent.
    tx.try_send(census.value(2)).map_err(|_| "room").unwrap();
    {
        let mut send = pin!(tx.send_async(census.value(3)));
        assert!(poll_once(send.as_mut()).is_pending());
    }
    assert_eq!(rx.try_recv().map(|v| v.n()).ok(), Some(2));
    assert!(rx.try_recv().is_err(), "the dropped send did not send");
    tx.try_send(census.value(4)).map_err(|_| "room").unwrap();
    drop((tx, rx));
    assert_eq!(census.alive(), 0);
}

#[test]
fn oneshot_values_cross_threads_and_unreceived_ones_are_dropped() {
    let census = Census::default();
    // Sent on one thread, received on another, by blocking and by awaiting.
    let (tx, rx) = ringfence::oneshot::channel();
    thread::scope(|scope| {
        scope.spawn(|| tx.send(census.value(1)).map_err(|_| "receiver gone").unwrap());
        assert_eq!(rx.recv().unwrap().n(), 1);
    });
    let (tx, rx) = ringfence::oneshot::channel();
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(2));
            tx.send(census.value(2)).map_err(|_| "receiver gone").unwrap();
        });
        assert_eq!(block_on(rx).unwrap().n(), 2);
    });
    // A receive that timed out, then the value.
    let (tx, mut rx) = ringfence::oneshot::channel();
    assert!(rx.recv_timeout(Duration::from_millis(2)).is_err());
    tx.send(census.value(3)).map_err(|_| "receiver here").unwrap();
    assert_eq!(rx.try_recv().map(|v| v.n()).ok(), Some(3));
    // A value never received is dropped with the receiver; an unsent one comes back.
    let (tx, rx) = ringfence::oneshot::channel();
    tx.send(census.value(4)).map_err(|_| "receiver here").unwrap();
    drop(rx);
    let (tx, rx) = ringfence::oneshot::channel::<Tracked>();
    drop(rx);
    assert_eq!(tx.send(census.value(5)).map_err(|e| e.into_inner().n()), Err(5));
    // A pending async receive, dropped before the send.
    let (tx, rx) = ringfence::oneshot::channel();
    {
        let mut rx = pin!(rx);
        assert!(poll_once(rx.as_mut()).is_pending());
    }
    assert!(tx.send(census.value(6)).is_err(), "the receiver is gone");
    assert_eq!(census.alive(), 0);
}

#[test]
fn semaphore_permits_and_a_dropped_async_acquire() {
    let semaphore = Semaphore::new(2);
    let held = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..10 {
                    let _permit = semaphore.acquire();
                    assert!(held.fetch_add(1, Ordering::SeqCst) < 2, "at most two permits out");
                    held.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    let all = semaphore.acquire_many(2);
    {
        let mut waiting = pin!(semaphore.acquire_async());
        assert!(poll_once(waiting.as_mut()).is_pending());
    }
    drop(all);
    assert_eq!(semaphore.available_permits(), 2, "nothing kept by the dropped future");
}

#[test]
fn pool_tasks_slices_and_scopes() {
    let census = Census::default();
    let pool = Pool::new(2);
    let task = {
        let value = census.value(5);
        pool.submit(move || value.n() * 2)
    };
    assert_eq!(task.wait().unwrap(), 10);
    let items: Vec<Tracked> = (0..40).map(|n| census.value(n)).collect();
    let doubled = pool.map_slice(&items, |value| value.n() * 2).unwrap();
    assert_eq!(doubled, (0..40).map(|n| n * 2).collect::<Vec<_>>());
    let sum = pool.map_reduce_slice(&items, |value| value.n(), |a, b| a + b).unwrap();
    assert_eq!(sum, Some((0..40).sum()));
    let total = AtomicUsize::new(0);
    pool.scope(|scope| {
        for value in &items {
            let total = &total;
            scope.submit(move || total.fetch_add(value.n() as usize, Ordering::SeqCst));
        }
    });
    assert_eq!(total.load(Ordering::SeqCst), (0..40).sum::<usize>());
    drop(items);
    assert_eq!(census.alive(), 0);
}

/// `try_submit`, `submit_timeout` and `try_spawn` turn a job the full queue handed back into the
/// closure again (`handle.rs`, `unqueued` and `unqueued_detached`: a cast of the boxed job back
/// to its concrete type).
#[test]
fn pool_hands_back_the_closures_it_could_not_queue() {
    let census = Census::default();
    let pool = ringfence::pool::Pool::builder().threads(1).queue_capacity(0).build().unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = std::sync::mpsc::channel();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv().unwrap();
    });
    started.recv().unwrap(); // the only worker is busy, the queue holds nothing
    let value = census.value(3);
    let back = pool.try_submit(move || value.n() + 1).unwrap_err().into_inner();
    assert_eq!(back(), 4);
    let value = census.value(5);
    let back =
        pool.submit_timeout(move || value.n() + 1, std::time::Duration::ZERO).unwrap_err().into_inner();
    assert_eq!(back(), 6);
    let value = census.value(7);
    let (seen_tx, seen) = std::sync::mpsc::channel();
    let back = pool.try_spawn(move || seen_tx.send(value.n() + 1).unwrap()).unwrap_err().into_inner();
    back();
    assert_eq!(seen.recv(), Ok(8));
    release.send(()).unwrap();
    busy.wait().unwrap();
    assert_eq!(census.alive(), 0);
}

#[test]
fn timer_sleeps_and_timeouts() {
    block_on(ringfence::timer::sleep(Duration::from_millis(2)));
    let (_tx, rx) = channel::bounded::<u64>(1);
    let outcome = block_on(ringfence::timer::timeout(Duration::from_millis(2), rx.recv_async()));
    assert!(outcome.is_err(), "nothing was sent");
    let (tx, rx) = channel::bounded::<u64>(1);
    tx.send(3).unwrap();
    let outcome = block_on(ringfence::timer::timeout(Duration::from_secs(60), rx.recv_async()));
    assert_eq!(outcome.ok().and_then(Result::ok), Some(3));
}

/// No `unsafe` of their own (under Miri the default clock reads `Instant`: Miri runs no inline
/// assembly), but shared between threads like everything else.
#[test]
fn rate_limiters_on_their_default_clock_shared_by_threads() {
    let bucket = ringfence::rate::TokenBucket::new(1, Duration::from_secs(3600), 20);
    let window = ringfence::rate::SlidingWindow::new(20, Duration::from_secs(3600));
    let granted = AtomicUsize::new(0);
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..15 {
                    if bucket.try_acquire(1).is_ok() {
                        granted.fetch_add(1, Ordering::SeqCst);
                    }
                    if window.try_acquire().is_ok() {
                        granted.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(granted.load(Ordering::SeqCst), 40, "each grants its burst exactly, not one more");
}

/// What the receiving thread of a oneshot race does.
#[derive(Clone, Copy, Debug)]
enum ReceiverMove {
    Drop,
    PollThenDrop,
    PollThenAwait,
    TimeoutThenDrop,
    Block,
}

/// What the sending thread of a oneshot race does.
#[derive(Clone, Copy, Debug)]
enum SenderMove {
    Send,
    Drop,
    PollClosedThenSend,
    PollClosedThenDrop,
}

/// One oneshot, its two handles on two threads released together: every pair of moves, a few
/// times each. The cell has no reference count (the state word decides which side frees it),
/// so these are the races where a use after free or a double drop would be; Miri sees each one
/// that the run's schedule reaches (`scripts/miri.sh` with `-Zmiri-many-seeds` tries more).
#[test]
fn oneshot_handles_racing_on_two_threads_free_the_cell_once() {
    let census = Census::default();
    let receivers = [
        ReceiverMove::Drop,
        ReceiverMove::PollThenDrop,
        ReceiverMove::PollThenAwait,
        ReceiverMove::TimeoutThenDrop,
        ReceiverMove::Block,
    ];
    let senders =
        [SenderMove::Send, SenderMove::Drop, SenderMove::PollClosedThenSend, SenderMove::PollClosedThenDrop];
    for receiver_move in receivers {
        for sender_move in senders {
            for round in 0..2 {
                let (mut tx, mut rx) = ringfence::oneshot::channel::<Tracked>();
                let barrier = std::sync::Barrier::new(2);
                let (sent, received) = thread::scope(|scope| {
                    let sender = scope.spawn(|| {
                        barrier.wait();
                        let polled = matches!(
                            sender_move,
                            SenderMove::PollClosedThenSend | SenderMove::PollClosedThenDrop
                        );
                        if polled {
                            let _ = tx.poll_closed(&mut Context::from_waker(Waker::noop()));
                            thread::yield_now();
                        }
                        match sender_move {
                            SenderMove::Send | SenderMove::PollClosedThenSend => {
                                // Refused when the receiver is gone: the value comes back.
                                tx.send(census.value(round)).is_ok()
                            }
                            SenderMove::Drop | SenderMove::PollClosedThenDrop => false,
                        }
                    });
                    barrier.wait();
                    let received = match receiver_move {
                        ReceiverMove::Drop => None,
                        ReceiverMove::PollThenDrop => match poll_once(std::pin::Pin::new(&mut rx)) {
                            Poll::Ready(outcome) => outcome.ok(),
                            Poll::Pending => {
                                // Under Miri a yield lets the sender run into its hand-off.
                                thread::yield_now();
                                None
                            }
                        },
                        ReceiverMove::PollThenAwait => {
                            let first = poll_once(std::pin::Pin::new(&mut rx));
                            match first {
                                Poll::Ready(outcome) => outcome.ok(),
                                Poll::Pending => block_on(&mut rx).ok(),
                            }
                        }
                        ReceiverMove::TimeoutThenDrop => rx.recv_timeout(Duration::from_micros(50)).ok(),
                        ReceiverMove::Block => rx.recv().ok(),
                    };
                    let received = received.map(|value| value.n());
                    (sender.join().unwrap(), received)
                });
                if matches!(receiver_move, ReceiverMove::PollThenAwait | ReceiverMove::Block) {
                    assert_eq!(sent, received.is_some(), "{receiver_move:?} / {sender_move:?}");
                }
                if let Some(n) = received {
                    assert!(sent, "received a value that was not sent");
                    assert_eq!(n, round);
                }
                assert_eq!(census.alive(), 0, "{receiver_move:?} / {sender_move:?}: every value dropped");
            }
        }
    }
}

/// Async receives dropped after one poll while another thread sends: every value sent is
/// received exactly once, by a later receive or the final drain.
#[test]
fn async_receives_dropped_while_sends_race_lose_nothing() {
    let census = Census::default();
    for capacity in [Some(1), Some(4), Some(0), None] {
        let (tx, rx) = capacity.map_or_else(channel::unbounded, channel::bounded);
        let mut received = Vec::new();
        thread::scope(|scope| {
            let tx = &tx;
            let census = &census;
            let sender = scope.spawn(move || {
                for n in 0..12 {
                    // A rendezvous send needs a receive to meet: give up on one that finds none.
                    if tx.send_timeout(census.value(n), Duration::from_millis(2)).is_err() {
                        return n;
                    }
                }
                12
            });
            for _ in 0..12 {
                let mut recv = pin!(rx.recv_async());
                if let Poll::Ready(Ok(value)) = poll_once(recv.as_mut()) {
                    received.push(value.n());
                }
                thread::yield_now();
            }
            let sent = sender.join().unwrap();
            while let Ok(value) = rx.try_recv() {
                received.push(value.n());
            }
            received.sort_unstable();
            assert_eq!(received, (0..sent).collect::<Vec<_>>(), "capacity {capacity:?}");
        });
    }
    assert_eq!(census.alive(), 0);
}
