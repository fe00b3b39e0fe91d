#![cfg(not(loom))]
//! `select!`: crossbeam's syntax over `Selector`. Exactly one arm runs and only its operation
//! completes; a send that is not selected sends nothing and leaves its value in the caller's
//! `Option` (one `Cell` can offer a value to two channels); `default`
//! and `default(timeout)`; `biased;` and the fair order; bodies are the caller's code (`?`,
//! `break`, `return`); receivers and senders by value or by reference, `recv_any` over a
//! `Vec`, an array or a slice; a rendezvous send met by a thread. The `async;` form: awaited
//! on tokio and on a minimal `block_on`, its timed default on the crate's timer, and its
//! cancel safety (a `select!` future dropped while it waits took nothing and kept its send's
//! value).

mod async_util;
mod common;

use ringfence::channel::{RecvError, SendError, bounded, unbounded};
use ringfence::select;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn exactly_one_arm_runs_and_the_other_channels_keep_their_values() {
    let (numbers_tx, numbers) = bounded::<u32>(1);
    let (words_tx, words) = unbounded::<&str>();
    numbers_tx.send(1).unwrap();
    words_tx.send("one").unwrap();
    let mut runs = 0;
    let first = select! {
        recv(numbers) -> n => { runs += 1; format!("{}", n.unwrap()) }
        recv(words) -> w => { runs += 1; w.unwrap().to_string() }
    };
    assert_eq!(runs, 1);
    // The other value is still there, and the next selection takes it.
    let second = select! {
        recv(numbers) -> n => format!("{}", n.unwrap()),
        recv(words) -> w => w.unwrap().to_string(),
    };
    let mut got = [first, second];
    got.sort();
    assert_eq!(got, ["1".to_string(), "one".to_string()]);
    assert!(numbers.is_empty() && words.is_empty());
}

#[test]
fn a_send_that_is_not_selected_leaves_its_value_in_the_callers_option() {
    let drops = common::DropCounter::new();
    let (full_tx, full_rx) = bounded::<common::Tracked>(1);
    full_tx.send(drops.make(0)).unwrap(); // full: the send arm cannot run
    let (ready_tx, ready) = bounded::<u8>(1);
    ready_tx.send(5).unwrap();
    let mut next = Some(drops.make(1));
    let got = select! {
        send(full_tx, &mut next) -> _ => None,
        recv(ready) -> n => Some(n.unwrap()),
    };
    assert_eq!(got, Some(5));
    assert!(next.is_some(), "the unsent value is still the caller's");
    assert_eq!(drops.dropped(), 0, "and nothing was dropped");
    assert_eq!(full_rx.len(), 1, "nothing more was sent");
    drop(full_rx.recv().unwrap());
    // Now there is room: the same Option goes out.
    let sent = select! { send(&full_tx, &mut next) -> sent => sent.is_ok(), default => false };
    assert!(sent && next.is_none());
    drop(full_rx.recv().unwrap());
    assert_eq!(drops.dropped(), 2);
}

#[test]
fn a_selected_send_delivers_its_value_and_one_value_can_be_offered_to_two_channels() {
    let (tx, rx) = bounded::<String>(1);
    let sent = select! { send(tx, &mut Some("hello".to_string())) -> sent => sent };
    assert_eq!(sent, Ok(()));
    assert_eq!(rx.recv().unwrap(), "hello");

    // One value, two channels: whichever has room takes it.
    let (other_tx, other_rx) = bounded::<String>(1);
    tx.send("filler".to_string()).unwrap();
    let offered = std::cell::Cell::new(Some("either".to_string()));
    let which = select! {
        send(tx, &offered) -> _ => "tx",
        send(other_tx, &offered) -> _ => "other",
    };
    assert_eq!(which, "other");
    assert_eq!(other_rx.recv().unwrap(), "either");
    assert_eq!(offered.take(), None);

    drop(rx);
    // Disconnected: the send is ready and its arm gets the value back in the error.
    let back = select! { send(&tx, &mut Some("lost?".to_string())) -> sent => sent };
    assert_eq!(back, Err(SendError("lost?".to_string())));
}

#[test]
fn default_runs_only_when_nothing_is_ready_now() {
    let (tx, rx) = bounded::<u8>(1);
    assert_eq!(select! { recv(rx) -> n => n.ok(), default => None }, None);
    tx.send(3).unwrap();
    assert_eq!(select! { recv(rx) -> n => n.ok(), default => None }, Some(3));
    drop(tx);
    assert_eq!(select! { recv(rx) -> n => n, default => Ok(0) }, Err(RecvError), "disconnected is ready");
}

