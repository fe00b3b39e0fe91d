//! Async scatter-gather: the same `all` / `first_ok` / `quorum` over futures instead of pool
//! jobs. Cancellation is Rust's: the losers' futures are dropped.
//!
//! **No source completes after the decision.** The gather polls the sources in source order
//! and checks whether it is decided after *each* answer, stopping there: the sources after the
//! deciding one are not polled in that round, nor ever again. This matters because polling a
//! future to `Ready` is what makes it act (a `recv_async` takes its value in the poll that
//! returns it): a loser polled in the same round as the winner would have taken a value only
//! for the gather to drop it. Here a loser is only ever pending, and a pending future of this
//! crate takes nothing (see each one's `# Cancel safety`), so dropping it loses nothing.

use super::{Gathered, NotEnough};
use crate::Panic;
use crate::pool::TaskError;
use crate::timer::{Sleep, sleep_until};
use crate::wait::caught;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

/// Futures racing for one request, one per source (see the module docs, and
/// [`AsyncScatter::new`]).
///
/// The gather polls the futures itself, on the task that awaits it (no spawning, any
/// executor): each wakeup polls the futures still out in source order, so it suits the handful
/// of sources a scatter-gather has, not thousands. A source that panics is reported as
/// [`Gathered::Failed`] / in [`NotEnough::panicked`] (the panic does not unwind into the
/// gathering task).
///
/// The gather stops polling at the answer that decides it (the `k`-th success of a quorum, the
/// failure that makes it unreachable, the last answer of `all`), or when its deadline passes:
/// the futures still out then are **never polled again but dropped**, and that is their
/// cancellation (their I/O, timers, channel operations are dropped with them). Since a loser
/// is dropped while pending, never after it completed, a cancel-safe source (every future of
/// this crate is) loses nothing: a losing `recv_async` leaves its value in the channel.
///
/// Every gather takes a deadline. For none, pass a far one (`Instant::now() +
/// Duration::from_secs(86_400 * 365)`): `Instant::now() + Duration::MAX` overflows and panics in
/// `Instant`'s `+`, before the gather sees it.
///
/// # Cancel safety
///
/// Dropping the gather (or one of its `all`/`first_ok`/`quorum` futures before it completes)
/// drops every source future still out without polling it again; answers already gathered
/// are dropped with it (a value a source took, e.g. out of a channel, is then lost).
///
/// # Examples
///
/// ```
/// use ringfence::channel::bounded;
/// use ringfence::scatter::AsyncScatter;
/// use std::time::{Duration, Instant};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let (tx1, rx1) = bounded(1);
/// let (tx2, rx2) = bounded(1);
/// tx1.send("one").unwrap();
/// tx2.send("two").unwrap();
/// let gather = AsyncScatter::new([rx1.recv_async(), rx2.recv_async()]);
/// let first = gather.first_ok(Instant::now() + Duration::from_secs(5)).await.unwrap();
/// assert_eq!(first, (0, "one"));
/// assert_eq!(rx2.try_recv(), Ok("two")); // the loser was dropped unpolled: its value stays
/// # });
/// ```
pub struct AsyncScatter<F: Future> {
    /// Source `i`'s future at index `i`; `None` once the source answered (or panicked).
    futures: Vec<Option<Pin<Box<F>>>>,
    /// How many of `futures` are `Some`.
    outstanding: usize,
}

/// One source's answer, as seen while gathering.
enum Answer<R> {
    Returned(R),
    Panicked(TaskError),
}

impl<F: Future> AsyncScatter<F> {
    /// Takes one future per source; source `i`'s answer is reported with index `i`. Nothing
    /// runs until a gather method is awaited.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::AsyncScatter;
    /// use std::time::{Duration, Instant};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let replicas = ["eu", "us", "ap"];
    /// let answers = AsyncScatter::new(replicas.map(|name| async move { format!("{name}: ok") }))
    ///     .all(Instant::now() + Duration::from_secs(5))
    ///     .await;
    /// let texts: Vec<String> = answers.into_iter().filter_map(|a| a.answer()).collect();
    /// assert_eq!(texts, ["eu: ok", "us: ok", "ap: ok"]);
    /// # });
    /// ```
    pub fn new(futures: impl IntoIterator<Item = F>) -> Self {
        let futures: Vec<_> = futures.into_iter().map(|future| Some(Box::pin(future))).collect();
        AsyncScatter { outstanding: futures.len(), futures }
    }

