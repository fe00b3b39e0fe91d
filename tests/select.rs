//! `channel::Selector`: exactly one operation completes, nothing is lost or duplicated, on every
//! flavor, blocking and not, with threads and tasks on the other ends. Blocking scenarios run
//! under a watchdog; no test asserts on timing.
#![cfg(not(loom))]

mod common;

use common::{DropCounter, SETTLE, Tracked, WATCHDOG, flavors, within};
use ringfence::channel::{
    RecvError, SelectTimeoutError, Selector, SendError, TryRecvError, TrySelectError, bounded, unbounded,
};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn try_wait_receives_a_ready_value_and_takes_nothing_otherwise() {
    for (name, tx, rx) in flavors::<u32>() {
        let (other_tx, other) = bounded::<u32>(4);
        assert_eq!(
            Selector::new().recv(&rx, |v| v).recv(&other, |v| v).try_wait(),
            Err(TrySelectError),
            "{name}: nothing ready"
        );
        if tx.capacity() != Some(0) {
            tx.send(1).unwrap();
            let got = Selector::new().recv(&other, |v| ('o', v)).recv(&rx, |v| ('r', v)).try_wait();
            assert_eq!(got, Ok(('r', Ok(1))), "{name}");
        }
        other_tx.send(2).unwrap();
        let got = Selector::new().recv(&rx, |v| ('r', v)).recv(&other, |v| ('o', v)).try_wait();
        assert_eq!(got, Ok(('o', Ok(2))), "{name}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{name}: nothing else taken");
    }
}

#[test]
fn a_disconnected_channel_is_ready_with_its_error() {
    for (name, tx, rx) in flavors::<u32>() {
        let (_keep, other) = bounded::<u32>(1);
        drop(tx);
        let got = Selector::new().recv(&other, |v| ('o', v)).recv(&rx, |v| ('r', v)).wait();
        assert_eq!(got, ('r', Err(RecvError)), "{name}");

        let (tx, rx) = match name {
            "rendezvous" => bounded::<u32>(0),
            "unbounded" => unbounded(),
            _ => bounded(4),
        };
        drop(rx);
        let mut value = Some(7);
        let got = Selector::new().recv(&other, |_| None).send(&tx, &mut value, Some).wait();
        assert_eq!(got, Some(Err(SendError(7))), "{name}: the value comes back in the error");
        assert_eq!(value, None, "{name}");
    }
}

#[test]
fn a_send_that_does_not_complete_leaves_its_value_with_the_caller() {
    // Full buffered, and a rendezvous channel with nobody receiving.
    for capacity in [0, 1] {
        let (tx, rx) = bounded::<u32>(capacity);
        if capacity == 1 {
            tx.send(0).unwrap();
        }
        let mut value = Some(5);
        assert_eq!(Selector::new().send(&tx, &mut value, |r| r.is_ok()).try_wait(), Err(TrySelectError));
        assert_eq!(value, Some(5), "capacity {capacity}: try_wait");
        let got =
            Selector::new().send(&tx, &mut value, |r| r.is_ok()).wait_timeout(Duration::from_millis(20));
        assert_eq!(got, Err(SelectTimeoutError), "capacity {capacity}");
        assert_eq!(value, Some(5), "capacity {capacity}: timed out");
        if capacity == 1 {
            assert_eq!(rx.recv(), Ok(0));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "capacity {capacity}: the value was not sent");
    }
}

#[test]
fn an_empty_option_switches_a_send_off() {
    let (tx, rx) = bounded::<u32>(4);
    let (other_tx, other) = bounded::<u32>(4);
    let mut nothing = None;
    assert_eq!(Selector::new().send(&tx, &mut nothing, |_| 's').try_wait(), Err(TrySelectError));
    other_tx.send(1).unwrap();
    let got = Selector::new().send(&tx, &mut nothing, |_| 's').recv(&other, |_| 'r').wait();
    assert_eq!(got, 'r');
    assert!(rx.is_empty());
}

#[test]
#[should_panic(expected = "Selector::wait with no operation switched on would block forever")]
fn waiting_with_nothing_switched_on_panics() {
    let (tx, _rx) = bounded::<u32>(4);
    let mut nothing = None;
    Selector::new().send(&tx, &mut nothing, |_| ()).wait();
}

