//! The shared cell and its state machine: every atomic operation of the oneshot lives here.
//!
//! One heap block ([`Inner`]) holds a 32-bit state word (also the futex a blocked receiver sleeps
//! on), the value slot and two waker slots (the receiving task's, and the sending task's for
//! `Sender::closed`). The two handles each hold a raw pointer to it; there
//! is no reference count: the state word decides, at each handle's last transition, which of the
//! two frees the block (the `oneshot` crate's scheme, which saves the two `Arc` decrements).
//!
//! # State bits, written as ownership rules
//!
//! | bit | set by | cleared by | while set it means / grants |
//! |---|---|---|---|
//! | `VALUE` | sender (`send`) | never | the value slot holds a value and belongs to the receiver; the sender is finished |
//! | `DISC` | sender (`Drop`) | never | the sender is gone without a value; it is finished |
//! | `WAKER` | receiver (`poll`) | receiver (reclaim, sender alive) or sender (after taking the waker) | the waker slot holds a waker and belongs to the sender side; once the sender is finished, `WAKER` also means "the sender still touches the block" |
//! | `PARKED` | receiver (blocking wait) | receiver (timeout, sender alive) or sender (after the futex wake) | a receiver thread sleeps, or is about to, on the state word; once the sender is finished, also "the sender still touches the block" |
//! | `CLOSED` | receiver (`Drop`, or after taking the result while the sender is still busy) | never | the receiver is gone; it will not touch the block again, except to wake a registered `TX_WAKER` |
//! | `TX_WAKER` | sender (`poll_closed`) | sender (reclaim, receiver alive) or receiver (after taking the sender's waker) | the sender's waker slot holds a waker and belongs to the receiver side; once `CLOSED` is set, also "the receiver still touches the block" |
//! | `TX_LEFT` | sender (`send` that found `CLOSED \| TX_WAKER`) | never | the sender took its value back and no longer touches the block |
//!
//! `VALUE | DISC` is "the sender is finished"; `WAKER | PARKED` is the "hand-off" set. `TX_WAKER` is
//! the one bit the sender sets while it is alive (`Sender::closed`); it mirrors `WAKER` with the
//! sides swapped, so the receiver's transitions keep it as they find it. The rules:
//!
//! - The sender writes the value slot only before it sets `VALUE`; the receiver touches it only
//!   after it has seen `VALUE` (Release/Acquire on the state word).
//! - The waker slot belongs to the receiver while `WAKER` is clear and to the sender while it is
//!   set. The receiver may take it back (clear `WAKER`) only while the sender is not finished,
//!   with a CAS, so a finished sender never has the slot pulled away.
//! - The block is freed by exactly one side: by the **sender** when its last RMW returns a state
//!   with `CLOSED` (the receiver left first), and by the **receiver** when it sees the sender
//!   finished with no hand-off bit (the sender left first and no longer touches the block).
//!   A sender that finds a hand-off bit in its finishing RMW does the hand-off (take the waker,
//!   futex wake), then clears the bits with one more RMW; whoever sees the other side's mark in
//!   that last exchange frees.
//! - The sender's waker slot mirrors the receiver's: it belongs to the sender while `TX_WAKER`
//!   is clear and to the receiver side while it is set; the sender may take it back only while
//!   `CLOSED` is clear. A receiver that closes with `TX_WAKER` set takes the waker, then clears
//!   `TX_WAKER` with an RMW, and the block is freed by whichever of the two leaves last: the
//!   sender's finishing RMW that finds `CLOSED | TX_WAKER` leaves the block to the receiver (a
//!   dropped sender at once; a failing `send` after reading its value back, with `TX_LEFT`), and
//!   the receiver's clearing RMW frees if it finds `DISC` or `TX_LEFT`.
//!
//! # Transitions (sender alive unless said otherwise)
//!
//! The rows name the word without `TX_WAKER`, which every receiver CAS keeps as it found it
//! (`0` reads "`0` or `TX_WAKER`"), except the last three, which are about it.
//!
//! | from | event | to | then |
//! |---|---|---|---|
//! | `0` | `send` | `VALUE` | sender done; receiver frees later |
//! | `0` | sender drop | `DISC` | as above |
//! | `0` | receiver drop | `CLOSED` | the sender frees when it finishes |
//! | `0` | poll, not ready | `WAKER` | waker published (CAS, Release) |
//! | `WAKER` | poll again | `0` then `WAKER` | reclaim by CAS, replace the waker unless `will_wake`, publish again |
//! | `WAKER` | `send` / sender drop | `VALUE\|WAKER` / `DISC\|WAKER` | sender takes the waker, clears `WAKER`, wakes |
//! | `0` | blocking wait parks | `PARKED` | CAS, then futex wait on the word it wrote |
//! | `PARKED` | `send` / sender drop | `VALUE\|PARKED` / `DISC\|PARKED` | sender futex-wakes, then clears `PARKED` |
//! | `PARKED` | deadline passes | `0`, or `WAKER` if the park took a task's waker back | CAS; if it fails the sender finished: take the result |
//! | `x\|VALUE` or `x\|DISC`, `x` ⊆ hand-off | receiver done | free, or `CLOSED` added | free when `x` empty, else the sender frees after its hand-off |
//! | `CLOSED` (+`WAKER`) | `send` / sender drop | (freed) | `send` takes its value back: `Err(SendError(v))` |
//! | any without `CLOSED` | `poll_closed`, not ready | `+TX_WAKER` | reclaim by CAS if set, replace the waker unless `will_wake`, publish (CAS, Release) |
//! | `x\|TX_WAKER`, sender alive | receiver drop | `+CLOSED`, then `-TX_WAKER` | the receiver takes the waker, clears the bit, wakes; frees if the sender left meanwhile |
//! | `CLOSED\|TX_WAKER` | `send` / sender drop | `+VALUE` then `+TX_LEFT` / `+DISC` | the receiver still wakes: `send` reads its value back, then `TX_LEFT`; whoever is last frees |
//!
//! A finished receiver ("detached": it took the value or saw `DISC`) drops its pointer, so a
//! later call on it reports disconnection without touching the block.
//!
//! # Why there is no lost wakeup
//!
//! The receiver announces that it waits (`WAKER` or `PARKED`) with a CAS from the word it read,
//! and the sender finishes with an RMW that sets `VALUE`/`DISC`. Both are read-modify-writes of
//! one word, so they are totally ordered: either the announcement comes first (the sender's RMW
//! returns it and the sender wakes) or the sender's does (the CAS fails and the receiver sees the
//! result). No fence handshake is needed (contrast `wait.rs`). A parked thread sleeps with
//! `futex_wait(state, w)`, `w` the word its CAS wrote, which returns at once once the word has
//! changed (the sender finished, or registered or took back its `closed` waker: then it reloads
//! and sleeps again). The same argument covers the sender's `closed` wait, sides swapped: the
//! sender announces `TX_WAKER` with a CAS, the receiver's drop sets `CLOSED` with a CAS.

