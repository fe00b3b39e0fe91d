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
//! - **Stopping**: [`ActorHandle::stop`] is graceful: it closes the mailbox (later `tell`s
//!   hand their message back), every message that got in is handled, then `stopped` runs and
//!   the final state comes back. [`ActorHandle::kill`] stops after the current message and
//!   reports how many were discarded. When every `Addr` and the handle are dropped, the actor
//!   stops gracefully on its own.
//! - **Panics**: a panicking handler (or hook) is caught. Without supervision the actor stops:
//!   its pending and later `ask`s fail with [`ActorError::Panicked`] / [`ActorError::Stopped`],
//!   `tell` hands messages back, [`Addr::is_alive`] turns false, and [`ActorHandle::join`]
//!   returns the payload and the count of messages discarded behind it. With
//!   [`Builder::supervise`], it restarts with fresh state from a factory, up to a limit, and
//!   goes on with the next message.
//! - **Nothing silently lost**: each message is handled, or handed back to the sender, or
//!   counted as discarded in the [`Exit`] (after `kill`, `Context::stop` or a panic); a
//!   discarded or unanswered `ask` fails with a clear error.
//!   The mailbox is closed through the channel itself (the ring is closed for senders, then
//!   every message that got in is drained), so no send can slip in between the actor's last
//!   look at its mailbox and its end.
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
mod join;
mod weak_addr;

pub use addr::{Addr, AskFuture, Reply};
pub use error::{ActorError, Exit};
pub use join::JoinFuture;
pub use weak_addr::WeakAddr;

use crate::channel::{self, Receiver};
use crate::exiting::Exiting;
use crate::sync::Arc;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::thread;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};

/// Default mailbox capacity: how many messages [`spawn`] lets wait before `tell` blocks
/// ([`Builder::mailbox`] sets another).
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context};
/// use ringfence::channel::TrySendError;
///
/// // Holds its first message back until the gate opens, so the mailbox fills up.
/// struct Gated(std::sync::mpsc::Receiver<()>);
/// impl Actor for Gated {
///     type Msg = usize;
///     fn started(&mut self, _: &mut Context) { self.0.recv().unwrap() }
///     fn handle(&mut self, _: usize, _: &mut Context) {}
/// }
/// let (open, gate) = std::sync::mpsc::channel();
/// let gated = actor::spawn(Gated(gate));
/// let addr = gated.addr();
/// for n in 0..actor::DEFAULT_MAILBOX {
///     addr.try_tell(n).unwrap();
/// }
/// assert!(matches!(addr.try_tell(0), Err(TrySendError::Full(0))));
/// open.send(()).unwrap();
/// gated.stop();
/// ```
pub const DEFAULT_MAILBOX: usize = 1024;

