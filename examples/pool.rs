//! The worker pool: future/promise tasks, panics, cancellation, `as_completed`, lazy `map`,
//! scoped jobs and both shutdowns. `cargo run --release --example pool`.

use ringfence::pool::{Pool, Task, TaskError, as_completed};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Pretends to fetch a page: the "network" takes longer for longer names.
fn fetch(url: &str) -> usize {
    std::thread::sleep(Duration::from_millis(5 * url.len() as u64 % 40));
    url.len() * 100
}

fn main() {
    let pool = Pool::builder().threads(4).thread_name("fetcher").build().expect("start the pool");

    // Future/promise: submit, do something else, collect.
    let urls = ["a.example", "bb.example", "ccc.example", "dddd.example"];
    let tasks: Vec<_> = urls.iter().map(|&url| pool.submit(move || fetch(url))).collect();
    println!("submitted {} fetches; {} queued right now", tasks.len(), pool.queued());

    // As completed: whichever finishes first, with its position.
    let mut total = 0;
    for (index, result) in as_completed(tasks) {
        let bytes = result.expect("fetch does not panic");
        println!("  {} finished: {bytes} bytes", urls[index]);
        total += bytes;
    }
    assert_eq!(total, urls.iter().map(|u| u.len() * 100).sum::<usize>());

    // A panicking job is an error for whoever waits; the worker lives on. (The default panic
    // hook would print the message on the worker too; keep the demo's output clean.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let crashed = pool.submit(|| -> usize { panic!("parser crashed on page 3") });
    match crashed.wait() {
        Err(TaskError::Panicked(payload)) => {
            println!("task panicked: {:?}", payload.downcast_ref::<&str>().unwrap());
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    std::panic::set_hook(default_hook);

    // Lazy, ordered map over an endless input: only what is needed is pulled.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let endless = (1u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let first_squares: Vec<u64> = pool.map(endless, |n| n * n).take(5).map(Result::unwrap).collect();
    assert_eq!(first_squares, [1, 4, 9, 16, 25]);
    println!("map: first five squares {first_squares:?}, {} items pulled", pulled.load(Ordering::Relaxed));

    // Scoped jobs borrow the caller's data and are all joined at the end.
    let mut letters = [0usize; 4];
    let words = ["pool", "future", "promise", "scope", "map", "reduce", "actor", "ring"];
    pool.scope(|s| {
        for (sum, pair) in letters.iter_mut().zip(words.chunks(2)) {
            s.submit(move || *sum = pair.iter().map(|w| w.len()).sum());
        }
    });
    println!("scope: letters per pair of words {letters:?}");
    assert_eq!(letters.iter().sum::<usize>(), words.iter().map(|w| w.len()).sum::<usize>());
    pool.shutdown(); // runs whatever is queued, joins the workers

    // Cancellation and shutdown_now, on one worker held busy by a gate.
    let single = Pool::new(1);
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let busy = single.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv().is_ok()
    });
    started.recv().unwrap(); // `busy` runs: everything submitted now waits behind it
    let skipped = single.submit(|| unreachable!("the job of a dropped task never starts"));
    drop(skipped); // queued behind `busy`: it will be skipped
    let queued: Vec<_> = (0..10).map(|i| single.submit(move || i)).collect();
    // The last queued job frees the worker when it is dropped: shutdown_now discards the queue
    // in order, so the ten above are cancelled before the worker is free to take them.
    let freeing = single.submit(move || release.send(()).unwrap());
    single.shutdown_now(); // cancels the queue, waits for `busy`, joins
    assert!(freeing.wait().is_err());
    assert!(!busy.wait().unwrap(), "busy was freed by the dropped job (its sender is gone)");
    let cancelled = queued
        .into_iter()
        .filter(|t| t.is_finished())
        .map(Task::wait)
        .filter(|r| r.as_ref().is_err_and(TaskError::is_cancelled))
        .count();
    println!("shutdown_now: {cancelled} queued tasks resolved Cancelled, the running one finished");
    assert_eq!(cancelled, 10);
}
