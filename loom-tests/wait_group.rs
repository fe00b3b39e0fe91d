//! loom models of the wait group (`src/wait_group.rs`) and, through it, of the countdown latch
//! (`src/latch.rs`) that the pool's `scope` also stands on.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ringfence::WaitGroup;
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
        let patient = {
            let work = work.clone();
            thread::spawn(move || work.wait())
        };
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
        crate::common::block_on(work.wait_async());
        // ORDERING: Relaxed: ordered by the latch's Release/Acquire (the model checks that).
        assert_eq!(seen.load(Ordering::Relaxed), 1);
        worker.join().unwrap();
    });
}

#[test]
fn a_dropped_async_wait_leaves_a_blocked_waiter_its_wakeup() {
    // A future registers, is dropped (possibly after `done` took its entry), and a thread
    // blocked in `wait` on the same queue must still return.
    loom::model(|| {
        let work = WaitGroup::new();
        let pending = work.track();
        let patient = {
            let work = work.clone();
            thread::spawn(move || work.wait())
        };
        let mut dropped = work.wait_async();
        let waker = std::task::Waker::noop();
        let _ = std::future::Future::poll(
            std::pin::Pin::new(&mut dropped),
            &mut std::task::Context::from_waker(waker),
        );
        let worker = thread::spawn(move || pending.done());
        drop(dropped);
        worker.join().unwrap();
        patient.join().unwrap();
        assert_eq!(work.pending(), 0);
    });
}
