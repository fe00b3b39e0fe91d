//! The rate limiters' error types.
//!
//! `Display` is lowercase without a final period; every type implements `std::error::Error`.

use std::fmt;
use std::time::Duration;

/// Why a quota (of a [`TokenBucket`](super::TokenBucket)) or a window (of a
/// [`SlidingWindow`](super::SlidingWindow)) was rejected.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{MAX_WINDOW_CALLS, Quota, QuotaError, SlidingWindow};
/// use std::time::Duration;
///
/// let err = Quota::new(0, Duration::from_secs(1), 5).unwrap_err();
/// assert_eq!(err, QuotaError::ZeroRate);
/// assert_eq!(err.to_string(), "rate must be at least 1");
/// let err = SlidingWindow::try_new(MAX_WINDOW_CALLS + 1, Duration::from_secs(1)).unwrap_err();
/// assert_eq!(err, QuotaError::TooManyCalls { requested: MAX_WINDOW_CALLS + 1, max: MAX_WINDOW_CALLS });
/// assert_eq!(err.to_string(), "max_calls 1048577 exceeds the maximum of 1048576");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaError {
    /// A rate of zero tokens per period was asked for.
    ZeroRate,
    /// A burst (bucket capacity) of zero was asked for.
    ZeroBurst,
    /// A period of zero was asked for.
    ZeroPeriod,
    /// A full refill (`burst * per / rate`) would take longer than 2^62 ns (146 years). Such a
    /// quota is rejected rather than refilled faster than asked; for "never refills", make
    /// a full refill take 2^62 ns.
    RefillTooSlow,
    /// A sliding window of zero calls was asked for.
    ZeroCalls,
    /// A sliding window of more than [`MAX_WINDOW_CALLS`](super::MAX_WINDOW_CALLS) calls was
    /// asked for (it keeps one timestamp per call).
    TooManyCalls {
        /// The number of calls that was asked for.
        requested: u32,
        /// The largest number of calls a window accepts.
        max: u32,
    },
}

impl fmt::Display for QuotaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaError::ZeroRate => f.write_str("rate must be at least 1"),
            QuotaError::ZeroBurst => f.write_str("burst must be at least 1"),
            QuotaError::ZeroPeriod => f.write_str("period must be longer than zero"),
            QuotaError::RefillTooSlow => {
                f.write_str("a full refill (burst * per / rate) would take longer than 2^62 ns (146 years)")
            }
            QuotaError::ZeroCalls => f.write_str("max_calls must be at least 1"),
            QuotaError::TooManyCalls { requested, max } => {
                write!(f, "max_calls {requested} exceeds the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for QuotaError {}

/// More tokens were asked for than the bucket can ever hold: the request can never succeed, so
/// it fails at once instead of waiting forever.
///
/// # Examples
///
/// ```
/// use ringfence::rate::TokenBucket;
/// use std::time::Duration;
///
/// let bucket = TokenBucket::new(10, Duration::from_secs(1), 5);
/// let err = bucket.acquire(6).unwrap_err(); // at once: waiting could never help
/// assert_eq!((err.requested(), err.burst()), (6, 5));
/// assert_eq!(err.to_string(), "6 tokens requested but the bucket holds at most 5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsufficientCapacity {
    pub(crate) requested: u32,
    pub(crate) burst: u32,
}

impl InsufficientCapacity {
    /// The number of tokens that was asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(10, std::time::Duration::from_secs(1), 5);
    /// assert_eq!(bucket.acquire(8).unwrap_err().requested(), 8);
    /// ```
    #[must_use]
    pub fn requested(&self) -> u32 {
        self.requested
    }

    /// The bucket's capacity (its burst) when the request was decided.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let bucket = ringfence::rate::TokenBucket::new(10, Duration::from_secs(1), 5);
    /// bucket.set_rate(10, Duration::from_secs(1), 2).unwrap();
    /// assert_eq!(bucket.acquire(3).unwrap_err().burst(), 2); // the quota in force, not the first
    /// ```
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

impl fmt::Display for InsufficientCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} tokens requested but the bucket holds at most {}", self.requested, self.burst)
    }
}

