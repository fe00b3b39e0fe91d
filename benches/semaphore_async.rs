//! `ringfence::Semaphore::acquire_async` side by side with the async semaphores of tokio
//! (`tokio::sync::Semaphore::acquire`) and smol (`async_lock::Semaphore::acquire`), all driven
//! by the same tokio runtime; one criterion group per runtime, so the ratios come from one run.
//!
//! Workload (constants in `common/mod.rs`, module `semaphore`): [`ASYNC_TASKS`] tasks share a
//! semaphore of [`ASYNC_PERMITS`] permits; each does [`ASYNC_ROUNDS_PER_TASK`] rounds of
//! acquire, hold ([`hold`], a few dozen ns of arithmetic), `tokio::task::yield_now`, release.
//! The yield while holding is what makes the tasks contend on one thread too: without it a task
//! would always release before another could run, and no acquire would ever wait. So most
//! acquires wait and are woken by a release: the groups measure the async wait cycle (register
//! a waker, be woken, take the permits), not the uncontended fast path (`semaphore/uncontended`).
//!
//! | group | tasks | permits | runtime |
//! |---|---|---|---|
//! | `semaphore/async_contended_current_thread_1t` | 8 | 2 | current-thread |
//! | `semaphore/async_contended_multi_thread_2t` | 8 | 2 | multi-thread, 2 workers |
//!
//! Method (DESIGN.md §4, as `channel_async.rs` does it): the runtime is built once per group,
//! outside every timed region; per iteration the tasks are spawned and meet at a
//! `tokio::sync::Barrier`; each reads the clock as the barrier releases it and again after its
//! last round. The time of an iteration is from the earliest release to the latest finish.
//! Time per acquire: `Throughput::Elements(tasks × rounds)`.
//!
//! After each group, two figures per peer are printed to stderr. Polls per acquire (1.00: no
//! acquire ever waited; each poll past the first follows a wakeup) show what the time pays for:
//! a fair semaphore makes nearly every acquire here wait (and be woken) once, while one that lets
//! a releasing task take the permit back before the woken waiter runs (barging) waits less often.
//! When the first task finished, as a share of the run (mean over runs), shows what barging
//! costs: every task has the same rounds to do, so under a fair semaphore they progress alike and
//! finish together (near 100%), while barging lets some run ahead and finish early.
//!
//! Checks: a holder count (incremented after each acquire, decremented before each release)
//! never exceeds the permits, every round ran (the [`hold`] checksum), and all permits are back.
//! A watchdog (a 5 s `tokio::time::timeout` on the joining future) turns a lost wakeup into a
//! panic instead of a hang.
//!
//! `cargo bench --bench semaphore_async` (add `-- --test` for one quick pass).
#![allow(missing_docs)]

#[path = "common/mod.rs"]
mod common;

use common::semaphore::{ASYNC_PERMITS, ASYNC_ROUNDS_PER_TASK, ASYNC_TASKS, hold, hold_checksum};
use common::tokio_runtime::Flavor;
use criterion::{Criterion, Throughput};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::Barrier;

/// An iteration whose tasks have not all finished after this long is taken for a lost wakeup.
const WATCHDOG: Duration = Duration::from_secs(5);

/// An async semaphore under test: its acquire of one permit, awaited, gives a guard that
/// releases on drop.
trait AsyncSemaphore: Send + Sync + 'static {
    const NAME: &'static str;
    fn new(permits: usize) -> Self;
    fn acquire(&self) -> impl Future<Output = impl Send> + Send + '_;
    fn available_permits(&self) -> usize;
}

struct Ringfence(ringfence::Semaphore);

impl AsyncSemaphore for Ringfence {
    const NAME: &'static str = "ringfence";
    fn new(permits: usize) -> Self {
        Ringfence(ringfence::Semaphore::new(permits))
    }
    fn acquire(&self) -> impl Future<Output = impl Send> + Send + '_ {
        self.0.acquire_async()
    }
    fn available_permits(&self) -> usize {
        self.0.available_permits()
    }
}

struct Tokio(tokio::sync::Semaphore);

impl AsyncSemaphore for Tokio {
    const NAME: &'static str = "tokio";
    fn new(permits: usize) -> Self {
        Tokio(tokio::sync::Semaphore::new(permits))
    }
    async fn acquire(&self) -> impl Send {
        self.0.acquire().await.expect("the semaphore is never closed")
    }
    fn available_permits(&self) -> usize {
        self.0.available_permits()
    }
}

struct AsyncLock(async_lock::Semaphore);

impl AsyncSemaphore for AsyncLock {
    const NAME: &'static str = "async_lock";
    fn new(permits: usize) -> Self {
        AsyncLock(async_lock::Semaphore::new(permits))
    }
    fn acquire(&self) -> impl Future<Output = impl Send> + Send + '_ {
        self.0.acquire()
    }
    fn available_permits(&self) -> usize {
        // async-lock has no getter: count what `try_acquire` can take (nothing holds a permit
        // when this is called).
        let held: Vec<_> = std::iter::from_fn(|| self.0.try_acquire()).collect();
        held.len()
    }
}

