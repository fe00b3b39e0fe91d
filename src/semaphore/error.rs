//! The semaphore's one error: a permit count past [`Semaphore::MAX_PERMITS`].

use super::Semaphore;
use std::fmt;

/// A semaphore would own more than [`Semaphore::MAX_PERMITS`] permits: returned by
/// [`Semaphore::try_new`] and [`Semaphore::try_add_permits`] (whose panicking twins,
/// [`Semaphore::new`] and [`Semaphore::add_permits`], panic with the same message).
///
/// # Examples
///
/// ```
/// use ringfence::Semaphore;
///
/// let error = Semaphore::try_new(usize::MAX).unwrap_err();
/// assert_eq!(error.permits(), usize::MAX);
/// assert!(error.to_string().contains("MAX_PERMITS"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyPermits {
    permits: usize,
    /// `true` for `try_add_permits` (the count added), `false` for `try_new` (the count asked for).
    adding: bool,
}

impl TooManyPermits {
    pub(super) fn creating(permits: usize) -> Self {
        TooManyPermits { permits, adding: false }
    }

    pub(super) fn adding(permits: usize) -> Self {
        TooManyPermits { permits, adding: true }
    }

    /// The permits that were asked for (created, or added).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    ///
    /// let too_many = Semaphore::MAX_PERMITS + 1;
    /// assert_eq!(Semaphore::try_new(too_many).unwrap_err().permits(), too_many);
    /// let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    /// let _held = semaphore.acquire_many(2); // held permits are still owned
    /// let error = semaphore.try_add_permits(2).unwrap_err();
    /// assert_eq!(error.permits(), 2); // the count added, not the total
    /// assert!(error.to_string().starts_with("cannot add 2 permits"));
    /// ```
    #[must_use]
    pub fn permits(&self) -> usize {
        self.permits
    }
}

impl fmt::Display for TooManyPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.adding {
            write!(
                f,
                "cannot add {} permits: the semaphore would own more than Semaphore::MAX_PERMITS ({}) permits",
                self.permits,
                Semaphore::MAX_PERMITS
            )
        } else {
            f.write_str("cannot create a semaphore with more than Semaphore::MAX_PERMITS permits")
        }
    }
}

impl std::error::Error for TooManyPermits {}
