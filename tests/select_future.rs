//! `Selector::future`: any future as one more operation of a selection (timers, oneshots,
//! semaphore permits), blocking and async. Exactly one operation completes; a future passed by
//! value is dropped (cancelled) before the winner's closure runs, one passed by reference
//! stays with the caller; nothing handed to either side is lost. Blocking scenarios run under
//! a watchdog; no test asserts on timing.
#![cfg(not(loom))]

mod common;

use common::{SETTLE, WATCHDOG, flavors, within};
use ringfence::Semaphore;
use ringfence::channel::{SelectTimeoutError, Selector, TryRecvError, TrySelectError, bounded, unbounded};
use ringfence::timer::{interval, sleep};
use ringfence::{oneshot, timer};
use std::future::{Future, pending, ready};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// A future that is never ready and records its drop.
struct DropFlag(Arc<AtomicBool>);

impl Future for DropFlag {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn try_wait_completes_a_ready_future_and_polls_a_pending_one_once() {
    assert_eq!(Selector::new().future(ready(5), |v| v).try_wait(), Ok(5));
    assert_eq!(Selector::new().future(pending::<u8>(), |v| v).try_wait(), Err(TrySelectError));
    // A ready future beside a ready channel: one of them, and the other is left as it was.
    let (tx, rx) = bounded::<u8>(1);
    tx.send(1).unwrap();
    let got = Selector::new().future(ready(2), |v| v).recv(&rx, |v| v.unwrap()).try_wait().unwrap();
    match got {
        1 => {}
        2 => assert_eq!(rx.try_recv(), Ok(1), "the channel's value stayed"),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn a_future_by_value_is_dropped_before_the_winners_closure_runs() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (tx, rx) = unbounded::<u8>();
    tx.send(3).unwrap();
    let seen = Selector::new()
        .future(DropFlag(Arc::clone(&dropped)), |()| None)
        .recv(&rx, |v| Some((v.unwrap(), dropped.load(Ordering::SeqCst))))
        .wait();
    assert_eq!(seen, Some((3, true)), "the losing future was cancelled before the closure");
}

#[test]
fn a_future_by_reference_stays_with_the_caller_and_keeps_its_registration() {
    within(WATCHDOG, || {
        // A sleep, selected (after the channel: `biased`) again and again: each selection that
        // takes a value leaves it pending with the caller, and the last one blocks until the
        // timer completes it.
        let mut nap = sleep(Duration::from_millis(20));
        let (tx, rx) = unbounded::<u32>();
        (0..5).for_each(|v| tx.send(v).unwrap()); // `tx` stays: a disconnection would be ready
        let mut got = Vec::new();
        loop {
            let woke =
                Selector::new().recv(&rx, |v| Some(v.unwrap())).future(&mut nap, |()| None).biased().wait();
            match woke {
                Some(v) => got.push(v),
                None => break,
            }
        }
        assert_eq!(got, (0..5).collect::<Vec<_>>(), "every value before the sleep ended");
        assert!(nap.is_elapsed());
        drop(tx);
    });
}

#[test]
fn a_blocking_wait_is_woken_by_a_future_completed_on_another_thread() {
    within(WATCHDOG, || {
        for _ in 0..200 {
            let (reply_tx, mut reply) = oneshot::channel::<u64>();
            let (_quiet_tx, quiet) = bounded::<u64>(1);
            let answer = thread::spawn(move || reply_tx.send(42).unwrap());
            let got = Selector::new().recv(&quiet, |_| 0).future(&mut reply, |v| v.unwrap()).wait();
            assert_eq!(got, 42);
            answer.join().unwrap();
        }
    });
}

#[test]
fn a_timer_tick_wakes_a_blocking_wait() {
    within(WATCHDOG, || {
        let (_tx, rx) = bounded::<u8>(1);
        let mut every = interval(Duration::from_millis(2));
        // The first tick is at once, the next ones come from the timer thread's wakeups.
        let ticks = (0..5)
            .map(|_| Selector::new().recv(&rx, |_| None).future(every.tick(), Some).wait())
            .collect::<Vec<_>>();
        assert!(ticks.iter().all(Option::is_some));
        assert!(ticks.windows(2).all(|pair| pair[0] < pair[1]), "each tick once, in order");
    });
}

#[test]
fn a_timed_out_wait_cancels_a_future_passed_by_value() {
    let dropped = Arc::new(AtomicBool::new(false));
    let got = Selector::new()
        .future(DropFlag(Arc::clone(&dropped)), |()| ())
        .wait_timeout(Duration::from_millis(5));
    assert_eq!(got, Err(SelectTimeoutError));
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_pinned_async_block_is_an_operation() {
    let (tx, rx) = oneshot::channel::<u32>();
    let mut doubled = pin!(async move { rx.await.unwrap() * 2 });
    tx.send(21).unwrap();
    assert_eq!(Selector::new().future(doubled.as_mut(), |v| v).wait(), 42);
    let boxed = Box::pin(async { "boxed" });
    assert_eq!(Selector::new().future(boxed, |v| v).try_wait(), Ok("boxed"));
}

#[test]
fn a_panicking_future_leaves_the_other_operations_cancelled() {
    /// Pending at the looks (a no-op waker), panics at the first round's poll: after the
    /// receive before it (`biased`) registered.
    struct PanicsWhenRegistering;
    impl Future for PanicsWhenRegistering {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            assert!(cx.waker().will_wake(Waker::noop()), "the future's own panic");
            Poll::Pending
        }
    }
    for (name, tx, rx) in flavors::<u8>() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Selector::new().recv(&rx, |_| ()).future(PanicsWhenRegistering, |()| ()).biased().wait()
        }));
        let payload = outcome.expect_err("the future panicked");
        let message = payload.downcast_ref::<&str>().copied();
        assert_eq!(message, Some("the future's own panic"), "{name}");
        // The receive left its queue: a receiver blocked now gets the next value (a stale
        // entry could take its wakeup: the watchdog would fire).
        within(WATCHDOG, move || {
            let receiver = thread::spawn(move || rx.recv().unwrap());
            thread::sleep(SETTLE); // most likely blocked by now (either way it must get the value)
            tx.send(1).unwrap();
            assert_eq!(receiver.join().unwrap(), 1, "{name}");
        });
    }
}

