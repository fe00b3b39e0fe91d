//! Actors and scatter-gather against hand-rolled equivalents (issue 7's speed goals).
//!
//! - `actor/ask_round_trip`: one client asks a counter actor for its value, one at a time
//!   ([`ROUND_TRIPS`] per iteration). Peers: ringfence `Addr::ask`; a hand-rolled actor (a
//!   thread looping over `crossbeam_channel::bounded(1024)`, replies through the `oneshot`
//!   crate).
//! - `actor/tell_throughput`: one client tells [`TELLS`] increments, then one ask to wait for
//!   them all. Same peers.
//! - `scatter/eight_instant_sources`: `Scatter::new(&pool, 0..8, |i, _| i).all(deadline)` on a
//!   pool of 2 threads, against submitting the same 8 closures and waiting for each `Task`.
//!
//! Threads: the actor's and the client (2 threads on 2 cores); the scatter pool has 2 workers
//! plus the caller. Actors and pools are built once, outside the timed region.

#[path = "common/mod.rs"]
mod common;

use common::actor::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringfence::actor::{self, Actor, Context, Reply};
use ringfence::pool::Pool;
use ringfence::scatter::Scatter;
use std::hint::black_box;
use std::time::{Duration, Instant};

enum Msg {
    Add(u64),
    Get(Reply<u64>),
}

struct Counter(u64);

impl Actor for Counter {
    type Msg = Msg;
    fn handle(&mut self, msg: Msg, _: &mut Context) {
        match msg {
            Msg::Add(n) => self.0 += n,
            Msg::Get(reply) => reply.send(self.0),
        }
    }
}

/// The hand-rolled actor: a thread over a crossbeam channel, replies through `oneshot`.
enum RawMsg {
    Add(u64),
    Get(oneshot::Sender<u64>),
}

fn raw_actor() -> crossbeam_channel::Sender<RawMsg> {
    let (tx, rx) = crossbeam_channel::bounded::<RawMsg>(1024);
    std::thread::spawn(move || {
        let mut count = 0u64;
        for msg in rx.iter() {
            match msg {
                RawMsg::Add(n) => count += n,
                RawMsg::Get(reply) => drop(reply.send(count)),
            }
        }
    });
    tx
}

fn raw_ask(tx: &crossbeam_channel::Sender<RawMsg>) -> u64 {
    let (reply, answer) = oneshot::channel();
    tx.send(RawMsg::Get(reply)).unwrap();
    answer.recv().unwrap()
}

fn ask_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("actor/ask_round_trip");
    g.throughput(Throughput::Elements(ROUND_TRIPS));
    let counter = actor::spawn(Counter(0));
    let addr = counter.addr();
    g.bench_function("ringfence_ask", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * ROUND_TRIPS {
                black_box(addr.ask(Msg::Get).unwrap());
            }
            start.elapsed()
        })
    });
    let raw = raw_actor();
    g.bench_function("crossbeam_oneshot_hand_rolled", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * ROUND_TRIPS {
                black_box(raw_ask(&raw));
            }
            start.elapsed()
        })
    });
    g.finish();
    drop(counter.stop());
}

fn tell_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("actor/tell_throughput");
    g.throughput(Throughput::Elements(TELLS));
    let counter = actor::spawn(Counter(0));
    let addr = counter.addr();
    g.bench_function("ringfence_tell", |b| {
        b.iter_custom(|iters| {
            let before = addr.ask(Msg::Get).unwrap();
            let start = Instant::now();
            for _ in 0..iters * TELLS {
                addr.tell(Msg::Add(1)).unwrap();
            }
            let after = addr.ask(Msg::Get).unwrap();
            let elapsed = start.elapsed();
            assert_eq!(after - before, iters * TELLS, "a tell was lost");
            elapsed
        })
    });
    let raw = raw_actor();
    g.bench_function("crossbeam_oneshot_hand_rolled", |b| {
        b.iter_custom(|iters| {
            let before = raw_ask(&raw);
            let start = Instant::now();
            for _ in 0..iters * TELLS {
                raw.send(RawMsg::Add(1)).unwrap();
            }
            let after = raw_ask(&raw);
            let elapsed = start.elapsed();
            assert_eq!(after - before, iters * TELLS, "a message was lost");
            elapsed
        })
    });
    g.finish();
    drop(counter.stop());
}

fn scatter_eight(c: &mut Criterion) {
    let mut g = c.benchmark_group("scatter/eight_instant_sources");
    g.throughput(Throughput::Elements(GATHERS));
    let pool = Pool::new(2);
    g.bench_function("ringfence_scatter_all", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * GATHERS {
                let answers =
                    Scatter::new(&pool, 0..8u64, |i, _| i).all(Instant::now() + Duration::from_secs(10));
                // Every source answered, with its own value (`all` also reports a timed-out
                // or failed source, so the length alone proves nothing).
                let sum: u64 = answers.into_iter().map(|a| a.answer().expect("every source answers")).sum();
                assert_eq!(black_box(sum), 28);
            }
            start.elapsed()
        })
    });
    g.bench_function("pool_submit_and_wait_each", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters * GATHERS {
                let tasks: Vec<_> = (0..8u64).map(|i| pool.submit(move || i)).collect();
                let sum: u64 = tasks.into_iter().map(|t| t.wait().unwrap()).sum();
                assert_eq!(sum, 28);
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = ask_round_trip, tell_throughput, scatter_eight
}
criterion_main!(benches);
