//! [`Selector`]: waits for the first ready of several channel operations (receives and sends,
//! on channels of any element types and flavors) and futures, blocking, until a deadline, or
//! not at all.
//!
//! # No protocol of its own
//!
//! An operation of a selector is its channel's async operation (`chan_async.rs`), driven by the
//! selecting thread: a round polls every operation with a waker that unparks the thread, and
//! the thread parks until one of them wakes it (`wait_async`: a round per poll of its future,
//! with the task's waker). The first operation whose poll is `Ready` is
//! the selected one; the others are cancelled, which the async operations' cancel safety makes
//! harmless (model-checked with loom there: a receive takes a value only inside the poll that
//! returns it; a buffered send moves its value into the channel only inside the poll that
//! returns `Ready`). So exactly one operation completes, and every other leaves its channel as
//! it found it, with no protocol here to prove beyond the order of the polls. A future added
//! with `Selector::future` is one more such operation: polled the same way, and its
//! cancellation is its drop (by value) or nothing (by reference: the caller keeps it).
//!
//! # The one exception: a send on a zero-capacity channel
//!
//! A rendezvous send waits with its value in the channel's hand-over slot, where a receiver may
//! take it between two polls: the send then completed behind the selector's back. Two rules
//! keep it the only completed operation:
//!
//! - each round first *settles* that send: its value is taken back (or found taken: then it is
//!   the selected operation, and no other was polled since its value went in);
//! - it is polled last in a round, after every other operation returned `Pending`, and a
//!   `Ready` there is the selected operation.
//!
//! So while its value is in the slot no other operation is polled, and no other can complete.
//! Two such sends could both be taken while the thread sleeps, so a selector holds at most one
//! (a second panics where it is added); and it may not also receive from that channel (its
//! own placed value would wake that receive on every round: a busy loop).
//!
//! # The closure runs last
//!
//! An operation that completes keeps its outcome; its closure runs once every other operation
//! has left its channel's queues. A closure that waits for another thread of one of those
//! channels (sends there, then waits for an answer) would otherwise hold up a wakeup meant for
//! that thread until it returned (found by review: a deadlock).
//!
//! # Fairness
//!
//! Each selection looks at the operations in a random order (`Order`: a random start and a
//! random stride coprime with their number), so an operation that is always ready does not
//! starve the others whatever the pattern of calls, and which of several ready ones completes
//! does not follow the order they were added; [`Selector::biased`] looks at them in the order
//! they were added instead (priorities).

use super::chan::Chan;
use super::chan_async::{RecvWait, SendWait};
use super::error::{RecvError, SelectTimeoutError, SendError, TrySelectError, TrySendError, ready_or_empty};
use super::{Receiver, Sender};
use crate::parker::Parker;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Waits for the first ready of several channel operations, completes it, and returns what its
/// closure makes of the outcome: crossbeam's `select!` and flume's `Selector`, for channels of
/// any element types, every flavor, and threads and async tasks on the other ends.
///
/// Build one with [`recv`](Selector::recv), [`recv_any`](Selector::recv_any) (a run-time set
/// of receivers), [`send`](Selector::send), [`send_any`](Selector::send_any) (a run-time set
/// of senders) and [`future`](Selector::future) (a timer, a oneshot, any future), one closure
/// per operation, all returning the same `R`; then
/// [`wait`](Selector::wait), [`wait_timeout`](Selector::wait_timeout),
/// [`wait_deadline`](Selector::wait_deadline), [`try_wait`](Selector::try_wait), or in async
/// code [`wait_async`](Selector::wait_async).
///
/// - **Exactly one operation completes** (or none, on a timeout): a value is received from one
///   channel only, sent to one channel only, and the other operations leave their channels as
///   they found them.
/// - **Nothing is lost.** A send's value lives in the caller's `Option`: it is taken out only
///   by the operation that completes (sent, or back in its [`SendError`]); otherwise it stays
///   there for the next attempt. An empty `Option` switches the send off.
/// - **Ready means** a value to receive, room for a send, or a disconnected channel (the
///   operation completes with its error, as [`Receiver::recv`] and [`Sender::send`] do); for
///   a [`future`](Selector::future), a poll that returns `Ready`.
/// - **Fair**: the operations are looked at in a random order (a random start and stride), so
///   which of several ready ones completes does not follow the order they were added, and
///   none that is always ready starves the others; [`biased`](Selector::biased) prefers them
///   in the order they were added.
/// - **The closure runs after** every other operation has left its channel, so it may use
///   those channels freely (even wait on them).
/// - **Blocking** as the channel's own calls: a few microseconds of spinning and yielding over
///   all the operations (the blocking calls' adaptive spin), then the thread parks until one
///   of them may be ready. No allocation of its own, but one for a
///   [`recv_any`](Selector::recv_any) that must wait (a channel's wait queue may grow when it
///   registers, as for any waiter, and a thread's first selection makes its waker). An operation's waker that fires
///   after the selection returned leaves the thread's unpark token set: the thread's next
///   [`std::thread::park`] may return at once, as std allows.
/// - **Async**: [`wait`](Selector::wait) blocks its thread, so on an async runtime's thread it
///   stalls the tasks there (a deadlock, when the other side is one of them). In async code,
///   await [`wait_async`](Selector::wait_async), or race the channels' cancel-safe futures
///   (`recv_async`, `send_async`) with `select!`.
/// - At most one send on a zero-capacity channel per selector (the others may be anything):
///   see [`send`](Selector::send).
///
/// # Examples
///
/// Whichever of two channels of different types has a value first, with a timeout:
///
/// ```
/// use ringfence::channel::{bounded, unbounded, Selector};
/// use std::time::Duration;
///
/// let (numbers_tx, numbers) = bounded::<u32>(4);
/// let (words_tx, words) = unbounded::<&str>();
/// words_tx.send("hello").unwrap();
///
/// let got = Selector::new()
///     .recv(&numbers, |n| format!("number {}", n.unwrap()))
///     .recv(&words, |w| format!("word {}", w.unwrap()))
///     .wait_timeout(Duration::from_secs(1));
/// assert_eq!(got.as_deref(), Ok("word hello"));
/// # drop(numbers_tx);
/// ```
///
/// A dispatcher that hands jobs to a worker and collects its results through two small
/// channels: blocking on either alone could deadlock (each side waiting for room the other
/// would make), so it waits for whichever is possible. The next job stays in its `Option`
/// until a send takes it:
///
/// ```
/// use ringfence::channel::{bounded, Selector};
/// use std::thread;
///
/// let (jobs, jobs_rx) = bounded::<u64>(1);
/// let (results_tx, results) = bounded::<u64>(1);
/// let worker = thread::spawn(move || {
///     for n in jobs_rx {
///         results_tx.send(n * n).unwrap();
///     }
/// });
/// let mut next_jobs = 1..=100;
/// let mut job = next_jobs.next();
/// let (mut received, mut sum) = (0, 0);
/// while received < 100 {
///     Selector::new()
///         .send(&jobs, &mut job, |sent| sent.expect("the worker is alive"))
///         .recv(&results, |result| {
///             sum += result.expect("the worker is alive");
///             received += 1;
///         })
///         .wait();
///     if job.is_none() {
///         job = next_jobs.next(); // sent: the next one (none left: the send is off)
///     }
/// }
/// assert_eq!(sum, (1..=100).map(|n| n * n).sum());
/// drop(jobs);
/// worker.join().unwrap();
/// ```
#[must_use = "a selector does nothing until it waits"]
pub struct Selector<R, A = ()> {
    operations: A,
    biased: bool,
    output: PhantomData<fn() -> R>,
}

