//! The waiting layer: how every blocking call in the crate waits.
//!
//! A [`WaitQueue`] is a place where threads wait for a condition that other threads make true
//! ("the ring is not empty", "a permit is free"). Waiting is two phases:
//!
//! 1. **Spin**: re-check the condition under crossbeam-utils' `Backoff` (six rounds of
//!    exponential `pause`, about 1.5 µs, then a yield phase of four `yield`s, or up to 50 µs of
//!    them when this thread's last park was that short: see [`spin`]). A partner that answers
//!    within that window costs no futex call.
//! 2. **Park**: announce the wait, re-check, sleep on a futex word, re-check after every wakeup.
//!
//! # The lost-wakeup argument
//!
//! The queue has an `epoch` futex word and a `sleepers` count. A waiter does
//!
//! ```text
//! e = epoch.load();  sleepers += 1;  fence(SeqCst);  if condition() { leave }  futex_wait(epoch, e)
//! ```
//!
//! and a notifier, *after* making the condition true, does
//!
//! ```text
//! fence(SeqCst);  if sleepers > 0 { epoch += 1; futex_wake(epoch) }
//! ```
//!
//! The two fences are a Dekker handshake. Both fences are in the single total order of SeqCst
//! operations; whichever comes second sees the other side's write that precedes the first. So
//! either the notifier sees `sleepers > 0` (and then bumps the epoch, so the waiter's
//! `futex_wait(epoch, e)` either returns at once because the word changed or is woken), or the
//! waiter's re-check sees the condition true and never sleeps. There is no third case: a wakeup
//! cannot be lost. The fences (not SeqCst loads and stores) are what loom can model exactly, see
//! DESIGN.md §3; the loom suite checks this protocol through every channel model.
//!
//! # Pending wakeups (no wake storms)
//!
//! `sleepers` also counts wakeups issued but not yet consumed. `notify_one` wakes a parked thread
//! only while waiters outnumber pending wakeups (futures need no such count: "Async waiters"
//! below), and **every** waiter that leaves consumes one pending
//! wakeup if there is any. Without the count, a woken waiter that waits in the run queue (more
//! threads than cores) keeps `sleepers > 0`, and every notify until it runs is a futex system
//! call that wakes nobody. Skipping a wake is safe because the waiter it counts on fences after
//! leaving and re-checks: either the skipping notifier saw the leave (then it does not skip), or
//! that re-check sees the notifier's condition.
//!
//! Why every leave consumes one, not only a leave that saw the epoch move: a wakeup issued for
//! waiter A may find A already leaving (its re-check succeeded before it saw the bump). Were A
//! to keep the wakeup pending, a waiter B that registered meanwhile and read the *new* epoch
//! would sleep while the count says "1 waiter, 1 pending": every later `notify_one` would skip
//! B forever (found by the semaphore's loom models: an old head leaving while the new one
//! parks). Consuming on every leave can only undercount pending wakeups, which costs a spare
//! futex wake, never a lost one. At most `waiters` wakeups are ever pending, so one that a
//! timed-out waiter never consumed cannot silence later notifies.
//!
//! The uncontended path pays one fence and two loads, `sleepers` and `armed` (on the queue's
//! own line: `sleepers` is written only when a thread actually parks, `armed` when a future
//! registers), and makes no system call.
//!
//! `notify_one` wakes one parked thread. A woken thread always re-checks its condition before
//! it may give up (even when its deadline has passed), so a wakeup is never swallowed by a
//! waiter that times out at the same moment. A woken thread may still find its condition false
//! and park again (another thread took the value first): users whose conditions can be "true
//! but not yet takeable" must either wait that state out in their poll (the channel's
//! registered polls, see `channel/chan.rs`) or pass the wakeup on after they succeed (the
//! semaphore's chained wakeup).
//!
//! # Async waiters
//!
//! A future waits in the same queue. Instead of parking it leaves its `Waker` in a list behind
//! the queue (`wakers`, a mutex that only async waiters, and notifiers that found a future
//! registered, ever take), and the list's length, `armed`, is its announcement: a notifier
//! reads `armed` next to `sleepers` after its fence, so notifiers keep their load-only fast
//! path and blocking-only users never touch the mutex. A poll ([`WaitQueue::poll_until`]) is
//! the thread's announce / re-check with "return `Pending`" in place of the futex wait:
//!
//! ```text
//! poll: if condition() { Ready }   lock; insert an entry (or refresh its waker); armed += 1; unlock
//!       fence(SeqCst);
//!       if condition() { remove the entry; Ready }   Pending
//! ```
//!
//! so the same Dekker handshake settles it: either the notifier's load of `armed` after its
//! fence sees the entry, or the re-check sees the condition. A notifier's slow path prefers an
//! async waiter (oldest first): it takes its entry out of the list (writing the entry's key to
//! `last_woken`), releases the lock and wakes the waker; only when no future waits does it
//! claim a wakeup in `sleepers` and bump the futex epoch. A future is never counted in
//! `sleepers` and needs no pending-wakeup accounting: a notified future's entry is out of the
//! list, so no later notify can pick it again while its task waits to be run (the wake storm
//! the pending count prevents for threads). (Until the nineteenth session futures were counted
//! in `sleepers` like threads: three more read-modify-writes per wait, the registration's
//! increment, the notifier's claim and the woken future's leave, for nothing the list did not
//! already say.) A notified future finds out when it is polled again: its key in
//! `last_woken` (one load, no lock), or no entry under its key. If it still finds nothing it
//! gets a new entry (a new key, its old place in line) and re-checks. A future dropped while
//! registered leaves the queue
//! ([`WaitQueue::cancel`]); if it had been notified it passes the wakeup on with a fresh
//! `notify_one`, because nobody else re-checks on its behalf (the cancel-safety half of the
//! protocol: a dropped `recv_async` never strands a value that a live waiter could take).
//! Only the latest waker is kept: a re-poll with a different waker replaces it (and drops the
//! old one), `Waker::will_wake` avoids the clone when it is the same.
//!
//! **Counted futures.** The channel counts its waiting futures in its own index words, so that
//! an operation skips the notify while nobody waits (`channel/chan.rs`). A notifier that takes a
//! counted future's entry lowers that count on the future's behalf (`notify_one_with`'s
//! `uncount`), so the other side stops paying the notify while the woken task waits to be run;
//! the future, once it learns it was notified, is no longer counted, and counts itself again
//! (`poll_until_counted`'s `recount`, under the lock, before its new entry can be taken) if it
//! has to wait again. Queues whose futures are never counted use the plain calls.
//!
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use crate::sync::{Backoff, Futex, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::PoisonError;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// Threads waiting for one condition (see the module docs for the protocol).
#[derive(Debug)]
pub(crate) struct WaitQueue {
    /// Bumped by every notify that found sleepers; parked threads sleep on it.
    /// Written only by notifiers, on the slow path.
    epoch: Futex,
    /// Two counts in one word. Low 32 bits: threads between "announce" and "leave" in
    /// [`WaitQueue::wait_until`] (written by waiters; futures are never counted here). High 32
    /// bits: wakeups issued by `notify_one*` that no waiter has consumed yet (incremented by
    /// notifiers on the slow path, decremented by every waiter that leaves, down to zero). A
    /// notifier wakes only while waiters outnumber pending wakeups: a waiter that is slow to run
    /// after its wakeup (preempted, the oversubscribed case) must not turn every later notify
    /// into a futex system call (measured: 133 155 futex calls per 2 M messages at 4:4 without
    /// this, 354 with it).
    sleepers: AtomicU64,
    /// Async waiters' wakers (module docs, "Async waiters").
    wakers: Mutex<WakerList>,
    /// Entries in `wakers`, written under its lock: the async waiters' announcement (module
    /// docs, "Async waiters"). Notifiers read it after their fence, to skip the lock when no
    /// future waits.
    armed: AtomicUsize,
    /// The key of the entry the latest `notify_one` took out of `wakers` (`NO_KEY` before
    /// the first), written under its lock: a woken future that finds its own key here knows it
    /// was notified without taking the lock (module docs, "Async waiters").
    last_woken: AtomicU64,
}

/// `last_woken` before any notify took an entry: no registration gets this key.
const NO_KEY: u64 = u64::MAX;

/// The async waiters of one queue, oldest first. Every entry is armed: a notifier takes the
/// whole entry out with its waker.
///
/// Costs with `n` entries: a notify takes the front, O(1); a first registration goes at the
/// back, O(1); finding a future's entry (a re-poll, a cancel) is a binary search by its place
/// in line, O(log n), and removing it from the middle moves the entries on its shorter side.
/// (A `Vec` with a linear search made one send cost 12.8 µs with 50 000 pending receives.)
#[derive(Debug, Default)]
struct WakerList {
    entries: VecDeque<WakerEntry>,
    /// The key the next registration gets (keys are never reused while an entry lives: a
    /// queue would need 2^64 registrations to wrap).
    next_key: u64,
}

impl WakerList {
    /// The index of the entry with `key`, whose place in line is `order`: entries are sorted
    /// by `order`, and a future has at most one entry.
    fn find(&self, key: u64, order: u64) -> Option<usize> {
        let index = self.entries.partition_point(|entry| entry.order < order);
        self.entries.get(index).is_some_and(|entry| entry.key == key).then_some(index)
    }
}

#[derive(Debug)]
struct WakerEntry {
    key: u64,
    /// The key of the future's first registration: its place in line, kept when a notified
    /// future re-registers (with a new key), so that it does not lose its turn.
    order: u64,
    waker: Waker,
    /// The future was counted by its caller (see [`AsyncSlot::set_counted`]) when it
    /// registered: the notifier that takes the entry uncounts it.
    counted: bool,
}

/// An async waiter's registration in a [`WaitQueue`], kept in its future. A future that owns
/// one must call [`WaitQueue::cancel`] (or `cancel_with`) when it is dropped unfinished.
#[derive(Debug, Default)]
pub(crate) struct AsyncSlot {
    key: Option<u64>,
    /// The key of the first registration of the current wait (see `WakerEntry::order`).
    order: u64,
    /// The future is counted in a waiter count of its caller's (the channel's ring or list
    /// word), which a notifier that takes its waker lowers on its behalf ("Async waiters",
    /// counted waiters).
    counted: bool,
}

impl AsyncSlot {
    /// Whether the future is in its queue (polled, `Pending`, not finished).
    pub(crate) fn is_registered(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the future is counted in its caller's waiter count (see [`AsyncSlot::set_counted`]).
    pub(crate) fn is_counted(&self) -> bool {
        self.counted
    }

    /// Records that the caller has counted the future in its own waiter count. Until the queue
    /// clears it again (it does when it finds the future notified: the notifier uncounted it),
    /// the caller must uncount the future itself when its wait ends, and must pass the
    /// queue's notify calls the `uncount` that lowers that count.
    pub(crate) fn set_counted(&mut self, counted: bool) {
        self.counted = counted;
    }
}

const ONE_SLEEPER: u64 = 1;
const SLEEPER_MASK: u64 = (1 << 32) - 1;
const ONE_PENDING: u64 = 1 << 32;

/// Waiters announced in a `sleepers` word.
#[inline]
fn waiters(word: u64) -> u64 {
    word & SLEEPER_MASK
}

/// Wakeups issued and not yet consumed, in a `sleepers` word.
#[inline]
fn pending(word: u64) -> u64 {
    word >> 32
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        WaitQueue {
            epoch: Futex::new(0),
            sleepers: AtomicU64::new(0),
            wakers: Mutex::new(WakerList { entries: VecDeque::new(), next_key: 0 }),
            armed: AtomicUsize::new(0),
            last_woken: AtomicU64::new(NO_KEY),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        WaitQueue {
            epoch: Futex::new(0),
            sleepers: AtomicU64::new(0),
            wakers: Mutex::new(WakerList::default()),
            armed: AtomicUsize::new(0),
            last_woken: AtomicU64::new(NO_KEY),
        }
    }

    /// Waits until `poll` returns `Some`, or until `deadline` (if any) passes.
    ///
    /// `poll` is called at least once, and once more after the deadline has passed, so a value
    /// made available just in time is still taken. Returns `None` only on timeout.
    pub(crate) fn wait_until<R>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.wait_until_phased(deadline, |_| poll())
    }

    /// [`WaitQueue::wait_until`] whose `poll` learns whether it runs in the park phase: `true`
    /// for the polls after the announce (each may be the last one before a sleep), `false` for
    /// the first poll and those of the spin and yield phases (each is followed by another
    /// poll). The channel joins its waiter count only when the park phase begins, so a wait
    /// that a spin or a yield ends never makes the other side pay the notify.
    pub(crate) fn wait_until_phased<R>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut(bool) -> Option<R>,
    ) -> Option<R> {
        if let Some(ready) = poll(false) {
            return Some(ready);
        }
        // One tail expression, no `R` kept in a local: `R` can be big (a channel's value comes
        // back in it), and unoptimised builds give every such local its own stack slot.
        match spin(deadline, || poll(false)) {
            Ok(ready) => Some(ready),
            Err(timer) => self.park_until(deadline, poll, timer),
        }
    }

    #[cold]
    fn park_until<R>(
        &self,
        deadline: Option<Instant>,
        mut poll: impl FnMut(bool) -> Option<R>,
        // Dropped when the park is over, however it ends: tells the spin how long it took.
        _timer: ParkTimer,
    ) -> Option<R> {
        loop {
            // ORDERING: Relaxed: the epoch carries no data. What our re-check sees is settled by
            // the fence below against the notifier's fence, whichever epoch we read; the
            // futex compares the word under its own lock. (Acquire here and Release on the
            // bump were tried: loom's ordering mutants showed neither is needed.)
            let epoch = self.epoch.load(Ordering::Relaxed);
            // ORDERING: Release: a notifier's Acquire claim that counts this waiter then
            // happens-after our epoch load above, so that load cannot read the epoch bump the
            // claim leads to (relaxed load buffering would let it: we would sleep on the new
            // epoch while counted as covered by the pending wakeup). The increment is ordered
            // before the re-check by the fence below.
            self.sleepers.fetch_add(ONE_SLEEPER, Ordering::Release);
            // ORDERING: the waiter's half of the Dekker handshake (module docs): pairs with
            // the fence in `notify_*`. Without it the re-check may read a stale condition while
            // the notifier reads a stale `sleepers == 0`: a lost wakeup (loom finds it).
            fence(Ordering::SeqCst);
            if let Some(ready) = poll(true) {
                self.leave();
                return Some(ready);
            }
            let in_time = match deadline {
                None => {
                    self.epoch.wait(epoch);
                    true
                }
                Some(deadline) => self.epoch.wait_until(epoch, deadline),
            };
            self.leave();
            // ORDERING: pairs with the fence of a notifier that skipped its wakeup because it
            // counted ours as pending (`notify_one`): either it saw our `leave` (and
            // woke someone), or our poll below sees its condition.
            fence(Ordering::SeqCst);
            if let Some(ready) = poll(true) {
                return Some(ready);
            }
            if !in_time {
                return None;
            }
        }
    }

    /// Leaves the waiter count and consumes one pending wakeup, if any (module docs: why every
    /// leave consumes one).
    #[inline]
    fn leave(&self) {
        // ORDERING: Relaxed; ordered before the caller's re-check by its fence. A notifier that
        // still counts us only issues a spare wakeup.
        let _ = self.sleepers.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| {
            let waiters = waiters(word) - 1;
            // Never more pending wakeups than waiters: a wakeup meant for a waiter that left
            // without consuming it must not silence later notifies.
            let pending = pending(word).saturating_sub(1).min(waiters);
            Some(waiters | (pending << 32))
        });
    }

    /// The async form of [`WaitQueue::wait_until`]: returns `Ready` with `poll`'s first `Some`,
    /// or registers `waker` (see the module docs) and returns `Pending`. `poll` runs once when
    /// it succeeds at once, else twice: before and after the registration's fence. Every
    /// `Pending` leaves the future registered; the caller polls again when woken, and calls
    /// [`WaitQueue::cancel`] if it is dropped first.
    pub(crate) fn poll_until<R>(
        &self,
        slot: &mut AsyncSlot,
        waker: &Waker,
        poll: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        debug_assert!(!slot.counted, "a counted future polls with `poll_until_counted`");
        self.poll_until_counted(slot, waker, false, || {}, poll)
    }

    /// [`WaitQueue::poll_until`] for a future its caller counts (see [`AsyncSlot::set_counted`]):
    /// a future that finds it was notified (so uncounted by its notifier) and must wait again
    /// is counted again with `recount` before it re-registers and re-checks. Afterwards the
    /// slot says whether the future is still counted.
    ///
    /// `just_failed`: the caller's own attempt, with the future not registered, has just found
    /// nothing, so the check before the registration is skipped (the one after its fence is
    /// what rules out a lost wakeup; the first is only a shortcut).
    pub(crate) fn poll_until_counted<R>(
        &self,
        slot: &mut AsyncSlot,
        waker: &Waker,
        just_failed: bool,
        recount: impl FnOnce(),
        mut poll: impl FnMut() -> Option<R>,
    ) -> Poll<R> {
        // Check first, registered or not: a future woken for a value usually finds it, and
        // then leaves without registering again (registering and leaving again cost a lock
        // each).
        if !(just_failed && slot.key.is_none()) {
            if let Some(ready) = poll() {
                self.unregister(slot);
                return Poll::Ready(ready);
            }
        }
        self.register(slot, waker, recount);
        // ORDERING: the waiter's half of the Dekker handshake, as in `park_until`: pairs with
        // the notifier's fence (loom finds the lost wakeup without it).
        fence(Ordering::SeqCst);
        match poll() {
            Some(ready) => {
                self.unregister(slot);
                Poll::Ready(ready)
            }
            None => Poll::Pending,
        }
    }

    /// Takes a registered future out of the queue, passing nothing on: for a queue whose only
    /// notify is [`WaitQueue::notify_all`], which wakes every waiter, or where only one waiter
    /// can ever wait (the parked receive's `filled_wait`, its owner's), so a dropped future's
    /// wakeup is nobody else's (a pass-on would only wake a later waiter for nothing).
    pub(crate) fn cancel_without_pass_on(&self, slot: &mut AsyncSlot) {
        debug_assert!(!slot.counted, "a counted future leaves with `cancel_with`");
        self.unregister(slot);
    }

    /// Takes a registered future out of the queue (its future is dropped unfinished) and
    /// returns whether it had been notified: the caller passes that unused wakeup on itself
    /// (the semaphore, whose line may be owed it: `semaphore/state.rs`).
    pub(crate) fn cancel_reporting(&self, slot: &mut AsyncSlot) -> bool {
        debug_assert!(!slot.counted, "a counted future leaves with `cancel_with`");
        self.unregister(slot)
    }

    /// Takes a registered future out of the queue (its future is dropped unfinished). A
    /// wakeup it was given and never used is passed on to another waiter.
    pub(crate) fn cancel(&self, slot: &mut AsyncSlot) {
        self.cancel_with(slot, uncounted_entry);
    }

    /// [`WaitQueue::cancel`] on a queue whose futures may be counted: `uncount` as for
    /// [`WaitQueue::notify_one_with`]. Afterwards the slot says whether the future is still
    /// counted (then the caller uncounts it).
    pub(crate) fn cancel_with(&self, slot: &mut AsyncSlot, uncount: impl Fn()) {
        if self.unregister(slot) {
            self.notify_one_with(uncount);
        }
    }

    /// Inserts the future's entry, or refreshes its waker. A future whose entry a notifier
    /// took meanwhile is counted again (`recount`, if it was counted) and gets a new entry,
    /// spending the wakeup on this poll.
    fn register(&self, slot: &mut AsyncSlot, waker: &Waker, recount: impl FnOnce()) {
        // The clone before the lock, and every waker dropped after it: both are the executor's
        // code, which may take locks of its own (or drop the last reference to a task whose
        // future then leaves this very queue, taking this lock again); a drop's panic is caught
        // (`drop_caught`), as a wake's is. A clone that panics leaves nothing changed (counted
        // again, with no entry for a notifier to uncount, we would stay counted). A re-poll
        // with the waker it registered clones for nothing; that poll is the rare one (a task
        // woken by something else), and every registration must clone.
        let waker = waker.clone();
        let mut list = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = slot.key {
            if let Some(entry) = list.find(key, slot.order).map(|index| &mut list.entries[index]) {
                let unused = if entry.waker.will_wake(&waker) {
                    waker
                } else {
                    std::mem::replace(&mut entry.waker, waker)
                };
                drop(list);
                drop_caught(unused);
                return;
            }
            // Notified, and polled again: count ourselves again before the new entry can be
            // taken (its notifier would uncount us) and before the caller's re-check. The new
            // entry keeps our place in line (`slot.order`).
            if slot.counted {
                recount();
            }
        } else {
            slot.order = list.next_key;
        }
        let key = Self::insert(&mut list, waker, slot.order, slot.counted);
        // The announcement: ordered before the caller's re-check by its fence.
        self.add_armed(&list, 1);
        drop(list);
        slot.key = Some(key);
    }

    /// Inserts an entry in its place in line (`order`) with a fresh key (a re-registration
    /// never reuses its old key, which `last_woken` may still hold) and returns the key.
    fn insert(list: &mut MutexGuard<'_, WakerList>, waker: Waker, order: u64, counted: bool) -> u64 {
        let key = list.next_key;
        list.next_key += 1;
        // Entries are sorted by `order`; a first registration goes last (`order == key`), the
        // common case, without the search and the shift of a `VecDeque::insert`.
        let entry = WakerEntry { key, order, waker, counted };
        if list.entries.back().is_none_or(|last| last.order < order) {
            list.entries.push_back(entry);
        } else {
            let index = list.entries.partition_point(|entry| entry.order < order);
            list.entries.insert(index, entry);
        }
        key
    }

    /// Removes the future's entry. Returns whether it had been notified (its wakeup unused); a
    /// notified future is no longer counted (its notifier uncounted it).
    fn unregister(&self, slot: &mut AsyncSlot) -> bool {
        let Some(key) = slot.key.take() else { return false };
        // ORDERING: Acquire pairs with the Release store in `take_one_waker`: the notifier's
        // removal of our entry happens before what we do next as a notified future. (Its
        // `uncount` comes after that store; the count is only ever changed by RMWs, so a
        // late uncount is a brief over-count: a spare notify check, never a lost wakeup.)
        let notified = self.last_woken.load(Ordering::Acquire) == key || {
            let mut list = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
            match list.find(key, slot.order) {
                Some(index) => {
                    let removed = list.entries.remove(index);
                    self.add_armed(&list, -1);
                    drop(list);
                    // The executor's code: outside the lock (see `register`), and caught.
                    if let Some(entry) = removed {
                        drop_caught(entry.waker);
                    }
                    false
                }
                // Taken by a notifier (a later `notify_one`, or `notify_all`, overwrote or
                // never wrote `last_woken`).
                None => true,
            }
        };
        if notified {
            slot.counted = false;
        }
        notified
    }

    /// Changes `armed` by `delta`. Only ever written with the list locked (the guard proves
    /// it), so a plain load and store do (no read-modify-write, no `lock` prefix).
    #[inline]
    fn add_armed(&self, _locked: &MutexGuard<'_, WakerList>, delta: isize) {
        // ORDERING: Relaxed: every write happens under the lock, which orders them; a
        // notifier's read outside it is ordered by the handshake's fences (module docs).
        let armed = self.armed.load(Ordering::Relaxed);
        // ORDERING: Relaxed, as the load above.
        self.armed.store(armed.wrapping_add_signed(delta), Ordering::Relaxed);
    }

    /// Takes the oldest entry out and returns its waker and whether it was counted, for
    /// `notify_one`'s slow path. `None` when no future waits.
    #[cold]
    fn take_one_waker(&self) -> Option<(Waker, bool)> {
        // ORDERING: Relaxed after the notifier's fence, as in `notify_one_after_fence`.
        if self.armed.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut list = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = list.entries.pop_front()?;
        self.add_armed(&list, -1);
        // ORDERING: Release pairs with the Acquire load in `unregister`: our removal of the
        // entry happens before the woken future acts as notified.
        self.last_woken.store(entry.key, Ordering::Release);
        Some((entry.waker, entry.counted))
    }

    /// Takes every entry out and returns their wakers and how many were counted, for
    /// `notify_all`.
    #[cold]
    fn take_all_wakers(&self) -> (Vec<Waker>, usize) {
        // ORDERING: Relaxed after the notifier's fence, as in `notify_one_after_fence`.
        if self.armed.load(Ordering::Relaxed) == 0 {
            return (Vec::new(), 0);
        }
        let mut list = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = std::mem::take(&mut list.entries);
        self.add_armed(&list, -(entries.len() as isize));
        drop(list);
        let counted = entries.iter().filter(|entry| entry.counted).count();
        (entries.into_iter().map(|entry| entry.waker).collect(), counted)
    }

    /// Wakes one parked waiter, if any. Call it after making the condition true.
    #[inline]
    pub(crate) fn notify_one(&self) {
        self.notify_one_with(uncounted_entry);
    }

    /// [`WaitQueue::notify_one`] on a queue whose futures may be counted by the caller (see
    /// [`AsyncSlot::set_counted`]): `uncount` runs once if the future woken was counted, and
    /// must lower that count by one (the future will not).
    #[inline]
    pub(crate) fn notify_one_with(&self, uncount: impl Fn()) {
        notifier_fence();
        self.notify_one_after_fence(uncount);
    }

    /// [`WaitQueue::notify_one_with`] for a caller that has issued the notifier's
    /// `fence(SeqCst)` itself, after making the condition true (it shares that fence with a
    /// handshake of its own: the channel's parked send, `channel/parked_send.rs`).
    #[inline]
    pub(crate) fn notify_one_after_fence(&self, uncount: impl Fn()) {
        self.notify_one_after_fence_reporting(uncount);
    }

    /// [`WaitQueue::notify_one`] that returns whether it woke a waiter: `false` when no future
    /// was registered and no parked thread was left without a wakeup already on its way.
    pub(crate) fn notify_one_reporting(&self) -> bool {
        notifier_fence();
        self.notify_one_after_fence_reporting(uncounted_entry)
    }

    /// [`WaitQueue::notify_one_after_fence`] that returns whether it woke a waiter.
    #[inline]
    fn notify_one_after_fence_reporting(&self, uncount: impl Fn()) -> bool {
        // ORDERING: Relaxed after the caller's fence (module docs): the threads' announcement
        // and the futures' (`armed`).
        let word = self.sleepers.load(Ordering::Relaxed);
        // ORDERING: Relaxed, as the load above.
        (self.armed.load(Ordering::Relaxed) != 0 || waiters(word) > pending(word))
            && self.wake_one_slow(uncount)
    }

    /// Whether a future is registered, for a caller that has issued the notifier's
    /// `fence(SeqCst)` after making its condition what it is: a future that registers later
    /// sees that condition in its re-check (the handshake of the module docs).
    pub(crate) fn has_async_waiters_after_fence(&self) -> bool {
        // ORDERING: Relaxed after the caller's fence, as in `notify_one_after_fence`.
        self.armed.load(Ordering::Relaxed) != 0
    }

    /// Wakes the oldest future, else one parked thread not yet covered by a pending wakeup;
    /// returns whether it woke one (a future whose waker panicked counts only if the wakeup
    /// passed on in its place reached someone).
    #[cold]
    fn wake_one_slow(&self, uncount: impl Fn()) -> bool {
        // Async waiters first; the wake runs outside the lock (a waker may poll inline).
        if let Some((waker, counted)) = self.take_one_waker() {
            if counted {
                uncount();
            }
            if wake_caught(waker) {
                // Its task lost the wakeup with its executor's bug; pass one on to the next
                // waiter, so that the chain goes on.
                return self.notify_one_after_fence_reporting(uncount);
            }
            return true;
        }
        // ORDERING: Acquire on success: pairs with the Release increment of each waiter we
        // count, so their epoch loads happen-before our bump below (see `park_until`); the
        // handshake itself is the caller's fence and the waiters' fences. Relaxed on failure:
        // nothing is claimed.
        let claimed = self.sleepers.fetch_update(Ordering::Acquire, Ordering::Relaxed, |word| {
            (waiters(word) > pending(word)).then_some(word + ONE_PENDING)
        });
        if claimed.is_ok() {
            self.wake_threads(false);
        }
        claimed.is_ok()
    }

    /// Wakes every parked waiter. Call it after making the condition true.
    #[inline]
    pub(crate) fn notify_all(&self) {
        self.notify_all_with(uncounted_entry);
    }

    /// [`WaitQueue::notify_all`] on a queue whose futures may be counted: `uncount` runs once
    /// per counted future woken (see [`WaitQueue::notify_one_with`]).
    #[inline]
    pub(crate) fn notify_all_with(&self, uncount: impl Fn()) {
        notifier_fence();
        // Futures first (`take_all_wakers` reads `armed`), then threads. Pending wakeups do not
        // matter here: every waiter is woken.
        let (wakers, counted) = self.take_all_wakers();
        (0..counted).for_each(|_| uncount());
        wake_every(wakers);
        // ORDERING: Acquire: pairs with the Release increment of each thread we count, so that
        // its epoch load happens-before our bump, as the claim in `wake_one_slow` does.
        if waiters(self.sleepers.load(Ordering::Acquire)) != 0 {
            self.wake_threads(true);
        }
    }

    /// Bumps the futex epoch and wakes one or every parked thread.
    #[cold]
    fn wake_threads(&self, all: bool) {
        // ORDERING: Relaxed: see the epoch load in `park_until`. The bump precedes the futex
        // wake in program order, and the kernel re-reads the word under its lock.
        self.epoch.fetch_add(1, Ordering::Relaxed);
        if all {
            self.epoch.wake_all();
        } else {
            self.epoch.wake_one();
        }
    }
}

