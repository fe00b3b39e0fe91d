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
//! A blocked acquire on a clock that wakes wakers but has no real-time instants (a
//! `ManualClock`) registers a thread-parking waker ([`Parker`]) with the clock and in the queue
//! ([`wait_for_clock_or_change`]), so either wakes it.
//! An async acquire (`async_acquire.rs`) does the same with the queue's async form
//! ([`Changes::poll_changed`]): its waker sits in the queue (next to its timer entry) until it
//! completes or is dropped ([`Changes::leave`]).
//!
//! [`TokenBucket`]: super::TokenBucket
//! [`KeyedBucket`]: super::KeyedBucket

use super::clock::Clock;
use super::error::{AcquireTimeoutError, TryAcquireError};
use crate::parker::Parker;
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
/// for good, or `deadline` passes; between attempts it waits for the denial's ready reading:
/// on `changes` until the ready instant (real-time clocks: an announced change wakes it early),
/// or, on a clock without real-time instants that wakes wakers (a
/// [`ManualClock`](super::ManualClock)), for the clock's wake or a change, whichever comes first
/// ([`wait_for_clock_or_change`]); a clock that can do neither is slept on
/// ([`Clock::sleep_until`]). A request that fits only past the clock's range ("never") waits
/// for a change alone.
pub(crate) fn acquire_until<C: Clock>(
    clock: &C,
    changes: &Changes,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Result<(), TryAcquireError>,
) -> Result<(), AcquireTimeoutError> {
    // Made at the first wait on a clock without real-time instants (below), kept for the rest.
    let mut parker: Option<Parker> = None;
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
            // No real-time instant (a `ManualClock`): wait for the clock's wake or a change,
            // whichever comes first, through a thread-parking waker registered with both.
            let parker = parker.get_or_insert_with(Parker::new);
            if clock.wake_at(ready, &parker.waker) {
                wait_for_clock_or_change(clock, changes, parker, ready, deadline, seen);
            } else {
                // A clock that cannot wake wakers either: only its own sleep (a change is seen
                // when the sleep ends).
                clock.sleep_until(ready, deadline);
            }
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

/// One wait of a blocked acquire on a clock without real-time instants whose
/// [`wake_at`](Clock::wake_at) has just registered `parker`'s waker for the reading `ready`:
/// the thread parks until the clock wakes it (an advance) or an announced change does, so a
/// `set_quota` or a `cancel` that frees tokens sooner is seen without an advance. Returns when
/// the caller should attempt again (and on a spurious wakeup, or once `deadline` passed).
fn wait_for_clock_or_change<C: Clock>(
    clock: &C,
    changes: &Changes,
    parker: &Parker,
    ready: u64,
    deadline: Option<Instant>,
    seen: u32,
) {
    // Registered in the change queue before the checks below, so that a change announced after
    // them wakes the waker (the queue's handshake, as for an async acquire).
    let mut slot = AsyncSlot::default();
    let changed = changes.poll_changed(&mut slot, &parker.waker, seen).is_ready();
    // `wake_at`'s promise: an advance after it is seen by this `now()` or wakes the waker.
    if !changed && clock.now() < ready {
        let _in_time = parker.park_until(deadline);
    }
    changes.leave(&mut slot);
}
