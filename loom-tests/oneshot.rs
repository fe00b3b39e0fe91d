//! loom models of `ringfence::oneshot`: every race between the two halves that the state word
//! arbitrates (see the transition table in `src/oneshot/cell.rs`).
//!
//! Values are drop counters (`Probe`), so "dropped exactly once" and "never dropped on the
//! sender's thread after `send` returned `Ok`" are asserted, not assumed. Wakers are counting
//! wakers on a loom `Arc`, so a leaked or double-dropped waker fails the model; the cell's block
//! carries a loom-tracked canary under loom, so a block nobody frees fails the model as a leak.

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use ringfence::oneshot::{self, RecvError, RecvTimeoutError, TryRecvError};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Counts drops of `Probe`s and remembers which thread dropped each.
#[derive(Default)]
struct Drops {
    count: AtomicUsize,
    threads: Mutex<Vec<thread::ThreadId>>,
}

impl Drops {
    fn new() -> Arc<Self> {
        Arc::new(Drops::default())
    }

    fn count(&self) -> usize {
        // ORDERING: SeqCst keeps the test simple; models read it after joins.
        self.count.load(Ordering::SeqCst)
    }

    fn dropped_on(&self, id: thread::ThreadId) -> bool {
        self.threads.lock().unwrap().contains(&id)
    }
}

/// A value that records its drop.
struct Probe(u32, Arc<Drops>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.1.threads.lock().unwrap().push(thread::current().id());
        // ORDERING: SeqCst, test bookkeeping.
        self.1.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker on a loom `Arc` that counts wakes and can be slept on; clones share it. A leaked
/// clone fails the model (loom's `Arc` leak check), a double drop panics in loom.
struct WakeCount {
    wakes: AtomicUsize,
    notified: Mutex<bool>,
    cond: Condvar,
}

impl WakeCount {
    fn new() -> Arc<Self> {
        Arc::new(WakeCount { wakes: AtomicUsize::new(0), notified: Mutex::new(false), cond: Condvar::new() })
    }

    fn wake(&self) {
        // ORDERING: SeqCst, test bookkeeping.
        self.wakes.fetch_add(1, Ordering::SeqCst);
        *self.notified.lock().unwrap() = true;
        self.cond.notify_one();
    }

    /// Sleeps until woken (consumes the notification). A lost wakeup is a loom deadlock.
    fn sleep(&self) {
        let mut notified = self.notified.lock().unwrap();
        while !*notified {
            notified = self.cond.wait(notified).unwrap();
        }
        *notified = false;
    }

    fn wakes(&self) -> usize {
        // ORDERING: SeqCst, test bookkeeping.
        self.wakes.load(Ordering::SeqCst)
    }

    fn waker(this: &Arc<Self>) -> Waker {
        let raw = RawWaker::new(Arc::into_raw(this.clone()).cast::<()>(), &VTABLE);
        // SAFETY: the vtable below upholds the RawWaker contract for an `Arc<WakeCount>` pointer.
        unsafe { Waker::from_raw(raw) }
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_raw, wake_raw, wake_by_ref_raw, drop_raw);

unsafe fn clone_raw(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live `Arc<WakeCount>` pointer owned by the waker being cloned.
    unsafe { Arc::increment_strong_count(data.cast::<WakeCount>()) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake_raw(data: *const ()) {
    // SAFETY: waking by value consumes the waker's reference.
    let arc = unsafe { Arc::from_raw(data.cast::<WakeCount>()) };
    arc.wake();
}

unsafe fn wake_by_ref_raw(data: *const ()) {
    // SAFETY: the waker keeps its reference; we only borrow it.
    let arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<WakeCount>()) });
    arc.wake();
}

unsafe fn drop_raw(data: *const ()) {
    // SAFETY: dropping the waker releases its reference, once.
    drop(unsafe { Arc::from_raw(data.cast::<WakeCount>()) });
}

/// Polls `rx` once with `waker`.
fn poll_once<T>(rx: &mut oneshot::Receiver<T>, waker: &Waker) -> Poll<Result<T, RecvError>> {
    Pin::new(rx).poll(&mut Context::from_waker(waker))
}

/// A minimal executor: poll, sleep until woken, poll again. (loom's own `block_on` needs loom's
/// `futures` feature.) A lost wakeup is a loom deadlock.
fn block_on<F: Future + Unpin>(mut future: F) -> F::Output {
    let counter = WakeCount::new();
    let waker = WakeCount::waker(&counter);
    loop {
        if let Poll::Ready(out) = Pin::new(&mut future).poll(&mut Context::from_waker(&waker)) {
            return out;
        }
        counter.sleep();
    }
}

/// Runs a model (preemption bound from `LOOM_MAX_PREEMPTIONS`, 3 when unset) and prints how many
/// executions loom explored (see it with `--nocapture`).
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = runs.clone();
    builder.check(move || {
        // ORDERING: Relaxed, a statistic outside the model (a std atomic, invisible to loom).
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    let name = thread_name();
    // ORDERING: Relaxed, read after `check` returned on this thread.
    eprintln!("loom {name}: {} executions", runs.load(std::sync::atomic::Ordering::Relaxed));
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/// `send` races the receiver's drop: the value is dropped exactly once, by the receiver or
/// handed back in the error; after `Ok` it is never dropped on the sender's thread, and
/// `is_closed` is true once the receiver is gone.
#[test]
fn send_vs_receiver_drop() {
    model(|| {
        let drops = Drops::new();
        let (tx, rx) = oneshot::channel();
        let value = Probe(1, drops.clone());
        let sender = thread::spawn(move || {
            let me = thread::current().id();
            match tx.send(value) {
                Ok(()) => (true, me),
                Err(err) => {
                    assert_eq!(err.into_inner().0, 1);
                    (false, me)
                }
            }
        });
        drop(rx);
        let (sent, sender_id) = sender.join().unwrap();
        assert_eq!(drops.count(), 1, "value dropped exactly once");
        if sent {
            assert!(!drops.dropped_on(sender_id), "a value sent Ok was dropped on the sender");
        }
    });
}

/// `is_closed` races the receiver's drop: once it has said `true`, `send` must fail (and give the
/// value back); after the drop is joined it must say `true`.
#[test]
fn is_closed_vs_receiver_drop() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        let receiver = thread::spawn(move || drop(rx));
        let closed = tx.is_closed();
        let sent = tx.send(3);
        if closed {
            assert_eq!(sent.unwrap_err().into_inner(), 3);
        }
        receiver.join().unwrap();
    });
}

