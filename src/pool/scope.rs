//! Scoped jobs: closures that borrow from the caller's stack, all joined before `scope` returns
//! (as [`std::thread::scope`], on the pool's threads).
//!
//! # Why the lifetime erasure is sound
//!
//! A scoped job may borrow anything that outlives `'scope`, but the pool's queue holds
//! `'static` jobs, so [`Scope::submit`] erases the job's lifetime. That is sound because
//! [`Pool::scope`] does not return (nor unwind) before every job it submitted has been
//! *dropped*, run or not: each job carries a [`Finish`] guard, its last field, that counts the
//! scope's latch down when the job is dropped, after the closure and its captures are gone. The
//! scope waits for the latch after the user's closure returns or panics. The guard holds the
//! shared state by `Arc`, so the latch outlives the last job's touch even though the scope's
//! frame goes away as soon as the count reaches zero.

use super::Pool;
use super::error::{TaskError, WaitTimeoutError};
use super::task::{Job, Runnable, Task};
use crate::latch::Latch;
use crate::oneshot;
use crate::sync::Arc;
use crate::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

/// The scope handed to the closure of [`Pool::scope`]: submit borrowing jobs through it.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, Scope};
///
/// /// Sums each half of `data` on the pool, through the scope it is given.
/// fn sum_halves<'scope>(s: &'scope Scope<'scope, '_>, data: &'scope [u64]) -> u64 {
///     let (left, right) = data.split_at(data.len() / 2);
///     let left = s.submit(move || left.iter().sum::<u64>());
///     let right = s.submit(move || right.iter().sum::<u64>());
///     left.wait().unwrap() + right.wait().unwrap()
/// }
///
/// let pool = Pool::new(2);
/// let data: Vec<u64> = (1..=100).collect();
/// assert_eq!(pool.scope(|s| sum_halves(s, &data)), 5050);
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'scope Pool,
    state: Arc<ScopeState>,
    /// Invariance over both lifetimes, as `std::thread::Scope` (a scope must not be shortened
    /// or lengthened by variance).
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// What the scope and its jobs share.
#[derive(Debug)]
struct ScopeState {
    /// Jobs submitted and not yet dropped.
    running: Latch,
    /// Jobs whose closure panicked.
    panicked: AtomicUsize,
    /// Panics delivered to a caller through [`ScopedTask::wait`] (they need not be re-raised).
    observed: AtomicUsize,
}

