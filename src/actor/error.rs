//! The actor's errors: the pattern-level vocabulary, with the channel's manners.

use std::fmt;

/// Why an `ask` got no reply.
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
pub enum Exit<A> {
    /// Stopped gracefully (every message sent before `stop`, or before the last address was
    /// dropped, was handled; later ones were refused or discarded); the final state.
    Stopped(A),
    /// Killed: the final state, and how many messages were discarded unhandled.
    Killed {
        /// The actor's state when it stopped.
        state: A,
        /// Messages dropped without being handled (their asks failed with `Stopped`).
        discarded: usize,
    },
    /// A handler panicked (and no restart was left); the payload, for `resume_unwind`.
    Panicked(Box<dyn std::any::Any + Send + 'static>),
}

impl<A> Exit<A> {
    /// The final state, unless the actor panicked.
    #[must_use]
    pub fn into_state(self) -> Option<A> {
        match self {
            Exit::Stopped(state) | Exit::Killed { state, .. } => Some(state),
            Exit::Panicked(_) => None,
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
            Exit::Panicked(_) => f.write_str("Panicked(..)"),
        }
    }
}
