#![cfg(not(loom))]
//! Integration tests for `ringfence::channel::unbounded`: the API and its errors (the same
//! handles as `bounded`), order, drop counting across blocks, disconnection both ways,
//! timeouts, iterators, and a stress run with more threads than cores checked by checksums.
//! Memory release after a burst is proven in `tests/unbounded_memory.rs` (its own binary: it
//! counts allocations with a global allocator). Every blocking scenario runs under a watchdog.

mod common;

use common::{DropCounter, SETTLE, Tracked, WATCHDOG, eventually, within};
use ringfence::channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, bounded, unbounded,
};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Short timeouts used to prove that a timed call gives up.
const SHORT: Duration = Duration::from_millis(10);

/// Values per block in the implementation (31): tests use multiples and off-by-ones of it to
/// cross block boundaries. Not part of the API; the tests are right for any block size.
const BLOCK: u64 = 31;

/// Values per producer in the multi-thread tests.
const PER_THREAD: u64 = if cfg!(debug_assertions) { 20_000 } else { 200_000 };

/// Values in the stress scenarios (over all producers).
const STRESS_VALUES: u64 = if cfg!(debug_assertions) { 200_000 } else { 2_000_000 };

// ---------------------------------------------------------------------------------------------
// API and queries
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke_send_then_recv() {
    let (tx, rx) = unbounded();
    tx.send(42).unwrap();
    assert_eq!(rx.recv(), Ok(42));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn send_never_blocks_and_try_send_is_never_full() {
    within(WATCHDOG, || {
        let (tx, rx) = unbounded();
        for i in 0..10 * BLOCK {
            assert_eq!(tx.try_send(i), Ok(()));
            tx.send(i + 1_000).unwrap();
            assert_eq!(tx.send_timeout(i + 2_000, Duration::ZERO), Ok(()));
            assert_eq!(tx.send_deadline(i + 3_000, Instant::now() - SHORT), Ok(()), "a past deadline");
        }
        assert_eq!(rx.len(), 40 * BLOCK as usize);
        assert!(!tx.is_full());
    });
}

#[test]
fn queries_on_both_handles() {
    let (tx, rx) = unbounded::<u64>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    assert!(tx.is_empty() && rx.is_empty());
    assert!(!tx.is_full() && !rx.is_full());
    for n in 1..=3 * BLOCK + 2 {
        tx.send(n).unwrap();
        assert_eq!(tx.len(), n as usize, "len counts across block boundaries");
        assert_eq!(rx.len(), n as usize);
    }
    for n in (0..3 * BLOCK + 2).rev() {
        rx.recv().unwrap();
        assert_eq!(rx.len(), n as usize);
    }
    assert!(rx.is_empty());
}

#[test]
fn same_channel_tells_channels_apart() {
    let (tx, rx) = unbounded::<u8>();
    let (tx2, rx2) = unbounded::<u8>();
    assert!(tx.same_channel(&tx.clone()));
    assert!(rx.same_channel(&rx.clone()));
    assert!(!tx.same_channel(&tx2));
    assert!(!rx.same_channel(&rx2));
    let (btx, _brx) = bounded::<u8>(1);
    assert!(!tx.same_channel(&btx), "an unbounded and a bounded channel are different channels");
}

#[test]
fn debug_output_needs_no_debug_bound() {
    let counter = DropCounter::new();
    let (tx, rx) = unbounded::<Tracked>();
    tx.send(counter.make(1)).unwrap();
    assert_eq!(format!("{tx:?}"), "Sender { len: 1, capacity: unbounded, disconnected: false }");
    assert_eq!(format!("{rx:?}"), "Receiver { len: 1, capacity: unbounded, disconnected: false }");
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync_when_t_is_send() {
    assert_send_sync::<ringfence::channel::Sender<std::cell::Cell<u8>>>();
    assert_send_sync::<ringfence::channel::Receiver<std::cell::Cell<u8>>>();
}

#[test]
fn zero_sized_values() {
    let (tx, rx) = unbounded();
    for _ in 0..5 * BLOCK {
        tx.send(()).unwrap();
    }
    assert_eq!(rx.len(), 5 * BLOCK as usize);
    assert_eq!(rx.try_iter().count(), 5 * BLOCK as usize);
}

#[test]
fn large_values_cross_blocks_intact() {
    let (tx, rx) = unbounded::<[u64; 64]>();
    for i in 0..2 * BLOCK + 1 {
        tx.send([i; 64]).unwrap();
    }
    for i in 0..2 * BLOCK + 1 {
        assert_eq!(rx.recv().unwrap(), [i; 64]);
    }
}

// ---------------------------------------------------------------------------------------------
// Order and counting
// ---------------------------------------------------------------------------------------------

#[test]
fn one_sender_is_received_in_order_across_blocks() {
    let (tx, rx) = unbounded();
    for i in 0..100 * BLOCK + 7 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert!(rx.iter().eq(0..100 * BLOCK + 7));
}

#[test]
fn interleaved_sends_and_receives_keep_order() {
    // The receiver keeps catching up with the sender, so `head` and `tail` meet in every
    // offset of a block.
    let (tx, rx) = unbounded();
    let mut next_in = 0u64;
    let mut next_out = 0u64;
    for round in 0..500u64 {
        for _ in 0..round % 37 {
            tx.send(next_in).unwrap();
            next_in += 1;
        }
        for _ in 0..round % 23 {
            match rx.try_recv() {
                Ok(v) => {
                    assert_eq!(v, next_out);
                    next_out += 1;
                }
                Err(TryRecvError::Empty) => assert_eq!(next_out, next_in),
                Err(TryRecvError::Disconnected) => unreachable!("the sender is alive"),
            }
        }
        assert_eq!(rx.len() as u64, next_in - next_out);
    }
}

#[test]
fn fifo_per_producer_with_many_producers_and_consumers() {
    within(WATCHDOG, || {
        const PRODUCERS: u64 = 4;
        let (tx, rx) = unbounded::<(u64, u64)>();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        tx.send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        // One consumer per producer's stream would reorder across consumers, so use one
        // consumer for the order check and count everything.
        let mut next = [0u64; PRODUCERS as usize];
        for (p, i) in rx.iter() {
            assert_eq!(i, next[p as usize], "producer {p}'s values arrive in order");
            next[p as usize] += 1;
        }
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(next, [PER_THREAD; PRODUCERS as usize]);
    });
}

#[test]
fn cloned_receivers_each_get_distinct_values() {
    within(WATCHDOG, || {
        const CONSUMERS: usize = 3;
        let (tx, rx) = unbounded::<u64>();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut last = None;
                    for v in rx.iter() {
                        // One sender: each consumer sees an increasing subsequence.
                        assert!(last < Some(v));
                        last = Some(v);
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for i in 0..PER_THREAD {
            tx.send(i).unwrap();
        }
        drop(tx);
        let mut all: Vec<u64> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        all.sort_unstable();
        assert!(all.iter().copied().eq(0..PER_THREAD), "every value exactly once");
    });
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn values_left_in_several_blocks_are_dropped_once_with_the_channel() {
    let counter = DropCounter::new();
    let (tx, rx) = unbounded::<Tracked>();
    for i in 0..3 * BLOCK + 5 {
        tx.send(counter.make(i)).unwrap();
    }
    // Take a few, so the head is in the middle of a block.
    for i in 0..BLOCK + 2 {
        assert_eq!(rx.recv().unwrap().into_id(), i);
    }
    drop(tx);
    assert_eq!(counter.live(), 2 * BLOCK as usize + 3, "receivers may still drain them");
    drop(rx);
    assert_eq!(counter.live(), 0);
    assert_eq!(counter.dropped(), counter.created());
}

#[test]
fn values_are_dropped_once_when_the_last_receiver_drops() {
    let counter = DropCounter::new();
    let (tx, rx) = unbounded::<Tracked>();
    for i in 0..2 * BLOCK {
        tx.send(counter.make(i)).unwrap();
    }
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(counter.live(), 2 * BLOCK as usize, "a receiver is still alive");
    drop(rx2);
    assert_eq!(counter.live(), 0, "values are dropped when the last receiver goes");
    let back = tx.send(counter.make(99)).unwrap_err().into_inner();
    assert_eq!(back.id, 99);
    drop(back);
    drop(tx);
    assert_eq!(counter.dropped(), counter.created());
}

#[test]
fn a_panicking_drop_still_drops_every_other_value() {
    struct PanicOnDrop {
        id: u64,
        counter: Arc<std::sync::atomic::AtomicUsize>,
    }
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            self.counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.id == 5 {
                panic!("boom");
            }
        }
    }
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    for id in 0..2 * BLOCK {
        tx.send(PanicOnDrop { id, counter: counter.clone() }).unwrap();
    }
    // The last receiver drains: value 5's drop panics, the drain goes on past it (the values
    // after it stayed until the channel's drop before the thirty-third session), and then the
    // panic comes out of the receiver's drop.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(result.is_err());
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2 * BLOCK as usize);
    assert!(tx.is_disconnected());
    drop(tx); // the channel goes: nothing is dropped twice
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2 * BLOCK as usize);
}

