//! Criterion benchmarks: `ringfence::ring::Ring` against `crossbeam_queue::ArrayQueue`.
//!
//! Workloads (parameters in `common/mod.rs`): `seq` (push N then pop N on one thread,
//! capacity N), and spsc 1:1, mpsc 2:1, mpmc 2:2 and 4:4 at capacity 1024 with busy-retrying
//! push/pop (`spin_loop()`, then `yield_now()` after a few failures). Both implementations run
//! in the same group, so their ratio comes from one run.
//!
//! `cargo bench --bench ring` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::{BUFFERED, Endpoints, SEQ_N, retry};
use criterion::{Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use ringfence::ring::Ring;
use std::hint::black_box;
use std::sync::Arc;

struct Ringfence;

impl Endpoints for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = Arc<Ring<u64>>;
    type Rx = Arc<Ring<u64>>;

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        let ring = Arc::new(Ring::new(capacity));
        (ring.clone(), ring)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        retry(value, |v| tx.try_push(v));
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        retry((), |()| rx.try_pop().ok_or(()))
    }
}

struct CrossbeamArrayQueue;

impl Endpoints for CrossbeamArrayQueue {
    const NAME: &'static str = "crossbeam_ArrayQueue";
    type Tx = Arc<ArrayQueue<u64>>;
    type Rx = Arc<ArrayQueue<u64>>;

    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx) {
        let queue = Arc::new(ArrayQueue::new(capacity));
        (queue.clone(), queue)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    #[inline]
    fn send(tx: &Self::Tx, value: u64) {
        retry(value, |v| tx.push(v));
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> u64 {
        retry((), |()| rx.pop().ok_or(()))
    }
}

/// Push `SEQ_N` values, then pop them, on one thread; the popped sum is checked.
fn seq(c: &mut Criterion) {
    let expected = common::expected_checksum(SEQ_N as u64).0;
    let mut group = c.benchmark_group(format!("ring_seq_cap{SEQ_N}"));
    group.throughput(Throughput::Elements(SEQ_N as u64));

    let ring = Ring::new(SEQ_N);
    group.bench_function(Ringfence::NAME, |b| {
        b.iter(|| {
            for value in 1..=SEQ_N as u64 {
                assert!(ring.try_push(black_box(value)).is_ok(), "ring full too early");
            }
            let mut sum = 0u64;
            while let Some(value) = ring.try_pop() {
                sum += black_box(value);
            }
            assert_eq!(sum, expected);
        })
    });

    let queue = ArrayQueue::new(SEQ_N);
    group.bench_function(CrossbeamArrayQueue::NAME, |b| {
        b.iter(|| {
            for value in 1..=SEQ_N as u64 {
                assert!(queue.push(black_box(value)).is_ok(), "queue full too early");
            }
            let mut sum = 0u64;
            while let Some(value) = queue.pop() {
                sum += black_box(value);
            }
            assert_eq!(sum, expected);
        })
    });
    group.finish();
}

fn threaded(c: &mut Criterion) {
    for workload in &BUFFERED {
        let mut group = common::group(c, "ring", workload);
        common::bench::<Ringfence>(&mut group, workload);
        common::bench::<CrossbeamArrayQueue>(&mut group, workload);
        group.finish();
    }
}

fn main() {
    common::print_setup(&BUFFERED);
    let mut criterion = common::config().configure_from_args();
    seq(&mut criterion);
    threaded(&mut criterion);
    criterion.final_summary();
}
