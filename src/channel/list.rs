//! The unbounded flavor's queue: a lock-free linked list of fixed-size blocks.
//!
//! # Algorithm
//!
//! The list flavor of crossbeam-channel (`crossbeam-channel/src/flavors/list.rs`, itself after
//! Vyukov's and the "FAA queue" family): values live in blocks of [`BLOCK_CAP`] slots chained by
//! `next` pointers. `head` and `tail` are *positions* that count slots; each block covers one
//! *lap* of [`LAP`] positions, of which the last one (offset `BLOCK_CAP`) is never a slot: a
//! position there means "the end of this block is being crossed" and whoever sees it waits the
//! few instructions until the thread crossing it has installed the next block.
//!
//! - **Push**: claim position `tail` with a CAS, write the value into its slot, set the slot's
//!   `written` flag (a Release store: one locked instruction per push, the CAS; crossbeam sets a
//!   bit with a second RMW). The sender that claims a block's last slot installs the next block
//!   (allocated *before* its CAS, so the others wait as briefly as possible).
//! - **Pop**: claim position `head` with a CAS once it is known that a sender has claimed it,
//!   then wait for the slot's `written` flag (the sender may be between its CAS and its write:
//!   a few instructions; a preempted sender makes the pop yield until it runs) and move the
//!   value out. A pop knows the position is claimed from the head word itself (`AHEAD`, the
//!   count of positions known to be claimed), else from a *peek* at the slot's `written` flag
//!   (below, "Peeks"), else from `tail` (`head != tail`). So a pop that checks `tail` never reports "empty" while a value
//!   was sent, unlike the ring, and a woken receiver always takes the value it was woken for: no
//!   chained wakeups are needed. The receiver that claims a block's last slot moves `head` to
//!   the next block. The `head != tail` check needs a tail no older than `head`: every move of
//!   `head` is a Release that carries what its receiver knew (the tail it saw, or the senders'
//!   claims that the `written` flags it acquired follow), and pops load `head` with Acquire
//!   (with Relaxed, loom found a receiver that read a stale tail behind `head` and claimed a
//!   position no sender had claimed; with the peek's `written` loads Relaxed, `len` exceeded
//!   what was sent).
//!
//! # Memory reclamation: the last slot's reader frees the block, no epoch GC
//!
//! A reader only ever touches a block after its CAS has claimed one of its slots (or pinned the
//! block for a peek, below: a pinned block is not freed either), and a block is never freed
//! before every claimed slot in it is read, so no reader can touch a freed block; senders
//! likewise touch a block only after claiming a slot in it. Each slot has a `read` flag that
//! its reader sets with a plain Release store after moving the value out (its last access to
//! the block). The reader of a block's last slot *retires* the block: if every other slot's
//! `read` flag is set (Acquire loads), every access to the block is over and it frees it at
//! once; if a reader is still busy with its slot (it claimed it and was preempted before its
//! read, or a peeker still holds a pin), the block goes onto the `retired` stack instead, and
//! every later retirement first takes that stack and frees the blocks on it whose readers have
//! finished (the others go back). Exactly one thread frees each block, after every access to
//! it.
//!
//! The cost per value is one plain store; crossbeam's protocol (which this one replaced:
//! `READ` and `DESTROY` bits, the walk handed over to a reader still busy) sets the `READ` bit
//! with an RMW on every receive, 38% of a receive's samples on the single-thread async row.
//! What it costs instead: a block left behind by a preempted reader waits for the next
//! retirement (the next block crossing) or the channel's drop, not for its reader. There are
//! at most as many such blocks as receivers inside a receive at once, whatever the traffic.
//!
//! Why not crossbeam-epoch: it defers frees to a global collector (memory returns later, and by
//! whoever next pins), costs a pin (with a fence) per operation, and is invisible to loom. This
//! scheme frees each block at its last slot's receive (or the next one's), costs no RMW per
//! receive, and every access goes through loom's cells and atomics, so the loom models check
//! the reclamation itself: a free that could race with a reader is a loom data race (the free
//! touches every value cell), a block never freed is a loom leak (each block holds a loom `Arc`
//! under `cfg(loom)`).
//!
//! **Memory returns after a burst**: drained blocks go back to the allocator, except a few:
//! the block that finishes draining is kept in one of the spare entries (`recycled`: up to
//! [`MAX_SPARES`] blocks within [`SPARE_BYTES`], at least one), and the next sender that needs a
//! block takes a spare instead of calling `malloc`; when every entry is taken, the drained block
//! is freed. An idle channel holds one block (the one `head` and `tail` are in) plus at most
//! 8 KiB of spares (one block, if a block is larger), plus, for a moment, the block a sender
//! took ahead of its CAS, plus the retired blocks still waiting for a preempted reader (at most
//! one per receiver that was inside a receive when its block was left behind); never its peak
//! (tokio's and futures' unbounded channels keep their peak: tokio #4321, futures-rs #2052).
//! Why recycle: without it every block is allocated by a sender and freed by a receiver, and
//! the two threads meet on the sender's malloc arena lock about once per block: `perf` on the
//! spsc benchmark showed 29% of all samples in the kernel under glibc's
//! `__lll_lock_wake_private`, 280 k futex calls per run; with one spare block, 5.9 k. (An
//! earlier one-spare cache, tried when every send still paid the notify fence, measured worse and
//! was dropped; measured again after the fence-free sends, it helps: mpmc 4:4 from 30-33 to 24
//! ns per value, the other rows level or better.) Why several: with more senders than cores the
//! backlog swings by several blocks, and one spare left mpmc 2:2 with 13% of its samples on the
//! arena lock and 66 k futex calls per 4:4 run; with eight, 2.5% and 25 k.
//!
//! # Peeks: receives that do not read `tail`
//!
//! Every push CASes `tail`. A receiver that reads `tail` to learn whether a value is there
//! takes the word's cache line away from the senders, and on x86 the sender's next CAS then
//! waits for the line to come back: a cross-core round trip per message. A receiver faster
//! than its sender catches up and reads `tail` on every receive, which slows the sender, so it
//! stays caught up: on the 2-core Intel VM the spsc benchmark ran at 77-150 ns per message in
//! that regime and at 31 ns when the receiver happened to lag (std's `mpsc`, the same list with
//! a slower receive, lags and ran at 35-39). The value's own slot has to travel to the receiver
//! anyway, so a pop that does not know its position is claimed looks at the slot's `written`
//! flag instead (`List::peek`), and at the slots after it while it is there: a run of written
//! slots goes into `head`'s `AHEAD` count, and the next pops claim those positions without
//! looking at all (one CAS each). `tail` is read only when the slot is not
//! written, to tell "empty" from "a sender is still writing" (`EmptyCheck::Tail`); the
//! unregistered polls of a blocking receive skip even that (`EmptyCheck::Slot`: they only
//! decide whether to look again, and the wait's registered polls, the only ones before a
//! sleep, check `tail` as the waiting protocol requires). Measured there: spsc 21-28 ns per
//! message, unbounded ping-pong 314-325 ns per round trip instead of 750-810.
//!
//! A peek reads a slot it has not claimed, in a block that other receivers could drain and
//! free meanwhile, so the peeker *pins* the block first: it adds itself to the peekers count in
//! `head` with a CAS (so `head`'s position is still the one it looked at, and the block still
//! `head`'s). The peek then ends one of three ways:
//!
//! - it saw the slot written and claims the position with its next CAS, which takes the pin
//!   out with it;
//! - it saw nothing and takes its pin back out of the count with a Release CAS, if the position
//!   is still unclaimed;
//! - another receiver claimed the position first. Every claim replaces a head word that
//!   carries the peekers count, so the claimer knows exactly how many peekers it displaced and
//!   *hands their pins to the block* (`Block::pins`, an add before its `read` store), and each
//!   displaced peeker *releases* its pin from the block (a Release subtract, its last access).
//!   The count may dip below zero for a moment, when a peeker releases before the claimer has
//!   handed over; it is never read as zero while a peeker is inside, because `is_drained`
//!   reads it after acquiring every `read` flag, hence after every hand-over.
//!
//! A block whose pins are not all released is not drained: its last slot's reader retires it
//! onto the `retired` stack as for a reader still busy (below), and a later retirement or the
//! drop frees it. The peeks that ended with an unpin in `head` are ordered before the free by
//! the claim of the block's last slot, an AcqRel CAS: `head`'s modifications from the unpin to
//! that claim are all RMWs (the crossing store comes after it), so the claim acquires the
//! unpin's release sequence. Nobody pins at a crossing position, so the crossing store
//! overwrites no count. The count has 11 bits; a receiver that finds it full does not peek (it
//! reads `tail`).
//!
//! # The index words
//!
//! `head` and `tail` are `u64`s: the position in the high bits (from bit [`SHIFT`]), flags in
//! the low bits. The position wraps around 2^47; a thread would have to stall between its load
//! and its CAS while 2^47 values (days at 100 M/s) go through to be fooled.
//!
//! | bits | in `tail` | in `head` |
//! |---|---|---|
//! | 0 (`MARK`) | closed: every later push fails (set once, by `close`) | unused (0) |
//! | 1..=5 | *waiting receivers* (bits 1..=16): receivers inside a blocking receive that may park (see below) | `AHEAD`: that many positions from `head` on are known to be claimed by senders, so their pops need not look: a run of written slots a peek saw, or every slot left in the head block once it has a successor (a sender claimed its last slot) |
//! | 6..=16 | (waiting receivers) | *peekers*: receivers peeking into the head block, each pinning it (see "Peeks") |
//! | 17..=63 | the next position to push | the next position to pop |
//!
//! # Pushes without a fence: the waiting receivers count
//!
//! A push must wake a parked receiver, and the waiting layer's handshake costs the notifier a
//! `fence(SeqCst)` (`wait.rs`), about a quarter of a send. Here the receivers that may park are
//! counted *in the tail word*, the word every push already CASes. A receiver registers (an RMW
//! on `tail`) before any poll that may precede its sleep, and re-checks after registering; it
//! deregisters after its wait ends. A push whose CAS replaces a tail with count 0 skips the
//! notification entirely: no fence, no extra load. The argument uses only the modification
//! order of `tail` (so loom checks it exactly):
//!
//! - if the push's CAS comes after a receiver's registration in that order, the CAS returns a
//!   nonzero count (only that receiver's own deregistration, after its wait, lowers it), and
//!   the push runs the full notify protocol of the waiting layer;
//! - if it comes before, every later load of `tail` by that receiver (its polls all follow its
//!   registration) sees the claimed position, so the receiver takes the value instead of
//!   sleeping.
//!
//! The count saturates: a receiver that would push it past its maximum leaves it there, and a
//! saturated count is never lowered again (pushes then always notify, which is correct, only
//! slower).
//!
//! # What is not promised
//!
//! - Lock-free, not wait-free: a pop that claimed a slot waits for its sender to finish writing
//!   it, and a push or pop that meets a block boundary being crossed waits for the crossing
//!   thread to install the next block (a few instructions each, unless that thread is preempted).
//! - FIFO per sender; values of different senders are ordered by their CAS on `tail`.

