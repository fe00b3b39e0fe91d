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
//! # Examples
//!
//! ```
//! use ringfence::ring::Ring;
//! use std::sync::Arc;
//! use std::thread;
//!
//! let ring = Arc::new(Ring::new(64));
//! let producers: Vec<_> = (0..2u64)
//!     .map(|p| {
//!         let ring = Arc::clone(&ring);
//!         thread::spawn(move || {
//!             for i in 0..1000 {
//!                 let mut value = p * 1000 + i;
//!                 // Never blocks: a full ring hands the value back.
//!                 while let Err(back) = ring.try_push(value) {
//!                     value = back;
//!                     thread::yield_now();
//!                 }
//!             }
//!         })
//!     })
//!     .collect();
//! let mut got = Vec::new();
//! while got.len() < 2000 {
//!     match ring.try_pop() {
//!         Some(value) => got.push(value),
//!         None => thread::yield_now(),
//!     }
//! }
//! producers.into_iter().for_each(|p| p.join().unwrap());
//! got.sort();
//! assert!(got.iter().copied().eq(0..2000)); // every value once
//! ```
//!
//! # Positions and stamps
//!
//! `head` and `tail` are *positions*: `lap + index`, where `index < capacity` sits in the low
//! bits and `lap` is a multiple of `one_lap`. Above the index bits sits one *mark bit*
//! (`mark_bit`, the smallest power of two above `capacity`; `one_lap = 2 * mark_bit`), set only
//! in `tail` and only by the crate-internal `close` that the channel uses for disconnection:
//! once it is set, every push fails, atomically with respect to the CAS that claims a position.
//! Advancing a position from the last index goes to index 0 of the next lap. Positions wrap
//! around 2^48 (see "The index words"); a thread would have to sleep through `2^48 / one_lap`
//! laps (at least 65 536, see [`MAX_CAPACITY`]) between its load and its CAS to be fooled.
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
//!   one slot until it resumes. That includes the slot's previous lap: a push (pop) that finds
//!   the previous lap's push (pop) of its slot still in flight reports full (empty) at once;
//!   until the thirty-third session it took that for a stale position and waited it out
//!   (found by review; `tests::try_calls_never_wait_for_an_operation_of_the_previous_lap`).
//! - **Not promised**: `try_push` returns the value as full while a pop that has already claimed
//!   the oldest slot is still reading it; `try_pop` returns `None` while the push that claimed
//!   the oldest position is still writing it (even if younger pushes have finished). Each
//!   report is consistent with happens-before: a pop (push) that *happens before* the call is
//!   always seen. The loom suite checks both sides. (crossbeam's `ArrayQueue` spins in these
//!   cases instead; not spinning keeps the calls wait-free of other threads, and the channel's
//!   waiting layer does the waiting.)
//! - FIFO per producer: values pushed by one thread are popped in push order.
//! - (Crate-internal, for the channel) a *registered* caller (see "Waiting parties") waits for
//!   the in-flight pop or push in those two cases instead: a few instructions, unless the
//!   thread doing it is preempted (then it yields until that thread runs).
//! - Nothing lost or duplicated: every pushed value is popped exactly once or dropped exactly
//!   once with the ring. No allocation after [`Ring::new`].
//!
//! # The index words
//!
//! `head` and `tail` are `u64` words: the position in the low 48 bits, and above it a count of
//! *waiting parties* (15 bits; 2 under loom): in `tail` the receivers of the channel that may
//! park waiting for a value, in `head` the senders that may park waiting for room. The top bit
//! of `head` is the *front mark* (below). A standalone `Ring` never counts anyone nor sets the
//! mark; every CAS that moves a position keeps the count and the mark as they are.
//!
//! # Waiting parties: no fence when nobody waits
//!
//! The channel must wake a parked receiver after a push (a parked sender after a pop), and the
//! waiting layer's handshake costs the notifier a `fence(SeqCst)` (`wait.rs`): a quarter of a
//! buffered send or receive. So a receiver that may park first *registers*: an RMW on `tail`
//! that raises its count, before any pop that may precede its sleep; it deregisters after its
//! wait. A push reads the count in the CAS that claims its position, and notifies only when it
//! is nonzero: no fence, no extra load when nobody waits. The argument uses only the
//! modification order of `tail` (so loom checks it exactly):
//!
//! - if the push's CAS comes after the registration in that order, it reads a nonzero count
//!   (only that receiver's own deregistration lowers it) and runs the waiting layer's full
//!   notify;
//! - if it comes before, every later load of `tail` by that receiver sees the claimed position.
//!   So a registered pop never reports "empty" while `tail` is past `head`: if the slot at
//!   `head` is not written yet, it waits for that push's stamp store (the push will not notify)
//!   and takes the value, unless another receiver takes it first (then the value went to
//!   somebody, and the pop starts over).
//!
//! Senders waiting for room mirror this in `head`: a registered push never reports "full"
//! while `head` has moved past the oldest value; it waits for that pop's stamp store.
//!
//! The count saturates: a party that would push it past its maximum leaves it there, and a
//! saturated count is never lowered again (operations then always notify: correct, only
//! slower). The unbounded channel counts its receivers the same way (`channel/list.rs`).
//!
//! # The front mark
//!
//! The channel may pop a value for an async receive's parked request (`channel/parked_recv.rs`,
//! "An async owner"). Until some receive takes it there, that value is still the channel's
//! oldest, and every other receive must see it: one that finds the ring empty takes it, one
//! that pops a younger value trades with it. `Ring::pop_marking_front` sets the mark in the
//! same CAS that claims the value (with Release), and `Ring::clear_front` clears it when the
//! value leaves the parked request. Every pop's `PopReport` carries the `head` word it read,
//! so a receive learns of the mark at no cost beyond the test it already makes for waiting
//! senders (`PopReport::calls_for_more`: one shift and compare). Every write of `head` is an
//! RMW, so a pop that reads the mark reads the release sequence of the marking claim; after an
//! Acquire fence it sees the fill that claimed, however far that fill got.
//!
//! Between the marking claim and the clear, every pop's report has the mark; a pop ordered
//! after the clear popped a younger value than the one that left, so it owes the parked
//! request nothing.

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Backoff, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::mem::MaybeUninit;

/// The largest capacity a [`Ring`] accepts: `2^31 - 1`.
///
/// The bound keeps at least 65 536 laps in the 48 bits of the position encoding (see the module
/// docs). The memory the slots need may lower the limit further for a large `T`; see
/// [`CapacityError::TooLarge`].
///
/// # Examples
///
/// ```
/// use ringfence::ring::{CapacityError, MAX_CAPACITY, Ring};
///
/// assert_eq!(MAX_CAPACITY, 2_147_483_647);
/// let too_many = MAX_CAPACITY + 1;
/// assert_eq!(
///     Ring::<u8>::try_new(too_many).err(),
///     Some(CapacityError::TooLarge { requested: too_many, max: MAX_CAPACITY })
/// );
/// ```
pub const MAX_CAPACITY: usize = (1 << (POSITION_BITS - 17)) - 1;

/// The low bits of a `head` or `tail` word: the position (module docs, "The index words").
const POSITION_BITS: u32 = 48;
const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
/// Width of the waiting-parties count above the position: 15 bits (the top bit of `head` is
/// the front mark); 2 under loom, so models stay small while two waiting parties still do not
/// saturate it.
#[cfg(not(loom))]
const WAITER_BITS: u32 = 15;
#[cfg(loom)]
const WAITER_BITS: u32 = 2;
/// The count's saturated (sticky) value.
const WAITER_MAX: u64 = (1 << WAITER_BITS) - 1;
const ONE_WAITER: u64 = 1 << POSITION_BITS;
/// The top bit of `head`: the channel's parked receive holds a value popped from the ring for
/// an async receive, which every later pop must compare itself with (module docs, "The front
/// mark"). Set by [`Ring::pop_marking_front`], cleared by [`Ring::clear_front`]; never set on
/// a standalone `Ring`.
const FRONT: u64 = 1 << 63;

