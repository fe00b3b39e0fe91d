//! The async operations of a channel: `send_async` / `recv_async` as polls of the same
//! try-then-wait loops the blocking calls run, on the same [`WaitQueue`]s (async and blocking
//! users may share one channel; see `wait.rs`, "Async waiters").
//!
//! # Cancel safety
//!
//! - A receive takes a value only inside the poll that returns it, so dropping a receive future
//!   never loses one: it was returned, or it is still in the channel. A dropped future that had
//!   been woken for a value passes the wakeup on to another waiter (`WaitQueue::cancel`).
//! - A future that parked a request (the only receiver of a small buffered channel: `parked_recv.rs`)
//!   may be filled by a sender between two polls. The filled value is the channel's *front*,
//!   not the future's: every receive may take it (in order: the oldest value first), so a
//!   future dropped after its fill leaves it in the channel like any other value. `len`
//!   counts it.
//! - A send future holds its value until a poll moves it into the channel and returns `Ready`
//!   in the same poll. Dropped before, the value is dropped with it (not sent); the rendezvous
//!   flavor's owner, whose value sits in the slot while it waits for a receiver, takes it
//!   back on drop unless a receiver already took it (then it was sent).
//!
//! [`WaitQueue`]: crate::wait::WaitQueue

use super::chan::{Chan, Flavor, INLINE_PUSH_MAX_SIZE, UNREGISTERED_SPINS, WaiterCount};
use super::error::{RecvError, SendError, TryRecvError, ready_or_empty};
use super::lane::{Held, Lane};
use super::parked_recv::Request;
use crate::ring::{FAST_PATHS, PushError, Ring};
use crate::sync::Backoff;
use crate::sync::atomic::{Ordering, fence};
use crate::wait::{AsyncSlot, WaitQueue};
use std::task::{Poll, Waker};

/// The waiting state of one receive future.
#[derive(Debug, Default)]
pub(crate) struct RecvWait {
    /// Its entry in `recv_wait`; for the buffered and unbounded flavors also whether it is
    /// counted in the ring's or the list's waiting receivers (`AsyncSlot::is_counted`).
    pub(super) slot: AsyncSlot,
    /// Set by a poll that went past the inline attempt (`poll_recv_wait`), the only way to a
    /// registration or a count, and cleared when its counted wait ends: see
    /// [`RecvWait::may_hold`].
    waited: bool,
    /// The future owns the buffered flavor's parked receive (`parked_recv.rs`, "An async
    /// owner"): it is counted in the ring's waiting receivers until a fill, and waits in the
    /// slot's `filled_lane` (`lane` says when it holds it), never in `recv_wait`.
    parked: bool,
    /// The future holds a lane (`lane.rs`; buffered flavor): its side's (then it waits there,
    /// not in `recv_wait`, and is counted in the ring's waiting receivers until a notifier
    /// uncounts it), or, while `parked`, the parked receive's `filled_lane`.
    lane: bool,
    /// The caller spun already before its first poll (a `Selector`, over all its operations):
    /// `poll_counted` skips its own unregistered spin.
    pub(super) spun: bool,
}

impl RecvWait {
    /// Whether the future may hold a registration or a count that its drop must give back
    /// (`Chan::cancel_recv`, which finds out which). `false` for a future whose polls all
    /// stayed on the inline path, the common case, and for one whose counted wait ended
    /// (`poll_counted` returns `Ready` holding nothing): its drop then costs this one check
    /// (callgrind, one thread: the full checks of a send and a receive future were 10 of the
    /// 184 instructions per message on a current-thread runtime, and the `cancel_*` call of a
    /// future that had waited about 50 instructions per wait).
    #[inline]
    pub(crate) fn may_hold(&self) -> bool {
        self.waited
    }

    /// Whether the future waits (in a queue, its side's lane, or the parked receive's lane),
    /// for `Debug`.
    pub(crate) fn is_waiting(&self) -> bool {
        self.slot.is_registered() || self.lane
    }
}