/// An object that owns its state and handles messages one at a time on its own thread.
///
/// Only [`handle`](Actor::handle) is required; [`started`](Actor::started) and
/// [`stopped`](Actor::stopped) run on the actor's thread around the messages.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context, Reply};
///
/// enum Msg { Add(u64), Total(Reply<u64>) }
/// struct Counter { total: u64, log: Vec<&'static str> }
/// impl Actor for Counter {
///     type Msg = Msg;
///     fn started(&mut self, _: &mut Context) { self.log.push("started") }
///     fn handle(&mut self, msg: Msg, _: &mut Context) {
///         match msg {
///             Msg::Add(n) => self.total += n,
///             Msg::Total(reply) => reply.send(self.total),
///         }
///     }
///     fn stopped(&mut self) { self.log.push("stopped") }
/// }
///
/// let counter = actor::spawn(Counter { total: 0, log: Vec::new() });
/// let addr = counter.addr();
/// addr.tell(Msg::Add(2)).unwrap();
/// addr.tell(Msg::Add(3)).unwrap();
/// assert_eq!(addr.ask(Msg::Total), Ok(5));
/// let state = counter.stop().into_state().unwrap();
/// assert_eq!(state.log, ["started", "stopped"]);
/// ```
pub trait Actor: Send + Sized + 'static {
    /// The messages it handles (an enum, usually; carry a [`Reply`] for request-reply).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    ///
    /// enum Msg { Set(String), Get(Reply<String>) }
    /// struct Cell(String);
    /// impl Actor for Cell {
    ///     type Msg = Msg;
    ///     fn handle(&mut self, msg: Msg, _: &mut Context) {
    ///         match msg {
    ///             Msg::Set(value) => self.0 = value,
    ///             Msg::Get(reply) => reply.send(self.0.clone()),
    ///         }
    ///     }
    /// }
    /// let cell = actor::spawn(Cell(String::new())).addr();
    /// cell.tell(Msg::Set("hi".into())).unwrap();
    /// assert_eq!(cell.ask(Msg::Get).unwrap(), "hi");
    /// ```
    type Msg: Send + 'static;

    /// Handles one message. Runs on the actor's thread, one message at a time, in mailbox
    /// order. A panic here is caught: without [supervision](Builder::supervise) the actor stops.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Log(Vec<String>);
    /// impl Actor for Log {
    ///     type Msg = String;
    ///     fn handle(&mut self, line: String, _: &mut Context) { self.0.push(line) }
    /// }
    /// let log = actor::spawn(Log(Vec::new()));
    /// for line in ["a", "b", "c"] {
    ///     log.addr().tell(line.to_owned()).unwrap();
    /// }
    /// assert_eq!(log.stop().into_state().unwrap().0, ["a", "b", "c"]); // in mailbox order
    /// ```
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Context);

    /// Runs on the actor's thread before the first message (and after each supervised restart).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    ///
    /// // Learns which thread it runs on before any message.
    /// struct Where(Option<std::thread::ThreadId>);
    /// impl Actor for Where {
    ///     type Msg = Reply<bool>;
    ///     fn started(&mut self, _: &mut Context) { self.0 = Some(std::thread::current().id()) }
    ///     fn handle(&mut self, reply: Reply<bool>, _: &mut Context) {
    ///         reply.send(self.0 == Some(std::thread::current().id()));
    ///     }
    /// }
    /// let handle = actor::spawn(Where(None));
    /// assert_eq!(handle.addr().ask(|reply| reply), Ok(true));
    /// assert_ne!(handle.stop().into_state().unwrap().0, Some(std::thread::current().id()));
    /// ```
    fn started(&mut self, _ctx: &mut Context) {}

    /// Runs on the actor's thread when it stops without panicking, before its state is handed
    /// to whoever joins it.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// // Flushes what it buffered when it stops.
    /// struct Batcher { buffer: Vec<u32>, flushed: Vec<u32> }
    /// impl Actor for Batcher {
    ///     type Msg = u32;
    ///     fn handle(&mut self, n: u32, _: &mut Context) { self.buffer.push(n) }
    ///     fn stopped(&mut self) { self.flushed.append(&mut self.buffer) }
    /// }
    /// let batcher = actor::spawn(Batcher { buffer: Vec::new(), flushed: Vec::new() });
    /// batcher.addr().tell(1).unwrap();
    /// batcher.addr().tell(2).unwrap();
    /// let state = batcher.stop().into_state().unwrap();
    /// assert_eq!((state.buffer.len(), state.flushed), (0, vec![1, 2]));
    /// ```
    fn stopped(&mut self) {}
}

/// What a handler can ask of its actor's runtime: [`stop`](Context::stop) after the current
/// message, and how many [`restarts`](Context::restarts) a supervisor made. `handle` and `started` get one.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context, Exit};
///
/// // Stops itself once it has seen three messages.
/// struct Three(u32);
/// impl Actor for Three {
///     type Msg = ();
///     fn handle(&mut self, (): (), ctx: &mut Context) {
///         self.0 += 1;
///         if self.0 == 3 {
///             ctx.stop();
///         }
///     }
/// }
/// let handle = actor::spawn(Three(0));
/// let addr = handle.addr();
/// for _ in 0..3 {
///     addr.tell(()).unwrap();
/// }
/// let Exit::Killed { state, .. } = handle.join() else { panic!("it stopped itself") };
/// assert_eq!(state.0, 3);
/// ```
#[derive(Debug, Default)]
pub struct Context {
    stop: bool,
    restarts: u32,
}

