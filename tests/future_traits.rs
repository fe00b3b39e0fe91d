//! The traits users rely on without calling them. Every public future, stream and sink of the
//! crate is `Send` (so `tokio::spawn` takes it), `Sync` where it holds nothing thread-bound,
//! and `Unpin` (so a `select!` loop can poll it by `&mut` without pinning), for `Send`
//! payloads; and the `async fn`s' futures are `Send`. A field change that loses one of these
//! fails this file to compile: a break for users that no runtime test would show. With the
//! `futures` feature, the futures that can finish for good are `FusedFuture`s.
#![cfg(not(loom))]

use ringfence::scatter::AsyncScatter;
use ringfence::{AcquireFuture, AcquireOwnedFuture, WaitGroupFuture};
use ringfence::{actor, channel, oneshot, pool, rate, timer};
use std::time::{Duration, Instant};

fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
fn assert_send<T: Send>(_: &T) {}

struct Echo;
impl actor::Actor for Echo {
    type Msg = actor::Reply<u32>;
    fn handle(&mut self, reply: Self::Msg, _ctx: &mut actor::Context) {
        reply.send(1);
    }
}

#[test]
fn channel_futures_streams_and_sinks() {
    assert_send_sync_unpin::<channel::RecvFuture<'static, String>>();
    assert_send_sync_unpin::<channel::SendFuture<'static, String>>();
    assert_send_sync_unpin::<channel::ClosedFuture<'static, String>>();
    assert_send_sync_unpin::<channel::RecvStream<'static, String>>();
    assert_send_sync_unpin::<channel::SendSink<'static, String>>();
    assert_send_sync_unpin::<channel::NextFuture<'static, 'static, String>>();
    assert_send_sync_unpin::<channel::RecvManyFuture<'static, 'static, String>>();
}

#[test]
fn oneshot_semaphore_and_wait_group_futures() {
    assert_send_sync_unpin::<oneshot::Receiver<String>>();
    assert_send_sync_unpin::<oneshot::ClosedFuture<'static, String>>();
    assert_send_sync_unpin::<AcquireFuture<'static>>();
    assert_send_sync_unpin::<AcquireOwnedFuture>();
    assert_send_sync_unpin::<WaitGroupFuture<'static>>();
}

#[test]
fn pool_actor_and_timer_futures() {
    assert_send_sync_unpin::<pool::Task<String>>();
    // `Sync` too since a task's panic is a `ringfence::Panic` (a bare payload is not `Sync`).
    assert_send_sync_unpin::<pool::NextFuture<'static, String>>();
    assert_send_sync_unpin::<pool::ShutdownFuture>();
    let pool = pool::Pool::new(1);
    assert_send(&pool.submit_async(String::new));
    assert_send(&pool.spawn_async(|| ()));
    let addr = actor::spawn(Echo).addr();
    assert_send(&addr.ask_async(|reply| reply));
    assert_send_sync_unpin::<timer::Sleep>();
    assert_send_sync_unpin::<timer::Interval>();
    assert_send_sync_unpin::<timer::Tick<'static>>();
    assert_send_sync_unpin::<timer::Timeout<channel::RecvFuture<'static, String>>>();
}

#[test]
fn rate_futures() {
    assert_send_sync_unpin::<rate::AcquireFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::UntilReadyFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::WindowAcquireFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::ReservationWait<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::KeyedAcquireFuture<'static, String, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::KeyedUntilReadyFuture<'static, String, rate::MonotonicClock>>();
    #[cfg(feature = "futures")]
    assert_send_sync_unpin::<rate::RateLimitedStream<'static, channel::RecvStream<'static, String>>>();
}

