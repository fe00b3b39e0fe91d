//! The pool itself: worker threads around one job channel, submission, shutdown.

use super::builder::Builder;
use super::error::{BuildError, SubmitTimeoutError, TrySubmitError};
use super::task::{Detached, Job, Packaged, Task};
use crate::WaitGroup;
use crate::channel::{self, Receiver, SendError, SendTimeoutError, Sender, TrySendError};
use crate::sync::Arc;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::thread::{self, JoinHandle};
use crate::wait::caught;
use std::ffi::CString;
use std::fmt;
use std::panic;
use std::time::{Duration, Instant};

/// A fixed set of worker threads running submitted closures, fed by a bounded
/// [`channel`] and answering through [`oneshot`](crate::oneshot) cells.
///
/// See the [module docs](super) for the guarantees. `Pool` is `Send + Sync`: share it by
/// reference (scoped threads) or in an `Arc`.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
///
/// let pool = Pool::new(2);
/// let tasks: Vec<_> = (0..8u64).map(|i| pool.submit(move || i * i)).collect();
/// let squares: Vec<u64> = tasks.into_iter().map(|t| t.wait().unwrap()).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
/// pool.shutdown(); // or just drop it: finishes the queue, joins the workers
/// ```
pub struct Pool {
    /// The queue's sending half; `None` once shutdown has begun (which disconnects the workers
    /// after they drained the queue).
    jobs: Option<Sender<Job>>,
    /// A receiving half kept by the pool: `shutdown_now` drains the queue with it, and it keeps
    /// the channel connected, so `submit` never finds it disconnected.
    queue: Receiver<Job>,
    /// Set by `shutdown_now`: workers drop (cancel) the jobs they still pop.
    discard: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    /// The workers still in their loop: each counts itself out as it leaves (`shutdown_async`
    /// waits for zero).
    live: WaitGroup,
    /// Threads started (the length of `workers` until shutdown).
    threads: usize,
    /// Default number of jobs `map` and friends keep in flight (`Builder::in_flight`).
    pub(super) in_flight: usize,
}

// The pool catches every panic of its jobs, and a panic out of a call on it (a task's result's
// `Drop`) leaves its queue and workers as they were: usable across `catch_unwind` without
// `AssertUnwindSafe`, as the channel it is built on.
impl std::panic::UnwindSafe for Pool {}
impl std::panic::RefUnwindSafe for Pool {}

impl Pool {
    /// A pool of `threads` workers with the default settings (see [`Builder::new`]).
    ///
    /// # Panics
    ///
    /// Panics with `"Pool::new: a pool needs at least one thread"` when `threads == 0`, and with
    /// `"Pool::new: could not start a worker thread: {error}"` when the system refuses to start a
    /// thread, and with `"Pool::new: {threads} threads asked for, a pool holds at most 32768"`
    /// above [`MAX_THREADS`](super::MAX_THREADS); [`Pool::builder`] reports all three as errors
    /// instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(4);
    /// assert_eq!(pool.threads(), 4);
    /// ```
    #[must_use]
    pub fn new(threads: usize) -> Pool {
        match Builder::new().threads(threads).build() {
            Ok(pool) => pool,
            Err(BuildError::NoThreads) => panic!("Pool::new: a pool needs at least one thread"),
            Err(BuildError::TooManyThreads(threads)) => {
                panic!("Pool::new: {threads} threads asked for, a pool holds at most {}", super::MAX_THREADS)
            }
            Err(error) => panic!("Pool::new: {error}"),
        }
    }

