//! Pipelines: a source, stages with their own worker threads, a sink; the seed's Pipeline.
//!
//! ```text
//!   source ──chan(cap)──▶ stage "parse" ×2 ──chan(cap)──▶ stage "enrich" ×4 ──chan──▶ sink
//! ```
//!
//! Each stage is a function, a number of workers, and the capacity of the bounded
//! [`channel`] that feeds it (backpressure: a slow stage makes the ones before
//! it wait, memory stays bounded). End of stream is disconnection: when the source runs dry,
//! each stage finishes what it has and the end flows through; no sentinel values.
//!
//! # Guarantees
//!
//! - **Nothing silently lost.** Every item pulled from the source reaches the sink, or fails in
//!   a stage and is counted. The first failure (a stage's `Err`, or a panic, caught at the
//!   stage boundary; or a panic of the [`for_each`](Pipeline::for_each) function) stops the
//!   source: it checks the stop *before* pulling, so it takes nothing it would have to throw
//!   away. The items already in flight are drained through to the sink, and the error comes
//!   back with what the sink received and the report ([`PipelineError`]), which counts every
//!   failure, not only the first ([`StageReport::failed`]): items pulled = items delivered +
//!   items failed + items filtered out ([`filter_map_stage`](Pipeline::filter_map_stage),
//!   [`filter_stage`](Pipeline::filter_stage), counted in [`StageReport::filtered`]). A [`from_receiver`](Pipeline::from_receiver) source leaves what it did not
//!   take in the user's channel.
//! - **Order.** With several workers a stage may reorder items. [`Pipeline::ordered`] restores
//!   the source order at the sink (a reorder buffer, bounded by a window of items in flight).
//! - **No hang.** A run ends after a failure, or after the receiver of
//!   [`Pipeline::into_receiver`] is dropped, even when nothing is moving: a receiver source
//!   waiting on an idle producer is woken by the stop, and an idle `into_receiver` sink checks
//!   every 10 ms whether its receiver is gone. Each worker ends when its input ends or its
//!   downstream is gone. (An iterator source that blocks inside `next` is only stopped between
//!   items: use `from_receiver` for a source that waits.)
//! - **A report.** Every run returns a [`Report`]: items in, out, failed and discarded per
//!   stage, and the time its workers were busy versus waiting (for input or for room
//!   downstream): the stage with the most busy time per worker is the bottleneck. The clock is
//!   the CPU's time-stamp counter where available ([`TscClock`](crate::rate::TscClock)), a few
//!   nanoseconds per reading.
//!
//! # Examples
//!
//! ```
//! use ringfence::pipeline::Pipeline;
//!
//! let (lines, report) = Pipeline::from_iter(1..=1000u64)
//!     .stage("square", |x| x * x)
//!     .workers(2)
//!     .stage("format", |x| format!("{x:>8}"))
//!     .ordered()
//!     .collect()
//!     .unwrap();
//! assert_eq!(lines[2], "       9");
//! assert_eq!(lines.len(), 1000);
//! assert_eq!(report.stages.len(), 4); // source, square, format, sink
//! ```

mod collect_async;
mod error;
mod report;
mod run;

pub use collect_async::CollectFuture;
pub use error::{BoxError, PipelineError, StageError};
pub use report::{Report, StageReport};

use crate::Panic;
use crate::channel::{self, Receiver, RecvTimeoutError};
use crate::exiting::Exiting;
use crate::rate::Clock;
use run::{Env, FromChannel, FromIter, Pull, Run, start_source, start_stage};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default capacity of the channel feeding each stage ([`Pipeline::capacity`] sets another):
/// how many items may wait between two stages before the one upstream blocks.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::{DEFAULT_CAPACITY, Pipeline};
///
/// // The same pipeline as without the call.
/// let (v, _) = Pipeline::from_iter(0..10).stage("id", |x| x).capacity(DEFAULT_CAPACITY).collect().unwrap();
/// assert_eq!(v.len(), 10);
/// ```
pub const DEFAULT_CAPACITY: usize = 64;

