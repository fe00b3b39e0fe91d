//! Criterion benchmarks of the channel's async API (`Sender::send_async`, `Receiver::recv_async`,
//! and `Receiver::into_stream` where a single receiver allows it) against `tokio::sync::mpsc`,
//! flume's `send_async`/`recv_async`, kanal's `bounded_async`/`unbounded_async` and smol's
//! async-channel, all driven by the same tokio runtime.
//!
//! Workloads (one criterion group each, every peer in it, ringfence first):
//!
//! | group | producers : consumers | capacity | runtime |
//! |---|---|---|---|
//! | `async_spsc_1p1c_cap64_*` | 1 : 1 | 64 | multi-thread (2 workers) and current-thread |
//! | `async_spsc_1p1c_cap1_*` | 1 : 1 | 1 | multi-thread (2 workers) and current-thread |
//! | `async_spsc_1p1c_cap16_*` | 1 : 1 | 16 | multi-thread (2 workers) and current-thread |
//! | `async_mpsc_4p1c_cap64_*` | 4 : 1 | 64 | multi-thread (2 workers) |
//! | `async_mpmc_4p4c_cap64_*` | 4 : 4 | 64 | multi-thread (2 workers) |
//! | `async_spsc_1p1c_unbounded_*` | 1 : 1 | unbounded | multi-thread (2 workers) and current-thread |
//!
//! tokio's mpsc receiver is single-consumer (`recv` takes `&mut self`, it cannot be cloned), so
//! tokio sits out the mpmc group. `ringfence_stream` (the receiver as a [`RecvStream`], `next()`
//! per value) sits out the mpmc group for the same reason, and the capacity-1 groups (there the
//! hand-over dominates; its poll is `recv_async`'s).
//!
//! Method (DESIGN.md §4, as `common/mod.rs` does it with threads): the runtime is built once
//! per group, outside every timed region; per iteration the channel is made and every producer
//! and consumer task is spawned, then the tasks meet at a `tokio::sync::Barrier`. Each task
//! reads the clock as the barrier releases it, and each consumer again after its last value; the
//! time of an iteration is from the earliest release to the latest consumer finish, so spawning,
//! joining and the runtime's enter/exit are not measured. Producer `p` of `P` sends
//! `p+1, p+1+P, ...` (together every value of `1..=messages` once); each consumer receives a
//! fixed quota (the quotas add up to `messages`, so no end-of-stream signal is needed) and
//! returns the sum and the sum of squares of what it got, asserted against the closed forms.
//! Values go through `black_box` on both sides. `Throughput::Elements(messages)`.
//!
//! tokio's channel takes part in tokio's cooperative scheduling budget (a task is made to yield
//! after about 128 channel operations in a row); the other channels do not.
//!
//! A watchdog (a 5 s `tokio::time::timeout` on the joining future, so both runtimes have the
//! timer enabled, as `#[tokio::main]` does) catches an iteration whose tasks never finish. A
//! ringfence hang panics. A peer's hang is reported on stderr, its tasks are aborted and the
//! iteration is run again: flume 0.12.0 loses a receiver wakeup in the 4:4 group now and then
//! (measured: about one iteration in 250 to 500 hangs with a consumer pending while the
//! channel holds 64 values; also outside this harness), which would otherwise stall the suite.
//!
//! `cargo bench --bench channel_async` (add `-- --test` for one quick pass).
//!
//! [`RecvStream`]: ringfence::channel::RecvStream

#[path = "common/mod.rs"]
mod common;

use common::Checksum;
use common::channel_async::{CAP, HANDOFF_MESSAGES, MESSAGES, SMALL_CAP, WORKERS};
use common::tokio_runtime::Flavor;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::Barrier;
use tokio::task::{AbortHandle, JoinHandle};

/// An iteration whose tasks have not all finished after this long is taken for a lost wakeup
/// (a normal one takes milliseconds): see [`run_to_completion`].
const WATCHDOG: Duration = Duration::from_secs(5);
/// Hung iterations in a row before a peer's benchmark gives up.
const MAX_HANGS: u32 = 3;

/// One async producer/consumer workload.
#[derive(Clone, Copy, Debug)]
struct Workload {
    /// Group name, without the runtime suffix.
    name: &'static str,
    producers: usize,
    consumers: usize,
    /// `None`: unbounded.
    capacity: Option<usize>,
    /// Messages per iteration, over all producers.
    messages: u64,
    /// The runtimes it runs on, a group each.
    runtimes: &'static [Flavor],
}

