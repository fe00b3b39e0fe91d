//! The token bucket: GCRA over one atomic word (see the [module docs](super) for the algorithm
//! and the guarantees).
//!
//! # The state word
//!
//! `state` holds `E`, a tick (quota module docs): the instant at which every token granted so
//! far is paid for. With interval `T`, burst `b` and tolerance `tau = b * T`:
//!
//! ```text
//! base    = max(E, now - tau)       // an idle bucket holds at most `b` tokens
//! E'      = base + n * T            // pay for n tokens
//! granted iff E' <= now             // ... out of what has dripped in by now
//! ready   = E + n * T               // when a denied request would fit
//! tokens  = (now - base) / T        // what `available` reports
//! ```
//!
//! | who | writes `state` | how |
//! |---|---|---|
//! | `try_acquire` | only when granting | one CAS `E -> E'`, retried on contention |
//! | `reserve` | always (it queues) | one CAS `E -> E'`; `E'` may lie in the future |
//! | `Reservation::cancel` | only if still the last grant | one CAS `E' -> E` |
//! | `set_rate` | never | it swaps the quota cell only |
//!
//! Every grant moves `E` strictly up (`n * T >= 1`), and a cancel moves it back only from its
//! own `E'` to its own `E`; so while a reservation is outstanding the word stays `>= E'`, and it
//! equals `E'` exactly when every later grant has been cancelled: the cancel then restores the
//! state that would exist had the reservation never been made.
//!
//! # Waking blocked acquirers
//!
//! A blocked acquire on a real-time clock ([`Clock::instant_of`]) waits on the bucket's change
//! queue (`changes.rs`) until its ready instant; on a clock that wakes wakers instead (a
//! `ManualClock`) it waits for the clock's wake and the change queue together, through one
//! thread-parking waker registered with both. Two events can make tokens available earlier
//! than it computed: `set_quota` and a successful `cancel`. Each announces itself there after
//! its change (the quota write, the cancel CAS); a waiter reads the change count before its
//! attempt and sleeps only while it is unchanged (`changes.rs` says why no wakeup is lost).

use super::changes::{self, Changes};
use super::clock::Clock;
use super::error::{
    AcquireTimeoutError, InsufficientCapacity, QuotaError, RateLimited, ReserveError, TryAcquireError,
};
use super::quota::{Limits, MAX_TICK, Quota, QuotaCell, reading, tick};
use super::tsc::TscClock;
use crate::sync::atomic::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::time::{Duration, Instant};

/// One GCRA step, pure: from state `e` at tick `t`, the new state if `n` tokens are taken, and
/// whether that is a grant (`new <= t`). `None` when the new state would not fit a `u64`
/// (reservations queued beyond the clock's range).
///
/// The new state is `max(e, t - tau) + n * T`. It is a grant exactly when `e + n * T <= t`: if
/// `e <= t - tau`, then `e + n * T <= t - tau + n * T <= t` (as `n <= burst`), and otherwise the
/// new state *is* `e + n * T`. So a denial, the read-only path, is decided on `e + n * T` alone
/// and never computes `tau` (a multiplication and its operands: callgrind, one thread, 41 -> 34
/// instructions per denied check).
#[inline]
pub(crate) fn step(e: u64, t: u64, n: u64, limits: Limits) -> Option<(u64, bool)> {
    // `n <= burst`, so the product is at most `tau <= 2^62`.
    let taken = n * limits.interval;
    let ready = e.checked_add(taken)?;
    if ready > t {
        return Some((ready, false));
    }
    // `t >= BIAS >= tau >= taken`: neither subtraction underflows, and the result is at most `t`.
    Some((ready.max(t - (limits.tau() - taken)), true))
}