/// A blocking `recv` (spin, then park on the state word) races `send`: no lost wakeup (a lost
/// one is a loom deadlock), the value arrives once.
#[test]
fn send_vs_blocking_recv() {
    model(|| {
        let drops = Drops::new();
        let (tx, rx) = oneshot::channel();
        let value = Probe(7, drops.clone());
        let sender = thread::spawn(move || tx.send(value).is_ok());
        let got = rx.recv().expect("sender sent");
        assert_eq!(got.0, 7);
        assert!(sender.join().unwrap());
        assert_eq!(drops.count(), 0);
        drop(got);
        assert_eq!(drops.count(), 1);
    });
}

/// The sender is dropped without sending while the receiver blocks: it wakes with `RecvError`.
#[test]
fn sender_drop_wakes_blocking_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel::<Probe>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(rx.recv().err(), Some(RecvError));
        sender.join().unwrap();
    });
}

/// `recv_timeout` races `send`. Under loom the deadline passes exactly when the thread would
/// sleep, so the model explores "timed out while the value lands": a `Timeout` leaves the
/// receiver usable and the value is received later; never lost, never twice.
#[test]
fn send_vs_recv_timeout() {
    model(|| {
        let drops = Drops::new();
        let (tx, mut rx) = oneshot::channel();
        let value = Probe(9, drops.clone());
        let sender = thread::spawn(move || tx.send(value).is_ok());
        let got = match rx.recv_timeout(Duration::from_millis(1)) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => rx.recv_timeout(Duration::MAX).expect("sent after the timeout"),
            Err(RecvTimeoutError::Disconnected) => panic!("the sender sends"),
        };
        assert_eq!(got.0, 9);
        assert!(sender.join().unwrap());
        // Finished: later calls report disconnection.
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Disconnected));
        assert_eq!(rx.recv_timeout(Duration::MAX).err(), Some(RecvTimeoutError::Disconnected));
        drop(got);
        assert_eq!(drops.count(), 1);
    });
}