const BOTH: &[Flavor] = &[Flavor::MultiThread, Flavor::CurrentThread];
const MULTI: &[Flavor] = &[Flavor::MultiThread];

const SPSC: Workload = Workload {
    name: "async_spsc_1p1c_cap64",
    producers: 1,
    consumers: 1,
    capacity: Some(CAP),
    messages: MESSAGES,
    runtimes: BOTH,
};
const HANDOFF: Workload = Workload {
    name: "async_spsc_1p1c_cap1",
    producers: 1,
    consumers: 1,
    capacity: Some(1),
    messages: HANDOFF_MESSAGES,
    runtimes: BOTH,
};
/// A small buffer, as code that wants backpressure picks: a wait every sixteen messages or so,
/// so the cost of a wait cycle (both tasks waiting once) shows, where at capacity 64 the
/// per-message paths dominate and at capacity 1 the hand-over does.
const SMALL: Workload = Workload {
    name: "async_spsc_1p1c_cap16",
    producers: 1,
    consumers: 1,
    capacity: Some(SMALL_CAP),
    messages: MESSAGES,
    runtimes: BOTH,
};
const MPSC: Workload = Workload {
    name: "async_mpsc_4p1c_cap64",
    producers: 4,
    consumers: 1,
    capacity: Some(CAP),
    messages: MESSAGES,
    runtimes: MULTI,
};
const MPMC: Workload = Workload {
    name: "async_mpmc_4p4c_cap64",
    producers: 4,
    consumers: 4,
    capacity: Some(CAP),
    messages: MESSAGES,
    runtimes: MULTI,
};
const UNBOUNDED: Workload = Workload {
    name: "async_spsc_1p1c_unbounded",
    producers: 1,
    consumers: 1,
    capacity: None,
    messages: MESSAGES,
    runtimes: BOTH,
};

/// What the harness needs from an async channel: make one, clone its ends, move one `u64`.
trait AsyncEndpoints: 'static {
    /// Benchmark id inside a group.
    const NAME: &'static str;
    /// `false` when the receiving end cannot be shared (tokio's mpsc receiver, a stream).
    const MULTI_CONSUMER: bool = true;
    /// Whether it makes bounded channels (tokio's two kinds are two types, two peers).
    const BOUNDED: bool = true;
    /// Whether it makes unbounded channels.
    const UNBOUNDED: bool = true;
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    /// A new channel: `capacity` `None` is unbounded.
    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx);
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Only called when `MULTI_CONSUMER`.
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
    /// Sends `value`, waiting for room.
    fn send(tx: &Self::Tx, value: u64) -> impl Future<Output = ()> + Send + '_;
    /// Receives a value, waiting for one.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = u64> + Send + '_;
}

struct Ringfence;

impl AsyncEndpoints for Ringfence {
    const NAME: &'static str = "ringfence";
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::Receiver<u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        capacity.map_or_else(ringfence::channel::unbounded, ringfence::channel::bounded)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("ringfence: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv_async().await.expect("ringfence: senders gone")
    }
}

/// ringfence's receiver as an owned [`ringfence::channel::RecvStream`] (single consumer).
struct RingfenceStream;

impl AsyncEndpoints for RingfenceStream {
    const NAME: &'static str = "ringfence_stream";
    const MULTI_CONSUMER: bool = false;
    type Tx = ringfence::channel::Sender<u64>;
    type Rx = ringfence::channel::RecvStream<'static, u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        let (tx, rx) = Ringfence::channel(capacity);
        (tx, rx.into_stream())
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("a stream owns the single receiver; the harness skips it")
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("ringfence: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.next().await.expect("ringfence: stream ended early")
    }
}

struct TokioBounded;

impl AsyncEndpoints for TokioBounded {
    const NAME: &'static str = "tokio_mpsc";
    const MULTI_CONSUMER: bool = false;
    const UNBOUNDED: bool = false;
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(capacity.expect("tokio's bounded channel"))
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio's mpsc Receiver is single-consumer; the harness skips it")
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("tokio: receiver gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv().await.expect("tokio: senders gone")
    }
}

struct TokioUnbounded;

impl AsyncEndpoints for TokioUnbounded {
    const NAME: &'static str = "tokio_mpsc";
    const MULTI_CONSUMER: bool = false;
    const BOUNDED: bool = false;
    type Tx = tokio::sync::mpsc::UnboundedSender<u64>;
    type Rx = tokio::sync::mpsc::UnboundedReceiver<u64>;

