//! Rate-limited and concurrency-limited work: the seed's "at most N at once, at most M per
//! second" as one call, [`Pool::submit_limited`].

use super::{Pool, Task};
use crate::Semaphore;
use crate::rate::{Clock, TokenBucket, TscClock};
use std::fmt;
use std::sync::Arc;

/// Limits for [`Pool::submit_limited`]: how many such jobs may run at once, and how fast they
/// may start. Share one `Limits` between all the submitters that the limits are for.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Limits, Pool};
/// use ringfence::rate::TokenBucket;
/// use std::time::Duration;
///
/// let pool = Pool::new(8);
/// // At most 5 downloads at once, at most 10 starts per second (bursts of up to 10).
/// let limits = Limits::new().concurrency(5).rate(TokenBucket::new(10, Duration::from_secs(1), 10));
/// let pages: Vec<_> = (0..10).map(|i| pool.submit_limited(&limits, move || i * 2)).collect();
/// assert_eq!(pages.into_iter().map(|t| t.wait().unwrap()).sum::<i32>(), 90);
/// ```
pub struct Limits<C = TscClock> {
    /// The semaphore and its number of permits.
    concurrency: Option<(Arc<Semaphore>, usize)>,
    rate: Option<TokenBucket<C>>,
}

impl Limits {
    /// No limits yet (add them with [`concurrency`](Limits::concurrency) and
    /// [`rate`](Limits::rate)).
    #[must_use]
    pub fn new() -> Self {
        Limits { concurrency: None, rate: None }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl<C: Clock> Limits<C> {
    /// At most `jobs` of these jobs run at once (a [`Semaphore`] of `jobs` permits).
    ///
    /// # Panics
    ///
    /// Panics with `"Limits::concurrency: at least one job must be allowed"` for `0`.
    #[must_use]
    pub fn concurrency(mut self, jobs: usize) -> Self {
        assert!(jobs > 0, "Limits::concurrency: at least one job must be allowed");
        self.concurrency = Some((Arc::new(Semaphore::new(jobs)), jobs));
        self
    }

    /// Jobs start no faster than `bucket` grants tokens (one token per job). The bucket may
    /// use any clock; tests use a [`ManualClock`](crate::rate::ManualClock).
    #[must_use]
    pub fn rate<C2: Clock>(self, bucket: TokenBucket<C2>) -> Limits<C2> {
        Limits { concurrency: self.concurrency, rate: Some(bucket) }
    }

    /// Jobs running under these limits right now (0 without a concurrency limit).
    #[must_use]
    pub fn running(&self) -> usize {
        self.concurrency.as_ref().map_or(0, |(s, jobs)| jobs.saturating_sub(s.available_permits()))
    }
}

impl Pool {
    /// Submits `f` once the limits allow it: waits (on this thread: backpressure on the
    /// submitter, no worker is held) for a concurrency permit and then a rate token, and hands
    /// the permit to the job, which gives it back when it ends (also by panicking).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Limits, Pool};
    ///
    /// let pool = Pool::new(4);
    /// let limits = Limits::new().concurrency(2);
    /// let tasks: Vec<_> = (0..6).map(|i| pool.submit_limited(&limits, move || i)).collect();
    /// assert_eq!(tasks.into_iter().map(|t| t.wait().unwrap()).sum::<i32>(), 15);
    /// ```
    pub fn submit_limited<F, R, C>(&self, limits: &Limits<C>, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
        C: Clock,
    {
        let permit = limits.concurrency.as_ref().map(|(s, _)| Arc::clone(s).acquire_owned());
        if let Some(bucket) = &limits.rate {
            // One token never exceeds a valid burst (at least 1), so this cannot fail.
            bucket.acquire(1).expect("one token fits every bucket");
        }
        self.submit(move || {
            let _permit = permit; // released when the job ends, even by a panic
            f()
        })
    }
}

impl<C> fmt::Debug for Limits<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("concurrency", &self.concurrency.as_ref().map(|(_, jobs)| jobs))
            .field("rate", &self.rate.is_some())
            .finish()
    }
}
