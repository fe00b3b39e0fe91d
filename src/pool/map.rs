//! Lazy parallel `map` over an iterator: in input order ([`Map`]) or in completion order
//! ([`MapUnordered`]), with a bounded number of items in flight.
//!
//! # Batches
//!
//! A job per item costs about as much as a cheap item itself (two allocations, a channel
//! hand-off, a result cell: roughly 130 ns on the caller's thread). So both iterators send items
//! in *batches*: one job maps up to `batch` consecutive items, catching a panic per item, and
//! measures how long it ran. The batch starts at one item and grows while jobs finish in under
//! [`FAST_JOB`], towards the size that would take half of that at the measured pace (at least
//! doubling, at most 16-fold per finished job: 1, 16, 256, 1024 for 50 ns items), up to
//! `max_batch` (default [`DEFAULT_MAX_BATCH`]); it halves when a job takes longer than
//! [`SLOW_JOB`]. Slow items therefore still go one per job (the best balance across workers),
//! and tiny ones are amortised over hundreds.
//!
//! # The caller maps too
//!
//! [`Map`] yields in order, so its caller waits for the oldest batch. Rather than idle (or
//! spin, on a core the workers need), it takes the items of a batch that no worker has started
//! (the oldest if possible, else the newest) and maps them itself. Each batch's items sit in a
//! shared slot that its job and the caller both try to empty; whoever empties it maps the batch
//! (a job that finds it empty returns nothing, and the caller never waits for such a job). So
//! the caller counts as one more worker (the default `in_flight` is twice the threads plus two),
//! and an ordered map finishes even when every worker is busy elsewhere. Measured on the 2-core
//! VM: 100 000 items of 50 ns, 2.81-2.85 ms against 3.25-3.28 without (rayon 2.56-2.57, two
//! rounds each, old and new binary alternating).
//!
//! [`MapUnordered`]'s caller waits on a completion set instead; it helps the same way while no
//! batch has finished. The job of a batch it mapped stays in the set as a *phantom*, which
//! resolves to nothing when a worker dequeues it and is then skipped; at most `in_flight`
//! phantoms exist (the set has room for twice `in_flight` jobs), so unlike [`Map`] it still
//! needs a worker to go on once it is that far ahead.
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
use super::completion::{CompletionSet, Next};
use super::error::TaskError;
use super::task::Task;
use crate::sync::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

/// The default largest batch of items one job maps.
pub const DEFAULT_MAX_BATCH: usize = 1024;

/// A job that ran for less than this grows the next batch (2 to 16 times, towards half this).
const FAST_JOB: Duration = Duration::from_micros(50);

/// A job that ran for more than this halves the next batch.
const SLOW_JOB: Duration = Duration::from_micros(200);

impl Pool {
    /// Applies `f` to every item on the pool's workers; yields the results **in input order**.
    ///
    /// Lazy: nothing is submitted before the first `next`, and at most
    /// [`in_flight`](Map::in_flight) jobs (default: the builder's setting, twice the threads
    /// plus two) of at most [`max_batch`](Map::max_batch) items each have been pulled from
    /// `items` and not yet yielded; batches adapt to the cost of the items (module docs).
    /// `next` blocks until the next result in order is ready; while it is not, the calling
    /// thread maps a batch that no worker has started yet instead of idling (so `f` may run on
    /// this thread too). A panic in `f` is yielded as [`TaskError::Panicked`] in that item's
    /// place and the rest go on. Dropping the iterator cancels the jobs submitted but not yet
    /// started.
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
    /// the others. While no batch has finished, the calling thread maps one that no worker has
    /// started (up to `in_flight` of them ahead of the workers; module docs).
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
        MapUnordered {
            feed: Feed::new(self, items.into_iter(), f),
            set: None,
            unclaimed: VecDeque::new(),
            phantoms: 0,
            ready: Results::empty(),
        }
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
            // Grow towards the size that would take half of `FAST_JOB` at this job's pace: at
            // least double, at most 16 times (one noisy measurement cannot overshoot far).
            let per_item = (took.as_nanos() / len as u128).max(1);
            let paced = usize::try_from(FAST_JOB.as_nanos() / 2 / per_item).unwrap_or(usize::MAX);
            let grown = paced.clamp(self.batch.saturating_mul(2), self.batch.saturating_mul(16));
            self.batch = grown.min(self.max_batch);
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
    fn submit_next(&mut self) -> Option<Batch<I::Item, R>> {
        let items: Vec<I::Item> = self.items.by_ref().take(self.batch).collect();
        if items.is_empty() {
            return None;
        }
        let len = items.len();
        let items = Arc::new(Mutex::new(Some(items)));
        let (f, claim) = (Arc::clone(&self.f), Arc::clone(&items));
        // The worker maps the items unless the caller has taken them first (`Map::help`).
        let task = self.pool.submit(move || Some(batch::run(take_items(&claim)?, &*f)));
        Some(Batch { task, len, items, done: None })
    }

