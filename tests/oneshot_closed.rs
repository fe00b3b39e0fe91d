//! `oneshot::Sender::closed` / `poll_closed`: a sender waits for its receiver to go. The
//! protocol's races are loom models (`loom-tests/oneshot.rs`, `closed_*`); these tests check the
//! behaviour a user sees, with a minimal `block_on` and with tokio.

mod async_util;

use async_util::{block_on, counting, held, poll_once};
use ringfence::oneshot;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

fn poll_closed<T>(tx: &mut oneshot::Sender<T>, waker: &std::task::Waker) -> Poll<()> {
    tx.poll_closed(&mut Context::from_waker(waker))
}

#[test]
fn closed_is_ready_at_once_when_the_receiver_is_already_gone() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    drop(rx);
    let (counter, waker) = counting();
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Ready(()));
    assert_eq!(held(&counter), 0, "a ready poll keeps no waker");
    assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
}

#[test]
fn receiver_drop_wakes_the_registered_waker_once_and_releases_it() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting();
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending);
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending); // same waker: kept, not cloned again
    assert_eq!(held(&counter), 1);
    drop(rx);
    assert_eq!(counter.wakes(), 1);
    assert_eq!(held(&counter), 0, "the woken waker was not released");
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Ready(()));
    assert!(tx.is_closed());
}

#[test]
fn a_replaced_waker_is_dropped_and_only_the_latest_is_woken() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (first, first_waker) = counting();
    let (second, second_waker) = counting();
    assert_eq!(poll_closed(&mut tx, &first_waker), Poll::Pending);
    assert_eq!(poll_closed(&mut tx, &second_waker), Poll::Pending);
    assert_eq!(held(&first), 0, "the replaced waker was not dropped");
    drop(rx);
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(held(&second), 0);
}

#[test]
fn a_value_taken_by_the_receiver_never_wakes_the_closed_waker() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting();
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending);
    tx.send(5).unwrap();
    assert_eq!(held(&counter), 1, "the block keeps the waker until it is freed");
    assert_eq!(rx.recv(), Ok(5));
    assert_eq!(counter.wakes(), 0);
    assert_eq!(held(&counter), 0, "the freed block dropped the waker");
}

#[test]
fn a_sender_dropped_while_registered_releases_its_waker() {
    for receiver_first in [false, true] {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let (counter, waker) = counting();
        assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending);
        if receiver_first {
            drop(rx);
            drop(tx);
            assert_eq!(counter.wakes(), 1);
        } else {
            drop(tx);
            assert_eq!(rx.recv(), Err(oneshot::RecvError));
            assert_eq!(counter.wakes(), 0);
        }
        assert_eq!(held(&counter), 0, "waker leaked (receiver first: {receiver_first})");
    }
}

#[test]
fn a_dropped_closed_future_leaves_only_a_spurious_wakeup() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let (counter, waker) = counting();
    let mut closed = tx.closed();
    assert_eq!(poll_once(&mut closed, &waker), Poll::Pending);
    drop(closed);
    // The sender still works, and the receiver still receives.
    tx.send(3).unwrap();
    assert_eq!(rx.recv(), Ok(3));
    assert_eq!(counter.wakes(), 0);
    assert_eq!(held(&counter), 0);
}

#[test]
fn block_on_closed_wakes_when_another_thread_drops_the_receiver() {
    for delay_us in [0, 50, 2_000] {
        let (mut tx, rx) = oneshot::channel::<u8>();
        let dropper = thread::spawn(move || {
            thread::sleep(Duration::from_micros(delay_us));
            drop(rx);
        });
        block_on(tx.closed());
        assert!(tx.is_closed());
        dropper.join().unwrap();
    }
}

/// The receiver parks in a blocking receive while the sender registers and re-registers its
/// waker (each changes the futex word the receiver sleeps on), then sends: the value arrives.
#[test]
fn a_blocked_receiver_is_not_disturbed_by_closed_registrations() {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let receiver = thread::spawn(move || rx.recv_timeout(Duration::from_secs(30)));
    for _ in 0..1_000 {
        let (_, waker) = counting();
        assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending);
    }
    thread::sleep(Duration::from_millis(5));
    let (_, waker) = counting();
    assert_eq!(poll_closed(&mut tx, &waker), Poll::Pending);
    tx.send(11).unwrap();
    assert_eq!(receiver.join().unwrap(), Ok(11));
}

/// Many pairs, both sides on their own threads, the receiver dropped or receiving at a random
/// moment while the sender waits in `closed()` against its work: every value is received or
/// handed back, exactly once, and no task hangs.
#[test]
fn stress_closed_against_receiver_drop_and_send() {
    let received = Arc::new(AtomicUsize::new(0));
    let returned = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    const PAIRS: usize = 2_000;
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..PAIRS {
            let (mut tx, rx) = oneshot::channel::<usize>();
            let returned = returned.clone();
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    () = tx.closed() => {
                        assert!(tx.send(i).is_err(), "closed() resolved, so send must fail");
                        returned.fetch_add(1, Ordering::SeqCst);
                    }
                    () = async { for _ in 0..i % 4 { tokio::task::yield_now().await; } } => {
                        match tx.send(i) {
                            Ok(()) => {}
                            Err(err) => {
                                assert_eq!(err.into_inner(), i);
                                returned.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
            }));
            let received = received.clone();
            tasks.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    for _ in 0..i % 3 {
                        tokio::task::yield_now().await;
                    }
                    drop(rx);
                } else if let Ok(value) = rx.await {
                    assert_eq!(value, i);
                    received.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task).await.expect("no task hangs").unwrap();
        }
    });
    let (received, returned) = (received.load(Ordering::SeqCst), returned.load(Ordering::SeqCst));
    // Odd pairs always receive (the receiver waits for the value); even pairs drop the receiver,
    // so their value is handed back, or was sent before the drop and dropped with the receiver.
    assert_eq!(received, PAIRS / 2);
    assert!(returned <= PAIRS / 2);
}

#[tokio::test]
async fn tokio_select_abandons_work_when_the_caller_gives_up() {
    let (mut reply, answer) = oneshot::channel::<u64>();
    let worker = tokio::spawn(async move {
        tokio::select! {
            () = reply.closed() => None,
            () = tokio::time::sleep(Duration::from_secs(60)) => Some(reply.send(1).is_ok()),
        }
    });
    tokio::task::yield_now().await;
    drop(answer);
    let outcome =
        tokio::time::timeout(Duration::from_secs(30), worker).await.expect("closed() woke").unwrap();
    assert_eq!(outcome, None);
}

#[test]
fn closed_future_is_send_sync_and_unpin() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<oneshot::ClosedFuture<'static, String>>();
}
