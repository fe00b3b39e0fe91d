#![cfg(not(loom))]
//! Integration tests of `ringfence::WaitGroup`: counting, waiting, timeouts, guards that mark
//! work done on drop (also while a consumer panics), misuse panics, and a producer-consumer
//! `join` under load; the async wait (`wait_async`) on tokio and on a minimal `block_on`.

mod async_util;
mod common;

use async_util::{block_on, counting, held, poll_once};
use common::{WATCHDOG, within};
use ringfence::WaitGroup;
use ringfence::channel::bounded;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::thread;
use std::time::Duration;

#[test]
fn wait_returns_at_once_when_nothing_is_outstanding() {
    let work = WaitGroup::new();
    work.wait();
    assert!(work.wait_timeout(Duration::ZERO));
    assert_eq!(format!("{work:?}"), "WaitGroup { pending: 0 }");
}

#[test]
fn wait_blocks_until_the_last_done() {
    within(WATCHDOG, || {
        let work = WaitGroup::new();
        work.add(3);
        let finished = Arc::new(AtomicU64::new(0));
        for i in 0..3u64 {
            let (w, f) = (work.clone(), finished.clone());
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(5 * i));
                f.fetch_add(1, Ordering::Relaxed);
                w.done();
            });
        }
        work.wait();
        assert_eq!(finished.load(Ordering::Relaxed), 3, "the work done before `done` is visible");
        assert_eq!(work.pending(), 0);
    });
}

#[test]
fn wait_timeout_reports_outstanding_work_and_huge_timeouts_do_not_panic() {
    let work = WaitGroup::new();
    let pending = work.track();
    assert!(!work.wait_timeout(Duration::from_millis(2)));
    let w = work.clone();
    let waiter = thread::spawn(move || w.wait_timeout(Duration::MAX));
    thread::sleep(Duration::from_millis(5));
    pending.done();
    assert!(waiter.join().unwrap());
}

#[test]
fn a_guard_dropped_while_a_consumer_panics_still_counts_done() {
    within(WATCHDOG, || {
        let work = WaitGroup::new();
        let pending = work.track();
        let consumer = thread::spawn(move || {
            let _pending = pending;
            panic!("consumer crashed");
        });
        assert!(consumer.join().is_err());
        work.wait(); // does not hang
    });
}

#[test]
#[should_panic(expected = "WaitGroup::done: called more times than work was added")]
fn done_without_add_panics_clearly() {
    WaitGroup::new().done();
}

#[test]
#[should_panic(expected = "WaitGroup::add: more than usize::MAX / 2 units outstanding")]
fn an_absurd_count_panics_clearly() {
    let work = WaitGroup::new();
    work.add(usize::MAX / 2);
    work.add(1);
}

#[test]
fn several_waiters_are_all_released() {
    within(WATCHDOG, || {
        let work = WaitGroup::new();
        let pending = work.track();
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let w = work.clone();
                thread::spawn(move || w.wait())
            })
            .collect();
        thread::sleep(Duration::from_millis(5));
        drop(pending);
        for waiter in waiters {
            waiter.join().unwrap();
        }
    });
}

/// Items through the producer-consumer join test.
const ITEMS: u64 = 100_000;

#[test]
fn producer_consumer_join_sees_every_item_processed() {
    within(WATCHDOG, || {
        let (tx, rx) = bounded::<(u64, ringfence::Pending)>(64);
        let sum = Arc::new(AtomicU64::new(0));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (rx, sum) = (rx.clone(), sum.clone());
                thread::spawn(move || {
                    for (item, pending) in rx.iter() {
                        sum.fetch_add(item, Ordering::Relaxed);
                        drop(pending);
                    }
                })
            })
            .collect();
        drop(rx);
        let work = WaitGroup::new();
        for round in 0..2u64 {
            for item in 0..ITEMS {
                tx.send((item, work.track())).unwrap();
            }
            work.wait(); // join: everything sent so far is processed
            assert_eq!(sum.load(Ordering::Relaxed), (round + 1) * ITEMS * (ITEMS - 1) / 2);
        }
        drop(tx);
        for c in consumers {
            c.join().unwrap();
        }
    });
}

#[test]
fn async_wait_is_ready_at_once_when_nothing_is_outstanding() {
    let work = WaitGroup::new();
    let (counter, waker) = counting();
    assert_eq!(poll_once(&mut work.wait_async(), &waker), Poll::Ready(()));
    assert_eq!(held(&counter), 0, "a ready wait keeps no waker");
}

#[test]
fn async_wait_wakes_at_the_last_done_and_not_before() {
    let work = WaitGroup::new();
    let (first, second) = (work.track(), work.track());
    let (counter, waker) = counting();
    let mut wait = work.wait_async();
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending);
    first.done();
    assert_eq!(counter.wakes(), 0, "one unit is still outstanding");
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending);
    second.done();
    assert_eq!(counter.wakes(), 1, "the last done woke the task");
    assert_eq!(poll_once(&mut wait, &waker), Poll::Ready(()));
    assert!(format!("{wait:?}").starts_with("WaitGroupFuture"));
}

