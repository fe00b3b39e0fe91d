//! Normal builds: the facade's names are std's and crossbeam-utils' types.

pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
pub(crate) use std::thread;

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
}

pub(crate) use crossbeam_utils::Backoff;

/// A hint that the thread is spinning (a `pause` instruction on x86).
#[inline]
pub(crate) fn spin_hint() {
    std::hint::spin_loop();
}

/// Initialises, in place, a cell that starts without a value, without building its contents
/// on the stack first (a debug build would make a `MaybeUninit<T>` temporary as large as `T`,
/// and overflow a thread's stack for a large enough `T`).
///
/// # Safety
///
/// `cell` is valid for writes and aligned.
#[inline]
pub(crate) unsafe fn init_uninit_cell<T>(cell: *mut UnsafeCell<std::mem::MaybeUninit<T>>) {
    // Nothing to write: the cell is `repr(transparent)` over `std::cell::UnsafeCell`, itself
    // over `MaybeUninit<T>`, for which every byte pattern, initialised or not, is valid.
    let _ = cell;
}

/// `std::cell::UnsafeCell` with loom's closure API, so the same code compiles in both builds.
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    #[inline]
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    #[inline]
    #[allow(dead_code)] // used by some primitives only
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the contents; the caller upholds the aliasing rules.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the contents; the caller upholds the aliasing rules.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