/// `recv_timeout` races the sender's drop: `Timeout` or `Disconnected`, then `Disconnected`.
#[test]
fn sender_drop_vs_recv_timeout() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || drop(tx));
        match rx.recv_timeout(Duration::from_millis(1)) {
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => assert!(rx.is_ready()),
            Ok(_) => panic!("nothing was sent"),
        }
        sender.join().unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Disconnected));
    });
}

/// A task polls, then the sender sends: the task is woken and gets the value
/// (`block_on` deadlocks if the wakeup is lost).
#[test]
fn poll_then_send() {
    model(|| {
        let drops = Drops::new();
        let (tx, rx) = oneshot::channel();
        let value = Probe(3, drops.clone());
        let sender = thread::spawn(move || assert!(tx.send(value).is_ok()));
        let got = block_on(rx).expect("sent");
        assert_eq!(got.0, 3);
        sender.join().unwrap();
        drop(got);
        assert_eq!(drops.count(), 1);
    });
}

/// A task polls, then the sender is dropped: the task wakes with `RecvError`.
#[test]
fn poll_then_sender_drop() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx), Err(RecvError));
        sender.join().unwrap();
    });
}

/// The waker is replaced between polls while `send` races: only the latest waker may be
/// relied on (block_on's, last), the replaced ones are dropped (leaks fail the model), and the
/// first waker is woken at most once.
#[test]
fn waker_replaced_between_polls() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let first = WakeCount::new();
        let second = WakeCount::new();
        let sender = thread::spawn(move || assert!(tx.send(5).is_ok()));
        let mut got = None;
        for counter in [&first, &second] {
            if let Poll::Ready(result) = poll_once(&mut rx, &WakeCount::waker(counter)) {
                got = Some(result);
                break;
            }
        }
        let got = match got {
            Some(result) => result,
            None => block_on(&mut rx), // replaces `second`
        };
        assert_eq!(got, Ok(5));
        sender.join().unwrap();
        assert!(first.wakes() <= 1 && second.wakes() <= 1);
        // Only the cell could hold a clone of these wakers, and it is gone: no clone is left.
        assert_eq!(Arc::strong_count(&first), 1, "replaced waker leaked");
        assert_eq!(Arc::strong_count(&second), 1, "replaced waker leaked");
    });
}

/// The same waker polled twice is kept (`will_wake`), and it is woken once by `send`.
#[test]
fn same_waker_polled_twice_is_woken() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let counter = WakeCount::new();
        let waker = WakeCount::waker(&counter);
        let sender = thread::spawn(move || assert!(tx.send(8).is_ok()));
        let mut ready = false;
        for _ in 0..2 {
            if let Poll::Ready(result) = poll_once(&mut rx, &waker) {
                assert_eq!(result, Ok(8));
                ready = true;
                break;
            }
        }
        sender.join().unwrap();
        if !ready {
            // Pending twice, then the send: the registered waker must have been woken.
            assert_eq!(counter.wakes(), 1, "wakeup lost");
            assert_eq!(rx.try_recv(), Ok(8));
        }
        drop(waker);
        drop(rx);
        assert_eq!(Arc::strong_count(&counter), 1);
    });
}

/// The receiver is polled on one thread, then moved to another that finishes the wait, while
/// the original thread sends.
#[test]
fn receiver_moved_between_polls() {
    model(|| {
        let drops = Drops::new();
        let (tx, mut rx) = oneshot::channel();
        let counter = WakeCount::new();
        assert!(poll_once(&mut rx, &WakeCount::waker(&counter)).is_pending());
        let receiver = thread::spawn(move || block_on(rx).map(|p: Probe| p.0));
        assert!(tx.send(Probe(4, drops.clone())).is_ok());
        assert_eq!(receiver.join().unwrap(), Ok(4));
        assert_eq!(drops.count(), 1);
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "replaced waker leaked");
    });
}

