//! The semaphore's protocol: the state word, the fast path, the line of blocked acquirers (a
//! thread in `take_slow`, a future in `poll_take`), and release. Why no wakeup is lost is argued
//! in the parent module's docs; each operation's `// ORDERING:` comment says which step of that
//! argument it is.

use super::Semaphore;
use crate::sync::atomic::{Ordering, fence};
use crate::wait::{AsyncSlot, uncounted_entry};
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

/// The next bit of `state`, only ever set together with [`HEAD`]: *the line's turn*. The head
/// role belongs to the line as a whole rather than to one waiter: the permits released are for
/// the acquirers already waiting in `waiters`, and every release that sees the bit wakes one of
/// them per permit ([`Semaphore::wake_line`]), which takes without becoming the head first.
///
/// Rules: it is set only after a slow-path take left no permit while futures wait in the line
/// ([`Semaphore::give_the_line_its_turn`]): instead of waking one at once (it would find nothing,
/// become the head and wait a second time), the line is owed the next release. While it is set
/// only a waiter that was already in the line before its current poll takes permits (a
/// newcomer waits behind it, so a task that releases cannot take the permit straight back
/// from the waiter its release woke). A waiter that takes during the turn keeps it, whatever it
/// leaves (each permit left has a waiter woken for it). It is cleared by a waiter woken for
/// fewer permits than it asks for, which becomes the head, and by
/// [`Semaphore::end_the_lines_turn`] when nobody is left in the line to wake.
pub(super) const LINE: usize = 1 << (usize::BITS - 2);

/// The low bits of `state`: the permits available right now. They never reach [`LINE`]: the
/// permits a semaphore owns (available plus held) never exceed `MAX_PERMITS` (`usize::MAX >> 3`),
/// which `total` enforces before any permit is added.
pub(super) const PERMITS: usize = !(HEAD | LINE);

/// Whether `state` has the line's turn ([`LINE`], with [`HEAD`]).
fn is_the_lines_turn(state: usize) -> bool {
    state & (HEAD | LINE) == HEAD | LINE
}

/// What a blocked acquirer's poll achieved.
enum Claim {
    /// It took its permits (no head, or the line's turn, and enough were available); what it
    /// left says whom to wake.
    Took(Left),
    /// It set the head bit (or made the line's turn its own): it is now the head and waits on
    /// `head_queue`.
    BecameHead,
}

/// What a waiter that took its permits on the slow path (in the line, or as the head) left
/// behind, which says whom it must wake: the wakeup it was given may have been meant to move
/// the line on (rule 3 in the module docs).
#[derive(Clone, Copy)]
enum Left {
    /// Permits: wake the next waiter to use them (the chained wakeup).
    Permits,
    /// No permit: the line gets its turn, or (only threads wait) the next waiter is woken to
    /// become the head ([`Semaphore::give_the_line_its_turn`]).
    Nothing,
    /// The line keeps the turn it had: every permit left has a waiter woken for it already,
    /// and the next release wakes the next one.
    TheLinesTurn,
}

