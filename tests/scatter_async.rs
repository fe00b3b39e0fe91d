//! Async scatter-gather (`AsyncScatter`): all / first_ok / quorum over futures, losers dropped
//! without being polled after the deciding answer (so they take nothing), panics reported,
//! deadlines honoured, with tokio and with a minimal `block_on`.
#![cfg(not(loom))]

mod async_util;

use async_util::block_on;
use ringfence::channel::{Receiver, TryRecvError, bounded};
use ringfence::scatter::{AsyncScatter, Gathered};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Source<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Counts its drops: proves a loser's future was dropped (cancelled).
struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// `n` channels, channel `i` holding the one value `i` (its sender kept, so an empty channel
/// reads `Empty`, not `Disconnected`).
fn channels_holding_their_index(n: u32) -> Vec<(ringfence::channel::Sender<u32>, Receiver<u32>)> {
    (0..n)
        .map(|i| {
            let (tx, rx) = bounded(1);
            tx.send(i).unwrap();
            (tx, rx)
        })
        .collect()
}

/// Asserts that channel `i` still holds `i` unless `i` is in `taken`, and that the channels
/// in `taken` are empty: no value was taken and then dropped.
fn assert_only_taken_values_left(
    channels: &[(ringfence::channel::Sender<u32>, Receiver<u32>)],
    taken: &[usize],
) {
    for (i, (_, rx)) in channels.iter().enumerate() {
        if taken.contains(&i) {
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "channel {i} was returned, so taken");
        } else {
            assert_eq!(rx.try_recv(), Ok(i as u32), "channel {i}'s value was taken but not returned");
        }
    }
}

#[tokio::test]
async fn all_keeps_source_order_and_marks_late_sources_timed_out() {
    let sources: Vec<Source<u32>> = vec![
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            1
        }),
        Box::pin(std::future::pending()),
        Box::pin(async { 3 }),
    ];
    let started = Instant::now();
    let answers = AsyncScatter::new(sources).all(soon(50)).await;
    assert!(started.elapsed() >= Duration::from_millis(50), "returned before the deadline");
    assert!(matches!(answers[0], Gathered::Answered(1)));
    assert!(matches!(answers[1], Gathered::TimedOut));
    assert!(matches!(answers[2], Gathered::Answered(3)));
}

#[tokio::test]
async fn all_returns_as_soon_as_every_source_answered() {
    let answers = AsyncScatter::new((0..5).map(|i| async move { i * 10 })).all(soon(60_000)).await;
    let values: Vec<i32> = answers.into_iter().filter_map(Gathered::answer).collect();
    assert_eq!(values, [0, 10, 20, 30, 40]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_ok_drops_the_losers() {
    let drops = Arc::new(AtomicUsize::new(0));
    let sources: Vec<Source<Result<u64, String>>> = [300u64, 2, 200]
        .into_iter()
        .map(|ms| {
            let guard = DropGuard(drops.clone());
            Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(ms)
            }) as Source<_>
        })
        .collect();
    let started = Instant::now();
    let winner = AsyncScatter::new(sources).first_ok(soon(10_000)).await.unwrap();
    assert_eq!(winner, (1, 2));
    assert_eq!(drops.load(Ordering::SeqCst), 3, "winner and both losers dropped by now");
    assert!(started.elapsed() < Duration::from_secs(10), "did not wait for the losers");
}

#[tokio::test]
async fn first_ok_skips_failures_and_reports_them_all_when_nothing_succeeds() {
    let mixed = [Err("a"), Ok(2), Err("c")].map(|answer| async move { answer });
    assert_eq!(AsyncScatter::new(mixed).first_ok(soon(60_000)).await.unwrap(), (1, 2));

    let failing = [Err::<u8, _>("x"), Err("y")].map(|answer| async move { answer });
    let not_enough = AsyncScatter::new(failing).first_ok(soon(60_000)).await.unwrap_err();
    assert!(!not_enough.timed_out);
    assert_eq!(not_enough.failed.len(), 2);
}

