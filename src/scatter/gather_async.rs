//! Async scatter-gather: the same `all` / `first_ok` / `quorum` over futures instead of pool
//! jobs. Cancellation is Rust's: the losers' futures are dropped.

use super::{Gathered, NotEnough};
use crate::pool::TaskError;
use crate::timer::{Sleep, sleep_until};
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Futures racing for one request, one per source (see the module docs, and
/// [`AsyncScatter::new`]).
///
/// The gather polls the futures itself, on the task that awaits it (no spawning, any
/// executor): each wakeup polls every future still out, so it suits the handful of sources a
/// scatter-gather has, not thousands. A source that panics is reported as
/// [`Gathered::Failed`] / in [`NotEnough::panicked`] (the panic does not unwind into the
/// gathering task). When the gather is decided, or its deadline passes, the futures still out
/// are **dropped**: that is their cancellation (their I/O, timers, channel operations are
/// dropped with them; every future of this crate is cancel-safe).
///
/// # Cancel safety
///
/// Dropping the gather (or one of its `all`/`first_ok`/`quorum` futures) drops every source
/// future still out; answers already gathered are dropped with it.
pub struct AsyncScatter<F: Future> {
    /// `None` once the source answered (or panicked).
    futures: Vec<Option<Pin<Box<F>>>>,
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
        AsyncScatter { futures: futures.into_iter().map(|future| Some(Box::pin(future))).collect() }
    }

    /// The number of sources still out.
    fn outstanding(&self) -> usize {
        self.futures.iter().filter(|future| future.is_some()).count()
    }

    /// Polls every source still out once; returns the answers that came in.
    fn poll_sources(&mut self, cx: &mut Context<'_>, answers: &mut Vec<(usize, Answer<F::Output>)>) {
        for (index, slot) in self.futures.iter_mut().enumerate() {
            let Some(future) = slot else { continue };
            let polled = catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
            let answer = match polled {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Ready(value)) => Answer::Returned(value),
                Err(payload) => Answer::Panicked(TaskError::Panicked(payload)),
            };
            *slot = None;
            answers.push((index, answer));
        }
    }

    /// Drives the sources until `decided` says so (after each batch of answers) or `deadline`
    /// passes; returns whether the deadline passed. The sources still out are then dropped.
    async fn gather(
        &mut self,
        deadline: Instant,
        mut on_answer: impl FnMut(usize, Answer<F::Output>),
        mut decided: impl FnMut(usize) -> bool,
    ) -> bool {
        let mut timer: Pin<Box<Sleep>> = Box::pin(sleep_until(deadline));
        let mut answers = Vec::new();
        let timed_out = poll_fn(|cx| {
            loop {
                self.poll_sources(cx, &mut answers);
                if answers.is_empty() {
                    break;
                }
                for (index, answer) in answers.drain(..) {
                    on_answer(index, answer);
                }
                if decided(self.outstanding()) {
                    return Poll::Ready(false);
                }
            }
            if decided(self.outstanding()) {
                return Poll::Ready(false);
            }
            // Checked after the sources: an answer that is ready at the deadline still counts.
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            Poll::Pending
        })
        .await;
        self.futures.clear();
        timed_out
    }

    /// Every source's outcome, in source order, waiting at most until `deadline`; sources still
    /// out then are [`Gathered::TimedOut`] (and dropped).
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
        self.gather(
            deadline,
            |index, answer| {
                out[index] = match answer {
                    Answer::Returned(value) => Gathered::Answered(value),
                    Answer::Panicked(error) => Gathered::Failed(error),
                };
            },
            |outstanding| outstanding == 0,
        )
        .await;
        out
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> AsyncScatter<F> {
    /// The first success (its source index and value); the other futures are dropped.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when every source failed or the deadline passed.
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
    /// are dropped. `k == 0` succeeds at once.
    ///
    /// # Errors
    ///
    /// [`NotEnough`] with everything gathered when fewer than `k` sources can still succeed
    /// (returned as soon as that is certain) or the deadline passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::scatter::AsyncScatter;
    /// use std::time::{Duration, Instant};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let votes = [true, false, true, true].map(|yes| async move { if yes { Ok("yes") } else { Err("no") } });
    /// let yes = AsyncScatter::new(votes).quorum(3, Instant::now() + Duration::from_secs(5)).await.unwrap();
    /// assert_eq!(yes.len(), 3);
    /// # });
    /// ```
    pub async fn quorum(mut self, k: usize, deadline: Instant) -> Result<Vec<(usize, T)>, NotEnough<T, E>> {
        let mut gathered =
            NotEnough { ok: Vec::new(), failed: Vec::new(), panicked: Vec::new(), timed_out: false };
        if k > 0 {
            let ok_count = std::cell::Cell::new(0);
            let timed_out = self
                .gather(
                    deadline,
                    |index, answer| match answer {
                        Answer::Returned(Ok(value)) => {
                            ok_count.set(ok_count.get() + 1);
                            gathered.ok.push((index, value));
                        }
                        Answer::Returned(Err(error)) => gathered.failed.push((index, error)),
                        Answer::Panicked(error) => gathered.panicked.push((index, error)),
                    },
                    // Decided: enough successes, or too few sources left to make them up.
                    |outstanding| ok_count.get() >= k || ok_count.get() + outstanding < k,
                )
                .await;
            gathered.timed_out = timed_out && gathered.ok.len() < k;
        }
        if gathered.ok.len() >= k {
            // One wakeup may bring in more than `k`: the extra (late) successes are dropped,
            // as the blocking gather drops late answers.
            gathered.ok.truncate(k);
            Ok(gathered.ok)
        } else {
            Err(gathered)
        }
    }
}

impl<F: Future> fmt::Debug for AsyncScatter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncScatter").field("outstanding", &self.outstanding()).finish()
    }
}
