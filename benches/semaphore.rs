//! `ringfence::Semaphore` side by side with `tokio::sync::Semaphore` and the textbook semaphore
//! (a `Mutex<usize>` and a `Condvar`, written below); each workload is one criterion group, so
//! the ratios come from one run. crossbeam has no semaphore.
//!
//! Workloads (constants at the top of the file):
//!
//! - `semaphore/uncontended`: one thread acquires one permit and drops it, [`BATCH`] times per
//!   iteration, on a semaphore of one permit. ringfence `acquire` and `try_acquire`; tokio
//!   `try_acquire`, and tokio `acquire().await` inside one `block_on` of a current-thread runtime
//!   per batch; the condvar semaphore, textbook (`notify_one` on every release) and counted
//!   (notifies only when a waiter is counted).
//! - `semaphore/contended`: [`CONTENDED_THREADS`] threads share a semaphore of
//!   [`CONTENDED_PERMITS`] permits; each does [`ROUNDS_PER_THREAD`] rounds of acquire, hold
//!   ([`hold`], a few dozen ns of arithmetic), release. Time per acquire (per round, over all
//!   threads' rounds), from the earliest thread's release at the barrier to the latest thread's
//!   finish. 4 threads on a 2-core
//!   machine are oversubscribed. Every peer *blocks* when no permit is free: ringfence `acquire`
//!   (spin, then futex); the condvar semaphores (`Condvar::wait`); tokio through its own fair
//!   (FIFO) async `acquire`, awaited on a current-thread runtime per thread (built before the
//!   barrier), one `block_on` around the thread's whole loop, so the thread parks in the
//!   runtime until a release wakes its task. (Spinning on tokio's `try_acquire` would bypass its
//!   queue and not be tokio's contended path.)
//! - `semaphore/acquire_many_under_load`: one thread does [`BIG_ROUNDS`] rounds of
//!   `acquire_many(`[`BIG_PERMITS`]`)` (every permit of the semaphore), hold, release, while
//!   [`SMALL_THREADS`] threads loop acquire(1), hold, release until it is done (3 threads on
//!   2 cores). Time per big round, on the big thread's clock, started once every small thread
//!   has done a round: the cost of getting all permits past a stream of small acquirers. ringfence (head-of-line: once the big acquirer waits, nobody else takes
//!   permits) and the condvar semaphore (`notify_all`, as waiters want different counts: nothing
//!   stops the small acquirers from taking the permits first, so the big one may starve). The
//!   condvar peer's big acquires wait at most [`STARVE_WAIT`] at a time and each run gives up
//!   after [`STARVE_GIVE_UP`] of such timeouts; the time of a run that gave up is extrapolated
//!   from the rounds it completed. After the group, each peer's small acquires per big acquire,
//!   timeouts and runs given up are printed to stderr.
//!
//! Checks, after the clock stops: every round ran (a checksum of the [`hold`] results), and all
//! permits are back.
//!
//! Run: `cargo bench --bench semaphore` (about 70 s on 2 cores, of which 45 s are criterion's
//! plots; 25 s with `-- --noplot`); `-- --test` for one quick pass (under a second).
#![allow(missing_docs)]

#[path = "common/mod.rs"]
mod common;

use common::on_threads;
use common::semaphore::*;
use criterion::{Criterion, Throughput};
use ringfence::Semaphore;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The condvar semaphore's big acquire waits at most this long at a time.
const STARVE_WAIT: Duration = Duration::from_millis(10);
/// ... and a run gives up after this many such timeouts.
const STARVE_GIVE_UP: u64 = 50;

/// Criterion settings for all groups; command-line flags (`--measurement-time`, ...) override.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1200))
}

// ---------------------------------------------------------------------------------------------
// The textbook semaphore
// ---------------------------------------------------------------------------------------------