#[test]
fn drop_ledger_with_senders_racing_the_last_receiver() {
    within(WATCHDOG, || {
        for round in 0..20 {
            let counter = DropCounter::new();
            let (tx, rx) = unbounded::<Tracked>();
            let start = Arc::new(Barrier::new(4));
            let senders: Vec<_> = (0..3)
                .map(|p| {
                    let (tx, counter, start) = (tx.clone(), counter.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut handed_back = 0usize;
                        for i in 0..5_000 {
                            if let Err(SendError(v)) = tx.send(counter.make(p * 100_000 + i)) {
                                handed_back += 1;
                                drop(v);
                            }
                        }
                        handed_back
                    })
                })
                .collect();
            drop(tx);
            start.wait();
            let mut received = 0usize;
            for _ in 0..(round * 500) {
                if rx.recv().is_ok() {
                    received += 1;
                }
            }
            drop(rx);
            let handed_back: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
            assert_eq!(counter.created(), 15_000);
            assert_eq!(counter.live(), 0, "round {round}: every value dropped once");
            assert!(received + handed_back <= 15_000);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Disconnection
// ---------------------------------------------------------------------------------------------

#[test]
fn receivers_drain_buffered_values_then_see_disconnected() {
    let (tx, rx) = unbounded();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    drop(tx);
    assert!(rx.is_disconnected());
    assert_eq!(rx.recv(), Ok(0));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv_timeout(SHORT), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv_timeout(SHORT), Err(RecvTimeoutError::Disconnected));
    assert_eq!(rx.recv_timeout(Duration::MAX), Err(RecvTimeoutError::Disconnected));
    assert_eq!(rx.recv_deadline(Instant::now() + SHORT), Err(RecvTimeoutError::Disconnected));
}

#[test]
fn only_the_last_sender_disconnects() {
    let (tx, rx) = unbounded();
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_disconnected());
    tx2.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx2);
    assert!(rx.is_disconnected());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn senders_get_the_value_back_at_once_when_receivers_are_gone() {
    let (tx, rx) = unbounded();
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_disconnected());
    tx.send(0).unwrap();
    drop(rx2);
    assert!(tx.is_disconnected());
    assert_eq!(tx.send(10), Err(SendError(10)));
    assert_eq!(tx.try_send(11), Err(TrySendError::Disconnected(11)));
    assert_eq!(tx.send_timeout(12, Duration::MAX), Err(SendTimeoutError::Disconnected(12)));
    assert_eq!(
        tx.send_deadline(13, Instant::now() + Duration::from_secs(3600)),
        Err(SendTimeoutError::Disconnected(13))
    );
    assert_eq!(tx.len(), 0, "buffered values are dropped with the last receiver");
}