/// The waiting state of one send future.
#[derive(Debug, Default)]
pub(crate) struct SendWait {
    pub(super) slot: AsyncSlot,
    /// Rendezvous only: our value is in the slot and we wait for a receiver to take it.
    pub(super) owning: bool,
    /// As [`RecvWait`]'s: set by `poll_send_wait`, the only way to a registration, a count or
    /// the rendezvous slot, and cleared when a buffered send's counted wait ends.
    waited: bool,
    /// As [`RecvWait`]'s: the future holds the send side's lane.
    lane: bool,
    /// As [`RecvWait`]'s: the caller spun already (a `Selector`). Also set when the send
    /// yielded once to a woken receiver (`poll_send_wait`), which then neither yields nor spins
    /// again: the yield gave the receiver its turn. A sink clears it for each new value
    /// ([`SendWait::next_value`]). (A flag of its own measured 4-6% more instructions per
    /// message at capacities 16 and 64, callgrind.)
    pub(super) spun: bool,
}

impl SendWait {
    /// A sink took a new value: its first wait may yield (and spin) again. A sink is never a
    /// `Selector`'s operation, whose `spun` must stay set.
    #[inline]
    pub(crate) fn next_value(&mut self) {
        self.spun = false;
    }

    /// As [`RecvWait::may_hold`], for `Chan::cancel_send`.
    #[inline]
    pub(crate) fn may_hold(&self) -> bool {
        self.waited
    }

    /// Whether the future waits (in a queue or its side's lane), for `Debug`.
    pub(crate) fn is_waiting(&self) -> bool {
        self.slot.is_registered() || self.lane
    }
}

impl<T> Chan<T> {
    /// One poll of a receive future. A buffered or unbounded channel's first poll pops
    /// inline, as a blocking receive does (`Chan::recv_deadline`): the common case, a value
    /// ready, then costs the pop and no call (measured with callgrind, one thread: the calls
    /// through `poll_counted` and its closure were a third of the instructions per message).
    #[inline(always)]
    pub(crate) fn poll_recv(&self, wait: &mut RecvWait, waker: &Waker) -> Poll<Result<T, RecvError>> {
        // The same attempt as `poll_counted`'s first, which skips its own when this one ran.
        // Not under loom, as the ring's fast paths (`FAST_PATHS`): the models check the loop.
        if FAST_PATHS && !wait.slot.is_registered() && !wait.lane {
            match &self.flavor {
                Flavor::Buffered(ring) => match self.try_recv_buffered(ring, false) {
                    Ok(value) => return Poll::Ready(Ok(value)),
                    Err(TryRecvError::Disconnected) => return Poll::Ready(Err(RecvError)),
                    Err(TryRecvError::Empty) => {}
                },
                Flavor::Unbounded(list) => {
                    if let Some(value) = list.pop() {
                        return Poll::Ready(Ok(value));
                    }
                }
                Flavor::Rendezvous(_) => {}
            }
        }
        self.poll_recv_wait(wait, waker)
    }

    /// `poll_recv` past its inline attempt, out of line.
    #[inline(never)]
    fn poll_recv_wait(&self, wait: &mut RecvWait, waker: &Waker) -> Poll<Result<T, RecvError>> {
        wait.waited = true;
        let poll = |registered| ready_or_empty(self.try_recv_as(registered));
        let waiting = match &self.flavor {
            Flavor::Buffered(ring) => {
                // Park a request, which the next push fills (`parked_recv.rs`, "An async
                // owner"), when the slot is free and the future waits nowhere else. Each wait
                // cycle of a receiving task then moves two values where it moved one: the
                // filled one, and the one its sender pushes into the room the fill freed.
                // A loop: when another receive took the value filled for us, start over.
                while wait.parked
                    || (!wait.slot.is_registered()
                        && !wait.lane
                        && !wait.slot.is_counted()
                        && self.may_park_async_receive(ring)
                        && self.parked().recv.try_claim_async())
                {
                    if let Some(poll) = self.poll_recv_parked(ring, wait, waker) {
                        return poll;
                    }
                }
                self.receivers_waiting_on_ring(ring)
            }
            Flavor::Unbounded(list) => self.receivers_waiting_on_list(list),
            Flavor::Rendezvous(slot) => return slot.poll_recv(self, wait, waker),
        };
        // `poll_recv` tried inline when the future was not registered (and not under loom).
        let spin = !wait.spun;
        let outcome = poll_counted(waiting, &mut wait.slot, &mut wait.lane, waker, FAST_PATHS, spin, poll);
        // A counted wait that ended holds nothing (`poll_counted`): the drop skips `cancel_recv`.
        wait.waited = outcome.is_pending();
        outcome
    }