/// When a condvar semaphore's release notifies.
#[derive(Clone, Copy, Debug)]
enum Notify {
    /// `notify_one` on every release: the textbook form (as the `std::sync::Semaphore` deprecated
    /// in Rust 1.7). std's futex `Condvar` makes a `futex` call for every notify, waiter or not.
    EveryRelease,
    /// `notify_one` only when a waiter is counted under the mutex.
    IfWaiting,
    /// `notify_all` on every release: needed once waiters want different counts (a `notify_one`
    /// could wake a waiter that still cannot proceed and leave asleep one that could).
    All,
}

struct CondvarState {
    permits: usize,
    waiters: usize,
}

/// A counting semaphore from a `Mutex` and a `Condvar`.
struct CondvarSemaphore {
    state: Mutex<CondvarState>,
    grown: Condvar,
    notify: Notify,
}

struct CondvarPermit<'a> {
    semaphore: &'a CondvarSemaphore,
    permits: usize,
}

impl CondvarSemaphore {
    fn new(permits: usize, notify: Notify) -> Self {
        CondvarSemaphore {
            state: Mutex::new(CondvarState { permits, waiters: 0 }),
            grown: Condvar::new(),
            notify,
        }
    }

    fn lock(&self) -> MutexGuard<'_, CondvarState> {
        self.state.lock().expect("no holder panics")
    }

    fn acquire_many(&self, n: usize) -> CondvarPermit<'_> {
        let mut state = self.lock();
        while state.permits < n {
            state.waiters += 1;
            state = self.grown.wait(state).expect("no holder panics");
            state.waiters -= 1;
        }
        state.permits -= n;
        CondvarPermit { semaphore: self, permits: n }
    }

    fn acquire(&self) -> CondvarPermit<'_> {
        self.acquire_many(1)
    }

    /// `acquire_many`, waiting at most `timeout`.
    fn acquire_many_timeout(&self, n: usize, timeout: Duration) -> Option<CondvarPermit<'_>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while state.permits < n {
            let left = deadline.checked_duration_since(Instant::now())?;
            state.waiters += 1;
            state = self.grown.wait_timeout(state, left).expect("no holder panics").0;
            state.waiters -= 1;
        }
        state.permits -= n;
        Some(CondvarPermit { semaphore: self, permits: n })
    }

    fn release(&self, n: usize) {
        let mut state = self.lock();
        state.permits += n;
        match self.notify {
            Notify::EveryRelease => self.grown.notify_one(),
            Notify::IfWaiting if state.waiters > 0 => self.grown.notify_one(),
            Notify::IfWaiting => {}
            Notify::All => self.grown.notify_all(),
        }
    }

    fn available_permits(&self) -> usize {
        self.lock().permits
    }
}

impl Drop for CondvarPermit<'_> {
    fn drop(&mut self) {
        self.semaphore.release(self.permits);
    }
}

/// The condvar semaphores of `uncontended` and `contended`, by benchmark name.
const CONDVAR_PEERS: [(&str, Notify); 2] =
    [("std_condvar", Notify::EveryRelease), ("std_condvar_counted", Notify::IfWaiting)];

// ---------------------------------------------------------------------------------------------
// Uncontended: one thread, acquire + drop
// ---------------------------------------------------------------------------------------------

