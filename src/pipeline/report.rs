//! What a pipeline run measured: items in and out, busy and waiting time, per stage.

use crate::sync::atomic::{AtomicU64, Ordering};
use std::fmt;
use std::time::Duration;

/// Counters one stage's workers add to (each worker adds its totals once, when it ends).
#[derive(Debug, Default)]
pub(super) struct StageCounters {
    pub(super) items_in: AtomicU64,
    pub(super) items_out: AtomicU64,
    pub(super) busy_ns: AtomicU64,
    pub(super) waiting_ns: AtomicU64,
}

/// One worker's running totals, added to the stage's counters when the worker ends.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) items_in: u64,
    pub(super) items_out: u64,
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
            busy: Duration::from_nanos(load(&self.busy_ns)),
            waiting: Duration::from_nanos(load(&self.waiting_ns)),
        }
    }
}

/// What one stage did during a run (the source and the sink are stages too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageReport {
    /// The stage's name (`"source"` and `"sink"` for the ends).
    pub name: String,
    /// Worker threads of the stage.
    pub workers: usize,
    /// Items the stage received (the source: 0).
    pub items_in: u64,
    /// Items the stage passed on (the sink: 0). Less than `items_in` when items failed.
    pub items_out: u64,
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
    /// The stage whose workers were busiest (busy time per worker): the one to give more
    /// workers, or to make faster.
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
            "{:<16} {:>7} {:>10} {:>10} {:>12} {:>12}",
            "stage", "workers", "in", "out", "busy", "waiting"
        )?;
        for s in &self.stages {
            writeln!(
                f,
                "{:<16} {:>7} {:>10} {:>10} {:>12.3?} {:>12.3?}",
                s.name, s.workers, s.items_in, s.items_out, s.busy, s.waiting
            )?;
        }
        write!(f, "elapsed {:.3?}", self.elapsed)
    }
}
