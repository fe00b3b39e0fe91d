//! The change queue: how blocked acquirers of a bucket learn that tokens may be ready sooner
//! than they computed, and the blocking acquire loop built on it (shared by [`TokenBucket`] and
//! [`KeyedBucket`]).
//!
//! A blocked acquire on a real-time clock ([`Clock::instant_of`]) sleeps until its ready
//! instant. Two events can make tokens available earlier: a new quota (`set_quota` of either
//! bucket) and a successful `Reservation::cancel` (the token bucket's). Each, after its change,
//! [`announce`](Changes::announce)s it: bumps a count (Release) and notifies the queue. A waiter
//! reads the count ([`seen`](Changes::seen), Acquire) *before* its attempt and sleeps only while
//! the count is unchanged. So either the waiter's attempt already saw the event (the Acquire
//! load synchronises with the bump, which follows the change), or the bump comes after its load
//! and the wait queue's Dekker handshake (`wait.rs`) guarantees the waiter sees it or is woken.
//! An async acquire (`async_acquire.rs`) does the same with the queue's async form
//! ([`Changes::poll_changed`]): its waker sits in the queue (next to its timer entry) until it
//! completes or is dropped ([`Changes::leave`]).
//!
//! [`TokenBucket`]: super::TokenBucket
//! [`KeyedBucket`]: super::KeyedBucket

use super::clock::Clock;
use super::error::{AcquireTimeoutError, TryAcquireError};
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::wait::{AsyncSlot, WaitQueue};
use std::fmt;
use std::task::{Poll, Waker};
use std::time::Instant;

/// A change count and the queue its waiters sleep on (module docs).
pub(crate) struct Changes {
    /// Bumped (then `queue` notified) by every event that can make tokens available earlier
    /// than a sleeper computed. Only compared for change; wrapping is harmless.
    count: AtomicU32,
    /// Blocked acquirers on a real-time clock wait here until their ready instant.
    queue: WaitQueue,
}

impl fmt::Debug for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

impl Changes {
    pub(crate) fn new() -> Changes {
        Changes { count: AtomicU32::new(0), queue: WaitQueue::new() }
    }

    /// The change count, read before an attempt.
    pub(crate) fn seen(&self) -> u32 {
        // ORDERING: Acquire pairs with the Release bump in `announce`: read before the attempt,
        // so an event whose bump we read is seen by the attempt, and one whose bump we miss is
        // seen by the wait that follows (module docs). Relaxed deadlocks the loom model
        // `bucket_cancel_wakes_a_blocked_acquire`, as in `announce`.
        self.count.load(Ordering::Acquire)
    }

    /// Whether an event was announced since the reading `seen`.
    fn changed_since(&self, seen: u32) -> Option<()> {
        // ORDERING: Relaxed; the wait queue's fences order it against the bump and the notify
        // (wait.rs module docs, "Async waiters").
        (self.count.load(Ordering::Relaxed) != seen).then_some(())
    }

    /// Tells blocked acquirers that tokens may be available earlier than they computed. Call it
    /// after the change.
    pub(crate) fn announce(&self) {
        // ORDERING: Release pairs with the Acquire load in `seen`: a waiter that reads this bump
        // sees the change made before it (the quota write, the cancel CAS) in its next attempt.
        // `notify_all`'s SeqCst fence then orders the bump before its `sleepers` and `armed`
        // checks, against the waiter's fence (wait.rs). Relaxed here deadlocks the loom model
        // `bucket_cancel_wakes_a_blocked_acquire` (the woken waiter's attempt may miss the cancel
        // and it sleeps again, with no bump left to wake it).
        self.count.fetch_add(1, Ordering::Release);
        self.queue.notify_all();
    }

    /// Blocks until an event is announced after the reading `seen`, or until `until` (`None`:
    /// no limit).
    pub(crate) fn wait_until(&self, until: Option<Instant>, seen: u32) {
        let _ = self.queue.wait_until(until, || self.changed_since(seen));
    }

    /// The async form of [`wait_until`](Changes::wait_until): `Ready` once an event was
    /// announced after the reading `seen`, else leaves `waker` registered in the queue and
    /// returns `Pending`. The caller must call [`leave`](Changes::leave) when it finishes or is
    /// dropped.
    pub(crate) fn poll_changed(&self, slot: &mut AsyncSlot, waker: &Waker, seen: u32) -> Poll<()> {
        self.queue.poll_until(slot, waker, || self.changed_since(seen))
    }

    /// Takes an async acquire's registration (if any) out of the queue. Passes no wakeup on: the
    /// queue is only ever notified with `notify_all` (`announce`), which woke every waiter, so
    /// a wakeup this future did not use is nobody else's (a pass-on would wake a waiter, maybe a
    /// parked thread, for nothing).
    pub(crate) fn leave(&self, slot: &mut AsyncSlot) {
        if slot.is_registered() {
            self.queue.cancel_without_pass_on(slot);
        }
    }
}

/// The blocking acquire of both buckets: `attempt` (one non-blocking try) until it grants, fails
/// for good, or `deadline` passes; between attempts it sleeps until the denial's ready reading,
/// on the clock (a clock without real-time instants: a [`ManualClock`](super::ManualClock)) or
/// on `changes` until the ready instant (real-time clocks: an announced change wakes it early).
/// A request that fits only past the clock's range ("never") waits for a change alone.
pub(crate) fn acquire_until<C: Clock>(
    clock: &C,
    changes: &Changes,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Result<(), TryAcquireError>,
) -> Result<(), AcquireTimeoutError> {
    loop {
        let seen = changes.seen();
        let denied = match attempt() {
            Ok(()) => return Ok(()),
            Err(TryAcquireError::InsufficientCapacity(e)) => return Err(e.into()),
            Err(TryAcquireError::RateLimited(denied)) => denied,
        };
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(AcquireTimeoutError::Timeout);
        }
        let ready = denied.ready_at();
        // `Some(wake)` on a real-time clock; `Some(None)` for "never" on every clock: no reading
        // brings it (readings past the range count as its end), only a change of the bucket
        // does. (Sleeping on a clock that had reached `u64::MAX` until `u64::MAX` returned at
        // once: a busy loop.)
        let real_time = if denied.is_never() { Some(None) } else { clock.instant_of(ready).map(Some) };
        let Some(ready_instant) = real_time else {
            clock.sleep_until(ready, deadline);
            continue;
        };
        let until = match (ready_instant, deadline) {
            // The tokens cannot be ready in time: fail now, not at the deadline.
            (None, Some(_)) => return Err(AcquireTimeoutError::Timeout),
            (Some(at), Some(d)) if at > d => return Err(AcquireTimeoutError::Timeout),
            (at, d) => at.or(d),
        };
        changes.wait_until(until, seen);
    }
}
