#![cfg(all(not(loom), target_os = "linux"))]
//! The bounded channel with every thread pinned to one CPU (Linux): the case the parked sends
//! and receives are for (`docs/channel.md`, "Parked sends and receives"). There each waiting
//! thread's spin is soon turned off (its waits are ended by yields), so blocking receivers park
//! requests that pushes fill, and blocking senders park values that pops push: these tests move
//! values through those paths for real, with timeouts and disconnection mixed in, and check
//! that every value arrives once and in its sender's order. Nothing asserts on timing; a hang
//! is turned into a failure by a watchdog.

mod common;

#[path = "../benches/common/affinity.rs"]
mod affinity;

use common::{DropCounter, Tracked, WATCHDOG, recv_ids_until_disconnected, send_retrying, within};
use ringfence::channel::bounded;
use std::thread;
use std::time::Duration;

/// Values per sender.
const PER_SENDER: u64 = if cfg!(debug_assertions) { 3_000 } else { 30_000 };

/// Runs `body` on a new thread pinned to this process's first CPU.
fn pinned<R: Send + 'static>(cpu: usize, body: impl FnOnce() -> R + Send + 'static) -> thread::JoinHandle<R> {
    thread::spawn(move || {
        affinity::pin_current_thread(cpu);
        body()
    })
}

#[test]
fn capacity_one_on_one_cpu_keeps_order_and_loses_nothing() {
    let Some(cpu) = affinity::one_core() else { return };
    within(WATCHDOG, move || {
        let (tx, rx) = bounded::<u64>(1);
        let sender = pinned(cpu, move || (0..PER_SENDER).for_each(|v| tx.send(v).unwrap()));
        let receiver = pinned(cpu, move || rx.iter().collect::<Vec<_>>());
        sender.join().unwrap();
        let got = receiver.join().unwrap();
        assert!(got.iter().copied().eq(0..PER_SENDER), "every value once, in order");
    });
}

#[test]
fn timed_calls_on_one_cpu_take_back_or_deliver_each_value_once() {
    // Short timeouts on both sides: parked values are taken back (or found pushed just in
    // time), parked requests withdrawn (or found filled just in time).
    let Some(cpu) = affinity::one_core() else { return };
    within(WATCHDOG, move || {
        let counter = DropCounter::new();
        let (tx, rx) = bounded::<Tracked>(1);
        let senders: Vec<_> = (0..2u64)
            .map(|id| {
                let (tx, counter) = (tx.clone(), counter.clone());
                pinned(cpu, move || {
                    for seq in 0..PER_SENDER / 4 {
                        send_retrying(&tx, counter.make(id * PER_SENDER + seq), Duration::from_micros(5));
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                pinned(cpu, move || recv_ids_until_disconnected(&rx, Duration::from_micros(5)))
            })
            .collect();
        drop(rx);
        senders.into_iter().for_each(|s| s.join().unwrap());
        let mut ids: Vec<u64> = receivers.into_iter().flat_map(|r| r.join().unwrap()).collect();
        ids.sort_unstable();
        let expected = (0..2u64).flat_map(|id| (0..PER_SENDER / 4).map(move |seq| id * PER_SENDER + seq));
        assert!(ids.iter().copied().eq(expected), "each value received exactly once");
        assert_eq!(counter.live(), 0, "nothing left behind or leaked");
    });
}

#[test]
fn receivers_dropping_on_one_cpu_hand_parked_values_back() {
    // The receiver stops early and drops: a sender blocked with its value parked gets it back
    // as `Disconnected`, and every value is received, handed back or dropped exactly once.
    let Some(cpu) = affinity::one_core() else { return };
    within(WATCHDOG, move || {
        let counter = DropCounter::new();
        let (tx, rx) = bounded::<Tracked>(1);
        let sender = {
            let counter = counter.clone();
            pinned(cpu, move || {
                let mut handed_back = 0;
                for seq in 0..PER_SENDER {
                    if let Err(error) = tx.send(counter.make(seq)) {
                        drop(error.into_inner());
                        handed_back += 1;
                        break;
                    }
                }
                handed_back
            })
        };
        let receiver = pinned(cpu, move || {
            (0..PER_SENDER / 2).map(|_| rx.recv().unwrap().into_id()).collect::<Vec<_>>()
        });
        let received = receiver.join().unwrap();
        let handed_back = sender.join().unwrap();
        assert!(received.iter().copied().eq(0..PER_SENDER / 2), "the first half, in order");
        assert_eq!(handed_back, 1, "the send after the receiver left failed with its value");
        assert_eq!(counter.live(), 0, "values left in the channel dropped with it, once");
    });
}
