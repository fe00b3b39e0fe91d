//! [`Quota`] (rate, period, burst), the internal time scale, and [`QuotaCell`], the
//! double-buffered cell that lets `set_rate` change a live bucket's quota without locks on the
//! acquire path.
//!
//! # Internal time
//!
//! The limiters work in *ticks*: a clock reading plus [`BIAS`] (2^62 ns). Every tolerance
//! (`burst * interval`, a window's period) is at most [`MAX_SPAN`] = 2^62 ns (146 years; a
//! quota with a longer one is rejected, a longer window period is capped), so
//! `tick - span` never underflows and a state word of 0 means "long ago" (a full bucket, a free
//! window slot) at every reading. Readings are capped at [`MAX_READING`] = 2^63 ns, so ticks stay
//! below 2^63 + 2^62 and `tick + span` fits in a `u64`; everything else saturates.
//!
//! # The quota cell (a seqlock over two slots)
//!
//! A quota is more than one word (interval, burst, and the rate/period it came from), and an
//! acquire must see all of one quota, never half of two. The cell holds two slots and a
//! generation `generation`; slot `generation % 2` is the live one.
//!
//! | field | written by | rule |
//! |---|---|---|
//! | `generation` | a writer, last (Release) | slot `generation % 2` is complete and live |
//! | `slots[generation % 2]` | nobody while it is live | readers copy it |
//! | `slots[(generation + 1) % 2]` | the writer holding `writing` | readers that catch it mid-write retry |
//! | `writing` | writers, around their write | one writer at a time |
//!
//! Reader: `g1 = generation (Acquire)`; copy slot `g1 % 2`; `fence(Acquire)`; `g2 = generation`; retry if
//! `g1 != g2`. A writer writes the idle slot only after `fence(Release)`, and the previous
//! writer's `generation` store happens before that fence; so a reader that read *any* field value from
//! a later writer's write synchronises with that writer's fence, sees `generation` moved on, and
//! retries (Boehm, "Can seqlocks get along with programming language memory models?", 2012).
//! A reader never waits for a writer: the live slot is not written while it is live, so a reader
//! retries only when a whole `set_rate` completed during its few loads. Writers wait for each
//! other (a spin on `writing`); `set_rate` is rare.
//!
//! # The packed limits (the acquire path's one load)
//!
//! The acquire path needs only the interval and the burst. When they fit in one word the cell
//! also keeps them packed in `packed`, in one of two layouts: an interval under 2^43 ns (2.4
//! hours) with a burst under 2^20, which is nearly every real quota, or, flagged `WIDE` (the
//! sign bit, so that the first layout is told apart by a sign test), an interval under 2^30 ns
//! (1.07 s) with any burst, for fast quotas with huge bursts (read through the seqlock, such a
//! burst cost the allow path 6 of its 73 instructions with a manual clock: callgrind, the
//! twentieth session). A writer stores the word after its `generation` store, under its lock.
//! One Relaxed load then gives a whole quota that was live (a single word cannot be torn),
//! with none of the seqlock's four loads and re-check: on the deny path with
//! a manual clock that was 1.8 -> 1.2 ns, a third of the call. A quota that does not fit stores
//! the flag `UNPACKED` there, and readers take the seqlock. A reader that still loads the
//! previous packed word after a writer's `generation` store decides wholly by the previous
//! quota, which was live when its attempt began; one that synchronised with the writer
//! (`set_quota` returned before it started, or it read the bucket's `changes` bump) reads the
//! new word, by coherence.

use super::error::QuotaError;
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use crate::sync::spin_hint;
use std::time::Duration;

/// Added to clock readings to make ticks (module docs). Equal to [`MAX_SPAN`].
pub(crate) const BIAS: u64 = 1 << 62;
/// The longest tolerance or period, in nanoseconds (146 years). Longer tolerances are rejected
/// ([`Quota::new`]); longer window periods are capped.
pub(crate) const MAX_SPAN: u64 = 1 << 62;
/// Clock readings above this (292 years) count as this.
pub(crate) const MAX_READING: u64 = 1 << 63;

