#![cfg(not(loom))]
//! Integration tests for `ringfence::ring::Ring`: construction, single-thread semantics, drops,
//! and multi-thread counting (every value exactly once, per-producer FIFO).

mod common;

use common::{DropCounter, Tracked, WATCHDOG, within};
use ringfence::ring::{CapacityError, MAX_CAPACITY, Ring};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

/// Values per producer in the multi-thread tests (smaller in debug builds).
const PER_PRODUCER: u64 = if cfg!(debug_assertions) { 20_000 } else { 200_000 };

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

#[test]
fn smoke_push_then_pop() {
    let ring = Ring::new(4);
    assert_eq!(ring.try_push(7), Ok(()));
    assert_eq!(ring.try_pop(), Some(7));
    assert_eq!(ring.try_pop(), None);
}

#[test]
fn capacity_is_what_was_asked_for() {
    for capacity in [1, 2, 3, 4, 5, 7, 8, 9, 100, 1024, 1025] {
        assert_eq!(Ring::<u8>::new(capacity).capacity(), capacity);
    }
}

#[test]
fn len_is_empty_is_full_track_the_contents() {
    for capacity in 1..=9 {
        let ring = Ring::new(capacity);
        assert_eq!(ring.len(), 0);
        assert!(ring.is_empty());
        assert!(!ring.is_full());
        for i in 0..capacity {
            ring.try_push(i).unwrap();
            assert_eq!(ring.len(), i + 1);
            assert!(!ring.is_empty());
            assert_eq!(ring.is_full(), i + 1 == capacity);
        }
        assert_eq!(ring.try_push(99), Err(99));
        assert_eq!(ring.len(), capacity);
        for i in 0..capacity {
            assert_eq!(ring.try_pop(), Some(i));
            assert_eq!(ring.len(), capacity - i - 1);
            assert!(!ring.is_full());
        }
        assert!(ring.is_empty());
    }
}

#[test]
fn try_new_rejects_zero() {
    assert_eq!(Ring::<u32>::try_new(0).err(), Some(CapacityError::Zero));
}

#[test]
fn try_new_rejects_usize_max() {
    assert_eq!(
        Ring::<u8>::try_new(usize::MAX).err(),
        Some(CapacityError::TooLarge { requested: usize::MAX, max: MAX_CAPACITY })
    );
}

#[test]
fn try_new_rejects_one_above_max_capacity() {
    let error = Ring::<u8>::try_new(MAX_CAPACITY + 1).err();
    assert_eq!(error, Some(CapacityError::TooLarge { requested: MAX_CAPACITY + 1, max: MAX_CAPACITY }));
    assert_eq!(error.unwrap().to_string(), "capacity 2147483648 exceeds the maximum of 2147483647");
    assert_eq!(
        Ring::<()>::try_new(MAX_CAPACITY + 1).err(),
        Some(CapacityError::TooLarge { requested: MAX_CAPACITY + 1, max: MAX_CAPACITY })
    );
}

#[test]
fn max_capacity_is_the_documented_value() {
    assert_eq!(MAX_CAPACITY, (1 << 31) - 1);
}

/// 1 TiB per element: the memory bound, not `MAX_CAPACITY`, limits the capacity.
#[cfg(target_pointer_width = "64")]
type Huge = [u8; 1 << 40];

/// A capacity within both limits (`MAX_CAPACITY` and `isize::MAX` bytes) whose slots no
/// allocator can provide: 2^22 slots of 1 TiB are 4 EiB (2^62 bytes), beyond every 64-bit
/// address space (user space is at most 2^56 bytes on x86-64, 2^52 on AArch64). So the
/// allocation fails whatever `vm.overcommit_memory` says. (A few TiB, by contrast, may be
/// granted lazily with overcommit on, and a debug build then overflows the stack building the
/// 1 TiB slots.)
#[cfg(target_pointer_width = "64")]
const UNMAPPABLE: usize = 1 << 22;

#[cfg(target_pointer_width = "64")]
#[test]
fn try_new_reports_an_allocation_failure_instead_of_aborting() {
    // The capacity passes the size checks (or the error would be `TooLarge`): it is the
    // allocator that says no.
    match Ring::<Huge>::try_new(UNMAPPABLE) {
        Err(error) => {
            assert_eq!(error, CapacityError::OutOfMemory { requested: UNMAPPABLE });
            assert_eq!(
                error.to_string(),
                "capacity 4194304 needs more memory than the allocator could provide"
            );
        }
        Ok(_) => panic!("4 EiB were allocated"),
    }
}

