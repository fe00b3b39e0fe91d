//! The async face of a channel: the futures returned by [`Sender::send_async`] and
//! [`Receiver::recv_async`], the [`RecvStream`] and (with the `futures` feature) the
//! `Stream` and `Sink` implementations.
//!
//! Every future here is runtime-agnostic (`std::task` only), keeps only the latest waker, and
//! is cancel-safe (see each type's `# Cancel safety`; the protocol is in `chan_async.rs`).
//! Cancelling is dropping: a pending future that is `mem::forget`-ten instead stays in its
//! queue, where it can take a wakeup meant for another waiter (docs/async.md, "Forgetting is
//! not cancelling").

use super::chan::Chan;
use super::chan_async::{RecvWait, SendWait};
use super::error::{RecvError, SendError};
use super::{Receiver, Sender};
use crate::wait::AsyncSlot;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A handle borrowed by a future or stream, or owned by it (the `into_*` constructors).
enum Handle<'a, H> {
    Borrowed(&'a H),
    Owned(H),
}

impl<H> Handle<'_, H> {
    fn get(&self) -> &H {
        match self {
            Handle::Borrowed(handle) => handle,
            Handle::Owned(handle) => handle,
        }
    }
}

/// The future returned by [`Sender::closed`]: resolves once the channel is disconnected from
/// the receiving side (every receiver dropped, or the channel closed), the moment a send
/// would start to fail.
///
/// # Cancel safety
///
/// Cancel-safe: it takes nothing and changes nothing; dropped, it only leaves its queue.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
/// tokio::spawn(async move { drop(rx) });
/// tx.closed().await;
/// assert!(tx.send(1).is_err());
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ClosedFuture<'a, T> {
    chan: &'a Chan<T>,
    slot: AsyncSlot,
    /// Set by the poll that returned `Ready` (`FusedFuture::is_terminated`).
    done: bool,
}

impl<'a, T> ClosedFuture<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Self {
        ClosedFuture { chan, slot: AsyncSlot::default(), done: false }
    }
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let chan = this.chan;
        let poll =
            chan.closed_wait.poll_until(&mut this.slot, cx.waker(), || chan.is_disconnected().then_some(()));
        this.done = poll.is_ready();
        poll
    }
}

