//! Future / promise with `ringfence::oneshot`: submit work, do something else, collect the
//! result (errors propagate); then request/reply with a server thread; then the same cell awaited
//! by an async task.
//!
//! Run: `cargo run --example oneshot`.

use ringfence::oneshot;
use std::thread;
use std::time::Duration;

/// Starts `work` on its own thread and returns the future of its result. If the worker dies
/// without answering (a panic in `work` drops the promise unsent) the caller gets a `RecvError`.
fn submit<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> oneshot::Receiver<T> {
    let (promise, future) = oneshot::channel();
    thread::spawn(move || {
        let _ = promise.send(work()); // Err: nobody waits any more, the result is dropped
    });
    future
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|e| format!("bad port {text:?}: {e}"))
}

/// A request carries its reply cell: the server answers each one exactly once.
enum Request {
    Square(u64, oneshot::Sender<u64>),
    Stop,
}

fn main() {
    // 1. Future / promise: submit, do something else, collect.
    let good = submit(|| parse_port("8080"));
    let bad = submit(|| parse_port("80a"));
    let (promise, abandoned) = oneshot::channel::<u64>();
    thread::spawn(move || drop(promise)); // a worker that gives up without answering
    let mut slow = submit(|| {
        thread::sleep(Duration::from_millis(200));
        42
    });

    println!("jobs submitted; doing something else meanwhile...");
    assert!(!slow.is_ready());

    assert_eq!(good.recv(), Ok(Ok(8080)));
    let err = bad.recv().unwrap().unwrap_err();
    println!("error propagated: {err}");
    println!("abandoned job: {}", abandoned.recv().unwrap_err()); // the promise was dropped unsent
    let mut result = slow.recv_timeout(Duration::from_millis(1));
    if result == Err(oneshot::RecvTimeoutError::Timeout) {
        println!("slow job not ready after 1 ms; the receiver stays usable, waiting longer");
        result = slow.recv_timeout(Duration::from_secs(5));
    }
    println!("slow job: {}", result.unwrap());

    // 2. Request / reply: each request carries a oneshot for its answer.
    let (requests, inbox) = ringfence::channel::bounded::<Request>(16);
    let server = thread::spawn(move || {
        for request in inbox.iter() {
            match request {
                Request::Square(n, reply) => {
                    let _ = reply.send(n * n); // the client may have given up: that's fine
                }
                Request::Stop => break,
            }
        }
    });
    let replies: Vec<_> = (1..=5)
        .map(|n| {
            let (tx, rx) = oneshot::channel();
            requests.send(Request::Square(n, tx)).unwrap();
            rx
        })
        .collect();
    let squares: Vec<u64> = replies.into_iter().map(|rx| rx.recv().unwrap()).collect();
    println!("squares from the server: {squares:?}");
    assert_eq!(squares, [1, 4, 9, 16, 25]);
    requests.send(Request::Stop).unwrap();
    server.join().unwrap();

    // 3. The same cell as a Future, awaited on tokio.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let answer = runtime.block_on(async {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tx.send("async reply").unwrap();
        });
        rx.await
    });
    println!("awaited: {}", answer.unwrap());
}
