//! Map-reduce on the pool: chunk the input, map and pre-reduce each chunk on a worker, reduce
//! the partial results on the caller's thread as they complete.

use super::Pool;
use super::chunked::chunk_len;
use super::error::TaskError;
use crate::Panic;
use std::sync::Arc;

/// Chunks per thread for an input of known length: enough that an uneven chunk does not leave
/// the other workers idle at the end, few enough that per-job overhead stays negligible.
pub(super) const CHUNKS_PER_THREAD: usize = 4;

/// The largest chunk: the caller copies each chunk into a `Vec`, and a chunk of a few tens of
/// kilobytes reuses the allocator's memory where a megabyte one would be a fresh `mmap` (and a
/// page fault per 4 KiB) every time (measured: 70% of a fine-grained `map_reduce` was that).
const MAX_CHUNK: usize = 4096;

/// Chunk size for inputs whose length is not known in advance.
const UNKNOWN_LENGTH_CHUNK: usize = 16;

impl Pool {
    /// Maps every item with `map` in parallel and combines the results with `reduce`;
    /// `None` for an empty input.
    ///
    /// The input is split into chunks (about four per thread, at most 4096 items, when its
    /// length is known, as for a `Vec` or a range; otherwise 16 items each: use
    /// [`Pool::map_reduce_chunked`] to choose). For data already in a slice,
    /// [`Pool::map_reduce_slice`] is faster: it does not copy the items.
    /// Each chunk is mapped and reduced on a worker (or on the calling thread, while it waits
    /// or when the queue is full: a full queue never blocks it); the partial results are
    /// reduced on the calling thread in the order they complete, while later chunks still run.
    /// At most [`in_flight`](super::Builder::in_flight) chunks (one job each) are pulled from
    /// the input at once, so the input is consumed lazily.
    ///
    /// `reduce` must be associative and commutative (sums, counts, merges of counters, min,
    /// max): partial results are combined in completion order, which varies from run to run.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] when `map` or `reduce` panicked on a worker (the remaining chunks
    /// are cancelled or, if running, their results dropped); `Cancelled` only if a job was
    /// discarded, which cannot happen while the pool is borrowed here.
    ///
    /// # Examples
    ///
    /// The sum of squares, and the seed's word count:
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::collections::HashMap;
    ///
    /// let pool = Pool::new(2);
    /// let sum = pool.map_reduce(1..=1000u64, |n| n * n, |a, b| a + b).unwrap();
    /// assert_eq!(sum, Some(333_833_500));
    ///
    /// let documents = vec!["the cat", "the dog", "a cat"];
    /// let counts = pool
    ///     .map_reduce(
    ///         documents,
    ///         |doc: &str| {
    ///             let mut counts = HashMap::new();
    ///             for word in doc.split_whitespace() {
    ///                 *counts.entry(word.to_owned()).or_insert(0) += 1;
    ///             }
    ///             counts
    ///         },
    ///         |mut a: HashMap<String, usize>, b| {
    ///             for (word, n) in b {
    ///                 *a.entry(word).or_insert(0) += n;
    ///             }
    ///             a
    ///         },
    ///     )
    ///     .unwrap()
    ///     .unwrap_or_default();
    /// assert_eq!(counts["cat"], 2);
    /// assert_eq!(counts["the"], 2);
    /// assert_eq!(counts["dog"], 1);
    ///
    /// assert_eq!(pool.map_reduce(Vec::<u64>::new(), |n| n, |a, b| a + b).unwrap(), None);
    /// ```
    pub fn map_reduce<I, A, M, Red>(&self, items: I, map: M, reduce: Red) -> Result<Option<A>, TaskError>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        A: Send + 'static,
        M: Fn(I::Item) -> A + Send + Sync + 'static,
        Red: Fn(A, A) -> A + Send + Sync + 'static,
    {
        let items = items.into_iter();
        let chunk = self.default_chunk(&items);
        self.map_reduce_chunked(items, chunk, map, reduce)
    }