/// Terminated once it returned `Ready` (polled again, it is `Ready` again: the channel stays
/// disconnected).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for ClosedFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        if self.slot.is_registered() {
            self.chan.closed_wait.cancel(&mut self.slot);
        }
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture")
            .field("waiting", &self.slot.is_registered())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Receiver::recv_async`]: resolves to the next value, or to
/// [`RecvError`] once the channel is empty and every sender is gone.
///
/// # Cancel safety
///
/// Cancel-safe: a value is taken from the channel only in the poll that returns it, so dropping
/// the future (in a `select!` that another branch won, on a timeout) never loses a value; it
/// stays in the channel for the next receive, in its place in the order. A future dropped after
/// it was woken for a value passes the wakeup on to another waiting receiver. (A pending future
/// on a small bounded channel with one receiver may have a value handed to it by a sender;
/// that value still belongs to the channel until the future's poll returns it, and any receive
/// takes it, oldest first.)
///
/// Cancelling is dropping: a pending future that is `mem::forget`-ten stays in the channel's
/// wait queue, where it can take a wakeup meant for another receiver, which then waits for a
/// later one (a leak, as forgetting a `MutexGuard` is; nothing is lost or duplicated).
///
/// # Polling after `Ready`
///
/// A `RecvFuture` is one receive: polled again after it returned `Ready`, it receives again
/// (the next value, or `RecvError`), without panicking. With the `futures` feature it is a
/// `FusedFuture`, terminated once it returned `Ready`, so futures' `select!` takes it without
/// `.fuse()` and never polls it again; a `select!` loop makes a fresh one per value
/// (`recv_async()` costs nothing to create), or polls a [`RecvStream`], a `FusedStream`.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::bounded(1);
/// tokio::spawn(async move { tx.send_async(7).await.unwrap() });
/// assert_eq!(rx.recv_async().await, Ok(7));
/// assert!(rx.recv_async().await.is_err()); // the sender is gone
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
    wait: RecvWait,
    /// Set by a poll that returned `Ready` (`FusedFuture::is_terminated`). Only with the
    /// `futures` feature, the only reader: without it the hot path stores nothing.
    #[cfg(feature = "futures")]
    done: bool,
}

impl<'a, T> RecvFuture<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Self {
        RecvFuture {
            chan,
            wait: RecvWait::default(),
            #[cfg(feature = "futures")]
            done: false,
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let poll = this.chan.poll_recv(&mut this.wait, cx.waker());
        #[cfg(feature = "futures")]
        {
            this.done = poll.is_ready();
        }
        poll
    }
}

/// Terminated once it returned `Ready` (see "Polling after `Ready`").
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for RecvFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    // Always inlined: the flag check is all a finished future's drop costs (out of line, the
    // send future's was a call per message, about 13 instructions: callgrind, a current-thread
    // runtime).
    #[inline(always)]
    fn drop(&mut self) {
        if self.wait.may_hold() {
            self.chan.cancel_recv(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").field("waiting", &self.wait.is_waiting()).finish_non_exhaustive()
    }
}

/// The future returned by [`Sender::send_async`]: resolves once the value is in the channel
/// (on a zero-capacity channel: once a receiver has taken it), or to [`SendError`] with the
/// value inside when every receiver is gone.
///
/// # Cancel safety
///
/// The value is sent or not, never both and never twice. It moves into the channel only in the
/// poll that returns `Ready`; a future dropped before that drops the value with it (not sent).
/// On a zero-capacity channel a pending send has already placed its value in the hand-over
/// slot: dropping the future takes it back (and drops it) unless a receiver has already
/// taken it, in which case it was sent. To get an unsent value back instead of dropping it,
/// end the future with [`SendFuture::cancel`] (poll it through `&mut future` in a `select!`,
/// so that it outlives the losing branch).
///
/// Cancelling is dropping: a pending future that is `mem::forget`-ten stays in the channel's
/// wait queue, where it can take a wakeup meant for another sender, and on a zero-capacity
/// channel keeps the hand-over slot once its value is received, so that later sends wait until
/// the channel closes (a leak, as forgetting a `MutexGuard` is; nothing is lost or duplicated).
///
/// # Panics
///
/// Polling the future again after it has completed (returned `Ready`, with `Ok` or `Err`)
/// panics with `a send future polled after it completed`: its value is gone, into the channel
/// or the error. `.await` never does that, nor does futures' `select!`: with the `futures`
/// feature a `SendFuture` is a `FusedFuture`, terminated once it completed.
///
/// ```
/// use std::future::Future;
/// use std::panic::{AssertUnwindSafe, catch_unwind};
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let (tx, rx) = ringfence::channel::bounded(1);
/// let mut send = tx.send_async(1);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(matches!(Pin::new(&mut send).poll(&mut cx), Poll::Ready(Ok(()))));
/// let payload = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut send).poll(&mut cx))).unwrap_err();
/// let message = payload.downcast_ref::<&str>().copied();
/// let message = message.or_else(|| payload.downcast_ref::<String>().map(String::as_str));
/// assert_eq!(message, Some("a send future polled after it completed"));
/// assert_eq!(rx.try_recv(), Ok(1)); // sent once, not twice
/// ```
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::bounded(1);
/// tx.send_async(1).await.unwrap(); // room: ready at once
/// let second = tokio::spawn(async move { tx.send_async(2).await }); // waits for room
/// assert_eq!(rx.recv_async().await, Ok(1));
/// second.await.unwrap().unwrap();
/// assert_eq!(rx.recv_async().await, Ok(2));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    wait: SendWait,
}

