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
fn biased_prefers_the_first_operation_and_unbiased_spreads() {
    let (a_tx, a) = unbounded::<u32>();
    let (b_tx, b) = unbounded::<u32>();
    for i in 0..300 {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
    }
    for _ in 0..10 {
        assert_eq!(Selector::new().recv(&a, |_| 'a').recv(&b, |_| 'b').biased().wait(), 'a');
    }
    let from_b =
        (0..200).filter(|_| Selector::new().recv(&a, |_| 'a').recv(&b, |_| 'b').wait() == 'b').count();
    // A random start: about half each (below 40 has a chance of about 1e-18).
    assert!((40..=160).contains(&from_b), "both operations get their turn: {from_b} of 200 from b");
}

/// Found by review: a start rotating per thread gave two selectors that alternate on one
/// thread the same start every time, and the second operation of each never completed.
#[test]
fn alternating_selectors_starve_no_operation() {
    let channels: Vec<_> = (0..4).map(|_| unbounded::<u32>()).collect();
    for (tx, _) in &channels {
        (0..200).for_each(|i| tx.send(i).unwrap());
    }
    let rx: Vec<_> = channels.iter().map(|(_, rx)| rx).collect();
    let mut from_second = 0;
    for _ in 0..100 {
        if Selector::new().recv(rx[0], |_| 0).recv(rx[1], |_| 1).wait() == 1 {
            from_second += 1;
        }
        // A control channel checked between work items, say.
        Selector::new().recv(rx[2], |_| ()).recv(rx[3], |_| ()).wait();
    }
    assert!(from_second > 0, "the second operation, always ready, never completed in 100 calls");
}

/// Found by review: the completed operation's closure ran before the other operations left
/// their queues, so a send there inside the closure woke the selector's stale registration
/// instead of the thread blocked on that channel, until the closure returned (a deadlock when
/// the closure waits for that thread).
#[test]
fn the_closure_runs_after_the_other_operations_left_their_channels() {
    within(WATCHDOG, || {
        let (a_tx, a) = bounded::<u32>(4);
        let (b_tx, b) = bounded::<u32>(4);
        let b2 = b.clone();
        let (ack_tx, ack) = bounded::<u32>(1);
        // Blocks in `b.recv()` after the selector registered on `b`.
        let blocked = thread::spawn(move || {
            thread::sleep(SETTLE * 2);
            ack_tx.send(b2.recv().unwrap()).unwrap();
        });
        let feeder = thread::spawn(move || {
            thread::sleep(SETTLE * 4);
            a_tx.send(1).unwrap();
        });
        let got = Selector::new()
            .recv(&a, |_| {
                // Hand a value to the blocked thread and wait for its answer.
                b_tx.send(7).unwrap();
                ack.recv_timeout(WATCHDOG / 2).ok()
            })
            .recv(&b, |_| None)
            .wait();
        assert_eq!(got, Some(7), "the thread blocked in b.recv() was woken by the closure's send");
        blocked.join().unwrap();
        feeder.join().unwrap();
    });
}

#[test]
#[should_panic(expected = "a Selector cannot both send to and receive from one zero-capacity channel")]
fn a_send_and_a_receive_on_one_rendezvous_channel_panic() {
    // Found by review: its placed value woke its own receive every round (a busy loop).
    let (tx, rx) = bounded::<u32>(0);
    let mut value = Some(1);
    let _ = Selector::new().recv(&rx, |_| ()).send(&tx, &mut value, |_| ());
}

#[test]
#[should_panic(expected = "a Selector cannot both send to and receive from one zero-capacity channel")]
fn a_receive_after_a_send_on_one_rendezvous_channel_panics() {
    let (tx, rx) = bounded::<u32>(0);
    let mut value = Some(1);
    let _ = Selector::new().send(&tx, &mut value, |_| ()).recv(&rx, |_| ());
}

