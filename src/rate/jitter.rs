//! [`Jitter`]: a random delay added to a denied request's wait, so that many waiters denied
//! together do not all retry at the same instant (governor's `Jitter`).

use crate::random::next_random;
use std::time::Duration;

/// A random extra delay for the waits of a denied acquire: uniform in `[min, min + spread)`.
///
/// When many tasks are denied by one bucket, they are all told the same ready instant; without
/// jitter they all wake then, one gets the token and the others are denied again (a thundering
/// herd). With jitter each waits a little longer, by its own random amount, and they retry
/// spread out. Used by the `_with_jitter` async acquires of each limiter:
/// [`TokenBucket::until_ready_with_jitter`](super::TokenBucket::until_ready_with_jitter),
/// [`TokenBucket::acquire_async_with_jitter`](super::TokenBucket::acquire_async_with_jitter),
/// [`KeyedBucket::until_ready_with_jitter`](super::KeyedBucket::until_ready_with_jitter),
/// [`KeyedBucket::acquire_async_with_jitter`](super::KeyedBucket::acquire_async_with_jitter),
/// [`SlidingWindow::until_ready_with_jitter`](super::SlidingWindow::until_ready_with_jitter) and
/// [`SlidingWindow::acquire_async_with_jitter`](super::SlidingWindow::acquire_async_with_jitter).
///
/// # Examples
///
/// ```
/// use ringfence::rate::Jitter;
/// use std::time::Duration;
///
/// let jitter = Jitter::up_to(Duration::from_millis(10));
/// assert_eq!(jitter.min(), Duration::ZERO);
/// assert_eq!(jitter.spread(), Duration::from_millis(10));
/// let shifted = Jitter::new(Duration::from_millis(5), Duration::from_millis(1));
/// assert_eq!(shifted.min() + shifted.spread(), Duration::from_millis(6));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Jitter {
    min: Duration,
    spread: Duration,
}

impl Jitter {
    /// A delay uniform in `[0, max)` (`Duration::ZERO`: no jitter).
    ///
    /// # Examples
    ///
    /// ```
    /// let jitter = ringfence::rate::Jitter::up_to(std::time::Duration::from_millis(3));
    /// assert_eq!(jitter.spread(), std::time::Duration::from_millis(3));
    /// ```
    #[must_use]
    pub const fn up_to(max: Duration) -> Jitter {
        Jitter { min: Duration::ZERO, spread: max }
    }

    /// A delay uniform in `[min, min + spread)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let jitter = ringfence::rate::Jitter::new(Duration::from_millis(1), Duration::from_millis(2));
    /// assert_eq!((jitter.min(), jitter.spread()), (Duration::from_millis(1), Duration::from_millis(2)));
    /// ```
    #[must_use]
    pub const fn new(min: Duration, spread: Duration) -> Jitter {
        Jitter { min, spread }
    }

    /// The smallest delay.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ringfence::rate::Jitter::default().min(), std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn min(&self) -> Duration {
        self.min
    }

    /// The width of the range above [`min`](Jitter::min).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ringfence::rate::Jitter::default().spread(), std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn spread(&self) -> Duration {
        self.spread
    }

    /// One delay, in nanoseconds (saturating at `u64::MAX`).
    pub(crate) fn sample_nanos(&self) -> u64 {
        let min = super::quota::nanos(self.min);
        let spread = super::quota::nanos(self.spread);
        let extra = if spread == 0 { 0 } else { next_random() % spread };
        min.saturating_add(extra)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn samples_stay_in_their_range_and_spread_over_it() {
        let jitter = Jitter::new(Duration::from_nanos(100), Duration::from_nanos(1000));
        let samples: Vec<u64> = (0..10_000).map(|_| jitter.sample_nanos()).collect();
        assert!(samples.iter().all(|&s| (100..1100).contains(&s)));
        // Each tenth of the range is hit (a fixed sequence would not spread so).
        for tenth in 0..10 {
            let low = 100 + tenth * 100;
            assert!(
                samples.iter().any(|&s| (low..low + 100).contains(&s)),
                "nothing in [{low}, {})",
                low + 100
            );
        }
        assert_eq!(Jitter::default().sample_nanos(), 0);
        assert_eq!(Jitter::new(Duration::MAX, Duration::MAX).sample_nanos(), u64::MAX);
    }
}
