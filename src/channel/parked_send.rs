//! The buffered flavor's parked send: one value of a waiting sender, left where a receiver's pop
//! can push it into the ring (a direct hand-off).
//!
//! Without it, a sender that finds the ring full waits for a pop to wake it and then pushes
//! itself: on a capacity-1 channel every message costs one switch to the receiver and one back
//! (on one core, or on a current-thread runtime, that is two context or task switches per
//! message). A sender that *parks* its value instead lets the receiver's pop refill the slot it
//! just freed, so the receiver's next pop finds a value and one switch moves two messages
//! (measured, capacity-1 handoff with both threads on one CPU: 52 -> 26 ms per 20 k messages).
//! The slot lives in the channel, not in the waiting sender's frame (an intrusive list of
//! waiter nodes would be a second queue to prove), so there is one: a second sender that finds
//! it taken waits the ordinary way, on `send_wait` (`chan.rs`).
//!
//! **Only blocking sends park.** A receiver completes a parked send without its sender, so an
//! async send future dropped while parked could find its value already sent. `send_async`
//! promises instead that a dropped send did not send (as tokio's `Sender::send`; flume's and
//! kanal's hand-offs do not), which a retry after a `select!` timeout relies on. (Measured with
//! async sends parking too, capacity 1 on a current-thread runtime: 5.8 -> 3.4 ms per 20 k
//! messages; the guarantee was kept. `docs/async.md`, "Cancel safety".) A blocking send has
//! no such race: its deadline and its disconnection end the wait through [`ParkedSend::withdraw`],
//! which either takes the value back or finds it sent, atomically.
//!
//! # The slot's states
//!
//! | state | meaning | who may move it, to what |
//! |---|---|---|
//! | `EMPTY` | no value | any sender: CAS to `WRITING` (it becomes the *owner*) |
//! | `WRITING` | the owner writes its value | the owner: to `FULL` |
//! | `FULL` | a value waits for room | a receiver that popped, or the owner: CAS to `MOVING` |
//! | `MOVING` | one thread pushes the value (or the owner takes it back) | it: to `TAKEN` (a receiver's push landed), `EMPTY` (the owner's push landed, or it took the value back), or back to `FULL` (the ring was full); a pop that freed room meanwhile: to `MOVING \| AGAIN` |
//! | `MOVING \| AGAIN` | as `MOVING`, and a pop freed room since the move began | the mover: as from `MOVING`, but a push that found the ring full clears the mark and pushes again |
//! | `TAKEN` | a receiver pushed the owner's value: it is sent | the owner: to `EMPTY` |
//!
//! Exactly one thread moves the value out of `FULL` (one CAS), so it is pushed once or handed
//! back to its owner once, never both. Every exit from `MOVING` is an RMW (a swap), so that the
//! marks and the exits form one chain: a mark is either seen by the mover or set after it left.
//!
//! # Why no wakeup is lost
//!
//! The owner counts itself as a waiting sender in the ring's head word before it stores `FULL`
//! (so every pop claimed later reports a waiting sender), then issues a `fence(SeqCst)` and
//! re-checks for room once, pushing its value itself if there is some. A pop that reports a
//! waiting sender issues a `fence(SeqCst)` and then looks at the slot. Whichever fence comes
//! second sees the other side's write before the first: either the owner's re-check sees the
//! pop's claim (a registered push waits for an in-flight pop instead of reporting full, see
//! `Ring::push`), or the pop sees `FULL` and pushes the value. A pop that finds `MOVING` marks
//! it (`AGAIN`, a CAS after its fence) instead of waiting for it: the thread moving the value may be
//! the owner whose re-check just found the ring full, before this pop's claim, and then this
//! pop's room is the value's only chance. A mover whose push found the ring full parks the value
//! only with a CAS from an unmarked `MOVING`; finding the mark (Acquire), it pushes again, and
//! that push sees the marking pop's room. The marking pop still wakes a sender on `send_wait`:
//! the mover may be an owner taking its value back. A push that fails because the ring is full
//! (registered: really full) puts the value back; the pops of the values that fill it each look
//! at the slot again, because the owner stays counted. (An earlier version waited for the move
//! to settle; with three threads loom could not finish exploring those waits.)
//!
//! The receiver whose push landed lowers the owner's count on its behalf, stores `TAKEN` and
//! notifies `taken_wait`, where only the owner ever waits (so a `notify_one` reaches it). The
//! owner also leaves when the channel is disconnected (its value comes back, as with any
//! failed send) or its deadline passes, taking its value back unless a receiver already took it.
//!
//! Unlike the rendezvous flavor's slot, a parked value is not yet sent: it is not counted by
//! `len`, and a receiver never takes it out directly (it moves it into the ring, whose order it
//! then keeps).

