//! Jobs (what a worker runs) and tasks (the caller's handle on a job's result).
//!
//! A submitted closure travels to a worker as a [`Job`]: a box holding the closure and the
//! sending half of a [`oneshot`] cell. The caller keeps the receiving half inside a [`Task`].
//! That one cell carries the whole contract:
//!
//! - the result (or the panic payload) is sent through it once;
//! - a job dropped without running (by `shutdown_now`) drops its sender, and the task resolves
//!   [`TaskError::Cancelled`];
//! - a dropped task closes the cell, which the job checks before it starts
//!   ([`oneshot::Sender::is_closed`]): a job whose task is gone is skipped.

use super::error::{TaskError, WaitTimeoutError};
use crate::Panic;
use crate::oneshot;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

/// What a worker runs. `run` never unwinds out of user code: panics are caught and delivered.
pub(crate) trait Runnable: Send {
    /// Runs the job (or skips it, when nobody wants its result any more).
    fn run(self: Box<Self>);
}

/// The pool queue's element type.
pub(crate) type Job = Box<dyn Runnable>;

/// A closure nobody waits for ([`Pool::spawn`](super::Pool::spawn)): no cell, no result.
pub(super) struct Detached<F>(pub(super) F);

impl<F: FnOnce() + Send> Runnable for Detached<F> {
    fn run(self: Box<Self>) {
        // The panic hook has reported a panic by the time it is caught here; nobody else
        // could take its payload, and the worker must survive it.
        let _ = panic::catch_unwind(AssertUnwindSafe(self.0));
    }
}

/// A closure and the promise its result is sent through.
pub(super) struct Packaged<F, R> {
    pub(super) f: F,
    pub(super) promise: oneshot::Sender<thread::Result<R>>,
}

impl<F, R> Packaged<F, R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    /// Packages `f`; the task resolves when the job runs, or is dropped unrun.
    pub(super) fn new(f: F) -> (Self, Task<R>) {
        let (promise, result) = oneshot::channel();
        (Packaged { f, promise }, Task { result })
    }
}

impl<F, R> Runnable for Packaged<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn run(self: Box<Self>) {
        let Packaged { f, promise } = *self;
        if promise.is_closed() {
            return; // the task was dropped before the job started: skip it
        }
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        // A task dropped while the job ran gets nothing: the result is dropped here.
        let _ = promise.send(result);
    }
}

/// A handle on the result of a closure submitted to a [`Pool`](super::Pool): a future/promise.
///
/// Wait for it with [`wait`](Task::wait) (blocks), [`wait_timeout`](Task::wait_timeout) /
/// [`wait_deadline`](Task::wait_deadline), check it with [`is_finished`](Task::is_finished), or
/// `.await` it (any executor). Several tasks can be waited for in completion order with
/// [`as_completed`](super::as_completed).
///
/// **Dropping a task cancels its job if the job has not started yet** (the worker skips it).
/// If the job is already running it runs to the end and its result is dropped on the worker.
///
/// A task resolves exactly once: with the closure's value, with [`TaskError::Panicked`] (the
/// closure panicked; the worker survives), or with [`TaskError::Cancelled`] (the job was
/// discarded by [`Pool::shutdown_now`](super::Pool::shutdown_now)). After a timed wait returned
/// the result, later waits (and polls) report `Cancelled` too: the result was already taken.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
///
/// let pool = Pool::new(2);
/// let task = pool.submit(|| (1..=10u64).product::<u64>());
/// assert_eq!(task.wait().unwrap(), 3_628_800);
/// ```
#[must_use = "dropping a Task (`let _ =` too) cancels its job unless it already started (`Pool::spawn`, `spawn_async` and `try_spawn` run a job detached)"]
pub struct Task<R> {
    result: oneshot::Receiver<thread::Result<R>>,
}

// As tokio's `JoinHandle`: the result cell is written once by the worker and taken once by the
// task, so a panic out of a wait (the result's `Drop`, a waker's) leaves nothing half-done.
impl<R> std::panic::UnwindSafe for Task<R> {}
impl<R> std::panic::RefUnwindSafe for Task<R> {}

