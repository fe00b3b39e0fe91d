//! `Selector::send_any`: one value offered to a run-time set of channels, sent to exactly one
//! (whichever has room first), or left with the caller. Blocking scenarios run under a
//! watchdog; no test asserts on timing.
#![cfg(not(loom))]

mod common;

use common::{WATCHDOG, within};
use ringfence::channel::{Selector, SendError, TryRecvError, TrySelectError, bounded, unbounded};
use std::cell::Cell;
use std::collections::HashSet;
use std::thread;

#[test]
fn try_wait_sends_to_a_channel_with_room_and_leaves_the_value_otherwise() {
    let (a, a_rx) = bounded::<u32>(1);
    let (b, b_rx) = bounded::<u32>(1);
    let senders = [a, b];
    senders[0].send(0).unwrap(); // full
    let mut value = Some(7);
    let sent_to = Selector::new().send_any(&senders, &mut value, |index, sent| (index, sent)).try_wait();
    assert_eq!(sent_to, Ok((1, Ok(()))), "the only channel with room");
    assert_eq!(value, None);
    assert_eq!(b_rx.try_recv(), Ok(7));
    senders[1].send(1).unwrap(); // both full now
    let mut value = Some(8);
    let got = Selector::new().send_any(&senders, &mut value, |index, _| index).try_wait();
    assert_eq!(got, Err(TrySelectError));
    assert_eq!(value, Some(8), "nothing had room: the value stays with the caller");
    assert_eq!(a_rx.try_recv(), Ok(0));
    assert_eq!(b_rx.try_recv(), Ok(1));
    assert_eq!(a_rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn biased_offers_in_slice_order_and_unbiased_spreads() {
    let (a, a_rx) = unbounded::<u32>();
    let (b, b_rx) = unbounded::<u32>();
    let senders = [a, b];
    for v in 0..50 {
        let mut value = Some(v);
        let index = Selector::new().send_any(&senders, &mut value, |index, _| index).biased().wait();
        assert_eq!(index, 0, "biased: the first with room");
    }
    assert_eq!(a_rx.len(), 50);
    let mut counts = [0; 2];
    for v in 0..400 {
        let mut value = Some(v);
        counts[Selector::new().send_any(&senders, &mut value, |index, _| index).wait()] += 1;
    }
    assert!(counts.iter().all(|&n| n > 100), "a random order spreads the sends: {counts:?}");
    assert_eq!(a_rx.len() + b_rx.len(), 450);
}

#[test]
fn a_disconnected_channel_is_ready_with_the_value_back() {
    let (a, a_rx) = bounded::<String>(1);
    let (b, b_rx) = bounded::<String>(1);
    a.send("filler".into()).unwrap(); // `a` full, `b` has room but no receiver
    drop(b_rx);
    let senders = [a, b];
    let mut value = Some(String::from("job"));
    let outcome = Selector::new().send_any(&senders, &mut value, |index, sent| (index, sent)).wait();
    assert_eq!(outcome, (1, Err(SendError(String::from("job")))));
    assert_eq!(value, None, "the value is in the error");
    assert_eq!(a_rx.try_recv().as_deref(), Ok("filler"));
}

#[test]
fn an_empty_set_or_value_is_never_ready() {
    let senders: [ringfence::channel::Sender<u8>; 0] = [];
    let mut value = Some(1);
    let got = Selector::new().send_any(&senders, &mut value, |_, _| ()).try_wait();
    assert_eq!(got, Err(TrySelectError));
    assert_eq!(value, Some(1));
    let (tx, _rx) = bounded::<u8>(1);
    let senders = [tx];
    let mut nothing = None;
    assert_eq!(Selector::new().send_any(&senders, &mut nothing, |_, _| ()).try_wait(), Err(TrySelectError));
}

#[test]
#[should_panic(expected = "would block forever")]
fn waiting_on_an_empty_send_any_alone_panics() {
    let senders: [ringfence::channel::Sender<u8>; 0] = [];
    let mut value = Some(1);
    Selector::new().send_any(&senders, &mut value, |_, _| ()).wait();
}

#[test]
#[should_panic(expected = "takes no zero-capacity channel")]
fn a_zero_capacity_sender_is_rejected() {
    let (a, _a_rx) = bounded::<u8>(1);
    let (z, _z_rx) = bounded::<u8>(0);
    let senders = [a, z];
    let mut value = Some(1);
    let _ = Selector::new().send_any(&senders, &mut value, |_, _| ()).try_wait();
}

#[test]
fn a_waiting_send_any_goes_to_the_first_channel_a_receiver_frees() {
    within(WATCHDOG, || {
        for round in 0..200u32 {
            let (a, a_rx) = bounded::<u32>(1);
            let (b, b_rx) = bounded::<u32>(1);
            a.send(0).unwrap();
            b.send(0).unwrap();
            let senders = [a, b];
            let (take_a, take_b) = (round % 2 == 0, round % 2 == 1);
            let taker = thread::spawn(move || {
                let rx = if take_a { &a_rx } else { &b_rx };
                assert_eq!(rx.recv(), Ok(0));
                (a_rx, b_rx)
            });
            let mut value = Some(round + 1);
            let index =
                Selector::new().send_any(&senders, &mut value, |index, sent| sent.map(|()| index)).wait();
            let (a_rx, b_rx) = taker.join().unwrap();
            assert_eq!(index, Ok(if take_b { 1 } else { 0 }), "round {round}: the freed one");
            let freed = if take_a { &a_rx } else { &b_rx };
            assert_eq!(freed.try_recv(), Ok(round + 1));
            let other = if take_a { &b_rx } else { &a_rx };
            assert_eq!(other.try_recv(), Ok(0), "the other channel got nothing new");
            assert_eq!(other.try_recv(), Err(TryRecvError::Empty));
        }
    });
}

/// A dispatcher deals 20 000 values to three workers' small queues with `send_any`, while it
/// also collects their results with a receive in the same selection (the dispatcher pattern
/// that deadlocks when either is done blocking alone): every value is processed exactly once.
#[test]
fn a_dispatcher_deals_every_value_exactly_once() {
    const VALUES: u64 = 20_000;
    within(WATCHDOG, || {
        let (results_tx, results) = bounded::<u64>(2);
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for capacity in [1, 2, 4] {
            let (tx, rx) = bounded::<u64>(capacity);
            queues.push(tx);
            let results_tx = results_tx.clone();
            workers.push(thread::spawn(move || {
                let mut handled = 0u64;
                for value in rx {
                    results_tx.send(value).unwrap();
                    handled += 1;
                }
                handled
            }));
        }
        drop(results_tx);
        let mut next = 0..VALUES;
        let job = Cell::new(next.next());
        let mut seen = HashSet::new();
        while seen.len() < VALUES as usize {
            let received = Selector::new()
                .send_any(&queues, &job, |_, sent| {
                    sent.expect("every worker is alive");
                    None
                })
                .recv(&results, |result| Some(result.expect("every worker is alive")))
                .wait();
            match received {
                Some(value) => assert!(seen.insert(value), "{value} twice"),
                None => job.set(next.next()),
            }
        }
        assert_eq!(job.take(), None, "every job dealt");
        drop(queues);
        let handled: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(handled, VALUES);
    });
}

#[test]
fn wait_async_sends_to_whichever_task_frees_room() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let channels: Vec<_> = (0..3).map(|_| bounded::<u64>(1)).collect();
    let (senders, receivers): (Vec<_>, Vec<_>) = channels.into_iter().unzip();
    let total = rt.block_on(async move {
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|rx| {
                tokio::spawn(async move {
                    let mut sum = 0;
                    while let Ok(v) = rx.recv_async().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        for v in 1..=3_000u64 {
            let mut value = Some(v);
            Selector::new().send_any(&senders, &mut value, |_, sent| sent.unwrap()).wait_async().await;
        }
        drop(senders);
        let mut total = 0;
        for consumer in consumers {
            total += consumer.await.unwrap();
        }
        total
    });
    assert_eq!(total, 3_000 * 3_001 / 2);
}