use super::chan::INLINE_PUSH_MAX_SIZE;
use crate::ring::FAST_PATHS;
use crate::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use crate::sync::{Backoff, UnsafeCell};
use crossbeam_utils::CachePadded;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

/// Positions per block: `BLOCK_CAP` slots and one "crossing to the next block" position. Under
/// loom, blocks of two slots, so that small models cross block boundaries and free blocks.
#[cfg(not(loom))]
const LAP: u64 = 32;
#[cfg(loom)]
const LAP: u64 = 3;

/// Values per block.
const BLOCK_CAP: usize = LAP as usize - 1;

/// The most drained blocks a list keeps for reuse (module docs, "Memory returns after a
/// burst"). Two under loom: enough for a model to fill one entry and use the next.
#[cfg(not(loom))]
const MAX_SPARES: usize = 8;
#[cfg(loom)]
const MAX_SPARES: usize = 2;

/// The memory budget of those spare blocks, in bytes: large payloads keep fewer of them.
const SPARE_BYTES: usize = 8 * 1024;

/// `tail`: closed (see the module docs' table).
const MARK: u64 = 1;

/// The waiting receivers count sits above the mark bit.
const WAITER_SHIFT: u32 = 1;
/// Width of the waiting receivers count: 16 bits; 2 under loom, so models stay small while two
/// waiting receivers still do not saturate it.
#[cfg(not(loom))]
const WAITER_BITS: u32 = 16;
#[cfg(loom)]
const WAITER_BITS: u32 = 2;
/// The count's saturated (sticky) value.
const WAITER_MAX: u64 = (1 << WAITER_BITS) - 1;
const ONE_WAITER: u64 = 1 << WAITER_SHIFT;
const WAITER_MASK: u64 = WAITER_MAX << WAITER_SHIFT;

/// `head`: how many positions from `head` on are known to be claimed by senders, so that their
/// pops need not look again: a run of written slots a peek found (`List::peek`), or every slot
/// left in the block once a sender has installed the next one. A block's slots fit in its 5
/// bits.
const AHEAD_SHIFT: u32 = 1;
const AHEAD_BITS: u32 = 5;
const ONE_AHEAD: u64 = 1 << AHEAD_SHIFT;
const AHEAD_MASK: u64 = ((1 << AHEAD_BITS) - 1) << AHEAD_SHIFT;

/// `head`: the receivers peeking into the head block (each pins it, `List::peek`). 11 bits; 2
/// under loom, so that a model can fill it.
const PEEKER_SHIFT: u32 = AHEAD_SHIFT + AHEAD_BITS;
#[cfg(not(loom))]
const PEEKER_BITS: u32 = 11;
#[cfg(loom)]
const PEEKER_BITS: u32 = 2;
/// The count's largest value: a receiver that finds it there does not peek.
const PEEKER_MAX: u64 = (1 << PEEKER_BITS) - 1;
const ONE_PEEKER: u64 = 1 << PEEKER_SHIFT;
const PEEKER_MASK: u64 = PEEKER_MAX << PEEKER_SHIFT;

/// Positions start here, above both words' fields.
const SHIFT: u32 = 17;
const _: () = assert!(WAITER_SHIFT + WAITER_BITS <= SHIFT && PEEKER_SHIFT + PEEKER_BITS <= SHIFT);
const _: () = assert!(BLOCK_CAP < 1 << AHEAD_BITS);
/// One position.
const ONE_POS: u64 = 1 << SHIFT;
/// The largest value (in bytes) whose pop takes the inline attempt ([`List::pop`]): the ring's
/// bound (`ring.rs`, `INLINE_POP_MAX_SIZE`), for the same reason (a larger value inlined into
/// the caller is copied on through temporaries whose pieces miss store-to-load forwarding).
const INLINE_POP_MAX_SIZE: usize = 16;

/// The position in an index word.
#[inline]
fn position(index: u64) -> u64 {
    index >> SHIFT
}

/// The slot offset of an index word in its block (`BLOCK_CAP`: crossing to the next block).
#[inline]
fn offset(index: u64) -> usize {
    // The remainder is below `LAP`, so the cast is lossless.
    (position(index) % LAP) as usize
}

/// Peeking receivers in a head word.
#[inline]
fn peekers(head: u64) -> u64 {
    (head & PEEKER_MASK) >> PEEKER_SHIFT
}

/// The head word after claiming its position, when the head word itself says that a sender
/// has claimed it (`AHEAD` is not 0): one known position fewer, and no peekers (the claimer
/// hands their pins to the block, `Block::take_pins`).
#[inline]
fn claimed_known(head: u64) -> u64 {
    (head & !PEEKER_MASK).wrapping_add(ONE_POS - ONE_AHEAD)
}

