//! What runs: the source thread, the stage workers, and the state a run shares.
//!
//! Items travel as [`Env`]elopes carrying their source sequence number. An item whose stage
//! failed continues as a *hole* (`item: None`), so an order-restoring sink never waits for a
//! number that will not come. End of stream is disconnection: when a stage's last worker ends
//! it drops the last sender of the next channel. A worker also ends when its downstream is gone
//! (the sink was dropped), which cascades upstream to the source: nothing hangs.
//!
//! # Stopping
//!
//! A run *stops* at its first failure, or when the sink ends early (its receiver was dropped,
//! or it unwound). A stopped source takes nothing more from its input: it checks the stop
//! before each pull, never after (an item pulled and then thrown away would be lost; with a
//! receiver source it is a message taken from the user's channel). An item taken in the
//! instant the stop came is sent on like any other: processed, and delivered or failed. A receiver source may be
//! blocked waiting for a message when the stop comes, so it waits in a way the stop can
//! interrupt: it polls a cancel-safe [`RecvFuture`](crate::channel::RecvFuture) and parks, and
//! [`Run::stop`] unparks it. Messages it did not take stay in the user's channel.
//!
//! # Accounting
//!
//! Every thread counts, for the report, each item it took (`items_in`) exactly once as passed
//! on (`items_out`), failed (its function returned `Err` or panicked: `failed`), or dropped
//! because the next stage was gone (`discarded`, only when the sink ended early).

use super::error::{BoxError, StageError};
use super::report::{StageCounters, Tally};
use crate::Panic;
use crate::Semaphore;
use crate::channel::{self, Receiver, Sender};
use crate::rate::{Clock, TscClock};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::wait::caught;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::{self, JoinHandle, Thread};

/// An item (or a hole where an item failed) with its position in the source.
pub(super) struct Env<T> {
    pub(super) seq: u64,
    pub(super) item: Option<T>,
}

/// What every thread of one run shares.
pub(super) struct Run {
    /// Set by the first failure or by the sink ending early: the source stops pulling new
    /// items. Written only through [`Run::stop`], never cleared.
    stopped: AtomicBool,
    /// The source's thread, unparked by [`Run::stop`]. Set by `start_source` right after it
    /// spawns the source, which is before any other thread of the run exists (stages are built
    /// after their input), so every `stop` finds it.
    source: OnceLock<Thread>,
    /// The first failure: its stage and error.
    failure: Mutex<Option<(String, StageError)>>,
    /// Threads to join, with the stage each belongs to (a panic found at the join is that
    /// stage's failure).
    pub(super) threads: Mutex<Vec<(String, JoinHandle<()>)>>,
    /// Per stage, in order: name, workers, counters.
    pub(super) stages: Mutex<Vec<(String, usize, Arc<StageCounters>)>>,
    /// In-order runs: the source takes a permit per item, the sink gives it back when the item
    /// leaves the reorder buffer, so the buffer holds at most `window` items. With its size.
    pub(super) window: Option<(Arc<Semaphore>, usize)>,
    pub(super) clock: TscClock,
}

impl Run {
    pub(super) fn new(window: Option<usize>) -> Self {
        Run {
            stopped: AtomicBool::new(false),
            source: OnceLock::new(),
            failure: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
            stages: Mutex::new(Vec::new()),
            window: window.map(|permits| (Arc::new(Semaphore::new(permits)), permits)),
            clock: TscClock::new(),
        }
    }

    pub(super) fn is_stopped(&self) -> bool {
        // ORDERING: Relaxed: the flag publishes no data (the error travels under its mutex).
        // A source parked in `FromChannel::pull` is woken by `stop`'s unpark, which
        // synchronises-with the `park` that returns (std documents it), so its next load
        // sees the store; a source busy elsewhere sees it at its next check.
        self.stopped.load(Ordering::Relaxed)
    }

    /// Stops the run: the source takes no item after it sees this (and a source waiting on
    /// a channel is woken to see it, as is one waiting for the order window: the first stop
    /// adds the window's size in permits, and once the source sees the stop it takes no more).
    pub(super) fn stop(&self) {
        // ORDERING: Relaxed: see `is_stopped`; the swap precedes the unpark and the permits in
        // program order, and only its first caller adds them.
        if self.stopped.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(source) = self.source.get() {
            source.unpark();
        }
        if let Some((window, size)) = &self.window {
            window.add_permits(*size);
        }
    }

