//! The state one channel's handles share, and the buffered (ring) flavor's operations.
//!
//! Every blocking operation is "try, then wait on a [`WaitQueue`] until the try succeeds":
//! receivers wait on `recv_wait` (notified after a push that saw a waiting receiver, and at
//! disconnection), senders on `send_wait` (notified after a pop that saw a waiting sender, and
//! at disconnection). The waiting layer's handshake makes "publish, then notify" against
//! "announce, then re-check" free of lost wakeups.
//!
//! # Counted waiters: no fence when nobody waits
//!
//! The waiting layer's handshake costs the notifier a `fence(SeqCst)`, which was a quarter of a
//! buffered send or receive (measured: spsc 40 -> 26 ns per message without it). So the
//! buffered and unbounded flavors count the parties that may sleep *in the index word every
//! operation already CASes* (`ring.rs` and `list.rs`, "Waiting parties"): receivers in the
//! tail word, senders (buffered only) in the ring's head word. A push whose claim saw no
//! waiting receiver, or a pop whose claim saw no waiting sender, skips the notify entirely.
//!
//! A blocking call therefore registers before any poll that may precede a sleep: it spins and
//! yields unregistered (loads only: registering costs two RMWs on the line the other side
//! CASes, and makes every operation of the other side pay the notify), registers when the
//! waiting layer's park phase begins (`WaitQueue::wait_until_phased`), and deregisters when the
//! wait ends, however it ends. (Registering at the first poll instead, before the spin and yield
//! phases, cost 25-35% on the mpsc, mpmc and one-CPU rows: a thread yielding for its core kept
//! every operation of the other side paying the notify.) Registered
//! polls never report "empty" (or "full") for a slot that another thread has claimed and is
//! still writing (reading): they wait the few instructions until it is done. That is what
//! makes the skipped notify safe (a push claimed before the registration is seen by the
//! registered poll, one claimed after it notifies), and it also means a woken waiter always
//! takes the value (room) it was woken for if nobody else did, so no chained wakeups are
//! needed. Async waiters register the same way (`chan_async.rs`).
//!
//! # Parked sends and receives
//!
//! A blocking sender that still finds the ring full after its unregistered spin parks its value
//! in the channel's one parked-send slot (when free), and a pop that saw a waiting sender
//! pushes that value into the room it freed before it considers waking anyone on `send_wait`
//! (`parked_send.rs`: why, the handshake, and why async sends do not park). Mirrored, a blocking
//! receiver whose waits are ended by yields (its partner shares its core), or an async receive
//! on a small channel with one receiver handle, parks a request, and a push that saw a waiting
//! receiver pops the oldest value into it (`parked_recv.rs`; an async request's value stays the
//! channel's front, which every receive may take: "An async owner" there). Moving a
//! value can free room or add one for the other slot, so both are served by one loop
//! ([`Chan::settle`]).
//!
//! The unbounded flavor's sends never wait, so `send_wait` is unused there.

use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::lane::Lane;
use super::list::{EmptyCheck, List};
use super::parked_recv::{ParkedRecv, Request};
use super::parked_send::{Parked, ParkedSend};
use super::rendezvous::Rendezvous;
use crate::ring::{CapacityError, PopReport, PushError, Ring};
use crate::sync::Backoff;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use crate::wait::WaitQueue;
use std::time::Instant;

/// Where the values live. An explicit tag byte (`repr(u8)`): every operation starts by matching
/// the flavor, and a tag byte is one load and compare where the niche the compiler picked cost
/// more (callgrind, send + receive on one thread: 111.3 -> 107.3 instructions per message).
#[repr(u8)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per channel, inside its Arc; boxing the ring would add a pointer chase to every operation"
)]
pub(crate) enum Flavor<T> {
    /// `bounded(n)` with `n >= 1`: the lock-free ring.
    Buffered(Ring<T>),
    /// `bounded(0)`: a single hand-over slot; a send completes when a receiver takes the value.
    Rendezvous(Box<Rendezvous<T>>),
    /// `unbounded()`: a linked list of blocks; a send never waits.
    Unbounded(List<T>),
}

/// The largest value (in bytes) whose blocking send pushes inline ([`Ring::push_fast`]), and
/// whose unbounded send tries inline (`List::push`); larger ones start in the out-of-line
/// loop. A bound for stack use, not speed: a debug build keeps every temporary of the inlined
/// push in the sender's frame (a 64 KiB value needed 7 value-sized slots there). 64-byte values keep the inline push, with which their rows were
/// measured after the pop's fix (`INLINE_POP_MAX_SIZE`).
pub(super) const INLINE_PUSH_MAX_SIZE: usize = 256;

/// Spin rounds of a blocking call before it registers as waiting (module docs): about as long
/// as the waiting layer's own spin.
pub(super) const UNREGISTERED_SPINS: u32 = 6;

/// The largest capacity at which an async receive parks its request (`may_park_async_receive`).
/// Measured at capacities 1 to 64 (docs/benchmarks.md, twenty-seventh session): parking saves
/// instructions up to 8 on a current-thread runtime, but on two workers it is a clear gain only
/// up to 3, level at 4 and a loss from 8 (the receiver, on its own core, catches up and parks
/// often, and each park is a wait cycle).
const ASYNC_PARK_MAX_CAPACITY: usize = 4;

/// `pause`s before the unregistered spin's first look. A side that found the ring full (empty)
/// and looks again at once reads the very slot and index lines the other side is writing, and
/// takes them away from it; two `pause`s (about 50 ns) let the other side finish an operation or
/// two first. Measured on the 2-core VM (old and new binary alternating, two rounds): spsc at
/// capacity 1024 1.25-1.28 -> 0.95-0.97 ms per 100 k messages (std 0.92-1.04 in the same runs),
/// ping-pong 1.70-1.81 -> 1.51-1.61 ms, capacity-1 handoff 2.31-2.58 -> 2.58 (level to 11%
/// slower); mpsc, mpmc, rendezvous and the payload rows stayed within their usual two modes.
/// Four `pause`s: spsc the same, handoff 3.02-3.05. (Found by accident: an environment lookup
/// left in this function for another experiment made spsc 20% faster.) Not under loom, whose
/// models skip the spin.
#[cfg(not(loom))]
const FIRST_LOOK_PAUSES: u32 = 2;