impl<'a, T> SendFuture<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>, value: T) -> Self {
        SendFuture { chan, value: Some(value), wait: SendWait::default() }
    }

    /// Stops the send and returns the value if it was not sent: `Some(value)` means it is not
    /// in the channel and never will be; `None` means it was sent (on a zero-capacity channel a
    /// receiver took it from the hand-over slot before the cancel could take it back), or that
    /// the future had already completed (its `Ready` told the outcome). Never blocks for
    /// long: a rendezvous receiver caught in the middle of taking the value is waited for
    /// (it is between two atomic operations).
    ///
    /// The future is used up; dropping it instead does the same and drops the value.
    ///
    /// # Examples
    ///
    /// A send that waits too long for room, taken back to be retried later (the future is
    /// polled through `&mut send`, so that it outlives the losing branch):
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send_async("first").await.unwrap(); // the channel is full now
    /// let mut send = tx.send_async("second");
    /// tokio::select! {
    ///     sent = &mut send => sent.unwrap(),
    ///     () = tokio::time::sleep(Duration::from_millis(1)) => {
    ///         // Not sent: the value comes back, to retry or store elsewhere.
    ///         assert_eq!(send.cancel(), Some("second"));
    ///     }
    /// }
    /// assert_eq!(rx.try_recv(), Ok("first"));
    /// assert!(rx.try_recv().is_err()); // "second" was never sent
    /// # });
    /// ```
    #[must_use = "the value returned is the unsent one; ignoring it drops it"]
    pub fn cancel(mut self) -> Option<T> {
        let retracted = if self.wait.may_hold() { self.chan.cancel_send(&mut self.wait) } else { None };
        // `cancel_send` leaves nothing for the drop to give back. A rendezvous value is either
        // still in `value` (before its slot was claimed) or in the slot, never both.
        debug_assert!(self.value.is_none() || retracted.is_none(), "two values in one send");
        self.value.take().or(retracted)
    }
}

// The value is never pinned: it is moved out by value (into the channel or the error), never
// referenced across polls, so the future may move between polls whatever `T` is.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.chan.poll_send(&mut this.value, &mut this.wait, cx.waker())
    }
}

/// Terminated once it completed: its value has left it (into the channel or the error), and
/// no rendezvous slot holds it for the future (`owning`). No flag: the value says it.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for SendFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.value.is_none() && !self.wait.owning
    }
}

impl<T> Drop for SendFuture<'_, T> {
    // Always inlined: as `RecvFuture`'s.
    #[inline(always)]
    fn drop(&mut self) {
        if self.wait.may_hold() {
            // A value taken back from a rendezvous slot is dropped here: not sent.
            drop(self.chan.cancel_send(&mut self.wait));
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("sent", &self.value.is_none())
            .field("waiting", &self.wait.is_waiting())
            .finish_non_exhaustive()
    }
}

/// The receiver as a stream of values, from [`Receiver::stream`] or [`Receiver::into_stream`]:
/// yields every value until the channel is empty and every sender is gone, then ends (and
/// stays ended). With the `futures` feature it implements `futures_core::Stream` (and
/// `FusedStream`); without it, [`RecvStream::next`] is the same as `recv_async().await.ok()`.
///
/// # Cancel safety
///
/// As [`RecvFuture`]: dropping the stream, or a `next()` future, never loses a value. A
/// dropped `next()` also leaves the channel's queue (passing on a wakeup it was given, as a
/// dropped `recv_async` does). Through `futures`' `StreamExt::next` (`poll_next`), the stream
/// stays registered between polls, as any `Stream` does: a wakeup it was given waits for its
/// next poll, or its drop.
///
/// With the `futures` feature, the inherent [`next`](RecvStream::next) takes precedence over
/// `StreamExt::next` in method calls. Its [`NextFuture`] is a `FusedFuture` terminated once the
/// stream has ended, as `StreamExt::next`'s is, so either goes into `futures::select!`.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::unbounded();
/// for i in 0..3 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// let mut stream = rx.into_stream();
/// let mut got = Vec::new();
/// while let Some(value) = stream.next().await {
///     got.push(value);
/// }
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct RecvStream<'a, T> {
    receiver: Handle<'a, Receiver<T>>,
    wait: RecvWait,
    ended: bool,
}

