#![cfg(not(loom))]
//! Integration tests of `ringfence::oneshot`: API behaviour, drops, async (tokio and a minimal
//! hand-written `block_on`), the "never dropped on the sender's thread" guarantee, and stress.

use ringfence::oneshot::{self, RecvError, RecvTimeoutError, SendError, TryRecvError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Counts drops and remembers the dropping threads.
#[derive(Default)]
struct Drops {
    count: AtomicUsize,
    threads: Mutex<Vec<thread::ThreadId>>,
}

impl Drops {
    fn new() -> Arc<Self> {
        Arc::new(Drops::default())
    }
    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

struct Probe(u64, Arc<Drops>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.1.threads.lock().unwrap().push(thread::current().id());
        self.1.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts wakes and unparks a thread.
struct ThreadWaker {
    thread: thread::Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn thread_waker() -> (Arc<ThreadWaker>, Waker) {
    let inner = Arc::new(ThreadWaker { thread: thread::current(), wakes: AtomicUsize::new(0) });
    (inner.clone(), Waker::from(inner))
}

/// The minimal executor: poll, park until woken, poll again.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let (_, waker) = thread_waker();
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

fn poll_once<T>(rx: &mut oneshot::Receiver<T>, waker: &Waker) -> Poll<Result<T, RecvError>> {
    Pin::new(rx).poll(&mut Context::from_waker(waker))
}

// ---------------------------------------------------------------------------------------------
// API behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn send_then_recv_delivers_the_value() {
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(String::from("hi")).is_ok());
    assert_eq!(rx.recv().unwrap(), "hi");
}

#[test]
fn send_after_receiver_drop_returns_the_value() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    let err = tx.send(vec![1, 2, 3]).unwrap_err();
    assert_eq!(err, SendError(vec![1, 2, 3]));
    assert_eq!(err.into_inner(), [1, 2, 3]);
}

#[test]
fn try_recv_reports_empty_then_value_then_disconnected() {
    let (tx, mut rx) = oneshot::channel();
    assert!(!rx.is_ready());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)); // empty is not final
    tx.send(9).unwrap();
    assert!(rx.is_ready());
    assert_eq!(rx.try_recv(), Ok(9));
    assert!(rx.is_ready());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv_timeout(Duration::ZERO), Err(RecvTimeoutError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn sender_drop_disconnects_every_receive_flavour() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert!(rx.is_ready());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Err(RecvTimeoutError::Disconnected));
    let (tx, mut rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.recv_deadline(Instant::now()), Err(RecvTimeoutError::Disconnected));
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.recv(), Err(RecvError));
    let (tx, rx) = oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(block_on(rx), Err(RecvError));
}

#[test]
fn recv_timeout_times_out_and_stays_usable() {
    let (tx, mut rx) = oneshot::channel();
    let start = Instant::now();
    assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Err(RecvTimeoutError::Timeout));
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(rx.recv_deadline(Instant::now()), Err(RecvTimeoutError::Timeout)); // past deadline
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1u8).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Ok(1));
}

#[test]
fn recv_timeout_duration_max_waits_forever_without_panicking() {
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(30));
        tx.send(5u32).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(5));
    sender.join().unwrap();
}

#[test]
fn recv_timeout_wakes_on_a_late_send() {
    let (tx, mut rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20)); // past the spin: the receiver is parked
        tx.send(77u32).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(77));
    sender.join().unwrap();
}

#[test]
fn blocking_recv_wakes_on_sender_drop() {
    let (tx, rx) = oneshot::channel::<u32>();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(tx);
    });
    assert_eq!(rx.recv(), Err(RecvError));
    sender.join().unwrap();
}

