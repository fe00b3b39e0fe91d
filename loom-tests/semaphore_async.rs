//! loom models of the semaphore's async acquires (`src/semaphore/future.rs`, the protocol's
//! rule 5 in `src/semaphore/mod.rs`): a future waits in the same line as blocking acquirers,
//! as the head or behind it; dropped, it returns what it had taken (nothing), gives the head
//! role up, and passes an unused wakeup on. A lost wakeup, or a head left behind by a dropped
//! future, is a loom deadlock (the futures run on `common::block_on`, which sleeps on a loom
//! condvar until the future's waker is called, and blocked threads wait on loom's scheduler); a
//! permit lost or counted twice fails an assertion on the count; a missing
//! Acquire/Release is a data race on the cell a permit guards.

use crate::common::{Signal, block_on};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use ringfence::Semaphore;
use std::future::Future;
// The owned API takes the user's `std::sync::Arc`; the protocol inside is loom's.
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Polls `future` once with `waker`.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// A semaphore of one permit and a cell that only a holder of it may touch (loom reports a
/// race if two sections overlap or a release does not happen-before the next acquire).
struct Exclusive {
    semaphore: Semaphore,
    cell: UnsafeCell<usize>,
}

// SAFETY: `cell` is written only inside `enter`, with the semaphore's only permit held (so by
// one thread at a time), and read by `entries` after every thread is joined; loom checks both.
unsafe impl Sync for Exclusive {}

impl Exclusive {
    fn new() -> loom::sync::Arc<Self> {
        loom::sync::Arc::new(Exclusive { semaphore: Semaphore::new(1), cell: UnsafeCell::new(0) })
    }

    /// The section, to run while holding the permit.
    fn enter(&self) {
        // SAFETY: the caller holds the only permit; loom reports a race otherwise.
        self.cell.with_mut(|v| unsafe { *v += 1 });
    }

    fn entries(&self) -> usize {
        // SAFETY: every thread that wrote the cell has been joined.
        self.cell.with(|v| unsafe { *v })
    }
}

#[test]
fn async_acquire_racing_a_release() {
    // One permit (and, as the head, two) brought by `add_permits` on another thread while the
    // future polls: rule 1 through the waker path. A lost wakeup is a deadlock.
    for n in [1, 2] {
        loom::model(move || {
            let semaphore = Arc::new(Semaphore::new(0));
            let adder = {
                let semaphore = semaphore.clone();
                thread::spawn(move || {
                    for _ in 0..n {
                        semaphore.add_permits(1);
                    }
                })
            };
            let permit = block_on(semaphore.acquire_many_async(n));
            assert_eq!(permit.num_permits(), n);
            assert_eq!(semaphore.available_permits(), 0);
            drop(permit);
            adder.join().unwrap();
            assert_eq!(semaphore.available_permits(), n);
        });
    }
}

#[test]
fn async_and_blocking_acquirers_exclude_each_other() {
    // A thread and a future share one permit: the sections never overlap (the cell), each
    // release happens-before the next acquire, and whichever waits (as the head, through
    // `head_queue`, in either medium) is woken.
    loom::model(|| {
        let exclusive = Exclusive::new();
        let blocking = {
            let exclusive = exclusive.clone();
            thread::spawn(move || {
                let permit = exclusive.semaphore.acquire();
                thread::yield_now(); // let the future wait meanwhile (loom explores the rest)
                exclusive.enter();
                drop(permit);
            })
        };
        block_on(async {
            let permit = exclusive.semaphore.acquire_async().await;
            exclusive.enter();
            drop(permit);
        });
        blocking.join().unwrap();
        assert_eq!(exclusive.entries(), 2);
        assert_eq!(exclusive.semaphore.available_permits(), 1);
    });
}

