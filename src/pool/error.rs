//! The pool's error types, with the manners of the channel's: `Display` lowercase without a final
//! period, `std::error::Error`, and a `Debug` that never requires the closure or result to be
//! `Debug`.

use crate::channel::CapacityError;
use std::any::Any;
use std::fmt;

/// Why a [`Task`](super::Task) has no result.
pub enum TaskError {
    /// The task's closure panicked; the payload is inside (pass it to
    /// [`std::panic::resume_unwind`] to continue the panic on this thread). The worker survived.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task never ran: it was discarded by [`Pool::shutdown_now`](super::Pool::shutdown_now),
    /// or its result had already been taken by an earlier wait.
    Cancelled,
}

/// Why a timed wait for a task returned no result.
#[derive(Debug)]
pub enum WaitTimeoutError {
    /// The deadline passed before the task finished; the task stays usable.
    Timeout,
    /// The task finished without a result (see [`TaskError`]).
    Failed(TaskError),
}

/// [`Pool::try_submit`](super::Pool::try_submit) could not queue the closure; it is inside.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySubmitError<F> {
    /// The pool's queue is full; the closure comes back unrun.
    Full(F),
}

/// Why a [`Builder`](super::Builder) could not start a pool.
#[derive(Debug)]
pub enum BuildError {
    /// The pool was asked for zero threads.
    NoThreads,
    /// [`Builder::in_flight`](super::Builder::in_flight) was given zero.
    NoInFlight,
    /// The queue capacity is too large (see [`CapacityError`]).
    Capacity(CapacityError),
    /// The operating system refused to start a worker thread (the ones already started were
    /// stopped and joined).
    Spawn(std::io::Error),
}

impl TaskError {
    /// `true` for [`TaskError::Panicked`].
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// `true` for [`TaskError::Cancelled`].
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
            TaskError::Panicked(payload) => payload_message(payload.as_ref()),
            TaskError::Cancelled => None,
        }
    }

    /// The panic payload, or `None` for a cancelled task.
    #[must_use]
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            TaskError::Panicked(payload) => Some(payload),
            TaskError::Cancelled => None,
        }
    }
}

/// The message of a panic payload made by `panic!("...")` or `panic!("{}", ...)`.
fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl WaitTimeoutError {
    /// `true` for [`WaitTimeoutError::Timeout`].
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

    /// `true` for [`TrySubmitError::Full`].
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, TrySubmitError::Full(_))
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
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
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked"),
            },
            TaskError::Cancelled => f.write_str("task was cancelled before it ran"),
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

impl std::error::Error for WaitTimeoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WaitTimeoutError::Timeout => None,
            WaitTimeoutError::Failed(error) => Some(error),
        }
    }
}

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
            BuildError::NoInFlight => f.write_str("map needs at least one item in flight"),
            BuildError::Capacity(error) => write!(f, "invalid queue capacity: {error}"),
            BuildError::Spawn(error) => write!(f, "could not start a worker thread: {error}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::NoThreads | BuildError::NoInFlight => None,
            BuildError::Capacity(error) => Some(error),
            BuildError::Spawn(error) => Some(error),
        }
    }
}
