//! A small built-in timer: [`sleep`] and [`sleep_until`] return a [`Sleep`] future that any
//! executor can await, and [`timeout`] / [`timeout_at`] bound any future by a deadline.
//!
//! # Why a timer of our own
//!
//! The async rate limiters ([`TokenBucket::acquire_async`](crate::rate::TokenBucket::acquire_async)
//! and friends) know the instant at which a denied request will fit, and have to sleep until
//! then. Something must wake the task at that instant, and every runtime brings its own timer:
//! tokio's `tokio::time::sleep` panics outside a tokio runtime, smol's timers run on its own
//! reactor. Building on one of them would tie the limiters to that runtime (or add a feature
//! flag per runtime). [`Sleep`] uses `std::task` only, and one background thread wakes the
//! wakers, so it works under tokio (either flavour), smol, `futures::executor::block_on` or a
//! ten-line hand-written `block_on`. It costs nothing until first used: the thread (named
//! `ringfence-timer`) is started by the first `Sleep` that has to wait, and one runs at a time
//! (another is started only if it is gone, below). (A program that already runs tokio pays
//! one extra, mostly sleeping, thread.) Its time is real time: tokio's paused test time
//! (`tokio::time::pause`) does not reach it, and tokio's auto-advance may move a
//! `tokio::time::timeout` around a ringfence future past its deadline at once (for
//! deterministic rate-limiter tests, use [`ManualClock`](crate::rate::ManualClock)).
//!
//! # How it works
//!
//! The thread keeps the pending sleeps in an ordered map `(deadline, sequence id) -> Waker`
//! (the id makes equal deadlines distinct). It sleeps on a condition variable until the
//! earliest deadline, or until a registration that is earlier than every other one notifies it;
//! then it removes every entry that is due and wakes its waker, outside the lock. It is an
//! ordered map rather than a binary heap so that a `Sleep` dropped before its deadline removes
//! its own entry (O(log n)): a loop that keeps starting and abandoning sleeps (the `select!`
//! pattern) leaves nothing behind, where a heap would need lazy deletion and compaction.
//!
//! | who | does what to the map |
//! |---|---|
//! | first `poll` of a `Sleep` that is not due | inserts its entry (and notifies the thread if it is now the earliest) |
//! | a later `poll` with another waker | replaces the waker (the old one is dropped); with the same waker (`Waker::will_wake`) nothing |
//! | a `poll` with the crate's no-op waker (a `Selector`'s looks) | nothing, and no lock: the entry, if any, keeps its waker |
//! | the thread, at the deadline | removes the entry and wakes its waker |
//! | dropping, [`reset`](Sleep::reset) or completing a `Sleep` | removes its entry if it is still there |
//!
//! A `std::sync::Mutex` and `Condvar` guard the map. This is deliberately not lock-free: it is
//! not a hot path. The lock is taken by every poll of a `Sleep` that is not due (a first one
//! inserts the entry, a later one checks its waker: a task woken by something else, as a
//! [`Timeout`] is by its future, polls its `Sleep` again) but a selector's look (a poll with
//! the crate's no-op waker), when a pending `Sleep` is dropped,
//! and by the thread when it fires; never by a limiter that grants at once, nor by a `Sleep`
//! that is due at its first poll. No executor code (a waker's `clone`, `wake` or `drop`) runs
//! while it is held, and a waker that panics in `wake` does not stop the thread. The thread is
//! started again if it is ever missing when a `Sleep` registers: after a failed spawn, or in the
//! child of a `fork`, which inherits the pending entries but not the thread (the child's new
//! thread fires them too, waking their wakers in the child; whether the executor that made them
//! survived the fork is the program's affair: a waker whose `wake` blocks on a lock that a
//! vanished thread held stalls the child's timer). As with any lock in a multithreaded
//! program, a child forked while another thread was inside the timer's short critical section
//! finds the lock taken for good: fork while the timer is idle, or `exec` in the child.
//!
//! # Accuracy
//!
//! A `Sleep` completes at or after its deadline, never before: `poll` returns `Ready` only once
//! `Instant::now() >= deadline`, whatever woke the task. How much after depends on the OS
//! (a condition-variable timed wait: usually well under a millisecond of slack on an idle
//! Linux machine, more on a loaded one) and on how soon the executor runs the woken task. A
//! deadline too far away to represent (`sleep(Duration::MAX)`) means "never": the future stays
//! pending, registers nothing and never panics.
//!
//! # Under loom
//!
//! `--cfg loom` builds have no timer thread (a loom model cannot run a real thread, and has no
//! time). There a `Sleep` that is not due wakes its task at once and completes at its next poll:
//! the deadline is taken to pass exactly when the task would wait, as the `sync` facade's futex
//! does for timed waits. So a model in which a future waits on the timer for something only
//! time can bring spins (the task keeps waking itself) instead of finishing: models should use
//! clocks that wake tasks. The rate limiters' async acquires on a
//! [`ManualClock`](crate::rate::ManualClock) (what loom models use), or on a wrapper that
//! forwards [`Clock::wake_at`](crate::rate::Clock::wake_at), do not use the timer at all.
//!
//! # Examples
//!
//! ```
//! use ringfence::timer::sleep;
//! use std::time::{Duration, Instant};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let start = Instant::now();
//! sleep(Duration::from_millis(20)).await;
//! assert!(start.elapsed() >= Duration::from_millis(20));
//! # });
//! ```

