//! Time for the rate limiters: the [`Clock`] trait, the real [`MonotonicClock`] (the default
//! [`TscClock`](super::TscClock) is in its own file) and the
//! hand-driven [`ManualClock`].
//!
//! A clock reads monotonic nanoseconds since an origin of its own choosing, as a `u64`
//! (584 years of range). The limiters treat readings above 2^63 ns (292 years) as 2^63: time
//! stops there, which can only make them deny more, never grant more. A request that could
//! only fit past that reading is denied as "never" ([`RateLimited::ready_at`](super::RateLimited::ready_at)
//! is `u64::MAX`): waiting for it watches the limiter (a token bucket's cancelled reservation or
//! new quota), not the clock; a timed wait fails at once and an untimed one waits, parked (a
//! sliding window, which nothing but time frees, then waits for ever).
//!
//! Blocking calls ([`TokenBucket::acquire`](super::TokenBucket::acquire) and friends) know the
//! instant at which they can succeed, so they do not poll: they ask the clock to
//! [`sleep_until`](Clock::sleep_until) that reading. The real clock sleeps; the manual clock
//! parks the thread until another thread [`advance`](ManualClock::advance)s it past the target
//! (so tests never sleep in real time, and a blocking acquire on a manual clock that nobody
//! advances waits forever, or until its real-time deadline).
//!
//! Async acquires ([`TokenBucket::acquire_async`](super::TokenBucket::acquire_async) and
//! friends) cannot block a thread. On a real-time clock ([`Clock::instant_of`]) they sleep on
//! the crate's [timer](crate::timer) until that instant; on a clock that does not run in real
//! time they ask it to wake their task ([`Clock::wake_at`]): the manual clock wakes them at its
//! next advance, exactly as it wakes blocked threads.