    /// [`Pool::map_reduce`] with `chunk_size` items per job: larger chunks amortise the
    /// per-job cost (about a microsecond) over cheap items; smaller ones balance uneven work.
    ///
    /// # Errors
    ///
    /// As [`Pool::map_reduce`].
    ///
    /// # Panics
    ///
    /// Panics with `"Pool::map_reduce_chunked: chunk_size must be at least 1"` when
    /// `chunk_size == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let max = pool.map_reduce_chunked((0..10_000u32).rev(), 1000, |n| n, u32::max).unwrap();
    /// assert_eq!(max, Some(9_999));
    /// ```
    pub fn map_reduce_chunked<I, A, M, Red>(
        &self,
        items: I,
        chunk_size: usize,
        map: M,
        reduce: Red,
    ) -> Result<Option<A>, TaskError>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        A: Send + 'static,
        M: Fn(I::Item) -> A + Send + Sync + 'static,
        Red: Fn(A, A) -> A + Send + Sync + 'static,
    {
        assert!(chunk_size > 0, "Pool::map_reduce_chunked: chunk_size must be at least 1");
        let reduce = Arc::new(reduce);
        let reduce_chunk = Arc::clone(&reduce);
        let per_chunk =
            move |chunk: Vec<I::Item>| chunk.into_iter().map(&map).reduce(|a, b| reduce_chunk(a, b));
        self.reduce_chunks(items.into_iter(), chunk_size, per_chunk, &*reduce)
    }

    /// Folds the items in parallel, rayon-style: each chunk is folded on a worker, starting from
    /// `identity()`, with `fold`; the chunks' results are combined with `reduce` as they
    /// complete. An empty input gives `identity()`.
    ///
    /// Prefer it to [`Pool::map_reduce`] when the per-item result is expensive to make and
    /// merge (a word count that would build one map per document): the fold updates one
    /// accumulator per chunk in place. Chunking, laziness and errors are those of `map_reduce`;
    /// `reduce` must be associative and commutative, and `identity()` its neutral element.
    ///
    /// # Errors
    ///
    /// As [`Pool::map_reduce`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::collections::HashMap;
    ///
    /// let pool = Pool::new(2);
    /// let docs = vec!["a rose is a rose", "a b c"];
    /// let counts = pool
    ///     .fold_reduce(
    ///         docs,
    ///         HashMap::<&str, usize>::new,
    ///         |mut counts, doc: &str| {
    ///             for word in doc.split_whitespace() {
    ///                 *counts.entry(word).or_insert(0) += 1;
    ///             }
    ///             counts
    ///         },
    ///         |mut a, b| {
    ///             for (word, n) in b {
    ///                 *a.entry(word).or_insert(0) += n;
    ///             }
    ///             a
    ///         },
    ///     )
    ///     .unwrap();
    /// assert_eq!(counts["a"], 3);
    /// assert_eq!(counts["rose"], 2);
    /// assert_eq!(pool.fold_reduce(0..0u64, || 0, |a, n| a + n, |a, b| a + b).unwrap(), 0);
    /// ```
    pub fn fold_reduce<I, A, Id, Fo, Red>(
        &self,
        items: I,
        identity: Id,
        fold: Fo,
        reduce: Red,
    ) -> Result<A, TaskError>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        A: Send + 'static,
        Id: Fn() -> A + Send + Sync + 'static,
        Fo: Fn(A, I::Item) -> A + Send + Sync + 'static,
        Red: Fn(A, A) -> A + Send + Sync + 'static,
    {
        let items = items.into_iter();
        let chunk = self.default_chunk(&items);
        self.fold_reduce_chunked(items, chunk, identity, fold, reduce)
    }

    /// [`Pool::fold_reduce`] with `chunk_size` items per job.
    ///
    /// # Errors
    ///
    /// As [`Pool::map_reduce`].
    ///
    /// # Panics
    ///
    /// Panics with `"Pool::fold_reduce_chunked: chunk_size must be at least 1"` when
    /// `chunk_size == 0`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let total = pool.fold_reduce_chunked(1..=100u32, 10, || 0u32, |a, n| a + n, |a, b| a + b).unwrap();
    /// assert_eq!(total, 5050);
    /// ```
    pub fn fold_reduce_chunked<I, A, Id, Fo, Red>(
        &self,
        items: I,
        chunk_size: usize,
        identity: Id,
        fold: Fo,
        reduce: Red,
    ) -> Result<A, TaskError>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        A: Send + 'static,
        Id: Fn() -> A + Send + Sync + 'static,
        Fo: Fn(A, I::Item) -> A + Send + Sync + 'static,
        Red: Fn(A, A) -> A + Send + Sync + 'static,
    {
        assert!(chunk_size > 0, "Pool::fold_reduce_chunked: chunk_size must be at least 1");
        let identity = Arc::new(identity);
        let chunk_identity = Arc::clone(&identity);
        let per_chunk = move |chunk: Vec<I::Item>| Some(chunk.into_iter().fold(chunk_identity(), &fold));
        let total = self.reduce_chunks(items.into_iter(), chunk_size, per_chunk, &reduce)?;
        Ok(total.unwrap_or_else(|| identity()))
    }

