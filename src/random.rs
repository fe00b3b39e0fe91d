//! A per-thread pseudo-random sequence for the places that need spread, not secrecy: the rate
//! limiter's jitter and the selector's fair start.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

thread_local! {
    /// A xorshift state per thread, seeded from std's per-process random keys (no dependency,
    /// no lock; the quality a jitter or a shuffle needs, not a cryptographic one).
    static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(0u64) | 1);
}

/// The next value of this thread's xorshift64* sequence. In a thread-local's destructor, after
/// this one's storage is gone, a fixed value (a selection there must not panic: a panic in a
/// TLS destructor aborts the process).
pub(crate) fn next_random() -> u64 {
    STATE
        .try_with(|state| {
            let mut x = state.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.set(x);
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
}
