//! [`timeout`] and [`timeout_at`]: any future, bounded by a deadline on the built-in timer.

use super::Sleep;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `future` for at most `duration` (counted from this call): resolves to `Ok(output)` if
/// it completes in time, or to `Err(Elapsed)` once `duration` has passed. The future is dropped
/// with the [`Timeout`], unfinished after an `Elapsed`.
///
/// The async counterpart of the blocking `*_timeout` calls, on any executor: the deadline is
/// kept by the crate's own timer thread (the [module docs](super)), not by a runtime. A
/// `duration` too long to add to `Instant::now()` (`Duration::MAX`) means "no deadline": the
/// result is the future's own, never `Elapsed`, and nothing panics.
///
/// # Cancel safety
///
/// The timeout is as cancel-safe as `future`, which is dropped unfinished with the `Timeout`
/// (after an `Elapsed`, or when the `Timeout` itself is cancelled). Every future of this crate
/// documents what that does: a `recv_async` loses no value, an `acquire_async` takes no
/// permits, a `send_async` drops its value unsent (but on a zero-capacity channel a receiver
/// may have taken it from the hand-over slot before the drop: then it was sent). To know
/// which, and to get an unsent value back, time out `&mut send` and call
/// [`SendFuture::cancel`](crate::channel::SendFuture::cancel): `Some(value)` was not sent.
///
/// # Examples
///
/// ```
/// use ringfence::timer::{Elapsed, timeout};
/// use std::time::Duration;
///
/// // Any executor (here tokio's, whose own timer is not even enabled).
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = ringfence::channel::bounded::<u32>(1);
///     // Nothing sent yet: the receive times out, and loses nothing.
///     assert_eq!(timeout(Duration::from_millis(5), rx.recv_async()).await, Err(Elapsed));
///     tx.send(7).unwrap();
///     assert_eq!(timeout(Duration::from_millis(5), rx.recv_async()).await, Ok(Ok(7)));
/// });
/// ```
///
/// A send that gets its value back when it times out:
///
/// ```
/// use ringfence::timer::timeout;
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, rx) = ringfence::channel::bounded(1);
/// tx.send("first").unwrap(); // full
/// let mut send = tx.send_async("second");
/// if timeout(Duration::from_millis(5), &mut send).await.is_err() {
///     assert_eq!(send.cancel(), Some("second")); // not sent: ours again
/// }
/// assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["first"]);
/// # });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout { future, sleep: super::sleep(duration) }
}

/// [`timeout`] with a deadline: resolves to `Err(Elapsed)` once `deadline` has passed (at the
/// first poll if it already has and `future` is not ready then).
///
/// # Cancel safety
///
/// As [`timeout`]'s: that of `future`.
///
/// # Examples
///
/// ```
/// use ringfence::timer::{Elapsed, timeout_at};
/// use std::time::{Duration, Instant};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let semaphore = ringfence::Semaphore::new(1);
/// let held = semaphore.acquire();
/// // One deadline for several steps.
/// let deadline = Instant::now() + Duration::from_millis(5);
/// assert!(timeout_at(deadline, semaphore.acquire_async()).await.is_err());
/// drop(held);
/// assert!(timeout_at(deadline, semaphore.acquire_async()).await.is_ok()); // ready at once
/// # });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout { future, sleep: super::sleep_until(deadline) }
}

/// The future of [`timeout`] and [`timeout_at`]: `future`'s output in `Ok`, or `Err(Elapsed)`.
///
/// Each poll polls `future` first, so a future that is ready at the deadline wins: a value
/// that arrived in time is never turned into a timeout. Then the deadline is checked (never
/// `Elapsed` before it, whatever woke the task). Both register the same waker: the task wakes
/// for whichever comes first. As with any future, do not poll it again after it resolved.
///
/// `Unpin` when `future` is; [`into_inner`](Timeout::into_inner) gives `future` back.
///
/// # Cancel safety
///
/// That of `future` (see [`timeout`]); the timer entry is removed.
///
/// # Examples
///
/// ```
/// use ringfence::timer::timeout;
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let slow = timeout(Duration::from_millis(1), ringfence::timer::sleep(Duration::from_secs(60)));
/// assert!(slow.await.is_err());
/// # });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The deadline, or `None` when there is none (a duration too long to represent).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(ringfence::timer::timeout_at(at, async {}).deadline(), Some(at));
    /// assert_eq!(ringfence::timer::timeout(Duration::MAX, async {}).deadline(), None);
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.sleep.deadline()
    }

    /// The wrapped future, by reference.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let timed = ringfence::timer::timeout(Duration::from_secs(1), tx.send_async(1));
    /// assert!(format!("{:?}", timed.get_ref()).starts_with("SendFuture"));
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, by mutable reference (only for an `Unpin` one: a pinned future
    /// must not move).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let mut timed = ringfence::timer::timeout(Duration::from_secs(1), tx.send_async(1));
    /// let _send: &mut ringfence::channel::SendFuture<'_, u8> = timed.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F
    where
        F: Unpin,
    {
        // The bound is not needed for soundness (a `&mut Timeout` of a pinned `!Unpin` future
        // cannot be had), but it keeps the method out of the way of pinned code.
        &mut self.future
    }

    /// Ends the timeout and returns the wrapped future, unfinished (its timer entry is
    /// removed).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let timed = ringfence::timer::timeout(Duration::from_secs(1), tx.send_async(1));
    /// assert_eq!(timed.into_inner().cancel(), Some(1)); // never polled: not sent
    /// assert!(rx.is_empty());
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Pinning is structural for `future` only: it is never moved out of a pinned
        // `Timeout` (`into_inner` takes `self` by value, which a pinned `!Unpin` `Timeout`
        // cannot give, and `get_mut` requires `F: Unpin`), `Timeout` has no `Drop` of its own
        // that could move it, and `Timeout<F>` is `Unpin` only when `F` is (the auto trait, as
        // `Sleep` is `Unpin`). `sleep` is `Unpin` and is used by `&mut`.
        // SAFETY: nothing below moves `future` (see above).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above: `future` stays where it is for as long as the `Timeout` lives.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            // A `Timeout` kept after it resolved must not wake its task at the deadline, nor
            // keep the waker alive until then.
            this.sleep.disarm();
            return Poll::Ready(Ok(output));
        }
        this.sleep.poll_waker(cx.waker()).map(|()| Err(Elapsed))
    }
}

/// The error of a [`timeout`] whose deadline passed before its future completed (the future
/// is dropped, unfinished, with the [`Timeout`]).
///
/// # Examples
///
/// ```
/// use ringfence::timer::{Elapsed, timeout};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let never = std::future::pending::<()>();
/// let error = timeout(Duration::from_millis(1), never).await.unwrap_err();
/// assert_eq!(error, Elapsed);
/// assert_eq!(error.to_string(), "deadline has elapsed");
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// An [`Elapsed`] as an `io::Error` of kind [`TimedOut`](std::io::ErrorKind::TimedOut), as
/// tokio's, so that `timeout(d, io).await??` works in a function returning `io::Result`.
///
/// # Examples
///
/// ```
/// use ringfence::timer::Elapsed;
/// use std::io;
///
/// let error = io::Error::from(Elapsed);
/// assert_eq!(error.kind(), io::ErrorKind::TimedOut);
/// assert_eq!(error.to_string(), "deadline has elapsed");
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(elapsed: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