mod interval;
mod timeout;

pub use interval::{
    Interval, MissedTickBehavior, Tick, interval, interval_at, try_interval, try_interval_at,
};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A future that completes once `duration` has passed (see the [module docs](self)).
///
/// A duration too long to add to `Instant::now()` (`Duration::MAX`) gives a `Sleep` that never
/// completes; it does not panic.
///
/// # Examples
///
/// ```
/// use ringfence::timer::sleep;
/// use std::time::{Duration, Instant};
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let start = Instant::now();
/// rt.block_on(sleep(Duration::from_millis(10)));
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// assert!(sleep(Duration::MAX).deadline().is_none()); // "never"
/// ```
#[must_use = "futures do nothing unless polled"]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::at(Instant::now().checked_add(duration))
}

/// A future that completes once `deadline` has passed (at once if it already has).
///
/// # Examples
///
/// ```
/// use ringfence::timer::sleep_until;
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(10);
/// let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
/// rt.block_on(sleep_until(deadline));
/// assert!(Instant::now() >= deadline);
/// ```
#[must_use = "futures do nothing unless polled"]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::at(Some(deadline))
}

/// The future of [`sleep`] and [`sleep_until`]: completes at or after its deadline.
///
/// Runtime-agnostic (`std::task` only; the [module docs](self) say how it is woken). It keeps
/// only the waker of its latest poll (a `Selector`'s looks, which poll with a no-op waker, leave
/// the waker of the poll before). It is `Unpin`, so it can be polled by `&mut` reference.
///
/// # Cancel safety
///
/// Dropping a `Sleep` (for example the losing branch of a `select!`) removes its entry from the
/// timer and drops the waker it held: nothing is left behind. A wakeup the timer thread had
/// already taken out to deliver when the `Sleep` was dropped may still arrive, once (a spurious
/// wakeup of the task, which every future must tolerate).
///
/// # Panics
///
/// A poll panics if it has to start the timer thread and the OS refuses to create a thread,
/// with the message `ringfence-timer: cannot spawn the timer thread: ` and the OS error. The
/// `Sleep` stays usable: its next poll (or any other `Sleep`'s) tries to start the thread again.
///
/// # Examples
///
/// ```
/// use ringfence::timer::sleep;
/// use std::time::Duration;
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// rt.block_on(async {
///     // The first to finish wins; the other future is dropped (and deregistered).
///     tokio::select! {
///         () = sleep(Duration::from_secs(3600)) => unreachable!(),
///         () = sleep(Duration::from_millis(1)) => {}
///     }
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// When it completes; `None` is "never".
    deadline: Option<Instant>,
    /// Its entry in the timer while one is registered (table in the module docs): set by a
    /// poll that registers, cleared by whoever removes the entry on this side (a poll that
    /// completes, `reset`, drop). The thread may remove the entry first when it fires; the
    /// key then finds nothing, which is harmless.
    entry: Option<driver::Key>,
}