impl<R> Selector<R> {
    /// A selector with no operation yet.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{Selector, TrySelectError};
    ///
    /// // No operation: nothing can be ready.
    /// assert_eq!(Selector::<()>::new().try_wait(), Err(TrySelectError));
    /// ```
    pub fn new() -> Self {
        Selector { operations: (), biased: false, output: PhantomData }
    }
}

impl<R> Default for Selector<R> {
    /// As [`Selector::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let selector: ringfence::channel::Selector<u8> = Default::default();
    /// assert!(selector.try_wait().is_err());
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<R, A: Operations<R>> Selector<R, A> {
    /// Adds a receive from `receiver`: ready when a value is there, or when the channel is
    /// empty and every sender is gone (then `f` gets [`RecvError`], as from
    /// [`Receiver::recv`]). `f` runs only if this receive is the one completed.
    ///
    /// A receive that is not completed takes nothing: a value that arrives for it while the
    /// selector looks elsewhere stays in the channel.
    ///
    /// On a zero-capacity channel the receive waits as [`Receiver::recv_async`] does, so a
    /// [`Sender::try_send`] (which hands over only to a thread blocked in [`Receiver::recv`])
    /// does not reach a selecting thread; [`Sender::send`] and the timed sends do. (crossbeam's
    /// `try_send` does reach its selecting receivers.)
    ///
    /// # Panics
    ///
    /// When the selector already sends to this zero-capacity channel (see
    /// [`send`](Selector::send)).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    ///
    /// let (tx, rx) = bounded(1);
    /// tx.send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(Selector::new().recv(&rx, |got| got.ok()).wait(), Some(7));
    /// assert_eq!(Selector::new().recv(&rx, |got| got.ok()).wait(), None); // disconnected
    /// ```
    #[track_caller]
    pub fn recv<'a, T, F>(self, receiver: &'a Receiver<T>, f: F) -> Selector<R, (A, RecvOperation<'a, T, F>)>
    where
        F: FnOnce(Result<T, RecvError>) -> R,
    {
        let chan: &Chan<T> = &receiver.chan;
        assert!(
            self.operations.rendezvous_send().map(|(_, sending)| sending) != Some(chan_address(chan)),
            "a Selector cannot both send to and receive from one zero-capacity channel"
        );
        let operation = RecvOperation { chan, wait: selector_recv_wait(), f: Some(f), outcome: None };
        Selector { operations: (self.operations, operation), biased: self.biased, output: PhantomData }
    }

    /// Adds a receive from whichever of `receivers` has a value first: for a set of channels
    /// whose number is known only at run time (each [`recv`](Selector::recv) changes the
    /// selector's type, so a loop cannot add them one by one). `f` gets the index of the
    /// receiver in the slice and its outcome, as from [`recv`](Selector::recv): a disconnected
    /// channel is ready with [`RecvError`] (drop it from the slice to stop selecting it).
    ///
    /// The receivers are looked at in a random order, as the operations are (in order with
    /// [`biased`](Selector::biased)). No allocation unless it must wait (then
    /// one, for the receivers' waits). An empty slice is never ready.
    ///
    /// # Panics
    ///
    /// When the selector already sends to one of these channels of capacity 0 (see
    /// [`send`](Selector::send)).
    ///
    /// # Examples
    ///
    /// Draining a run-time set of channels until each is disconnected:
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use std::thread;
    ///
    /// let mut receivers = Vec::new();
    /// for id in 0..3u32 {
    ///     let (tx, rx) = bounded(2);
    ///     thread::spawn(move || (0..10).for_each(|i| tx.send(id * 100 + i).unwrap()));
    ///     receivers.push(rx);
    /// }
    /// let mut total = 0;
    /// while !receivers.is_empty() {
    ///     match Selector::new().recv_any(&receivers, |index, got| (index, got)).wait() {
    ///         (_, Ok(value)) => total += value,
    ///         (index, Err(_)) => drop(receivers.swap_remove(index)), // disconnected
    ///     }
    /// }
    /// assert_eq!(total, (0..3).map(|id| (0..10).map(|i| id * 100 + i).sum::<u32>()).sum());
    /// ```
    #[track_caller]
    pub fn recv_any<'a, T, F>(
        self,
        receivers: &'a [Receiver<T>],
        f: F,
    ) -> Selector<R, (A, RecvAnyOperation<'a, T, F>)>
    where
        F: FnOnce(usize, Result<T, RecvError>) -> R,
    {
        if let Some((_, sending)) = self.operations.rendezvous_send() {
            assert!(
                !receivers.iter().any(|receiver| std::ptr::eq(chan_address(&receiver.chan), sending)),
                "a Selector cannot both send to and receive from one zero-capacity channel"
            );
        }
        let operation = RecvAnyOperation {
            receivers,
            waits: Vec::new(),
            order: Order::new(receivers.len(), true),
            f: Some(f),
            outcome: None,
        };
        Selector { operations: (self.operations, operation), biased: self.biased, output: PhantomData }
    }

    /// Adds a send of the value in `value` to `sender`: ready when there is room (on a
    /// zero-capacity channel: when a receiver takes it), or when every receiver is gone (then
    /// `f` gets the value back in a [`SendError`], as from [`Sender::send`]). `f` runs only if
    /// this send is the one completed.
    ///
    /// `value` is a `&mut Option<T>`, or a `&Cell<Option<T>>` shared by several sends of the
    /// same value (it goes to whichever channel is ready first; [`SendValue`]). When the
    /// selection returns, the value is back there unless this send completed (then it is
    /// `None`: the value was sent, or is in the error). A `value` of `None` switches the send
    /// off: it is never ready, and the selector waits for its other operations.
    ///
    /// # Panics
    ///
    /// When `sender`'s channel has capacity 0 and the selector already holds a send to a
    /// zero-capacity channel, or a receive from this one: such a send waits with its value in
    /// the channel, where a receiver may take it at any time, so two of them could both
    /// complete (module docs). Receives from other zero-capacity channels, and sends to other
    /// flavors, mix freely with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector, TrySelectError};
    ///
    /// let (tx, rx) = bounded(1);
    /// let mut value = Some("first");
    /// assert_eq!(Selector::new().send(&tx, &mut value, |sent| sent.is_ok()).try_wait(), Ok(true));
    /// assert_eq!(value, None); // sent
    ///
    /// let mut value = Some("second");
    /// // Full: nothing completes, and the value stays with the caller.
    /// assert_eq!(Selector::new().send(&tx, &mut value, |sent| sent.is_ok()).try_wait(), Err(TrySelectError));
    /// assert_eq!(value, Some("second"));
    /// assert_eq!(rx.recv(), Ok("first"));
    /// ```
    #[track_caller]
    pub fn send<'a, T, V, F>(
        self,
        sender: &'a Sender<T>,
        value: V,
        f: F,
    ) -> Selector<R, (A, SendOperation<'a, T, V, F>)>
    where
        V: SendValue<T>,
        F: FnOnce(Result<(), SendError<T>>) -> R,
    {
        let chan: &Chan<T> = &sender.chan;
        let rendezvous = chan.capacity() == Some(0);
        if rendezvous {
            assert!(
                self.operations.rendezvous_send().is_none(),
                "a Selector holds at most one send to a zero-capacity channel"
            );
            assert!(
                !self.operations.receives_from(chan_address(chan)),
                "a Selector cannot both send to and receive from one zero-capacity channel"
            );
        }
        let operation =
            SendOperation { chan, value, wait: selector_send_wait(), rendezvous, f: Some(f), outcome: None };
        Selector { operations: (self.operations, operation), biased: self.biased, output: PhantomData }
    }

    /// Adds a send of the value in `value` to whichever of `senders` has room first: for a set
    /// of channels whose number is known only at run time (each [`send`](Selector::send)
    /// changes the selector's type), such as a job for whichever worker's queue has room. `f`
    /// gets the index of the sender in the slice and the outcome, as from
    /// [`send`](Selector::send): a channel whose receivers are all gone is ready, with the
    /// value back in its [`SendError`] (drop that sender from the slice to stop offering to
    /// it).
    ///
    /// `value` is as [`send`](Selector::send)'s: a `&mut Option<T>` or a shared
    /// `&Cell<Option<T>>`, taken out only by the send that completes, and `None` switches the
    /// operation off. The senders are looked at in a random order, as the operations are (in
    /// order with [`biased`](Selector::biased)). No allocation unless it must wait (then one,
    /// for the senders' waits). An empty slice is never ready.
    ///
    /// # Panics
    ///
    /// When one of `senders` has capacity 0: a send there waits with its value in the channel,
    /// so the value could not be offered to the other channels at the same time. Give such a
    /// channel a [`send`](Selector::send) of its own.
    ///
    /// # Examples
    ///
    /// Dealing jobs to whichever of a run-time set of workers has room in its queue:
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use std::thread;
    ///
    /// let mut queues = Vec::new();
    /// let mut workers = Vec::new();
    /// for _ in 0..3 {
    ///     let (tx, rx) = bounded::<u64>(2);
    ///     queues.push(tx);
    ///     workers.push(thread::spawn(move || rx.iter().sum::<u64>()));
    /// }
    /// for job in 1..=100 {
    ///     let mut job = Some(job);
    ///     Selector::new()
    ///         .send_any(&queues, &mut job, |_worker, sent| sent.expect("every worker is alive"))
    ///         .wait();
    /// }
    /// drop(queues);
    /// let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    /// assert_eq!(total, 5050); // every job done once, by whichever worker had room
    /// ```
    #[track_caller]
    pub fn send_any<'a, T, V, F>(
        self,
        senders: &'a [Sender<T>],
        value: V,
        f: F,
    ) -> Selector<R, (A, SendAnyOperation<'a, T, V, F>)>
    where
        V: SendValue<T>,
        F: FnOnce(usize, Result<(), SendError<T>>) -> R,
    {
        assert!(
            senders.iter().all(|sender| sender.chan.capacity() != Some(0)),
            "Selector::send_any takes no zero-capacity channel (give it a `send` of its own)"
        );
        let operation = SendAnyOperation {
            senders,
            value,
            waits: Vec::new(),
            order: Order::new(senders.len(), true),
            f: Some(f),
            outcome: None,
        };
        Selector { operations: (self.operations, operation), biased: self.biased, output: PhantomData }
    }

    /// Adds a future: ready when a poll of it is `Ready`, and `f` gets its output. Any
    /// `Future + Unpin`: a timer ([`timer::sleep`](crate::timer::sleep), an
    /// [`Interval`](crate::timer::Interval)'s [`tick`](crate::timer::Interval::tick)), a
    /// [`oneshot::Receiver`](crate::oneshot::Receiver), a semaphore's
    /// [`acquire_async`](crate::semaphore::Semaphore::acquire_async), another crate's future.
    /// A `!Unpin` future (an `async` block) goes in pinned: `Box::pin(future)`, or
    /// [`std::pin::pin!`] and `.as_mut()`.
    ///
    /// - **Polled at every look** of the selection: the first looks and the spin poll it with
    ///   a no-op waker, the rounds after them with a waker that unparks the selecting thread
    ///   (in [`wait_async`](Selector::wait_async), the task's waker). A future must tolerate a
    ///   change of waker between polls, as every future must; ringfence's do.
    /// - **By value or by reference.** Passed by value, the future is dropped when another
    ///   operation completes, before that operation's closure runs: its own cancel safety says
    ///   what that gives up. Timers and ticks ([`Sleep`](crate::timer::Sleep),
    ///   [`Tick`](crate::timer::Tick)), [`acquire_async`](crate::semaphore::Semaphore::acquire_async)
    ///   (its permits go back), [`recv_async`](super::Receiver::recv_async) (the value stays in
    ///   the channel) give up nothing; a [`oneshot::Receiver`](crate::oneshot::Receiver) whose
    ///   reply has arrived, or a [`send_async`](super::Sender::send_async), drops its value with
    ///   itself: pass those as `&mut future`. Passed so, it stays with the caller, its progress
    ///   and registrations included, for the next selection (as a `&mut future` branch of
    ///   `tokio::select!`); once it completed, do not poll it again.
    /// - **Exactly one completes, of what the selector can see.** A future whose own effect may
    ///   happen between two polls, without its poll returning `Ready`, can complete beside the
    ///   selected operation: a [`send_async`](super::Sender::send_async) on a zero-capacity
    ///   channel (its value waits in the channel, where a receiver takes it), or another
    ///   selector's [`wait_async`](Selector::wait_async) holding such a send. Send with
    ///   [`send`](Selector::send), which the selector settles (module docs); a
    ///   [`recv_async`](super::Receiver::recv_async) on the zero-capacity channel that a `send`
    ///   of the same selector sends to would busy-loop, as a [`recv`](Selector::recv) there
    ///   would (which the selector rejects, but cannot see inside a future).
    /// - **No runtime.** The blocking waits poll it on the selecting thread, outside any async
    ///   runtime: a future that needs one (tokio's timers and I/O) fails there (creating a
    ///   tokio timer outside a runtime panics), or waits until a runtime running elsewhere
    ///   drives it; in async code use [`wait_async`](Selector::wait_async) on that runtime.
    ///   ringfence's futures need none (its timer runs on a thread of its own).
    /// - **Always on.** A send switches off with an empty `Option`; a future cannot: build the
    ///   selection without it (or give it [`std::future::pending`] of the same type, through an
    ///   `Either`-like enum).
    ///
    /// # Examples
    ///
    /// A worker that takes jobs from a channel and reports every 10 ms, with ringfence's
    /// [`Interval`](crate::timer::Interval); the ticks stay in the interval between selections:
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use ringfence::timer::interval;
    /// use std::time::Duration;
    ///
    /// enum Event {
    ///     Job(Option<u32>),
    ///     Report,
    /// }
    /// let (jobs, jobs_rx) = bounded::<u32>(8);
    /// std::thread::spawn(move || {
    ///     for job in 0..5 {
    ///         jobs.send(job).unwrap();
    ///         std::thread::sleep(Duration::from_millis(4));
    ///     }
    /// });
    /// let mut report = interval(Duration::from_millis(10));
    /// let (mut done, mut reports) = (0, 0);
    /// loop {
    ///     let event = Selector::new()
    ///         .recv(&jobs_rx, |job| Event::Job(job.ok()))
    ///         .future(report.tick(), |_at| Event::Report)
    ///         .wait();
    ///     match event {
    ///         Event::Job(Some(_job)) => done += 1,
    ///         Event::Job(None) => break, // every sender gone
    ///         Event::Report => reports += 1,
    ///     }
    /// }
    /// assert_eq!(done, 5);
    /// assert!(reports >= 1); // the first tick is at once
    /// ```
    ///
    /// A reply on a oneshot, or a cancellation on a channel, whichever comes first; the
    /// oneshot is passed by reference, so a reply that lost the race is still there:
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use ringfence::oneshot;
    ///
    /// let (cancel, cancelled) = bounded::<()>(1);
    /// let (reply_tx, mut reply) = oneshot::channel::<&str>();
    /// cancel.send(()).unwrap();
    /// let outcome = Selector::new()
    ///     .future(&mut reply, |answer| answer.ok())
    ///     .recv(&cancelled, |_| None)
    ///     .biased() // the reply first, when both are ready
    ///     .wait();
    /// assert_eq!(outcome, None); // cancelled: no reply yet
    /// reply_tx.send("late").unwrap();
    /// assert_eq!(reply.recv(), Ok("late")); // still in the oneshot
    /// ```
    pub fn future<F, G>(self, future: F, f: G) -> Selector<R, (A, FutureOperation<F, G>)>
    where
        F: Future + Unpin,
        G: FnOnce(F::Output) -> R,
    {
        let operation = FutureOperation { future: Some(future), f: Some(f), outcome: None };
        Selector { operations: (self.operations, operation), biased: self.biased, output: PhantomData }
    }

    /// Looks at the operations in the order they were added, every time: the first ready one
    /// completes. For priorities (a shutdown channel before the work); an operation that is
    /// always ready then starves the ones after it.
    ///
    /// One exception: a send to a zero-capacity channel waits with its value in the channel,
    /// where a receiver may take it while the thread sleeps; that send then completes, even if
    /// an operation added before it became ready too.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{unbounded, Selector};
    ///
    /// let (urgent_tx, urgent) = unbounded();
    /// let (normal_tx, normal) = unbounded();
    /// normal_tx.send("normal").unwrap();
    /// urgent_tx.send("urgent").unwrap();
    /// let first = Selector::new()
    ///     .recv(&urgent, Result::unwrap)
    ///     .recv(&normal, Result::unwrap)
    ///     .biased()
    ///     .wait();
    /// assert_eq!(first, "urgent");
    /// ```
    pub fn biased(mut self) -> Self {
        self.biased = true;
        self
    }

    /// Completes the first ready operation and returns its closure's result, or fails at once
    /// when none is ready. Never blocks (a zero-capacity send completes only to a receiver
    /// blocked in [`Receiver::recv`], as [`Sender::try_send`]). A [`future`](Selector::future)
    /// is polled once, with a no-op waker: one passed as `&mut future` that stays pending may
    /// keep that registration (an `acquire_async` its place in the semaphore's line) until it
    /// is polled again or dropped.
    ///
    /// # Errors
    ///
    /// [`TrySelectError`] when no operation is ready: nothing was received or sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector, TrySelectError};
    ///
    /// let (tx, rx) = bounded::<u8>(1);
    /// assert_eq!(Selector::new().recv(&rx, |got| got.unwrap()).try_wait(), Err(TrySelectError));
    /// tx.send(3).unwrap();
    /// assert_eq!(Selector::new().recv(&rx, |got| got.unwrap()).try_wait(), Ok(3));
    /// ```
    pub fn try_wait(self) -> Result<R, TrySelectError> {
        self.run(Wait::No).map_err(|_| TrySelectError)
    }

    /// Waits for the first ready operation, completes it, and returns its closure's result.
    ///
    /// # Panics
    ///
    /// When no operation is switched on (no operation at all, or only sends of empty `Option`s):
    /// the call would block forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use std::thread;
    ///
    /// let (a_tx, a) = bounded::<i32>(1);
    /// let (b_tx, b) = bounded::<i32>(1);
    /// thread::spawn(move || b_tx.send(2).unwrap());
    /// let got = Selector::new().recv(&a, |v| ('a', v)).recv(&b, |v| ('b', v)).wait();
    /// assert_eq!(got, ('b', Ok(2)));
    /// # drop(a_tx);
    /// ```
    #[track_caller]
    pub fn wait(self) -> R {
        assert!(
            self.operations.any_enabled(),
            "Selector::wait with no operation switched on would block forever"
        );
        match self.run(Wait::Until(None)) {
            Ok(output) => output,
            Err(TimedOut) => unreachable!("a wait without a deadline does not time out"),
        }
    }

    /// As [`wait`](Selector::wait), giving up after `timeout`. A timeout too large to add to
    /// `Instant::now()` (such as `Duration::MAX`) waits forever; with no operation switched on,
    /// the call sleeps for `timeout` and fails.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] when no operation was ready in time: nothing was received or sent.
    ///
    /// # Panics
    ///
    /// With no operation switched on and a timeout that waits forever.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector, SelectTimeoutError};
    /// use std::time::Duration;
    ///
    /// let (_tx, rx) = bounded::<u8>(1);
    /// let got = Selector::new().recv(&rx, |v| v).wait_timeout(Duration::from_millis(5));
    /// assert_eq!(got, Err(SelectTimeoutError));
    /// ```
    pub fn wait_timeout(self, timeout: Duration) -> Result<R, SelectTimeoutError> {
        match crate::wait::deadline_after(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(self.wait()),
        }
    }

    /// As [`wait`](Selector::wait), giving up at `deadline`.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] when no operation was ready by the deadline: nothing was received
    /// or sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::channel::{bounded, Selector};
    /// use std::time::{Duration, Instant};
    ///
    /// let (tx, rx) = bounded::<u8>(1);
    /// tx.send(1).unwrap();
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(Selector::new().recv(&rx, |v| v).wait_deadline(deadline), Ok(Ok(1)));
    /// ```
    pub fn wait_deadline(self, deadline: Instant) -> Result<R, SelectTimeoutError> {
        self.run(Wait::Until(Some(deadline))).map_err(|_| SelectTimeoutError)
    }

    /// The selection: a look at every operation without waiting, a short spin of such looks,
    /// then rounds of polls and parks (module docs). The completed operation's closure runs
    /// last, once every other operation has left its channel's queues: a closure that waits
    /// for another thread of one of those channels does not hold up that thread's wakeup.
    fn run(mut self, wait: Wait) -> Result<R, TimedOut> {
        let count = A::COUNT;
        let order = Order::new(count, self.biased);
        let ops = &mut self.operations;
        (0..count).for_each(|index| ops.operation(index).prepare(self.biased));
        // The common case, something ready: no registration, no waker.
        if let Some(index) = try_each(ops, order) {
            return Ok(complete(ops, index));
        }
        let Wait::Until(deadline) = wait else { return Err(TimedOut) };
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(TimedOut); // a zero timeout: registering would only disturb the channels
        }
        // The blocking calls' spin and adaptive yield phase (`wait::spin`), over all the
        // operations at once: a partner answering within it spares the registrations and the
        // park. The timer it returns, kept until the selection ends, tunes the next one.
        let park_timer = match crate::wait::spin(deadline, || try_each(ops, order)) {
            Ok(index) => return Ok(complete(ops, index)),
            Err(park_timer) => park_timer,
        };
        let rendezvous = ops.rendezvous_send().map(|(index, _)| index);
        let parker = Parker::new();
        let completed = loop {
            if let Some(index) = poll_round(ops, order, rendezvous, &parker.waker) {
                cancel_others(ops, index);
                break Some(index);
            }
            if !parker.park_until(deadline) {
                // Out of time. A rendezvous value taken while we slept was sent: that send is
                // the selected operation after all.
                break cancel_all(ops, count);
            }
        };
        // The wait is over: the closure's own time (it may block) is not the park's.
        drop(park_timer);
        completed.map(|index| ops.operation(index).finish()).ok_or(TimedOut)
    }

