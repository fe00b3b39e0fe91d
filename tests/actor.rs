#![cfg(not(loom))]
//! Integration tests of `ringfence::actor`: tell/ask, order, graceful stop vs kill (discarded
//! counted), panics (asks fail, tells hand back, `is_alive`, supervision), timeouts, async ask,
//! detaching, stopping from inside, and a stress run.

mod async_util;
mod common;

use common::{WATCHDOG, eventually, within};
use ringfence::actor::{self, Actor, ActorError, Builder, Context, Exit, Reply};
use ringfence::channel::TrySendError;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context as TaskContext, Poll, Waker};
use std::thread;
use std::time::Duration;

enum Msg {
    Push(u64),
    Sum(Reply<u64>),
    Log(Reply<Vec<u64>>),
    Sleep(Duration),
    /// Waits until the gate's sender sends or is dropped.
    Gate(mpsc::Receiver<()>),
    Panic,
    StopMe,
}

#[derive(Default)]
struct Recorder {
    log: Vec<u64>,
    stopped_flag: Option<Arc<AtomicBool>>,
}

impl Actor for Recorder {
    type Msg = Msg;
    fn handle(&mut self, msg: Msg, ctx: &mut Context) {
        match msg {
            Msg::Push(n) => self.log.push(n),
            Msg::Sum(reply) => reply.send(self.log.iter().sum()),
            Msg::Log(reply) => reply.send(self.log.clone()),
            Msg::Sleep(d) => thread::sleep(d),
            Msg::Gate(gate) => drop(gate.recv()),
            Msg::Panic => panic!("handler exploded"),
            Msg::StopMe => ctx.stop(),
        }
    }
    fn stopped(&mut self) {
        if let Some(flag) = &self.stopped_flag {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

/// An actor with a one-slot mailbox, busy in a gate message and with `Push(first)` filling the
/// mailbox: every send waits until the returned gate is opened (sent to, or dropped).
fn full_mailbox(first: u64) -> (actor::ActorHandle<Recorder>, actor::Addr<Recorder>, mpsc::Sender<()>) {
    let handle = Builder::new().mailbox(1).spawn(Recorder::default());
    let addr = handle.addr();
    let (open, gate) = mpsc::channel();
    addr.tell(Msg::Gate(gate)).unwrap();
    // The actor takes the gate message (and waits in it); then one message fills the box.
    eventually(WATCHDOG, "the gate is taken", || addr.try_tell(Msg::Push(first)).ok());
    (handle, addr, open)
}

#[test]
fn tells_are_handled_in_order_and_asks_reply() {
    let handle = actor::spawn(Recorder::default());
    let addr = handle.addr();
    for n in 0..100 {
        addr.tell(Msg::Push(n)).unwrap();
    }
    assert_eq!(addr.ask(Msg::Log).unwrap(), (0..100).collect::<Vec<_>>());
    assert_eq!(addr.ask(Msg::Sum), Ok(4950));
}

#[test]
fn stop_handles_everything_sent_before_it_and_runs_stopped() {
    within(WATCHDOG, || {
        let flag = Arc::new(AtomicBool::new(false));
        let handle = actor::spawn(Recorder { log: Vec::new(), stopped_flag: Some(flag.clone()) });
        let addr = handle.addr();
        for n in 0..1000 {
            addr.tell(Msg::Push(n)).unwrap();
        }
        let Exit::Stopped(state) = handle.stop() else { panic!("a graceful stop") };
        assert_eq!(state.log.len(), 1000);
        assert!(flag.load(Ordering::SeqCst), "stopped() ran");
        assert!(!addr.is_alive());
        match addr.tell(Msg::Push(7)) {
            Err(err) => assert!(matches!(err.into_inner(), Msg::Push(7)), "the message comes back"),
            Ok(()) => panic!("a stopped actor accepts nothing"),
        }
        assert_eq!(addr.ask(Msg::Sum), Err(ActorError::Stopped));
    });
}

#[test]
fn kill_discards_the_rest_and_counts_it() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(200).spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Sleep(Duration::from_millis(30))).unwrap();
        for n in 0..100 {
            addr.tell(Msg::Push(n)).unwrap();
        }
        match handle.kill() {
            Exit::Killed { state, discarded } => {
                // 101 messages were sent: the sleep (handled, or discarded if the kill came
                // first) and 100 pushes. Each is handled or counted, never both, never neither.
                let total = state.log.len() + discarded;
                assert!(total == 100 || total == 101, "handled + discarded = sent, got {total}");
                assert!(discarded > 0);
            }
            other => panic!("expected Killed, got {other:?}"),
        }
    });
}

