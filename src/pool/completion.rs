//! Waiting for whichever of several tasks finishes first: [`as_completed`] and the engine under
//! [`Pool::map_unordered`](super::Pool::map_unordered).
//!
//! Each task sits in a slot with a waker of its own. Polling a task registers that waker in the
//! task's oneshot cell; when the job finishes, the cell wakes it, and the waker pushes the slot
//! index into a ready channel (this crate's [`channel`]). The consumer blocks on that channel
//! (spin, then futex), takes an index, and polls that one task. No thread per task, no polling
//! loop, and the tasks may come from any pool.
//!
//! Each slot has at most one index in the channel: a waker is registered only when a poll
//! returns `Pending`, the cell wakes a registered waker once, and the slot is polled again only
//! after its index came out of the channel. So a channel of one entry per slot never fills (it
//! has two per slot, as a margin). A wake that finds its slot's task already gone (it cannot
//! happen by that argument) would only cause one extra poll of whatever sits there now, which
//! re-registers if it is not ready: robust either way.
//!
//! The async forms (`AsCompleted::next_async`, and `poll_next` of its `Stream` with the
//! `futures` feature) poll the same channel through one [`RecvStream`] kept in the set, instead
//! of blocking on it. An index is taken only by the poll that then polls its slot's task in the
//! same poll, so a dropped future loses no index; the one-index-per-slot argument above is
//! unchanged. The set has one registration on the channel, the stream's: every async poll
//! refreshes its waker, and a blocking wait first takes it out of the channel's queue (a stale
//! registration would take the wakeup meant for the blocked thread: the channel wakes a
//! registered future before a parked thread).

use super::error::TaskError;
use super::task::Task;
use crate::channel::{self, Receiver, RecvStream, RecvTimeoutError, Sender, TrySendError};
use crate::wait::caught;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Tasks in slots, each tagged by the caller, yielded in completion order.
pub(crate) struct CompletionSet<R> {
    /// `(tag, task)` per occupied slot.
    slots: Vec<Option<(usize, Task<R>)>>,
    /// The waker of each slot (made once, reused by every task that occupies the slot).
    wakers: Vec<Waker>,
    /// Unoccupied slots.
    free: Vec<usize>,
    /// Results found ready when their task was inserted.
    done: VecDeque<(usize, Result<R, TaskError>)>,
    /// Slot indices whose task woke its waker: a stream over the receiver, whose registration
    /// the async polls share (module docs).
    ready: RecvStream<'static, usize>,
    /// Tasks inserted and not yet yielded.
    pending: usize,
}

/// Pushes its slot index into the ready channel when the slot's task finishes. (`std`'s `Arc`,
/// not the facade's, also under loom: `Waker::from` takes that type.)
struct SlotWaker {
    slot: usize,
    ready: Sender<usize>,
}

impl Wake for SlotWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // `Disconnected`: the set is gone (its tasks were dropped), nobody waits: fine.
        // `Full` cannot happen (module docs): each slot has at most one index in the channel.
        let pushed = self.ready.try_send(self.slot);
        debug_assert!(
            !matches!(pushed, Err(TrySendError::Full(_))),
            "a slot woke twice before it was polled"
        );
    }
}