    /// Waits for the first ready operation as a future: the async form of
    /// [`wait`](Selector::wait), for any executor, and for what `select!` macros cannot do
    /// (a run-time set of receivers with [`recv_any`](Selector::recv_any), a value offered to
    /// several channels through a shared `Cell`). Each poll runs one round of the selector's
    /// polls with the task's waker; the first operation that completes is the selected one,
    /// and the output is its closure's result.
    ///
    /// With no operation switched on it never completes (bound it with a timeout). The future
    /// is `Unpin` whatever its operations hold (nothing in it is pinned), and `Send` when they
    /// are: the channels' element types, the send values' holders (not a shared `Cell`), the
    /// closures, and each [`future`](Selector::future) with its output.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves every operation's channel as it found
    /// it: nothing received, and a send's value back in the caller's `Option` (or `Cell`).
    /// One exception, as for a dropped [`SendFuture`](super::SendFuture): a send to a
    /// zero-capacity channel waits with its value in the channel, and a receiver may have
    /// taken it just before the drop; the value was then sent (the caller's `Option` is
    /// `None`), but no closure ran.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::channel::{bounded, Selector};
    ///
    /// let (a_tx, a) = bounded::<u32>(1);
    /// let (b_tx, b) = bounded::<u32>(1);
    /// let receivers = [a, b];
    /// tokio::spawn(async move { b_tx.send_async(5).await.unwrap() });
    /// let (index, value) = Selector::new().recv_any(&receivers, |i, v| (i, v.unwrap())).wait_async().await;
    /// assert_eq!((index, value), (1, 5));
    /// # drop(a_tx);
    /// # });
    /// ```
    pub fn wait_async(self) -> SelectFuture<R, A> {
        SelectFuture {
            operations: self.operations,
            biased: self.biased,
            started: None,
            done: false,
            output: PhantomData,
        }
    }