#[test]
fn default_with_a_timeout_waits_for_it_and_takes_nothing() {
    let (tx, rx) = bounded::<u8>(1);
    let start = Instant::now();
    let got = select! {
        recv(rx) -> n => n.ok(),
        default(Duration::from_millis(30)) => None,
    };
    assert_eq!(got, None);
    assert!(start.elapsed() >= Duration::from_millis(25), "waited {:?}", start.elapsed());
    // A value that comes within the timeout is received.
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(9).unwrap();
    });
    let got = select! {
        recv(rx) -> n => n.ok(),
        default(common::WATCHDOG) => None,
    };
    assert_eq!(got, Some(9));
    sender.join().unwrap();
}

#[test]
fn biased_takes_the_first_ready_arm_and_the_default_order_is_fair() {
    let (a_tx, a) = unbounded::<u8>();
    let (b_tx, b) = unbounded::<u8>();
    for _ in 0..200 {
        a_tx.send(0).unwrap();
        b_tx.send(1).unwrap();
    }
    for _ in 0..50 {
        let got = select! { biased; recv(a) -> n => n.unwrap(), recv(b) -> n => n.unwrap() };
        assert_eq!(got, 0, "biased: the first arm while it is ready");
    }
    let mut counts = [0; 2];
    for _ in 0..100 {
        let got: u8 = select! { recv(a) -> n => n.unwrap(), recv(b) -> n => n.unwrap() };
        counts[usize::from(got)] += 1;
    }
    // Random order: both arms run (the chance that one of them never does is 2^-99).
    assert!(counts[0] > 0 && counts[1] > 0, "{counts:?}");
}

#[test]
fn bodies_are_the_callers_code() {
    fn first_even(rx: &ringfence::channel::Receiver<u32>) -> Result<u32, RecvError> {
        loop {
            let n = select! { recv(rx) -> n => n? };
            if n % 2 == 1 {
                continue;
            }
            return Ok(n);
        }
    }
    let (tx, rx) = bounded::<u32>(4);
    for n in [1, 3, 4, 5] {
        tx.send(n).unwrap();
    }
    assert_eq!(first_even(&rx), Ok(4));
    drop(tx);
    assert_eq!(first_even(&rx), Err(RecvError), "5 skipped, then `?` returned the error");

    let (tx, rx) = bounded::<u32>(1);
    let mut seen = 0;
    for round in 0.. {
        tx.send(round).unwrap();
        select! {
            recv(rx) -> n => {
                seen += 1;
                if n.unwrap() == 5 {
                    break;
                }
            }
        }
    }
    assert_eq!(seen, 6);
}

#[test]
fn recv_any_over_a_vec_an_array_and_a_slice() {
    let (tx0, rx0) = bounded::<u32>(1);
    let (tx1, rx1) = bounded::<u32>(1);
    tx1.send(11).unwrap();
    let receivers = vec![rx0, rx1];
    let got = select! { recv_any(receivers) -> (index, n) => (index, n.unwrap()) };
    assert_eq!(got, (1, 11));
    tx0.send(10).unwrap();
    let array: [ringfence::channel::Receiver<u32>; 2] = receivers.try_into().unwrap();
    assert_eq!(select! { recv_any(&array) -> (index, _) => index }, 0);
    let slice: &[_] = &array;
    tx1.send(12).unwrap();
    let got = select! {
        recv_any(slice) -> (index, n) => Some((index, n.unwrap())),
        default => None,
    };
    assert_eq!(got, Some((1, 12)));
}

#[test]
fn a_rendezvous_send_meets_a_receiving_thread() {
    common::within(common::WATCHDOG, || {
        let (tx, rx) = bounded::<u64>(0);
        let (_idle_tx, idle) = bounded::<u64>(1);
        let receiver = thread::spawn(move || rx.recv().unwrap());
        let sent = select! {
            send(tx, &mut Some(42)) -> sent => sent.is_ok(),
            recv(idle) -> _ => false,
        };
        assert!(sent);
        assert_eq!(receiver.join().unwrap(), 42);
    });
}

