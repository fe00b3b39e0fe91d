#![cfg(not(loom))]
//! Integration tests of `ringfence::Semaphore`: RAII release, try/timeout/deadline behaviour,
//! zero-permit requests, the documented panics, `forget`, owned permits across threads,
//! head-of-line fairness, a stress test, and a proptest against a sequential model.

mod common;

use common::{WATCHDOG, eventually, within};
use proptest::prelude::*;
use ringfence::{OwnedPermit, Permit, Semaphore};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const MAX: usize = Semaphore::MAX_PERMITS;
const SHORT: Duration = Duration::from_millis(20);

/// Whether a blocked acquirer is at the head of the line (from the `Debug` snapshot).
fn head_waiting(semaphore: &Semaphore) -> bool {
    format!("{semaphore:?}").contains("head_waiting: true")
}

/// Waits until some acquirer is the head of `semaphore`'s line.
fn until_head(semaphore: &Semaphore) {
    eventually(WATCHDOG, "an acquirer becomes the head", || head_waiting(semaphore).then_some(()));
}

// ---------------------------------------------------------------------------------------------
// API behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn dropping_a_permit_returns_its_permits() {
    let semaphore = Semaphore::new(3);
    let one = semaphore.acquire();
    let two = semaphore.acquire_many(2);
    assert_eq!((one.num_permits(), two.num_permits()), (1, 2));
    assert_eq!(semaphore.available_permits(), 0);
    drop(two);
    assert_eq!(semaphore.available_permits(), 2);
    drop(one);
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn a_panicking_holder_still_returns_its_permit() {
    let semaphore = Semaphore::new(1);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _permit = semaphore.acquire();
        panic!("inside the section");
    }));
    assert!(result.is_err());
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn try_acquire_fails_when_empty_and_succeeds_after_release() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.try_acquire().expect("one is free");
    assert!(semaphore.try_acquire().is_none());
    drop(held);
    assert!(semaphore.try_acquire().is_some());
}

#[test]
fn try_acquire_many_is_all_or_nothing() {
    let semaphore = Semaphore::new(3);
    let _one = semaphore.acquire();
    assert!(semaphore.try_acquire_many(3).is_none());
    assert_eq!(semaphore.available_permits(), 2, "a failed try takes nothing");
    assert_eq!(semaphore.try_acquire_many(2).map(|p| p.num_permits()), Some(2));
}

#[test]
fn acquire_timeout_gives_up_with_nothing_taken() {
    let semaphore = Semaphore::new(2);
    let _one = semaphore.acquire();
    assert!(semaphore.acquire_timeout(SHORT).is_some_and(|p| p.num_permits() == 1));
    let _two = semaphore.acquire();
    assert!(semaphore.acquire_timeout(SHORT).is_none());
    assert!(semaphore.acquire_many_timeout(2, SHORT).is_none());
    assert_eq!(semaphore.available_permits(), 0);
    assert!(!head_waiting(&semaphore), "a timed-out head leaves the line");
}

#[test]
fn a_timed_out_head_leaves_its_permits_to_others() {
    // The head asks for 3 of 3 while 1 is held: it times out; the 2 free permits are at once
    // available to a plain try_acquire.
    let semaphore = Semaphore::new(3);
    let held = semaphore.acquire();
    assert!(semaphore.acquire_many_timeout(3, SHORT).is_none());
    assert_eq!(semaphore.try_acquire_many(2).map(|p| p.num_permits()), Some(2));
    drop(held);
}

#[test]
fn acquire_timeout_gets_a_permit_released_meanwhile() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = Arc::clone(&semaphore).acquire_owned();
        let releaser = thread::spawn(move || {
            thread::sleep(SHORT);
            drop(held);
        });
        let permit = semaphore.acquire_timeout(Duration::from_secs(30));
        assert_eq!(permit.map(|p| p.num_permits()), Some(1));
        releaser.join().unwrap();
    });
}

