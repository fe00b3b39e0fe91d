//! The address of an actor: send it messages (`tell`), or ask and wait for the reply.

use super::error::ActorError;
use super::{Actor, Shared};
use crate::channel::{SendError, SendFuture, SendTimeoutError, Sender, TrySendError};
use crate::oneshot;
use crate::sync::Arc;
use crate::sync::atomic::Ordering;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

/// The way to talk to an actor: cheap to clone, `Send`, usable from any thread.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, Context};
///
/// struct Sum(u64);
/// impl Actor for Sum {
///     type Msg = u64;
///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n }
/// }
/// let sum = actor::spawn(Sum(0));
/// let addr = sum.addr();
/// let tellers: Vec<_> = (1..=4).map(|n| {
///     let addr = addr.clone();
///     std::thread::spawn(move || addr.tell(n).unwrap())
/// }).collect();
/// tellers.into_iter().for_each(|t| t.join().unwrap());
/// assert_eq!(sum.stop().into_state().unwrap().0, 10);
/// assert_eq!(addr.tell(5).unwrap_err().into_inner(), 5); // stopped: the message comes back
/// ```
pub struct Addr<A: Actor> {
    pub(super) mailbox: Sender<A::Msg>,
    pub(super) shared: Arc<Shared>,
}

/// The reply half of an `ask`: put it in the message; the handler answers with
/// [`Reply::send`]. Dropped without an answer, the asker gets [`ActorError::Stopped`] (or
/// [`ActorError::Panicked`] when the drop happens while the handler panics).
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, ActorError, Context, Reply};
///
/// struct Halver;
/// impl Actor for Halver {
///     type Msg = (u32, Reply<u32>);
///     fn handle(&mut self, (n, reply): (u32, Reply<u32>), _: &mut Context) {
///         if n % 2 == 0 {
///             reply.send(n / 2);
///         } // an odd `n`: the reply is dropped unanswered
///     }
/// }
/// let halver = actor::spawn(Halver);
/// assert_eq!(halver.addr().ask(|r| (8, r)), Ok(4));
/// assert_eq!(halver.addr().ask(|r| (7, r)), Err(ActorError::Stopped));
/// assert!(halver.addr().is_alive()); // `Stopped` only says no answer came
/// ```
pub struct Reply<R> {
    promise: Option<oneshot::Sender<Result<R, ActorError>>>,
}

impl<R> Reply<R> {
    /// Answers the `ask`. If the asker gave up (timed out or dropped its future), the value is
    /// dropped here.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    ///
    /// struct Greeter;
    /// impl Actor for Greeter {
    ///     type Msg = (String, Reply<String>);
    ///     fn handle(&mut self, (name, reply): (String, Reply<String>), _: &mut Context) {
    ///         reply.send(format!("hello, {name}"));
    ///     }
    /// }
    /// let greeter = actor::spawn(Greeter);
    /// assert_eq!(greeter.addr().ask(|r| ("ada".to_owned(), r)).unwrap(), "hello, ada");
    /// ```
    pub fn send(mut self, value: R) {
        if let Some(promise) = self.promise.take() {
            drop(promise.send(Ok(value)));
        }
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        if let Some(promise) = self.promise.take() {
            let error = if std::thread::panicking() { ActorError::Panicked } else { ActorError::Stopped };
            drop(promise.send(Err(error)));
        }
    }
}

impl<A: Actor> Addr<A> {
    /// Sends `msg`; blocks while the mailbox is full (backpressure).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when the actor has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n; }
    /// }
    /// let handle = actor::spawn(Counter(0));
    /// handle.addr().tell(5).unwrap();
    /// assert_eq!(handle.stop().into_state().unwrap().0, 5);
    /// ```
    pub fn tell(&self, msg: A::Msg) -> Result<(), SendError<A::Msg>> {
        self.mailbox.send(msg)
    }

    /// Async [`tell`](Addr::tell): a future that sends `msg`, waiting for room without blocking
    /// the thread while the mailbox is full; it works with any executor. It is the mailbox
    /// channel's own [`SendFuture`], so [`SendFuture::cancel`] takes an unsent message back.
    ///
    /// # Cancel safety
    ///
    /// The channel's [`send_async`](Sender::send_async) promise: dropped before it completed,
    /// the message was not sent (it is dropped with the future); on a zero-capacity mailbox
    /// (`Builder::mailbox(0)`) it may have been, and `cancel()` says which.
    ///
    /// # Errors
    ///
    /// The future resolves to [`SendError`] with the message when the actor has stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n; }
    /// }
    /// let handle = actor::spawn(Counter(0));
    /// let addr = handle.addr();
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     for n in 1..=3 {
    ///         addr.tell_async(n).await.unwrap();
    ///     }
    /// });
    /// assert_eq!(handle.stop().into_state().unwrap().0, 6);
    /// ```
    pub fn tell_async(&self, msg: A::Msg) -> SendFuture<'_, A::Msg> {
        self.mailbox.send_async(msg)
    }

