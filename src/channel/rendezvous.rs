//! The zero-capacity flavor: one hand-over slot, and a send completes only when a receiver has
//! taken the value (as std's `sync_channel(0)` and crossbeam's `bounded(0)`).
//!
//! # The slot's states
//!
//! One `AtomicU64` says who may touch the value cell: its low bits hold the state (its *tag*),
//! the bits above it a generation, which every claim increments (see "Why a generation"):
//!
//! | state | meaning | who may move it, to what |
//! |---|---|---|
//! | `EMPTY` | no value | any sender: CAS to `WRITING` with the next generation (it becomes the slot's *owner*) |
//! | `WRITING` | the owner writes (or takes back) the value | the owner: to `FULL` or `EMPTY` |
//! | `FULL` | a value waits | any receiver: CAS to `READING`; the owner: CAS to `WRITING` (retract) |
//! | `LEFT` | a value waits; its sender (a `try_send`) has returned | any receiver: CAS to `READING`; that sender, before returning: CAS to `WRITING` (retract) |
//! | `READING` | a receiver moves the value out | that receiver: to `TAKEN` (from `FULL`) or `EMPTY` (from `LEFT`) |
//! | `TAKEN` | the owner's value was received | the owner: to `EMPTY` |
//!
//! The owner's retract and a receiver's take race on one CAS from `FULL` (or `LEFT`), so
//! exactly one wins: a value is received, or handed back to its sender inside the error, never
//! both. A value `LEFT` by a `try_send` has no owner waiting for it, so its receiver releases
//! the slot itself.
//!
//! # Waiting
//!
//! Senders wait on the channel's `send_wait` for `EMPTY`; receivers on `recv_wait` for `FULL`
//! or `LEFT`; the owner on `taken_wait` for `TAKEN`.
//!
//! # `try_send` never waits
//!
//! `try_send` hands over only to a receiver blocked in `recv` (counted in `waiting_receivers`;
//! pending `recv_async` futures are not counted, see `poll_recv`), and returns at once: it
//! claims the slot, stores its value as `LEFT`, and, after a `fence(SeqCst)`, reads the count
//! again. If it is zero, the sender retracts the value (`Full`); otherwise it returns `Ok`, and
//! one of the counted receivers is certain to take the value:
//!
//! - a receiver that leaves `recv` without a value (timeout, disconnection) first uncounts
//!   itself, then issues a `fence(SeqCst)`, then looks at the slot once more. The two fences
//!   form a Dekker handshake: either the sender saw the decrement (and retracted), or the
//!   receiver sees the value (and takes it);
//! - a receiver that leaves with a value uncounts itself *before* its Release store that frees
//!   the slot (`TAKEN`, or `EMPTY` from `LEFT`). A `try_send` can claim the slot only after
//!   acquiring that store, so it never counts a receiver that has already taken its value.
//!
//! So `try_send` returning `Ok` means the value will be received, as `send` returning means it
//! was: by a receiver that was waiting, unless another receiver (a `try_recv`, a `recv_async`)
//! takes it first.
//!
//! # Closing
//!
//! A receiver that sees the channel disconnected reports `Disconnected` only past every value
//! that can still appear in the slot, so that no receive gets a value after one got
//! `Disconnected` (found by review: a sender that claimed the slot just before a `close` and
//! placed its value just after was received after a `Disconnected`, and its send returned
//! `Ok`). Another Dekker handshake: a sender that claimed the slot issues a `fence(SeqCst)` and
//! looks at the flag once more, and frees the slot unused (`Disconnected`) if it is up; a
//! receiver that saw the flag issues a `fence(SeqCst)` and then looks at the slot, waiting out a
//! `WRITING` (a sender between its claim and its placing or freeing, or an owner taking its
//! value back: a few instructions). Whichever fence comes second sees the other side's write:
//! the sender sees the flag and places nothing, or the receiver sees its claim and waits for the
//! value (then takes it: a value placed before the receiver's look is drained, as the other
//! flavors drain what got in).
//!
//! # A timed send that runs out of time
//!
//! An owner whose deadline passes with its value still `FULL` does what `try_send` does before
//! it takes the value back: it re-tags the value `LEFT`, issues the fence, and leaves it if a
//! receiver is blocked in `recv` (counted), which then takes it on the terms above. So
//! `send_timeout(v, Duration::ZERO)` with a receiver blocked in `recv` succeeds, as crossbeam's
//! does, and a timed send is never weaker than a `try_send` (found by review: it took the value
//! back, because the blocked receiver could not wake within the deadline).
//!
//! # Why a generation
//!
//! A value `LEFT` is taken by a receiver that then frees the slot itself, while its sender may
//! still be on its way to the retract CAS (it read a count of zero after the receiver's
//! decrement). Meanwhile another `try_send` can claim the freed slot and leave *its* value:
//! with a bare `LEFT` the first sender's CAS would succeed on the second sender's value (found
//! by review: one value reported both sent and back as `Full`, the other lost). Every claim
//! therefore increments the generation above the tag, every later transition keeps it, and a
//! sender's retract is a CAS from the exact word it stored, which no later hand-over can
//! reproduce (a 61-bit generation does not wrap). An owner that waits in place (`FULL`) holds
//! the slot until it frees it, so nobody else can claim in between, and reads its generation
//! from the state word when it needs it.
//!
//! # A note on loom
//!
//! loom models `fence(SeqCst)` as a two-way synchronisation through a global clock, stronger
//! than C++/Rust's fences. Every hand-over here is bracketed by the waiting layer's SeqCst
//! fences (a notify follows each state change), so loom cannot observe weakening the
//! Acquire/Release pairs on `state` that order the cell's reads and writes (the ordering
//! mutation tool confirms it). They are kept, each justified by the C++ argument in its
//! comment: the cell must not depend on fences that exist for a different purpose.

