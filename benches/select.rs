//! Selecting over two channels: ringfence's `channel::Selector` against crossbeam-channel's
//! `select!` and flume's `Selector`, in the same groups.
//!
//! - `select_2p1c_cap{1024,1}`: two producers, each sending its share of `1..=messages` into
//!   its own bounded channel; one consumer selects a receive from either until it has every
//!   value, and checksums them (a lost or doubled value panics). At capacity 1 nearly every
//!   selection waits; at 1024 most find a value at once. Three threads: oversubscribed on 2
//!   cores.
//! - `select_1p1c_cap1`: one producer alternating between the two channels, one selecting
//!   consumer: two threads, one per core.
//! - `select_try_empty`: one thread, a non-blocking selection over two empty channels (the
//!   cost of finding nothing). flume's `Selector` has no non-blocking wait; its
//!   `wait_timeout(Duration::ZERO)` stands in.
//! - `select_timer_1p1c_cap1024`: one producer, one consumer selecting a receive or a timer an
//!   hour away (never due in the run): the cost of carrying a timer in every selection.
//!   ringfence's `Selector::future` over a `timer::Sleep` (by reference, one per run) against
//!   crossbeam's `select!` over an `after` channel (one per run); flume has no timer.
//!
//! - `select_async_2p1c_cap64_{current_thread_1t,multi_thread_2t}`: the same as tasks on a tokio
//!   runtime, capacity 64 (the async suite's): ringfence's `Selector::wait_async`, against
//!   `tokio::select!` over ringfence's own `recv_async`, tokio's `mpsc` and flume's
//!   `recv_async` (kanal's async receive is left out: it is not cancel-safe, kanal #24, and a
//!   `select!` drops the loser every time).
//!
//! Producers keep their senders until the consumer is done (a disconnected channel is always
//! ready), and the threads start at a barrier outside the timed region (`common::on_threads`).

mod common;

use common::channel_async::{CAP as ASYNC_CAP, MESSAGES as ASYNC_MESSAGES};
use common::select::{CAP1_MESSAGES, CAP1024_MESSAGES};
use common::{Checksum, config, on_threads};
use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One peer: its channel and its two-way select.
trait Peer {
    const NAME: &'static str;
    type Tx: Send + Sync;
    type Rx: Send + Sync;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64);
    /// Receives one value from either channel, waiting for one.
    fn select(a: &Self::Rx, b: &Self::Rx) -> u64;
    /// Looks at both channels without waiting: `None` when both are empty.
    fn try_select(a: &Self::Rx, b: &Self::Rx) -> Option<u64>;
}

struct Ringfence;

impl Peer for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        ringfence::channel::bounded(capacity)
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("the consumer is alive");
    }
    fn select(a: &Self::Rx, b: &Self::Rx) -> u64 {
        ringfence::channel::Selector::new()
            .recv(a, |v| v.expect("a producer is alive"))
            .recv(b, |v| v.expect("a producer is alive"))
            .wait()
    }
    fn try_select(a: &Self::Rx, b: &Self::Rx) -> Option<u64> {
        ringfence::channel::Selector::new().recv(a, Result::ok).recv(b, Result::ok).try_wait().ok().flatten()
    }
}

struct Crossbeam;

impl Peer for Crossbeam {
    const NAME: &'static str = "crossbeam_select";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(capacity)
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("the consumer is alive");
    }
    fn select(a: &Self::Rx, b: &Self::Rx) -> u64 {
        crossbeam_channel::select! {
            recv(a) -> v => v.expect("a producer is alive"),
            recv(b) -> v => v.expect("a producer is alive"),
        }
    }
    fn try_select(a: &Self::Rx, b: &Self::Rx) -> Option<u64> {
        crossbeam_channel::select! {
            recv(a) -> v => v.ok(),
            recv(b) -> v => v.ok(),
            default => None,
        }
    }
}

struct Flume;

