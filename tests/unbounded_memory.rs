#![cfg(not(loom))]
//! The unbounded channel gives memory back after a burst, proven from outside: this test binary
//! installs a global allocator that counts live heap bytes, so it sees every block the channel
//! allocates and frees without any hook in the library. Its own binary with a single test, so
//! that no other test (or the harness starting one) allocates while a measurement runs.

use ringfence::channel::unbounded;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::thread;

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::SeqCst);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE_BYTES.load(Ordering::SeqCst)
}

/// Values in a burst.
const BURST: u64 = 1_000_000;

/// What an idle channel may hold beyond its empty state: its spare blocks (at most 8 KiB, kept
/// for the next senders) and then some; the point is "a constant, not the burst".
const SLACK: isize = 9 * 1_024;

#[test]
fn memory_returns_after_bursts() {
    burst_on_one_thread();
    burst_across_threads();
    burst_drained_by_many_receivers();
}

/// Three bursts of a million values sent and received on the test thread.
fn burst_on_one_thread() {
    let before = live();
    let (tx, rx) = unbounded::<u64>();
    let empty = live() - before;
    assert!(empty > 0 && empty < 2 * 1_024, "an empty channel holds one block: {empty} bytes");
    for round in 0..3 {
        for i in 0..BURST {
            tx.send(i).unwrap();
        }
        let peak = live() - before;
        assert!(peak > (BURST * 8) as isize, "round {round}: the backlog is on the heap ({peak} bytes)");
        for i in 0..BURST {
            assert_eq!(rx.recv(), Ok(i));
        }
        let after = live() - before;
        assert!(
            after <= empty + SLACK,
            "round {round}: {after} bytes held after the burst drained (empty channel: {empty}, peak {peak})"
        );
    }
    drop((tx, rx));
    // Within a few bytes, not exactly: the harness's main thread may allocate meanwhile.
    assert!((live() - before).abs() <= SLACK, "the channel frees everything when it goes");
}

/// Two producer threads fill the channel, a third thread drains it.
fn burst_across_threads() {
    // Warm up: the first spawn allocates some process-wide bookkeeping that stays.
    thread::spawn(|| ()).join().unwrap();
    let before = live();
    let (tx, rx) = unbounded::<u64>();
    let empty = live() - before;
    // Two producers fill the channel (blocks allocated on their threads)...
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut v = p;
                while v < BURST {
                    tx.send(v).unwrap();
                    v += 2;
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    let peak = live() - before;
    assert!(peak > (BURST * 8) as isize, "the backlog is on the heap ({peak} bytes)");
    // ...and a consumer on a third thread drains it (and frees them there).
    let consumer = thread::spawn(move || {
        let mut sum = 0u64;
        for _ in 0..BURST {
            sum = sum.wrapping_add(rx.recv().unwrap());
        }
        (sum, rx)
    });
    let (sum, rx) = consumer.join().unwrap();
    assert_eq!(sum, BURST * (BURST - 1) / 2);
    let after = live() - before;
    assert!(
        after <= empty + SLACK,
        "{after} bytes held after the burst drained (empty {empty}, peak {peak})"
    );
    drop((tx, rx));
    assert!((live() - before).abs() < SLACK, "the channel frees its blocks when it goes");
}

/// Receivers drained in parallel, more threads than cores: a receiver preempted between claiming
/// a slot and reading it leaves its block to a later block crossing (the retired stack,
/// `src/channel/list.rs`), so at most one block per receiver may still be held when the drain
/// ends; all of it goes when the channel does.
fn burst_drained_by_many_receivers() {
    const RECEIVERS: usize = 4;
    /// A block of `u64`s: 31 slots of 16 bytes and two links, rounded up.
    const BLOCK: isize = 512;
    thread::spawn(|| ()).join().unwrap();
    let before = live();
    let (tx, rx) = unbounded::<u64>();
    let empty = live() - before;
    for round in 0..3 {
        for i in 0..BURST {
            tx.send(i).unwrap();
        }
        let peak = live() - before;
        let receivers: Vec<_> = (0..RECEIVERS)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.try_recv() {
                        sum = sum.wrapping_add(v);
                    }
                    sum
                })
            })
            .collect();
        let sum = receivers.into_iter().map(|r| r.join().unwrap()).fold(0u64, u64::wrapping_add);
        assert_eq!(sum, BURST * (BURST - 1) / 2, "round {round}: every value received once");
        let after = live() - before;
        assert!(
            after <= empty + SLACK + RECEIVERS as isize * BLOCK,
            "round {round}: {after} bytes held after the burst drained (empty {empty}, peak {peak})"
        );
    }
    drop((tx, rx));
    assert!((live() - before).abs() < SLACK, "the channel frees its blocks when it goes");
}