#[test]
fn a_zero_timeout_takes_nothing_and_leaves_the_offer_with_the_caller() {
    let (tx, rx) = bounded::<u32>(0);
    let (_other_tx, other) = bounded::<u32>(1);
    let mut value = Some(1);
    let got = Selector::new().send(&tx, &mut value, |_| ()).recv(&other, |_| ()).wait_timeout(Duration::ZERO);
    assert_eq!(got, Err(SelectTimeoutError));
    assert_eq!(value, Some(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
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

/// Several producers on channels of every flavor, two consumers selecting over the set still
/// open (`recv_any`): every value is received exactly once, and none is dropped unreceived.
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
                    // The open channels: a disconnected one leaves the set (its error would be
                    // ready at once, every time).
                    let mut open = rx;
                    while !open.is_empty() {
                        match Selector::new().recv_any(&open, |index, got| (index, got)).wait() {
                            (_, Ok(value)) => ids.push(value.into_id()),
                            (index, Err(RecvError)) => drop(open.swap_remove(index)),
                        }
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

/// The only receiver of a small buffered channel parks a request that a sender fills
/// (`parked_recv.rs`): one selecting consumer of two capacity-1 channels, nothing lost or
/// doubled (adapted from a review's check).
#[test]
fn a_single_selecting_receiver_of_capacity_one_channels_gets_every_value_once() {
    const N: u32 = 20_000;
    within(WATCHDOG, || {
        let (a_tx, a) = bounded::<u32>(1);
        let (b_tx, b) = bounded::<u32>(1);
        let pa = thread::spawn(move || (0..N).for_each(|i| a_tx.send(2 * i).unwrap()));
        let pb = thread::spawn(move || (0..N).for_each(|i| b_tx.send(2 * i + 1).unwrap()));
        let mut got = Vec::new();
        let (mut a_open, mut b_open) = (true, true);
        while a_open || b_open {
            let picked = match (a_open, b_open) {
                (true, true) => Selector::new().recv(&a, |v| (0, v)).recv(&b, |v| (1, v)).wait(),
                (true, false) => Selector::new().recv(&a, |v| (0, v)).wait(),
                _ => Selector::new().recv(&b, |v| (1, v)).wait(),
            };
            match picked {
                (_, Ok(v)) => got.push(v),
                (0, Err(_)) => a_open = false,
                _ => b_open = false,
            }
        }
        pa.join().unwrap();
        pb.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..2 * N).collect::<Vec<_>>());
    });
}

/// A send and a receive on one buffered channel in each of two threads' selectors: every value
/// sent is received once or is still in the channel (adapted from a review's check).
#[test]
fn a_send_and_a_receive_on_one_buffered_channel_lose_and_double_nothing() {
    for capacity in [1usize, 16] {
        within(WATCHDOG, move || {
            let (tx, rx) = bounded::<u64>(capacity);
            let workers: Vec<_> = (0..2u64)
                .map(|w| {
                    let (tx, rx) = (tx.clone(), rx.clone());
                    thread::spawn(move || {
                        let (mut sent, mut got) = (Vec::new(), Vec::new());
                        let mut next = 0u64;
                        let mut value = Some(w << 32);
                        for _ in 0..20_000 {
                            let picked = Selector::new()
                                .send(&tx, &mut value, |r| r.map(|()| None).ok())
                                .recv(&rx, |v| v.ok().map(Some))
                                .wait();
                            match picked {
                                Some(None) => {
                                    assert!(value.is_none());
                                    sent.push((w << 32) | next);
                                    next += 1;
                                    value = Some((w << 32) | next);
                                }
                                Some(Some(v)) => got.push(v),
                                None => panic!("disconnected"),
                            }
                        }
                        (sent, got)
                    })
                })
                .collect();
            let (mut sent, mut got) = (Vec::new(), Vec::new());
            for worker in workers {
                let (s, g) = worker.join().unwrap();
                sent.extend(s);
                got.extend(g);
            }
            got.extend(rx.try_iter());
            sent.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, sent, "capacity {capacity}");
        });
    }
}

/// A selector built on one thread may wait on another (it is `Send` for `Send` operations),
/// and its future may go to `tokio::spawn`, with receives and with sends of a `&mut Option`
/// (found by review: a send made the selector `!Send` whatever its value's holder).
#[test]
fn a_selector_and_its_future_are_send() {
    fn is_send<S: Send>(_: &S) {}
    let (tx, rx) = bounded::<u32>(1);
    let mut value = Some(1);
    let receives = [rx.clone()];
    let selector = Selector::new().recv(&rx, |v| v.is_ok()).send(&tx, &mut value, |r| r.is_ok());
    is_send(&selector);
    let selector = selector.recv_any(&receives, |_, v| v.is_ok());
    is_send(&selector);
    is_send(&selector.wait_async());

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = bounded::<u32>(1);
        let task = tokio::spawn(async move {
            let mut job = Some(1);
            Selector::new().send(&tx, &mut job, |r| r.is_ok()).wait_async().await
        });
        assert!(task.await.unwrap());
        assert_eq!(rx.recv(), Ok(1));
    });
}