impl<'a, T> RecvStream<'a, T> {
    pub(super) fn borrowed(receiver: &'a Receiver<T>) -> Self {
        RecvStream { receiver: Handle::Borrowed(receiver), wait: RecvWait::default(), ended: false }
    }

    pub(super) fn owned(receiver: Receiver<T>) -> Self {
        RecvStream { receiver: Handle::Owned(receiver), wait: RecvWait::default(), ended: false }
    }

    /// Polls for the next value: `Ready(None)` once the channel is empty and disconnected.
    ///
    /// The building block of [`RecvStream::next`] (and of `Stream::poll_next` with the
    /// `futures` feature), for code that polls by hand. `Pending` registers the context's
    /// waker: a later send (or the last sender's drop) wakes it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(2);
    /// let mut stream = rx.stream();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(stream.poll_next_value(&mut cx), Poll::Pending); // empty: would wake `cx`
    /// tx.send(1).unwrap();
    /// assert_eq!(stream.poll_next_value(&mut cx), Poll::Ready(Some(1)));
    /// drop(tx);
    /// assert_eq!(stream.poll_next_value(&mut cx), Poll::Ready(None)); // ended
    /// assert!(stream.is_terminated());
    /// ```
    #[inline(always)]
    pub fn poll_next_value(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let chan = &*self.receiver.get().chan;
        match chan.poll_recv(&mut self.wait, cx.waker()) {
            Poll::Ready(Ok(value)) => Poll::Ready(Some(value)),
            Poll::Ready(Err(RecvError)) => {
                self.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next value, or `None` once the channel is empty and every sender is gone (futures'
    /// `StreamExt::next`, without the feature or the import). The future is a named, `Unpin`
    /// type ([`NextFuture`]), so a `select!` loop can poll `stream.next()` directly.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`RecvFuture`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::timer::timeout;
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// let mut stream = rx.stream();
    /// // A `next()` cancelled by a timeout loses nothing.
    /// assert!(timeout(Duration::from_millis(1), stream.next()).await.is_err());
    /// tx.send("hello").unwrap();
    /// assert_eq!(stream.next().await, Some("hello"));
    /// drop(tx);
    /// assert_eq!(stream.next().await, None);
    /// # });
    /// ```
    #[allow(clippy::should_implement_trait, reason = "an async `next`, as futures' `StreamExt::next`")]
    pub fn next(&mut self) -> NextFuture<'_, 'a, T> {
        NextFuture { stream: self }
    }

    /// The receiver the stream reads (for a crate-internal owner that also receives without
    /// it: see [`RecvStream::leave_queue`]).
    pub(crate) fn receiver(&self) -> &Receiver<T> {
        self.receiver.get()
    }

    /// Takes the stream out of the channel's queue if a `Pending` poll left it there (passing
    /// on a wakeup it was given, as its drop does), so that its owner can block on
    /// [`receiver`](RecvStream::receiver) without a stale registration taking the wakeup meant
    /// for the blocked thread. One check when it holds nothing.
    #[inline]
    pub(crate) fn leave_queue(&mut self) {
        if self.wait.may_hold() {
            self.receiver.get().chan.cancel_recv(&mut self.wait);
        }
    }

    /// Whether the stream has ended (it then stays ended).
    ///
    /// `true` only after the stream has yielded `None`: a disconnected channel with values
    /// still buffered has not ended yet.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// let mut stream = rx.into_stream();
    /// assert!(!stream.is_terminated()); // a value is still buffered
    /// assert_eq!(stream.next().await, Some(5));
    /// assert!(!stream.is_terminated()); // `None` not yet seen
    /// assert_eq!(stream.next().await, None);
    /// assert!(stream.is_terminated());
    /// assert_eq!(stream.next().await, None); // and stays ended
    /// # });
    /// ```
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Drop for RecvStream<'_, T> {
    fn drop(&mut self) {
        if self.wait.may_hold() {
            self.receiver.get().chan.cancel_recv(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for RecvStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream").field("ended", &self.ended).finish_non_exhaustive()
    }
}

/// The future returned by [`RecvStream::next`]: resolves to the stream's next value, or to
/// `None` once the channel is empty and every sender is gone (and from then on).
///
/// # Cancel safety
///
/// Cancel-safe, as [`RecvFuture`]: a value is taken only by the poll that returns it, and a
/// `next()` dropped after it was woken for a value passes the wakeup on to another receiver.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::bounded(4);
/// let mut stream = rx.stream();
/// tx.send(1).unwrap();
/// drop(tx);
/// let mut got = Vec::new();
/// loop {
///     tokio::select! {
///         value = stream.next() => match value {
///             Some(value) => got.push(value),
///             None => break,
///         },
///         // When the timer wins, the losing `next()` is dropped: nothing lost.
///         () = ringfence::timer::sleep(std::time::Duration::from_millis(1)) => {}
///     }
/// }
/// assert_eq!(got, [1]);
/// # });
/// ```
// Its poll is `poll_next_value`, always inlined (through `std::future::poll_fn` it stayed a
// call: callgrind, a current-thread runtime, about 20 instructions per message).
#[must_use = "futures do nothing unless polled"]
pub struct NextFuture<'s, 'a, T> {
    stream: &'s mut RecvStream<'a, T>,
}

impl<T> fmt::Debug for NextFuture<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextFuture").field("stream", &self.stream).finish()
    }
}

impl<T> Future for NextFuture<'_, '_, T> {
    type Output = Option<T>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().stream.poll_next_value(cx)
    }
}

/// Terminated once the stream has ended (as futures' `StreamExt::next` on a `FusedStream`):
/// a `next()` that returned a value is not, and polled again it waits for the next one.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for NextFuture<'_, '_, T> {
    fn is_terminated(&self) -> bool {
        self.stream.ended
    }
}

impl<T> Drop for NextFuture<'_, '_, T> {
    /// A `next()` dropped while it waited (a `select!` that another branch won) leaves the
    /// channel's queue as a dropped [`RecvFuture`] does, passing on a wakeup it was given, so
    /// that a value sent meanwhile is not left waiting for this stream's next poll while
    /// another receiver sleeps. (The registration lives in the stream, which `poll_next` keeps
    /// between polls, as a `Stream` does; a `next()` is one wait, as a `recv_async` is.) After
    /// a `Ready`, one check.
    #[inline]
    fn drop(&mut self) {
        if self.stream.wait.may_hold() {
            self.stream.receiver.get().chan.cancel_recv(&mut self.stream.wait);
        }
    }
}

#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::Stream for RecvStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_next_value(cx)
    }