    /// [`tell`](Addr::tell), blocking at most `timeout` while the mailbox is full. A timeout too
    /// large to represent waits as long as it takes.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] (the mailbox stayed full) or
    /// [`SendTimeoutError::Disconnected`] (the actor has stopped), with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    /// use std::time::Duration;
    ///
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Msg = u64;
    ///     fn handle(&mut self, n: u64, _: &mut Context) { self.0 += n; }
    /// }
    /// let handle = actor::spawn(Counter(0));
    /// handle.addr().tell_timeout(5, Duration::from_secs(60)).unwrap();
    /// assert_eq!(handle.stop().into_state().unwrap().0, 5);
    /// ```
    pub fn tell_timeout(&self, msg: A::Msg, timeout: Duration) -> Result<(), SendTimeoutError<A::Msg>> {
        self.mailbox.send_timeout(msg, timeout)
    }

    /// [`tell`](Addr::tell), blocking until `deadline` at most while the mailbox is full. A
    /// deadline already past still sends when there is room (as [`try_tell`](Addr::try_tell)).
    ///
    /// # Errors
    ///
    /// As [`tell_timeout`](Addr::tell_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    /// use std::time::{Duration, Instant};
    ///
    /// struct Runner;
    /// impl Actor for Runner {
    ///     type Msg = Box<dyn FnOnce() + Send>;
    ///     fn handle(&mut self, job: Self::Msg, _: &mut Context) { job() }
    /// }
    /// let handle = actor::Builder::new().mailbox(1).spawn(Runner);
    /// let addr = handle.addr();
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// addr.tell(Box::new(move || { started_tx.send(()).unwrap(); let _ = gate.recv(); })).unwrap();
    /// started.recv().unwrap(); // the actor is busy
    /// addr.tell(Box::new(|| {})).unwrap(); // the mailbox (capacity 1) is full
    /// let soon = Instant::now() + Duration::from_millis(10);
    /// let err = addr.tell_deadline(Box::new(|| {}), soon).unwrap_err();
    /// assert!(err.is_timeout());
    /// release.send(()).unwrap();
    /// ```
    pub fn tell_deadline(&self, msg: A::Msg, deadline: Instant) -> Result<(), SendTimeoutError<A::Msg>> {
        self.mailbox.send_deadline(msg, deadline)
    }

    /// Sends `msg` if the mailbox has room.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`] (stopped), with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Sink;
    /// impl Actor for Sink {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), _: &mut Context) {}
    /// }
    /// let handle = actor::spawn(Sink);
    /// assert!(handle.addr().try_tell(()).is_ok());
    /// ```
    pub fn try_tell(&self, msg: A::Msg) -> Result<(), TrySendError<A::Msg>> {
        self.mailbox.try_send(msg)
    }

    /// Request-reply: builds the message around a [`Reply`], sends it (blocking while the
    /// mailbox is full), and waits for the answer.
    ///
    /// # Errors
    ///
    /// [`ActorError::Stopped`] when the actor stopped before answering (or dropped the reply),
    /// [`ActorError::Panicked`] when its handler panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    ///
    /// enum Msg { Add(u64), Get(Reply<u64>) }
    /// struct Counter(u64);
    /// impl Actor for Counter {
    ///     type Msg = Msg;
    ///     fn handle(&mut self, msg: Msg, _: &mut Context) {
    ///         match msg {
    ///             Msg::Add(n) => self.0 += n,
    ///             Msg::Get(reply) => reply.send(self.0),
    ///         }
    ///     }
    /// }
    /// let counter = actor::spawn(Counter(0));
    /// let addr = counter.addr();
    /// addr.tell(Msg::Add(2)).unwrap();
    /// assert_eq!(addr.ask(Msg::Get), Ok(2));
    /// ```
    pub fn ask<R>(&self, make: impl FnOnce(Reply<R>) -> A::Msg) -> Result<R, ActorError> {
        let mut answer = self.send_ask(make)?;
        match answer.recv_timeout(Duration::MAX) {
            Ok(result) => result,
            Err(_) => Err(ActorError::Stopped),
        }
    }