/// The unregistered spin of a blocking call before it waits (module docs): up to
/// [`UNREGISTERED_SPINS`] growing spins (the first after [`FIRST_LOOK_PAUSES`] more), each
/// followed by `attempt` (loads, or an unregistered push or pop), until one returns `true`.
/// Returns whether one did. Skipped under loom, where the facade's `Backoff` is complete at
/// once, and, as the waiting layer's own spin, while this thread's waits are ended by yields:
/// then the partner shares our core and cannot run while we spin (measured: capacity-1 handoff
/// with both threads on one CPU 112 -> 51 ms per 20 k messages without it; removing this spin
/// altogether cost 20-70% on the unpinned rows). The thread's spin state only changes in its
/// own waits: one look decides the loop. An expired `deadline` (a zero timeout, a deadline in
/// the past) skips the spin too: the caller's registered poll is all such a call waits for (a
/// zero-timeout receive against a busy machine took 1.8 µs with the spin, 0.18 µs without).
#[inline]
fn spin_unregistered(deadline: Option<Instant>, mut attempt: impl FnMut() -> bool) -> bool {
    // The clock is read only when the spin would run (a thread that stopped spinning, e.g. one
    // sharing its core with the other side, skips it).
    let spin = crate::wait::spinning_helps() && deadline.is_none_or(|deadline| Instant::now() < deadline);
    let spins = if spin { UNREGISTERED_SPINS } else { 0 };
    #[cfg(not(loom))]
    if spins > 0 {
        for _ in 0..FIRST_LOOK_PAUSES {
            crate::sync::spin_hint();
        }
    }
    let backoff = Backoff::new();
    for _ in 0..spins {
        if backoff.is_completed() {
            break;
        }
        backoff.spin();
        if attempt() {
            return true;
        }
    }
    false
}

/// The result of a blocking send that gave up (`timed_out`, or disconnected), with the value
/// taken back out of `pending`. Apart, as [`refused`], so that in unoptimised builds the
/// error's `T`-sized temporaries are not in the frames the value travelled through; the whole
/// `Result`, so that each call site writes it straight into its own return slot.
#[cold]
fn give_back<T>(pending: &mut Option<T>, timed_out: bool) -> Result<(), SendTimeoutError<T>> {
    let value = pending.take().expect("a failed send keeps its value");
    Err(if timed_out { SendTimeoutError::Timeout(value) } else { SendTimeoutError::Disconnected(value) })
}

/// The result of a `try_send` that failed with `error`, with the value taken back out of
/// `pending` (see [`give_back`]).
#[cold]
fn refused<T>(pending: &mut Option<T>, error: PushError) -> Result<(), TrySendError<T>> {
    let value = pending.take().expect("a failed push keeps its value");
    Err(match error {
        PushError::Full => TrySendError::Full(value),
        PushError::Closed => TrySendError::Disconnected(value),
    })
}

/// A count of waiting parties that a blocking call joins before it may sleep (module docs).
pub(super) enum WaiterCount<'a, T> {
    /// Receivers waiting for a value of the ring (counted in its tail word).
    RingReceivers(&'a Ring<T>),
    /// Senders waiting for room in the ring (counted in its head word).
    RingSenders(&'a Ring<T>),
    /// Receivers waiting for a value of the unbounded list (counted in its tail word).
    ListReceivers(&'a List<T>),
}

impl<T> Clone for WaiterCount<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for WaiterCount<'_, T> {}

impl<T> WaiterCount<'_, T> {
    pub(super) fn register(self) {
        match self {
            WaiterCount::RingReceivers(ring) => ring.register_receiver(),
            WaiterCount::RingSenders(ring) => ring.register_sender(),
            WaiterCount::ListReceivers(list) => list.register_waiter(),
        }
    }

    pub(super) fn deregister(self) {
        match self {
            WaiterCount::RingReceivers(ring) => ring.deregister_receiver(),
            WaiterCount::RingSenders(ring) => ring.deregister_sender(),
            WaiterCount::ListReceivers(list) => list.deregister_waiter(),
        }
    }
}

/// A blocking call's membership in a [`WaiterCount`]: joined on the first registered poll,
/// left when the wait ends, however it ends (a panicking poll included).
struct Registration<'a, T> {
    count: WaiterCount<'a, T>,
    registered: bool,
}

impl<T> Registration<'_, T> {
    #[inline]
    fn join(&mut self) {
        if !self.registered {
            self.count.register();
            self.registered = true;
        }
    }
}

impl<T> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        if self.registered {
            self.count.deregister();
        }
    }
}

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
    /// `Sender::closed` futures wait here for disconnection only (a queue of their own: in
    /// `send_wait` they would take wakeups meant for senders waiting for room).
    pub(super) closed_wait: WaitQueue,
    /// One async receiver waits here instead of in `recv_wait` (the buffered flavor's; see
    /// `lane.rs`).
    pub(super) recv_lane: Lane,
    /// One async sender waits here instead of in `send_wait` (the buffered flavor's).
    pub(super) send_lane: Lane,
    /// The buffered flavor's parked send and receive; `Some` exactly for that flavor. On the
    /// heap: each slot holds a `T`, and a channel of large values would otherwise carry two
    /// more of them inline whatever its flavor (and build them on the stack when created).
    parked: Option<Box<ParkedSlots<T>>>,
}

/// The buffered flavor's two parked slots.
pub(super) struct ParkedSlots<T> {
    /// One waiting sender's value, which a pop pushes into the room it frees
    /// (`parked_send.rs`).
    pub(super) send: ParkedSend<T>,
    /// One waiting receiver's request, which a push fills with the oldest value
    /// (`parked_recv.rs`).
    pub(super) recv: ParkedRecv<T>,
}

impl<T> ParkedSlots<T> {
    /// Both slots, empty, built in place on the heap (no `T`-sized temporary on the stack).
    fn boxed() -> Box<Self> {
        let mut slots = Box::<Self>::new_uninit();
        let raw = slots.as_mut_ptr();
        // SAFETY: `raw` points to the uninitialised block we own; each slot initialises its own
        // fields through raw pointers.
        unsafe {
            ParkedSend::init_in_place(&raw mut (*raw).send);
            ParkedRecv::init_in_place(&raw mut (*raw).recv);
        }
        // SAFETY: both fields are initialised above.
        unsafe { slots.assume_init() }
    }
}

impl<T> Chan<T> {
    pub(crate) fn try_new(capacity: usize) -> Result<Self, CapacityError> {
        let flavor = if capacity == 0 {
            Flavor::Rendezvous(Rendezvous::boxed())
        } else {
            Flavor::Buffered(Ring::try_new(capacity)?)
        };
        Ok(Self::with_flavor(flavor))
    }

    pub(crate) fn new_unbounded() -> Self {
        Self::with_flavor(Flavor::Unbounded(List::new()))
    }