/// The crate's one no-op waker, for polls that nobody is to be woken for (a `Selector`'s looks),
/// and for futures that skip registering when polled with it (`timer::Sleep`). One `static`
/// (found by review): each `Waker::noop()` call site may get its own copy of the waker's
/// vtable (a promoted constant, per codegen unit), so `will_wake(Waker::noop())` did not
/// recognise the selector's no-op waker in the timer's module. Read through this one reference,
/// every use sees the same data and vtable pointers.
pub(crate) static NOOP_WAKER: &Waker = Waker::noop();

/// A waker that unparks the calling thread: for a thread that polls futures itself and parks
/// between polls (the pipeline's channel source, `fan::merge`'s forwarders; std threads, not
/// loom's: no model runs these).
pub(crate) fn current_thread_waker() -> Waker {
    /// Unparks one thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    Waker::from(std::sync::Arc::new(Unpark(std::thread::current())))
}

/// Wakes every waker in `wakers` (see [`wake_caught`]).
pub(crate) fn wake_every(wakers: Vec<Waker>) {
    for waker in wakers {
        wake_caught(waker);
    }
}

/// Wakes `waker`, catching a panic from it: `true` when it panicked. A user's waker that panics
/// (a bug in an executor) then loses only its own task's wakeup, reported by the panic hook as
/// any panic is. Let through, the panic would unwind through whoever notified: a semaphore
/// acquirer that had just taken its permits and not yet wrapped them in a `Permit` lost them
/// for good that way, a notify's chain of wakeups stopped, and a disconnection left every
/// later waiter asleep (found by review in the seventeenth session; the timer thread already
/// caught them).
pub(crate) fn wake_caught(waker: Waker) -> bool {
    caught(|| waker.wake())
}

