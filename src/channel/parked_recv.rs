//! The buffered flavor's parked receive: one waiting receiver's request, which a sender's push
//! fills with the oldest value (a direct hand-off, the mirror of `parked_send.rs`).
//!
//! When both sides share a core, each switch between them moves what fits in the ring. With a
//! parked send alone, a capacity-1 channel moves two messages per switch to the receiver and
//! back: the ring's value and the parked one. A receiver that parks a *request* lets the
//! sender's next push go straight out of the ring into the receiver's hands (the sender pops it
//! on the receiver's behalf), so the sender can push one more value and park another before it
//! has to wait: three messages per round trip.
//!
//! **A blocking receive parks only while this thread's waits are ended by yields** (the
//! partner shares our core: `wait::spinning_helps` is off). With a partner on another core the
//! receiver usually catches the next value in its spin, and a parked request would make the
//! sender pop and fill on every push the receiver waits for. **An async receive parks when it
//! is the only receiver of a channel of capacity 4 or less** (`Chan::may_park_async_receive`):
//! its future is polled by an executor that usually runs the sender on the same thread, the
//! case the hand-off is for, and a small capacity is where the extra message per wait counts
//! (measured from 1 to 32: from 8 on, a receiver on a worker of its own empties the ring and
//! parks so often that two workers run at half speed; docs/benchmarks.md).
//! Its filled value does not belong to the future alone, though: see "An async owner" below.
//!
//! # The slot's states
//!
//! | state | meaning | who may move it, to what |
//! |---|---|---|
//! | `EMPTY` | no receiver parked | a receiver that may park (blocking, or an async one: then with `ASYNC`): CAS to `CHECKING` (it becomes the *owner*, and re-checks) |
//! | `WAITING` | the owner waits for a value | a sender that pushed, CAS to `FILLING`; the owner, CAS to `EMPTY` (give up) |
//! | `FILLING` | that sender pops the oldest value for the owner | it: to `FILLED`, or back to `WAITING` (another receiver took the value); a sender that pushed meanwhile: to `FILLING \| AGAIN` |
//! | `CHECKING` | the owner pops for itself | the owner: to `EMPTY` (it got a value) or back to `WAITING`; a sender that pushed meanwhile: to `CHECKING \| AGAIN` |
//! | `… \| AGAIN` | as without the mark, and a push landed since the pop began | the mover: as without it, but a pop that found the ring empty clears the mark and pops again |
//! | `FILLED` | a value waits in the cell for the owner | the owner: to `EMPTY`, taking it |
//! | `… \| ASYNC` | as without the mark, for an async owner (claimed so, kept to the end) | as without it; `FILLED \| ASYNC` is the channel's *front* (below) |
//! | `BUSY \| ASYNC` | one receive moves the front value (a take or a swap) | it: back to the front, or to `EMPTY` / `STOLEN` after a take |
//! | `STOLEN \| ASYNC` | another receive took the owner's value | the owner: to `EMPTY` (it starts over) |
//! | `… \| ORPHAN` | on the front (and its `BUSY`): the owner's future was dropped | a take leaves the slot `EMPTY` |
//!
//! Every exit from `FILLING` and `CHECKING` is an RMW (a swap), so that the marks and the exits
//! form one chain: a mark is either seen by the mover or set after it left.
//!
//! # Why no value waits unseen
//!
//! The owner claims the slot straight into `CHECKING`, counts itself as a waiting receiver in
//! the ring's tail word (every push claimed later reports it), issues a `fence(SeqCst)` and pops
//! once more for itself. A push that reports a waiting receiver issues a `fence(SeqCst)` and
//! then looks at the slot. Whichever fence is second sees the other side: the owner's registered
//! pop sees the push's claim (it waits out a push still writing instead of reporting empty), or
//! the sender sees the slot: `WAITING` (the owner's re-check found nothing), which it fills, or
//! `CHECKING`, which it marks (below).
//!
//! Why the claim is not a `WAITING` of its own: between the claim and the owner's count, a push
//! that reports *another* waiting receiver would fill the slot and lower the count on the
//! owner's behalf, that is, lower the other receiver's count; the next push would then report
//! no waiting receiver and wake nobody, and that receiver would sleep with a value in the ring
//! (found by review in the eighteenth session; loom model
//! `a_parked_receive_claimed_before_its_count_strands_no_receiver`). A push that finds the
//! owner's `CHECKING` marks it and wakes a receiver on `recv_wait` instead, as below.
//!
//! A sender that finds `CHECKING` or `FILLING` marks it (`AGAIN`, a CAS after the push's fence)
//! instead of waiting for it: it may be the owner's re-check that found the ring empty just
//! before this push, and then this push's value is the owner's only chance.
//! A mover whose pop found the ring empty goes back to `WAITING` only with a CAS from the
//! unmarked state; finding the mark (Acquire), it pops again, and that pop sees the marking
//! push's value. The marking sender still wakes a receiver on `recv_wait`: the mover may take an
//! older value and leave the marker's in the ring. A fill whose pop finds nothing (another
//! receiver was faster) puts the slot back to `WAITING`; the owner stays counted, so the next
//! push looks again.
//!
//! The sender whose fill landed lowers the owner's count on its behalf, stores `FILLED` and
//! notifies the owner: a blocking one on `filled_wait`, an async one in `filled_lane` (a
//! one-waiter lane, `lane.rs`: one CAS to claim and one to notify, where the queue took its
//! lock twice per wait), where only the owner ever waits. The owner also leaves when its
//! deadline passes or the channel is disconnected: it takes a filled value if there is one,
//! else empties the slot (one CAS against the fill's) and, when disconnected, drains the ring.
//!
//! # An async owner
//!
//! A blocking owner is always there to take its value, but a future may be dropped between its
//! fill and its next poll. Putting the value back into the ring would put it behind younger
//! ones (and may find no room): the out-of-order or lost value of kanal #24 and flume #104. So
//! an async owner's filled value never belongs to the future alone: `FILLED | ASYNC` is the
//! channel's **front**, the oldest value it holds, and every receive may take it.
//!
//! - The fill pops with `Ring::pop_marking_front`: the claim that takes the value out of the
//!   ring also sets the ring's front mark (a bit in `head`), so every later pop's report says
//!   a front value may exist. The take that empties the slot clears the mark first.
//! - A receive whose pop found the ring empty but the mark set takes the front (`steal_front`)
//!   and leaves `STOLEN`: the owner, polled next, empties the slot and starts over. An owner
//!   whose future was dropped marks the front `ORPHAN` instead of waiting for it, and a take
//!   of an orphan leaves the slot `EMPTY`.
//! - A receive whose pop succeeded with the mark set compares positions (`swap_front`): the
//!   fill wrote the ring position its value came from, and when that is older than the
//!   receive's, the two values trade places. So receives return values in the channel's
//!   order, a front value included (loom: `a_receive_waits_out_a_fill_that_popped_before_it`).
//! - A receive that saw the mark waits out a fill whose marking pop is done but whose store
//!   of the front is not, and a move by another receive (`BUSY`): a few instructions of
//!   another thread, never a wait for a user.
//!
//! The fill wakes a receiver waiting on `recv_wait` as well as the owner: the value is the
//! channel's, and the owner's future may never be polled again. `Chan::len` counts the front.
//!
//! What it costs: a receive that meets a front value in the middle of a move waits for it, so
//! a `try_recv` may wait a few instructions of another thread (longer if that thread is
//! preempted there), as a registered pop waits for a push in flight. And a front value that
//! nobody takes at once (its future dropped, or not polled while other receives run) keeps
//! the mark set while the ring never empties: every pop then trades its value with the front
//! (a CAS and a store on the slot's line) and the slot cannot be parked in, until a receive
//! finds the ring empty and takes it. Values stay in order throughout; only speed differs, and
//! only on that path.
//!
//! # One chain of RMWs
//!
//! The cell changes hands between a filler's write and the owner's take (`FILLED`: Release
//! swap, Acquire load) and between the owner's take and the next filler's write. For the
//! second, `take_filled`'s Release store of `EMPTY` is the only plain store to the state: every
//! later write until the next take is an RMW (the claim, the re-check, the moves, the marks,
//! the withdraw), which continues that store's release sequence. So the next filler's Acquire
//! CAS from `WAITING` synchronises with the take, however many owners and moves came between,
//! and none of those RMWs needs an ordering of its own for it: the claim, the owner's swap to
//! `EMPTY`, the move back to `WAITING` and the mark are Relaxed (ordering mutation testing found
//! each surviving as Release or Acquire, docs/verification.md).
//!
//! An async owner's front adds plain Release stores: the end of a move (`BUSY` back to the
//! front, to `STOLEN` or to `EMPTY`) and the owner's `EMPTY` after `STOLEN`. Each is made by
//! the one thread that holds the cell at that moment, and each heads the chain anew: whoever
//! moves the slot next acquires it (a take's or swap's CAS, the owner's load of `STOLEN`, or
//! the next filler's CAS through the RMWs between).

