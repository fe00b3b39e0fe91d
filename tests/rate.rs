#![cfg(not(loom))]
//! Integration tests of `ringfence::rate`: construction errors, exact GCRA arithmetic on a
//! manual clock, reservations, live quota changes, the sliding window's exact promise,
//! blocking calls on both clocks, and multi-threaded grant counts.
//!
//! Timing assertions are lower bounds with slack only (never "finished within").

use ringfence::rate::{
    AcquireTimeoutError, Clock, InsufficientCapacity, MAX_WINDOW_CALLS, ManualClock, MonotonicClock, Quota,
    QuotaError, RateLimited, ReserveError, SlidingWindow, TimedOut, TokenBucket, TryAcquireError, TscClock,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const SEC: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

fn manual_bucket(rate: u32, per: Duration, burst: u32) -> (TokenBucket<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    (TokenBucket::with_clock(Quota::new(rate, per, burst).unwrap(), clock.clone()), clock)
}

fn rate_limited(r: Result<(), TryAcquireError>) -> RateLimited {
    match r {
        Err(TryAcquireError::RateLimited(e)) => e,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

// --- construction -----------------------------------------------------------------------------

#[test]
fn zero_rate_burst_or_period_is_rejected() {
    assert_eq!(Quota::new(0, SEC, 1), Err(QuotaError::ZeroRate));
    assert_eq!(Quota::new(1, Duration::ZERO, 1), Err(QuotaError::ZeroPeriod));
    assert_eq!(Quota::new(1, SEC, 0), Err(QuotaError::ZeroBurst));
    assert_eq!(TokenBucket::try_new(0, SEC, 1).unwrap_err(), QuotaError::ZeroRate);
    assert_eq!(SlidingWindow::try_new(0, SEC).unwrap_err(), QuotaError::ZeroCalls);
    assert_eq!(SlidingWindow::try_new(1, Duration::ZERO).unwrap_err(), QuotaError::ZeroPeriod);
    assert_eq!(
        SlidingWindow::try_new(MAX_WINDOW_CALLS + 1, SEC).unwrap_err(),
        QuotaError::TooManyCalls { requested: MAX_WINDOW_CALLS + 1, max: MAX_WINDOW_CALLS }
    );
}

#[test]
#[should_panic(expected = "invalid token bucket quota: rate must be at least 1")]
fn new_panics_on_zero_rate_with_the_documented_message() {
    let _ = TokenBucket::new(0, SEC, 1);
}

#[test]
#[should_panic(expected = "invalid token bucket quota: burst must be at least 1")]
fn new_panics_on_zero_burst_with_the_documented_message() {
    let _ = TokenBucket::new(1, SEC, 0);
}

#[test]
#[should_panic(expected = "invalid token bucket quota: period must be longer than zero")]
fn new_panics_on_zero_period_with_the_documented_message() {
    let _ = TokenBucket::new(1, Duration::ZERO, 1);
}

#[test]
#[should_panic(expected = "invalid sliding window: max_calls must be at least 1")]
fn window_new_panics_on_zero_calls_with_the_documented_message() {
    let _ = SlidingWindow::new(0, SEC);
}

#[test]
fn error_messages_are_lowercase_without_final_period() {
    let messages = [
        QuotaError::ZeroRate.to_string(),
        QuotaError::TooManyCalls { requested: 9, max: 8 }.to_string(),
        TryAcquireError::InsufficientCapacity(capacity_error()).to_string(),
        AcquireTimeoutError::Timeout.to_string(),
        TimedOut.to_string(),
        QuotaError::RefillTooSlow.to_string(),
        ReserveError::QueueFull.to_string(),
        ReserveError::InsufficientCapacity(capacity_error()).to_string(),
    ];
    for m in &messages {
        assert!(!m.chars().next().unwrap().is_uppercase(), "{m}");
        assert!(!m.ends_with('.'), "{m}");
    }
    assert_eq!(messages[2], "3 tokens requested but the bucket holds at most 2");
    assert_eq!(messages[5], "a full refill (burst * per / rate) would take longer than 2^62 ns (146 years)");
    assert_eq!(messages[6], "reservation queue full: the tokens would be due beyond the clock's range");
    assert_eq!(messages[7], messages[2]);
    let e: Box<dyn std::error::Error> = Box::new(QuotaError::ZeroBurst);
    assert_eq!(e.to_string(), "burst must be at least 1");
}

fn capacity_error() -> InsufficientCapacity {
    let (bucket, _) = manual_bucket(1, SEC, 2);
    match bucket.try_acquire(3) {
        Err(TryAcquireError::InsufficientCapacity(e)) => e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn interval_rounds_up_and_huge_periods_do_not_overflow() {
    assert_eq!(Quota::new(3, SEC, 5).unwrap().interval(), Duration::from_nanos(333_333_334));
    assert_eq!(Quota::new(u32::MAX, Duration::from_nanos(1), 1).unwrap().interval(), Duration::from_nanos(1));
    // The slowest quota accepted: a full refill takes 2^62 ns (146 years), exactly as asked.
    let (bucket, clock) = manual_bucket(1, Duration::from_nanos(1 << 60), 4);
    assert_eq!(bucket.quota().interval(), Duration::from_nanos(1 << 60));
    bucket.try_acquire(4).unwrap();
    clock.advance(Duration::from_secs(3600 * 24 * 365));
    assert!(bucket.try_acquire(1).is_err());
    // Slower ones are rejected: never overflowed, never silently refilled faster than asked.
    assert_eq!(Quota::new(1, Duration::from_nanos((1 << 60) + 1), 4), Err(QuotaError::RefillTooSlow));
    assert_eq!(Quota::new(1, Duration::MAX, 1), Err(QuotaError::RefillTooSlow));
    assert_eq!(Quota::new(u32::MAX, Duration::MAX, u32::MAX), Err(QuotaError::RefillTooSlow));
    // Huge arguments that fit: a period over 34 years, the largest rate and burst.
    let per = Duration::new(1 << 30, 999_999_999);
    let q = Quota::new(u32::MAX, per, u32::MAX).unwrap();
    assert_eq!((q.rate(), q.per(), q.burst()), (u32::MAX, per, u32::MAX));
    assert!(q.interval() * u32::MAX >= per);
}

// --- token bucket arithmetic ---------------------------------------------------------------------

#[test]
fn bucket_starts_full_and_denies_with_the_exact_ready_time() {
    let (bucket, clock) = manual_bucket(3, SEC, 5);
    assert_eq!(bucket.available(), 5);
    bucket.try_acquire(5).unwrap();
    assert_eq!(bucket.available(), 0);
    let denied = rate_limited(bucket.try_acquire(2));
    assert_eq!(denied.ready_at(), 666_666_668);
    assert_eq!(denied.decided_at(), 0);
    assert_eq!(denied.wait_time(), Duration::from_nanos(666_666_668));
    clock.set(666_666_667);
    assert!(bucket.try_acquire(2).is_err(), "one nanosecond early");
    clock.set(666_666_668);
    bucket.try_acquire(2).unwrap();
}

#[test]
fn zero_tokens_always_succeed_and_too_many_fail_at_once() {
    let (bucket, _) = manual_bucket(1, SEC, 2);
    bucket.try_acquire(2).unwrap();
    assert_eq!(bucket.try_acquire(0), Ok(()));
    let e = capacity_error();
    assert_eq!((e.requested(), e.burst()), (3, 2));
    assert_eq!(bucket.acquire(3), Err(InsufficientCapacity::clone(&e)));
    assert_eq!(bucket.acquire_timeout(3, SEC), Err(AcquireTimeoutError::InsufficientCapacity(e)));
    assert_eq!(bucket.reserve(3).unwrap_err(), ReserveError::InsufficientCapacity(e));
}

#[test]
fn refill_never_exceeds_the_burst_after_a_long_idle() {
    let (bucket, clock) = manual_bucket(1, Duration::from_millis(1), 3);
    bucket.try_acquire(3).unwrap();
    clock.advance(Duration::from_secs(1_000_000));
    assert_eq!(bucket.available(), 3);
    clock.set(u64::MAX); // beyond the clock's range: time stops at 2^63 ns, no overflow
    assert_eq!(bucket.available(), 3);
    bucket.try_acquire(3).unwrap();
    assert!(bucket.try_acquire(1).is_err());
}

#[test]
fn try_acquire_at_charges_the_given_reading() {
    let (bucket, clock) = manual_bucket(1, Duration::from_nanos(10), 1);
    clock.set(100);
    bucket.try_acquire_at(1, 100).unwrap();
    // A stale reading cannot take the token that refills at 110.
    assert_eq!(rate_limited(bucket.try_acquire_at(1, 50)).ready_at(), 110);
    clock.set(110);
    bucket.try_acquire(1).unwrap();
}

#[test]
fn reservations_queue_and_cancel_gives_back_only_when_last() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    let a = bucket.reserve(1).unwrap();
    let b = bucket.reserve(1).unwrap();
    let c = bucket.reserve(1).unwrap();
    assert_eq!([a.ready_at(), b.ready_at(), c.ready_at()], [0, 1_000_000_000, 2_000_000_000]);
    assert_eq!(c.wait_time(), 2 * SEC);
    assert_eq!(c.tokens(), 1);
    assert!(!b.cancel(), "c depends on b's slot");
    assert!(c.cancel());
    // b stays taken: the next reservation queues behind it, not into its slot.
    let d = bucket.reserve(1).unwrap();
    assert_eq!(d.ready_at(), 2_000_000_000);
    drop(d); // dropping keeps the tokens
    clock.set(2_000_000_000);
    assert!(bucket.try_acquire(1).is_err());
    clock.set(3_000_000_000);
    bucket.try_acquire(1).unwrap();
    assert!(!a.cancel());
}

#[test]
fn reservation_wait_returns_once_the_manual_clock_reaches_it() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    let bucket = Arc::new(bucket);
    bucket.try_acquire(1).unwrap();
    let waiter = {
        let bucket = bucket.clone();
        thread::spawn(move || {
            let r = bucket.reserve(1).unwrap();
            let ready = r.ready_at();
            r.wait();
            ready
        })
    };
    // Advance in small steps until the waiter is done; it cannot finish before 1 s of clock.
    while !waiter.is_finished() {
        clock.advance(Duration::from_millis(100));
        thread::sleep(Duration::from_millis(1));
    }
    let ready = waiter.join().unwrap();
    assert_eq!(ready, 1_000_000_000);
    assert!(clock.now() >= ready);
}

#[test]
fn reservation_queue_overflow_is_an_error_not_a_panic() {
    // Each reservation pushes the state a full tolerance (about 2^62 ns) further; the clock's
    // range (2^63 ns) ends after a few. Once with a huge burst (the state stays below 2^64: the
    // range check refuses it) and once with a burst of 1 (the state would pass 2^64).
    for (per, burst) in [(Duration::from_nanos(1 << 30), u32::MAX), (Duration::from_nanos(1 << 62), 1)] {
        let (bucket, _) = manual_bucket(1, per, burst);
        let mut kept = Vec::new();
        let mut failed = 0;
        for _ in 0..8 {
            match bucket.reserve(burst) {
                Ok(r) => kept.push(r),
                Err(e) => {
                    assert_eq!(e, ReserveError::QueueFull);
                    failed += 1;
                }
            }
        }
        assert_eq!((kept.len(), failed), (3, 5), "{per:?} x {burst}");
        assert!(kept.iter().all(|r| r.ready_at() <= 1 << 63), "every reservation is reachable");
        assert!(bucket.try_acquire(1).is_err());
        // A denial's ready time past the clock's range reads "never".
        assert_eq!(rate_limited(bucket.try_acquire(burst)).ready_at(), u64::MAX);
    }
}

// --- set_rate -----------------------------------------------------------------------------------

#[test]
fn set_rate_keeps_a_drained_bucket_drained_and_refills_at_the_new_rate() {
    let (bucket, clock) = manual_bucket(1, SEC, 10);
    bucket.try_acquire(10).unwrap();
    bucket.set_rate(1000, SEC, 10).unwrap();
    assert_eq!(bucket.available(), 0, "no free tokens from a rate change");
    clock.advance(Duration::from_millis(3));
    assert_eq!(bucket.available(), 3);
    assert_eq!(bucket.quota(), Quota::new(1000, SEC, 10).unwrap());
}

#[test]
fn set_rate_keeps_a_full_bucket_full_and_a_cut_never_adds_tokens() {
    let (bucket, clock) = manual_bucket(10, SEC, 10);
    clock.advance(Duration::from_secs(60));
    bucket.set_rate(1, SEC, 20).unwrap();
    assert_eq!(bucket.available(), 20, "idle for longer than the new tolerance: full");
    bucket.try_acquire(20).unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(bucket.available(), 5);
    bucket.set_rate(1, Duration::from_secs(2), 20).unwrap(); // halve the rate
    assert_eq!(bucket.available(), 2, "5 s of refill are worth 2 tokens at the new rate");
    assert!(bucket.set_rate(1, SEC, 0).is_err());
    assert_eq!(bucket.quota().burst(), 20, "a rejected quota leaves the bucket unchanged");
}

#[test]
fn cancel_after_set_rate_gives_back_exactly_its_tokens() {
    let (bucket, _) = manual_bucket(1, SEC, 4);
    let r = bucket.reserve(3).unwrap();
    bucket.set_rate(2, SEC, 4).unwrap();
    // 1 s of refill since the bucket was drained, counted at the new rate.
    assert_eq!(bucket.available(), 2);
    assert!(r.cancel());
    assert_eq!(bucket.available(), 4);
}

// --- sliding window -----------------------------------------------------------------------------

#[test]
fn window_allows_max_calls_per_period_exactly() {
    let clock = ManualClock::new();
    let window = SlidingWindow::with_clock(5, Duration::from_secs(2), clock.clone()).unwrap();
    for _ in 0..5 {
        window.try_acquire().unwrap();
        clock.advance(Duration::from_millis(100));
    }
    // Calls at 0, 100, ..., 400 ms; now 500 ms: the first leaves the window at 2000 ms.
    let denied = window.try_acquire().unwrap_err();
    assert_eq!(denied.ready_at(), 2_000_000_000);
    assert_eq!(denied.wait_time(), Duration::from_millis(1500));
    clock.set(1_999_999_999);
    assert!(window.try_acquire().is_err());
    clock.set(2_000_000_000);
    window.try_acquire().unwrap();
    assert_eq!(window.try_acquire().unwrap_err().ready_at(), 2_100_000_000);
    assert_eq!((window.max_calls(), window.period()), (5, Duration::from_secs(2)));
}

#[test]
fn window_promise_holds_for_stale_and_out_of_order_readings() {
    let clock = ManualClock::new();
    let period = 100;
    let window = SlidingWindow::with_clock(3, Duration::from_nanos(period), clock).unwrap();
    // A scripted mix of readings, some going backwards.
    let readings = [0, 50, 10, 99, 100, 20, 150, 101, 199, 200, 120, 250, 300, 299, 301, 400, 350, 500];
    let granted: Vec<u64> = readings.iter().copied().filter(|&t| window.try_acquire_at(t).is_ok()).collect();
    for &start in &granted {
        let inside = granted.iter().filter(|&&t| t >= start && t < start + period).count();
        assert!(inside <= 3, "{inside} calls in [{start}, {}): {granted:?}", start + period);
    }
    assert!(granted.len() >= 6, "{granted:?}");
}

#[test]
fn window_with_huge_period_does_not_overflow() {
    let clock = ManualClock::new();
    let window = SlidingWindow::with_clock(1, Duration::MAX, clock.clone()).unwrap();
    window.try_acquire().unwrap();
    clock.advance(Duration::from_secs(100 * 365 * 24 * 3600));
    assert!(window.try_acquire().is_err());
    // Periods are capped at 2^62 ns (146 years), readings at 2^63 ns: no overflow at the end.
    clock.set(u64::MAX);
    assert!(window.try_acquire().is_ok());
}

// --- blocking, real clock (lower bounds only) --------------------------------------------------

#[test]
fn blocking_acquire_waits_for_the_refill() {
    let bucket = TokenBucket::new(1, Duration::from_millis(30), 1);
    bucket.acquire(1).unwrap();
    let start = Instant::now();
    bucket.acquire(1).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20), "{:?}", start.elapsed());
}

#[test]
fn acquire_timeout_gives_up_and_takes_nothing() {
    let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    bucket.acquire(1).unwrap();
    // The next token is an hour away: it cannot come in time, so both fail (at once).
    assert_eq!(bucket.acquire_timeout(1, Duration::from_millis(20)), Err(AcquireTimeoutError::Timeout));
    assert_eq!(bucket.acquire_deadline(1, Instant::now()), Err(AcquireTimeoutError::Timeout));
    assert_eq!(bucket.available(), 0);
    // A token that comes before the deadline is waited for.
    let slow = TokenBucket::new(1, Duration::from_millis(30), 1);
    slow.acquire(1).unwrap();
    let start = Instant::now();
    slow.acquire_timeout(1, Duration::from_secs(60)).unwrap();
    assert!(start.elapsed() >= Duration::from_millis(20), "{:?}", start.elapsed());
    // A timeout too large for an Instant means no deadline, not a panic.
    let fast = TokenBucket::new(1, Duration::from_millis(1), 1);
    fast.acquire_timeout(1, Duration::MAX).unwrap();
    fast.acquire_timeout(1, Duration::MAX).unwrap();
}

#[test]
fn window_blocking_acquire_waits_for_the_slide() {
    let window = SlidingWindow::new(2, Duration::from_millis(30));
    let start = Instant::now();
    window.acquire();
    window.acquire();
    window.acquire();
    assert!(start.elapsed() >= Duration::from_millis(20), "{:?}", start.elapsed());
    assert_eq!(SlidingWindow::new(1, Duration::from_secs(3600)).acquire_timeout(Duration::ZERO), Ok(()));
    let full = SlidingWindow::new(1, Duration::from_secs(3600));
    full.acquire();
    assert_eq!(full.acquire_timeout(Duration::from_millis(10)), Err(TimedOut));
}

#[test]
fn blocking_acquire_on_a_manual_clock_wakes_when_advanced() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    let bucket = Arc::new(bucket);
    bucket.try_acquire(1).unwrap();
    let waiter = {
        let bucket = bucket.clone();
        thread::spawn(move || bucket.acquire(1).unwrap())
    };
    thread::sleep(Duration::from_millis(10));
    assert!(!waiter.is_finished(), "the manual clock has not moved");
    clock.advance(SEC);
    waiter.join().unwrap();
    // With a manual clock and a real deadline, the deadline still bounds the wait.
    assert_eq!(bucket.acquire_timeout(1, Duration::from_millis(10)), Err(AcquireTimeoutError::Timeout));
}