#[test]
fn first_ok_leaves_a_ready_losers_value_in_its_channel() {
    // Both receives are ready in the gather's first round: the second must not be polled.
    let (tx1, rx1) = bounded(1);
    let (tx2, rx2) = bounded(1);
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    let winner = block_on(AsyncScatter::new([rx1.recv_async(), rx2.recv_async()]).first_ok(soon(60_000)));
    assert_eq!(winner.unwrap(), (0, 1));
    assert_eq!(rx2.try_recv(), Ok(2), "the loser's value was taken and dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_leaves_every_value_it_does_not_return_in_its_channel() {
    // k + 1 (and more) sources ready in the same round: exactly k values may leave their channels.
    for k in 1..=4 {
        let channels = channels_holding_their_index(5);
        let receives = channels.iter().map(|(_, rx)| rx.recv_async());
        let ok = AsyncScatter::new(receives).quorum(k, soon(60_000)).await.unwrap();
        assert_eq!(ok.len(), k);
        let taken: Vec<usize> = ok.iter().map(|&(index, _)| index).collect();
        assert!(ok.iter().all(|&(index, value)| value == index as u32));
        assert_only_taken_values_left(&channels, &taken);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn quorum_counts_failures_and_stops_at_the_kth_success() {
    // Sources 0 and 2 fail, the rest succeed, all at once: a quorum of 2 is decided by source 3,
    // so source 4 is never polled and keeps its value.
    let channels = channels_holding_their_index(5);
    let receives = channels.iter().map(|(_, rx)| async move {
        let value = rx.recv_async().await.unwrap();
        if value % 2 == 0 && value < 4 { Err(value) } else { Ok(value) }
    });
    let ok = AsyncScatter::new(receives).quorum(2, soon(60_000)).await.unwrap();
    assert_eq!(ok, [(1, 1), (3, 3)]);
    assert_only_taken_values_left(&channels, &[0, 1, 2, 3]);
}

#[test]
fn quorum_larger_than_the_sources_fails_without_polling_them() {
    // As the blocking gather: certain failure at once, nothing gathered, nothing taken.
    let channels = channels_holding_their_index(2);
    let receives = channels.iter().map(|(_, rx)| rx.recv_async());
    let not_enough = block_on(AsyncScatter::new(receives).quorum(3, soon(60_000))).unwrap_err();
    assert!(not_enough.ok.is_empty() && not_enough.failed.is_empty() && !not_enough.timed_out);
    assert_only_taken_values_left(&channels, &[]);
}

#[test]
fn all_at_its_deadline_takes_nothing_from_the_sources_still_out() {
    // `all` has no losers, only latecomers: their pending receives are dropped, and a value
    // sent after the deadline stays in the channel.
    let channels = channels_holding_their_index(2);
    let (late_tx, late_rx) = bounded::<u32>(1);
    let receives = channels.iter().map(|(_, rx)| rx).chain([&late_rx]).map(Receiver::recv_async);
    let answers = block_on(AsyncScatter::new(receives).all(soon(20)));
    assert!(matches!(
        answers[..],
        [Gathered::Answered(Ok(0)), Gathered::Answered(Ok(1)), Gathered::TimedOut]
    ));
    late_tx.send(7).unwrap();
    assert_eq!(late_rx.try_recv(), Ok(7));
}

#[test]
fn dropping_a_gather_drops_every_source_still_out() {
    // Cancel safety: a gather dropped while pending drops its sources (it does not poll them).
    let drops = Arc::new(AtomicUsize::new(0));
    let sources: Vec<Source<Result<u8, ()>>> = (0..3)
        .map(|_| {
            let guard = DropGuard(drops.clone());
            Box::pin(async move {
                let _guard = guard;
                std::future::pending::<Result<u8, ()>>().await
            }) as Source<_>
        })
        .collect();
    let mut gather = Box::pin(AsyncScatter::new(sources).quorum(2, soon(60_000)));
    let waker = std::task::Waker::noop();
    assert!(gather.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(gather);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn quorum_gives_up_as_soon_as_it_cannot_be_reached() {
    // Two quick failures out of three make a quorum of two impossible: no wait for the third.
    let sources: Vec<Source<Result<u8, &str>>> =
        vec![Box::pin(async { Err("no") }), Box::pin(async { Err("no") }), Box::pin(std::future::pending())];
    let started = Instant::now();
    let not_enough = AsyncScatter::new(sources).quorum(2, soon(60_000)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(!not_enough.timed_out);
    assert_eq!(not_enough.failed.len(), 2);
}

#[tokio::test]
async fn quorum_returns_exactly_k_and_times_out_with_what_it_has() {
    let yes = (0..5).map(|i| async move { Ok::<_, ()>(i) });
    assert_eq!(AsyncScatter::new(yes).quorum(3, soon(60_000)).await.unwrap().len(), 3);
    assert!(
        AsyncScatter::new((0..2).map(|i| async move { Ok::<_, ()>(i) }))
            .quorum(0, soon(0))
            .await
            .unwrap()
            .is_empty()
    );

    let sources: Vec<Source<Result<u8, ()>>> =
        vec![Box::pin(async { Ok(1) }), Box::pin(std::future::pending())];
    let partial = AsyncScatter::new(sources).quorum(2, soon(30)).await.unwrap_err();
    assert!(partial.timed_out);
    assert_eq!(partial.ok, [(0, 1)]);
}

#[tokio::test]
async fn a_panicking_source_is_reported_not_propagated() {
    let sources: Vec<Source<Result<u8, ()>>> =
        vec![Box::pin(async { panic!("source 0 failed") }), Box::pin(async { Ok(7) })];
    assert_eq!(AsyncScatter::new(sources).first_ok(soon(60_000)).await.unwrap(), (1, 7));

    let sources: Vec<Source<u8>> = vec![Box::pin(async { panic!("boom") })];
    let answers = AsyncScatter::new(sources).all(soon(60_000)).await;
    assert!(matches!(answers[0], Gathered::Failed(_)));
}

#[test]
fn works_without_a_runtime_on_channels() {
    // Sources are channel receives answered by threads; the gather runs on a minimal executor.
    let (tx_a, rx_a) = bounded(1);
    let (tx_b, rx_b) = bounded(1);
    let answerer = std::thread::spawn(move || {
        tx_b.send(Ok::<u32, &str>(22)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let _ = tx_a.send(Ok(11)); // the gather may be over: the receive future was dropped
    });
    let receive = |rx: ringfence::channel::Receiver<Result<u32, &'static str>>| async move {
        rx.recv_async().await.unwrap_or(Err("disconnected"))
    };
    let winner = block_on(AsyncScatter::new([receive(rx_a), receive(rx_b)]).first_ok(soon(60_000))).unwrap();
    assert_eq!(winner, (1, 22));
    answerer.join().unwrap();
}

/// A pending loser's `Drop` that panics (dropped by the gather once the winner answered) used to
/// unwind out of `first_ok`, losing the winner (here already taken out of its channel).
#[test]
fn a_losers_panicking_drop_does_not_lose_the_winner() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a loser's Drop");
        }
    }
    type Source = Pin<Box<dyn Future<Output = Result<u8, u8>> + Send>>;
    let (tx, rx) = bounded::<u8>(1);
    tx.send(7).unwrap();
    let winner: Source = Box::pin(async move { rx.recv_async().await.map_err(|_| 0) });
    let loser: Source = Box::pin(async {
        let _guard = PanicOnDrop;
        std::future::pending::<()>().await;
        Ok(0)
    });
    let far = Instant::now() + Duration::from_secs(3600);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(AsyncScatter::new([loser, winner]).first_ok(far))
    }));
    assert!(matches!(result, Ok(Ok((1, 7)))), "the loser's Drop panic unwound out of first_ok");
}