impl std::error::Error for InsufficientCapacity {}

/// The request was denied for now; it tells when it can be granted.
///
/// Times are readings of the limiter's [`Clock`](super::Clock) in nanoseconds.
/// `ready_at() == u64::MAX` means "never" (the limiter's clock would have to run past its range).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, SlidingWindow};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let window = SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap();
/// window.try_acquire().unwrap();
/// clock.advance(Duration::from_millis(400));
/// let denied = window.try_acquire().unwrap_err();
/// assert_eq!((denied.decided_at(), denied.ready_at()), (400_000_000, 1_000_000_000));
/// assert_eq!(denied.wait_time(), Duration::from_millis(600));
/// assert_eq!(denied.to_string(), "rate limited, ready in 600ms");
/// ```
#[derive(Clone, Copy)]
pub struct RateLimited {
    /// When the request would be granted, as a *tick* (a reading plus the limiters' bias,
    /// `quota.rs`): turned into a reading only when asked for. A denial is the hot path of a
    /// limiter under load, and most callers never ask (callgrind: the conversion was 9 of the
    /// 69 instructions of a denied `try_acquire` on a manual clock).
    pub(crate) ready_tick: u64,
    pub(crate) now: u64,
}

impl RateLimited {
    /// The clock reading (nanoseconds) from which the same request would be granted, if
    /// nothing else takes tokens in between; `u64::MAX` for "never": the request could only fit
    /// past the last reading the limiters count (2^63 ns, 292 years: readings past it count as
    /// it, so time stops there), and nothing but a cancelled
    /// [reservation](super::TokenBucket::reserve) or a [new quota](super::TokenBucket::set_quota)
    /// can change that.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, SlidingWindow};
    ///
    /// let clock = ManualClock::new();
    /// let window = SlidingWindow::with_clock(1, std::time::Duration::from_secs(1), clock.clone()).unwrap();
    /// window.try_acquire().unwrap();
    /// let denied = window.try_acquire().unwrap_err();
    /// clock.set(denied.ready_at() - 1);
    /// assert!(window.try_acquire().is_err()); // not a nanosecond early
    /// clock.set(denied.ready_at());
    /// assert!(window.try_acquire().is_ok());
    /// ```
    #[must_use]
    #[inline]
    pub fn ready_at(&self) -> u64 {
        super::quota::reading(self.ready_tick)
    }

    /// The clock reading at which the request was decided.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, SlidingWindow};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let window = SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap();
    /// window.try_acquire().unwrap();
    /// clock.advance(Duration::from_millis(300));
    /// assert_eq!(window.try_acquire().unwrap_err().decided_at(), 300_000_000);
    /// assert_eq!(window.try_acquire_at(500).unwrap_err().decided_at(), 500); // the reading given
    /// ```
    #[must_use]
    pub fn decided_at(&self) -> u64 {
        self.now
    }

    /// How long after the decision the request would be granted: `ready_at() - decided_at()`,
    /// or `Duration::MAX` when it never would be (`ready_at()` is `u64::MAX`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, SlidingWindow};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let window = SlidingWindow::with_clock(2, Duration::from_secs(1), clock.clone()).unwrap();
    /// window.try_acquire().unwrap();
    /// clock.advance(Duration::from_millis(250));
    /// window.try_acquire().unwrap();
    /// let denied = window.try_acquire().unwrap_err();
    /// assert_eq!(denied.wait_time(), Duration::from_millis(750)); // until the oldest call leaves
    /// ```
    #[must_use]
    pub fn wait_time(&self) -> Duration {
        match self.ready_at() {
            // Not `u64::MAX - now`: from a reading near the end of the range that is a few
            // nanoseconds, and "never" must not read as "soon".
            u64::MAX => Duration::MAX,
            ready => Duration::from_nanos(ready.saturating_sub(self.now)),
        }
    }

