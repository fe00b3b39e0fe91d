#![cfg(not(loom))]
//! Rate- and concurrency-limited work on the pool (`Pool::submit_limited`), with a manual clock
//! so the rate is checked without timing.

mod common;

use common::{WATCHDOG, eventually, within};
use ringfence::pool::{Limits, Pool};
use ringfence::rate::{Limiter, ManualClock, Quota, SlidingWindow, TokenBucket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

#[test]
fn no_more_than_n_limited_jobs_run_at_once() {
    within(WATCHDOG, || {
        let pool = Pool::new(6);
        let limits = Limits::new().concurrency(2);
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let (now, most) = (now.clone(), most.clone());
                pool.submit_limited(&limits, move || {
                    let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(inside, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(1));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.wait().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "at most 2 at once, saw {}", most.load(Ordering::SeqCst));
        assert_eq!(limits.running(), 0);
    });
}

#[test]
fn a_panicking_limited_job_gives_its_permit_back() {
    let pool = Pool::new(2);
    let limits = Limits::new().concurrency(1);
    assert!(pool.submit_limited(&limits, || -> () { panic!("job failed") }).wait().is_err());
    assert_eq!(pool.submit_limited(&limits, || 3).wait().unwrap(), 3, "the permit came back");
}

#[test]
fn starts_follow_the_token_bucket_on_a_manual_clock() {
    within(WATCHDOG, || {
        let clock = ManualClock::new();
        let bucket =
            TokenBucket::with_clock(Quota::new(2, Duration::from_secs(1), 2).unwrap(), clock.clone());
        let (started, submitter) = submit_counted(bucket, 6);
        // The burst of 2 starts at once; the others wait for the clock.
        eventually(WATCHDOG, "the burst starts", || (started.load(Ordering::SeqCst) == 2).then_some(()));
        thread::sleep(Duration::from_millis(20));
        assert_eq!(started.load(Ordering::SeqCst), 2, "no third start before the clock moves");
        for expected in [3, 4, 5, 6] {
            clock.advance(Duration::from_millis(500)); // one token per 500 ms
            eventually(WATCHDOG, "one more start per token", || {
                (started.load(Ordering::SeqCst) == expected).then_some(())
            });
        }
        submitter.join().unwrap();
    });
}

#[test]
fn starts_follow_a_sliding_window_on_a_manual_clock() {
    within(WATCHDOG, || {
        let clock = ManualClock::new();
        let window = SlidingWindow::with_clock(2, Duration::from_secs(1), clock.clone()).unwrap();
        let (started, submitter) = submit_counted(window, 5);
        // Two calls per window: two start at once, two more each time the window slides.
        for (expected, then_advance) in [(2, true), (4, true), (5, false)] {
            eventually(WATCHDOG, "the window's calls start", || {
                (started.load(Ordering::SeqCst) == expected).then_some(())
            });
            if then_advance {
                thread::sleep(Duration::from_millis(20));
                assert_eq!(started.load(Ordering::SeqCst), expected, "no more before the window slides");
                clock.advance(Duration::from_secs(1));
            }
        }
        submitter.join().unwrap();
    });
}

/// Submits `jobs` limited jobs (at most 8 at once, paced by `limiter`) to a pool of two from a
/// thread of their own; each job counts its start. Returns the count and the submitter, which
/// ends when every job has run.
fn submit_counted<L: Limiter + Send + Sync + 'static>(
    limiter: L,
    jobs: usize,
) -> (Arc<AtomicUsize>, thread::JoinHandle<()>) {
    let limits = Limits::new().concurrency(8).rate(limiter);
    let pool = Pool::new(2);
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let submitter = thread::spawn(move || {
        let tasks: Vec<_> = (0..jobs)
            .map(|_| {
                let counter = counter.clone();
                pool.submit_limited(&limits, move || counter.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        for t in tasks {
            t.wait().unwrap();
        }
    });
    (started, submitter)
}
