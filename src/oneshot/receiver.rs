//! The receiving half of a oneshot, and its `Future` implementation.

use super::cell::{self, Inner, Outcome};
use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::wait::deadline_after;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The receiving half of a oneshot: receives one value, once, blocking or as a [`Future`].
///
/// **After the result.** Once the receiver has returned the value, or reported that the
/// sender is gone, it is finished: it lets go of the shared cell at once, every later call
/// reports disconnection ([`TryRecvError::Disconnected`], [`RecvTimeoutError::Disconnected`],
/// `Ready(Err(RecvError))` when polled again), and [`is_ready`](Receiver::is_ready) stays `true`.
/// A timeout is not a result: the receiver stays usable after [`RecvTimeoutError::Timeout`].
///
/// Dropping the receiver drops a value that was sent but not received (exactly once, on the
/// dropping thread) and makes [`Sender::is_closed`](super::Sender::is_closed) `true`.
///
/// # Examples
///
/// ```
/// use ringfence::oneshot::{channel, TryRecvError};
///
/// let (tx, mut rx) = channel();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.send(1).unwrap();
/// assert!(rx.is_ready());
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected)); // finished
/// ```
pub struct Receiver<T> {
    /// `Some` until the receiver is finished (took the value or saw the sender gone).
    inner: Option<NonNull<Inner<T>>>,
    /// The receiver may own (and drop) a `T`.
    _owns: PhantomData<T>,
}

// A panic that unwinds out of a call on the cell (a value's or a waker's `Drop`, a waker's
// `wake`) leaves its state consistent (`tests/oneshot.rs`, the panicking-waker tests): usable
// across `catch_unwind` without `AssertUnwindSafe`, as the channel's handles.
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

// SAFETY: a `Receiver` takes (or drops) the `T` that another thread's sender wrote, so moving it
// across threads needs `T: Send`. The rest of what it touches is the state word (atomic) and the
// waker slot under the ownership rules of `cell.rs`; `Waker` is `Send + Sync`.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: `&Receiver` only offers `is_ready`, one atomic load; every method that reaches the `T`
// or the waker slot takes `&mut self` or `self`.
unsafe impl<T: Send> Sync for Receiver<T> {}

// The receiver never pins its `T` (the value is moved out by value), so it is `Unpin` for any `T`.
impl<T> Unpin for Receiver<T> {}

impl<T> Receiver<T> {
    pub(super) fn new(inner: NonNull<Inner<T>>) -> Self {
        Receiver { inner: Some(inner), _owns: PhantomData }
    }