    /// [`select!`](crate::select)'s `async;` form without a `default` arm: as
    /// [`wait_async`](Selector::wait_async), but a selection with no operation switched on
    /// panics when the `select!` runs, as the blocking form does (through
    /// [`wait`](Selector::wait)) and as tokio's `select!` does, instead of never completing
    /// (found by a user's review: a forwarding loop whose send arm's `Option` was empty hung).
    #[doc(hidden)]
    #[track_caller]
    pub fn __wait_async_for_select(self) -> SelectFuture<R, A> {
        assert!(
            self.operations.any_enabled(),
            "select! with no operation switched on and no `default` arm would wait forever"
        );
        self.wait_async()
    }
}

/// One round of polls with `waker`, in the order of the module docs: the rendezvous send
/// settled first (its value, in the slot since the last round, taken back before any other
/// operation may complete), the others in `order`, the rendezvous send last (every other
/// operation pending: its value goes into the slot). The operation that completed.
fn poll_round<R, A: Operations<R>>(
    ops: &mut A,
    order: Order,
    rendezvous: Option<usize>,
    waker: &Waker,
) -> Option<usize> {
    if let Some(index) = rendezvous {
        if ops.operation(index).settle(waker) {
            return Some(index);
        }
    }
    if let Some(index) =
        order.indices().find(|&index| Some(index) != rendezvous && ops.operation(index).poll(waker))
    {
        return Some(index);
    }
    rendezvous.filter(|&index| ops.operation(index).poll(waker))
}

