//! Multi-producer multi-consumer channels: [`bounded`] on the lock-free
//! [`Ring`](crate::ring::Ring), [`unbounded`] on a lock-free list of blocks.
//!
//! The channel is the producer-consumer pattern in one type: producers `send`, consumers
//! `recv`, the buffer's capacity is the backpressure, and end of stream is *disconnection*
//! (every sender dropped), not a sentinel value. Both constructors return the same
//! [`Sender`] and [`Receiver`] types, with the same API and errors.
//!
//! # Guarantees
//!
//! - **Nothing lost, nothing duplicated.** A sent value is received exactly once, or handed back
//!   inside the error, or dropped exactly once (when the last receiver goes, or with the channel).
//! - **Disconnection.** When the last [`Sender`] drops, receivers first drain every buffered value
//!   and then get `Disconnected`. When the last [`Receiver`] drops, buffered values are dropped
//!   and every send fails at once with the value inside. [`Sender::close`] or
//!   [`Receiver::close`] disconnects the channel while handles of both sides live: sends fail
//!   with their value back, receivers drain what got in and then get `Disconnected`. In these
//!   docs "every sender is gone" (or receiver) includes a closed channel.
//! - **Blocking.** `send`/`recv` spin for a few microseconds (no system call when the other side
//!   answers that fast), then park on a futex; nobody is woken unless somebody waits, and no
//!   wakeup is lost (checked under loom, see `docs/waiting.md`).
//! - **Timeouts.** `*_timeout(Duration)` and `*_deadline(Instant)`; a timeout too large to add to
//!   `Instant::now()` (`Duration::MAX`) waits forever instead of panicking.
//! - **Order.** Values from one sender are received in the order sent.
//! - **Rendezvous.** `bounded(0)` has no buffer: `send` completes when a receiver has taken the
//!   value (as std's `sync_channel(0)`).
//! - **Unbounded.** `unbounded()` has no capacity: `send` never blocks, and memory grows with
//!   the backlog and returns to the allocator as it drains (the current block of 31 slots and
//!   at most 8 KiB of spare blocks stay, plus at most one block per receiver preempted
//!   mid-receive).
//! - **Async.** [`Sender::send_async`] and [`Receiver::recv_async`] are futures on the same
//!   channel (threads and tasks may share one), with a [`RecvStream`] and a [`SendSink`]
//!   (`futures`' `Stream` and `Sink` with the `futures` feature) and a [`Sender::closed`] future.
//!   A dropped receive future never loses a value; a dropped send future did not send (on a
//!   zero-capacity channel it may have: [`SendFuture::cancel`] says which, and hands an unsent
//!   value back). `docs/async.md` has the tables.
//!
//! # Examples
//!
//! ```
//! use ringfence::channel::bounded;
//! use std::thread;
//!
//! let (tx, rx) = bounded(128);
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let rx = rx.clone();
//!         thread::spawn(move || rx.iter().map(|n: u64| n * n).sum::<u64>())
//!     })
//!     .collect();
//! for n in 1..=100 {
//!     tx.send(n).unwrap();
//! }
//! drop(tx); // end of stream
//! let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
//! assert_eq!(total, (1..=100).map(|n| n * n).sum());
//! ```

mod chan;
mod chan_async;
mod error;
mod future;
mod lane;
mod list;
mod parked_recv;
mod parked_send;
mod receiver;
mod recv_many;
mod rendezvous;
mod select;
mod select_macro;
mod sender;
mod weak;

pub use crate::ring::CapacityError;
/// [`select!`](crate::select), also reachable here (crossbeam's path: `crossbeam_channel::select!`).
pub use crate::select;
pub use error::{
    RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySelectError, TrySendError,
};
pub use future::{ClosedFuture, NextFuture, RecvFuture, RecvStream, SendFuture, SendSink};
pub use receiver::{IntoIter, Iter, Receiver, TryIter};
pub use recv_many::RecvManyFuture;
pub use select::{SelectFuture, Selector, SendValue};
pub(crate) use sender::Closer;
pub use sender::Sender;
pub use weak::{WeakReceiver, WeakSender};

use crate::sync::Arc;
use chan::Chan;