use super::chan::Chan;
use super::chan_async::{RecvWait, SendWait};
use super::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, ready_or_empty,
};
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use crate::sync::{Backoff, UnsafeCell};
use crate::wait::WaitQueue;
use std::mem::MaybeUninit;
use std::task::{Poll, Waker};
use std::time::Instant;

// The tags (module docs' table).
const EMPTY: u64 = 0;
const WRITING: u64 = 1;
const FULL: u64 = 2;
const READING: u64 = 3;
const TAKEN: u64 = 4;
const LEFT: u64 = 5;
/// The tag's bits in the state word; the generation is above them.
const TAG_MASK: u64 = 0b111;
/// One claim's increment of the generation.
const ONE_CLAIM: u64 = TAG_MASK + 1;

/// The tag of a state word.
#[inline]
fn tag(word: u64) -> u64 {
    word & TAG_MASK
}

/// `word` with its tag replaced by `tag` (the generation kept).
#[inline]
fn retag(word: u64, tag: u64) -> u64 {
    (word & !TAG_MASK) | tag
}

pub(crate) struct Rendezvous<T> {
    /// The slot's state: tag and generation (module docs).
    state: AtomicU64,
    /// Initialised exactly in `FULL`, `LEFT` and `READING` (and transiently in `WRITING`).
    value: UnsafeCell<MaybeUninit<T>>,
    /// Receivers inside `recv` that have not taken a value: a `try_send` hands over only while
    /// this is non-zero (module docs, "`try_send` never waits").
    waiting_receivers: AtomicUsize,
    /// The owner waits here for `TAKEN` (or for its reason to give up).
    taken_wait: WaitQueue,
}

// SAFETY: the slot moves `T`s between threads (needs `T: Send`) and never hands out `&T`
// (no `T: Sync` needed); the state machine gives the cell to one thread at a time.
unsafe impl<T: Send> Send for Rendezvous<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for Rendezvous<T> {}

/// Why the owner stopped waiting for its value to be taken.
enum GiveUp {
    Timeout,
    Disconnected,
}

impl<T> Rendezvous<T> {
    /// A new, empty slot, built in place on the heap: a `Rendezvous` value would make a
    /// `T`-sized temporary on the stack in debug builds (a stack overflow for large `T`).
    pub(crate) fn boxed() -> Box<Self> {
        let mut slot = Box::<Self>::new_uninit();
        let raw = slot.as_mut_ptr();
        // SAFETY: `raw` points to the uninitialised block we own; each field is initialised
        // once through raw pointers (no reference to uninitialised memory is made); the value
        // cell stays uninitialised, which `MaybeUninit` allows.
        unsafe {
            (&raw mut (*raw).state).write(AtomicU64::new(EMPTY));
            crate::sync::init_uninit_cell(&raw mut (*raw).value);
            (&raw mut (*raw).waiting_receivers).write(AtomicUsize::new(0));
            (&raw mut (*raw).taken_wait).write(WaitQueue::new());
        }
        // SAFETY: every field is initialised above.
        unsafe { slot.assume_init() }
    }

