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

/// Runs `f` on a thread of its own and returns its result, or `None` when it has not returned
/// within `limit` (it is left running: a test that gets `None` fails, and the process ends).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// One poll with a no-op waker.
fn poll_once<F: std::future::Future>(future: F) -> std::task::Poll<F::Output> {
    let mut future = std::pin::pin!(future);
    future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// A bucket on a manual clock that was advanced to `u64::MAX` (by `Duration::MAX`, saturating),
/// drained: every later request is denied as "never".
fn drained_bucket_at_the_end_of_time() -> (ManualClock, TokenBucket<ManualClock>) {
    let clock = ManualClock::new();
    let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone());
    clock.advance(Duration::MAX);
    bucket.try_acquire(1).unwrap();
    (clock, bucket)
}

/// A denial past the clock's range reads as "never", not as "ready in 0 ns" (`u64::MAX - now`
/// with a clock at `u64::MAX`).
#[test]
fn a_denial_at_the_end_of_the_clocks_range_reads_never() {
    let (_clock, bucket) = drained_bucket_at_the_end_of_time();
    let ringfence::rate::TryAcquireError::RateLimited(denied) = bucket.try_acquire(1).unwrap_err() else {
        panic!("one token fits the burst");
    };
    assert_eq!(denied.ready_at(), u64::MAX);
    assert_eq!(denied.wait_time(), Duration::MAX);
    assert_eq!(denied.to_string(), "rate limited, never ready: the clock's range is used up");
}

/// An async acquire that can never be granted used to find its "never" reading reached on a
/// clock at `u64::MAX` and retry inside one poll for ever; it is pending instead, for the
/// bucket and for the window.
#[test]
fn an_async_acquire_that_can_never_be_granted_is_pending() {
    let polled = within(Duration::from_secs(30), || {
        let (_clock, bucket) = drained_bucket_at_the_end_of_time();
        let clock = ManualClock::new();
        let window =
            ringfence::rate::SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap();
        clock.set(u64::MAX);
        window.try_acquire().unwrap();
        (poll_once(bucket.acquire_async(1)).is_pending(), poll_once(window.acquire_async()).is_pending())
    });
    assert_eq!(polled, Some((true, true)), "a poll did not return");
}

/// A pending acquire woken by the advance that takes the clock to `u64::MAX` stays pending, so a
/// timeout around it fires (the poll used to spin, so the timeout never could).
#[test]
fn a_timeout_around_an_acquire_that_became_impossible_fires() {
    let timed_out = within(Duration::from_secs(30), || {
        let clock = ManualClock::new();
        let bucket =
            TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone());
        clock.set(1 << 63); // the last reading the bucket counts: a denial there is not "never"
        bucket.try_acquire(1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let waiting = ringfence::timer::timeout(Duration::from_millis(50), bucket.acquire_async(1));
            let advance = async {
                tokio::task::yield_now().await;
                clock.advance(Duration::MAX); // wakes the future, now for a "never"
            };
            tokio::join!(waiting, advance).0.is_err()
        })
    });
    assert_eq!(timed_out, Some(true), "the timeout did not fire");
}

/// A clock that counts its readings.
struct CountingClock {
    inner: ManualClock,
    reads: Arc<std::sync::atomic::AtomicU64>,
}

impl ringfence::rate::Clock for CountingClock {
    fn now(&self) -> u64 {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.now()
    }
    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        self.inner.sleep_until(target, deadline);
    }
    fn wake_at(&self, target: u64, waker: &std::task::Waker) -> bool {
        self.inner.wake_at(target, waker)
    }
}

/// A timed blocking acquire that can never be granted fails at once: it used to read the clock
/// in a busy loop until its deadline (hundreds of thousands of reads in 100 ms). The window's
/// does the same; an untimed acquire of the bucket waits for a change of it.
#[test]
fn a_timed_acquire_that_can_never_be_granted_fails_at_once() {
    let clock = ManualClock::new();
    let reads = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counting = CountingClock { inner: clock.clone(), reads: reads.clone() };
    let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), counting);
    clock.advance(Duration::MAX);
    bucket.try_acquire(1).unwrap();
    let before = reads.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(bucket.acquire_timeout(1, Duration::from_secs(60)), Err(AcquireTimeoutError::Timeout));
    // The attempt's reading, maybe a second one: not a loop.
    assert!(reads.load(std::sync::atomic::Ordering::Relaxed) - before <= 4);

    let window_clock = ManualClock::new();
    let window =
        ringfence::rate::SlidingWindow::with_clock(1, Duration::from_secs(1), window_clock.clone()).unwrap();
    window_clock.set(u64::MAX);
    window.try_acquire().unwrap();
    let start = Instant::now();
    assert!(window.acquire_timeout(Duration::from_secs(60)).is_err());
    assert!(start.elapsed() < Duration::from_secs(30), "it waited for its deadline");

    // Untimed, the bucket waits for a change: a reservation queued before the clock ran out,
    // cancelled, gives its token back and wakes it.
    let clock = ManualClock::new();
    let bucket =
        Arc::new(TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone()));
    clock.set(1 << 63);
    let first = bucket.reserve(1).unwrap(); // the last token the range holds
    clock.advance(Duration::MAX);
    let Err(ringfence::rate::TryAcquireError::RateLimited(denied)) = bucket.try_acquire(1) else {
        panic!("the range holds no second token");
    };
    assert_eq!(denied.ready_at(), u64::MAX);
    let waiter = {
        let bucket = Arc::clone(&bucket);
        thread::spawn(move || bucket.acquire(1))
    };
    thread::sleep(Duration::from_millis(20)); // let it block (if it does not, the test still holds)
    assert!(first.cancel());
    assert_eq!(within(Duration::from_secs(30), move || waiter.join().unwrap()), Some(Ok(())));
}
