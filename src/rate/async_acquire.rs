//! Async acquires: [`TokenBucket::acquire_async`] / [`TokenBucket::until_ready`],
//! [`KeyedBucket::acquire_async`] / [`KeyedBucket::until_ready`] and
//! [`SlidingWindow::acquire_async`] / [`SlidingWindow::until_ready`], each also with a
//! [`Jitter`] on its waits (`_with_jitter`), runtime-agnostic (`std::task` only).
//!
//! # The loop
//!
//! Each poll calls the non-blocking `try_acquire`. A grant completes the future in the same
//! poll; a request that can never succeed (`n` above the burst) completes it at once with the
//! error; a denial (`RateLimited`) tells the reading at which the request would fit, and the
//! future waits for that reading and tries again. Waiters are not queued (the first to retry
//! wins), as with the blocking calls.
//!
//! # How a denied future waits
//!
//! Per clock, as the table in the [`rate` module docs](super#async) says: on the
//! [timer](crate::timer) until the ready instant (real-time clocks); on the clock's own wakers
//! ([`Clock::wake_at`], the manual clock); otherwise on the timer for the real-time equivalent
//! of the wait. `Wait::poll_denied` makes that choice on every denial.
//!
//! As a blocked thread does, a bucket acquire on any clock also waits on the bucket's
//! change queue (bucket.rs, "Waking blocked acquirers"): it reads the change count before each
//! attempt, and after a denial registers its waker there too, so a
//! [`set_quota`](TokenBucket::set_quota) or a [`cancel`](super::Reservation::cancel) that frees
//! tokens sooner wakes it to re-decide, on every clock: on a manual clock its waker waits in
//! the clock (for the next advance) and in the change queue at once, as a blocked thread's
//! does there (`changes.rs`, `wait_for_clock_or_change`).
//!
//! A jittered wait (`_with_jitter`) ends early when the bucket changes: the denial it was drawn
//! for is stale, so the future re-decides (and draws a new delay if denied again): it stays
//! registered in the change queue while it waits out its delay, so the change wakes it at once.
//!
//! # Cancel safety
//!
//! `try_acquire` is atomic and is the only thing that takes tokens: one compare-and-swap takes
//! all `n` tokens (a window slot) or nothing, and a future that got them returns `Ready` in the
//! same poll, with no await point in between. While it waits it holds nothing but registered
//! wakers (a timer entry, an entry in the bucket's change queue, or one in a manual clock's
//! list). So dropping a pending future takes no tokens; its drop removes the timer entry and
//! the change-queue entry at once (with no wakeup to pass on: the change queue is only ever
//! woken all at once, so a wakeup this future did not use is nobody else's), and a manual
//! clock drops its waker at the next advance. A "never" denial (the request fits only past the
//! clock's range) waits only on the change queue (bucket) or for ever (window): no reading helps.

use super::bucket::{Reservation, TokenBucket};
use super::changes::Changes;
use super::clock::Clock;
use super::error::{InsufficientCapacity, RateLimited, TryAcquireError};
use super::jitter::Jitter;
use super::keyed::KeyedBucket;
use super::quota::{MAX_TICK, tick};
use super::tsc::TscClock;
use super::window::SlidingWindow;
use crate::timer::Sleep;
use crate::wait::AsyncSlot;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// `Some(deadline)` when `clock` runs in real time, with `None` inside for "never" (the ready
/// reading lies beyond the clock's range); `None` for a clock without real-time instants.
///
/// "Never" is answered `Some(None)` on every clock: no reading brings it (readings past the
/// range count as its end), so the future waits only for a change of the bucket (a cancelled
/// reservation, a new quota), never for the clock. Asking a clock that has reached `u64::MAX`
/// for its own wakeup at `u64::MAX` found it "reached" at once: a poll that never returned.
fn real_time<C: Clock>(clock: &C, denied: &RateLimited) -> Option<Option<Instant>> {
    if denied.is_never() { Some(None) } else { clock.instant_of(denied.ready_at()).map(Some) }
}

/// How far a re-computed deadline may be from the registered one for the entry to be kept
/// (`Wait::poll_denied`): well under the timer's own slack (module docs of `timer`).
const DEADLINE_SLACK: Duration = Duration::from_micros(10);

