//! Criterion benchmarks: `ringfence::pool` against rayon (`ThreadPool::spawn`, `scope`,
//! `par_iter`), the `threadpool` crate and a thread per task, each workload one criterion group
//! so the ratios come from one run.
//!
//! Every pool has [`THREADS`] workers and is built once per benchmark function, outside the
//! timed region, and reused by all its iterations (its threads are started and idle before the
//! clock starts). Each timed region starts and ends on the calling thread, which is the one that
//! submits and collects (a third thread beside the two workers, as in real use).
//!
//! Groups (workload parameters are the constants below):
//!
//! - `pool/submit_wait_empty`: per-task overhead, fan out then join. A batch of [`BATCH`] tasks
//!   that only return their index: submit all, then wait for all in order. Peers: ringfence
//!   `Pool::submit` + `Task::wait`; rayon `ThreadPool::spawn` and the `threadpool` crate's
//!   `execute`, each with a per-task result channel (`crossbeam_channel::bounded(1)`, what a
//!   user of either writes to get a handle per task: the like-for-like peer of a `Task`) and
//!   with one shared unbounded crossbeam channel for the batch (cheaper: no per-task handle;
//!   results arrive in completion order and are summed); and the fan-out/join written with
//!   scopes (ringfence `Pool::scope`, rayon `ThreadPool::scope`), each task writing its slot.
//! - `pool/submit_wait_one`: latency, one task at a time: submit, wait, repeat. Peers: the same
//!   pools with a per-task `bounded(1)` channel, and `std::thread::spawn` + `join` (one element
//!   per iteration, so the much slower thread-per-task simply runs fewer).
//! - `pool/map_small`: [`MAP_ITEMS`] small tasks ([`small_work`], a chain of [`WORK_ROUNDS`]
//!   multiply-rotate-xor rounds, ~50 ns on a 2-core VM) collected into a `Vec`. Peers: ringfence
//!   `Pool::map` (lazy, in order, default in-flight window of twice the threads, and a
//!   256-item window), `map_unordered`, and `map_slice` over a slice of the inputs (eager: the
//!   workers write the results in place); rayon `into_par_iter().map().collect()` over the range
//!   and `par_iter().map().collect()` over the same slice (work stealing over adaptively split
//!   ranges: one job per many items, not per item); `threadpool` `execute` per
//!   item sending `(index, value)` on one shared channel, reordered into the `Vec` by the
//!   caller; and the sequential loop (the work itself, for scale).
//! - `pool/map_reduce_sum_squares`: the sum of squares of [`SQUARES_N`] `u64`s in a slice
//!   (fine-grained: one multiply per item). Peers: ringfence `Pool::map_reduce` over the
//!   slice's items (each chunk is collected into a `Vec` by the caller), ringfence
//!   `map_reduce_slice` (scoped jobs borrow the chunks), ringfence `map_reduce` over slice
//!   chunks (the caller pre-chunks: one item per job), rayon `par_iter().map().reduce()`, and
//!   the sequential loop.
//! - `pool/map_reduce_word_count`: word count over [`DOCS`] synthetic documents of
//!   [`WORDS_PER_DOC`] words from a [`VOCABULARY`]-word vocabulary (coarse: a `HashMap` per
//!   document). Peers: ringfence `map_reduce` (a map per document, merged), ringfence
//!   `fold_reduce` (one map per chunk), ringfence `map_reduce` over document chunks (the same
//!   fold written by hand), rayon `par_iter().map().reduce()` and `par_iter().fold().reduce()`,
//!   and the sequential loop.
//!
//! Every result is checked after the clock stops: sums against closed forms, ordered outputs
//! against a position-weighted checksum, the word count against the sequential count.
//!
//! `cargo bench --bench pool` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::pool::*;
use criterion::{Criterion, SamplingMode, Throughput};
use rayon::prelude::*;
use ringfence::pool::Pool;
use std::collections::HashMap;
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

/// Criterion settings for all groups; command-line flags (`--measurement-time`, ...) override.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1200))
}

fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().expect("rayon pool")
}

/// `0 + 1 + ... + (n - 1)`: what summing the indices of `n` tasks must give.
fn index_sum(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

// ---------------------------------------------------------------------------------------------
// Per-task overhead
// ---------------------------------------------------------------------------------------------

/// Runs `batch` (`iters` times), which must return the sum of the indices `0..BATCH` it got back.
fn batches(iters: u64, mut batch: impl FnMut() -> u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let sum = batch();
        elapsed += start.elapsed();
        assert_eq!(sum, index_sum(BATCH), "a task's result was lost or duplicated");
    }
    elapsed
}

