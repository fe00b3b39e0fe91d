//! loom models of the channel's async API (`src/channel/chan_async.rs`) and, through it, of the
//! waiting layer's waker path (`src/wait.rs`, "Async waiters"): register, wake, re-register
//! with another waker, drop while registered, drop after being woken. A lost wakeup shows up
//! as a loom deadlock (`common::block_on` parks on a loom condvar until woken).

use crate::common::{Counted, Signal, block_on, drop_counter, drops};
use loom::thread;
use ringfence::channel::{Receiver, RecvError, RecvFuture, Sender, TryRecvError, bounded, unbounded};
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

/// The three flavors, each with its own waker paths: the rendezvous slot's queues, the ring's
/// counted waiters, the list's counted receivers.
#[derive(Clone, Copy, Debug)]
enum Flavor {
    Rendezvous,
    CapacityOne,
    Unbounded,
}

const FLAVORS: [Flavor; 3] = [Flavor::Rendezvous, Flavor::CapacityOne, Flavor::Unbounded];

fn channel<T>(flavor: Flavor) -> (Sender<T>, Receiver<T>) {
    match flavor {
        Flavor::Rendezvous => bounded(0),
        Flavor::CapacityOne => bounded(1),
        Flavor::Unbounded => unbounded(),
    }
}

#[test]
fn async_recv_racing_a_send() {
    for capacity in [0, 1] {
        loom::model(move || {
            let (tx, rx) = bounded(capacity);
            // A sender stays alive: disconnection wakes everyone and would hide a lost wakeup.
            let keep = tx.clone();
            let sender = thread::spawn(move || tx.send(1).unwrap());
            assert_eq!(block_on(rx.recv_async()), Ok(1));
            sender.join().unwrap();
            assert_eq!(keep.waiting_counts(), (0, 0), "the receive left the ring's count");
        });
    }
}

#[test]
fn unbounded_async_recv_racing_a_send() {
    loom::model(|| {
        let (tx, rx) = unbounded();
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let sender = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(block_on(rx.recv_async()), Ok(1));
        sender.join().unwrap();
        assert_eq!(keep.waiting_counts(), (0, 0), "the receive left the list's count");
    });
}

#[test]
fn async_send_on_a_full_channel_racing_a_recv() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        tx.send(1).unwrap();
        let keep = tx.clone();
        let sender = thread::spawn(move || block_on(tx.send_async(2)).unwrap());
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        sender.join().unwrap();
        // A woken sender is uncounted by the receive that woke it, never twice.
        assert_eq!(keep.waiting_counts(), (0, 0), "the send left the ring's count");
    });
}

#[test]
fn woken_async_sender_that_must_wait_again_is_counted_again() {
    // The sender waits on a full channel; a receive makes room and wakes it (uncounting it),
    // but the receiving thread may fill the room again before the woken future runs: that one
    // then counts itself again before it re-registers, or the next receive would not wake it
    // (loom deadlock). Two threads: with a third, loom does not finish in minutes.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let keep = tx.clone();
        let async_sender = thread::spawn(move || block_on(tx.send_async(1)).unwrap());
        let mut got = vec![rx.recv().unwrap()];
        let refilled = keep.try_send(2).is_ok();
        got.push(rx.recv().unwrap());
        if refilled {
            got.push(rx.recv().unwrap());
        }
        async_sender.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, if refilled { vec![0, 1, 2] } else { vec![0, 1] });
        assert_eq!(keep.waiting_counts(), (0, 0), "every wait left the ring's count");
    });
}

#[test]
fn async_send_and_async_recv_alternate() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let sender = thread::spawn(move || {
            block_on(async {
                tx.send_async(1).await.unwrap();
                tx.send_async(2).await.unwrap();
            });
        });
        block_on(async {
            assert_eq!(rx.recv_async().await, Ok(1));
            assert_eq!(rx.recv_async().await, Ok(2));
            assert_eq!(rx.recv_async().await, Err(RecvError));
        });
        sender.join().unwrap();
    });
}

