//! loom models of the unbounded channel (`src/channel/list.rs` and its glue in `chan.rs`).
//!
//! Under loom a block holds two slots (and the waiting receivers count has two bits), so these
//! small models cross block boundaries, free blocks (the last slot's reader frees the block, or
//! retires it while a reader of another slot is still busy, and a later retirement or the drop
//! frees it), and exercise the fence-free send: a lost wakeup is a loom
//! deadlock, a block freed while a thread may still touch it is a loom data race, a block never
//! freed is a loom leak.

use crate::common::{Counted, drop_counter, drops, model_with_preemptions};
use loom::thread;
use ringfence::channel::{RecvTimeoutError, TryRecvError, TrySendError, unbounded};
use std::time::Duration;

// Under loom a timed wait "times out" exactly when the thread would sleep (see the facade's
// futex model), so any timeout value explores the same interleavings.
const SOON: Duration = Duration::from_millis(1);

#[test]
fn spsc_across_a_block_boundary() {
    // Three values: two fill the first block, the third is in the second; the receiver of the
    // first block's last slot moves `head` on and frees the block, racing the installation.
    loom::model(|| {
        let (tx, rx) = unbounded();
        let sender = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(rx.recv(), Ok(i), "values of one sender arrive in order");
        }
        sender.join().unwrap();
    });
}

#[test]
fn drained_blocks_are_kept_reused_and_freed_once() {
    // Six values fill three blocks before the receiver starts (the sender of each block's last
    // slot allocates the next one, a fourth). The receiver drains them, recycling each drained
    // block into the spare entries (two under loom: the third drained block is freed), while
    // the sender's next two values cross into the fourth block's successor, taking a spare
    // block that the receiver may be putting back at that moment. A block taken twice is a
    // loom data race (two senders write one slot) or a lost value; a spare block never freed
    // is a loom leak.
    loom::model(|| {
        let (tx, rx) = unbounded();
        for i in 0..6 {
            tx.send(i).unwrap();
        }
        let receiver = thread::spawn(move || {
            for i in 0..8 {
                assert_eq!(rx.recv(), Ok(i), "values of one sender arrive in order");
            }
        });
        for i in 6..8 {
            tx.send(i).unwrap();
        }
        receiver.join().unwrap();
    });
}

#[test]
fn two_producers_one_consumer() {
    // One value before the threads start, so the two concurrent sends take the first block's
    // last slot (installing the next block) and the second block's first slot.
    loom::model(|| {
        let (tx, rx) = unbounded();
        tx.send(0).unwrap();
        let senders: Vec<_> = (1..3)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(i).unwrap())
            })
            .collect();
        drop(tx);
        let mut got: Vec<i32> = (0..3).map(|_| rx.recv().unwrap()).collect();
        for sender in senders {
            sender.join().unwrap();
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2], "every value exactly once");
    });
}

#[test]
fn one_producer_two_consumers() {
    // Two blocking receivers share the first block: whichever reads the last slot frees it,
    // or retires it while the other is still reading slot 0. The second value is sent
    // while they may be parked: both wakeups must arrive (the waiting receivers count).
    loom::model(|| {
        let (tx, rx) = unbounded();
        tx.send(1).unwrap();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv().unwrap())
            })
            .collect();
        drop(rx);
        tx.send(2).unwrap();
        let mut got: Vec<i32> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each receiver gets one value");
    });
}

#[test]
fn a_block_left_behind_by_a_busy_reader_is_freed_once() {
    // Two receivers share two full blocks. One may read a block's last slot while the other is
    // between claiming its slot and reading it: the block is retired (pushed on the stack),
    // and the next retirement (the second block's last slot) frees it if that reader is done
    // by then, else puts it back for the channel's drop. A free racing the busy reader's read
    // is a loom data race, a block never freed a loom leak, a value lost or dropped twice a
    // wrong count.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = unbounded();
        for id in 0..4 {
            tx.send(Counted::new(id, &counter)).unwrap();
        }
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || [rx.try_recv().unwrap().id, rx.try_recv().unwrap().id])
            })
            .collect();
        drop(rx);
        let mut got: Vec<usize> = receivers.into_iter().flat_map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3], "every value exactly once");
        assert_eq!(drops(&counter), 4);
        drop(tx);
    });
}

