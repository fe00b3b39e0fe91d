//! Lazy parallel `map` over an iterator: in input order ([`Map`]) or in completion order
//! ([`MapUnordered`]), with a bounded number of jobs (batches of items) in flight.
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
//! (the oldest if possible, else, while jobs are fast, the newest) and maps them itself. Each
//! batch's items sit in a shared slot that its job and the caller both try to empty; whoever
//! empties it maps the batch
//! (a job that finds it empty returns nothing, and the caller never waits for such a job). So
//! the caller counts as one more worker (the default `in_flight` is twice the threads plus two),
//! and an ordered map finishes even when every worker is busy elsewhere. Measured on the 2-core
//! VM: 100 000 items of 50 ns, 2.81-2.85 ms against 3.25-3.28 without (rayon 2.56-2.57, two
//! rounds each, old and new binary alternating).
//!
//! **Only while jobs are fast.** A batch the caller maps holds back every result behind it (it
//! yields nothing meanwhile), and once the window of `in_flight` jobs fills, the workers wait
//! too: a user's review found a one-second straggler among 400 items of 5 ms, taken by the
//! caller, stalling `map_unordered` for that second with both workers idle (1.68 s, where the
//! same run took 1.01 s when the straggler landed on a worker). So the caller maps a batch that
//! a worker could take only while the last job measured ran under [`FAST_JOB`] (50 µs; batches
//! of tiny items are sized to half of that);
//! with slower jobs it maps only what it must: the ordered map's front batch when no worker
//! has started it (it waits for that one anyway), and batches without a job. A straggler among
//! tiny items can still land on the caller; the slow-item workloads where it hurt cannot.
//! The price, with slow items: the caller no longer counts as a third worker of a two-thread
//! pool (the review's run, measured: 1.52 s wherever the straggler is, with no gap over 6 ms
//! between results, against 1.01 / 1.09 / 1.68 s with gaps of 5 ms / 113 ms / 1 s for the
//! straggler at item 0 / 50 / 7 before); add a thread to the pool to get it back. criterion
//! (`pool/map_small`, 50 ns items, A/B alternated): no change (never helping instead: 13% / 28%
//! slower for `map` / `map_unordered`). `map_reduce`, which yields nothing until the end,
//! helps as before.
//!
//! [`MapUnordered`]'s caller waits on a completion set instead; it helps the same way while no
//! batch has finished (with slow jobs: only with batches without a job). The job of a batch it
//! mapped stays in the set as a *phantom*, which resolves to nothing when a worker dequeues it
//! and is then skipped; at most `in_flight`
//! phantoms exist (the set has room for twice `in_flight` jobs), so unlike [`Map`] it still
//! needs a worker to go on once it has mapped that many queued batches itself.
//!
//! # A full queue
//!
//! Both iterators queue a batch's job with [`Pool::try_submit`], never the blocking
//! [`Pool::submit`]: when the queue is full (every worker busy behind a full queue, or a
//! capacity of 0 with no idle worker), the batch is kept without a job, its items in the same
//! shared slot, where only the caller can take them. The caller maps it while it waits, by the
//! same `help` as an unstarted queued batch ([`MapUnordered`] prefers such batches: nobody else
//! will map them, and mapping them leaves no phantom). A full queue thus degrades to the caller
//! doing the work, never to a hang: `map`, `map_unordered` and `map_reduce` finish on the
//! calling thread alone when no worker can take a job *and the queue is full* (tested with
//! every worker blocked and a queue of capacity 0, then 1 kept full). A batch without a job
//! counts as in flight. With room in the queue and every worker blocked, the ordered `map`
//! still finishes (the caller maps the queued batches and passes their jobs' slots), but
//! `map_unordered` and `map_reduce` wait for a worker once `in_flight` batches they mapped
//! themselves still have their jobs queued (phantoms that only a worker's dequeue resolves).
//! A `map_unordered` whose caller does not help (slow jobs, above) waits for the workers at
//! most a grace (`Feed::grace`: four jobs' worth, 50 ms to 1 s) before it decides they may be
//! blocked and helps until one delivers (found by review: three items beside a blocked worker
//! waited for ever once the help policy changed). Iterated inside one of the pool's own jobs,
//! where those workers may include the caller (a one-thread pool: it waited for ever, found by
//! reviews in the seventeenth and thirty-ninth sessions), `map_unordered` and `map_reduce`
//! queue nothing and map every batch on the caller (`Pool::on_own_worker`, a thread-local mark
//! each worker sets, read at the first `next`); the ordered `map` keeps its workers, since its
//! caller maps every front batch no worker has started.
//!
//! # Laziness
//!
//! Neither iterator pulls an item before the first `next`. `in_flight` counts **jobs** (batches),
//! not items: at most `in_flight` batches of at most `max_batch` items each (the batch whose
//! results are being yielded counts as one) are ever pulled from the input and not yet yielded
//! (Python's `Executor.map` collected the whole input first, cpython #74508; a billion-item
//! input must not be materialised). So the items pulled ahead are at most
//! `in_flight × max_batch`; `.max_batch(1)` makes that bound exactly `in_flight` items.

