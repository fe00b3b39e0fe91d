#![cfg(not(loom))]
//! Integration tests of `ringfence::scatter`: all / first_ok / quorum, deadlines that never
//! leave the gatherer blocked on a silent source, cancellation observed by running queries,
//! panics reported.

mod common;

use common::{WATCHDOG, eventually, within};
use ringfence::pool::Pool;
use ringfence::scatter::{Gathered, Scatter};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

#[test]
fn all_returns_at_the_deadline_with_a_silent_source_marked_timed_out() {
    within(WATCHDOG, || {
        let pool = Pool::new(3);
        // Source 1 answers only after `all` has returned: if `all` waited for it, this hangs.
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let answers = Scatter::new(&pool, [0u32, 1, 2], move |i, _| {
            if i == 1 {
                let _ = gate.lock().unwrap().recv();
            }
            i * 10
        })
        .all(soon(30));
        release.send(()).unwrap();
        assert!(matches!(answers[0], Gathered::Answered(0)));
        assert!(matches!(answers[1], Gathered::TimedOut));
        assert!(matches!(answers[2], Gathered::Answered(20)));
    });
}

#[test]
fn all_reports_a_panicking_source() {
    let pool = Pool::new(2);
    let answers = Scatter::new(&pool, [1u8, 2], |i, _| if i == 2 { panic!("source down") } else { i })
        .all(Instant::now() + WATCHDOG);
    assert!(matches!(answers[0], Gathered::Answered(1)));
    match &answers[1] {
        Gathered::Failed(error) => assert_eq!(error.panic_message(), Some("source down")),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn first_ok_cancels_the_rest_and_running_queries_see_the_token() {
    within(WATCHDOG, || {
        let pool = Pool::new(3);
        let stopped_early = Arc::new(AtomicUsize::new(0));
        let s = stopped_early.clone();
        let winner = Scatter::new(&pool, [0u32, 1, 2], move |i, token| match i {
            0 => Err("replica 0 failed"),
            1 => {
                while !token.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                s.fetch_add(1, Ordering::SeqCst);
                Err("cancelled")
            }
            _ => Ok(i * 100),
        })
        .first_ok(Instant::now() + WATCHDOG)
        .unwrap();
        assert_eq!(winner, (2, 200));
        eventually(WATCHDOG, "the running loser saw the token", || {
            (stopped_early.load(Ordering::SeqCst) == 1).then_some(())
        });
    });
}

#[test]
fn quorum_fails_as_soon_as_it_cannot_be_reached() {
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let err = Scatter::new(&pool, [true, false, false], |ok, _| if ok { Ok(()) } else { Err("no") })
            .quorum(2, Instant::now() + WATCHDOG) // a far deadline: the failure must come first
            .unwrap_err();
        // Only one source can succeed: the gather gives up once two have failed (or the one
        // success and one failure leave too few), long before the deadline.
        assert!(err.ok.len() <= 1);
        assert!(!err.failed.is_empty());
        assert!(!err.timed_out, "decided by the answers, not the deadline");
    });
}

#[test]
fn quorum_returns_the_first_k_successes() {
    let pool = Pool::new(2);
    let got = Scatter::new(&pool, 0..6u32, |i, _| if i % 2 == 0 { Ok(i) } else { Err(i) })
        .quorum(3, Instant::now() + WATCHDOG)
        .unwrap();
    let mut values: Vec<u32> = got.into_iter().map(|(_, v)| v).collect();
    values.sort_unstable();
    assert_eq!(values, [0, 2, 4]);
}

#[test]
fn first_ok_times_out_with_partial_results() {
    within(WATCHDOG, || {
        let pool = Pool::new(2);
        let err = Scatter::new(&pool, [0u32, 1], |i, token| {
            if i == 0 {
                return Err("down");
            }
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(i)
        })
        .first_ok(soon(20))
        .unwrap_err();
        assert!(err.timed_out);
        assert_eq!(err.failed, [(0, "down")]);
        assert!(err.ok.is_empty());
    });
}

