//! A waiting lane for one async waiter: the common case of a channel side (one receiving task,
//! one sending task) waits here instead of in the side's [`WaitQueue`] list.
//!
//! A future that must wait on a buffered channel first tries to claim its side's lane (one CAS);
//! only when another future holds it does it register in the queue. A notifier (`Chan::settle`,
//! after its fence) looks at the lane first and wakes its holder, and notifies the queue only
//! when the lane holds nobody. The lane spares a wait cycle the queue's lock, its list, keys and
//! `last_woken` (measured with a prototype, the twenty-eighth session in `docs/benchmarks.md`:
//! a third of the cycle's instructions).
//!
//! **A lane with one possible waiter.** The parked receive's async owner waits in a lane of its
//! own (`ParkedRecv::filled_lane`) through [`Lane::poll_alone`]: there is no queue behind it
//! (only the owner waits there), its notifier (the fill, disconnection) ignores `false`, a
//! dropped owner passes nothing on, and a claim that finds the lane held waits out the
//! previous owner's leave instead of going to a queue (see `poll_alone`). What follows about
//! the queue is about the sides' lanes.
//!
//! # States
//!
//! | state | meaning | who moves it, to what |
//! |---|---|---|
//! | `IDLE` | nobody waits; the cell holds no waker | a claiming future: CAS to `BUSY` |
//! | `BUSY` | the holder writes or takes its waker | the holder: to `WAITING` (claimed) or `IDLE` (left) |
//! | `WAITING` | the holder waits, its waker in the cell | a notifier: CAS to `BUSY`, takes the waker, stores `NOTIFIED`; the holder leaving: CAS to `BUSY`, takes it back, stores `IDLE` |
//! | `NOTIFIED` | a notifier took the waker, woke the holder and uncounted it | the holder: to `IDLE` |
//!
//! `BUSY` belongs to one thread at a time (the CAS that entered it), so the waker cell is never
//! accessed by two threads at once. The waker leaves the cell with every exit from `WAITING`, so
//! the lane never keeps a task alive once its future stopped waiting (a future holding a handle
//! of the channel whose lane holds its task's waker would be a reference cycle).
//!
//! # Why no wakeup is lost
//!
//! The same Dekker handshake as the queue's (`wait.rs`): the holder stores `WAITING` (after
//! counting itself in the ring's word) before its `fence(SeqCst)` and its re-check; the
//! notifier makes its condition true before its fence and loads the state after it. Whichever
//! fence comes second sees the other side's write: the notifier sees `WAITING` (and wakes the
//! holder), or the holder's re-check sees the condition. A notifier that finds the lane `BUSY`
//! (a claim in progress: before the claimer's fence) or `IDLE` notifies the queue instead: the
//! claimer's re-check covers it. A notifier whose CAS loses to the holder leaving owes it
//! nothing (it is leaving), but the wakeup still goes to the queue (the caller falls back), so
//! a waiter there is not skipped.
//!
//! A holder dropped after a notify passes the wakeup on (`Chan::cancel_*`): nobody else
//! re-checks on its behalf, exactly as for a queue entry.
//!
//! [`WaitQueue`]: crate::wait::WaitQueue

use crate::sync::atomic::{AtomicU32, Ordering, fence};
use crate::sync::{Backoff, UnsafeCell};
use crate::wait::{drop_caught, wake_caught};
use std::task::Waker;

const IDLE: u32 = 0;
const BUSY: u32 = 1;
const WAITING: u32 = 2;
const NOTIFIED: u32 = 3;

/// One side's lane: its state and the holder's waker.
pub(crate) struct Lane {
    state: AtomicU32,
    /// `Some` exactly in `WAITING` (and within the `BUSY` of a claim or a take).
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell moves a `Waker` (`Send + Sync`) between threads, one at a time (`BUSY`).
unsafe impl Send for Lane {}
// SAFETY: see the `Send` impl above.
unsafe impl Sync for Lane {}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ORDERING: Relaxed: a diagnostic snapshot.
        f.debug_struct("Lane").field("state", &self.state.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

/// What a holder learns when it looks at its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Still waiting, not notified (and still counted).
    Waiting,
    /// A notifier woke it (and uncounted it); the lane is free again.
    Notified,
}

impl Lane {
    pub(crate) fn new() -> Self {
        Lane { state: AtomicU32::new(IDLE), waker: UnsafeCell::new(None) }
    }

