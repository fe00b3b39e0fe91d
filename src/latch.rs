//! A countdown latch: wait until every outstanding piece of work has finished.
//!
//! The pool's [`scope`](crate::pool::Pool::scope) counts the jobs it submitted and waits for the
//! count to reach zero before the borrowed stack frame may go away; the pool counts its live
//! workers in one (`Pool::shutdown_async` waits for zero); [`WaitGroup`](crate::WaitGroup) is
//! one with a public face. The latch is one atomic count plus a [`WaitQueue`]: `count_down` is
//! one RMW and, only for the last one, a wakeup; `wait` spins briefly and then parks on the
//! futex like every other wait in the crate.
//!
//! # Guarantee
//!
//! Everything done before a `count_down` happens-before the return of a `wait` that saw the
//! count reach zero (each `count_down` is a Release RMW, so the last one continues the release
//! sequence of every earlier one, and the waiter's Acquire load of zero synchronises with all of
//! them). No wakeup is lost: the last `count_down` notifies through the waiting layer's
//! handshake (see `src/wait.rs`).

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::wait::{AsyncSlot, WaitQueue};
use std::task::{Poll, Waker};

/// A count of outstanding work and the threads waiting for it to reach zero.
#[derive(Debug)]
pub(crate) struct Latch {
    /// Outstanding work. Incremented by the owner before it hands the work out, decremented
    /// once by whoever finishes (or discards) each piece.
    count: AtomicUsize,
    /// Threads waiting for `count == 0`.
    zero: WaitQueue,
}

impl Latch {
    /// A latch with nothing outstanding.
    pub(crate) fn new() -> Self {
        Latch { count: AtomicUsize::new(0), zero: WaitQueue::new() }
    }

    /// Counts one more piece of outstanding work. Call it before handing the work out.
    #[inline]
    pub(crate) fn count_up(&self) {
        self.count_up_by(1);
    }

    /// Counts one more piece of work **unless the count is zero**, as `Weak::upgrade` does:
    /// `false` (nothing counted) once the latch has reached zero, so that a waiter that saw zero
    /// knows nobody can join after it. (The pool's chunked slice operations: a helper job joins
    /// the caller's work only while the caller has not yet closed it, `pool/chunked.rs`.)
    #[inline]
    pub(crate) fn try_join(&self) -> bool {
        // ORDERING: Relaxed: the joiner's access to the shared work was ordered before by how
        // the work reached it (the pool's channel); what matters here is only the RMWs' total
        // order on `count`, which puts this either before the closing `count_down` (which then
        // leaves our count for its waiter to wait out) or after it (and then we see zero and
        // stay out). Our own `count_down` (Release) orders our work before the waiter's return.
        self.count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                if count == 0 { None } else { count.checked_add(1) }
            })
            .is_ok()
    }

    /// Counts `n` more pieces of outstanding work; `Err` (nothing counted) when the count would
    /// pass `usize::MAX / 2`.
    #[inline]
    pub(crate) fn try_count_up_by(&self, n: usize) -> Result<(), usize> {
        // ORDERING: Relaxed: the work is handed out after this (through a channel, which
        // synchronises, or by program order on this thread), so the matching `count_down` is
        // ordered after it by that hand-off. Relaxed on failure: nothing changes.
        self.count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |count| {
                count.checked_add(n).filter(|&more| more <= usize::MAX / 2)
            })
            .map(drop)
    }

    /// [`Latch::try_count_up_by`] that panics on overflow (a count that large is a leak).
    #[inline]
    pub(crate) fn count_up_by(&self, n: usize) {
        if let Err(count) = self.try_count_up_by(n) {
            panic!("latch count overflow: {count} + {n}");
        }
    }

    /// Marks one piece of work finished unless nothing is outstanding; `false` then (the caller
    /// marked more pieces finished than it counted).
    #[inline]
    pub(crate) fn try_count_down(&self) -> bool {
        // ORDERING: Release on success, as in `count_down`. Relaxed on failure: nothing changes.
        let before =
            self.count.fetch_update(Ordering::Release, Ordering::Relaxed, |count| count.checked_sub(1));
        match before {
            Ok(1) => {
                self.zero.notify_all();
                true
            }
            Ok(_) => true,
            Err(_) => false,
        }
    }

    /// Outstanding work right now (a snapshot).
    #[inline]
    pub(crate) fn count(&self) -> usize {
        // ORDERING: Relaxed: a snapshot for display; waiting uses `is_zero`.
        self.count.load(Ordering::Relaxed)
    }

    /// Marks one piece of work finished; the last one wakes the waiters.
    #[inline]
    pub(crate) fn count_down(&self) {
        // ORDERING: Release: what the finished work did (its side effects, dropping what it
        // borrowed) happens-before the waiter's Acquire load that reads zero.
        let before = self.count.fetch_sub(1, Ordering::Release);
        debug_assert!(before > 0, "latch count underflow");
        if before == 1 {
            self.zero.notify_all();
        }
    }

    /// `true` when nothing is outstanding.
    #[inline]
    pub(crate) fn is_zero(&self) -> bool {
        // ORDERING: Acquire: pairs with the Release of every `count_down` (module docs).
        self.count.load(Ordering::Acquire) == 0
    }

    /// Blocks until nothing is outstanding.
    pub(crate) fn wait(&self) {
        self.zero.wait_until(None, || self.is_zero().then_some(()));
    }

    /// Blocks until nothing is outstanding or `deadline` passes (`None`: no deadline); `true`
    /// when the count reached zero.
    pub(crate) fn wait_deadline(&self, deadline: Option<std::time::Instant>) -> bool {
        self.zero.wait_until(deadline, || self.is_zero().then_some(())).is_some()
    }

    /// One poll of an async wait: `Ready` once nothing is outstanding, else `Pending` with the
    /// future registered on the same queue as the blocking waiters (the last `count_down`'s
    /// `notify_all` wakes both). A future dropped unfinished must call [`Latch::cancel_wait`].
    pub(crate) fn poll_wait(&self, slot: &mut AsyncSlot, waker: &Waker) -> Poll<()> {
        self.zero.poll_until(slot, waker, || self.is_zero().then_some(()))
    }

    /// An async wait dropped unfinished: leaves the queue. No wakeup is passed on: the only
    /// notify here is `notify_all`, which woke every other waiter too.
    pub(crate) fn cancel_wait(&self, slot: &mut AsyncSlot) {
        self.zero.cancel_without_pass_on(slot);
    }
}
