//! Fan-out and fan-in: spread items over workers, gather results from several sources.
//!
//! Two ways to fan out, because they trade differently:
//!
//! - **Work sharing** (usually what you want): every worker receives from *one* channel. The
//!   channel is MPMC, so this is just cloning its [`Receiver`]: an idle worker takes the next item,
//!   a slow worker never holds items back. [`share`] does the cloning for you.
//! - **Round robin** (the seed's way): item `i` goes to worker `i % n`, each worker with its own
//!   bounded queue ([`round_robin`]). Predictable placement (per-worker state, affinity), but a
//!   slow worker's queue fills and then holds up the distributor: one slow worker slows all.
//!
//! Fan-in: [`merge`] joins several receivers into one. Each input has a forwarding thread that
//! blocks on it and hands its values to the merged channel, so a busy input cannot keep a quiet
//! one from being forwarded: a forwarder waits only while the merged channel is full, and then
//! competes for room on equal terms with the others (no input is polled after another). What
//! "fair" means here, exactly: no input has priority, and a value that arrives on a quiet input
//! waits behind at most the merged channel's buffered values plus the values other forwarders
//! win the race for room with meanwhile. The channel does not queue blocked senders in FIFO
//! order, so that race has no hard bound; under a saturating input it is short in practice
//! (`tests/fan.rs`: ten quiet values among a never-ending busy stream all arrive). Within one
//! input the order is kept. The merged receiver disconnects once every input has.
//!
//! Gathering: [`collect_results`] drains a receiver of `Result`s into a [`Collected`] with the
//! successes, the failures and their counts.
//!
//! Everything here is built on [`channel::bounded`]: backpressure,
//! disconnection as end of stream, nothing lost (a value is delivered or handed back inside an
//! error, never dropped on the way).
//!
//! # Examples
//!
//! Fan out over a shared queue, fan the results back in, and gather them:
//!
//! ```
//! use ringfence::{channel, fan};
//! use std::thread;
//!
//! let (jobs, queue) = channel::bounded::<u32>(16);
//! let workers: Vec<_> = fan::share(queue, 3)
//!     .into_iter()
//!     .map(|queue| {
//!         let (results, out) = channel::bounded(16);
//!         thread::spawn(move || {
//!             for n in queue.iter() {
//!                 let result = if n % 5 == 0 { Err(n) } else { Ok(n * 10) };
//!                 results.send(result).unwrap();
//!             }
//!         });
//!         out
//!     })
//!     .collect();
//! let merged = fan::merge(workers, 16);
//! for n in 1..=10 {
//!     jobs.send(n).unwrap();
//! }
//! drop(jobs); // the workers end once the queue is drained, and the merge after them
//! let gathered = fan::collect_results(&merged);
//! assert_eq!(gathered.total(), 10);
//! let mut failed = gathered.failed.clone();
//! failed.sort();
//! assert_eq!(failed, [5, 10]);
//! ```

use crate::channel::{self, Receiver, Sender};
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll};
use std::thread;

/// Work sharing: `n` handles on one queue (clones of `input`); each worker takes the next item
/// when it is free.
///
/// # Panics
///
/// Panics with `"fan::share: at least one worker"` when `n == 0`.
///
/// # Examples
///
/// ```
/// use ringfence::{channel::bounded, fan};
///
/// let (tx, rx) = bounded(16);
/// let workers: Vec<_> = fan::share(rx, 3)
///     .into_iter()
///     .map(|rx| std::thread::spawn(move || rx.iter().map(|x: u64| x * x).sum::<u64>()))
///     .collect();
/// for i in 1..=10 {
///     tx.send(i).unwrap();
/// }
/// drop(tx); // end of stream
/// assert_eq!(workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>(), 385);
/// ```
#[must_use]
pub fn share<T>(input: Receiver<T>, n: usize) -> Vec<Receiver<T>> {
    assert!(n > 0, "fan::share: at least one worker");
    let mut handles = vec![input.clone(); n - 1];
    handles.push(input);
    handles
}