    /// A receive future (or a stream's `next()`) dropped unfinished. Afterwards the wait holds
    /// nothing (`may_hold` is `false`), and a stream can go on polling it.
    pub(crate) fn cancel_recv(&self, wait: &mut RecvWait) {
        wait.waited = false;
        if wait.parked {
            return self.cancel_recv_parked(wait);
        }
        let waiting = match &self.flavor {
            Flavor::Buffered(ring) => self.receivers_waiting_on_ring(ring),
            Flavor::Unbounded(list) => self.receivers_waiting_on_list(list),
            Flavor::Rendezvous(slot) => return slot.cancel_recv(self, wait),
        };
        cancel_counted(waiting, &mut wait.slot, &mut wait.lane);
    }

    /// One poll of a receive future that owns the parked receive, or has just claimed it (then
    /// it counts itself and re-checks, as a blocking owner does: `Chan::recv_parked`), with its
    /// waker in the slot's `filled_lane`. `None`: another receive took the value filled for it
    /// (the filler lowered its count, the slot is free again); the caller starts over.
    #[inline(never)]
    fn poll_recv_parked(
        &self,
        ring: &Ring<T>,
        wait: &mut RecvWait,
        waker: &Waker,
    ) -> Option<Poll<Result<T, RecvError>>> {
        let slot = &self.parked().recv;
        let mut received = None;
        let mut claimed_now = !wait.parked;
        if claimed_now {
            wait.parked = true;
            wait.waited = true;
            ring.register_receiver();
        }
        // The claim's re-check (`park_async`, which needs no registration: nothing can fill the
        // slot before it goes back to `WAITING`) comes before the lane's claim; the checks after
        // the claim's fence (`poll_alone`) look for the fill, as a blocking owner's do.
        let outcome = slot.filled_lane.poll_alone(&mut wait.lane, waker, || {
            let end = if std::mem::take(&mut claimed_now) {
                slot.park_async(ring, &mut received)
            } else {
                slot.poll_async_owner(ring, &mut received)
            };
            match end {
                // Disconnected: no push will fill it any more; drain the ring instead.
                Request::Waiting if self.is_disconnected() => {
                    Some(slot.leave_async(ring, Some(&mut received)))
                }
                Request::Waiting => None,
                end => Some(end),
            }
        });
        let Poll::Ready(end) = outcome else { return Some(Poll::Pending) };
        // Ready: out of `filled_lane`, and the slot is no longer ours.
        wait.parked = false;
        wait.waited = false;
        match end {
            // The filler lowered our count.
            Request::Filled => {
                Some(Poll::Ready(Ok(received.take().expect("a filled request has its value"))))
            }
            Request::Popped(sender_waits) => {
                ring.deregister_receiver();
                if sender_waits {
                    self.settle(ring, false, true);
                }
                Some(Poll::Ready(Ok(received.take().expect("a pop that succeeded has its value"))))
            }
            // Disconnected: what was sent before is in the ring (`try_recv_as`).
            Request::Withdrawn => {
                ring.deregister_receiver();
                Some(Poll::Ready(match self.try_recv_into(true, &mut received) {
                    Ok(()) => Ok(received.take().expect("a receive that succeeded has its value")),
                    Err(_) => Err(RecvError),
                }))
            }
            // Another receive took the value filled for us (the filler lowered our count).
            Request::Stolen => None,
            Request::Waiting | Request::Orphaned => {
                unreachable!("a parked poll ends filled, popped, withdrawn or stolen")
            }
        }
    }