impl<R> CompletionSet<R> {
    /// A set with room for `capacity` tasks at once (at least 1).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, ready) = channel::bounded(capacity.saturating_mul(2));
        let wakers = (0..capacity)
            .map(|slot| Waker::from(std::sync::Arc::new(SlotWaker { slot, ready: tx.clone() })))
            .collect();
        CompletionSet {
            slots: (0..capacity).map(|_| None).collect(),
            wakers,
            free: (0..capacity).rev().collect(),
            done: VecDeque::new(),
            ready: ready.into_stream(),
            pending: 0,
        }
    }

    /// Tasks inserted and not yet yielded by [`CompletionSet::next`].
    pub(crate) fn len(&self) -> usize {
        self.pending
    }

    /// Adds a task. The set must have a free slot (`len() < capacity`).
    pub(crate) fn insert(&mut self, tag: usize, mut task: Task<R>) {
        let slot = self.free.pop().expect("CompletionSet::insert: no free slot");
        self.pending += 1;
        match poll_task(&mut task, &self.wakers[slot]) {
            Poll::Ready(result) => {
                self.free.push(slot);
                self.done.push_back((tag, result));
            }
            Poll::Pending => self.slots[slot] = Some((tag, task)),
        }
    }

    /// Blocks until the next task finishes and returns its tag and result; `None` when empty.
    pub(crate) fn next(&mut self) -> Option<(usize, Result<R, TaskError>)> {
        match self.next_until(None) {
            Next::Finished(tag, result) => Some((tag, result)),
            Next::Empty | Next::TimedOut => None,
        }
    }

    /// Like [`CompletionSet::next`], but gives up at `deadline` (`None`: never).
    pub(crate) fn next_until(&mut self, deadline: Option<Instant>) -> Next<R> {
        // A registration left by an async poll would take the wakeup meant for this thread.
        self.ready.leave_queue();
        self.next_with(|ready| match deadline {
            None => ready.recv().ok(),
            Some(deadline) => ready.recv_deadline(deadline).ok(),
        })
    }

    /// Like [`CompletionSet::next`], but never blocks: `TimedOut` when no task has finished.
    pub(crate) fn try_next(&mut self) -> Next<R> {
        self.next_with(|ready| ready.try_recv().ok())
    }

    /// The next finished task, taking slot indices from the ready channel with `receive`
    /// (`None`: give up).
    fn next_with(&mut self, mut receive: impl FnMut(&Receiver<usize>) -> Option<usize>) -> Next<R> {
        if let Some((tag, result)) = self.take_done() {
            return Next::Finished(tag, result);
        }
        if self.pending == 0 {
            return Next::Empty;
        }
        loop {
            // The wakers in `self` hold senders, so the channel never disconnects: nothing
            // received is a timeout.
            let Some(slot) = receive(self.ready.receiver()) else { return Next::TimedOut };
            if let Some((tag, result)) = self.poll_slot(slot) {
                return Next::Finished(tag, result);
            }
        }
    }

    /// [`CompletionSet::next`] for a task: polls the ready channel instead of blocking on it.
    /// `Pending` leaves the set's stream registered on the channel with `cx`'s waker.
    /// Cancel-safe: a slot index is taken from the channel only by the poll that then polls
    /// that slot's task (and returns its result if it is ready), so a poll that returns
    /// `Pending` has taken nothing.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Result<R, TaskError>)>> {
        if let Some(finished) = self.take_done() {
            return Poll::Ready(Some(finished));
        }
        if self.pending == 0 {
            self.ready.leave_queue();
            return Poll::Ready(None);
        }
        loop {
            // The stream's poll takes what is in the channel first, and registers only when
            // it is empty.
            let Some(slot) = std::task::ready!(self.ready.poll_next_value(cx)) else {
                unreachable!("the slots' wakers hold senders: the ready channel never disconnects")
            };
            if let Some(finished) = self.poll_slot(slot) {
                return Poll::Ready(Some(finished));
            }
        }
    }

    /// A result found ready when its task was inserted, if any.
    fn take_done(&mut self) -> Option<(usize, Result<R, TaskError>)> {
        let finished = self.done.pop_front()?;
        self.pending -= 1;
        Some(finished)
    }

    /// Takes the set's stream out of the ready channel's queue, for an async wait dropped
    /// unfinished (its waker would otherwise stay registered until the next poll).
    pub(crate) fn leave_queue(&mut self) {
        self.ready.leave_queue();
    }

    /// Polls the task in `slot` (whose waker fired) and takes it out of the set if it finished.
    fn poll_slot(&mut self, slot: usize) -> Option<(usize, Result<R, TaskError>)> {
        let (_, task) = self.slots[slot].as_mut()?;
        let Poll::Ready(result) = poll_task(task, &self.wakers[slot]) else { return None };
        let (tag, _) = self.slots[slot].take().expect("slot checked occupied above");
        self.free.push(slot);
        self.pending -= 1;
        Some((tag, result))
    }

    /// Drops every task not yet yielded (cancelling the jobs that have not started).
    pub(crate) fn clear(&mut self) {
        // The tasks' results are the user's values, dropped here unseen: each `Drop` is caught,
        // so that a panic in one leaves the set consistent and cannot unwind through a caller
        // that has what it gathered to return (a scatter's winner).
        for slot in 0..self.slots.len() {
            if let Some(entry) = self.slots[slot].take() {
                self.free.push(slot);
                caught(move || drop(entry));
            }
        }
        for result in self.done.drain(..) {
            caught(move || drop(result));
        }
        self.pending = 0;
        self.ready.leave_queue();
        while self.ready.receiver().try_recv().is_ok() {}
    }
}

/// What [`CompletionSet::next_until`] found.
pub(crate) enum Next<R> {
    /// A task finished: its tag and result.
    Finished(usize, Result<R, TaskError>),
    /// No task is left.
    Empty,
    /// The deadline passed first.
    TimedOut,
}