#[test]
fn blocked_receivers_are_woken_when_the_last_sender_drops() {
    within(WATCHDOG, || {
        let (tx, rx) = unbounded::<u8>();
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let rx = rx.clone();
                thread::spawn(move || match i {
                    0 => rx.recv().map_err(RecvTimeoutError::from),
                    1 => rx.recv_timeout(Duration::MAX),
                    _ => rx.recv_deadline(Instant::now() + Duration::from_secs(3600)),
                })
            })
            .collect();
        let tx2 = tx.clone();
        thread::sleep(SETTLE);
        drop(tx);
        thread::sleep(SETTLE);
        drop(tx2);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Err(RecvTimeoutError::Disconnected));
        }
    });
}

#[test]
fn parked_receivers_are_each_woken_by_a_send() {
    // Receivers park (registered in the tail word); each send must wake one of them.
    within(WATCHDOG, || {
        for _ in 0..20 {
            let (tx, rx) = unbounded::<u64>();
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.recv().unwrap())
                })
                .collect();
            thread::sleep(Duration::from_millis(2));
            for i in 0..4 {
                tx.send(i).unwrap();
            }
            let mut got: Vec<u64> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2, 3]);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Timeouts and iterators
// ---------------------------------------------------------------------------------------------

#[test]
fn recv_timeout_times_out_when_empty() {
    let (_tx, rx) = unbounded::<u8>();
    assert_eq!(rx.recv_timeout(SHORT), Err(RecvTimeoutError::Timeout));
    assert_eq!(rx.recv_deadline(Instant::now() - SHORT), Err(RecvTimeoutError::Timeout), "a past deadline");
    assert_eq!(rx.recv_deadline(Instant::now() + SHORT), Err(RecvTimeoutError::Timeout));
}

