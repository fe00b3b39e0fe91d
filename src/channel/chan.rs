//! The state one channel's handles share, and the buffered (ring) flavor's operations.
//!
//! Every blocking operation is "try, then wait on a [`WaitQueue`] until the try succeeds":
//! receivers wait on `recv_wait` (notified after every push and at disconnection), senders on
//! `send_wait` (notified after every pop and at disconnection). The waiting layer's handshake
//! makes "publish, then notify" against "announce, then re-check" free of lost wakeups.
//!
//! # Chained wakeups
//!
//! The ring reports "empty" while the oldest push is still writing its slot, even when younger
//! pushes have finished (and "full" while the oldest pop is still reading). So a receiver woken
//! by a younger push can find nothing, and park again: that push's wakeup is spent. To make up
//! for it, every successful pop also wakes one more receiver if values remain, and every
//! successful push one more sender if room remains. Each completed operation passes the baton
//! on, so as long as values (room) remain and receivers (senders) sleep, one of them is awake.
//! Both checks share one `fence(SeqCst)` and cost one extra load when nobody sleeps.
//!
//! # The unbounded flavor
//!
//! Sends never wait, so `send_wait` is unused. A send notifies `recv_wait` only when its claim
//! on the list's tail saw a waiting receiver (see `list.rs`: the count lives in the tail word, so
//! a send with no receiver waiting pays no fence). A blocking receive therefore registers before
//! any poll that may precede a sleep: it spins briefly unregistered (loads only), then registers
//! at the waiting layer's first poll. A woken receiver always takes a value that is there (the
//! list's pop never reports "empty" for a claimed slot), so this flavor needs no chained
//! wakeups.

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::list::List;
use super::rendezvous::Rendezvous;
use crate::ring::{CapacityError, PushError, Ring};
use crate::sync::Backoff;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::wait::{WaitQueue, notifier_fence};
use std::time::Instant;

/// Where the values live.
#[allow(
    clippy::large_enum_variant,
    reason = "one per channel, inside its Arc; boxing the ring would add a pointer chase to every operation"
)]
pub(crate) enum Flavor<T> {
    /// `bounded(n)` with `n >= 1`: the lock-free ring.
    Buffered(Ring<T>),
    /// `bounded(0)`: a single hand-over slot; a send completes when a receiver takes the value.
    Rendezvous(Rendezvous<T>),
    /// `unbounded()`: a linked list of blocks; a send never waits.
    Unbounded(List<T>),
}

/// Spin rounds of an unbounded receive before it registers as waiting (see
/// `Chan::recv_unbounded_wait`): about as long as the waiting layer's own spin.
const UNREGISTERED_SPINS: u32 = 6;

pub(crate) struct Chan<T> {
    pub(super) flavor: Flavor<T>,
    /// Set once, when the last sender or the last receiver is dropped. Never cleared.
    /// Receivers drain what is buffered, then report `Disconnected`; senders fail at once.
    disconnected: AtomicBool,
    /// Live `Sender` handles; the one that takes it to zero disconnects the channel.
    senders: AtomicUsize,
    /// Live `Receiver` handles; the one that takes it to zero disconnects the channel.
    receivers: AtomicUsize,
    /// Receivers wait here for a value (or disconnection).
    pub(super) recv_wait: WaitQueue,
    /// Senders wait here for room (or disconnection).
    pub(super) send_wait: WaitQueue,
}

