//! A wait group: count outstanding work, mark it done, wait until none is left (Python's
//! `queue.Queue.task_done()` / `join()`, Go's `sync.WaitGroup`).
//!
//! Producer-consumer with completion tracking: the producer counts each item before it sends it
//! ([`WaitGroup::add`], or [`WaitGroup::track`] for a guard that travels with the item), the
//! consumer marks it done after processing it ([`WaitGroup::done`], or by dropping the guard),
//! and anyone can wait until everything counted so far has been processed
//! ([`WaitGroup::wait`], [`WaitGroup::wait_timeout`], or [`WaitGroup::wait_async`] in a task:
//! asyncio's `await queue.join()`).
//!
//! It is the crate's countdown latch (one atomic count and a wait queue of the waiting layer)
//! behind a cloneable handle: `done` is one atomic RMW, and only the one that brings the count
//! to zero wakes the waiters; waiting spins briefly and then parks on a futex.
//!
//! # Guarantees
//!
//! - Everything a thread did before its `done` (or before dropping its [`Pending`] guard)
//!   happens-before the return of a `wait` that saw the count reach zero.
//! - No lost wakeup (loom-checked): a waiter sees zero or is woken by the `done` that made it.
//! - Marking done more than was added is a bug that gets a clear panic, never a wrapped count.
//! - A [`Pending`] guard marks its item done when dropped, also while unwinding from a panic in
//!   the consumer, so a crashed consumer cannot leave `wait` hanging on its item.
//!
//! As with Go's `WaitGroup`: an `add` that races a `wait` on a count of zero may or may not be
//! seen by that wait; count work before handing it out.

use crate::latch::Latch;
use crate::sync::Arc;
use crate::wait::AsyncSlot;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Counts outstanding work; [`wait`](WaitGroup::wait) blocks until none is left.
///
/// Clones share one count.
///
/// # Examples
///
/// The seed's `q.join()`: wait until every queued item has been processed.
///
/// ```
/// use ringfence::WaitGroup;
/// use ringfence::channel::bounded;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// let (tx, rx) = bounded::<(u64, ringfence::Pending)>(16);
/// let processed = Arc::new(AtomicU64::new(0));
/// for _ in 0..3 {
///     let (rx, processed) = (rx.clone(), processed.clone());
///     std::thread::spawn(move || {
///         for (item, pending) in rx.iter() {
///             processed.fetch_add(item, Ordering::Relaxed);
///             drop(pending); // task_done()
///         }
///     });
/// }
/// let work = ringfence::WaitGroup::new();
/// for item in 1..=100 {
///     tx.send((item, work.track())).unwrap(); // put()
/// }
/// work.wait(); // join(): every item sent so far has been processed
/// assert_eq!(processed.load(Ordering::Relaxed), 5050);
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    latch: Arc<Latch>,
}

/// One unit of outstanding work, marked done when dropped (see [`WaitGroup::track`]).
///
/// Send it along with the item it stands for; drop it once the item has been processed.
///
/// # Examples
///
/// ```
/// let work = ringfence::WaitGroup::new();
/// let pending = work.track();
/// assert_eq!(work.pending(), 1);
/// std::thread::spawn(move || {
///     // ... process the item ...
///     drop(pending); // done
/// });
/// work.wait();
/// assert_eq!(work.pending(), 0);
/// ```
#[must_use = "dropping a Pending marks its work done at once"]
pub struct Pending {
    latch: Arc<Latch>,
}

impl WaitGroup {
    /// A wait group with nothing outstanding.
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// assert_eq!(work.pending(), 0);
    /// work.wait(); // returns at once
    /// ```
    #[must_use]
    pub fn new() -> Self {
        WaitGroup { latch: Arc::new(Latch::new()) }
    }

    /// Counts `n` more units of outstanding work.
    ///
    /// # Panics
    ///
    /// Panics with `"WaitGroup::add: more than usize::MAX / 2 units outstanding"` when the
    /// count would pass `usize::MAX / 2` (a leak, not a workload).
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// work.add(2);
    /// assert_eq!(work.pending(), 2);
    /// work.done();
    /// work.done();
    /// work.wait();
    /// ```
    pub fn add(&self, n: usize) {
        if self.latch.try_count_up_by(n).is_err() {
            panic!("WaitGroup::add: more than usize::MAX / 2 units outstanding");
        }
    }

    /// Marks one unit done; the last one wakes every waiter.
    ///
    /// # Panics
    ///
    /// Panics with `"WaitGroup::done: called more times than work was added"` when nothing is
    /// outstanding.
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// work.add(1);
    /// let w = work.clone();
    /// std::thread::spawn(move || w.done());
    /// work.wait();
    /// ```
    pub fn done(&self) {
        assert!(self.latch.try_count_down(), "WaitGroup::done: called more times than work was added");
    }

    /// Counts one unit of work and returns the guard that marks it done when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// let pending = work.track();
    /// assert_eq!(work.pending(), 1);
    /// std::thread::spawn(move || drop(pending));
    /// work.wait();
    /// ```
    pub fn track(&self) -> Pending {
        self.add(1);
        Pending { latch: Arc::clone(&self.latch) }
    }

    /// The latch underneath, for futures of the crate that own their wait group (the pool's
    /// `ShutdownFuture`) and so cannot hold a borrowing [`WaitGroupFuture`].
    pub(crate) fn latch(&self) -> &Latch {
        &self.latch
    }

    /// The units outstanding right now (a snapshot: other threads may change it at once).
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// let _a = work.track();
    /// assert_eq!(work.pending(), 1);
    /// ```
    #[must_use]
    pub fn pending(&self) -> usize {
        self.latch.count()
    }