impl Context {
    /// Stops the actor after the current message (called in [`Actor::started`]: before the
    /// first one). Messages still in the mailbox are discarded and counted in [`Exit::Killed`]
    /// (`discarded: 0` when none were left).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Exit};
    ///
    /// struct UntilZero(Vec<u32>);
    /// impl Actor for UntilZero {
    ///     type Msg = u32;
    ///     fn handle(&mut self, n: u32, ctx: &mut Context) {
    ///         if n == 0 { ctx.stop() } else { self.0.push(n) }
    ///     }
    /// }
    /// let handle = actor::Builder::new().mailbox(8).spawn(UntilZero(Vec::new()));
    /// let addr = handle.addr();
    /// for n in [3, 0] {
    ///     addr.tell(n).unwrap();
    /// }
    /// let Exit::Killed { state, .. } = handle.join() else { panic!("stopped from inside") };
    /// assert_eq!(state.0, [3]);
    /// ```
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// How many times a supervisor restarted this actor so far.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context, Reply};
    ///
    /// enum Msg { Crash, Restarts(Reply<u32>) }
    /// struct Phoenix;
    /// impl Actor for Phoenix {
    ///     type Msg = Msg;
    ///     fn handle(&mut self, msg: Msg, ctx: &mut Context) {
    ///         match msg {
    ///             Msg::Crash => panic!("on purpose"),
    ///             Msg::Restarts(reply) => reply.send(ctx.restarts()),
    ///         }
    ///     }
    /// }
    /// let handle = Builder::new().supervise(5, || Phoenix).spawn(Phoenix);
    /// let addr = handle.addr();
    /// addr.tell(Msg::Crash).unwrap();
    /// assert_eq!(addr.ask(Msg::Restarts), Ok(1));
    /// ```
    #[must_use]
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

/// State an actor shares with its addresses.
pub(crate) struct Shared {
    /// `true` until the actor's loop has ended.
    alive: AtomicBool,
    /// Set by `kill`: the loop stops at the next letter.
    killed: AtomicBool,
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context};
    ///
    /// struct Noop;
    /// impl Actor for Noop {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) {}
    /// }
    /// // The same as `actor::spawn(Noop)`.
    /// let noop = Builder::new().spawn(Noop);
    /// assert!(noop.addr().is_alive());
    /// ```
    pub fn new() -> Self {
        Builder::default()
    }

