//! loom models of the wait group (`src/wait_group.rs`) and, through it, of the countdown latch
//! (`src/latch.rs`) that the pool's `scope` also stands on.

use crate::common::{Signal, block_on};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ringfence::WaitGroup;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Duration;

#[test]
fn wait_sees_the_work_of_both_dones() {
    loom::model(|| {
        let work = WaitGroup::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (pending, seen) = (work.track(), seen.clone());
                thread::spawn(move || {
                    // ORDERING: Relaxed on purpose: the wait group must order it before `wait`.
                    seen.fetch_add(1, Ordering::Relaxed);
                    drop(pending);
                })
            })
            .collect();
        work.wait();
        // ORDERING: Relaxed: ordered by the latch's Release/Acquire (the model checks that).
        assert_eq!(seen.load(Ordering::Relaxed), 2);
        for w in workers {
            w.join().unwrap();
        }
    });
}

#[test]
fn timed_wait_racing_done_is_exact() {
    loom::model(|| {
        let work = WaitGroup::new();
        let pending = work.track();
        let worker = thread::spawn(move || pending.done());
        // Under loom the timeout "passes" exactly when the wait would sleep.
        let finished = work.wait_timeout(Duration::from_millis(1));
        worker.join().unwrap();
        if !finished {
            assert!(work.wait_timeout(Duration::from_millis(1)), "after the join nothing is left");
        }
        assert_eq!(work.pending(), 0);
    });
}

#[test]
fn a_waiter_that_times_out_does_not_take_the_others_wakeup() {
    loom::model(|| {
        let work = WaitGroup::new();
        let pending = work.track();
        let patient = blocked_waiter(&work);
        let worker = thread::spawn(move || pending.done());
        // Under loom the timeout "passes" exactly when the wait would sleep: this waiter may
        // leave (and deregister) while `done` wakes the waiters.
        let _ = work.wait_timeout(Duration::from_millis(1));
        worker.join().unwrap();
        // A lost wakeup would leave the patient waiter asleep: a loom deadlock.
        patient.join().unwrap();
        assert_eq!(work.pending(), 0);
    });
}

#[test]
fn a_wait_group_is_reusable_after_a_wait_returned() {
    loom::model(|| {
        let work = WaitGroup::new();
        let seen = Arc::new(AtomicUsize::new(0));
        for round in 1..=2 {
            let (pending, worker_seen) = (work.track(), seen.clone());
            let worker = thread::spawn(move || {
                // ORDERING: Relaxed on purpose: the wait group must order it before `wait`.
                worker_seen.fetch_add(1, Ordering::Relaxed);
                drop(pending);
            });
            work.wait();
            // ORDERING: Relaxed: ordered by the latch (the model checks that), in each round.
            assert_eq!(seen.load(Ordering::Relaxed), round);
            worker.join().unwrap();
        }
    });
}

#[test]
fn async_wait_racing_the_last_done_sees_its_work() {
    // The future registers on the latch's queue; the last `done` must wake it (a lost wakeup is
    // a loom deadlock: `block_on` parks until the future's waker is woken) and order the
    // worker's write before the wait's return.
    loom::model(|| {
        let work = WaitGroup::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let (pending, worker_seen) = (work.track(), seen.clone());
        let worker = thread::spawn(move || {
            // ORDERING: Relaxed on purpose: the wait group must order it before the wait.
            worker_seen.fetch_add(1, Ordering::Relaxed);
            drop(pending);
        });
        block_on(work.wait_async());
        // ORDERING: Relaxed: ordered by the latch's Release/Acquire (the model checks that).
        assert_eq!(seen.load(Ordering::Relaxed), 1);
        worker.join().unwrap();
    });
}

#[test]
fn a_dropped_async_wait_keeps_no_waker_and_leaves_a_blocked_waiter_alone() {
    // A future registers and is dropped while the last `done` races it (its entry may already
    // have been taken): the drop leaves no clone of its waker in the queue, and a thread
    // blocked in `wait` on the same queue still returns.
    loom::model(|| {
        let work = WaitGroup::new();
        let pending = work.track();
        let patient = blocked_waiter(&work);
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut dropped = work.wait_async();
        let _ = Pin::new(&mut dropped).poll(&mut Context::from_waker(&waker));
        let worker = thread::spawn(move || pending.done());
        drop(dropped);
        worker.join().unwrap();
        patient.join().unwrap();
        drop(waker);
        assert!(signal.wakes() <= 1, "one `done`, at most one wake");
        assert_eq!(std::sync::Arc::strong_count(&signal), 1, "a clone of the waker was left behind");
        assert_eq!(work.pending(), 0);
    });
}

#[test]
fn an_async_wait_racing_a_refill_waits_for_the_new_work() {
    // The group refills (`track`) while its last unit is marked done: the registered future may
    // be woken for a zero that is gone by its next poll. Like `wait`, it then waits for the
    // new work too, and is re-polled with another waker (`block_on`'s): it must still be woken
    // by the second `done` (else: loom deadlock) and return only once nothing is outstanding.
    loom::model(|| {
        let work = WaitGroup::new();
        let first = work.track();
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let mut wait = work.wait_async();
        assert!(Pin::new(&mut wait).poll(&mut Context::from_waker(&waker)).is_pending());
        let worker = thread::spawn(move || first.done());
        let second = work.track();
        let second_worker = thread::spawn(move || second.done());
        block_on(wait);
        assert_eq!(work.pending(), 0, "returned with work outstanding");
        worker.join().unwrap();
        second_worker.join().unwrap();
    });
}

/// A thread blocked in `wait` on a clone of `work`.
fn blocked_waiter(work: &WaitGroup) -> thread::JoinHandle<()> {
    let work = work.clone();
    thread::spawn(move || work.wait())
}