/// The `AHEAD` field saying that every position from slot `offset` to the block's last slot
/// is claimed (a sender has installed the next block: it claimed the last slot, hence all).
#[inline]
fn ahead_to_block_end(offset: usize) -> u64 {
    // Lossless: at most `BLOCK_CAP`, which fits the field.
    ((BLOCK_CAP - offset) as u64) << AHEAD_SHIFT
}

/// Waiting receivers in a tail word.
#[inline]
fn waiters(tail: u64) -> u64 {
    (tail & WAITER_MASK) >> WAITER_SHIFT
}

struct Slot<T> {
    /// 1 once the slot's sender has written the value (0 before). Set with a plain Release
    /// store: the sender is its only writer.
    written: AtomicU32,
    /// 1 once the slot's receiver has moved the value out (0 before): that receiver's last
    /// access to the block. A plain Release store too: the receiver is its only writer (module
    /// docs, "Memory reclamation").
    read: AtomicU32,
    /// Written by the sender that claimed the slot, then read once by the receiver that claimed
    /// it (after seeing `written`).
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// Waits for the sender that claimed this slot to finish writing it.
    #[inline]
    fn wait_write(&self) {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the sender's Release store of `written`: the value is
        // written before we read it.
        while self.written.load(Ordering::Acquire) == 0 {
            backoff.snooze();
        }
    }
}

/// An atomic pointer to a block: std's `AtomicPtr` (loom's under loom), so that the pointers
/// keep their provenance and Miri checks every block access against the allocation it came
/// from (`tests/unsafe_paths.rs`). Each call site's `ORDERING:` comment says what it pairs with.
type BlockPtr<T> = AtomicPtr<Block<T>>;

/// One lap of positions: `BLOCK_CAP` slots and the link to the next block.
struct Block<T> {
    /// The next block; null until the sender that claims this block's last slot installs it.
    next: BlockPtr<T>,
    /// The next block on the list's `retired` stack while this one is on it.
    retired_next: BlockPtr<T>,
    /// Pins of peeking receivers handed over by the receivers that claimed the positions they
    /// peeked at, less those released since (`List::peek`): the block is not freed while it
    /// is nonzero. It may dip below zero (wrapping) for a moment, when a peeker releases its pin
    /// before the claimer has handed it over.
    pins: AtomicU32,
    slots: [Slot<T>; BLOCK_CAP],
    /// Under loom, touched by every peek while pinned and mutably by the free and the reuse, so
    /// that a peek not ordered before them is a loom data race.
    #[cfg(loom)]
    peek_canary: UnsafeCell<()>,
    /// Under loom, a loom-tracked allocation that lives exactly as long as the block, so that a
    /// block that is never freed fails the model as a leak (a plain `Box` is invisible to loom).
    #[cfg(loom)]
    _leak_canary: crate::sync::Arc<()>,
}

impl<T> Block<T> {
    /// Allocates an empty block (its slots are written in place: a `T` array never passes
    /// through the stack).
    fn allocate() -> NonNull<Block<T>> {
        let mut block = Box::<Block<T>>::new_uninit();
        let raw = block.as_mut_ptr();
        // SAFETY: `raw` points to the uninitialised block we own; we initialise each field once
        // through raw pointers (no reference to uninitialised memory is made). The value cells
        // stay uninitialised, which `MaybeUninit` allows.
        unsafe {
            (&raw mut (*raw).next).write(BlockPtr::new(ptr::null_mut()));
            (&raw mut (*raw).retired_next).write(BlockPtr::new(ptr::null_mut()));
            (&raw mut (*raw).pins).write(AtomicU32::new(0));
            #[cfg(loom)]
            (&raw mut (*raw).peek_canary).write(UnsafeCell::new(()));
            let slots = (&raw mut (*raw).slots).cast::<Slot<T>>();
            for i in 0..BLOCK_CAP {
                // Field by field: a `Slot` value would make a `T`-sized temporary on the stack
                // in debug builds (a stack overflow for large `T`).
                let slot = slots.add(i);
                (&raw mut (*slot).written).write(AtomicU32::new(0));
                (&raw mut (*slot).read).write(AtomicU32::new(0));
                crate::sync::init_uninit_cell(&raw mut (*slot).value);
            }
            #[cfg(loom)]
            (&raw mut (*raw)._leak_canary).write(crate::sync::Arc::new(()));
        }
        // SAFETY: every field is initialised above.
        let block = unsafe { block.assume_init() };
        NonNull::from(Box::leak(block))
    }

    /// Frees a block; the values in it are not dropped.
    ///
    /// # Safety
    ///
    /// `block` came from [`Block::allocate`], every access to it by any thread happens-before
    /// this call, and nobody uses it afterwards. No slot holds a value that still needs a drop.
    unsafe fn free(block: NonNull<Block<T>>) {
        // SAFETY: the caller has exclusive ownership of the block (see `# Safety`).
        let this = unsafe { block.as_ref() };
        // Deallocation writes every byte: touch every value cell mutably so that loom checks
        // this free against every earlier read and write of the cells (a no-op in normal builds).
        for slot in &this.slots {
            slot.value.with_mut(|_| ());
        }
        #[cfg(loom)]
        this.peek_canary.with_mut(|_| ());
        // SAFETY: the pointer came from `Box::leak` in `allocate` and is freed exactly once.
        drop(unsafe { Box::from_raw(block.as_ptr()) });
    }

