//! loom models of the rate limiters' async acquires (`src/rate/async_acquire.rs`): a task
//! waiting on a `ManualClock` is woken by the advance that makes its tokens available, and by
//! a cancelled reservation that returns them. A lost wakeup is a loom deadlock
//! (`common::block_on` parks on a loom condvar until woken).

use crate::common::{Signal, block_on};
use crate::rate::ChangeWaitClock;
use ringfence::rate::{Clock, ManualClock, Quota, SlidingWindow, TokenBucket};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

#[test]
fn async_acquire_woken_by_advance() {
    loom::model(|| {
        let clock = ManualClock::new();
        let bucket = loom::sync::Arc::new(TokenBucket::with_clock(
            Quota::new(1, Duration::from_secs(1), 1).unwrap(),
            clock.clone(),
        ));
        bucket.try_acquire(1).unwrap();
        let b = bucket.clone();
        let t = loom::thread::spawn(move || {
            block_on(b.acquire_async(1)).unwrap();
        });
        clock.advance(Duration::from_secs(1));
        t.join().unwrap();
        assert_eq!(bucket.available(), 0);
    });
}

#[test]
fn window_async_acquire_woken_by_advance() {
    loom::model(|| {
        let clock = ManualClock::new();
        let w = loom::sync::Arc::new(
            SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap(),
        );
        w.try_acquire().unwrap();
        let w2 = w.clone();
        let t = loom::thread::spawn(move || {
            block_on(w2.acquire_async());
        });
        clock.advance(Duration::from_secs(1));
        t.join().unwrap();
        assert!(w.try_acquire().is_err());
    });
}

#[test]
fn bucket_cancel_wakes_an_async_acquire() {
    loom::model(|| {
        let clock = ManualClock::new();
        let quota = Quota::new(1, Duration::from_nanos(1 << 62), 1).unwrap();
        let bucket = loom::sync::Arc::new(TokenBucket::with_clock(quota, ChangeWaitClock(clock.clone())));
        let _first = bucket.reserve(1).unwrap();
        let _second = bucket.reserve(1).unwrap();
        let last = bucket.reserve(1).unwrap();
        let waiter = {
            let bucket = bucket.clone();
            loom::thread::spawn(move || block_on(bucket.acquire_async(1)).unwrap())
        };
        assert!(last.cancel());
        clock.set(1 << 63);
        waiter.join().unwrap();
    });
}

/// An async acquire on a plain manual clock waits on the bucket's change queue too: a cancel
/// that frees a token at the current reading wakes it with no advance (else: loom deadlock).
#[test]
fn bucket_cancel_wakes_an_async_acquire_on_a_manual_clock() {
    loom::model(|| {
        let clock = ManualClock::new();
        let quota = Quota::new(1, Duration::from_nanos(10), 1).unwrap();
        let bucket = loom::sync::Arc::new(TokenBucket::with_clock(quota, clock.clone()));
        bucket.try_acquire(1).unwrap(); // the next token at 10
        let reservation = bucket.reserve(1).unwrap(); // takes it: the next after at 20
        clock.set(10);
        let waiter = {
            let bucket = bucket.clone();
            loom::thread::spawn(move || block_on(bucket.acquire_async(1)).unwrap())
        };
        assert!(reservation.cancel());
        waiter.join().unwrap();
        assert_eq!(clock.now(), 10, "no advance woke it");
    });
}

#[test]
fn bucket_change_queue_drop_while_registered_and_a_replaced_waker() {
    // The change queue's waker paths: one acquire registered there is dropped (racing the
    // other's registration and the cancel that notifies the queue), the other re-polls with a
    // second waker before it waits. The cancel must still wake the second waker (else: loom
    // deadlock), and the dropped future's entry must not swallow that wakeup.
    loom::model(|| {
        let clock = ManualClock::new();
        let quota = Quota::new(1, Duration::from_nanos(1 << 62), 1).unwrap();
        let bucket = loom::sync::Arc::new(TokenBucket::with_clock(quota, ChangeWaitClock(clock.clone())));
        let _first = bucket.reserve(1).unwrap();
        let _second = bucket.reserve(1).unwrap();
        let last = bucket.reserve(1).unwrap();
        let parked = Signal::new();
        let parked_waker = Waker::from(parked.clone());
        let mut dropped = Box::pin(bucket.acquire_async(1));
        assert!(dropped.as_mut().poll(&mut Context::from_waker(&parked_waker)).is_pending());
        let waiter = {
            let bucket = bucket.clone();
            loom::thread::spawn(move || {
                let first = Signal::new();
                let second = Signal::new();
                let first_waker = Waker::from(first.clone());
                let second_waker = Waker::from(second.clone());
                let mut acquire = pin!(bucket.acquire_async(1));
                if acquire.as_mut().poll(&mut Context::from_waker(&first_waker)).is_ready() {
                    return;
                }
                loop {
                    match acquire.as_mut().poll(&mut Context::from_waker(&second_waker)) {
                        Poll::Ready(result) => break result.unwrap(),
                        Poll::Pending => second.wait(),
                    }
                }
                // (The replaced waker may be woken here: a denial whose ready reading the
                // clock can represent waits on the `ManualClock`, whose list keeps every waker
                // it was given until the clock moves.)
                let _ = first;
            })
        };
        drop(dropped);
        assert!(last.cancel());
        clock.set(1 << 63);
        waiter.join().unwrap();
    });
}

/// The keyed bucket's async acquire waits on the change queue too: a new quota wakes it
/// (`rate::keyed_set_quota_wakes_a_blocked_acquire` for the blocking form).
#[test]
fn keyed_set_quota_wakes_an_async_acquire() {
    loom::model(|| {
        let (keyed, clock) = crate::rate::keyed_never_ready();
        let waiter = {
            let keyed = keyed.clone();
            loom::thread::spawn(move || block_on(keyed.until_ready(&0)))
        };
        keyed.set_quota(Quota::new(1, Duration::from_nanos(1), 1).unwrap());
        clock.advance(Duration::from_nanos(1));
        waiter.join().unwrap();
        assert_eq!(keyed.available(&0), 0);
    });
}
