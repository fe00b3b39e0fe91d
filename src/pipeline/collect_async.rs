//! [`Pipeline::collect_async`]: a run's whole output and report, awaited ([`CollectFuture`]).
//!
//! The run is the one [`Pipeline::into_receiver`] starts (its sink on a thread of its own,
//! sending into a channel): the future receives from that channel until the sink drops its
//! sender, then awaits the report through [`Running::join_async`](super::Running::join_async).

use super::{DEFAULT_CAPACITY, JoinFuture, Pipeline, PipelineError, Report};
use crate::channel::RecvStream;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

impl<T: Send + 'static> Pipeline<T> {
    /// [`collect`](Self::collect) without blocking: runs the pipeline in the background (as
    /// [`into_receiver`](Self::into_receiver) does, with a channel of [`DEFAULT_CAPACITY`]) and
    /// awaits its output and its report. The run starts at the future's first poll.
    ///
    /// # Errors
    ///
    /// As [`collect`](Self::collect): the first stage failure, with every item the sink
    /// delivered (drained in-flight items included) in [`PipelineError::partial`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the run, as dropping `into_receiver`'s receiver does: the
    /// source pulls nothing more, every stage ends, and the items collected so far are dropped
    /// with the future (the run's threads finish on their own).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::pipeline::Pipeline;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (squares, report) =
    ///     Pipeline::from_iter(1..=4u64).stage("square", |x| x * x).ordered().collect_async().await.unwrap();
    /// assert_eq!(squares, [1, 4, 9, 16]);
    /// assert_eq!(report.stages.len(), 3); // source, square, sink
    /// # });
    /// ```
    pub fn collect_async(self) -> CollectFuture<T> {
        CollectFuture { pipeline: Some(self), output: None, join: None, out: Vec::new() }
    }
}

/// The future of [`Pipeline::collect_async`]: resolves to the run's output and report, or to
/// its first failure with the output delivered (`PipelineError::partial`).
///
/// # Cancel safety
///
/// Dropping it stops the run (the source pulls nothing more, every stage ends) and drops the
/// items collected so far; the run's threads finish on their own.
///
/// # Panics
///
/// Polling it again after it completed (or after a poll that panicked) panics with
/// `CollectFuture polled after completion`. It re-raises a panic of the run's sink thread, as
/// [`Running::join`](super::Running::join) does, and its first poll panics if the sink thread
/// cannot be started (as [`Pipeline::into_receiver`] does).
///
/// # Examples
///
/// ```
/// use ringfence::pipeline::{CollectFuture, Pipeline};
///
/// let collect: CollectFuture<u32> = Pipeline::from_iter(0..3u32).collect_async(); // nothing runs yet
/// let (out, _report) = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(collect).unwrap();
/// assert_eq!(out, [0, 1, 2]);
/// ```
#[must_use = "futures do nothing unless polled; the run starts at the first poll"]
pub struct CollectFuture<T: 'static> {
    /// Until the first poll, which starts the run.
    pipeline: Option<Pipeline<T>>,
    /// The run's output, until the sink thread drops its sender.
    output: Option<RecvStream<'static, T>>,
    /// The run's report, awaited once the output has ended; `None` once it resolved.
    join: Option<JoinFuture>,
    out: Vec<T>,
}

// No field is ever pin-projected (the stream and the join future are `Unpin`, the items are
// moved into and out of `out`), so it may move whatever `T` is; without this impl a `Vec<T>`
// would make it `Unpin` only for `T: Unpin`.
impl<T: 'static> Unpin for CollectFuture<T> {}

impl<T: Send + 'static> Future for CollectFuture<T> {
    type Output = Result<(Vec<T>, Report), PipelineError<Vec<T>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(pipeline) = this.pipeline.take() {
            let (output, running) = pipeline.into_receiver(DEFAULT_CAPACITY);
            this.output = Some(output.into_stream());
            this.join = Some(running.join_async());
        }
        if let Some(output) = &mut this.output {
            // Until every sender is gone: the sink thread sends what it delivers, drained
            // in-flight items after a failure included, and drops its sender when the run is
            // over.
            while let Some(item) = ready!(output.poll_next_value(cx)) {
                this.out.push(item);
            }
            this.output = None;
        }
        // Out while it is polled: a poll that unwinds (the join re-raising a sink thread's
        // panic) leaves the future completed, and a later poll gets this future's own message.
        let mut join = this.join.take().expect("CollectFuture polled after completion");
        let Poll::Ready(report) = Pin::new(&mut join).poll(cx) else {
            this.join = Some(join);
            return Poll::Pending;
        };
        let out = std::mem::take(&mut this.out);
        Poll::Ready(match report {
            Ok(report) => Ok((out, report)),
            Err(PipelineError { stage, error, partial: (), report }) => {
                Err(PipelineError { stage, error, partial: out, report })
            }
        })
    }
}

impl<T: 'static> fmt::Debug for CollectFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (&self.pipeline, &self.output, &self.join) {
            (Some(_), _, _) => "not started",
            (None, Some(_), _) => "receiving",
            (None, None, Some(_)) => "joining",
            (None, None, None) => "done",
        };
        f.debug_struct("CollectFuture").field("state", &state).field("collected", &self.out.len()).finish()
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<T: Send + 'static> futures_core::future::FusedFuture for CollectFuture<T> {
    fn is_terminated(&self) -> bool {
        self.pipeline.is_none() && self.output.is_none() && self.join.is_none()
    }
}