#[test]
fn a_discarded_ask_fails_with_stopped() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(8).spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Sleep(Duration::from_millis(300))).unwrap();
        let asker = {
            let addr = addr.clone();
            thread::spawn(move || addr.ask(Msg::Sum))
        };
        thread::sleep(Duration::from_millis(5));
        let _ = handle.kill();
        assert_eq!(asker.join().unwrap(), Err(ActorError::Stopped));
    });
}

#[test]
fn a_panic_stops_the_actor_fails_asks_and_reaches_join() {
    within(WATCHDOG, || {
        let handle = actor::spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Push(1)).unwrap();
        let never_answered = addr.ask(|reply: Reply<u64>| {
            drop(reply); // a reply dropped unanswered
            Msg::Push(2)
        });
        assert_eq!(never_answered, Err(ActorError::Stopped));
        addr.tell(Msg::Panic).unwrap();
        eventually(WATCHDOG, "the actor dies", || (!addr.is_alive()).then_some(()));
        assert_eq!(addr.ask(Msg::Sum), Err(ActorError::Stopped));
        assert!(addr.tell(Msg::Push(3)).is_err());
        match handle.join() {
            Exit::Panicked { payload, discarded } => {
                assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "handler exploded");
                assert_eq!(discarded, 0, "nothing was queued behind the panic");
            }
            other => panic!("expected Panicked, got {other:?}"),
        }
    });
}

struct Asker;
impl Actor for Asker {
    type Msg = (bool, Reply<u8>);
    fn handle(&mut self, (explode, reply): (bool, Reply<u8>), _: &mut Context) {
        if explode {
            panic!("mid-ask");
        }
        reply.send(1);
    }
}

#[test]
fn an_ask_whose_handler_panics_gets_panicked() {
    let handle = actor::spawn(Asker);
    let addr = handle.addr();
    assert_eq!(addr.ask(|r| (false, r)), Ok(1));
    assert_eq!(addr.ask(|r| (true, r)), Err(ActorError::Panicked));
    assert!(matches!(handle.join(), Exit::Panicked { .. }));
}

#[test]
fn a_supervised_actor_restarts_with_fresh_state_up_to_the_limit() {
    within(WATCHDOG, || {
        let handle = Builder::new().supervise(2, Recorder::default).spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Push(5)).unwrap();
        addr.tell(Msg::Panic).unwrap();
        addr.tell(Msg::Push(7)).unwrap();
        assert_eq!(addr.ask(Msg::Log).unwrap(), [7], "fresh state after the restart");
        addr.tell(Msg::Panic).unwrap();
        assert!(addr.ask(Msg::Sum).is_ok(), "second restart");
        addr.tell(Msg::Panic).unwrap(); // third panic: no restart left
        assert!(matches!(handle.join(), Exit::Panicked { .. }));
    });
}

#[test]
fn ask_timeout_reports_timeout_and_the_actor_goes_on() {
    let handle = actor::spawn(Recorder::default());
    let addr = handle.addr();
    addr.tell(Msg::Sleep(Duration::from_millis(300))).unwrap();
    assert_eq!(addr.ask_timeout(Msg::Sum, Duration::from_millis(1)), Err(ActorError::Timeout));
    assert_eq!(addr.ask_timeout(Msg::Sum, Duration::MAX), Ok(0));
}

#[test]
fn ask_async_works_under_tokio() {
    let handle = actor::spawn(Recorder::default());
    let addr = handle.addr();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let sum = rt.block_on(async {
        for n in 1..=10 {
            addr.tell(Msg::Push(n)).unwrap();
        }
        addr.ask_async(Msg::Sum).await
    });
    assert_eq!(sum, Ok(55));
}

