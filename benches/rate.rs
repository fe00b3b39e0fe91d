//! Criterion benchmarks: `ringfence::rate::TokenBucket` (and `SlidingWindow`) against governor's
//! direct rate limiter and a `Mutex`-guarded token bucket, in the same groups.
//!
//! Workloads:
//! - `allow`: a quota so large every check is granted (the one-CAS path);
//! - `deny`: a drained bucket that refills once an hour (the read-only path);
//!
//! each on 1, 2 and 4 threads (spawned outside the timed region; each times itself from a shared `Barrier`,
//! `common::on_threads`), with the real clocks (ringfence: its default `TscClock`, id
//! `ringfence`, and `MonotonicClock` on `std::time::Instant`, id `ringfence_instant_clock`;
//! governor: its default, `quanta`) and with a manual clock (ringfence `ManualClock`, governor
//! `FakeRelativeClock`) to separate the cost of reading the clock. The manual clocks are
//! advanced by one second every 2^16 checks on the allow path, so the burst never runs out.
//!
//! - `keyed_allow`: `KeyedBucket` against governor's keyed limiter (dashmap), 1024 keys, every
//!   check granted, each thread walking the keys from its own offset; with the default hashers
//!   (SipHash) and with a fast multiplicative one on both sides (`_fx_hash`).
//!
//! `cargo bench --bench rate` (add `-- --test` for one quick pass).

#[path = "common/mod.rs"]
mod common;

use common::on_threads;
use common::rate::THREADS;
use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use governor::clock::FakeRelativeClock;
use governor::{Quota as GQuota, RateLimiter};
use ringfence::rate::{
    KeyedBucket, ManualClock, MonotonicClock, Quota, SlidingWindow, TokenBucket, TscClock,
};
use std::hash::{BuildHasherDefault, Hasher};
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Something that answers "may I?" and can be told that time moved (manual clocks only).
trait Limiter: Send + Sync + 'static {
    fn check(&self) -> bool;
    fn tick(&self) {}
}

impl Limiter for TokenBucket {
    #[inline]
    fn check(&self) -> bool {
        self.try_acquire(1).is_ok()
    }
}

impl Limiter for TokenBucket<MonotonicClock> {
    #[inline]
    fn check(&self) -> bool {
        self.try_acquire(1).is_ok()
    }
}

struct ManualBucket(TokenBucket<ManualClock>);

impl Limiter for ManualBucket {
    #[inline]
    fn check(&self) -> bool {
        self.0.try_acquire(1).is_ok()
    }
    fn tick(&self) {
        self.0.clock().advance(Duration::from_secs(1));
    }
}

impl Limiter for SlidingWindow {
    #[inline]
    fn check(&self) -> bool {
        self.try_acquire().is_ok()
    }
}

type Governor = governor::DefaultDirectRateLimiter;

impl Limiter for Governor {
    #[inline]
    fn check(&self) -> bool {
        RateLimiter::check(self).is_ok()
    }
}

struct GovernorFake(
    RateLimiter<
        governor::state::NotKeyed,
        governor::state::InMemoryState,
        FakeRelativeClock,
        governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
    >,
    FakeRelativeClock,
);

impl Limiter for GovernorFake {
    #[inline]
    fn check(&self) -> bool {
        self.0.check().is_ok()
    }
    fn tick(&self) {
        self.1.advance(Duration::from_secs(1));
    }
}

/// The naive baseline: a token count and a timestamp behind a mutex.
struct MutexBucket {
    state: Mutex<(f64, Instant)>,
    per_sec: f64,
    burst: f64,
}

impl MutexBucket {
    fn new(per_sec: f64, burst: f64, full: bool) -> Self {
        MutexBucket { state: Mutex::new((if full { burst } else { 0.0 }, Instant::now())), per_sec, burst }
    }
}

impl Limiter for MutexBucket {
    #[inline]
    fn check(&self) -> bool {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.per_sec).min(self.burst);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

const BIG: u32 = u32::MAX;
const ONE: NonZeroU32 = NonZeroU32::MIN;

fn big_governor() -> Governor {
    RateLimiter::direct(GQuota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX))
}

fn tiny_governor() -> Governor {
    let limiter = RateLimiter::direct(GQuota::per_hour(ONE).allow_burst(ONE));
    let _ = limiter.check();
    limiter
}