#[test]
fn duration_max_means_wait_forever_without_panicking() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(1));
        assert!(semaphore.acquire_many_timeout(1, Duration::MAX).is_some());
        let held = Arc::clone(&semaphore).acquire_owned();
        let releaser = thread::spawn(move || {
            thread::sleep(SHORT);
            drop(held);
        });
        assert!(semaphore.acquire_timeout(Duration::MAX).is_some());
        assert!(Arc::clone(&semaphore).acquire_timeout_owned(Duration::MAX).is_some());
        releaser.join().unwrap();
    });
}

#[test]
fn deadline_in_the_past_still_takes_a_free_permit() {
    let semaphore = Semaphore::new(1);
    let past = Instant::now() - Duration::from_millis(1);
    let permit = semaphore.acquire_deadline(past).expect("free now");
    assert!(semaphore.acquire_deadline(past).is_none());
    assert!(semaphore.acquire_many_deadline(1, past).is_none());
    drop(permit);
    assert!(!head_waiting(&semaphore));
}

#[test]
fn zero_permits_succeed_at_once_even_when_empty_or_behind_a_head() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(0));
        assert_eq!(semaphore.acquire_many(0).num_permits(), 0);
        assert!(semaphore.try_acquire_many(0).is_some());
        assert!(semaphore.acquire_many_timeout(0, Duration::ZERO).is_some());
        assert!(semaphore.acquire_many_deadline(0, Instant::now()).is_some());
        assert!(Arc::clone(&semaphore).try_acquire_many_owned(0).is_some());
        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire().num_permits())
        };
        until_head(&semaphore);
        assert_eq!(semaphore.acquire_many(0).num_permits(), 0, "an empty permit needs no turn");
        drop(semaphore.acquire_many(0)); // dropping an empty permit wakes nobody, adds nothing
        assert_eq!(semaphore.available_permits(), 0);
        semaphore.add_permits(1);
        assert_eq!(waiter.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn forget_keeps_the_permits_out_and_add_permits_brings_them_back() {
    let semaphore = Arc::new(Semaphore::new(4));
    semaphore.acquire_many(2).forget();
    Arc::clone(&semaphore).acquire_owned().forget();
    assert_eq!(semaphore.available_permits(), 1);
    semaphore.add_permits(3);
    assert_eq!(semaphore.available_permits(), 4);
    assert!(semaphore.try_acquire_many(4).is_some());
}

#[test]
fn add_permits_wakes_a_blocked_acquirer() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(0));
        let waiter = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire_many_owned(2).num_permits())
        };
        until_head(&semaphore);
        semaphore.add_permits(1);
        semaphore.add_permits(1);
        assert_eq!(waiter.join().unwrap(), 2);
        assert_eq!(semaphore.available_permits(), 2);
    });
}

#[test]
fn owned_permits_travel_to_other_threads() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(2));
        let permits: Vec<OwnedPermit> = vec![
            Arc::clone(&semaphore).acquire_owned(),
            Arc::clone(&semaphore).try_acquire_owned().expect("a second one is free"),
        ];
        assert!(Arc::clone(&semaphore).try_acquire_owned().is_none());
        let holders: Vec<_> = permits.into_iter().map(|p| thread::spawn(move || drop(p))).collect();
        for holder in holders {
            holder.join().unwrap();
        }
        assert_eq!(semaphore.available_permits(), 2);
        let many = Arc::clone(&semaphore).acquire_many_owned(2);
        assert!(Arc::clone(&semaphore).acquire_many_timeout_owned(1, SHORT).is_none());
        assert!(Arc::clone(&semaphore).acquire_deadline_owned(Instant::now() + SHORT).is_none());
        drop(many);
        let deadline = Instant::now() + SHORT;
        assert!(Arc::clone(&semaphore).acquire_many_deadline_owned(2, deadline).is_some());
        assert_eq!(Arc::strong_count(&semaphore), 1, "dropped permits let go of the semaphore");
    });
}

#[test]
fn a_const_semaphore_can_be_a_static() {
    static LIMIT: Semaphore = Semaphore::new(2);
    let a = LIMIT.acquire();
    let b = LIMIT.acquire();
    assert!(LIMIT.try_acquire().is_none());
    drop((a, b));
    assert_eq!(LIMIT.available_permits(), 2);
}

