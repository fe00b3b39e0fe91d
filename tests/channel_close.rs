//! `Sender::close` / `Receiver::close` and the handle counts, on every flavor: what a close
//! wakes (blocked threads, pending futures), what it keeps (every value that got in), and that
//! sends racing it lose nothing. Blocking scenarios run under a watchdog; no test asserts on
//! timing.
#![cfg(not(loom))]

mod async_util;
mod common;

use async_util::{counting, poll_once};
use common::{SETTLE, WATCHDOG, flavors, within};
use ringfence::channel::{RecvError, SendError, Sender, TryRecvError, bounded};
use std::task::Poll;
use std::thread;
use std::time::Duration;

#[test]
fn close_returns_true_once_from_either_side() {
    for (name, tx, rx) in flavors::<u8>() {
        let tx2 = tx.clone();
        assert!(!tx.is_disconnected() && !rx.is_disconnected(), "{name}");
        assert!(rx.close(), "{name}: the first close closes");
        assert!(!tx.close() && !tx2.close() && !rx.close(), "{name}: later ones find it closed");
        assert!(tx.is_disconnected() && rx.is_disconnected(), "{name}");
        // Closing does not drop handles: the counts are unchanged.
        assert_eq!((tx.sender_count(), rx.receiver_count()), (2, 1), "{name}");
    }
    // A channel disconnected by its last receiver is closed already.
    let (tx, rx) = bounded::<u8>(1);
    drop(rx);
    assert!(!tx.close());
}

#[test]
fn after_a_close_sends_fail_with_their_value_and_receivers_drain() {
    for (name, tx, rx) in flavors::<u32>() {
        let buffered = match tx.capacity() {
            Some(0) => 0,
            Some(capacity) => capacity.min(3),
            None => 3,
        };
        for value in 0..buffered as u32 {
            tx.send(value).unwrap();
        }
        assert!(tx.close());
        assert_eq!(tx.send(99), Err(SendError(99)), "{name}");
        assert_eq!(tx.try_send(98).unwrap_err().into_inner(), 98, "{name}");
        assert_eq!(tx.send_timeout(97, Duration::from_secs(60)).unwrap_err().into_inner(), 97, "{name}");
        let drained: Vec<u32> = rx.try_iter().collect();
        assert_eq!(drained, (0..buffered as u32).collect::<Vec<_>>(), "{name}: every value that got in");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected), "{name}");
        assert_eq!(rx.recv(), Err(RecvError), "{name}");
        assert_eq!(rx.recv_timeout(Duration::from_secs(60)).ok(), None, "{name}");
    }
}

#[test]
fn close_wakes_blocked_receivers() {
    within(WATCHDOG, || {
        for (name, tx, rx) in flavors::<u8>() {
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.recv())
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(tx.close(), "{name}");
            for waiter in waiters {
                assert_eq!(waiter.join().unwrap(), Err(RecvError), "{name}");
            }
        }
    });
}

#[test]
fn close_from_the_receiver_wakes_blocked_senders_with_their_values() {
    within(WATCHDOG, || {
        for (name, tx, rx) in flavors::<u32>() {
            let Some(capacity) = tx.capacity() else { continue }; // an unbounded send never blocks
            for value in 0..capacity as u32 {
                tx.send(value).unwrap();
            }
            let waiters: Vec<_> = (100..103u32)
                .map(|value| {
                    let tx = tx.clone();
                    thread::spawn(move || (value, tx.send(value)))
                })
                .collect();
            thread::sleep(SETTLE);
            assert!(rx.close(), "{name}");
            let mut back = Vec::new();
            for waiter in waiters {
                let (value, sent) = waiter.join().unwrap();
                match sent {
                    // A send can have got in before the close only if a receive made room;
                    // nobody received here.
                    Ok(()) => panic!("{name}: {value} was sent into a full channel nobody drained"),
                    Err(SendError(returned)) => back.push(returned),
                }
            }
            back.sort_unstable();
            assert_eq!(back, [100, 101, 102], "{name}: every blocked send got its value back");
            let drained: Vec<u32> = rx.try_iter().collect();
            assert_eq!(drained, (0..capacity as u32).collect::<Vec<_>>(), "{name}");
        }
    });
}

#[test]
fn close_wakes_pending_futures() {
    for (name, tx, rx) in flavors::<u32>() {
        let (receive_wakes, receive_waker) = counting();
        let mut receive = rx.recv_async();
        assert!(poll_once(&mut receive, &receive_waker).is_pending(), "{name}");
        assert!(tx.close(), "{name}");
        assert_eq!(receive_wakes.wakes(), 1, "{name}: the close woke the receive");
        assert_eq!(poll_once(&mut receive, &receive_waker), Poll::Ready(Err(RecvError)), "{name}");
    }
    // A pending send: on a full channel (a rendezvous one is full while no receiver waits).
    for (name, tx, rx) in flavors::<u32>() {
        let Some(capacity) = tx.capacity() else { continue };
        for value in 0..capacity as u32 {
            tx.send(value).unwrap();
        }
        let (send_wakes, send_waker) = counting();
        let mut send = tx.send_async(7);
        assert!(poll_once(&mut send, &send_waker).is_pending(), "{name}");
        assert!(rx.close(), "{name}");
        assert_eq!(send_wakes.wakes(), 1, "{name}: the close woke the send");
        assert_eq!(poll_once(&mut send, &send_waker), Poll::Ready(Err(SendError(7))), "{name}");
        assert_eq!(rx.try_iter().count(), capacity, "{name}");
    }
}