    /// The mailbox capacity (`0`: every `tell` waits for the actor to take the message).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context};
    ///
    /// struct Sink;
    /// impl Actor for Sink {
    ///     type Msg = u8;
    ///     fn handle(&mut self, _: u8, _: &mut Context) {}
    /// }
    /// let sink = Builder::new().mailbox(2).spawn(Sink);
    /// sink.addr().tell(1).unwrap(); // room for two: never waits here
    /// assert!(sink.stop().into_state().is_some());
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context, Reply};
    ///
    /// struct WhoAmI;
    /// impl Actor for WhoAmI {
    ///     type Msg = Reply<Option<String>>;
    ///     fn handle(&mut self, reply: Reply<Option<String>>, _: &mut Context) {
    ///         reply.send(std::thread::current().name().map(str::to_owned));
    ///     }
    /// }
    /// let actor = Builder::new().name("ledger").spawn(WhoAmI);
    /// assert_eq!(actor.addr().ask(|r| r), Ok(Some("ledger".to_owned())));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The stack size of the actor's thread, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context, Reply};
    ///
    /// struct Deep;
    /// impl Actor for Deep {
    ///     type Msg = Reply<u8>;
    ///     fn handle(&mut self, reply: Reply<u8>, _: &mut Context) {
    ///         let buffer = std::hint::black_box([1u8; 4 << 20]); // 4 MiB on the stack
    ///         reply.send(buffer[4 << 19]);
    ///     }
    /// }
    /// let deep = Builder::new().stack_size(16 << 20).spawn(Deep);
    /// assert_eq!(deep.addr().ask(|r| r), Ok(1));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Supervision: when a handler (or `started`) panics, replace the state with `factory()`,
    /// run `started`, and go on with the next message, at most `max_restarts` times; after
    /// that, a panic stops the actor. The message whose handler panicked is not retried (its
    /// `ask`, if any, fails with [`ActorError::Panicked`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, ActorError, Builder, Context, Reply};
    ///
    /// enum Msg { Divide(u32, Reply<u32>) }
    /// struct Calculator;
    /// impl Actor for Calculator {
    ///     type Msg = Msg;
    ///     fn handle(&mut self, Msg::Divide(n, reply): Msg, _: &mut Context) { reply.send(100 / n) }
    /// }
    /// let calc = Builder::new().supervise(1, || Calculator).spawn(Calculator);
    /// let addr = calc.addr();
    /// assert_eq!(addr.ask(|r| Msg::Divide(0, r)), Err(ActorError::Panicked)); // restarted
    /// assert_eq!(addr.ask(|r| Msg::Divide(5, r)), Ok(20));
    /// assert_eq!(addr.ask(|r| Msg::Divide(0, r)), Err(ActorError::Panicked)); // no restart left
    /// assert!(calc.join().into_state().is_none());
    /// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{Actor, Builder, Context};
    ///
    /// struct Count(u32);
    /// impl Actor for Count {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) { self.0 += 1 }
    /// }
    /// let counter = Builder::new().spawn(Count(0));
    /// counter.addr().tell(()).unwrap();
    /// assert_eq!(counter.stop().into_state().unwrap().0, 1);
    /// ```
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
        // The exit goes through a oneshot, not the thread's return value, so that a task can
        // await it (`join_async`); a detached actor drops it on its thread (if it ends after
        // the handle is gone).
        let exit = Exiting::spawn(thread, move || run(actor, rx, &loop_shared, supervisor))
            .expect("start the actor's thread");
        ActorHandle { addr: Addr { mailbox: tx, shared }, exit }
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
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context, Exit};
///
/// struct Sum(u64);
/// impl Actor for Sum {
///     type Msg = u64;
///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n }
/// }
/// let handle = actor::spawn(Sum(0));
/// let addr = handle.addr();
/// for n in 1..=4 {
///     addr.tell(n).unwrap();
/// }
/// // Graceful: every message that got in is handled first.
/// let Exit::Stopped(state) = handle.stop() else { panic!("no panic, no kill") };
/// assert_eq!(state.0, 10);
/// assert!(addr.tell(5).is_err()); // the mailbox is closed: the message comes back
/// ```
pub struct ActorHandle<A: Actor> {
    addr: Addr<A>,
    /// The actor's thread, and its [`Exit`] once it ends.
    exit: Exiting<Exit<A>>,
}

impl<A: Actor> ActorHandle<A> {
    /// A new address of the actor.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Count(u32);
    /// impl Actor for Count {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) { self.0 += 1 }
    /// }
    /// let counter = actor::spawn(Count(0));
    /// let clients: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         let addr = counter.addr(); // one per client thread
    ///         std::thread::spawn(move || addr.tell(()).unwrap())
    ///     })
    ///     .collect();
    /// clients.into_iter().for_each(|c| c.join().unwrap());
    /// assert_eq!(counter.stop().into_state().unwrap().0, 3);
    /// ```
    #[must_use]
    pub fn addr(&self) -> Addr<A> {
        self.addr.clone()
    }

