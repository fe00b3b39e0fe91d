//! The RAII permits: [`Permit`] borrows its semaphore, [`OwnedPermit`] holds an `Arc` of it.
//! Dropping either returns its permits; `forget` keeps them out for good.

use super::Semaphore;
use std::fmt;
// The public owned API takes the user's `std::sync::Arc` (a facade `Arc` is loom's under
// `cfg(loom)`, which cannot be a method receiver); it only keeps the semaphore alive, and the
// semaphore's protocol lives in facade atomics, so loom still sees every step of it.
use std::sync::Arc;

/// Permits borrowed from a [`Semaphore`]; dropping it returns them.
///
/// Made by [`Semaphore::acquire`] and its relatives. [`forget`](Permit::forget) keeps the
/// permits out of the semaphore for good. For a permit that can move into a `'static` thread or
/// task, see [`OwnedPermit`].
///
/// # Examples
///
/// ```
/// use ringfence::Semaphore;
///
/// let semaphore = Semaphore::new(3);
/// let permit = semaphore.acquire_many(2);
/// assert_eq!(permit.num_permits(), 2);
/// assert_eq!(semaphore.available_permits(), 1);
/// drop(permit);
/// assert_eq!(semaphore.available_permits(), 3);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
    permits: usize,
}

impl<'a> Permit<'a> {
    /// A permit for `permits` that the caller has already taken from `semaphore`.
    pub(super) fn new(semaphore: &'a Semaphore, permits: usize) -> Self {
        Permit { semaphore, permits }
    }

    /// The number of permits this permit holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(4);
    /// assert_eq!(semaphore.acquire_many(3).num_permits(), 3);
    /// assert_eq!(semaphore.acquire_many(0).num_permits(), 0);
    /// ```
    #[must_use]
    #[inline]
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Consumes the permit without returning its permits: the semaphore owns that many fewer
    /// from now on (as tokio's `SemaphorePermit::forget`). [`Semaphore::add_permits`] can add
    /// them back.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(2);
    /// semaphore.acquire().forget();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.semaphore.shrink_total(self.permits);
        self.permits = 0; // our drop now returns nothing
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits != 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("permits", &self.permits).finish_non_exhaustive()
    }
}

/// Permits taken from a [`Semaphore`] in an [`Arc`]; dropping it returns them.
///
/// The owned twin of [`Permit`]: it keeps the semaphore alive, so it can move into a spawned
/// thread or a task (`'static`). Made by [`Semaphore::acquire_owned`] and its relatives.
///
/// # Examples
///
/// ```
/// use ringfence::Semaphore;
/// use std::sync::Arc;
///
/// let semaphore = Arc::new(Semaphore::new(1));
/// let permit = Arc::clone(&semaphore).acquire_owned();
/// let worker = std::thread::spawn(move || {
///     // ... work while holding the permit ...
///     drop(permit);
/// });
/// worker.join().unwrap();
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[must_use = "dropping a permit returns it to the semaphore at once"]
pub struct OwnedPermit {
    semaphore: Arc<Semaphore>,
    permits: usize,
}

impl OwnedPermit {
    /// A permit for `permits` that the caller has already taken from `semaphore`.
    pub(super) fn new(semaphore: Arc<Semaphore>, permits: usize) -> Self {
        OwnedPermit { semaphore, permits }
    }

    /// The number of permits this permit holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(4));
    /// assert_eq!(semaphore.acquire_many_owned(3).num_permits(), 3);
    /// ```
    #[must_use]
    #[inline]
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Consumes the permit without returning its permits: the semaphore owns that many fewer
    /// from now on (as tokio's `OwnedSemaphorePermit::forget`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(2));
    /// Arc::clone(&semaphore).acquire_owned().forget();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.semaphore.shrink_total(self.permits);
        self.permits = 0; // our drop now returns nothing (and drops the `Arc`)
    }
}

impl Drop for OwnedPermit {
    #[inline]
    fn drop(&mut self) {
        if self.permits != 0 {
            self.semaphore.release(self.permits);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").field("permits", &self.permits).finish_non_exhaustive()
    }
}
