//! [`Pool::submit_async`] and [`Pool::spawn_async`]: submitting from async code, waiting for
//! room in the queue without blocking the executor's thread.

use super::handle::Pool;
use super::task::{Detached, Job, Task};
use crate::channel::SendFuture;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of [`Pool::submit_async`]: queues the job (waiting for room without blocking the
/// thread while the queue is full), then resolves to the job's [`Task`], which is itself a
/// future of the result.
///
/// # Cancel safety
///
/// Dropped before it resolved, the job was not queued: the closure (and what it captured) is
/// dropped with the future, unrun. This is the queue channel's
/// [`send_async`](crate::channel::Sender::send_async) promise; on a pool built with
/// `queue_capacity(0)` (a rendezvous queue) a pending submit has already offered the job to
/// the workers, and a worker may have taken it: then it is skipped if the worker finds the
/// future's `Task` gone before it starts, or runs and its result is dropped.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, SubmitFuture, Task};
///
/// let pool = Pool::new(2);
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let sum = rt.block_on(async {
///     let submitting: SubmitFuture<'_, u64> = pool.submit_async(|| (1..=10).sum());
///     let task: Task<u64> = submitting.await; // queued
///     task.await.unwrap() // and run
/// });
/// assert_eq!(sum, 55);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SubmitFuture<'a, R> {
    send: SendFuture<'a, Job>,
    /// Handed out when the send completes; `None` after.
    task: Option<Task<R>>,
}

impl<'a, R> SubmitFuture<'a, R> {
    pub(super) fn new(send: SendFuture<'a, Job>, task: Task<R>) -> Self {
        SubmitFuture { send, task: Some(task) }
    }
}

impl<R> Future for SubmitFuture<'_, R> {
    type Output = Task<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Task<R>> {
        let this = self.get_mut();
        assert!(this.task.is_some(), "a submit future polled after it completed");
        match Pin::new(&mut this.send).poll(cx) {
            Poll::Pending => Poll::Pending,
            // Never an error: the pool's own receiver keeps the queue connected. Were it one,
            // the job handed back is dropped here and the task resolves `Cancelled`.
            Poll::Ready(_) => Poll::Ready(this.task.take().expect("checked above")),
        }
    }
}

/// Terminated once it returned `Ready` (its task; polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<R> futures_core::future::FusedFuture for SubmitFuture<'_, R> {
    fn is_terminated(&self) -> bool {
        self.task.is_none()
    }
}

impl<R> fmt::Debug for SubmitFuture<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitFuture").field("queued", &self.task.is_none()).finish_non_exhaustive()
    }
}

/// The future of [`Pool::spawn_async`]: queues a detached job, waiting for room without blocking
/// the thread while the queue is full; resolves to `()` once the job is queued.
///
/// # Cancel safety
///
/// Dropped before it resolved, the job was not queued: the closure is dropped with the future,
/// unrun (the queue channel's [`send_async`](crate::channel::Sender::send_async) promise). On a
/// pool built with `queue_capacity(0)` a pending spawn has already offered the job to the
/// workers, and a worker may have taken it just before the drop: then it runs.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, SpawnFuture};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// let pool = Pool::new(2);
/// let hits = Arc::new(AtomicU32::new(0));
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let hits = Arc::clone(&hits);
///     let spawning: SpawnFuture<'_> = pool.spawn_async(move || {
///         hits.fetch_add(1, Ordering::Relaxed);
///     });
///     spawning.await; // queued; it runs on a worker
/// });
/// pool.shutdown();
/// assert_eq!(hits.load(Ordering::Relaxed), 1);
/// ```
#[must_use = "futures do nothing unless polled: an unpolled spawn queues nothing"]
pub struct SpawnFuture<'a> {
    send: SendFuture<'a, Job>,
    done: bool,
}

impl Future for SpawnFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        assert!(!this.done, "a spawn future polled after it completed");
        match Pin::new(&mut this.send).poll(cx) {
            Poll::Pending => Poll::Pending,
            // Never an error: the pool's own receiver keeps the queue connected. Were it one,
            // the job handed back is dropped here, unrun, as `Pool::spawn` drops it.
            Poll::Ready(_) => {
                this.done = true;
                Poll::Ready(())
            }
        }
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for SpawnFuture<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for SpawnFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnFuture").field("queued", &self.done).finish_non_exhaustive()
    }
}

impl Pool {
    /// [`spawn`](Pool::spawn) from async code: the future queues the detached job, waiting for
    /// room without blocking the thread while the queue is full (where `spawn` blocks, stalling
    /// every task of the executor's thread), and resolves to `()` once it is queued. No task:
    /// nothing can cancel the job once queued. Works with any executor.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it resolved, the job was not queued and the closure is dropped unrun
    /// (see [`SpawnFuture`] for a pool with `queue_capacity(0)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    /// let done = Arc::new(AtomicU32::new(0));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     // More jobs than the queue holds: each spawn waits for room, without blocking.
    ///     for _ in 0..5 {
    ///         let done = Arc::clone(&done);
    ///         pool.spawn_async(move || {
    ///             done.fetch_add(1, Ordering::Relaxed);
    ///         })
    ///         .await;
    ///     }
    /// });
    /// pool.shutdown(); // runs what is queued
    /// assert_eq!(done.load(Ordering::Relaxed), 5);
    /// ```
    pub fn spawn_async<F>(&self, f: F) -> SpawnFuture<'_>
    where
        F: FnOnce() + Send + 'static,
    {
        SpawnFuture { send: self.sender().send_async(Box::new(Detached(f))), done: false }
    }

    /// Submits `f` from async code: the future queues the job, waiting for room without
    /// blocking the thread while the queue is full (where [`submit`](Pool::submit) blocks),
    /// and resolves to its [`Task`]; await that for the result. Works with any executor.
    ///
    /// # Cancel safety
    ///
    /// Dropped before it resolved, the job was not queued and the closure is dropped unrun;
    /// on a pool with `queue_capacity(0)` a worker may already have taken it (see
    /// [`SubmitFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    ///
    /// let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let results = rt.block_on(async {
    ///     // More jobs than the queue holds: each submit waits for room, without blocking.
    ///     let mut tasks = Vec::new();
    ///     for i in 0..5u32 {
    ///         tasks.push(pool.submit_async(move || i * i).await);
    ///     }
    ///     let mut results = Vec::new();
    ///     for task in tasks {
    ///         results.push(task.await.unwrap());
    ///     }
    ///     results
    /// });
    /// assert_eq!(results, [0, 1, 4, 9, 16]);
    /// ```
    pub fn submit_async<F, R>(&self, f: F) -> SubmitFuture<'_, R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, task) = super::task::Packaged::new(f);
        SubmitFuture::new(self.sender().send_async(Box::new(job)), task)
    }
}