#[test]
fn try_tell_hands_the_message_back_when_the_mailbox_is_full() {
    within(WATCHDOG, || {
        let (_handle, addr, open) = full_mailbox(1);
        match addr.try_tell(Msg::Push(2)) {
            Err(TrySendError::Full(Msg::Push(2))) => {}
            Err(_) => panic!("expected Full with the message"),
            Ok(()) => panic!("a full mailbox took a message"),
        }
        open.send(()).unwrap();
        assert_eq!(addr.ask(Msg::Log).unwrap(), [1]);
    });
}

#[test]
fn tell_blocks_while_the_mailbox_is_full_then_gets_in() {
    within(WATCHDOG, || {
        let (_handle, addr, open) = full_mailbox(1);
        let told = Arc::new(AtomicBool::new(false));
        let teller = {
            let (addr, told) = (addr.clone(), told.clone());
            thread::spawn(move || {
                addr.tell(Msg::Push(2)).unwrap();
                told.store(true, Ordering::SeqCst);
            })
        };
        thread::sleep(Duration::from_millis(20));
        assert!(!told.load(Ordering::SeqCst), "tell returned while the mailbox was full");
        open.send(()).unwrap();
        teller.join().unwrap();
        assert_eq!(addr.ask(Msg::Log).unwrap(), [1, 2]);
    });
}

#[test]
fn ask_timeout_counts_the_wait_for_room_in_a_full_mailbox() {
    within(WATCHDOG, || {
        let (_handle, addr, open) = full_mailbox(1);
        assert_eq!(addr.ask_timeout(Msg::Sum, Duration::from_millis(20)), Err(ActorError::Timeout));
        open.send(()).unwrap();
        assert_eq!(addr.ask(Msg::Sum), Ok(1), "the timed-out ask was never delivered");
    });
}

#[test]
fn tells_racing_a_graceful_stop_are_handled_or_handed_back() {
    within(WATCHDOG, || {
        for _ in 0..50 {
            let handle = Builder::new().mailbox(4).spawn(Recorder::default());
            let accepted = Arc::new(AtomicUsize::new(0));
            let tellers: Vec<_> = (0..2)
                .map(|_| {
                    let (addr, accepted) = (handle.addr(), accepted.clone());
                    thread::spawn(move || {
                        for n in 0..200 {
                            if addr.tell(Msg::Push(n)).is_ok() {
                                accepted.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            thread::yield_now();
            let exit = handle.stop();
            for teller in tellers {
                teller.join().unwrap();
            }
            // Every tell that got in was handled: a graceful stop discards nothing.
            let Exit::Stopped(state) = exit else { panic!("graceful, got {exit:?}") };
            assert_eq!(state.log.len(), accepted.load(Ordering::SeqCst));
        }
    });
}

#[test]
fn messages_queued_behind_a_panic_are_counted_as_discarded() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(16).spawn(Recorder::default());
        let addr = handle.addr();
        let (open, gate) = mpsc::channel();
        addr.tell(Msg::Gate(gate)).unwrap();
        addr.tell(Msg::Panic).unwrap();
        for n in 0..5 {
            addr.tell(Msg::Push(n)).unwrap();
        }
        // An ask queued behind the panic: polled once, its message is in the mailbox.
        let mut asking = pin!(addr.ask_async(Msg::Sum));
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(asking.as_mut().poll(&mut cx).is_pending());
        addr.tell(Msg::Push(9)).unwrap();
        open.send(()).unwrap();
        match handle.join() {
            // 5 pushes, the ask and the push after it.
            Exit::Panicked { discarded, .. } => assert_eq!(discarded, 7),
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(asking.as_mut().poll(&mut cx), Poll::Ready(Err(ActorError::Stopped)));
    });
}

#[test]
fn kill_wakes_an_idle_actor_with_a_zero_capacity_mailbox() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(0).spawn(Recorder::default());
        let addr = handle.addr(); // another address keeps the mailbox open
        let teller = {
            let addr = addr.clone();
            thread::spawn(move || addr.tell(Msg::Sleep(Duration::from_millis(20))))
        };
        teller.join().unwrap().unwrap();
        // The actor is busy in the sleep (nobody waits to take a letter) or idle again: either
        // way the kill must end it.
        let exit = handle.kill();
        assert!(matches!(exit, Exit::Killed { discarded: 0, .. }), "got {exit:?}");
        assert!(!addr.is_alive());
        assert!(addr.tell(Msg::Push(1)).is_err());
    });
}

/// An actor whose supervisor's factory panics.
struct Doomed;
impl Actor for Doomed {
    type Msg = Reply<u8>;
    fn handle(&mut self, _: Reply<u8>, _: &mut Context) {
        panic!("handler");
    }
}

#[test]
fn a_panicking_factory_ends_the_actor_with_its_panic() {
    within(WATCHDOG, || {
        let handle = Builder::new().supervise(3, || -> Doomed { panic!("factory") }).spawn(Doomed);
        let addr = handle.addr();
        assert_eq!(addr.ask(|r| r), Err(ActorError::Panicked));
        eventually(WATCHDOG, "the actor dies", || (!addr.is_alive()).then_some(()));
        assert_eq!(addr.ask(|r| r), Err(ActorError::Stopped));
        match handle.join() {
            Exit::Panicked { payload, .. } => assert_eq!(payload.downcast_ref::<&str>(), Some(&"factory")),
            other => panic!("expected Panicked, got {other:?}"),
        }
    });
}

/// An actor whose `stopped` hook panics.
struct BadExit;
impl Actor for BadExit {
    type Msg = ();
    fn handle(&mut self, (): (), _: &mut Context) {}
    fn stopped(&mut self) {
        panic!("stopped hook");
    }
}

#[test]
fn a_panicking_stopped_hook_is_reported_not_raised() {
    let handle = actor::spawn(BadExit);
    handle.addr().tell(()).unwrap();
    match handle.stop() {
        Exit::Panicked { payload, discarded } => {
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"stopped hook"));
            assert_eq!(discarded, 0);
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
}

#[test]
fn ask_async_waits_for_room_without_blocking_the_runtime() {
    within(WATCHDOG, || {
        let (_handle, addr, open) = full_mailbox(4);
        // One thread runs both tasks: an ask that blocked the thread on the full mailbox would
        // never let the second task open the gate.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let sum = rt.block_on(async {
            let asking = addr.ask_async(Msg::Sum);
            let opener = async {
                tokio::task::yield_now().await;
                open.send(()).unwrap();
            };
            let (sum, ()) = tokio::join!(asking, opener);
            sum
        });
        assert_eq!(sum, Ok(4));
    });
}

