//! The timer after `fork()`: the child inherits the timer's state but not its thread, so its
//! first `Sleep` must start a thread of its own (before, every `Sleep` in the child that had to
//! wait hung, found by review). A test binary of its own: a forked child of a process with few
//! threads, all idle, is the case that `fork` supports.
#![cfg(all(target_os = "linux", not(loom)))]

mod async_util;

use async_util::block_on;
use ringfence::timer::sleep;
use std::time::{Duration, Instant};

#[test]
fn a_forked_childs_sleeps_complete_on_a_timer_thread_of_its_own() {
    // The parent's timer thread runs (started by this first `Sleep` that waits), and then
    // idles: it took the timer's lock once more after firing, so give it time to be back in
    // its wait (a child forked while it held the lock would find the lock taken for good).
    block_on(sleep(Duration::from_millis(2)));
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: `fork` has no preconditions. The child below only sleeps on the timer (which
    // starts a thread: the child is a full process) and exits with `_exit`, running no
    // destructor or test-harness code of the parent's. The locks it takes (the timer's, the
    // allocator's, which glibc resets in a child) are free unless a parent thread held one at
    // the fork: the timer thread is idle (above), and the harness's threads wait for this test.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: `alarm` has no preconditions; its SIGALRM kills the child if the sleep below
        // hangs, which the parent sees as a death by signal, not a hang of the suite.
        unsafe { libc::alarm(20) };
        let start = Instant::now();
        block_on(sleep(Duration::from_millis(5)));
        let code = if start.elapsed() >= Duration::from_millis(5) { 0 } else { 1 };
        // SAFETY: `_exit` ends the child at once, without running the parent's atexit handlers
        // or flushing its copied stdio buffers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child and `status` a valid place for its status.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "the child did not exit (killed by signal {})", libc::WTERMSIG(status));
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child's sleep completed early");
}