/// Runs `acquire` on a thread and returns a receiver of its outcome.
fn acquire_on_a_thread<T: Send + 'static>(
    acquire: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (done_tx, done) = std::sync::mpsc::channel();
    thread::spawn(move || done_tx.send(acquire()).unwrap());
    done
}

/// A thread blocked on a manual clock re-decides when a new quota frees a token at the current
/// reading, without an advance (it slept until an advance reached its computed reading before
/// the thirty-ninth session).
#[test]
fn a_thread_blocked_on_a_manual_clock_re_decides_at_a_new_quota() {
    let (bucket, clock) = manual_bucket(1, 3600 * SEC, 1);
    let bucket = Arc::new(bucket);
    bucket.try_acquire(1).unwrap(); // drained at 0: the next token at one hour
    clock.advance(SEC);
    let done = acquire_on_a_thread({
        let bucket = bucket.clone();
        move || bucket.acquire(1)
    });
    thread::sleep(Duration::from_millis(20));
    assert!(done.try_recv().is_err(), "ready at one hour: still blocked");
    // One per second since it was drained: a token at the current reading.
    bucket.set_rate(1, SEC, 1).unwrap();
    let outcome = done.recv_timeout(Duration::from_secs(60)).expect("woken by the new quota, no advance");
    assert_eq!(outcome, Ok(()));
    assert_eq!(clock.now(), SEC.as_nanos() as u64);
}