/// Awaits `future`, adding its polls to `polls`.
async fn counting_polls<F: Future>(future: F, polls: &mut u64) -> F::Output {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        *polls += 1;
        future.as_mut().poll(cx)
    })
    .await
}

/// What one task did: (release of the barrier, finish, hold checksum, polls of its acquires).
type TaskResult = (Instant, Instant, u64, u64);

/// One task's rounds.
async fn rounds<S: AsyncSemaphore>(
    sem: Arc<S>,
    holders: Arc<AtomicUsize>,
    barrier: Arc<Barrier>,
    rounds: u64,
) -> TaskResult {
    barrier.wait().await;
    let start = Instant::now();
    let (mut sum, mut polls) = (0u64, 0u64);
    for _ in 0..rounds {
        let permit = counting_polls(sem.acquire(), &mut polls).await;
        let before = holders.fetch_add(1, Ordering::Relaxed);
        assert!(before < ASYNC_PERMITS, "more holders than permits");
        sum = sum.wrapping_add(hold());
        tokio::task::yield_now().await;
        holders.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
    }
    (start, Instant::now(), sum, polls)
}

/// One iteration: every task does `rounds` rounds; the time from the earliest start to the latest
/// finish. Adds to `stats`.
fn run_once<S: AsyncSemaphore>(rt: &Runtime, sem: &Arc<S>, rounds_per_task: u64, stats: &Stats) -> Duration {
    rt.block_on(async {
        let holders = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(ASYNC_TASKS));
        let tasks: Vec<_> = (0..ASYNC_TASKS)
            .map(|_| tokio::spawn(rounds(sem.clone(), holders.clone(), barrier.clone(), rounds_per_task)))
            .collect();
        let joined = async {
            let mut results = Vec::with_capacity(tasks.len());
            for task in tasks {
                results.push(task.await.expect("a task panicked"));
            }
            results
        };
        let results = tokio::time::timeout(WATCHDOG, joined)
            .await
            .unwrap_or_else(|_| panic!("{}: the tasks did not finish within {WATCHDOG:?}", S::NAME));
        let start = results.iter().map(|r| r.0).min().expect("tasks ran");
        let end = results.iter().map(|r| r.1).max().expect("tasks ran");
        let first_done = results.iter().map(|r| r.1).min().expect("tasks ran");
        for (_, _, sum, task_polls) in &results {
            assert_eq!(*sum, hold_checksum(rounds_per_task), "{}: a round was lost", S::NAME);
            stats.polls.fetch_add(*task_polls, Ordering::Relaxed);
        }
        let share = (first_done - start).as_secs_f64() / (end - start).as_secs_f64().max(f64::MIN_POSITIVE);
        stats.first_done_ppm.fetch_add((share * 1e6) as u64, Ordering::Relaxed);
        stats.runs.fetch_add(1, Ordering::Relaxed);
        end - start
    })
}

/// Totals over every run of one peer (warm-up included).
#[derive(Default)]
struct Stats {
    runs: AtomicU64,
    /// Polls of every acquire.
    polls: AtomicU64,
    /// When the first task finished, as a share of its run, in millionths, summed over runs.
    first_done_ppm: AtomicU64,
}

impl Stats {
    fn report(&self, group: &str, name: &str) {
        let runs = self.runs.load(Ordering::Relaxed).max(1);
        let acquires = runs * ASYNC_TASKS as u64 * ASYNC_ROUNDS_PER_TASK;
        eprintln!(
            "{group}/{name}: {:.2} polls per acquire; the first task done at {:.0}% of the run",
            self.polls.load(Ordering::Relaxed) as f64 / acquires as f64,
            self.first_done_ppm.load(Ordering::Relaxed) as f64 / runs as f64 / 1e4,
        );
    }
}

/// Adds `S` to `group`; returns its figures.
fn bench<S: AsyncSemaphore>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
) -> Stats {
    let sem = Arc::new(S::new(ASYNC_PERMITS));
    let stats = Stats::default();
    group.bench_function(S::NAME, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_once(rt, &sem, ASYNC_ROUNDS_PER_TASK, &stats)).sum())
    });
    assert_eq!(sem.available_permits(), ASYNC_PERMITS, "{}: a permit was lost", S::NAME);
    stats
}

fn async_contended(c: &mut Criterion) {
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        let rt = flavor.runtime();
        let mut group = c.benchmark_group(format!("semaphore/async_contended_{}", flavor.suffix()));
        group.throughput(Throughput::Elements(ASYNC_TASKS as u64 * ASYNC_ROUNDS_PER_TASK));
        let stats = [
            (Ringfence::NAME, bench::<Ringfence>(&mut group, &rt)),
            (Tokio::NAME, bench::<Tokio>(&mut group, &rt)),
            (AsyncLock::NAME, bench::<AsyncLock>(&mut group, &rt)),
        ];
        group.finish();
        for (name, stats) in stats {
            stats.report(&format!("async_contended_{}", flavor.suffix()), name);
        }
    }
}

fn main() {
    eprintln!(
        "semaphore_async: {ASYNC_TASKS} tasks, {ASYNC_PERMITS} permits, {ASYNC_ROUNDS_PER_TASK} rounds per \
         task per iteration; {} CPUs",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut c = common::config().configure_from_args();
    async_contended(&mut c);
    c.final_summary();
}
