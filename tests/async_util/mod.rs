//! Helpers for the async tests (channel, semaphore, timer, rate limiters, patterns): a minimal `block_on` (a
//! thread-parking waker, no runtime) and a waker that counts its wakes and whose clones can be
//! counted (`Arc::strong_count`), to prove a future keeps only one waker and drops it.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes by unparking the thread that runs `block_on`.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread: poll, park until woken, poll again. The
/// smallest executor there is; it proves the futures need nothing from a runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake before this park leaves the token set, so `park` returns at once; a spurious
        // return only costs a poll.
        thread::park();
    }
}

/// A waker that counts its wakes. `Arc::strong_count(&counter) - 1` is the number of wakers
/// made from it that are still alive (held by the future under test, the timer, a clock).
#[derive(Debug, Default)]
pub struct Counter {
    wakes: AtomicUsize,
}

impl Counter {
    pub fn new() -> Arc<Self> {
        Arc::new(Counter::default())
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh counting waker and the `Waker` made from it.
pub fn counting() -> (Arc<Counter>, Waker) {
    let counter = Counter::new();
    (counter.clone(), Waker::from(counter))
}

/// Wakers made from `counter` that are alive besides the caller's `Arc` and `waker`.
pub fn held(counter: &Arc<Counter>) -> usize {
    Arc::strong_count(counter) - 2
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}
