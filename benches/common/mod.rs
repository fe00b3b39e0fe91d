//! The harness shared by the ring and channel benchmarks (DESIGN.md §4).
//!
//! Every threaded workload is measured the same way, for every implementation:
//!
//! - the queue or channel and all worker threads are created *outside* the timed region;
//! - the workers meet at a [`Barrier`]; each reads the clock as the barrier releases it and
//!   each consumer again after its last value. The time of a run is from the earliest release
//!   to the latest consumer finish. (The measuring thread does not take part: on an
//!   oversubscribed machine it may be scheduled long after the workers, even after they are
//!   done, so timing from its side of the barrier under-reports.)
//! - producer `p` sends a contiguous slice of the values `1..=messages`; consumer `c` receives
//!   exactly its quota (the quotas add up to `messages`, so no end-of-stream signal is needed)
//!   and returns the sum and the sum of squares of what it got; the bench asserts both against
//!   the closed forms, so a lost or duplicated value panics;
//! - values go through [`black_box`] on both sides.
//!
//! The payload is a `u64` unless a workload says otherwise ([`Payload`]: a 64-byte struct, or a
//! `String` made by the producer and dropped by the consumer); and the threads run where the
//! scheduler puts them unless the workload is pinned ([`Placement::OneCore`]: every worker on
//! one CPU, set before the barrier).
//!
//! All workload parameters (message counts, thread counts, capacities, payloads, placements)
//! live in this file: the channel and ring suites' below, every other suite's in a module of
//! its own at the end (`pool`, `semaphore`, ...), which that suite includes this file to read.
#![allow(dead_code)] // each bench uses a part of the harness

mod affinity;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Capacity of the buffered workloads (spsc, mpsc, mpmc).
pub const CAP: usize = 1024;
/// Messages per iteration of the buffered workloads (one iteration is a few ms).
pub const MESSAGES: u64 = 100_000;
/// Messages per iteration of each step of the scaling series ([`SCALING`]), whatever the
/// number of pairs: the same total as the other buffered workloads, so the 2:2 step reads next
/// to `mpmc_2p2c_cap1024`, and the 8:8 step still gives each thread 12 500 messages.
pub const SCALING_MESSAGES: u64 = MESSAGES;
/// Messages per iteration of the capacity-1 handoff.
pub const HANDOFF_MESSAGES: u64 = 20_000;
/// Messages per iteration of the capacity-0 rendezvous.
pub const RENDEZVOUS_MESSAGES: u64 = 10_000;
/// Round trips per iteration of the ping-pong.
pub const ROUND_TRIPS: u64 = 10_000;
/// Values pushed, then popped, per iteration of the single-threaded `seq` workload; also the
/// ring's capacity there.
pub const SEQ_N: usize = 1024;
/// Busy-retry loops (for the non-blocking ring and `ArrayQueue`): failed attempts that spin
/// with `spin_loop()` before each further attempt yields the CPU instead.
pub const SPINS_BEFORE_YIELD: u32 = 32;

/// Criterion settings for all groups; command-line flags (`--measurement-time`, ...) override.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// One threaded producer/consumer workload.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Benchmark group name (thread counts and capacity in it).
    pub name: &'static str,
    /// Producer threads.
    pub producers: usize,
    /// Consumer threads.
    pub consumers: usize,
    /// Queue or channel capacity.
    pub capacity: usize,
    /// Messages per iteration, over all producers.
    pub messages: u64,
}

impl Workload {
    /// Total worker threads.
    pub fn threads(&self) -> usize {
        self.producers + self.consumers
    }
}

/// The buffered workloads at capacity [`CAP`]; 4:4 is oversubscribed on a 2-core machine.
pub const BUFFERED: [Workload; 4] = [
    Workload { name: "spsc_1p1c_cap1024", producers: 1, consumers: 1, capacity: CAP, messages: MESSAGES },
    Workload { name: "mpsc_2p1c_cap1024", producers: 2, consumers: 1, capacity: CAP, messages: MESSAGES },
    Workload { name: "mpmc_2p2c_cap1024", producers: 2, consumers: 2, capacity: CAP, messages: MESSAGES },
    Workload { name: "mpmc_4p4c_cap1024", producers: 4, consumers: 4, capacity: CAP, messages: MESSAGES },
];

