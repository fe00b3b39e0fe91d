//! [`ClosedFuture`]: a sender waits, asynchronously, for its receiver to go.

use super::Sender;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future returned by [`Sender::closed`]: resolves once the receiver is dropped without
/// having taken a value, that is once a [`send`](Sender::send) would fail.
///
/// It borrows the sender mutably, so the sender cannot send while it waits; race it against the
/// work instead (`select!`), and send when the work wins.
///
/// # Cancel safety
///
/// Cancel-safe: it takes nothing and changes nothing. Dropped, it leaves its waker registered
/// in the oneshot, so that task may be woken once for nothing (a spurious wakeup, which every
/// executor tolerates); a later `closed()` or [`Sender::poll_closed`] replaces that waker. The
/// oneshot keeps the waker (and so the task it belongs to) until its block is freed: when the
/// receiver is dropped, or, after a `send`, when the receiver takes or drops the value (as
/// tokio's oneshot does).
///
/// # Examples
///
/// Stop expensive work as soon as nobody waits for its result:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::time::Duration;
///
/// let (mut reply, answer) = ringfence::oneshot::channel::<u64>();
/// let worker = tokio::spawn(async move {
///     tokio::select! {
///         () = reply.closed() => "abandoned",
///         sum = async { tokio::time::sleep(Duration::from_secs(60)).await; 42 } => {
///             let _ = reply.send(sum);
///             "sent"
///         }
///     }
/// });
/// drop(answer); // the caller gives up
/// assert_eq!(worker.await.unwrap(), "abandoned");
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ClosedFuture<'a, T> {
    sender: &'a mut Sender<T>,
    /// It returned `Ready` (for `FusedFuture`; polled again it is `Ready` again).
    done: bool,
}

impl<'a, T> ClosedFuture<'a, T> {
    pub(super) fn new(sender: &'a mut Sender<T>) -> Self {
        ClosedFuture { sender, done: false }
    }
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this.sender.poll_closed(cx);
        this.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it returned `Ready`.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T> futures_core::future::FusedFuture for ClosedFuture<'_, T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> fmt::Debug for ClosedFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosedFuture").field("closed", &self.sender.is_closed()).finish()
    }
}
