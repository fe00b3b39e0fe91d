//! [`KeyedBucket`]: one token bucket per key (per user, per client address, per API key) in one
//! structure, as governor's keyed rate limiter.
//!
//! # How it is built
//!
//! Each key's bucket is one `AtomicU64`, the GCRA state `E` of [`TokenBucket`](super::TokenBucket),
//! taken with the same step ([`step`]) and the same compare-and-swap; the quota is one for all
//! keys, in the bucket's quota cell (one load on the hot path; [`KeyedBucket::set_quota`]
//! replaces it for every key at once, as the bucket's does). The keys live in a map split into
//! [`SHARDS`] shards, each a `RwLock<HashMap<..>>` on its own cache line: a key seen before costs
//! a read lock of its shard and the bucket's CAS; a new key takes the shard's write lock once to
//! insert a full bucket (state 0, as a new `TokenBucket`'s). The lock guards the map's shape,
//! never a bucket: grants on one key from many threads are the bucket's lock-free CAS under a
//! shared read lock.
//!
//! The user's `Hash` never runs under a lock: a key is hashed once, before its shard is locked,
//! and the map stores that hash beside the key ([`Hashed`]) and rehashes with it alone. (A
//! rehash that called the user's `Hash` and met a panic would drop the keys not yet moved, and
//! with them their buckets' states: a key that had used its burst would get a full one again.
//! A review found it.) The user's `Eq` does run under the lock, while the map is looked up, which
//! a panic leaves unchanged.
//!
//! # Forgetting keys
//!
//! A key's entry is only needed while its bucket is not full: a full bucket behaves exactly as
//! a new one. [`KeyedBucket::retain_recent`] removes the full ones (under each shard's write
//! lock, so no grant is in flight on them), bounding the memory to the keys active within about
//! one burst's refill time (`burst · interval`). A grant reads the clock while it holds its
//! shard's lock, so it never takes a removed key's fresh bucket at a reading older than the
//! removal.
//!
//! "Full" is judged under the quota of the moment: a key forgotten and later asked for again
//! starts as a new key, full under the quota then live. After a [`set_quota`](KeyedBucket::set_quota)
//! that raises the burst (or lengthens the interval) a forgotten key therefore holds the new
//! burst at once, where one still held would hold what its idle time is worth at the new rate.
//!
//! # Waits
//!
//! The blocking and async waits are the bucket's (`changes.rs`): on a real-time clock a waiter
//! sleeps on one change queue for all keys until its ready instant, and `set_quota` wakes every
//! waiter to re-decide under the new quota.

use super::bucket::step;
use super::changes::{self, Changes};
use super::clock::Clock;
use super::error::{AcquireTimeoutError, InsufficientCapacity, QuotaError, RateLimited, TryAcquireError};
use super::quota::{Quota, QuotaCell, tick};
use super::tsc::TscClock;
use crate::sync::atomic::{AtomicU64, Ordering};
use crossbeam_utils::CachePadded;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// The number of shards of the key map (a power of two): enough that threads working on
/// different keys rarely share a shard's lock word.
const SHARDS: usize = 64;

/// A key with its hash, computed once outside the shard's lock; the map hashes it by that hash
/// alone (module docs).
struct Hashed<K> {
    hash: u64,
    key: K,
}

/// What a lookup compares: a stored key ([`Hashed`]) or a probe `(hash, &key)`, so that a key
/// seen before is found without cloning it (std's maps look up by any type the key `Borrow`s
/// as; here a trait object that both sides implement).
trait Probe<K> {
    fn hash(&self) -> u64;
    fn key(&self) -> &K;
}

impl<K> Probe<K> for Hashed<K> {
    fn hash(&self) -> u64 {
        self.hash
    }
    fn key(&self) -> &K {
        &self.key
    }
}

impl<K> Probe<K> for (u64, &K) {
    fn hash(&self) -> u64 {
        self.0
    }
    fn key(&self) -> &K {
        self.1
    }
}