use crate::ring::{PushError, Ring};
use crate::sync::atomic::{AtomicU32, Ordering, fence};
use crate::sync::{Backoff, UnsafeCell};
use crate::wait::WaitQueue;
use std::mem::MaybeUninit;

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const FULL: u32 = 2;
const MOVING: u32 = 3;
const TAKEN: u32 = 4;
/// Set on `MOVING` by a pop that freed room while the value was being moved: the mover, if
/// its push found the ring full, pushes again instead of parking the value (module docs).
const AGAIN: u32 = 8;

pub(crate) struct ParkedSend<T> {
    /// The slot's state (module docs' table).
    state: AtomicU32,
    /// `Some` exactly in `FULL` and, until a push moves it out, in `MOVING`; otherwise `None`,
    /// or uninitialised until the first `park` (so that creating the slot needs no `T`-sized
    /// temporary on the stack, see `init_in_place`).
    value: UnsafeCell<MaybeUninit<Option<T>>>,
    /// The owner waits here for `TAKEN` (or disconnection). Nobody else ever waits here.
    pub(super) taken_wait: WaitQueue,
}

// SAFETY: the slot moves `T`s between threads (needs `T: Send`) and never hands out `&T`
// (no `T: Sync` needed); the state machine gives the cell to one thread at a time.
unsafe impl<T: Send> Send for ParkedSend<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for ParkedSend<T> {}

