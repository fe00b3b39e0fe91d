//! A thread that waits for a waker: the selector's blocking `wait` between its rounds of polls
//! (`channel/select.rs`), and a bucket's blocking acquire on a clock that wakes wakers but has
//! no real-time instants (`rate/changes.rs`: a `ManualClock`, whose advance and the bucket's
//! change queue both wake it).

use std::task::Waker;
use std::time::Instant;

/// A waker that unparks the calling thread, and the park it ends.
pub(crate) struct Parker {
    pub(crate) waker: Waker,
    /// Under loom: the flag and condition variable the waker sets and signals (loom's own
    /// `thread::park` does not mix with the modelled futex's mutex).
    #[cfg(loom)]
    state: std::sync::Arc<LoomParker>,
}

#[cfg(loom)]
struct LoomParker {
    woken: loom::sync::Mutex<bool>,
    signal: loom::sync::Condvar,
}

#[cfg(loom)]
impl std::task::Wake for LoomParker {
    fn wake(self: std::sync::Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.signal.notify_one();
    }
}

impl Parker {
    /// A waker that unparks this thread: one per thread, cloned per wait (so a waker list that
    /// dedups by `will_wake`, such as a `ManualClock`'s, keeps one entry per thread).
    #[cfg(not(loom))]
    pub(crate) fn new() -> Self {
        thread_local! {
            static WAKER: Waker = crate::wait::current_thread_waker();
        }
        // In a thread-local's destructor (after `WAKER`'s own): a waker of its own.
        let waker = WAKER.try_with(Waker::clone).unwrap_or_else(|_| crate::wait::current_thread_waker());
        Parker { waker }
    }

    /// loom's threads are not the process's: one parker per wait.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        let state = std::sync::Arc::new(LoomParker {
            woken: loom::sync::Mutex::new(false),
            signal: loom::sync::Condvar::new(),
        });
        Parker { waker: Waker::from(std::sync::Arc::clone(&state)), state }
    }

    /// Sleeps until the waker is called (or a spurious wakeup), at most until `deadline`:
    /// `false` when the deadline had passed (the caller then gives up after one last attempt).
    #[cfg(not(loom))]
    pub(crate) fn park_until(&self, deadline: Option<Instant>) -> bool {
        match deadline {
            None => std::thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                std::thread::park_timeout(deadline - now);
            }
        }
        true
    }

    /// loom has no time: a deadline is taken as passed after the first round of polls (the
    /// models check that a timed-out selection leaves every channel as it found it). Without
    /// one, it sleeps until the waker was called (no spurious wakeups: a lost one deadlocks).
    #[cfg(loom)]
    pub(crate) fn park_until(&self, deadline: Option<Instant>) -> bool {
        if deadline.is_some() {
            return false;
        }
        let mut woken = self.state.woken.lock().unwrap();
        while !*woken {
            woken = self.state.signal.wait(woken).unwrap();
        }
        *woken = false;
        true
    }
}
