//! Weak handles (`Sender::downgrade`, `Receiver::downgrade`) on every flavor: a weak handle
//! never keeps a side connected, upgrades while that side lives and never after, and upgrades
//! racing the last drop lose no value and wake every waiter. Blocking scenarios run under a
//! watchdog; no test asserts on timing.
#![cfg(not(loom))]

mod async_util;
mod common;

use async_util::{counting, poll_once};
use common::{DropCounter, SETTLE, WATCHDOG, flavors, within};
use ringfence::channel::{RecvError, WeakReceiver, WeakSender, bounded, unbounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::thread;

#[test]
fn a_weak_sender_does_not_keep_the_channel_connected() {
    for (name, tx, rx) in flavors::<u32>() {
        let weak = tx.downgrade();
        assert_eq!((tx.sender_count(), weak.sender_count()), (1, 1), "{name}");
        drop(tx);
        assert!(rx.is_disconnected(), "{name}: the last sender's drop disconnects");
        assert_eq!(rx.recv(), Err(RecvError), "{name}");
        assert!(weak.upgrade().is_none(), "{name}: a dropped side never comes back");
        assert_eq!(weak.sender_count(), 0, "{name}");
    }
}

#[test]
fn a_weak_receiver_does_not_keep_the_channel_connected() {
    for (name, tx, rx) in flavors::<u32>() {
        let weak = rx.downgrade();
        assert_eq!((rx.receiver_count(), weak.receiver_count()), (1, 1), "{name}");
        drop(rx);
        assert!(tx.is_disconnected(), "{name}");
        assert_eq!(tx.try_send(5).unwrap_err().into_inner(), 5, "{name}");
        assert!(weak.upgrade().is_none(), "{name}");
    }
}

#[test]
fn an_upgraded_sender_counts_and_keeps_the_channel_open() {
    for (name, tx, rx) in flavors::<u32>() {
        let weak = tx.downgrade();
        let upgraded = weak.upgrade().expect("a sender lives");
        assert_eq!(tx.sender_count(), 2, "{name}");
        assert!(upgraded.same_channel(&tx), "{name}");
        drop(tx);
        assert!(!rx.is_disconnected(), "{name}: the upgraded sender is a sender");
        let receiving = thread::spawn(move || rx.recv());
        upgraded.send(9).unwrap();
        assert_eq!(receiving.join().unwrap(), Ok(9), "{name}");
        drop(upgraded);
        assert!(weak.upgrade().is_none(), "{name}");
    }
}

#[test]
fn an_upgraded_receiver_receives_what_is_buffered() {
    // The rendezvous flavor buffers nothing: covered by the thread test below.
    for (name, tx, rx) in flavors::<u32>().into_iter().skip(1) {
        let weak = rx.downgrade();
        tx.send(1).unwrap();
        let upgraded = weak.upgrade().expect("a receiver lives");
        assert_eq!(rx.receiver_count(), 2, "{name}");
        drop(rx);
        assert!(!tx.is_disconnected(), "{name}: the upgraded receiver is a receiver");
        assert_eq!(upgraded.try_recv(), Ok(1), "{name}");
    }
}

#[test]
fn the_last_receivers_drop_drops_the_buffered_values_although_a_weak_one_lives() {
    let counter = DropCounter::new();
    let (tx, rx) = bounded(4);
    let weak = rx.downgrade();
    for id in 0..3 {
        tx.send(counter.make(id)).unwrap();
    }
    drop(rx);
    assert_eq!(counter.dropped(), 3, "dropped with the last receiver, not with the weak one");
    assert!(weak.upgrade().is_none());
    drop(weak);
    drop(tx);
    assert_eq!(counter.live(), 0);
}

#[test]
fn a_blocked_receiver_wakes_when_the_last_sender_drops_beside_a_weak_one() {
    for (name, tx, rx) in flavors::<u32>() {
        within(WATCHDOG, move || {
            let weak = tx.downgrade();
            let receiving = thread::spawn(move || rx.recv());
            thread::sleep(SETTLE);
            drop(tx);
            assert_eq!(receiving.join().unwrap(), Err(RecvError), "{name}");
            drop(weak);
        });
    }
}

#[test]
fn a_blocked_sender_wakes_when_the_last_receiver_drops_beside_a_weak_one() {
    for (name, tx, rx) in flavors::<u32>().into_iter().take(2) {
        within(WATCHDOG, move || {
            let weak = rx.downgrade();
            if tx.capacity() == Some(1) {
                tx.send(0).unwrap(); // full: the next send blocks
            }
            let sending = thread::spawn(move || tx.send(1));
            thread::sleep(SETTLE);
            drop(rx);
            assert_eq!(sending.join().unwrap().unwrap_err().into_inner(), 1, "{name}");
            drop(weak);
        });
    }
}

#[test]
fn a_pending_async_receive_wakes_when_the_last_sender_drops_beside_a_weak_one() {
    for (name, tx, rx) in flavors::<u32>() {
        let weak = tx.downgrade();
        let (wakes, waker) = counting();
        let mut receiving = Box::pin(rx.recv_async());
        assert!(poll_once(&mut receiving, &waker).is_pending(), "{name}");
        drop(tx);
        assert!(wakes.wakes() >= 1, "{name}: the disconnection wakes the pending receive");
        assert_eq!(poll_once(&mut receiving, &waker), Poll::Ready(Err(RecvError)), "{name}");
        assert!(weak.upgrade().is_none(), "{name}");
    }
}

#[test]
fn a_channel_closed_while_senders_live_still_upgrades_and_its_sends_fail() {
    for (name, tx, rx) in flavors::<u32>() {
        let weak = tx.downgrade();
        assert!(rx.close(), "{name}");
        let upgraded = weak.upgrade().expect("the sender lives");
        assert_eq!(upgraded.try_send(3).unwrap_err().into_inner(), 3, "{name}");
        drop(tx);
    }
}

/// Threads upgrade and send while the original sender drops: every value sent by an upgraded
/// sender is received exactly once, the receiver sees the end only after the last upgraded
/// sender dropped, and an upgrade after that end always fails.
#[test]
fn upgrades_racing_the_last_drop_lose_nothing_and_end_the_stream() {
    for capacity in [None, Some(0), Some(1), Some(8)] {
        for _ in 0..50 {
            within(WATCHDOG, move || {
                let (tx, rx) = match capacity {
                    Some(capacity) => bounded::<u64>(capacity),
                    None => unbounded(),
                };
                let ended = Arc::new(AtomicUsize::new(0));
                let weak = tx.downgrade();
                let sent = Arc::new(AtomicUsize::new(0));
                let upgraders: Vec<_> = (0..3u64)
                    .map(|id| {
                        let (weak, sent, ended) = (weak.clone(), sent.clone(), ended.clone());
                        thread::spawn(move || {
                            for n in 0..20 {
                                match weak.upgrade() {
                                    Some(tx) => {
                                        // Holding a sender, the stream cannot have ended.
                                        assert_eq!(ended.load(Ordering::SeqCst), 0, "upgraded after the end");
                                        tx.send(id * 100 + n).expect("the receiver lives");
                                        sent.fetch_add(1, Ordering::SeqCst);
                                    }
                                    None => {
                                        assert!(weak.upgrade().is_none(), "a dropped side came back");
                                        return;
                                    }
                                }
                            }
                        })
                    })
                    .collect();
                thread::yield_now();
                drop(tx);
                let received = rx.iter().count();
                ended.store(1, Ordering::SeqCst);
                assert!(weak.upgrade().is_none(), "the stream ended: no sender may be made");
                upgraders.into_iter().for_each(|t| t.join().unwrap());
                assert_eq!(
                    received,
                    sent.load(Ordering::SeqCst),
                    "{capacity:?}: every sent value received once"
                );
            });
        }
    }
}

/// Receivers upgraded from a weak one race the last receiver's drop: each value is received
/// once or dropped once with the channel, never both, never neither.
#[test]
fn receiver_upgrades_racing_the_last_drop_drop_each_value_once() {
    for _ in 0..100 {
        within(WATCHDOG, || {
            let counter = DropCounter::new();
            let (tx, rx) = bounded(8);
            for id in 0..8 {
                tx.send(counter.make(id)).unwrap();
            }
            let weak = rx.downgrade();
            let received = Arc::new(AtomicUsize::new(0));
            let takers: Vec<_> = (0..2)
                .map(|_| {
                    let (weak, received) = (weak.clone(), received.clone());
                    thread::spawn(move || {
                        while let Some(rx) = weak.upgrade() {
                            match rx.try_recv() {
                                Ok(value) => {
                                    drop(value);
                                    received.fetch_add(1, Ordering::SeqCst);
                                }
                                Err(_) => return,
                            }
                        }
                    })
                })
                .collect();
            thread::yield_now();
            drop(rx);
            takers.into_iter().for_each(|t| t.join().unwrap());
            assert!(weak.upgrade().is_none());
            assert_eq!(counter.dropped(), 8, "every value dropped exactly once");
            assert!(received.load(Ordering::SeqCst) <= 8);
            drop(tx);
            assert_eq!(counter.live(), 0);
        });
    }
}

#[test]
fn weak_handles_are_send_sync_clone_and_debug() {
    fn assert_traits<W: Send + Sync + Clone + std::fmt::Debug + std::panic::UnwindSafe>() {}
    assert_traits::<WeakSender<std::cell::Cell<u8>>>();
    assert_traits::<WeakReceiver<std::cell::Cell<u8>>>();
    let (tx, rx) = bounded::<u8>(1);
    assert_eq!(format!("{:?}", tx.downgrade()), "WeakSender { sender_count: 1 }");
    assert_eq!(format!("{:?}", rx.downgrade()), "WeakReceiver { receiver_count: 1 }");
    let weak = tx.downgrade();
    assert!(weak.clone().same_channel(&weak));
    assert!(rx.downgrade().clone().same_channel(&rx.downgrade()));
    assert_eq!((weak.receiver_count(), rx.downgrade().sender_count()), (1, 1));
}