    /// Waits until the next block is installed and returns it.
    fn wait_next(&self) -> NonNull<Block<T>> {
        let backoff = Backoff::new();
        loop {
            // ORDERING: Acquire pairs with the installing sender's Release store: the block's
            // initialisation is visible before we read its `next` and publish it to the other
            // receivers. loom cannot observe a weakening of this pair (it does not treat a
            // loom object's creation as a write; the mutants time out in the spin here instead
            // of failing), but without it the read of `next.next` races its initialisation.
            if let Some(next) = NonNull::new(self.next.load(Ordering::Acquire)) {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Whether every slot but the last has been read and no peeker holds a pin: called by
    /// whoever holds a retired block (its last slot's reader, or a thread that took it off the
    /// `retired` stack), for which the last slot's read happens-before.
    #[inline]
    fn is_drained(&self) -> bool {
        // ORDERING: Acquire pairs with each reader's Release store of `read`: its read of the
        // value (its last access to the block) happens before the free that follows a `true`.
        // It also makes each claimer's hand-over of pins (before its `read` store) visible to
        // the `pins` load below.
        self.slots[..BLOCK_CAP - 1].iter().all(|slot| slot.read.load(Ordering::Acquire) != 0)
            // ORDERING: Acquire pairs with each peeker's Release `fetch_sub` (a release
            // sequence of RMWs): a 0 read after every hand-over means every handed-over peeker
            // has released, and its peek happens before the free that follows.
            && self.pins.load(Ordering::Acquire) == 0
    }

    /// Takes over the pins of the `peekers` counted in the `head` word that our claim of a
    /// position in this block replaced: each of those receivers releases its pin here
    /// ([`Block::release_pin`]).
    #[inline]
    fn take_pins(&self, peekers: u64) {
        if peekers != 0 {
            // Lossless: the count has `PEEKER_BITS` bits.
            // ORDERING: Relaxed: ordered before the free by our `read` store (or our own
            // retirement) after it, which `is_drained` acquires before it loads `pins`.
            self.pins.fetch_add(peekers as u32, Ordering::Relaxed);
        }
    }

    /// Releases a pin that the claimer of the peeked position hands (or has handed) to this
    /// block: the peeker's last access to it.
    fn release_pin(&self) {
        // ORDERING: Release pairs with the Acquire load of `pins` in `is_drained`: our peek
        // happens before the block's free.
        self.pins.fetch_sub(1, Ordering::Release);
    }

    /// Makes a block whose every access is over (as for [`Block::free`]) empty again: no next
    /// block, every slot flag 0.
    ///
    /// # Safety
    ///
    /// As [`Block::free`]: the caller owns the block exclusively.
    unsafe fn reset(block: NonNull<Block<T>>) {
        // SAFETY: exclusive ownership (see `# Safety`).
        let this = unsafe { block.as_ref() };
        // ORDERING: Relaxed: we own the block; the Release swap that publishes it in
        // `List::recycle` orders these stores before its next owner's use.
        this.next.store(ptr::null_mut(), Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        this.retired_next.store(ptr::null_mut(), Ordering::Relaxed);
        // `pins` is 0 already: `is_drained` saw it so (a spare block taken by a sender and
        // returned unused was never pinned).
        #[cfg(loom)]
        this.peek_canary.with_mut(|_| ());
        for slot in &this.slots {
            // As in `free`: a mutable touch of every value cell, so that loom checks the reuse
            // against every earlier read and write of the cells.
            slot.value.with_mut(|_| ());
            // ORDERING: Relaxed, as above.
            slot.written.store(0, Ordering::Relaxed);
            // ORDERING: Relaxed, as above.
            slot.read.store(0, Ordering::Relaxed);
        }
    }
}

/// How a pop that finds the head slot not written yet tells "empty" from "a sender is still
/// writing it".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EmptyCheck {
    /// `tail` says whether a sender has claimed the position; if one has, the pop waits for its
    /// write. So a pop never reports empty once a value has been sent: every pop whose "empty"
    /// reaches a caller, and every registered poll of the waiting protocol (module docs).
    Tail,
    /// The slot's `written` flag alone: a sender between its claim and its write counts as
    /// not there yet. For the unregistered polls of a blocking receive, which only decide
    /// whether to look again, and need not touch the word every send CASes (module docs,
    /// "Peeks").
    Slot,
}

/// What [`List::peek`] found.
enum Peek {
    /// The slot was written and the peek claimed its position; `head` now holds this word.
    Claimed(u64),
    /// The slot was not written (or the peekers count was full): the peek claimed nothing.
    Unknown,
    /// `head` had changed before the peek could claim (its current value, acquired).
    Moved(u64),
}

/// A block taken ahead of a push that may need it; returned (recycled) on drop unless
/// installed.
struct SpareBlock<'a, T>(&'a List<T>, Option<NonNull<Block<T>>>);

impl<T> Drop for SpareBlock<'_, T> {
    fn drop(&mut self) {
        if let Some(block) = self.1.take() {
            // SAFETY: never published (only `take`n blocks are installed): ours alone.
            unsafe { self.0.recycle(block) };
        }
    }
}

/// One end of the list: a position and the block it is in.
struct End<T> {
    index: AtomicU64,
    block: BlockPtr<T>,
}

/// The unbounded MPMC queue (see the module docs).
pub(crate) struct List<T> {
    /// Where pops happen. Padded: receivers hammer it, senders never read it.
    head: CachePadded<End<T>>,
    /// Where pushes happen. Padded: senders hammer it; receivers read it while the head block
    /// is the last one, and RMW it to register as waiting.
    tail: CachePadded<End<T>>,
    /// Blocks between their last read and their reuse or free. Padded: touched once per block
    /// crossing, by both sides.
    spares: CachePadded<Spares<T>>,
}

/// The blocks a list holds besides those between `head` and `tail`.
struct Spares<T> {
    /// Drained blocks kept for the next senders that need a block (module docs, "Memory
    /// returns after a burst"); each entry a block or null. Only the first
    /// [`List::spare_slots`] entries are used.
    recycled: [BlockPtr<T>; MAX_SPARES],
    /// A stack (linked through `Block::retired_next`) of blocks whose last slot has been read
    /// while a reader of another slot was still busy (module docs, "Memory reclamation"), or
    /// null.
    retired: BlockPtr<T>,
}

// SAFETY: a `List<T>` owns its values; moving it to another thread moves them (`T: Send`).
// Sharing `&List<T>` lets any thread push (give a `T` away) and pop (take a `T` made on another
// thread), which is again exactly `T: Send`; no `&T` is ever handed out, so `T: Sync` is not
// needed. The slot bits hand each value cell to one thread at a time.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: see the `Send` impl above.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    /// An empty list with its first block (allocated now, so no operation ever meets a list
    /// without a block).
    pub(crate) fn new() -> Self {
        let first = Block::<T>::allocate().as_ptr();
        List {
            head: CachePadded::new(End { index: AtomicU64::new(0), block: BlockPtr::new(first) }),
            tail: CachePadded::new(End { index: AtomicU64::new(0), block: BlockPtr::new(first) }),
            spares: CachePadded::new(Spares {
                recycled: std::array::from_fn(|_| BlockPtr::new(ptr::null_mut())),
                retired: BlockPtr::new(ptr::null_mut()),
            }),
        }
    }

    /// How many entries of `recycled` this list uses: as many blocks as fit in [`SPARE_BYTES`],
    /// at least one and at most [`MAX_SPARES`].
    #[inline]
    fn spare_slots() -> usize {
        (SPARE_BYTES / size_of::<Block<T>>()).clamp(1, MAX_SPARES)
    }

    /// An empty block for a sender: a recycled one if there is one, else a new one.
    #[inline]
    fn take_block(&self) -> NonNull<Block<T>> {
        for entry in &self.spares.recycled[..Self::spare_slots()] {
            // ORDERING: Relaxed: only a hint that the entry holds a block; the swap below
            // acquires what it takes.
            if entry.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // ORDERING: Acquire pairs with the Release CAS in `recycle`: the block's reset (and
            // every access before its retirement, which `recycle`'s caller acquired) happens
            // before our use of it.
            if let Some(block) = NonNull::new(entry.swap(ptr::null_mut(), Ordering::Acquire)) {
                return block;
            }
        }
        Block::allocate()
    }