#[test]
fn debug_shows_a_snapshot_without_waiting() {
    let semaphore = Semaphore::new(2);
    let permit = semaphore.acquire();
    assert_eq!(format!("{semaphore:?}"), "Semaphore { available_permits: 1, head_waiting: false }");
    assert_eq!(format!("{permit:?}"), "Permit { permits: 1, .. }");
    let owned = Arc::new(Semaphore::new(1)).acquire_owned();
    assert_eq!(format!("{owned:?}"), "OwnedPermit { permits: 1, .. }");
}

#[test]
fn semaphore_and_permits_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Semaphore>();
    send_sync::<Permit<'static>>();
    send_sync::<OwnedPermit>();
}

// ---------------------------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------------------------

#[test]
#[should_panic(expected = "cannot create a semaphore with more than Semaphore::MAX_PERMITS permits")]
fn new_with_more_than_max_permits_panics() {
    let _ = Semaphore::new(MAX + 1);
}

#[test]
fn new_with_exactly_max_permits_is_fine() {
    let semaphore = Semaphore::new(MAX);
    assert_eq!(semaphore.available_permits(), MAX);
    assert_eq!(semaphore.acquire_many(MAX).num_permits(), MAX);
}

#[test]
#[should_panic(expected = "cannot acquire 2305843009213693952 permits: more than Semaphore::MAX_PERMITS")]
#[cfg(target_pointer_width = "64")]
fn acquire_many_beyond_max_panics_instead_of_hanging() {
    let semaphore = Semaphore::new(1);
    let _ = semaphore.acquire_many(MAX + 1);
}

#[test]
fn every_acquire_beyond_max_panics_with_the_same_message() {
    let semaphore = Arc::new(Semaphore::new(0));
    let expected = format!("cannot acquire {} permits: more than Semaphore::MAX_PERMITS ({MAX})", MAX + 1);
    let attempts: Vec<Box<dyn Fn()>> = vec![
        Box::new(|| drop(semaphore.acquire_many(MAX + 1))),
        Box::new(|| drop(semaphore.try_acquire_many(usize::MAX))),
        Box::new(|| drop(semaphore.acquire_many_timeout(MAX + 1, SHORT))),
        Box::new(|| drop(semaphore.acquire_many_deadline(MAX + 1, Instant::now()))),
        Box::new(|| drop(Arc::clone(&semaphore).acquire_many_owned(MAX + 1))),
        Box::new(|| drop(Arc::clone(&semaphore).try_acquire_many_owned(MAX + 1))),
        Box::new(|| drop(Arc::clone(&semaphore).acquire_many_timeout_owned(MAX + 1, SHORT))),
        Box::new(|| drop(Arc::clone(&semaphore).acquire_many_deadline_owned(MAX + 1, Instant::now()))),
    ];
    for (i, attempt) in attempts.iter().enumerate() {
        let payload = catch_unwind(AssertUnwindSafe(attempt)).expect_err("must panic");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if i == 1 {
            assert!(message.starts_with(&format!("cannot acquire {} permits", usize::MAX)), "{message}");
        } else {
            assert_eq!(message, expected);
        }
    }
    assert_eq!(semaphore.available_permits(), 0);
    assert!(!head_waiting(&semaphore));
}

#[test]
#[should_panic(expected = "cannot add 1 permits: the semaphore would own more than Semaphore::MAX_PERMITS")]
fn add_permits_beyond_max_panics() {
    let semaphore = Semaphore::new(MAX);
    semaphore.add_permits(1);
}

#[test]
fn add_permits_counts_held_permits_and_changes_nothing_when_it_panics() {
    // Held permits come back on drop, so they count: available + held may not pass MAX.
    let semaphore = Semaphore::new(MAX);
    let held = semaphore.acquire_many(10);
    assert!(catch_unwind(AssertUnwindSafe(|| semaphore.add_permits(1))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| semaphore.add_permits(usize::MAX))).is_err());
    assert_eq!(semaphore.available_permits(), MAX - 10);
    drop(held);
    assert_eq!(semaphore.available_permits(), MAX);
    // A forgotten permit makes room.
    semaphore.acquire_many(5).forget();
    semaphore.add_permits(5);
    assert_eq!(semaphore.available_permits(), MAX);
}

