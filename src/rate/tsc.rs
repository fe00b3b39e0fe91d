//! [`TscClock`]: the CPU's time-stamp counter, the rate limiters' default clock, for hot paths
//! where reading `Instant` costs more than the rate limiter itself.
//!
//! On x86_64 with an invariant TSC (CPUID `80000007h`, EDX bit 8) that the OS also uses as its
//! clock source (on Linux, `current_clocksource` is `tsc`, which means the kernel checked that
//! the counters of all cores agree), a reading is one `RDTSC` and a multiplication. Elsewhere
//! (and under Miri) the clock reads `Instant` (see [`TscClock::is_tsc`]).
//!
//! **Calibration costs nobody a wait.** The counter's rate is measured against `Instant` once per
//! process: the first `TscClock` notes both, and the first reading at least
//! [`CALIBRATION`] later divides the two spans and publishes the scale. Until then every clock
//! reads `Instant` (the readings are the same time line: nanoseconds since that first note), so
//! [`TscClock::new`] returns at once, and the first 5 ms of a process pay `Instant`'s price per
//! reading. Over 5 ms or more, a few tens of nanoseconds of jitter in the two readings make the
//! scale right to about 10 ppm. The switch from `Instant` to the counter can step a reading
//! back by about that much (tens of nanoseconds, once per process), as can a thread moving to a
//! core whose counter is a few nanoseconds behind: the limiters charge a request at the reading
//! it used, so a slightly older reading only ever sees fewer tokens (see the `rate` module's
//! guarantees).

use super::clock::{Clock, MonotonicClock};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long after the first note of the counter the scale is measured (see the file docs).
const CALIBRATION: Duration = Duration::from_millis(5);

/// A clock on the CPU's time-stamp counter where that is safe, else on `Instant` (see the file
/// docs). The default clock of [`TokenBucket`](super::TokenBucket) and
/// [`SlidingWindow`](super::SlidingWindow).
///
/// Copying the clock keeps its origin, so copies read the same time.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{Clock, Quota, TokenBucket, TscClock};
/// use std::time::Duration;
///
/// let clock = TscClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// let bucket = TokenBucket::with_clock(Quota::new(100, Duration::from_secs(1), 10).unwrap(), clock);
/// assert!(bucket.try_acquire(10).is_ok());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TscClock {
    /// The process-wide counter calibration; `None` when the counter is not usable.
    counter: Option<&'static Counter>,
    /// This clock's origin on the counter's time line (`counter` is `Some`).
    origin: u64,
    /// The fallback (`counter` is `None`).
    os: MonotonicClock,
}

impl Default for TscClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TscClock {
    /// A clock whose origin (reading 0) is now. Never waits: the counter is calibrated in the
    /// background of the first readings (see the file docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, TscClock};
    ///
    /// let clock = TscClock::new();
    /// assert!(clock.now() < 1_000_000_000); // nanoseconds since `new`
    /// ```
    #[must_use]
    pub fn new() -> Self {
        let counter = counter();
        TscClock { counter, origin: counter.map_or(0, Counter::nanos), os: MonotonicClock::new() }
    }

    /// Whether this clock reads the time-stamp counter (once calibrated: `false` means it reads
    /// `Instant` for good, on a CPU or OS where the counter is not safe to use).
    ///
    /// # Examples
    ///
    /// ```
    /// let clock = ringfence::rate::TscClock::new();
    /// println!("counter: {}", clock.is_tsc());
    /// ```
    #[must_use]
    pub fn is_tsc(&self) -> bool {
        self.counter.is_some()
    }
}

impl Clock for TscClock {
    fn instant_of(&self, target: u64) -> Option<Instant> {
        Instant::now().checked_add(Duration::from_nanos(target.saturating_sub(self.now())))
    }

    #[inline]
    fn now(&self) -> u64 {
        match self.counter {
            Some(counter) => counter.nanos().saturating_sub(self.origin),
            None => self.os.now(),
        }
    }

