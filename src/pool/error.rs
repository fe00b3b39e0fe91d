//! The pool's error types, with the manners of the channel's: `Display` lowercase without a final
//! period, `std::error::Error`, and a `Debug` that never requires the closure or result to be
//! `Debug`.

use crate::Panic;
use crate::channel::CapacityError;
use std::any::Any;
use std::ffi::NulError;
use std::fmt;

/// Why a [`Task`](super::Task) has no result.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, TaskError};
///
/// let pool = Pool::new(1);
/// match pool.submit(|| -> u32 { panic!("no input") }).wait() {
///     Ok(_) => unreachable!("the closure panicked"),
///     Err(TaskError::Panicked(payload)) => {
///         assert_eq!(payload.downcast_ref::<&str>(), Some(&"no input"));
///     }
///     Err(TaskError::Cancelled) => unreachable!("nothing cancels it"),
/// }
/// ```
pub enum TaskError {
    /// The task's closure panicked; the payload is inside ([`Panic::resume`] continues the
    /// panic on this thread). The worker survived.
    Panicked(Panic),
    /// There is no result to return, for one of two reasons:
    ///
    /// - the job never ran: [`Pool::shutdown_now`](super::Pool::shutdown_now) discarded it
    ///   (the only way a pool drops a job whose task is alive);
    /// - or the result was already taken from this task: an earlier
    ///   [`wait_timeout`](super::Task::wait_timeout) or
    ///   [`wait_deadline`](super::Task::wait_deadline) (or a poll of the task as a future)
    ///   returned it, and the task was waited for again.
    ///
    /// A task waited for once, with [`Task::wait`](super::Task::wait), `.await` or
    /// [`as_completed`](super::as_completed), reports `Cancelled` only for the first reason.
    Cancelled,
}

/// Why a timed wait for a task returned no result.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, WaitTimeoutError};
/// use std::time::Duration;
///
/// let pool = Pool::new(1);
/// let (release, gate) = std::sync::mpsc::channel::<()>();
/// let mut task = pool.submit(move || gate.recv().map(|()| "released").unwrap());
/// let err = task.wait_timeout(Duration::from_millis(1)).unwrap_err();
/// assert!(matches!(err, WaitTimeoutError::Timeout), "the job waits for `release`");
/// release.send(()).unwrap();
/// assert_eq!(task.wait_timeout(Duration::from_secs(60)).unwrap(), "released");
/// ```
#[derive(Debug)]
pub enum WaitTimeoutError {
    /// The deadline passed before the task finished; the task stays usable.
    Timeout,
    /// The task finished without a result (see [`TaskError`]).
    Failed(TaskError),
}

/// [`Pool::try_submit`](super::Pool::try_submit) could not queue the closure; it is inside.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, TrySubmitError};
///
/// // Queue capacity 0: a job is queued only when an idle worker takes it at once.
/// let pool = Pool::builder().threads(1).queue_capacity(0).build().unwrap();
/// let (release, gate) = std::sync::mpsc::channel::<()>();
/// let (started_tx, started) = std::sync::mpsc::channel();
/// let _busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() });
/// started.recv().unwrap(); // the only worker is busy: no room
/// let Err(TrySubmitError::Full(f)) = pool.try_submit(|| "run here") else { panic!("queued") };
/// assert_eq!(f(), "run here");
/// release.send(()).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySubmitError<F> {
    /// The pool's queue is full; the closure comes back unrun.
    Full(F),
}

/// [`Pool::submit_timeout`](super::Pool::submit_timeout) or
/// [`submit_deadline`](super::Pool::submit_deadline) could not queue the closure in time; it is
/// inside, unrun.
///
/// # Examples
///
/// ```
/// use ringfence::pool::SubmitTimeoutError;
///
/// let err = SubmitTimeoutError::Timeout(|| 1);
/// assert!(err.is_timeout());
/// assert_eq!(err.to_string(), "timed out waiting for room in the pool's queue");
/// assert_eq!(err.into_inner()(), 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SubmitTimeoutError<F> {
    /// The pool's queue stayed full until the deadline; the closure comes back unrun.
    Timeout(F),
}

