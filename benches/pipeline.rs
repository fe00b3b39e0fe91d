//! The pipeline against the same pipeline written by hand (issue 6's speed goal).
//!
//! `pipeline/three_trivial_stages`: [`ITEMS`] `u64`s through three trivial stages (xor, xor,
//! add), one worker per stage, channels of [`CAP`] between stages; the output is summed and
//! checked after the clock stops. Threads: source + 3 stages on 2 cores (the caller is the sink).
//! Peers, in the same group:
//! - `ringfence_pipeline`: `Pipeline::from_iter(..).stage(..)x3.for_each(..)` (unordered; the
//!   report's clock readings included, as a user gets them);
//! - `ringfence_pipeline_ordered`: the same with `.ordered()` (reorder buffer and window);
//! - `crossbeam_threads`: the hand-written form: three `std::thread::spawn`ed loops over
//!   `crossbeam_channel::bounded(CAP)` channels, the caller feeding the first and draining the
//!   last;
//! - `ringfence_channel_threads`: the same hand-written form on ringfence's own channel.
//!
//! Each iteration builds and joins its threads (a pipeline run does), so thread start-up is in
//! the numbers for every peer alike.

#[path = "common/mod.rs"]
mod common;

use common::pipeline::{CAP, ITEMS};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringfence::pipeline::Pipeline;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The checksum: each item `x` leaves as `x + 1`.
const EXPECTED: u64 = ITEMS * (ITEMS + 1) / 2;

fn ringfence_pipeline(ordered: bool) -> u64 {
    let mut sum = 0u64;
    let mut pipeline = Pipeline::from_iter(0..ITEMS)
        .stage("a", |x| black_box(x ^ 0x5555))
        .capacity(CAP)
        .stage("b", |x| black_box(x ^ 0x5555))
        .capacity(CAP)
        .stage("c", |x| black_box(x + 1))
        .capacity(CAP);
    if ordered {
        pipeline = pipeline.ordered();
    }
    pipeline.for_each(|x| sum += x).expect("no stage fails");
    sum
}

macro_rules! hand_written {
    ($bounded:path) => {{
        let (tx0, rx0) = $bounded(CAP);
        let (tx1, rx1) = $bounded(CAP);
        let (tx2, rx2) = $bounded(CAP);
        let (tx3, rx3) = $bounded(CAP);
        let a = std::thread::spawn(move || {
            for x in rx0.iter() {
                tx1.send(black_box(x ^ 0x5555u64)).unwrap();
            }
        });
        let b = std::thread::spawn(move || {
            for x in rx1.iter() {
                tx2.send(black_box(x ^ 0x5555u64)).unwrap();
            }
        });
        let c = std::thread::spawn(move || {
            for x in rx2.iter() {
                tx3.send(black_box(x + 1)).unwrap();
            }
        });
        let source = std::thread::spawn(move || {
            for x in 0..ITEMS {
                tx0.send(x).unwrap();
            }
        });
        let sum: u64 = rx3.iter().sum();
        for t in [source, a, b, c] {
            t.join().unwrap();
        }
        sum
    }};
}

fn timed(iters: u64, run: impl Fn() -> u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let sum = run();
        total += start.elapsed();
        assert_eq!(sum, EXPECTED, "an item was lost or duplicated");
    }
    total
}

fn three_trivial_stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline/three_trivial_stages");
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function("ringfence_pipeline", |b| {
        b.iter_custom(|iters| timed(iters, || ringfence_pipeline(false)))
    });
    g.bench_function("ringfence_pipeline_ordered", |b| {
        b.iter_custom(|iters| timed(iters, || ringfence_pipeline(true)))
    });
    g.bench_function("crossbeam_threads", |b| {
        b.iter_custom(|iters| timed(iters, || hand_written!(crossbeam_channel::bounded)))
    });
    g.bench_function("ringfence_channel_threads", |b| {
        b.iter_custom(|iters| timed(iters, || hand_written!(ringfence::channel::bounded)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = three_trivial_stages
}
criterion_main!(benches);