use crate::sync::Futex;
use crate::sync::UnsafeCell;
use crate::sync::atomic::Ordering;
use crate::wait::{drop_caught, wake_caught};
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::task::Waker;
use std::time::Instant;

/// The sender has written the value and is finished.
pub(super) const VALUE: u32 = 1 << 0;
/// The sender was dropped without sending and is finished.
pub(super) const DISC: u32 = 1 << 1;
/// A waker is registered; the waker slot belongs to the sender side.
pub(super) const WAKER: u32 = 1 << 2;
/// A receiver thread sleeps (or is about to) on the state word.
pub(super) const PARKED: u32 = 1 << 3;
/// The receiver is gone.
pub(super) const CLOSED: u32 = 1 << 4;
/// The sender waits for the receiver to go (`Sender::closed`): its waker is in the sender's slot,
/// which belongs to the receiver side.
pub(super) const TX_WAKER: u32 = 1 << 5;
/// A `send` that found `CLOSED | TX_WAKER` has read its value back and left the block.
pub(super) const TX_LEFT: u32 = 1 << 6;

/// The sender is finished (one of these is set exactly once, never cleared).
pub(super) const TX_DONE: u32 = VALUE | DISC;
/// The receiver waits and the sender owes it a wakeup.
pub(super) const HANDOFF: u32 = WAKER | PARKED;

/// The one heap block both handles point to.
pub(super) struct Inner<T> {
    /// The state word (module docs) and the futex a blocked receiver sleeps on.
    pub(super) state: Futex,
    /// Written by the sender before `VALUE`, read or dropped by whoever owns it afterwards.
    value: UnsafeCell<MaybeUninit<T>>,
    /// The receiving task's waker; ownership follows the `WAKER` bit.
    waker: UnsafeCell<Option<Waker>>,
    /// The sending task's waker (`Sender::closed`); ownership follows the `TX_WAKER` bit.
    tx_waker: UnsafeCell<Option<Waker>>,
    /// Under loom, a loom-tracked allocation that lives exactly as long as the block, so that a
    /// block that is never freed fails the model as a leak (a plain `Box` is invisible to loom).
    #[cfg(loom)]
    _leak_canary: crate::sync::Arc<()>,
}

/// What a receive observed, once the sender is finished.
pub(super) enum Outcome<T> {
    /// The value.
    Value(T),
    /// The sender is gone without a value.
    Disconnected,
}

/// Allocates a fresh, empty block.
#[must_use]
pub(super) fn allocate<T>() -> NonNull<Inner<T>> {
    // Built in place: an `Inner` value would make a `T`-sized temporary on the stack in debug
    // builds (a stack overflow for large `T`).
    let mut inner = Box::<Inner<T>>::new_uninit();
    let raw = inner.as_mut_ptr();
    // SAFETY: `raw` points to the uninitialised block we own; each field is initialised once
    // through raw pointers (no reference to uninitialised memory is made); the value cell stays
    // uninitialised, which `MaybeUninit` allows.
    unsafe {
        (&raw mut (*raw).state).write(Futex::new(0));
        crate::sync::init_uninit_cell(&raw mut (*raw).value);
        (&raw mut (*raw).waker).write(UnsafeCell::new(None));
        (&raw mut (*raw).tx_waker).write(UnsafeCell::new(None));
        #[cfg(loom)]
        (&raw mut (*raw)._leak_canary).write(crate::sync::Arc::new(()));
    }
    // SAFETY: every field is initialised above.
    NonNull::from(Box::leak(unsafe { inner.assume_init() }))
}

