#![cfg(not(loom))]
//! Integration tests of the rate limiters' async acquires (`acquire_async`, `until_ready`):
//! on tokio (both flavours) and a hand-written `block_on`; on the real clock, a manual clock and
//! a clock that offers neither real-time instants nor wakers; cancel safety (a future dropped
//! while waiting takes nothing and leaves no waker behind) and `select!` loops whose grant
//! counts stay within the rate.
//!
//! Timing assertions are lower bounds only ("not before the refill"), never "within".

mod async_util;
mod common;

use async_util::{Counter, block_on, held, poll_once};
use ringfence::rate::{
    AcquireFuture, Clock, ManualClock, MonotonicClock, Quota, SlidingWindow, TokenBucket, TscClock,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

fn manual_bucket(rate: u32, per: Duration, burst: u32) -> (TokenBucket<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    (TokenBucket::with_clock(Quota::new(rate, per, burst).unwrap(), clock.clone()), clock)
}

// ---------------------------------------------------------------------------------------------
// Token bucket, real clock

#[test]
fn bucket_grants_the_burst_at_once_then_waits_for_the_refill_with_block_on() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, 20 * MS, 2);
        block_on(async {
            let start = Instant::now();
            bucket.acquire_async(2).await.unwrap(); // the burst, at once
            bucket.acquire_async(1).await.unwrap();
            bucket.until_ready().await;
            // Four tokens with two in the burst: two intervals after the first grant.
            assert!(start.elapsed() >= 40 * MS);
        });
    });
}

#[tokio::test(flavor = "current_thread")]
async fn bucket_waits_not_before_the_refill_on_tokio_current_thread() {
    let bucket = TokenBucket::new(1, 15 * MS, 1);
    let start = Instant::now();
    bucket.until_ready().await;
    bucket.until_ready().await;
    bucket.acquire_async(1).await.unwrap();
    assert!(start.elapsed() >= 30 * MS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_sharing_a_bucket_on_tokio_multi_thread_stay_within_the_rate() {
    // 200 per second (one token every 5 ms), burst 4; 8 tasks want 5 tokens each.
    let bucket = Arc::new(TokenBucket::new(200, SEC, 4));
    let start = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let bucket = Arc::clone(&bucket);
            tokio::spawn(async move {
                for _ in 0..5 {
                    bucket.acquire_async(1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 40 tokens with 4 in the burst: at least 36 intervals of 5 ms.
    assert!(start.elapsed() >= 36 * 5 * MS);
}

#[test]
fn tsc_clock_acquire_waits_not_before_the_refill() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::with_clock(Quota::new(1, 15 * MS, 1).unwrap(), TscClock::new());
        let start = Instant::now();
        block_on(bucket.until_ready());
        block_on(bucket.until_ready());
        // The TSC's instants are estimates: allow a little for the conversion.
        assert!(start.elapsed() >= 14 * MS);
    });
}

#[test]
fn more_than_the_burst_resolves_at_once_to_insufficient_capacity() {
    let (bucket, _clock) = manual_bucket(1, SEC, 3);
    bucket.try_acquire(3).unwrap(); // drained: the error must not wait for a refill
    let mut acquire = bucket.acquire_async(4);
    let Poll::Ready(Err(e)) = poll_once(&mut acquire, Waker::noop()) else { panic!("not at once") };
    assert_eq!((e.requested(), e.burst()), (4, 3));
    // Also on the real clock, under a runtime.
    let real = TokenBucket::new(1, SEC, 1);
    assert!(block_on(real.acquire_async(2)).is_err());
}

#[test]
fn zero_tokens_complete_at_once() {
    let (bucket, _clock) = manual_bucket(1, SEC, 1);
    bucket.try_acquire(1).unwrap();
    assert_eq!(poll_once(&mut bucket.acquire_async(0), Waker::noop()), Poll::Ready(Ok(())));
}

#[test]
fn a_dropped_pending_acquire_takes_nothing_and_releases_its_waker_real_clock() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, 40 * MS, 1);
        bucket.try_acquire(1).unwrap();
        let counter = Counter::new();
        let waker = Waker::from(counter.clone());
        let mut acquire = bucket.acquire_async(1);
        assert!(poll_once(&mut acquire, &waker).is_pending());
        assert_eq!(held(&counter), 2, "one waker in the timer, one in the bucket's change queue");
        drop(acquire);
        assert_eq!(held(&counter), 0, "dropping removed the timer entry");
        thread::sleep(80 * MS); // past the refill
        assert_eq!(counter.wakes(), 0, "nothing woke the dropped future's task");
        assert!(bucket.try_acquire(1).is_ok(), "the dropped future took nothing");
    });
}