    /// Turns a finished job into its items' results (all `Cancelled` if the job never ran).
    fn unpack(&mut self, len: usize, outcome: Result<Option<Output<R>>, TaskError>) -> Results<R> {
        match outcome {
            Ok(Some(output)) => {
                self.adapt(len, output.took);
                Results::ran(output)
            }
            // The caller took the batch's items from its job; `next` skips such phantoms.
            Ok(None) => unreachable!("a phantom job is not unpacked"),
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

/// A submitted batch of [`Map`]: its job, its number of items, and the items themselves until
/// a worker or the caller takes them (whoever comes first maps them).
struct Batch<T, R> {
    task: Task<Option<Output<R>>>,
    len: usize,
    items: SharedItems<T>,
    /// The output, when the caller mapped the batch itself.
    done: Option<Output<R>>,
}

/// A batch's items, shared by its job and the caller until one of them takes them.
type SharedItems<T> = Arc<Mutex<Option<Vec<T>>>>;

/// Takes a batch's items, unless someone took them first.
fn take_items<T>(items: &Mutex<Option<Vec<T>>>) -> Option<Vec<T>> {
    // Nothing panics while the lock is held: a poisoned lock is still consistent.
    items.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Takes the items of the newest batch in `unclaimed` that nobody has taken yet and maps them
/// on this thread; returns the batch's length and output. Drops the entries found taken.
fn map_unclaimed<T, R>(
    unclaimed: &mut VecDeque<(usize, SharedItems<T>)>,
    f: &impl Fn(T) -> R,
) -> Option<(usize, Output<R>)> {
    while let Some((len, items)) = unclaimed.pop_back() {
        if let Some(items) = take_items(&items) {
            return Some((len, batch::run(items, f)));
        }
    }
    None
}

/// The iterator of [`Pool::map`]: results in input order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Map<'pool, I: Iterator, F, R> {
    feed: Feed<'pool, I, F>,
    /// Submitted batches, in input order.
    jobs: VecDeque<Batch<I::Item, R>>,
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

impl<I, F, R> Map<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Refills the batches in flight and yields the first result of the next batch (mapping
    /// batches here while the front one is not done, `help`).
    #[cold]
    fn next_batch(&mut self) -> Option<Result<R, TaskError>> {
        loop {
            // The results being yielded count as one job: at most `in_flight` jobs' worth of
            // items are pulled and not yet yielded.
            while self.jobs.len() + usize::from(!self.ready.is_empty()) < self.feed.in_flight {
                let Some(batch) = self.feed.submit_next() else { break };
                self.jobs.push_back(batch);
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            let front = self.jobs.front()?;
            if front.done.is_none() && !front.task.is_finished() && self.help() {
                continue;
            }
            let batch = self.jobs.pop_front()?;
            let outcome = match batch.done {
                Some(output) => Ok(Some(output)),
                None => batch.task.wait(),
            };
            self.ready = self.feed.unpack(batch.len, outcome);
        }
    }

    /// Instead of waiting for the front batch, maps on this thread a batch that no worker has
    /// started: the front one if possible (then nothing is left to wait for), else the newest.
    /// `false` when every batch has started.
    fn help(&mut self) -> bool {
        let count = self.jobs.len();
        for position in std::iter::once(0).chain((1..count).rev()) {
            let batch = &mut self.jobs[position];
            if batch.done.is_none() {
                if let Some(items) = take_items(&batch.items) {
                    batch.done = Some(batch::run(items, &*self.feed.f));
                    return true;
                }
            }
        }
        false
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

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // The common case first: the next result of the batch being yielded.
        if let Some(result) = self.ready.next() {
            return Some(result);
        }
        self.next_batch()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.items.size_hint();
        let queued = self.ready.len() + self.jobs.iter().map(|batch| batch.len).sum::<usize>();
        (low.saturating_add(queued), high.and_then(|h| h.checked_add(queued)))
    }
}

/// The iterator of [`Pool::map_unordered`]: results in completion order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct MapUnordered<'pool, I: Iterator, F, R> {
    feed: Feed<'pool, I, F>,
    /// Made at the first `next`, with room for `in_flight` jobs and as many phantoms; tagged by
    /// each job's item count.
    set: Option<CompletionSet<Option<Output<R>>>>,
    /// The newest batches (at most `in_flight`), whose items nobody may have taken yet.
    unclaimed: VecDeque<(usize, SharedItems<I::Item>)>,
    /// Jobs in `set` whose batch this thread mapped itself: each resolves to nothing once a
    /// worker dequeues it. They count against the set's room, not against `in_flight`.
    phantoms: usize,
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
        let room = in_flight.saturating_mul(2);
        let set = self.set.get_or_insert_with(|| CompletionSet::with_capacity(room));
        loop {
            while set.len() - self.phantoms + usize::from(!self.ready.is_empty()) < in_flight
                && set.len() < room
            {
                let Some(batch) = self.feed.submit_next() else { break };
                set.insert(batch.len, batch.task);
                if self.unclaimed.len() == in_flight {
                    self.unclaimed.pop_front(); // started long ago: only the newest can wait
                }
                self.unclaimed.push_back((batch.len, batch.items));
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            if set.len() == self.phantoms {
                // The input is exhausted (the refill above would have added a job otherwise)
                // and every job left is a phantom: nothing more to yield.
                return None;
            }
            // A finished batch first; while none is, map one that no worker has started (at
            // most `in_flight` phantoms, so the set always has room for real jobs).
            let (len, outcome) = match set.try_next() {
                Next::Finished(len, outcome) => (len, outcome),
                Next::Empty => return None,
                Next::TimedOut => {
                    let helped = if self.phantoms < in_flight {
                        map_unclaimed(&mut self.unclaimed, &*self.feed.f)
                    } else {
                        None
                    };
                    match helped {
                        Some((len, output)) => {
                            self.phantoms += 1;
                            (len, Ok(Some(output)))
                        }
                        None => set.next()?,
                    }
                }
            };
            if let Ok(None) = outcome {
                self.phantoms -= 1; // a phantom's job, dequeued
                continue;
            }
            self.ready = self.feed.unpack(len, outcome);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.items.size_hint();
        // At least one item per real job; a phantom's items were yielded already.
        let jobs = self.set.as_ref().map_or(0, CompletionSet::len) - self.phantoms;
        let low = low.saturating_add(self.ready.len() + jobs);
        // `jobs` counts jobs, not items: the upper bound is unknown once jobs are in flight.
        let high = if jobs > 0 { None } else { high.map(|h| h + self.ready.len()) };
        (low, high)
    }
}

impl<I: Iterator, F, R> fmt::Debug for Map<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("jobs_in_flight", &self.jobs.len())
            .field("batch", &self.feed.batch)
            .finish_non_exhaustive()
    }
}

impl<I: Iterator, F, R> fmt::Debug for MapUnordered<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_flight = self.set.as_ref().map_or(0, CompletionSet::len) - self.phantoms;
        f.debug_struct("MapUnordered")
            .field("jobs_in_flight", &in_flight)
            .field("batch", &self.feed.batch)
            .finish_non_exhaustive()
    }
}