/// A lock-free token bucket rate limiter (GCRA; see the [module docs](super)).
///
/// `rate` tokens are added every `per`, at most `burst` are stored, and the bucket starts full.
/// Share it between threads by reference or in an `Arc`.
///
/// # Examples
///
/// ```
/// use ringfence::rate::TokenBucket;
/// use std::time::Duration;
///
/// // 3 tokens per second, capacity 5.
/// let bucket = TokenBucket::new(3, Duration::from_secs(1), 5);
/// assert!(bucket.try_acquire(5).is_ok()); // the initial burst
/// let denied = bucket.try_acquire(1).unwrap_err();
/// println!("{denied}"); // rate limited, ready in 333.333334ms (about)
/// ```
pub struct TokenBucket<C = TscClock> {
    /// `E`, see the file docs. Written by grants, reservations and cancels, on its own cache
    /// line so those writes do not evict the read-mostly quota.
    state: CachePadded<AtomicU64>,
    quota: QuotaCell,
    /// Announced by every event that can make tokens available earlier than a sleeper
    /// computed: `set_quota` and a successful `cancel` (file docs).
    changes: Changes,
    clock: C,
}

impl<C> fmt::Debug for TokenBucket<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBucket").field("quota", &self.quota.quota()).finish_non_exhaustive()
    }
}

impl TokenBucket<TscClock> {
    /// A full bucket of `burst` tokens that refills `rate` tokens every `per`, on the default clock,
    /// [`TscClock`] (the CPU's counter where that is safe, else `Instant`).
    ///
    /// # Panics
    ///
    /// When the quota is invalid, with the message `invalid token bucket quota: ` followed by
    /// the [`QuotaError`]: `rate must be at least 1`, `period must be longer than zero` or
    /// `burst must be at least 1`. [`TokenBucket::try_new`] returns the error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(100, std::time::Duration::from_secs(1), 10);
    /// assert_eq!(bucket.available(), 10);
    /// ```
    #[must_use]
    pub fn new(rate: u32, per: Duration, burst: u32) -> Self {
        match Self::try_new(rate, per, burst) {
            Ok(bucket) => bucket,
            Err(e) => panic!("invalid token bucket quota: {e}"),
        }
    }