/// Frees the block.
///
/// # Safety
///
/// `inner` came from [`allocate`], the caller is the one side that the state word names as the
/// freeing side, every access by the other side happens-before this call, and no handle uses the
/// pointer afterwards. The value slot must not hold a value (it is not dropped here).
#[inline]
unsafe fn free<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the caller has exclusive ownership of the block (see `# Safety`).
    let block = unsafe { inner.as_ref() };
    // Deallocation writes every byte: touch the cells mutably so that loom checks this free
    // against every earlier access of the other side (a no-op in normal builds).
    block.value.with_mut(|_| ());
    // SAFETY: exclusive ownership (above); only the slots' discriminants are read.
    let holds_waker = unsafe { block.waker.with_mut(|slot| (*slot).is_some()) }
        | unsafe { block.tx_waker.with_mut(|slot| (*slot).is_some()) };
    block.state.retire();
    if holds_waker {
        // SAFETY: as above.
        unsafe { free_holding_wakers(inner) };
    } else {
        // SAFETY: as above; the waker slots are empty.
        unsafe { deallocate(inner) };
    }
}

/// `free` for a block that still holds a waker (a receiver's task that was never woken, a
/// sender's `closed` waker), out of line: takes the wakers out, deallocates, then drops them,
/// so that a panicking waker drop cannot leak the block.
///
/// # Safety
///
/// As [`free`].
#[cold]
#[inline(never)]
unsafe fn free_holding_wakers<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the caller owns the block exclusively.
    let block = unsafe { inner.as_ref() };
    // SAFETY: as above.
    let wakers = unsafe {
        (block.waker.with_mut(|slot| (*slot).take()), block.tx_waker.with_mut(|slot| (*slot).take()))
    };
    // SAFETY: as above; the waker slots are empty now.
    unsafe { deallocate(inner) };
    // Caught: the executor's code, run by a handle's drop (perhaps while its thread unwinds,
    // where a second panic would abort the process).
    let (waker, tx_waker) = wakers;
    if let Some(waker) = waker {
        drop_caught(waker);
    }
    if let Some(waker) = tx_waker {
        drop_caught(waker);
    }
}

/// Returns the block's memory, without the drop glue: the waker slots and the value slot are
/// empty (callers), and nothing else in a normal build needs dropping. The glue's unwinding
/// paths for a panicking waker made `free` too big to inline into the handles' drops
/// (callgrind: 14 more instructions to make and drop a pair once the block held two slots).
///
/// # Safety
///
/// As [`free`], with both waker slots empty.
#[inline]
unsafe fn deallocate<T>(inner: NonNull<Inner<T>>) {
    // Under loom the drop glue below would drop a waker left behind silently: check the
    // callers' promise instead, so that a leftover waker fails the models.
    #[cfg(loom)]
    // SAFETY: the caller owns the block exclusively; only the slots' discriminants are read.
    unsafe {
        let block = inner.as_ref();
        assert!(block.waker.with_mut(|slot| (*slot).is_none()), "oneshot: freed with a waker");
        assert!(block.tx_waker.with_mut(|slot| (*slot).is_none()), "oneshot: freed with a waker");
    }
    #[cfg(not(loom))]
    {
        const { assert!(!std::mem::needs_drop::<Futex>()) };
        // SAFETY: the pointer came from `Box::leak` in `allocate` and is freed exactly once
        // (caller); `ManuallyDrop` is `repr(transparent)`, so the layout is the block's.
        drop(unsafe { Box::from_raw(inner.as_ptr().cast::<std::mem::ManuallyDrop<Inner<T>>>()) });
    }
    // Under loom the block holds loom objects (and the leak canary) that must be dropped.
    // SAFETY: as above.
    #[cfg(loom)]
    drop(unsafe { Box::from_raw(inner.as_ptr()) });
}

// ---------------------------------------------------------------------------------------------
// Sender side
// ---------------------------------------------------------------------------------------------

/// `send`: publishes `value`, or hands it back when the receiver is gone. Consumes the sender.
///
/// # Safety
///
/// Called once per block by its unfinished sender, which does not touch the block afterwards.
pub(super) unsafe fn send<T>(inner: NonNull<Inner<T>>, value: T) -> Result<(), T> {
    // SAFETY: the sender is not finished, so the block is alive (the receiver never frees it
    // before `TX_DONE`).
    let block = unsafe { inner.as_ref() };
    // No "is the receiver gone?" pre-check: it would save the write below only on the rare failing
    // path, cost a load on the common one, and (loom tracks one last access per atomic) hide the
    // race between the receiver's loads and our RMW from the loom models.
    // SAFETY: the value slot belongs to the sender until it sets `VALUE`.
    // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
    block.value.with_mut(|slot| unsafe { slot.cast::<T>().write(value) });
    // ORDERING: Release publishes the value written just above to the receiver's Acquire load;
    // Acquire makes the receiver's accesses visible when the old state holds `CLOSED` (we free)
    // or `WAKER` (we read the waker it wrote before its Release CAS). AcqRel; either half missing
    // is a data race on a slot (loom reports it).
    // `fetch_add` sets the bit exactly as `fetch_or` would (the sender finishes once, so `VALUE`
    // and `DISC` are clear here and no carry can happen) but is one `lock xadd` on x86, where a
    // `fetch_or` whose result is used becomes a CAS loop.
    let old = block.state.fetch_add(VALUE, Ordering::AcqRel);
    if old & CLOSED != 0 {
        // SAFETY: the receiver left before our publication (`old`).
        return Err(unsafe { take_back(inner, old) });
    }
    // SAFETY: we are finished and `old` is the state our finishing RMW replaced.
    unsafe { finish(inner, old) };
    Ok(())
}

