//! The channel's error types: std's and crossbeam's vocabulary.
//!
//! Errors that carry the unsent value give it back with `into_inner()`. `Debug` never requires
//! `T: Debug` (it prints the variant name only), so `.unwrap()` works for any `T`.

use std::fmt;

/// The value could not be sent because every receiver is gone; the value is inside.
///
/// Returned by [`Sender::send`](super::Sender::send) and by
/// [`Sender::send_async`](super::Sender::send_async).
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, SendError};
///
/// let (tx, rx) = bounded(1);
/// drop(rx);
/// let err = tx.send("lost").unwrap_err();
/// assert_eq!(err, SendError("lost"));
/// assert_eq!(err.to_string(), "sending on a disconnected channel");
/// assert_eq!(format!("{err:?}"), "SendError(..)"); // no `T: Debug` needed
/// assert_eq!(err.into_inner(), "lost");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`](super::Sender::try_send) failed; the value is inside.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, TrySendError};
///
/// let (tx, rx) = bounded(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// let err = tx.try_send(3).unwrap_err();
/// assert!(err.is_disconnected());
/// assert_eq!(err.to_string(), "sending on a disconnected channel");
/// assert_eq!(err.into_inner(), 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrySendError<T> {
    /// The channel is full (for a zero-capacity channel: no receiver is waiting).
    Full(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// Why a timed send ([`Sender::send_timeout`](super::Sender::send_timeout),
/// [`Sender::send_deadline`](super::Sender::send_deadline)) failed; the value is inside.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, SendTimeoutError};
/// use std::time::Duration;
///
/// let (tx, rx) = bounded(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.send_timeout(2, Duration::from_millis(1)), Err(SendTimeoutError::Timeout(2)));
/// drop(rx);
/// let err = tx.send_timeout(3, Duration::from_secs(60)).unwrap_err(); // fails at once
/// assert_eq!(err, SendTimeoutError::Disconnected(3));
/// assert_eq!(err.to_string(), "sending on a disconnected channel");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendTimeoutError<T> {
    /// The deadline passed before there was room (or, at capacity 0, before a receiver took it).
    Timeout(T),
    /// Every receiver is gone.
    Disconnected(T),
}

/// The channel is empty and every sender is gone.
///
/// Returned by [`Receiver::recv`](super::Receiver::recv) and by
/// [`Receiver::recv_async`](super::Receiver::recv_async).
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, RecvError};
///
/// let (tx, rx) = bounded(1);
/// tx.send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.recv(), Ok(1)); // buffered values come first
/// assert_eq!(rx.recv(), Err(RecvError));
/// assert_eq!(RecvError.to_string(), "receiving on an empty and disconnected channel");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) failed.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, TryRecvError};
///
/// let (tx, rx) = bounded::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// let err = rx.try_recv().unwrap_err();
/// assert_eq!(err, TryRecvError::Disconnected);
/// assert_eq!(err.to_string(), "receiving on an empty and disconnected channel");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// The channel is empty (senders remain).
    Empty,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

/// Why a timed receive ([`Receiver::recv_timeout`](super::Receiver::recv_timeout),
/// [`Receiver::recv_deadline`](super::Receiver::recv_deadline)) failed.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, RecvTimeoutError};
/// use std::time::Duration;
///
/// let (tx, rx) = bounded::<u8>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// drop(tx);
/// let err = rx.recv_timeout(Duration::from_secs(60)).unwrap_err(); // fails at once
/// assert_eq!(err, RecvTimeoutError::Disconnected);
/// assert_eq!(err.to_string(), "receiving on an empty and disconnected channel");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// The deadline passed while the channel was empty.
    Timeout,
    /// The channel is empty and every sender is gone.
    Disconnected,
}

