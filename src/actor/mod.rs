//! Actors: an object that owns its state and handles one message at a time on its own thread;
//! the seed's Actor Model.
//!
//! An [`Actor`] has a `handle(&mut self, msg, ctx)` method and optional `started` / `stopped`
//! hooks. [`spawn`] (or a [`Builder`]) starts it on a thread with a bounded mailbox (a ringfence
//! [`channel`]) and returns an [`ActorHandle`]; its [`Addr`] is the cheap,
//! cloneable, `Send` way to [`tell`](Addr::tell) it something or [`ask`](Addr::ask) and wait for
//! the reply (through a [oneshot](crate::oneshot) cell carried in the message as a [`Reply`]).
//!
//! # Guarantees
//!
//! - **One message at a time**, in mailbox order: the state needs no lock.
//! - **Backpressure**: the mailbox is bounded (default [`DEFAULT_MAILBOX`]); `tell` blocks while
//!   it is full, `try_tell` hands the message back. [`Builder::unbounded_mailbox`] on request.
//! - **Stopping**: [`ActorHandle::stop`] is graceful: every message sent before it is handled,
//!   then `stopped` runs and the final state comes back. [`ActorHandle::kill`] stops after the
//!   current message and reports how many were discarded. When every `Addr` and the handle are
//!   dropped, the actor stops gracefully on its own.
//! - **Panics**: a panicking handler is caught. Without supervision the actor stops: its
//!   pending and later `ask`s fail with [`ActorError::Panicked`] / [`ActorError::Stopped`],
//!   `tell` hands messages back, [`Addr::is_alive`] turns false, and [`ActorHandle::join`]
//!   returns the payload. With [`Builder::supervise`], it restarts with fresh state from a
//!   factory, up to a limit, and goes on with the next message.
//! - **Nothing silently lost**: each message is handled, or handed back to the sender, or
//!   counted as discarded (`kill`); a discarded or unanswered `ask` fails with a clear error.
//!   The mailbox is closed with a protocol on one atomic word (see `Shared::enter`), so no send
//!   can slip in between the actor's last look at its mailbox and its end.
//!
//! # Scale
//!
//! Each actor is one OS thread (parked on a futex while its mailbox is empty: no CPU when idle).
//! That scales to thousands of actors per process (each thread reserves its stack:
//! [`Builder::stack_size`] to shrink it); beyond tens of thousands, multiplex actors on a
//! [pool](crate::pool) or an async runtime instead.
//!
//! # Examples
//!
//! ```
//! use ringfence::actor::{self, Actor, Context, Reply};
//!
//! enum Account { Deposit(u64), Withdraw(u64, Reply<Result<u64, String>>), Balance(Reply<u64>) }
//!
//! struct Bank { balance: u64 }
//! impl Actor for Bank {
//!     type Msg = Account;
//!     fn handle(&mut self, msg: Account, _ctx: &mut Context) {
//!         match msg {
//!             Account::Deposit(n) => self.balance += n,
//!             Account::Withdraw(n, reply) if n <= self.balance => {
//!                 self.balance -= n;
//!                 reply.send(Ok(self.balance));
//!             }
//!             Account::Withdraw(_, reply) => reply.send(Err("insufficient funds".into())),
//!             Account::Balance(reply) => reply.send(self.balance),
//!         }
//!     }
//! }
//!
//! let bank = actor::spawn(Bank { balance: 0 });
//! let addr = bank.addr();
//! addr.tell(Account::Deposit(100)).unwrap();
//! assert_eq!(addr.ask(|r| Account::Withdraw(30, r)), Ok(Ok(70)));
//! assert!(addr.ask(|r| Account::Withdraw(500, r)).unwrap().is_err());
//! let final_state = bank.stop().into_state().unwrap();
//! assert_eq!(final_state.balance, 70);
//! ```

mod addr;
mod error;

pub use addr::{Addr, AskFuture, Reply};
pub use error::{ActorError, Exit};

use crate::channel::{self, Receiver};
use crate::sync::Arc;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::thread::{self, JoinHandle};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// Default mailbox capacity.
pub const DEFAULT_MAILBOX: usize = 1024;

