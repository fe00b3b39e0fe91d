//! The oneshot's error types: the std/crossbeam vocabulary, with the channel's manners.
//!
//! [`SendError`] carries the unsent value and gives it back with [`SendError::into_inner`].
//! `Debug` never requires `T: Debug`, so `.unwrap()` works for any `T`. `Display` is lowercase,
//! without a final period.

use std::fmt;

/// The value could not be sent because the receiver is gone; the value is inside.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// The sender was dropped without sending (or the receiver already returned its result).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No value yet; the sender is still alive.
    Empty,
    /// The sender was dropped without sending (or the result was already taken).
    Disconnected,
}

/// Why a timed receive returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The deadline passed with no value; the receiver stays usable.
    Timeout,
    /// The sender was dropped without sending (or the result was already taken).
    Disconnected,
}

impl<T> SendError<T> {
    /// The value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(7).unwrap_err().into_inner(), 7);
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl TryRecvError {
    /// `true` for [`TryRecvError::Empty`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// `true` for [`TryRecvError::Disconnected`].
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl RecvTimeoutError {
    /// `true` for [`RecvTimeoutError::Timeout`].
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// `true` for [`RecvTimeoutError::Disconnected`].
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RecvTimeoutError::Disconnected)
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed oneshot")
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a oneshot whose sender is gone")
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty oneshot"),
            TryRecvError::Disconnected => f.write_str("receiving on a oneshot whose sender is gone"),
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on a oneshot"),
            RecvTimeoutError::Disconnected => f.write_str("receiving on a oneshot whose sender is gone"),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Disconnected
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Disconnected
    }
}