/// Drops `waker`, catching a panic from its drop (an executor's bug, as in [`wake_caught`]): a
/// queue drops a waker when a future leaves it or re-registers with another one, which happens
/// in a poll that may have just taken a permit or a value; a panic let through would lose it.
pub(crate) fn drop_caught(waker: Waker) {
    caught(move || drop(waker));
}

/// Runs `f`, catching a panic: `true` when it panicked (the panic hook has reported it). The
/// payload is dropped inside a catch too: a payload can be any type, and one whose own `Drop`
/// panics would otherwise unwind through the caller after all (`std::panic::catch_unwind`'s
/// docs warn of it); that second payload is leaked rather than risk a third. For code that must
/// survive the user's (or the executor's) panics: the wait queues, the timer thread, the pool's
/// workers.
pub(crate) fn caught(f: impl FnOnce()) -> bool {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let Err(payload) = catch_unwind(AssertUnwindSafe(f)) else { return false };
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    true
}

/// The `uncount` of queues whose futures are never counted.
#[inline]
pub(crate) fn uncounted_entry() {
    debug_assert!(false, "a counted future was notified through a call without `uncount`");
}
/// Whether this thread's waits currently spin before they yield (see [`spin`]): off while its
/// recent waits were all ended by a yield that ran the partner on our core. A caller that spins
/// on its own before a wait (the channel's unregistered spin) skips that spin too when off.
#[inline]
pub(crate) fn spinning_helps() -> bool {
    #[cfg(not(loom))]
    return adaptive::is_on();
    #[cfg(loom)]
    return true;
}

