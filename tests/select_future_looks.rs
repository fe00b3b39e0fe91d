//! A selector's looks at a ringfence `Sleep` (its first look and its spin poll with a no-op
//! waker) register nothing with the timer: a process that only looks never starts the timer's
//! thread. Alone in its own test binary, since any other test's sleep would start that thread.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use ringfence::channel::{Selector, bounded};
use std::time::Duration;

/// Found by review: the timer recognised only a `Waker::noop()` made in its own module, so
/// every look took the timer's lock and registered, and the first one started its thread.
#[test]
fn looks_at_a_pending_sleep_start_no_timer_thread() {
    let (_tx, rx) = bounded::<u8>(1);
    let mut nap = ringfence::timer::sleep(Duration::from_secs(3600));
    for _ in 0..1_000 {
        let got = Selector::new().recv(&rx, |_| 0).future(&mut nap, |()| 1).try_wait();
        assert!(got.is_err(), "nothing is ready");
    }
    assert!(common::threads_named("ringfence-timer").is_empty(), "a look registered with the timer");
}
