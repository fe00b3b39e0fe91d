//! Configuration of a [`Pool`]: threads, queue capacity, thread names and stack size.

use super::Pool;
use super::error::BuildError;

/// Default capacity of the pool's job queue.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

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
    /// [`map`](Pool::map) keeping twice as many jobs in flight as there are threads.
    pub fn new() -> Self {
        Builder::default()
    }

    /// The number of worker threads (at least 1, or [`build`](Builder::build) fails).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// How many submitted jobs may wait in the queue; [`Pool::submit`] blocks (backpressure)
    /// and [`Pool::try_submit`] fails while it is full. `0` makes every submit a rendezvous with
    /// an idle worker.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// The prefix of the worker threads' names: workers are named `{prefix}-0`, `{prefix}-1`...
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// The stack size of each worker thread, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The default number of jobs [`Pool::map`], [`Pool::map_unordered`] and
    /// [`Pool::map_reduce`] keep in flight (submitted and not yet consumed); at least 1. A
    /// `map` job carries a batch of items (see [`Map::max_batch`](super::Map::max_batch)), a
    /// `map_reduce` job one chunk. Default: twice the threads plus two (the workers and the
    /// caller, which maps batches too while it waits).
    pub fn in_flight(mut self, items: usize) -> Self {
        self.in_flight = Some(items);
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// [`BuildError::NoThreads`] for zero threads, [`BuildError::NoInFlight`] for
    /// `in_flight(0)`, [`BuildError::Capacity`] for a queue
    /// capacity the channel cannot allocate, [`BuildError::Spawn`] when the system refuses a
    /// thread (the workers already started are stopped and joined first).
    pub fn build(self) -> Result<Pool, BuildError> {
        Pool::start(self)
    }
}