/// A `send` that found the receiver gone: reads the value back and gives the block up.
///
/// # Safety
///
/// `old`, returned by the sender's finishing RMW, has `CLOSED`; the sender never touches the
/// block afterwards.
#[inline]
unsafe fn take_back<T>(inner: NonNull<Inner<T>>, old: u32) -> T {
    // SAFETY: the receiver does not free the block before the sender left it (`old` has
    // `CLOSED`, so the sender frees it, or the receiver does after our `TX_LEFT`).
    let block = unsafe { inner.as_ref() };
    // SAFETY: the receiver left before our publication, so it never saw `VALUE`: the value is
    // still ours.
    let value = block.value.with_mut(|slot| unsafe { (*slot).assume_init_read() });
    if old & TX_WAKER == 0 {
        // SAFETY: the slot is empty again and the receiver is done: we are the last user.
        unsafe { free(inner) };
    } else {
        // SAFETY: the receiver still wakes our `closed` waker, so the block is alive.
        unsafe { leave_to_closing_receiver(inner) };
    }
    value
}

/// The sender is dropped without sending: the receiver gets `Disconnected`.
///
/// # Safety
///
/// As [`send`].
pub(super) unsafe fn disconnect<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the sender is not finished, so the block is alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Release: a receiver that sees `DISC` also sees what this thread did before (std's
    // convention; loom model `sender_drop_publishes_prior_writes`), and our loads of the block
    // happen-before a free by the receiver. Acquire: as in `send` when the old state holds
    // `CLOSED` (we free) or `WAKER` (we read the slot).
    // `fetch_add` as `fetch_or` (DISC is clear until now), see `send`.
    let old = block.state.fetch_add(DISC, Ordering::AcqRel);
    if old & (CLOSED | TX_WAKER) == CLOSED | TX_WAKER {
        // The receiver is gone but still wakes our `closed` waker: its clearing RMW finds
        // `DISC` and frees (we touch nothing after our RMW).
        return;
    }
    if old & CLOSED != 0 {
        // SAFETY: the receiver is gone (its accesses happen-before, Acquire above); the slot is
        // empty because we never sent.
        unsafe { free(inner) };
        return;
    }
    // SAFETY: we are finished and `old` is the state our finishing RMW replaced.
    unsafe { finish(inner, old) };
}

/// A failing `send` that found `CLOSED | TX_WAKER` has read its value back: marks that it left,
/// and frees the block if the receiver has meanwhile finished waking the sender's waker.
///
/// # Safety
///
/// The sender's finishing RMW returned `CLOSED | TX_WAKER` (the receiver does not free the block
/// before our mark), the value slot is empty, and the sender never touches the block again.
#[cold]
#[inline(never)]
unsafe fn leave_to_closing_receiver<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the receiver does not free the block before it sees `TX_LEFT`.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Release: our read of the value slot happens-before a free by the receiver (which
    // acquires with its clearing RMW); Acquire: if the receiver has already cleared `TX_WAKER`
    // we free, so its accesses (the take of our waker) must happen-before. AcqRel; either half
    // weaker is a use-after-free race (loom: `closed_waker_vs_send`).
    let old = block.state.fetch_add(TX_LEFT, Ordering::AcqRel);
    if old & TX_WAKER == 0 {
        // SAFETY: the receiver finished its wake before our mark and left the block to us.
        unsafe { free(inner) };
    }
}

/// Stores `waker` in a waker slot the caller owns, unless the slot already holds one that
/// wakes the same task (no clone then). A replaced waker is dropped here: never leaked.
///
/// # Safety
///
/// The caller has exclusive access to `slot` (its side owns it under the state word's rules).
#[inline]
unsafe fn keep_latest(slot: &UnsafeCell<Option<Waker>>, waker: &Waker) {
    // SAFETY: exclusive access (caller).
    slot.with_mut(|slot| unsafe {
        match &mut *slot {
            Some(old) if old.will_wake(waker) => {}
            other => *other = Some(waker.clone()),
        }
    });
}