/// An object that owns its state and handles messages one at a time on its own thread.
pub trait Actor: Send + Sized + 'static {
    /// The messages it handles (an enum, usually; carry a [`Reply`] for request-reply).
    type Msg: Send + 'static;

    /// Handles one message.
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Context);

    /// Runs on the actor's thread before the first message (and after each supervised restart).
    fn started(&mut self, _ctx: &mut Context) {}

    /// Runs on the actor's thread when it stops without panicking, before its state is handed
    /// to whoever joins it.
    fn stopped(&mut self) {}
}

/// What a handler can ask of its actor's runtime.
#[derive(Debug, Default)]
pub struct Context {
    stop: bool,
    restarts: u32,
}

impl Context {
    /// Stops the actor after the current message. Messages still in the mailbox are discarded
    /// and counted in [`Exit::Killed`] (`discarded: 0` when none were left).
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// How many times a supervisor restarted this actor so far.
    #[must_use]
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

/// What travels in a mailbox.
pub(crate) enum Letter<M> {
    Msg(M),
    /// Graceful stop: handled in mailbox order, after every message sent before it.
    Stop,
}

impl<M> Letter<M> {
    fn into_msg(self) -> M {
        match self {
            Letter::Msg(msg) => msg,
            Letter::Stop => unreachable!("only messages are handed back to senders"),
        }
    }
}

/// State an actor shares with its addresses.
pub(crate) struct Shared {
    /// `true` until the actor's loop has ended.
    alive: AtomicBool,
    /// Set by `kill`: the loop stops at the next letter.
    killed: AtomicBool,
}

/// Closes the mailbox: from now on senders get their message back; counts and drops every
/// message that got in before, including those of sends still writing their slot (the
/// channel's `close_and_drain` waits for them). A send either lands before the close and is
/// counted here, or fails and hands its message back: none can slip into a mailbox nobody reads
/// (loom: `loom-tests/actor.rs`).
fn close_mailbox<M>(mailbox: Receiver<Letter<M>>) -> usize {
    let mut discarded = 0;
    mailbox.close_and_drain(|letter| discarded += usize::from(matches!(letter, Letter::Msg(_))));
    discarded
}

/// A factory that makes fresh state for a supervised restart.
type Factory<A> = Box<dyn FnMut() -> A + Send>;

/// Configures and spawns an actor.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{Actor, Builder, Context};
///
/// struct Flaky(u32);
/// impl Actor for Flaky {
///     type Msg = u32;
///     fn handle(&mut self, n: u32, _: &mut Context) {
///         assert!(n != 13, "unlucky");
///         self.0 += n;
///     }
/// }
/// let handle = Builder::new().mailbox(8).name("flaky").supervise(3, || Flaky(0)).spawn(Flaky(0));
/// let addr = handle.addr();
/// for n in [1, 13, 2] {
///     addr.tell(n).unwrap();
/// }
/// // Restarted with fresh state after 13: only the 2 after it counts.
/// assert_eq!(handle.stop().into_state().unwrap().0, 2);
/// ```
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct Builder<A: Actor> {
    /// Mailbox capacity; `None` for an unbounded mailbox.
    mailbox: Option<usize>,
    name: Option<String>,
    stack_size: Option<usize>,
    supervisor: Option<(u32, Factory<A>)>,
}

impl<A: Actor> Default for Builder<A> {
    fn default() -> Self {
        Builder { mailbox: Some(DEFAULT_MAILBOX), name: None, stack_size: None, supervisor: None }
    }
}

impl<A: Actor> Builder<A> {
    /// Default settings: a mailbox of [`DEFAULT_MAILBOX`], an unnamed thread, no supervision.
    pub fn new() -> Self {
        Builder::default()
    }

    /// The mailbox capacity (`0`: every `tell` waits for the actor to take the message).
    pub fn mailbox(mut self, capacity: usize) -> Self {
        self.mailbox = Some(capacity);
        self
    }