/// The position in a `head` or `tail` word (with the mark bit, for `tail`).
#[inline]
fn position(word: u64) -> u64 {
    word & POSITION_MASK
}

/// Whether pushes and pops try their common case inline before the loop (`claim_free_tail`,
/// the start of `pop`). Not under loom: on success the fast path performs exactly the atomic
/// operations of the loop's first iteration, through the same helpers; on a miss it has only
/// loaded (on a closed ring one stamp load more than the loop would), discards what it read,
/// and the loop starts over with fresh loads (nothing was claimed). Those extra loads are all it
/// would add to a model, and they multiplied the states of the parked-slot models (two were
/// still running after 17 minutes, where the whole suite takes about 12 without them); the
/// loop is what the models check.
pub(crate) const FAST_PATHS: bool = !cfg!(loom);

/// The largest value (in bytes) whose pop takes the inline fast path. A larger value inlined
/// into the caller is copied out of the slot and on through the caller's temporaries in pieces
/// whose widths do not line up (for a 64-byte value: 8 + 16 + 16 + 16 + 8 bytes stored, then
/// read back 16 at a time), so most of its reads miss store-to-load forwarding; perf put 70% of
/// the consumer's samples on two such loads. Measured, capacity 1024, ms per 100 000: spsc with
/// a 64-byte value 7.7 inline, 5.0 through the loop; `String` (24 bytes) level; `u64` 0.74
/// inline, 1.32 through the loop.
const INLINE_POP_MAX_SIZE: usize = 16;

/// What [`Ring::view_tail`] saw: the first look of a push.
struct TailView<'a, T> {
    /// The tail word (position and waiter count).
    word: u64,
    /// Its position.
    tail: u64,
    /// The position after it ([`Ring::advance`]).
    next: u64,
    /// The slot of `tail`.
    slot: &'a Slot<T>,
    /// That slot's stamp.
    stamp: u64,
}

/// The words a pop of one position writes ([`Ring::pop_claim`]).
#[derive(Clone, Copy)]
struct PopClaim {
    /// The next head position.
    next: u64,
    /// The slot's stamp after the pop: empty, for the next lap's push.
    emptied: u64,
}

/// The waiting parties counted in a `head` or `tail` word.
#[inline]
fn waiters(word: u64) -> u64 {
    (word >> POSITION_BITS) & WAITER_MAX
}

/// Whether a `tail` word counts waiting receivers: `tail` carries no front mark, so every bit
/// above the position is the count (one shift, on every push).
#[inline(always)]
fn receivers_wait(tail_word: u64) -> bool {
    tail_word >> POSITION_BITS != 0
}

/// What a pop saw: the `head` word its claim moved (or, when it found the ring empty, the one
/// it loaded last). The channel reads from it whether a sender waits for room and whether the
/// front mark is set (module docs, "The front mark").
#[derive(Clone, Copy, Debug)]
pub(crate) struct PopReport(u64);

impl PopReport {
    /// Whether anything above the position is set (a waiting sender or the front mark): the
    /// one test on a pop's common path; the rest is the caller's slow path.
    #[inline(always)]
    pub(crate) fn calls_for_more(self) -> bool {
        self.0 >> POSITION_BITS != 0
    }

    /// Whether the claim saw a waiting sender counted in `head` (then the caller must notify).
    #[inline]
    pub(crate) fn sender_waits(self) -> bool {
        waiters(self.0) != 0
    }

    /// Whether the front mark was set.
    #[inline]
    pub(crate) fn front(self) -> bool {
        self.0 & FRONT != 0
    }

    /// The position popped (meaningful for a pop that took a value).
    #[inline]
    pub(crate) fn position(self) -> u64 {
        position(self.0)
    }
}

/// Whether position `a` was popped before position `b` (both of one ring, less than half the
/// position space apart, as any two positions alive at once are).
#[inline]
pub(crate) fn popped_before(a: u64, b: u64) -> bool {
    let distance = b.wrapping_sub(a) & POSITION_MASK;
    distance != 0 && distance < 1 << (POSITION_BITS - 1)
}

/// Why a [`Ring`] (or a channel built on one) could not be created.
///
/// Returned by [`Ring::try_new`] and [`channel::try_bounded`](crate::channel::try_bounded);
/// [`Ring::new`] and [`channel::bounded`](crate::channel::bounded) panic instead, with the
/// `Display` text after `ring ` or `channel `.
///
/// # Examples
///
/// ```
/// use ringfence::ring::{CapacityError, MAX_CAPACITY, Ring};
///
/// let describe = |capacity| match Ring::<u64>::try_new(capacity) {
///     Ok(ring) => format!("a ring of {}", ring.capacity()),
///     Err(CapacityError::Zero) => "empty".to_string(),
///     Err(CapacityError::TooLarge { max, .. }) => format!("at most {max}"),
///     Err(error) => error.to_string(), // `OutOfMemory`, or a future variant
/// };
/// assert_eq!(describe(4), "a ring of 4");
/// assert_eq!(describe(0), "empty");
/// assert_eq!(describe(usize::MAX), format!("at most {MAX_CAPACITY}"));
///
/// let error = Ring::<u64>::try_new(0).unwrap_err();
/// assert_eq!(error.to_string(), "capacity must be at least 1");
/// let boxed: Box<dyn std::error::Error> = Box::new(error); // a `std::error::Error`
/// assert!(boxed.source().is_none());
/// ```
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
    stamp: AtomicU64,
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
    /// The next position to pop, and above it the count of senders waiting for room (module
    /// docs, "The index words"). Padded: consumers hammer it, producers rarely read it.
    head: CachePadded<AtomicU64>,
    /// The next position to push (with the mark bit), and above it the count of receivers
    /// waiting for a value. Padded: producers hammer it, consumers rarely read it.
    tail: CachePadded<AtomicU64>,
    slots: Box<[Slot<T>]>,
    /// The smallest power of two above the capacity; set in `tail` once the ring is closed.
    mark_bit: u64,
    /// `2 * mark_bit`: adding it to a position moves one lap on.
    one_lap: u64,
    /// `mark_bit - 1`: the index bits of a position. Kept, with `last_index`, so that the
    /// position arithmetic of every push and pop reads its constants instead of deriving them
    /// (callgrind, one thread: a few instructions per message).
    index_mask: u64,
    /// `capacity - 1`: the index after which a position moves to the next lap.
    last_index: u64,
}

// A panic that unwinds out of a call on the ring (only a value's `Drop`, in `force_push`, can
// panic inside one) leaves every slot either holding a value or free: as crossbeam's
// `ArrayQueue`, the ring may be used across `catch_unwind` without `AssertUnwindSafe`.
impl<T> std::panic::UnwindSafe for Ring<T> {}
impl<T> std::panic::RefUnwindSafe for Ring<T> {}

