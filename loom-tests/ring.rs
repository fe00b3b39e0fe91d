//! loom models of the lock-free ring (`src/ring.rs`).

use crate::common::{Counted, drop_counter, drops};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;
use ringfence::ring::Ring;

/// Pops everything left, in order.
fn drain(ring: &Ring<usize>) -> Vec<usize> {
    std::iter::from_fn(|| ring.try_pop()).collect()
}

#[test]
fn two_producers_one_consumer() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(2));
        let producers: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let ring = ring.clone();
                thread::spawn(move || ring.try_push(v).unwrap())
            })
            .collect();
        let mut got: Vec<usize> = ring.try_pop().into_iter().collect();
        for p in producers {
            p.join().unwrap();
        }
        got.extend(drain(&ring));
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each value exactly once");
    });
}

#[test]
fn one_producer_two_consumers_keep_fifo() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(2));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = ring.clone();
                thread::spawn(move || ring.try_pop())
            })
            .collect();
        ring.try_push(1).unwrap();
        ring.try_push(2).unwrap();
        let popped: Vec<Option<usize>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        let mut got: Vec<usize> = popped.iter().flatten().copied().collect();
        let rest = drain(&ring);
        // What is left is a suffix of the push order.
        assert!(rest.windows(2).all(|w| w[0] < w[1]));
        if popped.iter().flatten().count() == 1 {
            // A pop always takes the head: a single successful pop took the oldest value.
            assert_eq!(popped.iter().flatten().copied().collect::<Vec<_>>(), [1]);
        }
        got.extend(rest);
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each value exactly once");
    });
}

#[test]
fn capacity_one_wraps_around_in_order() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        let producer = {
            let ring = ring.clone();
            thread::spawn(move || {
                for v in 0..3 {
                    while ring.try_push(v).is_err() {
                        thread::yield_now();
                    }
                }
            })
        };
        let mut got = Vec::new();
        while got.len() < 3 {
            match ring.try_pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(got, [0, 1, 2], "FIFO across laps");
        assert!(ring.is_empty());
    });
}

#[test]
fn full_ring_hands_the_value_back() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(0).unwrap();
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        let pushed = ring.try_push(1);
        let popped = popper.join().unwrap();
        assert_eq!(popped, Some(0), "the ring was never empty");
        // try_push may report Full while the pop is in flight (documented); either way the
        // value is accounted for exactly once.
        let mut all: Vec<usize> = popped.into_iter().collect();
        match pushed {
            Ok(()) => {}
            Err(v) => all.push(v),
        }
        all.extend(drain(&ring));
        all.sort_unstable();
        assert_eq!(all, [0, 1]);
    });
}

#[test]
fn a_pop_that_happens_before_a_push_is_seen() {
    // The promise in the module docs: Full is only reported while a pop is *in flight*; a pop
    // that happens-before try_push always makes room.
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        let popped = Arc::new(AtomicBool::new(false));
        ring.try_push(0).unwrap();
        let popper = {
            let (ring, popped) = (ring.clone(), popped.clone());
            thread::spawn(move || {
                assert_eq!(ring.try_pop(), Some(0));
                popped.store(true, Ordering::Release);
            })
        };
        if popped.load(Ordering::Acquire) {
            assert_eq!(ring.try_push(1), Ok(()), "room made by a completed pop is visible");
        }
        popper.join().unwrap();
    });
}

#[test]
fn a_push_that_happens_before_a_pop_is_seen() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(2));
        let pushed = Arc::new(AtomicBool::new(false));
        let pusher = {
            let (ring, pushed) = (ring.clone(), pushed.clone());
            thread::spawn(move || {
                ring.try_push(7).unwrap();
                pushed.store(true, Ordering::Release);
            })
        };
        if pushed.load(Ordering::Acquire) {
            assert_eq!(ring.try_pop(), Some(7), "a completed push is visible");
        }
        pusher.join().unwrap();
    });
}

#[test]
fn force_push_racing_pop_loses_nothing() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(0).unwrap();
        let popper = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_pop())
        };
        let evicted = ring.force_push(1);
        let popped = popper.join().unwrap();
        let mut all: Vec<usize> = evicted.into_iter().chain(popped).collect();
        all.extend(drain(&ring));
        all.sort_unstable();
        assert_eq!(all, [0, 1], "evicted, popped or left: each value exactly once");
    });
}

#[test]
fn force_push_racing_push_loses_nothing() {
    loom::model(|| {
        let ring = Arc::new(Ring::new(1));
        ring.try_push(0).unwrap();
        let pusher = {
            let ring = ring.clone();
            thread::spawn(move || ring.try_push(2).err())
        };
        let evicted = ring.force_push(1);
        let refused = pusher.join().unwrap();
        let mut all: Vec<usize> = evicted.into_iter().chain(refused).collect();
        all.extend(drain(&ring));
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2]);
    });
}

#[test]
fn drop_with_items_inside_drops_each_once() {
    loom::model(|| {
        let counter = drop_counter();
        let ring = Arc::new(Ring::new(2));
        let pusher = {
            let (ring, counter) = (ring.clone(), counter.clone());
            thread::spawn(move || {
                let _ = ring.try_push(Counted::new(1, &counter));
            })
        };
        let _ = ring.try_push(Counted::new(2, &counter));
        let popped = ring.try_pop();
        pusher.join().unwrap();
        drop(popped);
        drop(ring);
        assert_eq!(drops(&counter), 2, "every value dropped exactly once");
    });
}