/// The workloads run again with the larger payloads ([`Bytes64`], `String`): spsc 1:1 and mpmc
/// 2:2 at capacity [`CAP`].
pub const PAYLOAD_WORKLOADS: [Workload; 2] = [BUFFERED[0], BUFFERED[2]];

/// The workloads run again with all their threads pinned to one CPU ([`Placement::OneCore`]):
/// spsc 1:1 and mpmc 2:2 at capacity [`CAP`], and the capacity-1 handoff.
pub const PINNED_WORKLOADS: [Workload; 3] = [BUFFERED[0], BUFFERED[2], HANDOFF];

/// The mpmc scaling series: N producers + N consumers at capacity [`CAP`], for N = 1, 2, 4 and
/// 8 pairs, [`SCALING_MESSAGES`] per iteration. The names differ only in the `{N}p{N}c` token,
/// which is how the report (`examples/bench_report.rs`) finds the series and draws it as one
/// line chart. On a 2-core machine every step from 2 pairs on is oversubscribed; on a machine
/// with 16 cores none is.
pub const SCALING: [Workload; 4] = [
    scaling_step("scaling_mpmc_1p1c_cap1024", 1),
    scaling_step("scaling_mpmc_2p2c_cap1024", 2),
    scaling_step("scaling_mpmc_4p4c_cap1024", 4),
    scaling_step("scaling_mpmc_8p8c_cap1024", 8),
];

/// One step of [`SCALING`]: `pairs` producers and as many consumers.
const fn scaling_step(name: &'static str, pairs: usize) -> Workload {
    Workload { name, producers: pairs, consumers: pairs, capacity: CAP, messages: SCALING_MESSAGES }
}

/// One producer hands values to one consumer through a single slot.
pub const HANDOFF: Workload = Workload {
    name: "handoff_1p1c_cap1",
    producers: 1,
    consumers: 1,
    capacity: 1,
    messages: HANDOFF_MESSAGES,
};

/// A zero-capacity (rendezvous) channel: every send waits for its receiver.
pub const RENDEZVOUS: Workload = Workload {
    name: "rendezvous_1p1c_cap0",
    producers: 1,
    consumers: 1,
    capacity: 0,
    messages: RENDEZVOUS_MESSAGES,
};

/// The unbounded workloads (`capacity` is unused: every channel here is unbounded).
pub const UNBOUNDED: [Workload; 4] = [
    Workload { name: "spsc_1p1c_unbounded", producers: 1, consumers: 1, capacity: 0, messages: MESSAGES },
    Workload { name: "mpsc_2p1c_unbounded", producers: 2, consumers: 1, capacity: 0, messages: MESSAGES },
    Workload { name: "mpmc_2p2c_unbounded", producers: 2, consumers: 2, capacity: 0, messages: MESSAGES },
    Workload { name: "mpmc_4p4c_unbounded", producers: 4, consumers: 4, capacity: 0, messages: MESSAGES },
];

/// What moves through the queue: made by the producer from the value `1..=messages` it sends,
/// turned back into that value (and dropped) by the consumer, which checksums the values.
pub trait Payload: Send + 'static {
    /// Suffix of the benchmark group name (`""` for `u64`, the default payload).
    const SUFFIX: &'static str;
    /// The message carrying `value`.
    fn from_value(value: u64) -> Self;
    /// The value back; consumes (drops) the message on the consumer's thread.
    fn into_value(self) -> u64;
}

impl Payload for u64 {
    const SUFFIX: &'static str = "";
    #[inline]
    fn from_value(value: u64) -> Self {
        value
    }
    #[inline]
    fn into_value(self) -> u64 {
        self
    }
}