#[cfg(target_pointer_width = "64")]
#[test]
fn new_panics_with_the_documented_message_when_the_allocation_fails() {
    assert_eq!(
        panic_message(|| drop(Ring::<Huge>::new(UNMAPPABLE))),
        "ring capacity 4194304 needs more memory than the allocator could provide"
    );
}

#[cfg(target_pointer_width = "64")]
#[test]
fn try_new_rejects_a_capacity_whose_slots_do_not_fit_in_memory() {
    let requested = 1 << 24;
    match Ring::<Huge>::try_new(requested) {
        Err(CapacityError::TooLarge { requested: r, max }) => {
            assert_eq!(r, requested);
            assert!(max < requested);
            assert!(max <= isize::MAX as usize / std::mem::size_of::<Huge>());
            assert!(max >= 1, "one huge element still fits the address space");
        }
        Err(other) => panic!("expected TooLarge, got {other:?}"),
        Ok(_) => panic!("a ring of 2^24 TiB elements was created"),
    }
}

#[test]
#[should_panic(expected = "ring capacity must be at least 1")]
fn new_panics_on_zero() {
    let _ = Ring::<u8>::new(0);
}

#[cfg(target_pointer_width = "64")]
#[test]
#[should_panic(expected = "ring capacity 2147483648 exceeds the maximum of 2147483647")]
fn new_panics_above_max_capacity() {
    let _ = Ring::<u8>::new(MAX_CAPACITY + 1);
}

/// The panic message is exactly the documented one (not just containing it).
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast::<&str>().map(|s| s.to_string()).expect("a string payload"),
    }
}

#[test]
fn new_panic_messages_are_exact() {
    assert_eq!(panic_message(|| drop(Ring::<u8>::new(0))), "ring capacity must be at least 1");
    assert_eq!(
        panic_message(|| drop(Ring::<u8>::new(usize::MAX))),
        format!("ring capacity {} exceeds the maximum of {MAX_CAPACITY}", usize::MAX)
    );
}

#[test]
fn capacity_error_display_and_error_impl() {
    assert_eq!(CapacityError::Zero.to_string(), "capacity must be at least 1");
    let too_large = CapacityError::TooLarge { requested: 10, max: 5 };
    assert_eq!(too_large.to_string(), "capacity 10 exceeds the maximum of 5");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(too_large);
    assert!(boxed.source().is_none());
}

#[test]
fn debug_shows_len_and_capacity() {
    let ring = Ring::new(3);
    ring.try_push(1).unwrap();
    assert_eq!(format!("{ring:?}"), "Ring { len: 1, capacity: 3 }");
}

#[test]
fn debug_does_not_need_t_debug() {
    let counter = DropCounter::new();
    let ring = Ring::new(1);
    assert!(ring.try_push(counter.make(0)).is_ok());
    assert!(format!("{ring:?}").contains("capacity: 1"));
}

// ---------------------------------------------------------------------------------------------
// Single-thread semantics
// ---------------------------------------------------------------------------------------------

#[test]
fn full_ring_hands_the_value_back() {
    let ring = Ring::new(2);
    ring.try_push("a").unwrap();
    ring.try_push("b").unwrap();
    assert_eq!(ring.try_push("c"), Err("c"));
    assert_eq!(ring.try_pop(), Some("a"));
    assert_eq!(ring.try_push("c"), Ok(()));
    assert_eq!(ring.try_pop(), Some("b"));
    assert_eq!(ring.try_pop(), Some("c"));
}

#[test]
fn force_push_with_room_returns_none() {
    let ring = Ring::new(3);
    assert_eq!(ring.force_push(1), None);
    assert_eq!(ring.force_push(2), None);
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.try_pop(), Some(1));
    assert_eq!(ring.try_pop(), Some(2));
}

#[test]
fn force_push_on_full_returns_the_oldest_and_keeps_order() {
    for capacity in 1..=6usize {
        let ring = Ring::new(capacity);
        for i in 0..capacity {
            assert_eq!(ring.force_push(i), None);
        }
        // Every further force_push evicts the oldest, so the ring always holds the newest
        // `capacity` values in push order.
        for i in capacity..capacity * 5 + 3 {
            assert_eq!(ring.force_push(i), Some(i - capacity), "capacity {capacity}");
            assert!(ring.is_full());
            assert_eq!(ring.len(), capacity);
        }
        let last = capacity * 5 + 3;
        let rest: Vec<_> = std::iter::from_fn(|| ring.try_pop()).collect();
        assert_eq!(rest, (last - capacity..last).collect::<Vec<_>>(), "capacity {capacity}");
    }
}