impl<F> SubmitTimeoutError<F> {
    /// The closure that was not queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ringfence::pool::SubmitTimeoutError::Timeout(|| "here");
    /// assert_eq!(err.into_inner()(), "here");
    /// ```
    #[must_use]
    pub fn into_inner(self) -> F {
        match self {
            SubmitTimeoutError::Timeout(f) => f,
        }
    }

    /// `true` for [`SubmitTimeoutError::Timeout`] (the only reason there is).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringfence::pool::SubmitTimeoutError::Timeout(|| ()).is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, SubmitTimeoutError::Timeout(_))
    }
}

impl<F> From<TrySubmitError<F>> for SubmitTimeoutError<F> {
    /// A full queue found by [`try_submit`](super::Pool::try_submit) is a timeout of zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::{SubmitTimeoutError, TrySubmitError};
    ///
    /// let err = SubmitTimeoutError::from(TrySubmitError::Full(|| 1));
    /// assert!(err.is_timeout());
    /// ```
    fn from(error: TrySubmitError<F>) -> Self {
        match error {
            TrySubmitError::Full(f) => SubmitTimeoutError::Timeout(f),
        }
    }
}

impl<F> fmt::Debug for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitTimeoutError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitTimeoutError::Timeout(_) => f.write_str("timed out waiting for room in the pool's queue"),
        }
    }
}

impl<F> std::error::Error for SubmitTimeoutError<F> {}

/// Why a [`Builder`](super::Builder) could not start a pool.
///
/// # Examples
///
/// ```
/// use ringfence::pool::{BuildError, Pool};
///
/// let err = Pool::builder().threads(0).build().unwrap_err();
/// assert!(matches!(err, BuildError::NoThreads));
/// assert_eq!(err.to_string(), "a pool needs at least one thread");
/// ```
#[derive(Debug)]
pub enum BuildError {
    /// The pool was asked for zero threads.
    NoThreads,
    /// The pool was asked for more than [`MAX_THREADS`](super::MAX_THREADS) threads (the
    /// count asked for).
    TooManyThreads(usize),
    /// [`Builder::in_flight`](super::Builder::in_flight) was given zero.
    NoInFlight,
    /// [`Builder::in_flight`](super::Builder::in_flight) was given more than
    /// [`MAX_IN_FLIGHT`](super::MAX_IN_FLIGHT) (the count given).
    TooManyInFlight(usize),
    /// The queue capacity is too large (see [`CapacityError`]).
    Capacity(CapacityError),
    /// The [`thread_name`](super::Builder::thread_name) prefix contains a NUL byte, which a
    /// thread name cannot hold (the error says where). No thread was started.
    ThreadName(NulError),
    /// The operating system refused to start a worker thread, e.g. for lack of memory or of
    /// address space for a huge [`stack_size`](super::Builder::stack_size) (the ones already
    /// started were stopped and joined).
    Spawn(std::io::Error),
}

impl TaskError {
    /// `true` for [`TaskError::Panicked`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let err = pool.submit(|| -> u8 { panic!("boom") }).wait().unwrap_err();
    /// assert!(err.is_panic());
    /// assert!(!err.is_cancelled());
    /// ```
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// `true` for [`TaskError::Cancelled`]: the job never ran, or the result was already taken
    /// by an earlier timed wait (see the variant).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// let mut task = pool.submit(|| 1);
    /// assert_eq!(task.wait_timeout(Duration::from_secs(60)).unwrap(), 1);
    /// let err = task.wait().unwrap_err(); // the result was taken by the timed wait
    /// assert!(err.is_cancelled());
    /// assert!(!err.is_panic());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The panic message, when the task panicked with a string (as `panic!` with a message does).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let err = pool.submit(|| panic!("disk full")).wait().unwrap_err();
    /// assert_eq!(err.panic_message(), Some("disk full"));
    /// ```
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(panic) => panic.message(),
            TaskError::Cancelled => None,
        }
    }

    /// The panic payload, or `None` for a cancelled task.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = ringfence::pool::Pool::new(1);
    /// let err = pool.submit(|| std::panic::panic_any(404u16)).wait().unwrap_err();
    /// let payload = err.into_panic().unwrap();
    /// assert_eq!(payload.downcast_ref::<u16>(), Some(&404));
    /// // To go on with the panic on this thread: std::panic::resume_unwind(payload)
    /// ```
    #[must_use]
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            TaskError::Panicked(panic) => Some(panic.into_payload()),
            TaskError::Cancelled => None,
        }
    }
}