    fn with_flavor(flavor: Flavor<T>) -> Self {
        let parked = matches!(flavor, Flavor::Buffered(_)).then(ParkedSlots::boxed);
        Chan {
            flavor,
            disconnected: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            recv_wait: WaitQueue::new(),
            send_wait: WaitQueue::new(),
            recv_lane: Lane::new(),
            send_lane: Lane::new(),
            closed_wait: WaitQueue::new(),
            parked,
        }
    }

    /// The parked slots. Only the buffered flavor's paths call this.
    #[inline]
    pub(super) fn parked(&self) -> &ParkedSlots<T> {
        self.parked.as_deref().expect("only the buffered flavor has parked slots")
    }

    /// Whether an async receive that waits on `ring` parks its request (`chan_async.rs`): when
    /// one receiver handle exists and the capacity is small. With more receivers, the other
    /// receivers' tasks would often take a value filled for one future (each take a few atomics
    /// more than a pop), and when every async receive parked, mpmc 4:4 on two workers went from
    /// 1.2 to 1.8-3.7 ms per 100 000 messages (twenty-fourth session). A parked request adds
    /// one message to each wait cycle of capacity ones: twice the messages at capacity 1, but
    /// at capacity 64 criterion read the current-thread spsc row about 17% slower with it
    /// (1.58-1.76 against 1.30-1.51 ms, A/B, twenty-sixth session; not seen in a harness, whose
    /// instructions differ by 1%), so larger channels wait the ordinary way. Always under loom,
    /// whose models must explore the parked receive beside other receivers.
    #[inline]
    pub(super) fn may_park_async_receive(&self, ring: &Ring<T>) -> bool {
        // ORDERING: Relaxed: a heuristic; either answer is correct, only speed differs.
        cfg!(loom)
            || (ring.capacity() <= ASYNC_PARK_MAX_CAPACITY && self.receivers.load(Ordering::Relaxed) == 1)
    }

    /// Whether both parked slots are free (for the loom models; true for the other flavors).
    #[cfg(loom)]
    pub(super) fn parked_slots_are_free(&self) -> bool {
        let front = matches!(&self.flavor, Flavor::Buffered(ring) if ring.front_is_marked());
        !front && self.parked.as_deref().is_none_or(|parked| parked.send.is_free() && parked.recv.is_free())
    }

    /// The waiting receivers and senders counted by the buffered and unbounded flavors (loom
    /// models check that every wait leaves its count; the rendezvous flavor reports zeros).
    #[cfg(loom)]
    pub(crate) fn waiting_counts(&self) -> (u64, u64) {
        match &self.flavor {
            Flavor::Buffered(ring) => ring.waiting_counts(),
            Flavor::Unbounded(list) => (list.waiting_receivers(), 0),
            Flavor::Rendezvous(_) => (0, 0),
        }
    }

    /// The unbounded flavor's peek pins still held (`List::peek_pins_left`; 0 for the other
    /// flavors).
    #[cfg(loom)]
    pub(crate) fn peek_pins_left(&self) -> u64 {
        match &self.flavor {
            Flavor::Unbounded(list) => list.peek_pins_left(),
            _ => 0,
        }
    }