/// Three sends through one slot: when the receiver's parked request holds the first value and
/// the ring the second, the third send yields once to the woken receiver (`poll_send_wait`)
/// before it waits; every interleaving must still deliver all three in order, with no lost
/// wakeup (the yield wakes its own task; the wait after it is the ordinary registered one).
#[test]
fn a_send_that_yields_to_a_woken_receiver_then_waits() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let sender = thread::spawn(move || {
            block_on(async {
                for n in 1..=3 {
                    tx.send_async(n).await.unwrap();
                }
            });
        });
        block_on(async {
            for n in 1..=3 {
                assert_eq!(rx.recv_async().await, Ok(n));
            }
            assert_eq!(rx.recv_async().await, Err(RecvError));
        });
        sender.join().unwrap();
    });
}

#[test]
fn async_recv_racing_disconnection() {
    loom::model(|| {
        let (tx, rx) = bounded::<i32>(1);
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx.recv_async()), Err(RecvError));
        sender.join().unwrap();
    });
}

#[test]
fn rendezvous_async_send_racing_a_blocking_recv() {
    loom::model(|| {
        let (tx, rx) = bounded(0);
        let sender = thread::spawn(move || block_on(tx.send_async(7)).unwrap());
        assert_eq!(rx.recv(), Ok(7));
        sender.join().unwrap();
    });
}

#[test]
fn waker_replaced_between_polls_only_the_latest_is_woken() {
    for flavor in FLAVORS {
        loom::model(move || {
            let (tx, rx) = channel(flavor);
            repoll_with_another_waker_racing_a_send(tx, rx, &format!("{flavor:?}"));
        });
    }
}

/// A receive future polled with one waker, then again with a second while a send races the
/// re-registration: the value arrives, and the first waker is never woken once the second
/// poll has registered.
fn repoll_with_another_waker_racing_a_send(tx: Sender<i32>, rx: Receiver<i32>, what: &str) {
    let first = Signal::new();
    let second = Signal::new();
    let mut future = pin!(rx.recv_async());
    let first_waker = Waker::from(first.clone());
    let second_waker = Waker::from(second.clone());
    assert!(future.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
    let sender = thread::spawn(move || tx.send(1).unwrap());
    // The send races the re-registration with the second waker.
    let mut second_poll_pending = false;
    loop {
        match future.as_mut().poll(&mut Context::from_waker(&second_waker)) {
            Poll::Ready(value) => {
                assert_eq!(value, Ok(1));
                break;
            }
            // loom's `Notify` may wake spuriously: poll again until ready. A wake that never
            // comes is a deadlock.
            Poll::Pending => {
                second_poll_pending = true;
                second.wait();
            }
        }
    }
    sender.join().unwrap();
    if second_poll_pending {
        // The send came after the waker was replaced: the old one is never woken (a send
        // before the replacement makes the value visible to that poll). (The second may not
        // be woken either: after a spurious wake the poll may take the value before the
        // send's notify looks for a waiter.)
        assert_eq!(first.wakes(), 0, "{what}: the replaced waker was woken");
    }
}

#[test]
fn receive_dropped_while_registered_loses_nothing() {
    // A registered receive future is dropped while a send races it: the value stays in the
    // channel (or was never taken), and a second receiver gets it.
    for flavor in FLAVORS {
        loom::model(move || {
            let (tx, rx) = channel(flavor);
            let keep = tx.clone(); // no disconnection (it would wake everyone)
            let signal = Signal::new();
            let waker = Waker::from(signal.clone());
            let rx2 = rx.clone();
            let sender = thread::spawn(move || tx.send(1).unwrap());
            {
                let mut future = pin!(rx.recv_async());
                if let Poll::Ready(value) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
                    assert_eq!(value, Ok(1));
                    sender.join().unwrap();
                    assert_eq!(keep.waiting_counts(), (0, 0));
                    return;
                }
            } // dropped while registered (maybe woken)
            assert_eq!(rx2.recv(), Ok(1), "{flavor:?}: the value was not lost with the dropped future");
            sender.join().unwrap();
            assert_eq!(keep.waiting_counts(), (0, 0), "{flavor:?}: the dropped future left its count");
        });
    }
}