/// Each round races a channel value against a oneshot reply, both sent by other threads; the
/// oneshot is selected by reference. Exactly one is taken by the selection, the other is
/// received afterwards: nothing lost, nothing twice.
#[test]
fn a_oneshot_and_a_channel_racing_deliver_each_value_exactly_once() {
    within(WATCHDOG, || {
        let (tx, rx) = bounded::<u64>(1);
        for round in 0..2_000u64 {
            let (reply_tx, mut reply) = oneshot::channel::<u64>();
            let channel_sender = {
                let tx = tx.clone();
                thread::spawn(move || tx.send(round * 2).unwrap())
            };
            let oneshot_sender = thread::spawn(move || reply_tx.send(round * 2 + 1).unwrap());
            let first = Selector::new().recv(&rx, |v| v.unwrap()).future(&mut reply, |v| v.unwrap()).wait();
            let second = if first % 2 == 0 { reply.recv().unwrap() } else { rx.recv().unwrap() };
            assert_eq!(first + second, round * 4 + 1, "round {round}: each value once");
            channel_sender.join().unwrap();
            oneshot_sender.join().unwrap();
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    });
}

/// A semaphore's `acquire_async` by value against a channel: when the channel wins, the
/// dropped acquire returns whatever it had taken, so the permits always add up.
#[test]
fn a_cancelled_acquire_returns_its_permits() {
    within(WATCHDOG, || {
        let semaphore = Arc::new(Semaphore::new(1));
        let (tx, rx) = bounded::<u32>(1);
        for round in 0..2_000u32 {
            let held = semaphore.try_acquire().expect("every permit is back");
            let releaser = {
                let semaphore = Arc::clone(&semaphore);
                thread::spawn(move || semaphore.add_permits(1))
            };
            held.forget();
            let feeder = {
                let tx = tx.clone();
                thread::spawn(move || tx.send(round).unwrap())
            };
            let permit = Selector::new()
                .recv(&rx, |v| {
                    assert_eq!(v, Ok(round));
                    None
                })
                .future(semaphore.acquire_async(), Some)
                .wait();
            releaser.join().unwrap();
            feeder.join().unwrap();
            if let Some(permit) = permit {
                drop(permit);
                assert_eq!(rx.recv(), Ok(round));
            }
            assert_eq!(semaphore.available_permits(), 1, "round {round}: no permit lost or made");
        }
    });
}

#[test]
fn wait_async_selects_a_timer_against_a_channel_on_both_runtimes() {
    for multi_thread in [false, true] {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap()
        } else {
            tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
        };
        let (tx, rx) = bounded::<u32>(4);
        let got = rt.block_on(async move {
            tokio::spawn(async move {
                for v in 0..100 {
                    tx.send_async(v).await.unwrap();
                }
                tokio::time::sleep(Duration::from_secs(3600)).await; // keeps the sender
            });
            // Every value, with a timer that does not fire pending beside the receive (by
            // reference: the same timer for every selection).
            let mut got = Vec::new();
            let mut later = timer::sleep(Duration::from_secs(3600));
            while got.len() < 100 {
                let next =
                    Selector::new().recv(&rx, |v| v.ok()).future(&mut later, |()| None).wait_async().await;
                got.push(next.expect("a value, not the hour's timer"));
            }
            // Then nothing more comes: a short timer wakes the task.
            let last = Selector::new()
                .recv(&rx, |v| v.ok())
                .future(timer::sleep(Duration::from_millis(5)), |()| None)
                .wait_async()
                .await;
            assert_eq!(last, None, "the timer, not a value");
            got
        });
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "multi-thread: {multi_thread}");
        rt.shutdown_background();
    }
}

/// A selection's future is `Unpin` whatever its closures and outputs are (found by review: a
/// `!Unpin` output, or a closure owning a `!Unpin` value, made it impossible to await).
#[test]
fn a_selection_with_unpin_less_outputs_and_closures_can_be_awaited() {
    use std::marker::PhantomPinned;
    fn assert_unpin<T: Unpin>(_: &T) {}
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (_tx, rx) = bounded::<u8>(1);
    let pinned = PhantomPinned;
    let selection = Selector::new()
        .recv(&rx, move |_| {
            let _owned = &pinned;
            0
        })
        .future(ready(PhantomPinned), |_output| 1)
        .wait_async();
    assert_unpin(&selection);
    assert_eq!(rt.block_on(selection), 1);
}
