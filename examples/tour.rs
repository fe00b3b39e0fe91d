//! A short tour of ringfence: `cargo run --release --example tour`.
//!
//! Each section shows one primitive or pattern and checks its own result, so the tour doubles
//! as a smoke test. It grows with each feature.

use ringfence::Semaphore;
use ringfence::channel::{self, RecvTimeoutError, TrySendError};
use ringfence::oneshot;
use ringfence::pipeline::Pipeline;
use ringfence::pool::{Pool, as_completed};
use ringfence::rate::{ManualClock, Quota, SlidingWindow, TokenBucket, TryAcquireError};
use ringfence::ring::Ring;
use std::thread;
use std::time::{Duration, Instant};

/// The sections in order: the seed's pattern (or "-" for a building block the seed has no
/// section for), the ringfence types it uses, and the function that shows and checks it.
const SECTIONS: [(&str, &str, fn()); 15] = [
    ("-", "ring::Ring", ring_basics),
    ("producer-consumer", "channel::bounded, Sender, Receiver", producer_consumer),
    ("-", "channel: try_send, send_timeout", backpressure_and_timeouts),
    ("-", "channel::bounded(0)", rendezvous),
    ("-", "select!, channel::Selector (channels and futures)", select),
    ("future/promise", "oneshot::channel", future_promise),
    ("-", "Semaphore", limit_concurrency),
    ("worker pool", "pool::Pool, Task, as_completed, scope", worker_pool),
    ("map-reduce", "Pool::map_reduce, fold_reduce, map_slice", map_reduce),
    ("pipeline", "pipeline::Pipeline", pipeline),
    ("actor", "actor::spawn, Addr, Reply", actors),
    ("fan-out/fan-in", "fan::share, fan::merge", fan_out_fan_in),
    ("scatter-gather", "scatter::Scatter::first_ok", scatter_gather),
    ("rate limiting", "rate::TokenBucket, SlidingWindow", rate_limiting),
    ("(async, all of them)", "*_async, AsyncScatter, timer::timeout", async_everywhere),
];

fn main() {
    let started = Instant::now();
    let mut times = Vec::with_capacity(SECTIONS.len());
    for (_, _, section) in SECTIONS {
        let section_started = Instant::now();
        section();
        times.push(section_started.elapsed());
    }
    println!("\nsummary: every section checked its own result (a failed check panics)");
    println!("  {:<22} {:<52} {:>9}", "seed pattern", "ringfence", "time");
    for ((pattern, types, _), time) in SECTIONS.iter().zip(&times) {
        println!("  {pattern:<22} {types:<52} {:>9}", format!("{:.1?}", time));
    }
    let seed_patterns = SECTIONS.iter().filter(|(pattern, ..)| !pattern.starts_with(['-', '('])).count();
    println!("  {seed_patterns} of the seed's 9 patterns shown; total {:.2?}", started.elapsed());
}

/// The lock-free ring: non-blocking push/pop, full reported with the value handed back.
fn ring_basics() {
    println!("== ring: lock-free bounded MPMC queue");
    let ring = Ring::new(3);
    for word in ["alpha", "beta", "gamma"] {
        ring.try_push(word).unwrap();
    }
    assert_eq!(ring.try_push("delta"), Err("delta"));
    println!("   full at capacity {}: 'delta' came back to the caller", ring.capacity());
    assert_eq!(ring.force_push("delta"), Some("alpha"));
    println!("   force_push overwrote the oldest value ('alpha')");
    let rest: Vec<_> = std::iter::from_fn(|| ring.try_pop()).collect();
    assert_eq!(rest, ["beta", "gamma", "delta"]);
    println!("   popped in order: {rest:?}");
}