    /// Graceful stop: closes the mailbox (from now on `tell` and `ask` hand their message back
    /// or fail with [`ActorError::Stopped`]), lets the actor handle every message that got in,
    /// runs `stopped`, and returns the final state ([`Exit::Stopped`]; [`Exit::Panicked`] if a
    /// handler panicked first). Blocks until then.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Log(Vec<u32>);
    /// impl Actor for Log {
    ///     type Msg = u32;
    ///     fn handle(&mut self, n: u32, _: &mut Context) { self.0.push(n) }
    /// }
    /// let log = actor::spawn(Log(Vec::new()));
    /// let addr = log.addr();
    /// for n in 0..100 {
    ///     addr.tell(n).unwrap();
    /// }
    /// let state = log.stop().into_state().unwrap();
    /// assert_eq!(state.0, (0..100).collect::<Vec<_>>()); // everything told before the stop
    /// assert!(addr.tell(100).is_err()); // the mailbox is closed: the message comes back
    /// ```
    pub fn stop(self) -> Exit<A> {
        // The actor's `recv` drains what got in, then sees the close: a graceful end. (A closed
        // mailbox, rather than a stop letter queued behind the messages, so that no `tell`
        // after the stop gets in and is then dropped unhandled.)
        self.addr.mailbox.close();
        self.join()
    }

    /// Stops after the current message without handling the rest: they are discarded (their
    /// `ask`s fail with [`ActorError::Stopped`]) and counted in [`Exit::Killed`]. `stopped`
    /// still runs. The mailbox is closed at once, as by [`ActorHandle::stop`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    /// use std::time::Duration;
    ///
    /// struct Slow(usize);
    /// impl Actor for Slow {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), _: &mut Context) {
    ///         std::thread::sleep(Duration::from_millis(1));
    ///         self.0 += 1;
    ///     }
    /// }
    /// let slow = actor::Builder::new().mailbox(32).spawn(Slow(0));
    /// let addr = slow.addr();
    /// for _ in 0..20 {
    ///     addr.tell(()).unwrap();
    /// }
    /// let exit = slow.kill();
    /// let discarded = exit.discarded();
    /// let handled = exit.into_state().unwrap().0;
    /// assert_eq!(handled + discarded, 20); // each message handled or counted, never lost
    /// assert!(addr.tell(()).is_err()); // closed
    /// ```
    pub fn kill(self) -> Exit<A> {
        self.kill_switch().pull();
        self.join()
    }

    /// What a kill needs: the flag, and a way to close the mailbox.
    fn kill_switch(&self) -> KillSwitch<A> {
        KillSwitch { shared: Arc::clone(&self.addr.shared), mailbox: self.addr.mailbox.closer() }
    }

    /// Waits until the actor stops on its own (from inside with [`Context::stop`], after a
    /// panic, or when every address is dropped) and returns how it ended.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of the runtime loop itself (handler and hook panics are caught and
    /// reported as [`Exit::Panicked`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Exit};
    ///
    /// struct Sum(u64);
    /// impl Actor for Sum {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n }
    /// }
    /// let handle = actor::spawn(Sum(0));
    /// let addr = handle.addr();
    /// addr.tell(2).unwrap();
    /// drop(addr); // the last address: the actor stops gracefully once its mailbox is empty
    /// let Exit::Stopped(sum) = handle.join() else { panic!("graceful") };
    /// assert_eq!(sum.0, 2);
    /// ```
    pub fn join(self) -> Exit<A> {
        let ActorHandle { addr, exit } = self;
        drop(addr); // our own sender must not keep the mailbox open
        exit.join()
    }

    /// [`stop`](Self::stop) without blocking: closes the mailbox now and returns a future of
    /// the actor's end (every message that got in handled, `stopped` run).
    ///
    /// # Cancel safety
    ///
    /// The stop is requested when this is called; dropping the future only gives up the
    /// final state (see [`JoinFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Sum(u64);
    /// impl Actor for Sum {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n }
    /// }
    /// let sum = actor::spawn(Sum(0));
    /// sum.addr().tell_async(5).await.unwrap();
    /// assert_eq!(sum.stop_async().await.into_state().unwrap().0, 5);
    /// # });
    /// ```
    pub fn stop_async(self) -> JoinFuture<A> {
        self.addr.mailbox.close();
        self.join_async()
    }

