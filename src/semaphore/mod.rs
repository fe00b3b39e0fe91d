//! A counting semaphore with RAII permits: [`Semaphore`], [`Permit`], [`OwnedPermit`].
//!
//! # The state
//!
//! One `AtomicUsize`, `state`: the low bits count the available permits; the top bit, `HEAD`,
//! says "a blocked acquirer is at the head of the line", and the next, `LINE` (only ever with
//! `HEAD`), says "the head role is the line's: the line has its turn" (rules in `state.rs`). Two
//! [`WaitQueue`]s: `head_queue`, where only the head waits, and `waiters`, where every other
//! blocked acquirer waits. A second word, `total` (available plus held permits), is touched
//! only by `add_permits` and `forget`; it keeps the count below `MAX_PERMITS`, so the permit
//! bits never reach `LINE`.
//!
//! # The protocol
//!
//! - **Fast path** (`acquire*`, `try_acquire*`): if `HEAD` is clear and `n` permits are
//!   available, one CAS takes them (Acquire). If `HEAD` is set, it fails even when permits are
//!   free: they are the head's.
//! - **Release** (a permit's drop, `add_permits`): `prev = fetch_add(n)` (Release); only if
//!   `prev` has `HEAD` set, wake the head on `head_queue`, or with `LINE` too, one waiter of
//!   `waiters` per permit (rule 6). No fence and no system call otherwise.
//! - **The line** (the fast path failed): wait on `waiters` with a poll that, when `HEAD` is
//!   clear, takes `n` permits if available (`Took`) or else sets `HEAD` (`BecameHead`); when
//!   `HEAD` is set, it keeps waiting.
//! - **The head** waits on `head_queue` with a poll that takes `n` permits and clears `HEAD` in
//!   one CAS. Served or timed out (then it clears `HEAD` and takes nothing), it wakes the parked
//!   waiters on `waiters`: they take permits, or one of them becomes the next head.
//! - **The line's turn** (rule 6): a slow-path take that leaves no permit while futures wait in
//!   the line sets `HEAD | LINE` instead of waking a waiter that would find nothing.
//!
//! # Why no wakeup is lost
//!
//! The waiting layer ([`crate::wait`]) guarantees that a waiter that re-checked its condition
//! after its fence and found it false is woken by any notifier that makes the condition true
//! and then notifies (the Dekker handshake of its two `fence(SeqCst)`s). So each blocked thread
//! needs someone who will notify its queue after making its condition true:
//!
//! 1. **The head is woken by releases.** The head set `HEAD` with an RMW on `state`; every
//!    release is an RMW on `state` too, so the two are ordered in the word's modification order.
//!    If the release comes later, its `fetch_add` returns a value with `HEAD` set and it
//!    notifies `head_queue`: the handshake then covers the head's park. If the release comes
//!    earlier, the head's `HEAD`-setting CAS already read a value that includes the released
//!    permits, and so does every later poll of the head (coherence): that release owed it
//!    nothing. No fence is needed on the uncontended release path for this. While `HEAD` is set
//!    the available count only grows (only the head may take), so the head is served as soon as
//!    `n` permits have been released after it became the head.
//! 2. **A parked non-head is woken when the line loses its head.** A non-head parks only after
//!    its poll (after the waiting layer's fence) saw `HEAD` set. `HEAD` is cleared only by the
//!    head, which then notifies `waiters`. So no waiter is ever parked on a semaphore without a
//!    head that will notify it, or on a notification already under way.
//! 3. **That notification wakes one parked waiter, and the wakeup is chained.** The woken
//!    waiter re-polls: it becomes the head (and will notify when it leaves the role), or sees
//!    another head (which will), or takes permits without becoming the head; in that last case
//!    it passes the wakeup on with `notify_one` (a chained wakeup), so the next parked waiter
//!    re-polls in turn. Each step either installs a head or wakes the next waiter, until no
//!    waiter is parked. (An earlier version used `notify_all` here, because loom found a lost
//!    wakeup in the waiting layer's pending-wakeup count: a wakeup counted for a waiter that
//!    left on its own could hide a waiter parked after it. `src/wait.rs` now consumes a
//!    pending wakeup on every leave, and the models pass with `notify_one`.)
//! 4. **Timeouts lose nothing.** A timed-out non-head changed nothing. The waiting layer
//!    re-checks after every wakeup before giving up, so a woken waiter that could take permits
//!    or the head role does so rather than swallowing the wakeup. A timed-out head clears `HEAD`
//!    (permits released meanwhile stay available) and notifies `waiters` like a served one.
//!
//! 5. **Async acquirers are waiters of the same queues.** A future's poll
//!    (`Semaphore::poll_take`) runs the blocking path's steps as a state machine: the fast path,
//!    then `poll_in_line` on `waiters`, then `poll_as_head` on `head_queue`, through the waiting
//!    layer's `poll_until` (register the waker, fence, re-check: the same handshake as a park),
//!    and it notifies exactly where a thread does (a `Took` chains the wakeup; a served head
//!    wakes the line; either may give the line its turn instead, rule 6). Rules 1-3 hold for it
//!    unchanged. Leaving early is a drop: a future in the line leaves the queue, and passes on
//!    a wakeup it was given and never used (to the next waiter, or as rule 6 says during the
//!    line's turn), so the chain of rule 3 is not broken; a future that is the head leaves
//!    `head_queue` and gives the role up as a timed-out head does (rule 4: clear `HEAD`, then
//!    notify `waiters`). Permits change hands only in the claim CAS of the poll that
//!    returns `Ready` (the head takes its `n` in one CAS, never a few at a time), so a dropped
//!    future holds none: nothing is stranded and the count stays exact.
//!
//! 6. **The line's turn.** A waiter that takes its permits on the slow path (from the line, or
//!    as the head) and leaves none would wake a waiter of the line only for it to find nothing,
//!    become the head and wait a second time: two wakeups for one acquire. When futures wait in
//!    the line it sets `HEAD | LINE` instead (after a `fence(SeqCst)` and a look at the queue:
//!    a future that registers after that look sees the state it left in its re-check, and
//!    becomes the head as rule 2 wants; only threads waiting, it wakes one as rule 3 does). Every
//!    release that sees `LINE` wakes one waiter of the line per permit it brings (the RMW order
//!    argument of rule 1 applies unchanged), or, when nobody is left there to wake, clears the
//!    turn and notifies once more (so a waiter that registered meanwhile, saw the turn and
//!    waited, is woken). So while the turn lasts every available permit has a waiter woken for
//!    it, and a waiter that takes during the turn wakes nobody; a woken future dropped before
//!    its next poll wakes another in its place (or ends the turn), and a woken thread always
//!    re-checks before it gives up (rule 4). During the turn only a waiter that was in the line
//!    before its current poll may take: a newcomer (the task whose release woke the waiter,
//!    acquiring again) waits behind it. A waiter woken for fewer permits than it asks for
//!    becomes the head (the turn ends; head-of-line); one polled with nothing there keeps
//!    waiting.
//!
//! The loom models in `loom-tests/semaphore.rs` (and `loom-tests/semaphore_async.rs`, for the
//! futures) check these rules: a lost wakeup is a loom
//! deadlock, a missing Acquire/Release a data race on the cell the permit guards.
//!
//! # Fairness, and what is not promised
//!
//! **Head-of-line.** While a waiter is the head, nobody else takes permits: not newcomers, not
//! `try_acquire`, not other waiters. A waiter asking for many permits therefore cannot be starved
//! by a stream of single-permit acquirers once it is the head: it is served as soon as `n`
//! permits have been released. An acquirer that finds no head becomes the head at its first
//! poll, so a large request among acquirers that do not block (they find permits) is the head
//! at once.
//!
//! **Not FIFO behind the head, except during the line's turn.** When the head leaves, the parked
//! waiters, newcomers and threads still spinning race for the permits and the head role;
//! nothing promises that the longest waiting one wins. While the line has its turn (futures
//! wait, and the permits ran out) each release goes to the oldest waiting future, and newcomers
//! wait behind the line: then contended async acquires are served in order, one wakeup each.
//! tokio's semaphore is strictly FIFO, at the price of a mutex-protected waiter list on every
//! contended acquire and release. Here the uncontended paths are one CAS (acquire) and
//! one `fetch_add` (release).
//!
//! A request of `n` permits with `n` above what the semaphore will ever own blocks every later
//! acquirer once it is the head (as in tokio); `n > MAX_PERMITS` can never succeed and panics.