    pub(crate) fn notify_disconnected(&self) {
        self.taken_wait.notify_all();
    }

    /// Claims the empty slot for the calling sender: returns the state word it set (`WRITING`,
    /// the next generation), which the owner's later transitions keep.
    fn try_claim(&self) -> Option<u64> {
        // ORDERING: Relaxed: only the expected word of the CAS below, which acquires.
        let mut word = self.state.load(Ordering::Relaxed);
        // Retried while the slot is empty: a whole hand-over between our load and our CAS
        // (another claim, a value taken, the slot freed) must not make us report it busy.
        while tag(word) == EMPTY {
            let claimed = retag(word.wrapping_add(ONE_CLAIM), WRITING);
            // ORDERING: Acquire pairs with the Release store of `EMPTY` by whoever freed the
            // slot (an owner that acquired the receiver's read of the cell through TAKEN, a
            // receiver of a `LEFT` value, a retracting sender): the cell is free. Relaxed on
            // failure: only the next expected word. loom cannot observe a weakening here
            // (module docs).
            match self.state.compare_exchange(word, claimed, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(claimed),
                Err(current) => word = current,
            }
        }
        None
    }

    /// The state word of a slot the caller owns (claimed, not yet freed): nobody else can claim
    /// meanwhile, so its generation is the owner's; the tag is whatever it is now.
    fn owned_word(&self) -> u64 {
        // ORDERING: Relaxed: only the generation is used, which no other thread changes while
        // we own the slot.
        self.state.load(Ordering::Relaxed)
    }

    pub(crate) fn try_send(&self, chan: &Chan<T>, value: T) -> Result<(), TrySendError<T>> {
        if chan.is_disconnected() {
            return Err(TrySendError::Disconnected(value));
        }
        // ORDERING: Relaxed: a hint only; the check after placing the value is the one that
        // counts (module docs, "`try_send` never waits").
        if self.waiting_receivers.load(Ordering::Relaxed) == 0 {
            return Err(TrySendError::Full(value));
        }
        let Some(claimed) = self.try_claim() else {
            return Err(TrySendError::Full(value));
        };
        if !self.still_open_after_claim(chan, claimed) {
            return Err(TrySendError::Disconnected(value));
        }
        self.place(chan, value, retag(claimed, LEFT));
        match self.leave_to_counted_receiver(chan, claimed) {
            None => Ok(()),
            Some(value) => Err(TrySendError::Full(value)),
        }
    }

    /// With our value `LEFT` (state `retag(claimed, LEFT)`, already announced): leaves it to a
    /// receiver counted in `recv`, or, when none is, takes it back (module docs, "`try_send`
    /// never waits"). `None`: left (a counted receiver will take it) or already taken;
    /// `Some`: the value, not sent, and the slot freed.
    fn leave_to_counted_receiver(&self, chan: &Chan<T>, claimed: u64) -> Option<T> {
        let left = retag(claimed, LEFT);
        // ORDERING: the sender's half of the handshake with a receiver giving up (`recv`):
        // orders our LEFT store before the count load below.
        fence(Ordering::SeqCst);
        // ORDERING: Relaxed after the fence; a counted receiver's decrement is either seen here
        // or its fence comes after ours (and it sees LEFT). A receiver that took an earlier
        // value decremented before freeing the slot, which our Acquire claim acquired.
        if self.waiting_receivers.load(Ordering::Relaxed) != 0 {
            return None;
        }
        // Nobody is left to take it: take it back, unless a receiver got it first. The CAS is
        // from the exact word we stored (module docs, "Why a generation"): it fails once a
        // receiver took our value, even if the slot has been claimed and `LEFT` again since.
        // ORDERING: Relaxed: on success only our own write is in the cell; the CAS only
        // decides between us and a receiver's CAS from our word.
        if self.state.compare_exchange(left, claimed, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return None; // a receiver took it (and freed the slot)
        }
        // SAFETY: winning the CAS from our `LEFT` word gives us the cell back; it holds our
        // value.
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        let value = self.value.with(|cell| unsafe { cell.cast::<T>().read() });
        self.release_slot(chan, claimed);
        Some(value)
    }