/// A clock reading as a tick (module docs).
#[inline]
pub(crate) fn tick(reading: u64) -> u64 {
    reading.min(MAX_READING) + BIAS
}

/// The last tick the limiters can reach: `tick(MAX_READING)`.
pub(crate) const MAX_TICK: u64 = MAX_READING + BIAS;

/// A tick as a clock reading. Ticks past the last reachable one ([`MAX_TICK`]), `u64::MAX`
/// included, are `u64::MAX`: "never" (the clock would have to run past its range).
#[inline]
pub(crate) fn reading(tick: u64) -> u64 {
    if tick > MAX_TICK { u64::MAX } else { tick.saturating_sub(BIAS) }
}

/// Nanoseconds of a duration, saturating at `u64::MAX`.
#[inline]
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How fast a [`TokenBucket`](super::TokenBucket) refills and how much it holds: `rate` tokens
/// every `per`, at most `burst` stored.
///
/// The bucket adds one token every *emission interval*, `per / rate` rounded **up** to a whole
/// nanosecond, so the effective rate never exceeds the requested one (it is exact when `per` is
/// a multiple of `rate` nanoseconds). The fastest rate is therefore one token per nanosecond
/// (10^9 per second); for byte-rate limits above 1 GB/s count in larger units (KiB). The
/// bucket's tolerance, `burst * interval` (the time a full refill takes), must be at most
/// 2^62 ns (146 years); a slower quota is rejected with [`QuotaError::RefillTooSlow`] rather
/// than refilled faster than asked.
///
/// # Examples
///
/// ```
/// use ringfence::rate::{Quota, QuotaError};
/// use std::time::Duration;
///
/// let q = Quota::new(3, Duration::from_secs(1), 5).unwrap();
/// assert_eq!(q.interval(), Duration::from_nanos(333_333_334));
/// assert_eq!(Quota::new(0, Duration::from_secs(1), 5), Err(QuotaError::ZeroRate));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quota {
    rate: u32,
    per: Duration,
    burst: u32,
    /// The emission interval in nanoseconds, `1..=MAX_SPAN / burst`.
    interval: u64,
}

impl Quota {
    /// `rate` tokens every `per`, at most `burst` stored.
    ///
    /// # Errors
    ///
    /// [`QuotaError::ZeroRate`], [`QuotaError::ZeroPeriod`] or [`QuotaError::ZeroBurst`] when the
    /// corresponding argument is zero; [`QuotaError::RefillTooSlow`] when a full refill,
    /// `burst * interval`, would take longer than 2^62 ns (146 years).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Quota, QuotaError};
    /// use std::time::Duration;
    ///
    /// assert!(Quota::new(100, Duration::from_secs(1), 10).is_ok());
    /// assert_eq!(Quota::new(1, Duration::ZERO, 1), Err(QuotaError::ZeroPeriod));
    /// assert_eq!(Quota::new(1, Duration::from_secs(1), 0), Err(QuotaError::ZeroBurst));
    /// // A refill slower than 2^62 ns is rejected, not silently sped up (and never overflows).
    /// assert_eq!(Quota::new(1, Duration::MAX, 1), Err(QuotaError::RefillTooSlow));
    /// assert!(Quota::new(1, Duration::from_nanos(1 << 62), 1).is_ok());
    /// ```
    pub fn new(rate: u32, per: Duration, burst: u32) -> Result<Quota, QuotaError> {
        if rate == 0 {
            return Err(QuotaError::ZeroRate);
        }
        if per.is_zero() {
            return Err(QuotaError::ZeroPeriod);
        }
        if burst == 0 {
            return Err(QuotaError::ZeroBurst);
        }
        let exact = per.as_nanos().div_ceil(u128::from(rate));
        // A full refill (`burst * interval`) must fit the tolerance range. Capping the interval
        // instead would refill faster than asked (up to 2^32 times, with a large burst).
        // No overflow: exact < 2^95, burst < 2^32.
        if exact * u128::from(burst) > u128::from(MAX_SPAN) {
            return Err(QuotaError::RefillTooSlow);
        }
        // 1 <= exact (per >= 1 ns) and exact <= MAX_SPAN / burst < 2^63: it fits a u64.
        let interval = exact as u64;
        Ok(Quota { rate, per, burst, interval })
    }

