//! `ringfence::oneshot` side by side with its peers: the `oneshot` crate, `tokio::sync::oneshot`,
//! `futures_channel::oneshot` and `crossbeam_channel::bounded(1)`, each workload one criterion
//! group so the ratios come from one run.
//!
//! Workloads: `create` (make a pair, drop both), `send_recv` (make, send, receive on one thread),
//! `send_closed` (make, drop the receiver, send fails), `try_recv_empty` (one cell, polled empty),
//! `reply_now` / `reply_after_20us` (a request/reply ping-pong between two threads, both started
//! outside the timed region: the request cell carries the reply cell and the next request cell,
//! so one iteration is two cross-thread hand-offs and two cells made; the responder busy-polls
//! its requests, the client blocks on each reply), and `async_pending_wake`
//! (poll a pending receiver on a current-thread tokio runtime, send, poll it ready).
//!
//! The `oneshot` crate is built with its `std` and `async` features, so it takes part in every
//! group (in `send_recv` its `try_recv` stands in for `recv`, as the value is already there).
//!
//! Run: `cargo bench --bench oneshot -- --warm-up-time 1 --measurement-time 2`.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Single-thread workloads
// ---------------------------------------------------------------------------------------------

fn create(c: &mut Criterion) {
    let mut g = c.benchmark_group("oneshot/create");
    g.throughput(Throughput::Elements(1));
    // Criterion's `iter` already passes each pair through `black_box`. A second `black_box`
    // around it made the pair a 16-byte reload right after its two 8-byte stores (a store-
    // forwarding stall, half the samples of ringfence's row in `perf annotate`; the `oneshot`
    // crate's pair happened to be copied with 8-byte moves): 19 ns against 12 for the same code.
    g.bench_function("ringfence", |b| b.iter(ringfence::oneshot::channel::<u64>));
    g.bench_function("oneshot", |b| b.iter(oneshot::channel::<u64>));
    g.bench_function("tokio", |b| b.iter(tokio::sync::oneshot::channel::<u64>));
    g.bench_function("futures", |b| b.iter(futures_channel::oneshot::channel::<u64>));
    g.bench_function("crossbeam", |b| b.iter(|| crossbeam_channel::bounded::<u64>(1)));
    g.finish();
}

fn send_recv(c: &mut Criterion) {
    let mut g = c.benchmark_group("oneshot/send_recv");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ringfence", |b| {
        b.iter(|| {
            let (tx, rx) = ringfence::oneshot::channel();
            tx.send(black_box(7u64)).unwrap();
            rx.recv().unwrap()
        })
    });
    g.bench_function("ringfence_try_recv", |b| {
        b.iter(|| {
            let (tx, mut rx) = ringfence::oneshot::channel();
            tx.send(black_box(7u64)).unwrap();
            rx.try_recv().unwrap()
        })
    });
    g.bench_function("oneshot", |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel();
            tx.send(black_box(7u64)).unwrap();
            rx.try_recv().unwrap()
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            let (tx, mut rx) = tokio::sync::oneshot::channel();
            tx.send(black_box(7u64)).unwrap();
            rx.try_recv().unwrap()
        })
    });
    g.bench_function("futures", |b| {
        b.iter(|| {
            let (tx, mut rx) = futures_channel::oneshot::channel();
            tx.send(black_box(7u64)).unwrap();
            rx.try_recv().unwrap().unwrap()
        })
    });
    g.bench_function("crossbeam", |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            tx.send(black_box(7u64)).unwrap();
            rx.recv().unwrap()
        })
    });
    g.finish();
}

fn send_closed(c: &mut Criterion) {
    let mut g = c.benchmark_group("oneshot/send_closed");
    g.throughput(Throughput::Elements(1));
    g.bench_function("ringfence", |b| {
        b.iter(|| {
            let (tx, rx) = ringfence::oneshot::channel();
            drop(rx);
            tx.send(black_box(7u64)).unwrap_err().into_inner()
        })
    });
    g.bench_function("oneshot", |b| {
        b.iter(|| {
            let (tx, rx) = oneshot::channel();
            drop(rx);
            tx.send(black_box(7u64)).unwrap_err().into_inner()
        })
    });
    g.bench_function("tokio", |b| {
        b.iter(|| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            drop(rx);
            tx.send(black_box(7u64)).unwrap_err()
        })
    });
    g.bench_function("futures", |b| {
        b.iter(|| {
            let (tx, rx) = futures_channel::oneshot::channel();
            drop(rx);
            tx.send(black_box(7u64)).unwrap_err()
        })
    });
    g.bench_function("crossbeam", |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded(1);
            drop(rx);
            tx.send(black_box(7u64)).unwrap_err().into_inner()
        })
    });
    g.finish();
}