impl Peer for Flume {
    const NAME: &'static str = "flume_selector";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(capacity)
    }
    fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("the consumer is alive");
    }
    fn select(a: &Self::Rx, b: &Self::Rx) -> u64 {
        flume::Selector::new()
            .recv(a, |v| v.expect("a producer is alive"))
            .recv(b, |v| v.expect("a producer is alive"))
            .wait()
    }
    fn try_select(a: &Self::Rx, b: &Self::Rx) -> Option<u64> {
        flume::Selector::new()
            .recv(a, Result::ok)
            .recv(b, Result::ok)
            .wait_timeout(Duration::ZERO)
            .ok()
            .flatten()
    }
}

/// One run of `select_{producers}p1c`: the time from the barrier to the consumer's last value.
fn run<P: Peer>(producers: usize, capacity: usize, messages: u64) -> Duration {
    let (a_tx, a) = P::channel(capacity);
    let (b_tx, b) = P::channel(capacity);
    let role = AtomicUsize::new(0);
    let (results, elapsed) = on_threads(producers + 1, |ready| {
        match role.fetch_add(1, Ordering::Relaxed) {
            // Two producers: the first sends the odd values to `a`, the second the even ones
            // to `b`. One: each value to `a` or `b` in turn.
            producer if producer < producers => {
                ready();
                if producers == 1 {
                    for value in 1..=messages {
                        P::send(if value % 2 == 1 { &a_tx } else { &b_tx }, black_box(value));
                    }
                } else {
                    let tx = if producer == 0 { &a_tx } else { &b_tx };
                    let first = 1 + producer as u64;
                    (first..=messages).step_by(2).for_each(|value| P::send(tx, black_box(value)));
                }
                Checksum::default()
            }
            _ => {
                ready();
                let mut got = Checksum::default();
                for _ in 0..messages {
                    got.add(black_box(P::select(&a, &b)));
                }
                got
            }
        }
    });
    results.into_iter().fold(Checksum::default(), Checksum::merge).assert_all_of(messages, P::NAME);
    elapsed
}

fn receive_from_either(c: &mut Criterion) {
    for (producers, capacity, messages) in
        [(2, 1024, CAP1024_MESSAGES), (2, 1, CAP1_MESSAGES), (1, 1, CAP1_MESSAGES)]
    {
        let mut group = c.benchmark_group(format!("select_{producers}p1c_cap{capacity}"));
        group.throughput(Throughput::Elements(messages));
        fn add<P: Peer>(
            group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
            (producers, capacity, messages): (usize, usize, u64),
        ) {
            group.bench_function(P::NAME, |bench| {
                bench.iter_custom(|iters| (0..iters).map(|_| run::<P>(producers, capacity, messages)).sum())
            });
        }
        let workload = (producers, capacity, messages);
        add::<Ringfence>(&mut group, workload);
        add::<Crossbeam>(&mut group, workload);
        add::<Flume>(&mut group, workload);
        group.finish();
    }
}

/// One async peer: a selection over two receivers of its channel, as a task would write it.
trait AsyncPeer {
    const NAME: &'static str;
    type Tx: Send + Sync + 'static;
    type Rx: Send + Sync + 'static;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, value: u64) -> impl std::future::Future<Output = ()> + Send;
    fn select(a: &mut Self::Rx, b: &mut Self::Rx) -> impl std::future::Future<Output = u64> + Send;
}

struct RingfenceWaitAsync;

impl AsyncPeer for RingfenceWaitAsync {
    const NAME: &'static str = "ringfence_wait_async";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        ringfence::channel::bounded(capacity)
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("the consumer is alive");
    }
    async fn select(a: &mut Self::Rx, b: &mut Self::Rx) -> u64 {
        ringfence::channel::Selector::new()
            .recv(a, |v| v.expect("a producer is alive"))
            .recv(b, |v| v.expect("a producer is alive"))
            .wait_async()
            .await
    }
}

struct RingfenceTokioSelect;

