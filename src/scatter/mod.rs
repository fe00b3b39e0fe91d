//! Scatter-gather: send one request to several sources in parallel, gather the answers by a
//! deadline: all of them, the first success, or a quorum; the seed's Scatter-Gather.
//!
//! [`Scatter::new`] submits `query(source, &token)` for every source to a [pool](crate::pool)
//! at once. Then one of:
//!
//! - [`Scatter::all`]: every answer, in source order; sources that had not answered by the
//!   deadline are [`Gathered::TimedOut`].
//! - [`Scatter::first_ok`]: the first `Ok`; the rest are cancelled.
//! - [`Scatter::quorum`]: the first `k` `Ok`s; the rest are cancelled.
//!
//! **Cancellation.** When the gather is decided (or the deadline passes) the [`CancelToken`]
//! handed to every query is cancelled, queued queries that have not started are skipped (their
//! tasks are dropped), and late answers are dropped. A running query should poll
//! [`CancelToken::is_cancelled`] to stop early. The queries run on pool threads, which the
//! gather cannot stop: a query that finishes after the deciding answer (or alongside it, not
//! yet gathered) has run to its end, and whatever it consumed (a message it received, say)
//! goes with its dropped answer. Give such queries a way to hand it back, or gather futures.
//!
//! **Async.** [`AsyncScatter`] gathers futures instead of pool jobs, with the same three
//! gathers: `AsyncScatter::new(futures).first_ok(deadline).await`. There the losers are
//! cancelled by dropping their futures, and no loser ever completes: the gather polls the
//! sources one by one and stops at the answer that decides it, so the sources after it are
//! dropped while still pending (a losing `recv_async` leaves its value in the channel).
//!
//! **Nobody blocks past the deadline.** The gathering thread returns at the deadline with what
//! it has. What it cannot do is stop a query that never returns and ignores the token: that
//! query keeps its pool worker (threads cannot be preempted), so the pool's `shutdown` or drop,
//! which joins its workers, waits for it, and a pool whose workers are all held this way only
//! queues new jobs ([`Scatter::new`] waits for queue room as [`Pool::submit`] does). For
//! sources that may hang, give each query its own timeout (most I/O has one), gather on a pool
//! of their own, or gather futures with [`AsyncScatter`], whose losers are dropped.
//!
//! # Examples
//!
//! Ask three replicas, take the first that answers well:
//!
//! ```
//! use ringfence::pool::Pool;
//! use ringfence::scatter::Scatter;
//! use std::time::{Duration, Instant};
//!
//! let pool = Pool::new(3);
//! let replicas = [("eu", false), ("us", true), ("ap", true)];
//! let (index, answer) = Scatter::new(&pool, replicas, |(name, healthy), _token| {
//!     if healthy { Ok(format!("price from {name}")) } else { Err(format!("{name} is down")) }
//! })
//! .first_ok(Instant::now() + Duration::from_secs(5))
//! .unwrap();
//! assert!(index == 1 || index == 2);
//! assert!(answer.starts_with("price from"));
//! ```

mod gather_async;

pub use gather_async::AsyncScatter;

use crate::pool::{CompletionSet, Next, Pool, Task, TaskError, WaitTimeoutError};
use crate::sync::Arc;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::wait::caught;
use std::fmt;
use std::time::Instant;

/// Lets a running query learn that its answer is no longer wanted: [`Scatter::new`] hands one
/// (shared by all the queries) to every query.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
/// use ringfence::scatter::Scatter;
/// use std::time::{Duration, Instant};
///
/// let pool = Pool::new(2);
/// // Source 0 answers at once; source 1 would count forever, but stops once cancelled.
/// let scatter = Scatter::new(&pool, [0u64, 1], |source, token| {
///     if source == 0 {
///         return Ok(source);
///     }
///     let mut steps = 0u64;
///     while !token.is_cancelled() {
///         steps += 1;
///         std::hint::spin_loop();
///     }
///     Err(steps)
/// });
/// assert_eq!(scatter.first_ok(Instant::now() + Duration::from_secs(5)).unwrap(), (0, 0));
/// pool.shutdown(); // returns: the loser saw the token and stopped
/// ```
#[derive(Clone, Debug)]
pub struct CancelToken {
    cancelled: Arc<AtomicBool>,
}