fn try_recv_empty(c: &mut Criterion) {
    let mut g = c.benchmark_group("oneshot/try_recv_empty");
    g.throughput(Throughput::Elements(1));
    {
        let (_tx, mut rx) = ringfence::oneshot::channel::<u64>();
        g.bench_function("ringfence", |b| b.iter(|| black_box(&mut rx).try_recv().is_err()));
    }
    {
        let (_tx, rx) = oneshot::channel::<u64>();
        g.bench_function("oneshot", |b| b.iter(|| black_box(&rx).try_recv().is_err()));
    }
    {
        let (_tx, mut rx) = tokio::sync::oneshot::channel::<u64>();
        g.bench_function("tokio", |b| b.iter(|| black_box(&mut rx).try_recv().is_err()));
    }
    {
        let (_tx, mut rx) = futures_channel::oneshot::channel::<u64>();
        g.bench_function("futures", |b| b.iter(|| matches!(black_box(&mut rx).try_recv(), Ok(None))));
    }
    {
        let (_tx, rx) = crossbeam_channel::bounded::<u64>(1);
        g.bench_function("crossbeam", |b| b.iter(|| black_box(&rx).try_recv().is_err()));
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Cross-thread request/reply
// ---------------------------------------------------------------------------------------------

/// A oneshot implementation with a blocking receive, generic over the value type.
trait Peer: 'static {
    type Tx<T: Send + 'static>: Send + 'static;
    type Rx<T: Send + 'static>: Send + 'static;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>);
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T);
    /// Blocks; `None` when the sender is gone.
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T>;
    /// Non-blocking; `Err(())` when the sender is gone, `Ok(None)` when nothing is there yet.
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()>;
}

/// Busy-polls `rx` with `try_recv` (a server that is awake when the request comes).
fn poll_recv<P: Peer, T: Send + 'static>(mut rx: P::Rx<T>) -> Option<T> {
    loop {
        match P::try_recv(&mut rx) {
            Ok(Some(value)) => return Some(value),
            Ok(None) => std::hint::spin_loop(),
            Err(()) => return None,
        }
    }
}

/// One request: the payload, where to reply, and where the next request will come from.
struct Request<P: Peer> {
    n: u64,
    reply: P::Tx<u64>,
    next: P::Rx<Request<P>>,
}

struct Ringfence;
impl Peer for Ringfence {
    type Tx<T: Send + 'static> = ringfence::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = ringfence::oneshot::Receiver<T>;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        ringfence::oneshot::channel()
    }
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok());
    }
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()> {
        match rx.try_recv() {
            Ok(value) => Ok(Some(value)),
            Err(ringfence::oneshot::TryRecvError::Empty) => Ok(None),
            Err(ringfence::oneshot::TryRecvError::Disconnected) => Err(()),
        }
    }
}

struct Tokio;
impl Peer for Tokio {
    type Tx<T: Send + 'static> = tokio::sync::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::oneshot::Receiver<T>;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::oneshot::channel()
    }
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok());
    }
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.blocking_recv().ok()
    }
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()> {
        match rx.try_recv() {
            Ok(value) => Ok(Some(value)),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => Ok(None),
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => Err(()),
        }
    }
}

struct Futures;
impl Peer for Futures {
    type Tx<T: Send + 'static> = futures_channel::oneshot::Sender<T>;
    type Rx<T: Send + 'static> = futures_channel::oneshot::Receiver<T>;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        futures_channel::oneshot::channel()
    }
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok());
    }
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        // futures-channel has no blocking receive: block on the future (park/unpark), as
        // `futures::executor::block_on` does.
        block_on(rx).ok()
    }
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()> {
        rx.try_recv().map_err(|_| ())
    }
}

struct Crossbeam;
impl Peer for Crossbeam {
    type Tx<T: Send + 'static> = crossbeam_channel::Sender<T>;
    type Rx<T: Send + 'static> = crossbeam_channel::Receiver<T>;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        crossbeam_channel::bounded(1)
    }
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok());
    }
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()> {
        match rx.try_recv() {
            Ok(value) => Ok(Some(value)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err(()),
        }
    }
}

struct OneshotCrate;
impl Peer for OneshotCrate {
    type Tx<T: Send + 'static> = oneshot::Sender<T>;
    type Rx<T: Send + 'static> = oneshot::Receiver<T>;
    fn make<T: Send + 'static>() -> (Self::Tx<T>, Self::Rx<T>) {
        oneshot::channel()
    }
    fn send<T: Send + 'static>(tx: Self::Tx<T>, value: T) {
        assert!(tx.send(value).is_ok());
    }
    fn recv<T: Send + 'static>(rx: Self::Rx<T>) -> Option<T> {
        rx.recv().ok()
    }
    fn try_recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Result<Option<T>, ()> {
        match rx.try_recv() {
            Ok(value) => Ok(Some(value)),
            Err(oneshot::TryRecvError::Empty) => Ok(None),
            Err(oneshot::TryRecvError::Disconnected) => Err(()),
        }
    }
}