use super::lane::Lane;
use crate::ring::{PopReport, Ring, popped_before};
use crate::sync::atomic::{AtomicU32, Ordering, fence};
use crate::sync::{Backoff, UnsafeCell};
use crate::wait::WaitQueue;
use std::mem::MaybeUninit;

const EMPTY: u32 = 0;
const WAITING: u32 = 1;
const FILLING: u32 = 2;
const CHECKING: u32 = 3;
const FILLED: u32 = 4;
/// An async owner's front value is being moved by one thread (a take or a swap).
const BUSY: u32 = 5;
/// An async owner's front value was taken by another receive; the owner empties the slot.
const STOLEN: u32 = 6;
/// The low bits: which of the states above.
const KIND: u32 = 7;
/// Set on `FILLING` or `CHECKING` by a push that landed meanwhile: the mover, if its pop found
/// the ring empty, pops again instead of going back to `WAITING` (module docs).
const AGAIN: u32 = 8;
/// Set from the claim to the end on every state of an async owner's request: its filled value
/// is the channel's front, which every receive may take (module docs, "An async owner").
const ASYNC: u32 = 16;
/// Set on an async owner's `FILLED` (and `BUSY`) when the owner's future was dropped: nobody
/// empties a `STOLEN` slot, so a take leaves it `EMPTY`.
const ORPHAN: u32 = 32;
/// An async owner's filled request: the channel's front value.
const FRONT: u32 = FILLED | ASYNC;