#[test]
fn force_push_then_try_push_and_pop_mix() {
    let ring = Ring::new(2);
    ring.try_push(1).unwrap();
    ring.try_push(2).unwrap();
    assert_eq!(ring.force_push(3), Some(1));
    assert_eq!(ring.try_push(4), Err(4));
    assert_eq!(ring.try_pop(), Some(2));
    assert_eq!(ring.try_push(4), Ok(()));
    assert_eq!(ring.force_push(5), Some(3));
    assert_eq!(ring.try_pop(), Some(4));
    assert_eq!(ring.try_pop(), Some(5));
    assert_eq!(ring.try_pop(), None);
}

#[test]
fn wraparound_over_many_laps() {
    // 1, 2, 3 and other non-powers of two exercise the lap/index encoding at both boundaries.
    for capacity in [1usize, 2, 3, 5, 6, 7] {
        let ring = Ring::new(capacity);
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        for round in 0..2_000usize {
            // Vary the fill level so every index is both the head and the tail many times.
            let fill = 1 + round % capacity;
            for _ in 0..fill {
                ring.try_push(next_in).unwrap();
                next_in += 1;
            }
            assert_eq!(ring.len(), fill);
            for _ in 0..fill {
                assert_eq!(ring.try_pop(), Some(next_out), "capacity {capacity}");
                next_out += 1;
            }
            assert!(ring.is_empty());
            assert_eq!(ring.try_pop(), None);
        }
    }
}

#[test]
fn wraparound_staying_full_over_many_laps() {
    for capacity in [1usize, 2, 3] {
        let ring = Ring::new(capacity);
        for i in 0..capacity as u64 {
            ring.try_push(i).unwrap();
        }
        for i in capacity as u64..10_000 {
            assert_eq!(ring.try_push(i), Err(i));
            assert_eq!(ring.try_pop(), Some(i - capacity as u64));
            ring.try_push(i).unwrap();
            assert!(ring.is_full());
        }
    }
}

#[test]
fn zero_sized_values() {
    let ring = Ring::new(3);
    for _ in 0..3 {
        ring.try_push(()).unwrap();
    }
    assert!(ring.is_full());
    assert_eq!(ring.try_push(()), Err(()));
    assert_eq!(ring.force_push(()), Some(()));
    for _ in 0..3 {
        assert_eq!(ring.try_pop(), Some(()));
    }
    assert_eq!(ring.try_pop(), None);
}

static ZST_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Zero-sized, but with a `Drop`: the ring must still drop each one exactly once.
struct ZstWithDrop;