    /// Whether the request can never be granted as things stand (`ready_at()` is `u64::MAX`).
    #[inline]
    pub(crate) fn is_never(&self) -> bool {
        self.ready_at() == u64::MAX
    }
}

// By the readings, as a caller sees them (every tick past the clock's range reads "never").
impl PartialEq for RateLimited {
    fn eq(&self, other: &Self) -> bool {
        (self.ready_at(), self.now) == (other.ready_at(), other.now)
    }
}

impl Eq for RateLimited {}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited").field("ready_at", &self.ready_at()).field("now", &self.now).finish()
    }
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            // The clock reached the end of its range (or reservations filled it up to there).
            return write!(f, "rate limited, never ready: the clock's range is used up");
        }
        write!(f, "rate limited, ready in {:?}", self.wait_time())
    }
}

impl std::error::Error for RateLimited {}

/// Why [`TokenBucket::try_acquire`](super::TokenBucket::try_acquire) failed.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, Quota, TokenBucket, TryAcquireError};
/// use std::time::Duration;
///
/// let quota = Quota::new(10, Duration::from_secs(1), 2).unwrap();
/// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
/// bucket.try_acquire(2).unwrap();
/// let err = bucket.try_acquire(1).unwrap_err();
/// assert!(matches!(err, TryAcquireError::RateLimited(e) if e.wait_time() == Duration::from_millis(100)));
/// assert_eq!(err.to_string(), "rate limited, ready in 100ms");
/// let err = bucket.try_acquire(3).unwrap_err(); // more than the burst: never
/// assert!(matches!(err, TryAcquireError::InsufficientCapacity(e) if e.burst() == 2));
/// assert_eq!(err.to_string(), "3 tokens requested but the bucket holds at most 2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// Not enough tokens now; the error tells when there will be.
    RateLimited(RateLimited),
    /// More tokens were asked for than the bucket can ever hold.
    InsufficientCapacity(InsufficientCapacity),
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::RateLimited(e) => e.fmt(f),
            TryAcquireError::InsufficientCapacity(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<RateLimited> for TryAcquireError {
    fn from(e: RateLimited) -> Self {
        TryAcquireError::RateLimited(e)
    }
}

impl From<InsufficientCapacity> for TryAcquireError {
    fn from(e: InsufficientCapacity) -> Self {
        TryAcquireError::InsufficientCapacity(e)
    }
}

/// Why [`TokenBucket::reserve`](super::TokenBucket::reserve) failed. Nothing was taken.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, Quota, ReserveError, TokenBucket};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone());
/// assert!(matches!(bucket.reserve(2), Err(ReserveError::InsufficientCapacity(e)) if e.requested() == 2));
/// clock.set(1 << 63); // the last reading the bucket can reach (292 years)
/// let _granted = bucket.reserve(1).unwrap(); // the full bucket grants it at once
/// let err = bucket.reserve(1).unwrap_err(); // it would be due a second past the range
/// assert_eq!(err, ReserveError::QueueFull);
/// assert_eq!(err.to_string(), "reservation queue full: the tokens would be due beyond the clock's range");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReserveError {
    /// More tokens were asked for than the bucket can ever hold.
    InsufficientCapacity(InsufficientCapacity),
    /// The reservation would be due after the last clock reading the bucket can reach (2^63 ns,
    /// 292 years): reservations already queued fill the clock's range.
    QueueFull,
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReserveError::InsufficientCapacity(e) => e.fmt(f),
            ReserveError::QueueFull => {
                f.write_str("reservation queue full: the tokens would be due beyond the clock's range")
            }
        }
    }
}

impl std::error::Error for ReserveError {}