#[test]
fn a_repoll_with_another_waker_replaces_it() {
    let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    bucket.try_acquire(1).unwrap();
    let (first, second) = (Counter::new(), Counter::new());
    let (first_waker, second_waker) = (Waker::from(first.clone()), Waker::from(second.clone()));
    let mut acquire = bucket.acquire_async(1);
    assert!(poll_once(&mut acquire, &first_waker).is_pending());
    assert!(poll_once(&mut acquire, &first_waker).is_pending());
    assert_eq!(held(&first), 2, "the same waker is not cloned again (timer + change queue)");
    assert!(poll_once(&mut acquire, &second_waker).is_pending());
    assert_eq!((held(&first), held(&second)), (0, 2));
    drop(acquire);
    assert_eq!(held(&second), 0);
}

#[test]
fn set_rate_wakes_a_waiting_acquire_on_the_real_clock() {
    // The next token is an hour away; a faster rate makes it due at once.
    let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    bucket.try_acquire(1).unwrap();
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut acquire = bucket.acquire_async(1);
    assert!(poll_once(&mut acquire, &waker).is_pending());
    bucket.set_rate(1_000_000, SEC, 1).unwrap();
    assert_eq!(counter.wakes(), 1, "woken by the change, not by the timer");
    assert_eq!(poll_once(&mut acquire, &waker), Poll::Ready(Ok(())));
    assert_eq!(held(&counter), 0, "completion removed both registrations");
}

#[test]
fn set_rate_wakes_a_jittered_acquire_on_the_real_clock() {
    // Found by review: a jittered wait slept until the old ready reading plus its jitter.
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
        bucket.try_acquire(1).unwrap();
        let counter = Counter::new();
        let waker = Waker::from(counter.clone());
        let jitter = ringfence::rate::Jitter::up_to(MS);
        let mut acquire = bucket.acquire_async_with_jitter(1, jitter);
        assert!(poll_once(&mut acquire, &waker).is_pending());
        bucket.set_rate(1_000_000, SEC, 1).unwrap();
        assert_eq!(counter.wakes(), 1, "woken by the change");
        assert_eq!(block_on(acquire), Ok(()));
    });
}

#[test]
fn a_cancel_wakes_a_waiting_acquire_on_the_real_clock() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
        let reservation = bucket.reserve(1).unwrap(); // takes the only token
        let waiter = block_on(async {
            let mut acquire = bucket.acquire_async(1);
            // Park it (one poll), then cancel from "another party" and finish it.
            let counter = Counter::new();
            let waker = Waker::from(counter.clone());
            assert!(poll_once(&mut acquire, &waker).is_pending());
            assert!(reservation.cancel());
            assert_eq!(counter.wakes(), 1);
            acquire.await
        });
        assert_eq!(waiter, Ok(()));
        assert_eq!(bucket.available(), 0);
    });
}

#[test]
fn dropping_a_notified_acquire_passes_the_change_on() {
    // Two futures wait; a change wakes both; the first is dropped without re-polling: the
    // second must still be able to complete (it was woken itself, and a wakeup the dropped one
    // held is passed on).
    let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    bucket.try_acquire(1).unwrap();
    let (a, b) = (Counter::new(), Counter::new());
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    let mut first = bucket.acquire_async(1);
    let mut second = bucket.acquire_async(1);
    assert!(poll_once(&mut first, &wa).is_pending());
    assert!(poll_once(&mut second, &wb).is_pending());
    bucket.set_rate(1_000_000, SEC, 1).unwrap();
    assert!(a.wakes() >= 1 && b.wakes() >= 1);
    drop(first);
    assert_eq!(held(&a), 0);
    assert_eq!(poll_once(&mut second, &wb), Poll::Ready(Ok(())));
}

