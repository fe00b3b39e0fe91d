#![cfg(not(loom))]
//! Integration tests of `ringfence::waiting` (the process-wide yield phase limit). One test
//! function on purpose: the setting is process-wide, and tests in one file run in parallel.

use ringfence::channel::{RecvTimeoutError, bounded};
use ringfence::waiting::{self, DEFAULT_YIELD_PHASE_LIMIT};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn the_yield_phase_limit_is_settable_and_never_stretches_a_deadline() {
    assert_eq!(waiting::yield_phase_limit(), DEFAULT_YIELD_PHASE_LIMIT);

    // Saturation: a limit beyond u64::MAX ns is u64::MAX ns, not a panic or a wrap.
    waiting::set_yield_phase_limit(Duration::MAX);
    assert_eq!(waiting::yield_phase_limit(), Duration::from_nanos(u64::MAX));

    // A huge limit: after a short park (which turns the long yield phase on for this thread),
    // a timed receive with nothing coming must still return at its deadline, not yield for the
    // limit. Bounds are generous (the bug would take 10 s).
    waiting::set_yield_phase_limit(Duration::from_secs(10));
    let (tx, rx) = bounded::<u32>(1);
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(1).unwrap();
        tx
    });
    assert_eq!(rx.recv().unwrap(), 1); // parks for about 5 ms: the next waits yield long
    let started = Instant::now();
    assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Err(RecvTimeoutError::Timeout));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(20), "returned before the deadline: {took:?}");
    assert!(took < Duration::from_secs(5), "the yield phase outlasted the deadline: {took:?}");
    drop(sender.join().unwrap());

    // Zero: always park after four yields; values still flow, none lost.
    waiting::set_yield_phase_limit(Duration::ZERO);
    let (tx, rx) = bounded::<u64>(1);
    let producer = thread::spawn(move || (0..20_000u64).for_each(|i| tx.send(i).unwrap()));
    assert_eq!(rx.iter().sum::<u64>(), 20_000 * 19_999 / 2);
    producer.join().unwrap();

    waiting::set_yield_phase_limit(DEFAULT_YIELD_PHASE_LIMIT);
    assert_eq!(waiting::yield_phase_limit(), DEFAULT_YIELD_PHASE_LIMIT);
}