#[test]
fn a_dropped_ask_async_that_never_got_in_was_not_sent() {
    within(WATCHDOG, || {
        let (handle, addr, open) = full_mailbox(1);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let outcome = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(10), addr.ask_async(Msg::Log)).await
        });
        assert!(outcome.is_err(), "timed out while waiting for room");
        open.send(()).unwrap();
        addr.tell(Msg::Push(2)).unwrap();
        // The dropped ask's message never reached the actor: only the pushes did.
        assert_eq!(addr.ask(Msg::Log).unwrap(), [1, 2]);
        assert_eq!(handle.stop().discarded(), 0);
    });
}

#[test]
fn tell_async_waits_for_room_without_blocking_and_cancel_takes_the_message_back() {
    within(WATCHDOG, || {
        let (handle, addr, open) = full_mailbox(1);
        let mut cx = TaskContext::from_waker(Waker::noop());
        // The mailbox is full: the send waits (the poll returns), and a cancel hands the message
        // back, unsent.
        let mut telling = addr.tell_async(Msg::Push(2));
        assert!(pin!(&mut telling).poll(&mut cx).is_pending());
        assert!(matches!(telling.cancel(), Some(Msg::Push(2))));
        // Once there is room, a tell completes on any executor.
        open.send(()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            for n in 3..=5 {
                addr.tell_async(Msg::Push(n)).await.unwrap();
            }
        });
        assert_eq!(addr.ask(Msg::Log).unwrap(), [1, 3, 4, 5]);
        let exit = handle.stop();
        // A stopped actor hands the message back in the error.
        match rt.block_on(addr.tell_async(Msg::Push(6))) {
            Err(error) => assert!(matches!(error.into_inner(), Msg::Push(6))),
            Ok(()) => panic!("a stopped actor took a message"),
        }
        assert_eq!(exit.discarded(), 0);
    });
}