/// Creates a channel that buffers up to `capacity` values; `0` makes a rendezvous channel.
///
/// # Panics
///
/// Panics with `channel capacity {capacity} exceeds the maximum of {max}` when the capacity is
/// above [`MAX_CAPACITY`](crate::ring::MAX_CAPACITY) or would need more than `isize::MAX`
/// bytes, and with `channel capacity {capacity} needs more memory than the allocator could
/// provide` when the allocation fails; [`try_bounded`] returns those as errors instead.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringfence::channel::bounded(2);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// assert!(tx.try_send(3).is_err()); // full
/// assert_eq!(rx.recv(), Ok(1));
/// ```
#[must_use]
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    match try_bounded(capacity) {
        Ok(pair) => pair,
        Err(error) => panic!("channel {error}"),
    }
}

/// Creates a channel that buffers up to `capacity` values, or says why it cannot.
///
/// # Errors
///
/// [`CapacityError::TooLarge`] above [`MAX_CAPACITY`](crate::ring::MAX_CAPACITY) or when the
/// buffer would need more than `isize::MAX` bytes; [`CapacityError::OutOfMemory`] when the
/// allocator cannot provide it. (`0` is valid: a rendezvous channel.)
///
/// # Examples
///
/// ```
/// assert!(ringfence::channel::try_bounded::<u8>(usize::MAX).is_err());
/// assert!(ringfence::channel::try_bounded::<u8>(0).is_ok());
/// ```
pub fn try_bounded<T>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    let chan = Arc::new(Chan::try_new(capacity)?);
    Ok((Sender { chan: chan.clone() }, Receiver { chan }))
}

/// A receiver that never receives a value and is never disconnected (crossbeam's `never`): for a
/// [`select!`](crate::select) arm that must wait for nothing, such as a channel that has closed
/// (swap `&never` in for its receiver, so the loop stops selecting its `Err` over and over).
///
/// It is a zero-capacity channel whose one sender is never handed out: `recv` blocks for ever,
/// `recv_timeout` times out, `try_recv` reports `Empty`, and `sender_count` reports that one
/// sender. Closing it ([`Receiver::close`]) disconnects it like any other.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, never, Receiver};
/// use ringfence::select;
///
/// let (a_tx, a) = bounded::<u32>(4);
/// let (b_tx, b) = bounded::<u32>(4);
/// a_tx.send(1).unwrap();
/// drop(a_tx); // `a` drains, then reports the end
/// for n in 2..=3 {
///     b_tx.send(n).unwrap();
/// }
/// drop(b_tx);
/// let nothing = never::<u32>();
/// let (mut a_open, mut b_open, mut got) = (true, true, Vec::new());
/// while a_open || b_open {
///     let (a_now, b_now): (&Receiver<u32>, &Receiver<u32>) =
///         (if a_open { &a } else { &nothing }, if b_open { &b } else { &nothing });
///     select! {
///         recv(a_now) -> msg => match msg { Ok(n) => got.push(n), Err(_) => a_open = false },
///         recv(b_now) -> msg => match msg { Ok(n) => got.push(n), Err(_) => b_open = false },
///     }
/// }
/// got.sort_unstable();
/// assert_eq!(got, [1, 2, 3]);
/// ```
#[must_use]
pub fn never<T>() -> Receiver<T> {
    // `try_new` counts one sender; no `Sender` is made, so the count never reaches zero.
    let chan = Chan::try_new(0).expect("a zero-capacity channel needs no buffer");
    Receiver { chan: Arc::new(chan) }
}

/// Creates a channel with no capacity limit: `send` never blocks.
///
/// The same [`Sender`] and [`Receiver`] as [`bounded`]: `send` fails only when every receiver is
/// gone (with the value inside), `try_send` never reports `Full`, `capacity()` is `None` and
/// `is_full()` is `false`. Values are kept in blocks of 31 that are allocated as the backlog
/// grows and freed as receivers drain them, so memory returns to a small bound after a burst:
/// the current block and at most 8 KiB of spare blocks kept for the next senders (one block, if
/// a block is larger), plus at most one block per receiver that was preempted inside a receive (`list.rs`, "Memory returns after a burst").
/// There is no backpressure: a producer that outruns its consumers grows the backlog without
/// limit (use [`bounded`] for that); if the allocator fails, the process aborts, as a
/// `Vec::push` would.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{unbounded, TrySendError};
///
/// let (tx, rx) = unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap(); // never blocks
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(tx.capacity(), None);
/// assert_eq!(rx.iter().take(3).collect::<Vec<_>>(), [0, 1, 2]);
/// drop(rx);
/// assert_eq!(tx.try_send(7), Err(TrySendError::Disconnected(7)));
/// ```
#[must_use]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new_unbounded());
    (Sender { chan: chan.clone() }, Receiver { chan })
}