/// Cancels every operation but `completed` (which holds nothing any more); a second completion
/// (a zero-capacity send found taken) would break the selector's promise: a bug, reported.
fn cancel_others<R, A: Operations<R>>(ops: &mut A, completed: usize) {
    let also = cancel_all(ops, A::COUNT);
    assert!(also.is_none(), "a rendezvous send completed beside operation {completed}: a bug in Selector");
}

/// Ends a selection whose operation `completed` completed: cancels the others, then runs its
/// closure. Also after a look (which registers nothing on a channel): a future passed by value
/// is dropped there, before the closure.
fn complete<R, A: Operations<R>>(ops: &mut A, completed: usize) -> R {
    cancel_others(ops, completed);
    ops.operation(completed).finish()
}

/// The future of [`Selector::wait_async`].
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use ringfence::channel::{unbounded, Selector};
///
/// let (tx, rx) = unbounded::<&str>();
/// tx.send("ready").unwrap();
/// let future: ringfence::channel::SelectFuture<_, _> = Selector::new().recv(&rx, |v| v.unwrap()).wait_async();
/// assert_eq!(future.await, "ready");
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<R, A> {
    operations: A,
    biased: bool,
    /// Set by the first poll: the order of the looks and where the rendezvous send is.
    started: Option<(Order, Option<usize>)>,
    /// Set by the poll that returned `Ready`.
    done: bool,
    output: PhantomData<fn() -> R>,
}

// Nothing of a selection is pinned: its channel operations are polled through `&mut`, and a
// future operation's future is `Unpin` (polled through `Pin::new`). So the future is `Unpin`
// whatever its closures, values and outputs are.
impl<R, A> Unpin for SelectFuture<R, A> {}

impl<R, A: Operations<R>> Future for SelectFuture<R, A> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        assert!(!this.done, "a SelectFuture polled after it completed");
        let ops = &mut this.operations;
        let (order, rendezvous) = match this.started {
            Some(started) => started,
            None => {
                let count = A::COUNT;
                (0..count).for_each(|index| ops.operation(index).prepare(this.biased));
                let order = Order::new(count, this.biased);
                let started = (order, ops.rendezvous_send().map(|(index, _)| index));
                this.started = Some(started);
                // The first look without registering, as `wait`'s.
                if let Some(index) = try_each(ops, order) {
                    this.done = true;
                    return Poll::Ready(complete(ops, index));
                }
                started
            }
        };
        match poll_round(ops, order, rendezvous, cx.waker()) {
            Some(index) => {
                this.done = true;
                Poll::Ready(complete(ops, index))
            }
            None => Poll::Pending,
        }
    }
}

/// Terminated once it returned `Ready`.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<R, A: Operations<R>> futures_core::future::FusedFuture for SelectFuture<R, A> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<R, A> fmt::Debug for SelectFuture<R, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture").field("done", &self.done).finish_non_exhaustive()
    }
}

impl<R, A> fmt::Debug for Selector<R, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selector").field("biased", &self.biased).finish_non_exhaustive()
    }
}

/// Each operation's look without waiting, in `order`: the one that completed.
fn try_each<R, A: Operations<R>>(ops: &mut A, order: Order) -> Option<usize> {
    order.indices().find(|&index| ops.operation(index).try_now())
}

/// Cancels every operation (they hold no wait after it); returns the index of a rendezvous
/// send that its cancel found completed (a receiver took its value).
fn cancel_all<R, A: Operations<R>>(ops: &mut A, count: usize) -> Option<usize> {
    (0..count)
        .fold(None, |completed, index| if ops.operation(index).cancel() { Some(index) } else { completed })
}