impl AsyncPeer for RingfenceTokioSelect {
    const NAME: &'static str = "ringfence_tokio_select";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        ringfence::channel::bounded(capacity)
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("the consumer is alive");
    }
    async fn select(a: &mut Self::Rx, b: &mut Self::Rx) -> u64 {
        tokio::select! {
            v = a.recv_async() => v.expect("a producer is alive"),
            v = b.recv_async() => v.expect("a producer is alive"),
        }
    }
}

struct TokioMpsc;

impl AsyncPeer for TokioMpsc {
    const NAME: &'static str = "tokio_mpsc_tokio_select";
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(capacity)
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("the consumer is alive");
    }
    async fn select(a: &mut Self::Rx, b: &mut Self::Rx) -> u64 {
        tokio::select! {
            v = a.recv() => v.expect("a producer is alive"),
            v = b.recv() => v.expect("a producer is alive"),
        }
    }
}

struct FlumeAsync;

impl AsyncPeer for FlumeAsync {
    const NAME: &'static str = "flume_tokio_select";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn channel(capacity: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(capacity)
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("the consumer is alive");
    }
    async fn select(a: &mut Self::Rx, b: &mut Self::Rx) -> u64 {
        tokio::select! {
            v = a.recv_async() => v.expect("a producer is alive"),
            v = b.recv_async() => v.expect("a producer is alive"),
        }
    }
}

/// One run of `select_async_2p1c`: two producer tasks and a selecting consumer task on `rt`;
/// the time from the spawn to the consumer's last value.
fn run_async<P: AsyncPeer>(rt: &tokio::runtime::Runtime, capacity: usize, messages: u64) -> Duration {
    let (a_tx, mut a) = P::channel(capacity);
    let (b_tx, mut b) = P::channel(capacity);
    rt.block_on(async move {
        let start = Instant::now();
        let producers: Vec<_> = [(a_tx, 1u64), (b_tx, 2u64)]
            .into_iter()
            .map(|(tx, first)| {
                tokio::spawn(async move {
                    for value in (first..=messages).step_by(2) {
                        P::send(&tx, black_box(value)).await;
                    }
                    tx // kept until the consumer is done: a closed channel is always ready
                })
            })
            .collect();
        let consumer = tokio::spawn(async move {
            let mut got = Checksum::default();
            for _ in 0..messages {
                got.add(black_box(P::select(&mut a, &mut b).await));
            }
            got
        });
        let got = consumer.await.expect("the consumer finished");
        let elapsed = start.elapsed();
        for producer in producers {
            drop(producer.await.expect("a producer finished"));
        }
        got.assert_all_of(messages, P::NAME);
        elapsed
    })
}

fn async_receive_from_either(c: &mut Criterion) {
    use common::tokio_runtime::Flavor;
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let rt = flavor.runtime();
        let mut group = c.benchmark_group(format!("select_async_2p1c_cap{ASYNC_CAP}_{}", flavor.suffix()));
        group.throughput(Throughput::Elements(ASYNC_MESSAGES));
        fn add<P: AsyncPeer>(
            group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
            rt: &tokio::runtime::Runtime,
        ) {
            group.bench_function(P::NAME, |bench| {
                bench.iter_custom(|iters| {
                    (0..iters).map(|_| run_async::<P>(rt, ASYNC_CAP, ASYNC_MESSAGES)).sum()
                })
            });
        }
        add::<RingfenceWaitAsync>(&mut group, &rt);
        add::<RingfenceTokioSelect>(&mut group, &rt);
        add::<TokioMpsc>(&mut group, &rt);
        add::<FlumeAsync>(&mut group, &rt);
        group.finish();
    }
}

/// A peer whose select can carry a timer.
trait TimerPeer: Peer {
    type Timer;
    fn timer(after: Duration) -> Self::Timer;
    /// Receives a value, or `None` when the timer fired first.
    fn recv_or_timer(rx: &Self::Rx, timer: &mut Self::Timer) -> Option<u64>;
}