#[test]
fn woken_receive_dropped_passes_the_wakeup_on() {
    // Two async receivers wait; the send wakes one; that one is dropped without being polled
    // again. The other must still be woken and get the value (else: loom deadlock).
    for flavor in FLAVORS {
        loom::model(move || {
            let (tx, rx) = channel(flavor);
            let keep = tx.clone(); // no disconnection (it would wake everyone)
            let first = Signal::new();
            let first_waker = Waker::from(first.clone());
            let mut a = Box::pin(rx.recv_async());
            assert!(a.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
            let rx2 = rx.clone();
            let other = thread::spawn(move || block_on(rx2.recv_async()));
            let sender = thread::spawn(move || tx.send(1).unwrap());
            drop(a);
            assert_eq!(other.join().unwrap(), Ok(1));
            sender.join().unwrap();
            assert_eq!(keep.waiting_counts(), (0, 0), "{flavor:?}: both receives left their count");
        });
    }
}

#[test]
fn woken_send_cancelled_passes_the_wakeup_on() {
    // Two async sends wait (capacity 1: for room; rendezvous: the first owns the slot with its
    // value, the second waits for the slot); a receive wakes the first, which is cancelled
    // instead of polled again. The second must still be woken and complete (else: loom
    // deadlock), and the cancelled value is received or given back, exactly once.
    for capacity in [0, 1] {
        loom::model(move || {
            let (tx, rx) = bounded::<u32>(capacity);
            if capacity == 1 {
                tx.send(0).unwrap();
            }
            let first = Signal::new();
            let first_waker = Waker::from(first.clone());
            let mut a = tx.send_async(1);
            assert!(std::pin::Pin::new(&mut a).poll(&mut Context::from_waker(&first_waker)).is_pending());
            let tx2 = tx.clone();
            let other = thread::spawn(move || block_on(tx2.send_async(2)));
            let rx2 = rx.clone();
            let receiver = thread::spawn(move || rx2.recv().unwrap());
            let given_back = a.cancel();
            let mut received = vec![receiver.join().unwrap()];
            // The rest: 2, and on a rendezvous channel also 1 unless it was given back.
            while let Ok(value) = rx.try_recv() {
                received.push(value);
            }
            if !received.contains(&2) {
                received.push(rx.recv().unwrap()); // `other` waits for a receiver
            }
            other.join().unwrap().unwrap();
            received.sort_unstable();
            let expected: &[u32] = match (capacity, given_back) {
                (1, Some(1)) => &[0, 2],
                (0, Some(1)) => &[2],
                (0, None) => &[1, 2],
                (_, other) => panic!("capacity {capacity}: the cancel returned {other:?}"),
            };
            assert_eq!(received, expected, "capacity {capacity}: each value received or given back once");
        });
    }
}

#[test]
fn async_send_dropped_while_pending_sends_or_drops_once() {
    for capacity in [0, 1] {
        pending_send_ended_racing_a_receiver(capacity, false);
    }
}

#[test]
fn async_send_cancelled_while_pending_is_sent_or_given_back_once() {
    // As the model above, but the send is ended with `SendFuture::cancel`: the value is
    // received or handed back, exactly once (a rendezvous cancel races a receiver's take of
    // the value in the hand-over slot; a capacity-1 cancel leaves the counted wait).
    for capacity in [0, 1] {
        pending_send_ended_racing_a_receiver(capacity, true);
    }
}

/// A send on a full capacity-1 (or a rendezvous) channel, polled once (it may complete), then
/// dropped, or ended with `cancel`, while a receiver drains the channel: a completed send was
/// received; a cancelled one was received or given back, never both; every value is dropped
/// exactly once.
fn pending_send_ended_racing_a_receiver(capacity: usize, cancel: bool) {
    loom::model(move || {
        let counter = drop_counter();
        let (tx, rx) = bounded(capacity);
        if capacity == 1 {
            tx.send(Counted::new(0, &counter)).unwrap();
        }
        let signal = Signal::new();
        let waker = Waker::from(signal.clone());
        let c = counter.clone();
        let sender = thread::spawn(move || {
            let mut future = tx.send_async(Counted::new(1, &c));
            let completed = std::pin::Pin::new(&mut future).poll(&mut Context::from_waker(&waker)).is_ready();
            // Dropped: the value goes with the future unless it was sent.
            let given_back = if cancel { future.cancel().map(|value| value.id) } else { None };
            (completed, given_back)
        });
        let mut received = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(value) => received.push(value.id),
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => thread::yield_now(),
            }
        }
        let (completed, given_back) = sender.join().unwrap();
        let got_1 = received.contains(&1);
        if completed {
            assert!(got_1, "a completed send was not received");
        }
        if cancel {
            assert_eq!(got_1, given_back.is_none(), "value 1 neither or both received and given back");
        }
        drop(rx);
        assert_eq!(drops(&counter), capacity + 1, "every value dropped exactly once");
    });
}