impl<'a, K: 'a> Borrow<dyn Probe<K> + 'a> for Hashed<K> {
    fn borrow(&self) -> &(dyn Probe<K> + 'a) {
        self
    }
}

// `Hash` and `Eq` of `Hashed` and of the probe agree (the `Borrow` contract): the stored hash,
// then the key.
impl<K> Hash for Hashed<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<K: Eq> PartialEq for Hashed<K> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key == other.key
    }
}

impl<K: Eq> Eq for Hashed<K> {}

impl<K> Hash for dyn Probe<K> + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(Probe::hash(self));
    }
}

impl<K: Eq> PartialEq for dyn Probe<K> + '_ {
    fn eq(&self, other: &Self) -> bool {
        Probe::hash(self) == Probe::hash(other) && self.key() == other.key()
    }
}

impl<K: Eq> Eq for dyn Probe<K> + '_ {}

/// The map's hasher: passes the stored hash through (it is already a `RandomState` hash).
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used (`Hashed` writes one `u64`); a fold, to be a hasher all the same.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

type Map<K> = HashMap<Hashed<K>, AtomicU64, BuildHasherDefault<PassThrough>>;

type Shard<K> = CachePadded<RwLock<Map<K>>>;

/// A token bucket per key, all with one quota: governor's keyed `RateLimiter`, with the
/// blocking, timed and async waits of [`TokenBucket`](super::TokenBucket).
///
/// A key seen for the first time starts with a full bucket. Keys are kept until
/// [`retain_recent`](KeyedBucket::retain_recent) removes those whose bucket is full again (call
/// it now and then, as governor's `retain_recent`, to bound the memory).
///
/// Each key's bucket is one `AtomicU64`, taken with the bucket's own GCRA step and CAS; the keys
/// live in a map of 64 shards, each a read-write lock on its own cache line. The lock guards the
/// map's shape, never a bucket: a key seen before costs its shard's read lock and the bucket's
/// CAS, a new key its shard's write lock once. The user's `Hash` runs once per call, before any
/// lock (the map keeps each key's hash), so a panic in it cannot leave a shard half-rehashed.
///
/// # Examples
///
/// ```
/// use ringfence::rate::KeyedBucket;
/// use std::time::Duration;
///
/// // Each client may make 2 calls, then one every 100 ms.
/// let per_client = KeyedBucket::new(10, Duration::from_secs(1), 2);
/// assert!(per_client.try_acquire(&"alice", 1).is_ok());
/// assert!(per_client.try_acquire(&"alice", 1).is_ok());
/// assert!(per_client.try_acquire(&"alice", 1).is_err()); // alice waits
/// assert!(per_client.try_acquire(&"bob", 1).is_ok()); // bob has his own bucket
/// ```
pub struct KeyedBucket<K, C = TscClock, S = RandomState> {
    quota: QuotaCell,
    /// Announced by `set_quota`, which can make tokens available earlier than a waiter
    /// computed (module docs, "Waits").
    changes: Changes,
    shards: Box<[Shard<K>]>,
    /// Hashes the keys (once per call, outside the locks). std's `RandomState` (SipHash) by
    /// default, which resists keys chosen to collide; [`with_hasher`](KeyedBucket::with_hasher)
    /// takes another.
    hasher: S,
    clock: C,
}

impl<K: Hash + Eq + Clone> KeyedBucket<K, TscClock> {
    /// Buckets of `burst` tokens that refill `rate` tokens every `per`, one per key, on the
    /// default clock ([`TscClock`]).
    ///
    /// # Panics
    ///
    /// When the quota is invalid, with the message `invalid token bucket quota: ` followed by
    /// the [`QuotaError`], as [`TokenBucket::new`](super::TokenBucket::new);
    /// [`KeyedBucket::try_new`] returns the error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let per_ip = ringfence::rate::KeyedBucket::<std::net::IpAddr>::new(100, std::time::Duration::from_secs(1), 10);
    /// assert!(per_ip.is_empty());
    /// ```
    #[must_use]
    #[track_caller]
    pub fn new(rate: u32, per: Duration, burst: u32) -> Self {
        match Self::try_new(rate, per, burst) {
            Ok(buckets) => buckets,
            Err(e) => panic!("invalid token bucket quota: {e}"),
        }
    }

