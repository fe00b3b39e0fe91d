//! `Pool::map_slice`: a parallel map over a borrowed slice whose workers write each result
//! straight into its place in the output vector.
//!
//! [`Pool::map`] is lazy and hands every result to the calling thread, one `next` at a time:
//! the right tool for a stream, but for data already in memory the caller's share of the work
//! (taking each result and storing it) runs on a core the workers need. Here nothing per item
//! passes through the caller: the chunks are claimed by the workers and the caller alike
//! (`chunked.rs`), and each is written in place.

use super::Pool;
use super::chunked::chunk_len;
use super::error::TaskError;
use crate::Panic;
use std::mem::{self, MaybeUninit};
use std::ptr;

impl Pool {
    /// Maps every item of a borrowed slice in parallel and returns the results **in slice
    /// order**: the pool's `par_iter().map().collect()`.
    ///
    /// The slice is cut into chunks (about eight per thread), which the workers and the calling
    /// thread claim one at a time until none is left; each chunk's results are written directly
    /// into their places in the returned vector. `map` may borrow from the caller, and the
    /// items need not be `'static` or `Send`, only `Sync`. Blocks until every chunk is done
    /// (part of them on this thread). For a lazy stream of items (an iterator, a billion of
    /// them, results wanted as they come) use [`Pool::map`].
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] when `map` panicked: the first such panic in slice order (the
    /// items after a panicking one in its chunk are not mapped; the other chunks all run).
    /// Every result already made is dropped before returning: nothing leaks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let words = ["one", "three", "five"];
    /// let suffix = "!"; // borrowed by the jobs
    /// let loud = pool.map_slice(&words, |w| w.to_uppercase() + suffix).unwrap();
    /// assert_eq!(loud, ["ONE!", "THREE!", "FIVE!"]);
    ///
    /// let err = pool.map_slice(&[1, 0, 2], |&n| 10 / n).unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    pub fn map_slice<T, R, M>(&self, items: &[T], map: M) -> Result<Vec<R>, TaskError>
    where
        T: Sync,
        R: Send,
        M: Fn(&T) -> R + Sync,
    {
        let len = items.len();
        let mut out: Vec<R> = Vec::with_capacity(len);
        let chunk = chunk_len(len, self.threads());
        // Not `len.min((c + 1) * chunk)`: that product overflows for the last chunk of a slice
        // (of a zero-sized type) within a chunk of `usize::MAX` long.
        let range = |c: usize| {
            let start = c * chunk;
            start..start + chunk.min(len - start)
        };
        let slots = Slots(out.spare_capacity_mut().as_mut_ptr());
        let outcomes = self.run_chunks(len.div_ceil(chunk), |c| {
            // SAFETY: `run_chunks` runs each chunk index once, so no other thread touches
            // these slots, and the ranges lie within the first `len` slots of `out`'s capacity,
            // which outlives the jobs (`run_chunks` returns when every chunk is done).
            let output = unsafe { slots.range(range(c)) };
            fill(&items[range(c)], output, &map);
        });
        if outcomes.iter().all(Result::is_ok) {
            // SAFETY: every chunk returned, and a chunk that returns has written every slot of
            // its range (`fill`); the ranges cover the first `len` slots.
            unsafe { out.set_len(len) };
            return Ok(out);
        }
        // A chunk that panicked dropped its own results (`fill`); drop the others'.
        let spare = out.spare_capacity_mut();
        for (c, outcome) in outcomes.iter().enumerate() {
            if outcome.is_ok() {
                // SAFETY: that chunk returned, so it wrote every slot of its range; `out`'s
                // length stays 0, so nothing else drops them.
                unsafe { drop_written(&mut spare[range(c)]) };
            }
        }
        let payload = outcomes.into_iter().find_map(Result::err).expect("a chunk panicked");
        Err(TaskError::Panicked(Panic::new(payload)))
    }
}

/// The output vector's spare capacity, shared by the threads that fill its chunks.
struct Slots<R>(*mut MaybeUninit<R>);

// SAFETY: the threads write `R`s into disjoint ranges (each chunk is claimed once), moving
// them to the caller: `R: Send` is what that needs.
unsafe impl<R: Send> Sync for Slots<R> {}

impl<R> Slots<R> {
    /// The slots of `range`.
    ///
    /// # Safety
    ///
    /// `range` lies within the allocation, and no other reference to those slots exists while
    /// the returned one lives.
    #[allow(clippy::mut_from_ref)] // disjointness is the caller's promise (above)
    unsafe fn range(&self, range: std::ops::Range<usize>) -> &mut [MaybeUninit<R>] {
        // SAFETY: forwarded: in bounds and exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(range.start), range.len()) }
    }
}

/// Writes `map` of each input item into the output slot at the same position. Either writes
/// every slot and returns, or drops the results written so far and lets `map`'s panic go on.
fn fill<T, R>(input: &[T], output: &mut [MaybeUninit<R>], map: &impl Fn(&T) -> R) {
    /// Drops the written prefix if `map` panics (forgotten once every slot is written).
    struct Written<'a, R> {
        slots: &'a mut [MaybeUninit<R>],
        count: usize,
    }
    impl<R> Drop for Written<'_, R> {
        fn drop(&mut self) {
            // SAFETY: the first `count` slots were written, and nothing else owns them: the
            // caller drops only the chunks of jobs that returned.
            unsafe { drop_written(&mut self.slots[..self.count]) };
        }
    }
    assert_eq!(input.len(), output.len(), "map_slice: a chunk and its output slots differ in length");
    let mut written = Written { slots: output, count: 0 };
    for (position, item) in input.iter().enumerate() {
        written.slots[position].write(map(item));
        written.count = position + 1;
    }
    mem::forget(written);
}

/// Drops the values in `slots` in place.
///
/// # Safety
///
/// Every slot holds a value, and nothing else drops them (or reads them) afterwards.
unsafe fn drop_written<R>(slots: &mut [MaybeUninit<R>]) {
    // SAFETY: forwarded: every slot is initialised and owned here; `MaybeUninit<R>` has `R`'s
    // layout, so the slice cast keeps length and alignment.
    unsafe { ptr::drop_in_place(ptr::from_mut(slots) as *mut [R]) };
}