/// Round robin: starts a distributor thread that sends item `i` of `items` to queue `i % n`
/// (each a bounded channel of `capacity`), and returns the `n` receivers. The queues
/// disconnect when `items` ends. If a worker drops its receiver, the items not yet sent to it go
/// to the next live queue instead (the ones already in its queue are dropped with the queue, as
/// with any dropped receiver); when every receiver is gone the distributor stops pulling.
///
/// # Panics
///
/// Panics with `"fan::round_robin: at least one worker"` when `n == 0`, and as
/// [`channel::bounded`] when `capacity` is too large for a ring.
///
/// A panic in `items` (in its `next`, on the distributor thread) ends the distribution: the
/// panic hook reports it, and the queues disconnect as if `items` had ended, so the workers
/// cannot tell a short input from a broken one. When that matters, catch the panic in the
/// iterator and send it on as an item (`Result<T, E>` items), or use a
/// [`Pipeline`](crate::pipeline::Pipeline), whose `collect` reports a panicking source as an error.
///
/// # Examples
///
/// ```
/// use ringfence::fan;
///
/// let queues = fan::round_robin(0..9u32, 3, 4);
/// let firsts: Vec<Vec<u32>> = queues.into_iter().map(|rx| rx.iter().collect()).collect();
/// assert_eq!(firsts, [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5, 8]]);
/// ```
pub fn round_robin<I>(items: I, n: usize, capacity: usize) -> Vec<Receiver<I::Item>>
where
    I: IntoIterator,
    I::IntoIter: Send + 'static,
    I::Item: Send + 'static,
{
    assert!(n > 0, "fan::round_robin: at least one worker");
    let mut senders = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = channel::bounded(capacity);
        senders.push(tx);
        receivers.push(rx);
    }
    let items = items.into_iter();
    thread::Builder::new()
        .name("fan-round-robin".to_owned())
        .spawn(move || distribute(items, senders))
        .expect("start the round-robin distributor");
    receivers
}

fn distribute<T>(items: impl Iterator<Item = T>, mut senders: Vec<Sender<T>>) {
    let mut next = 0;
    for item in items {
        let mut item = item;
        loop {
            if senders.is_empty() {
                return; // every worker is gone
            }
            next %= senders.len();
            match senders[next].send(item) {
                Ok(()) => {
                    next += 1;
                    break;
                }
                Err(returned) => {
                    // That worker left: its share goes to the next live queue.
                    item = returned.into_inner();
                    senders.remove(next);
                }
            }
        }
    }
}

/// Fan-in: one receiver of everything the `inputs` send, no input before another (module docs,
/// for what that promises). A forwarding thread per input; the merged channel has `capacity`,
/// and disconnects once every input has disconnected. Dropping the merged receiver stops the
/// forwarders at once (each waits for its input's next value and for that, `Sender::closed`):
/// each drops its input, whose later sends then fail with their value back; values still in
/// an input are dropped with it (but one a forwarder took in the instant the merged receiver
/// went, dropped by the forwarder). Closing the merged receiver ([`Receiver::close`]) does
/// the same as dropping it: the values already merged are still received, those still in the
/// inputs are dropped with them.
///
/// # Panics
///
/// As [`channel::bounded`] when `capacity` is too large for a ring.
///
/// # Examples
///
/// ```
/// use ringfence::{channel::bounded, fan};
///
/// let (a_tx, a) = bounded(4);
/// let (b_tx, b) = bounded(4);
/// let merged = fan::merge([a, b], 8);
/// std::thread::spawn(move || (0..100).for_each(|i| a_tx.send(i).unwrap()));
/// std::thread::spawn(move || (100..200).for_each(|i| b_tx.send(i).unwrap()));
/// assert_eq!(merged.iter().sum::<i32>(), (0..200).sum());
/// ```
pub fn merge<T: Send + 'static>(
    inputs: impl IntoIterator<Item = Receiver<T>>,
    capacity: usize,
) -> Receiver<T> {
    let (tx, rx) = channel::bounded(capacity);
    for (index, input) in inputs.into_iter().enumerate() {
        let tx = tx.clone();
        thread::Builder::new()
            .name(format!("fan-merge-{index}"))
            .spawn(move || forward(&input, &tx))
            .expect("start a merge forwarder");
    }
    rx
}