/// Why a crate-internal push failed; the value stays with the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PushError {
    Full,
    Closed,
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
        Self::try_new_at_lap(capacity, 0)
    }

    /// [`Ring::try_new`] with `head`, `tail` and every stamp starting at index 0 of lap `lap`
    /// (modulo the laps that the position bits hold) instead of lap 0. `try_new` starts at
    /// lap 0; the unit tests start a few laps before the positions wrap around.
    fn try_new_at_lap(capacity: usize, lap: u64) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let by_memory = (isize::MAX as usize) / std::mem::size_of::<Slot<T>>().max(1);
        let max = MAX_CAPACITY.min(by_memory);
        if capacity > max {
            return Err(CapacityError::TooLarge { requested: capacity, max });
        }
        // At most 2^31 (capacity <= MAX_CAPACITY), so `one_lap` <= 2^32 leaves 2^16 laps in
        // the position's 48 bits.
        let mark_bit = (capacity as u64 + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        // Index 0 of lap `lap`: `one_lap` (a power of two up to 2^32) divides 2^48, so the
        // product reduced to the position bits is a whole number of laps.
        let start = lap.wrapping_mul(one_lap) & POSITION_MASK;
        let mut slots: Vec<Slot<T>> = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| CapacityError::OutOfMemory { requested: capacity })?;
        // Slot `i` starts empty for position `i` of the first lap (no carry: `i < capacity`).
        // Each slot is initialised in place: building a `Slot` value would make a `T`-sized
        // temporary on the stack in debug builds (a stack overflow for large `T`).
        let base = slots.as_mut_ptr();
        for i in 0..capacity {
            // SAFETY: `i < capacity`, the reserved capacity: the slot is allocated, aligned and
            // ours; its fields are written through raw pointers, no reference to
            // uninitialised memory is made.
            unsafe {
                let slot = base.add(i);
                (&raw mut (*slot).stamp).write(AtomicU64::new(start + i as u64));
                crate::sync::init_uninit_cell(&raw mut (*slot).value);
            }
        }
        // SAFETY: the first `capacity` slots were initialised above (the value cells may stay
        // uninitialised: `MaybeUninit`).
        unsafe { slots.set_len(capacity) };
        let slots = slots.into_boxed_slice();
        Ok(Ring {
            head: CachePadded::new(AtomicU64::new(start)),
            tail: CachePadded::new(AtomicU64::new(start)),
            slots,
            mark_bit,
            one_lap,
            index_mask: mark_bit - 1,
            last_index: capacity as u64 - 1,
        })
    }

    /// The position after `position` (no mark bit): the next index, or index 0 of the next
    /// lap (wrapping around the position bits).
    #[inline]
    fn advance(&self, position: u64) -> u64 {
        if position & self.index_mask != self.last_index {
            // No carry out of the index bits: the index is below `last_index`, so
            // `index + 1 < capacity < mark_bit`.
            position + 1
        } else {
            ((position & !(self.one_lap - 1)) + self.one_lap) & POSITION_MASK
        }
    }

    /// `position` one lap back (the previous lap's position of the same slot).
    #[inline]
    fn lap_back(&self, position: u64) -> u64 {
        position.wrapping_sub(self.one_lap) & POSITION_MASK
    }

    #[inline]
    fn slot(&self, position: u64) -> &Slot<T> {
        // The index fits in `usize`: it is below the capacity, a `usize` (next comment).
        let index = (position & self.index_mask) as usize;
        // Checked in debug and loom builds (loom runs optimised), as the waiter counts are.
        if cfg!(any(debug_assertions, loom)) {
            assert!(index < self.slots.len(), "a position's index is below the capacity");
        }
        // Unchecked: it saves the bounds check on every push and pop (two instructions and a
        // load of the length). Every position's index bits are below the capacity: positions
        // start at index 0 and only `advance` makes new ones (index + 1 while that is below the
        // capacity, else index 0 of the next lap); `lap_back` and the position bits'
        // wrap-around keep the index bits, and the mask removes the closed mark.
        // SAFETY: `index` is below the capacity, the slice's length (above).
        unsafe { self.slots.get_unchecked(index) }
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
        match self.push_fast(value) {
            Ok(_) => Ok(()),
            Err(value) => self.try_push_retry(value),
        }
    }

    /// [`Ring::try_push`] past its first claim: a function of its own so that, in unoptimised
    /// builds, its `T`-sized temporaries are not in the caller's frame (those of the inlined
    /// `push_fast` are there already).
    #[inline]
    fn try_push_retry(&self, value: T) -> Result<(), T> {
        let mut pending = Some(value);
        match self.push_retry(&mut pending, false) {
            Ok(_) => Ok(()),
            Err(_) => Err(pending.take().expect("a failed push keeps its value")),
        }
    }

    /// The push's common case with the value still in hand (no `Option` in memory to go
    /// through): when the ring is open, the tail's slot free and the first CAS wins, pushes
    /// `value` and returns whether the claim saw a waiting receiver; otherwise hands `value`
    /// back, nothing claimed, for [`Ring::push_retry`]. Always hands it back under loom
    /// (`FAST_PATHS`).
    #[inline(always)]
    pub(crate) fn push_fast(&self, value: T) -> Result<bool, T> {
        if FAST_PATHS {
            if let Some((slot, tail, word)) = self.claim_free_tail() {
                self.publish(slot, tail, value);
                return Ok(receivers_wait(word));
            }
        }
        Err(value)
    }

    /// [`Ring::push`] after a [`Ring::push_fast`] that missed: the loop alone (not
    /// `push_or_else`, whose inlined fast path would try again).
    #[inline]
    pub(crate) fn push_retry(&self, value: &mut Option<T>, registered: bool) -> Result<bool, PushError> {
        // As in `push_or_else`: a claimed slot must be written, or its position is lost.
        assert!(value.is_some(), "a push needs a value");
        self.push_loop(value, registered, true, |_, _, _, _| Err(PushError::Full))
    }

    /// [`Ring::try_push`] for the channel: moves the value out of `value` when it pushes
    /// (and leaves it there when it fails), tells "full" from "closed", and returns whether the
    /// claim saw a waiting receiver counted in `tail` (then the caller must notify; module
    /// docs, "Waiting parties"). With `registered` (the caller is a sender counted in `head`),
    /// a slot whose pop is in flight is waited for instead of reported as full.
    ///
    /// The value stays in the caller's `Option` rather than travelling by value through the
    /// call chain: a big `T` is then copied once, into its slot (unoptimised builds give every
    /// by-value `T` on the way its own stack slot).
    #[inline]
    pub(crate) fn push(&self, value: &mut Option<T>, registered: bool) -> Result<bool, PushError> {
        self.push_or_else(value, registered, true, |_, _, _, _| Err(PushError::Full))
    }

    /// Closes the ring for pushes: every later push fails with `PushError::Closed`, and a
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
        // The waiting-parties counts are always 0 here: only the channel registers waiters, and
        // it never calls `force_push` (whose plain tail store would erase a count).
        let mut pending = Some(value);
        // Not full while a push is in flight: the oldest value is not written yet, and
        // overwriting needs it (the loop waits for it).
        let pushed = self.push_or_else(&mut pending, false, false, |value, tail, new_tail, slot| {
            // The slot still holds the previous lap's value, at position `tail - one_lap`: the
            // oldest one. Claim it as a consumer would, by moving `head` past it. (If a consumer
            // has already claimed it, the CAS fails and we retry: it is about to free the slot.)
            let head = self.lap_back(tail);
            let new_head = self.lap_back(new_tail);
            // ORDERING: Relaxed, as in `try_pop`: the CAS only decides who owns the slot. The
            // slot's contents were published to us by the Acquire stamp load in `push_or_else`.
            if self.head.compare_exchange_weak(head, new_head, Ordering::Relaxed, Ordering::Relaxed).is_err()
            {
                // A consumer moved first: retry as a normal push.
                return Ok(());
            }
            // Now we own the slot for both the old and the new value. No producer can claim
            // `tail` (its stamp says "previous lap"), so a plain store moves the tail.
            // ORDERING: Relaxed: producers re-validate any tail they load against the slot
            // stamp (Acquire), which is only released below, after the swap.
            self.tail.store(new_tail, Ordering::Relaxed);
            let new = value.take().expect("a push keeps its value until it lands");
            // SAFETY: the head CAS above gave us the slot: its stamp still says "written in the
            // previous lap", so it holds an initialised value no other thread may touch until
            // our stamp store below.
            let old =
                slot.value.with_mut(|cell| unsafe { cell.replace(MaybeUninit::new(new)).assume_init() });
            // ORDERING: Release publishes the new value to the consumer that pops position
            // `tail` (its Acquire stamp load).
            slot.stamp.store(tail + 1, Ordering::Release);
            // Hand the old value back through `value`.
            *value = Some(old);
            Err(PushError::Full)
        });
        match pushed {
            Ok(_) => None,
            Err(_) => pending,
        }
    }

    /// The shared push loop, for the value in `value` (`Some`; taken when it lands);
    /// `on_occupied(value, tail, new_tail, slot)` decides what to do when the slot at `tail`
    /// still holds the previous lap's value and no pop of it is being waited for: `Err(e)` ends
    /// the push with `Err(e)`, `Ok(())` retries. Returns whether the claiming CAS saw a waiting
    /// receiver. `wait_for_pop`: see [`Ring::push`]. `full_while_pushed`: an unregistered push
    /// that finds the slot's previous-lap push still in flight (claimed, not yet written)
    /// reports `PushError::Full` at once rather than wait for it (module docs, "Guarantees").
    #[inline(always)]
    fn push_or_else<F>(
        &self,
        value: &mut Option<T>,
        wait_for_pop: bool,
        full_while_pushed: bool,
        on_occupied: F,
    ) -> Result<bool, PushError>
    where
        F: Fn(&mut Option<T>, u64, u64, &Slot<T>) -> Result<(), PushError>,
    {
        // Checked before any claim: a claimed slot must be written, or its position is lost.
        assert!(value.is_some(), "a push needs a value");
        // The common cases first, small enough to inline into every caller: the tail's slot
        // free and the first CAS wins, or the ring plainly full (no pop of the oldest value in
        // flight that a registered sender would wait for); anything else takes the loop, out
        // of line. (The full case inline saved a registered send future's wait a call and
        // about 50 instructions: callgrind, a current-thread runtime.)
        if FAST_PATHS {
            let TailView { word, tail, next, slot, stamp } = self.view_tail();
            if stamp == tail {
                if self.claim_position(&self.tail, word, next).is_ok() {
                    self.publish(slot, tail, value.take().expect("checked on entry"));
                    return Ok(receivers_wait(word));
                }
            } else if (stamp + self.one_lap) & POSITION_MASK == tail + 1
                && !(wait_for_pop && self.pop_in_flight(tail))
            {
                // As the loop decides for this case; `Ok` (retry) goes on in the loop.
                on_occupied(value, tail, next, slot)?;
            }
        }
        self.push_loop(value, wait_for_pop, full_while_pushed, on_occupied)
    }

    /// The push's common case: when the ring is open, the tail's slot free and the first CAS
    /// wins, claims the tail's position and returns its slot, the position and the tail word
    /// the CAS replaced (its waiter count). The caller must [`Ring::publish`] a value there.
    #[inline(always)]
    fn claim_free_tail(&self) -> Option<(&Slot<T>, u64, u64)> {
        let view = self.view_tail();
        if view.stamp != view.tail {
            return None;
        }
        self.claim_position(&self.tail, view.word, view.next).ok()?;
        Some((view.slot, view.tail, view.word))
    }

    /// The first look of a push: the tail word, its position and the next one, its slot and
    /// the slot's stamp (loaded with Acquire, as in the loop of `push_loop`).
    ///
    /// A closed ring needs no test of its own in the callers' comparisons: a closed tail
    /// carries the mark bit, which no stamp has (a stamp's index bits are at most the capacity,
    /// below `mark_bit`: the initial `start + i`, a push's `tail + 1`, a pop's next lap), so
    /// neither "free" (`stamp == tail`) nor "full" (`stamp + one_lap == tail + 1`) holds for it
    /// and the loop reports the close.
    #[inline(always)]
    fn view_tail(&self) -> TailView<'_, T> {
        // ORDERING: Relaxed; a stale tail is caught by the stamp check.
        let word = self.tail.load(Ordering::Relaxed);
        let tail = position(word);
        // Before the Acquire load, after which the compiler would read the ring's fields again.
        let next = self.advance(tail);
        let slot = self.slot(tail);
        // ORDERING: Acquire, as in the loop of `push_loop`.
        let stamp = slot.stamp.load(Ordering::Acquire);
        TailView { word, tail, next, slot, stamp }
    }

    /// Moves `index` (`head` or `tail`) from `word` to `next` (the position after the one in
    /// `word`, [`Ring::advance`]) with one CAS, keeping the waiter count in its high bits:
    /// claims the position (whose slot the caller saw ready, with an Acquire stamp load).
    /// `Err`: the CAS failed, with the current word. A claimed tail position's slot must then
    /// get a value ([`Ring::publish`]).
    #[inline(always)]
    fn claim_position(&self, index: &AtomicU64, word: u64, next: u64) -> Result<u64, u64> {
        self.claim_position_marking(index, word, next, 0)
    }

    /// [`Ring::claim_position`], also setting `mark` (0, or [`FRONT`] for a pop of `head`).
    #[inline(always)]
    fn claim_position_marking(&self, index: &AtomicU64, word: u64, next: u64, mark: u64) -> Result<u64, u64> {
        // ORDERING: Relaxed; the CAS decides ownership of the position, and the data hand-over
        // goes through the slot's stamp (the claimer's Acquire load before, its Release store
        // after). The waiter count it reads needs only the index word's modification order
        // (module docs). A claim that sets the front mark is Release: it heads the release
        // sequence of `head` (every write of `head` is an RMW) through which a later pop that
        // reads the mark, and then issues an Acquire fence, synchronises with it (module
        // docs, "The front mark").
        let success = if mark != 0 { Ordering::Release } else { Ordering::Relaxed };
        index.compare_exchange_weak(word, next | (word & !POSITION_MASK) | mark, success, Ordering::Relaxed)
    }

    /// Writes `value` into the slot of position `tail`, which the caller claimed, and publishes
    /// it to the consumers.
    #[inline(always)]
    fn publish(&self, slot: &Slot<T>, tail: u64, value: T) {
        // SAFETY: the caller's claim of position `tail` (a CAS won while the slot's stamp said
        // "empty") gives this thread the slot until the stamp store below; the previous value
        // was moved out (the claimer's Acquire stamp load).
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        slot.value.with_mut(|cell| unsafe { cell.cast::<T>().write(value) });
        // ORDERING: Release publishes the value to the consumer's Acquire stamp load.
        slot.stamp.store(tail + 1, Ordering::Release);
    }

    /// The push loop of [`Ring::push_or_else`], for everything but a first claim that wins.
    #[inline(never)]
    fn push_loop<F>(
        &self,
        value: &mut Option<T>,
        wait_for_pop: bool,
        full_while_pushed: bool,
        on_occupied: F,
    ) -> Result<bool, PushError>
    where
        F: Fn(&mut Option<T>, u64, u64, &Slot<T>) -> Result<(), PushError>,
    {
        let backoff = Backoff::new();
        // ORDERING: Relaxed; a stale tail is caught by the stamp check below.
        let mut word = self.tail.load(Ordering::Relaxed);
        loop {
            let tail = position(word);
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed);
            }
            let new_tail = self.advance(tail);
            let slot = self.slot(tail);
            // ORDERING: Acquire pairs with the consumer's Release stamp store: the previous
            // value has been moved out before we overwrite the slot.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // The slot is free for position `tail`: claim it, keeping the waiter count.
                match self.claim_position(&self.tail, word, new_tail) {
                    Ok(_) => {
                        self.publish(slot, tail, value.take().expect("checked on entry"));
                        return Ok(receivers_wait(word));
                    }
                    Err(current) => {
                        word = current;
                        backoff.spin();
                    }
                }
            } else if (stamp + self.one_lap) & POSITION_MASK == tail + 1 {
                // The slot still holds the value from the previous lap: the ring is full, or a
                // pop of that value is in flight (module docs: reported as full unless the
                // caller is a registered sender, which waits for the pop to finish).
                if wait_for_pop && self.pop_in_flight(tail) {
                    // Wait for that pop's stamp store, then start over.
                    // ORDERING: Acquire, as the stamp load above.
                    while slot.stamp.load(Ordering::Acquire) == stamp {
                        backoff.snooze();
                    }
                } else {
                    on_occupied(value, tail, new_tail, slot)?;
                    backoff.spin();
                }
                // ORDERING: Relaxed, as above.
                word = self.tail.load(Ordering::Relaxed);
            } else if full_while_pushed && !wait_for_pop && stamp == self.lap_back(tail) {
                // The push of the previous lap's position claimed this slot and is still
                // writing it: the ring is full (that value is on its way). Not a stale tail: a
                // push past `tail` needed the slot freed, and stamps only grow. Reported at
                // once, never waited for (module docs, "Guarantees"; found by review: it was
                // taken for a stale tail and waited out). A registered sender waits below, as
                // before: the full ring's next pop notifies it either way.
                return Err(PushError::Full);
            } else {
                // Another producer claimed `tail` and moved on: our tail is stale (or, for a
                // registered sender or `force_push`, a push of the previous lap is in flight).
                backoff.snooze();
                // ORDERING: Relaxed, as above.
                word = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a pop has claimed the oldest value, which sits in the slot of position `tail`
    /// from the previous lap: `head` has moved past that value's position.
    #[inline]
    fn pop_in_flight(&self, tail: u64) -> bool {
        // ORDERING: Relaxed: a registered sender's load follows its registration RMW on `head`,
        // so it sees every pop that claimed before the registration (module docs, "Waiting
        // parties"); the slot itself is handed over by its stamp.
        position(self.head.load(Ordering::Relaxed)) != self.lap_back(tail)
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
        self.pop(false).ok().map(|(value, _)| value)
    }

    /// Whether [`Ring::pop`] of a `T` takes the inline fast path (not under loom, and only
    /// for values of at most `INLINE_POP_MAX_SIZE` bytes). Larger values the channel pops with
    /// [`Ring::pop_into`].
    pub(crate) const POPS_INLINE: bool = FAST_PATHS && std::mem::size_of::<T>() <= INLINE_POP_MAX_SIZE;

    /// [`Ring::try_pop`] for the channel: also returns what the pop saw of `head` (whether the
    /// claim saw a waiting sender, then the caller must notify; the front mark), also when the
    /// ring was empty (`Err`). With `registered` (the caller is a receiver counted in `tail`),
    /// a position whose push is in flight is waited for instead of reported as empty.
    #[inline]
    pub(crate) fn pop(&self, registered: bool) -> Result<(T, PopReport), PopReport> {
        // The common cases first, small enough to inline into every caller: the head's slot
        // holds its value and the first claim wins, or it is plainly empty. Anything else takes
        // the loop, out of line. Only for small values (`INLINE_POP_MAX_SIZE`). Two calls and
        // no value of our own: in an unoptimised build a large `T` popped through here then
        // costs no stack slot in this frame.
        if Self::POPS_INLINE {
            return self.pop_small(registered);
        }
        self.pop_loop_value(registered)
    }

    /// [`Ring::pop`] into `popped` (a `None` the caller owns, left `None` when nothing was
    /// popped): `Ok` when a value was. For large values in unoptimised builds, where every
    /// frame a returned `T` passes through holds a copy of it: a waiting receive asks for the
    /// value through four frames (`Chan::try_recv_into`).
    #[inline]
    pub(crate) fn pop_into(&self, registered: bool, popped: &mut Option<T>) -> Result<PopReport, PopReport> {
        if Self::POPS_INLINE {
            return self.pop_small_into(registered, popped);
        }
        self.pop_loop::<false>(registered, popped)
    }

    /// [`Ring::pop_into`] for the channel's fill of an async receive's request (module docs,
    /// "The front mark"): the claim also sets the front mark, with Release. Never inline: a
    /// fill is a wait's slow path.
    pub(crate) fn pop_marking_front(
        &self,
        registered: bool,
        popped: &mut Option<T>,
    ) -> Result<PopReport, PopReport> {
        self.pop_loop::<true>(registered, popped)
    }

    /// Clears the front mark (the value it announced has left the parked receive).
    #[cold]
    pub(crate) fn clear_front(&self) {
        // ORDERING: Relaxed: only the modification order of `head` matters. A pop ordered
        // before this RMW reads the mark and looks at the parked receive (finding its value
        // gone, it does nothing more); one ordered after it popped a younger value than the
        // one that left, which is not in the parked receive any more (module docs).
        self.head.fetch_and(!FRONT, Ordering::Relaxed);
    }

    /// [`Ring::pop_into`] for small values. A function of its own: in an unoptimised build its
    /// `T` temporaries would otherwise take room in `pop_into`'s frame for every `T`.
    #[inline]
    fn pop_small_into(&self, registered: bool, popped: &mut Option<T>) -> Result<PopReport, PopReport> {
        match self.pop_small(registered) {
            Ok((value, report)) => {
                *popped = Some(value);
                Ok(report)
            }
            Err(report) => Err(report),
        }
    }

    /// [`Ring::pop`] for small values: the first look inline, then the loop. `#[inline]`, not
    /// `always`: an unoptimised build inlines `always` functions, and their temporaries would
    /// be in `pop`'s frame for every `T`; optimised builds inline this one (one call site).
    #[inline]
    fn pop_small(&self, registered: bool) -> Result<(T, PopReport), PopReport> {
        // ORDERING: Relaxed; a stale head is caught by the stamp check.
        let word = self.head.load(Ordering::Relaxed);
        let head = position(word);
        // Before the Acquire load, as in `view_tail`.
        let claim = self.pop_claim(head);
        let slot = self.slot(head);
        // ORDERING: Acquire, as in the loop of `pop_loop`.
        let stamp = slot.stamp.load(Ordering::Acquire);
        if stamp == head + 1 {
            let mut popped = None;
            if self.claim_for_pop(word, claim, slot, &mut popped, 0).is_ok() {
                if let Some(value) = popped {
                    return Ok((value, PopReport(word)));
                }
            }
        } else if stamp == head && !(registered && self.push_in_flight(head)) {
            // As the loop decides: empty, unless a registered receiver sees a push in flight.
            // (Inline for the registered case too: a receive future's wait then saves the two
            // calls into the loop, about 50 instructions.)
            return Err(PopReport(word));
        }
        self.pop_loop_value(registered)
    }

    /// [`Ring::pop_loop`] returning the value: one call from `pop_small`, whose own code then
    /// stays as small as the common cases need.
    #[inline(never)]
    fn pop_loop_value(&self, registered: bool) -> Result<(T, PopReport), PopReport> {
        let mut popped = None;
        let report = self.pop_loop::<false>(registered, &mut popped)?;
        Ok((popped.expect("a pop that claimed a position has its value"), report))
    }

    /// What a pop of position `head` writes: the next head, and the slot's stamp for the next
    /// lap (empty).
    #[inline(always)]
    fn pop_claim(&self, head: u64) -> PopClaim {
        PopClaim { next: self.advance(head), emptied: (head + self.one_lap) & POSITION_MASK }
    }

    /// Claims the head position of `word`, whose slot holds its value (its stamp said so,
    /// loaded with Acquire), with a CAS of `head` to `claim.next`, and moves the value into
    /// `popped` (a `None`), also setting `mark` in `head` (0 or [`FRONT`]). `Err`: the CAS
    /// failed, with the current word.
    #[inline(always)]
    fn claim_for_pop(
        &self,
        word: u64,
        claim: PopClaim,
        slot: &Slot<T>,
        popped: &mut Option<T>,
        mark: u64,
    ) -> Result<(), u64> {
        self.claim_position_marking(&self.head, word, claim.next, mark)?;
        // Written in place, inside the closure: no `T` comes back through `with` (a copy per
        // frame when unoptimised).
        // SAFETY: winning the CAS for the head position of `word` while its slot's stamp said
        // "full" gives this thread the slot until the stamp store below; the value was
        // initialised before the producer's Release store (the caller's Acquire load).
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        slot.value.with(|cell| *popped = Some(unsafe { cell.cast::<T>().read() }));
        // ORDERING: Release: our read of the value happens before the next producer (Acquire
        // stamp load) overwrites the slot.
        slot.stamp.store(claim.emptied, Ordering::Release);
        Ok(())
    }

    /// The pop loop of [`Ring::pop`], for everything but the first look's common cases: as
    /// [`Ring::pop_into`]; with `MARK_FRONT`, [`Ring::pop_marking_front`].
    #[inline(never)]
    fn pop_loop<const MARK_FRONT: bool>(
        &self,
        registered: bool,
        popped: &mut Option<T>,
    ) -> Result<PopReport, PopReport> {
        let mark = if MARK_FRONT { FRONT } else { 0 };
        let backoff = Backoff::new();
        // ORDERING: Relaxed; a stale head is caught by the stamp check below.
        let mut word = self.head.load(Ordering::Relaxed);
        loop {
            let head = position(word);
            let slot = self.slot(head);
            // ORDERING: Acquire pairs with the producer's Release stamp store: the value is
            // initialised before we read it.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // The slot holds the value for position `head`: claim it, keeping the count.
                match self.claim_for_pop(word, self.pop_claim(head), slot, popped, mark) {
                    Ok(()) => return Ok(PopReport(word)),
                    Err(current) => {
                        word = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Not written for this lap yet: empty, or the push that claimed `head` is
                // still writing (module docs: reported as empty unless the caller is a
                // registered receiver, which waits for the push to finish). A stale `head`
                // lands here only through a stale stamp; the reload below catches it.
                if !(registered && self.push_in_flight(head)) {
                    return Err(PopReport(word));
                }
                // Wait for that push's stamp store, then start over (another receiver may take
                // the value first).
                // ORDERING: Acquire, as the stamp load above.
                while slot.stamp.load(Ordering::Acquire) == head {
                    backoff.snooze();
                }
                // ORDERING: Relaxed, as above.
                word = self.head.load(Ordering::Relaxed);
            } else if !registered && (stamp + self.one_lap) & POSITION_MASK == head + 1 {
                // The pop of the previous lap's position claimed this slot and is still reading
                // it: nothing is written for `head` yet (the slot is not free), so empty. Not a
                // stale head: a pop past `head` needed this lap's value, and stamps only grow.
                // Reported at once, never waited for (module docs, "Guarantees"; found by review:
                // it was taken for a stale head and waited out).
                return Err(PopReport(word));
            } else {
                // Another consumer took `head` and moved on: our head is stale (or, for a
                // registered receiver, a pop of the previous lap is in flight).
                backoff.snooze();
                // ORDERING: Relaxed, as above.
                word = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Whether a push has claimed position `head`: `tail` has moved past it.
    #[inline]
    fn push_in_flight(&self, head: u64) -> bool {
        // ORDERING: Relaxed: a registered receiver's load follows its registration RMW on
        // `tail`, so it sees every push that claimed before the registration (module docs,
        // "Waiting parties"); the value itself is handed over by the slot's stamp.
        position(self.tail.load(Ordering::Relaxed)) & !self.mark_bit != head
    }

    /// Counts the calling receiver among those waiting for a value (in `tail`), so that every
    /// push that claims a position after this call reports it. Call before the first pop that
    /// may precede a sleep; [`Ring::deregister_receiver`] once after the wait.
    #[cold]
    pub(crate) fn register_receiver(&self) {
        register(&self.tail);
    }

    /// Undoes [`Ring::register_receiver`] (a saturated count stays saturated).
    #[cold]
    pub(crate) fn deregister_receiver(&self) {
        deregister(&self.tail);
    }

    /// Counts the calling sender among those waiting for room (in `head`); as
    /// [`Ring::register_receiver`].
    #[cold]
    pub(crate) fn register_sender(&self) {
        register(&self.head);
    }

    /// Undoes [`Ring::register_sender`] (a saturated count stays saturated).
    #[cold]
    pub(crate) fn deregister_sender(&self) {
        deregister(&self.head);
    }

    /// The waiting receivers and waiting senders counted in the index words (loom models check
    /// that every wait leaves its count).
    #[cfg(loom)]
    pub(crate) fn waiting_counts(&self) -> (u64, u64) {
        // ORDERING: Relaxed: the models call it after joining every thread.
        (waiters(self.tail.load(Ordering::Relaxed)), waiters(self.head.load(Ordering::Relaxed)))
    }

    /// Whether the front mark is set (loom models check that every front value's take cleared
    /// it).
    #[cfg(loom)]
    pub(crate) fn front_is_marked(&self) -> bool {
        // ORDERING: Relaxed: the models call it after joining every thread.
        self.head.load(Ordering::Relaxed) & FRONT != 0
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
            let tail = position(self.tail.load(Ordering::Relaxed));
            // ORDERING: Relaxed, as above.
            let head = position(self.head.load(Ordering::Relaxed));
            // ORDERING: Relaxed, as above.
            if position(self.tail.load(Ordering::Relaxed)) == tail {
                let tail = tail & !self.mark_bit;
                // Indices are below the capacity, a `usize`: the casts are lossless.
                let index = |p: u64| (p & self.index_mask) as usize;
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

/// Adds one waiting party to the count in `word` (see [`Ring::register_receiver`]); a
/// saturated count stays as it is.
fn register(word: &AtomicU64) {
    // ORDERING: Relaxed: only the modification order of the word matters (module docs,
    // "Waiting parties"): a CAS ordered after this RMW reads the count, and the caller's later
    // loads of the word see every CAS ordered before it.
    let _ = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
        (waiters(current) < WAITER_MAX).then(|| current + ONE_WAITER)
    });
}

/// Removes one waiting party from the count in `word`, unless the count is saturated (then
/// nobody knows how many wait, and it stays saturated for good).
fn deregister(word: &AtomicU64) {
    // ORDERING: Relaxed, as in `register`. A CAS that still reads our count only costs its
    // caller a spare notification.
    let _ = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
        let count = waiters(current);
        // Checked in loom builds too (they run optimised): an extra deregistration (say, a
        // woken future uncounted twice) would silently uncount another waiting party.
        if cfg!(any(debug_assertions, loom)) {
            assert!(count > 0, "deregistered more waiting parties than registered");
        }
        (count != 0 && count < WAITER_MAX).then(|| current - ONE_WAITER)
    });
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if std::mem::needs_drop::<T>() {
            self.drop_values();
        }
    }
}

impl<T> Ring<T> {
    /// Drops the values left, in place. `&mut self`: no other thread can touch the ring, so the
    /// values are exactly the positions from head to tail. In place rather than popped: a popped
    /// `T` would need a `T`-sized stack temporary (a stack overflow for large `T`; in debug
    /// builds a function reserves its temporaries' space even when it never uses them, hence
    /// this separate function). If one value's `Drop` panics, the guard drops the rest during
    /// the unwind (as `Vec` does).
    fn drop_values(&mut self) {
        struct DropRest<'a, T> {
            ring: &'a Ring<T>,
            next: u64,
            tail: u64,
        }
        impl<T> DropRest<'_, T> {
            fn drop_all(&mut self) {
                while self.next != self.tail {
                    let slot = self.ring.slot(self.next);
                    self.next = self.ring.advance(self.next);
                    // SAFETY: every position from head to tail holds an initialised value (no
                    // operation is in flight: `&mut` ring), dropped exactly once since `next`
                    // moved past it first.
                    slot.value.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
                }
            }
        }
        impl<T> Drop for DropRest<'_, T> {
            fn drop(&mut self) {
                self.drop_all(); // nothing left after a normal finish; the rest after a panic
            }
        }
        // ORDERING: `&mut self`: no other thread exists; Relaxed is enough. The tail's mark bit
        // (closed) is not part of its position.
        let tail = position(self.tail.load(Ordering::Relaxed)) & !self.mark_bit;
        // ORDERING: as above.
        let head = position(self.head.load(Ordering::Relaxed));
        let mut rest = DropRest { ring: self, next: head, tail };
        rest.drop_all();
    }
}