/// The receiver is dropped after a poll registered a waker, racing `send`: the value is dropped
/// once, the waker is dropped (not leaked), the block is freed by exactly one side.
#[test]
fn receiver_dropped_after_poll() {
    model(|| {
        let drops = Drops::new();
        let (tx, mut rx) = oneshot::channel();
        let counter = WakeCount::new();
        assert!(poll_once(&mut rx, &WakeCount::waker(&counter)).is_pending());
        let value = Probe(2, drops.clone());
        let sender = thread::spawn(move || {
            let me = thread::current().id();
            (tx.send(value).map_err(|e| e.into_inner().0), me)
        });
        drop(rx);
        let (sent, sender_id) = sender.join().unwrap();
        assert_eq!(drops.count(), 1);
        match sent {
            Ok(()) => assert!(!drops.dropped_on(sender_id)),
            Err(id) => assert_eq!(id, 2),
        }
        assert_eq!(Arc::strong_count(&counter), 1, "waker leaked");
    });
}

/// The sender is dropped without sending while a task waits (registered waker) and the
/// receiver is dropped at the same time: nothing leaks, the block is freed once.
#[test]
fn sender_drop_vs_receiver_drop_after_poll() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let counter = WakeCount::new();
        assert!(poll_once(&mut rx, &WakeCount::waker(&counter)).is_pending());
        let sender = thread::spawn(move || drop(tx));
        drop(rx);
        sender.join().unwrap();
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "waker leaked");
    });
}

/// The sender is dropped unsent on another thread while the receiver, which never polled, is
/// dropped: whoever comes second frees the block, once (the receiver's inline free when it sees
/// `DISC`, by its load or by its failed CAS from 0; loom's leak check and its access tracking
/// in `free` catch a block freed twice, never, or while the sender still touches it).
#[test]
fn receiver_dropped_after_an_unsent_sender_frees_once() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || drop(tx));
        drop(rx);
        sender.join().unwrap();
    });
}

/// A receiver that polled (waker registered) then blocks with `recv`: the park path takes the
/// waker back first; the sender wakes the thread, not the stale task.
#[test]
fn poll_then_blocking_recv() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let counter = WakeCount::new();
        let sender = thread::spawn(move || assert!(tx.send(6).is_ok()));
        let got = match poll_once(&mut rx, &WakeCount::waker(&counter)) {
            Poll::Ready(result) => result,
            Poll::Pending => rx.recv(),
        };
        assert_eq!(got, Ok(6));
        sender.join().unwrap();
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "waker leaked");
    });
}

/// `try_recv` polled in a loop against `send`: `Empty` until the value, then the value once,
/// then `Disconnected`.
#[test]
fn try_recv_vs_send() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || assert!(tx.send(11).is_ok()));
        let first = rx.try_recv();
        sender.join().unwrap();
        match first {
            Ok(v) => assert_eq!(v, 11),
            Err(e) => {
                assert_eq!(e, TryRecvError::Empty);
                assert!(rx.is_ready());
                assert_eq!(rx.try_recv(), Ok(11));
            }
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// What the sender's thread wrote before dropping the sender unsent is visible to a receiver
/// that saw the disconnection (the drop is a release, as in std's channels): a task handle
/// whose worker gave up may read the worker's side effects.
#[test]
fn sender_drop_publishes_prior_writes() {
    model(|| {
        let side = Arc::new(loom::cell::UnsafeCell::new(0u32));
        let (tx, rx) = oneshot::channel::<u32>();
        let writer = side.clone();
        let sender = thread::spawn(move || {
            // SAFETY: the receiver reads `side` only after it saw the disconnection below.
            writer.with_mut(|p| unsafe { *p = 1 });
            drop(tx);
        });
        assert_eq!(rx.recv(), Err(RecvError));
        // SAFETY: the write happened-before the disconnection we observed (loom checks it).
        assert_eq!(side.with(|p| unsafe { *p }), 1);
        sender.join().unwrap();
    });
}

/// What the receiver's thread wrote before dropping the receiver is visible to a sender that
/// saw `is_closed()` (the drop is a release, `is_closed` an acquire): a worker that sees its
/// caller gone may read the caller's last words.
#[test]
fn receiver_drop_publishes_prior_writes() {
    model(|| {
        let side = Arc::new(loom::cell::UnsafeCell::new(0u32));
        let (tx, rx) = oneshot::channel::<u32>();
        let writer = side.clone();
        let receiver = thread::spawn(move || {
            // SAFETY: the sender reads `side` only after it saw the receiver gone.
            writer.with_mut(|p| unsafe { *p = 1 });
            drop(rx);
        });
        while !tx.is_closed() {
            thread::yield_now();
        }
        // SAFETY: the write happened-before the close we observed (loom checks it).
        assert_eq!(side.with(|p| unsafe { *p }), 1);
        receiver.join().unwrap();
    });
}

/// Three threads: the receiver is polled on the main thread, finished on a second, and the value
/// comes from a third, so the move races the send.
#[test]
fn receiver_moved_while_a_third_thread_sends() {
    model(|| {
        let drops = Drops::new();
        let (tx, mut rx) = oneshot::channel();
        let value = Probe(5, drops.clone());
        let sender = thread::spawn(move || tx.send(value).is_ok());
        let counter = WakeCount::new();
        let first = poll_once(&mut rx, &WakeCount::waker(&counter)).map(|r| r.map(|p: Probe| p.0));
        let receiver = thread::spawn(move || match first {
            Poll::Ready(result) => result,
            Poll::Pending => block_on(rx).map(|p| p.0),
        });
        assert_eq!(receiver.join().unwrap(), Ok(5));
        assert!(sender.join().unwrap());
        assert_eq!(drops.count(), 1);
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "replaced waker leaked");
    });
}