#[test]
fn disconnection_wakes_a_blocked_thread_and_a_future_on_one_queue() {
    // A parked thread and a registered future wait on the same queue (`recv_wait`) when the
    // last sender drops: disconnection's `notify_all` must wake both (the futures through the
    // waker list, the threads through the futex: two announcements since the nineteenth
    // session, `wait.rs`, "Async waiters"). Unbounded: a blocking receive of the ring would
    // park on the parked receive under loom (`parked_recv.rs`), not on `recv_wait`.
    loom::model(|| {
        let (tx, rx) = unbounded::<u8>();
        let rx2 = rx.clone();
        let blocked = thread::spawn(move || rx2.recv());
        let dropper = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx.recv_async()), Err(RecvError));
        assert_eq!(blocked.join().unwrap(), Err(RecvError));
        dropper.join().unwrap();
    });
}

#[test]
fn async_and_blocking_receivers_share_the_values() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let rx2 = rx.clone();
        let async_receiver = thread::spawn(move || block_on(rx2.recv_async()));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got = vec![rx.recv().unwrap(), async_receiver.join().unwrap().unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn async_receive_pushes_a_parked_blocking_send() {
    // The blocking sender parks its value (`src/channel/parked_send.rs`); the async receiver's pop
    // pushes it and wakes the sender, whose send is then done.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let keep = tx.clone();
        let sender = thread::spawn(move || tx.send(1).unwrap());
        block_on(async {
            assert_eq!(rx.recv_async().await, Ok(0));
            assert_eq!(rx.recv_async().await, Ok(1));
        });
        sender.join().unwrap();
        assert_every_receive_left(&keep);
    });
}