/// How a fill ended ([`ParkedRecv::fill`]).
pub(crate) struct Fill {
    /// The fill's pop saw a waiting sender.
    pub(crate) sender_waits: bool,
    /// The request was an async owner's: its value is the channel's front, which any receive
    /// may take, so the filler also wakes a receiver waiting on `recv_wait`.
    pub(crate) front: bool,
}

pub(crate) struct ParkedRecv<T> {
    /// The slot's state (module docs' table).
    state: AtomicU32,
    /// Initialised exactly in `FILLED` (and in `BUSY`, or while the owner takes it out: by the
    /// one thread that moves it).
    value: UnsafeCell<MaybeUninit<T>>,
    /// The ring position the value of an async owner's `FILLED` was popped from (written with
    /// the value; a receive that popped a younger position swaps with it).
    position: UnsafeCell<u64>,
    /// A blocking owner waits here for `FILLED` (or disconnection). Nobody else ever waits here.
    pub(super) filled_wait: WaitQueue,
    /// An async owner waits here for the same: one possible holder, so a lane (one CAS to
    /// claim, one to notify) rather than the queue's lock and list.
    pub(super) filled_lane: Lane,
}

// SAFETY: the slot moves `T`s between threads (needs `T: Send`) and never hands out `&T`
// (no `T: Sync` needed); the state machine gives the cell to one thread at a time.
unsafe impl<T: Send> Send for ParkedRecv<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for ParkedRecv<T> {}