#[test]
#[should_panic(expected = "AcquireFuture polled after completion")]
fn polling_a_completed_acquire_panics() {
    let bucket = TokenBucket::new(1, SEC, 2);
    let mut acquire = bucket.acquire_async(1);
    assert_eq!(poll_once(&mut acquire, Waker::noop()), Poll::Ready(Ok(())));
    let _ = poll_once(&mut acquire, Waker::noop()); // would take a second token
}

#[test]
fn futures_are_send_and_sync() {
    fn check<T: Send + Sync>(_: &T) {}
    let bucket = TokenBucket::new(1, SEC, 1);
    let window = SlidingWindow::new(1, SEC);
    let acquire: AcquireFuture<'_> = bucket.acquire_async(1);
    check(&acquire);
    check(&bucket.until_ready());
    check(&window.acquire_async());
    check(&bucket.reserve(1).unwrap().wait_async());
}

// ---------------------------------------------------------------------------------------------
// Reservation::wait_async

#[test]
fn reservation_wait_async_resolves_once_the_clock_reads_ready_at() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, 20 * MS, 1);
        let first = bucket.reserve(1).unwrap();
        let second = bucket.reserve(1).unwrap();
        assert!(second.ready_at() > first.ready_at());
        block_on(first.wait_async());
        block_on(second.wait_async());
        // Not a timing bound: the future's own promise, read on the bucket's clock.
        assert!(bucket.clock().now() >= second.ready_at());
    });
}

#[tokio::test(flavor = "current_thread")]
async fn reservation_wait_async_on_tokio_waits_not_before_the_refill() {
    let bucket = TokenBucket::new(1, 15 * MS, 1);
    let mut due = Vec::new();
    for _ in 0..3 {
        let reservation = bucket.reserve(1).unwrap();
        reservation.wait_async().await;
        // On the bucket's own clock (the TSC's instants are estimates of `Instant`'s).
        assert!(bucket.clock().now() >= reservation.ready_at());
        due.push(reservation.ready_at());
    }
    assert!(due[2] >= due[0] + 2 * 15_000_000, "three tokens at one per 15 ms: {due:?}");
}

#[test]
fn reservation_wait_async_on_a_manual_clock_waits_for_the_clock() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    bucket.try_acquire(1).unwrap(); // the burst
    let late = bucket.reserve(1).unwrap();
    assert_eq!(late.wait_time(), SEC);
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut wait = late.wait_async();
    assert!(poll_once(&mut wait, &waker).is_pending());
    assert_eq!(held(&counter), 1, "one entry on the clock, none in the timer");
    thread::sleep(20 * MS);
    assert_eq!(counter.wakes(), 0, "real time does not wake it");
    clock.advance(SEC / 2);
    assert_eq!(counter.wakes(), 1);
    assert!(poll_once(&mut wait, &waker).is_pending(), "half way: waits again");
    clock.advance(SEC / 2);
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll_once(&mut wait, &waker), Poll::Ready(()));
    assert_eq!(held(&counter), 0);
    assert_eq!(bucket.available(), 0, "the wait took nothing: the reservation's token is used");
}