/// How a denied future waits for its ready reading (module docs), lengthened by its jitter.
#[derive(Debug)]
struct Wait {
    /// Used on real-time clocks and as the fallback; "never" while unused.
    sleep: Sleep,
    /// Added to each wait after a denial (`Jitter::default()`: nothing).
    jitter: Jitter,
    /// A jittered wait in progress: the denial, its ready reading moved later by a delay drawn
    /// once for this wait, and the bucket's change count read before that attempt. Until it is
    /// waited out no poll tries again (a poll for another reason, a manual clock's advance,
    /// would otherwise take the tokens at the plain ready reading, and the jitter would spread
    /// nothing), unless the bucket changed since (a new quota, a cancel): the denial is then
    /// stale, and the future re-decides at once (found by review: a jittered wait slept an hour
    /// that a new quota had made a millisecond).
    jittered: Option<(RateLimited, u32)>,
}

impl Wait {
    fn new(jitter: Jitter) -> Self {
        Wait { sleep: Sleep::never(), jitter, jittered: None }
    }

    /// Before an attempt: waits out the jittered wait in progress, if any, and with `changes`
    /// (a bucket's change queue and the future's registration there) also for a change of the
    /// bucket, which ends the wait at once. `Ready`: attempt now.
    fn poll_jittered<C: Clock>(
        &mut self,
        clock: &C,
        waker: &Waker,
        changes: Option<(&Changes, &mut AsyncSlot)>,
    ) -> Poll<()> {
        if let Some((denied, seen)) = self.jittered {
            let real_time = real_time(clock, &denied);
            let changed =
                changes.is_some_and(|(changes, slot)| changes.poll_changed(slot, waker, seen).is_ready());
            if !changed && self.poll_denied(clock, denied, real_time, waker).is_pending() {
                return Poll::Pending;
            }
            self.jittered = None; // waited out, or stale: try again
        }
        Poll::Ready(())
    }

    /// After the denial `denied` of an attempt before which the bucket's change count read
    /// `seen` (0 where there is none): with a jitter, starts a jittered wait and returns `true`
    /// (the caller waits it out with [`poll_jittered`](Wait::poll_jittered) before its next
    /// attempt). A "never" denial is not jittered: no reading brings it.
    fn start_jittered(&mut self, denied: RateLimited, seen: u32) -> bool {
        if self.jitter == Jitter::default() || denied.is_never() {
            return false;
        }
        let delay = self.jitter.sample_nanos();
        // At most the clock's last reading: a jitter past the end of the clock's range waits
        // until its end, never for ever (a "never" tick registers nothing, and the bucket could
        // grant there).
        let ready_tick = denied.ready_tick.saturating_add(delay).min(MAX_TICK);
        self.jittered = Some((RateLimited { ready_tick, now: denied.now }, seen));
        true
    }

    /// After the denial `denied` (with `real_time` its [`real_time`] answer): arranges for the
    /// task to be woken when the request may fit. `Ready` means "try again now" (the ready
    /// reading was reached meanwhile).
    fn poll_denied<C: Clock>(
        &mut self,
        clock: &C,
        denied: RateLimited,
        real_time: Option<Option<Instant>>,
        waker: &Waker,
    ) -> Poll<()> {
        let ready = denied.ready_at();
        let deadline = match real_time {
            Some(deadline) => deadline,
            None if clock.wake_at(ready, waker) => {
                self.sleep.set_deadline(None);
                // Re-read after registering (the `wake_at` contract): an advance that slipped in
                // between the denial and the registration is seen here or wakes us.
                return if clock.now() >= ready { Poll::Ready(()) } else { Poll::Pending };
            }
            // Neither: assume the clock runs at real speed ("never" is `real_time`'s `Some(None)`),
            // from the clock's reading now, not the denial's: a denial kept across polls (a
            // jittered wait's) would otherwise push its deadline later on every poll, for ever
            // (found by review).
            None => {
                let now = clock.now();
                if now >= ready {
                    return Poll::Ready(());
                }
                Instant::now().checked_add(Duration::from_nanos(ready - now))
            }
        };
        // A real-time clock's instant is computed from two clock reads (`Clock::instant_of`), so
        // it moves by some nanoseconds between polls even when the ready reading did not: an
        // entry within `DEADLINE_SLACK` of it is kept rather than re-registered (two timer
        // locks, maybe a notify of the timer thread) on every poll. Kept early, it only wakes
        // the task for a retry that the bucket denies again: never a grant before its time. Not
        // once it has passed: the retry would find it passed and try again at once, a spin.
        let near = match (self.sleep.deadline(), deadline) {
            (Some(old), Some(new)) => {
                old.max(new).duration_since(old.min(new)) <= DEADLINE_SLACK && !self.sleep.is_elapsed()
            }
            _ => false,
        };
        if !near {
            self.sleep.set_deadline(deadline);
        }
        self.sleep.poll_waker(waker)
    }

    /// The future completed: drop the timer entry now rather than with the future.
    fn finish(&mut self) {
        self.sleep.set_deadline(None);
    }
}

