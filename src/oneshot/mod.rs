//! A one-shot future cell: one value, sent once, received once (a future/promise pair).
//!
//! [`channel`] makes a [`Sender`] (the promise: fulfil it with [`Sender::send`], or drop it to
//! fail) and a [`Receiver`] (the future: block with [`Receiver::recv`], poll with
//! [`Receiver::try_recv`] / [`Receiver::is_ready`], or `.await` it). It is what a task handle,
//! a request/reply and each leg of a scatter/gather are made of.
//!
//! # Guarantees
//!
//! - **One allocation, no reference count.** Both handles point to one heap block; a single
//!   32-bit state word decides, at each side's last step, which side frees it.
//! - **Nothing lost, nothing duplicated.** A sent value is received exactly once, or handed back
//!   inside [`SendError`] (the receiver was gone), or dropped exactly once when the receiver is
//!   dropped, on the receiver's thread. When `send` returns `Ok` the value is never dropped on
//!   the sender's thread.
//! - **Disconnection.** Dropping the sender without sending wakes the receiver (a blocked thread
//!   or a pending task), which gets [`RecvError`] / `Disconnected`. Dropping the receiver makes
//!   [`Sender::is_closed`] `true` and `send` fail with the value inside.
//! - **Waiting.** A blocking receive waits as every blocking call of the crate does: it spins
//!   for about 1-2 µs (a reply that comes that fast costs no system call on either side), then
//!   yields a few times (up to about 50 µs while this thread's recent waits were short; see
//!   `docs/waiting.md`), then parks on a futex *on the state word itself*.
//!   The sender makes a wake call only when a receiver actually parked or registered a waker.
//!   No wakeup is lost (checked under loom).
//! - **Timeouts.** [`Receiver::recv_timeout`] / [`Receiver::recv_deadline`] take `&mut self`
//!   and leave the receiver usable after a timeout; `Duration::MAX` waits forever.
//! - **Async.** `Receiver` is a runtime-agnostic [`Future`]: the latest
//!   waker is kept, a replaced one is dropped (not leaked), and it is cancel-safe.
//! - **After the result.** A receiver that returned its value, or reported disconnection, is
//!   finished: later calls report disconnection and `is_ready()` stays `true` (see
//!   [`Receiver`]).
//!
//! # The state machine
//!
//! Seven bits in one `u32`, each an ownership rule: `VALUE` and `DISC` (the sender is finished,
//! with or without a value: the value slot now belongs to the receiver), `WAKER` (the waker slot
//! belongs to the sender side, which must wake it), `PARKED` (a receiver thread sleeps on the
//! word; the sender must futex-wake it), `CLOSED` (the receiver is gone), `TX_WAKER` (the
//! sender's `closed()` waker slot belongs to the receiver side, which must wake it) and
//! `TX_LEFT` (the sender left the block). The full table of bits
//! and transitions, and the argument that no wakeup is lost, stand next to the code in
//! `src/oneshot/cell.rs`; `docs/oneshot.md` tells the pattern and lists the loom models.
//!
//! ```text
//!   0 ──poll──▶ WAKER ──poll (reclaim, replace)──▶ WAKER
//!   0 ──park──▶ PARKED ──deadline──▶ 0, or WAKER if the park took a task's waker back
//!   0 | WAKER | PARKED ──send──▶ VALUE (+hand-off) ──sender wakes, clears hand-off──▶ VALUE
//!   0 | WAKER | PARKED ──sender drop──▶ DISC (+hand-off) ──▶ DISC
//!   any, sender alive ──receiver drop──▶ +CLOSED ──sender finishes──▶ freed by the sender
//! ```
//!
//! # Examples
//!
//! A future/promise: start work, do something else, collect the result; a failure propagates.
//!
//! ```
//! use ringfence::oneshot;
//! use std::thread;
//!
//! fn spawn_sum(numbers: Vec<u64>) -> oneshot::Receiver<Result<u64, String>> {
//!     let (promise, future) = oneshot::channel();
//!     thread::spawn(move || {
//!         let sum = numbers.iter().try_fold(0u64, |acc, &n| acc.checked_add(n));
//!         let _ = promise.send(sum.ok_or_else(|| "overflow".to_string()));
//!     });
//!     future
//! }
//!
//! let small = spawn_sum((1..=100).collect());
//! let huge = spawn_sum(vec![u64::MAX, 1]);
//! // ... other work here ...
//! assert_eq!(small.recv(), Ok(Ok(5050)));
//! assert_eq!(huge.recv(), Ok(Err("overflow".to_string())));
//! ```

mod cell;
mod closed;
mod error;
mod receiver;
mod sender;

pub use closed::ClosedFuture;
pub use error::{RecvError, RecvTimeoutError, SendError, TryRecvError};
pub use receiver::Receiver;
pub use sender::Sender;

/// Creates a oneshot: a [`Sender`] that sends one value and a [`Receiver`] that receives it.
///
/// Makes one heap allocation, shared by both halves and freed by whichever finishes last.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringfence::oneshot::channel();
/// let worker = std::thread::spawn(move || tx.send(String::from("reply")).unwrap());
/// assert_eq!(rx.recv().unwrap(), "reply");
/// worker.join().unwrap();
/// ```
#[must_use]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = cell::allocate();
    (Sender::new(inner), Receiver::new(inner))
}
