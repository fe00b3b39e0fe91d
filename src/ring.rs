//! A lock-free bounded multi-producer multi-consumer ring buffer.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>): every slot
//! carries a sequence number (its *stamp*) that tells producers and consumers whose turn the
//! slot is, so the only contended writes are one CAS on `head` or `tail` per operation. The
//! position encoding (a lap counter above the index bits) follows crossbeam's `ArrayQueue`.
//!
//! # Positions and stamps
//!
//! `head` and `tail` are *positions*: `lap + index`, where `index < capacity` sits in the low
//! bits and `lap` is a multiple of `one_lap`. Above the index bits sits one *mark bit*
//! (`mark_bit`, the smallest power of two above `capacity`; `one_lap = 2 * mark_bit`), set only
//! in `tail` and only by the crate-internal `close` that the channel uses for disconnection:
//! once it is set, every push fails, atomically with respect to the CAS that claims a position.
//! Advancing a position from the last index goes to index 0 of the next lap. Positions wrap
//! around `usize`; a thread would have to sleep through `usize::MAX / one_lap` laps (at least
//! 65 536, see [`MAX_CAPACITY`]) between its load and its CAS to be fooled.
//!
//! A slot's stamp is a position and grants the slot to one side:
//!
//! | stamp | meaning | who may touch the value |
//! |---|---|---|
//! | `== tail` | empty, ready for the producer of position `tail` | the producer whose CAS moves `tail` past it |
//! | `== head + 1` | full, written at position `head` | the consumer whose CAS moves `head` past it |
//! | `== tail + 1 - one_lap` | still full from the previous lap | nobody: `try_push` reports full |
//! | `== head` | not yet written for this lap | nobody: `try_pop` reports empty |
//!
//! A producer claims position `tail` with a CAS, writes the value, then stores
//! `stamp = tail + 1` (Release). A consumer claims position `head` with a CAS, reads the value,
//! then stores `stamp = head + one_lap` (Release): the slot's position one lap later.
//!
//! # Guarantees
//!
//! - Lock-free, and `try_push`/`try_pop` never wait for another thread: they only retry a CAS
//!   that another thread won. A thread preempted between its CAS and its stamp store holds that
//!   one slot until it resumes.
//! - **Not promised**: `try_push` returns the value as full while a pop that has already claimed
//!   the oldest slot is still reading it; `try_pop` returns `None` while the push that claimed
//!   the oldest position is still writing it (even if younger pushes have finished). Each
//!   report is consistent with happens-before: a pop (push) that *happens before* the call is
//!   always seen. The loom suite checks both sides. (crossbeam's `ArrayQueue` spins in these
//!   cases instead; not spinning keeps the calls wait-free of other threads, and the channel's
//!   waiting layer does the waiting.)
//! - FIFO per producer: values pushed by one thread are popped in push order.
//! - Nothing lost or duplicated: every pushed value is popped exactly once or dropped exactly
//!   once with the ring. No allocation after [`Ring::new`].

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Backoff, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::mem::MaybeUninit;

/// The largest capacity a [`Ring`] accepts: `2^(usize::BITS - 17) - 1`.
///
/// The bound keeps at least 65 536 laps in the position encoding (see the module docs).
pub const MAX_CAPACITY: usize = (1 << (usize::BITS - 17)) - 1;