#[test]
fn many_threads_select_and_nothing_is_lost_or_duplicated() {
    const PER_PRODUCER: u64 = 20_000;
    let (a_tx, a) = bounded::<u64>(8);
    let (b_tx, b) = bounded::<u64>(0);
    let producers: Vec<_> = [(a_tx, 0), (b_tx, 1)]
        .into_iter()
        .map(|(tx, id)| {
            thread::spawn(move || {
                for n in 0..PER_PRODUCER {
                    tx.send(id * PER_PRODUCER + n).unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                let (mut sum, mut count, mut open) = (0u64, 0u64, [true, true]);
                while open[0] || open[1] {
                    // A closed channel is always ready: select on the one still open alone.
                    let got = match open {
                        [true, true] => select! { recv(a) -> n => (0, n), recv(b) -> n => (1, n) },
                        [true, false] => select! { recv(a) -> n => (0, n) },
                        _ => select! { recv(b) -> n => (1, n) },
                    };
                    match got {
                        (_, Ok(n)) => {
                            sum += n;
                            count += 1;
                        }
                        (which, Err(_)) => open[which] = false,
                    }
                }
                (sum, count)
            })
        })
        .collect();
    drop((a, b));
    common::within(common::WATCHDOG, move || {
        for producer in producers {
            producer.join().unwrap();
        }
        let (sum, count) = consumers
            .into_iter()
            .map(|c| c.join().unwrap())
            .fold((0, 0), |(s, c), (s2, c2)| (s + s2, c + c2));
        let total = 2 * PER_PRODUCER;
        assert_eq!(count, total);
        assert_eq!(sum, total * (total - 1) / 2);
    });
}

#[test]
fn send_any_and_future_arms() {
    let (queues, queue_rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| bounded::<u32>(1)).unzip();
    let mut job = Some(7);
    let (index, sent) = select! { send_any(queues, &mut job) -> (index, sent) => (index, sent) };
    assert_eq!(sent, Ok(()));
    assert_eq!(job, None);
    assert_eq!(queue_rxs[index].try_recv(), Ok(7));

    // A future arm: a oneshot by reference, so a reply that loses the race stays there.
    let (reply_tx, mut reply) = ringfence::oneshot::channel::<&str>();
    let (_idle_tx, idle) = bounded::<u8>(1);
    reply_tx.send("done").unwrap();
    let got = select! {
        future(&mut reply) -> answer => answer.ok(),
        recv(idle) -> _ => None,
    };
    assert_eq!(got, Some("done"));
    let start = Instant::now();
    let timed_out = select! {
        future(ringfence::timer::sleep(Duration::from_millis(20))) -> () => true,
        recv(idle) -> _ => false,
    };
    assert!(timed_out && start.elapsed() >= Duration::from_millis(15));
}

#[test]
fn async_select_is_woken_by_a_task_on_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let (tx, rx) = bounded::<u32>(1);
        let (_other_tx, other) = unbounded::<&str>();
        let producer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.send_async(8).await.unwrap();
        });
        let got = select! {
            async;
            recv(other) -> _ => None,
            recv(rx) -> n => n.ok(),
        };
        assert_eq!(got, Some(8));
        producer.await.unwrap();
    });
}

#[test]
fn async_select_timed_default_and_biased_on_a_minimal_executor() {
    common::within(common::WATCHDOG, || {
        async_util::block_on(async {
            let (tx, rx) = bounded::<u32>(1);
            let start = Instant::now();
            let got = select! {
                async;
                recv(rx) -> n => n.ok(),
                default(Duration::from_millis(20)) => None,
            };
            assert_eq!(got, None);
            assert!(start.elapsed() >= Duration::from_millis(15), "{:?}", start.elapsed());
            tx.send(1).unwrap();
            let (b_tx, b) = bounded::<u32>(1);
            b_tx.send(2).unwrap();
            for _ in 0..20 {
                let got = select! {
                    biased;
                    async;
                    recv(rx) -> n => n.unwrap(),
                    recv(b) -> n => n.unwrap(),
                    default(Duration::from_secs(60)) => 0,
                };
                assert_eq!(got, 1, "biased: the first arm while it is ready");
                tx.send(1).unwrap();
            }
            // `default` without a timeout looks once, without waiting (the channel is full).
            let mut extra = Some(3);
            assert_eq!(select! { async; send(tx, &mut extra) -> _ => "sent", default => "full" }, "full");
            assert_eq!(extra, Some(3));
            assert_eq!(rx.len(), 1);
        });
    });
}