/// Producer-consumer: several producers, several consumers, end of stream by disconnection.
fn producer_consumer() {
    println!("== channel: producer-consumer, 2 producers x 2 consumers");
    const PER_PRODUCER: u64 = 250_000;
    let (tx, rx) = channel::bounded(1024);
    let start = Instant::now();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    tx.send(p * PER_PRODUCER + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx); // the channel disconnects once both producers finish
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().fold((0u64, 0u64), |(n, sum), v| (n + 1, sum + v)))
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let (count, sum) =
        consumers.into_iter().map(|c| c.join().unwrap()).fold((0, 0), |(n, s), (cn, cs)| (n + cn, s + cs));
    let total = 2 * PER_PRODUCER;
    assert_eq!(count, total);
    assert_eq!(sum, total * (total - 1) / 2, "every value exactly once");
    let elapsed = start.elapsed();
    println!(
        "   {count} values, checksum ok, {:.1} ns per value ({:?})",
        elapsed.as_nanos() as f64 / count as f64,
        elapsed
    );
}

/// A full channel pushes back; timeouts never lose the value.
fn backpressure_and_timeouts() {
    println!("== channel: backpressure and timeouts");
    let (tx, rx) = channel::bounded(1);
    tx.send("first").unwrap();
    match tx.try_send("second") {
        Err(TrySendError::Full(v)) => println!("   try_send on a full channel handed back {v:?}"),
        other => panic!("expected Full, got {other:?}"),
    }
    let err = tx.send_timeout("second", Duration::from_millis(10)).unwrap_err();
    println!("   send_timeout: {err} (value {:?} returned)", err.into_inner());
    assert_eq!(rx.recv(), Ok("first"));
    assert_eq!(rx.recv_timeout(Duration::from_millis(10)), Err(RecvTimeoutError::Timeout));
    drop(tx);
    assert_eq!(rx.recv_timeout(Duration::MAX), Err(RecvTimeoutError::Disconnected));
    println!("   recv_timeout(Duration::MAX) after the sender left: disconnected, no panic");
}

/// bounded(0): a send completes only when a receiver has taken the value.
fn rendezvous() {
    println!("== channel: rendezvous (capacity 0)");
    let (tx, rx) = channel::bounded(0);
    let receiver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        rx.recv().unwrap()
    });
    let start = Instant::now();
    tx.send(42).unwrap();
    let waited = start.elapsed();
    assert_eq!(receiver.join().unwrap(), 42);
    println!("   send returned once the receiver took the value (waited {waited:?})");
}

/// Select: a dispatcher hands jobs to a worker and collects its results through two small
/// channels, waiting for whichever is possible (blocking on either alone could deadlock); a
/// stop channel takes priority. `select!` runs the arm's body in the loop (`break` works);
/// the `Selector` underneath also takes futures.
fn select() {
    println!("== channel: select! and Selector (the first ready of several operations)");
    let (jobs, jobs_rx) = channel::bounded::<u64>(1);
    let (results_tx, results) = channel::bounded::<u64>(1);
    let worker = thread::spawn(move || {
        for n in jobs_rx {
            results_tx.send(n * n).unwrap();
        }
    });
    let (stop_tx, stop) = channel::unbounded::<()>();
    let mut next = 1..=50u64;
    let mut job = next.next();
    let (mut sum, mut received, mut rounds) = (0, 0, 0);
    loop {
        if received == 50 {
            stop_tx.send(()).unwrap(); // all in: the stop wins over anything else ready
        }
        rounds += 1;
        ringfence::select! {
            biased;
            recv(stop) -> _ => break,
            // The job stays in `job` until a send takes it.
            send(jobs, &mut job) -> sent => {
                sent.unwrap();
                job = next.next(); // `None` once all are out: the send switches off
            }
            recv(results) -> square => (sum, received) = (sum + square.unwrap(), received + 1),
        }
    }
    drop(jobs);
    worker.join().unwrap();
    assert_eq!(sum, (1..=50u64).map(|n| n * n).sum::<u64>());
    println!(
        "   select!: 50 jobs out, 50 results in, {rounds} selections, no deadlock on capacity-1 channels"
    );

    // Futures are operations too: a oneshot reply or a timer, whichever comes first (the timer
    // is ringfence's own, so a plain thread can wait on it).
    let (reply_tx, reply) = oneshot::channel::<u64>();
    let answering = thread::spawn(move || reply_tx.send(6 * 7).unwrap());
    let answer = channel::Selector::new()
        .future(reply, |reply| reply.ok())
        .future(ringfence::timer::sleep(Duration::from_secs(10)), |()| None)
        .wait();
    answering.join().unwrap();
    assert_eq!(answer, Some(42));
    println!("   a oneshot reply raced against a 10 s timer: {answer:?} (the timer was dropped)");
}

