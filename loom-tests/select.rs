//! loom models of `channel::Selector` (`src/channel/select.rs`): the selecting thread parks on
//! loom's `park` between rounds of polls and is unparked only by an operation's waker, so a
//! lost wakeup is a loom deadlock. Each model checks that exactly one operation completed and
//! that every other left its channel as it found it (the value still there, or still the
//! caller's; no waiter left counted).

use crate::common::block_on;
use loom::thread;
use ringfence::channel::{Receiver, Selector, Sender, TryRecvError, bounded, unbounded};
use ringfence::oneshot;
use std::future::Future;

/// A receive on each of two channels, each racing a sender: the selection gets one value, the
/// other stays in its channel, and no wait is left behind.
fn recv_from_either(make: fn() -> (Sender<u8>, Receiver<u8>)) {
    loom::model(move || {
        let (a_tx, a) = make();
        let (b_tx, b) = make();
        // Senders stay alive: a disconnection wakes everyone and would hide a lost wakeup.
        let (keep_a, keep_b) = (a_tx.clone(), b_tx.clone());
        let sa = thread::spawn(move || a_tx.send(1).unwrap());
        let sb = thread::spawn(move || b_tx.send(2).unwrap());
        let got = Selector::new().recv(&a, |v| v.unwrap()).recv(&b, |v| v.unwrap()).wait();
        // Nobody else receives: on the buffered flavor, where each receive waits in its
        // channel's lane (whose leave waits out a notifier's uncount), a receive wait counted
        // now was left behind by the selection; checked before the receive below, whose sender
        // would wake and uncount it. (A queue waiter's notifier uncounts it after taking it,
        // possibly after the selection returned: the unbounded flavor's counts are checked at
        // the end only.)
        if keep_a.capacity() == Some(1) {
            assert_eq!(keep_a.waiting_counts().0, 0, "no receive left waiting on a");
            assert_eq!(keep_b.waiting_counts().0, 0, "no receive left waiting on b");
        }
        let other = if got == 1 { &b } else { &a };
        // The other value was sent or is being sent: it is received exactly once.
        let rest = other.recv().unwrap();
        assert_eq!(got + rest, 3, "each value once");
        sa.join().unwrap();
        sb.join().unwrap();
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(keep_a.waiting_counts(), (0, 0), "no wait left on a");
        assert_eq!(keep_b.waiting_counts(), (0, 0), "no wait left on b");
    });
}

#[test]
fn select_recv_from_either_of_two_buffered_channels() {
    recv_from_either(|| bounded(1));
}

#[test]
fn select_recv_from_either_of_two_unbounded_channels() {
    recv_from_either(unbounded);
}

#[test]
fn select_recv_from_either_of_two_rendezvous_channels() {
    recv_from_either(|| bounded(0));
}

/// A send to a full capacity-1 channel or a receive from another, racing a receiver of the
/// first and a sender of the second: one completes; the other value stays with its owner.
#[test]
fn select_send_or_recv_racing_both_partners() {
    loom::model(|| {
        let (out_tx, out_rx) = bounded::<u8>(1);
        let (in_tx, in_rx) = bounded::<u8>(1);
        out_tx.send(10).unwrap(); // full
        let keep_in = in_tx.clone();
        // A receiver stays: the taker's drop would disconnect, and a disconnected send is ready.
        let _keep_out = out_rx.clone();
        let taker = thread::spawn(move || out_rx.recv().unwrap());
        let feeder = thread::spawn(move || in_tx.send(20).unwrap());
        let mut value = Some(11);
        let got = Selector::new()
            .send(&out_tx, &mut value, |r| r.map(|()| 0).unwrap())
            .recv(&in_rx, |v| v.unwrap())
            .wait();
        match got {
            0 => assert_eq!(value, None, "sent: taken from the caller"),
            20 => assert_eq!(value, Some(11), "received: the value stayed the caller's"),
            other => panic!("unexpected {other}"),
        }
        assert_eq!(taker.join().unwrap(), 10);
        feeder.join().unwrap();
        if got == 0 {
            assert_eq!(in_rx.try_recv(), Ok(20), "the input stayed in its channel");
        }
        assert_eq!(out_tx.waiting_counts(), (0, 0));
        assert_eq!(keep_in.waiting_counts(), (0, 0));
    });
}

/// The rendezvous send's race (select.rs, "The one exception"): a selector offering a value on
/// a zero-capacity channel or receiving from another, against a blocked receiver of the first
/// and a sender of the second. Exactly one completes: a value the receiver took was reported
/// sent, and a reported receive left the offer with the caller.
#[test]
fn select_rendezvous_send_or_recv_never_both() {
    loom::model(|| {
        let (offer_tx, offer_rx) = bounded::<u8>(0);
        let (in_tx, in_rx) = bounded::<u8>(1);
        let keep_in = in_tx.clone();
        let taker = thread::spawn(move || offer_rx.recv().unwrap());
        let feeder = thread::spawn(move || in_tx.send(20).unwrap());
        let mut value = Some(11);
        let got = Selector::new()
            .send(&offer_tx, &mut value, |r| r.map(|()| 0).unwrap())
            .recv(&in_rx, |v| v.unwrap())
            .wait();
        match got {
            0 => assert_eq!(value, None, "sent"),
            20 => {
                // Not sent: the taker still waits for it; hand it over the ordinary way.
                let v = value.take().expect("a receive left the offer with the caller");
                offer_tx.send(v).unwrap();
            }
            other => panic!("unexpected {other}"),
        }
        assert_eq!(taker.join().unwrap(), 11, "the offer was received exactly once");
        feeder.join().unwrap();
        if got == 0 {
            assert_eq!(in_rx.try_recv(), Ok(20), "the input stayed in its channel");
        }
        assert_eq!(keep_in.waiting_counts(), (0, 0));
    });
}