impl<T> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring").field("len", &self.len()).field("capacity", &self.capacity()).finish()
    }
}

/// The values of a ring, oldest first, taking it by value (as crossbeam's `ArrayQueue`).
///
/// # Examples
///
/// ```
/// use ringfence::ring::Ring;
///
/// let ring = Ring::new(4);
/// for n in 1..=3 {
///     ring.try_push(n).unwrap();
/// }
/// let values: Vec<u32> = ring.into_iter().collect();
/// assert_eq!(values, [1, 2, 3]);
/// ```
impl<T> IntoIterator for Ring<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { ring: self }
    }
}

/// The owning iterator of a [`Ring`] ([`Ring::into_iter`](IntoIterator::into_iter)): pops the
/// values oldest first; the ones not taken are dropped with it.
///
/// # Examples
///
/// ```
/// use ringfence::ring::Ring;
///
/// let ring = Ring::new(2);
/// ring.try_push("a").unwrap();
/// ring.try_push("b").unwrap();
/// let mut values = ring.into_iter();
/// assert_eq!(values.len(), 2);
/// assert_eq!(values.next(), Some("a"));
/// assert_eq!(values.len(), 1);
/// ```
pub struct IntoIter<T> {
    ring: Ring<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        // The ring is owned: no other thread pushes or pops, so empty means done.
        self.ring.try_pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.ring.len();
        (len, Some(len))
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T> std::iter::FusedIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter").field("len", &self.ring.len()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Wraparound of the positions at 2^48: a ring that starts a few laps before the wrap.

    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Capacities to drive through the wrap: the smallest ones (capacity 1 wraps first: after
    /// `2^48 / 4` operations), powers of two and not, and one whose lap is 4096 positions.
    const CAPACITIES: [usize; 7] = [1, 2, 3, 5, 7, 1000, 1024];
    /// How many laps before the wrap a test ring starts.
    const LAPS_BEFORE_WRAP: u64 = 3;
    /// How many laps of pushes each scenario makes: well past the wrap.
    const LAPS_PUSHED: usize = 3 * LAPS_BEFORE_WRAP as usize;

    /// A ring whose `head`, `tail` and stamps start at index 0 of the lap `laps` laps before the
    /// positions wrap around to 0.
    fn ring_before_wrap<T>(capacity: usize, laps: u64) -> Ring<T> {
        let ring = Ring::try_new_at_lap(capacity, laps.wrapping_neg()).expect("a small capacity");
        let start = (POSITION_MASK + 1) - laps * ring.one_lap;
        assert_eq!(raw_positions(&ring), (start, start));
        for (i, slot) in ring.slots.iter().enumerate() {
            // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
            assert_eq!(slot.stamp.load(Ordering::Relaxed), start + i as u64, "slot {i} starts empty");
        }
        ring
    }

    /// The raw `(head, tail)` positions.
    fn raw_positions<T>(ring: &Ring<T>) -> (u64, u64) {
        // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
        (position(ring.head.load(Ordering::Relaxed)), position(ring.tail.load(Ordering::Relaxed)))
    }

    /// Hands out values with ids and counts how often each was dropped.
    #[derive(Debug, Default)]
    struct Drops(RefCell<Vec<u32>>);

    impl Drops {
        fn value(&self) -> Tracked<'_> {
            let mut drops = self.0.borrow_mut();
            drops.push(0);
            Tracked { id: drops.len() - 1, drops: self }
        }

        fn assert_each_dropped_once(&self, capacity: usize) {
            let drops = self.0.borrow();
            let wrong: Vec<_> = drops.iter().enumerate().filter(|(_, n)| **n != 1).collect();
            assert!(wrong.is_empty(), "capacity {capacity}: (id, drops) not dropped once: {wrong:?}");
        }
    }