// ---------------------------------------------------------------------------------------------
// Head-of-line fairness
// ---------------------------------------------------------------------------------------------

#[test]
fn try_acquire_fails_while_a_head_waits_although_permits_are_free() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(2));
        let held = Arc::clone(&semaphore).acquire_owned();
        let big = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire_many(2).num_permits())
        };
        until_head(&semaphore);
        assert_eq!(semaphore.available_permits(), 1);
        assert!(semaphore.try_acquire().is_none(), "the free permit is reserved for the head");
        assert!(semaphore.acquire_timeout(SHORT).is_none(), "so is it for a timed acquire");
        drop(held);
        assert_eq!(big.join().unwrap(), 2);
        assert!(semaphore.try_acquire().is_some());
    });
}

#[test]
fn the_head_is_served_before_acquirers_that_came_later() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(2));
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::clone(&semaphore).acquire_owned();
        let big = {
            let (semaphore, order) = (Arc::clone(&semaphore), Arc::clone(&order));
            thread::spawn(move || {
                let _all = semaphore.acquire_many(2);
                order.lock().unwrap().push("big");
            })
        };
        until_head(&semaphore);
        let small = {
            let (semaphore, order) = (Arc::clone(&semaphore), Arc::clone(&order));
            thread::spawn(move || {
                let _one = semaphore.acquire();
                order.lock().unwrap().push("small");
            })
        };
        thread::sleep(SHORT); // give `small` time to try (it must not get the free permit)
        drop(held);
        big.join().unwrap();
        small.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["big", "small"]);
    });
}