    /// A receive future that owns the parked receive, dropped unfinished: leaves `filled_lane`
    /// and gives the request up. A value filled for it stays in the slot as the channel's
    /// front (every receive may take it, `parked_recv.rs`).
    #[cold]
    fn cancel_recv_parked(&self, wait: &mut RecvWait) {
        let Flavor::Buffered(ring) = &self.flavor else { unreachable!("only the ring's receives park") };
        let slot = &self.parked().recv;
        if std::mem::take(&mut wait.lane) {
            // Only the owner waits in `filled_lane`: nobody to pass a wakeup on to.
            let _ = slot.filled_lane.leave();
        }
        wait.parked = false;
        match slot.leave_async(ring, None) {
            Request::Withdrawn => ring.deregister_receiver(),
            // The filler lowered our count; the value went to another receive.
            Request::Stolen => {}
            // The filler lowered our count. The value stays the channel's front, and needs no
            // wakeup of its own: the fill already woke a receiver waiting on `recv_wait` for it
            // (`Chan::settle`), and one that began waiting after the fill sees the front mark
            // in its registered re-check (loom: `a_front_value_wakes_a_receiver_waiting_elsewhere`
            // passes without a notify here).
            Request::Orphaned => {}
            Request::Filled | Request::Popped(_) | Request::Waiting => {
                unreachable!("a dropped owner's request ends withdrawn, stolen or orphaned")
            }
        }
    }