#[test]
fn send_waker_replaced_between_polls_only_the_latest_is_woken() {
    // A send that must wait (capacity 1: for room; rendezvous: first for the slot, then for a
    // receiver to take the value) re-polled with another waker while a receive races it.
    for flavor in [Flavor::Rendezvous, Flavor::CapacityOne] {
        loom::model(move || {
            let (tx, rx) = channel(flavor);
            if let Flavor::CapacityOne = flavor {
                tx.send(0).unwrap();
            }
            let first = Signal::new();
            let second = Signal::new();
            let first_waker = Waker::from(first.clone());
            let second_waker = Waker::from(second.clone());
            let mut future = pin!(tx.send_async(1));
            assert!(future.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
            let expected: &[i32] = if let Flavor::CapacityOne = flavor { &[0, 1] } else { &[1] };
            let receiver = thread::spawn(move || {
                let got: Vec<i32> = (0..expected.len()).map(|_| rx.recv().unwrap()).collect();
                assert_eq!(got, expected, "{flavor:?}");
            });
            let mut second_poll_pending = false;
            loop {
                match future.as_mut().poll(&mut Context::from_waker(&second_waker)) {
                    Poll::Ready(result) => {
                        assert!(result.is_ok(), "{flavor:?}");
                        break;
                    }
                    Poll::Pending => {
                        second_poll_pending = true;
                        second.wait();
                    }
                }
            }
            receiver.join().unwrap();
            if second_poll_pending {
                assert_eq!(first.wakes(), 0, "{flavor:?}: the replaced waker was woken");
            }
        });
    }
}

#[test]
fn rendezvous_async_senders_contend_for_the_slot() {
    // Two async sends on a zero-capacity channel: one owns the slot, the other waits on the
    // senders' queue for it (the first phase of a rendezvous send) until the receiver has
    // taken the first value. Both values arrive once; a lost wakeup is a deadlock.
    loom::model(|| {
        let (tx, rx) = bounded(0);
        let tx2 = tx.clone();
        let other = thread::spawn(move || block_on(tx2.send_async(2)).unwrap());
        let receiver = thread::spawn(move || {
            let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
            got.sort_unstable();
            got
        });
        block_on(tx.send_async(1)).unwrap();
        other.join().unwrap();
        assert_eq!(receiver.join().unwrap(), [1, 2]);
    });
}

#[test]
fn closed_racing_the_last_receivers_drop() {
    // `Sender::closed` waits in a queue of its own: the last receiver's drop (disconnection's
    // `notify_all` on it) must wake it whatever the interleaving (a lost wakeup is a loom
    // deadlock in `block_on`), and the sends after it must fail.
    for flavor in FLAVORS {
        loom::model(move || {
            let (tx, rx) = channel::<u8>(flavor);
            let dropper = thread::spawn(move || drop(rx));
            block_on(tx.closed());
            assert!(tx.is_disconnected(), "{flavor:?}");
            assert!(tx.try_send(1).is_err(), "{flavor:?}");
            dropper.join().unwrap();
        });
    }
}

// A receive future dropped or left pending while sends race it. It owns the parked receive
// (one receiver handle; under loom always), and a value filled for it stays the channel's front
// (`parked_recv.rs`, "An async owner"), so the other receives get every value, in order.

/// After every thread is joined: no receive is still counted, and the parked slots and the
/// ring's front mark are clear.
fn assert_every_receive_left<T>(tx: &Sender<T>) {
    assert_eq!(tx.waiting_counts(), (0, 0), "every receive left its count");
    assert!(tx.parked_slots_are_free(), "the slot and the ring's front mark are clear");
}

/// A blocking receive of one value on another thread, through a second receiver handle.
fn receive_elsewhere(rx: &Receiver<i32>) -> thread::JoinHandle<i32> {
    let rx = rx.clone();
    thread::spawn(move || rx.recv().unwrap())
}

/// A receive future polled once on an empty channel, so waiting (its waker counts, unread).
/// `RecvFuture` is `Unpin`: polled in place, no box.
fn pending_receive<T>(rx: &Receiver<T>) -> RecvFuture<'_, T> {
    let waker = Waker::from(Signal::new());
    let mut future = rx.recv_async();
    assert!(Pin::new(&mut future).poll(&mut Context::from_waker(&waker)).is_pending());
    future
}

#[test]
fn a_receive_dropped_while_sends_race_it_leaves_the_values_in_order() {
    // The future waits; the sender's values race its drop. The receives after the drop get
    // both values, in order.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        drop(future);
        assert_eq!([rx.recv(), rx.recv()], [Ok(1), Ok(2)], "in order, none lost");
        sender.join().unwrap();
        assert_every_receive_left(&keep);
    });
}