/// A 64-byte message (a cache line's worth): eight copies of the value. The consumer reads all
/// eight (their sum over 8), so a torn or stale word breaks the checksum.
#[derive(Clone, Copy, Debug)]
pub struct Bytes64([u64; 8]);

impl Payload for Bytes64 {
    const SUFFIX: &'static str = "_bytes64";
    #[inline]
    fn from_value(value: u64) -> Self {
        Bytes64([value; 8])
    }
    #[inline]
    fn into_value(self) -> u64 {
        // Values are at most `MESSAGES`, so the sum of eight cannot wrap.
        self.0.iter().sum::<u64>() / 8
    }
}

/// A heap-allocated message: the producer formats the value (an allocation), the consumer
/// parses it and drops the `String` (a free on another thread than the allocation's).
impl Payload for String {
    const SUFFIX: &'static str = "_string";
    #[inline]
    fn from_value(value: u64) -> Self {
        value.to_string()
    }
    #[inline]
    fn into_value(self) -> u64 {
        self.parse().expect("the producer sent a number")
    }
}

/// Where the worker threads of a run may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Wherever the scheduler puts them.
    Free,
    /// All pinned to one CPU ([`affinity::one_core`]); group names get `_pinned1`. Linux only.
    OneCore,
}

impl Placement {
    /// Suffix of the benchmark group name.
    pub fn suffix(self) -> &'static str {
        match self {
            Placement::Free => "",
            Placement::OneCore => "_pinned1",
        }
    }

    /// Whether this machine can run the placement (pinning is Linux only).
    pub fn available(self) -> bool {
        match self {
            Placement::Free => true,
            Placement::OneCore => affinity::one_core().is_some(),
        }
    }

    /// Moves the calling (worker) thread where the placement says.
    fn enter(self) {
        if self == Placement::OneCore {
            let cpu =
                affinity::one_core().expect("pinned workloads are skipped where pinning is unavailable");
            affinity::pin_current_thread(cpu);
        }
    }
}

/// What the harness needs from an implementation: make a queue, clone its ends, move one `T`
/// (a `u64` unless said otherwise).
///
/// `send` and `recv` block (or busy-retry, for non-blocking queues) until they succeed.
pub trait Endpoints<T = u64>: 'static {
    /// Name used as the benchmark id inside a group.
    const NAME: &'static str;
    /// `false` when the receiving end cannot be shared (std `Receiver`).
    const MULTI_CONSUMER: bool = true;
    /// The producing end.
    type Tx: Send;
    /// The consuming end.
    type Rx: Send;
    /// A new queue or channel of `capacity`.
    fn with_capacity(capacity: usize) -> (Self::Tx, Self::Rx);
    /// Another producing end of the same queue.
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Another consuming end of the same queue (only called when `MULTI_CONSUMER`).
    fn clone_rx(rx: &Self::Rx) -> Self::Rx;
    /// Sends `value`, waiting for room.
    fn send(tx: &Self::Tx, value: T);
    /// Receives a value, waiting for one.
    fn recv(rx: &Self::Rx) -> T;
}