    fn sleep_until(&self, target: u64, deadline: Option<Instant>) {
        let now = self.now();
        if now >= target {
            return;
        }
        let wake = Instant::now().checked_add(Duration::from_nanos(target - now));
        let wake = match (wake, deadline) {
            (Some(at), Some(deadline)) => at.min(deadline),
            (Some(at), None) => at,
            (None, Some(deadline)) => deadline,
            (None, None) => Instant::now() + Duration::from_secs(3600),
        };
        let left = wake.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
    }
}

/// The process-wide time line of every [`TscClock`]: nanoseconds since `anchor`.
#[derive(Debug)]
struct Counter {
    /// The counter, read just before `anchor`.
    anchor_ticks: u64,
    anchor: Instant,
    /// Nanoseconds per tick as 32.32 fixed point; 0 until calibrated.
    scale: AtomicU64,
}

/// The counter's time line, or `None` when the counter is not usable here.
fn counter() -> Option<&'static Counter> {
    // A process-wide constant set once, not a concurrent protocol of the crate: std's
    // `OnceLock` rather than the facade (no loom model uses this clock).
    static COUNTER: OnceLock<Option<Counter>> = OnceLock::new();
    COUNTER
        .get_or_init(|| {
            usable().then(|| Counter {
                anchor_ticks: rdtsc(),
                anchor: Instant::now(),
                scale: AtomicU64::new(0),
            })
        })
        .as_ref()
}

impl Counter {
    /// Nanoseconds since the anchor.
    #[inline]
    fn nanos(&self) -> u64 {
        // ORDERING: Relaxed: the scale is one self-contained value that publishes nothing else
        // (the anchor it goes with was published by the `OnceLock`); a thread that still reads
        // 0 reads `Instant` instead, on the same time line.
        let scale = self.scale.load(Ordering::Relaxed);
        if scale == 0 {
            return self.calibrate();
        }
        let ticks = rdtsc().saturating_sub(self.anchor_ticks);
        // Truncated, not checked: the result is nanoseconds since the anchor, below 2^64 for
        // 584 years of uptime (the check was 5 of a denied check's instructions, callgrind).
        ((u128::from(ticks) * u128::from(scale)) >> 32) as u64
    }

    /// A reading before the scale is known: from `Instant`, publishing the scale once
    /// [`CALIBRATION`] has passed since the anchor.
    #[cold]
    fn calibrate(&self) -> u64 {
        // Counter first, then `Instant`: the same order as the anchor's, so the two spans start
        // and end the same way round.
        let ticks = rdtsc().saturating_sub(self.anchor_ticks);
        let elapsed = self.anchor.elapsed();
        if elapsed >= CALIBRATION && ticks > 0 {
            let scale = (elapsed.as_nanos() << 32) / u128::from(ticks);
            if let Some(scale) = u64::try_from(scale).ok().filter(|&scale| scale > 0) {
                // ORDERING: Relaxed, as the load in `nanos`. The first calibration wins, so
                // every thread reads the counter at one scale.
                let _ = self.scale.compare_exchange(0, scale, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

// Not under Miri, which runs no inline assembly (`__cpuid`'s): there the clock reads `Instant`.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads the time-stamp counter (no memory
    // access); `_rdtsc` is unsafe only as an intrinsic.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(any(not(target_arch = "x86_64"), miri))]
#[inline]
fn rdtsc() -> u64 {
    0
}

/// Whether the counter is safe to use as a clock: an invariant TSC that the OS uses too.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn usable() -> bool {
    use core::arch::x86_64::__cpuid;
    if __cpuid(0x8000_0000).eax < 0x8000_0007 || __cpuid(0x8000_0007).edx & (1 << 8) == 0 {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        let source =
            std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource");
        if source.map_or(true, |s| s.trim() != "tsc") {
            return false;
        }
    }
    true
}

#[cfg(any(not(target_arch = "x86_64"), miri))]
fn usable() -> bool {
    false
}