#[test]
fn closed_future_resolves_on_a_close() {
    for (name, tx, rx) in flavors::<u8>() {
        let (wakes, waker) = counting();
        let mut closed = tx.closed();
        assert!(poll_once(&mut closed, &waker).is_pending(), "{name}");
        assert!(rx.close(), "{name}");
        assert_eq!(wakes.wakes(), 1, "{name}");
        assert_eq!(poll_once(&mut closed, &waker), Poll::Ready(()), "{name}");
    }
}

#[test]
fn sends_racing_a_close_are_received_or_returned_never_lost() {
    const SENDERS: u64 = 4;
    /// The receiver closes the channel after this many values.
    const CLOSE_AFTER: usize = if cfg!(debug_assertions) { 5_000 } else { 50_000 };
    within(WATCHDOG, || {
        for (name, tx, rx) in flavors::<u64>() {
            // Each sender sends distinct values until a send fails (the close): its last value
            // comes back, every earlier one must be received.
            let senders = send_until_closed(&tx, SENDERS);
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut received = Vec::new();
                    // Receives until the channel is closed and drained; closes it itself after
                    // a while (from the receiving side, while every handle lives).
                    while let Ok(value) = rx.recv() {
                        received.push(value);
                        if received.len() == CLOSE_AFTER {
                            assert!(rx.close(), "only this thread closes");
                        }
                    }
                    received
                })
            };
            let received = receiver.join().unwrap();
            assert!(rx.try_recv().is_err(), "{name}: the receiver drained the closed channel");
            assert_received_or_returned(senders, received, name);
        }
    });
}

#[test]
fn handle_counts_follow_clones_drops_streams_and_sinks() {
    let (tx, rx) = bounded::<u8>(4);
    assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 1));
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    assert_eq!((rx.sender_count(), rx.receiver_count()), (2, 2));
    let sink = tx2.into_sink();
    let stream = rx2.into_stream();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 2), "an owned sink or stream is a handle");
    drop(sink);
    drop(stream);
    assert_eq!((tx.sender_count(), rx.receiver_count()), (1, 1));
    drop(tx);
    assert_eq!(rx.sender_count(), 0);
    assert!(rx.is_disconnected());
}

#[test]
fn an_async_receiver_cancelled_by_timers_and_closing_mid_stream_loses_nothing() {
    // One async receiver (capacities 1 and 4 park its pending receives: the channel's front),
    // its receives raced against a timer, closing the channel after a while; three threads
    // send until their send fails.
    const SENDERS: u64 = 3;
    const CLOSE_AFTER: usize = if cfg!(debug_assertions) { 3_000 } else { 30_000 };
    within(WATCHDOG, || {
        for capacity in [1, 2, 4, 16] {
            let (tx, rx) = bounded::<u64>(capacity);
            let senders = send_until_closed(&tx, SENDERS);
            drop(tx);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let (received, cancelled) = runtime.block_on(async {
                let (mut received, mut cancelled) = (Vec::new(), 0u64);
                loop {
                    tokio::select! {
                        value = rx.recv_async() => match value {
                            Ok(value) => {
                                received.push(value);
                                if received.len() == CLOSE_AFTER {
                                    assert!(rx.close());
                                }
                            }
                            Err(_) => break,
                        },
                        () = tokio::time::sleep(Duration::from_micros(20)) => cancelled += 1,
                    }
                }
                (received, cancelled)
            });
            let what = format!("capacity {capacity} ({cancelled} receives cancelled)");
            assert_received_or_returned(senders, received, &what);
        }
    });
}

/// `senders` threads that each send distinct values (`i * senders + sender`) until a send
/// fails (the close); each returns what it sent and the value that came back.
fn send_until_closed(tx: &Sender<u64>, senders: u64) -> Vec<thread::JoinHandle<(Vec<u64>, u64)>> {
    (0..senders)
        .map(|sender| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut sent = Vec::new();
                for i in 0.. {
                    let value = i * senders + sender;
                    match tx.send(value) {
                        Ok(()) => sent.push(value),
                        Err(SendError(back)) => return (sent, back),
                    }
                }
                unreachable!("the receiver closes the channel")
            })
        })
        .collect()
}

/// Joins `senders` ([`send_until_closed`]): every value a send reported sent was received
/// exactly once, and no value that came back was received.
fn assert_received_or_returned(
    senders: Vec<thread::JoinHandle<(Vec<u64>, u64)>>,
    mut received: Vec<u64>,
    what: &str,
) {
    received.sort_unstable();
    let mut sent = Vec::new();
    for sender in senders {
        let (values, back) = sender.join().unwrap();
        sent.extend(values);
        assert!(received.binary_search(&back).is_err(), "{what}: {back} both received and returned");
    }
    sent.sort_unstable();
    assert_eq!(received, sent, "{what}: every Ok send received exactly once");
}