/// The order in which a selection looks at `count` operations (or a `recv_any` at its
/// receivers): from a random start, by a random stride coprime with `count` (so every one is
/// visited once). So no pattern of calls starves an operation that is always ready (a start
/// rotating per thread did, for two selectors alternating on one thread), and which of several
/// ready operations completes depends little on the order they were added (a random start
/// walking by one chose the operation after a never-ready one twice as often: both found by
/// review). In the order added when `biased`; and under loom, whose models' threads share one
/// process thread and must make the same choices in every execution.
#[derive(Clone, Copy, Debug)]
struct Order {
    start: usize,
    stride: usize,
    count: usize,
}

impl Order {
    fn new(count: usize, biased: bool) -> Self {
        if biased || count < 2 || cfg!(loom) {
            return Order { start: 0, stride: 1, count };
        }
        let random = crate::random::next_random();
        // Multiply-shift, not `%`: a division is most of a non-blocking selection's cost.
        let below = |n: usize, bits: u64| ((u128::from(bits) * n as u128) >> 64) as usize;
        let start = below(count, random);
        if count == 2 {
            return Order { start, stride: 1, count };
        }
        // A stride in 1..count coprime with it: the candidate drawn, or the next one up
        // (round to 1, which always is).
        let mut stride = 1 + below(count - 1, random.rotate_left(32));
        while gcd(stride, count) != 1 {
            stride = stride % (count - 1) + 1;
        }
        // Either direction, evenly: the search above lands on some strides more often than
        // others (for 6 operations on 5, backwards, 4 times in 5), and a walk that favours one
        // direction favours the later of two neighbouring ready operations (7:3, found by
        // review).
        if random & (1 << 20) != 0 {
            stride = count - stride;
        }
        Order { start, stride, count }
    }

    /// Every index below `count`, once each, in this order.
    fn indices(self) -> impl Iterator<Item = usize> {
        let Order { start, stride, count } = self;
        std::iter::successors(Some(start), move |&index| Some((index + stride) % count)).take(count)
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A receive's wait state: the selector spins over all its operations before it polls them, so
/// none spins again on its own (each would, in turn, for a microsecond or two: the ready one
/// may be the last).
fn selector_recv_wait() -> RecvWait {
    let mut wait = RecvWait::default();
    wait.spun = true;
    wait
}

/// A send's wait state, as [`selector_recv_wait`]'s.
fn selector_send_wait() -> SendWait {
    let mut wait = SendWait::default();
    wait.spun = true;
    wait
}

/// A channel's identity, to compare operations' channels.
fn chan_address<T>(chan: &Chan<T>) -> *const () {
    std::ptr::from_ref(chan).cast()
}

/// How long a selection may wait.
#[derive(Clone, Copy)]
enum Wait {
    No,
    /// Until the deadline; `None`: forever.
    Until(Option<Instant>),
}

/// A selection that ran out of time (or, for `try_wait`, found nothing ready).
struct TimedOut;

/// The selector's operations: `()`, then `(earlier, last)` pairs, one per added operation.
/// Sealed: the module is private.
pub trait Operations<R> {
    /// How many operations.
    const COUNT: usize;

    /// The operation added `index`-th (from 0).
    fn operation(&mut self, index: usize) -> &mut dyn Operation<R>;

    /// The send to a zero-capacity channel, if there is one: its index and its channel.
    fn rendezvous_send(&self) -> Option<(usize, *const ())>;

    /// Whether an operation receives from the channel at `chan`.
    fn receives_from(&self, chan: *const ()) -> bool;

    /// Whether any operation can ever be ready (a send of `None` cannot).
    fn any_enabled(&self) -> bool;
}

impl<R> Operations<R> for () {
    const COUNT: usize = 0;

    fn operation(&mut self, _: usize) -> &mut dyn Operation<R> {
        unreachable!("no operation at that index")
    }

    fn rendezvous_send(&self) -> Option<(usize, *const ())> {
        None
    }

    fn receives_from(&self, _: *const ()) -> bool {
        false
    }

    fn any_enabled(&self) -> bool {
        false
    }
}

impl<R, A: Operations<R>, O: Operation<R>> Operations<R> for (A, O) {
    const COUNT: usize = A::COUNT + 1;

    fn operation(&mut self, index: usize) -> &mut dyn Operation<R> {
        if index == A::COUNT { &mut self.1 } else { self.0.operation(index) }
    }

    fn rendezvous_send(&self) -> Option<(usize, *const ())> {
        match self.1.rendezvous_send_channel() {
            Some(chan) => Some((A::COUNT, chan)),
            None => self.0.rendezvous_send(),
        }
    }

    fn receives_from(&self, chan: *const ()) -> bool {
        self.1.receives_from(chan) || self.0.receives_from(chan)
    }

    fn any_enabled(&self) -> bool {
        self.1.is_enabled() || self.0.any_enabled()
    }
}

/// One operation of a selector. Sealed: the module is private.
///
/// Completing and finishing are two steps: the calls that complete it keep the outcome, and
/// [`finish`](Operation::finish) runs the caller's closure on it, after every other operation
/// was cancelled.
pub trait Operation<R> {
    /// Called once before the selection's first look: `biased` as the selector's.
    fn prepare(&mut self, biased: bool) {
        let _ = biased;
    }

    /// A look without waiting or registering: `true` when it completed.
    fn try_now(&mut self) -> bool;

    /// A poll of its async operation with `waker`: `true` when it completed; else it waits
    /// (registered) until cancelled or polled again.
    fn poll(&mut self, waker: &Waker) -> bool;

    /// A rendezvous send only: a poll, then (still pending) its value taken back out of the
    /// slot; `true` when it completed (or had: a receiver took the value).
    fn settle(&mut self, waker: &Waker) -> bool {
        let _ = waker;
        false
    }

    /// Leaves any wait; `true` for a rendezvous send whose value a receiver took meanwhile
    /// (it completed).
    fn cancel(&mut self) -> bool;

    /// Runs the closure on the outcome of the completion.
    fn finish(&mut self) -> R;

    /// The channel, for a send to a zero-capacity channel.
    fn rendezvous_send_channel(&self) -> Option<*const ()> {
        None
    }

    /// Whether it receives from the channel at `chan`.
    fn receives_from(&self, chan: *const ()) -> bool {
        let _ = chan;
        false
    }

    /// Whether it can ever be ready.
    fn is_enabled(&self) -> bool {
        true
    }
}

/// A receive of a [`Selector`] (from [`Selector::recv`]).
pub struct RecvOperation<'a, T, F> {
    chan: &'a Chan<T>,
    wait: RecvWait,
    f: Option<F>,
    /// The completion's outcome, until `finish` hands it to `f`.
    outcome: Option<Result<T, RecvError>>,
}

impl<R, T, F: FnOnce(Result<T, RecvError>) -> R> Operation<R> for RecvOperation<'_, T, F> {
    fn try_now(&mut self) -> bool {
        self.outcome = ready_or_empty(self.chan.try_recv());
        self.outcome.is_some()
    }

    fn poll(&mut self, waker: &Waker) -> bool {
        if let Poll::Ready(outcome) = self.chan.poll_recv(&mut self.wait, waker) {
            self.outcome = Some(outcome);
        }
        self.outcome.is_some()
    }

    fn cancel(&mut self) -> bool {
        self.leave();
        false
    }

    fn finish(&mut self) -> R {
        let outcome = self.outcome.take().expect("finish follows a completion");
        (self.f.take().expect("an operation finishes once"))(outcome)
    }

    fn receives_from(&self, chan: *const ()) -> bool {
        std::ptr::eq(chan_address(self.chan), chan)
    }
}