    /// Tokens added per [`per`](Quota::per).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::Quota;
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(100, Duration::from_secs(1), 10).unwrap();
    /// assert_eq!((quota.rate(), quota.per(), quota.burst()), (100, Duration::from_secs(1), 10));
    /// ```
    #[must_use]
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// The period over which [`rate`](Quota::rate) tokens are added, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let quota = ringfence::rate::Quota::new(3, Duration::from_millis(10), 3).unwrap();
    /// assert_eq!(quota.per(), Duration::from_millis(10));
    /// ```
    #[must_use]
    pub fn per(&self) -> Duration {
        self.per
    }

    /// The most tokens the bucket stores, and the most one request may ask for.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Quota, TokenBucket};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 4).unwrap();
    /// assert_eq!(quota.burst(), 4);
    /// let bucket = TokenBucket::with_clock(quota, ringfence::rate::ManualClock::new());
    /// assert!(bucket.try_acquire(4).is_ok()); // a full bucket holds the burst
    /// assert!(bucket.try_acquire(5).is_err()); // more than a burst: never
    /// ```
    #[must_use]
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The emission interval: one token is added every `interval()` (see the type docs),
    /// `per / rate` rounded up to whole nanoseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let quota = ringfence::rate::Quota::new(3, Duration::from_secs(1), 1).unwrap();
    /// assert_eq!(quota.interval(), Duration::from_nanos(333_333_334));
    /// ```
    #[must_use]
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }
}

/// The part of a quota the acquire path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Emission interval, ns, `1..=MAX_SPAN / burst`.
    pub(crate) interval: u64,
    /// Capacity in tokens, `1..=u32::MAX`.
    pub(crate) burst: u64,
}

impl Limits {
    /// The tolerance `burst * interval`, at most `MAX_SPAN` by construction.
    #[inline]
    pub(crate) fn tau(&self) -> u64 {
        self.burst * self.interval
    }
}

/// One quota's fields. Only the writer holding `writing` stores into an idle slot.
#[derive(Debug)]
struct Slot {
    interval: AtomicU64,
    burst: AtomicU64,
    rate: AtomicU64,
    per_secs: AtomicU64,
    per_nanos: AtomicU64,
}

impl Slot {
    fn new(q: &Quota) -> Slot {
        Slot {
            interval: AtomicU64::new(q.interval),
            burst: AtomicU64::new(u64::from(q.burst)),
            rate: AtomicU64::new(u64::from(q.rate)),
            per_secs: AtomicU64::new(q.per.as_secs()),
            per_nanos: AtomicU64::new(u64::from(q.per.subsec_nanos())),
        }
    }
}

/// Bits of the interval in a packed limits word of the narrow layout (module docs, "The packed
/// limits"): an interval under 2^43 ns (2.4 hours) and a burst under 2^20, so bits 0 to 62 (bit
/// 62 is the burst's top bit here: `limits` tells the layouts apart by `WIDE` alone first).
const NARROW_INTERVAL_BITS: u32 = 43;
/// Bits of the burst in the narrow layout, above the interval's.
const NARROW_BURST_BITS: u32 = 20;
/// Bits of the interval in the wide layout: fast quotas with any burst (`u32`), an interval
/// under 2^30 ns (1.07 s).
const WIDE_INTERVAL_BITS: u32 = 30;
/// Set in every word but a narrow one: the sign bit, so that the narrow layout, the common
/// one, is told apart with a sign test.
const WIDE: u64 = 1 << 63;
/// Set, with `WIDE`, in the word of a quota that fits neither layout (read only in words with
/// `WIDE`: in a narrow word bit 62 belongs to the burst).
const SLOTS: u64 = 1 << 62;
/// The packed word of a quota that fits neither layout: read the seqlock instead.
const UNPACKED: u64 = WIDE | SLOTS;

