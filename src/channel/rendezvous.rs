//! The zero-capacity flavor: one hand-over slot, and a send completes only when a receiver has
//! taken the value (as std's `sync_channel(0)` and crossbeam's `bounded(0)`).
//!
//! # The slot's states
//!
//! One `AtomicU32` says who may touch the value cell:
//!
//! | state | meaning | who may move it, to what |
//! |---|---|---|
//! | `EMPTY` | no value | any sender: CAS to `WRITING` (it becomes the slot's *owner*) |
//! | `WRITING` | the owner writes (or takes back) the value | the owner: to `FULL` or `EMPTY` |
//! | `FULL` | a value waits | any receiver: CAS to `READING`; the owner: CAS to `WRITING` (retract) |
//! | `READING` | a receiver moves the value out | that receiver: to `TAKEN` |
//! | `TAKEN` | the owner's value was received | the owner: to `EMPTY` |
//!
//! The owner's retract and a receiver's take race on one CAS from `FULL`, so exactly one wins:
//! a value is received, or handed back to its sender inside the error, never both.
//!
//! # Waiting
//!
//! Senders wait on the channel's `send_wait` for `EMPTY`; receivers on `recv_wait` for `FULL`;
//! the owner on `taken_wait` for `TAKEN`. `try_send` succeeds only when a receiver is waiting
//! in a blocking `recv` (`waiting_receivers > 0`; pending `recv_async` futures are not counted,
//! see `poll_recv`); it then places the value and waits only as long as some receiver still
//! waits, so it never blocks on an absent partner. A receiver that gives up decrements
//! `waiting_receivers`, wakes the owner and checks the slot once more; the owner re-checks the
//! count; the waiting layer's fences make sure one of them sees the other (no value stranded).
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
use super::error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::sync::UnsafeCell;
use crate::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use crate::wait::WaitQueue;
use std::mem::MaybeUninit;
use std::task::{Poll, Waker};
use std::time::Instant;

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const FULL: u32 = 2;
const READING: u32 = 3;
const TAKEN: u32 = 4;

pub(crate) struct Rendezvous<T> {
    /// The slot's state (module docs' table).
    state: AtomicU32,
    /// Initialised exactly in `FULL` and `READING` (and transiently in `WRITING`).
    value: UnsafeCell<MaybeUninit<T>>,
    /// Receivers inside `recv`: a `try_send` hands over only while this is non-zero.
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
    NoReceiverWaiting,
}

impl<T> Rendezvous<T> {
    pub(crate) fn new() -> Self {
        Rendezvous {
            state: AtomicU32::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            waiting_receivers: AtomicUsize::new(0),
            taken_wait: WaitQueue::new(),
        }
    }

    pub(crate) fn notify_disconnected(&self) {
        self.taken_wait.notify_all();
    }

