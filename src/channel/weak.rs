//! Weak handles: a [`WeakSender`] or [`WeakReceiver`] names a channel without keeping its side
//! connected, and [`upgrade`](WeakSender::upgrade)s to a full handle while that side still has
//! one (tokio's `WeakSender`, async-channel's `WeakSender` and `WeakReceiver`).
//!
//! The use is a reference that must not keep a channel open: an actor's address held by the
//! actor itself or by a registry, a consumer that a producer's monitor looks at without
//! preventing the end of the stream. A weak handle is not counted in
//! [`Sender::sender_count`] (or `receiver_count`), so dropping the last full handle
//! disconnects the channel exactly as if no weak one existed; `upgrade` then returns `None` for
//! ever. Upgrading is a compare-and-swap loop on the handle count that refuses zero
//! (`Chan::try_add_sender`): either it comes before the last drop, which is then no longer the
//! last, or after it, and fails.
//!
//! A weak handle keeps the channel's memory (its buffer, not the values: the last receiver's
//! drop still drops what was buffered), as `std::sync::Weak` keeps an `Arc`'s allocation. One
//! exception, as without weak handles: a send still writing its slot when the last receiver
//! drops leaves its value to the channel's own drop, which now waits for the weak handles too.
//!
//! A closed channel ([`Sender::close`], [`Receiver::close`]) still upgrades while handles of
//! that side live, as tokio's `WeakSender` does (async-channel's upgrades return `None` once
//! the channel is closed): the new handle behaves as every handle of a closed channel does
//! (sends fail with their value back; receives drain what got in, then report the end).

use super::chan::Chan;
use super::receiver::Receiver;
use super::sender::Sender;
use crate::sync::Arc;
use std::fmt;

/// A sender that does not keep the channel connected: [`upgrade`](WeakSender::upgrade) it to
/// send. Made by [`Sender::downgrade`].
///
/// Receivers see the channel disconnect when the last [`Sender`] drops, however many
/// `WeakSender`s remain; after that every `upgrade` returns `None`. Cheap to clone;
/// `Send + Sync` when `T: Send`.
///
/// # Examples
///
/// ```
/// use ringfence::channel::bounded;
///
/// let (tx, rx) = bounded::<u32>(4);
/// let weak = tx.downgrade();
/// weak.upgrade().expect("a sender is alive").send(1).unwrap();
/// drop(tx); // the last sender: the channel disconnects although `weak` lives
/// assert!(weak.upgrade().is_none());
/// assert_eq!(rx.recv(), Ok(1)); // buffered values are still delivered
/// assert!(rx.recv().is_err());
/// ```
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

/// A receiver that does not keep the channel connected: [`upgrade`](WeakReceiver::upgrade) it
/// to receive. Made by [`Receiver::downgrade`].
///
/// When the last [`Receiver`] drops, the buffered values are dropped and sends fail, however
/// many `WeakReceiver`s remain; after that every `upgrade` returns `None`. Cheap to clone;
/// `Send + Sync` when `T: Send`.
///
/// # Examples
///
/// ```
/// use ringfence::channel::bounded;
///
/// let (tx, rx) = bounded::<u32>(4);
/// let weak = rx.downgrade();
/// tx.send(7).unwrap();
/// assert_eq!(weak.upgrade().expect("a receiver is alive").recv(), Ok(7));
/// drop(rx); // the last receiver: sends fail from now on
/// assert!(weak.upgrade().is_none());
/// assert_eq!(tx.send(8).unwrap_err().into_inner(), 8);
/// ```
pub struct WeakReceiver<T> {
    chan: Arc<Chan<T>>,
}

// As the full handles (`sender.rs`): a weak handle holds no value and no waiter of its own.
impl<T> std::panic::UnwindSafe for WeakSender<T> {}
impl<T> std::panic::RefUnwindSafe for WeakSender<T> {}
impl<T> std::panic::UnwindSafe for WeakReceiver<T> {}
impl<T> std::panic::RefUnwindSafe for WeakReceiver<T> {}

impl<T> Sender<T> {
    /// A [`WeakSender`] for this channel: it does not count as a sender, so it does not keep the
    /// channel connected, and [`upgrade`](WeakSender::upgrade)s to a `Sender` while any
    /// `Sender` lives (tokio's `Sender::downgrade`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::unbounded::<u8>();
    /// let weak = tx.downgrade();
    /// assert_eq!(tx.sender_count(), 1); // the weak handle is not counted
    /// assert!(weak.upgrade().is_some());
    /// ```
    #[must_use]
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender { chan: self.chan.clone() }
    }
}

impl<T> Receiver<T> {
    /// A [`WeakReceiver`] for this channel: it does not count as a receiver, so it does not keep
    /// the channel connected (nor its buffered values), and
    /// [`upgrade`](WeakReceiver::upgrade)s to a `Receiver` while any `Receiver` lives
    /// (async-channel's `Receiver::downgrade`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert_eq!(rx.receiver_count(), 1); // the weak handle is not counted
    /// assert!(weak.upgrade().is_some());
    /// ```
    #[must_use]
    pub fn downgrade(&self) -> WeakReceiver<T> {
        WeakReceiver { chan: self.chan.clone() }
    }
}

