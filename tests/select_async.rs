//! `Selector::wait_async` (`SelectFuture`) polled by hand: a dropped selection passes a
//! wakeup it was given on to another waiter, the latest waker is the one woken, a value filled
//! into a parked receive stays the channel's, and a zero-capacity send taken while the future
//! was pending is the only operation completed (adapted from a review's checks). Waits for
//! another thread are `eventually` loops under a watchdog, never a fixed sleep.
#![cfg(not(loom))]

mod async_util;
mod common;

use async_util::counting;
use common::{WATCHDOG, eventually};
use ringfence::channel::{Receiver, Selector, Sender, bounded, unbounded};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Waits until one of two waiters was woken: `true` when the first was.
fn woken_first(first: &async_util::Counter, second: &async_util::Counter, kind: &str) -> bool {
    eventually(WATCHDOG, &format!("{kind}: one waiter woken"), || {
        (first.wakes() + second.wakes() > 0).then_some(first.wakes() > 0)
    })
}

/// One poll of `future` with `waker`.
fn poll1<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// A channel of the flavor named `kind`.
fn mk(kind: &str) -> (Sender<u32>, Receiver<u32>) {
    match kind {
        "b0" => bounded(0),
        "b1" => bounded(1),
        "b16" => bounded(16),
        _ => unbounded(),
    }
}

const KINDS: [&str; 4] = ["b0", "b1", "b16", "unb"];

/// Two receive waiters on one channel; the select future (first registered) is woken and dropped.
#[test]
fn woken_and_dropped_select_recv_passes_wakeup_on_to_recv_async() {
    for kind in KINDS {
        let (tx, rx) = mk(kind);
        let (ca, wa) = counting();
        let (cb, wb) = counting();
        let mut a = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
        assert!(poll1(&mut a, &wa).is_pending());
        let mut b = Box::pin(rx.recv_async());
        assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            tx
        });
        let woke_a = woken_first(&ca, &cb, kind);
        drop(a);
        if woke_a {
            eventually(WATCHDOG, "the dropped selection passed its wakeup on", || {
                (cb.wakes() > 0).then_some(())
            });
        }
        assert_eq!(b.as_mut().poll(&mut Context::from_waker(&wb)), Poll::Ready(Ok(7)), "{kind}");
        drop(sender.join().unwrap());
    }
}

/// Same, two select futures (recv_async first, select second; then select first, dropped).
#[test]
fn woken_and_dropped_select_recv_passes_wakeup_on_to_select() {
    for kind in KINDS {
        let (tx, rx) = mk(kind);
        let (ca, wa) = counting();
        let (cb, wb) = counting();
        let mut a = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
        assert!(poll1(&mut a, &wa).is_pending());
        let mut b = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
        assert!(poll1(&mut b, &wb).is_pending());
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            tx
        });
        let woke_a = woken_first(&ca, &cb, kind);
        drop(a);
        if woke_a {
            eventually(WATCHDOG, "the dropped selection passed its wakeup on", || {
                (cb.wakes() > 0).then_some(())
            });
        }
        assert_eq!(poll1(&mut b, &wb), Poll::Ready(7), "{kind}");
        drop(sender.join().unwrap());
    }
}