impl<C: Clock> TokenBucket<C> {
    /// Takes `n` tokens, waiting asynchronously until they are granted.
    ///
    /// The async form of [`acquire`](TokenBucket::acquire): each poll tries
    /// [`try_acquire`](TokenBucket::try_acquire); a denied attempt waits for the instant the
    /// tokens will be ready (on the crate's [timer](crate::timer), or on the clock for a
    /// [`ManualClock`](super::ManualClock): see the [module docs](super#async))
    /// and tries again. Nothing is taken before the first poll. Works on any executor.
    ///
    /// # Errors
    ///
    /// The future resolves at once to [`InsufficientCapacity`] when `n` exceeds the burst (the
    /// request could never succeed).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes takes no tokens (they are taken
    /// only by the atomic `try_acquire` of the poll that returns `Ready`), and removes its timer
    /// entry. It is safe to use in `select!` in a loop; a dropped future simply loses its turn
    /// (waiters are not queued).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(20), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     bucket.acquire_async(1).await.unwrap(); // the initial burst
    ///     bucket.acquire_async(1).await.unwrap(); // waits for the refill
    ///     assert!(start.elapsed() >= Duration::from_millis(15));
    ///     assert!(bucket.acquire_async(2).await.is_err()); // more than the burst
    /// });
    /// ```
    pub fn acquire_async(&self, n: u32) -> AcquireFuture<'_, C> {
        self.acquire_async_with_jitter(n, Jitter::default())
    }

    /// [`acquire_async`](TokenBucket::acquire_async), each wait after a denial lengthened by a
    /// random delay drawn from `jitter` (governor's `until_n_ready_with_jitter`): many tasks
    /// denied together then retry spread out instead of all at the ready instant. A grant at
    /// the first attempt waits nothing.
    ///
    /// # Errors
    ///
    /// As [`acquire_async`](TokenBucket::acquire_async).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](TokenBucket::acquire_async): dropped before it completes, it took
    /// no tokens.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, TokenBucket};
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(10), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     let jitter = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
    ///     bucket.acquire_async_with_jitter(1, jitter).await.unwrap(); // at once: no wait
    ///     bucket.acquire_async_with_jitter(1, jitter).await.unwrap(); // 10 ms + 5..10 ms
    ///     assert!(start.elapsed() >= Duration::from_millis(14));
    /// });
    /// ```
    pub fn acquire_async_with_jitter(&self, n: u32, jitter: Jitter) -> AcquireFuture<'_, C> {
        AcquireFuture {
            bucket: self,
            tokens: n,
            wait: Wait::new(jitter),
            changes: AsyncSlot::default(),
            done: false,
        }
    }

    /// Waits asynchronously until one token is granted, and takes it.
    ///
    /// Governor's `until_ready`: the same as [`acquire_async(1)`](TokenBucket::acquire_async)
    /// but without the error, since one token always fits in a bucket (a burst is at least 1).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](TokenBucket::acquire_async): dropping it before it completes takes
    /// no token.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::new(100, Duration::from_secs(1), 10);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..12 {
    ///         bucket.until_ready().await; // the last two wait about 10 ms each
    ///     }
    /// });
    /// ```
    pub fn until_ready(&self) -> UntilReadyFuture<'_, C> {
        UntilReadyFuture { acquire: self.acquire_async(1) }
    }

    /// [`until_ready`](TokenBucket::until_ready) with [`Jitter`] on its waits (governor's
    /// `until_ready_with_jitter`; see
    /// [`acquire_async_with_jitter`](TokenBucket::acquire_async_with_jitter)).
    ///
    /// # Cancel safety
    ///
    /// As [`until_ready`](TokenBucket::until_ready): dropped before it completes, it took no
    /// token.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::new(1000, Duration::from_secs(1), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..3 {
    ///         bucket.until_ready_with_jitter(Jitter::up_to(Duration::from_millis(1))).await;
    ///     }
    /// });
    /// ```
    pub fn until_ready_with_jitter(&self, jitter: Jitter) -> UntilReadyFuture<'_, C> {
        UntilReadyFuture { acquire: self.acquire_async_with_jitter(1, jitter) }
    }
}

/// The future of [`TokenBucket::acquire_async`]: resolves once `n` tokens are taken.
///
/// # Cancel safety
///
/// Dropping it before it completes takes no tokens (see
/// [`acquire_async`](TokenBucket::acquire_async)).
///
/// # Panics
///
/// Polling it again after it completed panics with `AcquireFuture polled after completion` (a second
/// completion would take tokens a second time).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{AcquireFuture, TokenBucket};
/// use std::time::Duration;
///
/// let bucket = TokenBucket::new(1, Duration::from_secs(1), 3);
/// let acquire: AcquireFuture<'_> = bucket.acquire_async(3);
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(acquire).unwrap();
/// assert_eq!(bucket.available(), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireFuture<'a, C: Clock = TscClock> {
    bucket: &'a TokenBucket<C>,
    tokens: u32,
    /// The wait after a denial, with the future's jitter.
    wait: Wait,
    /// Its registration in the bucket's change queue (real-time clocks; module docs).
    changes: AsyncSlot,
    done: bool,
}

