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
            Exit::Stopped(state) => (state.0, 0),
            Exit::Panicked(_) => panic!("nothing panics"),
        };
        // The mailbox closes with a handshake: an accepted tell is handled or counted, exactly.
        assert_eq!(handled + discarded, accepted);
    });
}
