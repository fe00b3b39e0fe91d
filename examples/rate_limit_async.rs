//! Rate-limited async work: 20 tokio tasks share one token bucket of 10 per second with a
//! burst of 5, and print when each was granted its token.
//!
//! The first five go at once (the burst); then one token drips in every 100 ms, so the last
//! grant comes about 1.5 s after the start. Waiting tasks are not queued: whichever retries
//! first when a token is due wins it. The bucket's futures need nothing from tokio (they sleep
//! on ringfence's own timer thread), so the same code runs on any executor.
//!
//! `cargo run --example rate_limit_async` (about 1.5 s).

use ringfence::rate::TokenBucket;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let bucket = Arc::new(TokenBucket::new(10, Duration::from_secs(1), 5));
    let start = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|task| {
            let bucket = Arc::clone(&bucket);
            tokio::spawn(async move {
                bucket.until_ready().await;
                let at = start.elapsed();
                println!("t={:>7.1} ms  task {task:>2}: granted", at.as_secs_f64() * 1e3);
                at
            })
        })
        .collect();
    let mut grants = Vec::with_capacity(tasks.len());
    for task in tasks {
        grants.push(task.await.expect("task panicked"));
    }
    grants.sort();
    // 20 tokens with 5 in the burst: the last needs 15 intervals of 100 ms.
    let last = *grants.last().expect("20 grants");
    println!("20 grants in {:.1} ms (at least 1500 ms by the rate)", last.as_secs_f64() * 1e3);
    assert!(last >= Duration::from_millis(1500));
}