/// Two senders on a full channel; the select send woken by a receive is dropped.
#[test]
fn woken_and_dropped_select_send_passes_wakeup_on() {
    for kind in ["b0", "b1", "b16"] {
        let (tx, rx) = mk(kind);
        let cap = if kind == "b0" {
            0
        } else if kind == "b1" {
            1
        } else {
            16
        };
        for i in 0..cap {
            tx.send(100 + i).unwrap();
        }
        let (ca, wa) = counting();
        let (cb, wb) = counting();
        let mut va = Some(1u32);
        let mut a = Selector::new().send(&tx, &mut va, |r| r.is_ok()).wait_async();
        assert!(poll1(&mut a, &wa).is_pending());
        let mut vb = Some(2u32);
        let mut b = Selector::new().send(&tx, &mut vb, |r| r.is_ok()).wait_async();
        assert!(poll1(&mut b, &wb).is_pending(), "{kind}");
        let first = if cap == 0 {
            // rendezvous: a receiver takes the value in the slot (a's)
            let r = thread::spawn({
                let rx = rx.clone();
                move || rx.recv().unwrap()
            });
            r.join().unwrap()
        } else {
            rx.recv().unwrap()
        };
        // The receive woke a sender before it returned (a notify is inline).
        let woke_a = woken_first(&ca, &cb, kind);
        drop(a);
        if cap == 0 {
            assert!(first == 1 || first == 2);
            if first == 1 {
                assert_eq!(va, None);
                continue;
            }
        }
        assert_eq!(va, Some(1), "{kind}: dropped send's value back");
        if woke_a {
            eventually(WATCHDOG, "the dropped selection passed its wakeup on", || {
                (cb.wakes() > 0).then_some(())
            });
        }
        assert_eq!(poll1(&mut b, &wb), Poll::Ready(true), "{kind}");
        drop(b);
        assert_eq!(vb, None);
    }
}

/// Polled by one waker, then moved to another: a send must wake the latest.
#[test]
fn latest_waker_is_woken() {
    for kind in KINDS {
        let (tx, rx) = mk(kind);
        let (c1, w1) = counting();
        let (c2, w2) = counting();
        let mut a = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
        assert!(poll1(&mut a, &w1).is_pending());
        assert!(poll1(&mut a, &w2).is_pending());
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            tx
        });
        eventually(WATCHDOG, "the latest waker is woken", || (c2.wakes() > 0).then_some(()));
        assert_eq!(c1.wakes(), 0, "{kind}: the replaced waker is not woken");
        assert_eq!(poll1(&mut a, &w2), Poll::Ready(7));
        drop(sender.join().unwrap());
    }
}

/// recv_any with the same channel twice (two clones) and a single Receiver listed via recv twice.
#[test]
fn same_channel_twice() {
    for kind in KINDS {
        let (tx, rx) = mk(kind);
        let rxs = [rx.clone(), rx.clone()];
        let (c, w) = counting();
        let mut a = Selector::new().recv_any(&rxs, |i, v| (i, v.unwrap())).wait_async();
        assert!(poll1(&mut a, &w).is_pending());
        assert!(poll1(&mut a, &w).is_pending()); // spurious
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            tx
        });
        eventually(WATCHDOG, "the selection is woken", || (c.wakes() > 0).then_some(()));
        assert!(matches!(poll1(&mut a, &w), Poll::Ready((_, 7))), "{kind}");
        drop(a);
        drop(sender.join().unwrap());
    }
    for kind in KINDS {
        let (tx, rx) = mk(kind);
        let (c, w) = counting();
        let mut a = Selector::new().recv(&rx, |v| v.unwrap()).recv(&rx, |v| v.unwrap() + 1000).wait_async();
        assert!(poll1(&mut a, &w).is_pending());
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            tx.send(8).unwrap();
            tx
        });
        eventually(WATCHDOG, "the selection is woken", || (c.wakes() > 0).then_some(()));
        let got = poll1(&mut a, &w);
        assert!(matches!(got, Poll::Ready(7) | Poll::Ready(1007)), "{kind} {got:?}");
        drop(a);
        assert_eq!(rx.recv_timeout(WATCHDOG), Ok(8), "{kind}");
        drop(sender.join().unwrap());
    }
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn poll_after_ready_panics() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    let (_c, w) = counting();
    let mut a = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
    assert_eq!(poll1(&mut a, &w), Poll::Ready(1));
    let _ = poll1(&mut a, &w);
}

