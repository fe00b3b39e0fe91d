//! The synchronisation facade: the only place that names `std` or `loom`.
//!
//! Library code imports every atomic, `UnsafeCell`, `Arc`, thread function, spin hint, backoff
//! and futex from here. Under `--cfg loom` the same names resolve to loom's instrumented types
//! (and to a loom model of the futex), so the loom suite checks the code that ships, not a copy.
//!
//! Two API rules keep both builds identical:
//! - [`UnsafeCell`] is always used through loom's `with` / `with_mut` closures, so loom sees every
//!   access to shared data (a concurrent read and write of a cell fails the model).
//! - Spinning goes through [`Backoff`] or [`spin_hint`], which yield to loom's scheduler under loom
//!   (an unbounded spin would otherwise explode the model).

// The facade offers the whole set of names to every module; a given build or feature set
// does not use each of them.
#![allow(unused_imports, dead_code)]

mod futex;

#[cfg(not(loom))]
mod std_backend;
#[cfg(not(loom))]
pub(crate) use std_backend::*;

#[cfg(loom)]
mod loom_backend;
#[cfg(loom)]
pub(crate) use loom_backend::*;

pub(crate) use futex::Futex;