/// Future/promise: a one-shot cell carries one reply from a worker thread.
fn future_promise() {
    println!("== oneshot: future/promise");
    let (promise, future) = oneshot::channel();
    let worker = thread::spawn(move || promise.send((1..=10u64).product::<u64>()).is_ok());
    assert_eq!(future.recv(), Ok(3_628_800));
    assert!(worker.join().unwrap());
    println!("   the worker's reply arrived: 10! = 3628800");

    let (promise, mut future) = oneshot::channel::<u32>();
    assert!(future.recv_timeout(Duration::from_millis(5)).is_err());
    drop(promise);
    assert!(future.try_recv().unwrap_err().is_disconnected());
    println!("   a dropped promise wakes the waiter with Disconnected, never a hang");
}

/// The semaphore: at most N threads in a section at once; permits are RAII guards.
fn limit_concurrency() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    println!("== semaphore: limit concurrency");
    let connections = Semaphore::new(3);
    let (inside, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let _permit = connections.acquire(); // released when dropped
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(2));
                inside.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    assert!(most.load(Ordering::SeqCst) <= 3);
    assert_eq!(connections.available_permits(), 3);
    let batch = connections.try_acquire_many(3).expect("all three are free again");
    assert!(connections.try_acquire().is_none());
    drop(batch);
    println!(
        "   8 threads, 3 permits: at most {} inside at once; all permits back",
        most.load(Ordering::SeqCst)
    );
}

/// The worker pool: tasks are futures, panics come back as errors, results in completion order.
fn worker_pool() {
    println!("== pool: worker pool, tasks, as_completed, scope");
    let pool = Pool::new(2);
    let tasks: Vec<_> = [30u64, 1, 10].iter().map(|&ms| pool.submit(move || sleep_then(ms))).collect();
    let order: Vec<usize> =
        as_completed(tasks).map(|(index, result)| result.map(|_| index).unwrap()).collect();
    assert_eq!(order.len(), 3);
    println!("   three sleeps finished in the order {order:?} (positions in the submit order)");

    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the demo's output clean
    let crashed = pool.submit(|| -> u32 { panic!("bad row 7") }).wait().unwrap_err();
    std::panic::set_hook(default_hook);
    assert_eq!(crashed.panic_message(), Some("bad row 7"));
    assert_eq!(pool.submit(|| 2 + 2).wait().unwrap(), 4);
    println!("   a panicking task reported \"{crashed}\"; the worker kept going");

    let mut totals = [0u64; 2];
    let data = [[1u64, 2, 3], [4, 5, 6]];
    pool.scope(|s| {
        for (total, row) in totals.iter_mut().zip(&data) {
            s.submit(move || *total = row.iter().sum());
        }
    });
    assert_eq!(totals, [6, 15]);
    println!("   scoped jobs borrowed the stack: row sums {totals:?}");
}

fn sleep_then(ms: u64) -> u64 {
    thread::sleep(Duration::from_millis(ms));
    ms
}

