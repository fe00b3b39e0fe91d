//! [`Panic`]: the payload of a panic caught at a pattern's boundary (a pool task, a pipeline
//! stage), in a form that an error type may carry and still be `Send + Sync`.

use std::any::Any;
use std::fmt;

/// A panic caught in user code (a pool task, a pipeline stage, a scatter query): its payload, as
/// [`std::panic::catch_unwind`] returned it.
///
/// Why not the bare `Box<dyn Any + Send>`: an error holding one is not `Sync` (the payload may
/// be of a type that is not), so it could not go into `Box<dyn Error + Send + Sync>` or
/// `anyhow::Error` with `?`. `Panic` is `Sync` because a shared reference never reaches the
/// payload as a type that is not `Sync` ([`downcast_ref`](Panic::downcast_ref) asks for
/// `T: Sync`); the payload itself comes out by value ([`into_payload`](Panic::into_payload),
/// for [`std::panic::resume_unwind`]) or through `&mut` ([`downcast_mut`](Panic::downcast_mut)).
///
/// # Examples
///
/// ```
/// use ringfence::pool::{Pool, TaskError};
///
/// let pool = Pool::new(1);
/// let Err(TaskError::Panicked(panic)) = pool.submit(|| -> u8 { panic!("no input") }).wait() else {
///     unreachable!("the task panicked")
/// };
/// assert_eq!(panic.message(), Some("no input"));
/// assert_eq!(panic.downcast_ref::<&str>(), Some(&"no input"));
/// // To go on with the panic on this thread: `panic.resume()`.
/// ```
pub struct Panic {
    payload: Box<dyn Any + Send + 'static>,
}

// SAFETY: `&Panic` reaches the payload only through `downcast_ref::<T>` with `T: Sync` (and
// through `message`, which downcasts to `&'static str` and `String`, both `Sync`), so threads
// sharing a `&Panic` share nothing but `Sync` values. The payload itself leaves only by value or
// through `&mut`, which are exclusive (the same reasoning as tokio's `SyncWrapper`).
unsafe impl Sync for Panic {}

impl Panic {
    /// Wraps a payload that `catch_unwind` returned (also `From`).
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        Panic { payload }
    }

    /// The panic's message, when its payload is a string (as `panic!` with a message makes
    /// it: a `&'static str` or a `String`).
    ///
    /// # Examples
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| panic!("disk {} full", 3)).unwrap_err();
    /// assert_eq!(ringfence::Panic::from(payload).message(), Some("disk 3 full"));
    /// ```
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.downcast_ref::<&'static str>()
            .copied()
            .or_else(|| self.downcast_ref::<String>().map(String::as_str))
    }

    /// The payload as a `T`, if it is one. `T: Sync`, because a `&Panic` may be shared between
    /// threads; a payload of another type is reached with [`downcast_mut`](Panic::downcast_mut)
    /// or [`into_payload`](Panic::into_payload).
    ///
    /// # Examples
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| std::panic::panic_any(404u16)).unwrap_err();
    /// let panic = ringfence::Panic::from(payload);
    /// assert_eq!(panic.downcast_ref::<u16>(), Some(&404));
    /// assert_eq!(panic.downcast_ref::<u32>(), None);
    /// assert_eq!(panic.message(), None);
    /// ```
    #[must_use]
    pub fn downcast_ref<T: Any + Sync>(&self) -> Option<&T> {
        self.payload.downcast_ref()
    }

    /// The payload as a mutable `T`, if it is one (any `T`: `&mut` is exclusive).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// let payload = std::panic::catch_unwind(|| std::panic::panic_any(Cell::new(1u8))).unwrap_err();
    /// let mut panic = ringfence::Panic::from(payload);
    /// let cell = panic.downcast_mut::<Cell<u8>>().unwrap(); // `Cell` is not `Sync`
    /// cell.set(2);
    /// assert_eq!(cell.get(), 2);
    /// ```
    #[must_use]
    pub fn downcast_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.payload.downcast_mut()
    }

    /// The payload, as `catch_unwind` returned it (for [`std::panic::resume_unwind`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let panic = ringfence::Panic::from(std::panic::catch_unwind(|| panic!("boom")).unwrap_err());
    /// let payload = panic.into_payload();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    #[must_use]
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }

    /// Goes on with the panic on this thread ([`std::panic::resume_unwind`] with the payload).
    ///
    /// # Examples
    ///
    /// ```
    /// let panic = ringfence::Panic::from(std::panic::catch_unwind(|| panic!("boom")).unwrap_err());
    /// let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || panic.resume())).unwrap_err();
    /// assert_eq!(again.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn resume(self) -> ! {
        std::panic::resume_unwind(self.payload)
    }
}

impl From<Box<dyn Any + Send + 'static>> for Panic {
    /// Wraps a payload that `catch_unwind` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// assert_eq!(ringfence::Panic::from(payload).message(), Some("boom"));
    /// ```
    fn from(payload: Box<dyn Any + Send + 'static>) -> Self {
        Panic::new(payload)
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => f.debug_tuple("Panic").field(&message).finish(),
            None => f.write_str("Panic(..)"),
        }
    }
}

impl fmt::Display for Panic {
    /// `panicked: <message>`, or `panicked` when the payload is not a string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => write!(f, "panicked: {message}"),
            None => f.write_str("panicked"),
        }
    }
}
