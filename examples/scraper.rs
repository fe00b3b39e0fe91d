//! The seed's composite example, simulated (no network): scrape 20 URLs with at most 5
//! downloads at once and at most 10 starts per second, fan the downloads out on a pool and in
//! through one results channel (a progress line as they land), extract words in a pipeline stage, count
//! them with map-reduce, and print a summary. `cargo run --release --example scraper`.

use ringfence::channel::bounded;
use ringfence::pipeline::Pipeline;
use ringfence::pool::{Limits, Pool};
use ringfence::rate::TokenBucket;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const URLS: usize = 20;
const MAX_CONCURRENT: usize = 5;
const PER_SECOND: u32 = 10;

/// A fake page: deterministic text, latency and failures per URL.
fn download(url: &str, id: usize) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(20 + (id as u64 * 37) % 60));
    if id % 7 == 3 {
        return Err(format!("{url}: HTTP 503"));
    }
    let words = ["rust", "lock", "free", "ring", "pool", "actor", "fence", "atomic", "future"];
    let body: Vec<&str> = (0..50 + id * 3).map(|k| words[(k * (id + 3) + k / 3) % words.len()]).collect();
    Ok(format!("<html><body>{}</body></html>", body.join(" ")))
}

/// The "extract" stage: strip the markup, keep the words.
fn extract(page: String) -> Vec<String> {
    page.replace("<html><body>", "")
        .replace("</body></html>", "")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn main() {
    let started = Instant::now();
    let pool = Pool::builder().threads(8).thread_name("scraper").build().expect("start the pool");
    let limits = Limits::new().concurrency(MAX_CONCURRENT).rate(TokenBucket::new(
        PER_SECOND,
        Duration::from_secs(1),
        1,
    )); // evenly spaced: no burst
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let urls: Vec<String> = (0..URLS).map(|i| format!("https://example.test/page/{i}")).collect();

    // Fan out: each download is a limited task on the pool, submitted from a thread of its own
    // (submit_limited waits for the limits); each job reports into one results channel.
    let (results_tx, results) = bounded::<(usize, Result<String, String>)>(URLS);
    let pool = Arc::new(pool);
    let submitter = {
        let (pool, most) = (pool.clone(), most_at_once.clone());
        std::thread::spawn(move || {
            let tasks: Vec<_> = urls
                .into_iter()
                .enumerate()
                .map(|(id, url)| {
                    let results_tx = results_tx.clone();
                    let task = pool.submit_limited(&limits, move || {
                        results_tx.send((id, download(&url, id))).expect("the collector is alive")
                    });
                    most.fetch_max(limits.running(), Ordering::Relaxed);
                    task
                })
                .collect();
            for task in tasks {
                task.wait().expect("downloads do not panic");
            }
        })
    };

    // Fan in, as they complete, with a progress line.
    let (mut pages, mut failures) = (Vec::new(), Vec::new());
    for (done, (index, result)) in results.iter().enumerate() {
        match result {
            Ok(page) => pages.push(page),
            Err(error) => failures.push(error),
        }
        print!("\r  downloaded {:>2}/{URLS} (last: page {index:>2}), {} failed", done + 1, failures.len());
        std::io::stdout().flush().ok();
    }
    println!();
    submitter.join().expect("the submitter does not panic");
    let download_time = started.elapsed();

    // Extract stage: a pipeline with two workers.
    let (documents, report) = Pipeline::from_iter(pages)
        .stage("extract", extract)
        .workers(2)
        .collect()
        .expect("extraction does not fail");

    // Map-reduce: word counts.
    let counts = pool
        .fold_reduce(
            documents,
            HashMap::<String, usize>::new,
            |mut counts, words: Vec<String>| {
                for word in words {
                    *counts.entry(word).or_insert(0) += 1;
                }
                counts
            },
            |mut a, b| {
                for (word, n) in b {
                    *a.entry(word).or_insert(0) += n;
                }
                a
            },
        )
        .expect("counting does not panic");
    let mut top: Vec<(&String, &usize)> = counts.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));

    let elapsed = started.elapsed();
    let ok = URLS - failures.len();
    println!("summary");
    println!("  successes {ok}, failures {}", failures.len());
    for failure in &failures {
        println!("    {failure}");
    }
    let top_words: Vec<String> = top.iter().take(5).map(|(w, n)| format!("{w} ({n})")).collect();
    println!("  top words: {}", top_words.join(", "));
    println!("  extract stage: {} pages in {:.1?}", report.stages[1].items_out, report.stages[1].busy);
    println!(
        "  elapsed {elapsed:.2?}; achieved {:.1} downloads/s (limit {PER_SECOND}/s, at most {MAX_CONCURRENT} at once)",
        URLS as f64 / download_time.as_secs_f64()
    );
    assert_eq!(ok + failures.len(), URLS);
    assert!(most_at_once.load(Ordering::Relaxed) <= MAX_CONCURRENT);
    assert!(!counts.is_empty());
}