struct ThreadWaker(thread::Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}

/// Busy-waits `d` (a reply that takes that long to compute; sleeping would add timer slack).
fn busy_wait(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// `iters` request/reply round trips; the responder thread is started (and released by a
/// barrier) outside the timed region. The responder busy-polls for the next request (it is awake
/// when the request comes, as a busy server is), so what differs between peers is the client's
/// *blocking* receive of the reply: caught while spinning, or parked and woken.
fn ping_pong<P: Peer>(iters: u64, delay: Duration) -> Duration {
    let (first_tx, first_rx) = P::make::<Request<P>>();
    let barrier = Arc::new(Barrier::new(2));
    let responder = {
        let barrier = barrier.clone();
        thread::spawn(move || {
            barrier.wait();
            let mut next = first_rx;
            let mut served = 0u64;
            while let Some(Request { n, reply, next: following }) = poll_recv::<P, _>(next) {
                if !delay.is_zero() {
                    busy_wait(delay);
                }
                P::send(reply, n + 1);
                next = following;
                served += 1;
            }
            served
        })
    };
    barrier.wait();
    let start = Instant::now();
    let mut request_tx = first_tx;
    let mut checksum = 0u64;
    for n in 0..iters {
        let (reply_tx, reply_rx) = P::make::<u64>();
        let (next_tx, next_rx) = P::make::<Request<P>>();
        P::send(request_tx, Request { n, reply: reply_tx, next: next_rx });
        request_tx = next_tx;
        checksum += P::recv(reply_rx).expect("the responder replies");
    }
    let elapsed = start.elapsed();
    drop(request_tx);
    assert_eq!(responder.join().unwrap(), iters);
    assert_eq!(checksum, iters * (iters + 1) / 2);
    elapsed
}

fn cross_thread(c: &mut Criterion) {
    for (name, delay) in [("reply_now", Duration::ZERO), ("reply_after_20us", Duration::from_micros(20))] {
        let mut g = c.benchmark_group(format!("oneshot/{name}"));
        g.throughput(Throughput::Elements(1));
        if !delay.is_zero() {
            g.sample_size(20);
        }
        g.bench_function("ringfence", |b| b.iter_custom(|iters| ping_pong::<Ringfence>(iters, delay)));
        g.bench_function("oneshot", |b| b.iter_custom(|iters| ping_pong::<OneshotCrate>(iters, delay)));
        g.bench_function("tokio", |b| b.iter_custom(|iters| ping_pong::<Tokio>(iters, delay)));
        g.bench_function("futures", |b| b.iter_custom(|iters| ping_pong::<Futures>(iters, delay)));
        g.bench_function("crossbeam", |b| b.iter_custom(|iters| ping_pong::<Crossbeam>(iters, delay)));
        g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Async: poll pending, wake, poll ready (current-thread tokio runtime)
// ---------------------------------------------------------------------------------------------

/// Polls `rx` once (it must be pending, registering the task's waker), runs `send`, then awaits
/// `rx` to completion.
async fn pending_then_wake<R: Future + Unpin>(mut rx: R, send: impl FnOnce()) -> R::Output {
    let mut send = Some(send);
    std::future::poll_fn(|cx| {
        assert!(Pin::new(&mut rx).poll(cx).is_pending());
        (send.take().unwrap())();
        Poll::Ready(())
    })
    .await;
    rx.await
}

fn async_pending_wake(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut g = c.benchmark_group("oneshot/async_pending_wake");
    g.throughput(Throughput::Elements(1));
    // Many round trips inside one `block_on`, so the runtime's enter/exit is not measured.
    macro_rules! peer {
        ($name:literal, $make:expr) => {
            g.bench_function($name, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for n in 0..iters {
                            let (tx, rx) = $make;
                            let got = pending_then_wake(rx, move || tx.send(black_box(n)).unwrap()).await;
                            assert_eq!(got.unwrap(), n);
                        }
                        start.elapsed()
                    })
                })
            });
        };
    }
    peer!("ringfence", ringfence::oneshot::channel::<u64>());
    peer!("oneshot", {
        // The `oneshot` crate's receiver is `IntoFuture` (its future is `AsyncReceiver`).
        let (tx, rx) = oneshot::channel::<u64>();
        (tx, std::future::IntoFuture::into_future(rx))
    });
    peer!("tokio", tokio::sync::oneshot::channel::<u64>());
    peer!("futures", futures_channel::oneshot::channel::<u64>());
    g.finish();
}

criterion_group!(benches, create, send_recv, send_closed, try_recv_empty, cross_thread, async_pending_wake);
criterion_main!(benches);
