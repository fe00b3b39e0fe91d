//! [`ShutdownFuture`]: the async way to shut a pool down.

use crate::WaitGroup;
use crate::sync::thread::JoinHandle;
use crate::wait::AsyncSlot;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future returned by [`Pool::shutdown_async`](super::Pool::shutdown_async) and
/// [`Pool::shutdown_now_async`](super::Pool::shutdown_now_async): resolves once every worker
/// has finished its last job and left its loop, without blocking the executor's thread while
/// they work.
///
/// The workers are not joined: each one counts itself out of a latch as it leaves its loop
/// (the future's condition), and its thread then only returns; the future detaches the
/// threads, which end on their own a moment later (after their thread-local destructors).
///
/// # Panics
///
/// When polled, while it waits, on one of the pool's own workers (inside a job of the same
/// pool): that worker would wait for itself forever. (The blocking
/// [`shutdown`](super::Pool::shutdown) leaves that worker detached instead.)
///
/// # Cancel safety
///
/// The shutdown is begun by the call that made the future (the queue is disconnected, and for
/// `shutdown_now_async` emptied); dropping the future only stops waiting for it: the workers
/// finish the queue and end on their own.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = ringfence::pool::Pool::new(2);
/// let tasks: Vec<_> = (0..4u64).map(|i| pool.submit(move || i * 10)).collect();
/// pool.shutdown_async().await; // every queued job ran; no thread blocked
/// for (i, task) in tasks.into_iter().enumerate() {
///     assert_eq!(task.await.unwrap(), i as u64 * 10);
/// }
/// # });
/// ```
#[must_use = "futures do nothing unless polled; the shutdown has begun either way"]
pub struct ShutdownFuture {
    /// The workers still in their loop.
    live: WaitGroup,
    slot: AsyncSlot,
    /// Detached when the future completes or is dropped.
    workers: Vec<JoinHandle<()>>,
    /// It returned `Ready` (for `FusedFuture`).
    done: bool,
}

impl ShutdownFuture {
    pub(super) fn new(live: WaitGroup, workers: Vec<JoinHandle<()>>) -> Self {
        ShutdownFuture { live, slot: AsyncSlot::default(), workers, done: false }
    }
}

impl Future for ShutdownFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.live.latch().poll_wait(&mut this.slot, cx.waker());
        if poll.is_ready() {
            this.workers.clear(); // detach: the threads only return now
            this.done = true;
        } else {
            let current = crate::sync::thread::current().id();
            assert!(
                this.workers.iter().all(|worker| worker.thread().id() != current),
                "Pool::shutdown_async awaited inside a job of the same pool: its worker would wait for itself"
            );
        }
        poll
    }
}

/// Terminated once it returned `Ready` (polled again anyway, it is `Ready` again).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for ShutdownFuture {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for ShutdownFuture {
    fn drop(&mut self) {
        if self.slot.is_registered() {
            self.live.latch().cancel_wait(&mut self.slot);
        }
    }
}

impl fmt::Debug for ShutdownFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownFuture").field("workers_running", &self.live.pending()).finish()
    }
}