/// Spin rounds before parking. `Backoff::spin` doubles its pause count each round, so 6 rounds
/// are 1 + 2 + ... + 32 = 63 `pause`s: about 1-2.5 µs (1.5 µs on the 2-core AMD VM this crate is
/// developed on, about 2.5 µs where a `pause` is ~140 cycles). A partner that answers within
/// about a microsecond never sends us to the futex; a longer wait wastes at most that much CPU.
const SPIN_ROUNDS: u32 = 6;

/// `yield_now`s after the spin, at least (see [`spin`]). When the partner shares our core (2
/// threads per core, threads pinned to one CPU, a loaded machine) a yield lets it run at once and
/// the pair stays out of the futex. Measured on the 2-core VM, capacity-1 handoff: 2.6 µs per
/// message with spins only, 0.7 µs with 4 yields added.
#[cfg(not(loom))]
const YIELD_ROUNDS: u32 = 4;

/// The default of the longest the yield phase runs when the thread's recent waits show that a
/// wait this long is cheaper than a park (see [`spin`]): about what a futex park and wake-up
/// costs where it is dearest (a VM whose idle vCPU halts: 20-40 µs from `futex_wake` to the
/// woken thread running on the 2-core VM this crate is developed on; 5-10 µs on bare metal).
/// Users change it with [`crate::waiting::set_yield_phase_limit`].
pub(crate) const DEFAULT_LONG_YIELD_PHASE: Duration = Duration::from_micros(50);