    /// Like [`TokenBucket::new`], returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// The [`QuotaError`] of [`Quota::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{QuotaError, TokenBucket};
    /// use std::time::Duration;
    ///
    /// assert_eq!(TokenBucket::try_new(0, Duration::from_secs(1), 1).unwrap_err(), QuotaError::ZeroRate);
    /// ```
    pub fn try_new(rate: u32, per: Duration, burst: u32) -> Result<Self, QuotaError> {
        Ok(Self::with_clock(Quota::new(rate, per, burst)?, TscClock::new()))
    }
}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket with quota `quota` that reads time from `clock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 2).unwrap(), clock.clone());
    /// assert_eq!(bucket.available(), 2);
    /// ```
    #[must_use]
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        TokenBucket {
            state: CachePadded::new(AtomicU64::new(0)),
            quota: QuotaCell::new(quota),
            changes: Changes::new(),
            clock,
        }
    }

    /// The bucket's clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
    /// assert!(bucket.try_acquire(1).is_ok());
    /// assert!(bucket.try_acquire(1).is_err());
    /// bucket.clock().advance(Duration::from_secs(1)); // a token later
    /// assert_eq!(bucket.clock().now(), 1_000_000_000);
    /// assert!(bucket.try_acquire(1).is_ok());
    /// ```
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The quota in force.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(5, std::time::Duration::from_secs(2), 5);
    /// assert_eq!(bucket.quota().rate(), 5);
    /// ```
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.quota.quota()
    }

    /// Replaces the quota of a live bucket without losing its state.
    ///
    /// The bucket keeps `E` (the instant from which it has been refilling, file docs): it
    /// continues *as if the new quota had been in force since it was last drained*. A bucket
    /// that has been idle for a whole new tolerance is full; a drained one stays drained and
    /// refills at the new rate; a partly refilled one holds the tokens that time is worth at the
    /// new rate (at most the new burst). Outstanding reservations keep their ready times, and
    /// their [`cancel`](Reservation::cancel) still gives back exactly what they took.
    ///
    /// Concurrency: the quota is swapped in one step that acquirers never wait for. An acquire
    /// that *starts after* `set_quota` returns uses the new quota; one that overlaps it is
    /// decided entirely by the old or entirely by the new one (never a mix). Concurrent
    /// `set_quota` calls are serialised (they briefly spin on each other).
    ///
    /// Blocked acquirers (threads and [async](TokenBucket::acquire_async) ones) re-decide under
    /// the new quota: they are woken at once, on a real-time clock ([`TscClock`],
    /// [`MonotonicClock`](super::MonotonicClock)) as on a [`ManualClock`](super::ManualClock),
    /// where they wait for its advance and the bucket's changes together ([`Clock::wake_at`]).
    /// On a clock of your own that has neither real-time instants nor `wake_at`, a blocked
    /// thread re-decides when its [`Clock::sleep_until`] returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 2).unwrap(), clock.clone());
    /// bucket.try_acquire(2).unwrap(); // drained
    /// bucket.set_quota(Quota::new(10, Duration::from_secs(1), 2).unwrap());
    /// clock.advance(Duration::from_millis(100)); // refills at the new rate
    /// assert_eq!(bucket.available(), 1);
    /// ```
    pub fn set_quota(&self, quota: Quota) {
        self.quota.write(quota);
        self.changes.announce();
    }

    /// The bucket's change queue (file docs, "Waking blocked acquirers"), for its async
    /// acquires.
    pub(super) fn changes(&self) -> &Changes {
        &self.changes
    }

    /// [`set_quota`](TokenBucket::set_quota) from its parts.
    ///
    /// # Errors
    ///
    /// The [`QuotaError`] of [`Quota::new`]; the bucket is then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(5, std::time::Duration::from_secs(1), 5);
    /// bucket.set_rate(50, std::time::Duration::from_secs(1), 10).unwrap();
    /// assert_eq!(bucket.quota().burst(), 10);
    /// assert!(bucket.set_rate(0, std::time::Duration::from_secs(1), 10).is_err());
    /// ```
    pub fn set_rate(&self, rate: u32, per: Duration, burst: u32) -> Result<(), QuotaError> {
        self.set_quota(Quota::new(rate, per, burst)?);
        Ok(())
    }

    /// The tokens available now (a snapshot: other threads may take them first).
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(1, std::time::Duration::from_secs(60), 3);
    /// bucket.try_acquire(2).unwrap();
    /// assert_eq!(bucket.available(), 1);
    /// ```
    #[must_use]
    pub fn available(&self) -> u32 {
        // ORDERING: Relaxed; the word publishes no data (file docs), coherence gives a value
        // no older than any grant that happens before this call.
        let e = self.state.load(Ordering::Relaxed);
        let limits = self.quota.limits();
        let t = tick(self.clock.now());
        let base = e.max(t - limits.tau());
        // `t - base <= tau = burst * interval`, so the quotient is at most `burst <= u32::MAX`.
        (t.saturating_sub(base) / limits.interval) as u32
    }

    /// Takes `n` tokens if they are available now; never blocks.
    ///
    /// `n == 0` always succeeds. On contention the attempt is retried (one CAS per attempt),
    /// so a request is denied only when the bucket, as last seen, really lacks the tokens.
    ///
    /// # Errors
    ///
    /// - [`TryAcquireError::RateLimited`] when fewer than `n` tokens are available; it tells
    ///   when they will be ([`RateLimited::ready_at`], [`RateLimited::wait_time`]). The deny
    ///   path reads the state and writes nothing.
    /// - [`TryAcquireError::InsufficientCapacity`] when `n` exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket, TryAcquireError};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Quota::new(10, Duration::from_secs(1), 2).unwrap(), clock);
    /// assert!(bucket.try_acquire(2).is_ok());
    /// match bucket.try_acquire(1) {
    ///     Err(TryAcquireError::RateLimited(e)) => assert_eq!(e.wait_time(), Duration::from_millis(100)),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(matches!(bucket.try_acquire(3), Err(TryAcquireError::InsufficientCapacity(_))));
    /// ```
    #[inline]
    pub fn try_acquire(&self, n: u32) -> Result<(), TryAcquireError> {
        self.try_acquire_with(n, || self.clock.now())
    }

    /// [`try_acquire`](TokenBucket::try_acquire) at a clock reading the caller already holds
    /// (for example one reading for a batch of decisions; saves the clock read).
    ///
    /// `now` must be a reading of this bucket's clock taken before the call. The request is
    /// charged at `now`: an old reading is safe for the bucket's accounting (it can only see
    /// fewer tokens than a fresh one), but the caller is then acting later than it was charged.
    /// A reading from the future would take tokens that have not dripped in yet.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](TokenBucket::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 3).unwrap(), clock.clone());
    /// let now = clock.now();
    /// let granted = (0..5).filter(|_| bucket.try_acquire_at(1, now).is_ok()).count();
    /// assert_eq!(granted, 3);
    /// ```
    #[inline]
    pub fn try_acquire_at(&self, n: u32, now: u64) -> Result<(), TryAcquireError> {
        self.try_acquire_with(n, || now)
    }

    // Always inlined: with `TscClock`'s reading inside, the compiler kept it a call (its saves
    // and the result through memory: about 20 of a denied check's 99 instructions, callgrind).
    #[inline(always)]
    fn try_acquire_with(&self, n: u32, mut now: impl FnMut() -> u64) -> Result<(), TryAcquireError> {
        if n == 0 {
            return Ok(());
        }
        // The clock first, then the state: the load is then all that lies between our look at
        // `E` and our CAS. With the clock read in between (a TSC read is about 10 ns) another
        // thread's grant landed there often enough that two threads granting on one bucket
        // took 100-120 ns per grant against 57-64 in this order (`docs/rate.md`, "What is promised
        // under contention").
        let mut reading_now = now();
        // ORDERING: Relaxed; the word publishes no data, and a grant is decided by the CAS,
        // which always compares against the latest value (file docs).
        let mut e = self.state.load(Ordering::Relaxed);
        // Whether a denial may be decided on `reading_now`. A grant may use an older reading (it
        // is charged at that reading, which can only see fewer tokens). A denial may use the
        // first one: only a grant that landed between our clock read and our load, charged at
        // a later reading, makes it stale, and a stale reading may be denied (module docs,
        // "Guarantees"). After a lost CAS we know others' grants landed, so a denial reads the
        // clock again: contention never turns into a denial while tokens are available, and a
        // retry that still grants costs no clock read (governor's loop does the same).
        let mut fresh = true;
        loop {
            // Quota after state: the quota read falls between our state read and our CAS, so
            // the decision is that of one quota that was live during the attempt.
            let limits = self.quota.limits();
            if u64::from(n) > limits.burst {
                return Err(InsufficientCapacity { requested: n, burst: limits.burst as u32 }.into());
            }
            let t = tick(reading_now);
            let new = match step(e, t, u64::from(n), limits) {
                Some((new, true)) => new,
                _ if !fresh => {
                    reading_now = now();
                    fresh = true;
                    continue;
                }
                // Denied: `step` returns `e + n * T`, the tick the tokens will be ready at (beyond
                // the `u64` range: `None`, never ready within the clock's range).
                Some((ready, false)) => {
                    return Err(RateLimited { ready_tick: ready, now: reading_now }.into());
                }
                None => return Err(RateLimited { ready_tick: u64::MAX, now: reading_now }.into()),
            };
            // ORDERING: Relaxed success and failure; all writers of the word are RMWs on this
            // one location, whose modification order alone makes the grants add up (no other
            // memory is published through it).
            match self.state.compare_exchange_weak(e, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(current) => {
                    e = current;
                    fresh = false;
                }
            }
        }
    }

    /// Takes `n` tokens, blocking until they are granted.
    ///
    /// A denied attempt sleeps until the instant the tokens will be ready, then tries again; it
    /// does not spin. Waiters are not queued (the first to retry wins); use
    /// [`reserve`](TokenBucket::reserve) for first-come order. On a real-time clock
    /// ([`Clock::instant_of`]) a [`set_quota`](TokenBucket::set_quota) or a successful
    /// [`cancel`](Reservation::cancel) wakes the sleepers to re-decide. With a
    /// [`ManualClock`](super::ManualClock) it sleeps on the clock ([`Clock::sleep_until`]):
    /// it blocks until another thread advances the clock far enough.
    ///
    /// # Errors
    ///
    /// [`InsufficientCapacity`] at once when `n` exceeds the burst (it could never succeed).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(20), 1);
    /// let start = Instant::now();
    /// bucket.acquire(1).unwrap();
    /// bucket.acquire(1).unwrap(); // waits for the refill
    /// assert!(start.elapsed() >= Duration::from_millis(15));
    /// assert!(bucket.acquire(2).is_err());
    /// ```
    pub fn acquire(&self, n: u32) -> Result<(), InsufficientCapacity> {
        loop {
            match self.acquire_until(n, None) {
                Ok(()) => return Ok(()),
                Err(AcquireTimeoutError::InsufficientCapacity(e)) => return Err(e),
                // Without a deadline there is no timeout; loop for robustness.
                Err(AcquireTimeoutError::Timeout) => {}
            }
        }
    }

    /// Takes `n` tokens, blocking at most `timeout`. A timeout too large to represent means no
    /// deadline.
    ///
    /// Blocks as [`acquire`](TokenBucket::acquire) does, but not in vain: on a real-time clock
    /// ([`Clock::instant_of`]), when a denied attempt shows that the tokens cannot be ready
    /// before the deadline, it fails at once instead of sleeping until the deadline (as Go's
    /// `WaitN` does). That is decided on the bucket's state and quota at the attempt: a later
    /// `set_quota` or `cancel` that would have freed tokens in time does not revive it. On a
    /// clock without real-time instants ([`ManualClock`](super::ManualClock)) it cannot know,
    /// and waits until the deadline.
    ///
    /// # Errors
    ///
    /// [`AcquireTimeoutError::Timeout`] when the tokens were not granted in time, or cannot be
    /// (nothing is taken); [`AcquireTimeoutError::InsufficientCapacity`] at once when `n`
    /// exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{AcquireTimeoutError, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_secs(3600), 1);
    /// bucket.acquire_timeout(1, Duration::from_millis(10)).unwrap();
    /// // The next token is an hour away: fails at once rather than after 10 ms.
    /// assert_eq!(bucket.acquire_timeout(1, Duration::from_millis(10)), Err(AcquireTimeoutError::Timeout));
    /// ```
    pub fn acquire_timeout(&self, n: u32, timeout: Duration) -> Result<(), AcquireTimeoutError> {
        self.acquire_until(n, crate::wait::deadline_after(timeout))
    }

    /// Takes `n` tokens, blocking at most until `deadline` (a real-time instant, whatever the
    /// bucket's clock). At the deadline it tries once more before giving up. Like
    /// [`acquire_timeout`](TokenBucket::acquire_timeout), it fails at once when (on a real-time
    /// clock) the tokens cannot be ready by the deadline.
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](TokenBucket::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(5), 1);
    /// let deadline = Instant::now() + Duration::from_secs(10);
    /// bucket.acquire_deadline(1, deadline).unwrap();
    /// bucket.acquire_deadline(1, deadline).unwrap();
    /// ```
    pub fn acquire_deadline(&self, n: u32, deadline: Instant) -> Result<(), AcquireTimeoutError> {
        self.acquire_until(n, Some(deadline))
    }

    fn acquire_until(&self, n: u32, deadline: Option<Instant>) -> Result<(), AcquireTimeoutError> {
        changes::acquire_until(&self.clock, &self.changes, deadline, || self.try_acquire(n))
    }

    /// Takes `n` tokens now, to be used from the instant the reservation names.
    ///
    /// Unlike [`try_acquire`](TokenBucket::try_acquire) a reservation always succeeds: it queues
    /// behind earlier grants, moving the bucket's state into the future, so later requests wait
    /// for it. Use the tokens from [`Reservation::ready_at`] on ([`Reservation::wait`] sleeps
    /// until then), or [`cancel`](Reservation::cancel) it. Dropping a reservation keeps the
    /// tokens taken.
    ///
    /// # Errors
    ///
    /// [`ReserveError::InsufficientCapacity`] when `n` exceeds the burst;
    /// [`ReserveError::QueueFull`] when the reservation would be due after the last clock reading
    /// the bucket can reach (2^63 ns, 292 years: reservations already queued fill the range).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock);
    /// let first = bucket.reserve(1).unwrap();
    /// let second = bucket.reserve(1).unwrap();
    /// assert_eq!(first.wait_time(), Duration::ZERO);
    /// assert_eq!(second.wait_time(), Duration::from_secs(1));
    /// assert!(second.cancel()); // the last one: gives its token back
    /// assert!(first.cancel()); // and now this one is the last
    /// assert_eq!(bucket.available(), 1);
    /// ```
    pub fn reserve(&self, n: u32) -> Result<Reservation<'_, C>, ReserveError> {
        // The clock first and once, as in `try_acquire_with`: only the load lies between our
        // look at `E` and the CAS (re-reading the clock in the loop, two threads reserving took
        // 70-91 ns per reservation against 63-67 this way). The reading only decides whether a
        // reservation is due at once, and an older one is charged at that reading: it can only
        // see fewer tokens (module docs, "Guarantees"), and a reservation it makes wait is due
        // no later than the instant a fresh reading would have given it at once.
        let t = tick(self.clock.now());
        // ORDERING: Relaxed, as in `try_acquire_with`.
        let mut e = self.state.load(Ordering::Relaxed);
        loop {
            let limits = self.quota.limits();
            if u64::from(n) > limits.burst {
                return Err(InsufficientCapacity { requested: n, burst: limits.burst as u32 }.into());
            }
            if n == 0 {
                // Nothing taken, nothing to give back, and no write: a write would move `E`.
                return Ok(Reservation {
                    bucket: self,
                    before: e,
                    after: e,
                    ready_at: reading(t),
                    tokens: 0,
                });
            }
            // A reservation due after the last tick the bucket can reach could never be used.
            let Some((new, granted_now)) =
                step(e, t, u64::from(n), limits).filter(|&(new, _)| new <= MAX_TICK)
            else {
                return Err(ReserveError::QueueFull);
            };
            // ORDERING: Relaxed, as in `try_acquire_with`.
            match self.state.compare_exchange_weak(e, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    let ready = if granted_now { t } else { new };
                    return Ok(Reservation {
                        bucket: self,
                        before: e,
                        after: new,
                        ready_at: reading(ready),
                        tokens: n,
                    });
                }
                Err(current) => e = current,
            }
        }
    }
}