#[test]
fn three_acquirers_async_and_blocking_are_all_served() {
    // A head and a waiter behind it, one of them a future: when the first is served and
    // releases, the other (in the line, parked or registered) must be woken (rules 2, 3, 5).
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let future_side = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(block_on(semaphore.acquire_async())))
        };
        let thread_side = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire()))
        };
        thread::yield_now(); // let them wait first (loom explores the other orders too)
        drop(held);
        future_side.join().unwrap();
        thread_side.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn pending_head_dropped_while_a_release_races_loses_no_permit() {
    // The future is polled once while the permit is held (so it becomes the head), then dropped
    // while the holder releases on another thread. Whatever the order: the permit is not
    // lost, `HEAD` is not left behind (a later acquirer gets the permit), and the count is
    // exact. Without the head's give-up in `Drop` the final acquire deadlocks.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut future = Box::pin(semaphore.acquire_async());
        assert!(poll_once(future.as_mut(), &waker).is_pending(), "the permit is held");
        assert!(format!("{semaphore:?}").contains("head_waiting: true"), "the future is the head");
        let releaser = thread::spawn(move || drop(held));
        drop(future);
        releaser.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1, "the released permit is still there");
        let again = semaphore.acquire(); // deadlocks if a head was left behind
        assert_eq!(again.num_permits(), 1);
        assert!(signal.wakes() <= 1);
    });
}

