//! What the pool's rate-limited submission needs from a limiter: wait for one call's turn.

use super::{Clock, SlidingWindow, TokenBucket};

/// A rate limiter that can admit one call, blocking until it may: implemented by
/// [`TokenBucket`] (one token) and [`SlidingWindow`] (one call in the window), so that
/// [`Limits::rate`](crate::pool::Limits::rate) takes either.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{Limiter, SlidingWindow, TokenBucket};
/// use std::time::Duration;
///
/// fn call_three_times(limiter: &impl Limiter) -> u32 {
///     (0..3).map(|_| { limiter.acquire_one(); 1 }).sum()
/// }
/// assert_eq!(call_three_times(&TokenBucket::new(1000, Duration::from_secs(1), 10)), 3);
/// assert_eq!(call_three_times(&SlidingWindow::new(10, Duration::from_secs(1))), 3);
/// ```
pub trait Limiter {
    /// Blocks until one call is allowed, and counts it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Limiter, ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 2).unwrap();
    /// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
    /// bucket.acquire_one(); // a full bucket: at once
    /// assert_eq!(bucket.available(), 1);
    /// ```
    fn acquire_one(&self);
}

impl<C: Clock> Limiter for TokenBucket<C> {
    fn acquire_one(&self) {
        // One token never exceeds a valid burst (at least 1), so this cannot fail.
        self.acquire(1).expect("one token fits every bucket");
    }
}

impl<C: Clock> Limiter for SlidingWindow<C> {
    fn acquire_one(&self) {
        self.acquire();
    }
}

impl<L: Limiter + ?Sized> Limiter for &L {
    fn acquire_one(&self) {
        (**self).acquire_one();
    }
}

impl<L: Limiter + ?Sized> Limiter for std::sync::Arc<L> {
    fn acquire_one(&self) {
        (**self).acquire_one();
    }
}