#[test]
fn a_timed_out_head_hands_the_line_to_the_next_waiter() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = Arc::clone(&semaphore).acquire_owned();
        let timed = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire_timeout(Duration::from_millis(100)).is_some())
        };
        until_head(&semaphore);
        let patient = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire().num_permits())
        };
        assert!(!timed.join().unwrap(), "nothing was released in time");
        drop(held);
        assert_eq!(patient.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

/// Single-permit acquirers that loop until told to stop.
const SMALL_THREADS: usize = 2;

#[test]
fn a_request_for_every_permit_is_not_starved_by_single_permit_acquirers() {
    // 4 permits; the main thread holds 1 and two threads loop acquire(1)/release, so the single
    // acquirers never block (at most 3 permits are ever held). A thread asks for all 4: it
    // becomes the head, and from then on no single acquirer gets a permit: between the moment
    // we see the head and the moment the big one is served, at most SMALL_THREADS acquires
    // complete (those already past their acquire when the head bit was set). No timing.
    within(WATCHDOG, || {
        const PERMITS: usize = 4;
        let semaphore = Arc::new(Semaphore::new(PERMITS));
        let acquires = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::clone(&semaphore).acquire_owned();
        let smalls: Vec<_> = (0..SMALL_THREADS)
            .map(|_| {
                let (semaphore, acquires, stop) =
                    (Arc::clone(&semaphore), Arc::clone(&acquires), Arc::clone(&stop));
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let _one = semaphore.acquire();
                        acquires.fetch_add(1, Ordering::SeqCst);
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        eventually(WATCHDOG, "the single acquirers are running", || {
            (acquires.load(Ordering::SeqCst) >= 1000).then_some(())
        });
        let big = {
            let (semaphore, acquires) = (Arc::clone(&semaphore), Arc::clone(&acquires));
            thread::spawn(move || {
                let all = semaphore.acquire_many(PERMITS);
                let at_service = acquires.load(Ordering::SeqCst);
                drop(all);
                at_service
            })
        };
        until_head(&semaphore);
        let at_head = acquires.load(Ordering::SeqCst);
        drop(held);
        let at_service = big.join().unwrap();
        stop.store(true, Ordering::SeqCst);
        for small in smalls {
            small.join().unwrap();
        }
        assert!(
            at_service - at_head <= SMALL_THREADS,
            "{} single acquires completed while the big request was the head",
            at_service - at_head
        );
        assert_eq!(semaphore.available_permits(), PERMITS);
    });
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

/// Iterations per thread: many more in release builds.
const STRESS_ITERS: usize = if cfg!(debug_assertions) { 2_000 } else { 50_000 };

#[test]
fn stress_never_exceeds_the_permits_and_returns_them_all() {
    // 8 threads on 3 permits (more threads than cores), each iteration 1 or 2 permits through a
    // mix of blocking, try and timed acquires; a shared counter checks the bound, a plain
    // (mutex-free) checksum updated only by exclusive holders checks the memory ordering.
    const PERMITS: usize = 3;
    const THREADS: usize = 8;
    within(WATCHDOG * 2, || {
        let semaphore = Semaphore::new(PERMITS);
        let held = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let exclusive_sum = AtomicUsize::new(0);
        let exclusive_runs = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..THREADS {
                let (semaphore, held, most, exclusive_sum, exclusive_runs) =
                    (&semaphore, &held, &most, &exclusive_sum, &exclusive_runs);
                s.spawn(move || {
                    for i in 0..STRESS_ITERS {
                        let n = if (t + i) % 7 == 0 { PERMITS } else { 1 + (t + i) % 2 };
                        let permit = match i % 4 {
                            0 => Some(semaphore.acquire_many(n)),
                            1 => semaphore.try_acquire_many(n),
                            2 => semaphore.acquire_many_timeout(n, Duration::from_micros(50)),
                            _ => semaphore.acquire_many_timeout(n, Duration::MAX),
                        };
                        let Some(permit) = permit else { continue };
                        let now = held.fetch_add(n, Ordering::SeqCst) + n;
                        assert!(now <= PERMITS, "{now} permits held of {PERMITS}");
                        most.fetch_max(now, Ordering::SeqCst);
                        if n == PERMITS {
                            // Exclusive: a relaxed read-modify-write split in two must not
                            // lose an update if the semaphore orders the sections.
                            let v = exclusive_sum.load(Ordering::Relaxed);
                            exclusive_sum.store(v + 1, Ordering::Relaxed);
                            exclusive_runs.fetch_add(1, Ordering::SeqCst);
                        }
                        held.fetch_sub(n, Ordering::SeqCst);
                        drop(permit);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= PERMITS);
        assert_eq!(exclusive_sum.load(Ordering::SeqCst), exclusive_runs.load(Ordering::SeqCst));
        assert_eq!(semaphore.available_permits(), PERMITS);
        assert!(!head_waiting(&semaphore));
    });
}

// ---------------------------------------------------------------------------------------------
// proptest: one thread against a sequential model
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    TryAcquire(usize),
    /// A timed acquire with a zero timeout: it may become the head, time out, and must leave.
    TimedAcquire(usize),
    /// Drop the held permit with this index (modulo the number held).
    Release(usize),
    Forget(usize),
    Add(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..6).prop_map(Op::TryAcquire),
        2 => (0usize..6).prop_map(Op::TimedAcquire),
        4 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Forget),
        2 => (0usize..4).prop_map(Op::Add),
    ]
}

proptest! {
    #[test]
    fn sequential_operations_match_a_counter_model(initial in 0usize..6, ops in prop::collection::vec(op(), 0..60)) {
        let semaphore = Semaphore::new(initial);
        let mut available = initial;
        let mut held: Vec<Permit<'_>> = Vec::new();
        for op in ops {
            match op {
                Op::TryAcquire(n) | Op::TimedAcquire(n) => {
                    let got = match op {
                        Op::TryAcquire(_) => semaphore.try_acquire_many(n),
                        _ => semaphore.acquire_many_timeout(n, Duration::ZERO),
                    };
                    prop_assert_eq!(got.is_some(), n <= available, "{:?} with {} available", op, available);
                    if let Some(permit) = got {
                        prop_assert_eq!(permit.num_permits(), n);
                        available -= n;
                        held.push(permit);
                    }
                }
                Op::Release(i) if !held.is_empty() => {
                    let permit = held.swap_remove(i % held.len());
                    available += permit.num_permits();
                    drop(permit);
                }
                Op::Forget(i) if !held.is_empty() => {
                    held.swap_remove(i % held.len()).forget();
                }
                Op::Add(n) => {
                    semaphore.add_permits(n);
                    available += n;
                }
                Op::Release(_) | Op::Forget(_) => {}
            }
            prop_assert_eq!(semaphore.available_permits(), available);
            prop_assert!(!head_waiting(&semaphore));
        }
        let returned: usize = held.iter().map(Permit::num_permits).sum();
        drop(held);
        prop_assert_eq!(semaphore.available_permits(), available + returned);
    }
}

/// `forget_permits` takes only available permits, shrinks what the semaphore owns (so
/// `add_permits` has room again), and leaves a waiting head waiting for more.
#[test]
fn forget_permits_removes_only_available_permits_and_a_head_waits_on() {
    let semaphore = Arc::new(Semaphore::new(3));
    assert_eq!(semaphore.forget_permits(0), 0);
    let held = semaphore.acquire_many(2);
    assert_eq!(semaphore.forget_permits(5), 1);
    assert_eq!(semaphore.forget_permits(1), 0, "none available");
    drop(held);
    assert_eq!(semaphore.available_permits(), 2, "the semaphore owns 2 now");
    // A head asking for 3 waits; forgetting what is reserved for it makes it wait for more.
    let head = {
        let semaphore = Arc::clone(&semaphore);
        thread::spawn(move || semaphore.acquire_many(3).num_permits())
    };
    eventually(WATCHDOG, "the head is waiting", || (semaphore.try_acquire().is_none()).then_some(()));
    assert_eq!(semaphore.forget_permits(1), 1);
    assert_eq!(semaphore.available_permits(), 1);
    semaphore.add_permits(2);
    assert_eq!(head.join().unwrap(), 3);
    assert_eq!(semaphore.available_permits(), 3);
    // The room freed by the forgetting: the owned count is 3 again, so the bound is exact.
    let big = Semaphore::new(Semaphore::MAX_PERMITS);
    assert_eq!(big.forget_permits(1), 1);
    assert!(big.try_add_permits(1).is_ok());
    assert!(big.try_add_permits(1).is_err());
}

#[test]
fn split_and_merge_move_permits_between_permits_of_one_semaphore() {
    let semaphore = Semaphore::new(4);
    let mut permit = semaphore.acquire_many(4);
    assert!(permit.split(5).is_none());
    assert_eq!(permit.num_permits(), 4, "a failed split changes nothing");
    let two = permit.split(2).unwrap();
    let none = permit.split(0).unwrap();
    assert_eq!((permit.num_permits(), two.num_permits(), none.num_permits()), (2, 2, 0));
    drop(two);
    assert_eq!(semaphore.available_permits(), 2);
    let mut one = semaphore.acquire();
    one.merge(permit);
    assert_eq!(one.num_permits(), 3);
    drop(none);
    drop(one);
    assert_eq!(semaphore.available_permits(), 4);

    let owned = Arc::new(Semaphore::new(3));
    let mut permit = Arc::clone(&owned).acquire_many_owned(3);
    let one = permit.split(1).unwrap();
    assert!(Arc::ptr_eq(one.semaphore(), &owned));
    thread::spawn(move || drop(one)).join().unwrap();
    assert_eq!(owned.available_permits(), 1);
    permit.merge(Arc::clone(&owned).acquire_owned());
    assert_eq!(permit.num_permits(), 3);
}

#[test]
fn merging_permits_of_two_semaphores_panics_clearly_and_returns_both() {
    let a = Semaphore::new(1);
    let b = Semaphore::new(1);
    let mut from_a = a.acquire();
    let from_b = b.acquire();
    let err = catch_unwind(AssertUnwindSafe(|| from_a.merge(from_b))).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"Permit::merge: the permits are from different semaphores"));
    assert_eq!(b.available_permits(), 1, "the other permit went back to its own semaphore");
    drop(from_a);
    assert_eq!(a.available_permits(), 1);
}
