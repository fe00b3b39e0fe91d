#![cfg(not(loom))]
//! `rate::KeyedBucket`: each key behaves exactly as a `TokenBucket` of its own (a differential
//! proptest against one `TokenBucket` per key on the same manual clock, `retain_recent`
//! included), grants on one key from many threads add up to exactly the burst (the first
//! request of a key racing on several threads too), and the blocking, timed and async waits.

mod async_util;
mod common;

use async_util::block_on;
use common::WATCHDOG;
use proptest::prelude::*;
use ringfence::rate::{AcquireTimeoutError, KeyedBucket, ManualClock, Quota, TokenBucket, TryAcquireError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
enum Op {
    Advance(u64),
    Acquire(u8, u32),
    Retain,
    /// A new quota: rate, period (ns), burst.
    SetQuota(u32, u64, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..40).prop_map(Op::Advance),
        6 => (0u8..4, 0u32..6).prop_map(|(key, n)| Op::Acquire(key, n)),
        1 => Just(Op::Retain),
        1 => (1u32..4, 1u64..30, 1u32..5).prop_map(|(rate, per, burst)| Op::SetQuota(rate, per, burst)),
    ]
}

/// An outcome comparable across the two implementations.
fn outcome(result: Result<(), TryAcquireError>) -> Result<(), (bool, u64)> {
    result.map_err(|error| match error {
        TryAcquireError::RateLimited(denied) => (true, denied.ready_at()),
        TryAcquireError::InsufficientCapacity(e) => (false, u64::from(e.burst())),
    })
}

proptest! {
    #[test]
    fn each_key_behaves_as_a_token_bucket_of_its_own(
        rate in 1u32..4,
        per in 1u64..30,
        burst in 1u32..5,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut quota = Quota::new(rate, Duration::from_nanos(per), burst).unwrap();
        let clock = ManualClock::new();
        let keyed = KeyedBucket::with_clock(quota, clock.clone());
        let mut model: HashMap<u8, TokenBucket<ManualClock>> = HashMap::new();
        for op in ops {
            match op {
                Op::Advance(nanos) => clock.advance(Duration::from_nanos(nanos)),
                Op::SetQuota(rate, per, burst) => {
                    quota = Quota::new(rate, Duration::from_nanos(per), burst).unwrap();
                    keyed.set_quota(quota);
                    for bucket in model.values() {
                        bucket.set_quota(quota);
                    }
                    prop_assert_eq!(keyed.quota(), quota);
                }
                Op::Acquire(key, n) => {
                    let bucket = model.entry(key).or_insert_with(|| TokenBucket::with_clock(quota, clock.clone()));
                    let expected = outcome(bucket.try_acquire(n));
                    prop_assert_eq!(outcome(keyed.try_acquire(&key, n)), expected, "key {} n {}", key, n);
                }
                Op::Retain => {
                    let left = keyed.retain_recent();
                    prop_assert_eq!(left, keyed.len());
                    // A forgotten key's bucket was full: its model bucket is too.
                    for (key, bucket) in &model {
                        prop_assert_eq!(keyed.available(key), bucket.available(), "key {}", key);
                    }
                    // And a forgotten key is a new key from now on (which differs from its old
                    // bucket once a new quota raises the burst): the model forgets the same keys,
                    // those whose bucket is full.
                    model.retain(|_, bucket| bucket.available() < bucket.quota().burst());
                    prop_assert_eq!(model.len(), left);
                }
            }
            for (key, bucket) in &model {
                prop_assert_eq!(keyed.available(key), bucket.available(), "key {}", key);
            }
        }
    }
}