impl Pool {
    /// Runs `f` with a [`Scope`] whose jobs may borrow from the caller's stack; returns after
    /// every job submitted through the scope has finished.
    ///
    /// As with [`std::thread::scope`]: a job's panic is returned by its
    /// [`ScopedTask::wait`]; if a job panicked and nobody waited for it, `scope` panics after
    /// joining everything. Unlike [`Pool::submit`], dropping a [`ScopedTask`] does not cancel
    /// its job: scoped jobs always run (the scope joins them).
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `f` (after joining the jobs); panics with `"a job submitted in a
    /// pool scope panicked"` when a job panicked and its task was not waited for, or the task
    /// was dropped and the `Drop` of the job's result panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let mut counts = [0u64; 4];
    /// let words = ["a bb", "ccc", "", "d e f"];
    /// pool.scope(|s| {
    ///     for (count, text) in counts.iter_mut().zip(&words) {
    ///         s.submit(move || *count = text.split_whitespace().count() as u64);
    ///     }
    /// });
    /// assert_eq!(counts, [2, 1, 0, 3]);
    /// ```
    pub fn scope<'env, F, T>(&self, f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        let scope = Scope {
            pool: self,
            state: Arc::new(ScopeState {
                running: Latch::new(),
                panicked: AtomicUsize::new(0),
                observed: AtomicUsize::new(0),
            }),
            scope: PhantomData,
            env: PhantomData,
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
        // The soundness of `submit` rests on this wait (module docs).
        scope.state.running.wait();
        let value = result.unwrap_or_else(|payload| panic::resume_unwind(payload));
        // ORDERING: Relaxed: the latch's Acquire made every job's increment visible, and the
        // `observed` increments were made by tasks waited on this thread or joined into it.
        let unobserved =
            scope.state.panicked.load(Ordering::Relaxed) > scope.state.observed.load(Ordering::Relaxed);
        assert!(!unobserved, "a job submitted in a pool scope panicked");
        value
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Submits `f`, which may borrow anything that outlives the scope, to the pool. Blocks while
    /// the pool's queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let data = vec![1, 2, 3, 4];
    /// let (left, right) = data.split_at(2);
    /// let total = pool.scope(|s| {
    ///     let a = s.submit(|| left.iter().sum::<i32>());
    ///     let b = s.submit(|| right.iter().sum::<i32>());
    ///     a.wait().unwrap() + b.wait().unwrap()
    /// });
    /// assert_eq!(total, 10);
    /// ```
    pub fn submit<F, R>(&'scope self, f: F) -> ScopedTask<'scope, R>
    where
        F: FnOnce() -> R + Send + 'scope,
        R: Send + 'scope,
    {
        let (promise, result) = oneshot::channel();
        self.enqueue(ScopedJob { f, promise, finish: self.finish() });
        ScopedTask { task: Task::from_receiver(result), state: &self.state, scope: PhantomData }
    }

    /// Runs `f`, which may borrow anything that outlives the scope, on the pool, without a
    /// handle: the cheapest way to fan out borrowing work (one allocation per job where
    /// [`Scope::submit`] makes two, the job and its result cell), as rayon's `Scope::spawn`.
    /// Blocks while the pool's queue is full. The scope joins the job; if it panics, the scope
    /// panics after joining everything (nobody else can observe the panic).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let mut squares = vec![0u64; 8];
    /// pool.scope(|s| {
    ///     for (i, slot) in squares.iter_mut().enumerate() {
    ///         s.spawn(move || *slot = (i * i) as u64);
    ///     }
    /// });
    /// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
    /// ```
    pub fn spawn<F>(&'scope self, f: F)
    where
        F: FnOnce() + Send + 'scope,
    {
        self.enqueue(SpawnedJob { f, finish: self.finish() });
    }

    /// A latch guard for one more job (counted up now, down when the job is dropped).
    fn finish(&self) -> Finish {
        self.state.running.count_up();
        Finish(Arc::clone(&self.state))
    }

    /// Hands a scoped job to the pool's queue, erasing its lifetime.
    fn enqueue<J: Runnable + Send + 'scope>(&'scope self, job: J) {
        let job: Box<dyn Runnable + 'scope> = Box::new(job);
        // SAFETY: only the lifetime changes (same layout, same vtable). The job is dropped (run
        // or not) before `Pool::scope` returns or unwinds, because `scope` waits for the latch
        // its `Finish` guard counts down on drop; so nothing it borrows for `'scope` is used
        // after `'scope` ends (module docs).
        let job: Job = unsafe { std::mem::transmute::<Box<dyn Runnable + 'scope>, Job>(job) };
        // Never fails (the pool keeps its channel connected); a job handed back is dropped
        // here, which counts the latch down (and resolves a submitted task `Cancelled`).
        drop(self.pool.sender().send(job));
    }
}

/// A job of [`Scope::spawn`]: the closure and (dropped last) the latch guard; no result.
struct SpawnedJob<F> {
    f: F,
    finish: Finish,
}

impl<F: FnOnce() + Send> Runnable for SpawnedJob<F> {
    fn run(self: Box<Self>) {
        let SpawnedJob { f, finish } = *self;
        if crate::wait::caught(f) {
            // Nobody can observe this panic: the scope re-raises it after joining.
            // ORDERING: Relaxed: read by the scope after the latch's Acquire, which orders it.
            finish.0.panicked.fetch_add(1, Ordering::Relaxed);
        }
        drop(finish); // last: after this the scope may return
    }
}

/// A scoped job: the closure, its promise, and (dropped last) the latch guard.
struct ScopedJob<F, R> {
    f: F,
    promise: oneshot::Sender<thread::Result<R>>,
    finish: Finish,
}

/// Counts the scope's latch down when dropped.
struct Finish(Arc<ScopeState>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.running.count_down();
    }
}

impl<F, R> Runnable for ScopedJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    fn run(self: Box<Self>) {
        let ScopedJob { f, promise, finish } = *self;
        // Scoped jobs always run (the scope joins them); the result goes to the task if alive.
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        if result.is_err() {
            // ORDERING: Relaxed: read by the scope after the latch's Acquire, which orders it.
            finish.0.panicked.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(unsent) = promise.send(result) {
            // A dropped task: the result is dropped here. A panic of its `Drop` is the job's
            // panic too (nobody else can see it; `std::thread::scope` aborts the process on
            // one): counted, so the scope re-raises it, where the worker's catch used to
            // swallow it.
            if crate::wait::caught(move || drop(unsent)) {
                // ORDERING: Relaxed, as above.
                finish.0.panicked.fetch_add(1, Ordering::Relaxed);
            }
        }
        drop(finish); // last: after this the scope may return
    }
}

/// The handle of a job submitted through a [`Scope`]; like [`Task`], but it cannot outlive the
/// scope, and dropping it does **not** cancel the job.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let pool = ringfence::pool::Pool::new(2);
/// let ran = AtomicUsize::new(0);
/// let total = pool.scope(|s| {
///     let kept = s.submit(|| { ran.fetch_add(1, Ordering::Relaxed); 40 });
///     drop(s.submit(|| { ran.fetch_add(1, Ordering::Relaxed); })); // still runs
///     kept.wait().unwrap() + 2
/// });
/// assert_eq!(total, 42);
/// assert_eq!(ran.load(Ordering::Relaxed), 2, "the dropped task's job ran too");
/// ```
pub struct ScopedTask<'scope, R> {
    task: Task<R>,
    state: &'scope ScopeState,
    scope: PhantomData<&'scope ()>,
}

