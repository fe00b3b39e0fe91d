//! The sliding window: at most `max_calls` in any window of length `period`, exactly.
//!
//! # Algorithm: `max_calls` chains of timestamps
//!
//! The window keeps `m = max_calls` slots, each holding the tick (quota module docs) of the
//! latest call granted *in that slot*; 0 means "never". A call at tick `t` may take any slot
//! whose value `v` satisfies `v + period <= t`, by one CAS `v -> t`. So the values written into
//! one slot form a chain that grows by at least `period` per grant, and a half-open window of
//! length `period` contains at most one value of each chain: **at most `m` granted calls, by
//! their clock readings, in any window of length `period`**, whatever the interleaving and
//! however stale a reading is. That is the whole safety argument; no slot index or counter has
//! to agree with any other.
//!
//! | field | written by | rule |
//! |---|---|---|
//! | `slots[i]` | a granted call, by CAS from the value it checked | values only grow, by `>= period` |
//! | `hint` | a granted call (Relaxed store) | where the next scan starts; only a guess |
//!
//! A call scans the slots from `hint` and takes the first free one. It is denied only when
//! every slot was seen busy (`v + period > t`); slot values only grow, so each stays busy for
//! that `t`, and then `m` calls lie in `(t - period, ∞)`: granting a call at `t` could put
//! `m + 1` in one window. So a call with a fresh reading (no older than any granted call's)
//! is never denied while the window has room, and the answer tells when the earliest slot
//! frees. A stale reading can be denied although the windows around it had room: a slot whose
//! latest call lies after the reading cannot take an earlier one (values only grow).
//!
//! Cost: the allow path is usually one load and one CAS on the hinted slot (the oldest, when
//! calls arrive in order) plus the hint store; the deny path reads all `m` slots and writes
//! nothing, so it is `O(max_calls)`: for large windows prefer a [`TokenBucket`](super::TokenBucket).

use super::clock::Clock;
use super::error::{QuotaError, RateLimited, TimedOut};
use super::quota::{MAX_SPAN, nanos, tick};
use super::tsc::TscClock;
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::fmt;
use std::time::{Duration, Instant};

/// The most calls a [`SlidingWindow`] accepts (2^20; it keeps 8 bytes per call).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{MAX_WINDOW_CALLS, QuotaError, SlidingWindow};
/// use std::time::Duration;
///
/// assert!(SlidingWindow::try_new(MAX_WINDOW_CALLS, Duration::from_secs(1)).is_ok());
/// let too_many = SlidingWindow::try_new(MAX_WINDOW_CALLS + 1, Duration::from_secs(1));
/// assert!(matches!(too_many, Err(QuotaError::TooManyCalls { max: MAX_WINDOW_CALLS, .. })));
/// ```
pub const MAX_WINDOW_CALLS: u32 = 1 << 20;

/// A lock-free sliding-window rate limiter: at most `max_calls` calls in any window of length
/// `period` (see the file docs for the exact promise).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, SlidingWindow};
/// use std::time::Duration;
///
/// // 5 calls per 2 seconds.
/// let clock = ManualClock::new();
/// let window = SlidingWindow::with_clock(5, Duration::from_secs(2), clock.clone()).unwrap();
/// for _ in 0..5 {
///     window.try_acquire().unwrap();
/// }
/// let denied = window.try_acquire().unwrap_err();
/// assert_eq!(denied.wait_time(), Duration::from_secs(2));
/// clock.advance(Duration::from_secs(2));
/// assert!(window.try_acquire().is_ok());
/// ```
pub struct SlidingWindow<C = TscClock> {
    /// Each slot's latest grant, as a tick; 0 = never. See the file docs.
    slots: Box<[AtomicU64]>,
    /// Where the next scan starts.
    hint: AtomicUsize,
    /// The window length in ns, `1..=MAX_SPAN`.
    period: u64,
    period_as_given: Duration,
    clock: C,
}

impl<C> fmt::Debug for SlidingWindow<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlidingWindow")
            .field("max_calls", &self.slots.len())
            .field("period", &self.period_as_given)
            .finish_non_exhaustive()
    }
}