/// The process-wide limit of the yield phase, in nanoseconds (see `DEFAULT_LONG_YIELD_PHASE`).
/// A setting, not a protocol: std's atomic in both builds (no loom model runs the yield phase).
static LONG_YIELD_PHASE_NANOS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_LONG_YIELD_PHASE.as_nanos() as u64);

/// The current limit of the yield phase.
#[inline]
pub(crate) fn long_yield_phase() -> Duration {
    // ORDERING: Relaxed: a setting read on its own; a thread that reads an older value for a
    // while only yields for the older limit.
    Duration::from_nanos(LONG_YIELD_PHASE_NANOS.load(std::sync::atomic::Ordering::Relaxed))
}

/// Sets the limit of the yield phase (saturating at `u64::MAX` ns).
pub(crate) fn set_long_yield_phase(limit: Duration) {
    let nanos = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX);
    // ORDERING: Relaxed, as the load in `long_yield_phase`.
    LONG_YIELD_PHASE_NANOS.store(nanos, std::sync::atomic::Ordering::Relaxed);
}

/// What a wait that the spin did not end hands to its park (see [`spin`]): dropping it when the
/// park is over, however the park ends, tells the adaptive spin how long the park took.
#[must_use = "keep it until the park is over: its drop tunes the next spin"]
pub(crate) struct ParkTimer {
    /// When the yield phase began, or for an untimed wait that needed no clock before, when
    /// its minimum yields were spent (`spin`).
    #[cfg(not(loom))]
    since: Instant,
}

