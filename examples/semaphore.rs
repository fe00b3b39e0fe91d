//! Limit concurrency with `ringfence::Semaphore`: ten workers, at most three inside the
//! "expensive" section at once (think: three database connections, three downloads); then a
//! request for several permits at once, served ahead of a stream of single-permit acquirers.
//!
//! Run: `cargo run --example semaphore`.

use ringfence::Semaphore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const WORKERS: usize = 10;
const LIMIT: usize = 3;

fn main() {
    limit_concurrency();
    acquire_many_is_not_starved();
    println!("\nsemaphore example finished: every check passed");
}

/// At most `LIMIT` of `WORKERS` threads inside the section at once.
fn limit_concurrency() {
    println!("== at most {LIMIT} of {WORKERS} workers in the section at once");
    let semaphore = Semaphore::new(LIMIT);
    let inside = AtomicUsize::new(0);
    let most_inside = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|s| {
        for worker in 0..WORKERS {
            let (semaphore, inside, most_inside) = (&semaphore, &inside, &most_inside);
            s.spawn(move || {
                let _permit = semaphore.acquire(); // released when `_permit` drops
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most_inside.fetch_max(now, Ordering::SeqCst);
                println!("  worker {worker} in ({now} inside)");
                thread::sleep(Duration::from_millis(20)); // the expensive part
                inside.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let most = most_inside.load(Ordering::SeqCst);
    println!(
        "  most inside at once: {most}; took {:?} (about {} rounds of 20 ms)",
        started.elapsed(),
        WORKERS.div_ceil(LIMIT)
    );
    assert!(most <= LIMIT, "the semaphore let {most} in");
    assert_eq!(semaphore.available_permits(), LIMIT);

    // Non-blocking and timed variants: do something else when the section is full.
    let all = semaphore.acquire_many(LIMIT);
    assert!(semaphore.try_acquire().is_none());
    assert!(semaphore.acquire_timeout(Duration::from_millis(5)).is_none());
    drop(all);
    assert!(semaphore.try_acquire().is_some());
}

/// A job that needs every permit (say, a maintenance task that needs the whole pool) gets them
/// although single-permit jobs keep coming: once it waits at the head of the line, nobody else
/// takes a permit.
fn acquire_many_is_not_starved() {
    println!("== a request for all {LIMIT} permits among a stream of single-permit jobs");
    let semaphore = Arc::new(Semaphore::new(LIMIT));
    let stop = Arc::new(AtomicBool::new(false));
    let small_jobs = Arc::new(AtomicUsize::new(0));
    let streams: Vec<_> = (0..LIMIT - 1)
        .map(|_| {
            let (semaphore, stop, small_jobs) =
                (Arc::clone(&semaphore), Arc::clone(&stop), Arc::clone(&small_jobs));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let _one = semaphore.acquire();
                    small_jobs.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(Duration::from_micros(200));
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    let before = small_jobs.load(Ordering::Relaxed);
    let waited = Instant::now();
    let all = semaphore.acquire_many(LIMIT);
    println!(
        "  got all {LIMIT} permits after {:?}; {} single jobs ran before, {} while we waited",
        waited.elapsed(),
        before,
        small_jobs.load(Ordering::Relaxed) - before
    );
    assert_eq!(all.num_permits(), LIMIT);
    assert_eq!(semaphore.available_permits(), 0);
    drop(all);
    stop.store(true, Ordering::Relaxed);
    for stream in streams {
        stream.join().unwrap();
    }
    assert_eq!(semaphore.available_permits(), LIMIT);
}