impl<T, F> fmt::Debug for RecvOperation<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvOperation").field("waiting", &self.wait.is_waiting()).finish_non_exhaustive()
    }
}

impl<T, F> RecvOperation<'_, T, F> {
    /// Leaves the channel's queue if the receive waits there.
    fn leave(&mut self) {
        if self.wait.may_hold() {
            self.chan.cancel_recv(&mut self.wait);
        }
    }
}

impl<T, F> Drop for RecvOperation<'_, T, F> {
    /// A selector dropped while it waited (a panic in a waker): leave the queue.
    fn drop(&mut self) {
        self.leave();
    }
}

/// A receive from any of a slice of receivers (from [`Selector::recv_any`]).
pub struct RecvAnyOperation<'a, T, F> {
    receivers: &'a [Receiver<T>],
    /// One wait per receiver, made at the first poll (the looks without waiting need none).
    waits: Vec<RecvWait>,
    /// The order of the looks at the receivers (`prepare`).
    order: Order,
    f: Option<F>,
    /// The completion's receiver index and outcome, until `finish` hands them to `f`.
    outcome: Option<(usize, Result<T, RecvError>)>,
}

impl<T, F> RecvAnyOperation<'_, T, F> {
    fn leave(&mut self) {
        for (receiver, wait) in self.receivers.iter().zip(&mut self.waits) {
            if wait.may_hold() {
                receiver.chan.cancel_recv(wait);
            }
        }
    }
}

impl<R, T, F: FnOnce(usize, Result<T, RecvError>) -> R> Operation<R> for RecvAnyOperation<'_, T, F> {
    fn prepare(&mut self, biased: bool) {
        self.order = Order::new(self.receivers.len(), biased);
    }

    fn try_now(&mut self) -> bool {
        self.outcome = self
            .order
            .indices()
            .find_map(|index| Some((index, ready_or_empty(self.receivers[index].chan.try_recv())?)));
        self.outcome.is_some()
    }

    fn poll(&mut self, waker: &Waker) -> bool {
        if self.waits.is_empty() {
            self.waits.resize_with(self.receivers.len(), selector_recv_wait);
        }
        for index in self.order.indices() {
            if let Poll::Ready(outcome) = self.receivers[index].chan.poll_recv(&mut self.waits[index], waker)
            {
                self.outcome = Some((index, outcome));
                return true;
            }
        }
        false
    }

    fn cancel(&mut self) -> bool {
        self.leave();
        false
    }

    fn finish(&mut self) -> R {
        let (index, outcome) = self.outcome.take().expect("finish follows a completion");
        (self.f.take().expect("an operation finishes once"))(index, outcome)
    }

    fn receives_from(&self, chan: *const ()) -> bool {
        self.receivers.iter().any(|receiver| std::ptr::eq(chan_address(&receiver.chan), chan))
    }

    fn is_enabled(&self) -> bool {
        !self.receivers.is_empty()
    }
}

impl<T, F> fmt::Debug for RecvAnyOperation<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvAnyOperation").field("receivers", &self.receivers.len()).finish_non_exhaustive()
    }
}

impl<T, F> Drop for RecvAnyOperation<'_, T, F> {
    /// A selector dropped while it waited: leave the queues.
    fn drop(&mut self) {
        self.leave();
    }
}

/// A send of a [`Selector`] (from [`Selector::send`]).
pub struct SendOperation<'a, T, V: SendValue<T>, F> {
    chan: &'a Chan<T>,
    /// The caller's value: taken only by the completion (or, on a zero-capacity channel, put
    /// in the slot while the selector waits, and back by `settle` / `cancel` unless taken).
    value: V,
    wait: SendWait,
    rendezvous: bool,
    f: Option<F>,
    /// The completion's outcome, until `finish` hands it to `f`.
    outcome: Option<Result<(), SendError<T>>>,
}

impl<T, V: SendValue<T>, F> SendOperation<'_, T, V, F> {
    /// Leaves any wait, putting a value taken back out of the rendezvous slot into the
    /// caller's `Option`: `true` when the value had been taken by a receiver instead (sent).
    fn leave(&mut self) -> bool {
        if !self.wait.may_hold() {
            return false;
        }
        let owned_the_slot = self.wait.owning;
        match self.chan.cancel_send(&mut self.wait) {
            Some(value) => {
                self.value.put(value);
                false
            }
            None => owned_the_slot,
        }
    }
}

impl<R, T, V: SendValue<T>, F: FnOnce(Result<(), SendError<T>>) -> R> Operation<R>
    for SendOperation<'_, T, V, F>
{
    fn try_now(&mut self) -> bool {
        let Some(value) = self.value.take() else { return false };
        self.outcome = match self.chan.try_send(value) {
            Ok(()) => Some(Ok(())),
            Err(TrySendError::Full(value)) => {
                self.value.put(value);
                None
            }
            Err(TrySendError::Disconnected(value)) => Some(Err(SendError(value))),
        };
        self.outcome.is_some()
    }

    fn poll(&mut self, waker: &Waker) -> bool {
        // Switched off, or a rendezvous value still in the slot (settled before any other poll).
        if !self.value.is_some() && !self.wait.owning {
            return false;
        }
        if let Poll::Ready(outcome) =
            self.value.with(|value| self.chan.poll_send(value, &mut self.wait, waker))
        {
            self.outcome = Some(outcome);
        }
        self.outcome.is_some()
    }

    fn settle(&mut self, waker: &Waker) -> bool {
        if !self.wait.owning {
            return false;
        }
        if self.poll(waker) {
            return true;
        }
        self.cancel()
    }

    fn cancel(&mut self) -> bool {
        let sent = self.leave();
        if sent {
            self.outcome = Some(Ok(()));
        }
        sent
    }

    fn finish(&mut self) -> R {
        let outcome = self.outcome.take().expect("finish follows a completion");
        (self.f.take().expect("an operation finishes once"))(outcome)
    }

    fn rendezvous_send_channel(&self) -> Option<*const ()> {
        self.rendezvous.then(|| chan_address(self.chan))
    }

    fn is_enabled(&self) -> bool {
        self.value.is_some()
    }
}

impl<T, V: SendValue<T>, F> fmt::Debug for SendOperation<'_, T, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendOperation")
            .field("has_value", &self.value.is_some())
            .field("waiting", &self.wait.is_waiting())
            .finish_non_exhaustive()
    }
}

impl<T, V: SendValue<T>, F> Drop for SendOperation<'_, T, V, F> {
    /// A selector dropped while it waited: leave the queue; a value taken back out of the
    /// rendezvous slot goes back to the caller (one a receiver took was sent).
    fn drop(&mut self) {
        self.leave();
    }
}

/// A send to any of a slice of senders (from [`Selector::send_any`]).
pub struct SendAnyOperation<'a, T, V: SendValue<T>, F> {
    senders: &'a [Sender<T>],
    /// The caller's value: taken only by the completion.
    value: V,
    /// One wait per sender, made at the first poll (the looks need none).
    waits: Vec<SendWait>,
    /// The order of the looks at the senders (`prepare`).
    order: Order,
    f: Option<F>,
    /// The completion's sender index and outcome, until `finish` hands them to `f`.
    outcome: Option<(usize, Result<(), SendError<T>>)>,
}

