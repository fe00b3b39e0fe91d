//! The engine of the pool's slice operations ([`Pool::map_slice`],
//! [`Pool::map_reduce_slice`]): the work is cut into chunks, and the workers **and the
//! calling thread** claim them one at a time from a shared counter until none is left.
//!
//! - **The caller claims too.** A caller that only submits and then waits leaves its core idle
//!   (or busy yielding) while a worker it woke may sit in the run queue of a busy core: a trace
//!   on the 2-core VM showed the second worker starting its first chunk 650 µs into a 2.7 ms
//!   map, when a fixed chunk per job was used. A caller that works uses its core in any case,
//!   as rayon's `join` does.
//! - **Claimed, not assigned.** Whoever is free takes the next chunk, so a late or slow thread
//!   delays nobody, and the chunks can be small enough for uneven items (one `fetch_add` per
//!   chunk).

use super::Pool;
use super::task::{Job, Runnable};
use crate::latch::Latch;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Arc, UnsafeCell};
use std::panic::{self, AssertUnwindSafe};
use std::thread;

/// Chunks per claiming thread (the workers and the caller): enough that a slow chunk at the end
/// leaves the others little to wait for, few enough that claiming costs nothing measurable.
const CHUNKS_PER_CLAIMER: usize = 8;

/// The length of each chunk (the last may be shorter) when `len` items are shared by a pool of
/// `threads` workers and the caller.
pub(super) fn chunk_len(len: usize, threads: usize) -> usize {
    len.div_ceil(threads.saturating_add(1).saturating_mul(CHUNKS_PER_CLAIMER)).max(1)
}

impl Pool {
    /// Runs `body(c)` exactly once for every chunk index `c` in `0..count`, on the workers and
    /// on this thread, and returns each chunk's outcome (its value, or the payload of its
    /// panic) in chunk order. Returns when every chunk has run and no worker touches this
    /// call's data any more.
    ///
    /// Never waits for a worker to become free: the helper jobs it queues (one per worker, and
    /// only while the queue has room) join in only if they start before this thread has
    /// claimed the last chunk; one that starts later finds the gate closed and does nothing.
    /// So a call from inside a pool job, or while every worker is busy, runs on this thread
    /// alone instead of deadlocking.
    pub(super) fn run_chunks<P: Send>(
        &self,
        count: usize,
        body: impl Fn(usize) -> P + Sync,
    ) -> Vec<thread::Result<P>> {
        let outcomes: Vec<UnsafeCell<Option<thread::Result<P>>>> =
            (0..count).map(|_| UnsafeCell::new(None)).collect();
        let next = AtomicUsize::new(0);
        let claim = || {
            loop {
                // ORDERING: Relaxed: the counter only hands out distinct indices (each RMW sees
                // every earlier one); the outcomes reach the caller through the gate.
                let chunk = next.fetch_add(1, Ordering::Relaxed);
                if chunk >= count {
                    return;
                }
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| body(chunk)));
                // SAFETY: this thread claimed `chunk` and is the only one to touch its slot;
                // the caller reads the slots only after every claimer has left the gate.
                outcomes[chunk].with_mut(|slot| unsafe { *slot = Some(outcome) });
            }
        };
        {
            // Open (the caller's own count) until this thread has run out of chunks.
            let gate = Gate::open();
            for _ in 0..self.threads().min(count.saturating_sub(1)) {
                // SAFETY: `gate` closes and waits out every helper that joined before this
                // frame (and `claim` with it) ends, even on unwind; see `Helper`.
                let helper: Job = Box::new(unsafe { Helper::new(&gate, &claim) });
                // A full queue means busy workers: this thread does their share instead.
                if self.sender().try_send(helper).is_err() {
                    break;
                }
            }
            claim();
        } // the gate closes here: no helper joins any more, and those inside have left
        outcomes.into_iter().map(|slot| slot.into_inner().expect("every chunk runs exactly once")).collect()
    }
}

/// The caller's side of the helpers' gate: a latch counting the caller and the helpers inside.
/// Dropping it closes the gate (the caller's count down) and waits until the helpers that
/// joined have left; after that no helper can join (`Latch::try_join` refuses at zero).
struct Gate(Arc<Latch>);

impl Gate {
    fn open() -> Self {
        let latch = Latch::new();
        latch.count_up();
        Gate(Arc::new(latch))
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.0.count_down();
        self.0.wait();
    }
}

/// A queued helper: joins the caller's claiming if the gate is still open when it runs.
struct Helper {
    latch: Arc<Latch>,
    /// The caller's claim loop, its lifetime erased: only called between a successful
    /// `try_join` and the matching `count_down`, while the caller's `Gate` keeps the frame alive.
    claim: *const (dyn Fn() + 'static),
}

// SAFETY: the helper moves to a worker thread and calls `claim` there. `claim` only touches
// what `run_chunks` shares on purpose: the chunk counter (atomic), `body` (`Sync`), and each
// claimed chunk's own outcome slot (claimed by one thread at a time, read by the caller after
// the gate), whose `P: Send` values move to the caller.
unsafe impl Send for Helper {}

impl Helper {
    /// # Safety
    ///
    /// `claim` must stay valid until `gate` is dropped (it then waits out every helper that
    /// joined), and must be safe to call from another thread (see the `Send` impl).
    unsafe fn new<'a>(gate: &Gate, claim: &'a (dyn Fn() + 'a)) -> Self {
        let claim: *const (dyn Fn() + 'a) = claim;
        // SAFETY: only the lifetime changes (same fat-pointer layout); the caller guarantees
        // the pointer is used only while the closure lives (above).
        let claim =
            unsafe { std::mem::transmute::<*const (dyn Fn() + 'a), *const (dyn Fn() + 'static)>(claim) };
        Helper { latch: Arc::clone(&gate.0), claim }
    }
}

impl Runnable for Helper {
    fn run(self: Box<Self>) {
        if self.latch.try_join() {
            /// Leaves the gate even if `claim` unwinds (it does not: each chunk's panic is caught).
            struct Leave<'a>(&'a Latch);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    self.0.count_down();
                }
            }
            let _leave = Leave(&self.latch);
            // SAFETY: we joined an open gate, so the caller's `Gate` has not finished dropping
            // and waits for our `count_down` (`_leave`): the closure is alive until then.
            unsafe { (*self.claim)() };
        }
    }
}