/// Four threads take single tokens of one key at one instant (the first request of that key
/// racing too): exactly the burst is granted.
#[test]
fn grants_on_one_key_from_many_threads_add_up_to_the_burst() {
    for round in 0..50u32 {
        let quota = Quota::new(1, Duration::from_secs(1), 7).unwrap();
        let keyed = Arc::new(KeyedBucket::with_clock(quota, ManualClock::new()));
        let granted = Arc::new(AtomicU32::new(0));
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (keyed, granted, start) = (Arc::clone(&keyed), Arc::clone(&granted), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..5 {
                        if keyed.try_acquire(&round, 1).is_ok() {
                            granted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(granted.load(Ordering::Relaxed), 7, "round {round}");
        assert_eq!(keyed.len(), 1);
    }
}

#[test]
fn blocking_acquires_wait_for_their_key_only() {
    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let keyed = Arc::new(KeyedBucket::with_clock(quota, clock.clone()));
    keyed.acquire(&"a", 1).unwrap();
    let waiter = {
        let keyed = Arc::clone(&keyed);
        thread::spawn(move || keyed.acquire(&"a", 1))
    };
    keyed.acquire(&"b", 1).unwrap(); // another key: at once
    thread::sleep(Duration::from_millis(20));
    assert!(!waiter.is_finished(), "a's second token is a second away on the manual clock");
    clock.advance(Duration::from_secs(1));
    waiter.join().unwrap().unwrap();
    assert_eq!(keyed.acquire(&"a", 2).unwrap_err().burst(), 1);
}

#[test]
fn timed_acquires_fail_at_once_when_the_tokens_cannot_be_ready_in_time() {
    let keyed = KeyedBucket::new(1, Duration::from_secs(3600), 1);
    keyed.acquire(&1u8, 1).unwrap();
    let start = Instant::now();
    let err = keyed.acquire_timeout(&1, 1, Duration::from_secs(30)).unwrap_err();
    assert!(matches!(err, AcquireTimeoutError::Timeout));
    assert!(start.elapsed() < Duration::from_secs(10), "decided at once, not at the deadline");
    assert!(keyed.acquire_deadline(&2, 1, Instant::now()).is_ok(), "a past deadline takes what is there");
    assert!(keyed.acquire_timeout(&2, 1, Duration::ZERO).is_err());
    // A short refill within the timeout: waited for.
    let keyed = KeyedBucket::new(1, Duration::from_millis(10), 1);
    keyed.acquire(&1u8, 1).unwrap();
    assert!(keyed.acquire_timeout(&1, 1, WATCHDOG).is_ok());
}

#[test]
fn async_acquires_wait_on_the_manual_clock_and_the_timer() {
    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let keyed = Arc::new(KeyedBucket::with_clock(quota, clock.clone()));
    block_on(keyed.acquire_async(&9u8, 1)).unwrap();
    let advancer = {
        let clock = clock.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            clock.advance(Duration::from_secs(1));
        })
    };
    block_on(keyed.acquire_async(&9, 1)).unwrap(); // woken by the advance
    advancer.join().unwrap();
    assert!(block_on(keyed.acquire_async(&9, 2)).is_err(), "more than the burst, at once");
    // On the default clock the timer wakes it.
    let keyed = KeyedBucket::new(1, Duration::from_millis(10), 1);
    let start = Instant::now();
    block_on(async {
        keyed.acquire_async(&"x", 1).await.unwrap();
        keyed.acquire_async(&"x", 1).await.unwrap();
    });
    assert!(start.elapsed() >= Duration::from_millis(8));
}

/// `until_ready(&key)`: one token of that key, never an error; a future dropped while it waits
/// takes nothing; a jittered wait (a fixed delay here: a spread of zero) waits the delay past
/// the refill, and only after a denial; other keys are not held up.
#[test]
fn until_ready_and_jittered_waits_per_key() {
    use ringfence::rate::Jitter;
    use std::future::Future;
    use std::task::{Context, Waker};

    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let keyed = KeyedBucket::with_clock(quota, clock.clone());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(std::pin::pin!(keyed.until_ready(&1u8)).poll(&mut cx).is_ready(), "the burst");
    {
        let mut waiting = std::pin::pin!(keyed.until_ready(&1));
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        clock.advance(Duration::from_millis(500));
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
    } // dropped while it waits
    clock.advance(Duration::from_millis(500));
    assert_eq!(keyed.available(&1), 1, "the dropped future took nothing");

    let jitter = Jitter::new(Duration::from_millis(300), Duration::ZERO);
    assert!(std::pin::pin!(keyed.acquire_async_with_jitter(&1, 1, jitter)).poll(&mut cx).is_ready());
    let mut jittered = std::pin::pin!(keyed.until_ready_with_jitter(&1, jitter));
    assert!(jittered.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(1)); // the token is ready, the jittered wait is not over
    assert!(jittered.as_mut().poll(&mut cx).is_pending(), "300 ms of jitter still to wait");
    assert_eq!(keyed.available(&1), 1, "nothing taken while it waits");
    assert!(std::pin::pin!(keyed.until_ready_with_jitter(&2, jitter)).poll(&mut cx).is_ready());
    clock.advance(Duration::from_millis(299));
    assert!(jittered.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_millis(1));
    assert!(jittered.as_mut().poll(&mut cx).is_ready());
    assert_eq!(keyed.available(&1), 0);
    let too_many = std::pin::pin!(keyed.acquire_async_with_jitter(&3, 2, jitter)).poll(&mut cx);
    assert!(matches!(too_many, std::task::Poll::Ready(Err(_))), "more than the burst, at once");

    // On the default clock the timer wakes it.
    let keyed = KeyedBucket::new(1, Duration::from_millis(10), 1);
    let start = Instant::now();
    block_on(async {
        keyed.until_ready(&"x").await;
        keyed.until_ready(&"x").await;
    });
    assert!(start.elapsed() >= Duration::from_millis(8));
}

/// `set_quota` replaces every key's quota; each key keeps its state (a drained key refills at
/// the new rate), a new key starts full under the new quota, a cut burst refuses what it no
/// longer fits, and an invalid quota changes nothing.
#[test]
fn set_quota_applies_to_every_key_and_keeps_each_keys_state() {
    let clock = ManualClock::new();
    let keyed = KeyedBucket::with_clock(Quota::new(1, Duration::from_secs(1), 4).unwrap(), clock.clone());
    keyed.try_acquire(&"drained", 4).unwrap();
    keyed.try_acquire(&"half", 2).unwrap();
    keyed.set_rate(10, Duration::from_secs(1), 4).unwrap();
    assert_eq!(keyed.available(&"drained"), 0);
    clock.advance(Duration::from_millis(200));
    assert_eq!(keyed.available(&"drained"), 2, "refills at the new rate");
    assert_eq!(keyed.available(&"half"), 4, "2 left, 2 more in 200 ms, at most the burst");
    keyed.set_rate(10, Duration::from_secs(1), 2).unwrap(); // a smaller burst
    assert_eq!(keyed.available(&"new"), 2, "a new key: full under the new quota");
    match keyed.try_acquire(&"half", 3) {
        Err(TryAcquireError::InsufficientCapacity(e)) => assert_eq!(e.burst(), 2),
        other => panic!("expected InsufficientCapacity, got {other:?}"),
    }
    assert!(keyed.set_rate(0, Duration::from_secs(1), 2).is_err());
    assert_eq!(keyed.quota(), Quota::new(10, Duration::from_secs(1), 2).unwrap(), "unchanged");
}

/// On the real clock, a new quota wakes the waiters of every key at once, blocked threads and
/// async futures alike, to re-decide (each waited for a token an hour away; under the new
/// quota it is a millisecond away). A future dropped while it waits leaves no waker behind.
#[test]
fn set_quota_wakes_blocked_and_async_acquirers_of_every_key() {
    use async_util::{counting, held, poll_once};

    common::within(WATCHDOG, || {
        let keyed = Arc::new(KeyedBucket::new(1, Duration::from_secs(3600), 1));
        for key in 0..3u8 {
            keyed.try_acquire(&key, 1).unwrap();
        }
        let blocked = {
            let keyed = keyed.clone();
            thread::spawn(move || keyed.acquire(&0, 1).unwrap())
        };
        let (counter, waker) = counting();
        let mut waiting = keyed.acquire_async(&1, 1);
        assert!(poll_once(&mut waiting, &waker).is_pending());
        let (dropped_counter, dropped_waker) = counting();
        let mut dropped = keyed.until_ready(&2);
        assert!(poll_once(&mut dropped, &dropped_waker).is_pending());
        drop(dropped);
        assert_eq!(held(&dropped_counter), 0, "the dropped future left the timer and the change queue");
        thread::sleep(Duration::from_millis(20)); // let the thread block (not needed for correctness)
        keyed.set_rate(1000, Duration::from_secs(1), 1).unwrap();
        assert_eq!(counter.wakes(), 1, "woken by the change, not by the timer");
        blocked.join().unwrap(); // an hour under the old quota: the watchdog would fire
        assert_eq!(block_on(waiting), Ok(()));
        assert_eq!(held(&counter), 0, "completion removed both registrations");
    });
}

/// A jittered wait re-decides at once when the quota changes (found by review: it slept until
/// the old ready reading plus its jitter, an hour here, and a cut burst went unseen): on the
/// real clock the change wakes it; on a manual clock too; a burst cut below its request ends
/// it with the error.
#[test]
fn a_jittered_wait_re_decides_when_the_quota_changes() {
    use async_util::{counting, poll_once};
    use ringfence::rate::Jitter;
    use std::task::Poll;

    common::within(WATCHDOG, || {
        let keyed = KeyedBucket::new(1, Duration::from_secs(3600), 1);
        keyed.try_acquire(&0u8, 1).unwrap();
        let (counter, waker) = counting();
        let mut waiting = keyed.acquire_async_with_jitter(&0, 1, Jitter::up_to(Duration::from_millis(1)));
        assert!(poll_once(&mut waiting, &waker).is_pending());
        keyed.set_rate(1000, Duration::from_secs(1), 1).unwrap();
        assert_eq!(counter.wakes(), 1, "woken by the change");
        assert_eq!(block_on(waiting), Ok(()), "a millisecond (and its jitter) away now, not an hour");
    });

    let clock = ManualClock::new();
    let jitter = Jitter::new(Duration::from_millis(1), Duration::ZERO);
    let keyed = KeyedBucket::with_clock(Quota::new(1, Duration::from_secs(10), 2).unwrap(), clock.clone());
    keyed.try_acquire(&0u8, 2).unwrap();
    let (_counter, waker) = counting();
    let mut one = keyed.acquire_async_with_jitter(&0, 1, jitter);
    let mut two = keyed.acquire_async_with_jitter(&1, 2, jitter);
    keyed.try_acquire(&1, 2).unwrap();
    assert!(poll_once(&mut one, &waker).is_pending());
    assert!(poll_once(&mut two, &waker).is_pending());
    keyed.set_rate(1, Duration::from_secs(1), 1).unwrap(); // a token a second; 2 no longer fits
    assert_eq!(poll_once(&mut two, &waker).map(|r| r.is_err()), Poll::Ready(true), "the cut burst, at once");
    // Re-decided under the new quota: due at 1 s (not 10 s), jittered again from that denial.
    assert!(poll_once(&mut one, &waker).is_pending());
    clock.advance(Duration::from_secs(1));
    assert!(poll_once(&mut one, &waker).is_pending(), "due at 1 s plus its 1 ms of jitter");
    clock.advance(Duration::from_millis(1));
    assert_eq!(poll_once(&mut one, &waker), Poll::Ready(Ok(())));
}

#[test]
fn retain_recent_forgets_only_full_buckets() {
    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 2).unwrap();
    let keyed = KeyedBucket::with_clock(quota, clock.clone());
    for key in 0..100u32 {
        keyed.try_acquire(&key, 1).unwrap();
    }
    keyed.try_acquire(&0, 1).unwrap(); // key 0 is empty, the others hold one token
    assert_eq!(keyed.len(), 100);
    clock.advance(Duration::from_secs(1)); // the others are full again, key 0 holds one
    assert_eq!(keyed.retain_recent(), 1);
    assert_eq!(keyed.available(&0), 1);
    assert_eq!(keyed.available(&5), 2, "forgotten: a full bucket, as before");
    clock.advance(Duration::from_secs(1));
    assert_eq!(keyed.retain_recent(), 0);
    assert!(keyed.is_empty());
    assert!(format!("{keyed:?}").contains("keys: 0"));
}

