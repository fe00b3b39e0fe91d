//! The channel's async API: tokio (both runtimes), a minimal `block_on`, async and blocking
//! users on one channel, waker replacement, and cancel safety (every value counted).
#![cfg(not(loom))]

mod async_util;
mod common;

use async_util::{Counter, block_on, counting, poll_once};
use common::flavors;
use ringfence::channel::{Receiver, RecvError, SendError, Sender, bounded};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::thread;
use std::time::Duration;

/// A value that counts its drops.
struct Counted(u64, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker whose `wake` panics: a bug in a user's executor.
struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

#[test]
fn a_waker_that_panics_at_disconnection_keeps_no_other_waiter_asleep() {
    for (name, tx, rx) in flavors::<u64>() {
        let panics = Waker::from(Arc::new(PanicsOnWake));
        let woken = Counter::new();
        let counts = Waker::from(woken.clone());
        let mut first = pin!(rx.recv_async());
        assert!(first.as_mut().poll(&mut Context::from_waker(&panics)).is_pending(), "{name}");
        let mut second = pin!(rx.recv_async());
        assert!(second.as_mut().poll(&mut Context::from_waker(&counts)).is_pending(), "{name}");
        // A blocking receiver too; asleep by the time of the drop, most likely (if it is not
        // yet, it sees the disconnection when it looks: the test passes either way).
        let blocked = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv())
        };
        thread::sleep(Duration::from_millis(20));
        // The waker's panic is caught (and reported by the panic hook): it is not the
        // dropping thread's, and a drop that panics while unwinding would abort.
        drop(tx);
        assert_eq!(woken.wakes(), 1, "{name}: the other future was woken all the same");
        assert_eq!(
            second.as_mut().poll(&mut Context::from_waker(&counts)),
            Poll::Ready(Err(RecvError)),
            "{name}"
        );
        assert_eq!(
            first.as_mut().poll(&mut Context::from_waker(&counts)),
            Poll::Ready(Err(RecvError)),
            "{name}"
        );
        assert_eq!(blocked.join().unwrap(), Err(RecvError), "{name}: the thread was woken");
    }
}

/// A panic payload whose own `Drop` panics: caught panics' payloads are dropped inside a catch
/// too, or dropping one would unwind through the notifier after all.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("this panic payload's drop panics");
    }
}

/// A waker that panics with a [`PanicsOnDrop`] payload.
struct PanicsWithABadPayload;

impl Wake for PanicsWithABadPayload {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(PanicsOnDrop);
    }
}

#[test]
fn a_waker_whose_panic_payload_panics_on_drop_does_not_unwind_through_the_sender() {
    for (name, tx, rx) in flavors::<u64>() {
        if name == "rendezvous" {
            continue; // its send waits for the receive: `try_send` below needs a buffer
        }
        let bad = Waker::from(Arc::new(PanicsWithABadPayload));
        let mut first = pin!(rx.recv_async());
        assert!(first.as_mut().poll(&mut Context::from_waker(&bad)).is_pending(), "{name}");
        // The notify that wakes it must return normally: the value is in, the sender unharmed.
        tx.try_send(1).unwrap();
        let (_, noop) = counting();
        assert_eq!(first.as_mut().poll(&mut Context::from_waker(&noop)), Poll::Ready(Ok(1)), "{name}");
        tx.try_send(2).unwrap();
        assert_eq!(rx.try_recv(), Ok(2), "{name}");
    }
}

/// A `next()` woken for a value and then dropped (a `select!` that another branch won), its
/// stream kept and not polled: the wakeup passes on to the other waiting receiver, which gets
/// the value. (The stream holds the registration between polls; before `next()`'s own drop
/// gave it up, the other receiver slept until the stream was polled again.)
#[test]
fn a_dropped_next_passes_its_wakeup_on_while_its_stream_is_kept() {
    for (name, tx, rx) in flavors::<u64>() {
        if name == "rendezvous" {
            continue; // `try_send` below needs a buffer
        }
        let mut stream = rx.clone().into_stream();
        let (_, noop) = counting();
        let (woken, waker) = counting();
        let mut other = pin!(rx.recv_async());
        {
            let mut next = Box::pin(stream.next());
            assert!(next.as_mut().poll(&mut Context::from_waker(&noop)).is_pending(), "{name}");
            assert!(other.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(), "{name}");
            tx.try_send(1).unwrap(); // wakes the oldest waiter: the stream's `next()`
            assert_eq!(woken.wakes(), 0, "{name}: one value, one wakeup");
        } // the `next()` is dropped, unfinished
        assert_eq!(woken.wakes(), 1, "{name}: the dropped next() passed its wakeup on");
        assert_eq!(other.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(Ok(1)), "{name}");
        // The stream goes on.
        tx.try_send(2).unwrap();
        assert_eq!(block_on(stream.next()), Some(2), "{name}");
    }
}

/// A receive future, boxed.
type Held = Pin<Box<dyn Future<Output = Result<u64, RecvError>> + Send>>;

/// Holds a receive future of the same channel: dropping the waker drops that future, whose drop
/// takes the channel's wait-queue lock.
struct HoldsAFuture {
    _held: std::sync::Mutex<Held>,
}

impl Wake for HoldsAFuture {
    fn wake(self: Arc<Self>) {}
}