/// Busy-retries `attempt` until it returns `Ok`: `spin_loop()` for the first
/// [`SPINS_BEFORE_YIELD`] failures, then `yield_now()` so oversubscribed runs progress.
#[inline]
pub fn retry<V, R>(mut value: V, mut attempt: impl FnMut(V) -> Result<R, V>) -> R {
    let mut failures = 0u32;
    loop {
        match attempt(value) {
            Ok(done) => return done,
            Err(back) => value = back,
        }
        if failures < SPINS_BEFORE_YIELD {
            failures += 1;
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// Sum and sum of squares (wrapping) of `1..=n`: what the consumers must have received.
pub fn expected_checksum(n: u64) -> (u64, u64) {
    let n = u128::from(n);
    let sum = n * (n + 1) / 2;
    let squares = n * (n + 1) * (2 * n + 1) / 6;
    (sum as u64, squares as u64)
}

/// What consumers received, summed as [`expected_checksum`] sums `1..=n` (wrapping): a lost or
/// doubled value changes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: u64,
    squares: u64,
}

impl Checksum {
    pub fn add(&mut self, value: u64) {
        self.sum = self.sum.wrapping_add(value);
        self.squares = self.squares.wrapping_add(value.wrapping_mul(value));
    }

    /// Two consumers' checksums together.
    pub fn merge(self, other: Checksum) -> Checksum {
        Checksum { sum: self.sum.wrapping_add(other.sum), squares: self.squares.wrapping_add(other.squares) }
    }

    /// Panics (naming `who`) unless exactly `1..=n` was received, each value once.
    pub fn assert_all_of(self, n: u64, who: &str) {
        assert_eq!((self.sum, self.squares), expected_checksum(n), "{who}: a value lost or doubled");
    }
}

/// The `part`-th of `parts` near-equal shares of `total`, as a range of `1..=total`.
fn share(total: u64, parts: usize, part: usize) -> std::ops::Range<u64> {
    let (parts, part) = (parts as u64, part as u64);
    let base = total / parts;
    let extra = total % parts;
    let start = part * base + part.min(extra);
    let len = base + u64::from(part < extra);
    start + 1..start + 1 + len
}

/// When a run started (the earliest release from the barrier) and ended (the latest finish).
#[derive(Clone, Copy)]
struct Span {
    start: Instant,
    end: Instant,
}

impl Span {
    fn merge(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// Runs `workload` once on implementation `E` and returns the time from the earliest worker's
/// release from the barrier to the latest consumer's last value. Panics when the checksum is
/// wrong.
pub fn run_once<E: Endpoints>(workload: &Workload) -> Duration {
    run_once_with::<u64, E>(workload, Placement::Free)
}

/// [`run_once`] with payload `T` and the threads placed by `placement`.
pub fn run_once_with<T: Payload, E: Endpoints<T>>(workload: &Workload, placement: Placement) -> Duration {
    let Workload { producers, consumers, capacity, messages, .. } = *workload;
    assert!(consumers == 1 || E::MULTI_CONSUMER, "{} cannot share its receiver", E::NAME);
    let (tx, rx) = E::with_capacity(capacity);
    let barrier = Barrier::new(producers + consumers);
    let barrier = &barrier;
    thread::scope(|scope| {
        let mut rx = Some(rx);
        let consumer_handles: Vec<_> = (0..consumers)
            .map(|c| {
                let quota = share(messages, consumers, c).count();
                let rx = if c + 1 == consumers {
                    rx.take().expect("the last consumer takes the original end")
                } else {
                    E::clone_rx(rx.as_ref().expect("original end still here"))
                };
                scope.spawn(move || {
                    placement.enter();
                    barrier.wait();
                    let start = Instant::now();
                    let mut got = Checksum::default();
                    for _ in 0..quota {
                        got.add(black_box(E::recv(&rx)).into_value());
                    }
                    (Span { start, end: Instant::now() }, got)
                })
            })
            .collect();
        let producer_handles: Vec<_> = (0..producers)
            .map(|p| {
                let tx = E::clone_tx(&tx);
                let values = share(messages, producers, p);
                scope.spawn(move || {
                    placement.enter();
                    barrier.wait();
                    let start = Instant::now();
                    for value in values {
                        E::send(&tx, T::from_value(black_box(value)));
                    }
                    start
                })
            })
            .collect();
        drop(tx);
        let mut span: Option<Span> = None;
        let mut got = Checksum::default();
        for handle in consumer_handles {
            let (s, consumer_got) = handle.join().expect("consumer panicked");
            span = Some(span.map_or(s, |span| span.merge(s)));
            got = got.merge(consumer_got);
        }
        let mut span = span.expect("at least one consumer");
        for handle in producer_handles {
            let start = handle.join().expect("producer panicked");
            span.start = span.start.min(start);
        }
        got.assert_all_of(messages, &format!("{} in {}", E::NAME, workload.name));
        span.end - span.start
    })
}

/// Ping-pong: one thread sends `1..=rounds` on channel A and waits for each echo on channel B
/// (both capacity 1); the echo thread returns every value it receives. Time from the earlier
/// release from the barrier to the pinger's last echo; the echoes' checksum is asserted.
pub fn ping_pong_once<E: Endpoints>(rounds: u64) -> Duration {
    let (ping_tx, ping_rx) = E::with_capacity(1);
    let (pong_tx, pong_rx) = E::with_capacity(1);
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    thread::scope(|scope| {
        let echo = scope.spawn(move || {
            barrier.wait();
            let start = Instant::now();
            for _ in 0..rounds {
                let value = E::recv(&ping_rx);
                E::send(&pong_tx, value);
            }
            start
        });
        let pinger = scope.spawn(move || {
            barrier.wait();
            let start = Instant::now();
            let mut got = Checksum::default();
            for value in 1..=rounds {
                E::send(&ping_tx, black_box(value));
                got.add(black_box(E::recv(&pong_rx)));
            }
            (Span { start, end: Instant::now() }, got)
        });
        let (span, got) = pinger.join().expect("pinger panicked");
        let echo_start = echo.join().expect("echo thread panicked");
        got.assert_all_of(rounds, &format!("{} ping-pong", E::NAME));
        span.end - span.start.min(echo_start)
    })
}

/// A benchmark group for `workload`, with its throughput in messages.
pub fn group<'a>(c: &'a mut Criterion, prefix: &str, workload: &Workload) -> BenchmarkGroup<'a, WallTime> {
    group_with::<u64>(c, prefix, workload, Placement::Free)
}

/// A benchmark group for `workload` with payload `T` and `placement`: the name gets their
/// suffixes (`channel_spsc_1p1c_cap1024_string`, `channel_handoff_1p1c_cap1_pinned1`).
pub fn group_with<'a, T: Payload>(
    c: &'a mut Criterion,
    prefix: &str,
    workload: &Workload,
    placement: Placement,
) -> BenchmarkGroup<'a, WallTime> {
    let name = format!("{prefix}_{}{}{}", workload.name, T::SUFFIX, placement.suffix());
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(workload.messages));
    group
}