impl Drop for ZstWithDrop {
    fn drop(&mut self) {
        ZST_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn zero_sized_values_with_drop_are_dropped_once() {
    let ring = Ring::new(4);
    for _ in 0..4 {
        assert!(ring.try_push(ZstWithDrop).is_ok());
    }
    drop(ring.try_pop());
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 1);
    drop(ring);
    assert_eq!(ZST_DROPS.load(Ordering::SeqCst), 4);
}

// ---------------------------------------------------------------------------------------------
// Drops
// ---------------------------------------------------------------------------------------------

#[test]
fn leftovers_are_dropped_exactly_once() {
    for capacity in 1..=5usize {
        for left in 0..=capacity {
            let counter = DropCounter::new();
            let ring = Ring::new(capacity);
            // Go around a few laps first so the leftovers straddle the wrap point.
            for i in 0..(capacity * 3 + 1) as u64 {
                assert!(ring.try_push(counter.make(i)).is_ok());
                drop(ring.try_pop().expect("just pushed"));
            }
            for i in 0..left as u64 {
                assert!(ring.try_push(counter.make(i)).is_ok());
            }
            assert_eq!(counter.live(), left);
            drop(ring);
            assert_eq!(counter.live(), 0, "capacity {capacity}, left {left}");
            assert_eq!(counter.dropped(), counter.created());
        }
    }
}

#[test]
fn rejected_and_evicted_values_belong_to_the_caller() {
    let counter = DropCounter::new();
    let ring = Ring::new(1);
    assert!(ring.try_push(counter.make(1)).is_ok());
    let rejected = ring.try_push(counter.make(2)).expect_err("full");
    assert_eq!(rejected.id, 2);
    assert_eq!(counter.live(), 2);
    let evicted = ring.force_push(rejected).expect("full: evicts the oldest");
    assert_eq!(evicted.id, 1);
    assert_eq!(counter.live(), 2);
    drop(evicted);
    assert_eq!(counter.live(), 1);
    drop(ring);
    assert_eq!(counter.live(), 0);
    assert_eq!(counter.dropped(), 2);
}

static PANICKY_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Panics in `drop` when `bomb` is set; counts every drop.
struct Panicky {
    bomb: bool,
}

impl Drop for Panicky {
    fn drop(&mut self) {
        PANICKY_DROPS.fetch_add(1, Ordering::SeqCst);
        if self.bomb {
            panic!("boom");
        }
    }
}

/// `Vec` and `VecDeque` keep dropping the remaining elements when one element's `Drop` panics;
/// a ring should not leak the rest either.
#[test]
fn a_panicking_drop_does_not_leak_the_other_values() {
    let ring = Ring::new(4);
    for bomb in [false, true, false, false] {
        assert!(ring.try_push(Panicky { bomb }).is_ok());
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(ring)));
    assert!(result.is_err());
    assert_eq!(PANICKY_DROPS.load(Ordering::SeqCst), 4, "values left in the ring were leaked");
}

// ---------------------------------------------------------------------------------------------
// Send / Sync
// ---------------------------------------------------------------------------------------------

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn ring_is_send_and_sync_when_t_is_send() {
    assert_send_sync::<Ring<i32>>();
    assert_send_sync::<Ring<String>>();
    // `Cell` is `Send` but not `Sync`; the ring never hands out `&T`, so it may be `Sync`.
    assert_send_sync::<Ring<std::cell::Cell<i32>>>();
    assert_send_sync::<CapacityError>();
}

/// Compile-time check that `Ring<Rc<_>>` is neither `Send` nor `Sync` (the trick behind
/// `static_assertions::assert_not_impl_any!`: the method is ambiguous exactly when the bound
/// holds, so this compiles only when it does not).
#[test]
fn ring_is_not_send_or_sync_when_t_is_not_send() {
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

    <Ring<std::rc::Rc<i32>> as AmbiguousIfSend<_>>::check();
    <Ring<std::rc::Rc<i32>> as AmbiguousIfSync<_>>::check();
}

// ---------------------------------------------------------------------------------------------
// Multi-thread
// ---------------------------------------------------------------------------------------------

/// A value that says who pushed it and in which order.
fn encode(producer: u64, seq: u64) -> u64 {
    producer << 40 | seq
}

fn decode(value: u64) -> (usize, u64) {
    ((value >> 40) as usize, value & ((1 << 40) - 1))
}

#[test]
fn spsc_delivers_every_value_in_order() {
    within(WATCHDOG, || {
        for capacity in [1usize, 2, 3, 64] {
            let ring = Arc::new(Ring::new(capacity));
            let producer = {
                let ring = Arc::clone(&ring);
                thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        let mut value = i;
                        while let Err(back) = ring.try_push(value) {
                            value = back;
                            thread::yield_now();
                        }
                    }
                })
            };
            let mut expected = 0;
            while expected < PER_PRODUCER {
                match ring.try_pop() {
                    Some(value) => {
                        assert_eq!(value, expected, "capacity {capacity}");
                        expected += 1;
                    }
                    None => thread::yield_now(),
                }
            }
            producer.join().unwrap();
            assert_eq!(ring.try_pop(), None);
        }
    });
}