    /// One poll of a send future; `value` is `Some` until the send completes. A buffered
    /// channel's first poll pushes inline, as `poll_recv` pops; an unbounded channel's send
    /// never waits, so it is all inline.
    #[inline(always)]
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        wait: &mut SendWait,
        waker: &Waker,
    ) -> Poll<Result<(), SendError<T>>> {
        if let Flavor::Buffered(ring) = &self.flavor {
            if FAST_PATHS
                && !wait.slot.is_registered()
                && !wait.lane
                && size_of::<T>() <= INLINE_PUSH_MAX_SIZE
            {
                // With the value in hand (`Ring::push_fast`): one check of the `Option` (going
                // through it, as `Ring::push` does, cost about 10 instructions per message on a
                // current-thread runtime: callgrind).
                let pending = value.take().expect("a send future polled after it completed");
                match ring.push_fast(pending) {
                    Ok(receiver_waits) => {
                        self.pushed(ring, receiver_waits);
                        return Poll::Ready(Ok(()));
                    }
                    Err(pending) => *value = Some(pending),
                }
            }
        } else if let Flavor::Unbounded(list) = &self.flavor {
            // Never full: ready at once.
            let pending = value.take().expect("a send future polled after it completed");
            return Poll::Ready(self.push_unbounded(list, pending, SendError));
        }
        self.poll_send_wait(value, wait, waker)
    }

    /// `poll_send` past its inline attempt, out of line.
    #[inline(never)]
    fn poll_send_wait(
        &self,
        value: &mut Option<T>,
        wait: &mut SendWait,
        waker: &Waker,
    ) -> Poll<Result<(), SendError<T>>> {
        match &self.flavor {
            Flavor::Buffered(ring) => {
                assert!(value.is_some(), "a send future polled after it completed");
                let mut poll = |registered| match self.push_ring(ring, value, registered) {
                    Ok(()) => Some(Ok(())),
                    Err(PushError::Closed) => {
                        Some(Err(SendError(value.take().expect("a failed send keeps its value"))))
                    }
                    Err(PushError::Full) => None,
                };
                // Not on a closed channel: `poll_send`'s inline push fails there too, and the
                // send must fail at once with its value (found by review). A close still in
                // progress (the ring closed, the flag not yet raised) is a close concurrent with
                // this poll: the re-poll fails.
                if !wait.spun && !wait.waited && self.receiver_was_woken() && !self.is_disconnected() {
                    // Yield once to the receiver woken to make room: a future's first wait,
                    // after a push that found the ring full (`poll_send`'s inline one, or this
                    // one where that did not run: a large `T`, or loom).
                    if !(FAST_PATHS && size_of::<T>() <= INLINE_PUSH_MAX_SIZE) {
                        if let Some(outcome) = poll(false) {
                            return Poll::Ready(outcome);
                        }
                    }
                    wait.spun = true;
                    waker.wake_by_ref();
                    return Poll::Pending;
                }
                wait.waited = true;
                let waiting = self.senders_waiting_on_ring(ring);
                // Not `tried`: `poll_send`'s inline attempt is the ring's first claim only, so a
                // lost CAS or a closed ring is left to the first attempt here (a full ring it
                // finds inline, without the ring's loop, see `Ring::push`).
                let spin = !wait.spun;
                let outcome = poll_counted(waiting, &mut wait.slot, &mut wait.lane, waker, false, spin, poll);
                // As in `poll_recv_wait`: a counted wait that ended holds nothing.
                wait.waited = outcome.is_pending();
                outcome
            }
            Flavor::Unbounded(_) => unreachable!("an unbounded send is ready in `poll_send`"),
            Flavor::Rendezvous(slot) => {
                wait.waited = true;
                slot.poll_send(self, value, wait, waker)
            }
        }
    }

    /// Whether a receiving task was woken to take a value and has not run since: the parked
    /// receive holds its async owner's front value, or the receive lane's holder was notified.
    ///
    /// A send future that finds the ring full then **yields once** (`poll_send_wait`: it wakes
    /// its own task and returns `Pending`, registering nothing) instead of waiting: the woken
    /// receiver is about to make room, and on an executor that runs the two tasks in turn (a
    /// current-thread runtime; a worker that runs both) it does so before the send is polled
    /// again, so the send's registration, count, fence and re-check, and the receiver's notify
    /// of it, are all saved. If the ring is still full at that poll, the send waits the
    /// ordinary way (a yield is a spurious wakeup: correct whatever the receiver does, and at
    /// most one per future). callgrind, one sending and one receiving task on a current-thread
    /// runtime, instructions per message: capacity 1 1 069 -> 884, capacity 4 497 -> 425,
    /// capacity 16 229 -> 207, capacity 64 150 -> 145 (docs/benchmarks.md, "Thirty-ninth
    /// session"). A receive does not yield the same way to a woken sender: it measured worse
    /// (capacity 1: 884 -> 1 490; the receive's parked request is what fills the next cycle).
    #[inline]
    fn receiver_was_woken(&self) -> bool {
        self.parked().recv.holds_front() || self.recv_lane.is_notified()
    }

    /// Where the ring's async receivers wait: `recv_wait` or the receive lane.
    fn receivers_waiting_on_ring<'a>(&'a self, ring: &'a Ring<T>) -> Waiting<'a, T> {
        Waiting {
            queue: &self.recv_wait,
            lane: Some(&self.recv_lane),
            count: WaiterCount::RingReceivers(ring),
        }
    }

    /// Where the list's async receivers wait: `recv_wait` (the unbounded flavor has no lane).
    fn receivers_waiting_on_list<'a>(&'a self, list: &'a super::list::List<T>) -> Waiting<'a, T> {
        Waiting { queue: &self.recv_wait, lane: None, count: WaiterCount::ListReceivers(list) }
    }

    /// Where the ring's async senders wait: `send_wait` or the send lane.
    fn senders_waiting_on_ring<'a>(&'a self, ring: &'a Ring<T>) -> Waiting<'a, T> {
        Waiting { queue: &self.send_wait, lane: Some(&self.send_lane), count: WaiterCount::RingSenders(ring) }
    }

    /// A send future dropped or cancelled unfinished: leaves its queue, and returns the value
    /// a rendezvous owner took back out of the slot (`None` when a receiver took it: sent).
    /// The future's own `Option` still holds the value of any other unfinished send.
    /// Afterwards the wait holds nothing (`may_hold` is `false`).
    pub(crate) fn cancel_send(&self, wait: &mut SendWait) -> Option<T> {
        wait.waited = false;
        match &self.flavor {
            Flavor::Buffered(ring) => {
                cancel_counted(self.senders_waiting_on_ring(ring), &mut wait.slot, &mut wait.lane);
                None
            }
            Flavor::Unbounded(_) => {
                self.send_wait.cancel(&mut wait.slot);
                None
            }
            Flavor::Rendezvous(slot) => slot.cancel_send(self, wait),
        }
    }
}