#[test]
fn a_pending_receive_and_this_threads_receives_share_the_values() {
    // The future waits and is not polled while the sender sends, and this thread receives
    // meanwhile: its own receives come in order, the future gets a value when polled, and
    // every value arrives once.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let sender = thread::spawn(move || {
            for value in 1..=3 {
                tx.send(value).unwrap();
            }
        });
        let first = rx.recv().unwrap();
        let second = rx.recv().unwrap();
        // The future's value too: every receive takes the channel's oldest value, also a value
        // filled for the pending future (`parked_recv.rs`, "An async owner").
        let third = block_on(future).unwrap();
        assert_eq!([first, second, third], [1, 2, 3], "this thread's receives in order, once each");
        sender.join().unwrap();
        assert_every_receive_left(&keep);
    });
}

#[test]
fn a_receive_dropped_while_a_send_and_disconnection_race_it_loses_nothing() {
    // The future waits; the sender's value and its disconnection race the future's drop. The
    // value stays in the channel, and the receiver drains it before it learns of the
    // disconnection. Nothing lost, nothing dropped twice.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        let future = pending_receive(&rx);
        let sent = Counted::new(1, &counter);
        let sender = thread::spawn(move || tx.send(sent).unwrap());
        drop(future);
        let value = rx.recv().expect("the value was not lost with the dropped future");
        assert_eq!(value.id, 1);
        drop(value);
        sender.join().unwrap();
        assert_eq!(rx.recv().err(), Some(RecvError));
        assert_eq!(drops(&counter), 1, "the value was dropped exactly once");
        drop(rx);
    });
}

// An async owner's filled value is the channel's front (`parked_recv.rs`, "An async owner"):
// any receive may take it, and the owner then starts over.

#[test]
fn a_front_value_taken_by_another_thread_restarts_its_owner() {
    // The future waits (owning the parked receive) while a second thread receives and the
    // sender sends two values: the fill, the other thread's swap or steal, and the owner's
    // take race. Each value arrives once, and the owner gets one when polled.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let other = receive_elsewhere(&rx);
        let mine = block_on(future).unwrap();
        let theirs = other.join().unwrap();
        let mut both = [mine, theirs];
        both.sort_unstable();
        assert_eq!(both, [1, 2], "each value once");
        sender.join().unwrap();
        assert_every_receive_left(&keep);
    });
}

#[test]
fn a_front_value_wakes_a_receiver_waiting_elsewhere() {
    // The future waits and is dropped while a blocking receiver waits on another thread and
    // the sender's value is filled for the future: the value is the channel's front, and the
    // blocking receiver is woken for it (by the fill, or by the drop that orphans it). A lost
    // wakeup is a loom deadlock.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let other = receive_elsewhere(&rx);
        let sender = thread::spawn(move || tx.send(1).unwrap());
        drop(future);
        assert_eq!(other.join().unwrap(), 1);
        sender.join().unwrap();
        assert_every_receive_left(&keep);
    });
}

#[test]
fn a_pending_receives_value_goes_to_a_receive_after_disconnection() {
    // The future waits and stays alive (not polled) while the sender sends and disconnects:
    // this thread's blocking receive gets the value filled for the future before it learns of
    // the disconnection, and the future, polled at last, reports it. Nothing lost or dropped
    // twice.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        let future = pending_receive(&rx);
        let sent = Counted::new(1, &counter);
        let sender = thread::spawn(move || tx.send(sent).unwrap());
        let value = rx.recv().expect("the value filled for the pending future is the channel's front");
        assert_eq!(value.id, 1);
        drop(value);
        sender.join().unwrap();
        assert_eq!(block_on(future).err(), Some(RecvError));
        assert_eq!(drops(&counter), 1, "the value was dropped exactly once");
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Disconnected));
    });
}

#[test]
fn a_value_filled_for_an_unpolled_future_wakes_a_receiver_waiting_elsewhere() {
    // The future waits and is not polled again until the end; a blocking receiver waits on
    // another thread, and the sender's one value is filled for the future. The value is the
    // channel's front, so the fill wakes the blocking receiver too, which takes it; the future
    // then finds its value stolen and waits again (here: it is dropped). A lost wakeup is a
    // loom deadlock.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let other = receive_elsewhere(&rx);
        let sender = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(other.join().unwrap(), 1, "the blocking receiver got the value");
        sender.join().unwrap();
        drop(future);
        assert_every_receive_left(&keep);
    });
}