/// `Sender::poll_closed`: `true` once the receiver is gone; otherwise registers `waker`
/// (replacing an older one) for the receiver's drop to wake, and returns `false`.
///
/// # Safety
///
/// Called by the unfinished sender, with exclusive access to it (`&mut Sender`: one poller at a
/// time owns the sender's half of the waker slot).
pub(super) unsafe fn poll_closed<T>(inner: NonNull<Inner<T>>, waker: &Waker) -> bool {
    // SAFETY: an unfinished sender keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire, as in `is_closed`: a sender that sees the receiver gone also sees what
    // the receiver's thread did before dropping it.
    let mut state = block.state.load(Ordering::Acquire);
    loop {
        if state & CLOSED != 0 {
            // The receiver may still be taking our waker out of the slot: we do not touch it.
            return true;
        }
        if state & TX_WAKER != 0 {
            // Take the slot back (the receiver is alive, so it has not looked at it).
            // ORDERING: Relaxed on success: the slot was last written by this sender (or by a
            // thread that handed it over, which synchronised); the receiver never touched it.
            // Acquire on failure: the word changed, and we look again (it may be `CLOSED`).
            match block.state.compare_exchange(state, state & !TX_WAKER, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => state &= !TX_WAKER,
                Err(now) => {
                    state = now;
                    continue;
                }
            }
        }
        // `TX_WAKER` is clear and we are the unfinished sender: the slot is ours.
        // SAFETY: exclusive access per the `TX_WAKER` rule and `&mut Sender`.
        unsafe { keep_latest(&block.tx_waker, waker) };
        // ORDERING: Release on success publishes the waker to the receiver's Acquire CAS that
        // sets `CLOSED` (a weaker store lets the receiver read a half-written slot). Acquire on
        // failure: the word changed (the receiver registered, parked or closed); look again.
        match block.state.compare_exchange(state, state | TX_WAKER, Ordering::Release, Ordering::Acquire) {
            Ok(_) => return false,
            Err(now) => state = now,
        }
    }
}

/// After the sender's finishing RMW: wake whoever waits, then give up the block.
///
/// # Safety
///
/// `old` is the state the finishing RMW replaced, without `CLOSED`; the block is alive.
#[inline]
unsafe fn finish<T>(inner: NonNull<Inner<T>>, old: u32) {
    if old & HANDOFF == 0 {
        // Nobody waits. The receiver frees the block; we must not touch it any more.
        return;
    }
    // SAFETY: a hand-off bit is set, so the receiver does not free the block until we clear it.
    unsafe { finish_slow(inner, old) }
}

/// # Safety
///
/// As [`finish`], with a hand-off bit set in `old`.
#[cold]
unsafe fn finish_slow<T>(inner: NonNull<Inner<T>>, old: u32) {
    // SAFETY: the hand-off bit keeps the block alive (see `finish`).
    let block = unsafe { inner.as_ref() };
    let waker = if old & WAKER != 0 {
        // SAFETY: `WAKER` was set when we finished, so the slot is ours; our AcqRel RMW acquired
        // the receiver's write of it.
        block.waker.with_mut(|slot| unsafe { (*slot).take() })
    } else {
        None
    };
    if old & PARKED != 0 {
        // The word no longer equals `PARKED`, so the sleeper returns (futex contract: change the
        // word, then wake).
        block.state.wake_one();
    }
    // ORDERING: Release: our take of the waker and the futex wake happen-before a free by the
    // receiver (which loads with Acquire); Acquire: if `CLOSED` is set we free, so the receiver's
    // accesses must happen-before. AcqRel; a weaker one is a use-after-free race.
    // Clears the hand-off bits that `old` had: they are still set (once the sender is finished
    // only the sender clears them), so subtracting them is `fetch_and(!HANDOFF)` in one `xadd`.
    let now = block.state.fetch_sub(old & HANDOFF, Ordering::AcqRel);
    if now & CLOSED != 0 {
        // SAFETY: the receiver finished while we held the hand-off; it left the block to us and
        // the value slot is empty (it took or dropped the value).
        unsafe { free(inner) };
    }
    // Wake last, off the block. The wake is the executor's code: a panic in it is caught (the
    // panic hook reports it), as in the wait queues (`wait.rs`), so that it cannot unwind out
    // of a `send` that delivered its value, nor abort a handle dropped while its thread unwinds.
    if let Some(waker) = waker {
        wake_caught(waker);
    }
}

/// `Sender::is_closed`.
///
/// # Safety
///
/// Called by the unfinished sender (the block is alive).
#[inline]
pub(super) unsafe fn is_closed<T>(inner: NonNull<Inner<T>>) -> bool {
    // SAFETY: an unfinished sender keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire pairs with the receiver's Release CAS that set `CLOSED`: a sender that
    // sees the receiver gone also sees what the receiver's thread did before dropping it (std's
    // convention for disconnection; loom model `receiver_drop_publishes_prior_writes`). The
    // cell itself does not need it: a sender that goes on to `send` acquires with its RMW.
    block.state.load(Ordering::Acquire) & CLOSED != 0
}

// ---------------------------------------------------------------------------------------------
// Receiver side
// ---------------------------------------------------------------------------------------------

/// A non-blocking look: the outcome if the sender is finished (the receiver is then finished
/// and must drop its pointer), or `None`.
///
/// # Safety
///
/// Called by the unfinished receiver.
#[inline]
pub(super) unsafe fn try_take<T>(inner: NonNull<Inner<T>>) -> Option<Outcome<T>> {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire pairs with the sender's Release finishing RMW: the value it wrote is
    // visible before we read it. Relaxed would read an uninitialised slot (loom: data race).
    let state = block.state.load(Ordering::Acquire);
    if state & TX_DONE == 0 {
        return None;
    }
    // SAFETY: the sender is finished and we observed it with Acquire.
    Some(unsafe { take_outcome(inner, state) })
}

/// `Receiver::is_ready`: the sender is finished.
///
/// # Safety
///
/// Called by the unfinished receiver.
#[inline]
pub(super) unsafe fn is_ready<T>(inner: NonNull<Inner<T>>) -> bool {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Relaxed: a snapshot that gives access to nothing; the call that takes the value
    // loads again with Acquire.
    block.state.load(Ordering::Relaxed) & TX_DONE != 0
}

