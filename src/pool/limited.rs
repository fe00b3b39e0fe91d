//! Rate-limited and concurrency-limited work: the seed's "at most N at once, at most M per
//! second" as one call, [`Pool::submit_limited`].

use super::{Pool, Task};
use crate::Semaphore;
use crate::rate::{Limiter, TokenBucket};
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
pub struct Limits<L = TokenBucket> {
    /// The semaphore and its number of permits.
    concurrency: Option<(Arc<Semaphore>, usize)>,
    rate: Option<L>,
}

impl Limits {
    /// No limits yet (add them with [`concurrency`](Limits::concurrency) and
    /// [`rate`](Limits::rate)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Limits, Pool};
    ///
    /// let pool = Pool::new(2);
    /// // No limits: the same as `submit`.
    /// assert_eq!(pool.submit_limited(&Limits::new(), || 7).wait().unwrap(), 7);
    /// ```
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

impl<L> Limits<L> {
    /// At most `jobs` of these jobs run at once (a [`Semaphore`] of `jobs` permits).
    ///
    /// # Panics
    ///
    /// Panics with `"Limits::concurrency: at least one job must be allowed"` for `0`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Limits, Pool};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = Pool::new(4);
    /// let limits = Limits::new().concurrency(2);
    /// let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let tasks: Vec<_> = (0..8)
    ///     .map(|_| {
    ///         let (running, most) = (running.clone(), most.clone());
    ///         pool.submit_limited(&limits, move || {
    ///             most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
    ///             std::thread::sleep(std::time::Duration::from_millis(2));
    ///             running.fetch_sub(1, Ordering::SeqCst);
    ///         })
    ///     })
    ///     .collect();
    /// tasks.into_iter().for_each(|t| t.wait().unwrap());
    /// assert!(most.load(Ordering::SeqCst) <= 2); // never more than two at once
    /// ```
    #[must_use]
    pub fn concurrency(mut self, jobs: usize) -> Self {
        assert!(jobs > 0, "Limits::concurrency: at least one job must be allowed");
        self.concurrency = Some((Arc::new(Semaphore::new(jobs)), jobs));
        self
    }

    /// Jobs are submitted no faster than `limiter` allows, one call per job: a
    /// [`TokenBucket`] (steady rate with bursts) or a [`SlidingWindow`](crate::rate::SlidingWindow)
    /// (at most N per period, exactly), with any clock; tests use a
    /// [`ManualClock`](crate::rate::ManualClock). A job starts when a worker takes it, so on a
    /// pool busy with other work, starts can bunch up behind the queue: give rate-limited work
    /// a pool of its own when the pacing of starts must be exact.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Limits, Pool};
    /// use ringfence::rate::SlidingWindow;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(2);
    /// let limits = Limits::new().rate(SlidingWindow::new(100, Duration::from_secs(1)));
    /// let tasks: Vec<_> = (0..10).map(|i| pool.submit_limited(&limits, move || i)).collect();
    /// assert_eq!(tasks.into_iter().map(|t| t.wait().unwrap()).sum::<i32>(), 45);
    /// ```
    #[must_use]
    pub fn rate<L2: Limiter>(self, limiter: L2) -> Limits<L2> {
        Limits { concurrency: self.concurrency, rate: Some(limiter) }
    }

    /// Jobs holding a concurrency permit right now (0 without a concurrency limit): the permit
    /// is taken at submission, so this counts jobs queued behind busy workers too, and a
    /// limited task dropped before its job started keeps its permit until a worker takes the
    /// job off the queue and skips it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Limits, Pool};
    ///
    /// let pool = Pool::new(1);
    /// let limits = Limits::new().concurrency(3);
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let task = pool.submit_limited(&limits, move || {
    ///     started_tx.send(()).unwrap();
    ///     gate.recv().unwrap();
    /// });
    /// started.recv().unwrap();
    /// assert_eq!(limits.running(), 1);
    /// release.send(()).unwrap();
    /// task.wait().unwrap();
    /// assert_eq!(limits.running(), 0);
    /// ```
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
    pub fn submit_limited<F, R, L>(&self, limits: &Limits<L>, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
        L: Limiter,
    {
        let permit = limits.concurrency.as_ref().map(|(s, _)| Arc::clone(s).acquire_owned());
        if let Some(limiter) = &limits.rate {
            limiter.acquire_one();
        }
        self.submit(move || {
            let _permit = permit; // released when the job ends, even by a panic
            f()
        })
    }
}

impl<L> fmt::Debug for Limits<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("concurrency", &self.concurrency.as_ref().map(|(_, jobs)| jobs))
            .field("rate", &self.rate.is_some())
            .finish()
    }
}