impl<C: Clock> fmt::Debug for AcquireFuture<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireFuture").field("tokens", &self.tokens).field("done", &self.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<C: Clock> futures_core::future::FusedFuture for AcquireFuture<'_, C> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<C: Clock> Future for AcquireFuture<'_, C> {
    type Output = Result<(), InsufficientCapacity>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "AcquireFuture polled after completion");
        let (bucket, tokens) = (this.bucket, this.tokens);
        let poll = poll_bucket_acquire(
            &mut this.wait,
            &mut this.changes,
            bucket.changes(),
            bucket.clock(),
            cx.waker(),
            || bucket.try_acquire(tokens),
        );
        this.done = poll.is_ready();
        poll
    }
}

/// The poll of a bucket's async acquire, the token bucket's and the keyed bucket's alike:
/// `attempt` (one `try_acquire`) until it grants or fails for good; after a denial, a jittered
/// wait (`Wait::start_jittered`) or a wait for the ready reading, on a real-time clock also for a
/// change of the bucket (`changes`, where `slot` is the future's registration). On `Ready` the
/// timer entry and the registration are gone.
fn poll_bucket_acquire<C: Clock>(
    wait: &mut Wait,
    slot: &mut AsyncSlot,
    changes: &Changes,
    clock: &C,
    waker: &Waker,
    mut attempt: impl FnMut() -> Result<(), TryAcquireError>,
) -> Poll<Result<(), InsufficientCapacity>> {
    loop {
        if wait.poll_jittered(clock, waker, Some((changes, &mut *slot))).is_pending() {
            return Poll::Pending;
        }
        // Before the attempt, as a blocked thread reads it (changes.rs).
        let seen = changes.seen();
        let outcome = match attempt() {
            Ok(()) => Ok(()),
            Err(TryAcquireError::InsufficientCapacity(e)) => Err(e),
            Err(TryAcquireError::RateLimited(denied)) => {
                if wait.start_jittered(denied, seen) {
                    continue; // wait it out, at the top of the loop
                }
                let real_time = real_time(clock, &denied);
                // Also wait for a change that frees tokens sooner (a new quota, a cancel), on
                // every clock: a manual one's advance is not the only way to tokens.
                if changes.poll_changed(slot, waker, seen).is_ready() {
                    continue;
                }
                match wait.poll_denied(clock, denied, real_time, waker) {
                    Poll::Ready(()) => continue,
                    Poll::Pending => return Poll::Pending,
                }
            }
        };
        wait.finish();
        changes.leave(slot);
        return Poll::Ready(outcome);
    }
}

impl<C: Clock> Drop for AcquireFuture<'_, C> {
    fn drop(&mut self) {
        self.bucket.changes().leave(&mut self.changes);
    }
}

/// The future of [`TokenBucket::until_ready`]: resolves once one token is taken.
///
/// # Cancel safety
///
/// Dropping it before it completes takes no token.
///
/// # Panics
///
/// Polling it again after it completed panics with `AcquireFuture polled after completion`.
///
/// # Examples
///
/// ```
/// use ringfence::rate::TokenBucket;
/// use std::time::Duration;
///
/// let bucket = TokenBucket::new(1, Duration::from_secs(1), 1);
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(bucket.until_ready());
/// assert_eq!(bucket.available(), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct UntilReadyFuture<'a, C: Clock = TscClock> {
    acquire: AcquireFuture<'a, C>,
}

impl<C: Clock> fmt::Debug for UntilReadyFuture<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntilReadyFuture").field("done", &self.acquire.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<C: Clock> futures_core::future::FusedFuture for UntilReadyFuture<'_, C> {
    fn is_terminated(&self) -> bool {
        self.acquire.done
    }
}

impl<C: Clock> Future for UntilReadyFuture<'_, C> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        one_token(Pin::new(&mut self.acquire).poll(cx))
    }
}

/// An `until_ready` future's poll from its one-token acquire's: one token always fits, since
/// every quota a bucket takes (`Quota::new`'s) has a burst of at least 1.
fn one_token(poll: Poll<Result<(), InsufficientCapacity>>) -> Poll<()> {
    match poll {
        Poll::Ready(Ok(())) => Poll::Ready(()),
        Poll::Ready(Err(e)) => unreachable!("one token always fits in a bucket: {e}"),
        Poll::Pending => Poll::Pending,
    }
}