/// A parked (filled) request on bounded(1) while another operation completes, or the future is dropped.
#[test]
fn filled_parked_request_survives_other_completion_and_drop() {
    for drop_it in [false, true] {
        let (tx1, rx1) = bounded::<u32>(1);
        let (tx2, rx2) = unbounded::<u32>();
        let (c, w) = counting();
        let mut s = Selector::new()
            .recv(&rx2, |v| v.unwrap() + 1000)
            .recv(&rx1, |v| v.unwrap())
            .biased()
            .wait_async();
        assert!(poll1(&mut s, &w).is_pending());
        tx1.send(1).unwrap();
        tx1.send(2).unwrap();
        assert_eq!(tx1.try_send(3), Err(ringfence::channel::TrySendError::Full(3)));
        tx2.send(9).unwrap();
        assert!(c.wakes() > 0);
        if drop_it {
            drop(s);
        } else {
            assert_eq!(poll1(&mut s, &w), Poll::Ready(1009));
            drop(s);
        }
        assert_eq!(rx1.len(), 2, "drop {drop_it}");
        assert_eq!(rx1.try_recv(), Ok(1), "drop {drop_it}");
        assert_eq!(rx1.try_recv(), Ok(2), "drop {drop_it}");
        assert!(rx1.try_recv().is_err());
        // and the channel works on, with an async waiter woken
        let (cb, wb) = counting();
        let mut b = Box::pin(rx1.recv_async());
        assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
        tx1.send(5).unwrap();
        assert!(cb.wakes() > 0);
        assert_eq!(b.as_mut().poll(&mut Context::from_waker(&wb)), Poll::Ready(Ok(5)));
    }
}

/// Rendezvous send's value taken while pending, and a recv also ready: only the send completes.
#[test]
fn rendezvous_taken_and_other_ready_only_send_completes() {
    for _ in 0..200 {
        let (tx0, rx0) = bounded::<u32>(0);
        let (tx1, rx1) = bounded::<u32>(4);
        let (_c, w) = counting();
        let mut v = Some(5u32);
        let mut s = Selector::new()
            .recv(&rx1, |r| ('r', r.unwrap()))
            .send(&tx0, &mut v, |r| {
                r.unwrap();
                ('s', 0)
            })
            .wait_async();
        assert!(poll1(&mut s, &w).is_pending());
        let t = thread::spawn(move || rx0.recv().unwrap());
        assert_eq!(t.join().unwrap(), 5);
        tx1.send(3).unwrap();
        assert_eq!(poll1(&mut s, &w), Poll::Ready(('s', 0)));
        drop(s);
        assert_eq!(v, None);
        assert_eq!(rx1.try_recv(), Ok(3));
    }
}

/// Rendezvous send: polled pending repeatedly (spurious) while a receiver thread races; exactly once.
#[test]
fn rendezvous_send_spurious_polls_exactly_once() {
    for round in 0..300 {
        let (tx0, rx0) = bounded::<u32>(0);
        let (tx1, rx1) = unbounded::<u32>();
        let (_c, w) = counting();
        let mut v = Some(round);
        let t = thread::spawn(move || rx0.recv_timeout(Duration::from_millis(200)).ok());
        let mut s = Selector::new().send(&tx0, &mut v, |r| r.is_ok()).recv(&rx1, |_| false).wait_async();
        let mut out = None;
        for _ in 0..10_000 {
            if let Poll::Ready(x) = poll1(&mut s, &w) {
                out = Some(x);
                break;
            }
        }
        drop(s);
        let got = t.join().unwrap();
        match (out, got, v) {
            (Some(true), Some(x), None) => assert_eq!(x, round),
            (None, None, Some(x)) => assert_eq!(x, round),
            (None, Some(x), None) => assert_eq!(x, round), // taken just before drop: documented
            other => panic!("round {round}: {other:?}"),
        }
        drop(tx1);
    }
}

#[cfg(feature = "futures")]
#[test]
fn fused_future_terminated_after_ready() {
    use futures_core::future::FusedFuture;
    let (tx, rx) = bounded::<u32>(1);
    let (_c, w) = counting();
    let mut s = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
    assert!(!s.is_terminated());
    assert!(poll1(&mut s, &w).is_pending());
    assert!(!s.is_terminated());
    tx.send(1).unwrap();
    assert_eq!(poll1(&mut s, &w), Poll::Ready(1));
    assert!(s.is_terminated());
}