impl CancelToken {
    fn new() -> Self {
        CancelToken { cancelled: Arc::new(AtomicBool::new(false)) }
    }

    /// `true` once the gather no longer wants answers (decided, or its deadline passed).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(2);
    /// let scatter = Scatter::new(&pool, [1u32, 2], |n, token| {
    ///     // A long query polls the token between steps and stops early once cancelled.
    ///     (0..1000).take_while(|_| !token.is_cancelled()).map(|_| n).sum::<u32>()
    /// });
    /// let token = scatter.token().clone();
    /// assert!(!token.is_cancelled());
    /// let sums = scatter.all(Instant::now() + Duration::from_secs(5));
    /// assert!(token.is_cancelled()); // the gather is over
    /// assert_eq!(sums.len(), 2);
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        // ORDERING: Relaxed: a hint to stop early; no data is published with it.
        self.cancelled.load(Ordering::Relaxed)
    }

    fn cancel(&self) {
        // ORDERING: Relaxed: see `is_cancelled`.
        self.cancelled.store(true, Ordering::Relaxed);
    }
}

/// One source's outcome in [`Scatter::all`].
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
/// use ringfence::scatter::{Gathered, Scatter};
/// use std::time::{Duration, Instant};
///
/// let pool = Pool::new(2);
/// let outcomes = Scatter::new(&pool, [1u32, 0], |n, _token| 10 / n) // 10 / 0 panics
///     .all(Instant::now() + Duration::from_secs(5));
/// assert!(matches!(outcomes[0], Gathered::Answered(10)));
/// assert!(matches!(outcomes[1], Gathered::Failed(_)));
/// ```
#[derive(Debug)]
pub enum Gathered<R> {
    /// The query returned.
    Answered(R),
    /// The query panicked (or was cancelled by a pool shutdown).
    Failed(TaskError),
    /// No answer by the deadline.
    TimedOut,
}

impl<R> Gathered<R> {
    /// The answer, if the query returned in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::Gathered;
    ///
    /// assert_eq!(Gathered::Answered(7).answer(), Some(7));
    /// assert_eq!(Gathered::<u8>::TimedOut.answer(), None);
    /// ```
    #[must_use]
    pub fn answer(self) -> Option<R> {
        match self {
            Gathered::Answered(answer) => Some(answer),
            Gathered::Failed(_) | Gathered::TimedOut => None,
        }
    }
}

/// Why [`Scatter::first_ok`] or [`Scatter::quorum`] did not get enough successes.
///
/// Everything gathered comes back in it. It is an error type: `Display` says how many
/// sources succeeded, failed and panicked and whether the deadline passed, and, as every error
/// of this crate, its `Debug` does not require `T: Debug` or `E: Debug` (it shows the source
/// indices, not the values), so `?` into `Box<dyn Error>` and `unwrap` work for any `T` and `E`.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
/// use ringfence::scatter::Scatter;
/// use std::time::{Duration, Instant};
///
/// let pool = Pool::new(2);
/// let scatter = Scatter::new(&pool, [1, 2], |n, _token| Err::<u32, String>(format!("{n} is down")));
/// let not_enough = scatter.first_ok(Instant::now() + Duration::from_secs(5)).unwrap_err();
/// assert!(not_enough.ok.is_empty() && !not_enough.timed_out);
/// assert_eq!(not_enough.failed.len(), 2);
/// assert_eq!(
///     not_enough.to_string(),
///     "not enough successes: 0 ok, 2 failed, 0 panicked, too few sources could still succeed"
/// );
/// let boxed: Box<dyn std::error::Error> = Box::new(not_enough);
/// assert!(format!("{boxed:?}").starts_with("NotEnough"));
/// ```
pub struct NotEnough<T, E> {
    /// The successes gathered (source index, value), in arrival order.
    pub ok: Vec<(usize, T)>,
    /// The failures gathered (source index, error), in arrival order.
    pub failed: Vec<(usize, E)>,
    /// Queries that panicked ([`TaskError::Panicked`]), or that never ran because the pool was
    /// shut down with [`Pool::shutdown_now`] ([`TaskError::Cancelled`]; `Display` counts both
    /// as panicked).
    pub panicked: Vec<(usize, TaskError)>,
    /// `true` when the deadline passed; otherwise too few sources could still succeed (they
    /// failed or panicked, or `quorum` asked for more than there are).
    pub timed_out: bool,
}