#[test]
fn a_dropped_reservation_wait_leaves_the_reservation_cancellable_and_releases_its_waker() {
    common::within(common::WATCHDOG, || {
        let bucket = TokenBucket::new(1, 40 * MS, 1);
        bucket.try_acquire(1).unwrap();
        let reservation = bucket.reserve(1).unwrap();
        let counter = Counter::new();
        let waker = Waker::from(counter.clone());
        let mut wait = reservation.wait_async();
        assert!(poll_once(&mut wait, &waker).is_pending());
        assert_eq!(held(&counter), 1, "one waker in the timer");
        drop(wait);
        assert_eq!(held(&counter), 0, "dropping removed the timer entry");
        thread::sleep(60 * MS); // past the reservation's time
        assert_eq!(counter.wakes(), 0, "nothing woke the dropped future's task");
        // A second wait can be started (now due), and the reservation is still the last grant.
        assert_eq!(poll_once(&mut reservation.wait_async(), Waker::noop()), Poll::Ready(()));
        assert!(reservation.cancel(), "the token goes back");
        assert!(bucket.try_acquire(1).is_ok());
    });
}

#[test]
fn a_zero_token_reservation_wait_is_ready_at_once() {
    let (bucket, _clock) = manual_bucket(1, SEC, 1);
    bucket.try_acquire(1).unwrap();
    let nothing = bucket.reserve(0).unwrap();
    assert_eq!(poll_once(&mut nothing.wait_async(), Waker::noop()), Poll::Ready(()));
}

#[test]
#[should_panic(expected = "ReservationWait polled after completion")]
fn polling_a_completed_reservation_wait_panics() {
    let (bucket, _clock) = manual_bucket(1, SEC, 1);
    let reservation = bucket.reserve(1).unwrap();
    let mut wait = reservation.wait_async();
    assert_eq!(poll_once(&mut wait, Waker::noop()), Poll::Ready(()));
    let _ = poll_once(&mut wait, Waker::noop());
}

// ---------------------------------------------------------------------------------------------
// Token bucket, manual clock: woken by advances, never by real time

#[test]
fn manual_clock_acquire_waits_for_the_clock_not_for_real_time() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    bucket.try_acquire(1).unwrap();
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut acquire = bucket.acquire_async(1);
    assert!(poll_once(&mut acquire, &waker).is_pending());
    assert!(poll_once(&mut acquire, &waker).is_pending());
    assert_eq!(
        held(&counter),
        2,
        "one entry on the clock, one in the bucket's change queue, none in the timer"
    );
    thread::sleep(20 * MS);
    assert_eq!(counter.wakes(), 0, "real time does not wake it");
    clock.advance(SEC / 2); // not enough: woken, re-decides, waits again
    assert_eq!(counter.wakes(), 1);
    assert!(poll_once(&mut acquire, &waker).is_pending());
    clock.advance(SEC / 2);
    assert_eq!(counter.wakes(), 2);
    assert_eq!(poll_once(&mut acquire, &waker), Poll::Ready(Ok(())));
    assert_eq!(bucket.available(), 0);
    assert_eq!(held(&counter), 0);
}

/// A new quota or a cancel that frees a token at the current reading wakes a pending acquire on
/// a manual clock at once (it waits on the bucket's change queue as well as on the clock; it
/// re-decided only at the next advance before the thirty-ninth session).
#[test]
fn manual_clock_acquire_is_woken_by_a_new_quota_and_by_a_cancel() {
    let (bucket, clock) = manual_bucket(1, 3600 * SEC, 1);
    bucket.try_acquire(1).unwrap(); // drained at 0
    clock.advance(SEC);
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut acquire = bucket.acquire_async(1);
    assert!(poll_once(&mut acquire, &waker).is_pending());
    bucket.set_rate(1, SEC, 1).unwrap(); // one per second since the drain: a token now
    assert!(counter.wakes() >= 1, "the new quota wakes it, no advance");
    assert_eq!(poll_once(&mut acquire, &waker), Poll::Ready(Ok(())));

    // A cancel: the token at 2 s reserved, an acquire waiting for 3 s; the cancel frees 2 s.
    clock.advance(SEC); // 2 s
    let reservation = bucket.reserve(1).unwrap();
    let mut acquire = bucket.acquire_async(1);
    let before = counter.wakes();
    assert!(poll_once(&mut acquire, &waker).is_pending());
    assert!(reservation.cancel());
    assert!(counter.wakes() > before, "the cancel wakes it, no advance");
    assert_eq!(poll_once(&mut acquire, &waker), Poll::Ready(Ok(())));
    assert_eq!(clock.now(), 2 * SEC.as_nanos() as u64);
}