/// [`batches`] for tasks that write their index into a slot of their own. Before each batch,
/// outside the timed region, every slot is set to `u64::MAX` (no index), and after it each
/// slot must hold its index: a task that never ran, or ran twice into the wrong slot, fails the
/// check. (Reused as they were, the slots kept the previous batch's indices, and a sum over
/// them could not fail after the first batch.)
fn slot_batches(iters: u64, mut batch: impl FnMut(&mut [u64])) -> Duration {
    let mut slots = vec![0u64; BATCH as usize];
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        slots.fill(u64::MAX);
        let start = Instant::now();
        batch(&mut slots);
        elapsed += start.elapsed();
        for (index, &got) in (0..).zip(slots.iter()) {
            assert_eq!(got, index, "the task of slot {index} did not run");
        }
    }
    elapsed
}

fn submit_wait_empty(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool/submit_wait_empty");
    g.throughput(Throughput::Elements(BATCH));
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    let tasks: Vec<_> = (0..BATCH).map(|i| pool.submit(move || black_box(i))).collect();
                    tasks.into_iter().map(|t| t.wait().expect("task ran")).sum()
                })
            })
        });
    }
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence_scope", |b| {
            b.iter_custom(|iters| {
                slot_batches(iters, |slots| {
                    pool.scope(|s| {
                        for (slot, i) in slots.iter_mut().zip(0..) {
                            drop(s.submit(move || *slot = black_box(i)));
                        }
                    });
                })
            })
        });
        g.bench_function("ringfence_scope_spawn", |b| {
            b.iter_custom(|iters| {
                slot_batches(iters, |slots| {
                    pool.scope(|s| {
                        for (slot, i) in slots.iter_mut().zip(0..) {
                            s.spawn(move || *slot = black_box(i));
                        }
                    });
                })
            })
        });
    }
    {
        let pool = rayon_pool();
        g.bench_function("rayon_spawn_oneshot", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    let results: Vec<_> = (0..BATCH)
                        .map(|i| {
                            let (tx, rx) = crossbeam_channel::bounded(1);
                            pool.spawn(move || {
                                let _ = tx.send(black_box(i));
                            });
                            rx
                        })
                        .collect();
                    results.into_iter().map(|rx| rx.recv().expect("task ran")).sum()
                })
            })
        });
        g.bench_function("rayon_spawn_shared", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    for i in 0..BATCH {
                        let tx = tx.clone();
                        pool.spawn(move || {
                            let _ = tx.send(black_box(i));
                        });
                    }
                    drop(tx);
                    rx.iter().sum()
                })
            })
        });
        g.bench_function("rayon_scope", |b| {
            b.iter_custom(|iters| {
                slot_batches(iters, |slots| {
                    pool.scope(|s| {
                        for (slot, i) in slots.iter_mut().zip(0..) {
                            s.spawn(move |_| *slot = black_box(i));
                        }
                    });
                })
            })
        });
    }
    {
        let pool = threadpool::ThreadPool::new(THREADS);
        g.bench_function("threadpool_oneshot", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    let results: Vec<_> = (0..BATCH)
                        .map(|i| {
                            let (tx, rx) = crossbeam_channel::bounded(1);
                            pool.execute(move || {
                                let _ = tx.send(black_box(i));
                            });
                            rx
                        })
                        .collect();
                    results.into_iter().map(|rx| rx.recv().expect("task ran")).sum()
                })
            })
        });
        g.bench_function("threadpool_shared", |b| {
            b.iter_custom(|iters| {
                batches(iters, || {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    for i in 0..BATCH {
                        let tx = tx.clone();
                        pool.execute(move || {
                            let _ = tx.send(black_box(i));
                        });
                    }
                    drop(tx);
                    rx.iter().sum()
                })
            })
        });
    }
    g.finish();
}

/// Runs `iters` one-at-a-time round trips through `round_trip` (submit index `i`, wait, return
/// what came back) and checks the sum.
fn one_at_a_time(iters: u64, mut round_trip: impl FnMut(u64) -> u64) -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for i in 0..iters {
        sum = sum.wrapping_add(round_trip(i));
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, index_sum(iters), "a task's result was lost or changed");
    elapsed
}

