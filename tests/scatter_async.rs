//! Async scatter-gather (`AsyncScatter`): all / first_ok / quorum over futures, losers dropped,
//! panics reported, deadlines honoured, with tokio and with a minimal `block_on`.
#![cfg(not(loom))]

mod async_util;

use async_util::block_on;
use ringfence::channel::bounded;
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
