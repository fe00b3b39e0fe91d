#![cfg(not(loom))]
//! The semaphore's async acquires: behaviour of one future (ready at once, zero permits, the
//! documented panics, the latest waker, `Debug`), head-of-line and cancel safety (a dropped head
//! or waiter loses nothing and strands nobody), tokio (multi-thread and current-thread) and a
//! minimal `block_on` mixed with blocking acquirers, a stress test (never more holders than
//! permits), and `select!` against a short sleep in a loop (every cancelled acquire gives
//! everything back).

mod async_util;
mod common;

use async_util::{block_on, counting};
use common::{WATCHDOG, eventually, within};
use ringfence::{AcquireFuture, Permit, Semaphore};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Whether an acquirer is at the head of the line (from the `Debug` snapshot).
fn head_waiting(semaphore: &Semaphore) -> bool {
    format!("{semaphore:?}").contains("head_waiting: true")
}

/// Polls `future` once with `waker`.
fn poll_once<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_time().build().unwrap()
}

/// Holders of a semaphore's permits, counted to check the bound.
#[derive(Default)]
struct Holders {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Holders {
    /// Counts `n` more permits held; panics if that passes `limit`.
    fn enter(&self, n: usize, limit: usize) {
        let now = self.now.fetch_add(n, Ordering::SeqCst) + n;
        assert!(now <= limit, "{now} permits held of {limit}");
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self, n: usize) {
        self.now.fetch_sub(n, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// One future
// ---------------------------------------------------------------------------------------------

#[test]
fn a_free_permit_is_taken_at_the_first_poll() {
    let semaphore = Semaphore::new(2);
    let (counter, waker) = counting();
    let mut future = pin!(semaphore.acquire_many_async(2));
    let Poll::Ready(permit) = poll_once(future.as_mut(), &waker) else { panic!("two are free") };
    assert_eq!(permit.num_permits(), 2);
    assert_eq!(semaphore.available_permits(), 0);
    drop(permit);
    assert_eq!(semaphore.available_permits(), 2);
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn a_future_does_nothing_until_polled() {
    let semaphore = Semaphore::new(1);
    let future = semaphore.acquire_async();
    assert_eq!(semaphore.available_permits(), 1);
    drop(future);
    assert_eq!(semaphore.available_permits(), 1);
}

#[test]
fn zero_permits_are_ready_at_once_even_when_empty_or_behind_a_head() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.acquire();
    let (_, waker) = counting();
    let mut head = pin!(semaphore.acquire_async());
    assert!(poll_once(head.as_mut(), &waker).is_pending());
    assert!(head_waiting(&semaphore));
    let mut zero = pin!(semaphore.acquire_many_async(0));
    let Poll::Ready(empty) = poll_once(zero.as_mut(), &waker) else { panic!("zero is always free") };
    assert_eq!(empty.num_permits(), 0);
    drop(empty);
    drop(held);
    assert!(matches!(poll_once(head.as_mut(), &waker), Poll::Ready(ref p) if p.num_permits() == 1));
}

#[test]
#[should_panic(expected = "cannot acquire 2305843009213693952 permits: more than Semaphore::MAX_PERMITS")]
fn acquire_many_async_beyond_max_panics_at_once() {
    let semaphore = Semaphore::new(1);
    // Not polled: the panic comes from the call, as the docs say.
    let _future = semaphore.acquire_many_async(Semaphore::MAX_PERMITS + 1);
}

#[test]
#[should_panic(expected = "cannot acquire 18446744073709551615 permits")]
#[cfg(target_pointer_width = "64")]
fn acquire_many_owned_async_beyond_max_panics_at_once() {
    let semaphore = Arc::new(Semaphore::new(1));
    let _future = semaphore.acquire_many_owned_async(usize::MAX);
}

#[test]
#[should_panic(expected = "an acquire future polled after it completed")]
fn polling_a_completed_future_panics() {
    let semaphore = Semaphore::new(1);
    let (_, waker) = counting();
    let mut future = pin!(semaphore.acquire_async());
    let _permit = poll_once(future.as_mut(), &waker);
    let _ = poll_once(future.as_mut(), &waker);
}

#[test]
#[should_panic(expected = "an acquire future polled after it completed")]
fn polling_a_completed_owned_future_panics() {
    let semaphore = Arc::new(Semaphore::new(1));
    let (_, waker) = counting();
    let mut future = pin!(semaphore.acquire_owned_async());
    let _permit = poll_once(future.as_mut(), &waker);
    let _ = poll_once(future.as_mut(), &waker);
}

#[test]
fn only_the_latest_waker_is_woken() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.acquire();
    let (first, first_waker) = counting();
    let (second, second_waker) = counting();
    let mut future = pin!(semaphore.acquire_async());
    assert!(poll_once(future.as_mut(), &first_waker).is_pending());
    assert!(poll_once(future.as_mut(), &second_waker).is_pending());
    drop(held);
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert!(poll_once(future.as_mut(), &second_waker).is_ready());
}

#[test]
fn debug_shows_the_request_and_its_stage() {
    let semaphore = Arc::new(Semaphore::new(0));
    let (_, waker) = counting();
    let mut future = pin!(semaphore.acquire_many_async(2));
    assert_eq!(format!("{future:?}"), "AcquireFuture { permits: 2, stage: Fresh, .. }");
    assert!(poll_once(future.as_mut(), &waker).is_pending());
    assert_eq!(format!("{future:?}"), "AcquireFuture { permits: 2, stage: Head, .. }");
    let mut owned = pin!(Arc::clone(&semaphore).acquire_owned_async());
    assert!(poll_once(owned.as_mut(), &waker).is_pending());
    assert_eq!(format!("{owned:?}"), "AcquireOwnedFuture { permits: 1, stage: InLine, .. }");
}

#[test]
fn owned_futures_and_permits_are_send_and_static() {
    fn send_static<T: Send + 'static>(_: &T) {}
    fn send_sync<T: Send + Sync>(_: &T) {}
    let semaphore = Arc::new(Semaphore::new(1));
    let owned = Arc::clone(&semaphore).acquire_owned_async();
    send_static(&owned);
    send_sync(&owned);
    let borrowed = semaphore.acquire_async();
    send_sync(&borrowed);
}

// ---------------------------------------------------------------------------------------------
// Head-of-line and cancel safety
// ---------------------------------------------------------------------------------------------

#[test]
fn a_pending_head_reserves_the_free_permits_and_its_drop_frees_them() {
    let semaphore = Semaphore::new(2);
    let held = semaphore.acquire();
    let (_, waker) = counting();
    let mut big = Box::pin(semaphore.acquire_many_async(2));
    assert!(poll_once(big.as_mut(), &waker).is_pending());
    assert!(head_waiting(&semaphore));
    assert!(semaphore.try_acquire().is_none(), "the free permit is the head's");
    drop(big); // cancelled: gives the head role up, took nothing
    assert!(!head_waiting(&semaphore));
    assert_eq!(semaphore.available_permits(), 1);
    assert!(semaphore.try_acquire().is_some());
    drop(held);
    assert_eq!(semaphore.available_permits(), 2);
}

#[test]
fn a_cancelled_head_with_permits_released_meanwhile_takes_nothing() {
    let semaphore = Semaphore::new(2);
    let both = semaphore.acquire_many(2);
    let (woken, waker) = counting();
    let mut big = Box::pin(semaphore.acquire_many_async(2));
    assert!(poll_once(big.as_mut(), &waker).is_pending());
    drop(both); // enough now: the head is woken ...
    assert_eq!(woken.wakes(), 1);
    drop(big); // ... but dropped before its next poll: the permits stay available
    assert_eq!(semaphore.available_permits(), 2);
    assert!(semaphore.try_acquire_many(2).is_some());
}

#[test]
fn a_woken_head_dropped_hands_the_line_to_the_waiter_behind_it() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.acquire();
    let (head_woken, head_waker) = counting();
    let (behind_woken, behind_waker) = counting();
    let mut head = Box::pin(semaphore.acquire_async());
    let mut behind = Box::pin(semaphore.acquire_async());
    assert!(poll_once(head.as_mut(), &head_waker).is_pending());
    assert!(poll_once(behind.as_mut(), &behind_waker).is_pending());
    drop(held);
    assert_eq!((head_woken.wakes(), behind_woken.wakes()), (1, 0));
    drop(head); // woken, never polled again
    assert_eq!(behind_woken.wakes(), 1, "the dropped head woke the line");
    assert!(poll_once(behind.as_mut(), &behind_waker).is_ready());
}

#[test]
fn a_woken_waiter_dropped_passes_the_wakeup_on() {
    let semaphore = Semaphore::new(1);
    let held = semaphore.acquire();
    let (_, quiet) = counting();
    let (older_woken, older_waker) = counting();
    let (younger_woken, younger_waker) = counting();
    let mut head = Box::pin(semaphore.acquire_async());
    let mut older = Box::pin(semaphore.acquire_async());
    let mut younger = Box::pin(semaphore.acquire_async());
    assert!(poll_once(head.as_mut(), &quiet).is_pending());
    assert!(poll_once(older.as_mut(), &older_waker).is_pending());
    assert!(poll_once(younger.as_mut(), &younger_waker).is_pending());
    drop(head); // the line has no head: the oldest waiter is woken
    assert_eq!((older_woken.wakes(), younger_woken.wakes()), (1, 0));
    drop(older); // woken, never polled again: the wakeup goes on
    assert_eq!(younger_woken.wakes(), 1);
    assert!(poll_once(younger.as_mut(), &younger_waker).is_pending(), "it is the head now");
    drop(held);
    assert!(poll_once(younger.as_mut(), &younger_waker).is_ready());
}

/// On a semaphore of no permits: a head, the futures of `behind` polled once each (they wait
/// behind it), and one permit added, which the head takes, leaving none while they wait: the
/// line has its turn. Returns the head's permit.
fn give_the_line_its_turn<'a>(
    semaphore: &'a Semaphore,
    behind: &mut [(Pin<Box<AcquireFuture<'a>>>, Waker)],
) -> Permit<'a> {
    let (_, quiet) = counting();
    let mut head = Box::pin(semaphore.acquire_async());
    assert!(poll_once(head.as_mut(), &quiet).is_pending());
    for (future, waker) in behind.iter_mut() {
        assert!(poll_once(future.as_mut(), waker).is_pending(), "a head waits");
    }
    semaphore.add_permits(1);
    let Poll::Ready(permit) = poll_once(head.as_mut(), &quiet) else { panic!("the head is served") };
    permit
}

#[test]
fn a_release_goes_to_the_waiter_it_woke_not_back_to_the_releasing_task() {
    // The line's turn: the head took the last permit while a future waited behind it, so the
    // release of that permit wakes the waiter, and the releasing task's next acquire (a
    // newcomer) waits behind it instead of taking the permit back before the woken task runs.
    let semaphore = Semaphore::new(0);
    let (waiter_woken, waker) = counting();
    let mut behind = [(Box::pin(semaphore.acquire_async()), waker.clone())];
    let first = give_the_line_its_turn(&semaphore, &mut behind);
    assert_eq!(waiter_woken.wakes(), 0, "no waiter is woken to find nothing");
    drop(first);
    assert_eq!(waiter_woken.wakes(), 1, "the release woke the waiter");
    assert!(semaphore.try_acquire().is_none(), "the permit is the woken waiter's");
    let (_, again_waker) = counting();
    let mut again = Box::pin(semaphore.acquire_async());
    assert!(poll_once(again.as_mut(), &again_waker).is_pending(), "a newcomer waits behind the line");
    let [(waiter, _)] = &mut behind;
    let Poll::Ready(second) = poll_once(waiter.as_mut(), &waker) else {
        panic!("the woken waiter is served")
    };
    drop(second);
    assert!(poll_once(again.as_mut(), &again_waker).is_ready());
}

#[test]
fn each_permit_released_during_the_lines_turn_wakes_one_waiter() {
    // Two waiters, re-polled during the turn with nothing to take (they keep waiting in the line
    // rather than one becoming the head); two permits come back at once: both are woken and
    // served, one per permit.
    let semaphore = Semaphore::new(0);
    let (a_woken, a_waker) = counting();
    let (b_woken, b_waker) = counting();
    let mut behind = [
        (Box::pin(semaphore.acquire_async()), a_waker.clone()),
        (Box::pin(semaphore.acquire_async()), b_waker.clone()),
    ];
    let first = give_the_line_its_turn(&semaphore, &mut behind);
    for (future, waker) in behind.iter_mut() {
        assert!(poll_once(future.as_mut(), waker).is_pending(), "nothing to take yet");
    }
    semaphore.add_permits(2);
    assert_eq!((a_woken.wakes(), b_woken.wakes()), (1, 1));
    let permits: Vec<_> = behind
        .iter_mut()
        .map(|(future, waker)| match poll_once(future.as_mut(), waker) {
            Poll::Ready(permit) => permit,
            Poll::Pending => panic!("a woken waiter finds its permit"),
        })
        .collect();
    drop((first, permits));
    assert_eq!(semaphore.available_permits(), 3);
}

#[test]
fn a_waiter_for_more_than_the_turn_brings_becomes_the_head() {
    // Head-of-line during the turn: a waiter for two permits woken by a release of one becomes
    // the head, and the single-permit waiter behind it gets nothing until it is served.
    let semaphore = Semaphore::new(0);
    let (_, big_waker) = counting();
    let (_, small_waker) = counting();
    let mut behind = [
        (Box::pin(semaphore.acquire_many_async(2)), big_waker.clone()),
        (Box::pin(semaphore.acquire_async()), small_waker.clone()),
    ];
    let first = give_the_line_its_turn(&semaphore, &mut behind);
    drop(first);
    let [(big, _), (small, _)] = &mut behind;
    assert!(poll_once(big.as_mut(), &big_waker).is_pending(), "one of two: it becomes the head");
    assert!(poll_once(small.as_mut(), &small_waker).is_pending(), "the free permit is the head's");
    semaphore.add_permits(1);
    let Poll::Ready(both) = poll_once(big.as_mut(), &big_waker) else { panic!("the head is served") };
    assert_eq!(both.num_permits(), 2);
    assert!(poll_once(small.as_mut(), &small_waker).is_pending());
    drop(both);
    assert!(poll_once(small.as_mut(), &small_waker).is_ready());
}

#[test]
fn a_blocking_acquirer_behind_a_cancelled_async_head_is_served() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(1));
        let held = Arc::clone(&semaphore).acquire_owned();
        let (_, waker) = counting();
        let mut head = Box::pin(Arc::clone(&semaphore).acquire_owned_async());
        assert!(poll_once(head.as_mut(), &waker).is_pending());
        let blocking = {
            let semaphore = Arc::clone(&semaphore);
            thread::spawn(move || semaphore.acquire().num_permits())
        };
        thread::sleep(Duration::from_millis(5)); // let it park behind the head (not needed)
        drop(head);
        drop(held);
        assert_eq!(blocking.join().unwrap(), 1);
        assert_eq!(semaphore.available_permits(), 1);
    });
}