/// The interval and burst of `q` in one word (the narrow layout when they fit it, else the
/// wide one), or [`UNPACKED`] when they fit neither.
fn pack(q: &Quota) -> u64 {
    let burst = u64::from(q.burst);
    if q.interval < 1 << NARROW_INTERVAL_BITS && burst < 1 << NARROW_BURST_BITS {
        q.interval | burst << NARROW_INTERVAL_BITS
    } else if q.interval < 1 << WIDE_INTERVAL_BITS {
        // Any `u32` burst fits the 32 bits above the interval, below `SLOTS`.
        WIDE | q.interval | burst << WIDE_INTERVAL_BITS
    } else {
        UNPACKED
    }
}

/// A quota that can be replaced while other threads read it (module docs).
#[derive(Debug)]
pub(crate) struct QuotaCell {
    /// The live interval and burst in one word, or [`UNPACKED`] (module docs, "The packed
    /// limits"). Stored only by the writer holding `writing`, after `generation`.
    packed: AtomicU64,
    /// Slot `generation % 2` is live. Stored only by the writer holding `writing`.
    generation: AtomicU64,
    /// Held by the one writer allowed to write the idle slot and bump `generation`.
    writing: AtomicBool,
    slots: [Slot; 2],
}

impl QuotaCell {
    pub(crate) fn new(q: Quota) -> QuotaCell {
        QuotaCell {
            packed: AtomicU64::new(pack(&q)),
            generation: AtomicU64::new(0),
            writing: AtomicBool::new(false),
            slots: [Slot::new(&q), Slot::new(&q)],
        }
    }

    /// A consistent copy of some fields of the live quota.
    #[inline]
    fn read<R>(&self, copy: impl Fn(&Slot) -> R) -> R {
        loop {
            // ORDERING: Acquire pairs with the Release `generation` store in `write`: the slot's fields
            // written before that store are visible to the copy below. Relaxed would let a reader
            // that sees the new generation copy a mix of the slot's old and new fields and pass
            // the re-check. loom cannot catch that weakening: with this load Relaxed both
            // seqlock models (`bucket_quota_is_never_torn`, `..._single_writer_never_torn`)
            // still pass at LOOM_MAX_PREEMPTIONS=2.
            let g1 = self.generation.load(Ordering::Acquire);
            let value = copy(&self.slots[(g1 & 1) as usize]);
            // ORDERING: orders the field loads before the re-check of `generation`; if any field value
            // came from a later writer, this fence synchronises with that writer's Release
            // fence and the re-check sees `generation` moved on (module docs).
            fence(Ordering::Acquire);
            // ORDERING: Relaxed after the fence (the fence provides the ordering).
            let g2 = self.generation.load(Ordering::Relaxed);
            if g1 == g2 {
                return value;
            }
            spin_hint();
        }
    }

    /// The live interval and burst: the hot-path read.
    #[inline]
    pub(crate) fn limits(&self) -> Limits {
        // ORDERING: Relaxed: the word is a whole value, published with nothing else; which
        // writer's word we read is settled by coherence (module docs, "The packed limits").
        let word = self.packed.load(Ordering::Relaxed);
        if word & WIDE == 0 {
            return Limits {
                interval: word & ((1 << NARROW_INTERVAL_BITS) - 1),
                burst: word >> NARROW_INTERVAL_BITS,
            };
        }
        if word & SLOTS == 0 {
            return Limits {
                interval: word & ((1 << WIDE_INTERVAL_BITS) - 1),
                burst: (word & !WIDE) >> WIDE_INTERVAL_BITS,
            };
        }
        self.limits_from_slots()
    }

    /// [`QuotaCell::limits`] for a quota too large to pack: through the seqlock.
    #[cold]
    fn limits_from_slots(&self) -> Limits {
        // ORDERING: Relaxed field loads; the seqlock in `read` orders them (module docs).
        self.read(|s| Limits {
            interval: s.interval.load(Ordering::Relaxed),
            burst: s.burst.load(Ordering::Relaxed),
        })
    }

    /// The live quota, all fields.
    pub(crate) fn quota(&self) -> Quota {
        // ORDERING: Relaxed field loads; the seqlock in `read` orders them (module docs).
        self.read(|s| {
            let interval = s.interval.load(Ordering::Relaxed);
            let burst = s.burst.load(Ordering::Relaxed) as u32;
            let rate = s.rate.load(Ordering::Relaxed) as u32;
            let secs = s.per_secs.load(Ordering::Relaxed);
            let sub = s.per_nanos.load(Ordering::Relaxed) as u32;
            Quota { rate, per: Duration::new(secs, sub), burst, interval }
        })
    }

