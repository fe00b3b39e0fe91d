//! The actor's errors: the pattern-level vocabulary, with the channel's manners.

use std::fmt;

/// Why an `ask` got no reply.
///
/// Returned by [`Addr::ask`](super::Addr::ask), [`Addr::ask_timeout`](super::Addr::ask_timeout)
/// and [`Addr::ask_async`](super::Addr::ask_async).
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, ActorError, Context, Reply};
/// use std::time::Duration;
///
/// struct Moody(Vec<Reply<()>>);
/// impl Actor for Moody {
///     type Msg = (bool, Reply<()>);
///     fn handle(&mut self, (calm, reply): (bool, Reply<()>), _: &mut Context) {
///         assert!(calm, "not now"); // the reply is dropped while this panic unwinds
///         self.0.push(reply); // kept, never answered
///     }
/// }
/// let moody = actor::spawn(Moody(Vec::new()));
/// let err = moody.addr().ask_timeout(|r| (true, r), Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, ActorError::Timeout);
/// assert_eq!(err.to_string(), "timed out waiting for the actor's reply");
/// assert_eq!(moody.addr().ask(|r| (false, r)), Err(ActorError::Panicked));
/// assert_eq!(moody.addr().ask(|r| (true, r)), Err(ActorError::Stopped)); // it is gone now
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorError {
    /// The actor stopped (by `stop`, `kill`, or after a panic) before it replied, or the
    /// handler dropped the reply without answering.
    Stopped,
    /// The actor's handler panicked (the actor is stopped; its panic payload went to
    /// [`ActorHandle::join`](super::ActorHandle::join)).
    Panicked,
    /// The deadline passed first (the request may still be handled; its reply is dropped).
    Timeout,
}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActorError::Stopped => "the actor stopped before replying",
            ActorError::Panicked => "the actor panicked",
            ActorError::Timeout => "timed out waiting for the actor's reply",
        })
    }
}

impl std::error::Error for ActorError {}

/// How an actor ended, as [`ActorHandle::join`](super::ActorHandle::join) reports it.
///
/// Every message a `tell` or `ask` got into the mailbox is accounted for: handled, or counted
/// in `discarded` (a discarded `ask` fails with [`ActorError::Stopped`]). A graceful stop
/// handles everything that got in, so it has no count.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context, Exit};
///
/// struct Fragile;
/// impl Actor for Fragile {
///     type Msg = u32;
///     fn handle(&mut self, n: u32, _: &mut Context) { assert!(n != 0, "zero") }
/// }
/// let handle = actor::spawn(Fragile);
/// handle.addr().tell(0).unwrap();
/// match handle.join() {
///     Exit::Panicked { payload, discarded } => {
///         assert_eq!(payload.downcast_ref::<&str>(), Some(&"zero"));
///         assert_eq!(discarded, 0); // nothing was queued behind the panic
///     }
///     other => panic!("expected a panic, got {other:?}"),
/// }
/// ```
pub enum Exit<A> {
    /// Stopped gracefully: every message that got into the mailbox before [`stop`] closed it
    /// (or before the last address was dropped) was handled; later ones were handed back to
    /// their senders. The final state.
    ///
    /// [`stop`]: super::ActorHandle::stop
    Stopped(A),
    /// Killed (by [`kill`](super::ActorHandle::kill) or [`Context::stop`](super::Context::stop)):
    /// the final state, and how many messages were discarded unhandled.
    Killed {
        /// The actor's state when it stopped.
        state: A,
        /// Messages dropped without being handled (their asks failed with `Stopped`).
        discarded: usize,
    },
    /// A handler panicked and no restart was left (or the supervisor's factory, `started` on
    /// the last restart, or `stopped` panicked): the payload of that panic, and how many
    /// messages queued behind it were discarded.
    Panicked {
        /// The panic's payload, for [`std::panic::resume_unwind`].
        payload: Box<dyn std::any::Any + Send + 'static>,
        /// Messages dropped without being handled (their asks failed with `Stopped`).
        discarded: usize,
    },
}

impl<A> Exit<A> {
    /// The final state, unless the actor panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Total(u64);
    /// impl Actor for Total {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n }
    /// }
    /// let total = actor::spawn(Total(0));
    /// total.addr().tell(3).unwrap();
    /// assert_eq!(total.stop().into_state().map(|t| t.0), Some(3));
    /// ```
    #[must_use]
    pub fn into_state(self) -> Option<A> {
        match self {
            Exit::Stopped(state) | Exit::Killed { state, .. } => Some(state),
            Exit::Panicked { .. } => None,
        }
    }

    /// How many messages got into the mailbox and were dropped unhandled (`0` after a
    /// graceful stop).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Quitter;
    /// impl Actor for Quitter {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), ctx: &mut Context) { ctx.stop() }
    /// }
    /// let quitter = actor::Builder::new().mailbox(8).spawn(Quitter);
    /// let addr = quitter.addr();
    /// let told = (0..5).filter(|_| addr.tell(()).is_ok()).count();
    /// drop(addr);
    /// let exit = quitter.join();
    /// assert_eq!(exit.discarded(), told - 1); // the first one stopped it
    /// ```
    #[must_use]
    pub fn discarded(&self) -> usize {
        match self {
            Exit::Stopped(_) => 0,
            Exit::Killed { discarded, .. } | Exit::Panicked { discarded, .. } => *discarded,
        }
    }
}

impl<A> fmt::Debug for Exit<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Stopped(_) => f.write_str("Stopped(..)"),
            Exit::Killed { discarded, .. } => {
                f.debug_struct("Killed").field("discarded", discarded).finish_non_exhaustive()
            }
            Exit::Panicked { discarded, .. } => {
                f.debug_struct("Panicked").field("discarded", discarded).finish_non_exhaustive()
            }
        }
    }
}