    /// Records `error` if it is the first; stops the run either way. A later error is dropped
    /// here, its `Drop` caught: it is the user's code, and a panic in it must not end the
    /// thread that reports it (its items would be lost, and the run's counts with them).
    pub(super) fn fail(&self, stage: &str, error: StageError) {
        let mut first = self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let later = if first.is_none() {
            *first = Some((stage.to_owned(), error));
            None
        } else {
            Some(error)
        };
        drop(first);
        self.stop();
        if let Some(later) = later {
            caught(move || drop(later));
        }
    }

    pub(super) fn take_failure(&self) -> Option<(String, StageError)> {
        self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Registers a stage for the report and returns its counters.
    pub(super) fn stage(&self, name: &str, workers: usize) -> Arc<StageCounters> {
        let counters = Arc::new(StageCounters::default());
        self.stages.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((
            name.to_owned(),
            workers,
            Arc::clone(&counters),
        ));
        counters
    }

    /// Starts a thread of stage `stage` and returns its handle (to unpark it).
    pub(super) fn spawn(&self, stage: &str, name: String, body: impl FnOnce() + Send + 'static) -> Thread {
        let handle = thread::Builder::new().name(name).spawn(body).expect("start a pipeline thread");
        let thread = handle.thread().clone();
        self.threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((stage.to_owned(), handle));
        thread
    }
}

/// Where a source takes its items from.
pub(super) trait Pull: Send + 'static {
    type Item: Send + 'static;

    /// The next item, or `None` at the end of the input or once `run` is stopped. The stop is
    /// checked before an item is taken, so a stopped source takes nothing more.
    fn pull(&mut self, run: &Run) -> Option<Self::Item>;

    /// The time (in the run's clock's nanoseconds) the pulls since the last call spent waiting
    /// for input rather than working: the report counts it as waiting, not busy.
    fn take_waited_ns(&mut self) -> u64 {
        0
    }
}

/// A source pulling from an iterator.
pub(super) struct FromIter<I>(pub(super) I);

impl<I> Pull for FromIter<I>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    type Item = I::Item;

    fn pull(&mut self, run: &Run) -> Option<I::Item> {
        // An iterator that blocks inside `next` (itself waiting for input) is only asked
        // between items: the stop cannot interrupt it (`from_receiver` can be).
        if run.is_stopped() { None } else { self.0.next() }
    }
}

/// A source receiving from a channel: waits for a message or the stop, whichever comes first.
pub(super) struct FromChannel<T> {
    input: Receiver<T>,
    /// Unparks the source thread; made on that thread at the first pull.
    waker: Option<Waker>,
    /// Time parked waiting for a message (or the stop) since the last `take_waited_ns`.
    waited_ns: u64,
}

impl<T> FromChannel<T> {
    pub(super) fn new(input: Receiver<T>) -> Self {
        FromChannel { input, waker: None, waited_ns: 0 }
    }
}

impl<T: Send + 'static> Pull for FromChannel<T> {
    type Item = T;

    fn pull(&mut self, run: &Run) -> Option<T> {
        let waker = self.waker.get_or_insert_with(crate::wait::current_thread_waker);
        let mut cx = Context::from_waker(waker);
        // Polled, not `recv`: a blocking `recv` could only be ended by a message or by the
        // producers disconnecting, and they may stay idle forever after a failure.
        let mut recv = pin!(self.input.recv_async());
        loop {
            if run.is_stopped() {
                // Dropping the future takes nothing: it is cancel-safe (a message is taken
                // only in the poll that returns it), so what the producers sent stays in the
                // channel for the user's other receivers.
                return None;
            }
            if let Poll::Ready(received) = recv.as_mut().poll(&mut cx) {
                return received.ok();
            }
            // Woken by a message (the waker), by `Run::stop`, or spuriously: either way the
            // loop checks the stop, then the channel, again.
            let parked = run.clock.now();
            thread::park();
            self.waited_ns += run.clock.now().saturating_sub(parked);
        }
    }

    fn take_waited_ns(&mut self) -> u64 {
        std::mem::take(&mut self.waited_ns)
    }
}