    pub(crate) fn send(
        &self,
        chan: &Chan<T>,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let claimed = chan.send_wait.wait_until(deadline, || {
            if chan.is_disconnected() { Some(None) } else { self.try_claim().map(Some) }
        });
        let claimed = match claimed {
            None => return Err(SendTimeoutError::Timeout(value)),
            Some(None) => return Err(SendTimeoutError::Disconnected(value)),
            Some(Some(claimed)) => claimed,
        };
        if !self.still_open_after_claim(chan, claimed) {
            return Err(SendTimeoutError::Disconnected(value));
        }
        self.hand_over(chan, value, deadline, claimed).map_err(|(reason, value)| match reason {
            GiveUp::Disconnected => SendTimeoutError::Disconnected(value),
            GiveUp::Timeout => SendTimeoutError::Timeout(value),
        })
    }

    /// As the owner (state `claimed`, `WRITING`): place `value`, wait until it is taken or a
    /// reason to give up appears, and then either finish or take the value back.
    fn hand_over(
        &self,
        chan: &Chan<T>,
        value: T,
        deadline: Option<Instant>,
        claimed: u64,
    ) -> Result<(), (GiveUp, T)> {
        self.place(chan, value, retag(claimed, FULL));

        let outcome = self.taken_wait.wait_until(deadline, || match self.taken_or_disconnected(chan) {
            Some(true) => Some(None),
            Some(false) => Some(Some(GiveUp::Disconnected)),
            None => None,
        });
        let give_up = match outcome {
            Some(None) => {
                self.release_slot(chan, claimed); // the receiver's read was acquired through TAKEN
                return Ok(());
            }
            Some(Some(reason)) => reason,
            None => {
                // Out of time: a receiver blocked in `recv` still gets it (module docs, "A timed
                // send that runs out of time").
                return match self.leave_or_retract(chan, claimed) {
                    Some(value) => Err((GiveUp::Timeout, value)),
                    None => Ok(()),
                };
            }
        };
        match self.retract(chan, claimed) {
            Some(value) => Err((give_up, value)),
            None => Ok(()),
        }
    }

    /// After a claim (`claimed`, `WRITING`): the sender's half of the close handshake (module
    /// docs, "Closing"). `false`: the channel is disconnected, and the slot is free again.
    fn still_open_after_claim(&self, chan: &Chan<T>, claimed: u64) -> bool {
        // ORDERING: orders our claim (the CAS to WRITING) before the flag's load below; pairs
        // with the fence of a receiver that saw the flag (`take_or_disconnected`) before its
        // look at the slot: either we see the flag here, or it sees our claim.
        fence(Ordering::SeqCst);
        if chan.is_disconnected() {
            self.release_slot(chan, claimed);
            return false;
        }
        true
    }

    /// As the owner whose deadline passed (value `FULL`): leaves the value to a receiver
    /// blocked in `recv` as `try_send` would, else takes it back. `None`: delivered (or left
    /// to a counted receiver, which will take it); `Some`: the value, not sent.
    fn leave_or_retract(&self, chan: &Chan<T>, claimed: u64) -> Option<T> {
        let left = retag(claimed, LEFT);
        // ORDERING: Relaxed: only our own write is in the cell (published by the FULL store);
        // the CAS only decides between us and a receiver's CAS from FULL. A receiver taking
        // the value from LEFT acquires it through this word's modification order (its CAS
        // reads our RMW, which continues the release sequence of the FULL store).
        if self
            .state
            .compare_exchange(retag(claimed, FULL), left, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            // A receiver won the race for the value: it was delivered.
            return self.retract(chan, claimed);
        }
        // From here on as `try_send` after its LEFT store. The value was already announced
        // (`place`); a second notify costs nothing on this path and wakes a counted receiver
        // the first one may not have reached.
        chan.recv_wait.notify_one();
        self.leave_to_counted_receiver(chan, claimed)
    }