/// Tokens taken by [`TokenBucket::reserve`], usable from [`ready_at`](Reservation::ready_at).
///
/// Dropping it keeps the tokens taken; [`cancel`](Reservation::cancel) gives them back when
/// that is still possible.
///
/// # Examples
///
/// Book two tokens of a bucket that has one, then wait for the second:
///
/// ```
/// use ringfence::rate::TokenBucket;
/// use std::time::Duration;
///
/// let bucket = TokenBucket::new(1000, Duration::from_secs(1), 2); // one token per ms, burst 2
/// let now = bucket.reserve(2).unwrap(); // the full burst
/// let later = bucket.reserve(1).unwrap(); // due about a millisecond from now
/// assert_eq!(now.wait_time(), Duration::ZERO);
/// assert!(later.wait_time() <= Duration::from_millis(1));
/// later.wait(); // sleeps until the token is due
/// ```
#[must_use = "dropping a reservation keeps its tokens taken; wait() for them or cancel() it"]
pub struct Reservation<'a, C: Clock = TscClock> {
    /// Also read by [`Reservation::wait_async`] (`async_acquire.rs`).
    pub(super) bucket: &'a TokenBucket<C>,
    /// The state word before this reservation.
    before: u64,
    /// The state word this reservation wrote.
    after: u64,
    /// Clock reading from which the tokens may be used.
    ready_at: u64,
    tokens: u32,
}