#[test]
fn a_peeking_receiver_keeps_the_block_alive_until_it_lets_go() {
    // A pop that does not know its slot is claimed peeks at it (`list.rs`, "Peeks"), pinning
    // the block in `head`'s peekers count. Here one receiver peeks while the other may claim
    // the peeked position and the block's last slot, retiring the block: the claimer hands the
    // pin to the block, which is not freed before the peeker lets go (a free before the peek
    // is a loom data race on the block's peek canary) and is freed once afterwards (a block
    // never freed is a loom leak; a pin never released would keep it off the spares, which
    // `tests/unbounded_memory.rs` checks). The blocking receive peeks with `EmptyCheck::Slot`,
    // the `try_recv`s with `EmptyCheck::Tail`.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = unbounded();
        for id in 0..3 {
            tx.send(Counted::new(id, &counter)).unwrap();
        }
        let peeker = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv().unwrap().id)
        };
        let mut got: Vec<usize> = (0..2).filter_map(|_| rx.try_recv().ok()).map(|c| c.id).collect();
        got.push(peeker.join().unwrap());
        got.extend(std::iter::from_fn(|| rx.try_recv().ok()).map(|c| c.id));
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2], "every value exactly once");
        assert_eq!(drops(&counter), 3);
        assert_eq!(tx.peek_pins_left(), 0, "every peek let go of its pin");
        drop((tx, rx));
    });
}

#[test]
fn a_peek_at_an_unwritten_slot_lets_go_before_the_free() {
    // A `try_recv` that peeks before the send finds the slot unwritten and takes its pin back
    // out of `head` (a Release CAS): the receiver that later claims the block's last slot
    // acquires that through its AcqRel CAS (the RMWs on `head` in between continue the release
    // sequence), so the peek happens before the free. The peeker touches nothing afterwards, so
    // nothing else orders it.
    loom::model(|| {
        let (tx, rx) = unbounded();
        let peeker = {
            let rx = rx.clone();
            thread::spawn(move || rx.try_recv().ok())
        };
        tx.send(0).unwrap();
        tx.send(1).unwrap();
        let mut got: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        got.extend(peeker.join().unwrap());
        got.extend(std::iter::from_fn(|| rx.try_recv().ok()));
        got.sort_unstable();
        assert_eq!(got, [0, 1], "every value exactly once");
        assert_eq!(tx.peek_pins_left(), 0, "every peek let go of its pin");
    });
}

#[test]
fn two_peeks_at_one_slot_racing_its_write() {
    // Two receivers peek at the block's last slot while its sender writes it: one may see it
    // unwritten and unpin (and, with `EmptyCheck::Tail`, claim it if the sender has), while the
    // other, pinned before, saw it written and claims it. The claim of the last slot (the
    // peek's CAS or the loop's, both AcqRel) reads the unpin, and is the only thing that orders
    // the first peek before the free that follows (either CAS made Release fails this model).
    loom::model(|| {
        let (tx, rx) = unbounded();
        tx.send(0).unwrap();
        assert_eq!(rx.try_recv(), Ok(0));
        let peeker = {
            let rx = rx.clone();
            thread::spawn(move || rx.try_recv().ok())
        };
        let sender = thread::spawn(move || tx.send(1).unwrap());
        let mut got: Vec<i32> = rx.try_recv().ok().into_iter().collect();
        sender.join().unwrap();
        got.extend(peeker.join().unwrap());
        got.extend(rx.try_recv().ok());
        assert_eq!(got, [1], "the value exactly once");
    });
}

#[test]
fn a_retired_block_freed_by_another_receiver() {
    // As above, but one receiver takes a single value: when that is a block's last slot while
    // the other is still reading the block's first, it retires the block and stops, and only
    // the retired stack (its Release push, the taker's Acquire swap) orders its read before the
    // free by the other receiver, whose later retirement takes the stack (the index words do
    // not: `head`'s crossing store precedes that read).
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = unbounded();
        for id in 0..4 {
            tx.send(Counted::new(id, &counter)).unwrap();
        }
        let one = {
            let rx = rx.clone();
            thread::spawn(move || vec![rx.try_recv().unwrap().id])
        };
        let three = thread::spawn(move || (0..3).map(|_| rx.try_recv().unwrap().id).collect::<Vec<_>>());
        let mut got = one.join().unwrap();
        got.extend(three.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3], "every value exactly once");
        assert_eq!(drops(&counter), 4);
        drop(tx);
    });
}

