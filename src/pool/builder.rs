//! Configuration of a [`Pool`]: threads, queue capacity, thread names and stack size.

use super::Pool;
use super::error::BuildError;

/// Default capacity of the pool's job queue ([`Builder::queue_capacity`](super::Builder::queue_capacity)
/// sets another): how many submitted jobs may wait before `submit` blocks.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Builder, DEFAULT_QUEUE_CAPACITY};
///
/// // The same pool as `Pool::new(2)`.
/// let pool = Builder::new().threads(2).queue_capacity(DEFAULT_QUEUE_CAPACITY).build().unwrap();
/// assert_eq!(pool.submit(|| 6 * 7).wait().unwrap(), 42);
/// ```
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// The most worker threads a pool accepts ([`BuildError::TooManyThreads`] above it): far more
/// than any machine runs at once, low enough that a mistaken count is an error rather than an
/// allocation failure or thousands of threads started before the system refuses one.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{BuildError, MAX_THREADS, Pool};
///
/// let err = Pool::builder().threads(MAX_THREADS + 1).build().unwrap_err();
/// assert!(matches!(err, BuildError::TooManyThreads(_)));
/// ```
pub const MAX_THREADS: usize = 1 << 15;

/// The most jobs `map` and its relatives keep in flight ([`Builder::in_flight`] and the
/// iterators' own `in_flight`; [`BuildError::TooManyInFlight`] or a panic above it): an
/// unordered map sets up room for twice as many completions before its first job.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{BuildError, MAX_IN_FLIGHT, Pool};
///
/// let err = Pool::builder().in_flight(MAX_IN_FLIGHT + 1).build().unwrap_err();
/// assert!(matches!(err, BuildError::TooManyInFlight(_)));
/// ```
pub const MAX_IN_FLIGHT: usize = 1 << 17;

/// Builds a [`Pool`] with non-default settings.
///
/// # Examples
///
/// ```
/// use ringfence::pool::Pool;
///
/// let pool = Pool::builder()
///     .threads(2)
///     .queue_capacity(64)
///     .thread_name("resizer")
///     .stack_size(256 * 1024)
///     .build()
///     .unwrap();
/// let name = pool.submit(|| std::thread::current().name().map(str::to_owned)).wait().unwrap();
/// assert!(name.unwrap().starts_with("resizer-"));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    pub(super) threads: Option<usize>,
    pub(super) queue_capacity: usize,
    pub(super) thread_name: String,
    pub(super) stack_size: Option<usize>,
    pub(super) in_flight: Option<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            threads: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            thread_name: "ringfence-pool".to_owned(),
            stack_size: None,
            in_flight: None,
        }
    }
}