/// `producers` threads push `PER_PRODUCER` values each, `consumers` pop until all are seen; each
/// value is popped exactly once and each consumer sees each producer's values in push order.
fn mpmc_counting(capacity: usize, producers: usize, consumers: usize) {
    let ring = Arc::new(Ring::new(capacity));
    let popped = Arc::new(AtomicUsize::new(0));
    let total = producers * PER_PRODUCER as usize;
    let start = Arc::new(Barrier::new(producers + consumers));
    let producer_handles: Vec<_> = (0..producers as u64)
        .map(|p| {
            let (ring, start) = (Arc::clone(&ring), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for seq in 0..PER_PRODUCER {
                    let mut value = encode(p, seq);
                    while let Err(back) = ring.try_push(value) {
                        value = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let consumer_handles: Vec<_> = (0..consumers)
        .map(|_| {
            let (ring, popped, start) = (Arc::clone(&ring), Arc::clone(&popped), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let mut seen = Vec::new();
                let mut last_seq = vec![None::<u64>; producers];
                while popped.load(Ordering::Relaxed) < total {
                    match ring.try_pop() {
                        Some(value) => {
                            popped.fetch_add(1, Ordering::Relaxed);
                            let (p, seq) = decode(value);
                            if let Some(last) = last_seq[p] {
                                assert!(seq > last, "producer {p}: {seq} popped after {last}");
                            }
                            last_seq[p] = Some(seq);
                            seen.push(value);
                        }
                        None => thread::yield_now(),
                    }
                }
                seen
            })
        })
        .collect();
    for handle in producer_handles {
        handle.join().unwrap();
    }
    let mut all = HashSet::with_capacity(total);
    for handle in consumer_handles {
        for value in handle.join().unwrap() {
            assert!(all.insert(value), "value {value:#x} popped twice");
        }
    }
    assert_eq!(all.len(), total);
    assert_eq!(ring.try_pop(), None);
}

#[test]
fn mpmc_counting_2_by_2() {
    within(WATCHDOG, || {
        for capacity in [1, 2, 3, 128] {
            mpmc_counting(capacity, 2, 2);
        }
    });
}

#[test]
fn mpmc_counting_oversubscribed() {
    within(WATCHDOG, || {
        mpmc_counting(4, 4, 4);
        mpmc_counting(1, 3, 1);
        mpmc_counting(2, 1, 3);
    });
}

/// Every value given to the ring is accounted for exactly once: popped by a consumer, handed
/// back by `try_push`, evicted by `force_push`, or still inside when the ring drops.
fn force_push_accounting(capacity: usize, forcers: usize, pushers: usize, poppers: usize) {
    let counter = DropCounter::new();
    let ring = Arc::new(Ring::new(capacity));
    let done = Arc::new(AtomicBool::new(false));
    let per_thread = PER_PRODUCER / 2;
    let producers: Vec<_> = (0..(forcers + pushers) as u64)
        .map(|p| {
            let (ring, counter) = (Arc::clone(&ring), counter.clone());
            let forcing = (p as usize) < forcers;
            thread::spawn(move || {
                let mut handed_back = Vec::new();
                for seq in 0..per_thread {
                    let value = counter.make(encode(p, seq));
                    let back = if forcing { ring.force_push(value) } else { ring.try_push(value).err() };
                    if let Some(back) = back {
                        handed_back.push(back.into_id());
                    }
                }
                handed_back
            })
        })
        .collect();
    let consumers: Vec<_> = (0..poppers)
        .map(|_| {
            let (ring, done) = (Arc::clone(&ring), Arc::clone(&done));
            thread::spawn(move || {
                let mut popped = Vec::new();
                let mut last_seq = Vec::<Option<u64>>::new();
                loop {
                    match ring.try_pop() {
                        Some(value) => {
                            let (p, seq) = decode(value.id);
                            if last_seq.len() <= p {
                                last_seq.resize(p + 1, None);
                            }
                            if let Some(last) = last_seq[p] {
                                assert!(seq > last, "producer {p}: {seq} popped after {last}");
                            }
                            last_seq[p] = Some(seq);
                            popped.push(value.into_id());
                        }
                        None if done.load(Ordering::Acquire) => break,
                        None => thread::yield_now(),
                    }
                }
                popped
            })
        })
        .collect();
    let mut ids = Vec::new();
    for handle in producers {
        ids.extend(handle.join().unwrap());
    }
    done.store(true, Ordering::Release);
    for handle in consumers {
        ids.extend(handle.join().unwrap());
    }
    let left = ring.len();
    assert!(left <= capacity);
    let ring = Arc::try_unwrap(ring).unwrap_or_else(|_| panic!("all threads joined"));
    // With no consumers the ring is full at the end; with consumers it is empty.
    let left_ids: Vec<u64> = std::iter::from_fn(|| ring.try_pop()).map(Tracked::into_id).collect();
    assert_eq!(left_ids.len(), left);
    ids.extend(left_ids);
    drop(ring);

    let total = (forcers + pushers) * per_thread as usize;
    assert_eq!(counter.created(), total);
    assert_eq!(counter.dropped(), total, "a value was leaked or dropped twice");
    assert_eq!(ids.len(), total, "a value was lost or duplicated");
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), total, "a value was duplicated");
}

#[test]
fn force_push_racing_pops_and_pushes_loses_and_duplicates_nothing() {
    within(WATCHDOG, || {
        for capacity in [1, 2, 3, 16] {
            force_push_accounting(capacity, 2, 1, 2);
        }
    });
}

#[test]
fn force_push_only_producers_racing_each_other() {
    within(WATCHDOG, || {
        for capacity in [1, 2, 3] {
            force_push_accounting(capacity, 3, 0, 0);
            force_push_accounting(capacity, 2, 0, 1);
        }
    });
}

#[test]
fn leftovers_after_concurrent_use_are_dropped_once() {
    within(WATCHDOG, || {
        let counter = DropCounter::new();
        let ring = Arc::new(Ring::new(7));
        let handles: Vec<_> = (0..4u64)
            .map(|p| {
                let (ring, counter) = (Arc::clone(&ring), counter.clone());
                thread::spawn(move || {
                    for seq in 0..5_000 {
                        // Producers push; every third operation pops and drops one.
                        drop(ring.try_push(counter.make(encode(p, seq))));
                        if seq % 3 == 0 {
                            drop(ring.try_pop());
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let left = ring.len();
        assert_eq!(counter.live(), left);
        drop(ring);
        assert_eq!(counter.live(), 0);
    });
}

/// `len` is always between 0 and the capacity, even while pushes, pops and force pushes race.
#[test]
fn len_stays_within_bounds_under_contention() {
    within(WATCHDOG, || {
        let ring = Arc::new(Ring::new(3));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let (ring, stop) = (Arc::clone(&ring), Arc::clone(&stop));
                thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        match (w + i) % 3 {
                            0 => drop(ring.try_push(i)),
                            1 => drop(ring.force_push(i)),
                            _ => drop(ring.try_pop()),
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        for _ in 0..200_000 {
            let len = ring.len();
            assert!(len <= 3, "len {len} above capacity 3");
        }
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

/// A push that happens before a pop (through a synchronising handoff) is always seen: the
/// pop does not report empty.
#[test]
fn a_push_that_happens_before_a_pop_is_seen() {
    within(WATCHDOG, || {
        let ring = Arc::new(Ring::new(2));
        let (signal_tx, signal_rx) = std::sync::mpsc::sync_channel::<()>(0);
        let (ack_tx, ack_rx) = std::sync::mpsc::sync_channel::<()>(0);
        let pusher = {
            let ring = Arc::clone(&ring);
            thread::spawn(move || {
                for i in 0..2_000u64 {
                    ring.try_push(i).unwrap();
                    signal_tx.send(()).unwrap();
                    ack_rx.recv().unwrap();
                }
            })
        };
        for i in 0..2_000u64 {
            signal_rx.recv().unwrap();
            assert_eq!(ring.try_pop(), Some(i));
            ack_tx.send(()).unwrap();
        }
        pusher.join().unwrap();
    });
}

/// `IntoIterator`: the values oldest first, across the wrap of the slots; the ones not taken are
/// dropped with the iterator, each once.
#[test]
fn into_iter_yields_oldest_first_and_drops_the_rest_once() {
    let counter = DropCounter::new();
    let ring = Ring::new(3);
    for id in 0..3 {
        assert!(ring.try_push(counter.make(id)).is_ok());
    }
    let _ = ring.try_pop().map(Tracked::into_id); // the head moves: the values wrap
    assert!(ring.try_push(counter.make(3)).is_ok());
    let mut values = ring.into_iter();
    assert_eq!(values.len(), 3);
    assert_eq!(values.next().map(Tracked::into_id), Some(1));
    assert_eq!(values.size_hint(), (2, Some(2)));
    assert_eq!(counter.live(), 2);
    drop(values);
    assert_eq!(counter.live(), 0);
    assert_eq!(counter.dropped(), 4);
    let all: Vec<u64> = {
        let ring = Ring::new(4);
        for id in 10..14 {
            assert!(ring.try_push(counter.make(id)).is_ok());
        }
        ring.into_iter().map(Tracked::into_id).collect()
    };
    assert_eq!(all, [10, 11, 12, 13]);
}