impl<T> Chan<T> {
    pub(crate) fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        let flavor = if capacity == 0 {
            Flavor::Rendezvous(Rendezvous::new())
        } else {
            Flavor::Buffered(Ring::try_new(capacity)?)
        };
        Ok(Self::with_flavor(flavor))
    }

    pub(crate) fn new_unbounded() -> Self {
        Self::with_flavor(Flavor::Unbounded(List::new()))
    }

    fn with_flavor(flavor: Flavor<T>) -> Self {
        Chan {
            flavor,
            disconnected: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            recv_wait: WaitQueue::new(),
            send_wait: WaitQueue::new(),
        }
    }

    #[inline]
    pub(crate) fn is_disconnected(&self) -> bool {
        // ORDERING: Acquire pairs with the Release swap in `disconnect`: a receiver that sees
        // the flag also sees every value pushed before the last sender dropped.
        self.disconnected.load(Ordering::Acquire)
    }

    pub(crate) fn add_sender(&self) {
        // ORDERING: Relaxed: the new handle is made from an existing one, which keeps the count
        // above zero; nothing is published by the increment (as `Arc::clone`).
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_receiver(&self) {
        // ORDERING: Relaxed, as in `add_sender`.
        self.receivers.fetch_add(1, Ordering::Relaxed);
    }

    /// Drops one sender; the last one disconnects the channel.
    pub(crate) fn remove_sender(&self) {
        // ORDERING: AcqRel, as in `Arc::drop`: every sender's Release decrement (after its
        // last push) is acquired by the last one, whose Release `disconnect` then publishes all
        // those pushes to a receiver that sees the flag. With Relaxed, a receiver could see
        // "disconnected" and miss another sender's last value. loom cannot observe the
        // weakening: the SeqCst fence in the notify after every push already orders it (in
        // loom's model and in C++), but the count must not depend on that fence.
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.disconnect();
        }
    }

    /// Drops one receiver; the last one disconnects the channel and drops what is buffered.
    pub(crate) fn remove_receiver(&self) {
        // ORDERING: Relaxed: receivers publish nothing to each other or to senders through
        // this count (values go through the ring's stamps; "disconnected" through the flag and
        // the ring's mark bit); the RMW chain alone makes exactly one thread see 1.
        if self.receivers.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.disconnect();
            // Nobody can receive any more: drop the buffered values now rather than when the
            // last sender goes. The ring is closed, so no push starts after this; one that
            // claimed its slot before the close and is still writing is not drained here
            // (`try_pop` reports empty at an in-flight slot) and is dropped with the channel.
            // Either way each value is dropped exactly once.
            // The unbounded flavor's pop waits for such a push to finish writing, so there
            // everything is drained here (and the drained blocks are freed).
            match &self.flavor {
                Flavor::Buffered(ring) => while ring.try_pop().is_some() {},
                Flavor::Unbounded(list) => while list.pop().is_some() {},
                Flavor::Rendezvous(_) => {}
            }
        }
    }

    #[cold]
    fn disconnect(&self) {
        // ORDERING: Release pairs with the Acquire load in `is_disconnected` (see there).
        if !self.disconnected.swap(true, Ordering::Release) {
            // Senders learn it from the push itself, atomically with claiming a slot.
            match &self.flavor {
                Flavor::Buffered(ring) => {
                    ring.close();
                }
                Flavor::Unbounded(list) => {
                    list.close();
                }
                Flavor::Rendezvous(_) => {}
            }
            self.recv_wait.notify_all();
            self.send_wait.notify_all();
            if let Flavor::Rendezvous(slot) = &self.flavor {
                slot.notify_disconnected();
            }
        }
    }

    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.flavor {
            Flavor::Buffered(ring) => match ring.push(value) {
                Ok(()) => {
                    notifier_fence();
                    self.recv_wait.notify_one_fenced_if(|| true);
                    // Chained wakeup: a sender woken for room may have found the ring "full"
                    // because the pop that made the room was still reading its slot, and gone
                    // back to sleep. Pass the wakeup on while room remains, or it is lost.
                    self.send_wait.notify_one_fenced_if(|| !ring.is_full());
                    Ok(())
                }
                Err(PushError::Full(value)) => Err(TrySendError::Full(value)),
                Err(PushError::Closed(value)) => Err(TrySendError::Disconnected(value)),
            },
            Flavor::Rendezvous(slot) => slot.try_send(self, value),
            Flavor::Unbounded(list) => match list.push(value) {
                Ok(receiver_may_wait) => {
                    if receiver_may_wait {
                        self.recv_wait.notify_one();
                    }
                    Ok(())
                }
                Err(value) => Err(TrySendError::Disconnected(value)),
            },
        }
    }

    /// Sends, waiting until `deadline` (`None`: forever) for room.
    pub(crate) fn send_deadline(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        match &self.flavor {
            Flavor::Rendezvous(slot) => return slot.send(self, value, deadline),
            // Never full: no waiting.
            Flavor::Unbounded(_) => {
                return self
                    .try_send(value)
                    .map_err(|error| SendTimeoutError::Disconnected(error.into_inner()));
            }
            Flavor::Buffered(_) => {}
        }
        let mut pending = Some(value);
        let outcome = self.send_wait.wait_until(deadline, || {
            let value = pending.take()?;
            match self.try_send(value) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Disconnected(value)) => Some(Err(value)),
                Err(TrySendError::Full(value)) => {
                    pending = Some(value);
                    None
                }
            }
        });
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(value)) => Err(SendTimeoutError::Disconnected(value)),
            None => Err(SendTimeoutError::Timeout(pending.take().expect("a timed-out send keeps its value"))),
        }
    }

    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.flavor {
            Flavor::Buffered(ring) => {
                if let Some(value) = ring.try_pop() {
                    notifier_fence();
                    self.send_wait.notify_one_fenced_if(|| true);
                    // Chained wakeup: a receiver woken for a value may have found the ring
                    // "empty" because an older push was still writing its slot, and gone back
                    // to sleep. Pass the wakeup on while values remain, or it is lost.
                    self.recv_wait.notify_one_fenced_if(|| !ring.is_empty());
                    return Ok(value);
                }
                if !self.is_disconnected() {
                    return Err(TryRecvError::Empty);
                }
                // Disconnected: the Acquire load above made every value pushed before the
                // last sender dropped visible; take one if the first pop raced past it.
                ring.try_pop().ok_or(TryRecvError::Disconnected)
            }
            Flavor::Rendezvous(slot) => slot.try_recv(self),
            Flavor::Unbounded(list) => {
                if let Some(value) = list.pop() {
                    return Ok(value);
                }
                if !self.is_disconnected() {
                    return Err(TryRecvError::Empty);
                }
                // As for the ring: every value sent before the last sender dropped is visible.
                list.pop().ok_or(TryRecvError::Disconnected)
            }
        }
    }

    /// Receives, waiting until `deadline` (`None`: forever) for a value.
    pub(crate) fn recv_deadline(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match &self.flavor {
            Flavor::Rendezvous(slot) => return slot.recv(self, deadline),
            Flavor::Unbounded(list) => return self.recv_unbounded(list, deadline),
            Flavor::Buffered(_) => {}
        }
        let outcome = self.recv_wait.wait_until(deadline, || match self.try_recv() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
            Err(TryRecvError::Empty) => None,
        });
        outcome.unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// [`Chan::recv_deadline`] for the unbounded flavor: registers as a waiting receiver
    /// before any poll that may precede a sleep (module docs).
    #[inline]
    fn recv_unbounded(&self, list: &List<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        // The common case, inline: a value is there.
        if let Some(value) = list.pop() {
            return Ok(value);
        }
        self.recv_unbounded_wait(list, deadline)
    }

    /// The waiting part of [`Chan::recv_unbounded`], out of line.
    #[inline(never)]
    fn recv_unbounded_wait(&self, list: &List<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        /// Deregisters when the wait ends, however it ends.
        struct Registration<'a, T> {
            list: &'a List<T>,
            registered: bool,
        }
        impl<T> Drop for Registration<'_, T> {
            fn drop(&mut self) {
                if self.registered {
                    self.list.deregister_waiter();
                }
            }
        }
        let poll = || match self.try_recv() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
            Err(TryRecvError::Empty) => None,
        };
        // First spin unregistered, with loads only: registering costs two RMWs on the tail's
        // cache line (which the senders' CASes then miss), and every send pays the notify fence
        // while we are registered. A receiver that runs dry for a moment (the usual case when
        // it is faster than its senders) finds a value here. (Skipped under loom, where the
        // facade's `Backoff` is complete at once.)
        let backoff = Backoff::new();
        for _ in 0..UNREGISTERED_SPINS {
            if backoff.is_completed() {
                break;
            }
            backoff.spin();
            if let Some(ready) = poll() {
                return ready;
            }
        }
        let mut registration = Registration { list, registered: false };
        let outcome = self.recv_wait.wait_until(deadline, || {
            // Register before the first poll (and before its check): every poll may be the
            // last one before a sleep.
            if !registration.registered {
                list.register_waiter();
                registration.registered = true;
            }
            poll()
        });
        drop(registration);
        outcome.unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    pub(crate) fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Buffered(ring) => ring.len(),
            Flavor::Rendezvous(_) => 0,
            Flavor::Unbounded(list) => list.len(),
        }
    }

    /// `Some(n)` for `bounded(n)`, `None` for `unbounded()`.
    pub(crate) fn capacity(&self) -> Option<usize> {
        match &self.flavor {
            Flavor::Buffered(ring) => Some(ring.capacity()),
            Flavor::Rendezvous(_) => Some(0),
            Flavor::Unbounded(_) => None,
        }
    }

    /// `true` when a send would have to wait for room (always for a rendezvous channel, never
    /// for an unbounded one); a snapshot.
    pub(crate) fn is_full(&self) -> bool {
        match &self.flavor {
            Flavor::Buffered(ring) => ring.is_full(),
            Flavor::Rendezvous(_) => true,
            Flavor::Unbounded(_) => false,
        }
    }
}