impl Builder {
    /// The default configuration: one thread per available core
    /// ([`std::thread::available_parallelism`]), a queue of [`DEFAULT_QUEUE_CAPACITY`] jobs,
    /// threads named `ringfence-pool-N`, the platform's default stack size, and
    /// [`map`](Pool::map) keeping twice as many jobs in flight as there are threads, plus two.
    /// [`Pool::builder`] is the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Builder;
    ///
    /// let pool = Builder::new().threads(2).build().unwrap();
    /// let name = pool.submit(|| std::thread::current().name().map(str::to_owned)).wait().unwrap();
    /// assert!(name.unwrap().starts_with("ringfence-pool-"));
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// The number of worker threads (at least 1, or [`build`](Builder::build) fails).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::builder().threads(3).build().unwrap();
    /// assert_eq!(pool.threads(), 3);
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// How many submitted jobs may wait in the queue; [`Pool::submit`] blocks (backpressure)
    /// and [`Pool::try_submit`] fails while it is full. `0` makes every submit a rendezvous with
    /// an idle worker.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = ringfence::pool::Pool::builder().threads(1).queue_capacity(2).build().unwrap();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel();
    /// let busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() });
    /// started.recv().unwrap(); // the worker is busy: submitted jobs wait in the queue
    /// let queued = [pool.submit(|| 1), pool.submit(|| 2)];
    /// assert_eq!(pool.queued(), 2);
    /// assert!(pool.try_submit(|| 3).unwrap_err().is_full(), "two jobs fill the queue");
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// assert_eq!(queued.map(|t| t.wait().unwrap()), [1, 2]);
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// The prefix of the worker threads' names: workers are named `{prefix}-0`, `{prefix}-1`...
    /// The prefix must not contain a NUL byte ([`build`](Builder::build) fails with
    /// [`BuildError::ThreadName`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::builder().threads(1).thread_name("resize").build().unwrap();
    /// let name = pool.submit(|| std::thread::current().name().map(str::to_owned)).wait().unwrap();
    /// assert_eq!(name.as_deref(), Some("resize-0"));
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// The stack size of each worker thread, in bytes (default: the platform's default for
    /// spawned threads, 2 MiB on most, or `RUST_MIN_STACK`). A size the system cannot provide
    /// makes [`build`](Builder::build) fail with [`BuildError::Spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// // Room for a 4 MiB buffer on the stack, twice the usual default.
    /// let pool = ringfence::pool::Pool::builder().threads(1).stack_size(16 << 20).build().unwrap();
    /// let last = pool.submit(|| {
    ///     let mut buffer = [7u8; 4 << 20];
    ///     std::hint::black_box(&mut buffer);
    ///     buffer[buffer.len() - 1]
    /// });
    /// assert_eq!(last.wait().unwrap(), 7);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The default number of **jobs** [`Pool::map`], [`Pool::map_unordered`] and
    /// [`Pool::map_reduce`] keep in flight: pulled from the input and not yet consumed (the job
    /// whose results are being yielded counts as one); at least 1. It counts jobs, not items:
    /// a `map` job carries a batch of up to [`max_batch`](super::Map::max_batch) items
    /// (default [`DEFAULT_MAX_BATCH`](super::DEFAULT_MAX_BATCH), 1024), a `map_reduce` job one
    /// chunk; so `map` pulls at most `jobs × max_batch` items ahead, exactly `jobs` with
    /// `max_batch(1)`. Default: twice the threads plus two (the workers and the caller, which
    /// maps batches too while it waits). The iterators' own `in_flight` overrides it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = ringfence::pool::Pool::builder().threads(2).in_flight(3).build().unwrap();
    /// let pulled = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&pulled);
    /// let items = (0..1_000u32).inspect(move |_| { counter.fetch_add(1, Ordering::Relaxed); });
    /// let mut squares = pool.map(items, |n| n * n).max_batch(1);
    /// assert_eq!(squares.next().unwrap().unwrap(), 0);
    /// // One item yielded, and at most 3 one-item jobs pulled behind it.
    /// assert!(pulled.load(Ordering::Relaxed) <= 1 + 3);
    /// ```
    pub fn in_flight(mut self, jobs: usize) -> Self {
        self.in_flight = Some(jobs);
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// [`BuildError::NoThreads`] for zero threads, [`BuildError::TooManyThreads`] for more
    /// than [`MAX_THREADS`], [`BuildError::NoInFlight`] for `in_flight(0)`,
    /// [`BuildError::TooManyInFlight`] for more than [`MAX_IN_FLIGHT`],
    /// [`BuildError::ThreadName`] for a thread name prefix with a NUL byte,
    /// [`BuildError::Capacity`] for a queue capacity the channel cannot allocate,
    /// [`BuildError::Spawn`] when the system refuses a thread (the workers already started are
    /// stopped and joined first).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{BuildError, Pool};
    ///
    /// let pool = Pool::builder().threads(2).build().unwrap();
    /// assert_eq!(pool.submit(|| 2 + 2).wait().unwrap(), 4);
    ///
    /// let err = Pool::builder().thread_name("bad\0name").build().unwrap_err();
    /// assert!(matches!(err, BuildError::ThreadName(_)));
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        Pool::start(self)
    }
}