    fn try_claim(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store of `EMPTY` by the previous owner,
        // which acquired the receiver's read of the cell through TAKEN: the cell is free.
        // loom cannot observe a weakening here (module docs).
        self.state.compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    pub(crate) fn try_send(&self, chan: &Chan<T>, value: T) -> Result<(), TrySendError<T>> {
        if chan.is_disconnected() {
            return Err(TrySendError::Disconnected(value));
        }
        // ORDERING: Relaxed: a hint only; the hand-over below re-checks under the handshake.
        if self.waiting_receivers.load(Ordering::Relaxed) == 0 || !self.try_claim() {
            return Err(TrySendError::Full(value));
        }
        self.hand_over(chan, value, None, true).map_err(|(reason, value)| match reason {
            GiveUp::Disconnected => TrySendError::Disconnected(value),
            GiveUp::Timeout | GiveUp::NoReceiverWaiting => TrySendError::Full(value),
        })
    }

    pub(crate) fn send(
        &self,
        chan: &Chan<T>,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let claimed = chan.send_wait.wait_until(deadline, || {
            if chan.is_disconnected() { Some(false) } else { self.try_claim().then_some(true) }
        });
        match claimed {
            None => return Err(SendTimeoutError::Timeout(value)),
            Some(false) => return Err(SendTimeoutError::Disconnected(value)),
            Some(true) => {}
        }
        self.hand_over(chan, value, deadline, false).map_err(|(reason, value)| match reason {
            GiveUp::Disconnected => SendTimeoutError::Disconnected(value),
            GiveUp::Timeout | GiveUp::NoReceiverWaiting => SendTimeoutError::Timeout(value),
        })
    }

    /// As the owner (state `WRITING`): place `value`, wait until it is taken or a reason to
    /// give up appears, and then either finish or take the value back.
    fn hand_over(
        &self,
        chan: &Chan<T>,
        value: T,
        deadline: Option<Instant>,
        only_while_receivers_wait: bool,
    ) -> Result<(), (GiveUp, T)> {
        // `place`'s notify fence also orders the FULL store before our `waiting_receivers`
        // checks below.
        self.place(chan, value);

        let outcome = self.taken_wait.wait_until(deadline, || match self.taken_or_disconnected(chan) {
            Some(true) => Some(None),
            Some(false) => Some(Some(GiveUp::Disconnected)),
            // ORDERING: Relaxed: ordered after our FULL store by the waiting layer's fences;
            // pairs with the fence a giving-up receiver issues after its decrement.
            None if only_while_receivers_wait && self.waiting_receivers.load(Ordering::Relaxed) == 0 => {
                Some(Some(GiveUp::NoReceiverWaiting))
            }
            None => None,
        });
        let give_up = match outcome {
            Some(None) => {
                self.release_after_taken(chan);
                return Ok(());
            }
            Some(Some(reason)) => reason,
            None => GiveUp::Timeout,
        };
        match self.retract(chan) {
            Some(value) => Err((give_up, value)),
            None => Ok(()),
        }
    }

    /// As the owner, with the value placed: takes it back, or, when a receiver won the race
    /// for it, waits for that receiver to finish reading (a bounded wait: the receiver is
    /// between its CAS and its `TAKEN` store, moving the value out) and completes the send.
    /// `None` means "delivered".
    fn retract(&self, chan: &Chan<T>) -> Option<T> {
        // ORDERING: Relaxed: only our own write is in the cell, nothing to acquire from
        // others; the CAS only decides between us and a receiver's CAS from FULL.
        if self.state.compare_exchange(FULL, WRITING, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            // SAFETY: winning the CAS from FULL gives the owner the cell back; it holds the
            // value we wrote.
            let value = self.value.with(|cell| unsafe { cell.read().assume_init() });
            // ORDERING: Release: our read of the cell happens before the next owner's write
            // (its Acquire claim). loom cannot observe a weakening here (module docs).
            self.state.store(EMPTY, Ordering::Release);
            chan.send_wait.notify_one();
            return Some(value);
        }
        // A receiver is reading our value: it was delivered. Wait (briefly) for TAKEN.
        self.taken_wait.wait_until(None, || {
            // ORDERING: Acquire, as in `hand_over`'s wait (loom cannot observe it either).
            (self.state.load(Ordering::Acquire) == TAKEN).then_some(())
        });
        self.release_after_taken(chan);
        None
    }

    /// As the owner (state `WRITING`): writes the value and publishes it as `FULL`.
    fn place(&self, chan: &Chan<T>, value: T) {
        // SAFETY: state `WRITING`, set by our claim, gives this thread the cell; it is
        // uninitialised (the previous value was moved out before `TAKEN`/`EMPTY`).
        self.value.with_mut(|cell| unsafe { cell.write(MaybeUninit::new(value)) });
        // ORDERING: Release publishes the value to the receiver's Acquire CAS in `try_take`.
        self.state.store(FULL, Ordering::Release);
        // Its fence also orders the FULL store before the owner's later checks.
        chan.recv_wait.notify_one();
    }

    /// The owner's wait condition: `Some(true)` when the value was taken, `Some(false)` when
    /// the channel disconnected first.
    fn taken_or_disconnected(&self, chan: &Chan<T>) -> Option<bool> {
        // ORDERING: Acquire pairs with the receiver's Release store of `TAKEN`: its read of the
        // cell is done before the cell is reused. loom cannot observe a weakening here.
        if self.state.load(Ordering::Acquire) == TAKEN {
            Some(true)
        } else if chan.is_disconnected() {
            Some(false)
        } else {
            None
        }
    }

    fn release_after_taken(&self, chan: &Chan<T>) {
        // ORDERING: Release hands the (empty) cell to the next owner's Acquire claim, with the
        // receiver's read acquired through TAKEN. loom cannot observe a weakening here.
        self.state.store(EMPTY, Ordering::Release);
        chan.send_wait.notify_one();
    }

    /// Takes a waiting value, if any.
    fn try_take(&self) -> Option<T> {
        // ORDERING: Acquire pairs with the owner's Release store of FULL: the value is written.
        if self.state.compare_exchange(FULL, READING, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        // SAFETY: winning the CAS from FULL gives this receiver the cell, which holds the
        // owner's value, until we store TAKEN.
        let value = self.value.with(|cell| unsafe { cell.read().assume_init() });
        // ORDERING: Release: our read of the cell happens before the owner reuses it. loom
        // cannot observe a weakening here (module docs).
        self.state.store(TAKEN, Ordering::Release);
        self.taken_wait.notify_one();
        Some(value)
    }

    pub(crate) fn try_recv(&self, chan: &Chan<T>) -> Result<T, TryRecvError> {
        if let Some(value) = self.try_take() {
            return Ok(value);
        }
        if chan.is_disconnected() {
            // A sender inside `send` keeps its handle alive, so no value can be left once
            // every sender is gone; one more look covers a receiver-side disconnect.
            return self.try_take().ok_or(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    pub(crate) fn recv(&self, chan: &Chan<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        // ORDERING: Relaxed: `try_send` reads it as a hint; the give-up path below is what
        // must be ordered, and it has its own fence.
        self.waiting_receivers.fetch_add(1, Ordering::Relaxed);
        let outcome = chan.recv_wait.wait_until(deadline, || match self.try_recv(chan) {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
            Err(TryRecvError::Empty) => None,
        });
        // ORDERING: Relaxed; the fence below orders it before our last look at the slot.
        self.waiting_receivers.fetch_sub(1, Ordering::Relaxed);
        if let Some(result) = outcome {
            return result;
        }
        // Giving up. A `try_send` owner may be waiting for us: make it re-check the count, and
        // take its value ourselves if it is already there. The SeqCst fence inside this
        // notify sits between our decrement and our look at the slot; it pairs with the fence
        // in the owner's `recv_wait.notify_one` (after its FULL store): either we see FULL
        // below, or the owner sees our decrement.
        self.taken_wait.notify_one();
        self.try_take().ok_or(RecvTimeoutError::Timeout)
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
                if chan.is_disconnected() { Some(false) } else { self.try_claim().then_some(true) }
            });
            match claimed {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(false) => return Poll::Ready(Err(SendError(take_value(value)))),
                Poll::Ready(true) => {}
            }
            wait.owning = true;
            self.place(chan, take_value(value));
        }
        match self.taken_wait.poll_until(&mut wait.slot, waker, || self.taken_or_disconnected(chan)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(taken) => {
                wait.owning = false;
                if taken {
                    self.release_after_taken(chan);
                    Poll::Ready(Ok(()))
                } else {
                    // Disconnected while our value waited: take it back, unless a receiver
                    // got it first.
                    Poll::Ready(self.retract(chan).map_or(Ok(()), |value| Err(SendError(value))))
                }
            }
        }
    }

    /// A `send_async` future dropped unfinished: leaves its queue; an owner takes its value
    /// back (dropped with the future: not sent) unless a receiver already took it (sent).
    pub(crate) fn cancel_send(&self, chan: &Chan<T>, wait: &mut SendWait) {
        if wait.owning {
            self.taken_wait.cancel(&mut wait.slot);
            wait.owning = false;
            drop(self.retract(chan));
        } else {
            chan.send_wait.cancel(&mut wait.slot);
        }
    }

    /// `recv_async`: waits on `recv_wait` for a value, as a blocking `recv` does, but is *not*
    /// counted in `waiting_receivers`: a `try_send` that handed over to a pending future would
    /// wait until an executor polls it, which may be never, or only after the thread blocked in
    /// `try_send` (its own current-thread runtime) returns. So `try_send` hands over only to a
    /// thread blocked in `recv`; async senders (`send_async`) and blocking `send` reach async
    /// receivers.
    pub(crate) fn poll_recv(
        &self,
        chan: &Chan<T>,
        wait: &mut RecvWait,
        waker: &Waker,
    ) -> Poll<Result<T, RecvError>> {
        chan.recv_wait.poll_until(&mut wait.slot, waker, || match self.try_recv(chan) {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        })
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
        if self.state.load(Ordering::Relaxed) == FULL {
            // SAFETY: FULL means the cell holds a value nobody took; we own it now.
            self.value.with_mut(|cell| unsafe { cell.read().assume_init() });
        }
    }
}
