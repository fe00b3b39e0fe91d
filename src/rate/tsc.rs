//! [`TscClock`]: the CPU's time-stamp counter, for hot paths where reading `Instant` costs
//! more than the rate limiter itself.
//!
//! On x86_64 with an invariant TSC (CPUID `80000007h`, EDX bit 8) that the OS also uses as its
//! clock source (on Linux, `current_clocksource` is `tsc`, which means the kernel checked that
//! the counters of all cores agree), a reading is one `RDTSC` and a multiplication. The scale
//! is calibrated once per process against `Instant` over 5 ms (the first [`TscClock::new`] pays
//! for it), so the clock's rate matches real time to about 10 ppm. Elsewhere it falls back to
//! `Instant` (see [`TscClock::is_tsc`]). Readings on different cores may be a few nanoseconds
//! apart; the limiters tolerate that (a reading is charged at the instant it names).

use super::clock::{Clock, MonotonicClock};
use std::time::{Duration, Instant};

/// A clock on the CPU's time-stamp counter, falling back to `Instant` (see the file docs).
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
    /// `Some((counter at the origin, ns per tick as 32.32 fixed point))` on the TSC path.
    tsc: Option<(u64, u64)>,
    os: MonotonicClock,
}

impl Default for TscClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TscClock {
    /// A clock whose origin (reading 0) is now. The first call in a process calibrates the
    /// counter (about 5 ms).
    #[must_use]
    pub fn new() -> Self {
        let os = MonotonicClock::new();
        TscClock { tsc: calibration().map(|scale| (rdtsc(), scale)), os }
    }

    /// Whether this clock reads the time-stamp counter (`false`: it fell back to `Instant`).
    #[must_use]
    pub fn is_tsc(&self) -> bool {
        self.tsc.is_some()
    }
}

impl Clock for TscClock {
    fn instant_of(&self, target: u64) -> Option<Instant> {
        Instant::now().checked_add(Duration::from_nanos(target.saturating_sub(self.now())))
    }

    #[inline]
    fn now(&self) -> u64 {
        match self.tsc {
            Some((origin, scale)) => {
                let ticks = rdtsc().saturating_sub(origin);
                u64::try_from((u128::from(ticks) * u128::from(scale)) >> 32).unwrap_or(u64::MAX)
            }
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

/// The process-wide scale (ns per tick, 32.32), or `None` when the TSC is not usable.
fn calibration() -> Option<u64> {
    // A process-wide constant computed once, not a concurrent protocol of the crate: std's
    // `OnceLock` rather than the facade (no loom model uses this clock).
    static SCALE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *SCALE.get_or_init(calibrate)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC exists on every x86_64 CPU and only reads the time-stamp counter (no memory
    // access); `_rdtsc` is unsafe only as an intrinsic.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn rdtsc() -> u64 {
    0
}

#[cfg(target_arch = "x86_64")]
fn calibrate() -> Option<u64> {
    use core::arch::x86_64::__cpuid;
    if __cpuid(0x8000_0000).eax < 0x8000_0007 || __cpuid(0x8000_0007).edx & (1 << 8) == 0 {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        let source =
            std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource");
        if source.map_or(true, |s| s.trim() != "tsc") {
            return None;
        }
    }
    let (t0, c0) = (Instant::now(), rdtsc());
    while t0.elapsed() < Duration::from_millis(5) {
        std::hint::spin_loop();
    }
    let (c1, t1) = (rdtsc(), Instant::now());
    let ticks = c1.checked_sub(c0).filter(|&t| t > 0)?;
    let scale = (t1.duration_since(t0).as_nanos() << 32) / u128::from(ticks);
    u64::try_from(scale).ok().filter(|&s| s > 0)
}

#[cfg(not(target_arch = "x86_64"))]
fn calibrate() -> Option<u64> {
    None
}
