//! [`JoinFuture`]: the async way to wait for an actor's end.

use super::{Actor, Exit};
use crate::oneshot;
use crate::sync::thread::JoinHandle;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future returned by [`ActorHandle::join_async`](super::ActorHandle::join_async),
/// [`stop_async`](super::ActorHandle::stop_async) and
/// [`kill_async`](super::ActorHandle::kill_async): resolves to how the actor ended, without
/// blocking the executor's thread while the actor finishes its messages.
///
/// The actor's thread hands its [`Exit`] over through a [oneshot] as its last
/// act, so the future resolves once the actor's state is final; the thread itself then only
/// returns (it is not joined: it ends on its own a moment later).
///
/// # Panics
///
/// As [`ActorHandle::join`](super::ActorHandle::join): re-raises a panic of the runtime loop
/// itself (for instance a message whose `Drop` panicked while it was discarded). Handler and
/// hook panics are caught and reported as [`Exit::Panicked`]. In that rare case the poll joins
/// the thread, which is already unwinding, to take its panic.
///
/// # Cancel safety
///
/// Dropping it detaches the actor, as dropping the [`ActorHandle`](super::ActorHandle) does: a
/// stop or kill it was made by has already closed the mailbox, so the actor still ends as
/// asked; its final state is then dropped on its own thread.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use ringfence::actor::{self, Actor, Context};
///
/// struct Log(Vec<u32>);
/// impl Actor for Log {
///     type Msg = u32;
///     fn handle(&mut self, n: u32, _: &mut Context) { self.0.push(n) }
/// }
/// let log = actor::spawn(Log(Vec::new()));
/// let addr = log.addr();
/// for n in 0..10 {
///     addr.tell_async(n).await.unwrap();
/// }
/// let state = log.stop_async().await.into_state().unwrap(); // no thread blocked
/// assert_eq!(state.0, (0..10).collect::<Vec<_>>());
/// # });
/// ```
#[must_use = "futures do nothing unless polled; dropped, the actor is detached"]
pub struct JoinFuture<A: Actor> {
    exit: oneshot::Receiver<Exit<A>>,
    /// Joined only when the runtime loop panicked (the oneshot's sender was dropped unsent).
    thread: Option<JoinHandle<()>>,
}

impl<A: Actor> JoinFuture<A> {
    pub(super) fn new(exit: oneshot::Receiver<Exit<A>>, thread: JoinHandle<()>) -> Self {
        JoinFuture { exit, thread: Some(thread) }
    }
}

impl<A: Actor> Future for JoinFuture<A> {
    type Output = Exit<A>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Exit<A>> {
        let this = self.get_mut();
        match Pin::new(&mut this.exit).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(exit)) => {
                // Detach the thread: it only returns now.
                this.thread = None;
                Poll::Ready(exit)
            }
            Poll::Ready(Err(oneshot::RecvError)) => {
                // The runtime loop panicked: its thread is unwinding. Join it to re-raise.
                let thread = this.thread.take().expect("a JoinFuture polled after it completed");
                Poll::Ready(super::reap(thread, this.exit.try_recv().ok()))
            }
        }
    }
}

impl<A: Actor> fmt::Debug for JoinFuture<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinFuture").field("done", &self.thread.is_none()).finish_non_exhaustive()
    }
}