    /// As the owner, with the value placed: takes it back, or, when a receiver won the race
    /// for it, waits for that receiver to finish reading (a bounded wait: the receiver is
    /// between its CAS and its `TAKEN` store, moving the value out) and completes the send.
    /// `None` means "delivered".
    /// `claimed`: the owner's word (its generation).
    fn retract(&self, chan: &Chan<T>, claimed: u64) -> Option<T> {
        // ORDERING: Relaxed: only our own write is in the cell, nothing to acquire from
        // others; the CAS only decides between us and a receiver's CAS from FULL.
        let retracted = self.state.compare_exchange(
            retag(claimed, FULL),
            retag(claimed, WRITING),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if retracted.is_ok() {
            // SAFETY: winning the CAS from FULL gives the owner the cell back; it holds the
            // value we wrote.
            // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
            let value = self.value.with(|cell| unsafe { cell.cast::<T>().read() });
            self.release_slot(chan, claimed);
            return Some(value);
        }
        // A receiver is reading our value: it was delivered. Wait (briefly) for TAKEN.
        self.taken_wait.wait_until(None, || {
            // ORDERING: Acquire, as in `hand_over`'s wait (loom cannot observe it either).
            (tag(self.state.load(Ordering::Acquire)) == TAKEN).then_some(())
        });
        self.release_slot(chan, claimed); // the receiver's read was acquired through TAKEN
        None
    }

    /// As the owner (state `WRITING`): writes the value and publishes it as `state` (tag `FULL`
    /// when we wait for it to be taken, `LEFT` when we do not; our generation).
    fn place(&self, chan: &Chan<T>, value: T, state: u64) {
        // SAFETY: state `WRITING`, set by our claim, gives this thread the cell; it is
        // uninitialised (the previous value was moved out before `TAKEN`/`EMPTY`).
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        self.value.with_mut(|cell| unsafe { cell.cast::<T>().write(value) });
        // ORDERING: Release publishes the value to the receiver's Acquire CAS in `try_take`.
        self.state.store(state, Ordering::Release);
        chan.recv_wait.notify_one();
    }

    /// Frees the slot (state `WRITING` or `READING`, the cell already emptied by this thread)
    /// for the next sender; `word`: the current state word (its generation is kept).
    fn release_slot(&self, chan: &Chan<T>, word: u64) {
        // ORDERING: Release: our read of the cell (and, for a counted receiver, its decrement
        // of `waiting_receivers`) happens before the next owner's Acquire claim. loom cannot
        // observe a weakening of the cell's part (module docs).
        self.state.store(retag(word, EMPTY), Ordering::Release);
        chan.send_wait.notify_one();
    }

    /// The owner's wait condition: `Some(true)` when the value was taken, `Some(false)` when
    /// the channel disconnected first.
    fn taken_or_disconnected(&self, chan: &Chan<T>) -> Option<bool> {
        // ORDERING: Acquire pairs with the receiver's Release store of `TAKEN`: its read of the
        // cell is done before the cell is reused. loom cannot observe a weakening here.
        if tag(self.state.load(Ordering::Acquire)) == TAKEN {
            Some(true)
        } else if chan.is_disconnected() {
            Some(false)
        } else {
            None
        }
    }

    /// Takes a waiting value, if any, into `received` (a `None` the caller owns; an
    /// out-parameter, so that in unoptimised builds no frame on the way back holds a copy of a
    /// large value). A `counted` receiver (one inside `recv`) uncounts itself when it gets the
    /// value, before it frees the slot (module docs, "`try_send` never waits").
    fn try_take(&self, chan: &Chan<T>, counted: bool, received: &mut Option<T>) -> bool {
        // ORDERING: Relaxed: only the expected word of the CAS below, which acquires.
        let word = self.state.load(Ordering::Relaxed);
        let state = tag(word);
        if state != FULL && state != LEFT {
            return false;
        }
        // ORDERING: Acquire pairs with the sender's Release store of FULL or LEFT: the value is
        // written. A failed CAS means another receiver (or the sender's retract) won.
        let taken =
            self.state.compare_exchange(word, retag(word, READING), Ordering::Acquire, Ordering::Relaxed);
        if taken.is_err() {
            return false;
        }
        // SAFETY: winning the CAS from FULL or LEFT gives this receiver the cell, which holds
        // the sender's value, until we store TAKEN or EMPTY.
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        self.value.with(|cell| *received = Some(unsafe { cell.cast::<T>().read() }));
        if counted {
            // ORDERING: Relaxed, ordered before the Release store below, through which the next
            // `try_send` (claiming the slot with Acquire) sees that we no longer wait.
            self.waiting_receivers.fetch_sub(1, Ordering::Relaxed);
        }
        if state == LEFT {
            // Its sender has returned: nobody waits for TAKEN, we free the slot ourselves.
            self.release_slot(chan, word);
        } else {
            // ORDERING: Release: our read of the cell happens before the owner reuses it. loom
            // cannot observe a weakening here (module docs).
            self.state.store(retag(word, TAKEN), Ordering::Release);
            self.taken_wait.notify_one();
        }
        true
    }

    pub(crate) fn try_recv(&self, chan: &Chan<T>) -> Result<T, TryRecvError> {
        let mut received = None;
        match self.take_or_disconnected(chan, false, &mut received) {
            Ok(()) => Ok(received.expect("a receive that succeeded has its value")),
            Err(error) => Err(error),
        }
    }

    /// `try_recv` into `received` (as `try_take`), for a receiver that may be `counted` in
    /// `waiting_receivers`.
    fn take_or_disconnected(
        &self,
        chan: &Chan<T>,
        counted: bool,
        received: &mut Option<T>,
    ) -> Result<(), TryRecvError> {
        if self.try_take(chan, counted, received) {
            return Ok(());
        }
        if chan.is_disconnected() {
            // A sender inside `send` keeps its handle alive. A value a `try_send` left before its
            // sender dropped is published by the disconnection (the senders' AcqRel count and
            // the flag's Release, which our Acquire load read): one more look takes it if the
            // first missed it, and covers a receiver-side disconnect.
            // ORDERING: the receiver's half of the close handshake (module docs, "Closing"):
            // pairs with the fence in `still_open_after_claim`. A sender that did not see the
            // flag claimed before that fence, and our look below sees its claim.
            fence(Ordering::SeqCst);
            // A sender placing its value (or freeing the slot unused), or an owner taking its
            // value back: wait for it to finish, a few instructions, so that no value appears
            // after we report `Disconnected`.
            let backoff = Backoff::new();
            // ORDERING: Relaxed: the tag only; `try_take`'s CAS acquires the value.
            while tag(self.state.load(Ordering::Relaxed)) == WRITING {
                backoff.snooze();
            }
            return if self.try_take(chan, counted, received) {
                Ok(())
            } else {
                Err(TryRecvError::Disconnected)
            };
        }
        Err(TryRecvError::Empty)
    }

    pub(crate) fn recv(&self, chan: &Chan<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        // ORDERING: Relaxed: `try_send` reads it as a hint first; what must be ordered is our
        // leaving (in `try_take`, or the fence below), not our arrival.
        self.waiting_receivers.fetch_add(1, Ordering::Relaxed);
        // The value comes back through `received`, not through the waiting layer's result (as
        // the buffered flavor's, `Chan::recv_wait_counted`).
        let mut received = None;
        let outcome = chan.recv_wait.wait_until(deadline, || {
            match self.take_or_disconnected(chan, true, &mut received) {
                Ok(()) => Some(Ok(())),
                Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
                Err(TryRecvError::Empty) => None,
            }
        });
        let error = match outcome {
            // `try_take` uncounted us.
            Some(Ok(())) => return Ok(received.expect("a receive that succeeded has its value")),
            Some(Err(error)) => error,
            None => RecvTimeoutError::Timeout,
        };
        // Leaving without a value. A `try_send` that counted us may have placed its value and
        // returned: uncount ourselves, then look at the slot once more.
        // ORDERING: Relaxed; the fence below orders it before that look.
        self.waiting_receivers.fetch_sub(1, Ordering::Relaxed);
        // ORDERING: pairs with the fence in `try_send` (after its LEFT store, before its count
        // load): either it sees our decrement and takes its value back, or we see LEFT here.
        fence(Ordering::SeqCst);
        if self.try_take(chan, false, &mut received) {
            return Ok(received.expect("a value taken is in `received`"));
        }
        Err(error)
    }
}

/// The async operations (see `channel/chan_async.rs`): the same state machine, with the
/// waits turned into polls.
impl<T> Rendezvous<T> {
    /// `send_async`: claim the slot (waiting on `send_wait`), place the value, then wait for a
    /// receiver to take it (on `taken_wait`). `wait.owning` says which phase we are in.
    pub(crate) fn poll_send(
        &self,
        chan: &Chan<T>,
        value: &mut Option<T>,
        wait: &mut SendWait,
        waker: &Waker,
    ) -> Poll<Result<(), SendError<T>>> {
        // A future polled again after it completed: panic before claiming the slot, which
        // would leave it `WRITING` with no value and no owner to release it (every later send,
        // and this future's own drop, would then wait forever).
        assert!(wait.owning || value.is_some(), "a send future polled after it completed");
        if !wait.owning {
            let claimed = chan.send_wait.poll_until(&mut wait.slot, waker, || {
                if chan.is_disconnected() { Some(None) } else { self.try_claim().map(Some) }
            });
            let claimed = match claimed {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Err(SendError(take_value(value)))),
                Poll::Ready(Some(claimed)) => claimed,
            };
            if !self.still_open_after_claim(chan, claimed) {
                return Poll::Ready(Err(SendError(take_value(value))));
            }
            wait.owning = true;
            self.place(chan, take_value(value), retag(claimed, FULL));
        }
        match self.taken_wait.poll_until(&mut wait.slot, waker, || self.taken_or_disconnected(chan)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(taken) => {
                wait.owning = false;
                let claimed = self.owned_word();
                if taken {
                    self.release_slot(chan, claimed); // the receiver's read was acquired through TAKEN
                    Poll::Ready(Ok(()))
                } else {
                    // Disconnected while our value waited: take it back, unless a receiver
                    // got it first.
                    Poll::Ready(self.retract(chan, claimed).map_or(Ok(()), |value| Err(SendError(value))))
                }
            }
        }
    }