#[test]
fn errors_display_lowercase_without_period_and_debug_without_t_debug() {
    struct NotDebug;
    let (tx, rx) = oneshot::channel();
    drop(rx);
    let err = tx.send(NotDebug).unwrap_err();
    assert_eq!(format!("{err:?}"), "SendError(..)");
    let messages = [
        err.to_string(),
        RecvError.to_string(),
        TryRecvError::Empty.to_string(),
        TryRecvError::Disconnected.to_string(),
        RecvTimeoutError::Timeout.to_string(),
        RecvTimeoutError::Disconnected.to_string(),
    ];
    for m in messages {
        assert!(m.starts_with(|c: char| c.is_lowercase()), "{m}");
        assert!(!m.ends_with('.'), "{m}");
    }
    let _: &dyn std::error::Error = &RecvError;
    let _: &dyn std::error::Error = &TryRecvError::Empty;
    let _: &dyn std::error::Error = &RecvTimeoutError::Timeout;
    assert!(TryRecvError::Empty.is_empty() && TryRecvError::Disconnected.is_disconnected());
    assert!(RecvTimeoutError::Timeout.is_timeout() && RecvTimeoutError::Disconnected.is_disconnected());
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Disconnected);
    assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Disconnected);
}

#[test]
fn handles_debug_without_t_debug_and_are_send_sync() {
    struct NotDebug;
    let (tx, rx) = oneshot::channel::<NotDebug>();
    assert_eq!(format!("{tx:?}"), "Sender { closed: false }");
    assert_eq!(format!("{rx:?}"), "Receiver { ready: false }");
    fn send_sync<T: Send + Sync>() {}
    send_sync::<oneshot::Sender<Vec<u8>>>();
    send_sync::<oneshot::Receiver<Vec<u8>>>();
    fn unpin<T: Unpin>() {}
    unpin::<oneshot::Receiver<std::marker::PhantomPinned>>();
}

#[test]
fn zero_sized_and_large_values() {
    let (tx, rx) = oneshot::channel();
    tx.send(()).unwrap();
    assert_eq!(rx.recv(), Ok(()));
    let (tx, rx) = oneshot::channel();
    tx.send([7u8; 4096]).unwrap();
    assert_eq!(rx.recv().unwrap()[4095], 7);
}

// ---------------------------------------------------------------------------------------------
// Drops: exactly once, and never on the sender's thread after `Ok`
// ---------------------------------------------------------------------------------------------

#[test]
fn unreceived_value_is_dropped_once_with_the_receiver() {
    let drops = Drops::new();
    let (tx, rx) = oneshot::channel();
    tx.send(Probe(1, drops.clone())).unwrap();
    assert_eq!(drops.count(), 0);
    drop(rx);
    assert_eq!(drops.count(), 1);
}

#[test]
fn value_dropped_once_when_both_dropped_in_either_order() {
    for receiver_first in [false, true] {
        let drops = Drops::new();
        let (tx, rx) = oneshot::channel();
        if receiver_first {
            drop(rx);
            drop(tx.send(Probe(1, drops.clone())).unwrap_err());
        } else {
            tx.send(Probe(1, drops.clone())).unwrap();
            drop(rx);
        }
        assert_eq!(drops.count(), 1);
    }
}

#[test]
fn value_is_never_dropped_on_the_sender_thread_when_send_returns_ok() {
    const ROUNDS: usize = 2_000;
    let drops = Drops::new();
    let mut sender_ids = Vec::new();
    for round in 0..ROUNDS {
        let (tx, rx) = oneshot::channel();
        let value = Probe(round as u64, drops.clone());
        let go = Arc::new(Barrier::new(2));
        let go2 = go.clone();
        let sender = thread::spawn(move || {
            go2.wait();
            (tx.send(value).is_ok(), thread::current().id())
        });
        go.wait();
        if round % 2 == 0 {
            thread::yield_now();
        }
        drop(rx); // races the send
        let (ok, id) = sender.join().unwrap();
        if ok {
            sender_ids.push(id);
        }
    }
    assert_eq!(drops.count(), ROUNDS);
    let threads = drops.threads.lock().unwrap();
    for id in &sender_ids {
        assert!(!threads.contains(id), "a value sent with Ok was dropped on the sender's thread");
    }
}

// ---------------------------------------------------------------------------------------------
// Async: the minimal block_on, manual wakers, tokio
// ---------------------------------------------------------------------------------------------

#[test]
fn block_on_receives_a_value_sent_later_from_another_thread() {
    let (tx, rx) = oneshot::channel();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(123u32).unwrap();
    });
    assert_eq!(block_on(rx), Ok(123));
    sender.join().unwrap();
}

