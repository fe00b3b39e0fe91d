//! A worker pool with task futures, lazy parallel `map`, `as_completed`, scoped jobs and
//! map-reduce: the seed's Worker Pool, Future/Promise and Map-Reduce patterns.
//!
//! A [`Pool`] is a fixed set of worker threads fed by one bounded [`channel`](crate::channel)
//! of jobs. [`Pool::submit`] returns a [`Task`]: a handle on the result, made of one
//! [`oneshot`](crate::oneshot) cell. Nothing else sits underneath: the pool's queue, its
//! backpressure, its waiting and its results are the crate's verified primitives.
//!
//! | Python (`concurrent.futures`) | ringfence |
//! |---|---|
//! | `ThreadPoolExecutor(max_workers=n)` | [`Pool::new(n)`](Pool::new), [`Pool::builder`] |
//! | `executor.submit(f)` → `Future` | [`Pool::submit`] → [`Task`]; from async code [`Pool::submit_async`] (waits for room without blocking) |
//! | `future.result()`, `result(timeout)` | [`Task::wait`], [`Task::wait_timeout`] |
//! | `future.done()` | [`Task::is_finished`] |
//! | `future.cancel()` | drop the [`Task`] before the job starts |
//! | `executor.map(f, items)` | [`Pool::map`] (lazy, bounded in flight) |
//! | `as_completed(futures)` | [`as_completed`] (with each task's position) |
//! | `executor.shutdown(wait=True)` / `cancel_futures=True` | [`Pool::shutdown`] / [`Pool::shutdown_now`] (async: [`Pool::shutdown_async`] / [`Pool::shutdown_now_async`]) |
//! | (none) | [`Pool::scope`]: jobs that borrow from the stack |
//! | map-reduce by hand | [`Pool::map_reduce`] |
//!
//! # Guarantees
//!
//! - **Every task resolves, exactly once**: with the closure's value; with
//!   [`TaskError::Panicked`] carrying the payload (the worker survives and goes on); or with
//!   [`TaskError::Cancelled`] when the job never ran ([`Pool::shutdown_now`]). Nothing submitted
//!   is silently lost. (A task waited for again after a timed wait took its result also
//!   reports `Cancelled`: there is no result left.)
//! - **Cancellation**: dropping a [`Task`] before its job starts makes the worker skip the job;
//!   after it starts, the job finishes and its result is dropped on the worker.
//! - **Backpressure**: the queue is bounded ([`Builder::queue_capacity`], default 1024);
//!   [`Pool::submit`] blocks while it is full, [`Pool::try_submit`] hands the closure back,
//!   and [`Pool::submit_async`]'s future waits for room without blocking its thread.
//! - **Laziness**: [`Pool::map`], [`Pool::map_unordered`] and [`Pool::map_reduce`] keep at most
//!   `in_flight` jobs (default twice the threads plus two: the workers and the caller) ahead of
//!   the consumer; the bound counts jobs, not items: a `map` job carries a batch of up to
//!   [`DEFAULT_MAX_BATCH`] items, adapted to the items' cost (`.max_batch(1)` for one item per
//!   job), a `map_reduce` job one chunk. They never block on a full queue: a batch that finds
//!   no room is mapped by the calling thread. With the queue full and no worker free they finish
//!   on the calling thread; with room in the queue, `map_unordered` and `map_reduce` still need
//!   a worker to dequeue the jobs of batches the caller mapped (see the `map` module docs).
//! - **Shutdown**: [`Pool::shutdown`] (and `Drop`) runs every queued job, then joins;
//!   [`Pool::shutdown_now`] cancels the queued ones, lets running ones finish, then joins.
//!   Their `_async` forms begin the same shutdown and return a [`ShutdownFuture`] that
//!   resolves once every worker has left its loop, without blocking an executor's thread.
//! - **Waiting** is the crate's waiting layer: a short spin, then a futex park; idle workers
//!   sleep in the kernel and cost nothing.
//!
//! What the pool does not do: it does not steal work (a worker blocked in one job blocks
//! one thread; waiting inside a job for other jobs of the same pool can deadlock a small pool,
//! as in any fixed-size pool), and it does not preempt or time out running jobs.
//!
//! # Examples
//!
//! ```
//! use ringfence::pool::{as_completed, Pool};
//!
//! let pool = Pool::new(4);
//!
//! // Future/promise: submit, do something else, collect.
//! let task = pool.submit(|| (1..=20u64).sum::<u64>());
//! assert_eq!(task.wait().unwrap(), 210);
//!
//! // Map, in input order, lazily.
//! let lengths: Vec<usize> = pool.map(vec!["a", "bb"], str::len).map(Result::unwrap).collect();
//! assert_eq!(lengths, [1, 2]);
//!
//! // As completed, with each task's position.
//! let tasks: Vec<_> = (0..4u64).map(|i| pool.submit(move || i * 10)).collect();
//! let mut seen: Vec<(usize, u64)> = as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
//! seen.sort_unstable();
//! assert_eq!(seen, [(0, 0), (1, 10), (2, 20), (3, 30)]);
//!
//! // Map-reduce.
//! assert_eq!(pool.map_reduce(1..=10u64, |n| n * n, |a, b| a + b).unwrap(), Some(385));
//! ```

mod batch;
mod builder;
mod chunked;
#[cfg(feature = "futures")]
mod completed_stream;
mod completion;
mod error;
mod handle;
mod limited;
mod map;
mod map_reduce;
mod map_slice;
mod scope;
mod shutdown;
mod submit_async;
mod task;

pub use builder::{Builder, DEFAULT_QUEUE_CAPACITY, MAX_IN_FLIGHT, MAX_THREADS};
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub use completed_stream::CompletedStream;
pub use completion::{AsCompleted, NextFuture, as_completed};
pub use error::{BuildError, SubmitTimeoutError, TaskError, TrySubmitError, WaitTimeoutError};
pub use handle::Pool;
pub use limited::Limits;
pub use map::{DEFAULT_MAX_BATCH, Map, MapUnordered};
pub use scope::{Scope, ScopedTask};
pub use shutdown::ShutdownFuture;
pub use submit_async::{SpawnFuture, SubmitFuture};
pub use task::Task;

pub(crate) use completion::{CompletionSet, Next};