    /// Blocks until nothing is outstanding (returns at once if nothing is).
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// let jobs: Vec<_> = (0..4).map(|_| work.track()).collect();
    /// for job in jobs {
    ///     std::thread::spawn(move || drop(job));
    /// }
    /// work.wait();
    /// assert_eq!(work.pending(), 0);
    /// ```
    pub fn wait(&self) {
        self.latch.wait();
    }

    /// Waits at most `timeout`; `true` if nothing was outstanding by then. A timeout too large
    /// to represent waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let work = ringfence::WaitGroup::new();
    /// let pending = work.track();
    /// assert!(!work.wait_timeout(Duration::from_millis(1)));
    /// drop(pending);
    /// assert!(work.wait_timeout(Duration::from_secs(60)));
    /// ```
    #[must_use = "false means work is still outstanding"]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.latch.wait_deadline(crate::wait::deadline_after(timeout))
    }

    /// Waits until `deadline` at the latest; `true` if nothing was outstanding by then.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let work = ringfence::WaitGroup::new();
    /// assert!(work.wait_deadline(Instant::now() + Duration::from_millis(1)));
    /// ```
    #[must_use = "false means work is still outstanding"]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.latch.wait_deadline(Some(deadline))
    }

    /// Waits in a task until nothing is outstanding, without blocking the thread (asyncio's
    /// `await queue.join()`): the future resolves at a poll that finds nothing outstanding, at
    /// once if nothing is, else after the last outstanding unit is marked done wakes it.
    /// Runtime-agnostic; for a timeout wrap it in [`timer::timeout`](crate::timer::timeout).
    ///
    /// Like [`WaitGroup::wait`] it looks at the count, not at an event: work added between the
    /// wakeup and the task's poll is waited for too (asyncio's `join` would return), so a group
    /// that never drains keeps it waiting. Count work before handing it out, as with `wait`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it takes and changes nothing. Dropped, it only leaves its queue (and passes
    /// no wakeup on: the last `done` wakes every waiter).
    ///
    /// # Examples
    ///
    /// Async consumers, and a producer that waits until they have processed everything sent:
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::channel::bounded;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    ///
    /// let (tx, rx) = bounded::<(u64, ringfence::Pending)>(4);
    /// let processed = Arc::new(AtomicU64::new(0));
    /// for _ in 0..2 {
    ///     let (rx, processed) = (rx.clone(), processed.clone());
    ///     tokio::spawn(async move {
    ///         while let Ok((item, pending)) = rx.recv_async().await {
    ///             processed.fetch_add(item, Ordering::Relaxed);
    ///             drop(pending); // task_done()
    ///         }
    ///     });
    /// }
    /// let work = ringfence::WaitGroup::new();
    /// for item in 1..=100 {
    ///     tx.send_async((item, work.track())).await.unwrap(); // put()
    /// }
    /// work.wait_async().await; // join()
    /// assert_eq!(processed.load(Ordering::Relaxed), 5050);
    /// # });
    /// ```
    pub fn wait_async(&self) -> WaitGroupFuture<'_> {
        WaitGroupFuture { latch: &self.latch, slot: AsyncSlot::default(), done: false }
    }
}

/// The future of [`WaitGroup::wait_async`]: resolves at a poll that finds nothing outstanding.
///
/// # Cancel safety
///
/// Cancel-safe: it takes and changes nothing. Dropped, it only leaves its queue.
///
/// # Examples
///
/// ```
/// let work = ringfence::WaitGroup::new();
/// let pending = work.track();
/// let mut wait = work.wait_async();
/// # use std::future::Future;
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(std::pin::Pin::new(&mut wait).poll(&mut cx).is_pending());
/// pending.done();
/// assert!(std::pin::Pin::new(&mut wait).poll(&mut cx).is_ready());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitGroupFuture<'a> {
    latch: &'a Latch,
    slot: AsyncSlot,
    /// It returned `Ready` (for `FusedFuture`; polled again it checks again).
    done: bool,
}

impl Future for WaitGroupFuture<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.latch.poll_wait(&mut this.slot, cx.waker());
        this.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it returned `Ready` (polled again anyway, it checks the count again).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for WaitGroupFuture<'_> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl Drop for WaitGroupFuture<'_> {
    fn drop(&mut self) {
        if self.slot.is_registered() {
            self.latch.cancel_wait(&mut self.slot);
        }
    }
}

impl fmt::Debug for WaitGroupFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroupFuture")
            .field("pending", &self.latch.count())
            .field("waiting", &self.slot.is_registered())
            .finish()
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl Pending {
    /// Marks the work done now (the same as dropping the guard).
    ///
    /// # Panics
    ///
    /// As any `done` too many, with `"WaitGroup::done: called more times than work was added"`,
    /// when a bare [`WaitGroup::done`] already took this guard's unit (do not mix the two for
    /// one item). Dropped while its thread unwinds from another panic, the guard does not panic
    /// a second time (that would abort the process).
    ///
    /// # Examples
    ///
    /// ```
    /// let work = ringfence::WaitGroup::new();
    /// work.track().done();
    /// assert_eq!(work.pending(), 0);
    /// ```
    pub fn done(self) {
        drop(self);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // This guard's own unit is still counted unless a bare `WaitGroup::done` took it (a
        // misuse: one unit marked done twice). That gets the same clear panic as any `done`
        // too many, in every build, except while the thread already unwinds (a consumer that
        // crashed, the case the guard is for): a second panic there would abort the process.
        if !self.latch.try_count_down() && !std::thread::panicking() {
            panic!("WaitGroup::done: called more times than work was added");
        }
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup").field("pending", &self.pending()).finish()
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pending")
    }
}