#[test]
fn a_request_for_every_permit_is_not_starved_by_async_single_permit_acquirers() {
    // As the blocking test in `tests/semaphore.rs`: 4 permits, 1 held by us, two tasks loop
    // acquiring 1 asynchronously (they never wait: at most 3 are ever held). A task asks for
    // all 4 and becomes the head; from then on at most SMALL single acquires complete (those
    // already past their acquire) until it is served. No timing.
    const PERMITS: usize = 4;
    const SMALL: usize = 2;
    within(WATCHDOG, || {
        let runtime = multi_thread();
        let semaphore = Arc::new(Semaphore::new(PERMITS));
        let acquires = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::clone(&semaphore).acquire_owned();
        let smalls: Vec<_> = (0..SMALL)
            .map(|_| {
                let (semaphore, acquires, stop) =
                    (Arc::clone(&semaphore), Arc::clone(&acquires), Arc::clone(&stop));
                runtime.spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let _one = semaphore.acquire_async().await;
                        acquires.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        eventually(WATCHDOG, "the single acquirers are running", || {
            (acquires.load(Ordering::SeqCst) >= 1000).then_some(())
        });
        let big = {
            let (semaphore, acquires) = (Arc::clone(&semaphore), Arc::clone(&acquires));
            runtime.spawn(async move {
                let all = semaphore.acquire_many_async(PERMITS).await;
                let at_service = acquires.load(Ordering::SeqCst);
                drop(all);
                at_service
            })
        };
        eventually(WATCHDOG, "the big request is the head", || head_waiting(&semaphore).then_some(()));
        let at_head = acquires.load(Ordering::SeqCst);
        drop(held);
        let at_service = runtime.block_on(big).unwrap();
        stop.store(true, Ordering::SeqCst);
        for small in smalls {
            runtime.block_on(small).unwrap();
        }
        assert!(
            at_service - at_head <= SMALL,
            "{} single acquires completed while the big request was the head",
            at_service - at_head
        );
        assert_eq!(semaphore.available_permits(), PERMITS);
    });
}

// ---------------------------------------------------------------------------------------------
// Runtimes
// ---------------------------------------------------------------------------------------------

/// Tasks per runtime test, and iterations per task: more in release builds.
const TASKS: usize = 32;
const ITERS: usize = if cfg!(debug_assertions) { 200 } else { 2_000 };

/// Counts `n` permits held across a yield.
async fn hold(holders: &Holders, n: usize, limit: usize) {
    holders.enter(n, limit);
    tokio::task::yield_now().await;
    holders.leave(n);
}

/// `TASKS` tasks on `runtime`, each acquiring 1 or 2 of 3 permits `ITERS` times (yielding while
/// it holds them): the holders never exceed the permits, and every permit comes back.
fn tasks_share_the_permits(runtime: &tokio::runtime::Runtime) {
    const PERMITS: usize = 3;
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let holders = Arc::new(Holders::default());
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (semaphore, holders) = (Arc::clone(&semaphore), Arc::clone(&holders));
                tokio::spawn(async move {
                    for i in 0..ITERS {
                        let n = 1 + (t + i) % 2;
                        if i % 2 == 0 {
                            let permit = Arc::clone(&semaphore).acquire_many_owned_async(n).await;
                            hold(&holders, n, PERMITS).await;
                            drop(permit);
                        } else {
                            // The borrowed form, its permit held across an await.
                            let permit = semaphore.acquire_many_async(n).await;
                            hold(&holders, n, PERMITS).await;
                            drop(permit);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert!(holders.most() <= PERMITS);
    assert!(holders.most() >= 2, "the tasks ran concurrently (most {})", holders.most());
    assert_eq!(semaphore.available_permits(), PERMITS);
    assert!(!head_waiting(&semaphore));
}

#[test]
fn tokio_multi_thread_tasks_never_exceed_the_permits() {
    within(WATCHDOG * 2, || tasks_share_the_permits(&multi_thread()));
}

#[test]
fn tokio_current_thread_tasks_never_exceed_the_permits() {
    within(WATCHDOG * 2, || tasks_share_the_permits(&current_thread()));
}

#[test]
fn minimal_block_on_threads_share_permits_with_blocking_threads() {
    // 8 threads on 2 permits, half waiting through a minimal `block_on`, half blocking, some
    // asking for both permits: the bound holds and every permit comes back.
    const PERMITS: usize = 2;
    const THREADS: usize = 8;
    within(WATCHDOG * 2, || {
        let semaphore = Semaphore::new(PERMITS);
        let holders = Holders::default();
        thread::scope(|s| {
            for t in 0..THREADS {
                let (semaphore, holders) = (&semaphore, &holders);
                s.spawn(move || {
                    for i in 0..ITERS * 5 {
                        let n = if (t + i) % 5 == 0 { PERMITS } else { 1 };
                        let permit = if t % 2 == 0 {
                            block_on(semaphore.acquire_many_async(n))
                        } else {
                            semaphore.acquire_many(n)
                        };
                        holders.enter(n, PERMITS);
                        thread::yield_now();
                        holders.leave(n);
                        drop(permit);
                    }
                });
            }
        });
        assert!(holders.most() <= PERMITS);
        assert_eq!(semaphore.available_permits(), PERMITS);
        assert!(!head_waiting(&semaphore));
    });
}

// ---------------------------------------------------------------------------------------------
// Cancellation under load
// ---------------------------------------------------------------------------------------------

/// `TASKS` tasks race `acquire_many_async(1 or 2)` against a short sleep in a loop, holding
/// what they get across a sleep of their own: many acquires are cancelled (some as the head,
/// some woken and never polled again). Nothing may leak: every permit is back at the end, no
/// head is left behind, and the bound held throughout.
fn select_against_a_sleep(runtime: &tokio::runtime::Runtime) {
    const PERMITS: usize = 2;
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let holders = Arc::new(Holders::default());
    let acquired = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (semaphore, holders, acquired, cancelled) = (
                    Arc::clone(&semaphore),
                    Arc::clone(&holders),
                    Arc::clone(&acquired),
                    Arc::clone(&cancelled),
                );
                tokio::spawn(async move {
                    for i in 0..ITERS / 4 {
                        let n = 1 + (t + i) % 2;
                        tokio::select! {
                            permit = semaphore.acquire_many_async(n) => {
                                holders.enter(n, PERMITS);
                                acquired.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_micros(100)).await;
                                holders.leave(n);
                                drop(permit);
                            }
                            () = tokio::time::sleep(Duration::from_micros(50 + (t as u64 % 4) * 50)) => {
                                cancelled.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let (acquired, cancelled) = (acquired.load(Ordering::SeqCst), cancelled.load(Ordering::SeqCst));
    assert_eq!(acquired + cancelled, TASKS * (ITERS / 4));
    assert!(acquired > 0 && cancelled > 0, "acquired {acquired}, cancelled {cancelled}");
    assert!(holders.most() <= PERMITS);
    assert_eq!(semaphore.available_permits(), PERMITS, "acquired {acquired}, cancelled {cancelled}");
    assert!(!head_waiting(&semaphore), "a cancelled head was left behind");
    // And the semaphore still works: an acquire of every permit is served at once.
    assert!(semaphore.try_acquire_many(PERMITS).is_some());
}

#[test]
fn select_against_a_sleep_multi_thread_leaks_nothing() {
    within(WATCHDOG * 2, || select_against_a_sleep(&multi_thread()));
}

#[test]
fn select_against_a_sleep_current_thread_leaks_nothing() {
    within(WATCHDOG * 2, || select_against_a_sleep(&current_thread()));
}

/// A waker whose `wake` panics: a bug in a user's executor.
struct PanicsOnWake;

impl std::task::Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

/// Found by review: the served head wakes the line after taking its permit, and a panic from
/// another task's waker unwound through it before the permit was wrapped, losing it for good.
/// The panic is caught now; the head gets its permit and the line's chain goes on.
#[test]
fn a_waker_that_panics_costs_no_other_acquirer_its_permit_or_its_wakeup() {
    let sem = Semaphore::new(1);
    let (_counter, counts) = counting();
    let panics = Waker::from(Arc::new(PanicsOnWake));
    let held = sem.acquire();
    let mut head = pin!(sem.acquire_async());
    assert!(head.as_mut().poll(&mut Context::from_waker(&counts)).is_pending());
    let mut in_line = Box::pin(sem.acquire_async());
    assert!(in_line.as_mut().poll(&mut Context::from_waker(&panics)).is_pending());
    drop(held);
    let permit = match head.as_mut().poll(&mut Context::from_waker(&counts)) {
        Poll::Ready(permit) => permit,
        Poll::Pending => panic!("the head is served: a permit was released"),
    };
    drop(permit);
    // The line had its turn (the head took the only permit while `in_line` waited): the
    // release woke `in_line`, whose waker panicked, and nobody else waits, so the turn ended
    // and the permit is anyone's, not kept for a task that lost its wakeup.
    assert!(sem.try_acquire().is_some(), "the permit is free while the panicked waiter lives");
    drop(in_line);
    assert_eq!(sem.available_permits(), 1, "no permit lost");
    assert!(sem.try_acquire().is_some());
}

/// A thread in line behind a future whose waker panics still gets a released permit (the
/// chain of wakeups goes on past the panic; a lost wakeup fails the watchdog).
#[test]
fn a_waker_that_panics_does_not_stop_the_line() {
    within(WATCHDOG, || {
        let sem = Arc::new(Semaphore::new(1));
        let (_counter, counts) = counting();
        let panics = Waker::from(Arc::new(PanicsOnWake));
        let held = sem.acquire();
        let mut head = Box::pin(sem.acquire_async());
        assert!(head.as_mut().poll(&mut Context::from_waker(&counts)).is_pending());
        let mut in_line = Box::pin(sem.acquire_async());
        assert!(in_line.as_mut().poll(&mut Context::from_waker(&panics)).is_pending());
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || drop(sem.acquire()))
        };
        thread::sleep(Duration::from_millis(50)); // most likely asleep in line by now
        drop(head); // gives the head role up and wakes the line: the first waker panics
        drop(held);
        waiter.join().expect("the thread got the permit");
        drop(in_line);
    });
}