/// Default number of items an [`ordered`](Pipeline::ordered) run keeps in flight.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::{DEFAULT_ORDER_WINDOW, Pipeline};
///
/// // More items than the window: the source waits for the oldest to leave, the order holds.
/// let n = 3 * DEFAULT_ORDER_WINDOW as u64;
/// let (v, _) = Pipeline::from_iter(0..n).stage("id", |x| x).workers(2).ordered().collect().unwrap();
/// assert!(v.iter().copied().eq(0..n));
/// ```
pub const DEFAULT_ORDER_WINDOW: usize = 4096;

/// How often an [`into_receiver`](Pipeline::into_receiver) sink with nothing to deliver
/// checks whether its receiver was dropped. The channel does not wake a sender when the last
/// receiver goes, so an idle sink has to look; a sink with items learns it from its send.
const SINK_WATCH_INTERVAL: Duration = Duration::from_millis(10);

/// Builds the channel that feeds the last stage and everything upstream of it, given the last
/// stage's configuration (which a source ignores) and the capacity of its output channel.
type Build<T> = Box<dyn FnOnce(&Arc<Run>, StageConfig, usize) -> Receiver<Env<T>> + Send>;

/// How a stage runs.
#[derive(Clone, Copy, Debug)]
struct StageConfig {
    workers: usize,
    /// Capacity of the channel that feeds the stage.
    capacity: usize,
}

const DEFAULT_STAGE: StageConfig = StageConfig { workers: 1, capacity: DEFAULT_CAPACITY };

/// A pipeline under construction: a source, then stages, then a sink that runs it.
///
/// `T` is the type of the items leaving the last stage. Errors of fallible stages are boxed
/// ([`BoxError`]) so stages with different error types mix.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::Pipeline;
///
/// let words: Pipeline<String> = Pipeline::from_iter(["a", "b"]).stage("upper", str::to_uppercase);
/// let (out, _) = words.collect().unwrap();
/// assert_eq!(out, ["A", "B"]);
/// ```
#[must_use = "a pipeline does nothing until a sink (collect, for_each, into_receiver) runs it"]
pub struct Pipeline<T> {
    build: Build<T>,
    /// The last stage's settings (modified by `workers` / `capacity` until the next stage);
    /// `None` until the first stage, as the source has neither workers nor an input channel.
    last: Option<StageConfig>,
    /// `Some(window)` when the sink restores the source order.
    order_window: Option<usize>,
}

impl<T: Send + 'static> Pipeline<T> {
    /// A pipeline whose source is an iterator (run on a thread of its own).
    ///
    /// # Examples
    ///
    /// ```
    /// let (v, _) = ringfence::pipeline::Pipeline::from_iter(vec![1, 2, 3]).collect().unwrap();
    /// assert_eq!(v, [1, 2, 3]);
    /// ```
    #[allow(clippy::should_implement_trait)] // a constructor, not `FromIterator` (it runs threads)
    pub fn from_iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Pipeline::from_source(FromIter(items.into_iter()))
    }

    /// A pipeline whose source is a channel receiver: it runs until every sender is dropped,
    /// or until the run stops (a stage failed, or the sink ended early).
    ///
    /// Once the run stops, the source takes nothing more from the channel, even when it was
    /// waiting for a message at that moment (the stop wakes it: a producer that stays idle
    /// cannot hold the pipeline). What it did not take stays in the channel, for another
    /// receiver of it (keep a clone to get it back). Every message the source did take is
    /// processed, and delivered or counted as failed (or as filtered, by a filter stage).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::{channel::bounded, pipeline::Pipeline};
    ///
    /// let (tx, rx) = bounded(8);
    /// std::thread::spawn(move || (0..5).for_each(|i| tx.send(i).unwrap()));
    /// let (v, _) = Pipeline::from_receiver(rx).stage("inc", |x| x + 1).collect().unwrap();
    /// assert_eq!(v.len(), 5);
    /// ```
    ///
    /// A failure with the producer still connected (and idle): the run ends anyway, and what
    /// the source did not take is still in the channel.
    ///
    /// ```
    /// use ringfence::{channel::bounded, pipeline::Pipeline};
    ///
    /// let (tx, rx) = bounded(16);
    /// let kept = rx.clone();
    /// (0..10).for_each(|i| tx.send(i).unwrap()); // `tx` stays alive, sending nothing more
    /// let err = Pipeline::from_receiver(rx)
    ///     .try_stage("check", |x| if x == 3 { Err("three") } else { Ok(x) })
    ///     .capacity(1)
    ///     .collect()
    ///     .unwrap_err();
    /// let left = kept.try_iter().count();
    /// assert_eq!(err.partial.len() as u64 + err.report.failed() + left as u64, 10);
    /// ```
    pub fn from_receiver(input: Receiver<T>) -> Self {
        Pipeline::from_source(FromChannel::new(input))
    }
}

