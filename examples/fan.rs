//! The seed's Fan-Out/Fan-In program, in Rust: items fanned out round robin to per-worker queues
//! (as the seed does) and, for comparison, by work sharing; each worker's results fanned back in
//! with `fan::merge`; a collector counting successes and failures.
//!
//! Run: `cargo run --release --example fan`

use ringfence::channel::{Receiver, bounded};
use ringfence::fan;
use std::thread;
use std::time::{Duration, Instant};

/// The work: every multiple of 7 fails, the rest are squared. Items 1, 5, 9, ... are slow: round
/// robin sends them all to worker 0, which shows what fixed placement costs.
fn process(worker: usize, item: u64) -> Result<String, String> {
    if item % 4 == 1 {
        thread::sleep(Duration::from_millis(8)); // a slow item
    } else {
        thread::sleep(Duration::from_millis(1));
    }
    if item % 7 == 0 {
        Err(format!("worker {worker}: item {item} failed"))
    } else {
        Ok(format!("worker {worker}: item {item} -> {}", item * item))
    }
}

/// Starts one worker per input queue; each sends its results on its own output queue.
fn start_workers(inputs: Vec<Receiver<u64>>) -> Vec<Receiver<Result<String, String>>> {
    inputs
        .into_iter()
        .enumerate()
        .map(|(worker, input)| {
            let (tx, rx) = bounded(16);
            thread::spawn(move || {
                for item in input.iter() {
                    tx.send(process(worker, item)).expect("the merge is alive");
                }
            });
            rx
        })
        .collect()
}

fn run(name: &str, inputs: Vec<Receiver<u64>>) {
    let started = Instant::now();
    let outputs = start_workers(inputs);
    let merged = fan::merge(outputs, 16); // fan in: one receiver for every worker's results
    let collected = fan::collect_results(&merged);
    for line in collected.ok.iter().take(3) {
        println!("   {line}");
    }
    println!("   ...");
    println!(
        "   {name}: {} results ({} ok, {} failed) in {:?}",
        collected.total(),
        collected.ok.len(),
        collected.failed.len(),
        started.elapsed()
    );
    assert_eq!(collected.total(), 40, "every item gives one result");
    assert_eq!(collected.failed.len(), 5, "items 7, 14, 21, 28, 35 fail");
}

fn main() {
    const WORKERS: usize = 4;
    println!("== fan-out round robin (item i to worker i % {WORKERS}, as the seed), fan-in by merge");
    run("round robin", fan::round_robin(1..=40u64, WORKERS, 4));

    println!("== fan-out by work sharing (idle workers take the next item), fan-in by merge");
    let (tx, rx) = bounded(4);
    thread::spawn(move || (1..=40u64).for_each(|item| tx.send(item).unwrap()));
    run("work sharing", fan::share(rx, WORKERS));
    println!(
        "(round robin placed all 10 slow items on worker 0; work sharing spread them over the idle workers)"
    );
}