impl<R> Task<R> {
    /// Blocks until the job has run, and returns its value.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] with the payload when the closure panicked;
    /// [`TaskError::Cancelled`] when the job was discarded before it ran, or when an earlier
    /// [`wait_timeout`](Task::wait_timeout) or [`wait_deadline`](Task::wait_deadline) already
    /// took the result.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let failing = pool.submit(|| -> u32 { panic!("boom") });
    /// assert!(failing.wait().unwrap_err().is_panic());
    /// assert_eq!(pool.submit(|| 7).wait().unwrap(), 7, "the worker survived the panic");
    /// ```
    pub fn wait(self) -> Result<R, TaskError> {
        settle(self.result.recv().ok())
    }

    /// Waits at most `timeout` for the result. A timeout too large to represent waits forever.
    ///
    /// # Errors
    ///
    /// [`WaitTimeoutError::Timeout`] when the time runs out (the task stays usable: wait again);
    /// [`WaitTimeoutError::Failed`] when the task resolved without a value (see [`Task::wait`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let mut task = pool.submit(move || gate.recv().map(|()| "done").unwrap());
    /// assert!(task.wait_timeout(Duration::from_millis(1)).unwrap_err().is_timeout());
    /// release.send(()).unwrap();
    /// assert_eq!(task.wait_timeout(Duration::from_secs(60)).unwrap(), "done");
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R, WaitTimeoutError> {
        match crate::wait::deadline_after(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(settle(self.result.recv_timeout(Duration::MAX).ok())?),
        }
    }

    /// Waits until `deadline` at the latest for the result.
    ///
    /// # Errors
    ///
    /// As [`Task::wait_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// let mut task = pool.submit(|| 5);
    /// assert_eq!(task.wait_deadline(Instant::now() + Duration::from_secs(60)).unwrap(), 5);
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Result<R, WaitTimeoutError> {
        match self.result.recv_deadline(deadline) {
            Ok(result) => Ok(settle(Some(result))?),
            Err(oneshot::RecvTimeoutError::Timeout) => Err(WaitTimeoutError::Timeout),
            Err(oneshot::RecvTimeoutError::Disconnected) => Err(TaskError::Cancelled.into()),
        }
    }

    /// `true` once the task has resolved (ran, panicked or was cancelled): a wait would not block.
    /// Python's `Future.done()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let task = pool.submit(|| 1);
    /// while !task.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(task.wait().unwrap(), 1);
    /// ```
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.result.is_ready()
    }
}

/// Turns what came through the cell into the task's result (`None`: the job was dropped).
#[inline]
pub(super) fn settle<R>(received: Option<thread::Result<R>>) -> Result<R, TaskError> {
    match received {
        Some(Ok(value)) => Ok(value),
        Some(Err(payload)) => Err(TaskError::Panicked(Panic::new(payload))),
        None => Err(TaskError::Cancelled),
    }
}

/// Resolves to the task's result, like [`Task::wait`]. Runtime-agnostic (only `std::task`).
///
/// # Cancel safety
///
/// Dropping the future drops the task: a job that has not started is skipped, a running one
/// finishes and its result is dropped. Polling through `&mut task` (as `select!` in a loop does)
/// keeps the task and its result for the next round.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = ringfence::pool::Pool::new(1);
/// assert_eq!(pool.submit(|| 6 * 7).await.unwrap(), 42);
/// # });
/// ```
impl<R> Future for Task<R> {
    type Output = Result<R, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().result).poll(cx).map(|received| settle(received.ok()))
    }
}

/// With the `futures` feature: terminated once it has returned its result (its oneshot
/// receiver's [`is_terminated`](crate::oneshot::Receiver::is_terminated)).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<R> futures_core::future::FusedFuture for Task<R> {
    fn is_terminated(&self) -> bool {
        self.result.is_terminated()
    }
}

impl<R> std::fmt::Debug for Task<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("finished", &self.is_finished()).finish()
    }
}

impl<R> Task<R> {
    /// A task reading its result from `result` (for jobs packaged elsewhere, e.g. scoped ones).
    pub(super) fn from_receiver(result: oneshot::Receiver<thread::Result<R>>) -> Self {
        Task { result }
    }
}
