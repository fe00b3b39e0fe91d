#![cfg(not(loom))]
//! Random operation sequences against sequential models.
//!
//! Token bucket: each step's outcome (grant, exact ready time, capacity error, reservation
//! ready time, whether a cancel gave tokens back, available tokens) must equal that of a pure
//! GCRA model written with unbounded `i128` arithmetic and an explicit stack of grants (the
//! implementation uses biased `u64` ticks, saturation and a CAS on one word). On top, the
//! grants that are still live must satisfy the rate bound: within one quota, the tokens used
//! over any interval `[a, b]` of clock readings are at most `burst + (b - a) / interval`.
//!
//! Sliding window: with readings in order the decisions equal those of a log of timestamps;
//! with arbitrary (stale, out of order) readings the promise "at most max_calls in any window"
//! still holds.

use proptest::prelude::*;
use ringfence::rate::{ManualClock, Quota, SlidingWindow, TokenBucket, TryAcquireError};
use std::time::Duration;

#[derive(Clone, Debug)]
enum Op {
    Advance(u64),
    Acquire(u32),
    /// Acquire at a reading `back` ns before the clock.
    AcquireStale(u32, u64),
    Reserve(u32),
    /// Cancel the reservation with this index (modulo the number made).
    Cancel(usize),
    SetRate {
        rate: u32,
        per: u64,
        burst: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..40).prop_map(Op::Advance),
        4 => (0u32..6).prop_map(Op::Acquire),
        1 => (0u32..4, 0u64..50).prop_map(|(n, b)| Op::AcquireStale(n, b)),
        2 => (0u32..5).prop_map(Op::Reserve),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => (1u32..4, 1u64..40, 1u32..6).prop_map(|(rate, per, burst)| Op::SetRate { rate, per, burst }),
    ]
}

/// The sequential specification.
#[derive(Debug)]
struct Model {
    /// `E`: the instant from which the bucket has been refilling ("everything paid by").
    e: i128,
    interval: i128,
    burst: i128,
    /// Every grant that moved `E`, in order: (E before, tokens, use time, epoch, live).
    grants: Vec<Grant>,
    epoch: usize,
}

#[derive(Debug, Clone)]
struct Grant {
    before: i128,
    tokens: i128,
    used_at: i128,
    interval: i128,
    burst: i128,
    epoch: usize,
    live: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Granted,
    Denied { ready_at: i128 },
    TooMany,
}

impl Model {
    fn new(interval: i128, burst: i128) -> Model {
        // "Long ago": full at every reading.
        Model { e: i128::MIN / 4, interval, burst, grants: Vec::new(), epoch: 0 }
    }

    fn tau(&self) -> i128 {
        self.interval * self.burst
    }

    fn push(&mut self, tokens: i128, new_e: i128, used_at: i128) {
        self.grants.push(Grant {
            before: self.e,
            tokens,
            used_at,
            interval: self.interval,
            burst: self.burst,
            epoch: self.epoch,
            live: true,
        });
        self.e = new_e;
    }

    fn acquire(&mut self, n: u32, now: i128) -> Outcome {
        let n = i128::from(n);
        if n > self.burst {
            return Outcome::TooMany;
        }
        if n == 0 {
            return Outcome::Granted;
        }
        let new_e = self.e.max(now - self.tau()) + n * self.interval;
        if new_e <= now {
            self.push(n, new_e, now);
            Outcome::Granted
        } else {
            Outcome::Denied { ready_at: self.e + n * self.interval }
        }
    }

    /// Returns (index in `grants` or None for n == 0, ready time).
    fn reserve(&mut self, n: u32, now: i128) -> Option<(Option<usize>, i128)> {
        let n = i128::from(n);
        if n > self.burst {
            return None;
        }
        if n == 0 {
            return Some((None, now));
        }
        let new_e = self.e.max(now - self.tau()) + n * self.interval;
        let ready = new_e.max(now);
        self.push(n, new_e, ready);
        Some((Some(self.grants.len() - 1), ready))
    }

    /// A cancel succeeds iff every grant after it has been cancelled.
    fn cancel(&mut self, index: usize) -> bool {
        if !self.grants[index].live || self.grants[index + 1..].iter().any(|g| g.live) {
            return false;
        }
        self.grants[index].live = false;
        self.e = self.grants[index].before;
        true
    }

    fn available(&self, now: i128) -> i128 {
        let base = self.e.max(now - self.tau());
        ((now - base) / self.interval).max(0)
    }