    /// A [`Builder`] to configure threads, queue capacity, thread names, stack size and the
    /// number of jobs `map` keeps in flight; the same as [`Builder::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::builder().threads(3).build().unwrap();
    /// assert_eq!(pool.threads(), 3);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(super) fn start(config: Builder) -> Result<Pool, BuildError> {
        let threads = match config.threads {
            Some(0) => return Err(BuildError::NoThreads),
            Some(threads) if threads > super::MAX_THREADS => return Err(BuildError::TooManyThreads(threads)),
            Some(threads) => threads,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()).min(super::MAX_THREADS),
        };
        let in_flight = match config.in_flight {
            Some(0) => return Err(BuildError::NoInFlight),
            Some(jobs) if jobs > super::MAX_IN_FLIGHT => return Err(BuildError::TooManyInFlight(jobs)),
            Some(jobs) => jobs,
            // Twice the threads that map: the workers and the caller (`Map` maps batches itself
            // while it waits).
            None => threads.saturating_add(1).saturating_mul(2),
        };
        // std's spawn panics on a name with a NUL byte (it becomes a C string): refuse it here,
        // before any thread starts. The names add only `-{index}` to the prefix.
        if let Err(error) = CString::new(config.thread_name.as_str()) {
            return Err(BuildError::ThreadName(error));
        }
        let (jobs, queue) =
            channel::try_bounded::<Job>(config.queue_capacity).map_err(BuildError::Capacity)?;
        let discard = Arc::new(AtomicBool::new(false));
        let mut pool = Pool {
            jobs: Some(jobs),
            queue,
            discard,
            workers: Vec::with_capacity(threads),
            live: WaitGroup::new(),
            threads,
            in_flight,
        };
        for index in 0..threads {
            let mut builder = thread::Builder::new().name(format!("{}-{index}", config.thread_name));
            if let Some(bytes) = config.stack_size {
                builder = builder.stack_size(bytes);
            }
            let (queue, discard) = (pool.queue.clone(), pool.discard.clone());
            // Counts the worker out when its thread leaves the loop, by return or unwinding.
            let leaving = pool.live.track();
            match builder.spawn(move || {
                let _leaving = leaving;
                mark_worker_of(&discard);
                work(&queue, &discard);
            }) {
                Ok(worker) => pool.workers.push(worker),
                // The closure, and with it `leaving`, was dropped: the count is right again.
                Err(error) => return Err(BuildError::Spawn(error)), // dropping `pool` joins
            }
        }
        Ok(pool)
    }

    /// Submits `f` and returns its [`Task`]. Blocks while the queue is full (backpressure).
    ///
    /// The closure runs on a worker thread. A panic inside it is caught and delivered by the
    /// task as [`TaskError::Panicked`](super::TaskError::Panicked); the worker survives.
    ///
    /// Do not call a blocking `submit` (or wait for a task) from inside a job of the same pool
    /// when every worker might be doing the same: like any fixed-size pool, it can deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let data = vec![3, 1, 2];
    /// let task = pool.submit(move || data.iter().sum::<i32>());
    /// assert_eq!(task.wait().unwrap(), 6);
    /// ```
    pub fn submit<F, R>(&self, f: F) -> Task<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, task) = Packaged::new(f);
        // Never fails: the pool's own receiver keeps the channel connected. Were it to fail,
        // dropping the job would resolve the task `Cancelled`: nothing is lost silently.
        if let Err(SendError(job)) = self.sender().send(Box::new(job)) {
            drop(job);
        }
        task
    }

    /// Runs `f` on a worker and forgets it: fire and forget (rayon's `spawn`, threadpool's
    /// `execute`; what `let _ = tokio::spawn(..)` does in tokio). Blocks while the queue is
    /// full, as [`submit`](Pool::submit) does: in async code use
    /// [`spawn_async`](Pool::spawn_async) (waits for room without blocking the executor's
    /// thread) or [`try_spawn`](Pool::try_spawn).
    ///
    /// Use it where a [`Task`] would be dropped at once: **dropping a task cancels its job**
    /// if the job has not started, so `let _ = pool.submit(f)` usually runs nothing. A spawned
    /// job runs unless the pool is shut down with [`shutdown_now`](Pool::shutdown_now) first
    /// (queued jobs are dropped unrun then); [`shutdown`](Pool::shutdown) and the pool's drop
    /// run it. A panic inside it is reported by the panic hook (as any thread's) and caught:
    /// the worker survives. To learn when it is done, count it with a [`WaitGroup`](crate::WaitGroup)
    /// or submit it and keep the task.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// let pool = Pool::new(2);
    /// let hits = Arc::new(AtomicU32::new(0));
    /// for _ in 0..10 {
    ///     let hits = Arc::clone(&hits);
    ///     pool.spawn(move || {
    ///         hits.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// }
    /// pool.shutdown(); // runs every queued job, then joins the workers
    /// assert_eq!(hits.load(Ordering::Relaxed), 10);
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        // Never fails: the pool's own receiver keeps the channel connected (see `submit`).
        if let Err(SendError(job)) = self.sender().send(Box::new(Detached(f))) {
            drop(job);
        }
    }

    /// [`spawn`](Pool::spawn) if the queue has room; otherwise hands the closure back, unrun.
    /// Never blocks: the fire-and-forget form for code that must not wait (an async task that
    /// cannot await, a latency-critical thread); in async code that may wait for room,
    /// [`spawn_async`](Pool::spawn_async).
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] with the closure when the queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{Pool, TrySubmitError};
    ///
    /// let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    /// let (gate_tx, gate) = std::sync::mpsc::channel::<()>();
    /// pool.spawn(move || drop(gate.recv())); // occupies the worker
    /// let mut queued = 0;
    /// let refused = loop {
    ///     match pool.try_spawn(|| {}) {
    ///         Ok(()) => queued += 1,
    ///         Err(TrySubmitError::Full(job)) => break job,
    ///     }
    /// };
    /// assert!(queued <= 1); // the queue's one slot (none if the worker has not taken the gate yet)
    /// refused(); // run it here instead
    /// drop(gate_tx);
    /// ```
    pub fn try_spawn<F>(&self, f: F) -> Result<(), TrySubmitError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        match self.sender().try_send(Box::new(Detached(f))) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                // SAFETY: the channel hands back the very box we gave it, made from a
                // `Detached<F>` two lines up.
                Err(TrySubmitError::Full(unsafe { unqueued_detached(job) }))
            }
        }
    }

    /// Submits `f` if the queue has room; otherwise hands the closure back, unrun.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] with the closure when the queue is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// match pool.try_submit(|| 2 + 2) {
    ///     Ok(task) => assert_eq!(task.wait().unwrap(), 4),
    ///     Err(full) => assert_eq!(full.into_inner()(), 4), // run it here instead
    /// }
    /// ```
    pub fn try_submit<F, R>(&self, f: F) -> Result<Task<R>, TrySubmitError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, task) = Packaged::new(f);
        match self.sender().try_send(Box::new(job)) {
            Ok(()) => Ok(task),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                // SAFETY: the channel hands back the very box we gave it, made from a
                // `Packaged<F, R>` two lines up.
                Err(TrySubmitError::Full(unsafe { unqueued(job, task) }))
            }
        }
    }

    /// [`submit`](Pool::submit), blocking at most `timeout` while the queue is full; then the
    /// closure comes back, unrun. A timeout too large to represent waits as long as it takes.
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError::Timeout`] with the closure when the queue stayed full.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().threads(1).queue_capacity(0).build().unwrap();
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() });
    /// started.recv().unwrap(); // the only worker is busy, and the queue holds nothing
    /// let late = pool.submit_timeout(|| "ran", Duration::from_millis(10)).unwrap_err();
    /// assert!(late.is_timeout());
    /// assert_eq!(late.into_inner()(), "ran"); // run it here instead
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// assert_eq!(pool.submit_timeout(|| 7, Duration::from_secs(60)).unwrap().wait().unwrap(), 7);
    /// ```
    pub fn submit_timeout<F, R>(&self, f: F, timeout: Duration) -> Result<Task<R>, SubmitTimeoutError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match crate::wait::deadline_after(timeout) {
            Some(deadline) => self.submit_deadline(f, deadline),
            None => Ok(self.submit(f)),
        }
    }

    /// [`submit`](Pool::submit), blocking until `deadline` at most while the queue is full;
    /// then the closure comes back, unrun. A deadline already past still queues the job when
    /// there is room (as [`try_submit`](Pool::try_submit)).
    ///
    /// # Errors
    ///
    /// [`SubmitTimeoutError::Timeout`] with the closure when the queue stayed full.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// let task = pool.submit_deadline(|| 2 + 2, Instant::now() + Duration::from_secs(60)).unwrap();
    /// assert_eq!(task.wait().unwrap(), 4);
    /// ```
    pub fn submit_deadline<F, R>(&self, f: F, deadline: Instant) -> Result<Task<R>, SubmitTimeoutError<F>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, task) = Packaged::new(f);
        match self.sender().send_deadline(Box::new(job), deadline) {
            Ok(()) => Ok(task),
            Err(SendTimeoutError::Timeout(job) | SendTimeoutError::Disconnected(job)) => {
                // SAFETY: the channel hands back the very box we gave it, made from a
                // `Packaged<F, R>` two lines up.
                Err(SubmitTimeoutError::Timeout(unsafe { unqueued(job, task) }))
            }
        }
    }

    /// The number of worker threads (fixed when the pool is built).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    ///
    /// assert_eq!(Pool::new(2).threads(), 2);
    /// // The default: one per available core.
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// assert_eq!(Pool::builder().build().unwrap().threads(), cores);
    /// ```
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The number of jobs waiting in the queue (not yet picked up by a worker). A snapshot:
    /// other threads may change it at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// assert_eq!(pool.queued(), 0);
    /// ```
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Finishes every queued job, then stops and joins the workers. Dropping the pool does the
    /// same.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = ringfence::pool::Pool::new(2);
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let done = done.clone();
    ///     drop(pool.submit(move || done.fetch_add(1, Ordering::Relaxed))); // task dropped: may be skipped
    /// }
    /// let kept: Vec<_> = (0..10).map(|i| pool.submit(move || i)).collect();
    /// pool.shutdown();
    /// assert!(kept.into_iter().all(|t| t.is_finished()), "every kept task ran before shutdown returned");
    /// ```
    pub fn shutdown(mut self) {
        self.stop(false);
    }

    /// Cancels every job still in the queue (their tasks resolve
    /// [`TaskError::Cancelled`](super::TaskError::Cancelled)), lets the running ones finish, then
    /// joins the workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    ///
    /// let pool = Pool::new(1);
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let running = pool.submit(move || { started_tx.send(()).unwrap(); let _ = gate.recv(); "ran" });
    /// started.recv().unwrap(); // the only worker is busy until `release` is used or dropped
    /// let queued = pool.submit(|| "never runs");
    /// // A queued job that frees the worker when it is dropped: shutdown_now discards the
    /// // queue in order, so `queued` is cancelled before the worker can take it.
    /// let freeing = pool.submit(move || drop(release));
    /// pool.shutdown_now();
    /// assert_eq!(running.wait().unwrap(), "ran");
    /// assert!(queued.wait().unwrap_err().is_cancelled());
    /// assert!(freeing.wait().unwrap_err().is_cancelled());
    /// ```
    pub fn shutdown_now(mut self) {
        self.stop(true);
    }

    /// [`shutdown`](Self::shutdown) without blocking: disconnects the queue now (the workers
    /// finish every job already in it, and `submit` can no longer be called) and returns a
    /// future that resolves once every worker has left its loop.
    ///
    /// # Cancel safety
    ///
    /// The shutdown is begun by this call; dropping the future only stops waiting (see
    /// [`ShutdownFuture`](super::ShutdownFuture)).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pool = ringfence::pool::Pool::new(2);
    /// let task = pool.submit_async(|| "done").await;
    /// pool.shutdown_async().await;
    /// assert!(task.is_finished());
    /// # });
    /// ```
    pub fn shutdown_async(self) -> super::ShutdownFuture {
        self.stop_async(false)
    }

    /// [`shutdown_now`](Self::shutdown_now) without blocking: cancels every job still in the
    /// queue now (their tasks resolve [`TaskError::Cancelled`](super::TaskError::Cancelled))
    /// and returns a future that resolves once the running jobs have finished and every worker
    /// has left its loop.
    ///
    /// # Cancel safety
    ///
    /// As [`shutdown_async`](Self::shutdown_async).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pool = ringfence::pool::Pool::new(1);
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); let _ = gate.recv(); "ran" });
    /// started.recv().unwrap(); // the only worker is busy until `release` is dropped
    /// let queued = pool.submit(|| "never runs");
    /// let stopping = pool.shutdown_now_async(); // `queued` is cancelled here
    /// assert!(queued.await.unwrap_err().is_cancelled());
    /// drop(release); // lets the running job finish
    /// stopping.await;
    /// assert!(busy.is_finished()); // the future waited for it
    /// assert_eq!(busy.await.unwrap(), "ran");
    /// # });
    /// ```
    pub fn shutdown_now_async(self) -> super::ShutdownFuture {
        self.stop_async(true)
    }

    /// Both async shutdowns: the first half now, the wait in the future (the pool's own drop,
    /// right after, finds no worker left to join).
    fn stop_async(mut self, discard: bool) -> super::ShutdownFuture {
        self.begin_stop(discard);
        super::ShutdownFuture::new(self.live.clone(), std::mem::take(&mut self.workers))
    }

    fn stop(&mut self, discard: bool) {
        self.begin_stop(discard);
        self.join_workers();
    }

    /// A shutdown's first half: discards the queue (`shutdown_now`), then disconnects it, so that
    /// the workers drain what is left and return.
    fn begin_stop(&mut self, discard: bool) {
        if discard {
            // ORDERING: Relaxed: the flag only makes workers skip jobs sooner; whichever jobs
            // they still run or drop, every task resolves, so no ordering is needed.
            self.discard.store(true, Ordering::Relaxed);
            while let Ok(job) = self.queue.try_recv() {
                // Drops the job's promise (its task resolves `Cancelled`) and its captures,
                // whose drop may panic: caught, as a job's own panic is.
                caught(|| drop(job));
            }
        }
        // Disconnect: workers drain what is left (nothing, after a discard) and return.
        self.jobs = None;
    }

    /// A blocking shutdown's second half.
    fn join_workers(&mut self) {
        if self.workers.is_empty() {
            return; // joined already, or taken by `shutdown_async`
        }
        let current = thread::current().id();
        for worker in self.workers.drain(..) {
            // The last handle dropped by a job on one of our own workers (a job that holds an
            // `Arc<Pool>`): that worker cannot join itself. It returns after this job, once the
            // queue, disconnected above, is drained; we leave it detached.
            if worker.thread().id() == current {
                continue;
            }
            // A worker never unwinds (it catches every job's panic); an error here would be
            // a panic in the pool's own code, which must not be swallowed.
            if let Err(payload) = worker.join() {
                if !std::thread::panicking() {
                    panic::resume_unwind(payload);
                }
            }
        }
    }

    #[inline]
    pub(super) fn sender(&self) -> &Sender<Job> {
        self.jobs.as_ref().expect("pool used after shutdown began") // unreachable: shutdown takes `self`
    }
}