/// Map-reduce: parallel map, partial results reduced as they complete.
fn map_reduce() {
    println!("== pool: map-reduce");
    let pool = Pool::new(2);
    let sum = pool.map_reduce(1..=100_000u64, |n| n * n, |a, b| a + b).unwrap();
    assert_eq!(sum, Some((1..=100_000u64).map(|n| n * n).sum()));
    let docs = vec!["to be or not to be", "to do is to be", "do be do be do"];
    let counts = pool
        .map_reduce(docs, |doc: &str| doc.split_whitespace().filter(|w| *w == "be").count(), |a, b| a + b)
        .unwrap();
    assert_eq!(counts, Some(5));
    println!("   sum of squares 1..=100000 = {}; \"be\" appears {} times", sum.unwrap(), counts.unwrap());
    // Data already in memory: `map_slice` borrows it, and the workers (and this thread) write the
    // results in place, in order.
    let words = ["ringfence", "maps", "slices", "in", "place"];
    let lengths = pool.map_slice(&words, |w| w.len()).unwrap();
    assert_eq!(lengths, [9, 4, 6, 2, 5]);
    println!("   map_slice word lengths: {lengths:?}");
}

/// A pipeline: stages on their own threads, bounded channels between, order restored, a report.
fn pipeline() {
    println!("== pipeline: stages, workers, order, report");
    let (out, report) = Pipeline::from_iter(1..=10_000u64)
        .stage("square", |x| x * x)
        .workers(2)
        .try_stage("check", |x| if x > 0 { Ok(x) } else { Err("zero") })
        .ordered()
        .collect()
        .expect("no stage fails");
    assert_eq!(out.len(), 10_000);
    assert!(out.windows(2).all(|w| w[0] < w[1]), "source order restored");
    let busiest = report.bottleneck().expect("stages").name.clone();
    println!("   10000 items through 2 stages in {:?}; busiest stage: {busiest}", report.elapsed);
}

/// An actor: state on its own thread, tell and ask, a graceful stop that returns the state.
fn actors() {
    use ringfence::actor::{self, Actor, Context, Reply};
    println!("== actor: tell, ask, stop");
    enum Msg {
        Deposit(u64),
        Balance(Reply<u64>),
    }
    struct Account(u64);
    impl Actor for Account {
        type Msg = Msg;
        fn handle(&mut self, msg: Msg, _ctx: &mut Context) {
            match msg {
                Msg::Deposit(n) => self.0 += n,
                Msg::Balance(reply) => reply.send(self.0),
            }
        }
    }
    let account = actor::spawn(Account(0));
    let tellers: Vec<_> = (0..4)
        .map(|_| {
            let addr = account.addr();
            thread::spawn(move || (0..250).for_each(|_| addr.tell(Msg::Deposit(1)).unwrap()))
        })
        .collect();
    tellers.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(account.addr().ask(Msg::Balance), Ok(1000));
    let final_balance = account.stop().into_state().expect("no panic").0;
    assert_eq!(final_balance, 1000);
    println!("   4 threads told 1000 deposits; ask answered 1000; stop returned the state");
}

/// Fan-out / fan-in: work sharing over one queue, results merged back.
fn fan_out_fan_in() {
    use ringfence::fan;
    println!("== fan: work sharing out, merge in");
    let (work_tx, work_rx) = channel::bounded::<u64>(16);
    let outputs: Vec<_> = fan::share(work_rx, 3)
        .into_iter()
        .map(|rx| {
            let (tx, out) = channel::bounded(16);
            thread::spawn(move || rx.iter().for_each(|x| tx.send(x * x).unwrap()));
            out
        })
        .collect();
    let merged = fan::merge(outputs, 16);
    thread::spawn(move || (1..=100).for_each(|x| work_tx.send(x).unwrap()));
    let total: u64 = merged.iter().sum();
    assert_eq!(total, (1..=100u64).map(|x| x * x).sum());
    println!("   100 items over 3 workers, merged back: sum of squares {total}");
}