fn submit_wait_one(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool/submit_wait_one");
    g.throughput(Throughput::Elements(1));
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence", |b| {
            b.iter_custom(|iters| {
                one_at_a_time(iters, |i| pool.submit(move || black_box(i)).wait().expect("task ran"))
            })
        });
    }
    {
        let pool = rayon_pool();
        g.bench_function("rayon_spawn_oneshot", |b| {
            b.iter_custom(|iters| {
                one_at_a_time(iters, |i| {
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    pool.spawn(move || {
                        let _ = tx.send(black_box(i));
                    });
                    rx.recv().expect("task ran")
                })
            })
        });
    }
    {
        let pool = threadpool::ThreadPool::new(THREADS);
        g.bench_function("threadpool_oneshot", |b| {
            b.iter_custom(|iters| {
                one_at_a_time(iters, |i| {
                    let (tx, rx) = crossbeam_channel::bounded(1);
                    pool.execute(move || {
                        let _ = tx.send(black_box(i));
                    });
                    rx.recv().expect("task ran")
                })
            })
        });
    }
    g.bench_function("thread_per_task", |b| {
        b.iter_custom(|iters| {
            one_at_a_time(iters, |i| thread::spawn(move || black_box(i)).join().expect("thread ran"))
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// map over small tasks
// ---------------------------------------------------------------------------------------------

/// About 150 cycles of dependent arithmetic (~50 ns): the "small task" of `map_small`.
#[inline]
fn small_work(x: u64) -> u64 {
    let mut h = x;
    for _ in 0..black_box(WORK_ROUNDS) {
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ x;
    }
    h
}

/// A checksum of the results in order: a reordered or lost value changes it.
fn ordered_checksum(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().zip(1u64..).fold(0u64, |acc, (v, pos)| acc.wrapping_add(v.wrapping_mul(pos)))
}

/// A checksum of the results in any order.
fn unordered_checksum(values: impl IntoIterator<Item = u64>) -> u64 {
    values.into_iter().fold(0u64, u64::wrapping_add)
}

/// Runs `map` (`iters` times), which must return [`small_work`] of `0..MAP_ITEMS` in order.
fn ordered_maps(iters: u64, expected: u64, mut map: impl FnMut() -> Vec<u64>) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let out = map();
        elapsed += start.elapsed();
        assert_eq!(out.len() as u64, MAP_ITEMS);
        assert_eq!(ordered_checksum(out), expected, "map results lost or out of order");
    }
    elapsed
}

fn map_small(c: &mut Criterion) {
    let ordered = ordered_checksum((0..MAP_ITEMS).map(small_work));
    let unordered = unordered_checksum((0..MAP_ITEMS).map(small_work));
    let inputs: Vec<u64> = (0..MAP_ITEMS).collect();
    let mut g = c.benchmark_group("pool/map_small");
    g.throughput(Throughput::Elements(MAP_ITEMS));
    g.sampling_mode(SamplingMode::Flat);
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence_map", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || {
                    pool.map(0..MAP_ITEMS, small_work).collect::<Result<_, _>>().expect("map ran")
                })
            })
        });
        g.bench_function("ringfence_map_in_flight_256", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || {
                    pool.map(0..MAP_ITEMS, small_work)
                        .in_flight(WIDE_IN_FLIGHT)
                        .collect::<Result<_, _>>()
                        .expect("map ran")
                })
            })
        });
        g.bench_function("ringfence_map_slice", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || pool.map_slice(&inputs, |&i| small_work(i)).expect("map ran"))
            })
        });
        g.bench_function("ringfence_map_unordered", |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let out: Vec<u64> = pool
                        .map_unordered(0..MAP_ITEMS, small_work)
                        .collect::<Result<_, _>>()
                        .expect("map ran");
                    elapsed += start.elapsed();
                    assert_eq!(out.len() as u64, MAP_ITEMS);
                    assert_eq!(unordered_checksum(out), unordered, "map results lost");
                }
                elapsed
            })
        });
    }
    {
        let pool = rayon_pool();
        g.bench_function("rayon_par_iter", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || {
                    pool.install(|| (0..MAP_ITEMS).into_par_iter().map(small_work).collect())
                })
            })
        });
        g.bench_function("rayon_par_iter_slice", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || {
                    pool.install(|| inputs.par_iter().map(|&i| small_work(i)).collect())
                })
            })
        });
    }
    {
        let pool = threadpool::ThreadPool::new(THREADS);
        g.bench_function("threadpool_execute_reorder", |b| {
            b.iter_custom(|iters| {
                ordered_maps(iters, ordered, || {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    for i in 0..MAP_ITEMS {
                        let tx = tx.clone();
                        pool.execute(move || {
                            let _ = tx.send((i, small_work(i)));
                        });
                    }
                    drop(tx);
                    let mut out = vec![0u64; MAP_ITEMS as usize];
                    for (i, value) in rx {
                        out[i as usize] = value;
                    }
                    out
                })
            })
        });
    }
    g.bench_function("sequential", |b| {
        b.iter_custom(|iters| ordered_maps(iters, ordered, || (0..MAP_ITEMS).map(small_work).collect()))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// map-reduce
// ---------------------------------------------------------------------------------------------

/// Runs `run` (`iters` times) and checks each result with `check` after the clock stops.
fn timed<T>(iters: u64, mut run: impl FnMut() -> T, mut check: impl FnMut(T)) -> Duration {
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let out = run();
        elapsed += start.elapsed();
        check(out);
    }
    elapsed
}

fn map_reduce_sum_squares(c: &mut Criterion) {
    // A 'static input, so ringfence's `'static` jobs and rayon both borrow the same slice.
    let data: &'static [u64] = Vec::leak((1..=SQUARES_N).collect());
    let n = u128::from(SQUARES_N);
    let expected = (n * (n + 1) * (2 * n + 1) / 6) as u64; // < 2^64 for this n
    let check = |sum: Option<u64>| assert_eq!(sum, Some(expected), "wrong sum of squares");
    let chunk = data.len().div_ceil(THREADS * CHUNKS_PER_THREAD);

    let mut g = c.benchmark_group("pool/map_reduce_sum_squares");
    g.throughput(Throughput::Elements(SQUARES_N));
    g.sampling_mode(SamplingMode::Flat);
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence_map_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || pool.map_reduce(data.iter(), |&x| x * x, u64::wrapping_add).expect("no panic"),
                    check,
                )
            })
        });
        g.bench_function("ringfence_map_reduce_slice", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || pool.map_reduce_slice(data, |&x| x * x, |a, b| a.wrapping_add(b)).expect("no panic"),
                    check,
                )
            })
        });
        g.bench_function("ringfence_map_reduce_slice_chunks", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        pool.map_reduce(
                            data.chunks(chunk),
                            |part| part.iter().map(|&x| x * x).fold(0u64, u64::wrapping_add),
                            u64::wrapping_add,
                        )
                        .expect("no panic")
                    },
                    check,
                )
            })
        });
    }
    {
        let pool = rayon_pool();
        g.bench_function("rayon_map_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || Some(pool.install(|| data.par_iter().map(|&x| x * x).reduce(|| 0, u64::wrapping_add))),
                    check,
                )
            })
        });
    }
    g.bench_function("sequential", |b| {
        b.iter_custom(|iters| {
            timed(iters, || Some(black_box(data).iter().map(|&x| x * x).fold(0u64, u64::wrapping_add)), check)
        })
    });
    g.finish();
}