#[test]
fn a_receive_waits_out_a_fill_that_popped_before_it() {
    // The future waits; one sender sends 1 and then 3, another sends 2, and either may fill
    // the future's request with the other's value. A receive that popped a younger value
    // while a fill of an older one is still in flight waits for that fill and takes the older
    // value (`ParkedRecv::swap_front`): this thread receives each sender's values in the
    // order they were sent, and every value once. (The race needs two preemptions: the first
    // sender's after its push of 1, the second's after its fill popped 1. This thread joins
    // the first sender and then tries its receives, which keeps the model at seconds: with
    // two blocking receives racing both senders it ran for over 14 minutes.)
    loom::model(|| {
        let (tx, rx) = bounded(2);
        let keep = tx.clone(); // no disconnection (it would wake everyone)
        let future = pending_receive(&rx);
        let first_sender = {
            let tx = tx.clone();
            thread::spawn(move || {
                tx.send(1).unwrap();
                tx.send(3).unwrap();
            })
        };
        let second_sender = thread::spawn(move || tx.send(2).unwrap());
        first_sender.join().unwrap();
        let mut received: Vec<i32> = (0..2).filter_map(|_| rx.try_recv().ok()).collect();
        second_sender.join().unwrap();
        received.push(block_on(future).unwrap());
        received.extend(rx.try_iter());
        assert_eq!(received.len(), 3, "every value once: {received:?}");
        let at = |value| received.iter().position(|&v| v == value).expect("every value arrives");
        assert!(at(1) < at(3), "one sender's values in order: {received:?}");
        assert_every_receive_left(&keep);
    });
}

/// Capacity 8: above the parked receive's gate (`parked_recv.rs`), so a lone async receive
/// waits in the ring's receive lane (`lane.rs`), not in a parked request.
const LANE_CAPACITY: usize = 8;

#[test]
fn lane_holder_repolled_with_another_waker_racing_a_send() {
    // The receive lane's holder polled again with a second waker leaves the lane (taking the
    // first waker out) and claims it anew, while a send races.
    loom::model(|| {
        let (tx, rx) = bounded(LANE_CAPACITY);
        repoll_with_another_waker_racing_a_send(tx, rx, "the receive lane");
    });
}

#[test]
fn lane_holder_and_queue_waiter_both_get_a_value() {
    // Two async receives: the first holds the lane, the second waits in `recv_wait`. Two
    // sends race them: each receive gets one value (a notify that finds the lane held wakes
    // its holder, one that finds it free or busy goes to the queue), and both leave their
    // counts.
    loom::model(|| {
        let (tx, rx) = bounded(LANE_CAPACITY);
        let keep = tx.clone();
        let rx2 = rx.clone();
        let other = thread::spawn(move || block_on(rx2.recv_async()).unwrap());
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let mine = block_on(rx.recv_async()).unwrap();
        let theirs = other.join().unwrap();
        sender.join().unwrap();
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(keep.waiting_counts(), (0, 0), "both receives left their count");
    });
}

#[test]
fn disconnection_wakes_the_lane_holders() {
    // An async receive in the receive lane of an empty channel and an async send in the send
    // lane of a full one: dropping the other side's last handle wakes each (else: deadlock).
    loom::model(|| {
        let (tx, rx) = bounded::<u8>(LANE_CAPACITY);
        let receiving = thread::spawn(move || block_on(rx.recv_async()));
        drop(tx);
        assert_eq!(receiving.join().unwrap(), Err(RecvError));
    });
    loom::model(|| {
        let (tx, rx) = bounded::<u8>(1);
        let rx2 = rx.clone(); // two receivers: the send waits in its lane, not on a parked slot
        tx.send(0).unwrap();
        let sending = thread::spawn(move || block_on(tx.send_async(1)));
        drop(rx);
        drop(rx2);
        assert!(sending.join().unwrap().is_err(), "the send fails once every receiver is gone");
    });
}