mod error;
mod future;
mod owned;
mod permit;
mod state;

pub use error::TooManyPermits;
pub use future::{AcquireFuture, AcquireOwnedFuture};
pub use permit::{OwnedPermit, Permit};

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::wait::{WaitQueue, deadline_after};
use state::{HEAD, PERMITS};
use std::fmt;
use std::time::{Duration, Instant};

/// A counting semaphore: at most N holders of its permits at once; dropping a permit returns it.
///
/// Use it to limit concurrency: N threads (or tasks, through [`OwnedPermit`]) in a section, N
/// connections, N bytes of buffer (with [`acquire_many`](Semaphore::acquire_many)).
///
/// - **Fast.** Acquiring a free permit is one compare-and-swap; releasing is one `fetch_add` and
///   makes a futex call only when a blocked acquirer waits for it. A blocked acquire spins for
///   about 1-2 µs, then sleeps on a futex.
/// - **Head-of-line fairness.** The first acquirer that has to wait becomes the *head*: from then
///   on nobody else (newcomers, [`try_acquire`](Semaphore::try_acquire), other waiters) takes
///   permits until the head is served, so a request for many permits is not starved by a stream
///   of single-permit acquirers. Waiters behind the head are not served in FIFO order, except
///   async ones while the permits run short: each release then wakes the oldest waiting future,
///   and a task that releases and acquires again waits behind it rather than taking the permit
///   back (one wakeup per contended async acquire).
/// - **No lost wakeups** (model-checked with loom): a blocked acquirer is woken whenever the
///   permits it waits for are released, or the head role it waits for is free.
/// - **Async.** [`acquire_async`](Semaphore::acquire_async) and
///   [`acquire_many_async`](Semaphore::acquire_many_async) (and `*_owned_async` on an `Arc`)
///   return runtime-agnostic, cancel-safe futures that wait in the same line as blocking
///   acquirers: a dropped future has taken nothing and, if it was the head, hands the line on.
/// - **Timeouts.** `*_timeout(Duration)` and `*_deadline(Instant)` wait at most that long and then
///   return `None` with nothing taken; `Duration::MAX` waits forever.
/// - **Memory.** A permit's release happens-before the next acquisition of it: what a holder
///   wrote in its section is visible to the next holder.
///
/// # Examples
///
/// At most two of six threads inside the section at once:
///
/// ```
/// use ringfence::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::thread;
///
/// let semaphore = Semaphore::new(2);
/// let inside = AtomicUsize::new(0);
/// let most = AtomicUsize::new(0);
/// thread::scope(|s| {
///     for _ in 0..6 {
///         s.spawn(|| {
///             let _permit = semaphore.acquire();
///             let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///             most.fetch_max(now, Ordering::SeqCst);
///             thread::yield_now(); // ... the limited work ...
///             inside.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert!(most.load(Ordering::SeqCst) <= 2);
/// assert_eq!(semaphore.available_permits(), 2);
/// ```
pub struct Semaphore {
    /// Available permits (low bits) and `HEAD` (top bit). Every write is an RMW. Rules in
    /// `state.rs`; protocol in the module docs.
    state: AtomicUsize,
    /// The permits this semaphore owns, available plus held: starts at `new`'s count, grows with
    /// `add_permits` (checked against `MAX_PERMITS` before anything is added), shrinks when a
    /// permit is forgotten. Cold: no acquire or release touches it.
    total: AtomicUsize,
    /// Where the head waits for permits; notified by releases that see `HEAD`.
    head_queue: WaitQueue,
    /// Where blocked acquirers that are not the head wait for the head role to be free;
    /// notified by a head that leaves the role (one of them; each woken waiter that cannot take
    /// the role passes the wakeup on: rule 3 in the module docs).
    waiters: WaitQueue,
}

