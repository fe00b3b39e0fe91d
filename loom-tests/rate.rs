//! loom models of the rate limiters (`src/rate/`): the token bucket's one-word GCRA state, its
//! reserve/cancel and set_rate protocols, the quota seqlock, the sliding window's slot chains,
//! and the manual clock's wakeups (a lost wakeup shows up as a loom deadlock).
//!
//! Time is a `ManualClock` (a loom atomic), so each advance is an event loom interleaves with
//! the acquires. Quotas use a 10 ns interval so the arithmetic stays readable.

use loom::sync::Arc;
use loom::thread;
use ringfence::rate::{Clock, KeyedBucket, ManualClock, Quota, SlidingWindow, TokenBucket, TryAcquireError};
use std::time::Duration;

/// `burst` tokens, one every 10 ns.
fn quota(burst: u32) -> Quota {
    Quota::new(1, Duration::from_nanos(10), burst).unwrap()
}

fn bucket(burst: u32) -> (Arc<TokenBucket<ManualClock>>, ManualClock) {
    let clock = ManualClock::new();
    (Arc::new(TokenBucket::with_clock(quota(burst), clock.clone())), clock)
}

fn window(max_calls: u32) -> (Arc<SlidingWindow<ManualClock>>, ManualClock) {
    let clock = ManualClock::new();
    (Arc::new(SlidingWindow::with_clock(max_calls, Duration::from_nanos(10), clock.clone()).unwrap()), clock)
}

// ---------------------------------------------------------------------------------------------
// Token bucket
// ---------------------------------------------------------------------------------------------

/// Three requests at one instant against a burst of two: exactly two are granted. "At most"
/// is the no-over-grant promise; "exactly" is the promise never to deny while tokens remain
/// (a lost CAS retries instead of failing).
#[test]
fn bucket_same_instant_grants_exactly_the_burst() {
    loom::model(|| {
        let (bucket, _clock) = bucket(2);
        let spawn = |b: Arc<TokenBucket<ManualClock>>| thread::spawn(move || b.try_acquire(1).is_ok());
        let t1 = spawn(bucket.clone());
        let t2 = spawn(bucket.clone());
        let mine = bucket.try_acquire(1).is_ok();
        let granted = [mine, t1.join().unwrap(), t2.join().unwrap()].iter().filter(|&&g| g).count();
        assert_eq!(granted, 2);
        assert_eq!(bucket.available(), 0);
    });
}

/// A refill (clock advance) races an acquire on a drained bucket: the acquire is granted iff
/// it read the advanced clock, a denial names the exact refill instant, and afterwards exactly
/// the one refilled token is there.
#[test]
fn bucket_refill_racing_acquire() {
    loom::model(|| {
        let (bucket, clock) = bucket(1);
        bucket.try_acquire(1).unwrap();
        let advancer = {
            let clock = clock.clone();
            thread::spawn(move || clock.advance_nanos(10))
        };
        let first = bucket.try_acquire(1);
        advancer.join().unwrap();
        let second = bucket.try_acquire(1);
        match first {
            Ok(()) => assert!(second.is_err(), "one refill, one token"),
            Err(TryAcquireError::RateLimited(denied)) => {
                assert_eq!(denied.ready_at(), 10);
                assert!(second.is_ok(), "the refill is visible after the join");
            }
            Err(e) => panic!("{e:?}"),
        }
    });
}

/// A request charged at a stale reading (0) races one at a fresh reading (5, less than an
/// interval later) that takes the whole burst. Over [0, 5] the bucket may grant at most
/// `burst + 5 / 10 = 2` tokens: exactly one request wins, whichever CAS comes first.
#[test]
fn bucket_stale_reading_never_takes_tokens_granted_later() {
    loom::model(|| {
        let (bucket, clock) = bucket(2);
        let stale = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.try_acquire_at(1, 0).is_ok())
        };
        clock.advance_nanos(5);
        let fresh = bucket.try_acquire(2).is_ok();
        let stale = stale.join().unwrap();
        assert!(stale ^ fresh, "exactly one fits: stale {stale}, fresh {fresh}");
    });
}

