//! Creating a ring, a channel or a oneshot of values far larger than a thread's stack must not
//! build a value-sized temporary on the stack, in debug builds too (where nothing optimises the
//! temporary away). No value is ever created here (not even an `Option<Huge>` result, which
//! would need the stack itself): only the containers.

use ringfence::channel::{bounded, unbounded};
use ringfence::oneshot;
use ringfence::ring::Ring;
use std::thread;

/// 16 MiB: eight times the default stack of a spawned thread, sixteen times the one used here.
type Huge = [u8; 16 << 20];

/// Runs `f` on a thread with a 1 MiB stack: a `Huge` temporary would overflow it (and abort
/// the test process, which fails the test run).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    thread::Builder::new().stack_size(1 << 20).spawn(f).unwrap().join().unwrap();
}

#[test]
fn a_ring_of_huge_values_is_built_without_a_stack_temporary() {
    on_small_stack(|| {
        let ring = Ring::<Huge>::new(2);
        assert_eq!(ring.capacity(), 2);
        assert!(ring.is_empty());
    });
}

#[test]
fn a_bounded_channel_of_huge_values_is_built_without_a_stack_temporary() {
    on_small_stack(|| {
        let (tx, rx) = bounded::<Huge>(2);
        assert_eq!(tx.capacity(), Some(2));
        assert!(rx.is_empty());
    });
}

#[test]
fn a_rendezvous_channel_of_huge_values_is_built_without_a_stack_temporary() {
    on_small_stack(|| {
        let (tx, rx) = bounded::<Huge>(0);
        assert_eq!(tx.capacity(), Some(0));
        assert!(rx.is_empty());
    });
}

#[test]
fn an_unbounded_channel_of_huge_values_is_built_without_a_stack_temporary() {
    on_small_stack(|| {
        let (tx, rx) = unbounded::<Huge>();
        assert_eq!(tx.capacity(), None);
        assert!(rx.is_empty());
    });
}

#[test]
fn a_oneshot_of_huge_values_is_built_without_a_stack_temporary() {
    on_small_stack(|| {
        let (tx, rx) = oneshot::channel::<Huge>();
        drop((tx, rx));
    });
}