impl Drop for ParkTimer {
    #[inline]
    fn drop(&mut self) {
        #[cfg(not(loom))]
        adaptive::parked_for(self.since.elapsed());
    }
}

/// The spin phase shared by every blocking wait in the crate: calls `poll` after each of
/// [`SPIN_ROUNDS`] growing spins, then after each `yield_now` of the yield phase, and returns
/// its first `Some`. Otherwise returns the [`ParkTimer`] the caller keeps while it parks.
/// Under loom the facade's `Backoff` is "completed" at once and there is no yield phase, so
/// models go straight to the park path.
///
/// **Adaptive**, with per-thread state (no shared line to bounce), in two ways:
///
/// - **Yield phase length.** At least [`YIELD_ROUNDS`] yields; up to [`long_yield_phase`] (from
///   the first yield, or from the last of the minimum rounds when nothing needed the clock
///   before) when this thread's last park was over within that time (a longer yield phase
///   would have caught the partner without a futex call on either side, and without the woken
///   thread's wake-up latency). A park that lasted longer (a slow producer, an idle consumer) shortens the phase
///   back to the minimum, so a thread that usually waits long burns no more than a few yields.
///   Measured on the 2-core VM, capacity-1 handoff: one side parking made the other park too,
///   about 1 message in 50 went through the futex (43 000 futex calls per 2 M messages, 200-600
///   ns per message); with the long phase 30 futex calls and about 120 ns per message.
/// - **Pause rounds.** A thread whose waits keep ending right after yields that gave its core
///   away (three in a row: the partner shares this core) skips the `pause` rounds, which cannot
///   help there (the partner cannot run while we spin), and yields at once. Every
///   `adaptive::FIRST_PROBE_GAP`th wait spins in full anyway (a probe; each probe that changes
///   nothing doubles the gap, up to `adaptive::MAX_PROBE_GAP`); a wait that the spin ends, or
///   that has to park (yielding did not help either), turns the spin back on.
///
/// Yields are bounded by time, not only by count: when other threads are runnable each yield
/// can hand the core away for a whole time slice, and the phase ends as soon as its time is up
/// (crossbeam's spin-and-yield collapse, its issue #821, comes from yielding without end).
#[inline]
pub(crate) fn spin<R>(
    deadline: Option<Instant>,
    mut poll: impl FnMut() -> Option<R>,
) -> Result<R, ParkTimer> {
    // An expired deadline (a zero timeout, a deadline in the past) skips the spin too: the
    // caller has polled once already, and the park that follows times out at once.
    #[cfg(not(loom))]
    let spin_now = adaptive::should_spin() && deadline.is_none_or(|deadline| Instant::now() < deadline);
    #[cfg(loom)]
    let spin_now = true;
    if spin_now {
        // Inline, not a helper shared with the unbounded receive's pre-spin: `R` can be a
        // 1 MiB value, and each extra frame holding an `Option<R>` overflows the stress tests'
        // 64 MiB stacks in unoptimised builds (measured).
        let backoff = Backoff::new();
        for _ in 0..SPIN_ROUNDS {
            if backoff.is_completed() {
                break;
            }
            backoff.spin();
            if let Some(ready) = poll() {
                #[cfg(not(loom))]
                adaptive::spin_helped();
                return Ok(ready);
            }
        }
    }
    #[cfg(not(loom))]
    {
        let phase = adaptive::yield_phase();
        let mut yields = 0u32;
        // The clock is read only where its answer is used. Before the first yield when the
        // yields are timed: a deadline, or a wait whose ending by a yield teaches the adaptive
        // spin something (`adaptive::yield_counts`). Otherwise first when the minimum rounds
        // are spent, and the phase's length runs from there: so the common wait of two threads
        // sharing a core, which the first yield ends, reads no clock (two reads per wait were
        // 6% of the one-CPU capacity-1 handoff's time: `perf`, the thirty-seventh session).
        let timed = deadline.is_some() || adaptive::yield_counts();
        let mut yields_began = timed.then(Instant::now);
        // The clock, read before each yield when there is a deadline (and after the minimum
        // rounds for the phase's length).
        let mut now = yields_began;
        loop {
            // A yield can hand the core away for a whole time slice when other threads are
            // runnable: never start one past the caller's deadline (a zero timeout under load
            // took 14 ms on average when the first rounds did not look).
            if let (Some(deadline), Some(now)) = (deadline, now) {
                if now >= deadline {
                    break;
                }
            }
            crate::sync::thread::yield_now();
            // Saturating: with a long yield phase (`set_yield_phase_limit` takes up to
            // `Duration::MAX`) an untimed wait may yield 2^32 times (about 17 minutes here).
            yields = yields.saturating_add(1);
            if let Some(ready) = poll() {
                // A yield that ran nothing else returns in well under a microsecond; an
                // average of `SWITCHED` or more per yield means some yield gave our core away.
                if let (true, Some(began)) = (timed, yields_began) {
                    if began.elapsed() >= adaptive::SWITCHED.saturating_mul(yields) {
                        adaptive::yield_helped();
                    }
                }
                return Ok(ready);
            }
            if deadline.is_some() || yields >= YIELD_ROUNDS {
                let reading = Instant::now();
                let began = *yields_began.get_or_insert(reading);
                now = Some(reading);
                if yields >= YIELD_ROUNDS && reading.duration_since(began) >= phase {
                    break;
                }
            }
        }
        adaptive::going_to_park();
        // Read by now: the loop ends only after a reading (the phase's or a deadline's).
        Err(ParkTimer { since: yields_began.unwrap_or_else(Instant::now) })
    }
    #[cfg(loom)]
    {
        let _ = deadline; // no yield phase under loom
        Err(ParkTimer {})
    }
}

