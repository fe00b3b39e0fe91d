#![cfg(not(loom))]
//! Integration tests of `ringfence::timer`: a `Sleep` completes not before its deadline under
//! tokio (both flavours) and a hand-written `block_on`; it keeps only its latest waker; dropping
//! it releases its waker and wakes nothing later; "never" deadlines do not panic.
//!
//! Timing assertions are lower bounds only ("not before the deadline"), never "within".

mod async_util;
mod common;

use async_util::{Counter, block_on, held, poll_once};
use ringfence::timer::{Elapsed, Sleep, sleep, sleep_until, timeout, timeout_at};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn sleep_completes_not_before_its_deadline_with_block_on() {
    common::within(common::WATCHDOG, || {
        for wait in [0, 1, 5, 20] {
            let start = Instant::now();
            block_on(sleep(MS * wait));
            assert!(start.elapsed() >= MS * wait);
        }
        let deadline = Instant::now() + 15 * MS;
        block_on(sleep_until(deadline));
        assert!(Instant::now() >= deadline);
    });
}

#[tokio::test(flavor = "current_thread")]
async fn sleep_completes_not_before_its_deadline_on_tokio_current_thread() {
    let start = Instant::now();
    sleep(10 * MS).await;
    assert!(start.elapsed() >= 10 * MS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sleeps_each_complete_not_before_their_deadline_on_tokio_multi_thread() {
    let start = Instant::now();
    let tasks: Vec<_> = (0..64u32)
        .map(|i| {
            // Deadlines out of order, some equal.
            let deadline = start + MS * ((i * 7) % 23);
            tokio::spawn(async move {
                sleep_until(deadline).await;
                assert!(Instant::now() >= deadline);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

#[test]
fn sleeps_from_many_threads_all_complete() {
    common::within(common::WATCHDOG, || {
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                thread::spawn(move || {
                    for i in 0..20u32 {
                        let wait = MS * ((t + i) % 4);
                        let start = Instant::now();
                        block_on(sleep(wait));
                        assert!(start.elapsed() >= wait);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}

#[test]
fn a_past_deadline_completes_at_the_first_poll_and_registers_nothing() {
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut past = sleep_until(Instant::now());
    assert_eq!(poll_once(&mut past, &waker), Poll::Ready(()));
    assert_eq!(held(&counter), 0);
    assert!(sleep(Duration::ZERO).is_elapsed());
}

#[test]
fn duration_max_means_never_and_holds_no_waker() {
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut never = sleep(Duration::MAX);
    assert_eq!(never.deadline(), None);
    assert!(!never.is_elapsed());
    for _ in 0..3 {
        assert_eq!(poll_once(&mut never, &waker), Poll::Pending);
    }
    assert_eq!(held(&counter), 0);
    // A huge but representable deadline: registered, pending, released on drop.
    let mut far = sleep_until(Instant::now() + HOUR * 24 * 365 * 100);
    assert_eq!(poll_once(&mut far, &waker), Poll::Pending);
    assert_eq!(held(&counter), 1);
    drop(far);
    assert_eq!(held(&counter), 0);
}

#[test]
fn a_repoll_with_the_same_waker_keeps_one_clone() {
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    let mut nap = sleep(HOUR);
    for _ in 0..5 {
        assert_eq!(poll_once(&mut nap, &waker), Poll::Pending);
        assert_eq!(held(&counter), 1);
    }
    drop(nap);
    assert_eq!(held(&counter), 0);
}

#[test]
fn a_repoll_with_another_waker_replaces_it_and_only_the_latest_is_woken() {
    common::within(common::WATCHDOG, || {
        let first = Counter::new();
        let first_waker = Waker::from(first.clone());
        let second = Counter::new();
        let second_waker = Waker::from(second.clone());
        let deadline = Instant::now() + 20 * MS;
        let mut nap = sleep_until(deadline);
        assert_eq!(poll_once(&mut nap, &first_waker), Poll::Pending);
        assert_eq!(held(&first), 1);
        assert_eq!(poll_once(&mut nap, &second_waker), Poll::Pending);
        assert_eq!(held(&first), 0, "the replaced waker is dropped at once");
        assert_eq!(held(&second), 1);
        // `wake` counts, then drops the timer's clone: wait for both.
        while second.wakes() == 0 || held(&second) != 0 {
            thread::sleep(MS);
        }
        assert!(Instant::now() >= deadline);
        assert_eq!(first.wakes(), 0);
        assert_eq!(second.wakes(), 1);
        assert_eq!(poll_once(&mut nap, &second_waker), Poll::Ready(()));
    });
}

#[test]
fn dropping_a_pending_sleep_releases_its_waker_and_nothing_is_woken_later() {
    let counter = Counter::new();
    let waker = Waker::from(counter.clone());
    for _ in 0..100 {
        // Far enough that a descheduled loop still drops every sleep before its deadline.
        let mut nap = sleep(300 * MS);
        assert_eq!(poll_once(&mut nap, &waker), Poll::Pending);
        assert_eq!(held(&counter), 1);
        drop(nap);
        assert_eq!(held(&counter), 0);
    }
    thread::sleep(400 * MS); // past every deadline
    assert_eq!(counter.wakes(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn select_against_a_shorter_tokio_sleep_in_a_loop() {
    let mut ours_won = 0;
    for _ in 0..200 {
        tokio::select! {
            () = sleep(HOUR) => ours_won += 1,
            () = tokio::time::sleep(Duration::from_micros(100)) => {}
        }
    }
    assert_eq!(ours_won, 0);
    // The abandoned sleeps left nothing behind that still fires: a short one still works.
    let start = Instant::now();
    sleep(5 * MS).await;
    assert!(start.elapsed() >= 5 * MS);
}

#[test]
fn reset_moves_the_deadline_earlier_and_later() {
    common::within(common::WATCHDOG, || {
        let mut nap = sleep(HOUR);
        let soon = Instant::now() + 5 * MS;
        nap.reset(soon);
        assert_eq!(nap.deadline(), Some(soon));
        block_on(&mut nap);
        assert!(Instant::now() >= soon);
        let later = Instant::now() + 5 * MS;
        nap.reset(later); // also after completion
        assert!(!nap.is_elapsed());
        block_on(&mut nap);
        assert!(Instant::now() >= later);
    });
}

/// A waker whose `wake` panics: the timer thread must survive it.
struct Panics(AtomicUsize);

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("this waker panics (expected by the test)");
    }
}

#[test]
fn a_panicking_waker_does_not_stop_the_timer() {
    common::within(common::WATCHDOG, || {
        let bad = Arc::new(Panics(AtomicUsize::new(0)));
        let bad_waker = Waker::from(bad.clone());
        let mut nap: Sleep = sleep(MS);
        assert_eq!(poll_once(&mut nap, &bad_waker), Poll::Pending);
        while bad.0.load(Ordering::SeqCst) == 0 {
            thread::sleep(MS);
        }
        let start = Instant::now();
        block_on(sleep(5 * MS));
        assert!(start.elapsed() >= 5 * MS);
    });
}

/// A panic payload whose own `Drop` panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("this panic payload's drop panics (expected by the test)");
    }
}

/// A waker that panics with a [`PanicsOnDrop`] payload: the timer thread drops the payload
/// inside a catch too, or the payload's panic would end the thread (and every later timer).
struct PanicsWithABadPayload(AtomicUsize);

impl Wake for PanicsWithABadPayload {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::panic::panic_any(PanicsOnDrop);
    }
}

#[test]
fn a_waker_whose_panic_payload_panics_on_drop_does_not_stop_the_timer() {
    common::within(common::WATCHDOG, || {
        block_on(sleep(MS)); // the thread runs
        #[cfg(target_os = "linux")]
        let before = common::threads_named("ringfence-timer");
        let bad = Arc::new(PanicsWithABadPayload(AtomicUsize::new(0)));
        let bad_waker = Waker::from(bad.clone());
        let mut nap: Sleep = sleep(MS);
        assert_eq!(poll_once(&mut nap, &bad_waker), Poll::Pending);
        while bad.0.load(Ordering::SeqCst) == 0 {
            thread::sleep(MS);
        }
        for _ in 0..3 {
            let start = Instant::now();
            block_on(sleep(5 * MS));
            assert!(start.elapsed() >= 5 * MS);
        }
        // The same thread: had the payload's panic ended it, a new one (another id) would
        // have been started by the sleeps above, which would then pass all the same.
        #[cfg(target_os = "linux")]
        assert_eq!(common::threads_named("ringfence-timer"), before, "the timer thread survived");
    });
}

#[test]
fn sleep_is_send_sync_and_unpin() {
    fn check<T: Send + Sync + Unpin>(_: &T) {}
    check(&sleep(MS));
}

/// Counts its drops: the future a timeout wraps.
struct DropCounted(Arc<AtomicUsize>);

impl Drop for DropCounted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_timeout_elapses_not_before_its_deadline_and_drops_its_future_once() {
    common::within(common::WATCHDOG, || {
        for wait in [0, 1, 5, 20] {
            let drops = Arc::new(AtomicUsize::new(0));
            let guard = DropCounted(drops.clone());
            // Not `Unpin`: the async block holds its state across an await.
            let never = async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            };
            let start = Instant::now();
            assert_eq!(block_on(timeout(MS * wait, never)), Err(Elapsed));
            assert!(start.elapsed() >= MS * wait, "elapsed before its deadline");
            assert_eq!(drops.load(Ordering::SeqCst), 1, "the future is dropped with the timeout, once");
        }
    });
}

#[test]
fn a_ready_future_wins_even_past_its_deadline() {
    let past = Instant::now();
    thread::sleep(MS);
    assert_eq!(block_on(timeout_at(past, async { 7 })), Ok(7));
    assert_eq!(block_on(timeout(Duration::ZERO, std::future::ready("now"))), Ok("now"));
}

#[test]
fn a_timeout_too_long_to_represent_is_no_deadline() {
    common::within(common::WATCHDOG, || {
        let timed = timeout(Duration::MAX, sleep(5 * MS));
        assert_eq!(timed.deadline(), None);
        assert_eq!(block_on(timed), Ok(()));
        // And pending without a deadline registers nothing that would wake it.
        let (counter, waker) = async_util::counting();
        let mut never = timeout(Duration::MAX, std::future::pending::<()>());
        assert_eq!(poll_once(&mut never, &waker), Poll::Pending);
        thread::sleep(5 * MS);
        assert_eq!(counter.wakes(), 0);
    });
}

#[test]
fn the_inner_futures_wakeup_ends_the_timeout_before_its_deadline() {
    // The inner future and the deadline share the task's waker: a value sent from another
    // thread wakes the task long before the hour is up.
    common::within(common::WATCHDOG, || {
        let (tx, rx) = ringfence::channel::bounded::<u32>(1);
        let sender = thread::spawn(move || {
            thread::sleep(10 * MS);
            tx.send(5).unwrap();
        });
        assert_eq!(block_on(timeout(HOUR, rx.recv_async())), Ok(Ok(5)));
        sender.join().unwrap();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receives_timed_out_in_a_loop_lose_nothing() {
    const N: u64 = 2_000;
    let (tx, rx) = ringfence::channel::bounded::<u64>(4);
    let producer = tokio::spawn(async move {
        for i in 0..N {
            tx.send_async(i).await.unwrap();
            if i % 256 == 0 {
                tokio::time::sleep(3 * MS).await; // longer than the receives' timeouts
            }
        }
    });
    let (mut got, mut timed_out) = (Vec::new(), 0);
    loop {
        match timeout(Duration::from_micros(50), rx.recv_async()).await {
            Ok(Ok(value)) => got.push(value),
            Ok(Err(_)) => break, // every sender gone
            Err(Elapsed) => timed_out += 1,
        }
    }
    producer.await.unwrap();
    assert!(got == (0..N).collect::<Vec<_>>(), "{} of {N} received after {timed_out} timeouts", got.len());
    assert!(timed_out > 0, "no receive timed out, so nothing was tested");
}

#[tokio::test(flavor = "current_thread")]
async fn a_timed_out_send_gives_its_value_back() {
    let (tx, rx) = ringfence::channel::bounded(1);
    tx.send("held").unwrap();
    let mut send = tx.send_async("late");
    assert_eq!(timeout(2 * MS, &mut send).await, Err(Elapsed));
    assert_eq!(send.cancel(), Some("late"));
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["held"]);
    // `into_inner` gives back an unfinished future that still works.
    let timed = timeout(HOUR, tx.send_async("again"));
    assert_eq!(timed.into_inner().await, Ok(()));
    assert_eq!(rx.try_recv(), Ok("again"));
}

#[test]
fn a_timeout_that_completed_does_not_wake_its_task_at_the_deadline() {
    let (counter, waker) = async_util::counting();
    let (tx, rx) = ringfence::channel::bounded::<u32>(1);
    let mut timed = timeout(5 * MS, rx.recv_async());
    assert_eq!(poll_once(&mut timed, &waker), Poll::Pending); // the future and the timer armed
    tx.send(1).unwrap();
    assert_eq!(counter.wakes(), 1, "the send woke the task");
    assert_eq!(poll_once(&mut timed, &waker), Poll::Ready(Ok(Ok(1))));
    thread::sleep(20 * MS); // well past the deadline
    assert_eq!(counter.wakes(), 1, "the timer entry was removed when the future completed");
    assert_eq!(held(&counter), 0, "no clone of the waker is kept");
}

mod interval {
    use ringfence::timer::{MissedTickBehavior, interval, interval_at, try_interval};
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use std::thread::sleep;
    use std::time::{Duration, Instant};

    const PERIOD: Duration = Duration::from_millis(50);

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    /// Polls until a tick comes (the ticks here are due, or nearly: a short spin at most).
    fn next_tick(every: &mut ringfence::timer::Interval) -> Instant {
        loop {
            if let Poll::Ready(at) = every.poll_tick(&mut cx()) {
                return at;
            }
            sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn ticks_yield_their_scheduled_instants() {
        let start = Instant::now();
        let mut every = interval_at(start, Duration::from_millis(5));
        let ticks: Vec<Instant> = (0..4).map(|_| next_tick(&mut every)).collect();
        let expected: Vec<Instant> = (0..4).map(|k| start + k * Duration::from_millis(5)).collect();
        assert_eq!(ticks, expected);
        assert!(Instant::now() >= start + Duration::from_millis(15), "never a tick before its instant");
    }

    #[test]
    fn burst_catches_up_on_the_schedule() {
        let start = Instant::now();
        let mut every = interval_at(start, PERIOD);
        assert_eq!(next_tick(&mut every), start);
        sleep(PERIOD * 7 / 2); // ticks at 1, 2 and 3 periods were missed
        for k in 1..=3 {
            assert_eq!(
                every.poll_tick(&mut cx()),
                Poll::Ready(start + k * PERIOD),
                "missed tick {k} at once"
            );
        }
    }

    #[test]
    fn delay_starts_the_schedule_over_from_the_late_tick() {
        let start = Instant::now();
        let mut every = interval_at(start, PERIOD);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        assert_eq!(next_tick(&mut every), start);
        sleep(PERIOD * 3 / 2);
        let taken = Instant::now();
        assert_eq!(every.poll_tick(&mut cx()), Poll::Ready(start + PERIOD), "the late tick, at once");
        let next = next_tick(&mut every);
        assert!(next >= taken + PERIOD, "one period after the late tick was taken");
    }

    #[test]
    fn skip_drops_the_missed_ticks_and_keeps_the_schedule() {
        let start = Instant::now();
        let mut every = interval_at(start, PERIOD);
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        assert_eq!(next_tick(&mut every), start);
        sleep(PERIOD * 5 / 2); // ticks at 1 and 2 periods were missed
        assert_eq!(every.poll_tick(&mut cx()), Poll::Ready(start + PERIOD), "the first missed tick");
        let polled = Instant::now();
        let next = next_tick(&mut every);
        let offset = (next - start).as_nanos();
        assert_eq!(offset % PERIOD.as_nanos(), 0, "on the schedule");
        assert!(next >= start + 3 * PERIOD, "the tick at 2 periods was skipped");
        assert!(next <= polled + PERIOD, "the schedule's first instant after the late tick");
    }

    /// A `tick()` future dropped before its tick consumed nothing: the next `tick()` yields it.
    #[test]
    fn a_dropped_tick_future_takes_no_tick() {
        let start = Instant::now() + Duration::from_millis(20);
        let mut every = interval_at(start, Duration::from_secs(3600));
        {
            let tick = pin!(every.tick());
            assert!(tick.poll(&mut cx()).is_pending());
        }
        assert_eq!(next_tick(&mut every), start);
        assert!(every.poll_tick(&mut cx()).is_pending(), "the next tick is an hour away");
    }

    #[test]
    fn a_zero_period_panics_clearly_and_try_interval_refuses_it() {
        assert!(try_interval(Duration::ZERO).is_none());
        let err = std::panic::catch_unwind(|| interval(Duration::ZERO)).map(drop).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"timer::interval: the period must be non-zero"));
    }

    /// A tick beyond `Instant`'s range never comes, and nothing overflows on the way.
    #[test]
    fn a_schedule_past_the_end_of_time_never_ticks() {
        let mut every = interval(Duration::MAX);
        assert!(every.poll_tick(&mut cx()).is_ready(), "the first tick is at once");
        assert!(every.poll_tick(&mut cx()).is_pending());
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        assert!(every.poll_tick(&mut cx()).is_pending());
    }

    /// A task that polled, then reset the interval to an earlier instant, used to lose its
    /// wakeup (its timer entry went with the old deadline); tokio's `reset_at` keeps it.
    #[test]
    fn a_reset_wakes_the_task_that_waited_for_the_old_tick() {
        let (count, waker) = crate::async_util::counting();
        let mut cx = Context::from_waker(&waker);
        let mut every = interval(Duration::from_secs(3600));
        assert!(every.poll_tick(&mut cx).is_ready()); // the first tick
        assert!(every.poll_tick(&mut cx).is_pending()); // an hour away: registered
        let soon = Instant::now() + Duration::from_millis(10);
        every.reset_at(soon);
        assert!(count.wakes() >= 1, "woken to wait for the new tick");
        // Polled again, it waits for `soon` and is woken then.
        while every.poll_tick(&mut cx).is_pending() {
            sleep(Duration::from_millis(1));
        }
        assert!(Instant::now() >= soon);
    }

    /// The same for a task whose next tick was "never" (past the end of `Instant`'s range): it
    /// kept no waker for the reset to wake (found by review).
    #[test]
    fn a_reset_wakes_the_task_that_waited_for_a_tick_that_never_comes() {
        let (count, waker) = crate::async_util::counting();
        let mut cx = Context::from_waker(&waker);
        let mut every = interval_at(Instant::now(), Duration::MAX);
        assert!(every.poll_tick(&mut cx).is_ready());
        assert_eq!(every.poll_tick(&mut cx), Poll::Pending, "the next tick never comes");
        every.reset_at(Instant::now());
        assert_eq!(count.wakes(), 1, "woken by the reset");
        assert!(every.poll_tick(&mut cx).is_ready(), "the tick is due");
    }

    /// `Skip` with a period beyond `u64` nanoseconds (584 years) used to find no next tick.
    #[test]
    fn skip_keeps_its_schedule_with_a_period_of_centuries() {
        let period = Duration::from_secs(600 * 365 * 24 * 3600);
        let start = Instant::now() - Duration::from_millis(50);
        for behavior in [MissedTickBehavior::Burst, MissedTickBehavior::Delay, MissedTickBehavior::Skip] {
            let mut every = interval_at(start, period);
            every.set_missed_tick_behavior(behavior);
            assert_eq!(every.poll_tick(&mut cx()), Poll::Ready(start));
            let debug = format!("{every:?}");
            assert!(!debug.contains("next: None"), "{behavior:?}: the next tick is never: {debug}");
        }
    }

    #[test]
    fn tick_works_on_tokio_and_reset_moves_the_schedule() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let mut every = interval(Duration::from_millis(2));
            let first = every.tick().await;
            let second = every.tick().await;
            assert_eq!(second - first, Duration::from_millis(2));
            let before = Instant::now();
            every.reset();
            let third = every.tick().await;
            assert!(third >= before + Duration::from_millis(2));
        });
    }
}