    /// [`Pool::map_reduce`] over a borrowed slice: no `'static` bounds, no copying of the items,
    /// and `reduce` needs only be associative (partials are combined in slice order).
    ///
    /// The slice is cut into chunks (about eight per thread), which the workers and the calling
    /// thread claim one at a time until none is left (as [`Pool::map_slice`]); each chunk is
    /// mapped and reduced where it is claimed, and `map` and `reduce` may borrow from the
    /// caller. Blocks until every chunk is done. This is the fast path for data already in
    /// memory: the generic
    /// [`Pool::map_reduce`] must pull every item through the calling thread into per-chunk
    /// vectors, which dominates when the per-item work is tiny (a multiply).
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] when `map` or `reduce` panicked in a chunk (the first such panic
    /// in slice order; every chunk runs before this returns). A panic of the final `reduce` of
    /// two chunks' partial results, which runs on this thread, is not caught.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(2);
    /// let data: Vec<u64> = (1..=1000).collect();
    /// let offset = 1; // borrowed by the jobs
    /// let sum = pool.map_reduce_slice(&data, |&n| n * n + offset, |a, b| a + b).unwrap();
    /// assert_eq!(sum, Some(333_833_500 + 1000));
    /// let words = ["ab", "c", "def"];
    /// let joined = pool.map_reduce_slice(&words, |w| w.to_string(), |a, b| a + &b).unwrap();
    /// assert_eq!(joined.as_deref(), Some("abcdef"), "slice order is kept");
    /// ```
    pub fn map_reduce_slice<T, A, M, Red>(
        &self,
        items: &[T],
        map: M,
        reduce: Red,
    ) -> Result<Option<A>, TaskError>
    where
        T: Sync,
        A: Send,
        M: Fn(&T) -> A + Sync,
        Red: Fn(A, A) -> A + Sync,
    {
        let chunk = chunk_len(items.len(), self.threads());
        let partials = self.run_chunks(items.len().div_ceil(chunk), |c| {
            // As `map_slice`'s ranges: no `(c + 1) * chunk`, which can overflow.
            let start = c * chunk;
            items[start..start + chunk.min(items.len() - start)].iter().map(&map).reduce(&reduce)
        });
        let mut total: Option<A> = None;
        for partial in partials {
            match partial {
                Ok(Some(partial)) => {
                    total = Some(match total {
                        Some(total) => reduce(total, partial),
                        None => partial,
                    });
                }
                Ok(None) => {}
                Err(payload) => return Err(TaskError::Panicked(Panic::new(payload))),
            }
        }
        Ok(total)
    }

    /// The chunk size `map_reduce` and `fold_reduce` use for `items` (module constants).
    fn default_chunk<I: Iterator>(&self, items: &I) -> usize {
        match items.size_hint() {
            (low, Some(high)) if low == high => {
                low.div_ceil(self.threads().saturating_mul(CHUNKS_PER_THREAD)).clamp(1, MAX_CHUNK)
            }
            _ => UNKNOWN_LENGTH_CHUNK,
        }
    }

    /// The engine of both: runs `per_chunk` on each chunk on the workers (through
    /// `map_unordered`, so at most `in_flight` chunks are pulled at once) and combines the
    /// partial results with `reduce` on this thread, in completion order.
    fn reduce_chunks<I, A, P>(
        &self,
        items: I,
        chunk_size: usize,
        per_chunk: P,
        reduce: &(dyn Fn(A, A) -> A + Send + Sync),
    ) -> Result<Option<A>, TaskError>
    where
        I: Iterator,
        I::Item: Send + 'static,
        A: Send + 'static,
        P: Fn(Vec<I::Item>) -> Option<A> + Send + Sync + 'static,
    {
        let chunks = Chunks { items, size: chunk_size };
        let mut total: Option<A> = None;
        // Chunks are sized on purpose: one job per chunk.
        for partial in self.map_unordered_helping(chunks, per_chunk).max_batch(1) {
            if let Some(partial) = partial? {
                total = Some(match total {
                    Some(total) => reduce(total, partial),
                    None => partial,
                });
            }
        }
        Ok(total)
    }
}

/// Splits an iterator into `Vec`s of `size` items (the last may be shorter), lazily.
struct Chunks<I> {
    items: I,
    size: usize,
}

impl<I: Iterator> Iterator for Chunks<I> {
    type Item = Vec<I::Item>;

    fn next(&mut self) -> Option<Vec<I::Item>> {
        let chunk: Vec<I::Item> = self.items.by_ref().take(self.size).collect();
        (!chunk.is_empty()).then_some(chunk)
    }
}