    /// Like [`KeyedBucket::new`], returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// The [`QuotaError`] of [`Quota::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, QuotaError};
    /// use std::time::Duration;
    ///
    /// let err = KeyedBucket::<u32>::try_new(1, Duration::ZERO, 1).unwrap_err();
    /// assert_eq!(err, QuotaError::ZeroPeriod);
    /// ```
    pub fn try_new(rate: u32, per: Duration, burst: u32) -> Result<Self, QuotaError> {
        Ok(Self::with_clock(Quota::new(rate, per, burst)?, TscClock::new()))
    }
}

impl<K: Hash + Eq + Clone, C: Clock> KeyedBucket<K, C> {
    /// Buckets with quota `quota`, one per key, reading time from `clock`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, ManualClock, Quota};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// let buckets = KeyedBucket::with_clock(quota, clock.clone());
    /// assert!(buckets.try_acquire(&7u64, 1).is_ok());
    /// assert!(buckets.try_acquire(&7, 1).is_err());
    /// clock.advance(Duration::from_secs(1));
    /// assert!(buckets.try_acquire(&7, 1).is_ok());
    /// ```
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Self::with_hasher(quota, clock, RandomState::new())
    }
}

impl<K: Hash + Eq + Clone, C: Clock, S: BuildHasher> KeyedBucket<K, C, S> {
    /// Buckets with quota `quota`, one per key, reading time from `clock`, hashing the keys with
    /// `hasher`. The default, std's SipHash, resists keys an attacker chose to collide (and so
    /// to make the lookups slow); where the keys are not chosen by an attacker a faster hasher
    /// saves a little on every check (a multiplicative one: 40.7 -> 35.5 ns per check of a `u64`
    /// key on one thread, `benches/rate.rs`).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, Quota, TscClock};
    /// use std::hash::{BuildHasherDefault, DefaultHasher};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// // Any `BuildHasher`: here std's, without the per-map random keys.
    /// let buckets = KeyedBucket::with_hasher(quota, TscClock::new(), BuildHasherDefault::<DefaultHasher>::default());
    /// assert!(buckets.try_acquire(&42u32, 1).is_ok());
    /// assert!(buckets.try_acquire(&42, 1).is_err());
    /// ```
    pub fn with_hasher(quota: Quota, clock: C, hasher: S) -> Self {
        let shards = (0..SHARDS).map(|_| CachePadded::new(RwLock::new(Map::default()))).collect();
        KeyedBucket { quota: QuotaCell::new(quota), changes: Changes::new(), shards, hasher, clock }
    }

    /// The quota of every key's bucket.
    ///
    /// # Examples
    ///
    /// ```
    /// let buckets = ringfence::rate::KeyedBucket::<u8>::new(5, std::time::Duration::from_secs(1), 3);
    /// assert_eq!(buckets.quota().burst(), 3);
    /// ```
    #[must_use]
    pub fn quota(&self) -> Quota {
        self.quota.quota()
    }

