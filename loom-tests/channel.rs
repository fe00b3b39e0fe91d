//! loom models of the bounded channel (`src/channel/`) and, through it, of the waiting layer
//! (`src/wait.rs`): a lost wakeup shows up as a loom deadlock.

use crate::common::{Counted, drop_counter, drops, model_at_preemptions, model_with_preemptions};
use loom::thread;
use ringfence::channel::{
    Receiver, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError, bounded, unbounded,
};
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

// Under loom a timed wait "times out" exactly when the thread would sleep (see the facade's
// futex model), so any timeout value explores the same interleavings.
const SOON: Duration = Duration::from_millis(1);

#[test]
fn receiver_blocked_while_last_sender_drops() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            drop(tx);
        });
        assert_eq!(rx.recv(), Ok(1), "buffered values are drained first");
        assert!(rx.recv().is_err(), "then the receiver learns of the disconnection");
        sender.join().unwrap();
    });
}

#[test]
fn sender_blocked_while_last_receiver_drops() {
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        tx.send(Counted::new(0, &counter)).unwrap();
        let c = counter.clone();
        let sender = thread::spawn(move || tx.send(Counted::new(1, &c)).map_err(|e| e.into_inner().id));
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(1), "the blocked sender gets its value back");
        assert_eq!(drops(&counter), 2, "the buffered value and the returned one, once each");
    });
}

#[test]
fn send_racing_receiver_drop_loses_nothing() {
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        let c = counter.clone();
        let sender = thread::spawn(move || tx.send(Counted::new(1, &c)).is_ok());
        drop(rx);
        let _sent = sender.join().unwrap();
        // Sent or handed back, the value is dropped exactly once by now (the channel is gone).
        assert_eq!(drops(&counter), 1);
    });
}

/// A weak sender's upgrade races the last sender's drop while the receiver is blocked: either
/// the upgrade came first (it is a sender: its value is received, then the stream ends when it
/// drops) or it failed (the stream ended with the drop); the receiver never hangs and never
/// sees the end before a value an upgraded sender sent.
#[test]
fn weak_sender_upgrade_racing_the_last_drop() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let weak = tx.downgrade();
        let dropper = thread::spawn(move || drop(tx));
        let upgrader = thread::spawn(move || match weak.upgrade() {
            Some(tx) => {
                tx.send(7).unwrap();
                assert!(weak.upgrade().is_some(), "a live sender keeps the upgrades coming");
                true
            }
            None => {
                assert!(weak.upgrade().is_none(), "a dropped side never comes back");
                false
            }
        });
        let received: Vec<i32> = rx.iter().collect();
        let upgraded = upgrader.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(received, if upgraded { vec![7] } else { vec![] });
    });
}

/// A weak receiver's upgrade races the last receiver's drop over a buffered value: the value is
/// received by the upgraded receiver or dropped with the last one, exactly once either way.
#[test]
fn weak_receiver_upgrade_racing_the_last_drop() {
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        tx.send(Counted::new(0, &counter)).unwrap();
        let weak = rx.downgrade();
        let dropper = thread::spawn(move || drop(rx));
        let upgrader = thread::spawn(move || weak.upgrade().map(|rx| rx.try_recv().map(|value| value.id)));
        let outcome = upgrader.join().unwrap();
        dropper.join().unwrap();
        // An upgraded receiver always finds the value: while it lives the other drop is not the
        // last, so nothing has dropped what was buffered.
        assert!(matches!(outcome, None | Some(Ok(0))), "{outcome:?}");
        assert_eq!(drops(&counter), 1, "received and dropped, or dropped with the last receiver");
        assert!(tx.try_send(Counted::new(1, &counter)).is_err(), "no receiver is left");
    });
}

#[test]
fn capacity_one_both_sides_blocking_alternately() {
    // The lost-wakeup hunt: with one slot, each side must wake the other every time.
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        sender.join().unwrap();
    });
}

#[test]
fn blocked_sender_woken_by_recv() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let sender = thread::spawn(move || tx.send(1).unwrap());
        assert_eq!(rx.recv(), Ok(0));
        assert_eq!(rx.recv(), Ok(1));
        sender.join().unwrap();
    });
}