#[test]
fn dropping_every_address_and_the_handle_stops_the_actor() {
    let flag = Arc::new(AtomicBool::new(false));
    let handle = actor::spawn(Recorder { log: Vec::new(), stopped_flag: Some(flag.clone()) });
    let addr = handle.addr();
    drop(handle);
    addr.tell(Msg::Push(1)).unwrap();
    drop(addr);
    eventually(WATCHDOG, "the detached actor stops", || flag.load(Ordering::SeqCst).then_some(()));
}

#[test]
fn a_weak_address_does_not_keep_a_detached_actor_running() {
    let flag = Arc::new(AtomicBool::new(false));
    let handle = actor::spawn(Recorder { log: Vec::new(), stopped_flag: Some(flag.clone()) });
    let weak = handle.addr().downgrade();
    let upgraded = weak.upgrade().expect("the handle is an address");
    drop(handle);
    upgraded.tell(Msg::Push(1)).unwrap();
    assert!(weak.is_alive(), "the upgraded address keeps it running");
    drop(upgraded);
    eventually(WATCHDOG, "the detached actor stops", || flag.load(Ordering::SeqCst).then_some(()));
    assert!(weak.upgrade().is_none(), "no address is left: none can be made");
    eventually(WATCHDOG, "the weak address sees the end", || (!weak.is_alive()).then_some(()));
}

#[test]
fn an_actor_holding_its_own_weak_address_still_stops_when_detached() {
    enum SelfMsg {
        Remember(actor::WeakAddr<Selfish>),
        Ping,
    }
    struct Selfish {
        me: Option<actor::WeakAddr<Selfish>>,
        pings: Arc<AtomicUsize>,
        stopped: Arc<AtomicBool>,
    }
    impl Actor for Selfish {
        type Msg = SelfMsg;
        fn handle(&mut self, msg: SelfMsg, _: &mut Context) {
            match msg {
                SelfMsg::Remember(me) => {
                    // A message to itself, through its own weak address.
                    me.upgrade().expect("the sender's address lives").try_tell(SelfMsg::Ping).ok().unwrap();
                    self.me = Some(me);
                }
                SelfMsg::Ping => {
                    self.pings.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        fn stopped(&mut self) {
            self.stopped.store(true, Ordering::SeqCst);
        }
    }
    let (pings, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let handle = actor::spawn(Selfish { me: None, pings: pings.clone(), stopped: stopped.clone() });
    let addr = handle.addr();
    addr.tell(SelfMsg::Remember(addr.downgrade())).unwrap();
    drop(handle);
    eventually(WATCHDOG, "the actor pinged itself", || (pings.load(Ordering::SeqCst) == 1).then_some(()));
    drop(addr); // the last strong address: the actor's own weak one does not keep it
    eventually(WATCHDOG, "the detached actor stops", || stopped.load(Ordering::SeqCst).then_some(()));
}

#[test]
fn a_weak_address_sees_a_stopped_actor_dead_while_addresses_live() {
    // From the weak handles' review: `is_alive` is the actor's, not "an address exists".
    let handle = actor::spawn(Recorder::default());
    let addr = handle.addr();
    let weak = addr.downgrade();
    let _ = handle.stop();
    assert!(!addr.is_alive());
    assert!(!weak.is_alive(), "stopped, though an address lives");
    assert!(weak.upgrade().is_some());
    fn send_sync_unwind_safe<T: Send + Sync + Clone + std::fmt::Debug + std::panic::UnwindSafe>(_: &T) {}
    send_sync_unwind_safe(&weak);
}

#[test]
fn a_stopped_actors_weak_address_upgrades_while_addresses_live_and_tells_fail() {
    let handle = actor::spawn(Recorder::default());
    let addr = handle.addr();
    let weak = addr.downgrade();
    assert!(format!("{weak:?}").starts_with("WeakAddr { alive: true"), "{weak:?}");
    let _ = handle.stop();
    let again = weak.upgrade().expect("`addr` lives");
    let handed_back = again.tell(Msg::Push(1)).unwrap_err().into_inner();
    assert!(matches!(handed_back, Msg::Push(1)), "stopped: the message comes back");
    assert_eq!(again.ask(Msg::Sum), Err(ActorError::Stopped));
    drop((addr, again));
    assert!(weak.clone().upgrade().is_none());
}

#[test]
fn stopping_from_inside_counts_what_was_left() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(64).spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Sleep(Duration::from_millis(300))).unwrap();
        addr.tell(Msg::StopMe).unwrap();
        for n in 0..10 {
            addr.tell(Msg::Push(n)).unwrap();
        }
        match handle.join() {
            Exit::Killed { state, discarded } => assert_eq!((state.log.len(), discarded), (0, 10)),
            other => panic!("expected Killed, got {other:?}"),
        }
    });
}