fn poll_task<R>(task: &mut Task<R>, waker: &Waker) -> Poll<Result<R, TaskError>> {
    Pin::new(task).poll(&mut Context::from_waker(waker))
}

/// Waits for `tasks` in the order they finish, yielding each one's position in `tasks` with its
/// result (the seed's `as_completed`).
///
/// The tasks may come from any pool (or several). The iterator blocks in `next` until one more
/// task resolves (in a task, await [`AsCompleted::next_async`] instead); it ends after every
/// task was yielded. Dropping it drops the tasks not yet
/// yielded, which cancels their jobs if they have not started.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{as_completed, Pool};
/// use std::time::Duration;
///
/// let pool = Pool::new(2);
/// let slow = pool.submit(|| { std::thread::sleep(Duration::from_millis(50)); "slow" });
/// let fast = pool.submit(|| "fast");
/// let order: Vec<(usize, &str)> = as_completed([slow, fast]).map(|(i, r)| (i, r.unwrap())).collect();
/// assert_eq!(order, [(1, "fast"), (0, "slow")]);
/// ```
pub fn as_completed<R>(tasks: impl IntoIterator<Item = Task<R>>) -> AsCompleted<R> {
    let tasks: Vec<Task<R>> = tasks.into_iter().collect();
    let mut set = CompletionSet::with_capacity(tasks.len());
    for (index, task) in tasks.into_iter().enumerate() {
        set.insert(index, task);
    }
    AsCompleted { set }
}

/// The iterator returned by [`as_completed`]: `(position, result)` in completion order.
///
/// It knows how many tasks are left ([`ExactSizeIterator`]). In a task, await
/// [`next_async`](AsCompleted::next_async); with the `futures` feature,
/// `stream()` / `into_stream()` make it a `futures_core::Stream` of the same pairs (a
/// `CompletedStream`: a separate type, so that `StreamExt`'s methods do not collide with
/// `Iterator`'s).
///
/// # Examples
///
/// ```
/// use ringfence::pool::{as_completed, AsCompleted, Pool};
///
/// let pool = Pool::new(2);
/// let mut done: AsCompleted<u32> = as_completed((0..3u32).map(|i| pool.submit(move || i + 1)));
/// assert_eq!(done.len(), 3);
/// let (position, result) = done.next().unwrap();
/// assert_eq!(result.unwrap(), position as u32 + 1, "each result comes with its task's position");
/// assert_eq!(done.len(), 2);
/// assert_eq!(done.count(), 2);
/// ```
#[must_use = "iterators are lazy; dropping this one drops (and may cancel) the tasks"]
pub struct AsCompleted<R> {
    pub(super) set: CompletionSet<R>,
}

impl<R> Iterator for AsCompleted<R> {
    type Item = (usize, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        self.set.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.len(), Some(self.set.len()))
    }
}

impl<R> ExactSizeIterator for AsCompleted<R> {}

// Nothing in the set is ever pinned (the tasks are polled through `&mut`, their results moved
// out), so it may move whatever `R` is: an owning stream (`completed_stream.rs`) is then
// `Unpin`, as futures' `FuturesUnordered` is (a `VecDeque<R>` would make it `Unpin` only for
// `R: Unpin`).
impl<R> Unpin for AsCompleted<R> {}

impl<R> AsCompleted<R> {
    /// [`next`](Iterator::next), blocking at most `timeout` (Python's `as_completed(timeout=)`,
    /// per result): `Err(Timeout)` when no task finished in time (the tasks stay, and the next
    /// call may yield them), `Err(Disconnected)` once every task was yielded. A timeout too
    /// large to represent waits as long as it takes.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when no task finished in time;
    /// [`RecvTimeoutError::Disconnected`] when no task is left (the iterator's `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::RecvTimeoutError;
    /// use ringfence::pool::{as_completed, Pool};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(2);
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let hung = pool.submit(move || gate.recv().is_ok());
    /// let quick = pool.submit(|| true);
    /// let mut done = as_completed([hung, quick]);
    /// assert_eq!(done.next_timeout(Duration::from_secs(60)).map(|(i, _)| i), Ok(1));
    /// let waited = done.next_timeout(Duration::from_millis(10));
    /// assert!(matches!(waited, Err(RecvTimeoutError::Timeout)), "the hung job holds nobody for good");
    /// release.send(()).unwrap();
    /// assert_eq!(done.next_timeout(Duration::from_secs(60)).map(|(i, _)| i), Ok(0));
    /// assert!(matches!(done.next_timeout(Duration::ZERO), Err(RecvTimeoutError::Disconnected)));
    /// ```
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<(usize, Result<R, TaskError>), RecvTimeoutError> {
        match crate::wait::deadline_after(timeout) {
            Some(deadline) => self.next_deadline(deadline),
            None => self.next().ok_or(RecvTimeoutError::Disconnected),
        }
    }