impl Sleep {
    fn at(deadline: Option<Instant>) -> Self {
        Sleep { deadline, entry: None }
    }

    /// A `Sleep` that never completes (until [`reset`](Sleep::reset)).
    pub(crate) fn never() -> Self {
        Sleep::at(None)
    }

    /// The deadline, or `None` for a `Sleep` that never completes (its duration or deadline
    /// could not be represented).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(ringfence::timer::sleep_until(at).deadline(), Some(at));
    /// ```
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed (a poll would return `Ready`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::sleep;
    /// use std::time::Duration;
    /// assert!(sleep(Duration::ZERO).is_elapsed());
    /// assert!(!sleep(Duration::from_secs(3600)).is_elapsed());
    /// ```
    #[must_use]
    pub fn is_elapsed(&self) -> bool {
        self.deadline.is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// Moves the deadline (earlier or later), also after the `Sleep` completed; the new
    /// deadline takes effect at the next poll (a task waiting on the old one is not woken).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::sleep;
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut nap = sleep(Duration::from_secs(3600));
    /// let soon = Instant::now() + Duration::from_millis(5);
    /// nap.reset(soon);
    /// rt.block_on(&mut nap);
    /// assert!(Instant::now() >= soon);
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.set_deadline(Some(deadline));
    }

    /// [`reset`](Sleep::reset), also to "never" (`None`).
    pub(crate) fn set_deadline(&mut self, deadline: Option<Instant>) {
        if self.deadline != deadline {
            driver::unregister(&mut self.entry);
            self.deadline = deadline;
        }
    }

    /// Removes the timer entry, if any, keeping the deadline: for a caller that no longer
    /// waits on it (a [`Timeout`] whose future completed first). The next poll registers again.
    pub(crate) fn disarm(&mut self) {
        driver::unregister(&mut self.entry);
    }

    /// The body of `poll`, for callers that hold a `&mut Sleep` and a waker.
    pub(crate) fn poll_waker(&mut self, waker: &Waker) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            // "Never": nothing will ever wake it, so keep no waker.
            return Poll::Pending;
        };
        // Checked on every poll, whatever woke the task: never `Ready` before the deadline.
        if Instant::now() >= deadline {
            driver::unregister(&mut self.entry);
            return Poll::Ready(());
        }
        // A poll with nobody to wake (a `Selector`'s looks, which poll with the crate's
        // `NOOP_WAKER` every few hundred nanoseconds while they spin) registers nothing: an
        // entry would cost the timer's lock each time, and the first one a wakeup of its
        // thread. An entry made by an earlier poll stays. (Another no-op waker, such as a
        // `Waker::noop()` of the caller's, is not recognised: that poll registers, as any
        // other would.)
        if waker.will_wake(crate::wait::NOOP_WAKER) {
            return Poll::Pending;
        }
        let poll = driver::register(&mut self.entry, deadline, waker);
        if poll.is_ready() {
            driver::unregister(&mut self.entry);
        }
        poll
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_waker(cx.waker())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        driver::unregister(&mut self.entry);
    }
}

/// The timer thread and its map (module docs). Normal builds only: see "Under loom".
#[cfg(not(loom))]
mod driver {
    use crate::wait::{drop_caught, wake_caught};
    use std::collections::BTreeMap;
    use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
    use std::task::{Poll, Waker};
    use std::time::{Duration, Instant};