impl<T> Drop for ParkedSend<T> {
    fn drop(&mut self) {
        // ORDERING: `&mut self`: no other thread exists; Relaxed is enough.
        let state = self.state.load(Ordering::Relaxed) & !AGAIN;
        if state == FULL || state == MOVING {
            // SAFETY: FULL and MOVING mean `park` initialised the cell (with the value, or with
            // `None` once a push moved it out); we own it now.
            self.value.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
    }
}

/// What the owner learns about its parked value. `Back` puts the value back in the owner's
/// `pending` (an out-parameter, not a payload: in unoptimised builds every frame an enum with a
/// `T` passes through holds one, and a parked send's end passes through five).
pub(crate) enum Parked {
    /// A receiver pushed it (and lowered the owner's count).
    Sent,
    /// The owner pushed it itself. `true`: the push saw a waiting receiver (notify it).
    Pushed(bool),
    /// Still parked.
    Waiting,
    /// Handed back to the owner, into its `pending` (the ring is closed, or the owner gave up).
    Back,
}

impl<T> ParkedSend<T> {
    /// Initialises an empty slot at `this`, field by field: a `ParkedSend` value (even one
    /// holding `None`) would make a `T`-sized temporary on the stack in debug builds.
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
            (&raw mut (*this).taken_wait).write(WaitQueue::new());
        }
    }

    /// Claims the empty slot: the caller becomes its owner and must [`ParkedSend::park`] next.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        // ORDERING: Relaxed load: a hint that keeps a busy slot's line shared. Acquire on the
        // CAS pairs with the Release store of `EMPTY` by the previous owner (or the thread that
        // emptied the cell for it): the cell is free and its last access happened before ours.
        self.state.load(Ordering::Relaxed) == EMPTY
            && self.state.compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// The owner parks `value` (moving it out) and re-checks `ring` for room once, after the
    /// handshake's fence (module docs). The caller has counted itself as a waiting sender of
    /// `ring` and keeps that count until the returned state (or a later one) says otherwise:
    /// `Sent` means a receiver lowered it, every other end leaves it to the owner. `Back` puts
    /// the value back in `value`.
    pub(crate) fn park(&self, value: &mut Option<T>, ring: &Ring<T>) -> Parked {
        // SAFETY: state `WRITING`, set by our claim, gives this thread the cell. It holds `None`
        // or nothing yet (uninitialised), so overwriting it drops nothing.
        self.value.with_mut(|cell| unsafe { (*cell).write(value.take()) });
        // ORDERING: Release pairs with the Acquire CAS of whoever moves the value: it sees it.
        // (The fence below does not do it in C11: a fence releases only the stores after it.
        // loom cannot observe a weakening: its SeqCst fences synchronise both ways, and every
        // mover fences before its CAS.)
        self.state.store(FULL, Ordering::Release);
        // ORDERING: the owner's half of the handshake (module docs): our `FULL` store before
        // the re-check's look at the ring, against a pop's claim before its look at the slot.
        fence(Ordering::SeqCst);
        self.owner_push(ring, value)
    }

    /// The owner's re-check: pushes its parked value itself if the ring has room (`Back`: into
    /// `pending`).
    fn owner_push(&self, ring: &Ring<T>, pending: &mut Option<T>) -> Parked {
        // ORDERING: Acquire pairs with the Release store of `FULL`, ours or a receiver's that
        // put the value back: its last write of the cell happened before our access. (A
        // receiver's put-back between our park and this CAS takes three preemptions:
        // `a_value_a_receiver_parked_again_is_pushed_by_its_owner` runs at that bound and
        // kills the Relaxed mutant.)
        if self.state.compare_exchange(FULL, MOVING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            // A receiver is moving it: it pushes it (and notifies us) or parks it again
            // because the ring is full, which the pops that empty it will see.
            return self.poll_owner();
        }
        match self.push_moving(ring) {
            Ok(receiver_waits) => {
                // ORDERING: Release pairs with the next claimer's Acquire CAS (`try_claim`). A
                // swap, not a store: a marking pop may CAS the state concurrently, and every exit
                // from `MOVING` is an RMW so that the marks and the exits form one chain (loom
                // finds a mark surviving a plain store otherwise).
                self.state.swap(EMPTY, Ordering::Release);
                Parked::Pushed(receiver_waits)
            }
            // Parked again by `push_moving`.
            Err(PushError::Full) => Parked::Waiting,
            // Still ours (`MOVING`), and a failed push left the value in the cell.
            Err(PushError::Closed) => {
                self.take_back_moving(pending);
                Parked::Back
            }
        }
    }

    /// Pushes the value in state `MOVING` (the caller's) into `ring`. When the ring is full the
    /// value is parked again (`FULL`), unless a pop marked the move (`AGAIN`): then the room it
    /// freed is ours to try, so push again. `Closed` leaves the slot `MOVING`, the value in it.
    fn push_moving(&self, ring: &Ring<T>) -> Result<bool, PushError> {
        loop {
            // SAFETY: state `MOVING` (set by the caller's CAS from FULL, kept since) gives this
            // thread the cell, initialised by the `park` that made it FULL.
            match self.value.with_mut(|cell| ring.push(unsafe { (*cell).assume_init_mut() }, true)) {
                Err(PushError::Full) => {
                    // ORDERING: Release pairs with the Acquire CAS of the next mover (the cell's
                    // write happened before). Relaxed on failure: the swap below reads the mark
                    // again (or a later one) and acquires it.
                    match self.state.compare_exchange(MOVING, FULL, Ordering::Release, Ordering::Relaxed) {
                        Ok(_) => return Err(PushError::Full),
                        Err(marked) => {
                            debug_assert_eq!(marked, MOVING | AGAIN);
                            // ORDERING: Acquire pairs with the marking pops' fences (each pop's
                            // SeqCst fence precedes its marking CAS, which this swap reads or
                            // follows in the RMW chain): their pops happen before our next push,
                            // which sees their room. A swap:
                            // a store could hide a mark set since. loom's models do not observe
                            // a weakening: a marking pop needs a mover whose push found the ring
                            // full at the same moment, beyond the models' two preemptions.
                            self.state.swap(MOVING, Ordering::Acquire);
                        }
                    }
                }
                pushed => return pushed,
            }
        }
    }

    /// The owner looks at its value: `Sent` (and the slot emptied for the next owner) or
    /// `Waiting`. Loads only, unless a receiver has pushed the value.
    #[inline]
    pub(crate) fn poll_owner(&self) -> Parked {
        // ORDERING: Acquire pairs with the receiver's Release store of `TAKEN`: its push and
        // its count decrement happened before we report the send done.
        if self.state.load(Ordering::Acquire) == TAKEN {
            // ORDERING: Release pairs with the next claimer's Acquire CAS (`try_claim`): the
            // receiver's read of the cell (acquired just above) happens before the claimer's
            // write. loom's models do not observe it when the claimer is this thread (program
            // order) or found the ring full through the slot the receiver pushed into (its
            // stamp orders it); a claimer whose failed push looked at another slot needs a
            // capacity-2 model with three threads, which loom could not finish in 10 minutes.
            self.state.store(EMPTY, Ordering::Release);
            return Parked::Sent;
        }
        Parked::Waiting
    }

    /// The owner gives up (disconnected, timed out, dropped): takes its value back into
    /// `pending`, or learns that a receiver already pushed it (`Sent`). Waits out a receiver's
    /// move in progress.
    pub(crate) fn withdraw(&self, pending: &mut Option<T>) -> Parked {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire on success pairs with the Release store of `FULL`: ours (program
            // order already) or a receiver's put-back (as in `owner_push`; loom's models reach a
            // withdraw after a put-back only beyond their preemption bound). Relaxed on failure:
            // `TAKEN` goes to `poll_owner`, whose own Acquire load pairs with the receiver, and a
            // move in progress is only waited out.
            match self.state.compare_exchange(FULL, MOVING, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    self.take_back_moving(pending);
                    return Parked::Back;
                }
                Err(TAKEN) => return self.poll_owner(),
                // A receiver is moving it: a few instructions.
                Err(state) => {
                    debug_assert_eq!(state & !AGAIN, MOVING, "the owner's slot is FULL, MOVING or TAKEN");
                    backoff.snooze();
                }
            }
        }
    }

    /// Moves the value out of the cell in state `MOVING` (ours) into `pending` and empties the
    /// slot (a mark does not matter: its pop woke a waiting sender for its room, see
    /// `hand_off`).
    fn take_back_moving(&self, pending: &mut Option<T>) {
        // SAFETY: state `MOVING`, set by our CAS, gives this thread the cell, which holds the
        // value (only a successful push moves it out, and we did not push).
        self.value.with_mut(|cell| *pending = unsafe { (*cell).assume_init_mut().take() });
        // ORDERING: Release pairs with the next claimer's Acquire CAS (`try_claim`): our take
        // of the value happens before its write (as in `poll_owner`; a withdraw followed by
        // another thread's claim is beyond the models' bound). A swap: a marking pop may CAS
        // the state concurrently (see `owner_push`).
        self.state.swap(EMPTY, Ordering::Release);
        assert!(pending.is_some(), "a parked value is in its cell until it is pushed");
    }

    /// A receiver whose pop saw a waiting sender, after the handshake's fence (module docs):
    /// pushes the parked value into `ring` if there is one, lowers the owner's count in the
    /// ring on its behalf and wakes it. `Some(receiver_waits)` when it did (`true`: the push
    /// saw a waiting receiver); `None` when no value was parked (or its owner was writing it:
    /// its re-check finds our room), a move was in progress (marked), or the ring was full or
    /// closed (the value is parked again). On `None` the caller wakes a sender on `send_wait`.
    #[inline]
    pub(crate) fn hand_off(&self, ring: &Ring<T>) -> Option<bool> {
        loop {
            // ORDERING: Relaxed: the look after the caller's fence (the handshake is the fences;
            // module docs); the CASes below order what they need.
            let state = self.state.load(Ordering::Relaxed);
            match state {
                // ORDERING: Acquire on success pairs with the Release store of `FULL`: the
                // owner's write of the cell happened before our read.
                FULL => {
                    if self.state.compare_exchange(FULL, MOVING, Ordering::Acquire, Ordering::Relaxed).is_ok()
                    {
                        break;
                    }
                }
                // The owner (re-checking) or another receiver is moving it. It may be the
                // owner's re-check that found the ring full just before our pop: then our room
                // is its only chance. Mark the move, so that a mover whose push found the ring
                // full pushes again rather than park the value (`push_moving`); the caller
                // still wakes a waiting sender (the mover may be giving the value back).
                // ORDERING: Relaxed: the caller's `fence(SeqCst)` (`settle`), after our pop and
                // before this CAS, is a release fence; the mover's Acquire swap that consumes the
                // mark (`push_moving`) synchronises with it, so our pop (its room) happens before
                // the mover's next push. An RMW even when the mark is already set, so that the
                // mover's next look reads ours. (Unobserved by loom's models, as that swap.)
                _ if state & !AGAIN == MOVING => {
                    if self
                        .state
                        .compare_exchange(state, MOVING | AGAIN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                    {
                        return None;
                    }
                }
                _ => return None,
            }
        }
        match self.push_moving(ring) {
            Ok(receiver_waits) => {
                // The owner is the sender this pop serves: it leaves the waiting senders now.
                ring.deregister_sender();
                // ORDERING: Release pairs with the owner's Acquire load in `poll_owner`: the
                // push (our read of the cell) and the count's decrement happen before it
                // reports the send done and reuses the slot. A swap: a marking pop may CAS the
                // state concurrently (see `owner_push`). loom cannot observe a weakening: the
                // owner learns `TAKEN` after `taken_wait`'s wakeup or fence, which loom's
                // SeqCst fences and condvar make a two-way synchronisation.
                self.state.swap(TAKEN, Ordering::Release);
                self.taken_wait.notify_one();
                Some(receiver_waits)
            }
            Err(PushError::Full) => None,
            Err(PushError::Closed) => {
                // ORDERING: Release pairs with the Acquire CAS of the next mover (the owner's
                // withdraw: the channel is closed). A swap: a marking pop may CAS the state
                // concurrently (see `owner_push`). Unobserved by loom's models: a push that
                // finds the ring closed while a receiver moves the value needs a disconnection
                // racing that move, beyond their bound.
                self.state.swap(FULL, Ordering::Release);
                None
            }
        }
    }

    /// Whether no sender owns the slot (loom models assert it after every wait).
    #[cfg(loom)]
    pub(crate) fn is_free(&self) -> bool {
        // ORDERING: Relaxed: the models call it after joining every thread.
        self.state.load(Ordering::Relaxed) == EMPTY
    }
}