/// A key whose `Hash` panics once asked to (for one key): a constant hash otherwise, so that
/// every key shares one probe run of one shard.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Touchy(u32);

static HASH_PANICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
const VICTIM: u32 = 0;

impl std::hash::Hash for Touchy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if HASH_PANICS.load(Ordering::Relaxed) && self.0 == VICTIM {
            panic!("the victim's hash");
        }
        0u8.hash(state);
    }
}

/// Inserting keys after `retain_recent` left tombstones can rehash the map in place; a rehash
/// that called the user's `Hash` and met a panic dropped the keys not yet moved, and with them
/// an empty bucket, which came back full (found by review).
#[test]
fn a_panicking_hash_loses_no_other_keys_bucket() {
    let n = 28u32;
    let clock = ManualClock::new();
    let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    let keyed = KeyedBucket::with_clock(quota, clock.clone());
    for k in 1..n {
        keyed.try_acquire(&Touchy(k), 1).unwrap();
    }
    clock.advance(Duration::from_secs(2));
    keyed.try_acquire(&Touchy(VICTIM), 1).unwrap(); // the victim's bucket is empty
    assert_eq!(keyed.retain_recent(), 1); // the others are forgotten: tombstones
    assert_eq!(keyed.available(&Touchy(VICTIM)), 0);
    HASH_PANICS.store(true, Ordering::Relaxed);
    for k in n..2 * n {
        let _ = std::panic::catch_unwind(|| keyed.try_acquire(&Touchy(k), 1));
    }
    HASH_PANICS.store(false, Ordering::Relaxed);
    assert_eq!(keyed.available(&Touchy(VICTIM)), 0, "the victim's bucket is still empty");
    assert!(keyed.try_acquire(&Touchy(VICTIM), 1).is_err(), "no second token at the same instant (burst 1)");
    assert_eq!(keyed.len(), n as usize + 1, "the victim and the 28 keys inserted since");
}
