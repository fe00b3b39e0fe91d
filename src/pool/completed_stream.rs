//! [`AsCompleted`] as a `futures_core::Stream` (the `futures` feature): [`CompletedStream`],
//! from [`AsCompleted::stream`] or [`AsCompleted::into_stream`].
//!
//! A type of its own rather than a `Stream` impl on `AsCompleted`, which is an `Iterator`: with
//! `StreamExt` in scope every method the two traits share (`next`, `map`, `take`, `collect`,
//! ...) would be ambiguous on it (E0034). The same choice as the channel's `Receiver::stream`.

use super::completion::AsCompleted;
use super::error::TaskError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The tasks of an [`AsCompleted`] as a `futures_core::Stream` (and `FusedStream`) of
/// `(position, result)` in completion order, like futures' `FuturesUnordered`; from
/// [`AsCompleted::stream`] (borrowing) or [`AsCompleted::into_stream`].
///
/// # Cancel safety
///
/// A result is taken out of the set only in the poll that returns it, so dropping the stream,
/// or a `StreamExt::next` future, loses no task and no result. Between polls the stream stays
/// registered on the set's ready channel with the last poll's waker, as any `Stream` does;
/// dropping the stream withdraws the registration (so a borrowing stream leaves none behind
/// for the blocking `next`).
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use ringfence::pool::{as_completed, Pool};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = Pool::new(2);
/// let squares = as_completed((1..=4u64).map(|n| pool.submit(move || n * n)));
/// let total: u64 = squares.into_stream().map(|(_, square)| square.unwrap()).fold(0, |a, b| async move { a + b }).await;
/// assert_eq!(total, 1 + 4 + 9 + 16);
/// pool.shutdown_async().await;
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub struct CompletedStream<'a, R> {
    tasks: Handle<'a, R>,
}

enum Handle<'a, R> {
    Borrowed(&'a mut AsCompleted<R>),
    Owned(AsCompleted<R>),
}

impl<R> CompletedStream<'_, R> {
    fn tasks(&mut self) -> &mut AsCompleted<R> {
        match &mut self.tasks {
            Handle::Borrowed(tasks) => tasks,
            Handle::Owned(tasks) => tasks,
        }
    }

    fn remaining(&self) -> usize {
        match &self.tasks {
            Handle::Borrowed(tasks) => tasks.len(),
            Handle::Owned(tasks) => tasks.len(),
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<R> AsCompleted<R> {
    /// A stream of the tasks not yet yielded, borrowing the set (the blocking
    /// [`next`](Iterator::next) and [`next_async`](AsCompleted::next_async) may be used again
    /// once it is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ringfence::pool::{as_completed, Pool};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pool = Pool::new(2);
    /// let mut done = as_completed((0..3u32).map(|i| pool.submit(move || i)));
    /// let (_, first) = done.stream().next().await.unwrap();
    /// assert!(first.unwrap() < 3);
    /// assert_eq!(done.len(), 2); // the rest, still in the set
    /// assert_eq!(done.count(), 2); // blocking, now that the stream is gone
    /// # });
    /// ```
    pub fn stream(&mut self) -> CompletedStream<'_, R> {
        CompletedStream { tasks: Handle::Borrowed(self) }
    }

    /// A stream of the tasks not yet yielded, owning the set (for a `'static` stream: a
    /// spawned task's, or one stored in a struct).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ringfence::pool::{as_completed, Pool};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pool = Pool::new(2);
    /// let done = as_completed((0..3u32).map(|i| pool.submit(move || i * 10)));
    /// let mut results: Vec<u32> = done.into_stream().map(|(_, r)| r.unwrap()).collect().await;
    /// results.sort_unstable();
    /// assert_eq!(results, [0, 10, 20]);
    /// # });
    /// ```
    pub fn into_stream(self) -> CompletedStream<'static, R> {
        CompletedStream { tasks: Handle::Owned(self) }
    }
}

impl<R> futures_core::Stream for CompletedStream<'_, R> {
    type Item = (usize, Result<R, TaskError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().tasks().set.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

/// Terminated once every task was yielded: `poll_next` then returns `None` (and keeps doing so).
impl<R> futures_core::FusedStream for CompletedStream<'_, R> {
    fn is_terminated(&self) -> bool {
        self.remaining() == 0
    }
}

impl<R> Drop for CompletedStream<'_, R> {
    /// Withdraws the stream's registration on the ready channel (one check when it has none):
    /// a registration left behind would keep the last poll's waker until the next poll.
    fn drop(&mut self) {
        self.tasks().set.leave_queue();
    }
}

impl<R> fmt::Debug for CompletedStream<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletedStream").field("remaining", &self.remaining()).finish()
    }
}