    fn channel(_: Option<usize>) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::unbounded_channel()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(_: &Self::Rx) -> Self::Rx {
        unreachable!("tokio's mpsc Receiver is single-consumer; the harness skips it")
    }
    // Never waits: tokio's unbounded send is synchronous.
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).expect("tokio: receiver gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv().await.expect("tokio: senders gone")
    }
}

struct Flume;

impl AsyncEndpoints for Flume {
    const NAME: &'static str = "flume";
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        capacity.map_or_else(flume::unbounded, flume::bounded)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send_async(value).await.expect("flume: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv_async().await.expect("flume: senders gone")
    }
}

struct Kanal;

impl AsyncEndpoints for Kanal {
    const NAME: &'static str = "kanal";
    type Tx = kanal::AsyncSender<u64>;
    type Rx = kanal::AsyncReceiver<u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        capacity.map_or_else(kanal::unbounded_async, kanal::bounded_async)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("kanal: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv().await.expect("kanal: senders gone")
    }
}

/// smol's async-channel (a `concurrent-queue` with `event-listener` wakeups), MPMC.
struct AsyncChannel;

impl AsyncEndpoints for AsyncChannel {
    const NAME: &'static str = "async_channel";
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;

    fn channel(capacity: Option<usize>) -> (Self::Tx, Self::Rx) {
        capacity.map_or_else(async_channel::unbounded, async_channel::bounded)
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        tx.clone()
    }
    fn clone_rx(rx: &Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, value: u64) {
        tx.send(value).await.expect("async-channel: receivers gone");
    }
    async fn recv(rx: &mut Self::Rx) -> u64 {
        rx.recv().await.expect("async-channel: senders gone")
    }
}

/// What one consumer received (its checksum), and when it ran.
struct ConsumerResult {
    start: Instant,
    end: Instant,
    got: Checksum,
}

/// Runs `workload` once on `rt` with channel `E`; returns the time from the earliest task's
/// release from the barrier to the latest consumer's last value, or `None` when the tasks have
/// not finished after [`WATCHDOG`] (they are then aborted). Panics when the checksum is wrong.
fn run_once<E: AsyncEndpoints>(rt: &Runtime, workload: &Workload) -> Option<Duration> {
    let Workload { producers, consumers, capacity, messages, .. } = *workload;
    assert!(consumers == 1 || E::MULTI_CONSUMER, "{} cannot share its receiver", E::NAME);
    let (tx, rx) = E::channel(capacity);
    let barrier = Arc::new(Barrier::new(producers + consumers));
    let outcome = rt.block_on(async move {
        let mut rx = Some(rx);
        let consumer_tasks: Vec<_> = (0..consumers)
            .map(|c| {
                let quota = messages / consumers as u64 + u64::from((c as u64) < messages % consumers as u64);
                let mut rx = if c + 1 == consumers {
                    rx.take().expect("the last consumer takes the original end")
                } else {
                    E::clone_rx(rx.as_ref().expect("original end still here"))
                };
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    let start = Instant::now();
                    let mut got = Checksum::default();
                    for _ in 0..quota {
                        got.add(black_box(E::recv(&mut rx).await));
                    }
                    ConsumerResult { start, end: Instant::now(), got }
                })
            })
            .collect();
        let producer_tasks: Vec<_> = (0..producers)
            .map(|p| {
                let tx = E::clone_tx(&tx);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    let start = Instant::now();
                    for value in (p as u64 + 1..=messages).step_by(producers) {
                        E::send(&tx, black_box(value)).await;
                    }
                    start
                })
            })
            .collect();
        drop(tx);
        let aborts: Vec<AbortHandle> = consumer_tasks
            .iter()
            .map(JoinHandle::abort_handle)
            .chain(producer_tasks.iter().map(JoinHandle::abort_handle))
            .collect();
        let joined = async {
            let mut consumers_done = Vec::with_capacity(consumer_tasks.len());
            for task in consumer_tasks {
                consumers_done.push(task.await.expect("consumer task panicked"));
            }
            let mut producer_starts = Vec::with_capacity(producer_tasks.len());
            for task in producer_tasks {
                producer_starts.push(task.await.expect("producer task panicked"));
            }
            (consumers_done, producer_starts)
        };
        let outcome = tokio::time::timeout(WATCHDOG, joined).await.ok();
        if outcome.is_none() {
            aborts.iter().for_each(AbortHandle::abort);
        }
        outcome
    });
    let (consumers_done, producer_starts) = outcome?;
    consumers_done
        .iter()
        .fold(Checksum::default(), |all, done| all.merge(done.got))
        .assert_all_of(messages, &format!("{} in {}", E::NAME, workload.name));
    let start = consumers_done.iter().map(|d| d.start).chain(producer_starts).min().expect("a task");
    let end = consumers_done.iter().map(|d| d.end).max().expect("a consumer");
    Some(end - start)
}