/// Adds implementation `E` to `group` for `workload` (skipped when `E` cannot share its
/// receiver and the workload has several consumers).
pub fn bench<E: Endpoints>(group: &mut BenchmarkGroup<'_, WallTime>, workload: &Workload) {
    bench_with::<u64, E>(group, workload, Placement::Free);
}

/// [`bench`] with payload `T` and the threads placed by `placement`.
pub fn bench_with<T: Payload, E: Endpoints<T>>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: &Workload,
    placement: Placement,
) {
    if workload.consumers > 1 && !E::MULTI_CONSUMER {
        return;
    }
    group.bench_function(E::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once_with::<T, E>(workload, placement)).sum())
    });
}

/// Adds implementation `E`'s ping-pong to `group` (throughput: round trips).
pub fn bench_ping_pong<E: Endpoints>(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.bench_function(E::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| ping_pong_once::<E>(ROUND_TRIPS)).sum())
    });
}

/// Prints the machine's parallelism and the workloads (to stderr, so `--list` stays clean).
pub fn print_setup(workloads: &[Workload]) {
    let cores = thread::available_parallelism().map_or(0, usize::from);
    eprintln!("available parallelism: {cores}");
    for w in workloads {
        eprintln!(
            "  {}: {} producer(s) + {} consumer(s) = {} threads{}, capacity {}, {} messages/iteration",
            w.name,
            w.producers,
            w.consumers,
            w.threads(),
            if w.threads() > cores { " (oversubscribed)" } else { "" },
            w.capacity,
            w.messages
        );
    }
}