impl<T: Send + 'static> Pipeline<T> {
    fn from_source<S: Pull<Item = T>>(input: S) -> Self {
        Pipeline {
            build: Box::new(move |run, _source, capacity| start_source(run, input, capacity)),
            last: None,
            order_window: None,
        }
    }

    /// Adds a stage applying `f` to every item, with one worker and an input channel of
    /// [`DEFAULT_CAPACITY`] (change them with [`workers`](Pipeline::workers) and
    /// [`capacity`](Pipeline::capacity) right after). A panic in `f` stops the pipeline like an
    /// error (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let (v, _) = Pipeline::from_iter(["a", "bb"]).stage("len", str::len).collect().unwrap();
    /// assert_eq!(v.iter().sum::<usize>(), 3);
    /// ```
    pub fn stage<U, F>(self, name: &str, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.try_stage(name, move |item| Ok::<U, std::convert::Infallible>(f(item)))
    }

    /// Adds a fallible stage: the first `Err` stops the pipeline and is returned by the sink.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let err = Pipeline::from_iter(["1", "2", "x", "4"])
    ///     .try_stage("parse", |s: &str| s.parse::<u32>())
    ///     .collect()
    ///     .unwrap_err();
    /// assert_eq!(err.stage, "parse");
    /// assert!(err.to_string().starts_with("pipeline stage `parse` failed"));
    /// assert!(err.partial.len() <= 3, "what was in flight is drained, never dropped");
    /// ```
    pub fn try_stage<U, E, F>(self, name: &str, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Result<U, E> + Send + Sync + 'static,
    {
        self.add_stage(name, move |item| f(item).map(Some))
    }

    /// Adds a stage that maps each item to zero or one output (`Iterator::filter_map`): `None`
    /// drops the item, counted as [`filtered`](StageReport::filtered) in the report (a
    /// pipeline-wide skip, such as malformed lines, without stopping the run or threading an
    /// `Option` through later stages). An ordered run stays ordered.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let lines = ["1", "2", "oops", "4"];
    /// let (numbers, report) = Pipeline::from_iter(lines)
    ///     .filter_map_stage("parse", |line: &str| line.parse::<u32>().ok())
    ///     .ordered()
    ///     .collect()
    ///     .unwrap();
    /// assert_eq!(numbers, [1, 2, 4]);
    /// assert_eq!(report.filtered(), 1);
    /// ```
    pub fn filter_map_stage<U, F>(self, name: &str, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> Option<U> + Send + Sync + 'static,
    {
        self.add_stage(name, move |item| Ok::<Option<U>, std::convert::Infallible>(f(item)))
    }

    /// Adds a stage that keeps the items for which `keep` returns `true` (`Iterator::filter`);
    /// the others are counted as [`filtered`](StageReport::filtered).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let (errors, report) = Pipeline::from_iter(["INFO a", "ERROR b", "INFO c", "ERROR d"])
    ///     .filter_stage("errors", |line: &&str| line.starts_with("ERROR"))
    ///     .ordered()
    ///     .collect()
    ///     .unwrap();
    /// assert_eq!(errors, ["ERROR b", "ERROR d"]);
    /// assert_eq!(report.stages[1].filtered, 2);
    /// ```
    pub fn filter_stage<F>(self, name: &str, keep: F) -> Pipeline<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.filter_map_stage(name, move |item| keep(&item).then_some(item))
    }

    /// The stage of [`try_stage`](Pipeline::try_stage) and the filters: `Ok(None)` filters the
    /// item out.
    fn add_stage<U, E, F>(self, name: &str, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        E: Into<BoxError>,
        F: Fn(T) -> Result<Option<U>, E> + Send + Sync + 'static,
    {
        let Pipeline { build, last: previous, order_window } = self;
        let previous = previous.unwrap_or(DEFAULT_STAGE); // a source's: ignored
        let name = name.to_owned();
        Pipeline {
            build: Box::new(move |run, this, capacity| {
                let input = build(run, previous, this.capacity);
                start_stage(run, &name, this.workers, input, capacity, f)
            }),
            last: Some(DEFAULT_STAGE),
            order_window,
        }
    }

    /// Sets the number of worker threads of the stage added last.
    ///
    /// # Panics
    ///
    /// Panics with `"Pipeline::workers: a stage needs at least one worker"` for `0`, and with
    /// `"Pipeline::workers: call .stage(...) first: the source has no workers"` when no stage
    /// was added yet (the source is one thread: `Pipeline::from_iter(..).workers(4)` would
    /// otherwise configure nothing).
    ///
    /// # Examples
    ///
    /// ```
    /// let (v, report) = ringfence::pipeline::Pipeline::from_iter(0..10).stage("id", |x| x).workers(3).collect().unwrap();
    /// assert_eq!((v.len(), report.stages[1].workers), (10, 3));
    /// ```
    pub fn workers(mut self, workers: usize) -> Self {
        let Some(last) = &mut self.last else {
            panic!("Pipeline::workers: call .stage(...) first: the source has no workers");
        };
        assert!(workers > 0, "Pipeline::workers: a stage needs at least one worker");
        last.workers = workers;
        self
    }

    /// Sets the capacity of the channel feeding the stage added last (`0`: each hand-over is a
    /// rendezvous).
    ///
    /// # Panics
    ///
    /// Panics with `"Pipeline::capacity: call .stage(...) first: the source has no input
    /// channel"` when no stage was added yet, and with `"Pipeline::capacity: {capacity} exceeds
    /// the channel maximum of 2147483647"` above [`ring::MAX_CAPACITY`](crate::ring::MAX_CAPACITY)
    /// (here, not when the run starts).
    ///
    /// # Examples
    ///
    /// ```
    /// let (v, _) = ringfence::pipeline::Pipeline::from_iter(0..10).stage("id", |x| x).capacity(2).collect().unwrap();
    /// assert_eq!(v.len(), 10);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        let Some(last) = &mut self.last else {
            panic!("Pipeline::capacity: call .stage(...) first: the source has no input channel");
        };
        assert!(
            capacity <= crate::ring::MAX_CAPACITY,
            "Pipeline::capacity: {capacity} exceeds the channel maximum of {}",
            crate::ring::MAX_CAPACITY
        );
        last.capacity = capacity;
        self
    }

    /// Makes the sink deliver items in source order, whatever the stages' worker counts, keeping
    /// at most [`DEFAULT_ORDER_WINDOW`] items in flight (the source waits beyond that, so one
    /// slow item cannot make the reorder buffer grow without bound).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let (v, _) = Pipeline::from_iter(0..200u64).stage("id", |x| x).workers(4).ordered().collect().unwrap();
    /// assert_eq!(v, (0..200).collect::<Vec<_>>());
    /// ```
    pub fn ordered(mut self) -> Self {
        self.order_window = Some(DEFAULT_ORDER_WINDOW);
        self
    }

    /// Runs the pipeline and collects its output.
    ///
    /// # Errors
    ///
    /// The first stage failure, with the items the sink collected (drained in-flight items
    /// included) in [`PipelineError::partial`]. Every item the source pulled is in `partial`,
    /// or counted as failed ([`Report::failed`]) or filtered out ([`Report::filtered`]) in the
    /// report: nothing is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// let (v, report) = ringfence::pipeline::Pipeline::from_iter(0..4).collect().unwrap();
    /// assert_eq!((v, report.stages.len()), (vec![0, 1, 2, 3], 2));
    /// ```
    pub fn collect(self) -> Result<(Vec<T>, Report), PipelineError<Vec<T>>> {
        let mut out = Vec::new();
        let (report, failure) = self.drain(None, false, |item| {
            out.push(item);
            true
        });
        match failure {
            None => Ok((out, report)),
            Some((stage, error)) => Err(PipelineError { stage, error, partial: out, report }),
        }
    }

    /// Runs the pipeline, calling `f` on each output item on this thread.
    ///
    /// A panic in `f` is caught and handled like a stage's: the run stops (the source pulls
    /// nothing more), the items already in flight are still passed to `f`, and the panic is
    /// returned as the error, with the stage name `"sink"`.
    ///
    /// # Errors
    ///
    /// The first failure: a stage's (the drained in-flight items were passed to `f`), or a
    /// panic of `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sum = 0;
    /// ringfence::pipeline::Pipeline::from_iter(1..=3).stage("x10", |x| x * 10).for_each(|x| sum += x).unwrap();
    /// assert_eq!(sum, 60);
    /// ```
    ///
    /// A panicking `f` ends the run with an error, not a hang:
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let err = Pipeline::from_iter(0..)
    ///     .stage("id", |x: u64| x)
    ///     .ordered()
    ///     .for_each(|x| assert!(x < 10, "too big"))
    ///     .unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(err.stage, "sink");
    /// ```
    pub fn for_each(self, mut f: impl FnMut(T)) -> Result<Report, PipelineError> {
        let (report, failure) = self.drain(None, false, |item| {
            f(item);
            true
        });
        match failure {
            None => Ok(report),
            Some((stage, error)) => Err(PipelineError { stage, error, partial: (), report }),
        }
    }

    /// Runs the pipeline in the background and returns a receiver of its output, plus a
    /// [`Running`] handle whose [`join`](Running::join) returns the report. Dropping the
    /// receiver stops the pipeline: the source stops pulling, and every stage ends, even when
    /// no item is moving (a receiver source waiting on an idle producer, for instance).
    /// Closing it (`Receiver::close`) stops the pipeline the same way; the items already in
    /// the receiver's channel can still be received, the ones in flight between stages are
    /// dropped.
    ///
    /// # Panics
    ///
    /// As [`channel::bounded`] when `capacity` exceeds
    /// [`ring::MAX_CAPACITY`](crate::ring::MAX_CAPACITY), and when the system refuses to start
    /// the sink's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (rx, running) = ringfence::pipeline::Pipeline::from_iter(0..)
    ///     .stage("square", |x: u64| x * x)
    ///     .into_receiver(16);
    /// let first: Vec<u64> = rx.iter().take(3).collect();
    /// assert_eq!(first.len(), 3);
    /// drop(rx); // an endless source, stopped by dropping the receiver
    /// assert!(running.join().is_ok());
    /// ```
    pub fn into_receiver(self, capacity: usize) -> (Receiver<T>, Running)
    where
        T: Send + 'static,
    {
        let (tx, rx) = channel::bounded(capacity);
        let sink = crate::sync::thread::Builder::new().name("pipeline-sink".to_owned());
        // The report goes through a oneshot, so that a task can await it (`join_async`).
        let exit = Exiting::spawn(sink, move || {
            let gone = || tx.is_disconnected();
            // The delivery is a send that waits for room in the user's channel: waiting time.
            let (report, failure) = self.drain(Some(&gone), true, |item| tx.send(item).is_ok());
            match failure {
                None => Ok(report),
                Some((stage, error)) => Err(PipelineError { stage, error, partial: (), report }),
            }
        })
        .expect("start the pipeline's sink thread");
        (rx, Running { exit })
    }

    /// Starts every thread, delivers the output to `deliver` (in source order if asked) until
    /// the stream ends or the consumer is gone (`deliver` returns `false`, or `gone` says so
    /// while no item comes), then stops the run, joins everything, and reports.
    ///
    /// `delivery_waits`: the time in `deliver` is waiting (for room downstream), not work,
    /// in the report.
    fn drain(
        self,
        gone: Option<&dyn Fn() -> bool>,
        delivery_waits: bool,
        mut deliver: impl FnMut(T) -> bool,
    ) -> (Report, Option<(String, StageError)>) {
        let started = Instant::now();
        let run = Arc::new(Run::new(self.order_window));
        // Before any thread starts, so that it runs on every way out of here, unwinding
        // included; after `output` below, so that it runs after the output is dropped.
        let end = EndRun(&run);
        let output = (self.build)(&run, self.last.unwrap_or(DEFAULT_STAGE), DEFAULT_CAPACITY);
        let counters = run.stage("sink", 1);
        let mut tally = report::Tally::default();
        let clock = run.clock;
        let mut mark = clock.now();
        let mut reorder: BTreeMap<u64, Option<T>> = BTreeMap::new();
        let mut next_seq = 0u64;
        let mut open = true;
        while open {
            let Some(Env { seq, item }) = receive(&output, gone) else { break };
            let received = clock.now();
            tally.waiting_ns += received.saturating_sub(mark);
            match &run.window {
                None => {
                    if let Some(item) = item {
                        open = hand_over(&run, &mut tally, &mut deliver, item);
                    }
                }
                Some((window, _)) => {
                    reorder.insert(seq, item);
                    while let Some(item) = reorder.remove(&next_seq) {
                        next_seq += 1;
                        window.add_permits(1); // the source may pull one more
                        if let Some(item) = item {
                            open = hand_over(&run, &mut tally, &mut deliver, item);
                            if !open {
                                break;
                            }
                        }
                    }
                }
            }
            mark = clock.now();
            let spent = mark.saturating_sub(received);
            if delivery_waits {
                tally.waiting_ns += spent;
            } else {
                tally.busy_ns += spent;
            }
        }
        // Dropping the output (and the reorder buffer) stops the stages if we ended early;
        // `end` stops the source, even one waiting for input while nothing moves.
        drop(output);
        drop(reorder);
        drop(end);
        counters.add(&tally);
        let threads =
            std::mem::take(&mut *run.threads.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for (stage, thread) in threads {
            // Stage functions' and the source iterator's panics are caught, and so are the
            // `Drop`s of the items and errors a thread throws away; this is a last resort for a
            // panic elsewhere on a thread of the run (dropping the iterator or a stage's
            // function, or the values left in a channel whose last receiver it dropped).
            if let Err(payload) = thread.join() {
                run.fail(&stage, StageError::Panicked(Panic::new(payload)));
            }
        }
        let stages = run.stages.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let report = Report {
            stages: stages.iter().map(|(name, workers, c)| c.report(name, *workers)).collect(),
            elapsed: started.elapsed(),
        };
        drop(stages);
        (report, run.take_failure())
    }
}