impl<C: Clock> fmt::Debug for Reservation<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation").field("tokens", &self.tokens).field("ready_at", &self.ready_at).finish()
    }
}

impl<C: Clock> Reservation<'_, C> {
    /// The clock reading (nanoseconds) from which the tokens may be used.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
    /// assert_eq!(bucket.reserve(1).unwrap().ready_at(), 0); // at once
    /// assert_eq!(bucket.reserve(1).unwrap().ready_at(), 1_000_000_000); // one interval later
    /// ```
    #[must_use]
    pub fn ready_at(&self) -> u64 {
        self.ready_at
    }

    /// How long from now until [`ready_at`](Reservation::ready_at) (zero once it has passed).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
    /// let _first = bucket.reserve(1).unwrap();
    /// let second = bucket.reserve(1).unwrap();
    /// assert_eq!(second.wait_time(), Duration::from_secs(1));
    /// bucket.clock().advance(Duration::from_millis(400));
    /// assert_eq!(second.wait_time(), Duration::from_millis(600));
    /// bucket.clock().advance(Duration::from_secs(5));
    /// assert_eq!(second.wait_time(), Duration::ZERO);
    /// ```
    #[must_use]
    pub fn wait_time(&self) -> Duration {
        Duration::from_nanos(self.ready_at.saturating_sub(self.bucket.clock.now()))
    }

    /// The number of tokens reserved.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(10, std::time::Duration::from_secs(1), 10);
    /// assert_eq!(bucket.reserve(3).unwrap().tokens(), 3);
    /// ```
    #[must_use]
    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// Blocks until the tokens may be used (sleeping on the bucket's clock).
    ///
    /// From a task, await [`wait_async`](Reservation::wait_async) instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let bucket = ringfence::rate::TokenBucket::new(1, std::time::Duration::from_millis(5), 1);
    /// bucket.reserve(1).unwrap().wait();
    /// bucket.reserve(1).unwrap().wait(); // about 5 ms later
    /// ```
    pub fn wait(self) {
        while self.bucket.clock.now() < self.ready_at {
            self.bucket.clock.sleep_until(self.ready_at, None);
        }
    }

    /// Gives the tokens back if no later grant depends on them; returns whether it did.
    ///
    /// It is "still possible" exactly when this reservation is still the bucket's most recent
    /// grant (every later one has been cancelled): the bucket's state then returns to what it
    /// would be had the reservation never been made. Once another request has been granted or
    /// queued after it, that request's ready time was computed behind this reservation's
    /// tokens; giving them back would let a new request be scheduled into the same slot, over
    /// the rate (the bug of Go's `x/time/rate`, golang/go#69419). Then nothing is given back
    /// and `cancel` returns `false`.
    ///
    /// Call it only if the tokens were not used.
    ///
    /// When it gives tokens back, blocked acquirers (threads and futures) are woken to re-decide,
    /// on a real-time clock as on a [`ManualClock`](super::ManualClock) (see
    /// [`TokenBucket::set_quota`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{ManualClock, Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::with_clock(Quota::new(1, Duration::from_secs(1), 2).unwrap(), ManualClock::new());
    /// let a = bucket.reserve(1).unwrap();
    /// let b = bucket.reserve(1).unwrap();
    /// assert!(!a.cancel()); // b was granted behind a
    /// assert!(b.cancel());
    /// assert_eq!(bucket.available(), 1);
    /// ```
    pub fn cancel(self) -> bool {
        if self.before == self.after {
            return self.tokens == 0;
        }
        // ORDERING: Relaxed, as every write of the word (file docs). A strong CAS: a spurious
        // failure would wrongly report "too late".
        let given_back = self
            .bucket
            .state
            .compare_exchange(self.after, self.before, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if given_back {
            self.bucket.changes.announce();
        }
        given_back
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::step;
    use crate::rate::quota::{BIAS, Limits, MAX_SPAN, MAX_TICK};

    /// The textbook step `step` must equal: `max(e, t - tau) + n * T`, a grant when at most `t`.
    fn textbook(e: u64, t: u64, n: u64, limits: Limits) -> Option<(u64, bool)> {
        let new = e.max(t - limits.tau()).checked_add(n * limits.interval)?;
        Some((new, new <= t))
    }

    #[test]
    fn step_decides_as_the_textbook_step_at_the_edges() {
        let limits = [
            Limits { interval: 1, burst: 1 },
            Limits { interval: 3, burst: 5 },
            Limits { interval: 1_000_000_000, burst: 7 },
            Limits { interval: MAX_SPAN, burst: 1 },
            Limits { interval: 1, burst: u64::from(u32::MAX) },
        ];
        let ticks = [BIAS, BIAS + 1, BIAS + 1_000, MAX_TICK - 1, MAX_TICK];
        let mut checked = 0;
        for limits in limits {
            for t in ticks {
                let mut states =
                    vec![0, 1, t - limits.tau(), t - 1, t, t + 1, MAX_TICK, u64::MAX - 1, u64::MAX];
                states.extend([t - limits.tau() + limits.interval, t - limits.interval]);
                for e in states {
                    for n in [1, 2, limits.burst] {
                        if n > limits.burst {
                            continue;
                        }
                        assert_eq!(
                            step(e, t, n, limits),
                            textbook(e, t, n, limits),
                            "{e} {t} {n} {limits:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 400, "only {checked} cases");
    }
}