/// A timed selection (under loom: one round of polls, then out of time) racing a sender: it
/// got the value, or timed out and the value is still in the channel; nothing stays registered.
#[test]
fn select_timed_out_leaves_the_value_in_the_channel() {
    for capacity in [0, 1] {
        loom::model(move || {
            let (tx, rx) = bounded::<u8>(capacity);
            let keep = tx.clone();
            let sender = thread::spawn(move || tx.send(5).unwrap());
            let got =
                Selector::new().recv(&rx, |v| v.unwrap()).wait_timeout(std::time::Duration::from_secs(1));
            let value = match got {
                Ok(v) => v,
                Err(_) => rx.recv().unwrap(),
            };
            assert_eq!(value, 5);
            sender.join().unwrap();
            assert_eq!(keep.waiting_counts(), (0, 0));
        });
    }
}

/// `recv_any` over two capacity-1 channels, each racing a sender: one value, with its index;
/// the other stays in its channel.
#[test]
fn select_recv_any_of_two_racing_two_sends() {
    loom::model(|| {
        let (a_tx, a) = bounded::<u8>(1);
        let (b_tx, b) = bounded::<u8>(1);
        let (keep_a, keep_b) = (a_tx.clone(), b_tx.clone());
        let sa = thread::spawn(move || a_tx.send(0).unwrap());
        let sb = thread::spawn(move || b_tx.send(1).unwrap());
        let receivers = [a, b];
        let (index, got) = Selector::new().recv_any(&receivers, |i, v| (i, v.unwrap())).wait();
        assert_eq!(keep_a.waiting_counts().0, 0, "no receive left waiting on a (as above)");
        assert_eq!(keep_b.waiting_counts().0, 0, "no receive left waiting on b");
        assert_eq!(usize::from(got), index, "the index names the channel");
        assert_eq!(usize::from(receivers[1 - index].recv().unwrap()), 1 - index);
        sa.join().unwrap();
        sb.join().unwrap();
        assert_eq!(keep_a.waiting_counts(), (0, 0));
        assert_eq!(keep_b.waiting_counts(), (0, 0));
    });
}

/// `wait_async` under a `block_on` that wakes only through the future's waker: a receive from
/// either of two capacity-1 channels, each racing a sender.
#[test]
fn select_wait_async_recv_from_either() {
    loom::model(|| {
        let (a_tx, a) = bounded::<u8>(1);
        let (b_tx, b) = bounded::<u8>(1);
        let (keep_a, keep_b) = (a_tx.clone(), b_tx.clone());
        let sa = thread::spawn(move || a_tx.send(1).unwrap());
        let sb = thread::spawn(move || b_tx.send(2).unwrap());
        let got = block_on(Selector::new().recv(&a, |v| v.unwrap()).recv(&b, |v| v.unwrap()).wait_async());
        assert_eq!(keep_a.waiting_counts().0, 0, "no receive left waiting on a (as above)");
        assert_eq!(keep_b.waiting_counts().0, 0, "no receive left waiting on b");
        let other = if got == 1 { &b } else { &a };
        assert_eq!(got + other.recv().unwrap(), 3, "each value once");
        sa.join().unwrap();
        sb.join().unwrap();
        assert_eq!(keep_a.waiting_counts(), (0, 0));
        assert_eq!(keep_b.waiting_counts(), (0, 0));
    });
}

/// A `wait_async` polled once and dropped, racing a send to its receive and a receiver of its
/// rendezvous send: nothing received; the offer either went to the receiver (then the caller's
/// `Option` is empty) or is back with the caller.
#[test]
fn select_wait_async_dropped_while_pending() {
    loom::model(|| {
        let (offer_tx, offer_rx) = bounded::<u8>(0);
        let (in_tx, input) = bounded::<u8>(1);
        let keep_in = in_tx.clone();
        let taker = thread::spawn(move || offer_rx.recv().unwrap());
        let feeder = thread::spawn(move || in_tx.send(20).unwrap());
        let mut value = Some(11);
        let outcome = {
            let mut selection = std::pin::pin!(
                Selector::new().send(&offer_tx, &mut value, |_| 0).recv(&input, |v| v.unwrap()).wait_async()
            );
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            selection.as_mut().poll(&mut cx)
        }; // dropped here when pending: cancelled
        if let Some(v) = value.take() {
            assert_ne!(outcome, std::task::Poll::Ready(0), "a completed send took the value");
            offer_tx.send(v).unwrap(); // not sent: the taker still waits for it
        }
        assert_eq!(taker.join().unwrap(), 11, "the offer was received exactly once");
        feeder.join().unwrap();
        let input_left = input.try_recv().ok();
        match outcome {
            std::task::Poll::Ready(20) => assert_eq!(input_left, None, "received once"),
            _ => assert_eq!(input_left, Some(20), "not received: still in the channel"),
        }
        assert_eq!(keep_in.waiting_counts(), (0, 0));
    });
}