/// The next envelope for the sink, or `None` at the end of the stream or, with a `gone`
/// check, once the consumer is gone.
fn receive<T>(output: &Receiver<Env<T>>, gone: Option<&dyn Fn() -> bool>) -> Option<Env<T>> {
    let Some(gone) = gone else { return output.recv().ok() };
    loop {
        match output.recv_timeout(SINK_WATCH_INTERVAL) {
            Ok(envelope) => return Some(envelope),
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => {
                if gone() {
                    return None;
                }
            }
        }
    }
}

/// Hands one item to the sink's consumer and counts it; `false` once the consumer is gone.
///
/// A panic in the consumer (a `for_each` function) is caught and fails the run like a stage's
/// panic: the run stops and the sink goes on delivering what is in flight, as a stage whose
/// function panicked goes on with its other items. (`AssertUnwindSafe`: the consumer is the
/// caller's, who gets the panic back as the error.)
fn hand_over<T>(run: &Run, tally: &mut report::Tally, deliver: &mut impl FnMut(T) -> bool, item: T) -> bool {
    tally.items_in += 1;
    match panic::catch_unwind(AssertUnwindSafe(|| deliver(item))) {
        Ok(true) => {
            tally.items_out += 1;
            true
        }
        Ok(false) => {
            tally.discarded += 1; // the consumer is gone (a dropped receiver): so is the item
            false
        }
        Err(payload) => {
            tally.failed += 1;
            run.fail("sink", StageError::Panicked(Panic::new(payload)));
            true
        }
    }
}