#[test]
fn recv_any_over_an_empty_set_is_never_ready() {
    let none: [ringfence::channel::Receiver<u8>; 0] = [];
    assert_eq!(Selector::new().recv_any(&none, |_, _| ()).try_wait(), Err(TrySelectError));
    let (tx, rx) = bounded::<u8>(1);
    tx.send(1).unwrap();
    assert_eq!(Selector::new().recv_any(&none, |_, _| 0).recv(&rx, |v| v.unwrap()).wait(), 1);
}

#[test]
#[should_panic(expected = "Selector::wait with no operation switched on would block forever")]
fn waiting_on_an_empty_recv_any_alone_panics() {
    let none: Vec<ringfence::channel::Receiver<u8>> = Vec::new();
    Selector::new().recv_any(&none, |_, _| ()).wait();
}

#[test]
#[should_panic(expected = "a Selector cannot both send to and receive from one zero-capacity channel")]
fn recv_any_including_the_rendezvous_channel_sent_to_panics() {
    let (tx, rx) = bounded::<u32>(0);
    let (_other_tx, other) = bounded::<u32>(1);
    let mut value = Some(1);
    let receivers = [other, rx];
    let _ = Selector::new().send(&tx, &mut value, |_| ()).recv_any(&receivers, |_, _| ());
}

#[test]
fn recv_any_reports_the_index_and_biased_prefers_the_first() {
    let channels: Vec<_> = (0..3).map(|_| unbounded::<usize>()).collect();
    let receivers: Vec<_> = channels.iter().map(|(_, rx)| rx.clone()).collect();
    for (i, (tx, _)) in channels.iter().enumerate() {
        (0..100).for_each(|_| tx.send(i).unwrap());
    }
    for _ in 0..10 {
        let (index, got) = Selector::new().recv_any(&receivers[1..], |i, v| (i, v)).biased().wait();
        assert_eq!((index, got), (0, Ok(1)), "the slice's first, by its index in the slice");
    }
    let mut seen = [0; 3];
    for _ in 0..150 {
        let (index, got) = Selector::new().recv_any(&receivers, |i, v| (i, v)).wait();
        assert_eq!(got, Ok(index), "the index names the receiver the value came from");
        seen[index] += 1;
    }
    assert!(seen.iter().all(|&n| n > 0), "a random start reaches every receiver: {seen:?}");
}

#[test]
fn recv_any_waits_for_a_send_on_any_of_its_channels() {
    for (name, tx, rx) in flavors::<u32>() {
        let (_a_tx, a) = bounded::<u32>(1);
        let (_b_tx, b) = unbounded::<u32>();
        let receivers = vec![a, rx, b];
        within(WATCHDOG, move || {
            let sender = thread::spawn(move || {
                thread::sleep(SETTLE);
                tx.send(9).unwrap();
            });
            let got = Selector::new().recv_any(&receivers, |i, v| (i, v)).wait();
            assert_eq!(got, (1, Ok(9)), "{name}");
            sender.join().unwrap();
        });
    }
}

