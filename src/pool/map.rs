//! Lazy parallel `map` over an iterator: in input order ([`Map`]) or in completion order
//! ([`MapUnordered`]), with a bounded number of items in flight.
//!
//! Neither iterator pulls an item from the input before it is needed: at most `in_flight` items
//! have been taken from the input and not yet yielded (Python's `Executor.map` collected the
//! whole input first, cpython #74508; a billion-item input must not be materialised).

use super::Pool;
use super::completion::CompletionSet;
use super::error::TaskError;
use super::task::Task;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

impl Pool {
    /// Applies `f` to every item on the pool's workers; yields the results **in input order**.
    ///
    /// Lazy: nothing is submitted before the first `next`, and at most
    /// [`in_flight`](Map::in_flight) items (default: the builder's setting, twice the threads)
    /// have been pulled from `items` and not yet yielded. The iterator blocks in `next` until
    /// the next result in order is ready. A panic in `f` is yielded as
    /// [`TaskError::Panicked`] in that item's place and the rest go on. Dropping the iterator
    /// cancels the items submitted but not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let lengths: Vec<usize> =
    ///     pool.map(["a", "bb", "ccc"], |s| s.len()).collect::<Result<_, _>>().unwrap();
    /// assert_eq!(lengths, [1, 2, 3]);
    ///
    /// // Lazy: an endless input is fine.
    /// let first = pool.map(1u64.., |n| n * n).take(3).map(Result::unwrap).collect::<Vec<_>>();
    /// assert_eq!(first, [1, 4, 9]);
    /// ```
    pub fn map<I, F, R>(&self, items: I, f: F) -> Map<'_, I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        Map {
            pool: self,
            items: items.into_iter(),
            f: Arc::new(f),
            tasks: VecDeque::new(),
            in_flight: self.in_flight,
        }
    }

    /// Like [`Pool::map`], but yields each result **as soon as it is ready** (completion order),
    /// so one slow item does not hold back the others.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let mut squares: Vec<u64> =
    ///     pool.map_unordered(1..=4u64, |n| n * n).map(Result::unwrap).collect();
    /// squares.sort_unstable();
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// ```
    pub fn map_unordered<I, F, R>(&self, items: I, f: F) -> MapUnordered<'_, I::IntoIter, F, R>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        MapUnordered {
            pool: self,
            items: items.into_iter(),
            f: Arc::new(f),
            set: None,
            in_flight: self.in_flight,
        }
    }
}

/// Submits `f(item)` to `pool`.
fn submit_item<T, F, R>(pool: &Pool, f: &Arc<F>, item: T) -> Task<R>
where
    T: Send + 'static,
    F: Fn(T) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    let f = Arc::clone(f);
    pool.submit(move || f(item))
}

/// The iterator of [`Pool::map`]: results in input order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct Map<'pool, I, F, R> {
    pool: &'pool Pool,
    items: I,
    f: Arc<F>,
    /// Submitted, in input order.
    tasks: VecDeque<Task<R>>,
    in_flight: usize,
}

impl<I, F, R> Map<'_, I, F, R> {
    /// Sets how many items may be in flight (pulled from the input and not yet yielded).
    ///
    /// # Panics
    ///
    /// Panics with `"Map::in_flight: at least one item must be in flight"` when `items == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let sum: u64 = pool.map(0..100u64, |n| n).in_flight(16).map(Result::unwrap).sum();
    /// assert_eq!(sum, 4950);
    /// ```
    pub fn in_flight(mut self, items: usize) -> Self {
        assert!(items > 0, "Map::in_flight: at least one item must be in flight");
        self.in_flight = items;
        self
    }
}

impl<I, F, R> Iterator for Map<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.tasks.len() < self.in_flight {
            let Some(item) = self.items.next() else { break };
            self.tasks.push_back(submit_item(self.pool, &self.f, item));
        }
        self.tasks.pop_front().map(Task::wait)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.items.size_hint();
        let queued = self.tasks.len();
        (low.saturating_add(queued), high.and_then(|h| h.checked_add(queued)))
    }
}

/// The iterator of [`Pool::map_unordered`]: results in completion order.
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct MapUnordered<'pool, I, F, R> {
    pool: &'pool Pool,
    items: I,
    f: Arc<F>,
    /// Made at the first `next`, sized to `in_flight`.
    set: Option<CompletionSet<R>>,
    in_flight: usize,
}

impl<I, F, R> MapUnordered<'_, I, F, R> {
    /// Sets how many items may be in flight (pulled from the input and not yet yielded).
    ///
    /// # Panics
    ///
    /// Panics with `"MapUnordered::in_flight: at least one item must be in flight"` when
    /// `items == 0`, or when called after iteration began.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// assert_eq!(pool.map_unordered(0..10, |n| n).in_flight(1).count(), 10);
    /// ```
    pub fn in_flight(mut self, items: usize) -> Self {
        assert!(items > 0, "MapUnordered::in_flight: at least one item must be in flight");
        assert!(self.set.is_none(), "MapUnordered::in_flight: iteration already began");
        self.in_flight = items;
        self
    }
}

impl<I, F, R> Iterator for MapUnordered<'_, I, F, R>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        let set = self.set.get_or_insert_with(|| CompletionSet::with_capacity(self.in_flight));
        while set.len() < self.in_flight {
            let Some(item) = self.items.next() else { break };
            set.insert(0, submit_item(self.pool, &self.f, item));
        }
        set.next().map(|(_, result)| result)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.items.size_hint();
        let queued = self.set.as_ref().map_or(0, CompletionSet::len);
        (low.saturating_add(queued), high.and_then(|h| h.checked_add(queued)))
    }
}

impl<I, F, R> fmt::Debug for Map<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map").field("in_flight", &self.tasks.len()).finish_non_exhaustive()
    }
}

impl<I, F, R> fmt::Debug for MapUnordered<'_, I, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_flight = self.set.as_ref().map_or(0, CompletionSet::len);
        f.debug_struct("MapUnordered").field("in_flight", &in_flight).finish_non_exhaustive()
    }
}
