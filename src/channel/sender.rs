//! The sending half of a channel.

use super::chan::Chan;
use super::error::{SendError, SendTimeoutError, TrySendError};
use super::future::{SendFuture, SendSink};
use crate::sync::Arc;
use crate::wait::deadline_after;
use std::fmt;
use std::time::{Duration, Instant};

/// The sending half of a channel: cheap to clone, `Send + Sync` when `T: Send`.
///
/// When the last `Sender` is dropped the channel disconnects: receivers drain what is buffered
/// and then get `Disconnected`.
///
/// # Examples
///
/// ```
/// use std::thread;
///
/// let (tx, rx) = ringfence::channel::bounded(16);
/// let handles: Vec<_> = (0..4)
///     .map(|id| {
///         let tx = tx.clone();
///         thread::spawn(move || tx.send(id).unwrap())
///     })
///     .collect();
/// drop(tx);
/// for handle in handles {
///     handle.join().unwrap();
/// }
/// let mut got: Vec<i32> = rx.iter().collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 3]);
/// ```
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

// A panic that unwinds out of a call on the channel (a value's or a waker's `Drop`, a waker's
// `wake`) leaves it consistent: every value is still in it or was handed over, and every waiter
// still counted is still there to wake (the panic tests in `tests/channel.rs`). So, as std's and
// crossbeam's handles, it may be used across `catch_unwind` without `AssertUnwindSafe`.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}

/// Closes a channel on request (see [`Sender::closer`]); neither a sender nor a receiver.
pub(crate) struct Closer<T>(Arc<Chan<T>>);

impl<T> Closer<T> {
    /// As [`Sender::close`].
    pub(crate) fn close(&self) {
        let _closed_now = self.0.close();
    }
}

