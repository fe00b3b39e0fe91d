//! # ringfence
//!
//! Verified lock-free primitives, and the concurrency patterns built on them.
//!
//! Three hand-written primitives form the core:
//!
//! - [`ring::Ring`]: a lock-free bounded MPMC ring buffer (Vyukov's algorithm), and on it
//!   [`channel::bounded`], a blocking MPMC channel that spins briefly and then parks on a futex.
//! - [`oneshot`]: a one-shot future cell (send once, receive once: blocking, timeout, `Future`).
//! - [`rate::TokenBucket`]: a lock-free token bucket rate limiter (GCRA, one atomic word), and
//!   [`rate::SlidingWindow`], an exact "at most N per period" limiter, both on an injected clock.
//!
//! Every concurrent protocol is model-checked with `loom` (`RUSTFLAGS="--cfg loom" cargo test
//! --release --test loom`), checked against sequential models with `proptest`, and stress-tested.
//!
//! # Which tool for which problem
//!
//! | problem | use |
//! |---|---|
//! | hand values from producers to consumers, with backpressure | [`channel::bounded`] |
//! | a lock-free queue you poll yourself (no blocking) | [`ring::Ring`] |
//! | keep only the newest `n` values (overwrite the oldest) | [`ring::Ring::force_push`] |
//! | cap a rate, with bounded bursts, reservations or live rate changes | [`rate::TokenBucket`] |
//! | a hard "at most N calls in any window" | [`rate::SlidingWindow`] |
//! | limit how many threads do something at once | [`Semaphore`] |
//! | wait until every item handed out has been processed (`queue.join()`, also `await`ed) | [`WaitGroup`] |
//! | run closures on a fixed set of threads, get a future per task | [`pool::Pool`] |
//! | parallel `map` over a (possibly endless) iterator, in order or as completed | [`pool::Pool::map`], [`pool::Pool::map_unordered`] |
//! | wait for whichever task finishes first | [`pool::as_completed`] |
//! | jobs that borrow the caller's stack | [`pool::Pool::scope`] |
//! | map-reduce (word count, sums) | [`pool::Pool::map_reduce`] |
//! | a chain of stages, each with its own workers, and where the time goes | [`pipeline::Pipeline`] |
//! | an object with its own thread and mailbox (request-reply, supervision) | [`actor`] |
//! | ask several sources at once: all answers, the first good one, a quorum | [`scatter::Scatter`] |
//! | spread items over workers, merge several receivers into one | [`fan::share`], [`fan::round_robin`], [`fan::merge`] |
//! | trade CPU for latency in every blocking wait (how long waits yield before they sleep) | [`waiting::set_yield_phase_limit`] |
//!
//! # Async
//!
//! The same objects serve threads and tasks: `send_async` / `recv_async` on the channel (and a
//! `Stream` / `Sink` with the `futures` feature), `.await` on a oneshot receiver or a pool
//! [`Task`](pool::Task), `acquire_async` on the semaphore and the rate limiters (and a
//! reservation's [`wait_async`](rate::Reservation::wait_async)),
//! [`WaitGroup::wait_async`], [`pool::Pool::submit_async`], tasks in completion order
//! ([`pool::AsCompleted::next_async`]; its `stream()`, a `Stream`, with the `futures` feature),
//! the actor's `tell_async` / `ask_async`, and the awaited ends: [`oneshot::Sender::closed`],
//! [`actor::ActorHandle::stop_async`], [`pool::Pool::shutdown_async`] and
//! [`pipeline::Running::join_async`] (or the whole output: [`pipeline::Pipeline::collect_async`]);
//! [`timer`] gives any future a timeout. The futures use
//! `std::task` only (any executor), and each documents what dropping it does (`# Cancel safety`): a dropped receive
//! never loses a value, a dropped send did not send (on a buffered channel). The chapter:
//! `docs/async.md`.
//!
//! # Example
//!
//! ```
//! use ringfence::channel::bounded;
//!
//! let (tx, rx) = bounded(1024);
//! std::thread::spawn(move || {
//!     for i in 0..1000u64 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! assert_eq!(rx.iter().sum::<u64>(), 999 * 1000 / 2);
//! ```

// docs.rs (its nightly, `--cfg docsrs`): mark the `futures` feature's items as such.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod actor;
pub mod channel;
pub mod fan;
pub mod oneshot;
pub mod pipeline;
pub mod pool;
pub mod rate;
pub mod ring;
pub mod scatter;
mod semaphore;
pub mod timer;
pub mod waiting;

pub use caught_panic::Panic;
pub use semaphore::{AcquireFuture, AcquireOwnedFuture, OwnedPermit, Permit, Semaphore, TooManyPermits};
pub use wait_group::{Pending, WaitGroup, WaitGroupFuture};

mod caught_panic;
mod exiting;
mod latch;
mod parker;
mod random;
mod sync;
mod wait;
mod wait_group;
