//! The loom suite: every concurrent protocol of the crate, model-checked.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom` (CI adds
//! `LOOM_MAX_PREEMPTIONS=2`). Without `--cfg loom` this target is empty.
#![cfg(loom)]

mod actor;
mod channel;
mod channel_async;
mod common;
mod oneshot;
mod pool;
mod rate;
mod rate_async;
mod ring;
mod select;
mod semaphore;
mod semaphore_async;
mod unbounded;
mod wait_group;
