//! The receiving half of a channel and its iterators.

use super::chan::Chan;
use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::future::{RecvFuture, RecvStream};
use crate::sync::Arc;
use crate::wait::deadline_after;
use std::fmt;
use std::iter::FusedIterator;
use std::time::{Duration, Instant};

/// The receiving half of a channel: cheap to clone (receivers share the values, each value goes
/// to exactly one of them), `Send + Sync` when `T: Send`.
///
/// When the last `Receiver` is dropped the channel disconnects: values still buffered are
/// dropped and senders get their values back.
///
/// # Examples
///
/// ```
/// use std::thread;
///
/// let (tx, rx) = ringfence::channel::bounded(4);
/// let producer = thread::spawn(move || {
///     for i in 0..10 {
///         tx.send(i).unwrap();
///     }
/// }); // `tx` drops here: the loop below ends once all 10 are received
/// let sum: i32 = rx.iter().sum();
/// producer.join().unwrap();
/// assert_eq!(sum, 45);
/// ```
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
}

// A panic that unwinds out of a call on the channel (a value's or a waker's `Drop`, a waker's
// `wake`) leaves it consistent: every value is still in it or was handed over, and every waiter
// still counted is still there to wake (the panic tests in `tests/channel.rs`). So, as std's and
// crossbeam's handles, it may be used across `catch_unwind` without `AssertUnwindSafe`.
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    /// Receives a value, blocking while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] when the channel is empty and every sender is gone (buffered values are
    /// always received first).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv(), Ok(5));
    /// assert!(rx.recv().is_err());
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan.recv_deadline(None).map_err(|_| RecvError)
    }

    /// Receives a value asynchronously: the future resolves to the next value, or to
    /// [`RecvError`] once the channel is empty and every sender is gone. Async and blocking
    /// receivers may share a channel.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future never loses a value (see [`RecvFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(4);
    /// std::thread::spawn(move || tx.send("from a thread").unwrap()); // a blocking sender
    /// assert_eq!(rx.recv_async().await, Ok("from a thread"));
    /// # });
    /// ```
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.chan)
    }

    /// A stream of the values received through this handle (see [`RecvStream`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(4);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// let mut stream = rx.stream();
    /// assert_eq!(stream.next().await, Some(1));
    /// assert_eq!(stream.next().await, None);
    /// # });
    /// ```
    pub fn stream(&self) -> RecvStream<'_, T> {
        RecvStream::borrowed(self)
    }

    /// The receiver turned into a stream that owns it (for a spawned task: `'static` when `T`
    /// is).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(4);
    /// let sum = tokio::spawn(async move {
    ///     let mut stream = rx.into_stream();
    ///     let mut sum = 0;
    ///     while let Some(n) = stream.next().await {
    ///         sum += n;
    ///     }
    ///     sum
    /// });
    /// for n in 1..=10 {
    ///     tx.send_async(n).await.unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(sum.await.unwrap(), 55);
    /// # });
    /// ```
    pub fn into_stream(self) -> RecvStream<'static, T> {
        RecvStream::owned(self)
    }

    /// Receives a value if one is ready, without blocking.
    ///
    /// Never blocks. On a buffered channel, reports `Empty` while the oldest send is still
    /// writing its value into the buffer, even if younger sends have finished (the ring never
    /// waits for another thread; see [`Ring`](crate::ring::Ring)). `recv` waits that out. On an
    /// unbounded channel it waits those few instructions itself: `Empty` means no send has
    /// begun to store a value. One exception on a buffered channel: while a pending
    /// [`recv_async`](Receiver::recv_async) future has a value handed to it (which stays the
    /// channel's oldest, for any receive to take), a `try_recv` that meets that value being
    /// moved by another thread waits for that move, a few instructions, so that it returns
    /// the values in order.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is buffered, [`TryRecvError::Disconnected`] when
    /// nothing is buffered and every sender is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, TryRecvError};
    ///
    /// let (tx, rx) = bounded::<u8>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives a value, blocking at most `timeout` while the channel is empty.
    ///
    /// A timeout too large to add to `Instant::now()` (such as `Duration::MAX`) waits forever.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when the time ran out, [`RecvTimeoutError::Disconnected`]
    /// when the channel is empty and every sender is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringfence::channel::{bounded, RecvTimeoutError};
    ///
    /// let (_tx, rx) = bounded::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.chan.recv_deadline(deadline_after(timeout))
    }

    /// Receives a value, blocking until `deadline` at most while the channel is empty.
    ///
    /// # Errors
    ///
    /// As [`Receiver::recv_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send('x').unwrap();
    /// assert_eq!(rx.recv_deadline(Instant::now() + Duration::from_secs(1)), Ok('x'));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.chan.recv_deadline(Some(deadline))
    }

    /// A blocking iterator: yields values until the channel is empty and disconnected.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(3);
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// A non-blocking iterator: yields the values ready now, then stops.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(3);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // tx is still alive: empty, not ended
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// The number of values buffered in the channel (0 for a zero-capacity channel); a snapshot.
    ///
    /// It counts a value a sender handed to a pending [`recv_async`](Receiver::recv_async)
    /// future (which any receive may still take), so on a bounded channel it may exceed the
    /// capacity by one: that value left the buffer, making room for one more.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(4);
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
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
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(4);
    /// assert!(rx.is_empty());
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
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send(()).unwrap();
    /// assert!(rx.is_full());
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// The channel's capacity: `Some(n)` for `bounded(n)`, `None` for `unbounded()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(8);
    /// assert_eq!(rx.capacity(), Some(8));
    /// let (_tx, rx) = ringfence::channel::unbounded::<u8>();
    /// assert_eq!(rx.capacity(), None);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// `true` when every sender is gone, or the channel was closed ([`Receiver::close`]):
    /// values may still be buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// assert_eq!(rx.recv(), Ok(1)); // still delivered
    /// ```
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        self.chan.is_disconnected()
    }

    /// The [`Sender`](super::Sender) handles of this channel alive now: as
    /// [`Sender::sender_count`](super::Sender::sender_count). Zero means the channel is
    /// disconnected (what is buffered can still be received).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// assert_eq!(rx.sender_count(), 1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    #[must_use]
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The [`Receiver`] handles of this channel alive now, this one included: as
    /// [`Sender::receiver_count`](super::Sender::receiver_count).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let stream = rx.clone().into_stream();
    /// assert_eq!(rx.receiver_count(), 2);
    /// drop(stream);
    /// assert_eq!(rx.receiver_count(), 1);
    /// ```
    #[must_use]
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// Closes the channel while handles of both sides live, as [`Sender::close`](super::Sender::close) (the same
    /// call, from the receiving side: tokio's `Receiver::close`): later sends fail with their
    /// value back, this and every other receiver still get what got in, then `Disconnected`.
    /// Returns `true` when this call closed the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::unbounded();
    /// tx.send("queued").unwrap();
    /// assert!(rx.close());
    /// assert!(tx.send("late").is_err());
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["queued"]); // drained after the close
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// `true` when both handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    #[must_use]
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Receiver { chan: self.chan.clone() }
    }
}