/// The queue drops a replaced waker, or the waker of a future that leaves it, after releasing
/// its lock: the waker may be the last reference to another future of the same queue, whose
/// drop takes that lock (it once dropped them under it: a self-deadlock, found by review).
#[test]
fn a_waker_the_queue_drops_may_drop_a_future_of_the_same_queue() {
    common::within(common::WATCHDOG, || {
        for (name, tx, rx) in flavors::<u64>() {
            let rx: &'static Receiver<u64> = Box::leak(Box::new(rx));
            let (_, noop) = counting();
            let holder = |rx: &'static Receiver<u64>| {
                let mut held: Held = Box::pin(rx.recv_async());
                assert!(held.as_mut().poll(&mut Context::from_waker(&noop)).is_pending());
                Waker::from(Arc::new(HoldsAFuture { _held: std::sync::Mutex::new(held) }))
            };
            // Replaced at a re-poll with another waker.
            let mut future = Box::pin(rx.recv_async());
            assert!(future.as_mut().poll(&mut Context::from_waker(&holder(rx))).is_pending(), "{name}");
            assert!(future.as_mut().poll(&mut Context::from_waker(&noop)).is_pending(), "{name}");
            drop(future); // leaves the queue too (its waker now is `noop`)
            // Dropped with its future, which leaves the queue.
            let mut future = Box::pin(rx.recv_async());
            assert!(future.as_mut().poll(&mut Context::from_waker(&holder(rx))).is_pending(), "{name}");
            drop(future);
            // The channel works on.
            let sender = thread::spawn(move || tx.send(3));
            assert_eq!(rx.recv(), Ok(3), "{name}");
            sender.join().unwrap().unwrap();
        }
    });
}

/// A waker whose `clone` panics: a bug in a user's executor, met when a future registers.
fn waker_whose_clone_panics() -> Waker {
    unsafe fn clone(_: *const ()) -> RawWaker {
        panic!("this waker's clone panics")
    }
    unsafe fn ignore(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, ignore, ignore, ignore);
    // SAFETY: no function of the vtable reads the data pointer, so a null one is valid for
    // every call; `wake`, `wake_by_ref` and `drop` do nothing, which is a valid waker.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// Polls `future` with [`waker_whose_clone_panics`]; `true` when the clone's panic reached the
/// poll (caught here).
fn poll_with_a_waker_whose_clone_panics<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        future.poll(&mut Context::from_waker(&waker_whose_clone_panics()))
    }))
    .is_err()
}