impl<C: Clock> SlidingWindow<C> {
    /// Records a call, waiting asynchronously until the window has room.
    ///
    /// The async form of [`acquire`](SlidingWindow::acquire): each poll tries
    /// [`try_acquire`](SlidingWindow::try_acquire); a denied attempt waits until the oldest
    /// call leaves the window (on the crate's [timer](crate::timer), or on the clock for a
    /// [`ManualClock`](super::ManualClock): see the [module docs](super#async))
    /// and tries again. Nothing is recorded before the first poll. Works on any executor.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future before it completes records no call (a slot is taken
    /// only by the atomic `try_acquire` of the poll that returns `Ready`) and removes its timer
    /// entry.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::SlidingWindow;
    /// use std::time::{Duration, Instant};
    ///
    /// let window = SlidingWindow::new(2, Duration::from_millis(20));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     for _ in 0..3 {
    ///         window.acquire_async().await;
    ///     }
    ///     assert!(start.elapsed() >= Duration::from_millis(20)); // the third waited
    /// });
    /// ```
    pub fn acquire_async(&self) -> WindowAcquireFuture<'_, C> {
        self.acquire_async_with_jitter(Jitter::default())
    }

    /// [`acquire_async`](SlidingWindow::acquire_async), each wait after a denial lengthened by
    /// a random delay drawn from `jitter`: tasks denied together (all told the instant the
    /// oldest call leaves the window) retry spread out. A call recorded at the first attempt
    /// waits nothing.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](SlidingWindow::acquire_async): dropping it records no call.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, SlidingWindow};
    /// use std::time::{Duration, Instant};
    ///
    /// let window = SlidingWindow::new(1, Duration::from_millis(10));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     let jitter = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
    ///     window.acquire_async_with_jitter(jitter).await; // at once
    ///     window.acquire_async_with_jitter(jitter).await; // 10 ms + 5..10 ms
    ///     assert!(start.elapsed() >= Duration::from_millis(14));
    /// });
    /// ```
    pub fn acquire_async_with_jitter(&self, jitter: Jitter) -> WindowAcquireFuture<'_, C> {
        WindowAcquireFuture { window: self, wait: Wait::new(jitter), done: false }
    }

    /// The same future as [`acquire_async`](SlidingWindow::acquire_async), under governor's
    /// name.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](SlidingWindow::acquire_async): dropping it records no call.
    ///
    /// # Examples
    ///
    /// ```
    /// let window = ringfence::rate::SlidingWindow::new(5, std::time::Duration::from_secs(1));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(window.until_ready());
    /// ```
    pub fn until_ready(&self) -> WindowAcquireFuture<'_, C> {
        self.acquire_async()
    }

    /// The same future as [`acquire_async_with_jitter`](SlidingWindow::acquire_async_with_jitter),
    /// under governor's name.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](SlidingWindow::acquire_async): dropping it records no call.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, SlidingWindow};
    /// use std::time::Duration;
    ///
    /// let window = SlidingWindow::new(1000, Duration::from_secs(1));
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(window.until_ready_with_jitter(Jitter::up_to(Duration::from_millis(1))));
    /// ```
    pub fn until_ready_with_jitter(&self, jitter: Jitter) -> WindowAcquireFuture<'_, C> {
        self.acquire_async_with_jitter(jitter)
    }
}

/// The future of [`SlidingWindow::acquire_async`] and [`SlidingWindow::until_ready`]:
/// resolves once a call is recorded.
///
/// # Cancel safety
///
/// Dropping it before it completes records no call.
///
/// # Panics
///
/// Polling it again after it completed panics with `WindowAcquireFuture polled after completion`
/// (a second completion would record a second call).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, SlidingWindow, WindowAcquireFuture};
/// use std::time::Duration;
///
/// let window = SlidingWindow::with_clock(1, Duration::from_secs(1), ManualClock::new()).unwrap();
/// let call: WindowAcquireFuture<'_, ManualClock> = window.acquire_async();
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(call);
/// assert!(window.try_acquire().is_err());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WindowAcquireFuture<'a, C: Clock = TscClock> {
    window: &'a SlidingWindow<C>,
    /// The wait after a denial, with the future's jitter.
    wait: Wait,
    done: bool,
}