    /// Replaces the live quota. Waits only for other writers.
    pub(crate) fn write(&self, q: Quota) {
        // ORDERING: Acquire pairs with the Release in the previous writer's unlock below: its
        // `generation` store happens before our fence, which the reader argument needs.
        while self.writing.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            spin_hint();
        }
        // ORDERING: Relaxed; only writers store `generation` and we hold `writing`.
        let g = self.generation.load(Ordering::Relaxed);
        let slot = &self.slots[((g + 1) & 1) as usize];
        // ORDERING: Release fence before the field stores. The slot we write was live at
        // generation `g - 1`; a reader that copied it under `g1 == g - 1` and read any value we
        // store synchronises here through its Acquire fence, so the `generation = g` store (ours or the
        // previous writer's, before our lock) is visible to its re-check, and it retries.
        fence(Ordering::Release);
        // ORDERING: Relaxed field stores, published by the Release `generation` store below.
        slot.interval.store(q.interval, Ordering::Relaxed);
        slot.burst.store(u64::from(q.burst), Ordering::Relaxed);
        slot.rate.store(u64::from(q.rate), Ordering::Relaxed);
        slot.per_secs.store(q.per.as_secs(), Ordering::Relaxed);
        slot.per_nanos.store(u64::from(q.per.subsec_nanos()), Ordering::Relaxed);
        // ORDERING: Release pairs with the readers' Acquire `generation` load: a reader that sees
        // `g + 1` sees the fields above.
        self.generation.store(g + 1, Ordering::Release);
        // ORDERING: Relaxed: a whole value (see `limits`); stored under the writer lock, so the
        // last writer's word stays, and before the caller's Release `changes` bump, which makes
        // it visible to a waiter that reads the bump.
        self.packed.store(pack(&q), Ordering::Relaxed);
        // ORDERING: Release pairs with the next writer's Acquire lock.
        self.writing.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The acquire path's limits are the live quota's, whether it fits the packed word or
    /// goes through the seqlock, across writes that switch between the two.
    #[test]
    fn limits_are_exact_packed_or_not() {
        let quota = |rate, per, burst| Quota::new(rate, per, burst).unwrap();
        let cases = [
            (quota(1, Duration::from_nanos(10), 1), true),
            (quota(1, Duration::from_secs(3600), 1), true), // 3.6e12 ns < 2^43
            (quota(1, Duration::from_secs(10_000), 1), false), // 1e13 ns > 2^43, and > 2^30
            // The narrow layout's edges: the interval's bits all set and the burst's top bit (bit
            // 62 of the word) set, then one past the interval (the span limit caps the burst).
            (quota(1, Duration::from_nanos((1 << 43) - 1), 1 << 19), true),
            (quota(1, Duration::from_nanos(1 << 43), 1), false),
            (quota(1_000_000, Duration::from_secs(1), (1 << 20) - 1), true),
            (quota(1_000_000, Duration::from_secs(1), 1 << 20), true), // wide: 1 000 ns < 2^30
            (quota(u32::MAX, Duration::from_secs(1), u32::MAX), true), // wide
            // The wide layout's edge: every bit up to 61 set.
            (quota(1, Duration::from_nanos((1 << 30) - 1), u32::MAX), true),
            (quota(1, Duration::from_nanos(1 << 30), 1 << 20), false), // too slow for wide
            (quota(7, Duration::from_millis(3), 5), true),
        ];
        let cell = QuotaCell::new(cases[0].0);
        for (q, packs) in cases.iter().chain(cases.iter().rev()) {
            cell.write(*q);
            assert_eq!(pack(q) != UNPACKED, *packs, "{q:?}");
            assert_eq!(cell.limits(), Limits { interval: q.interval, burst: u64::from(q.burst) }, "{q:?}");
            assert_eq!(cell.quota(), *q);
        }
    }
}
