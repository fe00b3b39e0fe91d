#![cfg(not(loom))]
//! Integration tests of `ringfence::pipeline`: order, errors and panics (first one returned,
//! in-flight items drained, every failure counted), nothing pulled and lost (iterator and
//! receiver sources), early shutdown by dropping the sink, no hang with an idle producer or a
//! panicking `for_each`, the report, drop counting, builder misuse, and a stress run with more
//! threads than cores.

mod async_util;
mod common;

use common::{DropCounter, WATCHDOG, within};
use ringfence::channel::bounded;
use ringfence::pipeline::{DEFAULT_ORDER_WINDOW, Pipeline, PipelineError, Report, StageError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a scenario that must end may run before the test calls it a hang (a watchdog,
/// not a timing assertion: these runs take milliseconds).
const HANG: Duration = Duration::from_secs(10);

/// Asserts that every stage counted each item it took exactly once.
fn assert_every_item_counted(report: &Report) {
    for stage in &report.stages {
        assert_eq!(
            stage.items_in,
            stage.items_out + stage.filtered + stage.failed + stage.discarded,
            "stage `{}`: in = out + filtered + failed + discarded",
            stage.name
        );
    }
}

/// From a user's review: a log pipeline that skips malformed lines without stopping the run
/// (`filter_map_stage`) and keeps only some records (`filter_stage`), on several workers,
/// ordered and not: every line is delivered, filtered (counted per stage) or neither, exactly
/// once.
#[test]
fn filter_stages_skip_items_count_them_and_keep_the_order() {
    for ordered in [false, true] {
        let lines: Vec<String> =
            (0..10_000u32).map(|n| if n % 97 == 0 { format!("bad {n}") } else { n.to_string() }).collect();
        let mut pipeline = Pipeline::from_iter(lines)
            .filter_map_stage("parse", |line: String| line.parse::<u32>().ok())
            .workers(3)
            .filter_stage("odd", |n: &u32| n % 2 == 1)
            .workers(2);
        if ordered {
            pipeline = pipeline.ordered();
        }
        let (mut out, report) = pipeline.collect().unwrap();
        assert_every_item_counted(&report);
        let expected: Vec<u32> = (0..10_000).filter(|n| n % 97 != 0 && n % 2 == 1).collect();
        if !ordered {
            out.sort_unstable();
        }
        assert_eq!(out, expected, "ordered: {ordered}");
        let bad = (0..10_000u32).filter(|n| n % 97 == 0).count() as u64;
        assert_eq!(report.stages[1].filtered, bad);
        assert_eq!(report.stages[2].filtered, 10_000 - bad - expected.len() as u64);
        assert_eq!(report.filtered(), 10_000 - expected.len() as u64);
        assert!(report.to_string().contains("filtered"));
    }
}

#[test]
fn ordered_output_keeps_source_order_across_many_workers() {
    within(WATCHDOG, || {
        let (out, report) = Pipeline::from_iter(0..20_000u64)
            .stage("a", |x| x + 1)
            .workers(3)
            .stage("b", |x| {
                if x % 97 == 0 {
                    std::thread::sleep(Duration::from_micros(50)); // make workers overtake
                }
                x * 2
            })
            .workers(4)
            .ordered()
            .collect()
            .unwrap();
        assert_eq!(out, (0..20_000u64).map(|x| (x + 1) * 2).collect::<Vec<_>>());
        assert_eq!(
            report.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["source", "a", "b", "sink"]
        );
        assert_eq!(report.stages[1].items_in, 20_000);
        assert_eq!(report.stages[2].items_out, 20_000);
        assert_eq!(report.stages[3].items_in, 20_000);
    });
}

#[test]
fn unordered_output_has_every_item_once() {
    let (mut out, _) = Pipeline::from_iter(0..5000u32).stage("id", |x| x).workers(4).collect().unwrap();
    out.sort_unstable();
    assert_eq!(out, (0..5000).collect::<Vec<_>>());
}

#[derive(Debug)]
struct BadRecord(u32);
impl std::fmt::Display for BadRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad record {}", self.0)
    }
}
impl std::error::Error for BadRecord {}