/// After an idle period long enough to saturate the clock, the bucket holds its burst (3) and
/// not a token more: two concurrent requests for 2 cannot both succeed, one does.
#[test]
fn bucket_saturates_at_burst_after_long_idle() {
    loom::model(|| {
        let (bucket, clock) = bucket(3);
        bucket.try_acquire(3).unwrap();
        clock.advance(Duration::MAX);
        assert_eq!(bucket.available(), 3);
        let other = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.try_acquire(2).is_ok())
        };
        let mine = bucket.try_acquire(2).is_ok();
        assert!(mine ^ other.join().unwrap());
        assert_eq!(bucket.available(), 1);
    });
}

/// A reservation is cancelled while another thread acquires. The cancel gives its token back
/// exactly when no grant was stacked on it, so the final count is always
/// `burst - acquired - (reservation kept ? 1 : 0)`.
#[test]
fn bucket_reserve_cancel_racing_acquire() {
    loom::model(|| {
        let (bucket, _clock) = bucket(2);
        let acquirer = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.try_acquire(1).is_ok())
        };
        let reservation = bucket.reserve(1).unwrap();
        assert_eq!(reservation.ready_at(), 0, "a token was free for it at any order");
        let cancelled = reservation.cancel();
        let acquired = acquirer.join().unwrap();
        assert!(acquired, "two tokens for two requests");
        let kept = u32::from(!cancelled);
        assert_eq!(bucket.available(), 2 - 1 - kept);
    });
}

/// golang/go#69419: a cancel racing a later reservation must not give back a slot that the
/// later one was scheduled behind. With burst 1, every live reservation needs its own 10 ns
/// slot: after the race and one more reservation, the live ready times are pairwise >= 10 apart.
#[test]
fn bucket_cancel_never_frees_a_slot_a_later_reservation_depends_on() {
    loom::model(|| {
        let (bucket, _clock) = bucket(1);
        let other = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.reserve(1).unwrap().ready_at())
        };
        let mine = bucket.reserve(1).unwrap();
        let my_ready = mine.ready_at();
        let cancelled = mine.cancel();
        let other_ready = other.join().unwrap();
        let last_ready = bucket.reserve(1).unwrap().ready_at();
        let mut live = vec![other_ready, last_ready];
        if !cancelled {
            live.push(my_ready);
        }
        live.sort_unstable();
        for pair in live.windows(2) {
            assert!(pair[1] >= pair[0] + 10, "overlapping slots {live:?} (cancelled {cancelled})");
        }
    });
}

/// set_rate races an acquire: the acquire is decided wholly by the old quota (burst 1:
/// request for 2 is impossible) or wholly by the new one (burst 2: granted from the full
/// bucket), never by a mix; after the join the new quota is in force.
#[test]
fn bucket_set_rate_racing_acquire() {
    set_rate_racing_acquire(Quota::new(2, Duration::from_nanos(10), 2).unwrap()); // interval 5, burst 2
}

/// As `bucket_set_rate_racing_acquire`, with a new quota too large for the packed limits word
/// (interval 2^50 ns), so the acquire path switches from the packed word to the seqlock while
/// the acquire runs: still decided wholly by one quota.
#[test]
fn bucket_set_rate_to_an_unpacked_quota_racing_acquire() {
    set_rate_racing_acquire(Quota::new(1, Duration::from_nanos(1 << 50), 2).unwrap());
}

/// The body of the two models above: `new` has burst 2, the bucket starts with burst 1.
fn set_rate_racing_acquire(new: Quota) {
    loom::model(move || {
        let (bucket, _clock) = bucket(1);
        let setter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.set_quota(new))
        };
        let outcome = bucket.try_acquire(2);
        setter.join().unwrap();
        match outcome {
            Ok(()) => assert_eq!(bucket.available(), 0),
            Err(TryAcquireError::InsufficientCapacity(e)) => {
                assert_eq!(e.burst(), 1);
                assert_eq!(bucket.available(), 2, "nothing taken, the full bucket keeps the new burst");
            }
            Err(e) => panic!("{e:?}"),
        }
        assert_eq!(bucket.quota(), new);
    });
}