    /// An entry's key: its deadline, then a sequence id that makes it unique.
    pub(super) type Key = (Instant, u64);

    /// The longest the thread sleeps in one wait: it re-checks at least this often (cheap, and
    /// it keeps every timed wait far from any platform's limit on timeouts).
    const MAX_NAP: Duration = Duration::from_secs(3600);

    /// The most wakers' room the thread keeps between firings.
    const MAX_KEPT_DUE: usize = 1024;

    struct Timer {
        state: Mutex<State>,
        /// The thread waits here; notified by a registration that became the earliest entry.
        earlier: Condvar,
    }

    struct State {
        /// The pending sleeps, earliest first. Inserted by `register`; removed by exactly one
        /// of the thread (when due, and then woken) or `unregister`.
        entries: BTreeMap<Key, Waker>,
        /// The id the next entry gets (2^64 registrations would be needed to wrap).
        next_id: u64,
        /// Whether the thread was started (once per process: it never stops, unless a bug in
        /// this module panics in it; see `ensure_started`).
        started: bool,
        /// The [`fork::generation`] that started it: a `fork`'s child has no thread.
        started_in: u32,
    }

    static TIMER: Timer = Timer {
        state: Mutex::new(State { entries: BTreeMap::new(), next_id: 0, started: false, started_in: 0 }),
        earlier: Condvar::new(),
    };

    fn lock() -> MutexGuard<'static, State> {
        // Nothing that can panic runs under the lock (wakers are woken and dropped outside it),
        // so the map is consistent even if some thread once panicked while holding it.
        TIMER.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers (or re-arms with `waker`) the entry of a `Sleep` due at `deadline`. `Pending`
    /// while the entry waits: the thread wakes the task at the deadline. `Ready` when the thread
    /// already fired the entry (only a due entry is fired: the deadline passed after the
    /// caller's check), and then the entry is cleared.
    ///
    /// # Panics
    ///
    /// If the thread must be started and the OS refuses (module docs of `Sleep`); the lock is
    /// released first, and the entry stays for the next attempt.
    pub(super) fn register(entry: &mut Option<Key>, deadline: Instant, waker: &Waker) -> Poll<()> {
        fork::watch();
        // The clone before the lock, every waker drop after it: the executor's code, which may
        // take locks of its own (one held by a thread waiting for ours would stop every timer).
        let waker = waker.clone();
        let mut state = lock();
        let (poll, unused, earliest) = match *entry {
            Some(key) => {
                debug_assert_eq!(key.0, deadline, "a deadline change unregisters first");
                match state.entries.get_mut(&key) {
                    Some(registered) if registered.will_wake(&waker) => (Poll::Pending, Some(waker), false),
                    Some(registered) => (Poll::Pending, Some(std::mem::replace(registered, waker)), false),
                    None => {
                        *entry = None;
                        (Poll::Ready(()), Some(waker), false)
                    }
                }
            }
            None => {
                let key = (deadline, state.next_id);
                state.next_id += 1;
                state.entries.insert(key, waker);
                *entry = Some(key);
                let earliest = state.entries.first_key_value().is_some_and(|(first, _)| *first == key);
                (Poll::Pending, None, earliest)
            }
        };
        let started = if poll.is_pending() { ensure_started(&mut state) } else { Ok(false) };
        drop(state);
        if let Some(waker) = unused {
            drop_caught(waker);
        }
        match started {
            // A thread started now reads the map first thing.
            Ok(true) => {}
            // The thread may be waiting for a later deadline. It re-reads the map under the lock
            // after every wakeup, and we inserted under the lock, so it cannot miss this.
            Ok(false) if earliest => TIMER.earlier.notify_one(),
            Ok(false) => {}
            Err(e) => panic!("ringfence-timer: cannot spawn the timer thread: {e}"),
        }
        poll
    }