/// The partial output of a run of `0..10_000` doubled, whose item 5000 failed: everything
/// before the failure was drained to the sink, in order, nothing dropped.
fn assert_drained_in_order_past_5000(partial: Vec<u32>) {
    assert!(partial.len() >= 5000, "items before the error all arrive: {}", partial.len());
    assert!(
        partial.iter().enumerate().all(|(i, &x)| x == 2 * if i < 5000 { i as u32 } else { i as u32 + 1 })
    );
}

#[test]
fn the_first_error_is_returned_with_the_drained_output() {
    within(WATCHDOG, || {
        let err = Pipeline::from_iter(0..10_000u32)
            .try_stage("validate", |x| if x == 5000 { Err(BadRecord(x)) } else { Ok(x) })
            .workers(2)
            .stage("double", |x| x * 2)
            .ordered()
            .collect()
            .unwrap_err();
        assert_eq!(err.stage, "validate");
        assert!(!err.is_panic());
        assert_eq!(err.to_string(), "pipeline stage `validate` failed: bad record 5000");
        let StageError::Failed(boxed) = &err.error else { panic!("expected a failure") };
        assert_eq!(boxed.downcast_ref::<BadRecord>().unwrap().0, 5000);
        assert_drained_in_order_past_5000(err.into_partial());
    });
}

#[test]
fn a_panicking_stage_is_reported_like_an_error() {
    within(WATCHDOG, || {
        let err = Pipeline::from_iter(0..100u32)
            .stage("explode", |x| if x == 42 { panic!("boom at {}", x) } else { x })
            .collect()
            .unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.stage, "explode");
        assert_eq!(err.to_string(), "pipeline stage `explode` failed: panicked: boom at 42");
    });
}

#[test]
fn dropping_the_receiver_stops_an_endless_pipeline() {
    within(WATCHDOG, || {
        let (rx, running) = Pipeline::from_iter(0u64..)
            .stage("a", |x| x + 1)
            .workers(2)
            .stage("b", |x| x * 3)
            .into_receiver(4);
        let first: Vec<u64> = rx.iter().take(100).collect();
        assert_eq!(first.len(), 100);
        drop(rx);
        let report = running.join().unwrap();
        assert!(report.stages[0].items_out >= 100);
    });
}