    /// `(0, Some(0))` once ended; before, `(0, None)`: the values buffered now are no lower
    /// bound, since other receivers (or this stream's receiver, used directly) may take them.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended { (0, Some(0)) } else { (0, None) }
    }
}

#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::FusedStream for RecvStream<'_, T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

/// The sender as a `futures_sink::Sink` (with the `futures` feature), from [`Sender::sink`] or
/// [`Sender::into_sink`]. `start_send` keeps one value; `poll_ready` and `poll_flush` move it
/// into the channel (waiting for room).
///
/// `poll_close` flushes, then closes the sink: a sink made by [`Sender::into_sink`] drops its
/// sender there and then (as futures' `mpsc::Sender` does), so the channel disconnects once it
/// was the last one, without waiting for the sink itself to be dropped. A sink borrowing its
/// sender ([`Sender::sink`]) cannot drop it; closing only ends the sink (drop the `Sender` to
/// disconnect). After the close, `poll_ready` is still `Ready(Ok(()))` (its error type needs a
/// value to hand back, and there is none), and `start_send` then fails with the value inside;
/// a value given to `start_send_value` comes back from the next flush.
///
/// # Cancel safety
///
/// As [`SendFuture`]: a value accepted by `start_send` and not yet flushed is dropped with the
/// sink, not sent (on a zero-capacity channel: unless a receiver already took it from the
/// hand-over slot, and then it was sent); [`SendSink::cancel_send`] takes it back instead, and
/// says which happened.
///
/// # Examples
///
/// Without the `futures` feature, the `Sink` protocol is available as inherent methods:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::future::poll_fn;
///
/// let (tx, rx) = ringfence::channel::bounded(4);
/// let mut sink = tx.into_sink();
/// for word in ["a", "b", "c"] {
///     poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap(); // `poll_ready`
///     sink.start_send_value(word); // `start_send`
/// }
/// poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap(); // `poll_flush`
/// drop(sink); // the last sender
/// assert_eq!(rx.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
/// # });
/// ```
///
/// With the `futures` feature, through the `Sink` trait (the example does nothing without it):
///
/// ```
/// # #[cfg(feature = "futures")]
/// # {
/// use futures_sink::Sink;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let (tx, rx) = ringfence::channel::bounded(1);
/// let mut sink = tx.sink();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert_eq!(Pin::new(&mut sink).poll_ready(&mut cx), Poll::Ready(Ok(())));
/// Pin::new(&mut sink).start_send(1).unwrap();
/// assert_eq!(Pin::new(&mut sink).poll_flush(&mut cx), Poll::Ready(Ok(())));
/// assert_eq!(rx.try_recv(), Ok(1));
/// # }
/// ```
#[must_use = "sinks do nothing unless polled"]
pub struct SendSink<'a, T> {
    /// `None` once the sink is closed (an owned sender is dropped then).
    sender: Option<Handle<'a, Sender<T>>>,
    value: Option<T>,
    wait: SendWait,
}

