//! Lock-free rate limiting: a token bucket ([`TokenBucket`]) and a sliding window
//! ([`SlidingWindow`]), both on an injected [`Clock`].
//!
//! # The token bucket: GCRA in one word
//!
//! A bucket of capacity `burst` gains one token every *emission interval* `T = per / rate`
//! and a request takes `n` tokens. The Generic Cell Rate Algorithm (ATM Forum, *Traffic
//! Management Specification 4.0*, 1996; ITU-T I.371; see
//! <https://en.wikipedia.org/wiki/Generic_cell_rate_algorithm>) implements the same bucket
//! without a token count or a refill timer: it keeps one instant, here `E`, "when everything
//! granted so far is paid for". With `tau = burst * T`:
//!
//! ```text
//! E' = max(E, now - tau) + n * T;   grant iff E' <= now;   otherwise ready at E + n * T
//! ```
//!
//! `max(E, now - tau)` is the refill (an idle bucket never holds more than `burst`), `+ n * T`
//! the payment, and a denied request learns exactly when it would fit. Because the whole state
//! is one `u64`, the bucket is one atomic word: a grant is one compare-and-swap `E -> E'`
//! (retried when another thread changed `E` first); a denial reads `E` and writes nothing, so
//! the deny path scales with threads (no cache line bounces). Times are `u64` nanoseconds of
//! the bucket's clock; all arithmetic is saturating or checked (see [`Quota`] for the rounding
//! of `T` and the limit on huge periods).
//!
//! # Guarantees
//!
//! - **Never over-grants.** Over any interval `[a, b]` of clock readings, the tokens granted
//!   to requests that read the clock in `[a, b]` (for a reservation: whose ready time lies in
//!   it) total at most `burst + (b - a) / T`, under any interleaving. In particular requests at
//!   the same instant never get more than `burst` between them.
//! - **Never denies while tokens are available**, for fresh readings. A denial is decided on
//!   the latest state the thread saw (after a failed CAS, the current one); contention makes a
//!   request retry, never fail. So with `k` concurrent requests for one token each at the
//!   latest reading and `j` tokens available, exactly `min(j, k)` succeed. A stale reading
//!   (older than one a grant was charged at) sees fewer tokens and may be denied.
//! - **Charged at the reading.** A request counts at the clock reading it used. A thread that
//!   read the clock, was descheduled, and then acquired is charged at its old reading: the
//!   bucket's books stay right (such a request can only see fewer tokens), but the caller acts
//!   later than it was charged. [`TokenBucket::try_acquire`] reads the clock, then the state
//!   (so that only a load lies between its look at the state and its CAS); a retry after a
//!   lost CAS reuses that reading while it still grants and reads the clock again only to
//!   decide a denial, so the gap is the retry loop's length (a few instructions per contending
//!   thread). A first attempt's denial uses the reading taken just before the state: it is
//!   stale (and may be denied, as above) only if another grant, charged at a later reading,
//!   landed between the two; every denial after a lost CAS is decided on a reading taken
//!   after the state. [`TokenBucket::reserve`] reads the clock once, before the state, and
//!   keeps that reading through its retries: it never denies, and the reading only decides
//!   whether the reservation is due at once (an older one makes it wait, at most until the
//!   instant a fresh one would have given).
//! - **`set_rate` keeps the state.** See [`TokenBucket::set_quota`]: the bucket continues as if
//!   the new quota had been in force since it was last drained; acquirers never wait for it,
//!   each acquire is decided wholly by the old or wholly by the new quota, and blocked acquirers
//!   on a real-time clock are woken to re-decide.
//! - **`cancel` gives back exactly what it took, when that is still possible**: when no later
//!   grant depends on it (see [`Reservation::cancel`]; this is the bug of golang/go#69419).
//! - `n > burst` fails at once with [`InsufficientCapacity`]; `n == 0` always succeeds. A
//!   quota whose full refill would take longer than 2^62 ns is rejected
//!   ([`QuotaError::RefillTooSlow`]), never refilled faster than asked.
//!
//! # The sliding window
//!
//! [`SlidingWindow`] promises at most `max_calls` calls in *any* window of length `period`
//! (not an approximation): it keeps one timestamp per allowed call, in `max_calls` slots each
//! claimed by a CAS. See its docs for the argument and the costs; prefer the token bucket for
//! large `max_calls` or when short bursts above the average are fine.
//!
//! # Which one
//!
//! | need | use |
//! |---|---|
//! | an average rate with bounded bursts, O(1) everything, reservations, live rate changes | [`TokenBucket`] |
//! | a hard "at most N per window" (an API's published limit), small N | [`SlidingWindow`] |
//! | a token bucket per key (user, client address, API key), live rate changes | [`KeyedBucket`] |
//!
//! # Blocking and clocks
//!
//! Blocking calls sleep until the instant the request can succeed, then retry. On a real-time
//! clock ([`Clock::instant_of`]: [`TscClock`], the default, and [`MonotonicClock`]) a blocked
//! bucket acquire (a keyed bucket's too) waits on the bucket, so a rate change or a cancel
//! wakes it, and a timed acquire that cannot succeed before its deadline fails at once.
//! [`ManualClock`] has no real-time instants: acquirers park on it ([`Clock::sleep_until`])
//! until another thread advances it, so tests run without real sleeps.
//! The default clock, [`TscClock`], reads the CPU's time-stamp counter where that is safe
//! (x86_64, invariant TSC, used by the OS as its clock), because reading `Instant` (20-60 ns,
//! depending on the machine) costs more than the limiter itself; elsewhere it reads `Instant`.
//! It calibrates itself during the first 5 ms of a process without making anyone wait (see
//! [`TscClock`]). [`MonotonicClock`] is plain `Instant`, for who wants exactly the OS's clock.
//! Deadlines (`*_deadline`, `*_timeout`) are always real-time `Instant`s.
//!
//! # Async
//!
//! [`TokenBucket::acquire_async`] / [`TokenBucket::until_ready`],
//! [`KeyedBucket::acquire_async`] / [`KeyedBucket::until_ready`] and
//! [`SlidingWindow::acquire_async`] / [`SlidingWindow::until_ready`] return futures
//! ([`AcquireFuture`], [`UntilReadyFuture`], [`KeyedAcquireFuture`], [`KeyedUntilReadyFuture`],
//! [`WindowAcquireFuture`]) that work on any executor (tokio,
//! smol, a hand-written `block_on`: `std::task` only). Each poll calls `try_acquire`; a grant
//! completes the future, `n` above the burst completes it at once with
//! [`InsufficientCapacity`], and a denial waits for the reading at which the request fits, then
//! tries again (waiters are not queued, as with the blocking calls). How it waits depends on the
//! clock:
//!
//! | clock | a denied future waits |
//! |---|---|
//! | real time ([`Clock::instant_of`] is `Some`: [`MonotonicClock`], [`TscClock`]) | on the crate's built-in [timer](crate::timer) (one lazily started thread) until that instant |
//! | one that wakes tasks ([`Clock::wake_at`] is `true`: [`ManualClock`]) | until the clock is advanced: every [`advance`](ManualClock::advance) or [`set`](ManualClock::set) wakes it to re-decide; real time never does |
//! | any other clock | on the timer for the real-time equivalent of the wait (`ready - now` ns), then re-decides |
//!
//! So a test on a `ManualClock` gets exactly what the blocking calls give it: the future
//! completes when the test advances the clock far enough, needs no real sleeps, and stays
//! pending (holding no timer entry) while nobody advances it. As with blocked threads, a
//! [`set_quota`](TokenBucket::set_quota) or a [`cancel`](Reservation::cancel) that frees
//! tokens sooner wakes a waiting bucket future to re-decide, on every clock (it also waits on
//! the bucket's change queue), and a blocked thread the same way.
//! A [`Reservation`]'s [`wait_async`](Reservation::wait_async) ([`ReservationWait`]) waits the
//! same way for the reservation's ready reading.
//!
//! **Cancel safety.** Tokens are taken only by the atomic `try_acquire` of the poll that
//! completes the future (one CAS takes all `n` tokens or none). A future dropped while waiting
//! (the losing branch of a `select!`, a timeout) has taken nothing, and its registrations
//! (timer entry, change-queue entry) are removed with it.
//!
//! ```
//! use ringfence::rate::TokenBucket;
//! use std::time::Duration;
//!
//! let bucket = TokenBucket::new(50, Duration::from_secs(1), 5);
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(async {
//!     for _ in 0..6 {
//!         bucket.until_ready().await; // five at once, the sixth about 20 ms later
//!     }
//! });
//! ```
//!
//! # Verification
//!
//! The loom models in `loom-tests/rate.rs` check concurrent grants at one instant, refill racing
//! acquire, stale readings, saturation after a long idle, reserve/cancel and set_rate racing
//! acquire, a cancel waking a blocked acquirer, a torn-quota check of the seqlock, and the
//! same kinds for the window;
//! `tests/rate_proptest.rs` checks random operation sequences against a sequential GCRA model.
//!
//! # Examples
//!
//! ```
//! use ringfence::rate::{ManualClock, Quota, TokenBucket};
//! use std::time::Duration;
//!
//! let clock = ManualClock::new();
//! let bucket = TokenBucket::with_clock(Quota::new(3, Duration::from_secs(1), 5).unwrap(), clock.clone());
//! assert!(bucket.try_acquire(5).is_ok());
//! let denied = bucket.try_acquire(1).unwrap_err();
//! # let ringfence::rate::TryAcquireError::RateLimited(denied) = denied else { panic!() };
//! assert_eq!(denied.wait_time(), Duration::from_nanos(333_333_334));
//! clock.advance(denied.wait_time());
//! assert!(bucket.try_acquire(1).is_ok());
//! ```

mod async_acquire;
mod bucket;
mod changes;
mod clock;
mod error;
mod jitter;
mod keyed;
#[cfg(feature = "futures")]
mod limited_stream;
mod limiter;
mod quota;
mod tsc;
mod window;

pub use async_acquire::{
    AcquireFuture, KeyedAcquireFuture, KeyedUntilReadyFuture, ReservationWait, UntilReadyFuture,
    WindowAcquireFuture,
};
pub use bucket::{Reservation, TokenBucket};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use error::{
    AcquireTimeoutError, InsufficientCapacity, QuotaError, RateLimited, ReserveError, TimedOut,
    TryAcquireError,
};
pub use jitter::Jitter;
pub use keyed::KeyedBucket;
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
pub use limited_stream::RateLimitedStream;
pub use limiter::Limiter;
pub use quota::Quota;
pub use tsc::TscClock;
pub use window::{MAX_WINDOW_CALLS, SlidingWindow};