use crate::sync::Arc;
use crate::sync::atomic::{AtomicU64, Ordering, fence};
use crate::wait::WaitQueue;
use std::sync::{Mutex, PoisonError};
use std::task::Waker;
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, MonotonicClock};
    ///
    /// let clock = MonotonicClock::new();
    /// let before = clock.now();
    /// std::thread::sleep(std::time::Duration::from_millis(1));
    /// assert!(clock.now() >= before + 1_000_000);
    /// ```
    fn now(&self) -> u64;

    /// Blocks until [`now`](Clock::now) reaches `target`, or until the real-time `deadline`
    /// (if any) passes, whichever comes first. May return early; callers re-check both.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, MonotonicClock};
    /// use std::time::{Duration, Instant};
    ///
    /// let clock = MonotonicClock::new();
    /// clock.sleep_until(clock.now() + 1_000_000, None); // about a millisecond
    ///
    /// // A manual clock nobody advances: the real-time deadline ends the sleep.
    /// let manual = ManualClock::new();
    /// let start = Instant::now();
    /// manual.sleep_until(u64::MAX, Some(start + Duration::from_millis(1)));
    /// assert_eq!(manual.now(), 0);
    /// ```
    fn sleep_until(&self, target: u64, deadline: Option<Instant>);

    /// The real-time instant at which [`now`](Clock::now) will reach `target`, for a clock that
    /// runs in real time; `None` (the default) for one that does not, or when the instant
    /// cannot be represented.
    ///
    /// A blocked [`TokenBucket::acquire`](super::TokenBucket::acquire) on a clock that answers
    /// waits on the bucket itself until that instant, so a
    /// [`set_quota`](super::TokenBucket::set_quota) or a [`cancel`](super::Reservation::cancel)
    /// that makes tokens available earlier wakes it, and a timed acquire whose tokens cannot be
    /// ready before its deadline fails at once. On a clock that answers `None` it waits for the
    /// clock's [`wake_at`](Clock::wake_at) and the bucket's changes together (a
    /// [`ManualClock`]), or, on a clock that cannot wake wakers either, sleeps with
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

    /// For async waits on a clock that does not run in real time: arranges for `waker` to be
    /// woken when [`now`](Clock::now) may have reached `target`, and returns whether it will.
    ///
    /// An async acquire ([`TokenBucket::acquire_async`](super::TokenBucket::acquire_async),
    /// [`SlidingWindow::acquire_async`](super::SlidingWindow::acquire_async)) on a clock whose
    /// [`instant_of`](Clock::instant_of) is `None` calls this after a denial, then reads
    /// [`now`](Clock::now) again and waits only if `target` is still ahead. An implementation
    /// that returns `true` must not lose that wakeup: a change of the reading is either seen by
    /// a `now()` that follows this call, or wakes `waker`. It may wake early or spuriously
    /// (the caller re-checks and calls again), and should keep one entry per waker
    /// ([`Waker::will_wake`]) rather than one per call, since a future calls it on every poll
    /// that finds the target ahead, and a dropped future does not deregister.
    ///
    /// The default returns `false`: the clock cannot. The async acquire then re-polls after the
    /// real-time equivalent of the wait (`target - now()` nanoseconds of real time), which is
    /// right for a clock that runs at real speed and a retry loop for one that does not. A clock
    /// that wraps another should forward this method (and [`instant_of`](Clock::instant_of)),
    /// or its users lose the inner clock's wakeups.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, MonotonicClock};
    /// use std::task::Waker;
    ///
    /// assert!(ManualClock::new().wake_at(5, Waker::noop())); // woken at its next advance
    /// assert!(!MonotonicClock::new().wake_at(5, Waker::noop())); // real time: the timer's job
    /// ```
    fn wake_at(&self, target: u64, waker: &Waker) -> bool {
        let _ = (target, waker);
        false
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

    fn wake_at(&self, target: u64, waker: &Waker) -> bool {
        (**self).wake_at(target, waker)
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

    fn wake_at(&self, target: u64, waker: &Waker) -> bool {
        (**self).wake_at(target, waker)
    }
}

/// The OS's clock: `std::time::Instant` (monotonic), in nanoseconds since the clock was made.
///
/// The limiters' default is [`TscClock`](super::TscClock), which reads the CPU's counter where
/// that is safe and costs a fraction of `Instant::now()` (on the 2-core VM this crate is
/// developed on, 40-60 ns per `Instant::now()`); choose this one to follow the OS's clock
/// exactly (its NTP slewing included).
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, MonotonicClock};
    ///
    /// let clock = MonotonicClock::new();
    /// let (a, b) = (clock.now(), clock.now());
    /// assert!(a <= b); // monotonic, in nanoseconds since `new`
    /// ```
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
/// limiter and another stay with the test. Threads blocked in a limiter's acquire
/// ([`TokenBucket::acquire`](super::TokenBucket::acquire)) and async acquires
/// ([`TokenBucket::acquire_async`](super::TokenBucket::acquire_async)) are woken by every
/// [`advance`](ManualClock::advance) or [`set`](ManualClock::set) ([`Clock::wake_at`]) and
/// re-decide, and by a [`set_quota`](super::TokenBucket::set_quota) or a
/// [`cancel`](super::Reservation::cancel) that may free tokens sooner; never by real time, so
/// a test on a manual clock runs without real sleeps, and an acquire that nobody
/// advances the clock for stays pending. The clock keeps each task's waker until the next
/// advance, which takes them all: a future polled again with another waker (a task that moved)
/// leaves the old one registered too, and it gets one spurious wake at that advance (the one
/// exception, on this test clock, to "only the latest waker is kept"). Its
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
    /// Tasks of async acquires ([`Clock::wake_at`]), one entry per waker: pushed by
    /// `wake_at`, taken and woken all together after every change of `nanos`. A dropped
    /// future's waker stays until then (one spurious wake). A `std` mutex also under loom: not
    /// a hot path, no loom operation runs under it, and the fences in `wake_at` and
    /// `wake_tasks` carry the ordering loom needs (see there).
    tasks: Mutex<Vec<Waker>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock reading 0. Clones share the reading: keep one to drive a limiter built with
    /// another.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let shared = clock.clone();
    /// assert_eq!(clock.now(), 0);
    /// shared.advance_nanos(5);
    /// assert_eq!(clock.now(), 5);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                nanos: AtomicU64::new(0),
                sleepers: WaitQueue::new(),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Moves the clock forward by `by` (saturating at `u64::MAX` nanoseconds) and wakes the
    /// threads sleeping on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let sleeper = {
    ///     let clock = clock.clone();
    ///     std::thread::spawn(move || clock.sleep_until(1_000, None)) // parks until it reads 1 µs
    /// };
    /// clock.advance(Duration::from_micros(1));
    /// sleeper.join().unwrap();
    /// clock.advance(Duration::MAX); // saturates
    /// assert_eq!(clock.now(), u64::MAX);
    /// ```
    pub fn advance(&self, by: Duration) {
        self.advance_nanos(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Moves the clock forward by `nanos` (saturating) and wakes the threads sleeping on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// clock.advance_nanos(250);
    /// clock.advance_nanos(250);
    /// assert_eq!(clock.now(), 500);
    /// ```
    pub fn advance_nanos(&self, nanos: u64) {
        // ORDERING: Relaxed; the reading publishes no other data. Readers that must see this
        // advance are ordered after it by whatever told them it happened (coherence), and the
        // sleepers by the wait queue's own fences in `notify_all`.
        let _ = self
            .inner
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(nanos)));
        self.inner.sleepers.notify_all();
        self.wake_tasks();
    }

    /// Sets the clock to `nanos` if that is later than its reading (a clock never goes back),
    /// and wakes the threads sleeping on it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// clock.set(1_000);
    /// clock.set(10); // earlier: ignored
    /// assert_eq!(clock.now(), 1_000);
    /// ```
    pub fn set(&self, nanos: u64) {
        // ORDERING: Relaxed, as in `advance_nanos`.
        self.inner.nanos.fetch_max(nanos, Ordering::Relaxed);
        self.inner.sleepers.notify_all();
        self.wake_tasks();
    }

    /// Wakes every task registered by [`Clock::wake_at`]; call it after changing `nanos`.
    fn wake_tasks(&self) {
        // ORDERING: the notifier's half of a Dekker handshake with the fence in `wake_at`: our
        // write of `nanos` precedes this fence, the list is read after it. If `wake_at`'s fence
        // comes first in the SeqCst order, its waker was pushed before it and we take it; if
        // ours comes first, the caller's `now()` after `wake_at` sees the write. In a normal
        // build the mutex alone orders the two sides; loom does not see a `std` mutex, so the
        // fences are what make the handshake hold (and visible) there.
        fence(Ordering::SeqCst);
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        // Every task, even past a user's waker that panics (`wait::wake_caught`).
        crate::wait::wake_every(tasks);
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

    /// Always `true`: the task is woken by the next [`advance`](ManualClock::advance) or
    /// [`set`](ManualClock::set), whatever its target (the caller re-checks).
    fn wake_at(&self, _target: u64, waker: &Waker) -> bool {
        {
            // Nothing panics under the lock (wakers are woken outside it): a poisoned list is
            // still consistent.
            let mut tasks = self.inner.tasks.lock().unwrap_or_else(PoisonError::into_inner);
            if !tasks.iter().any(|task| task.will_wake(waker)) {
                tasks.push(waker.clone());
            }
        }
        // ORDERING: the waiter's half of the handshake in `wake_tasks`: orders the push before
        // the caller's next `now()`. Without it a loom model of an async acquire woken by an
        // advance (a future parked on `wake_at` vs `advance`) deadlocks: a lost wakeup.
        fence(Ordering::SeqCst);
        true
    }
}
