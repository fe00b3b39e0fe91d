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

    /// Splits `n` of this permit's permits off into a new permit of the same semaphore, or
    /// returns `None` (and changes nothing) when it holds fewer than `n`. As tokio's
    /// `SemaphorePermit::split`; no atomic operation.
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(3);
    /// let mut permit = semaphore.acquire_many(3);
    /// let one = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), one.num_permits()), (2, 1));
    /// assert!(permit.split(3).is_none());
    /// drop(one);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    #[must_use = "the split-off permit is returned to the semaphore at once when dropped"]
    pub fn split(&mut self, n: usize) -> Option<Permit<'a>> {
        self.permits = self.permits.checked_sub(n)?;
        Some(Permit::new(self.semaphore, n))
    }

    /// Moves the permits of `other` into this one. As tokio's `SemaphorePermit::merge`; no
    /// atomic operation.
    ///
    /// # Panics
    ///
    /// With `"Permit::merge: the permits are from different semaphores"` when `other` is not
    /// from this permit's semaphore (its permits are returned to their own then).
    ///
    /// # Examples
    ///
    /// ```
    /// let semaphore = ringfence::Semaphore::new(3);
    /// let mut permit = semaphore.acquire();
    /// permit.merge(semaphore.acquire_many(2));
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: Permit<'a>) {
        assert!(
            std::ptr::eq(self.semaphore, other.semaphore),
            "Permit::merge: the permits are from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
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

    /// The semaphore the permits are from (as tokio's `OwnedSemaphorePermit::semaphore`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(1));
    /// let permit = Arc::clone(&semaphore).acquire_owned();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    /// ```
    #[must_use]
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }

    /// Splits `n` of this permit's permits off into a new permit of the same semaphore, or
    /// returns `None` (and changes nothing) when it holds fewer than `n`. As tokio's
    /// `OwnedSemaphorePermit::split`; no atomic operation but the `Arc`'s clone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(2));
    /// let mut permit = Arc::clone(&semaphore).acquire_many_owned(2);
    /// let one = permit.split(1).unwrap();
    /// std::thread::spawn(move || drop(one)).join().unwrap();
    /// assert_eq!((permit.num_permits(), semaphore.available_permits()), (1, 1));
    /// ```
    #[must_use = "the split-off permit is returned to the semaphore at once when dropped"]
    pub fn split(&mut self, n: usize) -> Option<OwnedPermit> {
        self.permits = self.permits.checked_sub(n)?;
        Some(OwnedPermit::new(Arc::clone(&self.semaphore), n))
    }

    /// Moves the permits of `other` into this one. As tokio's `OwnedSemaphorePermit::merge`.
    ///
    /// # Panics
    ///
    /// With `"OwnedPermit::merge: the permits are from different semaphores"` when `other` is
    /// not from this permit's semaphore (its permits are returned to their own then).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(3));
    /// let mut permit = Arc::clone(&semaphore).acquire_owned();
    /// permit.merge(Arc::clone(&semaphore).acquire_many_owned(2));
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: OwnedPermit) {
        assert!(
            Arc::ptr_eq(&self.semaphore, &other.semaphore),
            "OwnedPermit::merge: the permits are from different semaphores"
        );
        self.permits += std::mem::take(&mut other.permits);
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