#[test]
fn a_past_deadline_still_takes_a_ready_value() {
    let (tx, rx) = unbounded();
    tx.send(1).unwrap();
    assert_eq!(rx.recv_deadline(Instant::now() - SHORT), Ok(1));
}

#[test]
fn recv_timeout_duration_max_waits_for_a_value() {
    within(WATCHDOG, || {
        let (tx, rx) = unbounded();
        let receiver = thread::spawn(move || rx.recv_timeout(Duration::MAX));
        thread::sleep(SETTLE);
        tx.send(7).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(7));
    });
}

#[test]
fn timed_out_receives_lose_nothing() {
    within(WATCHDOG, || {
        const N: u64 = 20_000;
        let (tx, rx) = unbounded::<u64>();
        let sender = thread::spawn(move || {
            for i in 0..N {
                tx.send(i).unwrap();
                if i % 64 == 0 {
                    thread::sleep(Duration::from_micros(30));
                }
            }
        });
        let mut next = 0;
        let mut timeouts = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_micros(20)) {
                Ok(v) => {
                    assert_eq!(v, next);
                    next += 1;
                }
                Err(RecvTimeoutError::Timeout) => timeouts += 1,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        sender.join().unwrap();
        assert_eq!(next, N, "after {timeouts} timeouts");
    });
}

#[test]
fn iterators() {
    within(WATCHDOG, || {
        let (tx, rx) = unbounded();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(rx.try_iter().next(), None);
        let sender = thread::spawn(move || {
            for i in 0..100 {
                tx.send(i).unwrap();
            }
        });
        let mut iter = rx.iter();
        assert!(iter.by_ref().eq(0..100));
        assert_eq!(iter.next(), None, "fused");
        sender.join().unwrap();
        assert_eq!((&rx).into_iter().next(), None);
        assert_eq!(rx.into_iter().next(), None);
    });
}