/// Messages per client in the stress test.
const STRESS_TELLS: u64 = 20_000;

#[test]
fn many_clients_every_message_handled_once() {
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(32).spawn(Recorder::default());
        let clients: Vec<_> = (0..4u64)
            .map(|c| {
                let addr = handle.addr();
                thread::spawn(move || {
                    for i in 0..STRESS_TELLS {
                        addr.tell(Msg::Push(c * STRESS_TELLS + i)).unwrap();
                        if i % 1000 == 0 {
                            assert!(addr.ask(Msg::Sum).is_ok());
                        }
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let Exit::Stopped(state) = handle.stop() else { panic!("graceful") };
        let n = 4 * STRESS_TELLS;
        assert_eq!(state.log.len() as u64, n);
        assert_eq!(state.log.iter().sum::<u64>(), n * (n - 1) / 2);
    });
}

/// An actor that asks to stop in `started` (found by review: it handled one message first).
struct StopsAtOnce(Vec<u32>);

impl Actor for StopsAtOnce {
    type Msg = u32;
    fn started(&mut self, ctx: &mut Context) {
        ctx.stop();
    }
    fn handle(&mut self, n: u32, _: &mut Context) {
        self.0.push(n);
    }
}

#[test]
fn a_stop_asked_in_started_handles_no_message() {
    within(WATCHDOG, || {
        // `started` runs on the actor's thread: the tells may come before or after it.
        let handle = Builder::new().mailbox(8).spawn(StopsAtOnce(Vec::new()));
        let addr = handle.addr();
        let sent = [0, 1, 2].into_iter().filter(|&n| addr.tell(n).is_ok()).count();
        drop(addr);
        let Exit::Killed { state, discarded } = handle.join() else { panic!("a stop from inside is a kill") };
        assert!(state.0.is_empty(), "no message handled: {:?}", state.0);
        assert_eq!(discarded, sent, "every message that got in is counted as discarded");
    });

    // With an address alive and no message ever sent, the actor still ends.
    within(WATCHDOG, || {
        let handle = Builder::new().mailbox(8).spawn(StopsAtOnce(Vec::new()));
        let addr = handle.addr();
        assert!(matches!(handle.join(), Exit::Killed { discarded: 0, .. }));
        assert!(addr.tell(5).is_err(), "its mailbox is closed");
    });
}

#[test]
fn stop_async_handles_everything_without_blocking_the_runtime() {
    within(WATCHDOG, || {
        let (handle, addr, open) = full_mailbox(1);
        // One thread runs both tasks: a stop that blocked the thread until the actor ended would
        // never let the second task open the gate the actor waits in.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let exit = rt.block_on(async {
            let stopping = handle.stop_async();
            let opener = async {
                tokio::task::yield_now().await;
                open.send(()).unwrap();
            };
            let (exit, ()) = tokio::join!(stopping, opener);
            exit
        });
        let Exit::Stopped(state) = exit else { panic!("a graceful stop") };
        assert_eq!(state.log, [1], "the message that got in before the stop was handled");
        assert!(addr.tell(Msg::Push(2)).is_err(), "the mailbox is closed");
    });
}

#[test]
fn kill_async_counts_what_it_discarded() {
    within(WATCHDOG, || {
        let (handle, addr, open) = full_mailbox(1);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let killing = handle.kill_async(); // requested now, before the gate opens
        open.send(()).unwrap();
        let exit = rt.block_on(killing);
        assert!(matches!(exit, Exit::Killed { discarded: 1, .. }), "the queued push was discarded");
        assert!(!addr.is_alive());
    });
}

#[test]
fn join_async_waits_for_the_actor_to_stop_on_its_own_on_any_executor() {
    within(WATCHDOG, || {
        let handle = actor::spawn(Recorder::default());
        let addr = handle.addr();
        addr.tell(Msg::Push(3)).unwrap();
        addr.tell(Msg::StopMe).unwrap();
        addr.tell(Msg::Push(4)).unwrap(); // queued behind the stop: discarded
        let exit = async_util::block_on(handle.join_async());
        let Exit::Killed { state, discarded } = exit else { panic!("stopped from inside") };
        assert_eq!((state.log, discarded), (vec![3], 1));
    });
}

#[test]
fn a_dropped_stop_async_future_still_stops_the_actor_and_drops_its_state_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    impl Actor for Counted {
        type Msg = ();
        fn handle(&mut self, (): (), _: &mut Context) {}
    }
    within(WATCHDOG, || {
        let drops = Arc::new(AtomicUsize::new(0));
        let handle = actor::spawn(Counted(drops.clone()));
        let addr = handle.addr();
        addr.tell(()).unwrap();
        drop(handle.stop_async()); // never polled
        assert!(addr.tell(()).is_err(), "the stop was requested by the call");
        // The final state is dropped once: on the actor's thread (its hand-over fails), or
        // with the future if the actor had already ended.
        eventually(WATCHDOG, "the state is dropped", || (drops.load(Ordering::SeqCst) == 1).then_some(()));
        assert!(!addr.is_alive());
        thread::sleep(Duration::from_millis(20));
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
    });
}