    /// An unbounded mailbox ([`channel::unbounded`]): `tell` never blocks, and memory grows
    /// with the backlog (and shrinks back after it). For actors whose clients must never wait,
    /// like the seed's, which used an unbounded `queue.Queue()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context};
    ///
    /// struct Log(Vec<u32>);
    /// impl Actor for Log {
    ///     type Msg = u32;
    ///     fn handle(&mut self, n: u32, _: &mut Context) { self.0.push(n) }
    /// }
    /// let log = Builder::new().unbounded_mailbox().spawn(Log(Vec::new()));
    /// for n in 0..10_000 {
    ///     log.addr().try_tell(n).unwrap(); // never full
    /// }
    /// assert_eq!(log.stop().into_state().unwrap().0.len(), 10_000);
    /// ```
    pub fn unbounded_mailbox(mut self) -> Self {
        self.mailbox = None;
        self
    }

    /// The name of the actor's thread.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The stack size of the actor's thread, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Supervision: when a handler (or `started`) panics, replace the state with `factory()`,
    /// run `started`, and go on with the next message, at most `max_restarts` times; after
    /// that, a panic stops the actor. The message whose handler panicked is not retried (its
    /// `ask`, if any, fails with [`ActorError::Panicked`]).
    pub fn supervise(mut self, max_restarts: u32, factory: impl FnMut() -> A + Send + 'static) -> Self {
        self.supervisor = Some((max_restarts, Box::new(factory)));
        self
    }

    /// Starts the actor on its own thread.
    ///
    /// # Panics
    ///
    /// Panics when the mailbox capacity is too large to allocate or the system refuses to
    /// start a thread.
    pub fn spawn(self, actor: A) -> ActorHandle<A> {
        let (tx, rx) = match self.mailbox {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        };
        let shared = Arc::new(Shared { alive: AtomicBool::new(true), killed: AtomicBool::new(false) });
        let mut thread = thread::Builder::new();
        if let Some(name) = self.name {
            thread = thread.name(name);
        }
        if let Some(bytes) = self.stack_size {
            thread = thread.stack_size(bytes);
        }
        let loop_shared = Arc::clone(&shared);
        let supervisor = self.supervisor;
        let join =
            thread.spawn(move || run(actor, rx, &loop_shared, supervisor)).expect("start the actor's thread");
        ActorHandle { addr: Addr { mailbox: tx, shared }, join }
    }
}

/// Starts `actor` on its own thread with the default settings (see [`Builder`]).
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context};
///
/// struct Printer;
/// impl Actor for Printer {
///     type Msg = String;
///     fn handle(&mut self, line: String, _: &mut Context) { assert!(!line.is_empty()) }
/// }
/// let printer = actor::spawn(Printer);
/// printer.addr().tell("hello".to_owned()).unwrap();
/// assert!(matches!(printer.stop(), actor::Exit::Stopped(_)));
/// ```
pub fn spawn<A: Actor>(actor: A) -> ActorHandle<A> {
    Builder::new().spawn(actor)
}

/// The owner's handle on a running actor: its address, and the way to stop and join it.
///
/// Dropping the handle detaches the actor: it runs until every [`Addr`] is dropped too, then
/// stops gracefully.
pub struct ActorHandle<A: Actor> {
    addr: Addr<A>,
    join: JoinHandle<Exit<A>>,
}

impl<A: Actor> ActorHandle<A> {
    /// A new address of the actor.
    #[must_use]
    pub fn addr(&self) -> Addr<A> {
        self.addr.clone()
    }

    /// Graceful stop: the actor handles every message sent before this call, runs `stopped`,
    /// and its final state comes back ([`Exit::Stopped`]; [`Exit::Panicked`] if a handler
    /// panicked first). Blocks until then.
    pub fn stop(self) -> Exit<A> {
        // Err only if the actor already ended (it panicked or was stopped from inside).
        drop(self.addr.mailbox.send(Letter::Stop));
        self.join()
    }

    /// Stops after the current message without handling the rest: they are discarded (their
    /// `ask`s fail with [`ActorError::Stopped`]) and counted in [`Exit::Killed`]. `stopped`
    /// still runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Exit};
    ///
    /// struct Slow;
    /// impl Actor for Slow {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), _: &mut Context) { std::thread::sleep(std::time::Duration::from_millis(5)) }
    /// }
    /// let slow = actor::spawn(Slow);
    /// for _ in 0..20 {
    ///     slow.addr().tell(()).unwrap();
    /// }
    /// match slow.kill() {
    ///     Exit::Killed { discarded, .. } => assert!(discarded > 0),
    ///     Exit::Stopped(_) => {} // it was faster than us
    ///     Exit::Panicked(_) => unreachable!(),
    /// }
    /// ```
    pub fn kill(self) -> Exit<A> {
        // ORDERING: Relaxed: the Stop letter below (a channel hand-off) orders it before the
        // actor's check after waking; a loop already running sees it at its next letter.
        self.addr.shared.killed.store(true, Ordering::Relaxed);
        // Wakes an idle actor; a full mailbox means it is busy and sees the flag next.
        drop(self.addr.mailbox.try_send(Letter::Stop));
        self.join()
    }