/// Times `iters` batches of [`BATCH`] calls of `acquire_release`, which returns whether it got
/// (and dropped) a permit; asserts after the clock stops that every call did.
fn batches(iters: u64, mut acquire_release: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    let mut got = 0u64;
    for _ in 0..iters * BATCH {
        got += u64::from(acquire_release());
    }
    let elapsed = start.elapsed();
    assert_eq!(got, iters * BATCH, "an uncontended acquire failed");
    elapsed
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore/uncontended");
    g.throughput(Throughput::Elements(BATCH));
    {
        let sem = Semaphore::new(1);
        g.bench_function("ringfence_acquire", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    drop(black_box(sem.acquire()));
                    true
                })
            })
        });
        g.bench_function("ringfence_try_acquire", |b| {
            b.iter_custom(|iters| batches(iters, || black_box(sem.try_acquire()).is_some()))
        });
        assert_eq!(sem.available_permits(), 1);
    }
    {
        let sem = tokio::sync::Semaphore::new(1);
        g.bench_function("tokio_try_acquire", |b| {
            b.iter_custom(|iters| batches(iters, || black_box(sem.try_acquire()).is_ok()))
        });
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
        g.bench_function("tokio_acquire_await", |b| {
            b.iter_custom(|iters| {
                // One `block_on` per measurement, so the runtime's enter/exit is not measured.
                rt.block_on(async {
                    let start = Instant::now();
                    let mut got = 0u64;
                    for _ in 0..iters * BATCH {
                        got += u64::from(black_box(sem.acquire().await).is_ok());
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(got, iters * BATCH, "an uncontended acquire failed");
                    elapsed
                })
            })
        });
        assert_eq!(sem.available_permits(), 1);
    }
    for (name, notify) in CONDVAR_PEERS {
        let sem = CondvarSemaphore::new(1, notify);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    drop(black_box(sem.acquire()));
                    true
                })
            })
        });
        assert_eq!(sem.available_permits(), 1);
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Threaded workloads
// ---------------------------------------------------------------------------------------------

/// A blocking semaphore as the threaded workloads use it.
trait Peer: Sync {
    /// `rounds` rounds of acquire `permits` (blocking), [`hold`], release, on this thread; calls
    /// `ready` once, after any per-thread setup and before the first round (`ready` waits at the
    /// barrier and reads the clock). Returns the sum of the [`hold`] results.
    fn rounds(&self, rounds: u64, permits: usize, ready: impl FnOnce()) -> u64;
    /// Rounds of acquire 1, [`hold`], release until `stop` is set, calling `ready` before the
    /// first and `running` after it; returns how many.
    fn rounds_until(&self, stop: &AtomicBool, ready: impl FnOnce(), running: impl FnOnce()) -> u64;
    fn available_permits(&self) -> usize;
}

impl Peer for Semaphore {
    fn rounds(&self, rounds: u64, permits: usize, ready: impl FnOnce()) -> u64 {
        ready();
        let mut sum = 0u64;
        for _ in 0..rounds {
            let permit = self.acquire_many(permits);
            sum = sum.wrapping_add(hold());
            drop(permit);
        }
        sum
    }
    fn rounds_until(&self, stop: &AtomicBool, ready: impl FnOnce(), running: impl FnOnce()) -> u64 {
        ready();
        let permit = self.acquire();
        black_box(hold());
        drop(permit);
        running();
        let mut done = 1;
        while !stop.load(Ordering::Relaxed) {
            let permit = self.acquire();
            black_box(hold());
            drop(permit);
            done += 1;
        }
        done
    }
    fn available_permits(&self) -> usize {
        Semaphore::available_permits(self)
    }
}

impl Peer for CondvarSemaphore {
    fn rounds(&self, rounds: u64, permits: usize, ready: impl FnOnce()) -> u64 {
        ready();
        let mut sum = 0u64;
        for _ in 0..rounds {
            let permit = self.acquire_many(permits);
            sum = sum.wrapping_add(hold());
            drop(permit);
        }
        sum
    }
    fn rounds_until(&self, stop: &AtomicBool, ready: impl FnOnce(), running: impl FnOnce()) -> u64 {
        ready();
        let permit = self.acquire();
        black_box(hold());
        drop(permit);
        running();
        let mut done = 1;
        while !stop.load(Ordering::Relaxed) {
            let permit = self.acquire();
            black_box(hold());
            drop(permit);
            done += 1;
        }
        done
    }
    fn available_permits(&self) -> usize {
        CondvarSemaphore::available_permits(self)
    }
}

impl Peer for tokio::sync::Semaphore {
    fn rounds(&self, rounds: u64, permits: usize, ready: impl FnOnce()) -> u64 {
        let permits = u32::try_from(permits).expect("few permits");
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
        rt.block_on(async {
            ready();
            let mut sum = 0u64;
            for _ in 0..rounds {
                let permit = self.acquire_many(permits).await.expect("never closed");
                sum = sum.wrapping_add(hold());
                drop(permit);
            }
            sum
        })
    }
    fn rounds_until(&self, _stop: &AtomicBool, _ready: impl FnOnce(), _running: impl FnOnce()) -> u64 {
        unreachable!("tokio is not a peer of acquire_many_under_load")
    }
    fn available_permits(&self) -> usize {
        tokio::sync::Semaphore::available_permits(self)
    }
}

