//! [`JoinFuture`]: the async way to wait for an actor's end.

use super::{Actor, Exit, KillSwitch};
use crate::exiting::Exiting;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future returned by [`ActorHandle::join_async`](super::ActorHandle::join_async),
/// [`stop_async`](super::ActorHandle::stop_async) and
/// [`kill_async`](super::ActorHandle::kill_async): resolves to how the actor ended, without
/// blocking the executor's thread while the actor finishes its messages.
///
/// The actor's thread hands its [`Exit`] over through a [oneshot](crate::oneshot) as its last
/// act, so the future resolves once the actor's state is final; the thread itself then only
/// returns (it is not joined: it ends on its own a moment later, after its thread-local
/// destructors).
///
/// # Panics
///
/// As [`ActorHandle::join`](super::ActorHandle::join): re-raises a panic of the runtime loop
/// itself (for instance a message whose `Drop` panicked while it was discarded). Handler and
/// hook panics are caught and reported as [`Exit::Panicked`]. In that rare case the poll joins
/// the thread, which is already unwinding, to take its panic. Polling again after it returned
/// `Ready` panics (the [`Exit`] was handed over once; there is no second one to return).
///
/// # Cancel safety
///
/// Dropping it detaches the actor, as dropping the [`ActorHandle`](super::ActorHandle) does: a
/// stop or kill it was made by has already closed the mailbox, so the actor still ends as
/// asked. Its final state is dropped on the actor's thread if the actor has not ended yet,
/// otherwise where the future is dropped (mind a state whose `Drop` is slow). A dropped future
/// can no longer escalate: to bound a stop by a deadline, await it through `&mut` and call
/// [`JoinFuture::kill`] when the deadline passes (its example).
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
#[must_use = "dropped, the actor is detached (a stop or kill already requested still happens)"]
pub struct JoinFuture<A: Actor> {
    exit: Exiting<Exit<A>>,
    kill: KillSwitch<A>,
}

impl<A: Actor> JoinFuture<A> {
    pub(super) fn new(exit: Exiting<Exit<A>>, kill: KillSwitch<A>) -> Self {
        JoinFuture { exit, kill }
    }

    /// Escalates to a kill while the future waits: the actor stops after its current message
    /// and discards the rest (counted in [`Exit::Killed`]), as
    /// [`ActorHandle::kill`](super::ActorHandle::kill). Does nothing once the actor has ended.
    /// The way to a graceful stop with a deadline: await the stop through `&mut`, and kill
    /// when the deadline passes.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::actor::{self, Actor, Context, Exit};
    /// use ringfence::timer::timeout;
    /// use std::time::Duration;
    ///
    /// struct Slow;
    /// impl Actor for Slow {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) {
    ///         std::thread::sleep(Duration::from_millis(20));
    ///     }
    /// }
    /// let slow = actor::spawn(Slow);
    /// for _ in 0..50 {
    ///     slow.addr().tell_async(()).await.unwrap(); // a second of work
    /// }
    /// let mut stopping = slow.stop_async();
    /// let exit = match timeout(Duration::from_millis(50), &mut stopping).await {
    ///     Ok(exit) => exit,
    ///     Err(_) => {
    ///         stopping.kill(); // too slow: discard the rest
    ///         stopping.await
    ///     }
    /// };
    /// assert!(matches!(exit, Exit::Killed { discarded, .. } if discarded > 0));
    /// # });
    /// ```
    pub fn kill(&self) {
        self.kill.pull();
    }
}

impl<A: Actor> Future for JoinFuture<A> {
    type Output = Exit<A>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Exit<A>> {
        self.get_mut().exit.poll_join(cx)
    }
}

/// Terminated once it returned `Ready` (polled again, it panics).
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<A: Actor> futures_core::future::FusedFuture for JoinFuture<A> {
    fn is_terminated(&self) -> bool {
        self.exit.is_joined()
    }
}

impl<A: Actor> fmt::Debug for JoinFuture<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinFuture").field("finished", &self.exit.is_finished()).finish_non_exhaustive()
    }
}