#[test]
fn manual_clock_acquire_completes_when_another_thread_advances_the_clock() {
    common::within(common::WATCHDOG, || {
        let (bucket, clock) = manual_bucket(10, SEC, 2);
        let done = Arc::new(AtomicBool::new(false));
        let advancer = {
            let (clock, done) = (clock.clone(), Arc::clone(&done));
            thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    clock.advance(10 * MS);
                    thread::sleep(MS);
                }
            })
        };
        block_on(async {
            for _ in 0..10 {
                bucket.until_ready().await;
            }
        });
        done.store(true, Ordering::SeqCst);
        advancer.join().unwrap();
        // 10 tokens with 2 in the burst: 8 intervals of 100 ms of manual time.
        assert!(clock.now() >= 800_000_000);
    });
}

#[test]
fn dropped_pending_acquires_take_nothing_manual_clock() {
    let (bucket, clock) = manual_bucket(1, SEC, 4);
    bucket.try_acquire(4).unwrap();
    let counters: Vec<_> = (0..10).map(|_| Counter::new()).collect();
    let wakers: Vec<_> = counters.iter().map(|c| Waker::from(c.clone())).collect();
    let mut futures: Vec<_> = (0..10).map(|_| bucket.acquire_async(1)).collect();
    for (future, waker) in futures.iter_mut().zip(&wakers) {
        assert!(poll_once(future, waker).is_pending());
    }
    let kept: Vec<_> = futures.drain(..3).collect();
    drop(futures); // 7 dropped while waiting
    clock.advance(4 * SEC); // the bucket is full again: 4 tokens
    assert!(counters.iter().all(|c| c.wakes() == 1), "every registered task is woken once");
    assert!(counters.iter().all(|c| held(c) <= 1), "and the clock dropped every waker");
    assert!(counters[3..].iter().all(|c| held(c) == 0), "a dropped future left the change queue");
    for (mut future, waker) in kept.into_iter().zip(&wakers) {
        assert_eq!(poll_once(&mut future, waker), Poll::Ready(Ok(())));
    }
    assert!(counters.iter().all(|c| held(c) == 0), "a completed future left the change queue");
    assert_eq!(bucket.available(), 1, "4 - 3: the dropped futures took nothing");
}

// ---------------------------------------------------------------------------------------------
// A clock with neither real-time instants nor wakers: real-time equivalent polling

/// The real clock, hiding `instant_of` (so it looks like a clock of unknown speed).
struct Opaque(MonotonicClock);

impl Clock for Opaque {
    fn now(&self) -> u64 {
        self.0.now()
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        self.0.sleep_until(target, deadline);
    }
}

#[test]
fn a_clock_without_instants_or_wakers_is_polled_after_the_real_time_equivalent() {
    common::within(common::WATCHDOG, || {
        let bucket =
            TokenBucket::with_clock(Quota::new(1, 15 * MS, 1).unwrap(), Opaque(MonotonicClock::new()));
        block_on(bucket.until_ready());
        let start = Instant::now();
        block_on(bucket.until_ready());
        assert!(start.elapsed() >= 10 * MS);
        let window = SlidingWindow::with_clock(1, 15 * MS, Opaque(MonotonicClock::new())).unwrap();
        block_on(window.acquire_async());
        let start = Instant::now();
        block_on(window.until_ready());
        assert!(start.elapsed() >= 10 * MS);
    });
}

// ---------------------------------------------------------------------------------------------
// select! against a shorter tokio sleep, in a loop: grants stay within the rate