/// Takes the result and finishes the receiver.
///
/// # Safety
///
/// `state` was read (with Acquire, or by an Acquire RMW/CAS) by the unfinished receiver and has
/// a `TX_DONE` bit. The receiver's pointer is dead afterwards.
unsafe fn take_outcome<T>(inner: NonNull<Inner<T>>, state: u32) -> Outcome<T> {
    let outcome = if state & VALUE != 0 {
        // SAFETY: the block is alive: we have not finished.
        let block = unsafe { inner.as_ref() };
        // SAFETY: `VALUE` seen with Acquire gives us the slot; we read the value out exactly
        // once (we finish right below).
        Outcome::Value(block.value.with_mut(|slot| unsafe { (*slot).assume_init_read() }))
    } else {
        Outcome::Disconnected
    };
    // SAFETY: the value slot is empty now; the sender is finished (`state`).
    unsafe { leave_finished(inner, state) };
    outcome
}

/// The receiver leaves a block whose sender is finished; the value slot is already empty.
///
/// # Safety
///
/// `state` (read by us with Acquire) has a `TX_DONE` bit, the slot is empty, and we never touch
/// the block again.
unsafe fn leave_finished<T>(inner: NonNull<Inner<T>>, state: u32) {
    if state & HANDOFF == 0 {
        // SAFETY: the sender is finished and done touching the block (no hand-off bit), and our
        // Acquire read of `state` ordered all its accesses before us: we are the last user.
        unsafe { free(inner) };
        return;
    }
    // SAFETY: a hand-off bit is set, so the sender cannot free the block before we mark CLOSED.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Release: our accesses (the value read) happen-before the sender's free; Acquire:
    // if the sender has meanwhile cleared the hand-off, we free, so its accesses must
    // happen-before. AcqRel; either half weaker is a use-after-free race.
    // `fetch_add` as `fetch_or`: the receiver sets `CLOSED` once, so it is clear here.
    let old = block.state.fetch_add(CLOSED, Ordering::AcqRel);
    if old & HANDOFF == 0 {
        // SAFETY: the sender cleared its hand-off before our mark and will not look again.
        unsafe { free(inner) };
    }
}

/// Drops the value the finished sender left, in a function of its own: the outcome is a
/// `T`-sized temporary, whose stack space a debug build would otherwise reserve on every drop
/// of an unfinished receiver.
///
/// # Safety
///
/// As `take_outcome`: the sender is finished (`state`, loaded with Acquire, says so) and the
/// caller is the receiver.
#[cold]
#[inline(never)]
unsafe fn drop_outcome<T>(inner: NonNull<Inner<T>>, state: u32) {
    // SAFETY: the caller's promise; dropping the outcome drops the value.
    drop(unsafe { take_outcome(inner, state) });
}

/// The receiver is dropped before it finished. Drops a sent value (on this thread), and frees
/// the block or leaves it to the sender.
///
/// # Safety
///
/// Called once by the unfinished receiver, which never touches the block again.
#[inline]
pub(super) unsafe fn close<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire as in `try_take` (we may drop the value).
    let mut state = block.state.load(Ordering::Acquire);
    // The common case inline: the sender is alive and nothing is registered. (A CAS from 0 with
    // no load first would make a receiver dropped after its sender pay a failed locked CAS.)
    if state == 0 {
        // ORDERING: as the CAS in `close_from`; Release suffices on success here, where the word
        // was 0 (no `TX_WAKER`: there is no sender's waker to acquire).
        match block.state.compare_exchange(0, CLOSED, Ordering::Release, Ordering::Acquire) {
            Ok(_) => return,
            Err(now) => state = now,
        }
    }
    // The other common case inline: the sender was dropped without sending (and no hand-off
    // is pending), so we are the last user. Through `close_from` this cost a call and its
    // checks: 190 against the `oneshot` crate's 176 instructions to make and drop a pair.
    if state == DISC {
        // SAFETY: as the first branch of `leave_finished`: the sender is finished and done with
        // the block, and our Acquire read of `state` ordered its accesses before us.
        unsafe { free(inner) };
        return;
    }
    // SAFETY: forwarded; `state` was read with Acquire (load or failed CAS).
    unsafe { close_from(inner, state) }
}