impl<T> WeakSender<T> {
    /// A new [`Sender`] while the channel still has one; `None` once the last `Sender` has
    /// dropped (the channel is then disconnected for good, and receivers drain what is left).
    ///
    /// A channel disconnected by [`Sender::close`] or [`Receiver::close`] while its senders live
    /// still upgrades: the new sender's sends fail with their value back, as every sender's do.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{thread, time::Duration};
    ///
    /// // `Some(n)` is the producer's value, `None` a tick.
    /// let (tx, rx) = ringfence::channel::unbounded::<Option<u32>>();
    /// let weak = tx.downgrade();
    /// // A ticker that joins the stream while the producer runs and never keeps it open.
    /// let ticker = thread::spawn(move || {
    ///     while let Some(tx) = weak.upgrade() {
    ///         let _ = tx.send(None); // fails only when the receiver is gone
    ///         drop(tx); // before sleeping: holding it would keep the stream open
    ///         thread::sleep(Duration::from_millis(1));
    ///     }
    /// });
    /// for n in 0..3 {
    ///     tx.send(Some(n)).unwrap();
    /// }
    /// drop(tx); // the producer is done: the stream ends, ticker or not
    /// let values: Vec<u32> = rx.iter().flatten().collect();
    /// assert_eq!(values, [0, 1, 2]);
    /// ticker.join().unwrap(); // its next upgrade failed
    /// ```
    #[must_use]
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.try_add_sender().then(|| Sender { chan: self.chan.clone() })
    }

    /// The [`Sender`]s alive now (not counting weak ones): a snapshot, as
    /// [`Sender::sender_count`]. `0` means [`upgrade`](WeakSender::upgrade) will fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(weak.sender_count(), 1);
    /// drop(tx);
    /// assert_eq!(weak.sender_count(), 0);
    /// ```
    #[must_use]
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The [`Receiver`]s alive now: a snapshot, as [`Sender::receiver_count`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let weak = tx.downgrade();
    /// drop(rx);
    /// assert_eq!(weak.receiver_count(), 0);
    /// ```
    #[must_use]
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// `true` when both weak handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = ringfence::channel::bounded::<u8>(1);
    /// let (other, _orx) = ringfence::channel::bounded::<u8>(1);
    /// assert!(tx.downgrade().same_channel(&tx.downgrade()));
    /// assert!(!tx.downgrade().same_channel(&other.downgrade()));
    /// ```
    #[must_use]
    pub fn same_channel(&self, other: &WeakSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> WeakReceiver<T> {
    /// A new [`Receiver`] while the channel still has one; `None` once the last `Receiver` has
    /// dropped (its buffered values were dropped with it, and sends fail).
    ///
    /// A channel closed by [`Sender::close`] or [`Receiver::close`] while its receivers live
    /// still upgrades (async-channel's returns `None` there): the new receiver drains what got
    /// in, then reports the end, as every receiver does.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::unbounded::<&str>();
    /// let weak = rx.downgrade();
    /// tx.send("kept").unwrap();
    /// let rx2 = weak.upgrade().unwrap();
    /// drop(rx); // not the last receiver: `rx2` lives
    /// assert_eq!(rx2.recv(), Ok("kept"));
    /// drop(rx2);
    /// assert!(weak.upgrade().is_none());
    /// ```
    #[must_use]
    pub fn upgrade(&self) -> Option<Receiver<T>> {
        self.chan.try_add_receiver().then(|| Receiver { chan: self.chan.clone() })
    }

    /// The [`Sender`]s alive now: a snapshot, as [`Receiver::sender_count`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// drop(tx);
    /// assert_eq!(weak.sender_count(), 0);
    /// ```
    #[must_use]
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// The [`Receiver`]s alive now (not counting weak ones): a snapshot, as
    /// [`Receiver::receiver_count`]. `0` means [`upgrade`](WeakReceiver::upgrade) will fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// let weak = rx.downgrade();
    /// assert_eq!(weak.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(weak.receiver_count(), 0);
    /// ```
    #[must_use]
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// `true` when both weak handles belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = ringfence::channel::bounded::<u8>(1);
    /// assert!(rx.downgrade().same_channel(&rx.downgrade()));
    /// ```
    #[must_use]
    pub fn same_channel(&self, other: &WeakReceiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender { chan: self.chan.clone() }
    }
}

impl<T> Clone for WeakReceiver<T> {
    fn clone(&self) -> Self {
        WeakReceiver { chan: self.chan.clone() }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").field("sender_count", &self.sender_count()).finish()
    }
}

impl<T> fmt::Debug for WeakReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakReceiver").field("receiver_count", &self.receiver_count()).finish()
    }
}