/// The same for a cancelled reservation whose token is due at the current reading.
#[test]
fn a_thread_blocked_on_a_manual_clock_re_decides_at_a_cancel() {
    let (bucket, clock) = manual_bucket(1, SEC, 1);
    let bucket = Arc::new(bucket);
    bucket.try_acquire(1).unwrap(); // the next token at 1 s
    let reservation = bucket.reserve(1).unwrap(); // takes it: the next after at 2 s
    clock.set(SEC.as_nanos() as u64);
    let done = acquire_on_a_thread({
        let bucket = bucket.clone();
        move || bucket.acquire_timeout(1, Duration::from_secs(3600))
    });
    thread::sleep(Duration::from_millis(20));
    assert!(done.try_recv().is_err(), "ready at 2 s: still blocked");
    assert!(reservation.cancel(), "the token at 1 s comes back");
    let outcome = done.recv_timeout(Duration::from_secs(60)).expect("woken by the cancel, no advance");
    assert_eq!(outcome, Ok(()));
    assert_eq!(clock.now(), SEC.as_nanos() as u64);
}

// --- threads -------------------------------------------------------------------------------------

#[test]
fn threads_at_one_instant_share_exactly_the_burst() {
    const THREADS: usize = 4;
    const BURST: u32 = 1000;
    let (bucket, _) = manual_bucket(1, SEC, BURST);
    let bucket = Arc::new(bucket);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (bucket, barrier) = (bucket.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                (0..BURST).filter(|_| bucket.try_acquire(1).is_ok()).count()
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, BURST as usize);
}

