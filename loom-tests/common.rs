//! Helpers shared by the loom models.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};

/// A value that counts its drops, so models can assert "dropped exactly once".
#[derive(Debug)]
pub struct Counted {
    pub id: usize,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    pub fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Counted { id, drops: drops.clone() }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        // ORDERING: SeqCst keeps the test simple; models read the count after joins.
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// A fresh drop counter.
pub fn drop_counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// The number of drops counted so far.
pub fn drops(counter: &Arc<AtomicUsize>) -> usize {
    counter.load(Ordering::SeqCst)
}

/// Drives a future to completion on this thread, parking on a loom `Condvar` between polls.
/// Unlike `loom::future::block_on` (whose `Notify` may wake spuriously, which re-polls and so
/// hides a lost wakeup), the thread wakes only when the future's waker is called: a wakeup
/// the code under test loses is a loom deadlock.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use loom::sync::{Condvar, Mutex};
    use std::task::{Context, Poll, Wake, Waker};

    struct Parker {
        woken: Mutex<bool>,
        condvar: Condvar,
    }
    impl Wake for Parker {
        fn wake(self: std::sync::Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.condvar.notify_one();
        }
    }
    let parker = std::sync::Arc::new(Parker { woken: Mutex::new(false), condvar: Condvar::new() });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let mut woken = parker.woken.lock().unwrap();
        while !*woken {
            woken = parker.condvar.wait(woken).unwrap();
        }
        *woken = false;
    }
}