#[test]
fn two_receivers_one_value_then_disconnect() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let rx2 = rx.clone();
        let other = thread::spawn(move || rx2.recv().ok());
        tx.send(5).unwrap();
        drop(tx);
        let mine = rx.recv().ok();
        let theirs = other.join().unwrap();
        let mut got: Vec<i32> = mine.into_iter().chain(theirs).collect();
        got.sort_unstable();
        assert_eq!(got, [5], "exactly one receiver gets the value, the other is woken");
    });
}

#[test]
fn recv_timeout_racing_send_keeps_the_value() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let sender = thread::spawn(move || tx.send(1).unwrap());
        let first = rx.recv_timeout(SOON);
        sender.join().unwrap();
        match first {
            Ok(v) => assert_eq!(v, 1),
            Err(RecvTimeoutError::Timeout) => assert_eq!(rx.try_recv(), Ok(1), "still in the channel"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    });
}

#[test]
fn send_timeout_racing_recv_keeps_the_value() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let receiver = thread::spawn(move || {
            let first = rx.recv().unwrap();
            (first, rx)
        });
        let sent = tx.send_timeout(1, SOON);
        let (first, rx) = receiver.join().unwrap();
        assert_eq!(first, 0);
        assert_eq!(tx.waiting_counts(), (0, 0), "the send left the waiting senders");
        assert!(tx.parked_slots_are_free(), "a timed-out parked send took its value back");
        match sent {
            Ok(()) => assert_eq!(rx.try_recv(), Ok(1)),
            Err(SendTimeoutError::Timeout(v)) => {
                assert_eq!(v, 1);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    });
}

#[test]
fn rendezvous_send_completes_when_received() {
    loom::model(|| {
        let (tx, rx) = bounded(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        sender.join().unwrap();
    });
}

#[test]
fn rendezvous_send_timeout_racing_recv_timeout() {
    // The owner's retract and the receiver's take race on one CAS: exactly one wins.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(0);
        let c = counter.clone();
        let sender = thread::spawn(move || match tx.send_timeout(Counted::new(1, &c), SOON) {
            Ok(()) => true,
            Err(SendTimeoutError::Timeout(v)) => {
                assert_eq!(v.id, 1);
                false
            }
            Err(SendTimeoutError::Disconnected(_)) => panic!("the receiver is alive"),
        });
        let received = rx.recv_timeout(SOON);
        let sent = sender.join().unwrap();
        assert_eq!(sent, received.is_ok(), "a send succeeds exactly when the value was received");
        drop(received);
        assert_eq!(drops(&counter), 1);
    });
}

#[test]
fn rendezvous_try_send_never_strands_a_value() {
    // try_send hands over only while a receiver waits; the receiver may give up at any moment.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(0);
        let receiver = thread::spawn(move || rx.recv_timeout(SOON).ok().map(|v: Counted| v.id));
        let sent = match tx.try_send(Counted::new(1, &counter)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => false,
            Err(TrySendError::Disconnected(_)) => false,
        };
        let received = receiver.join().unwrap();
        assert_eq!(sent, received == Some(1));
        assert_eq!(drops(&counter), 1);
    });
}

#[test]
fn rendezvous_try_send_never_counts_a_receiver_that_already_took_a_value() {
    // The receiver takes the blocking sender's value and leaves; a `try_send` that claims the
    // slot right after must not count it as still waiting (it uncounts itself before freeing
    // the slot), or the value would be left with nobody to take it.
    loom::model(|| {
        let (tx, rx) = bounded(0);
        let tx2 = tx.clone();
        let blocking = thread::spawn(move || tx.send_timeout(1, SOON).is_ok());
        let trying = thread::spawn(move || tx2.try_send(2).is_ok());
        let received = rx.recv_timeout(SOON).ok();
        let sent = [blocking.join().unwrap(), trying.join().unwrap()];
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected), "no value is stranded");
        let expected = match received {
            None => [false, false],
            Some(1) => [true, false],
            Some(2) => [false, true],
            Some(other) => panic!("received {other}"),
        };
        assert_eq!(sent, expected, "a send succeeds exactly when its value was received");
    });
}