/// Ends a run from the sink's side on every way out of `drain`, unwinding included: stops the
/// source and gives the order window's permits back, so that no thread of the run is left
/// waiting for a sink that is gone (an ordered run's source blocked on the window would
/// otherwise wait forever for permits only the sink gives back).
struct EndRun<'a>(&'a Run);

impl Drop for EndRun<'_> {
    fn drop(&mut self) {
        // The stop gives the order window's permits back too (once, whoever stops first).
        self.0.stop();
    }
}

/// A pipeline running in the background (see [`Pipeline::into_receiver`]).
///
/// # Examples
///
/// ```
/// let (rx, running) = ringfence::pipeline::Pipeline::from_iter(0..3).into_receiver(1);
/// println!("{running:?}"); // Running { finished: .. }
/// drop(rx);
/// running.join().unwrap();
/// ```
pub struct Running {
    exit: Exiting<Result<Report, PipelineError>>,
}

impl Running {
    /// Waits for the pipeline to end (the source ran dry, or the receiver was dropped) and
    /// returns its report.
    ///
    /// # Errors
    ///
    /// The first stage failure.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of the sink thread (which runs only the crate's code).
    ///
    /// # Examples
    ///
    /// ```
    /// let (rx, running) = ringfence::pipeline::Pipeline::from_iter(0..3).into_receiver(1);
    /// assert_eq!(rx.iter().count(), 3);
    /// assert_eq!(running.join().unwrap().stages.len(), 2);
    /// ```
    pub fn join(self) -> Result<Report, PipelineError> {
        self.exit.join()
    }

