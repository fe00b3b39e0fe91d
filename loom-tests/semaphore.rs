//! loom models of `ringfence::Semaphore` (`src/semaphore/`): mutual exclusion through the
//! permits' Acquire/Release, and the lost-wakeup hunt through the line of blocked acquirers (a
//! lost wakeup is a loom deadlock). The rules the models check are numbered in the module docs
//! of `src/semaphore/mod.rs`.

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ringfence::Semaphore;
use std::time::Duration;

// Under loom a timed wait "times out" exactly when the thread would sleep (see the facade's
// futex model), so any timeout value explores the same interleavings.
const SOON: Duration = Duration::from_millis(1);

/// A semaphore and the data its permits guard: a loom cell (a section that is not exclusive,
/// or a release that does not happen-before the next acquire, is a loom data race) and a count
/// of the permits held, checked against the semaphore's size.
struct Guarded {
    semaphore: Semaphore,
    size: usize,
    cell: UnsafeCell<usize>,
    held: AtomicUsize,
}

// SAFETY: `cell` is written only by `section`, with all `size` permits held (so by one thread at
// a time), and read by `entries` after every thread is joined; loom checks both claims.
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new(permits: usize) -> Arc<Self> {
        Arc::new(Guarded {
            semaphore: Semaphore::new(permits),
            size: permits,
            cell: UnsafeCell::new(0),
            held: AtomicUsize::new(0),
        })
    }

    /// Runs a section holding `n` permits: counts the holders, and writes the cell when `n` is
    /// every permit (an exclusive section).
    fn section(&self, n: usize) {
        self.section_pausing(n, false);
    }

    /// [`Guarded::section`]; with `pause`, it yields while holding the permits, so that other
    /// threads block (one as the head) before it releases (loom explores the other orders too).
    fn section_pausing(&self, n: usize, pause: bool) {
        let permit = self.semaphore.acquire_many(n);
        if pause {
            thread::yield_now();
        }
        // ORDERING: Relaxed on purpose: the bookkeeping must not itself order the sections (a
        // SeqCst count here hid a weakened Acquire in the semaphore); RMWs still count exactly.
        let held = self.held.fetch_add(n, Ordering::Relaxed) + n;
        assert!(held <= self.size, "{held} permits held of {}", self.size);
        if n == self.size {
            // SAFETY: we hold every permit, so no other section runs; loom reports a race if
            // the semaphore lets one in or its release/acquire do not order the writes.
            self.cell.with_mut(|v| unsafe { *v += 1 });
        }
        // ORDERING: Relaxed, see above.
        self.held.fetch_sub(n, Ordering::Relaxed);
        drop(permit);
    }

    /// The exclusive sections run so far (read after every thread is joined).
    fn entries(&self) -> usize {
        // SAFETY: every thread that wrote the cell has been joined.
        self.cell.with(|v| unsafe { *v })
    }
}

#[test]
fn one_permit_is_mutual_exclusion() {
    loom::model(|| {
        let guarded = Guarded::new(1);
        let other = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.section(1))
        };
        // Pausing inside lets `other` wait as the head, so the head's claim must order its
        // section after ours too (not only the fast path's).
        guarded.section_pausing(1, true);
        other.join().unwrap();
        assert_eq!(guarded.entries(), 2);
        assert_eq!(guarded.semaphore.available_permits(), 1);
    });
}

#[test]
fn head_asking_for_two_is_served_while_a_single_comes_and_goes() {
    // Rule 1 (releases wake the head) and head-of-line: the single acquirer must not strand
    // the head, and the head must not strand it.
    loom::model(|| {
        let guarded = Guarded::new(2);
        let held = guarded.semaphore.acquire();
        let big = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.section(2))
        };
        let single = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.section(1))
        };
        thread::yield_now(); // let them block first (loom explores the other orders too)
        drop(held);
        big.join().unwrap();
        single.join().unwrap();
        assert_eq!(guarded.entries(), 1);
        assert_eq!(guarded.semaphore.available_permits(), 2);
    });
}

