//! [`Interval`]: ticks at a fixed period, on the crate's timer (tokio's `time::interval`, for any
//! executor).

use super::Sleep;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A tick taken later than this after its instant is late, and [`MissedTickBehavior`] decides
/// the next one. Below it is the wake-up's own delay (the timer thread's, the executor's), which
/// must not make `Delay` drift. tokio's threshold.
const LATE: Duration = Duration::from_millis(5);

/// An [`Interval`] whose first tick is at once, then every `period` (as tokio's
/// `time::interval`).
///
/// # Panics
///
/// With `"timer::interval: the period must be non-zero"` when `period` is zero (a tick loop
/// that never waits); [`try_interval`] returns `None` instead.
///
/// # Examples
///
/// ```
/// use ringfence::timer::interval;
/// use std::time::{Duration, Instant};
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let start = Instant::now();
/// rt.block_on(async {
///     let mut every = interval(Duration::from_millis(5));
///     for _ in 0..3 {
///         every.tick().await; // at once, then 5 ms, then 10 ms after the start
///     }
/// });
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, then every `period` (as tokio's
/// `time::interval_at`).
///
/// # Panics
///
/// With `"timer::interval: the period must be non-zero"` when `period` is zero; see
/// [`try_interval_at`].
///
/// # Examples
///
/// ```
/// use ringfence::timer::interval_at;
/// use std::time::{Duration, Instant};
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let start = Instant::now() + Duration::from_millis(5);
/// let first = rt.block_on(async { interval_at(start, Duration::from_secs(1)).tick().await });
/// assert_eq!(first, start); // a tick yields its scheduled instant
/// assert!(Instant::now() >= start);
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    try_interval_at(start, period).unwrap_or_else(|| panic!("timer::interval: the period must be non-zero"))
}

/// [`interval`], or `None` when `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// assert!(ringfence::timer::try_interval(Duration::ZERO).is_none());
/// assert!(ringfence::timer::try_interval(Duration::from_secs(1)).is_some());
/// ```
#[must_use]
pub fn try_interval(period: Duration) -> Option<Interval> {
    try_interval_at(Instant::now(), period)
}

/// [`interval_at`], or `None` when `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// assert!(ringfence::timer::try_interval_at(Instant::now(), Duration::ZERO).is_none());
/// ```
#[must_use]
pub fn try_interval_at(start: Instant, period: Duration) -> Option<Interval> {
    (!period.is_zero()).then(|| Interval {
        sleep: super::sleep_until(start),
        period,
        missed: MissedTickBehavior::default(),
        waiting: None,
    })
}

/// What an [`Interval`] does when a tick is taken late (more than 5 ms after its instant, as
/// tokio counts it: the task was busy, or not polled, past its instant, perhaps past several
/// ticks'). As tokio's `MissedTickBehavior`, with the same default.
///
/// # Examples
///
/// ```
/// use ringfence::timer::{MissedTickBehavior, interval};
/// use std::time::Duration;
///
/// let mut every = interval(Duration::from_secs(1));
/// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
/// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Catch up: the missed ticks come at once, one per `tick`, until the schedule is met
    /// again; the schedule (`start + k·period`) is kept. The default.
    #[default]
    Burst,
    /// Start over: the next tick is one `period` after the late one was taken, and the
    /// schedule moves with it (missed ticks are dropped).
    Delay,
    /// Drop the missed ticks: the next tick is the schedule's next instant after now.
    Skip,
}

/// Ticks at a fixed period (see [`interval`]); each [`tick`](Interval::tick) waits for the next
/// one and yields its scheduled instant.
///
/// Runtime-agnostic: it waits on the crate's timer ([module docs](super)), as [`Sleep`] does, so
/// it works under tokio, smol or a hand-written `block_on` alike. With the `futures` feature it
/// is a `Stream` of the tick instants, which never ends.
///
/// # Cancel safety
///
/// [`tick`](Interval::tick) is cancel-safe: a tick is taken only by the poll that returns it,
/// so a `tick()` future dropped before it completed (the other branch of a `select!` won)
/// consumed nothing, and the next `tick()` yields that same tick.
///
/// # Examples
///
/// A loop that does its work every 10 ms and stops when told, without missing a message:
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::timer::interval;
/// use std::time::Duration;
///
/// let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// let (stop, stopped) = bounded::<()>(1);
/// stop.send(()).unwrap();
/// let ticks = rt.block_on(async {
///     let mut every = interval(Duration::from_millis(10));
///     let mut ticks = 0;
///     loop {
///         tokio::select! {
///             _ = every.tick() => ticks += 1,
///             _ = stopped.recv_async() => break ticks,
///         }
///     }
/// });
/// assert!(ticks <= 1);
/// ```
pub struct Interval {
    /// Waits for the next tick; its deadline is that tick's instant (`None`: past the end of
    /// `Instant`'s range, a tick that never comes).
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
    /// The waker of the last `poll_tick` that returned `Pending`, until one returns `Ready`: a
    /// `reset` wakes it, so that the task polls again and waits for the new instant (moving the
    /// `Sleep` drops its registration; tokio's `reset` keeps the task's wakeup too).
    waiting: Option<Waker>,
}