    /// Replaces the quota of every key's bucket, live; as
    /// [`TokenBucket::set_quota`](super::TokenBucket::set_quota), key by key.
    ///
    /// Each key's bucket keeps `E` (the instant from which it has been refilling): it continues
    /// *as if the new quota had been in force since it was last drained*. A key whose bucket
    /// has been idle for a whole new tolerance is full; a drained one stays drained and refills
    /// at the new rate; a partly refilled one holds the tokens that time is worth at the new
    /// rate (at most the new burst). A key that [`retain_recent`](KeyedBucket::retain_recent)
    /// forgot (its bucket was full) is a new key: full under the new quota.
    ///
    /// Concurrency: the quota is swapped in one step that acquirers never wait for. An acquire
    /// that *starts after* `set_quota` returns uses the new quota; one that overlaps it is
    /// decided entirely by the old or entirely by the new one (never a mix). Concurrent
    /// `set_quota` calls are serialised (they briefly spin on each other).
    ///
    /// Blocked acquirers (threads and [async](KeyedBucket::acquire_async) ones, of every key)
    /// re-decide under the new quota: they are woken at once, on every clock (a jittered wait
    /// too: its delay is dropped and it re-decides); on a [`ManualClock`](super::ManualClock)
    /// they wait for its advance and the buckets' changes together.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, ManualClock, Quota};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let per_user = KeyedBucket::with_clock(Quota::new(1, Duration::from_secs(1), 2).unwrap(), clock.clone());
    /// per_user.try_acquire(&"ann", 2).unwrap(); // drained
    /// per_user.set_quota(Quota::new(10, Duration::from_secs(1), 2).unwrap());
    /// clock.advance(Duration::from_millis(100)); // refills at the new rate
    /// assert_eq!(per_user.available(&"ann"), 1);
    /// assert_eq!(per_user.available(&"bob"), 2); // a new key: full
    /// ```
    pub fn set_quota(&self, quota: Quota) {
        self.quota.write(quota);
        self.changes.announce();
    }

    /// [`set_quota`](KeyedBucket::set_quota) from its parts.
    ///
    /// # Errors
    ///
    /// The [`QuotaError`] of [`Quota::new`]; the buckets are then unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// let per_user = ringfence::rate::KeyedBucket::<u64>::new(5, std::time::Duration::from_secs(1), 5);
    /// per_user.set_rate(50, std::time::Duration::from_secs(1), 10).unwrap();
    /// assert_eq!(per_user.quota().burst(), 10);
    /// assert!(per_user.set_rate(0, std::time::Duration::from_secs(1), 10).is_err());
    /// ```
    pub fn set_rate(&self, rate: u32, per: Duration, burst: u32) -> Result<(), QuotaError> {
        self.set_quota(Quota::new(rate, per, burst)?);
        Ok(())
    }