/// Scatter-gather: ask three replicas, take the first good answer, cancel the rest.
fn scatter_gather() {
    use ringfence::scatter::Scatter;
    println!("== scatter: first good answer of three replicas");
    let pool = Pool::new(3);
    let stopped_early = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stopped = stopped_early.clone();
    let (replica, answer) = Scatter::new(&pool, [30u64, 5, 60], move |ms, token| {
        for _ in 0..ms {
            if token.is_cancelled() {
                stopped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err("cancelled");
            }
            thread::sleep(Duration::from_millis(1));
        }
        if ms == 5 { Ok(format!("answer after {ms} ms")) } else { Ok(format!("slow answer ({ms} ms)")) }
    })
    .first_ok(Instant::now() + Duration::from_secs(5))
    .expect("one replica answers");
    assert_eq!(replica, 1);
    pool.shutdown(); // joins the two losers
    assert_eq!(stopped_early.load(std::sync::atomic::Ordering::Relaxed), 2);
    println!(
        "   replica {replica} won with \"{answer}\"; the other two saw the cancel token and stopped early"
    );
}

/// Rate limiting: a token bucket (bursts) and a sliding window (hard cap), on a manual clock
/// so the demo is deterministic.
fn rate_limiting() {
    println!("== rate: token bucket and sliding window");
    let clock = ManualClock::new();
    let quota = Quota::new(10, Duration::from_secs(1), 5).unwrap();
    let bucket = TokenBucket::with_clock(quota, clock.clone());
    let granted = (0..8).filter(|_| bucket.try_acquire(1).is_ok()).count();
    assert_eq!(granted, 5, "a full bucket grants its burst");
    match bucket.try_acquire(1) {
        Err(TryAcquireError::RateLimited(limited)) => {
            println!("   burst of 5 granted, then limited: next token in {:?}", limited.wait_time())
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    clock.advance(Duration::from_millis(100));
    assert!(bucket.try_acquire(1).is_ok());
    println!("   100 ms later (10/s) one more token is ready");

    let window = SlidingWindow::with_clock(3, Duration::from_secs(1), clock.clone()).unwrap();
    let calls = (0..5).filter(|_| window.try_acquire().is_ok()).count();
    assert_eq!(calls, 3);
    clock.advance(Duration::from_secs(1));
    assert!(window.try_acquire().is_ok());
    println!("   sliding window: 3 calls per second, exactly");
}

/// The same primitives from async code: a blocking thread and async tasks share one channel,
/// a semaphore hands permits to tasks, scatter-gather drops (cancels) the slower sources.
fn async_everywhere() {
    use ringfence::scatter::AsyncScatter;
    use std::sync::Arc;
    println!("== async: one API for threads and tasks");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_time().build().unwrap();
    runtime.block_on(async {
        let (tx, rx) = channel::bounded(4);
        let producer = thread::spawn(move || (1..=100u64).for_each(|i| tx.send(i).unwrap())); // blocking
        let mut sum = 0;
        while let Ok(value) = rx.recv_async().await {
            sum += value;
        }
        producer.join().unwrap();
        assert_eq!(sum, 5050);

        let semaphore = Arc::new(Semaphore::new(2));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let semaphore = semaphore.clone();
                tokio::spawn(async move {
                    let _permit = semaphore.acquire_async().await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(semaphore.available_permits(), 2);

        let source = |ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<u64, ()>(ms)
        };
        let fastest = AsyncScatter::new([source(50), source(1), source(30)])
            .first_ok(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(fastest, (1, 1));

        // A timeout around any future; a send that timed out gets its value back.
        let (tx, rx) = channel::bounded(1);
        tx.send("first").unwrap(); // full
        let mut send = tx.send_async("second");
        let timed_out = ringfence::timer::timeout(Duration::from_millis(2), &mut send).await.is_err();
        assert!(timed_out);
        assert_eq!(send.cancel(), Some("second")); // not sent: ours to retry
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), ["first"]);
    });
    println!(
        "   a thread sent 100 values to an async receiver; 6 tasks shared 2 permits; first_ok dropped the 2 slower sources;"
    );
    println!("   a send timed out after 2 ms and its value came back");
}