use super::Pool;
use super::batch::{self, Output, Results};
use super::completion::{CompletionSet, Next};
use super::error::TaskError;
use super::task::Task;
use crate::sync::Mutex;
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

/// The default largest batch of items one job maps (`max_batch` on [`Map`] or
/// [`MapUnordered`] sets another). Batches start small and grow while jobs are short.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{DEFAULT_MAX_BATCH, Pool};
///
/// let pool = Pool::new(2);
/// let out: Vec<u32> = pool.map(0..100u32, |n| n * 2).max_batch(DEFAULT_MAX_BATCH).map(Result::unwrap).collect();
/// assert_eq!(out, (0..100).map(|n| n * 2).collect::<Vec<_>>());
/// ```
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
    /// this thread too). It never blocks on a full queue: a batch that finds no room is mapped
    /// by the calling thread, so `map` finishes even when no worker can take a job. A panic in
    /// `f` is yielded as [`TaskError::Panicked`] in that item's place and the rest go on.
    /// Dropping the iterator cancels the jobs submitted but not yet started.
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
    /// started (up to `in_flight` of them ahead of the workers; module docs). A batch that
    /// finds the queue full is mapped by the calling thread, never waited for.
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
            unqueued: 0,
            ready: Results::empty(),
            helps_queued: false,
            stalled: false,
        }
    }

    /// `map_unordered` whose caller also maps queued batches that no worker has started while
    /// it waits: for `map_reduce`, which yields nothing until the end, so that a batch the
    /// caller runs holds back no result anybody waits for (module docs, "The caller maps too").
    pub(super) fn map_unordered_helping<I, F, R>(&self, items: I, f: F) -> MapUnordered<'_, I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        MapUnordered { helps_queued: true, ..self.map_unordered(items, f) }
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
    /// Queue no job: every batch is mapped by the caller (a `map_unordered` called from one of
    /// the pool's own jobs).
    inline: bool,
    /// How long the last job measured took (`None` before the first).
    took: Option<Duration>,
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
            inline: false,
            took: None,
        }
    }

    /// The last job measured took under [`FAST_JOB`]: the caller may map a batch a worker
    /// could take without holding results back for long (module docs, "The caller maps too").
    fn fast(&self) -> bool {
        self.took.is_some_and(|took| took < FAST_JOB)
    }

    /// How long a caller that does not help waits for a job to finish before it decides the
    /// workers may all be blocked and helps until one finishes: four jobs' worth at the last
    /// measured pace (running workers deliver one at least every job's time, so they are not
    /// taken for blocked ones, even on a loaded machine), between 50 ms and 1 s.
    fn grace(&self) -> Duration {
        self.took
            .unwrap_or_default()
            .saturating_mul(4)
            .clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// Adapts the batch size to how long a job of `len` items took.
    fn adapt(&mut self, len: usize, took: Duration) {
        self.took = Some(took);
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
    /// Pulls the next batch and queues its job if the queue has room; `None` when the input is
    /// exhausted. Never blocks: a batch whose job finds the queue full has no job (`task` is
    /// `None`), and the caller maps it while it waits, as it maps unstarted queued batches
    /// (module docs, "A full queue").
    fn pull_batch(&mut self) -> Option<Batch<I::Item, R>> {
        let items: Vec<I::Item> = self.items.by_ref().take(self.batch).collect();
        if items.is_empty() {
            return None;
        }
        let len = items.len();
        let items = Arc::new(Mutex::new(Some(items)));
        let (f, claim) = (Arc::clone(&self.f), Arc::clone(&items));
        // The worker maps the items unless the caller has taken them first (`Map::help`). A
        // full queue hands the job back; dropping it drops its claim on the items, which are
        // then the caller's alone.
        let task = if self.inline {
            None
        } else {
            self.pool.try_submit(move || Some(batch::run(take_items(&claim)?, &*f))).ok()
        };
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
        assert!(
            jobs <= super::MAX_IN_FLIGHT,
            "{who}::in_flight: at most {} jobs may be in flight, {jobs} asked for",
            super::MAX_IN_FLIGHT
        );
        self.in_flight = jobs;
    }

    fn set_max_batch(&mut self, items: usize, who: &str) {
        assert!(items > 0, "{who}::max_batch: a batch holds at least one item");
        self.max_batch = items;
        self.batch = self.batch.min(items);
    }
}

/// A batch pulled from the input: its job, its number of items, and the items themselves until
/// a worker or the caller takes them (whoever comes first maps them).
struct Batch<T, R> {
    /// The batch's job; `None` when the queue was full: then only the caller can map it.
    task: Option<Task<Option<Output<R>>>>,
    len: usize,
    items: SharedItems<T>,
    /// The output, when the caller mapped the batch itself.
    done: Option<Output<R>>,
}

impl<T, R> Batch<T, R> {
    /// `true` once a worker has finished the batch's job (never for a batch without a job).
    fn job_finished(&self) -> bool {
        self.task.as_ref().is_some_and(Task::is_finished)
    }

    /// The batch's outcome: the caller's output if it mapped the batch, else its job's (waiting
    /// for it).
    fn outcome(self) -> Result<Option<Output<R>>, TaskError> {
        match (self.done, self.task) {
            (Some(output), _) => Ok(Some(output)),
            (None, Some(task)) => task.wait(),
            (None, None) => unreachable!("a batch without a job is mapped by the caller (`help`) first"),
        }
    }
}

/// A batch of [`MapUnordered`] whose items nobody may have taken yet.
struct Unclaimed<T> {
    len: usize,
    items: SharedItems<T>,
    /// `false` when the queue was full: the batch has no job, and only the caller maps it.
    queued: bool,
}

/// A batch's items, shared by its job and the caller until one of them takes them.
type SharedItems<T> = Arc<Mutex<Option<Vec<T>>>>;

/// Takes a batch's items, unless someone took them first.
fn take_items<T>(items: &Mutex<Option<Vec<T>>>) -> Option<Vec<T>> {
    // Nothing panics while the lock is held: a poisoned lock is still consistent.
    items.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Takes the items of a batch in `unclaimed` that nobody has taken yet and maps them on this
/// thread: a batch without a job first (nobody else can map it), else, when `queued_too`, the
/// newest queued one (the least likely to have started). Returns the batch's length, whether it
/// was queued, and its output; drops the entries it finds taken by a worker.
fn map_unclaimed<T, R>(
    unclaimed: &mut VecDeque<Unclaimed<T>>,
    queued_too: bool,
    f: &impl Fn(T) -> R,
) -> Option<(usize, bool, Output<R>)> {
    loop {
        let position = match unclaimed.iter().rposition(|batch| !batch.queued) {
            Some(position) => position,
            None if queued_too => unclaimed.len().checked_sub(1)?,
            None => return None,
        };
        let batch = unclaimed.remove(position)?;
        if let Some(items) = take_items(&batch.items) {
            return Some((batch.len, batch.queued, batch::run(items, f)));
        }
    }
}

/// The iterator of [`Pool::map`]: results in input order.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Map, Pool};
///
/// let pool = Pool::new(2);
/// let lengths: Map<'_, _, _, usize> = pool.map(vec!["a", "bb", "ccc"], str::len);
/// assert_eq!(lengths.map(Result::unwrap).collect::<Vec<_>>(), [1, 2, 3]);
/// ```
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
    /// Sets how many jobs may be in flight (pulled from the input and not yet fully yielded),
    /// overriding [`Builder::in_flight`](super::Builder::in_flight); each job is a batch of up
    /// to [`max_batch`](Map::max_batch) items.
    ///
    /// # Panics
    ///
    /// Panics with `"Map::in_flight: at least one job must be in flight"` when `jobs == 0`,
    /// and with `"Map::in_flight: at most 131072 jobs may be in flight, {jobs} asked for"`
    /// above [`MAX_IN_FLIGHT`](super::MAX_IN_FLIGHT).
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
                let Some(batch) = self.feed.pull_batch() else { break };
                self.jobs.push_back(batch);
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            // A front batch without a job is never finished, and `help` always maps it (its
            // items are this thread's alone): `outcome` never waits for a job that is not there.
            let front = self.jobs.front()?;
            if front.done.is_none() && !front.job_finished() && self.help() {
                continue;
            }
            let batch = self.jobs.pop_front()?;
            let len = batch.len;
            let outcome = batch.outcome();
            self.ready = self.feed.unpack(len, outcome);
        }
    }

    /// Instead of waiting for the front batch, maps on this thread a batch that no worker has
    /// started (or that has no job: the queue was full): the front one if possible (then
    /// nothing is left to wait for), else, while jobs are fast ([`Feed::fast`]), the newest.
    /// `false` when there is none. A later batch mapped here holds back the results before it
    /// (and, once the window fills, the workers) for as long as it runs: worth it for batches
    /// of tiny items, not for slow items (module docs, "The caller maps too").
    fn help(&mut self) -> bool {
        let count = if self.feed.fast() { self.jobs.len() } else { self.jobs.len().min(1) };
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
///
/// # Examples
///
/// ```
/// use ringfence::pool::{MapUnordered, Pool};
///
/// let pool = Pool::new(2);
/// let doubled: MapUnordered<'_, _, _, u32> = pool.map_unordered(1..=3u32, |n| n * 2);
/// let mut doubled: Vec<u32> = doubled.map(Result::unwrap).collect();
/// doubled.sort_unstable();
/// assert_eq!(doubled, [2, 4, 6]);
/// ```
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct MapUnordered<'pool, I: Iterator, F, R> {
    feed: Feed<'pool, I, F>,
    /// Made at the first `next`, with room for `in_flight` jobs and as many phantoms; tagged by
    /// each job's item count.
    set: Option<CompletionSet<Option<Output<R>>>>,
    /// At most `in_flight` batches whose items nobody may have taken yet: every batch without a
    /// job, and the newest queued ones.
    unclaimed: VecDeque<Unclaimed<I::Item>>,
    /// Jobs in `set` whose batch this thread mapped itself: each resolves to nothing once a
    /// worker dequeues it. They count against the set's room, not against `in_flight`.
    phantoms: usize,
    /// Batches in `unclaimed` without a job (the queue was full): in flight, but not in `set`.
    unqueued: usize,
    /// Results of the last finished job not yet yielded.
    ready: Results<R>,
    /// Whether the caller, while it waits, also maps queued batches that no worker started
    /// (`map_reduce`); the public iterator does only while jobs are fast, or while `stalled`
    /// (module docs).
    helps_queued: bool,
    /// No job finished within the grace (`Feed::grace`) while the caller waited: the workers
    /// may all be blocked, so the caller helps until a job finishes.
    stalled: bool,
}