impl<T> Drop for ParkedRecv<T> {
    fn drop(&mut self) {
        // ORDERING: `&mut self`: no other thread exists; Relaxed is enough.
        if self.state.load(Ordering::Relaxed) & KIND == FILLED {
            // SAFETY: FILLED (an owner's or the front) means the cell holds a value nobody
            // took; we own it now.
            self.value.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
    }
}

/// What the owner of the parked receive learns. The value of `Filled` and `Popped` is in the
/// owner's `received` (an out-parameter, not a payload: in unoptimised builds every frame an
/// enum with a `T` passes through holds one, and a parked receive passes through five).
pub(crate) enum Request {
    /// A sender filled it (and lowered the owner's count).
    Filled,
    /// The owner popped a value itself. `true`: the pop saw a waiting sender.
    Popped(bool),
    /// Still waiting.
    Waiting,
    /// The owner gave up its request (the slot is empty again; it is still counted).
    Withdrawn,
    /// An async owner's value was taken by another receive (the filler lowered its count);
    /// the slot is empty again.
    Stolen,
    /// An async owner's future, dropped after its fill, left the value as the channel's front
    /// (the filler lowered its count).
    Orphaned,
}

impl<T> ParkedRecv<T> {
    /// Initialises an empty slot at `this`, field by field: a `ParkedRecv` value would make a
    /// `T`-sized temporary on the stack in debug builds.
    ///
    /// # Safety
    ///
    /// `this` is valid for writes and aligned; the caller owns the memory.
    pub(crate) unsafe fn init_in_place(this: *mut Self) {
        // SAFETY: the caller's promise; each field is written once through raw pointers (no
        // reference to uninitialised memory is made). The value cell stays uninitialised.
        unsafe {
            (&raw mut (*this).state).write(AtomicU32::new(EMPTY));
            crate::sync::init_uninit_cell(&raw mut (*this).value);
            (&raw mut (*this).position).write(UnsafeCell::new(0));
            (&raw mut (*this).filled_wait).write(WaitQueue::new());
            (&raw mut (*this).filled_lane).write(Lane::new());
        }
    }

    /// Claims the empty slot, straight into the owner's re-check (`CHECKING`: no fill can
    /// serve it before it is counted, module docs): the caller becomes its owner, counts itself
    /// as a waiting receiver of the ring, and calls [`ParkedRecv::park`] next.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        self.try_claim_as(0)
    }

    /// [`ParkedRecv::try_claim`] for an async receive future: its request carries `ASYNC`
    /// until it ends (module docs, "An async owner").
    #[inline]
    pub(crate) fn try_claim_async(&self) -> bool {
        self.try_claim_as(ASYNC)
    }