    /// [`kill`](Self::kill) without blocking: requests the kill now and returns a future of the
    /// actor's end.
    ///
    /// # Cancel safety
    ///
    /// As [`stop_async`](Self::stop_async): the kill is requested when this is called.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::actor::{self, Actor, Context, Exit};
    ///
    /// struct Idle;
    /// impl Actor for Idle {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), _: &mut Context) {}
    /// }
    /// let idle = actor::spawn(Idle);
    /// assert!(matches!(idle.kill_async().await, Exit::Killed { discarded: 0, .. }));
    /// # });
    /// ```
    pub fn kill_async(self) -> JoinFuture<A> {
        self.kill_switch().pull();
        self.join_async()
    }

    /// [`join`](Self::join) without blocking: a future of the actor's end, when it stops on its
    /// own (from inside, after a panic, or when every address is dropped). Unlike `join`, it
    /// resolves when the state is handed over, which may be a moment before the thread itself
    /// has ended (it is left to end on its own).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future detaches the actor, as dropping the handle does (see
    /// [`JoinFuture`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use ringfence::actor::{self, Actor, Context, Exit};
    ///
    /// struct Once;
    /// impl Actor for Once {
    ///     type Msg = ();
    ///     fn handle(&mut self, (): (), ctx: &mut Context) { ctx.stop() }
    /// }
    /// let once = actor::spawn(Once);
    /// once.addr().tell_async(()).await.unwrap();
    /// assert!(matches!(once.join_async().await, Exit::Killed { discarded: 0, .. }));
    /// # });
    /// ```
    pub fn join_async(self) -> JoinFuture<A> {
        let kill = self.kill_switch();
        let ActorHandle { addr, exit } = self;
        drop(addr); // our own sender must not keep the mailbox open
        JoinFuture::new(exit, kill)
    }
}

/// What a kill needs, without being an address (it does not keep the mailbox open): the
/// shared flags and a way to close the mailbox.
pub(crate) struct KillSwitch<A: Actor> {
    shared: Arc<Shared>,
    mailbox: channel::Closer<A::Msg>,
}

impl<A: Actor> KillSwitch<A> {
    /// Sets the kill flag, then closes the mailbox.
    pub(crate) fn pull(&self) {
        // ORDERING: Relaxed: the close below (a Release RMW on the channel's flag) orders it
        // before the actor's Acquire look at that flag, which ends its wait for a letter; a loop
        // running a handler sees it at its next letter.
        self.shared.killed.store(true, Ordering::Relaxed);
        // Wakes an idle actor (also on a zero-capacity mailbox, where no letter could be
        // queued to wake it) and refuses every later message.
        self.mailbox.close();
    }
}

type Payload = Box<dyn std::any::Any + Send + 'static>;

/// The actor's thread: its state and what has happened to it so far.
struct Runner<A: Actor> {
    actor: A,
    ctx: Context,
    supervisor: Option<(u32, Factory<A>)>,
    /// The panic that ended the actor (a handler's or hook's without a restart left, or the
    /// factory's).
    panicked: Option<Payload>,
    /// Stopped by `kill` or `Context::stop`: later letters are discarded.
    killed: bool,
    /// Messages that got in and were dropped unhandled.
    discarded: usize,
}

/// The actor's thread: handle messages until the mailbox is closed and drained (graceful), or
/// until a kill, a stop from inside or a panic (the rest is discarded and counted).
fn run<A: Actor>(
    actor: A,
    mailbox: Receiver<A::Msg>,
    shared: &Shared,
    supervisor: Option<(u32, Factory<A>)>,
) -> Exit<A> {
    // Dropped where the actor ends, and on an unwind out of `run`: a user's `Drop` that panics
    // outside the handlers' catch (an old state replaced by a restart, a discarded message)
    // ends the thread here, and `is_alive` must still turn false (its join re-raises the panic).
    let dead_on_exit = MarkDead(shared);
    let mut runner =
        Runner { actor, ctx: Context::default(), supervisor, panicked: None, killed: false, discarded: 0 };
    if let Err(payload) = runner.catch(|actor, ctx| actor.started(ctx)) {
        runner.restart_or_end(payload);
    }
    while runner.is_running() {
        let Ok(msg) = mailbox.recv() else { break };
        runner.deliver(msg, shared);
    }
    // Closes the mailbox (if `stop` or `kill` has not) and takes every message that got in,
    // including those of sends still writing their slot (`close_and_drain` waits for them): a
    // send either lands before the close and is handled or counted here, or fails and hands
    // its message back. None can slip into a mailbox nobody reads (loom: `loom-tests/actor.rs`).
    // After a graceful end these are sends that raced `stop`'s close and got in: handled.
    mailbox.close_and_drain(|msg| runner.deliver(msg, shared));
    drop(dead_on_exit);
    runner.finish(shared)
}