#[test]
fn waiting_with_nothing_switched_on_and_a_timeout_sleeps_and_fails() {
    let start = Instant::now();
    assert_eq!(Selector::<()>::new().wait_timeout(Duration::from_millis(10)), Err(SelectTimeoutError));
    assert!(start.elapsed() >= Duration::from_millis(10), "it waited out its timeout");
}

#[test]
#[should_panic(expected = "a Selector holds at most one send to a zero-capacity channel")]
fn a_second_rendezvous_send_panics() {
    let (a, _ra) = bounded::<u32>(0);
    let (b, _rb) = bounded::<u32>(0);
    let (mut x, mut y) = (Some(1), Some(2));
    let _ = Selector::new().send(&a, &mut x, |_| ()).send(&b, &mut y, |_| ());
}

#[test]
fn biased_prefers_the_first_operation_and_unbiased_rotates() {
    let (a_tx, a) = unbounded::<u32>();
    let (b_tx, b) = unbounded::<u32>();
    for i in 0..100 {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
    }
    for _ in 0..10 {
        assert_eq!(Selector::new().recv(&a, |_| 'a').recv(&b, |_| 'b').biased().wait(), 'a');
    }
    let mut from_b = 0;
    for _ in 0..40 {
        if Selector::new().recv(&a, |_| 'a').recv(&b, |_| 'b').wait() == 'b' {
            from_b += 1;
        }
    }
    // The start rotates by one per call on this thread: each is first half the time.
    assert_eq!(from_b, 20, "both operations get their turn");
}

#[test]
fn wait_is_woken_by_a_send_on_any_flavor() {
    for (name, tx, rx) in flavors::<u32>() {
        let (_idle_tx, idle) = bounded::<u32>(1);
        let (_idle2_tx, idle2) = unbounded::<u32>();
        within(WATCHDOG, move || {
            let sender = thread::spawn(move || {
                thread::sleep(SETTLE);
                tx.send(42).unwrap();
            });
            let got = Selector::new()
                .recv(&idle, |v| ('i', v))
                .recv(&rx, |v| ('r', v))
                .recv(&idle2, |v| ('j', v))
                .wait();
            assert_eq!(got, ('r', Ok(42)), "{name}");
            sender.join().unwrap();
        });
    }
}

#[test]
fn a_send_waits_for_room_or_a_receiver() {
    for capacity in [0, 1, 3] {
        let (tx, rx) = bounded::<u32>(capacity);
        for i in 0..capacity {
            tx.send(i as u32).unwrap(); // full
        }
        let (_idle_tx, idle) = bounded::<u32>(1);
        within(WATCHDOG, move || {
            let receiver = thread::spawn(move || {
                thread::sleep(SETTLE);
                rx.iter().take(capacity + 1).collect::<Vec<_>>()
            });
            let mut value = Some(99);
            let got = Selector::new()
                .recv(&idle, |_| Ok("recv"))
                .send(&tx, &mut value, |r| r.map(|()| "sent"))
                .wait();
            assert_eq!(got, Ok("sent"));
            assert_eq!(value, None);
            let mut expected: Vec<u32> = (0..capacity as u32).collect();
            expected.push(99);
            assert_eq!(receiver.join().unwrap(), expected, "capacity {capacity}");
        });
    }
}

#[test]
fn a_timed_out_wait_takes_nothing_and_the_channels_work_on() {
    for (name, tx, rx) in flavors::<u32>() {
        let (other_tx, other) = bounded::<u32>(0);
        let mut value = Some(1);
        let got = Selector::new()
            .recv(&rx, |_| ())
            .send(&other_tx, &mut value, |_| ())
            .wait_timeout(Duration::from_millis(15));
        assert_eq!(got, Err(SelectTimeoutError), "{name}");
        assert_eq!(value, Some(1), "{name}");
        // Both channels still work both ways (no waiter left behind to steal a wakeup).
        within(WATCHDOG, move || {
            let t = thread::spawn(move || {
                tx.send(3).unwrap();
                other.recv().unwrap()
            });
            assert_eq!(rx.recv(), Ok(3));
            other_tx.send(4).unwrap();
            assert_eq!(t.join().unwrap(), 4);
        });
    }
}