impl Left {
    /// What a take that leaves `rest` permits leaves, outside the line's turn.
    fn after(rest: usize) -> Self {
        if rest == 0 { Left::Nothing } else { Left::Permits }
    }
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

impl AsyncAcquire {
    /// Served (or cancelled): the future must not be polled again.
    #[cfg(feature = "futures")]
    pub(super) fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }
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
        // Whether this thread has announced itself in the line: the polls after its first
        // announce's re-check are those of a waiter that was in the line before (`LINE`).
        let mut announced = false;
        let claim = self.waiters.wait_until_phased(deadline, |park_phase| {
            let was_in_line = announced;
            announced |= park_phase;
            self.poll_in_line(n, was_in_line)
        });
        match claim {
            // Timed out. A wakeup we were given is never lost with us: a woken thread re-checks
            // after its last wait (rule 4), as a waiter that was in the line, so it takes a
            // permit that the line's turn brought it.
            None => return false,
            Some(Claim::Took(left)) => {
                self.pass_on(left);
                return true;
            }
            Some(Claim::BecameHead) => {}
        }
        match self.head_queue.wait_until(deadline, || self.poll_as_head(n)) {
            Some(left) => {
                self.pass_on(left);
                true
            }
            None => {
                self.give_up_head();
                false
            }
        }
    }

    /// After a waiter took its permits on the slow path: it was woken (or arrived) when the
    /// line could move on, and the wakeup may have been meant for that (rule 3).
    #[inline]
    fn pass_on(&self, left: Left) {
        match left {
            // Wake a parked waiter to use them, or to take the head role (rule 3, the chained
            // wakeup).
            Left::Permits => self.waiters.notify_one(),
            Left::Nothing => self.give_the_line_its_turn(),
            Left::TheLinesTurn => {}
        }
    }

    /// A slow-path take left no permit. A waiter woken now would find nothing, become the
    /// head and wait again, a second wakeup for one acquire: when futures wait in the line,
    /// the line gets the turn instead ([`LINE`]), and the next release wakes one of them to
    /// take what it brings. When only threads wait (they spin before they park, and would
    /// rather take a permit as it comes than wait for a woken thread to run), the next waiter
    /// is woken to take the head role, as rule 3 says.
    fn give_the_line_its_turn(&self) {
        // ORDERING: the notifier's half of the waiting layer's handshake, after our take: a
        // future that registers after our look at the queue sees the state we leave (no
        // permit and no head, so it becomes the head) in the re-check after its own fence.
        fence(Ordering::SeqCst);
        if !self.waiters.has_async_waiters_after_fence() {
            self.waiters.notify_one_after_fence(uncounted_entry);
            return;
        }
        // ORDERING: Relaxed: only a guess for the CAS.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & HEAD != 0 {
                // A head (or the line's turn) already: it wakes the line when it leaves (rule 2).
                return;
            }
            if state & PERMITS != 0 {
                // A release came meanwhile (seeing no head, it woke nobody): the chained wakeup.
                self.waiters.notify_one_after_fence(uncounted_entry);
                return;
            }
            // ORDERING: Relaxed: publishes nothing (no permit changes hands), as `BecameHead`'s
            // CAS; the waiters' re-checks are ordered by the fence above and theirs, and every
            // later release reads the bit with its RMW (rule 1's argument for `HEAD`).
            match self.state.compare_exchange_weak(state, HEAD | LINE, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) => state = now,
            }
        }
    }

    /// A release of `n` permits that saw the line's turn: wakes a waiter of the line for each,
    /// or ends the turn when nobody is left there to wake. So while the line has its turn every
    /// permit available has a waiter woken for it (a woken waiter that leaves without taking
    /// one, a dropped future, wakes another in its place: `pass_unused_wakeup_on`), which
    /// is why a waiter that takes during the turn wakes nobody.
    #[cold]
    fn wake_line(&self, n: usize) {
        // At most one more round than there are waiters: the first that finds nobody ends it.
        for _ in 0..n {
            if !self.waiters.notify_one_reporting() {
                self.end_the_lines_turn();
                return;
            }
        }
    }

    /// The line has its turn and nobody in it to take the permits: clears the turn, so that
    /// everyone may take them, and wakes a waiter that joined the line meanwhile (it saw the
    /// turn, and as a newcomer waited).
    fn end_the_lines_turn(&self) {
        // ORDERING: Relaxed: publishes nothing; the `notify_one` fence below orders the clear
        // before the look for waiters, against a registering waiter's fence and re-check.
        let ended = self.state.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
            is_the_lines_turn(state).then_some(state & PERMITS)
        });
        if ended.is_ok() {
            self.waiters.notify_one();
        }
    }

    /// The head gives the role up (timed out, or its future dropped: rules 4 and 5), taking
    /// nothing. The line then has no head, and a parked waiter is woken to take its place.
    fn give_up_head(&self) {
        // Permits released after our last poll stay available; the notify below sends someone
        // to use them.
        // ORDERING: Relaxed: nothing is published (no permit changes hands); the `notify_one`
        // fence below orders the clear before the check for parked waiters (rule 2 in the
        // module docs), and takers re-check the bit with their CAS.
        self.state.fetch_and(PERMITS, Ordering::Relaxed);
        // Rule 2: a parked waiter counts on this; rule 3: why one is enough.
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
                    // Registered: this future returned `Pending` in the line before (`LINE`).
                    let was_in_line = wait.slot.is_registered();
                    match self.waiters.poll_until(&mut wait.slot, waker, || self.poll_in_line(n, was_in_line))
                    {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Claim::Took(left)) => {
                            wait.stage = Stage::Done;
                            // As in `take_slow`: whom the wakeup we used was meant for (rule 3).
                            self.pass_on(left);
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
                        Poll::Ready(left) => {
                            wait.stage = Stage::Done;
                            self.pass_on(left);
                            return Poll::Ready(());
                        }
                    }
                }
                Stage::Done => panic!("an acquire future polled after it completed"),
            }
        }
    }

    /// An async acquire dropped unfinished (rule 5). A future in the line leaves it, passing a
    /// wakeup it was given and never used on (to the next waiter, or through
    /// [`Semaphore::wake_line`] when the line has its turn). A future that is the head
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
                if wait.slot.is_registered() && self.waiters.cancel_reporting(&mut wait.slot) {
                    // Woken, and never polled again: the wakeup is unused.
                    self.pass_unused_wakeup_on();
                }
            }
            Stage::Head => {
                if wait.slot.is_registered() {
                    self.head_queue.cancel(&mut wait.slot);
                }
                // Also when not registered (a waker's clone panicked inside the poll that made
                // us the head): the role is ours until we give it up.
                self.give_up_head();
            }
            Stage::Fresh | Stage::Done => return,
        }
        wait.stage = Stage::Done;
    }

    /// A future in the line that had been woken is dropped without using the wakeup: it goes
    /// to whoever it may have been meant for.
    #[cold]
    fn pass_unused_wakeup_on(&self) {
        // ORDERING: Relaxed: a guess. A turn that ends before we look was handed on by whoever
        // ended it (a new head, `end_the_lines_turn`), and a plain notify is never wrong, only
        // spare; `wake_line` wakes a waiter or ends the turn with a CAS that checks the bits.
        if is_the_lines_turn(self.state.load(Ordering::Relaxed)) {
            self.wake_line(1);
        } else {
            self.waiters.notify_one();
        }
    }

    /// A blocked acquirer's poll while it is not the head: take `n` permits, or become the head,
    /// or (another acquirer is the head) keep waiting. `was_in_line`: the waiter was in the line
    /// before this poll (registered, or announced and re-checked), so it may take while the line
    /// has its turn ([`LINE`]); a newcomer waits behind those.
    fn poll_in_line(&self, n: usize, was_in_line: bool) -> Option<Claim> {
        // ORDERING: Relaxed: only a guess for the CAS, or "the head bit is set", which is all a
        // parked waiter needs to know (rule 2: the head that set it notifies when it clears it;
        // this load follows the waiting layer's fence when it decides whether we park).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let turn = state & LINE != 0;
            if state & HEAD != 0 && !(turn && was_in_line) {
                // Another's head role, or the line's turn that a newcomer leaves to those who
                // wait already: whoever holds it notifies the line (rule 2; `wake_line`).
                return None;
            }
            let available = state & PERMITS;
            if turn && available == 0 {
                // Polled during the turn with nothing here (another waiter took what our wakeup
                // was for, or we were polled for another reason): the next release wakes one
                // of us.
                return None;
            }
            let (next, claim) = if available >= n {
                let rest = available - n;
                if turn {
                    // The turn goes on: each permit left has a waiter woken for it (`wake_line`
                    // wakes one per permit released), so we wake nobody.
                    (HEAD | LINE | rest, Claim::Took(Left::TheLinesTurn))
                } else {
                    (rest, Claim::Took(Left::after(rest)))
                }
            } else {
                // Too few (during the turn: fewer than we ask for, and those that are here were
                // woken for): the head role becomes ours, and the line's turn ends, so the
                // permits gather for us and no waiter behind us takes them (head-of-line).
                (available | HEAD, Claim::BecameHead)
            };
            // ORDERING: Acquire on success, as in `try_take`: a `Took` takes permits that a
            // Release `fetch_add` made available (a `Took` that keeps the line's turn is followed
            // by no fence that would order the section otherwise). A `BecameHead` needs no
            // ordering: it publishes nothing, and its waits are ordered by the waiting layer's
            // fences; one CAS serves both outcomes. Relaxed on failure: we retry with the value
            // seen.
            match self.state.compare_exchange_weak(state, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(claim),
                Err(now) => state = now,
            }
        }
    }

    /// The head's poll: take `n` permits and clear the head bit in one CAS, or keep waiting.
    /// Nobody else takes permits meanwhile but `forget_permits`, so the available count only
    /// grows, or shrinks without a waiter's condition becoming true.
    fn poll_as_head(&self, n: usize) -> Option<Left> {
        // ORDERING: Relaxed: only a guess for the CAS. When it decides that we park, it follows
        // the waiting layer's fence, which pairs with the releaser's (rule 1).
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            debug_assert!(state & HEAD != 0, "only the head clears the head bit");
            debug_assert!(state & LINE == 0, "the line has no turn while a waiter is the head");
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
                Ok(_) => return Some(Left::after(available - n)),
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
        debug_assert!((prev & PERMITS) + n < LINE, "available permits are bounded by `total`");
        if prev & HEAD != 0 {
            if prev & LINE != 0 {
                // The same RMW order argument covers the turn: a waiter that ends it (or turns
                // it into its own head role) after our `fetch_add` saw our permits.
                self.wake_line(n);
            } else {
                self.wake_head();
            }
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

    /// `forget_permits`: takes up to `n` available permits out for good and returns how many.
    ///
    /// Unlike an acquire it takes while an acquirer is the head or the line has its turn: the
    /// waits stay sound, because taking
    /// permits away never makes a waiter's condition true, so nobody needs waking, and every
    /// waiter re-checks the count after each wakeup. A head finds fewer permits and waits on; a
    /// waiter the turn woke for a permit taken here finds none and waits for the next release
    /// (`poll_in_line`), as when another waiter took it.
    pub(super) fn forget_available(&self, n: usize) -> usize {
        // ORDERING: Relaxed: only a guess for the CAS.
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            let taken = (state & PERMITS).min(n);
            if taken == 0 {
                return 0;
            }
            // ORDERING: Relaxed: the permits taken guard no section (nobody holds them), and
            // the Release of `shrink_total` below, after this CAS in program order, orders the
            // take before any `grow_total` that reuses the room. Relaxed on failure: retry.
            match self.state.compare_exchange_weak(state, state - taken, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.shrink_total(taken);
                    return taken;
                }
                Err(now) => state = now,
            }
        }
    }

    /// A held permit of `n` is forgotten: the semaphore owns `n` fewer.
    pub(super) fn shrink_total(&self, n: usize) {
        // ORDERING: Release: pairs with the Acquire in `grow_total` (see there; loom cannot
        // observe a weakening).
        self.total.fetch_sub(n, Ordering::Release);
    }
}