impl WaitTimeoutError {
    /// `true` for [`WaitTimeoutError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = ringfence::pool::Pool::new(1);
    /// let mut task = pool.submit(|| -> u8 { panic!("boom") });
    /// let err = task.wait_timeout(Duration::from_secs(60)).unwrap_err();
    /// assert!(!err.is_timeout(), "the task finished (by panicking) in time");
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, WaitTimeoutError::Timeout)
    }
}

impl From<TaskError> for WaitTimeoutError {
    fn from(error: TaskError) -> Self {
        WaitTimeoutError::Failed(error)
    }
}

impl<F> TrySubmitError<F> {
    /// The closure that was not queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::Pool;
    /// use std::sync::mpsc;
    ///
    /// let pool = Pool::builder().threads(1).queue_capacity(1).build().unwrap();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let (started_tx, started) = mpsc::channel();
    /// let _busy = pool.submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap() });
    /// started.recv().unwrap(); // the worker is busy
    /// let _queued = pool.submit(|| 1); // fills the one queue slot
    /// let back = pool.try_submit(|| 2).unwrap_err().into_inner();
    /// assert_eq!(back(), 2);
    /// release.send(()).unwrap();
    /// ```
    #[must_use]
    pub fn into_inner(self) -> F {
        match self {
            TrySubmitError::Full(f) => f,
        }
    }

    /// `true` for [`TrySubmitError::Full`] (the only reason there is).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pool::TrySubmitError;
    ///
    /// let err = TrySubmitError::Full(|| 1);
    /// assert!(err.is_full());
    /// assert_eq!(err.to_string(), "the pool's queue is full");
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, TrySubmitError::Full(_))
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(panic) => match panic.message() {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(..)"),
            },
            TaskError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(panic) => match panic.message() {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked"),
            },
            TaskError::Cancelled => {
                f.write_str("task was cancelled before it ran, or its result was already taken")
            }
        }
    }
}

impl std::error::Error for TaskError {}

impl fmt::Display for WaitTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitTimeoutError::Timeout => f.write_str("timed out waiting for the task"),
            WaitTimeoutError::Failed(error) => error.fmt(f),
        }
    }
}

/// `Failed` displays the task's error itself, so it is not the `source` too (a chain of causes
/// names each cause once); [`TaskError`] has no source.
impl std::error::Error for WaitTimeoutError {}

impl<F> fmt::Debug for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<F> fmt::Display for TrySubmitError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("the pool's queue is full"),
        }
    }
}

impl<F> std::error::Error for TrySubmitError<F> {}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoThreads => f.write_str("a pool needs at least one thread"),
            BuildError::TooManyThreads(threads) => {
                write!(f, "{threads} threads asked for, a pool holds at most {}", super::MAX_THREADS)
            }
            BuildError::NoInFlight => f.write_str("map needs at least one job in flight"),
            BuildError::TooManyInFlight(jobs) => {
                write!(f, "{jobs} jobs in flight asked for, map keeps at most {}", super::MAX_IN_FLIGHT)
            }
            BuildError::Capacity(error) => write!(f, "invalid queue capacity: {error}"),
            BuildError::ThreadName(error) => write!(f, "invalid thread name prefix: {error}"),
            BuildError::Spawn(error) => write!(f, "could not start a worker thread: {error}"),
        }
    }
}

/// `Display` includes the inner error's message, so the `source` is the inner error's own
/// source (a chain of causes names each cause once, as `std::io::Error` does with its inner error).
impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::NoThreads
            | BuildError::TooManyThreads(_)
            | BuildError::NoInFlight
            | BuildError::TooManyInFlight(_) => None,
            BuildError::Capacity(error) => error.source(),
            BuildError::ThreadName(error) => error.source(),
            BuildError::Spawn(error) => error.source(),
        }
    }
}