/// Per-thread state of the adaptive spin (see [`spin`]).
#[cfg(not(loom))]
mod adaptive {
    use std::cell::Cell;
    use std::time::Duration;

    /// A `yield_now` that took this long ran another thread on our core (a bare `sched_yield`
    /// with nothing else runnable returns in well under a microsecond).
    pub(super) const SWITCHED: Duration = Duration::from_micros(3);

    /// While the spin is off, the waits between two that spin in full anyway (probes, to notice
    /// that the partner moved to another core), right after the spin was turned off.
    pub(super) const FIRST_PROBE_GAP: u32 = 16;

    /// The longest gap between probes. Each probe that the spin did not end doubles the gap up
    /// to this: a probe costs the whole spin (63 `pause`s, about 4 000 cycles on the AMD VM),
    /// and at a fixed gap of 16 that was about 250 cycles per wait of a thread whose partner
    /// shares its core (both threads pinned to one CPU). At 1 024 a partner that moved away is
    /// still noticed within about a millisecond of waits.
    const MAX_PROBE_GAP: u32 = 1024;

    /// Consecutive waits ended by a yield that gave the core away before the spin is turned
    /// off: one such wait can be a preemption, a run of them is a shared core.
    const STREAK_TO_SKIP: u32 = 3;

    thread_local! {
        /// `0`: spin. Otherwise the number of waits since the spin was turned off or since
        /// the last probe (`1`: this wait is a probe).
        static SKIPPED: Cell<u32> = const { Cell::new(0) };
        /// The waits between probes while the spin is off (`FIRST_PROBE_GAP` to `MAX_PROBE_GAP`).
        static PROBE_GAP: Cell<u32> = const { Cell::new(FIRST_PROBE_GAP) };
        /// Consecutive waits that a core-giving yield ended (while spinning).
        static STREAK: Cell<u32> = const { Cell::new(0) };
        /// Whether the yield phase runs up to `long_yield_phase()` (the last park was short).
        static LONG_PHASE: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether the spin is on (no side effect, unlike `should_spin`).
    #[inline]
    pub(super) fn is_on() -> bool {
        SKIPPED.with(Cell::get) == 0
    }

    #[inline]
    pub(super) fn should_spin() -> bool {
        SKIPPED.with(|skipped| match skipped.get() {
            0 => true,
            n => {
                let next = if n >= PROBE_GAP.with(Cell::get) { 1 } else { n + 1 };
                skipped.set(next);
                next == 1
            }
        })
    }

    /// Whether a yield that ends this wait would change the adaptive state (`yield_helped`
    /// acts only while the spin is on, or on a probe): when not, the wait need not time its
    /// yields. Read after this wait's `should_spin`, as `yield_helped` reads it.
    #[inline]
    pub(super) fn yield_counts() -> bool {
        SKIPPED.with(Cell::get) <= 1
    }

    /// How long this wait's yield phase may run (beyond the minimum count of yields).
    #[inline]
    pub(super) fn yield_phase() -> Duration {
        if LONG_PHASE.with(Cell::get) { super::long_yield_phase() } else { Duration::ZERO }
    }

    /// The spin ended the wait: keep spinning.
    #[inline]
    pub(super) fn spin_helped() {
        turn_on();
    }

    /// Spin from the next wait on (and probe early once the spin is turned off again).
    #[inline]
    fn turn_on() {
        SKIPPED.with(|skipped| skipped.set(0));
        STREAK.with(|streak| streak.set(0));
        PROBE_GAP.with(|gap| gap.set(FIRST_PROBE_GAP));
    }

    /// A yield that ran another thread on our core ended the wait.
    #[inline]
    pub(super) fn yield_helped() {
        match SKIPPED.with(Cell::get) {
            0 => {}
            // A probe, and the spin did not end it: probe half as often.
            1 => return PROBE_GAP.with(|gap| gap.set((gap.get() * 2).min(MAX_PROBE_GAP))),
            _ => return,
        }
        STREAK.with(|streak| {
            let run = streak.get() + 1;
            if run >= STREAK_TO_SKIP {
                streak.set(0);
                SKIPPED.with(|skipped| skipped.set(1));
            } else {
                streak.set(run);
            }
        });
    }

    /// Neither the spin nor the yields ended the wait: the partner is slow or on another core,
    /// so yielding is not what helps; spin again next time (the spin is cheap next to a park).
    #[inline]
    pub(super) fn going_to_park() {
        turn_on();
    }

    /// The park that followed a spin is over, `waited` after the yield phase began: a long
    /// yield phase would have caught it when that is within `long_yield_phase()`.
    #[inline]
    pub(super) fn parked_for(waited: Duration) {
        LONG_PHASE.with(|long| long.set(waited <= super::long_yield_phase()));
    }
}

/// The notifier's half of the handshake: after the caller made its condition true, before it
/// reads `sleepers`.
#[inline]
fn notifier_fence() {
    // ORDERING: the notifier's half of the Dekker handshake (module docs): orders the caller's
    // publication of the condition before the `sleepers` and `armed` loads that follow.
    fence(Ordering::SeqCst);
}

/// The deadline `timeout` from now, or `None` ("wait forever") when it cannot be represented
/// (for example `Duration::MAX`): a huge timeout never panics.
#[inline]
#[must_use]
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

#[cfg(all(test, not(loom)))]
pub(crate) mod tests {
    use super::adaptive;