    /// [`Addr::ask`] waiting at most `timeout` for the answer (the time to get into a full
    /// mailbox counts too). A timeout too large to represent waits forever.
    ///
    /// # Errors
    ///
    /// As [`Addr::ask`], plus [`ActorError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    /// use std::time::Duration;
    ///
    /// struct Echo;
    /// impl Actor for Echo {
    ///     type Msg = (u32, Reply<u32>);
    ///     fn handle(&mut self, (n, reply): (u32, Reply<u32>), _: &mut Context) { reply.send(n) }
    /// }
    /// let echo = actor::spawn(Echo);
    /// assert_eq!(echo.addr().ask_timeout(|r| (7, r), Duration::from_secs(60)), Ok(7));
    /// ```
    pub fn ask_timeout<R>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
        timeout: Duration,
    ) -> Result<R, ActorError> {
        self.ask_until(make, crate::wait::deadline_after(timeout))
    }

    /// [`Addr::ask`] waiting until `deadline` at most for the answer (the time to get into a
    /// full mailbox counts too). A deadline already past still sends when the mailbox has
    /// room, and still takes an answer that is there at once.
    ///
    /// # Errors
    ///
    /// As [`Addr::ask`], plus [`ActorError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    /// use std::time::{Duration, Instant};
    ///
    /// struct Echo;
    /// impl Actor for Echo {
    ///     type Msg = (u32, Reply<u32>);
    ///     fn handle(&mut self, (n, reply): (u32, Reply<u32>), _: &mut Context) { reply.send(n) }
    /// }
    /// let echo = actor::spawn(Echo);
    /// let deadline = Instant::now() + Duration::from_secs(60);
    /// assert_eq!(echo.addr().ask_deadline(|r| (7, r), deadline), Ok(7));
    /// ```
    pub fn ask_deadline<R>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
        deadline: Instant,
    ) -> Result<R, ActorError> {
        self.ask_until(make, Some(deadline))
    }

    /// [`Addr::ask`] with an optional deadline (`None`: no limit).
    fn ask_until<R>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
        deadline: Option<Instant>,
    ) -> Result<R, ActorError> {
        let (promise, mut answer) = oneshot::channel();
        let msg = make(Reply { promise: Some(promise) });
        let sent = match deadline {
            None => self.mailbox.send(msg).map_err(|_| ActorError::Stopped),
            Some(deadline) => self
                .mailbox
                .send_deadline(msg, deadline)
                .map_err(|error| if error.is_timeout() { ActorError::Timeout } else { ActorError::Stopped }),
        };
        sent?;
        // No deadline: `Duration::MAX` waits forever (as in `ask`).
        let answered = match deadline {
            Some(deadline) => answer.recv_deadline(deadline),
            None => answer.recv_timeout(Duration::MAX),
        };
        match answered {
            Ok(result) => result,
            Err(oneshot::RecvTimeoutError::Timeout) => Err(ActorError::Timeout),
            Err(oneshot::RecvTimeoutError::Disconnected) => Err(ActorError::Stopped),
        }
    }

    /// Async request-reply: a future that sends the message (waiting for room without
    /// blocking the thread while the mailbox is full) and then waits for the answer; it works
    /// with any executor.
    ///
    /// # Cancel safety
    ///
    /// Dropped before the message got into the mailbox, the message was not sent (the
    /// channel's [`send_async`](Sender::send_async) promise): it is dropped with the future,
    /// and its `Reply` with it. Dropped after, the actor still handles the message and its
    /// answer is dropped. Never sent twice, never lost unaccounted.
    ///
    /// # Errors
    ///
    /// The future resolves to the errors of [`Addr::ask`].
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context, Reply};
    ///
    /// struct Doubler;
    /// impl Actor for Doubler {
    ///     type Msg = (u32, Reply<u32>);
    ///     fn handle(&mut self, (n, reply): (u32, Reply<u32>), _: &mut Context) { reply.send(2 * n) }
    /// }
    /// let doubler = actor::spawn(Doubler);
    /// let addr = doubler.addr();
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(addr.ask_async(|r| (21, r))), Ok(42));
    /// ```
    pub fn ask_async<R>(&self, make: impl FnOnce(Reply<R>) -> A::Msg) -> AskFuture<'_, A::Msg, R> {
        let (promise, answer) = oneshot::channel();
        let msg = make(Reply { promise: Some(promise) });
        AskFuture { send: Some(self.mailbox.send_async(msg)), answer, done: false }
    }

    /// `true` until the actor has stopped (gracefully, killed, or after a panic).
    ///
    /// # Examples
    ///
    /// ```
    /// use ringfence::actor::{self, Actor, Context};
    ///
    /// struct Idle;
    /// impl Actor for Idle {
    ///     type Msg = ();
    ///     fn handle(&mut self, _: (), _: &mut Context) {}
    /// }
    /// let handle = actor::spawn(Idle);
    /// let addr = handle.addr();
    /// assert!(addr.is_alive());
    /// let _ = handle.stop();
    /// assert!(!addr.is_alive());
    /// ```
    #[must_use]
    pub fn is_alive(&self) -> bool {
        // ORDERING: Acquire: pairs with the Release store when the actor ends, so a caller that
        // sees `false` also sees what the actor did before it ended. A promise to users, not a
        // step of a crate protocol: a Relaxed load survives the loom models (mutate-orderings).
        self.shared.alive.load(Ordering::Acquire)
    }

    fn send_ask<R>(
        &self,
        make: impl FnOnce(Reply<R>) -> A::Msg,
    ) -> Result<oneshot::Receiver<Result<R, ActorError>>, ActorError> {
        let (promise, answer) = oneshot::channel();
        let msg = make(Reply { promise: Some(promise) });
        // A stopped actor hands the message back; dropping it drops the reply, harmlessly.
        self.mailbox.send(msg).map_err(|_| ActorError::Stopped)?;
        Ok(answer)
    }
}