    /// The clock the buckets read.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{Clock, KeyedBucket, ManualClock, Quota};
    /// use std::time::Duration;
    ///
    /// let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
    /// let buckets = KeyedBucket::<u8, _>::with_clock(quota, ManualClock::new());
    /// assert_eq!(buckets.clock().now(), 0);
    /// ```
    #[must_use]
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The key's hash (the user's `Hash`, outside any lock) and its shard.
    fn locate(&self, key: &K) -> (u64, &RwLock<Map<K>>) {
        let hash = self.hasher.hash_one(key);
        // The shard from a mix of all the bits (the user's hasher may leave the high ones zero:
        // an identity hash of small integers put every key in one shard; found by review). The
        // map inside the shard gets the hash unmixed, for its slot (low bits) and tag (top seven).
        let mixed = (hash ^ (hash >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let index = (mixed >> (u64::BITS - SHARDS.trailing_zeros())) as usize;
        (hash, &self.shards[index])
    }

    /// Takes `n` tokens from `key`'s bucket if they are available now; never blocks (a new key
    /// takes its shard's write lock once, to insert its bucket).
    ///
    /// # Errors
    ///
    /// As [`TokenBucket::try_acquire`](super::TokenBucket::try_acquire):
    /// [`TryAcquireError::RateLimited`] (with the reading the tokens will be ready at) or
    /// [`TryAcquireError::InsufficientCapacity`] when `n` exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, TryAcquireError};
    /// use std::time::Duration;
    ///
    /// let buckets = KeyedBucket::new(1, Duration::from_secs(60), 2);
    /// assert!(buckets.try_acquire(&"key", 2).is_ok());
    /// match buckets.try_acquire(&"key", 1) {
    ///     Err(TryAcquireError::RateLimited(denied)) => assert!(denied.wait_time() > Duration::from_secs(50)),
    ///     other => panic!("expected a denial, got {other:?}"),
    /// }
    /// assert!(matches!(buckets.try_acquire(&"key", 3), Err(TryAcquireError::InsufficientCapacity(_))));
    /// ```
    pub fn try_acquire(&self, key: &K, n: u32) -> Result<(), TryAcquireError> {
        if n == 0 {
            return Ok(());
        }
        // A request no quota live now can grant is refused before it takes a lock or inserts its
        // key (`take` checks again under the quota it decides with).
        let burst = self.quota.limits().burst;
        if u64::from(n) > burst {
            return Err(InsufficientCapacity { requested: n, burst: burst as u32 }.into());
        }
        let (hash, shard) = self.locate(key);
        {
            let map = read(shard);
            if let Some(state) = map.get(&(hash, key) as &dyn Probe<K>) {
                return self.take(state, n);
            }
        }
        // The first request of this key (or the first since `retain_recent` forgot it). The
        // clone before the lock: the user's code.
        let stored = Hashed { hash, key: key.clone() };
        let mut map = write(shard);
        let state = map.entry(stored).or_insert_with(|| AtomicU64::new(0));
        self.take(state, n)
    }

    /// The GCRA step on one key's state, with its shard's lock held (so the clock is read after
    /// any `retain_recent` that removed the key: module docs).
    fn take(&self, state: &AtomicU64, n: u32) -> Result<(), TryAcquireError> {
        let mut reading = self.clock.now();
        // ORDERING: Relaxed: the word publishes no data; grants are decided by the CAS, which
        // compares with the latest value (as the bucket's, `TokenBucket::try_acquire_with`).
        let mut e = state.load(Ordering::Relaxed);
        // As the bucket's: a denial after a lost CAS re-reads the clock first, so contention
        // never turns into a denial while tokens are available.
        let mut fresh = true;
        loop {
            // Quota after state, as the bucket's: the decision is that of one quota that was live
            // during the attempt.
            let limits = self.quota.limits();
            if u64::from(n) > limits.burst {
                return Err(InsufficientCapacity { requested: n, burst: limits.burst as u32 }.into());
            }
            let new = match step(e, tick(reading), u64::from(n), limits) {
                Some((new, true)) => new,
                _ if !fresh => {
                    reading = self.clock.now();
                    fresh = true;
                    continue;
                }
                Some((ready, false)) => return Err(RateLimited { ready_tick: ready, now: reading }.into()),
                None => return Err(RateLimited { ready_tick: u64::MAX, now: reading }.into()),
            };
            // ORDERING: Relaxed success and failure, as the bucket's CAS: the grants add up by
            // this one location's modification order alone.
            match state.compare_exchange_weak(e, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(current) => {
                    e = current;
                    fresh = false;
                }
            }
        }
    }

    /// Takes `n` tokens from `key`'s bucket, blocking until they are granted (sleeping until
    /// the instant they will be ready, then trying again; waiters are not queued).
    ///
    /// With a [`ManualClock`](super::ManualClock) it sleeps on the clock: it blocks until
    /// another thread advances it far enough. A request that could only fit past the end of the
    /// clock's range waits for a [`set_quota`](KeyedBucket::set_quota) that lets it fit (on any
    /// clock: it waits on the buckets' change queue alone).
    ///
    /// # Errors
    ///
    /// [`InsufficientCapacity`] at once when `n` exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::KeyedBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let buckets = KeyedBucket::new(1, Duration::from_millis(20), 1);
    /// let start = Instant::now();
    /// buckets.acquire(&1u8, 1).unwrap();
    /// buckets.acquire(&1, 1).unwrap(); // waits for the refill
    /// assert!(start.elapsed() >= Duration::from_millis(15));
    /// buckets.acquire(&2, 1).unwrap(); // another key: at once
    /// ```
    pub fn acquire(&self, key: &K, n: u32) -> Result<(), InsufficientCapacity> {
        loop {
            match self.acquire_until(key, n, None) {
                Ok(()) => return Ok(()),
                Err(AcquireTimeoutError::InsufficientCapacity(e)) => return Err(e),
                Err(AcquireTimeoutError::Timeout) => {} // no deadline: not reached
            }
        }
    }

    /// [`acquire`](KeyedBucket::acquire), waiting at most `timeout` (a timeout too large to
    /// represent waits as long as it takes).
    ///
    /// # Errors
    ///
    /// [`AcquireTimeoutError::Timeout`] when the tokens are not granted in time (at once when a
    /// real-time clock says they cannot be ready by then);
    /// [`AcquireTimeoutError::InsufficientCapacity`] when `n` exceeds the burst.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::KeyedBucket;
    /// use std::time::Duration;
    ///
    /// let buckets = KeyedBucket::new(1, Duration::from_secs(60), 1);
    /// assert!(buckets.acquire_timeout(&'k', 1, Duration::from_millis(5)).is_ok());
    /// assert!(buckets.acquire_timeout(&'k', 1, Duration::from_millis(5)).is_err()); // a minute away
    /// ```
    pub fn acquire_timeout(&self, key: &K, n: u32, timeout: Duration) -> Result<(), AcquireTimeoutError> {
        match crate::wait::deadline_after(timeout) {
            Some(deadline) => self.acquire_until(key, n, Some(deadline)),
            None => self.acquire(key, n).map_err(Into::into),
        }
    }

    /// [`acquire`](KeyedBucket::acquire), waiting until `deadline` at most (a deadline already
    /// past still takes tokens that are available).
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](KeyedBucket::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::KeyedBucket;
    /// use std::time::{Duration, Instant};
    ///
    /// let buckets = KeyedBucket::new(1, Duration::from_secs(60), 1);
    /// assert!(buckets.acquire_deadline(&0u8, 1, Instant::now()).is_ok()); // available: taken
    /// assert!(buckets.acquire_deadline(&0, 1, Instant::now()).is_err());
    /// ```
    pub fn acquire_deadline(&self, key: &K, n: u32, deadline: Instant) -> Result<(), AcquireTimeoutError> {
        self.acquire_until(key, n, Some(deadline))
    }

    fn acquire_until(&self, key: &K, n: u32, deadline: Option<Instant>) -> Result<(), AcquireTimeoutError> {
        changes::acquire_until(&self.clock, &self.changes, deadline, || self.try_acquire(key, n))
    }

    /// The tokens `key`'s bucket holds now (the burst for a key it does not hold).
    ///
    /// # Examples
    ///
    /// ```
    /// let buckets = ringfence::rate::KeyedBucket::new(1, std::time::Duration::from_secs(60), 5);
    /// buckets.try_acquire(&"a", 2).unwrap();
    /// assert_eq!(buckets.available(&"a"), 3);
    /// assert_eq!(buckets.available(&"b"), 5);
    /// ```
    #[must_use]
    pub fn available(&self, key: &K) -> u32 {
        let (hash, shard) = self.locate(key);
        let map = read(shard);
        // ORDERING: Relaxed: a snapshot (the word publishes no data).
        let e = map.get(&(hash, key) as &dyn Probe<K>).map_or(0, |state| state.load(Ordering::Relaxed));
        let t = tick(self.clock.now());
        let limits = self.quota.limits();
        let base = e.max(t - limits.tau());
        // `t - base <= tau = burst * interval`: the quotient is at most the burst.
        (t.saturating_sub(base) / limits.interval) as u32
    }

    /// Forgets every key whose bucket is full (it behaves as a new key's would), and returns
    /// how many keys are left. Call it now and then to bound the memory (governor's
    /// `retain_recent`); it takes each shard's write lock in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::rate::{KeyedBucket, ManualClock, Quota};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let buckets = KeyedBucket::with_clock(Quota::new(1, Duration::from_secs(1), 1).unwrap(), clock.clone());
    /// buckets.try_acquire(&"idle", 1).unwrap();
    /// clock.advance(Duration::from_millis(500));
    /// buckets.try_acquire(&"busy", 1).unwrap();
    /// clock.advance(Duration::from_millis(500)); // "idle" is full again, "busy" not yet
    /// assert_eq!(buckets.retain_recent(), 1);
    /// assert_eq!(buckets.len(), 1);
    /// ```
    pub fn retain_recent(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut map = write(shard);
                // Read under the lock, as a grant reads it (module docs, "Forgetting keys"). The
                // quota too: a shard's keys are judged by one quota that was live meanwhile.
                let t = tick(self.clock.now());
                let tau = self.quota.limits().tau();
                // ORDERING: Relaxed: the write lock excludes every grant on this shard.
                map.retain(|_, state| state.load(Ordering::Relaxed) > t - tau);
                map.len()
            })
            .sum()
    }

    /// The number of keys held (each with a bucket that is not known to be full).
    ///
    /// # Examples
    ///
    /// ```
    /// let buckets = ringfence::rate::KeyedBucket::new(1, std::time::Duration::from_secs(1), 1);
    /// buckets.try_acquire(&1, 1).unwrap();
    /// buckets.try_acquire(&2, 1).unwrap();
    /// assert_eq!(buckets.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| read(shard).len()).sum()
    }

    /// `true` when no key is held.
    ///
    /// # Examples
    ///
    /// ```
    /// let buckets = ringfence::rate::KeyedBucket::<u8>::new(1, std::time::Duration::from_secs(1), 1);
    /// assert!(buckets.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| read(shard).is_empty())
    }
}