impl From<InsufficientCapacity> for ReserveError {
    fn from(e: InsufficientCapacity) -> Self {
        ReserveError::InsufficientCapacity(e)
    }
}

/// Why a timed [`TokenBucket::acquire_timeout`](super::TokenBucket::acquire_timeout) or
/// [`acquire_deadline`](super::TokenBucket::acquire_deadline) failed.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{AcquireTimeoutError, TokenBucket};
/// use std::time::Duration;
///
/// let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
/// bucket.acquire_timeout(1, Duration::from_millis(10)).unwrap();
/// // The next token is an hour away: fails at once rather than after 10 ms.
/// let err = bucket.acquire_timeout(1, Duration::from_millis(10)).unwrap_err();
/// assert_eq!(err, AcquireTimeoutError::Timeout);
/// assert_eq!(err.to_string(), "timed out waiting for tokens");
/// let err = bucket.acquire_timeout(2, Duration::from_secs(60)).unwrap_err(); // at once too
/// assert!(matches!(err, AcquireTimeoutError::InsufficientCapacity(e) if e.requested() == 2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcquireTimeoutError {
    /// The tokens were not granted by the deadline, or (on a real-time clock) could not be
    /// ready before it; nothing was taken.
    Timeout,
    /// More tokens were asked for than the bucket can ever hold.
    InsufficientCapacity(InsufficientCapacity),
}

impl fmt::Display for AcquireTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireTimeoutError::Timeout => f.write_str("timed out waiting for tokens"),
            AcquireTimeoutError::InsufficientCapacity(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AcquireTimeoutError {}

impl From<InsufficientCapacity> for AcquireTimeoutError {
    fn from(e: InsufficientCapacity) -> Self {
        AcquireTimeoutError::InsufficientCapacity(e)
    }
}

/// The deadline of a timed [`SlidingWindow`](super::SlidingWindow) acquire passed first;
/// nothing was taken.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{SlidingWindow, TimedOut};
/// use std::time::Duration;
///
/// let window = SlidingWindow::new(1, Duration::from_secs(3600));
/// window.acquire_timeout(Duration::from_millis(10)).unwrap();
/// // The window has room again in an hour: fails at once rather than after 10 ms.
/// let err = window.acquire_timeout(Duration::from_millis(10)).unwrap_err();
/// assert_eq!(err, TimedOut);
/// assert_eq!(err.to_string(), "timed out waiting for the window");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for the window")
    }
}

impl std::error::Error for TimedOut {}

#[cfg(test)]
mod tests {
    use super::RateLimited;
    use crate::rate::quota::{MAX_TICK, tick};

    /// A denial keeps its tick and converts it when asked: the readings, equality and the debug
    /// output are those of the converted reading ("never" for every tick past the clock's range).
    #[test]
    fn a_denial_reads_its_tick_as_a_clock_reading() {
        let denied = RateLimited { ready_tick: tick(1_500), now: 1_000 };
        assert_eq!(denied.ready_at(), 1_500);
        assert_eq!(denied.wait_time(), std::time::Duration::from_nanos(500));
        assert_eq!(format!("{denied:?}"), "RateLimited { ready_at: 1500, now: 1000 }");
        let never = RateLimited { ready_tick: MAX_TICK + 1, now: 7 };
        let never_either = RateLimited { ready_tick: u64::MAX, now: 7 };
        assert_eq!(never.ready_at(), u64::MAX);
        // "Never" is not "soon", from any reading: not `u64::MAX - now`.
        assert_eq!(never.wait_time(), std::time::Duration::MAX);
        let late = RateLimited { ready_tick: MAX_TICK + 1, now: u64::MAX - 3 };
        assert_eq!(late.wait_time(), std::time::Duration::MAX);
        assert_eq!(late.to_string(), "rate limited, never ready: the clock's range is used up");
        assert_eq!(never, never_either);
        assert_ne!(never, denied);
    }
}