/// `close` past its common case, from `state` (read with Acquire by the unfinished receiver).
///
/// # Safety
///
/// As [`close`].
#[inline(never)]
unsafe fn close_from<T>(inner: NonNull<Inner<T>>, mut state: u32) {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    loop {
        if state & TX_DONE != 0 {
            // `take_outcome` moves the value out of the slot *before* it gives the block up (once
            // `CLOSED` is set next to a hand-off the sender may free it); the value is dropped
            // afterwards, off the block, so a panicking `Drop` cannot leak the block.
            if state & VALUE != 0 {
                // SAFETY: sender finished, seen with Acquire.
                unsafe { drop_outcome(inner, state) };
            } else {
                // SAFETY: sender finished without a value (seen with Acquire): the slot is empty.
                unsafe { leave_finished(inner, state) };
            }
            return;
        }
        // A CAS, not `fetch_or`: setting `CLOSED` after the sender finished with a hand-off
        // would let it free the block while we still drop the value (loom found exactly that:
        // `receiver_dropped_after_poll`). The other writers are the sender's finishing RMW and
        // its `closed` registrations (`poll_closed`), which the retry reads.
        // ORDERING: Release on success: what this thread did before the drop happens-before a
        // sender that sees `CLOSED` (`is_closed`, or its RMW before it frees the block; loom model
        // `receiver_drop_publishes_prior_writes`). Waker-slot writes are already published by the
        // Release CAS in `poll`, whose release sequence this RMW continues. Acquire on success
        // too when `TX_WAKER` is set: the sender's Release CAS published its waker, which we
        // take. Acquire on failure: the sender finished (we drop its value) or changed
        // `TX_WAKER`.
        match block.state.compare_exchange(state, state | CLOSED, Ordering::AcqRel, Ordering::Acquire) {
            // The sender is alive and will see `CLOSED` when it finishes: it frees the block.
            Ok(_) if state & TX_WAKER == 0 => return,
            // SAFETY: we set `CLOSED` next to `TX_WAKER`, so the sender's slot is ours and the
            // sender does not free the block before we clear the bit.
            Ok(_) => return unsafe { wake_closed_sender(inner) },
            Err(now) => state = now,
        }
    }
}

/// The receiver closed while the sender waits in `Sender::closed`: takes the sender's waker,
/// clears `TX_WAKER` (freeing the block if the sender left meanwhile), then wakes it.
///
/// # Safety
///
/// Called by the receiver right after its CAS set `CLOSED` next to `TX_WAKER`; it never touches
/// the block afterwards.
#[cold]
#[inline(never)]
unsafe fn wake_closed_sender<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the sender does not free the block while `TX_WAKER` is set next to `CLOSED`.
    let block = unsafe { inner.as_ref() };
    // SAFETY: `TX_WAKER` with `CLOSED`: the slot is ours, and our AcqRel CAS acquired the
    // sender's write of it.
    let waker = block.tx_waker.with_mut(|slot| unsafe { (*slot).take() });
    // ORDERING: Release: our take of the waker happens-before a free by the sender (which
    // acquires with its finishing RMW, `VALUE` or `DISC`, when that RMW finds `TX_WAKER` already
    // cleared, or else with its `TX_LEFT` RMW); Acquire: if the sender left meanwhile (`DISC`,
    // or `TX_LEFT` after reading its value back) we free, so its accesses must happen-before.
    // AcqRel; either half weaker is a use-after-free race (loom: `closed_waker_vs_send`).
    let old = block.state.fetch_sub(TX_WAKER, Ordering::AcqRel);
    if old & (DISC | TX_LEFT) != 0 {
        // SAFETY: the sender finished, found `CLOSED | TX_WAKER` and left the block to us; the
        // value slot is empty (a failing `send` read its value back before `TX_LEFT`).
        unsafe { free(inner) };
    }
    // Wake last, off the block; a panic in the wake is caught, as in `finish_slow`.
    if let Some(waker) = waker {
        wake_caught(waker);
    }
}

/// `poll`: the outcome, or `None` after registering `waker` (replacing an older one).
///
/// # Safety
///
/// Called by the unfinished receiver; on `Some` its pointer is dead.
pub(super) unsafe fn poll<T>(inner: NonNull<Inner<T>>, waker: &Waker) -> Option<Outcome<T>> {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire as in `try_take`.
    let mut state = block.state.load(Ordering::Acquire);
    loop {
        if state & TX_DONE != 0 {
            // SAFETY: sender finished, seen with Acquire.
            return Some(unsafe { take_outcome(inner, state) });
        }
        if state & WAKER != 0 {
            // Take the slot back from the sender side (it is alive, so it has not looked).
            // ORDERING: Relaxed on success: the slot was last written by us (or by a thread that
            // handed us the receiver, which synchronised), the sender never touched it.
            // Acquire on failure: the sender finished (we go read its value) or registered its
            // `closed` waker; look again.
            match block.state.compare_exchange(state, state & !WAKER, Ordering::Relaxed, Ordering::Acquire) {
                Ok(_) => state &= !WAKER,
                Err(now) => {
                    state = now;
                    continue;
                }
            }
        }
        // The sender is alive, `PARKED` and `CLOSED` are never set while we poll, and `WAKER` is
        // clear: the slot is ours. (`TX_WAKER`, the sender's, is kept as it is.)
        debug_assert_eq!(state & !TX_WAKER, 0, "oneshot: unexpected state {state:#b} in poll");
        // SAFETY: exclusive access per the `WAKER` rule.
        unsafe { keep_latest(&block.waker, waker) };
        // ORDERING: Release on success publishes the waker to the sender's Acquire RMW (a
        // weaker store lets the sender read a half-written slot). Acquire on failure: the sender
        // finished (we read its value) or changed `TX_WAKER`; look again.
        match block.state.compare_exchange(state, state | WAKER, Ordering::Release, Ordering::Acquire) {
            Ok(_) => return None,
            Err(now) => state = now,
        }
    }
}

