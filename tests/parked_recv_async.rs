//! The parked receive's async owners (`src/channel/parked_recv.rs`, "An async owner"), raced
//! by threads that share one receiver handle (so the lone-receiver gate still lets a receive
//! park): owners follow one another through the parked slot and its lane (`filled_lane`), while
//! receives are cancelled after a `Pending` or after their wakeup, re-polled with a new waker,
//! or polled spuriously. Every value must arrive exactly once, each thread's in order, and no
//! receive may stay pending unwoken (a lost wakeup). Adapted from the thirty-seventh session's
//! review of the lane.
#![cfg(not(loom))]

mod async_util;

use ringfence::channel::{Receiver, Selector, bounded};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// Far longer than any wakeup can take on a loaded machine: a receive still unwoken after this,
/// with values left in the channel, lost its wakeup.
const LOST_WAKEUP: Duration = Duration::from_secs(60);

/// A waker that sets a flag and unparks its thread.
struct Flag {
    thread: thread::Thread,
    woken: AtomicBool,
}

impl Flag {
    fn new() -> Arc<Flag> {
        Arc::new(Flag { thread: thread::current(), woken: AtomicBool::new(false) })
    }

    fn is_set(&self) -> bool {
        // ORDERING: SeqCst, as the store in `wake`: the waiting thread's view of its flag.
        self.woken.load(Ordering::SeqCst)
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        // ORDERING: SeqCst: read by the waiting thread after its unpark.
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// xorshift64: the moves of each receive, reproducible from the seed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// One receive future, polled until it returns or the seed cancels it: `Some(Ok(value))`,
/// `Some(Err(()))` at disconnection, `None` when cancelled (dropped after a `Pending`).
fn one_receive(rx: &Receiver<u64>, seed: &mut u64) -> Option<Result<u64, ()>> {
    let mut future = rx.recv_async();
    let mut flag = Flag::new();
    let mut waker = Waker::from(Arc::clone(&flag));
    loop {
        match Pin::new(&mut future).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(result) => return Some(result.map_err(drop)),
            Poll::Pending => {}
        }
        match next(seed) % 16 {
            // Cancelled right after a `Pending`.
            0 => return None,
            // Re-polled at once with another waker.
            1 => {
                flag = Flag::new();
                waker = Waker::from(Arc::clone(&flag));
                continue;
            }
            // Polled again without a wakeup.
            2 => {
                thread::yield_now();
                continue;
            }
            _ => {}
        }
        let start = Instant::now();
        while !flag.is_set() {
            thread::park_timeout(Duration::from_millis(100));
            assert!(
                flag.is_set() || start.elapsed() < LOST_WAKEUP || rx.is_empty(),
                "a pending receive was never woken while the channel held {} values",
                rx.len()
            );
        }
        // Cancelled after its wakeup, one time in eight.
        if next(seed) % 8 == 0 {
            return None;
        }
    }
}

/// `receivers` threads share one handle of a channel of `capacity`; a sender sends `0..n`.
fn race_the_parked_slot(capacity: usize, receivers: usize, n: u64, seed: u64) {
    let (tx, rx) = bounded::<u64>(capacity);
    let rx = Arc::new(rx);
    let threads: Vec<_> = (0..receivers as u64)
        .map(|i| {
            let rx = Arc::clone(&rx);
            thread::spawn(move || {
                let mut seed = seed.wrapping_mul(31).wrapping_add(i * 7919 + 1) | 1;
                let mut got = Vec::new();
                loop {
                    match one_receive(&rx, &mut seed) {
                        Some(Ok(value)) => got.push(value),
                        Some(Err(())) => return got,
                        None => {}
                    }
                }
            })
        })
        .collect();
    let sender = thread::spawn(move || {
        let mut seed = seed | 1;
        for value in 0..n {
            tx.send(value).unwrap();
            if next(&mut seed) % 4 == 0 {
                thread::yield_now();
            }
        }
    });
    sender.join().unwrap();
    let mut all = Vec::new();
    for thread in threads {
        let got = thread.join().unwrap();
        assert!(got.windows(2).all(|pair| pair[0] < pair[1]), "one thread's values out of order");
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "capacity {capacity}: a value lost or received twice");
}

#[test]
fn two_threads_racing_the_parked_slot_lose_nothing() {
    for round in 0..8 {
        for capacity in [1, 2, 4] {
            race_the_parked_slot(capacity, 2, 3_000, round * 10 + capacity as u64);
        }
    }
}

#[test]
fn three_threads_racing_the_parked_slot_lose_nothing() {
    // Three threads reach the moment a new owner waits out the previous one's leave of the
    // lane (`Lane::poll_alone`) in about every other run of these rounds (measured with a
    // panic put there).
    for round in 0..20 {
        race_the_parked_slot(1, 3, 3_000, round + 1_000);
    }
}

#[test]
fn a_forgotten_parked_receive_leaves_the_channel_working() {
    let (tx, rx) = bounded::<u64>(1);
    let (_counter, waker) = async_util::counting();
    let mut pending = rx.recv_async();
    assert!(async_util::poll_once(&mut pending, &waker).is_pending());
    // It keeps the parked slot (and its lane) for good; the other receives wait elsewhere.
    std::mem::forget(pending);
    let rx = Arc::new(rx);
    let other = Arc::clone(&rx);
    let receiver = thread::spawn(move || {
        (0..1_000).map(|_| async_util::block_on(other.recv_async()).unwrap()).collect::<Vec<_>>()
    });
    for value in 0..1_000 {
        tx.send(value).unwrap();
    }
    assert_eq!(receiver.join().unwrap(), (0..1_000).collect::<Vec<_>>());
    tx.send(5_000).unwrap();
    assert_eq!(async_util::block_on(rx.recv_async()), Ok(5_000));
}

#[test]
fn an_async_selection_of_two_receives_on_one_channel_beside_another_receiver() {
    let (tx, rx) = bounded::<u64>(1);
    let rx = Arc::new(rx);
    let n = 20_000;
    let sender = thread::spawn(move || {
        for value in 0..n {
            tx.send(value).unwrap();
        }
    });
    let other = Arc::clone(&rx);
    let theirs = thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(value) = async_util::block_on(other.recv_async()) {
            got.push(value);
        }
        got
    });
    let mut mine = Vec::new();
    while let Some(value) =
        async_util::block_on(Selector::new().recv(&*rx, Result::ok).recv(&*rx, Result::ok).wait_async())
    {
        mine.push(value);
    }
    sender.join().unwrap();
    let theirs = theirs.join().unwrap();
    assert!(mine.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(theirs.windows(2).all(|pair| pair[0] < pair[1]));
    mine.extend(theirs);
    mine.sort_unstable();
    assert_eq!(mine, (0..n).collect::<Vec<_>>());
}