#[test]
fn acquire_timeout_racing_release_leaves_the_count_exact() {
    // Rule 4: a head that times out clears the head bit and takes nothing.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.acquire();
        let timed = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire_timeout(SOON).map(|p| p.num_permits()))
        };
        drop(held);
        let got = timed.join().unwrap();
        assert!(got == Some(1) || got.is_none());
        assert_eq!(semaphore.available_permits(), 1, "got {got:?}");
        assert!(semaphore.try_acquire().is_some(), "no head is left behind (got {got:?})");
    });
}

#[test]
fn timed_out_head_hands_the_line_on() {
    // Rules 2 and 4: the waiter parked behind a head that gives up must still be served.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = semaphore.acquire();
        let timed = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire_timeout(SOON).is_some())
        };
        let patient = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire()))
        };
        thread::yield_now(); // let them block first (loom explores the other orders too)
        drop(held);
        let _ = timed.join().unwrap();
        patient.join().unwrap();
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn two_blocked_acquirers_of_one_permit_are_both_served() {
    // Rules 1 and 2: one head at a time; the waiter behind it becomes the next head and is
    // woken by the first one's release.
    loom::model(|| {
        let guarded = Guarded::new(1);
        let held = guarded.semaphore.acquire();
        let first = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.section(1))
        };
        let second = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.section(1))
        };
        thread::yield_now(); // let them block first (loom explores the other orders too)
        drop(held);
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(guarded.entries(), 2);
        assert_eq!(guarded.semaphore.available_permits(), 1);
    });
}

#[test]
fn three_acquirers_of_two_permits_are_all_served() {
    // Rules 2 and 3: a head and a waiter behind it, a release of two at once, and the releaser
    // acquiring again: when the head leaves, the waiter behind it must not stay parked.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(2));
        let both = semaphore.acquire_many(2);
        let first = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire()))
        };
        let second = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire()))
        };
        thread::yield_now(); // let them block first (loom explores the other orders too)
        drop(both);
        drop(semaphore.acquire());
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn add_permits_wakes_a_blocked_acquirer() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(0));
        let waiter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire_many(2).num_permits())
        };
        semaphore.add_permits(1);
        semaphore.add_permits(1);
        assert_eq!(waiter.join().unwrap(), 2);
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn try_acquire_never_takes_from_a_waiting_head() {
    // Head-of-line: once a blocked acquirer is the head (seen through `Debug`), `try_acquire`
    // fails although a permit is free; the head (asking for 2 while we hold 1) cannot be served
    // before we release, so the head we saw is still there when we try.
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.acquire();
        let big = {
            let semaphore = semaphore.clone();
            thread::spawn(move || drop(semaphore.acquire_many(2)))
        };
        thread::yield_now(); // let `big` run first (loom explores the other order too)
        let head_seen = format!("{semaphore:?}").contains("head_waiting: true");
        let tried = semaphore.try_acquire();
        if head_seen {
            assert!(tried.is_none(), "try_acquire took a permit reserved for the head");
        }
        drop(tried);
        drop(held);
        big.join().unwrap();
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn owned_permit_released_on_another_thread_wakes_an_acquirer() {
    loom::model(|| {
        // The owned API takes the user's `std::sync::Arc`; the protocol inside is loom's.
        let semaphore = std::sync::Arc::new(Semaphore::new(1));
        let permit = semaphore.clone().acquire_owned();
        let holder = thread::spawn(move || drop(permit));
        let again = semaphore.clone().acquire_owned();
        assert_eq!(again.num_permits(), 1);
        holder.join().unwrap();
        drop(again);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

/// `forget_permits` racing a blocked head and a release: the permits are conserved (each is
/// forgotten, held or available, never two of these), and the head is served once permits are
/// added back, whichever order the three steps take (a lost wakeup is a loom deadlock).
#[test]
fn forget_permits_racing_a_blocked_head_and_a_release() {
    loom::model(|| {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = semaphore.acquire();
        let head = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.acquire_many(2).num_permits())
        };
        let forgetter = {
            let semaphore = semaphore.clone();
            thread::spawn(move || semaphore.forget_permits(1))
        };
        drop(held);
        let forgotten = forgetter.join().unwrap();
        assert!(forgotten <= 1);
        // The permits forgotten come back through `add_permits`: the head gets its two.
        semaphore.add_permits(forgotten);
        assert_eq!(head.join().unwrap(), 2);
        assert_eq!(semaphore.available_permits(), 2);
    });
}
