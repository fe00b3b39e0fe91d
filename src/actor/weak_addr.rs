//! A weak address: names an actor without keeping it running.

use super::addr::Addr;
use super::{Actor, Shared};
use crate::channel::WeakSender;
use crate::sync::Arc;
use crate::sync::atomic::Ordering;
use std::fmt;

/// An address that does not keep its actor running: [`upgrade`](WeakAddr::upgrade) it to talk
/// to the actor. Made by [`Addr::downgrade`].
///
/// An actor whose handle was dropped runs until its last [`Addr`] is dropped; an `Addr` held by
/// the actor itself (to send itself messages) or by something the actor outlives (a registry,
/// a timer thread) would keep it running for ever. A `WeakAddr` is not counted: when the last
/// `Addr` goes the actor stops as if no weak one existed, and every `upgrade` returns `None`
/// from then on (the mailbox's [`WeakSender`](crate::channel::WeakSender)).
///
/// # Examples
///
/// An actor that schedules its own next step through a helper thread, which holds only a weak
/// address, so dropping the last real address still ends the actor.
///
/// ```
/// use ringfence::actor::{self, Actor, Context, WeakAddr};
/// use std::time::Duration;
///
/// enum Msg { Start(WeakAddr<Pulse>), Beat }
/// struct Pulse { beats: u32 }
/// impl Actor for Pulse {
///     type Msg = Msg;
///     fn handle(&mut self, msg: Msg, _: &mut Context) {
///         match msg {
///             Msg::Start(me) => {
///                 std::thread::spawn(move || {
///                     // Beats while the actor has a real address somewhere.
///                     while let Some(addr) = me.upgrade() {
///                         let _ = addr.tell(Msg::Beat);
///                         drop(addr); // before sleeping: it would keep the actor alive
///                         std::thread::sleep(Duration::from_millis(1));
///                     }
///                 });
///             }
///             Msg::Beat => self.beats += 1,
///         }
///     }
/// }
/// let pulse = actor::spawn(Pulse { beats: 0 });
/// let addr = pulse.addr();
/// addr.tell(Msg::Start(addr.downgrade())).unwrap();
/// let weak = addr.downgrade();
/// drop(addr);
/// // The handle holds the last real address: stopping it ends the actor, and the helper's next
/// // upgrade fails (with a strong `Addr` the helper would have kept a detached actor running).
/// let state = pulse.stop().into_state().expect("no handler panicked");
/// println!("{} beats", state.beats);
/// assert!(!weak.is_alive());
/// ```
pub struct WeakAddr<A: Actor> {
    mailbox: WeakSender<A::Msg>,
    shared: Arc<Shared>,
}

impl<A: Actor> Addr<A> {
    /// A [`WeakAddr`] of this actor: not counted as an address, so it does not keep the actor
    /// running, and it [`upgrade`](WeakAddr::upgrade)s to an `Addr` while any `Addr` (or the
    /// [`ActorHandle`](super::ActorHandle)) lives.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Nop;
    /// impl Actor for Nop {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) {}
    /// }
    /// let handle = actor::spawn(Nop);
    /// let weak = handle.addr().downgrade();
    /// weak.upgrade().expect("the handle keeps the actor").tell(()).unwrap();
    /// drop(handle); // detached: it ends once no `Addr` is left, weak ones aside
    /// assert!(weak.upgrade().is_none());
    /// ```
    #[must_use]
    pub fn downgrade(&self) -> WeakAddr<A> {
        WeakAddr { mailbox: self.mailbox.downgrade(), shared: Arc::clone(&self.shared) }
    }
}

impl<A: Actor> WeakAddr<A> {
    /// An [`Addr`] of the actor while one exists; `None` once the last `Addr` and the actor's
    /// handle have dropped (the actor then stops, or has stopped, on its own).
    ///
    /// An actor stopped by [`ActorHandle::stop`](super::ActorHandle::stop) or `kill` while
    /// addresses live still upgrades: the new `Addr`'s `tell` hands its message back and its
    /// `ask` fails, as every address's does.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Nop;
    /// impl Actor for Nop {
    ///     type Msg = u8;
    ///     fn handle(&mut self, _: u8, _: &mut Context) {}
    /// }
    /// let handle = actor::spawn(Nop);
    /// let addr = handle.addr();
    /// let weak = addr.downgrade();
    /// let _ = handle.stop();
    /// let again = weak.upgrade().expect("`addr` lives");
    /// assert_eq!(again.tell(1).unwrap_err().into_inner(), 1); // stopped: handed back
    /// drop((addr, again));
    /// assert!(weak.upgrade().is_none());
    /// ```
    #[must_use]
    pub fn upgrade(&self) -> Option<Addr<A>> {
        let mailbox = self.mailbox.upgrade()?;
        Some(Addr { mailbox, shared: Arc::clone(&self.shared) })
    }

    /// Whether the actor is still running (as [`Addr::is_alive`]), without upgrading.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Nop;
    /// impl Actor for Nop {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) {}
    /// }
    /// let handle = actor::spawn(Nop);
    /// let weak = handle.addr().downgrade();
    /// assert!(weak.is_alive());
    /// let _ = handle.stop();
    /// assert!(!weak.is_alive());
    /// ```
    #[must_use]
    pub fn is_alive(&self) -> bool {
        // ORDERING: Acquire, as `Addr::is_alive`: pairs with the Release store when the actor
        // ends, so a caller that sees `false` also sees what the actor did before it ended.
        self.shared.alive.load(Ordering::Acquire)
    }
}

impl<A: Actor> Clone for WeakAddr<A> {
    fn clone(&self) -> Self {
        WeakAddr { mailbox: self.mailbox.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<A: Actor> fmt::Debug for WeakAddr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakAddr")
            .field("alive", &self.is_alive())
            .field("addresses", &self.mailbox.sender_count())
            .finish()
    }
}