    /// [`next`](Iterator::next), blocking at most until `deadline`: as
    /// [`next_timeout`](AsCompleted::next_timeout).
    ///
    /// # Errors
    ///
    /// As [`next_timeout`](AsCompleted::next_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{as_completed, Pool};
    /// use std::time::{Duration, Instant};
    ///
    /// let pool = Pool::new(2);
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// let mut done = as_completed((0..3u32).map(|i| pool.submit(move || i * 10)));
    /// let mut results = Vec::new();
    /// while let Ok((_, result)) = done.next_deadline(deadline) {
    ///     results.push(result.unwrap());
    /// }
    /// results.sort_unstable();
    /// assert_eq!(results, [0, 10, 20]);
    /// ```
    pub fn next_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<(usize, Result<R, TaskError>), RecvTimeoutError> {
        match self.set.next_until(Some(deadline)) {
            Next::Finished(position, result) => Ok((position, result)),
            Next::Empty => Err(RecvTimeoutError::Disconnected),
            Next::TimedOut => Err(RecvTimeoutError::Timeout),
        }
    }

    /// The next task to finish, awaited instead of blocking: `(position, result)`, or `None`
    /// once every task was yielded (tokio's `JoinSet::join_next`). Blocking [`next`](Iterator::next)
    /// and `next_async` may be mixed on one `AsCompleted`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a result is taken out of the set only in the poll that returns it, so
    /// dropping the future (a `select!` whose other branch won) loses no task and no result;
    /// the next call yields it.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::pool::{as_completed, Pool};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new(2);
    /// let slow = pool.submit(|| { std::thread::sleep(Duration::from_millis(50)); "slow" });
    /// let fast = pool.submit(|| "fast");
    /// let mut done = as_completed([slow, fast]);
    /// let mut order = Vec::new();
    /// while let Some((position, result)) = done.next_async().await {
    ///     order.push((position, result.unwrap()));
    /// }
    /// assert_eq!(order, [(1, "fast"), (0, "slow")]);
    /// pool.shutdown_async().await;
    /// # });
    /// ```
    pub fn next_async(&mut self) -> NextFuture<'_, R> {
        NextFuture { set: &mut self.set, ended: false }
    }
}

/// The future of [`AsCompleted::next_async`]: the next task to finish, `(position, result)`,
/// or `None` once every task was yielded.
///
/// # Cancel safety
///
/// Cancel-safe: a result is taken out of the set only in the poll that returns it. Dropped
/// unfinished, it withdraws its registration on the set's ready channel at once.
///
/// A poll after it returned `Ready` does not panic: it waits for the next task, as a fresh
/// `next_async()` would (the future is a view of the set, not a one-shot result).
///
/// # Examples
///
/// ```
/// use ringfence::pool::{as_completed, NextFuture, Pool};
///
/// let pool = Pool::new(1);
/// let mut done = as_completed([pool.submit(|| 7)]);
/// let next: NextFuture<'_, i32> = done.next_async();
/// let (position, result) = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(next).unwrap();
/// assert_eq!((position, result.unwrap()), (0, 7));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct NextFuture<'a, R> {
    set: &'a mut CompletionSet<R>,
    /// It returned `Ready(None)`: every task was yielded (for `FusedFuture`).
    ended: bool,
}

impl<R> Future for NextFuture<'_, R> {
    type Output = Option<(usize, Result<R, TaskError>)>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let poll = this.set.poll_next(cx);
        this.ended |= matches!(poll, Poll::Ready(None));
        poll
    }
}

/// Terminated once it returned `None` (every task was yielded), as `StreamExt::next`'s future
/// and the channel's `NextFuture`: a `Some` leaves it usable for the next one.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<R> futures_core::future::FusedFuture for NextFuture<'_, R> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<R> Drop for NextFuture<'_, R> {
    /// Dropped unfinished, the wait leaves the ready channel's queue (as a dropped
    /// `recv_async` does) rather than keep its waker registered until the next poll. One check
    /// when it holds nothing.
    fn drop(&mut self) {
        self.set.leave_queue();
    }
}

impl<R> fmt::Debug for NextFuture<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextFuture").field("remaining", &self.set.len()).finish()
    }
}

impl<R> fmt::Debug for AsCompleted<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted").field("remaining", &self.set.len()).finish()
    }
}
