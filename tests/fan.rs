#![cfg(not(loom))]
//! Integration tests of `ringfence::fan`: work sharing, round robin (with a worker that leaves),
//! merge (every value once, a quiet input not starved, early drop), and the result collector.

mod common;

use common::{WATCHDOG, within};
use ringfence::channel::bounded;
use ringfence::fan;
use std::thread;

#[test]
fn share_gives_every_item_to_exactly_one_worker() {
    within(WATCHDOG, || {
        let (tx, rx) = bounded(8);
        let workers: Vec<_> = fan::share(rx, 4)
            .into_iter()
            .map(|rx| thread::spawn(move || rx.iter().collect::<Vec<u64>>()))
            .collect();
        for i in 0..10_000u64 {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut all: Vec<u64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>());
    });
}

#[test]
fn round_robin_places_item_i_on_queue_i_mod_n() {
    let queues = fan::round_robin(0..30u32, 3, 2);
    let handles: Vec<_> =
        queues.into_iter().map(|rx| thread::spawn(move || rx.iter().collect::<Vec<_>>())).collect();
    for (k, h) in handles.into_iter().enumerate() {
        let got = h.join().unwrap();
        assert_eq!(got, (0..30u32).filter(|i| *i as usize % 3 == k).collect::<Vec<_>>());
    }
}

#[test]
fn round_robin_redirects_a_departed_workers_share() {
    within(WATCHDOG, || {
        let mut queues = fan::round_robin(0..1000u32, 3, 1);
        drop(queues.remove(1)); // worker 1 leaves at once
        let handles: Vec<_> =
            queues.into_iter().map(|rx| thread::spawn(move || rx.iter().collect::<Vec<_>>())).collect();
        let mut all: Vec<u32> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        // At most the one item already queued for worker 1 (its queue held 1) is dropped with
        // that queue; everything else reaches the remaining workers.
        assert!(all.len() >= 999, "got {}", all.len());
        let received = all.len();
        all.dedup();
        assert_eq!(all.len(), received, "no duplicates");
    });
}

#[test]
fn merge_delivers_every_value_once_and_ends_when_all_inputs_end() {
    within(WATCHDOG, || {
        let mut inputs = Vec::new();
        for k in 0..3u64 {
            let (tx, rx) = bounded(4);
            inputs.push(rx);
            thread::spawn(move || {
                for i in 0..1000u64 {
                    tx.send(k * 1000 + i).unwrap();
                }
            });
        }
        let mut all: Vec<u64> = fan::merge(inputs, 16).iter().collect();
        all.sort_unstable();
        assert_eq!(all, (0..3000).collect::<Vec<_>>());
    });
}

#[test]
fn merge_does_not_starve_a_quiet_input() {
    within(WATCHDOG, || {
        let (busy_tx, busy) = bounded(64);
        let (quiet_tx, quiet) = bounded(1);
        thread::spawn(move || {
            let mut i = 0u64;
            while busy_tx.send(i).is_ok() {
                i += 1;
            }
        });
        let merged = fan::merge([busy, quiet], 8);
        thread::spawn(move || {
            for q in 0..10u64 {
                quiet_tx.send(u64::MAX - q).unwrap();
            }
        });
        // All ten quiet values arrive among a bounded number of merged values.
        let mut seen_quiet = 0;
        for value in merged.iter().take(1_000_000) {
            if value > u64::MAX - 10 {
                seen_quiet += 1;
                if seen_quiet == 10 {
                    break;
                }
            }
        }
        assert_eq!(seen_quiet, 10);
        drop(merged); // stops the forwarders and, through them, the busy producer
    });
}

#[test]
fn collect_results_sorts_and_counts() {
    let (tx, rx) = bounded(16);
    let producer = thread::spawn(move || {
        for i in 0..100u32 {
            tx.send(if i % 10 == 0 { Err(i) } else { Ok(i) }).unwrap();
        }
    });
    let gathered = fan::collect_results(&rx);
    producer.join().unwrap();
    assert_eq!((gathered.ok.len(), gathered.failed.len(), gathered.total()), (90, 10, 100));
    assert_eq!(gathered.failed, (0..100).step_by(10).collect::<Vec<_>>());
    assert_eq!(format!("{gathered:?}"), "Collected { ok: 90, failed: 10 }");
}

#[test]
#[should_panic(expected = "fan::share: at least one worker")]
fn share_with_zero_workers_panics_clearly() {
    let (_tx, rx) = bounded::<u8>(1);
    let _ = fan::share(rx, 0);
}

/// Found by review: a forwarder noticed a dropped merged receiver only at its input's next
/// value, which it took (the send had succeeded) and dropped; with an idle input it never
/// stopped. Now it stops at once and drops its input, so sends to the input fail.
#[test]
fn dropping_the_merged_receiver_stops_the_forwarders_at_once() {
    within(WATCHDOG, || {
        let (busy_tx, busy) = bounded::<u32>(4);
        let (idle_tx, idle) = bounded::<u32>(4);
        let merged = fan::merge([busy, idle], 2);
        busy_tx.send(1).unwrap();
        assert_eq!(merged.recv(), Ok(1));
        drop(merged);
        // Each forwarder drops its input once it sees the merged receiver gone: every later
        // send fails with its value back, the idle input's included.
        common::eventually(WATCHDOG, "the forwarders dropped their inputs", || {
            (busy_tx.is_disconnected() && idle_tx.is_disconnected()).then_some(())
        });
        assert_eq!(busy_tx.send(2).unwrap_err().into_inner(), 2);
        assert_eq!(idle_tx.send(3).unwrap_err().into_inner(), 3);
    });
}