/// Why a [`Ring`] (or a channel built on one) could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityError {
    /// A capacity of zero was requested.
    Zero,
    /// The capacity exceeds [`MAX_CAPACITY`] or the memory it needs exceeds `isize::MAX` bytes.
    TooLarge {
        /// The capacity that was asked for.
        requested: usize,
        /// The largest capacity possible for this element type.
        max: usize,
    },
    /// The allocator could not provide the slots (the capacity was within the limits).
    OutOfMemory {
        /// The capacity that was asked for.
        requested: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => f.write_str("capacity must be at least 1"),
            CapacityError::TooLarge { requested, max } => {
                write!(f, "capacity {requested} exceeds the maximum of {max}")
            }
            CapacityError::OutOfMemory { requested } => {
                write!(f, "capacity {requested} needs more memory than the allocator could provide")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

struct Slot<T> {
    /// Whose turn the slot is; see the module docs' table.
    stamp: AtomicUsize,
    /// Initialised exactly when the stamp says "full" (or a claimer is between CAS and stamp).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A lock-free bounded MPMC queue (see the module docs for the algorithm and guarantees).
///
/// # Examples
///
/// ```
/// use ringfence::ring::Ring;
///
/// let ring = Ring::new(2);
/// assert_eq!(ring.try_push('a'), Ok(()));
/// assert_eq!(ring.try_push('b'), Ok(()));
/// assert_eq!(ring.try_push('c'), Err('c')); // full: the value comes back
/// assert_eq!(ring.force_push('c'), Some('a')); // overwrite the oldest
/// assert_eq!(ring.try_pop(), Some('b'));
/// assert_eq!(ring.try_pop(), Some('c'));
/// assert_eq!(ring.try_pop(), None);
/// ```
pub struct Ring<T> {
    /// The next position to pop. Padded: consumers hammer it, producers rarely read it.
    head: CachePadded<AtomicUsize>,
    /// The next position to push. Padded: producers hammer it, consumers rarely read it.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// The smallest power of two above the capacity; set in `tail` once the ring is closed.
    mark_bit: usize,
    /// `2 * mark_bit`: adding it to a position moves one lap on.
    one_lap: usize,
}

/// Why a crate-internal push failed; the value is inside.
pub(crate) enum PushError<T> {
    Full(T),
    Closed(T),
}

// SAFETY: a `Ring<T>` owns its values; moving it to another thread moves them, which needs
// `T: Send`. Sharing `&Ring<T>` lets any thread push (give a `T` away) and pop (take a `T`
// made on another thread), which is again exactly `T: Send`; no `&T` is ever handed out, so
// `T: Sync` is not needed. The stamps hand each slot to one thread at a time.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// Creates a ring that holds up to `capacity` values, allocating all of its slots now.
    ///
    /// # Panics
    ///
    /// Panics with `ring capacity must be at least 1` when `capacity` is 0, with
    /// `ring capacity {capacity} exceeds the maximum of {max}` when it is above
    /// [`MAX_CAPACITY`] or its slots would need more than `isize::MAX` bytes, and with
    /// `ring capacity {capacity} needs more memory than the allocator could provide` when the
    /// allocation fails. [`Ring::try_new`] returns these as errors instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::<u64>::new(1024);
    /// assert_eq!(ring.capacity(), 1024);
    /// ```
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        match Self::try_new(capacity) {
            Ok(ring) => ring,
            Err(error) => panic!("ring {error}"),
        }
    }

    /// Creates a ring that holds up to `capacity` values, or says why it cannot.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for a capacity of 0; [`CapacityError::TooLarge`] above
    /// [`MAX_CAPACITY`] or when the slots would need more than `isize::MAX` bytes;
    /// [`CapacityError::OutOfMemory`] when the allocator cannot provide the slots (instead of
    /// aborting the process, as a plain allocation failure would).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::ring::{CapacityError, Ring};
    ///
    /// assert_eq!(Ring::<u8>::try_new(0).err(), Some(CapacityError::Zero));
    /// assert!(Ring::<u8>::try_new(usize::MAX).is_err());
    /// assert!(Ring::<u8>::try_new(8).is_ok());
    /// ```
    pub fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let by_memory = (isize::MAX as usize) / std::mem::size_of::<Slot<T>>().max(1);
        let max = MAX_CAPACITY.min(by_memory);
        if capacity > max {
            return Err(CapacityError::TooLarge { requested: capacity, max });
        }
        let mark_bit = (capacity + 1).next_power_of_two();
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| CapacityError::OutOfMemory { requested: capacity })?;
        // Slot `i` starts empty for position `i` of lap 0.
        slots.extend(
            (0..capacity)
                .map(|i| Slot { stamp: AtomicUsize::new(i), value: UnsafeCell::new(MaybeUninit::uninit()) }),
        );
        let slots = slots.into_boxed_slice();
        Ok(Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            mark_bit,
            one_lap: mark_bit * 2,
        })
    }

    /// The position after `position`: the next index, or index 0 of the next lap.
    #[inline]
    fn advance(&self, position: usize) -> usize {
        let index = position & (self.mark_bit - 1);
        if index + 1 < self.slots.len() {
            position.wrapping_add(1)
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline]
    fn slot(&self, position: usize) -> &Slot<T> {
        // The index bits of a position are always below the capacity (see `advance`), so the
        // bounds check never fails; it stays as a cheap guard.
        &self.slots[position & (self.mark_bit - 1)]
    }

    /// Pushes `value` if there is room; otherwise hands it back as `Err(value)`.
    ///
    /// Never blocks or waits for another thread. Reports full while a concurrent pop is still
    /// reading the oldest slot (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::new(1);
    /// assert_eq!(ring.try_push(1), Ok(()));
    /// assert_eq!(ring.try_push(2), Err(2));
    /// ```
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), T> {
        self.push(value).map_err(|(PushError::Full(value) | PushError::Closed(value))| value)
    }

    /// [`Ring::try_push`] that tells "full" from "closed" (crate-internal: the channel's send).
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
        self.push_or_else(value, |value, _, _, _| Err(PushError::Full(value)))
    }

    /// Closes the ring for pushes: every later push fails with [`PushError::Closed`], and a
    /// push either claimed its position before the close or fails. Pops go on as before.
    /// Returns `true` for the call that closed it. Never mixed with `force_push` (the channel
    /// does not use it), whose plain tail store could otherwise clear the mark.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: Relaxed: the RMW on `tail` is ordered with every push's CAS by the
        // modification order of `tail` alone; publishing "disconnected" to waiters is the
        // channel's job (its flag and the waiting layer's fences).
        self.tail.fetch_or(self.mark_bit, Ordering::Relaxed) & self.mark_bit == 0
    }

    /// Pushes `value`, overwriting the oldest value when the ring is full and returning it.
    ///
    /// Never blocks. Returns `None` when there was room.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::new(2);
    /// assert_eq!(ring.force_push(1), None);
    /// assert_eq!(ring.force_push(2), None);
    /// assert_eq!(ring.force_push(3), Some(1));
    /// assert_eq!(ring.try_pop(), Some(2));
    /// ```
    pub fn force_push(&self, value: T) -> Option<T> {
        let pushed = self.push_or_else(value, |value, tail, new_tail, slot| {
            // The slot still holds the previous lap's value, at position `tail - one_lap`: the
            // oldest one. Claim it as a consumer would, by moving `head` past it. (If a consumer
            // has already claimed it, the CAS fails and we retry: it is about to free the slot.)
            let head = tail.wrapping_sub(self.one_lap);
            let new_head = new_tail.wrapping_sub(self.one_lap);
            // ORDERING: Relaxed, as in `try_pop`: the CAS only decides who owns the slot. The
            // slot's contents were published to us by the Acquire stamp load in `push_or_else`.
            if self.head.compare_exchange_weak(head, new_head, Ordering::Relaxed, Ordering::Relaxed).is_err()
            {
                // A consumer moved first: retry as a normal push.
                return Ok(value);
            }
            // Now we own the slot for both the old and the new value. No producer can claim
            // `tail` (its stamp says "previous lap"), so a plain store moves the tail.
            // ORDERING: Relaxed: producers re-validate any tail they load against the slot
            // stamp (Acquire), which is only released below, after the swap.
            self.tail.store(new_tail, Ordering::Relaxed);
            // SAFETY: the head CAS above gave us the slot: its stamp still says "written in the
            // previous lap", so it holds an initialised value no other thread may touch until
            // our stamp store below.
            let old =
                slot.value.with_mut(|cell| unsafe { cell.replace(MaybeUninit::new(value)).assume_init() });
            // ORDERING: Release publishes the new value to the consumer that pops position
            // `tail` (its Acquire stamp load).
            slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
            Err(PushError::Full(old))
        });
        match pushed {
            Ok(()) => None,
            Err(PushError::Full(old) | PushError::Closed(old)) => Some(old),
        }
    }

    /// The shared push loop; `on_occupied(value, tail, new_tail, slot)` decides what to do when
    /// the slot at `tail` still holds the previous lap's value: `Err(e)` ends the push with
    /// `Err(e)`, `Ok(value)` retries with the value.
    #[inline]
    fn push_or_else<F>(&self, mut value: T, on_occupied: F) -> Result<(), PushError<T>>
    where
        F: Fn(T, usize, usize, &Slot<T>) -> Result<T, PushError<T>>,
    {
        let backoff = Backoff::new();
        // ORDERING: Relaxed; a stale tail is caught by the stamp check below.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed(value));
            }
            let new_tail = self.advance(tail);
            let slot = self.slot(tail);
            // ORDERING: Acquire pairs with the consumer's Release stamp store: the previous
            // value has been moved out before we overwrite the slot.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // The slot is free for position `tail`: claim it.
                // ORDERING: Relaxed; the CAS decides ownership of the position, and the data
                // handoff goes through the stamps (Acquire above, Release below).
                match self.tail.compare_exchange_weak(tail, new_tail, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: winning the CAS for position `tail` while its stamp said
                        // "empty" gives this thread the slot until the stamp store below; the
                        // previous value was moved out (Acquire stamp load above).
                        slot.value.with_mut(|cell| unsafe { cell.write(MaybeUninit::new(value)) });
                        // ORDERING: Release publishes the value to the consumer's Acquire
                        // stamp load.
                        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail.wrapping_add(1) {
                // The slot still holds the value from the previous lap: the ring is full, or a
                // pop of that value is in flight (module docs: reported as full).
                value = on_occupied(value, tail, new_tail, slot)?;
                backoff.spin();
                // ORDERING: Relaxed, as above.
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer claimed `tail` and moved on: our tail is stale.
                backoff.snooze();
                // ORDERING: Relaxed, as above.
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the oldest value, or returns `None` when the ring is empty.
    ///
    /// Never blocks or waits for another thread. Reports empty while the push that claimed the
    /// oldest position is still writing it (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::new(4);
    /// ring.try_push("x").unwrap();
    /// assert_eq!(ring.try_pop(), Some("x"));
    /// assert_eq!(ring.try_pop(), None);
    /// ```
    #[inline]
    pub fn try_pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        // ORDERING: Relaxed; a stale head is caught by the stamp check below.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // ORDERING: Acquire pairs with the producer's Release stamp store: the value is
            // initialised before we read it.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head.wrapping_add(1) {
                // The slot holds the value for position `head`: claim it.
                let new_head = self.advance(head);
                // ORDERING: Relaxed; ownership only, data goes through the stamps.
                match self.head.compare_exchange_weak(head, new_head, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => {
                        // SAFETY: winning the CAS for position `head` while its stamp said
                        // "full" gives this thread the slot until the stamp store below; the
                        // value was initialised before the producer's Release store.
                        let value = slot.value.with(|cell| unsafe { cell.read().assume_init() });
                        // ORDERING: Release: our read of the value happens before the next
                        // producer (Acquire stamp load) overwrites the slot.
                        slot.stamp.store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Not written for this lap yet: empty, or the push that claimed `head` is
                // still writing (module docs: reported as empty). A stale `head` cannot get
                // here: its slot would carry a later stamp.
                return None;
            } else {
                // Another consumer took `head` and moved on: our head is stale.
                backoff.snooze();
                // ORDERING: Relaxed, as above.
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// The number of values in the ring.
    ///
    /// A snapshot: with concurrent pushes and pops it may be stale by the time it returns.
    /// Always between 0 and the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::new(4);
    /// ring.try_push(1).unwrap();
    /// assert_eq!(ring.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        loop {
            // ORDERING: Relaxed: `len` is a snapshot and synchronises nothing. Coherence alone
            // gives what callers can rely on: operations that happen before the call are
            // counted, and every pair of positions yields a value in `0..=capacity`. The
            // re-read of `tail` retries when a push moved it in between.
            let tail = self.tail.load(Ordering::Relaxed);
            let head = self.head.load(Ordering::Relaxed);
            if self.tail.load(Ordering::Relaxed) == tail {
                let tail = tail & !self.mark_bit;
                let index = |p: usize| p & (self.mark_bit - 1);
                let (hix, tix) = (index(head), index(tail));
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.slots.len() - hix + tix
                } else if tail == head {
                    0
                } else {
                    // Same index, different lap: full.
                    self.slots.len()
                };
            }
        }
    }

    /// `true` when the ring holds no values (a snapshot, like [`Ring::len`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(ringfence::ring::Ring::<u8>::new(1).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when the ring holds `capacity` values (a snapshot, like [`Ring::len`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ring = ringfence::ring::Ring::new(1);
    /// ring.try_push(()).unwrap();
    /// assert!(ring.is_full());
    /// ```
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.len() == self.slots.len()
    }

    /// The most values the ring holds at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ringfence::ring::Ring::<u8>::new(3).capacity(), 3);
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if !std::mem::needs_drop::<T>() {
            return;
        }
        // `&mut self`: no other thread can touch the ring, so the values left are exactly the
        // positions from head to tail. Pop them (the ordinary path) so each drops once. If one
        // value's `Drop` panics, the guard drops the rest during the unwind (as `Vec` does).
        struct DropRest<'a, T>(&'a Ring<T>);
        impl<T> Drop for DropRest<'_, T> {
            fn drop(&mut self) {
                while self.0.try_pop().is_some() {}
            }
        }
        let rest = DropRest(self);
        while rest.0.try_pop().is_some() {}
    }
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring").field("len", &self.len()).field("capacity", &self.capacity()).finish()
    }
}