fn governor_fake(quota: GQuota, drain: bool) -> GovernorFake {
    let clock = FakeRelativeClock::default();
    let limiter = RateLimiter::direct_with_clock(quota, clock.clone());
    if drain {
        let _ = limiter.check();
    }
    GovernorFake(limiter, clock)
}

fn manual_bucket(quota: Quota, drain: bool) -> ManualBucket {
    let bucket = TokenBucket::with_clock(quota, ManualClock::new());
    if drain {
        let _ = bucket.try_acquire(1);
    }
    ManualBucket(bucket)
}

/// `iters` checks split over `threads` threads, timed by the threads themselves
/// (`common::on_threads`: from the earliest release at the barrier to the latest finish, so
/// neither thread start nor exit is measured, and an oversubscribed thread that starts late is
/// not missed). Asserts the expected outcome of (nearly) every check.
fn run<L: Limiter>(limiter: &L, threads: usize, iters: u64, expect: bool) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let (matched, elapsed) = on_threads(threads, |ready| {
        ready();
        let mut matched = 0u64;
        for i in 0..per_thread {
            if i & 0xFFFF == 0xFFFF {
                limiter.tick();
            }
            matched += u64::from(black_box(limiter.check()) == expect);
        }
        matched
    });
    let matched: u64 = matched.iter().sum();
    // Exact for ringfence; governor's fake clock occasionally denies one check of a huge quota
    // at its time origin, so peers get a one-in-a-thousand allowance.
    let total = per_thread * threads as u64;
    assert!(matched >= total - total / 1000, "{matched} of {total} checks were {expect}");
    elapsed
}

fn bench<L: Limiter>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    expect: bool,
    make: impl Fn() -> L,
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let limiter = make();
            run(&limiter, threads, iters, expect)
        })
    });
}

fn allow(c: &mut Criterion) {
    let big = Quota::new(BIG, Duration::from_secs(1), BIG).unwrap();
    for threads in THREADS {
        let mut group = c.benchmark_group(format!("rate_allow_{threads}t"));
        group.throughput(Throughput::Elements(1));
        // The default clock (`TscClock`), as `TokenBucket::new` makes it.
        bench(&mut group, "ringfence", threads, true, || TokenBucket::with_clock(big, TscClock::new()));
        bench(&mut group, "ringfence_instant_clock", threads, true, || {
            TokenBucket::with_clock(big, MonotonicClock::new())
        });
        bench(&mut group, "governor_real_clock", threads, true, big_governor);
        bench(&mut group, "ringfence_manual_clock", threads, true, || manual_bucket(big, false));
        bench(&mut group, "governor_fake_clock", threads, true, || {
            governor_fake(GQuota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX), false)
        });
        bench(&mut group, "mutex_bucket", threads, true, || MutexBucket::new(1e12, 1e12, true));
        bench(&mut group, "ringfence_window", threads, true, || {
            SlidingWindow::new(1 << 16, Duration::from_nanos(1))
        });
        group.finish();
    }
}

fn deny(c: &mut Criterion) {
    let tiny = Quota::new(1, Duration::from_secs(3600), 1).unwrap();
    for threads in THREADS {
        let mut group = c.benchmark_group(format!("rate_deny_{threads}t"));
        group.throughput(Throughput::Elements(1));
        bench(&mut group, "ringfence", threads, false, || {
            let bucket = TokenBucket::with_clock(tiny, TscClock::new());
            let _ = bucket.try_acquire(1);
            bucket
        });
        bench(&mut group, "ringfence_instant_clock", threads, false, || {
            let bucket = TokenBucket::with_clock(tiny, MonotonicClock::new());
            let _ = bucket.try_acquire(1);
            bucket
        });
        bench(&mut group, "governor_real_clock", threads, false, tiny_governor);
        bench(&mut group, "ringfence_manual_clock", threads, false, || manual_bucket(tiny, true));
        bench(&mut group, "governor_fake_clock", threads, false, || {
            governor_fake(GQuota::per_hour(ONE).allow_burst(ONE), true)
        });
        bench(&mut group, "mutex_bucket", threads, false, || MutexBucket::new(1.0 / 3600.0, 1.0, false));
        bench(&mut group, "ringfence_window", threads, false, || {
            let window = SlidingWindow::new(1, Duration::from_secs(3600));
            let _ = window.try_acquire();
            window
        });
        group.finish();
    }
}

