//! Lazy parallel `map` over an iterator: in input order ([`Map`]) or in completion order
//! ([`MapUnordered`]), with a bounded number of items in flight.
//!
//! # Batches
//!
//! A job per item costs about as much as a cheap item itself (two allocations, a channel
//! hand-off, a result cell: roughly 130 ns on the caller's thread). So both iterators send items
//! in *batches*: one job maps up to `batch` consecutive items, catching a panic per item, and
//! measures how long it ran. The batch starts at one item and doubles while jobs finish in under
//! [`FAST_JOB`], up to `max_batch` (default [`DEFAULT_MAX_BATCH`]); it halves when a job takes
//! longer than [`SLOW_JOB`]. Slow items therefore still go one per job (the best balance across
//! workers), and tiny ones are amortised over hundreds.
//!
//! # Laziness
//!
//! Neither iterator pulls an item before the first `next`, and at most `in_flight` jobs of at
//! most `max_batch` items (the job whose results are being yielded counts as one) are ever
//! pulled from the input and not yet yielded (Python's
//! `Executor.map` collected the whole input first, cpython #74508; a billion-item input must
//! not be materialised). `.max_batch(1)` makes that bound exactly `in_flight` items.

use super::Pool;
use super::batch::{self, Output, Results};
use super::completion::CompletionSet;
use super::error::TaskError;
use super::task::Task;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The default largest batch of items one job maps.
pub const DEFAULT_MAX_BATCH: usize = 1024;

/// A job that ran for less than this doubles the next batch.
const FAST_JOB: Duration = Duration::from_micros(50);

/// A job that ran for more than this halves the next batch.
const SLOW_JOB: Duration = Duration::from_micros(200);

impl Pool {
    /// Applies `f` to every item on the pool's workers; yields the results **in input order**.
    ///
    /// Lazy: nothing is submitted before the first `next`, and at most
    /// [`in_flight`](Map::in_flight) jobs (default: the builder's setting, twice the threads) of
    /// at most [`max_batch`](Map::max_batch) items each have been pulled from `items` and not
    /// yet yielded; batches adapt to the cost of the items (module docs). The iterator blocks in
    /// `next` until the next result in order is ready. A panic in `f` is yielded as
    /// [`TaskError::Panicked`] in that item's place and the rest go on. Dropping the iterator
    /// cancels the jobs submitted but not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let lengths: Vec<usize> =
    ///     pool.map(["a", "bb", "ccc"], |s| s.len()).collect::<Result<_, _>>().unwrap();
    /// assert_eq!(lengths, [1, 2, 3]);
    ///
    /// // Lazy: an endless input is fine.
    /// let first = pool.map(1u64.., |n| n * n).take(3).map(Result::unwrap).collect::<Vec<_>>();
    /// assert_eq!(first, [1, 4, 9]);
    /// ```
    pub fn map<I, F, R>(&self, items: I, f: F) -> Map<'_, I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        Map { feed: Feed::new(self, items.into_iter(), f), jobs: VecDeque::new(), ready: Results::empty() }
    }

    /// Like [`Pool::map`], but yields results **as soon as they are ready** (completion order of
    /// the batches; items within a batch keep their order), so one slow item does not hold back
    /// the others.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let mut squares: Vec<u64> =
    ///     pool.map_unordered(1..=4u64, |n| n * n).map(Result::unwrap).collect();
    /// squares.sort_unstable();
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// ```
    pub fn map_unordered<I, F, R>(&self, items: I, f: F) -> MapUnordered<'_, I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        MapUnordered { feed: Feed::new(self, items.into_iter(), f), set: None, ready: Results::empty() }
    }
}

/// What both iterators share: the input, the function, and the batching policy.
struct Feed<'pool, I, F> {
    pool: &'pool Pool,
    items: I,
    f: Arc<F>,
    /// Jobs in flight at most.
    in_flight: usize,
    /// Items in the next job.
    batch: usize,
    max_batch: usize,
}

impl<'pool, I, F> Feed<'pool, I, F> {
    fn new(pool: &'pool Pool, items: I, f: F) -> Self {
        Feed {
            pool,
            items,
            f: Arc::new(f),
            in_flight: pool.in_flight,
            batch: 1,
            max_batch: DEFAULT_MAX_BATCH,
        }
    }

    /// Adapts the batch size to how long a job of `len` items took.
    fn adapt(&mut self, len: usize, took: Duration) {
        if took < FAST_JOB && len >= self.batch {
            self.batch = (self.batch * 2).min(self.max_batch);
        } else if took > SLOW_JOB {
            self.batch = (self.batch / 2).max(1);
        }
    }
}

impl<I, F, R> Feed<'_, I, F>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Pulls the next batch and submits it; `None` when the input is exhausted.
    fn submit_next(&mut self) -> Option<(Task<Output<R>>, usize)> {
        let batch: Vec<I::Item> = self.items.by_ref().take(self.batch).collect();
        if batch.is_empty() {
            return None;
        }
        let len = batch.len();
        let f = Arc::clone(&self.f);
        let task = self.pool.submit(move || batch::run(batch, &*f));
        Some((task, len))
    }

    /// Turns a finished job into its items' results (all `Cancelled` if the job never ran).
    fn unpack(&mut self, len: usize, outcome: Result<Output<R>, TaskError>) -> Results<R> {
        match outcome {
            Ok(output) => {
                self.adapt(len, output.took);
                Results::ran(output)
            }
            Err(error) => {
                // The job itself cannot panic (it catches per item), so this is a
                // cancellation: every item of the batch resolves `Cancelled`.
                debug_assert!(error.is_cancelled());
                Results::cancelled(len)
            }
        }
    }

    fn set_in_flight(&mut self, jobs: usize, who: &str) {
        assert!(jobs > 0, "{who}::in_flight: at least one job must be in flight");
        self.in_flight = jobs;
    }

    fn set_max_batch(&mut self, items: usize, who: &str) {
        assert!(items > 0, "{who}::max_batch: a batch holds at least one item");
        self.max_batch = items;
        self.batch = self.batch.min(items);
    }
}

