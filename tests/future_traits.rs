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
fn assert_send_unpin<T: Send + Unpin>() {}
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
    // Not `Sync`: it reaches task results whose panic payloads (`Box<dyn Any + Send>`) are not.
    assert_send_unpin::<pool::NextFuture<'static, String>>();
    assert_send_sync_unpin::<pool::ShutdownFuture>();
    let pool = pool::Pool::new(1);
    assert_send(&pool.submit_async(String::new));
    let addr = actor::spawn(Echo).addr();
    assert_send(&addr.ask_async(|reply| reply));
    assert_send_sync_unpin::<timer::Sleep>();
    assert_send_sync_unpin::<timer::Timeout<channel::RecvFuture<'static, String>>>();
}

#[test]
fn rate_futures() {
    assert_send_sync_unpin::<rate::AcquireFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::UntilReadyFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::WindowAcquireFuture<'static, rate::MonotonicClock>>();
    assert_send_sync_unpin::<rate::ReservationWait<'static, rate::MonotonicClock>>();
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
