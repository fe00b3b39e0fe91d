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
//! **Only blocking receives park, and only while this thread's waits are ended by yields** (the
//! partner shares our core: `wait::spinning_helps` is off). With a partner on another core the
//! receiver usually catches the next value in its spin, and a parked request would make the
//! sender pop and fill on every push the receiver waits for. An async receive never parks: a
//! value filled into a future that is then dropped would have to go back into the ring, out of
//! order (the bug class of kanal #24 and flume #104).
//!
//! # The slot's states
//!
//! | state | meaning | who may move it, to what |
//! |---|---|---|
//! | `EMPTY` | no receiver parked | any blocking receiver: CAS to `CHECKING` (it becomes the *owner*, and re-checks) |
//! | `WAITING` | the owner waits for a value | a sender that pushed, CAS to `FILLING`; the owner, CAS to `EMPTY` (give up) |
//! | `FILLING` | that sender pops the oldest value for the owner | it: to `FILLED`, or back to `WAITING` (another receiver took the value); a sender that pushed meanwhile: to `FILLING \| AGAIN` |
//! | `CHECKING` | the owner pops for itself | the owner: to `EMPTY` (it got a value) or back to `WAITING`; a sender that pushed meanwhile: to `CHECKING \| AGAIN` |
//! | `… \| AGAIN` | as without the mark, and a push landed since the pop began | the mover: as without it, but a pop that found the ring empty clears the mark and pops again |
//! | `FILLED` | a value waits in the cell for the owner | the owner: to `EMPTY`, taking it |
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
//! notifies `filled_wait`, where only the owner ever waits. The owner also leaves when its
//! deadline passes or the channel is disconnected: it takes a filled value if there is one,
//! else empties the slot (one CAS against the fill's) and, when disconnected, drains the ring.
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

use crate::ring::Ring;
use crate::sync::atomic::{AtomicU32, Ordering, fence};
use crate::sync::{Backoff, UnsafeCell};
use crate::wait::WaitQueue;
use std::mem::MaybeUninit;

const EMPTY: u32 = 0;
const WAITING: u32 = 1;
const FILLING: u32 = 2;
const CHECKING: u32 = 3;
const FILLED: u32 = 4;
/// Set on `FILLING` or `CHECKING` by a push that landed meanwhile: the mover, if its pop found
/// the ring empty, pops again instead of going back to `WAITING` (module docs).
const AGAIN: u32 = 8;

pub(crate) struct ParkedRecv<T> {
    /// The slot's state (module docs' table).
    state: AtomicU32,
    /// Initialised exactly in `FILLED` (and while the owner takes it out).
    value: UnsafeCell<MaybeUninit<T>>,
    /// The owner waits here for `FILLED` (or disconnection). Nobody else ever waits here.
    pub(super) filled_wait: WaitQueue,
}

// SAFETY: the slot moves `T`s between threads (needs `T: Send`) and never hands out `&T`
// (no `T: Sync` needed); the state machine gives the cell to one thread at a time.
unsafe impl<T: Send> Send for ParkedRecv<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for ParkedRecv<T> {}

impl<T> Drop for ParkedRecv<T> {
    fn drop(&mut self) {
        // ORDERING: `&mut self`: no other thread exists; Relaxed is enough.
        if self.state.load(Ordering::Relaxed) == FILLED {
            // SAFETY: FILLED means the cell holds a value its owner did not take; we own it now.
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
            (&raw mut (*this).filled_wait).write(WaitQueue::new());
        }
    }