/// Word counts.
type Counts = HashMap<&'static str, u64>;

/// `DOCS` documents of `WORDS_PER_DOC` words each, drawn (skewed towards the first words, as in
/// text) from a vocabulary of `VOCABULARY` made-up words of 2 to 9 letters.
fn documents() -> Vec<String> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let vocabulary: Vec<String> = (0..VOCABULARY)
        .map(|_| {
            let len = 2 + (next() % 8) as usize;
            (0..len).map(|_| char::from(b'a' + (next() % 26) as u8)).collect()
        })
        .collect();
    (0..DOCS)
        .map(|_| {
            let words: Vec<&str> = (0..WORDS_PER_DOC)
                .map(|_| {
                    let word = ((next() % VOCABULARY as u64).min(next() % VOCABULARY as u64)) as usize;
                    vocabulary[word].as_str()
                })
                .collect();
            words.join(" ")
        })
        .collect()
}

/// Adds the words of `doc` to `counts`.
fn add_words(counts: &mut Counts, doc: &'static str) {
    for word in doc.split_ascii_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
}

/// The word count of one document.
fn count_words(doc: &'static str) -> Counts {
    let mut counts = Counts::new();
    add_words(&mut counts, doc);
    counts
}

/// Merges two counts (the smaller into the larger).
fn merge(mut a: Counts, mut b: Counts) -> Counts {
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    for (word, n) in b {
        *a.entry(word).or_insert(0) += n;
    }
    a
}