    /// Receives the value, blocking until it is sent or the sender is dropped.
    ///
    /// Waits by spinning for about 1-2 µs (a reply that comes that fast costs no system call),
    /// then yielding a few times (up to about 50 µs while this thread's recent waits were
    /// short), then sleeping on a futex.
    ///
    /// # Errors
    ///
    /// [`RecvError`] when the sender was dropped without sending (or this receiver had already
    /// returned its result).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::oneshot::channel::<u8>();
    /// std::thread::spawn(move || drop(tx));
    /// assert!(rx.recv().is_err());
    /// ```
    #[inline]
    pub fn recv(mut self) -> Result<T, RecvError> {
        match self.wait(None) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Disconnected) => Err(RecvError),
            Err(RecvTimeoutError::Timeout) => unreachable!("a wait without a deadline timed out"),
        }
    }

    /// Receives the value, blocking at most `timeout`.
    ///
    /// A timeout too large to add to `Instant::now()` (such as `Duration::MAX`) waits forever.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when the time ran out (the receiver stays usable: call
    /// again, or poll it), [`RecvTimeoutError::Disconnected`] when the sender was dropped
    /// without sending (or the result was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringfence::oneshot::{channel, RecvTimeoutError};
    ///
    /// let (tx, mut rx) = channel();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// tx.send('x').unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::MAX), Ok('x'));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.wait(deadline_after(timeout))
    }

    /// Receives the value, blocking until `deadline` at most.
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
    /// let (tx, mut rx) = ringfence::oneshot::channel();
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.recv_deadline(Instant::now() + Duration::from_secs(1)), Ok(5));
    /// ```
    pub fn recv_deadline(&mut self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.wait(Some(deadline))
    }

    /// Receives the value if it has been sent, without blocking.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing was sent yet and the sender is alive,
    /// [`TryRecvError::Disconnected`] when the sender was dropped without sending (or the
    /// result was already taken).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::oneshot::{channel, TryRecvError};
    ///
    /// let (tx, mut rx) = channel::<u8>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner else {
            return Err(TryRecvError::Disconnected);
        };
        // SAFETY: `inner` is `Some`, so the receiver is unfinished.
        match unsafe { cell::try_take(inner) } {
            None => Err(TryRecvError::Empty),
            Some(outcome) => {
                self.inner = None; // finished: the pointer is dead
                outcome.into_result().map_err(|_| TryRecvError::Disconnected)
            }
        }
    }

    /// `true` when the result is in: a value was sent, or the sender is gone (Python's
    /// `Future.done()`). A `try_recv` after `true` does not return `Empty`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::oneshot::channel::<()>();
    /// assert!(!rx.is_ready());
    /// drop(tx);
    /// assert!(rx.is_ready());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_ready(&self) -> bool {
        match self.inner {
            // SAFETY: `Some` means the receiver is unfinished.
            Some(inner) => unsafe { cell::is_ready(inner) },
            None => true,
        }
    }

    /// `true` once the receiver has finished: it returned the value or [`RecvError`] (from
    /// `.await`, `recv`, or a `try_recv` / `recv_timeout` that did not report `Empty` /
    /// `Timeout`). A finished receiver's later polls return `Err(RecvError)` at once, so it
    /// is safe to poll in a `select!` loop, and with the `futures` feature it is a
    /// `futures_core::FusedFuture` (as futures' oneshot receiver; tokio's has the same
    /// `is_terminated`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = ringfence::oneshot::channel();
    /// tx.send(1).unwrap();
    /// assert!(rx.is_ready() && !rx.is_terminated()); // in, not yet taken
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.is_terminated());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Inline, as `cell::wait`'s first look: a result that is already in costs no call (the
    /// park path is out of line).
    #[inline]
    fn wait(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let Some(inner) = self.inner else {
            return Err(RecvTimeoutError::Disconnected);
        };
        // SAFETY: `inner` is `Some`, so the receiver is unfinished.
        match unsafe { cell::wait(inner, deadline) } {
            None => Err(RecvTimeoutError::Timeout), // still unfinished and usable
            Some(outcome) => {
                self.inner = None; // finished: the pointer is dead
                outcome.into_result().map_err(|_| RecvTimeoutError::Disconnected)
            }
        }
    }
}

/// Resolves to the value, or to [`RecvError`] when the sender is dropped without sending.
///
/// Runtime-agnostic (only `std::task`): works with tokio, async-std, smol or a hand-written
/// `block_on`. Only the waker of the latest poll is kept; the one it replaces is dropped at once.
/// Polling again after it returned `Ready` gives `Ready(Err(RecvError))` (no panic).
///
/// # Cancel safety
///
/// Cancel-safe. Polling takes nothing out of the cell until it returns `Ready`, so dropping the
/// future (for example the losing branch of `tokio::select!`) loses no value: if the value was
/// already sent it is dropped with the receiver, exactly once; if it is sent later, `send`
/// returns it inside [`SendError`](super::SendError). Polling through `&mut rx` (as `select!` in
/// a loop does) keeps the receiver and its value for the next round.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::oneshot::channel();
/// tokio::spawn(async move { tx.send("pong").unwrap() });
/// assert_eq!(rx.await, Ok("pong"));
/// # });
/// ```
impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(inner) = this.inner else {
            return Poll::Ready(Err(RecvError));
        };
        // SAFETY: `inner` is `Some`, so the receiver is unfinished.
        match unsafe { cell::poll(inner, cx.waker()) } {
            None => Poll::Pending,
            Some(outcome) => {
                this.inner = None; // finished: the pointer is dead
                Poll::Ready(outcome.into_result().map_err(|_| RecvError))
            }
        }
    }
}

#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        Receiver::is_terminated(self)
    }
}

impl<T> Outcome<T> {
    #[inline]
    fn into_result(self) -> Result<T, RecvError> {
        match self {
            Outcome::Value(value) => Ok(value),
            Outcome::Disconnected => Err(RecvError),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner {
            // SAFETY: `Some` means unfinished; this is its last use of the pointer.
            unsafe { cell::close(inner) };
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("ready", &self.is_ready()).finish()
    }
}