/// A message whose drop panics, discarded after a kill, panics the runtime loop itself: both
/// `kill` and `kill_async` re-raise that panic (the async join finds the exit missing and joins
/// the thread for it).
#[test]
fn a_panic_of_the_runtime_loop_is_re_raised_by_both_joins() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("a message's drop exploded");
        }
    }
    /// A message: a bomb, or a gate the actor waits in (after saying it has started).
    enum Letter {
        Bomb(Bomb),
        Gate(mpsc::Sender<()>, mpsc::Receiver<()>),
    }
    struct Holder;
    impl Actor for Holder {
        type Msg = Letter;
        fn handle(&mut self, letter: Letter, _: &mut Context) {
            match letter {
                Letter::Gate(started, gate) => {
                    started.send(()).unwrap();
                    let _ = gate.recv();
                }
                Letter::Bomb(bomb) => std::mem::forget(bomb), // a handled bomb never explodes
            }
        }
    }
    for use_async in [false, true] {
        within(WATCHDOG, move || {
            let handle = Builder::new().mailbox(4).spawn(Holder);
            let addr = handle.addr();
            let (open, gate) = mpsc::channel();
            let (started_tx, started) = mpsc::channel();
            addr.tell(Letter::Gate(started_tx, gate)).unwrap();
            started.recv().unwrap(); // the actor is in the gate letter
            addr.tell(Letter::Bomb(Bomb)).unwrap(); // discarded by the kill: its drop panics
            let outcome = if use_async {
                // The kill is requested by the call, before the gate opens.
                let killing = handle.kill_async();
                open.send(()).unwrap();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| async_util::block_on(killing)))
            } else {
                // `kill` blocks: it runs on a thread of its own, and the gate opens only once the
                // mailbox is seen closed (so the bomb is discarded, never handled).
                let killer = thread::spawn(move || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.kill()))
                });
                eventually(WATCHDOG, "the kill closes the mailbox", || {
                    let (probe, _) = mpsc::channel();
                    let (_, gate) = mpsc::channel();
                    match addr.try_tell(Letter::Gate(probe, gate)) {
                        Err(TrySendError::Disconnected(_)) => Some(()),
                        _ => None, // queued (discarded later) or full: not closed yet
                    }
                });
                open.send(()).unwrap();
                killer.join().unwrap()
            };
            let Err(payload) = outcome else { panic!("the runtime loop's panic is re-raised") };
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"a message's drop exploded"),
                "async: {use_async}"
            );
            // The thread is gone: `is_alive` says so (it stayed `true` when the loop unwound).
            assert!(!addr.is_alive(), "async: {use_async}");
        });
    }
}

