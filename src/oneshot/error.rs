//! The oneshot's error types: the std/crossbeam vocabulary, with the channel's manners.
//!
//! [`SendError`] carries the unsent value and gives it back with [`SendError::into_inner`].
//! `Debug` never requires `T: Debug`, so `.unwrap()` works for any `T`. `Display` is lowercase,
//! without a final period.

use std::fmt;

/// The value could not be sent because the receiver is gone; the value is inside.
///
/// Returned by [`Sender::send`](super::Sender::send).
///
/// # Examples
///
/// ```
/// use ringfence::oneshot::{channel, SendError};
///
/// let (tx, rx) = channel();
/// drop(rx);
/// let err = tx.send("lost").unwrap_err();
/// assert_eq!(err, SendError("lost"));
/// assert_eq!(err.to_string(), "sending on a closed oneshot");
/// assert_eq!(format!("{err:?}"), "SendError(..)"); // no `T: Debug` needed
/// assert_eq!(err.into_inner(), "lost");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// The sender was dropped without sending (or the receiver already returned its result).
///
/// Returned by [`Receiver::recv`](super::Receiver::recv).
///
/// # Examples
///
/// ```
/// use ringfence::oneshot::{channel, RecvError, TryRecvError};
///
/// let (tx, rx) = channel::<u8>();
/// drop(tx);
/// let err = rx.recv().unwrap_err();
/// assert_eq!(err, RecvError);
/// assert_eq!(err.to_string(), "receiving on a oneshot whose sender is gone");
/// assert_eq!(TryRecvError::from(err), TryRecvError::Disconnected);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
///
/// # Examples
///
/// ```
/// use ringfence::oneshot::{channel, TryRecvError};
///
/// let (tx, mut rx) = channel();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// let err = rx.try_recv().unwrap_err(); // the result was already taken
/// assert!(err.is_disconnected());
/// assert_eq!(err.to_string(), "receiving on a oneshot whose sender is gone");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No value yet; the sender is still alive.
    Empty,
    /// The sender was dropped without sending (or the result was already taken).
    Disconnected,
}

/// Why a timed receive ([`Receiver::recv_timeout`](super::Receiver::recv_timeout),
/// [`Receiver::recv_deadline`](super::Receiver::recv_deadline)) returned no value.
///
/// # Examples
///
/// ```
/// use ringfence::oneshot::{channel, RecvTimeoutError};
/// use std::time::Duration;
///
/// let (tx, mut rx) = channel::<u8>();
/// let err = rx.recv_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, RecvTimeoutError::Timeout);
/// assert_eq!(err.to_string(), "timed out waiting on a oneshot");
/// drop(tx);
/// let err = rx.recv_timeout(Duration::from_secs(60)).unwrap_err(); // fails at once
/// assert_eq!(err, RecvTimeoutError::Disconnected);
/// assert_eq!(err.to_string(), "receiving on a oneshot whose sender is gone");
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::oneshot::TryRecvError;
    ///
    /// assert!(TryRecvError::Empty.is_empty());
    /// assert!(!TryRecvError::Disconnected.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(self, TryRecvError::Empty)
    }

    /// `true` for [`TryRecvError::Disconnected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::oneshot::TryRecvError;
    ///
    /// assert!(TryRecvError::Disconnected.is_disconnected());
    /// assert!(!TryRecvError::Empty.is_disconnected());
    /// ```
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TryRecvError::Disconnected)
    }
}

impl RecvTimeoutError {
    /// `true` for [`RecvTimeoutError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::oneshot::RecvTimeoutError;
    ///
    /// assert!(RecvTimeoutError::Timeout.is_timeout());
    /// assert!(!RecvTimeoutError::Disconnected.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }

    /// `true` for [`RecvTimeoutError::Disconnected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::oneshot::RecvTimeoutError;
    ///
    /// assert!(RecvTimeoutError::Disconnected.is_disconnected());
    /// assert!(!RecvTimeoutError::Timeout.is_disconnected());
    /// ```
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