/// Found by review: a selector that had to wait in a thread-local's destructor, after the
/// selector's own thread-local waker was destroyed, aborted the process (a panic in a TLS
/// destructor); a plain `recv` works there, and so must a selection.
#[test]
fn a_selection_in_a_thread_local_destructor_waits_as_recv_does() {
    use std::cell::RefCell;

    struct OnExit(Option<ringfence::channel::Receiver<u32>>, std::sync::mpsc::Sender<Option<u32>>);
    impl Drop for OnExit {
        fn drop(&mut self) {
            let rx = self.0.take().unwrap();
            // Two operations: the random order is drawn too.
            let (_idle_tx, idle) = bounded::<u32>(1);
            let got = Selector::new()
                .recv(&idle, |_| None)
                .recv(&rx, |r| r.ok())
                .wait_timeout(WATCHDOG)
                .ok()
                .flatten();
            self.1.send(got).unwrap();
        }
    }
    thread_local! {
        static EXIT: RefCell<Option<OnExit>> = const { RefCell::new(None) };
    }

    let (tx, rx) = bounded::<u32>(1);
    let (warm_tx, warm) = bounded::<u32>(1);
    let (report_tx, report) = std::sync::mpsc::channel();
    let thread = thread::spawn(move || {
        // Registered first: destroyed last, after the selector's waker.
        EXIT.with(|exit| *exit.borrow_mut() = Some(OnExit(Some(rx), report_tx)));
        // A selection that waits, making this thread's waker.
        let _ = Selector::new().recv(&warm, |r| r.ok()).wait_timeout(Duration::from_millis(1));
    });
    thread::sleep(SETTLE);
    tx.send(9).unwrap();
    thread.join().unwrap();
    assert_eq!(report.recv().unwrap(), Some(9));
    drop(warm_tx);
}

/// Found by review: a random start walking by one chose, among two ready operations, the one
/// after a never-ready operation twice as often as the other.
#[test]
fn the_choice_among_ready_operations_does_not_follow_their_order() {
    let (a_tx, a) = bounded::<u8>(1);
    let (b_tx, b) = bounded::<u8>(1);
    let (_c_tx, c) = bounded::<u8>(1);
    let receivers = [a.clone(), b.clone(), c.clone()];
    let (mut counts, mut any) = ([0u32; 2], [0u32; 2]);
    for _ in 0..6_000 {
        let _ = a_tx.try_send(0);
        let _ = b_tx.try_send(0);
        counts[Selector::new().recv(&a, |_| 0).recv(&b, |_| 1).recv(&c, |_| 2).wait()] += 1;
        let _ = a_tx.try_send(0);
        let _ = b_tx.try_send(0);
        any[Selector::new().recv_any(&receivers, |i, _| i).wait()] += 1;
    }
    // Even odds: each near 3 000 (below 2 700 has a chance of about 1e-14).
    for (what, [x, y]) in [("recv", counts), ("recv_any", any)] {
        assert!(x > 2_700 && y > 2_700, "{what}: a {x}, b {y}");
    }
}

/// `wait_async` on both tokio runtimes: one task selecting over a run-time set of channels
/// (`recv_any`), fed by tasks and threads, gets every value exactly once.
#[test]
fn wait_async_receives_every_value_once_on_both_runtimes() {
    const PER_CHANNEL: u64 = 5_000;
    for multi_thread in [false, true] {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap()
        } else {
            tokio::runtime::Builder::new_current_thread().build().unwrap()
        };
        let channels: Vec<_> =
            (0..3).map(|i| if i == 2 { unbounded() } else { bounded::<u64>(i * 4) }).collect();
        let mut receivers: Vec<_> = channels.iter().map(|(_, rx)| rx.clone()).collect();
        let mut threads = Vec::new();
        for (c, (tx, _)) in channels.into_iter().enumerate() {
            let values = (c as u64 * PER_CHANNEL)..((c as u64 + 1) * PER_CHANNEL);
            if c == 1 {
                threads.push(thread::spawn(move || values.for_each(|v| tx.send(v).unwrap())));
            } else {
                rt.spawn(async move {
                    for v in values {
                        tx.send_async(v).await.unwrap();
                    }
                });
            }
        }
        let got = rt.block_on(async move {
            let mut got = Vec::new();
            while !receivers.is_empty() {
                match Selector::new().recv_any(&receivers, |i, v| (i, v)).wait_async().await {
                    (_, Ok(v)) => got.push(v),
                    (i, Err(RecvError)) => drop(receivers.swap_remove(i)),
                }
            }
            got
        });
        threads.into_iter().for_each(|t| t.join().unwrap());
        let mut got = got;
        got.sort_unstable();
        assert_eq!(got, (0..3 * PER_CHANNEL).collect::<Vec<_>>(), "multi-thread: {multi_thread}");
    }
}

