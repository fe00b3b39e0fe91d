//! `Receiver::recv_many` / `recv_many_async`: one wait, then what is ready, up to the limit;
//! order kept, the buffer appended to, `0` only at the end (or for a zero limit), and a
//! cancelled async batch loses nothing. No test asserts on timing.
#![cfg(not(loom))]

mod async_util;
mod common;

use async_util::{counting, poll_once};
use common::{WATCHDOG, within};
use ringfence::channel::{bounded, unbounded};
use std::task::Poll;
use std::thread;
use std::time::Duration;

#[test]
fn a_batch_takes_what_is_ready_up_to_the_limit_in_order() {
    for capacity in [Some(1), Some(8), None] {
        let (tx, rx) = capacity.map_or_else(unbounded, bounded);
        let ready = capacity.unwrap_or(8).min(8);
        for value in 0..ready {
            tx.send(value).unwrap();
        }
        let mut batch = vec![100];
        assert_eq!(rx.recv_many(&mut batch, 5), ready.min(5), "{capacity:?}");
        let rest = ready - ready.min(5);
        if rest > 0 {
            // (With nothing left it would block: `recv_many` waits for a first value.)
            assert_eq!(rx.recv_many(&mut batch, 5), rest, "{capacity:?}: no wait for a fifth");
        }
        assert_eq!(batch, std::iter::once(100).chain(0..ready).collect::<Vec<_>>(), "{capacity:?}");
    }
}

#[test]
fn a_zero_limit_returns_at_once_and_takes_nothing() {
    let (tx, rx) = bounded(2);
    tx.send(1).unwrap();
    let mut batch = Vec::new();
    assert_eq!(rx.recv_many(&mut batch, 0), 0);
    let (wakes, waker) = counting();
    assert_eq!(poll_once(&mut rx.recv_many_async(&mut batch, 0), &waker), Poll::Ready(0));
    assert_eq!(wakes.wakes(), 0);
    assert!(batch.is_empty());
    assert_eq!(rx.try_recv(), Ok(1), "the value stayed");
}

#[test]
fn a_blocked_batch_waits_for_the_first_value_and_ends_at_disconnection() {
    within(WATCHDOG, || {
        let (tx, rx) = bounded::<u32>(4);
        let receiver = thread::spawn(move || {
            let mut batch = Vec::new();
            let mut sizes = Vec::new();
            loop {
                match rx.recv_many(&mut batch, 3) {
                    0 => return (batch, sizes),
                    n => sizes.push(n),
                }
            }
        });
        for value in 0..20 {
            tx.send(value).unwrap();
        }
        drop(tx);
        let (batch, sizes) = receiver.join().unwrap();
        assert_eq!(batch, (0..20).collect::<Vec<_>>());
        assert!(sizes.iter().all(|&n| (1..=3).contains(&n)), "{sizes:?}");
    });
}

#[test]
fn a_pending_async_batch_is_woken_by_a_send_and_takes_it() {
    let (tx, rx) = bounded(4);
    let mut batch = Vec::new();
    let (wakes, waker) = counting();
    {
        let mut future = rx.recv_many_async(&mut batch, 4);
        assert!(poll_once(&mut future, &waker).is_pending());
        tx.send(7).unwrap();
        tx.send(8).unwrap();
        assert!(wakes.wakes() >= 1);
        assert_eq!(poll_once(&mut future, &waker), Poll::Ready(2));
    }
    assert_eq!(batch, [7, 8]);
}

#[test]
fn async_batches_cancelled_by_a_timer_lose_nothing() {
    const VALUES: u64 = if cfg!(debug_assertions) { 5_000 } else { 50_000 };
    // Capacities 1 and 4 park the pending batch's first receive (the channel's front, which a
    // cancelled batch must leave in place); 16 does not.
    for (flavor, capacity) in [
        ("current_thread", 1),
        ("current_thread", 4),
        ("current_thread", 16),
        ("multi_thread", 1),
        ("multi_thread", 4),
        ("multi_thread", 16),
    ] {
        let runtime = match flavor {
            "current_thread" => tokio::runtime::Builder::new_current_thread().enable_time().build(),
            _ => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build(),
        }
        .unwrap();
        let (received, cancelled) = runtime.block_on(async {
            let (tx, rx) = bounded(capacity);
            let producer = tokio::spawn(async move {
                for value in 0..VALUES {
                    tx.send_async(value).await.unwrap();
                    if value % 1_000 == 0 {
                        tokio::time::sleep(Duration::from_micros(200)).await; // let timers win
                    }
                }
            });
            let mut batch = Vec::new();
            let mut cancelled = 0u64;
            loop {
                tokio::select! {
                    n = rx.recv_many_async(&mut batch, 3) => if n == 0 { break },
                    () = tokio::time::sleep(Duration::from_micros(20)) => cancelled += 1,
                }
            }
            producer.await.unwrap();
            (batch, cancelled)
        });
        assert_eq!(
            received,
            (0..VALUES).collect::<Vec<_>>(),
            "{flavor}, {capacity}: every value once, in order"
        );
        // Not asserted: how many batches the timer cancelled (it depends on the machine).
        let _ = cancelled;
    }
}
