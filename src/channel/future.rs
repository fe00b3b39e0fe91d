//! The async face of a channel: the futures returned by [`Sender::send_async`] and
//! [`Receiver::recv_async`], the [`RecvStream`] and (with the `futures` feature) the
//! `Stream` and `Sink` implementations.
//!
//! Every future here is runtime-agnostic (`std::task` only), keeps only the latest waker, and
//! is cancel-safe (see each type's `# Cancel safety`; the protocol is in `chan_async.rs`).

use super::chan::Chan;
use super::chan_async::{RecvWait, SendWait};
use super::error::{RecvError, SendError};
use super::{Receiver, Sender};
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

/// The future returned by [`Receiver::recv_async`]: resolves to the next value, or to
/// [`RecvError`] once the channel is empty and every sender is gone.
///
/// # Cancel safety
///
/// Cancel-safe: a value is taken from the channel only in the poll that returns it, so dropping
/// the future (in a `select!` that another branch won, on a timeout) never loses a value; it
/// stays in the channel for the next receive. A future dropped after it was woken for a value
/// passes the wakeup on to another waiting receiver.
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
}

impl<'a, T> RecvFuture<'a, T> {
    pub(super) fn new(chan: &'a Chan<T>) -> Self {
        RecvFuture { chan, wait: RecvWait::default() }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.chan.poll_recv(&mut this.wait, cx.waker())
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if self.wait.slot.is_registered() || self.wait.slot.is_counted() {
            self.chan.cancel_recv(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").field("waiting", &self.wait.slot.is_registered()).finish_non_exhaustive()
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
/// taken it, in which case it was sent. Use [`Sender::try_send`] in a loop, or keep the future,
/// to get an unsent value back.
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
}

// The value is never pinned: it is moved out by value (into the channel or the error), never
// referenced across polls, so the future may move between polls whatever `T` is.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.chan.poll_send(&mut this.value, &mut this.wait, cx.waker())
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if self.wait.slot.is_registered() || self.wait.slot.is_counted() || self.wait.owning {
            self.chan.cancel_send(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("sent", &self.value.is_none())
            .field("waiting", &self.wait.slot.is_registered())
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
/// As [`RecvFuture`]: dropping the stream, or a `next()` future, never loses a value.
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

    /// The next value, or `None` once the channel is empty and every sender is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as [`RecvFuture`].
    pub async fn next(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_next_value(cx)).await
    }

    /// Whether the stream has ended (it then stays ended).
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<T> Drop for RecvStream<'_, T> {
    fn drop(&mut self) {
        if self.wait.slot.is_registered() || self.wait.slot.is_counted() {
            self.receiver.get().chan.cancel_recv(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for RecvStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream").field("ended", &self.ended).finish_non_exhaustive()
    }
}

#[cfg(feature = "futures")]
impl<T> futures_core::Stream for RecvStream<'_, T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_next_value(cx)
    }
}

#[cfg(feature = "futures")]
impl<T> futures_core::FusedStream for RecvStream<'_, T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

/// The sender as a `futures_sink::Sink` (with the `futures` feature), from [`Sender::sink`] or
/// [`Sender::into_sink`]. `start_send` keeps one value; `poll_ready` and `poll_flush` move it
/// into the channel (waiting for room); `poll_close` flushes. The channel disconnects when the
/// sink and every other sender are dropped.
///
/// # Cancel safety
///
/// A value accepted by `start_send` and not yet flushed is dropped with the sink (not sent),
/// as with [`SendFuture`].
pub struct SendSink<'a, T> {
    sender: Handle<'a, Sender<T>>,
    value: Option<T>,
    wait: SendWait,
}

impl<'a, T> SendSink<'a, T> {
    pub(super) fn borrowed(sender: &'a Sender<T>) -> Self {
        SendSink { sender: Handle::Borrowed(sender), value: None, wait: SendWait::default() }
    }

    pub(super) fn owned(sender: Sender<T>) -> Self {
        SendSink { sender: Handle::Owned(sender), value: None, wait: SendWait::default() }
    }

    /// Moves the value accepted by the last `start_send`, if any, into the channel.
    pub fn poll_flush_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        // A rendezvous send in progress has moved its value into the slot (`owning`): it is
        // not flushed until a receiver has taken it.
        if self.value.is_none() && !self.wait.owning {
            return Poll::Ready(Ok(()));
        }
        let chan = &*self.sender.get().chan;
        chan.poll_send(&mut self.value, &mut self.wait, cx.waker())
    }

    /// Accepts one value, to be sent by the next flush.
    ///
    /// # Panics
    ///
    /// Panics when a value is still waiting to be flushed (call `poll_flush_value`, or the
    /// `Sink`'s `poll_ready`, until it is `Ready` first, as the `Sink` contract requires).
    pub fn start_send_value(&mut self, value: T) {
        assert!(self.value.is_none(), "SendSink::start_send called before poll_ready returned Ready");
        self.value = Some(value);
    }
}

// As `SendFuture`: the value is never pinned.
impl<T> Unpin for SendSink<'_, T> {}

impl<T> Drop for SendSink<'_, T> {
    fn drop(&mut self) {
        if self.wait.slot.is_registered() || self.wait.slot.is_counted() || self.wait.owning {
            self.sender.get().chan.cancel_send(&mut self.wait);
        }
    }
}

impl<T> fmt::Debug for SendSink<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink").field("has_value", &self.value.is_some()).finish_non_exhaustive()
    }
}

#[cfg(feature = "futures")]
impl<T> futures_sink::Sink<T> for SendSink<'_, T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush_value(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        self.get_mut().start_send_value(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush_value(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_flush_value(cx)
    }
}