    /// The rate bound over the live grants of each quota epoch.
    fn check_bound(&self) {
        let live: Vec<&Grant> = self.grants.iter().filter(|g| g.live).collect();
        for a in &live {
            let tau = a.interval * a.burst;
            for b in &live {
                if b.epoch != a.epoch || b.used_at < a.used_at {
                    continue;
                }
                let used: i128 = live
                    .iter()
                    .filter(|g| g.epoch == a.epoch && g.used_at >= a.used_at && g.used_at <= b.used_at)
                    .map(|g| g.tokens * g.interval)
                    .sum();
                assert!(
                    used <= tau + (b.used_at - a.used_at),
                    "over-grant in [{}, {}]: {used} ns of tokens, tolerance {tau}",
                    a.used_at,
                    b.used_at
                );
            }
        }
    }
}

fn quota_interval(rate: u32, per: u64) -> i128 {
    i128::from(per.div_ceil(u64::from(rate)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn bucket_matches_the_sequential_gcra_model(
        rate in 1u32..4, per in 1u64..40, burst in 1u32..6,
        start in prop_oneof![Just(0u64), 0u64..1000, Just(1u64 << 62)],
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let clock = ManualClock::new();
        clock.set(start);
        let bucket = TokenBucket::with_clock(Quota::new(rate, Duration::from_nanos(per), burst).unwrap(), clock.clone());
        let mut model = Model::new(quota_interval(rate, per), i128::from(burst));
        let mut now = i128::from(start);
        let mut reservations = Vec::new(); // (Reservation, model index)
        for op in ops {
            match op {
                Op::Advance(d) => {
                    clock.advance_nanos(d);
                    now += i128::from(d);
                }
                Op::Acquire(n) | Op::AcquireStale(n, _) => {
                    let reading = match op {
                        Op::AcquireStale(_, back) => now - i128::from(back).min(now),
                        _ => now,
                    };
                    let got = match bucket.try_acquire_at(n, reading as u64) {
                        Ok(()) => Outcome::Granted,
                        Err(TryAcquireError::RateLimited(e)) => {
                            prop_assert_eq!(i128::from(e.decided_at()), reading);
                            Outcome::Denied { ready_at: i128::from(e.ready_at()) }
                        }
                        Err(TryAcquireError::InsufficientCapacity(_)) => Outcome::TooMany,
                    };
                    prop_assert_eq!(got, model.acquire(n, reading));
                }
                Op::Reserve(n) => {
                    let want = model.reserve(n, now);
                    match (bucket.reserve(n), want) {
                        (Ok(r), Some((index, ready))) => {
                            prop_assert_eq!(i128::from(r.ready_at()), ready);
                            if let Some(index) = index {
                                reservations.push((r, index));
                            }
                        }
                        (Err(_), None) => {}
                        (got, want) => prop_assert!(false, "reserve: {:?} vs model {:?}", got.map(|r| r.ready_at()), want),
                    }
                }
                Op::Cancel(k) => {
                    if !reservations.is_empty() {
                        let (r, index) = reservations.remove(k % reservations.len());
                        prop_assert_eq!(r.cancel(), model.cancel(index));
                    }
                }
                Op::SetRate { rate, per, burst } => {
                    bucket.set_rate(rate, Duration::from_nanos(per), burst).unwrap();
                    model.interval = quota_interval(rate, per);
                    model.burst = i128::from(burst);
                    model.epoch += 1;
                }
            }
            prop_assert_eq!(i128::from(bucket.available()), model.available(now));
        }
        model.check_bound();
        drop(reservations);
    }

    #[test]
    fn window_matches_a_timestamp_log_for_ordered_readings(
        max_calls in 1u32..5, period in 1u64..50,
        steps in proptest::collection::vec(0u64..20, 1..80),
    ) {
        let window = SlidingWindow::with_clock(max_calls, Duration::from_nanos(period), ManualClock::new()).unwrap();
        let mut log: Vec<u64> = Vec::new();
        let mut now = 0;
        for step in steps {
            now += step;
            let in_window = log.iter().filter(|&&t| t + period > now).count();
            let oldest = log.len().checked_sub(max_calls as usize).map(|i| log[i]);
            match window.try_acquire_at(now) {
                Ok(()) => {
                    prop_assert!(in_window < max_calls as usize);
                    log.push(now);
                }
                Err(e) => {
                    prop_assert_eq!(in_window, max_calls as usize);
                    prop_assert_eq!(e.ready_at(), oldest.unwrap() + period);
                }
            }
        }
    }

    #[test]
    fn window_promise_holds_for_any_readings(
        max_calls in 1u32..5, period in 1u64..50,
        readings in proptest::collection::vec(0u64..300, 1..80),
    ) {
        let window = SlidingWindow::with_clock(max_calls, Duration::from_nanos(period), ManualClock::new()).unwrap();
        let granted: Vec<u64> = readings.into_iter().filter(|&t| window.try_acquire_at(t).is_ok()).collect();
        for &start in &granted {
            let inside = granted.iter().filter(|&&t| t >= start && t < start + period).count();
            prop_assert!(inside <= max_calls as usize, "{} in [{}, {}): {:?}", inside, start, start + period, granted);
        }
    }
}