/// The future of [`Addr::ask_async`]: sends the message, then waits for the answer.
///
/// # Cancel safety
///
/// The message is sent once or not at all, and the answer is dropped exactly once if it is not
/// returned. Dropped before the message got into the mailbox (never polled, or still waiting
/// for room in a full mailbox), nothing was sent: the message moves into the mailbox only in
/// the poll that completes the send (the channel's [`SendFuture`] promise), so it is dropped
/// with the future, and its [`Reply`] with it. On a zero-capacity mailbox a pending send has
/// already offered the message to the actor: the drop takes it back unless the actor has
/// already taken it, in which case it was sent. Dropped after the message got in, the actor
/// still handles it; its answer, whether already sent (waiting in the future) or sent later
/// (then [`Reply::send`] drops it), is dropped.
///
/// # Examples
///
/// ```
/// use ringfence::actor::{self, Actor, AskFuture, Context, Reply};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = Reply<&'static str>;
///     fn handle(&mut self, reply: Reply<&'static str>, _: &mut Context) { reply.send("pong") }
/// }
/// let echo = actor::spawn(Echo);
/// let addr = echo.addr();
/// let asking: AskFuture<'_, Reply<&'static str>, &'static str> = addr.ask_async(|r| r);
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(asking), Ok("pong"));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AskFuture<'a, M, R> {
    /// The message on its way into the mailbox; `None` once it got in.
    send: Option<SendFuture<'a, M>>,
    answer: oneshot::Receiver<Result<R, ActorError>>,
    /// It returned `Ready` (for `FusedFuture`).
    done: bool,
}

impl<M, R> Future for AskFuture<'_, M, R> {
    type Output = Result<R, ActorError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(send) = &mut this.send {
            match Pin::new(send).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(sent) => {
                    this.send = None;
                    // A stopped actor hands the message back; dropping it drops the reply.
                    if sent.is_err() {
                        this.done = true;
                        return Poll::Ready(Err(ActorError::Stopped));
                    }
                }
            }
        }
        let poll =
            Pin::new(&mut this.answer).poll(cx).map(|received| received.unwrap_or(Err(ActorError::Stopped)));
        this.done |= poll.is_ready();
        poll
    }
}

/// Terminated once it returned `Ready`.
#[cfg(feature = "futures")]
#[cfg_attr(docsrs, doc(cfg(feature = "futures")))]
impl<M, R> futures_core::future::FusedFuture for AskFuture<'_, M, R> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<A: Actor> Clone for Addr<A> {
    fn clone(&self) -> Self {
        Addr { mailbox: self.mailbox.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl<A: Actor> fmt::Debug for Addr<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Addr").field("alive", &self.is_alive()).field("queued", &self.mailbox.len()).finish()
    }
}

impl<R> fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply").field("answered", &self.promise.is_none()).finish()
    }
}

impl<M, R> fmt::Debug for AskFuture<'_, M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AskFuture").field("sent", &self.send.is_none()).finish_non_exhaustive()
    }
}