impl SlidingWindow<TscClock> {
    /// A window allowing `max_calls` calls in any `period`, on the default clock,
    /// [`TscClock`] (the CPU's counter where that is safe, else `Instant`).
    ///
    /// # Panics
    ///
    /// When the window is invalid, with the message `invalid sliding window: ` followed by the
    /// [`QuotaError`]: `max_calls must be at least 1`, `period must be longer than zero` or
    /// `max_calls N exceeds the maximum of 1048576`. [`SlidingWindow::try_new`] returns the
    /// error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let window = ringfence::rate::SlidingWindow::new(5, std::time::Duration::from_secs(2));
    /// assert_eq!(window.max_calls(), 5);
    /// ```
    #[must_use]
    pub fn new(max_calls: u32, period: Duration) -> Self {
        match Self::try_new(max_calls, period) {
            Ok(window) => window,
            Err(e) => panic!("invalid sliding window: {e}"),
        }
    }

    /// Like [`SlidingWindow::new`], returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`QuotaError::ZeroCalls`], [`QuotaError::ZeroPeriod`] or [`QuotaError::TooManyCalls`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{QuotaError, SlidingWindow};
    /// assert_eq!(SlidingWindow::try_new(0, std::time::Duration::from_secs(1)).unwrap_err(), QuotaError::ZeroCalls);
    /// ```
    pub fn try_new(max_calls: u32, period: Duration) -> Result<Self, QuotaError> {
        Self::with_clock(max_calls, period, TscClock::new())
    }
}

impl<C: Clock> SlidingWindow<C> {
    /// A window allowing `max_calls` calls in any `period`, reading time from `clock`.
    ///
    /// A period longer than 2^62 ns (146 years) counts as 2^62 ns.
    ///
    /// # Errors
    ///
    /// As [`SlidingWindow::try_new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, SlidingWindow};
    /// let window = SlidingWindow::with_clock(3, std::time::Duration::from_secs(1), ManualClock::new()).unwrap();
    /// assert_eq!(window.max_calls(), 3);
    /// ```
    pub fn with_clock(max_calls: u32, period: Duration, clock: C) -> Result<Self, QuotaError> {
        if max_calls == 0 {
            return Err(QuotaError::ZeroCalls);
        }
        if period.is_zero() {
            return Err(QuotaError::ZeroPeriod);
        }
        if max_calls > MAX_WINDOW_CALLS {
            return Err(QuotaError::TooManyCalls { requested: max_calls, max: MAX_WINDOW_CALLS });
        }
        Ok(SlidingWindow {
            slots: (0..max_calls).map(|_| AtomicU64::new(0)).collect(),
            hint: AtomicUsize::new(0),
            period: nanos(period).min(MAX_SPAN),
            period_as_given: period,
            clock,
        })
    }

    /// The most calls in any window.
    ///
    /// # Examples
    ///
    /// ```
    /// let window = ringfence::rate::SlidingWindow::new(5, std::time::Duration::from_secs(1));
    /// assert_eq!(window.max_calls(), 5);
    /// ```
    #[must_use]
    pub fn max_calls(&self) -> u32 {
        // At most MAX_WINDOW_CALLS, checked at construction.
        self.slots.len() as u32
    }