    #[derive(Debug)]
    struct Tracked<'a> {
        id: usize,
        drops: &'a Drops,
    }

    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.drops.0.borrow_mut()[self.id] += 1;
        }
    }

    /// The ring agrees with `model` (the ids it holds, oldest first) on `len`, `is_empty` and
    /// `is_full`, and a position that wrapped has not carried into the waiting-parties counts
    /// (a standalone ring never counts anyone).
    fn assert_len<T>(ring: &Ring<T>, model: &VecDeque<usize>) {
        assert_eq!(ring.len(), model.len());
        assert_eq!(ring.is_empty(), model.is_empty());
        assert_eq!(ring.is_full(), model.len() == ring.capacity());
        // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
        assert_eq!(waiters(ring.head.load(Ordering::Relaxed)), 0, "no sender counted in head");
        // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
        assert_eq!(waiters(ring.tail.load(Ordering::Relaxed)), 0, "no receiver counted in tail");
    }

    /// Asserts that both positions have wrapped: they started `LAPS_BEFORE_WRAP` laps below
    /// 2^48 and are now a few laps above 0.
    fn assert_wrapped<T>(ring: &Ring<T>) {
        let (head, tail) = raw_positions(ring);
        let start = (POSITION_MASK + 1) - LAPS_BEFORE_WRAP * ring.one_lap;
        let limit = LAPS_PUSHED as u64 * ring.one_lap;
        assert!(tail < limit && tail < start, "capacity {}: tail {tail:#x} did not wrap", ring.capacity());
        assert!(head < limit && head < start, "capacity {}: head {head:#x} did not wrap", ring.capacity());
    }

    /// A deterministic sequence of small numbers (a 64-bit LCG, high bits).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn try_push_and_try_pop_keep_fifo_order_through_the_position_wrap() {
        for capacity in CAPACITIES {
            let drops = Drops::default();
            let ring = ring_before_wrap(capacity, LAPS_BEFORE_WRAP);
            let mut model = VecDeque::new();
            let mut pushed = 0;
            let mut random = Lcg(capacity as u64);
            let mut round = 0;
            while pushed < LAPS_PUSHED * capacity {
                // Bursts of up to one more than the capacity, so the ring runs full (and
                // refuses) and runs empty; every fourth round fills or drains it completely.
                let pushes = if round % 4 == 0 { capacity + 1 } else { random.below(capacity + 2) };
                for _ in 0..pushes {
                    let value = drops.value();
                    let id = value.id;
                    // `force_push` with room is a plain push: use it for every third value
                    // that has room.
                    let result = if id % 3 == 0 && model.len() < capacity {
                        ring.force_push(value).map_or(Ok(()), |_| panic!("force_push overwrote"))
                    } else {
                        ring.try_push(value)
                    };
                    match result {
                        Ok(()) => {
                            assert!(model.len() < capacity, "capacity {capacity}: pushed into a full ring");
                            model.push_back(id);
                            pushed += 1;
                        }
                        Err(back) => {
                            assert_eq!(model.len(), capacity, "capacity {capacity}: refused with room");
                            assert_eq!(back.id, id, "the refused value comes back");
                        }
                    }
                    assert_len(&ring, &model);
                }
                let pops = if round % 4 == 2 { capacity + 1 } else { random.below(capacity + 2) };
                for _ in 0..pops {
                    let popped = ring.try_pop().map(|value| value.id);
                    assert_eq!(popped, model.pop_front(), "capacity {capacity}: FIFO order");
                    assert_len(&ring, &model);
                }
                round += 1;
            }
            // Drain, so that `head` has wrapped as well as `tail`.
            while let Some(value) = ring.try_pop() {
                assert_eq!(Some(value.id), model.pop_front(), "capacity {capacity}: FIFO order");
            }
            assert!(model.is_empty());
            assert_len(&ring, &model);
            assert_wrapped(&ring);
            // One more lap after the drain: values still go in and come out at the new lap.
            for _ in 0..capacity {
                let value = drops.value();
                model.push_back(value.id);
                ring.try_push(value).expect("room after the drain");
            }
            assert!(ring.is_full());
            drop(ring); // drops what is left
            drops.assert_each_dropped_once(capacity);
        }
    }

    #[test]
    fn force_push_overwrites_the_oldest_through_the_position_wrap() {
        for capacity in CAPACITIES {
            let drops = Drops::default();
            let ring = ring_before_wrap(capacity, LAPS_BEFORE_WRAP);
            let mut model = VecDeque::new();
            for _ in 0..capacity {
                let value = drops.value();
                model.push_back(value.id);
                assert!(ring.force_push(value).is_none(), "capacity {capacity}: room left");
            }
            assert_len(&ring, &model);
            // Full all the way: every push overwrites, and hands back, the oldest value.
            for _ in 0..LAPS_PUSHED * capacity {
                let value = drops.value();
                model.push_back(value.id);
                let oldest = ring.force_push(value).map(|old| old.id);
                assert_eq!(oldest, model.pop_front(), "capacity {capacity}: the oldest value comes back");
                assert_len(&ring, &model);
            }
            assert_wrapped(&ring);
            // Half of it popped in order; the rest is dropped with the ring.
            for _ in 0..capacity.div_ceil(2) {
                assert_eq!(ring.try_pop().map(|value| value.id), model.pop_front(), "capacity {capacity}");
                assert_len(&ring, &model);
            }
            drop(ring);
            drops.assert_each_dropped_once(capacity);
        }
    }

    #[test]
    fn capacity_one_crosses_the_wrap_one_value_at_a_time() {
        // Capacity 1 has the shortest lap (4 positions): the wrap happens at `2^46` pushes. Step
        // through it, checking the raw positions and the stamps at each step.
        let ring = ring_before_wrap::<u64>(1, 2);
        let wrap = POSITION_MASK + 1;
        let mut expected = wrap - 2 * ring.one_lap;
        for value in 0..6 {
            // The whole words: the position, and no waiting parties above it.
            // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
            let words = (ring.head.load(Ordering::Relaxed), ring.tail.load(Ordering::Relaxed));
            assert_eq!(words, (expected, expected));
            assert_eq!(ring.try_push(value), Ok(()));
            assert_eq!(ring.try_push(99), Err(99));
            assert!(ring.is_full());
            // ORDERING: Relaxed: a single-threaded test reading its own ring's words.
            assert_eq!(ring.slots[0].stamp.load(Ordering::Relaxed), expected + 1, "full at {expected:#x}");
            assert_eq!(ring.try_pop(), Some(value));
            assert_eq!(ring.try_pop(), None);
            assert!(ring.is_empty());
            expected = (expected + ring.one_lap) % wrap;
        }
        // Six laps from two before the wrap: four laps past it.
        assert_eq!(expected, 4 * ring.one_lap);
    }

    /// A closed ring refuses every push, whatever its tail's index, in the laps around the
    /// position wrap (the push's fast path relies on no stamp carrying the mark bit instead of
    /// testing the mark), and pops drain what it held, in order.
    #[test]
    fn a_closed_ring_refuses_pushes_at_every_index_and_drains_in_order() {
        for capacity in CAPACITIES {
            for filled in 0..=capacity {
                // The last two laps before the position wrap, and the first after it.
                for laps in 0..3 {
                    let ring = ring_before_wrap::<usize>(capacity, 2);
                    // Move the tail to every index: `laps` laps and `filled` more positions.
                    for i in 0..laps * capacity {
                        ring.try_push(i).expect("room");
                        assert_eq!(ring.try_pop(), Some(i));
                    }
                    for i in 0..filled {
                        ring.try_push(i).expect("room");
                    }
                    assert!(ring.close(), "the first close closes");
                    assert!(!ring.close(), "a second close reports it was closed");
                    let mut value = Some(usize::MAX);
                    assert_eq!(ring.push(&mut value, false), Err(PushError::Closed), "capacity {capacity}");
                    assert_eq!(value, Some(usize::MAX), "a refused push keeps its value");
                    for i in 0..filled {
                        assert_eq!(ring.try_pop(), Some(i), "capacity {capacity}: drains in order");
                    }
                    assert_eq!(ring.try_pop(), None);
                    let mut value = Some(usize::MAX);
                    assert_eq!(ring.push(&mut value, false), Err(PushError::Closed), "drained, still closed");
                    assert_eq!(ring.push_fast(7), Err(7), "the fast path refuses too");
                }
            }
        }
    }

    /// `try_push` and `try_pop` report full and empty at once while the previous lap's push or
    /// pop of their slot is in flight (claimed, its stamp not yet stored), for every capacity:
    /// they waited for it, taking it for a stale position (found by review). The in-flight
    /// operation is made by hand here, so nothing is timed. Run on a thread of its own under a
    /// watchdog: the old code spun for ever.
    #[test]
    fn try_calls_never_wait_for_an_operation_of_the_previous_lap() {
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for capacity in CAPACITIES {
                let ring = Ring::new(capacity);
                for i in 0..capacity as u64 - 1 {
                    ring.try_push(i).unwrap();
                }
                // The push that fills the ring claims its position and has not written it.
                let (slot, tail, _) = ring.claim_free_tail().expect("the last free slot");
                assert_eq!(ring.try_push(99), Err(99), "capacity {capacity}: a push in flight");
                ring.publish(slot, tail, capacity as u64 - 1);
                // Empty the ring but the last value, then a pop claims the last value's position
                // and has not moved it out yet.
                for i in 0..capacity as u64 - 1 {
                    assert_eq!(ring.try_pop(), Some(i));
                }
                // ORDERING: Relaxed: one thread; the claim below is the pop's own CAS.
                let word = ring.head.load(Ordering::Relaxed);
                let head = position(word);
                let claim = ring.pop_claim(head);
                ring.claim_position(&ring.head, word, claim.next).expect("nobody else pops");
                if capacity == 1 {
                    // Its slot is the one the next position maps to: the previous lap's pop is
                    // in flight there.
                    assert_eq!(ring.try_pop(), None, "capacity {capacity}: a pop in flight");
                }
                // Finish that pop by hand: move the value out and free the slot.
                let slot = ring.slot(head);
                // SAFETY: the claim above gave this thread the slot, which holds the value
                // published for `head`.
                let value = slot.value.with(|cell| unsafe { cell.cast::<u64>().read() });
                assert_eq!(value, capacity as u64 - 1);
                // ORDERING: Release, as the pop's own stamp store (`claim_for_pop`).
                slot.stamp.store(claim.emptied, Ordering::Release);
                assert_eq!(ring.try_pop(), None);
                assert_eq!(ring.len(), 0);
            }
            done.send(()).unwrap();
        });
        finished.recv_timeout(std::time::Duration::from_secs(60)).expect("a try call waited for ever");
    }
}
