#![cfg(not(loom))]
//! Regression tests of `ringfence::rate` from its review: quotas too slow to represent, blocked
//! acquirers woken by a rate change or a cancel, reservations beyond the clock's range, and timed
//! acquires that cannot succeed in time.
//!
//! Unlike `tests/rate.rs`, some of these assert upper bounds on real time ("woken well before the
//! old ready time"); the bounds are seconds wide against waits of milliseconds.

use ringfence::rate::{AcquireTimeoutError, ManualClock, Quota, QuotaError, ReserveError, TokenBucket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A quota whose full refill would take longer than 2^62 ns used to be sped up to fit (one
/// token per `Duration::MAX` with a large burst refilled about one token per second); it is
/// rejected instead.
#[test]
fn huge_period_with_large_burst_is_rejected_not_sped_up() {
    assert_eq!(Quota::new(1, Duration::MAX, u32::MAX), Err(QuotaError::RefillTooSlow));
    assert_eq!(TokenBucket::try_new(1, Duration::MAX, u32::MAX).unwrap_err(), QuotaError::RefillTooSlow);
    // The slowest accepted quota with that burst (a full refill in 2^62 ns) refills exactly as
    // asked: one token per 2^30 ns, none before.
    let clock = ManualClock::new();
    let per = Duration::from_nanos((1 << 62) / u64::from(u32::MAX));
    assert_eq!(per, Duration::from_nanos(1 << 30));
    let bucket = TokenBucket::with_clock(Quota::new(1, per, u32::MAX).unwrap(), clock.clone());
    assert_eq!(bucket.quota().interval(), per);
    bucket.try_acquire(u32::MAX).unwrap();
    clock.advance_nanos((1 << 30) - 1);
    assert_eq!(bucket.available(), 0);
    clock.advance_nanos(1);
    assert_eq!(bucket.available(), 1);
}

/// Realistic numbers: 1 token per day with a burst of 100_000 (a full refill is 274 years).
/// Accepted, the interval could only have been shortened; so it is rejected.
#[test]
fn interval_is_never_shorter_than_requested() {
    let day = Duration::from_secs(86_400);
    assert_eq!(Quota::new(1, day, 100_000), Err(QuotaError::RefillTooSlow));
    let q = Quota::new(1, day, 50_000).unwrap(); // 137 years: fits
    assert_eq!(q.interval(), day);
}

/// A blocked acquire used to sleep until the instant computed under the old quota; a set_rate
/// that makes tokens available at once now wakes it.
#[test]
fn set_rate_wakes_a_blocked_acquire() {
    let bucket = Arc::new(TokenBucket::new(1, Duration::from_secs(4), 1));
    bucket.try_acquire(1).unwrap();
    let start = Instant::now();
    let waiter = {
        let bucket = bucket.clone();
        thread::spawn(move || bucket.acquire(1).unwrap())
    };
    thread::sleep(Duration::from_millis(50));
    bucket.set_rate(1000, Duration::from_secs(1), 1).unwrap(); // a token every 1 ms from now
    waiter.join().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "waited {:?} after the rate went to 1000/s",
        start.elapsed()
    );
}

/// The token a cancelled reservation gives back now wakes a sleeping acquirer.
#[test]
fn cancel_wakes_a_blocked_acquire() {
    let bucket = TokenBucket::new(1, Duration::from_secs(2), 1);
    bucket.try_acquire(1).unwrap();
    let r = bucket.reserve(1).unwrap(); // ready at +2 s; an acquire now would be ready at +4 s
    let start = Instant::now();
    thread::scope(|s| {
        let waiter = s.spawn(|| bucket.acquire(1).unwrap());
        thread::sleep(Duration::from_millis(50));
        assert!(r.cancel());
        waiter.join().unwrap();
    });
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "waited {:?}; the token was back at +2 s",
        start.elapsed()
    );
}

/// A reservation due after the last reading the bucket can reach (2^63 ns) could never be used;
/// it is refused with its own error.
#[test]
fn reservation_due_beyond_the_clock_range_is_rejected() {
    let clock = ManualClock::new();
    clock.set(5);
    let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_nanos(1 << 62), 1).unwrap(), clock);
    let mut ready = Vec::new();
    let mut refused = 0;
    for _ in 0..3 {
        match bucket.reserve(1) {
            Ok(r) => ready.push(r.ready_at()), // dropped: its tokens stay taken
            Err(e) => {
                assert_eq!(e, ReserveError::QueueFull);
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 1);
    for &r in &ready {
        assert!(r <= 1 << 63, "accepted a reservation due at {r} > 2^63 = {}", 1u64 << 63);
    }
}

/// A timed acquire whose tokens cannot be ready before the deadline fails at once (like Go's
/// `WaitN`) instead of sleeping until the deadline.
#[test]
fn timed_acquire_that_cannot_succeed_in_time_fails_at_once() {
    let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    bucket.try_acquire(1).unwrap();
    let start = Instant::now();
    assert_eq!(bucket.acquire_timeout(1, Duration::from_secs(60)), Err(AcquireTimeoutError::Timeout));
    assert_eq!(
        bucket.acquire_deadline(1, Instant::now() + Duration::from_secs(60)),
        Err(AcquireTimeoutError::Timeout)
    );
    assert!(start.elapsed() < Duration::from_secs(30), "slept {:?} before failing", start.elapsed());
}

#[test]
fn sliding_window_timed_acquire_that_cannot_succeed_in_time_fails_at_once() {
    use ringfence::rate::{SlidingWindow, TimedOut};
    let window = SlidingWindow::new(1, Duration::from_secs(3600));
    window.try_acquire().unwrap();
    let start = Instant::now();
    assert_eq!(window.acquire_timeout(Duration::from_secs(60)), Err(TimedOut));
    assert_eq!(window.acquire_deadline(Instant::now() + Duration::from_secs(60)), Err(TimedOut));
    assert!(start.elapsed() < Duration::from_secs(30), "slept {:?} before failing", start.elapsed());
    // A room that opens in time is still waited for.
    let short = SlidingWindow::new(1, Duration::from_millis(20));
    short.try_acquire().unwrap();
    assert_eq!(short.acquire_timeout(Duration::from_secs(60)), Ok(()));
}
