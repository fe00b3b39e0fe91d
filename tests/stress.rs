#![cfg(not(loom))]
//! Stress tests for the channel: many producers and consumers (more threads than cores too),
//! every capacity class (rendezvous 0, 1, 2, 1024), blocking and timed calls mixed, values
//! checked by a seen-bitmap, count and sum (each received exactly once) and by a per-value
//! drop ledger (each received, handed back, or dropped exactly once). Sizes are constants:
//! thousands of values in debug builds, millions in release (`cargo test --release --test
//! stress`). Nothing here asserts on timing; a hang is turned into a failure by a watchdog.

mod common;

use common::{WATCHDOG, within};
use ringfence::channel::{
    Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError, bounded,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Values per buffered scenario.
const VALUES: u64 = if cfg!(debug_assertions) { 200_000 } else { 2_000_000 };

/// Values per scenario where each value is a hand-off between threads (rendezvous, capacity 1
/// and 2 with many threads): every one may cost a futex wakeup, so fewer of them.
const HANDOFF_VALUES: u64 = if cfg!(debug_assertions) { 30_000 } else { 200_000 };

/// Values per producer in the drop-ledger scenarios.
const LEDGER_VALUES: u64 = if cfg!(debug_assertions) { 20_000 } else { 100_000 };

/// The tiny timeout of the timed calls in the mixed scenarios: short enough to time out often.
const TINY: Duration = Duration::from_micros(20);

/// How many times a mixed `try_` call is retried before falling back to the blocking call. The
/// fallback matters at capacity 0: a rendezvous `try_send` only succeeds against a receiver
/// blocked in `recv` (and `try_recv` against a blocked sender), so if every thread only ever
/// polled, nobody would block and no value would move (as with std's `sync_channel(0)`).
const TRY_LIMIT: usize = 64;

/// How producers send and consumers receive.
#[derive(Clone, Copy, Debug)]
enum Calls {
    /// `send` and `recv` (through `iter`).
    Blocking,
    /// A rotation of blocking, timed (retried on timeout), deadline and `try_` (retried with a
    /// yield) calls on both sides.
    Mixed,
}

fn send_with(tx: &Sender<u64>, value: u64, calls: Calls, turn: u64) {
    match (calls, turn % 4) {
        (Calls::Blocking, _) | (Calls::Mixed, 0) => tx.send(value).unwrap(),
        (Calls::Mixed, 1) => {
            let mut value = value;
            loop {
                match tx.send_timeout(value, TINY) {
                    Ok(()) => break,
                    Err(SendTimeoutError::Timeout(back)) => {
                        assert_eq!(back, value, "a failed send hands back its own value");
                        value = back;
                    }
                    Err(SendTimeoutError::Disconnected(_)) => panic!("receivers are alive"),
                }
            }
        }
        (Calls::Mixed, 2) => {
            let mut value = value;
            loop {
                match tx.send_deadline(value, Instant::now() + TINY) {
                    Ok(()) => break,
                    Err(SendTimeoutError::Timeout(back)) => {
                        assert_eq!(back, value, "a failed send hands back its own value");
                        value = back;
                    }
                    Err(SendTimeoutError::Disconnected(_)) => panic!("receivers are alive"),
                }
            }
        }
        (Calls::Mixed, _) => {
            let mut value = value;
            for _ in 0..TRY_LIMIT {
                match tx.try_send(value) {
                    Ok(()) => return,
                    Err(TrySendError::Full(back)) => {
                        assert_eq!(back, value, "a failed send hands back its own value");
                        value = back;
                        thread::yield_now();
                    }
                    Err(TrySendError::Disconnected(_)) => panic!("receivers are alive"),
                }
            }
            tx.send(value).unwrap();
        }
    }
}

/// The next value, or `None` once the channel is empty and disconnected.
fn recv_with(rx: &Receiver<u64>, calls: Calls, turn: u64) -> Option<u64> {
    match (calls, turn % 4) {
        (Calls::Blocking, _) | (Calls::Mixed, 0) => rx.recv().ok(),
        (Calls::Mixed, 1) => loop {
            match rx.recv_timeout(TINY) {
                Ok(value) => return Some(value),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        },
        (Calls::Mixed, 2) => loop {
            match rx.recv_deadline(Instant::now() + TINY) {
                Ok(value) => return Some(value),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        },
        (Calls::Mixed, _) => {
            for _ in 0..TRY_LIMIT {
                match rx.try_recv() {
                    Ok(value) => return Some(value),
                    Err(TryRecvError::Empty) => thread::yield_now(),
                    Err(TryRecvError::Disconnected) => return None,
                }
            }
            rx.recv().ok()
        }
    }
}

/// `producers` threads send `total` distinct values between them (producer `p` sends the
/// contiguous block `p * per ..`); `consumers` threads receive until disconnection. Checks that
/// every value arrives exactly once (bitmap, count and sum) and that each consumer sees each
/// producer's values in order.
fn mpmc(capacity: usize, producers: usize, consumers: usize, total: u64, calls: Calls) {
    let per = total / producers as u64;
    let total = per * producers as u64;

    let (tx, rx) = bounded::<u64>(capacity);
    let seen: Arc<Vec<AtomicU8>> = Arc::new((0..total).map(|_| AtomicU8::new(0)).collect());
    let start = Arc::new(Barrier::new(producers + consumers));
    let producer_handles: Vec<_> = (0..producers as u64)
        .map(|p| {
            let (tx, start) = (tx.clone(), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for i in 0..per {
                    send_with(&tx, p * per + i, calls, i + p);
                }
            })
        })
        .collect();
    drop(tx);
    let consumer_handles: Vec<_> = (0..consumers as u64)
        .map(|c| {
            let (rx, seen, start) = (rx.clone(), Arc::clone(&seen), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let (mut count, mut sum) = (0u64, 0u64);
                let mut last = vec![None::<u64>; producers];
                let mut turn = c;
                while let Some(value) = recv_with(&rx, calls, turn) {
                    turn += 1;
                    let before = seen[value as usize].fetch_add(1, Ordering::Relaxed);
                    assert_eq!(before, 0, "value {value} received twice");
                    let p = (value / per) as usize;
                    assert!(last[p].is_none_or(|l| l < value), "producer {p}: {value} after {:?}", last[p]);
                    last[p] = Some(value);
                    count += 1;
                    sum += value;
                }
                (count, sum)
            })
        })
        .collect();
    drop(rx);
    for handle in producer_handles {
        handle.join().unwrap();
    }
    let (mut count, mut sum) = (0, 0);
    for handle in consumer_handles {
        let (c, s) = handle.join().unwrap();
        count += c;
        sum += s;
    }
    let missing = seen.iter().filter(|s| s.load(Ordering::Relaxed) == 0).count();
    assert_eq!(missing, 0, "{missing} values never received (capacity {capacity}, {calls:?})");
    assert_eq!(count, total);
    assert_eq!(sum, total * (total - 1) / 2);
}

#[test]
fn spsc_every_capacity() {
    within(WATCHDOG, || {
        mpmc(1024, 1, 1, VALUES, Calls::Blocking);
        mpmc(2, 1, 1, HANDOFF_VALUES, Calls::Blocking);
        mpmc(1, 1, 1, HANDOFF_VALUES, Calls::Blocking);
        mpmc(0, 1, 1, HANDOFF_VALUES, Calls::Blocking);
    });
}

#[test]
fn mpmc_4_by_4_blocking() {
    within(WATCHDOG, || {
        mpmc(1024, 4, 4, VALUES, Calls::Blocking);
        mpmc(2, 4, 4, HANDOFF_VALUES, Calls::Blocking);
        mpmc(1, 4, 4, HANDOFF_VALUES, Calls::Blocking);
        mpmc(0, 4, 4, HANDOFF_VALUES, Calls::Blocking);
    });
}

#[test]
fn mpmc_oversubscribed() {
    let n = common::oversubscribed_pairs();
    within(WATCHDOG, move || {
        mpmc(1024, n, n, VALUES, Calls::Blocking);
        mpmc(1, n, n, HANDOFF_VALUES, Calls::Blocking);
        mpmc(0, n, n, HANDOFF_VALUES, Calls::Blocking);
    });
}

#[test]
fn mpsc_and_spmc_fan_in_fan_out() {
    within(WATCHDOG, || {
        mpmc(2, 8, 1, HANDOFF_VALUES, Calls::Blocking);
        mpmc(2, 1, 8, HANDOFF_VALUES, Calls::Blocking);
        mpmc(0, 6, 1, HANDOFF_VALUES, Calls::Blocking);
        mpmc(0, 1, 6, HANDOFF_VALUES, Calls::Blocking);
    });
}

#[test]
fn mpmc_mixed_blocking_timed_and_try_calls() {
    within(WATCHDOG, || {
        mpmc(1024, 4, 4, VALUES, Calls::Mixed);
        mpmc(2, 4, 4, HANDOFF_VALUES, Calls::Mixed);
        mpmc(1, 4, 4, HANDOFF_VALUES, Calls::Mixed);
        mpmc(0, 4, 4, HANDOFF_VALUES, Calls::Mixed);
        mpmc(1, 8, 8, HANDOFF_VALUES, Calls::Mixed);
    });
}

// ---------------------------------------------------------------------------------------------
// Drop ledger: receivers leave early
// ---------------------------------------------------------------------------------------------

/// A value whose drop is recorded against its id in a shared ledger.
struct Ledgered {
    id: usize,
    ledger: Arc<Vec<AtomicU8>>,
}

impl Drop for Ledgered {
    fn drop(&mut self) {
        self.ledger[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Producers send (with every kind of call) until the receivers are gone; consumers each take
/// a different number of values and then drop their receiver, so the last receiver leaves with
/// values buffered and producers blocked. Afterwards every value made was dropped exactly once,
/// the ids received and the ids handed back are disjoint, and nothing is missing.
fn receivers_leave_early(capacity: usize, producers: usize, consumers: usize) {
    let per = LEDGER_VALUES;
    let ledger: Arc<Vec<AtomicU8>> =
        Arc::new((0..per as usize * producers).map(|_| AtomicU8::new(0)).collect());
    let made = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded::<Ledgered>(capacity);
    let producer_handles: Vec<_> = (0..producers)
        .map(|p| {
            let (tx, ledger, made) = (tx.clone(), Arc::clone(&ledger), Arc::clone(&made));
            thread::spawn(move || {
                let mut handed_back = Vec::new();
                for i in 0..per as usize {
                    let id = p * per as usize + i;
                    made.fetch_add(1, Ordering::SeqCst);
                    let value = Ledgered { id, ledger: Arc::clone(&ledger) };
                    let back = match i % 4 {
                        0 => tx.send(value).err().map(|err| err.into_inner()),
                        1 => match tx.send_timeout(value, TINY) {
                            Ok(()) => None,
                            Err(SendTimeoutError::Timeout(back)) => {
                                // Not delivered: keep trying with a blocking send.
                                tx.send(back).err().map(|err| err.into_inner())
                            }
                            Err(SendTimeoutError::Disconnected(back)) => Some(back),
                        },
                        2 => {
                            let mut value = value;
                            loop {
                                match tx.try_send(value) {
                                    Ok(()) => break None,
                                    Err(TrySendError::Full(back)) => {
                                        assert_eq!(back.id, id, "a failed send hands back its own value");
                                        value = back;
                                        thread::yield_now();
                                    }
                                    Err(TrySendError::Disconnected(back)) => break Some(back),
                                }
                            }
                        }
                        _ => tx.send_timeout(value, Duration::MAX).err().map(|err| err.into_inner()),
                    };
                    if let Some(back) = back {
                        assert_eq!(back.id, id, "handed back another value");
                        handed_back.push(back.id);
                        // Disconnected: every later send fails too; stop here.
                        break;
                    }
                }
                handed_back
            })
        })
        .collect();
    drop(tx);
    let consumer_handles: Vec<_> = (0..consumers)
        .map(|c| {
            let rx = rx.clone();
            // Each consumer leaves after a different share of the values.
            let quota = per as usize * producers * (c + 1) / (consumers * (consumers + 1));
            thread::spawn(move || {
                let mut received = Vec::new();
                while received.len() < quota {
                    match rx.recv() {
                        Ok(value) => received.push(value.id),
                        Err(_) => panic!("senders keep sending until the receivers leave"),
                    }
                }
                received
            })
        })
        .collect();
    drop(rx);
    let mut handed_back = HashSet::new();
    for handle in producer_handles {
        for id in handle.join().unwrap() {
            assert!(handed_back.insert(id), "{id} handed back twice");
        }
    }
    let mut received = HashSet::new();
    for handle in consumer_handles {
        for id in handle.join().unwrap() {
            assert!(received.insert(id), "{id} received twice");
            assert!(!handed_back.contains(&id), "{id} both received and handed back");
        }
    }
    // Every handle is gone, so the channel is too: every value made was dropped exactly once.
    let made = made.load(Ordering::SeqCst);
    let mut dropped = 0;
    for (id, count) in ledger.iter().enumerate() {
        match count.load(Ordering::SeqCst) {
            0 => {}
            1 => dropped += 1,
            n => panic!("value {id} dropped {n} times"),
        }
    }
    assert_eq!(dropped, made, "values leaked (capacity {capacity})");
    assert!(received.len() + handed_back.len() <= made);
}

#[test]
fn receivers_leave_early_every_value_dropped_exactly_once() {
    within(WATCHDOG, || {
        for capacity in [0, 1, 2, 64] {
            receivers_leave_early(capacity, 4, 3);
        }
        receivers_leave_early(1, 8, 8);
        receivers_leave_early(0, 8, 8);
    });
}

/// Senders leave at different times; receivers drain every value they sent and then see the
/// disconnection.
#[test]
fn senders_leave_at_different_times() {
    within(WATCHDOG, || {
        for capacity in [0, 1, 16] {
            let (tx, rx) = bounded::<u64>(capacity);
            let senders: Vec<_> = (0..6u64)
                .map(|p| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        let count = HANDOFF_VALUES / 6 * (p + 1) / 6;
                        for i in 0..count {
                            tx.send(p << 32 | i).unwrap();
                        }
                        count
                    })
                })
                .collect();
            drop(tx);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.iter().count() as u64)
                })
                .collect();
            drop(rx);
            let sent: u64 = senders.into_iter().map(|s| s.join().unwrap()).sum();
            let received: u64 = receivers.into_iter().map(|r| r.join().unwrap()).sum();
            assert_eq!(received, sent, "capacity {capacity}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Lost-wakeup hunts
// ---------------------------------------------------------------------------------------------

/// Values this large make the copy into (or out of) a ring slot, between the CAS that claims
/// the slot and the stamp store that publishes it, take long enough for other threads to act.
const BIG: usize = 1 << 20;
type Big = [u8; BIG];

/// Rounds of the lost-wakeup hunts; each round is a few milliseconds.
const HUNT_ROUNDS: usize = if cfg!(debug_assertions) { 300 } else { 2_000 };

/// Threads on each side in the lost-wakeup hunts (and the channel's capacity).
const HUNT_THREADS: usize = 3;

/// How long a round may take before a parked thread next to an actionable channel counts as a
/// lost wakeup. Generous: a round normally takes about a millisecond.
const HUNT_STUCK: Duration = Duration::from_secs(5);

fn big_stack() -> thread::Builder {
    thread::Builder::new().stack_size(64 << 20)
}

/// Rounds of: `HUNT_THREADS` threads each do `side_a` once, then (after the others have had
/// time to park) `HUNT_THREADS` threads each do `side_b` once; a round ends when every `side_a`
/// call returned. A wakeup lost on the `side_a` side strands a thread in its blocking call while
/// the channel could serve it; the round then never ends and the test reports the channel's len.
fn hunt(
    tx: Sender<Big>,
    rx: Receiver<Big>,
    side_a: fn(&Sender<Big>, &Receiver<Big>),
    side_b: fn(&Sender<Big>, &Receiver<Big>),
) {
    let threads = HUNT_THREADS;
    let barrier = Arc::new(Barrier::new(2 * threads + 1));
    let finished_a = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for side in 0..2 {
        for _ in 0..threads {
            let (tx, rx, barrier, finished_a) =
                (tx.clone(), rx.clone(), Arc::clone(&barrier), Arc::clone(&finished_a));
            let spawned = big_stack().spawn(move || {
                for _ in 0..HUNT_ROUNDS {
                    barrier.wait();
                    if side == 0 {
                        side_a(&tx, &rx);
                        finished_a.fetch_add(1, Ordering::SeqCst);
                    } else {
                        // Let the other side spin out and park first.
                        thread::sleep(Duration::from_micros(300));
                        side_b(&tx, &rx);
                    }
                    barrier.wait();
                }
            });
            handles.push(spawned.expect("spawn"));
        }
    }
    for round in 0..HUNT_ROUNDS {
        barrier.wait();
        let start = Instant::now();
        while finished_a.load(Ordering::SeqCst) < threads * (round + 1) {
            assert!(
                start.elapsed() < HUNT_STUCK,
                "round {round}: {} of {threads} blocked calls returned; the channel holds {} of {:?}: \
                 lost wakeup",
                finished_a.load(Ordering::SeqCst) - threads * round,
                rx.len(),
                rx.capacity()
            );
            thread::sleep(Duration::from_millis(1));
        }
        barrier.wait();
    }
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn receivers_are_not_left_parked_next_to_a_value() {
    within(Duration::from_secs(120), || {
        let (tx, rx) = bounded::<Big>(HUNT_THREADS);
        hunt(tx, rx, |_, rx| assert_eq!(rx.recv().unwrap()[0], 1), |tx, _| tx.send([1; BIG]).unwrap());
    });
}

#[test]
fn senders_are_not_left_parked_next_to_room() {
    within(Duration::from_secs(120), || {
        let (tx, rx) = bounded::<Big>(HUNT_THREADS);
        for _ in 0..HUNT_THREADS {
            tx.send([1; BIG]).unwrap();
        }
        hunt(tx, rx, |tx, _| tx.send([1; BIG]).unwrap(), |_, rx| assert_eq!(rx.recv().unwrap()[0], 1));
    });
}