impl<T> Receiver<T> {
    /// Closes the channel for every sender and hands each value that got in to `take` (see
    /// `Chan::close_and_drain`), then drops this receiver.
    pub(crate) fn close_and_drain(self, take: impl FnMut(T)) {
        self.chan.close_and_drain(take);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.remove_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Receiver");
        out.field("len", &self.len());
        match self.capacity() {
            Some(capacity) => out.field("capacity", &capacity),
            None => out.field("capacity", &format_args!("unbounded")),
        };
        out.field("disconnected", &self.is_disconnected()).finish()
    }
}

/// A blocking iterator over a [`Receiver`]'s values; ends when the channel is empty and
/// disconnected. Made by [`Receiver::iter`] (or `for value in &receiver`).
///
/// # Examples
///
/// ```
/// use std::thread;
///
/// let (tx, rx) = ringfence::channel::bounded(2);
/// let producer = thread::spawn(move || {
///     for i in 1..=5 {
///         tx.send(i).unwrap(); // blocks while the buffer is full
///     }
/// }); // `tx` drops: the iterator ends after the last value
/// let mut got = Vec::new();
/// for value in &rx {
///     got.push(value);
/// }
/// producer.join().unwrap();
/// assert_eq!(got, [1, 2, 3, 4, 5]);
/// assert_eq!(rx.iter().next(), None); // stays ended
/// ```
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter { .. }")
    }
}

/// A non-blocking iterator over the values ready now. Made by [`Receiver::try_iter`].
///
/// It ends at the first empty receive, so a later `try_iter` may yield more.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringfence::channel::bounded(4);
/// tx.send('a').unwrap();
/// tx.send('b').unwrap();
/// assert_eq!(rx.try_iter().collect::<String>(), "ab");
/// tx.send('c').unwrap();
/// let mut iter = rx.try_iter();
/// assert_eq!(iter.next(), Some('c'));
/// assert_eq!(iter.next(), None); // empty, though the sender is alive
/// ```
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryIter { .. }")
    }
}

/// An owning blocking iterator; ends when the channel is empty and disconnected.
/// Made by `Receiver::into_iter` (or `for value in receiver`).
///
/// # Examples
///
/// ```
/// use std::thread;
///
/// let (tx, rx) = ringfence::channel::bounded(4);
/// let consumer = thread::spawn(move || rx.into_iter().map(|s: String| s.len()).sum::<usize>());
/// for word in ["ring", "fence"] {
///     tx.send(word.to_string()).unwrap();
/// }
/// drop(tx); // end of stream
/// assert_eq!(consumer.join().unwrap(), 9);
/// ```
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntoIter { .. }")
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