    /// Keeps `block` for a later sender that needs one, or frees it when every spare entry is
    /// taken.
    ///
    /// # Safety
    ///
    /// As [`Block::free`]: every access to `block` happens-before this call, and the caller
    /// owns it exclusively.
    unsafe fn recycle(&self, block: NonNull<Block<T>>) {
        let spares = &self.spares.recycled[..Self::spare_slots()];
        // Look before resetting and CASing: while a burst drains every entry is taken, and a
        // failed CAS on each, after a reset of every slot flag, cost a block about as much as
        // its `free` (callgrind, the async unbounded row).
        // ORDERING: Relaxed: only a hint that the entry is free; the CAS below decides.
        if let Some(free_from) = spares.iter().position(|entry| entry.load(Ordering::Relaxed).is_null()) {
            // SAFETY: forwarded from the caller.
            unsafe { Block::reset(block) };
            for entry in &spares[free_from..] {
                // ORDERING: success Release publishes the reset (and, through the caller's
                // acquisitions, every earlier access) to the sender whose Acquire swap in
                // `take_block` takes it. Failure Relaxed: the entry is taken, we try the next.
                if entry
                    .compare_exchange(ptr::null_mut(), block.as_ptr(), Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
        // SAFETY: forwarded from the caller; never published.
        unsafe { Block::free(block) };
    }

    /// The reader of `block`'s last slot is done with it: recycles it if every other slot has
    /// been read, else leaves it on the `retired` stack; and first frees the retired blocks
    /// whose readers have finished since (module docs, "Memory reclamation").
    ///
    /// # Safety
    ///
    /// Called once per block, by the reader of its last slot after its read, which is then
    /// that reader's last access to the block.
    #[cold]
    unsafe fn retire(&self, block: NonNull<Block<T>>) {
        // ORDERING: Relaxed: only a hint that there is something to take; the swap below
        // acquires what it takes.
        if !self.spares.retired.load(Ordering::Relaxed).is_null() {
            // ORDERING: Acquire pairs with the Release CASes that pushed the blocks (an
            // unbroken release sequence of RMWs): each pusher's accesses, its read of the last
            // slot included, happen before ours.
            let mut taken = self.spares.retired.swap(ptr::null_mut(), Ordering::Acquire);
            while let Some(older) = NonNull::new(taken) {
                // SAFETY: the swap made the taken stack ours alone; a block on it stays alive
                // until whoever holds it frees it.
                let older_ref = unsafe { older.as_ref() };
                // ORDERING: Relaxed: written before the push that published it (acquired above).
                taken = older_ref.retired_next.load(Ordering::Relaxed);
                // SAFETY: as for our own block below (its last slot's reader published it).
                unsafe { self.recycle_or_retire(older) };
            }
        }
        // SAFETY: our read of the last slot is before this point in program order.
        unsafe { self.recycle_or_retire(block) };
    }

    /// Recycles `block` if every slot but the last has been read, else pushes it on the
    /// `retired` stack.
    ///
    /// # Safety
    ///
    /// The caller holds the block (its last slot's reader, or a thread that took it off the
    /// stack), and the last slot's read happens-before this call.
    unsafe fn recycle_or_retire(&self, block: NonNull<Block<T>>) {
        // SAFETY: held by the caller, so alive.
        let block_ref = unsafe { block.as_ref() };
        if block_ref.is_drained() {
            // SAFETY: every reader's access happens before (their `read` flags, acquired in
            // `is_drained`, and the caller's guarantee for the last slot); every sender's
            // happens before its reader's (`written`); nobody can reach the block any more.
            unsafe { self.recycle(block) };
            return;
        }
        // ORDERING: Relaxed: a first guess, checked by the CAS.
        let mut top = self.spares.retired.load(Ordering::Relaxed);
        loop {
            // ORDERING: Relaxed: published by the Release CAS below.
            block_ref.retired_next.store(top, Ordering::Relaxed);
            // ORDERING: success Release pairs with the Acquire swap in `retire` of whoever
            // takes the stack: our accesses to the block (and those we acquired) happen before
            // its free. Failure Relaxed: we only retry with the newer top. Pushes need no ABA
            // care: the stack is only ever emptied whole, never popped.
            match self.spares.retired.compare_exchange_weak(
                top,
                block.as_ptr(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => top = current,
            }
        }
    }

    /// Whether [`List::push`] of a `T` tries inline first (not under loom, and only for values
    /// of at most `INLINE_PUSH_MAX_SIZE` bytes). A constant, so that the branch not taken is not
    /// even compiled: an unoptimised build would otherwise keep the inline attempt's `T`
    /// temporaries in `push`'s frame for every `T` (as the ring's `POPS_INLINE`).
    const PUSHES_INLINE: bool = FAST_PATHS && size_of::<T>() <= INLINE_PUSH_MAX_SIZE;

    /// Whether [`List::pop`] of a `T` tries inline first (`INLINE_POP_MAX_SIZE`), as
    /// [`List::PUSHES_INLINE`].
    const POPS_INLINE: bool = FAST_PATHS && size_of::<T>() <= INLINE_POP_MAX_SIZE;

    /// Pushes `value`. `Ok(true)` when a receiver may be waiting, so the caller must notify;
    /// `Err(value)` when the list is closed.
    ///
    /// Values up to `INLINE_PUSH_MAX_SIZE` try inline first ([`List::push_small`]); everything
    /// else, and what that attempt leaves, is the loop ([`List::push_loop`]), out of line: what
    /// the loom models check (`FAST_PATHS`, as for the ring).
    #[inline]
    pub(crate) fn push(&self, value: T) -> Result<bool, T> {
        if Self::PUSHES_INLINE {
            return self.push_small(value);
        }
        self.push_loop(value)
    }

    /// [`List::push`] for small values: the common case inline, a first claim that wins, of a
    /// slot that is not its block's last (so no block is installed). It is the loop's first
    /// iteration, the same loads, CAS (with the same success ordering) and stores; anything
    /// else starts over in the loop. Through the loop every push was a call whose frame alone
    /// cost about 15 instructions (callgrind, a current-thread runtime). `#[inline]`, not
    /// `always`, as the ring's `pop_small`: optimised builds inline it (one call site).
    #[inline]
    fn push_small(&self, value: T) -> Result<bool, T> {
        // ORDERING: Acquire, as the loop's first load (the block's installation).
        let tail = self.tail.index.load(Ordering::Acquire);
        let offset = offset(tail);
        if tail & MARK == 0 && offset + 1 < BLOCK_CAP {
            // ORDERING: Acquire, as in the loop (see there: the pointer's own Release store).
            let block = self.tail.block.load(Ordering::Acquire);
            // ORDERING: success Relaxed, as the loop's CAS; failure Relaxed: the loop starts over
            // with its own Acquire load.
            let claimed = self.tail.index.compare_exchange_weak(
                tail,
                tail.wrapping_add(ONE_POS),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if claimed.is_ok() {
                // SAFETY: as in the loop: `block` holds position `tail` (loaded after acquiring
                // this very `tail` value), which we claimed; it is not freed before the slot is
                // read.
                let slot = unsafe { &(*block).slots[offset] };
                // SAFETY: the claim gave this thread the slot; no receiver reads it before
                // `written` is set below.
                // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
                slot.value.with_mut(|cell| unsafe { cell.cast::<T>().write(value) });
                // ORDERING: Release publishes the value to the receiver's Acquire load in
                // `wait_write`. A plain store: nobody else writes `written`.
                slot.written.store(1, Ordering::Release);
                return Ok(waiters(tail) != 0);
            }
        }
        self.push_loop(value)
    }

    /// [`List::push`] past its inline attempt, out of line.
    #[inline(never)]
    fn push_loop(&self, value: T) -> Result<bool, T> {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release `fetch_add` of the sender that installed the
        // current block (later CASes continue its release sequence): the block's initialisation
        // and its pointer store happen before the load below.
        let mut tail = self.tail.index.load(Ordering::Acquire);
        // ORDERING: Acquire pairs with the Release store of the pointer by the sender that
        // installed it. The Acquire index load just above makes it that block or a later one;
        // a later one must mean a moved tail and a failed CAS, and it is this pairing that makes
        // it so: the installer's claim of the old block's last slot happens before its store,
        // so before our load, and so before our CAS, which then finds the tail moved. With a
        // Relaxed load, nothing in the C++ model orders the load before our own claim (a
        // load-buffering shape that x86 never shows and weaker machines may: a review found
        // it by argument; loom and Miri do not model it). Free on x86: a plain load.
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut spare = SpareBlock(self, None);
        loop {
            if tail & MARK != 0 {
                return Err(value);
            }
            let offset = offset(tail);
            if offset == BLOCK_CAP {
                // Another sender is installing the next block: wait for it.
                backoff.snooze();
                // ORDERING: Acquire, then Acquire, as above.
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && spare.1.is_none() {
                // We may claim the last slot and then install the next block: get it now, so
                // the senders that wait for the installation wait as briefly as possible.
                spare.1 = Some(self.take_block());
            }
            let new_tail = tail.wrapping_add(ONE_POS);
            // ORDERING: success Relaxed: the CAS only decides who owns the position; the value
            // goes to the receiver through the slot's `written` flag, and `block` was loaded after
            // acquiring this very `tail` value (a later block means a moved tail: the CAS
            // fails). Failure Acquire, as the index loads above, for the block pointer
            // reloaded next.
            match self.tail.index.compare_exchange_weak(tail, new_tail, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => {
                    // SAFETY: `block` holds position `tail` (see the ORDERING note above) and
                    // cannot be freed before the slot we just claimed is read.
                    let this = unsafe { &*block };
                    if offset + 1 == BLOCK_CAP {
                        // We took the last slot: install the next block. Senders that see the
                        // crossing position wait until the `fetch_add` below.
                        let next = spare.1.take().expect("allocated before the claim").as_ptr();
                        // ORDERING: Release pairs with the senders' Acquire loads of the pointer
                        // (see the first one in this function: it orders our claim before
                        // their CAS). The block's initialisation is published by it and by the
                        // Release `fetch_add` below.
                        self.tail.block.store(next, Ordering::Release);
                        // ORDERING: Release pairs with the senders' Acquire index loads: who
                        // sees the next lap's position sees the block pointer stored above and
                        // the block's initialisation.
                        self.tail.index.fetch_add(ONE_POS, Ordering::Release);
                        // ORDERING: Release pairs with the Acquire in `wait_next` (loom cannot
                        // observe it, see there).
                        this.next.store(next, Ordering::Release);
                    }
                    let slot = &this.slots[offset];
                    // SAFETY: the CAS gave this thread the slot; no receiver reads it before
                    // `written` is set below.
                    // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
                    slot.value.with_mut(|cell| unsafe { cell.cast::<T>().write(value) });
                    // ORDERING: Release publishes the value to the receiver's Acquire load in
                    // `wait_write`. A plain store: nobody else writes `written`.
                    slot.written.store(1, Ordering::Release);
                    return Ok(waiters(tail) != 0);
                }
                Err(current) => {
                    tail = current;
                    // ORDERING: Acquire, as the first load of the pointer above.
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Pops the oldest value; `None` when no position has been claimed by a sender beyond
    /// `head`. Waits for a claimed slot's sender to finish writing it (module docs).
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        self.pop_checking(EmptyCheck::Tail)
    }

    /// [`List::pop`] that decides "empty" by `check` when the head slot is not written yet.
    ///
    /// Values up to `INLINE_POP_MAX_SIZE` try inline first ([`List::pop_small`]), as pushes
    /// do; larger ones, and what that attempt leaves, take the loop ([`List::pop_into`]).
    #[inline]
    pub(crate) fn pop_checking(&self, check: EmptyCheck) -> Option<T> {
        if Self::POPS_INLINE {
            return self.pop_small(check);
        }
        self.pop_loop_value(check)
    }

    /// The loop ([`List::pop_into`]) with the value returned, for `pop` and what `pop_small`'s
    /// attempt leaves.
    #[inline]
    fn pop_loop_value(&self, check: EmptyCheck) -> Option<T> {
        let mut popped = None;
        self.pop_into(&mut popped, check);
        popped
    }

    /// [`List::pop`] for small values: inline when the head word itself says a sender has
    /// claimed its position (`AHEAD`: a run a peek found, or a block with a successor), no
    /// peeker pins the block and the slot is not its block's last (no block to retire): the
    /// same loads, CAS and stores as the loop's. Everything else (the peek included) is the
    /// loop's. `#[inline]` as `push_small`.
    #[inline]
    fn pop_small(&self, check: EmptyCheck) -> Option<T> {
        // ORDERING: Acquire, as the loop's first load.
        let head = self.head.index.load(Ordering::Acquire);
        let offset = offset(head);
        if head & PEEKER_MASK == 0 && head & AHEAD_MASK != 0 && offset + 1 < BLOCK_CAP {
            // ORDERING: Acquire, as in the loop (see there: the pointer's own Release store).
            let block = self.head.block.load(Ordering::Acquire);
            // ORDERING: success Release, as the loop's CAS (a receiver that acquires our `head`
            // sees a tail at least as new as ours; Acquire is only needed by the claim of a
            // block's last slot, never this one); failure Relaxed: the loop starts over.
            let claimed = self.head.index.compare_exchange_weak(
                head,
                claimed_known(head),
                Ordering::Release,
                Ordering::Relaxed,
            );
            if claimed.is_ok() {
                // SAFETY: as in the loop: `block` holds position `head`, which we claimed, and
                // it is not freed before the slot is read (by us, below).
                let slot = unsafe { &(*block).slots[offset] };
                slot.wait_write();
                // SAFETY: as in the loop: the claim gave us the slot, and `written` (acquired in
                // `wait_write`) says its value is initialised.
                // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
                let value = slot.value.with(|cell| unsafe { cell.cast::<T>().read() });
                // ORDERING: Release, as in the loop: our read of the value (our last access to
                // the block) happens before its free, whose `is_drained` acquires this.
                slot.read.store(1, Ordering::Release);
                return Some(value);
            }
        }
        self.pop_loop_value(check)
    }

    /// The `head` word after claiming position `head` when its slot was not seen written:
    /// `tail` decides whether a sender has claimed it (`None`: nobody has, the list is empty);
    /// every slot left in the block known (`AHEAD`) once the tail is in a later block. No peekers (the claimer hands their
    /// pins to the block).
    #[inline]
    fn head_after_tail(&self, head: u64) -> Option<u64> {
        // ORDERING: Relaxed: only the position matters (the value itself is acquired through
        // the slot's `written` flag). It is never older than `head`: the receiver that moved
        // `head` here had seen a tail beyond it (or a written slot, claimed before), and its
        // Release CAS (our Acquire load of `head`) makes that read happen before this one. The
        // waiting protocol needs nothing more: this load follows our registration RMW (module
        // docs) or the waiting layer's fence.
        let tail = self.tail.index.load(Ordering::Relaxed);
        if position(head) == position(tail) {
            return None;
        }
        let new_head = (head & !PEEKER_MASK).wrapping_add(ONE_POS);
        if position(head) / LAP != position(tail) / LAP {
            // The tail is in a later block: every slot left in ours is claimed (ours, taken
            // now, and those after it).
            return Some(new_head | ahead_to_block_end(offset(head) + 1));
        }
        Some(new_head)
    }

    /// [`List::pop`] into `popped` (a `None` the caller owns; `true` when a value was popped):
    /// no `T` comes back through a return value, which in unoptimised builds would be a copy
    /// in every frame on the way (the waiting receives ask through four). Out of line: for
    /// values up to `INLINE_POP_MAX_SIZE` `pop`'s inline attempt covers the common case; larger
    /// values always take this call (as the ring's `pop_loop_value`).
    #[inline(never)]
    pub(crate) fn pop_into(&self, popped: &mut Option<T>, check: EmptyCheck) -> bool {
        let backoff = Backoff::new();
        // ORDERING: Acquire pairs with the Release CAS or store of the receiver that moved
        // `head` here: the block pointer it stored (when it crossed into this block) and the
        // tail it saw happen before our loads of them below.
        let mut head = self.head.index.load(Ordering::Acquire);
        // ORDERING: Acquire pairs with the Release store of the pointer by the receiver that
        // moved the head to it. The Acquire index load just above makes it that block or a
        // later one; a later one must mean a moved head and a failed claim (or a failed pin, for
        // a peek), and this pairing makes it so, as on the send side (`push_loop`): a Relaxed
        // load would leave the load unordered before our own claim or pin CAS, which is Relaxed
        // for a peek. Free on x86: a plain load.
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = offset(head);
            if offset == BLOCK_CAP {
                // Another receiver is moving `head` to the next block: wait for it.
                backoff.snooze();
                // ORDERING: Acquire, then Relaxed, as above: the crosser's block store comes
                // after the position we saw, so only this Acquire orders it before our block
                // load. loom cannot observe a weakening here: after a yield (the snooze) it
                // always returns the newest store, stale reads included.
                head = self.head.index.load(Ordering::Acquire);
                // ORDERING: Acquire, as the first load of the pointer above.
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let new_head = if head & AHEAD_MASK != 0 {
                claimed_known(head)
            } else {
                match self.peek(head, block, offset) {
                    Peek::Claimed(new_head) => {
                        // SAFETY: the peek claimed position `head`, in `block`.
                        unsafe { self.take_claimed(block, offset, new_head, popped) };
                        return true;
                    }
                    Peek::Moved(current) => {
                        head = current;
                        // ORDERING: Acquire, as the first load of the pointer above.
                        block = self.head.block.load(Ordering::Acquire);
                        backoff.spin();
                        continue;
                    }
                    Peek::Unknown if check == EmptyCheck::Slot => return false,
                    Peek::Unknown => match self.head_after_tail(head) {
                        Some(new_head) => new_head,
                        None => return false,
                    },
                }
            };
            // Why AcqRel. Release: a receiver that acquires our new `head` also sees a tail at
            // least as new as the one we compared with, so it never takes `head > tail` for "a
            // value is there" and claims a position no sender has claimed (loom found that: with
            // Relaxed, a second receiver read a stale tail and spun on an unsent slot). Acquire:
            // when this claims a block's last slot, the peeks of the receivers that unpinned the
            // block in `head` (Release RMWs, whose release sequence runs to this CAS) happen
            // before the free that follows (`two_peeks_at_one_slot_racing_its_write`).
            // ORDERING: success AcqRel (above); the value comes through `written`, the block
            // pointer was loaded after acquiring this very `head`. Failure Acquire, as the loads
            // above: for the block pointer reloaded next, and the tail knowledge of the winner.
            match self.head.index.compare_exchange_weak(head, new_head, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    // SAFETY: `block` holds position `head`, which we claimed; it is not
                    // freed before we read the slot.
                    let this = unsafe { &*block };
                    this.take_pins(peekers(head));
                    // SAFETY: as above.
                    unsafe { self.take_claimed(block, offset, new_head, popped) };
                    return true;
                }
                Err(current) => {
                    head = current;
                    // ORDERING: Acquire, as the first load of the pointer above.
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// After a claim of slot `offset` of `block` that left `new_head` in `head`: moves `head`
    /// on to the next block when the slot is the block's last, waits for the slot's value and
    /// moves it into `popped`, and marks it read (or retires the block).
    ///
    /// # Safety
    ///
    /// The calling thread claimed the slot, which is in `block`.
    #[inline(always)]
    unsafe fn take_claimed(
        &self,
        block: *mut Block<T>,
        offset: usize,
        new_head: u64,
        popped: &mut Option<T>,
    ) {
        // SAFETY: the block cannot be freed before the slot we claimed is read (by us, below).
        let this = unsafe { NonNull::new_unchecked(block) };
        // SAFETY: as above.
        let this_ref = unsafe { this.as_ref() };
        if offset + 1 == BLOCK_CAP {
            // We took the last slot: move `head` to the next block.
            let next = this_ref.wait_next();
            // The next block's first position, with no flags or counts: no peeker pins the next
            // block yet (nobody peeks at a crossing position).
            let mut next_index = (new_head & !(ONE_POS - 1)).wrapping_add(ONE_POS);
            // SAFETY: `next` is alive: its first slot is unclaimed.
            let next_ref = unsafe { next.as_ref() };
            // ORDERING: Acquire pairs with the Release store of the sender that installed the
            // block after `next`: it claimed `next`'s last slot, hence all of them, and the
            // tail it moved on happens before our crossing store, so whoever acquires `head`
            // sees a tail at least as new (`head <= tail`, as for the peek's `written` loads).
            // Values still come through `written`.
            if !next_ref.next.load(Ordering::Acquire).is_null() {
                next_index |= ahead_to_block_end(0);
            }
            // ORDERING: Release pairs with the receivers' Acquire loads of the pointer (`pop_into`:
            // it orders our move before their claims); the Release index store below publishes
            // it too.
            self.head.block.store(next.as_ptr(), Ordering::Release);
            // ORDERING: Release pairs with the Acquire index loads: who sees the new position
            // sees the block pointer stored above. A store, not an RMW: between our claim and
            // here `head` holds the crossing position, which nobody else writes (receivers wait,
            // peekers never pin it).
            self.head.index.store(next_index, Ordering::Release);
        }
        let slot = &this_ref.slots[offset];
        slot.wait_write();
        // SAFETY: the claim gave us the slot and `written` (acquired in `wait_write`) says its
        // value is initialised; nobody else reads it.
        // The cast: a `MaybeUninit<T>` has `T`'s size and alignment.
        // Written in place, inside the closure: no `T` comes back through `with`.
        slot.value.with(|cell| *popped = Some(unsafe { cell.cast::<T>().read() }));
        if offset + 1 == BLOCK_CAP {
            // SAFETY: we read the block's last slot, just now.
            unsafe { self.retire(this) };
        } else {
            // ORDERING: Release: our read of the value (our last access to the block) happens
            // before its free, whose `is_drained` acquires this. A plain store, no RMW: nobody
            // else writes `read`.
            slot.read.store(1, Ordering::Release);
        }
    }

    /// Looks whether slot `offset` of `block` (the slot of position `head`, unclaimed when
    /// `head` was loaded) is written, and claims it if so: the caught-up receive's way to learn
    /// that a value is there without reading `tail`, the word every send CASes (module docs,
    /// "Peeks"). The block is pinned meanwhile: the peeker is counted in `head`, and a receiver
    /// that claims the position first hands the pin over to the block.
    #[inline]
    fn peek(&self, head: u64, block: *mut Block<T>, offset: usize) -> Peek {
        if peekers(head) == PEEKER_MAX {
            return Peek::Unknown;
        }
        let pinned = head + ONE_PEEKER;
        // ORDERING: Relaxed: the pin only has to be counted by the claimer of `head`'s
        // position, whose CAS reads it (RMWs on one word are totally ordered); our peek's
        // loads are ordered before its end (`release_pin`, or our Release unpin or claim).
        // Failure Acquire, as the loop's (the caller reloads the block pointer).
        if let Err(current) =
            self.head.index.compare_exchange(head, pinned, Ordering::Relaxed, Ordering::Acquire)
        {
            return Peek::Moved(current);
        }
        // SAFETY: `block` holds position `head` (loaded after acquiring this very `head`, which
        // our CAS found unchanged), unclaimed, and pinned from here: it is not freed before our
        // pin is released.
        let this = unsafe { &*block };
        #[cfg(loom)]
        this.peek_canary.with(|_| ());
        // ORDERING: Acquire pairs with the sender's Release store of `written`, which follows
        // its claim (its `tail` CAS): the `tail` it left happens before our claim's Release,
        // so whoever acquires the `head` we write sees a tail at least as new (`head <= tail`,
        // which `head_after_tail` and `len` rely on; loom found `len` exceeding what was sent
        // with Relaxed here). The value itself is acquired again in `wait_write`.
        let written = |at: usize| this.slots[at].written.load(Ordering::Acquire) != 0;
        if !written(offset) {
            self.unpin(pinned, this);
            return Peek::Unknown;
        }
        // The run of written slots from ours: positions the next pops can claim without a look.
        let mut run = 1;
        while offset + run < BLOCK_CAP && written(offset + run) {
            run += 1;
        }
        // ORDERING: Acquire, as in `take_claimed`: a sender installed the next block, so every
        // slot of this one is claimed, and the tail it moved on happens before our claim.
        let known = if this.next.load(Ordering::Acquire).is_null() {
            // Lossless: a run is at most `BLOCK_CAP`.
            (run as u64 - 1) << AHEAD_SHIFT
        } else {
            ahead_to_block_end(offset + 1)
        };
        let mut current = pinned;
        loop {
            // Since our pin, only the peekers count can have changed (a claim would have moved
            // the position): no `AHEAD` (we only peek without one).
            let claimed = (current & !PEEKER_MASK).wrapping_add(ONE_POS) | known;
            // ORDERING: success AcqRel, as the loop's claim (this may be the block's last slot).
            // Failure Acquire, as the loop's (when the position moved, the caller reloads the
            // block pointer).
            match self.head.index.compare_exchange(current, claimed, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    this.take_pins(peekers(current) - 1);
                    return Peek::Claimed(claimed);
                }
                Err(now) if position(now) == position(head) => current = now,
                Err(now) => {
                    // Another receiver claimed the position and hands our pin to the block.
                    this.release_pin();
                    return Peek::Moved(now);
                }
            }
        }
    }

    /// Ends a peek that claimed nothing: takes our pin out of `head`'s peekers count, or, when
    /// another receiver has claimed the position meanwhile (and so hands our pin to the
    /// block), releases it from the block.
    fn unpin(&self, pinned: u64, this: &Block<T>) {
        let mut current = pinned;
        loop {
            let unpinned = current - ONE_PEEKER;
            // ORDERING: success Release: our peek happens before the block's free. The receiver
            // that claims the block's last slot acquires it through its AcqRel CAS: `head`'s
            // modifications from ours to that claim are all RMWs (the crossing store that would
            // break the release sequence comes after that claim). Failure Relaxed: we retry,
            // or release the handed-over pin.
            match self.head.index.compare_exchange(current, unpinned, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(now) if position(now) == position(pinned) => current = now,
                Err(_) => {
                    this.release_pin();
                    return;
                }
            }
        }
    }

    /// Closes the list for pushes: every later push fails, and a push either claimed its
    /// position before the close or fails. Returns `true` for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        // ORDERING: Relaxed: the RMW on `tail` is ordered with every push's CAS by the
        // modification order of `tail` alone; publishing "disconnected" to receivers is the
        // channel's job (its flag and the waiting layer's fences), as for the ring.
        self.tail.index.fetch_or(MARK, Ordering::Relaxed) & MARK == 0
    }

    /// Counts the calling receiver among those that may park (module docs). Call before the
    /// first poll that may precede a sleep, and [`List::deregister_waiter`] once after the wait.
    #[cold]
    pub(crate) fn register_waiter(&self) {
        // ORDERING: Relaxed: only the modification order of `tail` matters (module docs): a
        // push ordered after this RMW reads the count; our later loads of `tail` see every push
        // ordered before it.
        let _ = self.tail.index.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tail| {
            (waiters(tail) < WAITER_MAX).then(|| tail + ONE_WAITER)
        });
    }

    /// Undoes [`List::register_waiter`] (a saturated count stays saturated).
    #[cold]
    pub(crate) fn deregister_waiter(&self) {
        // ORDERING: Relaxed, as in `register_waiter`. A push that still sees our count only
        // pays a spare notification.
        let _ = self.tail.index.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tail| {
            let count = waiters(tail);
            // Checked in loom builds too (they run optimised), as the ring's count
            // (`ring::deregister`).
            if cfg!(any(debug_assertions, loom)) {
                assert!(count > 0, "deregistered more receivers than registered");
            }
            (count != 0 && count < WAITER_MAX).then(|| tail - ONE_WAITER)
        });
    }

    /// The waiting receivers counted in `tail` (loom models check that every wait leaves it).
    #[cfg(loom)]
    pub(crate) fn waiting_receivers(&self) -> u64 {
        // ORDERING: Relaxed: the models call it after joining every thread.
        waiters(self.tail.index.load(Ordering::Relaxed))
    }

    /// The peekers still counted in `head` plus the pins still held on the head block and the
    /// retired ones (loom models check that every peek lets go: 0 once every thread is done).
    #[cfg(loom)]
    pub(crate) fn peek_pins_left(&self) -> u64 {
        // ORDERING: Relaxed: the models call it after joining every thread.
        let head = self.head.index.load(Ordering::Relaxed);
        let mut pinned = peekers(head);
        // The head block, then the retired stack.
        // ORDERING: Relaxed, as above.
        let mut block = self.head.block.load(Ordering::Relaxed);
        // ORDERING: Relaxed, as above.
        let mut next_retired = self.spares.retired.load(Ordering::Relaxed);
        while let Some(held) = NonNull::new(block) {
            // SAFETY: every thread is done: the head block and the retired ones are alive.
            let held = unsafe { held.as_ref() };
            // ORDERING: Relaxed, as above.
            pinned += u64::from(held.pins.load(Ordering::Relaxed));
            block = next_retired;
            if let Some(retired) = NonNull::new(next_retired) {
                // SAFETY: as above.
                // ORDERING: Relaxed, as above.
                next_retired = unsafe { retired.as_ref() }.retired_next.load(Ordering::Relaxed);
            }
        }
        pinned
    }

    /// The number of values in the list: a snapshot.
    pub(crate) fn len(&self) -> usize {
        loop {
            // ORDERING: Acquire on `head` pairs with the Release CAS (or crossing store) that
            // moved it, so the tail read next is at least as new as the one that receiver saw:
            // `head <= tail` for the pair used (as in `pop`). Relaxed on `tail`: a snapshot.
            // The re-read of `head` retries when it moved in between.
            let head = self.head.index.load(Ordering::Acquire);
            let tail = self.tail.index.load(Ordering::Relaxed);
            // ORDERING: Relaxed: compared only with the first read.
            if self.head.index.load(Ordering::Relaxed) != head {
                continue;
            }
            // Positions wrap around 2^(64 - SHIFT); LAP divides that in normal builds.
            let mask = u64::MAX >> SHIFT;
            // A position at a block's crossing counts as the start of the next block.
            let normalise = |p: u64| if p % LAP == LAP - 1 { p.wrapping_add(1) & mask } else { p };
            let (head, tail) = (normalise(position(head)), normalise(position(tail)));
            // Count from the start of head's block, then drop one crossing position per lap.
            let base = head - head % LAP;
            let (head, tail) = (head - base, tail.wrapping_sub(base) & mask);
            let count = (tail - tail / LAP) - (head - head / LAP);
            return usize::try_from(count).unwrap_or(usize::MAX);
        }
    }
}

/// Pops (and drops) every value left in `list`, freeing the drained blocks.
#[cold]
#[inline(never)]
fn drain<T>(list: &List<T>) {
    while list.pop().is_some() {}
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // `&mut self`: every operation has finished, so every claimed slot is written and every
        // crossing complete. Pop what is left (the ordinary path frees drained blocks); if a
        // value's `Drop` panics, the guard goes on during the unwind (as `Vec` does).
        struct Rest<'a, T>(&'a List<T>);
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                // Only a list with values pops (in a function of its own): popping needs a
                // `T`-sized temporary, whose stack space a debug build would otherwise reserve
                // on every drop.
                if self.0.len() != 0 {
                    drain(self.0);
                }
                // ORDERING: Relaxed: `&mut` access, every other thread's access happens-before.
                let last = self.0.head.block.load(Ordering::Relaxed);
                if let Some(last) = NonNull::new(last) {
                    // SAFETY: the list is drained, so `head`'s block is its only block; no
                    // other thread can reach it any more.
                    unsafe { Block::free(last) };
                }
                // ORDERING: Relaxed, as above.
                let mut retired = self.0.spares.retired.load(Ordering::Relaxed);
                while let Some(block) = NonNull::new(retired) {
                    // SAFETY: a retired block belongs to the stack alone, and every reader is
                    // done with it (`&mut`): no value is left in it, nobody can reach it.
                    // ORDERING: Relaxed, as above.
                    retired = unsafe { block.as_ref() }.retired_next.load(Ordering::Relaxed);
                    // SAFETY: as above.
                    unsafe { Block::free(block) };
                }
                for entry in &self.0.spares.recycled {
                    // ORDERING: Relaxed, as above.
                    let recycled = entry.load(Ordering::Relaxed);
                    if let Some(recycled) = NonNull::new(recycled) {
                        // SAFETY: a recycled block is owned by its entry alone; nobody else can
                        // reach it any more.
                        unsafe { Block::free(recycled) };
                    }
                }
            }
        }
        let rest = Rest(self);
        if rest.0.len() != 0 {
            drain(rest.0);
        }
    }
}
