//! The sending half of a oneshot.

use super::cell::{self, Inner};
use super::error::SendError;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// The sending half of a oneshot: sends one value, once.
///
/// Dropping it without sending wakes the receiver (a blocked thread or a pending task), which
/// then gets a disconnection error.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringfence::oneshot::channel();
/// std::thread::spawn(move || tx.send(6 * 7).unwrap());
/// assert_eq!(rx.recv(), Ok(42));
/// ```
pub struct Sender<T> {
    /// Alive until `send` or `Drop` (the sender's finishing transition).
    inner: NonNull<Inner<T>>,
    /// The sender may own (and drop) a `T`.
    _owns: PhantomData<T>,
}

// A panic that unwinds out of a call on the cell (a value's or a waker's `Drop`, a waker's
// `wake`) leaves its state consistent (`tests/oneshot.rs`, the panicking-waker tests): usable
// across `catch_unwind` without `AssertUnwindSafe`, as the channel's handles.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}

// SAFETY: a `Sender` moves its `T` into the block, where the receiver's thread takes or drops
// it, so sending the handle to another thread needs `T: Send`. Else it touches the state word
// and `Waker`s (`Send + Sync`): the receiver's after its finishing RMW, and its own `closed`
// slot while it owns it, both under the ownership rules of `cell.rs`.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: `&Sender` only offers `is_closed`, one atomic load; no `T` is reachable through a shared
// reference. (`T: Send` kept as the conservative bound, as tokio does.)
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    pub(super) fn new(inner: NonNull<Inner<T>>) -> Self {
        Sender { inner, _owns: PhantomData }
    }

    /// Sends `value` to the receiver, without blocking, and wakes it if it waits.
    ///
    /// When this returns `Ok` the value belongs to the receiver: it is received, or dropped on
    /// the receiver's thread when the receiver is dropped, never on this thread.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value inside when the receiver is already gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::oneshot::channel();
    /// assert!(tx.send("done").is_ok());
    /// assert_eq!(rx.recv(), Ok("done"));
    ///
    /// let (tx, rx) = ringfence::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send("lost").unwrap_err().into_inner(), "lost");
    /// ```
    #[inline]
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        let inner = ManuallyDrop::new(self).inner; // `send` replaces `Drop`
        // SAFETY: the sender is unfinished (it is consumed here, `Drop` will not run) and
        // `cell::send` is its finishing transition.
        unsafe { cell::send(inner, value) }.map_err(SendError)
    }

    /// `true` when the receiver is gone: a `send` would fail. A snapshot: it may become `true`
    /// right after returning `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_closed(&self) -> bool {
        // SAFETY: the sender is unfinished while `self` exists.
        unsafe { cell::is_closed(self.inner) }
    }

    /// Waits until the receiver is gone (dropped without taking a value): a future that lets a
    /// producer stop working on a result nobody will receive. Resolves at once when the receiver
    /// is already gone.
    ///
    /// Wakes from any executor (only `std::task`). A blocking thread polls
    /// [`is_closed`](Self::is_closed) instead.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: see [`ClosedFuture`](super::ClosedFuture).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (mut tx, rx) = ringfence::oneshot::channel::<u8>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await;
    /// assert!(tx.send(1).is_err());
    /// # });
    /// ```
    pub fn closed(&mut self) -> super::ClosedFuture<'_, T> {
        super::ClosedFuture::new(self)
    }

    /// The poll behind [`closed`](Self::closed), for hand-written futures: `Ready` once the
    /// receiver is gone; otherwise `Pending`, with the task's waker registered (replacing the
    /// one of an earlier poll, which is dropped) for the receiver's drop to wake.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (mut tx, rx) = ringfence::oneshot::channel::<u8>();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert_eq!(tx.poll_closed(&mut cx), Poll::Pending);
    /// drop(rx);
    /// assert_eq!(tx.poll_closed(&mut cx), Poll::Ready(()));
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the sender is unfinished while `self` exists, and `&mut self` makes this the
        // only poll of its waker slot.
        if unsafe { cell::poll_closed(self.inner, cx.waker()) } { Poll::Ready(()) } else { Poll::Pending }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // SAFETY: dropping an unfinished sender is its finishing transition; `send` skips this.
        unsafe { cell::disconnect(self.inner) };
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("closed", &self.is_closed()).finish()
    }
}
