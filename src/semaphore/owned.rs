//! The owned forms of the acquires, for a semaphore in an [`Arc`]: they return an
//! [`OwnedPermit`], which keeps the semaphore alive and can move into a `'static` thread or task.
//! Same core as the borrowed forms ([`Semaphore::take`]).

use super::{AcquireOwnedFuture, FOREVER, OwnedPermit, Semaphore, Wait};
use crate::wait::deadline_after;
// The user's `Arc` (see `permit.rs` for why it is not the facade's).
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Semaphore {
    /// [`acquire`](Semaphore::acquire) for a semaphore in an [`Arc`]: the permit keeps the
    /// semaphore alive, so it can move into a spawned thread or task.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(2));
    /// let workers: Vec<_> = (0..4)
    ///     .map(|i| {
    ///         let permit = Arc::clone(&semaphore).acquire_owned(); // at most 2 running
    ///         std::thread::spawn(move || {
    ///             let _permit = permit;
    ///             i * 10
    ///         })
    ///     })
    ///     .collect();
    /// let sum: i32 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    /// assert_eq!(sum, 60);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// ```
    #[inline]
    pub fn acquire_owned(self: Arc<Self>) -> OwnedPermit {
        self.acquire_many_owned(1)
    }

    /// [`acquire_many`](Semaphore::acquire_many) for a semaphore in an [`Arc`].
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(3));
    /// let permit = Arc::clone(&semaphore).acquire_many_owned(2);
    /// assert_eq!(permit.num_permits(), 2);
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> OwnedPermit {
        let taken = self.take(n, FOREVER);
        debug_assert!(taken, "an untimed acquire only returns when served");
        OwnedPermit::new(self, n)
    }

    /// [`try_acquire`](Semaphore::try_acquire) for a semaphore in an [`Arc`]. On failure the
    /// `Arc` is dropped (pass a clone).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(1));
    /// let permit = Arc::clone(&semaphore).try_acquire_owned();
    /// assert!(permit.is_some());
    /// assert!(Arc::clone(&semaphore).try_acquire_owned().is_none());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedPermit> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) for a semaphore in an [`Arc`]. On
    /// failure the `Arc` is dropped (pass a clone).
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(2));
    /// assert!(Arc::clone(&semaphore).try_acquire_many_owned(3).is_none());
    /// assert!(Arc::clone(&semaphore).try_acquire_many_owned(2).is_some());
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn try_acquire_many_owned(self: Arc<Self>, n: usize) -> Option<OwnedPermit> {
        self.take(n, Wait::No).then(|| OwnedPermit::new(self, n))
    }

    /// [`acquire_timeout`](Semaphore::acquire_timeout) for a semaphore in an [`Arc`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(1));
    /// let held = Arc::clone(&semaphore).acquire_timeout_owned(Duration::from_millis(5));
    /// assert!(held.is_some());
    /// assert!(Arc::clone(&semaphore).acquire_timeout_owned(Duration::from_millis(5)).is_none());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_timeout_owned(self: Arc<Self>, timeout: Duration) -> Option<OwnedPermit> {
        self.acquire_many_timeout_owned(1, timeout)
    }

    /// [`acquire_many_timeout`](Semaphore::acquire_many_timeout) for a semaphore in an [`Arc`].
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(2));
    /// let permit = Arc::clone(&semaphore).acquire_many_timeout_owned(2, Duration::MAX);
    /// assert_eq!(permit.map(|p| p.num_permits()), Some(2));
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_many_timeout_owned(self: Arc<Self>, n: usize, timeout: Duration) -> Option<OwnedPermit> {
        self.take(n, Wait::Until(deadline_after(timeout))).then(|| OwnedPermit::new(self, n))
    }

    /// [`acquire_deadline`](Semaphore::acquire_deadline) for a semaphore in an [`Arc`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::{Duration, Instant};
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(0));
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(semaphore.acquire_deadline_owned(deadline).is_none());
    /// ```
    #[inline]
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_deadline_owned(self: Arc<Self>, deadline: Instant) -> Option<OwnedPermit> {
        self.acquire_many_deadline_owned(1, deadline)
    }

    /// [`acquire_many_deadline`](Semaphore::acquire_many_deadline) for a semaphore in an [`Arc`].
    ///
    /// # Panics
    ///
    /// If `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::{Duration, Instant};
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(1));
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert!(Arc::clone(&semaphore).acquire_many_deadline_owned(2, deadline).is_none());
    /// assert!(semaphore.acquire_many_deadline_owned(1, deadline).is_some());
    /// ```
    #[must_use = "dropping a permit returns it to the semaphore at once"]
    pub fn acquire_many_deadline_owned(self: Arc<Self>, n: usize, deadline: Instant) -> Option<OwnedPermit> {
        self.take(n, Wait::Until(Some(deadline))).then(|| OwnedPermit::new(self, n))
    }

    /// [`acquire_async`](Semaphore::acquire_async) for a semaphore in an [`Arc`]: the future
    /// and its [`OwnedPermit`] keep the semaphore alive, so they are `'static` and can move into
    /// a spawned task.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_async`](Semaphore::acquire_async): dropping the future returns nothing
    /// because it has taken nothing; a dropped head gives the role up (see `AcquireOwnedFuture`).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(2));
    /// let mut tasks = Vec::new();
    /// for i in 0..8 {
    ///     let permit = Arc::clone(&semaphore).acquire_owned_async().await; // at most 2 running
    ///     tasks.push(tokio::spawn(async move {
    ///         let _permit = permit;
    ///         i * 10
    ///     }));
    /// }
    /// let mut sum = 0;
    /// for task in tasks {
    ///     sum += task.await.unwrap();
    /// }
    /// assert_eq!(sum, 280);
    /// assert_eq!(semaphore.available_permits(), 2);
    /// # });
    /// ```
    #[inline]
    #[track_caller]
    pub fn acquire_owned_async(self: Arc<Self>) -> AcquireOwnedFuture {
        self.acquire_many_owned_async(1)
    }

    /// [`acquire_many_async`](Semaphore::acquire_many_async) for a semaphore in an [`Arc`].
    ///
    /// # Panics
    ///
    /// At once (not when polled) if `n > Semaphore::MAX_PERMITS`, with the message
    /// `"cannot acquire {n} permits: more than Semaphore::MAX_PERMITS ({MAX_PERMITS})"`.
    ///
    /// # Cancel safety
    ///
    /// As [`acquire_many_async`](Semaphore::acquire_many_async): the `n` permits are taken
    /// together in the poll that returns them, so a dropped future returns nothing because it
    /// has taken nothing; a dropped head gives the role up.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(ringfence::Semaphore::new(3));
    /// let batch = tokio::spawn(Arc::clone(&semaphore).acquire_many_owned_async(3));
    /// let permit = batch.await.unwrap();
    /// assert_eq!(permit.num_permits(), 3);
    /// assert_eq!(semaphore.available_permits(), 0);
    /// # });
    /// ```
    #[track_caller]
    pub fn acquire_many_owned_async(self: Arc<Self>, n: usize) -> AcquireOwnedFuture {
        AcquireOwnedFuture::new(self, n)
    }
}