/// The keys of the keyed groups: every check takes the next key of its thread's walk through
/// them (all inserted before the timed region).
const KEYS: u64 = 1024;

/// A keyed limiter: "may key `k` go?".
trait KeyedLimiter: Send + Sync + 'static {
    fn check_key(&self, key: u64) -> bool;
}

impl KeyedLimiter for KeyedBucket<u64> {
    #[inline]
    fn check_key(&self, key: u64) -> bool {
        self.try_acquire(&key, 1).is_ok()
    }
}

impl KeyedLimiter for governor::DefaultKeyedRateLimiter<u64> {
    #[inline]
    fn check_key(&self, key: u64) -> bool {
        self.check_key(&key).is_ok()
    }
}

impl KeyedLimiter for KeyedBucket<u64, TscClock, BuildHasherDefault<Fx>> {
    #[inline]
    fn check_key(&self, key: u64) -> bool {
        self.try_acquire(&key, 1).is_ok()
    }
}

type GovernorFx = RateLimiter<
    u64,
    governor::state::keyed::DashMapStateStore<u64, BuildHasherDefault<Fx>>,
    governor::clock::DefaultClock,
>;

impl KeyedLimiter for GovernorFx {
    #[inline]
    fn check_key(&self, key: u64) -> bool {
        self.check_key(&key).is_ok()
    }
}

/// A fast multiplicative hasher (rustc's `FxHasher`'s step), for the rows that take SipHash out
/// of the comparison: keys an attacker does not choose.
#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&byte| self.write_u64(u64::from(byte)));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// As [`run`], each thread walking the keys from its own offset.
fn run_keyed<L: KeyedLimiter>(limiter: &L, threads: usize, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let next_thread = std::sync::atomic::AtomicU64::new(0);
    let (granted, elapsed) = on_threads(threads, |ready| {
        let offset = next_thread.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * KEYS / threads as u64;
        ready();
        (0..per_thread).map(|i| u64::from(black_box(limiter.check_key((offset + i) % KEYS)))).sum::<u64>()
    });
    let total = per_thread * threads as u64;
    assert!(granted.iter().sum::<u64>() >= total - total / 1000, "a huge quota grants every check");
    elapsed
}

/// Per-key limiters, ringfence's `KeyedBucket` against governor's keyed `RateLimiter`
/// (dashmap), a huge quota (every check granted), 1024 keys inserted beforehand.
fn keyed(c: &mut Criterion) {
    let big = Quota::new(BIG, Duration::from_secs(1), BIG).unwrap();
    for threads in THREADS {
        let mut group = c.benchmark_group(format!("rate_keyed_allow_{threads}t"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("ringfence", |b| {
            b.iter_custom(|iters| {
                let limiter = KeyedBucket::with_clock(big, TscClock::new());
                (0..KEYS).for_each(|key| assert!(limiter.check_key(key)));
                run_keyed(&limiter, threads, iters)
            })
        });
        group.bench_function("governor_real_clock", |b| {
            b.iter_custom(|iters| {
                let limiter: governor::DefaultKeyedRateLimiter<u64> =
                    RateLimiter::keyed(GQuota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX));
                (0..KEYS).for_each(|key| assert!(limiter.check_key(&key).is_ok()));
                run_keyed(&limiter, threads, iters)
            })
        });
        group.bench_function("ringfence_fx_hash", |b| {
            b.iter_custom(|iters| {
                let limiter =
                    KeyedBucket::with_hasher(big, TscClock::new(), BuildHasherDefault::<Fx>::default());
                (0..KEYS).for_each(|key| assert!(KeyedLimiter::check_key(&limiter, key)));
                run_keyed(&limiter, threads, iters)
            })
        });
        group.bench_function("governor_fx_hash", |b| {
            b.iter_custom(|iters| {
                let limiter: GovernorFx = RateLimiter::dashmap_with_hasher(
                    GQuota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX),
                    BuildHasherDefault::<Fx>::default(),
                );
                (0..KEYS).for_each(|key| assert!(limiter.check_key(&key).is_ok()));
                run_keyed(&limiter, threads, iters)
            })
        });
        group.finish();
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    allow(&mut criterion);
    deny(&mut criterion);
    keyed(&mut criterion);
    criterion.final_summary();
}