#[test]
fn quorum_of_zero_succeeds_at_once_and_cancels_every_query() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let scatter = Scatter::new(&pool, [1u8, 2], |n, _| Ok::<u8, ()>(n));
        let token = scatter.token().clone();
        let votes = scatter.quorum(0, soon(60_000)).expect("zero successes are always enough");
        assert!(votes.is_empty());
        assert!(token.is_cancelled());
    });
}

#[test]
fn quorum_larger_than_the_sources_fails_at_once_without_waiting() {
    within(WATCHDOG, || {
        let pool = Pool::new(1);
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        // The sources would block until released: a quorum that waited for them would hang.
        let scatter = Scatter::new(&pool, [0u8, 1], move |n, _| {
            let _ = gate.lock().unwrap().recv(); // Ok when released, Err when the sender is gone
            Ok::<u8, ()>(n)
        });
        let partial = scatter.quorum(3, soon(60_000)).expect_err("3 of 2 sources cannot succeed");
        assert!(!partial.timed_out, "certain at once, not at the deadline");
        assert!(partial.ok.is_empty() && partial.failed.is_empty() && partial.panicked.is_empty());
        assert_eq!(
            partial.to_string(),
            "not enough successes: 0 ok, 0 failed, 0 panicked, too few sources could still succeed"
        );
        drop(release); // lets the running query end, so the pool's drop can join it
    });
}

/// A sources iterator that panicked after some queries were submitted used to leave their
/// token uncancelled: a query waiting for it (as `CancelToken`'s own example does) ran on.
#[test]
fn a_panicking_sources_iterator_cancels_the_queries_already_running() {
    let pool = Pool::new(2);
    let (started_tx, started) = mpsc::channel();
    let (saw_tx, saw) = mpsc::channel();
    let sources = (0..3u32).inspect(|&i| {
        if i == 1 {
            started.recv().unwrap(); // query 0 runs and waits for its token
            panic!("the sources iterator broke");
        }
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Scatter::new(&pool, sources, move |_, token| {
            started_tx.send(()).unwrap();
            let give_up = Instant::now() + WATCHDOG;
            while !token.is_cancelled() && Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(1));
            }
            saw_tx.send(token.is_cancelled()).unwrap();
        })
    }));
    assert!(result.is_err(), "the iterator's panic unwinds out of `new`");
    assert_eq!(saw.recv_timeout(WATCHDOG), Ok(true), "the running query saw its token cancelled");
}

/// A late answer's `Drop` that panics (dropped by the gather, unseen) used to unwind out of
/// `first_ok`, losing the winner.
#[test]
fn a_late_answers_panicking_drop_does_not_lose_the_winner() {
    struct PanicOnDrop(bool);
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if self.0 {
                panic!("a late answer's Drop");
            }
        }
    }
    // Source 0 answers first; source 1 fails after it, and both have finished before the
    // gather starts: the gather takes the winner, then drops the late failure unseen.
    let pool = Pool::new(2);
    let (winner_done_tx, winner_done) = mpsc::channel();
    let winner_done = Mutex::new(winner_done);
    let (both_done_tx, both_done) = mpsc::channel();
    let scatter = Scatter::new(&pool, [0u32, 1], move |i, _| {
        if i == 0 {
            winner_done_tx.send(()).unwrap();
            return Ok(PanicOnDrop(false));
        }
        winner_done.lock().unwrap().recv().unwrap();
        both_done_tx.send(()).unwrap();
        Err(PanicOnDrop(true))
    });
    both_done.recv().unwrap();
    std::thread::sleep(Duration::from_millis(20)); // the failure's task records its result
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scatter.first_ok(Instant::now() + WATCHDOG).map(|(i, _)| i).map_err(|_| ())
    }));
    assert!(matches!(result, Ok(Ok(0))), "the Drop's panic unwound out of first_ok");
}