impl<T, V: SendValue<T>, F> SendAnyOperation<'_, T, V, F> {
    /// Leaves every sender's queue where a send waits (no channel here has capacity 0, so
    /// none holds the value).
    fn leave(&mut self) {
        for (sender, wait) in self.senders.iter().zip(&mut self.waits) {
            if wait.may_hold() {
                let held = sender.chan.cancel_send(wait);
                debug_assert!(held.is_none(), "only a zero-capacity send holds its value");
            }
        }
    }
}

impl<R, T, V: SendValue<T>, F: FnOnce(usize, Result<(), SendError<T>>) -> R> Operation<R>
    for SendAnyOperation<'_, T, V, F>
{
    fn prepare(&mut self, biased: bool) {
        self.order = Order::new(self.senders.len(), biased);
    }

    fn try_now(&mut self) -> bool {
        let Some(mut value) = self.value.take() else { return false };
        for index in self.order.indices() {
            match self.senders[index].chan.try_send(value) {
                Ok(()) => {
                    self.outcome = Some((index, Ok(())));
                    return true;
                }
                Err(TrySendError::Full(back)) => value = back,
                Err(TrySendError::Disconnected(back)) => {
                    self.outcome = Some((index, Err(SendError(back))));
                    return true;
                }
            }
        }
        self.value.put(value);
        false
    }

    fn poll(&mut self, waker: &Waker) -> bool {
        if !self.value.is_some() {
            return false; // switched off
        }
        if self.waits.is_empty() {
            self.waits.resize_with(self.senders.len(), selector_send_wait);
        }
        for index in self.order.indices() {
            let (chan, wait) = (&self.senders[index].chan, &mut self.waits[index]);
            // A pending send leaves the value in the `Option` (no channel here has capacity 0),
            // for the next sender.
            if let Poll::Ready(outcome) = self.value.with(|value| chan.poll_send(value, wait, waker)) {
                self.outcome = Some((index, outcome));
                return true;
            }
        }
        false
    }

    fn cancel(&mut self) -> bool {
        self.leave();
        false
    }

    fn finish(&mut self) -> R {
        let (index, outcome) = self.outcome.take().expect("finish follows a completion");
        (self.f.take().expect("an operation finishes once"))(index, outcome)
    }

    fn is_enabled(&self) -> bool {
        !self.senders.is_empty() && self.value.is_some()
    }
}

impl<T, V: SendValue<T>, F> fmt::Debug for SendAnyOperation<'_, T, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendAnyOperation")
            .field("senders", &self.senders.len())
            .field("has_value", &self.value.is_some())
            .finish_non_exhaustive()
    }
}

impl<T, V: SendValue<T>, F> Drop for SendAnyOperation<'_, T, V, F> {
    /// A selector dropped while it waited: leave the queues.
    fn drop(&mut self) {
        self.leave();
    }
}

/// A future of a [`Selector`] (from [`Selector::future`]).
pub struct FutureOperation<F: Future, G> {
    /// `None` once it completed or the selection ended (a future passed by value is dropped
    /// there: its cancellation, before the completed operation's closure runs).
    future: Option<F>,
    f: Option<G>,
    /// The completion's output, until `finish` hands it to `f`.
    outcome: Option<F::Output>,
}

impl<R, F: Future + Unpin, G: FnOnce(F::Output) -> R> Operation<R> for FutureOperation<F, G> {
    fn try_now(&mut self) -> bool {
        // A look registers nothing that wakes: what the future keeps of a no-op waker wakes
        // nobody, and the first round's poll replaces it (ringfence's `Sleep` recognises the
        // crate's no-op waker and registers nothing at all).
        self.poll(crate::wait::NOOP_WAKER)
    }

    fn poll(&mut self, waker: &Waker) -> bool {
        let Some(future) = self.future.as_mut() else { return false };
        match Pin::new(future).poll(&mut Context::from_waker(waker)) {
            Poll::Ready(output) => {
                self.future = None; // completed: a future is not polled again
                self.outcome = Some(output);
                true
            }
            Poll::Pending => false,
        }
    }

    fn cancel(&mut self) -> bool {
        self.future = None;
        false
    }

    fn finish(&mut self) -> R {
        let outcome = self.outcome.take().expect("finish follows a completion");
        (self.f.take().expect("an operation finishes once"))(outcome)
    }
}

impl<F: Future, G> fmt::Debug for FutureOperation<F, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureOperation").field("pending", &self.future.is_some()).finish_non_exhaustive()
    }
}

/// Where a send's value waits until the send completes, [`Selector::send`]'s `value`: the
/// caller's `&mut Option<T>`, for one send, or a `&Cell<Option<T>>` shared by several sends of
/// one selector (the value goes to whichever channel is ready first). Sealed: implemented for
/// those two only. A selector is `Send` with `&mut Option<T>` values (for `T: Send`), so its
/// [`wait_async`](Selector::wait_async) future can go to `tokio::spawn`; a `Cell` is not
/// `Sync`, so a selector sharing one stays on its thread.
///
/// # Examples
///
/// ```
/// use ringfence::channel::{bounded, Selector};
/// use std::cell::Cell;
///
/// let (a, a_rx) = bounded::<u32>(1);
/// let (b, b_rx) = bounded::<u32>(1);
/// a.send(0).unwrap(); // `a` is full
/// let job = Cell::new(Some(1));
/// let to = Selector::new().send(&a, &job, |_| 'a').send(&b, &job, |_| 'b').wait();
/// assert_eq!((to, job.take()), ('b', None));
/// assert_eq!(b_rx.try_recv(), Ok(1));
/// # drop(a_rx);
/// ```
#[diagnostic::on_unimplemented(
    message = "a selector's send takes its value in `&mut Option<{T}>` or `&Cell<Option<{T}>>`, not `{Self}`",
    label = "the value to send, held where an unsent one stays yours",
    note = "write `&mut next` for a `next: Option<{T}>`, or `&mut Some(value)` to offer a value you do not need back"
)]
pub trait SendValue<T>: slot::Slot<T> {}

impl<T> SendValue<T> for &mut Option<T> {}
impl<T> SendValue<T> for &Cell<Option<T>> {}

/// The sealed half of [`SendValue`]: how a send reaches its value.
mod slot {
    use std::cell::Cell;

    pub trait Slot<T> {
        fn take(&mut self) -> Option<T>;
        fn put(&mut self, value: T);
        fn is_some(&self) -> bool;
        /// Runs `f` on the value's `Option` (a `Cell`'s moved out for the call and back).
        fn with<U>(&mut self, f: impl FnOnce(&mut Option<T>) -> U) -> U;
    }

    impl<T> Slot<T> for &mut Option<T> {
        fn take(&mut self) -> Option<T> {
            Option::take(self)
        }

        fn put(&mut self, value: T) {
            **self = Some(value);
        }

        fn is_some(&self) -> bool {
            Option::is_some(self)
        }

        fn with<U>(&mut self, f: impl FnOnce(&mut Option<T>) -> U) -> U {
            f(self)
        }
    }

    impl<T> Slot<T> for &Cell<Option<T>> {
        fn take(&mut self) -> Option<T> {
            Cell::take(self)
        }

        fn put(&mut self, value: T) {
            self.set(Some(value));
        }

        fn is_some(&self) -> bool {
            // `Cell` has no `as_ref`: look by taking and putting back (no `T: Copy`).
            let taken = Cell::take(self);
            let some = taken.is_some();
            self.set(taken);
            some
        }

        fn with<U>(&mut self, f: impl FnOnce(&mut Option<T>) -> U) -> U {
            let mut value = Cell::take(self);
            let out = f(&mut value);
            self.set(value);
            out
        }
    }
}