    /// Waits until the actor stops on its own (from inside with [`Context::stop`], after a
    /// panic, or when every address is dropped) and returns how it ended.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of the runtime loop itself (handler panics are caught and reported
    /// as [`Exit::Panicked`]).
    pub fn join(self) -> Exit<A> {
        let ActorHandle { addr, join } = self;
        drop(addr); // our own sender must not keep the mailbox open
        join.join().unwrap_or_else(|payload| panic::resume_unwind(payload))
    }
}

/// The actor's thread: handle letters until stopped, then settle the mailbox.
fn run<A: Actor>(
    mut actor: A,
    mailbox: Receiver<Letter<A::Msg>>,
    shared: &Shared,
    mut supervisor: Option<(u32, Factory<A>)>,
) -> Exit<A> {
    let mut ctx = Context::default();
    let mut panicked = None;
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| actor.started(&mut ctx))) {
        match restart(&mut actor, &mut ctx, &mut supervisor) {
            true => {}
            false => panicked = Some(payload),
        }
    }
    let mut discarded = 0;
    // Killed (by `kill` or `Context::stop`) rather than stopped gracefully (a Stop letter, or
    // every address gone).
    let mut killed = false;
    if panicked.is_none() {
        while let Ok(letter) = mailbox.recv() {
            // ORDERING: Relaxed: see `ActorHandle::kill`.
            if shared.killed.load(Ordering::Relaxed) {
                discarded += usize::from(matches!(letter, Letter::Msg(_)));
                killed = true;
                break;
            }
            let Letter::Msg(msg) = letter else { break };
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| actor.handle(msg, &mut ctx))) {
                if !restart(&mut actor, &mut ctx, &mut supervisor) {
                    panicked = Some(payload);
                    break;
                }
            }
            if ctx.stop {
                killed = true;
                break;
            }
        }
    }
    // ORDERING: Release: pairs with `Addr::is_alive`'s Acquire, so a thread that sees the actor
    // dead also sees what its handlers wrote before it stopped. No protocol of the crate reads
    // through it (stop and kill synchronise through the join and the mailbox), which is why a
    // Relaxed store survives the loom models (mutate-orderings); the promise is to users.
    shared.alive.store(false, Ordering::Release);
    // Letters still queued (after a kill, a stop from inside, or a panic) are discarded and
    // counted; their replies fail their asks. From here on `tell` hands messages back.
    discarded += close_mailbox(mailbox);
    if let Some(payload) = panicked {
        return Exit::Panicked(payload);
    }
    actor.stopped();
    // ORDERING: Relaxed: a kill that lands after a graceful end still reports `Killed`.
    if killed || shared.killed.load(Ordering::Relaxed) {
        Exit::Killed { state: actor, discarded }
    } else {
        // Graceful: messages sent after the stop request were refused or discarded (their
        // asks failed with `Stopped`), everything sent before it was handled.
        Exit::Stopped(actor)
    }
}

/// Replaces the state after a panic if the supervisor allows; `false` when it does not.
fn restart<A: Actor>(actor: &mut A, ctx: &mut Context, supervisor: &mut Option<(u32, Factory<A>)>) -> bool {
    loop {
        let Some((left, factory)) = supervisor.as_mut() else { return false };
        if *left == 0 {
            return false;
        }
        *left -= 1;
        *actor = factory();
        ctx.restarts += 1;
        if panic::catch_unwind(AssertUnwindSafe(|| actor.started(ctx))).is_ok() {
            return true;
        }
    }
}

impl<A: Actor> fmt::Debug for ActorHandle<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorHandle").field("addr", &self.addr).finish()
    }
}

impl<A: Actor> fmt::Debug for Builder<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("mailbox", &self.mailbox)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