/// The quota seqlock under two concurrent writers: a reader always sees one whole quota.
#[test]
fn bucket_quota_is_never_torn() {
    loom::model(|| {
        let (bucket, _clock) = bucket(1);
        let a = Quota::new(1, Duration::from_nanos(20), 2).unwrap();
        let b = Quota::new(3, Duration::from_nanos(30), 3).unwrap();
        let writers: Vec<_> = [a, b]
            .into_iter()
            .map(|q| {
                let bucket = bucket.clone();
                thread::spawn(move || bucket.set_quota(q))
            })
            .collect();
        let seen = bucket.quota();
        assert!(seen == quota(1) || seen == a || seen == b, "torn quota {seen:?}");
        for w in writers {
            w.join().unwrap();
        }
        let last = bucket.quota();
        assert!(last == a || last == b);
    });
}

/// A blocked `acquire` sleeps on the manual clock and is woken by the advance that refills the
/// bucket (a lost wakeup would be a loom deadlock).
#[test]
fn bucket_blocking_acquire_woken_by_clock_advance() {
    loom::model(|| {
        let (bucket, clock) = bucket(1);
        bucket.try_acquire(1).unwrap();
        let waiter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.acquire(1).unwrap())
        };
        clock.advance_nanos(10);
        waiter.join().unwrap();
        assert_eq!(bucket.available(), 0);
        assert_eq!(clock.now(), 10);
    });
}

/// A thread blocked on a plain manual clock (no real-time instants: it waits for the clock's
/// wake or the bucket's change, through one thread-parking waker registered with both) is woken
/// by a cancel that frees a token at the current reading, with no advance. A lost wakeup on
/// either registration, or a waiter that misses the cancel, sleeps forever: a loom deadlock.
#[test]
fn bucket_cancel_wakes_an_acquire_blocked_on_a_manual_clock() {
    loom::model(|| {
        let (bucket, clock) = bucket(1);
        bucket.try_acquire(1).unwrap(); // the next token at 10
        let reservation = bucket.reserve(1).unwrap(); // takes it: the next after at 20
        clock.set(10);
        let waiter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.acquire(1).unwrap())
        };
        assert!(reservation.cancel());
        waiter.join().unwrap();
        assert_eq!(clock.now(), 10, "no advance woke it");
    });
}

/// The same for a new quota that frees a token at the current reading: drained at 0, a token
/// every 10 ns; at 5 a quota of one every 5 ns holds one.
#[test]
fn bucket_set_quota_wakes_an_acquire_blocked_on_a_manual_clock() {
    loom::model(|| {
        let (bucket, clock) = bucket(1);
        bucket.try_acquire(1).unwrap();
        clock.set(5);
        let waiter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.acquire(1).unwrap())
        };
        bucket.set_quota(Quota::new(1, Duration::from_nanos(5), 1).unwrap());
        waiter.join().unwrap();
        assert_eq!(clock.now(), 5, "no advance woke it");
    });
}

/// A manual clock that claims real-time instants for readings it has reached (and none for
/// later ones), so a blocked acquire whose tokens are "never" ready waits on the bucket's own
/// queue with no timeout: only the bucket's change notification can wake it. A wait for a
/// later reading sleeps on the manual clock (threads) or registers with it (async acquires).
pub(crate) struct ChangeWaitClock(pub(crate) ManualClock);

impl Clock for ChangeWaitClock {
    fn now(&self) -> u64 {
        self.0.now()
    }

    fn sleep_until(&self, target: u64, deadline: Option<std::time::Instant>) {
        self.0.sleep_until(target, deadline);
    }

    fn instant_of(&self, target: u64) -> Option<std::time::Instant> {
        (target <= self.0.now()).then(std::time::Instant::now)
    }

