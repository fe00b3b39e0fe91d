//! The semaphore's protocol: the state word, the fast path, the line of blocked acquirers (a
//! thread in `take_slow`, a future in `poll_take`), and release. Why no wakeup is lost is argued
//! in the parent module's docs; each operation's `// ORDERING:` comment says which step of that
//! argument it is.

use super::Semaphore;
use crate::sync::atomic::Ordering;
use crate::wait::AsyncSlot;
use std::task::{Poll, Waker};
use std::time::Instant;

/// The top bit of `state`: a blocked acquirer is *the head* of the line.
///
/// Rules: it is set only by a blocked acquirer (a CAS from "clear", in [`Semaphore::poll_in_line`]),
/// which is then the head; it is cleared only by that head (its claim CAS, or the clear after it
/// timed out), which then notifies `waiters`. While it is set nobody but the head takes permits:
/// every take is a CAS that checks the bit in the value it replaces. A releaser that sees the
/// bit in the value its `fetch_add` replaced notifies `head_queue`.
pub(super) const HEAD: usize = 1 << (usize::BITS - 1);

/// The low bits of `state`: the permits available right now. They never reach [`HEAD`]: the
/// permits a semaphore owns (available plus held) never exceed `MAX_PERMITS` (`usize::MAX >> 3`),
/// which `total` enforces before any permit is added.
pub(super) const PERMITS: usize = !HEAD;

/// What a blocked acquirer's poll achieved.
enum Claim {
    /// It took its permits (the head bit was clear and enough were available).
    Took,
    /// It set the head bit: it is now the head and waits on `head_queue`.
    BecameHead,
}

/// Where an async acquire stands in the protocol (one field of its future).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Stage {
    /// Not polled yet.
    #[default]
    Fresh,
    /// Waits in the line: the slot is registered on `waiters` after a `Pending`.
    InLine,
    /// The head: `HEAD` was set by this future, which alone may clear it; the slot is
    /// registered on `head_queue` after a `Pending`.
    Head,
    /// Served (the permits went out in a `Ready`), or cancelled.
    Done,
}

/// The waiting state of one async acquire: its stage and its registration in the queue of that
/// stage (one slot serves both queues: it is free again when `poll_until` returns `Ready`).
#[derive(Debug, Default)]
pub(super) struct AsyncAcquire {
    pub(super) stage: Stage,
    slot: AsyncSlot,
}