    /// Removes the entry, if it is still there, and drops its waker (outside the lock).
    pub(super) fn unregister(entry: &mut Option<Key>) {
        if let Some(key) = entry.take() {
            let removed = lock().entries.remove(&key);
            if let Some(waker) = removed {
                drop_caught(waker); // the executor's code: outside the lock, and caught
            }
        }
    }

    /// Starts the thread unless it runs in this process ([`fork::generation`]); `Ok(true)` if
    /// it started it now. Called by every registration that waits, under the lock, so that no
    /// entry is left without a thread: not after a failed spawn (the next registration, or the
    /// failed one's next poll, tries again), not after the thread died (its guard starts
    /// another), and not in the child of a `fork` (which copies the map and the flag but not
    /// the thread). Under the lock, a second registration cannot see `started` before the
    /// thread exists; the new thread's first act is to take the lock, so it waits for us.
    fn ensure_started(state: &mut State) -> std::io::Result<bool> {
        // Read under the lock: a fork between this and the spawn is of a process whose lock is
        // taken, see the module docs.
        let generation = fork::generation();
        if state.started && state.started_in == generation {
            return Ok(false);
        }
        std::thread::Builder::new().name("ringfence-timer".into()).spawn(run)?;
        state.started = true;
        state.started_in = generation;
        Ok(true)
    }