    /// [`join`](Self::join) without blocking: a future of the pipeline's end and its report.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future detaches the run, as dropping the `Running` does (see
    /// [`JoinFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (rx, running) = ringfence::pipeline::Pipeline::from_iter(1..=4)
    ///     .stage("double", |x: u32| x * 2)
    ///     .into_receiver(2);
    /// let mut sum = 0;
    /// while let Ok(x) = rx.recv_async().await {
    ///     sum += x;
    /// }
    /// let report = running.join_async().await.unwrap();
    /// assert_eq!((sum, report.stages.len()), (20, 3));
    /// # });
    /// ```
    pub fn join_async(self) -> JoinFuture {
        JoinFuture { exit: self.exit }
    }
}

/// The future returned by [`Running::join_async`]: resolves to the pipeline's report, or its
/// first stage failure, once the run has ended (every thread of the run has finished its work:
/// the sink joins them before it hands the report over), without blocking the executor's
/// thread.
///
/// # Panics
///
/// As [`Running::join`]: re-raises a panic of the sink thread. Polling again after it returned
/// `Ready` panics (the report was handed over once).
///
/// # Cancel safety
///
/// Dropping it detaches the run, as dropping the [`Running`] does: the pipeline goes on until
/// its source runs dry or its receiver is dropped, and the report is dropped (on the sink's
/// thread, or with the future if the run had already ended).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (rx, running) = ringfence::pipeline::Pipeline::from_iter(0..).into_receiver(4);
/// assert_eq!(rx.recv_async().await, Ok(0));
/// drop(rx); // an endless source, stopped by dropping the receiver
/// assert!(running.join_async().await.is_ok());
/// # });
/// ```
#[must_use = "dropped, the run is detached and its report lost"]
pub struct JoinFuture {
    exit: Exiting<Result<Report, PipelineError>>,
}

impl std::future::Future for JoinFuture {
    type Output = Result<Report, PipelineError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        self.get_mut().exit.poll_join(cx)
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl futures_core::future::FusedFuture for JoinFuture {
    fn is_terminated(&self) -> bool {
        self.exit.is_joined()
    }
}

impl fmt::Debug for JoinFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinFuture").field("finished", &self.exit.is_finished()).finish()
    }
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline").field("ordered", &self.order_window.is_some()).finish_non_exhaustive()
    }
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running").field("finished", &self.exit.is_finished()).finish()
    }
}
