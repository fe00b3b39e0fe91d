//! `--cfg loom` builds: the facade's names are loom's instrumented types.

pub(crate) use loom::cell::UnsafeCell;
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
pub(crate) use loom::thread;

pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
}

/// The loom build of the std backend's `init_uninit_cell`: loom's cell carries tracking state,
/// so it is built (the models' values are small).
///
/// # Safety
///
/// `cell` is valid for writes and aligned.
pub(crate) unsafe fn init_uninit_cell<T>(cell: *mut UnsafeCell<std::mem::MaybeUninit<T>>) {
    // SAFETY: the caller's promise.
    unsafe { cell.write(UnsafeCell::new(std::mem::MaybeUninit::uninit())) }
}

/// Under loom a spin is a yield: loom then runs another thread instead of exploring the same
/// thread spinning forever.
#[inline]
pub(crate) fn spin_hint() {
    loom::thread::yield_now();
}

/// The loom stand-in for crossbeam-utils' `Backoff`: it reports "completed" at once, so every
/// waiter goes straight to the (modelled) futex. Spinning only re-checks a condition that the
/// park path checks anyway, so skipping it loses no interleaving that matters and keeps models small.
#[derive(Debug, Default)]
pub(crate) struct Backoff;

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff
    }

    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }

    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }

    pub(crate) fn is_completed(&self) -> bool {
        true
    }
}