/// [`run_once`] until a run finishes in time. A ringfence run that hangs panics (a lost wakeup
/// is a bug to fix, not to measure around); a peer's hang is reported on stderr and the run
/// is repeated, up to [`MAX_HANGS`] in a row.
fn run_to_completion<E: AsyncEndpoints>(rt: &Runtime, workload: &Workload, group: &str) -> Duration {
    for _ in 0..MAX_HANGS {
        if let Some(elapsed) = run_once::<E>(rt, workload) {
            return elapsed;
        }
        assert!(
            !E::NAME.starts_with("ringfence"),
            "{group}/{}: the tasks did not finish within {WATCHDOG:?}: a lost wakeup",
            E::NAME
        );
        eprintln!(
            "warning: {group}/{}: the tasks did not finish within {WATCHDOG:?} (a waiter never woken); \
             aborted them and ran the iteration again",
            E::NAME
        );
    }
    panic!("{group}/{}: {MAX_HANGS} runs in a row did not finish", E::NAME);
}

/// Adds `E` to `group` when it applies to `workload` (kind of channel, shared receiver).
fn bench<E: AsyncEndpoints>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    rt: &Runtime,
    workload: &Workload,
) {
    if workload.consumers > 1 && !E::MULTI_CONSUMER {
        return;
    }
    let kind_applies = if workload.capacity.is_some() { E::BOUNDED } else { E::UNBOUNDED };
    if !kind_applies {
        return;
    }
    group.bench_function(E::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_to_completion::<E>(rt, workload, group_name)).sum())
    });
}

/// Every peer on `workload`, one group per runtime (ringfence first).
fn all_peers(c: &mut Criterion, workload: &Workload) {
    for &flavor in workload.runtimes {
        let rt = flavor.runtime();
        let name = format!("{}_{}", workload.name, flavor.suffix());
        let mut group = c.benchmark_group(&name);
        group.throughput(Throughput::Elements(workload.messages));
        bench::<Ringfence>(&mut group, &name, &rt, workload);
        // Not at capacity 1, where the hand-over dominates (and mpmc skips it: one receiver).
        if workload.capacity != Some(1) {
            bench::<RingfenceStream>(&mut group, &name, &rt, workload);
        }
        bench::<TokioBounded>(&mut group, &name, &rt, workload);
        bench::<TokioUnbounded>(&mut group, &name, &rt, workload);
        bench::<Flume>(&mut group, &name, &rt, workload);
        bench::<Kanal>(&mut group, &name, &rt, workload);
        bench::<AsyncChannel>(&mut group, &name, &rt, workload);
        group.finish();
    }
}

fn main() {
    let workloads = [SPSC, HANDOFF, SMALL, MPSC, MPMC, UNBOUNDED];
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!("available parallelism: {cores}");
    for w in &workloads {
        let runtimes: Vec<String> = w
            .runtimes
            .iter()
            .map(|f| match f {
                Flavor::MultiThread => format!("multi-thread ({WORKERS} workers)"),
                Flavor::CurrentThread => "current-thread".to_string(),
            })
            .collect();
        eprintln!(
            "  {}: {} producer task(s) + {} consumer task(s), {}, {} messages/iteration, on {}",
            w.name,
            w.producers,
            w.consumers,
            w.capacity.map_or("unbounded".to_string(), |n| format!("capacity {n}")),
            w.messages,
            runtimes.join(" and ")
        );
    }
    // 10 000 bootstrap resamples instead of 100 000: with 10 samples the estimates are as good,
    // and the analysis no longer takes longer than the measurement (37 benchmarks here).
    let mut criterion = common::config().nresamples(10_000).configure_from_args();
    for workload in &workloads {
        all_peers(&mut criterion, workload);
    }
    criterion.final_summary();
}
