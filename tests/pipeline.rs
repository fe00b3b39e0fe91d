#![cfg(not(loom))]
//! Integration tests of `ringfence::pipeline`: order, errors and panics (first one returned,
//! in-flight items drained), early shutdown by dropping the sink, the report, drop counting,
//! and a stress run with more threads than cores.

mod common;

use common::{DropCounter, WATCHDOG, within};
use ringfence::channel::bounded;
use ringfence::pipeline::{Pipeline, StageError};
use std::time::Duration;

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
        // Everything before the failure was drained to the sink, in order, nothing dropped.
        let partial = err.into_partial();
        assert!(partial.len() >= 5000, "items before the error all arrive: {}", partial.len());
        assert!(
            partial.iter().enumerate().all(|(i, &x)| x == 2 * if i < 5000 { i as u32 } else { i as u32 + 1 })
        );
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
    assert!(table.contains("slow") && table.contains("waiting"), "{table}");
}

#[test]
fn nothing_is_leaked_or_dropped_twice_even_after_an_error() {
    let counter = DropCounter::new();
    let c = counter.clone();
    let items = (0..3000u64).map(move |i| c.make(i));
    let result = Pipeline::from_iter(items)
        .try_stage("check", |t| if t.id == 1500 { Err("bad") } else { Ok(t) })
        .workers(3)
        .stage("pass", |t| t)
        .workers(2)
        .capacity(0)
        .collect();
    let Err(err) = result else { panic!("the check fails at item 1500") };
    let partial = err.into_partial();
    let delivered = partial.len();
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