impl<C: Clock> fmt::Debug for WindowAcquireFuture<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowAcquireFuture").field("done", &self.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<C: Clock> futures_core::future::FusedFuture for WindowAcquireFuture<'_, C> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<C: Clock> Future for WindowAcquireFuture<'_, C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        assert!(!this.done, "WindowAcquireFuture polled after completion");
        loop {
            if this.wait.poll_jittered(this.window.clock(), cx.waker(), None).is_pending() {
                return Poll::Pending;
            }
            match this.window.try_acquire() {
                Ok(()) => {
                    this.done = true;
                    this.wait.finish();
                    return Poll::Ready(());
                }
                Err(denied) if this.wait.start_jittered(denied, 0) => {} // wait it out, at the top
                Err(denied) => match this.wait.poll_denied(
                    this.window.clock(),
                    denied,
                    real_time(this.window.clock(), &denied),
                    cx.waker(),
                ) {
                    Poll::Ready(()) => {}
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl<C: Clock> Reservation<'_, C> {
    /// Waits asynchronously until the tokens may be used: the async form of
    /// [`wait`](Reservation::wait).
    ///
    /// The future waits as a denied [`acquire_async`](TokenBucket::acquire_async) does (on the
    /// crate's [timer](crate::timer) for a real-time clock, on the clock's own wakers for a
    /// [`ManualClock`](super::ManualClock): see the [module docs](super#async)) and resolves
    /// once the clock reads [`ready_at`](Reservation::ready_at). It takes nothing: the tokens
    /// were taken by [`reserve`](TokenBucket::reserve). It borrows the reservation (unlike the
    /// blocking [`wait`](Reservation::wait), which consumes it), so that a reservation whose
    /// wait is abandoned stays yours to [`cancel`](Reservation::cancel), once the future is
    /// dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future changes nothing but its wait registration (on a
    /// real-time clock its timer entry, removed at once; on a
    /// [`ManualClock`](super::ManualClock) its waker in the clock's list, dropped at the next
    /// advance). The reservation keeps its tokens until it is cancelled; a wait can be started
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_millis(20), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     bucket.reserve(1).unwrap().wait_async().await; // the initial burst: at once
    ///     let second = bucket.reserve(1).unwrap();
    ///     second.wait_async().await; // the refill, about 20 ms later
    ///     assert!(start.elapsed() >= Duration::from_millis(15));
    /// });
    /// ```
    ///
    /// Abandoning the wait and giving the tokens back:
    ///
    /// ```
    /// use ringfence::rate::TokenBucket;
    /// use ringfence::timer::timeout;
    /// use std::time::Duration;
    ///
    /// let bucket = TokenBucket::new(1, Duration::from_secs(60), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     bucket.reserve(1).unwrap().wait_async().await; // uses the only token
    ///     let late = bucket.reserve(1).unwrap(); // due in a minute
    ///     assert!(timeout(Duration::from_millis(5), late.wait_async()).await.is_err());
    ///     assert!(late.cancel()); // the most recent grant: its token comes back
    /// });
    /// ```
    ///
    /// The future borrows the reservation, so it cannot be cancelled while a wait for it is
    /// alive:
    ///
    /// ```compile_fail,E0505
    /// let bucket = ringfence::rate::TokenBucket::new(1, std::time::Duration::from_secs(1), 1);
    /// let reservation = bucket.reserve(1).unwrap();
    /// let wait = reservation.wait_async();
    /// reservation.cancel(); // error: moved while borrowed by `wait`
    /// drop(wait);
    /// ```
    pub fn wait_async(&self) -> ReservationWait<'_, C> {
        ReservationWait {
            bucket: self.bucket,
            ready_at: self.ready_at(),
            wait: Wait::new(Jitter::default()),
            done: false,
        }
    }
}

/// The future of [`Reservation::wait_async`]: resolves once the reservation's tokens may be
/// used.
///
/// # Cancel safety
///
/// Dropping it changes nothing but its wait registration (a timer entry, or a waker in a
/// manual clock's list until its next advance): the reservation keeps its tokens.
///
/// # Panics
///
/// Polling it again after it completed panics with `ReservationWait polled after completion`.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{ManualClock, Quota, ReservationWait, TokenBucket};
/// use std::time::Duration;
///
/// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
/// let bucket = TokenBucket::with_clock(quota, ManualClock::new());
/// let reservation = bucket.reserve(1).unwrap();
/// let ready: ReservationWait<'_, ManualClock> = reservation.wait_async();
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(ready); // due now
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct ReservationWait<'a, C: Clock = TscClock> {
    bucket: &'a TokenBucket<C>,
    ready_at: u64,
    wait: Wait,
    done: bool,
}