impl Semaphore {
    /// The fast path: takes `n` permits if no acquirer is at the head and `n` are available.
    /// One load and one CAS when uncontended; never waits.
    #[inline]
    pub(super) fn try_take(&self, n: usize) -> bool {
        // ORDERING: Relaxed: only a guess for the CAS, which checks it.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            // With the head bit clear, `state` is the number of available permits.
            if state & HEAD != 0 || state < n {
                return false;
            }
            // ORDERING: Acquire on success: pairs with the Release `fetch_add` of the release
            // (or `add_permits`) that made these permits available (every write to `state` is
            // an RMW, so the release sequence reaches us through any CAS in between): what the
            // previous holder did in its section is visible to ours. Relaxed on failure: we
            // take nothing and retry with the value seen.
            match self.state.compare_exchange_weak(state, state - n, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// The slow path, after [`Semaphore::try_take`] failed: wait in the line, become the head,
    /// wait as the head until `n` permits are available. `deadline: None` waits forever.
    /// Returns `false` only on timeout, with nothing taken.
    #[cold]
    pub(super) fn take_slow(&self, n: usize, deadline: Option<Instant>) -> bool {
        match self.waiters.wait_until(deadline, || self.poll_in_line(n)) {
            None => return false,
            Some(Claim::Took) => {
                // We were woken (or arrived) while the line had no head and took permits
                // instead of becoming the head: pass the wakeup on, so a parked waiter re-polls
                // and takes permits or the head role (rule 3, the chained wakeup).
                self.waiters.notify_one();
                return true;
            }
            Some(Claim::BecameHead) => {}
        }
        let served = self.head_queue.wait_until(deadline, || self.poll_as_head(n)).is_some();
        self.leave_head(served);
        served
    }

    /// The head leaves the role: `served` (its claim CAS took the permits and cleared `HEAD`),
    /// or giving up (timed out, or its future dropped: rules 4 and 5), taking nothing. Either
    /// way the line then has no head, and a parked waiter is woken to take its place.
    fn leave_head(&self, served: bool) {
        if !served {
            // Give the role up, take nothing. Permits released after our last poll stay
            // available; the notify below sends someone to use them.
            // ORDERING: Relaxed: nothing is published (no permit changes hands); the
            // `notify_one` fence below orders the clear before the check for parked waiters
            // (rule 2 in the module docs), and takers re-check the bit with their CAS.
            self.state.fetch_and(PERMITS, Ordering::Relaxed);
        }
        // The line has no head now: wake a parked waiter to take permits or become the head
        // (rule 2: a parked waiter counts on this; rule 3: why one is enough).
        self.waiters.notify_one();
    }

    /// One poll of an async acquire of `n` permits (`n <= MAX_PERMITS`): the steps of
    /// [`Semaphore::take`] and [`Semaphore::take_slow`] as a state machine, on the same queues
    /// and with the same polls, so async and blocking acquirers share one line (rule 5).
    /// `Ready` means the `n` permits are taken (the caller makes the permit); `Pending` leaves
    /// the future registered in the queue of its stage.
    ///
    /// # Panics
    ///
    /// When called again after it returned `Ready`.
    pub(super) fn poll_take(&self, n: usize, wait: &mut AsyncAcquire, waker: &Waker) -> Poll<()> {
        loop {
            match wait.stage {
                Stage::Fresh => {
                    // The fast path, as a blocking acquire's first step.
                    if n == 0 || self.try_take(n) {
                        wait.stage = Stage::Done;
                        return Poll::Ready(());
                    }
                    wait.stage = Stage::InLine;
                }
                Stage::InLine => {
                    match self.waiters.poll_until(&mut wait.slot, waker, || self.poll_in_line(n)) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Claim::Took) => {
                            wait.stage = Stage::Done;
                            // As in `take_slow`: took permits without becoming the head, so pass
                            // the wakeup on (rule 3, the chained wakeup).
                            self.waiters.notify_one();
                            return Poll::Ready(());
                        }
                        // `poll_until` has taken us out of `waiters`; the slot is free for
                        // `head_queue`. Poll as the head at once (a release may already have
                        // brought enough).
                        Poll::Ready(Claim::BecameHead) => wait.stage = Stage::Head,
                    }
                }
                Stage::Head => {
                    match self.head_queue.poll_until(&mut wait.slot, waker, || self.poll_as_head(n)) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) => {
                            wait.stage = Stage::Done;
                            self.leave_head(true);
                            return Poll::Ready(());
                        }
                    }
                }
                Stage::Done => panic!("an acquire future polled after it completed"),
            }
        }
    }

    /// An async acquire dropped unfinished (rule 5). A future in the line leaves it, passing a
    /// wakeup it was given and never used on to another waiter. A future that is the head
    /// leaves its queue and gives the role up as a timed-out head does: it clears `HEAD` and
    /// wakes the line. Nothing was taken in either case (permits are taken only by the CAS of
    /// the poll that returns `Ready`), so there is nothing to give back.
    #[inline]
    pub(super) fn cancel_take(&self, wait: &mut AsyncAcquire) {
        match wait.stage {
            Stage::Fresh | Stage::Done => {}
            Stage::InLine | Stage::Head => self.cancel_take_slow(wait),
        }
    }

    #[cold]
    fn cancel_take_slow(&self, wait: &mut AsyncAcquire) {
        match wait.stage {
            Stage::InLine => {
                if wait.slot.is_registered() {
                    self.waiters.cancel(&mut wait.slot);
                }
            }
            Stage::Head => {
                if wait.slot.is_registered() {
                    self.head_queue.cancel(&mut wait.slot);
                }
                // Also when not registered (a waker's clone panicked inside the poll that made
                // us the head): the role is ours until we give it up.
                self.leave_head(false);
            }
            Stage::Fresh | Stage::Done => return,
        }
        wait.stage = Stage::Done;
    }

    /// A blocked acquirer's poll while it is not the head: take `n` permits, or become the head,
    /// or (another acquirer is the head) keep waiting.
    fn poll_in_line(&self, n: usize) -> Option<Claim> {
        // ORDERING: Relaxed: only a guess for the CAS, or "the head bit is set", which is all a
        // parked waiter needs to know (rule 2: the head that set it notifies when it clears it;
        // this load follows the waiting layer's fence when it decides whether we park).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & HEAD != 0 {
                return None;
            }
            let (next, claim) =
                if state >= n { (state - n, Claim::Took) } else { (state | HEAD, Claim::BecameHead) };
            // ORDERING: Acquire on success, as in `try_take`: a `Took` takes permits that a
            // Release `fetch_add` made available. (A `BecameHead` needs no ordering: it
            // publishes nothing, and its waits are ordered by the waiting layer's fences; one
            // CAS serves both outcomes.) Relaxed on failure: we retry with the value seen.
            // loom cannot observe a weakening to Relaxed (mutation-tested, 2026-12-01): both
            // callers follow a `Took` with `waiters.notify_one()`, whose `fence(SeqCst)` is an
            // acquire fence after this read of the releaser's value, so the section is ordered
            // anyway. Acquire keeps the claim self-contained, as `poll_as_head`'s.
            match self.state.compare_exchange_weak(state, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(claim),
                Err(now) => state = now,
            }
        }
    }

    /// The head's poll: take `n` permits and clear the head bit in one CAS, or keep waiting.
    /// Nobody else takes permits meanwhile, so the available count only grows.
    fn poll_as_head(&self, n: usize) -> Option<()> {
        // ORDERING: Relaxed: only a guess for the CAS. When it decides that we park, it follows
        // the waiting layer's fence, which pairs with the releaser's (rule 1).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            debug_assert!(state & HEAD != 0, "only the head clears the head bit");
            let available = state & PERMITS;
            if available < n {
                return None;
            }
            // ORDERING: Acquire on success, as in `try_take` (these permits were released with
            // Release). Relaxed on failure: only releases change the word now; retry. loom cannot
            // observe a weakening to Relaxed (mutation-tested): a served head always passes the
            // `fence(SeqCst)` of `waiters.notify_one()` before it returns, and a fence after a
            // read of a Release store acquires it. Acquire keeps the claim self-contained.
            match self.state.compare_exchange_weak(state, available - n, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return Some(()),
                Err(now) => state = now,
            }
        }
    }

    /// Makes `n` permits available again (a permit's drop, or `add_permits` after it grew
    /// `total`), and wakes the head if there is one.
    #[inline]
    pub(super) fn release(&self, n: usize) {
        // ORDERING: Release: pairs with the Acquire CAS of whoever takes these permits, so what
        // the holder did before releasing is visible to the next holder (loom: the mutual
        // exclusion model's cell access races without it). The read half needs no Acquire: the
        // head bit it reads is a decision to notify, not data; rule 1 in the module docs says
        // why it cannot miss a head that is about to park.
        let prev = self.state.fetch_add(n, Ordering::Release);
        debug_assert!((prev & PERMITS) + n < HEAD, "available permits are bounded by `total`");
        if prev & HEAD != 0 {
            self.wake_head();
        }
    }

    /// Wakes the head (only the head parks on `head_queue`, though an old head may still be
    /// leaving the queue while the new one parks).
    #[cold]
    fn wake_head(&self) {
        self.head_queue.notify_one();
    }

    /// Grows the permits the semaphore owns by `n`, or returns the total it has (unchanged)
    /// when that would exceed `MAX_PERMITS`.
    pub(super) fn grow_total(&self, n: usize) -> Result<(), usize> {
        // ORDERING: Acquire: pairs with the Release of `shrink_total`: a forgotten permit's take
        // happens before the add that reuses its room, so the available count can never pass
        // the bound (and reach the head bit). Relaxed on failure: nothing is added. loom cannot
        // observe a weakening: the overflow it prevents needs about 2^61 permits.
        self.total
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |total| {
                total.checked_add(n).filter(|&grown| grown <= Semaphore::MAX_PERMITS)
            })
            .map(drop)
    }

    /// A held permit of `n` is forgotten: the semaphore owns `n` fewer.
    pub(super) fn shrink_total(&self, n: usize) {
        // ORDERING: Release: pairs with the Acquire in `grow_total` (see there; loom cannot
        // observe a weakening).
        self.total.fetch_sub(n, Ordering::Release);
    }
}