/// The blocking receive: spin, then park on the state word until the sender finishes or
/// `deadline` passes (`None` = never). Returns `None` on timeout (the receiver is then still
/// unfinished and usable); on `Some` the receiver's pointer is dead.
///
/// # Safety
///
/// Called by the unfinished receiver.
#[inline]
pub(super) unsafe fn wait<T>(inner: NonNull<Inner<T>>, deadline: Option<Instant>) -> Option<Outcome<T>> {
    // SAFETY: forwarded.
    if let Some(outcome) = unsafe { try_take(inner) } {
        return Some(outcome);
    }
    // A deadline that has already passed (`recv_timeout(Duration::ZERO)`, a past
    // `recv_deadline`) is a non-blocking look: no spin, no park, the registration untouched.
    // (Not under loom, whose models take the deadline as passing exactly at the sleep.)
    #[cfg(not(loom))]
    if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
        return None;
    }
    // SAFETY: forwarded (still unfinished: `try_take` returned None).
    unsafe { spin_then_park(inner, deadline) }
}

/// # Safety
///
/// As [`wait`].
#[inline(never)]
unsafe fn spin_then_park<T>(inner: NonNull<Inner<T>>, deadline: Option<Instant>) -> Option<Outcome<T>> {
    // A reply that comes within the crate's shared spin phase costs no system call on either
    // side. (Under loom the spin is skipped: the models go straight to the park path.)
    // SAFETY: forwarded (still unfinished until `try_take` returns `Some`).
    match crate::wait::spin(deadline, || unsafe { try_take(inner) }) {
        Ok(outcome) => Some(outcome),
        // `_timer` lives to the end of the park: its drop tells the spin how long it took.
        // SAFETY: forwarded.
        Err(_timer) => unsafe { park(inner, deadline) },
    }
}

/// # Safety
///
/// As [`wait`].
#[cold]
unsafe fn park<T>(inner: NonNull<Inner<T>>, deadline: Option<Instant>) -> Option<Outcome<T>> {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    // ORDERING: Acquire as in `try_take`.
    let mut state = block.state.load(Ordering::Acquire);
    // Announce: set PARKED (taking back a registered waker first; a thread does not need it).
    // On a timeout the registration is restored: the task's last poll returned `Pending` and
    // still relies on being woken. The sender's `TX_WAKER` is kept as found, and may change
    // while we sleep: the futex wait then returns at once and sleeps again on the new word.
    let mut reclaimed = false;
    loop {
        if state & TX_DONE != 0 {
            // SAFETY: sender finished, seen with Acquire.
            return Some(unsafe { take_outcome(inner, state) });
        }
        let to = if state & WAKER != 0 { state & !WAKER } else { state | PARKED };
        // ORDERING: Relaxed on success: the sender hands nothing over through `PARKED` (it only
        // wakes us) and the waker slot, if reclaimed, was last written by us. Acquire on failure:
        // the sender finished (we read its value) or changed `TX_WAKER`; look again.
        match block.state.compare_exchange(state, to, Ordering::Relaxed, Ordering::Acquire) {
            Ok(_) if to & PARKED != 0 => {
                state = to;
                break;
            }
            Ok(_) => {
                reclaimed = true;
                state = to;
            }
            Err(now) => state = now,
        }
    }
    loop {
        let in_time = match deadline {
            None => {
                block.state.wait(state);
                true
            }
            Some(deadline) => block.state.wait_until(state, deadline),
        };
        // ORDERING: Acquire as in `try_take`.
        state = block.state.load(Ordering::Acquire);
        if state & TX_DONE != 0 {
            // The sender may still hold `PARKED` (its hand-off); `take_outcome` handles that.
            // SAFETY: sender finished, seen with Acquire.
            return Some(unsafe { take_outcome(inner, state) });
        }
        if !in_time {
            // SAFETY: forwarded; `state` (read with Acquire) has `PARKED` and no `TX_DONE`.
            return unsafe { unpark_timed_out(inner, state, reclaimed) };
        }
    }
}

/// A park whose deadline passed: withdraws the announcement (restoring a reclaimed waker's
/// registration) and returns `None`, or, if the sender finished meanwhile, takes its result
/// instead of reporting a timeout (a wakeup is never swallowed).
///
/// # Safety
///
/// Called by the unfinished, parked receiver; `state` was read with Acquire and has `PARKED`.
#[cold]
unsafe fn unpark_timed_out<T>(
    inner: NonNull<Inner<T>>,
    mut state: u32,
    reclaimed: bool,
) -> Option<Outcome<T>> {
    // SAFETY: an unfinished receiver keeps the block alive.
    let block = unsafe { inner.as_ref() };
    loop {
        if state & TX_DONE != 0 {
            // SAFETY: sender finished, seen with Acquire.
            return Some(unsafe { take_outcome(inner, state) });
        }
        let back = if reclaimed { (state & !PARKED) | WAKER } else { state & !PARKED };
        // ORDERING: Relaxed on success: nothing new is handed over. When the waker goes back to
        // the sender side the slot is untouched since `poll`'s Release CAS published it, and
        // every write to the word since then is an RMW, so the sender's Acquire RMW still
        // synchronises with that `poll` (release sequence, as in `close`). Acquire on failure:
        // the sender finished (we read its value) or changed `TX_WAKER`; look again.
        match block.state.compare_exchange(state, back, Ordering::Relaxed, Ordering::Acquire) {
            Ok(_) => return None,
            Err(now) => state = now,
        }
    }
}
