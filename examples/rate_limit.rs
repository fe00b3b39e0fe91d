//! The rate-limiting pattern: the seed's two limiters, printed with timestamps.
//!
//! - a sliding window of "5 calls per 2 seconds" (shown on a manual clock, so the demo does
//!   not take 2 seconds per window, and on the real clock with a shortened period);
//! - a token bucket of "3 tokens per second, capacity 5" (the burst of 5 goes at once, then one
//!   token every 333 ms; shown on a manual clock, then two real blocking acquires at 30/s);
//! - a reservation that is cancelled, and a rate change on a live bucket.
//!
//! `cargo run --example rate_limit` (finishes in well under a second).

use ringfence::rate::{Clock, ManualClock, Quota, SlidingWindow, TokenBucket, TryAcquireError};
use std::time::{Duration, Instant};

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

fn main() {
    println!("== sliding window: 5 calls per 2 s (manual clock) ==");
    let clock = ManualClock::new();
    let window = SlidingWindow::with_clock(5, Duration::from_secs(2), clock.clone()).unwrap();
    for call in 1..=8 {
        match window.try_acquire() {
            Ok(()) => println!("t={:>7.1} ms  call {call}: allowed", ms(clock.now())),
            Err(denied) => {
                println!(
                    "t={:>7.1} ms  call {call}: denied, retry in {:?}",
                    ms(clock.now()),
                    denied.wait_time()
                );
                clock.advance(denied.wait_time());
                window.try_acquire().unwrap();
                println!("t={:>7.1} ms  call {call}: allowed after waiting", ms(clock.now()));
            }
        }
        clock.advance(Duration::from_millis(300));
    }

    println!("\n== token bucket: 3 tokens per second, capacity 5 (manual clock) ==");
    let clock = ManualClock::new();
    let bucket = TokenBucket::with_clock(Quota::new(3, Duration::from_secs(1), 5).unwrap(), clock.clone());
    for request in 1..=8 {
        match bucket.try_acquire(1) {
            Ok(()) => println!(
                "t={:>7.1} ms  request {request}: granted ({} left)",
                ms(clock.now()),
                bucket.available()
            ),
            Err(TryAcquireError::RateLimited(denied)) => {
                println!(
                    "t={:>7.1} ms  request {request}: limited until t={:.1} ms",
                    ms(clock.now()),
                    ms(denied.ready_at())
                );
                clock.set(denied.ready_at());
                bucket.try_acquire(1).unwrap();
                println!("t={:>7.1} ms  request {request}: granted", ms(clock.now()));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(bucket.try_acquire(6).is_err(), "more than the capacity can never be granted");

    println!("\n== reservations and a live rate change ==");
    let first = bucket.reserve(2).unwrap();
    let second = bucket.reserve(1).unwrap();
    println!(
        "reserved 2 tokens ready at t={:.1} ms, then 1 at t={:.1} ms",
        ms(first.ready_at()),
        ms(second.ready_at())
    );
    println!("cancel the first: {} (the second is queued behind it: its slot stays taken)", first.cancel());
    println!("cancel the second: {} (it was the last grant: its token comes back)", second.cancel());
    clock.advance(Duration::from_secs(1));
    println!("t={:>7.1} ms  {} tokens available at 3/s", ms(clock.now()), bucket.available());
    bucket.set_rate(30, Duration::from_secs(1), 5).unwrap();
    println!(
        "t={:>7.1} ms  {} tokens available after set_rate(30/s, burst 5)",
        ms(clock.now()),
        bucket.available()
    );

    println!("\n== real clock: blocking acquires ==");
    let start = Instant::now();
    let bucket = TokenBucket::new(30, Duration::from_secs(1), 1);
    for request in 1..=3 {
        bucket.acquire(1).unwrap();
        println!("t={:>7.1} ms  request {request}: granted", start.elapsed().as_secs_f64() * 1e3);
    }
    let window = SlidingWindow::new(5, Duration::from_millis(100));
    for call in 1..=7 {
        window.acquire();
        println!(
            "t={:>7.1} ms  window call {call}: allowed (5 per 100 ms)",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
