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
//! reading. Each note is a *bracketed* pair: the counter is read before and after `Instant`, the
//! tightest of [`PAIR_TRIES`] tries is kept, and its width bounds the note's error. The scale is
//! published only once the two notes' widths are at most [`MAX_ERROR_PPM`] of the span between
//! them: a note whose thread was preempted or interrupted between its two reads (on a busy
//! machine, a millisecond against a 5 ms span: a scale 20% off for the whole process, and every
//! limiter on the default clock granting 20% fast in real time) only postpones the scale until
//! the span has grown long enough to drown it, readings going on through `Instant` meanwhile.
//! Usually the first reading after 5 ms publishes it, right to a few ppm. The switch from `Instant` to the counter can step a reading
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

/// Tries per bracketed note of the counter and `Instant` (the tightest is kept).
const PAIR_TRIES: usize = 3;

/// The largest error, in millionths, that the two notes' brackets may put into the scale.
const MAX_ERROR_PPM: u64 = 100;

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
    /// The counter when `anchor` was read (the middle of its bracket).
    anchor_ticks: u64,
    anchor: Instant,
    /// The anchor's bracket, in ticks: the counter moved this much around `anchor`'s read.
    anchor_width: u64,
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
            usable().then(|| {
                let anchor = Note::take();
                Counter {
                    anchor_ticks: anchor.ticks,
                    anchor: anchor.instant,
                    anchor_width: anchor.width,
                    scale: AtomicU64::new(0),
                }
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
    /// [`CALIBRATION`] has passed since the anchor and the notes are tight enough (file docs).
    #[cold]
    fn calibrate(&self) -> u64 {
        let ticks = rdtsc().saturating_sub(self.anchor_ticks);
        let elapsed = self.anchor.elapsed();
        // The bracketed note (a few `Instant` reads) only when the anchor's own width leaves a
        // chance: a preempted anchor waits for a span long enough without paying for notes.
        if elapsed >= CALIBRATION && within_error(self.anchor_width, ticks) {
            let note = Note::take();
            let span = note.instant.saturating_duration_since(self.anchor);
            if let Some(scale) = scale(self.anchor_ticks, self.anchor_width, span, note) {
                // ORDERING: Relaxed, as the load in `nanos`. The first calibration wins, so
                // every thread reads the counter at one scale.
                let _ = self.scale.compare_exchange(0, scale, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The counter and `Instant` read together: `ticks` is the counter when `instant` was read,
/// within `width / 2` ticks.
#[derive(Debug, Clone, Copy)]
struct Note {
    ticks: u64,
    instant: Instant,
    width: u64,
}

impl Note {
    /// The tightest of [`PAIR_TRIES`] brackets (counter, `Instant`, counter): a try whose thread
    /// was interrupted between the reads is wide, and loses to one that was not.
    fn take() -> Note {
        let mut best: Option<Note> = None;
        for _ in 0..PAIR_TRIES {
            let before = rdtsc();
            let instant = Instant::now();
            let width = rdtsc().saturating_sub(before);
            if best.is_none_or(|best| width < best.width) {
                best = Some(Note { ticks: before + width / 2, instant, width });
            }
        }
        best.expect("PAIR_TRIES is at least 1")
    }
}

/// Whether brackets of `widths` ticks in all put at most [`MAX_ERROR_PPM`] into a scale
/// measured over `span_ticks`.
fn within_error(widths: u64, span_ticks: u64) -> bool {
    u128::from(widths) * 1_000_000 <= u128::from(span_ticks) * u128::from(MAX_ERROR_PPM)
}

/// The scale (nanoseconds per tick, 32.32 fixed point) from the anchor (`anchor_ticks`, its
/// bracket `anchor_width`) to `note`, `span` after the anchor in `Instant` time; `None` when
/// the brackets are too wide for the span ([`MAX_ERROR_PPM`]) or the result is unusable.
fn scale(anchor_ticks: u64, anchor_width: u64, span: Duration, note: Note) -> Option<u64> {
    let ticks = note.ticks.checked_sub(anchor_ticks).filter(|&ticks| ticks > 0)?;
    if !within_error(anchor_width.saturating_add(note.width), ticks) {
        return None;
    }
    u64::try_from((span.as_nanos() << 32) / u128::from(ticks)).ok().filter(|&scale| scale > 0)
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Note, scale};
    use std::time::{Duration, Instant};

    /// 3 ticks per nanosecond, as a 32.32 scale: (1/3) << 32.
    const THIRD: u64 = (1 << 32) / 3;

    fn note(ticks: u64, instant: Instant, width: u64) -> Note {
        Note { ticks, instant, width }
    }

    /// Tight notes give the exact rate; a note whose bracket is wide against the span (a thread
    /// preempted between its reads) gives no scale, and the same bracket over a long enough
    /// span does.
    #[test]
    fn a_scale_comes_only_from_notes_tight_for_their_span() {
        let t0 = Instant::now();
        let span = Duration::from_millis(5);
        // 5 ms at 3 GHz: 15 M ticks; brackets of 60 ticks each (20 ns), 8 ppm in all.
        let tight = scale(1_000, 60, span, note(1_000 + 15_000_000, t0 + span, 60)).unwrap();
        assert!(tight.abs_diff(THIRD) <= 1, "{tight} against {THIRD}");
        // A 1 ms preemption inside the second note's bracket: 3 M ticks, 20% of the span.
        assert_eq!(scale(1_000, 60, span, note(1_000 + 15_000_000, t0 + span, 3_000_000)), None);
        // The same inside the anchor's bracket.
        assert_eq!(scale(1_000, 3_000_000, span, note(1_000 + 15_000_000, t0 + span, 60)), None);
        // 100 ppm of the span is the limit: 1 500 ticks in all over 15 M.
        assert!(scale(1_000, 750, span, note(1_000 + 15_000_000, t0 + span, 750)).is_some());
        assert_eq!(scale(1_000, 750, span, note(1_000 + 15_000_000, t0 + span, 751)), None);
        // A preempted anchor only waits for a longer span: 3 M ticks are 100 ppm of 30 G ticks.
        let long = Duration::from_secs(10);
        let late = scale(1_000, 2_999_000, long, note(1_000 + 30_000_000_000, t0 + long, 60)).unwrap();
        assert!(late.abs_diff(THIRD) <= 1);
        // A counter that did not move, or went back: no scale.
        assert_eq!(scale(1_000, 0, span, note(1_000, t0 + span, 0)), None);
        assert_eq!(scale(1_000, 0, span, note(999, t0 + span, 0)), None);
    }

    /// A note's counter reading is the middle of its bracket, and the bracket is the tightest
    /// of its tries (at least as tight as one try's).
    #[test]
    fn a_note_is_inside_its_bracket() {
        let before = super::rdtsc();
        let taken = Note::take();
        let after = super::rdtsc();
        assert!(before <= taken.ticks && taken.ticks <= after);
        assert!(taken.width <= after - before);
    }
}