    /// Claims the free lane with `waker`: `false` when another future holds it (then wait in
    /// the queue). The caller has counted itself already, and issues the handshake's fence and
    /// its re-check next.
    #[inline]
    pub(crate) fn claim(&self, waker: &Waker) -> bool {
        // ORDERING: Relaxed load: a hint that keeps a held lane's line shared. Acquire on the
        // CAS pairs with the Release store of `IDLE` by the previous holder: its take of the
        // cell happened before our write.
        if self.state.load(Ordering::Relaxed) != IDLE
            || self.state.compare_exchange(IDLE, BUSY, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            return false;
        }
        // The clone is the executor's code: if it panics, the lane is given back untouched.
        let waker = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.clone())) {
            Ok(waker) => waker,
            Err(payload) => {
                // ORDERING: Release pairs with the next claimer's Acquire CAS, passing on the
                // previous holder's release of the cell, which our Acquire CAS took: a Relaxed
                // store would cut that chain. No model's waker panics in its clone, so loom
                // cannot observe this one.
                self.state.store(IDLE, Ordering::Release);
                std::panic::resume_unwind(payload);
            }
        };
        // SAFETY: `BUSY`, entered by our CAS, gives this thread the cell; it holds `None`
        // (every exit from `WAITING` takes the waker).
        self.waker.with_mut(|cell| unsafe { *cell = Some(waker) });
        // ORDERING: Release pairs with the notifier's Acquire CAS: the waker written above is
        // visible to it. The handshake itself is the caller's fence after this store.
        self.state.store(WAITING, Ordering::Release);
        true
    }

    /// Whether a notifier has woken the holder, which has not run since (a hint).
    #[inline]
    pub(crate) fn is_notified(&self) -> bool {
        // ORDERING: Relaxed: a hint.
        self.state.load(Ordering::Relaxed) == NOTIFIED
    }

    /// The holder leaves (ready, dropped, or re-registering with another waker): `Notified`
    /// when a notifier had already woken it (its wakeup unused, and it is uncounted), else it
    /// takes its waker back (`Waiting`: the caller uncounts itself).
    ///
    /// Inline: every async wait that ends in the lane leaves it (callgrind, two tasks on a
    /// hand-rolled executor, instructions per message at capacity 1 / 16: 873.6 -> 859.1,
    /// 195.9 -> 193.8).
    #[inline]
    pub(crate) fn leave(&self) -> Held {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Relaxed on success: the state is still our own `WAITING` (only the
            // holder stores it, and a notifier's exit from it leaves `NOTIFIED` until we
            // leave), so the cell holds what we wrote: program order is enough (ordering
            // mutation testing found Acquire surviving). On failure Acquire pairs with the
            // notifier's Release store of `NOTIFIED`.
            match self.state.compare_exchange(WAITING, BUSY, Ordering::Relaxed, Ordering::Acquire) {
                Ok(_) => {
                    // SAFETY: `BUSY`, entered by our CAS, gives this thread the cell.
                    let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
                    // ORDERING: Release pairs with the next claimer's Acquire CAS.
                    self.state.store(IDLE, Ordering::Release);
                    if let Some(waker) = waker {
                        drop_caught(waker);
                    }
                    return Held::Waiting;
                }
                Err(NOTIFIED) => {
                    // ORDERING: Release pairs with the next claimer's Acquire CAS.
                    self.state.store(IDLE, Ordering::Release);
                    return Held::Notified;
                }
                // A notifier is taking the waker (`BUSY`): a few instructions.
                Err(_) => backoff.snooze(),
            }
        }
    }

    /// A notifier, after its `fence(SeqCst)`: wakes the lane's holder, running `uncount` for it
    /// first. `false` when nobody waits in the lane, or the holder's waker panicked in `wake`:
    /// then the caller notifies the queue.
    #[inline]
    pub(crate) fn notify_after_fence(&self, uncount: impl FnOnce()) -> bool {
        // ORDERING: Relaxed after the caller's fence (module docs: the holder's `WAITING` store
        // precedes its fence). Acquire on the CAS pairs with the holder's Release store of
        // `WAITING`: its waker is visible to our take.
        if self.state.load(Ordering::Relaxed) != WAITING
            || self.state.compare_exchange(WAITING, BUSY, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            return false;
        }
        // SAFETY: `BUSY`, entered by our CAS, gives this thread the cell.
        let waker = self.waker.with_mut(|cell| unsafe { (*cell).take() });
        uncount();
        // ORDERING: Release pairs with the Acquire of the holder's failed CAS in `leave`: our
        // take and the uncount happen before it acts as notified.
        self.state.store(NOTIFIED, Ordering::Release);
        // The wake outside `BUSY`: the executor's code may poll the holder at once.
        waker.is_some_and(|waker| !wake_caught(waker))
    }
}

impl Lane {
    /// One poll of a future that waits in this lane alone (the parked receive's async owner):
    /// as `WaitQueue::poll_until`, with the lane for the queue. `in_lane` says whether the
    /// future holds the lane. Tries `poll` first (a holder woken for its condition usually
    /// finds it); otherwise claims the lane with `waker`, issues the waiter's fence and tries
    /// again. `Ready` leaves the lane; `Pending` holds it.
    ///
    /// One owner at a time, but the previous one leaves the lane just after the `poll` that
    /// gave the slot up (found its value, or found it taken): a new owner that claims the slot
    /// in that moment waits out those few instructions of the other thread (loom:
    /// `lane_holder_and_queue_waiter_both_get_a_value` and
    /// `woken_receive_dropped_passes_the_wakeup_on` reach it). Meanwhile a notify for the new
    /// owner may wake the old one, for nothing: the new owner's re-check after its fence sees
    /// what the notifier stored before its own.
    #[inline]
    pub(crate) fn poll_alone<R>(
        &self,
        in_lane: &mut bool,
        waker: &Waker,
        mut poll: impl FnMut() -> Option<R>,
    ) -> std::task::Poll<R> {
        use std::task::Poll;
        let ready = poll();
        if std::mem::take(in_lane) {
            // Notified or not, nothing to pass on: nobody else waits here, and the caller's
            // own poll decides what comes next.
            self.leave();
        }
        if let Some(ready) = ready {
            return Poll::Ready(ready);
        }
        let backoff = Backoff::new();
        while !self.claim(waker) {
            backoff.snooze();
        }
        *in_lane = true;
        // ORDERING: the waiter's half of the Dekker handshake (module docs): pairs with the
        // notifier's fence between its condition and its look at the lane.
        fence(Ordering::SeqCst);
        match poll() {
            Some(ready) => {
                *in_lane = false;
                self.leave();
                Poll::Ready(ready)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        // A holder's waker is still here only if its future was forgotten (`mem::forget`)
        // while it waited: dropped here, its panic caught as everywhere else.
        self.waker.with_mut(|cell| {
            // SAFETY: `&mut self`: no other thread exists.
            if let Some(waker) = unsafe { (*cell).take() } {
                drop_caught(waker);
            }
        });
    }
}