impl<C: Clock> fmt::Debug for ReservationWait<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReservationWait").field("ready_at", &self.ready_at).field("done", &self.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<C: Clock> futures_core::future::FusedFuture for ReservationWait<'_, C> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<C: Clock> Future for ReservationWait<'_, C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        assert!(!this.done, "ReservationWait polled after completion");
        let clock = this.bucket.clock();
        loop {
            let now = clock.now();
            if now >= this.ready_at {
                this.done = true;
                this.wait.finish();
                return Poll::Ready(());
            }
            // Waits exactly as a denial due at `ready_at` would (`Wait::poll_denied`).
            let due = RateLimited { ready_tick: tick(this.ready_at), now };
            match this.wait.poll_denied(clock, due, real_time(clock, &due), cx.waker()) {
                Poll::Ready(()) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> KeyedBucket<K, C, S> {
    /// Takes `n` tokens from `key`'s bucket, waiting asynchronously until they are granted
    /// (governor's `until_key_n_ready`).
    ///
    /// The async form of [`acquire`](KeyedBucket::acquire): each poll tries
    /// [`try_acquire`](KeyedBucket::try_acquire); a denied attempt waits for the instant the
    /// tokens will be ready (on the crate's [timer](crate::timer), or on the clock for a
    /// [`ManualClock`](super::ManualClock)) and tries again. The future holds a clone of the
    /// key. Nothing is taken before the first poll.
    ///
    /// # Errors
    ///
    /// The future resolves at once to [`InsufficientCapacity`] when `n` exceeds the burst.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`TokenBucket::acquire_async`]: the tokens are taken only by the atomic
    /// attempt of the poll that returns `Ready`; dropped earlier, it took nothing (and removes
    /// its timer entry).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::KeyedBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let per_user = KeyedBucket::new(1, Duration::from_millis(20), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     per_user.acquire_async(&"ann", 1).await.unwrap();
    ///     per_user.acquire_async(&"ann", 1).await.unwrap(); // waits for ann's refill
    ///     assert!(start.elapsed() >= Duration::from_millis(15));
    /// });
    /// ```
    pub fn acquire_async(&self, key: &K, n: u32) -> KeyedAcquireFuture<'_, K, C, S> {
        self.acquire_async_with_jitter(key, n, Jitter::default())
    }

    /// [`acquire_async`](KeyedBucket::acquire_async), each wait after a denial lengthened by a
    /// random delay drawn from `jitter` (governor's `until_key_n_ready_with_jitter`; see
    /// [`TokenBucket::acquire_async_with_jitter`]). A grant at the first attempt waits nothing.
    ///
    /// # Errors
    ///
    /// As [`acquire_async`](KeyedBucket::acquire_async).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](KeyedBucket::acquire_async): dropped before it completes, it took
    /// no tokens.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, KeyedBucket};
    /// use std::time::{Duration, Instant};
    ///
    /// let per_user = KeyedBucket::new(1, Duration::from_millis(10), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     let jitter = Jitter::new(Duration::from_millis(5), Duration::from_millis(5));
    ///     per_user.acquire_async_with_jitter(&"ann", 1, jitter).await.unwrap(); // at once
    ///     per_user.acquire_async_with_jitter(&"ann", 1, jitter).await.unwrap(); // 10 ms + 5..10 ms
    ///     assert!(start.elapsed() >= Duration::from_millis(14));
    /// });
    /// ```
    pub fn acquire_async_with_jitter(
        &self,
        key: &K,
        n: u32,
        jitter: Jitter,
    ) -> KeyedAcquireFuture<'_, K, C, S> {
        KeyedAcquireFuture {
            buckets: self,
            key: key.clone(),
            tokens: n,
            wait: Wait::new(jitter),
            changes: AsyncSlot::default(),
            done: false,
        }
    }

    /// Waits asynchronously until one token of `key`'s bucket is granted, and takes it
    /// (governor's `until_key_ready`).
    ///
    /// The same as [`acquire_async(key, 1)`](KeyedBucket::acquire_async) but without the
    /// error, since one token always fits in a bucket (a burst is at least 1).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](KeyedBucket::acquire_async): dropping it before it completes takes
    /// no token.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::KeyedBucket;
    /// use std::time::Duration;
    ///
    /// let per_host = KeyedBucket::new(100, Duration::from_secs(1), 10);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..12 {
    ///         per_host.until_ready(&"example.com").await; // the last two wait about 10 ms each
    ///     }
    ///     per_host.until_ready(&"example.org").await; // another key's burst: at once
    /// });
    /// ```
    pub fn until_ready(&self, key: &K) -> KeyedUntilReadyFuture<'_, K, C, S> {
        self.until_ready_with_jitter(key, Jitter::default())
    }

    /// [`until_ready`](KeyedBucket::until_ready) with [`Jitter`] on its waits (governor's
    /// `until_key_ready_with_jitter`; see
    /// [`acquire_async_with_jitter`](KeyedBucket::acquire_async_with_jitter)).
    ///
    /// # Cancel safety
    ///
    /// As [`until_ready`](KeyedBucket::until_ready): dropped before it completes, it took no
    /// token.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Jitter, KeyedBucket};
    /// use std::time::Duration;
    ///
    /// let per_host = KeyedBucket::new(1000, Duration::from_secs(1), 1);
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..3 {
    ///         per_host.until_ready_with_jitter(&7u16, Jitter::up_to(Duration::from_millis(1))).await;
    ///     }
    /// });
    /// ```
    pub fn until_ready_with_jitter(&self, key: &K, jitter: Jitter) -> KeyedUntilReadyFuture<'_, K, C, S> {
        KeyedUntilReadyFuture { acquire: self.acquire_async_with_jitter(key, 1, jitter) }
    }
}