    /// The timer thread: fire what is due, then sleep until the earliest deadline.
    fn run() {
        /// If the thread ever ends (it only could by a panic in this crate's code: wakers'
        /// panics are caught), starts another for the entries left, or lets the next
        /// registration start one (a failed spawn is ignored here: that registration retries).
        struct Restart;
        impl Drop for Restart {
            fn drop(&mut self) {
                let mut state = lock();
                state.started = false;
                if !state.entries.is_empty() {
                    let _ = ensure_started(&mut state);
                }
            }
        }
        let _restart = Restart;
        let mut due: Vec<Waker> = Vec::new();
        let mut state = lock();
        loop {
            let now = Instant::now();
            while let Some(first) = state.entries.first_entry() {
                if first.key().0 > now {
                    break;
                }
                due.push(first.remove());
            }
            if !due.is_empty() {
                drop(state);
                for waker in due.drain(..) {
                    // A waker is the executor's code: one that panics must not take the timer
                    // down (nor its panic's payload, dropped inside a catch too).
                    wake_caught(waker);
                }
                // A burst of due entries must not keep its peak capacity for good.
                if due.capacity() > MAX_KEPT_DUE {
                    due = Vec::new();
                }
                state = lock();
                continue;
            }
            state = match state.entries.first_key_value() {
                Some((&(deadline, _), _)) => {
                    let nap = (deadline - now).min(MAX_NAP);
                    TIMER.earlier.wait_timeout(state, nap).unwrap_or_else(PoisonError::into_inner).0
                }
                None => TIMER.earlier.wait(state).unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    /// Tells a `fork`'s child from its parent without a system call per registration
    /// (`getpid` is not cached by glibc: about 200 ns on the 2-core VM, as much as the rest
    /// of a registration).
    #[cfg(target_os = "linux")]
    mod fork {
        use std::sync::Once;
        use std::sync::atomic::{AtomicU32, Ordering};

        /// Bumped in every child by the `pthread_atfork` handler.
        static GENERATION: AtomicU32 = AtomicU32::new(0);

        /// The process's fork generation: differs in a child from its parent's.
        pub(super) fn generation() -> u32 {
            // ORDERING: Relaxed: written only by the child's handler, on the forking thread,
            // before `fork` returns in the child; every later read in the child is on a thread
            // that the child created after that (or the forking thread itself), so it sees it.
            GENERATION.load(Ordering::Relaxed)
        }

        /// Installs the handler (once per process; a child inherits it).
        pub(super) fn watch() {
            static WATCH: Once = Once::new();
            WATCH.call_once(|| {
                // SAFETY: `pthread_atfork` only records the handler; `in_child` is a valid
                // `extern "C"` function for the whole program, and async-signal-safe (one
                // atomic add), as a child handler of a multithreaded process must be.
                let _ = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
            });
        }

        /// Runs in the child, right after `fork`.
        unsafe extern "C" fn in_child() {
            // ORDERING: Relaxed: see `generation`.
            GENERATION.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Elsewhere the process id tells a child from its parent.
    #[cfg(not(target_os = "linux"))]
    mod fork {
        pub(super) fn generation() -> u32 {
            std::process::id()
        }

        pub(super) fn watch() {}
    }

    #[cfg(test)]
    pub(super) fn contains(key: Key) -> bool {
        lock().entries.contains_key(&key)
    }
}

/// Loom builds: no thread; a `Sleep` that is not due completes at its next poll (module docs,
/// "Under loom").
#[cfg(loom)]
mod driver {
    use std::task::{Poll, Waker};
    use std::time::Instant;

    /// "Has waited once".
    pub(super) type Key = ();

    pub(super) fn register(entry: &mut Option<Key>, _deadline: Instant, waker: &Waker) -> Poll<()> {
        if entry.take().is_some() {
            return Poll::Ready(());
        }
        *entry = Some(());
        waker.wake_by_ref();
        Poll::Pending
    }

    pub(super) fn unregister(entry: &mut Option<Key>) {
        *entry = None;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Nothing;
    impl Wake for Nothing {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn dropping_a_pending_sleep_removes_its_entry() {
        let waker = Waker::from(Arc::new(Nothing));
        let mut nap = sleep(Duration::from_secs(3600));
        assert!(nap.poll_waker(&waker).is_pending());
        let key = nap.entry.expect("registered");
        assert!(driver::contains(key));
        assert!(nap.poll_waker(&waker).is_pending());
        assert_eq!(nap.entry, Some(key), "a re-poll keeps the entry");
        drop(nap);
        assert!(!driver::contains(key));
    }

    #[test]
    fn a_poll_with_a_no_op_waker_registers_nothing_and_keeps_an_entry() {
        let noop = crate::wait::NOOP_WAKER;
        let mut nap = sleep(Duration::from_secs(3600));
        assert!(nap.poll_waker(noop).is_pending());
        assert_eq!(nap.entry, None, "nobody to wake: no entry");
        let waker = Waker::from(Arc::new(Nothing));
        assert!(nap.poll_waker(&waker).is_pending());
        let key = nap.entry.expect("registered");
        assert!(nap.poll_waker(noop).is_pending());
        assert_eq!(nap.entry, Some(key), "the real waker's entry stays");
        assert!(driver::contains(key));
        nap.reset(Instant::now());
        assert!(nap.poll_waker(noop).is_ready(), "the deadline is checked first");
    }

    #[test]
    fn reset_moves_the_entry() {
        let waker = Waker::from(Arc::new(Nothing));
        let mut nap = sleep(Duration::from_secs(3600));
        assert!(nap.poll_waker(&waker).is_pending());
        let old = nap.entry.expect("registered");
        nap.reset(Instant::now() + Duration::from_secs(7200));
        assert!(!driver::contains(old));
        assert!(nap.poll_waker(&waker).is_pending());
        let new = nap.entry.expect("registered again");
        assert_ne!(old, new);
        nap.reset(Instant::now());
        assert!(nap.poll_waker(&waker).is_ready());
        assert!(!driver::contains(new));
        assert_eq!(nap.entry, None);
    }

    #[test]
    fn never_registers_nothing() {
        let waker = Waker::from(Arc::new(Nothing));
        let mut nap = sleep(Duration::MAX);
        assert!(nap.poll_waker(&waker).is_pending());
        assert_eq!(nap.entry, None);
    }
}