#[test]
fn two_parked_receivers_two_sends() {
    // The fence-free send hunt: both receivers may register and park before either send; the
    // first send's claim sees the count, the second's too (the first woken receiver has not
    // deregistered yet) or finds its value taken by a receiver that has not parked.
    // Three threads that all block: at two preemptions loom needs about 100 s here (it passes),
    // so CI runs it at one; the two-preemption run is in docs/channel.md.
    model_with_preemptions(1, || {
        let (tx, rx) = unbounded();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv().unwrap())
            })
            .collect();
        drop(rx);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got: Vec<i32> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn try_receivers_racing_a_send_never_claim_an_unsent_slot() {
    // Two `try_recv`s race one send. The receiver that loses the race for `head` must not
    // read a tail older than the winner's (it would see `head > tail`, claim a position no
    // sender claimed and wait for its value forever): the `head` CAS is a Release for that.
    // `len` reads `head` then `tail` and relies on the same order.
    loom::model(|| {
        let (tx, rx) = unbounded();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let got = rx.try_recv().ok();
                    assert!(rx.len() <= 1, "a snapshot never exceeds what was sent");
                    got
                })
            })
            .collect();
        tx.send(1).unwrap();
        let got: Vec<i32> = receivers.into_iter().filter_map(|r| r.join().unwrap()).collect();
        assert!(got.len() <= 1, "one value, received at most once");
        assert_eq!(rx.try_recv().ok().into_iter().chain(got).collect::<Vec<_>>(), [1]);
    });
}

#[test]
fn receivers_meeting_a_block_crossing_use_the_new_block() {
    // `head` sits on the first block's last slot, the next value is in the second block. One
    // receiver takes the last slot and moves `head` (and its block pointer) on; the other meets
    // the crossing or a moved `head`, and must then use the new block, never the old one, which
    // the first frees (a read of it is a loom data race).
    loom::model(|| {
        let (tx, rx) = unbounded();
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.try_recv(), Ok(0));
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.try_recv().ok())
            })
            .collect();
        let mut got: Vec<i32> = receivers.into_iter().filter_map(|r| r.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each value once, from the right block");
    });
}

#[test]
fn receiver_blocked_while_last_sender_drops() {
    loom::model(|| {
        let (tx, rx) = unbounded();
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
fn send_racing_receiver_drop_loses_nothing() {
    // One value already in the channel; a second send races the last receiver's drop (which
    // drains): each value is dropped exactly once, the racing one handed back or drained.
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = unbounded();
        tx.send(Counted::new(0, &counter)).unwrap();
        let c = counter.clone();
        let sender = thread::spawn(move || match tx.send(Counted::new(1, &c)) {
            Ok(()) => None,
            Err(error) => Some(error.into_inner().id),
        });
        drop(rx);
        let handed_back = sender.join().unwrap();
        assert!(matches!(handed_back, None | Some(1)));
        assert_eq!(drops(&counter), 2, "the drained value and the racing one, once each");
    });
}

#[test]
fn drop_with_values_spanning_two_blocks() {
    // Three values across two blocks; a receiver takes one and leaves while the last sender
    // drops: the rest are dropped exactly once and both blocks are freed (no loom leak).
    loom::model(|| {
        let counter = drop_counter();
        let (tx, rx) = unbounded();
        for id in 0..3 {
            tx.send(Counted::new(id, &counter)).unwrap();
        }
        let receiver = thread::spawn(move || rx.recv().unwrap().id);
        drop(tx);
        assert_eq!(receiver.join().unwrap(), 0);
        assert_eq!(drops(&counter), 3, "the received value and the two left behind");
    });
}

#[test]
fn recv_timeout_racing_send_keeps_the_value() {
    // A receiver that registers, times out and deregisters while the send claims its slot.
    loom::model(|| {
        let (tx, rx) = unbounded();
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
fn try_send_is_never_full_and_fails_once_closed() {
    loom::model(|| {
        let (tx, rx) = unbounded();
        let receiver = thread::spawn(move || drop(rx));
        let outcome = tx.try_send(1);
        receiver.join().unwrap();
        assert!(matches!(outcome, Ok(()) | Err(TrySendError::Disconnected(1))), "never Full");
        assert_eq!(tx.try_send(2), Err(TrySendError::Disconnected(2)));
    });
}