fn map_reduce_word_count(c: &mut Criterion) {
    let docs: &'static [&'static str] =
        Vec::leak(Vec::leak(documents()).iter().map(String::as_str).collect::<Vec<_>>());
    let expected = {
        let mut counts = Counts::new();
        for doc in docs {
            add_words(&mut counts, doc);
        }
        assert_eq!(counts.values().sum::<u64>(), (DOCS * WORDS_PER_DOC) as u64);
        counts
    };
    let check = |counts: Option<Counts>| assert!(counts.as_ref() == Some(&expected), "wrong word count");
    let chunk = docs.len().div_ceil(THREADS * CHUNKS_PER_THREAD);

    let mut g = c.benchmark_group("pool/map_reduce_word_count");
    g.throughput(Throughput::Elements(DOCS as u64));
    g.sampling_mode(SamplingMode::Flat);
    {
        let pool = Pool::new(THREADS);
        g.bench_function("ringfence_map_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || pool.map_reduce(docs.iter().copied(), count_words, merge).expect("no panic"),
                    check,
                )
            })
        });
        g.bench_function("ringfence_fold_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        let counts = pool
                            .fold_reduce(
                                docs.iter().copied(),
                                Counts::new,
                                |mut counts, doc| {
                                    add_words(&mut counts, doc);
                                    counts
                                },
                                merge,
                            )
                            .expect("no panic");
                        Some(counts)
                    },
                    check,
                )
            })
        });
        g.bench_function("ringfence_map_reduce_doc_chunks", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        pool.map_reduce(
                            docs.chunks(chunk),
                            |part| {
                                let mut counts = Counts::new();
                                for doc in part {
                                    add_words(&mut counts, doc);
                                }
                                counts
                            },
                            merge,
                        )
                        .expect("no panic")
                    },
                    check,
                )
            })
        });
    }
    {
        let pool = rayon_pool();
        g.bench_function("rayon_map_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        Some(pool.install(|| {
                            docs.par_iter().map(|&doc| count_words(doc)).reduce(Counts::new, merge)
                        }))
                    },
                    check,
                )
            })
        });
        g.bench_function("rayon_fold_reduce", |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        Some(pool.install(|| {
                            docs.par_iter()
                                .fold(Counts::new, |mut counts, &doc| {
                                    add_words(&mut counts, doc);
                                    counts
                                })
                                .reduce(Counts::new, merge)
                        }))
                    },
                    check,
                )
            })
        });
    }
    g.bench_function("sequential", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                || {
                    let mut counts = Counts::new();
                    for &doc in black_box(docs) {
                        add_words(&mut counts, doc);
                    }
                    Some(counts)
                },
                check,
            )
        })
    });
    g.finish();
}

/// Prints the machine's parallelism and the workloads (to stderr, so `--list` stays clean).
fn print_setup() {
    let cores = thread::available_parallelism().map_or(0, usize::from);
    eprintln!("available parallelism: {cores}; every pool: {THREADS} worker threads + the calling thread");
    eprintln!("  submit_wait_empty: batches of {BATCH} empty tasks (submit all, wait all)");
    eprintln!("  submit_wait_one: one task at a time (submit, wait)");
    eprintln!("  map_small: {MAP_ITEMS} items of {WORK_ROUNDS} multiply-rotate-xor rounds");
    eprintln!("  map_reduce_sum_squares: {SQUARES_N} u64 in a slice");
    eprintln!("  map_reduce_word_count: {DOCS} documents x {WORDS_PER_DOC} words, vocabulary {VOCABULARY}");
}

fn main() {
    print_setup();
    let mut criterion = config().configure_from_args();
    submit_wait_empty(&mut criterion);
    submit_wait_one(&mut criterion);
    map_small(&mut criterion);
    map_reduce_sum_squares(&mut criterion);
    map_reduce_word_count(&mut criterion);
    criterion.final_summary();
}