    fn wake_at(&self, target: u64, waker: &std::task::Waker) -> bool {
        self.0.wake_at(target, waker)
    }
}

/// A cancel that frees tokens wakes an acquirer blocked on the bucket (not on the clock): the
/// reservations fill the clock's range, so the waiter's tokens are "never" ready until the
/// last one is cancelled. A lost wakeup, or a waiter that reads the cancel's change count but
/// not the cancelled state, sleeps forever: a loom deadlock.
#[test]
fn bucket_cancel_wakes_a_blocked_acquire() {
    loom::model(|| {
        let clock = ManualClock::new();
        let quota = Quota::new(1, Duration::from_nanos(1 << 62), 1).unwrap();
        let bucket = Arc::new(TokenBucket::with_clock(quota, ChangeWaitClock(clock.clone())));
        let _first = bucket.reserve(1).unwrap();
        let _second = bucket.reserve(1).unwrap();
        let last = bucket.reserve(1).unwrap();
        assert_eq!(last.ready_at(), 1 << 63);
        let waiter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.acquire(1).unwrap())
        };
        assert!(last.cancel());
        clock.set(1 << 63);
        waiter.join().unwrap();
    });
}

/// A keyed bucket whose key 0 is drained near the end of the clock's range, with a token every
/// 2^62 ns: its next token is "never" ready (past the range), so a blocked acquire of it waits
/// on the change queue alone, with no timeout. The returned clock reads the drain's instant.
pub(crate) fn keyed_never_ready() -> (Arc<KeyedBucket<u8, ChangeWaitClock>>, ManualClock) {
    let clock = ManualClock::new();
    clock.set((1 << 63) - (1 << 61));
    let quota = Quota::new(1, Duration::from_nanos(1 << 62), 1).unwrap();
    let keyed = Arc::new(KeyedBucket::with_clock(quota, ChangeWaitClock(clock.clone())));
    keyed.try_acquire(&0, 1).unwrap();
    match keyed.try_acquire(&0, 1) {
        Err(TryAcquireError::RateLimited(denied)) => assert_eq!(denied.ready_at(), u64::MAX, "never"),
        other => panic!("expected a \"never\" denial, got {other:?}"),
    }
    (keyed, clock)
}

/// A new quota wakes a keyed acquire blocked on the change queue: under the old quota its token
/// is never ready, under the new one a nanosecond after the drain (then the clock's advance
/// wakes it). A lost wakeup, or a waiter that reads the change count but decides under the old
/// quota, sleeps forever: a loom deadlock.
#[test]
fn keyed_set_quota_wakes_a_blocked_acquire() {
    loom::model(|| {
        let (keyed, clock) = keyed_never_ready();
        let waiter = {
            let keyed = keyed.clone();
            thread::spawn(move || keyed.acquire(&0, 1).unwrap())
        };
        keyed.set_quota(Quota::new(1, Duration::from_nanos(1), 1).unwrap());
        clock.advance(Duration::from_nanos(1));
        waiter.join().unwrap();
        assert_eq!(keyed.available(&0), 0);
    });
}

// ---------------------------------------------------------------------------------------------
// Sliding window
// ---------------------------------------------------------------------------------------------

/// Three calls at one instant against a window of two: exactly two are recorded.
#[test]
fn window_same_instant_grants_exactly_max_calls() {
    loom::model(|| {
        let (window, _clock) = window(2);
        let spawn = |w: Arc<SlidingWindow<ManualClock>>| thread::spawn(move || w.try_acquire().is_ok());
        let t1 = spawn(window.clone());
        let t2 = spawn(window.clone());
        let mine = window.try_acquire().is_ok();
        let granted = [mine, t1.join().unwrap(), t2.join().unwrap()].iter().filter(|&&g| g).count();
        assert_eq!(granted, 2);
    });
}