/// Runs `work` on `threads` scoped threads; each calls the `ready` it is given once, which waits
/// at a barrier shared by all of them and reads the clock. Returns each thread's result and the
/// time from the earliest release to the latest finish. (The measuring thread takes no part in
/// the timing: oversubscribed, it may run long after the workers.)
pub fn on_threads<R: Send>(
    threads: usize,
    work: impl Fn(&mut dyn FnMut()) -> R + Sync,
) -> (Vec<R>, Duration) {
    let barrier = Barrier::new(threads);
    let (barrier, work) = (&barrier, &work);
    let done: Vec<(R, Instant, Instant)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut start = None;
                    let out = work(&mut || {
                        barrier.wait();
                        start = Some(Instant::now());
                    });
                    (out, start.expect("the worker called ready"), Instant::now())
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker panicked")).collect()
    });
    let start = done.iter().map(|d| d.1).min().expect("threads > 0");
    let end = done.iter().map(|d| d.2).max().expect("threads > 0");
    (done.into_iter().map(|d| d.0).collect(), end - start)
}

// ---------------------------------------------------------------------------------------------
// The other suites' workload parameters: each suite includes this file and reads its module.
// ---------------------------------------------------------------------------------------------

/// The workloads of `benches/channel_async.rs`.
pub mod channel_async {
    /// Messages per iteration of the buffered and unbounded workloads.
    pub const MESSAGES: u64 = 100_000;
    /// Messages per iteration of the capacity-1 workloads (every message is a hand-over).
    pub const HANDOFF_MESSAGES: u64 = 20_000;
    /// Capacity of the buffered workloads.
    pub const CAP: usize = 64;
    /// Capacity of the small-buffer workload (`async_spsc_1p1c_cap16`).
    pub const SMALL_CAP: usize = 16;
    /// Worker threads of the multi-thread runtime (the development machine has 2 cores).
    pub const WORKERS: usize = 2;
}

/// The tokio runtimes the async suites (`channel_async.rs`, `semaphore_async.rs`) run on.
pub mod tokio_runtime {
    use super::channel_async::WORKERS;
    use tokio::runtime::Runtime;

    /// Which tokio runtime drives the tasks.
    #[derive(Clone, Copy, Debug)]
    pub enum Flavor {
        /// `new_multi_thread().worker_threads(WORKERS)`.
        MultiThread,
        /// `new_current_thread()`: every task on the thread that calls `block_on`.
        CurrentThread,
    }

    impl Flavor {
        /// A runtime of this flavor, with the timer enabled (it drives the suites' watchdogs:
        /// one timeout per iteration, on the joining future).
        pub fn runtime(self) -> Runtime {
            let mut builder = match self {
                Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
                Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            };
            if let Flavor::MultiThread = self {
                builder.worker_threads(WORKERS);
            }
            builder.enable_time().build().expect("a tokio runtime")
        }

        /// The group-name suffix (`2t`/`1t`: the threads that run the tasks).
        pub fn suffix(self) -> &'static str {
            match self {
                Flavor::MultiThread => "multi_thread_2t",
                Flavor::CurrentThread => "current_thread_1t",
            }
        }
    }
}

/// The workloads of `benches/pool.rs`.
pub mod pool {
    /// Worker threads of every pool.
    pub const THREADS: usize = 2;
    /// Tasks per iteration of `submit_wait_empty`.
    pub const BATCH: u64 = 1000;
    /// Items per iteration of `map_small`.
    pub const MAP_ITEMS: u64 = 100_000;
    /// Rounds of `small_work` (`pool.rs`) per item of `map_small`.
    pub const WORK_ROUNDS: u32 = 64;
    /// The larger in-flight window of the second ringfence `map` variant.
    pub const WIDE_IN_FLIGHT: usize = 256;
    /// Values summed (squared) per iteration of `map_reduce_sum_squares`.
    pub const SQUARES_N: u64 = 1_000_000;
    /// Documents per iteration of `map_reduce_word_count`.
    pub const DOCS: usize = 2000;
    /// Words in each document.
    pub const WORDS_PER_DOC: usize = 200;
    /// Distinct words the documents are drawn from.
    pub const VOCABULARY: usize = 1000;
    /// Chunks per thread of the pre-chunked ringfence `map_reduce` variants (as `map_reduce`
    /// itself picks for inputs of known length).
    pub const CHUNKS_PER_THREAD: usize = 4;
}