impl<T> SendError<T> {
    /// The value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded(1);
    /// drop(rx);
    /// assert_eq!(tx.send(7).unwrap_err().into_inner(), 7);
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.try_send(2).unwrap_err().into_inner(), 2);
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Disconnected(value) => value,
        }
    }

    /// `true` for [`TrySendError::Full`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::TrySendError;
    ///
    /// assert!(TrySendError::Full(1).is_full());
    /// assert!(!TrySendError::Disconnected(1).is_full());
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// `true` for [`TrySendError::Disconnected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::TrySendError;
    ///
    /// assert!(TrySendError::Disconnected(1).is_disconnected());
    /// assert!(!TrySendError::Full(1).is_disconnected());
    /// ```
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = ringfence::channel::bounded(1);
    /// tx.send(1).unwrap();
    /// let err = tx.send_timeout(2, Duration::from_millis(1)).unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(err.into_inner(), 2);
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(value) | SendTimeoutError::Disconnected(value) => value,
        }
    }

    /// `true` for [`SendTimeoutError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::SendTimeoutError;
    ///
    /// assert!(SendTimeoutError::Timeout(1).is_timeout());
    /// assert!(!SendTimeoutError::Disconnected(1).is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// `true` for [`SendTimeoutError::Disconnected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::SendTimeoutError;
    ///
    /// assert!(SendTimeoutError::Disconnected(1).is_disconnected());
    /// assert!(!SendTimeoutError::Timeout(1).is_disconnected());
    /// ```
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, SendTimeoutError::Disconnected(_))
    }
}

impl TryRecvError {
    /// `true` for [`TryRecvError::Empty`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::TryRecvError;
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
    /// use ringfence::channel::TryRecvError;
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
    /// use ringfence::channel::RecvTimeoutError;
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
    /// use ringfence::channel::RecvTimeoutError;
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

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a disconnected channel")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => f.write_str("sending on a disconnected channel"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out waiting on send operation"),
            SendTimeoutError::Disconnected(_) => f.write_str("sending on a disconnected channel"),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on an empty and disconnected channel")
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => f.write_str("receiving on an empty and disconnected channel"),
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on receive operation"),
            RecvTimeoutError::Disconnected => f.write_str("receiving on an empty and disconnected channel"),
        }
    }
}

/// No operation of a [`Selector`](super::Selector) was ready: returned by
/// [`Selector::try_wait`](super::Selector::try_wait), which received and sent nothing.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, Selector, TrySelectError};
///
/// let (_tx, rx) = bounded::<u8>(1);
/// let err = Selector::new().recv(&rx, |v| v).try_wait().unwrap_err();
/// assert_eq!(err, TrySelectError);
/// assert_eq!(err.to_string(), "all operations in select would block");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrySelectError;

/// No operation of a [`Selector`](super::Selector) was ready in time: returned by
/// [`Selector::wait_timeout`](super::Selector::wait_timeout) and
/// [`Selector::wait_deadline`](super::Selector::wait_deadline), which received and sent
/// nothing.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, Selector, SelectTimeoutError};
/// use std::time::Duration;
///
/// let (_tx, rx) = bounded::<u8>(1);
/// let err = Selector::new().recv(&rx, |v| v).wait_timeout(Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SelectTimeoutError);
/// assert_eq!(err.to_string(), "timed out waiting on select");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectTimeoutError;

impl fmt::Display for TrySelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("all operations in select would block")
    }
}

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting on select")
    }
}

impl std::error::Error for TrySelectError {}
impl std::error::Error for SelectTimeoutError {}

impl<T> std::error::Error for SendError<T> {}
impl<T> std::error::Error for TrySendError<T> {}
impl<T> std::error::Error for SendTimeoutError<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}

/// A non-blocking receive's result as a waiting receive sees it: `None` while the channel is
/// empty (keep waiting), else the receive's outcome (a value, or `RecvError` once drained and
/// disconnected). Shared by every poll that waits for a value.
pub(super) fn ready_or_empty<T>(result: Result<T, TryRecvError>) -> Option<Result<T, RecvError>> {
    match result {
        Ok(value) => Some(Ok(value)),
        Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
        Err(TryRecvError::Empty) => None,
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> Self {
        TrySendError::Disconnected(err.0)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(err: SendError<T>) -> Self {
        SendTimeoutError::Disconnected(err.0)
    }
}

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