#[test]
fn rendezvous_try_send_takes_back_only_its_own_value() {
    // Two `try_send`s and a receiver that receives twice: a sender that read a count of zero
    // after the receiver took its value must not take back the *other* sender's value, left
    // in the slot it has since claimed (module docs of `rendezvous.rs`, "Why a generation").
    // The race needs three preemptions (the suite runs at two): checked, a retract that accepts
    // any generation's LEFT fails here at three and passes at two.
    model_at_preemptions(3, || {
        let (tx, rx) = bounded(0);
        let tx2 = tx.clone();
        let receiver = thread::spawn(move || {
            let got: Vec<i32> = (0..2).filter_map(|_| rx.recv_timeout(SOON).ok()).collect();
            (got, rx)
        });
        let other = thread::spawn(move || match tx2.try_send(2) {
            Ok(()) => true,
            Err(TrySendError::Full(back)) => {
                assert_eq!(back, 2, "a failed try_send hands back its own value");
                false
            }
            Err(TrySendError::Disconnected(_)) => panic!("the receiver is alive"),
        });
        let sent_1 = match tx.try_send(1) {
            Ok(()) => true,
            Err(TrySendError::Full(back)) => {
                assert_eq!(back, 1, "a failed try_send hands back its own value");
                false
            }
            Err(TrySendError::Disconnected(_)) => panic!("the receiver is alive"),
        };
        let sent_2 = other.join().unwrap();
        let (got, rx) = receiver.join().unwrap();
        assert!(rx.try_recv().is_err(), "no value is stranded");
        assert_eq!(got.contains(&1), sent_1, "1 was received exactly when its send succeeded");
        assert_eq!(got.contains(&2), sent_2, "2 was received exactly when its send succeeded");
    });
}

#[test]
fn rendezvous_sender_blocked_while_receiver_drops() {
    loom::model(|| {
        let (tx, rx) = bounded::<i32>(0);
        let sender = thread::spawn(move || tx.send(1));
        drop(rx);
        assert_eq!(sender.join().unwrap().map_err(|e| e.into_inner()), Err(1));
    });
}

#[test]
fn rendezvous_no_value_after_disconnected() {
    // A `close` from a third handle races a send that has passed its disconnection check: a
    // receive that reported `Disconnected` must not be followed by one that gets the value
    // (the send then claimed the slot after the receiver's look, and must fail). Found by
    // review: the sender claimed before the close, the receiver saw `WRITING` and the flag and
    // reported `Disconnected`, and a second receive took the value the sender placed next.
    // Four preemptions: the sender stopped after its flag check (a claim after the receiver's
    // look) or after its re-check (a placing the receiver must wait out), the receiver between
    // its two receives, and the sender once more between placing its value and taking it back.
    model_at_preemptions(4, || {
        let (tx, rx) = bounded::<i32>(0);
        let closer = rx.clone();
        // An untimed send: once its value is placed it blocks until taken or disconnected, which
        // lets a receive run in between without another preemption.
        let sender = thread::spawn(move || tx.send(1).is_ok());
        let closing = thread::spawn(move || {
            closer.close();
        });
        let first = rx.try_recv();
        let second = rx.try_recv();
        let sent = sender.join().unwrap();
        closing.join().unwrap();
        if first == Err(TryRecvError::Disconnected) {
            assert_eq!(second, Err(TryRecvError::Disconnected), "a value after `Disconnected`");
        }
        assert_eq!(sent, first == Ok(1) || second == Ok(1), "sent exactly when received");
    });
}

#[test]
fn rendezvous_send_timeout_leaves_its_value_to_a_blocked_receiver() {
    // A timed send whose deadline passes while a receiver is blocked in `recv` leaves its value
    // to that receiver, as `try_send` does: it returns `Ok` only if the value is received, and
    // the value is received once (a second receive, after the sender is gone, finds nothing).
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(0);
        let receiver = thread::spawn(move || rx.recv().ok().map(|v: Counted| v.id));
        let sent = tx.send_timeout(Counted::new(1, &counter), SOON).is_ok();
        drop(tx); // the receiver's recv ends: with the value, or disconnected
        let received = receiver.join().unwrap();
        assert_eq!(sent, received == Some(1), "sent exactly when received");
        assert_eq!(drops(&counter), 1);
    });
}