/// One poll of a future that waits on `queue` and is counted in `count` while it waits
/// (`chan.rs`, "Counted waiters"): the first poll tries unregistered, then re-tries through a
/// short unregistered spin (as the blocking calls do: joining the count costs two RMWs on the
/// line the other side CASes, and makes its every operation pay the notify; without the spin an
/// async receiver that is faster than its senders joined and left on almost every message:
/// mpsc 4:1 on 2 tokio workers went from 18 to 82 ns per message); one that would return
/// `Pending` joins the count first, so every poll that may precede `Pending` is a registered
/// one. `Ready` leaves the count (a dropped future leaves it in `cancel_*`).
///
/// A notifier that wakes the future uncounts it at once (`WaitQueue::notify_one_with`), so the
/// other side's operations stop paying the notify while the woken task waits for its turn to
/// run (on a current-thread runtime: until the notifying task yields, up to a whole buffer of
/// operations later); `poll_until_counted` counts it again if it must wait once more.
///
/// `spin`: `false` when the caller spun already (a `Selector`, before it polls its operations).
///
/// `tried`: the caller's inline attempt (`FAST_PATHS`) has just failed, unregistered; then the
/// first unregistered attempt here is skipped, and so is the registered one before the
/// registration (`WaitQueue::poll_until_counted`): on a current-thread runtime, where nothing
/// can change between them, they were a sixth of a wait's instructions (callgrind).
///
/// **The lane.** A buffered channel's side has a lane for one async waiter (`lane.rs`): a future
/// that must wait claims it when it is free (`in_lane` then says so) and waits there instead of
/// in `queue`; counted, fenced and re-checked as a queue registration is. Polled again, the
/// holder tries first; if it must wait again it leaves the lane and claims it anew (with this
/// poll's waker), or waits in the queue if another future took the lane meanwhile.
///
/// Inlined into its two callers (`poll_recv_wait`, `poll_send_wait`, themselves out of line):
/// one frame less per wait. callgrind, two tasks on a hand-rolled executor, instructions per
/// message at capacity 1 / 16 / 64: 909.6 -> 873.6, 205.4 -> 195.9, 149.3 -> 146.9. A hint, not
/// `always`: unoptimised builds keep the frame (and its `R`) of their own.
#[inline]
fn poll_counted<T, R>(
    waiting: Waiting<'_, T>,
    slot: &mut AsyncSlot,
    in_lane: &mut bool,
    waker: &Waker,
    tried: bool,
    spin: bool,
    mut poll: impl FnMut(bool) -> Option<R>,
) -> Poll<R> {
    let Waiting { queue, lane, count } = waiting;
    let first_wait = !slot.is_registered();
    if let (true, Some(lane)) = (*in_lane, lane) {
        // Woken by a notify (usually), or polled for another reason: try first, as
        // `WaitQueue::poll_until_counted` does for a registered future.
        let ready = poll(true);
        // Notified: uncounted, and the lane is free. Else leave it (taking the waker back), to
        // be counted and registered anew below with this poll's waker.
        leave_lane(lane, count, in_lane);
        if let Some(ready) = ready {
            return Poll::Ready(ready);
        }
    } else if first_wait {
        if !tried {
            if let Some(ready) = poll(false) {
                leave_count(count, slot);
                return Poll::Ready(ready);
            }
        }
        // The same spin as `Chan::wait_counted`'s, written out rather than shared: a helper
        // returning `Option<R>` is one more frame holding a possibly huge `R` in unoptimised
        // builds (the stress tests' 1 MiB values overflowed a 64 MiB stack that way once).
        if spin && pre_spin::should_spin() {
            let backoff = Backoff::new();
            for _ in 0..UNREGISTERED_SPINS {
                if backoff.is_completed() {
                    break;
                }
                backoff.spin();
                if let Some(ready) = poll(false) {
                    pre_spin::hit();
                    leave_count(count, slot);
                    return Poll::Ready(ready);
                }
            }
            pre_spin::missed();
        }
    }
    if first_wait {
        // Counted already only after a user's waker panicked in its clone in a registration
        // below (the lane's claim or the queue's; the future is then counted and unregistered):
        // polled again after the panic was caught, it is not counted twice, and every `Ready`
        // here leaves the count (`leave_count`); dropped, it is uncounted (`cancel_counted`).
        // A `Ready` from the caller's inline attempt in between leaves it counted until then,
        // which costs the other side's operations a notify check each, never a wakeup.
        if !slot.is_counted() {
            count.register();
            slot.set_counted(true);
        }
        // The lane first: one CAS where the queue takes a lock. Counted before the claim: a
        // notifier may take us out of the lane as soon as it is claimed, and uncounts us then
        // (loom: counting after the claim let an uncount come first). Both precede the fence,
        // which is what the handshake needs (`lane.rs`).
        if let Some(lane) = lane {
            if lane.claim(waker) {
                // The count is the lane's to end now (`leave_lane`, a notifier's uncount).
                slot.set_counted(false);
                *in_lane = true;
                // ORDERING: the waiter's half of the Dekker handshake, as in
                // `WaitQueue::poll_until_counted`: pairs with the notifier's fence in `settle`
                // (or `disconnect`) before its look at the lane.
                fence(Ordering::SeqCst);
                return match poll(true) {
                    Some(ready) => {
                        leave_lane(lane, count, in_lane);
                        Poll::Ready(ready)
                    }
                    None => Poll::Pending,
                };
            }
        }
    }
    // Just counted: the registered re-check after the fence is the one that matters.
    let outcome = queue.poll_until_counted(slot, waker, first_wait, || count.register(), || poll(true));
    if outcome.is_ready() {
        leave_count(count, slot);
    }
    outcome
}