#[cfg(not(loom))]
thread_local! {
    /// On a worker thread, the pool it works for (the address of its `discard` flag: one per
    /// pool, alive while the thread is); `0` elsewhere.
    static WORKER_OF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks this thread as a worker of the pool whose `discard` flag this is.
fn mark_worker_of(discard: &Arc<AtomicBool>) {
    #[cfg(not(loom))]
    WORKER_OF.with(|pool| pool.set(Arc::as_ptr(discard) as usize));
    #[cfg(loom)]
    let _ = discard; // loom's threads share the process's thread-locals: no marks there
}

impl Pool {
    /// Whether the calling thread is one of this pool's workers (a job calling back into its
    /// own pool: `map_unordered` and `map_reduce` then map on the caller, `map.rs`). Always
    /// `false` under loom.
    pub(super) fn on_own_worker(&self) -> bool {
        #[cfg(not(loom))]
        return WORKER_OF.with(|pool| pool.get() == Arc::as_ptr(&self.discard) as usize);
        #[cfg(loom)]
        return false;
    }
}

/// The closure of a detached job the queue handed back (it was full).
///
/// # Safety
///
/// `job` is the box made from a `Detached<F>`.
unsafe fn unqueued_detached<F>(job: Job) -> F {
    // SAFETY: the caller's promise: the box holds a `Detached<F>`; the cast only drops the
    // vtable pointer.
    let job = unsafe { Box::from_raw(Box::into_raw(job).cast::<Detached<F>>()) };
    job.0
}

/// The closure of a job the queue handed back (it was full), its task's cell dropped unused.
///
/// # Safety
///
/// `job` is the box made from a `Packaged<F, R>` whose task is `task`.
unsafe fn unqueued<F, R>(job: Job, task: Task<R>) -> F {
    // SAFETY: the caller's promise: the box holds a `Packaged<F, R>`; the cast only drops the
    // vtable pointer.
    let job = unsafe { Box::from_raw(Box::into_raw(job).cast::<Packaged<F, R>>()) };
    let Packaged { f, promise } = *job;
    drop((promise, task)); // neither side of the unused cell is needed
    f
}

/// A worker: runs jobs until the queue is disconnected and empty.
fn work(queue: &Receiver<Job>, discard: &AtomicBool) {
    while let Ok(job) = queue.recv() {
        // ORDERING: Relaxed: see `Pool::stop`.
        if discard.load(Ordering::Relaxed) {
            // The captures' drop may panic: caught, so that the worker survives (as below).
            caught(|| drop(job));
            continue;
        }
        // `run` catches the closure's panic; this catches one from dropping the closure's
        // captures or an unwanted result, so the worker survives that too.
        // The payload is dropped inside a catch too (`wait::caught`).
        caught(|| job.run());
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.stop(false);
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("threads", &self.threads).field("queued", &self.queued()).finish()
    }
}
