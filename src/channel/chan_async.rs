//! The async operations of a channel: `send_async` / `recv_async` as polls of the same
//! try-then-wait loops the blocking calls run, on the same [`WaitQueue`]s (async and blocking
//! users may share one channel; see `wait.rs`, "Async waiters").
//!
//! # Cancel safety
//!
//! - A receive takes a value only inside the poll that returns it, so dropping a receive future
//!   never loses one: it was returned, or it is still in the channel. A dropped future that had
//!   been woken for a value passes the wakeup on to another waiter (`WaitQueue::cancel`).
//! - A send future holds its value until a poll moves it into the channel and returns `Ready`
//!   in the same poll. Dropped before, the value is dropped with it (not sent); the rendezvous
//!   flavor's owner, whose value sits in the slot while it waits for a receiver, takes it
//!   back on drop unless a receiver already took it (then it was sent).
//!
//! [`WaitQueue`]: crate::wait::WaitQueue

use super::chan::{Chan, Flavor};
use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::wait::AsyncSlot;
use std::task::{Poll, Waker};

/// The waiting state of one receive future.
#[derive(Debug, Default)]
pub(crate) struct RecvWait {
    pub(super) slot: AsyncSlot,
    /// Counted as a waiting receiver by the flavor (the unbounded list's waiter count, the
    /// rendezvous slot's `waiting_receivers`).
    pub(super) listed: bool,
}

/// The waiting state of one send future.
#[derive(Debug, Default)]
pub(crate) struct SendWait {
    pub(super) slot: AsyncSlot,
    /// Rendezvous only: our value is in the slot and we wait for a receiver to take it.
    pub(super) owning: bool,
}

impl<T> Chan<T> {
    /// One poll of a receive future.
    pub(crate) fn poll_recv(&self, wait: &mut RecvWait, waker: &Waker) -> Poll<Result<T, RecvError>> {
        let poll = || match self.try_recv() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        };
        match &self.flavor {
            Flavor::Buffered(_) => self.recv_wait.poll_until(&mut wait.slot, waker, poll),
            Flavor::Unbounded(list) => {
                if !wait.listed {
                    if let Some(ready) = poll() {
                        return Poll::Ready(ready);
                    }
                    // Senders notify only while the list counts a waiting receiver (see
                    // `chan.rs`): count ourselves before the polls that precede `Pending`.
                    list.register_waiter();
                    wait.listed = true;
                }
                let outcome = self.recv_wait.poll_until(&mut wait.slot, waker, poll);
                if outcome.is_ready() {
                    list.deregister_waiter();
                    wait.listed = false;
                }
                outcome
            }
            Flavor::Rendezvous(slot) => slot.poll_recv(self, wait, waker),
        }
    }

    /// A receive future dropped unfinished.
    pub(crate) fn cancel_recv(&self, wait: &mut RecvWait) {
        match &self.flavor {
            Flavor::Buffered(_) => self.recv_wait.cancel(&mut wait.slot),
            Flavor::Unbounded(list) => {
                if wait.listed {
                    list.deregister_waiter();
                    wait.listed = false;
                }
                self.recv_wait.cancel(&mut wait.slot);
            }
            Flavor::Rendezvous(slot) => slot.cancel_recv(self, wait),
        }
    }

    /// One poll of a send future; `value` is `Some` until the send completes.
    pub(crate) fn poll_send(
        &self,
        value: &mut Option<T>,
        wait: &mut SendWait,
        waker: &Waker,
    ) -> Poll<Result<(), SendError<T>>> {
        match &self.flavor {
            Flavor::Buffered(_) => self.send_wait.poll_until(&mut wait.slot, waker, || {
                let pending = value.take().expect("a send future polled after it completed");
                match self.try_send(pending) {
                    Ok(()) => Some(Ok(())),
                    Err(TrySendError::Disconnected(pending)) => Some(Err(SendError(pending))),
                    Err(TrySendError::Full(pending)) => {
                        *value = Some(pending);
                        None
                    }
                }
            }),
            // Never full: ready at once.
            Flavor::Unbounded(_) => {
                let pending = value.take().expect("a send future polled after it completed");
                Poll::Ready(self.try_send(pending).map_err(|error| SendError(error.into_inner())))
            }
            Flavor::Rendezvous(slot) => slot.poll_send(self, value, wait, waker),
        }
    }

    /// A send future dropped unfinished (its value, if it still has it, is dropped with it).
    pub(crate) fn cancel_send(&self, wait: &mut SendWait) {
        match &self.flavor {
            Flavor::Buffered(_) | Flavor::Unbounded(_) => self.send_wait.cancel(&mut wait.slot),
            Flavor::Rendezvous(slot) => slot.cancel_send(self, wait),
        }
    }
}