impl<T, E> NotEnough<T, E> {
    /// The successes of a gather that got enough: the failures gathered on the way are dropped
    /// here, unseen, each `Drop` caught (the user's code: a panic in one must not lose the
    /// successes; the panic hook has reported it).
    fn into_ok(self) -> Vec<(usize, T)> {
        for failure in self.failed {
            caught(move || drop(failure));
        }
        for panic in self.panicked {
            caught(move || drop(panic));
        }
        self.ok
    }
}

impl<T, E> fmt::Debug for NotEnough<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn indices<V>(pairs: &[(usize, V)]) -> Vec<usize> {
            pairs.iter().map(|(index, _)| *index).collect()
        }
        // The source indices only: `T` and `E` need not be `Debug`.
        f.debug_struct("NotEnough")
            .field("ok", &indices(&self.ok))
            .field("failed", &indices(&self.failed))
            .field("panicked", &indices(&self.panicked))
            .field("timed_out", &self.timed_out)
            .finish()
    }
}

impl<T, E> fmt::Display for NotEnough<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not enough successes: {} ok, {} failed, {} panicked, {}",
            self.ok.len(),
            self.failed.len(),
            self.panicked.len(),
            if self.timed_out { "the deadline passed" } else { "too few sources could still succeed" }
        )
    }
}

impl<T, E> std::error::Error for NotEnough<T, E> {}

/// Queries in flight to several sources (see the module docs): made by [`Scatter::new`],
/// ended by one of its gathers.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
/// use ringfence::scatter::Scatter;
/// use std::time::{Duration, Instant};
///
/// let pool = Pool::new(3);
/// let votes = Scatter::new(&pool, [3u32, 4, 5, 6], |n, _token| if n % 2 == 0 { Ok(n) } else { Err(n) })
///     .quorum(2, Instant::now() + Duration::from_secs(5))
///     .unwrap();
/// let mut evens: Vec<u32> = votes.into_iter().map(|(_, n)| n).collect();
/// evens.sort();
/// assert_eq!(evens, [4, 6]);
/// ```
pub struct Scatter<R> {
    /// Source `i`'s task at index `i`; `None` once gathered or dropped. [`Scatter::all`] waits
    /// on them in source order (it needs every answer anyway); [`Scatter::quorum`] puts them in
    /// a completion set, which costs a channel and a waker per task, only when arrival order
    /// matters.
    tasks: Vec<Option<Task<R>>>,
    token: CancelToken,
}