#[test]
fn pending_future_in_line_dropped_while_the_head_is_served() {
    // Behind a blocking head, a future is polled (it waits in the line, or is itself the head
    // if it came first) and dropped while the permit is released: the blocking acquirer is
    // still served, and the permit comes back exactly once.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let blocking = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire()))
        };
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut future = Box::pin(semaphore.acquire_async());
        assert!(poll_once(future.as_mut(), &waker).is_pending(), "the permit is held");
        let releaser = thread::spawn(move || drop(held));
        drop(future);
        releaser.join().unwrap();
        blocking.join().unwrap(); // deadlocks if the dropped future stranded the line
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn woken_head_dropped_without_repoll_hands_the_permit_on() {
    // The future is the head; the release wakes it; it is dropped without being polled again.
    // The waiter behind it (a future on another thread) must get the permit: the drop gives the
    // head role up and wakes the line (else: deadlock).
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut head = Box::pin(semaphore.acquire_async());
        assert!(poll_once(head.as_mut(), &waker).is_pending(), "the permit is held");
        let behind = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(semaphore.acquire_async()).num_permits())
        };
        drop(held); // `HEAD` is set: the release wakes the head's waker
        signal.wait_for(1);
        drop(head);
        assert_eq!(behind.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn woken_future_in_line_dropped_without_repoll_passes_the_wakeup_on() {
    // Two futures wait behind a head; the head leaves (dropped) and its notification wakes the
    // older one, which is dropped without being polled again. Its unused wakeup must reach the
    // other one, which becomes the head and is served by the release (else: deadlock).
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let quiet = Waker::from(Signal::new());
        let mut head = Box::pin(semaphore.acquire_async());
        assert!(poll_once(head.as_mut(), &quiet).is_pending(), "the permit is held");
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut older = Box::pin(semaphore.acquire_async());
        assert!(poll_once(older.as_mut(), &waker).is_pending(), "a head waits");
        let younger = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(semaphore.acquire_async()).num_permits())
        };
        drop(head); // gives the role up and wakes the oldest waiter in the line: `older`
        signal.wait_for(1);
        drop(older); // woken, never polled again: passes the wakeup on
        drop(held);
        assert_eq!(younger.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn a_future_that_takes_from_the_line_passes_the_wakeup_on() {
    // Rule 3 for a future: the head (a future) is served and wakes the line; the woken future
    // finds a permit and takes it without becoming the head, so it must pass the wakeup on to
    // the waiter behind it (a future on another thread). Without the chained wakeup that waiter
    // stays registered with no head to wake it, and the releases that follow (no `HEAD` set)
    // notify nobody: a deadlock.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(2));
        let both = semaphore.clone().acquire_many_owned(2);
        let head_signal = Signal::new();
        let head_waker = Waker::from(head_signal.clone());
        let older_signal = Signal::new();
        let older_waker = Waker::from(older_signal.clone());
        let mut head = Box::pin(semaphore.acquire_async());
        assert!(poll_once(head.as_mut(), &head_waker).is_pending(), "both are held");
        let mut older = Box::pin(semaphore.acquire_async());
        assert!(poll_once(older.as_mut(), &older_waker).is_pending(), "a head waits");
        let younger = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(semaphore.acquire_async()).num_permits())
        };
        drop(both); // two permits back: the head is woken
        head_signal.wait_for(1);
        let Poll::Ready(first) = poll_once(head.as_mut(), &head_waker) else {
            panic!("the head was woken for nothing")
        };
        // Served, the head woke the line: `older` (registered first) is woken. It takes the
        // free permit, or (when `younger` came late and took it by the fast path) it becomes
        // the head and the release of `first` wakes it again.
        older_signal.wait_for(1);
        let second = match poll_once(older.as_mut(), &older_waker) {
            Poll::Ready(permit) => Some(permit),
            Poll::Pending => None,
        };
        drop(first);
        let second = second.unwrap_or_else(|| {
            older_signal.wait_for(2);
            match poll_once(older.as_mut(), &older_waker) {
                Poll::Ready(permit) => permit,
                Poll::Pending => panic!("the head was woken for nothing"),
            }
        });
        drop(second);
        assert_eq!(younger.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn waker_replaced_between_polls_only_the_latest_is_needed() {
    // The head re-polls with a second waker while the release races it: the second waker is
    // woken (or the poll is ready), and the permit is taken exactly once.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.clone().acquire_owned();
        let first = Signal::new();
        let second = Signal::new();
        let first_waker = Waker::from(first.clone());
        let second_waker = Waker::from(second.clone());
        let mut future = Box::pin(semaphore.acquire_async());
        assert!(poll_once(future.as_mut(), &first_waker).is_pending(), "the permit is held");
        let releaser = thread::spawn(move || drop(held));
        let permit = match poll_once(future.as_mut(), &second_waker) {
            Poll::Ready(permit) => permit,
            Poll::Pending => {
                // Only the latest waker is kept: it must be woken (else: deadlock), and then the
                // permit is there.
                second.wait_for(1);
                match poll_once(future.as_mut(), &second_waker) {
                    Poll::Ready(permit) => permit,
                    Poll::Pending => panic!("woken, but the permit is not there"),
                }
            }
        };
        assert_eq!(permit.num_permits(), 1);
        assert_eq!(semaphore.available_permits(), 0);
        releaser.join().unwrap();
        drop(permit);
        assert!(first.wakes() <= 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn acquire_many_async_is_not_starved_by_a_single_permit_acquirer() {
    // Head-of-line for a future: `acquire_many_async(2)` waits as the head while one of two
    // permits is held; a single-permit acquirer (`try_acquire`, then async) arrives. It gets a
    // permit only after the big request was served (and released its permits), by either
    // route: neither the free permit nor the released one is taken from under the head.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.clone().acquire_owned();
        let quiet = Waker::from(Signal::new());
        let mut big = Box::pin(semaphore.acquire_many_async(2));
        assert!(poll_once(big.as_mut(), &quiet).is_pending(), "one of two is held");
        let big_served = Arc::new(AtomicBool::new(false));
        let single = {
            let semaphore = semaphore.clone();
            let big_served = big_served.clone();
            thread::spawn(move || {
                let permit = match semaphore.try_acquire() {
                    Some(permit) => permit,
                    None => block_on(semaphore.acquire_async()),
                };
                // Either way, the permit it got was released by the big request's permit: the
                // release happens-before our claim, so the flag is visible.
                // ORDERING: SeqCst keeps the model simple.
                assert!(big_served.load(Ordering::SeqCst), "a single acquire overtook the head");
                drop(permit);
            })
        };
        drop(held);
        let both = block_on(big);
        assert_eq!(both.num_permits(), 2);
        // ORDERING: SeqCst keeps the model simple.
        big_served.store(true, Ordering::SeqCst);
        drop(both);
        single.join().unwrap();
        assert_eq!(semaphore.available_permits(), 2);
    });
}

/// A semaphore of no permits with a future at the head and `behind` futures waiting in the line
/// behind it; one permit added and taken by the head, which leaves none: the line gets its turn
/// (`LINE` in `src/semaphore/state.rs`). Returns the head's permit and the futures in the line,
/// oldest first, with the signals of the wakers they were polled with.
#[allow(clippy::type_complexity)]
fn the_line_with_its_turn(
    semaphore: &Arc<Semaphore>,
    behind: usize,
) -> (ringfence::OwnedPermit, Vec<(std::pin::Pin<Box<ringfence::AcquireOwnedFuture>>, Arc<Signal>)>) {
    let head_signal = Signal::new();
    let head_waker = Waker::from(head_signal.clone());
    let mut head = Box::pin(semaphore.clone().acquire_owned_async());
    assert!(poll_once(head.as_mut(), &head_waker).is_pending(), "no permit yet");
    let line: Vec<_> = (0..behind)
        .map(|_| {
            let signal = Signal::new();
            let mut future = Box::pin(semaphore.clone().acquire_owned_async());
            assert!(poll_once(future.as_mut(), &Waker::from(signal.clone())).is_pending(), "a head waits");
            (future, signal)
        })
        .collect();
    semaphore.add_permits(1);
    head_signal.wait_for(1);
    let Poll::Ready(permit) = poll_once(head.as_mut(), &head_waker) else {
        panic!("the head was woken for nothing")
    };
    (permit, line)
}

#[test]
fn the_lines_turn_wakes_a_waiter_for_each_permit_released() {
    // Two futures wait in the line while it has its turn; two permits come back in one release
    // (`add_permits(2)`, on this thread) while each future is re-polled on a thread of its own.
    // A waiter that takes during the turn wakes nobody, so the release must wake one waiter per
    // permit: waking one would leave the other registered with a permit free (a deadlock).
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(0));
        let (first, line) = the_line_with_its_turn(&semaphore, 2);
        // Each keeps its permit until both have one: a release of the first would wake the other.
        let waiters: Vec<_> =
            line.into_iter().map(|(future, _)| thread::spawn(move || block_on(future))).collect();
        semaphore.add_permits(2);
        let permits: Vec<_> = waiters.into_iter().map(|waiter| waiter.join().unwrap()).collect();
        assert_eq!(permits.iter().map(ringfence::OwnedPermit::num_permits).sum::<usize>(), 2);
        drop((first, permits));
        assert_eq!(semaphore.available_permits(), 3);
    });
}

