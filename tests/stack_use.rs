//! Moving a large value through a channel or a oneshot must need a bounded multiple of its
//! size in stack, in debug builds too, where every temporary of type `T` on the way has a stack
//! slot of its own and the frames of a call chain add up. Each test sends or receives a
//! [`VALUE_SIZE`]-byte value on a thread whose stack is [`STACK_VALUES`] times that, waiting
//! for the other side or not; a deeper chain overflows it and aborts the test run.
//!
//! Measured on a debug build with 64 KiB values (a painted stack, 2026-12-01, both threads
//! pinned to one core, which sends a waiting call through the parked slots, and not): before
//! the sixteenth session a blocking send into a full channel needed 41 value sizes and a
//! blocking receive from an empty one 46, so a 64 KiB value overflowed a spawned thread's
//! default 2 MiB stack (crossbeam-channel needs 17 and 8). In the seventeenth session values
//! stopped coming back through return values on the waiting paths (`Ring::pop_into`, the
//! parked slots' out-parameters): a send 17, a send that waits 18, a receive 8, a receive that
//! waits 10 (unbounded and zero-capacity channels alike; they took 16 and 25), where they took
//! 17, 31, 13 and 25. In release builds a send needs two value sizes at most. These tests pass
//! from 26 value sizes of stack on (the thread's and the test's own frames included; 22 but for
//! the first test, whose plain send is now the deepest path); with the code before the
//! sixteenth session the three bounded-channel tests that move a value needed 40 to 48, and
//! with the sixteenth session's 34.

use ringfence::channel::{RecvTimeoutError, bounded, unbounded};
use ringfence::oneshot;
use std::thread;
use std::time::Duration;

/// 16 KiB: large enough that the value-sized slots dominate every frame on the way.
const VALUE_SIZE: usize = 16 << 10;
/// The stack of the thread that moves the value, in value sizes: four above what the tests
/// need today, so that a compiler's different frame layout does not fail them.
const STACK_VALUES: usize = 30;

type Value = [u8; VALUE_SIZE];

/// A value built on the heap, so that the test's own frame holds none.
fn boxed(fill: u8) -> Box<Value> {
    vec![fill; VALUE_SIZE].into_boxed_slice().try_into().expect("the length is VALUE_SIZE")
}

/// Runs `f` on a thread with a stack of `STACK_VALUES` value sizes.
fn on_bounded_stack(f: impl FnOnce() + Send + 'static) {
    thread::Builder::new().stack_size(STACK_VALUES * VALUE_SIZE).spawn(f).unwrap().join().unwrap();
}

/// Runs `f` on an ordinary thread after a pause long enough for the other side to be waiting
/// (the test passes whether it is or not; it is the deeper path that the pause makes likely).
fn later(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        f();
    })
}

#[test]
fn a_bounded_send_and_receive_with_room_and_a_value_there() {
    let (tx, rx) = bounded::<Value>(1);
    on_bounded_stack(move || {
        tx.send(*boxed(1)).unwrap();
        assert_eq!(rx.recv().unwrap()[VALUE_SIZE - 1], 1);
        tx.try_send(*boxed(2)).unwrap();
        assert_eq!(rx.try_recv().unwrap()[0], 2);
    });
}

#[test]
fn a_bounded_send_that_waits_for_room() {
    let (tx, rx) = bounded::<Value>(1);
    tx.send(*boxed(1)).unwrap();
    let receiver = later(move || {
        assert_eq!(rx.recv().unwrap()[0], 1);
        assert_eq!(rx.recv().unwrap()[0], 2);
    });
    on_bounded_stack(move || tx.send(*boxed(2)).unwrap());
    receiver.join().unwrap();
}

#[test]
fn a_bounded_receive_that_waits_for_a_value() {
    let (tx, rx) = bounded::<Value>(1);
    let sender = later(move || tx.send(*boxed(3)).unwrap());
    on_bounded_stack(move || assert_eq!(rx.recv().unwrap()[0], 3));
    sender.join().unwrap();
}

#[test]
fn an_unbounded_send_and_a_receive_that_waits() {
    let (tx, rx) = unbounded::<Value>();
    let tx2 = tx.clone();
    let sender = later(move || tx2.send(*boxed(5)).unwrap());
    on_bounded_stack(move || {
        tx.send(*boxed(4)).unwrap();
        assert_eq!(rx.recv().unwrap()[0], 4);
        assert_eq!(rx.recv().unwrap()[0], 5);
    });
    sender.join().unwrap();
}

#[test]
fn a_rendezvous_send_and_receive_that_wait_for_each_other() {
    let (tx, rx) = bounded::<Value>(0);
    let (tx2, rx2) = (tx.clone(), rx.clone());
    let receiver = later(move || assert_eq!(rx2.recv().unwrap()[0], 6));
    on_bounded_stack(move || tx.send(*boxed(6)).unwrap());
    receiver.join().unwrap();
    let sender = later(move || tx2.send(*boxed(7)).unwrap());
    on_bounded_stack(move || assert_eq!(rx.recv().unwrap()[0], 7));
    sender.join().unwrap();
}

#[test]
fn a_oneshot_send_and_a_receive_that_waits() {
    let (tx, rx) = oneshot::channel::<Value>();
    on_bounded_stack(move || tx.send(*boxed(8)).unwrap());
    on_bounded_stack(move || assert_eq!(rx.recv().unwrap()[0], 8));
    let (tx, rx) = oneshot::channel::<Value>();
    let sender = later(move || tx.send(*boxed(9)).unwrap());
    on_bounded_stack(move || assert_eq!(rx.recv().unwrap()[0], 9));
    sender.join().unwrap();
}

#[test]
fn a_bounded_send_that_times_out_gets_its_value_back() {
    let (tx, _rx) = bounded::<Value>(1);
    tx.send(*boxed(1)).unwrap();
    on_bounded_stack(move || {
        let error = tx.send_timeout(*boxed(2), Duration::from_millis(20)).unwrap_err();
        assert!(error.is_timeout());
        assert_eq!(error.into_inner()[0], 2);
    });
}

#[test]
fn a_bounded_receive_that_times_out() {
    let (_tx, rx) = bounded::<Value>(1);
    on_bounded_stack(move || {
        assert_eq!(rx.recv_timeout(Duration::from_millis(20)).unwrap_err(), RecvTimeoutError::Timeout);
    });
}

#[test]
fn bounded_calls_that_find_the_other_side_gone() {
    let (tx, rx) = bounded::<Value>(1);
    drop(rx);
    on_bounded_stack(move || assert_eq!(tx.send(*boxed(3)).unwrap_err().into_inner()[0], 3));
    let (tx, rx) = bounded::<Value>(1);
    drop(tx);
    on_bounded_stack(move || assert!(rx.recv().is_err()));
}