    #[inline]
    fn try_claim_as(&self, kind: u32) -> bool {
        // ORDERING: Relaxed load: a hint that keeps a busy slot's line shared.
        if self.state.load(Ordering::Relaxed) != EMPTY {
            return false;
        }
        // ORDERING: Relaxed CAS: the owner touches the cell only after acquiring a filler's
        // `FILLED`. The previous owner's take must happen before the next fill's write, and it
        // does without us: every plain store to the state is Release and every other write an
        // RMW, so the filler's Acquire CAS from `WAITING` reads the release sequence that the
        // last take's store heads (module docs, "One chain of RMWs").
        self.state.compare_exchange(EMPTY, CHECKING | kind, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// The owner, counted as a waiting receiver, its slot still `CHECKING` since the claim:
    /// the handshake's fence, then one pop for itself (module docs), into `received`.
    pub(crate) fn park(&self, ring: &Ring<T>, received: &mut Option<T>) -> Request {
        self.park_as(ring, received, 0)
    }

    /// [`ParkedRecv::park`] for an async owner (claimed with `try_claim_async`).
    pub(crate) fn park_async(&self, ring: &Ring<T>, received: &mut Option<T>) -> Request {
        self.park_as(ring, received, ASYNC)
    }

    fn park_as(&self, ring: &Ring<T>, received: &mut Option<T>, kind: u32) -> Request {
        // ORDERING: the owner's half of the handshake (module docs): our count before the
        // re-check's look at the ring, against a push's claim before its look at the slot.
        fence(Ordering::SeqCst);
        match self.pop_moving(ring, CHECKING | kind) {
            Some((value, report)) => {
                // ORDERING: Relaxed: this path never touched the cell (the value came from the
                // ring), so there is nothing to publish; as an RMW the swap carries the release
                // sequence of the last `take_filled` on to the next filler ("One chain of RMWs").
                // A swap, not a store: a marking push may CAS the state concurrently, and every
                // exit from a moving state is an RMW so that the marks and the exits form one
                // chain (loom finds a mark surviving a plain store otherwise).
                self.state.swap(EMPTY, Ordering::Relaxed);
                *received = Some(value);
                Request::Popped(report.sender_waits())
            }
            None => Request::Waiting,
        }
    }

    /// Pops for the request in state `moving` (`FILLING` or `CHECKING`, the caller's, with
    /// `ASYNC` for an async owner). When the ring is empty the slot goes back to `WAITING`,
    /// unless a push marked it (`AGAIN`): then its value is ours to try, so pop again. On
    /// `Some` the slot stays `moving` (marked or not: a marking push also woke a waiting
    /// receiver, see `fill`). A fill for an async owner pops with the ring's front mark
    /// (module docs, "An async owner").
    fn pop_moving(&self, ring: &Ring<T>, moving: u32) -> Option<(T, PopReport)> {
        let marks_front = moving == FILLING | ASYNC;
        loop {
            let mut popped = None;
            let outcome = if marks_front {
                ring.pop_marking_front(true, &mut popped)
            } else {
                ring.pop_into(true, &mut popped)
            };
            if let (Ok(report), Some(value)) = (outcome, popped) {
                return Some((value, report));
            }
            // ORDERING: Relaxed: a mover whose pop found nothing wrote no cell, so there is
            // nothing to publish; as an RMW the CAS carries the release sequence of the last
            // `take_filled` on to the next filler's Acquire CAS ("One chain of RMWs"). Relaxed
            // on failure: the swap below reads the mark again (or a later one) and acquires it.
            let waiting = WAITING | (moving & ASYNC);
            match self.state.compare_exchange(moving, waiting, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return None,
                Err(marked) => {
                    debug_assert_eq!(marked, moving | AGAIN);
                    // ORDERING: Acquire pairs with the marking pushes' Release CASes (the latest,
                    // and through its release sequence the earlier ones): their pushes happen
                    // before our next pop, which sees their values. A swap: a plain store could
                    // hide a later mark.
                    self.state.swap(moving, Ordering::Acquire);
                }
            }
        }
    }

    /// The owner looks at its request: `Filled` (the value moved to `received`, the slot
    /// emptied for the next owner) or `Waiting`. A load only, unless a sender has filled it.
    #[inline]
    pub(crate) fn poll_owner(&self, received: &mut Option<T>) -> Request {
        // ORDERING: Acquire pairs with the filler's Release store of `FILLED`: its write of the
        // cell and its count decrement happened before our take.
        if self.state.load(Ordering::Acquire) == FILLED {
            self.take_filled(received);
            return Request::Filled;
        }
        Request::Waiting
    }

    /// The owner gives up its request (deadline, disconnection): takes a value a sender
    /// filled in meanwhile (into `received`), or empties the slot. Waits out a fill in progress.
    pub(crate) fn withdraw(&self, received: &mut Option<T>) -> Request {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Relaxed on success: nothing was filled, no cell access follows; the
            // slot's next claimer pairs with nothing of ours. Acquire on failure: `FILLED`
            // (the fill's cell write) is then taken in `take_filled`, which loads it again.
            match self.state.compare_exchange(WAITING, EMPTY, Ordering::Relaxed, Ordering::Acquire) {
                Ok(_) => return Request::Withdrawn,
                Err(FILLED) => {
                    self.take_filled(received);
                    return Request::Filled;
                }
                // A sender is filling it: a few instructions.
                Err(state) => {
                    debug_assert_eq!(
                        state & !AGAIN,
                        FILLING,
                        "the owner's slot is WAITING, FILLING or FILLED"
                    );
                    backoff.snooze();
                }
            }
        }
    }

    /// Moves the value out of a `FILLED` slot (the owner's) into `received` and empties the
    /// slot.
    fn take_filled(&self, received: &mut Option<T>) {
        // SAFETY: `FILLED`, read with Acquire by the caller, gives the owner the cell; the filler
        // wrote it before its Release store and never touches it again. The cast: a
        // `MaybeUninit<T>` has `T`'s size and alignment.
        *received = Some(self.value.with(|cell| unsafe { cell.cast::<T>().read() }));
        // ORDERING: Release pairs with the next filler's Acquire CAS from `WAITING`, through the
        // chain of RMWs between (module docs, "One chain of RMWs"): our take of the cell
        // happens before its write.
        self.state.store(EMPTY, Ordering::Release);
    }

    /// A sender whose push saw a waiting receiver, after the handshake's fence (module docs):
    /// pops the oldest value into the parked request if there is one, lowers the owner's count
    /// in the ring on its behalf and wakes it (`filled_wait`'s notify, or for an async owner
    /// `notify_async_owner`, issues the notifier's `fence(SeqCst)` after the store of
    /// `FILLED`). `Some` when it did ([`Fill`]: whether the
    /// pop saw a waiting sender, whether the value is the front); `None` when no request was
    /// parked (or its owner was not waiting yet: its re-check sees our value), a move was in
    /// progress (marked), or another receiver took the value first. On `None` the caller wakes
    /// a receiver on `recv_wait`.
    #[inline]
    pub(crate) fn fill(&self, ring: &Ring<T>) -> Option<Fill> {
        let kind;
        loop {
            // ORDERING: Relaxed: the look after the caller's fence (the handshake is the fences;
            // module docs); the CASes below order what they need.
            let state = self.state.load(Ordering::Relaxed);
            match state & !ASYNC {
                // ORDERING: Acquire pairs with the Release store that made the slot `WAITING`
                // (or the `EMPTY` before the owner's claim, whose release sequence the claim
                // continues): the previous owner's take of the cell happened before our write.
                WAITING => {
                    let filling = FILLING | (state & ASYNC);
                    if self
                        .state
                        .compare_exchange(state, filling, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
                        kind = state & ASYNC;
                        break;
                    }
                }
                // The owner re-checking, or another sender filling. It may be the owner's
                // re-check that found the ring empty just before our push: then our value is its
                // only chance. Mark the move, so that a mover whose pop found the ring empty pops
                // again rather than go back to waiting (`pop_moving`); the caller still wakes a
                // waiting receiver (the mover may get an older value, leaving ours).
                // An RMW even when the mark is already set, so that the mover's next look reads
                // ours.
                moving if matches!(moving & !AGAIN, CHECKING | FILLING) => {
                    let marked = state | AGAIN;
                    // ORDERING: Relaxed: the caller's SeqCst fence (`settle`), after our push
                    // and before this CAS, is a release fence for it: it synchronises with the
                    // mover's Acquire swap that reads this mark (or a later one of the chain),
                    // so our push happens before the mover's next pop.
                    if self
                        .state
                        .compare_exchange(state, marked, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                    {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        let (value, report) = self.pop_moving(ring, FILLING | kind)?;
        // SAFETY: `FILLING`, set by our CAS, gives this thread the cell (empty: the previous
        // owner took its value before emptying the slot).
        self.value.with_mut(|cell| unsafe { (*cell).write(value) });
        if kind == ASYNC {
            // SAFETY: as for the value cell: ours while `FILLING`.
            self.position.with_mut(|cell| unsafe { *cell = report.position() });
        }
        // The owner is the receiver this push serves: it leaves the waiting receivers now.
        ring.deregister_receiver();
        // ORDERING: Release pairs with the owner's Acquire load in `poll_owner` (or `withdraw`),
        // or for an async owner with the Acquire CAS of whoever takes or swaps the front: the
        // cells' writes and the count's decrement happen before. A swap: a marking push may
        // CAS the state concurrently (see `park`).
        self.state.swap(FILLED | kind, Ordering::Release);
        if kind == ASYNC {
            self.notify_async_owner();
        } else {
            self.filled_wait.notify_one();
        }
        Some(Fill { sender_waits: report.sender_waits(), front: kind == ASYNC })
    }

    /// Wakes an async owner waiting in `filled_lane`, after the store that ends its wait (the
    /// fill's `FILLED`, the channel's disconnection): the notifier's half of the handshake.
    pub(super) fn notify_async_owner(&self) {
        // ORDERING: the notifier's fence of the lane's handshake (`lane.rs`): orders the store
        // that ends the wait before the look at the lane; pairs with the owner's fence after
        // its claim of the lane, before its re-check.
        fence(Ordering::SeqCst);
        // `false` (nobody in the lane, or its waker panicked in `wake`): nobody else to wake.
        let _ = self.filled_lane.notify_after_fence(|| {});
    }

    /// An async owner looks at its request: `Filled` (it took its value into `received`, the
    /// slot is empty for the next owner), `Stolen` (another receive took it; the slot is empty
    /// again) or `Waiting`.
    pub(crate) fn poll_async_owner(&self, ring: &Ring<T>, received: &mut Option<T>) -> Request {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire pairs with the Release store of `STOLEN` (the thief's read of
            // the cell happens before the next owner's fill writes it: our store of `EMPTY`
            // below heads the chain the next filler acquires). `FRONT` is acquired again by
            // the take's CAS.
            let state = self.state.load(Ordering::Acquire);
            if state == FRONT {
                if self.take_front(ring, FRONT, EMPTY, received) {
                    return Request::Filled;
                }
            } else if state == STOLEN | ASYNC {
                // ORDERING: Release: the head of the chain of RMWs that the next filler's
                // Acquire CAS from `WAITING` reads ("One chain of RMWs"); the thief's read of
                // the cell happened before it (our Acquire load above).
                self.state.store(EMPTY, Ordering::Release);
                return Request::Stolen;
            } else if state != BUSY | ASYNC {
                // `WAITING` or `FILLING`, with `ASYNC`: the fill wakes us.
                return Request::Waiting;
            }
            // Another receive moves the value (a take or a swap): a few instructions.
            backoff.snooze();
        }
    }

    /// An async owner gives its request up: `withdraw` (disconnection: it takes a value filled
    /// meanwhile into `received`) or, with `received` `None`, its future's drop (a filled value
    /// stays in the slot as the channel's front, `Orphaned`). Waits out a fill or a move in
    /// progress.
    pub(crate) fn leave_async(&self, ring: &Ring<T>, received: Option<&mut Option<T>>) -> Request {
        let backoff = Backoff::new();
        let mut received = received;
        loop {
            // ORDERING: Acquire, as in `poll_async_owner`.
            let state = self.state.load(Ordering::Acquire);
            if state == WAITING | ASYNC {
                // ORDERING: Relaxed: nothing was filled, no cell access follows; as an RMW it
                // continues the chain of the last take's Release store.
                if self.state.compare_exchange(state, EMPTY, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    return Request::Withdrawn;
                }
            } else if state == FRONT {
                match received.as_deref_mut() {
                    Some(received) => {
                        if self.take_front(ring, FRONT, EMPTY, received) {
                            return Request::Filled;
                        }
                    }
                    // ORDERING: Relaxed: we touch no cell. As an RMW the CAS continues the
                    // release sequence of the Release store of `FRONT`, so whoever takes or
                    // swaps the orphan (an Acquire CAS) sees the cells' writes.
                    None => {
                        if self
                            .state
                            .compare_exchange(FRONT, FRONT | ORPHAN, Ordering::Relaxed, Ordering::Relaxed)
                            .is_ok()
                        {
                            return Request::Orphaned;
                        }
                    }
                }
            } else if state == STOLEN | ASYNC {
                // ORDERING: Release, as in `poll_async_owner`.
                self.state.store(EMPTY, Ordering::Release);
                return Request::Stolen;
            } else {
                // `FILLING` (a sender fills it) or `BUSY` (a receive moves it): a few
                // instructions.
                debug_assert!(
                    state & ASYNC != 0 && matches!(state & KIND, FILLING | BUSY),
                    "an async owner's slot is WAITING, FILLING, FILLED, BUSY or STOLEN, not {state}"
                );
                backoff.snooze();
            }
        }
    }

    /// A receive that popped the ring's position `position` into `value` and saw the front
    /// mark, after an Acquire fence (module docs, "An async owner"): if the front value is
    /// older, swaps it with `value` (the receive returns the older value; the younger one
    /// waits for the owner, or for the next receive). Waits out a fill that may have popped
    /// before us, or a move, in progress.
    #[cold]
    pub(crate) fn swap_front(&self, position: u64, value: &mut T) {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire: a fill in progress is seen (the caller's fence synchronised
            // with its marking pop); the CAS below acquires the cells.
            let state = self.state.load(Ordering::Acquire);
            if state & !ORPHAN == FRONT {
                let busy = BUSY | (state & (ASYNC | ORPHAN));
                // ORDERING: Acquire pairs with the Release store that made it `FRONT` (the
                // fill's, or a swap's; an orphaning CAS continues that sequence): the cells'
                // writes happen before our reads.
                if self.state.compare_exchange(state, busy, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    // SAFETY: `BUSY`, set by our CAS from `FILLED`, gives this thread both cells
                    // until our store below; the value cell holds the filler's (or the last
                    // swap's) value, initialised before the Release store we acquired.
                    unsafe {
                        let front = self.position.with(|cell| *cell);
                        if popped_before(front, position) {
                            self.value.with_mut(|cell| std::ptr::swap((*cell).as_mut_ptr(), value));
                            self.position.with_mut(|cell| *cell = position);
                        }
                    }
                    // ORDERING: Release pairs with the next take's or swap's Acquire CAS: our
                    // writes of the cells happen before their reads.
                    self.state.store(state, Ordering::Release);
                    return;
                }
            } else if !self.front_in_flight(state) {
                return;
            }
            backoff.snooze();
        }
    }

    /// A receive that found the ring empty but saw the front mark, after an Acquire fence:
    /// takes the front value into `received` if there is one (`true`). An owner still waiting
    /// for it finds `STOLEN` and starts over. Waits out a fill or a move in progress.
    #[cold]
    pub(crate) fn steal_front(&self, ring: &Ring<T>, received: &mut Option<T>) -> bool {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire, as in `swap_front`.
            let state = self.state.load(Ordering::Acquire);
            if state & !ORPHAN == FRONT {
                // Nobody empties a `STOLEN` slot whose owner is gone.
                let left = if state & ORPHAN != 0 { EMPTY } else { STOLEN | ASYNC };
                if self.take_front(ring, state, left, received) {
                    return true;
                }
            } else if !self.front_in_flight(state) {
                return false;
            }
            backoff.snooze();
        }
    }

    /// Whether `state` is an async request's fill or move in progress, which a receive that
    /// saw the front mark waits out (a few instructions of another thread).
    fn front_in_flight(&self, state: u32) -> bool {
        state & ASYNC != 0 && (state & KIND == BUSY || state & !AGAIN == FILLING | ASYNC)
    }

    /// Moves the front value out of the slot in state `from` (`FRONT`, maybe `ORPHAN`) into
    /// `received`, clears the ring's front mark and leaves the slot `left`; `false` when
    /// another receive moved it first.
    fn take_front(&self, ring: &Ring<T>, from: u32, left: u32, received: &mut Option<T>) -> bool {
        let busy = BUSY | (from & (ASYNC | ORPHAN));
        // ORDERING: Acquire, as in `swap_front`.
        if self.state.compare_exchange(from, busy, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return false;
        }
        // SAFETY: as in `swap_front`; the value is moved out, and the cell counts as empty
        // from our store below on. The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        *received = Some(self.value.with(|cell| unsafe { cell.cast::<T>().read() }));
        // Before the slot can be claimed again: a fill for the next owner sets the mark anew.
        ring.clear_front();
        // ORDERING: Release pairs with the next filler's Acquire CAS from `WAITING`, through the
        // chain of RMWs between ("One chain of RMWs"), or with the owner's Acquire load of
        // `STOLEN`: our read of the cell happens before the next write.
        self.state.store(left, Ordering::Release);
        true
    }

    /// Whether the slot holds the channel's front value (for `len`; a snapshot).
    pub(crate) fn holds_front(&self) -> bool {
        // ORDERING: Relaxed: a snapshot.
        let state = self.state.load(Ordering::Relaxed);
        state & ASYNC != 0 && matches!(state & KIND, FILLED | BUSY)
    }

    /// Whether no receiver owns the slot (loom models assert it after every wait).
    #[cfg(loom)]
    pub(crate) fn is_free(&self) -> bool {
        // ORDERING: Relaxed: the models call it after joining every thread.
        self.state.load(Ordering::Relaxed) == EMPTY
    }
}