/// How long an acquire may wait.
#[derive(Clone, Copy)]
enum Wait {
    /// Not at all (`try_*`).
    No,
    /// Until the deadline; `None`: forever.
    Until(Option<Instant>),
}

const FOREVER: Wait = Wait::Until(None);

impl Semaphore {
    /// The most permits a semaphore can own, available and held together: `usize::MAX >> 3`
    /// (2^61 - 1 on 64-bit targets), as tokio.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    ///
    /// let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    /// assert_eq!(semaphore.available_permits(), usize::MAX >> 3);
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` available permits. `const`, so it can be a `static`.
    ///
    /// # Panics
    ///
    /// If `permits > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot create a semaphore with more than Semaphore::MAX_PERMITS permits"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    ///
    /// static CONNECTIONS: Semaphore = Semaphore::new(8);
    ///
    /// let connection = CONNECTIONS.acquire();
    /// assert_eq!(CONNECTIONS.available_permits(), 7);
    /// drop(connection);
    /// assert_eq!(CONNECTIONS.available_permits(), 8);
    /// ```
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "cannot create a semaphore with more than Semaphore::MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits),
            total: AtomicUsize::new(permits),
            head_queue: WaitQueue::new(),
            waiters: WaitQueue::new(),
        }
    }

    /// A semaphore with `permits` available permits (loom's atomics have no `const` constructor).
    ///
    /// # Panics
    ///
    /// If `permits > Semaphore::MAX_PERMITS`.
    #[cfg(loom)]
    #[must_use]
    pub fn new(permits: usize) -> Self {
        assert!(
            permits <= Self::MAX_PERMITS,
            "cannot create a semaphore with more than Semaphore::MAX_PERMITS permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits),
            total: AtomicUsize::new(permits),
            head_queue: WaitQueue::new(),
            waiters: WaitQueue::new(),
        }
    }

    /// [`Semaphore::new`] that returns an error instead of panicking when `permits` is more
    /// than [`Semaphore::MAX_PERMITS`].
    ///
    /// # Errors
    ///
    /// [`TooManyPermits`] when `permits > Semaphore::MAX_PERMITS`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    ///
    /// assert_eq!(Semaphore::try_new(3).unwrap().available_permits(), 3);
    /// assert!(Semaphore::try_new(Semaphore::MAX_PERMITS + 1).is_err());
    /// ```
    pub fn try_new(permits: usize) -> Result<Self, TooManyPermits> {
        if permits > Self::MAX_PERMITS {
            return Err(TooManyPermits::creating(permits));
        }
        Ok(Semaphore::new(permits))
    }

    /// The permits available right now.
    ///
    /// A snapshot. While an acquirer waits at the head of the line, available permits are
    /// reserved for it: [`try_acquire`](Semaphore::try_acquire) fails even though this is not 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(3);
    /// let _held = semaphore.acquire_many(2);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    #[must_use]
    #[inline]
    pub fn available_permits(&self) -> usize {
        // ORDERING: Relaxed: a snapshot that orders nothing (permits are taken by CAS only).
        self.state.load(Ordering::Relaxed) & PERMITS
    }

    /// Adds `n` permits, waking the acquirer at the head of the line if there is one.
    ///
    /// What the caller did before `add_permits` is visible to whoever acquires the added permits.
    ///
    /// # Panics
    ///
    /// If the semaphore would then own (available plus held) more than
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS), with the message `"cannot add {n} permits: the
    /// semaphore would own more than Semaphore::MAX_PERMITS ({MAX_PERMITS}) permits"`. Nothing is
    /// added then.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(0);
    /// assert!(semaphore.try_acquire().is_none());
    /// semaphore.add_permits(2);
    /// assert_eq!(semaphore.try_acquire_many(2).map(|p| p.num_permits()), Some(2));
    /// ```
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        if let Err(error) = self.try_add_permits(n) {
            panic!("{error}");
        }
    }

    /// [`Semaphore::add_permits`] that returns an error instead of panicking when the semaphore
    /// would own more than [`Semaphore::MAX_PERMITS`] permits (nothing is added then).
    ///
    /// # Errors
    ///
    /// [`TooManyPermits`] with `n` when available plus held permits would pass the bound.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    ///
    /// let semaphore = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    /// assert!(semaphore.try_add_permits(1).is_ok());
    /// assert_eq!(semaphore.try_add_permits(1).unwrap_err().permits(), 1);
    /// assert_eq!(semaphore.available_permits(), Semaphore::MAX_PERMITS);
    /// ```
    pub fn try_add_permits(&self, n: usize) -> Result<(), TooManyPermits> {
        if n == 0 {
            return Ok(());
        }
        self.grow_total(n).map_err(|_| TooManyPermits::adding(n))?;
        self.release(n);
        Ok(())
    }

    /// Removes up to `n` of the available permits for good, and returns how many it removed
    /// (fewer than `n` when fewer are available; held permits are not touched). The semaphore
    /// owns that many fewer from now on, as if permits holding them had been
    /// [`forget`](Permit::forget)-ed; [`add_permits`](Semaphore::add_permits) can add them back.
    /// As tokio's `Semaphore::forget_permits`. Never waits.
    ///
    /// Permits reserved for the acquirer at the head of the line (see
    /// [`available_permits`](Semaphore::available_permits)) are available, so they can be
    /// removed: the head then waits for more. Removing permits never wakes anyone.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(5);
    /// let held = semaphore.acquire_many(2);
    /// assert_eq!(semaphore.forget_permits(4), 3); // only 3 were available
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(held);
    /// assert_eq!(semaphore.available_permits(), 2); // the semaphore owns 2 now
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.forget_available(n)
    }

    /// The shared core of every acquire: takes `n` permits, waiting as `wait` allows.
    /// Returns `false` only when it gave up (nothing taken).
    #[inline]
    fn take(&self, n: usize, wait: Wait) -> bool {
        if n > Self::MAX_PERMITS {
            too_many(n);
        }
        if n == 0 || self.try_take(n) {
            return true;
        }
        match wait {
            Wait::No => false,
            Wait::Until(deadline) => self.take_slow(n, deadline),
        }
    }

    /// Acquires one permit, waiting as long as it takes.
    ///
    /// Blocks by spinning for about 1-2 µs, then sleeping on a futex.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(1);
    /// let permit = semaphore.acquire();
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    #[inline]
    pub fn acquire(&self) -> Permit<'_> {
        self.acquire_many(1)
    }

    /// Acquires `n` permits at once, waiting as long as it takes. `n == 0` returns an empty
    /// permit at once.
    ///
    /// Once this call waits at the head of the line, nobody else takes permits until it is
    /// served (see [`Semaphore`]). If the semaphore never owns `n` permits (see
    /// [`add_permits`](Semaphore::add_permits)), it waits forever.
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS` (it could never succeed), with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(4);
    /// let permit = semaphore.acquire_many(3);
    /// assert_eq!(permit.num_permits(), 3);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn acquire_many(&self, n: usize) -> Permit<'_> {
        let taken = self.take(n, FOREVER);
        debug_assert!(taken, "an untimed acquire only returns when served");
        Permit::new(self, n)
    }

    /// Acquires one permit if one is available and no acquirer waits at the head of the line;
    /// never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(1);
    /// let permit = semaphore.try_acquire().expect("one is free");
    /// assert!(semaphore.try_acquire().is_none());
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_some());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.try_acquire_many(1)
    }

    /// Acquires `n` permits if they are available and no acquirer waits at the head of the line
    /// (the head's claim comes first, see [`Semaphore`]); never blocks. `n == 0` always succeeds.
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(2);
    /// assert!(semaphore.try_acquire_many(3).is_none());
    /// let both = semaphore.try_acquire_many(2).expect("two are free");
    /// assert_eq!(both.num_permits(), 2);
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn try_acquire_many(&self, n: usize) -> Option<Permit<'_>> {
        self.take(n, Wait::No).then(|| Permit::new(self, n))
    }

    /// Acquires one permit, waiting at most `timeout`; `None` if it timed out (nothing is
    /// taken). `Duration::MAX` waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let semaphore = ringfence::Semaphore::new(1);
    /// let held = semaphore.acquire();
    /// assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_none());
    /// drop(held);
    /// assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_some());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<Permit<'_>> {
        self.acquire_many_timeout(1, timeout)
    }

    /// Acquires `n` permits, waiting at most `timeout`; `None` if it timed out (nothing is taken,
    /// and the head of the line is free again). `Duration::MAX` waits forever; `n == 0` succeeds
    /// at once.
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let semaphore = ringfence::Semaphore::new(2);
    /// let _one = semaphore.acquire();
    /// assert!(semaphore.acquire_many_timeout(2, Duration::from_millis(5)).is_none());
    /// assert_eq!(semaphore.available_permits(), 1); // nothing taken
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_many_timeout(&self, n: usize, timeout: Duration) -> Option<Permit<'_>> {
        self.take(n, Wait::Until(deadline_after(timeout))).then(|| Permit::new(self, n))
    }

    /// Acquires one permit, waiting until `deadline` at most; `None` if it passed (nothing is
    /// taken). A deadline in the past still takes a permit that is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let semaphore = ringfence::Semaphore::new(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// let first = semaphore.acquire_deadline(deadline);
    /// assert!(first.is_some());
    /// assert!(semaphore.acquire_deadline(deadline).is_none());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<Permit<'_>> {
        self.acquire_many_deadline(1, deadline)
    }

    /// Acquires `n` permits, waiting until `deadline` at most; `None` if it passed (nothing is
    /// taken). `n == 0` succeeds at once.
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let semaphore = ringfence::Semaphore::new(3);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(semaphore.acquire_many_deadline(3, deadline).map(|p| p.num_permits()), Some(3));
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_many_deadline(&self, n: usize, deadline: Instant) -> Option<Permit<'_>> {
        self.take(n, Wait::Until(Some(deadline))).then(|| Permit::new(self, n))
    }
}

/// The async acquires (the futures and the protocol they follow: `future.rs`, `state.rs`).
impl Semaphore {
    /// Acquires one permit asynchronously: the future resolves to the [`Permit`] once it is
    /// taken. Async and blocking acquirers share the semaphore and its head-of-line fairness
    /// (see [`Semaphore`]).
    ///
    /// The future does nothing until polled; its first poll takes a free permit at once if no
    /// acquirer waits at the head of the line. For a time limit, wrap it in
    /// [`timer::timeout`](crate::timer::timeout) (any executor) or your runtime's own timeout:
    /// cancelling is safe.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future (a `select!` that another branch won, a timeout)
    /// returns whatever it had taken, which is nothing: the permit is taken only in the poll
    /// that returns it. A future dropped while it waits at the head of the line gives the head
    /// role up and wakes the waiters behind it; one dropped after a release woke it passes the
    /// wakeup on. The future's own docs (`AcquireFuture`) say more.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let semaphore = ringfence::Semaphore::new(1);
    /// let permit = semaphore.acquire_async().await;
    /// assert_eq!(semaphore.available_permits(), 0);
    /// drop(permit);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// # });
    /// ```
    #[inline]
    #[track_caller]
    pub fn acquire_async(&self) -> AcquireFuture<'_> {
        self.acquire_many_async(1)
    }

    /// Acquires `n` permits at once, asynchronously: the future resolves to a [`Permit`] for
    /// all `n`. `n == 0` resolves at its first poll.
    ///
    /// Once the future waits at the head of the line, nobody else (async or blocking) takes
    /// permits until it is served, so a stream of single-permit acquirers cannot starve it (see
    /// [`Semaphore`]). If the semaphore never owns `n` permits it waits forever, holding up
    /// everyone behind it, as [`acquire_many`](Semaphore::acquire_many) does.
    ///
    /// # Panics
    ///
    /// At once (not when polled) if `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the `n` permits are taken together, in one compare-and-swap, in the poll
    /// that returns them; the head never collects them one by one. So a dropped future returns
    /// what it had taken, nothing, and leaves the permits released meanwhile available. A
    /// dropped head gives the role up and wakes the waiters behind it, as a head that timed out.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let semaphore = ringfence::Semaphore::new(4);
    /// let one = semaphore.acquire_async().await;
    /// // `all` waits at the head of the line for 4; the other branch releases the missing one.
    /// let (all, ()) = tokio::join!(semaphore.acquire_many_async(4), async {
    ///     tokio::task::yield_now().await;
    ///     assert!(semaphore.try_acquire().is_none()); // 3 are free, but reserved for the head
    ///     drop(one);
    /// });
    /// assert_eq!(all.num_permits(), 4);
    /// # });
    /// ```
    #[track_caller]
    pub fn acquire_many_async(&self, n: usize) -> AcquireFuture<'_> {
        AcquireFuture::new(self, n)
    }
}

/// `acquire*(n)` with `n > MAX_PERMITS`: it could never succeed.
#[cold]
#[inline(never)]
#[track_caller]
fn too_many(n: usize) -> ! {
    panic!("cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({})", Semaphore::MAX_PERMITS)
}

impl fmt::Debug for Semaphore {
    /// Shows one snapshot of the state word: `Semaphore { available_permits: 1, head_waiting:
    /// true }`. Takes no lock and never waits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ORDERING: Relaxed: a snapshot for display, orders nothing.
        let state = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("available_permits", &(state & PERMITS))
            .field("head_waiting", &(state & HEAD != 0))
            .finish()
    }
}
