//! loom models of the actor (`src/actor/`): an `ask` racing a graceful `stop`, and a `tell`
//! racing `kill`: every message is handled or counted, every ask answered or failed, nobody
//! hangs.

use crate::common::model_with_preemptions;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use ringfence::actor::{Actor, ActorError, Builder, Context, Exit, Reply};

enum Msg {
    Add(usize),
    Get(Reply<usize>),
}

struct Sum(usize);

impl Actor for Sum {
    type Msg = Msg;
    fn handle(&mut self, msg: Msg, _: &mut Context) {
        match msg {
            Msg::Add(n) => self.0 += n,
            Msg::Get(reply) => reply.send(self.0),
        }
    }
}

#[test]
fn ask_racing_a_graceful_stop_is_answered_or_fails_cleanly() {
    // One preemption: at two, loom explores schedules in which two threads wait for a third
    // that is preempted mid-operation (the actor, draining its closed mailbox, waits for a
    // send that claimed the slot and is still writing it, while another registered sender
    // waits for the actor's pop of that slot) and yield to each other forever: loom's yield
    // does not make it schedule the thread they wait for, and the model never ends. See
    // `channel.rs`.
    model_with_preemptions(1, || {
        let handle = Builder::new().mailbox(1).spawn(Sum(0));
        let addr = handle.addr();
        let asker = thread::spawn(move || addr.ask(Msg::Get));
        let Exit::Stopped(_) = handle.stop() else { panic!("a graceful stop") };
        match asker.join().unwrap() {
            Ok(sum) => assert_eq!(sum, 0),
            Err(error) => assert_eq!(error, ActorError::Stopped),
        }
    });
}

#[test]
fn tell_racing_kill_is_handled_or_counted() {
    // One preemption: at two, loom explores schedules in which two threads wait for a third
    // that is preempted mid-operation (the actor, draining its closed mailbox, waits for a
    // send that claimed the slot and is still writing it, while another registered sender
    // waits for the actor's pop of that slot) and yield to each other forever: loom's yield
    // does not make it schedule the thread they wait for, and the model never ends. See
    // `channel.rs`.
    model_with_preemptions(1, || {
        let handle = Builder::new().mailbox(1).spawn(Sum(0));
        let addr = handle.addr();
        let accepted = Arc::new(AtomicUsize::new(0));
        let a = accepted.clone();
        let teller = thread::spawn(move || {
            if addr.tell(Msg::Add(1)).is_ok() {
                // ORDERING: Relaxed: read after the join.
                a.fetch_add(1, Ordering::Relaxed);
            }
        });
        let exit = handle.kill();
        teller.join().unwrap();
        // ORDERING: Relaxed: the join above ordered the teller's increment.
        let accepted = accepted.load(Ordering::Relaxed);
        let (handled, discarded) = match exit {
            Exit::Killed { state, discarded } => (state.0, discarded),
            other => panic!("a kill always reports Killed, got {other:?}"),
        };
        // The mailbox closes with a handshake: an accepted tell is handled or counted, exactly.
        assert_eq!(handled + discarded, accepted);
    });
}

#[test]
fn tell_racing_a_graceful_stop_is_handled_or_handed_back() {
    tell_racing_a_graceful_stop(1);
}

#[test]
fn tell_racing_a_graceful_stop_zero_capacity() {
    tell_racing_a_graceful_stop(0);
}

/// As `tell_racing_a_graceful_stop_is_handled_or_handed_back`, with the stop awaited
/// (`stop_async` on a wake-only `block_on`): the actor's thread hands its exit over through the
/// oneshot and wakes the waiting task (a lost wakeup is a deadlock); the tell is handled or
/// handed back.
#[test]
fn stop_async_racing_a_tell_hands_the_exit_over() {
    model_with_preemptions(1, || {
        let handle = Builder::new().mailbox(1).spawn(Sum(0));
        let addr = handle.addr();
        let teller = thread::spawn(move || addr.tell(Msg::Add(1)).is_ok());
        let exit = crate::common::block_on(handle.stop_async());
        let accepted = usize::from(teller.join().unwrap());
        let Exit::Stopped(state) = exit else { panic!("a graceful stop, got {exit:?}") };
        assert_eq!(state.0, accepted);
    });
}

fn tell_racing_a_graceful_stop(capacity: usize) {
    // One preemption, as the models above.
    model_with_preemptions(1, move || {
        let handle = Builder::new().mailbox(capacity).spawn(Sum(0));
        let addr = handle.addr();
        let teller = thread::spawn(move || addr.tell(Msg::Add(1)).is_ok());
        let exit = handle.stop();
        let accepted = usize::from(teller.join().unwrap());
        // `stop` closes the mailbox: a tell either got in before (and is handled, as the stop
        // is graceful) or hands its message back. None is discarded.
        let Exit::Stopped(state) = exit else { panic!("a graceful stop, got {exit:?}") };
        assert_eq!(state.0, accepted);
    });
}

#[test]
fn kill_ends_an_actor_whose_zero_capacity_mailbox_stays_open() {
    model_with_preemptions(1, || {
        let handle = Builder::new().mailbox(0).spawn(Sum(0));
        let addr = handle.addr(); // kept: the mailbox only closes through the kill
        let exit = handle.kill();
        assert!(matches!(exit, Exit::Killed { discarded: 0, .. }), "got {exit:?}");
        assert!(addr.tell(Msg::Add(1)).is_err());
    });
}
