//! One job of [`Pool::map`](super::Pool::map) and
//! [`Pool::map_unordered`](super::Pool::map_unordered): a batch of items mapped on a worker
//! ([`run`]), and its results yielded one by one on the caller's thread ([`Results`]).
//!
//! The results travel as a plain `Vec<R>` plus a (usually empty) list of the items that
//! panicked, not as one `Result` per item: for cheap items the caller's thread, which shares
//! the cores with the workers, otherwise spends a large part of the run copying three times
//! wider per-item results around (measured on the 2-core VM with 50 ns items: see
//! `docs/pool.md`, "Speed").

use super::error::TaskError;
use crate::Panic;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};
use std::vec;

/// A panic payload, as `std::thread::Result` carries it.
type Payload = Box<dyn Any + Send + 'static>;

/// What one job sends back.
pub(super) struct Output<R> {
    /// The results of the items that returned, in input order.
    values: Vec<R>,
    /// The items that panicked: their position in the batch and the payload, in input order.
    panics: Vec<(usize, Payload)>,
    /// How long the worker spent on the batch (the batch size adapts to it).
    pub(super) took: Duration,
}

/// Maps every item of `items` with `f`, catching each panic: an item that panics is recorded
/// with its position, and the items after it are still mapped.
pub(super) fn run<T, R>(items: Vec<T>, f: &impl Fn(T) -> R) -> Output<R> {
    let start = Instant::now();
    let mut values = Vec::with_capacity(items.len());
    let mut panics = Vec::new();
    let mut items = items.into_iter();
    // One `catch_unwind` over the whole run of items up to the next panic: no per-item
    // `Result` to build in the common case of no panic.
    while let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| {
        for item in &mut items {
            values.push(f(item));
        }
    })) {
        // Every item before the panicking one either returned or panicked: its position is
        // the count of both.
        let position = values.len() + panics.len();
        panics.push((position, payload));
    }
    Output { values, panics, took: start.elapsed() }
}

/// The results of one job, yielded in input order: each item's value, or
/// [`TaskError::Panicked`] where it panicked, or [`TaskError::Cancelled`] for every item of a
/// job that never ran.
pub(super) struct Results<R> {
    values: vec::IntoIter<R>,
    /// The panics after the next one, in order.
    panics: vec::IntoIter<(usize, Payload)>,
    /// The next panic and its position in the batch (`usize::MAX`: none left), checked before
    /// each value: one comparison per item when nothing panicked.
    next_panic: (usize, Option<Payload>),
    /// The position in the batch of the next result.
    position: usize,
    /// Items of a cancelled job still to report.
    cancelled: usize,
}

impl<R> Results<R> {
    /// No results.
    pub(super) fn empty() -> Self {
        Self::cancelled(0)
    }

    /// `len` items of a job that never ran: each resolves `Cancelled`.
    pub(super) fn cancelled(len: usize) -> Self {
        Self::new(Vec::new(), Vec::new(), len)
    }

    /// The results of a job that ran.
    pub(super) fn ran(output: Output<R>) -> Self {
        Self::new(output.values, output.panics, 0)
    }

    fn new(values: Vec<R>, panics: Vec<(usize, Payload)>, cancelled: usize) -> Self {
        let mut panics = panics.into_iter();
        let next_panic = next_panic(&mut panics);
        Results { values: values.into_iter(), panics, next_panic, position: 0, cancelled }
    }

    /// Results not yet yielded.
    pub(super) fn len(&self) -> usize {
        self.values.len() + self.panics.len() + usize::from(self.next_panic.1.is_some()) + self.cancelled
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The next panic of `panics` as `Results::next_panic` holds it.
fn next_panic(panics: &mut vec::IntoIter<(usize, Payload)>) -> (usize, Option<Payload>) {
    panics.next().map_or((usize::MAX, None), |(at, payload)| (at, Some(payload)))
}

impl<R> Iterator for Results<R> {
    type Item = Result<R, TaskError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let position = self.position;
        self.position += 1;
        if position == self.next_panic.0 {
            let (_, payload) = std::mem::replace(&mut self.next_panic, next_panic(&mut self.panics));
            return payload.map(|payload| Err(TaskError::Panicked(Panic::new(payload))));
        }
        if let Some(value) = self.values.next() {
            return Some(Ok(value));
        }
        if self.cancelled > 0 {
            self.cancelled -= 1;
            return Some(Err(TaskError::Cancelled));
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}