/// The workloads of `benches/semaphore.rs`.
pub mod semaphore {
    use std::hint::black_box;

    /// Acquire/release pairs per iteration of `uncontended`.
    pub const BATCH: u64 = 10_000;
    /// Threads of `contended`.
    pub const CONTENDED_THREADS: usize = 4;
    /// Permits of `contended`'s semaphore.
    pub const CONTENDED_PERMITS: usize = 2;
    /// Acquire/hold/release rounds per thread per iteration of `contended`.
    pub const ROUNDS_PER_THREAD: u64 = 2_500;
    /// Permits of `acquire_many_under_load`'s semaphore, all taken by each big acquire.
    pub const BIG_PERMITS: usize = 4;
    /// Big acquires per iteration of `acquire_many_under_load`.
    pub const BIG_ROUNDS: u64 = 200;
    /// Single-permit threads of `acquire_many_under_load`.
    pub const SMALL_THREADS: usize = 2;
    /// Multiply-rotate-xor rounds of [`hold`], the work done while holding a permit.
    pub const HOLD_ROUNDS: u64 = 32;
    /// Tasks of `semaphore_async`'s groups.
    pub const ASYNC_TASKS: usize = 8;
    /// Permits of `semaphore_async`'s semaphore.
    pub const ASYNC_PERMITS: usize = 2;
    /// Acquire/hold/yield/release rounds per task per iteration of `semaphore_async`.
    pub const ASYNC_ROUNDS_PER_TASK: u64 = 500;

    /// The work done while holding a permit: [`mix`] of an opaque constant. Its result feeds the
    /// checksum.
    #[inline]
    pub fn hold() -> u64 {
        black_box(mix(black_box(0x2545_F491_4F6C_DD1D)))
    }

    /// A dependent chain of [`HOLD_ROUNDS`] multiply-rotate-xor rounds (about 5 cycles each).
    #[inline]
    pub fn mix(mut x: u64) -> u64 {
        for i in 0..HOLD_ROUNDS {
            x = (x ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
        }
        x
    }

    /// What `rounds` calls of [`hold`] add up to.
    pub fn hold_checksum(rounds: u64) -> u64 {
        rounds.wrapping_mul(hold())
    }
}

/// The workloads of `benches/actor.rs` (actors and scatter-gather).
pub mod actor {
    /// Asks per iteration of the round-trip benchmark.
    pub const ROUND_TRIPS: u64 = 2_000;
    /// Tells per iteration of the throughput benchmark.
    pub const TELLS: u64 = 100_000;
    /// Scatter-gathers per iteration.
    pub const GATHERS: u64 = 500;
}

/// The workloads of `benches/pipeline.rs`.
pub mod pipeline {
    /// Items per iteration.
    pub const ITEMS: u64 = 100_000;
    /// Capacity of every channel between stages.
    pub const CAP: usize = 64;
}

/// The workloads of `benches/rate.rs`.
pub mod rate {
    /// The thread counts of every rate-limiter group (`rate_allow_1t`, `_2t`, `_4t`, ...).
    pub const THREADS: [usize; 3] = [1, 2, 4];
}

/// The workloads of `benches/select.rs`.
pub mod select {
    /// Messages per iteration of `select_2p1c_cap1024` (as the buffered channel workloads).
    pub const CAP1024_MESSAGES: u64 = super::MESSAGES;
    /// Messages per iteration of `select_2p1c_cap1` (as the capacity-1 handoff).
    pub const CAP1_MESSAGES: u64 = super::HANDOFF_MESSAGES;
}