/// A merge forwarder: moves each value of `input` to `tx` until `input` disconnects or every
/// receiver of `tx` is gone. It waits for both at once (a receive and [`Sender::closed`],
/// polled on this thread, which parks in between), so a dropped merged receiver stops it
/// without waiting for the input's next value, and it takes no value it cannot forward
/// (but one taken in the instant the merged receiver drops, dropped with it).
fn forward<T: Send>(input: &Receiver<T>, tx: &Sender<T>) {
    let waker = crate::wait::current_thread_waker();
    let mut cx = TaskContext::from_waker(&waker);
    let mut closed = pin!(tx.closed());
    loop {
        let mut receive = pin!(input.recv_async());
        let value = loop {
            // A load per value; the future (a lock to refresh its registration) only before
            // a park.
            if tx.is_disconnected() {
                return; // the merged receiver is gone: leave the input's values where they are
            }
            match receive.as_mut().poll(&mut cx) {
                Poll::Ready(Ok(value)) => break value,
                Poll::Ready(Err(_)) => return, // the input disconnected
                // Registered for a value: register for the disconnection too, then sleep
                // until either wakes us (a wake before the park leaves the token: no loss).
                Poll::Pending => {
                    if closed.as_mut().poll(&mut cx).is_ready() {
                        return;
                    }
                    thread::park();
                }
            }
        };
        if tx.send(value).is_err() {
            // The merged receiver went just now; the value comes back and is dropped here.
            return;
        }
    }
}

/// What [`collect_results`] gathered.
///
/// # Examples
///
/// ```
/// let (tx, rx) = ringfence::channel::unbounded::<Result<u8, &str>>();
/// for result in [Ok(1), Err("bad"), Ok(2)] {
///     tx.send(result).unwrap();
/// }
/// drop(tx);
/// let gathered = ringfence::fan::collect_results(&rx);
/// assert_eq!(gathered.ok, [1, 2]);
/// assert_eq!(gathered.failed, ["bad"]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Collected<T, E> {
    /// The `Ok` values, in arrival order.
    pub ok: Vec<T>,
    /// The `Err` values, in arrival order.
    pub failed: Vec<E>,
}

impl<T, E> Collected<T, E> {
    /// Results received: successes and failures together.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::unbounded::<Result<u8, u8>>();
    /// tx.send(Ok(1)).unwrap();
    /// tx.send(Err(2)).unwrap();
    /// drop(tx);
    /// assert_eq!(ringfence::fan::collect_results(&rx).total(), 2);
    /// ```
    #[must_use]
    pub fn total(&self) -> usize {
        self.ok.len() + self.failed.len()
    }

    /// `true` when nothing failed (also when nothing was received).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = ringfence::channel::unbounded::<Result<u8, u8>>();
    /// tx.send(Ok(1)).unwrap();
    /// drop(tx);
    /// assert!(ringfence::fan::collect_results(&rx).all_ok());
    /// ```
    #[must_use]
    pub fn all_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl<T, E> fmt::Debug for Collected<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collected").field("ok", &self.ok.len()).field("failed", &self.failed.len()).finish()
    }
}

/// Drains `results` until every sender is gone; successes and failures sorted into a
/// [`Collected`] (the seed's result collector).
///
/// # Examples
///
/// ```
/// use ringfence::{channel::bounded, fan};
///
/// let (tx, rx) = bounded(8);
/// for i in 0..5 {
///     tx.send(if i % 2 == 0 { Ok(i) } else { Err(format!("item {i} failed")) }).unwrap();
/// }
/// drop(tx);
/// let gathered = fan::collect_results(&rx);
/// assert_eq!((gathered.ok.len(), gathered.failed.len(), gathered.total()), (3, 2, 5));
/// assert!(!gathered.all_ok());
/// ```
pub fn collect_results<T, E>(results: &Receiver<Result<T, E>>) -> Collected<T, E> {
    let mut collected = Collected { ok: Vec::new(), failed: Vec::new() };
    for result in results.iter() {
        match result {
            Ok(value) => collected.ok.push(value),
            Err(error) => collected.failed.push(error),
        }
    }
    collected
}