#[test]
fn threads_on_the_real_clock_never_exceed_burst_plus_rate_times_elapsed() {
    const THREADS: usize = 3;
    let interval = Duration::from_micros(50);
    let bucket = Arc::new(TokenBucket::new(1, interval, 20));
    let window = Arc::new(SlidingWindow::new(20, Duration::from_millis(1)));
    let granted = Arc::new(AtomicU64::new(0));
    let window_granted = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (bucket, window) = (bucket.clone(), window.clone());
            let (granted, window_granted) = (granted.clone(), window_granted.clone());
            thread::spawn(move || {
                let stop = Instant::now() + Duration::from_millis(50);
                while Instant::now() < stop {
                    if bucket.try_acquire(1).is_ok() {
                        granted.fetch_add(1, Ordering::Relaxed);
                    }
                    if window.try_acquire().is_ok() {
                        window_granted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // The elapsed time measured outside the threads bounds every grant's reading.
    let elapsed = start.elapsed();
    let bucket_bound = 20 + (elapsed.as_nanos() / interval.as_nanos()) as u64;
    assert!(granted.load(Ordering::Relaxed) <= bucket_bound);
    let window_bound = 20 * (elapsed.as_nanos() / Duration::from_millis(1).as_nanos() + 1) as u64;
    assert!(window_granted.load(Ordering::Relaxed) <= window_bound);
}

// --- the default clock ---------------------------------------------------------------------------

/// `TscClock` (the default) across its calibration (the first 5 ms after the first clock in
/// the process read `Instant`, then the counter): never steps back by more than the documented
/// tens of nanoseconds, and runs at real speed. Every clock span is checked against `Instant`
/// spans read around it, so preemption can only widen the bounds, never fail the test.
#[test]
fn the_default_clock_is_monotonic_across_its_calibration_and_runs_at_real_speed() {
    let clock = TscClock::new();
    let started = Instant::now();
    let first = clock.now();
    let mut last = first;
    let mut readings = 0u64;
    while started.elapsed() < 20 * MS {
        let now = clock.now();
        assert!(now + 1_000 >= last, "the clock stepped back from {last} to {now} ns");
        last = last.max(now);
        readings += 1;
    }
    assert!(readings > 100);
    // Real speed: a clock span lies within the `Instant` spans around it, give or take 1%
    // (the calibration is good to about 10 ppm) and 2 µs (the step and the readings' jitter).
    for _ in 0..5 {
        let outer_start = Instant::now();
        let a = clock.now();
        let inner_start = Instant::now();
        thread::sleep(2 * MS);
        let inner = inner_start.elapsed();
        let b = clock.now();
        let outer = outer_start.elapsed();
        let span = b.saturating_sub(a);
        let (low, high) = (inner.as_nanos() as u64, outer.as_nanos() as u64);
        assert!(span + span / 100 + 2_000 >= low, "clock span {span} ns < Instant span {low} ns");
        assert!(span <= high + high / 100 + 2_000, "clock span {span} ns > Instant span {high} ns");
    }
    // The limiters' constructors use it.
    let bucket: TokenBucket<TscClock> = TokenBucket::new(1, SEC, 1);
    assert!(bucket.try_acquire(1).is_ok());
    assert!(bucket.try_acquire(1).is_err());
    let window: SlidingWindow<TscClock> = SlidingWindow::new(1, SEC);
    assert!(window.try_acquire().is_ok());
    println!("counter in use: {}", clock.is_tsc());
}

// --- types ---------------------------------------------------------------------------------------

#[test]
fn limiters_are_send_sync_and_clocks_compose() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TokenBucket>();
    send_sync::<TokenBucket<ManualClock>>();
    send_sync::<SlidingWindow>();
    send_sync::<ManualClock>();
    let shared = Arc::new(MonotonicClock::new());
    let bucket = TokenBucket::with_clock(Quota::new(1, SEC, 1).unwrap(), shared.clone());
    bucket.try_acquire(1).unwrap();
    let manual = ManualClock::new();
    let by_ref = TokenBucket::with_clock(Quota::new(1, SEC, 1).unwrap(), &manual);
    by_ref.try_acquire(1).unwrap();
    manual.advance(SEC);
    by_ref.try_acquire(1).unwrap();
    assert!(format!("{by_ref:?}").contains("TokenBucket"));
}