/// Accounts for a batch a `MapUnordered`'s caller mapped (`map_unclaimed`'s answer): a queued one
/// leaves a phantom job, one without a job leaves the count of those.
fn mapped_here<R>(
    (len, queued, output): (usize, bool, Output<R>),
    phantoms: &mut usize,
    unqueued: &mut usize,
) -> (usize, Result<Option<Output<R>>, TaskError>) {
    if queued {
        *phantoms += 1;
    } else {
        *unqueued -= 1;
    }
    (len, Ok(Some(output)))
}

impl<I, F, R> MapUnordered<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Sets how many jobs (batches of up to [`max_batch`](MapUnordered::max_batch) items) may
    /// be in flight, overriding [`Builder::in_flight`](super::Builder::in_flight).
    ///
    /// # Panics
    ///
    /// Panics with `"MapUnordered::in_flight: at least one job must be in flight"` when
    /// `jobs == 0`, as [`Map::in_flight`] above [`MAX_IN_FLIGHT`](super::MAX_IN_FLIGHT), and
    /// with `"MapUnordered::in_flight: iteration already began"` after the first `next`.
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
        if self.set.is_none() && self.feed.pool.on_own_worker() {
            // Iterated inside one of this pool's own jobs (decided at the first `next`, where
            // it is iterated, not where it was made): queue nothing, map every batch here. Its
            // queued batches would wait for a worker that may be this very thread (a one-thread
            // pool hung: found by a user's review); the ordered `map` needs no such care, its
            // caller maps each front batch that no worker has started.
            self.feed.inline = true;
        }
        let set = self.set.get_or_insert_with(|| CompletionSet::with_capacity(room));
        loop {
            // In flight: the real jobs, the batches without a job, and the results being yielded.
            while set.len() - self.phantoms + self.unqueued + usize::from(!self.ready.is_empty()) < in_flight
                && set.len() < room
            {
                let Some(batch) = self.feed.pull_batch() else { break };
                let queued = batch.task.is_some();
                match batch.task {
                    Some(task) => set.insert(batch.len, task),
                    None => self.unqueued += 1,
                }
                self.unclaimed.push_back(Unclaimed { len: batch.len, items: batch.items, queued });
                if self.unclaimed.len() > in_flight {
                    // The oldest queued batch started long ago: only the newest can wait. There
                    // is one: at most `in_flight` batches are without a job (they are in flight).
                    if let Some(oldest) = self.unclaimed.iter().position(|batch| batch.queued) {
                        self.unclaimed.remove(oldest);
                    }
                }
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
            if set.len() == self.phantoms && self.unqueued == 0 {
                // The input is exhausted (the refill above would have added a batch otherwise)
                // and every job left is a phantom: nothing more to yield.
                return None;
            }
            // A finished batch first; while none is, map a batch without a job, else one that
            // no worker has started (at most `in_flight` phantoms, so the set always has room
            // for real jobs). `Empty` means no job at all: then, by the check above, a batch
            // without a job is left, and `map_unclaimed` maps it.
            let (len, outcome) = match set.try_next() {
                Next::Finished(len, outcome) => {
                    self.stalled = false;
                    (len, outcome)
                }
                Next::Empty | Next::TimedOut => {
                    let phantom_room = self.phantoms < in_flight;
                    let helping = self.helps_queued || self.feed.fast() || self.stalled;
                    let f = &*self.feed.f;
                    let (phantoms, unqueued) = (&mut self.phantoms, &mut self.unqueued);
                    match map_unclaimed(&mut self.unclaimed, helping && phantom_room, f) {
                        Some(mapped) => mapped_here(mapped, phantoms, unqueued),
                        None if helping || !phantom_room => {
                            let finished = set.next()?;
                            self.stalled = false; // a worker moved
                            finished
                        }
                        // Slow jobs: wait for the workers, but not for ever: when none finishes
                        // within the grace they may all be blocked (on this very thread, say),
                        // and the caller helps until one does (found by review: three items
                        // beside a blocked worker waited for ever).
                        None => match set.next_until(Some(Instant::now() + self.feed.grace())) {
                            Next::Finished(len, outcome) => (len, outcome),
                            Next::Empty => continue,
                            Next::TimedOut => {
                                self.stalled = true;
                                continue;
                            }
                        },
                    }
                }
            };
            if let Ok(None) = outcome {
                self.phantoms -= 1; // a phantom's job, dequeued: a worker is moving
                self.stalled = false;
                continue;
            }
            self.ready = self.feed.unpack(len, outcome);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.feed.items.size_hint();
        // At least one item per real job and per batch without a job; a phantom's items were
        // yielded already.
        let jobs = self.set.as_ref().map_or(0, CompletionSet::len) - self.phantoms + self.unqueued;
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
        let in_flight = self.set.as_ref().map_or(0, CompletionSet::len) - self.phantoms + self.unqueued;
        f.debug_struct("MapUnordered")
            .field("jobs_in_flight", &in_flight)
            .field("batch", &self.feed.batch)
            .finish_non_exhaustive()
    }
}