/// The window slides (clock advance) while a call races it: the call is recorded iff it read
/// the advanced clock, and then the window is full again.
#[test]
fn window_slide_racing_acquire() {
    loom::model(|| {
        let (window, clock) = window(1);
        window.try_acquire().unwrap();
        let advancer = {
            let clock = clock.clone();
            thread::spawn(move || clock.advance_nanos(10))
        };
        let first = window.try_acquire();
        advancer.join().unwrap();
        let second = window.try_acquire();
        match first {
            Ok(()) => assert!(second.is_err()),
            Err(denied) => {
                assert_eq!(denied.ready_at(), 10);
                assert!(second.is_ok());
            }
        }
    });
}

/// A call recorded at a stale reading (5) races one at a fresh reading (10) in a window of one
/// call per 10 ns: both lie in one window, so exactly one is recorded, whichever comes first.
#[test]
fn window_stale_reading_is_recorded_at_its_instant() {
    loom::model(|| {
        let (window, clock) = window(1);
        clock.advance_nanos(5);
        let stale = {
            let window = window.clone();
            thread::spawn(move || window.try_acquire_at(5).is_ok())
        };
        clock.advance_nanos(5);
        let fresh = window.try_acquire().is_ok();
        let stale = stale.join().unwrap();
        assert!(stale ^ fresh, "stale {stale}, fresh {fresh}");
    });
}

/// Two threads make two calls each in a window of three per 10 ns, at one instant: the hint
/// race never lets a fourth in, and never denies the third.
#[test]
fn window_hint_race_keeps_the_count_exact() {
    loom::model(|| {
        let (window, _clock) = window(3);
        let other = {
            let window = window.clone();
            thread::spawn(move || (0..2).filter(|_| window.try_acquire().is_ok()).count())
        };
        let mine = (0..2).filter(|_| window.try_acquire().is_ok()).count();
        assert_eq!(mine + other.join().unwrap(), 3);
    });
}

/// A blocked window `acquire` is woken by the advance that slides the window.
#[test]
fn window_blocking_acquire_woken_by_clock_advance() {
    loom::model(|| {
        let (window, clock) = window(1);
        window.try_acquire().unwrap();
        let waiter = {
            let window = window.clone();
            thread::spawn(move || window.acquire())
        };
        clock.advance_nanos(10);
        waiter.join().unwrap();
        assert!(window.try_acquire().is_err());
    });
}

/// One writer, one reader: the reader must never see a mix of the initial quota and the new
/// one. (Meant to catch a Relaxed first `generation` load in the seqlock reader; loom does not
/// reach that interleaving, see the ORDERING comment in `QuotaCell::read`.)
#[test]
fn bucket_quota_single_writer_never_torn() {
    loom::model(|| {
        let (bucket, _clock) = bucket(1);
        let a = Quota::new(1, Duration::from_nanos(20), 2).unwrap();
        let w = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.set_quota(a))
        };
        let seen = bucket.quota();
        assert!(seen == quota(1) || seen == a, "torn quota {seen:?}");
        w.join().unwrap();
    });
}

/// set_quota races a reservation's cancel (issue 4's open model). Nothing else takes tokens, so
/// whichever order they run in: a cancel that reports success gave exactly its one token back
/// (the bucket is full again under the new burst), and one that reports failure kept it (one
/// token in use); never more tokens than the new burst, never a token lost.
#[test]
fn bucket_set_rate_racing_cancel() {
    loom::model(|| {
        let (bucket, _clock) = bucket(2);
        let new = Quota::new(2, Duration::from_nanos(10), 2).unwrap(); // interval 5, burst 2
        let reservation = bucket.reserve(1).unwrap();
        let setter = {
            let bucket = bucket.clone();
            thread::spawn(move || bucket.set_quota(new))
        };
        let cancelled = reservation.cancel();
        setter.join().unwrap();
        let available = bucket.available();
        assert!(available <= 2, "never more than the burst: {available}");
        if cancelled {
            assert_eq!(available, 2, "the cancelled token came back");
        } else {
            assert_eq!(available, 1, "the kept token is still in use");
        }
    });
}
