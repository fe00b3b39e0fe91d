//! A thread whose result can be awaited as well as joined.
//!
//! [`Exiting::spawn`] runs `body` on a new thread that sends `body`'s result through a
//! [oneshot] as its last act, instead of returning it. A blocking join joins the
//! thread and then takes the result from the cell (the send happened before the thread ended);
//! an async join awaits the cell, and detaches the thread once the result is in (it only
//! returns after that). If `body` panics, the oneshot's sender is dropped unsent: both joins then
//! join the thread, which is unwinding or done, and re-raise its panic. The actor's end
//! ([`ActorHandle`](crate::actor::ActorHandle)) and a background pipeline's
//! ([`Running`](crate::pipeline::Running)) are made of it.

use crate::oneshot;
use crate::sync::thread::{self, JoinHandle};
use std::future::Future;
use std::io;
use std::panic;
use std::task::{Context, Poll};

/// A running thread and the cell its result will arrive in.
pub(crate) struct Exiting<T> {
    result: oneshot::Receiver<T>,
    /// `None` once an async join detached it.
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Exiting<T> {
    /// Starts `body` on a thread from `builder`.
    pub(crate) fn spawn(
        builder: thread::Builder,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> io::Result<Self> {
        let (sender, result) = oneshot::channel();
        let thread = builder.spawn(move || {
            // Fails only when the handle was dropped (detached): the result is dropped here.
            let _ = sender.send(body());
        })?;
        Ok(Exiting { result, thread: Some(thread) })
    }
}

impl<T> Exiting<T> {
    /// Blocks until the thread has ended and returns its result.
    ///
    /// # Panics
    ///
    /// Re-raises the thread's panic.
    pub(crate) fn join(mut self) -> T {
        let thread = self.thread.take().expect("an Exiting joined after an async join finished");
        let ended = thread.join();
        // The send happened-before the thread ended, so the result is in the cell by now.
        reap(ended, self.result.try_recv().ok())
    }

    /// One poll of an async join: `Ready` with the result once the thread has sent it (the
    /// thread is then detached: it only returns).
    ///
    /// # Panics
    ///
    /// Re-raises the thread's panic (joining it: it is unwinding or done); panics if polled
    /// again after it returned `Ready`.
    pub(crate) fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        match std::pin::Pin::new(&mut self.result).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => {
                self.thread = None; // detached: it only returns now
                Poll::Ready(result)
            }
            // The body panicked, or (a finished receiver reports `RecvError`) a poll after
            // `Ready`: then the thread is gone already.
            Poll::Ready(Err(oneshot::RecvError)) => {
                let thread = self.thread.take().expect("a join future polled after it completed");
                Poll::Ready(reap(thread.join(), None))
            }
        }
    }

    /// `true` once `poll_join` returned `Ready` (it must not be polled again).
    #[cfg(feature = "futures")]
    pub(crate) fn is_joined(&self) -> bool {
        self.thread.is_none()
    }

    /// `true` once the thread's result is in (or its body panicked).
    pub(crate) fn is_finished(&self) -> bool {
        self.result.is_ready()
    }
}

/// After the thread was joined: re-raises its panic, or returns the result it sent.
fn reap<T>(ended: std::thread::Result<()>, result: Option<T>) -> T {
    match ended {
        Err(payload) => panic::resume_unwind(payload),
        Ok(()) => result.expect("the thread sends its result before it returns"),
    }
}