#[test]
fn a_panicking_closure_leaves_the_other_operations_cancelled() {
    let (a_tx, a) = bounded::<u32>(1);
    let (b_tx, b) = bounded::<u32>(0);
    let mut value = Some(5);
    a_tx.send(1).unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Selector::new()
            .send(&b_tx, &mut value, |_| ())
            .recv(&a, |_| panic!("the closure panics"))
            .biased()
            .wait()
    }));
    assert!(outcome.is_err());
    assert_eq!(value, Some(5), "the send did not complete");
    assert_eq!(b.try_recv(), Err(TryRecvError::Empty));
    // `b` still hands over (no stale owner in its slot).
    within(WATCHDOG, move || {
        let t = thread::spawn(move || b.recv().unwrap());
        b_tx.send(6).unwrap();
        assert_eq!(t.join().unwrap(), 6);
    });
}

/// Several producers on channels of every flavor, two selecting consumers: every value is
/// received exactly once, and none is dropped unreceived.
#[test]
fn selecting_consumers_receive_every_value_exactly_once() {
    const PER_PRODUCER: u64 = 20_000;
    within(WATCHDOG, || {
        let counter = DropCounter::new();
        let channels = flavors::<Tracked>();
        let receivers: Vec<_> = channels.iter().map(|(_, _, rx)| rx.clone()).collect();
        let producers: Vec<_> = channels
            .into_iter()
            .enumerate()
            .map(|(c, (_, tx, _))| {
                let counter = counter.clone();
                thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        tx.send(counter.make(c as u64 * PER_PRODUCER + i)).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let rx = receivers.clone();
                thread::spawn(move || {
                    let mut ids = Vec::new();
                    let mut open = [true; 4];
                    while open.iter().any(|&o| o) {
                        // A closure per channel; a disconnected one is dropped from the set by
                        // not adding it (its error would be ready at once, every time).
                        let mut got = None;
                        let mut sel: Vec<usize> = (0..4).filter(|&c| open[c]).collect();
                        let shift = ids.len() % sel.len();
                        sel.rotate_left(shift);
                        let picked = match sel.len() {
                            4 => Selector::new()
                                .recv(&rx[sel[0]], |v| (sel[0], v))
                                .recv(&rx[sel[1]], |v| (sel[1], v))
                                .recv(&rx[sel[2]], |v| (sel[2], v))
                                .recv(&rx[sel[3]], |v| (sel[3], v))
                                .wait(),
                            3 => Selector::new()
                                .recv(&rx[sel[0]], |v| (sel[0], v))
                                .recv(&rx[sel[1]], |v| (sel[1], v))
                                .recv(&rx[sel[2]], |v| (sel[2], v))
                                .wait(),
                            2 => Selector::new()
                                .recv(&rx[sel[0]], |v| (sel[0], v))
                                .recv(&rx[sel[1]], |v| (sel[1], v))
                                .wait(),
                            _ => Selector::new().recv(&rx[sel[0]], |v| (sel[0], v)).wait(),
                        };
                        match picked {
                            (_, Ok(value)) => got = Some(value.into_id()),
                            (c, Err(RecvError)) => open[c] = false,
                        }
                        ids.extend(got);
                    }
                    ids
                })
            })
            .collect();
        drop(receivers);
        for p in producers {
            p.join().unwrap();
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for c in consumers {
            for id in c.join().unwrap() {
                assert!(seen.insert(id), "value {id} received twice");
                total += 1;
            }
        }
        assert_eq!(total, 4 * PER_PRODUCER, "every value received");
        assert_eq!(counter.live(), 0, "no value left behind");
    });
}

/// A selecting sender offering each value to a rendezvous channel and a buffered one at once
/// (one `Cell` shared by both sends), racing a timed receiver on each: every value goes to
/// exactly one channel, none is lost or doubled, and a value not sent stays in the cell.
#[test]
fn a_selecting_sender_sends_each_value_exactly_once() {
    const VALUES: u64 = 20_000;
    within(WATCHDOG, || {
        let (rdv_tx, rdv) = bounded::<u64>(0);
        let (buf_tx, buf) = bounded::<u64>(2);
        let received = Arc::new(AtomicUsize::new(0));
        let receivers: Vec<_> = [rdv, buf]
            .into_iter()
            .map(|rx| {
                let received = Arc::clone(&received);
                thread::spawn(move || {
                    let mut got = Vec::new();
                    // Timed receives, so the rendezvous receiver is sometimes not there.
                    loop {
                        match rx.recv_timeout(Duration::from_micros(50)) {
                            Ok(v) => {
                                got.push(v);
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) if e.is_disconnected() => break got,
                            Err(_) => {}
                        }
                    }
                })
            })
            .collect();
        let (mut to_rdv, mut to_buf) = (0u64, 0u64);
        for v in 0..VALUES {
            // One value offered to both channels: it goes to whichever takes it first.
            let value = Cell::new(Some(v));
            loop {
                let got = Selector::new()
                    .send(&rdv_tx, &value, |r| r.map(|()| 'r'))
                    .send(&buf_tx, &value, |r| r.map(|()| 'b'))
                    .wait_timeout(Duration::from_millis(1));
                match got {
                    Ok(Ok('r')) => to_rdv += 1,
                    Ok(Ok(_)) => to_buf += 1,
                    Ok(Err(SendError(_))) => panic!("disconnected"),
                    Err(SelectTimeoutError) => {
                        assert_eq!(value.take(), Some(v), "a timed-out selection keeps the value");
                        value.set(Some(v));
                        continue;
                    }
                }
                assert_eq!(value.take(), None, "a sent value left the caller's cell");
                break;
            }
        }
        drop((rdv_tx, buf_tx));
        let mut all: Vec<u64> = receivers.into_iter().flat_map(|r| r.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..VALUES).collect::<Vec<_>>(), "each value received exactly once");
        assert_eq!(to_rdv + to_buf, VALUES);
        assert_eq!(received.load(Ordering::Relaxed) as u64, VALUES);
    });
}