/// Leaves `count` if the future is in it: every `Ready` of [`poll_counted`] holds nothing.
#[inline]
fn leave_count<T>(count: WaiterCount<'_, T>, slot: &mut AsyncSlot) {
    if slot.is_counted() {
        count.deregister();
        slot.set_counted(false);
    }
}

/// The holder of `lane` leaves it (its wait ended): uncounted by itself unless a notifier
/// already did. A wakeup it was given meanwhile is spent on this ending.
#[inline]
fn leave_lane<T>(lane: &Lane, count: WaiterCount<'_, T>, in_lane: &mut bool) {
    *in_lane = false;
    if lane.leave() == Held::Waiting {
        count.deregister();
    }
}

/// A counted future dropped unfinished: leaves `queue` or its lane, passing on a wakeup it was
/// given (nobody else re-checks on its behalf), and the count, unless its notifier already
/// uncounted it.
fn cancel_counted<T>(waiting: Waiting<'_, T>, slot: &mut AsyncSlot, in_lane: &mut bool) {
    let Waiting { queue, lane, count } = waiting;
    if let (true, Some(lane)) = (*in_lane, lane) {
        *in_lane = false;
        match lane.leave() {
            Held::Waiting => count.deregister(),
            // The lane is free: the pass-on goes to the queue.
            Held::Notified => queue.notify_one_with(|| count.deregister()),
        }
        return;
    }
    queue.cancel_with(slot, || count.deregister());
    leave_count(count, slot);
}

/// Where a counted future of one channel side waits: its queue, the side's lane (the buffered
/// flavor's), and the count it joins.
struct Waiting<'a, T> {
    queue: &'a WaitQueue,
    lane: Option<&'a Lane>,
    count: WaiterCount<'a, T>,
}

/// Whether an async wait's unregistered spin pays off on this thread (see `poll_counted`).
///
/// On a current-thread runtime, or whenever the other side's task shares our thread, nothing
/// can change while we spin: measured, the spin took the capacity-1 current-thread row from 258
/// to 3 100 ns per message. So a thread whose last spins all found nothing stops spinning, and
/// only every `FIRST_PROBE_GAP`th wait spins (a probe), to notice when spinning helps again;
/// each probe that finds nothing doubles the gap, up to `MAX_PROBE_GAP`. (A probe is the whole
/// spin, 63 `pause`s, about 4 000 cycles on the AMD VM: at a fixed gap of 64 the probes were
/// more than half of the samples in `poll_send` and `poll_recv` on that row.)
mod pre_spin {
    #[cfg(not(loom))]
    use std::cell::Cell;