#[test]
fn a_receiver_source_runs_until_its_senders_are_gone() {
    let (tx, rx) = bounded(4);
    let producer = std::thread::spawn(move || {
        for i in 0..1000u64 {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0;
    let report = Pipeline::from_receiver(rx).stage("inc", |x| x + 1).for_each(|x| sum += x).unwrap();
    producer.join().unwrap();
    assert_eq!(sum, 1000 * 1001 / 2);
    assert_eq!(report.stages[1].items_out, 1000);
}

#[test]
fn the_report_names_the_slow_stage_as_the_bottleneck() {
    let (_, report) = Pipeline::from_iter(0..200u32)
        .stage("fast", |x| x)
        .stage("slow", |x| {
            std::thread::sleep(Duration::from_micros(200));
            x
        })
        .collect()
        .unwrap();
    assert_eq!(report.bottleneck().unwrap().name, "slow");
    assert!(report.stages[2].busy >= Duration::from_millis(30));
    let table = report.to_string();
    assert!(table.contains("slow") && table.contains("waiting") && table.contains("failed"), "{table}");
}

#[test]
fn nothing_is_lost_leaked_or_dropped_twice_even_after_an_error() {
    let counter = DropCounter::new();
    let c = counter.clone();
    // The source makes each item as it pulls it: `created` counts the pulls.
    let items = (0..3000u64).map(move |i| c.make(i));
    let result = Pipeline::from_iter(items)
        .try_stage("check", |t| if t.id == 1500 { Err("bad") } else { Ok(t) })
        .workers(3)
        .stage("pass", |t| t)
        .workers(2)
        .capacity(0)
        .collect();
    assert_one_failure_and_nothing_lost(result, &counter);
}

/// A run over 3000 counted items whose item 1500 failed: one failure, every item pulled
/// delivered or failed (none pulled and then thrown away), each dropped exactly once.
fn assert_one_failure_and_nothing_lost<T>(
    result: Result<(Vec<T>, Report), PipelineError<Vec<T>>>,
    counter: &DropCounter,
) {
    let Err(err) = result else { panic!("the check fails at item 1500") };
    assert_eq!(err.report.failed(), 1);
    let partial = err.into_partial();
    let delivered = partial.len();
    assert_eq!(counter.created(), delivered + 1, "pulled = delivered + failed");
    drop(partial);
    assert_eq!(counter.live(), 0, "every item made was dropped exactly once ({delivered} delivered)");
}

#[test]
#[should_panic(expected = "Pipeline::workers: a stage needs at least one worker")]
fn zero_workers_panics_clearly() {
    let _ = Pipeline::from_iter(0..1).stage("x", |x| x).workers(0);
}

/// Items through the stress pipeline.
const STRESS_ITEMS: u64 = 200_000;

#[test]
fn stress_three_stages_more_threads_than_cores() {
    within(WATCHDOG, || {
        let mut sum = 0u64;
        let report = Pipeline::from_iter(0..STRESS_ITEMS)
            .stage("a", |x| x ^ 0x5555)
            .workers(3)
            .capacity(8)
            .stage("b", |x| x ^ 0x5555)
            .workers(3)
            .capacity(8)
            .stage("c", |x| x + 1)
            .workers(3)
            .capacity(8)
            .for_each(|x| sum += x)
            .unwrap();
        assert_eq!(sum, STRESS_ITEMS * (STRESS_ITEMS + 1) / 2);
        assert_eq!(report.stages[3].items_out, STRESS_ITEMS);
    });
}

#[test]
fn every_item_pulled_is_delivered_or_counted_as_failed() {
    within(WATCHDOG, || {
        let pulled = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&pulled);
        // Endless: the source is always ready to pull when the failure stops it.
        let source = (0u64..).inspect(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let err = Pipeline::from_iter(source)
            .try_stage("check", |x| if x == 1000 { Err("bad") } else { Ok(x) })
            .workers(3)
            .stage("pass", |x| x)
            .workers(2)
            .capacity(0)
            .collect()
            .unwrap_err();
        // The pipeline's threads are joined: the counter is final.
        let pulled = pulled.load(Ordering::Relaxed);
        assert_eq!(pulled, err.partial.len() as u64 + err.report.failed(), "pulled = delivered + failed");
        assert_eq!(err.report.stages[0].items_in, pulled, "the source reports what it pulled");
        assert_every_item_counted(&err.report);
    });
}

#[test]
fn a_receiver_source_takes_nothing_after_an_error() {
    within(HANG, || {
        let (tx, rx) = bounded(128);
        let kept = rx.clone();
        for i in 0..100u64 {
            tx.send(i).unwrap();
        }
        let err = Pipeline::from_receiver(rx)
            .try_stage("check", |x| if x == 10 { Err("bad") } else { Ok(x) })
            .capacity(1)
            .collect()
            .unwrap_err();
        assert_eq!(err.report.failed(), 1);
        // Each message is delivered, failed (10), or still in the channel: exactly once.
        let left: Vec<u64> = kept.try_iter().collect();
        assert!(!left.is_empty(), "a capacity of 1 keeps the source far behind the producer");
        let mut seen: Vec<u64> = err.partial.iter().copied().chain([10]).chain(left).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        drop(tx);
    });
}

#[test]
fn an_error_ends_the_run_while_the_producer_is_idle() {
    within(HANG, || {
        let (tx, rx) = bounded(16);
        let kept = rx.clone();
        for i in 0..=10u64 {
            tx.send(i).unwrap();
        }
        // `tx` stays alive and sends nothing more: the source must not wait for it.
        let err = Pipeline::from_receiver(rx)
            .try_stage("check", |x| if x == 10 { Err("bad") } else { Ok(x) })
            .collect()
            .unwrap_err();
        assert_eq!(err.stage, "check");
        assert_eq!(err.partial, (0..10).collect::<Vec<_>>());
        assert_every_item_counted(&err.report);
        // The run is over and took nothing more: a later message stays for the user.
        tx.send(11).unwrap();
        assert_eq!(kept.try_recv(), Ok(11));
    });
}

#[test]
fn dropping_the_receiver_stops_a_pipeline_fed_by_an_idle_producer() {
    within(HANG, || {
        let (tx, rx) = bounded(16);
        let kept = rx.clone();
        for i in 0..3u64 {
            tx.send(i).unwrap();
        }
        let (out, running) = Pipeline::from_receiver(rx).stage("inc", |x| x + 1).into_receiver(4);
        assert_eq!(out.iter().take(3).collect::<Vec<_>>(), [1, 2, 3]);
        // Nothing moves any more: the source waits on `tx`, which stays alive and idle.
        drop(out);
        let report = running.join().unwrap();
        assert_eq!(report.stages[0].items_in, 3);
        assert_eq!(report.stages.last().unwrap().items_out, 3);
        assert_every_item_counted(&report);
        tx.send(4).unwrap();
        assert_eq!(kept.try_recv(), Ok(4), "the stopped source takes nothing more");
    });
}

/// An endless source that counts its pulls and reports when it is dropped (its thread ended).
struct Endless {
    next: u64,
    pulled: Arc<AtomicU64>,
    dropped: std::sync::mpsc::Sender<()>,
}

impl Iterator for Endless {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        self.pulled.fetch_add(1, Ordering::SeqCst);
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}

#[test]
fn a_panicking_for_each_in_an_ordered_run_returns_an_error() {
    within(HANG * 2, || {
        let pulled = Arc::new(AtomicU64::new(0));
        let (dropped_tx, dropped_rx) = std::sync::mpsc::channel();
        let source = Endless { next: 0, pulled: Arc::clone(&pulled), dropped: dropped_tx };
        let window = DEFAULT_ORDER_WINDOW as u64;
        let outcome = std::panic::catch_unwind(move || {
            Pipeline::from_iter(source)
                .stage("hold-one", move |x| {
                    // Hold item 1 until the source has used up the order window (the other
                    // worker fills the reorder buffer): the source then waits for permits
                    // that only the sink gives back.
                    if x == 1 {
                        while pulled.load(Ordering::SeqCst) <= window {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                    x
                })
                .workers(2)
                .ordered()
                .for_each(|x| assert_ne!(x, 1, "the sink fails on item 1"))
        });
        // The source thread ended (it dropped its iterator): it was not left waiting.
        dropped_rx.recv_timeout(HANG).expect("the source thread ends after the sink's panic");
        let err = outcome.expect("for_each returns the panic as an error").unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.stage, "sink");
        assert!(err.to_string().contains("the sink fails on item 1"), "{err}");
        let sink = err.report.stages.last().unwrap();
        assert_eq!(sink.failed, 1);
        assert_every_item_counted(&err.report);
    });
}

#[test]
fn every_failure_is_counted_not_only_the_first() {
    within(WATCHDOG, || {
        const ITEMS: u64 = 100;
        let pulled = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&pulled);
        let source = (0..ITEMS).inspect(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let err = Pipeline::from_iter(source)
            .try_stage("even", move |x| {
                // Start failing only once the source has pulled everything (the channel holds
                // it all), so every item is in flight and every failure happens.
                while pulled.load(Ordering::SeqCst) < ITEMS {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if x % 2 == 0 { Ok(x) } else { Err(format!("{x} is odd")) }
            })
            .capacity(ITEMS as usize)
            .workers(3)
            .stage("explode", |x| if x % 10 == 0 { panic!("boom at {x}") } else { x })
            .collect()
            .unwrap_err();
        let [source, even, explode, sink] = &err.report.stages[..] else { panic!("four stages") };
        assert_eq!(source.items_in, ITEMS);
        assert_eq!((even.items_in, even.items_out, even.failed), (ITEMS, 50, 50));
        assert_eq!((explode.items_in, explode.items_out, explode.failed), (50, 40, 10));
        assert_eq!((sink.items_in, sink.items_out), (40, 40));
        assert_eq!(err.report.failed(), 60);
        assert_eq!(err.partial.len(), 40);
        assert_every_item_counted(&err.report);
    });
}

#[test]
#[should_panic(expected = "Pipeline::workers: call .stage(...) first: the source has no workers")]
fn workers_before_any_stage_panics_clearly() {
    let _ = Pipeline::from_iter(0..1).workers(4);
}

#[test]
#[should_panic(expected = "Pipeline::capacity: call .stage(...) first: the source has no input channel")]
fn capacity_before_any_stage_panics_clearly() {
    let _ = Pipeline::from_iter(0..1).capacity(4);
}

/// An async consumer: the output awaited with `recv_async` and the end with `join_async`, both
/// at once on a current-thread runtime: a join that blocked the only thread would stop the
/// consumer, and the run (1000 items through a capacity of 8) could never end.
#[test]
fn join_async_reports_the_end_of_a_run_consumed_by_a_task() {
    within(WATCHDOG, || {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (sum, report) = rt.block_on(async {
            let (rx, running) =
                Pipeline::from_iter(1..=1000u64).stage("square", |x| x * x).workers(2).into_receiver(8);
            let consume = async move {
                let mut sum = 0;
                while let Ok(x) = rx.recv_async().await {
                    sum += x;
                }
                sum
            };
            let (sum, report) = tokio::join!(consume, running.join_async());
            (sum, report.unwrap())
        });
        assert_eq!(sum, (1..=1000u64).map(|x| x * x).sum::<u64>());
        assert_every_item_counted(&report);
        assert_eq!(report.stages[1].items_out, 1000);
    });
}

#[test]
fn join_async_returns_the_first_failure() {
    within(WATCHDOG, || {
        let (rx, running) = Pipeline::from_iter(0..100u32)
            .try_stage("validate", |x| if x == 50 { Err(BadRecord(x)) } else { Ok(x) })
            .into_receiver(4);
        let received: Vec<u32> = rx.iter().collect();
        let err = async_util::block_on(running.join_async()).unwrap_err();
        assert_eq!(
            (err.stage.as_str(), err.to_string().as_str()),
            ("validate", "pipeline stage `validate` failed: bad record 50")
        );
        assert!(!received.contains(&50), "the failed item was not delivered");
    });
}

#[test]
fn join_future_is_send_sync_and_unpin() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<ringfence::pipeline::JoinFuture>();
}

/// `collect_async` on a current-thread runtime: the same ordered output as `collect`.
#[test]
fn collect_async_returns_the_ordered_output_and_the_report() {
    within(WATCHDOG, || {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (out, report) = rt
            .block_on(
                Pipeline::from_iter(0..5000u64)
                    .stage("triple", |x| x * 3)
                    .workers(3)
                    .ordered()
                    .collect_async(),
            )
            .unwrap();
        assert_eq!(out, (0..5000u64).map(|x| x * 3).collect::<Vec<_>>());
        assert_every_item_counted(&report);
        assert_eq!(
            report.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["source", "triple", "sink"]
        );
        assert_eq!(report.stages[2].items_out, 5000);
    });
}

/// The run's source is a channel fed by another task on the same current-thread runtime: a
/// `collect_async` that blocked the runtime's only thread would starve that task, and the run
/// could never end (the watchdog fails the test).
#[test]
fn collect_async_does_not_block_the_tasks_that_feed_the_run() {
    within(WATCHDOG, || {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (out, report) = rt.block_on(async {
            let (tx, rx) = bounded(4);
            let feed = async move {
                for i in 0..500u64 {
                    tx.send_async(i).await.unwrap();
                }
            };
            let collect =
                Pipeline::from_receiver(rx).stage("double", |x: u64| x * 2).ordered().collect_async();
            let ((), collected) = tokio::join!(feed, collect);
            collected.unwrap()
        });
        assert_eq!(out, (0..500u64).map(|x| x * 2).collect::<Vec<_>>());
        assert_every_item_counted(&report);
    });
}

#[test]
fn collect_async_returns_the_first_error_with_the_drained_output() {
    within(WATCHDOG, || {
        let err = async_util::block_on(
            Pipeline::from_iter(0..10_000u32)
                .try_stage("validate", |x| if x == 5000 { Err(BadRecord(x)) } else { Ok(x) })
                .workers(2)
                .stage("double", |x| x * 2)
                .ordered()
                .collect_async(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "pipeline stage `validate` failed: bad record 5000");
        assert_drained_in_order_past_5000(err.into_partial());
    });
}

#[test]
fn collect_async_loses_nothing_after_an_error() {
    within(WATCHDOG, || {
        let counter = DropCounter::new();
        let c = counter.clone();
        let items = (0..3000u64).map(move |i| c.make(i));
        let result = async_util::block_on(
            Pipeline::from_iter(items)
                .try_stage("check", |t| if t.id == 1500 { Err("bad") } else { Ok(t) })
                .workers(3)
                .stage("pass", |t| t)
                .capacity(0)
                .collect_async(),
        );
        assert_one_failure_and_nothing_lost(result, &counter);
    });
}

/// A dropped `collect_async` stops an endless run: the source thread ends and drops its
/// iterator (which holds `alive`), as a dropped `into_receiver` receiver makes it.
#[test]
fn dropping_collect_async_stops_an_endless_pipeline() {
    within(WATCHDOG, || {
        let alive = Arc::new(());
        let held = Arc::clone(&alive);
        let pulled = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&pulled);
        let source = (0u64..).inspect(move |_| {
            let _ = &held;
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(async {
            let collect = Pipeline::from_iter(source).stage("a", |x| x + 1).workers(2).collect_async();
            let mut collect = std::pin::pin!(collect);
            // Polled until the run is under way, then dropped unfinished.
            while pulled.load(Ordering::Relaxed) < 1000 {
                assert!(tokio::time::timeout(Duration::from_millis(1), collect.as_mut()).await.is_err());
            }
        });
        common::eventually(HANG, "the source thread ends and drops its iterator", || {
            (Arc::strong_count(&alive) == 1).then_some(())
        });
    });
}

#[test]
fn collect_future_is_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    assert_send_unpin(&Pipeline::from_iter(0..3u32).stage("id", |x| x).collect_async());
    // `Unpin` whatever the item type is.
    assert_send_unpin(&Pipeline::from_iter([std::marker::PhantomPinned]).collect_async());
}

/// The run starts at the future's first poll: a future made and dropped unpolled pulled
/// nothing and started no thread (its source iterator is dropped right there, on this
/// thread); a polled one runs to the end.
#[test]
fn collect_async_starts_the_run_at_the_first_poll() {
    /// Records the thread that drops it.
    struct DroppedOn(Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>);
    impl Drop for DroppedOn {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = Some(std::thread::current().id());
        }
    }
    within(WATCHDOG, || {
        let pulled = Arc::new(AtomicU64::new(0));
        let dropped_on = Arc::new(std::sync::Mutex::new(None));
        let source = |pulled: &Arc<AtomicU64>, guard: DroppedOn| {
            let counted = Arc::clone(pulled);
            (0..100u64).inspect(move |_| {
                let _ = &guard;
                counted.fetch_add(1, Ordering::Relaxed);
            })
        };
        let unpolled =
            Pipeline::from_iter(source(&pulled, DroppedOn(Arc::clone(&dropped_on)))).collect_async();
        drop(unpolled);
        assert_eq!(
            *dropped_on.lock().unwrap(),
            Some(std::thread::current().id()),
            "no thread took the source"
        );
        assert_eq!(pulled.load(Ordering::Relaxed), 0);
        let polled = Pipeline::from_iter(source(&pulled, DroppedOn(Arc::clone(&dropped_on)))).collect_async();
        let (out, _) = async_util::block_on(polled).unwrap();
        assert_eq!((out.len(), pulled.load(Ordering::Relaxed)), (100, 100));
    });
}

#[test]
#[should_panic(expected = "CollectFuture polled after completion")]
fn polling_a_completed_collect_future_panics() {
    let mut collect = Pipeline::from_iter(0..3u32).collect_async();
    let (out, _) = async_util::block_on(&mut collect).unwrap();
    assert_eq!(out, [0, 1, 2]);
    let _ =
        std::pin::Pin::new(&mut collect).poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
}

/// A stage error whose `Drop` panics for one value (outside a panic already unwinding).
#[derive(Debug)]
struct LoudError(u32);

impl std::fmt::Display for LoudError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "loud {}", self.0)
    }
}

impl std::error::Error for LoudError {}

impl Drop for LoudError {
    fn drop(&mut self) {
        if self.0 == 1 && !std::thread::panicking() {
            panic!("the Drop of error 1");
        }
    }
}

/// A later error (not the first, so the run drops it) whose `Drop` panics used to end its worker
/// thread: the items in its input were lost and so was its tally.
#[test]
fn a_panicking_drop_of_a_later_error_loses_no_item_and_no_count() {
    for _ in 0..20 {
        let err = Pipeline::from_iter(0..10u32)
            .try_stage("fail", |x| if x < 10 { Err(LoudError(x)) } else { Ok(x) })
            .capacity(16)
            .collect()
            .unwrap_err();
        assert_eq!(err.stage, "fail");
        let pulled = err.report.stages[0].items_in;
        assert_eq!(pulled, err.partial.len() as u64 + err.report.failed(), "{}", err.report);
        assert_eq!(err.report.stages[1].items_in, pulled, "the stage took every item: {}", err.report);
    }
}

/// The same with the order restored used to hang: the lost item's number never reached the
/// sink, which then never gave the order window's permits back to the source.
#[test]
fn a_panicking_drop_of_a_later_error_does_not_hang_an_ordered_run() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = Pipeline::from_iter(0..10_000u32)
            .try_stage("f", |x| match x {
                // The window fills behind item 0 while it sleeps, then its error is the later one.
                0 => {
                    std::thread::sleep(Duration::from_millis(300));
                    Err(LoudError(1))
                }
                4095 => Err(LoudError(4095)),
                x => Ok(x),
            })
            .workers(2)
            .ordered()
            .collect();
        let _ = tx.send(result.map(|(items, _)| items.len()).map_err(|err| err.stage.clone()));
    });
    let result = rx.recv_timeout(Duration::from_secs(60)).expect("collect did not return (a hang)");
    assert_eq!(result, Err("f".to_owned()));
}