/// Starts the source: pulls `input` and sends its items numbered, until the input ends or the
/// run stops (a failure, or the sink ended early).
pub(super) fn start_source<S: Pull>(run: &Arc<Run>, mut input: S, capacity: usize) -> Receiver<Env<S::Item>> {
    let (tx, rx) = channel::bounded(capacity);
    let counters = run.stage("source", 1);
    let shared = Arc::clone(run);
    let thread = run.spawn("source", "pipeline-source".to_owned(), move || {
        let mut tally = Tally::default();
        let clock = shared.clock;
        let mut mark = clock.now();
        for seq in 0u64.. {
            // The stop is checked inside `pull`, before an item is taken: an item taken is
            // always sent on (processed and delivered, or failed), never thrown away here.
            let item = match panic::catch_unwind(AssertUnwindSafe(|| input.pull(&shared))) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(payload) => {
                    shared.fail("source", StageError::Panicked(Panic::new(payload)));
                    break;
                }
            };
            tally.items_in += 1;
            let pulled = clock.now();
            let waited = input.take_waited_ns();
            tally.waiting_ns += waited;
            tally.busy_ns += pulled.saturating_sub(mark).saturating_sub(waited);
            if let Some((window, _)) = &shared.window {
                window.acquire().forget(); // given back by the sink
            }
            let sent = match tx.send(Env { seq, item: Some(item) }) {
                Ok(()) => true,
                Err(unsent) => {
                    // The item's `Drop` is the user's: a panic in it must not end the source.
                    caught(move || drop(unsent));
                    false
                }
            };
            mark = clock.now();
            tally.waiting_ns += mark.saturating_sub(pulled);
            if !sent {
                tally.discarded += 1;
                break; // the first stage is gone (the sink ended early)
            }
            tally.items_out += 1;
        }
        counters.add(&tally);
    });
    // Before any stage thread exists: every later `stop` will unpark the source.
    run.source.set(thread).expect("a run has one source");
    rx
}

/// Starts `workers` threads of stage `name`: each applies `f` to the items of `input` and
/// sends the results downstream, on a channel of `capacity`.
pub(super) fn start_stage<T, U, E, F>(
    run: &Arc<Run>,
    name: &str,
    workers: usize,
    input: Receiver<Env<T>>,
    capacity: usize,
    f: F,
) -> Receiver<Env<U>>
where
    T: Send + 'static,
    U: Send + 'static,
    E: Into<BoxError>,
    F: Fn(T) -> Result<Option<U>, E> + Send + Sync + 'static,
{
    let (tx, rx) = channel::bounded(capacity);
    let counters = run.stage(name, workers);
    let f = Arc::new(f);
    for index in 0..workers {
        let (input, tx, f, counters, shared) =
            (input.clone(), tx.clone(), Arc::clone(&f), Arc::clone(&counters), Arc::clone(run));
        let stage = name.to_owned();
        run.spawn(name, format!("{name}-{index}"), move || {
            work(&shared, &stage, &input, &tx, &*f, &counters);
        });
    }
    rx
}

/// One worker's loop.
fn work<T, U, E: Into<BoxError>>(
    run: &Run,
    stage: &str,
    input: &Receiver<Env<T>>,
    output: &Sender<Env<U>>,
    f: &(dyn Fn(T) -> Result<Option<U>, E> + Send + Sync),
    counters: &StageCounters,
) {
    let mut tally = Tally::default();
    let clock = run.clock;
    let mut mark = clock.now();
    while let Ok(Env { seq, item }) = input.recv() {
        let received = clock.now();
        tally.waiting_ns += received.saturating_sub(mark);
        let out = match item {
            None => None, // a hole passes through
            Some(item) => {
                tally.items_in += 1;
                // The error's conversion is the user's code too (an `Into` impl): inside.
                let outcome = match panic::catch_unwind(AssertUnwindSafe(|| f(item).map_err(Into::into))) {
                    Ok(Ok(out)) => Ok(out),
                    Ok(Err(error)) => Err(StageError::Failed(error)),
                    Err(payload) => Err(StageError::Panicked(Panic::new(payload))),
                };
                match outcome {
                    Ok(Some(out)) => Some(out),
                    Ok(None) => {
                        // Filtered out: a hole, as a failure leaves (it keeps an ordered run's
                        // numbering whole).
                        tally.filtered += 1;
                        None
                    }
                    Err(error) => {
                        // Every failure is counted; only the first one's error is kept.
                        tally.failed += 1;
                        run.fail(stage, error);
                        None
                    }
                }
            }
        };
        let done = clock.now();
        tally.busy_ns += done.saturating_sub(received);
        let produced = out.is_some();
        if let Err(unsent) = output.send(Env { seq, item: out }) {
            tally.discarded += u64::from(produced);
            // The output's `Drop` is the user's: a panic in it must not end this worker.
            caught(move || drop(unsent));
            break; // downstream is gone: stop, which disconnects our input in turn
        }
        tally.items_out += u64::from(produced);
        mark = clock.now();
        tally.waiting_ns += mark.saturating_sub(done);
    }
    counters.add(&tally);
}