/// Tasks loop `select!`ing an acquire against a 1 ms tokio sleep for `run`, counting grants.
/// Every grant's reading lies between the bucket's creation and the end, so the total is at
/// most `burst + elapsed / interval` (plus one for rounding).
async fn select_loop_grants(tasks: usize, run: Duration) {
    const INTERVAL: Duration = Duration::from_millis(5);
    const BURST: u64 = 5;
    let bucket = Arc::new(TokenBucket::new(200, SEC, BURST as u32)); // one token per 5 ms
    let grants = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (bucket, grants) = (Arc::clone(&bucket), Arc::clone(&grants));
            tokio::spawn(async move {
                while start.elapsed() < run {
                    tokio::select! {
                        granted = bucket.acquire_async(1) => {
                            granted.unwrap();
                            grants.fetch_add(1, Ordering::SeqCst);
                        }
                        () = tokio::time::sleep(MS) => {}
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    let granted = grants.load(Ordering::SeqCst);
    // Read before `elapsed`, so its reading lies inside the interval too. With `E` only growing
    // by `T` per grant from at least `first reading - tau`, granted + available <= burst +
    // elapsed / T (see `docs/rate.md`): the tokens handed out plus those left never exceed
    // what the rate allowed.
    let left = u64::from(bucket.available());
    let elapsed = start.elapsed();
    let bound = BURST + (elapsed.as_nanos() / INTERVAL.as_nanos()) as u64 + 1;
    assert!(granted + left <= bound, "{granted} grants + {left} left in {elapsed:?}: over the bound {bound}");
    assert!(granted > 0, "nothing granted in {elapsed:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn select_loop_on_tokio_current_thread_stays_within_the_rate() {
    select_loop_grants(4, 300 * MS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn select_loop_on_tokio_multi_thread_stays_within_the_rate() {
    select_loop_grants(8, 300 * MS).await;
}

#[tokio::test(flavor = "current_thread")]
async fn select_loop_on_a_manual_clock_takes_exactly_what_it_grants() {
    // One token per 10 ms of manual time, burst 3. Each lost race (the 1 ms tokio sleep wins,
    // so the acquire future is dropped while waiting) advances the clock by 3 ms. A token is
    // taken as soon as one is there, so the bucket never sits full after the start, and then
    // `granted + available == burst + whole intervals elapsed`, exactly: a cancelled future that
    // had taken a token would break the equation.
    let (bucket, clock) = manual_bucket(1, 10 * MS, 3);
    let mut granted = 0u64;
    let mut lost = 0u64;
    for _ in 0..300 {
        tokio::select! {
            result = bucket.acquire_async(1) => {
                result.unwrap();
                granted += 1;
            }
            () = tokio::time::sleep(MS) => {
                lost += 1;
                clock.advance(3 * MS);
            }
        }
    }
    let intervals = clock.now() / 10_000_000;
    assert_eq!(clock.now(), lost * 3_000_000);
    assert_eq!(granted + u64::from(bucket.available()), 3 + intervals);
    assert!(lost > 0 && granted > 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_loop_on_a_manual_clock_advanced_by_a_thread_stays_within_the_rate() {
    let (bucket, clock) = manual_bucket(1, 10 * MS, 3);
    let bucket = Arc::new(bucket);
    let grants = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let advancer = {
        let (clock, stop) = (clock.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            let mut steps = 0u64;
            while !stop.load(Ordering::SeqCst) && steps < 2_000 {
                clock.advance(MS);
                steps += 1;
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (bucket, grants) = (Arc::clone(&bucket), Arc::clone(&grants));
            tokio::spawn(async move {
                for _ in 0..100 {
                    tokio::select! {
                        granted = bucket.acquire_async(1) => {
                            granted.unwrap();
                            grants.fetch_add(1, Ordering::SeqCst);
                        }
                        () = tokio::time::sleep(MS) => {}
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    advancer.join().unwrap();
    let granted = grants.load(Ordering::SeqCst);
    let intervals = clock.now() / 10_000_000;
    assert!(
        granted + u64::from(bucket.available()) <= 3 + intervals,
        "{granted} grants, {intervals} intervals"
    );
}

// ---------------------------------------------------------------------------------------------
// Sliding window

#[test]
fn window_waits_for_the_oldest_call_to_leave_with_block_on() {
    common::within(common::WATCHDOG, || {
        let window = SlidingWindow::new(2, 20 * MS);
        block_on(async {
            let start = Instant::now();
            window.acquire_async().await;
            window.acquire_async().await;
            window.until_ready().await; // the first call must have left the window
            assert!(start.elapsed() >= 20 * MS);
        });
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_tasks_on_tokio_multi_thread_stay_within_the_window() {
    let window = Arc::new(SlidingWindow::new(3, 10 * MS));
    let start = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let window = Arc::clone(&window);
            tokio::spawn(async move {
                for _ in 0..2 {
                    window.acquire_async().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 12 calls, 3 per 10 ms: the last batch cannot start before 30 ms.
    assert!(start.elapsed() >= 30 * MS);
}

#[test]
fn window_manual_clock_and_dropped_futures_record_nothing() {
    let clock = ManualClock::new();
    let window = SlidingWindow::with_clock(2, SEC, clock.clone()).unwrap();
    window.try_acquire().unwrap();
    window.try_acquire().unwrap();
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut dropped = window.acquire_async();
    let mut kept = window.until_ready();
    assert!(poll_once(&mut dropped, &waker).is_pending());
    assert!(poll_once(&mut kept, &waker).is_pending());
    assert_eq!(held(&counter), 1, "one entry per waker");
    drop(dropped);
    clock.advance(SEC);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(poll_once(&mut kept, &waker), Poll::Ready(()));
    assert!(window.try_acquire().is_ok(), "the dropped future recorded no call");
    assert!(window.try_acquire().is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn window_select_loop_stays_within_the_window() {
    const PERIOD: Duration = Duration::from_millis(20);
    let window = SlidingWindow::new(2, PERIOD);
    let start = Instant::now();
    let mut granted = 0u64;
    while start.elapsed() < 200 * MS {
        tokio::select! {
            () = window.acquire_async() => granted += 1,
            () = tokio::time::sleep(MS) => {}
        }
    }
    let windows = (start.elapsed().as_nanos() / PERIOD.as_nanos()) as u64 + 1;
    assert!(granted <= 2 * windows, "{granted} calls in {windows} windows");
    assert!(granted > 0);
}

#[test]
#[should_panic(expected = "WindowAcquireFuture polled after completion")]
fn polling_a_completed_window_acquire_panics() {
    let window = SlidingWindow::new(2, SEC);
    let mut call = window.acquire_async();
    assert_eq!(poll_once(&mut call, Waker::noop()), Poll::Ready(()));
    let _ = poll_once(&mut call, Waker::noop());
}

/// Jitter lengthens each wait after a denial, by its own delay (here a fixed one: a spread of
/// zero), and a grant at the first attempt waits nothing.
#[test]
fn jitter_lengthens_the_wait_after_a_denial_only() {
    use ringfence::rate::Jitter;
    use std::future::Future;
    use std::task::{Context, Waker};

    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let bucket = TokenBucket::with_clock(quota, clock.clone());
    let jitter = Jitter::new(Duration::from_millis(500), Duration::ZERO);
    let mut cx = Context::from_waker(Waker::noop());
    let mut first = std::pin::pin!(bucket.acquire_async_with_jitter(1, jitter));
    assert!(first.as_mut().poll(&mut cx).is_ready(), "a grant at once: no jitter");
    let mut second = std::pin::pin!(bucket.until_ready_with_jitter(jitter));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(1)); // the token is ready, the jittered wait is not over
    assert!(second.as_mut().poll(&mut cx).is_pending(), "500 ms of jitter still to wait");
    assert_eq!(bucket.available(), 1, "nothing taken while it waits");
    clock.advance(Duration::from_millis(499));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_millis(1));
    assert!(second.as_mut().poll(&mut cx).is_ready());
    assert_eq!(bucket.available(), 0);
}

/// The window's jitter: a call recorded at once waits nothing; after a denial the wait lasts
/// until the oldest call leaves the window plus the delay, and a future dropped meanwhile
/// records nothing.
#[test]
fn a_windows_jitter_lengthens_the_wait_after_a_denial_only() {
    use ringfence::rate::Jitter;
    use std::future::Future;
    use std::task::{Context, Waker};

    let clock = ManualClock::new();
    let window = SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap();
    let jitter = Jitter::new(Duration::from_millis(200), Duration::ZERO);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(std::pin::pin!(window.acquire_async_with_jitter(jitter)).poll(&mut cx).is_ready());
    {
        let mut dropped = std::pin::pin!(window.until_ready_with_jitter(jitter));
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
    }
    let mut second = std::pin::pin!(window.until_ready_with_jitter(jitter));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(1)); // the window has room, the jittered wait is not over
    assert!(second.as_mut().poll(&mut cx).is_pending(), "200 ms of jitter still to wait");
    clock.advance(Duration::from_millis(199));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_millis(1));
    assert!(second.as_mut().poll(&mut cx).is_ready());
    assert!(window.try_acquire().is_err(), "exactly one call recorded since the refill");
}

/// `limit_stream`: each item, once produced, waits for one token; the end passes through, and
/// a stream dropped while an item waits takes no token.
#[cfg(feature = "futures")]
#[test]
fn a_limited_stream_yields_one_item_per_token() {
    use futures_core::{FusedStream, Stream};
    use std::pin::Pin;
    use std::task::{Context, Waker};

    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let bucket = TokenBucket::with_clock(quota, clock.clone());
    let (tx, rx) = ringfence::channel::bounded(4);
    for n in 0..3 {
        tx.send(n).unwrap();
    }
    drop(tx);
    let mut limited = bucket.limit_stream(rx.into_stream());
    fn next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
    }
    assert_eq!(next(&mut limited), Poll::Ready(Some(0)), "the burst");
    assert_eq!(next(&mut limited), Poll::Pending, "item 1 waits for its token");
    assert_eq!(limited.size_hint().0, 1, "the waiting item");
    clock.advance(Duration::from_secs(1));
    assert_eq!(next(&mut limited), Poll::Ready(Some(1)));
    assert_eq!(next(&mut limited), Poll::Pending);
    assert!(!limited.is_terminated());
    drop(limited); // item 2 waited: dropped with the stream, no token taken
    assert_eq!(bucket.available(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(bucket.available(), 1);

    let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    drop(tx);
    let mut limited = bucket.limit_stream(rx.into_stream());
    assert_eq!(Pin::new(&mut limited).poll_next(&mut Context::from_waker(Waker::noop())), Poll::Ready(None));
    assert!(limited.is_terminated());
    assert_eq!(bucket.available(), 1, "the end takes no token");
}

/// A clock with neither real-time instants nor wakers of its own: a denied future waits on the
/// timer for the time left by the clock's reading. A jittered wait keeps its denial across
/// polls, and used to push its deadline later on every poll, for ever (found by review).
#[test]
fn a_jittered_wait_ends_on_a_clock_without_instants() {
    use ringfence::rate::Jitter;

    let quota = Quota::new(1, Duration::from_millis(20), 1).unwrap();
    let bucket = TokenBucket::with_clock(quota, Opaque(MonotonicClock::new()));
    bucket.try_acquire(1).unwrap();
    let jitter = Jitter::new(Duration::from_millis(1), Duration::from_millis(1));
    let start = Instant::now();
    common::within(common::WATCHDOG, move || block_on(bucket.acquire_async_with_jitter(1, jitter)).unwrap());
    assert!(start.elapsed() >= Duration::from_millis(15));
}

/// A jitter reaching past the end of the clock's range waits until the clock's last reading,
/// not for ever (found by review).
#[test]
fn a_jitter_past_the_clocks_range_ends_at_its_last_reading() {
    use ringfence::rate::Jitter;
    use std::future::Future;
    use std::task::Context;

    let clock = ManualClock::new();
    let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone());
    bucket.try_acquire(1).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut jittered =
        std::pin::pin!(bucket.acquire_async_with_jitter(1, Jitter::new(Duration::MAX, Duration::ZERO)));
    assert!(jittered.as_mut().poll(&mut cx).is_pending());
    clock.set(u64::MAX);
    assert!(matches!(jittered.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
}