/// A panic found only when a thread is joined (here: the stage function's captured state
/// panics in its `Drop`, when the last worker lets it go) is the stage's, not the source's.
#[test]
fn a_panic_dropping_a_stage_function_is_reported_as_that_stage() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("the Drop of the stage's closure state");
        }
    }
    let guard = PanicOnDrop;
    let err = Pipeline::from_iter(0..100u32)
        .stage("mine", move |x| {
            let _ = &guard;
            x
        })
        .collect()
        .unwrap_err();
    assert_eq!(err.stage, "mine");
    assert!(err.is_panic());
    assert_eq!(err.partial.len(), 100, "every item was delivered before the panic");
}

/// A `from_receiver` source waiting for its producer used to count that time as busy (and so
/// be named the bottleneck).
#[test]
fn a_receiver_source_waiting_for_its_producer_is_waiting_not_busy() {
    let (tx, rx) = bounded(4);
    let producer = std::thread::spawn(move || {
        for i in 0..20u32 {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(i).unwrap();
        }
    });
    let (out, report) = Pipeline::from_receiver(rx).stage("id", |x| x).collect().unwrap();
    producer.join().unwrap();
    assert_eq!(out.len(), 20);
    let source = &report.stages[0];
    assert!(source.waiting > Duration::from_millis(50), "{report}");
    assert!(source.busy < source.waiting, "{report}");
}

/// An `into_receiver` sink waiting for room in the receiver's channel used to count that time
/// as busy.
#[test]
fn an_into_receiver_sink_waiting_for_room_is_waiting_not_busy() {
    let (rx, running) = Pipeline::from_iter(0..20u32).stage("id", |x| x).into_receiver(1);
    for _ in rx.iter() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let report = running.join().unwrap();
    let sink = report.stages.last().unwrap();
    assert!(sink.waiting > Duration::from_millis(50), "{report}");
    assert!(sink.busy < sink.waiting, "{report}");
}

#[test]
fn a_capacity_too_large_for_a_channel_panics_where_it_is_set() {
    let result =
        std::panic::catch_unwind(|| Pipeline::from_iter(0..1u8).stage("id", |x| x).capacity(usize::MAX));
    let payload = result.map(drop).unwrap_err();
    let message = payload.downcast_ref::<String>().expect("a formatted message");
    assert_eq!(
        message,
        &format!("Pipeline::capacity: {} exceeds the channel maximum of 2147483647", usize::MAX)
    );
}