    /// A `send_async` future dropped or cancelled unfinished: leaves its queue; an owner takes
    /// its value back and returns it (not sent) unless a receiver already took it (`None`:
    /// sent).
    pub(crate) fn cancel_send(&self, chan: &Chan<T>, wait: &mut SendWait) -> Option<T> {
        if wait.owning {
            self.taken_wait.cancel(&mut wait.slot);
            wait.owning = false;
            self.retract(chan, self.owned_word())
        } else {
            chan.send_wait.cancel(&mut wait.slot);
            None
        }
    }

    /// `recv_async`: waits on `recv_wait` for a value, as a blocking `recv` does, but is *not*
    /// counted in `waiting_receivers`: a future may be dropped instead of polled again, and
    /// its drop cannot return a value that a `try_send` left for it (the handshake of the
    /// module docs needs every counted receiver to look at the slot as it leaves, and to keep
    /// what it finds). So `try_send` hands over only to a thread blocked in `recv`; async
    /// senders (`send_async`) and blocking `send` reach async receivers.
    pub(crate) fn poll_recv(
        &self,
        chan: &Chan<T>,
        wait: &mut RecvWait,
        waker: &Waker,
    ) -> Poll<Result<T, RecvError>> {
        chan.recv_wait.poll_until(&mut wait.slot, waker, || ready_or_empty(self.try_recv(chan)))
    }

    /// A `recv_async` future dropped unfinished: leaves `recv_wait` (passing on a wakeup it
    /// was given). A value in the slot stays there for other receivers: nothing is lost.
    pub(crate) fn cancel_recv(&self, chan: &Chan<T>, wait: &mut RecvWait) {
        chan.recv_wait.cancel(&mut wait.slot);
    }
}

/// Moves the value out of a send future's slot; a future polled after completion panics here.
fn take_value<T>(value: &mut Option<T>) -> T {
    value.take().expect("a send future polled after it completed")
}

impl<T> Drop for Rendezvous<T> {
    fn drop(&mut self) {
        // ORDERING: `&mut self`: no other thread exists; Relaxed is enough.
        let state = tag(self.state.load(Ordering::Relaxed));
        if state == FULL || state == LEFT {
            // SAFETY: FULL and LEFT mean the cell holds a value nobody took; we own it now. Dropped
            // in place: no `T`-sized temporary on the stack.
            self.value.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
    }
}