/// A receive and a future (a oneshot's receiver, by reference), each racing its sender: the
/// selection takes one value; the other is received afterwards from where it was (the channel,
/// or the oneshot the caller kept), and the future's registration wakes the parked thread.
#[test]
fn select_recv_or_a_oneshot_future() {
    loom::model(|| {
        let (tx, rx) = bounded::<u8>(1);
        let keep = tx.clone();
        let (reply_tx, mut reply) = oneshot::channel::<u8>();
        let channel_sender = thread::spawn(move || tx.send(1).unwrap());
        let oneshot_sender = thread::spawn(move || reply_tx.send(2).unwrap());
        let got = Selector::new().recv(&rx, |v| v.unwrap()).future(&mut reply, |v| v.unwrap()).wait();
        let rest = if got == 1 { reply.recv().unwrap() } else { rx.recv().unwrap() };
        assert_eq!(got + rest, 3, "each value once");
        channel_sender.join().unwrap();
        oneshot_sender.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(keep.waiting_counts(), (0, 0), "no wait left on the channel");
    });
}

/// The future's own wakeup alone ends the park: a receive that never gets a value (its sender
/// stays, silent) beside a oneshot that another thread completes.
#[test]
fn select_a_future_alone_wakes_the_parked_selection() {
    loom::model(|| {
        let (tx, rx) = bounded::<u8>(1);
        let (reply_tx, reply) = oneshot::channel::<u8>();
        let oneshot_sender = thread::spawn(move || reply_tx.send(2).unwrap());
        let got = Selector::new().recv(&rx, |_| 0).future(reply, |v| v.unwrap()).wait();
        assert_eq!(got, 2);
        oneshot_sender.join().unwrap();
        assert_eq!(tx.waiting_counts(), (0, 0), "no wait left on the channel");
    });
}

/// `send_any` of one value to two full capacity-1 channels, each with a receiver taking its
/// filler: the value goes to exactly one of them (whichever freed room while the selection
/// looked or waited), and no wait is left on either.
#[test]
fn select_send_any_to_two_channels_freed_by_two_receivers() {
    loom::model(|| {
        let (a, a_rx) = bounded::<u8>(1);
        let (b, b_rx) = bounded::<u8>(1);
        a.send(1).unwrap();
        b.send(2).unwrap();
        // Receivers stay: a disconnected channel would be ready.
        let (keep_a, keep_b) = (a_rx.clone(), b_rx.clone());
        let taker_a = thread::spawn(move || a_rx.recv().unwrap());
        let taker_b = thread::spawn(move || b_rx.recv().unwrap());
        let senders = [a, b];
        let mut value = Some(9);
        let index = Selector::new().send_any(&senders, &mut value, |index, sent| sent.map(|()| index)).wait();
        assert_eq!(value, None, "sent");
        assert_eq!(taker_a.join().unwrap(), 1);
        assert_eq!(taker_b.join().unwrap(), 2);
        assert_eq!(senders[0].waiting_counts(), (0, 0), "no wait left on a");
        assert_eq!(senders[1].waiting_counts(), (0, 0), "no wait left on b");
        let (to, other) = if index == Ok(0) { (&keep_a, &keep_b) } else { (&keep_b, &keep_a) };
        assert_eq!(to.try_recv(), Ok(9), "in the channel it was sent to");
        assert_eq!(other.try_recv(), Err(TryRecvError::Empty), "and only there");
    });
}

/// `send_any` to two full channels of which only one is ever freed: the value goes there, and
/// the wait on the other (full to the end, so nobody wakes and uncounts it) is cancelled.
#[test]
fn select_send_any_leaves_the_channel_that_stays_full() {
    loom::model(|| {
        let (a, a_rx) = bounded::<u8>(1);
        let (b, b_rx) = bounded::<u8>(1);
        a.send(1).unwrap();
        b.send(2).unwrap();
        let keep_a = a_rx.clone();
        let taker = thread::spawn(move || a_rx.recv().unwrap());
        let senders = [a, b];
        let mut value = Some(9);
        let index = Selector::new().send_any(&senders, &mut value, |index, sent| sent.map(|()| index)).wait();
        assert_eq!(index, Ok(0));
        assert_eq!(taker.join().unwrap(), 1);
        // The counts first: a receive from `b` would wake and uncount a wait left there.
        assert_eq!(senders[0].waiting_counts(), (0, 0), "no wait left on a");
        assert_eq!(senders[1].waiting_counts(), (0, 0), "no wait left on b");
        assert_eq!(keep_a.try_recv(), Ok(9));
        assert_eq!(b_rx.try_recv(), Ok(2), "the full channel got nothing");
    });
}