/// One measurement of `contended`: every thread does `iters * ROUNDS_PER_THREAD` rounds.
fn contended_run<P: Peer>(sem: &P, iters: u64) -> Duration {
    let rounds = iters * ROUNDS_PER_THREAD;
    let (sums, elapsed) = on_threads(CONTENDED_THREADS, |ready| sem.rounds(rounds, 1, ready));
    for sum in sums {
        assert_eq!(sum, hold_checksum(rounds), "a round was lost");
    }
    assert_eq!(sem.available_permits(), CONTENDED_PERMITS, "a permit was lost");
    elapsed
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore/contended");
    g.throughput(Throughput::Elements(CONTENDED_THREADS as u64 * ROUNDS_PER_THREAD));
    let ringfence = Semaphore::new(CONTENDED_PERMITS);
    g.bench_function("ringfence", |b| b.iter_custom(|iters| contended_run(&ringfence, iters)));
    let tokio = tokio::sync::Semaphore::new(CONTENDED_PERMITS);
    g.bench_function("tokio_acquire_await", |b| b.iter_custom(|iters| contended_run(&tokio, iters)));
    for (name, notify) in CONDVAR_PEERS {
        let sem = CondvarSemaphore::new(CONTENDED_PERMITS, notify);
        g.bench_function(name, |b| b.iter_custom(|iters| contended_run(&sem, iters)));
    }
    g.finish();
}

/// Totals over every run of one peer of `acquire_many_under_load` (warm-up included).
#[derive(Default)]
struct LoadStats {
    big: AtomicU64,
    small: AtomicU64,
    timeouts: AtomicU64,
    gave_up: AtomicU64,
    runs: AtomicU64,
}

impl LoadStats {
    fn report(&self, name: &str) {
        let big = self.big.load(Ordering::Relaxed);
        let small = self.small.load(Ordering::Relaxed);
        eprintln!(
            "acquire_many_under_load/{name}: {big} big acquires, {:.1} small acquires per big one, \
             {} big waits timed out after {STARVE_WAIT:?}, {} of {} runs gave up",
            small as f64 / big.max(1) as f64,
            self.timeouts.load(Ordering::Relaxed),
            self.gave_up.load(Ordering::Relaxed),
            self.runs.load(Ordering::Relaxed),
        );
    }
}

/// One measurement of `acquire_many_under_load`: the calling thread runs `big_rounds` (which
/// calls `ready` once, then does its big rounds and returns how many it completed and their hold
/// checksum) while [`SMALL_THREADS`] threads take single permits until it is done. Returns the
/// big thread's time, extrapolated to `rounds` if it gave up early.
fn load_run<P: Peer>(
    sem: &P,
    rounds: u64,
    stats: &LoadStats,
    big_rounds: impl FnOnce(&mut dyn FnMut()) -> (u64, u64),
) -> Duration {
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(0);
    let barrier = Barrier::new(1 + SMALL_THREADS);
    let (completed, sum, elapsed, small) = thread::scope(|scope| {
        let smalls: Vec<_> = (0..SMALL_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    sem.rounds_until(
                        &stop,
                        || {
                            barrier.wait();
                        },
                        || {
                            running.fetch_add(1, Ordering::Release);
                        },
                    )
                })
            })
            .collect();
        let mut start = None;
        let (completed, sum) = big_rounds(&mut || {
            barrier.wait();
            // The clock starts once every small acquirer has done a round (is on a core).
            while running.load(Ordering::Acquire) < SMALL_THREADS {
                thread::yield_now();
            }
            start = Some(Instant::now());
        });
        let elapsed = start.expect("the big thread called ready").elapsed();
        stop.store(true, Ordering::Relaxed);
        let small: u64 = smalls.into_iter().map(|s| s.join().expect("small acquirer panicked")).sum();
        (completed, sum, elapsed, small)
    });
    assert_eq!(sum, hold_checksum(completed), "a round was lost");
    assert_eq!(sem.available_permits(), BIG_PERMITS, "a permit was lost");
    stats.runs.fetch_add(1, Ordering::Relaxed);
    stats.big.fetch_add(completed, Ordering::Relaxed);
    stats.small.fetch_add(small, Ordering::Relaxed);
    if completed < rounds {
        stats.gave_up.fetch_add(1, Ordering::Relaxed);
        return elapsed.mul_f64(rounds as f64 / completed.max(1) as f64);
    }
    elapsed
}