/// A supervised restart drops the old state outside the handlers' catch; when that drop panics,
/// the actor's thread ends: the mailbox refuses, the join re-raises, and `is_alive` turns false
/// (it used to stay `true` for ever).
#[test]
fn an_actor_whose_old_state_panics_in_drop_is_dead() {
    struct Fragile {
        explodes: bool,
    }
    impl Drop for Fragile {
        fn drop(&mut self) {
            if self.explodes {
                panic!("the old state's drop exploded");
            }
        }
    }
    impl Actor for Fragile {
        type Msg = ();
        fn handle(&mut self, (): (), _: &mut Context) {
            panic!("the handler panicked");
        }
    }
    within(WATCHDOG, || {
        let handle =
            Builder::new().supervise(3, || Fragile { explodes: false }).spawn(Fragile { explodes: true });
        let addr = handle.addr();
        addr.tell(()).unwrap(); // the handler panics; the restart drops the old state, which panics
        eventually(WATCHDOG, "the actor dies", || (!addr.is_alive()).then_some(()));
        assert!(addr.tell(()).is_err());
        let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.join()));
        let Err(payload) = joined else { panic!("the join re-raises the drop's panic") };
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"the old state's drop exploded"));
    });
}

#[test]
fn join_future_is_send_sync_and_unpin() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<actor::JoinFuture<Recorder>>();
}

#[test]
fn a_join_future_escalates_a_graceful_stop_to_a_kill() {
    within(WATCHDOG, || {
        // The actor waits in a gate letter, with a push queued behind it.
        let (handle, _addr, open) = full_mailbox(7);
        let mut stopping = handle.stop_async();
        let mut cx = TaskContext::from_waker(Waker::noop());
        assert!(pin!(&mut stopping).poll(&mut cx).is_pending(), "held at the gate");
        stopping.kill(); // the deadline passed: discard the rest
        open.send(()).unwrap();
        let exit = async_util::block_on(&mut stopping);
        let Exit::Killed { state, discarded } = exit else { panic!("escalated to a kill") };
        // The gate letter was running; the push behind it was discarded, not handled (a
        // graceful stop would have handled it).
        assert_eq!((state.log.len(), discarded), (0, 1));
    });
}

#[test]
fn killing_through_a_join_future_after_the_end_does_nothing() {
    within(WATCHDOG, || {
        let handle = actor::spawn(Recorder::default());
        handle.addr().tell(Msg::Push(1)).unwrap();
        let mut stopping = handle.stop_async();
        let Exit::Stopped(state) = async_util::block_on(&mut stopping) else { panic!("graceful") };
        stopping.kill(); // the actor has ended: nothing to kill
        assert_eq!(state.log, [1]);
    });
}

/// `tell_timeout` / `tell_deadline` / `ask_deadline`: the blocking calls' timed forms.
#[test]
fn timed_tells_and_asks_give_up_at_their_deadline() {
    struct Runner;
    impl Actor for Runner {
        type Msg = Box<dyn FnOnce() + Send>;
        fn handle(&mut self, job: Self::Msg, _: &mut Context) {
            job();
        }
    }
    let handle = Builder::new().mailbox(1).spawn(Runner);
    let addr = handle.addr();
    let (started_tx, started) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    addr.tell(Box::new(move || {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    }))
    .unwrap();
    started.recv().unwrap();
    addr.tell(Box::new(|| {})).unwrap(); // the mailbox is full
    let err = addr.tell_timeout(Box::new(|| {}), Duration::from_millis(10)).unwrap_err();
    assert!(err.is_timeout());
    let soon = std::time::Instant::now() + Duration::from_millis(10);
    assert!(addr.tell_deadline(Box::new(|| {}), soon).unwrap_err().is_timeout());
    let soon = std::time::Instant::now() + Duration::from_millis(10);
    let asked = addr.ask_deadline(
        |reply: Reply<u8>| -> Box<dyn FnOnce() + Send> { Box::new(move || reply.send(1)) },
        soon,
    );
    assert_eq!(asked, Err(ActorError::Timeout));
    release.send(()).unwrap();
    let far = std::time::Instant::now() + WATCHDOG;
    let asked = addr.ask_deadline(
        |reply: Reply<u8>| -> Box<dyn FnOnce() + Send> { Box::new(move || reply.send(2)) },
        far,
    );
    assert_eq!(asked, Ok(2));
    assert!(addr.tell_timeout(Box::new(|| {}), Duration::MAX).is_ok());
    let addr = handle.addr();
    handle.stop();
    assert!(
        !addr.tell_timeout(Box::new(|| {}), Duration::from_secs(1)).unwrap_err().is_timeout(),
        "stopped: disconnected"
    );
}