impl<'a, T> SendSink<'a, T> {
    pub(super) fn borrowed(sender: &'a Sender<T>) -> Self {
        SendSink { sender: Some(Handle::Borrowed(sender)), value: None, wait: SendWait::default() }
    }

    pub(super) fn owned(sender: Sender<T>) -> Self {
        SendSink { sender: Some(Handle::Owned(sender)), value: None, wait: SendWait::default() }
    }

    /// Moves the value accepted by the last `start_send`, if any, into the channel.
    ///
    /// `Ready(Ok(()))` at once when no value is held, `Pending` while the channel is full (the
    /// context's waker is woken when there is room), `Ready(Err(SendError(value)))` with the
    /// value inside when every receiver is gone or the sink is closed. The `Sink`'s `poll_ready`
    /// and `poll_flush` are this method.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::SendError;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// let mut sink = tx.sink();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(()))); // nothing held
    /// sink.start_send_value(1);
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(()))); // sent
    /// sink.start_send_value(2);
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Pending); // full: `2` is still held
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(()))); // room: sent
    /// sink.start_send_value(3);
    /// drop(rx);
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Err(SendError(3))));
    /// ```
    pub fn poll_flush_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        // A rendezvous send in progress has moved its value into the slot (`owning`): it is
        // not flushed until a receiver has taken it.
        if self.value.is_none() && !self.wait.owning {
            return Poll::Ready(Ok(()));
        }
        match &self.sender {
            Some(sender) => sender.get().chan.poll_send(&mut self.value, &mut self.wait, cx.waker()),
            // Closed: no send is in progress (the close finished its flush), the value comes back.
            None => Poll::Ready(Err(SendError(self.value.take().expect("a value is held")))),
        }
    }

    /// Flushes the value held, if any, then closes the sink: an owned sender
    /// ([`Sender::into_sink`]) is dropped, so the channel disconnects if it was the last one.
    /// `Ready(Err(SendError(value)))` when every receiver was gone (the sink is closed all the
    /// same); `Pending` while the flush waits for room. The `Sink`'s `poll_close` is this
    /// method. Closing a closed sink is `Ready(Ok(()))`, or `Ready(Err(SendError(value)))`
    /// when a value was given to `start_send_value` after the close.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(2);
    /// let mut sink = tx.into_sink(); // the only sender
    /// let mut cx = Context::from_waker(Waker::noop());
    /// sink.start_send_value(1);
    /// assert_eq!(sink.poll_close_value(&mut cx), Poll::Ready(Ok(())));
    /// assert!(sink.is_closed());
    /// // The sink still exists, but its sender is gone: the channel is disconnected.
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn poll_close_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let flushed = std::task::ready!(self.poll_flush_value(cx));
        debug_assert!(!self.wait.owning, "a finished flush leaves no send in progress");
        // A finished flush is out of every wait queue, so the sender can go.
        self.sender = None;
        Poll::Ready(flushed)
    }

    /// Whether the sink was closed (`poll_close`, or [`SendSink::poll_close_value`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Waker};
    ///
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let mut sink = tx.sink();
    /// assert!(!sink.is_closed());
    /// let _ = sink.poll_close_value(&mut Context::from_waker(Waker::noop()));
    /// assert!(sink.is_closed());
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.sender.is_none()
    }

    /// Accepts one value, to be sent by the next flush.
    ///
    /// # Panics
    ///
    /// Panics when a value is still waiting to be flushed (call `poll_flush_value`, or the
    /// `Sink`'s `poll_ready`, until it is `Ready` first, as the `Sink` contract requires).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = ringfence::channel::unbounded();
    /// let mut sink = tx.sink();
    /// sink.start_send_value("held"); // not in the channel yet
    /// assert!(rx.is_empty());
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(())));
    /// assert_eq!(rx.try_recv(), Ok("held"));
    /// ```
    pub fn start_send_value(&mut self, value: T) {
        // `owning`: a rendezvous flush in progress has moved its value into the slot.
        assert!(
            self.value.is_none() && !self.wait.owning,
            "SendSink::start_send called before poll_ready returned Ready"
        );
        self.value = Some(value);
        self.wait.next_value();
    }

    /// Stops the send in progress, if any, and returns its value if it was not sent, as
    /// [`SendFuture::cancel`] does: `Some(value)` is not in the channel and never will be;
    /// `None` means no value was held or it was sent (on a zero-capacity channel, a receiver
    /// took it from the hand-over slot first). The sink stays usable: the next `start_send`
    /// may follow at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// let mut sink = tx.sink();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// sink.start_send_value(1);
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(()))); // sent
    /// sink.start_send_value(2);
    /// assert_eq!(sink.poll_flush_value(&mut cx), Poll::Pending); // full
    /// assert_eq!(sink.cancel_send(), Some(2)); // taken back, never sent
    /// assert_eq!(sink.cancel_send(), None); // nothing held
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    #[must_use = "the value returned is the unsent one; ignoring it drops it"]
    pub fn cancel_send(&mut self) -> Option<T> {
        let retracted = match &self.sender {
            Some(sender) if self.wait.may_hold() => sender.get().chan.cancel_send(&mut self.wait),
            // Closed (nothing in progress), or no poll went past the inline attempt.
            _ => None,
        };
        // One send at a time (`start_send_value` checks it): a value held and one retracted
        // from the slot are never both there.
        debug_assert!(self.value.is_none() || retracted.is_none(), "two values in one sink");
        self.value.take().or(retracted)
    }
}

// As `SendFuture`: the value is never pinned.
impl<T> Unpin for SendSink<'_, T> {}

impl<T> Drop for SendSink<'_, T> {
    fn drop(&mut self) {
        let Some(sender) = &self.sender else { return }; // closed: nothing in progress
        if self.wait.may_hold() {
            drop(sender.get().chan.cancel_send(&mut self.wait));
        }
    }
}

impl<T> fmt::Debug for SendSink<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink")
            .field("has_value", &self.value.is_some())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_sink::Sink<T> for SendSink<'_, T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush_value(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        if this.is_closed() {
            return Err(SendError(item));
        }
        this.start_send_value(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush_value(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_close_value(cx)
    }
}
