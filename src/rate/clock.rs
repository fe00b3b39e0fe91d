//! Time for the rate limiters: the [`Clock`] trait, the real [`MonotonicClock`] and the
//! hand-driven [`ManualClock`].
//!
//! A clock reads monotonic nanoseconds since an origin of its own choosing, as a `u64`
//! (584 years of range). The limiters treat readings above 2^63 ns (292 years) as 2^63: time
//! stops there, which can only make them deny more, never grant more.
//!
//! Blocking calls ([`TokenBucket::acquire`](super::TokenBucket::acquire) and friends) know the
//! instant at which they can succeed, so they do not poll: they ask the clock to
//! [`sleep_until`](Clock::sleep_until) that reading. The real clock sleeps; the manual clock
//! parks the thread until another thread [`advance`](ManualClock::advance)s it past the target
//! (so tests never sleep in real time, and a blocking acquire on a manual clock that nobody
//! advances waits forever, or until its real-time deadline).

use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::wait::WaitQueue;
use std::time::{Duration, Instant};

/// A monotonic source of time for the rate limiters.
///
/// Implement it to drive a limiter from your own notion of time (a simulation, an exchange
/// feed's timestamps). The contract:
///
/// - [`now`](Clock::now) never decreases (readings from different threads may be stale with
///   respect to each other; a stale reading is charged at the instant it names).
/// - [`sleep_until`](Clock::sleep_until) may return early (callers re-check), but should not
///   spin: it is what a blocked acquire does between attempts.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(5));
/// assert_eq!(clock.now(), 5_000_000);
/// clock.sleep_until(1_000, None); // already past: returns at once
/// ```
pub trait Clock {
    /// The current reading: nanoseconds since this clock's origin. Never decreases.
    fn now(&self) -> u64;

    /// Blocks until [`now`](Clock::now) reaches `target`, or until the real-time `deadline`
    /// (if any) passes, whichever comes first. May return early; callers re-check both.
    fn sleep_until(&self, target: u64, deadline: Option<Instant>);

    /// The real-time instant at which [`now`](Clock::now) will reach `target`, for a clock that
    /// runs in real time; `None` (the default) for one that does not, or when the instant
    /// cannot be represented.
    ///
    /// A blocked [`TokenBucket::acquire`](super::TokenBucket::acquire) on a clock that answers
    /// waits on the bucket itself until that instant, so a
    /// [`set_quota`](super::TokenBucket::set_quota) or a [`cancel`](super::Reservation::cancel)
    /// that makes tokens available earlier wakes it, and a timed acquire whose tokens cannot be
    /// ready before its deadline fails at once. On a clock that answers `None` it sleeps with
    /// [`sleep_until`](Clock::sleep_until) and re-decides only when that returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, MonotonicClock};
    /// use std::time::Instant;
    ///
    /// let real = MonotonicClock::new();
    /// assert!(real.instant_of(real.now()).unwrap() <= Instant::now());
    /// assert_eq!(ManualClock::new().instant_of(5), None);
    /// ```
    fn instant_of(&self, target: u64) -> Option<Instant> {
        let _ = target;
        None
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        (**self).sleep_until(target, deadline);
    }

    fn instant_of(&self, target: u64) -> Option<Instant> {
        (**self).instant_of(target)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        (**self).sleep_until(target, deadline);
    }

    fn instant_of(&self, target: u64) -> Option<Instant> {
        (**self).instant_of(target)
    }
}