#[test]
fn a_dropped_async_select_takes_nothing_and_keeps_its_send_value() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    let (tx, rx) = bounded::<u32>(1);
    let (full_tx, full_rx) = bounded::<String>(1);
    full_tx.send("filler".to_string()).unwrap();
    let mut next = Some("kept".to_string());
    {
        let mut selecting = pin!(async {
            select! {
                async;
                recv(rx) -> n => Some(n.unwrap()),
                send(full_tx, &mut next) -> _ => None,
            }
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(selecting.as_mut().poll(&mut cx).is_pending(), "nothing ready: it waits");
        tx.send(4).unwrap(); // ready now, but the select is dropped before it is polled again
    }
    assert_eq!(rx.try_recv(), Ok(4), "the value stayed in the channel");
    assert_eq!(next.as_deref(), Some("kept"), "the unsent value is still the caller's");
    assert_eq!(full_rx.len(), 1);
}

/// Found by review: with a `default` arm the selection was a `match` scrutinee, whose
/// temporaries (here a lock guard in an arm's argument) lived through the bodies: a body that
/// locked the same mutex deadlocked. Both default forms drop them before a body runs.
#[test]
fn an_arms_temporaries_are_dropped_before_a_body_runs() {
    use std::sync::Mutex;

    let (_tx, rx) = bounded::<u8>(1);
    let shared = Mutex::new(rx);
    let free_in_default = select! {
        recv(shared.lock().unwrap()) -> _ => false,
        default => shared.try_lock().is_ok(),
    };
    assert!(free_in_default, "the guard from the arm's argument was still held");
    let free_after_timeout = select! {
        recv(shared.lock().unwrap()) -> _ => false,
        default(Duration::from_millis(1)) => shared.try_lock().is_ok(),
    };
    assert!(free_after_timeout);
}

/// Found by review: the async `default(timeout)` raced its timer as one more operation, so a
/// value ready when the timer had expired lost half the ties; now an operation ready at the
/// deadline wins, as in the blocking form.
#[test]
fn an_async_default_with_a_timeout_never_beats_a_ready_operation() {
    async_util::block_on(async {
        let (tx, rx) = bounded::<u32>(1);
        for round in 0..200 {
            tx.send(round).unwrap();
            let got = select! {
                async;
                recv(rx) -> n => n.ok(),
                default(Duration::ZERO) => None,
            };
            assert_eq!(got, Some(round));
        }
    });
}

/// From a user's review: the async form with every operation switched off hung for ever, where
/// the blocking form panics; both panic now, with the same cause named.
#[test]
fn a_select_with_no_operation_switched_on_panics_blocking_or_async() {
    let (tx, _rx) = ringfence::channel::bounded::<u32>(1);
    let blocking = std::panic::catch_unwind(|| {
        ringfence::select! {
            send(tx, &mut None::<u32>) -> _ => unreachable!("nothing to send"),
        }
    });
    let text = |payload: Box<dyn std::any::Any + Send>| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    };
    let message = text(blocking.expect_err("the blocking form panics")).unwrap();
    assert!(message.contains("no operation switched on"), "{message}");
    // Under a watchdog: the old code waited for ever here.
    let asynchronous = common::within(common::WATCHDOG, move || {
        std::panic::catch_unwind(move || {
            async_util::block_on(async {
                ringfence::select! {
                    async;
                    send(tx, &mut None::<u32>) -> _ => unreachable!("nothing to send"),
                }
            })
        })
        .map_err(text)
    });
    let message = asynchronous.expect_err("the async form panics instead of waiting forever").unwrap();
    assert!(message.contains("no operation switched on"), "{message}");
}

/// `never()` (crossbeam's): a receiver that never receives and never disconnects, swapped in for
/// a channel that has ended so a `select!` loop stops selecting its `Err`.
#[test]
fn never_stands_in_for_a_closed_channel_in_a_select_loop() {
    let nothing = ringfence::channel::never::<u32>();
    assert_eq!(nothing.try_recv(), Err(ringfence::channel::TryRecvError::Empty));
    assert_eq!(
        nothing.recv_timeout(Duration::from_millis(5)),
        Err(ringfence::channel::RecvTimeoutError::Timeout)
    );
    assert!(!nothing.is_disconnected());
    let (tx, rx) = bounded::<u32>(8);
    for n in 0..5 {
        tx.send(n).unwrap();
    }
    drop(tx);
    let (mut open, mut got, mut ended, mut rounds) = (true, Vec::new(), 0, 0);
    loop {
        rounds += 1;
        let source = if open { &rx } else { &nothing };
        select! {
            recv(source) -> msg => match msg {
                Ok(n) => got.push(n),
                Err(_) => { open = false; ended += 1; }
            },
            default(Duration::from_millis(5)) => break,
        }
    }
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert_eq!(ended, 1, "the end is seen once, then `never` waits");
    assert_eq!(rounds, 7, "five values, the end, and one round that timed out");
    assert!(nothing.close(), "closing it disconnects it");
    assert!(nothing.recv().is_err());
}
