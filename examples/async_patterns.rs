//! The seed's async patterns with ringfence on tokio: producer-consumer, a bounded set of
//! async workers over a channel (joined with `WaitGroup::wait_async`), future/promise (pool
//! tasks, actor asks and a oneshot awaited), a thread pipeline and pool tasks consumed from a
//! task (`collect_async`, `as_completed(..).next_async()`),
//! scatter-gather that cancels the losers by dropping them, and rate-limited "scraping" with a
//! semaphore and a token bucket; then timeouts on ringfence's own timer. Every future here is
//! runtime-agnostic: tokio only spawns the tasks and provides the sleeps that stand in for I/O.
//!
//! Run: `cargo run --release --example async_patterns`

use ringfence::channel::{bounded, unbounded};
use ringfence::pipeline::Pipeline;
use ringfence::pool::{Pool, as_completed};
use ringfence::rate::TokenBucket;
use ringfence::scatter::AsyncScatter;
use ringfence::timer::{Elapsed, timeout};
use ringfence::{Pending, Semaphore, WaitGroup};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    producer_consumer().await;
    worker_pool().await;
    futures_and_promises().await;
    threads_awaited().await;
    scatter_gather().await;
    rate_limited_scraping().await;
    timeouts().await;
}

/// Producer-consumer: a bounded channel is the backpressure, disconnection the end of stream.
async fn producer_consumer() {
    println!("== async producer-consumer");
    let (tx, rx) = bounded(8);
    let producer = tokio::spawn(async move {
        for i in 1..=1000u64 {
            tx.send_async(i).await.expect("the consumer is alive");
        }
    }); // `tx` drops here: the consumer's stream ends
    let mut stream = rx.into_stream();
    let mut sum = 0;
    while let Some(value) = stream.next().await {
        sum += value;
    }
    producer.await.unwrap();
    assert_eq!(sum, 500_500);
    println!("   1000 values through a bounded(8) channel, sum {sum}");
}

/// A worker pool of async tasks: a fixed number of workers share one job channel; the
/// producer waits until every job sent so far is done (asyncio's `await queue.join()`).
async fn worker_pool() {
    println!("== async worker pool: 4 workers over one channel");
    let (jobs, job_rx) = bounded::<(u64, Pending)>(16);
    let (results, result_rx) = unbounded();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (job_rx, results) = (job_rx.clone(), results.clone());
            tokio::spawn(async move {
                while let Ok((n, done)) = job_rx.recv_async().await {
                    tokio::time::sleep(Duration::from_millis(1)).await; // the "I/O"
                    results.send(n * n).unwrap();
                    drop(done); // task_done()
                }
            })
        })
        .collect();
    drop((job_rx, results));
    let work = WaitGroup::new();
    for n in 1..=40 {
        jobs.send_async((n, work.track())).await.unwrap();
    }
    work.wait_async().await; // join(): every job sent so far is done
    assert_eq!(result_rx.len(), 40);
    drop(jobs); // workers finish the queue, then stop
    for worker in workers {
        worker.await.unwrap();
    }
    let total: u64 = result_rx.try_iter().sum();
    assert_eq!(total, (1..=40).map(|n| n * n).sum());
    println!("   40 jobs done, sum of squares {total}");
}

/// Future/promise: a CPU job on the thread pool, an actor's reply and a oneshot, all awaited.
async fn futures_and_promises() {
    use ringfence::actor::{self, Actor, Context, Reply};
    use ringfence::oneshot;
    println!("== futures: pool tasks, actor asks and a oneshot, awaited");
    let pool = Pool::new(2);
    // `submit_async` waits for room in the pool's queue without blocking this thread (`submit`
    // would block it); the `Task` it resolves to is the future of the job's result.
    let task = pool.submit_async(|| (1..=1_000_000u64).sum::<u64>()).await;
    assert_eq!(task.await.unwrap(), 500_000_500_000);

    struct Counter(u64);
    enum Msg {
        Add(u64),
        Get(Reply<u64>),
    }
    impl Actor for Counter {
        type Msg = Msg;
        fn handle(&mut self, msg: Msg, _ctx: &mut Context) {
            match msg {
                Msg::Add(n) => self.0 += n,
                Msg::Get(reply) => reply.send(self.0),
            }
        }
    }
    let counter = actor::spawn(Counter(0));
    let addr = counter.addr();
    for n in 1..=10 {
        addr.tell_async(Msg::Add(n)).await.unwrap(); // fire and forget, waiting for room
    }
    let total = addr.ask_async(Msg::Get).await.unwrap(); // request-reply
    assert_eq!(total, 55);

    // A promise kept by a plain thread, awaited here.
    let (promise, answer) = oneshot::channel();
    std::thread::spawn(move || promise.send("computed on a thread").unwrap());
    let message = answer.await.unwrap();

    // Stopping the actor and shutting the pool down are awaited too: no executor thread
    // blocks while their threads finish (dropping a pool would join its threads).
    let state = counter.stop_async().await.into_state().expect("no handler panicked");
    assert_eq!(state.0, 55);
    pool.shutdown_async().await;
    println!("   pool task summed 1..=1e6; actor counted to {total}; oneshot: {message}");
}