impl TimerPeer for Ringfence {
    type Timer = ringfence::timer::Sleep;
    fn timer(after: Duration) -> Self::Timer {
        ringfence::timer::sleep(after)
    }
    fn recv_or_timer(rx: &Self::Rx, timer: &mut Self::Timer) -> Option<u64> {
        ringfence::channel::Selector::new()
            .recv(rx, |v| Some(v.expect("the producer is alive")))
            .future(timer, |()| None)
            .wait()
    }
}

impl TimerPeer for Crossbeam {
    type Timer = crossbeam_channel::Receiver<Instant>;
    fn timer(after: Duration) -> Self::Timer {
        crossbeam_channel::after(after)
    }
    fn recv_or_timer(rx: &Self::Rx, timer: &mut Self::Timer) -> Option<u64> {
        crossbeam_channel::select! {
            recv(rx) -> v => Some(v.expect("the producer is alive")),
            recv(timer) -> _ => None,
        }
    }
}

/// One run of `select_timer_1p1c_cap1024`: the time from the barrier to the consumer's last
/// value.
fn run_timer<P: TimerPeer>(messages: u64) -> Duration {
    let (tx, rx) = P::channel(1024);
    let role = AtomicUsize::new(0);
    let (results, elapsed) = on_threads(2, |ready| {
        if role.fetch_add(1, Ordering::Relaxed) == 0 {
            ready();
            (1..=messages).for_each(|value| P::send(&tx, black_box(value)));
            return Checksum::default();
        }
        let mut timer = P::timer(Duration::from_secs(3600));
        ready();
        let mut got = Checksum::default();
        for _ in 0..messages {
            got.add(black_box(P::recv_or_timer(&rx, &mut timer).expect("the hour's timer did not fire")));
        }
        got
    });
    results.into_iter().fold(Checksum::default(), Checksum::merge).assert_all_of(messages, P::NAME);
    elapsed
}

fn receive_or_timer(c: &mut Criterion) {
    let mut group = c.benchmark_group("select_timer_1p1c_cap1024");
    group.throughput(Throughput::Elements(CAP1024_MESSAGES));
    fn add<P: TimerPeer>(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
        group.bench_function(P::NAME, |bench| {
            bench.iter_custom(|iters| (0..iters).map(|_| run_timer::<P>(CAP1024_MESSAGES)).sum())
        });
    }
    add::<Ringfence>(&mut group);
    add::<Crossbeam>(&mut group);
    group.finish();
}

fn try_empty(c: &mut Criterion) {
    let mut group = c.benchmark_group("select_try_empty");
    fn add<P: Peer>(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
        let (_a_tx, a) = P::channel(16);
        let (_b_tx, b) = P::channel(16);
        group.bench_function(P::NAME, |bench| {
            bench.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    assert!(P::try_select(black_box(&a), black_box(&b)).is_none());
                }
                start.elapsed()
            })
        });
    }
    add::<Ringfence>(&mut group);
    add::<Crossbeam>(&mut group);
    add::<Flume>(&mut group);
    group.finish();
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!("available parallelism: {cores}");
    eprintln!("  select_2p1c: 2 producer threads + 1 selecting consumer thread, two bounded channels");
    eprintln!("  select_1p1c: 1 producer thread (alternating channels) + 1 selecting consumer thread");
    eprintln!("  select_async_2p1c: 2 producer tasks + 1 selecting consumer task, on each tokio runtime");
    eprintln!("  select_try_empty: 1 thread, a non-blocking select over two empty channels");
    eprintln!("  select_timer_1p1c: 1 producer thread + 1 consumer thread selecting a receive or a timer");
    let mut criterion = config().configure_from_args();
    receive_from_either(&mut criterion);
    async_receive_from_either(&mut criterion);
    try_empty(&mut criterion);
    receive_or_timer(&mut criterion);
    criterion.final_summary();
}