/// The iterator of [`Pool::map`]: results in input order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Map<'pool, I, F, R> {
    feed: Feed<'pool, I, F>,
    /// Submitted jobs, in input order, with their number of items.
    jobs: VecDeque<(Task<Output<R>>, usize)>,
    /// Results of the front job not yet yielded.
    ready: Results<R>,
}

impl<I, F, R> Map<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Sets how many jobs may be in flight (submitted and not yet fully yielded).
    ///
    /// # Panics
    ///
    /// Panics with `"Map::in_flight: at least one job must be in flight"` when `jobs == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let sum: u64 = pool.map(0..100u64, |n| n).in_flight(16).map(Result::unwrap).sum();
    /// assert_eq!(sum, 4950);
    /// ```
    pub fn in_flight(mut self, jobs: usize) -> Self {
        self.feed.set_in_flight(jobs, "Map");
        self
    }

    /// Sets the largest number of items one job maps (default [`DEFAULT_MAX_BATCH`]); `1`
    /// sends every item as a job of its own, which bounds the items pulled ahead to
    /// `in_flight` exactly.
    ///
    /// # Panics
    ///
    /// Panics with `"Map::max_batch: a batch holds at least one item"` when `items == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let out: Vec<u32> = pool.map(0..10u32, |n| n + 1).max_batch(1).map(Result::unwrap).collect();
    /// assert_eq!(out, (1..=10).collect::<Vec<_>>());
    /// ```
    pub fn max_batch(mut self, items: usize) -> Self {
        self.feed.set_max_batch(items, "Map");
        self
    }
}

impl<I, F, R> Iterator for Map<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // The results being yielded count as one job: at most `in_flight` jobs' worth of
            // items are pulled and not yet yielded.
            while self.jobs.len() + usize::from(!self.ready.is_empty()) < self.feed.in_flight {
                let Some(job) = self.feed.submit_next() else { break };
                self.jobs.push_back(job);
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            let (task, len) = self.jobs.pop_front()?;
            let outcome = task.wait();
            self.ready = self.feed.unpack(len, outcome);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.items.size_hint();
        let queued = self.ready.len() + self.jobs.iter().map(|(_, len)| len).sum::<usize>();
        (low.saturating_add(queued), high.and_then(|h| h.checked_add(queued)))
    }
}

/// The iterator of [`Pool::map_unordered`]: results in completion order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct MapUnordered<'pool, I, F, R> {
    feed: Feed<'pool, I, F>,
    /// Made at the first `next`, sized to `in_flight`; tagged by each job's item count.
    set: Option<CompletionSet<Output<R>>>,
    /// Results of the last finished job not yet yielded.
    ready: Results<R>,
}

impl<I, F, R> MapUnordered<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Sets how many jobs may be in flight.
    ///
    /// # Panics
    ///
    /// Panics with `"MapUnordered::in_flight: at least one job must be in flight"` when
    /// `jobs == 0`, and with `"MapUnordered::in_flight: iteration already began"` after the
    /// first `next`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// assert_eq!(pool.map_unordered(0..10, |n| n).in_flight(1).count(), 10);
    /// ```
    pub fn in_flight(mut self, jobs: usize) -> Self {
        assert!(self.set.is_none(), "MapUnordered::in_flight: iteration already began");
        self.feed.set_in_flight(jobs, "MapUnordered");
        self
    }

    /// Sets the largest number of items one job maps (see [`Map::max_batch`]).
    ///
    /// # Panics
    ///
    /// Panics with `"MapUnordered::max_batch: a batch holds at least one item"` when
    /// `items == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// assert_eq!(pool.map_unordered(0..10, |n| n).max_batch(1).count(), 10);
    /// ```
    pub fn max_batch(mut self, items: usize) -> Self {
        self.feed.set_max_batch(items, "MapUnordered");
        self
    }
}

impl<I, F, R> Iterator for MapUnordered<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        let in_flight = self.feed.in_flight;
        let set = self.set.get_or_insert_with(|| CompletionSet::with_capacity(in_flight));
        loop {
            while set.len() + usize::from(!self.ready.is_empty()) < in_flight {
                let Some((task, len)) = self.feed.submit_next() else { break };
                set.insert(len, task);
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            let (len, outcome) = set.next()?;
            self.ready = self.feed.unpack(len, outcome);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.items.size_hint();
        let queued = self.ready.len() + self.set.as_ref().map_or(0, CompletionSet::len);
        let low = low.saturating_add(queued);
        // `set.len()` counts jobs, not items: the upper bound is unknown once jobs are in flight.
        let high = if self.set.as_ref().is_some_and(|s| s.len() > 0) {
            None
        } else {
            high.map(|h| h + self.ready.len())
        };
        (low, high)
    }
}

impl<I, F, R> fmt::Debug for Map<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("jobs_in_flight", &self.jobs.len())
            .field("batch", &self.feed.batch)
            .finish_non_exhaustive()
    }
}

impl<I, F, R> fmt::Debug for MapUnordered<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_flight = self.set.as_ref().map_or(0, CompletionSet::len);
        f.debug_struct("MapUnordered")
            .field("jobs_in_flight", &in_flight)
            .field("batch", &self.feed.batch)
            .finish_non_exhaustive()
    }
}
