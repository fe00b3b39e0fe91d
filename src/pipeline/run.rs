//! What runs: the source thread, the stage workers, and the state a run shares.
//!
//! Items travel as [`Env`]elopes carrying their source sequence number. An item whose stage
//! failed continues as a *hole* (`item: None`), so an order-restoring sink never waits for a
//! number that will not come. End of stream is disconnection: when a stage's last worker ends
//! it drops the last sender of the next channel. A worker also ends when its downstream is gone
//! (the sink was dropped), which cascades upstream to the source: nothing hangs.

use super::error::{BoxError, StageError};
use super::report::{StageCounters, Tally};
use crate::Semaphore;
use crate::channel::{self, Receiver, Sender};
use crate::rate::{Clock, TscClock};
use crate::sync::atomic::{AtomicBool, Ordering};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// An item (or a hole where an item failed) with its position in the source.
pub(super) struct Env<T> {
    pub(super) seq: u64,
    pub(super) item: Option<T>,
}

/// What every thread of one run shares.
pub(super) struct Run {
    /// Set by the first failure: the source stops pulling new items.
    stopped: AtomicBool,
    /// The first failure: its stage and error.
    failure: Mutex<Option<(String, StageError)>>,
    /// Threads to join, with the stage each belongs to.
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    /// Per stage, in order: name, workers, counters.
    pub(super) stages: Mutex<Vec<(String, usize, Arc<StageCounters>)>>,
    /// In-order runs: the source takes a permit per item, the sink gives it back when the item
    /// leaves the reorder buffer, so the buffer holds at most `window` items.
    pub(super) window: Option<Arc<Semaphore>>,
    pub(super) clock: TscClock,
}

impl Run {
    pub(super) fn new(window: Option<usize>) -> Self {
        Run {
            stopped: AtomicBool::new(false),
            failure: Mutex::new(None),
            threads: Mutex::new(Vec::new()),
            stages: Mutex::new(Vec::new()),
            window: window.map(|permits| Arc::new(Semaphore::new(permits))),
            clock: TscClock::new(),
        }
    }

    pub(super) fn is_stopped(&self) -> bool {
        // ORDERING: Relaxed: a hint to stop pulling; the error itself travels under the mutex.
        self.stopped.load(Ordering::Relaxed)
    }

    /// Records `error` if it is the first; stops the source either way.
    pub(super) fn fail(&self, stage: &str, error: StageError) {
        let mut first = self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.is_none() {
            *first = Some((stage.to_owned(), error));
        }
        // ORDERING: Relaxed: see `is_stopped`.
        self.stopped.store(true, Ordering::Relaxed);
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

    pub(super) fn spawn(&self, name: String, body: impl FnOnce() + Send + 'static) {
        let handle = std::thread::Builder::new().name(name).spawn(body).expect("start a pipeline thread");
        self.threads.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(handle);
    }
}

/// Starts the source: pulls `items` and sends them numbered, until the input ends, a stage
/// fails, or the first stage is gone.
pub(super) fn start_source<I>(run: &Arc<Run>, items: I, capacity: usize) -> Receiver<Env<I::Item>>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    let (tx, rx) = channel::bounded(capacity);
    let counters = run.stage("source", 1);
    let shared = Arc::clone(run);
    run.spawn("pipeline-source".to_owned(), move || {
        let mut tally = Tally::default();
        let clock = shared.clock;
        let mut mark = clock.now();
        for (seq, item) in (0u64..).zip(items) {
            let pulled = clock.now();
            tally.busy_ns += pulled - mark;
            if shared.is_stopped() {
                break;
            }
            if let Some(window) = &shared.window {
                window.acquire().forget(); // given back by the sink
            }
            let sent = tx.send(Env { seq, item: Some(item) }).is_ok();
            mark = clock.now();
            tally.waiting_ns += mark - pulled;
            if !sent {
                break; // the first stage is gone (the sink was dropped)
            }
            tally.items_out += 1;
        }
        counters.add(&tally);
    });
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
    F: Fn(T) -> Result<U, E> + Send + Sync + 'static,
{
    let (tx, rx) = channel::bounded(capacity);
    let counters = run.stage(name, workers);
    let f = Arc::new(f);
    for index in 0..workers {
        let (input, tx, f, counters, shared) =
            (input.clone(), tx.clone(), Arc::clone(&f), Arc::clone(&counters), Arc::clone(run));
        let stage = name.to_owned();
        run.spawn(format!("{name}-{index}"), move || {
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
    f: &(dyn Fn(T) -> Result<U, E> + Send + Sync),
    counters: &StageCounters,
) {
    let mut tally = Tally::default();
    let clock = run.clock;
    let mut mark = clock.now();
    while let Ok(Env { seq, item }) = input.recv() {
        let received = clock.now();
        tally.waiting_ns += received - mark;
        let out = match item {
            None => None, // a hole passes through
            Some(item) => {
                tally.items_in += 1;
                match panic::catch_unwind(AssertUnwindSafe(|| f(item))) {
                    Ok(Ok(out)) => Some(out),
                    Ok(Err(error)) => {
                        run.fail(stage, StageError::Failed(error.into()));
                        None
                    }
                    Err(payload) => {
                        run.fail(stage, StageError::Panicked(payload));
                        None
                    }
                }
            }
        };
        let done = clock.now();
        tally.busy_ns += done - received;
        let produced = out.is_some();
        if output.send(Env { seq, item: out }).is_err() {
            break; // downstream is gone: stop, which disconnects our input in turn
        }
        tally.items_out += u64::from(produced);
        mark = clock.now();
        tally.waiting_ns += mark - done;
    }
    counters.add(&tally);
}