#[test]
fn every_senders_last_value_is_drained_before_disconnected() {
    // Two senders on their own threads each send once and drop; the receiver (a third thread)
    // that sees "disconnected" must have seen both values: the sender count's AcqRel chain
    // publishes the first sender's push to the last sender's disconnect.
    loom::model(|| {
        let (tx, rx) = bounded(2);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(v).unwrap())
            })
            .collect();
        drop(tx);
        let mut got: Vec<i32> = rx.iter().collect();
        for s in senders {
            s.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn two_senders_two_receivers_nobody_left_parked() {
    // A receiver woken by the younger of two pushes can find the older push still writing its
    // slot; a registered receiver waits for that write instead of reporting "empty" (the
    // sender that claimed the slot before the receiver registered does not notify). Both
    // receivers must get their values with no disconnection to wake them.
    //
    // One preemption: at two, loom explores schedules in which the two receivers, both waiting
    // for the same preempted sender's write, yield to each other forever (a yield does not make
    // loom schedule the thread they wait for), and the model never ends. The races of the
    // registration itself are covered at two preemptions by the one-receiver models.
    model_with_preemptions(1, || {
        let (tx, rx) = bounded(2);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(v).unwrap())
            })
            .collect();
        let rx2 = rx.clone();
        let other = thread::spawn(move || rx2.recv().unwrap());
        let mine = rx.recv().unwrap();
        let theirs = other.join().unwrap();
        for s in senders {
            s.join().unwrap();
        }
        // `tx` lives until here: a disconnection's notify_all must not be what wakes the
        // receivers (it would hide a lost wakeup).
        drop(tx);
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn a_parked_receive_claimed_before_its_count_strands_no_receiver() {
    // Two receivers and one sender that stays alive (no disconnection to wake anyone). The
    // receiver that claims the parked receive is counted in the ring's tail word only after its
    // claim; a push in between that counts the *other* receiver must not serve the claim (and
    // lower the other receiver's count on its behalf): the next push would then see no waiting
    // receiver, wake nobody, and leave the other receiver asleep with a value in the ring
    // (`parked_recv.rs`, "Why no value waits unseen"; found by review, deadlocks at two
    // preemptions with the claim to `WAITING`).
    model_at_preemptions(2, || {
        let (tx, rx) = bounded(2);
        let rx2 = rx.clone();
        let other = thread::spawn(move || rx2.recv().unwrap());
        let tx2 = tx.clone();
        let sender = thread::spawn(move || {
            tx2.send(1).unwrap();
            tx2.send(2).unwrap();
        });
        let mine = rx.recv().unwrap();
        let theirs = other.join().unwrap();
        sender.join().unwrap();
        drop(tx);
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

// Parked sends (`src/channel/parked_send.rs`): a blocking sender that finds the ring full parks its
// value where the receivers' pops push it into the room they free.

#[test]
fn parked_sends_are_pushed_by_pops_in_order() {
    loom::model(|| {
        let (tx, rx) = bounded(1);
        let keep = tx.clone();
        let sender = thread::spawn(move || {
            for v in 1..=3 {
                tx.send(v).unwrap();
            }
        });
        for v in 1..=3 {
            assert_eq!(rx.recv(), Ok(v), "parked values keep their sender's order");
        }
        sender.join().unwrap();
        assert_eq!(keep.waiting_counts(), (0, 0), "every parked send left the waiting senders");
        assert!(keep.parked_slots_are_free());
    });
}

#[test]
fn a_parked_send_and_a_waiting_send_both_land() {
    // The first blocked sender parks its value; the second finds the slot taken and waits on
    // `send_wait`. One pop pushes the parked value, the next wakes the waiting sender.
    // One preemption: three threads around a capacity-1 ring explode at two.
    model_with_preemptions(1, || {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(v).unwrap())
            })
            .collect();
        let mut got: Vec<i32> = (0..3).map(|_| rx.recv().unwrap()).collect();
        for s in senders {
            s.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(tx.waiting_counts(), (0, 0));
        assert!(tx.parked_slots_are_free());
    });
}

#[test]
fn a_value_a_receiver_parked_again_is_pushed_by_its_owner() {
    // A receiver that pops, finds the parked value, and loses the room it freed to another
    // sender (its `try_send`) parks the value again (`FULL`) and leaves. When that happens
    // between the owner's park and its re-check, the owner's re-check takes the value over
    // from the receiver: only its Acquire CAS (`owner_push`) orders the receiver's access to
    // the cell before the owner's. The receiver is a thread of its own that ends after its
    // one receive, so that the owner can run right after it. Even so loom needs three
    // preemptions to reach the put-back (a panic planted there never fired at two). At three
    // the model takes 6.5 minutes alone on the 2-core VM, 60% of the whole suite's time, so it
    // runs at `LOOM_MAX_PREEMPTIONS` up to three: at the suite's two (30 s) it checks every
    // other path of the parked value; `scripts/loom-deep.sh` runs it at three, where it kills
    // the Relaxed mutant of that CAS (a causality violation on the cell) in 11 s.
    model_with_preemptions(3, || {
        let (tx, rx) = bounded(1);
        tx.send(0).unwrap();
        let owner = {
            let tx = tx.clone();
            thread::spawn(move || tx.send(1).unwrap())
        };
        let other = {
            let tx = tx.clone();
            thread::spawn(move || tx.try_send(2).is_ok())
        };
        let receiver = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv().unwrap())
        };
        // Joined before the next receive: the fewer threads run around the blocking receives,
        // the shorter loom's paths.
        let mut got = vec![receiver.join().unwrap()];
        let other_sent = other.join().unwrap();
        got.push(rx.recv().unwrap());
        if other_sent {
            got.push(rx.recv().unwrap());
        }
        owner.join().unwrap();
        got.sort_unstable();
        let expected = if other_sent { vec![0, 1, 2] } else { vec![0, 1] };
        assert_eq!(got, expected, "every value sent arrives once");
        assert_eq!(tx.waiting_counts(), (0, 0));
        assert!(tx.parked_slots_are_free());
    });
}