    #[test]
    fn wake_every_wakes_the_rest_past_a_waker_that_panics_and_catches_it() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::{Wake, Waker};
        struct Counts(AtomicUsize);
        impl Wake for Counts {
            fn wake(self: Arc<Self>) {
                // ORDERING: Relaxed: one thread; the test reads it after the wakes.
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        struct Panics;
        impl Wake for Panics {
            fn wake(self: Arc<Self>) {
                panic!("a user's waker panics");
            }
        }
        let counts = Arc::new(Counts(AtomicUsize::new(0)));
        let wakers = vec![
            Waker::from(counts.clone()),
            Waker::from(Arc::new(Panics)),
            Waker::from(counts.clone()),
            Waker::from(counts.clone()),
        ];
        super::wake_every(wakers);
        // ORDERING: Relaxed: the wakes ran on this thread.
        assert_eq!(counts.0.load(Ordering::Relaxed), 3, "every other waker was woken");
        assert!(super::wake_caught(Waker::from(Arc::new(Panics))), "a panic is caught and reported");
        assert!(!super::wake_caught(Waker::from(counts.clone())));
    }

    /// Runs `waits` waits of an adaptive spin whose state `should_spin` reads (a `true` is a
    /// wait that spins: with the spin off, a probe); `ended(probed)` reports how each wait
    /// ended. Returns the waits from one spinning wait to the next.
    pub(crate) fn probe_gaps(waits: u32, should_spin: impl Fn() -> bool, ended: impl Fn(bool)) -> Vec<u32> {
        let mut gaps = Vec::new();
        let mut since = 0;
        for _ in 0..waits {
            since += 1;
            let probed = should_spin();
            if probed {
                gaps.push(since);
                since = 0;
            }
            ended(probed);
        }
        gaps
    }

    /// [`probe_gaps`] of the blocking waits, each ended by a yield that gave the core away.
    fn blocking_probe_gaps(waits: u32) -> Vec<u32> {
        probe_gaps(waits, adaptive::should_spin, |_| adaptive::yield_helped())
    }

    #[test]
    fn probes_back_off_while_the_spin_finds_nothing_and_reset_when_it_helps() {
        // A thread of its own: the state is per thread.
        std::thread::spawn(|| {
            for _ in 0..3 {
                assert!(adaptive::should_spin(), "the spin is on until a streak turns it off");
                adaptive::yield_helped();
            }
            assert!(!adaptive::is_on(), "three core-giving yields in a row turn the spin off");
            let gaps = blocking_probe_gaps(16 + 32 + 64 + 128 + 256 + 512 + 1024 + 1024 + 1024);
            assert_eq!(gaps, [16, 32, 64, 128, 256, 512, 1024, 1024, 1024]);
            // A probe that the spin ends turns it on, and the next off period starts over.
            while !adaptive::should_spin() {}
            adaptive::spin_helped();
            assert!(adaptive::is_on());
            for _ in 0..3 {
                assert!(adaptive::should_spin());
                adaptive::yield_helped();
            }
            assert_eq!(blocking_probe_gaps(16 + 32), [16, 32]);
            // So does a wait that has to park.
            adaptive::going_to_park();
            assert!(adaptive::is_on());
        })
        .join()
        .expect("the checks passed");
    }

    /// The waits between probes when every wait is ended by a core-giving yield, and only the
    /// waits that `yield_counts` names report it (the others read no clock, so cannot tell).
    fn probe_gaps_reporting_counted_yields_only(waits: u32) -> Vec<u32> {
        probe_gaps(waits, adaptive::should_spin, |probed| {
            assert_eq!(adaptive::yield_counts(), probed, "timed: the waits that spin, probes included");
            if adaptive::yield_counts() {
                adaptive::yield_helped();
            }
        })
    }

    #[test]
    fn untimed_yields_would_not_have_taught_the_spin_anything() {
        // Each on a thread of its own, from the same fresh state: the adaptive spin moves
        // alike whether every wait reports its core-giving yield or only the timed ones do.
        let waits = 3 + 16 + 32 + 64 + 128 + 256 + 512 + 1024 + 1024;
        let every = std::thread::spawn(move || blocking_probe_gaps(waits)).join().expect("no panic");
        let timed = std::thread::spawn(move || probe_gaps_reporting_counted_yields_only(waits))
            .join()
            .expect("the checks passed");
        assert_eq!(every, timed);
        assert_eq!(timed, [1, 1, 1, 16, 32, 64, 128, 256, 512, 1024, 1024]);
    }
}