    /// Drives the sources until `record` says the gather is decided, or `deadline` passes;
    /// returns whether the deadline passed. `record(index, answer, outstanding)` takes each
    /// answer as it comes (with the number of sources still out after it) and returns whether
    /// the gather is now decided. The sources still out at the end are dropped, unpolled.
    async fn gather(
        &mut self,
        deadline: Instant,
        mut record: impl FnMut(usize, Answer<F::Output>, usize) -> bool,
    ) -> bool {
        let mut timer: Pin<Box<Sleep>> = Box::pin(sleep_until(deadline));
        let timed_out = poll_fn(|cx| {
            if self.outstanding == 0 {
                return Poll::Ready(false);
            }
            // One pass in source order. A source still pending has registered this task's
            // waker, so one pass per wakeup is enough.
            for (index, slot) in self.futures.iter_mut().enumerate() {
                let Some(future) = slot else { continue };
                let answer = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => continue,
                    Ok(Poll::Ready(value)) => Answer::Returned(value),
                    Err(payload) => Answer::Panicked(TaskError::Panicked(Panic::new(payload))),
                };
                // A finished future's own `Drop` (what it still holds) is the user's: caught.
                let finished = slot.take();
                caught(move || drop(finished));
                self.outstanding -= 1;
                // Decided: stop here, before the next source's poll could complete it (and
                // make it take, say, a channel value that the gather would then drop).
                if record(index, answer, self.outstanding) {
                    return Poll::Ready(false);
                }
            }
            // Checked after the sources: an answer that is ready at the deadline still counts.
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            Poll::Pending
        })
        .await;
        // The losers' futures are the user's, dropped here unseen: each `Drop` is caught, so
        // that a panic in one cannot lose what was gathered (the panic hook has reported it).
        for future in self.futures.drain(..) {
            caught(move || drop(future));
        }
        self.outstanding = 0;
        timed_out
    }

    /// Every source's outcome, in source order, waiting at most until `deadline`; sources still
    /// out then are [`Gathered::TimedOut`].
    ///
    /// Every source is polled until it answers or the deadline passes: there are no losers,
    /// only sources still pending at the deadline, which are then dropped without being polled
    /// again (a pending `recv_async` takes nothing, so a value sent after the deadline stays in
    /// its channel). An answer that is ready at the deadline still counts.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops every source future still out, without
    /// polling it again, and the answers gathered so far with them: a value a source already
    /// returned (taken out of a channel, say) is lost. Keep the future to completion when the
    /// answers matter; the deadline bounds the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::{AsyncScatter, Gathered};
    /// use std::time::{Duration, Instant};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let fast = Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>;
    /// let never = Box::pin(std::future::pending::<i32>()); // dropped at the deadline
    /// let answers = AsyncScatter::new([fast, never]).all(Instant::now() + Duration::from_millis(20)).await;
    /// assert!(matches!(answers[0], Gathered::Answered(1)));
    /// assert!(matches!(answers[1], Gathered::TimedOut));
    /// # });
    /// ```
    pub async fn all(mut self, deadline: Instant) -> Vec<Gathered<F::Output>> {
        let mut out: Vec<Gathered<F::Output>> = (0..self.futures.len()).map(|_| Gathered::TimedOut).collect();
        self.gather(deadline, |index, answer, outstanding| {
            out[index] = match answer {
                Answer::Returned(value) => Gathered::Answered(value),
                Answer::Panicked(error) => Gathered::Failed(error),
            };
            outstanding == 0
        })
        .await;
        out
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> AsyncScatter<F> {
    /// The first success (its source index and value); the other futures are dropped.
    ///
    /// Sources are polled in source order on each wakeup, and polling stops at the first
    /// success: the sources after it are never polled again (not even in the same round), so a
    /// loser has not completed and a cancel-safe one has taken nothing. When several sources
    /// are ready at once, the lowest index wins. Failures gathered before the success are
    /// dropped with it.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when every source failed or the deadline passed.
    ///
    /// # Cancel safety
    ///
    /// As [`AsyncScatter::quorum`]: dropping the future before it completes drops every source
    /// future still out, without polling it again, and the failures gathered so far. (No
    /// success can be lost this way: the first one completes the future.)
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::AsyncScatter;
    /// use std::time::{Duration, Instant};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let replica = |ms: u64| async move {
    ///     tokio::time::sleep(Duration::from_millis(ms)).await;
    ///     Ok::<u64, String>(ms)
    /// };
    /// let fastest = AsyncScatter::new([replica(200), replica(1), replica(100)])
    ///     .first_ok(Instant::now() + Duration::from_secs(5))
    ///     .await
    ///     .unwrap();
    /// assert_eq!(fastest, (1, 1)); // the two slower replicas were dropped (cancelled)
    /// # });
    /// ```
    pub async fn first_ok(self, deadline: Instant) -> Result<(usize, T), NotEnough<T, E>> {
        self.quorum(1, deadline).await.map(|mut ok| ok.remove(0))
    }

    /// The first `k` successes (source index and value, in arrival order); the other futures
    /// are dropped. `k == 0` succeeds at once, polling nothing.
    ///
    /// Sources are polled in source order on each wakeup, and polling stops at the answer that
    /// decides the quorum (the `k`-th success, or the failure after which fewer than `k`
    /// sources can still succeed): the sources after it are never polled again (not even in
    /// the same round), so exactly `k` successes are ever produced and a cancel-safe loser has
    /// taken nothing. Failures gathered on the way to a quorum are dropped with it.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when fewer than `k` sources can still succeed
    /// (returned as soon as that is certain: at once, polling nothing, with nothing gathered
    /// and `timed_out` false, when `k` exceeds the number of sources) or the deadline passed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes drops every source future still out, without
    /// polling it again, and the answers gathered so far with them: the fewer-than-`k`
    /// successes already returned (values taken out of a channel, say) are lost. Keep the
    /// future to completion when they matter; the deadline bounds the wait, and a
    /// [`NotEnough`] hands them back.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::AsyncScatter;
    /// use std::time::{Duration, Instant};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let votes = [true, false, true, true].map(|yes| async move { if yes { Ok("yes") } else { Err("no") } });
    /// let yes = AsyncScatter::new(votes).quorum(2, Instant::now() + Duration::from_secs(5)).await.unwrap();
    /// // Decided by source 2: source 3 was never polled.
    /// assert_eq!(yes, [(0, "yes"), (2, "yes")]);
    /// # });
    /// ```
    pub async fn quorum(mut self, k: usize, deadline: Instant) -> Result<Vec<(usize, T)>, NotEnough<T, E>> {
        let mut gathered =
            NotEnough { ok: Vec::new(), failed: Vec::new(), panicked: Vec::new(), timed_out: false };
        // `k` above the number of sources is certain failure: poll nothing (so take nothing).
        if k > 0 && k <= self.futures.len() {
            gathered.timed_out = self
                .gather(deadline, |index, answer, outstanding| {
                    match answer {
                        Answer::Returned(Ok(value)) => gathered.ok.push((index, value)),
                        Answer::Returned(Err(error)) => gathered.failed.push((index, error)),
                        Answer::Panicked(error) => gathered.panicked.push((index, error)),
                    }
                    // Decided: enough successes, or too few sources left to make them up.
                    gathered.ok.len() >= k || gathered.ok.len() + outstanding < k
                })
                .await;
        }
        if gathered.ok.len() >= k {
            // The gather stops at the `k`-th success: no source completed after it.
            debug_assert_eq!(gathered.ok.len(), k);
            Ok(gathered.into_ok())
        } else {
            Err(gathered)
        }
    }
}

impl<F: Future> fmt::Debug for AsyncScatter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncScatter").field("outstanding", &self.outstanding).finish()
    }
}