#[test]
fn a_receiver_waiting_from_the_start_sees_the_first_send() {
    // The registration path: the receiver is inside `recv` before anything is sent, at every
    // phase of its wait (spin or parked) depending on the sleep.
    within(WATCHDOG, || {
        for pause_us in [0u64, 1, 5, 20, 100, 1_000] {
            let (tx, rx) = unbounded();
            let receiver = thread::spawn(move || rx.recv());
            thread::sleep(Duration::from_micros(pause_us));
            tx.send(pause_us).unwrap();
            assert_eq!(receiver.join().unwrap(), Ok(pause_us));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

/// `producers` send disjoint ranges of `1..=total`; `consumers` receive until disconnection
/// (mixing blocking, timed and `try_` receives when `mixed`). Checks count, sum and sum of
/// squares, so a lost or duplicated value fails.
fn stress(producers: u64, consumers: usize, total: u64, mixed: bool) {
    within(WATCHDOG, move || {
        let (tx, rx) = unbounded::<u64>();
        let start = Arc::new(Barrier::new(producers as usize + consumers));
        let consumer_handles: Vec<_> = (0..consumers)
            .map(|c| {
                let (rx, start) = (rx.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let (mut count, mut sum, mut squares) = (0u64, 0u64, 0u64);
                    let mut turn = c as u64;
                    loop {
                        turn += 1;
                        let got = if !mixed {
                            rx.recv().ok()
                        } else {
                            match turn % 3 {
                                0 => rx.recv().ok(),
                                1 => match rx.recv_timeout(Duration::from_micros(10)) {
                                    Ok(v) => Some(v),
                                    Err(RecvTimeoutError::Timeout) => continue,
                                    Err(RecvTimeoutError::Disconnected) => None,
                                },
                                _ => match rx.try_recv() {
                                    Ok(v) => Some(v),
                                    Err(TryRecvError::Empty) => {
                                        thread::yield_now();
                                        continue;
                                    }
                                    Err(TryRecvError::Disconnected) => None,
                                },
                            }
                        };
                        let Some(v) = got else { break };
                        count += 1;
                        sum = sum.wrapping_add(v);
                        squares = squares.wrapping_add(v.wrapping_mul(v));
                    }
                    (count, sum, squares)
                })
            })
            .collect();
        drop(rx);
        let producer_handles: Vec<_> = (0..producers)
            .map(|p| {
                let (tx, start) = (tx.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut v = p + 1;
                    while v <= total {
                        tx.send(v).unwrap();
                        v += producers;
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producer_handles {
            p.join().unwrap();
        }
        let (mut count, mut sum, mut squares) = (0u64, 0u64, 0u64);
        for c in consumer_handles {
            let (n, s, q) = c.join().unwrap();
            count += n;
            sum = sum.wrapping_add(s);
            squares = squares.wrapping_add(q);
        }
        let n = u128::from(total);
        assert_eq!(count, total, "every value received exactly once");
        assert_eq!(sum, (n * (n + 1) / 2) as u64);
        assert_eq!(squares, (n * (n + 1) * (2 * n + 1) / 6) as u64);
    });
}

#[test]
fn stress_spsc() {
    stress(1, 1, STRESS_VALUES, false);
}

#[test]
fn stress_mpmc_4_by_4_blocking() {
    stress(4, 4, STRESS_VALUES, false);
}

#[test]
fn stress_mpmc_oversubscribed_mixed_calls() {
    let n = common::oversubscribed_pairs();
    stress(n as u64, n, STRESS_VALUES, true);
}

#[test]
fn stress_many_idle_receivers_trickled_sends() {
    // Consumers mostly parked: every send goes through the registered-waiter path.
    within(WATCHDOG, || {
        let (tx, rx) = unbounded::<u64>();
        let consumers: Vec<_> = (0..6)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().fold((0u64, 0u64), |(n, s), v| (n + 1, s + v)))
            })
            .collect();
        drop(rx);
        const N: u64 = if cfg!(debug_assertions) { 2_000 } else { 10_000 };
        for i in 1..=N {
            tx.send(i).unwrap();
            if i % 16 == 0 {
                thread::sleep(Duration::from_micros(50));
            }
        }
        drop(tx);
        let (count, sum) =
            consumers.into_iter().map(|c| c.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!((count, sum), (N, N * (N + 1) / 2));
    });
}

#[test]
fn eventually_len_reflects_a_backlog_from_another_thread() {
    let (tx, rx) = unbounded();
    let sender = thread::spawn(move || {
        for i in 0..1_000u32 {
            tx.send(i).unwrap();
        }
        tx
    });
    eventually(WATCHDOG, "the backlog reaches 1000", || (rx.len() == 1_000).then_some(()));
    drop(sender.join().unwrap());
    assert_eq!(rx.iter().count(), 1_000);
}