#[test]
fn a_woken_waiter_dropped_during_the_lines_turn_hands_its_permit_on() {
    // The line has its turn with one future in it; the head's release (on another thread)
    // wakes that future, which is dropped without being polled again, while a newcomer (a
    // future on a third thread) joins the line. The permit must not stay behind the turn with
    // nobody woken for it: the drop wakes another waiter (the newcomer, if it waits already) or
    // ends the turn, and ending it wakes a newcomer that waited on the turn meanwhile (else:
    // a deadlock, or a permit that `try_acquire` cannot take at the end).
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(0));
        let (first, mut line) = the_line_with_its_turn(&semaphore, 1);
        let (woken, signal) = line.pop().expect("one future in the line");
        let releaser = thread::spawn(move || drop(first));
        let newcomer = {
            let semaphore = semaphore.clone();
            thread::spawn(move || block_on(semaphore.acquire_owned_async()).num_permits())
        };
        // The release wakes the oldest waiter: the newcomer, never allowed to take during the
        // turn, comes later in the line whenever it registers.
        signal.wait_for(1);
        drop(woken);
        assert_eq!(newcomer.join().unwrap(), 1);
        releaser.join().unwrap();
        assert!(semaphore.try_acquire().is_some(), "the permit is free again");
    });
}

/// `forget_permits` racing the line's turn: two async waiters of one permit each, a release of
/// one permit (the turn wakes one waiter for it), a `forget_permits(1)` that may take that very
/// permit. Whoever loses is served by the permit added back: no waiter stays asleep with a
/// permit available.
#[test]
fn forget_permits_racing_the_lines_turn() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.acquire();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let semaphore = semaphore.clone();
                thread::spawn(move || drop(block_on(semaphore.acquire_async())))
            })
            .collect();
        let forgetter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.forget_permits(1))
        };
        drop(held);
        let forgotten = forgetter.join().unwrap();
        semaphore.add_permits(forgotten);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(semaphore.available_permits(), 1);
    });
}
