//! A futex word: an `AtomicU32` that threads can sleep on until it changes.
//!
//! Normal builds use the `atomic-wait` crate (futex on Linux, `WaitOnAddress` on Windows,
//! `__ulock` on macOS) for untimed waits. `atomic-wait` has no timeout, so timed waits call the
//! Linux `futex(FUTEX_WAIT)` syscall with a relative timeout directly; on other systems a timed
//! wait polls the word with sleeps that grow to at most 1 ms (correct, a little less prompt).
//!
//! Under loom there is no futex, so the word also carries a loom `Mutex` + `Condvar`: `wait`
//! locks, re-checks the word, and sleeps on the condvar, exactly as the kernel re-checks the
//! word under its hash-bucket lock; `wake_*` locks and notifies. A lost wakeup in a protocol
//! built on this then shows up as a loom deadlock.
//!
//! Contract for callers (both builds): `wait` may return spuriously, so callers re-check their
//! condition in a loop; a waker must change the word *before* calling `wake_*`.

use super::atomic::AtomicU32;
#[cfg(not(loom))]
use super::atomic::Ordering;
use std::time::Instant;

/// An `AtomicU32` that threads can block on (see the module docs).
#[derive(Debug)]
pub(crate) struct Futex {
    word: AtomicU32,
    #[cfg(loom)]
    lock: loom::sync::Mutex<()>,
    #[cfg(loom)]
    cond: loom::sync::Condvar,
    /// Under loom: stands for the futex word's memory as the kernel sees it. `wait`/`wake_*`
    /// read it, [`Futex::retire`] writes it, so a wake that is not ordered before the owner's
    /// free is a loom data race (a futex call on freed memory).
    #[cfg(loom)]
    alive: loom::cell::UnsafeCell<()>,
}

impl std::ops::Deref for Futex {
    type Target = AtomicU32;

    #[inline]
    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

#[cfg(not(loom))]
impl Futex {
    pub(crate) const fn new(value: u32) -> Self {
        Futex { word: AtomicU32::new(value) }
    }

    /// Sleeps while the word equals `expected`; may return spuriously.
    #[inline]
    pub(crate) fn wait(&self, expected: u32) {
        atomic_wait::wait(&self.word, expected);
    }

    /// Sleeps while the word equals `expected`, at most until `deadline`; may return spuriously.
    /// Returns `false` when it returned because the deadline passed.
    pub(crate) fn wait_until(&self, expected: u32, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        timed_wait(&self.word, expected, deadline - now);
        Instant::now() < deadline
    }

    #[inline]
    pub(crate) fn wake_one(&self) {
        atomic_wait::wake_one(&self.word);
    }

    #[inline]
    pub(crate) fn wake_all(&self) {
        atomic_wait::wake_all(&self.word);
    }

    /// Called right before the memory holding this futex is freed (a no-op here; under loom it
    /// checks that every `wait`/`wake_*` on it happened-before).
    #[inline]
    pub(crate) fn retire(&self) {}
}

#[cfg(all(not(loom), target_os = "linux"))]
fn timed_wait(word: &AtomicU32, expected: u32, timeout: std::time::Duration) {
    // Durations beyond `time_t` are "forever" for any practical purpose; clamp instead of
    // overflowing. The caller loops until its deadline, so a clamped wait only adds a wakeup.
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: FUTEX_WAIT reads the u32 behind `word` (a live, aligned AtomicU32 borrowed for the
    // whole call) and the timespec on our stack; it writes nothing. Errors (EAGAIN when the word
    // already differs, EINTR, ETIMEDOUT) are all "return and let the caller re-check".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word as *const AtomicU32,
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            &ts as *const libc::timespec,
        );
    }
}

#[cfg(all(not(loom), not(target_os = "linux")))]
fn timed_wait(word: &AtomicU32, expected: u32, timeout: std::time::Duration) {
    // No portable timed futex: poll with growing sleeps (capped at 1 ms and at the timeout).
    let start = Instant::now();
    let mut pause = std::time::Duration::from_micros(10);
    // ORDERING: Relaxed; the caller re-checks its own condition with its own orderings after we
    // return, this load only decides when to stop sleeping.
    while word.load(Ordering::Relaxed) == expected {
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return;
        }
        std::thread::sleep(pause.min(timeout - elapsed));
        pause = (pause * 2).min(std::time::Duration::from_millis(1));
    }
}

// Under loom the only field that is not `Send + Sync` is `alive`, a loom `UnsafeCell<()>`
// that holds no data: it exists so that loom's own race detector sees every futex call
// (`with`) and the retirement (`with_mut`). Normal builds are `Sync` without this.
#[cfg(loom)]
// SAFETY: loom checks every access to `alive` itself, so sharing it between (loom) threads
// cannot cause an unchecked race; the other fields are loom's Sync types.
unsafe impl Sync for Futex {}
// SAFETY: as for `Sync` above; the futex owns nothing thread-bound.
#[cfg(loom)]
unsafe impl Send for Futex {}

#[cfg(loom)]
impl Futex {
    pub(crate) fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
            lock: loom::sync::Mutex::new(()),
            cond: loom::sync::Condvar::new(),
            alive: loom::cell::UnsafeCell::new(()),
        }
    }

    pub(crate) fn wait(&self, expected: u32) {
        self.alive.with(|_| ());
        let guard = self.lock.lock().unwrap();
        // ORDERING: Relaxed, like the kernel's read of the word under its bucket lock: the
        // mutex orders this load after any waker that locked (and so had bumped the word)
        // before us; a waker that locks after us finds us in `wait` and notifies.
        if self.word.load(loom::sync::atomic::Ordering::Relaxed) == expected {
            drop(self.cond.wait(guard).unwrap());
        }
    }

    /// Under loom the deadline "passes" exactly when the thread would sleep: the worst moment
    /// for the caller's races, and deterministic (loom has no time).
    pub(crate) fn wait_until(&self, expected: u32, _deadline: Instant) -> bool {
        self.alive.with(|_| ());
        let _guard = self.lock.lock().unwrap();
        // ORDERING: Relaxed, as in `wait`.
        self.word.load(loom::sync::atomic::Ordering::Relaxed) != expected
    }

    pub(crate) fn wake_one(&self) {
        self.alive.with(|_| ());
        let _guard = self.lock.lock().unwrap();
        self.cond.notify_one();
    }

    pub(crate) fn wake_all(&self) {
        self.alive.with(|_| ());
        let _guard = self.lock.lock().unwrap();
        self.cond.notify_all();
    }

    /// The memory holding this futex is about to be freed: a `wait`/`wake_*` that does not
    /// happen-before this is a loom data race.
    pub(crate) fn retire(&self) {
        self.alive.with_mut(|_| ());
    }
}