/// A `wait_async` raced against a short timer in `select!`, over and over: a dropped selection
/// takes nothing (every value sent is received once), and a send's value dropped with its
/// selection is back in the caller's `Cell`.
#[test]
fn a_cancelled_wait_async_loses_nothing() {
    const VALUES: u64 = 3_000;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap();
    rt.block_on(async {
        let (in_tx, input) = bounded::<u64>(1);
        let (out_a, rx_a) = bounded::<u64>(0);
        let (out_b, rx_b) = bounded::<u64>(1);
        let feeder = tokio::spawn(async move {
            for v in 0..VALUES {
                in_tx.send_async(v).await.unwrap();
            }
        });
        let drains: Vec<_> = [rx_a, rx_b]
            .into_iter()
            .map(|rx| {
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv_async().await {
                        got.push(v);
                        tokio::task::yield_now().await;
                    }
                    got
                })
            })
            .collect();
        // Forward every input to either output (one value offered to both through a `Cell`),
        // through selections often cut short by the timer.
        let pending = Cell::new(None);
        let mut received = 0;
        while received < VALUES {
            let selection = Selector::new().recv(&input, |v| v.unwrap()).wait_async();
            tokio::select! {
                v = selection => {
                    received += 1;
                    pending.set(Some(v));
                    loop {
                        let sent = Selector::new()
                            .send(&out_a, &pending, |r| r.is_ok())
                            .send(&out_b, &pending, |r| r.is_ok())
                            .wait_async();
                        tokio::select! {
                            ok = sent => {
                                assert!(ok);
                                assert_eq!(pending.take(), None, "a sent value left the cell");
                                break;
                            }
                            () = tokio::time::sleep(Duration::from_micros(50)) => {
                                // Dropped unfinished: the value is back in the cell (a
                                // rendezvous value a receiver took just before is sent).
                                match pending.take() {
                                    Some(v) => pending.set(Some(v)),
                                    None => break,
                                }
                            }
                        }
                    }
                }
                () = tokio::time::sleep(Duration::from_micros(50)) => {}
            }
        }
        feeder.await.unwrap();
        drop((out_a, out_b));
        let mut all = Vec::new();
        for drain in drains {
            all.extend(drain.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, (0..VALUES).collect::<Vec<_>>(), "each value forwarded exactly once");
    });
}

#[test]
fn wait_async_with_nothing_switched_on_stays_pending() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let none: [ringfence::channel::Receiver<u8>; 0] = [];
        let selection = Selector::new().recv_any(&none, |_, _| ()).wait_async();
        assert!(tokio::time::timeout(Duration::from_millis(5), selection).await.is_err());
    });
}

/// Found by review: the stride search landed on some strides more often than others (for six
/// operations, backwards 4 times in 5), which chose the later of two neighbouring ready
/// operations 7:3. Both directions are now equally likely.
#[test]
fn neighbouring_ready_operations_get_even_odds_whatever_the_count() {
    for count in [4, 6, 10] {
        let channels: Vec<_> = (0..count).map(|_| bounded::<u8>(1)).collect();
        let receivers: Vec<_> = channels.iter().map(|(_, rx)| rx.clone()).collect();
        let refill = || {
            let _ = channels[0].0.try_send(0);
            let _ = channels[1].0.try_send(1);
        };
        let (mut by_recv_any, mut by_recv) = ([0u32; 2], [0u32; 2]);
        for _ in 0..4_000 {
            refill();
            by_recv_any[Selector::new().recv_any(&receivers, |i, _| i).try_wait().unwrap()] += 1;
            refill();
            // The same through separate operations (a selector's type fixes their number: the
            // first two, and the rest as one `recv_any` that is never ready).
            let index = Selector::new()
                .recv(&receivers[0], |_| 0)
                .recv(&receivers[1], |_| 1)
                .recv_any(&receivers[2..], |i, _| i + 2)
                .try_wait()
                .unwrap();
            by_recv[index] += 1;
        }
        // Even odds: each near 2 000 (below 1 700 has a chance of about 1e-11).
        assert!(by_recv_any.iter().all(|&n| n > 1_700), "{count} receivers in a recv_any: {by_recv_any:?}");
        assert!(by_recv.iter().all(|&n| n > 1_700), "three operations beside {count} receivers: {by_recv:?}");
    }
}