    /// The window length, as given at construction.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let window = ringfence::rate::SlidingWindow::new(5, Duration::from_millis(250));
    /// assert_eq!(window.period(), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period_as_given
    }

    /// The window's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, SlidingWindow};
    /// use std::time::Duration;
    ///
    /// let window = SlidingWindow::with_clock(1, Duration::from_secs(1), ManualClock::new()).unwrap();
    /// assert!(window.try_acquire().is_ok());
    /// assert!(window.try_acquire().is_err()); // one call per second
    /// window.clock().advance(Duration::from_secs(1));
    /// assert!(window.try_acquire().is_ok()); // the first call left the window
    /// ```
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Records a call if the window has room now; never blocks.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when `max_calls` calls already lie in the last `period`; it tells when
    /// the oldest of them leaves the window. The deny path writes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let window = ringfence::rate::SlidingWindow::new(1, std::time::Duration::from_secs(60));
    /// assert!(window.try_acquire().is_ok());
    /// assert!(window.try_acquire().unwrap_err().wait_time() > std::time::Duration::from_secs(59));
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<(), RateLimited> {
        self.try_acquire_at(self.clock.now())
    }

    /// [`try_acquire`](SlidingWindow::try_acquire) at a clock reading the caller already holds.
    ///
    /// The call is recorded at `now`, which must be a reading of this window's clock taken
    /// before the call. The promise (file docs) holds for any readings, stale ones included;
    /// a stale reading only means the caller acts later than it was recorded.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](SlidingWindow::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, SlidingWindow};
    /// let clock = ManualClock::new();
    /// let window = SlidingWindow::with_clock(2, std::time::Duration::from_secs(1), clock.clone()).unwrap();
    /// let now = clock.now();
    /// assert_eq!((0..4).filter(|_| window.try_acquire_at(now).is_ok()).count(), 2);
    /// ```
    pub fn try_acquire_at(&self, now: u64) -> Result<(), RateLimited> {
        let t = tick(now);
        let m = self.slots.len();
        // ORDERING: Relaxed; the hint is only where to start looking.
        let mut i = self.hint.load(Ordering::Relaxed) % m;
        let mut earliest = u64::MAX;
        for _ in 0..m {
            let slot = &self.slots[i];
            // ORDERING: Relaxed; a slot publishes no data, and the grant is decided by the CAS
            // below, which compares against the slot's latest value (file docs).
            let mut v = slot.load(Ordering::Relaxed);
            loop {
                let free_at = v.saturating_add(self.period);
                if free_at > t {
                    earliest = earliest.min(free_at);
                    break;
                }
                // ORDERING: Relaxed, as the load above: one location, values only grow.
                match slot.compare_exchange_weak(v, t, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // ORDERING: Relaxed; a hint.
                        self.hint.store(if i + 1 == m { 0 } else { i + 1 }, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(current) => v = current,
                }
            }
            i = if i + 1 == m { 0 } else { i + 1 };
        }
        Err(RateLimited { ready_tick: earliest, now })
    }

    /// Records a call, blocking until the window has room (sleeping on the clock until the
    /// oldest call leaves the window, then retrying; waiters are not queued).
    ///
    /// # Examples
    ///
    /// ```
    /// let window = ringfence::rate::SlidingWindow::new(1, std::time::Duration::from_millis(5));
    /// window.acquire();
    /// window.acquire(); // about 5 ms later
    /// ```
    pub fn acquire(&self) {
        while self.acquire_until(None).is_err() {}
    }

    /// Records a call, blocking at most `timeout` (too large to represent = no deadline).
    ///
    /// On a real-time clock it fails at once when the window cannot have room before the
    /// deadline (the oldest call leaves the window too late), instead of sleeping until then.
    ///
    /// # Errors
    ///
    /// [`TimedOut`] when the window had no room in time; nothing is recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{SlidingWindow, TimedOut};
    /// use std::time::Duration;
    ///
    /// let window = SlidingWindow::new(1, Duration::from_secs(3600));
    /// window.acquire_timeout(Duration::from_millis(10)).unwrap();
    /// assert_eq!(window.acquire_timeout(Duration::from_millis(10)), Err(TimedOut));
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<(), TimedOut> {
        self.acquire_until(crate::wait::deadline_after(timeout))
    }

    /// Records a call, blocking at most until `deadline` (real time); tries once more at the
    /// deadline.
    ///
    /// # Errors
    ///
    /// [`TimedOut`], as [`acquire_timeout`](SlidingWindow::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let window = ringfence::rate::SlidingWindow::new(2, Duration::from_secs(1));
    /// window.acquire_deadline(Instant::now() + Duration::from_secs(5)).unwrap();
    /// ```
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<(), TimedOut> {
        self.acquire_until(Some(deadline))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Result<(), TimedOut> {
        loop {
            let denied = match self.try_acquire() {
                Ok(()) => return Ok(()),
                Err(denied) => denied,
            };
            if denied.is_never() {
                // The clock is at the end of its range (readings past 2^63 ns count as it): time
                // stops there, and nothing gives a call back, so no call will ever fit. A timed
                // acquire fails now; an untimed one waits for ever, parked. (Sleeping on the
                // clock until `u64::MAX` returned at once on a clock that had reached it: a
                // busy loop.)
                if deadline.is_some() {
                    return Err(TimedOut);
                }
                loop {
                    crate::sync::thread::park();
                }
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return Err(TimedOut);
                }
                // Slots only free up as time passes (nothing gives a call back), so on a
                // real-time clock a room that opens after the deadline cannot be had in time:
                // fail now rather than sleep until the deadline (as the token bucket does).
                if self.clock.instant_of(denied.ready_at()).is_some_and(|ready| ready > deadline) {
                    return Err(TimedOut);
                }
            }
            self.clock.sleep_until(denied.ready_at(), deadline);
        }
    }
}
