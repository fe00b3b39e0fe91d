//! What a pipeline run measured: items in and out, busy and waiting time, per stage.

use crate::sync::atomic::{AtomicU64, Ordering};
use std::fmt;
use std::time::Duration;

/// Counters one stage's workers add to (each worker adds its totals once, when it ends).
#[derive(Debug, Default)]
pub(super) struct StageCounters {
    pub(super) items_in: AtomicU64,
    pub(super) items_out: AtomicU64,
    pub(super) filtered: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) discarded: AtomicU64,
    pub(super) busy_ns: AtomicU64,
    pub(super) waiting_ns: AtomicU64,
}

/// One worker's running totals, added to the stage's counters when the worker ends.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) items_in: u64,
    pub(super) items_out: u64,
    pub(super) filtered: u64,
    pub(super) failed: u64,
    pub(super) discarded: u64,
    pub(super) busy_ns: u64,
    pub(super) waiting_ns: u64,
}

impl StageCounters {
    pub(super) fn add(&self, tally: &Tally) {
        // ORDERING: Relaxed: read only after every worker was joined (the join synchronises).
        self.items_in.fetch_add(tally.items_in, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.items_out.fetch_add(tally.items_out, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.filtered.fetch_add(tally.filtered, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.failed.fetch_add(tally.failed, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.discarded.fetch_add(tally.discarded, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.busy_ns.fetch_add(tally.busy_ns, Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        self.waiting_ns.fetch_add(tally.waiting_ns, Ordering::Relaxed);
    }

    pub(super) fn report(&self, name: &str, workers: usize) -> StageReport {
        // ORDERING: Relaxed: called after every worker of the stage was joined.
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StageReport {
            name: name.to_owned(),
            workers,
            items_in: load(&self.items_in),
            items_out: load(&self.items_out),
            filtered: load(&self.filtered),
            failed: load(&self.failed),
            discarded: load(&self.discarded),
            busy: Duration::from_nanos(load(&self.busy_ns)),
            waiting: Duration::from_nanos(load(&self.waiting_ns)),
        }
    }
}

/// What one stage did during a run (the source and the sink are stages too).
///
/// Every item a stage takes is counted once, so after the run
/// `items_in == items_out + filtered + failed + discarded` for every stage.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::Pipeline;
///
/// let err = Pipeline::from_iter(0..100u32)
///     .try_stage("even", |x| if x % 2 == 0 { Ok(x) } else { Err(format!("{x} is odd")) })
///     .collect()
///     .unwrap_err();
/// let [source, even, _sink] = &err.report.stages[..] else { unreachable!() };
/// // The first failure stops the source; the odd items already in flight fail too, and each
/// // failure is counted (the error itself is the first one).
/// assert!(even.failed >= 1);
/// assert_eq!(even.items_in, even.items_out + even.filtered + even.failed + even.discarded);
/// // Nothing pulled is lost: it was collected or it failed (no stage here filters).
/// assert_eq!(source.items_in, err.partial.len() as u64 + err.report.failed());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageReport {
    /// The stage's name (`"source"` and `"sink"` for the ends).
    pub name: String,
    /// Worker threads of the stage.
    pub workers: usize,
    /// Items the stage took: for the source, the items it pulled from its iterator or
    /// receiver; for the sink, the items that reached it.
    pub items_in: u64,
    /// Items the stage passed on: for the sink, the items it delivered (collected, given to
    /// the `for_each` function, sent to the receiver).
    pub items_out: u64,
    /// Items the stage's function filtered out (returned `None`: a
    /// [`filter_map_stage`](super::Pipeline::filter_map_stage) or
    /// [`filter_stage`](super::Pipeline::filter_stage)); `0` for every other stage.
    pub filtered: u64,
    /// Items whose function returned `Err` or panicked (for the sink: whose `for_each`
    /// function panicked). Every failure is counted; the run's error is the first one.
    pub failed: u64,
    /// Items dropped because the next stage was gone: only when the sink ended early (the
    /// receiver of `into_receiver` was dropped). Items waiting in a channel between two stages
    /// at that moment are dropped with it and counted by neither: the upstream stage's
    /// `items_out` minus the downstream stage's `items_in`.
    pub discarded: u64,
    /// Time spent in the stage's function, summed over its workers.
    pub busy: Duration,
    /// Time spent waiting for input or for room downstream, summed over its workers.
    pub waiting: Duration,
}

/// What a pipeline run measured, stage by stage: what tells you where the bottleneck is.
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::Pipeline;
///
/// let (out, report) = Pipeline::from_iter(0..100u32).stage("double", |x| x * 2).collect().unwrap();
/// assert_eq!(out.len(), 100);
/// let double = &report.stages[1];
/// assert_eq!((double.items_in, double.items_out), (100, 100));
/// println!("{report}"); // a table; `report.bottleneck()` names the busiest stage
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Source first, sink last.
    pub stages: Vec<StageReport>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl Report {
    /// Items that failed, over every stage (each failure counted, not only the first).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let (out, report) = Pipeline::from_iter(0..10).collect().unwrap();
    /// assert_eq!((out.len(), report.failed()), (10, 0));
    /// ```
    #[must_use]
    pub fn failed(&self) -> u64 {
        self.stages.iter().map(|stage| stage.failed).sum()
    }

    /// Items filtered out, over every stage ([`filter_map_stage`](super::Pipeline::filter_map_stage),
    /// [`filter_stage`](super::Pipeline::filter_stage)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let (out, report) = Pipeline::from_iter(0..10).filter_stage("even", |n| n % 2 == 0).collect().unwrap();
    /// assert_eq!((out.len(), report.filtered()), (5, 5));
    /// ```
    #[must_use]
    pub fn filtered(&self) -> u64 {
        self.stages.iter().map(|stage| stage.filtered).sum()
    }

    /// The stage whose workers were busiest (busy time per worker): the one to give more
    /// workers, or to make faster.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// let slow = |x: u32| {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    ///     x
    /// };
    /// let (_, report) = Pipeline::from_iter(0..20u32).stage("slow", slow).collect().unwrap();
    /// let bottleneck = report.bottleneck().unwrap();
    /// println!("give `{}` more workers", bottleneck.name); // "slow", by a wide margin
    /// ```
    #[must_use]
    pub fn bottleneck(&self) -> Option<&StageReport> {
        self.stages
            .iter()
            .max_by_key(|stage| stage.busy / u32::try_from(stage.workers.max(1)).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>7} {:>10} {:>10} {:>8} {:>8} {:>9} {:>12} {:>12}",
            "stage", "workers", "in", "out", "filtered", "failed", "discarded", "busy", "waiting"
        )?;
        for s in &self.stages {
            writeln!(
                f,
                "{:<16} {:>7} {:>10} {:>10} {:>8} {:>8} {:>9} {:>12.3?} {:>12.3?}",
                s.name,
                s.workers,
                s.items_in,
                s.items_out,
                s.filtered,
                s.failed,
                s.discarded,
                s.busy,
                s.waiting
            )?;
        }
        write!(f, "elapsed {:.3?}", self.elapsed)
    }
}