/// The future of [`KeyedBucket::acquire_async`]: resolves once `n` tokens of its key's bucket
/// are taken.
///
/// # Cancel safety
///
/// Dropping it before it completes takes no tokens (see
/// [`acquire_async`](KeyedBucket::acquire_async)).
///
/// # Panics
///
/// Polling it again after it completed panics with `KeyedAcquireFuture polled after completion`
/// (a second completion would take tokens a second time).
///
/// # Examples
///
/// ```
/// use ringfence::rate::{KeyedAcquireFuture, KeyedBucket};
/// use std::time::Duration;
///
/// let buckets = KeyedBucket::new(1, Duration::from_secs(1), 3);
/// let acquire: KeyedAcquireFuture<'_, &str> = buckets.acquire_async(&"k", 3);
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(acquire).unwrap();
/// assert_eq!(buckets.available(&"k"), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct KeyedAcquireFuture<'a, K, C: Clock = TscClock, S = RandomState> {
    buckets: &'a KeyedBucket<K, C, S>,
    key: K,
    tokens: u32,
    /// The wait after a denial, with the future's jitter.
    wait: Wait,
    /// Its registration in the buckets' change queue (real-time clocks; module docs).
    changes: AsyncSlot,
    done: bool,
}

impl<K, C: Clock, S> fmt::Debug for KeyedAcquireFuture<'_, K, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedAcquireFuture").field("tokens", &self.tokens).field("done", &self.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> futures_core::future::FusedFuture
    for KeyedAcquireFuture<'_, K, C, S>
{
    fn is_terminated(&self) -> bool {
        self.done
    }
}

// The key is never pinned: the future only reads it through `&`.
impl<K, C: Clock, S> Unpin for KeyedAcquireFuture<'_, K, C, S> {}

impl<K, C: Clock, S> Drop for KeyedAcquireFuture<'_, K, C, S> {
    fn drop(&mut self) {
        self.buckets.changes().leave(&mut self.changes);
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> Future for KeyedAcquireFuture<'_, K, C, S> {
    type Output = Result<(), InsufficientCapacity>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "KeyedAcquireFuture polled after completion");
        let (buckets, key, tokens) = (this.buckets, &this.key, this.tokens);
        let poll = poll_bucket_acquire(
            &mut this.wait,
            &mut this.changes,
            buckets.changes(),
            buckets.clock(),
            cx.waker(),
            || buckets.try_acquire(key, tokens),
        );
        this.done = poll.is_ready();
        poll
    }
}

/// The future of [`KeyedBucket::until_ready`]: resolves once one token of its key's bucket is
/// taken.
///
/// # Cancel safety
///
/// Dropping it before it completes takes no token.
///
/// # Panics
///
/// Polling it again after it completed panics with `KeyedAcquireFuture polled after completion`.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{KeyedBucket, KeyedUntilReadyFuture};
/// use std::time::Duration;
///
/// let buckets = KeyedBucket::new(1, Duration::from_secs(1), 1);
/// let ready: KeyedUntilReadyFuture<'_, u32> = buckets.until_ready(&5);
/// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(ready);
/// assert_eq!(buckets.available(&5), 0);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct KeyedUntilReadyFuture<'a, K, C: Clock = TscClock, S = RandomState> {
    acquire: KeyedAcquireFuture<'a, K, C, S>,
}

impl<K, C: Clock, S> fmt::Debug for KeyedUntilReadyFuture<'_, K, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedUntilReadyFuture").field("done", &self.acquire.done).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> futures_core::future::FusedFuture
    for KeyedUntilReadyFuture<'_, K, C, S>
{
    fn is_terminated(&self) -> bool {
        self.acquire.done
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> Future for KeyedUntilReadyFuture<'_, K, C, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        one_token(Pin::new(&mut self.acquire).poll(cx))
    }
}