#[test]
fn timed_out_recv_after_poll_keeps_the_task_registered() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let counter = WakeCount::new();
        let waker = WakeCount::waker(&counter);
        let sender = thread::spawn(move || assert!(tx.send(5).is_ok()));
        match poll_once(&mut rx, &waker) {
            Poll::Ready(result) => assert_eq!(result, Ok(5)),
            Poll::Pending => match rx.recv_timeout(Duration::from_millis(1)) {
                Ok(v) => assert_eq!(v, 5),
                Err(RecvTimeoutError::Timeout) => {
                    counter.sleep();
                    assert_eq!(poll_once(&mut rx, &waker), Poll::Ready(Ok(5)));
                }
                Err(RecvTimeoutError::Disconnected) => panic!("the sender sends"),
            },
        }
        sender.join().unwrap();
        drop(waker);
        drop(rx);
        assert_eq!(Arc::strong_count(&counter), 1, "waker leaked");
    });
}

// ---------------------------------------------------------------------------------------------
// `Sender::closed`: the sender's waker (`TX_WAKER`, `TX_LEFT`)
// ---------------------------------------------------------------------------------------------

/// Polls the sender's `closed` once with `waker`.
fn poll_closed_once<T>(tx: &mut oneshot::Sender<T>, waker: &Waker) -> Poll<()> {
    tx.poll_closed(&mut Context::from_waker(waker))
}

/// A sender thread that registers its `closed` waker (made from `counter`; the receiver is
/// alive, so the poll is pending) and then sends `value`.
fn register_closed_then_send(
    mut tx: oneshot::Sender<u32>,
    counter: &Arc<WakeCount>,
    value: u32,
) -> thread::JoinHandle<()> {
    let waker = WakeCount::waker(counter);
    thread::spawn(move || {
        assert!(poll_closed_once(&mut tx, &waker).is_pending());
        assert!(tx.send(value).is_ok());
    })
}

/// A task waits in `closed()` while the receiver is dropped: it is woken (a lost wakeup is a
/// deadlock), `send` then fails with the value back, and nothing leaks.
#[test]
fn closed_waits_for_receiver_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let sender = thread::spawn(move || {
            block_on(tx.closed());
            assert!(tx.is_closed());
            assert_eq!(tx.send(4).unwrap_err().into_inner(), 4);
        });
        drop(rx);
        sender.join().unwrap();
    });
}

/// The sender registered its `closed` waker (before the race, so that the two-preemption bound
/// reaches the interesting order), then sends while the receiver is dropped: the receiver may
/// still be taking the waker when `send` finds `CLOSED`, so `send` reads its value back and the
/// last of the two to leave frees the block (`TX_LEFT`). The value is dropped once (handed
/// back, or by the receiver), the waker is not leaked, the block is freed once. (Mutants: a
/// `send` that frees at once, or a `TX_LEFT` RMW without Release, fail this model.)
#[test]
fn closed_waker_vs_send() {
    model(|| {
        let drops = Drops::new();
        let (mut tx, rx) = oneshot::channel();
        let counter = WakeCount::new();
        assert!(poll_closed_once(&mut tx, &WakeCount::waker(&counter)).is_pending());
        let value = Probe(7, drops.clone());
        let sender = thread::spawn(move || {
            let me = thread::current().id();
            (tx.send(value).map_err(|e| e.into_inner().0), me)
        });
        drop(rx);
        let (sent, sender_id) = sender.join().unwrap();
        assert_eq!(drops.count(), 1, "value dropped exactly once");
        match sent {
            Ok(()) => assert!(!drops.dropped_on(sender_id), "a value sent Ok was dropped on the sender"),
            Err(id) => assert_eq!(id, 7),
        }
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "the sender's waker leaked");
    });
}