/// A receive and a send future whose first registration met a waker whose clone panicked:
/// polled again with a sound waker, each waits, is woken and completes, on every flavor, and
/// the channel goes on working. (The channel counts a waiting future before it registers, so
/// the panic leaves the future counted and unregistered; found by review in the nineteenth
/// session: a debug assertion then failed the second poll, and a second poll would have
/// counted the future twice.)
#[test]
fn a_future_whose_wakers_clone_panicked_can_be_polled_again() {
    for (name, tx, rx) in flavors::<u64>() {
        let woken = Counter::new();
        let sound = Waker::from(woken.clone());
        let mut recv = pin!(rx.recv_async());
        assert!(
            poll_with_a_waker_whose_clone_panics(recv.as_mut()),
            "{name}: the clone's panic reaches the poll"
        );
        assert!(recv.as_mut().poll(&mut Context::from_waker(&sound)).is_pending(), "{name}");
        let sender = {
            let tx = tx.clone();
            thread::spawn(move || tx.send(7))
        };
        while woken.wakes() == 0 {
            thread::yield_now();
        }
        assert_eq!(recv.as_mut().poll(&mut Context::from_waker(&sound)), Poll::Ready(Ok(7)), "{name}");
        sender.join().unwrap().unwrap();
        // The channel still works both ways, async and blocking.
        if name == "rendezvous" {
            continue;
        }
        tx.try_send(8).unwrap();
        assert_eq!(block_on(rx.recv_async()), Ok(8), "{name}");
    }
    // A send future on a full channel, the same way.
    let (tx, rx) = bounded::<u64>(1);
    tx.try_send(1).unwrap();
    let woken = Counter::new();
    let sound = Waker::from(woken.clone());
    let mut send = pin!(tx.send_async(2));
    assert!(poll_with_a_waker_whose_clone_panics(send.as_mut()), "the clone's panic reaches the poll");
    assert!(send.as_mut().poll(&mut Context::from_waker(&sound)).is_pending());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(woken.wakes(), 1, "the pop woke the send future");
    assert_eq!(send.as_mut().poll(&mut Context::from_waker(&sound)), Poll::Ready(Ok(())));
    assert_eq!(rx.recv(), Ok(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_spsc_every_flavor_in_order() {
    for (name, tx, rx) in flavors::<u64>() {
        let producer = tokio::spawn(async move {
            for i in 0..20_000u64 {
                tx.send_async(i).await.unwrap();
            }
        });
        let mut expected = 0;
        while let Ok(value) = rx.recv_async().await {
            assert_eq!(value, expected, "{name}: out of order");
            expected += 1;
        }
        producer.await.unwrap();
        assert_eq!(expected, 20_000, "{name}: values lost");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn async_spsc_on_one_thread() {
    for (name, tx, rx) in flavors::<u64>() {
        let producer = tokio::spawn(async move {
            for i in 0..5_000u64 {
                tx.send_async(i).await.unwrap();
            }
        });
        let mut sum = 0;
        while let Ok(value) = rx.recv_async().await {
            sum += value;
        }
        producer.await.unwrap();
        assert_eq!(sum, 5_000 * 4_999 / 2, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_mpmc_every_value_once() {
    for (name, tx, rx) in flavors::<u64>() {
        let senders: Vec<_> = (0..4u64)
            .map(|id| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0..5_000u64 {
                        tx.send_async(id * 1_000_000 + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(value) = rx.recv_async().await {
                        got.push(value);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for sender in senders {
            sender.await.unwrap();
        }
        let mut all = Vec::new();
        for receiver in receivers {
            all.extend(receiver.await.unwrap());
        }
        all.sort_unstable();
        let expected: Vec<u64> =
            (0..4u64).flat_map(|id| (0..5_000).map(move |i| id * 1_000_000 + i)).collect();
        assert_eq!(all, expected, "{name}: a value lost or duplicated");
    }
}

#[test]
fn blocking_and_async_users_share_a_channel() {
    for (name, tx, rx) in flavors::<u64>() {
        // Blocking threads send, an async task (minimal executor) and a blocking thread receive.
        let senders: Vec<_> = (0..2u64)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || (0..5_000u64).for_each(|i| tx.send(id * 100_000 + i).unwrap()))
            })
            .collect();
        let async_sender = {
            let tx = tx.clone();
            thread::spawn(move || {
                block_on(async {
                    for i in 0..5_000u64 {
                        tx.send_async(900_000 + i).await.unwrap();
                    }
                })
            })
        };
        drop(tx);
        let blocking_receiver = {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().collect::<Vec<_>>())
        };
        let mut got = block_on(async {
            let mut got = Vec::new();
            while let Ok(value) = rx.recv_async().await {
                got.push(value);
            }
            got
        });
        senders.into_iter().for_each(|s| s.join().unwrap());
        async_sender.join().unwrap();
        got.extend(blocking_receiver.join().unwrap());
        got.sort_unstable();
        let mut expected: Vec<u64> =
            (0..2u64).flat_map(|id| (0..5_000).map(move |i| id * 100_000 + i)).collect();
        expected.extend(900_000..905_000);
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn only_the_latest_waker_is_woken() {
    for (name, tx, rx) in flavors::<u64>() {
        let first = Counter::new();
        let second = Counter::new();
        let mut future = pin!(rx.recv_async());
        let first_waker = Waker::from(first.clone());
        assert!(future.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending(), "{name}");
        let second_waker = Waker::from(second.clone());
        assert!(future.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending(), "{name}");
        // A sender thread: on a rendezvous channel `send` waits for the receive.
        let sender = thread::spawn(move || tx.send(5).unwrap());
        while second.wakes() == 0 {
            thread::yield_now();
        }
        assert_eq!(first.wakes(), 0, "{name}: the replaced waker was woken");
        assert_eq!(
            future.as_mut().poll(&mut Context::from_waker(&second_waker)),
            Poll::Ready(Ok(5)),
            "{name}"
        );
        sender.join().unwrap();
    }
}

#[test]
fn disconnection_wakes_a_pending_receiver_and_sender() {
    for (name, tx, rx) in flavors::<u64>() {
        let woken = Counter::new();
        let waker = Waker::from(woken.clone());
        let mut future = pin!(rx.recv_async());
        assert!(future.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        drop(tx);
        assert_eq!(woken.wakes(), 1, "{name}");
        assert_eq!(
            future.as_mut().poll(&mut Context::from_waker(&waker)),
            Poll::Ready(Err(RecvError)),
            "{name}"
        );
    }
    for capacity in [0, 1] {
        let (tx, rx) = bounded(capacity);
        if capacity == 1 {
            tx.send(0u64).unwrap();
        }
        let woken = Counter::new();
        let waker = Waker::from(woken.clone());
        let mut future = pin!(tx.send_async(9));
        assert!(future.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        drop(rx);
        assert!(woken.wakes() >= 1, "capacity {capacity}");
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(Err(error)) => assert_eq!(error.into_inner(), 9),
            other => panic!("capacity {capacity}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_receives_lose_nothing() {
    // Receives raced against a short timer in a loop: every value sent arrives exactly once.
    for (name, tx, rx) in flavors::<u64>() {
        const N: u64 = 2_000;
        let producer = tokio::spawn(async move {
            for i in 0..N {
                tx.send_async(i).await.unwrap();
                if i % 256 == 0 {
                    // Longer than the receiver's timer (tokio rounds it up to 1 ms): some
                    // receives are cancelled for sure.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }
        });
        let mut got = Vec::new();
        let mut cancelled = 0u64;
        loop {
            tokio::select! {
                value = rx.recv_async() => match value {
                    Ok(value) => got.push(value),
                    Err(RecvError) => break,
                },
                () = tokio::time::sleep(Duration::from_micros(20)) => cancelled += 1,
            }
        }
        producer.await.unwrap();
        assert!(
            got == (0..N).collect::<Vec<_>>(),
            "{name}: {} of {N} received (after {cancelled} cancels)",
            got.len()
        );
        assert!(cancelled > 0, "{name}: no receive was cancelled, so nothing was tested");
    }
}

/// Receives every value's id until disconnection, pausing 3 ms every 50 values: longer than
/// the senders' timers (1 ms once tokio rounds them), so bounded sends are cancelled for sure.
async fn receive_slowly(rx: Receiver<Counted>) -> Vec<u64> {
    let mut got = Vec::new();
    while let Ok(value) = rx.recv_async().await {
        got.push(value.0);
        if got.len() % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_sends_send_or_drop_each_value_once() {
    // Sends raced against a short timer: each value is received or dropped unsent, exactly once.
    for (name, tx, rx) in flavors::<Counted>() {
        let drops = Arc::new(AtomicUsize::new(0));
        const N: u64 = 2_000;
        let receiver = tokio::spawn(receive_slowly(rx));
        let mut sent = Vec::new();
        let mut cancelled = 0;
        for i in 0..N {
            let value = Counted(i, drops.clone());
            tokio::select! {
                result = tx.send_async(value) => {
                    result.unwrap();
                    sent.push(i);
                }
                () = tokio::time::sleep(Duration::from_micros(10)) => cancelled += 1,
            }
        }
        // An unbounded send is always ready at once: nothing to cancel there.
        assert!(name == "unbounded" || cancelled > 0, "{name}: no send was cancelled, so nothing was tested");
        drop(tx);
        let got = receiver.await.unwrap();
        let in_order = got.windows(2).all(|pair| pair[0] < pair[1]);
        assert!(in_order, "{name}: a value received twice or out of order");
        if name == "rendezvous" {
            // A send dropped while a receiver was taking its value was sent (documented).
            let missing = sent.iter().filter(|i| got.binary_search(i).is_err()).count();
            assert_eq!(missing, 0, "{name}: a completed send was not received");
        } else {
            assert!(got == sent, "{name}: received {} values, {} sends completed", got.len(), sent.len());
        }
        assert_eq!(drops.load(Ordering::SeqCst), N as usize, "{name}: a value was dropped twice or leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_sends_give_back_every_unsent_value() {
    // As above, but each losing send is ended with `cancel`: every value is received or handed
    // back, exactly once, and none is dropped by the channel.
    for (name, tx, rx) in flavors::<Counted>() {
        let drops = Arc::new(AtomicUsize::new(0));
        const N: u64 = 2_000;
        let receiver = tokio::spawn(receive_slowly(rx));
        let mut given_back = Vec::new();
        for i in 0..N {
            let mut send = tx.send_async(Counted(i, drops.clone()));
            tokio::select! {
                result = &mut send => result.unwrap(),
                () = tokio::time::sleep(Duration::from_micros(10)) => {
                    if let Some(value) = send.cancel() {
                        given_back.push(value.0);
                        std::mem::forget(value); // counted below as given back, not dropped
                    }
                }
            }
        }
        assert!(
            name == "unbounded" || !given_back.is_empty(),
            "{name}: no send was cancelled, so nothing was tested"
        );
        drop(tx);
        let mut got = receiver.await.unwrap();
        assert!(
            got.windows(2).all(|pair| pair[0] < pair[1]),
            "{name}: a value received twice or out of order"
        );
        got.extend(&given_back);
        got.sort_unstable();
        assert!(got == (0..N).collect::<Vec<_>>(), "{name}: a value lost or both sent and given back");
        let dropped = drops.load(Ordering::SeqCst);
        assert_eq!(dropped + given_back.len(), N as usize, "{name}: a value was dropped twice or leaked");
    }
}

#[test]
fn cancel_returns_the_value_only_when_it_was_not_sent() {
    let mut cx = Context::from_waker(Waker::noop());
    for (name, tx, rx) in flavors::<u64>() {
        // Never polled: not sent.
        assert_eq!(tx.send_async(1).cancel(), Some(1), "{name}");
        assert!(rx.try_recv().is_err(), "{name}");
        if name == "rendezvous" {
            // Polled: the value waits in the hand-over slot; the cancel takes it back.
            let mut send = tx.send_async(2);
            assert!(Pin::new(&mut send).poll(&mut cx).is_pending(), "{name}");
            assert_eq!(send.cancel(), Some(2), "{name}");
            assert!(rx.try_recv().is_err(), "{name}: the slot was emptied");
            // Taken by a receiver before the cancel: sent.
            let mut send = tx.send_async(3);
            assert!(Pin::new(&mut send).poll(&mut cx).is_pending(), "{name}");
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            };
            assert_eq!(receiver.join().unwrap(), Ok(3), "{name}");
            assert_eq!(send.cancel(), None, "{name}: the value was sent");
        } else {
            // Ready at once: sent, nothing to give back.
            let mut send = tx.send_async(2);
            assert_eq!(Pin::new(&mut send).poll(&mut cx), Poll::Ready(Ok(())), "{name}");
            assert_eq!(send.cancel(), None, "{name}");
            assert_eq!(rx.try_recv(), Ok(2), "{name}");
        }
        if let Some(capacity) = tx.capacity().filter(|&capacity| capacity > 0) {
            // Pending on a full channel: not sent, and the channel holds what it held.
            for i in 0..capacity as u64 {
                tx.send(10 + i).unwrap();
            }
            let mut send = tx.send_async(4);
            assert!(Pin::new(&mut send).poll(&mut cx).is_pending(), "{name}");
            assert_eq!(send.cancel(), Some(4), "{name}");
            assert_eq!(rx.len(), capacity, "{name}");
            assert_eq!(
                rx.try_iter().collect::<Vec<_>>(),
                (10..10 + capacity as u64).collect::<Vec<_>>(),
                "{name}"
            );
        }
        // Disconnected: the error carried the value, nothing left to give back.
        drop(rx);
        let mut send = tx.send_async(5);
        assert_eq!(Pin::new(&mut send).poll(&mut cx), Poll::Ready(Err(SendError(5))), "{name}");
        assert_eq!(send.cancel(), None, "{name}");
    }
}

#[test]
fn a_sinks_cancelled_send_comes_back_and_the_sink_goes_on() {
    let mut cx = Context::from_waker(Waker::noop());
    for (name, tx, rx) in flavors::<u64>() {
        let mut sink = tx.sink();
        assert_eq!(sink.cancel_send(), None, "{name}: nothing held");
        sink.start_send_value(1);
        assert_eq!(sink.cancel_send(), Some(1), "{name}: held, not flushed");
        // Pending on a full channel (rendezvous: its value waits in the slot), taken back.
        if let Some(capacity) = tx.capacity() {
            for i in 0..capacity as u64 {
                tx.send(10 + i).unwrap();
            }
            sink.start_send_value(2);
            assert!(sink.poll_flush_value(&mut cx).is_pending(), "{name}: full");
            assert_eq!(sink.cancel_send(), Some(2), "{name}");
            assert_eq!(rx.try_iter().count(), capacity, "{name}: only what was sent before");
        }
        // The sink goes on.
        let receiver = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv())
        };
        sink.start_send_value(3);
        assert_eq!(block_on(std::future::poll_fn(|cx| sink.poll_flush_value(cx))), Ok(()), "{name}");
        assert_eq!(receiver.join().unwrap(), Ok(3), "{name}");
        assert_eq!(sink.cancel_send(), None, "{name}: sent");
    }
}

#[test]
fn a_rendezvous_sinks_send_taken_before_the_cancel_was_sent() {
    let mut cx = Context::from_waker(Waker::noop());
    let (tx, rx) = bounded::<u64>(0);
    let mut sink = tx.sink();
    sink.start_send_value(1);
    assert!(sink.poll_flush_value(&mut cx).is_pending(), "the value waits in the hand-over slot");
    // One send at a time: a second value while the first sits in the slot is refused.
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.start_send_value(9)));
    assert!(refused.is_err(), "start_send while a rendezvous flush is in progress");
    let receiver = {
        let rx = rx.clone();
        thread::spawn(move || rx.recv())
    };
    assert_eq!(receiver.join().unwrap(), Ok(1));
    assert_eq!(sink.cancel_send(), None, "a receiver took it: sent, nothing to give back");
    // The sink goes on.
    sink.start_send_value(2);
    assert!(sink.poll_flush_value(&mut cx).is_pending());
    let receiver = thread::spawn(move || rx.recv());
    assert_eq!(block_on(std::future::poll_fn(|cx| sink.poll_flush_value(cx))), Ok(()));
    assert_eq!(receiver.join().unwrap(), Ok(2));
}

#[test]
fn try_send_never_waits_for_a_pending_receive_future() {
    // A rendezvous `try_send` hands over only to a thread blocked in `recv`: a pending
    // `recv_async` is polled by an executor, maybe the very thread that calls `try_send`, so
    // waiting for it could hang forever. It reports `Full` at once; `send_async` reaches it.
    let (tx, rx) = bounded::<u64>(0);
    let woken = Counter::new();
    let waker = Waker::from(woken.clone());
    let mut future = pin!(rx.recv_async());
    assert!(future.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(tx.try_send(1), Err(ringfence::channel::TrySendError::Full(1)));
    let mut send = pin!(tx.send_async(2));
    assert!(send.as_mut().poll(&mut Context::from_waker(Waker::noop())).is_pending());
    assert_eq!(woken.wakes(), 1, "the placed value wakes the receive");
    assert_eq!(future.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(Ok(2)));
    assert_eq!(send.as_mut().poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(Ok(())));
    // The other flavors have room: the pending receive gets the `try_send`'s value.
    for (name, tx, rx) in flavors::<u64>().into_iter().skip(1) {
        let woken = Counter::new();
        let waker = Waker::from(woken.clone());
        let mut future = pin!(rx.recv_async());
        assert!(future.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(), "{name}");
        assert_eq!(tx.try_send(3), Ok(()), "{name}");
        assert_eq!(woken.wakes(), 1, "{name}");
        assert_eq!(future.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(Ok(3)), "{name}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn try_send_beside_a_receive_task_on_one_thread() {
    // The reviewer's hang: a receive task waits, and a task on the same thread calls
    // `try_send` (which used to wait for that receive to be polled: forever).
    let (tx, rx) = bounded::<u64>(0);
    let receiver = tokio::spawn(async move { rx.recv_async().await });
    tokio::task::yield_now().await; // the receive is pending now
    assert!(tx.try_send(1).is_err(), "no thread is blocked in `recv`");
    tx.send_async(2).await.unwrap();
    assert_eq!(receiver.await.unwrap(), Ok(2));
}

#[test]
fn a_send_future_polled_after_completion_panics_and_leaves_the_channel_working() {
    for (name, tx, rx) in flavors::<u64>() {
        let receiver = thread::spawn(move || {
            let first = rx.recv();
            (first, rx)
        });
        let mut send = Box::pin(tx.send_async(1));
        let waker = Waker::from(Counter::new());
        // A rendezvous send completes once the receiver thread took the value.
        while send.as_mut().poll(&mut Context::from_waker(&waker)).is_pending() {
            thread::yield_now();
        }
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = send.as_mut().poll(&mut Context::from_waker(&waker));
        }));
        let message = again.expect_err("a second poll must panic");
        let text = message
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| message.downcast_ref::<String>().cloned());
        assert_eq!(text.as_deref(), Some("a send future polled after it completed"), "{name}");
        drop(send); // must not wait for anything
        let (first, rx) = receiver.join().unwrap();
        assert_eq!(first, Ok(1), "{name}");
        // The channel still works: the re-poll touched nothing.
        let receiver = thread::spawn(move || rx.recv());
        tx.send(2).unwrap();
        assert_eq!(receiver.join().unwrap(), Ok(2), "{name}");
    }
}

#[test]
fn a_woken_receive_dropped_passes_its_wakeup_on() {
    for (name, tx, rx) in flavors::<u64>() {
        let first = Counter::new();
        let second = Counter::new();
        let first_waker = Waker::from(first.clone());
        let second_waker = Waker::from(second.clone());
        let mut a = Box::pin(rx.recv_async());
        let mut b = Box::pin(rx.recv_async());
        assert!(a.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
        assert!(b.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending());
        let sender = thread::spawn(move || tx.send(1).unwrap());
        while first.wakes() == 0 {
            thread::yield_now();
        }
        drop(a); // woken for the value, never polled again
        while second.wakes() == 0 {
            thread::yield_now();
        }
        assert_eq!(b.as_mut().poll(&mut Context::from_waker(&second_waker)), Poll::Ready(Ok(1)), "{name}");
        sender.join().unwrap();
    }
}

// A receive future holds nothing while it waits: a value stays in the channel until the poll that
// returns it, whoever receives it meanwhile, and a dropped future leaves it there.

#[test]
fn a_receive_dropped_after_its_wakeup_leaves_the_value_first_in_line() {
    // (A zero-capacity channel's `try_send` needs a receiver blocked in the hand-over slot.)
    for (name, tx, rx) in flavors::<u64>().into_iter().filter(|(name, ..)| *name != "rendezvous") {
        let (counter, waker) = counting();
        let mut future = rx.recv_async(); // `Unpin`
        assert!(poll_once(&mut future, &waker).is_pending(), "{name}");
        tx.try_send(1).unwrap();
        assert_eq!(counter.wakes(), 1, "{name}: the send woke the waiting future");
        drop(future); // woken for the value, never polled again
        let room = name != "bounded(1)";
        if room {
            tx.try_send(2).unwrap();
        }
        assert_eq!(rx.len(), 1 + usize::from(room), "{name}: the values are in the channel");
        assert_eq!(rx.try_recv(), Ok(1), "{name}: the value was not lost, and leaves first");
        if room {
            assert_eq!(rx.try_recv(), Ok(2), "{name}");
        }
        assert!(rx.is_empty(), "{name}");
    }
}

#[test]
fn a_pending_receive_holds_no_value_back() {
    // The task that owns a pending receive future receives through another path before it
    // polls the future again: the oldest value comes first (the future holds nothing), and
    // the future gets the next one. (A design that handed values to waiting futures failed
    // this: docs/benchmarks.md, twenty-fourth session.)
    let (tx, rx) = bounded(2);
    let (counter, waker) = counting();
    let mut future = rx.recv_async(); // `Unpin`
    assert!(poll_once(&mut future, &waker).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(counter.wakes(), 1, "the send woke the waiting future");
    tx.try_send(2).unwrap();
    assert_eq!(rx.len(), 2, "both values are in the channel");
    assert_eq!(rx.recv(), Ok(1), "the oldest value, not held by the pending future");
    assert_eq!(poll_once(&mut future, &waker), Poll::Ready(Ok(2)));
    assert!(rx.is_empty());
}

#[test]
fn a_value_a_dropped_receive_was_woken_for_is_dropped_once_with_the_channel() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(1);
    let (_counter, waker) = counting();
    let mut future = rx.recv_async(); // `Unpin`
    assert!(poll_once(&mut future, &waker).is_pending());
    tx.try_send(Counted(1, drops.clone())).unwrap_or_else(|_| panic!("the channel has room"));
    drop(future); // woken for the value, never polled again
    assert_eq!(rx.len(), 1, "the value is still in the channel");
    assert_eq!(drops.load(Ordering::SeqCst), 0, "nothing dropped yet");
    drop(rx); // the last receiver drains the channel
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once, by the last receiver's drain");
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// A task that sends `0..n` and notifies the returned `Notify` after every `every`-th value
/// (the receive loops' other `select!` branch).
fn spawn_nudging_producer(
    tx: Sender<u64>,
    n: u64,
    every: u64,
) -> (tokio::task::JoinHandle<()>, Arc<tokio::sync::Notify>) {
    let nudge = Arc::new(tokio::sync::Notify::new());
    let producer = tokio::spawn({
        let nudge = nudge.clone();
        async move {
            for i in 0..n {
                tx.send_async(i).await.unwrap();
                if i % every == 0 {
                    nudge.notify_one();
                }
            }
        }
    });
    (producer, nudge)
}

#[tokio::test(flavor = "current_thread")]
async fn a_select_loop_at_capacity_one_receives_every_value_in_order() {
    // One thread. The producer task sends (waking the waiting receive future), then every
    // seventh value notifies the other branch, which `biased` polls first: the woken receive
    // future is dropped before it takes its value. Every value arrives once, in order.
    const N: u64 = 20_000;
    let (tx, rx) = bounded(1);
    let (producer, notify) = spawn_nudging_producer(tx, N, 7);
    let mut got = Vec::with_capacity(N as usize);
    let mut cancelled = 0u64;
    loop {
        tokio::select! {
            biased;
            () = notify.notified() => cancelled += 1,
            value = rx.recv_async() => match value {
                Ok(value) => got.push(value),
                Err(RecvError) => break,
            },
        }
    }
    producer.await.unwrap();
    assert!(got == (0..N).collect::<Vec<_>>(), "{} of {N} received in order", got.len());
    assert!(cancelled > 0, "no receive was cancelled, so nothing was tested");
}

/// One receiver task keeps a pending `recv_async` across the iterations of its `select!` loop
/// and, when the producer nudges it, drains with `try_recv` while that future sits unpolled.
/// At a small capacity (one receiver) the future parks a request, and a value handed to it
/// stays the channel's front: the drain takes it (oldest first) and the future starts over;
/// at capacity 64 it waits the ordinary way. Every value arrives once, in the order it was sent.
async fn drain_beside_a_pending_receive(capacity: usize) {
    const N: u64 = 20_000;
    let (tx, rx) = bounded(capacity);
    let (producer, nudge) = spawn_nudging_producer(tx, N, 5);
    let mut got = Vec::with_capacity(N as usize);
    let mut drains = 0u64;
    let mut pending = pin!(rx.recv_async());
    loop {
        tokio::select! {
            biased;
            () = nudge.notified() => {
                drains += 1;
                got.extend(rx.try_iter());
            }
            value = &mut pending => match value {
                Ok(value) => {
                    got.push(value);
                    pending.set(rx.recv_async());
                }
                Err(RecvError) => break,
            },
        }
    }
    producer.await.unwrap();
    assert!(got == (0..N).collect::<Vec<_>>(), "{} of {N} received in order", got.len());
    assert!(drains > 0, "the pending future was never left unpolled, so nothing was tested");
}

#[tokio::test(flavor = "current_thread")]
async fn a_drain_beside_a_pending_receive_keeps_the_order_on_one_thread() {
    for capacity in [1, 2, 64] {
        drain_beside_a_pending_receive(capacity).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_beside_a_pending_receive_keeps_the_order_on_two_workers() {
    for capacity in [1, 2, 64] {
        drain_beside_a_pending_receive(capacity).await;
    }
}

#[test]
fn stream_ends_at_disconnection() {
    for (name, tx, rx) in flavors::<u64>() {
        let producer = thread::spawn(move || (0..100).for_each(|i| tx.send(i).unwrap()));
        let got = block_on(async {
            let mut stream = rx.stream();
            let mut got = Vec::new();
            while let Some(value) = stream.next().await {
                got.push(value);
            }
            assert!(stream.is_terminated());
            assert_eq!(stream.next().await, None, "stays ended");
            got
        });
        producer.join().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "{name}");
    }
}

#[test]
fn sink_sends_every_value() {
    for (name, tx, rx) in flavors::<u64>() {
        let consumer = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        block_on(async {
            let mut sink = tx.into_sink();
            for i in 0..100 {
                std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap();
                sink.start_send_value(i);
            }
            std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap();
        });
        assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>(), "{name}");
    }
}

#[test]
fn closing_an_owned_sink_disconnects_the_channel_while_the_sink_lives() {
    for (name, tx, rx) in flavors::<u64>() {
        let consumer = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        let sink = block_on(async {
            let mut sink = tx.into_sink();
            for i in 0..10 {
                std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await.unwrap();
                sink.start_send_value(i);
            }
            std::future::poll_fn(|cx| sink.poll_close_value(cx)).await.unwrap();
            assert!(sink.is_closed(), "{name}");
            // Closing again is a no-op; a value given after the close comes back.
            assert_eq!(std::future::poll_fn(|cx| sink.poll_close_value(cx)).await, Ok(()), "{name}");
            sink.start_send_value(99);
            assert_eq!(std::future::poll_fn(|cx| sink.poll_flush_value(cx)).await, Err(SendError(99)));
            sink
        });
        // The consumer's iterator ends while the sink still exists: the close dropped the
        // only sender.
        assert_eq!(consumer.join().unwrap(), (0..10).collect::<Vec<_>>(), "{name}");
        drop(sink);
    }
}

#[test]
fn closing_a_borrowing_sink_leaves_the_sender_and_the_channel_open() {
    for (name, tx, rx) in flavors::<u64>() {
        let mut sink = tx.sink();
        assert_eq!(block_on(std::future::poll_fn(|cx| sink.poll_close_value(cx))), Ok(()), "{name}");
        assert!(sink.is_closed(), "{name}");
        drop(sink);
        assert!(!rx.is_disconnected(), "{name}: the borrowed sender still lives");
        if tx.capacity() != Some(0) {
            tx.send(1).unwrap();
            assert_eq!(rx.recv(), Ok(1), "{name}");
        }
    }
}

#[cfg(feature = "futures")]
#[test]
fn futures_traits() {
    use futures_core::Stream;
    use futures_sink::Sink;
    let (tx, rx) = bounded::<u64>(2);
    let consumer = thread::spawn(move || {
        block_on(async {
            let mut stream = pin!(rx.into_stream());
            assert_eq!(stream.size_hint(), (0, None));
            let mut got = Vec::new();
            while let Some(value) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                got.push(value);
            }
            assert_eq!(stream.size_hint(), (0, Some(0)), "ended: nothing more");
            got
        })
    });
    block_on(async {
        let mut sink = pin!(tx.into_sink());
        for i in 0..50 {
            std::future::poll_fn(|cx| sink.as_mut().poll_ready(cx)).await.unwrap();
            sink.as_mut().start_send(i).unwrap();
        }
        std::future::poll_fn(|cx| sink.as_mut().poll_close(cx)).await.unwrap();
        assert_eq!(sink.as_mut().start_send(50), Err(SendError(50)), "closed: the value comes back");
    });
    assert_eq!(consumer.join().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn closed_resolves_when_every_receiver_is_gone_and_not_before() {
    for (name, tx, rx) in flavors::<u64>() {
        let woken = Counter::new();
        let waker = Waker::from(woken.clone());
        let mut closed = pin!(tx.closed());
        assert!(closed.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(), "{name}");
        // Traffic on the channel does not wake it (it waits in a queue of its own).
        let rx2 = rx.clone();
        if tx.try_send(1).is_ok() {
            assert_eq!(rx2.try_recv(), Ok(1), "{name}");
        }
        drop(rx);
        assert!(
            closed.as_mut().poll(&mut Context::from_waker(&waker)).is_pending(),
            "{name}: a receiver is left"
        );
        drop(rx2);
        assert_eq!(woken.wakes(), 1, "{name}: the last receiver's drop woke it");
        assert_eq!(closed.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(()), "{name}");
        // Ready at once on a disconnected channel.
        assert_eq!(pin!(tx.closed()).poll(&mut Context::from_waker(&waker)), Poll::Ready(()), "{name}");
    }
}

/// A send that finds the ring full while the parked receive holds a value for its woken owner
/// yields once (wakes itself, registers nothing) instead of waiting: the receiver is about to
/// make room. Polled again while still full, it waits the ordinary way and is woken by the
/// receive that makes room. Dropped after the yield, it sent nothing.
#[test]
fn a_send_yields_once_to_a_woken_receiver_then_waits() {
    let (tx, rx) = bounded::<u32>(1);
    let (recv_wakes, recv_waker) = counting();
    let mut receiving = Box::pin(rx.recv_async());
    assert!(poll_once(&mut receiving, &recv_waker).is_pending(), "parks its request");
    tx.try_send(1).unwrap(); // fills the request: the receiver's front value, its task woken
    assert_eq!(recv_wakes.wakes(), 1);
    tx.try_send(2).unwrap(); // the ring's one slot
    let (send_wakes, send_waker) = counting();
    let mut sending = Box::pin(tx.send_async(3));
    assert!(poll_once(&mut sending, &send_waker).is_pending());
    assert_eq!(send_wakes.wakes(), 1, "the yield wakes its own task at once");
    assert!(format!("{sending:?}").contains("waiting: false"), "a yield registers nothing: {sending:?}");
    // Polled again before the receiver ran: it waits, registered, until a receive makes room.
    assert!(poll_once(&mut sending, &send_waker).is_pending());
    assert_eq!(send_wakes.wakes(), 1, "no second yield");
    assert!(format!("{sending:?}").contains("waiting: true"), "{sending:?}");
    assert_eq!(poll_once(&mut receiving, &recv_waker), Poll::Ready(Ok(1)));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(send_wakes.wakes(), 2, "the receive that made room woke the waiting send");
    assert_eq!(poll_once(&mut sending, &send_waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(3));

    // A send dropped after its yield sent nothing.
    let mut receiving = Box::pin(rx.recv_async());
    assert!(poll_once(&mut receiving, &recv_waker).is_pending());
    tx.try_send(4).unwrap();
    tx.try_send(5).unwrap();
    let mut yielded = Box::pin(tx.send_async(6));
    assert!(poll_once(&mut yielded, &send_waker).is_pending());
    drop(yielded);
    assert_eq!(poll_once(&mut receiving, &recv_waker), Poll::Ready(Ok(4)));
    assert_eq!(rx.try_recv(), Ok(5));
    assert!(rx.try_recv().is_err(), "the dropped send's value never got in");
}

/// A sink's values each get their own first wait: the yield to a woken receiver (above) is
/// per value, not once per sink.
#[test]
fn a_sink_yields_once_per_value_to_a_woken_receiver() {
    let (tx, rx) = bounded::<u32>(1);
    let mut sink = tx.sink();
    let (recv_wakes, recv_waker) = counting();
    let (send_wakes, send_waker) = counting();
    let mut cx = Context::from_waker(&send_waker);
    for round in 0..2u32 {
        let mut receiving = Box::pin(rx.recv_async());
        assert!(poll_once(&mut receiving, &recv_waker).is_pending(), "parks its request");
        tx.try_send(round * 10).unwrap(); // fills the request: the receiver is woken
        tx.try_send(round * 10 + 1).unwrap(); // the ring's one slot
        sink.start_send_value(round * 10 + 2);
        let before = send_wakes.wakes();
        assert!(sink.poll_flush_value(&mut cx).is_pending());
        assert_eq!(send_wakes.wakes(), before + 1, "round {round}: the value's flush yields once");
        assert_eq!(poll_once(&mut receiving, &recv_waker), Poll::Ready(Ok(round * 10)));
        assert_eq!(rx.try_recv(), Ok(round * 10 + 1));
        assert_eq!(sink.poll_flush_value(&mut cx), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv(), Ok(round * 10 + 2));
    }
    assert!(recv_wakes.wakes() >= 2);
}

/// From the yield's review: a send on a channel closed while the receiver was woken must fail
/// with its value at once, not yield (the inline push fails on a closed ring too).
#[test]
fn a_send_on_a_closed_channel_fails_at_once_even_when_a_receiver_was_woken() {
    let (tx, rx) = bounded::<u32>(1);
    let (_recv_wakes, recv_waker) = counting();
    let mut receiving = Box::pin(rx.recv_async());
    assert!(poll_once(&mut receiving, &recv_waker).is_pending());
    tx.try_send(1).unwrap(); // fills the parked request: the receiver is woken
    assert!(tx.close());
    let (_send_wakes, send_waker) = counting();
    let mut sending = Box::pin(tx.send_async(7));
    assert_eq!(poll_once(&mut sending, &send_waker), Poll::Ready(Err(SendError(7))));
    // The lane's `NOTIFIED`, a larger ring with room: the same.
    let (tx, rx) = bounded::<u32>(8);
    let mut receiving = Box::pin(rx.recv_async());
    let mut other = Box::pin(rx.recv_async());
    assert!(poll_once(&mut receiving, &recv_waker).is_pending());
    assert!(poll_once(&mut other, &recv_waker).is_pending());
    tx.try_send(1).unwrap();
    assert!(tx.close());
    let mut sending = Box::pin(tx.send_async(8));
    assert_eq!(poll_once(&mut sending, &send_waker), Poll::Ready(Err(SendError(8))));
}
