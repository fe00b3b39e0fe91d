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

/// A waker that counts its wakes and signals a loom `Notify`, so a model can wait for it (and a
/// wake that never comes is a loom deadlock). loom's `Notify` may wake spuriously: wait with
/// [`Signal::wait_for`], or re-check after [`Signal::wait`].
pub struct Signal {
    wakes: AtomicUsize,
    notify: loom::sync::Notify,
}

impl Signal {
    /// `std`'s `Arc`: `Waker::from` needs it.
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Signal { wakes: AtomicUsize::new(0), notify: loom::sync::Notify::new() })
    }

    /// Wakes so far.
    pub fn wakes(&self) -> usize {
        // ORDERING: SeqCst keeps the models simple.
        self.wakes.load(Ordering::SeqCst)
    }

    /// Sleeps until a wake (or a spurious return).
    pub fn wait(&self) {
        self.notify.wait();
    }

    /// Waits until the waker has been woken at least `wakes` times in all.
    pub fn wait_for(&self, wakes: usize) {
        while self.wakes() < wakes {
            self.notify.wait();
        }
    }
}

impl std::task::Wake for Signal {
    fn wake(self: std::sync::Arc<Self>) {
        // ORDERING: SeqCst keeps the models simple.
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.notify.notify();
    }
}

/// Runs a model at exactly `bound` preemptions, whatever `LOOM_MAX_PREEMPTIONS` says: for the
/// few models whose race needs more than the suite's bound (each says why and how long it runs).
pub fn model_at_preemptions(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(bound);
    builder.check(f);
}

/// Runs a model at `bound` preemptions, or at `LOOM_MAX_PREEMPTIONS` when that is lower.
pub fn model_with_preemptions(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(builder.preemption_bound.map_or(bound, |env| env.min(bound)));
    builder.check(f);
}