/// As `closed_waker_vs_send`, with the sender dropped unsent: a dropped sender that finds
/// `CLOSED | TX_WAKER` leaves the block to the receiver, which frees it once it has taken the
/// waker.
#[test]
fn closed_waker_vs_sender_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let counter = WakeCount::new();
        assert!(poll_closed_once(&mut tx, &WakeCount::waker(&counter)).is_pending());
        let sender = thread::spawn(move || drop(tx));
        drop(rx);
        sender.join().unwrap();
        assert!(counter.wakes() <= 1);
        assert_eq!(Arc::strong_count(&counter), 1, "the sender's waker leaked");
    });
}

/// `closed()` polled on the sender's thread races the receiver's drop and then `send`: a
/// `Ready` means `send` fails; either way the value is dropped once.
#[test]
fn closed_poll_vs_receiver_drop_then_send() {
    model(|| {
        let drops = Drops::new();
        let (mut tx, rx) = oneshot::channel();
        let counter = WakeCount::new();
        let waker = WakeCount::waker(&counter);
        let value = Probe(6, drops.clone());
        let sender = thread::spawn(move || {
            let closed = poll_closed_once(&mut tx, &waker).is_ready();
            let sent = tx.send(value).map_err(|e| e.into_inner().0);
            if closed {
                assert_eq!(sent, Err(6), "closed() said the receiver was gone");
            }
        });
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops.count(), 1, "value dropped exactly once");
        assert_eq!(Arc::strong_count(&counter), 1, "the sender's waker leaked");
    });
}

/// The sender re-polls `closed` with another waker (taking its slot back) while the receiver
/// is dropped: the latest waker is woken, the replaced one is dropped, none leaks.
#[test]
fn closed_waker_replaced_vs_receiver_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let first = WakeCount::new();
        let second = WakeCount::new();
        let sender = thread::spawn(move || {
            let mut replaced = false;
            let first_waker = WakeCount::waker(&first);
            if poll_closed_once(&mut tx, &first_waker).is_pending() {
                let second_waker = WakeCount::waker(&second);
                if poll_closed_once(&mut tx, &second_waker).is_pending() {
                    replaced = true;
                    second.sleep(); // only the latest waker is woken
                    assert!(poll_closed_once(&mut tx, &second_waker).is_ready());
                }
            }
            drop(tx);
            (first, second, replaced)
        });
        drop(rx);
        let (first, second, replaced) = sender.join().unwrap();
        if replaced {
            assert_eq!(first.wakes(), 0, "a replaced waker was woken");
        }
        assert!(first.wakes() <= 1 && second.wakes() <= 1);
        assert_eq!(Arc::strong_count(&first), 1, "a replaced waker leaked");
        assert_eq!(Arc::strong_count(&second), 1, "the sender's waker leaked");
    });
}

/// The receiver's task polls (`WAKER`) while the sender registers its `closed` waker and then
/// sends: each side's CAS keeps the other's bit, the task is woken with the value, and the
/// sender's waker is never woken (the receiver took the value; nobody closed).
#[test]
fn receiver_poll_vs_closed_registration() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let tx_counter = WakeCount::new();
        let sender = register_closed_then_send(tx, &tx_counter, 8);
        assert_eq!(block_on(&mut rx), Ok(8));
        sender.join().unwrap();
        drop(rx);
        assert_eq!(tx_counter.wakes(), 0, "the sender's waker was woken without a close");
        assert_eq!(Arc::strong_count(&tx_counter), 1, "the sender's waker leaked");
    });
}