#[test]
fn replaced_waker_is_dropped_and_only_the_latest_is_woken() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (first, first_waker) = thread_waker();
    let (second, second_waker) = thread_waker();
    assert!(poll_once(&mut rx, &first_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 3); // ours, first_waker, the cell's clone
    assert!(poll_once(&mut rx, &second_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 2, "the replaced waker was not dropped");
    assert_eq!(Arc::strong_count(&second), 3);
    assert!(poll_once(&mut rx, &second_waker).is_pending()); // same waker: kept, not re-cloned
    assert_eq!(Arc::strong_count(&second), 3);
    tx.send(1).unwrap();
    assert_eq!(first.wakes.load(Ordering::SeqCst), 0);
    assert_eq!(second.wakes.load(Ordering::SeqCst), 1);
    assert_eq!(Arc::strong_count(&second), 2, "the woken waker was not released");
    assert_eq!(poll_once(&mut rx, &second_waker), Poll::Ready(Ok(1)));
    // Polled after completion: Ready(Err), no panic.
    assert_eq!(poll_once(&mut rx, &second_waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn sender_drop_wakes_the_pending_task() {
    let (tx, mut rx) = oneshot::channel::<u8>();
    let (counter, waker) = thread_waker();
    assert!(poll_once(&mut rx, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.wakes.load(Ordering::SeqCst), 1);
    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn receiver_dropped_after_poll_releases_waker_and_value() {
    let drops = Drops::new();
    let (tx, mut rx) = oneshot::channel();
    let (counter, waker) = thread_waker();
    assert!(poll_once(&mut rx, &waker).is_pending());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(Probe(1, drops.clone())).unwrap_err().into_inner().0, 1);
    assert_eq!(Arc::strong_count(&counter), 2, "waker leaked");
    assert_eq!(drops.count(), 1);
}

#[test]
fn poll_then_blocking_recv_uses_the_thread_path() {
    let (tx, mut rx) = oneshot::channel();
    let (counter, waker) = thread_waker();
    assert!(poll_once(&mut rx, &waker).is_pending());
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(4u8).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(4));
    sender.join().unwrap();
    // The stale waker may get one spurious wake if the value lands during the spin, before the
    // blocking path takes the waker back; it must not be leaked either way.
    assert!(counter.wakes.load(Ordering::SeqCst) <= 1);
    assert_eq!(Arc::strong_count(&counter), 2, "waker leaked");
}

#[tokio::test]
async fn tokio_await_receives_from_a_task() {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        tokio::task::yield_now().await;
        tx.send("pong").unwrap();
    });
    assert_eq!(rx.await, Ok("pong"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_await_receives_from_a_blocking_thread() {
    let (tx, rx) = oneshot::channel();
    tokio::task::spawn_blocking(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(42u64).unwrap();
    });
    assert_eq!(rx.await, Ok(42));
}

#[tokio::test]
async fn tokio_select_timer_wins_then_the_receiver_is_reused() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    tokio::select! {
        _ = &mut rx => panic!("nothing was sent"),
        _ = tokio::time::sleep(Duration::from_millis(10)) => {}
    }
    // Cancel safety: the receiver polled by the losing branch still works.
    tx.send(3).unwrap();
    assert_eq!((&mut rx).await, Ok(3));
}

#[tokio::test]
async fn tokio_select_receiver_wins_over_a_timer() {
    let (tx, rx) = oneshot::channel::<u32>();
    tokio::spawn(async move { tx.send(8).unwrap() });
    tokio::select! {
        got = rx => assert_eq!(got, Ok(8)),
        _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("the value never arrived"),
    }
}

#[tokio::test]
async fn tokio_dropped_future_drops_the_value_once() {
    let drops = Drops::new();
    let (tx, rx) = oneshot::channel();
    tokio::select! {
        _ = rx => panic!("nothing was sent yet"),
        _ = tokio::time::sleep(Duration::from_millis(1)) => {}
    } // the receiver (future) is dropped here
    assert!(tx.is_closed());
    assert!(tx.send(Probe(1, drops.clone())).is_err());
    assert_eq!(drops.count(), 1);
}

#[tokio::test]
async fn tokio_sender_drop_resolves_with_recv_error() {
    let (tx, rx) = oneshot::channel::<u8>();
    tokio::spawn(async move { drop(tx) });
    assert_eq!(rx.await, Err(RecvError));
}

// ---------------------------------------------------------------------------------------------
// Stress: many cells handed between threads, every value received exactly once
// ---------------------------------------------------------------------------------------------

/// Cells per stress test (each one crosses threads).
const STRESS_CELLS: u64 = 20_000;
/// Upper bound on a stress test's run time; it fails rather than hang.
const STRESS_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn stress_blocking_request_reply_every_value_once() {
    // A "server" thread receives request cells (each carrying a reply Sender) through a
    // oneshot chain and replies; the client blocks on each reply. Every reply is checked.
    let start = Instant::now();
    let (req_tx, req_rx) = std::sync::mpsc::channel::<(u64, oneshot::Sender<u64>)>();
    let server = thread::spawn(move || {
        for (n, reply) in req_rx {
            if n % 3 == 0 {
                thread::yield_now(); // sometimes the client parks
            }
            reply.send(n * 2 + 1).unwrap();
        }
    });
    let mut sum = 0u64;
    for n in 0..STRESS_CELLS {
        let (tx, rx) = oneshot::channel();
        req_tx.send((n, tx)).unwrap();
        let got = rx.recv().unwrap();
        assert_eq!(got, n * 2 + 1);
        sum += got;
    }
    drop(req_tx);
    server.join().unwrap();
    assert_eq!(sum, STRESS_CELLS * STRESS_CELLS);
    assert!(start.elapsed() < STRESS_LIMIT);
}

#[test]
fn stress_receivers_and_senders_moved_across_threads() {
    // Make cells on one thread, send the Senders to a pool of 2 senders and the Receivers to
    // 2 receivers (mixing recv, recv_timeout, try_recv polling and block_on); count drops.
    const THREADS: usize = 2;
    let start = Instant::now();
    let drops = Drops::new();
    let received = Arc::new(AtomicUsize::new(0));
    let checksum = Arc::new(AtomicUsize::new(0));
    let (stx, srx) = std::sync::mpsc::channel::<(oneshot::Sender<Probe>, u64)>();
    let (rtx, rrx) = std::sync::mpsc::channel::<(oneshot::Receiver<Probe>, u64)>();
    let srx = Arc::new(Mutex::new(srx));
    let rrx = Arc::new(Mutex::new(rrx));
    let mut handles = Vec::new();
    for _ in 0..THREADS {
        let srx = srx.clone();
        let drops = drops.clone();
        handles.push(thread::spawn(move || {
            loop {
                let next = srx.lock().unwrap().recv();
                let Ok((tx, n)) = next else { break };
                tx.send(Probe(n, drops.clone())).map_err(|_| ()).expect("receivers never drop here");
            }
        }));
    }
    for worker in 0..THREADS {
        let rrx = rrx.clone();
        let received = received.clone();
        let checksum = checksum.clone();
        handles.push(thread::spawn(move || {
            loop {
                let next = rrx.lock().unwrap().recv();
                let Ok((mut rx, n)) = next else { break };
                let value = match (n as usize + worker) % 4 {
                    0 => rx.recv().unwrap(),
                    1 => loop {
                        match rx.recv_timeout(Duration::from_micros(50)) {
                            Ok(v) => break v,
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    },
                    2 => loop {
                        match rx.try_recv() {
                            Ok(v) => break v,
                            Err(TryRecvError::Empty) => thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    },
                    _ => block_on(rx).unwrap(),
                };
                assert_eq!(value.0, n);
                checksum.fetch_add(n as usize, Ordering::Relaxed);
                received.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for n in 0..STRESS_CELLS {
        let (tx, rx) = oneshot::channel();
        // Alternate which side gets there first.
        if n % 2 == 0 {
            rtx.send((rx, n)).unwrap();
            stx.send((tx, n)).unwrap();
        } else {
            stx.send((tx, n)).unwrap();
            rtx.send((rx, n)).unwrap();
        }
    }
    drop(stx);
    drop(rtx);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(received.load(Ordering::SeqCst), STRESS_CELLS as usize);
    assert_eq!(checksum.load(Ordering::SeqCst) as u64, STRESS_CELLS * (STRESS_CELLS - 1) / 2);
    assert_eq!(drops.count(), STRESS_CELLS as usize, "every value dropped exactly once");
    assert!(start.elapsed() < STRESS_LIMIT);
}

#[test]
fn stress_send_races_receiver_drop_and_poll() {
    // The sender races a receiver that polls once then drops: each value is either returned to
    // the sender or dropped by the receiver, exactly once.
    let start = Instant::now();
    let drops = Drops::new();
    let go = Arc::new(Barrier::new(2));
    let (pairs_tx, pairs_rx) = std::sync::mpsc::channel::<oneshot::Receiver<Probe>>();
    let go2 = go.clone();
    let receiver = thread::spawn(move || {
        let (_, waker) = thread_waker();
        for mut rx in pairs_rx {
            go2.wait();
            let _ = poll_once(&mut rx, &waker);
            drop(rx);
        }
    });
    let mut returned = 0usize;
    for n in 0..STRESS_CELLS / 4 {
        let (tx, rx) = oneshot::channel();
        pairs_tx.send(rx).unwrap();
        go.wait();
        if let Err(e) = tx.send(Probe(n, drops.clone())) {
            returned += 1;
            drop(e);
        }
    }
    drop(pairs_tx);
    receiver.join().unwrap();
    assert_eq!(drops.count(), (STRESS_CELLS / 4) as usize);
    assert!(returned <= (STRESS_CELLS / 4) as usize);
    assert!(start.elapsed() < STRESS_LIMIT);
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);
impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A task polls (Pending: "I will be woken"), then, before returning to its executor, tries a
/// non-blocking `recv_timeout(ZERO)` (or any timed receive that times out). The value is then
/// sent: the task must be woken, since its last poll returned Pending and nothing un-did that.
#[test]
fn timed_out_recv_timeout_keeps_the_task_registered() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    assert!(Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(rx.recv_timeout(Duration::ZERO), Err(RecvTimeoutError::Timeout));
    tx.send(1).unwrap();
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the pending task was never woken: lost wakeup");
    assert_eq!(Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)), Poll::Ready(Ok(1)));
}

/// A waker whose `wake` panics (an executor's bug).
struct WakePanics;

impl Wake for WakePanics {
    fn wake(self: Arc<Self>) {
        panic!("an executor bug: wake panics");
    }
}

/// The receiver's waker panicking in `send`'s wake: the value was delivered, so `send` returns
/// `Ok` instead of unwinding.
#[test]
fn a_panicking_waker_does_not_unwind_out_of_send() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let waker = Waker::from(Arc::new(WakePanics));
    assert!(Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)).is_pending());
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.send(7)));
    assert!(matches!(sent, Ok(Ok(()))), "send unwound although it delivered the value");
    assert_eq!(rx.try_recv(), Ok(7));
}

/// The same waker woken by a sender dropped while its thread unwinds: caught, so no second
/// panic aborts the process (the test binary would die).
#[test]
fn a_panicking_waker_does_not_unwind_out_of_a_sender_dropped_while_unwinding() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let waker = Waker::from(Arc::new(WakePanics));
    assert!(Pin::new(&mut rx).poll(&mut Context::from_waker(&waker)).is_pending());
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _tx = tx;
        panic!("the producer crashed");
    }));
    assert_eq!(crashed.unwrap_err().downcast_ref::<&str>(), Some(&"the producer crashed"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// The sender's `closed()` waker panicking when the receiver is dropped.
#[test]
fn a_panicking_waker_does_not_unwind_out_of_a_receiver_drop() {
    let (mut tx, rx) = oneshot::channel::<u32>();
    let waker = Waker::from(Arc::new(WakePanics));
    {
        let closed = tx.closed();
        let mut closed = std::pin::pin!(closed);
        assert!(closed.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    }
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rx)));
    assert!(dropped.is_ok(), "the receiver's drop unwound");
    assert!(tx.is_closed());
}