#[test]
fn parked_send_gets_its_value_back_when_the_receiver_drops() {
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = bounded(1);
        tx.send(Counted::new(0, &counter)).unwrap();
        let keep = tx.clone();
        let c = counter.clone();
        let sender = thread::spawn(move || tx.send(Counted::new(1, &c)).map_err(|e| e.into_inner().id));
        let first = rx.recv().map(|v| v.id);
        drop(rx);
        match sender.join().unwrap() {
            // The pop pushed the parked value before the drop: the drop then dropped it.
            Ok(()) => {}
            Err(id) => assert_eq!(id, 1, "handed back to its sender"),
        }
        assert_eq!(first, Ok(0));
        assert_eq!(keep.waiting_counts(), (0, 0));
        assert!(keep.parked_slots_are_free());
        // A push still writing its slot when the receiver drained the ring is dropped with
        // the channel.
        drop(keep);
        assert_eq!(drops(&counter), 2, "each value dropped exactly once");
    });
}

#[test]
fn a_recv_after_a_close_waits_for_a_send_still_writing() {
    // `Chan::close` (the actor's `stop` and `kill`) disconnects while senders live: a send
    // that claimed its slot before the close succeeds, so its value must be received. A
    // receive that sees the close while that send is still writing must wait for it (a
    // registered pop), not report `Disconnected` past it.
    // (The unbounded flavor's pop always waits for a send still writing.) On a zero-capacity
    // channel (`Sender::close` made it reachable with live receivers) the send waits in the
    // slot: the close wakes it, and either this receive takes the value (sent) or the sender
    // takes it back.
    // Every way to receive: blocking, `try_recv` (which may wait those few instructions here,
    // as for a channel whose last sender dropped it never has to), and an async receive's
    // first poll.
    for capacity in [Some(1), None, Some(0)] {
        for kind in [ReceiveKind::Blocking, ReceiveKind::Try, ReceiveKind::AsyncFirstPoll] {
            loom::model(move || {
                let (tx, rx) = capacity.map_or_else(unbounded, bounded);
                let sender = {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(1).is_ok())
                };
                tx.close_for_model();
                let received = kind.receive_after_close(&rx);
                let sent = sender.join().unwrap();
                assert_eq!(received.is_some(), sent, "a value is received exactly when its send succeeded");
                assert_eq!(rx.recv().ok(), None);
            });
        }
    }
}

/// How `a_recv_after_a_close_waits_for_a_send_still_writing` receives.
#[derive(Clone, Copy, Debug)]
enum ReceiveKind {
    Blocking,
    Try,
    AsyncFirstPoll,
}

impl ReceiveKind {
    /// One receive on a closed channel: the value, or `None` for `Disconnected`.
    fn receive_after_close(self, rx: &Receiver<i32>) -> Option<i32> {
        match self {
            ReceiveKind::Blocking => rx.recv().ok(),
            ReceiveKind::Try => match rx.try_recv() {
                Ok(value) => Some(value),
                Err(TryRecvError::Disconnected) => None,
                Err(TryRecvError::Empty) => panic!("a closed channel reports Empty"),
            },
            ReceiveKind::AsyncFirstPoll => {
                let mut receive = std::pin::pin!(rx.recv_async());
                match receive.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(result) => result.ok(),
                    Poll::Pending => panic!("a receive on a closed channel waits"),
                }
            }
        }
    }
}
