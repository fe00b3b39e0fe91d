//! The pattern-level futures (pool tasks, actor asks) wake correctly from any executor: each
//! is awaited on a minimal `block_on`, on tokio's current-thread runtime and on its
//! multi-thread runtime (six tests, one per future and executor).
#![cfg(not(loom))]

mod async_util;

use async_util::block_on;
use ringfence::actor::{self, Actor, Context, Reply};
use ringfence::pool::{Pool, TaskError};
use std::time::Duration;

struct Echo;

impl Actor for Echo {
    type Msg = (u64, Reply<u64>);
    fn handle(&mut self, (n, reply): (u64, Reply<u64>), _ctx: &mut Context) {
        std::thread::sleep(Duration::from_micros(50)); // answer after the caller is pending
        reply.send(n);
    }
}

#[test]
fn pool_tasks_awaited_on_a_minimal_executor() {
    let pool = Pool::new(2);
    let tasks: Vec<_> = (0..100u64)
        .map(|i| {
            pool.submit(move || {
                std::thread::sleep(Duration::from_micros(20));
                i * 2
            })
        })
        .collect();
    let sum = block_on(async {
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 9_900);
    let panicked = block_on(pool.submit(|| -> u8 { panic!("task failed") }));
    assert!(matches!(panicked, Err(TaskError::Panicked(_))));
}

#[tokio::test(flavor = "current_thread")]
async fn pool_tasks_awaited_on_tokio_current_thread() {
    let pool = Pool::new(2);
    let tasks: Vec<_> = (0..50u64).map(|i| pool.submit(move || i)).collect();
    let mut sum = 0;
    for task in tasks {
        sum += task.await.unwrap();
    }
    assert_eq!(sum, 1_225);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_tasks_awaited_from_many_tokio_tasks() {
    // The pool's workers complete tasks whose awaiting tokio tasks may sit on either runtime
    // worker (or migrate between polls): every waker must reach the right one.
    let pool = Pool::new(2);
    let awaiters: Vec<_> = (0..8u64)
        .map(|task| {
            let jobs: Vec<_> = (0..25u64)
                .map(|n| {
                    pool.submit(move || {
                        std::thread::sleep(Duration::from_micros(20)); // complete after the await is pending
                        task * 100 + n
                    })
                })
                .collect();
            tokio::spawn(async move {
                let mut sum = 0;
                for job in jobs {
                    sum += job.await.unwrap();
                }
                sum
            })
        })
        .collect();
    let mut total = 0;
    for awaiter in awaiters {
        total += awaiter.await.unwrap();
    }
    assert_eq!(total, (0..8u64).map(|t| t * 2_500 + 300).sum::<u64>());
    let panicked = pool.submit(|| -> u8 { panic!("task failed") }).await;
    assert!(matches!(panicked, Err(TaskError::Panicked(_))));
}

#[test]
fn actor_asks_awaited_on_a_minimal_executor() {
    let echo = actor::spawn(Echo);
    let addr = echo.addr();
    let answers = block_on(async {
        let mut answers = Vec::new();
        for n in 0..20 {
            answers.push(addr.ask_async(|reply| (n, reply)).await.unwrap());
        }
        answers
    });
    assert_eq!(answers, (0..20).collect::<Vec<_>>());
    echo.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_asks_from_many_tokio_tasks() {
    let echo = actor::spawn(Echo);
    let askers: Vec<_> = (0..8u64)
        .map(|task| {
            let addr = echo.addr();
            tokio::spawn(async move {
                let mut sum = 0;
                for n in 0..10 {
                    sum += addr.ask_async(|reply| (task * 100 + n, reply)).await.unwrap();
                }
                sum
            })
        })
        .collect();
    let mut total = 0;
    for asker in askers {
        total += asker.await.unwrap();
    }
    assert_eq!(total, (0..8u64).map(|t| t * 1000 + 45).sum::<u64>());
    echo.stop();
}

#[tokio::test(flavor = "current_thread")]
async fn actor_asks_awaited_on_tokio_current_thread() {
    // Several asks in flight from tasks on one thread, through a one-slot mailbox: an ask that
    // finds it full must wait for room without blocking the thread (the other asks run on it).
    let echo = actor::Builder::new().mailbox(1).spawn(Echo);
    let askers: Vec<_> = (0..4u64)
        .map(|task| {
            let addr = echo.addr();
            tokio::spawn(async move {
                let mut sum = 0;
                for n in 0..10 {
                    sum += addr.ask_async(|reply| (task * 100 + n, reply)).await.unwrap();
                }
                sum
            })
        })
        .collect();
    let mut total = 0;
    for asker in askers {
        total += asker.await.unwrap();
    }
    assert_eq!(total, (0..4u64).map(|t| t * 1000 + 45).sum::<u64>());
    echo.stop();
}
