//! The futures of the async acquires ([`Semaphore::acquire_async`],
//! [`Semaphore::acquire_many_async`] and their owned forms): [`AcquireFuture`] and
//! [`AcquireOwnedFuture`].
//!
//! Each future is one async acquirer in the same line as the blocking ones: its polls are the
//! blocking path's steps (fast path, wait in the line, wait as the head) on the same two
//! [`WaitQueue`]s, with a `Waker` in place of a parked thread (`Semaphore::poll_take` in
//! `state.rs`; the protocol, rule 5, in the parent module's docs). Async and blocking acquirers
//! may share one semaphore, and the head-of-line promise covers both.
//!
//! Every future here is runtime-agnostic (`std::task` only), keeps only the latest waker, and
//! is cancel-safe: permits are taken only by the compare-and-swap of the poll that returns
//! `Ready`, so a dropped future holds none; if it was the head it gives the role up (and wakes
//! the line), if it had been woken it passes the wakeup on.
//!
//! [`WaitQueue`]: crate::wait::WaitQueue

use super::state::AsyncAcquire;
use super::{OwnedPermit, Permit, Semaphore, too_many};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
// The user's `Arc`, as the blocking owned forms (see `permit.rs`).
use std::sync::Arc;
use std::task::{Context, Poll};

/// The future returned by [`Semaphore::acquire_async`] and
/// [`Semaphore::acquire_many_async`]: resolves to a [`Permit`] once its permits are taken.
///
/// Runtime-agnostic (`std::task` only); only the waker of the latest poll is kept.
///
/// # Panics
///
/// When polled again after it returned `Ready`, with the message `"an acquire future polled
/// after it completed"`.
///
/// # Cancel safety
///
/// Cancel-safe. The future takes its permits (all `n` at once) only in the poll that returns
/// them, so dropping it unfinished returns whatever it had taken, which is nothing, and the
/// semaphore's count is unchanged. If it was waiting at the head of the line it gives the head
/// role up and wakes the waiters behind it (permits released meanwhile stay available); if a
/// release or a departing head had woken it, it passes the wakeup on to another waiter. A future
/// that waits at the head and is neither polled when woken nor dropped holds up the line, as a
/// blocked thread at the head would: drop futures you stop polling.
///
/// # Examples
///
/// Giving up after a while, with nothing lost:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use ringfence::timer::timeout;
/// use std::time::Duration;
///
/// let semaphore = ringfence::Semaphore::new(1);
/// let held = semaphore.acquire_async().await;
/// let waited = timeout(Duration::from_millis(5), semaphore.acquire_async()).await;
/// assert!(waited.is_err()); // timed out: the future was dropped
/// assert_eq!(semaphore.available_permits(), 0);
/// drop(held);
/// assert!(semaphore.try_acquire().is_some()); // no head left behind
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireFuture<'a> {
    semaphore: &'a Semaphore,
    n: usize,
    wait: AsyncAcquire,
}

impl<'a> AcquireFuture<'a> {
    /// The future of an acquire of `n` permits; panics at once when `n` could never be served.
    #[track_caller]
    pub(super) fn new(semaphore: &'a Semaphore, n: usize) -> Self {
        if n > Semaphore::MAX_PERMITS {
            too_many(n);
        }
        AcquireFuture { semaphore, n, wait: AsyncAcquire::default() }
    }
}

impl<'a> Future for AcquireFuture<'a> {
    type Output = Permit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit<'a>> {
        let this = self.get_mut();
        this.semaphore
            .poll_take(this.n, &mut this.wait, cx.waker())
            .map(|()| Permit::new(this.semaphore, this.n))
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for AcquireFuture<'_> {
    fn is_terminated(&self) -> bool {
        self.wait.is_done()
    }
}

impl Drop for AcquireFuture<'_> {
    #[inline]
    fn drop(&mut self) {
        self.semaphore.cancel_take(&mut self.wait);
    }
}

impl fmt::Debug for AcquireFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireFuture")
            .field("permits", &self.n)
            .field("stage", &self.wait.stage)
            .finish_non_exhaustive()
    }
}

/// The future returned by [`Semaphore::acquire_owned_async`] and
/// [`Semaphore::acquire_many_owned_async`]: resolves to an [`OwnedPermit`] once its permits
/// are taken. It holds an `Arc` of the semaphore, so it is `'static` (and `Send`): it can be
/// spawned.
///
/// # Panics
///
/// When polled again after it returned `Ready`, with the message `"an acquire future polled
/// after it completed"`.
///
/// # Cancel safety
///
/// As [`AcquireFuture`]: permits are taken only in the poll that returns them, so a dropped
/// future has none to return; a dropped head gives the role up and wakes the line, and a
/// dropped future that had been woken passes the wakeup on.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let semaphore = Arc::new(ringfence::Semaphore::new(0));
/// let waiting = tokio::spawn(Arc::clone(&semaphore).acquire_owned_async());
/// tokio::time::sleep(Duration::from_millis(1)).await; // let it wait (not needed for safety)
/// semaphore.add_permits(1);
/// let permit = waiting.await.unwrap();
/// assert_eq!(permit.num_permits(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwnedFuture {
    /// Moved into the permit by the poll that returns it.
    semaphore: Option<Arc<Semaphore>>,
    n: usize,
    wait: AsyncAcquire,
}

impl AcquireOwnedFuture {
    /// The future of an acquire of `n` permits; panics at once when `n` could never be served.
    #[track_caller]
    pub(super) fn new(semaphore: Arc<Semaphore>, n: usize) -> Self {
        if n > Semaphore::MAX_PERMITS {
            too_many(n);
        }
        AcquireOwnedFuture { semaphore: Some(semaphore), n, wait: AsyncAcquire::default() }
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for AcquireOwnedFuture {
    fn is_terminated(&self) -> bool {
        self.wait.is_done()
    }
}

impl Future for AcquireOwnedFuture {
    type Output = OwnedPermit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedPermit> {
        let this = self.get_mut();
        let semaphore = this.semaphore.as_deref().expect("an acquire future polled after it completed");
        if semaphore.poll_take(this.n, &mut this.wait, cx.waker()).is_pending() {
            return Poll::Pending;
        }
        let semaphore = this.semaphore.take().expect("checked above");
        Poll::Ready(OwnedPermit::new(semaphore, this.n))
    }
}

impl Drop for AcquireOwnedFuture {
    #[inline]
    fn drop(&mut self) {
        if let Some(semaphore) = &self.semaphore {
            semaphore.cancel_take(&mut self.wait);
        }
    }
}

impl fmt::Debug for AcquireOwnedFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwnedFuture")
            .field("permits", &self.n)
            .field("stage", &self.wait.stage)
            .finish_non_exhaustive()
    }
}