/// Marks the actor dead when dropped (see `run`).
struct MarkDead<'a>(&'a Shared);

impl Drop for MarkDead<'_> {
    fn drop(&mut self) {
        // ORDERING: Release: pairs with `Addr::is_alive`'s Acquire, so a thread that sees the
        // actor dead also sees what its handlers wrote before it stopped. No protocol of the
        // crate reads through it (stop and kill synchronise through the join and the mailbox),
        // which is why a Relaxed store survives the loom models (mutate-orderings); the promise
        // is to users.
        self.0.alive.store(false, Ordering::Release);
    }
}

impl<A: Actor> Runner<A> {
    /// Not once it panicked (and no restart is left), was killed, or asked to stop from inside
    /// (`Context::stop`, in a handler or in `started`).
    fn is_running(&self) -> bool {
        self.panicked.is_none() && !self.killed && !self.ctx.stop
    }

    /// Runs `f` on the state, catching a panic.
    fn catch(&mut self, f: impl FnOnce(&mut A, &mut Context)) -> Result<(), Payload> {
        let Runner { actor, ctx, .. } = self;
        panic::catch_unwind(AssertUnwindSafe(|| f(actor, ctx)))
    }

    /// Handles `msg`, or counts it as discarded once the actor is ending.
    fn deliver(&mut self, msg: A::Msg, shared: &Shared) {
        // ORDERING: Relaxed: see `ActorHandle::kill`.
        if shared.killed.load(Ordering::Relaxed) {
            self.killed = true;
        }
        if !self.is_running() {
            self.discarded += 1;
            return;
        }
        if let Err(payload) = self.catch(|actor, ctx| actor.handle(msg, ctx)) {
            self.restart_or_end(payload);
        }
    }

    /// After a panic: replaces the state from the supervisor's factory and runs `started`, if
    /// a restart is left; otherwise (or if the factory panics) the actor ends with the panic.
    fn restart_or_end(&mut self, mut payload: Payload) {
        while let Some((left, factory)) = self.supervisor.as_mut() {
            if *left == 0 {
                break;
            }
            *left -= 1;
            match panic::catch_unwind(AssertUnwindSafe(&mut *factory)) {
                Ok(fresh) => self.actor = fresh,
                // A factory that panics cannot make state to go on with: end with its panic.
                Err(factory_panic) => {
                    payload = factory_panic;
                    break;
                }
            }
            self.ctx.restarts += 1;
            match self.catch(|actor, ctx| actor.started(ctx)) {
                Ok(()) => return,
                Err(started_panic) => payload = started_panic,
            }
        }
        self.panicked = Some(payload);
    }

    /// Runs `stopped` (unless the actor panicked) and reports how the actor ended.
    fn finish(mut self, shared: &Shared) -> Exit<A> {
        let discarded = self.discarded;
        if let Some(payload) = self.panicked {
            return Exit::Panicked { payload, discarded };
        }
        if let Err(payload) = self.catch(|actor, _| actor.stopped()) {
            return Exit::Panicked { payload, discarded };
        }
        // ORDERING: Relaxed: a kill that lands after a graceful end still reports `Killed`
        // (the join orders it for the caller anyway).
        // A stop from inside ends the actor as a kill does: what was left is discarded.
        if self.killed || self.ctx.stop || shared.killed.load(Ordering::Relaxed) {
            Exit::Killed { state: self.actor, discarded }
        } else {
            Exit::Stopped(self.actor)
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
