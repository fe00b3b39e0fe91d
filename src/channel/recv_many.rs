//! Batch receives: [`Receiver::recv_many`] and [`Receiver::recv_many_async`] (tokio's
//! `recv_many`): wait for one value, then take what else is ready, up to a limit, without
//! waiting again. One wait (and one wakeup) for a whole backlog is what a batching consumer
//! wants: it writes a batch, flushes once, and waits again.

use super::error::RecvError;
use super::future::RecvFuture;
use super::receiver::Receiver;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

impl<T> Receiver<T> {
    /// Blocks until a value is ready, then appends it and every value ready after it to
    /// `buffer`, up to `limit` values in all, without blocking again. Returns how many it
    /// appended: at least one, or `0` when the channel is empty and disconnected (or `limit`
    /// is `0`). Values keep the channel's order; `buffer`'s contents are kept (it is appended
    /// to, as tokio's `recv_many`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(8);
    /// for value in 0..5 {
    ///     tx.send(value).unwrap();
    /// }
    /// let mut batch = Vec::new();
    /// assert_eq!(rx.recv_many(&mut batch, 3), 3);
    /// assert_eq!(rx.recv_many(&mut batch, 3), 2); // what was left: no wait for a third
    /// assert_eq!(batch, [0, 1, 2, 3, 4]);
    /// drop(tx);
    /// assert_eq!(rx.recv_many(&mut batch, 3), 0); // empty and disconnected
    /// ```
    pub fn recv_many(&self, buffer: &mut Vec<T>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        match self.recv() {
            Ok(first) => {
                buffer.push(first);
                1 + self.take_ready(buffer, limit - 1)
            }
            Err(RecvError) => 0,
        }
    }

    /// The async form of [`recv_many`](Receiver::recv_many): waits (without blocking the
    /// thread) until a value is ready, then appends it and what else is ready, up to `limit`.
    /// Resolves to the number appended, `0` once the channel is empty and disconnected (or
    /// for a `limit` of `0`).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`recv_async`](Receiver::recv_async): values are taken, and appended
    /// to `buffer`, only in the poll that returns `Ready`; a future dropped before leaves
    /// every value in the channel and `buffer` untouched.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::unbounded();
    /// tokio::spawn(async move {
    ///     for value in 0..100 {
    ///         tx.send(value).unwrap();
    ///     }
    /// });
    /// let mut batch = Vec::new();
    /// let mut batches = 0;
    /// while rx.recv_many_async(&mut batch, 32).await > 0 {
    ///     batches += 1;
    /// }
    /// assert_eq!(batch, (0..100).collect::<Vec<_>>());
    /// assert!(batches >= 4); // at most 32 a time
    /// # });
    /// ```
    pub fn recv_many_async<'a, 'b>(
        &'a self,
        buffer: &'b mut Vec<T>,
        limit: usize,
    ) -> RecvManyFuture<'a, 'b, T> {
        RecvManyFuture { receiver: self, first: self.recv_async(), buffer, limit, done: false }
    }

    /// Appends up to `max` values that are ready now; the number appended.
    fn take_ready(&self, buffer: &mut Vec<T>, max: usize) -> usize {
        let before = buffer.len();
        buffer.extend(self.try_iter().take(max));
        buffer.len() - before
    }
}

/// The future returned by [`Receiver::recv_many_async`]: resolves to the number of values
/// appended to the buffer (`0`: the channel is empty and disconnected, or the limit is `0`).
///
/// # Cancel safety
///
/// Cancel-safe: see [`Receiver::recv_many_async`].
///
/// # Polling after `Ready`
///
/// As a [`RecvFuture`]: polled again after it returned `Ready`, it receives another batch
/// (no panic). Make a fresh one per batch. With the `futures` feature it is a `FusedFuture`,
/// terminated once it returned `Ready`.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use ringfence::timer::timeout;
/// use std::time::Duration;
///
/// let (tx, rx) = ringfence::channel::bounded(4);
/// let mut batch = vec!["kept"];
/// // Timed out while empty: nothing taken, the buffer as it was.
/// assert!(timeout(Duration::from_millis(1), rx.recv_many_async(&mut batch, 4)).await.is_err());
/// tx.send("a").unwrap();
/// tx.send("b").unwrap();
/// assert_eq!(rx.recv_many_async(&mut batch, 4).await, 2);
/// assert_eq!(batch, ["kept", "a", "b"]);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvManyFuture<'a, 'b, T> {
    receiver: &'a Receiver<T>,
    /// The wait for the first value (its drop leaves the channel's queue).
    first: RecvFuture<'a, T>,
    buffer: &'b mut Vec<T>,
    limit: usize,
    /// Set by the poll that returned `Ready` (`FusedFuture::is_terminated`); `first`'s own
    /// flag misses a `limit` of 0, which never polls it.
    done: bool,
}

impl<T> Future for RecvManyFuture<'_, '_, T> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let poll = if this.limit == 0 {
            Poll::Ready(0)
        } else {
            match Pin::new(&mut this.first).poll(cx) {
                Poll::Ready(Ok(first)) => {
                    this.buffer.push(first);
                    Poll::Ready(1 + this.receiver.take_ready(this.buffer, this.limit - 1))
                }
                Poll::Ready(Err(RecvError)) => Poll::Ready(0),
                Poll::Pending => Poll::Pending,
            }
        };
        this.done = poll.is_ready();
        poll
    }
}

/// Terminated once it returned `Ready`.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for RecvManyFuture<'_, '_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> fmt::Debug for RecvManyFuture<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvManyFuture")
            .field("limit", &self.limit)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