#[test]
fn a_dropped_async_wait_leaves_nothing_behind() {
    let work = WaitGroup::new();
    let pending = work.track();
    let (counter, waker) = counting();
    let mut wait = work.wait_async();
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending);
    assert_eq!(held(&counter), 1, "the registered future holds a clone of the waker");
    drop(wait);
    assert_eq!(held(&counter), 0, "dropped: the clone is gone with its entry");
    pending.done();
    assert_eq!(counter.wakes(), 0, "nothing wakes a dropped wait");
    // A blocking waiter on the same group is unaffected.
    work.wait();
}

#[test]
fn async_and_blocking_waiters_are_all_woken_from_another_thread() {
    within(WATCHDOG, || {
        let work = WaitGroup::new();
        let pending = work.track();
        let blocked = {
            let work = work.clone();
            thread::spawn(move || work.wait())
        };
        let worker = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            pending.done();
        });
        block_on(work.wait_async()); // the minimal `block_on`: woken only by the waker
        blocked.join().unwrap();
        worker.join().unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_join_over_async_consumers_sees_every_item_processed() {
    // asyncio's producer-consumer: async consumers, `await queue.join()` twice.
    let (tx, rx) = bounded::<(u64, ringfence::Pending)>(8);
    let processed = Arc::new(AtomicU64::new(0));
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (rx, processed) = (rx.clone(), processed.clone());
            tokio::spawn(async move {
                while let Ok((item, pending)) = rx.recv_async().await {
                    if item % 100 == 0 {
                        tokio::task::yield_now().await; // consumers finish out of order
                    }
                    processed.fetch_add(item, Ordering::Relaxed);
                    drop(pending);
                }
            })
        })
        .collect();
    let work = WaitGroup::new();
    for round in 1..=2u64 {
        for item in 1..=10_000 {
            tx.send_async((item, work.track())).await.unwrap();
        }
        work.wait_async().await;
        // Everything sent so far was processed before the join returned.
        assert_eq!(processed.load(Ordering::Relaxed), round * 50_005_000);
    }
    drop(tx);
    for consumer in consumers {
        consumer.await.unwrap();
    }
}

#[test]
fn an_async_wait_dropped_after_the_last_done_woke_it_leaves_nothing_behind() {
    let work = WaitGroup::new();
    let pending = work.track();
    let (counter, waker) = counting();
    let mut wait = work.wait_async();
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending);
    pending.done(); // takes the entry and wakes it
    assert_eq!(counter.wakes(), 1);
    // The next round's waiter registers before the woken one is dropped.
    let next = work.track();
    let (second, second_waker) = counting();
    let mut again = work.wait_async();
    assert_eq!(poll_once(&mut again, &second_waker), Poll::Pending);
    drop(wait); // woken, never polled again
    assert_eq!(held(&counter), 0, "no clone of the waker is left");
    assert_eq!(second.wakes(), 0, "the dropped wait passed its wakeup on to the next round");
    next.done();
    assert_eq!(second.wakes(), 1);
    assert_eq!(poll_once(&mut again, &second_waker), Poll::Ready(()));
}

#[test]
fn an_async_wait_waits_for_work_added_before_its_poll() {
    // Level-triggered, like `wait`: woken at zero, but the group refilled before the poll.
    let work = WaitGroup::new();
    let first = work.track();
    let (counter, waker) = counting();
    let mut wait = work.wait_async();
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending);
    first.done();
    let second = work.track();
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut wait, &waker), Poll::Pending, "the new unit is outstanding");
    second.done();
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll_once(&mut wait, &waker), Poll::Ready(()));
}

/// A bare `done` that took a guard's unit, then the guard's drop: one unit marked done twice.
/// It used to pass silently in release builds (and `wait` returned with the item in flight).
#[test]
#[should_panic(expected = "WaitGroup::done: called more times than work was added")]
fn a_guard_dropped_after_a_bare_done_took_its_unit_panics_clearly() {
    let work = WaitGroup::new();
    let pending = work.track();
    work.done(); // takes the guard's unit
    drop(pending);
}

/// The same while the thread already unwinds (a consumer that crashed): no second panic, which
/// would abort the process (it did in debug builds).
#[test]
fn a_guard_dropped_while_unwinding_after_a_bare_done_does_not_abort() {
    let work = WaitGroup::new();
    let pending = work.track();
    work.done();
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _guard = pending;
        panic!("the consumer crashed");
    }));
    let payload = crashed.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"the consumer crashed"));
    assert_eq!(work.pending(), 0);
}