    /// Consecutive fruitless spins after which the thread stops spinning.
    #[cfg(not(loom))]
    const MISSES_TO_SKIP: u32 = 4;
    /// While the spin is off, the waits between probes right after it was turned off.
    #[cfg(not(loom))]
    const FIRST_PROBE_GAP: u32 = 64;
    /// The longest gap between probes: a partner that moved to another thread is still noticed
    /// within a few milliseconds of waits.
    #[cfg(not(loom))]
    const MAX_PROBE_GAP: u32 = 4096;

    #[cfg(not(loom))]
    thread_local! {
        /// Below `MISSES_TO_SKIP`: consecutive fruitless spins (spin on). From it: the spin is
        /// off, and the count runs on to `MISSES_TO_SKIP + PROBE_GAP - 1` between probes
        /// (`MISSES_TO_SKIP`: this wait is a probe, every `PROBE_GAP`th wait).
        static MISSES: Cell<u32> = const { Cell::new(0) };
        /// The waits between probes (`FIRST_PROBE_GAP` to `MAX_PROBE_GAP`).
        static PROBE_GAP: Cell<u32> = const { Cell::new(FIRST_PROBE_GAP) };
    }

    #[cfg(not(loom))]
    #[inline]
    pub(super) fn should_spin() -> bool {
        MISSES.with(|misses| {
            let n = misses.get();
            if n < MISSES_TO_SKIP {
                return true;
            }
            let gap = PROBE_GAP.with(Cell::get);
            let next = if n + 1 >= MISSES_TO_SKIP + gap { MISSES_TO_SKIP } else { n + 1 };
            misses.set(next);
            next == MISSES_TO_SKIP
        })
    }

    #[cfg(not(loom))]
    #[inline]
    pub(super) fn hit() {
        MISSES.with(|misses| misses.set(0));
        PROBE_GAP.with(|gap| gap.set(FIRST_PROBE_GAP));
    }

    #[cfg(not(loom))]
    #[inline]
    pub(super) fn missed() {
        MISSES.with(|misses| match misses.get() {
            n if n < MISSES_TO_SKIP => misses.set(n + 1),
            // A probe that found nothing: probe half as often.
            MISSES_TO_SKIP => PROBE_GAP.with(|gap| gap.set((gap.get() * 2).min(MAX_PROBE_GAP))),
            _ => {}
        });
    }

    // Under loom the facade's `Backoff` is complete at once: no spin, nothing to learn.
    #[cfg(loom)]
    pub(super) fn should_spin() -> bool {
        false
    }
    #[cfg(loom)]
    pub(super) fn hit() {}
    #[cfg(loom)]
    pub(super) fn missed() {}
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::pre_spin;

    /// The waits between spinning ones over `waits` waits whose spins all find nothing.
    fn probe_gaps(waits: u32) -> Vec<u32> {
        crate::wait::tests::probe_gaps(waits, pre_spin::should_spin, |spun| {
            if spun {
                pre_spin::missed();
            }
        })
    }

    #[test]
    fn fruitless_probes_back_off_and_a_hit_resets_them() {
        // A thread of its own: the state is per thread.
        std::thread::spawn(|| {
            // Four misses turn the spin off; then the probes come 64, 128, ... 4 096 waits apart.
            assert_eq!(probe_gaps(4), [1, 1, 1, 1]);
            let gaps = probe_gaps(64 + 128 + 256 + 512 + 1024 + 2048 + 4096 + 4096);
            assert_eq!(gaps, [64, 128, 256, 512, 1024, 2048, 4096, 4096]);
            // A hit turns the spin on, and the next off period starts over.
            while !pre_spin::should_spin() {}
            pre_spin::hit();
            assert_eq!(probe_gaps(4 + 64 + 128), [1, 1, 1, 1, 64, 128]);
        })
        .join()
        .expect("the checks passed");
    }
}