/// Work that runs on threads, consumed from a task without blocking it: a pipeline's output
/// and report (`collect_async`), and pool tasks in the order they finish (`next_async`).
async fn threads_awaited() {
    println!("== a thread pipeline and pool tasks, awaited");
    let (lengths, report) = Pipeline::from_iter(["alpha", "beta", "gamma"])
        .stage("length", str::len)
        .ordered()
        .collect_async()
        .await
        .expect("no stage fails");
    assert_eq!(lengths, [5, 4, 5]);
    let pool = Pool::new(2);
    let naps = [30u64, 5, 15].map(|ms| {
        pool.submit(move || {
            std::thread::sleep(Duration::from_millis(ms));
            ms
        })
    });
    let mut done = as_completed(naps);
    let mut order = Vec::new();
    while let Some((_position, nap)) = done.next_async().await {
        order.push(nap.expect("no job panics"));
    }
    assert_eq!(order.len(), 3, "every task once");
    pool.shutdown_async().await;
    println!(
        "   pipeline: {lengths:?} through {} stages; naps finished in the order {order:?} (ms)",
        report.stages.len()
    );
}

/// Scatter-gather: ask three replicas, keep the first answer, drop (cancel) the others.
async fn scatter_gather() {
    println!("== async scatter-gather: first_ok cancels the losers");
    let replica = |name: &'static str, ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, String>(format!("{name} answered in {ms} ms"))
    };
    let started = Instant::now();
    let (index, answer) = AsyncScatter::new([replica("eu", 80), replica("us", 5), replica("ap", 60)])
        .first_ok(Instant::now() + Duration::from_secs(1))
        .await
        .expect("one replica answers");
    assert_eq!(index, 1);
    println!("   {answer}; returned after {:?}, the other two were dropped", started.elapsed());
}

/// Rate-limited scraping: at most 3 fetches at once (semaphore), at most 20 per second with
/// bursts of 5 (token bucket).
async fn rate_limited_scraping() {
    println!("== rate-limited scraping: 3 at once, 20/s, burst 5");
    let concurrency = Arc::new(Semaphore::new(3));
    let rate = Arc::new(TokenBucket::new(20, Duration::from_secs(1), 5));
    let started = Instant::now();
    let fetches: Vec<_> = (0..15)
        .map(|page| {
            let (concurrency, rate) = (concurrency.clone(), rate.clone());
            tokio::spawn(async move {
                let _permit = concurrency.acquire_async().await;
                rate.until_ready().await;
                tokio::time::sleep(Duration::from_millis(10)).await; // the "fetch"
                page
            })
        })
        .collect();
    let mut pages = Vec::new();
    for fetch in fetches {
        pages.push(fetch.await.unwrap());
    }
    assert_eq!(pages.len(), 15);
    // 5 at once, then 10 more at 20 per second: at least half a second.
    println!("   15 pages in {:?} (at least ~0.5 s by the quota)", started.elapsed());
}

/// Timeouts: any future bounded by a deadline (`timer::timeout`, on any executor). A send that
/// timed out gets its value back to retry; a receive that timed out lost nothing; a worker
/// whose caller timed out notices (`oneshot::Sender::closed`) and stops.
async fn timeouts() {
    println!("== async timeouts");
    let wait = Duration::from_millis(5);
    let (tx, rx) = bounded::<u64>(1);
    tx.send_async(1).await.unwrap(); // the channel is full now
    let mut send = tx.send_async(2);
    let unsent = match timeout(wait, &mut send).await {
        Ok(sent) => sent.map(|()| None).expect("the receiver is alive"),
        Err(Elapsed) => send.cancel(), // `Some(2)`: not sent, ours again
    };
    assert_eq!(unsent, Some(2));
    assert_eq!(rx.recv_async().await, Ok(1));
    tx.send_async(unsent.expect("not sent")).await.unwrap(); // the retry
    assert_eq!(timeout(wait, rx.recv_async()).await, Ok(Ok(2)));
    assert_eq!(timeout(wait, rx.recv_async()).await, Err(Elapsed)); // empty: nothing lost

    // A caller that gives up: the worker races its work against `closed()` and stops as soon as
    // the caller's receiver is dropped, instead of finishing an answer nobody will read.
    let (mut reply, answer) = ringfence::oneshot::channel::<u64>();
    let worker = tokio::spawn(async move {
        tokio::select! {
            () = reply.closed() => "abandoned",
            () = tokio::time::sleep(Duration::from_secs(10)) => {
                let _ = reply.send(42);
                "answered"
            }
        }
    });
    assert_eq!(timeout(wait, answer).await, Err(Elapsed)); // drops the receiver
    assert_eq!(worker.await.unwrap(), "abandoned");
    println!("   a send timed out and got its value back for a retry; an empty receive timed out;");
    println!("   a worker saw its caller time out (oneshot `closed()`) and stopped");
}