    /// The count of waiting receivers of the flavor (none for the rendezvous flavor, whose
    /// receivers count themselves elsewhere).
    fn receivers_count(&self) -> Option<WaiterCount<'_, T>> {
        match &self.flavor {
            Flavor::Buffered(ring) => Some(WaiterCount::RingReceivers(ring)),
            Flavor::Unbounded(list) => Some(WaiterCount::ListReceivers(list)),
            Flavor::Rendezvous(_) => None,
        }
    }

    #[inline]
    pub(crate) fn is_disconnected(&self) -> bool {
        // ORDERING: Acquire pairs with the Release swap in `disconnect`: a receiver that sees
        // the flag also sees every value pushed before the last sender dropped, and the ring's
        // closed tail (every slot claimed before the close).
        self.disconnected.load(Ordering::Acquire)
    }

    /// The sender handles alive now (a snapshot: `Sender::sender_count`).
    pub(crate) fn sender_count(&self) -> usize {
        // ORDERING: Relaxed: a snapshot that synchronises with nothing (as `Arc::strong_count`).
        self.senders.load(Ordering::Relaxed)
    }

    /// The receiver handles alive now (a snapshot: `Receiver::receiver_count`).
    pub(crate) fn receiver_count(&self) -> usize {
        // ORDERING: Relaxed, as in `sender_count`.
        self.receivers.load(Ordering::Relaxed)
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

    /// Counts one more sender **unless none is left** (`WeakSender::upgrade`, as
    /// `Weak::upgrade`); `false` once the last sender has dropped (and so disconnected the
    /// channel): a dropped side never comes back.
    pub(crate) fn try_add_sender(&self) -> bool {
        Self::try_add_handle(&self.senders)
    }

    /// As [`Chan::try_add_sender`], for receivers (`WeakReceiver::upgrade`): `false` once the
    /// last receiver has dropped (and so dropped what was buffered).
    pub(crate) fn try_add_receiver(&self) -> bool {
        Self::try_add_handle(&self.receivers)
    }

    fn try_add_handle(count: &AtomicUsize) -> bool {
        // ORDERING: Relaxed, as `add_sender`: what decides is the RMWs' total order on the
        // count. Either this increment comes before the decrement that would have been the last
        // (which then sees 2 and leaves the channel connected for the new handle), or it reads
        // the 0 that decrement wrote and counts nothing; no handle is made from a zero count, so
        // the one thread that saw 1 disconnected the channel for good. An increment is part of
        // the release sequence that the last `remove_sender`'s Acquire reads from, as in
        // `add_sender`. Relaxed on failure: nothing is made.
        count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| if n == 0 { None } else { Some(n + 1) })
            .is_ok()
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
            // An empty channel skips the drain: after the close's RMW on the tail, `len` sees
            // every push that completed (a stale head only makes it look fuller). And the drain
            // is a function of its own: popping needs a `T`-sized temporary, whose stack space a
            // debug build would otherwise reserve on every receiver drop.
            if self.len() != 0 {
                self.drop_buffered();
            }
        }
    }

    /// The last receiver's drain (see `remove_receiver`). A value whose `Drop` panics does not
    /// stop it: every value is dropped, then the first panic goes on (found by review: the
    /// values after the panicking one stayed in the channel until its last sender's drop;
    /// `Vec` goes on dropping too).
    #[cold]
    #[inline(never)]
    fn drop_buffered(&self) {
        let mut first_panic = None;
        // Drops what `take` takes; `false` once there is nothing left.
        let mut drop_next = |take: &mut dyn FnMut() -> bool| loop {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *take)) {
                Ok(true) => {}
                Ok(false) => return,
                Err(payload) => {
                    first_panic.get_or_insert(payload);
                }
            }
        };
        match &self.flavor {
            Flavor::Buffered(ring) => {
                // The front value an async receive's fill left in the parked slot first (it is
                // the oldest). One value at most: after a panic in its drop, the retry finds
                // the slot empty.
                drop_next(&mut || {
                    let mut front = None;
                    self.parked().recv.steal_front(ring, &mut front);
                    drop(front);
                    false
                });
                drop_next(&mut || ring.try_pop().is_some());
            }
            Flavor::Unbounded(list) => drop_next(&mut || list.pop().is_some()),
            Flavor::Rendezvous(_) => {}
        }
        if let Some(payload) = first_panic {
            std::panic::resume_unwind(payload);
        }
    }

    /// Disconnects the channel from the receiving side (every later send fails with its value
    /// back) and hands every value that got in to `take`, oldest first, including those of
    /// sends that claimed their slot before the close and are still writing it (they are
    /// waited for, a few instructions each). So every value ever sent is either given to
    /// `take` here, or was received before, or came back to its sender: none is left for the
    /// channel's drop. The actor's mailbox closes with this.
    pub(crate) fn close_and_drain(&self, mut take: impl FnMut(T)) {
        self.disconnect();
        // Registered-style receives wait for in-flight sends instead of reporting empty: after
        // the close (an RMW on the tail word, by us or, before our Acquire load of the flag in
        // `try_recv_as`, by the thread that disconnected) the tail no longer moves, so they end
        // exactly when every claimed slot is drained.
        while let Ok(value) = self.try_recv_as(true) {
            take(value);
        }
    }

    /// Disconnects the channel while handles of both sides live: every later send fails with
    /// its value back, receivers drain what got in and then report `Disconnected` (as when the
    /// last sender drops). `true` when this call disconnected it (`Sender::close`,
    /// `Receiver::close`). The actor's `stop` and `kill` close its mailbox with this.
    pub(crate) fn close(&self) -> bool {
        self.disconnect()
    }

    /// Disconnects the channel; `true` when this call did (it was not disconnected before).
    #[cold]
    fn disconnect(&self) -> bool {
        // Senders learn it from the push itself, atomically with claiming a slot: close the
        // ring (or list) first, then raise the flag. A receiver that sees the flag (Acquire,
        // pairing with the Release swap below) then also sees the closed tail, which carries
        // every claim made before the close, so its registered pops wait for sends still
        // writing rather than report `Disconnected` past them. (Flag first, a send from a
        // third handle could claim a slot between the two, unseen by a receiver that read
        // the flag: loom found that when the actor's `stop` began closing mailboxes whose
        // senders live.) Both closes are idempotent RMWs.
        match &self.flavor {
            Flavor::Buffered(ring) => {
                ring.close();
            }
            Flavor::Unbounded(list) => {
                list.close();
            }
            Flavor::Rendezvous(_) => {}
        }
        // ORDERING: Release pairs with the Acquire load in `is_disconnected` (see there): it
        // publishes the close above and, for the last sender or receiver, what came before.
        if !self.disconnected.swap(true, Ordering::Release) {
            // The parked send's owner takes its value back, the parked receive's drains the
            // ring (`send_parked`, `recv_parked`; an async owner: `poll_recv_parked`). A
            // future's waker that panics here is caught by the waiting layer, as on every
            // queue (`wait.rs`).
            if let Flavor::Buffered(_) = &self.flavor {
                let parked = self.parked();
                parked.send.taken_wait.notify_all();
                parked.recv.filled_wait.notify_all();
                parked.recv.notify_async_owner();
            }
            // Async waiters woken here are uncounted by us (`WaitQueue::notify_all_with`). A
            // user's waker that panics costs only its own task the wakeup (`wait::wake_caught`).
            self.recv_wait.notify_all_with(|| {
                if let Some(count) = self.receivers_count() {
                    count.deregister();
                }
            });
            self.send_wait.notify_all_with(|| {
                if let Flavor::Buffered(ring) = &self.flavor {
                    WaiterCount::RingSenders(ring).deregister();
                }
            });
            // The lanes' holders too (after the fences of the two notifies above, the
            // notifier's half of the lanes' handshake): the buffered flavor's only.
            if let Flavor::Buffered(ring) = &self.flavor {
                self.recv_lane.notify_after_fence(|| ring.deregister_receiver());
                self.send_lane.notify_after_fence(|| ring.deregister_sender());
            }
            if let Flavor::Rendezvous(slot) = &self.flavor {
                slot.notify_disconnected();
            }
            self.closed_wait.notify_all();
            return true;
        }
        false
    }

    #[inline]
    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.flavor {
            Flavor::Buffered(ring) => self.try_send_buffered(ring, value),
            Flavor::Rendezvous(slot) => slot.try_send(self, value),
            Flavor::Unbounded(list) => self.push_unbounded(list, value, TrySendError::Disconnected),
        }
    }

    /// The unbounded flavor's send (never full, never waits), for every kind of send: the
    /// error is `disconnected(value)`, built only when it is one (see `send_deadline`).
    #[inline]
    pub(super) fn push_unbounded<E>(
        &self,
        list: &List<T>,
        value: T,
        disconnected: impl FnOnce(T) -> E,
    ) -> Result<(), E> {
        match list.push(value) {
            Ok(receiver_may_wait) => {
                if receiver_may_wait {
                    self.recv_wait.notify_one_with(|| list.deregister_waiter());
                }
                Ok(())
            }
            Err(value) => Err(disconnected(value)),
        }
    }

    /// Sends, waiting until `deadline` (`None`: forever) for room. Inline, as
    /// [`Chan::recv_deadline`]: the common case (room in the ring) is the push alone; out of
    /// line, this was a call whose register saves and restores alone cost 20 instructions per
    /// send (callgrind).
    #[inline]
    pub(crate) fn send_deadline(
        &self,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        // Every arm is one call that moves the value on, so that a flavor's `T`-sized
        // temporaries sit in its own frame, not in this one that every send goes through: an
        // unoptimised build gives each temporary a stack slot of its own, and the frames of a
        // call chain add up (a 64 KiB value once needed 2 MiB of stack to be sent, a spawned
        // thread's whole default stack; `docs/channel.md`).
        match &self.flavor {
            Flavor::Buffered(ring) => self.send_buffered(ring, value, deadline),
            // Never full: no waiting.
            Flavor::Unbounded(list) => self.push_unbounded(list, value, SendTimeoutError::Disconnected),
            Flavor::Rendezvous(slot) => slot.send(self, value, deadline),
        }
    }

    /// The buffered flavor's blocking send: the common case inline (values up to
    /// `INLINE_PUSH_MAX_SIZE`), the rest out of line. Two calls and no value of our own, as
    /// `Ring::pop`: the inline path's temporaries stay out of this frame in unoptimised builds.
    #[inline]
    fn send_buffered(
        &self,
        ring: &Ring<T>,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        if std::mem::size_of::<T>() <= INLINE_PUSH_MAX_SIZE {
            return self.send_buffered_small(ring, value, deadline);
        }
        self.send_buffered_wait(value, deadline)
    }

    /// [`Chan::send_buffered`] for values that are pushed inline. `#[inline]`, not `always`
    /// (see `Ring::pop_small`).
    #[inline]
    fn send_buffered_small(
        &self,
        ring: &Ring<T>,
        value: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        match ring.push_fast(value) {
            Ok(receiver_waits) => {
                self.pushed(ring, receiver_waits);
                Ok(())
            }
            Err(value) => self.send_buffered_wait(value, deadline),
        }
    }

    /// The buffered flavor's `try_send`: the common case with the value in hand, then the
    /// ring's loop.
    #[inline]
    fn try_send_buffered(&self, ring: &Ring<T>, value: T) -> Result<(), TrySendError<T>> {
        match ring.push_fast(value) {
            Ok(receiver_waits) => {
                self.pushed(ring, receiver_waits);
                Ok(())
            }
            Err(value) => self.try_send_buffered_retry(ring, value),
        }
    }

    /// [`Chan::try_send_buffered`] past its first claim: a function of its own so that, in
    /// unoptimised builds, its `T`-sized temporaries are not in the caller's frame.
    #[inline]
    fn try_send_buffered_retry(&self, ring: &Ring<T>, value: T) -> Result<(), TrySendError<T>> {
        let mut pending = Some(value);
        match ring.push_retry(&mut pending, false) {
            Ok(receiver_waits) => {
                self.pushed(ring, receiver_waits);
                Ok(())
            }
            Err(error) => refused(&mut pending, error),
        }
    }

    /// One push into the ring, moving the value out of `value` when it lands (`Ring::push`), and
    /// notifying a waiting receiver when the claim saw one. `registered`: the caller is counted
    /// as a waiting sender (module docs), so the ring waits for an in-flight pop of the slot it
    /// needs rather than report full.
    #[inline(always)]
    pub(super) fn push_ring(
        &self,
        ring: &Ring<T>,
        value: &mut Option<T>,
        registered: bool,
    ) -> Result<(), PushError> {
        let receiver_waits = ring.push(value, registered)?;
        self.pushed(ring, receiver_waits);
        Ok(())
    }

    /// After a push: notifies a waiting receiver when the claim saw one.
    #[inline(always)]
    pub(super) fn pushed(&self, ring: &Ring<T>, receiver_waits: bool) {
        if receiver_waits {
            self.settle(ring, true, false);
        }
    }

    /// A buffered send past its first claim, out of line: the ring's loop (a lost CAS, or
    /// room behind a pop in flight), then the wait. The value stays in one place, this frame's
    /// `pending`, until it lands (see `Ring::push`).
    #[inline(never)]
    fn send_buffered_wait(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let Flavor::Buffered(ring) = &self.flavor else { unreachable!("only the ring's sends wait here") };
        let mut pending = Some(value);
        match ring.push_retry(&mut pending, false) {
            Ok(receiver_waits) => {
                self.pushed(ring, receiver_waits);
                return Ok(());
            }
            Err(PushError::Closed) => return give_back(&mut pending, false),
            Err(PushError::Full) => {}
        }
        // The unregistered spin first (`spin_unregistered`): a receiver on another core usually
        // frees room within it, and a send that pushes itself costs the receiver nothing
        // (parking at once cost the capacity-1 handoff 24%). Then park the value if the
        // channel's slot for it is free, else wait on `send_wait`.
        let mut pushed = Err(PushError::Full);
        if spin_unregistered(deadline, || {
            pushed = self.push_ring(ring, &mut pending, false);
            pushed != Err(PushError::Full)
        }) {
            return match pushed {
                Ok(()) => Ok(()),
                Err(_) => give_back(&mut pending, false),
            };
        }
        if self.parked().send.try_claim() {
            return self.send_parked(ring, &mut pending, deadline);
        }
        let count = WaiterCount::RingSenders(ring);
        let outcome = self.wait_counted(&self.send_wait, count, deadline, false, |registered| {
            match self.push_ring(ring, &mut pending, registered) {
                Ok(()) => Some(Ok(())),
                Err(PushError::Closed) => Some(Err(())),
                Err(PushError::Full) => None,
            }
        });
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(())) => give_back(&mut pending, false),
            None => give_back(&mut pending, true),
        }
    }

    /// A blocking send that claimed the parked slot: parks its value for the receivers' pops
    /// to push (`parked_send.rs`), and waits until one did, or it pushed it itself, or it gets the
    /// value back (disconnected, or `deadline` passed).
    #[inline(never)]
    fn send_parked(
        &self,
        ring: &Ring<T>,
        pending: &mut Option<T>,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        ring.register_sender();
        let slot = &self.parked().send;
        let mut timed_out = false;
        let end = match slot.park(pending, ring) {
            Parked::Waiting => {
                match slot.taken_wait.wait_until(deadline, || self.poll_parked_send(pending)) {
                    Some(end) => end,
                    None => {
                        timed_out = true;
                        slot.withdraw(pending)
                    }
                }
            }
            end => end,
        };
        match end {
            Parked::Sent => Ok(()),
            Parked::Pushed(receiver_waits) => {
                ring.deregister_sender();
                if receiver_waits {
                    self.settle(ring, true, false);
                }
                Ok(())
            }
            Parked::Back => {
                ring.deregister_sender();
                give_back(pending, timed_out)
            }
            Parked::Waiting => unreachable!("a parked send ends sent, pushed or handed back"),
        }
    }

    /// The parked send's owner looks at its value: `None` while it stays parked (`Back`: the
    /// value is in `pending` again).
    fn poll_parked_send(&self, pending: &mut Option<T>) -> Option<Parked> {
        let slot = &self.parked().send;
        match slot.poll_owner() {
            // Disconnected: nobody will push it any more (the ring is closed).
            Parked::Waiting if self.is_disconnected() => Some(slot.withdraw(pending)),
            Parked::Waiting => None,
            end => Some(end),
        }
    }

    /// Waits on `queue` until `poll(registered)` returns `Some` or `deadline` passes (`None`),
    /// joining `count` before the first poll that may precede a sleep (module docs).
    /// `pre_spin`: spin unregistered first (the caller has not).
    fn wait_counted<R>(
        &self,
        queue: &WaitQueue,
        count: WaiterCount<'_, T>,
        deadline: Option<Instant>,
        pre_spin: bool,
        mut poll: impl FnMut(bool) -> Option<R>,
    ) -> Option<R> {
        // First spin unregistered (`spin_unregistered`). A receiver that runs dry for a moment
        // (the usual case when it is faster than its senders) finds a value here. The result
        // stays in this frame: `R` can be big, and a helper returning it would be one more
        // frame holding it in unoptimised builds.
        if pre_spin {
            let mut ready = None;
            if spin_unregistered(deadline, || {
                ready = poll(false);
                ready.is_some()
            }) {
                return ready;
            }
        }
        let mut registration = Registration { count, registered: false };
        // Register when the park phase begins, before its first poll (each of its polls may be
        // the last one before a sleep); the spin and yield phases poll unregistered. A thread
        // waiting for its core (pinned, oversubscribed) is thus not counted while it yields,
        // and the other side's operations skip the notify meanwhile.
        queue.wait_until_phased(deadline, |parking| {
            if parking {
                registration.join();
            }
            poll(parking)
        })
    }

    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.try_recv_as(false)
    }

    /// [`Chan::try_recv`]; `registered`: the caller is counted as a waiting receiver (module
    /// docs), so the ring waits for an in-flight push of the oldest position rather than report
    /// empty. (The list's pop always waits for it.)
    #[inline]
    pub(super) fn try_recv_as(&self, registered: bool) -> Result<T, TryRecvError> {
        match &self.flavor {
            Flavor::Buffered(ring) => self.try_recv_buffered(ring, registered),
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

    /// The buffered flavor's [`Chan::try_recv_as`], also `recv_deadline`'s first attempt:
    /// inline, so that a blocking receive that finds a value runs only this (not the dispatch,
    /// whose other flavors' code would make it a call with a larger frame).
    #[inline]
    pub(super) fn try_recv_buffered(&self, ring: &Ring<T>, registered: bool) -> Result<T, TryRecvError> {
        if let Some(value) = self.pop_ring(ring, registered) {
            return Ok(value);
        }
        if !self.is_disconnected() {
            return Err(TryRecvError::Empty);
        }
        self.try_recv_disconnected(ring)
    }

    /// [`Chan::try_recv_buffered`] on a disconnected channel, out of line (disconnection is
    /// rare). The Acquire load in `is_disconnected` made the closed tail visible, with every
    /// claim made before the close: a registered pop takes a value the first pop raced past,
    /// and waits for a send that claimed its slot before `Chan::close` and is still writing
    /// (a few instructions; the last sender's drop leaves no such send, so after it this never
    /// waits), rather than report `Disconnected` past its value: that send returned `Ok`.
    #[cold]
    fn try_recv_disconnected(&self, ring: &Ring<T>) -> Result<T, TryRecvError> {
        let mut received = None;
        self.pop_ring_into(ring, true, &mut received);
        received.ok_or(TryRecvError::Disconnected)
    }

    /// [`Chan::try_recv_buffered`] into `received` (a `None` the caller owns), for the waiting
    /// receives: no `T` passes through a return value on the way from the ring's slot to the
    /// caller's variable. In an unoptimised build each frame a returned `T` passes through
    /// holds a copy or more, and a waiting receive asked for its value through six frames
    /// (a 64 KiB value then took 23 value sizes of stack; `tests/stack_use.rs`). The calls
    /// that return the value stay as they are: optimised builds inline them, and the common
    /// case, a value there at once, is theirs.
    fn try_recv_buffered_into(
        &self,
        ring: &Ring<T>,
        registered: bool,
        received: &mut Option<T>,
    ) -> Result<(), TryRecvError> {
        self.pop_ring_into(ring, registered, received);
        if received.is_none() {
            if !self.is_disconnected() {
                return Err(TryRecvError::Empty);
            }
            // As `try_recv_disconnected`.
            self.pop_ring_into(ring, true, received);
            if received.is_none() {
                return Err(TryRecvError::Disconnected);
            }
        }
        Ok(())
    }

    /// [`Chan::pop_ring`] into `received` (a `None`, left `None` when the ring had nothing).
    fn pop_ring_into(&self, ring: &Ring<T>, registered: bool, received: &mut Option<T>) {
        match ring.pop_into(registered, received) {
            Ok(report) => {
                if report.calls_for_more() {
                    let value = received.as_mut().expect("a pop that succeeded has its value");
                    self.popped_with_more(ring, report, value);
                }
            }
            Err(report) => {
                if report.front() {
                    self.steal_front(ring, received);
                }
            }
        }
    }

    /// One pop from the ring, notifying a waiting sender when the claim saw one.
    #[inline]
    fn pop_ring(&self, ring: &Ring<T>, registered: bool) -> Option<T> {
        // Two calls, no `T` of our own: in an unoptimised build the value then takes no room in
        // this frame, and a large one is popped straight into the variable it is returned from.
        if Ring::<T>::POPS_INLINE {
            self.pop_ring_inline(ring, registered)
        } else {
            self.pop_ring_large(ring, registered)
        }
    }

    /// [`Chan::pop_ring`] for a large value (see `Ring::POPS_INLINE`).
    fn pop_ring_large(&self, ring: &Ring<T>, registered: bool) -> Option<T> {
        let mut received = None;
        self.pop_ring_into(ring, registered, &mut received);
        received
    }

    /// [`Chan::pop_ring`] for a small value, all inline in optimised builds.
    #[inline]
    fn pop_ring_inline(&self, ring: &Ring<T>, registered: bool) -> Option<T> {
        // A `match`, not `?`: in unoptimised builds every step of `?` is a `T`-sized slot.
        match ring.pop(registered) {
            Ok((mut value, report)) => {
                if report.calls_for_more() {
                    self.popped_with_more(ring, report, &mut value);
                }
                Some(value)
            }
            Err(report) => {
                if report.front() {
                    let mut received = None;
                    self.steal_front(ring, &mut received);
                    return received;
                }
                None
            }
        }
    }

    /// A pop whose claim saw more than the position in `head`: the front mark (the parked
    /// receive may hold an older value, which this receive takes instead: `value` is swapped,
    /// `parked_recv.rs`, "An async owner"), a waiting sender (notified, `settle`), or both.
    #[cold]
    #[inline(never)]
    fn popped_with_more(&self, ring: &Ring<T>, report: PopReport, value: &mut T) {
        if report.front() {
            // ORDERING: Acquire pairs with the Release CAS of the fill's pop that set the mark:
            // our claim read it or a later RMW of its release sequence (every write of `head`
            // is an RMW), so the fill's claim of the slot is visible to our look at it.
            fence(Ordering::Acquire);
            self.parked().recv.swap_front(report.position(), value);
        }
        if report.sender_waits() {
            self.settle(ring, false, true);
        }
    }

    /// A pop that found the ring empty but saw the front mark: takes the parked receive's
    /// front value, if it still holds one, into `received` (`parked_recv.rs`, "An async
    /// owner").
    #[cold]
    #[inline(never)]
    fn steal_front(&self, ring: &Ring<T>, received: &mut Option<T>) {
        // ORDERING: Acquire, as in `popped_with_more`: the empty pop loaded the mark from the
        // release sequence of the fill's marking claim.
        fence(Ordering::Acquire);
        self.parked().recv.steal_front(ring, received);
    }

    /// After a push that saw a waiting receiver (`value_added`) or a pop that saw a waiting
    /// sender (`room_freed`): fills the parked receive with the oldest value, or pushes the
    /// parked send's value into the freed room, or else wakes a waiter on `recv_wait` /
    /// `send_wait` (`parked_recv.rs`, `parked_send.rs`). A fill is a pop and a hand-off a push,
    /// so each may call for the other: a loop, one step per value moved (at most a few: each
    /// slot serves one owner until that owner runs again).
    pub(super) fn settle(&self, ring: &Ring<T>, mut value_added: bool, mut room_freed: bool) {
        while value_added || room_freed {
            // ORDERING: one fence per step, after the push or pop that called for it and before
            // our look at the slot: the parked owner's handshake (`parked_*.rs`: against its
            // fence between publishing its slot and its re-check), and the waiting layer's
            // notifier fence for the queue we may notify (`notify_one_after_fence`).
            fence(Ordering::SeqCst);
            if value_added {
                value_added = false;
                // The value went to the parked receive (whose owner is the receiver this push
                // serves), or a receiver on `recv_wait` is woken for it.
                match self.parked().recv.fill(ring) {
                    Some(fill) => {
                        room_freed |= fill.sender_waits;
                        if fill.front {
                            // An async owner's value is the channel's front, which any
                            // receive may take: wake one that waits on `recv_wait` too. The
                            // notifier's fence of the waiting layer's handshake was issued by
                            // the fill's notify of the owner (`notify_async_owner`), after its
                            // marking pop and its store of `FILLED`: against a waiter's
                            // registration before its re-check, whose pop then sees the mark (and
                            // steals the value).
                            self.notify_receiver_after_fence(ring);
                        }
                    }
                    None => self.notify_receiver_after_fence(ring),
                }
            } else {
                room_freed = false;
                // The room went to the parked value (whose owner is the sender this pop
                // serves), or a sender on `send_wait` is woken for it.
                match self.parked().send.hand_off(ring) {
                    Some(receiver_waits) => value_added |= receiver_waits,
                    None => self.notify_sender_after_fence(ring),
                }
            }
        }
    }

    /// Wakes one receiver waiting for a value of the ring, after the caller's fence: the lane's
    /// holder, else one on `recv_wait` (`lane.rs`).
    #[inline]
    fn notify_receiver_after_fence(&self, ring: &Ring<T>) {
        if !self.recv_lane.notify_after_fence(|| ring.deregister_receiver()) {
            self.recv_wait.notify_one_after_fence(|| ring.deregister_receiver());
        }
    }

    /// Wakes one sender waiting for room in the ring, after the caller's fence: the lane's
    /// holder, else one on `send_wait`.
    #[inline]
    fn notify_sender_after_fence(&self, ring: &Ring<T>) {
        if !self.send_lane.notify_after_fence(|| ring.deregister_sender()) {
            self.send_wait.notify_one_after_fence(|| ring.deregister_sender());
        }
    }

    /// Receives, waiting until `deadline` (`None`: forever) for a value. Every arm is one call
    /// (as in `send_deadline`): a flavor's `T`-sized temporaries are in its own frame.
    #[inline]
    pub(crate) fn recv_deadline(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match &self.flavor {
            Flavor::Buffered(ring) => self.recv_buffered(ring, deadline),
            Flavor::Unbounded(list) => self.recv_unbounded(list, deadline),
            Flavor::Rendezvous(slot) => slot.recv(self, deadline),
        }
    }

    /// The buffered flavor's blocking receive: the common case, a value there, inline.
    #[inline]
    fn recv_buffered(&self, ring: &Ring<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        match self.pop_ring(ring, false) {
            Some(value) => Ok(value),
            None => self.recv_wait_counted(WaiterCount::RingReceivers(ring), deadline),
        }
    }

    /// The unbounded flavor's blocking receive, as [`Chan::recv_buffered`].
    #[inline]
    fn recv_unbounded(&self, list: &List<T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        // `EmptyCheck::Slot`: a receive that finds nothing waits, and the wait's registered
        // polls (the only ones whose "empty" can end it) look at `tail`.
        match list.pop_checking(EmptyCheck::Slot) {
            Some(value) => Ok(value),
            None => self.recv_wait_counted(WaiterCount::ListReceivers(list), deadline),
        }
    }

    /// A blocking receive whose first pop found nothing, out of line: a disconnected channel
    /// gives what is left, then `Disconnected`; else it waits. The value comes back through
    /// `received`, not through the waiting layer's result: in unoptimised builds each frame a
    /// result passes through holds it (four frames between the pop and here).
    #[inline(never)]
    fn recv_wait_counted(
        &self,
        count: WaiterCount<'_, T>,
        deadline: Option<Instant>,
    ) -> Result<T, RecvTimeoutError> {
        let mut received = None;
        let outcome = match count {
            // What is left, then `Disconnected`; registered pops wait for a send still writing
            // (`try_recv_disconnected`).
            WaiterCount::RingReceivers(ring) if self.is_disconnected() => Some(
                self.try_recv_buffered_into(ring, true, &mut received)
                    .map_err(|_| RecvTimeoutError::Disconnected),
            ),
            // Park a request where pushes fill it, when this thread's partner shares its core
            // (`parked_recv.rs`; always under loom, whose models must explore it).
            WaiterCount::RingReceivers(ring)
                if (cfg!(loom) || !crate::wait::spinning_helps()) && self.parked().recv.try_claim() =>
            {
                self.recv_parked(ring, deadline, &mut received)
            }
            _ => self.wait_counted(&self.recv_wait, count, deadline, true, |registered| {
                match self.try_recv_into(registered, &mut received) {
                    Ok(()) => Some(Ok(())),
                    Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
                    Err(TryRecvError::Empty) => None,
                }
            }),
        };
        match outcome {
            Some(Ok(())) => Ok(received.take().expect("a receive that succeeded has its value")),
            Some(Err(error)) => Err(error),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// [`Chan::try_recv_as`] that leaves the value in `received` (a `None` the caller owns):
    /// for the waiting receives, as `try_recv_buffered_into`. An unregistered poll of the
    /// unbounded flavor may miss a value whose sender is still writing it (`EmptyCheck::Slot`):
    /// such a poll only decides whether the wait looks again.
    #[inline]
    pub(super) fn try_recv_into(
        &self,
        registered: bool,
        received: &mut Option<T>,
    ) -> Result<(), TryRecvError> {
        match &self.flavor {
            Flavor::Buffered(ring) => self.try_recv_buffered_into(ring, registered, received),
            Flavor::Unbounded(list) => {
                let check = if registered { EmptyCheck::Tail } else { EmptyCheck::Slot };
                self.try_recv_unbounded_into(list, check, received)
            }
            Flavor::Rendezvous(_) => self.try_recv_rendezvous_into(received),
        }
    }

    /// The unbounded flavor's [`Chan::try_recv_into`], as `try_recv_as`'s arm.
    fn try_recv_unbounded_into(
        &self,
        list: &List<T>,
        check: EmptyCheck,
        received: &mut Option<T>,
    ) -> Result<(), TryRecvError> {
        if list.pop_into(received, check) {
            return Ok(());
        }
        if !self.is_disconnected() {
            return Err(TryRecvError::Empty);
        }
        // As in `try_recv_as` (every value sent before the disconnect is claimed by now: the
        // `tail` check finds it).
        if list.pop_into(received, EmptyCheck::Tail) { Ok(()) } else { Err(TryRecvError::Disconnected) }
    }

    /// The rendezvous flavor's [`Chan::try_recv_into`] (a call of its own, so that its `T`
    /// temporaries are not in the other flavors' frames; its blocking receive waits in
    /// `rendezvous.rs`, not here).
    fn try_recv_rendezvous_into(&self, received: &mut Option<T>) -> Result<(), TryRecvError> {
        match self.try_recv_as(false) {
            Ok(value) => {
                *received = Some(value);
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// A blocking receive that claimed the parked receive: counts itself, re-checks, and waits
    /// until a push fills its request, or gives the request up (deadline, disconnection). The
    /// value comes back in `received`, as `recv_wait_counted`'s outcome says: `None` when the
    /// deadline passed.
    #[inline(never)]
    fn recv_parked(
        &self,
        ring: &Ring<T>,
        deadline: Option<Instant>,
        received: &mut Option<T>,
    ) -> Option<Result<(), RecvTimeoutError>> {
        ring.register_receiver();
        let slot = &self.parked().recv;
        let mut timed_out = false;
        let end = match slot.park(ring, received) {
            Request::Waiting => {
                match slot.filled_wait.wait_until(deadline, || self.poll_parked_recv(received)) {
                    Some(end) => end,
                    None => {
                        timed_out = true;
                        slot.withdraw(received)
                    }
                }
            }
            end => end,
        };
        match end {
            // The filler lowered our count.
            Request::Filled => Some(Ok(())),
            Request::Popped(sender_waits) => {
                ring.deregister_receiver();
                if sender_waits {
                    self.settle(ring, false, true);
                }
                Some(Ok(()))
            }
            Request::Withdrawn => {
                ring.deregister_receiver();
                if timed_out {
                    return None;
                }
                // Disconnected: what was sent before is in the ring (`try_recv_as`).
                Some(self.try_recv_into(true, received).map_err(|_| RecvTimeoutError::Disconnected))
            }
            Request::Waiting | Request::Stolen | Request::Orphaned => {
                unreachable!("a blocking parked receive ends filled, popped or withdrawn")
            }
        }
    }

    /// The parked receive's owner looks at its request: `None` while it waits.
    fn poll_parked_recv(&self, received: &mut Option<T>) -> Option<Request> {
        let slot = &self.parked().recv;
        match slot.poll_owner(received) {
            // Disconnected: no push will fill it any more; drain the ring instead.
            Request::Waiting if self.is_disconnected() => Some(slot.withdraw(received)),
            Request::Waiting => None,
            end => Some(end),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Buffered(ring) => ring.len() + usize::from(self.parked().recv.holds_front()),
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

#[cfg(all(test, not(loom)))]
mod parked_recv_tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::Duration;

    /// The interleaving of the loom model `a_parked_receive_claimed_before_its_count_strands_no_receiver`,
    /// played by hand on real threads: a receiver claims the parked receive and is "preempted"
    /// before it counts itself; meanwhile another receiver waits, counted, and a sender pushes
    /// twice. With the claim to `WAITING`, the first push served the claim and lowered the
    /// waiting receiver's count, the second push woke nobody, and the waiting receiver slept
    /// with a value in the ring (`parked_recv.rs`, "Why no value waits unseen").
    #[test]
    fn a_push_between_a_parked_claim_and_its_count_wakes_the_waiting_receiver() {
        let chan = Arc::new(Chan::<u32>::try_new(2).expect("capacity 2"));
        let (got_tx, got_rx) = mpsc::channel();
        let waiting = {
            let chan = chan.clone();
            // A fresh thread spins before it waits, so it waits on `recv_wait`, counted, and
            // leaves the parked receive to the claim below.
            std::thread::spawn(move || got_tx.send(chan.recv_deadline(None)).expect("the test waits"))
        };
        // Give it time to count itself and sleep (if it has not, the pushes below reach it
        // anyway and the test checks less, but never fails for it).
        std::thread::sleep(Duration::from_millis(200));
        let Flavor::Buffered(ring) = &chan.flavor else { unreachable!("a capacity-2 channel") };
        // The first receiver's claim, as `recv_wait_counted` makes it; then the two pushes.
        assert!(chan.parked().recv.try_claim(), "the parked receive is free");
        chan.send_deadline(1, None).expect("room");
        chan.send_deadline(2, None).expect("room");
        // The first receiver resumes: counts itself, re-checks, takes a value.
        let mut received = None;
        assert!(matches!(chan.recv_parked(ring, None, &mut received), Some(Ok(()))));
        // The other value is the waiting receiver's, without a disconnection to wake it
        // (a generous bound: it wakes in microseconds; a lost wakeup never does).
        let other = got_rx.recv_timeout(Duration::from_secs(10));
        chan.close(); // frees the waiting receiver if it was stranded, so the thread ends
        waiting.join().expect("the receiver thread");
        let other = other.expect("the waiting receiver was woken for the value left in the ring");
        let mut got = [received.expect("the claimer's value"), other.expect("a value, not an error")];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    }
}