impl<K, C, S> KeyedBucket<K, C, S> {
    /// The change queue its waiters sleep on (module docs, "Waits"), for its async acquires
    /// (whose drop needs it, with no bounds on the key).
    pub(super) fn changes(&self) -> &Changes {
        &self.changes
    }
}

/// A shard's read lock. The only user code run under these locks is `Eq`, during lookups (and
/// the keys' `Drop` in `retain_recent`), and a panic there leaves the map as it was (the
/// module docs say why `Hash` never runs under them), so a poisoned lock is still consistent.
fn read<K>(shard: &RwLock<Map<K>>) -> RwLockReadGuard<'_, Map<K>> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

/// A shard's write lock (see [`read`]).
fn write<K>(shard: &RwLock<Map<K>>) -> RwLockWriteGuard<'_, Map<K>> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

impl<K, C, S> fmt::Debug for KeyedBucket<K, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: usize =
            self.shards.iter().map(|shard| shard.read().unwrap_or_else(PoisonError::into_inner).len()).sum();
        f.debug_struct("KeyedBucket")
            .field("quota", &self.quota.quota())
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A hasher that passes an integer key through (as `nohash-hasher`): small keys have zero
    /// high bits.
    #[derive(Default)]
    struct Identity(u64);

    impl Hasher for Identity {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, _: &[u8]) {
            unreachable!("integer keys only")
        }
        fn write_u64(&mut self, n: u64) {
            self.0 = n;
        }
    }

    /// The shard index mixes every bit of the hash: an identity hash of small integers used to
    /// put every key in shard 0 (one lock for all of them).
    #[test]
    fn small_integer_keys_under_an_identity_hash_spread_over_the_shards() {
        let quota = Quota::new(1, Duration::from_secs(1), 1).unwrap();
        let buckets =
            KeyedBucket::with_hasher(quota, TscClock::new(), BuildHasherDefault::<Identity>::default());
        let shards: HashSet<*const RwLock<Map<u64>>> =
            (0..1000u64).map(|key| std::ptr::from_ref(buckets.locate(&key).1)).collect();
        assert!(shards.len() >= SHARDS * 3 / 4, "1000 keys over {} shards only", shards.len());
    }
}