/// The real clock: `std::time::Instant` (monotonic), in nanoseconds since the clock was made.
///
/// Copying the clock keeps its origin, so copies read the same time.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{Clock, MonotonicClock};
///
/// let clock = MonotonicClock::new();
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl MonotonicClock {
    /// A clock whose origin (reading 0) is now.
    #[must_use]
    pub fn new() -> Self {
        MonotonicClock { origin: Instant::now() }
    }

    /// The `Instant` at which this clock reads `nanos`, or `None` when that instant cannot be
    /// represented (for example `u64::MAX`, "never").
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, MonotonicClock};
    /// use std::time::Instant;
    ///
    /// let clock = MonotonicClock::new();
    /// let at = clock.instant_at(clock.now()).unwrap();
    /// assert!(at <= Instant::now());
    /// ```
    #[must_use]
    pub fn instant_at(&self, nanos: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_nanos(nanos))
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now(&self) -> u64 {
        // 2^64 ns is 584 years: the saturation is unreachable in practice but keeps the
        // conversion total.
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        let wake = match (self.instant_at(target), deadline) {
            (Some(at), Some(deadline)) => at.min(deadline),
            (Some(at), None) => at,
            (None, Some(deadline)) => deadline,
            // "Never" and no deadline: sleep in long naps; the caller re-checks after each.
            (None, None) => Instant::now() + Duration::from_secs(3600),
        };
        let left = wake.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
    }

    fn instant_of(&self, target: u64) -> Option<Instant> {
        self.instant_at(target)
    }
}

/// A clock that moves only when told to: for deterministic tests of code that uses a limiter.
///
/// It starts at 0. Clones share the same time (an `Arc` inside), so one handle can go to the
/// limiter and another stay with the test. Threads blocked in
/// [`sleep_until`](Clock::sleep_until) (for example in
/// [`TokenBucket::acquire`](super::TokenBucket::acquire)) wake when an
/// [`advance`](ManualClock::advance) or [`set`](ManualClock::set) reaches their target; only
/// then do they re-decide, so a [`set_quota`](super::TokenBucket::set_quota) or a
/// [`cancel`](super::Reservation::cancel) that frees tokens earlier does not wake them (it is
/// seen at the next advance, which always wakes them). Its
/// [`instant_of`](Clock::instant_of) is `None`: its time is not real time. Under
/// loom the reading is a loom atomic, so every advance is an event the model checker
/// interleaves.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, Quota, TokenBucket};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
/// let bucket = TokenBucket::with_clock(quota, clock.clone());
/// assert!(bucket.try_acquire(1).is_ok());
/// assert!(bucket.try_acquire(1).is_err());
/// clock.advance(Duration::from_secs(1));
/// assert!(bucket.try_acquire(1).is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    /// The reading. Only ever increases (saturating at `u64::MAX`).
    nanos: AtomicU64,
    /// Threads in `sleep_until`, woken after every change of `nanos`.
    sleepers: WaitQueue,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock reading 0.
    #[must_use]
    pub fn new() -> Self {
        ManualClock { inner: Arc::new(ManualInner { nanos: AtomicU64::new(0), sleepers: WaitQueue::new() }) }
    }

    /// Moves the clock forward by `by` (saturating at `u64::MAX` nanoseconds) and wakes the
    /// threads sleeping on it.
    pub fn advance(&self, by: Duration) {
        self.advance_nanos(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Moves the clock forward by `nanos` (saturating) and wakes the threads sleeping on it.
    pub fn advance_nanos(&self, nanos: u64) {
        // ORDERING: Relaxed; the reading publishes no other data. Readers that must see this
        // advance are ordered after it by whatever told them it happened (coherence), and the
        // sleepers by the wait queue's own fences in `notify_all`.
        let _ = self
            .inner
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(nanos)));
        self.inner.sleepers.notify_all();
    }

    /// Sets the clock to `nanos` if that is later than its reading (a clock never goes back),
    /// and wakes the threads sleeping on it.
    pub fn set(&self, nanos: u64) {
        // ORDERING: Relaxed, as in `advance_nanos`.
        self.inner.nanos.fetch_max(nanos, Ordering::Relaxed);
        self.inner.sleepers.notify_all();
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        // ORDERING: Relaxed; see `advance_nanos`. A stale reading is an earlier instant, which
        // the limiters handle (it is charged at the instant it names).
        self.inner.nanos.load(Ordering::Relaxed)
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        let _ = self.inner.sleepers.wait_until(deadline, || (self.now() >= target).then_some(()));
    }
}
