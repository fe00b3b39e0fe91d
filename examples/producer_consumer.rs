//! The seed's producer-consumer program: a producer puts items on a queue, three consumers
//! process them and mark each done, and the producer waits until everything put so far was
//! processed (Python's `q.task_done()` / `q.join()`), then a second batch, then shutdown by
//! dropping the sender (no sentinel values). `cargo run --release --example producer_consumer`.
//!
//! The queue is `channel::unbounded()`, like the seed's `queue.Queue()`; a `WaitGroup` does
//! `task_done`/`join`, with a timeout on the join so a stuck consumer would be reported, not
//! waited for forever.

use ringfence::channel::unbounded;
use ringfence::{Pending, WaitGroup};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const CONSUMERS: usize = 3;
const ITEMS_PER_BATCH: u64 = 10;

fn main() {
    let started = Instant::now();
    let (queue, items) = unbounded::<(u64, Pending)>();
    let work = WaitGroup::new();
    let total = Arc::new(AtomicU64::new(0));
    let log = Arc::new(Mutex::new(Vec::new()));

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|id| {
            let (items, total, log) = (items.clone(), total.clone(), log.clone());
            thread::spawn(move || {
                let mut handled = 0;
                // Ends when the producer drops the queue's sender and the queue is empty.
                for (item, pending) in items.iter() {
                    thread::sleep(Duration::from_millis(5 + item % 3)); // "processing"
                    total.fetch_add(item * item, Ordering::Relaxed);
                    log.lock().unwrap().push(format!("consumer {id} processed item {item}"));
                    handled += 1;
                    drop(pending); // task_done()
                }
                handled
            })
        })
        .collect();
    drop(items);

    for batch in 0..2 {
        let first = batch * ITEMS_PER_BATCH;
        for item in first..first + ITEMS_PER_BATCH {
            queue.send((item, work.track())).expect("the consumers are alive"); // put(), counted
        }
        println!("batch {batch}: put {ITEMS_PER_BATCH} items, {} outstanding", work.pending());
        // join(): every item put so far has been processed.
        assert!(work.wait_timeout(Duration::from_secs(10)), "a consumer is stuck");
        for line in log.lock().unwrap().drain(..) {
            println!("  {line}");
        }
        println!("batch {batch}: all processed (join returned)");
    }

    drop(queue); // end of stream: each consumer's loop ends
    let handled: Vec<usize> =
        consumers.into_iter().map(|c| c.join().expect("consumers do not panic")).collect();
    let items = 2 * ITEMS_PER_BATCH;
    let expected: u64 = (0..items).map(|i| i * i).sum();
    assert_eq!(handled.iter().sum::<usize>() as u64, items, "every item processed once");
    assert_eq!(total.load(Ordering::Relaxed), expected);
    println!(
        "done: {items} items over {CONSUMERS} consumers (each handled {handled:?}), sum of squares {expected}, in {:.0?}",
        started.elapsed()
    );
}