/// The rendezvous send's race: a selector offering a value on a zero-capacity channel and
/// waiting for a value on another, against a receiver of the first and a sender of the second,
/// both arriving at about the same time. Exactly one operation completes each round.
#[test]
fn a_rendezvous_send_and_a_receive_never_both_complete() {
    const ROUNDS: usize = 3_000;
    within(WATCHDOG, || {
        let (offer_tx, offer_rx) = bounded::<usize>(0);
        let (input_tx, input) = bounded::<usize>(1);
        let start = Arc::new(Barrier::new(3));
        let taker = {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let mut taken = Vec::new();
                for _ in 0..ROUNDS {
                    start.wait();
                    if let Ok(v) = offer_rx.recv_timeout(Duration::from_micros(200)) {
                        taken.push(v);
                    }
                    start.wait();
                }
                taken
            })
        };
        let feeder = {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    start.wait();
                    // Sometimes no input at all: then only the offer can complete (or nothing).
                    if round % 3 != 0 {
                        input_tx.send(round).unwrap();
                    }
                    start.wait();
                }
            })
        };
        let (mut offered, mut inputs) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            start.wait();
            let mut value = Some(round);
            let got = Selector::new()
                .send(&offer_tx, &mut value, |r| r.map(|()| None))
                .recv(&input, |v| Ok(Some(v.unwrap())))
                .wait_timeout(Duration::from_micros(300));
            match got {
                Ok(Ok(None)) => {
                    assert_eq!(value, None, "round {round}: sent");
                    offered.push(round);
                }
                Ok(Ok(Some(v))) => {
                    assert_eq!(value, Some(round), "round {round}: the offer stayed ours");
                    inputs.push(v);
                }
                Ok(Err(SendError(_))) => panic!("round {round}: disconnected"),
                Err(SelectTimeoutError) => assert_eq!(value, Some(round), "round {round}: timed out"),
            }
            start.wait();
            // An input left unreceived this round: take it now, so rounds stay apart.
            if let Ok(v) = input.try_recv() {
                inputs.push(v);
            }
        }
        drop(offer_tx);
        let taken = taker.join().unwrap();
        feeder.join().unwrap();
        assert_eq!(taken, offered, "a value the selector counted as sent was received, and only those");
        let expected: Vec<usize> = (0..ROUNDS).filter(|r| r % 3 != 0).collect();
        assert_eq!(inputs, expected, "every input received once");
    });
}