    /// Claims the empty slot, straight into the owner's re-check (`CHECKING`: no fill can
    /// serve it before it is counted, module docs): the caller becomes its owner, counts itself
    /// as a waiting receiver of the ring, and calls [`ParkedRecv::park`] next.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        // ORDERING: Relaxed load: a hint that keeps a busy slot's line shared. Relaxed CAS: the
        // owner touches the cell only after acquiring a filler's `FILLED`. The previous owner's
        // take must happen before the next fill's write, and it does without us: every write
        // to the state but `take_filled`'s Release store is an RMW, so the filler's Acquire CAS
        // from `WAITING` reads the release sequence that store heads (module docs, "One chain
        // of RMWs").
        self.state.load(Ordering::Relaxed) == EMPTY
            && self.state.compare_exchange(EMPTY, CHECKING, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// The owner, counted as a waiting receiver, its slot still `CHECKING` since the claim:
    /// the handshake's fence, then one pop for itself (module docs), into `received`.
    pub(crate) fn park(&self, ring: &Ring<T>, received: &mut Option<T>) -> Request {
        // ORDERING: the owner's half of the handshake (module docs): our count before the
        // re-check's look at the ring, against a push's claim before its look at the slot.
        fence(Ordering::SeqCst);
        match self.pop_moving(ring, CHECKING) {
            Some((value, sender_waits)) => {
                // ORDERING: Relaxed: this path never touched the cell (the value came from the
                // ring), so there is nothing to publish; as an RMW the swap carries the release
                // sequence of the last `take_filled` on to the next filler ("One chain of RMWs").
                // A swap, not a store: a marking push may CAS the state concurrently, and every
                // exit from a moving state is an RMW so that the marks and the exits form one
                // chain (loom finds a mark surviving a plain store otherwise).
                self.state.swap(EMPTY, Ordering::Relaxed);
                *received = Some(value);
                Request::Popped(sender_waits)
            }
            None => Request::Waiting,
        }
    }

    /// Pops for the request in state `moving` (`FILLING` or `CHECKING`, the caller's). When the
    /// ring is empty the slot goes back to `WAITING`, unless a push marked it (`AGAIN`): then
    /// its value is ours to try, so pop again. On `Some` the slot stays `moving` (marked or not:
    /// a marking push also woke a waiting receiver, see `fill`).
    fn pop_moving(&self, ring: &Ring<T>, moving: u32) -> Option<(T, bool)> {
        loop {
            if let Some(popped) = ring.pop(true) {
                return Some(popped);
            }
            // ORDERING: Relaxed: a mover whose pop found nothing wrote no cell, so there is
            // nothing to publish; as an RMW the CAS carries the release sequence of the last
            // `take_filled` on to the next filler's Acquire CAS ("One chain of RMWs"). Relaxed
            // on failure: the swap below reads the mark again (or a later one) and acquires it.
            match self.state.compare_exchange(moving, WAITING, Ordering::Relaxed, Ordering::Relaxed) {
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
    /// in the ring on its behalf and wakes it. `Some(sender_waits)` when it did (`true`: the
    /// pop saw a waiting sender); `None` when no request was parked (or its owner was not
    /// waiting yet: its re-check sees our value), a move was in progress (marked), or another
    /// receiver took the value first. On `None` the caller wakes a receiver on `recv_wait`.
    #[inline]
    pub(crate) fn fill(&self, ring: &Ring<T>) -> Option<bool> {
        loop {
            // ORDERING: Relaxed: the look after the caller's fence (the handshake is the fences;
            // module docs); the CASes below order what they need.
            let state = self.state.load(Ordering::Relaxed);
            match state {
                // ORDERING: Acquire pairs with the Release store that made the slot `WAITING`
                // (or the `EMPTY` before the owner's claim, whose release sequence the claim
                // continues): the previous owner's take of the cell happened before our write.
                WAITING => {
                    if self
                        .state
                        .compare_exchange(WAITING, FILLING, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                    {
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
                _ if matches!(state & !AGAIN, CHECKING | FILLING) => {
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
        let (value, sender_waits) = self.pop_moving(ring, FILLING)?;
        // SAFETY: `FILLING`, set by our CAS, gives this thread the cell (empty: the previous
        // owner took its value before emptying the slot).
        self.value.with_mut(|cell| unsafe { (*cell).write(value) });
        // The owner is the receiver this push serves: it leaves the waiting receivers now.
        ring.deregister_receiver();
        // ORDERING: Release pairs with the owner's Acquire load in `poll_owner` (or `withdraw`):
        // the cell's write and the count's decrement happen before its take. A swap: a
        // marking push may CAS the state concurrently (see `park`).
        self.state.swap(FILLED, Ordering::Release);
        self.filled_wait.notify_one();
        Some(sender_waits)
    }

    /// Whether no receiver owns the slot (loom models assert it after every wait).
    #[cfg(loom)]
    pub(crate) fn is_free(&self) -> bool {
        // ORDERING: Relaxed: the models call it after joining every thread.
        self.state.load(Ordering::Relaxed) == EMPTY
    }
}