/// A receiver thread parks (with a deadline, which loom lets pass) while the sender registers
/// its `closed` waker, changing the futex word, and then sends: the park sleeps on the word it
/// found, a timed-out park withdraws `PARKED` keeping `TX_WAKER`, and the value arrives.
#[test]
fn closed_registration_vs_parked_recv() {
    model(|| {
        let (tx, mut rx) = oneshot::channel::<u32>();
        let tx_counter = WakeCount::new();
        let sender = register_closed_then_send(tx, &tx_counter, 9);
        let got = match rx.recv_timeout(Duration::from_millis(1)) {
            Ok(value) => value,
            Err(RecvTimeoutError::Timeout) => rx.recv().expect("the sender sends"),
            Err(RecvTimeoutError::Disconnected) => panic!("the sender sends"),
        };
        assert_eq!(got, 9);
        sender.join().unwrap();
        assert_eq!(tx_counter.wakes(), 0);
        assert_eq!(Arc::strong_count(&tx_counter), 1, "the sender's waker leaked");
    });
}

/// The sender waits in `closed()` while the receiver's task polls, its thread then parks with a
/// deadline that passes, and it is dropped: every receiver transition keeps the sender's
/// `TX_WAKER`, so the drop still wakes the sender (a registration lost on the way is a
/// deadlock). (Mutants: a poll or a park CAS that writes its own bits only fails it.)
#[test]
fn receiver_waits_then_drops_while_closed_waits() {
    model(|| {
        let (mut tx, mut rx) = oneshot::channel::<u32>();
        let receiver = thread::spawn(move || {
            let counter = WakeCount::new();
            assert!(poll_once(&mut rx, &WakeCount::waker(&counter)).is_pending());
            assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
            drop(rx);
            assert_eq!(counter.wakes(), 0);
            counter
        });
        block_on(tx.closed());
        assert!(tx.is_closed());
        drop(tx);
        let counter = receiver.join().unwrap();
        assert_eq!(Arc::strong_count(&counter), 1, "the receiver's waker leaked");
    });
}

/// A sender that saw the receiver gone through `poll_closed` (polled in a loop: the first poll
/// registers, each later one takes the slot back first) sees the receiver thread's earlier
/// writes, as `is_closed` does. (Mutants, both killed: `poll_closed`'s load, or its reclaim
/// CAS's failure ordering, weakened to Relaxed. A version that registered once and then slept
/// on the waker let the first mutant survive: the yields are what let loom run the receiver
/// between two polls.)
#[test]
fn closed_publishes_the_receivers_prior_writes() {
    model(|| {
        let side = Arc::new(loom::cell::UnsafeCell::new(0u32));
        let (mut tx, rx) = oneshot::channel::<u32>();
        let writer = side.clone();
        let receiver = thread::spawn(move || {
            // SAFETY: the sender reads `side` only after it saw the receiver gone.
            writer.with_mut(|p| unsafe { *p = 1 });
            drop(rx);
        });
        let counter = WakeCount::new();
        let waker = WakeCount::waker(&counter);
        while poll_closed_once(&mut tx, &waker).is_pending() {
            thread::yield_now();
        }
        // SAFETY: the write happened-before the close we observed (loom checks it).
        assert_eq!(side.with(|p| unsafe { *p }), 1);
        receiver.join().unwrap();
    });
}

/// Registered before the race, the sender re-polls `closed()` with another waker (taking the
/// slot back and publishing again) while the receiver is dropped: the first waker is dropped
/// (woken at most once if the drop took it first), the second is woken or the poll is ready,
/// and `send` then fails with the value. (Kills the closing CAS with Release only on success:
/// the receiver must acquire the re-published waker.)
#[test]
fn closed_repoll_vs_receiver_drop() {
    model(|| {
        let (mut tx, rx) = oneshot::channel::<u32>();
        let first = WakeCount::new();
        assert!(poll_closed_once(&mut tx, &WakeCount::waker(&first)).is_pending());
        let second = WakeCount::new();
        let woken = second.clone();
        let sender = thread::spawn(move || {
            let waker = WakeCount::waker(&woken);
            if poll_closed_once(&mut tx, &waker).is_pending() {
                woken.sleep();
                assert!(poll_closed_once(&mut tx, &waker).is_ready());
            }
            drop(waker);
            assert_eq!(tx.send(1).unwrap_err().into_inner(), 1);
        });
        drop(rx);
        sender.join().unwrap();
        assert!(first.wakes() <= 1);
        assert_eq!(Arc::strong_count(&first), 1, "the first waker leaked");
        assert_eq!(Arc::strong_count(&second), 1, "the second waker leaked");
    });
}