impl Interval {
    /// A future that completes at the next tick and yields its scheduled instant (at once for a
    /// tick that is due, or missed: see [`MissedTickBehavior`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: see the type's docs.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::interval;
    /// use std::time::Duration;
    ///
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let (first, second) = rt.block_on(async {
    ///     let mut every = interval(Duration::from_millis(2));
    ///     (every.tick().await, every.tick().await)
    /// });
    /// assert_eq!(second - first, Duration::from_millis(2)); // the schedule, not the wake-up
    /// ```
    pub fn tick(&mut self) -> Tick<'_> {
        Tick { interval: self }
    }

    /// Polls for the next tick: `Ready` with its scheduled instant when it is due, else
    /// `Pending` (the task is woken when it is). The tick is taken only when `Ready` is returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::interval;
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    ///
    /// let mut every = interval(Duration::from_secs(3600));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(every.poll_tick(&mut cx).is_ready()); // the first tick is at once
    /// assert_eq!(every.poll_tick(&mut cx), Poll::Pending); // the next one is an hour away
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let Some(scheduled) = self.sleep.deadline() else {
            // Past the end of `Instant`'s range: never (the `Sleep` keeps no waker), until a
            // reset, which wakes the task kept here (found by review).
            self.keep_waiting(cx);
            return Poll::Pending;
        };
        if self.sleep.poll_waker(cx.waker()).is_pending() {
            self.keep_waiting(cx);
            return Poll::Pending;
        }
        self.waiting = None;
        let next = self.next_after(scheduled, Instant::now());
        self.sleep.set_deadline(next);
        Poll::Ready(scheduled)
    }

    /// The instant of the tick after the one scheduled at `scheduled`, taken at `now`.
    fn next_after(&self, scheduled: Instant, now: Instant) -> Option<Instant> {
        let on_schedule = scheduled.checked_add(self.period)?;
        if now.saturating_duration_since(scheduled) <= LATE {
            return Some(on_schedule); // on time
        }
        match self.missed {
            MissedTickBehavior::Burst => Some(on_schedule),
            MissedTickBehavior::Delay => now.checked_add(self.period),
            MissedTickBehavior::Skip => {
                // The schedule's first instant after `now`: with `late = k·period + rem`, it is
                // `scheduled + (k + 1)·period = (now - rem) + period` (tokio's formula, taken in
                // this order so that nothing overflows that fits in the end: `now - rem` is at
                // least `scheduled`). In `u128` nanoseconds: a period may exceed `u64` nanos.
                let rem = now.duration_since(scheduled).as_nanos() % self.period.as_nanos();
                let rem = Duration::new((rem / 1_000_000_000) as u64, (rem % 1_000_000_000) as u32);
                now.checked_sub(rem)?.checked_add(self.period)
            }
        }
    }

    /// Starts the schedule over: the next tick is one period from now. A task waiting for the
    /// old next tick is woken, to wait for the new one.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::interval;
    /// use std::task::{Context, Waker};
    /// use std::time::Duration;
    ///
    /// let mut every = interval(Duration::from_secs(3600));
    /// every.reset(); // no tick at once any more
    /// assert!(every.poll_tick(&mut Context::from_waker(Waker::noop())).is_pending());
    /// ```
    pub fn reset(&mut self) {
        self.sleep.set_deadline(Instant::now().checked_add(self.period));
        self.wake_waiting();
    }

    /// Keeps the waker of a `poll_tick` that returns `Pending`, for a reset to wake.
    fn keep_waiting(&mut self, cx: &Context<'_>) {
        if !self.waiting.as_ref().is_some_and(|waiting| waiting.will_wake(cx.waker())) {
            self.waiting = Some(cx.waker().clone());
        }
    }

    /// After a reset: the task that waited for the old instant polls again, to wait for the new
    /// one (its timer entry went with the old deadline).
    fn wake_waiting(&mut self) {
        if let Some(waker) = self.waiting.take() {
            crate::wait::wake_caught(waker);
        }
    }

    /// Starts the schedule over at `start`: the next tick is at `start` (at once if it passed),
    /// then every period after it. A task waiting for the old next tick is woken, to wait for
    /// the new one.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::interval;
    /// use std::task::{Context, Waker};
    /// use std::time::{Duration, Instant};
    ///
    /// let mut every = interval(Duration::from_secs(3600));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// let _ = every.poll_tick(&mut cx); // the first tick
    /// let now = Instant::now();
    /// every.reset_at(now);
    /// assert_eq!(every.poll_tick(&mut cx), std::task::Poll::Ready(now));
    /// ```
    pub fn reset_at(&mut self, start: Instant) {
        self.sleep.set_deadline(Some(start));
        self.wake_waiting();
    }

    /// The period between ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let every = ringfence::timer::interval(Duration::from_millis(250));
    /// assert_eq!(every.period(), Duration::from_millis(250));
    /// ```
    #[must_use]
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What it does about missed ticks (by default [`MissedTickBehavior::Burst`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::{MissedTickBehavior, interval};
    /// use std::time::Duration;
    ///
    /// assert_eq!(interval(Duration::from_secs(1)).missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    #[must_use]
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what it does about missed ticks, from the next tick on.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::timer::{MissedTickBehavior, interval};
    /// use std::time::Duration;
    ///
    /// let mut every = interval(Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}

/// A never-ending stream of the tick instants.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

/// The future of [`Interval::tick`]: completes at the next tick with its scheduled instant.
///
/// # Cancel safety
///
/// Cancel-safe: the tick is taken only by the poll that returns it.
///
/// # Examples
///
/// ```
/// use ringfence::timer::interval;
/// use std::time::Duration;
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let mut every = interval(Duration::from_millis(1));
/// let tick = every.tick();
/// let at = rt.block_on(tick);
/// assert!(at <= std::time::Instant::now());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Tick<'a> {
    interval: &'a mut Interval,
}

impl Future for Tick<'_> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.get_mut().interval.poll_tick(cx)
    }
}

impl fmt::Debug for Tick<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tick").field("interval", &self.interval).finish()
    }
}