#[test]
fn async_scatter_futures_are_send() {
    async fn source(n: u32) -> Result<u32, String> {
        Ok(n)
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    assert_send(&AsyncScatter::new([source(1), source(2)]).first_ok(deadline));
    assert_send(&AsyncScatter::new([source(1), source(2)]).quorum(1, deadline));
    assert_send(&AsyncScatter::new([source(1), source(2)]).all(deadline));
}

#[cfg(feature = "futures")]
#[test]
fn a_finished_oneshot_receiver_or_task_is_terminated() {
    use futures_core::future::FusedFuture;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    let (tx, mut rx) = oneshot::channel();
    assert!(!FusedFuture::is_terminated(&rx));
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Pending);
    tx.send(3).unwrap();
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(3)));
    assert!(FusedFuture::is_terminated(&rx));
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Err(oneshot::RecvError)), "no panic after");

    let pool = pool::Pool::new(1);
    let mut task = pool.submit(|| 6 * 7);
    assert!(!FusedFuture::is_terminated(&task));
    let answer = loop {
        if let Poll::Ready(answer) = Pin::new(&mut task).poll(&mut cx) {
            break answer;
        }
        std::thread::yield_now();
    };
    assert_eq!(answer.ok(), Some(42));
    assert!(FusedFuture::is_terminated(&task));
}

/// Every channel future is terminated exactly once it has returned `Ready` (a rendezvous send
/// whose value waits in the slot is not), so futures' `select!` takes them without `.fuse()`.
#[cfg(feature = "futures")]
#[test]
fn channel_futures_are_terminated_once_ready() {
    use futures_core::future::FusedFuture;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }

    // Buffered: a receive that waits, then finds a value; a send that finds room.
    let (tx, rx) = channel::bounded(1);
    let mut recv = rx.recv_async();
    assert!(poll(&mut recv).is_pending());
    assert!(!recv.is_terminated(), "pending");
    let mut send = tx.send_async(5);
    assert!(!send.is_terminated(), "not polled yet");
    assert!(matches!(poll(&mut send), Poll::Ready(Ok(()))));
    assert!(send.is_terminated());
    assert_eq!(poll(&mut recv), Poll::Ready(Ok(5)));
    assert!(recv.is_terminated());
    drop(recv);

    // A send that waits for room is not terminated; one that fails is.
    tx.send(6).unwrap();
    let mut full = tx.send_async(7);
    assert!(poll(&mut full).is_pending());
    assert!(!full.is_terminated(), "waiting for room");
    drop(full);
    let mut batch = Vec::new();
    let mut none = rx.recv_many_async(&mut batch, 0);
    assert!(!none.is_terminated());
    assert_eq!(poll(&mut none), Poll::Ready(0));
    assert!(none.is_terminated(), "a limit of 0 is ready at once");
    drop(none);
    let mut closed = tx.closed();
    assert!(poll(&mut closed).is_pending());
    assert!(!closed.is_terminated());
    drop(rx);
    assert_eq!(poll(&mut closed), Poll::Ready(()));
    assert!(closed.is_terminated());
    let mut failed = tx.send_async(8);
    assert!(matches!(poll(&mut failed), Poll::Ready(Err(_))));
    assert!(failed.is_terminated(), "the value is in the error");

    // Rendezvous: the value waits in the slot, the future owns it: not terminated.
    let (tx, rx) = channel::bounded(0);
    let mut send = tx.send_async(9);
    assert!(poll(&mut send).is_pending());
    assert!(!send.is_terminated(), "its value waits in the slot");
    assert_eq!(rx.try_recv(), Ok(9));
    assert!(matches!(poll(&mut send), Poll::Ready(Ok(()))));
    assert!(send.is_terminated());

    // A stream's `next()`: terminated only once the stream has ended.
    let (tx, rx) = channel::unbounded();
    tx.send(1).unwrap();
    let mut stream = rx.into_stream();
    let mut next = stream.next();
    assert_eq!(poll(&mut next), Poll::Ready(Some(1)));
    assert!(!next.is_terminated(), "a value, not the end");
    drop(next);
    drop(tx);
    let mut next = stream.next();
    assert_eq!(poll(&mut next), Poll::Ready(None));
    assert!(next.is_terminated());
}