impl<R: Send + 'static> Scatter<R> {
    /// Submits `query(source, &token)` for every source to `pool`; source `i`'s answer is
    /// reported with index `i`.
    ///
    /// Blocks while the pool's queue is full, as [`Pool::submit`] does: the gather's deadline
    /// covers the gather, not the submission (on a busy pool with a small queue, give the
    /// scatter a pool of its own, or a queue that holds its sources).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(3);
    /// let replicas = ["eu", "us", "ap"];
    /// let answers = Scatter::new(&pool, replicas, |name, _token| format!("{name}: ok"))
    ///     .all(Instant::now() + Duration::from_secs(5));
    /// let texts: Vec<String> = answers.into_iter().filter_map(|a| a.answer()).collect();
    /// assert_eq!(texts, ["eu: ok", "us: ok", "ap: ok"]);
    /// ```
    pub fn new<S, Q>(pool: &Pool, sources: impl IntoIterator<Item = S>, query: Q) -> Self
    where
        S: Send + 'static,
        Q: Fn(S, &CancelToken) -> R + Send + Sync + 'static,
    {
        let sources = sources.into_iter();
        let token = CancelToken::new();
        // The query and a token in one allocation, so each task clones (and drops) one `Arc`:
        // its count is an RMW on a line the pool's workers share, paid twice per task.
        let shared = std::sync::Arc::new((query, token.clone()));
        // Made before the first query is submitted: if `sources` panics in `next`, its `Drop`
        // cancels the token for the queries already running (none is left waiting for it).
        let mut scatter = Scatter { tasks: Vec::with_capacity(sources.size_hint().0), token };
        for source in sources {
            let shared = std::sync::Arc::clone(&shared);
            scatter.tasks.push(Some(pool.submit(move || (shared.0)(source, &shared.1))));
        }
        scatter
    }

    /// The token the queries see (cancel it yourself with [`Scatter::cancel`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    ///
    /// let pool = Pool::new(1);
    /// let scatter = Scatter::new(&pool, [()], |(), _| ());
    /// let token = scatter.token().clone(); // e.g. for a watchdog that cancels from elsewhere
    /// scatter.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    #[must_use]
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// Cancels the queries (the token, and the jobs not started) and drops late answers.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = Pool::new(1);
    /// let ran = Arc::new(AtomicUsize::new(0));
    /// let counter = ran.clone();
    /// let scatter = Scatter::new(&pool, 0..100, move |i, token| {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    ///     // The first query holds the only worker until the cancel.
    ///     while i == 0 && !token.is_cancelled() {
    ///         std::thread::yield_now();
    ///     }
    /// });
    /// scatter.cancel(); // the queries not started yet (99 or all 100) are skipped
    /// pool.shutdown();
    /// assert!(ran.load(Ordering::SeqCst) <= 1);
    /// ```
    pub fn cancel(mut self) {
        self.finish();
    }

    /// Every source's outcome, in source order, waiting at most until `deadline`; sources still
    /// running then are [`Gathered::TimedOut`] (and cancelled).
    ///
    /// At the deadline the token is cancelled and the queries not started are skipped; a query
    /// still running runs on (until it sees the token) and its late answer is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::{Gathered, Scatter};
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(2);
    /// let answers = Scatter::new(&pool, [10u64, 20, 0], |n, _| {
    ///     assert!(n != 0, "source down");
    ///     n * 2
    /// })
    /// .all(Instant::now() + Duration::from_secs(5));
    /// assert!(matches!(answers[0], Gathered::Answered(20)));
    /// assert!(matches!(answers[1], Gathered::Answered(40)));
    /// assert!(matches!(answers[2], Gathered::Failed(_))); // it panicked
    /// ```
    pub fn all(mut self, deadline: Instant) -> Vec<Gathered<R>> {
        // In source order: a source that answers early waits in its task until we get to it,
        // and once the deadline has passed every wait is a non-blocking look.
        let out = self
            .tasks
            .iter_mut()
            .map(|slot| {
                let Some(task) = slot.as_mut() else { return Gathered::TimedOut };
                let gathered = match task.wait_deadline(deadline) {
                    Ok(answer) => Gathered::Answered(answer),
                    Err(WaitTimeoutError::Failed(error)) => Gathered::Failed(error),
                    Err(WaitTimeoutError::Timeout) => return Gathered::TimedOut,
                };
                *slot = None;
                gathered
            })
            .collect();
        self.finish();
        out
    }

    /// The outstanding tasks in a completion set, tagged with their source index.
    fn take_into_completion_set(&mut self) -> CompletionSet<R> {
        let mut set = CompletionSet::with_capacity(self.tasks.len());
        for (index, slot) in self.tasks.iter_mut().enumerate() {
            if let Some(task) = slot.take() {
                set.insert(index, task);
            }
        }
        set
    }

    fn finish(&mut self) {
        self.token.cancel();
        // Dropping a task cancels its job if it has not started, and drops a late answer: the
        // answer's `Drop` is the user's, caught so that a panic in it cannot lose what was
        // gathered (the panic hook has reported it).
        for task in self.tasks.drain(..) {
            caught(move || drop(task));
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Scatter<Result<T, E>> {
    /// The first success (its source index and value); the other queries are cancelled.
    ///
    /// Once a success is gathered the token is cancelled and the queries not started are
    /// skipped. Queries still running run on (until they see the token), and queries that
    /// finished but were not gathered yet (they finished alongside the winner) have run to
    /// their end: their answers are dropped. Failures gathered before the success are dropped.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when every source failed or the deadline passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(3);
    /// let delays = [50u64, 1, 30];
    /// let fastest = Scatter::new(&pool, delays, |ms, token| {
    ///     for _ in 0..ms {
    ///         if token.is_cancelled() { return Err("cancelled"); }
    ///         std::thread::sleep(Duration::from_millis(1));
    ///     }
    ///     Ok(ms)
    /// })
    /// .first_ok(Instant::now() + Duration::from_secs(5))
    /// .unwrap();
    /// assert_eq!(fastest, (1, 1));
    /// ```
    pub fn first_ok(self, deadline: Instant) -> Result<(usize, T), NotEnough<T, E>> {
        self.quorum(1, deadline).map(|mut ok| ok.remove(0))
    }

    /// The first `k` successes (source index and value, in arrival order); the other queries
    /// are cancelled. `k == 0` succeeds at once (an empty vector; every query is cancelled).
    ///
    /// Answers are gathered one at a time, in arrival order, and the gather stops at the one
    /// that decides it (the `k`-th success, or the failure after which fewer than `k` queries
    /// can still succeed). Then the token is cancelled and the queries not started are
    /// skipped; queries still running run on (until they see the token), and queries that
    /// finished but were not gathered have run to their end: their answers are dropped, as are
    /// the failures gathered on the way to a quorum.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when fewer than `k` sources can still succeed
    /// (returned as soon as that is certain: at once, with nothing gathered and `timed_out`
    /// false, when `k` exceeds the number of sources) or the deadline passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use ringfence::scatter::Scatter;
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(2);
    /// let votes = Scatter::new(&pool, [true, false, true, true], |yes, _| if yes { Ok("yes") } else { Err("no") })
    ///     .quorum(3, Instant::now() + Duration::from_secs(5))
    ///     .unwrap();
    /// assert_eq!(votes.len(), 3);
    /// ```
    pub fn quorum(mut self, k: usize, deadline: Instant) -> Result<Vec<(usize, T)>, NotEnough<T, E>> {
        let mut gathered =
            NotEnough { ok: Vec::new(), failed: Vec::new(), panicked: Vec::new(), timed_out: false };
        let mut set = self.take_into_completion_set();
        while gathered.ok.len() < k {
            // Give up as soon as the sources still out cannot make up the difference.
            if set.len() < k - gathered.ok.len() {
                break;
            }
            match set.next_until(Some(deadline)) {
                Next::Finished(index, Ok(Ok(value))) => gathered.ok.push((index, value)),
                Next::Finished(index, Ok(Err(error))) => gathered.failed.push((index, error)),
                Next::Finished(index, Err(error)) => gathered.panicked.push((index, error)),
                Next::TimedOut => {
                    gathered.timed_out = true;
                    break;
                }
                Next::Empty => break,
            }
        }
        self.finish();
        set.clear();
        if gathered.ok.len() >= k { Ok(gathered.into_ok()) } else { Err(gathered) }
    }
}

impl<R> Drop for Scatter<R> {
    fn drop(&mut self) {
        // ORDERING: Relaxed: see `CancelToken::is_cancelled`.
        self.token.cancelled.store(true, Ordering::Relaxed);
    }
}

impl<R> fmt::Debug for Scatter<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scatter")
            .field("sources", &self.tasks.len())
            .field("outstanding", &self.tasks.iter().filter(|task| task.is_some()).count())
            .finish()
    }
}