impl<R> ScopedTask<'_, R> {
    /// Blocks until the job has run and returns its value.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] with the payload when the closure panicked (the scope then does
    /// not re-raise it).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let name = String::from("ringfence");
    /// let len = pool.scope(|s| s.submit(|| name.len()).wait().unwrap());
    /// assert_eq!(len, 9);
    /// ```
    pub fn wait(self) -> Result<R, TaskError> {
        let state = self.state;
        let result = self.task.wait();
        if let Err(TaskError::Panicked(_)) = &result {
            note_observed(state);
        }
        result
    }

    /// Waits at most `timeout` for the result (see [`Task::wait_timeout`]).
    ///
    /// # Errors
    ///
    /// As [`Task::wait_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// pool.scope(|s| {
    ///     let mut task = s.submit(|| 3);
    ///     assert_eq!(task.wait_timeout(Duration::from_secs(60)).unwrap(), 3);
    /// });
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R, WaitTimeoutError> {
        let result = self.task.wait_timeout(timeout);
        if let Err(WaitTimeoutError::Failed(TaskError::Panicked(_))) = &result {
            note_observed(self.state);
        }
        result
    }

    /// Waits until `deadline` at the latest (see [`Task::wait_deadline`]).
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
    /// let v = pool.scope(|s| s.submit(|| 4).wait_deadline(Instant::now() + Duration::from_secs(60)));
    /// assert_eq!(v.unwrap(), 4);
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Result<R, WaitTimeoutError> {
        let result = self.task.wait_deadline(deadline);
        if let Err(WaitTimeoutError::Failed(TaskError::Panicked(_))) = &result {
            note_observed(self.state);
        }
        result
    }

    /// `true` once the job has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// pool.scope(|s| {
    ///     let task = s.submit(|| ());
    ///     while !task.is_finished() {
    ///         std::thread::yield_now();
    ///     }
    /// });
    /// ```
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Records that a panic was delivered to a caller (so the scope need not re-raise it).
fn note_observed(state: &ScopeState) {
    // ORDERING: Relaxed: read by the scope after this thread returned to it, was joined by
    // it, or (a scoped job waiting for another) counted the latch down with Release.
    state.observed.fetch_add(1, Ordering::Relaxed);
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("pool", self.pool).finish_non_exhaustive()
    }
}

impl<R> fmt::Debug for ScopedTask<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTask").field("finished", &self.is_finished()).finish()
    }
}