/// The other futures that finish for good are `FusedFuture`s too: terminated exactly once they
/// returned `Ready` (the pool's `next_async`, as a stream's `next`, once it returned `None`).
#[cfg(feature = "futures")]
#[test]
fn pattern_futures_are_terminated_once_ready() {
    use futures_core::future::FusedFuture;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};

    fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }
    /// Polls until `Ready` (work on other threads), checking it is not terminated before.
    fn finish<F: Future + Unpin + FusedFuture>(future: &mut F) -> F::Output {
        loop {
            assert!(!future.is_terminated(), "terminated before it returned Ready");
            if let Poll::Ready(output) = poll(future) {
                assert!(future.is_terminated(), "not terminated after Ready");
                return output;
            }
            std::thread::yield_now();
        }
    }

    // The semaphore's.
    let semaphore = Arc::new(ringfence::Semaphore::new(1));
    let held = semaphore.acquire();
    let mut waiting = semaphore.acquire_async();
    assert!(poll(&mut waiting).is_pending() && !waiting.is_terminated());
    drop(held);
    drop(finish(&mut waiting));
    drop(finish(&mut Arc::clone(&semaphore).acquire_owned_async()));

    // The wait group's and the oneshot's `closed()`.
    let work = ringfence::WaitGroup::new();
    let pending = work.track();
    let mut wait = work.wait_async();
    assert!(poll(&mut wait).is_pending());
    pending.done();
    finish(&mut wait);
    let (mut reply, answer) = oneshot::channel::<u8>();
    let mut closed = reply.closed();
    assert!(poll(&mut closed).is_pending() && !closed.is_terminated());
    drop(answer);
    finish(&mut closed);

    // The rate limiters' (a manual clock: ready at once here).
    let clock = rate::ManualClock::new();
    let quota = rate::Quota::new(2, Duration::from_secs(1), 2).unwrap();
    let bucket = rate::TokenBucket::with_clock(quota, clock.clone());
    let reservation = bucket.reserve(1).unwrap(); // due now: a token is there
    finish(&mut reservation.wait_async());
    finish(&mut bucket.acquire_async(1)).unwrap();
    clock.advance(Duration::from_secs(1));
    finish(&mut bucket.until_ready());
    let window = rate::SlidingWindow::with_clock(1, Duration::from_secs(1), clock.clone()).unwrap();
    finish(&mut window.acquire_async());
    let keyed = rate::KeyedBucket::with_clock(quota, clock.clone());
    finish(&mut keyed.acquire_async(&1, 1)).unwrap();
    finish(&mut keyed.until_ready(&1));

    // The pool's.
    let pool = pool::Pool::new(1);
    let task = finish(&mut pool.submit_async(|| 5));
    let mut done = pool::as_completed([task]);
    let mut next = done.next_async();
    let first = loop {
        if let Poll::Ready(first) = poll(&mut next) {
            break first;
        }
        std::thread::yield_now();
    };
    assert_eq!(first.map(|(index, result)| (index, result.ok())), Some((0, Some(5))));
    assert!(!next.is_terminated(), "a task, not the end");
    assert!(finish(&mut next).is_none());
    finish(&mut pool.shutdown_async());

    // The actor's: an ask, an ask to a stopped actor (it ends in its send), a join.
    let echo = actor::spawn(Echo);
    let addr = echo.addr();
    assert_eq!(finish(&mut addr.ask_async(|reply| reply)), Ok(1));
    let mut join = echo.stop_async();
    let _ = finish(&mut join);
    assert!(finish(&mut addr.ask_async(|reply| reply)).is_err());

    // The pipeline's.
    let (rx, running) = ringfence::pipeline::Pipeline::from_iter(0..3).into_receiver(4);
    assert_eq!(rx.iter().count(), 3);
    finish(&mut running.join_async()).unwrap();
    let (out, _) = finish(&mut ringfence::pipeline::Pipeline::from_iter(0..3).collect_async()).unwrap();
    assert_eq!(out, [0, 1, 2]);
}