fn acquire_many_under_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("semaphore/acquire_many_under_load");
    g.throughput(Throughput::Elements(BIG_ROUNDS));
    let ringfence = Semaphore::new(BIG_PERMITS);
    let ringfence_stats = LoadStats::default();
    g.bench_function("ringfence", |b| {
        b.iter_custom(|iters| {
            let rounds = iters * BIG_ROUNDS;
            load_run(&ringfence, rounds, &ringfence_stats, |ready| {
                (rounds, ringfence.rounds(rounds, BIG_PERMITS, ready))
            })
        })
    });
    let condvar = CondvarSemaphore::new(BIG_PERMITS, Notify::All);
    let condvar_stats = LoadStats::default();
    g.bench_function("std_condvar", |b| {
        b.iter_custom(|iters| {
            let rounds = iters * BIG_ROUNDS;
            load_run(&condvar, rounds, &condvar_stats, |ready| {
                ready();
                let (mut completed, mut sum, mut timeouts) = (0u64, 0u64, 0u64);
                while completed < rounds && timeouts < STARVE_GIVE_UP {
                    match condvar.acquire_many_timeout(BIG_PERMITS, STARVE_WAIT) {
                        Some(permit) => {
                            sum = sum.wrapping_add(hold());
                            drop(permit);
                            completed += 1;
                        }
                        None => timeouts += 1,
                    }
                }
                condvar_stats.timeouts.fetch_add(timeouts, Ordering::Relaxed);
                (completed, sum)
            })
        })
    });
    g.finish();
    ringfence_stats.report("ringfence");
    condvar_stats.report("std_condvar");
}

/// Prints the machine's parallelism, the workloads and what one [`hold`] costs (to stderr, so
/// `--list` stays clean).
fn print_setup() {
    let cores = thread::available_parallelism().map_or(0, usize::from);
    let oversubscribed = |threads: usize| if threads > cores { " (oversubscribed)" } else { "" };
    let (start, mut x) = (Instant::now(), 1u64);
    for _ in 0..100_000 {
        x = mix(black_box(x)); // one after another: the latency of a hold, not its throughput
    }
    let hold_ns = start.elapsed().as_nanos() as f64 / 100_000.0;
    black_box(x);
    eprintln!("available parallelism: {cores}; hold: {HOLD_ROUNDS} rounds, about {hold_ns:.1} ns");
    eprintln!("  uncontended: 1 thread, 1 permit, {BATCH} acquire + drop per iteration");
    eprintln!(
        "  contended: {CONTENDED_THREADS} threads{}, {CONTENDED_PERMITS} permits, {ROUNDS_PER_THREAD} rounds per thread per iteration",
        oversubscribed(CONTENDED_THREADS)
    );
    eprintln!(
        "  acquire_many_under_load: 1 thread x acquire_many({BIG_PERMITS}) of {BIG_PERMITS} permits, {BIG_ROUNDS} per iteration, \
         + {SMALL_THREADS} threads x acquire(1){}",
        oversubscribed(1 + SMALL_THREADS)
    );
}

fn main() {
    print_setup();
    let mut criterion = config().configure_from_args();
    uncontended(&mut criterion);
    contended(&mut criterion);
    acquire_many_under_load(&mut criterion);
    criterion.final_summary();
}