impl<T> Sender<T> {
    /// Sends `value`, blocking while the channel is full.
    ///
    /// On a zero-capacity channel, blocks until a receiver has taken the value. On an unbounded
    /// channel, never blocks.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value inside when every receiver is gone (at once, even if the
    /// channel is full).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send("hello").unwrap();
    /// assert_eq!(rx.recv(), Ok("hello"));
    /// drop(rx);
    /// assert_eq!(tx.send("lost?").unwrap_err().into_inner(), "lost?");
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.send_deadline(value, None).map_err(|err| SendError(err.into_inner()))
    }

    /// Sends `value` asynchronously: the future resolves once the value is in the channel
    /// (on a zero-capacity channel, once a receiver has taken it; on an unbounded channel, at
    /// once), or to [`SendError`] with the value inside when every receiver is gone. Async and
    /// blocking senders may share a channel.
    ///
    /// # Cancel safety
    ///
    /// The value is sent or not, never both: dropped before it completes, the future drops the
    /// value with it, unsent (see [`SendFuture`] for the zero-capacity case).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// let consumer = std::thread::spawn(move || rx.iter().count()); // a blocking receiver
    /// for i in 0..100 {
    ///     tx.send_async(i).await.unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), 100);
    /// # });
    /// ```
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.chan, value)
    }

    /// Closes the channel while handles of both sides live (async-channel's `close`, tokio's
    /// `Receiver::close`; [`Receiver::close`](super::Receiver::close) is the same call): every
    /// later send, from any sender, fails with its value back, and so do the sends waiting for
    /// room, which it wakes (blocked threads and pending futures alike). The receivers still
    /// get every value that got in, then `Disconnected`; receivers waiting on an empty channel
    /// are woken and see `Disconnected`. Afterwards both sides' `is_disconnected` is `true` and
    /// [`closed`](Sender::closed) resolves. Returns `true` when this call closed the channel,
    /// `false` when it was closed, or disconnected by the last handle of a side, already.
    ///
    /// Nothing is lost: a send racing the close either got in (it returns `Ok`, and its value
    /// will be received) or returns its value in the error. On a zero-capacity channel a send
    /// waiting for a receiver at the close is either taken by one (sent) or given back.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{RecvError, SendError, bounded};
    ///
    /// let (tx, rx) = bounded(4);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!rx.close()); // closed already
    /// assert_eq!(tx.send(2), Err(SendError(2)));
    /// assert_eq!(rx.recv(), Ok(1)); // what got in is still received
    /// assert_eq!(rx.recv(), Err(RecvError));
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// A handle that can close the channel later without being a sender (it keeps no sender
    /// count up: the receivers still see the channel disconnect when the last sender goes).
    pub(crate) fn closer(&self) -> Closer<T> {
        Closer(self.chan.clone())
    }

    /// This sender as a `Sink` (with the `futures` feature; see [`SendSink`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// let mut sink = tx.sink();
    /// std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap(); // ready
    /// sink.start_send_value(3);
    /// std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap(); // sent
    /// assert_eq!(rx.recv(), Ok(3));
    /// # });
    /// ```
    pub fn sink(&self) -> SendSink<'_, T> {
        SendSink::borrowed(self)
    }

    /// The sender turned into a `Sink` that owns it (see [`SendSink`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let sink = tx.into_sink(); // dropping the sink drops the last sender
    /// drop(sink);
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn into_sink(self) -> SendSink<'static, T> {
        SendSink::owned(self)
    }

    /// Sends `value` if that is possible without blocking.
    ///
    /// On a zero-capacity channel this succeeds only when a thread is already waiting in a
    /// blocking `recv` (or `recv_timeout`, `recv_deadline`, an iterator's `next`). It leaves the
    /// value for that receiver and returns at once, without waiting for the receiver to wake;
    /// `Ok` still means a rendezvous: the value is received, by the receiver that was waiting
    /// (even one whose timeout expires meanwhile) unless another receiver takes it first; it is
    /// never left in the channel with nobody to take it. A pending `recv_async` future does not count (it may be
    /// dropped instead of polled), so `try_send` reports `Full` to it; `send` and `send_async`
    /// reach it. If every sender uses `try_send` and every receiver `try_recv`, no value ever
    /// moves (as with std's `sync_channel(0)`): one side must block.
    ///
    /// On a buffered channel this may report `Full` while a receiver is still moving the oldest
    /// value out of its slot; `send` waits that out. An unbounded channel is never full.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when there is no room, [`TrySendError::Disconnected`] when every
    /// receiver is gone; the value is inside either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, TrySendError};
    ///
    /// let (tx, rx) = bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Sends `value`, blocking at most `timeout` while the channel is full.
    ///
    /// A timeout too large to add to `Instant::now()` (such as `Duration::MAX`) waits forever.
    /// On a zero-capacity channel, a send whose time runs out while a thread is blocked in
    /// [`recv`](super::Receiver::recv) leaves its value to that thread, as
    /// [`try_send`](Sender::try_send) does: so `send_timeout(v, Duration::ZERO)` succeeds
    /// against a blocked receiver (crossbeam's does too).
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] when the time ran out, [`SendTimeoutError::Disconnected`]
    /// when every receiver is gone; the value is inside either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringfence::channel::{bounded, SendTimeoutError};
    ///
    /// let (tx, _rx) = bounded(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.send_timeout(2, Duration::from_millis(5)), Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.chan.send_deadline(value, deadline_after(timeout))
    }

    /// Sends `value`, blocking until `deadline` at most while the channel is full.
    ///
    /// # Errors
    ///
    /// As [`Sender::send_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send_deadline(1, Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.chan.send_deadline(value, Some(deadline))
    }

    /// The number of values buffered in the channel (0 for a zero-capacity channel); a snapshot.
    ///
    /// It counts a value a sender handed to a pending [`recv_async`](super::Receiver::recv_async)
    /// future (which any receive may still take), so on a bounded channel it may exceed the
    /// capacity by one: that value left the buffer, making room for one more.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded(4);
    /// tx.send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// `true` when no value is buffered; a snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.chan.len() == 0
    }

    /// `true` when the buffer is full (always for a zero-capacity channel, never for an
    /// unbounded one); a snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded(1);
    /// tx.send(()).unwrap();
    /// assert!(tx.is_full());
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// The [`Sender`] handles of this channel alive now, this one included (flume's and
    /// async-channel's `sender_count`). A snapshot: other threads may clone or drop handles
    /// meanwhile. A [`SendSink`] made by [`into_sink`](Sender::into_sink) counts as a sender
    /// until it is closed or dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let tx2 = tx.clone();
    /// assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 1));
    /// drop(tx2);
    /// assert_eq!(rx.sender_count(), 1);
    /// ```
    #[must_use]
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The [`Receiver`](super::Receiver) handles of this channel alive now (a snapshot, as
    /// [`sender_count`](Sender::sender_count)); a [`RecvStream`](super::RecvStream) made by
    /// `into_stream` counts as one. Zero means every send fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::unbounded::<u8>();
    /// assert_eq!(tx.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// assert!(tx.send(1).is_err());
    /// ```
    #[must_use]
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// The channel's capacity: `Some(n)` for `bounded(n)`, `None` for `unbounded()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(8);
    /// assert_eq!(tx.capacity(), Some(8));
    /// let (tx, _rx) = ringfence::channel::unbounded::<u8>();
    /// assert_eq!(tx.capacity(), None);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// `true` when every receiver is gone, or the channel was closed ([`Sender::close`]): any
    /// further send fails.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// assert!(!tx.is_disconnected());
    /// drop(rx);
    /// assert!(tx.is_disconnected());
    /// ```
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        self.chan.is_disconnected()
    }

    /// A future that resolves once every receiver is gone or the channel is closed (as
    /// tokio's `Sender::closed`): a producer can stop making values nobody will receive, or
    /// wait for it next to its input (`fan::merge` does). Resolves at once when the channel is
    /// already disconnected.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: see [`ClosedFuture`](super::ClosedFuture).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::unbounded::<u8>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await;
    /// assert!(tx.send(1).is_err());
    /// # });
    /// ```
    pub fn closed(&self) -> super::ClosedFuture<'_, T> {
        super::ClosedFuture::new(&self.chan)
    }

    /// loom builds only: the waiting receivers and senders the channel counts (both zero once
    /// every wait is over; the loom models check it).
    #[cfg(loom)]
    #[doc(hidden)]
    #[must_use]
    pub fn waiting_counts(&self) -> (u64, u64) {
        self.chan.waiting_counts()
    }

    /// loom builds only: the pins that the unbounded flavor's peeking receivers still hold
    /// (zero once every receive is over; the loom models check it).
    #[cfg(loom)]
    #[doc(hidden)]
    #[must_use]
    pub fn peek_pins_left(&self) -> u64 {
        self.chan.peek_pins_left()
    }

    /// loom builds only: closes the channel while handles of both sides live, as the actor's
    /// `stop` and `kill` close its mailbox.
    #[cfg(loom)]
    #[doc(hidden)]
    pub fn close_for_model(&self) {
        self.close();
    }

    /// Whether the buffered flavor's parked send and parked receive are free (loom models
    /// check that every parked wait left its slot).
    #[cfg(loom)]
    #[doc(hidden)]
    #[must_use]
    pub fn parked_slots_are_free(&self) -> bool {
        self.chan.parked_slots_are_free()
    }

    /// `true` when both handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let (other, _orx) = ringfence::channel::bounded::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    #[must_use]
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.remove_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Sender");
        out.field("len", &self.len());
        match self.capacity() {
            Some(capacity) => out.field("capacity", &capacity),
            None => out.field("capacity", &format_args!("unbounded")),
        };
        out.field("disconnected", &self.is_disconnected()).finish()
    }
}
